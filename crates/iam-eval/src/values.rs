//! Typed condition values: exact decimals, instants, CIDR blocks, base64 and booleans. Every
//! parser returns `None` on bad input (no panics, bounded work).

use std::cmp::Ordering;
use std::net::IpAddr;

/// An exact decimal number (`NumericEquals` and friends compare without rounding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    neg: bool,
    /// Significant digits, no leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// The value is `0.d1d2d3... × 10^point`.
    point: i64,
}

/// Exponents beyond this are refused (keeps arithmetic in range).
const MAX_EXP: i64 = 1_000_000_000;

impl Decimal {
    /// Parses `[+-]digits[.digits][e[+-]digits]` (digits on at least one side of the point).
    pub(crate) fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int = &b[int_start..i];
        let mut frac: &[u8] = &[];
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fs = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac = &b[fs..i];
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let es = i;
            while i < b.len() && b[i].is_ascii_digit() {
                exp = exp.checked_mul(10)?.checked_add(i64::from(b[i] - b'0'))?;
                if exp > MAX_EXP {
                    return None;
                }
                i += 1;
            }
            if es == i {
                return None;
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return None;
        }
        let all: Vec<u8> = int.iter().chain(frac).map(|d| d - b'0').collect();
        let lead = all.iter().take_while(|&&d| d == 0).count();
        let trail = all.iter().rev().take_while(|&&d| d == 0).count();
        if lead == all.len() {
            return Some(Decimal {
                neg: false,
                digits: Vec::new(),
                point: 0,
            });
        }
        let digits = all[lead..all.len() - trail].to_vec();
        let int_len = i64::try_from(int.len()).ok()?;
        let lead = i64::try_from(lead).ok()?;
        Some(Decimal {
            neg,
            digits,
            point: int_len - lead + exp,
        })
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self
                .point
                .cmp(&other.point)
                .then_with(|| self.digits.cmp(&other.digits)),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero_a = self.digits.is_empty();
        let zero_b = other.digits.is_empty();
        let neg_a = self.neg && !zero_a;
        let neg_b = other.neg && !zero_b;
        match (neg_a, neg_b) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub(crate) type Instant = i128;

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A fixed-width run of ASCII digits at `b[at..at + n]`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Parses a date: epoch seconds (`1700000000`, `1700000000.25`) or a W3C ISO 8601 profile
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]]` with `Z`, `±hh:mm`, `±hhmm`
/// or no zone meaning UTC; also the basic form `YYYYMMDDThhmmssZ`). A string of digits alone is
/// read as epoch seconds.
pub(crate) fn parse_date(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (num, rest) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let epochish = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    let signed = num.strip_prefix(b"-").unwrap_or(num);
    if epochish(signed) && rest.is_none_or(epochish) {
        if signed.len() > 18 {
            return None;
        }
        let secs: i128 = std::str::from_utf8(num).ok()?.parse().ok()?;
        let frac = rest.map_or(0, frac_nanos);
        let nanos = if secs < 0 || num.first() == Some(&b'-') {
            secs * 1_000_000_000 - frac
        } else {
            secs * 1_000_000_000 + frac
        };
        return Some(nanos);
    }
    parse_iso(b)
}

/// Nanoseconds from fraction digits (extra digits beyond nine are dropped).
fn frac_nanos(f: &[u8]) -> i128 {
    let mut n: i128 = 0;
    for i in 0..9 {
        n = n * 10 + f.get(i).map_or(0, |d| i128::from(d - b'0'));
    }
    n
}

fn parse_iso(b: &[u8]) -> Option<Instant> {
    let year = digits(b, 0, 4)?;
    let mut i = 4;
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut min, mut sec, mut nanos) = (0i64, 0i64, 0i64, 0i128);
    let basic = b.len() >= 8 && b[4].is_ascii_digit();
    if basic {
        month = digits(b, 4, 2)?;
        day = digits(b, 6, 2)?;
        i = 8;
        if b.get(i) == Some(&b'T') {
            hour = digits(b, 9, 2)?;
            min = digits(b, 11, 2)?;
            i = 13;
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                sec = digits(b, 13, 2)?;
                i = 15;
            }
        }
    } else if b.get(i) == Some(&b'-') {
        month = digits(b, 5, 2)?;
        i = 7;
        if b.get(i) == Some(&b'-') {
            day = digits(b, 8, 2)?;
            i = 10;
            if matches!(b.get(i), Some(b'T') | Some(b't')) {
                hour = digits(b, 11, 2)?;
                if b.get(13) != Some(&b':') {
                    return None;
                }
                min = digits(b, 14, 2)?;
                i = 16;
                if b.get(i) == Some(&b':') {
                    sec = digits(b, 17, 2)?;
                    i = 19;
                }
            }
        }
    }
    if i >= 13 && b.get(i) == Some(&b'.') {
        let fs = i + 1;
        let mut j = fs;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == fs {
            return None;
        }
        nanos = frac_nanos(&b[fs..j]);
        i = j;
    }
    let mut offset_min = 0i64;
    match b.get(i) {
        None => {}
        Some(b'Z') | Some(b'z') if i + 1 == b.len() && i >= 13 => {}
        Some(&sign @ (b'+' | b'-')) if i >= 13 => {
            let oh = digits(b, i + 1, 2)?;
            let om = match b.len() - (i + 3) {
                0 => 0,
                3 if b[i + 3] == b':' => digits(b, i + 4, 2)?,
                2 => digits(b, i + 3, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            offset_min = (oh * 60 + om) * if sign == b'+' { 1 } else { -1 };
        }
        _ => return None,
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 24
        || min > 59
        || sec > 60
        || (hour == 24 && (min != 0 || sec != 0 || nanos != 0))
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_min * 60;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// An IPv4 or IPv6 block (`203.0.113.0/24`, `2001:DB8:1234:5678::/64`; no prefix = one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses a block; `None` for a bad address or prefix length.
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&n| n <= max)?
            }
            Some(_) => return None,
        };
        Some(Cidr { addr, prefix })
    }

    /// True if `ip` is in the block (an IPv4 address is never in an IPv6 block and vice versa).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Decodes standard base64 (padding optional); `None` on any other character.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover sextet cannot encode a byte.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// `true` / `false`, any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn decimals() {
        assert_eq!(d("10"), d("10.0"));
        assert_eq!(d("10"), d("1e1"));
        assert_eq!(d("0"), d("-0.000"));
        assert_eq!(d(".5"), d("0.50"));
        assert!(d("9") < d("10"));
        assert!(d("-10") < d("-9"));
        assert!(d("0.1") < d("0.11"));
        assert!(d("3600") > d("3599.999"));
        assert!(d("9007199254740993") > d("9007199254740992"));
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1e+",
            "0x10",
            " 1",
            "1 ",
            "1e99999999999",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        let t = parse_date("2020-01-01T00:00:01Z").unwrap();
        assert_eq!(t, 1_577_836_801 * 1_000_000_000);
        assert_eq!(parse_date("1577836801"), Some(t));
        assert_eq!(parse_date("2020-01-01T01:00:01+01:00"), Some(t));
        assert_eq!(parse_date("2020-01-01T00:00:01"), Some(t));
        assert_eq!(parse_date("20200101T000001Z"), Some(t));
        assert_eq!(
            parse_date("2020-01-01"),
            Some(1_577_836_800 * 1_000_000_000)
        );
        assert_eq!(parse_date("2020-01"), parse_date("2020-01-01"));
        assert_eq!(parse_date("2020-01-01T00:00:01.5Z"), Some(t + 500_000_000));
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("2024-02-29"), parse_date("2024-02-29T00:00Z"));
        for bad in [
            "",
            "2023-02-29",
            "2020-13-01",
            "2020-01-01T25:00Z",
            "2020-01-01T00:00:00ZZ",
            "2020-1-1",
            "yesterday",
            "2020-01-01T00",
            "9999999999999999999999",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.7".parse().unwrap()));
        assert!(!c.contains("203.0.114.7".parse().unwrap()));
        let c = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(c.contains("2001:db8:1234:5678::1".parse().unwrap()));
        assert!(!c.contains("2001:db8:1234:5679::1".parse().unwrap()));
        assert!(!c.contains("203.0.113.7".parse().unwrap()));
        let c = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(c.contains("8.8.8.8".parse().unwrap()));
        let c = Cidr::parse("10.0.0.1").unwrap();
        assert!(c.contains("10.0.0.1".parse().unwrap()));
        assert!(!c.contains("10.0.0.2".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/",
            "::/129",
            "10.0.0/8",
            "x/1",
            "1.2.3.4/+1",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("QmluYXJ5VmFsdWVJbkJhc2U2NA==").unwrap(),
            b"BinaryValueInBase64"
        );
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("Q").is_none());
        assert!(base64_decode("a b").is_none());
    }
}
