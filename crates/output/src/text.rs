//! `--output text`: a port of `awscli/text.py`.
//!
//! Scalars of a dict go on one tab-separated line (sorted by key), preceded by the upper-cased
//! key under which the dict was found; lists of dicts share one sorted set of scalar columns;
//! lists of scalars go on one line, or one `KEY\tvalue` line each under a key; Python's `str()`
//! prints the values (`True`, `None`, `1.0`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::OutputError;
use super::pyfmt::py_str;

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

pub(crate) fn format_text(v: &Value, out: &mut String) -> Result<(), OutputError> {
    format_item(v, None, None, out)
}

fn format_item(
    item: &Value,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
    out: &mut String,
) -> Result<(), OutputError> {
    match item {
        Value::Object(m) => format_dict(scalar_keys, m, identifier, out),
        Value::Array(a) => format_list(a, identifier, out),
        other => {
            out.push_str(&py_str(other));
            out.push('\n');
            Ok(())
        }
    }
}

fn format_list(
    items: &[Value],
    identifier: Option<&str>,
    out: &mut String,
) -> Result<(), OutputError> {
    if items.is_empty() {
        return Ok(());
    }
    if items.iter().any(Value::is_object) {
        // awscli collects the scalar keys of every element (`.items()` on each: a list mixing
        // dicts with other values fails there).
        let mut keys = BTreeSet::new();
        for e in items {
            let Value::Object(m) = e else {
                return Err(OutputError::Shape {
                    format: "text",
                    detail: format!(
                        "a list mixes objects with a {} (the AWS CLI fails the same way)",
                        type_word(e)
                    ),
                });
            };
            for (k, v) in m {
                if is_scalar(v) {
                    keys.insert(k.clone());
                }
            }
        }
        let keys: Vec<String> = keys.into_iter().collect();
        for e in items {
            format_item(e, identifier, Some(&keys), out)?;
        }
    } else if items.iter().any(Value::is_array) {
        let scalars: Vec<&Value> = items.iter().filter(|v| is_scalar(v)).collect();
        if !scalars.is_empty() {
            format_scalar_list(&scalars, identifier, out);
        }
        for e in items.iter().filter(|v| !is_scalar(v)) {
            format_item(e, identifier, None, out)?;
        }
    } else {
        let all: Vec<&Value> = items.iter().collect();
        format_scalar_list(&all, identifier, out);
    }
    Ok(())
}

fn format_scalar_list(elements: &[&Value], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(id) => {
            let id = id.to_uppercase();
            for e in elements {
                out.push_str(&id);
                out.push('\t');
                out.push_str(&py_str(e));
                out.push('\n');
            }
        }
        None => {
            let parts: Vec<String> = elements.iter().map(|e| py_str(e)).collect();
            out.push_str(&parts.join("\t"));
            out.push('\n');
        }
    }
}

fn format_dict(
    scalar_keys: Option<&[String]>,
    item: &Map<String, Value>,
    identifier: Option<&str>,
    out: &mut String,
) -> Result<(), OutputError> {
    let mut scalars: Vec<String> = Vec::new();
    let mut non_scalars: Vec<(&str, &Value)> = Vec::new();
    match scalar_keys {
        None => {
            let mut entries: Vec<(&String, &Value)> = item.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                if is_scalar(v) {
                    scalars.push(py_str(v));
                } else {
                    non_scalars.push((k, v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(item.get(k).map(py_str).unwrap_or_default());
            }
            let mut rest: Vec<&String> = item.keys().filter(|k| !keys.contains(k)).collect();
            rest.sort();
            for k in rest {
                if let Some(v) = item.get(k) {
                    non_scalars.push((k, v));
                }
            }
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (k, v) in non_scalars {
        format_item(v, Some(k), None, out)?;
    }
    Ok(())
}

pub(crate) fn type_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}
