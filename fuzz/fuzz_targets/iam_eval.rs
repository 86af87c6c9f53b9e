//! The IAM policy evaluator (`portcullis_iam_eval`): arbitrary bytes as a policy document, parsed,
//! then evaluated against requests derived from the input.
//!
//! Input layout: the policy text (lossy UTF-8), optionally followed by a NUL byte and request
//! lines: `action`, `resource`, `principal ARN`, then `key=v1,v2` context lines (`key=` alone is
//! a key with no value). Without a NUL, requests are derived from the document's own strings
//! (every string leaf of the JSON: as actions, resources and context values), which reaches
//! matching statements and conditions far more often than random text.
//!
//! Invariants: no panic; errors render; evaluation is deterministic and renders; with every
//! unlisted key absent (`Absent::Missing`) the decision is never `Conditional`; a decision reached
//! with every unlisted key unknown (`Absent::Unknown`) holds when those keys are absent (soundness
//! of the three-valued logic); `Conditional` names at least one key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_iam_eval::{Absent, Context, Decision, Policy, PolicySet, Principal, Request};
use serde_json::Value;

const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/app/session-1",
    "arn:aws:sts::111122223333:federated-user/bob",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:user/carol",
];

/// String leaves of a JSON value (keys included), at most `max`.
fn leaves(v: &Value, out: &mut Vec<String>, max: usize) {
    if out.len() >= max {
        return;
    }
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out, max)),
        Value::Object(m) => {
            for (k, x) in m {
                if out.len() < max {
                    out.push(k.clone());
                }
                leaves(x, out, max);
            }
        }
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Null => {}
    }
}

/// Evaluates in both modes and checks the invariants.
fn check(set: &PolicySet, principal: &Principal, action: &str, resource: &str, ctx: &Context) {
    let mut missing = ctx.clone();
    missing.set_absent(Absent::Missing);
    let mut unknown = ctx.clone();
    unknown.set_absent(Absent::Unknown);
    let m = set.evaluate(&Request::new(principal, action, resource, &missing));
    let again = set.evaluate(&Request::new(principal, action, resource, &missing));
    assert_eq!(m, again, "evaluation is not deterministic");
    let _ = m.to_string();
    assert!(
        !matches!(m.decision, Decision::Conditional { .. }),
        "Conditional with no unknown key: {m}"
    );
    let u = set.evaluate(&Request::new(principal, action, resource, &unknown));
    let _ = u.to_string();
    match &u.decision {
        Decision::Conditional { keys } => assert!(!keys.is_empty(), "Conditional without keys"),
        Decision::Allow => assert_eq!(m.decision, Decision::Allow, "unsound Allow: {u} vs {m}"),
        Decision::ExplicitDeny => {
            assert_eq!(
                m.decision,
                Decision::ExplicitDeny,
                "unsound deny: {u} vs {m}"
            )
        }
        Decision::ImplicitDeny => {
            assert_ne!(
                m.decision,
                Decision::Allow,
                "unsound implicit deny: {u} vs {m}"
            )
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (doc, tail) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let text = String::from_utf8_lossy(doc);
    let policy = match Policy::parse("fuzz", &text) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (
        policy.name(),
        policy.version(),
        policy.statement_count(),
        policy.sid(0),
    );
    // The same document in every role, so statements reach every gate.
    let sets = [
        PolicySet::identity(vec![policy.clone()]),
        PolicySet {
            identity: vec![policy.clone()],
            boundary: Some(policy.clone()),
            session: Some(vec![policy.clone()]),
            scps: Some(vec![vec![policy.clone()], vec![policy.clone()]]),
            rcps: Some(vec![vec![policy.clone()]]),
            resource: vec![policy.clone()],
            resource_policy_required: data.len() % 2 == 0,
        },
        PolicySet {
            resource: vec![policy.clone()],
            ..PolicySet::default()
        },
    ];
    let mut requests: Vec<(Principal, String, String, Context)> = Vec::new();
    if let Some(tail) = tail {
        let tail = String::from_utf8_lossy(tail);
        let mut lines = tail.split('\n');
        let action = lines.next().unwrap_or_default().to_string();
        let resource = lines.next().unwrap_or("*").to_string();
        let principal = lines
            .next()
            .and_then(|a| Principal::from_arn(a).ok())
            .unwrap_or_else(|| Principal::from_arn(PRINCIPALS[0]).expect("principal"));
        let mut ctx = Context::new();
        for line in lines {
            match line.split_once('=') {
                Some((k, "")) => {
                    ctx.set_all(k, Vec::<String>::new());
                }
                Some((k, v)) => {
                    let vals: Vec<&str> = v.split(',').collect();
                    ctx.set_all(k, vals);
                }
                // Keys declared unknown would make `Absent::Missing` conditional too.
                None => {}
            }
        }
        requests.push((principal, action, resource, ctx));
    } else {
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut strs = Vec::new();
        leaves(&value, &mut strs, 24);
        if strs.is_empty() {
            strs.push("*".into());
        }
        let pick = |i: usize| strs[i % strs.len()].clone();
        for (n, arn) in PRINCIPALS.iter().enumerate() {
            let principal = Principal::from_arn(arn).expect("principal");
            let mut ctx = Context::new();
            for (i, k) in strs.iter().enumerate().take(12) {
                ctx.set(k, pick(i + n + 1));
            }
            requests.push((principal, pick(n), pick(n * 3 + 1), ctx));
        }
        requests.push((Principal::anonymous(), pick(2), pick(5), Context::new()));
        requests.push((
            Principal::service("cloudtrail.amazonaws.com"),
            pick(1),
            pick(4),
            Context::new(),
        ));
    }
    for (principal, action, resource, ctx) in &requests {
        for set in &sets {
            check(set, principal, action, resource, ctx);
        }
    }
});
