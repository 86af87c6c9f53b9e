//! One upstream MCP server: started by `portcullis-launcher` with its own environment and working
//! directory, spoken to as an MCP client (rmcp), listed, and restarted with backoff when it ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, Prompt, ResourceTemplate, Tool,
};
use rmcp::service::{NotificationContext, Peer, RoleClient, RunningService};
use rmcp::{ClientHandler, ServiceExt};
use tokio::sync::Notify;

use super::config::UpstreamConfig;
use super::lock::ServerPin;

/// What an upstream lists.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Its name, version and protocol version.
    pub server: ServerPin,
    /// Its tools.
    pub tools: Vec<Tool>,
    /// Its prompts (when it offers prompts).
    pub prompts: Vec<Prompt>,
    /// Its resource templates (when it offers resources).
    pub templates: Vec<ResourceTemplate>,
}

/// The client side of one upstream connection: wakes the supervisor on `list_changed`.
#[derive(Clone)]
pub struct Listener {
    changed: Arc<Notify>,
}

impl ClientHandler for Listener {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("portcullis-gateway", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }
}

/// A started upstream: the MCP session and the process.
pub struct Connection {
    /// The MCP client session.
    pub running: RunningService<RoleClient, Listener>,
    /// The process.
    pub process: portcullis_launcher::Process,
    /// When it started.
    pub started: Instant,
}

impl Connection {
    /// The peer to send requests to.
    pub fn peer(&self) -> Peer<RoleClient> {
        self.running.peer().clone()
    }

    /// Stops the session and the process.
    pub async fn stop(mut self) {
        let _ = self
            .running
            .close_with_timeout(Duration::from_secs(2))
            .await;
        self.process.stop(Duration::from_secs(2)).await;
    }
}

/// Creates `dir` (and parents) owner-only when it is missing.
fn ensure_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create the working directory {}", dir.display()))
}

/// Starts `config`'s program and initializes an MCP session with it (within `within`).
pub async fn connect(
    config: &UpstreamConfig,
    changed: Arc<Notify>,
    gateway_env: &(dyn Fn(&str) -> Option<String> + Sync),
    within: Duration,
) -> anyhow::Result<Connection> {
    ensure_dir(&config.cwd)?;
    let spec = portcullis_launcher::Spec {
        name: config.name.clone(),
        program: config.command.clone(),
        args: config.args.clone(),
        env: config.environment(gateway_env),
        cwd: config.cwd.clone(),
    };
    let name = config.name.clone();
    let on_stderr: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |line: &str| {
        // An upstream's log line may quote what it was given: scrub what looks like a secret.
        tracing::info!(target: "portcullis::gateway", "upstream {name}: {}", super::redact::scrub_text(line));
    });
    let mut process = portcullis_launcher::launch(&spec, on_stderr)?;
    let (out, inp) = process
        .take_io()
        .context("the upstream's stdio was not available")?;
    let listener = Listener { changed };
    let running = match tokio::time::timeout(within, listener.serve((out, inp))).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            process.stop(Duration::from_millis(500)).await;
            anyhow::bail!("upstream `{}`: MCP initialization failed: {e}", config.name);
        }
        Err(_) => {
            process.stop(Duration::from_millis(500)).await;
            anyhow::bail!(
                "upstream `{}`: no answer to MCP initialize within {} s",
                config.name,
                within.as_secs()
            );
        }
    };
    // Every listing is fresh: a cached list would hide a change (the rug pull).
    running
        .peer()
        .set_response_cache_config(rmcp::ClientCacheConfig::disabled())
        .await;
    Ok(Connection {
        running,
        process,
        started: Instant::now(),
    })
}

/// Lists everything `peer` offers (tools; prompts and resource templates when it declares them).
pub async fn list(peer: &Peer<RoleClient>, within: Duration) -> anyhow::Result<Listing> {
    let info = peer.peer_info();
    let server = ServerPin {
        name: info
            .as_ref()
            .and_then(|i| i.server_info.as_ref())
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        version: info
            .as_ref()
            .and_then(|i| i.server_info.as_ref())
            .map(|s| s.version.clone())
            .unwrap_or_default(),
        protocol_version: info
            .as_ref()
            .map(|i| i.protocol_version.to_string())
            .unwrap_or_default(),
    };
    let caps = info.as_ref().map(|i| i.capabilities.clone());
    let listing = async {
        let tools = peer.list_all_tools().await.context("tools/list failed")?;
        let prompts = if caps.as_ref().is_some_and(|c| c.prompts.is_some()) {
            peer.list_all_prompts()
                .await
                .context("prompts/list failed")?
        } else {
            Vec::new()
        };
        let templates = if caps.as_ref().is_some_and(|c| c.resources.is_some()) {
            peer.list_all_resource_templates()
                .await
                .context("resources/templates/list failed")?
        } else {
            Vec::new()
        };
        anyhow::Ok(Listing {
            server,
            tools,
            prompts,
            templates,
        })
    };
    tokio::time::timeout(within, listing)
        .await
        .map_err(|_| anyhow::anyhow!("no answer to the listing within {} s", within.as_secs()))?
}
