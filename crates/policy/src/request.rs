//! The input of the decide stage: a classified request, independent of how it was written.

use portcullis_iam::AccessLevel;
use serde::{Deserialize, Serialize};

/// A classified request, as the decide stage sees it.
///
/// It carries names and classification only — no parameters and no command text — so the same
/// type serves AWS CLI calls and (later) proxied tool calls of other MCP servers.
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
    /// The region the call goes to, when known.
    pub region: Option<String>,
    /// The account the call acts in, when known.
    pub account: Option<String>,
    /// The AWS CLI global options that change where or how the call is sent.
    pub global_options: GlobalFlags,
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

impl Request {
    /// `aws <service_cli_name> <operation_cli_name>`, the form command rules match.
    pub fn command(&self) -> String {
        format!("aws {} {}", self.service_cli_name, self.operation_cli_name)
    }
}
