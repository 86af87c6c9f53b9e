//! Scalars from text (XML character data and HTTP header values), and the value forms shared by
//! every protocol: blobs as base64, floats with their special values, timestamps.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use portcullis_model::ShapeType;
use serde_json::{Number, Value};

use super::member::Target;
use super::{Ctx, ParseError};
use crate::protocol::timestamp::Timestamp as Instant;

/// Where the text came from: headers read booleans case-insensitively and may carry JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Xml,
    Header,
}

/// Accepts padded and unpadded input, as services are not consistent.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes base64 text, ignoring whitespace.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, ParseError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT
        .decode(compact.as_bytes())
        .map_err(|e| ParseError::Malformed(format!("invalid base64 blob: {e}")))
}

/// A blob as it is printed: base64 of its bytes.
pub(crate) fn blob_value(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A blob arriving as base64 text: validated and re-encoded canonically.
pub(crate) fn blob_from_base64(text: &str) -> Result<Value, ParseError> {
    Ok(blob_value(&decode_base64(text)?))
}

/// Floats as botocore prints them; NaN and infinities keep their textual names.
pub(crate) fn float_value(f: f64) -> Value {
    if f.is_nan() {
        Value::String("NaN".into())
    } else if f.is_infinite() {
        Value::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

pub(crate) fn float_from_text(text: &str) -> Result<Value, ParseError> {
    text.trim()
        .parse::<f64>()
        .map(float_value)
        .map_err(|_| ParseError::Malformed(format!("`{}` is not a number", shorten(text))))
}

pub(crate) fn integer_from_text(text: &str) -> Result<Value, ParseError> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(u) = t.parse::<u64>() {
        return Ok(Value::from(u));
    }
    Err(ParseError::Malformed(format!(
        "`{}` is not an integer",
        shorten(text)
    )))
}

pub(crate) fn timestamp_from_text(ctx: Ctx<'_>, text: &str) -> Result<Value, ParseError> {
    Instant::parse(text)
        .map(|i| i.render(ctx.opts.timestamps))
        .ok_or_else(|| ParseError::Malformed(format!("`{}` is not a timestamp", shorten(text))))
}

/// A scalar shape's value from its text form.
pub(crate) fn from_text(
    ctx: Ctx<'_>,
    t: Target<'_>,
    text: &str,
    src: Source,
) -> Result<Value, ParseError> {
    match t.kind() {
        ShapeType::String if src == Source::Header && t.jsonvalue() => {
            let raw = decode_base64(text)?;
            serde_json::from_slice(&raw).map_err(|e| {
                ParseError::Malformed(format!("invalid JSON in a jsonvalue header: {e}"))
            })
        }
        ShapeType::String => Ok(Value::String(text.to_string())),
        ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => integer_from_text(text),
        ShapeType::Boolean => Ok(Value::Bool(match src {
            Source::Xml => text == "true",
            Source::Header => text.trim().eq_ignore_ascii_case("true"),
        })),
        ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => float_from_text(text),
        ShapeType::Timestamp => timestamp_from_text(ctx, text),
        ShapeType::Blob => blob_from_base64(text),
        ShapeType::Structure | ShapeType::List | ShapeType::Map => Err(ParseError::Malformed(
            format!("a {} cannot be read from text", t.kind().as_str()),
        )),
    }
}

/// Keeps error messages bounded whatever the network sent.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
