//! The record stage: one audit record per tool call (and one at start-up and per configuration
//! load), written through `portcullis-audit` — hash-chained, MAC'd, durable before the result is
//! returned. Fail closed: a call runs only if the trail can take its record ([`Recorder::ready`]
//! before executing), and a result whose record could not be written is withheld.

use std::path::PathBuf;

use anyhow::Context;
use portcullis_audit::{
    AuditKey, AuditLog, AuditOptions, ClassificationInfo, CommandEntry, ConsentInfo, ConsentOutcome, DecisionInfo,
    DecisionOutcome, Event, ExecStatus, ExecutionInfo, FsyncPolicy,
};
use serde_json::{Value, json};

use super::{Assessment, Parsed};
use crate::redact;

/// Where the trail and its key live, and when records reach the disk.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// `PORTCULLIS_AUDIT_DIR` (config `audit-dir`), default `$XDG_STATE_HOME/portcullis/audit`.
    pub dir: PathBuf,
    /// `PORTCULLIS_AUDIT_KEY_FILE` (config `audit-key-file`), default `$XDG_STATE_HOME/portcullis/audit.key`.
    pub key_file: PathBuf,
    /// `PORTCULLIS_AUDIT_FSYNC` (config `audit-fsync`): `always` (default), `never`, or `<N>ms`.
    pub fsync: FsyncPolicy,
}

impl AuditSettings {
    /// Reads the settings through `var` (the layered lookup of `serve`).
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<AuditSettings> {
        let state = var("XDG_STATE_HOME").map(PathBuf::from).or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local").join("state")));
        let default = |name: &str| state.as_ref().map(|s| s.join("portcullis").join(name));
        let dir = var("PORTCULLIS_AUDIT_DIR").map(PathBuf::from).or_else(|| default("audit"));
        let key_file = var("PORTCULLIS_AUDIT_KEY_FILE").map(PathBuf::from).or_else(|| default("audit.key"));
        let (Some(dir), Some(key_file)) = (dir, key_file) else {
            anyhow::bail!("no place for the audit trail: set PORTCULLIS_AUDIT_DIR and PORTCULLIS_AUDIT_KEY_FILE (or HOME)");
        };
        let fsync = match var("PORTCULLIS_AUDIT_FSYNC").map(|v| v.trim().to_ascii_lowercase()) {
            None => FsyncPolicy::Always,
            Some(v) if v == "always" => FsyncPolicy::Always,
            Some(v) if v == "never" => FsyncPolicy::Never,
            Some(v) => match v.strip_suffix("ms").and_then(|n| n.parse::<u64>().ok()) {
                Some(ms) => FsyncPolicy::Interval(std::time::Duration::from_millis(ms)),
                None => anyhow::bail!("PORTCULLIS_AUDIT_FSYNC must be always, never or a number of milliseconds like 100ms, not `{v}`"),
            },
        };
        Ok(AuditSettings { dir, key_file, fsync })
    }
}

/// The open trail.
pub struct Recorder {
    log: AuditLog,
}

impl Recorder {
    /// Opens (or continues) the trail; any failure stops the server.
    pub fn open(settings: &AuditSettings) -> anyhow::Result<Recorder> {
        let key = AuditKey::load_or_create(&settings.key_file)
            .with_context(|| format!("the audit key {} is not usable; the server does not run without an audit trail", settings.key_file.display()))?;
        let options = AuditOptions { fsync: settings.fsync, ..AuditOptions::default() };
        let log = AuditLog::open(&settings.dir, key, options)
            .with_context(|| format!("the audit trail in {} cannot be opened; the server does not run without one", settings.dir.display()))?;
        for w in log.open_warnings() {
            tracing::warn!("portcullis: audit: {w}");
        }
        tracing::info!("portcullis: audit trail {} (verify with `portcullis audit verify`)", settings.dir.display());
        Ok(Recorder { log })
    }

    /// Appends a start-up or configuration record; failing, the server does not start.
    pub fn record_startup(&self, event: &Event) -> anyhow::Result<()> {
        self.log.append(event).map(|_| ()).context("cannot write the start-up audit record; the server does not run without one")
    }

    /// Whether a call may run: the trail can take its record. `Err` says why not.
    pub fn ready(&self) -> Result<(), String> {
        self.log.preflight().map_err(|e| format!("the audit trail cannot take a record ({e}), so nothing was executed"))
    }

    /// Appends the record of a finished call. `Err` says why the result must be withheld.
    pub fn record(&self, event: &Event) -> Result<(), String> {
        self.log.append(event).map(|_| ()).map_err(|e| format!("the audit record of this call could not be written ({e}); its result is withheld"))
    }
}

/// The record of one command that was assessed, with what became of it (`item`: the command's
/// entry of the tool result; `secrets`: the request's secret values, scrubbed from its error).
pub fn entry(a: &Assessment, item: &Value, secrets: &[String]) -> CommandEntry {
    let status = item.get("status").and_then(Value::as_str).unwrap_or_default();
    let (params, service, operation) = match &a.parsed {
        Parsed::Call(c) => {
            let mut params = portcullis_cli::Value::Map(c.params.clone()).to_json();
            if let Some((model, Some(input), _)) = redact::shapes(&c.service, &c.operation) {
                redact::mask(&model, &input, &mut params);
            }
            (Some(params), c.command.clone(), c.cli_operation.clone())
        }
        Parsed::S3(c) => (serde_json::to_value(&c.op).ok(), "s3".to_string(), a.display.trim_start_matches("aws s3 ").to_string()),
        Parsed::Extra(c) => (serde_json::to_value(&c.kind).ok(), c.command.clone(), a.display.trim_start_matches(&format!("aws {} ", c.command)).to_string()),
        Parsed::Skeleton(_) => (None, a.request.service_cli_name.clone(), a.request.operation_cli_name.clone()),
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
    let outcome = match a.decision.outcome {
        portcullis_policy::Outcome::Allow => DecisionOutcome::Allow,
        portcullis_policy::Outcome::Consent => DecisionOutcome::Consent,
        portcullis_policy::Outcome::Deny => DecisionOutcome::Deny,
    };
    // Only a command someone was (or would have been) asked about has a consent outcome;
    // `check_aws_command` asks nobody.
    let asked = outcome == DecisionOutcome::Consent && status != "checked";
    let consent = asked.then(|| ConsentInfo {
        outcome: match status {
            "success" | "error" => ConsentOutcome::Approved,
            "declined" => ConsentOutcome::Declined,
            "cancelled" => ConsentOutcome::Cancelled,
            "consent_pending" => ConsentOutcome::Pending,
            "consent_unavailable" => ConsentOutcome::Unavailable,
            _ => ConsentOutcome::Failed,
        },
        digest: Some(a.digest.clone()),
    });
    let execution = ExecutionInfo {
        status: match status {
            "success" => ExecStatus::Ok,
            "error" => ExecStatus::Error,
            _ => ExecStatus::NotRun,
        },
        http_status: item.get("http_status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()),
        request_id: item.get("request_id").and_then(Value::as_str).map(str::to_string),
        error_code: item.get("error_code").and_then(Value::as_str).map(str::to_string).or_else(|| (status != "success" && status != "error").then(|| status.to_string())),
        message: item.get("error").and_then(Value::as_str).map(|m| redact::scrub(m, secrets)),
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
            access_level: Some(c.access_level.map_or_else(|| "unknown".to_string(), |l| l.to_string())),
            flags,
            resources: a.request.resources.clone(),
        }),
        decision: Some(DecisionInfo { outcome, reasons: a.decision.reasons.clone(), rule_ids: a.decision.rule_ids.clone() }),
        consent,
        execution: Some(execution),
    }
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
    })
}

/// The configuration record's facts: the policy file and its SHA-256, the rules in force.
pub fn config_detail(settings: &crate::config::Settings) -> Value {
    use sha2::Digest;
    let digest = std::fs::read(&settings.policy_source).ok().map(|b| sha2::Sha256::digest(&b).iter().map(|x| format!("{x:02x}")).collect::<String>());
    json!({
        "policy": settings.policy_source,
        "policy_sha256": digest,
        "mode": settings.policy.mode().to_string(),
        "rules": settings.policy.rules().len(),
        "cedar_policies": settings.policy.cedar().map(|c| c.ids().count()),
    })
}
