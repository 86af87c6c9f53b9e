//! Cedar policies in the decide stage: conditions on region, resource ARNs, parameters, access
//! level and flags that the native rules cannot express.
//!
//! # Entity model
//!
//! One [`Request`] becomes one Cedar request per (IAM action × resource ARN) pair:
//!
//! * **principal** `Portcullis::Client::"owner"` — the MCP client / owner the server acts for
//!   ([`Request::principal`], `owner` unless the caller names one).
//! * **action** `Portcullis::Action::"s3:DeleteObject"` — an IAM action of the call, spelled as the
//!   IAM catalogue spells it. Each action is `in` its service group `Portcullis::Action::"s3:*"`,
//!   so `action in Portcullis::Action::"s3:*"` covers a whole service; access levels are conditions
//!   (`context.accessLevel == "Write"`). A call without a known IAM action is
//!   `Portcullis::Action::"unknown"`. Cedar ids are exact: `"s3:Delete*"` is refused at load time
//!   (use a service group and a condition, or a native rule's action pattern).
//! * **resource** `Portcullis::Resource::"arn:aws:s3:::bucket/key"` — an ARN the call touches,
//!   also given as the attribute `arn` because Cedar's `like` works on strings:
//!   `resource.arn like "arn:aws:s3:::prod-*"` matches ARNs by prefix. When no ARN is known, the
//!   sentinel `Portcullis::Resource::"<botocore service>"` (`"s3"`) with `arn == ""`.
//! * **context** — see `cedar/portcullis.cedarschema`: `service`, `operation`, `cliCommand`,
//!   `actions`, `accessLevel` (`"Unknown"` when unclassified), `returnsSecret`,
//!   `returnsCredentials`, `destructive`, `region?`, `account?`, `resources`, `parameters`
//!   (`"Path=value"` strings), `parameterNames`, `endpointUrl?`, `profile?`.
//!
//! # Effects
//!
//! * `forbid` → Deny. A `forbid` that cannot be evaluated for a request (an evaluation error)
//!   also denies: fail closed.
//! * `permit` annotated `@consent` (any value, e.g. `@consent("IAM changes are reviewed")`) →
//!   Consent.
//! * plain `permit` → Allow, as an explicit allow rule: it overrides the mode's default, never a
//!   deny or a consent from another rule.
//!
//! Every policy needs `@id("...")`: the id is reported in decisions (`rule_ids`) and must not
//! clash with a native rule's id. `@reason("...")` is shown to the agent and the approver.
//!
//! # Validation
//!
//! The policies are parsed and validated (strict mode) against the schema when the policy loads.
//! Action ids are checked against the IAM catalogue and declared in the schema (with, for each
//! service group a policy names, all of the service's actions), so a misspelt action, attribute
//! or type is a load error naming the line, column and cause.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision as CedarDecision, Effect as CedarEffect,
    Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet,
    Request as CedarRequest, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;
use serde_json::{Value, json};

use crate::config::{PolicyError, Problem};
use crate::decision::Decision;
use crate::request::Request;

/// The schema's fixed part: entity types and the context record. Actions are added at load time.
pub const SCHEMA: &str = include_str!("../cedar/portcullis.cedarschema");

/// The source name of inline `cedar_policies` text (the loader replaces it with `<file>#cedar_policies`).
pub const INLINE: &str = "cedar_policies";

/// The action used when a call has no known IAM action.
const UNKNOWN_ACTION: &str = "unknown";

/// Where the Cedar text came from, for error messages (`policies.cedar`, or
/// `policy.json#cedar_policies` for inline text).
#[derive(Debug, Clone)]
pub struct CedarSource {
    /// A name for the text: a file path, or `<file>#cedar_policies`.
    pub name: String,
    /// The Cedar policies.
    pub text: String,
}

/// One loaded Cedar policy, as decisions report it.
#[derive(Debug, Clone)]
pub struct CedarPolicyInfo {
    /// The `@id` annotation.
    pub id: String,
    /// `forbid`, `permit` or `permit @consent`, as the decide stage reads it.
    pub effect: crate::Effect,
    /// The `@reason` annotation, if any.
    pub reason: Option<String>,
    /// The policy looks at `context.parameters` or `context.parameterNames`, so a request whose
    /// parameters were cut at the bounds cannot be decided on by it alone.
    pub uses_parameters: bool,
}

/// A validated Cedar policy set.
#[derive(Debug, Clone)]
pub struct CedarPolicies {
    name: String,
    types: Types,
    set: PolicySet,
    infos: Vec<CedarPolicyInfo>,
}

impl CedarPolicies {
    /// Parse and validate `source` against the schema. Errors name `source.name`, the line and
    /// column, and the cause.
    pub fn compile(source: &CedarSource) -> Result<Self, PolicyError> {
        let text = source.text.as_str();
        let fail = |problems: Vec<Problem>| PolicyError::Cedar {
            file: source.name.clone(),
            problems,
        };
        let parsed = parse_static(text).map_err(fail)?;
        // Re-key every policy by its @id, and read its effect.
        let mut problems = Vec::new();
        let mut set = PolicySet::new();
        let mut infos = Vec::new();
        let mut ids = HashSet::new();
        let mut actions: BTreeSet<String> = BTreeSet::new();
        let mut groups: BTreeSet<String> = BTreeSet::new();
        for p in parsed.policies() {
            let at = locate(text, &p.to_string());
            let (id, effect) = match identify(p, text, at, &mut ids) {
                Ok(found) => found,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            let id = id.as_str();
            let uids = match p.action_constraint() {
                ActionConstraint::Any => Vec::new(),
                ActionConstraint::Eq(u) => vec![u],
                ActionConstraint::In(us) => us,
            };
            for u in uids {
                let name = u.id().unescaped().to_string();
                if u.type_name().to_string() != "Portcullis::Action" {
                    continue; // the validator reports it
                }
                match check_action(&name) {
                    Ok(ActionRef::Group(prefix)) => {
                        groups.insert(prefix);
                    }
                    Ok(ActionRef::Action(canonical)) => {
                        actions.insert(canonical);
                    }
                    Ok(ActionRef::Unknown) => {}
                    Err(m) => problems.push(problem(
                        text,
                        locate(text, &format!("\"{name}\"")).or(at),
                        format!("policy `{id}`: {m}"),
                    )),
                }
            }
            let body = p.to_string();
            let uses_parameters = body.contains("parameters") || body.contains("parameterNames");
            infos.push(CedarPolicyInfo {
                id: id.to_string(),
                effect,
                reason: p.annotation("reason").map(str::to_string),
                uses_parameters,
            });
            if let Err(e) = set.add(p.new_id(PolicyId::new(id))) {
                problems.push(problem(text, at, e.to_string()));
            }
        }
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        let schema = schema_for(&actions, &groups).map_err(|m| {
            fail(vec![Problem {
                path: "schema".into(),
                line: None,
                column: None,
                message: m,
            }])
        })?;
        let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let problems = result
                .validation_errors()
                .flat_map(|e| diagnostic_problems(text, e, "validation error"))
                .collect();
            return Err(fail(problems));
        }
        let types = Types::new().map_err(|m| {
            fail(vec![Problem {
                path: "schema".into(),
                line: None,
                column: None,
                message: m,
            }])
        })?;
        Ok(CedarPolicies {
            name: source.name.clone(),
            types,
            set,
            infos,
        })
    }

    /// Where the policies came from.
    pub fn source_name(&self) -> &str {
        &self.name
    }

    /// The policies, in file order.
    pub fn policies(&self) -> &[CedarPolicyInfo] {
        &self.infos
    }

    /// The policy ids, in file order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.infos.iter().map(|i| i.id.as_str())
    }

    fn info(&self, id: &str) -> Option<&CedarPolicyInfo> {
        self.infos.iter().find(|i| i.id == id)
    }

    /// Evaluate `req` and add what matched to the three decisions. Pure.
    ///
    /// A command that makes several API operations (`aws s3 rm` makes `s3api delete-object`) is
    /// evaluated as written and once per operation, with that operation's service, operation,
    /// `cliCommand` and actions in the context, so a policy on any spelling of the call decides.
    pub(crate) fn evaluate(
        &self,
        req: &Request,
        deny: &mut Decision,
        consent: &mut Decision,
        allow: &mut Decision,
    ) {
        self.evaluate_one(req, &format!("`{}`", req.command()), deny, consent, allow);
        for op in &req.operations {
            if op.service_cli_name == req.service_cli_name
                && op.operation_cli_name == req.operation_cli_name
            {
                continue;
            }
            let view = Request {
                service_cli_name: op.service_cli_name.clone(),
                operation_cli_name: op.operation_cli_name.clone(),
                service: op.service.clone(),
                operation: op.operation.clone(),
                actions: op.actions.clone(),
                operations: Vec::new(),
                ..req.clone()
            };
            let shown = format!(
                "`{}` through its API call `{}`",
                req.command(),
                op.command()
            );
            self.evaluate_one(&view, &shown, deny, consent, allow);
        }
        if req.parameters_truncated {
            // The parameters seen are not all of them: decide as if every condition on the rest
            // held — a forbid denies, a consent asks (a plain permit does not allow: `evaluate_one`
            // skips it).
            for info in self.infos.iter().filter(|i| i.uses_parameters) {
                let why = format!(
                    "the request has more parameters than Portcullis evaluates (at most {} values of {} characters), so Cedar policy `{}`, which looks at parameters, applies as if its conditions on the rest held",
                    crate::request::MAX_PARAMETERS,
                    crate::request::MAX_PARAMETER_VALUE,
                    info.id
                );
                match info.effect {
                    crate::Effect::Deny => deny.push(info.id.clone(), why),
                    crate::Effect::Consent => consent.push(info.id.clone(), why),
                    crate::Effect::Allow => {}
                }
            }
        }
    }

    /// `cmd` names what is decided, quoted: "`aws s3api delete-object`", or "`aws s3 rm` through
    /// its API call `aws s3api delete-object`".
    fn evaluate_one(
        &self,
        req: &Request,
        cmd: &str,
        deny: &mut Decision,
        consent: &mut Decision,
        allow: &mut Decision,
    ) {
        let principal = uid(
            &self.types.client,
            req.principal.as_deref().unwrap_or("owner"),
        );
        let actions: Vec<String> = if req.actions.is_empty() {
            vec![UNKNOWN_ACTION.to_string()]
        } else {
            req.actions.iter().map(|a| canonical_action(a)).collect()
        };
        let resources: Vec<String> = if req.resources.is_empty() {
            vec![req.service.clone()]
        } else {
            req.resources.clone()
        };
        let context = match Context::from_json_value(context_json(req, &actions), None) {
            Ok(c) => c,
            Err(e) => {
                // Cannot happen for the record we build; if it did, no Cedar policy could be
                // checked, so refuse rather than skip them.
                deny.push(
                    "cedar",
                    format!(
                        "Cedar policies ({}) could not be evaluated for {cmd}: {e}",
                        self.name
                    ),
                );
                return;
            }
        };
        let authorizer = Authorizer::new();
        for action in &actions {
            let action_uid = uid(&self.types.action, action);
            let mut parents = HashSet::new();
            if let Some((prefix, _)) = action.split_once(':') {
                parents.insert(uid(&self.types.action, &format!("{prefix}:*")));
            }
            for resource in &resources {
                let resource_uid = uid(&self.types.resource, resource);
                let arn = if req.resources.is_empty() {
                    String::new()
                } else {
                    resource.clone()
                };
                let resource_entity = Entity::new(
                    resource_uid.clone(),
                    [("arn".to_string(), RestrictedExpression::new_string(arn))].into(),
                    HashSet::new(),
                );
                let entities = resource_entity.map_err(|e| e.to_string()).and_then(|r| {
                    Entities::from_entities(
                        [
                            Entity::new_no_attrs(principal.clone(), HashSet::new()),
                            Entity::new_no_attrs(action_uid.clone(), parents.clone()),
                            r,
                        ],
                        None,
                    )
                    .map_err(|e| e.to_string())
                });
                let request = CedarRequest::new(
                    principal.clone(),
                    action_uid.clone(),
                    resource_uid,
                    context.clone(),
                    None,
                );
                let (entities, request) = match (entities, request) {
                    (Ok(e), Ok(r)) => (e, r),
                    (Err(e), _) => {
                        deny.push(
                            "cedar",
                            format!(
                                "Cedar policies ({}) could not be evaluated for {cmd}: {e}",
                                self.name
                            ),
                        );
                        return;
                    }
                    (_, Err(e)) => {
                        deny.push(
                            "cedar",
                            format!(
                                "Cedar policies ({}) could not be evaluated for {cmd}: {e}",
                                self.name
                            ),
                        );
                        return;
                    }
                };
                let response = authorizer.is_authorized(&request, &self.set, &entities);
                let on = if req.resources.is_empty() {
                    format!("action `{action}`")
                } else {
                    format!("action `{action}` on `{resource}`")
                };
                for err in response.diagnostics().errors() {
                    let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = err;
                    let id = e.policy_id().to_string();
                    if self
                        .info(&id)
                        .is_some_and(|i| i.effect == crate::Effect::Deny)
                    {
                        deny.push(id.clone(), format!("Cedar policy `{id}` could not be evaluated for {cmd} ({on}): {}; a forbid that cannot be evaluated denies (fail closed)", e.inner()));
                    }
                }
                for pid in response.diagnostics().reason() {
                    let id = pid.to_string();
                    let Some(info) = self.info(&id) else { continue };
                    // A permit that reads parameters cannot allow a request whose parameters were cut.
                    if info.effect == crate::Effect::Allow
                        && info.uses_parameters
                        && req.parameters_truncated
                    {
                        continue;
                    }
                    let (target, verb) = match (response.decision(), info.effect) {
                        (CedarDecision::Deny, crate::Effect::Deny) => (&mut *deny, "forbids"),
                        (CedarDecision::Allow, crate::Effect::Consent) => {
                            (&mut *consent, "requires consent for")
                        }
                        (CedarDecision::Allow, crate::Effect::Allow) => (&mut *allow, "permits"),
                        _ => continue,
                    };
                    let mut reason = format!("Cedar policy `{id}` {verb} {cmd} ({on})");
                    if let Some(r) = &info.reason {
                        let _ = write!(reason, ": {r}");
                    }
                    target.push(id, reason);
                }
            }
        }
    }
}

/// `text` parsed as static Cedar policies (templates are refused), with each problem placed.
pub(crate) fn parse_static(text: &str) -> Result<PolicySet, Vec<Problem>> {
    let parsed =
        PolicySet::from_str(text).map_err(|e| diagnostic_problems(text, &e, "syntax error"))?;
    if parsed.templates().next().is_some() {
        return Err(vec![problem(
            text,
            None,
            "templates (`?principal`, `?resource`) are not supported; write static policies".into(),
        )]);
    }
    Ok(parsed)
}

/// A policy's `@id` (present, unique among `ids`) and its effect (`forbid` → Deny, `permit` with
/// `@consent` → Consent, else Allow; `@consent` on a `forbid` is refused).
pub(crate) fn identify(
    p: &cedar_policy::Policy,
    text: &str,
    at: Option<usize>,
    ids: &mut HashSet<String>,
) -> Result<(String, crate::Effect), Problem> {
    let Some(id) = p.annotation("id").map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(problem(
            text,
            at,
            "every Cedar policy needs an `@id(\"...\")` annotation; decisions report it".into(),
        ));
    };
    if !ids.insert(id.to_string()) {
        return Err(problem(
            text,
            at,
            format!("duplicate Cedar policy id `{id}`; ids must be unique"),
        ));
    }
    let effect = match (p.effect(), p.annotation("consent").is_some()) {
        (CedarEffect::Forbid, true) => {
            return Err(problem(
                text,
                at,
                format!(
                    "policy `{id}`: `@consent` applies to `permit` policies only (a `forbid` always denies)"
                ),
            ));
        }
        (CedarEffect::Forbid, false) => crate::Effect::Deny,
        (CedarEffect::Permit, true) => crate::Effect::Consent,
        (CedarEffect::Permit, false) => crate::Effect::Allow,
    };
    Ok((id.to_string(), effect))
}

enum ActionRef {
    /// `svc:*`: the service prefix.
    Group(String),
    /// One catalogued action, in the catalogue's spelling.
    Action(String),
    /// `unknown`.
    Unknown,
}

fn check_action(name: &str) -> Result<ActionRef, String> {
    if name == UNKNOWN_ACTION {
        return Ok(ActionRef::Unknown);
    }
    let cat = portcullis_iam::catalogue();
    let Some((prefix, action)) = name.split_once(':') else {
        return Err(format!(
            "action `{name}` is not `service:Action` (e.g. `s3:DeleteObject`), a service group `s3:*`, or `unknown`"
        ));
    };
    let Some(service) = cat.service(prefix) else {
        return Err(format!(
            "`{prefix}` in action `{name}` is not an IAM service prefix"
        ));
    };
    if action == "*" {
        return Ok(ActionRef::Group(service.prefix.clone()));
    }
    if action.contains('*') {
        return Err(format!(
            "Cedar action ids are exact, `{name}` is a wildcard: write `action in Portcullis::Action::\"{prefix}:*\"` with a condition (e.g. on `context.operation` or `context.accessLevel`), or use a native rule's `actions` pattern"
        ));
    }
    match service.action(action) {
        Some(info) if info.qualified_name() == name => Ok(ActionRef::Action(name.to_string())),
        Some(info) => Err(format!(
            "write `{}`, the IAM catalogue's spelling, not `{name}` (Cedar ids are case-sensitive)",
            info.qualified_name()
        )),
        None => Err(format!(
            "`{name}` is not an IAM action of `{prefix}` in the catalogue"
        )),
    }
}

/// The catalogue's spelling of a request's action, so that policies written in that spelling match.
fn canonical_action(a: &str) -> String {
    portcullis_iam::catalogue()
        .action(a)
        .map_or_else(|| a.to_string(), |i| i.qualified_name())
}

/// The full schema: the fixed part plus the actions the policies name.
fn schema_for(actions: &BTreeSet<String>, groups: &BTreeSet<String>) -> Result<Schema, String> {
    let cat = portcullis_iam::catalogue();
    let mut all: BTreeSet<String> = actions.clone();
    for prefix in groups {
        if let Some(service) = cat.service(prefix) {
            all.extend(service.actions().iter().map(|a| a.qualified_name()));
        }
    }
    let applies = "appliesTo { principal: [Client], resource: [Resource], context: Context }";
    let mut decl = String::new();
    let mut declared_groups: BTreeSet<String> = BTreeSet::new();
    for a in &all {
        if let Some((prefix, _)) = a.split_once(':') {
            declared_groups.insert(prefix.to_string());
        }
    }
    for g in &declared_groups {
        let _ = writeln!(decl, "  action \"{g}:*\";");
    }
    for a in &all {
        let prefix = a.split_once(':').map_or("", |(p, _)| p);
        let _ = writeln!(decl, "  action \"{a}\" in [\"{prefix}:*\"] {applies};");
    }
    let _ = writeln!(decl, "  action \"{UNKNOWN_ACTION}\" {applies};");
    let Some(end) = SCHEMA.rfind('}') else {
        return Err("the built-in Cedar schema is malformed".into());
    };
    let text = format!("{}{decl}}}\n", &SCHEMA[..end]);
    Schema::from_cedarschema_str(&text)
        .map(|(s, _warnings)| s)
        .map_err(|e| format!("the built-in Cedar schema does not load: {e}"))
}

/// The entity types of the schema, parsed once.
#[derive(Debug, Clone)]
struct Types {
    client: EntityTypeName,
    action: EntityTypeName,
    resource: EntityTypeName,
}

impl Types {
    fn new() -> Result<Types, String> {
        let t = |name: &str| {
            EntityTypeName::from_str(name).map_err(|e| format!("entity type `{name}`: {e}"))
        };
        Ok(Types {
            client: t("Portcullis::Client")?,
            action: t("Portcullis::Action")?,
            resource: t("Portcullis::Resource")?,
        })
    }
}

fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

/// The context record (see the schema).
pub(crate) fn context_json(req: &Request, actions: &[String]) -> Value {
    let level = req.access_level.map_or("Unknown", |l| l.as_str());
    let names: BTreeSet<&str> = req
        .parameters
        .iter()
        .filter_map(|p| p.split_once('=').map(|(n, _)| n))
        .collect();
    let mut ctx = json!({
        "service": req.service,
        "operation": req.operation,
        "cliCommand": req.command(),
        "actions": actions,
        "accessLevel": level,
        "returnsSecret": req.returns_secret,
        "returnsCredentials": req.returns_credentials,
        "destructive": req.destructive,
        "sideEffects": req.side_effects,
        "resources": req.resources,
        "parameters": req.parameters,
        "parameterNames": names,
    });
    if let Some(obj) = ctx.as_object_mut() {
        for (k, v) in [
            ("region", &req.region),
            ("account", &req.account),
            ("endpointUrl", &req.global_options.endpoint_url),
            ("profile", &req.global_options.profile),
        ] {
            if let Some(v) = v {
                obj.insert(k.into(), Value::String(v.clone()));
            }
        }
    }
    ctx
}

/// The problems of a Cedar diagnostic, each placed at its first label (or the error's own span).
pub(crate) fn diagnostic_problems(
    text: &str,
    d: &(dyn Diagnostic + '_),
    what: &str,
) -> Vec<Problem> {
    // ParseErrors is a list whose `related` diagnostics are the individual errors.
    let mut out = Vec::new();
    if let Some(related) = d.related() {
        for r in related {
            out.push(one_problem(text, r, what));
        }
    }
    if out.is_empty() {
        out.push(one_problem(text, d, what));
    }
    out
}

fn one_problem(text: &str, d: &(dyn Diagnostic + '_), what: &str) -> Problem {
    let offset = d.labels().and_then(|mut l| l.next()).map(|l| l.offset());
    let mut message = format!("{what}: {d}");
    if let Some(help) = d.help() {
        let _ = write!(message, " (help: {help})");
    }
    problem(text, offset, message)
}

pub(crate) fn problem(text: &str, offset: Option<usize>, message: String) -> Problem {
    let (line, column) = match offset {
        Some(o) => {
            let (l, c) = line_col(text, o);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Problem {
        path: String::new(),
        line,
        column,
        message,
    }
}

pub(crate) fn locate(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::AccessLevel;

    /// The context we build at decision time conforms to the schema the policies were validated
    /// against (so validated policies never meet a context of another shape).
    #[test]
    fn the_runtime_context_conforms_to_the_schema() {
        let schema = schema_for(&["s3:DeleteObject".to_string()].into(), &BTreeSet::new()).unwrap();
        let types = Types::new().unwrap();
        let mut req = Request {
            service_cli_name: "s3api".into(),
            operation_cli_name: "delete-object".into(),
            service: "s3".into(),
            operation: "DeleteObject".into(),
            actions: vec!["s3:DeleteObject".into()],
            access_level: Some(AccessLevel::Write),
            destructive: true,
            resources: vec!["arn:aws:s3:::b/k".into()],
            parameters: vec!["Bucket=b".into(), "Key=k".into()],
            ..Request::default()
        };
        for full in [false, true] {
            if full {
                req.region = Some("eu-west-1".into());
                req.account = Some("123456789012".into());
                req.global_options.endpoint_url = Some("http://localhost:9000".into());
                req.global_options.profile = Some("dev".into());
            }
            let context = Context::from_json_value(context_json(&req, &req.actions), None).unwrap();
            let r = CedarRequest::new(
                uid(&types.client, "owner"),
                uid(&types.action, "s3:DeleteObject"),
                uid(&types.resource, "arn:aws:s3:::b/k"),
                context,
                Some(&schema),
            );
            assert!(r.is_ok(), "full={full}: {r:?}");
        }
    }

    #[test]
    fn service_groups_declare_the_services_actions() {
        let schema = schema_for(&BTreeSet::new(), &["iam".to_string()].into()).unwrap();
        let n = schema.actions().count();
        assert!(n > 100, "iam has well over 100 actions, got {n}");
    }
}
