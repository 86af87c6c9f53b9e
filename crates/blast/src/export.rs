//! Reading `aws iam get-account-authorization-details` output and assembling one principal's
//! [`PolicySet`].

use std::collections::{HashMap, HashSet};

use portcullis_iam_eval::{Policy, PolicySet, Principal};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why an export could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Not JSON, or JSON of the wrong shape (a required field missing, a list that is not one).
    #[error("not an authorization details export: {0}")]
    Json(String),
    /// JSON, but none of `UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies`.
    #[error(
        "not an authorization details export: expected an object with UserDetailList, GroupDetailList, RoleDetailList or Policies"
    )]
    NotAnExport,
}

/// Why a report could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No user or role of the export has this ARN or name.
    #[error("no user or role named {0:?} in the export")]
    NotFound(String),
    /// The identity's ARN is not a user or role ARN the evaluator understands.
    #[error("cannot evaluate as {arn:?}: {why}")]
    BadArn {
        /// The ARN.
        arn: String,
        /// Why.
        why: String,
    },
}

/// A user or a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    /// An IAM user.
    User,
    /// An IAM role (evaluated as one of its sessions).
    Role,
}

/// A policy document the report could not read, or a policy the export does not contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The policy's name as the export gives it.
    pub policy: String,
    /// Its ARN, for managed policies and boundaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Where it is attached (`role Foo`, `group Devs`, `boundary of user alice`).
    pub attached_to: String,
    /// Why it could not be read.
    pub reason: String,
}

/// A policy as the export holds it: compiled, or why not.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub(crate) name: String,
    pub(crate) policy: Result<Policy, String>,
    /// The `Allow` statements' action and resource elements, for prefiltering.
    pub(crate) allows: Vec<AllowStmt>,
}

/// What the access map needs to know of an `Allow` statement beyond what the evaluator does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowStmt {
    /// `NotAction` rather than `Action`.
    pub(crate) not_action: bool,
    /// The action patterns, lowercased.
    pub(crate) actions: Vec<String>,
    /// The `Resource` patterns (empty for `NotResource` or none).
    pub(crate) resources: Vec<String>,
}

#[derive(Debug, Clone)]
struct Group {
    inline: Vec<Doc>,
    managed: Vec<String>,
}

/// One user or role of the export.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User or role.
    pub kind: IdentityKind,
    /// `UserName` / `RoleName`.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    inline: Vec<Doc>,
    managed: Vec<(String, String)>,
    groups: Vec<String>,
    boundary: Option<String>,
}

/// A parsed authorization details export, every policy document compiled once.
#[derive(Debug, Clone, Default)]
pub struct Export {
    identities: Vec<Identity>,
    groups: HashMap<String, Group>,
    managed: HashMap<String, Doc>,
}

/// The policies that apply to one identity, as the evaluator needs them, and what was missing.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// Identity policies and the boundary.
    pub set: PolicySet,
    /// The principal requests are evaluated as: the user, or a session of the role.
    pub principal: Principal,
    /// Policies that could not be read.
    pub gaps: Vec<Gap>,
    pub(crate) allows: Vec<AllowStmt>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawExport {
    user_detail_list: Option<Vec<RawIdentity>>,
    group_detail_list: Option<Vec<RawGroup>>,
    role_detail_list: Option<Vec<RawIdentity>>,
    policies: Option<Vec<RawManaged>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawIdentity {
    user_name: Option<String>,
    role_name: Option<String>,
    arn: String,
    #[serde(default)]
    user_policy_list: Vec<RawInline>,
    #[serde(default)]
    role_policy_list: Vec<RawInline>,
    #[serde(default)]
    attached_managed_policies: Vec<RawAttached>,
    #[serde(default)]
    group_list: Vec<String>,
    permissions_boundary: Option<RawBoundary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawGroup {
    group_name: String,
    #[serde(default)]
    group_policy_list: Vec<RawInline>,
    #[serde(default)]
    attached_managed_policies: Vec<RawAttached>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawInline {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttached {
    policy_name: Option<String>,
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBoundary {
    permissions_boundary_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawManaged {
    /// Real exports name every policy; moto's omit it (the ARN's last segment then).
    #[serde(default)]
    policy_name: Option<String>,
    arn: String,
    default_version_id: Option<String>,
    #[serde(default)]
    policy_version_list: Vec<RawVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawVersion {
    document: Value,
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: bool,
}

/// A policy document as JSON: an object, or a string holding JSON (URL-encoded as the IAM API
/// returns it, or plain as some tools write it).
fn document(v: &Value) -> Result<Value, String> {
    match v {
        Value::Object(_) => Ok(v.clone()),
        Value::String(s) => {
            let text = if s.trim_start().starts_with('{') {
                s.clone()
            } else {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map_err(|e| format!("URL-encoded document is not UTF-8: {e}"))?
                    .into_owned()
            };
            serde_json::from_str(&text).map_err(|e| format!("document is not JSON: {e}"))
        }
        _ => Err("document is neither a JSON object nor a string".into()),
    }
}

/// Strings of a string-or-array element.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn allow_statements(doc: &Value) -> Vec<AllowStmt> {
    let stmts: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    stmts
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .map(|s| {
            let not_action = s.get("NotAction").is_some();
            let actions = strings(s.get(if not_action { "NotAction" } else { "Action" }))
                .into_iter()
                .map(|a| a.to_ascii_lowercase())
                .collect();
            AllowStmt {
                not_action,
                actions,
                resources: strings(s.get("Resource")),
            }
        })
        .collect()
}

fn compile(name: &str, raw: &Value) -> Doc {
    let parsed = document(raw).and_then(|v| {
        Policy::from_json(name, &v)
            .map(|p| (p, allow_statements(&v)))
            .map_err(|e| format!("policy does not parse: {e}"))
    });
    match parsed {
        Ok((p, allows)) => Doc {
            name: name.to_string(),
            policy: Ok(p),
            allows,
        },
        Err(e) => Doc {
            name: name.to_string(),
            policy: Err(e),
            allows: Vec::new(),
        },
    }
}

impl Export {
    /// Parses the JSON that `aws iam get-account-authorization-details` prints (or the
    /// concatenated pages' lists). Policy documents may be JSON objects or URL-encoded JSON
    /// strings. A document that does not parse is kept as a gap, reported for the identities it
    /// applies to; only input that is not an export at all is an error.
    pub fn parse(json_text: &str) -> Result<Export, ExportError> {
        let raw: RawExport =
            serde_json::from_str(json_text).map_err(|e| ExportError::Json(e.to_string()))?;
        if raw.user_detail_list.is_none()
            && raw.group_detail_list.is_none()
            && raw.role_detail_list.is_none()
            && raw.policies.is_none()
        {
            return Err(ExportError::NotAnExport);
        }
        let mut export = Export::default();
        for m in raw.policies.unwrap_or_default() {
            let chosen = m
                .policy_version_list
                .iter()
                .find(|v| v.is_default_version)
                .or_else(|| {
                    m.policy_version_list
                        .iter()
                        .find(|v| v.version_id.is_some() && v.version_id == m.default_version_id)
                })
                .or(if m.policy_version_list.len() == 1 {
                    m.policy_version_list.first()
                } else {
                    None
                });
            let name = m
                .policy_name
                .clone()
                .unwrap_or_else(|| m.arn.rsplit('/').next().unwrap_or(&m.arn).to_string());
            let doc = match chosen {
                Some(v) => compile(&name, &v.document),
                None => Doc {
                    name,
                    policy: Err("the export lists no default version of this policy".into()),
                    allows: Vec::new(),
                },
            };
            export.managed.insert(m.arn, doc);
        }
        for g in raw.group_detail_list.unwrap_or_default() {
            let inline = g
                .group_policy_list
                .iter()
                .map(|p| {
                    compile(
                        &format!("{}/{}", g.group_name, p.policy_name),
                        &p.policy_document,
                    )
                })
                .collect();
            let managed = g
                .attached_managed_policies
                .into_iter()
                .map(|a| a.policy_arn)
                .collect();
            export
                .groups
                .insert(g.group_name, Group { inline, managed });
        }
        let lists = [
            (IdentityKind::User, raw.user_detail_list.unwrap_or_default()),
            (IdentityKind::Role, raw.role_detail_list.unwrap_or_default()),
        ];
        for (kind, list) in lists {
            for r in list {
                let name = match kind {
                    IdentityKind::User => r.user_name.clone(),
                    IdentityKind::Role => r.role_name.clone(),
                }
                .unwrap_or_else(|| r.arn.rsplit('/').next().unwrap_or_default().to_string());
                let inline_raw = match kind {
                    IdentityKind::User => &r.user_policy_list,
                    IdentityKind::Role => &r.role_policy_list,
                };
                let inline = inline_raw
                    .iter()
                    .map(|p| compile(&p.policy_name, &p.policy_document))
                    .collect();
                let managed = r
                    .attached_managed_policies
                    .into_iter()
                    .map(|a| {
                        let n = a.policy_name.unwrap_or_else(|| {
                            a.policy_arn
                                .rsplit('/')
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        });
                        (n, a.policy_arn)
                    })
                    .collect();
                export.identities.push(Identity {
                    kind,
                    name,
                    arn: r.arn,
                    inline,
                    managed,
                    groups: if kind == IdentityKind::User {
                        r.group_list
                    } else {
                        Vec::new()
                    },
                    boundary: r.permissions_boundary.map(|b| b.permissions_boundary_arn),
                });
            }
        }
        Ok(export)
    }

    /// Every user and role, users first, in export order.
    pub fn identities(&self) -> &[Identity] {
        &self.identities
    }

    /// The user or role with this ARN, or else with this user or role name (the first one).
    pub fn find(&self, who: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.arn == who)
            .or_else(|| self.identities.iter().find(|i| i.name == who))
    }

    /// The policies that apply to `who`: its inline and attached managed policies, for a user
    /// also those of its groups (each policy once), and its permissions boundary. Policies the
    /// export does not hold or that do not parse are listed as gaps.
    pub fn assemble(&self, who: &Identity) -> Result<Assembled, ReportError> {
        let principal = evaluation_principal(who)?;
        let mut set = PolicySet::default();
        let mut gaps = Vec::new();
        let mut allows = Vec::new();
        let what = match who.kind {
            IdentityKind::User => format!("user {}", who.name),
            IdentityKind::Role => format!("role {}", who.name),
        };
        let mut take = |doc: &Doc, arn: Option<&str>, attached_to: &str| match &doc.policy {
            Ok(p) => {
                set.identity.push(p.clone());
                allows.extend(doc.allows.iter().cloned());
            }
            Err(e) => gaps.push(Gap {
                policy: doc.name.clone(),
                arn: arn.map(str::to_string),
                attached_to: attached_to.to_string(),
                reason: e.clone(),
            }),
        };
        let mut seen_managed: HashSet<&str> = HashSet::new();
        let mut missing = Vec::new();
        for d in &who.inline {
            take(d, None, &what);
        }
        let mut managed: Vec<(&str, &str, String)> = who
            .managed
            .iter()
            .map(|(n, a)| (n.as_str(), a.as_str(), what.clone()))
            .collect();
        let mut missing_groups = Vec::new();
        for g in &who.groups {
            match self.groups.get(g) {
                Some(group) => {
                    for d in &group.inline {
                        take(d, None, &format!("group {g}"));
                    }
                    for a in &group.managed {
                        let n = a.rsplit('/').next().unwrap_or_default();
                        managed.push((n, a.as_str(), format!("group {g}")));
                    }
                }
                None => missing_groups.push(g.clone()),
            }
        }
        for (name, arn, attached_to) in managed {
            if !seen_managed.insert(arn) {
                continue;
            }
            match self.managed.get(arn) {
                Some(doc) => take(doc, Some(arn), &attached_to),
                None => missing.push(Gap {
                    policy: name.to_string(),
                    arn: Some(arn.to_string()),
                    attached_to,
                    reason: "managed policy not in the export (AWS-managed policies are listed only with --filter AWSManagedPolicy or without a filter)".into(),
                }),
            }
        }
        gaps.extend(missing);
        for g in missing_groups {
            gaps.push(Gap {
                policy: format!("group {g}"),
                arn: None,
                attached_to: what.clone(),
                reason: "group not in the export: its policies are not counted".into(),
            });
        }
        if let Some(b) = &who.boundary {
            let boundary_of = format!("boundary of {what}");
            match self.managed.get(b.as_str()) {
                Some(Doc { policy: Ok(p), .. }) => set.boundary = Some(p.clone()),
                Some(Doc {
                    name,
                    policy: Err(e),
                    ..
                }) => gaps.push(Gap {
                    policy: name.clone(),
                    arn: Some(b.clone()),
                    attached_to: boundary_of,
                    reason: format!("{e}; the boundary is ignored, so access may be overstated"),
                }),
                None => gaps.push(Gap {
                    policy: b.rsplit('/').next().unwrap_or_default().to_string(),
                    arn: Some(b.clone()),
                    attached_to: boundary_of,
                    reason: "boundary policy not in the export; it is ignored, so access may be overstated".into(),
                }),
            }
        }
        Ok(Assembled {
            set,
            principal,
            gaps,
            allows,
        })
    }
}

/// Users are evaluated as themselves; a role as one of its sessions
/// (`arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/portcullis-blast`).
fn evaluation_principal(who: &Identity) -> Result<Principal, ReportError> {
    let bad = |why: String| ReportError::BadArn {
        arn: who.arn.clone(),
        why,
    };
    let arn = match who.kind {
        IdentityKind::User => who.arn.clone(),
        IdentityKind::Role => {
            let parts: Vec<&str> = who.arn.splitn(6, ':').collect();
            let [_, partition, _, _, account, resource] = parts.as_slice() else {
                return Err(bad("not an ARN".into()));
            };
            let name = who.name.as_str();
            if !resource.starts_with("role/") || name.is_empty() || name.contains('/') {
                return Err(bad("not a role ARN".into()));
            }
            format!("arn:{partition}:sts::{account}:assumed-role/{name}/portcullis-blast")
        }
    };
    Principal::from_arn(&arn).map_err(|e| bad(e.to_string()))
}
