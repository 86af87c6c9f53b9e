//! JSON bodies (`json`, `rest-json`): read the document, then walk it along the shapes.

use portcullis_model::ShapeType;
use serde_json::{Map, Value};

use super::member::{self, Target};
use super::scalar;
use super::{Ctx, ParseError, Protocol};
use crate::protocol::timestamp::Timestamp as Instant;

/// Reads a JSON body; an empty body is an empty object.
pub(crate) fn read(body: &[u8]) -> Result<Value, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ParseError::Malformed(format!("invalid JSON body: {e}")))
}

/// Reads a JSON body and walks it as `t`.
pub(crate) fn parse_body(ctx: Ctx<'_>, t: Target<'_>, body: &[u8]) -> Result<Value, ParseError> {
    let doc = read(body)?;
    walk(ctx, t, &doc)
}

/// The value of `v` read as shape `t`. `null` stays `null` (callers omit null members).
pub(crate) fn walk(ctx: Ctx<'_>, t: Target<'_>, v: &Value) -> Result<Value, ParseError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    // rest-json reads scalars through the same conversions as headers (botocore's int(),
    // float(), ensure_boolean()); plain json passes them through.
    let rest = ctx.protocol == Protocol::RestJson;
    match t.kind() {
        ShapeType::Structure if t.shape.document => Ok(v.clone()),
        ShapeType::Structure => structure(ctx, t, v),
        ShapeType::List => {
            let items = v.as_array().ok_or_else(|| mismatch("a list", v))?;
            let member = member::child(ctx.model, t.shape.member.as_ref(), "list member")?;
            items
                .iter()
                .map(|item| walk(ctx, member, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        ShapeType::Map => {
            let obj = v.as_object().ok_or_else(|| mismatch("a map", v))?;
            let value = member::child(ctx.model, t.shape.value.as_ref(), "map value")?;
            let mut out = Map::new();
            for (k, item) in obj {
                out.insert(k.clone(), walk(ctx, value, item)?);
            }
            Ok(Value::Object(out))
        }
        ShapeType::Blob => match v {
            Value::String(s) => scalar::blob_from_base64(s),
            other => Err(mismatch("a base64 string", other)),
        },
        ShapeType::Timestamp => match v {
            Value::Number(n) => Instant::from_epoch_number(n)
                .map(|i| i.render(ctx.opts.timestamps))
                .ok_or_else(|| mismatch("a timestamp", v)),
            Value::String(s) => scalar::timestamp_from_text(ctx, s),
            other => Err(mismatch("a timestamp", other)),
        },
        ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger if rest => match v {
            Value::String(s) => scalar::integer_from_text(s),
            Value::Number(n) if n.is_f64() => {
                Ok(Value::from(n.as_f64().unwrap_or_default().trunc() as i64))
            }
            Value::Bool(b) => Ok(Value::from(i64::from(*b))),
            other => Ok(other.clone()),
        },
        ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => match v {
            Value::String(s) => scalar::float_from_text(s),
            Value::Number(n) if rest => Ok(n.as_f64().map_or(v.clone(), scalar::float_value)),
            other => Ok(other.clone()),
        },
        ShapeType::Boolean if rest => Ok(Value::Bool(match v {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        })),
        _ => Ok(v.clone()),
    }
}

fn structure(ctx: Ctx<'_>, t: Target<'_>, v: &Value) -> Result<Value, ParseError> {
    let obj = v.as_object().ok_or_else(|| mismatch("a structure", v))?;
    if t.shape.union {
        let mut set = obj
            .iter()
            .filter(|(k, v)| k.as_str() != "__type" && !v.is_null());
        let (Some((tag, _)), None) = (set.next(), set.next()) else {
            return Err(ParseError::Malformed(
                "a union must have exactly one member set".into(),
            ));
        };
        if !member::union_tags(t.shape).any(|known| known == tag) {
            return Ok(unknown_union_member(tag));
        }
    }
    let mut out = Map::new();
    for (name, r) in &t.shape.members {
        let m = Target::resolve(ctx.model, r)?;
        if m.is_bound_outside_body() {
            continue;
        }
        let key = r.location_name.as_deref().unwrap_or(name);
        if let Some(raw) = obj.get(key).filter(|raw| !raw.is_null()) {
            let parsed = walk(ctx, m, raw)?;
            if !parsed.is_null() {
                out.insert(name.clone(), parsed);
            }
        }
    }
    Ok(Value::Object(out))
}

/// What botocore returns for a union member this model does not know.
pub(crate) fn unknown_union_member(tag: &str) -> Value {
    let mut inner = Map::new();
    inner.insert("name".into(), Value::String(tag.to_string()));
    let mut out = Map::new();
    out.insert("SDK_UNKNOWN_MEMBER".into(), Value::Object(inner));
    Value::Object(out)
}

fn mismatch(expected: &str, got: &Value) -> ParseError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ParseError::Malformed(format!("expected {expected}, got {kind}"))
}
