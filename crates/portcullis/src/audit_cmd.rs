//! `portcullis audit verify` and `portcullis audit show`: read the trail `serve` writes (same
//! places: `--dir`/`PORTCULLIS_AUDIT_DIR`, `--key`/`PORTCULLIS_AUDIT_KEY_FILE`, else in the state
//! directory: `$XDG_STATE_HOME/portcullis/` or `~/.local/state/portcullis/` on Linux,
//! `~/Library/Application Support/portcullis/` on macOS, `%LOCALAPPDATA%\portcullis\` on Windows).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_audit::{AuditKey, DecisionOutcome, Filter, RecordKind};

/// Where the trail is (defaults as `serve` uses them).
#[derive(clap::Args, Debug, Clone)]
pub struct TrailArgs {
    /// The trail's directory (default: PORTCULLIS_AUDIT_DIR, else audit/ in the state directory, ~/.local/state/portcullis on Linux).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The key file (default: PORTCULLIS_AUDIT_KEY_FILE, else audit.key in the state directory).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check whole trails: every record's MAC, the hash chain and the sequence; report, for each
    /// trail, the first record that was edited, removed, reordered or truncated. Several trails
    /// (one per replica) are given by repeating --dir, or found as the subdirectories of one
    /// (the replicas' `PORTCULLIS_REPLICA_ID` directories). Exit 0 when all are intact, 1 when not.
    Verify {
        /// A trail's directory, or a directory of replicas' trails (repeatable; default:
        /// PORTCULLIS_AUDIT_DIR, else audit/ in the state directory, ~/.local/state/portcullis on Linux).
        #[arg(long = "dir")]
        dirs: Vec<PathBuf>,
        /// The key file (default: PORTCULLIS_AUDIT_KEY_FILE, else audit.key in the state directory).
        #[arg(long)]
        key: Option<PathBuf>,
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
        /// Only records of this kind: startup, config, tool_call, recovery, drift (repeatable).
        #[arg(long, value_parser = ["startup", "config", "tool_call", "recovery", "drift"])]
        kind: Vec<String>,
        /// The records as stored (JSON Lines).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { dirs, key } => {
            let (default_dir, default_key) = TrailArgs {
                dir: None,
                key: None,
            }
            .resolve()?;
            let key_file = key.unwrap_or(default_key);
            let key = AuditKey::load(&key_file)
                .with_context(|| format!("cannot read the audit key {}", key_file.display()))?;
            let given = if dirs.is_empty() {
                vec![default_dir]
            } else {
                dirs
            };
            let trails = trails(&given)?;
            let mut ok = true;
            for dir in &trails {
                let report = portcullis_audit::verify(dir, &key);
                ok &= report.is_ok();
                if trails.len() == 1 {
                    crate::out::out!("{report}")?;
                } else {
                    crate::out::out!("{}: {report}", dir.display())?;
                }
            }
            if trails.len() > 1 {
                crate::out::out!(
                    "{} trails: {}",
                    trails.len(),
                    if ok { "all intact" } else { "NOT all intact" }
                )?;
            }
            Ok(if ok {
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
                        "drift" => RecordKind::Drift,
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

/// The trails to verify: each directory given, or, for one that holds no trail file but
/// subdirectories (one per replica), each of those.
fn trails(dirs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for dir in dirs {
        let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the audit directory {}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        let has_files = entries
            .iter()
            .any(|e| e.file_type().is_ok_and(|t| t.is_file()));
        let mut subdirs: Vec<PathBuf> = entries
            .iter()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(std::fs::DirEntry::path)
            .collect();
        subdirs.sort();
        if has_files || subdirs.is_empty() {
            out.push(dir.clone());
        } else {
            out.extend(subdirs);
        }
    }
    Ok(out)
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
