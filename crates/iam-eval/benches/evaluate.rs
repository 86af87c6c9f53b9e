//! The cost of one decision against 50 realistic policies (about five statements each, with
//! action and resource wildcards, policy variables and conditions), compiled once up front:
//!
//! * `identity_50`: 50 identity-based policies, everything known.
//! * `mixed_50`: 40 identity-based policies, a boundary, one session policy, SCPs at three levels,
//!   three RCP levels and two resource-based policies (50 in all), for a role session.
//! * `unknown_50`: the `identity_50` set with every unlisted key unknown (`Absent::Unknown`).
//! * `parse_50`: parsing and compiling the 50 documents (for scale; done once in practice).
//!
//! Budget: under 50 µs per decision (release). Medians:
//! `target/criterion/iam_eval/*/new/estimates.json` (`median.point_estimate`, ns).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches fail loudly by design

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_iam_eval::{Absent, Context, Policy, PolicySet, Principal, Request};
use serde_json::{Value, json};

const SERVICES: [(&str, &str); 10] = [
    ("s3", "arn:aws:s3:::team-{n}-data/*"),
    (
        "dynamodb",
        "arn:aws:dynamodb:*:111122223333:table/orders-{n}",
    ),
    ("sqs", "arn:aws:sqs:us-east-1:111122223333:queue-{n}-*"),
    ("sns", "arn:aws:sns:*:111122223333:topic-{n}"),
    (
        "lambda",
        "arn:aws:lambda:us-east-1:111122223333:function:svc-{n}-*",
    ),
    ("ec2", "arn:aws:ec2:*:111122223333:instance/*"),
    ("kms", "arn:aws:kms:us-east-1:111122223333:key/*"),
    ("logs", "arn:aws:logs:*:111122223333:log-group:/app/{n}/*"),
    (
        "secretsmanager",
        "arn:aws:secretsmanager:*:111122223333:secret:app-{n}-*",
    ),
    ("ssm", "arn:aws:ssm:*:111122223333:parameter/app/{n}/*"),
];

/// Policy `n`: five statements in the style of real customer-managed policies.
fn document(n: usize) -> Value {
    let (svc, res) = SERVICES[n % SERVICES.len()];
    let res = res.replace("{n}", &n.to_string());
    let (svc2, res2) = SERVICES[(n + 3) % SERVICES.len()];
    let res2 = res2.replace("{n}", &(n + 1).to_string());
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": format!("Read{n}"), "Effect": "Allow",
             "Action": [format!("{svc}:Get*"), format!("{svc}:List*"), format!("{svc}:Describe*")],
             "Resource": [res.clone(), format!("{res}/${{aws:username}}/*")]},
            {"Sid": format!("Write{n}"), "Effect": "Allow",
             "Action": [format!("{svc}:Put*"), format!("{svc}:Update*"), format!("{svc}:Create*")],
             "Resource": res,
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": format!("team-{n}")},
                           "Bool": {"aws:SecureTransport": "true"}}},
            {"Sid": format!("Office{n}"), "Effect": "Allow",
             "Action": format!("{svc2}:*"), "Resource": res2,
             "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                           "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
            {"Sid": format!("NoDelete{n}"), "Effect": "Deny",
             "Action": [format!("{svc}:Delete*"), format!("{svc2}:Delete*")], "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
            {"Sid": format!("Tags{n}"), "Effect": "Deny",
             "NotAction": ["iam:*", "sts:*"], "Resource": "*",
             "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["aws:*", "restricted-*"]},
                           "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}
        ]
    })
}

fn compile(docs: &[Value]) -> Vec<Policy> {
    docs.iter()
        .enumerate()
        .map(|(i, d)| Policy::from_json(&format!("policy-{i}"), d).expect("bench policy"))
        .collect()
}

fn context(absent: Absent) -> Context {
    let mut ctx = Context::with_absent(absent);
    ctx.set("aws:SourceIp", "203.0.113.50")
        .set("aws:SecureTransport", "true")
        .set("aws:CurrentTime", "2026-05-01T12:00:00Z")
        .set("aws:RequestedRegion", "us-east-1")
        .set("aws:PrincipalTag/team", "team-40")
        .set("aws:MultiFactorAuthPresent", "true");
    ctx
}

fn bench(c: &mut Criterion) {
    let docs: Vec<Value> = (0..50).map(document).collect();
    let identity = PolicySet::identity(compile(&docs));
    let user = Principal::from_arn("arn:aws:iam::111122223333:user/alice").expect("principal");
    let known = context(Absent::Missing);
    let unknown = context(Absent::Unknown);
    // Matches policy 40 (s3, statement Write40) late in the list.
    let req = Request::new(
        &user,
        "s3:PutObject",
        "arn:aws:s3:::team-40-data/reports/q1.csv",
        &known,
    );
    assert!(
        identity.evaluate(&req).decision.is_allow(),
        "{}",
        identity.evaluate(&req)
    );

    let mut mixed = PolicySet::identity(compile(&docs[..40]));
    let mut rest = compile(&docs[40..]).into_iter();
    mixed.boundary = rest.next();
    mixed.session = Some(rest.next().into_iter().collect());
    let full = || {
        Policy::parse("FullAWSAccess", r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).expect("full")
    };
    mixed.scps = Some(vec![
        vec![full()],
        vec![full(), rest.next().expect("scp")],
        vec![full()],
    ]);
    mixed.rcps = Some(vec![vec![full()], vec![full()], vec![full()]]);
    mixed.resource = vec![
        Policy::parse(
            "bucket",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"s3:*","Resource":"arn:aws:s3:::team-40-data/*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        )
        .expect("bucket"),
        rest.next().expect("resource"),
    ];
    let session = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/app/worker-7")
        .expect("session");
    let mixed_req = Request::new(
        &session,
        "s3:GetObject",
        "arn:aws:s3:::team-40-data/reports/q1.csv",
        &known,
    );
    let unknown_req = Request::new(
        &user,
        "s3:PutObject",
        "arn:aws:s3:::team-40-data/reports/q1.csv",
        &unknown,
    );

    let mut group = c.benchmark_group("iam_eval");
    group.bench_function("identity_50", |b| {
        b.iter(|| black_box(identity.evaluate(black_box(&req))))
    });
    group.bench_function("mixed_50", |b| {
        b.iter(|| black_box(mixed.evaluate(black_box(&mixed_req))))
    });
    group.bench_function("unknown_50", |b| {
        b.iter(|| black_box(identity.evaluate(black_box(&unknown_req))))
    });
    group.bench_function("parse_50", |b| {
        b.iter(|| black_box(compile(black_box(&docs))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
