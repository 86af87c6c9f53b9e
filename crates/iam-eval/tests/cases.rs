//! Runs every case in `tests/cases/*.json`: tables taken from AWS's documentation, each case
//! citing the page it comes from. Every failing case is reported by name (not just the first),
//! and the number of cases must stay above a floor so that a deleted file is noticed.
//!
//! File format:
//!
//! ```json
//! { "about": "what the file covers",
//!   "source": "default source URL for its cases",
//!   "defaults": { "principal": "...", "action": "...", "resource": "...", "context": {} },
//!   "cases": [
//!     { "name": "unique name", "source": "https://docs.aws.amazon.com/... (note)",
//!       "policies": { "identity": [P], "boundary": P, "session": [P], "scps": [[P]],
//!                     "rcps": [[P]], "resource": [P], "resource_policy_required": false },
//!       "policy": P,                      // shorthand: one identity policy
//!       "condition": { ... },             // shorthand: Allow * on * with this Condition
//!       "principal": "arn:..." | "anonymous" | {"service": "x.amazonaws.com"}
//!                    | {"arn": "arn:...", "role_arn": "arn:..."},
//!       "action": "s3:GetObject", "resource": "arn:...", "resource_account": "111122223333",
//!       "context": { "aws:SourceIp": "203.0.113.1", "aws:TagKeys": ["a", "b"] },
//!       "unknown": ["aws:SourceIp"], "absent": "missing" | "unknown",
//!       "expect": "Allow" | "ExplicitDeny" | "ImplicitDeny" | "Conditional",
//!       "keys": ["aws:SourceIp"],         // for Conditional: exactly these, in this order
//!       "display": "Allow (...)" },       // optional: the Evaluation's Display
//!     { "name": "...", "source": "...", "document": {..} | "text", "error": "substring" }
//!   ] }
//! ```
//!
//! A policy `P` is a document, or `{"name": "N", "document": {...}}` to name it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::HashSet;
use std::path::PathBuf;

use portcullis_iam_eval::{Absent, Context, Decision, Policy, PolicySet, Principal, Request};
use serde_json::{Map, Value, json};

/// Deleting a case file must fail the suite.
const FLOOR: usize = 650;

fn policy(v: &Value, default_name: &str) -> Result<Policy, String> {
    let (name, doc) = match v.get("document") {
        Some(doc) => (
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or(default_name)
                .to_string(),
            doc,
        ),
        None => (default_name.to_string(), v),
    };
    match doc {
        Value::String(text) => Policy::parse(&name, text),
        other => Policy::from_json(&name, other),
    }
    .map_err(|e| format!("policy {name}: {e}"))
}

fn policy_list(v: Option<&Value>, prefix: &str) -> Result<Vec<Policy>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let arr = v.as_array().ok_or(format!("{prefix}: expected an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, p)| policy(p, &format!("{prefix}{i}")))
        .collect()
}

fn levels(v: Option<&Value>, prefix: &str) -> Result<Option<Vec<Vec<Policy>>>, String> {
    let Some(v) = v else { return Ok(None) };
    let arr = v.as_array().ok_or(format!("{prefix}: expected levels"))?;
    arr.iter()
        .enumerate()
        .map(|(i, l)| policy_list(Some(l), &format!("{prefix}{i}-")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn policy_set(case: &Map<String, Value>) -> Result<PolicySet, String> {
    let mut set = PolicySet::default();
    if let Some(p) = case.get("policies") {
        set.identity = policy_list(p.get("identity"), "identity")?;
        set.boundary = p
            .get("boundary")
            .map(|b| policy(b, "boundary"))
            .transpose()?;
        set.session = p
            .get("session")
            .map(|s| policy_list(Some(s), "session"))
            .transpose()?;
        set.scps = levels(p.get("scps"), "scp")?;
        set.rcps = levels(p.get("rcps"), "rcp")?;
        set.resource = policy_list(p.get("resource"), "resource")?;
        set.resource_policy_required = p
            .get("resource_policy_required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    }
    if let Some(p) = case.get("policy") {
        set.identity.push(policy(p, "policy")?);
    }
    if let Some(c) = case.get("condition") {
        let doc = json!({
            "Version": case.get("version").cloned().unwrap_or(json!("2012-10-17")),
            "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": c}
        });
        set.identity.push(policy(&doc, "condition")?);
    }
    Ok(set)
}

fn principal(v: Option<&Value>) -> Result<Principal, String> {
    let v = v
        .cloned()
        .unwrap_or(json!("arn:aws:iam::111122223333:user/Alice"));
    match &v {
        Value::String(s) if s == "anonymous" => Ok(Principal::anonymous()),
        Value::String(s) => Principal::from_arn(s).map_err(|e| e.to_string()),
        Value::Object(o) => {
            if let Some(s) = o.get("service").and_then(Value::as_str) {
                return Ok(Principal::service(s));
            }
            let arn = o
                .get("arn")
                .and_then(Value::as_str)
                .ok_or("principal.arn")?;
            let mut p = Principal::from_arn(arn).map_err(|e| e.to_string())?;
            if let Some(r) = o.get("role_arn").and_then(Value::as_str) {
                p = p.with_role_arn(r);
            }
            Ok(p)
        }
        _ => Err("bad principal".into()),
    }
}

fn scalar(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("bad context value {other}")),
    }
}

fn context(case: &Map<String, Value>) -> Result<Context, String> {
    let mut ctx = Context::new();
    if let Some(Value::String(a)) = case.get("absent") {
        ctx.set_absent(match a.as_str() {
            "missing" => Absent::Missing,
            "unknown" => Absent::Unknown,
            other => return Err(format!("bad absent {other}")),
        });
    }
    if let Some(Value::Object(m)) = case.get("context") {
        for (k, v) in m {
            match v {
                Value::Array(a) => {
                    let vals = a.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
                    ctx.set_all(k, vals);
                }
                other => {
                    ctx.set(k, scalar(other)?);
                }
            }
        }
    }
    if let Some(Value::Array(u)) = case.get("unknown") {
        for k in u {
            ctx.unknown(k.as_str().ok_or("unknown: expected strings")?);
        }
    }
    Ok(ctx)
}

/// Runs one case; `Err` describes the failure.
fn run(case: &Map<String, Value>) -> Result<(), String> {
    if let Some(doc) = case.get("document") {
        let want = case
            .get("error")
            .and_then(Value::as_str)
            .ok_or("a document case needs \"error\"")?;
        let got = match doc {
            Value::String(text) => Policy::parse("doc", text),
            other => Policy::from_json("doc", other),
        };
        return match (got, want) {
            (Ok(_), "") => Ok(()),
            (Ok(_), w) => Err(format!("parsed, expected an error containing {w:?}")),
            (Err(e), "") => Err(format!("expected to parse, got: {e}")),
            (Err(e), w) if e.to_string().contains(w) => Ok(()),
            (Err(e), w) => Err(format!("error {:?} does not contain {w:?}", e.to_string())),
        };
    }
    let set = policy_set(case)?;
    let who = principal(case.get("principal"))?;
    let ctx = context(case)?;
    let action = case
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("s3:GetObject");
    let resource = case.get("resource").and_then(Value::as_str).unwrap_or("*");
    let mut req = Request::new(&who, action, resource, &ctx);
    if let Some(a) = case.get("resource_account").and_then(Value::as_str) {
        req = req.in_account(a);
    }
    let got = set.evaluate(&req);
    let expect = case
        .get("expect")
        .and_then(Value::as_str)
        .ok_or("missing expect")?;
    let want = match expect {
        "Allow" => Decision::Allow,
        "ExplicitDeny" => Decision::ExplicitDeny,
        "ImplicitDeny" => Decision::ImplicitDeny,
        "Conditional" => Decision::Conditional {
            keys: case
                .get("keys")
                .and_then(Value::as_array)
                .ok_or("Conditional needs keys")?
                .iter()
                .map(|k| k.as_str().unwrap_or_default().to_string())
                .collect(),
        },
        other => return Err(format!("bad expect {other}")),
    };
    if got.decision != want {
        return Err(format!("expected {want}, got {got} [{}]", got.reason));
    }
    if let Some(d) = case.get("display").and_then(Value::as_str)
        && got.to_string() != d
    {
        return Err(format!(
            "display: expected {d:?}, got {:?}",
            got.to_string()
        ));
    }
    Ok(())
}

/// Merges file defaults under a case (case fields win).
fn merged(defaults: Option<&Value>, case: &Value) -> Map<String, Value> {
    let mut out = defaults
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(c) = case.as_object() {
        for (k, v) in c {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[test]
fn documented_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let mut total = 0;
    let mut failures = Vec::new();
    let mut names = HashSet::new();
    for file in &files {
        let short = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{short}: not JSON: {e}"));
        let cases = doc["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{short}: no cases"));
        for case in cases {
            total += 1;
            let mut c = merged(doc.get("defaults"), case);
            if !c.contains_key("source")
                && let Some(s) = doc.get("source")
            {
                c.insert("source".into(), s.clone());
            }
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("<unnamed>")
                .to_string();
            if !names.insert(name.clone()) {
                failures.push(format!("{short}: {name}: duplicate case name"));
            }
            let source = c.get("source").and_then(Value::as_str).unwrap_or_default();
            if !source.starts_with("https://docs.aws.amazon.com/") {
                failures.push(format!(
                    "{short}: {name}: source must cite docs.aws.amazon.com"
                ));
            }
            if let Err(e) = run(&c) {
                failures.push(format!("{short}: {name}: {e}"));
            }
        }
    }
    eprintln!("{total} cases in {} files", files.len());
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(
        total >= FLOOR,
        "only {total} cases (floor {FLOOR}): was a case file deleted?"
    );
}
