//! `portcullis serve`: the MCP server. Agents call AWS through the `call_aws` tool; every command
//! goes through one pipeline (assess → decide → consent → limit → execute → shape → record, see
//! [`crate::pipeline`]) and nothing runs that the policy did not allow or a person did not approve.
//!
//! It speaks MCP over stdio (stdout carries the protocol, logs go to stderr) or, with
//! `--transport http`, over streamable HTTP behind the owner's token (`http`; stdout stays empty).

pub(crate) mod consent;
pub(crate) mod http;
pub(crate) mod metrics;
pub mod oauth;
pub mod regions;
pub mod shared;
pub(crate) mod start;
mod tools;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::{ElicitationMode, RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};

pub use http::ServeFlags;
pub use start::{Logged, run};

use crate::config::Settings;
use crate::pipeline::{self, identity, record};

/// Where the audit trail and its key are, as `serve` would use them (for `portcullis audit`).
pub fn audit_settings(
    var: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<record::AuditSettings> {
    record::AuditSettings::from_lookup(var)
}

/// The MCP handler: the settings and pipeline shared by every session.
#[derive(Clone)]
pub struct PortcullisServer {
    pipeline: Arc<pipeline::Pipeline>,
    /// Approval rounds of multi-round-trip (2026-07-28) clients, shared by every session.
    consents: Arc<consent::ConsentStore>,
    /// The regions `--region *` expands to, looked up once.
    regions: Arc<regions::RegionCache>,
    /// The audit trail: one record per tool call.
    recorder: Arc<record::Recorder>,
    /// Counters and latencies, from the same events.
    metrics: Arc<metrics::Metrics>,
    /// The stages after assess (decide, consent, limit, execute, shape, record), built once.
    stack: pipeline::Stack,
    /// `get_blast_radius`'s report, computed on first use.
    blast: Arc<tools::BlastCache>,
    /// Stateless HTTP: a client before 2026-07-28 has no session to answer an elicitation on.
    stateless: bool,
}

impl PortcullisServer {
    /// Builds the pipeline (credentials pinned, policy loaded) and starts looking up whose
    /// credentials they are, without waiting for the answer.
    pub async fn start(settings: Settings, transport: &str) -> anyhow::Result<PortcullisServer> {
        let (consents, redis) = consent_store(&settings).await?;
        // The trail first: without it, nothing runs.
        let recorder = record::Recorder::open(&settings.audit)?;
        recorder.record_startup(&portcullis_audit::Event::startup(record::startup_detail(
            transport, &settings,
        )))?;
        recorder.record_startup(&portcullis_audit::Event::config(record::config_detail(
            &settings,
        )))?;
        let pipeline = Arc::new(pipeline::Pipeline::new(settings).await?);
        if let Some(redis) = redis {
            // The per-principal rate, counted over every replica.
            pipeline.limits().share_with(redis);
        }
        let background = Arc::clone(&pipeline);
        tokio::spawn(async move { identity::resolve(&background).await });
        // What each command rule reaches (the operations its patterns name and their actions),
        // worked out off the request path so the first decision does not pay for it.
        let warm = Arc::clone(&pipeline);
        tokio::task::spawn_blocking(move || warm.policy().prepare());
        let recorder = Arc::new(recorder);
        let metrics = Arc::new(metrics::Metrics::with_limits(Arc::clone(pipeline.limits())));
        let stack = pipeline.stack(
            Some(Arc::clone(&recorder)),
            Arc::clone(&metrics) as Arc<dyn pipeline::Observer>,
        );
        Ok(PortcullisServer {
            pipeline,
            consents: Arc::new(consents),
            regions: Arc::default(),
            recorder,
            metrics,
            stack,
            blast: Arc::default(),
            stateless: false,
        })
    }
}

/// The consent rounds' key and single-use store, as configured; a Redis that does not answer at
/// start is reported (consents wait for it; nothing else needs it).
async fn consent_store(
    settings: &Settings,
) -> anyhow::Result<(consent::ConsentStore, Option<Arc<shared::Redis>>)> {
    let sealer = match &settings.sealing_key_file {
        Some(path) => shared::Sealer::from_file(path)?,
        None => shared::Sealer::random()?,
    };
    let used = match &settings.redis_url {
        Some(url) => {
            let redis = Arc::new(shared::Redis::from_url(url)?);
            if let Err(why) = redis.ping().await {
                tracing::warn!(
                    "portcullis: {why}; approvals are refused until Redis answers (everything else works)"
                );
            }
            shared::OnceStore::Redis(redis)
        }
        None => shared::OnceStore::memory(),
    };
    let redis = match &used {
        shared::OnceStore::Redis(r) => Some(Arc::clone(r)),
        shared::OnceStore::Memory(_) => None,
    };
    if settings.sealing_key_file.is_none() && settings.redis_url.is_some() {
        tracing::warn!(
            "portcullis: PORTCULLIS_REDIS_URL without PORTCULLIS_SEALING_KEY_FILE: approvals open only on the replica that asked"
        );
    }
    let store = consent::ConsentStore::new(sealer, used);
    tracing::info!(
        "portcullis: approvals (MCP 2026-07-28) are sealed with {} and used once, {}",
        if settings.sealing_key_file.is_some() {
            "the shared sealing key"
        } else {
            "a key of this process"
        },
        store.describe()
    );
    Ok((store, redis))
}

impl PortcullisServer {
    /// This server, serving stateless HTTP (`AWS_API_MCP_STATELESS_HTTP`).
    #[must_use]
    pub fn stateless(mut self) -> PortcullisServer {
        self.stateless = true;
        self
    }

    /// The limits' state (readiness for `/readyz`, their metrics).
    pub fn limits(&self) -> &Arc<pipeline::limits::Limits> {
        self.pipeline.limits()
    }
}

impl ServerHandler for PortcullisServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("portcullis", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Run AWS CLI commands with `call_aws` (e.g. `aws s3api list-buckets`); each command is checked against a \
                 policy and writes may ask a person to approve them. `check_aws_command` shows what a command would do and \
                 how the policy decides, without running it.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::all(
            &self.pipeline.file_note,
        )))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        use tracing::Instrument;
        let span = tracing::info_span!("tool_call", tool = %request.name);
        self.handle_call(request, context).instrument(span).await
    }
}

/// The OAuth principal (`iss#sub`) the call was authenticated as, and its role, if any (HTTP
/// with OAuth).
fn user(context: &RequestContext<RoleServer>) -> Option<oauth::AuthenticatedUser> {
    context
        .extensions
        .get::<::http::request::Parts>()
        .and_then(|p| p.extensions.get::<oauth::AuthenticatedUser>())
        .cloned()
}

/// Who a call is for: the OAuth principal, else the owner (stdio, the token file), on its MCP
/// session (the `Mcp-Session-Id` of an HTTP request; the process itself on stdio).
fn caller(context: &RequestContext<RoleServer>) -> pipeline::limits::Caller {
    let session = context
        .extensions
        .get::<::http::request::Parts>()
        .and_then(|p| p.headers.get("mcp-session-id"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("stdio");
    let user = user(context);
    pipeline::limits::Caller {
        principal: user
            .as_ref()
            .map_or_else(|| Arc::from("owner"), |u| Arc::clone(&u.name)),
        session: Arc::from(session),
        role: user.and_then(|u| u.role),
    }
}

impl PortcullisServer {
    /// One tool call through the stages, then its record (see `call_tool`).
    async fn handle_call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = std::time::Instant::now();
        let args = request.arguments.unwrap_or_default();
        let (response, mut event): (CallToolResponse, portcullis_audit::Event) = match request
            .name
            .as_ref()
        {
            tools::CALL_AWS => {
                let multi_round_trip = context
                    .protocol_version()
                    .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
                let can_elicit = if multi_round_trip {
                    context
                        .client_capabilities()
                        .is_some_and(|c| c.elicitation.is_some())
                } else {
                    context
                        .peer
                        .supported_elicitation_modes()
                        .contains(&ElicitationMode::Form)
                };
                let cx = tools::CallContext {
                    peer: &context.peer,
                    multi_round_trip,
                    can_elicit,
                    input_responses: request.input_responses.as_ref(),
                    request_state: request.request_state.as_deref(),
                    consents: &self.consents,
                    regions: &self.regions,
                    stack: &self.stack,
                    metrics: &self.metrics,
                    progress: context
                        .meta
                        .get_progress_token()
                        .map(|t| Arc::new(tools::ProgressTarget::new(t))),
                    caller: caller(&context),
                };
                tools::call_aws(&self.pipeline, &args, &cx).await
            }
            tools::CHECK_AWS_COMMAND => {
                let (r, e) = tools::check_aws_command(&self.pipeline, &args);
                (r.into(), e)
            }
            tools::SUGGEST_AWS_COMMANDS => {
                let (r, e) = tools::suggest_aws_commands(&args);
                (r.into(), e)
            }
            tools::GET_BLAST_RADIUS if caller(&context).role.is_some() => {
                // The report reads the server's own credentials, not this user's role.
                let mut e = portcullis_audit::Event::tool_call(tools::GET_BLAST_RADIUS);
                let why = "get_blast_radius reports on the server's own credentials, which your calls do not use \
                               (they run as your own AWS role); ask the operator for `portcullis iam blast-radius` on your role";
                e.error = Some(why.into());
                (
                    CallToolResult::error(vec![rmcp::model::ContentBlock::text(why)]).into(),
                    e,
                )
            }
            tools::GET_BLAST_RADIUS => {
                let (r, e) = tools::get_blast_radius(&self.pipeline, &self.blast, &args).await;
                (r.into(), e)
            }
            other => {
                return Err(McpError::invalid_params(
                    format!("unknown tool `{other}`"),
                    None,
                ));
            }
        };
        // The record stage: one record per call, durable before the result goes back.
        // Whose credentials ran it: the user's role session, else the server's identity.
        let who = caller(&context);
        event.principal = self
            .pipeline
            .session_arn(&who)
            .or_else(|| self.pipeline.identity.get().and_then(|i| i.arn.clone()));
        event.user = user(&context).map(|u| u.name.to_string());
        event.latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        let size = match &response {
            CallToolResponse::Complete(r) => serde_json::to_vec(r).ok(),
            CallToolResponse::InputRequired(r) => serde_json::to_vec(r).ok(),
            _ => None,
        };
        event.response_bytes = size.map(|b| b.len() as u64);
        let is_error =
            matches!(&response, CallToolResponse::Complete(r) if r.is_error == Some(true));
        let call_secs = started.elapsed().as_secs_f64();
        let writing = std::time::Instant::now();
        // The audit writer thread shares one fdatasync among every record waiting; this task
        // waits for its record to be durable without blocking a worker.
        let event = std::sync::Arc::new(event);
        let recorded = self.recorder.record_async(Arc::clone(&event)).await;
        self.metrics
            .stage("record", writing.elapsed().as_secs_f64());
        self.metrics.observe(
            &event,
            is_error || recorded.is_err(),
            call_secs,
            recorded.is_ok().then(|| writing.elapsed().as_secs_f64()),
        );
        match recorded {
            Ok(()) => Ok(response),
            Err(why) => {
                tracing::warn!("portcullis: {why}");
                Ok(CallToolResult::error(vec![rmcp::model::ContentBlock::text(why)]).into())
            }
        }
    }
}
