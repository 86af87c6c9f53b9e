//! The full command parser: `Parser::new(&DenyAll).parse(text)` (words, command and operation
//! lookup, option binding, value unpacking by shape, shorthand, JSON, `--cli-input-json`,
//! customizations, validation), then what `portcullis check` does with the result (digest,
//! serialization, classification). `DenyAll` means no file is ever read.
//!
//! Input: text starting with `aws` is parsed as it is. Anything else is structured: the first
//! byte picks a real operation from `OPS` and the rest (lossy UTF-8) is appended as its
//! arguments, so the fuzzer spends its time inside operations rather than on the command name.
//!
//! Invariants: no panic; errors render; an accepted call serializes and classifies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_cli::{Command, DenyAll, Parser};

/// Operations with rich inputs: nested structures, lists, maps, blobs, JSON documents,
/// timestamps, enums, customizations, idempotency tokens, the high-level s3 commands.
const OPS: &[&str] = &[
    "aws ec2 describe-instances",
    "aws ec2 run-instances",
    "aws ec2 authorize-security-group-ingress",
    "aws ec2 create-tags",
    "aws ec2 modify-instance-attribute",
    "aws s3api put-object",
    "aws s3api list-objects-v2",
    "aws s3api put-bucket-policy",
    "aws s3api put-bucket-lifecycle-configuration",
    "aws s3 cp",
    "aws s3 ls",
    "aws s3 rm",
    "aws dynamodb put-item",
    "aws dynamodb query",
    "aws dynamodb execute-statement",
    "aws iam create-role",
    "aws iam put-role-policy",
    "aws lambda create-function",
    "aws lambda invoke",
    "aws sts assume-role",
    "aws sts get-caller-identity",
    "aws sqs send-message",
    "aws sns publish",
    "aws route53 change-resource-record-sets",
    "aws route53 get-hosted-zone",
    "aws ssm get-parameter",
    "aws ssm put-parameter",
    "aws cloudformation create-stack",
    "aws ecs register-task-definition",
    "aws kms encrypt",
    "aws logs filter-log-events",
    "aws cloudwatch put-metric-data",
    "aws cloudwatch get-metric-statistics",
    "aws secretsmanager create-secret",
    "aws autoscaling create-auto-scaling-group",
    "aws events put-rule",
    "aws elbv2 create-load-balancer",
    "aws apigateway put-integration",
    "aws glue create-table",
    "aws stepfunctions start-execution",
];

fuzz_target!(|data: &[u8]| {
    let command = if data.starts_with(b"aws") {
        String::from_utf8_lossy(data).into_owned()
    } else if let Some((&pick, rest)) = data.split_first() {
        format!(
            "{} {}",
            OPS[pick as usize % OPS.len()],
            String::from_utf8_lossy(rest)
        )
    } else {
        return;
    };
    let parser = Parser::new(&DenyAll);
    match parser.parse(&command) {
        Ok(Command::Call(call)) => {
            let _ = call.digest();
            let _ = call.display_name();
            let params = portcullis_cli::Value::Map(call.params.clone()).to_json();
            let _ = serde_json::to_string(&call).expect("an OperationCall serializes");
            let class = portcullis_classify::classify(&call.service, &call.operation, &params);
            let _ = serde_json::to_string(&class).expect("a Classification serializes");
        }
        Ok(Command::Skeleton { skeleton, .. }) => {
            let _ = serde_json::to_string(&skeleton);
        }
        Ok(Command::S3(cmd)) => {
            for (service, operation) in cmd.api_calls() {
                let _ = portcullis_classify::classify(service, operation, &serde_json::json!({}));
            }
        }
        Ok(Command::Extra(cmd)) => {
            let _ = cmd.digest();
            let _ = cmd.display_name();
            for (service, operation) in cmd.api_calls() {
                let _ = portcullis_classify::classify(&service, &operation, &serde_json::json!({}));
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
