//! RFC 8785, the JSON Canonicalization Scheme (JCS): one byte sequence per JSON value.
//!
//! * Object members sorted by their names' UTF-16 code units, no whitespace anywhere.
//! * Strings escaped as ECMAScript's `JSON.stringify` does: `"` and `\` escaped, the C0 controls
//!   as `\b \t \n \f \r` or `\u00xx` (lower-case hex), every other character as itself (UTF-8).
//! * Numbers as IEEE 754 doubles printed by ECMAScript's `Number.prototype.toString`: the
//!   shortest digits that round-trip, integers below 10^21 without exponent, `-0` as `0`.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical form of `value` (RFC 8785).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// `sha256:` and the lower-case hex SHA-256 of the canonical form of `value`.
pub fn digest(value: &Value) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
    )
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&number(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript's `Number.prototype.toString` of a finite double (RFC 8785 section 3.2.2.3).
/// JSON has no NaN or infinity; were one given, it is printed as `null`.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddddde-7".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exponent + 1; // the decimal point sits after n digits
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_as_ecmascript_does() {
        // RFC 8785 appendix B and section 3.2.2.3.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e30, "1e+30"),
            (1e-27, "1e-27"),
            (333_333_333.333_333_3, "333333333.3333333"),
            (5e-324, "5e-324"),
            (-5e-324, "-5e-324"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (9_007_199_254_740_992.0, "9007199254740992"),
            (295_147_905_179_352_830_000.0, "295147905179352830000"),
            (1.5e300, "1.5e+300"),
            (123.456, "123.456"),
            (-0.000_001_234, "-0.000001234"),
        ];
        for (x, want) in cases {
            assert_eq!(number(*x), *want, "{x:e}");
        }
    }

    #[test]
    fn objects_sort_by_utf16_and_strings_escape_as_json_stringify() {
        // RFC 8785 section 3.2.3's sorting example: UTF-16 order, not UTF-8 or code point order.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{80}": "Control", "\u{f6}": "Latin Small Letter O With Diaeresis"});
        let got = canonical_json(&v);
        let keys: Vec<&str> = [
            "\\r",
            "1",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .to_vec();
        let mut at = 0;
        for k in keys {
            let pos = got[at..].find(&format!("\"{k}\"")).map(|p| p + at);
            assert!(pos.is_some(), "{k:?} out of order in {got}");
            at = pos.unwrap_or(0);
        }
        assert_eq!(
            canonical_json(
                &json!({"b": [1, 2.50, "a\u{1}\"\\/\u{7f}"], "a": {"z": null, "y": true}})
            ),
            "{\"a\":{\"y\":true,\"z\":null},\"b\":[1,2.5,\"a\\u0001\\\"\\\\/\u{7f}\"]}"
        );
    }

    #[test]
    fn digest_ignores_member_order_and_whitespace_but_not_content() {
        let a: Value = serde_json::from_str(r#"{"name":"t","inputSchema":{"type":"object"}}"#)
            .unwrap_or_default();
        let b: Value = serde_json::from_str(
            "{ \"inputSchema\" : { \"type\" : \"object\" } ,\n \"name\" : \"t\" }",
        )
        .unwrap_or_default();
        let c = json!({"name": "t", "inputSchema": {"type": "object "}});
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c));
        assert!(digest(&a).starts_with("sha256:") && digest(&a).len() == 7 + 64);
        // The RFC's example value of section 3.2.2 canonicalizes to its stated form.
        let rfc: Value = serde_json::from_str(
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            canonical_json(&rfc),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }
}
