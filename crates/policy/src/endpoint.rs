//! `--endpoint-url` checks: where a request may be sent besides AWS's own endpoints.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pattern::NamePattern;

/// Link-local addresses (169.254.0.0/16, fe80::/10) — where instance metadata answers.
pub(crate) fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped().is_some_and(|v4: Ipv4Addr| v4.is_loopback()),
    }
}

/// The host of an `http(s)://` URL, lowercased, without brackets or a trailing dot.
fn host_of(url: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not a URL (expected `https://host[:port]`)"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(format!("`{url}` uses scheme `{scheme}`; only http and https endpoints are possible"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!("`{url}` carries user information (`@`); write the endpoint without it"));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    Ok(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Is `url` an acceptable `--endpoint-url`? `Err` carries the reason.
pub(crate) fn check(url: &str, allowed: &[NamePattern]) -> Result<(), String> {
    let host = host_of(url)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        if is_link_local(ip) {
            return Err(format!("`--endpoint-url {url}` points at a link-local address (instance metadata); that is never allowed"));
        }
        if is_loopback(ip) {
            return Ok(());
        }
    } else if host == "localhost" {
        return Ok(());
    }
    if allowed.iter().any(|p| p.matches(&host)) {
        return Ok(());
    }
    Err(format!(
        "`--endpoint-url {url}` would send signed requests to `{host}`, which is neither loopback nor in `global_options.endpoint_hosts`; drop the option, or add `{host}` to `global_options.endpoint_hosts` if that endpoint is trusted"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("http://[::1]:4566/x").unwrap(), "::1");
        assert_eq!(host_of("https://LocalHost.:9000").unwrap(), "localhost");
        assert!(host_of("ftp://x").is_err());
        assert!(host_of("https://user@evil.com").is_err());
        assert!(host_of("https://").is_err());
    }
}
