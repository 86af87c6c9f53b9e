//! What became of a command: the typed values the later stages hand on ([`Answer`] from consent,
//! [`Execution`] from execute and shape, [`Outcome`] for the whole). No stage reads a status
//! string back: the strings of tool results and audit records are made from these, in one place.

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
}

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
