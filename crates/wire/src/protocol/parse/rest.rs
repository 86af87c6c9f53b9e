//! REST protocols (`rest-json`, `rest-xml`): members bound to headers, header maps and the
//! status code, and the body either as the payload member or as the remaining members.

use portcullis_model::ShapeType;
use serde_json::{Map, Value};

use super::member::{self, Target};
use super::scalar::{self, Source};
use super::{Ctx, HttpResponse, ParseError, Protocol, json, xml};

/// The output structure of a REST response.
pub(crate) fn parse_output(
    ctx: Ctx<'_>,
    t: Target<'_>,
    resp: &HttpResponse,
) -> Result<Value, ParseError> {
    let mut found = Map::new();
    bind_outside_body(ctx, t, resp, &mut found)?;
    match t.shape.payload.as_deref() {
        Some(payload) => {
            let r =
                t.shape.members.get(payload).ok_or_else(|| {
                    ParseError::MissingShape(format!("payload member `{payload}`"))
                })?;
            let m = Target::resolve(ctx.model, r)?;
            if m.is_eventstream() {
                return Err(ParseError::EventStream(payload.to_string()));
            }
            // No body means no payload (Smithy's rule; botocore would give "" or {}).
            if !resp.body.is_empty() {
                let v = match m.kind() {
                    ShapeType::Blob => scalar::blob_value(&resp.body),
                    ShapeType::String => {
                        Value::String(String::from_utf8_lossy(&resp.body).into_owned())
                    }
                    _ => body_value(ctx, m, &resp.body)?,
                };
                if !v.is_null() {
                    found.insert(payload.to_string(), v);
                }
            }
        }
        None => {
            let has_body_members = t.shape.members.values().any(|r| {
                !matches!(
                    r.location.as_deref(),
                    Some("header" | "headers" | "statusCode")
                )
            });
            if has_body_members && let Value::Object(body) = body_value(ctx, t, &resp.body)? {
                found.extend(body);
            }
        }
    }
    Ok(Value::Object(in_model_order(t, found)))
}

/// Modeled members of an error shape (headers and body).
pub(crate) fn parse_error_fields(
    ctx: Ctx<'_>,
    t: Target<'_>,
    resp: &HttpResponse,
) -> Result<Map<String, Value>, ParseError> {
    let mut found = Map::new();
    bind_outside_body(ctx, t, resp, &mut found)?;
    if let Value::Object(body) = body_value(ctx, t, &resp.body)? {
        found.extend(body);
    }
    Ok(in_model_order(t, found))
}

/// The body read as `t` in the protocol's format; an empty body has no members.
fn body_value(ctx: Ctx<'_>, t: Target<'_>, body: &[u8]) -> Result<Value, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match ctx.protocol {
        Protocol::RestXml => {
            let root = xml::read(body)?;
            xml::walk(ctx, t, &[&root])
        }
        _ => json::parse_body(ctx, t, body),
    }
}

fn in_model_order(t: Target<'_>, mut found: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for name in t.shape.members.keys() {
        if let Some(v) = found.remove(name) {
            out.insert(name.clone(), v);
        }
    }
    out
}

fn bind_outside_body(
    ctx: Ctx<'_>,
    t: Target<'_>,
    resp: &HttpResponse,
    out: &mut Map<String, Value>,
) -> Result<(), ParseError> {
    for (name, r) in &t.shape.members {
        let m = Target::resolve(ctx.model, r)?;
        match m.location() {
            Some("statusCode") => {
                out.insert(name.clone(), Value::from(resp.status));
            }
            Some("headers") => {
                let prefix = m.location_name().unwrap_or("").to_ascii_lowercase();
                let mut map = Map::new();
                for (k, v) in &resp.headers {
                    if k.to_ascii_lowercase().starts_with(&prefix)
                        && let Some(rest) = k.get(prefix.len()..)
                    {
                        map.insert(rest.to_string(), Value::String(v.clone()));
                    }
                }
                out.insert(name.clone(), Value::Object(map));
            }
            Some("header") => {
                let header = m.location_name().unwrap_or(name);
                if let Some(v) = resp.header(header) {
                    out.insert(name.clone(), header_value(ctx, m, v)?);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn header_value(ctx: Ctx<'_>, m: Target<'_>, raw: &str) -> Result<Value, ParseError> {
    if m.kind() != ShapeType::List {
        return scalar::from_text(ctx, m, raw, Source::Header);
    }
    let item = member::child(ctx.model, m.shape.member.as_ref(), "list member")?;
    split_list_header(raw, item.kind() == ShapeType::Timestamp)
        .iter()
        .map(|s| scalar::from_text(ctx, item, s, Source::Header))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Splits a list header (RFC 7230: comma-separated, items may be quoted strings). HTTP dates
/// contain a comma after the weekday, so for timestamps `Mon, 16 Dec 2019 ...` stays whole.
fn split_list_header(raw: &str, timestamps: bool) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => quoted = false,
            '"' if cur.trim().is_empty() => {
                quoted = true;
                was_quoted = true;
                cur.clear();
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' if !quoted => {
                items.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    cur.trim().to_string()
                });
                cur.clear();
                was_quoted = false;
            }
            _ if !quoted && was_quoted => {}
            _ => cur.push(c),
        }
    }
    items.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    if !timestamps {
        return items;
    }
    let mut joined: Vec<String> = Vec::new();
    let mut pending: Option<String> = None;
    for it in items {
        match pending.take() {
            Some(day) => joined.push(format!("{day}, {it}")),
            None if it.len() == 3 && it.bytes().all(|b| b.is_ascii_alphabetic()) => {
                pending = Some(it)
            }
            None => joined.push(it),
        }
    }
    joined.extend(pending);
    joined
}

#[cfg(test)]
mod tests {
    use super::split_list_header;

    #[test]
    fn list_headers() {
        assert_eq!(split_list_header("a, b,c", false), ["a", "b", "c"]);
        assert_eq!(
            split_list_header(r#""b,c", "\"def\"", a"#, false),
            ["b,c", "\"def\"", "a"]
        );
        assert_eq!(
            split_list_header(
                "Mon, 16 Dec 2019 23:48:18 GMT, Mon, 16 Dec 2019 23:48:18 GMT",
                true
            ),
            [
                "Mon, 16 Dec 2019 23:48:18 GMT",
                "Mon, 16 Dec 2019 23:48:18 GMT"
            ]
        );
    }
}
