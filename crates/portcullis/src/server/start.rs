//! Starting `portcullis serve`: the settings looked up (flag, environment, config file), the
//! logs set up, and the server run on stdio or streamable HTTP.

use anyhow::Context;
use rmcp::ServiceExt;

use super::{PortcullisServer, ServeFlags, http};
use crate::config::{self, Settings};

/// Runs the server on stdin/stdout until the client disconnects.
fn run_stdio(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tracing::info!("portcullis: serving MCP on stdio ({})", settings.describe());
        let server = PortcullisServer::start(settings, "stdio").await?;
        let running = server.serve(rmcp::transport::stdio()).await.context("MCP initialization failed")?;
        let reason = running.waiting().await.context("the MCP session ended abnormally")?;
        tracing::info!("portcullis: session ended ({reason:?})");
        Ok(())
    })
}

/// Sends every later log line (stderr) to `path`, appended; created owner-only. stdout stays the
/// protocol's.
fn log_to(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    rustix::stdio::dup2_stderr(&file).with_context(|| format!("cannot send the logs to {}", path.display()))?;
    Ok(())
}

/// Installs the log subscriber: Portcullis's own events at info, everything else (the SDKs, rmcp)
/// at warn; on stderr (which `--log-file` has moved), never stdout. `human` keeps the plain
/// `portcullis: ...` lines; `json` writes one object a line with the current span's fields.
fn init_logs(format: Option<&str>) -> anyhow::Result<()> {
    use tracing_subscriber::prelude::*;
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("portcullis", tracing::Level::INFO)
        .with_default(tracing::Level::WARN);
    let registry = tracing_subscriber::registry().with(targets);
    let installed = match format.map(str::trim) {
        None | Some("human") => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).without_time().with_target(false).with_level(false))
            .try_init(),
        Some("json") => registry
            .with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).with_current_span(true).with_span_list(false))
            .try_init(),
        Some(other) => anyhow::bail!("PORTCULLIS_LOG_FORMAT (or --log-format) must be human or json, not `{other}`"),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

/// Runs `portcullis serve`. Every setting is looked up in one order — flag, environment variable,
/// config file, default — by presenting the flags and the file in the environment's vocabulary.
pub fn run(flags: ServeFlags) -> anyhow::Result<()> {
    let file = config::ConfigFile::load(flags.config.as_deref(), &http::process_env)?;
    let env_then_file = file.layered(&http::process_env);
    let lookup = |var: &str| -> Option<String> {
        let flag = match var {
            "PORTCULLIS_MODE" => flags.mode.clone(),
            "PORTCULLIS_POLICY_FILE" => flags.policy_file.as_ref().map(|p| p.to_string_lossy().into_owned()),
            _ => None,
        };
        flag.or_else(|| env_then_file(var))
    };
    if let Some(log) = flags.log_file.clone().or_else(|| lookup("PORTCULLIS_LOG_FILE").map(Into::into)) {
        log_to(&log)?;
    }
    init_logs(flags.log_format.clone().or_else(|| lookup("PORTCULLIS_LOG_FORMAT")).as_deref())?;
    // From here on, a failure is logged like everything else (a JSON line in JSON mode).
    let served = (|| {
        let settings = Settings::from_lookup(&lookup).context("cannot read the server settings")?;
        if file.path.is_some() {
            tracing::info!("portcullis: config file {}", file.describe());
        }
        match http::Transport::from_env_and_flags(&flags, &lookup)? {
            http::Transport::Stdio => run_stdio(settings),
            http::Transport::Http => run_http(settings, http::HttpSettings::from_env_and_flags(&flags, &lookup)?),
        }
    })();
    served.map_err(|e| {
        tracing::error!("portcullis: {e:#}");
        anyhow::Error::new(Logged)
    })
}

/// An error already written to the log; `main` only sets the exit code.
#[derive(Debug)]
pub struct Logged;

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(logged)")
    }
}

impl std::error::Error for Logged {}

/// Runs the server on streamable HTTP (see [`http`]) until the process is stopped. One pipeline
/// serves every session.
fn run_http(settings: Settings, http_settings: http::HttpSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tracing::info!("portcullis: starting MCP over streamable HTTP ({})", settings.describe());
        let server = PortcullisServer::start(settings, "streamable-http").await?;
        http::serve(http_settings, server).await
    })
}
