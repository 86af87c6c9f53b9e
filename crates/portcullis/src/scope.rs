//! Scoped credentials: the IAM session policy generated from the Portcullis policy, so that IAM
//! enforces what the policy says even where Portcullis is not in the path (a defect of ours, a
//! second tool holding the same credentials).
//!
//! What each part of the policy becomes:
//! * **read-only mode**: an `Allow` of the List and Read actions of the embedded IAM catalogue,
//!   minus those whose response always carries a secret or credentials
//!   (`secretsmanager:GetSecretValue`, `sts:GetSessionToken`...) unless an allow rule names them;
//!   plus the actions allow rules name (a rule may allow a write in read-only mode). Reads that
//!   return a secret only under a parameter (`ssm:GetParameter` with `WithDecryption`) stay: the
//!   secret part needs `kms:Decrypt`, which is not a read. **guarded / unrestricted**: `Allow *`
//!   (IAM cannot ask a person; consent stays Portcullis's).
//! * **each deny rule**: a `Deny` of its IAM action patterns and of the actions its command
//!   patterns reach ([`portcullis_policy::Rule::reach`]). A command whose operation needs several
//!   actions (`s3api copy-object`) stands for none of them; Portcullis denies it by name, IAM
//!   cannot without denying every read or write it makes: such commands are listed in
//!   [`SessionPolicy::notes`].
//! * **the region allow-list**: a `Deny` with `StringNotLike` on `aws:RequestedRegion`, except the
//!   global services whose requests carry `us-east-1` (IAM, CloudFront, Route 53, Organizations,
//!   Support: AWS's own example of this policy exempts them the same way).
//! * **the service allow-list**: a `Deny` with `NotAction` of the services' IAM prefixes.
//! * consent rules, Cedar policies and the account allow-list have no IAM form here: noted.
//!
//! **Size.** AWS accepts 2,048 characters of plaintext for the inline session policy and the
//! managed policy ARNs together (and a packed limit it reports as `PackedPolicySize`). Actions are
//! folded into wildcards per service (`s3:*`, `ec2:Describe*`) only where the catalogue proves the
//! wildcard adds nothing: every action it matches is in the set; each folded statement is then
//! checked with the IAM evaluator against every catalogue action of its services (same decision
//! as the unfolded list, or the service keeps its literal list). When the read-only `Allow` still
//! does not fit (no service allow-list: ~400 services), it falls back to AWS's managed
//! `ReadOnlyAccess` policy as a managed session policy, with the secret and credential reads
//! denied inline. When even that does not fit, generation fails and says which statements are
//! largest, so the operator knows what to shorten.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_iam::AccessLevel;
use portcullis_iam_eval::{Absent, Context, Decision, Policy as IamPolicy, PolicySet, Principal};
use portcullis_policy::{Effect, Mode, Policy};
use serde_json::{Value, json};

/// AWS's limit on the plaintext of the inline session policy and the managed policy ARNs.
pub const PLAINTEXT_LIMIT: usize = 2048;

/// AWS's managed read-only policy, the fallback for a read-only `Allow` too large to inline.
pub const READ_ONLY_ACCESS: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// Global services whose requests carry `aws:RequestedRegion` = `us-east-1` whatever the client's
/// region: a region condition would cut them off.
pub const GLOBAL_SERVICES: &[&str] = &[
    "iam:*",
    "cloudfront:*",
    "route53:*",
    "organizations:*",
    "support:*",
    "globalaccelerator:*",
    "waf:*",
];

/// The session policy for `AssumeRole`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPolicy {
    /// The inline session policy (`Policy` parameter).
    pub document: Value,
    /// Managed session policies (`PolicyArns`).
    pub managed: Vec<String>,
    /// Plaintext characters AWS counts: the minified document plus the ARNs.
    pub plaintext_chars: usize,
    /// What the policy says that IAM cannot (consent rules, Cedar, multi-action commands...).
    pub notes: Vec<String>,
}

impl SessionPolicy {
    /// The inline document, minified, as sent.
    pub fn inline(&self) -> String {
        self.document.to_string()
    }
}

/// The generated policy does not fit AWS's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the session policy generated from the Portcullis policy is {chars} characters, over AWS's limit of {limit} (inline policy and managed policy ARNs together); its largest statements: {largest}. Shorten them: fewer deny rules or rules with broader action patterns (`s3:Delete*` for several), fewer regions, or a `services` allow-list"
)]
pub struct TooLarge {
    pub chars: usize,
    pub limit: usize,
    pub largest: String,
}

/// The session policy that makes IAM enforce `policy` (see the module docs).
pub fn session_policy(policy: &Policy) -> Result<SessionPolicy, TooLarge> {
    let mut notes = Vec::new();
    let prefixes = allowed_prefixes(policy);
    let extras = allowed_by_rules(policy);
    let denies = deny_statements(policy, &mut notes);
    let mut tail = denies.clone();
    if let Some(regions) = policy.region_allow_list() {
        tail.push(json!({
            "Sid": "PortcullisRegions",
            "Effect": "Deny",
            "NotAction": GLOBAL_SERVICES,
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:RequestedRegion": regions}},
        }));
    }
    if let Some(prefixes) = &prefixes {
        let mut actions: Vec<String> = prefixes.iter().map(|p| format!("{p}:*")).collect();
        if actions.is_empty() {
            // An allow-list that names no service with IAM actions: nothing is allowed.
            actions.push("sts:GetCallerIdentity".into());
        }
        tail.push(json!({
            "Sid": "PortcullisServices",
            "Effect": "Deny",
            "NotAction": actions,
            "Resource": "*",
        }));
    }
    for r in policy.rules() {
        match r.effect {
            Effect::Consent => notes.push(format!(
                "consent rule `{}`: IAM cannot ask a person; the session allows what it covers and Portcullis asks",
                r.id
            )),
            Effect::Allow | Effect::Deny => {}
        }
    }
    if let Some(c) = policy.cedar() {
        notes.push(format!(
            "Cedar policies ({}): not translated; Portcullis enforces them",
            c.source_name()
        ));
    }
    if policy.restricts_accounts() {
        notes.push("the account allow-list: not translated (the credentials already name one account); Portcullis enforces it".into());
    }

    let doc = |mut statements: Vec<Value>| {
        statements.extend(tail.iter().cloned());
        json!({"Version": "2012-10-17", "Statement": statements})
    };
    let inline = match policy.mode() {
        Mode::ReadOnly => {
            let (reads, excluded) = read_actions(prefixes.as_ref(), &extras);
            let mut allow = fold(&reads);
            allow.extend(extras.iter().cloned());
            let full = doc(vec![allow_statement("PortcullisReadOnly", allow)]);
            let size = full.to_string().len();
            if size <= PLAINTEXT_LIMIT {
                return Ok(SessionPolicy {
                    plaintext_chars: size,
                    document: full,
                    managed: Vec::new(),
                    notes,
                });
            }
            // Too large inline: AWS's managed read-only policy, the secret reads denied here.
            notes.push(format!(
                "the catalogue's read actions fold to {size} characters, over the {PLAINTEXT_LIMIT} limit: AWS's managed `ReadOnlyAccess` allows the reads instead (its actions are AWS's choice), with the reads that return secrets or credentials denied inline"
            ));
            let mut statements = Vec::new();
            if !extras.is_empty() {
                statements.push(allow_statement("PortcullisRules", extras.clone()));
            }
            if !excluded.is_empty() {
                statements.push(json!({
                    "Sid": "PortcullisSecrets",
                    "Effect": "Deny",
                    "Action": fold(&excluded),
                    "Resource": "*",
                }));
            }
            let d = doc(statements);
            let chars = d.to_string().len() + READ_ONLY_ACCESS.len();
            (d, vec![READ_ONLY_ACCESS.to_string()], chars)
        }
        Mode::Guarded | Mode::Unrestricted => {
            let d = doc(vec![allow_statement("PortcullisMode", vec!["*".into()])]);
            let chars = d.to_string().len();
            (d, Vec::new(), chars)
        }
    };
    let (document, managed, chars) = inline;
    if chars > PLAINTEXT_LIMIT {
        return Err(TooLarge {
            chars,
            limit: PLAINTEXT_LIMIT,
            largest: largest(&document),
        });
    }
    Ok(SessionPolicy {
        document,
        managed,
        plaintext_chars: chars,
        notes,
    })
}

fn allow_statement(sid: &str, actions: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"})
}

/// The three largest statements, by Sid and size.
fn largest(doc: &Value) -> String {
    let mut sizes: Vec<(usize, String)> = doc["Statement"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s.to_string().len(),
                        s["Sid"].as_str().unwrap_or("?").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    sizes.sort_by(|a, b| b.cmp(a));
    sizes
        .iter()
        .take(3)
        .map(|(n, sid)| format!("{sid} ({n} characters)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The IAM prefixes of the services the allow-list admits, or `None` without one.
fn allowed_prefixes(policy: &Policy) -> Option<BTreeSet<String>> {
    if !policy.restricts_services() {
        return None;
    }
    let mut out = BTreeSet::new();
    for (command, cli) in portcullis_model::models().commands() {
        let Some(service) = cli.service.as_deref() else {
            continue;
        };
        if policy.allows_service(command, service)
            && let Some(prefix) = portcullis_classify::iam_prefix(service)
        {
            out.insert(prefix.to_string());
        }
    }
    Some(out)
}

/// The IAM action patterns allow rules name (their action patterns, and the actions their
/// command patterns reach), as written.
fn allowed_by_rules(policy: &Policy) -> Vec<String> {
    let mut out = BTreeSet::new();
    for r in policy.rules().iter().filter(|r| r.effect == Effect::Allow) {
        out.extend(r.actions.iter().map(|a| a.as_str().to_string()));
        out.extend(r.reach().iter().filter_map(|x| x.action.clone()));
    }
    out.into_iter().collect()
}

/// One `Deny` statement per deny rule.
fn deny_statements(policy: &Policy, notes: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, r) in policy
        .rules()
        .iter()
        .filter(|r| r.effect == Effect::Deny)
        .enumerate()
    {
        let mut actions = BTreeSet::new();
        actions.extend(r.actions.iter().map(|a| a.as_str().to_string()));
        for x in r.reach() {
            match &x.action {
                Some(a) => {
                    actions.insert(a.clone());
                }
                None => notes.push(format!(
                    "deny rule `{}`: `{}` needs several IAM actions (or none known); Portcullis denies it by name, IAM cannot without denying each of them",
                    r.id, x.command
                )),
            }
        }
        if actions.is_empty() {
            continue;
        }
        let sid: String = r.id.chars().filter(char::is_ascii_alphanumeric).collect();
        let actions: Vec<String> = fold_patterns(actions);
        out.push(json!({
            "Sid": format!("PortcullisDeny{}{sid}", i + 1),
            "Effect": "Deny",
            "Action": actions,
            "Resource": "*",
        }));
    }
    out
}

/// Literal actions folded where the catalogue proves it; patterns kept as written.
fn fold_patterns(actions: BTreeSet<String>) -> Vec<String> {
    let (literal, patterns): (Vec<String>, Vec<String>) = actions
        .into_iter()
        .partition(|a| !a.contains('*') && !a.contains('?'));
    let mut out = fold(&literal.into_iter().collect());
    out.extend(patterns);
    out
}

/// The List and Read actions of the catalogue (of `prefixes` when given) minus those that always
/// return secrets or credentials, unless an allow rule names them; and the ones left out.
fn read_actions(
    prefixes: Option<&BTreeSet<String>>,
    extras: &[String],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let secret = secret_action_set();
    let named = |a: &str| {
        extras
            .iter()
            .any(|p| portcullis_policy::ActionPattern::parse(p).is_ok_and(|pat| pat.matches(a)))
    };
    let (mut reads, mut excluded) = (BTreeSet::new(), BTreeSet::new());
    for service in portcullis_iam::catalogue().services() {
        let Some(first) = service.actions().first() else {
            continue;
        };
        if prefixes.is_some_and(|p| !p.contains(&first.prefix)) {
            continue;
        }
        for a in service.actions() {
            if !matches!(a.access_level, AccessLevel::List | AccessLevel::Read) {
                continue;
            }
            let q = a.qualified_name();
            if secret.contains(&q.to_ascii_lowercase()) && !named(&q) {
                excluded.insert(q);
            } else {
                reads.insert(q);
            }
        }
    }
    (reads, excluded)
}

/// IAM actions (lowercase) of the operations whose response always carries a secret or
/// credentials.
pub fn secret_action_set() -> BTreeSet<String> {
    use portcullis_classify::flags::{RETURNS_CREDENTIALS, RETURNS_SECRET, When};
    let ops = RETURNS_CREDENTIALS.iter().copied().chain(
        RETURNS_SECRET
            .iter()
            .filter(|(_, _, w)| *w == When::Always)
            .map(|(s, o, _)| (*s, *o)),
    );
    ops.filter_map(|(s, o)| portcullis_classify::own_action(s, o))
        .chain(
            // Actions with no API operation of their own that hand out a token.
            ["sts:GetServiceBearerToken".to_string()],
        )
        .map(|a| a.to_ascii_lowercase())
        .collect()
}

/// Folds literal actions (`prefix:Name`) into the fewest wildcards the catalogue proves add
/// nothing, then checks the result with the evaluator; a service whose folded form decides
/// differently from its literal list keeps the list.
pub fn fold(actions: &BTreeSet<String>) -> Vec<String> {
    let catalogue = portcullis_iam::catalogue();
    let mut by_prefix: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in actions {
        if let Some((p, n)) = a.split_once(':') {
            by_prefix
                .entry(p.to_ascii_lowercase())
                .or_default()
                .insert(n.to_string());
        }
    }
    let mut out = Vec::new();
    for (prefix, names) in by_prefix {
        let Some(service) = catalogue.service(&prefix) else {
            out.extend(names.iter().map(|n| format!("{prefix}:{n}")));
            continue;
        };
        let all: Vec<&str> = service.actions().iter().map(|a| a.name.as_str()).collect();
        let lower: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let folded = fold_service(&all, &names, &lower);
        let literal: Vec<String> = names.iter().map(|n| format!("{prefix}:{n}")).collect();
        let folded: Vec<String> = folded.iter().map(|n| format!("{prefix}:{n}")).collect();
        if folded.len() < literal.len() && proves_same(&prefix, &all, &lower, &folded) {
            out.extend(folded);
        } else {
            out.extend(literal);
        }
    }
    out
}

/// `*` when every action is named; else, word by word of the CamelCase names (`Get`, then
/// `GetBucket`, ...), the shortest prefixes whose every action is named (`GetBucket*`), and the
/// rest literally.
fn fold_service(all: &[&str], names: &BTreeSet<String>, lower: &BTreeSet<String>) -> Vec<String> {
    if all.iter().all(|a| lower.contains(&a.to_ascii_lowercase())) {
        return vec!["*".into()];
    }
    let mut out = Vec::new();
    let mut pending: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut words = 1;
    while !pending.is_empty() {
        let mut next = Vec::new();
        let prefixes: BTreeSet<&str> = pending.iter().map(|n| word_prefix(n, words)).collect();
        for prefix in prefixes {
            let members: Vec<&str> = pending
                .iter()
                .copied()
                .filter(|n| word_prefix(n, words) == prefix)
                .collect();
            let p = prefix.to_ascii_lowercase();
            let matched = all
                .iter()
                .filter(|a| a.to_ascii_lowercase().starts_with(&p))
                .count();
            let whole = members.len() == 1 && members[0] == prefix;
            if whole {
                out.push(prefix.to_string());
            } else if matched > 1
                && all
                    .iter()
                    .filter(|a| a.to_ascii_lowercase().starts_with(&p))
                    .all(|a| lower.contains(&a.to_ascii_lowercase()))
            {
                out.push(format!("{prefix}*"));
            } else {
                next.extend(members);
            }
        }
        pending = next;
        words += 1;
    }
    out.sort();
    out
}

/// The first `words` CamelCase words of `name` (`GetBucket` of `GetBucketAcl` for 2), or the
/// whole name when it has fewer.
fn word_prefix(name: &str, words: usize) -> &str {
    let mut seen = 0;
    for (i, c) in name.char_indices().skip(1) {
        if c.is_ascii_uppercase() {
            seen += 1;
            if seen == words {
                return &name[..i];
            }
        }
    }
    name
}

/// Whether an `Allow` of `folded` allows exactly the actions in `lower` among the service's.
fn proves_same(prefix: &str, all: &[&str], lower: &BTreeSet<String>, folded: &[String]) -> bool {
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": folded, "Resource": "*"}]});
    let Ok(p) = IamPolicy::parse("folded", &doc.to_string()) else {
        return false;
    };
    let set = PolicySet::identity(vec![p]);
    let Ok(principal) = Principal::from_arn("arn:aws:sts::000000000000:assumed-role/portcullis/s")
    else {
        return false;
    };
    let ctx = Context::with_absent(Absent::Missing);
    all.iter().all(|a| {
        let action = format!("{prefix}:{a}");
        let allowed = set
            .evaluate(&portcullis_iam_eval::Request::new(
                &principal, &action, "*", &ctx,
            ))
            .decision
            == Decision::Allow;
        allowed == lower.contains(&a.to_ascii_lowercase())
    })
}

/// The generated session policy as the evaluator reads it, for the blast-radius report of scoped
/// sessions. Only an inline policy can be: the managed fallback (`ReadOnlyAccess`) is AWS's and
/// not evaluated offline, so that case is an error saying how to make it inline.
pub fn session_policy_for_report(policy: &Policy) -> anyhow::Result<IamPolicy> {
    let s = session_policy(policy)?;
    anyhow::ensure!(
        s.managed.is_empty(),
        "the session policy generated from this policy relies on {} (the inline form is too large), which cannot be evaluated offline; a `services` allow-list makes it fit inline",
        s.managed.join(", ")
    );
    IamPolicy::parse("portcullis-session-policy", &s.inline())
        .map_err(|e| anyhow::anyhow!("the generated session policy does not read back: {e}"))
}

/// The role Portcullis assumes at start (`PORTCULLIS_ASSUME_ROLE_ARN`), and how it names its
/// sessions: `RoleSessionName` and `SourceIdentity` name the principal, the session tags the
/// server and the principal, so CloudTrail rows join the audit records (whose `principal` is the
/// session's ARN, session name included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleSettings {
    pub role_arn: String,
    pub duration_secs: u64,
    pub session_name: String,
    pub source_identity: String,
    pub tags: Vec<(String, String)>,
}

/// Whether `text` is an IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn is_role_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty())
}

impl AssumeRoleSettings {
    /// From the settings; `None` without a role. Bad values are errors naming the variable.
    pub fn resolve(
        role_arn: Option<&str>,
        duration_secs: Option<u64>,
        source_identity: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<AssumeRoleSettings>> {
        let Some(role_arn) = role_arn else {
            return Ok(None);
        };
        anyhow::ensure!(
            is_role_arn(role_arn),
            "PORTCULLIS_ASSUME_ROLE_ARN `{role_arn}` is not a role ARN (arn:aws:iam::123456789012:role/NAME)"
        );
        let duration_secs = duration_secs.unwrap_or(3600);
        anyhow::ensure!(
            (900..=43_200).contains(&duration_secs),
            "PORTCULLIS_ASSUME_ROLE_DURATION {duration_secs}: AWS accepts 900 to 43200 seconds (and the role's own maximum)"
        );
        let user = env("USER")
            .or_else(|| env("USERNAME"))
            .map(|u| sanitize(&u))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "owner".into());
        let source_identity = match source_identity {
            Some(id) => {
                anyhow::ensure!(
                    (2..=64).contains(&id.len()) && sanitize(id) == id,
                    "PORTCULLIS_SOURCE_IDENTITY `{id}`: 2 to 64 letters, digits or `_+=,.@-`"
                );
                id.to_string()
            }
            None => truncate(&format!("portcullis-{user}"), 64),
        };
        let host = env("HOSTNAME")
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .map(|h| sanitize(&h))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Ok(Some(AssumeRoleSettings {
            role_arn: role_arn.to_string(),
            duration_secs,
            session_name: truncate(&format!("portcullis-{user}"), 64),
            source_identity,
            tags: vec![
                ("portcullis:server".into(), truncate(&host, 256)),
                ("portcullis:principal".into(), truncate(&user, 256)),
            ],
        }))
    }
}

/// Only the characters STS accepts in session names and source identities (`[\w+=,.@-]`).
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .collect()
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The engine signing with sessions of the configured role, assumed with `base`'s credentials
/// and the session policy generated from `policy`. A policy too large for AWS, or a refused
/// `AssumeRole`, stops start-up with the reason.
pub async fn assume(
    base: portcullis_wire::execute::Engine,
    settings: &AssumeRoleSettings,
    policy: &Policy,
) -> anyhow::Result<(
    portcullis_wire::execute::Engine,
    portcullis_wire::assume::AssumedSession,
    SessionPolicy,
)> {
    let session_policy = session_policy(policy).map_err(|e| {
        anyhow::anyhow!("cannot scope the credentials of {}: {e}", settings.role_arn)
    })?;
    let spec = portcullis_wire::assume::AssumeRoleSpec {
        role_arn: settings.role_arn.clone(),
        session_name: settings.session_name.clone(),
        policy: Some(session_policy.inline()),
        policy_arns: session_policy.managed.clone(),
        source_identity: Some(settings.source_identity.clone()),
        tags: settings.tags.clone(),
        duration: std::time::Duration::from_secs(settings.duration_secs),
        refresh_margin: portcullis_wire::credentials::ChainSettings::default().refresh_margin,
    };
    let (engine, session) = base.assume_role(spec).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot assume {} for scoped credentials (PORTCULLIS_ASSUME_ROLE_ARN): {e}; the server does not start with broader credentials than asked",
            settings.role_arn
        )
    })?;
    Ok((engine, session, session_policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::from_json(json).unwrap()
    }

    fn statements(p: &SessionPolicy) -> Vec<Value> {
        p.document["Statement"].as_array().unwrap().clone()
    }

    fn evaluate(p: &SessionPolicy, action: &str, region: &str) -> Decision {
        let doc = IamPolicy::parse("s", &p.inline()).unwrap();
        let set = PolicySet::identity(vec![doc]);
        let who = Principal::from_arn("arn:aws:sts::123456789012:assumed-role/r/s").unwrap();
        let mut ctx = Context::with_absent(Absent::Missing);
        ctx.set("aws:RequestedRegion", region);
        set.evaluate(&portcullis_iam_eval::Request::new(&who, action, "*", &ctx))
            .decision
    }

    #[test]
    fn word_prefixes_split_camel_case() {
        assert_eq!(word_prefix("GetObject", 1), "Get");
        assert_eq!(word_prefix("GetBucketAcl", 2), "GetBucket");
        assert_eq!(word_prefix("BatchGetItem", 1), "Batch");
        assert_eq!(word_prefix("List", 1), "List");
        assert_eq!(word_prefix("GetObject", 5), "GetObject");
    }

    #[test]
    fn folding_never_widens() {
        // Every s3 Get action but one: `Get*` would add it, so it is not used for s3.
        let cat = portcullis_iam::catalogue().service("s3").unwrap();
        let gets: BTreeSet<String> = cat
            .actions()
            .iter()
            .filter(|a| a.name.starts_with("Get"))
            .map(|a| a.qualified_name())
            .collect();
        let all_gets = fold(&gets);
        assert!(all_gets.contains(&"s3:Get*".to_string()), "{all_gets:?}");
        let mut fewer = gets.clone();
        fewer.remove("s3:GetObject");
        let folded = fold(&fewer);
        assert!(!folded.iter().any(|a| a == "s3:Get*"), "{folded:?}");
        assert!(folded.len() < fewer.len(), "{folded:?}");
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": folded, "Resource": "*"}]});
        let p = SessionPolicy {
            document: doc,
            managed: Vec::new(),
            plaintext_chars: 0,
            notes: Vec::new(),
        };
        assert_eq!(
            evaluate(&p, "s3:GetObject", "us-east-1"),
            Decision::ImplicitDeny
        );
        for a in &fewer {
            assert_eq!(evaluate(&p, a, "us-east-1"), Decision::Allow, "{a}");
        }
        // All of a service's actions fold to `prefix:*`.
        let every: BTreeSet<String> = portcullis_iam::catalogue()
            .service("sts")
            .unwrap()
            .actions()
            .iter()
            .map(|a| a.qualified_name())
            .collect();
        assert_eq!(fold(&every), vec!["sts:*".to_string()]);
    }

    #[test]
    fn read_only_with_services_fits_and_allows_only_reads() {
        let p = policy(r#"{"mode": "read-only", "services": ["s3", "s3api", "sqs"]}"#);
        let s = session_policy(&p).unwrap();
        assert!(s.managed.is_empty());
        assert!(
            s.plaintext_chars <= PLAINTEXT_LIMIT,
            "{}",
            s.plaintext_chars
        );
        assert_eq!(s.plaintext_chars, s.inline().len());
        assert_eq!(
            evaluate(&s, "s3:ListAllMyBuckets", "eu-west-1"),
            Decision::Allow
        );
        assert_eq!(evaluate(&s, "s3:GetObject", "eu-west-1"), Decision::Allow);
        assert_eq!(
            evaluate(&s, "sqs:SendMessage", "eu-west-1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&s, "s3:PutObject", "eu-west-1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&s, "sqs:DeleteQueue", "eu-west-1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&s, "ec2:DescribeInstances", "eu-west-1"),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn read_only_without_services_falls_back_to_the_managed_policy() {
        let p = policy(r#"{"mode": "read-only"}"#);
        let s = session_policy(&p).unwrap();
        assert_eq!(s.managed, vec![READ_ONLY_ACCESS.to_string()]);
        assert!(
            s.plaintext_chars <= PLAINTEXT_LIMIT,
            "{}",
            s.plaintext_chars
        );
        assert_eq!(
            evaluate(&s, "secretsmanager:GetSecretValue", "us-east-1"),
            Decision::ExplicitDeny
        );
        assert!(s.notes.iter().any(|n| n.contains("ReadOnlyAccess")));
    }

    #[test]
    fn secret_reads_are_left_out_unless_a_rule_allows_them() {
        let p = policy(r#"{"mode": "read-only", "services": ["secretsmanager"]}"#);
        let s = session_policy(&p).unwrap();
        assert_eq!(
            evaluate(&s, "secretsmanager:GetSecretValue", "us-east-1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&s, "secretsmanager:ListSecrets", "us-east-1"),
            Decision::Allow
        );
        let p = policy(
            r#"{"mode": "read-only", "services": ["secretsmanager"],
                "rules": [{"id": "app-secret", "effect": "allow",
                           "commands": ["aws secretsmanager get-secret-value"]}]}"#,
        );
        let s = session_policy(&p).unwrap();
        assert_eq!(
            evaluate(&s, "secretsmanager:GetSecretValue", "us-east-1"),
            Decision::Allow
        );
    }

    #[test]
    fn deny_rules_regions_and_services_become_denies() {
        let p = policy(
            r#"{"mode": "unrestricted", "services": ["s3", "s3api", "iam"],
                "regions": ["eu-*"],
                "rules": [
                  {"id": "no-delete", "effect": "deny", "commands": ["aws s3api delete-object", "aws s3api copy-object"]},
                  {"id": "no-iam-writes", "effect": "deny", "actions": ["iam:Create*"]},
                  {"id": "ask", "effect": "consent", "actions": ["s3:PutObject"]}]}"#,
        );
        let s = session_policy(&p).unwrap();
        let sids: Vec<String> = statements(&s)
            .iter()
            .map(|x| x["Sid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            sids,
            [
                "PortcullisMode",
                "PortcullisDeny1nodelete",
                "PortcullisDeny2noiamwrites",
                "PortcullisRegions",
                "PortcullisServices"
            ]
        );
        assert_eq!(evaluate(&s, "s3:PutObject", "eu-west-1"), Decision::Allow);
        assert_eq!(
            evaluate(&s, "s3:DeleteObject", "eu-west-1"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&s, "iam:CreateUser", "us-east-1"),
            Decision::ExplicitDeny
        );
        // Global IAM is exempt from the region condition; S3 outside eu-* is not.
        assert_eq!(evaluate(&s, "iam:ListUsers", "us-east-1"), Decision::Allow);
        assert_eq!(
            evaluate(&s, "s3:PutObject", "us-east-1"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&s, "ec2:RunInstances", "eu-west-1"),
            Decision::ExplicitDeny
        );
        assert!(
            s.notes.iter().any(|n| n.contains("copy-object")),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes.iter().any(|n| n.contains("consent rule `ask`")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn too_many_rules_are_refused_with_what_to_shorten() {
        // A deny rule for each of 200 real EC2 actions, none a wildcard could stand for.
        let rules: Vec<String> = portcullis_iam::catalogue()
            .service("ec2")
            .unwrap()
            .actions()
            .iter()
            .step_by(3)
            .take(200)
            .enumerate()
            .map(|(i, a)| {
                format!(
                    r#"{{"id": "r{i}", "effect": "deny", "actions": ["{}"]}}"#,
                    a.qualified_name()
                )
            })
            .collect();
        let p = policy(&format!(
            r#"{{"mode": "guarded", "rules": [{}]}}"#,
            rules.join(",")
        ));
        let e = session_policy(&p).unwrap_err();
        assert!(e.chars > PLAINTEXT_LIMIT);
        let msg = e.to_string();
        assert!(msg.contains("PortcullisDeny"), "{msg}");
        assert!(msg.contains("Shorten"), "{msg}");
    }
}
