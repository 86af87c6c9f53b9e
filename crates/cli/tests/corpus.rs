//! The parser against the pinned awscli, command by command (see tests/corpus/README.md).
//!
//! Positive: every command parses to the same service, operation and parameters awscli hands to
//! botocore (key order included). Negative: every malformed or hostile command is refused with the
//! expected kind of problem.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use std::path::PathBuf;

use base64::Engine;
use portcullis_cli::{AllowAll, Command, OperationCall, Parser, ProblemKind, Value};
use serde_json::{Value as J, json};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn read_jsonl(name: &str) -> Vec<J> {
    let text =
        std::fs::read_to_string(corpus_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Bytes as text when they are UTF-8 (awscli v1 passes blob text through as a string).
fn bytes_json(b: &[u8]) -> J {
    match std::str::from_utf8(b) {
        Ok(s) => J::String(s.to_string()),
        Err(_) => json!({ "$bytes_b64": base64::engine::general_purpose::STANDARD.encode(b) }),
    }
}

fn ours_json(v: &Value, base: &std::path::Path) -> J {
    match v {
        Value::Bytes(b) => bytes_json(b),
        Value::Stream(f) => bytes_json(&std::fs::read(base.join(&f.path)).unwrap()),
        Value::List(l) => J::Array(l.iter().map(|v| ours_json(v, base)).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), ours_json(v, base)))
                .collect(),
        ),
        Value::Float(f) => json!(f),
        Value::Int(i) => json!(*i as f64),
        other => other.to_json(),
    }
}

fn theirs_json(v: &J) -> J {
    match v {
        J::Object(m) if m.contains_key("$bytes_b64") => {
            let b = base64::engine::general_purpose::STANDARD
                .decode(m["$bytes_b64"].as_str().unwrap())
                .unwrap();
            bytes_json(&b)
        }
        J::Object(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), theirs_json(v))).collect()),
        J::Array(a) => J::Array(a.iter().map(theirs_json).collect()),
        J::Number(n) => json!(n.as_f64().unwrap()),
        other => other.clone(),
    }
}

/// The CLI folds paging options into the request (limit key, input token); Portcullis keeps them
/// apart for the pager. Fold them the CLI's way to compare.
fn fold_paging(call: &OperationCall, params: &mut serde_json::Map<String, J>) {
    let models = portcullis_model::models();
    let Some(cfg) = models.paginator(&call.service, &call.operation) else {
        return;
    };
    if let (Some(size), Some(limit)) = (
        call.paging.page_size,
        cfg.get("limit_key").and_then(J::as_str),
    ) {
        params.insert(limit.to_string(), json!(size as f64));
    }
    if let Some(token) = &call.paging.starting_token {
        let keys: Vec<&str> = match &cfg["input_token"] {
            J::String(s) => vec![s.as_str()],
            J::Array(a) => a.iter().filter_map(J::as_str).collect(),
            _ => vec![],
        };
        // The CLI's token is base64 JSON of the input tokens, or a plain token for one key.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Map<String, J>>(&b).ok());
        match decoded {
            Some(map) => {
                for k in keys {
                    if let Some(v) = map.get(k) {
                        params.insert(k.to_string(), v.clone());
                    }
                }
            }
            None => {
                if let Some(k) = keys.first() {
                    params.insert(k.to_string(), J::String(token.clone()));
                }
            }
        }
    }
}

#[test]
fn positive_corpus_matches_awscli() {
    let base = corpus_dir();
    let policy = AllowAll::new(&base);
    let parser = Parser::new(&policy);
    let cases = read_jsonl("positive.expected.jsonl");
    assert!(cases.len() >= 300, "only {} positive cases", cases.len());
    let mut services = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        let command = case["command"].as_str().unwrap();
        let call = match parser.parse(command) {
            Ok(Command::Call(call)) => call,
            Ok(other) => {
                failures.push(format!("{command}\n  parsed as {other:?}"));
                continue;
            }
            Err(e) => {
                failures.push(format!("{command}\n  refused: {e}"));
                continue;
            }
        };
        services.insert(call.service.clone());
        let expect = (
            case["service"].as_str().unwrap(),
            case["operation"].as_str().unwrap(),
        );
        if (call.service.as_str(), call.operation.as_str()) != expect {
            failures.push(format!(
                "{command}\n  resolved to {}.{}, awscli {}.{}",
                call.service, call.operation, expect.0, expect.1
            ));
            continue;
        }
        let mut ours = serde_json::Map::new();
        for (k, v) in &call.params {
            if call.generated.contains(k) && case["params"].get(k).is_none() {
                continue; // generated after the point awscli's params were captured
            }
            ours.insert(k.clone(), ours_json(v, &base));
        }
        fold_paging(&call, &mut ours);
        ours.retain(|_, v| !v.is_null());
        let theirs = theirs_json(&case["params"]);
        // Portcullis applies botocore's own rewrites (route53 ids, run-instances interfaces) before
        // validating, so a key may match awscli's final parameters rather than its CLI parameters.
        let sdk = case.get("sdk_params").map(theirs_json);
        let ours = J::Object(ours);
        let key_ok = |k: &str| {
            let o = ours.get(k);
            o == theirs.get(k) || sdk.as_ref().is_some_and(|s| o == s.get(k))
        };
        let keys: std::collections::BTreeSet<&String> = ours
            .as_object()
            .unwrap()
            .keys()
            .chain(theirs.as_object().unwrap().keys())
            .collect();
        if !keys.iter().all(|k| key_ok(k)) {
            failures.push(format!(
                "{command}\n  ours:   {ours}\n  awscli: {theirs}\n  sdk:    {sdk:?}"
            ));
            continue;
        }
        let order = |v: &J| {
            v.as_object()
                .unwrap()
                .keys()
                .filter(|k| ours.get(*k) == theirs.get(*k))
                .cloned()
                .collect::<Vec<_>>()
        };
        let (mine, cli) = (order(&ours), order(&theirs));
        let common: Vec<&String> = mine.iter().filter(|k| cli.contains(k)).collect();
        let cli_common: Vec<&String> = cli.iter().filter(|k| mine.contains(k)).collect();
        if common != cli_common {
            failures.push(format!(
                "{command}\n  key order differs\n  ours:   {ours}\n  awscli: {theirs}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} commands differ from awscli:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        services.len() >= 25,
        "only {} services: {services:?}",
        services.len()
    );
}

fn kind_of(name: &str) -> ProblemKind {
    match name {
        "shell_syntax" => ProblemKind::ShellSyntax,
        "not_aws" => ProblemKind::NotAws,
        "unknown_service" => ProblemKind::UnknownService,
        "unknown_operation" => ProblemKind::UnknownOperation,
        "unknown_option" => ProblemKind::UnknownOption,
        "missing_required" => ProblemKind::MissingRequired,
        "invalid_type" => ProblemKind::InvalidType,
        "invalid_value" => ProblemKind::InvalidValue,
        "duplicate_option" => ProblemKind::DuplicateOption,
        "missing_value" => ProblemKind::MissingValue,
        "bad_file" => ProblemKind::BadFile,
        "unsupported" => ProblemKind::Unsupported,
        "too_large" => ProblemKind::TooLarge,
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn negative_corpus_is_refused_with_the_right_problem() {
    let base = corpus_dir();
    let policy = AllowAll::new(&base);
    let parser = Parser::new(&policy);
    let cases = read_jsonl("negative.expected.jsonl");
    assert!(cases.len() >= 100, "only {} negative cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let command = case["command"].as_str().unwrap();
        let kind = kind_of(case["kind"].as_str().unwrap());
        match parser.parse(command) {
            Ok(c) => failures.push(format!("{command:?}\n  accepted: {c:?}")),
            Err(e) if !e.has(kind) => {
                failures.push(format!("{command:?}\n  expected {kind:?}, got: {e}"))
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.is_empty());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} negative cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
