//! The assess and decide stages: a command parsed once, classified, its request and secrets
//! derived once, and the policy's decision on it ([`Assessment`]). Nothing is sent.

use portcullis_classify::Classification;
use portcullis_cli::{Command, ExtraCommand, OperationCall, S3Command};
use portcullis_policy::{AccessLevel, Decision, GlobalFlags, Policy, Request};
use serde_json::{Value, json};

use super::Pipeline;
use crate::redact;

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

/// A command after the assess and decide stages: parsed once, with everything later stages need
/// derived once (the parameters as JSON, the model shapes, the secret values, the digest), and the
/// policy's decision. What the consent, execute, shape and record stages work on; none of them
/// parses or derives again.
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
    /// The request's parameters as JSON (a plain call's; a waiter's polled call's), else `Null`.
    pub params: Value,
    /// The model and the input/output shapes of a plain call (masking walks them).
    pub shapes: Option<Shapes>,
    /// Every secret value of the request, longest first: scrubbed from whatever echoes the
    /// command (errors, warnings, prompts, the audit record).
    pub secrets: Vec<String>,
    /// [`Assessment::params`] with its secret values masked: what results and records show.
    pub masked_params: Value,
}

/// The model of a call's service and the names of its input and output shapes.
#[derive(Clone)]
pub struct Shapes {
    pub model: std::sync::Arc<portcullis_model::ServiceModel>,
    pub input: Option<String>,
    pub output: Option<String>,
}

impl Shapes {
    /// The shapes of `service.operation`, when the model has the operation.
    pub fn of(service: &str, operation: &str) -> Option<Shapes> {
        let model = portcullis_model::models().service(service).ok()?;
        let op = model.operation(operation)?;
        let (input, output) = (
            op.input.as_ref().map(|r| r.shape.clone()),
            op.output.as_ref().map(|r| r.shape.clone()),
        );
        Some(Shapes {
            model,
            input,
            output,
        })
    }
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
    /// The shapes of that call, when it has parameters.
    shapes: Option<Shapes>,
    /// IAM actions it needs beyond its calls' (what a token it signs locally stands for:
    /// `rds-db:connect`).
    actions: Vec<String>,
}

/// A refusal from the parse stage (the parser's message, with what to fix).
pub struct ParseRefusal {
    pub message: String,
    pub problems: Value,
    /// The secret values of the command as typed, scrubbed from whatever echoes it.
    pub secrets: Vec<String>,
}

/// The decide stage: how the policy decides on a request, and for whom (the Cedar principal:
/// `owner`, or the OAuth principal `iss#sub`).
#[derive(Clone, Copy)]
struct Decide<'a> {
    how: fn(&Policy, &Request) -> Decision,
    principal: Option<&'a str>,
}

impl Decide<'_> {
    fn decide(self, policy: &Policy, request: &mut Request) -> Decision {
        request.principal = self.principal.map(str::to_string);
        (self.how)(policy, request)
    }
}

impl Pipeline {
    /// Parse, classify and decide. Nothing is sent.
    pub fn assess(&self, command: &str) -> Result<Assessment, ParseRefusal> {
        self.assess_limited(command, None)
    }

    /// [`Pipeline::assess`], with the item count of a paginated call capped at `max_results`
    /// (the awslabs `call_aws` argument: `--max-items` becomes the smaller of the two). The cap is
    /// part of the request, so it is inside the digest.
    pub fn assess_limited(
        &self,
        command: &str,
        max_results: Option<u64>,
    ) -> Result<Assessment, ParseRefusal> {
        self.assess_for(command, max_results, None)
    }

    /// [`Pipeline::assess_limited`] for `principal` (the Cedar principal; `None`: `owner`).
    pub fn assess_for(
        &self,
        command: &str,
        max_results: Option<u64>,
        principal: Option<&str>,
    ) -> Result<Assessment, ParseRefusal> {
        self.assess_as(
            command,
            max_results,
            Decide {
                how: Policy::decide_enforced,
                principal,
            },
        )
    }

    /// The start-up identity lookup (`aws sts get-caller-identity`), decided by the policy's rule
    /// for it ([`Policy::decide_identity_lookup`]).
    pub fn assess_identity_lookup(&self) -> Result<Assessment, ParseRefusal> {
        self.assess_as(
            "aws sts get-caller-identity",
            None,
            Decide {
                how: Policy::decide_identity_lookup,
                principal: None,
            },
        )
    }

    fn assess_as(
        &self,
        command: &str,
        max_results: Option<u64>,
        decide: Decide<'_>,
    ) -> Result<Assessment, ParseRefusal> {
        let parser = portcullis_cli::Parser::new(&*self.files);
        match parser.parse(command) {
            Ok(Command::Call(mut call)) => {
                if let Some(limit) = max_results
                    && portcullis_model::models()
                        .paginator(&call.service, &call.operation)
                        .is_some()
                {
                    call.paging.max_items =
                        Some(call.paging.max_items.map_or(limit, |m| m.min(limit)));
                }
                Ok(self.assess_call(command, call, decide))
            }
            Ok(Command::S3(cmd)) => Ok(self.assess_s3(command, cmd, decide)),
            Ok(Command::Extra(cmd)) => Ok(self.assess_extra(command, cmd, decide)),
            Ok(Command::Skeleton { skeleton, .. }) => {
                let skeleton = serde_json::to_value(&skeleton).unwrap_or(Value::Null);
                Ok(self.assess_skeleton(command, skeleton))
            }
            Err(err) => Err(ParseRefusal {
                message: err.to_string(),
                problems: serde_json::to_value(&err.problems).unwrap_or(Value::Null),
                // The command did not parse: its secrets are found by reading it leniently.
                secrets: redact::command_secrets(command),
            }),
        }
    }

    fn assess_call(&self, command: &str, call: OperationCall, decide: Decide<'_>) -> Assessment {
        let params = portcullis_cli::Value::Map(call.params.clone()).to_json();
        let shapes = Shapes::of(&call.service, &call.operation);
        let class = portcullis_classify::classify(&call.service, &call.operation, &params);
        let mut request = self.request(
            &call.command,
            &call.cli_operation,
            &call.service,
            &call.operation,
            &class,
            &call.globals,
        );
        request.resources = portcullis_classify::resources::resources(
            &call.service,
            &call.operation,
            &params,
            request.region.as_deref(),
            request.account.as_deref(),
        );
        (request.parameters, request.parameters_truncated) =
            portcullis_policy::flatten_parameters_bounded(&params);
        let decision = decide.decide(&self.policy, &mut request);
        let secrets = redact::request_secrets(command, shapes.as_ref(), &params);
        let masked_params = masked(shapes.as_ref(), &params);
        Assessment {
            command: command.to_string(),
            display: call.display_name(),
            digest: call.digest(),
            api_operation: format!("{}.{}", call.service, call.operation),
            classification: class,
            request,
            decision,
            parsed: Parsed::Call(Box::new(call)),
            params,
            shapes,
            secrets,
            masked_params,
        }
    }

    fn assess_s3(&self, command: &str, cmd: S3Command, decide: Decide<'_>) -> Assessment {
        let calls = cmd
            .api_calls()
            .into_iter()
            .map(|(s, o)| (s.to_string(), o.to_string()))
            .collect();
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
            shapes: None,
            actions: Vec::new(),
        };
        self.assess_multi(command, multi, Parsed::S3(Box::new(cmd)), decide)
    }

    fn assess_extra(&self, command: &str, cmd: ExtraCommand, decide: Decide<'_>) -> Assessment {
        let fallback_service = portcullis_model::models()
            .command(&cmd.command)
            .and_then(|c| c.service.clone())
            .unwrap_or_else(|| cmd.command.clone());
        // A waiter polls one call with the command's own arguments: the policy sees them (its
        // resources and parameters), as it sees a plain call's.
        let inner = match &cmd.kind {
            portcullis_cli::Extra::Wait(w) => Some(&w.call),
            _ => None,
        };
        let params = inner.map_or(Value::Null, |c| {
            portcullis_cli::Value::Map(c.params.clone()).to_json()
        });
        let region = cmd.globals.region.clone().or_else(|| self.region.clone());
        let account = self.identity.get().and_then(|i| i.account.clone());
        let resources = inner.map_or_else(Vec::new, |c| {
            portcullis_classify::resources::resources(
                &c.service,
                &c.operation,
                &params,
                region.as_deref(),
                account.as_deref(),
            )
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
            shapes: inner.and_then(|c| Shapes::of(&c.service, &c.operation)),
            params,
            actions: cmd.iam_actions(),
        };
        self.assess_multi(command, multi, Parsed::Extra(Box::new(cmd)), decide)
    }

    /// A command that makes several API calls (or one it does not name): the most privileged
    /// call's classification decides, actions and flags are the union of all, and each call is
    /// listed in the request so that a rule on any of them decides the command.
    fn assess_multi(
        &self,
        command: &str,
        m: Multi,
        parsed: Parsed,
        decide: Decide<'_>,
    ) -> Assessment {
        let mut worst: Option<(String, String, Classification)> = None;
        let mut actions: Vec<String> = Vec::new();
        let mut dependent: Vec<String> = Vec::new();
        let mut operations = Vec::new();
        let mut flags = portcullis_classify::Flags::default();
        for (service, operation) in &m.calls {
            let c = portcullis_classify::classify(service, operation, &m.params);
            for (list, from) in [
                (&mut actions, &c.actions),
                (&mut dependent, &c.dependent_actions),
            ] {
                for a in from {
                    if !list.contains(a) {
                        list.push(a.clone());
                    }
                }
            }
            let (cli_service, cli_operation) = portcullis_classify::cli_form(service, operation)
                .unwrap_or_else(|| {
                    (
                        service.to_string(),
                        portcullis_model::models().kebab(operation),
                    )
                });
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
            None => (
                m.fallback_service.clone(),
                String::new(),
                portcullis_classify::classify(&m.fallback_service, "", &Value::Null),
            ),
        };
        // Actions beyond the calls' are named in the request like theirs, and the highest access
        // level among all decides (unknown when one is not in the catalogue).
        if !m.actions.is_empty() {
            let levels = m.actions.iter().map(|a| {
                portcullis_iam::catalogue()
                    .action(a)
                    .map(|i| i.access_level)
            });
            let levels: Vec<Option<AccessLevel>> = if m.calls.is_empty() {
                levels.collect()
            } else {
                levels.chain([class.access_level]).collect()
            };
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
        let mut request = self.request(
            &m.cli_service,
            &m.sub,
            &service,
            &operation,
            &class,
            &m.globals,
        );
        request.operations = operations;
        request.resources = m.resources;
        if !m.params.is_null() {
            (request.parameters, request.parameters_truncated) =
                portcullis_policy::flatten_parameters_bounded(&m.params);
        }
        let decision = decide.decide(&self.policy, &mut request);
        let secrets = redact::request_secrets(command, m.shapes.as_ref(), &m.params);
        let masked_params = masked(m.shapes.as_ref(), &m.params);
        Assessment {
            command: command.to_string(),
            display: m.display,
            digest: m.digest,
            api_operation: format!("{service}.{operation}"),
            classification: class,
            request,
            decision,
            parsed,
            params: m.params,
            shapes: m.shapes,
            secrets,
            masked_params,
        }
    }

    fn assess_skeleton(&self, command: &str, skeleton: Value) -> Assessment {
        Assessment {
            command: command.to_string(),
            display: "--generate-cli-skeleton".into(),
            digest: String::new(),
            api_operation: String::new(),
            classification: portcullis_classify::classify("", "", &Value::Null),
            request: Request::default(),
            // Printing a skeleton sends nothing: allowed without a rule, like `aws ... help`.
            decision: Decision::local("`--generate-cli-skeleton`"),
            parsed: Parsed::Skeleton(skeleton),
            params: Value::Null,
            shapes: None,
            secrets: redact::request_secrets(command, None, &Value::Null),
            masked_params: Value::Null,
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
}

/// operations, which reach every object under it).
fn s3_resources(op: &portcullis_cli::S3Op, region: Option<&str>) -> Vec<String> {
    use portcullis_classify::resources::s3_arn;
    use portcullis_cli::{S3Op, S3Path};
    let object = |bucket: &str, key: &str, all: bool| {
        s3_arn(
            bucket,
            Some(&if all {
                format!("{key}*")
            } else {
                key.to_string()
            }),
            region,
        )
    };
    match op {
        S3Op::Ls {
            bucket: Some(b), ..
        }
        | S3Op::Mb { bucket: b }
        | S3Op::Rb {
            bucket: b,
            force: false,
        } => vec![s3_arn(b, None, region)],
        S3Op::Ls { bucket: None, .. } => Vec::new(),
        S3Op::Rb {
            bucket: b,
            force: true,
        } => vec![s3_arn(b, None, region), object(b, "", true)],
        S3Op::Rm {
            bucket,
            key,
            recursive,
            ..
        } => vec![object(bucket, key, *recursive)],
        S3Op::Presign { bucket, key, .. } => vec![object(bucket, key, false)],
        S3Op::Cp {
            src,
            dst,
            recursive,
            ..
        } => [src, dst]
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
    level.map_or(AccessLevel::ALL.len(), |l| {
        AccessLevel::ALL.iter().position(|x| *x == l).unwrap_or(0)
    })
}

/// `params` with the secret values its shapes hold masked.
fn masked(shapes: Option<&Shapes>, params: &Value) -> Value {
    let mut copy = params.clone();
    if let Some(Shapes {
        model,
        input: Some(input),
        ..
    }) = shapes
    {
        redact::mask(model, input, &mut copy);
    }
    copy
}

/// The classification and decision as JSON, for tool results.
pub fn describe(a: &Assessment) -> Value {
    let request = match &a.parsed {
        Parsed::Call(c) => {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            if let Some(params) = v.get_mut("params") {
                params.clone_from(&a.masked_params);
            }
            v
        }
        Parsed::S3(c) => serde_json::to_value(c).unwrap_or(Value::Null),
        Parsed::Extra(c) => serde_json::to_value(c).unwrap_or(Value::Null),
        Parsed::Skeleton(_) => Value::Null,
    };
    let warnings = match &a.parsed {
        Parsed::Call(c) => c.warnings.clone(),
        Parsed::S3(c) => c.warnings.clone(),
        _ => Vec::new(),
    };
    json!({
        "command": a.command,
        // Where it would go: `--region`, else the server's default region.
        "region": a.request.region,
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
