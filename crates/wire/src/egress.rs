//! Where the engine may connect: addresses that are never reachable, whatever the endpoint, the
//! allow-list or DNS say (instance metadata, link-local, unspecified, multicast, broadcast), and
//! the check of every address a connection is about to use.
//!
//! The transport applies this to every connection — rule endpoints included, because a DNS name
//! can resolve anywhere — in three places: the host of the URL when it is an address (in any
//! spelling `getaddrinfo` accepts: `2852039166`, `0xA9FEA9FE`, `0251.0376.0251.0376`), each
//! address a name resolves to (refused ones are dropped; if none is left the connection is
//! refused), and the peer of the established TCP connection before a byte is written to it.
//! The names `localhost` and `*.localhost` must resolve to loopback (RFC 6761), so a policy that
//! admits `--endpoint-url http://localhost` admits loopback only.
//!
//! Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are not refused here:
//! interface VPC endpoints resolve AWS names to them. Whether an `--endpoint-url` may point at
//! one is the policy's decision (`global_options.endpoint_hosts`), and [`EndpointAllowList`]
//! repeats it inside the engine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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
            Forbidden::LocalhostNotLoopback => "not a loopback address, though the name is `localhost`",
        })
    }
}

/// A connection the engine refused to make. Not retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused to connect to `{host}`: {addr} is {reason}; Portcullis never connects there, whatever the endpoint or DNS say")]
pub struct EgressRefused {
    /// The host as the URL names it.
    pub host: String,
    /// The address refused (the first one, when a name resolved to several refused ones).
    pub addr: IpAddr,
    pub reason: Forbidden,
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
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
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
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Private ranges: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7, and
/// their IPv4-mapped forms.
pub fn is_private(ip: IpAddr) -> bool {
    let v4 = |v4: Ipv4Addr| v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64);
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00 || v6.to_ipv4_mapped().is_some_and(v4),
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
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    inet_aton(bare.strip_suffix('.').unwrap_or(bare)).map(IpAddr::V4)
}

fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
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

/// Refuses a URL host that is an address (any spelling) the engine never connects to.
pub fn check_literal_host(host: &str) -> Result<(), EgressRefused> {
    match literal_ip(host).map(|ip| (ip, forbidden(ip))) {
        Some((addr, Some(reason))) => Err(EgressRefused { host: host.to_string(), addr, reason }),
        _ => Ok(()),
    }
}

/// The addresses `host` resolved to, without those never connected to (and, for a `localhost`
/// name, without those that are not loopback). If nothing is left, the refusal of the first
/// address dropped; if nothing was resolved, an empty list (the connector reports that).
pub fn filter_resolved(host: &str, addrs: impl IntoIterator<Item = SocketAddr>) -> Result<Vec<SocketAddr>, EgressRefused> {
    let localhost = is_localhost_name(host);
    let mut kept = Vec::new();
    let mut first_refused: Option<EgressRefused> = None;
    for a in addrs {
        let reason = forbidden(a.ip()).or_else(|| (localhost && !is_loopback(a.ip())).then_some(Forbidden::LocalhostNotLoopback));
        match reason {
            None => kept.push(a),
            Some(reason) => {
                first_refused.get_or_insert(EgressRefused { host: host.to_string(), addr: a.ip(), reason });
            }
        }
    }
    match (kept.is_empty(), first_refused) {
        (true, Some(refused)) => Err(refused),
        _ => Ok(kept),
    }
}

/// The check of the peer of an established connection (the last line: nothing is written to a
/// connection that fails it).
pub fn check_peer(host: &str, peer: IpAddr) -> Result<(), EgressRefused> {
    let reason = forbidden(peer).or_else(|| (is_localhost_name(host) && !is_loopback(peer)).then_some(Forbidden::LocalhostNotLoopback));
    match reason {
        Some(reason) => Err(EgressRefused { host: host.to_string(), addr: peer, reason }),
        None => Ok(()),
    }
}

/// Hosts an endpoint given outside the rules (`--endpoint-url`, `AWS_ENDPOINT_URL*`, the
/// profile's `endpoint_url`) may name, as the policy's `global_options.endpoint_hosts` says:
/// loopback addresses and `localhost` always; otherwise a pattern must match the host (`*`
/// matches any run of characters; case-insensitive; a trailing dot ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointAllowList {
    patterns: Vec<String>,
}

impl EndpointAllowList {
    /// Loopback only.
    pub fn loopback_only() -> Self {
        Self::default()
    }

    /// Loopback and hosts matching `patterns` (the policy's `global_options.endpoint_hosts`).
    pub fn new(patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { patterns: patterns.into_iter().map(|p| p.into().trim_end_matches('.').to_ascii_lowercase()).collect() }
    }

    /// Why `url` may not be used as an endpoint, or `Ok`.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("endpoint `{url}` is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("endpoint `{url}`: only http and https endpoints are possible"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!("endpoint `{url}` carries user information (`@`)"));
        }
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| format!("endpoint `{url}` names no host"))?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(ip) = literal_ip(&host) {
            if let Some(reason) = forbidden(ip) {
                return Err(format!("endpoint `{url}` points at {reason} ({ip}); that is never allowed"));
            }
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<IpAddr>().is_err() {
                return Err(format!("endpoint `{url}` spells the address {ip} in a non-standard form; write it as dotted decimal"));
            }
            if is_loopback(ip) {
                return Ok(());
            }
        } else if host == "localhost" {
            return Ok(());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self.patterns.iter().any(|p| glob(p.as_bytes(), bare.as_bytes())) {
            return Ok(());
        }
        Err(format!(
            "endpoint `{url}`: `{host}` is neither loopback nor in the endpoint allow-list (the policy's `global_options.endpoint_hosts`)"
        ))
    }
}

/// `*` matches any run of bytes; iterative, bounded by pattern × text.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
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
