//! The consent stage: ask the person at the client with an MCP elicitation request (protocol
//! 2025-11-25), showing the exact command, its classification and why it needs approval. Only an
//! explicit `accept` approves, and the approval names the request digest. Anything else — decline,
//! cancel, an error, a timeout, a client that cannot show a prompt — means "do not run".

use std::time::Duration;

use rmcp::Peer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, RoleServer};
use serde_json::json;

use super::pipeline::Assessment;

/// How long a person has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// The answer to a consent request.
pub enum Answer {
    /// Approved: the digest the person approved.
    Approved(String),
    /// Not approved, with what the operator can do about it.
    Refused { status: &'static str, message: String },
}

/// Ask whether `a` may run.
pub async fn ask(peer: &Peer<RoleServer>, a: &Assessment) -> Answer {
    let why = a.decision.reasons.join("; ");
    if !peer.supported_elicitation_modes().contains(&ElicitationMode::Form) {
        return Answer::Refused {
            status: "consent_unavailable",
            message: format!(
                "not executed: `{}` needs a person's approval ({why}), but this MCP client did not declare the elicitation \
                 capability, so Portcullis cannot ask. Use an MCP client that supports elicitation, or change the policy \
                 (e.g. an allow rule for `{}`) if it should run without asking.",
                a.command,
                a.request.command()
            ),
        };
    }
    let level = a.classification.access_level.map_or_else(|| "unknown (treated as a write)".to_string(), |l| l.to_string());
    let mut flags = Vec::new();
    if a.classification.flags.destructive {
        flags.push("destructive");
    }
    if a.classification.flags.returns_secret {
        flags.push("returns a secret");
    }
    if a.classification.flags.returns_credentials {
        flags.push("returns credentials");
    }
    let message = format!(
        "An AI agent asks to run this AWS command:\n\n    {}\n\nOperation: {} ({})\nIAM actions: {}\nAccess level: {}{}\nWhy you are asked: {}\nRequest digest: {}\n\nAccept to run exactly this request once; decline to refuse it.",
        a.command,
        a.display,
        a.api_operation,
        if a.classification.actions.is_empty() { "unknown".to_string() } else { a.classification.actions.join(", ") },
        level,
        if flags.is_empty() { String::new() } else { format!(" ({})", flags.join(", ")) },
        why,
        a.digest,
    );
    let schema = match ElicitationSchema::from_json_schema(
        json!({
            "type": "object",
            "properties": {
                "confirm": { "type": "boolean", "title": "Run this command", "description": "Run exactly the command shown, once", "default": true }
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    ) {
        Ok(s) => s,
        Err(e) => return Answer::Refused { status: "consent_failed", message: format!("not executed: cannot build the consent prompt: {e}") },
    };
    let params = ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema: schema };
    match peer.create_elicitation_with_timeout(params, Some(ANSWER_WITHIN)).await {
        Ok(r) => match r.action {
            ElicitationAction::Accept => {
                let confirmed = r.content.as_ref().and_then(|c| c.get("confirm")).and_then(|v| v.as_bool()) != Some(false);
                if confirmed {
                    Answer::Approved(a.digest.clone())
                } else {
                    Answer::Refused { status: "declined", message: format!("not executed: the person did not confirm `{}`", a.command) }
                }
            }
            ElicitationAction::Decline => Answer::Refused {
                status: "declined",
                message: format!("not executed: the person declined `{}`. Do not retry it unchanged; ask them what to do instead.", a.command),
            },
            ElicitationAction::Cancel => Answer::Refused {
                status: "cancelled",
                message: format!("not executed: the person dismissed the approval prompt for `{}`", a.command),
            },
            // An answer this version does not know is not an approval (fail closed).
            _ => Answer::Refused { status: "consent_failed", message: format!("not executed: unrecognised answer to the approval prompt for `{}`", a.command) },
        },
        Err(e) => Answer::Refused {
            status: "consent_failed",
            message: format!("not executed: the approval request for `{}` failed ({e}); nothing was sent to AWS", a.command),
        },
    }
}
