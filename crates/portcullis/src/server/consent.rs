//! The consent stage: ask the person at the client, showing the exact command, its classification
//! and why it needs approval. Only an explicit `accept` approves, and the approval names the
//! request digest. Anything else — decline, cancel, an error, a timeout, a client that cannot show
//! a prompt, an answer to a different request, an accept whose content is not exactly
//! `{"confirm": true}` — means "do not run".
//!
//! The prompt cannot be forged by what it shows: the facts come first, each on its own labelled line,
//! and every value derived from the request is escaped ([`escape`]) so that it stays on one line and
//! shows its control, bidi and invisible characters; the exact command comes last, quoted.
//!
//! Two ways to ask, chosen by the protocol version the client negotiated:
//! * up to 2025-11-25, [`ask`] sends an `elicitation/create` request and waits for the answer;
//! * from 2026-07-28, server-to-client requests are gone: the tool call ends with an
//!   `InputRequiredResult` carrying the prompts ([`Pending`]), and the client calls again with the
//!   answers and the opaque `requestState`. That state is the round itself (the principal asked,
//!   the commands and digests, when), sealed with AES-256-GCM under a key the replicas share
//!   ([`ConsentStore`], `super::shared`); a retry by another principal, whose commands or digests
//!   differ, that comes late, or twice (on any replica: single use is claimed in the shared
//!   store), approves nothing.

use std::sync::Mutex;
use std::time::Duration;

use rmcp::Peer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputResponses,
};
use rmcp::service::{ElicitationMode, RoleServer};
use serde_json::{Value, json};

use super::shared::{OnceStore, Sealer};
use crate::pipeline::{Answer, Approver, Assessment, Refusal};

/// How long a person has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// The consent stage's approver on a client that takes `elicitation/create` requests: asks the
/// person now ([`ask`]).
pub struct Elicit {
    peer: Peer<RoleServer>,
}

impl Elicit {
    pub fn new(peer: Peer<RoleServer>) -> Elicit {
        Elicit { peer }
    }
}

impl Approver for Elicit {
    fn approve<'a>(
        &'a self,
        a: &'a Assessment,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
        Box::pin(ask(&self.peer, a))
    }
}

/// The consent stage's approver when the answer is already known (a multi-round-trip retry
/// carried it, or the client cannot be asked): that answer, once.
pub struct Given {
    answer: Mutex<Option<Answer>>,
}

impl Given {
    pub fn new(answer: Answer) -> Given {
        Given {
            answer: Mutex::new(Some(answer)),
        }
    }
}

impl Approver for Given {
    fn approve<'a>(
        &'a self,
        a: &'a Assessment,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
        let answer = self
            .answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let answer = answer.unwrap_or_else(|| Answer::Refused {
            why: Refusal::Failed,
            message: format!(
                "not executed: `{}` needs approval and none was obtained",
                a.command
            ),
        });
        Box::pin(async move { answer })
    }
}

/// The refusal for a client that cannot show a prompt.
pub fn unavailable(a: &Assessment) -> Answer {
    Answer::Refused {
        why: Refusal::Unavailable,
        message: format!(
            "not executed: `{}` needs a person's approval ({}), but Portcullis cannot ask this MCP client: it did not \
             declare the elicitation capability, or the server runs stateless HTTP (AWS_API_MCP_STATELESS_HTTP), where \
             only MCP 2026-07-28 clients can be asked. Use such a client, or change the policy (e.g. an allow rule for \
             `{}`) if it should run without asking.",
            a.command,
            a.decision.reasons.join("; "),
            a.request.command()
        ),
    }
}

/// Whether `c` is shown escaped in a prompt: it would not appear as itself on one line. Control
/// characters (C0, DEL, C1 with NEL), line and paragraph separators, bidirectional controls,
/// zero-width and other invisible or format characters (joiners, word joiner, invisible operators,
/// soft hyphen, fillers, tags, variation selectors, interlinear annotation), spaces other than
/// U+0020, private-use characters and noncharacters.
fn hidden(c: char) -> bool {
    let n = u32::from(c);
    n & 0xfffe == 0xfffe // noncharacters U+xFFFE, U+xFFFF
        || matches!(
            c,
            '\u{0}'..='\u{1f}' // C0 controls (\n, \r, \t, ESC, ...)
                | '\u{7f}'..='\u{9f}' // DEL, C1 controls (NEL)
                | '\u{a0}' // no-break space
                | '\u{ad}' // soft hyphen
                | '\u{34f}' // combining grapheme joiner
                | '\u{600}'..='\u{605}' | '\u{6dd}' | '\u{70f}' | '\u{8e2}' // Arabic and Syriac format characters
                | '\u{61c}' // Arabic letter mark
                | '\u{115f}' | '\u{1160}' // Hangul fillers
                | '\u{1680}' // Ogham space mark
                | '\u{17b4}' | '\u{17b5}' // Khmer inherent vowels (invisible)
                | '\u{180b}'..='\u{180f}' // Mongolian variation selectors and vowel separator
                | '\u{2000}'..='\u{200f}' // en quad .. hair space, zero-width space/non-joiner/joiner, LRM, RLM
                | '\u{2028}'..='\u{202f}' // line/paragraph separators, bidi embeddings and overrides, narrow no-break space
                | '\u{205f}'..='\u{206f}' // medium math space, word joiner, invisible operators, bidi isolates, deprecated format
                | '\u{3000}' // ideographic space
                | '\u{3164}' | '\u{ffa0}' // Hangul fillers
                | '\u{fdd0}'..='\u{fdef}' // noncharacters
                | '\u{fe00}'..='\u{fe0f}' // variation selectors
                | '\u{feff}' // zero-width no-break space (BOM)
                | '\u{fff0}'..='\u{fffb}' // unassigned specials, interlinear annotation
                | '\u{e000}'..='\u{f8ff}' // private use
                | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' // Kaithi and Egyptian format characters
                | '\u{1bca0}'..='\u{1bca3}' // shorthand format controls
                | '\u{1d173}'..='\u{1d17a}' // musical symbol format controls
                | '\u{e0000}'..='\u{e0fff}' // tags, variation selectors supplement
                | '\u{f0000}'..='\u{10ffff}' // supplementary private use
        )
}

/// Whether `c` is a generic combining mark (diacritics that draw onto the character before).
fn combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

/// The most generic combining marks shown as themselves on one character (more stack into the
/// lines around, "Zalgo" text).
const MAX_MARKS: usize = 2;

/// `s` made safe to show on one line of a prompt, Rust-style: `\` and `"` are escaped, `\n`, `\r`
/// and `\t` by name, every [`hidden`] character as `\u{hex}`, and a combining mark as `\u{hex}`
/// when it would draw onto the quote or an escape rather than a character of `s`, or stack beyond
/// [`MAX_MARKS`]. Printable text (any script) is kept. The result has no line break, no control,
/// bidi or invisible character, and maps back to `s` exactly.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Whether the last character written is one of `s` shown as itself (a mark may attach to it).
    let mut literal = false;
    let mut marks = 0;
    for c in s.chars() {
        let shown_as_is = match c {
            '\\' => {
                out.push_str("\\\\");
                false
            }
            '"' => {
                out.push_str("\\\"");
                false
            }
            '\n' => {
                out.push_str("\\n");
                false
            }
            '\r' => {
                out.push_str("\\r");
                false
            }
            '\t' => {
                out.push_str("\\t");
                false
            }
            c if hidden(c) || (combining(c) && (!literal || marks >= MAX_MARKS)) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
                false
            }
            c => {
                out.push(c);
                true
            }
        };
        if shown_as_is && combining(c) {
            marks += 1;
        } else {
            marks = 0;
        }
        literal = shown_as_is;
    }
    out
}

/// `s` as a quoted value on one line: `"` + [`escape`]`(s)` + `"`.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

/// What the person reads: first the facts to decide on, each on its own labelled line that no value
/// can imitate (model names are escaped, values derived from the request are quoted and escaped),
/// then the exact command (`shown`: secrets masked) last, as one quoted value.
fn message(a: &Assessment, shown: &str, secrets: &[String]) -> String {
    let level = a.classification.access_level.map_or_else(
        || "unknown (treated as a write)".to_string(),
        |l| l.to_string(),
    );
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
    if a.classification.flags.side_effects {
        flags.push("has side effects");
    }
    // Every action the call needs, dependent ones (`iam:PassRole`) included, as the audit records.
    let actions: Vec<&str> = a.classification.all_actions().map(String::as_str).collect();
    let actions = if actions.is_empty() {
        "unknown".to_string()
    } else {
        actions.join(", ")
    };
    // Reasons can name resources built from the request's parameters: each is a quoted value.
    let why = if a.decision.reasons.is_empty() {
        "(no reason given)".to_string()
    } else {
        a.decision
            .reasons
            .iter()
            .map(|r| quoted(&crate::redact::scrub(r, secrets)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "An AI agent asks to run an AWS command. Decide on these facts:\n\n\
         Operation: {}\n\
         API operation: {}\n\
         IAM actions: {}\n\
         Access level: {}\n\
         Flags: {}\n\
         Why you are asked: {}\n\
         Request digest: {}\n\n\
         To run exactly this request once, set \"Run this command\" and accept; decline to refuse it.\n\n\
         The exact command, as one quoted value (secret values masked; \\n, \\t, \\\", \\\\ and \\u{{...}} stand for \
         characters shown escaped):\n\
         {}",
        escape(&a.display),
        escape(&a.api_operation),
        escape(&actions),
        escape(&level),
        if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(", ")
        },
        why,
        escape(&a.digest),
        quoted(shown),
    )
}

/// The form the person answers: one boolean, `confirm`, required and with no default, so that a
/// client filling in defaults, or a form submitted untouched, approves nothing.
fn schema() -> Result<ElicitationSchema, serde_json::Error> {
    ElicitationSchema::from_json_schema(
        json!({
            "type": "object",
            "properties": {
                "confirm": { "type": "boolean", "title": "Run this command", "description": "Run exactly the command shown, once" }
            },
            "required": ["confirm"]
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
}

/// The prompt for `a`: what the person reads, and the form they answer.
fn prompt(a: &Assessment) -> Result<ElicitRequestParams, Answer> {
    // Secret values are masked in the prompt too (the digest still names the exact request).
    let shown = crate::redact::scrub(&a.command, &a.secrets);
    let message = message(a, &shown, &a.secrets);
    let schema = schema().map_err(|e| Answer::Refused {
        why: Refusal::Failed,
        message: format!("not executed: cannot build the consent prompt: {e}"),
    })?;
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    })
}

/// What a JSON value is, for saying why an answer did not confirm without echoing what it holds
/// (only short plain words and numbers are quoted).
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s)
            if !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!("the string \"{s}\"")
        }
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Why the content of an `accept` does not approve, or `None` when it is exactly the form asked
/// for with a yes: an object whose only key is `confirm`, holding the JSON boolean `true`.
pub(crate) fn unconfirmed(content: Option<&Value>) -> Option<String> {
    let Some(content) = content else {
        return Some("the answer carried no content".into());
    };
    let Some(fields) = content.as_object() else {
        return Some(format!(
            "the answer's content was {}, not an object",
            kind(content)
        ));
    };
    match fields.get("confirm") {
        None => return Some("the answer had no `confirm` field".into()),
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Some("`confirm` was false".into()),
        Some(other) => {
            return Some(format!(
                "`confirm` was {}, not the boolean true",
                kind(other)
            ));
        }
    }
    match fields.len().saturating_sub(1) {
        0 => None,
        1 => Some("the answer had a field besides `confirm`".into()),
        n => Some(format!("the answer had {n} fields besides `confirm`")),
    }
}

/// What the person's answer means for `a`. Only an accept whose content is exactly
/// `{"confirm": true}` approves; any other accept is a decline, saying why.
fn interpret(answer: &ElicitResult, a: &Assessment) -> Answer {
    match answer.action {
        ElicitationAction::Accept => match unconfirmed(answer.content.as_ref()) {
            None => Answer::Approved(a.digest.clone()),
            Some(why) => Answer::Refused {
                why: Refusal::Declined,
                message: format!(
                    "not executed: the answer to the approval prompt for `{}` did not confirm: {why}. Only an accept with \
                     exactly {{\"confirm\": true}} approves; nothing was sent to AWS.",
                    a.command
                ),
            },
        },
        ElicitationAction::Decline => Answer::Refused {
            why: Refusal::Declined,
            message: format!(
                "not executed: the person declined `{}`. Do not retry it unchanged; ask them what to do instead.",
                a.command
            ),
        },
        ElicitationAction::Cancel => Answer::Refused {
            why: Refusal::Cancelled,
            message: format!(
                "not executed: the person dismissed the approval prompt for `{}`",
                a.command
            ),
        },
        // An answer this version does not know is not an approval (fail closed).
        _ => Answer::Refused {
            why: Refusal::Failed,
            message: format!(
                "not executed: unrecognised answer to the approval prompt for `{}`",
                a.command
            ),
        },
    }
}

/// Ask whether `a` may run, by an elicitation request (protocol 2025-11-25 and earlier).
pub async fn ask(peer: &Peer<RoleServer>, a: &Assessment) -> Answer {
    if !peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Form)
    {
        return unavailable(a);
    }
    let params = match prompt(a) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    match peer
        .create_elicitation_with_timeout(params, Some(ANSWER_WITHIN))
        .await
    {
        Ok(r) => interpret(&r, a),
        Err(e) => Answer::Refused {
            why: Refusal::Failed,
            message: format!(
                "not executed: the approval request for `{}` failed ({e}); nothing was sent to AWS",
                a.command
            ),
        },
    }
}

/// The key of command `index`'s prompt in an `InputRequiredResult`.
fn key(index: usize) -> String {
    format!("consent-{index}")
}

/// One approval round waiting for the client to call again (protocol 2026-07-28): sealed into
/// the `requestState` itself, so that any replica holding the sealing key can close it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Round {
    /// A random id: the key of its single use.
    id: String,
    /// Who was asked (`owner`, or the OAuth principal): nobody else can use the approval.
    principal: String,
    /// The batch as it was asked about, in order.
    commands: Vec<String>,
    /// Which commands needed consent, with the digest shown to the person.
    digests: Vec<(usize, String)>,
    /// When it was asked, seconds since the epoch.
    asked_at: u64,
}

/// Approval rounds of the multi-round-trip path: sealed into their `requestState` (so that the
/// replicas of a deployment share them without sharing memory) and used once ([`OnceStore`]).
pub struct ConsentStore {
    sealer: Sealer,
    used: OnceStore,
}

impl Default for ConsentStore {
    /// A random key and this process's memory: one replica.
    fn default() -> ConsentStore {
        ConsentStore {
            sealer: Sealer::random().unwrap_or_else(|e| panic!("{e}")),
            used: OnceStore::memory(),
        }
    }
}

/// The prompts to send back as an `InputRequiredResult`, and the handle to send with them.
pub struct Pending {
    pub requests: InputRequests,
    pub state: String,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ConsentStore {
    /// A store sealing with `sealer`, using each round once in `used`.
    pub fn new(sealer: Sealer, used: OnceStore) -> ConsentStore {
        ConsentStore { sealer, used }
    }

    /// Where single use is enforced, for the start-up log.
    pub fn describe(&self) -> String {
        self.used.describe()
    }

    /// Starts a round, for `principal`, for the commands of `batch` that need consent
    /// (`(index, assessment)`), or returns the refusal for each when no prompt can be built.
    pub fn open(
        &self,
        principal: &str,
        batch: &[String],
        needing: &[(usize, &Assessment)],
    ) -> Result<Pending, Vec<(usize, Answer)>> {
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
        let fail = |why: String| -> Vec<(usize, Answer)> {
            let message = format!("not executed: cannot create an approval request ({why})");
            needing
                .iter()
                .map(|(i, _)| {
                    (
                        *i,
                        Answer::Refused {
                            why: Refusal::Failed,
                            message: message.clone(),
                        },
                    )
                })
                .collect()
        };
        let mut bytes = [0u8; 16];
        if let Err(e) = getrandom::fill(&mut bytes) {
            return Err(fail(e.to_string()));
        }
        let round = Round {
            id: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            principal: principal.to_string(),
            commands: batch.to_vec(),
            digests: needing
                .iter()
                .map(|(i, a)| (*i, a.digest.clone()))
                .collect(),
            asked_at: now_secs(),
        };
        let plain = serde_json::to_vec(&round).map_err(|e| fail(e.to_string()))?;
        let state = self.sealer.seal(&plain).map_err(fail)?;
        Ok(Pending { requests, state })
    }

    /// The answers of a retry: for each command of `batch` that needs consent now, approved only
    /// when this round asked about exactly this batch, the digest is the one shown, the answer is
    /// an accept, and the round is neither expired nor used. Every failure is a refusal saying why.
    pub async fn close(
        &self,
        principal: &str,
        state: &str,
        batch: &[String],
        needing: &[(usize, &Assessment)],
        responses: Option<&InputResponses>,
    ) -> Vec<(usize, Answer)> {
        let round: Option<Round> = self
            .sealer
            .open(state)
            .and_then(|plain| serde_json::from_slice(&plain).ok());
        let refuse_all = |refusal: Refusal, why: &str| -> Vec<(usize, Answer)> {
            needing
                .iter()
                .map(|(i, a)| {
                    (
                        *i,
                        Answer::Refused {
                            why: refusal,
                            message: format!("not executed: `{}`: {why}", a.command),
                        },
                    )
                })
                .collect()
        };
        let Some(round) = round else {
            return refuse_all(
                Refusal::Failed,
                "the approval this call refers to is not one this server issued (or the server's sealing key changed); \
                 call the tool again without `requestState` to be asked afresh",
            );
        };
        if round.principal != principal {
            return refuse_all(
                Refusal::Failed,
                "the approval was given to another user; call the tool again without `requestState` to be asked yourself",
            );
        }
        let age = now_secs().saturating_sub(round.asked_at);
        if age >= ANSWER_WITHIN.as_secs() || round.asked_at > now_secs() + 60 {
            return refuse_all(
                Refusal::Failed,
                "the approval expired (answer within 5 minutes); call the tool again to be asked afresh",
            );
        }
        // Once, on any replica: the id is claimed for as long as the round could still be valid.
        match self
            .used
            .claim(&round.id, ANSWER_WITHIN + Duration::from_secs(120))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return refuse_all(
                    Refusal::Failed,
                    "this approval was already used (an approval runs its request once); call the tool again without \
                     `requestState` to be asked afresh",
                );
            }
            Err(why) => {
                tracing::warn!("portcullis: consent store unavailable: {why}");
                return refuse_all(
                    Refusal::Failed,
                    "the store that makes each approval run once cannot be reached, so no approval is honoured now \
                     (fail closed); try again later",
                );
            }
        }
        if round.commands != batch {
            return refuse_all(
                Refusal::Failed,
                "the commands differ from the ones the person was asked about; nothing approved",
            );
        }
        needing
            .iter()
            .map(|(i, a)| {
                let asked = round.digests.iter().find(|(j, _)| j == i).map(|(_, d)| d.as_str());
                if asked != Some(a.digest.as_str()) {
                    let message = format!("not executed: `{}` is not the request the person approved (digest mismatch)", a.command);
                    return (*i, Answer::Refused { why: Refusal::Failed, message });
                }
                let answer = responses.and_then(|r| r.get(&key(*i))).cloned().map(serde_json::from_value::<ElicitResult>);
                let answer = match answer {
                    Some(Ok(r)) => interpret(&r, a),
                    Some(Err(_)) => Answer::Refused {
                        why: Refusal::Failed,
                        message: format!("not executed: the answer to the approval prompt for `{}` is not an elicitation result", a.command),
                    },
                    None => Answer::Refused {
                        why: Refusal::Cancelled,
                        message: format!("not executed: no answer to the approval prompt for `{}`", a.command),
                    },
                };
                (*i, answer)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Pipeline;
    use portcullis_policy::{Mode, Policy};

    fn assess(command: &str) -> Assessment {
        let pipeline = Pipeline::offline(
            Policy::new(Mode::Guarded),
            std::env::temp_dir(),
            Some("us-east-1".into()),
        )
        .unwrap();
        let a = pipeline
            .assess(command)
            .unwrap_or_else(|r| panic!("{command}: {}", r.message));
        assert_eq!(
            a.decision.outcome,
            portcullis_policy::Outcome::Consent,
            "{command}"
        );
        a
    }

    fn text(a: &Assessment) -> String {
        match prompt(a).unwrap_or_else(|_| panic!("no prompt")) {
            ElicitRequestParams::FormElicitationParams { message, .. } => message,
            _ => panic!("not a form"),
        }
    }

    fn accept(content: Option<Value>) -> ElicitResult {
        let r = ElicitResult::new(ElicitationAction::Accept);
        match content {
            Some(c) => r.with_content(c),
            None => r,
        }
    }

    fn approved(answers: &[(usize, Answer)]) -> bool {
        matches!(answers, [(0, Answer::Approved(_))])
    }

    fn refusal(answers: &[(usize, Answer)]) -> String {
        match answers {
            [(0, Answer::Refused { message, .. })] => message.clone(),
            other => panic!("not one refusal: {}", other.len()),
        }
    }

    #[tokio::test]
    async fn a_sealed_round_runs_once_for_its_principal_on_any_replica() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pc-consent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, "ab".repeat(32)).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        // The key is the deployment's; a store with another key cannot open its rounds.
        let a = ConsentStore::new(Sealer::from_file(&key).unwrap(), OnceStore::memory());
        let other_key = ConsentStore::default();
        let cmd = "aws s3api create-bucket --bucket sealed-once";
        let asked = assess(cmd);
        let batch = vec![cmd.to_string()];
        let needing = [(0, &asked)];
        let pending = a
            .open("alice", &batch, &needing)
            .unwrap_or_else(|_| panic!("no round"));
        let mut responses = InputResponses::new();
        responses.insert(
            key_name(0),
            serde_json::to_value(accept(Some(json!({"confirm": true})))).unwrap(),
        );
        let yes = Some(&responses);
        // Another principal, another key, a changed state, another batch: nothing approved, and
        // none of these uses the round up (the principal check comes before the claim).
        assert!(
            refusal(&a.close("bob", &pending.state, &batch, &needing, yes).await)
                .contains("another user")
        );
        assert!(
            refusal(
                &other_key
                    .close("alice", &pending.state, &batch, &needing, yes)
                    .await
            )
            .contains("not one this server issued")
        );
        let mut bent = pending.state.clone();
        bent.replace_range(20..21, if &bent[20..21] == "A" { "B" } else { "A" });
        assert!(
            refusal(&a.close("alice", &bent, &batch, &needing, yes).await)
                .contains("not one this server issued")
        );
        // The owner's retry runs, once.
        assert!(approved(
            &a.close("alice", &pending.state, &batch, &needing, yes)
                .await
        ));
        assert!(
            refusal(
                &a.close("alice", &pending.state, &batch, &needing, yes)
                    .await
            )
            .contains("already used")
        );
        // A round of another batch: refused (and used up).
        let p2 = a
            .open("alice", &batch, &needing)
            .unwrap_or_else(|_| panic!("no round"));
        let other = vec!["aws s3api create-bucket --bucket swapped".to_string()];
        assert!(
            refusal(&a.close("alice", &p2.state, &other, &needing, yes).await).contains("differ")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    fn key_name(i: usize) -> String {
        key(i)
    }

    #[test]
    fn only_an_explicit_yes_approves() {
        let yes = [json!({ "confirm": true })];
        let no = [
            Some(json!({ "confirm": false })),
            Some(json!({ "confirm": "false" })),
            Some(json!({ "confirm": "true" })),
            Some(json!({ "confirm": "no" })),
            Some(json!({ "confirm": "yes" })),
            Some(json!({ "confirm": 0 })),
            Some(json!({ "confirm": 1 })),
            Some(json!({ "confirm": null })),
            Some(json!({ "confirm": [true] })),
            Some(json!({ "confirm": { "confirm": true } })),
            Some(json!({})),
            Some(json!({ "Confirm": true })),
            Some(json!({ "confirm": true, "extra": 1 })),
            Some(json!({ "confirm": true, "a": 1, "b": 2 })),
            Some(json!(true)),
            Some(json!("yes")),
            Some(json!([{ "confirm": true }])),
            Some(Value::Null),
            None,
        ];
        for c in yes {
            assert_eq!(unconfirmed(Some(&c)), None, "{c}");
        }
        for c in &no {
            assert!(unconfirmed(c.as_ref()).is_some(), "{c:?} must not approve");
        }
        assert_eq!(
            unconfirmed(Some(&json!({ "confirm": "false" }))).unwrap(),
            "`confirm` was the string \"false\", not the boolean true"
        );
        assert_eq!(
            unconfirmed(Some(&json!({ "confirm": 0 }))).unwrap(),
            "`confirm` was the number 0, not the boolean true"
        );
        assert_eq!(unconfirmed(None).unwrap(), "the answer carried no content");
        assert_eq!(
            unconfirmed(Some(&json!({}))).unwrap(),
            "the answer had no `confirm` field"
        );
        assert_eq!(
            unconfirmed(Some(&json!({ "confirm": true, "extra": 1 }))).unwrap(),
            "the answer had a field besides `confirm`"
        );
        // Content is described, never echoed when long or unusual.
        let secretish = json!({ "confirm": "AKIAIOSFODNN7EXAMPLE-not-a-yes" });
        let why = unconfirmed(Some(&secretish)).unwrap();
        assert_eq!(
            why,
            "`confirm` was a string of 30 characters, not the boolean true"
        );
        let forged = json!({ "confirm": "x\nOperation: y" });
        assert!(!unconfirmed(Some(&forged)).unwrap().contains('\n'));

        // Through `interpret`: the status is `declined` (audited as a declined consent) with why.
        let a = assess("aws s3api create-bucket --bucket b");
        assert!(
            matches!(interpret(&accept(Some(json!({ "confirm": true }))), &a), Answer::Approved(d) if d == a.digest)
        );
        for c in no {
            match interpret(&accept(c.clone()), &a) {
                Answer::Approved(_) => panic!("{c:?} approved"),
                Answer::Refused { why, message } => {
                    assert_eq!(why.status(), "declined", "{c:?}");
                    assert!(message.contains("did not confirm"), "{message}");
                }
            }
        }
        for (action, status) in [
            (ElicitationAction::Decline, "declined"),
            (ElicitationAction::Cancel, "cancelled"),
        ] {
            // Content on a decline or cancel changes nothing.
            let r = ElicitResult::new(action).with_content(json!({ "confirm": true }));
            assert!(
                matches!(interpret(&r, &a), Answer::Refused { why, .. } if why.status() == status)
            );
        }
    }

    #[test]
    fn the_form_has_no_default_yes() {
        let schema = serde_json::to_value(schema().unwrap()).unwrap();
        assert_eq!(schema["required"], json!(["confirm"]), "{schema}");
        assert_eq!(
            schema["properties"]["confirm"]["type"], "boolean",
            "{schema}"
        );
        assert!(
            schema["properties"]["confirm"].get("default").is_none(),
            "no default: {schema}"
        );
    }

    #[test]
    fn escape_shows_what_would_hide() {
        let cases = [
            ("aws s3api list-buckets", "aws s3api list-buckets"),
            ("", ""),
            ("a\"b\\c", "a\\\"b\\\\c"),
            ("a\nb\r\nc\td", "a\\nb\\r\\nc\\td"),
            (
                "nul\0esc\u{1b}[31mdel\u{7f}nel\u{85}",
                "nul\\u{0}esc\\u{1b}[31mdel\\u{7f}nel\\u{85}",
            ),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            (
                "zero\u{200b}width\u{200c}\u{200d}\u{2060}\u{feff}",
                "zero\\u{200b}width\\u{200c}\\u{200d}\\u{2060}\\u{feff}",
            ),
            (
                "nb\u{a0}sp\u{3000}\u{202f}\u{205f}",
                "nb\\u{a0}sp\\u{3000}\\u{202f}\\u{205f}",
            ),
            ("tag\u{e0041}\u{e007f}", "tag\\u{e0041}\\u{e007f}"),
            ("vs\u{fe0f}\u{e0100}", "vs\\u{fe0f}\\u{e0100}"),
            (
                "soft\u{ad}hy\u{180e}\u{3164}\u{115f}\u{1160}",
                "soft\\u{ad}hy\\u{180e}\\u{3164}\\u{115f}\\u{1160}",
            ),
            // Any script stays readable; a mark on a letter stays, one on the quote or stacked does not.
            ("café 日本 ключ 🙂", "café 日本 ключ 🙂"),
            ("e\u{301}", "e\u{301}"),
            ("\u{301}x", "\\u{301}x"),
            ("\n\u{338}", "\\n\\u{338}"),
            (
                "a\u{300}\u{301}\u{302}\u{303}",
                "a\u{300}\u{301}\\u{302}\\u{303}",
            ),
            // Text that looks like an escape is escaped itself, so the display maps back exactly.
            ("\\u{202e}", "\\\\u{202e}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");

        let bidi = ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200e}', '\u{200f}', '\u{61c}']);
        let invisible = ('\u{200b}'..='\u{200d}')
            .chain('\u{2060}'..='\u{2064}')
            .chain([
                '\u{feff}', '\u{ad}', '\u{180e}', '\u{3164}', '\u{115f}', '\u{1160}', '\u{2028}',
                '\u{2029}',
            ])
            .chain('\u{e0000}'..='\u{e007f}')
            .chain('\u{fe00}'..='\u{fe0f}')
            .chain('\u{e0100}'..='\u{e01ef}');
        let spaces = ['\u{a0}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{1680}']
            .into_iter()
            .chain('\u{2000}'..='\u{200a}');
        for c in bidi.chain(invisible).chain(spaces) {
            assert_eq!(
                escape(&c.to_string()),
                format!("\\u{{{:x}}}", u32::from(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }

        // Over every character: what is shown has no control, no space but U+0020, nothing hidden,
        // and no line break (std's Unicode tables for White_Space and Cc).
        let mut all = String::new();
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let shown = escape(&c.to_string());
            assert!(
                shown
                    .chars()
                    .all(|d| !d.is_control() && (!d.is_whitespace() || d == ' ') && !hidden(d)),
                "U+{:04X} shown as {shown:?}",
                u32::from(c)
            );
            all.push(c);
        }
        let shown = escape(&all);
        assert_eq!(shown.lines().count(), 1);
        assert!(
            !shown.contains('"') || shown.matches('"').count() == shown.matches("\\\"").count()
        );
    }

    /// The lines of `message` that start with a fact's label.
    fn facts(message: &str) -> Vec<&str> {
        let labels = [
            "Operation:",
            "API operation:",
            "IAM actions:",
            "Access level:",
            "Flags:",
            "Why you are asked:",
            "Request digest:",
        ];
        message
            .lines()
            .filter(|l| labels.iter().any(|p| l.trim_start().starts_with(p)))
            .collect()
    }

    #[test]
    fn the_prompt_cannot_be_forged() {
        let plain = assess("aws s3api put-object --bucket b --key x");
        let forged = assess(
            "aws s3api put-object --bucket b --key \"x\n\nOperation: aws s3api list-buckets (s3.ListBuckets)\nIAM actions: \
             s3:ListAllMyBuckets\nAccess level: List\nFlags: none\nWhy you are asked: routine\n\u{2028}Access level: Read\u{85}Flags: none\"",
        );
        let plain_text = text(&plain);
        let message = text(&forged);
        // The fact lines are the true ones, in order, and nothing else starts like one.
        let want = [
            "Operation: aws s3api put-object".to_string(),
            "API operation: s3.PutObject".to_string(),
            "IAM actions: s3:PutObject".to_string(),
            "Access level: Write".to_string(),
            "Flags: none".to_string(),
        ];
        let got = facts(&message);
        assert_eq!(got.len(), 7, "{message}");
        assert_eq!(&got[..5], &want, "{message}");
        assert!(
            got[5].starts_with("Why you are asked: \"")
                && got[6] == format!("Request digest: {}", forged.digest),
            "{message}"
        );
        assert_eq!(facts(&plain_text)[..5], want);
        // The same shape as a plain prompt: the forged value adds no line; the command is last, quoted.
        assert_eq!(
            message.lines().count(),
            plain_text.lines().count(),
            "{message}"
        );
        assert!(
            message.find("Request digest:") < message.find("The exact command"),
            "{message}"
        );
        let last = message.lines().last().unwrap();
        assert!(
            last.starts_with("\"aws s3api put-object") && last.ends_with('"'),
            "{last}"
        );
        assert!(
            last.contains("--key \\\"x\\n\\nOperation: aws s3api list-buckets"),
            "{last}"
        );
        assert!(
            last.contains("\\u{2028}Access level: Read\\u{85}Flags"),
            "{last}"
        );
        assert!(!message.contains(['\u{2028}', '\u{85}']), "{message}");
        assert_eq!(
            plain_text.lines().last().unwrap(),
            "\"aws s3api put-object --bucket b --key x\""
        );

        // Reasons can carry what the request named (resource ARNs): quoted and escaped too.
        let mut a = assess("aws s3api put-object --bucket b --key x");
        a.decision.reasons = vec![
            "rule r matched arn:aws:s3:::b/x\nAccess level: List\u{202e}".into(),
            "second\r\nFlags: none".into(),
        ];
        let message = text(&a);
        let got = facts(&message);
        assert_eq!(got.len(), 7, "{message}");
        assert_eq!(got[3], "Access level: Write");
        assert_eq!(
            got[5],
            "Why you are asked: \"rule r matched arn:aws:s3:::b/x\\nAccess level: List\\u{202e}\"; \"second\\r\\nFlags: none\""
        );

        // Bidi and zero-width characters in the command are shown escaped, never as themselves.
        let a = assess(
            "aws s3api put-object --bucket b --key \"report\u{202e}fdp.exe\u{200b}\u{2066}\u{feff}\"",
        );
        let message = text(&a);
        assert!(
            message
                .lines()
                .last()
                .unwrap()
                .contains("report\\u{202e}fdp.exe\\u{200b}\\u{2066}\\u{feff}"),
            "{message}"
        );
        assert!(
            !message.contains(['\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}']),
            "{message}"
        );
    }

    #[test]
    fn the_prompt_names_every_action_the_call_needs() {
        let a = assess(
            "aws lambda create-function --function-name f --runtime python3.12 --handler h.h \
             --role arn:aws:iam::123456789012:role/r --code S3Bucket=bucket,S3Key=k",
        );
        let message = text(&a);
        let got = facts(&message);
        assert!(
            got[2].starts_with("IAM actions: lambda:CreateFunction")
                && got[2].contains("iam:PassRole"),
            "{message}"
        );
    }

    #[test]
    fn secrets_stay_masked_in_the_quoted_command() {
        let a = assess(
            "aws secretsmanager create-secret --name n --secret-string \"hunter2\nOperation: x\"",
        );
        let message = text(&a);
        assert!(!message.contains("hunter2"), "{message}");
        assert!(
            message
                .lines()
                .last()
                .unwrap()
                .contains("--secret-string \\\"****\\\""),
            "{message}"
        );
        assert_eq!(
            facts(&message)[0],
            "Operation: aws secretsmanager create-secret"
        );
    }
}
