//! Starting `portcullis serve`: the configuration read (flags, environment, config file: see
//! [`crate::config`]), the logs set up, and the server run on stdio or streamable HTTP.

use anyhow::Context;
use rmcp::ServiceExt;

use super::{PortcullisServer, ServeFlags, http};
use crate::config::{self, LogFormat, Settings};

/// Runs the server on stdin/stdout until the client disconnects.
fn run_stdio(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tracing::info!("portcullis: serving MCP on stdio ({})", settings.describe());
        let server = PortcullisServer::start(settings, "stdio").await?;
        let running = server
            .serve(rmcp::transport::stdio_pipes())
            .await
            .context("MCP initialization failed")?;
        let reason = running
            .waiting()
            .await
            .context("the MCP session ended abnormally")?;
        tracing::info!("portcullis: session ended ({reason:?})");
        Ok(())
    })
}

/// Sends every later log line (stderr) to `path`, appended; created owner-only. stdout stays the
/// protocol's.
fn log_to(path: &std::path::Path) -> anyhow::Result<()> {
    let file = portcullis_platform::open_private(
        std::fs::OpenOptions::new().create(true).append(true),
        path,
    )
    .with_context(|| format!("cannot open the log file {}", path.display()))?;
    portcullis_platform::redirect_stderr(&file)
        .with_context(|| format!("cannot send the logs to {}", path.display()))?;
    Ok(())
}

/// Installs the log subscriber: Portcullis's own events at info, aws-config's at error, everything
/// else (the SDKs, rmcp) at warn; on stderr (which `--log-file` has moved), never stdout. `human` keeps the plain
/// `portcullis: ...` lines; `json` writes one object a line with the current span's fields.
pub(crate) fn init_logs(format: LogFormat) -> anyhow::Result<()> {
    use tracing_subscriber::prelude::*;
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("portcullis", tracing::Level::INFO)
        // aws-config warns with whole SDK response dumps when an optional source (IMDS for the
        // region) is not there; what matters reaches the user through our own errors.
        .with_target("aws_config", tracing::Level::ERROR)
        .with_default(tracing::Level::WARN);
    let registry = tracing_subscriber::registry().with(targets);
    let installed = match format {
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .without_time()
                    .with_target(false)
                    .with_level(false),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

/// Runs `portcullis serve`. The flags, the environment and the config file are read and typed
/// first (a config file that does not load stops here), then merged, each setting once, flag >
/// environment > file > default: the logs first, then the server's settings, the transport and
/// (for HTTP) its settings.
pub fn run(flags: ServeFlags) -> anyhow::Result<()> {
    let sources = config::Sources::load(&flags, &config::process_env)?;
    let logs = sources.logs()?;
    if let Some(log) = &logs.file {
        log_to(log)?;
    }
    init_logs(logs.format)?;
    // From here on, a failure is logged like everything else (a JSON line in JSON mode).
    let served = (|| {
        let settings = sources
            .settings()
            .context("cannot read the server settings")?;
        if sources.file().path.is_some() {
            tracing::info!("portcullis: config file {}", sources.file().describe());
        }
        match sources.transport()? {
            config::Transport::Stdio => run_stdio(settings),
            config::Transport::Http => run_http(settings, sources.http()?),
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
fn run_http(settings: Settings, http_settings: config::HttpSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tracing::info!(
            "portcullis: starting MCP over streamable HTTP ({})",
            settings.describe()
        );
        let server = PortcullisServer::start(settings, "streamable-http").await?;
        http::serve(http_settings, server).await
    })
}
