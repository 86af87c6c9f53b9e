//! Facts about network addresses that both the policy (which reads `--endpoint-url` as text) and
//! the engine (which checks every address it connects to) must agree on: the addresses that are
//! never an endpoint, loopback and private ranges, and how `getaddrinfo` reads a numeric host.
//! Pure functions, no I/O, no dependencies.
//!
//! # Brief overview
//!
//! An internal crate of Portcullis, shared so that the policy and the engine cannot disagree; it
//! has no Portcullis-specific types, so another project could use it alone, but its API follows
//! what those two callers need and is not kept stable for others.
//!
//! * [`forbidden`] says why an address is never connected to ([`Forbidden`]: instance metadata,
//!   link-local, unspecified, multicast, broadcast; also when embedded in an IPv6 address, see
//!   [`embedded_v4`]); [`is_loopback`], [`is_private`] and [`is_localhost_name`] classify the rest.
//! * [`literal_ip`] and [`inet_aton`] read a host the way `getaddrinfo` does (decimal, hex,
//!   octal and short IPv4 forms), so `0xA9FEA9FE` is recognised as the metadata address.
//! * [`wildcard`] is the project's one `*` matcher, used by the policy's patterns, the engine's
//!   endpoint allow-list and `audit show`'s principal filter, so that all of them read a pattern
//!   the same way. (It lives here because this is the one leaf crate they all can depend on.)
//!
//! ```
//! use portcullis_netaddr::{Forbidden, forbidden, literal_ip, wildcard};
//!
//! let ip = literal_ip("0xA9FEA9FE").unwrap(); // 169.254.169.254, as getaddrinfo reads it
//! assert_eq!(forbidden(ip), Some(Forbidden::InstanceMetadata));
//! assert!(wildcard(b"*.example.com", b"api.example.com", |a, b| a == b));
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The AWS instance metadata service (IPv4).
pub const IMDS_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// The AWS instance metadata service (IPv6, Nitro instances).
pub const IMDS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Why an address is never connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// 169.254.169.254 or fd00:ec2::254 (in any IPv6 form that embeds it).
    InstanceMetadata,
    /// fd00:ec2::/32 other than the metadata address: the instance's DNS, time and other services.
    AwsInstanceServices,
    /// 169.254.0.0/16 or fe80::/10 (ECS task credentials live at 169.254.170.2).
    LinkLocal,
    /// 0.0.0.0/8 or `::` (Linux connects those to the local host).
    Unspecified,
    /// 224.0.0.0/4 or ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// A `localhost` name that resolved to an address that is not loopback.
    LocalhostNotLoopback,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Forbidden::InstanceMetadata => "the instance metadata service",
            Forbidden::AwsInstanceServices => "an AWS instance service address (fd00:ec2::/32)",
            Forbidden::LinkLocal => "a link-local address",
            Forbidden::Unspecified => "an unspecified address",
            Forbidden::Multicast => "a multicast address",
            Forbidden::Broadcast => "the broadcast address",
            Forbidden::LocalhostNotLoopback => {
                "not a loopback address, though the name is `localhost`"
            }
        })
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<Forbidden> {
    let o = v4.octets();
    if v4 == IMDS_V4 {
        Some(Forbidden::InstanceMetadata)
    } else if v4.is_link_local() {
        Some(Forbidden::LinkLocal)
    } else if o[0] == 0 {
        Some(Forbidden::Unspecified)
    } else if v4.is_multicast() {
        Some(Forbidden::Multicast)
    } else if v4.is_broadcast() {
        Some(Forbidden::Broadcast)
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address carries, in the forms a connection could reach it through:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), NAT64's well-known
/// prefix (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`).
pub fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(tail);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Why `ip` is never connected to, or `None` when it may be.
pub fn forbidden(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6 == IMDS_V6 {
                Some(Forbidden::InstanceMetadata)
            } else if s[0] == 0xfd00 && s[1] == 0x0ec2 {
                Some(Forbidden::AwsInstanceServices)
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some(Forbidden::LinkLocal)
            } else if v6.is_unspecified() {
                Some(Forbidden::Unspecified)
            } else if v6.is_multicast() {
                Some(Forbidden::Multicast)
            } else {
                embedded_v4(v6).and_then(forbidden_v4)
            }
        }
    }
}

/// Loopback: 127.0.0.0/8, `::1`, and IPv4-mapped loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Private ranges: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7, and
/// their IPv4-mapped forms.
pub fn is_private(ip: IpAddr) -> bool {
    let v4 =
        |v4: Ipv4Addr| v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64);
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xfe00) == 0xfc00 || v6.to_ipv4_mapped().is_some_and(v4)
        }
    }
}

/// Names that must resolve to loopback: `localhost` and `*.localhost` (RFC 6761).
pub fn is_localhost_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// The address a URL host stands for without DNS: a bracketed or bare IPv6 address, a dotted
/// IPv4 address, or any other IPv4 spelling `inet_aton` (so `getaddrinfo`) accepts — one to four
/// parts, each decimal, octal (`0` prefix) or hex (`0x`), the last filling the remaining bytes
/// (`2852039166`, `0xA9FEA9FE`, `0251.0376.0251.0376`, `169.254.43518`), with an optional
/// trailing dot.
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    inet_aton(bare.strip_suffix('.').unwrap_or(bare)).map(IpAddr::V4)
}

/// `inet_aton`'s reading of an IPv4 host (what `getaddrinfo` connects to): one to four parts,
/// each decimal, octal (`0` prefix) or hex (`0x`), the last filling the remaining bytes.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        // `0x` alone is 0 for inet_aton; an empty part otherwise is not a number.
        let n = if digits.is_empty() && radix == 16 {
            0
        } else {
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            u64::from_str_radix(digits, radix).ok()?
        };
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|&n| n > 255) || *last >= 1u64 << (8 * (4 - head.len())) {
        return None;
    }
    let mut value: u64 = *last;
    for (i, &n) in head.iter().enumerate() {
        value |= n << (8 * (3 - i));
    }
    Some(Ipv4Addr::from(value as u32))
}

/// The `*` matching shared by policy patterns (commands, IAM actions, names, endpoint hosts), the
/// engine's endpoint allow-list and `audit show --principal`, so that every side reads a pattern
/// the same way. Does `text` match `pattern`, where `*` matches any run of bytes (none included)
/// and every other byte matches itself as `eq` compares single bytes? Iterative, no recursion:
/// at most `pattern.len() × text.len()` steps, so no input can make it slow or panic.
pub fn wildcard(pattern: &[u8], text: &[u8], eq: impl Fn(u8, u8) -> bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern, and where in the text it started matching.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if eq(c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry from there.
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_spellings() {
        let imds = Some(Ipv4Addr::new(169, 254, 169, 254));
        for s in [
            "2852039166",
            "0xA9FEA9FE",
            "0xa9fea9fe",
            "0251.0376.0251.0376",
            "169.254.43518",
            "0xa9.0xfe.0xa9.0xfe",
            "169.254.169.254.",
        ] {
            assert_eq!(inet_aton(s), imds, "{s}");
        }
        assert_eq!(inet_aton("127.1"), Some(Ipv4Addr::LOCALHOST));
        for s in [
            "minio",
            "a.b",
            "1.2.3.4.5",
            "256.1.1.1",
            "4294967296",
            "08",
            "0xg",
            "",
            "deadbeef",
        ] {
            assert_eq!(inet_aton(s), None, "{s}");
        }
    }
}
