//! Secret redaction for what upstreams return. Their results have no service model, so the rules
//! are the ones that hold without one: a JSON member whose name says it holds a secret
//! ([`crate::redact::secret_name`]: `SecretAccessKey`, `password`, `private_key`, ...) has its
//! text value masked, in `structuredContent` and in text blocks that are JSON; and in any text,
//! PEM private-key blocks and `aws_secret_access_key = …` / `aws_session_token = …` assignments
//! (the shared credentials file's spelling) are masked.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::redact::{MASK, secret_name};

static PEM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    )
    .ok()
});

static ASSIGNED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(aws_secret_access_key|aws_session_token|aws_security_token|secretaccesskey|sessiontoken)(["']?\s*[=:]\s*["']?)([A-Za-z0-9/+=]{16,})"#,
    )
    .ok()
});

/// Masks secrets in free text (see the module documentation); counts what it masked.
fn scrub_counted(text: &str) -> (String, usize) {
    let mut n = 0;
    let mut out = text.to_string();
    if let Some(pem) = PEM.as_ref() {
        n += pem.find_iter(&out).count();
        out = pem.replace_all(&out, MASK).into_owned();
    }
    if let Some(assigned) = ASSIGNED.as_ref() {
        n += assigned.find_iter(&out).count();
        out = assigned
            .replace_all(&out, |c: &regex::Captures<'_>| {
                format!("{}{}{MASK}", &c[1], &c[2])
            })
            .into_owned();
    }
    (out, n)
}

/// Masks secrets in free text (log lines, messages).
pub fn scrub_text(text: &str) -> String {
    scrub_counted(text).0
}

/// Masks the text values of secret-named members anywhere in `value`; counts them.
pub fn mask_json(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let mut n = 0;
            for (k, v) in map.iter_mut() {
                if secret_name(k) && matches!(v, Value::String(s) if !s.is_empty() && s != MASK) {
                    *v = Value::String(MASK.into());
                    n += 1;
                } else {
                    n += mask_json(v);
                }
            }
            n
        }
        Value::Array(items) => items.iter_mut().map(mask_json).sum(),
        Value::String(s) => {
            let (clean, n) = scrub_counted(s);
            if n > 0 {
                *s = clean;
            }
            n
        }
        _ => 0,
    }
}

/// Masks a text block: as JSON when it is a JSON object or array, else as free text.
pub fn mask_text(text: &mut String) -> usize {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut v) = serde_json::from_str::<Value>(text)
    {
        let n = mask_json(&mut v);
        if n > 0
            && let Ok(s) = serde_json::to_string_pretty(&v)
        {
            *text = s;
        }
        return n;
    }
    let (clean, n) = scrub_counted(text);
    if n > 0 {
        *text = clean;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_members_and_credential_texts_are_masked() {
        let mut v = json!({"AccessKey": {"AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}, "items": [{"password": "hunter22"}], "name": "x"});
        assert_eq!(mask_json(&mut v), 2);
        assert_eq!(v["AccessKey"]["AccessKeyId"], "AKIAEXAMPLE");
        assert_eq!(v["AccessKey"]["SecretAccessKey"], MASK);
        assert_eq!(v["items"][0]["password"], MASK);
        let mut t =
            "[default]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\nregion = x"
                .to_string();
        assert_eq!(mask_text(&mut t), 1);
        assert!(!t.contains("wJalr"), "{t}");
        assert!(t.contains("region = x"));
        let mut pem =
            "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\nend"
                .to_string();
        assert_eq!(mask_text(&mut pem), 1);
        assert!(!pem.contains("MIIE") && pem.ends_with("end"), "{pem}");
        let mut plain = "Read 3 files".to_string();
        assert_eq!(mask_text(&mut plain), 0);
        assert_eq!(plain, "Read 3 files");
    }
}
