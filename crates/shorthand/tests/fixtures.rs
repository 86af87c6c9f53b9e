//! Conformance: every case of the AWS CLI's own shorthand tests (tests/data/shorthand-cases.json,
//! Apache-2.0, see tests/data/NOTICE) must parse to the expected JSON, or fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_shorthand::parse;
use serde_json::Value as Json;

/// Pinned so that a truncated or reshaped fixture file cannot skip cases silently.
const PARSE_CASES: usize = 90;
const ERROR_CASES: usize = 11;

fn cases() -> Json {
    let text = include_str!("data/shorthand-cases.json");
    serde_json::from_str(text).expect("fixture file is JSON")
}

#[test]
fn every_parse_case_matches_awscli() {
    let cases = cases();
    let parse_cases = cases["parse"].as_array().expect("`parse` is an array");
    assert_eq!(parse_cases.len(), PARSE_CASES);
    let mut failures = Vec::new();
    for case in parse_cases {
        let input = case["input"].as_str().expect("input is a string");
        let expected = &case["expected"];
        match parse(input) {
            Ok(map) => {
                let got: serde_json::Map<String, Json> =
                    map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                let got = Json::Object(got);
                if &got != expected {
                    failures.push(format!("{input:?}: expected {expected}, got {got}"));
                }
                // Key order is the input order, as in awscli's dict.
                let want_keys: Vec<&String> = expected.as_object().unwrap().keys().collect();
                let got_keys: Vec<&String> = map.keys().collect();
                if want_keys != got_keys {
                    failures.push(format!("{input:?}: key order {got_keys:?}"));
                }
            }
            Err(e) => failures.push(format!("{input:?}: unexpected error:\n{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {PARSE_CASES} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_case_is_rejected() {
    let cases = cases();
    let error_cases = cases["errors"].as_array().expect("`errors` is an array");
    assert_eq!(error_cases.len(), ERROR_CASES);
    let mut failures = Vec::new();
    for case in error_cases {
        let input = case.as_str().expect("error case is a string");
        match parse(input) {
            Ok(map) => failures.push(format!("{input:?}: parsed as {map:?}")),
            Err(e) => {
                assert_eq!(e.input, input);
                assert!(
                    e.position <= input.chars().count(),
                    "{input:?}: position {}",
                    e.position
                );
                let shown = e.to_string();
                assert!(shown.contains('^') && shown.contains("Hint:"), "{shown}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
