//! Dependent actions: what a call needs besides its own action(s).
//!
//! IAM authorises some calls only when the principal also holds other actions: `BatchGetSecretValue`
//! needs `secretsmanager:GetSecretValue` for every secret it returns, `lambda:CreateFunction` with
//! a `--role` needs `iam:PassRole` on that role. A deny rule on the dependent action must stop the
//! call, exactly as IAM would, so the classify stage lists them ([`crate::Classification::dependent_actions`]).
//!
//! Sources, in order:
//! * the IAM catalogue's dependent actions of each of the call's actions (the Service
//!   Authorization Reference's "Dependent actions" column);
//! * [`DEPENDENT`], for what the reference states in prose but not in that column;
//! * `iam:PassRole` whenever the call passes a role ([`passes_role`]): a parameter that carries a
//!   role ARN or name, or an instance profile. When the parameters are unknown (`Value::Null`) and
//!   the catalogue says the action may pass a role, `iam:PassRole` is kept (an upper bound).
//!   The catalogue's `iam:PassRole` is otherwise *not* added: it lists it for every
//!   `ec2:RunInstances`, but only a launch with an instance profile passes a role.

use serde_json::Value;

/// The action that hands a role to a service.
pub const PASS_ROLE: &str = "iam:PassRole";

/// `(botocore service, operation, dependent actions, source)`: dependent actions the catalogue's
/// column leaves out.
pub const DEPENDENT: &[(&str, &str, &[&str], &str)] = &[(
    "secretsmanager",
    "BatchGetSecretValue",
    &["secretsmanager:GetSecretValue"],
    "Secrets Manager API reference, BatchGetSecretValue: \"you must have secretsmanager:GetSecretValue permissions for each secret\"",
)];

/// Services whose role-named parameters name a role to act on or assume, not one handed to a
/// service (IAM's own role APIs, STS's AssumeRole).
const NOT_PASSING: &[&str] = &["iam", "sts", "sso", "sso-admin", "identitystore"];

/// Whether `params` pass a role: a member whose name ends in `RoleArn`/`RoleARN`/`Role` (`JobFlowRole`,
/// `ServiceRole`), or names an instance profile (`IamInstanceProfile`), with a value.
pub fn passes_role(service: &str, params: &Value) -> bool {
    if NOT_PASSING.contains(&service) {
        return false;
    }
    fn walk(v: &Value, depth: usize) -> bool {
        if depth > 32 {
            return false;
        }
        match v {
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| (role_member(k) && has_value(v)) || walk(v, depth + 1)),
            Value::Array(items) => items.iter().any(|i| walk(i, depth + 1)),
            _ => false,
        }
    }
    walk(params, 0)
}

/// A member name that carries a role or an instance profile.
pub fn role_member(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("rolearn") || n.ends_with("role") || n.contains("instanceprofile")
}

fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

/// The dependent actions of a call whose own actions are `actions`, in a stable order, without
/// the call's own actions.
pub fn dependents(
    service: &str,
    operation: &str,
    actions: &[String],
    params: &Value,
) -> Vec<String> {
    let catalogue = portcullis_iam::catalogue();
    let mut out: Vec<String> = Vec::new();
    let push = |a: &str, out: &mut Vec<String>| {
        if !actions.iter().any(|x| x.eq_ignore_ascii_case(a))
            && !out.iter().any(|x| x.eq_ignore_ascii_case(a))
        {
            out.push(a.to_string());
        }
    };
    let mut catalogue_passes = false;
    for a in actions {
        let Some(info) = catalogue.action(a) else {
            continue;
        };
        for d in &info.dependent_actions {
            if d.eq_ignore_ascii_case(PASS_ROLE) {
                catalogue_passes = true;
            } else if catalogue.action(d).is_some() {
                push(d, &mut out);
            }
        }
    }
    for (s, o, deps, _) in DEPENDENT {
        if *s == service && *o == operation {
            deps.iter().for_each(|d| push(d, &mut out));
        }
    }
    if passes_role(service, params) || (params.is_null() && catalogue_passes) {
        push(PASS_ROLE, &mut out);
    }
    out
}
