//! JMESPath (`portcullis_output::jmespath::Query`: what an agent writes as `--query`) on arbitrary
//! text, evaluated against a fixed AWS-like document and a document derived from the input, then
//! printed in every `--output` format.
//!
//! Input layout (see `README.md`): the expression, optionally followed by a NUL byte and the
//! source of the second document: JSON if it parses (serde_json stops at 128 levels), else the
//! text as a string. Without a NUL, the second document is built from the expression's own text
//! (the string, its bytes as numbers, its words, each as a field of an object).
//!
//! Invariants: no panic, no stack overflow, no runaway memory or time (the evaluator's bounds:
//! syntax tree depth, evaluation depth, nesting and the work budget); compiling is deterministic
//! and the expression round-trips through `Query::as_str`; every error renders; every result
//! renders (or fails with a typed error) in json, text, table, yaml and yaml-stream.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_output::jmespath::Query;
use portcullis_output::{OutputFormat, RenderOptions, render_with};
use serde_json::{Value, json};

const FORMATS: [OutputFormat; 5] = [
    OutputFormat::Json,
    OutputFormat::Text,
    OutputFormat::Table,
    OutputFormat::Yaml,
    OutputFormat::YamlStream,
];

/// A small document with the shapes AWS responses have: lists of objects, tags, nested
/// structures, every JSON type, int and float numbers, non-ASCII and wide characters.
fn fixed() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        json!({
            "Reservations": [
                {"ReservationId": "r-1", "Instances": [
                    {"InstanceId": "i-1", "State": {"Code": 16, "Name": "running"}, "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 1.5},
                     "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}], "EbsOptimized": true, "Platform": null},
                    {"InstanceId": "i-2", "State": {"Code": 80, "Name": "stopped"}, "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2},
                     "Tags": [], "EbsOptimized": false}
                ]},
                {"ReservationId": "r-2", "Instances": []}
            ],
            "Buckets": [{"Name": "logs", "CreationDate": "2024-01-02T03:04:05+00:00"}, {"Name": "données-日本", "CreationDate": "2023-12-31T23:59:59+00:00"}],
            "Numbers": [3, -1, 2.5, 0, 1e300, -0.0, 9007199254740993u64, -9223372036854775808i64],
            "Strings": ["b", "a", "", "Ab", "ä"],
            "Mixed": [1, "1", true, null, [], {}, [1, [2, [3]]], {"a": {"b": {"c": 1}}}],
            "Owner": {"ID": "abc", "DisplayName": null},
            "NextToken": "eyJ0b2tlbiI6IDF9",
            "Empty": {},
            "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 200}
        })
    })
}

/// The second document: JSON after a NUL, else fields derived from the expression text.
fn derived(expression: &str, rest: Option<&[u8]>) -> Value {
    match rest {
        Some(bytes) => serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
        None => json!({
            "text": expression,
            "bytes": expression.bytes().map(Value::from).collect::<Vec<_>>(),
            "words": expression.split_whitespace().collect::<Vec<_>>(),
            "chars": expression.chars().take(64).map(|c| json!({"c": c.to_string(), "n": u32::from(c)})).collect::<Vec<_>>(),
        }),
    }
}

fn exercise(query: &Query, doc: &Value) {
    match query.search(doc) {
        Ok(result) => {
            let options = RenderOptions {
                title: Some("Operation"),
                ..RenderOptions::default()
            };
            for format in FORMATS {
                if let Err(e) = render_with(&result, format, &options) {
                    let _ = e.to_string();
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.kind().as_str();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (expr_bytes, rest) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let expression = String::from_utf8_lossy(expr_bytes);
    let query = match Query::compile(&expression) {
        Ok(q) => q,
        Err(e) => {
            let _ = e.to_string();
            let _ = e.kind().as_str();
            assert!(
                Query::compile(&expression).is_err(),
                "compiling the same expression twice disagreed"
            );
            return;
        }
    };
    assert_eq!(
        query.as_str(),
        expression,
        "the compiled query does not keep its expression"
    );
    let again =
        Query::compile(query.as_str()).expect("a compiled expression did not compile again");
    assert_eq!(
        again, query,
        "compiling the same expression twice gave different trees"
    );
    exercise(&query, fixed());
    exercise(&query, &derived(&expression, rest));
});
