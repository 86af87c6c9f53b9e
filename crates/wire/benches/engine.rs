//! The engine's overhead over the network floor, against moto server (scripts/bench-engine.sh
//! starts it and sets PORTCULLIS_BENCH_ENDPOINT). For each call: the whole engine (endpoint rules,
//! serialize, sign, send, parse) next to a raw HTTP exchange of the same, already signed request on
//! the same pooled transport. Target (issue 3): engine median at most 1.2x the raw median.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly by design

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_cli::{Command, DenyAll, Parser};
use portcullis_wire::credentials::{ChainSettings, Credentials, CredentialsProvider};
use portcullis_wire::execute::{Engine, EngineConfig};
use portcullis_wire::sign::{SigningOptions, sign};
use portcullis_wire::transport::{Limits, PreparedRequest, Transport, TransportConfig};

fn bench(c: &mut Criterion) {
    let endpoint = std::env::var("PORTCULLIS_BENCH_ENDPOINT").expect(
        "PORTCULLIS_BENCH_ENDPOINT is not set: run scripts/bench-engine.sh, which starts moto",
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "bench",
    );
    let provider = rt.block_on(async {
        CredentialsProvider::from_provider(creds.clone(), "bench", &ChainSettings::default())
    });
    let engine = Engine::new(
        EngineConfig {
            region: Some("us-east-1".into()),
            ..EngineConfig::default()
        },
        Some(provider),
    )
    .unwrap();
    let transport = Transport::new(TransportConfig::default()).unwrap();
    let limits = Limits::default();
    let parser = Parser::new(&DenyAll);
    rt.block_on(async {
        let Ok(Command::Call(mk)) = parser.parse(&format!(
            "aws s3api create-bucket --bucket bench-bucket --endpoint-url {endpoint}"
        )) else {
            panic!()
        };
        let _ = engine.execute(&mk, &DenyAll).await;
    });

    let cases = [
        (
            "sts_get_caller_identity",
            format!("aws sts get-caller-identity --endpoint-url {endpoint}"),
            {
                let mut r = PreparedRequest::new("POST", format!("{endpoint}/"))
                    .with_header(
                        "Content-Type",
                        "application/x-www-form-urlencoded; charset=utf-8",
                    )
                    .with_body("Action=GetCallerIdentity&Version=2011-06-15");
                sign(
                    &mut r,
                    &creds,
                    "us-east-1",
                    "sts",
                    SigningOptions::default(),
                    SystemTime::now(),
                )
                .unwrap();
                r
            },
        ),
        (
            "s3api_list_buckets",
            format!("aws s3api list-buckets --endpoint-url {endpoint}"),
            {
                let mut r = PreparedRequest::new("GET", format!("{endpoint}/"));
                sign(
                    &mut r,
                    &creds,
                    "us-east-1",
                    "s3",
                    SigningOptions::s3(),
                    SystemTime::now(),
                )
                .unwrap();
                r
            },
        ),
    ];
    let mut group = c.benchmark_group("moto");
    for (name, command, raw) in cases {
        let Ok(Command::Call(call)) = parser.parse(&command) else {
            panic!("{command}")
        };
        // Both must succeed before they are timed.
        rt.block_on(async {
            engine.execute(&call, &DenyAll).await.unwrap();
            let resp = transport.send(raw.clone(), &limits).await.unwrap();
            assert_eq!(
                resp.status,
                200,
                "raw {name}: {}",
                String::from_utf8_lossy(&resp.body)
            );
        });
        group.bench_function(format!("{name}/engine"), |b| {
            b.iter(|| {
                rt.block_on(async { black_box(engine.execute(&call, &DenyAll).await.unwrap()) })
            })
        });
        group.bench_function(format!("{name}/raw_http"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    black_box(transport.send(raw.clone(), &limits).await.unwrap())
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
