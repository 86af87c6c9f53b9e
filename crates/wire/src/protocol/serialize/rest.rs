//! `rest-json` and `rest-xml`: members bound to the URI path, the query string and headers, the
//! rest in a JSON or XML body, or one member as the whole payload.

use indexmap::IndexMap;
use portcullis_cli::Value;
use portcullis_model::ShapeType;

use super::text::{json_ascii, percent_decode, percent_encode, percent_encode_path};
use super::{
    Body, Ctx, HttpRequest, Member, SerializeError, TimestampFormat, check_depth, expect_list,
    expect_map, json, mismatch, plain_text, scalar_text, text, xml,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Json,
    Xml,
}

/// A query-string entry: one value, or one per list element (`k=a&k=b`).
enum QueryValue {
    One(String),
    Many(Vec<String>),
}

pub(crate) fn serialize(
    ctx: &Ctx<'_>,
    params: &IndexMap<String, Value>,
    flavor: Flavor,
) -> Result<HttpRequest, SerializeError> {
    let host_prefix = ctx.host_prefix(params)?;
    let request_uri = ctx.op.http.request_uri.as_str();
    let (path_template, constant_query) = match request_uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (request_uri, None),
    };
    let mut query: Vec<(String, Option<String>)> = Vec::new();
    for part in constant_query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        query.push(match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), Some(percent_decode(v))),
            None => (percent_decode(part), None),
        });
    }
    let mut req = HttpRequest {
        method: ctx.op.http.method.clone(),
        path: path_template.to_string(),
        query,
        headers: Vec::new(),
        body: Body::default(),
        host_prefix,
    };
    let Some(input) = ctx.input()? else {
        // Without an input there is nothing to fill in.
        return Ok(req);
    };

    let mut labels: IndexMap<String, String> = IndexMap::new();
    let mut named_query: IndexMap<String, QueryValue> = IndexMap::new();
    let mut map_query: IndexMap<String, QueryValue> = IndexMap::new();
    let mut body_members: Vec<(&String, &Value)> = Vec::new();
    for (name, value) in params {
        if matches!(value, Value::Null) {
            continue;
        }
        let member = input.child(ctx, name)?;
        let wire = member.wire_name(name).to_string();
        match member.r.location.as_deref() {
            Some("uri") => {
                labels.insert(
                    wire,
                    scalar_text(&member, value, TimestampFormat::Iso8601, name)?,
                );
            }
            Some("querystring") => match value {
                Value::Map(entries) => {
                    for (k, v) in entries {
                        let qv = match v {
                            Value::Null => continue,
                            Value::List(items) => QueryValue::Many(
                                items
                                    .iter()
                                    .filter(|i| !matches!(i, Value::Null))
                                    .map(|i| plain_text(i, name))
                                    .collect::<Result<_, _>>()?,
                            ),
                            other => QueryValue::One(plain_text(other, name)?),
                        };
                        map_query.insert(k.clone(), qv);
                    }
                }
                Value::List(items) if member.kind() == ShapeType::List => {
                    let elem = member.list_member(ctx)?;
                    let mut texts = Vec::with_capacity(items.len());
                    for item in items.iter().filter(|i| !matches!(i, Value::Null)) {
                        texts.push(scalar_text(&elem, item, TimestampFormat::Iso8601, name)?);
                    }
                    named_query.insert(wire, QueryValue::Many(texts));
                }
                other => {
                    named_query.insert(
                        wire,
                        QueryValue::One(scalar_text(
                            &member,
                            other,
                            TimestampFormat::Iso8601,
                            name,
                        )?),
                    );
                }
            },
            Some("header") => {
                if matches!(value, Value::List(l) if l.is_empty()) {
                    continue;
                }
                let text = header_value(ctx, &member, value, name, 0)?;
                set_header(&mut req.headers, wire, text)?;
            }
            Some("headers") => {
                for (k, v) in expect_map(value, name)? {
                    if matches!(v, Value::Null) {
                        continue;
                    }
                    set_header(&mut req.headers, format!("{wire}{k}"), plain_text(v, name)?)?;
                }
            }
            _ => {
                body_members.push((name, value));
            }
        }
    }

    req.path = render_path(path_template, &labels)?;
    // Members bound by name win over entries of a query-string map with the same key.
    for (k, v) in map_query {
        if !named_query.contains_key(&k) {
            named_query.insert(k, v);
        }
    }
    for (k, v) in named_query {
        match v {
            QueryValue::One(s) => req.query.push((k, Some(s))),
            QueryValue::Many(items) => req
                .query
                .extend(items.into_iter().map(|s| (k.clone(), Some(s)))),
        }
    }

    let mut streaming = false;
    if let Some(payload) = input.shape.payload.as_deref() {
        let pm = input.child(ctx, payload)?;
        match (pm.kind(), params.get(payload)) {
            (ShapeType::Blob | ShapeType::String, value) => {
                // The member's bytes are the whole body.
                streaming = true;
                req.body = match value {
                    None | Some(Value::Null) => Body::default(),
                    Some(Value::Str(s)) => Body::Bytes(s.as_bytes().to_vec()),
                    Some(Value::Bytes(b)) => Body::Bytes(b.clone()),
                    Some(Value::Stream(f)) => Body::File(f.path.clone()),
                    Some(other) => return Err(mismatch(payload, "blob", other)),
                };
            }
            (_, None | Some(Value::Null)) => {
                // An absent structure payload: rest-json still sends an empty object.
                if flavor == Flavor::Json {
                    req.body = Body::Bytes(b"{}".to_vec());
                }
            }
            (_, Some(value)) => {
                req.body = Body::Bytes(match flavor {
                    Flavor::Json => json::to_json(ctx, &pm, value, payload, 1)?
                        .to_string()
                        .into_bytes(),
                    Flavor::Xml => {
                        let root = pm.location_name().unwrap_or(pm.shape_name());
                        xml::document(ctx, &pm, value, root)?.render()
                    }
                });
            }
        }
    } else if !body_members.is_empty() {
        req.body = Body::Bytes(match flavor {
            Flavor::Json => serde_json::Value::Object(json::structure_members(
                ctx,
                &input,
                body_members.iter().copied(),
                "",
                0,
            )?)
            .to_string()
            .into_bytes(),
            Flavor::Xml => {
                let root = input.location_name().unwrap_or(input.shape_name());
                xml::structure_document(ctx, &input, body_members.iter().copied(), root)?.render()
            }
        });
    } else if flavor == Flavor::Json && input.shape.members.values().any(|m| m.location.is_none()) {
        // rest-json sends `{}` whenever the input has body members, even when none is set.
        req.body = Body::Bytes(b"{}".to_vec());
    }

    if flavor == Flavor::Json
        && !streaming
        && !req.body.is_empty()
        && req.header("Content-Type").is_none()
    {
        req.headers
            .push(("Content-Type".into(), "application/json".into()));
    }
    Ok(req)
}

/// Fills `{Label}` and greedy `{Label+}` in the path template.
fn render_path(
    template: &str,
    labels: &IndexMap<String, String>,
) -> Result<String, SerializeError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let label = &after[..close];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(n) => (n, true),
            None => (label, false),
        };
        let value = labels
            .get(name)
            .ok_or_else(|| SerializeError::MissingLabel(name.to_string()))?;
        if value.is_empty() {
            // An empty label would address a different resource (`/bucket/` for `/{Bucket}/{Key+}`).
            return Err(SerializeError::EmptyLabel(name.to_string()));
        }
        out.push_str(&if greedy {
            percent_encode_path(value)
        } else {
            percent_encode(value)
        });
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A header member's text: timestamps in whole seconds (HTTP date unless the shape says
/// otherwise), lists comma-joined with strings quoted when they hold `,` or `"`, `jsonvalue`
/// members as base64 of compact JSON.
fn header_value(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<String, SerializeError> {
    check_depth(depth, path)?;
    match m.kind() {
        ShapeType::Timestamp => {
            let ts = super::timestamp::from_param(value, path)?.truncated();
            Ok(ts.format(m.timestamp_format()?.unwrap_or(TimestampFormat::Rfc822)))
        }
        ShapeType::List => {
            let elem = m.list_member(ctx)?;
            let mut parts = Vec::new();
            for item in expect_list(value, path)?
                .iter()
                .filter(|i| !matches!(i, Value::Null))
            {
                parts.push(match (elem.kind(), item) {
                    (ShapeType::String, Value::Str(s)) if s.contains('"') || s.contains(',') => {
                        format!("\"{}\"", s.replace('"', "\\\""))
                    }
                    _ => header_value(ctx, &elem, item, path, depth + 1)?,
                });
            }
            Ok(parts.join(","))
        }
        ShapeType::String if m.r.jsonvalue => Ok(text::base64(
            json_ascii(&json::document(value, path, 0)?).as_bytes(),
        )),
        ShapeType::Structure | ShapeType::Map => Err(mismatch(path, "scalar", value)),
        _ => scalar_text(m, value, TimestampFormat::Rfc822, path),
    }
}

/// Adds a header, replacing one of the same name; refuses names and values that could not be
/// sent as they are (a line break would start a new header).
fn set_header(
    headers: &mut Vec<(String, String)>,
    name: String,
    value: String,
) -> Result<(), SerializeError> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(SerializeError::InvalidHeaderValue(name));
    }
    if value
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == '\u{7f}')
    {
        return Err(SerializeError::InvalidHeaderValue(name));
    }
    match headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
    {
        Some(slot) => slot.1 = value,
        None => headers.push((name, value)),
    }
    Ok(())
}
