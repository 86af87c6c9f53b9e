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
}

impl HttpSettings {
    /// The settings from the flags and the environment (no config file: see [`Sources::http`]);
    /// `env` is the process environment (a parameter for the tests).
    pub fn from_env_and_flags(
        flags: &ServeFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<HttpSettings> {
        Sources::new(flags, EnvConfig::from_lookup(env), ConfigFile::default()).http()
    }
}

/// `$XDG_STATE_HOME/portcullis/token`, else `$HOME/.local/state/portcullis/token`.
pub(crate) fn default_token_file(env: &EnvConfig) -> anyhow::Result<PathBuf> {
    // The XDG spec says relative values are to be ignored.
    if let Some(state) = env.xdg_state_home.as_ref().filter(|p| p.is_absolute()) {
        return Ok(state.join("portcullis").join("token"));
    }
    let home = env.home.as_ref().context(
        "cannot place the token file: neither XDG_STATE_HOME nor HOME is set (use --token-file)",
    )?;
    Ok(home.join(".local/state/portcullis/token"))
}
