//! One AWS CLI command through the stages, in DESIGN.md order: parse → classify → decide →
//! (consent, done by the caller with [`super::consent`]) → execute → shape. A stage never reaches
//! back into an earlier one, and nothing executes without an [`Assessment`] whose decision allows
//! it or whose digest a person approved.

pub mod identity;
pub mod record;

use portcullis_classify::Classification;
use portcullis_cli::{Command, ExtraCommand, OperationCall, PathPolicy, S3Command};
use portcullis_sandbox::{FileAccessMode, Sandbox};
use portcullis_policy::{AccessLevel, Decision, GlobalFlags, Policy, Request};
use portcullis_wire::execute::{Engine, ExecError};
use portcullis_wire::output::{OutputFormat, jmespath::Query};
use serde_json::{Value, json};

use crate::config::Settings;
use crate::redact;

/// The stages shared by every call: file policy, decision policy, one execution engine.
pub struct Pipeline {
    /// The only way local files are reached (the sandbox).
    files: Box<dyn PathPolicy>,
    /// What the sandbox lets commands reach, for the agent (the `call_aws` description).
    pub file_note: String,
    policy: Policy,
    engine: Engine,
    region: Option<String>,
    /// Who the pinned credentials are (resolved in the background after start-up).
    pub identity: std::sync::OnceLock<identity::Identity>,
}

/// A parsed command.
pub enum Parsed {
    /// One API call.
    Call(Box<OperationCall>),
    /// A high-level `aws s3` command (several API calls).
    S3(Box<S3Command>),
    /// Another customization (a waiter, a token command, ...).
    Extra(Box<ExtraCommand>),
    /// `--generate-cli-skeleton`: answered locally, nothing is sent.
    Skeleton(Value),
}

/// A command after parse, classify and decide: what the consent and execute stages work on.
pub struct Assessment {
    pub command: String,
    pub parsed: Parsed,
    /// `aws <service> <operation>`.
    pub display: String,
    /// The digest of the normalized request (what consent is bound to).
    pub digest: String,
    pub classification: Classification,
    /// The API operation whose classification decided (`s3.PutObject`).
    pub api_operation: String,
    pub request: Request,
    pub decision: Decision,
}

/// What [`Pipeline::assess_multi`] needs of a command that makes several API calls.
struct Multi {
    cli_service: String,
    /// The word(s) after the CLI command: `rm`, `wait`.
    sub: String,
    display: String,
    digest: String,
    calls: Vec<(String, String)>,
    /// It returns credentials whatever its API calls return (a pre-signed URL, a token).
    credentials: bool,
    destructive: bool,
    globals: portcullis_cli::GlobalOptions,
    resources: Vec<String>,
    /// The botocore service to classify as when it names no API call.
    fallback_service: String,
    /// The parameters of its one API call, when it makes one with parameters given in the
    /// command (a waiter's polled call); `Null` otherwise (classified as an upper bound).
    params: Value,
    /// IAM actions it needs beyond its calls' (what a token it signs locally stands for:
    /// `rds-db:connect`).
    actions: Vec<String>,
}

/// A refusal from the parse stage (the parser's message, with what to fix).
pub struct ParseRefusal {
    pub message: String,
    pub problems: Value,
}

/// The result of the execute and shape stages.
#[derive(Default)]
pub struct Execution {
    pub ok: bool,
    pub output: String,
    pub error: Option<String>,
    /// The AWS request id of the (last) response, for the audit record.
    pub request_id: Option<String>,
    /// The service's error code (`NoSuchBucket`), or a local kind (`deadline`, `egress`, ...).
    pub error_code: Option<String>,
    /// The HTTP status of a service error.
    pub http_status: Option<u16>,
    /// Requests sent, retries included (0 when nothing was sent).
    pub attempts: u32,
}

impl Execution {
    /// The result of a customization (`aws s3 ...`, a waiter, ...): its stdout on success, its
    /// stderr as the error otherwise.
    fn from_outcome(out: portcullis_wire::s3::S3Outcome, display: &str) -> Execution {
        if out.exit_code == 0 {
            return Execution { ok: true, output: out.stdout, ..Execution::default() };
        }
        let mut e = out.stderr.trim().to_string();
        if e.is_empty() {
            e = format!("`{display}` failed with exit code {}", out.exit_code);
        }
        let code = out.error.as_ref().and_then(|e| e.code()).map_or("command_failed", |c| c).to_string();
        Execution { ok: false, output: out.stdout, error: Some(e), error_code: Some(code), ..Execution::default() }
    }
}

impl Pipeline {
    /// Resolves the region and pins the credentials once, at start-up.
    pub async fn new(settings: Settings) -> anyhow::Result<Pipeline> {
        let hosts = settings.policy.endpoint_hosts();
        let bounds = settings.bounds;
        let engine = Engine::from_environment_with(settings.profile.clone(), false, |c| {
            // The engine checks configured endpoints and --endpoint-url again at connect time.
            c.endpoint_hosts = Some(portcullis_wire::egress::EndpointAllowList::new(hosts));
            c.max_items = Some(bounds.max_items);
            c.max_pages = bounds.max_pages;
            c.call_deadline = std::time::Duration::from_secs(bounds.call_timeout_secs);
            c.max_call_bytes = bounds.max_response_bytes;
            c.limits.max_response_bytes = c.limits.max_response_bytes.min(bounds.max_response_bytes);
        })
        .await?;
        let region = engine.default_region().map(str::to_string);
        let files = Sandbox::new(settings.file_access, &settings.working_dir)
            .map_err(|e| anyhow::anyhow!("cannot set up the file sandbox on {}: {e}", settings.working_dir.display()))?;
        tracing::info!("portcullis: {}", files.summary());
        let file_note = files.describe();
        Ok(Pipeline { files: Box::new(files), file_note, policy: settings.policy, engine, region, identity: Default::default() })
    }

    /// A pipeline for assessing only (`portcullis policy test`): no credentials, nothing is sent;
    /// `region` is the default region of the commands.
    pub fn offline(policy: Policy, working_dir: std::path::PathBuf, region: Option<String>) -> anyhow::Result<Pipeline> {
        let engine = Engine::new(portcullis_wire::execute::EngineConfig::default(), None)?;
        let files = Sandbox::new(FileAccessMode::Workdir, &working_dir)
            .map_err(|e| anyhow::anyhow!("cannot set up the file sandbox on {}: {e}", working_dir.display()))?;
        let file_note = files.describe();
        Ok(Pipeline { files: Box::new(files), file_note, policy, engine, region, identity: Default::default() })
    }

    /// A pipeline for deciding only, reading local files through `files` (`portcullis exec`, which
    /// runs for a person at their own terminal, reads files as the AWS CLI would).
    pub fn deciding(policy: Policy, files: Box<dyn PathPolicy>, region: Option<String>) -> anyhow::Result<Pipeline> {
        let engine = Engine::new(portcullis_wire::execute::EngineConfig::default(), None)?;
        Ok(Pipeline { files, file_note: String::new(), policy, engine, region, identity: Default::default() })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Parse, classify and decide. Nothing is sent.
    pub fn assess(&self, command: &str) -> Result<Assessment, ParseRefusal> {
        self.assess_limited(command, None)
    }

    /// [`Pipeline::assess`], with the item count of a paginated call capped at `max_results`
    /// (the awslabs `call_aws` argument: `--max-items` becomes the smaller of the two). The cap is
    /// part of the request, so it is inside the digest.
    pub fn assess_limited(&self, command: &str, max_results: Option<u64>) -> Result<Assessment, ParseRefusal> {
        let parser = portcullis_cli::Parser::new(&*self.files);
        match parser.parse(command) {
            Ok(Command::Call(mut call)) => {
                if let Some(limit) = max_results
                    && portcullis_model::models().paginator(&call.service, &call.operation).is_some()
                {
                    call.paging.max_items = Some(call.paging.max_items.map_or(limit, |m| m.min(limit)));
                }
                Ok(self.assess_call(command, call))
            }
            Ok(Command::S3(cmd)) => Ok(self.assess_s3(command, cmd)),
            Ok(Command::Extra(cmd)) => Ok(self.assess_extra(command, cmd)),
            Ok(Command::Skeleton { skeleton, .. }) => {
                let skeleton = serde_json::to_value(&skeleton).unwrap_or(Value::Null);
                Ok(self.assess_skeleton(command, skeleton))
            }
            Err(err) => Err(ParseRefusal {
                message: err.to_string(),
                problems: serde_json::to_value(&err.problems).unwrap_or(Value::Null),
            }),
        }
    }

    fn assess_call(&self, command: &str, call: OperationCall) -> Assessment {
        let params = portcullis_cli::Value::Map(call.params.clone()).to_json();
        let class = portcullis_classify::classify(&call.service, &call.operation, &params);
        let mut request = self.request(&call.command, &call.cli_operation, &call.service, &call.operation, &class, &call.globals);
        request.resources = portcullis_classify::resources::resources(&call.service, &call.operation, &params, request.region.as_deref(), request.account.as_deref());
        (request.parameters, request.parameters_truncated) = portcullis_policy::flatten_parameters_bounded(&params);
        let decision = self.policy.decide_enforced(&request);
        Assessment {
            command: command.to_string(),
            display: call.display_name(),
            digest: call.digest(),
            api_operation: format!("{}.{}", call.service, call.operation),
            classification: class,
            request,
            decision,
            parsed: Parsed::Call(Box::new(call)),
        }
    }

    fn assess_s3(&self, command: &str, cmd: S3Command) -> Assessment {
        let calls = cmd.api_calls().into_iter().map(|(s, o)| (s.to_string(), o.to_string())).collect();
        // A pre-signed URL is a bearer credential: whoever holds it reads the object as the
        // server's identity until it expires (up to 7 days).
        let credentials = matches!(cmd.op, portcullis_cli::S3Op::Presign { .. });
        let display = cmd.display_name();
        let sub = display.trim_start_matches("aws s3 ").to_string();
        let region = cmd.globals.region.clone().or_else(|| self.region.clone());
        let multi = Multi {
            cli_service: "s3".into(),
            sub,
            display,
            digest: cmd.digest(),
            calls,
            credentials,
            // `mv` from local files and `sync --delete` into a local directory remove local files:
            // no API call says so.
            destructive: cmd.deletes_local_files(),
            globals: cmd.globals.clone(),
            resources: s3_resources(&cmd.op, region.as_deref()),
            fallback_service: "s3".into(),
            params: Value::Null,
            actions: Vec::new(),
        };
        self.assess_multi(command, multi, Parsed::S3(Box::new(cmd)))
    }

    fn assess_extra(&self, command: &str, cmd: ExtraCommand) -> Assessment {
        let fallback_service = portcullis_model::models().command(&cmd.command).and_then(|c| c.service.clone()).unwrap_or_else(|| cmd.command.clone());
        // A waiter polls one call with the command's own arguments: the policy sees them (its
        // resources and parameters), as it sees a plain call's.
        let inner = match &cmd.kind {
            portcullis_cli::Extra::Wait(w) => Some(&w.call),
            _ => None,
        };
        let params = inner.map_or(Value::Null, |c| portcullis_cli::Value::Map(c.params.clone()).to_json());
        let region = cmd.globals.region.clone().or_else(|| self.region.clone());
        let account = self.identity.get().and_then(|i| i.account.clone());
        let resources = inner.map_or_else(Vec::new, |c| {
            portcullis_classify::resources::resources(&c.service, &c.operation, &params, region.as_deref(), account.as_deref())
        });
        let multi = Multi {
            cli_service: cmd.command.clone(),
            sub: cmd.name.clone(),
            display: cmd.display_name(),
            digest: cmd.digest(),
            calls: cmd.api_calls(),
            credentials: cmd.returns_credentials(),
            destructive: cmd.destructive(),
            globals: cmd.globals.clone(),
            resources,
            fallback_service,
            params,
            actions: cmd.iam_actions(),
        };
        self.assess_multi(command, multi, Parsed::Extra(Box::new(cmd)))
    }

    /// A command that makes several API calls (or one it does not name): the most privileged
    /// call's classification decides, actions and flags are the union of all, and each call is
    /// listed in the request so that a rule on any of them decides the command.
    fn assess_multi(&self, command: &str, m: Multi, parsed: Parsed) -> Assessment {
        let mut worst: Option<(String, String, Classification)> = None;
        let mut actions: Vec<String> = Vec::new();
        let mut dependent: Vec<String> = Vec::new();
        let mut operations = Vec::new();
        let mut flags = portcullis_classify::Flags::default();
        for (service, operation) in &m.calls {
            let c = portcullis_classify::classify(service, operation, &m.params);
            for (list, from) in [(&mut actions, &c.actions), (&mut dependent, &c.dependent_actions)] {
                for a in from {
                    if !list.contains(a) {
                        list.push(a.clone());
                    }
                }
            }
            let (cli_service, cli_operation) =
                portcullis_classify::cli_form(service, operation).unwrap_or_else(|| (service.to_string(), portcullis_model::models().kebab(operation)));
            operations.push(portcullis_policy::Operation {
                service_cli_name: cli_service,
                operation_cli_name: cli_operation,
                service: service.to_string(),
                operation: operation.to_string(),
                actions: c.all_actions().cloned().collect(),
            });
            flags.destructive |= c.flags.destructive;
            flags.returns_secret |= c.flags.returns_secret;
            flags.returns_credentials |= c.flags.returns_credentials;
            flags.side_effects |= c.flags.side_effects;
            let more = match &worst {
                None => true,
                Some((_, _, w)) => rank(c.access_level) > rank(w.access_level),
            };
            if more {
                worst = Some((service.clone(), operation.clone(), c));
            }
        }
        flags.returns_credentials |= m.credentials;
        flags.destructive |= m.destructive;
        dependent.retain(|a| !actions.contains(a));
        let (service, operation, mut class) = match worst {
            Some(w) => w,
            // No API call known: unknown, which the policy treats as a write.
            None => (m.fallback_service.clone(), String::new(), portcullis_classify::classify(&m.fallback_service, "", &Value::Null)),
        };
        // Actions beyond the calls' are named in the request like theirs, and the highest access
        // level among all decides (unknown when one is not in the catalogue).
        if !m.actions.is_empty() {
            let levels = m.actions.iter().map(|a| portcullis_iam::catalogue().action(a).map(|i| i.access_level));
            let levels: Vec<Option<AccessLevel>> = if m.calls.is_empty() { levels.collect() } else { levels.chain([class.access_level]).collect() };
            class.access_level = levels.into_iter().max_by_key(|l| rank(*l)).flatten();
            if class.access_level.is_some() {
                class.unknown_reason = None;
            }
            for a in &m.actions {
                if !actions.contains(a) {
                    actions.push(a.clone());
                }
            }
        }
        class.actions = actions;
        class.dependent_actions = dependent;
        class.flags = flags;
        let mut request = self.request(&m.cli_service, &m.sub, &service, &operation, &class, &m.globals);
        request.operations = operations;
        request.resources = m.resources;
        if !m.params.is_null() {
            (request.parameters, request.parameters_truncated) = portcullis_policy::flatten_parameters_bounded(&m.params);
        }
        let decision = self.policy.decide_enforced(&request);
        Assessment {
            command: command.to_string(),
            display: m.display,
            digest: m.digest,
            api_operation: format!("{service}.{operation}"),
            classification: class,
            request,
            decision,
            parsed,
        }
    }

    fn assess_skeleton(&self, command: &str, skeleton: Value) -> Assessment {
        // Printing a skeleton sends nothing: allowed without a rule, like `aws ... help`.
        let decision = Policy::new(portcullis_policy::Mode::Unrestricted).decide(&Request {
            service_cli_name: "(skeleton)".into(),
            operation_cli_name: "--generate-cli-skeleton".into(),
            ..Request::default()
        });
        Assessment {
            command: command.to_string(),
            display: "--generate-cli-skeleton".into(),
            digest: String::new(),
            api_operation: String::new(),
            classification: portcullis_classify::classify("", "", &Value::Null),
            request: Request::default(),
            decision,
            parsed: Parsed::Skeleton(skeleton),
        }
    }

    fn request(
        &self,
        cli_service: &str,
        cli_operation: &str,
        service: &str,
        operation: &str,
        class: &Classification,
        globals: &portcullis_cli::GlobalOptions,
    ) -> Request {
        Request {
            service_cli_name: cli_service.to_string(),
            operation_cli_name: cli_operation.to_string(),
            service: service.to_string(),
            operation: operation.to_string(),
            actions: class.all_actions().cloned().collect(),
            access_level: class.access_level,
            returns_credentials: class.flags.returns_credentials,
            returns_secret: class.flags.returns_secret,
            destructive: class.flags.destructive,
            side_effects: class.flags.side_effects,
            region: globals.region.clone().or_else(|| self.region.clone()),
            account: self.identity.get().and_then(|i| i.account.clone()),
            global_options: GlobalFlags {
                profile: globals.profile.clone(),
                endpoint_url: globals.endpoint_url.clone(),
                debug: globals.debug,
                no_verify_ssl: globals.no_verify_ssl,
                no_sign_request: globals.no_sign_request,
            },
            ..Request::default()
        }
    }

    /// Execute and shape. Only call with an assessment the policy allowed or a person approved
    /// (`approved_digest`): the digest of what runs is checked against it once more here.
    pub async fn execute(&self, a: &Assessment, approved_digest: Option<&str>) -> Execution {
        self.execute_with(a, approved_digest, &portcullis_wire::extra::NoProgress).await
    }

    /// [`Pipeline::execute`], reporting the progress of long-running customizations (a waiter's
    /// polls) to `progress`.
    pub async fn execute_with(&self, a: &Assessment, approved_digest: Option<&str>, progress: &dyn portcullis_wire::extra::Progress) -> Execution {
        if a.decision.is_deny() {
            return Execution::failed(format!("denied by policy, not executed: {}", a.decision.reasons.join("; ")));
        }
        if !a.decision.is_allow() {
            let digest_now = match &a.parsed {
                Parsed::Call(c) => c.digest(),
                Parsed::S3(c) => c.digest(),
                Parsed::Extra(c) => c.digest(),
                Parsed::Skeleton(_) => String::new(),
            };
            if approved_digest != Some(digest_now.as_str()) || digest_now != a.digest {
                return Execution::failed("refused: the request to run is not the one that was approved (digest mismatch)".into());
            }
        }
        match &a.parsed {
            Parsed::Skeleton(s) => Execution { ok: true, output: serde_json::to_string_pretty(s).unwrap_or_default(), ..Execution::default() },
            Parsed::S3(cmd) => {
                let out = portcullis_wire::s3::run(&self.engine, cmd, &*self.files).await;
                Execution::from_outcome(out, &a.display)
            }
            Parsed::Extra(cmd) => {
                let out = portcullis_wire::extra::run(&self.engine, cmd, &*self.files, progress).await;
                Execution::from_outcome(out, &a.display)
            }
            Parsed::Call(call) => {
                // Secrets in the answer are shown only when the call was decided as a secret read.
                let show_secrets = a.classification.flags.returns_secret || a.classification.flags.returns_credentials;
                self.execute_call(call, show_secrets).await
            }
        }
    }

    async fn execute_call(&self, call: &OperationCall, show_secrets: bool) -> Execution {
        let shapes = redact::shapes(&call.service, &call.operation);
        // The request's own secret values, scrubbed from any error text (services echo input).
        let input_secrets = match &shapes {
            Some((model, Some(input), _)) => redact::secrets(model, input, &portcullis_cli::Value::Map(call.params.clone()).to_json()),
            _ => Vec::new(),
        };
        let failed = |message: String| Execution::failed(redact::scrub(&message, &input_secrets));
        let format = match call.globals.output.as_deref() {
            None => OutputFormat::Json,
            Some(f) => match f.parse() {
                Ok(f) => f,
                Err(e) => return failed(format!("--output: {e}")),
            },
        };
        let query = match call.globals.query.as_deref().map(Query::compile).transpose() {
            Ok(q) => q,
            Err(e) => return failed(format!("--query: {e}")),
        };
        // Text and yaml-stream output are rendered page by page, the query applied to each page.
        let result = if format.is_page_wise() { self.engine.execute_pages(call, &*self.files).await } else { self.engine.execute(call, &*self.files).await };
        match result {
            Ok(mut out) => {
                if !show_secrets && let Some((model, _, Some(output))) = &shapes {
                    redact::mask(model, output, &mut out.value);
                    for page in &mut out.page_values {
                        redact::mask(model, output, page);
                    }
                }
                let request_id = out.request_ids.last().cloned();
                let attempts = out.attempts;
                // A bound stopped the call early: say so, with the token to go on (--query may hide NextToken).
                let truncated = out.truncated.as_ref().map(ToString::to_string);
                match out.render(&call.operation, query.as_ref(), format) {
                    Ok(mut text) => {
                        if let Some(t) = truncated {
                            if !text.ends_with('\n') {
                                text.push('\n');
                            }
                            text.push_str(&t);
                            text.push('\n');
                        }
                        Execution { ok: true, output: text, request_id, attempts, ..Execution::default() }
                    }
                    Err(e) => failed(e.to_string()),
                }
            }
            Err(ExecError::Service(e)) => Execution {
                request_id: e.request_id.clone(),
                error_code: Some(e.code.clone()),
                http_status: Some(e.status),
                ..failed(format!("An error occurred ({}) when calling the {} operation: {}", e.code, call.operation, e.message))
            },
            Err(e) => failed(e.to_string()),
        }
    }
}

impl Execution {
    fn failed(message: String) -> Execution {
        Execution { ok: false, output: String::new(), error: Some(message), ..Execution::default() }
    }
}

/// The S3 ARNs a high-level `aws s3` command touches (`bucket/prefix*` for recursive and forced
/// operations, which reach every object under it).
fn s3_resources(op: &portcullis_cli::S3Op, region: Option<&str>) -> Vec<String> {
    use portcullis_classify::resources::s3_arn;
    use portcullis_cli::{S3Op, S3Path};
    let object = |bucket: &str, key: &str, all: bool| s3_arn(bucket, Some(&if all { format!("{key}*") } else { key.to_string() }), region);
    match op {
        S3Op::Ls { bucket: Some(b), .. } | S3Op::Mb { bucket: b } | S3Op::Rb { bucket: b, force: false } => vec![s3_arn(b, None, region)],
        S3Op::Ls { bucket: None, .. } => Vec::new(),
        S3Op::Rb { bucket: b, force: true } => vec![s3_arn(b, None, region), object(b, "", true)],
        S3Op::Rm { bucket, key, recursive, .. } => vec![object(bucket, key, *recursive)],
        S3Op::Presign { bucket, key, .. } => vec![object(bucket, key, false)],
        S3Op::Cp { src, dst, recursive, .. } => [src, dst]
            .into_iter()
            .filter_map(|p| match p {
                S3Path::S3 { bucket, key } => Some(object(bucket, key, *recursive)),
                S3Path::Local { .. } => None,
            })
            .collect(),
    }
}

/// Unknown ranks above every known level: the policy treats it as a write, and worse.
fn rank(level: Option<AccessLevel>) -> usize {
    level.map_or(AccessLevel::ALL.len(), |l| AccessLevel::ALL.iter().position(|x| *x == l).unwrap_or(0))
}

/// The secret values of an assessed command, for scrubbing what is echoed back or logged.
pub fn secrets_of(a: &Assessment) -> Vec<String> {
    let call = match &a.parsed {
        Parsed::Call(c) => Some(c.as_ref()),
        _ => None,
    };
    redact::request_secrets(&a.command, call)
}

/// The classification and decision as JSON, for tool results.
pub fn describe(a: &Assessment) -> Value {
    let request = match &a.parsed {
        Parsed::Call(c) => {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            if let (Some((model, Some(input), _)), Some(params)) = (redact::shapes(&c.service, &c.operation), v.get_mut("params")) {
                redact::mask(&model, &input, params);
            }
            v
        }
        Parsed::S3(c) => serde_json::to_value(c).unwrap_or(Value::Null),
        Parsed::Extra(c) => serde_json::to_value(c).unwrap_or(Value::Null),
        Parsed::Skeleton(_) => Value::Null,
    };
    let warnings = match &a.parsed {
        Parsed::Call(c) => c.warnings.clone(),
        _ => Vec::new(),
    };
    json!({
        "command": a.command,
        // How abbreviated options were read, and values outside the pinned model's enums,
        // patterns or maxima (sent as given).
        "warnings": warnings,
        "request": request,
        "operation": a.display,
        "api_operation": a.api_operation,
        "digest": a.digest,
        "classification": a.classification,
        // Every API operation the command makes, with the actions each needs: what rules match.
        "api_calls": a.request.api_operations().iter().map(|o| json!({"command": o.command(), "api_operation": format!("{}.{}", o.service, o.operation), "actions": o.actions})).collect::<Vec<_>>(),
        "resources": a.request.resources,
        "decision": {
            "outcome": a.decision.outcome,
            "reasons": a.decision.reasons,
            "rule_ids": a.decision.rule_ids,
        },
    })
}

#[cfg(test)]
#[path = "equivalence_tests.rs"]
mod equivalence_tests;
