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

mod audit_cmd;
mod policy_cmd;

use portcullis::{config, pipeline, server};

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_cli::{AllowAll, Command, CommandError, DenyAll, PathPolicy};

#[derive(Parser)]
#[command(name = "portcullis", version, about = "AWS for AI agents, behind controls that hold")]
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
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Cmd::Check { command, format, workdir, no_files } => check(&command, format, workdir, no_files),
        Cmd::Exec { command, workdir, profile } => exec(&command, workdir, profile),
        Cmd::Models => models(),
        Cmd::Serve(flags) => server::run(flags).map(|()| ExitCode::SUCCESS),
        Cmd::Policy { command } => policy_cmd::run(command),
        Cmd::Audit { command } => audit_cmd::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<server::Logged>().is_none() {
                eprintln!("portcullis: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn check(command: &str, format: Format, workdir: Option<std::path::PathBuf>, no_files: bool) -> anyhow::Result<ExitCode> {
    let allow;
    let policy: &dyn PathPolicy = if no_files {
        &DenyAll
    } else {
        let dir = match workdir {
            Some(d) => d,
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        allow = AllowAll::new(dir);
        &allow
    };
    let parser = portcullis_cli::Parser::new(policy);
    let mut out = std::io::stdout().lock();
    match parser.parse(command) {
        Ok(Command::Call(call)) => {
            let params = portcullis_cli::Value::Map(call.params.clone()).to_json();
            let class = portcullis_classify::classify(&call.service, &call.operation, &params);
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "kind": "call",
                        "request": call,
                        "digest": call.digest(),
                        "classification": class,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(out, "{}  ({}.{})", call.display_name(), call.service, call.operation)?;
                    writeln!(out, "parameters: {}", serde_json::to_string(&params)?)?;
                    let globals = serde_json::to_value(&call.globals)?;
                    if globals.as_object().is_some_and(|g| !g.is_empty()) {
                        writeln!(out, "global options: {globals}")?;
                    }
                    for w in &call.warnings {
                        writeln!(out, "note: {w}")?;
                    }
                    writeln!(out, "IAM actions: {}", class.actions.join(", "))?;
                    if !class.dependent_actions.is_empty() {
                        writeln!(out, "dependent IAM actions (checked too): {}", class.dependent_actions.join(", "))?;
                    }
                    let level = class.access_level.map_or_else(|| "unknown (treated as a write)".to_string(), |l| l.to_string());
                    writeln!(out, "access level: {level}")?;
                    let flags = serde_json::to_value(class.flags)?;
                    let set: Vec<&str> = flags
                        .as_object()
                        .map(|f| f.iter().filter(|(_, v)| v.as_bool() == Some(true)).map(|(k, _)| k.as_str()).collect())
                        .unwrap_or_default();
                    writeln!(out, "flags: {}", if set.is_empty() { "none".to_string() } else { set.join(", ") })?;
                    writeln!(out, "digest: {}", call.digest())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Command::Skeleton { skeleton, .. }) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&skeleton)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Command::S3(cmd)) => {
            let calls: Vec<serde_json::Value> = cmd
                .api_calls()
                .into_iter()
                .map(|(service, operation)| {
                    let class = portcullis_classify::classify(service, operation, &serde_json::json!({}));
                    serde_json::json!({ "service": service, "operation": operation, "classification": class })
                })
                .collect();
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "kind": "s3",
                        "request": cmd,
                        "api_calls": calls,
                        "digest": cmd.digest(),
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(out, "{}", cmd.display_name())?;
                    writeln!(out, "command: {}", serde_json::to_string(&cmd.op)?)?;
                    let globals = serde_json::to_value(&cmd.globals)?;
                    if globals.as_object().is_some_and(|g| !g.is_empty()) {
                        writeln!(out, "global options: {globals}")?;
                    }
                    let ops: Vec<String> = cmd.api_calls().iter().map(|(s, o)| format!("{s}.{o}")).collect();
                    writeln!(out, "API calls: {}", if ops.is_empty() { "none".to_string() } else { ops.join(", ") })?;
                    writeln!(out, "digest: {}", cmd.digest())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Command::Extra(cmd)) => {
            let calls: Vec<serde_json::Value> = cmd
                .api_calls()
                .into_iter()
                .map(|(service, operation)| {
                    let class = portcullis_classify::classify(&service, &operation, &serde_json::json!({}));
                    serde_json::json!({ "service": service, "operation": operation, "classification": class })
                })
                .collect();
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "ok": true,
                        "kind": "extra",
                        "request": cmd,
                        "api_calls": calls,
                        "returns_credentials": cmd.returns_credentials(),
                        "iam_actions": cmd.iam_actions(),
                        "digest": cmd.digest(),
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                }
                Format::Text => {
                    writeln!(out, "{}", cmd.display_name())?;
                    writeln!(out, "command: {}", serde_json::to_string(&cmd.kind)?)?;
                    let ops: Vec<String> = cmd.api_calls().iter().map(|(s, o)| format!("{s}.{o}")).collect();
                    writeln!(out, "API calls: {}", if ops.is_empty() { "none (computed locally)".to_string() } else { ops.join(", ") })?;
                    let actions = cmd.iam_actions();
                    if !actions.is_empty() {
                        writeln!(out, "IAM actions (besides its API calls'): {}", actions.join(", "))?;
                    }
                    if cmd.returns_credentials() {
                        writeln!(out, "returns credentials: yes")?;
                    }
                    writeln!(out, "digest: {}", cmd.digest())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            report(&mut out, &err, format)?;
            Ok(ExitCode::from(1))
        }
    }
}

fn exec(command: &str, workdir: Option<std::path::PathBuf>, profile: Option<String>) -> anyhow::Result<ExitCode> {
    use portcullis_wire::execute::{Engine, ExecError};
    use portcullis_wire::output::{OutputFormat, jmespath::Query};

    let dir = match workdir {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if let Some(code) = decide_for_exec(command, &dir)? {
        return Ok(code);
    }
    let policy = AllowAll::new(dir);
    let parser = portcullis_cli::Parser::new(&policy);
    let call = match parser.parse(command) {
        Ok(Command::Call(call)) => call,
        Ok(Command::Skeleton { skeleton, .. }) => {
            println!("{}", serde_json::to_string_pretty(&skeleton)?);
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Command::S3(cmd)) => return exec_s3(&cmd, &policy, profile),
        Ok(Command::Extra(cmd)) => return exec_extra(&cmd, &policy, profile),
        Err(err) => {
            eprintln!("{err}");
            return Ok(ExitCode::from(252));
        }
    };
    if call.globals.profile.is_some() {
        eprintln!("--profile is not taken from the command: credentials are fixed when Portcullis starts (use --as-profile)");
        return Ok(ExitCode::from(252));
    }
    let format = match call.globals.output.as_deref() {
        None => OutputFormat::Json,
        Some(f) => f.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let query = call.globals.query.as_deref().map(Query::compile).transpose().map_err(|e| anyhow::anyhow!("--query: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = Engine::from_environment(profile, call.globals.no_sign_request).await?;
        let result = if format.is_page_wise() { engine.execute_pages(&call, &policy).await } else { engine.execute(&call, &policy).await };
        match result {
            Ok(out) => {
                // A bound stopped the call early: say so on stderr, so stdout stays what the CLI prints.
                if let Some(t) = &out.truncated {
                    eprintln!("{t}");
                }
                print!("{}", out.render(&call.operation, query.as_ref(), format)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(ExecError::Service(e)) => {
                eprintln!("\nAn error occurred ({}) when calling the {} operation: {}", e.code, call.operation, e.message);
                Ok(ExitCode::from(254))
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(255))
            }
        }
    })
}

/// Runs a high-level `aws s3` command; prints what the AWS CLI prints and exits with its code.
/// The policy's decision on `command`, as `serve` would make it (same settings). `Some(exit code)`
/// when it must not run: denied, or needing approval that the person at this terminal did not give
/// (a prompt on stderr, answered on stdin; no terminal, no approval).
fn decide_for_exec(command: &str, dir: &std::path::Path) -> anyhow::Result<Option<ExitCode>> {
    use std::io::IsTerminal;
    let var = |k: &str| std::env::var(k).ok();
    let (policy, source) = config::policy_from_lookup(&var).context("the policy does not load; nothing was run")?;
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).filter(|r| !r.is_empty());
    let pipeline = pipeline::Pipeline::deciding(policy, Box::new(AllowAll::new(dir)), region)?;
    let a = match pipeline.assess(command) {
        Ok(a) => a,
        // Not a command: the parser below says why, with its exit code.
        Err(_) => return Ok(None),
    };
    let why = a.decision.reasons.join("; ");
    match a.decision.outcome {
        portcullis_policy::Outcome::Allow => Ok(None),
        portcullis_policy::Outcome::Deny => {
            eprintln!("denied by policy ({source}), not executed: {why}");
            Ok(Some(ExitCode::from(252)))
        }
        portcullis_policy::Outcome::Consent if std::io::stdin().is_terminal() => {
            eprint!("{} needs approval: {why}\nRun exactly this request (digest {})? [y/N] ", a.display, a.digest);
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer).context("cannot read the answer")?;
            if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                Ok(None)
            } else {
                eprintln!("not executed");
                Ok(Some(ExitCode::from(252)))
            }
        }
        portcullis_policy::Outcome::Consent => {
            eprintln!(
                "not executed: {} needs approval ({why}), and there is no terminal to ask on; run it in a terminal, or \
                 set PORTCULLIS_MODE=unrestricted (or an allow rule in {source}) for unattended use",
                a.display
            );
            Ok(Some(ExitCode::from(252)))
        }
    }
}

fn exec_s3(cmd: &portcullis_cli::S3Command, policy: &dyn PathPolicy, profile: Option<String>) -> anyhow::Result<ExitCode> {
    exec_outcome(&cmd.globals, profile, async |engine| portcullis_wire::s3::run(engine, cmd, policy).await)
}

fn exec_extra(cmd: &portcullis_cli::ExtraCommand, policy: &dyn PathPolicy, profile: Option<String>) -> anyhow::Result<ExitCode> {
    exec_outcome(&cmd.globals, profile, async |engine| portcullis_wire::extra::run(engine, cmd, policy, &portcullis_wire::extra::NoProgress).await)
}

/// Runs a customization (`aws s3 ...`, a waiter, ...) on an engine with the pinned credentials and
/// prints what it printed, with its exit code.
fn exec_outcome(
    globals: &portcullis_cli::GlobalOptions,
    profile: Option<String>,
    run: impl AsyncFnOnce(&portcullis_wire::execute::Engine) -> portcullis_wire::s3::S3Outcome,
) -> anyhow::Result<ExitCode> {
    if globals.profile.is_some() {
        eprintln!("--profile is not taken from the command: credentials are fixed when Portcullis starts (use --as-profile)");
        return Ok(ExitCode::from(252));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = portcullis_wire::execute::Engine::from_environment(profile, globals.no_sign_request).await?;
        let outcome = run(&engine).await;
        print!("{}", outcome.stdout);
        eprint!("{}", outcome.stderr);
        Ok(ExitCode::from(outcome.exit_code))
    })
}

fn report(out: &mut impl Write, err: &CommandError, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            let doc = serde_json::json!({ "ok": false, "problems": err.problems, "message": err.to_string() });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Text => writeln!(out, "refused: {err}")?,
    }
    Ok(())
}

fn models() -> anyhow::Result<ExitCode> {
    let m = portcullis_model::models();
    let mut out = std::io::stdout().lock();
    writeln!(out, "botocore {} / awscli {}", m.botocore_version(), m.awscli_version())?;
    for (cli, cmd) in m.commands() {
        if let Some(service) = &cmd.service {
            let version = m.service_entry(service).map_or("", |e| e.api_version.as_str());
            writeln!(out, "{cli}\t{service}\t{version}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
