//! `portcullis audit verify` and `portcullis audit show`: read the trail `serve` writes (same
//! places: `--dir`/`PORTCULLIS_AUDIT_DIR`, `--key`/`PORTCULLIS_AUDIT_KEY_FILE`, else under
//! `$XDG_STATE_HOME/portcullis/`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_audit::{AuditKey, DecisionOutcome, Filter, RecordKind};

/// Where the trail is (defaults as `serve` uses them).
#[derive(clap::Args, Debug, Clone)]
pub struct TrailArgs {
    /// The trail's directory (default: PORTCULLIS_AUDIT_DIR, else $XDG_STATE_HOME/portcullis/audit).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The key file (default: PORTCULLIS_AUDIT_KEY_FILE, else $XDG_STATE_HOME/portcullis/audit.key).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check the whole trail: every record's MAC, the hash chain and the sequence; report the first
    /// record that was edited, removed, reordered or truncated. Exit 0 when intact, 1 when not.
    Verify {
        #[command(flatten)]
        trail: TrailArgs,
    },
    /// Print records, filtered (JSON Lines with --json, else one line each).
    Show {
        #[command(flatten)]
        trail: TrailArgs,
        /// From this time: RFC 3339, YYYY-MM-DD, or an age like 90m, 2h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Before this time (same forms).
        #[arg(long)]
        until: Option<String>,
        /// Only calls with a command decided so: allow, consent or deny (repeatable).
        #[arg(long, value_parser = ["allow", "consent", "deny"])]
        decision: Vec<String>,
        /// Only calls with a command of this service (CLI name, e.g. s3api).
        #[arg(long)]
        service: Option<String>,
        /// Only records of this principal (the AWS identity ARN) or user (the OAuth `iss#sub`); `*` wildcards.
        #[arg(long)]
        principal: Option<String>,
        /// Only calls of this tool.
        #[arg(long)]
        tool: Option<String>,
        /// Only records of this kind: startup, config, tool_call, recovery (repeatable).
        #[arg(long, value_parser = ["startup", "config", "tool_call", "recovery"])]
        kind: Vec<String>,
        /// The records as stored (JSON Lines).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { trail } => {
            let (dir, key) = trail.resolve()?;
            let key = AuditKey::load(&key)
                .with_context(|| format!("cannot read the audit key {}", key.display()))?;
            let report = portcullis_audit::verify(&dir, &key);
            crate::out::out!("{report}")?;
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        AuditCmd::Show {
            trail,
            since,
            until,
            decision,
            service,
            principal,
            tool,
            kind,
            json,
        } => {
            let (dir, _) = trail.resolve()?;
            let time =
                |t: Option<String>| t.map(|t| portcullis_audit::parse_time_arg(&t)).transpose();
            let filter = Filter {
                since_ms: time(since)?,
                until_ms: time(until)?,
                decisions: decision
                    .iter()
                    .map(|d| match d.as_str() {
                        "allow" => DecisionOutcome::Allow,
                        "consent" => DecisionOutcome::Consent,
                        _ => DecisionOutcome::Deny,
                    })
                    .collect(),
                service,
                principal,
                tool,
                kinds: kind
                    .iter()
                    .map(|k| match k.as_str() {
                        "startup" => RecordKind::Startup,
                        "config" => RecordKind::Config,
                        "recovery" => RecordKind::Recovery,
                        _ => RecordKind::ToolCall,
                    })
                    .collect(),
            };
            for shown in portcullis_audit::show(&dir, filter)? {
                let shown = shown?;
                crate::out::out!(
                    "{}",
                    if json {
                        shown.line.clone()
                    } else {
                        shown.compact()
                    }
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl TrailArgs {
    fn resolve(&self) -> anyhow::Result<(PathBuf, PathBuf)> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let settings = portcullis::server::audit_settings(&var)?;
        Ok((
            self.dir.clone().unwrap_or(settings.dir),
            self.key.clone().unwrap_or(settings.key_file),
        ))
    }
}
