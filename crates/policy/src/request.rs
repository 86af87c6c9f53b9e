//! The input of the decide stage: a classified request, independent of how it was written.

use portcullis_iam::AccessLevel;
use serde::{Deserialize, Serialize};

/// A classified request, as the decide stage sees it.
///
/// It carries names, classification, resources and flattened parameters — no command text — so
/// the same type serves AWS CLI calls and (later) proxied tool calls of other MCP servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The AWS CLI command name, e.g. `s3api`, `deploy`, `configservice`.
    pub service_cli_name: String,
    /// The AWS CLI operation name, e.g. `put-object`.
    pub operation_cli_name: String,
    /// The botocore service name, e.g. `s3`, `codedeploy`, `config`.
    pub service: String,
    /// The botocore operation name, e.g. `PutObject`.
    pub operation: String,
    /// The IAM actions the call needs, e.g. `s3:PutObject`.
    pub actions: Vec<String>,
    /// The access level of the call; `None` means unknown, which the policy treats as a write.
    pub access_level: Option<AccessLevel>,
    /// The response carries credentials (e.g. `sts assume-role`).
    pub returns_credentials: bool,
    /// The response carries a secret (e.g. `secretsmanager get-secret-value`).
    pub returns_secret: bool,
    /// The call destroys something (delete, terminate, ...).
    pub destructive: bool,
    /// A read that acts: hides messages, starts a billed query, ... (the classify stage's
    /// side-effects list); read-only and guarded modes ask before it.
    #[serde(default)]
    pub side_effects: bool,
    /// The region the call goes to, when known.
    pub region: Option<String>,
    /// The account the call acts in, when known.
    pub account: Option<String>,
    /// The AWS CLI global options that change where or how the call is sent.
    pub global_options: GlobalFlags,
    /// The ARNs the call touches, when the classify stage could derive them.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The parameters, flattened to `Path=value` strings ([`flatten_parameters`]); Cedar
    /// policies see them as `context.parameters`.
    #[serde(default)]
    pub parameters: Vec<String>,
    /// `parameters` is not the whole request: values were cut or parameters dropped at the
    /// bounds. Cedar policies that look at parameters then decide as if their conditions on the
    /// missing part held (a `forbid` denies, a consent asks, a plain `permit` does not allow).
    #[serde(default)]
    pub parameters_truncated: bool,
    /// Every API operation the command may make, with the IAM actions each needs (its own and
    /// the dependent ones). A plain call makes one, itself; `aws s3 rm --recursive` makes
    /// `s3api list-objects-v2` and `s3api delete-object`. Command rules match each of them as
    /// well as the command as written, so no spelling walks around a rule. Empty means the
    /// request is its own one operation.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Who asks: the MCP client or owner (Cedar's principal); `None` means `owner`.
    #[serde(default)]
    pub principal: Option<String>,
}

/// Global options of the request that the policy rules on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalFlags {
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// `--endpoint-url URL`.
    pub endpoint_url: Option<String>,
    /// `--debug`.
    pub debug: bool,
    /// `--no-verify-ssl`.
    pub no_verify_ssl: bool,
    /// `--no-sign-request`.
    pub no_sign_request: bool,
}

/// One API operation a request may make.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The AWS CLI command of the operation (`s3api`).
    pub service_cli_name: String,
    /// The AWS CLI operation name (`delete-object`).
    pub operation_cli_name: String,
    /// The botocore service name (`s3`).
    pub service: String,
    /// The API operation name (`DeleteObject`).
    pub operation: String,
    /// The IAM actions it needs: its own, then the dependent ones.
    pub actions: Vec<String>,
}

impl Operation {
    /// `aws <service_cli_name> <operation_cli_name>`.
    pub fn command(&self) -> String {
        format!("aws {} {}", self.service_cli_name, self.operation_cli_name)
    }
}

impl Request {
    /// `aws <service_cli_name> <operation_cli_name>`, the form command rules match.
    pub fn command(&self) -> String {
        format!("aws {} {}", self.service_cli_name, self.operation_cli_name)
    }

    /// The API operations the request may make: [`Request::operations`], or the request itself
    /// when that is empty.
    pub fn api_operations(&self) -> Vec<Operation> {
        if !self.operations.is_empty() {
            return self.operations.clone();
        }
        vec![Operation {
            service_cli_name: self.service_cli_name.clone(),
            operation_cli_name: self.operation_cli_name.clone(),
            service: self.service.clone(),
            operation: self.operation.clone(),
            actions: self.actions.clone(),
        }]
    }
}

/// At most this many flattened parameters are kept (the rest are dropped, bounding evaluation;
/// the request is then marked [`Request::parameters_truncated`]).
pub const MAX_PARAMETERS: usize = 4096;
/// Values longer than this many characters are cut (and the request marked truncated).
pub const MAX_PARAMETER_VALUE: usize = 4096;

/// Flatten request parameters (the API's JSON form) to `Path=value` strings: map keys are joined
/// with `.`, list items repeat their path (`InstanceIds=i-1`, `InstanceIds=i-2`), scalars are
/// written as JSON would without quotes, nulls are skipped. Bounded by [`MAX_PARAMETERS`] and
/// [`MAX_PARAMETER_VALUE`].
///
/// ```
/// let p = portcullis_policy::flatten_parameters(&serde_json::json!({
///     "Bucket": "logs", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": true}
/// }));
/// assert_eq!(p, ["Bucket=logs", "Delete.Objects.Key=a", "Delete.Objects.Key=b", "Delete.Quiet=true"]);
/// ```
pub fn flatten_parameters(params: &serde_json::Value) -> Vec<String> {
    flatten_parameters_bounded(params).0
}

/// [`flatten_parameters`], and whether anything was cut or dropped at the bounds.
pub fn flatten_parameters_bounded(params: &serde_json::Value) -> (Vec<String>, bool) {
    let mut out = Flat {
        items: Vec::new(),
        truncated: false,
    };
    flatten(params, &mut String::new(), &mut out);
    (out.items, out.truncated)
}

struct Flat {
    items: Vec<String>,
    truncated: bool,
}

fn flatten(v: &serde_json::Value, path: &mut String, out: &mut Flat) {
    use serde_json::Value;
    if out.items.len() >= MAX_PARAMETERS {
        if !v.is_null() {
            out.truncated = true;
        }
        return;
    }
    match v {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(v, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, path, out);
            }
        }
        Value::String(s) => push(path, s, out),
        other => push(path, &other.to_string(), out),
    }
}

fn push(path: &str, value: &str, out: &mut Flat) {
    if out.items.len() >= MAX_PARAMETERS {
        out.truncated = true;
        return;
    }
    let mut chars = value.char_indices();
    let value = match chars.nth(MAX_PARAMETER_VALUE) {
        Some((cut, _)) => {
            out.truncated = true;
            &value[..cut]
        }
        None => value,
    };
    out.items.push(format!("{path}={value}"));
}
