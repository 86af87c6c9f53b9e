//! Small encodings the record format needs: SHA-256 in lowercase hex (the `hex` crate), and
//! RFC 3339 UTC timestamps with milliseconds.
//!
//! The timestamps stay our own rather than the `time` crate's, on purpose:
//! * [`parse_rfc3339_ms`] reads what `audit show --since/--until` have always accepted: a bare
//!   date, minutes without seconds, and any number of fraction digits. `time`'s RFC 3339 parser
//!   refuses the first two, so using it would change the command line.
//! * [`format_rfc3339_ms`] writes exactly what `time` writes with
//!   `[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z` for every instant in
//!   the years 0000–9999 (checked over two million instants), but it is total: `time` fails past
//!   9999, where this still writes a date. Switching would add a dependency and an error path to
//!   save a dozen lines, while the parser keeps the calendar arithmetic anyway.
//!
//! Neither depends on a locale or a time zone database.

use sha2::{Digest, Sha256};

pub(crate) fn is_lower_hex(text: &[u8], len: usize) -> bool {
    text.len() == len && text.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

// Howard Hinnant's civil-from-days and days-from-civil (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-24T07:57:22.123Z` for milliseconds since the epoch.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

fn digits(text: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = text.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`, `T` or space) or a bare date
/// (`YYYY-MM-DD`, midnight UTC) into milliseconds since the epoch.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let day_ms = days_from_civil(i64::from(y), m, d) * 86_400_000;
    if b.len() == 10 {
        return Some(day_ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, min) = (digits(b, 11, 2)?, digits(b, 14, 2)?);
    let mut at = 16;
    let mut sec = 0;
    if b.get(16) == Some(&b':') {
        sec = digits(b, 17, 2)?;
        at = 19;
    }
    if h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut milli = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                milli = milli * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..3 {
            milli *= 10;
        }
    }
    let offset_min: i64 = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() && b[at + 3] == b':' => {
            let off = i64::from(digits(b, at + 1, 2)? * 60 + digits(b, at + 4, 2)?);
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    Some(
        day_ms
            + i64::from(h) * 3_600_000
            + i64::from(min) * 60_000
            + i64::from(sec) * 1000
            + i64::from(milli)
            - offset_min * 60_000,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_times() {
        for ms in [
            0,
            1,
            951_782_400_123,
            1_795_507_042_123,
            -86_400_001,
            4_102_444_800_000,
        ] {
            let text = format_rfc3339_ms(ms);
            assert_eq!(parse_rfc3339_ms(&text), Some(ms), "{text}");
        }
        assert_eq!(
            format_rfc3339_ms(1_795_507_042_123),
            "2026-11-24T07:57:22.123Z"
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-24T09:57:22.1+02:00"),
            Some(1_795_507_042_100)
        );
        assert_eq!(parse_rfc3339_ms("2026-11-24"), Some(1_795_478_400_000));
        assert_eq!(
            parse_rfc3339_ms("2026-11-24T07:57Z"),
            Some(1_795_507_020_000)
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-11-24T25:00Z",
            "2026-11-24T07:57:22",
            "x026-11-24",
            "2026-11-24T07:57:22.Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lowercase_and_reads_either_case() {
        // What the record format relies on from the `hex` crate.
        assert_eq!(hex::encode([0, 15, 255]), "000fff");
        assert_eq!(hex::decode("000fFF").ok(), Some(vec![0, 15, 255]));
        assert!(hex::decode("0g").is_err());
        assert!(hex::decode("abc").is_err());
        assert!(is_lower_hex(b"00ff", 4) && !is_lower_hex(b"00FF", 4) && !is_lower_hex(b"00f", 4));
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
