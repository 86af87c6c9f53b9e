//! `--endpoint-url` checks: where a request may be sent besides AWS's own endpoints.
//!
//! This looks at the URL's text (the policy does no I/O): loopback addresses and `localhost` are
//! allowed, other hosts only when `global_options.endpoint_hosts` lists them, and addresses that
//! are never an endpoint (instance metadata, link-local, unspecified, multicast, broadcast; in
//! IPv4-mapped, -compatible, NAT64 and 6to4 forms too) are refused even when listed. Numeric
//! IPv4 hosts in spellings other than dotted decimal (`2852039166`, `0xA9FEA9FE`,
//! `0251.0376.0251.0376`, `127.1`) are refused: `getaddrinfo` reads them as addresses, so they
//! would bypass a check of the text. What a listed *name* resolves to is checked by the engine's
//! transport at connect time (it never connects to metadata or link-local addresses), and a name
//! not listed is refused here whatever it resolves to (`127.0.0.1.nip.io` included).

use std::net::IpAddr;

use portcullis_netaddr::{inet_aton, is_loopback};

use crate::pattern::NamePattern;

/// What `ip` is when it can never be an endpoint: instance metadata (169.254.169.254,
/// fd00:ec2::254), AWS instance services (fd00:ec2::/32), link-local (169.254.0.0/16,
/// fe80::/10), unspecified, multicast, broadcast — directly or embedded in an IPv6 address.
pub(crate) fn never_endpoint(ip: IpAddr) -> Option<String> {
    portcullis_netaddr::forbidden(ip).map(|f| f.to_string())
}

/// Addresses that can never be an endpoint (see [`never_endpoint`]); the name is kept for the
/// allow-list check of `global_options.endpoint_hosts`.
pub(crate) fn is_link_local(ip: IpAddr) -> bool {
    never_endpoint(ip).is_some()
}

/// The host of an `http(s)://` URL, lowercased, without brackets or a trailing dot.
fn host_of(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (expected `https://host[:port]`)"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(format!(
            "`{url}` uses scheme `{scheme}`; only http and https endpoints are possible"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!(
            "`{url}` carries user information (`@`); write the endpoint without it"
        ));
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
        if let Some(what) = never_endpoint(ip) {
            return Err(format!(
                "`--endpoint-url {url}` points at {what} ({ip}); that is never allowed"
            ));
        }
        if is_loopback(ip) {
            return Ok(());
        }
    } else if let Some(ip) = inet_aton(&host) {
        if let Some(what) = never_endpoint(IpAddr::V4(ip)) {
            return Err(format!(
                "`--endpoint-url {url}` points at {what} ({ip}, spelled `{host}`); that is never allowed"
            ));
        }
        return Err(format!(
            "`--endpoint-url {url}` spells the address {ip} as `{host}`; write an address in dotted decimal (`{ip}`) so it can be checked"
        ));
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

    #[test]
    fn never_endpoints() {
        for ip in [
            "169.254.169.254",
            "169.254.170.2",
            "fd00:ec2::254",
            "fd00:ec2::253",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "::ffff:0.0.0.0",
        ] {
            assert!(never_endpoint(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "fd00::1",
            "52.94.1.1",
            "2600:1f18::1",
        ] {
            assert_eq!(never_endpoint(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn checks() {
        let allowed = [
            NamePattern::new("minio.internal", true),
            NamePattern::new("*", true),
        ];
        // Never, even when `*` is listed.
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://2852039166/",
            "http://0xA9FEA9FE/",
            "http://0251.0376.0251.0376/",
            "http://169.254.43518/",
            "http://0.0.0.0:4566/",
            "http://[::]:4566/",
            "http://[fe80::1]/",
            "http://169.254.170.2/v2/credentials",
            "http://127.1:4566/",
            "http://2130706433/",
        ] {
            assert!(check(url, &allowed).is_err(), "{url}");
        }
        assert!(
            check("http://2852039166/", &allowed)
                .unwrap_err()
                .contains("instance metadata service (169.254.169.254, spelled `2852039166`)")
        );
        assert!(
            check("http://127.1/", &[])
                .unwrap_err()
                .contains("write an address in dotted decimal (`127.0.0.1`)")
        );
        // Private addresses and names only when listed; loopback always.
        let only = [NamePattern::new("minio.internal", true)];
        for url in [
            "http://10.0.0.5:9000",
            "http://192.168.1.10/",
            "http://[fd12::1]/",
            "http://100.64.0.1/",
            "http://127.0.0.1.nip.io/",
            "http://lvh.me:4566/",
        ] {
            assert!(
                check(url, &only)
                    .unwrap_err()
                    .contains("neither loopback nor in `global_options.endpoint_hosts`"),
                "{url}"
            );
        }
        assert!(
            check(
                "http://10.0.0.5:9000",
                &[NamePattern::new("10.0.0.5", true)]
            )
            .is_ok()
        );
        for url in [
            "http://127.0.0.1:5000",
            "http://[::1]/",
            "http://localhost:4566",
            "http://[::ffff:127.0.0.1]/",
            "https://minio.internal:9000",
        ] {
            assert!(check(url, &only).is_ok(), "{url}");
        }
    }
}
