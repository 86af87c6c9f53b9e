//! botocore's `after-call` handlers that change what the AWS CLI prints, applied to every parsed
//! response ([`apply`]): without them the output differs from the CLI's even though the service
//! answered the same.
//!
//! | service.operation | botocore handler | what it does |
//! |---|---|---|
//! | `iam.*` | `json_decode_policies` | URL-encoded policy documents become JSON |
//! | `s3.GetBucketLocation` | `parse_get_bucket_location` | the root element's text is `LocationConstraint`; `null` for us-east-1's empty element |
//! | `ec2.GetConsoleOutput` | `decode_console_output` | `Output` is base64-decoded (UTF-8, invalid bytes replaced) |
//! | `cloudformation.GetTemplate` | `json_decode_template_body` | a JSON `TemplateBody` becomes a JSON object (a YAML one stays text) |
//!
//! The others in botocore's list either handle errors (`sqs`'s query-compatible errors, done by
//! the parsers) or undo an encoding Portcullis never asks for (`s3 ListObjects*` with
//! `EncodingType=url`, which the CLI adds and Portcullis does not).

use base64::Engine as _;
use portcullis_model::{Operation, ServiceModel};
use serde_json::Value as Json;

use crate::protocol::parse::HttpResponse;

/// Applies the handler of `model.name`.`op.name`, if there is one, to the parsed response `v`.
pub(crate) fn apply(model: &ServiceModel, op: &Operation, resp: &HttpResponse, v: &mut Json) {
    match (model.name.as_str(), op.name.as_str()) {
        ("iam", _) => {
            if let Some(out) = &op.output {
                decode_policy_documents(model, &out.shape, v, 0);
            }
        }
        ("s3", "GetBucketLocation") => {
            if let Some(map) = v.as_object_mut() {
                let text = root_text(&resp.body);
                map.insert(
                    "LocationConstraint".into(),
                    text.map_or(Json::Null, Json::String),
                );
            }
        }
        ("ec2", "GetConsoleOutput") => {
            if let Some(Json::String(out)) = v.get_mut("Output")
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(out.as_bytes())
            {
                *out = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        ("cloudformation", "GetTemplate") => {
            if let Some(body) = v.get_mut("TemplateBody")
                && let Json::String(text) = body
                && let Ok(doc) = serde_json::from_str::<Json>(text)
            {
                *body = doc;
            }
        }
        _ => {}
    }
}

/// The text of an XML document's root element (`<LocationConstraint>eu-west-1</LocationConstraint>`
/// → `eu-west-1`); `None` for an empty or self-closing root, as ElementTree gives.
fn root_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut rest = text;
    // Skip the declaration, comments and processing instructions before the root.
    loop {
        let start = rest.find('<')?;
        rest = &rest[start..];
        if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = &rest[rest.find('>')? + 1..];
            continue;
        }
        break;
    }
    let open_end = rest.find('>')?;
    if rest[..open_end].ends_with('/') {
        return None;
    }
    let inner = &rest[open_end + 1..];
    let close = inner.find('<').unwrap_or(inner.len());
    let value = unescape(&inner[..close]);
    if value.is_empty() { None } else { Some(value) }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// botocore's `json_decode_policies`: IAM returns policy documents URL-encoded; the CLI shows
/// them decoded, as JSON (left as they are when they do not decode).
fn decode_policy_documents(model: &ServiceModel, shape_name: &str, value: &mut Json, depth: usize) {
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    if depth > 32 {
        return;
    }
    match value {
        Json::Object(map) if shape.kind == portcullis_model::ShapeType::Structure => {
            for (name, r) in &shape.members {
                let Some(v) = map.get_mut(name) else { continue };
                if r.shape == "policyDocumentType" {
                    if let Json::String(text) = v
                        && let Some(doc) =
                            percent_decode(text).and_then(|t| serde_json::from_str::<Json>(&t).ok())
                    {
                        *v = doc;
                    }
                } else {
                    decode_policy_documents(model, &r.shape, v, depth + 1);
                }
            }
        }
        Json::Array(items) if shape.kind == portcullis_model::ShapeType::List => {
            if let Some(m) = &shape.member {
                for item in items {
                    decode_policy_documents(model, &m.shape, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Python's `urllib.parse.unquote` for ASCII-escaped UTF-8 (`None` if the result is not UTF-8).
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_location_is_the_root_text_or_null() {
        let us = br#"<?xml version="1.0" encoding="UTF-8"?>
<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#;
        assert_eq!(root_text(us), None);
        let empty = br#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>"#;
        assert_eq!(root_text(empty), None);
        let eu =
            br#"<?xml version="1.0"?><LocationConstraint xmlns="x">eu-west-1</LocationConstraint>"#;
        assert_eq!(root_text(eu).as_deref(), Some("eu-west-1"));
        assert_eq!(root_text(b"not xml"), None);
        assert_eq!(root_text(b""), None);
    }
}
