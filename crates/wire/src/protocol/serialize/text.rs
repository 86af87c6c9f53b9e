//! Text encodings botocore applies: percent-encoding, base64, Python's float and JSON spelling.

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What botocore's `percent_encode` escapes: everything but RFC 3986's unreserved characters
/// `A-Za-z0-9-._~` (non-ASCII bytes included), as `%XX` with upper-case hex.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// [`UNRESERVED`], keeping `/` too.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes everything but the RFC 3986 unreserved characters (`A-Za-z0-9-._~`), as
/// botocore's `percent_encode` does for query strings, form bodies and URI labels.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// As [`percent_encode`], but keeps `/` (greedy URI labels such as S3's `{Key+}`, S3's
/// `x-amz-copy-source`).
pub fn percent_encode_path(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED_AND_SLASH).to_string()
}

/// Decodes `%XX` escapes (for the constant query of a request URI); bad escapes stay as written,
/// bytes that are not UTF-8 become U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A float as Python's `str()` spells it, with botocore's names for the special values:
/// `1.0`, `1.1`, `1e+16`, `1e-05`, `Infinity`, `-Infinity`, `NaN`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr: "-1.2345e3".
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = usize::try_from(exp).unwrap_or(0) + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
    out
}

/// Compact JSON with non-ASCII escaped as `\uXXXX`, as Python's `json.dumps(..., separators=(",", ":"))`.
pub(crate) fn json_ascii(value: &serde_json::Value) -> String {
    let s = value.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python() {
        for (f, s) in [
            (1.0, "1.0"),
            (1.1, "1.1"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (1234.5, "1234.5"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py_float(f), s);
        }
    }

    #[test]
    fn encodes() {
        assert_eq!(percent_encode("a b/c~"), "a%20b%2Fc~");
        assert_eq!(percent_encode_path("a b/c"), "a%20b/c");
        assert_eq!(percent_decode("a%20b%zz%"), "a b%zz%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%e2%82%ac%41%ff"), "\u{20ac}A\u{fffd}");
    }

    /// Every byte, against botocore's rule written out: unreserved (and `/` for paths) stay,
    /// everything else becomes `%XX` with upper-case hex.
    #[test]
    fn encodes_every_byte_as_botocore() {
        for b in 0..=127u8 {
            let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
            let want = |keep: bool| {
                if keep {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            };
            let s = char::from(b).to_string();
            assert_eq!(percent_encode(&s), want(keep), "byte {b}");
            assert_eq!(percent_encode_path(&s), want(keep || b == b'/'), "byte {b}");
        }
        assert_eq!(percent_encode("\u{e9}\u{20ac}"), "%C3%A9%E2%82%AC");
        assert_eq!(percent_encode_path("k\u{e9}y/a+b"), "k%C3%A9y/a%2Bb");
    }
}
