//! `--output yaml` and `yaml-stream`, in the AWS CLI v2 style: block style, two-space indent,
//! sequences not indented under their key (`Key:\n- item`), keys in response order, strings
//! quoted only where a YAML 1.1 or 1.2 reader would otherwise read something else. The CLI v2
//! (ruamel.yaml) also folds long strings at 80 columns; we never fold, which reads back equal.

use serde_json::{Map, Value};

use super::pyfmt::float_repr;

/// `yaml.dump(value)`: a whole document.
pub(crate) fn format_yaml(value: &Value, out: &mut String) {
    match value {
        Value::Array(a) if !a.is_empty() => seq(a, 0, out),
        Value::Object(m) if !m.is_empty() => map(m, 0, out),
        scalar => {
            let (text, plain) = scalar_text(scalar);
            out.push_str(&text);
            out.push('\n');
            if plain {
                // A plain scalar alone is an open-ended document: YAML emitters close it.
                out.push_str("...\n");
            }
        }
    }
}

/// `yaml-stream`: each response is one item of a top-level sequence.
pub(crate) fn format_yaml_stream(value: &Value, out: &mut String) {
    seq(std::slice::from_ref(value), 0, out);
}

fn pad(indent: usize, out: &mut String) {
    for _ in 0..indent {
        out.push(' ');
    }
}

/// A non-empty mapping at `indent`; the first line's indentation is already written when
/// `first_inline` (after `- `).
fn map_body(m: &Map<String, Value>, indent: usize, first_inline: bool, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(indent, out);
        }
        let (key, _) = string_text(k);
        // PyYAML reads implicit keys of up to 1024 characters; longer ones need `? `.
        let explicit = key.chars().count() > 1000;
        if explicit {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(indent, out);
            out.push(':');
        } else {
            out.push_str(&key);
            out.push(':');
        }
        value_after_key(v, indent, out);
    }
}

fn map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    map_body(m, indent, false, out);
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(a, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar).0);
            out.push('\n');
        }
    }
}

/// A non-empty sequence whose dashes sit at `indent`.
fn seq(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        pad(indent, out);
        seq_item(item, indent, out);
    }
}

/// After the indentation of a `- `.
fn seq_item(item: &Value, indent: usize, out: &mut String) {
    out.push_str("- ");
    match item {
        Value::Object(m) if !m.is_empty() => map_body(m, indent + 2, true, out),
        Value::Array(a) if !a.is_empty() => {
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    pad(indent + 2, out);
                }
                seq_item(e, indent + 2, out);
            }
        }
        scalar => {
            out.push_str(&scalar_text(scalar).0);
            out.push('\n');
        }
    }
}

/// The text of a scalar (or empty collection) and whether it is plain (unquoted).
fn scalar_text(v: &Value) -> (String, bool) {
    match v {
        Value::Null => ("null".to_string(), true),
        Value::Bool(b) => (b.to_string(), true),
        Value::Number(n) => {
            if n.is_f64() {
                let r = float_repr(n.as_f64().unwrap_or(0.0));
                // YAML 1.1 floats need a '.': "1e+20" would read back as a string.
                let r = match r.split_once('e') {
                    Some((m, e)) if !m.contains('.') => format!("{m}.0e{e}"),
                    _ => r,
                };
                (r, true)
            } else {
                (n.to_string(), true)
            }
        }
        Value::String(s) => string_text(s),
        Value::Array(_) => ("[]".to_string(), false),
        Value::Object(_) => ("{}".to_string(), false),
    }
}

fn string_text(s: &str) -> (String, bool) {
    if needs_double_quotes(s) {
        (double_quoted(s), false)
    } else if needs_quotes(s) {
        (format!("'{}'", s.replace('\'', "''")), false)
    } else {
        (s.to_string(), true)
    }
}

/// Characters a single-quoted scalar cannot carry: line breaks and what YAML calls
/// non-printable (PyYAML rejects those anywhere in a stream unless escaped).
fn needs_double_quotes(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        !(u == 0x09
            || (0x20..=0x7e).contains(&u)
            || (0xa0..=0xd7ff).contains(&u) && u != 0x2028 && u != 0x2029
            || (0xe000..=0xfffd).contains(&u) && u != 0xfeff
            || (0x10000..=0x10ffff).contains(&u))
    })
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            _ if needs_double_quotes(c.encode_utf8(&mut [0; 4])) => {
                let u = c as u32;
                if u <= 0xff {
                    out.push_str(&format!("\\x{u:02X}"));
                } else {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a printable one-line string must be quoted to read back as the same string.
fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    let last = s.chars().last().unwrap_or(first);
    if first == ' ' || first == '\t' || last == ' ' || last == '\t' {
        return true;
    }
    // Indicators that cannot start a plain scalar (or start one only in some contexts).
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return true;
    }
    // Flow indicators are fine in block context, but keep keys and values simple to read back.
    if s.starts_with("...") || s.starts_with("---") {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    // Null, booleans (YAML 1.1 has many), special floats and the merge/value keys.
    if matches!(
        lower.as_str(),
        "~" | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "<<"
            | "="
    ) {
        return true;
    }
    looks_numeric(s)
}

/// Anything a YAML 1.1 or 1.2 resolver might read as an int, float or timestamp: a leading
/// digit (or sign/dot then digit) and nothing but number and date characters.
fn looks_numeric(s: &str) -> bool {
    let b = s.as_bytes();
    let starts = match b {
        [d, ..] if d.is_ascii_digit() => true,
        [b'+' | b'-' | b'.', d, ..] if d.is_ascii_digit() || *d == b'.' => true,
        _ => false,
    };
    starts
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoO_.:+-eEtTzZ ".contains(c))
}
