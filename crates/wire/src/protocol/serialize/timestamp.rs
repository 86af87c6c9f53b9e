//! Timestamps: read from what validation leaves (ISO 8601 or epoch text, epoch numbers) and
//! written in the three formats of the AWS protocols, at botocore's default precision.

use portcullis_cli::Value;

use super::SerializeError;

/// A wire format for timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// `2014-04-29T18:30:38Z`, with `.ffffffZ` when there are microseconds.
    Iso8601,
    /// `Tue, 29 Apr 2014 18:30:38 GMT` (HTTP date).
    Rfc822,
    /// Whole seconds since the epoch.
    UnixTimestamp,
}

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

/// An instant in UTC: seconds since the epoch and microseconds within the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub micros: u32,
}

/// 0001-01-01 and 9999-12-31T23:59:59, the range Python's datetime (and so botocore) accepts.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

impl Timestamp {
    /// From a parameter: epoch seconds (number or text), or ISO 8601 / RFC 822 text.
    /// Text without a zone is taken as UTC, as botocore does.
    pub fn from_value(value: &Value, path: &str) -> Result<Timestamp, SerializeError> {
        let bad = |v: String| SerializeError::InvalidTimestamp {
            path: path.to_string(),
            value: v,
        };
        let ts = match value {
            Value::Int(i) => Some(Timestamp {
                secs: *i,
                micros: 0,
            }),
            Value::Float(f) => Timestamp::from_epoch_f64(*f),
            Value::Str(s) => Timestamp::parse(s.trim()),
            other => return Err(bad(other.type_name().to_string())),
        };
        match ts {
            Some(t) if (MIN_SECS..=MAX_SECS).contains(&t.secs) => Ok(t),
            _ => Err(bad(match value {
                Value::Str(s) => s.clone(),
                other => format!("{other:?}"),
            })),
        }
    }

    fn from_epoch_f64(f: f64) -> Option<Timestamp> {
        if !f.is_finite() || f.abs() > 1e12 {
            return None;
        }
        // Rounded to the microsecond, as datetime.fromtimestamp does.
        let total = (f * 1e6).round() as i64;
        Some(Timestamp {
            secs: total.div_euclid(1_000_000),
            micros: u32::try_from(total.rem_euclid(1_000_000)).ok()?,
        })
    }

    fn parse(s: &str) -> Option<Timestamp> {
        if s.is_empty() {
            return None;
        }
        if s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
            && s.parse::<f64>().is_ok()
        {
            return Timestamp::from_epoch_f64(s.parse::<f64>().ok()?);
        }
        parse_iso8601(s).or_else(|| parse_rfc822(s))
    }

    pub fn format(&self, format: TimestampFormat) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
        match format {
            TimestampFormat::Iso8601 if self.micros > 0 => {
                format!(
                    "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
                    self.micros
                )
            }
            TimestampFormat::Iso8601 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
            TimestampFormat::UnixTimestamp => self.secs.to_string(),
            TimestampFormat::Rfc822 => {
                const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
                let wd = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
                let mon = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
                format!("{wd}, {d:02} {mon} {y:04} {hh:02}:{mm:02}:{ss:02} GMT")
            }
        }
    }

    /// Whole seconds only (botocore drops sub-second precision in headers).
    pub fn truncated(self) -> Timestamp {
        Timestamp {
            secs: self.secs,
            micros: 0,
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn make(
    (y, mo, d): (i64, i64, i64),
    (h, mi, s): (i64, i64, i64),
    micros: u32,
    offset: i64,
) -> Option<Timestamp> {
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // A leap second is folded onto the next second rather than refused.
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    Some(Timestamp { secs, micros })
}

/// A small cursor over ASCII text.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        s.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z|±HH[:MM]]`, also without separators (`20140429T183038Z`).
fn parse_iso8601(s: &str) -> Option<Timestamp> {
    let mut c = Cur {
        b: s.as_bytes(),
        i: 0,
    };
    let y = c.digits(4)?;
    let dash = c.eat(b'-');
    let mo = c.digits(2)?;
    if dash && !c.eat(b'-') {
        return None;
    }
    let d = c.digits(2)?;
    let (mut h, mut mi, mut sec, mut micros, mut offset) = (0, 0, 0, 0u32, 0);
    if c.eat(b'T') || c.eat(b't') || c.eat(b' ') {
        h = c.digits(2)?;
        let colon = c.eat(b':');
        mi = c.digits(2)?;
        if (colon && c.eat(b':')) || (!colon && c.peek().is_some_and(|b| b.is_ascii_digit())) {
            sec = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.i;
                while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                    c.i += 1;
                }
                let frac = s.get(start..c.i)?;
                if frac.is_empty() {
                    return None;
                }
                let mut padded: String = frac.chars().take(6).collect();
                while padded.len() < 6 {
                    padded.push('0');
                }
                micros = padded.parse().ok()?;
            }
        }
        match c.peek() {
            Some(b'Z' | b'z') => c.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                c.i += 1;
                let oh = c.digits(2)?;
                c.eat(b':');
                let om = if c.done() { 0 } else { c.digits(2)? };
                offset = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            }
            _ => {}
        }
    }
    if !c.done() {
        return None;
    }
    make((y, mo, d), (h, mi, sec), micros, offset)
}

/// `Tue, 29 Apr 2014 18:30:38 GMT` (the weekday is optional and not checked).
fn parse_rfc822(s: &str) -> Option<Timestamp> {
    let rest = match s.split_once(", ") {
        Some((_, r)) => r,
        None => s,
    };
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [d, mon, y, time, zone @ ..] = parts.as_slice() else {
        return None;
    };
    if !matches!(zone, [] | ["GMT" | "UTC" | "Z" | "+0000"]) {
        return None;
    }
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as i64 + 1;
    let t: Vec<&str> = time.split(':').collect();
    let [h, mi, sec] = t.as_slice() else {
        return None;
    };
    let num = |x: &str| {
        if x.bytes().all(|b| b.is_ascii_digit()) && !x.is_empty() && x.len() <= 4 {
            x.parse::<i64>().ok()
        } else {
            None
        }
    };
    make((num(y)?, mo, num(d)?), (num(h)?, num(mi)?, num(sec)?), 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::from_value(&Value::Str(s.into()), "t").unwrap_or(Timestamp {
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
