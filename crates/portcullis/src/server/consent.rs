//! The consent stage: ask the person at the client, showing the exact command, its classification
//! and why it needs approval. Only an explicit `accept` approves, and the approval names the
//! request digest. Anything else — decline, cancel, an error, a timeout, a client that cannot show
//! a prompt, an answer to a different request — means "do not run".
//!
//! Two ways to ask, chosen by the protocol version the client negotiated:
//! * up to 2025-11-25, [`ask`] sends an `elicitation/create` request and waits for the answer;
//! * from 2026-07-28, server-to-client requests are gone: the tool call ends with an
//!   `InputRequiredResult` carrying the prompts ([`Pending`]), and the client calls again with the
//!   answers and the opaque `requestState`. That state is only a random handle into
//!   [`ConsentStore`], which keeps (server-side) the commands and digests it asked about; a retry
//!   whose commands or digests differ, or that comes late or twice, approves nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::Peer;
use rmcp::model::{ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, InputRequest, InputRequests, InputResponses};
use rmcp::service::{ElicitationMode, RoleServer};
use serde_json::{Value, json};

use super::pipeline::Assessment;

/// How long a person has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// The most approval rounds waiting for an answer at once; the oldest is dropped beyond it.
const MAX_PENDING: usize = 64;

/// The answer to a consent request.
pub enum Answer {
    /// Approved: the digest the person approved.
    Approved(String),
    /// Not approved, with what the operator can do about it.
    Refused { status: &'static str, message: String },
}

/// The refusal for a client that cannot show a prompt.
pub fn unavailable(a: &Assessment) -> Answer {
    Answer::Refused {
        status: "consent_unavailable",
        message: format!(
            "not executed: `{}` needs a person's approval ({}), but this MCP client did not declare the elicitation \
             capability, so Portcullis cannot ask. Use an MCP client that supports elicitation, or change the policy \
             (e.g. an allow rule for `{}`) if it should run without asking.",
            a.command,
            a.decision.reasons.join("; "),
            a.request.command()
        ),
    }
}

/// The prompt for `a`: what the person reads, and the form they answer.
fn prompt(a: &Assessment) -> Result<ElicitRequestParams, Answer> {
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
    // Secret values are masked in the prompt too (the digest still names the exact request).
    let shown = super::redact::scrub(&a.command, &super::pipeline::secrets_of(a));
    let message = format!(
        "An AI agent asks to run this AWS command:\n\n    {}\n\nOperation: {} ({})\nIAM actions: {}\nAccess level: {}{}\nWhy you are asked: {}\nRequest digest: {}\n\nAccept to run exactly this request once; decline to refuse it.",
        shown,
        a.display,
        a.api_operation,
        if a.classification.actions.is_empty() { "unknown".to_string() } else { a.classification.actions.join(", ") },
        level,
        if flags.is_empty() { String::new() } else { format!(" ({})", flags.join(", ")) },
        a.decision.reasons.join("; "),
        a.digest,
    );
    let schema = ElicitationSchema::from_json_schema(
        json!({
            "type": "object",
            "properties": {
                "confirm": { "type": "boolean", "title": "Run this command", "description": "Run exactly the command shown, once", "default": true }
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
    .map_err(|e| Answer::Refused { status: "consent_failed", message: format!("not executed: cannot build the consent prompt: {e}") })?;
    Ok(ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema: schema })
}

/// What the person's answer means for `a`.
fn interpret(answer: &ElicitResult, a: &Assessment) -> Answer {
    match answer.action {
        ElicitationAction::Accept => {
            let confirmed = answer.content.as_ref().and_then(|c| c.get("confirm")).and_then(Value::as_bool) != Some(false);
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
        ElicitationAction::Cancel => {
            Answer::Refused { status: "cancelled", message: format!("not executed: the person dismissed the approval prompt for `{}`", a.command) }
        }
        // An answer this version does not know is not an approval (fail closed).
        _ => Answer::Refused { status: "consent_failed", message: format!("not executed: unrecognised answer to the approval prompt for `{}`", a.command) },
    }
}

/// Ask whether `a` may run, by an elicitation request (protocol 2025-11-25 and earlier).
pub async fn ask(peer: &Peer<RoleServer>, a: &Assessment) -> Answer {
    if !peer.supported_elicitation_modes().contains(&ElicitationMode::Form) {
        return unavailable(a);
    }
    let params = match prompt(a) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    match peer.create_elicitation_with_timeout(params, Some(ANSWER_WITHIN)).await {
        Ok(r) => interpret(&r, a),
        Err(e) => Answer::Refused {
            status: "consent_failed",
            message: format!("not executed: the approval request for `{}` failed ({e}); nothing was sent to AWS", a.command),
        },
    }
}

/// The key of command `index`'s prompt in an `InputRequiredResult`.
fn key(index: usize) -> String {
    format!("consent-{index}")
}

/// One approval round waiting for the client to call again (protocol 2026-07-28).
struct Round {
    /// The batch as it was asked about, in order.
    commands: Vec<String>,
    /// Which commands needed consent, with the digest shown to the person.
    digests: Vec<(usize, String)>,
    asked_at: Instant,
}

/// Approval rounds of the multi-round-trip path, by their random handle. Each is used once.
#[derive(Default)]
pub struct ConsentStore {
    rounds: Mutex<HashMap<String, Round>>,
}

/// The prompts to send back as an `InputRequiredResult`, and the handle to send with them.
pub struct Pending {
    pub requests: InputRequests,
    pub state: String,
}

impl ConsentStore {
    /// Starts a round for the commands of `batch` that need consent (`(index, assessment)`), or
    /// returns the refusal for each when no prompt can be built.
    pub fn open(&self, batch: &[String], needing: &[(usize, &Assessment)]) -> Result<Pending, Vec<(usize, Answer)>> {
        let mut requests = InputRequests::new();
        let mut refused = Vec::new();
        for (i, a) in needing {
            match prompt(a) {
                Ok(p) => {
                    requests.insert(key(*i), InputRequest::Elicitation(ElicitRequest::new(p)));
                }
                Err(answer) => refused.push((*i, answer)),
            }
        }
        if !refused.is_empty() {
            return Err(refused);
        }
        let mut bytes = [0u8; 16];
        if let Err(e) = getrandom::fill(&mut bytes) {
            let message = format!("not executed: cannot create an approval request ({e})");
            return Err(needing.iter().map(|(i, _)| (*i, Answer::Refused { status: "consent_failed", message: message.clone() })).collect());
        }
        let state: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let round = Round {
            commands: batch.to_vec(),
            digests: needing.iter().map(|(i, a)| (*i, a.digest.clone())).collect(),
            asked_at: Instant::now(),
        };
        let mut rounds = self.rounds.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rounds.retain(|_, r| r.asked_at.elapsed() < ANSWER_WITHIN);
        while rounds.len() >= MAX_PENDING {
            let oldest = rounds.iter().min_by_key(|(_, r)| r.asked_at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => rounds.remove(&k),
                None => break,
            };
        }
        rounds.insert(state.clone(), round);
        Ok(Pending { requests, state })
    }

    /// The answers of a retry: for each command of `batch` that needs consent now, approved only
    /// when this round asked about exactly this batch, the digest is the one shown, the answer is
    /// an accept, and the round is neither expired nor used. Every failure is a refusal saying why.
    pub fn close(
        &self,
        state: &str,
        batch: &[String],
        needing: &[(usize, &Assessment)],
        responses: Option<&InputResponses>,
    ) -> Vec<(usize, Answer)> {
        let round = self.rounds.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(state);
        let refuse_all = |status: &'static str, why: &str| -> Vec<(usize, Answer)> {
            needing
                .iter()
                .map(|(i, a)| (*i, Answer::Refused { status, message: format!("not executed: `{}`: {why}", a.command) }))
                .collect()
        };
        let Some(round) = round else {
            return refuse_all(
                "consent_failed",
                "the approval this call refers to is unknown, was already used, or the server restarted; call the tool again \
                 without `requestState` to be asked afresh",
            );
        };
        if round.asked_at.elapsed() >= ANSWER_WITHIN {
            return refuse_all("consent_failed", "the approval expired (answer within 5 minutes); call the tool again to be asked afresh");
        }
        if round.commands != batch {
            return refuse_all("consent_failed", "the commands differ from the ones the person was asked about; nothing approved");
        }
        needing
            .iter()
            .map(|(i, a)| {
                let asked = round.digests.iter().find(|(j, _)| j == i).map(|(_, d)| d.as_str());
                if asked != Some(a.digest.as_str()) {
                    let message = format!("not executed: `{}` is not the request the person approved (digest mismatch)", a.command);
                    return (*i, Answer::Refused { status: "consent_failed", message });
                }
                let answer = responses.and_then(|r| r.get(&key(*i))).cloned().map(serde_json::from_value::<ElicitResult>);
                let answer = match answer {
                    Some(Ok(r)) => interpret(&r, a),
                    Some(Err(_)) => Answer::Refused {
                        status: "consent_failed",
                        message: format!("not executed: the answer to the approval prompt for `{}` is not an elicitation result", a.command),
                    },
                    None => Answer::Refused {
                        status: "cancelled",
                        message: format!("not executed: no answer to the approval prompt for `{}`", a.command),
                    },
                };
                (*i, answer)
            })
            .collect()
    }
}
