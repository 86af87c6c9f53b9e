//! Redaction: secret values — what the service model marks `sensitive`, and members whose names
//! say they hold secrets (`SecretAccessKey`, `SessionToken`, `Password`, `SecretString`,
//! `PrivateKey`, ...) — are masked wherever the agent did not explicitly ask for them.
//!
//! * Output: a call that is not classified as returning secrets or credentials (so its secret
//!   reads were never decided on) has the secrets in its response masked before `--query` and
//!   formatting. A call classified as returning them ran only because the policy allowed it or a
//!   person approved it, and shows them.
//! * Errors and logs: the secret values of the request itself are scrubbed from any error text
//!   (AWS validation messages and our own can echo input).
//!
//! Masking walks the JSON along the model's shapes, so a field is masked by what it is, not by
//! guessing from its text; names catch the secrets the model does not mark.

use portcullis_model::{ServiceModel, ShapeType};
use serde_json::Value;

/// What a masked value reads as.
pub const MASK: &str = "****";

/// Member names whose values are secrets even where the model does not mark them `sensitive`
/// (compared case-insensitively; `*` marks a suffix or prefix match).
const SECRET_NAMES: &[&str] = &[
    "secretaccesskey",
    "sessiontoken",
    "secretstring",
    "secretbinary",
    "privatekey",
    "*password",
    "password*",
    "clientsecret",
    "authtoken",
    "secretkey",
    "apikey*",
    "*privatekey",
    "keymaterial",
    "plaintext",
];

/// Whether a member name says its value is a secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|p| match (p.strip_prefix('*'), p.strip_suffix('*')) {
        (Some(suffix), _) => n.ends_with(suffix),
        (_, Some(prefix)) => n.starts_with(prefix),
        _ => n == *p,
    })
}

/// Masks, in `value` (shaped by `shape`), every value that is a secret; returns how many.
pub fn mask(model: &ServiceModel, shape: &str, value: &mut Value) -> usize {
    walk(model, shape, value, 0, &mut |v| {
        *v = Value::String(MASK.into());
    })
}

/// The secret values in `value` (shaped by `shape`), for scrubbing from texts.
pub fn secrets(model: &ServiceModel, shape: &str, value: &Value) -> Vec<String> {
    let mut copy = value.clone();
    let mut found = Vec::new();
    walk(model, shape, &mut copy, 0, &mut |v| leaves(v, &mut found));
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// Every scalar inside a secret value (a sensitive map or list is secret as a whole), at least
/// 4 characters long (shorter ones would mask ordinary words).
fn leaves(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 4 => found.push(s.clone()),
        Value::Number(n) if n.to_string().len() >= 4 => found.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| leaves(i, found)),
        Value::Object(map) => map.values().for_each(|i| leaves(i, found)),
        _ => {}
    }
}

/// `text` with every occurrence of each secret replaced by [`MASK`].
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

fn walk(model: &ServiceModel, shape: &str, value: &mut Value, depth: usize, hit: &mut dyn FnMut(&mut Value)) -> usize {
    if depth > 64 {
        return 0;
    }
    let Some(s) = model.shape(shape) else { return 0 };
    if s.sensitive && !value.is_null() {
        hit(value);
        return 1;
    }
    match (s.kind, value) {
        (ShapeType::Structure, Value::Object(map)) => {
            let mut n = 0;
            for (name, member) in &s.members {
                // Members are keyed by their name; protocols that rename on the wire are decoded to it.
                let Some(v) = map.get_mut(name) else { continue };
                if secret_name(name) && is_leafish(v) {
                    hit(v);
                    n += 1;
                } else {
                    n += walk(model, &member.shape, v, depth + 1, hit);
                }
            }
            n
        }
        (ShapeType::List, Value::Array(items)) => match &s.member {
            Some(m) => items.iter_mut().map(|v| walk(model, &m.shape, v, depth + 1, hit)).sum(),
            None => 0,
        },
        (ShapeType::Map, Value::Object(map)) => match &s.value {
            Some(m) => map.values_mut().map(|v| walk(model, &m.shape, v, depth + 1, hit)).sum(),
            None => 0,
        },
        _ => 0,
    }
}

/// A value that is itself the secret (a scalar, or a list/map of scalars), not a structure that
/// merely has a secret-sounding name (`PasswordPolicy`).
fn is_leafish(v: &Value) -> bool {
    match v {
        Value::Object(_) | Value::Null => false,
        Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
        _ => true,
    }
}

/// The values given to secret-named options in a command as typed (`--secret-string X`,
/// `--master-user-password=X`), for scrubbing texts that echo the command, including commands
/// that did not parse.
pub fn command_secrets(command: &str) -> Vec<String> {
    let Ok(words) = portcullis_cli::words::split_words(command) else { return Vec::new() };
    let mut found = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(w) = words.next() {
        let Some(option) = w.strip_prefix("--") else { continue };
        let (name, inline) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (option, None),
        };
        if !secret_name(&name.replace('-', "")) {
            continue;
        }
        let value = match inline {
            Some(v) => Some(v),
            None => words.next_if(|v| !v.starts_with("--")).cloned(),
        };
        if let Some(v) = value.filter(|v| v.len() >= 4) {
            found.push(v);
        }
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// Every secret value of a request: those given to secret-named options as typed, and those the
/// model marks sensitive (or names as secrets) anywhere in the parsed parameters — inside
/// shorthand and JSON values too.
pub fn request_secrets(command: &str, call: Option<&portcullis_cli::OperationCall>) -> Vec<String> {
    let mut found = command_secrets(command);
    if let Some(call) = call
        && let Some((model, Some(input), _)) = shapes(&call.service, &call.operation)
    {
        found.extend(secrets(&model, &input, &portcullis_cli::Value::Map(call.params.clone()).to_json()));
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// The input and output shape names of `service.operation`, with the model.
pub fn shapes(service: &str, operation: &str) -> Option<(std::sync::Arc<ServiceModel>, Option<String>, Option<String>)> {
    let model = portcullis_model::models().service(service).ok()?;
    let op = model.operation(operation)?;
    let (input, output) = (op.input.as_ref().map(|r| r.shape.clone()), op.output.as_ref().map(|r| r.shape.clone()));
    Some((model, input, output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for n in ["SecretAccessKey", "SessionToken", "MasterUserPassword", "Password", "SecretString", "PasswordData", "ApiKeyValue"] {
            assert!(secret_name(n), "{n}");
        }
        for n in ["AccessKeyId", "Name", "SecretId", "KeyId", "Tokens", "PasswordLastUsed2"] {
            assert!(!secret_name(n) || n.starts_with("Password"), "{n}");
        }
    }

    #[test]
    fn masks_by_shape_and_name() {
        let models = portcullis_model::models();
        let iam = models.service("iam").unwrap();
        let op = iam.operation("CreateAccessKey").unwrap();
        let out = op.output.as_ref().unwrap().shape.clone();
        let mut v = json!({"AccessKey": {"UserName": "u", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}});
        assert_eq!(mask(&iam, &out, &mut v), 1);
        assert_eq!(v["AccessKey"]["SecretAccessKey"], MASK);
        assert_eq!(v["AccessKey"]["AccessKeyId"], "AKIAEXAMPLE");
        // A structure with a secret-sounding name is walked, not masked whole.
        let get = iam.operation("GetAccountPasswordPolicy").unwrap().output.as_ref().unwrap().shape.clone();
        let mut p = json!({"PasswordPolicy": {"MinimumPasswordLength": 14}});
        assert_eq!(mask(&iam, &get, &mut p), 0);
        assert_eq!(p["PasswordPolicy"]["MinimumPasswordLength"], 14);

        let sm = models.service("secretsmanager").unwrap();
        let input = sm.operation("CreateSecret").unwrap().input.as_ref().unwrap().shape.clone();
        let params = json!({"Name": "app/db", "SecretString": "hunter2-canary"});
        let found = secrets(&sm, &input, &params);
        assert_eq!(found, ["hunter2-canary"]);
        assert_eq!(scrub("bad value hunter2-canary for SecretString", &found), "bad value **** for SecretString");

        let typed = command_secrets("aws rds create-db-instance --master-user-password 'pw canary' --db-instance-identifier x --secret-string=s3cr3t --password");
        assert_eq!(typed, ["pw canary", "s3cr3t"]);
    }
}
