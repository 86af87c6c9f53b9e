//! The awslabs `aws-api-mcp-server` policy file, `~/.aws/aws-api-mcp/mcp-security-policy.json`:
//!
//! ```json
//! {"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": ["aws s3api put-object"]}}
//! ```
//!
//! Older releases read the lists at the top level (`{"denylist": [...], "elicitList": [...]}`);
//! both shapes are accepted. Each entry is `aws <cli-service> <cli-operation>` and becomes a deny
//! or consent rule; as in awslabs, an `aws s3 <op>` entry also covers `aws s3api <op>`. The mode
//! is Guarded, which is the awslabs default (reads run, everything else is elicited).

use serde::Deserialize;

use crate::config::{
    Effect, PolicyConfig, PolicyError, Problems, RuleConfig, parse_error, require_object,
};
use crate::names::Found;
use crate::pattern::CommandPattern;
use crate::{Mode, Policy};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    #[allow(dead_code)] // accepted, not interpreted (awslabs does not either)
    version: Option<serde_json::Value>,
    #[serde(default)]
    policy: Option<Lists>,
    #[serde(default, rename = "denyList", alias = "denylist")]
    deny_list: Option<Vec<String>>,
    #[serde(default, rename = "elicitList", alias = "elicitlist")]
    elicit_list: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lists {
    #[serde(default, rename = "denyList", alias = "denylist")]
    deny_list: Option<Vec<String>>,
    #[serde(default, rename = "elicitList", alias = "elicitlist")]
    elicit_list: Option<Vec<String>>,
}

pub(crate) fn parse(source: &str) -> Result<Policy, PolicyError> {
    require_object(source)?;
    let file: File = serde_json::from_str(source).map_err(|e| parse_error(&e))?;
    let mut problems = Problems::new(source);
    let nested = file.policy.is_some();
    let (deny, elicit) = match file.policy {
        Some(lists) => {
            if file.deny_list.is_some() || file.elicit_list.is_some() {
                problems.add(
                    "denyList".into(),
                    None,
                    "lists appear both under `policy` and at the top level; keep them under `policy` only".into(),
                );
            }
            (
                lists.deny_list.unwrap_or_default(),
                lists.elicit_list.unwrap_or_default(),
            )
        }
        None => (
            file.deny_list.unwrap_or_default(),
            file.elicit_list.unwrap_or_default(),
        ),
    };
    let prefix = if nested { "policy." } else { "" };
    let mut rules = Vec::new();
    for (list, key, effect) in [
        (&deny, "denyList", Effect::Deny),
        (&elicit, "elicitList", Effect::Consent),
    ] {
        for (i, entry) in list.iter().enumerate() {
            let path = format!("{prefix}{key}[{i}]");
            let pattern = match CommandPattern::parse(entry) {
                Ok(p) => p,
                Err(m) => {
                    problems.add(path, Some(entry), m);
                    continue;
                }
            };
            let mut commands = vec![pattern.as_str().to_string()];
            let mut found = crate::names::command(&pattern);
            // awslabs checks `aws s3 <op>` against `aws s3api <op>` as well.
            if let Some(op) = pattern.as_str().strip_prefix("aws s3 ") {
                let s3api = format!("aws s3api {op}");
                if found != Found::Known
                    && let Ok(p) = CommandPattern::parse(&s3api)
                {
                    // Valid when either exists; else the better suggestion of the two.
                    match crate::names::command(&p) {
                        Found::Nothing(m) if !m.contains("did you mean") => {}
                        Found::Nothing(m) => {
                            let why = m.split_once(": ").map_or(m.as_str(), |(_, why)| why);
                            found = Found::Nothing(format!(
                                "`{}` matches no AWS CLI command, nor does `{s3api}` (awslabs reads an `aws s3` entry as both): {why}",
                                pattern.as_str()
                            ));
                        }
                        other => found = other,
                    }
                }
                commands.push(s3api);
            }
            problems.found(path.clone(), entry, found);
            // The rule id names the entry and the matched text names the pattern: say only where.
            let reason = format!("listed in the awslabs policy file's `{key}`");
            rules.push(RuleConfig {
                id: format!("awslabs.{path}"),
                effect,
                commands,
                actions: Vec::new(),
                reason: Some(reason),
            });
        }
    }
    // The entries are checked above; compile adds what it finds (nothing, for valid entries).
    PolicyConfig {
        mode: Mode::Guarded,
        rules,
        ..PolicyConfig::default()
    }
    .compile_checked(None, problems, false)
}
