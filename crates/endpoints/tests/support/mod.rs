//! Shared by the data-driven suites: reading fixtures and checking one case.
#![allow(dead_code)] // each suite uses part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

use portcullis_endpoints::{Params, Partitions, RuleSet};
use serde_json::Value;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

pub fn partitions() -> Partitions {
    let document = portcullis_model::models()
        .global("partitions")
        .expect("partitions in the model pack");
    Partitions::from_json(&document).expect("partitions load")
}

/// Runs one test case (`params`, `expect`: `{endpoint: {url, headers?, properties?}}` or `{error}`); `Err` says
/// how it differed.
pub fn check(rules: &RuleSet, partitions: &Partitions, case: &Value) -> Result<(), String> {
    let params = Params::from_json(
        case.get("params")
            .unwrap_or(&Value::Object(Default::default())),
    )?;
    let got = rules.resolve(&params, partitions);
    let expect = case.get("expect").ok_or("case has no `expect`")?;
    if let Some(error) = expect.get("error") {
        return match got {
            Err(e) if Some(e.to_string().as_str()) == error.as_str() => Ok(()),
            Err(e) => Err(format!(
                "expected error {error}, got error {:?}",
                e.to_string()
            )),
            Ok(ep) => Err(format!("expected error {error}, got endpoint {}", ep.url)),
        };
    }
    let want = expect
        .get("endpoint")
        .ok_or("`expect` has neither endpoint nor error")?;
    let got =
        got.map_err(|e| format!("expected {}, got error {:?}", want["url"], e.to_string()))?;
    if Some(got.url.as_str()) != want.get("url").and_then(Value::as_str) {
        return Err(format!("url: expected {}, got {:?}", want["url"], got.url));
    }
    let empty = Value::Object(Default::default());
    let want_headers = want.get("headers").unwrap_or(&empty);
    let got_headers = serde_json::to_value(&got.headers).map_err(|e| e.to_string())?;
    if &got_headers != want_headers {
        return Err(format!(
            "headers: expected {want_headers}, got {got_headers}"
        ));
    }
    let want_properties = want.get("properties").unwrap_or(&empty);
    let got_properties = Value::Object(got.properties.clone());
    if &got_properties != want_properties {
        return Err(format!(
            "properties: expected {want_properties}, got {got_properties}"
        ));
    }
    Ok(())
}
