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

use std::net::{IpAddr, SocketAddr};

pub use portcullis_netaddr::{
    Forbidden, IMDS_V4, IMDS_V6, embedded_v4, forbidden, is_localhost_name, is_loopback,
    is_private, literal_ip,
};

/// A connection the engine refused to make. Not retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused to connect to `{host}`: {addr} is {reason}; Portcullis never connects there, whatever the endpoint or DNS say"
)]
pub struct EgressRefused {
    /// The host as the URL names it.
    pub host: String,
    /// The address refused (the first one, when a name resolved to several refused ones).
    pub addr: IpAddr,
    pub reason: Forbidden,
}

/// Refuses a URL host that is an address (any spelling) the engine never connects to.
pub fn check_literal_host(host: &str) -> Result<(), EgressRefused> {
    match literal_ip(host).map(|ip| (ip, forbidden(ip))) {
        Some((addr, Some(reason))) => Err(EgressRefused {
            host: host.to_string(),
            addr,
            reason,
        }),
        _ => Ok(()),
    }
}

/// The addresses `host` resolved to, without those never connected to (and, for a `localhost`
/// name, without those that are not loopback). If nothing is left, the refusal of the first
/// address dropped; if nothing was resolved, an empty list (the connector reports that).
pub fn filter_resolved(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, EgressRefused> {
    let localhost = is_localhost_name(host);
    let mut kept = Vec::new();
    let mut first_refused: Option<EgressRefused> = None;
    for a in addrs {
        let reason = forbidden(a.ip()).or_else(|| {
            (localhost && !is_loopback(a.ip())).then_some(Forbidden::LocalhostNotLoopback)
        });
        match reason {
            None => kept.push(a),
            Some(reason) => {
                first_refused.get_or_insert(EgressRefused {
                    host: host.to_string(),
                    addr: a.ip(),
                    reason,
                });
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
    let reason = forbidden(peer).or_else(|| {
        (is_localhost_name(host) && !is_loopback(peer)).then_some(Forbidden::LocalhostNotLoopback)
    });
    match reason {
        Some(reason) => Err(EgressRefused {
            host: host.to_string(),
            addr: peer,
            reason,
        }),
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
        Self {
            patterns: patterns
                .into_iter()
                .map(|p| p.into().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Why `url` may not be used as an endpoint, or `Ok`.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("endpoint `{url}` is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!(
                "endpoint `{url}`: only http and https endpoints are possible"
            ));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!("endpoint `{url}` carries user information (`@`)"));
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("endpoint `{url}` names no host"))?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(ip) = literal_ip(&host) {
            if let Some(reason) = forbidden(ip) {
                return Err(format!(
                    "endpoint `{url}` points at {reason} ({ip}); that is never allowed"
                ));
            }
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<IpAddr>().is_err() {
                return Err(format!(
                    "endpoint `{url}` spells the address {ip} in a non-standard form; write it as dotted decimal"
                ));
            }
            if is_loopback(ip) {
                return Ok(());
            }
        } else if host == "localhost" {
            return Ok(());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self
            .patterns
            .iter()
            .any(|p| portcullis_netaddr::wildcard(p.as_bytes(), bare.as_bytes(), |a, b| a == b))
        {
            return Ok(());
        }
        Err(format!(
            "endpoint `{url}`: `{host}` is neither loopback nor in the endpoint allow-list (the policy's `global_options.endpoint_hosts`)"
        ))
    }
}
