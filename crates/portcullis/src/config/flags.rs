//! The flags of `portcullis serve` (clap), typed by clap where it can, and as a [`Layer`].

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use portcullis_policy::Mode;

use super::env::{Group, Problem};
use super::layer::Layer;
use super::net::TransportFlag;
use super::values::{LogFormat, Value};

/// The flags of `portcullis serve`. Each one beats its environment variable and the config file.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeFlags {
    /// `stdio` (default) or `http` (streamable HTTP on /mcp); env AWS_API_MCP_TRANSPORT (`stdio` | `streamable-http`).
    #[arg(long, value_enum)]
    pub transport: Option<TransportFlag>,
    /// Address to bind in HTTP mode (default 127.0.0.1); env AWS_API_MCP_HOST.
    #[arg(long)]
    pub host: Option<String>,
    /// Port to bind in HTTP mode (default 8000, 0 = any free port); env AWS_API_MCP_PORT.
    #[arg(long)]
    pub port: Option<u16>,
    /// Allow binding a non-loopback address (the server then answers anyone who can reach it and holds the token).
    #[arg(long)]
    pub allow_remote: bool,
    /// The owner's bearer token file (created 0600 if missing); env PORTCULLIS_TOKEN_FILE,
    /// default token in the state directory ($XDG_STATE_HOME/portcullis or ~/.local/state/portcullis
    /// on Linux, ~/Library/Application Support/portcullis on macOS, %LOCALAPPDATA%\portcullis on Windows).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The config file (TOML; see `portcullis::config`); env PORTCULLIS_CONFIG, default
    /// $XDG_CONFIG_HOME/portcullis/config.toml when it exists. Flags > environment > file > defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// What happens to requests no rule decides: read-only, guarded (default) or unrestricted; env PORTCULLIS_MODE.
    #[arg(long, value_parser = PossibleValuesParser::new(["read-only", "guarded", "unrestricted"]).try_map(|m: String| Mode::parse(&m)))]
    pub mode: Option<Mode>,
    /// The policy file (native or awslabs form); env PORTCULLIS_POLICY_FILE, default ~/.aws/aws-api-mcp/mcp-security-policy.json.
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
    /// Write the logs to this file (appended, created 0600) instead of stderr; env PORTCULLIS_LOG_FILE.
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Log lines as `human` text (default) or `json` (one object a line, with the tool call's span); env PORTCULLIS_LOG_FORMAT.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

impl ServeFlags {
    /// The flags as a layer; `--host` that is not an address becomes a problem of the HTTP settings.
    pub(crate) fn layer(&self, problems: &mut Vec<Problem>) -> Layer {
        let host = self.host.as_deref().and_then(|h| match Value::parse(h) {
            Ok(ip) => Some(ip),
            Err(reason) => {
                problems.push(Problem {
                    group: Group::Http,
                    message: format!("--host {reason}"),
                });
                None
            }
        });
        Layer {
            mode: self.mode,
            policy_file: self.policy_file.clone(),
            transport: self.transport.map(Into::into),
            host,
            port: self.port,
            token_file: self.token_file.clone(),
            log_file: self.log_file.clone(),
            log_format: self.log_format,
            ..Layer::default()
        }
    }

    /// Whether a flag that only HTTP knows was given.
    pub(crate) fn has_http_flags(&self) -> bool {
        self.host.is_some() || self.port.is_some() || self.allow_remote || self.token_file.is_some()
    }
}
