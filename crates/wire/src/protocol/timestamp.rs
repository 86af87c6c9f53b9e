//! Timestamps, shared by both directions: read leniently like botocore's `parse_timestamp` (epoch
//! seconds with or without a fraction, ISO 8601, RFC 822 / RFC 850 / asctime HTTP dates), written
//! in the protocols' three wire formats, and rendered as AWS CLI v2 prints them.

use serde_json::{Number, Value};

use super::parse::TimestampStyle;

/// A point in time, UTC, at microsecond precision (Python's `datetime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub micros: u32,
}

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

/// `0001-01-01T00:00:00` and `9999-12-31T23:59:59`: Python's datetime range.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

impl Timestamp {
    fn new(secs: i64, micros: u32) -> Option<Timestamp> {
        (MIN_SECS..=MAX_SECS)
            .contains(&secs)
            .then_some(Timestamp { secs, micros })
    }

    pub fn from_epoch_f64(v: f64) -> Option<Timestamp> {
        if !v.is_finite() {
            return None;
        }
        let whole = v.floor();
        // Python rounds to the nearest microsecond, ties to even.
        let mut micros = ((v - whole) * 1e6).round_ties_even();
        let mut secs = whole;
        if micros >= 1e6 {
            micros -= 1e6;
            secs += 1.0;
        }
        if !(MIN_SECS as f64..=MAX_SECS as f64).contains(&secs) {
            return None;
        }
        Timestamp::new(secs as i64, micros as u32)
    }

    pub fn from_epoch_number(n: &Number) -> Option<Timestamp> {
        match n.as_i64() {
            Some(i) => Timestamp::new(i, 0),
            None => Timestamp::from_epoch_f64(n.as_f64()?),
        }
    }

    /// Any textual form: an epoch number, ISO 8601 or an HTTP date.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Timestamp::new(i, 0);
        }
        if t.bytes().all(|b| {
            b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+' || b == b'e' || b == b'E'
        }) && let Ok(f) = t.parse::<f64>()
        {
            return Timestamp::from_epoch_f64(f);
        }
        iso8601(t).or_else(|| http_date(t))
    }

    pub fn render(self, style: TimestampStyle) -> Value {
        match style {
            TimestampStyle::EpochSeconds => {
                if self.micros == 0 {
                    Value::from(self.secs)
                } else {
                    Number::from_f64(self.secs as f64 + f64::from(self.micros) / 1e6)
                        .map_or(Value::from(self.secs), Value::Number)
                }
            }
            TimestampStyle::Iso8601 => Value::String(self.iso8601()),
        }
    }

    /// The wire form of this instant in `format`, at botocore's precision.
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
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let wd = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
                let mon = MONTHS[usize::try_from(m).unwrap_or(1).saturating_sub(1).min(11)];
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

    /// Python's `datetime.isoformat()` of a UTC-aware datetime.
    pub fn iso8601(self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if self.micros == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
        } else {
            format!(
                "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}+00:00",
                self.micros
            )
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Builds an instant from fields, `offset` seconds east of UTC.
fn assemble(
    (y, mo, d): (i64, u32, u32),
    (h, mi, s): (u32, u32, u32),
    micros: u32,
    offset: i64,
) -> Option<Timestamp> {
    if !(1..=9999).contains(&y) || !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 24 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(s)
        - offset;
    Timestamp::new(secs, micros)
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Fraction digits to microseconds, truncating like dateutil.
fn fraction(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut six: String = s.chars().take(6).collect();
    while six.len() < 6 {
        six.push('0');
    }
    six.parse().ok()
}

/// `Z`, `+HH:MM`, `+HHMM`, `+HH`, `GMT`, `UTC` → seconds east of UTC.
fn zone(s: &str) -> Option<i64> {
    match s {
        "" | "Z" | "z" | "GMT" | "UTC" | "UT" => return Some(0),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let rest = rest.replace(':', "");
    let (h, m) = match rest.len() {
        2 => (digits(&rest)?, 0),
        4 => (digits(rest.get(..2)?)?, digits(rest.get(2..)?)?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (i64::from(h) * 3600 + i64::from(m) * 60))
}

/// ISO 8601: `2014-04-29T18:30:38.123Z`, with offsets, a space for `T`, basic format, or a
/// date alone.
fn iso8601(t: &str) -> Option<Timestamp> {
    let (date, time) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let (y, mo, d) = if date.len() == 10
        && date.as_bytes().get(4) == Some(&b'-')
        && date.as_bytes().get(7) == Some(&b'-')
    {
        (
            digits(date.get(..4)?)?,
            digits(date.get(5..7)?)?,
            digits(date.get(8..)?)?,
        )
    } else if date.len() == 8 {
        (
            digits(date.get(..4)?)?,
            digits(date.get(4..6)?)?,
            digits(date.get(6..)?)?,
        )
    } else {
        return None;
    };
    if time.is_empty() {
        return assemble((i64::from(y), mo, d), (0, 0, 0), 0, 0);
    }
    let zpos = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, tz) = time.split_at(zpos);
    let offset = zone(tz.trim())?;
    let (clock, frac) = match clock.find(['.', ',']) {
        Some(i) => (&clock[..i], fraction(&clock[i + 1..])?),
        None => (clock, 0),
    };
    let parts: Vec<&str> = if clock.contains(':') {
        clock.split(':').collect()
    } else {
        // Basic format: HHMMSS / HHMM.
        let b = clock;
        match b.len() {
            6 => vec![b.get(..2)?, b.get(2..4)?, b.get(4..)?],
            4 => vec![b.get(..2)?, b.get(2..)?],
            2 => vec![b],
            _ => return None,
        }
    };
    let h = digits(parts.first()?)?;
    let mi = parts.get(1).map_or(Some(0), |p| digits(p))?;
    let s = parts.get(2).map_or(Some(0), |p| digits(p))?;
    if parts.len() > 3 {
        return None;
    }
    assemble((i64::from(y), mo, d), (h, mi, s), frac, offset)
}

fn month(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = s.to_ascii_lowercase();
    let key = lower.get(..3)?;
    MONTHS.iter().position(|m| *m == key).map(|i| i as u32 + 1)
}

fn is_weekday(s: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = s.to_ascii_lowercase();
    lower.get(..3).is_some_and(|k| DAYS.contains(&k))
        && lower.bytes().all(|b| b.is_ascii_alphabetic())
}

fn full_year(y: u32, len: usize) -> i64 {
    if len <= 2 {
        // Two-digit years (RFC 850): the nearest century, as dateutil does.
        if y < 50 {
            2000 + i64::from(y)
        } else {
            1900 + i64::from(y)
        }
    } else {
        i64::from(y)
    }
}

/// RFC 822/1123 (`Tue, 29 Apr 2014 18:30:38 GMT`), RFC 850 (`Tuesday, 29-Apr-14 18:30:38 GMT`)
/// and asctime (`Tue Apr 29 18:30:38 2014`).
fn http_date(t: &str) -> Option<Timestamp> {
    let (mut y, mut mo, mut d) = (None, None, None);
    let (mut h, mut mi, mut s, mut micros) = (None, 0, 0, 0);
    let mut offset = 0;
    for tok in t.split([' ', ',', '\t']).filter(|p| !p.is_empty()) {
        if is_weekday(tok) {
            continue;
        }
        if tok.contains(':')
            && h.is_none()
            && tok.as_bytes().first().is_some_and(u8::is_ascii_digit)
        {
            let (clock, frac) = match tok.find('.') {
                Some(i) => (&tok[..i], fraction(&tok[i + 1..])?),
                None => (tok, 0),
            };
            let mut it = clock.split(':');
            h = Some(digits(it.next()?)?);
            mi = it.next().map_or(Some(0), digits)?;
            s = it.next().map_or(Some(0), digits)?;
            micros = frac;
            continue;
        }
        if let Some(m) = month(tok).filter(|_| tok.bytes().all(|b| b.is_ascii_alphabetic())) {
            mo = Some(m);
            continue;
        }
        if tok.contains('-') && tok.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            // 29-Apr-14
            let mut it = tok.split('-');
            d = Some(digits(it.next()?)?);
            mo = Some(month(it.next()?)?);
            let ys = it.next()?;
            y = Some(full_year(digits(ys)?, ys.len()));
            continue;
        }
        if let Some(n) = digits(tok) {
            if d.is_none() && tok.len() <= 2 {
                d = Some(n);
            } else if y.is_none() {
                y = Some(full_year(n, tok.len()));
            } else {
                return None;
            }
            continue;
        }
        offset = zone(tok)?;
    }
    assemble((y?, mo?, d?), (h.unwrap_or(0), mi, s), micros, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        Timestamp::parse(s)
            .map(Timestamp::iso8601)
            .unwrap_or_default()
    }

    #[test]
    fn formats() {
        assert_eq!(iso("1398796238"), "2014-04-29T18:30:38+00:00");
        assert_eq!(iso("1398796238.123"), "2014-04-29T18:30:38.123000+00:00");
        assert_eq!(iso("2014-04-29T18:30:38Z"), "2014-04-29T18:30:38+00:00");
        assert_eq!(
            iso("2014-04-29T18:30:38.123456789Z"),
            "2014-04-29T18:30:38.123456+00:00"
        );
        assert_eq!(
            iso("2014-04-29T20:30:38+02:00"),
            "2014-04-29T18:30:38+00:00"
        );
        assert_eq!(
            iso("Tue, 29 Apr 2014 18:30:38 GMT"),
            "2014-04-29T18:30:38+00:00"
        );
        assert_eq!(
            iso("Tuesday, 29-Apr-14 18:30:38 GMT"),
            "2014-04-29T18:30:38+00:00"
        );
        assert_eq!(iso("Tue Apr 29 18:30:38 2014"), "2014-04-29T18:30:38+00:00");
        assert_eq!(iso("-1"), "1969-12-31T23:59:59+00:00");
        assert_eq!(iso("garbage"), "");
        assert_eq!(iso("99999999999999"), "");
    }
}
