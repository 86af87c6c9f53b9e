//! Peer comparison: on one `aws iam get-account-authorization-details` export
//! (`tests/data/blast/export.json`), the privilege-escalation, data-exfiltration and
//! resource-exposure findings of `portcullis iam blast-radius` are compared with those of
//! Cloudsplaining (the version pinned in `scripts/requirements-test.txt`), principal by
//! principal, in Cloudsplaining's two modes:
//!
//! * default: only `Allow` statements whose `Resource` is `*` and that have no `Condition`;
//! * `--flag-all-risky-actions` (`-aR`): every `Allow` statement, resource ARNs and conditions
//!   ignored.
//!
//! How Cloudsplaining decides (read from its source, `cloudsplaining/scan/*.py`): it reports per
//! *policy* (`iam-results-<name>.json`: `inline_policies`, `customer_managed_policies`,
//! `aws_managed_policies`, each with `PrivilegeEscalation` `{type, actions}` paths and
//! `DataExfiltration` / `ResourceExposure` action lists); a principal's findings here are the union
//! over the policies attached to it and, for a user, to its groups. Each policy is judged alone: a
//! `Deny` removes an action only within its own policy, and then from every resource, whatever the
//! Deny's `Resource` or `Condition`; permissions boundaries are not read. Its resource exposure is
//! every action of policy_sentry's "Permissions management" level.
//!
//! The comparison is over the vocabulary both tools share ([`PATHS`], [`EXFILTRATION`],
//! [`EXPOSURE`]). Every difference within it is in [`DIFFERENCES`], with what each tool says
//! (checked against their output) and why Portcullis is right; the test fails on a difference
//! the table does not explain and on an explained one that no longer occurs. A difference where
//! Cloudsplaining reports and Portcullis does not must be one where Cloudsplaining is wrong (a
//! Deny it ignores, a boundary it does not read). Where both report, but Portcullis keeps a
//! resource scope or condition that Cloudsplaining's finding drops, the finding is in [`SCOPED`].
//! Outside the shared vocabulary: Cloudsplaining paths that chain a Portcullis path with more
//! actions ([`COMPOSITES`]) must come with that Portcullis finding; Cloudsplaining paths
//! Portcullis's catalogue lacks ([`CATALOGUE_GAPS`]) and exposure actions outside Portcullis's
//! list must at least show in Portcullis's access map (their service is allowed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary and Cloudsplaining

#[allow(dead_code)] // only `support::moto::venv_python` is used here
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use support::moto::venv_python;

/// The Cloudsplaining version the tables were written against (scripts/requirements-test.txt).
const CLOUDSPLAINING_VERSION: &str = "0.9.1";

const EXPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/blast/export.json");

/// An exclusions file that excludes nothing (the default one skips `AdministratorAccess`).
const NO_EXCLUSIONS: &str = "policies:\n  - \"\"\nroles:\n  - \"\"\nusers:\n  - \"\"\n\
groups:\n  - \"\"\ninclude-actions:\n  - \"\"\nexclude-actions:\n  - \"\"\n\
known-accounts:\n  - \"\"\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// `cloudsplaining scan`.
    Default,
    /// `cloudsplaining scan --flag-all-risky-actions`.
    FlagAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Escalation,
    Exfiltration,
    Exposure,
}

const DEFAULT: &[Mode] = &[Mode::Default];
const FLAG_ALL: &[Mode] = &[Mode::FlagAll];
const BOTH: &[Mode] = &[Mode::Default, Mode::FlagAll];

/// Why the tools differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Cloudsplaining judges each policy alone: a `Deny` in another policy of the principal is
    /// ignored. Portcullis evaluates all the principal's policies together.
    DenyElsewhere,
    /// Cloudsplaining does not read permissions boundaries. Portcullis does.
    Boundary,
    /// Cloudsplaining (default mode) skips statements with a resource ARN. Portcullis reports the
    /// capability with its resource scope kept (and a lower severity).
    ResourceScope,
    /// Cloudsplaining (default mode) skips statements with a `Condition`. Portcullis reports the
    /// capability as conditional, naming the keys (medium severity).
    Condition,
    /// Cloudsplaining drops an action from the whole policy when the same policy denies it on
    /// any resource, so a Deny on some buckets hides the read on all the others. Portcullis
    /// evaluates the Deny on the resources it names.
    PartialDeny,
    /// Cloudsplaining's resource exposure is policy_sentry's "Permissions management" level;
    /// policy_sentry files `ec2:ModifyImageAttribute` (which shares AMIs through
    /// `launchPermission`) under Write, so Cloudsplaining never flags it. Portcullis's list names
    /// the call.
    AccessLevel,
}

impl Why {
    /// Whether this explains a finding Cloudsplaining has and Portcullis does not (Cloudsplaining
    /// is wrong), rather than one Portcullis has and Cloudsplaining does not.
    fn cloudsplaining_wrong(self) -> bool {
        matches!(self, Why::DenyElsewhere | Why::Boundary)
    }
}

/// What a tool says when it does not report the item.
const NOT: &str = "not flagged";

/// One explained difference.
struct Difference {
    modes: &'static [Mode],
    principal: &'static str,
    category: Category,
    /// The Cloudsplaining path type (escalation) or the action.
    item: &'static str,
    /// The policies Cloudsplaining flags it in (comma-separated), or [`NOT`].
    cloudsplaining: &'static str,
    /// Portcullis's finding as `severity scope [keys or resources]`, or [`NOT`].
    portcullis: &'static str,
    why: Why,
    /// The details of this case.
    explanation: &'static str,
}

#[allow(clippy::too_many_arguments)] // one argument per column of the table
const fn diff(
    modes: &'static [Mode],
    principal: &'static str,
    category: Category,
    item: &'static str,
    cloudsplaining: &'static str,
    portcullis: &'static str,
    why: Why,
    explanation: &'static str,
) -> Difference {
    Difference {
        modes,
        principal,
        category,
        item,
        cloudsplaining,
        portcullis,
        why,
        explanation,
    }
}

use Category::{Escalation, Exfiltration, Exposure};

/// Every difference between the two tools on the export, within the shared vocabulary.
#[rustfmt::skip]
const DIFFERENCES: &[Difference] = &[
    // Cloudsplaining reports, Portcullis does not: Cloudsplaining is wrong.
    diff(BOTH, "alice", Escalation, "CreateEC2WithExistingIP", "launch-and-attach", NOT, Why::Boundary,
        "launch-and-attach allows iam:PassRole and ec2:RunInstances on *, but alice's boundary \
         DeveloperBoundary allows only ec2, s3, lambda and logs: she cannot pass a role"),
    diff(BOTH, "alice", Escalation, "AttachUserPolicy", "launch-and-attach", NOT, Why::Boundary,
        "iam:AttachUserPolicy is outside alice's boundary DeveloperBoundary"),
    diff(BOTH, "alice", Exposure, "iam:PassRole", "launch-and-attach", NOT, Why::Boundary,
        "iam:PassRole is outside alice's boundary DeveloperBoundary"),
    diff(FLAG_ALL, "alice", Exfiltration, "ssm:GetParameter", "dev-tools", NOT, Why::Boundary,
        "the group policy dev-tools grants it on parameter/dev/*, but alice's boundary does not \
         allow ssm (bob, in the same group without a boundary, has it)"),
    diff(FLAG_ALL, "alice", Exfiltration, "ssm:GetParametersByPath", "dev-tools", NOT, Why::Boundary,
        "as ssm:GetParameter: outside alice's boundary"),
    diff(BOTH, "ci-deployer", Exposure, "s3:PutBucketPolicy", "S3FullAccessCustom", NOT, Why::DenyElsewhere,
        "S3FullAccessCustom allows s3:* on *; the inline policy ci-guardrails denies \
         s3:PutBucketPolicy on *"),
    diff(BOTH, "ci-deployer", Exposure, "s3:PutBucketAcl", "S3FullAccessCustom", NOT, Why::DenyElsewhere,
        "denied on * by ci-guardrails"),
    diff(BOTH, "ci-deployer", Exposure, "s3:PutObjectAcl", "S3FullAccessCustom", NOT, Why::DenyElsewhere,
        "denied on * by ci-guardrails"),
    // Portcullis reports, Cloudsplaining does not: Portcullis is not blind where it is.
    diff(DEFAULT, "lambda-deployer", Escalation, "PassExistingRoleToNewLambdaThenInvoke", NOT,
        "high some [iam:PassRole: arn:aws:iam::111122223333:role/lambda-exec-*]", Why::ResourceScope,
        "iam:PassRole is limited to the lambda-exec-* roles, which may still be more privileged \
         than lambda-deployer: Portcullis reports the path (high, not critical) with the roles it \
         can pass"),
    diff(DEFAULT, "lambda-deployer", Exposure, "iam:PassRole", NOT,
        "medium some [iam:PassRole: arn:aws:iam::111122223333:role/lambda-exec-*]", Why::ResourceScope,
        "passing the lambda-exec-* roles, scope kept"),
    diff(DEFAULT, "reports-reader", Exfiltration, "s3:GetObject", NOT,
        "low some [s3:GetObject: arn:aws:s3:::reports/*]", Why::ResourceScope,
        "s3:GetObject on arn:aws:s3:::reports/* only: low severity, the bucket named"),
    diff(DEFAULT, "payments-secrets", Exfiltration, "secretsmanager:GetSecretValue", NOT,
        "medium conditional [aws:ResourceTag/team]", Why::Condition,
        "secretsmanager:GetSecretValue on * only for secrets tagged team=payments: medium, the \
         condition key named"),
    diff(DEFAULT, "bob", Exfiltration, "ssm:GetParameter", NOT,
        "low some [ssm:GetParameter: arn:aws:ssm:*:111122223333:parameter/dev/*]", Why::ResourceScope,
        "through the group policy dev-tools, on parameter/dev/* only"),
    diff(DEFAULT, "bob", Exfiltration, "ssm:GetParametersByPath", NOT,
        "low some [ssm:GetParametersByPath: arn:aws:ssm:*:111122223333:parameter/dev/*]",
        Why::ResourceScope, "through the group policy dev-tools, on parameter/dev/* only"),
    diff(BOTH, "analytics", Exfiltration, "s3:GetObject", NOT, "high all", Why::PartialDeny,
        "analytics-data allows s3:GetObject on * and denies it on arn:aws:s3:::finance-*/* only: \
         the role reads every other bucket, which Cloudsplaining does not see in either mode"),
    diff(BOTH, "admin", Exposure, "ec2:ModifyImageAttribute", NOT, "high all", Why::AccessLevel,
        "AdministratorAccess allows it; Cloudsplaining's exposure list (Permissions management) \
         leaves it out"),
    diff(BOTH, "deploy-bot", Exposure, "ec2:ModifyImageAttribute", NOT, "high all", Why::AccessLevel,
        "the NotAction power-user policy allows it; not Permissions management in policy_sentry"),
];

/// Findings both tools report where Portcullis keeps a scope or condition that Cloudsplaining's
/// finding (a bare action or path, fixed severity per category) drops: `(modes, principal,
/// category, item, Portcullis's finding)`. In default mode Cloudsplaining reports only grants on
/// `*` without conditions, so there are none but the Bedrock AgentCore ones below.
#[rustfmt::skip]
const SCOPED: &[(&[Mode], &str, Category, &str, &str)] = &[
    // Not a scope the policies set: an artefact of Portcullis's access map. The catalogue gives
    // the AWS-managed code interpreter the ARN `arn:${Partition}:bedrock-agentcore:${Region}:aws:
    // code-interpreter/...`, account `aws`; the access map's "All" test evaluates that synthetic
    // resource as owned by another account, which needs a resource-based policy, so `*` on `*`
    // comes out as Some on the witness `*` (high, not critical). To drop once the access map
    // treats `aws`-owned resources as callable on an identity grant alone.
    (BOTH, "admin", Escalation, "AccessExistingBedrockCodeInterpreterSession",
        "high some [bedrock-agentcore:StartCodeInterpreterSession: *; bedrock-agentcore:InvokeCodeInterpreter: *]"),
    (BOTH, "admin", Escalation, "PassExistingRoleToNewBedrockCodeInterpreter",
        "high some [bedrock-agentcore:StartCodeInterpreterSession: *; bedrock-agentcore:InvokeCodeInterpreter: *]"),
    (BOTH, "deploy-bot", Escalation, "AccessExistingBedrockCodeInterpreterSession",
        "high some [bedrock-agentcore:StartCodeInterpreterSession: *; bedrock-agentcore:InvokeCodeInterpreter: *]"),
    (FLAG_ALL, "lambda-deployer", Escalation, "PassExistingRoleToNewLambdaThenInvoke",
        "high some [iam:PassRole: arn:aws:iam::111122223333:role/lambda-exec-*]"),
    (FLAG_ALL, "lambda-deployer", Exposure, "iam:PassRole",
        "medium some [iam:PassRole: arn:aws:iam::111122223333:role/lambda-exec-*]"),
    (FLAG_ALL, "reports-reader", Exfiltration, "s3:GetObject",
        "low some [s3:GetObject: arn:aws:s3:::reports/*]"),
    (FLAG_ALL, "payments-secrets", Exfiltration, "secretsmanager:GetSecretValue",
        "medium conditional [aws:ResourceTag/team]"),
    (FLAG_ALL, "bob", Exfiltration, "ssm:GetParameter",
        "low some [ssm:GetParameter: arn:aws:ssm:*:111122223333:parameter/dev/*]"),
    (FLAG_ALL, "bob", Exfiltration, "ssm:GetParametersByPath",
        "low some [ssm:GetParametersByPath: arn:aws:ssm:*:111122223333:parameter/dev/*]"),
];

/// Escalation paths both tools check: `(Portcullis check id, Cloudsplaining type, note)`. The
/// note says where the two require different actions for the same attack.
#[rustfmt::skip]
const PATHS: &[(&str, &str, &str)] = &[
    ("privesc-create-policy-version", "CreateNewPolicyVersion", ""),
    ("privesc-set-default-policy-version", "SetExistingDefaultPolicyVersion", ""),
    ("privesc-passrole-ec2", "CreateEC2WithExistingIP", ""),
    ("privesc-create-access-key", "CreateAccessKey", ""),
    ("privesc-create-login-profile", "CreateLoginProfile", ""),
    ("privesc-update-login-profile", "UpdateLoginProfile", ""),
    ("privesc-attach-user-policy", "AttachUserPolicy", ""),
    ("privesc-attach-group-policy", "AttachGroupPolicy", ""),
    ("privesc-attach-role-policy", "AttachRolePolicy", ""),
    ("privesc-put-user-policy", "PutUserPolicy", ""),
    ("privesc-put-group-policy", "PutGroupPolicy", ""),
    ("privesc-put-role-policy", "PutRolePolicy", ""),
    ("privesc-add-user-to-group", "AddUserToGroup", ""),
    ("privesc-update-assume-role-policy", "UpdateRolePolicyToAssumeIt", ""),
    ("privesc-passrole-lambda-invoke", "PassExistingRoleToNewLambdaThenInvoke", ""),
    ("privesc-passrole-lambda-event-source", "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo", ""),
    ("privesc-update-function-code", "EditExistingLambdaFunctionWithRole", ""),
    ("privesc-passrole-glue-dev-endpoint", "PassExistingRoleToNewGlueDevEndpoint", ""),
    ("privesc-update-glue-dev-endpoint", "UpdateExistingGlueDevEndpoint", ""),
    ("privesc-passrole-cloudformation", "PassExistingRoleToCloudFormation", ""),
    ("privesc-passrole-datapipeline", "PassExistingRoleToNewDataPipeline",
        "Portcullis also requires datapipeline:PutPipelineDefinition"),
    ("privesc-passrole-sagemaker-notebook", "PassExistingRoleToNewSageMakerNotebookInstance",
        "Portcullis also requires sagemaker:CreatePresignedNotebookInstanceUrl"),
    ("privesc-ec2-instance-connect", "EC2InstanceConnectSendSSHPublicKey",
        "Cloudsplaining also requires ec2:DescribeInstances"),
    ("privesc-passrole-ecs-run-task", "PassExistingRoleToNewECSTaskViaRunTask", ""),
    ("privesc-passrole-ecs-start-task", "PassExistingRoleToNewECSTaskViaStartTask", ""),
    ("privesc-passrole-ecs-service", "PassExistingRoleToNewECSService", ""),
    ("privesc-ecs-execute-command", "ECSExecuteCommandOnRunningTask",
        "Cloudsplaining also requires ecs:DescribeTasks"),
    ("privesc-passrole-codebuild-build", "PassExistingRoleToNewCodeBuildProjectThenBuild", ""),
    ("privesc-passrole-codebuild-build-batch", "PassExistingRoleToNewCodeBuildProjectThenBuildBatch", ""),
    ("privesc-passrole-glue-job-run", "PassExistingRoleToNewGlueJobThenRun", ""),
    ("privesc-passrole-glue-job-trigger", "PassExistingRoleToNewGlueJobViaTrigger", ""),
    ("privesc-passrole-update-glue-job-run", "PassExistingRoleToUpdatedGlueJobThenRun", ""),
    ("privesc-passrole-update-glue-job-trigger", "PassExistingRoleToUpdatedGlueJobViaTrigger", ""),
    ("privesc-passrole-sagemaker-training-job", "PassExistingRoleToNewSageMakerTrainingJob", ""),
    ("privesc-passrole-sagemaker-processing-job", "PassExistingRoleToNewSageMakerProcessingJob", ""),
    ("privesc-sagemaker-presigned-notebook-url", "CreatePresignedSageMakerNotebookUrl", ""),
    ("privesc-sagemaker-notebook-lifecycle-config", "UpdateSageMakerNotebookLifecycleConfig", ""),
    ("privesc-passrole-ec2-spot", "PassExistingRoleToNewEC2SpotInstance", ""),
    ("privesc-ec2-modify-user-data", "ModifyEC2InstanceUserDataThenRestart", ""),
    ("privesc-ec2-modify-launch-template", "ModifyExistingEC2LaunchTemplate", ""),
    ("privesc-passrole-apprunner", "PassExistingRoleToNewAppRunnerService", ""),
    ("privesc-passrole-bedrock-code-interpreter", "PassExistingRoleToNewBedrockCodeInterpreter", ""),
    ("privesc-bedrock-code-interpreter-session", "AccessExistingBedrockCodeInterpreterSession", ""),
    ("privesc-cloudformation-change-set", "ExecuteCloudFormationChangeSet", ""),
    ("privesc-passrole-cloudformation-stack-set", "PassExistingRoleToNewCloudFormationStackSet", ""),
    ("privesc-passrole-update-cloudformation-stack-set", "PassRoleToUpdateCloudFormationStackSet", ""),
    ("privesc-passrole-lambda-add-permission", "PassExistingRoleToNewLambdaThenAddPermission", ""),
];

/// Portcullis escalation checks Cloudsplaining has no path for (it has no SSM path): not compared.
const PORTCULLIS_ONLY_PATHS: &[&str] = &["privesc-ssm-send-command", "privesc-ssm-start-session"];

/// Cloudsplaining paths that are a Portcullis path plus more actions: whenever Cloudsplaining
/// reports one, Portcullis must report the shorter path.
#[rustfmt::skip]
const COMPOSITES: &[(&str, &str)] = &[
    ("PassExistingRoleToNewLambdaThenTriggerWithNewDynamo", "privesc-passrole-lambda-event-source"),
    ("UpdateAndInvokeLambdaFunction", "privesc-update-function-code"),
    ("UpdateLambdaFunctionAndAddPermission", "privesc-update-function-code"),
    ("CreateAndRotateAccessKey", "privesc-create-access-key"),
    ("AttachUserPolicyThenCreateAccessKey", "privesc-attach-user-policy"),
    ("CreatePolicyVersionThenAssumeRole", "privesc-create-policy-version"),
    ("PutUserPolicyThenCreateAccessKey", "privesc-put-user-policy"),
    ("AttachRolePolicyThenUpdateAssumeRolePolicy", "privesc-attach-role-policy"),
    ("CreatePolicyVersionThenUpdateAssumeRolePolicy", "privesc-create-policy-version"),
    ("PutRolePolicyThenUpdateAssumeRolePolicy", "privesc-put-role-policy"),
    // The ECS paths that also create a cluster: the attack is the same as without one.
    ("PassExistingRoleToNewECSClusterRunTask", "privesc-passrole-ecs-run-task"),
    ("PassExistingRoleToNewECSClusterServiceTask", "privesc-passrole-ecs-service"),
];

/// Cloudsplaining escalation paths Portcullis's check catalogue (crates/blast/src/findings.rs)
/// does not have: a gap in Portcullis's findings, not an imprecision of Cloudsplaining's. None
/// with Cloudsplaining 0.9.1: each of its paths is in [`PATHS`] or [`COMPOSITES`]. A path a newer
/// Cloudsplaining adds fails the test (it is in no table) until Portcullis gets a check for it or
/// it is listed here; a listed path must occur in the export (the administrator has every path)
/// and its actions must show in Portcullis's access map (checked), and a listed path Portcullis
/// gains a check for fails the test until it moves to [`PATHS`].
const CATALOGUE_GAPS: &[&str] = &[];

/// Data-exfiltration actions both tools check (Cloudsplaining's whole list).
const EXFILTRATION: &[&str] = &[
    "s3:GetObject",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
];

/// Portcullis exfiltration checks Cloudsplaining does not have: not compared.
const PORTCULLIS_ONLY_EXFILTRATION: &[&str] = &["kms:Decrypt"];

/// Portcullis's resource-exposure actions (crates/blast/src/findings.rs); Cloudsplaining's
/// exposure findings (every Permissions-management action) are compared on these.
const EXPOSURE: &[&str] = &[
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "iam:PassRole",
    "sns:AddPermission",
    "sqs:AddPermission",
    "lambda:AddPermission",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "ecr:SetRepositoryPolicy",
    "secretsmanager:PutResourcePolicy",
    "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
    "rds:ModifyDBSnapshotAttribute",
    "glacier:SetVaultAccessPolicy",
    "iam:UpdateAssumeRolePolicy",
];

/// Services absent from a principal's Portcullis access map although Cloudsplaining flags one
/// of their actions outside the shared vocabulary: `(principal, service, why)`.
const MAP_ABSENT: &[(&str, &str, &str)] = &[(
    "alice",
    "iam",
    "launch-and-attach allows iam:AttachUserPolicy (Cloudsplaining: exposure), outside alice's \
     boundary",
)];

fn cloudsplaining_bin() -> PathBuf {
    let bin = venv_python().with_file_name("cloudsplaining");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup-venv.sh (cloudsplaining is pinned in \
         scripts/requirements-test.txt)",
        bin.display()
    );
    bin
}

/// The scratch directory of one Cloudsplaining run.
fn scratch_path(mode: Mode) -> PathBuf {
    std::env::temp_dir().join(format!(
        "portcullis-blast-peer-{}-{mode:?}",
        std::process::id()
    ))
}

fn scratch(mode: Mode) -> PathBuf {
    let dir = scratch_path(mode);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A finding set: `(principal, category, item)` -> what the tool says.
type Said = BTreeMap<(String, Category, String), String>;

/// What Portcullis says, the access map's services per principal, and the escalation check ids
/// per principal.
struct Portcullis {
    said: Said,
    services: BTreeMap<String, BTreeSet<String>>,
    checks: BTreeMap<String, BTreeSet<String>>,
}

/// `severity scope [keys or resources]`.
fn render(f: &Value) -> String {
    let mut s = format!(
        "{} {}",
        f["severity"].as_str().unwrap(),
        f["scope"]["scope"].as_str().unwrap()
    );
    let detail: Vec<&str> = f["scope"]["keys"]
        .as_array()
        .or(f["resources"].as_array())
        .map(|v| v.iter().map(|x| x.as_str().unwrap()).collect())
        .unwrap_or_default();
    if !detail.is_empty() {
        s.push_str(&format!(" [{}]", detail.join("; ")));
    }
    s
}

fn portcullis(json: &Value) -> Portcullis {
    assert_eq!(json["mode"], "unrestricted", "{}", json["mode"]);
    assert_eq!(json["unread"], serde_json::json!([]));
    let mut p = Portcullis {
        said: BTreeMap::new(),
        services: BTreeMap::new(),
        checks: BTreeMap::new(),
    };
    for r in json["reports"].as_array().unwrap() {
        let who = r["principal"]["name"].as_str().unwrap().to_string();
        assert_eq!(r["gaps"], serde_json::json!([]), "{who}: gaps");
        p.services.insert(
            who.clone(),
            r["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["prefix"].as_str().unwrap().to_ascii_lowercase())
                .collect(),
        );
        let checks = p.checks.entry(who.clone()).or_default();
        for f in r["findings"].as_array().unwrap() {
            assert_eq!(f["gate"], "open", "unrestricted mode: every gate is open");
            let id = f["id"].as_str().unwrap();
            let actions: Vec<&str> = f["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let (category, item) = match f["category"].as_str().unwrap() {
                "privilege_escalation" => {
                    checks.insert(id.to_string());
                    if PORTCULLIS_ONLY_PATHS.contains(&id) {
                        continue;
                    }
                    let (_, cs, _) = PATHS
                        .iter()
                        .find(|(pid, _, _)| *pid == id)
                        .unwrap_or_else(|| {
                            panic!("{id}: a new Portcullis path: add it to PATHS or PORTCULLIS_ONLY_PATHS")
                        });
                    (Category::Escalation, cs.to_string())
                }
                "data_exfiltration" => {
                    let a = actions[0];
                    if PORTCULLIS_ONLY_EXFILTRATION.contains(&a) {
                        continue;
                    }
                    assert!(
                        EXFILTRATION.contains(&a),
                        "{a}: a new Portcullis exfiltration check"
                    );
                    (Category::Exfiltration, a.to_string())
                }
                "resource_exposure" => {
                    let a = actions[0];
                    assert!(
                        EXPOSURE.contains(&a),
                        "{a}: a new Portcullis exposure check"
                    );
                    (Category::Exposure, a.to_string())
                }
                "credential_exposure" | "infrastructure_destruction" => continue,
                other => panic!("unknown category {other}"),
            };
            let prev = p.said.insert((who.clone(), category, item), render(f));
            assert!(prev.is_none(), "{who}: {id} reported twice");
        }
    }
    p
}

/// What Cloudsplaining says: the shared-vocabulary findings (with the policies that flag them),
/// and, outside it, `(principal, path type or exposure action, actions)`.
struct Cloudsplaining {
    said: Said,
    outside: Vec<(String, String, Vec<String>)>,
}

fn cloudsplaining(results: &Value) -> Cloudsplaining {
    let mut cs = Cloudsplaining {
        said: BTreeMap::new(),
        outside: Vec::new(),
    };
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (kind, principals) in [("users", &results["users"]), ("roles", &results["roles"])] {
        for p in principals.as_object().unwrap().values() {
            let who = p["name"].as_str().unwrap().to_string();
            assert_eq!(p["is_excluded"], false, "{kind} {who} excluded");
            names.insert(who.clone());
            // The principal's policies and its groups'.
            let mut holders = vec![p];
            if let Some(groups) = p["groups"].as_object() {
                holders.extend(groups.values());
            }
            let mut policies: Vec<&Value> = Vec::new();
            for h in holders {
                for section in [
                    "inline_policies",
                    "customer_managed_policies",
                    "aws_managed_policies",
                ] {
                    for id in h[section].as_object().unwrap().keys() {
                        let policy = &results[section][id];
                        assert!(policy.is_object(), "{who}: policy {id} not in {section}");
                        assert_eq!(policy["is_excluded"], false, "{who}: {id} excluded");
                        policies.push(policy);
                    }
                }
            }
            for policy in policies {
                let name = policy["PolicyName"].as_str().unwrap();
                let mut say = |category: Category, item: String| {
                    let e = cs.said.entry((who.clone(), category, item)).or_default();
                    if !e.split(", ").any(|n| n == name) {
                        if !e.is_empty() {
                            e.push_str(", ");
                        }
                        e.push_str(name);
                    }
                };
                for f in policy["PrivilegeEscalation"]["findings"]
                    .as_array()
                    .unwrap()
                {
                    let ty = f["type"].as_str().unwrap();
                    if PATHS.iter().any(|(_, t, _)| *t == ty) {
                        say(Category::Escalation, ty.to_string());
                    } else {
                        let actions = f["actions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|a| a.as_str().unwrap().to_string())
                            .collect();
                        cs.outside.push((who.clone(), ty.to_string(), actions));
                    }
                }
                for a in policy["DataExfiltration"]["findings"].as_array().unwrap() {
                    let a = a.as_str().unwrap();
                    assert!(
                        EXFILTRATION.contains(&a),
                        "{a}: a new Cloudsplaining exfiltration action"
                    );
                    say(Category::Exfiltration, a.to_string());
                }
                for a in policy["ResourceExposure"]["findings"].as_array().unwrap() {
                    let a = a.as_str().unwrap();
                    if EXPOSURE.contains(&a) {
                        say(Category::Exposure, a.to_string());
                    } else {
                        cs.outside
                            .push((who.clone(), a.to_string(), vec![a.to_string()]));
                    }
                }
            }
        }
    }
    assert_eq!(
        names.len(),
        15,
        "every user and role of the export: {names:?}"
    );
    cs
}

fn run_cloudsplaining(mode: Mode) -> Command {
    let dir = scratch(mode);
    let exclusions = dir.join("exclusions.yml");
    std::fs::write(&exclusions, NO_EXCLUSIONS).unwrap();
    let mut c = Command::new(cloudsplaining_bin());
    c.current_dir(&dir)
        .arg("scan")
        .arg("--input-file")
        .arg(EXPORT)
        .arg("--exclusions-file")
        .arg(&exclusions)
        .arg("--output")
        .arg(&dir)
        .arg("--skip-open-report");
    if mode == Mode::FlagAll {
        c.arg("--flag-all-risky-actions");
    }
    c
}

fn results(mode: Mode, out: &Output) -> Value {
    succeeded(&format!("cloudsplaining scan ({mode:?})"), out);
    let dir = scratch_path(mode);
    let file = dir.join("iam-results-export.json");
    let json: Value = serde_json::from_slice(
        &std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    json
}

/// The differences within the shared vocabulary: `(mode, principal, category, item)` -> (what
/// Cloudsplaining says, what Portcullis says).
type Diffs = BTreeMap<(Mode, String, Category, String), (String, String)>;

fn differences(mode: Mode, cs: &Said, p: &Said, into: &mut Diffs) {
    let keys: BTreeSet<&(String, Category, String)> = cs.keys().chain(p.keys()).collect();
    for k in keys {
        let (c, q) = (cs.get(k), p.get(k));
        if c.is_some() != q.is_some() {
            into.insert(
                (mode, k.0.clone(), k.1, k.2.clone()),
                (
                    c.cloned().unwrap_or_else(|| NOT.to_string()),
                    q.cloned().unwrap_or_else(|| NOT.to_string()),
                ),
            );
        }
    }
}

fn fmt_diffs<'a>(
    it: impl Iterator<Item = (&'a (Mode, String, Category, String), &'a (String, String))>,
) -> String {
    it.map(|((m, who, cat, item), (c, p))| {
        format!("  {m:?} | {who} | {cat:?} | {item} | Cloudsplaining: {c} | Portcullis: {p}\n")
    })
    .collect()
}

#[test]
fn findings_match_cloudsplaining_except_where_explained() {
    let bin = cloudsplaining_bin();
    // Both Cloudsplaining scans run while Portcullis does.
    let version = Command::new(&bin).arg("--version").output().unwrap();
    succeeded("cloudsplaining --version", &version);
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    assert!(
        version
            .trim_end()
            .ends_with(&format!("version {CLOUDSPLAINING_VERSION}")),
        "the tables were written against Cloudsplaining {CLOUDSPLAINING_VERSION}, the venv has \
         {version}: review them"
    );
    let runs: Vec<(Mode, std::process::Child)> = [Mode::Default, Mode::FlagAll]
        .into_iter()
        .map(|m| {
            let child = run_cloudsplaining(m)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start cloudsplaining");
            (m, child)
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "iam",
            "blast-radius",
            "--from-export",
            EXPORT,
            "--format",
            "json",
        ])
        .args(["--mode", "unrestricted"])
        .output()
        .unwrap();
    succeeded("portcullis iam blast-radius", &out);
    let p = portcullis(&serde_json::from_slice(&out.stdout).unwrap());
    assert_eq!(p.services.len(), 15, "every user and role of the export");
    let mut cs: BTreeMap<Mode, Cloudsplaining> = BTreeMap::new();
    for (mode, child) in runs {
        let out = child.wait_with_output().unwrap();
        cs.insert(mode, cloudsplaining(&results(mode, &out)));
    }

    // The table is consistent: one side says "not flagged"; Portcullis misses a finding only
    // where Cloudsplaining is wrong.
    for d in DIFFERENCES {
        let cs_only = d.portcullis == NOT;
        assert!(
            cs_only != (d.cloudsplaining == NOT),
            "{} {}: exactly one tool reports a difference",
            d.principal,
            d.item
        );
        assert_eq!(
            cs_only,
            d.why.cloudsplaining_wrong(),
            "{} {}: {:?} does not explain who reports it",
            d.principal,
            d.item,
            d.why
        );
        assert!(!d.explanation.is_empty());
    }

    // The actual differences equal the explained ones.
    let mut actual = Diffs::new();
    for (mode, c) in &cs {
        differences(*mode, &c.said, &p.said, &mut actual);
    }
    let mut expected = Diffs::new();
    for d in DIFFERENCES {
        for m in d.modes {
            let prev = expected.insert(
                (*m, d.principal.to_string(), d.category, d.item.to_string()),
                (d.cloudsplaining.to_string(), d.portcullis.to_string()),
            );
            assert!(prev.is_none(), "{} {} listed twice", d.principal, d.item);
        }
    }
    let unexplained = fmt_diffs(actual.iter().filter(|(k, v)| expected.get(*k) != Some(*v)));
    let vanished = fmt_diffs(expected.iter().filter(|(k, v)| actual.get(*k) != Some(*v)));
    assert!(
        unexplained.is_empty() && vanished.is_empty(),
        "differences not explained in DIFFERENCES (or explained with other words):\n{unexplained}\
         explained differences that no longer occur (or say something else now):\n{vanished}"
    );

    // Where both report, a scope or condition Portcullis keeps is listed.
    let mut scoped_actual: BTreeMap<(Mode, String, Category, String), String> = BTreeMap::new();
    for (mode, c) in &cs {
        for (k, said) in &p.said {
            if c.said.contains_key(k) && !said.ends_with(" all") {
                scoped_actual.insert((*mode, k.0.clone(), k.1, k.2.clone()), said.clone());
            }
        }
    }
    let scoped_expected: BTreeMap<(Mode, String, Category, String), String> = SCOPED
        .iter()
        .flat_map(|(modes, who, cat, item, said)| {
            modes.iter().map(move |m| {
                (
                    (*m, who.to_string(), *cat, item.to_string()),
                    said.to_string(),
                )
            })
        })
        .collect();
    assert_eq!(scoped_actual, scoped_expected, "SCOPED");

    // Outside the shared vocabulary.
    let mut gaps_seen: BTreeSet<&str> = BTreeSet::new();
    for c in cs.values() {
        for (who, what, actions) in &c.outside {
            if let Some((_, id)) = COMPOSITES.iter().find(|(t, _)| t == what) {
                assert!(
                    p.checks[who].contains(*id),
                    "{who}: Cloudsplaining reports {what}, Portcullis lacks {id}"
                );
                continue;
            }
            if let Some(g) = CATALOGUE_GAPS.iter().find(|g| *g == what) {
                gaps_seen.insert(g);
            } else {
                // An exposure action (`service:Action`), or a path type no table knows.
                assert!(
                    what.contains(':'),
                    "{who}: Cloudsplaining path {what} is in no table (PATHS, COMPOSITES, \
                     CATALOGUE_GAPS)"
                );
            }
            // Not a Portcullis finding, but visible in its access map.
            for a in actions {
                let service = a.split(':').next().unwrap().to_ascii_lowercase();
                let absent_ok = MAP_ABSENT.iter().any(|(w, s, _)| w == who && *s == service);
                assert_eq!(
                    p.services[who].contains(&service),
                    !absent_ok,
                    "{who}: {what} ({a}): service {service} in Portcullis's map?"
                );
            }
        }
    }
    let gaps_listed: BTreeSet<&str> = CATALOGUE_GAPS.iter().copied().collect();
    assert_eq!(gaps_seen, gaps_listed, "CATALOGUE_GAPS");

    // Sanity: the administrator has every shared check in both tools.
    for (id, ty, _) in PATHS {
        assert!(p.checks["admin"].contains(*id), "admin lacks {id}");
        for c in cs.values() {
            assert!(
                c.said
                    .contains_key(&("admin".to_string(), Category::Escalation, ty.to_string())),
                "Cloudsplaining: admin lacks {ty}"
            );
        }
    }
    for a in EXPOSURE {
        assert!(
            p.said
                .contains_key(&("admin".to_string(), Category::Exposure, a.to_string())),
            "{a}"
        );
    }
}
