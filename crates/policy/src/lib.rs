//! The decide stage: a classified request and a policy → Allow, Consent or Deny, with reasons.
//!
//! # Brief overview
//!
//! * A [`Request`] is what the classify stage produced: CLI and botocore names, IAM actions, the
//!   [`AccessLevel`] (or unknown), risk flags, region, account and the [`GlobalFlags`] that change
//!   where or how it is sent. It holds no command text, so gateway mode can build one too.
//! * A [`Policy`] is loaded once — from the native JSON form ([`Policy::from_json`], see
//!   [`PolicyConfig`]), from the awslabs `aws-api-mcp-server` file ([`Policy::from_awslabs_json`]),
//!   or from disk ([`load_file`], the only function here that does I/O) — and validated then:
//!   unknown keys, bad wildcard patterns, empty rules and names that match nothing (an IAM
//!   action, CLI command, service or region that does not exist, with a "did you mean") are load
//!   errors ([`PolicyError`]), all reported at once, that name where and why. A region newer than
//!   the partitions data is a warning ([`Policy::warnings`]).
//! * [`Policy::decide`] is pure. It returns a [`Decision`]: an [`Outcome`] (`Allow | Consent |
//!   Deny`), actionable `reasons` and the `rule_ids` that decided. Precedence is
//!   deny (global options, allow-lists, deny rules) > consent rules > allow rules > the [`Mode`]'s
//!   default. [`Policy::decide_enforced`] applies shadow mode: it allows, recording `would_have`.
//! * Rules match the command `aws <service> <operation>` with `*` ([`CommandPattern`], case-
//!   sensitive like the CLI) or the IAM actions ([`ActionPattern`], case-insensitive like IAM), so
//!   one rule on `s3:DeleteObject` catches every command that needs it. A deny or consent rule on
//!   a command also decides every API operation the request makes ([`Request::operations`]) and,
//!   through [`reach`], every call needing the action the named operation stands for.
//! * Conditions the rules cannot express — region, resource ARNs, parameters, access level,
//!   flags — are Cedar policies ([`cedar`], schema in `cedar/portcullis.cedarschema`, examples in
//!   `cedar/examples/`): `forbid` denies, `permit` with `@consent` asks, a plain `permit` allows
//!   like an allow rule; each is reported by its `@id`. They come from the policy file (`cedar`, a
//!   file beside it, or inline `cedar_policies`) and are validated against the schema at load.
//!
//! A stage of Portcullis's pipeline (after classify, before execute). It takes a [`Request`] of
//! plain names and flags, not the parser's types, so a gateway or another tool could use it
//! alone; its API follows what the server needs and is not kept stable for others.
//!
//! ```
//! use portcullis_iam::AccessLevel;
//! use portcullis_policy::{Outcome, Policy, Request};
//!
//! let policy = Policy::from_json(r#"{
//!     "mode": "guarded",
//!     "rules": [{"id": "no-object-deletes", "effect": "deny", "actions": ["s3:DeleteObject*"]}]
//! }"#).unwrap();
//!
//! let mut req = Request {
//!     service_cli_name: "s3api".into(), operation_cli_name: "list-buckets".into(),
//!     service: "s3".into(), operation: "ListBuckets".into(),
//!     actions: vec!["s3:ListAllMyBuckets".into()], access_level: Some(AccessLevel::List),
//!     ..Request::default()
//! };
//! assert_eq!(policy.decide(&req).outcome, Outcome::Allow);
//!
//! req.operation_cli_name = "put-object".into();
//! req.actions = vec!["s3:PutObject".into()];
//! req.access_level = Some(AccessLevel::Write);
//! assert_eq!(policy.decide(&req).outcome, Outcome::Consent); // guarded: writes ask first
//!
//! req.operation_cli_name = "delete-objects".into();
//! req.actions = vec!["s3:DeleteObject".into()];
//! let d = policy.decide(&req);
//! assert_eq!(d.outcome, Outcome::Deny);
//! assert_eq!(d.rule_ids, ["no-object-deletes"]);
//! ```

mod awslabs;
pub mod cedar;
mod config;
mod decision;
mod endpoint;
mod names;
mod pattern;
pub mod reach;
pub mod request;
pub mod tools;

use std::fmt;
use std::path::Path;

pub use cedar::{CedarPolicies, CedarSource};
pub use config::{
    Effect, GlobalOptionsConfig, LimitsConfig, PolicyConfig, PolicyError, Problem, RuleConfig,
};
pub use decision::{Decision, Outcome};
pub use pattern::{ActionPattern, CommandPattern};
pub use portcullis_iam::AccessLevel;
pub use reach::Reached;
pub use request::{
    GlobalFlags, Operation, Request, flatten_parameters, flatten_parameters_bounded,
};
use serde::{Deserialize, Serialize};

use crate::pattern::NamePattern;

/// What happens to a request no rule decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// List and Read run; reads returning secrets or credentials need consent; the rest is denied.
    #[serde(alias = "readonly", alias = "read_only")]
    ReadOnly,
    /// List and Read run; writes, tagging, permissions management, secret and credential reads
    /// (and anything unclassified) need consent.
    #[default]
    Guarded,
    /// Everything runs unless a rule says otherwise.
    Unrestricted,
}

impl Mode {
    /// The name used in policy files and rule ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Guarded => "guarded",
            Mode::Unrestricted => "unrestricted",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id, reported in decisions.
    pub id: String,
    /// Deny, consent or allow.
    pub effect: Effect,
    /// Command patterns.
    pub commands: Vec<CommandPattern>,
    /// IAM action patterns.
    pub actions: Vec<ActionPattern>,
    /// Why the rule exists.
    pub reason: Option<String>,
    /// The operations the command patterns name (computed on first use).
    reach: std::sync::OnceLock<Vec<Reached>>,
}

impl Rule {
    pub(crate) fn new(id: String, effect: Effect, reason: Option<String>) -> Rule {
        Rule {
            id,
            effect,
            commands: Vec::new(),
            actions: Vec::new(),
            reason,
            reach: Default::default(),
        }
    }

    /// The API operations the rule's command patterns name, each with the IAM action it stands
    /// for ([`reach`]). A deny or consent rule reaches every call that needs one of those actions.
    pub fn reach(&self) -> &[Reached] {
        self.reach.get_or_init(|| reach::operations(&self.commands))
    }

    /// How a deny or consent rule matches `req`, or `None` when it does not. Every spelling of a
    /// call counts: the command as written, each API operation it makes, each IAM action it needs
    /// (dependent ones included), and the action of every operation the command patterns name.
    fn matched(&self, req: &Request) -> Option<String> {
        let cmd = req.command();
        if let Some(p) = self
            .commands
            .iter()
            .find(|p| p.matches(&req.service_cli_name, &req.operation_cli_name))
        {
            return Some(format!("`{cmd}` matches `{p}`"));
        }
        for op in &req.operations {
            if let Some(p) = self
                .commands
                .iter()
                .find(|p| p.matches(&op.service_cli_name, &op.operation_cli_name))
            {
                return Some(format!(
                    "`{cmd}` makes the API call `{}`, which matches `{p}`",
                    op.command()
                ));
            }
        }
        for p in &self.actions {
            if let Some(a) = req.actions.iter().find(|a| p.matches(a)) {
                return Some(format!("IAM action `{a}` matches `{p}`"));
            }
        }
        if !self.commands.is_empty() {
            for a in &req.actions {
                if let Some(r) = self.reach().iter().find(|r| {
                    r.action
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(a))
                }) {
                    let named = if r.pattern == r.command {
                        String::new()
                    } else {
                        format!(" (named by `{}`)", r.pattern)
                    };
                    return Some(format!(
                        "`{cmd}` needs IAM action `{a}`, the action of `{}`{named}; a rule on an operation reaches every call that needs its action, as IAM would",
                        r.command
                    ));
                }
            }
        }
        None
    }

    fn explain(&self, req: &Request, how: &str) -> String {
        let what = match self.effect {
            Effect::Deny => "denies",
            Effect::Consent => "requires consent for",
            Effect::Allow => "allows",
        };
        let mut s = format!("rule `{}` {what} `{}`: {how}", self.id, req.command());
        if let Some(r) = &self.reason {
            s.push_str(&format!(" ({r})"));
        }
        s
    }
}

/// A loaded, validated policy. Build it with [`Policy::from_json`], [`Policy::from_awslabs_json`],
/// [`PolicyConfig::compile`] or [`load_file`]; decide with [`Policy::decide`].
#[derive(Debug, Clone)]
pub struct Policy {
    mode: Mode,
    shadow: bool,
    rules: Vec<Rule>,
    services: Option<Vec<NamePattern>>,
    regions: Option<Vec<NamePattern>>,
    accounts: Option<Vec<NamePattern>>,
    profiles: Vec<String>,
    endpoint_hosts: Vec<NamePattern>,
    allow_debug: bool,
    allow_no_verify_ssl: bool,
    allow_no_sign_request: bool,
    cedar: Option<CedarPolicies>,
    rate_per_principal: Option<portcullis_resilience::rate::Rate>,
    rate_per_session: Option<portcullis_resilience::rate::Rate>,
    /// What loaded but may not be what the author meant (see [`Policy::warnings`]).
    warnings: Vec<Problem>,
}

impl Default for Policy {
    /// Guarded mode, no rules, no allow-lists, risky global options refused.
    fn default() -> Self {
        Policy::new(Mode::Guarded)
    }
}

impl Policy {
    /// A policy with only a mode (no rules, no allow-lists, risky global options refused).
    pub fn new(mode: Mode) -> Self {
        Policy {
            mode,
            shadow: false,
            rules: Vec::new(),
            services: None,
            regions: None,
            accounts: None,
            profiles: Vec::new(),
            endpoint_hosts: Vec::new(),
            allow_debug: false,
            allow_no_verify_ssl: false,
            allow_no_sign_request: false,
            cedar: None,
            rate_per_principal: None,
            rate_per_session: None,
            warnings: Vec::new(),
        }
    }

    /// What the policy says that loaded but may not be what its author meant: a region that no
    /// partition lists but that follows a partition's region pattern (it may be newer than
    /// Portcullis's data). `portcullis policy validate` prints them; whoever loads a policy
    /// should show them (they never stop it from loading).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The rate limits the policy sets (`limits.rate_per_principal`, `limits.rate_per_session`):
    /// ceilings on the server's own (the lower one applies).
    pub fn rate_limits(
        &self,
    ) -> (
        Option<portcullis_resilience::rate::Rate>,
        Option<portcullis_resilience::rate::Rate>,
    ) {
        (self.rate_per_principal, self.rate_per_session)
    }

    /// Parse and validate the native JSON form ([`PolicyConfig`]).
    pub fn from_json(source: &str) -> Result<Self, PolicyError> {
        config::require_object(source)?;
        let config: PolicyConfig =
            serde_json::from_str(source).map_err(|e| config::parse_error(&e))?;
        config.compile(source)
    }

    /// Parse and validate the native JSON form whose `cedar` key names a file: `read` is given
    /// that name and returns the Cedar source (path and text), so that this crate stays free of
    /// I/O ([`load_file`] reads it relative to the policy file).
    pub fn from_json_with_cedar_file(
        source: &str,
        read: impl FnOnce(&str) -> Result<CedarSource, PolicyError>,
    ) -> Result<Self, PolicyError> {
        config::require_object(source)?;
        let config: PolicyConfig =
            serde_json::from_str(source).map_err(|e| config::parse_error(&e))?;
        let file = config.cedar.as_deref().map(read).transpose()?;
        config.compile_with(source, file)
    }

    /// Parse the awslabs `aws-api-mcp-server` policy file (`mcp-security-policy.json`): its
    /// `denyList` entries become deny rules, its `elicitList` entries consent rules, in Guarded mode.
    pub fn from_awslabs_json(source: &str) -> Result<Self, PolicyError> {
        awslabs::parse(source)
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Replace the mode (e.g. with a stricter one the operator configured), keeping every rule,
    /// allow-list and option.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Whether the `regions` allow-list admits `region` (true when there is none). Used to fan
    /// `--region *` out only to regions the policy would allow.
    pub fn allows_region(&self, region: &str) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p.matches(region)))
    }

    /// The `regions` allow-list as written (patterns with `*` and `?`), or `None` when there is
    /// none. The session policy generator turns it into an `aws:RequestedRegion` condition.
    pub fn region_allow_list(&self) -> Option<Vec<&str>> {
        self.regions
            .as_ref()
            .map(|list| list.iter().map(NamePattern::as_str).collect())
    }

    /// Whether the `services` allow-list admits a service, by its CLI command name (`s3api`) or
    /// its model name (`s3`), as the decide stage matches it; true when there is no allow-list.
    pub fn allows_service(&self, cli_name: &str, service: &str) -> bool {
        self.services.as_ref().is_none_or(|list| {
            list.iter()
                .any(|p| p.matches(cli_name) || p.matches(service))
        })
    }

    /// Whether the policy has a `services` allow-list.
    pub fn restricts_services(&self) -> bool {
        self.services.is_some()
    }

    /// The hosts `--endpoint-url` may name besides loopback (`global_options.endpoint_hosts`), for
    /// the engine's own connect-time check.
    pub fn endpoint_hosts(&self) -> Vec<String> {
        self.endpoint_hosts
            .iter()
            .map(|p| p.as_str().to_string())
            .collect()
    }

    /// Whether the policy restricts accounts, so a decision needs the caller's account.
    pub fn restricts_accounts(&self) -> bool {
        self.accounts.is_some()
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The Cedar policies, if the policy has any.
    pub fn cedar(&self) -> Option<&CedarPolicies> {
        self.cedar.as_ref()
    }

    /// Whether the policy runs in shadow mode.
    pub fn shadow(&self) -> bool {
        self.shadow
    }

    /// Switch shadow mode: [`Policy::decide_enforced`] then allows everything, recording what it
    /// would have done.
    pub fn set_shadow(&mut self, shadow: bool) {
        self.shadow = shadow;
    }

    /// Append the rules of `other` (e.g. an awslabs file) after this policy's own. Rule ids must
    /// stay unique.
    pub fn merge_rules(&mut self, other: Policy) -> Result<(), PolicyError> {
        let dups: Vec<Problem> = other
            .rules
            .iter()
            .filter(|r| self.rules.iter().any(|s| s.id == r.id))
            .map(|r| Problem {
                path: "rules".into(),
                line: None,
                column: None,
                message: format!("duplicate rule id `{}` when merging policies", r.id),
            })
            .collect();
        if !dups.is_empty() {
            return Err(PolicyError::Invalid { problems: dups });
        }
        if other.cedar.is_some() && self.cedar.is_some() {
            return Err(PolicyError::Invalid {
                problems: vec![Problem { path: "cedar".into(), line: None, column: None, message: "both policies have Cedar policies; only one Cedar policy set can be in force".into() }],
            });
        }
        self.rules.extend(other.rules);
        self.warnings.extend(other.warnings);
        if other.cedar.is_some() {
            self.cedar = other.cedar;
        }
        Ok(())
    }

    /// Decide on a request, as enforced: in shadow mode a refusal becomes `Allow` with
    /// `would_have` set (and the reasons kept for the log); otherwise the same as [`Policy::decide`].
    pub fn decide_enforced(&self, req: &Request) -> Decision {
        let d = self.decide(req);
        if !self.shadow || d.outcome == Outcome::Allow {
            return d;
        }
        let mut reasons = vec![format!(
            "shadow mode: allowed, but an enforced policy would {}",
            match d.outcome {
                Outcome::Deny => "deny this request",
                _ => "ask for consent before running this request",
            }
        )];
        reasons.extend(d.reasons);
        Decision {
            outcome: Outcome::Allow,
            reasons,
            rule_ids: d.rule_ids,
            would_have: Some(d.outcome),
        }
    }

    /// The decision on the server's own start-up identity lookup (`sts get-caller-identity`,
    /// which needs no permission and changes nothing): as [`Policy::decide_enforced`], except that
    /// a refusal by the `accounts` allow-list alone does not apply — that rule can only be
    /// evaluated once the lookup has told the account.
    pub fn decide_identity_lookup(&self, req: &Request) -> Decision {
        let mut d = self.decide_enforced(req);
        let only_accounts = d.is_deny()
            && !d.rule_ids.is_empty()
            && d.rule_ids.iter().all(|r| r == "allowlist:accounts");
        if only_accounts {
            d.outcome = Outcome::Allow;
            d.reasons.push("start-up identity lookup: the accounts allow-list applies once the account is known".into());
        }
        d
    }

    /// Decide on a request. Pure: no I/O, no clock, the same answer for the same input.
    pub fn decide(&self, req: &Request) -> Decision {
        // 1. Refusals that no rule can override: global options and allow-lists, then deny rules.
        let mut deny = Decision::new(Outcome::Deny);
        self.check_global_options(req, &mut deny);
        self.check_allow_lists(req, &mut deny);
        let mut consent = Decision::new(Outcome::Consent);
        let mut allow = Decision::new(Outcome::Allow);
        for rule in &self.rules {
            let target = match rule.effect {
                Effect::Deny => &mut deny,
                Effect::Consent => &mut consent,
                Effect::Allow => continue,
            };
            if let Some(how) = rule.matched(req) {
                target.push(rule.id.clone(), rule.explain(req, &how));
            }
        }
        self.allow_rules(req, &mut allow);
        if let Some(cedar) = &self.cedar {
            cedar.evaluate(req, &mut deny, &mut consent, &mut allow);
        }
        if !deny.reasons.is_empty() {
            return deny;
        }
        if !consent.reasons.is_empty() {
            return consent;
        }
        if !allow.reasons.is_empty() {
            return allow;
        }
        self.mode_default(req)
    }

    /// Compute what every rule reaches now rather than on the first decision (the server calls
    /// this in the background at start-up).
    pub fn prepare(&self) {
        for rule in &self.rules {
            let _ = rule.reach();
        }
    }

    /// Allow rules allow a request only for all of it, as IAM does: a rule names the command as
    /// written, or every API operation it makes is allowed — by its command, or every IAM action
    /// it needs (dependent ones too) by an action pattern. An allow on `s3:GetObject` does not
    /// run an `aws s3 cp` between buckets, which also writes; nor an allow on
    /// `lambda:CreateFunction` a function that passes a role, which also needs `iam:PassRole`.
    fn allow_rules(&self, req: &Request, allow: &mut Decision) {
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Allow)
            .collect();
        if rules.is_empty() {
            return;
        }
        let cmd = req.command();
        for r in &rules {
            if let Some(p) = r
                .commands
                .iter()
                .find(|p| p.matches(&req.service_cli_name, &req.operation_cli_name))
            {
                allow.push(
                    r.id.clone(),
                    r.explain(req, &format!("`{cmd}` matches `{p}`")),
                );
                return;
            }
        }
        let mut found: Vec<(&Rule, String)> = Vec::new();
        for op in req.api_operations() {
            let by_name = rules.iter().find_map(|r| {
                r.commands
                    .iter()
                    .find(|p| p.matches(&op.service_cli_name, &op.operation_cli_name))
                    .map(|p| (*r, p))
            });
            if let Some((r, p)) = by_name {
                found.push((r, format!("the API call `{}` matches `{p}`", op.command())));
                continue;
            }
            if op.actions.is_empty() {
                return;
            }
            for a in &op.actions {
                let Some((r, p)) = rules
                    .iter()
                    .find_map(|r| r.actions.iter().find(|p| p.matches(a)).map(|p| (*r, p)))
                else {
                    return;
                };
                found.push((r, format!("IAM action `{a}` matches `{p}`")));
            }
        }
        for (r, how) in found {
            allow.push(r.id.clone(), r.explain(req, &how));
        }
    }

    fn check_global_options(&self, req: &Request, deny: &mut Decision) {
        let g = &req.global_options;
        if let Some(p) = &g.profile
            && !self.profiles.iter().any(|a| a == p)
        {
            deny.push(
                "global:profile",
                format!(
                    "`--profile {p}` is refused: credentials are pinned when the server starts; drop `--profile`, or list `{p}` in `global_options.profiles`"
                ),
            );
        }
        if let Some(url) = &g.endpoint_url
            && let Err(m) = endpoint::check(url, &self.endpoint_hosts)
        {
            deny.push("global:endpoint-url", m);
        }
        for (on, allowed, id, opt, why, key) in [
            (
                g.debug,
                self.allow_debug,
                "global:debug",
                "--debug",
                "it logs request details, signatures included",
                "allow_debug",
            ),
            (
                g.no_verify_ssl,
                self.allow_no_verify_ssl,
                "global:no-verify-ssl",
                "--no-verify-ssl",
                "it turns off TLS certificate checks",
                "allow_no_verify_ssl",
            ),
            (
                g.no_sign_request,
                self.allow_no_sign_request,
                "global:no-sign-request",
                "--no-sign-request",
                "it sends the request anonymously",
                "allow_no_sign_request",
            ),
        ] {
            if on && !allowed {
                deny.push(
                    id,
                    format!(
                        "`{opt}` is refused ({why}); drop it, or set `global_options.{key}: true`"
                    ),
                );
            }
        }
    }

    fn check_allow_lists(&self, req: &Request, deny: &mut Decision) {
        if let Some(list) = &self.services
            && !list
                .iter()
                .any(|p| p.matches(&req.service_cli_name) || p.matches(&req.service))
        {
            deny.push(
                "allowlist:services",
                format!("service `{}` ({}) is not in the policy's `services` allow-list; add it there to allow it", req.service_cli_name, req.service),
            );
        }
        if let Some(list) = &self.regions {
            match &req.region {
                Some(r) if list.iter().any(|p| p.matches(r)) => {}
                Some(r) => deny.push("allowlist:regions", format!("region `{r}` is not in the policy's `regions` allow-list; use an allowed region (`--region`) or add `{r}` there")),
                None => deny.push("allowlist:regions", "the request's region is unknown and the policy restricts regions; pass `--region` with an allowed region".to_string()),
            }
        }
        if let Some(list) = &self.accounts {
            match &req.account {
                Some(a) if list.iter().any(|p| p.matches(a)) => {}
                Some(a) => deny.push("allowlist:accounts", format!("account `{a}` is not in the policy's `accounts` allow-list; add it there to allow it")),
                None => deny.push("allowlist:accounts", "the request's account is unknown and the policy restricts accounts, so it cannot be allowed".to_string()),
            }
        }
    }

    fn mode_default(&self, req: &Request) -> Decision {
        let id = format!("mode:{}", self.mode);
        let cmd = req.command();
        let level = match req.access_level {
            Some(l) => l.to_string(),
            None => "unknown (treated as a write)".to_string(),
        };
        let is_read = matches!(
            req.access_level,
            Some(AccessLevel::List | AccessLevel::Read)
        ) && !req.destructive;
        let mut risks: Vec<String> = Vec::new();
        match (req.returns_secret, req.returns_credentials) {
            (true, true) => risks.push("returns a secret and credentials".into()),
            (true, false) => risks.push("returns a secret".into()),
            (false, true) => risks.push("returns credentials".into()),
            (false, false) => {}
        }
        if req.side_effects {
            let why: Vec<&str> = req
                .api_operations()
                .iter()
                .filter_map(|o| portcullis_classify::flags::side_effect(&o.service, &o.operation))
                .collect();
            risks.push(if why.is_empty() {
                "has side effects although it reads".into()
            } else {
                format!("has side effects although it reads: {}", why.join("; "))
            });
        }
        let sensitive = if risks.is_empty() {
            None
        } else {
            Some(risks.join(", and "))
        };
        let allow_hint = format!("add an allow rule for `{cmd}` to run it without asking");
        match self.mode {
            Mode::Unrestricted => Decision::new(Outcome::Allow).because(id, format!("unrestricted mode allows `{cmd}` (no rule matched)")),
            Mode::ReadOnly | Mode::Guarded if is_read => match &sensitive {
                None => Decision::new(Outcome::Allow).because(id, format!("{} mode allows `{cmd}` (access level {level})", self.mode)),
                Some(s) => Decision::new(Outcome::Consent).because(id, format!("`{cmd}` {s}; {} mode asks before revealing it ({allow_hint})", self.mode)),
            },
            Mode::ReadOnly => Decision::new(Outcome::Deny).because(
                id,
                format!(
                    "read-only mode denies `{cmd}` (access level {level}{}); only List and Read operations run — switch to guarded mode, or add a consent or allow rule for `{cmd}`",
                    if req.destructive { ", destructive" } else { "" }
                ),
            ),
            Mode::Guarded => Decision::new(Outcome::Consent).because(
                id,
                format!(
                    "guarded mode asks before `{cmd}` (access level {level}{}); {allow_hint}, or a deny rule to refuse it outright",
                    if req.destructive { ", destructive" } else { "" }
                ),
            ),
        }
    }
}

/// The awslabs policy file's place under a home directory: `~/.aws/aws-api-mcp/mcp-security-policy.json`.
pub fn awslabs_policy_path(home: &Path) -> std::path::PathBuf {
    home.join(".aws")
        .join("aws-api-mcp")
        .join("mcp-security-policy.json")
}

/// Read a policy file. The awslabs shape (a `policy` object or top-level `denyList` /
/// `elicitList`) is recognised by its keys; anything else is read as the native form.
pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if is_awslabs(&text) {
        return Policy::from_awslabs_json(&text);
    }
    // A `cedar` file is resolved relative to the policy file.
    Policy::from_json_with_cedar_file(&text, |name| {
        let cedar_path = path.parent().unwrap_or(Path::new("")).join(name);
        let shown = cedar_path.display().to_string();
        match std::fs::read_to_string(&cedar_path) {
            Ok(text) => Ok(CedarSource { name: shown, text }),
            Err(e) => Err(PolicyError::Io {
                path: shown,
                message: format!("{e} (the `cedar` file named by {})", path.display()),
            }),
        }
    })
    .map_err(|e| match e {
        PolicyError::Cedar { file, problems } if file == cedar::INLINE => PolicyError::Cedar {
            file: format!("{}#cedar_policies", path.display()),
            problems,
        },
        other => other,
    })
}

/// Whether `text` is an awslabs `aws-api-mcp-server` policy file (rather than a native one).
pub fn is_awslabs(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => {
            ["policy", "denyList", "denylist", "elicitList", "elicitlist"]
                .iter()
                .any(|k| map.contains_key(*k))
        }
        _ => false,
    }
}
