//! Which IAM service prefix a botocore service's operations are authorised under.
//!
//! Most services use their signing name (`sqs`, `ec2`), but not all: CloudWatch signs as
//! `monitoring` and authorises as `cloudwatch`, Step Functions is `states`, both ELB APIs are
//! `elasticloadbalancing`. [`OVERRIDES`] pins the known odd ones; for every other service
//! [`derive()`] tries the model's signing name, endpoint prefix, service name and service id, and
//! keeps the candidate whose catalogue entry knows the most of the service's operations.

use portcullis_iam::Catalogue;
use portcullis_model::ServiceModel;

/// botocore service name → IAM prefix, where deriving it from the model is wrong or fails.
/// The test suite checks that every prefix here exists in the catalogue.
pub const OVERRIDES: &[(&str, &str)] = &[
    ("cloudwatch", "cloudwatch"), // signs as `monitoring`
    ("ses", "ses"),
    ("sesv2", "ses"),
    ("pinpoint-email", "ses"),
    ("elb", "elasticloadbalancing"),
    ("elbv2", "elasticloadbalancing"),
    ("logs", "logs"),
    ("events", "events"),
    ("stepfunctions", "states"),
    ("apigateway", "apigateway"),
    ("apigatewayv2", "apigateway"),
    ("apigatewaymanagementapi", "execute-api"),
    ("codedeploy", "codedeploy"),
    ("config", "config"),
    ("ecr", "ecr"),
    ("ecr-public", "ecr-public"),
    ("s3", "s3"),
    ("s3control", "s3"),
    ("efs", "elasticfilesystem"),
    ("emr", "elasticmapreduce"),
    ("opensearch", "es"),
    ("es", "es"),
    ("resourcegroupstaggingapi", "tag"),
    ("cloudcontrol", "cloudformation"),
    ("iot-data", "iot"),
    ("iot-jobs-data", "iot"),
    ("iotsecuretunneling", "iot"),
    ("mturk", "mechanicalturk"),
    ("keyspaces", "cassandra"),
    ("cloudhsmv2", "cloudhsm"),
    ("sso-admin", "sso"),
    ("sso-oidc", "sso-oauth"),
    ("dynamodbstreams", "dynamodb"),
    ("neptune", "rds"),
    ("docdb", "rds"),
    ("application-autoscaling", "application-autoscaling"),
    ("pinpoint", "mobiletargeting"),
    ("pinpoint-sms-voice-v2", "sms-voice"),
    ("marketplace-catalog", "aws-marketplace"),
    ("kinesisanalyticsv2", "kinesisanalytics"),
    ("lex-models", "lex"),
    ("lexv2-models", "lex"),
    ("lex-runtime", "lex"),
    ("lexv2-runtime", "lex"),
    ("sagemaker-runtime", "sagemaker"),
    ("timestream-query", "timestream"),
    ("timestream-write", "timestream"),
    ("taxsettings", "tax"),
];

/// The override for a service, if any.
pub fn overridden(service: &str) -> Option<&'static str> {
    OVERRIDES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, p)| *p)
}

/// The IAM prefix for a service model: the override, else the candidate from the model's
/// metadata whose catalogue entry has the most of the service's operations (the first candidate
/// wins ties, so signing name before endpoint prefix before service name). `None` when no
/// candidate is a catalogue prefix at all.
pub fn derive(model: &ServiceModel, catalogue: &Catalogue) -> Option<String> {
    if let Some(p) = overridden(&model.name) {
        return Some(p.to_string());
    }
    let md = &model.metadata;
    let service_id = md
        .service_id
        .as_deref()
        .map(|id| id.to_ascii_lowercase().replace(' ', "-"));
    let candidates = [
        md.signing_name.as_deref(),
        md.endpoint_prefix.as_deref(),
        Some(model.name.as_str()),
        service_id.as_deref(),
    ];
    let mut best: Option<(&str, usize)> = None;
    for candidate in candidates.into_iter().flatten() {
        let Some(service) = catalogue.service(candidate) else {
            continue;
        };
        let hits = model
            .operations
            .keys()
            .filter(|op| service.has_action(op))
            .count();
        if best.is_none_or(|(_, b)| hits > b) {
            best = Some((candidate, hits));
        }
    }
    best.map(|(p, _)| p.to_ascii_lowercase())
}
