//! Where the IAM action is not `prefix:OperationName`: data, one row per operation.
//!
//! Sources: the AWS Service Authorization Reference and each API reference's "Permissions"
//! section (S3's "Required permissions for Amazon S3 API operations" table above all). Every
//! action named here is checked against the catalogue by the test suite, so a typo or a renamed
//! action fails the build's tests rather than classifying silently as unknown.
//!
//! Actions that depend on the request parameters (an object version, a PartiQL statement, the
//! members of a transaction) start from the row here and are refined in [`crate::refine`].

/// `(botocore service, API operation, IAM actions)`.
pub type Exception = (&'static str, &'static str, &'static [&'static str]);

/// Every PartiQL action: what a statement may need until [`crate::refine`] has read it.
const PARTIQL_ALL: &[&str] = &[
    "dynamodb:PartiQLSelect",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
];

pub const EXCEPTIONS: &[Exception] = &[
    // --- S3: most bucket sub-resource APIs share one action per sub-resource ---------------
    ("s3", "ListObjects", &["s3:ListBucket"]),
    ("s3", "ListObjectsV2", &["s3:ListBucket"]),
    ("s3", "ListObjectVersions", &["s3:ListBucketVersions"]),
    ("s3", "ListBuckets", &["s3:ListAllMyBuckets"]),
    (
        "s3",
        "ListDirectoryBuckets",
        &["s3express:ListAllMyDirectoryBuckets"],
    ),
    (
        "s3",
        "ListMultipartUploads",
        &["s3:ListBucketMultipartUploads"],
    ),
    ("s3", "ListParts", &["s3:ListMultipartUploadParts"]),
    ("s3", "HeadBucket", &["s3:ListBucket"]),
    ("s3", "HeadObject", &["s3:GetObject"]),
    ("s3", "SelectObjectContent", &["s3:GetObject"]),
    ("s3", "CreateMultipartUpload", &["s3:PutObject"]),
    ("s3", "UploadPart", &["s3:PutObject"]),
    ("s3", "CompleteMultipartUpload", &["s3:PutObject"]),
    ("s3", "UploadPartCopy", &["s3:PutObject", "s3:GetObject"]),
    ("s3", "CopyObject", &["s3:GetObject", "s3:PutObject"]),
    ("s3", "DeleteObjects", &["s3:DeleteObject"]),
    ("s3", "CreateSession", &["s3express:CreateSession"]),
    // Directory buckets only; authorised through the CreateSession session (doubtful, see docs).
    ("s3", "RenameObject", &["s3express:CreateSession"]),
    (
        "s3",
        "WriteGetObjectResponse",
        &["s3-object-lambda:WriteGetObjectResponse"],
    ),
    (
        "s3",
        "GetBucketAccelerateConfiguration",
        &["s3:GetAccelerateConfiguration"],
    ),
    (
        "s3",
        "PutBucketAccelerateConfiguration",
        &["s3:PutAccelerateConfiguration"],
    ),
    (
        "s3",
        "GetBucketAnalyticsConfiguration",
        &["s3:GetAnalyticsConfiguration"],
    ),
    (
        "s3",
        "ListBucketAnalyticsConfigurations",
        &["s3:GetAnalyticsConfiguration"],
    ),
    (
        "s3",
        "PutBucketAnalyticsConfiguration",
        &["s3:PutAnalyticsConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketAnalyticsConfiguration",
        &["s3:PutAnalyticsConfiguration"],
    ),
    ("s3", "DeleteBucketCors", &["s3:PutBucketCORS"]),
    (
        "s3",
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
    ),
    (
        "s3",
        "PutBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
    ),
    (
        "s3",
        "GetBucketIntelligentTieringConfiguration",
        &["s3:GetIntelligentTieringConfiguration"],
    ),
    (
        "s3",
        "ListBucketIntelligentTieringConfigurations",
        &["s3:GetIntelligentTieringConfiguration"],
    ),
    (
        "s3",
        "PutBucketIntelligentTieringConfiguration",
        &["s3:PutIntelligentTieringConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketIntelligentTieringConfiguration",
        &["s3:PutIntelligentTieringConfiguration"],
    ),
    (
        "s3",
        "GetBucketInventoryConfiguration",
        &["s3:GetInventoryConfiguration"],
    ),
    (
        "s3",
        "ListBucketInventoryConfigurations",
        &["s3:GetInventoryConfiguration"],
    ),
    (
        "s3",
        "PutBucketInventoryConfiguration",
        &["s3:PutInventoryConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketInventoryConfiguration",
        &["s3:PutInventoryConfiguration"],
    ),
    (
        "s3",
        "GetBucketLifecycle",
        &["s3:GetLifecycleConfiguration"],
    ),
    (
        "s3",
        "GetBucketLifecycleConfiguration",
        &["s3:GetLifecycleConfiguration"],
    ),
    (
        "s3",
        "PutBucketLifecycle",
        &["s3:PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketLifecycle",
        &["s3:PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "GetBucketMetricsConfiguration",
        &["s3:GetMetricsConfiguration"],
    ),
    (
        "s3",
        "ListBucketMetricsConfigurations",
        &["s3:GetMetricsConfiguration"],
    ),
    (
        "s3",
        "PutBucketMetricsConfiguration",
        &["s3:PutMetricsConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketMetricsConfiguration",
        &["s3:PutMetricsConfiguration"],
    ),
    (
        "s3",
        "GetBucketNotificationConfiguration",
        &["s3:GetBucketNotification"],
    ),
    (
        "s3",
        "PutBucketNotificationConfiguration",
        &["s3:PutBucketNotification"],
    ),
    (
        "s3",
        "DeleteBucketOwnershipControls",
        &["s3:PutBucketOwnershipControls"],
    ),
    (
        "s3",
        "GetBucketReplication",
        &["s3:GetReplicationConfiguration"],
    ),
    (
        "s3",
        "PutBucketReplication",
        &["s3:PutReplicationConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketReplication",
        &["s3:PutReplicationConfiguration"],
    ),
    ("s3", "DeleteBucketTagging", &["s3:PutBucketTagging"]),
    (
        "s3",
        "GetObjectLockConfiguration",
        &["s3:GetBucketObjectLockConfiguration"],
    ),
    (
        "s3",
        "PutObjectLockConfiguration",
        &["s3:PutBucketObjectLockConfiguration"],
    ),
    (
        "s3",
        "GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
    ),
    (
        "s3",
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
    ),
    (
        "s3",
        "DeletePublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
    ),
    (
        "s3",
        "CreateBucketMetadataConfiguration",
        &["s3:CreateBucketMetadataTableConfiguration"],
    ),
    (
        "s3",
        "GetBucketMetadataConfiguration",
        &["s3:GetBucketMetadataTableConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketMetadataConfiguration",
        &["s3:DeleteBucketMetadataTableConfiguration"],
    ),
    // --- S3 Control: account-level public access block; Outposts buckets; directory buckets ---
    (
        "s3control",
        "GetPublicAccessBlock",
        &["s3:GetAccountPublicAccessBlock"],
    ),
    (
        "s3control",
        "PutPublicAccessBlock",
        &["s3:PutAccountPublicAccessBlock"],
    ),
    (
        "s3control",
        "DeletePublicAccessBlock",
        &["s3:PutAccountPublicAccessBlock"],
    ),
    ("s3control", "CreateBucket", &["s3-outposts:CreateBucket"]),
    ("s3control", "DeleteBucket", &["s3-outposts:DeleteBucket"]),
    ("s3control", "GetBucket", &["s3-outposts:GetBucket"]),
    (
        "s3control",
        "ListRegionalBuckets",
        &["s3-outposts:ListRegionalBuckets"],
    ),
    (
        "s3control",
        "GetBucketPolicy",
        &["s3-outposts:GetBucketPolicy"],
    ),
    (
        "s3control",
        "PutBucketPolicy",
        &["s3-outposts:PutBucketPolicy"],
    ),
    (
        "s3control",
        "DeleteBucketPolicy",
        &["s3-outposts:DeleteBucketPolicy"],
    ),
    (
        "s3control",
        "GetBucketTagging",
        &["s3-outposts:GetBucketTagging"],
    ),
    (
        "s3control",
        "PutBucketTagging",
        &["s3-outposts:PutBucketTagging"],
    ),
    (
        "s3control",
        "DeleteBucketTagging",
        &["s3-outposts:PutBucketTagging"],
    ),
    (
        "s3control",
        "GetBucketVersioning",
        &["s3-outposts:GetBucketVersioning"],
    ),
    (
        "s3control",
        "PutBucketVersioning",
        &["s3-outposts:PutBucketVersioning"],
    ),
    (
        "s3control",
        "GetBucketLifecycleConfiguration",
        &["s3-outposts:GetLifecycleConfiguration"],
    ),
    (
        "s3control",
        "PutBucketLifecycleConfiguration",
        &["s3-outposts:PutLifecycleConfiguration"],
    ),
    (
        "s3control",
        "DeleteBucketLifecycleConfiguration",
        &["s3-outposts:PutLifecycleConfiguration"],
    ),
    (
        "s3control",
        "GetBucketReplication",
        &["s3-outposts:GetReplicationConfiguration"],
    ),
    (
        "s3control",
        "PutBucketReplication",
        &["s3-outposts:PutReplicationConfiguration"],
    ),
    (
        "s3control",
        "DeleteBucketReplication",
        &["s3-outposts:PutReplicationConfiguration"],
    ),
    (
        "s3control",
        "GetAccessPointScope",
        &["s3express:GetAccessPointScope"],
    ),
    (
        "s3control",
        "PutAccessPointScope",
        &["s3express:PutAccessPointScope"],
    ),
    (
        "s3control",
        "DeleteAccessPointScope",
        &["s3express:DeleteAccessPointScope"],
    ),
    (
        "s3control",
        "ListAccessPointsForDirectoryBuckets",
        &["s3express:ListAccessPointsForDirectoryBuckets"],
    ),
    // --- Lambda ------------------------------------------------------------------------------
    ("lambda", "Invoke", &["lambda:InvokeFunction"]),
    (
        "lambda",
        "InvokeWithResponseStream",
        &["lambda:InvokeFunction"],
    ),
    (
        "lambda",
        "GetLayerVersionByArn",
        &["lambda:GetLayerVersion"],
    ),
    // --- Bedrock runtime: the Converse APIs use the InvokeModel actions -------------------------
    ("bedrock-runtime", "Converse", &["bedrock:InvokeModel"]),
    (
        "bedrock-runtime",
        "ConverseStream",
        &["bedrock:InvokeModelWithResponseStream"],
    ),
    (
        "bedrock-runtime",
        "StartAsyncInvoke",
        &["bedrock:InvokeModel"],
    ),
    (
        "bedrock-runtime",
        "InvokeModelWithBidirectionalStream",
        &["bedrock:InvokeModel"],
    ),
    // --- DynamoDB: transactions check each item's action; PartiQL refined by statement ---------
    ("dynamodb", "TransactGetItems", &["dynamodb:GetItem"]),
    (
        "dynamodb",
        "TransactWriteItems",
        &[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ],
    ),
    ("dynamodb", "ExecuteStatement", PARTIQL_ALL),
    ("dynamodb", "BatchExecuteStatement", PARTIQL_ALL),
    ("dynamodb", "ExecuteTransaction", PARTIQL_ALL),
    // --- SQS / SNS batches use the single-message action ----------------------------------------
    ("sqs", "SendMessageBatch", &["sqs:SendMessage"]),
    ("sqs", "DeleteMessageBatch", &["sqs:DeleteMessage"]),
    (
        "sqs",
        "ChangeMessageVisibilityBatch",
        &["sqs:ChangeMessageVisibility"],
    ),
    ("sns", "PublishBatch", &["sns:Publish"]),
    // --- KMS -----------------------------------------------------------------------------------
    (
        "kms",
        "ReEncrypt",
        &["kms:ReEncryptFrom", "kms:ReEncryptTo"],
    ),
    // --- CloudTrail: the reference links ListInsightsMetricData to LookupEvents -----------------
    (
        "cloudtrail",
        "ListInsightsMetricData",
        &["cloudtrail:LookupEvents"],
    ),
    // --- API Gateway WebSocket management API ---------------------------------------------------
    (
        "apigatewaymanagementapi",
        "PostToConnection",
        &["execute-api:ManageConnections"],
    ),
    (
        "apigatewaymanagementapi",
        "GetConnection",
        &["execute-api:ManageConnections"],
    ),
    (
        "apigatewaymanagementapi",
        "DeleteConnection",
        &["execute-api:ManageConnections"],
    ),
    // --- Budgets: two actions for the classic budget APIs ----------------------------------------
    ("budgets", "CreateBudget", &["budgets:ModifyBudget"]),
    ("budgets", "UpdateBudget", &["budgets:ModifyBudget"]),
    ("budgets", "DeleteBudget", &["budgets:ModifyBudget"]),
    ("budgets", "CreateNotification", &["budgets:ModifyBudget"]),
    ("budgets", "UpdateNotification", &["budgets:ModifyBudget"]),
    ("budgets", "DeleteNotification", &["budgets:ModifyBudget"]),
    ("budgets", "CreateSubscriber", &["budgets:ModifyBudget"]),
    ("budgets", "UpdateSubscriber", &["budgets:ModifyBudget"]),
    ("budgets", "DeleteSubscriber", &["budgets:ModifyBudget"]),
    ("budgets", "DescribeBudget", &["budgets:ViewBudget"]),
    ("budgets", "DescribeBudgets", &["budgets:ViewBudget"]),
    (
        "budgets",
        "DescribeBudgetPerformanceHistory",
        &["budgets:ViewBudget"],
    ),
    (
        "budgets",
        "DescribeNotificationsForBudget",
        &["budgets:ViewBudget"],
    ),
    (
        "budgets",
        "DescribeSubscribersForNotification",
        &["budgets:ViewBudget"],
    ),
    (
        "budgets",
        "DescribeBudgetNotificationsForAccount",
        &["budgets:ViewBudget"],
    ),
];

/// Whole services whose actions follow a rule rather than the operation name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRule {
    /// API Gateway's management APIs are authorised by HTTP method (`apigateway:GET`,
    /// `apigateway:PATCH`, ...) on the resource path, except the newer operations that have an
    /// action of their own (portals, routing rules), which keep it.
    HttpMethod,
}

pub const SERVICE_RULES: &[(&str, ServiceRule)] = &[
    ("apigateway", ServiceRule::HttpMethod),
    ("apigatewayv2", ServiceRule::HttpMethod),
];

/// The exception row for an operation, if any.
pub fn exception(service: &str, operation: &str) -> Option<&'static [&'static str]> {
    EXCEPTIONS
        .iter()
        .find(|(s, o, _)| *s == service && *o == operation)
        .map(|(_, _, a)| *a)
}

/// The rule a service follows, if any.
pub fn service_rule(service: &str) -> Option<ServiceRule> {
    SERVICE_RULES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, r)| *r)
}
