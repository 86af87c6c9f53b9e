//! `portcullis policy validate|test`: operators check a policy file before the server uses it.
//!
//! * `validate <policy.json>` loads the file as the server does (native or awslabs form, Cedar
//!   policies included) and prints a summary, or the error with `file:line:column`; exit 0 or 2.
//! * `test <policy.json> <cases.json>` runs each case's command through the server's own parse →
//!   classify → decide stages ([`crate::server::pipeline::Pipeline::assess`], offline: nothing is
//!   sent) and compares the outcome (and, when given, a rule id) with what the case expects. One
//!   line per case; exit 0 when every case passes, 1 when one fails, 2 when a file does not load.
//!
//! A case file is a JSON array (or `{"cases": [...]}`) of
//! `{"command": "aws ...", "region": "eu-west-1"?, "account": "123456789012"?, "expect": "deny"|"consent"|"allow", "rule": "id"?, "name": "..."?}`.
//! The region of a case is its `region`, else the command's `--region`, else `--region` of
//! `policy test`; the account (what the `accounts` allow-list sees) is its `account`, else
//! `--account`; the environment's region and credentials are not used, so results do not depend
//! on the machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_policy::{Outcome, Policy, PolicyError, Problem};
use serde::Deserialize;

use portcullis::pipeline::Pipeline;
use portcullis::pipeline::identity::Identity;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Load a policy file as the server would and print a summary, or where it is wrong.
    Validate {
        /// The policy file (native JSON, with `cedar`/`cedar_policies`, or the awslabs form).
        file: PathBuf,
    },
    /// Decide on each command of a case file and compare with the expected outcome.
    Test {
        /// The policy file.
        file: PathBuf,
        /// The cases: a JSON array of {"command", "region"?, "account"?, "expect", "rule"?}.
        cases: PathBuf,
        /// Region of the commands that name none (neither in the case nor with --region).
        #[arg(long)]
        region: Option<String>,
        /// Account the credentials belong to, for the cases that name none (the server looks
        /// it up at start-up; the `accounts` allow-list decides on it).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Option<String>,
    },
}

pub fn run(cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCmd::Validate { file } => validate(&file),
        PolicyCmd::Test {
            file,
            cases,
            region,
            account,
        } => test(&file, &cases, region, account),
    }
}

fn load(file: &Path) -> Result<Policy, String> {
    portcullis_policy::load_file(file).map_err(|e| describe(file, e))
}

/// A load error as `file:line:column: ...` lines, every problem on its own line.
fn describe(file: &Path, e: PolicyError) -> String {
    let f = file.display();
    match e {
        PolicyError::Parse {
            line,
            column,
            message,
        } => format!("{f}:{line}:{column}: {message}"),
        PolicyError::Invalid { problems } => {
            let mut s = format!(
                "{f}: {} problem{}:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in &problems {
                s.push_str("\n  ");
                s.push_str(&place(file, p));
            }
            s
        }
        PolicyError::Io { path, message } => format!("{path}: {message}"),
        cedar @ PolicyError::Cedar { .. } => format!("{f}: {cedar}"),
    }
}

/// One problem as `file:line:column: path: message` (without line and column when unknown).
fn place(file: &Path, p: &Problem) -> String {
    match (p.line, p.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}: {}: {}", file.display(), p.path, p.message),
        _ => format!("{}: {}: {}", file.display(), p.path, p.message),
    }
}

fn validate(file: &Path) -> anyhow::Result<ExitCode> {
    let policy = match load(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("invalid policy: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut out = std::io::stdout().lock();
    let warnings = policy.warnings();
    if warnings.is_empty() {
        writeln!(out, "{}: valid", file.display())?;
    } else {
        writeln!(
            out,
            "{}: valid, with {} warning{}:",
            file.display(),
            warnings.len(),
            if warnings.len() == 1 { "" } else { "s" }
        )?;
        for w in warnings {
            writeln!(out, "  warning: {}", place(file, w))?;
        }
    }
    writeln!(
        out,
        "mode: {}{}",
        policy.mode(),
        if policy.shadow() { " (shadow)" } else { "" }
    )?;
    let rules = policy.rules();
    writeln!(out, "rules: {}", rules.len())?;
    for r in rules {
        writeln!(out, "  {} ({:?})", r.id, r.effect)?;
        write_reach(&mut out, r)?;
    }
    match policy.cedar() {
        Some(c) => {
            writeln!(
                out,
                "cedar policies: {} (from {})",
                c.policies().len(),
                c.source_name()
            )?;
            for p in c.policies() {
                let effect = match p.effect {
                    portcullis_policy::Effect::Deny => "forbid",
                    portcullis_policy::Effect::Consent => "permit @consent",
                    portcullis_policy::Effect::Allow => "permit",
                };
                writeln!(out, "  {} ({effect})", p.id)?;
            }
        }
        None => writeln!(out, "cedar policies: none")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Most operations listed per rule (a wildcard can name hundreds); the count is always shown.
const REACH_SHOWN: usize = 12;

/// What a rule's command patterns reach: the operations they name, and — for deny and consent
/// rules — the IAM actions those stand for, which stop every other call that needs them.
fn write_reach(out: &mut impl Write, r: &portcullis_policy::Rule) -> std::io::Result<()> {
    if r.commands.is_empty() {
        return Ok(());
    }
    let reach = r.reach();
    if reach.is_empty() {
        let pats: Vec<&str> = r.commands.iter().map(|p| p.as_str()).collect();
        return writeln!(
            out,
            "    names no API operation ({}): it matches only commands written that way, e.g. `aws s3 rm`",
            pats.join(", ")
        );
    }
    let names: Vec<&str> = reach
        .iter()
        .map(|x| x.command.as_str())
        .take(REACH_SHOWN)
        .collect();
    let more = reach.len().saturating_sub(REACH_SHOWN);
    writeln!(
        out,
        "    names {} operation{}: {}{}",
        reach.len(),
        if reach.len() == 1 { "" } else { "s" },
        names.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )?;
    if r.effect == portcullis_policy::Effect::Allow {
        return writeln!(
            out,
            "    (an allow rule allows only the commands it names, never more)"
        );
    }
    let several: Vec<&str> = reach
        .iter()
        .filter(|x| x.action.is_none())
        .map(|x| x.command.as_str())
        .take(REACH_SHOWN)
        .collect();
    if !several.is_empty() {
        writeln!(
            out,
            "    matched by name only (each needs several IAM actions, or none known): {}",
            several.join(", ")
        )?;
    }
    let mut actions: Vec<&str> = reach.iter().filter_map(|x| x.action.as_deref()).collect();
    actions.sort_unstable();
    actions.dedup();
    if actions.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = actions.iter().copied().take(REACH_SHOWN).collect();
    let more = actions.len().saturating_sub(REACH_SHOWN);
    writeln!(
        out,
        "    and so every call that needs IAM action{} {}{}",
        if actions.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )?;
    // The other operations of the same services that need one of them (dependent actions too).
    let mut services: Vec<&str> = reach.iter().map(|x| x.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let s3 = services.contains(&"s3");
    let mut also = Vec::new();
    for service in services {
        let Ok(model) = portcullis_model::models().service(service) else {
            continue;
        };
        for op in model.operations.keys() {
            let c = portcullis_classify::classify(service, op, &serde_json::Value::Null);
            if reach
                .iter()
                .any(|x| x.service == service && &x.operation == op)
            {
                continue;
            }
            if c.all_actions()
                .any(|a| actions.iter().any(|x| x.eq_ignore_ascii_case(a)))
                && let Some((cmd, cli_op)) = portcullis_classify::cli_form(service, op)
            {
                also.push(format!("aws {cmd} {cli_op}"));
            }
        }
    }
    also.sort();
    if !also.is_empty() {
        let more = also.len().saturating_sub(REACH_SHOWN);
        also.truncate(REACH_SHOWN);
        writeln!(
            out,
            "    which includes {}{}",
            also.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    if s3 {
        writeln!(
            out,
            "    and the `aws s3` commands that make them (e.g. `aws s3 rm` makes `aws s3api delete-object`)"
        )?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    command: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    account: Option<String>,
    expect: Outcome,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CaseFile {
    List(Vec<Case>),
    Object { cases: Vec<Case> },
}

fn read_cases(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Parse the list strictly first so that a bad case is reported with its line and column.
    match serde_json::from_str::<Vec<Case>>(&text) {
        Ok(cases) => Ok(cases),
        Err(list_err) => match serde_json::from_str::<CaseFile>(&text) {
            Ok(CaseFile::List(cases) | CaseFile::Object { cases }) => Ok(cases),
            Err(_) => Err(format!(
                "{}:{}:{}: {} (a case file is a JSON array of {{\"command\", \"region\"?, \"account\"?, \"expect\": \"deny\"|\"consent\"|\"allow\", \"rule\"?}})",
                path.display(),
                list_err.line(),
                list_err.column(),
                list_err
            )),
        },
    }
}

fn test(
    file: &Path,
    cases_path: &Path,
    default_region: Option<String>,
    default_account: Option<String>,
) -> anyhow::Result<ExitCode> {
    let policy = match load(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("invalid policy: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let cases = match read_cases(cases_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("invalid case file: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let is_account = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    if let Some(a) = default_account.as_deref().filter(|a| !is_account(a)) {
        eprintln!("invalid --account `{a}`: an account id is 12 digits");
        return Ok(ExitCode::from(2));
    }
    if let Some((i, a)) = cases.iter().enumerate().find_map(|(i, c)| {
        c.account
            .as_deref()
            .filter(|a| !is_account(a))
            .map(|a| (i, a))
    }) {
        eprintln!(
            "invalid case file: {}: case #{}: account `{a}` is not an account id (12 digits)",
            cases_path.display(),
            i + 1
        );
        return Ok(ExitCode::from(2));
    }
    // file:// values are resolved (and refused when missing) relative to the case file.
    let workdir = cases_path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let _guard = runtime.enter();
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for (i, case) in cases.iter().enumerate() {
        let label = case.name.clone().unwrap_or_else(|| case.command.clone());
        let region = case.region.clone().or_else(|| default_region.clone());
        let account = case.account.clone().or_else(|| default_account.clone());
        let pipeline = Pipeline::offline(policy.clone(), workdir.clone(), region)?;
        // What the server learns at start-up from `sts get-caller-identity`.
        let _ = pipeline.identity.set(Identity {
            account: account.clone(),
            ..Identity::default()
        });
        // `--region *` (as `call_aws` runs it): decided in one region the policy allows.
        let command = match portcullis::server::regions::wildcard(&case.command) {
            Some(range) => portcullis::server::regions::with_region(
                &case.command,
                &range,
                &pipeline.fan_out_example_region(),
            ),
            None => case.command.clone(),
        };
        let (ok, got) = match pipeline.assess(&command) {
            Ok(a) => {
                let d = &a.decision;
                let outcome_ok = d.outcome == case.expect;
                let rule_ok = case
                    .rule
                    .as_ref()
                    .is_none_or(|r| d.rule_ids.iter().any(|id| id == r));
                let decided = format!("{} [{}]", d.outcome, d.rule_ids.join(", "));
                let mut got = if outcome_ok && rule_ok {
                    decided
                } else {
                    let wanted = match &case.rule {
                        Some(r) => format!("{} by rule `{r}`", case.expect),
                        None => case.expect.to_string(),
                    };
                    format!("expected {wanted}, got {decided}")
                };
                got.push_str(&format!(": {}", d.reasons.join("; ")));
                if account.is_none() && d.rule_ids.iter().any(|r| r == "allowlist:accounts") {
                    got.push_str(" (give the case an `account`, or pass `--account`)");
                }
                (outcome_ok && rule_ok, got)
            }
            Err(refusal) => (
                false,
                format!(
                    "expected {}, but the command does not parse: {}",
                    case.expect, refusal.message
                ),
            ),
        };
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        writeln!(
            out,
            "{} #{} {label} → {got}",
            if ok { "PASS" } else { "FAIL" },
            i + 1
        )?;
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 && !cases.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
