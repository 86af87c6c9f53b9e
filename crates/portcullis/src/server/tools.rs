//! The MCP tools: their schemas and annotations, and how a call maps onto the pipeline.

use std::sync::Arc;

use std::collections::HashMap;

use portcullis_audit::Event;
use rmcp::Peer;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, InputRequiredResult, InputResponses,
    JsonObject, Tool, ToolAnnotations,
};
use rmcp::service::RoleServer;
use serde_json::{Value, json};

use super::consent::{self, ConsentStore};
use super::regions::{self, RegionCache};
use crate::pipeline::record;
use crate::pipeline::stages::{self, Stack};
use crate::pipeline::{Answer, Approver, Assessment, Job, Outcome, ParseRefusal, Parsed, Pipeline};
use crate::redact;

pub const CALL_AWS: &str = "call_aws";
pub const CHECK_AWS_COMMAND: &str = "check_aws_command";
pub const SUGGEST_AWS_COMMANDS: &str = "suggest_aws_commands";
pub const GET_BLAST_RADIUS: &str = "get_blast_radius";

/// The most commands one `call_aws` call may carry.
pub const MAX_BATCH: usize = 20;

fn object(v: Value) -> Arc<JsonObject> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

/// Every tool the server offers; `file_note` says which local files commands may reach.
pub fn all(file_note: &str) -> Vec<Tool> {
    let decision_schema = json!({
        "type": "object",
        "properties": {
            "outcome": { "type": "string", "enum": ["allow", "consent", "deny"] },
            "reasons": { "type": "array", "items": { "type": "string" } },
            "rule_ids": { "type": "array", "items": { "type": "string" } }
        }
    });
    let call_aws = Tool::new_with_raw(
        CALL_AWS,
        Some(
            format!(
                "Run AWS CLI commands natively (no shell: one command per entry, starting with `aws`). Each command is \
             checked against the server's policy: reads run, writes may ask the person for approval, denied commands \
             do not run and the reason says what to change. Output is what the AWS CLI prints (JSON by default; \
             --query and --output work). Commands without `--region` go to the server's default region (its \
             AWS_REGION, else us-east-1). The credentials are fixed when the server starts: `--profile` is refused. \
             Pass a list to run up to 20 commands in one call, e.g. [\"aws s3api list-buckets\", \"aws sts \
             get-caller-identity\"]; each gets its own result. `--region *` runs a command in every enabled region the \
             policy allows (it counts as one of the 20). To see how a command parses and whether the policy would \
             allow it, ask for approval or deny it without running it, use `check_aws_command`. {file_note}"
            )
            .into(),
        ),
        object(json!({
            "type": "object",
            "properties": {
                "cli_command": {
                    "description": "An AWS CLI command, e.g. `aws s3api list-buckets`, or a list of up to 20 commands run one after another, each with its own result.",
                    "anyOf": [
                        { "type": "string", "minLength": 1 },
                        { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1, "maxItems": MAX_BATCH }
                    ]
                },
                "max_results": {
                    "description": "At most this many items from a paginated operation (like --max-items; the smaller of the two wins).",
                    "type": "integer",
                    "minimum": 1
                }
            },
            "required": ["cli_command"],
            "additionalProperties": false
        })),
    )
    .with_raw_output_schema(object(json!({
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "command": { "type": "string" },
                        "status": { "type": "string", "enum": ["success", "error", "invalid", "denied", "declined", "cancelled", "consent_unavailable", "consent_failed"] },
                        "output": { "type": "string" },
                        "warnings": { "type": "array", "items": { "type": "string" }, "description": "How abbreviated options were read, and values outside the pinned model's enums, patterns or maxima (sent as given)." },
                        "error": { "type": "string" },
                        "decision": decision_schema
                    },
                    "required": ["command", "status"]
                }
            }
        },
        "required": ["results"]
    })))
    .with_annotations(
        ToolAnnotations::with_title("Run AWS CLI commands").read_only(false).destructive(true).idempotent(false).open_world(true),
    )
    .with_title("Run AWS CLI commands");
    let check = Tool::new_with_raw(
        CHECK_AWS_COMMAND,
        Some(
            "Check an AWS CLI command without running it: how it parses (or why it does not), the IAM actions and \
             access level it needs, and whether the policy would allow it, ask for approval, or deny it (with reasons \
             and rule ids). Nothing is sent to AWS."
                .into(),
        ),
        object(json!({
            "type": "object",
            "properties": { "cli_command": { "type": "string", "minLength": 1, "description": "The AWS CLI command, e.g. `aws s3api put-object --bucket b --key k`." } },
            "required": ["cli_command"],
            "additionalProperties": false
        })),
    )
    .with_raw_output_schema(object(json!({
        "type": "object",
        "properties": {
            "ok": { "type": "boolean" },
            "command": { "type": "string" },
            "operation": { "type": "string" },
            "api_operation": { "type": "string" },
            "request": { "type": "object", "description": "The request as parsed: service, operation, parameters and global options." },
            "digest": { "type": "string" },
            "classification": { "type": "object" },
            "decision": decision_schema,
            "identity": { "type": "object", "description": "The account and ARN of the credentials that would run the command." },
            "message": { "type": "string" },
            "problems": { "type": "array", "items": { "type": "object" }, "description": "Each problem with the command: where, what, and a suggestion." }
        },
        "required": ["ok", "command"]
    })))
    .with_annotations(
        ToolAnnotations::with_title("Check an AWS CLI command").read_only(true).destructive(false).idempotent(true).open_world(false),
    )
    .with_title("Check an AWS CLI command");
    let suggest = Tool::new_with_raw(
        SUGGEST_AWS_COMMANDS,
        Some(
            "Find the AWS CLI commands for a task described in plain words (e.g. `list the objects in an S3 bucket`): \
             the 5 most relevant operations with a one-line summary and their required options. Offline: nothing \
             leaves the machine and nothing runs."
                .into(),
        ),
        object(json!({
            "type": "object",
            "properties": { "query": { "type": "string", "minLength": 1, "maxLength": 1000, "description": "What you want to do, in plain words." } },
            "required": ["query"],
            "additionalProperties": false
        })),
    )
    .with_raw_output_schema(object(json!({
        "type": "object",
        "properties": {
            "suggestions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "command": { "type": "string" },
                        "service": { "type": "string" },
                        "operation": { "type": "string" },
                        "summary": { "type": "string" },
                        "required": { "type": "array", "items": { "type": "string" } },
                        "score": { "type": "number" }
                    },
                    "required": ["command", "required"]
                }
            }
        },
        "required": ["suggestions"]
    })))
    .with_annotations(
        ToolAnnotations::with_title("Suggest AWS CLI commands").read_only(true).destructive(false).idempotent(true).open_world(false),
    )
    .with_title("Suggest AWS CLI commands");
    let blast = Tool::new_with_raw(
        GET_BLAST_RADIUS,
        Some(
            "What the server's AWS credentials could do, and what of it you can do through this server: per service \
             and access level (List, Read, Write, Permissions management, Tagging) allowed on all resources, some, \
             only under conditions, or not at all; risky capabilities (privilege escalation paths, data \
             exfiltration, resource and credential exposure, destruction) with the policy statements granting them; \
             and whether this server's policy leaves each open, asks for approval, or closes it. Read-only: computed \
             once from the identity's IAM policies, then served from the cache (`refresh` recomputes)."
                .into(),
        ),
        object(json!({
            "type": "object",
            "properties": {
                "service": { "type": "string", "description": "Only this service's row (its IAM prefix, e.g. `s3`); findings are always all shown." },
                "refresh": { "type": "boolean", "description": "Read the IAM policies again instead of the cached report." }
            },
            "additionalProperties": false
        })),
    )
    .with_annotations(
        ToolAnnotations::with_title("Blast radius of the server's credentials").read_only(true).destructive(false).idempotent(true).open_world(true),
    )
    .with_title("Blast radius of the server's credentials");
    vec![call_aws, check, suggest, blast]
}

/// The cached blast-radius report: computed on first use, then served from here.
#[derive(Default)]
pub struct BlastCache {
    report: tokio::sync::Mutex<Option<Value>>,
}

/// `get_blast_radius`: the report on the server's own identity through its policy (see
/// [`crate::blast`]), computed once and cached.
pub async fn get_blast_radius(
    pipeline: &Arc<Pipeline>,
    cache: &BlastCache,
    args: &JsonObject,
) -> (CallToolResult, Event) {
    let mut event = Event::tool_call(GET_BLAST_RADIUS);
    let service = match args.get("service") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => Some(s.to_ascii_lowercase()),
        Some(v) => {
            let m = format!("`service` must be an IAM service prefix such as `s3`, not {v}");
            event.error = Some(m.clone());
            return (error_result(m), event);
        }
    };
    let refresh = match args.get("refresh") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            let m = format!("`refresh` must be true or false, not {v}");
            event.error = Some(m.clone());
            return (error_result(m), event);
        }
    };
    let policy = pipeline.policy();
    // The report reads IAM with the server's credentials: only where the policy lets it.
    let gate = crate::blast::gate(policy);
    if let portcullis_blast::Gate::Closed(why) = gate(
        "iam:GetAccountAuthorizationDetails",
        portcullis_iam::AccessLevel::Read,
    ) {
        let m = format!(
            "the policy does not let this server read IAM policies ({why}); an operator can run `portcullis iam blast-radius --from-export FILE` instead"
        );
        event.error = Some(m.clone());
        return (error_result(m), event);
    }
    let mut cached = cache.report.lock().await;
    if refresh || cached.is_none() {
        let computed = async {
            let live = crate::blast::read_live(pipeline.engine()).await?;
            let export =
                portcullis_blast::Export::parse(&live.export.to_string()).map_err(|e| {
                    anyhow::anyhow!("the account's authorization details do not read: {e}")
                })?;
            let id = export
                .find(&live.principal)
                .ok_or_else(|| anyhow::anyhow!("{} is not in its own account's details", live.principal))?;
            // Scoped credentials: the session's permissions, the role's within the session policy.
            let mut unread = live.unread;
            let session = match &pipeline.scoped {
                Some(sp) if sp.managed.is_empty() => {
                    Some(vec![portcullis_iam_eval::Policy::parse("portcullis-session-policy", &sp.inline())?])
                }
                Some(sp) => {
                    unread.push(format!(
                        "the session policy's managed part ({}) is AWS's and not evaluated: the report shows the role's permissions without it",
                        sp.managed.join(", ")
                    ));
                    None
                }
                None => None,
            };
            let report = portcullis_blast::Report::for_session(&export, id, session)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let through = report.through(&gate);
            let mut v = serde_json::to_value(&through)?;
            v["caller"] = json!(live.caller);
            v["mode"] = json!(policy.mode().as_str());
            v["unread"] = json!(unread);
            anyhow::Ok(v)
        }
        .await;
        match computed {
            Ok(v) => *cached = Some(v),
            Err(e) => {
                let m = format!("cannot compute the blast radius: {e:#}");
                event.error = Some(m.clone());
                return (error_result(m), event);
            }
        }
    }
    let mut report = cached.clone().unwrap_or_default();
    drop(cached);
    if let Some(svc) = &service
        && let Some(rows) = report["services"].as_array_mut()
    {
        rows.retain(|r| r["prefix"].as_str() == Some(svc.as_str()));
    }
    event.detail = Some(json!({
        "principal": report["principal"]["arn"],
        "findings": report["findings"].as_array().map_or(0, Vec::len),
        "service": service,
        "refresh": refresh,
    }));
    (CallToolResult::structured(report), event)
}

/// `suggest_aws_commands`: the offline ranking of [`portcullis_model::suggest`].
pub fn suggest_aws_commands(args: &JsonObject) -> (CallToolResult, Event) {
    let mut event = Event::tool_call(SUGGEST_AWS_COMMANDS);
    let query = match args.get("query") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 1000 => s.clone(),
        _ => {
            let m = "`query` must be a non-empty string of at most 1000 characters, e.g. `list my S3 buckets`".to_string();
            event.error = Some(m.clone());
            return (error_result(m), event);
        }
    };
    let suggestions = portcullis_model::suggest::index().search(&query, 5);
    event.detail = Some(
        json!({ "query": query, "suggested": suggestions.iter().map(|s| s.command.clone()).collect::<Vec<_>>() }),
    );
    (
        CallToolResult::structured(json!({ "suggestions": suggestions })),
        event,
    )
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// `max_results`: at most this many items from a paginated operation (as the awslabs server).
fn max_results(args: &JsonObject) -> Result<Option<u64>, String> {
    match args.get("max_results") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!("`max_results` must be a positive integer, not {v}")),
        },
    }
}

/// `cli_command` as a list of commands, or a message saying what is wrong with it.
fn commands(args: &JsonObject) -> Result<Vec<String>, String> {
    let list = match args.get("cli_command") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    Value::String(s) => out.push(s.clone()),
                    _ => return Err("`cli_command` must be a string or a list of strings".into()),
                }
            }
            out
        }
        Some(_) => return Err("`cli_command` must be a string or a list of strings".into()),
        None => {
            return Err(
                "missing `cli_command`: pass the AWS CLI command, e.g. `aws s3api list-buckets`"
                    .into(),
            );
        }
    };
    if list.is_empty() {
        return Err("`cli_command` is an empty list: pass at least one command".into());
    }
    if list.len() > MAX_BATCH {
        return Err(format!(
            "`cli_command` holds {} commands; at most {MAX_BATCH} per call",
            list.len()
        ));
    }
    Ok(list)
}

/// How the client asks for consent, and its answers when it calls again.
pub struct CallContext<'a> {
    pub peer: &'a Peer<RoleServer>,
    /// The client negotiated 2026-07-28 or later: consent goes by `InputRequiredResult`.
    pub multi_round_trip: bool,
    /// The client declared the elicitation capability (for this request, on 2026-07-28).
    pub can_elicit: bool,
    pub input_responses: Option<&'a InputResponses>,
    pub request_state: Option<&'a str>,
    pub consents: &'a ConsentStore,
    pub regions: &'a RegionCache,
    /// The stages after assess, with the server's audit trail and metrics.
    pub stack: &'a Stack,
    pub metrics: &'a super::metrics::Metrics,
    /// The request's `progressToken`, when the client sent one: long-running commands (a
    /// waiter's polls) report their progress to it.
    pub progress: Option<Arc<ProgressTarget>>,
    /// Who the call is for, as the rate limits count it.
    pub caller: crate::pipeline::limits::Caller,
}

/// Where a long-running command's progress goes: `notifications/progress` with the request's
/// `progressToken`, sent in order and before the result. The value keeps growing over a batch.
pub struct ProgressTarget {
    token: rmcp::model::ProgressToken,
    /// The last value sent (the next command of a batch starts above it).
    sent: std::sync::Mutex<f64>,
}

impl ProgressTarget {
    pub fn new(token: rmcp::model::ProgressToken) -> Self {
        Self {
            token,
            sent: std::sync::Mutex::new(0.0),
        }
    }

    fn last(&self) -> f64 {
        *self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One command's [`portcullis_wire::extra::Progress`]: its reports, offset by what the batch
/// already reported, queued for the peer.
struct ProgressRelay {
    target: Arc<ProgressTarget>,
    base: f64,
    queue: tokio::sync::mpsc::UnboundedSender<rmcp::model::ProgressNotificationParam>,
}

impl portcullis_wire::extra::Progress for ProgressRelay {
    fn report(&self, progress: f64, total: Option<f64>, message: &str) {
        let value = self.base + progress;
        let mut sent = self.target.sent.lock().unwrap_or_else(|p| p.into_inner());
        if value <= *sent {
            return;
        }
        *sent = value;
        let mut note =
            rmcp::model::ProgressNotificationParam::new(self.target.token.clone(), value)
                .with_message(message);
        if let Some(total) = total {
            note = note.with_total(self.base + total);
        }
        let _ = self.queue.send(note);
    }
}

/// `call_aws`: every command through the pipeline, one result each. The call is an error when
/// any command did not run successfully. On a multi-round-trip client, a batch that needs consent
/// first returns the prompts and runs nothing; the retry with the answers runs it.
/// The second value is the call's audit event (the caller adds timing and records it).
pub async fn call_aws(
    pipeline: &Arc<Pipeline>,
    args: &JsonObject,
    cx: &CallContext<'_>,
) -> (CallToolResponse, Event) {
    let mut event = Event::tool_call(CALL_AWS);
    let refuse = |m: String, mut event: Event| {
        event.error = Some(m.clone());
        (error_result(m).into(), event)
    };
    let (list, max_results) = match commands(args).and_then(|l| Ok((l, max_results(args)?))) {
        Ok(l) => l,
        Err(m) => return refuse(m, event),
    };
    let written = list.len();
    // A policy that restricts accounts needs the caller's account, looked up just after
    // start-up: waited for before anything is decided, the region lookups of `--region *` too
    // (they pass the decide stage, and would be refused while the account is unknown).
    if pipeline.policy().restricts_accounts() {
        crate::pipeline::identity::wait(pipeline, std::time::Duration::from_secs(15)).await;
    }
    let (list, fanned): (Vec<String>, Vec<Option<String>>) =
        match regions::expand(pipeline, cx.regions, list).await {
            Ok(l) => l.into_iter().unzip(),
            Err(m) => return refuse(m, event),
        };
    // The assess stage (with decide): once per command, before anything runs.
    let assessing = std::time::Instant::now();
    let assessed: Vec<Result<Arc<Assessment>, ParseRefusal>> = list
        .iter()
        .map(|c| {
            pipeline
                .assess_for(c, max_results, Some(&cx.caller.principal))
                .map(Arc::new)
        })
        .collect();
    cx.metrics
        .stage("assess", assessing.elapsed().as_secs_f64());
    let needing: Vec<(usize, &Assessment)> = assessed
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.as_ref()
                .ok()
                .filter(|a| a.decision.is_consent())
                .map(|a| (i, a.as_ref()))
        })
        .collect();
    // Answers decided before anything runs (multi-round-trip); otherwise each is asked in turn.
    let mut answers: HashMap<usize, Answer> = HashMap::new();
    if cx.multi_round_trip && !needing.is_empty() {
        if let Some(state) = cx.request_state {
            answers.extend(
                cx.consents
                    .close(
                        &cx.caller.principal,
                        state,
                        &list,
                        &needing,
                        cx.input_responses,
                    )
                    .await,
            );
        } else if !cx.can_elicit {
            answers.extend(needing.iter().map(|(i, a)| (*i, consent::unavailable(a))));
        } else {
            match cx.consents.open(&cx.caller.principal, &list, &needing) {
                Ok(pending) => {
                    tracing::info!(
                        "portcullis: asking consent for {} command(s)",
                        pending.requests.len()
                    );
                    for a in &assessed {
                        event.commands.push(match a {
                            Ok(a) => record::entry(a, &Outcome::Pending),
                            Err(r) => record::invalid_entry(&r.message, &r.secrets),
                        });
                    }
                    event.error = Some(
                        "consent requested from the person (InputRequiredResult); nothing ran yet"
                            .into(),
                    );
                    return (
                        InputRequiredResult::new(Some(pending.requests), Some(pending.state))
                            .into(),
                        event,
                    );
                }
                Err(refused) => answers.extend(refused),
            }
        }
    }
    // One deadline for the whole call (the time a person takes to approve is added back, per
    // command), and the commands run a few at a time, in order of the results. A batch in which
    // someone must be asked now runs one command at a time: one prompt at a time.
    let deadline = tokio::time::Instant::now() + pipeline.call_deadline();
    let asks_now = needing.iter().any(|(i, _)| !answers.contains_key(i));
    // Progress of long-running commands (waiters, deploys) counts up over the batch, one
    // command after another.
    let reports_progress = cx.progress.is_some()
        && assessed
            .iter()
            .any(|a| matches!(a, Ok(a) if matches!(a.parsed, Parsed::Extra(_))));
    let parallel = if asks_now || reports_progress {
        1
    } else {
        pipeline.limits().settings().batch_parallel
    };
    drop(needing);
    let mut runs = Vec::with_capacity(list.len());
    for (i, (command, a)) in list.iter().zip(assessed).enumerate() {
        runs.push(run_one(
            command.clone(),
            a,
            answers.remove(&i),
            deadline,
            cx,
        ));
    }
    let done: Vec<(Value, bool, String, portcullis_audit::CommandEntry)> =
        futures_util::StreamExt::collect(futures_util::StreamExt::buffered(
            futures_util::stream::iter(runs),
            parallel.max(1),
        ))
        .await;
    let mut results = Vec::with_capacity(done.len());
    let mut texts = Vec::with_capacity(done.len());
    let mut all_ok = true;
    // Several results (a batch, a `--region *` fan-out): each text says which command it is.
    let label = written > 1 || list.len() > 1;
    let total = done.len();
    for (i, ((item, ok, text, entry), region)) in done.into_iter().zip(&fanned).enumerate() {
        let text = if label {
            let command = item
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let region = region
                .as_deref()
                .map_or_else(String::new, |r| format!(" (region {r})"));
            format!("[{}/{total}] {command}{region}\n{text}", i + 1)
        } else {
            text
        };
        event.commands.push(entry);
        all_ok &= ok;
        texts.push(ContentBlock::text(text));
        results.push(item);
    }
    let structured = json!({ "results": results });
    let mut result = if all_ok {
        CallToolResult::success(texts)
    } else {
        CallToolResult::error(texts)
    };
    result.structured_content = Some(structured);
    (result.into(), event)
}

/// One command of a `call_aws` batch through the stack: its result entry, whether it
/// succeeded, its text, and its audit entry.
async fn run_one(
    command: String,
    a: Result<Arc<Assessment>, ParseRefusal>,
    answer: Option<Answer>,
    deadline: tokio::time::Instant,
    cx: &CallContext<'_>,
) -> (Value, bool, String, portcullis_audit::CommandEntry) {
    match a {
        Ok(a) => {
            // Who approves: the answer the person already gave (multi-round-trip), else an
            // elicitation request now.
            let approver: Arc<dyn Approver> = match answer {
                Some(answer) => Arc::new(consent::Given::new(answer)),
                None => Arc::new(consent::Elicit::new(cx.peer.clone())),
            };
            let mut job = Job::new(Arc::clone(&a), approver)
                .for_caller(cx.caller.clone())
                .with_deadline(deadline);
            let recorded = match &cx.progress {
                Some(target) => {
                    let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel();
                    job = job.with_progress(Arc::new(ProgressRelay {
                        target: Arc::clone(target),
                        base: target.last(),
                        queue,
                    }));
                    let run = stages::run(cx.stack, job);
                    // Every notification is sent before the result goes back.
                    let send = async {
                        while let Some(note) = queued.recv().await {
                            let _ = cx.peer.notify_progress(note).await;
                        }
                    };
                    tokio::join!(run, send).0
                }
                None => stages::run(cx.stack, job).await,
            };
            let item = result_item(&a, &recorded.outcome);
            let text = if recorded.outcome.succeeded() {
                // The output, then a line naming what was masked (why, how to get it).
                recorded
                    .outcome
                    .execution()
                    .map(|run| run.agent_text())
                    .unwrap_or_default()
            } else {
                format!(
                    "{}: {}",
                    redact::scrub(&command, &a.secrets),
                    item.get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                )
            };
            let ok = recorded.outcome.succeeded();
            (item, ok, text, recorded.entry)
        }
        Err(r) => {
            tracing::info!("portcullis: invalid command refused");
            let problems =
                serde_json::from_str(&redact::scrub(&r.problems.to_string(), &r.secrets))
                    .unwrap_or(Value::Null);
            let error = redact::scrub(&r.message, &r.secrets);
            let text = format!("{}: {error}", redact::scrub(&command, &r.secrets));
            (
                json!({ "command": redact::scrub(&command, &r.secrets), "status": "invalid", "error": error, "problems": problems }),
                false,
                text,
                record::invalid_entry(&r.message, &r.secrets),
            )
        }
    }
}

/// A command's entry in the `call_aws` result: what became of it, as the agent reads it (the
/// request's secret values scrubbed from everything that echoes it).
fn result_item(a: &Assessment, outcome: &Outcome) -> Value {
    let scrub = |t: &str| redact::scrub(t, &a.secrets);
    let decision = json!({ "outcome": a.decision.outcome, "reasons": a.decision.reasons, "rule_ids": a.decision.rule_ids });
    let command = scrub(&a.command);
    let status = outcome.status();
    let mut item = match outcome {
        Outcome::Ran(run) => {
            let mut item = json!({ "command": command, "status": status, "output": run.shown_output(), "decision": decision });
            if let Some(e) = &run.error {
                item["error"] = Value::String(scrub(e));
            }
            // What an operator needs to find the call at AWS (also in the audit record).
            if let Some(id) = &run.request_id {
                item["request_id"] = Value::String(id.clone());
            }
            if let Some(code) = &run.error_code {
                item["error_code"] = Value::String(code.clone());
            }
            if let Some(status) = run.http_status {
                item["http_status"] = json!(status);
            }
            // What reads as `****` in the output: where, why, and how to get it.
            if !run.masked.is_empty() {
                item["masked"] = json!(run.masked);
            }
            item
        }
        Outcome::Denied => {
            json!({ "command": command, "status": status, "error": scrub(&record::denied_message(a)), "decision": decision })
        }
        Outcome::NotApproved { message, .. } | Outcome::AuditUnavailable(message) => {
            json!({ "command": command, "status": status, "error": scrub(message), "decision": decision })
        }
        Outcome::Pending | Outcome::Checked => {
            json!({ "command": command, "status": status, "decision": decision })
        }
        Outcome::Limited(r) => {
            json!({ "command": command, "status": status, "error": scrub(&r.message), "retry_after_ms": u64::try_from(r.retry_after.as_millis()).unwrap_or(u64::MAX), "decision": decision })
        }
    };
    // How abbreviated options were read, and values beyond the pinned model: the agent sees what
    // was understood (warnings quote values: never a secret one).
    if let Parsed::Call(c) = &a.parsed
        && !c.warnings.is_empty()
    {
        item["warnings"] = json!(c.warnings.iter().map(|w| scrub(w)).collect::<Vec<_>>());
    }
    item
}

/// `check_aws_command`: parse, classify and decide; nothing runs.
pub fn check_aws_command(pipeline: &Pipeline, args: &JsonObject) -> (CallToolResult, Event) {
    let mut event = Event::tool_call(CHECK_AWS_COMMAND);
    let command = match args.get("cli_command") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            let m = "`cli_command` must be a string, e.g. `aws s3api list-buckets`".to_string();
            event.error = Some(m.clone());
            return (error_result(m), event);
        }
    };
    // `--region *` (as `call_aws` runs it): checked in one region the policy allows, and said so.
    let (checked, fan_out) = match regions::wildcard(&command) {
        Some(range) => {
            let region = pipeline.fan_out_example_region();
            (
                regions::with_region(&command, &range, &region),
                Some(format!(
                    "`--region *` runs the command in every region enabled for the account that the policy allows; checked here in {region}"
                )),
            )
        }
        None => (command.clone(), None),
    };
    let result = match pipeline.assess(&checked) {
        Ok(a) => {
            let mut doc = crate::pipeline::describe(&a);
            if let Some(note) = fan_out {
                doc["fan_out"] = Value::String(note);
            }
            doc["ok"] = Value::Bool(true);
            let secrets = &a.secrets;
            doc["command"] = Value::String(redact::scrub(&command, secrets));
            // Warnings quote values (an enum or pattern miss): never a secret one.
            for pointer in ["/warnings", "/request/warnings"] {
                if let Some(Value::Array(items)) = doc.pointer_mut(pointer) {
                    for w in items.iter_mut() {
                        if let Value::String(t) = w {
                            *t = redact::scrub(t, secrets);
                        }
                    }
                }
            }
            // Whose credentials would run it: the blast radius, visible before anything runs.
            doc["identity"] = match pipeline.identity.get() {
                Some(i) if i.error.is_none() => json!({ "account": i.account, "arn": i.arn }),
                Some(i) => json!({ "unknown": i.error }),
                None => json!({ "unknown": "still being looked up" }),
            };
            event.commands.push(record::entry(&a, &Outcome::Checked));
            CallToolResult::structured(doc)
        }
        Err(r) => {
            let secrets = &r.secrets;
            let problems = serde_json::from_str(&redact::scrub(&r.problems.to_string(), secrets))
                .unwrap_or(Value::Null);
            event
                .commands
                .push(record::invalid_entry(&r.message, secrets));
            CallToolResult::structured_error(json!({
                "ok": false,
                "command": redact::scrub(&command, secrets),
                "message": redact::scrub(&r.message, secrets),
                "problems": problems,
            }))
        }
    };
    (result, event)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A secret value that misses the model's pattern is sent with a warning; the warning never
    /// quotes it (sensitive shapes are described by the validator, and the server scrubs the
    /// request's secrets from every warning).
    #[test]
    fn warnings_never_quote_a_secret() {
        let dir = std::env::temp_dir().join(format!("portcullis-warn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pipeline = Pipeline::offline(
            portcullis_policy::Policy::new(portcullis_policy::Mode::Guarded),
            dir,
            Some("us-east-1".into()),
        )
        .unwrap();
        // U+0100 is outside iam's password pattern; the password shape is sensitive.
        let canary = "CANARY\u{100}pw-1234";
        for command in [
            format!("aws iam create-login-profile --user-name u --password '{canary}'"),
            format!("aws iam create-login-profile --user --password '{canary}'"),
        ] {
            let args = json!({ "cli_command": command })
                .as_object()
                .cloned()
                .unwrap();
            let (result, _) = check_aws_command(&pipeline, &args);
            let text = serde_json::to_string(&result).unwrap();
            assert!(!text.contains("CANARY"), "{text}");
            assert!(
                text.contains("sensitive value") || text.contains("****"),
                "{text}"
            );
        }
    }
}
