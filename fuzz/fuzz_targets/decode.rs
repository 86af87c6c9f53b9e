//! The response decoders (`portcullis_wire::protocol::parse::parse_with`) for the json,
//! rest-json, rest-xml, query and ec2 protocols, success and error paths.
//!
//! Input layout (see `README.md`):
//!
//! ```text
//! [sel: u16 BE] [status: u16 BE, taken mod 600] [flags: u8] header lines "Name: value\n"... "\n\n" body
//! ```
//!
//! `sel` picks the operation: first the real operations in `REAL` (from the embedded botocore
//! models), then every case of botocore's output protocol vectors (`crates/wire/tests/data`,
//! embedded at build time) with that case's own model, which reaches header maps, payloads,
//! timestamp formats and error shapes that real operations use rarely. Without a `\n\n` the rest
//! is all body. Flag bit 0 asks for epoch-second timestamps.
//!
//! Invariants: no panic; errors render; a success is a JSON object.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use portcullis_model::ServiceModel;
use portcullis_wire::protocol::parse::{HttpResponse, ParseOptions, TimestampStyle, parse_with};
use serde_json::{Value, json};

/// (botocore service, operation): one or more per protocol.
const REAL: &[(&str, &str)] = &[
    ("sts", "GetCallerIdentity"),         // query
    ("sts", "AssumeRole"),                // query
    ("iam", "GetRole"),                   // query
    ("cloudformation", "DescribeStacks"), // query
    ("ec2", "DescribeInstances"),         // ec2
    ("ec2", "DescribeSecurityGroups"),    // ec2
    ("dynamodb", "ListTables"),           // json
    ("dynamodb", "GetItem"),              // json
    ("kms", "Decrypt"),                   // json (blobs)
    ("logs", "FilterLogEvents"),          // json
    ("lambda", "ListFunctions"),          // rest-json
    ("lambda", "Invoke"),                 // rest-json (payload blob, headers)
    ("apigateway", "GetRestApis"),        // rest-json
    ("s3", "ListObjectsV2"),              // rest-xml
    ("s3", "GetObject"),                  // rest-xml (streaming payload, headers, header map)
    ("s3", "HeadObject"),                 // rest-xml (headers only)
    ("route53", "ListHostedZones"),       // rest-xml
];

/// botocore's output protocol vectors (current), in a fixed order: case indices are stable.
const VECTORS: &[&str] = &[
    include_str!("../../crates/wire/tests/data/protocols/output/ec2.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/json.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/json_1_0.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/json_1_0-query-compatible.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/query.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/rest-json.json"),
    include_str!("../../crates/wire/tests/data/protocols/output/rest-xml.json"),
];

/// A model and the operation to parse against; `None` where the model did not load (kept so
/// indices never shift).
type Target = Option<(Arc<ServiceModel>, String)>;

fn targets() -> &'static Vec<Target> {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let models = portcullis_model::models();
        let mut out: Vec<Target> = REAL
            .iter()
            .map(|(service, op)| {
                let model = models.service(service).ok()?;
                model.operation(op)?;
                Some((model, (*op).to_string()))
            })
            .collect();
        for text in VECTORS {
            let suites: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
            for suite in &suites {
                for case in suite["cases"].as_array().into_iter().flatten() {
                    out.push(vector_model(suite, case));
                }
            }
        }
        out
    })
}

/// The model of one vector case, built as `crates/wire/tests/parse.rs` builds it.
fn vector_model(suite: &Value, case: &Value) -> Target {
    let mut given = case["given"].clone();
    let op_name = given["name"]
        .as_str()
        .unwrap_or("OperationName")
        .to_string();
    given["name"] = json!(op_name);
    if given.get("http").is_none() {
        given["http"] = json!({"method": "POST", "requestUri": "/"});
    }
    let mut metadata = suite["metadata"].clone();
    if metadata.get("apiVersion").is_none() {
        metadata["apiVersion"] = json!("2000-01-01");
    }
    if metadata["protocol"] == "query"
        && let Some(shape) = given["output"]["shape"].as_str()
        && suite["shapes"][shape]["members"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    {
        given["output"]["resultWrapper"] = json!(format!("{op_name}Result"));
    }
    let model_json = json!({"metadata": metadata, "operations": {op_name.clone(): given}, "shapes": suite["shapes"]});
    let model = ServiceModel::from_json(&serde_json::to_vec(&model_json).ok()?).ok()?;
    model.operation(&op_name)?;
    Some((Arc::new(model), op_name))
}

fn split_response(data: &[u8]) -> Option<(usize, HttpResponse, ParseOptions)> {
    if data.len() < 5 {
        return None;
    }
    let sel = u16::from_be_bytes([data[0], data[1]]) as usize;
    let status = u16::from_be_bytes([data[2], data[3]]) % 600;
    let opts = ParseOptions {
        timestamps: if data[4] & 1 == 1 {
            TimestampStyle::EpochSeconds
        } else {
            TimestampStyle::Iso8601
        },
    };
    let rest = &data[5..];
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&rest[..0], rest),
    };
    let headers = String::from_utf8_lossy(head)
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(':') {
            Some((k, v)) => (k.to_string(), v.trim_start().to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect();
    Some((
        sel,
        HttpResponse {
            status,
            headers,
            body: body.to_vec(),
        },
        opts,
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((sel, resp, opts)) = split_response(data) else {
        return;
    };
    let targets = targets();
    let Some((model, op_name)) = &targets[sel % targets.len()] else {
        return;
    };
    let Some(op) = model.operation(op_name) else {
        return;
    };
    match parse_with(model, op, &resp, opts) {
        Ok(v) => assert!(v.is_object(), "a parsed output is not an object: {v}"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
