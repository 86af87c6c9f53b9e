//! The limits against a real (loopback) endpoint that fails on purpose: the fault server of
//! `portcullis-loadtest` stands in for an AWS endpoint that refuses connections, throttles every
//! call or answers 503, and the pipeline runs commands at it through [`Pipeline::stack`]. The
//! breaker must open and fail calls fast (without sending them), say so in `readiness` and the
//! metrics, and close again once the endpoint recovers; retries under a throttling storm must stay
//! within the shared budget.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[allow(dead_code)] // only `support::pipeline` is used here
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::pipeline::limits::{LimitKind, LimitSettings, Limits};
use portcullis::pipeline::stages::run;
use portcullis::pipeline::{Answer, Job, Outcome, Pipeline, Unobserved};
use portcullis_loadtest::faults::{FaultServer, Mode};
use portcullis_policy::Policy;
use portcullis_resilience::breaker::BreakerConfig;
use portcullis_wire::execute::EngineConfig;
use portcullis_wire::retry::RetryPolicy;

/// A pipeline sending everything to `url`, with `attempts` attempts per request (10 ms backoff)
/// and `settings` for its limits, the engine's retries drawing on the limits' budget.
fn pipeline(url: &str, attempts: u32, settings: LimitSettings) -> Arc<Pipeline> {
    let limits = Arc::new(Limits::new(settings));
    let config = EngineConfig {
        retry: RetryPolicy::standard()
            .with_max_attempts(attempts)
            .with_base_delay(Duration::from_millis(10))
            .with_budget(limits.retry_budget()),
        ..support::pipeline::engine_config(url)
    };
    let p = support::pipeline::pipeline(
        Policy::new(portcullis_policy::Mode::Unrestricted),
        config,
        "resilience",
    );
    Arc::new(p.with_shared_limits(limits))
}

async fn go(p: &Arc<Pipeline>, command: &str) -> Outcome {
    let a = p
        .assess(command)
        .unwrap_or_else(|r| panic!("{command}: {}", r.message));
    let stack = p.stack(None, Arc::new(Unobserved));
    let approve = portcullis::pipeline::stages::Refuse(|a| Answer::Approved(a.digest.clone()));
    run(&stack, Job::new(Arc::new(a), Arc::new(approve)))
        .await
        .outcome
}

fn metrics(p: &Pipeline) -> String {
    let mut m = String::new();
    p.limits().render_metrics(&mut m);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_down_endpoint_opens_its_breaker_fails_fast_and_recovers() {
    let faults = FaultServer::start(Mode::Refuse).await.unwrap();
    let settings = LimitSettings {
        breaker: BreakerConfig {
            failures_to_open: 3,
            open_for: Duration::from_millis(400),
            ..BreakerConfig::default()
        },
        ..LimitSettings::default()
    };
    let p = pipeline(&faults.url(), 1, settings);
    assert!(p.limits().readiness().is_ok());
    for i in 0..3 {
        match go(&p, "aws sqs list-queues").await {
            Outcome::Ran(e) => {
                assert!(!e.ok);
                assert_eq!(e.error_code.as_deref(), Some("connect"), "call {i}: {e:?}");
            }
            other => panic!("call {i}: {other:?}"),
        }
    }
    // Open: refused at once, with the reason and when to retry.
    let started = Instant::now();
    let out = go(&p, "aws sqs list-queues").await;
    let took = started.elapsed();
    let Outcome::Limited(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.kind, LimitKind::BreakerOpen);
    assert!(r.message.contains("sqs/us-east-1"), "{}", r.message);
    assert!(r.message.contains("connection failed"), "{}", r.message);
    assert!(took < Duration::from_millis(100), "fail fast took {took:?}");
    let degraded = p.limits().readiness().unwrap_err();
    assert!(degraded.contains("sqs/us-east-1 open"), "{degraded}");
    let m = metrics(&p);
    assert!(
        m.contains("portcullis_breaker_state{endpoint=\"sqs/us-east-1\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("portcullis_limit_refusals_total{kind=\"breaker_open\"} 1"),
        "{m}"
    );
    assert!(m.contains("portcullis_breaker_opened_total 1"), "{m}");
    // Another endpoint (another service) still runs: it reaches the server and fails on its own.
    assert!(matches!(
        go(&p, "aws sns list-topics").await,
        Outcome::Ran(_)
    ));

    // The endpoint comes back; after the cool-down a probe passes and closes the breaker.
    faults.set_mode(Mode::ok());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = go(&p, "aws sqs list-queues").await;
    assert!(matches!(&out, Outcome::Ran(e) if e.ok), "{out:?}");
    assert!(
        p.limits().readiness().is_ok(),
        "{:?}",
        p.limits().readiness()
    );
    let out = go(&p, "aws sqs list-queues").await;
    assert!(matches!(&out, Outcome::Ran(e) if e.ok), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_storm_stays_within_the_retry_budget() {
    let faults = FaultServer::start(Mode::Throttle {
        latency: Duration::ZERO,
    })
    .await
    .unwrap();
    let settings = LimitSettings {
        // Keep the breaker out of it: this is about the retries.
        breaker: BreakerConfig {
            failures_to_open: 100_000,
            ..BreakerConfig::default()
        },
        retry_ratio: 0.1,
        retry_floor: 0,
        ..LimitSettings::default()
    };
    let p = pipeline(&faults.url(), 3, settings);
    let calls = 100;
    let mut attempts: u64 = 0;
    for _ in 0..calls {
        let out = go(&p, "aws sqs list-queues").await;
        let Outcome::Ran(e) = out else {
            panic!("{out:?}")
        };
        assert!(!e.ok);
        attempts += u64::from(e.attempts);
        assert_eq!(
            e.error_code.as_deref(),
            Some("ThrottlingException"),
            "{e:?}"
        );
    }
    let sent = faults.requests();
    // Without the budget: 3 attempts each (300). With it: the calls plus at most a tenth.
    assert!(sent >= calls, "{sent}");
    assert!(
        sent <= calls + calls / 10 + 1,
        "{sent} requests for {calls} calls"
    );
    // Failed calls count their attempts too (the retries metric and the audit read them).
    assert_eq!(attempts, sent);
    let m = metrics(&p);
    assert!(
        m.contains("portcullis_retry_budget_total{result=\"refused\"}"),
        "{m}"
    );
    // Throttling lowers the endpoint's concurrency limit from its start (32).
    let limit: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("portcullis_concurrency_limit{endpoint=\"sqs/us-east-1\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(limit < 32.0, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_storm_opens_the_breaker_without_sending_more() {
    let faults = FaultServer::start(Mode::Status {
        status: 503,
        latency: Duration::ZERO,
    })
    .await
    .unwrap();
    let p = pipeline(&faults.url(), 1, LimitSettings::default());
    for _ in 0..5 {
        let out = go(&p, "aws sqs list-queues").await;
        assert!(
            matches!(&out, Outcome::Ran(e) if e.http_status == Some(503)),
            "{out:?}"
        );
    }
    let before = faults.requests();
    for _ in 0..20 {
        let out = go(&p, "aws sqs list-queues").await;
        assert!(
            matches!(&out, Outcome::Limited(r) if r.kind == LimitKind::BreakerOpen),
            "{out:?}"
        );
    }
    assert_eq!(faults.requests(), before, "nothing was sent while open");
    // A write is refused the same way, before it reaches the endpoint.
    let out = go(&p, "aws sqs create-queue --queue-name q").await;
    assert!(
        matches!(&out, Outcome::Limited(r) if r.kind == LimitKind::BreakerOpen),
        "{out:?}"
    );
    assert_eq!(faults.requests(), before);
}
