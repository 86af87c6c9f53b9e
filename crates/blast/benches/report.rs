//! `Report::for_all` over a generated export of 1,000 roles with varied, realistic policies: a
//! few shared managed policies (read-only S3, Lambda logging, a power-user `NotAction`, an
//! administrator), per-role inline policies on named buckets, tables, queues and secrets,
//! conditions, denies and permission boundaries.

#![allow(clippy::unwrap_used)] // A benchmark: a broken fixture should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_blast::{Export, Report};
use serde_json::{Value, json};

fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn managed(name: &str, statements: Value) -> Value {
    json!({
        "PolicyName": name,
        "Arn": format!("arn:aws:iam::111122223333:policy/{name}"),
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"Document": doc(statements), "VersionId": "v1", "IsDefaultVersion": true}]
    })
}

fn attach(name: &str) -> Value {
    json!({"PolicyName": name, "PolicyArn": format!("arn:aws:iam::111122223333:policy/{name}")})
}

pub fn export(roles: usize) -> String {
    let policies = vec![
        managed(
            "S3ReadOnly",
            json!([{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]),
        ),
        managed(
            "LambdaLogs",
            json!([{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"}]),
        ),
        managed(
            "PowerUser",
            json!([
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:ListRoles"], "Resource": "*"}]),
        ),
        managed(
            "Admin",
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        ),
        managed(
            "Ec2Operator",
            json!([
            {"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:StartInstances", "ec2:StopInstances", "ec2:RunInstances", "ec2:TerminateInstances"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/ec2-*"}]),
        ),
        managed(
            "Boundary",
            json!([
            {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*", "sns:*", "logs:*", "kms:Decrypt", "secretsmanager:GetSecretValue", "ec2:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": ["s3:DeleteBucket", "dynamodb:DeleteTable"], "Resource": "*"}]),
        ),
    ];
    let mut list = Vec::with_capacity(roles);
    for i in 0..roles {
        let app = format!("app{i}");
        let mut attached = vec![];
        let mut inline = vec![];
        match i % 10 {
            0..=2 => attached.push(attach("LambdaLogs")),
            3 | 4 => attached.push(attach("S3ReadOnly")),
            5 => attached.push(attach("Ec2Operator")),
            _ => {}
        }
        if i % 50 == 7 {
            attached.push(attach("PowerUser"));
        }
        if i % 100 == 9 {
            attached.push(attach("Admin"));
        }
        if i % 37 == 0 {
            attached.push(attach("AWSSupportAccess"));
        }
        inline.push(json!({"PolicyName": "app", "PolicyDocument": doc(json!([
            {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": format!("arn:aws:s3:::{app}-data/*")},
            {"Sid": "Bucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{app}-data")},
            {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], "Resource": format!("arn:aws:dynamodb:us-east-1:111122223333:table/{app}*")},
            {"Sid": "Queue", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": format!("arn:aws:sqs:us-east-1:111122223333:{app}-*")},
            {"Sid": "Secret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": format!("arn:aws:secretsmanager:us-east-1:111122223333:secret:{app}/*")},
            {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
        ]))}));
        if i % 4 == 0 {
            inline.push(json!({"PolicyName": "guard", "PolicyDocument": doc(json!([
                {"Effect": "Deny", "Action": ["s3:DeleteObject"], "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
            ]))}));
        }
        if i % 6 == 0 {
            // As the real API returns it: URL-encoded.
            let text = doc(json!([{"Effect": "Allow", "Action": ["sns:Publish", "sns:Subscribe"], "Resource": format!("arn:aws:sns:*:111122223333:{app}-events")}])).to_string();
            let encoded: String = text
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect();
            inline.push(json!({"PolicyName": "events", "PolicyDocument": encoded}));
        }
        let mut role = json!({
            "RoleName": format!("{app}-role"),
            "Arn": format!("arn:aws:iam::111122223333:role/service/{app}-role"),
            "RolePolicyList": inline,
            "AttachedManagedPolicies": attached,
        });
        if i % 8 == 3 {
            role["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/Boundary"});
        }
        list.push(role);
    }
    json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": list, "Policies": policies}).to_string()
}

fn bench(c: &mut Criterion) {
    let text = export(1000);
    let parsed = Export::parse(&text).unwrap();
    let reports = Report::for_all(&parsed);
    assert_eq!(reports.len(), 1000);
    let mut g = c.benchmark_group("blast");
    g.sample_size(10);
    g.bench_function("parse 1000 roles", |b| {
        b.iter(|| Export::parse(std::hint::black_box(&text)).unwrap())
    });
    g.bench_function("for_all 1000 roles", |b| {
        b.iter(|| Report::for_all(std::hint::black_box(&parsed)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
