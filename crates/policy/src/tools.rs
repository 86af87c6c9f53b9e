//! Cedar policies on the gateway's proxied tool calls (`portcullis gateway`).
//!
//! # Entity model
//!
//! * **principal** `Portcullis::Client::"owner"`.
//! * **action** `Portcullis::Action::"CallTool"` (the only one).
//! * **resource** `Portcullis::Tool::"filesystem__write_file"`, with the attributes `upstream`
//!   (`filesystem`) and `name` (`write_file`): `resource.upstream == "filesystem"` or
//!   `resource.name like "delete_*"`.
//! * **context** `upstream`, `tool`, `readOnly` and `destructive` (the classification after the
//!   gateway policy's overrides), `argumentNames` (the set of the call's argument names) and
//!   `arguments`: a record with one optional `String` attribute per argument name any pinned tool
//!   declares. A string argument is given as itself, any other value as its compact JSON
//!   (`5`, `true`, `["a"]`): `context.arguments has path && context.arguments.path like
//!   "/srv/data/*"`.
//!
//! # Effects
//!
//! As for `call_aws`: `forbid` denies (and a `forbid` that cannot be evaluated denies too),
//! `permit` with `@consent` asks a person, a plain `permit` allows. Every policy needs `@id`;
//! `@reason` (else a `@consent` text) is shown. Policies are validated (strict) against a schema generated from the
//! argument names, so a misspelt attribute is a load error with its line and column.

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde_json::{Map, Value};

use crate::Effect;
use crate::cedar::{diagnostic_problems, identify, locate, parse_static, problem};
use crate::config::Problem;

/// The schema's fixed part; the `Arguments` record is generated.
const SCHEMA: &str = r#"namespace Portcullis {
  entity Client;
  entity Tool = { upstream: String, name: String };
  type ToolContext = {
    upstream: String,
    tool: String,
    readOnly: Bool,
    destructive: Bool,
    argumentNames: Set<String>,
    arguments: Arguments,
  };
  action "CallTool" appliesTo { principal: [Client], resource: [Tool], context: ToolContext };
}
"#;

/// One proxied call, as the policies see it.
#[derive(Debug, Clone)]
pub struct ToolCall<'a> {
    /// Who calls (`owner`).
    pub principal: &'a str,
    pub upstream: &'a str,
    pub tool: &'a str,
    pub read_only: bool,
    pub destructive: bool,
    pub arguments: &'a Map<String, Value>,
}

/// What the policies say about one call: the strongest effect and the policies behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolVerdict {
    pub effect: Effect,
    /// The deciding policies' ids.
    pub ids: Vec<String>,
    /// In words, with each policy's `@reason`.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Info {
    id: String,
    effect: Effect,
    reason: Option<String>,
}

/// Loaded and validated tool-call policies.
#[derive(Debug)]
pub struct ToolPolicies {
    name: String,
    set: PolicySet,
    infos: Vec<Info>,
    arguments: BTreeSet<String>,
}

fn type_name(name: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(name).map_err(|e| format!("entity type `{name}`: {e}"))
}

fn schema(arguments: &BTreeSet<String>) -> Result<Schema, String> {
    let mut record = String::from("  type Arguments = {\n");
    for a in arguments {
        // Any name is allowed as a quoted attribute; JSON escaping is Cedar's string escaping.
        let quoted = serde_json::to_string(a).map_err(|e| e.to_string())?;
        record.push_str(&format!("    {quoted}?: String,\n"));
    }
    record.push_str("  };\n");
    let text = SCHEMA.replacen(
        "namespace Portcullis {\n",
        &format!("namespace Portcullis {{\n{record}"),
        1,
    );
    Schema::from_cedarschema_str(&text)
        .map(|(s, _)| s)
        .map_err(|e| format!("the tool-call schema does not build: {e}"))
}

impl ToolPolicies {
    /// Parses `text` (named `name` in errors) and validates it against the schema for
    /// `argument_names` (every argument name the pinned tools declare).
    pub fn load(
        name: &str,
        text: &str,
        argument_names: &BTreeSet<String>,
    ) -> Result<ToolPolicies, Vec<Problem>> {
        let parsed = parse_static(text)?;
        let mut problems = Vec::new();
        let mut set = PolicySet::new();
        let mut infos = Vec::new();
        let mut ids = HashSet::new();
        for p in parsed.policies() {
            let at = locate(text, &p.to_string());
            let (id, effect) = match identify(p, text, at, &mut ids) {
                Ok(found) => found,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            // The reason shown: `@reason`, else a consent policy's `@consent` text.
            let reason = p
                .annotation("reason")
                .or_else(|| p.annotation("consent"))
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            infos.push(Info {
                id: id.to_string(),
                effect,
                reason,
            });
            if let Err(e) = set.add(p.new_id(PolicyId::new(&id))) {
                problems.push(problem(text, at, e.to_string()));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let schema = schema(argument_names).map_err(|m| vec![problem(text, None, m)])?;
        let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            return Err(result
                .validation_errors()
                .flat_map(|e| diagnostic_problems(text, e, "validation error"))
                .collect());
        }
        Ok(ToolPolicies {
            name: name.to_string(),
            set,
            infos,
            arguments: argument_names.clone(),
        })
    }

    /// Where the policies came from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many policies.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The policies' verdict on `call`: `None` when no policy applies. Deny beats consent beats
    /// allow; a `forbid` that cannot be evaluated denies.
    pub fn decide(&self, call: &ToolCall<'_>) -> Option<ToolVerdict> {
        let full = format!("{}__{}", call.upstream, call.tool);
        let deny_all = |why: String| {
            Some(ToolVerdict {
                effect: Effect::Deny,
                ids: vec!["cedar".into()],
                reason: format!(
                    "Cedar policies ({}) could not be evaluated for `{full}`: {why}",
                    self.name
                ),
            })
        };
        let (client, tool, action) = match (
            type_name("Portcullis::Client"),
            type_name("Portcullis::Tool"),
            type_name("Portcullis::Action"),
        ) {
            (Ok(c), Ok(t), Ok(a)) => (c, t, a),
            _ => return deny_all("the entity types do not build".into()),
        };
        let principal = EntityUid::from_type_name_and_id(client, EntityId::new(call.principal));
        let resource = EntityUid::from_type_name_and_id(tool, EntityId::new(&full));
        let action = EntityUid::from_type_name_and_id(action, EntityId::new("CallTool"));
        let mut arguments = Map::new();
        for (k, v) in call.arguments {
            // Only declared names: an undeclared one would not conform to the schema.
            if self.arguments.contains(k) {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                arguments.insert(k.clone(), Value::String(s));
            }
        }
        let context = serde_json::json!({
            "upstream": call.upstream,
            "tool": call.tool,
            "readOnly": call.read_only,
            "destructive": call.destructive,
            "argumentNames": call.arguments.keys().collect::<Vec<_>>(),
            "arguments": arguments,
        });
        let context = match Context::from_json_value(context, None) {
            Ok(c) => c,
            Err(e) => return deny_all(e.to_string()),
        };
        let entity = Entity::new(
            resource.clone(),
            [
                (
                    "upstream".to_string(),
                    RestrictedExpression::new_string(call.upstream.to_string()),
                ),
                (
                    "name".to_string(),
                    RestrictedExpression::new_string(call.tool.to_string()),
                ),
            ]
            .into(),
            HashSet::new(),
        );
        let entities = match entity.map_err(|e| e.to_string()).and_then(|r| {
            Entities::from_entities(
                [Entity::new_no_attrs(principal.clone(), HashSet::new()), r],
                None,
            )
            .map_err(|e| e.to_string())
        }) {
            Ok(e) => e,
            Err(e) => return deny_all(e),
        };
        let request = match Request::new(principal, action, resource, context, None) {
            Ok(r) => r,
            Err(e) => return deny_all(e.to_string()),
        };
        let response = Authorizer::new().is_authorized(&request, &self.set, &entities);
        let info = |id: &str| self.infos.iter().find(|i| i.id == id);
        let mut found: Vec<(Effect, String, String)> = Vec::new();
        for err in response.diagnostics().errors() {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = err;
            let id = e.policy_id().to_string();
            if info(&id).is_some_and(|i| i.effect == Effect::Deny) {
                found.push((Effect::Deny, id.clone(), format!("Cedar policy `{id}` could not be evaluated for `{full}` ({}); a forbid that cannot be evaluated denies", e.inner())));
            }
        }
        for pid in response.diagnostics().reason() {
            let id = pid.to_string();
            let Some(i) = info(&id) else { continue };
            let verb = match (response.decision(), i.effect) {
                (CedarDecision::Deny, Effect::Deny) => "forbids",
                (CedarDecision::Allow, Effect::Consent) => "requires consent for",
                (CedarDecision::Allow, Effect::Allow) => "permits",
                _ => continue,
            };
            let mut reason = format!("Cedar policy `{id}` {verb} `{full}`");
            if let Some(r) = &i.reason {
                reason.push_str(": ");
                reason.push_str(r);
            }
            found.push((i.effect, id, reason));
        }
        for effect in [Effect::Deny, Effect::Consent, Effect::Allow] {
            let hits: Vec<&(Effect, String, String)> =
                found.iter().filter(|f| f.0 == effect).collect();
            if !hits.is_empty() {
                return Some(ToolVerdict {
                    effect,
                    ids: hits.iter().map(|h| h.1.clone()).collect(),
                    reason: hits
                        .iter()
                        .map(|h| h.2.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn names(n: &[&str]) -> BTreeSet<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    const POLICIES: &str = r#"
@id("fs-writes-only-under-srv-data")
@reason("writes stay under /srv/data")
forbid (principal, action == Portcullis::Action::"CallTool", resource == Portcullis::Tool::"filesystem__write_file")
unless { context.arguments has path && context.arguments.path like "/srv/data/*" };

@id("ddb-deletes-are-reviewed")
@consent("a person reviews table deletions")
permit (principal, action, resource) when { resource.upstream == "dynamodb" && resource.name like "delete_*" };

@id("reads-run")
permit (principal, action, resource) when { context.readOnly };
"#;

    fn call<'a>(
        up: &'a str,
        tool: &'a str,
        read_only: bool,
        args: &'a Map<String, Value>,
    ) -> ToolCall<'a> {
        ToolCall {
            principal: "owner",
            upstream: up,
            tool,
            read_only,
            destructive: false,
            arguments: args,
        }
    }

    #[test]
    fn arguments_resources_and_the_classification_decide() {
        let p = ToolPolicies::load(
            "tools.cedar",
            POLICIES,
            &names(&["path", "content", "table_name"]),
        )
        .unwrap();
        assert_eq!(p.len(), 3);
        let inside = json!({"path": "/srv/data/a.txt", "content": "x"})
            .as_object()
            .cloned()
            .unwrap();
        let outside = json!({"path": "/etc/passwd", "content": "x"})
            .as_object()
            .cloned()
            .unwrap();
        let escape = json!({"path": 5}).as_object().cloned().unwrap();
        assert_eq!(
            p.decide(&call("filesystem", "write_file", false, &inside)),
            None
        );
        let d = p
            .decide(&call("filesystem", "write_file", false, &outside))
            .unwrap();
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(d.ids, ["fs-writes-only-under-srv-data"]);
        assert!(
            d.reason.contains("writes stay under /srv/data"),
            "{}",
            d.reason
        );
        // A non-string value is its JSON text: "5" is not under /srv/data.
        assert_eq!(
            p.decide(&call("filesystem", "write_file", false, &escape))
                .unwrap()
                .effect,
            Effect::Deny
        );
        let none = Map::new();
        assert_eq!(
            p.decide(&call("filesystem", "write_file", false, &none))
                .unwrap()
                .effect,
            Effect::Deny
        );
        let t = json!({"table_name": "orders"})
            .as_object()
            .cloned()
            .unwrap();
        let d = p
            .decide(&call("dynamodb", "delete_table", false, &t))
            .unwrap();
        assert_eq!(d.effect, Effect::Consent);
        assert!(d.reason.contains("requires consent"), "{}", d.reason);
        assert_eq!(
            p.decide(&call("dynamodb", "list_tables", true, &none))
                .unwrap()
                .effect,
            Effect::Allow
        );
        assert_eq!(p.decide(&call("dynamodb", "put_item", false, &none)), None);
    }

    #[test]
    fn the_readme_example_loads_and_decides() {
        let readme = include_str!("../../../README.md");
        let at = readme
            .find("## Put your other MCP servers behind Portcullis")
            .expect("section");
        let block = &readme[at..];
        let block = &block[block.find("```cedar\n").expect("cedar block") + 9..];
        let block = &block[..block.find("```").expect("end")];
        // The block is indented in a list item.
        let text: String = block
            .lines()
            .map(|l| l.trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let p = ToolPolicies::load("README", &text, &names(&["path", "content"])).unwrap();
        let outside = json!({"path": "/tmp/x"}).as_object().cloned().unwrap();
        assert_eq!(
            p.decide(&call("filesystem", "write_file", false, &outside))
                .unwrap()
                .effect,
            Effect::Deny
        );
        let none = Map::new();
        assert_eq!(
            p.decide(&call("dynamodb", "delete_table", false, &none))
                .unwrap()
                .effect,
            Effect::Consent
        );
    }

    #[test]
    fn a_bad_policy_is_refused_with_its_place() {
        let args = names(&["path"]);
        // A misspelt attribute, and an optional one read without `has`: load errors with a place.
        for bad in [
            "@id(\"x\")\nforbid (principal, action, resource) when { context.argumnts == \"a\" };",
            "@id(\"x\")\nforbid (principal, action, resource) when { context.arguments.pth == \"a\" };",
            "@id(\"x\")\nforbid (principal, action, resource) when { context.arguments.path == \"a\" };",
        ] {
            let e = ToolPolicies::load("t.cedar", bad, &args).unwrap_err();
            assert!(
                e.iter()
                    .any(|p| p.line == Some(2) && p.message.contains("validation error")),
                "{bad}: {e:?}"
            );
        }
        let e = ToolPolicies::load("t.cedar", "forbid (principal, action, resource);", &args)
            .unwrap_err();
        assert!(e[0].message.contains("@id"), "{e:?}");
        let e = ToolPolicies::load("t.cedar", "@id(\"a\")\nforbid (principal, action == Portcullis::Action::\"DeleteEverything\", resource);", &args).unwrap_err();
        assert!(!e.is_empty());
        let e = ToolPolicies::load(
            "t.cedar",
            "@id(\"a\") permit (principal, action, resource) when {",
            &args,
        )
        .unwrap_err();
        assert!(e[0].message.contains("syntax error"), "{e:?}");
        // Argument names are quoted: any name works.
        let odd = names(&["a\"b", "x y"]);
        ToolPolicies::load("t.cedar", "@id(\"q\")\npermit (principal, action, resource) when { context.arguments has \"x y\" };", &odd).unwrap();
    }
}
