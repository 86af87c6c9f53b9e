//! The `portcullis` binary: a thin layer over the library crates.
//!
//! * `portcullis check "<aws command>"` parses, validates and classifies a command offline and prints
//!   what Portcullis understood (JSON, or a readable summary with `--format text`). Nothing is sent.
//! * `portcullis exec "<aws command>"` runs it natively against AWS (no AWS CLI, no Python, no
//!   subprocess) and prints the output as the AWS CLI would, after the same policy decision as
//!   `serve` (a person at a terminal answers consent there). For humans; agents get the MCP server.
//! * `portcullis audit verify|show` checks and reads the tamper-evident audit trail.
//! * `portcullis models` lists the embedded services and the versions of the data behind them.
//! * `portcullis policy validate|test` checks a policy file and unit-tests it with command cases.

/// mimalloc rather than glibc's malloc: under load (thousands of small allocations per MCP
/// call, across threads) glibc spent a quarter of the server's CPU in malloc and free, and kept
/// freed memory in per-thread arenas instead of returning it (scripts/bench-load.sh). macOS keeps
/// its own allocator.
#[cfg(not(target_os = "macos"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit_cmd;
mod iam_cmd;
mod out;
mod policy_cmd;

use portcullis::{config, pipeline, server};

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_cli::{AllowAll, DenyAll, PathPolicy};

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "AWS for AI agents, behind controls that hold"
)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Parse, validate and classify an AWS CLI command without calling AWS.
    Check {
        /// The whole command, e.g. "aws s3api list-objects-v2 --bucket my-bucket".
        command: String,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Directory that file:// paths are relative to (default: the current directory).
        #[arg(long)]
        workdir: Option<std::path::PathBuf>,
        /// Refuse every file:// and fileb:// value.
        #[arg(long)]
        no_files: bool,
    },
    /// Run an AWS CLI command natively and print its output like the AWS CLI.
    Exec {
        /// The whole command, e.g. "aws sts get-caller-identity".
        command: String,
        /// Directory that file:// paths are relative to (default: the current directory).
        #[arg(long)]
        workdir: Option<std::path::PathBuf>,
        /// The AWS profile whose credentials are used (default: AWS_PROFILE, else `default`).
        #[arg(long = "as-profile")]
        profile: Option<String>,
    },
    /// List the embedded service models.
    Models,
    /// Serve MCP on stdin/stdout, or on streamable HTTP with `--transport http` (settings from the
    /// environment, like the awslabs server; flags win).
    Serve(server::ServeFlags),
    /// Check or read the audit trail `serve` writes.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCmd,
    },
    /// Validate a policy file, or test it against command cases.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCmd,
    },
    /// IAM as the control plane: evaluate a request against IAM policies; print the session
    /// policy generated from the Portcullis policy.
    Iam {
        #[command(subcommand)]
        command: iam_cmd::IamCmd,
    },
    /// Put other MCP servers behind Portcullis: pinned tool definitions, policy, consent, audit.
    Gateway {
        #[command(subcommand)]
        command: portcullis::gateway::cli::GatewayCmd,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Cmd::Check {
            command,
            format,
            workdir,
            no_files,
        } => check(&command, format, workdir, no_files),
        Cmd::Exec {
            command,
            workdir,
            profile,
        } => exec(&command, workdir, profile),
        Cmd::Models => models(),
        Cmd::Serve(flags) => server::run(flags).map(|()| ExitCode::SUCCESS),
        Cmd::Policy { command } => policy_cmd::run(command),
        Cmd::Audit { command } => audit_cmd::run(command),
        Cmd::Iam { command } => iam_cmd::run(command),
        Cmd::Gateway { command } => portcullis::gateway::cli::run(command),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): what it read is all it wanted.
        Err(e) if out::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<server::Logged>().is_none() {
                eprintln!("portcullis: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn check(
    command: &str,
    format: Format,
    workdir: Option<std::path::PathBuf>,
    no_files: bool,
) -> anyhow::Result<ExitCode> {
    let files: Box<dyn PathPolicy> = if no_files {
        Box::new(DenyAll)
    } else {
        let dir = match workdir {
            Some(d) => d,
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        Box::new(AllowAll::new(dir))
    };
    // The pipeline's assess stage, offline: parsed, validated and classified once. (Its decision
    // is not shown: `check` knows no policy; `check_aws_command` and `policy test` show one.)
    let engine = portcullis_wire::execute::Engine::new(
        portcullis_wire::execute::EngineConfig::default(),
        None,
    )?;
    let pipeline = pipeline::Pipeline::from_parts(
        portcullis_policy::Policy::new(portcullis_policy::Mode::Unrestricted),
        files,
        engine,
        true,
    );
    let mut out = std::io::stdout().lock();
    // `--region *` (as `call_aws` runs it): one command per enabled region; checked in one.
    let fan_out = server::regions::wildcard(command).map(|range| {
        (
            server::regions::with_region(command, &range, pipeline::DEFAULT_REGION),
            format!(
                "`--region *` runs the command in every enabled region the policy allows (call_aws); checked here in {}",
                pipeline::DEFAULT_REGION
            ),
        )
    });
    let command = fan_out.as_ref().map_or(command, |(c, _)| c.as_str());
    if let Some((_, note)) = &fan_out
        && matches!(format, Format::Text)
    {
        writeln!(out, "note: {note}")?;
    }
    let a = match pipeline.assess(command) {
        Ok(a) => a,
        Err(refusal) => {
            report(&mut out, &refusal, format)?;
            return Ok(ExitCode::from(1));
        }
    };
    match a.parsed {
        pipeline::Parsed::Call(call) => {
            let params = &a.params;
            let class = &a.classification;
            match format {
                Format::Json => {
                    let mut doc = serde_json::json!({
                        "ok": true,
                        "kind": "call",
                        "request": call,
                        "digest": a.digest,
                        "classification": class,
                    });
                    if let Some((_, note)) = &fan_out {
                        doc["fan_out"] = serde_json::Value::String(note.clone());
                    }
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(
                        out,
                        "{}  ({}.{})",
                        call.display_name(),
                        call.service,
                        call.operation
                    )?;
                    writeln!(out, "parameters: {}", serde_json::to_string(params)?)?;
                    let globals = serde_json::to_value(&call.globals)?;
                    if globals.as_object().is_some_and(|g| !g.is_empty()) {
                        writeln!(out, "global options: {globals}")?;
                    }
                    for w in &call.warnings {
                        writeln!(out, "note: {w}")?;
                    }
                    writeln!(out, "IAM actions: {}", class.actions.join(", "))?;
                    if !class.dependent_actions.is_empty() {
                        writeln!(
                            out,
                            "dependent IAM actions (checked too): {}",
                            class.dependent_actions.join(", ")
                        )?;
                    }
                    let level = class.access_level.map_or_else(
                        || "unknown (treated as a write)".to_string(),
                        |l| l.to_string(),
                    );
                    writeln!(out, "access level: {level}")?;
                    let flags = serde_json::to_value(class.flags)?;
                    let set: Vec<&str> = flags
                        .as_object()
                        .map(|f| {
                            f.iter()
                                .filter(|(_, v)| v.as_bool() == Some(true))
                                .map(|(k, _)| k.as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "flags: {}",
                        if set.is_empty() {
                            "none".to_string()
                        } else {
                            set.join(", ")
                        }
                    )?;
                    writeln!(out, "digest: {}", a.digest)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        pipeline::Parsed::Skeleton(skeleton) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&skeleton)?)?;
            Ok(ExitCode::SUCCESS)
        }
        pipeline::Parsed::S3(cmd) => {
            let api = cmd.api_calls();
            let calls = classified_calls(&api);
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "kind": "s3",
                        "request": cmd,
                        "api_calls": calls,
                        "digest": a.digest,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(out, "{}", cmd.display_name())?;
                    writeln!(out, "command: {}", serde_json::to_string(&cmd.op)?)?;
                    for w in &cmd.warnings {
                        writeln!(out, "note: {w}")?;
                    }
                    let globals = serde_json::to_value(&cmd.globals)?;
                    if globals.as_object().is_some_and(|g| !g.is_empty()) {
                        writeln!(out, "global options: {globals}")?;
                    }
                    let ops: Vec<String> = api.iter().map(|(s, o)| format!("{s}.{o}")).collect();
                    writeln!(
                        out,
                        "API calls: {}",
                        if ops.is_empty() {
                            "none".to_string()
                        } else {
                            ops.join(", ")
                        }
                    )?;
                    writeln!(out, "digest: {}", a.digest)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        pipeline::Parsed::Extra(cmd) => {
            let api = cmd.api_calls();
            let calls = classified_calls(&api);
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "kind": "extra",
                        "request": cmd,
                        "api_calls": calls,
                        "returns_credentials": cmd.returns_credentials(),
                        "iam_actions": cmd.iam_actions(),
                        "digest": a.digest,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(out, "{}", cmd.display_name())?;
                    writeln!(out, "command: {}", serde_json::to_string(&cmd.kind)?)?;
                    let ops: Vec<String> = api.iter().map(|(s, o)| format!("{s}.{o}")).collect();
                    writeln!(
                        out,
                        "API calls: {}",
                        if ops.is_empty() {
                            "none (computed locally)".to_string()
                        } else {
                            ops.join(", ")
                        }
                    )?;
                    let actions = cmd.iam_actions();
                    if !actions.is_empty() {
                        writeln!(
                            out,
                            "IAM actions (besides its API calls'): {}",
                            actions.join(", ")
                        )?;
                    }
                    if cmd.returns_credentials() {
                        writeln!(out, "returns credentials: yes")?;
                    }
                    writeln!(out, "digest: {}", a.digest)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Each API call a customization makes, with its classification on its own (for `check`).
fn classified_calls(api: &[(impl AsRef<str>, impl AsRef<str>)]) -> Vec<serde_json::Value> {
    api.iter()
        .map(|(service, operation)| {
            let (service, operation) = (service.as_ref(), operation.as_ref());
            let class = portcullis_classify::classify(service, operation, &serde_json::json!({}));
            serde_json::json!({ "service": service, "operation": operation, "classification": class })
        })
        .collect()
}

fn exec(
    command: &str,
    workdir: Option<std::path::PathBuf>,
    profile: Option<String>,
) -> anyhow::Result<ExitCode> {
    use pipeline::{Outcome, Parsed};
    let dir = match workdir {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    // The same settings as `serve` (environment and config file: mode, policy, bounds, limits,
    // audit trail); a person at this terminal answers consent.
    let sources = config::Sources::load(&config::ServeFlags::default(), &config::process_env)
        .context("the settings do not load; nothing was run")?;
    let settings = sources
        .settings()
        .context("the settings do not load; nothing was run")?;
    let source = settings.policy_source.clone();
    // The same audit trail: what runs from a terminal is recorded as what runs for an agent.
    let recorder = pipeline::record::Recorder::open(&settings.audit)?;
    recorder.record_startup(&portcullis_audit::Event::startup(
        pipeline::record::startup_detail("exec", &settings),
    ))?;
    recorder.record_startup(&portcullis_audit::Event::config(
        pipeline::record::config_detail(&settings),
    ))?;
    let recorder = Arc::new(recorder);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let pipeline = Arc::new(pipeline::Pipeline::for_terminal(&settings, Box::new(AllowAll::new(dir)), profile).await?);
        // Assessed once: what is decided (and approved, by its digest) is what runs.
        let a = match pipeline.assess(command) {
            Ok(a) => Arc::new(a),
            Err(refusal) => {
                eprintln!("{}", refusal.message);
                return Ok(ExitCode::from(252));
            }
        };
        let globals = match &a.parsed {
            Parsed::Call(c) => Some(&c.globals),
            Parsed::S3(c) => Some(&c.globals),
            Parsed::Extra(c) => Some(&c.globals),
            Parsed::Skeleton(_) => None,
        };
        if !a.decision.is_deny() && globals.is_some_and(|g| g.profile.is_some()) {
            eprintln!("--profile is not taken from the command: credentials are fixed when Portcullis starts (use --as-profile)");
            return Ok(ExitCode::from(252));
        }
        let stack = pipeline.stack(Some(Arc::clone(&recorder)), Arc::new(pipeline::Unobserved));
        let started = std::time::Instant::now();
        let recorded = pipeline::stages::run(&stack, pipeline::Job::new(Arc::clone(&a), Arc::new(Terminal { source: source.clone() }))).await;
        // One record per command, as `serve` writes one per tool call (consent at the terminal
        // included), on disk before the output is shown.
        let mut event = portcullis_audit::Event::tool_call("exec");
        event.commands.push(recorded.entry.clone());
        event.latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Err(why) = recorder.record(&event) {
            eprintln!("portcullis: {why}");
            return Ok(ExitCode::from(2));
        }
        Ok(match recorded.outcome {
            Outcome::Ran(run) => {
                // A bound stopped the call early: say so on stderr, so stdout stays what the CLI prints.
                if let Some(t) = &run.truncated {
                    eprintln!("{t}");
                }
                if matches!(a.parsed, Parsed::Skeleton(_)) {
                    out::out!("{}", run.output)?;
                } else {
                    {
                        use std::io::Write as _;
                        write!(std::io::stdout().lock(), "{}", run.output)?;
                    }
                }
                eprint!("{}", run.stderr);
                ExitCode::from(run.exit_code)
            }
            Outcome::Denied => {
                let by = if source.starts_with("mode only") {
                    "denied by the mode".to_string()
                } else {
                    format!("denied by the policy {source}")
                };
                eprintln!("{by}, not executed: {}", a.decision.reasons.join("; "));
                ExitCode::from(252)
            }
            Outcome::NotApproved { message, .. } | Outcome::AuditUnavailable(message) => {
                eprintln!("{message}");
                ExitCode::from(252)
            }
            Outcome::Limited(r) => {
                eprintln!("{}", r.message);
                ExitCode::from(255)
            }
            Outcome::Pending | Outcome::Checked => ExitCode::from(252),
        })
    })
}

/// The consent stage of `portcullis exec`: the person at this terminal is asked on stderr and
/// answers on stdin; with no terminal, nobody approves.
struct Terminal {
    /// Where the policy came from (named in the refusal).
    source: String,
}

impl pipeline::Approver for Terminal {
    fn approve<'a>(
        &'a self,
        a: &'a pipeline::Assessment,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = pipeline::Answer> + Send + 'a>> {
        use pipeline::{Answer, Refusal};
        use std::io::IsTerminal;
        let why = a.decision.reasons.join("; ");
        let answer = if std::io::stdin().is_terminal() {
            let actions: Vec<&str> = a.classification.all_actions().map(String::as_str).collect();
            let level = a.classification.access_level.map_or_else(
                || "unknown (treated as a write)".to_string(),
                |l| l.to_string(),
            );
            // The normalized request itself (secret values masked), not only its name.
            let request = portcullis::redact::scrub(
                &serde_json::to_string_pretty(&a.params).unwrap_or_default(),
                &a.secrets,
            );
            eprint!(
                "{} needs approval: {why}\nIAM actions: {}\naccess level: {level}\nrequest: {request}\nRun exactly this request (digest {})? [y/N] ",
                a.display,
                actions.join(", "),
                a.digest
            );
            let mut answer = String::new();
            match std::io::stdin().read_line(&mut answer) {
                Ok(_) if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                    Answer::Approved(a.digest.clone())
                }
                Ok(_) => Answer::Refused {
                    why: Refusal::Declined,
                    message: "not executed".into(),
                },
                Err(e) => Answer::Refused {
                    why: Refusal::Failed,
                    message: format!("not executed: cannot read the answer ({e})"),
                },
            }
        } else {
            Answer::Refused {
                why: Refusal::Unavailable,
                message: format!(
                    "not executed: {} needs approval ({why}), and there is no terminal to ask on; run it in a terminal, or, \
                     for unattended use, set PORTCULLIS_MODE=unrestricted or add an allow rule {}",
                    a.display,
                    if self.source.starts_with("mode only") {
                        "in a policy file (PORTCULLIS_POLICY_FILE)".to_string()
                    } else {
                        format!("to {}", self.source)
                    }
                ),
            }
        };
        Box::pin(async move { answer })
    }
}

fn report(
    out: &mut impl Write,
    refusal: &pipeline::ParseRefusal,
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            let doc = serde_json::json!({ "ok": false, "problems": refusal.problems, "message": refusal.message });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Text => writeln!(out, "refused: {}", refusal.message)?,
    }
    Ok(())
}

fn models() -> anyhow::Result<ExitCode> {
    let m = portcullis_model::models();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "botocore {} / awscli {}",
        m.botocore_version(),
        m.awscli_version()
    )?;
    for (cli, cmd) in m.commands() {
        if let Some(service) = &cmd.service {
            let version = m
                .service_entry(service)
                .map_or("", |e| e.api_version.as_str());
            writeln!(out, "{cli}\t{service}\t{version}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
