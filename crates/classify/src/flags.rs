//! Risk flags: what a call hands back or destroys, beyond what its access level says.
//!
//! * **returns_credentials**: the response carries credentials or tokens that act as a principal
//!   (STS sessions, access keys, registry and repository tokens, pre-signed console logins).
//! * **returns_secret**: the response carries secret material that is not itself a principal's
//!   credentials (secret values, decrypted parameters, plaintext data keys, private keys,
//!   passwords).
//! * **side_effects**: a call the catalogue calls a read that acts all the same: it hides
//!   messages from their consumers, starts a query that is billed by the data it scans, keeps a
//!   session open. [`SIDE_EFFECTS`] lists them with the reason for each. Read-only and guarded
//!   modes ask before them, as before a write; a policy can allow them explicitly.
//! * **destructive**: the call deletes data or a resource, or removes an access path or
//!   association, such that undoing it means re-creating something. Decided by the operation's
//!   leading verb ([`DESTRUCTIVE_VERBS`], after an optional `Batch`), plus [`DESTRUCTIVE`] for
//!   names the verb rule misses, plus parameter-aware cases in [`crate::refine`]. Deliberately
//!   *not* destructive: `Stop*`, `Cancel*`, `Disable*`, `Reset*`, `Abort*`, `Reboot*` (reversible
//!   or only interrupting), and operations whose actions are all at the Tagging level
//!   (`RemoveTagsFromResource`, `DeleteTags`): tags are metadata.
//!
//! Client-side helpers (`rds generate-db-auth-token`, `eks get-token`) are not API operations
//! and never reach this stage.

use serde_json::Value;

/// When a secret-returning operation actually returns the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only when this boolean parameter is `true` (`WithDecryption`).
    ParamTrue(&'static str),
    /// Unless this boolean parameter is `true` (`HidePassword`).
    ParamNotTrue(&'static str),
    /// Only when this string parameter has this value (`Attribute` = `userData`).
    ParamIs(&'static str, &'static str),
}

impl When {
    pub fn holds(self, params: &Value) -> bool {
        let flag = |name: &str| params.get(name).and_then(Value::as_bool);
        match self {
            When::Always => true,
            When::ParamTrue(name) => flag(name) == Some(true),
            When::ParamNotTrue(name) => flag(name) != Some(true),
            When::ParamIs(name, value) => params.get(name).and_then(Value::as_str) == Some(value),
        }
    }

    /// True when the answer depends on the parameters.
    pub fn is_conditional(self) -> bool {
        self != When::Always
    }
}

/// `(botocore service, operation)` whose response carries credentials.
pub const RETURNS_CREDENTIALS: &[(&str, &str)] = &[
    ("sts", "AssumeRole"),
    ("sts", "AssumeRoleWithSAML"),
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sts", "AssumeRoot"),
    ("sts", "GetSessionToken"),
    ("sts", "GetFederationToken"),
    ("sts", "GetDelegatedAccessToken"),
    ("sts", "GetWebIdentityToken"),
    ("iam", "CreateAccessKey"),
    ("iam", "CreateServiceSpecificCredential"),
    ("iam", "ResetServiceSpecificCredential"),
    ("ecr", "GetAuthorizationToken"),
    ("ecr-public", "GetAuthorizationToken"),
    ("codeartifact", "GetAuthorizationToken"),
    ("redshift", "GetClusterCredentials"),
    ("redshift", "GetClusterCredentialsWithIAM"),
    ("redshift-serverless", "GetCredentials"),
    ("sso", "GetRoleCredentials"),
    ("sso-oidc", "CreateToken"),
    ("sso-oidc", "CreateTokenWithIAM"),
    ("signin", "CreateOAuth2Token"),
    ("signin", "CreateOAuth2TokenWithIAM"),
    ("cognito-identity", "GetCredentialsForIdentity"),
    ("cognito-identity", "GetOpenIdToken"),
    ("cognito-identity", "GetOpenIdTokenForDeveloperIdentity"),
    ("cognito-idp", "InitiateAuth"),
    ("cognito-idp", "AdminInitiateAuth"),
    ("cognito-idp", "RespondToAuthChallenge"),
    ("cognito-idp", "AdminRespondToAuthChallenge"),
    ("cognito-idp", "GetTokensFromRefreshToken"),
    ("eks-auth", "AssumeRoleForPodIdentity"),
    ("datazone", "GetEnvironmentCredentials"),
    ("lightsail", "GetInstanceAccessDetails"),
    ("lightsail", "CreateBucketAccessKey"),
    ("gamelift", "GetInstanceAccess"),
    ("gamelift", "GetComputeAccess"),
    ("gamelift", "RequestUploadCredentials"),
    ("connect", "GetFederationToken"),
    ("ssm", "StartSession"),
    ("ecs", "ExecuteCommand"),
    ("sagemaker", "CreatePresignedDomainUrl"),
    ("sagemaker", "CreatePresignedNotebookInstanceUrl"),
    ("appstream", "CreateStreamingURL"),
    // Bearer URLs and tokens: whoever holds them acts as the caller until they expire.
    ("sagemaker", "CreatePresignedMlflowTrackingServerUrl"),
    ("quicksight", "GenerateEmbedUrlForRegisteredUser"),
    ("quicksight", "GenerateEmbedUrlForAnonymousUser"),
    ("quicksight", "GetDashboardEmbedUrl"),
    ("quicksight", "GetSessionEmbedUrl"),
    ("mwaa", "CreateCliToken"),
    ("mwaa", "CreateWebLoginToken"),
    ("emr", "GetClusterSessionCredentials"),
    ("emr", "GetOnClusterAppUIPresignedURL"),
    ("emr", "GetPersistentAppUIPresignedURL"),
    ("emr-serverless", "GetDashboardForJobRun"),
    ("s3", "CreateSession"),
    ("s3control", "GetDataAccess"),
    ("lakeformation", "GetTemporaryGlueTableCredentials"),
    ("lakeformation", "GetTemporaryGluePartitionCredentials"),
    ("lightsail", "CreateContainerServiceRegistryLogin"),
    ("grafana", "CreateWorkspaceApiKey"),
    ("grafana", "CreateWorkspaceServiceAccountToken"),
];

/// `(botocore service, operation, reason)`: reads that act (see the module docs). Each reason is
/// shown to the person asked and to the agent.
pub const SIDE_EFFECTS: &[(&str, &str, &str)] = &[
    (
        "sqs",
        "ReceiveMessage",
        "received messages are hidden from the queue's other consumers for the visibility timeout (up to 12 hours) and count towards the redrive to a dead-letter queue",
    ),
    (
        "logs",
        "StartQuery",
        "starts a CloudWatch Logs Insights query, billed by the data it scans",
    ),
    (
        "logs",
        "StartLiveTail",
        "starts a Live Tail session, billed by the minute",
    ),
    (
        "cloudtrail",
        "StartQuery",
        "starts a CloudTrail Lake query, billed by the data it scans",
    ),
    (
        "athena",
        "StartQueryExecution",
        "runs an Athena query: billed by the data it scans, and a query can write (CTAS, INSERT, UNLOAD)",
    ),
    (
        "athena",
        "StartCalculationExecution",
        "runs code in an Athena Spark session, billed by the DPU-hour",
    ),
    (
        "athena",
        "StartSession",
        "starts an Athena Spark session, billed while it runs",
    ),
    (
        "glue",
        "StartDataQualityRuleRecommendationRun",
        "starts a billed Glue data quality run",
    ),
    (
        "glue",
        "StartDataQualityRulesetEvaluationRun",
        "starts a billed Glue data quality run",
    ),
    (
        "lakeformation",
        "StartQueryPlanning",
        "starts a Lake Formation query plan over governed tables",
    ),
    (
        "timestream-query",
        "Query",
        "runs a Timestream query, billed by the data it scans",
    ),
    (
        "redshift-data",
        "ExecuteStatement",
        "runs SQL on a Redshift cluster: any statement, writes included",
    ),
    (
        "redshift-data",
        "BatchExecuteStatement",
        "runs SQL on a Redshift cluster: any statement, writes included",
    ),
    (
        "s3",
        "SelectObjectContent",
        "runs S3 Select over an object, billed by the data it scans",
    ),
];

/// The side effect of a read, if it has one.
pub fn side_effect(service: &str, operation: &str) -> Option<&'static str> {
    SIDE_EFFECTS
        .iter()
        .find(|(s, o, _)| *s == service && *o == operation)
        .map(|(_, _, r)| *r)
}

/// `(botocore service, operation, when)` whose response carries a secret.
pub const RETURNS_SECRET: &[(&str, &str, When)] = &[
    ("secretsmanager", "GetSecretValue", When::Always),
    ("secretsmanager", "BatchGetSecretValue", When::Always),
    ("secretsmanager", "GetRandomPassword", When::Always),
    ("ssm", "GetParameter", When::ParamTrue("WithDecryption")),
    ("ssm", "GetParameters", When::ParamTrue("WithDecryption")),
    (
        "ssm",
        "GetParametersByPath",
        When::ParamTrue("WithDecryption"),
    ),
    (
        "ssm",
        "GetParameterHistory",
        When::ParamTrue("WithDecryption"),
    ),
    ("kms", "Decrypt", When::Always),
    ("kms", "GenerateDataKey", When::Always),
    ("kms", "GenerateDataKeyPair", When::Always),
    ("kms", "GenerateRandom", When::Always),
    ("kms", "DeriveSharedSecret", When::Always),
    ("ec2", "GetPasswordData", When::Always),
    // Instance user data routinely carries bootstrap secrets.
    (
        "ec2",
        "DescribeInstanceAttribute",
        When::ParamIs("Attribute", "userData"),
    ),
    ("ec2", "CreateKeyPair", When::Always),
    ("lightsail", "GetInstanceAccessDetails", When::Always),
    ("lightsail", "CreateKeyPair", When::Always),
    ("lightsail", "DownloadDefaultKeyPair", When::Always),
    (
        "lightsail",
        "GetRelationalDatabaseMasterUserPassword",
        When::Always,
    ),
    ("lightsail", "CreateBucketAccessKey", When::Always),
    ("acm", "ExportCertificate", When::Always),
    ("iot", "CreateKeysAndCertificate", When::Always),
    ("iot", "CreateProvisioningClaim", When::Always),
    ("iam", "CreateAccessKey", When::Always),
    ("iam", "CreateServiceSpecificCredential", When::Always),
    ("iam", "ResetServiceSpecificCredential", When::Always),
    ("cognito-idp", "DescribeUserPoolClient", When::Always),
    ("cognito-idp", "CreateUserPoolClient", When::Always),
    ("glue", "GetConnection", When::ParamNotTrue("HidePassword")),
    ("glue", "GetConnections", When::ParamNotTrue("HidePassword")),
    ("apigateway", "GetApiKey", When::ParamTrue("includeValue")),
    ("apigateway", "GetApiKeys", When::ParamTrue("includeValues")),
    ("apigateway", "CreateApiKey", When::Always),
    ("appsync", "CreateApiKey", When::Always),
    ("storagegateway", "DescribeChapCredentials", When::Always),
];

/// Leading verbs that make an operation destructive (see the module docs for what is left out).
pub const DESTRUCTIVE_VERBS: &[&str] = &[
    "Delete",
    "Terminate",
    "Remove",
    "Detach",
    "Disassociate",
    "Dissociate",
    "Revoke",
    "Deregister",
    "Purge",
    "Release",
    "Deprovision",
    "Unassign",
    "Unsubscribe",
];

/// Destructive operations whose verb the rule does not catch.
pub const DESTRUCTIVE: &[(&str, &str)] = &[
    ("kms", "ScheduleKeyDeletion"),
    ("organizations", "CloseAccount"),
    ("organizations", "LeaveOrganization"),
];

pub fn returns_credentials(service: &str, operation: &str) -> bool {
    RETURNS_CREDENTIALS
        .iter()
        .any(|(s, o)| *s == service && *o == operation)
}

pub fn returns_secret(service: &str, operation: &str) -> Option<When> {
    RETURNS_SECRET
        .iter()
        .find(|(s, o, _)| *s == service && *o == operation)
        .map(|(_, _, w)| *w)
}

/// The operation's leading verb, after an optional `Batch` (`BatchDeleteImage` → `Delete`).
pub fn verb(operation: &str) -> &str {
    let rest = match operation.strip_prefix("Batch") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => rest,
        _ => operation,
    };
    let end = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| !c.is_ascii_lowercase())
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// Destructive by name (verb rule or explicit list); the Tagging-level exclusion is applied by
/// the caller, which knows the access level.
pub fn destructive_by_name(service: &str, operation: &str) -> bool {
    DESTRUCTIVE_VERBS.contains(&verb(operation))
        || DESTRUCTIVE
            .iter()
            .any(|(s, o)| *s == service && *o == operation)
}
