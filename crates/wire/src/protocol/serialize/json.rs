//! The `json` protocol (JSON-RPC with `X-Amz-Target`) and the JSON documents it shares with
//! `rest-json`.

use indexmap::IndexMap;
use portcullis_cli::Value;
use portcullis_model::ShapeType;
use serde_json::{Map, Value as Json};

use super::{
    Body, Ctx, HttpRequest, Member, SerializeError, TimestampFormat, check_depth, expect_list,
    expect_map, join_path, mismatch, text,
};

/// `POST /` with the whole input as one JSON object (always at least `{}`).
pub(crate) fn serialize_rpc(
    ctx: &Ctx<'_>,
    params: &IndexMap<String, Value>,
) -> Result<HttpRequest, SerializeError> {
    let meta = &ctx.model.metadata;
    let target_prefix = meta
        .target_prefix
        .as_deref()
        .ok_or(SerializeError::MissingMetadata("targetPrefix"))?;
    let version = meta
        .json_version
        .as_deref()
        .ok_or(SerializeError::MissingMetadata("jsonVersion"))?;
    let mut headers = vec![
        (
            "X-Amz-Target".to_string(),
            format!("{target_prefix}.{}", ctx.op_name()),
        ),
        (
            "Content-Type".to_string(),
            format!("application/x-amz-json-{version}"),
        ),
    ];
    if meta.aws_query_compatible.is_some() {
        headers.push(("x-amzn-query-mode".to_string(), "true".to_string()));
    }
    let body = match ctx.input()? {
        Some(input) => structure_members(ctx, &input, params, "", 0)?,
        None => Map::new(),
    };
    Ok(HttpRequest {
        method: ctx.op.http.method.clone(),
        path: "/".to_string(),
        query: Vec::new(),
        headers,
        body: Body::Bytes(Json::Object(body).to_string().into_bytes()),
        host_prefix: ctx.host_prefix(params)?,
    })
}

/// The members of a structure as a JSON object, keyed by their wire names; nulls are left out.
pub(crate) fn structure_members<'v>(
    ctx: &Ctx<'_>,
    shape: &Member<'_>,
    entries: impl IntoIterator<Item = (&'v String, &'v Value)>,
    path: &str,
    depth: usize,
) -> Result<Map<String, Json>, SerializeError> {
    let mut out = Map::new();
    for (name, value) in entries {
        if matches!(value, Value::Null) {
            continue;
        }
        let member = shape.child(ctx, name)?;
        let p = join_path(path, name);
        out.insert(
            member.wire_name(name).to_string(),
            to_json(ctx, &member, value, &p, depth + 1)?,
        );
    }
    Ok(out)
}

/// One value as JSON, following its shape: blobs base64, timestamps epoch seconds unless the
/// shape says otherwise, special floats as the strings `Infinity`, `-Infinity`, `NaN`.
pub(crate) fn to_json(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<Json, SerializeError> {
    check_depth(depth, path)?;
    if m.shape.document {
        return document(value, path, depth);
    }
    Ok(match m.kind() {
        ShapeType::Structure => Json::Object(structure_members(
            ctx,
            m,
            expect_map(value, path)?,
            path,
            depth,
        )?),
        ShapeType::Map => {
            let (_, val) = m.map_entry(ctx)?;
            let mut out = Map::new();
            for (k, v) in expect_map(value, path)? {
                if matches!(v, Value::Null) {
                    continue;
                }
                out.insert(
                    k.clone(),
                    to_json(ctx, &val, v, &join_path(path, k), depth + 1)?,
                );
            }
            Json::Object(out)
        }
        ShapeType::List => {
            let elem = m.list_member(ctx)?;
            let items = expect_list(value, path)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                out.push(to_json(ctx, &elem, v, &format!("{path}[{i}]"), depth + 1)?);
            }
            Json::Array(out)
        }
        ShapeType::Blob => match value {
            Value::Bytes(b) => Json::String(text::base64(b)),
            Value::Str(s) => Json::String(text::base64(s.as_bytes())),
            other => return Err(mismatch(path, "blob", other)),
        },
        ShapeType::Timestamp => {
            let ts = super::timestamp::from_param(value, path)?;
            match m
                .timestamp_format()?
                .unwrap_or(TimestampFormat::UnixTimestamp)
            {
                TimestampFormat::UnixTimestamp => Json::from(ts.secs),
                other => Json::String(ts.format(other)),
            }
        }
        ShapeType::Float | ShapeType::Double => match value {
            Value::Float(f) => float(*f),
            Value::Int(i) => Json::from(*i),
            other => scalar(value, path).map_err(|_| mismatch(path, "number", other))?,
        },
        _ => scalar(value, path)?,
    })
}

fn float(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or_else(|| Json::String(text::py_float(f)), Json::Number)
}

fn scalar(value: &Value, path: &str) -> Result<Json, SerializeError> {
    Ok(match value {
        Value::Str(s) => Json::String(s.clone()),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => float(*f),
        Value::Bool(b) => Json::Bool(*b),
        other => return Err(mismatch(path, "scalar", other)),
    })
}

/// A document (free-form JSON) member, taken as it is.
pub(crate) fn document(value: &Value, path: &str, depth: usize) -> Result<Json, SerializeError> {
    check_depth(depth, path)?;
    Ok(match value {
        Value::Null => Json::Null,
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                out.push(document(v, &format!("{path}[{i}]"), depth + 1)?);
            }
            Json::Array(out)
        }
        Value::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), document(v, &join_path(path, k), depth + 1)?);
            }
            Json::Object(out)
        }
        Value::Bytes(b) => Json::String(text::base64(b)),
        Value::Stream(_) => return Err(mismatch(path, "document", value)),
        other => scalar(other, path)?,
    })
}
