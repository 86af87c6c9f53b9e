//! The decision: AWS's policy evaluation logic for one principal, one action, one resource.
//!
//! Sources: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>,
//! <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html>,
//! <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html>.
//!
//! 1. An explicit `Deny` in any applicable policy decides: [`Decision::ExplicitDeny`].
//! 2. SCPs (for the principal's account) and RCPs (for the resource's account) must allow at
//!    every level, root to account.
//! 3. Same account: the request is allowed when a resource-based policy names the caller itself
//!    (the user, the role session, the federated user session, or `"*"`); or when it names the
//!    role behind the session (or the user behind a federated session) and the permissions
//!    boundary and session policies allow; or when an identity-based policy allows and the
//!    boundary and session policies allow. A resource-based policy that names only the account
//!    delegates to the identity-based policies. With
//!    [`resource_policy_required`](PolicySet::resource_policy_required) (KMS key policies, role
//!    trust policies) the identity path also needs the resource-based policy to name the account.
//! 4. Cross-account: the principal's side (SCPs, identity, boundary, session) and the resource's
//!    side (RCPs, a resource-based policy naming the principal, its role or its account) must
//!    both allow.
//! 5. AWS services and anonymous callers need a resource-based policy that names them (and the
//!    RCPs); identity-side policies do not apply to them.
//! 6. Session policies limit role sessions and federated user sessions; a federated user session
//!    without session policies has no permissions of its own (a resource-based policy can still
//!    name it). The root user has every identity permission in its account.
//!
//! Each step is computed in three-valued logic, so a statement whose match depends on an unknown
//! key makes the decision [`Decision::Conditional`] only when the answer actually hinges on it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::context::{Context, Env};
use crate::matcher::Case;
use crate::parse::{Effect, Policy, PrincipalEntry, ResourcePattern, Statement};
use crate::principal::{Principal, PrincipalKind};
use crate::tri::{Keys, Tri};
use crate::variables::Resolved;

/// Actions that need no permission: always allowed for a principal of an account, whatever the
/// policies say (an explicit deny has no effect). Each with the page that documents it.
pub const NO_PERMISSION_ACTIONS: &[(&str, &str)] = &[
    (
        "sts:GetCallerIdentity",
        "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html",
    ),
    (
        "sts:GetSessionToken",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html",
    ),
];

/// Every policy that applies to one principal's requests against one resource.
///
/// Absent parts (`None`, empty) do not limit: no boundary, no session policy, not in an
/// organization, no resource-based policy.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Identity-based policies: inline and managed, the user's and its groups', or the role's.
    pub identity: Vec<Policy>,
    /// The permissions boundary, if any.
    pub boundary: Option<Policy>,
    /// Session policies passed when the session was created (`None`: none were passed).
    pub session: Option<Vec<Policy>>,
    /// SCPs of the principal's account, one list per level (root, each OU, the account); each
    /// level must allow. `None`: SCPs do not apply.
    pub scps: Option<Vec<Vec<Policy>>>,
    /// RCPs of the resource's account, one list per level; each level must allow. `None`: RCPs do
    /// not apply.
    pub rcps: Option<Vec<Vec<Policy>>>,
    /// Resource-based policies attached to the resource.
    pub resource: Vec<Policy>,
    /// The resource-based policy must allow even within the account (KMS key policies, role
    /// trust policies).
    pub resource_policy_required: bool,
}

/// One request: who, what, on which resource, in which context.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who makes it.
    pub principal: &'a Principal,
    /// The action, `service:Action` (any case).
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without resource-level permissions.
    pub resource: &'a str,
    /// The account that owns the resource. `None`: the ARN's account field, or (if it has none,
    /// as for S3) the principal's account.
    pub resource_account: Option<&'a str>,
    /// The condition keys.
    pub context: &'a Context,
}

impl<'a> Request<'a> {
    /// A request in `context`; the resource's account is read from its ARN.
    pub fn new(
        principal: &'a Principal,
        action: &'a str,
        resource: &'a str,
        context: &'a Context,
    ) -> Request<'a> {
        Request {
            principal,
            action,
            resource,
            resource_account: None,
            context,
        }
    }

    /// Sets the account that owns the resource.
    pub fn in_account(mut self, account: &'a str) -> Request<'a> {
        self.resource_account = Some(account);
        self
    }

    fn owner(&self) -> &'a str {
        if let Some(a) = self.resource_account {
            return a;
        }
        let mut parts = self.resource.splitn(6, ':');
        if parts.next() == Some("arn")
            && let Some(acct) = parts.nth(3)
            && !acct.is_empty()
        {
            return acct;
        }
        self.principal.account()
    }
}

/// The kind of policy a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity-based policy.
    Identity,
    /// The permissions boundary.
    Boundary,
    /// A session policy.
    Session,
    /// A service control policy at this level (0 = organization root).
    Scp {
        /// The level, root first.
        level: usize,
    },
    /// A resource control policy at this level (0 = organization root).
    Rcp {
        /// The level, root first.
        level: usize,
    },
    /// A resource-based policy.
    Resource,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyKind::Identity => f.write_str("identity policy"),
            PolicyKind::Boundary => f.write_str("permissions boundary"),
            PolicyKind::Session => f.write_str("session policy"),
            PolicyKind::Scp { level } => write!(f, "SCP (level {level})"),
            PolicyKind::Rcp { level } => write!(f, "RCP (level {level})"),
            PolicyKind::Resource => f.write_str("resource-based policy"),
        }
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// The policy's name.
    pub policy: Arc<str>,
    /// Which kind of policy.
    pub kind: PolicyKind,
    /// The statement's position in the policy (0-based).
    pub index: usize,
    /// Its `Sid`, if any.
    pub sid: Option<Arc<str>>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PolicyKind::Scp { level } | PolicyKind::Rcp { level } => {
                let what = if matches!(self.kind, PolicyKind::Scp { .. }) {
                    "SCP"
                } else {
                    "RCP"
                };
                write!(f, "{what} {:?} (level {level})", &*self.policy)?;
            }
            kind => write!(f, "{kind} {:?}", &*self.policy)?,
        }
        write!(f, " statement {}", self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " {:?}", &**sid)?;
        }
        Ok(())
    }
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// A `Deny` statement applies.
    ExplicitDeny,
    /// Nothing allows it (or a limiting policy does not).
    ImplicitDeny,
    /// The answer depends on these context keys, whose values are unknown (as written in the
    /// policies, first seen first, no duplicates).
    Conditional {
        /// The keys.
        keys: Vec<String>,
    },
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allow(&self) -> bool {
        *self == Decision::Allow
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow => f.write_str("Allow"),
            Decision::ExplicitDeny => f.write_str("ExplicitDeny"),
            Decision::ImplicitDeny => f.write_str("ImplicitDeny"),
            Decision::Conditional { keys } => write!(f, "Conditional on {}", keys.join(", ")),
        }
    }
}

/// A decision with the statements behind it and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The outcome.
    pub decision: Decision,
    /// The statements that decided: the denying ones; the allowing ones (the grant first, then
    /// the boundary, session policy, SCP and RCP statements that let it through); or, when
    /// conditional, the statements whose match is unknown.
    pub statements: Vec<StatementRef>,
    /// Why, in a few words.
    pub reason: Cow<'static, str>,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.decision)?;
        if self.statements.is_empty() {
            f.write_str(&self.reason)?;
        } else {
            for (i, s) in self.statements.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{s}")?;
            }
        }
        f.write_str(")")
    }
}

/// How a resource-based statement's `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// No `Principal` element (identity-style statement).
    Implicit = 0,
    /// The caller's account.
    Account = 1,
    /// The role behind a role session, or the user behind a federated user session.
    Parent = 2,
    /// The caller itself (or `"*"`).
    Direct = 3,
}

/// The strongest way `entries` name the caller, if they do.
fn grant(entries: &[PrincipalEntry], p: &Principal) -> Option<Grant> {
    let mut best = None;
    for e in entries {
        let g = match e {
            PrincipalEntry::All => Some(Grant::Direct),
            PrincipalEntry::Account(a) => {
                (p.is_aws_account_principal() && **a == *p.account()).then_some(Grant::Account)
            }
            PrincipalEntry::User(arn) => match p.kind() {
                PrincipalKind::User if **arn == *p.arn() => Some(Grant::Direct),
                PrincipalKind::FederatedUser if Some(&**arn) == p.parent_arn() => {
                    Some(Grant::Parent)
                }
                _ => None,
            },
            PrincipalEntry::Role { account, name } => (p.kind() == PrincipalKind::RoleSession
                && **account == *p.account()
                && Some(&**name) == p.role_name())
            .then_some(Grant::Parent),
            PrincipalEntry::Exact(arn) | PrincipalEntry::Other(arn) => {
                (p.is_aws_account_principal() && **arn == *p.arn()).then_some(Grant::Direct)
            }
            PrincipalEntry::Service(name) => {
                (p.kind() == PrincipalKind::Service && **name == *p.arn()).then_some(Grant::Direct)
            }
        };
        best = best.max(g);
    }
    best
}

/// `NotPrincipal`: the caller is exempt only if every identity AWS checks for it (its account,
/// the role behind a session, the caller itself) is listed.
fn exempt(entries: &[PrincipalEntry], p: &Principal) -> bool {
    let all = entries.contains(&PrincipalEntry::All);
    if all {
        return true;
    }
    let account_listed = || {
        entries
            .iter()
            .any(|e| matches!(e, PrincipalEntry::Account(a) if **a == *p.account()))
    };
    let self_listed = || grant(entries, p) == Some(Grant::Direct);
    match p.kind() {
        PrincipalKind::Root => account_listed(),
        PrincipalKind::User | PrincipalKind::FederatedUser => account_listed() && self_listed(),
        PrincipalKind::RoleSession => {
            account_listed()
                && self_listed()
                && entries.iter().any(|e| {
                    matches!(e, PrincipalEntry::Role { account, name }
                        if **account == *p.account() && Some(&**name) == p.role_name())
                })
        }
        PrincipalKind::Service => self_listed(),
        PrincipalKind::Anonymous => false,
    }
}

impl Statement {
    /// Whether the statement applies to the request, and how its `Principal` names the caller.
    fn applies<'p>(&'p self, env: &Env<'_>, keys: &mut Keys<'p>) -> (Tri, Grant) {
        let action_hit = self
            .actions
            .iter()
            .any(|a| a.matches(env.action, Case::AsciiInsensitive));
        if action_hit == self.not_action {
            return (Tri::No, Grant::Implicit);
        }
        let grant_kind = match &self.principals {
            None => Grant::Implicit,
            Some((false, entries)) => match grant(entries, env.principal) {
                Some(g) => g,
                None => return (Tri::No, Grant::Implicit),
            },
            Some((true, entries)) => {
                let forced = self.effect == Effect::Deny && env.has_boundary;
                if !forced && exempt(entries, env.principal) {
                    return (Tri::No, Grant::Implicit);
                }
                Grant::Direct
            }
        };
        let mark = keys.mark();
        let mut t = match &self.resources {
            None => Tri::Yes,
            Some((not, pats)) => {
                let mut hit = Tri::No;
                for p in pats {
                    hit = hit.or(resource_matches(p, env, keys));
                    if hit == Tri::Yes {
                        break;
                    }
                }
                if *not { hit.not() } else { hit }
            }
        };
        for c in &self.conditions {
            if t == Tri::No {
                break;
            }
            t = t.and(c.eval(env, keys));
        }
        (keys.settle(mark, t), grant_kind)
    }
}

fn resource_matches<'p>(p: &'p ResourcePattern, env: &Env<'_>, keys: &mut Keys<'p>) -> Tri {
    match p {
        ResourcePattern::Static(pat) => Tri::from_bool(pat.matches(env.resource, Case::Sensitive)),
        ResourcePattern::Template(t) => match t.resolve(env) {
            Resolved::Static => Tri::from_bool(crate::matcher::glob(
                t.parts(),
                env.resource,
                Case::Sensitive,
            )),
            Resolved::Toks(toks) => {
                Tri::from_bool(crate::matcher::glob(&toks, env.resource, Case::Sensitive))
            }
            Resolved::NoValue => Tri::No,
            Resolved::Unknown { keys: ks, relaxed } => {
                if !crate::matcher::glob(&relaxed, env.resource, Case::Sensitive) {
                    return Tri::No;
                }
                ks.into_iter().for_each(|k| keys.push(k));
                Tri::Maybe
            }
        },
    }
}

/// A statement that applied (or may apply).
#[derive(Debug, Clone, Copy)]
struct Hit<'p> {
    policy: &'p Policy,
    kind: PolicyKind,
    index: usize,
}

impl Hit<'_> {
    fn to_ref(self) -> StatementRef {
        StatementRef {
            policy: self.policy.name_arc().clone(),
            kind: self.kind,
            index: self.index,
            sid: self
                .policy
                .statements
                .get(self.index)
                .and_then(|s| s.sid.clone()),
        }
    }
}

/// A three-valued result with the statements behind it: the allowing ones when `Yes`, the
/// unknown ones (indices into [`Eval::maybe`]) when `Maybe`.
#[derive(Debug, Clone)]
struct Gate<'p> {
    t: Tri,
    hits: Vec<Hit<'p>>,
    maybes: Vec<usize>,
}

impl<'p> Gate<'p> {
    fn yes() -> Gate<'p> {
        Gate {
            t: Tri::Yes,
            hits: Vec::new(),
            maybes: Vec::new(),
        }
    }

    fn no() -> Gate<'p> {
        Gate {
            t: Tri::No,
            hits: Vec::new(),
            maybes: Vec::new(),
        }
    }

    fn and(mut self, other: Gate<'p>) -> Gate<'p> {
        match self.t.and(other.t) {
            Tri::No => Gate::no(),
            Tri::Yes => {
                self.hits.extend(other.hits);
                self
            }
            Tri::Maybe => {
                let mut maybes = if self.t == Tri::Maybe {
                    self.maybes
                } else {
                    Vec::new()
                };
                if other.t == Tri::Maybe {
                    maybes.extend(other.maybes);
                }
                Gate {
                    t: Tri::Maybe,
                    hits: Vec::new(),
                    maybes,
                }
            }
        }
    }

    fn or(self, other: Gate<'p>) -> Gate<'p> {
        match (self.t, other.t) {
            (Tri::Yes, _) => self,
            (_, Tri::Yes) => other,
            (Tri::No, _) => other,
            (_, Tri::No) => self,
            _ => {
                let mut maybes = self.maybes;
                maybes.extend(other.maybes);
                Gate {
                    t: Tri::Maybe,
                    hits: Vec::new(),
                    maybes,
                }
            }
        }
    }

    /// Records one applicable `Allow` statement.
    fn add(&mut self, t: Tri, hit: Hit<'p>, maybe_id: usize) {
        match (self.t, t) {
            (Tri::Yes, _) | (_, Tri::No) => {}
            (_, Tri::Yes) => {
                self.t = Tri::Yes;
                self.hits = vec![hit];
                self.maybes.clear();
            }
            (_, Tri::Maybe) => {
                self.t = Tri::Maybe;
                self.maybes.push(maybe_id);
            }
        }
    }
}

/// The `Allow` results of a group of policies, by how their statements name the caller.
struct Allows<'p> {
    by_grant: [Gate<'p>; 4],
}

impl<'p> Allows<'p> {
    fn any(self) -> Gate<'p> {
        let [a, b, c, d] = self.by_grant;
        a.or(b).or(c).or(d)
    }
}

/// One evaluation in progress.
struct Eval<'p, 'e> {
    env: Env<'e>,
    keys: Keys<'p>,
    /// Statements whose match is unknown, with the range of their keys in `keys`.
    maybe: Vec<(Hit<'p>, usize, usize)>,
    deny_yes: Vec<Hit<'p>>,
    deny_maybe: Vec<usize>,
}

impl<'p> Eval<'p, '_> {
    fn group(&mut self, policies: &'p [Policy], kind: PolicyKind) -> Allows<'p> {
        let mut allows = Allows {
            by_grant: [Gate::no(), Gate::no(), Gate::no(), Gate::no()],
        };
        for policy in policies {
            for (index, st) in policy.statements.iter().enumerate() {
                let mark = self.keys.mark();
                let (t, g) = st.applies(&self.env, &mut self.keys);
                if t == Tri::No {
                    continue;
                }
                let hit = Hit {
                    policy,
                    kind,
                    index,
                };
                let id = self.maybe.len();
                if t == Tri::Maybe {
                    self.maybe.push((hit, mark, self.keys.mark()));
                }
                match st.effect {
                    Effect::Deny if t == Tri::Yes => self.deny_yes.push(hit),
                    Effect::Deny => self.deny_maybe.push(id),
                    Effect::Allow => allows.by_grant[g as usize].add(t, hit, id),
                }
            }
        }
        allows
    }

    /// Every level must allow; also the first level that does not.
    fn levels(
        &mut self,
        levels: &'p Option<Vec<Vec<Policy>>>,
        kind: fn(usize) -> PolicyKind,
    ) -> (Gate<'p>, Option<usize>) {
        let Some(levels) = levels else {
            return (Gate::yes(), None);
        };
        let mut acc = Gate::yes();
        let mut failed = None;
        for (i, level) in levels.iter().enumerate() {
            let g = self.group(level, kind(i)).any();
            if g.t == Tri::No && failed.is_none() {
                failed = Some(i);
            }
            acc = acc.and(g);
        }
        (acc, failed)
    }
}

/// The gates of one evaluation, named.
struct Gates<'p> {
    scp: (Gate<'p>, Option<usize>),
    rcp: (Gate<'p>, Option<usize>),
    identity: Gate<'p>,
    boundary: Gate<'p>,
    session: Gate<'p>,
    rb_direct: Gate<'p>,
    rb_parent: Gate<'p>,
    rb_any: Gate<'p>,
}

impl PolicySet {
    /// A set with these identity-based policies and nothing else.
    pub fn identity(policies: Vec<Policy>) -> PolicySet {
        PolicySet {
            identity: policies,
            ..PolicySet::default()
        }
    }

    /// Evaluates one request.
    pub fn evaluate(&self, req: &Request<'_>) -> Evaluation {
        let principal = req.principal;
        if principal.is_aws_account_principal()
            && let Some((action, _)) = NO_PERMISSION_ACTIONS
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(req.action))
        {
            return Evaluation {
                decision: Decision::Allow,
                statements: Vec::new(),
                reason: Cow::Owned(format!("{action} requires no permission")),
            };
        }
        let mut ev = Eval {
            env: Env {
                principal,
                action: req.action,
                resource: req.resource,
                context: req.context,
                has_boundary: self.boundary.is_some(),
            },
            keys: Keys::new(),
            maybe: Vec::new(),
            deny_yes: Vec::new(),
            deny_maybe: Vec::new(),
        };
        let kind = principal.kind();
        let aws = principal.is_aws_account_principal();
        let same_account = aws && req.owner() == principal.account();
        let identity_side = aws && kind != PrincipalKind::Root;

        let scp = if aws {
            ev.levels(&self.scps, |level| PolicyKind::Scp { level })
        } else {
            (Gate::yes(), None)
        };
        let rcp = ev.levels(&self.rcps, |level| PolicyKind::Rcp { level });
        let identity = match kind {
            PrincipalKind::Root => Gate::yes(),
            _ if identity_side => ev.group(&self.identity, PolicyKind::Identity).any(),
            _ => Gate::no(),
        };
        let boundary = match &self.boundary {
            Some(b) if identity_side => ev
                .group(std::slice::from_ref(b), PolicyKind::Boundary)
                .any(),
            _ => Gate::yes(),
        };
        let session = match (kind, &self.session) {
            (PrincipalKind::RoleSession | PrincipalKind::FederatedUser, Some(ps)) => {
                ev.group(ps, PolicyKind::Session).any()
            }
            (PrincipalKind::FederatedUser, None) => Gate::no(),
            _ => Gate::yes(),
        };
        let [implicit, account, parent, direct] =
            ev.group(&self.resource, PolicyKind::Resource).by_grant;
        let rb_any = implicit.or(account).or(parent.clone()).or(direct.clone());
        let g = Gates {
            scp,
            rcp,
            identity,
            boundary,
            session,
            rb_direct: direct,
            rb_parent: parent,
            rb_any,
        };
        let allowed = if !aws {
            g.rb_any.clone().and(g.rcp.0.clone())
        } else if same_account {
            let mut ident = g
                .identity
                .clone()
                .and(g.boundary.clone())
                .and(g.session.clone());
            if self.resource_policy_required {
                ident = ident.and(g.rb_any.clone());
            }
            let parent = g
                .rb_parent
                .clone()
                .and(g.boundary.clone())
                .and(g.session.clone());
            ident
                .or(g.rb_direct.clone())
                .or(parent)
                .and(g.scp.0.clone())
                .and(g.rcp.0.clone())
        } else {
            g.identity
                .clone()
                .and(g.rb_any.clone())
                .and(g.boundary.clone())
                .and(g.session.clone())
                .and(g.scp.0.clone())
                .and(g.rcp.0.clone())
        };
        ev.decide(allowed, &g, self, same_account)
    }
}

impl<'p> Eval<'p, '_> {
    fn decide(
        self,
        allowed: Gate<'p>,
        g: &Gates<'p>,
        set: &PolicySet,
        same_account: bool,
    ) -> Evaluation {
        if !self.deny_yes.is_empty() {
            return Evaluation {
                decision: Decision::ExplicitDeny,
                statements: self.deny_yes.iter().map(|h| h.to_ref()).collect(),
                reason: Cow::Borrowed("explicitly denied"),
            };
        }
        match allowed.t {
            Tri::No => Evaluation {
                decision: Decision::ImplicitDeny,
                statements: Vec::new(),
                reason: implicit_reason(g, self.env.principal, set, same_account),
            },
            Tri::Yes if self.deny_maybe.is_empty() => Evaluation {
                decision: Decision::Allow,
                statements: allowed.hits.iter().map(|h| h.to_ref()).collect(),
                reason: Cow::Borrowed(allow_reason(g, same_account, self.env.principal)),
            },
            _ => {
                let mut ids = self.deny_maybe.clone();
                if allowed.t == Tri::Maybe {
                    ids.extend(allowed.maybes.iter().copied());
                }
                ids.sort_unstable();
                ids.dedup();
                let mut keys: Vec<String> = Vec::new();
                let mut statements = Vec::new();
                for id in ids {
                    let Some(&(hit, from, to)) = self.maybe.get(id) else {
                        continue;
                    };
                    statements.push(hit.to_ref());
                    for k in self.keys.since(from).iter().take(to.saturating_sub(from)) {
                        if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                            keys.push((*k).to_string());
                        }
                    }
                }
                let reason = if self.deny_maybe.is_empty() {
                    "allowed only if the unknown keys match"
                } else if allowed.t == Tri::Yes {
                    "allowed unless a Deny whose keys are unknown applies"
                } else {
                    "depends on unknown keys (a Deny may also apply)"
                };
                Evaluation {
                    decision: Decision::Conditional { keys },
                    statements,
                    reason: Cow::Borrowed(reason),
                }
            }
        }
    }
}

fn allow_reason(g: &Gates<'_>, same_account: bool, p: &Principal) -> &'static str {
    if !p.is_aws_account_principal() {
        "allowed by a resource-based policy"
    } else if !same_account {
        "allowed by identity-based and resource-based policies (cross-account)"
    } else if g.identity.t == Tri::Yes && g.boundary.t == Tri::Yes && g.session.t == Tri::Yes {
        "allowed by an identity-based policy"
    } else if g.rb_direct.t == Tri::Yes {
        "allowed by a resource-based policy that names the principal"
    } else {
        "allowed by a resource-based policy that names the role or user behind the session"
    }
}

fn implicit_reason(
    g: &Gates<'_>,
    p: &Principal,
    set: &PolicySet,
    same_account: bool,
) -> Cow<'static, str> {
    if let Some(level) = g.scp.1 {
        return Cow::Owned(format!("no SCP at level {level} allows it"));
    }
    if let Some(level) = g.rcp.1 {
        return Cow::Owned(format!("no RCP at level {level} allows it"));
    }
    if !p.is_aws_account_principal() {
        return Cow::Owned(format!("no resource-based policy allows the {}", p.kind()));
    }
    let session_reason = if p.kind() == PrincipalKind::FederatedUser && set.session.is_none() {
        "a federated user session without session policies has no permissions of its own"
    } else {
        "no session policy allows it"
    };
    let rb_none = g.rb_any.t == Tri::No;
    let reason = if same_account {
        if g.identity.t == Tri::No && rb_none {
            "no identity-based or resource-based policy allows it"
        } else if g.identity.t == Tri::No {
            "no identity-based policy allows it and the resource-based policy does not name the principal"
        } else if g.boundary.t == Tri::No {
            "the permissions boundary does not allow it"
        } else if g.session.t == Tri::No {
            session_reason
        } else if set.resource_policy_required && rb_none {
            "the resource-based policy, required for this resource, does not allow it"
        } else {
            "not allowed"
        }
    } else if g.identity.t == Tri::No {
        "cross-account: no identity-based policy allows it"
    } else if g.boundary.t == Tri::No {
        "the permissions boundary does not allow it"
    } else if g.session.t == Tri::No {
        session_reason
    } else if rb_none {
        "cross-account: no resource-based policy allows the principal"
    } else {
        "not allowed"
    };
    Cow::Borrowed(reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn entries(v: serde_json::Value) -> Vec<PrincipalEntry> {
        let doc =
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Principal": v}});
        let p = Policy::from_json("t", &doc).unwrap();
        p.statements[0].principals.clone().unwrap().1
    }

    fn who(arn: &str) -> Principal {
        Principal::from_arn(arn).unwrap()
    }

    #[test]
    fn grants_are_ranked() {
        let sess = who("arn:aws:sts::111122223333:assumed-role/R/s");
        let e = entries(
            serde_json::json!({"AWS": ["111122223333", "arn:aws:iam::111122223333:role/R"]}),
        );
        assert_eq!(grant(&e, &sess), Some(Grant::Parent));
        let e = entries(
            serde_json::json!({"AWS": ["111122223333", "arn:aws:sts::111122223333:assumed-role/R/s"]}),
        );
        assert_eq!(grant(&e, &sess), Some(Grant::Direct));
        let e = entries(serde_json::json!({"AWS": "111122223333"}));
        assert_eq!(grant(&e, &sess), Some(Grant::Account));
        assert_eq!(grant(&e, &Principal::anonymous()), None);
        assert_eq!(
            grant(&entries(serde_json::json!("*")), &Principal::anonymous()),
            Some(Grant::Direct)
        );
        let fed = who("arn:aws:sts::111122223333:federated-user/jo");
        let e = entries(serde_json::json!({"AWS": "arn:aws:iam::111122223333:user/jo"}));
        assert_eq!(grant(&e, &fed), Some(Grant::Parent));
        assert_eq!(
            grant(&e, &who("arn:aws:iam::111122223333:user/jo")),
            Some(Grant::Direct)
        );
    }

    #[test]
    fn not_principal_needs_the_whole_chain() {
        let bob = who("arn:aws:iam::444455556666:user/Bob");
        let both = entries(
            serde_json::json!({"AWS": ["arn:aws:iam::444455556666:user/Bob", "444455556666"]}),
        );
        assert!(exempt(&both, &bob));
        let only_bob = entries(serde_json::json!({"AWS": "arn:aws:iam::444455556666:user/Bob"}));
        assert!(!exempt(&only_bob, &bob));
        assert!(!exempt(&both, &who("arn:aws:iam::444455556666:user/Alice")));
        assert!(exempt(&both, &who("arn:aws:iam::444455556666:root")));
        assert!(!exempt(&both, &Principal::anonymous()));
    }

    #[test]
    fn displays() {
        let r = StatementRef {
            policy: "Guard".into(),
            kind: PolicyKind::Scp { level: 2 },
            index: 1,
            sid: Some("NoIam".into()),
        };
        assert_eq!(
            r.to_string(),
            r#"SCP "Guard" (level 2) statement 1 "NoIam""#
        );
        let r = StatementRef {
            policy: "b".into(),
            kind: PolicyKind::Resource,
            index: 0,
            sid: None,
        };
        assert_eq!(r.to_string(), r#"resource-based policy "b" statement 0"#);
        let d = Decision::Conditional {
            keys: vec!["aws:SourceIp".into(), "aws:SecureTransport".into()],
        };
        assert_eq!(
            d.to_string(),
            "Conditional on aws:SourceIp, aws:SecureTransport"
        );
        let e = Evaluation {
            decision: Decision::ImplicitDeny,
            statements: vec![],
            reason: Cow::Borrowed("not allowed"),
        };
        assert_eq!(e.to_string(), "ImplicitDeny (not allowed)");
    }

    #[test]
    fn owner_of_a_resource() {
        let p = who("arn:aws:iam::111122223333:user/a");
        let ctx = Context::new();
        let r = Request::new(&p, "s3:GetObject", "arn:aws:s3:::b/k", &ctx);
        assert_eq!(r.owner(), "111122223333");
        let r = Request::new(
            &p,
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:444455556666:q",
            &ctx,
        );
        assert_eq!(r.owner(), "444455556666");
        assert_eq!(r.in_account("999999999999").owner(), "999999999999");
        let r = Request::new(&p, "s3:ListAllMyBuckets", "*", &ctx);
        assert_eq!(r.owner(), "111122223333");
    }
}
