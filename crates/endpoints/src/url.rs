//! `parseURL`, as botocore computes it with Python's `urllib.parse.urlparse` (3.11): the same splitting, the same
//! cases rejected, and `normalizedPath` from botocore's dot-segment removal.
//!
//! `Ok(None)` is botocore's `None` (not http(s), a query, a bad port). Where botocore instead dies with a Python
//! exception (`urlparse` raising `Invalid IPv6 URL`, a bad bracketed host or NFKC tricks in the host; no host at
//! all, which its `isIp` check trips over) this is `Err`, and resolution fails rather than carrying on with the
//! rule set's fallback of using the text as it is.

use std::net::Ipv6Addr;
use std::rc::Rc;

use crate::functions::{is_ipv4_pattern, percent_encode};
use crate::value::{Text, Url};

/// Characters outside ASCII whose NFKC form contains `/`, `?`, `#`, `@` or `:`; Python refuses a host containing
/// one (computed from Python's `unicodedata`, Unicode 14).
const NFKC_DELIMITERS: [char; 19] = [
    '\u{2047}', '\u{2048}', '\u{2049}', '\u{2100}', '\u{2101}', '\u{2105}', '\u{2106}', '\u{2a74}',
    '\u{fe13}', '\u{fe16}', '\u{fe55}', '\u{fe56}', '\u{fe5f}', '\u{fe6b}', '\u{ff03}', '\u{ff0f}',
    '\u{ff1a}', '\u{ff1f}', '\u{ff20}',
];

pub(crate) fn parse_url<'a>(input: &Text<'a>) -> Result<Option<Url<'a>>, &'static str> {
    let raw = input.as_str();
    // urlsplit: strip leading C0 controls and spaces, then drop every tab, CR and LF.
    let start = raw.len() - raw.trim_start_matches(|c: char| c <= ' ').len();
    let src = if raw[start..].contains(['\t', '\r', '\n']) {
        Text::owned(
            raw[start..]
                .chars()
                .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
                .collect(),
        )
    } else {
        input.slice(start..raw.len()).ok_or("not a URL")?
    };
    let s = src.as_str();

    // Scheme: letters first, then letters, digits, `+`, `-`, `.` up to the first `:`.
    let mut rest = 0;
    let mut scheme = Text::Borrowed("");
    if let Some(colon) = s.find(':') {
        let candidate = &s[..colon];
        if candidate
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && candidate
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            scheme = if candidate.bytes().any(|b| b.is_ascii_uppercase()) {
                Text::owned(candidate.to_ascii_lowercase())
            } else {
                src.slice(0..colon).ok_or("not a URL")?
            };
            rest = colon + 1;
        }
    }

    let mut netloc = rest..rest;
    if s[rest..].starts_with("//") {
        let from = rest + 2;
        let to = s[from..]
            .find(['/', '?', '#'])
            .map_or(s.len(), |i| from + i);
        netloc = from..to;
        rest = to;
    }
    let host = &s[netloc.clone()];
    if host.contains('[') != host.contains(']') {
        return Err("Invalid IPv6 URL");
    }
    if host.contains('[') {
        let bracketed = host
            .split_once('[')
            .map(|(_, b)| b.split_once(']').map_or(b, |(h, _)| h))
            .unwrap_or_default();
        if !bracketed_host_ok(bracketed) {
            return Err("invalid bracketed host");
        }
    }
    let mut end = s[rest..].find('#').map_or(s.len(), |i| rest + i);
    let query_len = match s[rest..end].find('?') {
        Some(i) => {
            let q = end - (rest + i + 1);
            end = rest + i;
            q
        }
        None => 0,
    };
    if !host.is_ascii() && host.contains(NFKC_DELIMITERS) {
        return Err("host contains characters that NFKC turns into delimiters");
    }
    // botocore: the port must be an integer in range, only http(s), and no query.
    if !port_ok(host) || !matches!(scheme.as_str(), "http" | "https") || query_len > 0 {
        return Ok(None);
    }
    if host_and_port(host).0.is_empty() {
        return Err("URL has no host");
    }
    // urlparse splits `;params` off the last path segment for http(s).
    let path_str = &s[rest..end];
    if path_str.contains(';') {
        let cut = match path_str.rfind('/') {
            Some(slash) => path_str[slash..].find(';').map(|i| slash + i),
            None => path_str.find(';'),
        };
        if let Some(cut) = cut {
            end = rest + cut;
        }
    }
    let path = src.slice(rest..end).ok_or("not a URL")?;
    let normalized = normalized_path(path.as_str());
    let is_ip = host_is_ip(host, raw);
    Ok(Some(Url {
        scheme,
        authority: src.slice(netloc).ok_or("not a URL")?,
        normalized_path: match normalized {
            Some(n) => Text::Shared(Rc::from(n)),
            None => path.clone(),
        },
        path,
        is_ip,
    }))
}

/// `quote(normalize_url_path(path))` with a trailing `/`; `None` when that is the path itself.
fn normalized_path(path: &str) -> Option<String> {
    if path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && !path.split('/').any(|seg| seg == "." || seg == "..")
        && matches!(percent_encode(path, true), std::borrow::Cow::Borrowed(_))
    {
        return None;
    }
    let mut out = String::with_capacity(path.len() + 1);
    if path.is_empty() {
        out.push('/');
    } else {
        // RFC 3986 dot-segment removal, also dropping empty segments (botocore's `remove_dot_segments`).
        let mut kept: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    kept.pop();
                }
                _ => kept.push(seg),
            }
        }
        if path.starts_with('/') {
            out.push('/');
        }
        out.push_str(&kept.join("/"));
        if path.ends_with('/') && !kept.is_empty() {
            out.push('/');
        }
        out = percent_encode(&out, true).into_owned();
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    Some(out)
}

/// The host part of an authority as Python's `_hostinfo` splits it, and its port.
fn host_and_port(netloc: &str) -> (&str, &str) {
    let hostinfo = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    match hostinfo.split_once('[') {
        Some((_, bracketed)) => match bracketed.split_once(']') {
            Some((host, after)) => (host, after.split_once(':').map_or("", |(_, p)| p)),
            None => (bracketed, ""),
        },
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    }
}

fn port_ok(netloc: &str) -> bool {
    let (_, port) = host_and_port(netloc);
    port.is_empty()
        || (port.bytes().all(|b| b.is_ascii_digit())
            && port.trim_start_matches('0').len() <= 5
            && port.parse::<u32>().is_ok_and(|p| p <= 65535))
}

/// botocore's `isIp`: the host is an IPv4 pattern, or a bracketed IPv6 address (with optional zone).
fn host_is_ip(netloc: &str, raw: &str) -> bool {
    let (host, _) = host_and_port(netloc);
    if host.is_empty() {
        return false;
    }
    if is_ipv4_pattern(host) {
        return true;
    }
    let bracketed = netloc
        .rsplit_once('@')
        .map_or(netloc, |(_, h)| h)
        .contains('[');
    bracketed && !raw.contains(['\t', '\r', '\n']) && is_ipv6_with_zone(host)
}

/// urllib3's `IPV6_ADDRZ_RE` without the brackets.
fn is_ipv6_with_zone(host: &str) -> bool {
    let (addr, zone) = match host.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (host, None),
    };
    let zone_ok = zone.is_none_or(|z| {
        let b = z.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            } else if b[i].is_ascii_alphanumeric()
                || matches!(b[i], b'.' | b'_' | b'!' | b'-' | b'~')
            {
                i += 1;
            } else {
                return false;
            }
        }
        !b.is_empty()
    });
    zone_ok && is_ipv6_pattern(addr)
}

/// RFC 3986 `IPv6address` as urllib3's regex has it: hex groups of 1 to 4 digits, at most one `::`, and a final
/// dotted-quad of 1 to 3 digit runs (no range check) counting as two groups.
fn is_ipv6_pattern(addr: &str) -> bool {
    fn groups(part: &str, may_end_in_ipv4: bool) -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let pieces: Vec<&str> = part.split(':').collect();
        let mut n = 0;
        for (i, piece) in pieces.iter().enumerate() {
            let last = i + 1 == pieces.len();
            if last && may_end_in_ipv4 && piece.contains('.') {
                if !is_ipv4_pattern(piece) {
                    return None;
                }
                n += 2;
            } else if (1..=4).contains(&piece.len()) && piece.bytes().all(|b| b.is_ascii_hexdigit())
            {
                n += 1;
            } else {
                return None;
            }
        }
        Some(n)
    }
    match addr.split_once("::") {
        Some((left, right)) => {
            if right.contains("::") {
                return false;
            }
            match (groups(left, false), groups(right, true)) {
                (Some(l), Some(r)) => l + r <= 7,
                _ => false,
            }
        }
        None => groups(addr, true) == Some(8),
    }
}

/// Python 3.11's `_check_bracketed_host`: an IPvFuture literal, or an IPv6 address with an optional scope.
fn bracketed_host_ok(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('v') {
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        return hex > 0
            && rest[hex..]
                .strip_prefix('.')
                .is_some_and(|tail| !tail.is_empty());
    }
    let addr = match host.split_once('%') {
        Some((addr, scope)) if !scope.is_empty() && !scope.contains('%') => addr,
        Some(_) => return false,
        None => host,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> Option<(String, String, String, String, bool)> {
        let u = parse_url(&Text::Borrowed(url)).ok()??;
        Some((
            u.scheme.as_str().to_owned(),
            u.authority.as_str().to_owned(),
            u.path.as_str().to_owned(),
            u.normalized_path.as_str().to_owned(),
            u.is_ip,
        ))
    }

    #[test]
    fn like_botocore() {
        let p = |s: &str| parts(s);
        let t = |a: &str, b: &str, c: &str, d: &str, e: bool| {
            Some((a.into(), b.into(), c.into(), d.into(), e))
        };
        assert_eq!(
            p("https://example.com"),
            t("https", "example.com", "", "/", false)
        );
        assert_eq!(
            p("HTTPS://Example.com:443/a//b/../c"),
            t("https", "Example.com:443", "/a//b/../c", "/a/c/", false)
        );
        assert_eq!(
            p("http://1.2.3.4:80/x/"),
            t("http", "1.2.3.4:80", "/x/", "/x/", true)
        );
        assert_eq!(
            p("https://[::1]:8443"),
            t("https", "[::1]:8443", "", "/", true)
        );
        assert_eq!(
            p("https://[fe80::1%25en0]/"),
            t("https", "[fe80::1%25en0]", "/", "/", true)
        );
        assert_eq!(
            p("  http://a.com/p;x"),
            t("http", "a.com", "/p", "/p/", false)
        );
        assert_eq!(
            p("http://a.com/a b"),
            t("http", "a.com", "/a b", "/a%20b/", false)
        );
        assert_eq!(p("https://a.com/?"), t("https", "a.com", "/", "/", false));
        assert_eq!(p("https://a.com/?x=1"), None);
        assert_eq!(p("ftp://a.com"), None);
        assert_eq!(p("http://a.com:x"), None);
        assert_eq!(p("http://a.com:65536"), None);
        let raises = |s: &str| parse_url(&Text::Borrowed(s)).is_err();
        assert!(raises("http://[::1"));
        assert!(raises("http://[1.2.3.4]"));
        assert!(raises("http://a\u{ff0f}b.com"));
        assert!(raises("https:no-slash"));
        assert!(raises("https://user@:80"));
    }
}
