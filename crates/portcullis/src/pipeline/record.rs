//! The record stage: one audit record per tool call (and one at start-up and per configuration
//! load), written through `portcullis-audit` — hash-chained, MAC'd, durable before the result is
//! returned. Fail closed: a call runs only if the trail can take its record ([`Recorder::ready`]
//! before executing), and a result whose record could not be written is withheld.

use anyhow::Context;
use portcullis_audit::{
    AuditKey, AuditLog, AuditOptions, ClassificationInfo, CommandEntry, ConsentInfo,
    ConsentOutcome, DecisionInfo, DecisionOutcome, Event, ExecStatus, ExecutionInfo,
};
use serde_json::{Value, json};

use super::{Assessment, Outcome, Parsed, Refusal};
use crate::redact;

/// Where the trail and its key live (read with the rest of the configuration, in `config`).
pub use crate::config::AuditSettings;

/// The open trail.
pub struct Recorder {
    log: std::sync::Arc<AuditLog>,
    /// The writer thread of [`Recorder::record_async`], started by its first call.
    writer: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Pending>>,
}

/// A record handed to the writer thread, and where its caller waits for the answer.
struct Pending {
    event: std::sync::Arc<Event>,
    reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Most records the writer thread writes under one fdatasync.
const MAX_BATCH: usize = 512;

/// Why a result is withheld when its record could not be written.
fn withheld(e: &dyn std::fmt::Display) -> String {
    format!("the audit record of this call could not be written ({e}); its result is withheld")
}

/// The writer thread: takes every record waiting, writes them in order, makes them durable with
/// one fdatasync (group commit: under load, one sync covers hundreds of calls; alone, a call
/// waits for its own), then answers each caller. A thread of its own, so that no async worker
/// ever blocks on the disk. It ends when the recorder is dropped.
fn spawn_writer(log: std::sync::Arc<AuditLog>) -> tokio::sync::mpsc::UnboundedSender<Pending> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Pending>();
    let spawned = std::thread::Builder::new()
        .name("portcullis-audit".into())
        .spawn(move || {
            let mut batch: Vec<Pending> = Vec::new();
            while let Some(first) = rx.blocking_recv() {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let events: Vec<&Event> = batch.iter().map(|p| &*p.event).collect();
                let results = log.append_batch(&events);
                drop(events);
                for (p, r) in batch.drain(..).zip(results) {
                    let _ = p.reply.send(r.map(|_| ()).map_err(|e| withheld(&e)));
                }
            }
        });
    if let Err(e) = spawned {
        // The receiver went with the closure: every record fails, every result is withheld.
        tracing::warn!("portcullis: audit: the writer thread could not start: {e}");
    }
    tx
}

impl Recorder {
    /// Opens (or continues) the trail; any failure stops the server.
    pub fn open(settings: &AuditSettings) -> anyhow::Result<Recorder> {
        let key = AuditKey::load_or_create(&settings.key_file).with_context(|| {
            format!(
                "the audit key {} is not usable; the server does not run without an audit trail",
                settings.key_file.display()
            )
        })?;
        let options = AuditOptions {
            fsync: settings.fsync,
            ..AuditOptions::default()
        };
        let log = AuditLog::open(&settings.dir, key, options).with_context(|| {
            format!(
                "the audit trail in {} cannot be opened; the server does not run without one",
                settings.dir.display()
            )
        })?;
        for w in log.open_warnings() {
            tracing::warn!("portcullis: audit: {w}");
        }
        tracing::info!(
            "portcullis: audit trail {} (verify with `portcullis audit verify`)",
            settings.dir.display()
        );
        Ok(Recorder {
            log: std::sync::Arc::new(log),
            writer: std::sync::OnceLock::new(),
        })
    }

    /// Appends a start-up or configuration record; failing, the server does not start.
    pub fn record_startup(&self, event: &Event) -> anyhow::Result<()> {
        self.log
            .append(event)
            .map(|_| ())
            .context("cannot write the start-up audit record; the server does not run without one")
    }

    /// Whether a call may run: the trail can take its record. `Err` says why not.
    pub fn ready(&self) -> Result<(), String> {
        self.log.preflight().map_err(|e| {
            format!("the audit trail cannot take a record ({e}), so nothing was executed")
        })
    }

    /// Appends the record of a finished call. `Err` says why the result must be withheld.
    /// Blocks until the record is durable; async code uses [`Recorder::record_async`].
    pub fn record(&self, event: &Event) -> Result<(), String> {
        self.log.append(event).map(|_| ()).map_err(|e| withheld(&e))
    }

    /// [`Recorder::record`] through the writer thread, which shares one fdatasync among all the
    /// records waiting: the caller's task waits, no thread blocks.
    pub async fn record_async(&self, event: std::sync::Arc<Event>) -> Result<(), String> {
        let writer = self
            .writer
            .get_or_init(|| spawn_writer(std::sync::Arc::clone(&self.log)));
        let (reply, answer) = tokio::sync::oneshot::channel();
        if writer.send(Pending { event, reply }).is_err() {
            return Err(withheld(&"the audit writer is not running"));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(withheld(&"the audit writer stopped")))
    }
}

/// The record of one command that was assessed, with what became of it. Its parameters are the
/// assessment's, masked; messages have the request's secret values scrubbed.
pub fn entry(a: &Assessment, outcome: &Outcome) -> CommandEntry {
    let (params, service, operation) = match &a.parsed {
        Parsed::Call(c) => (
            Some(a.masked_params.clone()),
            c.command.clone(),
            c.cli_operation.clone(),
        ),
        Parsed::S3(c) => (
            serde_json::to_value(&c.op).ok(),
            "s3".to_string(),
            a.display.trim_start_matches("aws s3 ").to_string(),
        ),
        Parsed::Extra(c) => (
            serde_json::to_value(&c.kind).ok(),
            c.command.clone(),
            a.display
                .trim_start_matches(&format!("aws {} ", c.command))
                .to_string(),
        ),
        Parsed::Skeleton(_) => (
            None,
            a.request.service_cli_name.clone(),
            a.request.operation_cli_name.clone(),
        ),
    };
    let c = &a.classification;
    let mut flags = Vec::new();
    for (on, name) in [
        (c.flags.returns_secret, "returns-secrets"),
        (c.flags.returns_credentials, "returns-credentials"),
        (c.flags.destructive, "destructive"),
        (c.flags.side_effects, "side-effects"),
    ] {
        if on {
            flags.push(name.to_string());
        }
    }
    let decided = match a.decision.outcome {
        portcullis_policy::Outcome::Allow => DecisionOutcome::Allow,
        portcullis_policy::Outcome::Consent => DecisionOutcome::Consent,
        portcullis_policy::Outcome::Deny => DecisionOutcome::Deny,
    };
    // Only a command someone was (or would have been) asked about has a consent outcome;
    // `check_aws_command` asks nobody.
    // A rate limit refuses before anybody is asked; the other limits after the approval.
    let asked = decided == DecisionOutcome::Consent
        && !matches!(
            outcome,
            Outcome::Checked
                | Outcome::Limited(super::limits::Refused {
                    kind: super::limits::LimitKind::RateLimited,
                    ..
                })
        );
    let consent = asked.then(|| ConsentInfo {
        outcome: match outcome {
            Outcome::Ran(_) | Outcome::AuditUnavailable(_) | Outcome::Limited(_) => {
                ConsentOutcome::Approved
            }
            Outcome::NotApproved {
                why: Refusal::Declined,
                ..
            } => ConsentOutcome::Declined,
            Outcome::NotApproved {
                why: Refusal::Cancelled,
                ..
            } => ConsentOutcome::Cancelled,
            Outcome::NotApproved {
                why: Refusal::Unavailable,
                ..
            } => ConsentOutcome::Unavailable,
            Outcome::Pending => ConsentOutcome::Pending,
            Outcome::NotApproved {
                why: Refusal::Failed,
                ..
            }
            | Outcome::Denied
            | Outcome::Checked => ConsentOutcome::Failed,
        },
        digest: Some(a.digest.clone()),
    });
    let scrub = |m: &str| redact::scrub(m, &a.secrets);
    let execution = match outcome {
        Outcome::Ran(run) => ExecutionInfo {
            status: if run.ok {
                ExecStatus::Ok
            } else {
                ExecStatus::Error
            },
            http_status: run.http_status,
            request_id: run.request_id.clone(),
            error_code: run.error_code.clone(),
            message: run.error.as_deref().map(scrub),
        },
        Outcome::Limited(r) => ExecutionInfo {
            status: ExecStatus::Limited,
            http_status: None,
            request_id: None,
            error_code: Some(r.kind.status().to_string()),
            message: Some(scrub(&r.message)),
        },
        other => ExecutionInfo {
            status: ExecStatus::NotRun,
            http_status: None,
            request_id: None,
            error_code: Some(other.status().to_string()),
            message: match other {
                Outcome::Denied => Some(scrub(&denied_message(a))),
                Outcome::NotApproved { message, .. } | Outcome::AuditUnavailable(message) => {
                    Some(scrub(message))
                }
                _ => None,
            },
        },
    };
    CommandEntry {
        service: Some(service),
        operation: Some(operation),
        region: a.request.region.clone(),
        digest: (!a.digest.is_empty()).then(|| a.digest.clone()),
        params,
        classification: Some(ClassificationInfo {
            // Every action the call needs, dependent ones (`iam:PassRole`) included.
            actions: c.all_actions().cloned().collect(),
            access_level: Some(
                c.access_level
                    .map_or_else(|| "unknown".to_string(), |l| l.to_string()),
            ),
            flags,
            resources: a.request.resources.clone(),
        }),
        decision: Some(DecisionInfo {
            outcome: decided,
            reasons: a.decision.reasons.clone(),
            rule_ids: a.decision.rule_ids.clone(),
        }),
        consent,
        execution: Some(execution),
    }
}

/// What a denied command's result says.
pub fn denied_message(a: &Assessment) -> String {
    format!(
        "denied by policy, not executed: {}",
        a.decision.reasons.join("; ")
    )
}

/// The record of a command that did not parse (nothing about it is known but that).
pub fn invalid_entry(message: &str, secrets: &[String]) -> CommandEntry {
    CommandEntry {
        execution: Some(ExecutionInfo {
            status: ExecStatus::NotRun,
            http_status: None,
            request_id: None,
            error_code: Some("invalid".into()),
            message: Some(redact::scrub(message, secrets)),
        }),
        ..CommandEntry::default()
    }
}

/// The start-up record's facts (no secrets).
pub fn startup_detail(transport: &str, settings: &crate::config::Settings) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "transport": transport,
        "mode": settings.policy.mode().to_string(),
        "file_access": settings.file_access.to_string(),
        "working_dir": settings.working_dir.display().to_string(),
        "profile": settings.profile,
        "region": settings.region,
        "replica": settings.audit.replica,
    })
}

/// The configuration record's facts: the policy file and its SHA-256, the rules in force.
pub fn config_detail(settings: &crate::config::Settings) -> Value {
    use sha2::Digest;
    let digest = std::fs::read(&settings.policy_source).ok().map(|b| {
        sha2::Sha256::digest(&b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    });
    json!({
        "policy": settings.policy_source,
        "policy_sha256": digest,
        "mode": settings.policy.mode().to_string(),
        "rules": settings.policy.rules().len(),
        "cedar_policies": settings.policy.cedar().map(|c| c.ids().count()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn recorder(dir: &std::path::Path) -> Recorder {
        Recorder::open(&AuditSettings {
            dir: dir.join("audit"),
            key_file: dir.join("audit.key"),
            fsync: portcullis_audit::FsyncPolicy::Always,
            replica: None,
        })
        .unwrap()
    }

    /// Through the writer thread: concurrent callers each get their own answer, a record that
    /// cannot be written withholds only its own result, and the chain verifies afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_thread_answers_each_caller_and_withholds_what_it_cannot_write() {
        let tmp = std::env::temp_dir().join(format!("portcullis-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let rec = std::sync::Arc::new(recorder(&tmp));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let rec = std::sync::Arc::clone(&rec);
                tokio::spawn(async move {
                    let mut event = Event::startup(json!({"n": i}));
                    if i == 7 {
                        // Over the trail's 8 MiB record limit even once summarized.
                        event.error = Some("x".repeat(9 * 1024 * 1024));
                    }
                    rec.record_async(std::sync::Arc::new(event)).await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let answer = t.await.unwrap();
            if i == 7 {
                let why = answer.unwrap_err();
                assert!(why.contains("result is withheld"), "{why}");
            } else {
                answer.unwrap();
            }
        }
        drop(rec);
        let key = AuditKey::load_or_create(&tmp.join("audit.key")).unwrap();
        let report = portcullis_audit::verify(&tmp.join("audit"), &key);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.records, 63);
        assert_eq!(report.head.unwrap().seq, 63);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
