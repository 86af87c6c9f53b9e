//! The blast-radius report's inputs and gate: what the pinned credentials can do
//! ([`portcullis_blast`]), read live through the engine or from a saved export, and what an agent
//! can do of it through Portcullis ([`gate`]: the policy's decide stage on each IAM action).
//!
//! Live: `sts get-caller-identity`, then `iam get-account-authorization-details` when allowed,
//! else the identity's own entities one call at a time (role or user, its inline and attached
//! policies, a user's groups, the permissions boundary); every call that fails is named in
//! [`Live::unread`], never guessed.

use std::collections::BTreeMap;

use portcullis_blast::Gate;
use portcullis_iam::AccessLevel;
use portcullis_policy::{Outcome, Policy, Request};
use portcullis_wire::execute::Engine;
use serde_json::{Value, json};

/// What the policy in force does to any call needing `action` (of `level`): open, consent or
/// closed with the reasons. The call is the action's own operation where the models have one
/// (so command rules match it by name), in a region the policy allows.
pub fn gate(policy: &Policy) -> impl Fn(&str, AccessLevel) -> Gate + '_ {
    let services = services_by_prefix();
    let region = [
        "us-east-1",
        "eu-west-1",
        "us-west-2",
        "eu-central-1",
        "ap-southeast-1",
    ]
    .into_iter()
    .find(|r| policy.allows_region(r))
    .map(str::to_string);
    let secret = crate::scope::secret_action_set();
    // Per service: each action's own API operation (its CLI name and botocore name), built once.
    let own_ops: std::sync::Mutex<BTreeMap<String, OwnOperations>> = std::sync::Mutex::default();
    move |action: &str, level: AccessLevel| {
        let (prefix, name) = action.split_once(':').unwrap_or((action, ""));
        let (cli, service) = services
            .get(&prefix.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| (prefix.to_string(), prefix.to_string()));
        let lower = action.to_ascii_lowercase();
        let own = own_ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(service.clone())
            .or_insert_with(|| operations_by_action(&service))
            .get(&lower)
            .cloned();
        // An action with no API operation of its own (`iam:PassRole`) is decided as a call of
        // that name, and the reasons say it is an action, not a command.
        let (operation_cli_name, operation, synthetic) = match own {
            Some((cli_op, op)) => (cli_op, op, false),
            None => (kebab(name), name.to_string(), true),
        };
        let shown = format!("`aws {cli} {operation_cli_name}`");
        let req = Request {
            service_cli_name: cli,
            operation_cli_name,
            service: service.clone(),
            operation,
            actions: vec![action.to_string()],
            access_level: Some(level),
            returns_credentials: secret.contains(&lower),
            returns_secret: secret.contains(&lower),
            destructive: portcullis_classify::flags::destructive_by_name(&service, name),
            region: region.clone(),
            ..Request::default()
        };
        let d = policy.decide(&req);
        match d.outcome {
            Outcome::Allow => Gate::Open,
            Outcome::Consent => Gate::Consent,
            Outcome::Deny => {
                let why = d.reasons.join("; ");
                Gate::Closed(if synthetic {
                    // An action rule (`"actions": ["iam:PassRole"]`) is what would change it.
                    why.replace(&shown, &format!("`{action}`"))
                } else {
                    why
                })
            }
        }
    }
}

/// Lowercase IAM action → (CLI operation, API operation).
type OwnOperations = BTreeMap<String, (String, String)>;

/// A service's API operations by the IAM action each stands for on its own (lowercase action →
/// (CLI operation, API operation)); the first operation wins.
fn operations_by_action(service: &str) -> OwnOperations {
    let mut out = BTreeMap::new();
    if let Ok(cli) = portcullis_model::models().service_cli(service) {
        for (cli_op, op) in &cli.by_cli_name {
            if let Some(action) = portcullis_classify::own_action(service, op) {
                out.entry(action.to_ascii_lowercase())
                    .or_insert_with(|| (cli_op.clone(), op.clone()));
            }
        }
    }
    out
}

/// IAM prefix → (CLI command, botocore service), the first command of each prefix.
fn services_by_prefix() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for (command, cli) in portcullis_model::models().commands() {
        let Some(service) = cli.service.as_deref() else {
            continue;
        };
        if let Some(prefix) = portcullis_classify::iam_prefix(service) {
            out.entry(prefix.to_string())
                .or_insert_with(|| (command.clone(), service.to_string()));
        }
    }
    out
}

/// `GetObject` → `get-object` (botocore's rule).
fn kebab(name: &str) -> String {
    portcullis_model::models().kebab(name)
}

/// An export read live.
#[derive(Debug, Clone)]
pub struct Live {
    /// The caller (`sts get-caller-identity`).
    pub caller: String,
    /// The user or role the caller is (an assumed role's role).
    pub principal: String,
    /// An export in `get-account-authorization-details` form.
    pub export: Value,
    /// Calls that failed, with why: what the report could not see.
    pub unread: Vec<String>,
}

/// Runs one call: `template` is a valid command of the operation, whose parameters `params`
/// replaces.
async fn call(engine: &Engine, template: &str, params: Value) -> Result<Value, String> {
    let parser = portcullis_cli::Parser::new(&portcullis_cli::DenyAll);
    let mut call = match parser.parse(template) {
        Ok(portcullis_cli::Command::Call(call)) => call,
        Ok(_) => return Err(format!("`{template}` is not an API call")),
        Err(e) => return Err(e.to_string()),
    };
    if let Value::Object(map) = params {
        call.params = map
            .into_iter()
            .map(|(k, v)| (k, portcullis_cli::Value::from_json(v)))
            .collect();
    }
    engine
        .execute(&call, &portcullis_cli::DenyAll)
        .await
        .map(|o| o.value)
        .map_err(|e| e.to_string())
}

/// The caller's identity and policies, read with `engine`'s credentials.
pub async fn read_live(engine: &Engine) -> anyhow::Result<Live> {
    let who = call(engine, "aws sts get-caller-identity", json!({}))
        .await
        .map_err(|e| anyhow::anyhow!("sts get-caller-identity: {e}"))?;
    let caller = who["Arn"].as_str().unwrap_or_default().to_string();
    let (kind, name) = principal_of(&caller).ok_or_else(|| {
        anyhow::anyhow!(
            "the caller {caller} is neither an IAM user nor a role session: nothing to report"
        )
    })?;
    let mut unread = Vec::new();
    match call(
        engine,
        "aws iam get-account-authorization-details",
        json!({"Filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]}),
    )
    .await
    {
        Ok(export) => {
            return Ok(Live {
                caller,
                principal: name,
                export,
                unread,
            });
        }
        Err(e) => unread.push(format!(
            "iam get-account-authorization-details: {e} (read the identity's entities one by one instead)"
        )),
    }
    let export = per_entity(engine, kind, &name, &mut unread).await;
    Ok(Live {
        caller,
        principal: name,
        export,
        unread,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Role,
}

/// `arn:aws:iam::A:user/path/N` → user N; `arn:aws:sts::A:assumed-role/R/S` → role R.
fn principal_of(arn: &str) -> Option<(Kind, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest.split('/').next().map(|r| (Kind::Role, r.to_string()));
    }
    if let Some(rest) = resource.strip_prefix("user/") {
        return rest.rsplit('/').next().map(|u| (Kind::User, u.to_string()));
    }
    if let Some(rest) = resource.strip_prefix("role/") {
        return rest.rsplit('/').next().map(|r| (Kind::Role, r.to_string()));
    }
    None
}

const POLICY_ARN: &str = "arn:aws:iam::aws:policy/placeholder";

/// The export of one identity, entity by entity.
async fn per_entity(engine: &Engine, kind: Kind, name: &str, unread: &mut Vec<String>) -> Value {
    let mut managed: BTreeMap<String, ()> = BTreeMap::new();
    let note = |what: &str, e: String, unread: &mut Vec<String>| {
        unread.push(format!("{what}: {e}"));
    };
    let (entity, inline_key) = match kind {
        Kind::Role => ("role", "RolePolicyList"),
        Kind::User => ("user", "UserPolicyList"),
    };
    let mut detail = json!({});
    let get = match kind {
        Kind::Role => {
            call(
                engine,
                "aws iam get-role --role-name x",
                json!({"RoleName": name}),
            )
            .await
        }
        Kind::User => {
            call(
                engine,
                "aws iam get-user --user-name x",
                json!({"UserName": name}),
            )
            .await
        }
    };
    match get {
        Ok(v) => {
            let e = if kind == Kind::Role {
                &v["Role"]
            } else {
                &v["User"]
            };
            detail = e.clone();
            if let Some(b) = e["PermissionsBoundary"]["PermissionsBoundaryArn"].as_str() {
                managed.insert(b.to_string(), ());
            }
        }
        Err(e) => note(&format!("iam get-{entity} {name}"), e, unread),
    }
    let name_key = if kind == Kind::Role {
        "RoleName"
    } else {
        "UserName"
    };
    detail[name_key] = json!(name);
    let inline = inline_policies(engine, entity, name_key, name, unread).await;
    detail[inline_key] = Value::Array(inline);
    let attached = attached_policies(engine, entity, name_key, name, unread).await;
    for a in &attached {
        if let Some(arn) = a["PolicyArn"].as_str() {
            managed.insert(arn.to_string(), ());
        }
    }
    detail["AttachedManagedPolicies"] = Value::Array(attached);
    let mut groups = Vec::new();
    if kind == Kind::User {
        match call(
            engine,
            "aws iam list-groups-for-user --user-name x",
            json!({"UserName": name}),
        )
        .await
        {
            Ok(v) => {
                let names: Vec<String> = v["Groups"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|g| g["GroupName"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                detail["GroupList"] = json!(names);
                for g in names {
                    let inline = inline_policies(engine, "group", "GroupName", &g, unread).await;
                    let attached =
                        attached_policies(engine, "group", "GroupName", &g, unread).await;
                    for a in &attached {
                        if let Some(arn) = a["PolicyArn"].as_str() {
                            managed.insert(arn.to_string(), ());
                        }
                    }
                    groups.push(json!({"GroupName": g, "GroupPolicyList": inline, "AttachedManagedPolicies": attached}));
                }
            }
            Err(e) => note(&format!("iam list-groups-for-user {name}"), e, unread),
        }
    }
    let mut policies = Vec::new();
    for arn in managed.keys() {
        let p = match call(
            engine,
            &format!("aws iam get-policy --policy-arn {POLICY_ARN}"),
            json!({"PolicyArn": arn}),
        )
        .await
        {
            Ok(v) => v["Policy"].clone(),
            Err(e) => {
                note(&format!("iam get-policy {arn}"), e, unread);
                continue;
            }
        };
        let version = p["DefaultVersionId"].as_str().unwrap_or("v1").to_string();
        match call(
            engine,
            &format!("aws iam get-policy-version --policy-arn {POLICY_ARN} --version-id v1"),
            json!({"PolicyArn": arn, "VersionId": version}),
        )
        .await
        {
            Ok(v) => {
                let mut p = p.clone();
                p["PolicyVersionList"] = json!([{
                    "Document": v["PolicyVersion"]["Document"],
                    "VersionId": version,
                    "IsDefaultVersion": true,
                }]);
                policies.push(p);
            }
            Err(e) => note(
                &format!("iam get-policy-version {arn} {version}"),
                e,
                unread,
            ),
        }
    }
    let (users, roles) = match kind {
        Kind::Role => (vec![], vec![detail]),
        Kind::User => (vec![detail], vec![]),
    };
    json!({"UserDetailList": users, "RoleDetailList": roles, "GroupDetailList": groups, "Policies": policies})
}

async fn inline_policies(
    engine: &Engine,
    entity: &str,
    key: &str,
    name: &str,
    unread: &mut Vec<String>,
) -> Vec<Value> {
    let list = format!("aws iam list-{entity}-policies --{}-name x", entity);
    let names = match call(engine, &list, json!({ key: name })).await {
        Ok(v) => v["PolicyNames"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            unread.push(format!("iam list-{entity}-policies {name}: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for p in names.iter().filter_map(Value::as_str) {
        let get = format!("aws iam get-{entity}-policy --{entity}-name x --policy-name x");
        match call(engine, &get, json!({ key: name, "PolicyName": p })).await {
            Ok(v) => out.push(json!({"PolicyName": p, "PolicyDocument": v["PolicyDocument"]})),
            Err(e) => unread.push(format!("iam get-{entity}-policy {name} {p}: {e}")),
        }
    }
    out
}

async fn attached_policies(
    engine: &Engine,
    entity: &str,
    key: &str,
    name: &str,
    unread: &mut Vec<String>,
) -> Vec<Value> {
    let list = format!("aws iam list-attached-{entity}-policies --{entity}-name x");
    match call(engine, &list, json!({ key: name })).await {
        Ok(v) => v["AttachedPolicies"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        Err(e) => {
            unread.push(format!("iam list-attached-{entity}-policies {name}: {e}"));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_of_arns() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/agent/s1"),
            Some((Kind::Role, "agent".into()))
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/team/alice"),
            Some((Kind::User, "alice".into()))
        );
        assert_eq!(principal_of("arn:aws:iam::123456789012:root"), None);
    }

    #[test]
    fn the_gate_is_the_decide_stage() {
        let p = Policy::from_json(
            r#"{"mode": "read-only", "rules": [
                {"id": "no-buckets", "effect": "deny", "actions": ["s3:ListAllMyBuckets"]}]}"#,
        )
        .unwrap();
        let g = gate(&p);
        assert_eq!(g("s3:GetObject", AccessLevel::Read), Gate::Open);
        assert!(matches!(
            g("ec2:TerminateInstances", AccessLevel::Write),
            Gate::Closed(_)
        ));
        assert!(
            matches!(g("s3:ListAllMyBuckets", AccessLevel::List), Gate::Closed(r) if r.contains("no-buckets"))
        );
        assert_eq!(
            g("secretsmanager:GetSecretValue", AccessLevel::Read),
            Gate::Consent
        );
        let guarded = Policy::from_json(r#"{"mode": "guarded"}"#).unwrap();
        let g = gate(&guarded);
        assert_eq!(g("iam:CreateAccessKey", AccessLevel::Write), Gate::Consent);
        assert_eq!(kebab("GetObject"), "get-object");
    }
}
