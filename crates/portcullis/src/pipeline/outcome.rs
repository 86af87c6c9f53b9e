//! What became of a command: the typed values the later stages hand on ([`Answer`] from consent,
//! [`Execution`] from execute and shape, [`Outcome`] for the whole). No stage reads a status
//! string back: the strings of tool results and audit records are made from these, in one place.

use std::fmt::Write as _;

/// The answer to a consent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Approved: the digest the person approved.
    Approved(String),
    /// Not approved, with what the operator can do about it.
    Refused { why: Refusal, message: String },
}

/// Why a command that needed approval did not get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The person said no (or answered something that is not a yes).
    Declined,
    /// The person dismissed the prompt, or never answered it.
    Cancelled,
    /// The client cannot show a prompt.
    Unavailable,
    /// Asking failed (an error, an expired or unknown approval, a different request).
    Failed,
}

impl Refusal {
    /// The status of a tool result's entry (`declined`, ...).
    pub fn status(self) -> &'static str {
        match self {
            Refusal::Declined => "declined",
            Refusal::Cancelled => "cancelled",
            Refusal::Unavailable => "consent_unavailable",
            Refusal::Failed => "consent_failed",
        }
    }
}

/// The result of the execute and shape stages.
#[derive(Debug, Default, Clone)]
pub struct Execution {
    pub ok: bool,
    /// What the AWS CLI prints on stdout: the shaped (masked, queried, formatted) response, or a
    /// customization's output.
    pub output: String,
    /// Why it failed, as one message (secret values of the request scrubbed).
    pub error: Option<String>,
    /// The response document, when the job asked to keep it (`Job::keeping_response`).
    pub response: Option<serde_json::Value>,
    /// What the AWS CLI prints on stderr (a person at a terminal reads it; `portcullis exec`).
    pub stderr: String,
    /// The AWS CLI's exit code for this result (0, 252 usage, 254 service error, 255 other).
    pub exit_code: u8,
    /// A bound of the engine stopped the call early: what to tell the agent, with the token to
    /// go on (`--query` may hide `NextToken`).
    pub truncated: Option<String>,
    /// The AWS request id of the (last) response, for the audit record.
    pub request_id: Option<String>,
    /// The service's error code (`NoSuchBucket`), or a local kind (`deadline`, `egress`, ...).
    pub error_code: Option<String>,
    /// The HTTP status of a service error.
    pub http_status: Option<u16>,
    /// Requests sent, retries included (0 when nothing was sent).
    pub attempts: u32,
    /// The values of the response shown as `****` (masked: not decided as a secret read), in
    /// document order: where, why, and how to get them. Empty when nothing was masked.
    pub masked: Vec<Masked>,
}

/// One value of a response that the agent reads as `****`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Masked {
    /// Where it is in the response, as a JMESPath path (`Parameter.Value`,
    /// `Parameters[2].Value`): what `--query` would select.
    pub path: String,
    /// Why it is masked: `sensitive in the model`, `SecureString parameter`, `named like a
    /// secret`, `paired with a name like a secret` ([`crate::redact::Why`]).
    pub why: String,
    /// How to get it, as the policy in force would treat that.
    pub how: String,
}

/// How many paths of one kind the note names before it counts the rest.
const NOTE_PATHS: usize = 5;

impl Execution {
    /// A failure before anything was sent (a bad `--output`, a refused approval digest, ...).
    pub fn failed(message: String, exit_code: u8) -> Execution {
        Execution {
            ok: false,
            stderr: format!("{message}\n"),
            error: Some(message),
            exit_code,
            ..Execution::default()
        }
    }

    /// One line saying what was masked, why and how to get it, when anything was; for the text
    /// the agent reads after the output ([`Execution::agent_text`]). Paths of the same why and
    /// how are named together (the first few, then how many more).
    pub fn masked_note(&self) -> Option<String> {
        if self.masked.is_empty() {
            return None;
        }
        let mut groups: Vec<(&str, &str, Vec<&str>)> = Vec::new();
        for m in &self.masked {
            match groups
                .iter_mut()
                .find(|(why, how, _)| *why == m.why && *how == m.how)
            {
                Some((_, _, paths)) => paths.push(&m.path),
                None => groups.push((&m.why, &m.how, vec![&m.path])),
            }
        }
        let n = self.masked.len();
        let mut note = format!(
            "[portcullis] masked {n} value{} as {}, not the real value{}:",
            if n == 1 { "" } else { "s" },
            crate::redact::MASK,
            if n == 1 { "" } else { "s" },
        );
        for (why, how, paths) in groups {
            let mut named = paths
                .iter()
                .take(NOTE_PATHS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if paths.len() > NOTE_PATHS {
                let _ = write!(named, " and {} more", paths.len() - NOTE_PATHS);
            }
            let _ = write!(note, " {named} ({why}): {how}.");
        }
        Some(note)
    }

    /// The text an agent reads: [`Execution::shown_output`], then the [`Execution::masked_note`]
    /// on a line of its own. (The structured result keeps `output` as the AWS CLI prints it and
    /// lists the masked values in `masked`.)
    pub fn agent_text(&self) -> String {
        let mut text = self.shown_output();
        if let Some(note) = self.masked_note() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&note);
            text.push('\n');
        }
        text
    }

    /// The output an agent reads: the response, with the note of a bound that stopped it early.
    pub fn shown_output(&self) -> String {
        let mut text = self.output.clone();
        if let Some(t) = &self.truncated {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(t);
            text.push('\n');
        }
        text
    }
}

/// What became of one assessed command.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per command, moved along, never stored in bulk
pub enum Outcome {
    /// The policy denied it; nothing ran.
    Denied,
    /// It needed approval and did not get it; nothing ran.
    NotApproved { why: Refusal, message: String },
    /// The audit trail could not take its record, so it did not run (fail closed).
    AuditUnavailable(String),
    /// It ran (successfully or not).
    Ran(Execution),
    /// The person is being asked (multi-round-trip consent); nothing ran yet.
    Pending,
    /// Only checked (`check_aws_command`); nothing runs.
    Checked,
    /// A limit refused it (rate, load shedding, an open breaker); nothing was sent.
    Limited(super::limits::Refused),
}

impl Outcome {
    /// The status of a tool result's entry.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Denied => "denied",
            Outcome::NotApproved { why, .. } => why.status(),
            Outcome::AuditUnavailable(_) => "audit_unavailable",
            Outcome::Ran(e) if e.ok => "success",
            Outcome::Ran(_) => "error",
            Outcome::Pending => "consent_pending",
            Outcome::Checked => "checked",
            Outcome::Limited(r) => r.kind.status(),
        }
    }

    /// Whether it ran and succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Ran(e) if e.ok)
    }

    /// The execution, when it ran.
    pub fn execution(&self) -> Option<&Execution> {
        match self {
            Outcome::Ran(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn masked(path: &str, why: &str, how: &str) -> Masked {
        Masked {
            path: path.into(),
            why: why.into(),
            how: how.into(),
        }
    }

    /// The structured result lists each masked value as `{path, why, how}`; the text the agent
    /// reads ends with one line naming them, grouped by why and how; `output` is left as the AWS
    /// CLI prints it. Nothing masked: no list, no note.
    #[test]
    fn masked_values_are_listed_and_noted() {
        let how = "run the command again with --with-decryption; that is a secret read, so a person is asked for consent before it runs";
        let mut run = Execution {
            ok: true,
            output: "{\"Parameter\": {\"Value\": \"****\"}}".into(),
            ..Execution::default()
        };
        assert_eq!(run.masked_note(), None);
        assert_eq!(run.agent_text(), run.shown_output());
        run.masked = vec![masked("Parameter.Value", "SecureString parameter", how)];
        assert_eq!(
            serde_json::to_value(&run.masked).unwrap(),
            serde_json::json!([{"path": "Parameter.Value", "why": "SecureString parameter", "how": how}])
        );
        assert_eq!(
            run.agent_text(),
            format!(
                "{}\n[portcullis] masked 1 value as ****, not the real value: Parameter.Value (SecureString parameter): {how}.\n",
                run.output
            )
        );
        assert!(!run.shown_output().contains("[portcullis]"));

        let other = "no option of this command makes it a secret read";
        run.masked = (0..7)
            .map(|i| {
                masked(
                    &format!("Parameters[{i}].Value"),
                    "SecureString parameter",
                    how,
                )
            })
            .chain([masked(
                "Environment.Variables",
                "sensitive in the model",
                other,
            )])
            .collect();
        assert_eq!(
            run.masked_note().unwrap(),
            format!(
                "[portcullis] masked 8 values as ****, not the real values: Parameters[0].Value, Parameters[1].Value, \
                 Parameters[2].Value, Parameters[3].Value, Parameters[4].Value and 2 more (SecureString parameter): {how}. \
                 Environment.Variables (sensitive in the model): {other}."
            )
        );
    }
}
