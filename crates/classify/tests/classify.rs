//! Conformance tests for the classify stage: a table of calls over the 28 most used services,
//! the exceptions and every flag; the data tables checked against the catalogue; and a walk of
//! every operation of every embedded service model.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use portcullis_classify::{
    ActionSource, Classification, classify, exceptions, flags, iam_prefix, prefix,
};
use portcullis_iam::AccessLevel::{
    self, List, PermissionsManagement as Perm, Read, Tagging, Write,
};
use serde_json::{Value, json};

/// `(service, operation, params JSON, actions, access level, flags)`; flags are letters:
/// `C` returns credentials, `S` returns a secret, `D` destructive. Access levels are the Service
/// Authorization Reference's, which are not always what the name suggests (`sqs:ListQueues` is
/// Read, `iam:CreateAccessKey` and `iam:DeleteUser` are Permissions management).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<AccessLevel>,
    &'static str,
);

const CASES: &[Case] = &[
    // --- s3: the exceptions -------------------------------------------------------------------
    (
        "s3",
        "ListObjectsV2",
        r#"{"Bucket":"b"}"#,
        &["s3:ListBucket"],
        Some(List),
        "",
    ),
    (
        "s3",
        "ListObjects",
        r#"{"Bucket":"b"}"#,
        &["s3:ListBucket"],
        Some(List),
        "",
    ),
    (
        "s3",
        "ListObjectVersions",
        r#"{"Bucket":"b"}"#,
        &["s3:ListBucketVersions"],
        Some(List),
        "",
    ),
    (
        "s3",
        "ListBuckets",
        "{}",
        &["s3:ListAllMyBuckets"],
        Some(List),
        "",
    ),
    (
        "s3",
        "HeadBucket",
        r#"{"Bucket":"b"}"#,
        &["s3:ListBucket"],
        Some(List),
        "",
    ),
    (
        "s3",
        "HeadObject",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:GetObject"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "HeadObject",
        r#"{"Bucket":"b","Key":"k","VersionId":"v1"}"#,
        &["s3:GetObjectVersion"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "GetObject",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:GetObject"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "GetObject",
        r#"{"Bucket":"b","Key":"k","VersionId":"v1"}"#,
        &["s3:GetObjectVersion"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "PutObject",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "PutObject",
        r#"{"Bucket":"b","Key":"k","Tagging":"a=b","ACL":"private"}"#,
        &["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectAcl"],
        Some(Perm),
        "",
    ),
    (
        "s3",
        "CreateMultipartUpload",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "UploadPart",
        r#"{"Bucket":"b","Key":"k","PartNumber":1,"UploadId":"u"}"#,
        &["s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "CompleteMultipartUpload",
        r#"{"Bucket":"b","Key":"k","UploadId":"u"}"#,
        &["s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "AbortMultipartUpload",
        r#"{"Bucket":"b","Key":"k","UploadId":"u"}"#,
        &["s3:AbortMultipartUpload"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "UploadPartCopy",
        r#"{"Bucket":"b","Key":"k","CopySource":"src/k"}"#,
        &["s3:PutObject", "s3:GetObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "CopyObject",
        r#"{"Bucket":"b","Key":"k","CopySource":"src/k"}"#,
        &["s3:GetObject", "s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "CopyObject",
        r#"{"Bucket":"b","Key":"k","CopySource":"src/k?versionId=3"}"#,
        &["s3:GetObjectVersion", "s3:PutObject"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "DeleteObject",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:DeleteObject"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "DeleteObject",
        r#"{"Bucket":"b","Key":"k","VersionId":"v"}"#,
        &["s3:DeleteObjectVersion"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "DeleteObjects",
        r#"{"Bucket":"b","Delete":{"Objects":[{"Key":"a"},{"Key":"b"}]}}"#,
        &["s3:DeleteObject"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "DeleteObjects",
        r#"{"Bucket":"b","Delete":{"Objects":[{"Key":"a","VersionId":"v"}]}}"#,
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "DeleteBucket",
        r#"{"Bucket":"b"}"#,
        &["s3:DeleteBucket"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "GetObjectAcl",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:GetObjectAcl"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "GetObjectAcl",
        r#"{"Bucket":"b","Key":"k","VersionId":"v"}"#,
        &["s3:GetObjectVersionAcl"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "PutObjectAcl",
        r#"{"Bucket":"b","Key":"k","ACL":"private"}"#,
        &["s3:PutObjectAcl"],
        Some(Perm),
        "",
    ),
    (
        "s3",
        "PutBucketAcl",
        r#"{"Bucket":"b","ACL":"private"}"#,
        &["s3:PutBucketAcl"],
        Some(Perm),
        "",
    ),
    (
        "s3",
        "GetBucketAcl",
        r#"{"Bucket":"b"}"#,
        &["s3:GetBucketAcl"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "PutBucketPolicy",
        r#"{"Bucket":"b","Policy":"{}"}"#,
        &["s3:PutBucketPolicy"],
        Some(Perm),
        "",
    ),
    (
        "s3",
        "DeleteBucketPolicy",
        r#"{"Bucket":"b"}"#,
        &["s3:DeleteBucketPolicy"],
        Some(Perm),
        "D",
    ),
    (
        "s3",
        "PutBucketCors",
        r#"{"Bucket":"b"}"#,
        &["s3:PutBucketCORS"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "DeleteBucketCors",
        r#"{"Bucket":"b"}"#,
        &["s3:PutBucketCORS"],
        Some(Write),
        "D",
    ),
    (
        "s3",
        "GetBucketEncryption",
        r#"{"Bucket":"b"}"#,
        &["s3:GetEncryptionConfiguration"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "PutBucketLifecycleConfiguration",
        r#"{"Bucket":"b"}"#,
        &["s3:PutLifecycleConfiguration"],
        Some(Write),
        "",
    ),
    (
        "s3",
        "GetPublicAccessBlock",
        r#"{"Bucket":"b"}"#,
        &["s3:GetBucketPublicAccessBlock"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "PutPublicAccessBlock",
        r#"{"Bucket":"b"}"#,
        &["s3:PutBucketPublicAccessBlock"],
        Some(Perm),
        "",
    ),
    (
        "s3",
        "ListMultipartUploads",
        r#"{"Bucket":"b"}"#,
        &["s3:ListBucketMultipartUploads"],
        Some(List),
        "",
    ),
    (
        "s3",
        "ListParts",
        r#"{"Bucket":"b","Key":"k","UploadId":"u"}"#,
        &["s3:ListMultipartUploadParts"],
        Some(List),
        "",
    ),
    (
        "s3",
        "PutObjectTagging",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:PutObjectTagging"],
        Some(Tagging),
        "",
    ),
    (
        "s3",
        "DeleteObjectTagging",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:DeleteObjectTagging"],
        Some(Tagging),
        "",
    ),
    (
        "s3",
        "DeleteBucketTagging",
        r#"{"Bucket":"b"}"#,
        &["s3:PutBucketTagging"],
        Some(Tagging),
        "",
    ),
    (
        "s3",
        "SelectObjectContent",
        r#"{"Bucket":"b","Key":"k"}"#,
        &["s3:GetObject"],
        Some(Read),
        "",
    ),
    (
        "s3",
        "CreateBucket",
        r#"{"Bucket":"b","ObjectLockEnabledForBucket":true}"#,
        &[
            "s3:CreateBucket",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutBucketVersioning",
        ],
        Some(Write),
        "",
    ),
    (
        "s3",
        "CreateSession",
        r#"{"Bucket":"b--usw2-az1--x-s3"}"#,
        &["s3express:CreateSession"],
        Some(Write),
        "C",
    ),
    (
        "s3control",
        "GetPublicAccessBlock",
        r#"{"AccountId":"1"}"#,
        &["s3:GetAccountPublicAccessBlock"],
        Some(Read),
        "",
    ),
    (
        "s3control",
        "ListRegionalBuckets",
        r#"{"AccountId":"1"}"#,
        &["s3-outposts:ListRegionalBuckets"],
        Some(List),
        "",
    ),
    // --- ec2 -------------------------------------------------------------------------------------
    (
        "ec2",
        "DescribeInstances",
        "{}",
        &["ec2:DescribeInstances"],
        Some(List),
        "",
    ),
    (
        "ec2",
        "RunInstances",
        "{}",
        &["ec2:RunInstances"],
        Some(Write),
        "",
    ),
    (
        "ec2",
        "TerminateInstances",
        r#"{"InstanceIds":["i-1"]}"#,
        &["ec2:TerminateInstances"],
        Some(Write),
        "D",
    ),
    (
        "ec2",
        "StopInstances",
        r#"{"InstanceIds":["i-1"]}"#,
        &["ec2:StopInstances"],
        Some(Write),
        "",
    ),
    (
        "ec2",
        "GetPasswordData",
        r#"{"InstanceId":"i-1"}"#,
        &["ec2:GetPasswordData"],
        Some(Read),
        "S",
    ),
    (
        "ec2",
        "DescribeInstanceAttribute",
        r#"{"InstanceId":"i-1","Attribute":"userData"}"#,
        &["ec2:DescribeInstanceAttribute"],
        Some(List),
        "S",
    ),
    (
        "ec2",
        "DescribeInstanceAttribute",
        r#"{"InstanceId":"i-1","Attribute":"instanceType"}"#,
        &["ec2:DescribeInstanceAttribute"],
        Some(List),
        "",
    ),
    (
        "ec2",
        "CreateKeyPair",
        r#"{"KeyName":"k"}"#,
        &["ec2:CreateKeyPair"],
        Some(Write),
        "S",
    ),
    (
        "ec2",
        "RevokeSecurityGroupIngress",
        "{}",
        &["ec2:RevokeSecurityGroupIngress"],
        Some(Write),
        "D",
    ),
    (
        "ec2",
        "ReleaseAddress",
        "{}",
        &["ec2:ReleaseAddress"],
        Some(Write),
        "D",
    ),
    (
        "ec2",
        "DeleteTags",
        "{}",
        &["ec2:DeleteTags"],
        Some(Tagging),
        "",
    ),
    (
        "ec2",
        "CancelSpotFleetRequests",
        r#"{"SpotFleetRequestIds":["s"],"TerminateInstances":false}"#,
        &["ec2:CancelSpotFleetRequests"],
        Some(Write),
        "",
    ),
    (
        "ec2",
        "CancelSpotFleetRequests",
        r#"{"SpotFleetRequestIds":["s"],"TerminateInstances":true}"#,
        &["ec2:CancelSpotFleetRequests"],
        Some(Write),
        "D",
    ),
    // --- iam ---------------------------------------------------------------------------------------
    ("iam", "ListUsers", "{}", &["iam:ListUsers"], Some(List), ""),
    (
        "iam",
        "GetRole",
        r#"{"RoleName":"r"}"#,
        &["iam:GetRole"],
        Some(Read),
        "",
    ),
    (
        "iam",
        "CreateAccessKey",
        "{}",
        &["iam:CreateAccessKey"],
        Some(Perm),
        "CS",
    ),
    (
        "iam",
        "AttachRolePolicy",
        "{}",
        &["iam:AttachRolePolicy"],
        Some(Perm),
        "",
    ),
    (
        "iam",
        "DetachRolePolicy",
        "{}",
        &["iam:DetachRolePolicy"],
        Some(Perm),
        "D",
    ),
    (
        "iam",
        "DeleteUser",
        r#"{"UserName":"u"}"#,
        &["iam:DeleteUser"],
        Some(Perm),
        "D",
    ),
    ("iam", "PassRole", "{}", &[], None, ""), // not an API operation: see the dedicated test
    (
        "iam",
        "CreateServiceSpecificCredential",
        "{}",
        &["iam:CreateServiceSpecificCredential"],
        Some(Perm),
        "CS",
    ),
    (
        "iam",
        "UntagRole",
        "{}",
        &["iam:UntagRole"],
        Some(Tagging),
        "",
    ),
    // --- sts -----------------------------------------------------------------------------------------
    (
        "sts",
        "GetCallerIdentity",
        "{}",
        &["sts:GetCallerIdentity"],
        Some(Read),
        "",
    ),
    (
        "sts",
        "AssumeRole",
        r#"{"RoleArn":"arn:aws:iam::1:role/r","RoleSessionName":"s"}"#,
        &["sts:AssumeRole"],
        Some(Write),
        "C",
    ),
    (
        "sts",
        "AssumeRoleWithWebIdentity",
        "{}",
        &["sts:AssumeRoleWithWebIdentity"],
        Some(Write),
        "C",
    ),
    (
        "sts",
        "AssumeRoleWithSAML",
        "{}",
        &["sts:AssumeRoleWithSAML"],
        Some(Write),
        "C",
    ),
    (
        "sts",
        "GetSessionToken",
        "{}",
        &["sts:GetSessionToken"],
        Some(Read),
        "C",
    ),
    (
        "sts",
        "GetFederationToken",
        "{}",
        &["sts:GetFederationToken"],
        Some(Read),
        "C",
    ),
    (
        "sts",
        "DecodeAuthorizationMessage",
        "{}",
        &["sts:DecodeAuthorizationMessage"],
        Some(Write),
        "",
    ),
    // --- lambda ---------------------------------------------------------------------------------------
    (
        "lambda",
        "Invoke",
        r#"{"FunctionName":"f"}"#,
        &["lambda:InvokeFunction"],
        Some(Write),
        "",
    ),
    (
        "lambda",
        "InvokeWithResponseStream",
        r#"{"FunctionName":"f"}"#,
        &["lambda:InvokeFunction"],
        Some(Write),
        "",
    ),
    (
        "lambda",
        "InvokeAsync",
        "{}",
        &["lambda:InvokeAsync"],
        Some(Write),
        "",
    ),
    (
        "lambda",
        "ListFunctions",
        "{}",
        &["lambda:ListFunctions"],
        Some(List),
        "",
    ),
    (
        "lambda",
        "GetFunction",
        r#"{"FunctionName":"f"}"#,
        &["lambda:GetFunction"],
        Some(Read),
        "",
    ),
    (
        "lambda",
        "GetLayerVersionByArn",
        "{}",
        &["lambda:GetLayerVersion"],
        Some(Read),
        "",
    ),
    (
        "lambda",
        "AddPermission",
        "{}",
        &["lambda:AddPermission"],
        Some(Perm),
        "",
    ),
    (
        "lambda",
        "DeleteFunction",
        "{}",
        &["lambda:DeleteFunction"],
        Some(Write),
        "D",
    ),
    // --- dynamodb --------------------------------------------------------------------------------------
    (
        "dynamodb",
        "Query",
        "{}",
        &["dynamodb:Query"],
        Some(Read),
        "",
    ),
    ("dynamodb", "Scan", "{}", &["dynamodb:Scan"], Some(Read), ""),
    (
        "dynamodb",
        "ListTables",
        "{}",
        &["dynamodb:ListTables"],
        Some(List),
        "",
    ),
    (
        "dynamodb",
        "PutItem",
        "{}",
        &["dynamodb:PutItem"],
        Some(Write),
        "",
    ),
    (
        "dynamodb",
        "DeleteItem",
        "{}",
        &["dynamodb:DeleteItem"],
        Some(Write),
        "D",
    ),
    (
        "dynamodb",
        "DeleteTable",
        "{}",
        &["dynamodb:DeleteTable"],
        Some(Write),
        "D",
    ),
    (
        "dynamodb",
        "TransactGetItems",
        "{}",
        &["dynamodb:GetItem"],
        Some(Read),
        "",
    ),
    (
        "dynamodb",
        "TransactWriteItems",
        r#"{"TransactItems":[{"Put":{}},{"ConditionCheck":{}}]}"#,
        &["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
        Some(Write),
        "",
    ),
    (
        "dynamodb",
        "TransactWriteItems",
        r#"{"TransactItems":[{"Delete":{}}]}"#,
        &["dynamodb:DeleteItem"],
        Some(Write),
        "D",
    ),
    (
        "dynamodb",
        "ExecuteStatement",
        r#"{"Statement":"SELECT * FROM t"}"#,
        &["dynamodb:PartiQLSelect"],
        Some(Read),
        "",
    ),
    (
        "dynamodb",
        "ExecuteStatement",
        r#"{"Statement":"delete from t where k = 1"}"#,
        &["dynamodb:PartiQLDelete"],
        Some(Write),
        "D",
    ),
    (
        "dynamodb",
        "BatchExecuteStatement",
        r#"{"Statements":[{"Statement":"INSERT INTO t VALUE {}"},{"Statement":"UPDATE t SET a=1"}]}"#,
        &["dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
        Some(Write),
        "",
    ),
    (
        "dynamodb",
        "ExecuteTransaction",
        r#"{"TransactStatements":[{"Statement":"SELECT a FROM t"}]}"#,
        &["dynamodb:PartiQLSelect"],
        Some(Read),
        "",
    ),
    (
        "dynamodb",
        "BatchWriteItem",
        r#"{"RequestItems":{"t":[{"PutRequest":{"Item":{}}}]}}"#,
        &["dynamodb:BatchWriteItem"],
        Some(Write),
        "",
    ),
    (
        "dynamodb",
        "BatchWriteItem",
        r#"{"RequestItems":{"t":[{"DeleteRequest":{"Key":{}}}]}}"#,
        &["dynamodb:BatchWriteItem"],
        Some(Write),
        "D",
    ),
    // --- sqs / sns --------------------------------------------------------------------------------------
    (
        "sqs",
        "ReceiveMessage",
        "{}",
        &["sqs:ReceiveMessage"],
        Some(Read),
        "",
    ),
    (
        "sqs",
        "SendMessageBatch",
        "{}",
        &["sqs:SendMessage"],
        Some(Write),
        "",
    ),
    (
        "sqs",
        "DeleteMessageBatch",
        "{}",
        &["sqs:DeleteMessage"],
        Some(Write),
        "D",
    ),
    (
        "sqs",
        "ChangeMessageVisibilityBatch",
        "{}",
        &["sqs:ChangeMessageVisibility"],
        Some(Write),
        "",
    ),
    (
        "sqs",
        "PurgeQueue",
        "{}",
        &["sqs:PurgeQueue"],
        Some(Write),
        "D",
    ),
    (
        "sqs",
        "ListQueues",
        "{}",
        &["sqs:ListQueues"],
        Some(Read),
        "",
    ),
    (
        "sqs",
        "SetQueueAttributes",
        "{}",
        &["sqs:SetQueueAttributes"],
        Some(Perm),
        "",
    ),
    ("sns", "Publish", "{}", &["sns:Publish"], Some(Write), ""),
    (
        "sns",
        "PublishBatch",
        "{}",
        &["sns:Publish"],
        Some(Write),
        "",
    ),
    (
        "sns",
        "ListTopics",
        "{}",
        &["sns:ListTopics"],
        Some(List),
        "",
    ),
    (
        "sns",
        "Unsubscribe",
        "{}",
        &["sns:Unsubscribe"],
        Some(Write),
        "D",
    ),
    // --- kms / secretsmanager / ssm --------------------------------------------------------------------
    ("kms", "Decrypt", "{}", &["kms:Decrypt"], Some(Write), "S"),
    ("kms", "Encrypt", "{}", &["kms:Encrypt"], Some(Write), ""),
    (
        "kms",
        "GenerateDataKey",
        "{}",
        &["kms:GenerateDataKey"],
        Some(Write),
        "S",
    ),
    (
        "kms",
        "GenerateDataKeyWithoutPlaintext",
        "{}",
        &["kms:GenerateDataKeyWithoutPlaintext"],
        Some(Write),
        "",
    ),
    (
        "kms",
        "GenerateDataKeyPair",
        "{}",
        &["kms:GenerateDataKeyPair"],
        Some(Write),
        "S",
    ),
    (
        "kms",
        "ReEncrypt",
        "{}",
        &["kms:ReEncryptFrom", "kms:ReEncryptTo"],
        Some(Write),
        "",
    ),
    (
        "kms",
        "ScheduleKeyDeletion",
        "{}",
        &["kms:ScheduleKeyDeletion"],
        Some(Write),
        "D",
    ),
    ("kms", "ListKeys", "{}", &["kms:ListKeys"], Some(List), ""),
    (
        "kms",
        "PutKeyPolicy",
        "{}",
        &["kms:PutKeyPolicy"],
        Some(Perm),
        "",
    ),
    (
        "secretsmanager",
        "GetSecretValue",
        r#"{"SecretId":"s"}"#,
        &["secretsmanager:GetSecretValue"],
        Some(Read),
        "S",
    ),
    (
        "secretsmanager",
        "BatchGetSecretValue",
        "{}",
        &["secretsmanager:BatchGetSecretValue"],
        Some(List),
        "S",
    ),
    (
        "secretsmanager",
        "DescribeSecret",
        "{}",
        &["secretsmanager:DescribeSecret"],
        Some(Read),
        "",
    ),
    (
        "secretsmanager",
        "ListSecrets",
        "{}",
        &["secretsmanager:ListSecrets"],
        Some(List),
        "",
    ),
    (
        "secretsmanager",
        "DeleteSecret",
        "{}",
        &["secretsmanager:DeleteSecret"],
        Some(Write),
        "D",
    ),
    (
        "ssm",
        "GetParameter",
        r#"{"Name":"p"}"#,
        &["ssm:GetParameter"],
        Some(Read),
        "",
    ),
    (
        "ssm",
        "GetParameter",
        r#"{"Name":"p","WithDecryption":true}"#,
        &["ssm:GetParameter"],
        Some(Read),
        "S",
    ),
    (
        "ssm",
        "GetParameter",
        r#"{"Name":"p","WithDecryption":false}"#,
        &["ssm:GetParameter"],
        Some(Read),
        "",
    ),
    (
        "ssm",
        "GetParameters",
        r#"{"Names":["p"],"WithDecryption":true}"#,
        &["ssm:GetParameters"],
        Some(Read),
        "S",
    ),
    (
        "ssm",
        "GetParametersByPath",
        r#"{"Path":"/","WithDecryption":true}"#,
        &["ssm:GetParametersByPath"],
        Some(Read),
        "S",
    ),
    (
        "ssm",
        "GetParameterHistory",
        r#"{"Name":"p","WithDecryption":true}"#,
        &["ssm:GetParameterHistory"],
        Some(Read),
        "S",
    ),
    (
        "ssm",
        "SendCommand",
        "{}",
        &["ssm:SendCommand"],
        Some(Write),
        "",
    ),
    (
        "ssm",
        "StartSession",
        "{}",
        &["ssm:StartSession"],
        Some(Write),
        "C",
    ),
    (
        "ssm",
        "DeleteParameter",
        "{}",
        &["ssm:DeleteParameter"],
        Some(Write),
        "D",
    ),
    // --- logs / cloudwatch / cloudtrail / config ---------------------------------------------------------
    (
        "logs",
        "FilterLogEvents",
        "{}",
        &["logs:FilterLogEvents"],
        Some(Read),
        "",
    ),
    (
        "logs",
        "DescribeLogGroups",
        "{}",
        &["logs:DescribeLogGroups"],
        Some(List),
        "",
    ),
    (
        "logs",
        "DeleteLogGroup",
        "{}",
        &["logs:DeleteLogGroup"],
        Some(Write),
        "D",
    ),
    (
        "cloudwatch",
        "GetMetricData",
        "{}",
        &["cloudwatch:GetMetricData"],
        Some(Read),
        "",
    ),
    (
        "cloudwatch",
        "PutMetricAlarm",
        "{}",
        &["cloudwatch:PutMetricAlarm"],
        Some(Write),
        "",
    ),
    (
        "cloudwatch",
        "DeleteAlarms",
        "{}",
        &["cloudwatch:DeleteAlarms"],
        Some(Write),
        "D",
    ),
    (
        "cloudtrail",
        "LookupEvents",
        "{}",
        &["cloudtrail:LookupEvents"],
        Some(Read),
        "",
    ),
    (
        "cloudtrail",
        "ListInsightsMetricData",
        "{}",
        &["cloudtrail:LookupEvents"],
        Some(Read),
        "",
    ),
    (
        "cloudtrail",
        "StopLogging",
        "{}",
        &["cloudtrail:StopLogging"],
        Some(Write),
        "",
    ),
    (
        "config",
        "DescribeConfigRules",
        "{}",
        &["config:DescribeConfigRules"],
        Some(List),
        "",
    ),
    (
        "config",
        "PutConfigRule",
        "{}",
        &["config:PutConfigRule"],
        Some(Write),
        "",
    ),
    (
        "config",
        "DeleteConfigRule",
        "{}",
        &["config:DeleteConfigRule"],
        Some(Write),
        "D",
    ),
    // --- cloudformation / rds / ecr / ecs / eks --------------------------------------------------------------
    (
        "cloudformation",
        "DescribeStacks",
        "{}",
        &["cloudformation:DescribeStacks"],
        Some(List),
        "",
    ),
    (
        "cloudformation",
        "CreateStack",
        "{}",
        &["cloudformation:CreateStack"],
        Some(Write),
        "",
    ),
    (
        "cloudformation",
        "DeleteStack",
        "{}",
        &["cloudformation:DeleteStack"],
        Some(Write),
        "D",
    ),
    (
        "rds",
        "DescribeDBInstances",
        "{}",
        &["rds:DescribeDBInstances"],
        Some(List),
        "",
    ),
    (
        "rds",
        "DeleteDBInstance",
        "{}",
        &["rds:DeleteDBInstance"],
        Some(Write),
        "D",
    ),
    (
        "rds",
        "RebootDBInstance",
        "{}",
        &["rds:RebootDBInstance"],
        Some(Write),
        "",
    ),
    (
        "rds",
        "RemoveTagsFromResource",
        "{}",
        &["rds:RemoveTagsFromResource"],
        Some(Tagging),
        "",
    ),
    (
        "ecr",
        "GetAuthorizationToken",
        "{}",
        &["ecr:GetAuthorizationToken"],
        Some(Read),
        "C",
    ),
    (
        "ecr",
        "BatchGetImage",
        "{}",
        &["ecr:BatchGetImage"],
        Some(Read),
        "",
    ),
    (
        "ecr",
        "BatchDeleteImage",
        "{}",
        &["ecr:BatchDeleteImage"],
        Some(Write),
        "D",
    ),
    (
        "ecr",
        "DescribeRepositories",
        "{}",
        &["ecr:DescribeRepositories"],
        Some(Read),
        "",
    ),
    (
        "ecr-public",
        "GetAuthorizationToken",
        "{}",
        &["ecr-public:GetAuthorizationToken"],
        Some(Read),
        "C",
    ),
    (
        "ecs",
        "ListClusters",
        "{}",
        &["ecs:ListClusters"],
        Some(List),
        "",
    ),
    ("ecs", "RunTask", "{}", &["ecs:RunTask"], Some(Write), ""),
    (
        "ecs",
        "DeregisterTaskDefinition",
        "{}",
        &["ecs:DeregisterTaskDefinition"],
        Some(Write),
        "D",
    ),
    (
        "ecs",
        "ExecuteCommand",
        "{}",
        &["ecs:ExecuteCommand"],
        Some(Write),
        "C",
    ),
    (
        "eks",
        "DescribeCluster",
        "{}",
        &["eks:DescribeCluster"],
        Some(Read),
        "",
    ),
    (
        "eks",
        "ListClusters",
        "{}",
        &["eks:ListClusters"],
        Some(List),
        "",
    ),
    (
        "eks",
        "DeleteNodegroup",
        "{}",
        &["eks:DeleteNodegroup"],
        Some(Write),
        "D",
    ),
    (
        "eks-auth",
        "AssumeRoleForPodIdentity",
        "{}",
        &["eks-auth:AssumeRoleForPodIdentity"],
        Some(Read),
        "C",
    ),
    // --- route53 / events / autoscaling / elb ---------------------------------------------------------------
    (
        "route53",
        "ListHostedZones",
        "{}",
        &["route53:ListHostedZones"],
        Some(List),
        "",
    ),
    (
        "route53",
        "ChangeResourceRecordSets",
        r#"{"HostedZoneId":"Z","ChangeBatch":{"Changes":[{"Action":"UPSERT"}]}}"#,
        &["route53:ChangeResourceRecordSets"],
        Some(Write),
        "",
    ),
    (
        "route53",
        "ChangeResourceRecordSets",
        r#"{"HostedZoneId":"Z","ChangeBatch":{"Changes":[{"Action":"CREATE"},{"Action":"DELETE"}]}}"#,
        &["route53:ChangeResourceRecordSets"],
        Some(Write),
        "D",
    ),
    (
        "events",
        "PutRule",
        "{}",
        &["events:PutRule"],
        Some(Write),
        "",
    ),
    (
        "events",
        "ListRules",
        "{}",
        &["events:ListRules"],
        Some(List),
        "",
    ),
    (
        "events",
        "RemoveTargets",
        "{}",
        &["events:RemoveTargets"],
        Some(Write),
        "D",
    ),
    (
        "autoscaling",
        "DescribeAutoScalingGroups",
        "{}",
        &["autoscaling:DescribeAutoScalingGroups"],
        Some(List),
        "",
    ),
    (
        "autoscaling",
        "SetDesiredCapacity",
        "{}",
        &["autoscaling:SetDesiredCapacity"],
        Some(Write),
        "",
    ),
    (
        "autoscaling",
        "TerminateInstanceInAutoScalingGroup",
        "{}",
        &["autoscaling:TerminateInstanceInAutoScalingGroup"],
        Some(Write),
        "D",
    ),
    (
        "elbv2",
        "DescribeLoadBalancers",
        "{}",
        &["elasticloadbalancing:DescribeLoadBalancers"],
        Some(List),
        "",
    ),
    (
        "elbv2",
        "DeregisterTargets",
        "{}",
        &["elasticloadbalancing:DeregisterTargets"],
        Some(Write),
        "D",
    ),
    (
        "elbv2",
        "CreateLoadBalancer",
        "{}",
        &["elasticloadbalancing:CreateLoadBalancer"],
        Some(Write),
        "",
    ),
    (
        "elb",
        "DescribeLoadBalancers",
        "{}",
        &["elasticloadbalancing:DescribeLoadBalancers"],
        Some(List),
        "",
    ),
    // --- stepfunctions / apigateway / organizations / codedeploy ----------------------------------------------
    (
        "stepfunctions",
        "StartExecution",
        "{}",
        &["states:StartExecution"],
        Some(Write),
        "",
    ),
    (
        "stepfunctions",
        "ListStateMachines",
        "{}",
        &["states:ListStateMachines"],
        Some(List),
        "",
    ),
    (
        "stepfunctions",
        "DescribeExecution",
        "{}",
        &["states:DescribeExecution"],
        Some(Read),
        "",
    ),
    (
        "apigateway",
        "GetRestApis",
        "{}",
        &["apigateway:GET"],
        Some(Read),
        "",
    ),
    (
        "apigateway",
        "CreateRestApi",
        "{}",
        &["apigateway:POST"],
        Some(Write),
        "",
    ),
    (
        "apigateway",
        "UpdateStage",
        "{}",
        &["apigateway:PATCH"],
        Some(Write),
        "",
    ),
    (
        "apigateway",
        "PutIntegration",
        "{}",
        &["apigateway:PUT"],
        Some(Write),
        "",
    ),
    (
        "apigateway",
        "DeleteRestApi",
        "{}",
        &["apigateway:DELETE"],
        Some(Write),
        "D",
    ),
    (
        "apigateway",
        "GetApiKey",
        r#"{"apiKey":"k","includeValue":true}"#,
        &["apigateway:GET"],
        Some(Read),
        "S",
    ),
    (
        "apigateway",
        "GetApiKey",
        r#"{"apiKey":"k"}"#,
        &["apigateway:GET"],
        Some(Read),
        "",
    ),
    (
        "apigatewayv2",
        "GetApis",
        "{}",
        &["apigateway:GET"],
        Some(Read),
        "",
    ),
    (
        "apigatewaymanagementapi",
        "PostToConnection",
        "{}",
        &["execute-api:ManageConnections"],
        Some(Write),
        "",
    ),
    (
        "organizations",
        "ListAccounts",
        "{}",
        &["organizations:ListAccounts"],
        Some(List),
        "",
    ),
    (
        "organizations",
        "DescribeOrganization",
        "{}",
        &["organizations:DescribeOrganization"],
        Some(Read),
        "",
    ),
    (
        "organizations",
        "CloseAccount",
        "{}",
        &["organizations:CloseAccount"],
        Some(Write),
        "D",
    ),
    (
        "organizations",
        "AttachPolicy",
        "{}",
        &["organizations:AttachPolicy"],
        Some(Write),
        "",
    ),
    (
        "codedeploy",
        "CreateDeployment",
        "{}",
        &["codedeploy:CreateDeployment"],
        Some(Write),
        "",
    ),
    (
        "codedeploy",
        "ListApplications",
        "{}",
        &["codedeploy:ListApplications"],
        Some(List),
        "",
    ),
    (
        "codedeploy",
        "DeleteApplication",
        "{}",
        &["codedeploy:DeleteApplication"],
        Some(Write),
        "D",
    ),
    // --- credentials and secrets elsewhere ------------------------------------------------------------------------
    (
        "codeartifact",
        "GetAuthorizationToken",
        "{}",
        &["codeartifact:GetAuthorizationToken"],
        Some(Read),
        "C",
    ),
    (
        "redshift",
        "GetClusterCredentials",
        "{}",
        &["redshift:GetClusterCredentials"],
        Some(Write),
        "C",
    ),
    (
        "cognito-identity",
        "GetCredentialsForIdentity",
        "{}",
        &["cognito-identity:GetCredentialsForIdentity"],
        Some(Read),
        "C",
    ),
    (
        "lightsail",
        "GetInstanceAccessDetails",
        "{}",
        &["lightsail:GetInstanceAccessDetails"],
        Some(Write),
        "CS",
    ),
    (
        "glue",
        "GetConnection",
        r#"{"Name":"c"}"#,
        &["glue:GetConnection"],
        Some(Read),
        "S",
    ),
    (
        "glue",
        "GetConnection",
        r#"{"Name":"c","HidePassword":true}"#,
        &["glue:GetConnection"],
        Some(Read),
        "",
    ),
    (
        "acm",
        "ExportCertificate",
        "{}",
        &["acm:ExportCertificate"],
        Some(Read),
        "S",
    ),
    (
        "bedrock-runtime",
        "Converse",
        "{}",
        &["bedrock:InvokeModel"],
        Some(Read),
        "",
    ),
    (
        "ses",
        "SendEmail",
        "{}",
        &["ses:SendEmail"],
        Some(Write),
        "",
    ),
    (
        "sesv2",
        "SendEmail",
        "{}",
        &["ses:SendEmail"],
        Some(Write),
        "",
    ),
    (
        "resourcegroupstaggingapi",
        "GetResources",
        "{}",
        &["tag:GetResources"],
        Some(Read),
        "",
    ),
];

fn flags_of(c: &Classification) -> String {
    let f = &c.flags;
    [
        (f.returns_credentials, 'C'),
        (f.returns_secret, 'S'),
        (f.destructive, 'D'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, l)| *l)
    .collect()
}

#[test]
fn table_of_calls_over_the_main_services() {
    let mut failures = Vec::new();
    let mut assertions = 0;
    for &(service, op, params, actions, level, flags) in CASES {
        if service == "iam" && op == "PassRole" {
            continue;
        }
        let params: Value =
            serde_json::from_str(params).unwrap_or_else(|e| panic!("{service} {op}: {e}"));
        let c = classify(service, op, &params);
        let got = (
            c.actions.iter().map(String::as_str).collect::<Vec<_>>(),
            c.access_level,
            flags_of(&c),
        );
        let want = (actions.to_vec(), level, flags.to_string());
        assertions += 3;
        if got != want {
            failures.push(format!(
                "{service} {op} {params}: got {got:?}, want {want:?} ({:?})",
                c.unknown_reason
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert!(assertions >= 450, "{assertions}");
}

#[test]
fn the_main_services_are_covered() {
    let main = [
        "s3",
        "ec2",
        "iam",
        "sts",
        "lambda",
        "dynamodb",
        "sqs",
        "sns",
        "kms",
        "secretsmanager",
        "ssm",
        "logs",
        "cloudwatch",
        "cloudformation",
        "rds",
        "ecr",
        "ecs",
        "eks",
        "route53",
        "events",
        "autoscaling",
        "elbv2",
        "stepfunctions",
        "apigateway",
        "organizations",
        "cloudtrail",
        "config",
        "codedeploy",
    ];
    for service in main {
        assert!(
            CASES.iter().filter(|c| c.0 == service).count() >= 2,
            "{service} needs cases"
        );
    }
}

#[test]
fn action_source_tells_derived_from_exception() {
    assert_eq!(
        classify("ec2", "DescribeInstances", &json!({})).action_source,
        ActionSource::Derived
    );
    assert_eq!(
        classify("s3", "HeadObject", &json!({})).action_source,
        ActionSource::Exception
    );
    assert_eq!(
        classify("apigateway", "GetRestApis", &json!({})).action_source,
        ActionSource::Exception
    );
    // A refinement that changes the derived action counts as an exception too.
    assert_eq!(
        classify("s3", "GetObject", &json!({"VersionId": "v"})).action_source,
        ActionSource::Exception
    );
    assert_eq!(
        classify("s3", "GetObject", &json!({})).action_source,
        ActionSource::Derived
    );
}

#[test]
fn missing_parameters_give_an_upper_bound() {
    let c = classify("dynamodb", "ExecuteStatement", &Value::Null);
    assert_eq!(c.actions.len(), 4);
    assert!(c.flags.destructive);
    let c = classify(
        "dynamodb",
        "ExecuteStatement",
        &json!({"Statement": "EXPLAIN"}),
    );
    assert_eq!(
        c.actions.len(),
        4,
        "an unreadable statement keeps every PartiQL action"
    );
    assert!(
        classify("route53", "ChangeResourceRecordSets", &Value::Null)
            .flags
            .destructive
    );
    assert!(
        classify("s3", "DeleteObjects", &Value::Null)
            .actions
            .contains(&"s3:DeleteObjectVersion".to_string())
    );
    assert!(
        !classify("ssm", "GetParameter", &Value::Null)
            .flags
            .returns_secret,
        "WithDecryption defaults to false"
    );
}

#[test]
fn unknown_operations_and_services_have_reasons() {
    // In the model, newer than the catalogue: the action is named but unknown.
    let c = classify("ecs", "CreateDaemon", &json!({}));
    assert!(c.is_unknown());
    assert_eq!(c.access_level, None);
    assert_eq!(c.actions, ["ecs:CreateDaemon"]);
    let reason = c.unknown_reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("ecs:CreateDaemon") && reason.contains("not in the catalogue"),
        "{reason}"
    );
    // Unknown flags still apply: the name says it deletes.
    assert!(
        classify("ecs", "DeleteDaemon", &json!({}))
            .flags
            .destructive
    );

    let c = classify("s3", "GetObjectPlease", &json!({}));
    assert!(c.is_unknown() && c.actions.is_empty());
    assert!(
        c.unknown_reason
            .as_deref()
            .is_some_and(|r| r.contains("no operation"))
    );
    let c = classify("nosuchservice", "GetThing", &json!({}));
    assert!(
        c.unknown_reason
            .as_deref()
            .is_some_and(|r| r.contains("unknown service"))
    );
    // iam:PassRole is an action, never an API operation.
    assert!(classify("iam", "PassRole", &json!({})).is_unknown());
    // Known calls carry no reason.
    assert_eq!(
        classify("sts", "GetCallerIdentity", &json!({})).unknown_reason,
        None
    );
}

#[test]
fn classification_serialises_for_audit() {
    let c = classify(
        "ssm",
        "GetParameter",
        &json!({"Name": "p", "WithDecryption": true}),
    );
    let v = serde_json::to_value(&c).unwrap_or_default();
    assert_eq!(
        v,
        json!({"actions": ["ssm:GetParameter"], "access_level": "Read",
               "flags": {"returns_credentials": false, "returns_secret": true, "destructive": false, "side_effects": false},
               "unknown_reason": null, "action_source": "Derived"})
    );
    let c = classify("iam", "AttachRolePolicy", &json!({}));
    assert_eq!(
        serde_json::to_value(c.access_level).unwrap_or_default(),
        json!("Permissions management")
    );
}

#[test]
fn prefixes_of_the_odd_services() {
    for (service, want) in [
        ("cloudwatch", "cloudwatch"),
        ("ses", "ses"),
        ("sesv2", "ses"),
        ("elbv2", "elasticloadbalancing"),
        ("elb", "elasticloadbalancing"),
        ("logs", "logs"),
        ("events", "events"),
        ("stepfunctions", "states"),
        ("apigateway", "apigateway"),
        ("codedeploy", "codedeploy"),
        ("config", "config"),
        ("ecr", "ecr"),
        ("s3control", "s3"),
        ("efs", "elasticfilesystem"),
        ("emr", "elasticmapreduce"),
        ("opensearch", "es"),
        ("sso-admin", "sso"),
        ("cloudcontrol", "cloudformation"),
        ("iot-data", "iot"),
        ("dynamodbstreams", "dynamodb"),
        ("sts", "sts"),
        ("ec2", "ec2"),
    ] {
        assert_eq!(iam_prefix(service), Some(want), "{service}");
    }
}

#[test]
fn every_table_entry_names_a_catalogued_action_and_a_real_operation() {
    let catalogue = portcullis_iam::catalogue();
    let models = portcullis_model::models();
    let op_exists = |service: &str, op: &str| {
        models
            .service(service)
            .is_ok_and(|m| m.operation(op).is_some())
    };
    for (service, op, actions) in exceptions::EXCEPTIONS {
        assert!(
            op_exists(service, op),
            "exception for {service} {op}: no such operation"
        );
        for a in *actions {
            assert!(
                catalogue.action(a).is_some(),
                "exception {service} {op}: {a} is not in the catalogue"
            );
        }
    }
    for (service, p) in prefix::OVERRIDES {
        assert!(
            catalogue.service(p).is_some(),
            "override {service} → {p}: no such prefix"
        );
        assert!(
            models.service_entry(service).is_some(),
            "override for unknown service {service}"
        );
    }
    for (service, op) in flags::RETURNS_CREDENTIALS.iter().chain(flags::DESTRUCTIVE) {
        assert!(
            op_exists(service, op),
            "flag table: {service} {op} is not an operation"
        );
    }
    for (service, op, _) in flags::RETURNS_SECRET {
        assert!(
            op_exists(service, op),
            "secret table: {service} {op} is not an operation"
        );
    }
    for (service, op, reason) in flags::SIDE_EFFECTS {
        assert!(
            op_exists(service, op),
            "side-effects table: {service} {op} is not an operation"
        );
        assert!(
            reason.len() > 20,
            "side-effects table: {service} {op} needs a reason"
        );
    }
    for (service, op, deps, source) in portcullis_classify::dependent::DEPENDENT {
        assert!(
            op_exists(service, op),
            "dependent table: {service} {op} is not an operation"
        );
        assert!(!source.is_empty());
        for a in *deps {
            assert!(
                catalogue.action(a).is_some(),
                "dependent table {service} {op}: {a} is not in the catalogue"
            );
        }
    }
    for (op, plain, versioned) in portcullis_classify::refine::S3_VERSIONED {
        assert!(op_exists("s3", op), "{op}");
        assert!(
            catalogue.action(plain).is_some() && catalogue.action(versioned).is_some(),
            "{plain} / {versioned}"
        );
    }
}

#[test]
fn verb_rule() {
    assert_eq!(flags::verb("DeleteObject"), "Delete");
    assert_eq!(flags::verb("BatchDeleteImage"), "Delete");
    assert_eq!(flags::verb("Batch"), "Batch");
    assert_eq!(flags::verb("BatchGetItem"), "Get");
    assert_eq!(flags::verb("Query"), "Query");
    assert_eq!(flags::verb("PutDBInstance"), "Put");
    assert!(!flags::destructive_by_name("ec2", "StopInstances"));
    assert!(!flags::destructive_by_name("kms", "CancelKeyDeletion"));
    assert!(!flags::destructive_by_name("kms", "DisableKey"));
}

/// Walks every operation of every embedded service, classifying each without parameters and
/// with an empty object, and pins the share whose actions are all in the catalogue.
#[test]
fn every_operation_of_every_service_classifies() {
    let models = portcullis_model::models();
    let main = [
        "s3",
        "ec2",
        "iam",
        "sts",
        "lambda",
        "dynamodb",
        "sqs",
        "sns",
        "kms",
        "secretsmanager",
        "ssm",
        "logs",
        "cloudwatch",
        "cloudformation",
        "rds",
        "ecr",
        "ecs",
        "eks",
        "route53",
        "events",
        "autoscaling",
        "elbv2",
        "stepfunctions",
        "apigateway",
        "organizations",
        "cloudtrail",
        "config",
        "codedeploy",
    ];
    let (mut total, mut known, mut main_total, mut main_known, mut services) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    for service in models.service_names() {
        let model = models
            .service(service)
            .unwrap_or_else(|e| panic!("{service}: {e}"));
        services += 1;
        for op in model.operations.keys() {
            let c = classify(service, op, &Value::Null);
            let _ = classify(service, op, &json!({}));
            assert_eq!(c.is_unknown(), c.unknown_reason.is_some(), "{service} {op}");
            total += 1;
            known += usize::from(!c.is_unknown());
            if main.contains(&service) {
                main_total += 1;
                main_known += usize::from(!c.is_unknown());
            }
        }
    }
    let overall = known as f64 / total as f64;
    let main_share = main_known as f64 / main_total as f64;
    eprintln!(
        "coverage: {known}/{total} operations of {services} services ({:.1}%); main 28 services {main_known}/{main_total} ({:.1}%)",
        overall * 100.0,
        main_share * 100.0
    );
    assert!(services > 400, "{services}");
    assert!(overall >= 0.92, "overall coverage fell to {overall:.3}");
    assert!(
        main_share >= 0.97,
        "main-service coverage fell to {main_share:.3}"
    );
}

/// Every entry of the side-effects list is flagged, whatever its parameters; nothing else is.
#[test]
fn every_side_effect_entry_is_flagged() {
    for (service, op, _) in flags::SIDE_EFFECTS {
        for params in [Value::Null, json!({})] {
            let c = classify(service, op, &params);
            assert!(c.flags.side_effects, "{service} {op} {params}");
        }
    }
    for (service, op) in [
        ("sqs", "GetQueueAttributes"),
        ("logs", "GetQueryResults"),
        ("s3", "GetObject"),
        ("athena", "GetQueryResults"),
    ] {
        assert!(
            !classify(service, op, &json!({})).flags.side_effects,
            "{service} {op}"
        );
    }
}

/// Every entry of the credentials list is flagged (bearer URLs and tokens included).
#[test]
fn every_credentials_entry_is_flagged() {
    for (service, op) in flags::RETURNS_CREDENTIALS {
        assert!(
            classify(service, op, &json!({})).flags.returns_credentials,
            "{service} {op}"
        );
    }
}

/// Dependent actions: the catalogue's, the documented extras, and `iam:PassRole` exactly when a
/// role is passed (or may be, when the parameters are unknown).
#[test]
fn dependent_actions() {
    let c = classify(
        "secretsmanager",
        "BatchGetSecretValue",
        &json!({"SecretIdList": ["a"]}),
    );
    assert_eq!(c.actions, ["secretsmanager:BatchGetSecretValue"]);
    assert!(
        c.dependent_actions
            .contains(&"secretsmanager:GetSecretValue".to_string()),
        "{c:?}"
    );

    let with_role =
        json!({"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r", "Code": {}});
    let c = classify("lambda", "CreateFunction", &with_role);
    assert!(
        c.dependent_actions.contains(&"iam:PassRole".to_string()),
        "{c:?}"
    );
    assert_eq!(
        c.access_level,
        Some(Write),
        "dependent actions do not change the access level"
    );

    let c = classify(
        "ec2",
        "AssociateIamInstanceProfile",
        &json!({"IamInstanceProfile": {"Name": "p"}, "InstanceId": "i-1"}),
    );
    assert!(
        c.dependent_actions.contains(&"iam:PassRole".to_string()),
        "{c:?}"
    );
    let c = classify(
        "ec2",
        "RunInstances",
        &json!({"ImageId": "ami-1", "IamInstanceProfile": {"Arn": "arn:aws:iam::1:instance-profile/p"}}),
    );
    assert!(
        c.dependent_actions.contains(&"iam:PassRole".to_string()),
        "{c:?}"
    );
    // No role, no PassRole (the catalogue lists it for every RunInstances).
    let c = classify(
        "ec2",
        "RunInstances",
        &json!({"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1}),
    );
    assert!(
        !c.dependent_actions.contains(&"iam:PassRole".to_string()),
        "{c:?}"
    );
    // Unknown parameters: the upper bound keeps it.
    assert!(
        classify("ec2", "RunInstances", &Value::Null)
            .dependent_actions
            .contains(&"iam:PassRole".to_string())
    );
    // Other services that take a role.
    for (service, op, params) in [
        (
            "ecs",
            "RegisterTaskDefinition",
            json!({"family": "f", "taskRoleArn": "arn:aws:iam::1:role/t", "containerDefinitions": []}),
        ),
        (
            "stepfunctions",
            "CreateStateMachine",
            json!({"name": "n", "definition": "{}", "roleArn": "arn:aws:iam::1:role/s"}),
        ),
        (
            "cloudformation",
            "CreateStack",
            json!({"StackName": "s", "RoleARN": "arn:aws:iam::1:role/cfn"}),
        ),
        (
            "glue",
            "CreateJob",
            json!({"Name": "j", "Role": "r", "Command": {}}),
        ),
        (
            "emr",
            "RunJobFlow",
            json!({"Name": "c", "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole"}),
        ),
    ] {
        let c = classify(service, op, &params);
        assert!(
            c.dependent_actions.contains(&"iam:PassRole".to_string()),
            "{service} {op}: {c:?}"
        );
    }
    // Reading or assuming a role is not passing it.
    assert!(
        !classify("iam", "GetRole", &json!({"RoleName": "r"}))
            .dependent_actions
            .contains(&"iam:PassRole".to_string())
    );
    assert!(
        !classify(
            "sts",
            "AssumeRole",
            &json!({"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s"})
        )
        .dependent_actions
        .contains(&"iam:PassRole".to_string())
    );
}

/// The CLI form and the action an operation stands for.
#[test]
fn cli_forms_and_own_actions() {
    use portcullis_classify::{cli_form, own_action};
    assert_eq!(
        cli_form("s3", "DeleteObject"),
        Some(("s3api".into(), "delete-object".into()))
    );
    assert_eq!(
        cli_form("stepfunctions", "StartExecution"),
        Some(("stepfunctions".into(), "start-execution".into()))
    );
    assert_eq!(
        cli_form("codedeploy", "ListApplications"),
        Some(("deploy".into(), "list-applications".into()))
    );
    assert_eq!(
        own_action("s3", "DeleteObjects").as_deref(),
        Some("s3:DeleteObject")
    );
    assert_eq!(
        own_action("s3", "HeadObject").as_deref(),
        Some("s3:GetObject")
    );
    assert_eq!(
        own_action("s3", "GetObject").as_deref(),
        Some("s3:GetObject")
    );
    assert_eq!(
        own_action("s3", "CopyObject"),
        None,
        "two actions: stands for neither"
    );
    assert_eq!(
        own_action("secretsmanager", "GetSecretValue").as_deref(),
        Some("secretsmanager:GetSecretValue")
    );
}
