//! The transport settings of `serve`: which transport, and for streamable HTTP the address, the
//! allow-lists of `Host` and `Origin` values and the owner's token file ([`HttpSettings`], what
//! `server::http` serves with). The values are typed here; [`super::Sources`] merges them.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use super::env::EnvConfig;
use super::{ConfigFile, ServeFlags, Sources};

/// The awslabs server's default port.
pub(crate) const DEFAULT_PORT: u16 = 8000;

/// The `--transport` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFlag {
    Stdio,
    Http,
}

/// Which transport `serve` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    Http,
}

impl From<TransportFlag> for Transport {
    fn from(flag: TransportFlag) -> Transport {
        match flag {
            TransportFlag::Stdio => Transport::Stdio,
            TransportFlag::Http => Transport::Http,
        }
    }
}

impl Transport {
    /// `--transport`, else `AWS_API_MCP_TRANSPORT`, else stdio (no config file: see
    /// [`Sources::transport`]). `env` is the process environment (a parameter for the tests).
    pub fn from_env_and_flags(
        flags: &ServeFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Transport> {
        Sources::new(flags, EnvConfig::from_lookup(env), ConfigFile::default()).transport()
    }
}

/// `AUTH_TYPE`: how HTTP clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthType {
    /// awslabs's `no-auth`: here, every request carries the owner's bearer token from the token
    /// file (Portcullis never serves HTTP without authentication).
    #[default]
    NoAuth,
    /// OAuth 2.1 access tokens of an issuer (`server::oauth`).
    OAuth,
}

/// An origin as browsers send it: scheme, host, port (the scheme's default when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (http or https, no path); `None` for anything else.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_authority(rest)?;
        Some(Origin {
            scheme,
            host,
            port: port.unwrap_or(default_port),
        })
    }
}

/// Splits `host[:port]` (IPv6 in brackets) into a lowercase host and the port, if any. `None`
/// when it is not an authority (userinfo, path, empty host, bad port).
pub(crate) fn split_authority(text: &str) -> Option<(String, Option<u16>)> {
    if text.is_empty() || text.contains(['/', '@', '?', '#', ' ', ',']) {
        return None;
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", inner.to_ascii_lowercase()), port)
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (text.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

/// An allowed `Host`: a name, with a port or (then) the bound port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// The HTTP transport's settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The address to bind.
    pub addr: SocketAddr,
    /// Extra `Host` values (`AWS_API_MCP_ALLOWED_HOSTS`), beyond the loopback names.
    pub(crate) allowed_hosts: Vec<AllowedHost>,
    /// Extra origins (`AWS_API_MCP_ALLOWED_ORIGINS`), beyond this server's own.
    pub(crate) allowed_origins: Vec<Origin>,
    /// Where the owner's token lives.
    pub token_file: PathBuf,
    /// The caps on connections and sessions (from the environment only: `PORTCULLIS_MAX_*`).
    pub limits: HttpLimits,
    /// `AUTH_TYPE=oauth`: access tokens of an issuer instead of the token file.
    pub oauth: Option<crate::server::oauth::OAuthSettings>,
    /// `AWS_API_MCP_STATELESS_HTTP=true`: no sessions for clients before MCP 2026-07-28 either.
    pub stateless: bool,
}

/// The caps of the HTTP transport, so that one client (or one token holder) cannot exhaust the
/// server for everyone. Read from the environment only (no flag, no config file key):
///
/// | variable | default | what |
/// |---|---|---|
/// | `PORTCULLIS_MAX_CONNECTIONS` | 1024 | open TCP connections in all |
/// | `PORTCULLIS_MAX_CONNECTIONS_PER_PEER` | 64 | open TCP connections from one IP address (IPv6: one /64) |
/// | `PORTCULLIS_MAX_SESSIONS` | 16384 | MCP sessions in all |
/// | `PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL` | 4096 | MCP sessions created with one token |
/// | `PORTCULLIS_MAX_LIVE_SESSIONS` | 256 | sessions with a worker; the others sleep until their next request |
///
/// A connection over a cap is answered `503` and closed at once. A new session over a cap ends
/// the least recently used idle session (of the same token for the per-token quota, of anyone's
/// for the total); only when every candidate is busy is it refused with `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    pub max_sessions: usize,
    pub max_sessions_per_principal: usize,
    pub max_live_sessions: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 1024,
            max_connections_per_peer: 64,
            max_sessions: 16384,
            max_sessions_per_principal: 4096,
            max_live_sessions: 256,
        }
    }
}

/// The largest value any of the [`HttpLimits`] takes.
const MAX_LIMIT: usize = 1_000_000;

impl HttpLimits {
    /// The defaults, with the variables `lookup` finds (blank counts as unset); a value that is
    /// not a whole number from 1 to 1000000 is an error naming the variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<HttpLimits> {
        let read = |name: &str, default: usize| -> anyhow::Result<usize> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .with_context(|| {
                        format!(
                            "{name} must be a whole number from 1 to {MAX_LIMIT}, not `{}`",
                            super::values::shown(&v)
                        )
                    }),
            }
        };
        let d = HttpLimits::default();
        Ok(HttpLimits {
            max_connections: read("PORTCULLIS_MAX_CONNECTIONS", d.max_connections)?,
            max_connections_per_peer: read(
                "PORTCULLIS_MAX_CONNECTIONS_PER_PEER",
                d.max_connections_per_peer,
            )?,
            max_sessions: read("PORTCULLIS_MAX_SESSIONS", d.max_sessions)?,
            max_sessions_per_principal: read(
                "PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL",
                d.max_sessions_per_principal,
            )?,
            max_live_sessions: read("PORTCULLIS_MAX_LIVE_SESSIONS", d.max_live_sessions)?,
        })
    }
}

impl HttpSettings {
    /// The settings from the flags and the environment (no config file: see [`Sources::http`]);
    /// `env` is the process environment (a parameter for the tests).
    pub fn from_env_and_flags(
        flags: &ServeFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<HttpSettings> {
        let mut settings =
            Sources::new(flags, EnvConfig::from_lookup(env), ConfigFile::default()).http()?;
        // `Sources::http` reads the caps from the process environment; here, from `env`.
        settings.limits = HttpLimits::from_lookup(env)?;
        Ok(settings)
    }
}

/// `token` in the state directory ([`portcullis_platform::state_dir`]: on Linux
/// `$XDG_STATE_HOME/portcullis`, else `$HOME/.local/state/portcullis`).
pub(crate) fn default_token_file(env: &EnvConfig) -> anyhow::Result<PathBuf> {
    let state = env.state_dir.as_ref().with_context(|| {
        format!(
            "cannot place the token file: {} (use --token-file)",
            STATE_DIR_UNSET
        )
    })?;
    Ok(state.join("token"))
}

/// Why there is no state directory, on this OS.
pub(crate) const STATE_DIR_UNSET: &str = if cfg!(windows) {
    "LOCALAPPDATA is not set"
} else {
    "neither XDG_STATE_HOME nor HOME is set"
};
