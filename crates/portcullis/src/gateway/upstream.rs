//! One upstream MCP server: started by `portcullis-launcher` with its own environment and working
//! directory (or reached over streamable HTTP with the gateway's own token), spoken to as an MCP
//! client (rmcp), listed, and restarted with backoff when it ends.

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
    /// Its resources (data, not pinned: served under the pinned upstream's name).
    pub resources: Vec<rmcp::model::Resource>,
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
    /// The process (none for an HTTP upstream).
    pub process: Option<portcullis_launcher::Process>,
    /// What was started or reached, for the log.
    pub what: String,
    /// When its role session's credentials expire (`assume_role`): it is restarted before.
    pub expires: Option<std::time::SystemTime>,
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
        if let Some(p) = self.process.as_mut() {
            p.stop(Duration::from_secs(2)).await;
        }
    }
}

/// Creates `dir` (and parents) owner-only when it is missing.
fn ensure_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    portcullis_platform::create_private_dir_all(dir)
        .with_context(|| format!("cannot create the working directory {}", dir.display()))
}

/// Starts `config`'s program and initializes an MCP session with it (within `within`).
pub async fn connect(
    config: &UpstreamConfig,
    changed: Arc<Notify>,
    gateway_env: &(dyn Fn(&str) -> Option<String> + Sync),
    within: Duration,
) -> anyhow::Result<Connection> {
    if let Some(http) = &config.http {
        return connect_http(config, http, changed, gateway_env, within).await;
    }
    ensure_dir(&config.cwd)?;
    let mut env = config.environment(gateway_env);
    let mut expires = None;
    if let Some(role) = &config.assume_role {
        let session = assume_for(config, role).await?;
        tracing::info!(
            "portcullis: gateway: upstream {} runs as {}",
            config.name,
            session.session.arn
        );
        expires = session.session.expires;
        env.retain(|(k, _)| !super::config::AWS_CREDENTIAL_VARS.contains(&k.as_str()));
        env.push(("AWS_ACCESS_KEY_ID".into(), session.access_key_id));
        env.push(("AWS_SECRET_ACCESS_KEY".into(), session.secret_access_key));
        env.push(("AWS_SESSION_TOKEN".into(), session.session_token));
    }
    let spec = portcullis_launcher::Spec {
        name: config.name.clone(),
        program: config.command.clone(),
        args: config.args.clone(),
        env,
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
    let what = process.program().display().to_string();
    Ok(Connection::of(running, Some(process), what, expires).await)
}

impl Connection {
    /// A connection whose every listing is fresh: a cached list would hide a change (the rug
    /// pull), so rmcp's response cache is off.
    async fn of(
        running: RunningService<RoleClient, Listener>,
        process: Option<portcullis_launcher::Process>,
        what: String,
        expires: Option<std::time::SystemTime>,
    ) -> Connection {
        running
            .peer()
            .set_response_cache_config(rmcp::ClientCacheConfig::disabled())
            .await;
        Connection {
            running,
            process,
            what,
            expires,
            started: Instant::now(),
        }
    }
}

/// One session of `role` for `config`'s upstream, assumed with the gateway's own credentials
/// (its environment's chain), with `session_policy` when given and the session tag
/// `portcullis-upstream`.
async fn assume_for(
    config: &UpstreamConfig,
    role: &str,
) -> anyhow::Result<portcullis_wire::assume::SessionCredentials> {
    let policy = match &config.session_policy {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "upstream `{}`: cannot read its session policy {}",
                    config.name,
                    path.display()
                )
            })?;
            let v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "upstream `{}`: its session policy {} is not JSON",
                    config.name,
                    path.display()
                )
            })?;
            Some(v.to_string())
        }
    };
    let base = portcullis_wire::execute::Engine::from_environment(None, false)
        .await
        .with_context(|| {
            format!(
                "upstream `{}`: the gateway's own AWS credentials",
                config.name
            )
        })?;
    let spec = portcullis_wire::assume::AssumeRoleSpec {
        role_arn: role.to_string(),
        session_name: format!("portcullis-gateway-{}", config.name)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
            .take(64)
            .collect(),
        policy,
        policy_arns: Vec::new(),
        source_identity: None,
        tags: vec![("portcullis-upstream".into(), config.name.clone())],
        duration: Duration::from_secs(3600),
        refresh_margin: Duration::from_secs(300),
    };
    portcullis_wire::assume::assume_session(Arc::new(base), spec)
        .await
        .with_context(|| format!("upstream `{}`: cannot assume {role}", config.name))
}

/// Reaches a streamable-HTTP upstream with the gateway's own token (never the client's).
async fn connect_http(
    config: &UpstreamConfig,
    http: &super::config::HttpUpstream,
    changed: Arc<Notify>,
    gateway_env: &(dyn Fn(&str) -> Option<String> + Sync),
    within: Duration,
) -> anyhow::Result<Connection> {
    use super::config::TokenRef;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let token = match &http.token {
        None => None,
        Some(TokenRef::File(path)) => {
            let t = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "upstream `{}`: cannot read its bearer token file {}",
                    config.name,
                    path.display()
                )
            })?;
            Some(t.trim().to_string())
        }
        Some(TokenRef::Env(name)) => Some(
            gateway_env(name)
                .map(|t| t.trim().to_string())
                .with_context(|| {
                    format!(
                        "upstream `{}`: `{name}` (its bearer token) is not set",
                        config.name
                    )
                })?,
        ),
    };
    if token
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.chars().any(char::is_control))
    {
        anyhow::bail!(
            "upstream `{}`: its bearer token is empty or holds control characters",
            config.name
        );
    }
    let mut transport_config = StreamableHttpClientTransportConfig::with_uri(http.url.clone());
    if let Some(t) = token {
        transport_config = transport_config.auth_header(t);
    }
    // The engine's TLS stack (rustls with aws-lc-rs), installed once for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the HTTP client")?;
    let transport = StreamableHttpClientTransport::with_client(client, transport_config);
    let listener = Listener { changed };
    let running = match tokio::time::timeout(within, listener.serve(transport)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let cause = root_cause(&e);
            let hint = if cause.contains("Auth required") {
                " (the upstream answered 401: check its `bearer_token_file` or `bearer_token_env`)"
            } else {
                ""
            };
            anyhow::bail!(
                "upstream `{}` ({}): MCP initialization failed: {cause}{hint}",
                config.name,
                http.url,
            )
        }
        Err(_) => anyhow::bail!(
            "upstream `{}` ({}): no answer to MCP initialize within {} s",
            config.name,
            http.url,
            within.as_secs()
        ),
    };
    Ok(Connection::of(running, None, http.url.clone(), None).await)
}

impl Connection {
    /// Waits until the upstream ends: its process exits, or the HTTP session closes.
    pub async fn ended(&mut self) -> String {
        // A role session is renewed by a restart five minutes before it expires.
        let renew = self.expires.map(|e| {
            e.checked_sub(Duration::from_secs(300))
                .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
                .unwrap_or(Duration::ZERO)
        });
        match self.process.as_mut() {
            Some(p) => match renew {
                None => p.wait().await.to_string(),
                Some(after) => tokio::select! {
                    how = p.wait() => how.to_string(),
                    () = tokio::time::sleep(after) => "its role session is about to expire; a new one is assumed".to_string(),
                },
            },
            None => loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if self.running.is_closed() || self.running.is_transport_closed() {
                    break "its HTTP session closed".to_string();
                }
            },
        }
    }
}

/// The innermost cause of `e` (a refused connection, a TLS failure, a 401), without the
/// transport's type names that its outer messages carry.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let text = cause.to_string();
    // rmcp's transport errors name the worker's generic types: keep what follows the last
    // "error: " (reqwest's own message), without rmcp's trailing phase.
    let text = match text.find("Transport [") {
        Some(_) => text
            .rsplit("error: ")
            .next()
            .unwrap_or(&text)
            .trim_end_matches(", when send initialize request")
            .to_string(),
        None => text,
    };
    if text.is_empty() { e.to_string() } else { text }
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
        let (templates, resources) = if caps.as_ref().is_some_and(|c| c.resources.is_some()) {
            (
                peer.list_all_resource_templates()
                    .await
                    .context("resources/templates/list failed")?,
                peer.list_all_resources()
                    .await
                    .context("resources/list failed")?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        anyhow::Ok(Listing {
            server,
            tools,
            prompts,
            templates,
            resources,
        })
    };
    tokio::time::timeout(within, listing)
        .await
        .map_err(|_| anyhow::anyhow!("no answer to the listing within {} s", within.as_secs()))?
}
