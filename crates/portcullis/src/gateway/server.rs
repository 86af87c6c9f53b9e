//! The MCP endpoint the gateway serves: the upstreams' pinned tools, prefixed; every call through
//! quarantine → decide → consent → limits → the upstream → redaction → the audit record.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequestParams,
    ElicitationAction, ElicitationSchema, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResourceContents, ServerCapabilities, ServerConfig,
    ToolAnnotations,
};
use rmcp::service::{ElicitationMode, NotificationContext, RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Value, json};

use super::config::SEP;
use super::lock::Kind;
use super::rules::Verdict;
use super::{Gateway, Status};

/// How long a person has to answer an approval prompt.
const ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// The gateway's MCP handler.
#[derive(Clone)]
pub struct GatewayServer {
    gateway: Arc<Gateway>,
}

impl GatewayServer {
    /// Serves `gateway`.
    pub fn new(gateway: Arc<Gateway>) -> GatewayServer {
        GatewayServer { gateway }
    }
}

/// What happened to one call (the audit record's `outcome`).
struct Done {
    result: CallToolResult,
    outcome: &'static str,
    decision: Option<Verdict>,
    reason: Option<String>,
    consent: Option<&'static str>,
}

fn refused(outcome: &'static str, message: String) -> Done {
    Done {
        result: CallToolResult::error(vec![ContentBlock::text(message.clone())]),
        outcome,
        decision: None,
        reason: Some(message),
        consent: None,
    }
}

/// The approval form: one required boolean with no default.
fn schema() -> Option<ElicitationSchema> {
    ElicitationSchema::from_json_schema(
        json!({
            "type": "object",
            "properties": {
                "confirm": { "type": "boolean", "title": "Call this tool", "description": "Call exactly the tool shown with exactly these arguments, once" }
            },
            "required": ["confirm"]
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
    .ok()
}

/// The arguments as the person reads them, one per line (`name: value`), secrets masked: a
/// string as a quoted value, anything else as its compact JSON, both escaped so that no value can
/// break a line or hide a character; cut at 4,000 characters.
fn shown_arguments(args: &Value) -> String {
    use crate::server::consent::{escape, quoted};
    let mut masked = args.clone();
    super::redact::mask_json(&mut masked);
    let text = match &masked {
        Value::Object(map) if map.is_empty() => "  (none)".to_string(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => quoted(s),
                    other => escape(&other.to_string()),
                };
                format!("  {}: {value}", escape(k))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("  {}", escape(&other.to_string())),
    };
    if text.chars().count() > 4000 {
        let cut: String = text.chars().take(4000).collect();
        format!("{cut}… (cut; the digest covers all of it)")
    } else {
        text
    }
}

impl GatewayServer {
    /// Asks the person whether `tool` may run with `args`; `Ok(())` only on an accept of exactly
    /// `{"confirm": true}`.
    async fn ask(
        &self,
        context: &RequestContext<RoleServer>,
        tool: &str,
        args: &Value,
        digest: &str,
        why: &str,
    ) -> Result<(), (String, &'static str)> {
        if !context
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return Err((
                format!(
                    "not called: `{tool}` needs a person's approval ({why}), and this MCP client cannot ask (no elicitation support). Use a client that supports elicitation, or change the gateway policy."
                ),
                "unavailable",
            ));
        }
        let Some(requested_schema) = schema() else {
            return Err((
                "not called: cannot build the approval form".into(),
                "failed",
            ));
        };
        let message = format!(
            "The agent wants to call `{}` ({}).\n\nArguments (secrets masked):\n{}\n\nRequest digest: {digest}",
            crate::server::consent::escape(tool),
            crate::server::consent::escape(why),
            shown_arguments(args)
        );
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema,
        };
        match context
            .peer
            .create_elicitation_with_timeout(params, Some(ANSWER_WITHIN))
            .await
        {
            Ok(answer) => match answer.action {
                ElicitationAction::Accept => {
                    match crate::server::consent::unconfirmed(answer.content.as_ref()) {
                        None => Ok(()),
                        Some(why) => Err((
                            format!(
                                "not called: the answer to the approval prompt for `{tool}` did not confirm: {why}"
                            ),
                            "declined",
                        )),
                    }
                }
                ElicitationAction::Decline => Err((
                    format!(
                        "not called: the person declined `{tool}`. Do not retry it unchanged; ask them what to do instead."
                    ),
                    "declined",
                )),
                ElicitationAction::Cancel => Err((
                    format!("not called: the person dismissed the approval prompt for `{tool}`"),
                    "cancelled",
                )),
                _ => Err((
                    format!("not called: unrecognised answer to the approval prompt for `{tool}`"),
                    "failed",
                )),
            },
            Err(e) => Err((
                format!("not called: the approval request for `{tool}` failed ({e})"),
                "failed",
            )),
        }
    }

    /// [`Self::ask`] for a consent decision; a refusal is counted.
    async fn consent(
        &self,
        context: &RequestContext<RoleServer>,
        name: &str,
        args: &serde_json::Map<String, Value>,
        digest: &str,
        why: &str,
    ) -> Result<(), (String, &'static str)> {
        let answer = self
            .ask(context, name, &Value::Object(args.clone()), digest, why)
            .await;
        if answer.is_err() {
            self.gateway
                .counters
                .calls_not_approved
                .fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    /// One call, start to result (the record is written by the caller).
    async fn run(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        digest: &str,
        context: &RequestContext<RoleServer>,
    ) -> Done {
        let gw = &self.gateway;
        let Some((up_name, tool_name)) = name.split_once(SEP) else {
            return refused(
                "unknown",
                format!("unknown tool `{name}`: the gateway's tools are named `upstream__tool`"),
            );
        };
        let Some(up) = gw.upstream(up_name) else {
            return refused(
                "unknown",
                format!("unknown tool `{name}`: there is no upstream `{up_name}`"),
            );
        };
        // An approval or pin since the last listing may have released it.
        if up.quarantine(Kind::Tool, tool_name).is_some() {
            gw.recheck_pins().await;
        }
        if let Some(q) = up.quarantine(Kind::Tool, tool_name) {
            gw.counters
                .calls_quarantined
                .fetch_add(1, Ordering::Relaxed);
            return refused(
                "quarantined",
                format!(
                    "not called: `{name}` is quarantined: {}. Nothing was sent to the upstream. A person must review it and run `portcullis gateway approve {up_name} {tool_name}`.",
                    q.reason
                ),
            );
        }
        let Some(tool) = up.tool(tool_name) else {
            return refused(
                "unknown",
                format!(
                    "unknown tool `{name}`: upstream `{up_name}` does not offer `{tool_name}`{}",
                    match up.status() {
                        Status::Ready => String::new(),
                        Status::Starting => " (it is still starting)".into(),
                        Status::Down(why) => format!(" (it is down: {why})"),
                    }
                ),
            );
        };
        let decision = gw.decide(name, tool.annotations.as_ref(), args);
        let mut consent = None;
        match decision.verdict {
            Verdict::Deny => {
                gw.counters.calls_denied.fetch_add(1, Ordering::Relaxed);
                let mut d = refused(
                    "denied",
                    format!(
                        "not called: the gateway policy denies `{name}` ({}). Do not retry; ask the operator if it is needed.",
                        decision.reason
                    ),
                );
                d.decision = Some(Verdict::Deny);
                return d;
            }
            Verdict::Consent => {
                if let Err((message, answer)) = self
                    .consent(context, name, args, digest, &decision.reason)
                    .await
                {
                    let mut d = refused("not_approved", message);
                    d.decision = Some(Verdict::Consent);
                    d.consent = Some(answer);
                    return d;
                }
                consent = Some("approved");
                // The tool may have changed while the person read the prompt.
                if up.quarantine(Kind::Tool, tool_name).is_some()
                    || up.tool(tool_name) != Some(tool.clone())
                {
                    gw.counters
                        .calls_quarantined
                        .fetch_add(1, Ordering::Relaxed);
                    let mut d = refused(
                        "quarantined",
                        format!(
                            "not called: `{name}` changed while its approval was asked; nothing was sent"
                        ),
                    );
                    d.decision = Some(Verdict::Consent);
                    d.consent = consent;
                    return d;
                }
            }
            Verdict::Allow => {}
        }
        let fail = |message: String| {
            gw.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
            let mut d = refused("failed", message);
            d.decision = Some(decision.verdict);
            d.consent = consent;
            d
        };
        // Fail closed: nothing is forwarded unless its record can be written.
        if let Err(why) = gw.recorder.ready() {
            return fail(format!(
                "not called: the audit trail is not writable ({why})"
            ));
        }
        let Some(peer) = up.peer() else {
            return fail(format!(
                "not called: upstream `{up_name}` is not running ({}); try again shortly",
                match up.status() {
                    Status::Down(why) => why,
                    _ => "starting".into(),
                }
            ));
        };
        let pass = match gw.breakers.check(up_name) {
            Ok(p) => p,
            Err(open) => {
                return fail(format!(
                    "not called: upstream `{up_name}` is failing and its circuit breaker is open ({open}); try again later"
                ));
            }
        };
        let Ok(_permit) = Arc::clone(&up.permits).acquire_owned().await else {
            return fail("not called: the gateway is stopping".into());
        };
        // The call sent is the call approved: its digest is computed again from what is sent.
        let sent = args.clone();
        if call_digest(up_name, tool_name, &sent) != digest {
            return fail("not called: the request changed after it was decided".into());
        }
        let params = CallToolRequestParams::new(tool_name.to_string()).with_arguments(sent);
        let answer = tokio::time::timeout(up.config.timeout, peer.call_tool(params)).await;
        use portcullis_resilience::breaker::{Failure, Verdict as BV};
        match answer {
            Ok(Ok(mut result)) => {
                gw.breakers.record(pass, BV::Success);
                gw.counters.calls_forwarded.fetch_add(1, Ordering::Relaxed);
                let masked = redact_result(&mut result);
                Done {
                    outcome: if result.is_error == Some(true) {
                        "upstream_error"
                    } else {
                        "ok"
                    },
                    result,
                    decision: Some(decision.verdict),
                    reason: (masked > 0).then(|| format!("{masked} secret value(s) masked")),
                    consent,
                }
            }
            Ok(Err(e)) => {
                gw.breakers
                    .record(pass, BV::Failure(Failure::Connect(e.to_string())));
                fail(format!(
                    "upstream `{up_name}` failed the call: {}",
                    super::redact::scrub_text(&e.to_string())
                ))
            }
            Err(_) => {
                gw.breakers.record(pass, BV::Failure(Failure::Timeout));
                fail(format!(
                    "upstream `{up_name}` did not answer within {} s",
                    up.config.timeout.as_secs()
                ))
            }
        }
    }
}

impl GatewayServer {
    /// One `prompts/get`, start to result: prompts are reads (a `deny` or `consent` rule naming
    /// one still applies), pinned like tools, and their messages pass redaction.
    async fn prompt(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        digest: &str,
        context: &RequestContext<RoleServer>,
    ) -> (
        &'static str,
        Option<Verdict>,
        Result<GetPromptResult, String>,
    ) {
        let gw = &self.gateway;
        let Some((up_name, prompt_name)) = name.split_once(SEP) else {
            return (
                "unknown",
                None,
                Err(format!(
                    "unknown prompt `{name}`: the gateway's prompts are named `upstream__prompt`"
                )),
            );
        };
        let Some(up) = gw.upstream(up_name) else {
            return (
                "unknown",
                None,
                Err(format!(
                    "unknown prompt `{name}`: there is no upstream `{up_name}`"
                )),
            );
        };
        if up.quarantine(Kind::Prompt, prompt_name).is_some() {
            gw.recheck_pins().await;
        }
        if let Some(q) = up.quarantine(Kind::Prompt, prompt_name) {
            gw.counters
                .calls_quarantined
                .fetch_add(1, Ordering::Relaxed);
            return (
                "quarantined",
                None,
                Err(format!(
                    "`{name}` is quarantined: {}. Nothing was sent to the upstream. A person must review it and run `portcullis gateway approve --kind prompt {up_name} {prompt_name}`.",
                    q.reason
                )),
            );
        }
        if up.prompt(prompt_name).is_none() {
            return (
                "unknown",
                None,
                Err(format!(
                    "unknown prompt `{name}`: upstream `{up_name}` does not offer `{prompt_name}`"
                )),
            );
        }
        let read = ToolAnnotations::new().read_only(true);
        let decision = gw.decide(name, Some(&read), args);
        match decision.verdict {
            Verdict::Deny => {
                gw.counters.calls_denied.fetch_add(1, Ordering::Relaxed);
                return (
                    "denied",
                    Some(Verdict::Deny),
                    Err(format!(
                        "the gateway policy denies `{name}` ({})",
                        decision.reason
                    )),
                );
            }
            Verdict::Consent => {
                if let Err((message, _)) = self
                    .consent(context, name, args, digest, &decision.reason)
                    .await
                {
                    return ("not_approved", Some(Verdict::Consent), Err(message));
                }
            }
            Verdict::Allow => {}
        }
        if let Err(why) = gw.recorder.ready() {
            return (
                "failed",
                Some(decision.verdict),
                Err(format!("not sent: the audit trail is not writable ({why})")),
            );
        }
        let Some(peer) = up.peer() else {
            return (
                "failed",
                Some(decision.verdict),
                Err(format!(
                    "upstream `{up_name}` is not running; try again shortly"
                )),
            );
        };
        let Ok(_permit) = Arc::clone(&up.permits).acquire_owned().await else {
            return (
                "failed",
                Some(decision.verdict),
                Err("the gateway is stopping".into()),
            );
        };
        let mut params = GetPromptRequestParams::new(prompt_name.to_string());
        if !args.is_empty() {
            params = params.with_arguments(args.clone());
        }
        match tokio::time::timeout(up.config.timeout, peer.get_prompt(params)).await {
            Ok(Ok(mut result)) => {
                gw.counters.calls_forwarded.fetch_add(1, Ordering::Relaxed);
                for m in &mut result.messages {
                    if let ContentBlock::Text(t) = &mut m.content {
                        super::redact::mask_text(&mut t.text);
                    }
                }
                ("ok", Some(decision.verdict), Ok(result))
            }
            Ok(Err(e)) => {
                gw.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
                (
                    "failed",
                    Some(decision.verdict),
                    Err(format!(
                        "upstream `{up_name}` failed: {}",
                        super::redact::scrub_text(&e.to_string())
                    )),
                )
            }
            Err(_) => {
                gw.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
                (
                    "failed",
                    Some(decision.verdict),
                    Err(format!(
                        "upstream `{up_name}` did not answer within {} s",
                        up.config.timeout.as_secs()
                    )),
                )
            }
        }
    }
}

impl GatewayServer {
    /// One `resources/read`: routed to the upstream that lists the URI (or whose pinned template
    /// matches it), a read (a `deny` or `consent` rule naming `upstream__name` applies), text
    /// contents redacted.
    async fn resource(
        &self,
        uri: &str,
        context: &RequestContext<RoleServer>,
    ) -> (
        String,
        &'static str,
        Option<Verdict>,
        Result<ReadResourceResult, String>,
    ) {
        let gw = &self.gateway;
        let (up, name) = match gw.route(uri) {
            Ok(found) => found,
            Err(why) => return (String::new(), "unknown", None, Err(why)),
        };
        let up_name = up.config.name.clone();
        let full = format!("{up_name}{SEP}{name}");
        let read = ToolAnnotations::new().read_only(true);
        let args: serde_json::Map<String, Value> =
            [("uri".to_string(), Value::String(uri.to_string()))]
                .into_iter()
                .collect();
        let digest = call_digest(&up_name, &name, &args);
        let decision = gw.decide(&full, Some(&read), &args);
        match decision.verdict {
            Verdict::Deny => {
                gw.counters.calls_denied.fetch_add(1, Ordering::Relaxed);
                return (
                    up_name,
                    "denied",
                    Some(Verdict::Deny),
                    Err(format!(
                        "the gateway policy denies `{full}` ({})",
                        decision.reason
                    )),
                );
            }
            Verdict::Consent => {
                if let Err((message, _)) = self
                    .consent(context, &full, &args, &digest, &decision.reason)
                    .await
                {
                    return (
                        up_name,
                        "not_approved",
                        Some(Verdict::Consent),
                        Err(message),
                    );
                }
            }
            Verdict::Allow => {}
        }
        if let Err(why) = gw.recorder.ready() {
            return (
                up_name,
                "failed",
                Some(decision.verdict),
                Err(format!("not sent: the audit trail is not writable ({why})")),
            );
        }
        let Some(peer) = up.peer() else {
            return (
                up_name.clone(),
                "failed",
                Some(decision.verdict),
                Err(format!(
                    "upstream `{up_name}` is not running; try again shortly"
                )),
            );
        };
        let Ok(_permit) = Arc::clone(&up.permits).acquire_owned().await else {
            return (
                up_name,
                "failed",
                Some(decision.verdict),
                Err("the gateway is stopping".into()),
            );
        };
        match tokio::time::timeout(
            up.config.timeout,
            peer.read_resource(ReadResourceRequestParams::new(uri)),
        )
        .await
        {
            Ok(Ok(mut result)) => {
                gw.counters.calls_forwarded.fetch_add(1, Ordering::Relaxed);
                for c in &mut result.contents {
                    if let ResourceContents::TextResourceContents { text, .. } = c {
                        super::redact::mask_text(text);
                    }
                }
                (up_name, "ok", Some(decision.verdict), Ok(result))
            }
            Ok(Err(e)) => {
                gw.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
                let message = format!(
                    "upstream `{up_name}` failed: {}",
                    super::redact::scrub_text(&e.to_string())
                );
                (up_name, "failed", Some(decision.verdict), Err(message))
            }
            Err(_) => {
                gw.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
                let message = format!(
                    "upstream `{up_name}` did not answer within {} s",
                    up.config.timeout.as_secs()
                );
                (up_name, "failed", Some(decision.verdict), Err(message))
            }
        }
    }
}

impl GatewayServer {
    /// The one audit record of a `prompts/get` or `resources/read` (`detail` under `gateway`),
    /// then its answer: the result, or an MCP error (internal for a failure, invalid params for a
    /// refusal); withheld when the record cannot be written.
    async fn answer<T, R: From<T>>(
        &self,
        name: String,
        started: Instant,
        outcome: &str,
        detail: Value,
        result: Result<T, String>,
    ) -> Result<R, McpError> {
        let mut event = portcullis_audit::Event::tool_call(name);
        event.principal = Some("owner".into());
        event.latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Err(why) = &result {
            event.error = Some(why.clone());
        }
        event.detail = Some(json!({ "gateway": detail }));
        if let Err(why) = self.gateway.recorder.record_async(Arc::new(event)).await {
            tracing::warn!("portcullis: gateway: {why}");
            return Err(McpError::internal_error(
                format!("the audit trail is not writable ({why}); the result is withheld"),
                None,
            ));
        }
        match result {
            Ok(r) => Ok(r.into()),
            Err(message) if outcome == "failed" => Err(McpError::internal_error(message, None)),
            Err(message) => Err(McpError::invalid_params(message, None)),
        }
    }
}

/// The digest a call is approved and recorded by: (upstream, tool, canonical arguments).
pub fn call_digest(upstream: &str, tool: &str, args: &serde_json::Map<String, Value>) -> String {
    portcullis_gateway::canonical::digest(&json!({
        "upstream": upstream,
        "tool": tool,
        "arguments": Value::Object(args.clone()),
    }))
}

/// Masks secrets in a result's text blocks and structured content; how many.
fn redact_result(result: &mut CallToolResult) -> usize {
    let mut n = 0;
    for block in &mut result.content {
        match block {
            ContentBlock::Text(t) => n += super::redact::mask_text(&mut t.text),
            ContentBlock::Resource(r) => {
                if let rmcp::model::ResourceContents::TextResourceContents { text, .. } =
                    &mut r.resource
                {
                    n += super::redact::mask_text(text);
                }
            }
            _ => {}
        }
    }
    if let Some(s) = result.structured_content.as_mut() {
        n += super::redact::mask_json(s);
    }
    n
}

impl ServerHandler for GatewayServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(
            "portcullis-gateway",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(
            "Tools and prompts of other MCP servers, named `upstream__name`, behind Portcullis: only pinned, unchanged \
             definitions are offered; calls are checked against a policy and some ask a person to approve them.",
        )
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Ok(mut d) = self.gateway.downstream.lock() {
            d.retain(|p| !p.is_transport_closed());
            d.push(context.peer.clone());
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.gateway.relist().await;
        Ok(ListToolsResult::with_all_items(self.gateway.served_tools()))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.gateway.relist().await;
        Ok(ListPromptsResult::with_all_items(
            self.gateway.served_prompts(),
        ))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.gateway.relist().await;
        Ok(ListResourcesResult::with_all_items(
            self.gateway.served_resources(),
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        self.gateway.relist().await;
        Ok(ListResourceTemplatesResult::with_all_items(
            self.gateway.served_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let started = Instant::now();
        let uri = request.uri.clone();
        let (up_name, outcome, decision, result) = self.resource(&uri, &context).await;
        let detail = json!({
            "method": "resources/read",
            "upstream": up_name,
            "uri": uri,
            "decision": decision.map(Verdict::as_str),
            "outcome": outcome,
        });
        self.answer(
            format!("resources/read {uri}"),
            started,
            outcome,
            detail,
            result,
        )
        .await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let started = Instant::now();
        let name = request.name.clone();
        let args = request.arguments.unwrap_or_default();
        let (up_name, prompt_name) = name.split_once(SEP).unwrap_or(("", name.as_str()));
        let digest = call_digest(up_name, prompt_name, &args);
        let (outcome, decision, result) = self.prompt(&name, &args, &digest, &context).await;
        let detail = json!({
            "method": "prompts/get",
            "upstream": up_name,
            "prompt": prompt_name,
            "argumentsSha256": digest,
            "decision": decision.map(Verdict::as_str),
            "outcome": outcome,
        });
        self.answer(name.clone(), started, outcome, detail, result)
            .await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let (up_name, tool_name) = name.split_once(SEP).unwrap_or(("", name.as_str()));
        let digest = call_digest(up_name, tool_name, &args);
        let done = self.run(&name, &args, &digest, &context).await;
        let mut event = portcullis_audit::Event::tool_call(name.clone());
        event.principal = Some("owner".into());
        event.latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        event.response_bytes = serde_json::to_vec(&done.result)
            .ok()
            .map(|b| b.len() as u64);
        if done.result.is_error == Some(true) && done.outcome != "upstream_error" {
            event.error = done.reason.clone();
        }
        event.detail = Some(json!({
            "gateway": {
                "upstream": up_name,
                "tool": tool_name,
                "argumentsSha256": digest,
                "decision": done.decision.map(Verdict::as_str),
                "consent": done.consent,
                "outcome": done.outcome,
                "reason": done.reason,
            }
        }));
        match self.gateway.recorder.record_async(Arc::new(event)).await {
            Ok(()) => Ok(done.result.into()),
            Err(why) => {
                tracing::warn!("portcullis: gateway: {why}");
                Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "the audit trail is not writable ({why}); the result is withheld"
                ))])
                .into())
            }
        }
    }
}
