//! Timestamps: read from what validation leaves (ISO 8601 or epoch text, epoch numbers) and
//! written in the three formats of the AWS protocols, at botocore's default precision.

use portcullis_cli::Value;

use super::SerializeError;
pub use crate::protocol::timestamp::{Timestamp, TimestampFormat};

impl TimestampFormat {
    /// From a model's `timestampFormat` (case-insensitive, as botocore).
    pub fn parse(s: &str) -> Result<TimestampFormat, SerializeError> {
        match s.to_ascii_lowercase().as_str() {
            "iso8601" => Ok(TimestampFormat::Iso8601),
            "rfc822" => Ok(TimestampFormat::Rfc822),
            "unixtimestamp" => Ok(TimestampFormat::UnixTimestamp),
            _ => Err(SerializeError::UnknownTimestampFormat(s.to_string())),
        }
    }
}

/// From a parameter: epoch seconds (number or text), or ISO 8601 / RFC 822 text.
/// Text without a zone is taken as UTC, as botocore does.
pub(crate) fn from_param(value: &Value, path: &str) -> Result<Timestamp, SerializeError> {
    let bad = |v: String| SerializeError::InvalidTimestamp {
        path: path.to_string(),
        value: v,
    };
    let ts = match value {
        Value::Int(i) => Timestamp::parse(&i.to_string()),
        Value::Float(f) => Timestamp::from_epoch_f64(*f),
        Value::Str(s) => Timestamp::parse(s.trim()),
        other => return Err(bad(other.type_name().to_string())),
    };
    match ts {
        Some(t) => Ok(t),
        _ => Err(bad(match value {
            Value::Str(s) => s.clone(),
            other => format!("{other:?}"),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        from_param(&Value::Str(s.into()), "t").unwrap_or(Timestamp {
            secs: i64::MIN,
            micros: 0,
        })
    }

    #[test]
    fn formats() {
        let t = Timestamp {
            secs: 1_398_796_238,
            micros: 0,
        };
        assert_eq!(t.format(TimestampFormat::Iso8601), "2014-04-29T18:30:38Z");
        assert_eq!(
            t.format(TimestampFormat::Rfc822),
            "Tue, 29 Apr 2014 18:30:38 GMT"
        );
        assert_eq!(t.format(TimestampFormat::UnixTimestamp), "1398796238");
        let t = Timestamp {
            secs: 946_845_296,
            micros: 120_000,
        };
        assert_eq!(
            t.format(TimestampFormat::Iso8601),
            "2000-01-02T20:34:56.120000Z"
        );
        assert_eq!(
            Timestamp { secs: 0, micros: 0 }.format(TimestampFormat::Rfc822),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn parses() {
        assert_eq!(ts("2014-04-29T18:30:38Z").secs, 1_398_796_238);
        assert_eq!(ts("2014-04-29T20:30:38+02:00").secs, 1_398_796_238);
        assert_eq!(ts("2014-04-29 18:30:38").secs, 1_398_796_238);
        assert_eq!(ts("1398796238").secs, 1_398_796_238);
        assert_eq!(ts("Tue, 29 Apr 2014 18:30:38 GMT").secs, 1_398_796_238);
        assert_eq!(ts("2014-04-29T18:30:38.5Z").micros, 500_000);
        assert_eq!(ts("2014-02-30T00:00:00Z").secs, i64::MIN);
        assert_eq!(ts("").secs, i64::MIN);
        assert_eq!(ts("99999999999999999999").secs, i64::MIN);
    }
}
