//! The record: what the caller hands in ([`Event`]), what the trail holds ([`AuditRecord`]), and
//! the exact bytes that are hashed and MAC'd (see the crate docs, "Canonical format").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::key::AuditKey;

/// The hash `prev` holds in the very first record of a trail.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fixed suffix of every line: `,"mac":"` + 64 hex digits + `"}`.
pub(crate) const MAC_SUFFIX_LEN: usize = 8 + 64 + 2;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// The server started (one per process, first thing written).
    Startup,
    /// A configuration or policy was loaded (at start-up and on every reload).
    Config,
    /// One tool call, whatever its outcome (denied, declined, failed, executed).
    ToolCall,
    /// Written by [`crate::AuditLog::open`] when it found the trail's end damaged (torn last line
    /// from a crash, a head that does not match); `detail` says what was found.
    Recovery,
    /// `portcullis gateway`: an upstream's tool, prompt or resource template no longer matches
    /// its pin (changed, added, removed, renamed) and was quarantined; `detail` holds the diff
    /// and the poisoning scan's findings.
    Drift,
}

/// The policy decision on one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Runs without asking.
    Allow,
    /// Runs only after the user approved this exact digest.
    Consent,
    /// Never runs.
    Deny,
}

/// What the user answered to a consent request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    /// Explicitly accepted; `digest` is what was approved.
    Approved,
    /// Explicitly declined.
    Declined,
    /// Dismissed or cancelled without an answer.
    Cancelled,
    /// The client cannot show a consent prompt (the call is refused).
    Unavailable,
    /// The approval round expired or was not found.
    Expired,
    /// Asking failed, or the answer did not match the request asked about (digest mismatch, an
    /// answer that is not an elicitation result): nothing was approved.
    Failed,
    /// The person is being asked (2026-07-28: an `InputRequiredResult` went back); the retry
    /// carrying the answer is recorded on its own.
    Pending,
}

/// How execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecStatus {
    /// The service answered with success.
    Ok,
    /// The service answered with an error, or the request failed in transport.
    Error,
    /// Not executed (denied, declined, invalid, audit not ready, dry run).
    NotRun,
    /// Not executed: a limit refused it (rate limit, load shed, open circuit breaker); the
    /// execution's `error_code` says which (`rate_limited`, `overloaded`, `breaker_open`).
    Limited,
}

/// The classification of one command (kept as strings so the record stage does not depend on
/// the AWS-specific crates; gateway-mode tools fill the same fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassificationInfo {
    /// IAM actions, e.g. `s3:ListBucket`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Access level (`List`, `Read`, `Write`, `Permissions management`, `Tagging`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    /// Risk flags (`returns-secrets`, `returns-credentials`, `destructive`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// ARNs touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// The decision with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionInfo {
    /// Allow, consent or deny.
    pub outcome: DecisionOutcome,
    /// Human-readable reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Ids of the rules (and Cedar policies) that decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_ids: Vec<String>,
}

/// The consent exchange, when one happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentInfo {
    /// What the user answered.
    pub outcome: ConsentOutcome,
    /// The digest of the normalized request the answer refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// How the command ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    /// Ok, error or not run.
    pub status: ExecStatus,
    /// HTTP status of the (last) response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The AWS request id (`x-amzn-RequestId` / `x-amz-request-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The service error code (`AccessDenied`, `ThrottlingException`, ...) or a local error kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A short error message (must not contain secrets; the server's error texts never do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One command of a tool call (a `call_aws` batch has several; region fan-out gives one each).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandEntry {
    /// Service (CLI name, e.g. `s3api`), or the upstream server's name in gateway mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Operation (e.g. `ListBuckets` or `list-buckets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Region the call was (or would be) sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The digest of the normalized request (what consent approves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The request's parameters, secret values already masked by the caller (the pipeline's
    /// record stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// Classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationInfo>,
    /// Decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionInfo>,
    /// Consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentInfo>,
    /// Execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionInfo>,
}

/// What the caller records. The log adds `seq`, `time`, `instance`, `key_id`, `prev` and `mac`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Startup, config, tool call (recovery is written by the log itself).
    pub kind: RecordKind,
    /// The MCP session (stdio: none; HTTP: the session id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Whose credentials (the caller identity ARN) and/or the authenticated MCP owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The authenticated user the call was made for: `iss#sub` of its OAuth access token (HTTP
    /// with `AUTH_TYPE=oauth`); absent for the owner of a stdio or token-file server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The MCP tool (`call_aws`, `suggest_aws_commands`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The commands of the call, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandEntry>,
    /// A failure of the call as a whole (parse error, batch too large, audit not ready, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time from receiving the call to having its result (before this record), microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Size of the result returned to the client, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
    /// Free-form detail: start-up facts (version, pid, transport, mode), the configuration loaded
    /// (paths and digests, never secrets), what a recovery found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl Event {
    /// An empty event of `kind`.
    pub fn new(kind: RecordKind) -> Event {
        Event {
            kind,
            session: None,
            principal: None,
            user: None,
            tool: None,
            commands: Vec::new(),
            error: None,
            latency_us: None,
            response_bytes: None,
            detail: None,
        }
    }

    /// The start-up record (`detail`: version, pid, transport, policy mode, ...).
    pub fn startup(detail: Value) -> Event {
        Event {
            detail: Some(detail),
            ..Event::new(RecordKind::Startup)
        }
    }

    /// A configuration load (`detail`: files and their SHA-256, mode, rule counts, ...).
    pub fn config(detail: Value) -> Event {
        Event {
            detail: Some(detail),
            ..Event::new(RecordKind::Config)
        }
    }

    /// A definition that drifted from its pin (`detail`: upstream, name, change, diff, findings).
    pub fn drift(detail: Value) -> Event {
        Event {
            detail: Some(detail),
            ..Event::new(RecordKind::Drift)
        }
    }

    /// A tool call of `tool`; fill in the rest.
    pub fn tool_call(tool: impl Into<String>) -> Event {
        Event {
            tool: Some(tool.into()),
            ..Event::new(RecordKind::ToolCall)
        }
    }
}

/// A record as stored: the chain header, the event, and the MAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1, 2, 3, ... across all files of the trail.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-24T07:57:22.123Z`.
    pub time: String,
    /// Random id of the writing process (32 hex digits).
    pub instance: String,
    /// Id of the key that MAC'd the record (see [`AuditKey::id`]).
    pub key_id: String,
    /// Hex SHA-256 of the previous record's whole line (without its newline); [`GENESIS`] first.
    pub prev: String,
    /// What was recorded.
    #[serde(flatten)]
    pub event: Event,
    /// Hex HMAC-SHA256 of the canonical body under the install key.
    pub mac: String,
}

/// The chain header the log puts in front of an event.
pub(crate) struct Header<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub instance: &'a str,
    pub key_id: &'a str,
    pub prev: &'a str,
}

/// Builds the full line (without the newline) for `event_json` (a serialized [`Event`]).
/// All header values are ASCII without quotes or backslashes (digits, hex, our own timestamp), so
/// they are written as they are.
pub(crate) fn build_line(header: &Header<'_>, event_json: &str, key: &AuditKey) -> String {
    let event_members = event_json.strip_prefix('{').unwrap_or(event_json);
    let mut body = String::with_capacity(event_json.len() + 256 + MAC_SUFFIX_LEN);
    body.push_str("{\"seq\":");
    body.push_str(&header.seq.to_string());
    for (name, value) in [
        ("time", header.time),
        ("instance", header.instance),
        ("key_id", header.key_id),
        ("prev", header.prev),
    ] {
        body.push_str(",\"");
        body.push_str(name);
        body.push_str("\":\"");
        body.push_str(value);
        body.push('"');
    }
    body.push(',');
    body.push_str(event_members);
    // `body` is now the canonical body; the line replaces its closing brace by the MAC member.
    let mac = key.mac_hex(body.as_bytes());
    body.pop();
    body.push_str(",\"mac\":\"");
    body.push_str(&mac);
    body.push_str("\"}");
    body
}

/// Splits a line (no newline) into its canonical body and MAC: the line must end with
/// `,"mac":"<64 lowercase hex>"}`; the body is everything before that suffix followed by `}`.
pub fn canonical_body(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    let cut = line.len().checked_sub(MAC_SUFFIX_LEN)?;
    let suffix = &line[cut..];
    if !suffix.starts_with(b",\"mac\":\"") || !suffix.ends_with(b"\"}") {
        return None;
    }
    let mac = &suffix[8..8 + 64];
    if !crate::codec::is_lower_hex(mac, 64) || !line.starts_with(b"{\"seq\":") {
        return None;
    }
    let mut body = Vec::with_capacity(cut + 1);
    body.extend_from_slice(&line[..cut]);
    body.push(b'}');
    Some((body, std::str::from_utf8(mac).ok()?))
}

/// The chain fields of a body, read without trusting anything else in it.
#[derive(Debug, Deserialize)]
pub(crate) struct ChainFields {
    pub seq: u64,
    pub key_id: String,
    pub prev: String,
    pub kind: Option<String>,
    #[serde(default)]
    pub detail: Option<Value>,
}
