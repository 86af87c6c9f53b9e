//! Redaction: secret values — what the service model marks `sensitive`, and members whose names
//! say they hold secrets (`SecretAccessKey`, `SessionToken`, `Password`, `SecretString`,
//! `PrivateKey`, `UserData`, ...) — are masked wherever the agent did not explicitly ask for them.
//!
//! * Output: a call that is not classified as returning secrets or credentials (so its secret
//!   reads were never decided on) has the secrets in its response masked before `--query` and
//!   formatting. A call classified as returning them ran only because the policy allowed it or a
//!   person approved it, and shows them. Every masked value is listed ([`mask_listed`]: its path
//!   in the response and [`Why`]), so the agent is told that `****` is a mask, not the value.
//! * Errors and logs: the secret values of the request itself are scrubbed from any error text
//!   (AWS validation messages and our own can echo input), from echoed commands and prompts.
//! * Requests as typed: [`command_secrets`] finds the values of secret-bearing options in the
//!   command, by option name and, when the operation can be told, by the model; inside
//!   `--cli-input-json` and JSON or shorthand values too (keys named like secrets at any depth,
//!   `sensitive` members, `Name=…Password,Value=…` pairs). It never fails: a command that does not
//!   split (unclosed quote, shell syntax) is read leniently, several ways, and when in doubt more
//!   is scrubbed. [`scrub`] masks each secret also as messages quote it (JSON and `{:?}` escapes,
//!   shell escapes) and any run of [`WINDOW`] bytes of it (messages quote values cut short).
//!
//! Masking walks the JSON along the model's shapes, so a field is masked by what it is, not by
//! guessing from its text. The rules, in the order they apply to a member of a structure:
//!
//! 1. **Typed fields** ([`TYPED`]): a field whose sibling says what it holds. An SSM parameter's
//!    `Value` (`Parameter` of `GetParameter`, `GetParameters`, `GetParametersByPath`;
//!    `ParameterHistory` of `GetParameterHistory`) is a secret only when its `Type` is
//!    `SecureString`; a `String` or `StringList` value is shown, although the model marks the
//!    shared value shape (`PSParameterValue`) `sensitive` for every type. A `SecureString` value is
//!    masked whether or not it was decrypted: a call that asked `WithDecryption` is a secret read
//!    (the policy decided on it, and nothing of it is masked); one that did not gets the
//!    ciphertext, which is of no use to an agent, and masking it keeps the rule from depending on
//!    what a service returns (emulators return `kms:<key>:<plaintext>` as the "ciphertext").
//!    Without a `Type` the model's mark decides (masked).
//! 2. **The model's `sensitive` trait** (the primary rule): a sensitive shape is masked whole.
//! 3. **Names** (`SECRET_NAMES`): members the model does not mark but whose name says secret
//!    (`SecretAccessKey`, `*Password`, `UserData`), and only when their shape holds text (a string
//!    or blob, or a list or map of them): `PasswordLastUsed` (a timestamp), `HidePassword`,
//!    `ManageMasterUserPassword`, `ApiKeyRequired` (booleans) and `PasswordReusePrevention` (a
//!    number) are settings, not secrets. A structure with a secret name is walked, not masked
//!    whole (`PasswordPolicy`), except for its `Value` / `Data` member (EC2's attribute wrappers:
//!    `InstanceAttribute.UserData.Value`).
//! 4. **Labelled pairs**: the value of a name/value pair whose name says secret
//!    (`{name: MYSQL_ROOT_PASSWORD, value: ...}`, CloudFormation's `ParameterKey: DbPassword`),
//!    except in tags (a structure named `*Tag`): AWS tells users never to put secrets in tags,
//!    which many services and the billing reports show, and a tag key such as
//!    `secret-rotation` labels the resource, not a secret value.
//!
//! This is the one redaction module: the shape stage (output), the record stage (the audit
//! record's `params` and messages) and every text echoed to the agent or the logs use it, with one
//! list of secret member names (`SECRET_NAMES`). The decision says *whether* a response is
//! masked (not when the call was decided as a secret read); the value's type in the model
//! (`sensitive`, typed fields, the names below) says *what* is masked.

use std::fmt::Write as _;

use portcullis_model::{ServiceModel, Shape, ShapeType};
use serde_json::Value;

/// What a masked value reads as.
pub const MASK: &str = "****";

/// Member names whose values are secrets even where the model does not mark them `sensitive`
/// (compared case-insensitively; `*` marks a suffix or prefix match).
const SECRET_NAMES: &[&str] = &[
    "secretaccesskey",
    "sessiontoken",
    "secretstring",
    "secretbinary",
    "privatekey",
    "*password",
    // Not `password*` nor `apikey*`: most names that start so hold what a secret is called, where
    // it is kept or how it is handled (`PasswordParam`, MediaLive's name of the SSM parameter that
    // holds it; `apiKeyArn`, `ApiKeySource`, `ApiKeySelectionExpression`, `PasswordFieldXpath`,
    // `PasswordHashingAlgorithm`). These are the ones that hold the secret itself.
    "passwords",
    "passworddata",
    "passwordverifier",
    "passwordhash",
    "clientsecret",
    "authtoken",
    "secretkey",
    "apikey",
    "apikeys",
    "apikeyvalue",
    "apikeyvalues",
    "*privatekey",
    "keymaterial",
    "plaintext",
    // Instance user data routinely carries bootstrap secrets (EC2 marks only some of it sensitive).
    "userdata",
    "*passphrase",
    "*sharedsecret",
    "*presharedkey",
    "tokencode",
    "*refreshtoken",
    "*accesstoken",
    "idtoken",
    // S3 SSE-C keys (`SSECustomerKey`, `CopySourceSSECustomerKey`; `aws s3 cp --sse-c-key`).
    "*customerkey",
    "sseckey",
    "sseccopysourcekey",
];

/// Parts of a user-chosen label (an environment variable, a parameter or tag name) that say the
/// value next to it is a secret: `DB_PASSWD`, `GITHUB_TOKEN`, `/prod/app/secret`. Broader than
/// [`SECRET_NAMES`]; only used to scrub requests, never to mask output.
const SECRET_LABEL_PARTS: &[&str] = &[
    "passw",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
    "passphrase",
    "userdata",
];

/// Secrets shorter than this are not looked for (they would mask ordinary words).
const MIN_SECRET: usize = 4;

/// A run of this many bytes of a secret is masked wherever it appears: messages quote values cut
/// short (`"abc..."`, windows around a shorthand error).
pub const WINDOW: usize = 8;

/// Names [`SECRET_NAMES`]' patterns match that hold no secret: IAM's `RemovePrivateKey` (the id
/// of a SAML provider's key to remove).
const NOT_SECRET_NAMES: &[&str] = &["removeprivatekey"];

/// Whether a member name says its value is a secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !NOT_SECRET_NAMES.contains(&n.as_str())
        && SECRET_NAMES
            .iter()
            .any(|p| match (p.strip_prefix('*'), p.strip_suffix('*')) {
                (Some(suffix), _) => n.ends_with(suffix),
                (_, Some(prefix)) => n.starts_with(prefix),
                _ => n == *p,
            })
}

/// Why a value was masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Why {
    /// The model marks its shape `sensitive`.
    Sensitive,
    /// An SSM parameter value whose `Type` is `SecureString` ([`TYPED`]).
    SecureString,
    /// Its member name says it holds a secret (`SECRET_NAMES`).
    Named,
    /// The value of a name/value pair whose name says secret (`Name=DB_PASSWORD,Value=…`).
    Labelled,
}

impl Why {
    /// As the agent reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Sensitive => "sensitive in the model",
            Why::SecureString => "SecureString parameter",
            Why::Named => "named like a secret",
            Why::Labelled => "paired with a name like a secret",
        }
    }
}

/// One masked value: where it was in the response (a JMESPath path, `Parameters[0].Value`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub path: String,
    pub why: Why,
}

/// A field whose secrecy its sibling tells: `member` of the structure `structure` (of `service`)
/// is a secret when the sibling `kind` is one of `secret_kinds`, and not otherwise. Without the
/// sibling the other rules decide (the model's `sensitive` first).
pub struct Typed {
    pub service: &'static str,
    pub structure: &'static str,
    pub member: &'static str,
    pub kind: &'static str,
    pub secret_kinds: &'static [&'static str],
    pub why: Why,
}

/// The typed fields (see the module docs). SSM's `Parameter` is the item of `GetParameter`,
/// `GetParameters` and `GetParametersByPath`; `ParameterHistory` that of `GetParameterHistory`.
pub const TYPED: &[Typed] = &[
    Typed {
        service: "ssm",
        structure: "Parameter",
        member: "Value",
        kind: "Type",
        secret_kinds: &["SecureString"],
        why: Why::SecureString,
    },
    Typed {
        service: "ssm",
        structure: "ParameterHistory",
        member: "Value",
        kind: "Type",
        secret_kinds: &["SecureString"],
        why: Why::SecureString,
    },
];

/// The typed-field rule for `member` of the structure `structure` of `model`, if any.
fn typed(model: &ServiceModel, structure: &str, member: &str) -> Option<&'static Typed> {
    TYPED
        .iter()
        .find(|t| t.service == model.name && t.structure == structure && t.member == member)
}

/// Whether a name rule may mask a member of this shape: it holds text (a string or blob, or a
/// list or map of them), not a setting (a boolean, a number, a timestamp). An unknown shape
/// may, and so may a document (free-form JSON: the JSON decides, [`is_leafish`]).
fn holds_text(model: &ServiceModel, shape: &str) -> bool {
    let text = |s: &Shape| s.document || matches!(s.kind, ShapeType::String | ShapeType::Blob);
    let Some(s) = model.shape(shape) else {
        return true;
    };
    if s.document {
        return true;
    }
    match s.kind {
        ShapeType::String | ShapeType::Blob => true,
        ShapeType::List => s
            .member
            .as_ref()
            .and_then(|m| model.shape(&m.shape))
            .is_none_or(text),
        ShapeType::Map => s
            .value
            .as_ref()
            .and_then(|m| model.shape(&m.shape))
            .is_none_or(text),
        _ => false,
    }
}

/// Whether a label chosen by a user (`MYSQL_ROOT_PASSWORD`, `/prod/db/password`, `userData`)
/// says the value paired with it is a secret.
fn secret_label(label: &str) -> bool {
    let n: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    !n.is_empty() && (secret_name(&n) || SECRET_LABEL_PARTS.iter().any(|p| n.contains(p)))
}

/// Masks, in `value` (shaped by `shape`), every value that is a secret; returns how many.
pub fn mask(model: &ServiceModel, shape: &str, value: &mut Value) -> usize {
    mask_listed(model, shape, value).len()
}

/// Masks, in `value` (shaped by `shape`), every value that is a secret; returns where each was
/// (a JMESPath path) and why, in document order.
pub fn mask_listed(model: &ServiceModel, shape: &str, value: &mut Value) -> Vec<Hit> {
    let mut hits = Vec::new();
    walk(
        model,
        shape,
        value,
        &mut String::new(),
        0,
        false,
        &mut |v, path, why| {
            *v = Value::String(MASK.into());
            hits.push(Hit {
                path: path.to_string(),
                why,
            });
        },
    );
    hits
}

/// The secret values in `value` (shaped by `shape`), for scrubbing from texts.
pub fn secrets(model: &ServiceModel, shape: &str, value: &Value) -> Vec<String> {
    let mut copy = value.clone();
    let mut found = Vec::new();
    walk(
        model,
        shape,
        &mut copy,
        &mut String::new(),
        0,
        false,
        &mut |v, _, _| leaves(v, &mut found),
    );
    longest_first(found)
}

/// Every scalar inside a secret value (a sensitive map or list is secret as a whole), at least
/// 4 characters long (shorter ones would mask ordinary words).
fn leaves(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 4 => found.push(s.clone()),
        Value::Number(n) if n.to_string().len() >= 4 => found.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| leaves(i, found)),
        Value::Object(map) => map.values().for_each(|i| leaves(i, found)),
        _ => {}
    }
}

/// `text` with every occurrence of each secret replaced by [`MASK`]: as it is, as messages quote
/// it (JSON and `{:?}` escapes, once or twice; shell escapes), and any run of at least [`WINDOW`]
/// bytes of it (a value cut short). A mask never ends inside an escape it started, so scrubbed
/// JSON text stays JSON.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let bytes = text.as_bytes();
    let mut masked = vec![false; bytes.len()];
    let mut windows: Vec<u64> = Vec::new();
    let forms: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| quoted_forms(s))
        .collect();
    for form in &forms {
        if form.len() < WINDOW {
            for (at, _) in text.match_indices(form.as_str()) {
                masked[at..at + form.len()].fill(true);
            }
        } else {
            windows.extend(runs(form.as_bytes()));
        }
    }
    if !windows.is_empty() {
        windows.sort_unstable();
        windows.dedup();
        // A bitmap of the runs' hashes turns away almost every run of the text in one lookup.
        let hash = |n: u64| (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 50) as usize;
        let mut seen = vec![0u64; 1 << 8];
        for n in &windows {
            seen[hash(*n) >> 6] |= 1 << (hash(*n) & 63);
        }
        for (at, n) in runs(bytes).into_iter().enumerate() {
            if seen[hash(n) >> 6] & (1 << (hash(n) & 63)) != 0 && windows.binary_search(&n).is_ok()
            {
                masked[at..at + WINDOW].fill(true);
            }
        }
    }
    if !masked.contains(&true) {
        return text.to_string();
    }
    // Each masked run, widened to whole characters and whole escapes.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !masked[at] {
            at += 1;
            continue;
        }
        let mut end = at;
        while end < bytes.len() && masked[end] {
            end += 1;
        }
        let mut start = at;
        while start > 0 && !text.is_char_boundary(start) {
            start -= 1;
        }
        // An odd run of backslashes just before: the first masked character is escaped.
        if bytes[..start]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count()
            % 2
            == 1
        {
            start -= 1;
        }
        // An odd run of backslashes at the end: the last one escapes the next character.
        if bytes[start..end]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count()
            % 2
            == 1
            && end < bytes.len()
        {
            end += 1;
        }
        while end < bytes.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        match runs.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => runs.push((start, end)),
        }
        at = end;
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in runs {
        out.push_str(&text[from..start]);
        out.push_str(MASK);
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

/// Each run of [`WINDOW`] bytes, as the number its bytes spell (cheap to compare), by offset.
fn runs(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut n = 0u64;
    for (at, b) in bytes.iter().enumerate() {
        n = n << 8 | u64::from(*b);
        if at + 1 >= WINDOW {
            out.push(n);
        }
    }
    out
}

/// A secret as texts may quote it: itself, JSON- and `{:?}`-escaped (and each of those inside JSON
/// again, as a problem list serialized to JSON holds them), and escaped for `sh` double or single
/// quotes.
fn quoted_forms(s: &str) -> Vec<String> {
    let json = |t: &str| {
        serde_json::to_string(t)
            .map(|q| q[1..q.len() - 1].to_string())
            .unwrap_or_default()
    };
    let debug = |t: &str| {
        let q = format!("{t:?}");
        q[1..q.len() - 1].to_string()
    };
    let mut forms = vec![s.to_string(), json(s), debug(s)];
    forms.push(json(&forms[1]));
    forms.push(json(&forms[2]));
    let mut dq = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            dq.push('\\');
        }
        dq.push(c);
    }
    forms.push(dq);
    forms.push(s.replace('\'', "'\\''"));
    forms.retain(|f| !f.is_empty());
    forms.sort();
    forms.dedup();
    forms
}

/// `path` + `.name` as JMESPath writes it (a quoted identifier unless plain).
fn push_member(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push_str(name);
    } else {
        path.push_str(&serde_json::to_string(name).unwrap_or_default());
    }
}

/// The walk of [`mask_listed`] and [`secrets`]: calls `hit` on every secret value with its path
/// (built in `path`, restored on return) and why it is one; returns how many.
/// `wrapper`: `value` is a structure with a secret name, whose `Value` / `Data` member is the
/// secret (EC2's `UserData: {Value: ...}`), while its other members are walked as usual.
fn walk(
    model: &ServiceModel,
    shape: &str,
    value: &mut Value,
    path: &mut String,
    depth: usize,
    wrapper: bool,
    hit: &mut dyn FnMut(&mut Value, &str, Why),
) -> usize {
    if depth > 64 {
        return 0;
    }
    let Some(s) = model.shape(shape) else {
        return 0;
    };
    if s.sensitive && !value.is_null() {
        hit(value, path, Why::Sensitive);
        return 1;
    }
    let base = path.len();
    match (s.kind, value) {
        (ShapeType::Structure, Value::Object(map)) => {
            // A name/value pair whose name says secret (`{Name: DB_PASSWORD, Value: ...}`,
            // CloudFormation's `ParameterKey: DbPassword`): its value is one. Not in tags.
            let tag = shape.ends_with("Tag") || shape.ends_with("tag");
            let pair = !tag
                && map
                    .iter()
                    .any(|(k, v)| key_like(k) && v.as_str().is_some_and(secret_label));
            let mut n = 0;
            for (name, member) in &s.members {
                // A typed field: its sibling says whether it is a secret.
                let verdict = typed(model, shape, name).and_then(|t| {
                    let kind = map.get(t.kind)?.as_str()?;
                    Some((t.secret_kinds.contains(&kind), t.why))
                });
                // Members are keyed by their name; protocols that rename on the wire are decoded to it.
                let Some(v) = map.get_mut(name) else { continue };
                push_member(path, name);
                match verdict {
                    Some((true, why)) if !v.is_null() => {
                        hit(v, path, why);
                        n += 1;
                    }
                    Some(_) => {}
                    None => {
                        let text = holds_text(model, &member.shape);
                        let why = if secret_name(name)
                            || (wrapper && matches!(name.as_str(), "Value" | "Data"))
                        {
                            Some(Why::Named)
                        } else if pair && value_like(name) {
                            Some(Why::Labelled)
                        } else {
                            None
                        };
                        match why {
                            Some(why) if text && is_leafish(v) => {
                                hit(v, path, why);
                                n += 1;
                            }
                            _ => {
                                n += walk(
                                    model,
                                    &member.shape,
                                    v,
                                    path,
                                    depth + 1,
                                    secret_name(name),
                                    hit,
                                );
                            }
                        }
                    }
                }
                path.truncate(base);
            }
            n
        }
        (ShapeType::List, Value::Array(items)) => match &s.member {
            Some(m) => {
                let mut n = 0;
                for (i, v) in items.iter_mut().enumerate() {
                    let _ = write!(path, "[{i}]");
                    n += walk(model, &m.shape, v, path, depth + 1, false, hit);
                    path.truncate(base);
                }
                n
            }
            None => 0,
        },
        (ShapeType::Map, Value::Object(map)) => match &s.value {
            Some(m) => {
                let mut n = 0;
                for (k, v) in map.iter_mut() {
                    push_member(path, k);
                    n += walk(model, &m.shape, v, path, depth + 1, false, hit);
                    path.truncate(base);
                }
                n
            }
            None => 0,
        },
        _ => 0,
    }
}

/// A value that is itself the secret (a scalar, or a list/map of scalars), not a structure that
/// merely has a secret-sounding name (`PasswordPolicy`).
fn is_leafish(v: &Value) -> bool {
    match v {
        Value::Object(_) | Value::Null => false,
        Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
        _ => true,
    }
}

/// The values of secret-bearing options in a command as typed, for scrubbing texts that echo the
/// command, including commands that did not parse: values of options named like secrets
/// (`--secret-string X`, `--master-user-password=X`) or bound to a member the model marks
/// `sensitive` (`ssm put-parameter --value`); inside `--cli-input-json` and JSON or shorthand
/// values, keys named like secrets at any depth (`--credentials AccessKeyId=a,SecretAccessKey=X`)
/// and sensitive members; and the value of a `Name=…Password,Value=X` pair (`--attribute userData
/// --value X` too).
///
/// It never fails: the command is split leniently (an unclosed quote runs to the end; shell
/// operators end a word, `X|cat` gives `X`, and are also read as text, giving `X|cat`; with an
/// unclosed quote, plain whitespace splitting is tried as well) and every reading's secrets are
/// returned, longest first. When in doubt, it returns more.
pub fn command_secrets(command: &str) -> Vec<String> {
    let mut found = Vec::new();
    let strict = split_leniently(command, true, true);
    for words in [
        Some(strict.words),
        strict
            .operators
            .then(|| split_leniently(command, true, false).words),
        strict
            .unclosed
            .then(|| split_leniently(command, false, true).words),
        strict
            .unclosed
            .then(|| split_leniently(command, false, false).words),
    ]
    .into_iter()
    .flatten()
    {
        option_secrets(&words, &mut found);
    }
    longest_first(found)
}

fn longest_first(mut found: Vec<String>) -> Vec<String> {
    found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    found.dedup();
    found
}

/// Whether a value is worth scrubbing: long enough, and not a file reference (the secret is in
/// the file; its name is not one) or a boolean.
fn keep(v: &str) -> bool {
    let t = v.trim();
    t.len() >= MIN_SECRET
        && !t.starts_with("file://")
        && !t.starts_with("fileb://")
        && !matches!(t, "true" | "false" | "null" | "True" | "False")
}

fn push(found: &mut Vec<String>, v: &str) {
    if keep(v) {
        found.push(v.to_string());
        let t = v.trim();
        if t.len() != v.len() && keep(t) {
            found.push(t.to_string());
        }
    }
}

/// One word of a command: its text after quote removal, and as it was typed (outer quotes off).
struct Word {
    text: String,
    raw: String,
    /// A shell operator (`|`, `;`, `&&`, `>`, ...) came right before it: it starts another command.
    after_operator: bool,
}

struct Split {
    words: Vec<Word>,
    /// Shell operators were seen.
    operators: bool,
    /// A quote was never closed.
    unclosed: bool,
}

/// Characters a shell would read as operators.
fn operator(c: char) -> bool {
    matches!(c, '|' | '&' | ';' | '<' | '>' | '(' | ')' | '`')
}

/// Splits like `sh` without ever failing: with `quotes`, quotes group and backslashes escape (an
/// unclosed quote runs to the end); without, only whitespace splits and quotes at either end of a
/// word are dropped. With `operators`, shell operators end a word (and are dropped).
fn split_leniently(command: &str, quotes: bool, operators: bool) -> Split {
    let chars: Vec<char> = command.chars().collect();
    let mut split = Split {
        words: Vec::new(),
        operators: false,
        unclosed: false,
    };
    let mut cur = String::new();
    let mut start: Option<usize> = None;
    let mut after_operator = false;
    let finish = |split: &mut Split,
                  cur: &mut String,
                  start: &mut Option<usize>,
                  end: usize,
                  after_operator: &mut bool| {
        if let Some(s) = start.take() {
            let raw: String = chars[s..end].iter().collect();
            let mut text = std::mem::take(cur);
            if !quotes {
                text = text.trim_matches(|c| c == '\'' || c == '"').to_string();
            }
            let raw = raw.trim_matches(|c| c == '\'' || c == '"').to_string();
            split.words.push(Word {
                text,
                raw,
                after_operator: *after_operator,
            });
            *after_operator = false;
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c.is_control() {
            finish(&mut split, &mut cur, &mut start, i, &mut after_operator);
            i += 1;
            continue;
        }
        if operator(c) {
            split.operators = true;
            if operators {
                finish(&mut split, &mut cur, &mut start, i, &mut after_operator);
                after_operator = true;
                i += 1;
                continue;
            }
        }
        start.get_or_insert(i);
        match c {
            '\\' if quotes => {
                if let Some(&next) = chars.get(i + 1)
                    && next != '\n'
                {
                    cur.push(next);
                }
                i += 2;
            }
            '\'' if quotes => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    cur.push(chars[i]);
                    i += 1;
                }
                split.unclosed |= i >= chars.len();
                i += 1;
            }
            '"' if quotes => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    match (chars[i], chars.get(i + 1)) {
                        ('\\', Some(&e @ ('$' | '`' | '"' | '\\'))) => {
                            cur.push(e);
                            i += 2;
                        }
                        ('\\', Some('\n')) => i += 2,
                        (ch, _) => {
                            cur.push(ch);
                            i += 1;
                        }
                    }
                }
                split.unclosed |= i >= chars.len();
                i += 1;
            }
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
    finish(
        &mut split,
        &mut cur,
        &mut start,
        chars.len(),
        &mut after_operator,
    );
    split
}

/// Global options that take a value (the others are flags).
const GLOBALS_WITH_VALUE: &[&str] = &[
    "region",
    "output",
    "query",
    "endpoint-url",
    "profile",
    "cli-read-timeout",
    "cli-connect-timeout",
    "ca-bundle",
    "color",
    "cli-binary-format",
];

/// Options every operation has besides its members and the global options.
const COMMON_OPTIONS: &[&str] = &[
    "no-paginate",
    "debug",
    "no-verify-ssl",
    "no-sign-request",
    "cli-input-json",
    "cli-input-yaml",
    "generate-cli-skeleton",
    "starting-token",
    "page-size",
    "max-items",
    "cli-auto-prompt",
    "no-cli-auto-prompt",
    "no-cli-pager",
];

/// The operation a command names, as far as it can be told.
struct OpContext {
    model: std::sync::Arc<ServiceModel>,
    input: Option<String>,
    args: Vec<portcullis_model::naming::CliArgSpec>,
    custom: Vec<String>,
}

impl OpContext {
    fn find(words: &[Word]) -> Option<OpContext> {
        let models = portcullis_model::models();
        let from = words
            .iter()
            .position(|w| w.text == "aws")
            .map_or(0, |p| p + 1);
        let mut positional = Vec::new();
        let mut i = from;
        while i < words.len() && positional.len() < 2 {
            let w = words[i].text.as_str();
            match w.strip_prefix("--") {
                Some(g) if GLOBALS_WITH_VALUE.contains(&g) => i += 1,
                Some(_) => {}
                None if !w.starts_with('-') => positional.push(w),
                None => {}
            }
            i += 1;
        }
        let [command, operation] = positional[..] else {
            return None;
        };
        let service = models.command(command)?.service.clone()?;
        let model = models.service(&service).ok()?;
        let cli = models.service_cli(&service).ok()?;
        let op = model.operation(cli.operation_for(operation)?)?;
        let args = models.cli_args(&model, &cli, operation, op);
        let custom = cli
            .exceptions(operation)
            .map(|e| e.custom_args.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default();
        let input = op.input.as_ref().map(|r| r.shape.clone());
        Some(OpContext {
            model,
            input,
            args,
            custom,
        })
    }

    fn input_shape(&self) -> Option<&Shape> {
        self.input.as_deref().and_then(|s| self.model.shape(s))
    }

    /// The member an option sets, with its shape.
    fn member(&self, option: &str) -> Option<(&str, Option<&Shape>)> {
        let spec = self.args.iter().find(|a| a.name == option)?;
        let shape = self
            .input_shape()
            .and_then(|i| i.members.get(&spec.member))
            .and_then(|r| self.model.shape(&r.shape));
        Some((spec.member.as_str(), shape))
    }

    fn knows(&self, option: &str) -> bool {
        self.args.iter().any(|a| a.name == option) || self.custom.iter().any(|c| c == option)
    }
}

/// Whether a word is an option name (`--db-instance-identifier`), as opposed to a value that
/// starts with `--` (`--master-user-password --Pa55!`, which the CLI takes as a value only as `=`).
fn option_name(word: &str) -> bool {
    word.strip_prefix("--").is_some_and(|o| {
        let name = o.split_once('=').map_or(o, |(n, _)| n);
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// An option name that pairs with a value (`--name`, `--attribute`, `ParameterKey`).
fn key_like(name: &str) -> bool {
    let n = name.replace(['-', '_'], "").to_ascii_lowercase();
    n.ends_with("key") || n.ends_with("name") || n == "attribute"
}

fn value_like(name: &str) -> bool {
    let n = name.replace(['-', '_'], "").to_ascii_lowercase();
    n.ends_with("value") || n.ends_with("values")
}

/// The secrets among the options of one reading of a command.
fn option_secrets(words: &[Word], found: &mut Vec<String>) {
    let op = OpContext::find(words);
    let mut options: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(option) = word.text.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (option, None),
        };
        let global = GLOBALS_WITH_VALUE.contains(&name) || COMMON_OPTIONS.contains(&name);
        let member = op.as_ref().and_then(|o| o.member(name));
        let known = global || op.as_ref().is_some_and(|o| o.knows(name));
        let secret = !global
            && (secret_name(&name.replace('-', ""))
                || member.is_some_and(|(m, shape)| {
                    secret_name(m) || shape.is_some_and(|s| s.sensitive)
                })
                || (!known && secret_label(name)));
        // Its values: the inline one, or the words up to the next option or shell operator (for a
        // secret, the next word even if it starts with `--` but is no option name).
        let mut values: Vec<(&str, &str)> = Vec::new();
        match inline {
            Some(v) => values.push((
                v,
                word.raw
                    .split_once('=')
                    .map_or(v, |(_, r)| r.trim_matches(|c| c == '\'' || c == '"')),
            )),
            None => {
                while let Some(next) = words.get(i) {
                    let first = values.is_empty();
                    if next.after_operator
                        || (next.text.starts_with("--")
                            && !(secret && first && !option_name(&next.text)))
                    {
                        break;
                    }
                    values.push((next.text.as_str(), next.raw.as_str()));
                    i += 1;
                }
            }
        }
        if global && !matches!(name, "cli-input-json" | "cli-input-yaml") {
            continue;
        }
        let shape = match name {
            "cli-input-json" | "cli-input-yaml" => op.as_ref().and_then(OpContext::input_shape),
            _ => member.and_then(|(_, s)| s),
        };
        let mut leaves = Vec::new();
        for (text, raw) in &values {
            let mut scan = Scan::new(text, op.as_ref().map(|o| &*o.model));
            leaves.extend(scan.top(shape));
            found.append(&mut scan.found);
            if secret {
                push(found, text);
                push(found, raw);
            }
        }
        if secret {
            leaves.iter().for_each(|l| push(found, l));
        }
        options.push((
            name.to_string(),
            values.iter().map(|(t, _)| t.to_string()).collect(),
            leaves,
        ));
    }
    // `--name /prod/db/password --value X`, `--attribute userData --value X`.
    if options
        .iter()
        .any(|(n, v, _)| key_like(n) && v.iter().any(|v| secret_label(v)))
    {
        for (_, values, leaves) in options.iter().filter(|(n, _, _)| value_like(n)) {
            values.iter().chain(leaves).for_each(|v| push(found, v));
        }
    }
}

/// How deep the lenient reader follows nested values (beyond, the rest is one secret value).
const MAX_SCAN_DEPTH: usize = 64;

/// A lenient reader of JSON, shorthand (and YAML-ish `Key: value` lines) that never fails:
/// truncated or malformed text is read as far as it goes. It returns every scalar it reads, and
/// collects in `found` those under a secret-named key or a sensitive member (by `model`, when the
/// shape is known), and the values paired with a secret label (`Name=DB_PASSWORD,Value=X`).
struct Scan<'m> {
    chars: Vec<char>,
    i: usize,
    model: Option<&'m ServiceModel>,
    found: Vec<String>,
}

impl<'m> Scan<'m> {
    fn new(text: &str, model: Option<&'m ServiceModel>) -> Self {
        Scan {
            chars: text.chars().collect(),
            i: 0,
            model,
            found: Vec::new(),
        }
    }

    /// A whole option value, shaped by `shape` if known.
    fn top(&mut self, shape: Option<&'m Shape>) -> Vec<String> {
        let text: String = self.chars.iter().collect();
        let t = text.trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            let mut leaves = self.value(shape, 0);
            // Whatever follows a complete value (more shorthand items, a second document).
            while self.i < self.chars.len() {
                let at = self.i;
                leaves.extend(self.object(None, shape, 0));
                if self.i == at {
                    self.i += 1;
                }
            }
            leaves
        } else if text.contains('=')
            || text.contains(": ")
            || text.contains(":\n")
            || text.ends_with(':')
        {
            self.object(None, shape, 0)
        } else {
            Vec::new()
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn rest(&mut self) -> Vec<String> {
        let rest: String = self.chars[self.i.min(self.chars.len())..].iter().collect();
        self.i = self.chars.len();
        vec![rest]
    }

    /// The shape of a member (`key`), list item or map value of `shape`, and whether it is sensitive.
    fn child(&self, shape: Option<&'m Shape>, key: Option<&str>) -> (Option<&'m Shape>, bool) {
        let (Some(model), Some(shape)) = (self.model, shape) else {
            return (None, false);
        };
        let r = match (shape.kind, key) {
            (ShapeType::Structure, Some(k)) => shape.members.get(k).or_else(|| {
                shape
                    .members
                    .iter()
                    .find(|(m, _)| m.eq_ignore_ascii_case(k))
                    .map(|(_, r)| r)
            }),
            (ShapeType::Map, _) => shape.value.as_ref(),
            (ShapeType::List, _) => shape.member.as_ref(),
            _ => None,
        };
        let child = r.and_then(|r| model.shape(&r.shape));
        (child, shape.sensitive || child.is_some_and(|c| c.sensitive))
    }

    fn value(&mut self, shape: Option<&'m Shape>, depth: usize) -> Vec<String> {
        self.skip_space();
        if depth > MAX_SCAN_DEPTH {
            // Too deep to tell what is what: all of it is scrubbed.
            let rest = self.rest();
            rest.iter().for_each(|r| push(&mut self.found, r));
            return rest;
        }
        match self.peek() {
            None => Vec::new(),
            Some('{') => {
                self.i += 1;
                self.object(Some('}'), shape, depth + 1)
            }
            Some('[') => {
                self.i += 1;
                self.list(shape, depth + 1)
            }
            Some(q @ ('"' | '\'')) => {
                let (raw, text) = self.string(q);
                vec![raw, text]
            }
            Some(_) => vec![self.bare()],
        }
    }

    /// A quoted string (backslash escapes; unclosed runs to the end): as typed, and unescaped.
    fn string(&mut self, quote: char) -> (String, String) {
        self.i += 1;
        let (mut raw, mut text) = (String::new(), String::new());
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == quote {
                break;
            }
            raw.push(c);
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(e) = self.peek() else { break };
            self.i += 1;
            raw.push(e);
            match e {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                'b' => text.push('\u{8}'),
                'f' => text.push('\u{c}'),
                'u' => {
                    let hex: String = self.chars[self.i..].iter().take(4).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if hex.len() == 4 => {
                            raw.push_str(&hex);
                            text.push(ch);
                            self.i += 4;
                        }
                        _ => text.push('u'),
                    }
                }
                other => text.push(other),
            }
        }
        (raw, text)
    }

    /// An unquoted scalar: up to a separator or closing bracket.
    fn bare(&mut self) -> String {
        self.take_until(|c| matches!(c, ',' | '}' | ']' | '\n'))
    }

    /// The text up to the first character `stop` accepts (or the end), trimmed.
    fn take_until(&mut self, stop: impl Fn(char) -> bool) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| !stop(c)) {
            self.i += 1;
        }
        self.chars[start..self.i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// A key: quoted, or up to `=`, `:` or a separator.
    fn key(&mut self) -> String {
        match self.peek() {
            Some(q @ ('"' | '\'')) => self.string(q).1,
            _ => self.take_until(|c| matches!(c, '=' | ':' | ',' | '{' | '}' | '[' | ']' | '\n')),
        }
    }

    /// Whether a `key=` or `"key":` starts at the current position (else: more items of a value).
    fn member_ahead(&mut self) -> bool {
        let at = self.i;
        self.skip_space();
        let key = self.key();
        self.skip_space();
        let yes = !key.is_empty() && matches!(self.peek(), Some('=' | ':'));
        self.i = at;
        yes
    }

    /// The members of a structure or map up to `close` (`None`: top-level shorthand or YAML lines).
    fn object(
        &mut self,
        close: Option<char>,
        shape: Option<&'m Shape>,
        depth: usize,
    ) -> Vec<String> {
        let mut all = Vec::new();
        // Each member's key and where its scalars are in `all`.
        let mut members: Vec<(String, std::ops::Range<usize>)> = Vec::new();
        loop {
            while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
                self.i += 1;
            }
            let at = self.i;
            match self.peek() {
                None => break,
                Some(c) if Some(c) == close => {
                    self.i += 1;
                    break;
                }
                Some('}' | ']') if close.is_some() => {
                    self.i += 1;
                    break;
                }
                Some('}' | ']') => {
                    self.i += 1;
                    continue;
                }
                Some('{' | '[') => {
                    all.extend(self.value(shape, depth));
                }
                Some(_) => {
                    let key = self.key();
                    self.skip_space();
                    if matches!(self.peek(), Some('=' | ':')) {
                        self.i += 1;
                        self.skip_space();
                        let (from, first) = (self.i, all.len());
                        let nested = matches!(self.peek(), Some('{' | '['));
                        let (child, sensitive) = self.child(shape, Some(&key));
                        all.extend(self.value(child, depth + 1));
                        // Shorthand lists without brackets: `Values=a,b,Name=c`.
                        loop {
                            let here = self.i;
                            self.skip_space();
                            if self.peek() != Some(',') {
                                self.i = here;
                                break;
                            }
                            self.i += 1;
                            if self.member_ahead() || matches!(self.peek(), None | Some('}' | ']'))
                            {
                                self.i = here;
                                break;
                            }
                            let before = self.i;
                            all.extend(self.value(child, depth + 1));
                            if self.i == before {
                                break;
                            }
                        }
                        // A scalar as typed, commas and all (`Password=ab,cd`).
                        if !nested {
                            let span: String = self.chars[from..self.i].iter().collect();
                            all.push(
                                span.trim()
                                    .trim_end_matches(',')
                                    .trim_matches(|c| c == '"' || c == '\'')
                                    .to_string(),
                            );
                        }
                        if secret_name(&key) || sensitive {
                            all[first..].iter().for_each(|l| push(&mut self.found, l));
                        }
                        members.push((key, first..all.len()));
                    } else {
                        all.push(key);
                    }
                }
            }
            if self.i == at {
                self.i += 1;
            }
        }
        // `Name=DB_PASSWORD,Value=X`, `{"ParameterKey": "DbPassword", "ParameterValue": "X"}`.
        if members
            .iter()
            .any(|(k, r)| key_like(k) && all[r.clone()].iter().any(|v| secret_label(v)))
        {
            for (_, r) in members.iter().filter(|(k, _)| value_like(k)) {
                all[r.clone()].iter().for_each(|l| push(&mut self.found, l));
            }
        }
        all
    }

    fn list(&mut self, shape: Option<&'m Shape>, depth: usize) -> Vec<String> {
        let (item, sensitive) = self.child(shape, None);
        let mut all = Vec::new();
        loop {
            while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
                self.i += 1;
            }
            match self.peek() {
                None => break,
                Some(']' | '}') => {
                    self.i += 1;
                    break;
                }
                Some(_) => {
                    let at = self.i;
                    let leaves = self.value(item, depth);
                    if sensitive {
                        leaves.iter().for_each(|l| push(&mut self.found, l));
                    }
                    all.extend(leaves);
                    if self.i == at {
                        self.i += 1;
                    }
                }
            }
        }
        all
    }
}

/// Every secret value of a request: those given to secret-named options as typed, and those the
/// model marks sensitive (or names as secrets) anywhere in the parsed parameters (`params`, shaped
/// by `shapes`' input) — inside shorthand and JSON values too.
pub fn request_secrets(
    command: &str,
    shapes: Option<&crate::pipeline::Shapes>,
    params: &Value,
) -> Vec<String> {
    let mut found = command_secrets(command);
    if let Some(crate::pipeline::Shapes {
        model,
        input: Some(input),
        ..
    }) = shapes
    {
        found.extend(secrets(model, input, params));
    }
    longest_first(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for n in [
            "SecretAccessKey",
            "SessionToken",
            "MasterUserPassword",
            "Password",
            "SecretString",
            "PasswordData",
            "ApiKeyValue",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "AccessKeyId",
            "Name",
            "SecretId",
            "KeyId",
            "Tokens",
            "PasswordLastUsed2",
        ] {
            assert!(!secret_name(n) || n.starts_with("Password"), "{n}");
        }
    }

    /// The output shape of `service.operation`.
    fn output(model: &ServiceModel, operation: &str) -> String {
        model
            .operation(operation)
            .unwrap()
            .output
            .as_ref()
            .unwrap()
            .shape
            .clone()
    }

    fn listed(hits: &[Hit]) -> Vec<(&str, Why)> {
        hits.iter().map(|h| (h.path.as_str(), h.why)).collect()
    }

    /// An SSM parameter's value is a secret only when its `Type` is `SecureString` (the issue: a
    /// `String` parameter read as `****`), in every read that returns values; without a `Type`
    /// the model's `sensitive` mark decides. Requests are not typed fields: a value sent is
    /// still scrubbed whatever its type.
    #[test]
    fn ssm_values_are_masked_by_their_type() {
        let models = portcullis_model::models();
        let ssm = models.service("ssm").unwrap();
        assert_eq!(ssm.name, "ssm");
        let get = output(&ssm, "GetParameter");
        let mut v = json!({"Parameter": {"Name": "/app/plain", "Type": "String", "Value": "plain-value", "Version": 1}});
        assert!(mask_listed(&ssm, &get, &mut v).is_empty());
        assert_eq!(v["Parameter"]["Value"], "plain-value");
        // A name that says secret does not make a `String` value one: the type says what it is.
        let mut v = json!({"Parameter": {"Name": "/app/db_password", "Type": "StringList", "Value": "a,b"}});
        assert!(mask_listed(&ssm, &get, &mut v).is_empty());
        assert_eq!(v["Parameter"]["Value"], "a,b");
        let mut v = json!({"Parameter": {"Name": "/app/db", "Type": "SecureString", "Value": "kms:alias/aws/ssm:hunter2"}});
        let hits = mask_listed(&ssm, &get, &mut v);
        assert_eq!(listed(&hits), [("Parameter.Value", Why::SecureString)]);
        assert_eq!(v["Parameter"]["Value"], MASK);
        assert_eq!(v["Parameter"]["Name"], "/app/db");
        // No type: the model's mark.
        let mut v = json!({"Parameter": {"Name": "/app/x", "Value": "v"}});
        let hits = mask_listed(&ssm, &get, &mut v);
        assert_eq!(listed(&hits), [("Parameter.Value", Why::Sensitive)]);

        let mixed = json!({"Parameters": [
            {"Name": "/a", "Type": "String", "Value": "one"},
            {"Name": "/b", "Type": "SecureString", "Value": "two-secret"},
            {"Name": "/c", "Type": "StringList", "Value": "x,y"}
        ]});
        for operation in [
            "GetParameters",
            "GetParametersByPath",
            "GetParameterHistory",
        ] {
            let mut v = mixed.clone();
            let hits = mask_listed(&ssm, &output(&ssm, operation), &mut v);
            assert_eq!(
                listed(&hits),
                [("Parameters[1].Value", Why::SecureString)],
                "{operation}"
            );
            assert_eq!(v["Parameters"][0]["Value"], "one", "{operation}");
            assert_eq!(v["Parameters"][1]["Value"], MASK, "{operation}");
            assert_eq!(v["Parameters"][2]["Value"], "x,y", "{operation}");
        }
        // The request side is unchanged: `put-parameter --value` is scrubbed whatever the type.
        let put = ssm
            .operation("PutParameter")
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let params = json!({"Name": "/app/plain", "Type": "String", "Value": "sent-value"});
        assert_eq!(secrets(&ssm, &put, &params), ["sent-value"]);
    }

    /// Name rules mask text only, and only names that hold the secret itself: settings
    /// (booleans, numbers, timestamps) and what a secret is called or where it is kept are shown.
    #[test]
    fn name_rules_spare_settings_and_references() {
        for n in [
            "PasswordData",
            "Passwords",
            "ApiKey",
            "apiKeyValue",
            "PasswordVerifier",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "PasswordParam",
            "PasswordFieldXpath",
            "PasswordHashingAlgorithm",
            "apiKeyArn",
            "apiKeyId",
            "ApiKeySource",
            "ApiKeySelectionExpression",
            "ApiKeyRequired",
            "PasswordLastUsed",
            "RemovePrivateKey",
        ] {
            assert!(!secret_name(n), "{n}");
        }
        let models = portcullis_model::models();
        let iam = models.service("iam").unwrap();
        // A timestamp named like a secret (`*password` does not match it, `password*` did).
        let mut v = json!({"User": {"UserName": "u", "UserId": "AIDA", "Arn": "arn:aws:iam::1:user/u", "Path": "/",
            "CreateDate": "2024-01-01T00:00:00Z", "PasswordLastUsed": "2024-05-01T00:00:00Z"}});
        assert!(mask_listed(&iam, &output(&iam, "GetUser"), &mut v).is_empty());
        assert_eq!(v["User"]["PasswordLastUsed"], "2024-05-01T00:00:00Z");
        // Booleans whose names end like a secret's.
        let rds = models.service("rds").unwrap();
        let input = rds
            .operation("ModifyDBInstance")
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut v = json!({"DBInstanceIdentifier": "db", "ManageMasterUserPassword": true,
            "RotateMasterUserPassword": false, "MasterUserPassword": "hunter2-canary"});
        let hits = mask_listed(&rds, &input, &mut v);
        assert_eq!(listed(&hits), [("MasterUserPassword", Why::Named)]);
        assert_eq!(v["ManageMasterUserPassword"], true);
        let apigw = models.service("apigateway").unwrap();
        let mut v = json!({"id": "abc", "name": "api", "apiKeySource": "HEADER"});
        assert!(mask_listed(&apigw, &output(&apigw, "GetRestApi"), &mut v).is_empty());
        assert_eq!(v["apiKeySource"], "HEADER");
    }

    /// Every masked value is listed with its path (as `--query` would select it) and why.
    #[test]
    fn masked_values_are_listed_with_path_and_reason() {
        let models = portcullis_model::models();
        let iam = models.service("iam").unwrap();
        let mut v = json!({"AccessKey": {"UserName": "u", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}});
        let hits = mask_listed(&iam, &output(&iam, "CreateAccessKey"), &mut v);
        assert_eq!(listed(&hits), [("AccessKey.SecretAccessKey", Why::Named)]);
        let lambda = models.service("lambda").unwrap();
        let mut v =
            json!({"FunctionName": "f", "Environment": {"Variables": {"DB_PASS": "x-canary"}}});
        let hits = mask_listed(
            &lambda,
            &output(&lambda, "GetFunctionConfiguration"),
            &mut v,
        );
        assert_eq!(listed(&hits), [("Environment.Variables", Why::Sensitive)]);
        let batch = models.service("batch").unwrap();
        let mut v = json!({"jobDefinitions": [{"jobDefinitionName": "db", "containerProperties": {"environment": [
            {"name": "TZ", "value": "UTC"}, {"name": "MYSQL_ROOT_PASSWORD", "value": "hunter2-canary"}
        ]}}]});
        let hits = mask_listed(&batch, &output(&batch, "DescribeJobDefinitions"), &mut v);
        assert_eq!(
            listed(&hits),
            [(
                "jobDefinitions[0].containerProperties.environment[1].value",
                Why::Labelled
            )]
        );
        // A map key that is no identifier is quoted as JMESPath quotes it.
        let mut path = String::from("Tags");
        push_member(&mut path, "aws:cloudformation:stack-name");
        assert_eq!(path, r#"Tags."aws:cloudformation:stack-name""#);
    }

    /// Tags are labels, not secrets: a tag key that reads like a secret's name does not mask its
    /// value (environment variables with such names still do).
    #[test]
    fn tag_values_are_not_secrets() {
        let models = portcullis_model::models();
        let iam = models.service("iam").unwrap();
        let mut v = json!({"Tags": [{"Key": "secret-rotation", "Value": "enabled"}, {"Key": "token-owner", "Value": "team-a"}], "IsTruncated": false});
        assert!(mask_listed(&iam, &output(&iam, "ListRoleTags"), &mut v).is_empty());
        assert_eq!(v["Tags"][0]["Value"], "enabled");
        assert_eq!(v["Tags"][1]["Value"], "team-a");
    }

    #[test]
    fn masks_by_shape_and_name() {
        let models = portcullis_model::models();
        let iam = models.service("iam").unwrap();
        let op = iam.operation("CreateAccessKey").unwrap();
        let out = op.output.as_ref().unwrap().shape.clone();
        let mut v = json!({"AccessKey": {"UserName": "u", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}});
        assert_eq!(mask(&iam, &out, &mut v), 1);
        assert_eq!(v["AccessKey"]["SecretAccessKey"], MASK);
        assert_eq!(v["AccessKey"]["AccessKeyId"], "AKIAEXAMPLE");
        // A structure with a secret-sounding name is walked, not masked whole.
        let get = iam
            .operation("GetAccountPasswordPolicy")
            .unwrap()
            .output
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut p = json!({"PasswordPolicy": {"MinimumPasswordLength": 14}});
        assert_eq!(mask(&iam, &get, &mut p), 0);
        assert_eq!(p["PasswordPolicy"]["MinimumPasswordLength"], 14);

        let sm = models.service("secretsmanager").unwrap();
        let input = sm
            .operation("CreateSecret")
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let params = json!({"Name": "app/db", "SecretString": "hunter2-canary"});
        let found = secrets(&sm, &input, &params);
        assert_eq!(found, ["hunter2-canary"]);
        assert_eq!(
            scrub("bad value hunter2-canary for SecretString", &found),
            "bad value **** for SecretString"
        );

        let typed = command_secrets(
            "aws rds create-db-instance --master-user-password 'pw canary' --db-instance-identifier x --secret-string=s3cr3t --password",
        );
        assert_eq!(typed, ["pw canary", "s3cr3t"]);
    }

    /// The value of a name/value pair whose name says secret is one, in requests and output.
    #[test]
    fn secret_labelled_pairs_are_masked() {
        let models = portcullis_model::models();
        let cfn = models.service("cloudformation").unwrap();
        let input = cfn
            .operation("CreateStack")
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut v = json!({"StackName": "s", "Parameters": [
            {"ParameterKey": "DbPassword", "ParameterValue": "hunter2-canary"},
            {"ParameterKey": "InstanceType", "ParameterValue": "t3.micro"}
        ]});
        assert_eq!(mask(&cfn, &input, &mut v), 1);
        assert_eq!(v["Parameters"][0]["ParameterValue"], MASK);
        assert_eq!(v["Parameters"][1]["ParameterValue"], "t3.micro");
        // Batch job environments (ECS marks its own sensitive as a whole).
        let batch = models.service("batch").unwrap();
        let out = batch
            .operation("DescribeJobDefinitions")
            .unwrap()
            .output
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut v = json!({"jobDefinitions": [{"jobDefinitionName": "db", "containerProperties": {"environment": [
            {"name": "MYSQL_ROOT_PASSWORD", "value": "hunter2-canary"}, {"name": "TZ", "value": "UTC"}
        ]}}]});
        assert_eq!(mask(&batch, &out, &mut v), 1);
        let env = &v["jobDefinitions"][0]["containerProperties"]["environment"];
        assert_eq!(env[0]["value"], MASK);
        assert_eq!(env[0]["name"], "MYSQL_ROOT_PASSWORD");
        assert_eq!(env[1]["value"], "UTC");
    }

    /// EC2 instance user data is a secret wherever it appears: a `UserData` string, and the
    /// `Value` of a `UserData` attribute structure; other structures with secret names are walked.
    #[test]
    fn user_data_is_masked() {
        let models = portcullis_model::models();
        let ec2 = models.service("ec2").unwrap();
        let out = ec2
            .operation("DescribeInstanceAttribute")
            .unwrap()
            .output
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut v = json!({"InstanceId": "i-0abc", "UserData": {"Value": "IyEvYmluL2Jhc2gKZXhwb3J0IERCX1BBU1M9aHVudGVyMg=="}});
        assert_eq!(mask(&ec2, &out, &mut v), 1);
        assert_eq!(v["UserData"]["Value"], MASK);
        assert_eq!(v["InstanceId"], "i-0abc");
        // Other attributes of the same output are not secrets.
        let mut t = json!({"InstanceId": "i-0abc", "InstanceType": {"Value": "t3.micro"}});
        assert_eq!(mask(&ec2, &out, &mut t), 0);
        assert_eq!(t["InstanceType"]["Value"], "t3.micro");
        // The request side: `modify-instance-attribute --user-data Value=...`.
        let input = ec2
            .operation("ModifyInstanceAttribute")
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let found = secrets(
            &ec2,
            &input,
            &json!({"InstanceId": "i-0abc", "UserData": {"Value": "ZXhwb3J0IFRPS0VOPXM="}}),
        );
        assert_eq!(found, ["ZXhwb3J0IFRPS0VOPXM="]);
        // Launch configurations (autoscaling) carry it as a plain string the model does not mark.
        let asg = models.service("autoscaling").unwrap();
        let out = asg
            .operation("DescribeLaunchConfigurations")
            .unwrap()
            .output
            .as_ref()
            .unwrap()
            .shape
            .clone();
        let mut v = json!({"LaunchConfigurations": [{"LaunchConfigurationName": "lc", "UserData": "IyEvYmluL3NoCg=="}]});
        assert_eq!(mask(&asg, &out, &mut v), 1);
        assert_eq!(v["LaunchConfigurations"][0]["UserData"], MASK);
        assert_eq!(
            v["LaunchConfigurations"][0]["LaunchConfigurationName"],
            "lc"
        );
        // And in commands as typed.
        let typed = command_secrets(
            "aws ec2 modify-instance-attribute --instance-id i-1 --attribute userData --value dXNlcmRhdGE=",
        );
        assert!(typed.contains(&"dXNlcmRhdGE=".to_string()), "{typed:?}");
        let typed = command_secrets(
            "aws ec2 modify-instance-attribute --instance-id i-1 --user-data Value=dXNlcmRhdGE=",
        );
        assert!(typed.contains(&"dXNlcmRhdGE=".to_string()), "{typed:?}");
        assert!(
            command_secrets("aws ec2 run-instances --image-id ami-1 --user-data file://boot.sh")
                .is_empty()
        );
    }

    fn hides(command: &str, canary: &str) {
        let found = command_secrets(command);
        let shown = scrub(command, &found);
        assert!(
            !shown.contains(canary),
            "{canary} survives in {shown:?} (found {found:?})"
        );
    }

    /// Values of secret options are found in commands that do not split or parse, inside JSON and
    /// shorthand values, and by the model's `sensitive` marks.
    #[test]
    fn command_secrets_never_fail() {
        const C: &str = "CanaryX-42f1";
        for command in [
            // The three refusals of issue 10.
            format!("aws secretsmanager create-secret --name x --secret-string {C} | cat"),
            format!("aws secretsmanager create-secret --name x --secret-string '{C}"),
            format!(
                r#"aws secretsmanager create-secret --cli-input-json '{{"Name":"x","SecretString":"{C}","Bogus":1}}'"#
            ),
            // Operators glued to the value.
            format!("aws secretsmanager create-secret --name x --secret-string {C}|cat"),
            format!("aws secretsmanager create-secret --name x --secret-string={C};ls"),
            format!("aws secretsmanager create-secret --name x --secret-string {C}&&ls"),
            format!("aws secretsmanager create-secret --name x --secret-string {C}>out"),
            format!("aws secretsmanager create-secret --name x --secret-string {C}$(id)"),
            format!("aws secretsmanager create-secret --name x --secret-string \"{C}`id`\""),
            // An unclosed quote before the option swallows it when split like sh.
            format!("aws secretsmanager create-secret --name 'x --secret-string {C}"),
            format!("aws secretsmanager create-secret --name \"x --secret-string={C}"),
            // Truncated or malformed JSON, nested secret keys, YAML.
            format!(
                r#"aws secretsmanager create-secret --cli-input-json '{{"Name":"x","SecretString":"{C}"#
            ),
            format!(
                r#"aws secretsmanager create-secret --cli-input-json '{{"Name":"x","SecretString":"{C}",}}'"#
            ),
            format!(
                r#"aws rds create-db-instance --cli-input-json '{{"A":{{"B":[{{"MasterUserPassword":"{C}"}}]}}}}'"#
            ),
            format!(
                "aws secretsmanager create-secret --cli-input-yaml 'Name: x\nSecretString: {C}\n'"
            ),
            // Shorthand and JSON option values.
            format!(
                "aws pinpoint update-baidu-channel --application-id a --baidu-channel-request ApiKey=k,SecretKey={C}"
            ),
            format!("aws x y --credentials AccessKeyId=a,SecretAccessKey={C},SessionToken=t"),
            format!(r#"aws x y --credentials '{{"AccessKeyId":"a","SecretAccessKey":"{C}"}}'"#),
            format!(
                "aws rds create-db-instance --db-instance-identifier d --master-user-password {C} --bogus"
            ),
            // Name/value pairs whose name says secret.
            format!(
                "aws cloudformation create-stack --stack-name s --parameters ParameterKey=DbPassword,ParameterValue={C}"
            ),
            format!(
                r#"aws ecs register-task-definition --family f --container-definitions '[{{"name":"c","environment":[{{"name":"MYSQL_ROOT_PASSWORD","value":"{C}"}}]}}]'"#
            ),
            // Sensitive by the model, not by name.
            format!("aws ssm put-parameter --name p --type SecureString --value {C} | cat"),
            format!(
                "aws lambda create-function --function-name f --environment Variables={{DB_PASS={C}}} --bogus"
            ),
            // A value that starts with dashes.
            format!("aws iam create-login-profile --user-name u --password --{C}"),
            format!("aws iam create-login-profile --user-name u --password -{C}"),
            // Escapes as typed differ from the value.
            format!(
                r#"aws secretsmanager create-secret --name x --secret-string "a\"{C}\\b" --bogus"#
            ),
        ] {
            hides(&command, C);
        }
    }

    /// Random commands (quotes, brackets, operators, escapes, multi-byte characters) never make
    /// `command_secrets` or `scrub` panic, and what is found is masked; deep nesting is bounded.
    #[test]
    fn command_secrets_and_scrub_take_any_input() {
        const PIECES: &[&str] = &[
            "aws ",
            "secretsmanager ",
            "create-secret ",
            "--secret-string",
            "--cli-input-json ",
            "--password=",
            " ",
            "'",
            "\"",
            "\\",
            "{",
            "}",
            "[",
            "]",
            ",",
            "=",
            ":",
            "|",
            ";",
            "&&",
            ">",
            "$(",
            "`",
            "\n",
            "Password",
            "SecretAccessKey=",
            "é",
            "🦀",
            "ß\u{301}",
            "Canary-ünï",
            "\"Pass\":\"",
            "Value=",
            "Name=DB_PASSWORD,",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut command = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                command.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            let found = command_secrets(&command);
            let shown = scrub(&command, &found);
            for s in found.iter().filter(|s| s.len() >= WINDOW) {
                assert!(!shown.contains(s.as_str()), "{s:?} in {shown:?}");
            }
            let _ = scrub(&serde_json::to_string(&command).unwrap(), &found);
        }
        let deep = format!(
            "aws secretsmanager create-secret --cli-input-json '{}\"SecretString\":\"Canary-deep-1\"",
            "{\"a\":[".repeat(20_000)
        );
        let found = command_secrets(&deep);
        assert!(!scrub(&deep, &found).contains("Canary-deep-1"));
    }

    /// Messages quote values escaped (`{:?}`, JSON) and cut short: those forms are masked too.
    #[test]
    fn scrub_masks_quoted_and_cut_forms() {
        let secret = "Pa\"ss\\word-0123456789-abcdefghij".to_string();
        let found = vec![secret.clone()];
        let debug = format!("invalid value {:?} for --password", &secret[..20]);
        let shown = scrub(&debug, &found);
        assert!(!shown.contains("ss\\\\word-0123"), "{shown}");
        assert!(shown.starts_with("invalid value \"****"), "{shown}");
        let json = serde_json::to_string(&json!({ "message": format!("got {secret:?}") })).unwrap();
        let shown = scrub(&json, &found);
        assert!(!shown.contains("0123456789"), "{shown}");
        assert!(
            serde_json::from_str::<Value>(&shown).is_ok(),
            "still JSON: {shown}"
        );
        let cut = format!("JSON received: {{\"Password\":\"{}...", &secret[..14]);
        assert!(!scrub(&cut, &found).contains("word-012"));
        // Short secrets are masked whole only.
        assert_eq!(
            scrub("a word and more words", &["word".to_string()]),
            "a **** and more ****s"
        );
        assert_eq!(scrub("nothing here", &found), "nothing here");
    }

    /// Shell-quotes `s` for `sh` (single quotes).
    fn sh(s: &str) -> String {
        format!("'{}'", s.replace('\'', r"'\''"))
    }

    /// Whether `text` holds the canary, one of its escaped forms or any 12-byte run of them.
    struct Canary {
        value: String,
        /// Sorted.
        runs: Vec<u128>,
    }

    /// Each run of 12 bytes as a number.
    fn runs12(bytes: &[u8]) -> Vec<u128> {
        let mut n = 0u128;
        let mut out = Vec::with_capacity(bytes.len());
        for (at, b) in bytes.iter().enumerate() {
            n = (n << 8 | u128::from(*b)) & ((1 << 96) - 1);
            if at >= 11 {
                out.push(n);
            }
        }
        out
    }

    impl Canary {
        fn new(value: String) -> Self {
            let mut runs: Vec<u128> = quoted_forms(&value)
                .iter()
                .flat_map(|f| runs12(f.as_bytes()))
                .collect();
            runs.sort_unstable();
            Canary { value, runs }
        }

        fn leaks(&self, text: &str) -> bool {
            text.contains(self.value.as_str())
                || runs12(text.as_bytes())
                    .iter()
                    .any(|n| self.runs.binary_search(n).is_ok())
        }
    }

    /// The refusal commands built around one secret option and one canary value: the main kinds,
    /// and with `all` the variants of the same kinds (more operators glued to the value, a double
    /// quote, a quote that swallows the option...).
    fn refusals(
        base: &str,
        option: &str,
        member: &str,
        canary: &str,
        all: bool,
    ) -> Vec<(&'static str, String)> {
        let q = sh(canary);
        let doc = |extra: &str| {
            format!(
                "{{{}:{}{extra}}}",
                serde_json::to_string(member).unwrap(),
                serde_json::to_string(canary).unwrap()
            )
        };
        let mut out = vec![
            ("shell_pipe", format!("{base} --{option} {q} | cat")),
            (
                "shell_globals_first",
                format!(
                    "aws --region us-east-1 {} --{option} {q} > out",
                    base.trim_start_matches("aws ")
                ),
            ),
            ("unclosed_quote", format!("{base} --{option} '{canary}")),
            (
                "unclosed_quote_after",
                format!("{base} --{option} {q} --bogus 'x"),
            ),
            (
                "input_json_unknown_key",
                format!("{base} --cli-input-json {}", sh(&doc(r#","Bogus":1"#))),
            ),
            (
                "input_json_invalid",
                format!("{base} --cli-input-json {}", sh(&doc(","))),
            ),
            (
                "input_json_truncated",
                format!(
                    "{base} --cli-input-json {}",
                    sh(doc("").trim_end_matches('}'))
                ),
            ),
            (
                "unknown_option",
                format!("{base} --{option} {q} --bogus-option"),
            ),
            (
                "inline_unknown_option",
                format!("{base} --{option}={q} --bogus-option"),
            ),
            (
                "duplicate_option",
                format!("{base} --{option} {q} --{option} {q}"),
            ),
            (
                "missing_required_or_invalid_value",
                format!("{base} --{option} {q}"),
            ),
            (
                "dash_value",
                format!("{base} --{option} {}", sh(&format!("-{canary}"))),
            ),
            (
                "json_string_value",
                format!(
                    "{base} --{option} {}",
                    sh(&serde_json::to_string(canary).unwrap())
                ),
            ),
        ];
        if all {
            out.push(("shell_separator", format!("{base} --{option} {q}; ls")));
            out.push((
                "unclosed_double_quote",
                format!("{base} --{option} \"{canary}"),
            ));
            out.push(("extra_word", format!("{base} --{option} {q} extra-word")));
            if !canary.contains(|c: char| c.is_whitespace() || "'\"\\$`|&;<>(){}".contains(c)) {
                for glue in [
                    "|cat", ";ls", "&&ls", "||ls", ">out", "&", "$(id)", "`id`", "(x)",
                ] {
                    out.push(("shell_glued", format!("{base} --{option} {canary}{glue}")));
                }
                out.push((
                    "shell_glued_inline",
                    format!("{base} --{option}={canary}|cat"),
                ));
                out.push((
                    "unclosed_quote_before",
                    format!("{base} --bogus 'x --{option} {canary}"),
                ));
            }
        }
        out
    }

    /// Every how many secret-bearing members the long and special canaries and the kinds'
    /// variants are tried too (all of them for every member take a minute in a debug build).
    const STRIDE: usize = 8;

    /// Issue 10 §4, the property: for every secret-bearing top-level string member of every
    /// operation's input (named like a secret, or `sensitive` in the model) and every kind of
    /// refusal, the parser's refusal (message, problem list) and the echoed command, scrubbed with
    /// [`command_secrets`] as the server does, never hold the canary value (nor 12 bytes of it).
    ///
    /// Every member gets the plain canary in the main kinds; every [`STRIDE`]th also a long canary
    /// (messages cut values short), one with quotes, backslash, `$` and spaces (messages escape
    /// values), and all the variants. Last run (debug build, ~20 s with both cores busy): 427 services,
    /// 1,268 secret-bearing members, 25,547 commands, 25,316 refused (231 accepted: nothing to
    /// check), 1,439 refusal messages quoting the canary before scrubbing.
    #[test]
    fn no_refusal_quotes_a_secret_option_value() {
        let models = portcullis_model::models();
        let parser = portcullis_cli::Parser::new(&portcullis_cli::DenyAll);
        let plain = Canary::new("Canary-5e1f9a2b7c".to_string());
        let others = [
            Canary::new(format!("Canary{}", "-0123456789abcdef".repeat(8))),
            Canary::new("Can\"ary\\5e'1f $x {Pw=1}".to_string()),
        ];
        let (mut services, mut members, mut commands, mut refused, mut quoted) = (0, 0, 0, 0, 0);
        let mut seen = std::collections::HashSet::new();
        let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
        for (command, entry) in models.commands() {
            let Some(service) = entry.service.as_deref() else {
                continue;
            };
            if !seen.insert(service.to_string()) {
                continue;
            }
            let (Ok(model), Ok(cli)) = (models.service(service), models.service_cli(service))
            else {
                continue;
            };
            services += 1;
            for (cli_op, api_op) in &cli.by_cli_name {
                let Some(op) = model.operation(api_op) else {
                    continue;
                };
                let Some(input) = model.input_shape(op) else {
                    continue;
                };
                for spec in models.cli_args(&model, &cli, cli_op, op) {
                    if spec.form != portcullis_model::naming::ArgForm::Value {
                        continue;
                    }
                    let Some(shape) = input
                        .members
                        .get(&spec.member)
                        .and_then(|r| model.shape(&r.shape))
                    else {
                        continue;
                    };
                    if shape.kind != ShapeType::String
                        || !(secret_name(&spec.member) || shape.sensitive)
                    {
                        continue;
                    }
                    members += 1;
                    let all = members % STRIDE == 1;
                    let base = format!("aws {command} {cli_op}");
                    for canary in std::iter::once(&plain).chain(others.iter().filter(|_| all)) {
                        for (kind, line) in
                            refusals(&base, &spec.name, &spec.member, &canary.value, all)
                        {
                            commands += 1;
                            let Err(err) = parser.parse(&line) else {
                                continue;
                            };
                            refused += 1;
                            *by_kind.entry(kind).or_default() += 1;
                            let message = err.to_string();
                            let problems = serde_json::to_string(&err.problems).unwrap();
                            if canary.leaks(&message) {
                                quoted += 1;
                            }
                            let found = command_secrets(&line);
                            let problems = scrub(&problems, &found);
                            assert!(
                                serde_json::from_str::<Value>(&problems).is_ok(),
                                "{kind}: `{line}`: scrubbed problems are not JSON: {problems}"
                            );
                            for (what, text) in [
                                ("message", scrub(&message, &found)),
                                ("problems", problems),
                                ("command", scrub(&line, &found)),
                            ] {
                                assert!(
                                    !canary.leaks(&text),
                                    "{kind}: `{line}`: the {what} leaks the value of --{}: {text}\nfound: {found:?}",
                                    spec.name
                                );
                            }
                        }
                    }
                }
            }
        }
        println!(
            "{services} services, {members} secret-bearing members, {commands} commands, {refused} refused ({} accepted), \
             {quoted} refusals quoting the canary before scrubbing; by kind: {by_kind:?}",
            commands - refused
        );
        assert!(
            members > 500 && refused > commands * 9 / 10,
            "the walk covered the models"
        );
    }
}
