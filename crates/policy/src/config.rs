//! The native policy file (serde) and its validation into a [`Policy`].
//!
//! ```json
//! {
//!   "mode": "guarded",
//!   "shadow": false,
//!   "rules": [
//!     {"id": "no-iam-deletes", "effect": "deny", "commands": ["aws iam delete-*"], "actions": ["iam:Delete*"],
//!      "reason": "IAM deletions go through change control"}
//!   ],
//!   "services": ["s3", "ec2", "sts"],
//!   "regions": ["eu-west-1", "eu-central-*"],
//!   "accounts": ["123456789012"],
//!   "global_options": {"profiles": ["dev"], "endpoint_hosts": ["minio.internal"], "allow_debug": false},
//!   "cedar": "policies.cedar"
//! }
//! ```
//!
//! `cedar` names a file of Cedar policies relative to the policy file (read by
//! [`crate::load_file`]); `cedar_policies` (alias `cedarPolicies`) gives them inline instead. See
//! [`crate::cedar`] for the entity model.
//!
//! Unknown keys are rejected, and every problem is reported at once with where it is.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::cedar::{CedarPolicies, CedarSource};
use crate::names;
use crate::pattern::{ActionPattern, CommandPattern, NamePattern};
use crate::{Mode, Policy, Rule};

/// Why a policy did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON, or not the expected shape (unknown key, wrong type, ...).
    #[error("policy: line {line}, column {column}: {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// The JSON has the right shape but says something invalid (bad pattern, empty rule, ...).
    #[error("policy is invalid:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
    /// The file could not be read.
    #[error("policy file {path}: {message}")]
    Io { path: String, message: String },
    /// The Cedar policies do not parse or do not validate against the schema. Lines and columns
    /// are those of `file` (for inline `cedar_policies`, of the string's text).
    #[error("Cedar policies do not load:\n{}", problems.iter().map(|p| match (p.line, p.column) {
        (Some(l), Some(c)) => format!("  {file}:{l}:{c}: {}", p.message),
        _ => format!("  {file}: {}", p.message),
    }).collect::<Vec<_>>().join("\n"))]
    Cedar {
        file: String,
        problems: Vec<Problem>,
    },
}

/// One validation problem: where (a JSON path, and the line/column of the offending value when it
/// can be found in the text) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path, e.g. `rules[2].commands[0]`.
    pub path: String,
    /// 1-based line of the offending value, when found in the source text.
    pub line: Option<usize>,
    /// 1-based column of the offending value, when found in the source text.
    pub column: Option<usize>,
    /// The cause, with what to write instead.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => {
                write!(f, "line {l}, column {c} ({}): {}", self.path, self.message)
            }
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A policy file is a JSON object; serde would also accept an array for a struct, so check first.
pub(crate) fn require_object(source: &str) -> Result<(), PolicyError> {
    let Some((at, c)) = source.char_indices().find(|(_, c)| !c.is_whitespace()) else {
        return Ok(()); // empty: serde reports "EOF while parsing" with its position
    };
    if c == '{' {
        return Ok(());
    }
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    Err(PolicyError::Parse {
        line,
        column,
        message: format!("a policy file is a JSON object `{{...}}`, found `{c}`"),
    })
}

pub(crate) fn parse_error(e: &serde_json::Error) -> PolicyError {
    PolicyError::Parse {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C"; we report those as fields.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Collects problems and places them in the source text.
pub(crate) struct Problems<'a> {
    source: &'a str,
    pub(crate) list: Vec<Problem>,
    /// What loads but may not be what the author meant (a region newer than the data).
    pub(crate) warnings: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Problems {
            source,
            list: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn place(&self, path: String, value: Option<&str>, message: String) -> Problem {
        let (line, column) = value
            .and_then(|v| locate(self.source, v))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Problem {
            path,
            line,
            column,
            message,
        }
    }

    /// Record a problem about the JSON string `value` at `path`.
    pub(crate) fn add(&mut self, path: String, value: Option<&str>, message: String) {
        let p = self.place(path, value, message);
        self.list.push(p);
    }

    /// Record a warning about the JSON string `value` at `path`.
    pub(crate) fn warn(&mut self, path: String, value: Option<&str>, message: String) {
        let p = self.place(path, value, message);
        self.warnings.push(p);
    }

    /// Record what a known-names check found about `value` at `path`.
    pub(crate) fn found(&mut self, path: String, value: &str, found: crate::names::Found) {
        match found {
            crate::names::Found::Known => {}
            crate::names::Found::Warning(m) => self.warn(path, Some(value), m),
            crate::names::Found::Nothing(m) => self.add(path, Some(value), m),
        }
    }

    /// The warnings, or every problem as one error.
    pub(crate) fn finish(self) -> Result<Vec<Problem>, PolicyError> {
        if self.list.is_empty() {
            Ok(self.warnings)
        } else {
            Err(PolicyError::Invalid {
                problems: self.list,
            })
        }
    }
}

/// Line and column (1-based) of the first occurrence of `value` written as a JSON string.
fn locate(source: &str, value: &str) -> Option<(usize, usize)> {
    let needle = serde_json::to_string(value).ok()?;
    let at = source.find(&needle)?;
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    Some((line, column))
}

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Refuse the request.
    Deny,
    /// Ask a person first (`elicit` is accepted as a synonym, the awslabs word).
    #[serde(alias = "elicit")]
    Consent,
    /// Run it without asking (overrides the mode's default, never a deny or consent rule).
    Allow,
}

/// A rule as written in the native policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique id, reported in every decision the rule makes.
    pub id: String,
    /// Deny, consent or allow.
    pub effect: Effect,
    /// Command patterns, `aws <service> <operation>` with `*`.
    #[serde(default)]
    pub commands: Vec<String>,
    /// IAM action patterns, `service:Action` with `*`.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Why the rule exists; shown to the agent and the approver.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Settings for the AWS CLI global options that change where or how a request is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalOptionsConfig {
    /// Profiles `--profile` may name. Empty: `--profile` is refused (credentials are pinned at start-up).
    pub profiles: Vec<String>,
    /// Hosts `--endpoint-url` may point at, besides loopback (`*` wildcards, case-insensitive).
    pub endpoint_hosts: Vec<String>,
    /// Allow `--debug` (it prints request details, signatures included, to stderr).
    pub allow_debug: bool,
    /// Allow `--no-verify-ssl`.
    pub allow_no_verify_ssl: bool,
    /// Allow `--no-sign-request`.
    pub allow_no_sign_request: bool,
}

/// Limits the policy puts on calls (ceilings: the server's own limits apply when lower).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// AWS calls per principal: `N/s`, `N/m` or `N/h`, optionally `burst B` (e.g. `10/s burst 20`).
    pub rate_per_principal: Option<String>,
    /// AWS calls per MCP session, in the same form.
    pub rate_per_session: Option<String>,
}

/// The native policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Free-form version tag of the file.
    #[serde(default)]
    pub version: Option<String>,
    /// What happens when no rule matches.
    #[serde(default)]
    pub mode: Mode,
    /// Log what would be refused, refuse nothing.
    #[serde(default)]
    pub shadow: bool,
    /// Deny, consent and allow rules.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Services (CLI or botocore names, `*` wildcards) requests may address; absent: all.
    #[serde(default)]
    pub services: Option<Vec<String>>,
    /// Regions (`*` wildcards) requests may go to; absent: all.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Account ids requests may act in; absent: all.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// Global option settings.
    #[serde(default)]
    pub global_options: GlobalOptionsConfig,
    /// Rate limits (ceilings on the server's).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// A file of Cedar policies, relative to the policy file (read by [`crate::load_file`]).
    #[serde(default)]
    pub cedar: Option<String>,
    /// Cedar policies inline (instead of `cedar`).
    #[serde(default, alias = "cedarPolicies")]
    pub cedar_policies: Option<String>,
}

impl PolicyConfig {
    /// Validate and compile into a [`Policy`]. `source` (the text it came from, or "") is used to
    /// place problems at a line and column.
    pub fn compile(self, source: &str) -> Result<Policy, PolicyError> {
        self.compile_with(source, None)
    }

    /// [`PolicyConfig::compile`], with the text of the file that `cedar` names (read by the
    /// caller; `None` when there is none or it was not read).
    pub fn compile_with(
        self,
        source: &str,
        cedar_file: Option<CedarSource>,
    ) -> Result<Policy, PolicyError> {
        self.compile_checked(cedar_file, Problems::new(source), true)
    }

    /// Compile, adding to `problems` (already found by the caller). `check_commands`: whether
    /// command patterns must match a command of the CLI (the awslabs reader checks its entries
    /// itself, since an `aws s3 <op>` entry also stands for `aws s3api <op>`).
    pub(crate) fn compile_checked(
        self,
        cedar_file: Option<CedarSource>,
        mut problems: Problems<'_>,
        check_commands: bool,
    ) -> Result<Policy, PolicyError> {
        let cedar_source = match (&self.cedar, self.cedar_policies, cedar_file) {
            (Some(_), Some(_), _) => {
                problems.add("cedar".into(), None, "give Cedar policies either as a file (`cedar`) or inline (`cedar_policies`), not both".into());
                None
            }
            (Some(name), None, None) => {
                problems.add("cedar".into(), Some(name), format!("`cedar` names the file `{name}`, which only a policy loaded from a file can read (load_file)"));
                None
            }
            (Some(_), None, Some(file)) => Some(file),
            (None, Some(text), _) => Some(CedarSource {
                name: crate::cedar::INLINE.into(),
                text,
            }),
            (None, None, _) => None,
        };
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut ids = HashSet::new();
        for (i, rc) in self.rules.into_iter().enumerate() {
            let at = format!("rules[{i}]");
            if rc.id.trim().is_empty() {
                problems.add(
                    format!("{at}.id"),
                    None,
                    "a rule needs a non-empty `id`, reported in the decisions it makes".into(),
                );
            } else if !ids.insert(rc.id.clone()) {
                problems.add(
                    format!("{at}.id"),
                    Some(&rc.id),
                    format!("duplicate rule id `{}`; ids must be unique", rc.id),
                );
            }
            if rc.commands.is_empty() && rc.actions.is_empty() {
                problems.add(at.clone(), Some(&rc.id), format!("rule `{}` matches nothing: give it `commands` (e.g. `aws iam delete-*`) or `actions` (e.g. `iam:Delete*`)", rc.id));
            }
            let mut rule = Rule::new(rc.id.clone(), rc.effect, rc.reason.clone());
            for (j, c) in rc.commands.iter().enumerate() {
                let path = format!("{at}.commands[{j}]");
                match CommandPattern::parse(c) {
                    Ok(p) => {
                        if check_commands {
                            problems.found(path, c, names::command(&p));
                        }
                        rule.commands.push(p);
                    }
                    Err(m) => problems.add(path, Some(c), m),
                }
            }
            for (j, a) in rc.actions.iter().enumerate() {
                let path = format!("{at}.actions[{j}]");
                match ActionPattern::parse(a) {
                    Ok(p) => {
                        problems.found(path, a, names::action(&p));
                        rule.actions.push(p);
                    }
                    Err(m) => problems.add(path, Some(a), m),
                }
            }
            rules.push(rule);
        }
        let services = name_list(&mut problems, "services", self.services, false, |s| {
            (!s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '*' | '.' | '_')))
                .then(|| names::service(s))
                .ok_or("service names are lowercase letters, digits and `-` (CLI names like `s3api` or botocore names like `s3`), with `*` wildcards")
        });
        let regions = name_list(&mut problems, "regions", self.regions, false, |s| {
            (!s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '*')))
                .then(|| names::region(s))
                .ok_or("regions are lowercase letters, digits and `-` (e.g. `eu-west-1`), with `*` wildcards")
        });
        let accounts = name_list(&mut problems, "accounts", self.accounts, false, |s| {
            (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
                .then_some(names::Found::Known)
                .ok_or(
                    "account ids are exactly 12 digits (wildcards are not accepted for accounts)",
                )
        });
        let g = self.global_options;
        for (i, p) in g.profiles.iter().enumerate() {
            if p.trim().is_empty() {
                problems.add(
                    format!("global_options.profiles[{i}]"),
                    Some(p),
                    "empty profile name".into(),
                );
            }
        }
        for (i, h) in g.endpoint_hosts.iter().enumerate() {
            if let Err(m) = check_endpoint_host(h) {
                problems.add(format!("global_options.endpoint_hosts[{i}]"), Some(h), m);
            }
        }
        let mut rate = |key: &str, text: &Option<String>| {
            let text = text.as_ref()?;
            match portcullis_resilience::rate::Rate::parse(text) {
                Ok(r) => Some(r),
                Err(m) => {
                    problems.add(format!("limits.{key}"), Some(text), m);
                    None
                }
            }
        };
        let rate_per_principal = rate("rate_per_principal", &self.limits.rate_per_principal);
        let rate_per_session = rate("rate_per_session", &self.limits.rate_per_session);
        // The Cedar policies are compiled even when the JSON has problems, so that one run
        // reports every problem; alone, their errors keep their own form (file:line:column).
        let cedar = match cedar_source
            .as_ref()
            .map(CedarPolicies::compile)
            .transpose()
        {
            Ok(c) => c,
            Err(e) if problems.list.is_empty() => return Err(e),
            Err(PolicyError::Cedar {
                file,
                problems: cedar_problems,
            }) => {
                // Placed in the Cedar text, not in the JSON: the place goes in the message.
                let inline = file == crate::cedar::INLINE;
                for p in cedar_problems {
                    let message = match (p.line, p.column, inline) {
                        (Some(l), Some(c), true) => {
                            format!("line {l}, column {c} of the Cedar text: {}", p.message)
                        }
                        (Some(l), Some(c), false) => format!("{file}:{l}:{c}: {}", p.message),
                        (_, _, true) => p.message,
                        (_, _, false) => format!("{file}: {}", p.message),
                    };
                    let path = if inline { "cedar_policies" } else { "cedar" };
                    problems.list.push(Problem {
                        path: path.into(),
                        line: None,
                        column: None,
                        message,
                    });
                }
                None
            }
            Err(other) => {
                problems.add("cedar".into(), None, other.to_string());
                None
            }
        };
        if let Some(c) = &cedar {
            for id in c.ids() {
                let reserved = ["mode:", "global:", "allowlist:"]
                    .iter()
                    .any(|p| id.starts_with(p));
                if reserved || rules.iter().any(|r: &Rule| r.id == *id) {
                    problems.add("cedar".into(), None, format!("Cedar policy id `{id}` is also {}; ids must be unique", if reserved { "a reserved id (`mode:`, `global:` and `allowlist:` ids are Portcullis's own)" } else { "a rule id" }));
                }
            }
        }
        let warnings = problems.finish()?;
        Ok(Policy {
            cedar,
            mode: self.mode,
            shadow: self.shadow,
            rules,
            services,
            regions,
            accounts,
            profiles: g.profiles,
            endpoint_hosts: g
                .endpoint_hosts
                .iter()
                .map(|h| NamePattern::new(h.trim_end_matches('.'), true))
                .collect(),
            allow_debug: g.allow_debug,
            allow_no_verify_ssl: g.allow_no_verify_ssl,
            allow_no_sign_request: g.allow_no_sign_request,
            rate_per_principal,
            rate_per_session,
            warnings,
        })
    }
}

fn name_list(
    problems: &mut Problems<'_>,
    key: &str,
    list: Option<Vec<String>>,
    case_insensitive: bool,
    check: impl Fn(&str) -> Result<names::Found, &'static str>,
) -> Option<Vec<NamePattern>> {
    let list = list?;
    if list.is_empty() {
        problems.add(
            key.into(),
            None,
            format!("`{key}: []` would refuse every request; leave `{key}` out to allow all"),
        );
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        match check(s) {
            Ok(found) => {
                problems.found(format!("{key}[{i}]"), s, found);
                out.push(NamePattern::new(s, case_insensitive));
            }
            Err(m) => problems.add(format!("{key}[{i}]"), Some(s), format!("`{s}`: {m}")),
        }
    }
    Some(out)
}

/// An endpoint host allow-list entry: a host name or IP, never link-local (IMDS lives there).
fn check_endpoint_host(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("empty host".into());
    }
    if h.contains("://") || h.contains('/') || h.contains('@') {
        return Err(format!(
            "`{h}` is not a host name: list hosts only (e.g. `minio.internal`), not URLs"
        ));
    }
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>()
        && crate::endpoint::is_link_local(ip)
    {
        return Err(format!(
            "`{h}` is link-local (instance metadata lives there); it can never be an endpoint"
        ));
    }
    if let Some(c) = bare
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | ':' | '_')))
    {
        return Err(format!("host `{h}` contains `{c}`"));
    }
    Ok(())
}
