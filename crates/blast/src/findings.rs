//! Risky capabilities: the catalogue of checks and how a finding is made from the access map.
//!
//! # Sources
//!
//! * Privilege escalation: Rhino Security Labs, "AWS IAM Privilege Escalation – Methods and
//!   Mitigation" (rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/, the 21
//!   original methods) and Cloudsplaining's `privilege_escalation` checks
//!   (github.com/salesforce/cloudsplaining), which add the SSM, SageMaker and EC2 Instance
//!   Connect paths, and, from Cloudsplaining 0.9.1 on, the paths of pathfinding.cloud (ECS,
//!   CodeBuild, Glue jobs, SageMaker jobs and notebooks, EC2 spot instances, user data and launch
//!   templates, App Runner, Bedrock AgentCore, CloudFormation change sets and stack sets). Only
//!   the facts (which action combinations escalate) are taken.
//! * Data exfiltration, resource exposure, credential exposure: Cloudsplaining's
//!   `data_exfiltration`, `resource_exposure` and `credentials_exposure` lists, narrowed to the
//!   actions listed here.
//! * Infrastructure destruction: this crate's own list of the delete/terminate calls with the
//!   largest blast radius.
//!
//! # Rules
//!
//! | Category | Reported when | Severity |
//! |---|---|---|
//! | Privilege escalation | every action of the path is allowed (any scope) | critical if all on All, else high |
//! | Data exfiltration | allowed on All (`*` or a whole-service wildcard) | high; conditional-only: medium; on some resources only: low |
//! | Resource exposure | allowed (any scope) | high if All, else medium |
//! | Credential exposure | allowed (any scope) | high if All, else medium |
//! | Infrastructure destruction | allowed on All, or conditionally on all | high; conditional: medium |
//!
//! A finding's scope is the weakest of its actions' scopes (`All > Some > Conditional`), the keys
//! of every conditional action named, and it lists every statement that grants one of them.

use portcullis_iam::AccessLevel;
use serde::Serialize;

use crate::access::{Access, ActionAccess, Grant};

/// The kind of risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The principal can give itself (or a principal it controls) more permissions.
    PrivilegeEscalation,
    /// The principal can read data in bulk.
    DataExfiltration,
    /// The principal can open a resource to other accounts or the public.
    ResourceExposure,
    /// The principal can obtain credentials.
    CredentialExposure,
    /// The principal can delete infrastructure wholesale.
    InfrastructureDestruction,
}

impl Category {
    /// A human label.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PrivilegeEscalation => "Privilege escalation",
            Category::DataExfiltration => "Data exfiltration",
            Category::ResourceExposure => "Resource exposure",
            Category::CredentialExposure => "Credential exposure",
            Category::InfrastructureDestruction => "Infrastructure destruction",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Narrow grant of a sensitive action.
    Low,
    /// Conditional or narrower grant.
    Medium,
    /// Broad grant.
    High,
    /// Unconditional privilege escalation on every resource.
    Critical,
}

impl Severity {
    /// `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One risky capability the principal has.
///
/// | Category | Reported when | Severity |
/// |---|---|---|
/// | Privilege escalation | every action of the path is allowed (any scope) | critical if all on All, else high |
/// | Data exfiltration | allowed at all | high on All (`*` or a whole-service wildcard); medium if conditional; low on named resources only |
/// | Resource exposure | allowed (any scope) | high if All, else medium |
/// | Credential exposure | allowed (any scope) | high if All, else medium |
/// | Infrastructure destruction | allowed on All, or conditionally | high; conditional: medium (named resources only: not reported) |
///
/// The scope is the weakest of the actions' ([`Access`] order), and the statements are every
/// identity-policy statement that grants one of them. Sources of the checks: Rhino Security
/// Labs' "AWS IAM Privilege Escalation – Methods and Mitigation" and Cloudsplaining's
/// `privilege_escalation`, `data_exfiltration`, `resource_exposure` and `credentials_exposure`
/// lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier of the check (`privesc-passrole-ec2`, `exfil-s3-getobject`, ...).
    pub id: &'static str,
    /// What it lets the principal do.
    pub capability: &'static str,
    /// The kind of risk.
    pub category: Category,
    /// How bad.
    pub severity: Severity,
    /// The actions involved, all allowed.
    pub actions: Vec<String>,
    /// The weakest scope among them.
    pub scope: Access,
    /// With a `Some` scope: the resource patterns, per action (`action: pattern`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The statements that grant the actions.
    pub statements: Vec<Grant>,
}

/// One check: an id, what it means, its category and the actions that must all be allowed.
pub(crate) struct Check {
    pub(crate) id: &'static str,
    pub(crate) capability: &'static str,
    pub(crate) category: Category,
    pub(crate) actions: &'static [&'static str],
}

const fn check(
    id: &'static str,
    capability: &'static str,
    category: Category,
    actions: &'static [&'static str],
) -> Check {
    Check {
        id,
        capability,
        category,
        actions,
    }
}

use Category::*;

/// Every check, in report order.
pub(crate) const CHECKS: &[Check] = &[
    // Privilege escalation (Rhino Security Labs methods 1-21, Cloudsplaining additions).
    check(
        "privesc-create-policy-version",
        "Create a new default version of a managed policy it is attached to",
        PrivilegeEscalation,
        &["iam:CreatePolicyVersion"],
    ),
    check(
        "privesc-set-default-policy-version",
        "Roll a managed policy back to a more permissive version",
        PrivilegeEscalation,
        &["iam:SetDefaultPolicyVersion"],
    ),
    check(
        "privesc-passrole-ec2",
        "Launch an EC2 instance with a more privileged role and use its credentials",
        PrivilegeEscalation,
        &["iam:PassRole", "ec2:RunInstances"],
    ),
    check(
        "privesc-create-access-key",
        "Create access keys for another user",
        PrivilegeEscalation,
        &["iam:CreateAccessKey"],
    ),
    check(
        "privesc-create-login-profile",
        "Set a console password for a user that has none",
        PrivilegeEscalation,
        &["iam:CreateLoginProfile"],
    ),
    check(
        "privesc-update-login-profile",
        "Change another user's console password",
        PrivilegeEscalation,
        &["iam:UpdateLoginProfile"],
    ),
    check(
        "privesc-attach-user-policy",
        "Attach any managed policy to a user",
        PrivilegeEscalation,
        &["iam:AttachUserPolicy"],
    ),
    check(
        "privesc-attach-group-policy",
        "Attach any managed policy to a group",
        PrivilegeEscalation,
        &["iam:AttachGroupPolicy"],
    ),
    check(
        "privesc-attach-role-policy",
        "Attach any managed policy to a role",
        PrivilegeEscalation,
        &["iam:AttachRolePolicy"],
    ),
    check(
        "privesc-put-user-policy",
        "Write an inline policy on a user",
        PrivilegeEscalation,
        &["iam:PutUserPolicy"],
    ),
    check(
        "privesc-put-group-policy",
        "Write an inline policy on a group",
        PrivilegeEscalation,
        &["iam:PutGroupPolicy"],
    ),
    check(
        "privesc-put-role-policy",
        "Write an inline policy on a role",
        PrivilegeEscalation,
        &["iam:PutRolePolicy"],
    ),
    check(
        "privesc-add-user-to-group",
        "Add a user to a more privileged group",
        PrivilegeEscalation,
        &["iam:AddUserToGroup"],
    ),
    // No sts:AssumeRole needed: within one account, a role trust policy (a resource-based policy)
    // that names the principal's ARN allows sts:AssumeRole without an identity-policy grant (the
    // union of the two, with trust policies one of the exceptions that must name the principal
    // themselves), so rewriting the trust policy to name itself is enough. AWS IAM User Guide,
    // "Policy evaluation logic", "Evaluating identity-based policies with resource-based
    // policies", and "How AWS enforcement code logic evaluates requests", "Resource-based
    // policies": docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    // and .../reference_policies_evaluation-logic_policy-eval-denyallow.html.
    check(
        "privesc-update-assume-role-policy",
        "Rewrite a role's trust policy to name itself, then assume the role",
        PrivilegeEscalation,
        &["iam:UpdateAssumeRolePolicy"],
    ),
    check(
        "privesc-passrole-lambda-invoke",
        "Create a Lambda function with a privileged role and invoke it",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
    ),
    check(
        "privesc-passrole-lambda-event-source",
        "Create a Lambda function with a privileged role and trigger it from an event source",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
    ),
    check(
        "privesc-update-function-code",
        "Replace the code of a Lambda function that runs with a privileged role",
        PrivilegeEscalation,
        &["lambda:UpdateFunctionCode"],
    ),
    check(
        "privesc-passrole-glue-dev-endpoint",
        "Create a Glue development endpoint with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "glue:CreateDevEndpoint"],
    ),
    check(
        "privesc-update-glue-dev-endpoint",
        "Add an SSH key to an existing Glue development endpoint",
        PrivilegeEscalation,
        &["glue:UpdateDevEndpoint"],
    ),
    check(
        "privesc-passrole-cloudformation",
        "Create a CloudFormation stack that runs with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "cloudformation:CreateStack"],
    ),
    check(
        "privesc-passrole-datapipeline",
        "Create a Data Pipeline that runs commands with a privileged role",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
    ),
    check(
        "privesc-ssm-send-command",
        "Run commands on instances (and use their roles)",
        PrivilegeEscalation,
        &["ssm:SendCommand"],
    ),
    check(
        "privesc-ssm-start-session",
        "Open a shell on instances (and use their roles)",
        PrivilegeEscalation,
        &["ssm:StartSession"],
    ),
    check(
        "privesc-passrole-sagemaker-notebook",
        "Create a SageMaker notebook with a privileged role and open it",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "sagemaker:CreateNotebookInstance",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ],
    ),
    check(
        "privesc-ec2-instance-connect",
        "Push an SSH key to instances (and use their roles)",
        PrivilegeEscalation,
        &["ec2-instance-connect:SendSSHPublicKey"],
    ),
    // The paths Cloudsplaining 0.9.1 added from pathfinding.cloud (its
    // `PRIVILEGE_ESCALATION_METHODS`, cloudsplaining/shared/constants.py): the action sets are
    // theirs, except where a comment says otherwise.
    check(
        "privesc-passrole-ecs-run-task",
        "Register an ECS task definition with a privileged role and run it as a task",
        PrivilegeEscalation,
        &["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"],
    ),
    check(
        "privesc-passrole-ecs-start-task",
        "Register an ECS task definition with a privileged role and start it on an instance",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:StartTask",
        ],
    ),
    check(
        "privesc-passrole-ecs-service",
        "Register an ECS task definition with a privileged role and run it as a service",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:CreateService",
        ],
    ),
    // Cloudsplaining also requires ecs:DescribeTasks (to find the task); ecs:ListTasks or the
    // console find it too, and the command is what escalates.
    check(
        "privesc-ecs-execute-command",
        "Run commands in running ECS containers (and use their task roles)",
        PrivilegeEscalation,
        &["ecs:ExecuteCommand"],
    ),
    check(
        "privesc-passrole-codebuild-build",
        "Create a CodeBuild project with a privileged role and run a build",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuild",
        ],
    ),
    check(
        "privesc-passrole-codebuild-build-batch",
        "Create a CodeBuild project with a privileged role and run a batch build",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuildBatch",
        ],
    ),
    check(
        "privesc-passrole-glue-job-run",
        "Create a Glue job with a privileged role and run it",
        PrivilegeEscalation,
        &["iam:PassRole", "glue:CreateJob", "glue:StartJobRun"],
    ),
    check(
        "privesc-passrole-glue-job-trigger",
        "Create a Glue job with a privileged role and a trigger that runs it",
        PrivilegeEscalation,
        &["iam:PassRole", "glue:CreateJob", "glue:CreateTrigger"],
    ),
    check(
        "privesc-passrole-update-glue-job-run",
        "Give an existing Glue job its own script and a privileged role, then run it",
        PrivilegeEscalation,
        &["iam:PassRole", "glue:UpdateJob", "glue:StartJobRun"],
    ),
    check(
        "privesc-passrole-update-glue-job-trigger",
        "Give an existing Glue job its own script and a privileged role, then trigger it",
        PrivilegeEscalation,
        &["iam:PassRole", "glue:UpdateJob", "glue:CreateTrigger"],
    ),
    check(
        "privesc-passrole-sagemaker-training-job",
        "Run its own code as a SageMaker training job with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "sagemaker:CreateTrainingJob"],
    ),
    check(
        "privesc-passrole-sagemaker-processing-job",
        "Run its own code as a SageMaker processing job with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "sagemaker:CreateProcessingJob"],
    ),
    check(
        "privesc-sagemaker-presigned-notebook-url",
        "Open existing SageMaker notebooks (and use their roles)",
        PrivilegeEscalation,
        &["sagemaker:CreatePresignedNotebookInstanceUrl"],
    ),
    check(
        "privesc-sagemaker-notebook-lifecycle-config",
        "Make an existing SageMaker notebook run its own start-up script (and use its role)",
        PrivilegeEscalation,
        &[
            "sagemaker:CreateNotebookInstanceLifecycleConfig",
            "sagemaker:StopNotebookInstance",
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
        ],
    ),
    check(
        "privesc-passrole-ec2-spot",
        "Request an EC2 spot instance with a privileged role and use its credentials",
        PrivilegeEscalation,
        &["iam:PassRole", "ec2:RequestSpotInstances"],
    ),
    check(
        "privesc-ec2-modify-user-data",
        "Put its own code in an instance's user data and restart it (and use its role)",
        PrivilegeEscalation,
        &[
            "ec2:ModifyInstanceAttribute",
            "ec2:StopInstances",
            "ec2:StartInstances",
        ],
    ),
    check(
        "privesc-ec2-modify-launch-template",
        "Put its own code in a launch template's default version (and use its instances' role)",
        PrivilegeEscalation,
        &[
            "ec2:CreateLaunchTemplateVersion",
            "ec2:ModifyLaunchTemplate",
        ],
    ),
    check(
        "privesc-passrole-apprunner",
        "Create an App Runner service with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "apprunner:CreateService"],
    ),
    check(
        "privesc-passrole-bedrock-code-interpreter",
        "Create a Bedrock AgentCore code interpreter with a privileged role and run code in it",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "bedrock-agentcore:CreateCodeInterpreter",
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ],
    ),
    check(
        "privesc-bedrock-code-interpreter-session",
        "Run code in existing Bedrock AgentCore code interpreters (and use their roles)",
        PrivilegeEscalation,
        &[
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ],
    ),
    check(
        "privesc-cloudformation-change-set",
        "Change an existing CloudFormation stack through a change set (with the stack's role)",
        PrivilegeEscalation,
        &[
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
        ],
    ),
    check(
        "privesc-passrole-cloudformation-stack-set",
        "Create a CloudFormation stack set with a privileged role and deploy it",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "cloudformation:CreateStackSet",
            "cloudformation:CreateStackInstances",
        ],
    ),
    check(
        "privesc-passrole-update-cloudformation-stack-set",
        "Update a CloudFormation stack set to run with a privileged role",
        PrivilegeEscalation,
        &["iam:PassRole", "cloudformation:UpdateStackSet"],
    ),
    check(
        "privesc-passrole-lambda-add-permission",
        "Create a Lambda function with a privileged role and allow someone to invoke it",
        PrivilegeEscalation,
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:AddPermission",
        ],
    ),
    // Data exfiltration.
    check(
        "exfil-s3-get-object",
        "Read objects from S3",
        DataExfiltration,
        &["s3:GetObject"],
    ),
    check(
        "exfil-secretsmanager-get-secret-value",
        "Read Secrets Manager secrets",
        DataExfiltration,
        &["secretsmanager:GetSecretValue"],
    ),
    check(
        "exfil-ssm-get-parameter",
        "Read SSM parameters",
        DataExfiltration,
        &["ssm:GetParameter"],
    ),
    check(
        "exfil-ssm-get-parameters",
        "Read SSM parameters in batches",
        DataExfiltration,
        &["ssm:GetParameters"],
    ),
    check(
        "exfil-ssm-get-parameters-by-path",
        "Read SSM parameter trees",
        DataExfiltration,
        &["ssm:GetParametersByPath"],
    ),
    check(
        "exfil-kms-decrypt",
        "Decrypt with KMS keys",
        DataExfiltration,
        &["kms:Decrypt"],
    ),
    // Resource exposure.
    check(
        "expose-s3-bucket-policy",
        "Rewrite S3 bucket policies",
        ResourceExposure,
        &["s3:PutBucketPolicy"],
    ),
    check(
        "expose-s3-bucket-acl",
        "Rewrite S3 bucket ACLs",
        ResourceExposure,
        &["s3:PutBucketAcl"],
    ),
    check(
        "expose-s3-object-acl",
        "Rewrite S3 object ACLs",
        ResourceExposure,
        &["s3:PutObjectAcl"],
    ),
    check(
        "expose-iam-pass-role",
        "Pass roles to AWS services",
        ResourceExposure,
        &["iam:PassRole"],
    ),
    check(
        "expose-sns-add-permission",
        "Grant other accounts access to SNS topics",
        ResourceExposure,
        &["sns:AddPermission"],
    ),
    check(
        "expose-sqs-add-permission",
        "Grant other accounts access to SQS queues",
        ResourceExposure,
        &["sqs:AddPermission"],
    ),
    check(
        "expose-lambda-add-permission",
        "Grant other principals access to Lambda functions",
        ResourceExposure,
        &["lambda:AddPermission"],
    ),
    check(
        "expose-kms-create-grant",
        "Create KMS grants",
        ResourceExposure,
        &["kms:CreateGrant"],
    ),
    check(
        "expose-kms-put-key-policy",
        "Rewrite KMS key policies",
        ResourceExposure,
        &["kms:PutKeyPolicy"],
    ),
    check(
        "expose-ecr-set-repository-policy",
        "Rewrite ECR repository policies",
        ResourceExposure,
        &["ecr:SetRepositoryPolicy"],
    ),
    check(
        "expose-secretsmanager-put-resource-policy",
        "Rewrite Secrets Manager resource policies",
        ResourceExposure,
        &["secretsmanager:PutResourcePolicy"],
    ),
    check(
        "expose-ec2-modify-snapshot-attribute",
        "Share EBS snapshots",
        ResourceExposure,
        &["ec2:ModifySnapshotAttribute"],
    ),
    check(
        "expose-ec2-modify-image-attribute",
        "Share AMIs",
        ResourceExposure,
        &["ec2:ModifyImageAttribute"],
    ),
    check(
        "expose-rds-modify-db-snapshot-attribute",
        "Share RDS snapshots",
        ResourceExposure,
        &["rds:ModifyDBSnapshotAttribute"],
    ),
    check(
        "expose-glacier-set-vault-access-policy",
        "Rewrite Glacier vault policies",
        ResourceExposure,
        &["glacier:SetVaultAccessPolicy"],
    ),
    check(
        "expose-iam-update-assume-role-policy",
        "Rewrite role trust policies",
        ResourceExposure,
        &["iam:UpdateAssumeRolePolicy"],
    ),
    // Credential exposure.
    check(
        "creds-sts-assume-role",
        "Assume roles",
        CredentialExposure,
        &["sts:AssumeRole"],
    ),
    check(
        "creds-iam-create-access-key",
        "Create access keys",
        CredentialExposure,
        &["iam:CreateAccessKey"],
    ),
    check(
        "creds-iam-update-access-key",
        "Reactivate access keys",
        CredentialExposure,
        &["iam:UpdateAccessKey"],
    ),
    check(
        "creds-iam-create-service-specific-credential",
        "Create service-specific credentials",
        CredentialExposure,
        &["iam:CreateServiceSpecificCredential"],
    ),
    check(
        "creds-iam-reset-service-specific-credential",
        "Reset service-specific credentials",
        CredentialExposure,
        &["iam:ResetServiceSpecificCredential"],
    ),
    check(
        "creds-ecr-get-authorization-token",
        "Get ECR registry tokens",
        CredentialExposure,
        &["ecr:GetAuthorizationToken"],
    ),
    check(
        "creds-redshift-get-cluster-credentials",
        "Get Redshift database credentials",
        CredentialExposure,
        &["redshift:GetClusterCredentials"],
    ),
    check(
        "creds-rds-db-connect",
        "Connect to RDS databases with IAM authentication",
        CredentialExposure,
        &["rds-db:connect"],
    ),
    check(
        "creds-sts-get-federation-token",
        "Get federation tokens",
        CredentialExposure,
        &["sts:GetFederationToken"],
    ),
    check(
        "creds-ec2-get-password-data",
        "Read Windows instance passwords",
        CredentialExposure,
        &["ec2:GetPasswordData"],
    ),
    check(
        "creds-lightsail-get-instance-access-details",
        "Get Lightsail instance SSH keys",
        CredentialExposure,
        &["lightsail:GetInstanceAccessDetails"],
    ),
    check(
        "creds-chime-create-api-key",
        "Create Chime API keys",
        CredentialExposure,
        &["chime:CreateApiKey"],
    ),
    check(
        "creds-codepipeline-poll-for-jobs",
        "Poll CodePipeline jobs (which carry artifact credentials)",
        CredentialExposure,
        &["codepipeline:PollForJobs"],
    ),
    check(
        "creds-cognito-get-credentials-for-identity",
        "Get credentials for Cognito identities",
        CredentialExposure,
        &["cognito-identity:GetCredentialsForIdentity"],
    ),
    check(
        "creds-gamelift-request-upload-credentials",
        "Get GameLift upload credentials",
        CredentialExposure,
        &["gamelift:RequestUploadCredentials"],
    ),
    check(
        "creds-mediapackage-rotate-channel-credentials",
        "Rotate MediaPackage channel credentials",
        CredentialExposure,
        &["mediapackage:RotateChannelCredentials"],
    ),
    check(
        "creds-iam-create-login-profile",
        "Create console passwords",
        CredentialExposure,
        &["iam:CreateLoginProfile"],
    ),
    // Infrastructure destruction.
    check(
        "destroy-ec2-terminate-instances",
        "Terminate every EC2 instance",
        InfrastructureDestruction,
        &["ec2:TerminateInstances"],
    ),
    check(
        "destroy-rds-delete-db-instance",
        "Delete every RDS instance",
        InfrastructureDestruction,
        &["rds:DeleteDBInstance"],
    ),
    check(
        "destroy-rds-delete-db-cluster",
        "Delete every RDS cluster",
        InfrastructureDestruction,
        &["rds:DeleteDBCluster"],
    ),
    check(
        "destroy-s3-delete-bucket",
        "Delete every S3 bucket",
        InfrastructureDestruction,
        &["s3:DeleteBucket"],
    ),
    check(
        "destroy-dynamodb-delete-table",
        "Delete every DynamoDB table",
        InfrastructureDestruction,
        &["dynamodb:DeleteTable"],
    ),
    check(
        "destroy-lambda-delete-function",
        "Delete every Lambda function",
        InfrastructureDestruction,
        &["lambda:DeleteFunction"],
    ),
    check(
        "destroy-cloudformation-delete-stack",
        "Delete every CloudFormation stack",
        InfrastructureDestruction,
        &["cloudformation:DeleteStack"],
    ),
    check(
        "destroy-eks-delete-cluster",
        "Delete every EKS cluster",
        InfrastructureDestruction,
        &["eks:DeleteCluster"],
    ),
    check(
        "destroy-kms-schedule-key-deletion",
        "Schedule deletion of every KMS key",
        InfrastructureDestruction,
        &["kms:ScheduleKeyDeletion"],
    ),
    check(
        "destroy-ec2-delete-volume",
        "Delete every EBS volume",
        InfrastructureDestruction,
        &["ec2:DeleteVolume"],
    ),
];

/// Makes the finding of `check`, if the principal has it. `access` looks up an action.
pub(crate) fn evaluate<'a>(
    check: &Check,
    access: impl Fn(&str) -> Option<&'a ActionAccess>,
) -> Option<Finding> {
    let mut scope = Access::All;
    let mut statements: Vec<Grant> = Vec::new();
    let mut resources = Vec::new();
    let mut actions = Vec::new();
    for a in check.actions {
        let acc = access(a)?;
        if !acc.access.is_allowed() {
            return None;
        }
        scope = scope.min(acc.access.clone());
        for g in &acc.statements {
            if !statements.contains(g) {
                statements.push(g.clone());
            }
        }
        for r in &acc.resources {
            resources.push(format!("{}: {r}", acc.action));
        }
        actions.push(acc.action.clone());
    }
    let severity = match (check.category, &scope) {
        (PrivilegeEscalation, Access::All) => Severity::Critical,
        (PrivilegeEscalation, _) => Severity::High,
        (DataExfiltration, Access::All) => Severity::High,
        (DataExfiltration, Access::Conditional { .. }) => Severity::Medium,
        (DataExfiltration, _) => Severity::Low,
        (ResourceExposure | CredentialExposure, Access::All) => Severity::High,
        (ResourceExposure | CredentialExposure, _) => Severity::Medium,
        (InfrastructureDestruction, Access::All) => Severity::High,
        (InfrastructureDestruction, Access::Conditional { .. }) => Severity::Medium,
        (InfrastructureDestruction, _) => return None,
    };
    Some(Finding {
        id: check.id,
        capability: check.capability,
        category: check.category,
        severity,
        actions,
        scope,
        resources,
        statements,
    })
}

/// The access level to assume for an action the catalogue does not know.
pub(crate) fn fallback_level(action: &str) -> AccessLevel {
    let name = action.split_once(':').map(|(_, n)| n).unwrap_or(action);
    if name.starts_with("Get") || name.starts_with("Describe") || name == "connect" {
        AccessLevel::Read
    } else if name.starts_with("List") {
        AccessLevel::List
    } else {
        AccessLevel::Write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_actions_are_in_the_catalogue() {
        let missing: Vec<&str> = CHECKS
            .iter()
            .flat_map(|c| c.actions.iter().copied())
            .filter(|a| portcullis_iam::catalogue().action(a).is_none())
            .collect();
        // All are catalogued today; an action dropped from the catalogue would still be
        // evaluated (as uncatalogued), but the list should then be reviewed.
        assert!(missing.is_empty(), "{missing:?}");
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
    }
}
