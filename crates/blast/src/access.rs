//! The access map: which catalogue actions one principal's policies allow, and on how much.
//!
//! # How "All", "Some", "Conditional" are decided
//!
//! Each candidate action is evaluated with the real evaluator (so `Deny`, `NotAction`,
//! `NotResource`, the permissions boundary and conditions follow AWS's logic), in a context where
//! every condition key is unknown ([`Absent::Unknown`]):
//!
//! * **All**: the action is allowed, unconditionally, on a *synthetic resource* for every
//!   resource type it requires (every listed type when none is marked required; the resource `*`
//!   when it has none). The synthetic ARN is the type's ARN format with `${Partition}` and
//!   `${Account}` set to the principal's, and every other placeholder (region, names, IDs) set to
//!   a sentinel, `~any~`, that no real name equals. Only patterns that are wildcards at every
//!   placeholder match it: `*`, `arn:aws:s3:::*`, `arn:aws:ec2:*:*:instance/*`; not
//!   `arn:aws:s3:::reports/*` nor a pattern pinned to one region. So "All" means "every resource
//!   of the type in the account, in every region", and a grant through `NotResource` (everything
//!   except some) counts as All.
//! * **Some**: not All, but allowed unconditionally on a *witness*: one of the `Resource`
//!   patterns of an `Allow` statement that names the action, taken literally as a resource (a
//!   pattern matches itself, and a `Deny` whose pattern covers it removes it). A witness counts
//!   only if it can name a resource of one of the action's types (the two globs intersect), so
//!   `s3:*` on `arn:aws:s3:::b/*` gives `s3:GetObject` (objects) but not `s3:ListBucket` (buckets).
//! * **Conditional**: allowed nowhere unconditionally, but some of those evaluations depend on
//!   condition keys; the keys are named.
//! * **None**: otherwise.
//!
//! # Prefiltering
//!
//! Only actions that some identity `Allow` statement's `Action` matches (or its `NotAction` does
//! not exclude) can be allowed, so only those are evaluated: a policy of `s3:Get*` costs the ~30
//! matching S3 actions, not the ~17,000 of the catalogue. `Deny` statements and boundaries only
//! remove, so they need no prefilter. The actions that need no permission
//! (`sts:GetCallerIdentity`, `sts:GetSessionToken`) are left out: they say nothing about the
//! policies. Resource-based policies, SCPs and session policies are not
//! in an authorization details export and are not considered.

use std::sync::OnceLock;

use portcullis_iam::{AccessLevel, ActionInfo, catalogue};
use portcullis_iam_eval::{
    Absent, Context, Decision, Evaluation, NO_PERMISSION_ACTIONS, PolicyKind, PolicySet, Principal,
    Request,
};
use serde::Serialize;

use crate::export::AllowStmt;

/// The sentinel that stands for "any value" in synthetic resource ARNs.
pub(crate) const ANY: &str = "~any~";

/// How much of an action (or of a cell of the map) is allowed. Ordered: `None < Conditional <
/// Some < All`; a cell is the most of its actions.
///
/// Every candidate action is evaluated with every condition key unknown:
///
/// * `All`: allowed unconditionally on a synthetic ARN of every resource type the action
///   requires (every listed type if none is marked required; `*` if it has none), built from the
///   catalogue's ARN format with the principal's partition and account and the sentinel `~any~`
///   in every other field. Only wildcards match the sentinel, so `*`, `arn:aws:s3:::*` or
///   `arn:aws:ec2:*:*:instance/*` give All, while `arn:aws:s3:::reports/*` or a pattern pinned
///   to one region does not. A `NotResource` grant (everything except some) counts as All.
/// * `Some`: not All, but allowed unconditionally on one of the `Resource` patterns of an
///   `Allow` statement naming the action (taken literally, so a `Deny` covering it removes it),
///   provided the pattern can name a resource of one of the action's types.
/// * `Conditional`: allowed nowhere unconditionally, but allowed if the named keys allow.
/// * `None`: otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", rename_all = "lowercase")]
pub enum Access {
    /// Not allowed.
    None,
    /// Allowed only when these condition keys have suitable values.
    Conditional {
        /// The keys, first seen first.
        keys: Vec<String>,
    },
    /// Allowed on some resources only.
    Some,
    /// Allowed on every resource.
    All,
}

impl Access {
    fn rank(&self) -> u8 {
        match self {
            Access::None => 0,
            Access::Conditional { .. } => 1,
            Access::Some => 2,
            Access::All => 3,
        }
    }

    /// The larger of two (the union of keys when both are conditional).
    pub fn max(self, other: Access) -> Access {
        match (self, other) {
            (Access::Conditional { mut keys }, Access::Conditional { keys: k2 }) => {
                merge_keys(&mut keys, k2);
                Access::Conditional { keys }
            }
            (a, b) => {
                if b.rank() > a.rank() {
                    b
                } else {
                    a
                }
            }
        }
    }

    /// The smaller of two (the union of keys when both are conditional).
    pub fn min(self, other: Access) -> Access {
        match (self, other) {
            (Access::Conditional { mut keys }, Access::Conditional { keys: k2 }) => {
                merge_keys(&mut keys, k2);
                Access::Conditional { keys }
            }
            (a, b) => {
                if b.rank() < a.rank() {
                    b
                } else {
                    a
                }
            }
        }
    }

    /// True unless [`Access::None`].
    pub fn is_allowed(&self) -> bool {
        *self != Access::None
    }

    /// `all`, `some`, `conditional`, `none`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Conditional { .. } => "conditional",
            Access::Some => "some",
            Access::All => "all",
        }
    }
}

pub(crate) fn merge_keys(into: &mut Vec<String>, more: Vec<String>) {
    for k in more {
        if !into.contains(&k) {
            into.push(k);
        }
    }
}

/// A statement that grants (or, for conditional access, may grant) an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The policy's name (group policies as `GROUP/POLICY`).
    pub policy: String,
    /// `identity` or `boundary`.
    pub kind: &'static str,
    /// The statement's position in the policy, from 0.
    pub index: usize,
    /// Its `Sid`, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} #{}", self.policy, self.index)?;
        if let Some(s) = &self.sid {
            write!(f, " ({s})")?;
        }
        Ok(())
    }
}

/// What one action is allowed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionAccess {
    /// `service:Action`, as the catalogue spells it.
    pub action: String,
    /// Its access level.
    pub level: AccessLevel,
    /// How much.
    pub access: Access,
    /// With [`Access::Some`]: the resource patterns it is allowed on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The identity-policy statements that grant it (for conditional access: that may).
    pub statements: Vec<Grant>,
}

/// One catalogue action with what the map needs of it, computed once per process.
struct Indexed {
    info: &'static ActionInfo,
    qualified: String,
    lower: String,
    /// ARN formats of the resource types that must all be allowed (empty: the resource `*`).
    formats: Vec<&'static str>,
}

struct ServiceIndex {
    prefix: &'static str,
    actions: Vec<Indexed>,
}

fn index() -> &'static [ServiceIndex] {
    static INDEX: OnceLock<Vec<ServiceIndex>> = OnceLock::new();
    INDEX.get_or_init(|| {
        catalogue()
            .services()
            .map(|s| ServiceIndex {
                prefix: s.prefix.as_str(),
                actions: s
                    .actions()
                    .iter()
                    .map(|a| {
                        let required: Vec<&str> = a
                            .resource_types
                            .iter()
                            .filter(|r| r.required)
                            .map(|r| r.arn.as_str())
                            .collect();
                        let formats = if required.is_empty() {
                            a.resource_types.iter().map(|r| r.arn.as_str()).collect()
                        } else {
                            required
                        };
                        let qualified = format!("{}:{}", a.prefix, a.name);
                        Indexed {
                            info: a,
                            lower: qualified.to_ascii_lowercase(),
                            qualified,
                            formats,
                        }
                    })
                    .collect(),
            })
            .collect()
    })
}

/// IAM-style wildcard match (`*` any run, `?` one character) of a lowercased pattern.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(u8),
    One,
    /// Any run of characters.
    Any,
    /// Any run without `/` or `:` (a partition, region, account or S3 bucket name).
    Seg,
}

fn pattern_toks(p: &str) -> Vec<Tok> {
    p.bytes()
        .map(|b| match b {
            b'*' => Tok::Any,
            b'?' => Tok::One,
            b => Tok::Lit(b),
        })
        .collect()
}

/// A resource type's ARN format as tokens: placeholders become wildcards; `${Partition}`,
/// `${Region}`, `${Account}` and `${BucketName}` ones that span neither `/` nor `:`.
fn format_toks(f: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = f;
    while let Some(start) = rest.find("${") {
        out.extend(rest[..start].bytes().map(Tok::Lit));
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(
                    if matches!(
                        &after[..end],
                        "Partition" | "Region" | "Account" | "BucketName"
                    ) {
                        Tok::Seg
                    } else {
                        Tok::Any
                    },
                );
                rest = &after[end + 1..];
            }
            None => {
                out.extend(rest[start..].bytes().map(Tok::Lit));
                rest = "";
            }
        }
    }
    out.extend(rest.bytes().map(Tok::Lit));
    out
}

/// Whether some string matches both token patterns.
fn intersects(a: &[Tok], b: &[Tok]) -> bool {
    let (n, m) = (a.len(), b.len());
    // reach[i][j]: a[i..] and b[j..] can still produce a common string.
    let mut memo = vec![None::<bool>; (n + 1) * (m + 1)];
    fn go(a: &[Tok], b: &[Tok], i: usize, j: usize, memo: &mut [Option<bool>]) -> bool {
        let w = b.len() + 1;
        if let Some(v) = memo[i * w + j] {
            return v;
        }
        let star = |t: Tok| matches!(t, Tok::Any | Tok::Seg);
        let ok = match (a.get(i).copied(), b.get(j).copied()) {
            (None, None) => true,
            (Some(x), None) => star(x) && go(a, b, i + 1, j, memo),
            (None, Some(y)) => star(y) && go(a, b, i, j + 1, memo),
            (Some(x), Some(y)) => {
                (star(x) && go(a, b, i + 1, j, memo))
                    || (star(y) && go(a, b, i, j + 1, memo))
                    || (star(x) && !star(y) && absorbs(x, y) && go(a, b, i, j + 1, memo))
                    || (star(y) && !star(x) && absorbs(y, x) && go(a, b, i + 1, j, memo))
                    || (!star(x) && !star(y) && single(x, y) && go(a, b, i + 1, j + 1, memo))
            }
        };
        memo[i * w + j] = Some(ok);
        ok
    }
    fn absorbs(star: Tok, c: Tok) -> bool {
        !(star == Tok::Seg && matches!(c, Tok::Lit(b'/' | b':')))
    }
    fn single(x: Tok, y: Tok) -> bool {
        match (x, y) {
            (Tok::Lit(p), Tok::Lit(q)) => p == q,
            _ => true,
        }
    }
    go(a, b, 0, 0, &mut memo)
}

/// The synthetic "any resource of this type" ARN (see the module docs).
fn synthetic(format: &str, partition: &str, account: &str) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(match &after[..end] {
                    "Partition" => partition,
                    "Account" => account,
                    _ => ANY,
                });
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn allow_matches(s: &AllowStmt, lower_action: &str) -> bool {
    let hit = s.actions.iter().any(|p| glob(p, lower_action));
    hit != s.not_action
}

fn service_candidate(s: &AllowStmt, prefix: &str) -> bool {
    if s.not_action {
        return true;
    }
    s.actions.iter().any(|p| match p.split_once(':') {
        Some((sp, _)) => glob(sp, prefix),
        None => p == "*",
    })
}

/// Evaluates actions for one principal.
pub(crate) struct Evaluator<'a> {
    set: &'a PolicySet,
    principal: &'a Principal,
    allows: &'a [AllowStmt],
    ctx: Context,
    partition: String,
}

fn grants(e: &Evaluation) -> Vec<Grant> {
    e.statements
        .iter()
        .filter(|s| matches!(s.kind, PolicyKind::Identity))
        .map(|s| Grant {
            policy: s.policy.to_string(),
            kind: "identity",
            index: s.index,
            sid: s.sid.as_deref().map(str::to_string),
        })
        .collect()
}

fn add_grants(into: &mut Vec<Grant>, more: Vec<Grant>) {
    for g in more {
        if !into.contains(&g) {
            into.push(g);
        }
    }
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        set: &'a PolicySet,
        principal: &'a Principal,
        allows: &'a [AllowStmt],
    ) -> Evaluator<'a> {
        let partition = principal
            .arn()
            .split(':')
            .nth(1)
            .unwrap_or("aws")
            .to_string();
        Evaluator {
            set,
            principal,
            allows,
            ctx: Context::with_absent(Absent::Unknown),
            partition,
        }
    }

    fn eval(&self, action: &str, resource: &str) -> Evaluation {
        self.set
            .evaluate(&Request::new(self.principal, action, resource, &self.ctx))
    }

    /// The access map: every allowed catalogue action, by service, in catalogue order.
    pub(crate) fn map(&self) -> Vec<(&'static str, Vec<ActionAccess>)> {
        let mut out = Vec::new();
        for svc in index() {
            let relevant: Vec<&AllowStmt> = self
                .allows
                .iter()
                .filter(|s| service_candidate(s, svc.prefix))
                .collect();
            if relevant.is_empty() {
                continue;
            }
            let mut allowed = Vec::new();
            for a in &svc.actions {
                let matching: Vec<&AllowStmt> = relevant
                    .iter()
                    .copied()
                    .filter(|s| allow_matches(s, &a.lower))
                    .collect();
                if matching.is_empty()
                    || NO_PERMISSION_ACTIONS
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case(&a.qualified))
                {
                    continue;
                }
                let acc = self.action(a, &matching);
                if acc.access.is_allowed() {
                    allowed.push(acc);
                }
            }
            if !allowed.is_empty() {
                out.push((svc.prefix, allowed));
            }
        }
        out
    }

    /// One action outside the map (not in the catalogue): evaluated on `*` and on its
    /// statements' resource patterns.
    pub(crate) fn uncatalogued(&self, qualified: &str, level: AccessLevel) -> ActionAccess {
        let lower = qualified.to_ascii_lowercase();
        let matching: Vec<&AllowStmt> = self
            .allows
            .iter()
            .filter(|s| allow_matches(s, &lower))
            .collect();
        let idx = Indexed {
            info: dummy_info(),
            qualified: qualified.to_string(),
            lower,
            formats: Vec::new(),
        };
        let mut acc = self.action(&idx, &matching);
        acc.level = level;
        acc
    }

    fn action(&self, a: &Indexed, matching: &[&AllowStmt]) -> ActionAccess {
        let account = self.principal.account();
        let mut statements = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        // All: every required type's synthetic resource.
        let synthetic_targets: Vec<String> = if a.formats.is_empty() {
            vec!["*".to_string()]
        } else {
            a.formats
                .iter()
                .map(|f| synthetic(f, &self.partition, account))
                .collect()
        };
        let mut all = Some(true); // Some(true): allowed; Some(false): conditional; None: denied.
        let mut all_grants = Vec::new();
        for r in &synthetic_targets {
            let e = self.eval(&a.qualified, r);
            match &e.decision {
                Decision::Allow => add_grants(&mut all_grants, grants(&e)),
                Decision::Conditional { keys: k } => {
                    merge_keys(&mut keys, k.clone());
                    add_grants(&mut all_grants, grants(&e));
                    all = all.map(|_| false);
                }
                _ => {
                    all = None;
                    break;
                }
            }
        }
        if all == Some(true) {
            return ActionAccess {
                action: a.qualified.clone(),
                level: a.info.access_level,
                access: Access::All,
                resources: Vec::new(),
                statements: all_grants,
            };
        }
        let cond_all = all == Some(false);
        if !cond_all {
            keys.clear();
        }
        let mut cond_grants = if cond_all { all_grants } else { Vec::new() };
        // Some: a witness pattern of a matching statement.
        let type_toks: Vec<Vec<Tok>> = a.formats.iter().map(|f| format_toks(f)).collect();
        let mut resources: Vec<String> = Vec::new();
        let mut tried: Vec<&str> = Vec::new();
        for s in matching {
            for w in &s.resources {
                if tried.contains(&w.as_str()) || synthetic_targets.contains(w) {
                    continue;
                }
                tried.push(w);
                if !type_toks.is_empty() {
                    let wt = pattern_toks(w);
                    if !type_toks.iter().any(|t| intersects(&wt, t)) {
                        continue;
                    }
                } else if w != "*" {
                    continue;
                }
                let e = self.eval(&a.qualified, w);
                match &e.decision {
                    Decision::Allow => {
                        resources.push(w.clone());
                        add_grants(&mut statements, grants(&e));
                    }
                    Decision::Conditional { keys: k } if resources.is_empty() => {
                        merge_keys(&mut keys, k.clone());
                        add_grants(&mut cond_grants, grants(&e));
                    }
                    _ => {}
                }
            }
        }
        let (access, statements) = if !resources.is_empty() {
            (Access::Some, statements)
        } else if cond_all || !keys.is_empty() {
            (Access::Conditional { keys }, cond_grants)
        } else {
            (Access::None, Vec::new())
        };
        ActionAccess {
            action: a.qualified.clone(),
            level: a.info.access_level,
            access,
            resources,
            statements,
        }
    }
}

/// Looks an action up in the map.
pub(crate) fn lookup<'m>(
    map: &'m [(&'static str, Vec<ActionAccess>)],
    qualified: &str,
) -> Option<&'m ActionAccess> {
    let (prefix, _) = qualified.split_once(':')?;
    let (_, actions) = map.iter().find(|(p, _)| p.eq_ignore_ascii_case(prefix))?;
    actions
        .iter()
        .find(|a| a.action.eq_ignore_ascii_case(qualified))
}

/// Whether the catalogue knows the action.
pub(crate) fn catalogued(qualified: &str) -> Option<AccessLevel> {
    catalogue().action(qualified).map(|a| a.access_level)
}

fn dummy_info() -> &'static ActionInfo {
    static INFO: OnceLock<ActionInfo> = OnceLock::new();
    INFO.get_or_init(|| ActionInfo {
        prefix: String::new(),
        name: String::new(),
        access_level: AccessLevel::Read,
        resource_types: Vec::new(),
        condition_keys: Vec::new(),
        dependent_actions: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("s3:get*", "s3:getobject"));
        assert!(!glob("s3:get*", "s3:putobject"));
        assert!(glob("*", "iam:passrole"));
        assert!(glob("s3:?etobject", "s3:getobject"));
        assert!(glob("*:*", "ec2:runinstances"));
    }

    #[test]
    fn witnesses_fit_types() {
        let bucket = format_toks("arn:${Partition}:s3:::${BucketName}");
        let object = format_toks("arn:${Partition}:s3:::${BucketName}/${ObjectName}");
        let objects = pattern_toks("arn:aws:s3:::reports/*");
        assert!(intersects(&objects, &object));
        assert!(!intersects(&objects, &bucket));
        let all = pattern_toks("arn:aws:s3:::*");
        assert!(intersects(&all, &bucket));
        assert!(intersects(&all, &object));
        let one = pattern_toks("arn:aws:s3:::reports");
        assert!(intersects(&one, &bucket));
        assert!(!intersects(&one, &object));
        assert!(!intersects(&pattern_toks("arn:aws:iam::1:role/x"), &bucket));
    }

    #[test]
    fn synthetic_arns() {
        assert_eq!(
            synthetic(
                "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}",
                "aws",
                "1"
            ),
            "arn:aws:ec2:~any~:1:instance/~any~"
        );
    }

    #[test]
    fn access_order() {
        assert_eq!(Access::Some.max(Access::All), Access::All);
        assert_eq!(Access::Some.min(Access::All), Access::Some);
        let c = |k: &str| Access::Conditional {
            keys: vec![k.into()],
        };
        assert_eq!(
            c("a").min(c("b")),
            Access::Conditional {
                keys: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(c("a").min(Access::None), Access::None);
    }

    #[test]
    fn uncatalogued_actions_are_evaluated_on_their_own() {
        let p = portcullis_iam_eval::Policy::parse(
            "p",
            r#"{"Statement": [{"Effect": "Allow", "Action": "made-up:Do*", "Resource": "*"},
                {"Effect": "Allow", "Action": "made-up:Other", "Resource": "arn:aws:made-up:::x"}]}"#,
        )
        .unwrap();
        let allows = vec![
            AllowStmt {
                not_action: false,
                actions: vec!["made-up:do*".into()],
                resources: vec!["*".into()],
            },
            AllowStmt {
                not_action: false,
                actions: vec!["made-up:other".into()],
                resources: vec!["arn:aws:made-up:::x".into()],
            },
        ];
        let set = PolicySet::identity(vec![p]);
        let who = Principal::from_arn("arn:aws:iam::1:user/u").unwrap();
        let ev = Evaluator::new(&set, &who, &allows);
        assert!(ev.map().is_empty());
        let a = ev.uncatalogued("made-up:DoThing", AccessLevel::Write);
        assert_eq!((a.access, a.level), (Access::All, AccessLevel::Write));
        assert_eq!(a.statements[0].index, 0);
        assert_eq!(
            ev.uncatalogued("made-up:Other", AccessLevel::Write).access,
            Access::None
        );
        assert_eq!(
            ev.uncatalogued("made-up:Nothing", AccessLevel::Read).access,
            Access::None
        );
    }
}
