//! Parse + validate + classify of typical commands, warm (models already decoded).
//! Target (issue 2): under 50 µs median per command on a release build.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_cli::{Command, DenyAll, Parser, Value};
use std::hint::black_box;

const COMMANDS: &[(&str, &str)] = &[
    ("sts", "aws sts get-caller-identity"),
    (
        "s3api",
        "aws s3api list-objects-v2 --bucket my-bucket --prefix logs/2024/ --max-items 100",
    ),
    (
        "ec2",
        "aws ec2 describe-instances --filters Name=instance-state-name,Values=running Name=tag:env,Values=prod --region eu-west-1 --query 'Reservations[].Instances[].InstanceId'",
    ),
    (
        "dynamodb",
        r#"aws dynamodb put-item --table-name Orders --item '{"pk":{"S":"order#1"},"total":{"N":"42"}}' --condition-expression 'attribute_not_exists(pk)'"#,
    ),
    (
        "iam",
        "aws iam create-role --role-name app --assume-role-policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[]}' --tags Key=env,Value=dev",
    ),
];

fn bench(c: &mut Criterion) {
    let parser = Parser::new(&DenyAll);
    let mut group = c.benchmark_group("parse_validate_classify");
    for (name, cmd) in COMMANDS {
        // Warm: the service model is decoded once, as in a running server.
        parser.parse(cmd).expect("benchmark command parses");
        group.bench_function(*name, |b| {
            b.iter(|| {
                let Ok(Command::Call(call)) = parser.parse(black_box(cmd)) else {
                    unreachable!()
                };
                let params = Value::Map(call.params.clone()).to_json();
                black_box(portcullis_classify::classify(
                    &call.service,
                    &call.operation,
                    &params,
                ))
            })
        });
    }
    group.finish();
    c.bench_function("cold_decode_ec2_model", |b| {
        b.iter(|| {
            let bytes: &'static [u8] = include_bytes!("../../model/data/models.pack");
            let models = portcullis_model::Models::from_bytes(bytes).expect("pack");
            black_box(models.service("ec2").expect("ec2").operations.len())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
