//! Standard-mode retries (and adaptive mode's rate limiter) against a scripted loopback
//! server: what is retried, how often, how long the backoffs may be (bounds only — no exact
//! timings), and how the shared retry quota stops retry storms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "transport_loopback.rs"]
mod loopback;

use std::sync::Arc;
use std::time::Duration;

use loopback::{Reply, Server};
use portcullis_wire::protocol::parse::{HttpResponse, ServiceError};
use portcullis_wire::retry::{
    RetryBudget, RetryKind, RetryOutcome, RetryPolicy, RetryQuota, StopReason,
    THROTTLING_ERROR_CODES, TRANSIENT_ERROR_CODES, classify_error_code, classify_service_error,
    classify_transport_error, with_retries,
};
use portcullis_wire::transport::{
    Limits, PreparedRequest, Transport, TransportConfig, TransportError,
};

const BASE: Duration = Duration::from_millis(10);

fn policy() -> RetryPolicy {
    RetryPolicy::standard()
        .with_base_delay(BASE)
        .with_max_backoff(Duration::from_millis(200))
}

fn limits() -> Limits {
    Limits {
        read_timeout: Duration::from_millis(300),
        deadline: Duration::from_secs(5),
        max_response_bytes: 1 << 16,
        ..Limits::default()
    }
}

/// The error code of a JSON-protocol error body (enough for these tests; the real code comes
/// from the protocol parsers' `ServiceError`).
fn json_code(resp: &HttpResponse) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    v.get("__type")?.as_str().map(str::to_string)
}

fn classify(r: &Result<HttpResponse, TransportError>) -> RetryKind {
    match r {
        Ok(resp) if resp.status < 300 => RetryKind::Success,
        Ok(resp) => classify_error_code(resp.status, json_code(resp).as_deref()),
        Err(e) => classify_transport_error(e),
    }
}

async fn call(
    policy: &RetryPolicy,
    transport: &Transport,
    url: &str,
) -> portcullis_wire::retry::RetryOutcome<HttpResponse, TransportError> {
    with_retries(policy, classify, |_attempt| {
        // Each attempt builds (and would re-sign) its request afresh.
        let req = PreparedRequest::new("POST", url).with_body(&b"{}"[..]);
        let t = transport.clone();
        async move { t.send(req, &limits()).await }
    })
    .await
}

fn transport() -> Transport {
    // Loopback connects at once; a short connect timeout keeps the silent-server waits
    // (connect + read timeout on a fresh connection) short.
    Transport::new(TransportConfig {
        connect_timeout: Duration::from_millis(200),
        ..TransportConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn recovers_from_503_and_throttling_within_the_jitter_bounds() {
    let server = Server::start(vec![
        Reply::status(503, ""),
        Reply::json_error(400, "ThrottlingException"),
        Reply::status(200, "{}"),
    ])
    .await;
    let p = policy();
    let out = call(&p, &transport(), &server.url("/")).await;
    assert_eq!(out.result.as_ref().unwrap().status, 200);
    assert_eq!(out.stop, StopReason::Succeeded);
    let kinds: Vec<RetryKind> = out.attempts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            RetryKind::Transient,
            RetryKind::Throttling,
            RetryKind::Success
        ]
    );
    assert_eq!(server.requests().len(), 3);
    // Full jitter: retry n waits in [0, base × 2^(n-1)).
    assert_eq!(out.attempts[0].backoff, Duration::ZERO);
    assert!(
        out.attempts[1].backoff <= BASE,
        "{:?}",
        out.attempts[1].backoff
    );
    assert!(
        out.attempts[2].backoff <= BASE * 2,
        "{:?}",
        out.attempts[2].backoff
    );
    // The last retry's cost came back with the success: 500 - 5 - 5 + 5.
    assert_eq!(p.quota().available(), 495);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = Server::start(vec![Reply::status(503, "")]).await;
    let out = call(&policy(), &transport(), &server.url("/")).await;
    assert_eq!(out.attempts.len(), 3, "3 attempts in all by default");
    assert_eq!(out.stop, StopReason::MaxAttempts);
    assert_eq!(
        out.result.unwrap().status,
        503,
        "the last response is handed back"
    );
    assert_eq!(server.requests().len(), 3);

    let server = Server::start(vec![Reply::status(500, "")]).await;
    let out = call(
        &policy().with_max_attempts(5),
        &transport(),
        &server.url("/"),
    )
    .await;
    assert_eq!(out.attempts.len(), 5);

    let server = Server::start(vec![Reply::status(502, "")]).await;
    let out = call(
        &policy().with_max_attempts(1),
        &transport(),
        &server.url("/"),
    )
    .await;
    assert_eq!(out.attempts.len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for code in [
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
    ] {
        let server =
            Server::start(vec![Reply::json_error(400, code), Reply::status(200, "{}")]).await;
        let p = policy();
        let out = call(&p, &transport(), &server.url("/")).await;
        assert_eq!(out.attempts.len(), 1, "{code}");
        assert_eq!(out.stop, StopReason::NotRetryable);
        assert_eq!(out.result.unwrap().status, 400);
        assert_eq!(server.requests().len(), 1);
        assert_eq!(p.quota().available(), 500, "a refusal costs no quota");
    }
}

#[tokio::test]
async fn transient_error_codes_are_retried_whatever_the_status() {
    let server = Server::start(vec![
        Reply::json_error(400, "RequestTimeout"),
        Reply::json_error(429, "SlowDown"),
        Reply::status(200, "{}"),
    ])
    .await;
    let out = call(&policy(), &transport(), &server.url("/")).await;
    assert_eq!(out.attempts.len(), 3);
    assert_eq!(out.attempts[0].kind, RetryKind::Transient);
    assert_eq!(out.attempts[1].kind, RetryKind::Throttling);
}

#[tokio::test]
async fn quota_exhaustion_stops_retries() {
    let server = Server::start(vec![Reply::status(503, "")]).await;
    // 12 tokens pay for two retries (5 each).
    let p = policy().with_max_attempts(10).with_quota(12);
    let t = transport();
    let out = call(&p, &t, &server.url("/")).await;
    assert_eq!(out.attempts.len(), 3);
    assert_eq!(out.stop, StopReason::QuotaExhausted);
    assert_eq!(p.quota().available(), 2);

    // The quota is shared by the policy's clones: the next call gets no retry at all.
    let clone = p.clone();
    let out = call(&clone, &t, &server.url("/")).await;
    assert_eq!(out.attempts.len(), 1);
    assert_eq!(out.stop, StopReason::QuotaExhausted);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn successes_refill_the_quota_up_to_its_size() {
    let server = Server::start(vec![Reply::status(200, "{}")]).await;
    let p = policy().with_quota(12);
    let t = transport();
    let out = call(&p, &t, &server.url("/")).await;
    assert_eq!(out.attempts.len(), 1);
    assert_eq!(p.quota().available(), 12, "capped at the initial size");

    let flaky = Server::start(vec![Reply::status(503, ""), Reply::status(503, "")]).await;
    let _ = call(&p, &t, &flaky.url("/")).await;
    assert_eq!(p.quota().available(), 2);
    let out = call(&p, &t, &server.url("/")).await;
    assert_eq!(out.stop, StopReason::Succeeded);
    assert_eq!(
        p.quota().available(),
        3,
        "a success without retries adds one token"
    );
}

#[tokio::test]
async fn timeouts_are_retried_at_a_higher_quota_cost() {
    let server = Server::start(vec![Reply::Silent, Reply::status(200, "{}")]).await;
    let p = policy();
    let out = call(&p, &transport(), &server.url("/")).await;
    assert_eq!(out.attempts[0].kind, RetryKind::Timeout);
    assert_eq!(out.stop, StopReason::Succeeded);
    assert_eq!(out.attempts.len(), 2);
    // 10 taken for the timeout retry, returned on success.
    assert_eq!(p.quota().available(), 500);

    let quota_of_nine = policy().with_quota(9);
    let server = Server::start(vec![Reply::Silent, Reply::status(200, "{}")]).await;
    let out = call(&quota_of_nine, &transport(), &server.url("/")).await;
    assert_eq!(
        out.stop,
        StopReason::QuotaExhausted,
        "9 tokens cannot pay for a timeout retry"
    );
}

#[tokio::test]
async fn connection_errors_are_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let p = policy();
    let out = call(&p, &transport(), &format!("http://{addr}/")).await;
    assert_eq!(out.attempts.len(), 3);
    assert!(out.attempts.iter().all(|a| a.kind == RetryKind::Transient));
    assert!(matches!(out.result, Err(TransportError::Connect { .. })));
    assert_eq!(p.quota().available(), 490);
}

#[tokio::test]
async fn time_budget_stops_retries() {
    let p = policy()
        .with_max_attempts(10)
        .with_max_total(Duration::from_millis(4));
    let out = with_retries(
        &p,
        |r: &Result<(), u16>| {
            if r.is_ok() {
                RetryKind::Success
            } else {
                RetryKind::Transient
            }
        },
        |_| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Err::<(), u16>(503)
        },
    )
    .await;
    assert_eq!(out.attempts.len(), 1);
    assert_eq!(out.stop, StopReason::TimeBudget);
}

#[test]
fn backoff_is_full_jitter_exponential_and_capped() {
    let p = RetryPolicy::standard();
    assert_eq!(p.max_attempts, 3);
    assert_eq!(p.base_delay, Duration::from_secs(1));
    assert_eq!(p.max_backoff, Duration::from_secs(20));
    assert_eq!(p.backoff(1, 0.0), Duration::ZERO);
    assert_eq!(p.backoff(1, 0.5), Duration::from_millis(500));
    assert_eq!(p.backoff(3, 0.5), Duration::from_secs(2));
    assert_eq!(p.backoff(10, 0.99), Duration::from_secs(20), "capped");
    assert_eq!(
        p.backoff(u32::MAX, 1.0),
        Duration::from_secs(20),
        "no overflow"
    );
    for n in 1..8 {
        for _ in 0..200 {
            let d = p.backoff(n, fastrand_like());
            let bound = Duration::from_secs(1 << (n - 1)).min(Duration::from_secs(20));
            assert!(d <= bound, "retry {n}: {d:?} > {bound:?}");
        }
    }
}

/// A cheap deterministic spread over [0, 1) without another dependency.
fn fastrand_like() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: AtomicU64 = AtomicU64::new(1);
    let x = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn error_code_lists() {
    for code in THROTTLING_ERROR_CODES {
        assert_eq!(
            classify_error_code(400, Some(code)),
            RetryKind::Throttling,
            "{code}"
        );
    }
    for code in ["RequestTimeout", "RequestTimeoutException"] {
        assert_eq!(
            classify_error_code(400, Some(code)),
            RetryKind::Transient,
            "{code}"
        );
    }
    assert!(TRANSIENT_ERROR_CODES.contains(&"PriorRequestNotComplete"));
    for status in [500, 502, 503, 504] {
        assert_eq!(classify_error_code(status, None), RetryKind::Transient);
        assert_eq!(
            classify_error_code(status, Some("InternalError")),
            RetryKind::Transient
        );
    }
    assert_eq!(
        classify_error_code(429, Some("TooManyRequestsException")),
        RetryKind::Throttling
    );
    for (status, code) in [
        (400, "ValidationException"),
        (403, "AccessDenied"),
        (404, "NoSuchKey"),
        (501, "NotImplemented"),
    ] {
        assert_eq!(
            classify_error_code(status, Some(code)),
            RetryKind::NotRetryable,
            "{code}"
        );
    }
    let e = ServiceError {
        status: 400,
        code: "ProvisionedThroughputExceededException".into(),
        message: String::new(),
        request_id: None,
        host_id: None,
        kind: None,
        fields: Default::default(),
    };
    assert_eq!(classify_service_error(&e), RetryKind::Throttling);
    assert_eq!(RetryQuota::INITIAL_TOKENS, 500);
    assert_eq!(
        (RetryQuota::RETRY_COST, RetryQuota::TIMEOUT_RETRY_COST),
        (5, 10)
    );
}

#[tokio::test]
async fn adaptive_mode_switches_the_rate_limiter_on_when_throttled() {
    let server = Server::start(vec![
        Reply::json_error(400, "ThrottlingException"),
        Reply::status(200, "{}"),
    ])
    .await;
    let p = RetryPolicy::adaptive()
        .with_base_delay(BASE)
        .with_max_backoff(Duration::from_millis(200));
    assert!(
        !p.rate_limiter().is_enabled(),
        "off until the first throttle"
    );
    let out = call(&p, &transport(), &server.url("/")).await;
    assert_eq!(out.stop, StopReason::Succeeded);
    assert!(p.rate_limiter().is_enabled());
    assert_eq!(out.attempts[0].rate_limited, Duration::ZERO);
    // With no send rate measured yet the limiter starts at its minimum, 0.5 requests/s:
    // the retry waits for a token (up to 2 s) on top of its backoff.
    let held = out.attempts[1].rate_limited;
    assert!(
        held > Duration::ZERO && held <= Duration::from_millis(2100),
        "{held:?}"
    );
    assert!(
        p.rate_limiter().fill_rate() >= 0.5,
        "never below the minimum rate"
    );

    // Standard mode leaves the limiter alone.
    let server = Server::start(vec![
        Reply::json_error(400, "ThrottlingException"),
        Reply::status(200, "{}"),
    ])
    .await;
    let s = policy();
    let _ = call(&s, &transport(), &server.url("/")).await;
    assert!(!s.rate_limiter().is_enabled());
}

#[test]
fn adaptive_rate_drops_on_throttling_and_recovers_on_success() {
    let limiter = portcullis_wire::retry::ClientRateLimiter::new();
    // Build up a measured send rate, then throttle.
    for _ in 0..50 {
        limiter.update(false);
    }
    limiter.update(true);
    let after_throttle = limiter.fill_rate();
    limiter.update(true);
    let after_second = limiter.fill_rate();
    assert!(
        after_second <= after_throttle,
        "{after_second} > {after_throttle}"
    );
    assert!(after_second >= 0.5);
}

// --- The retry budget shared across calls ---

/// A quick policy for the budget tests: no real waiting, a quota too large to matter.
fn budget_policy() -> RetryPolicy {
    RetryPolicy::standard()
        .with_base_delay(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(1))
        .with_quota(1_000_000)
}

/// A call whose attempts all fail with `ThrottlingException` (`fail_first` of them, then
/// succeed); counts the attempts made.
async fn scripted_call(
    policy: &RetryPolicy,
    fail_first: u32,
    attempts_made: &mut u32,
) -> RetryOutcome<(), &'static str> {
    with_retries(
        policy,
        |r: &Result<(), &str>| match r {
            Ok(()) => RetryKind::Success,
            Err(code) => classify_error_code(400, Some(code)),
        },
        |n| {
            *attempts_made += 1;
            async move {
                if n <= fail_first {
                    Err("ThrottlingException")
                } else {
                    Ok(())
                }
            }
        },
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn the_budget_caps_retries_at_a_tenth_of_the_calls() {
    // Without a budget: 100 always-throttled calls make 3 attempts each.
    let unbudgeted = budget_policy();
    let mut attempts = 0;
    for _ in 0..100 {
        let out = scripted_call(&unbudgeted, u32::MAX, &mut attempts).await;
        assert_eq!(out.stop, StopReason::MaxAttempts);
    }
    assert_eq!(attempts, 300);

    // With a budget of 10 % (no reserve, 10 s of calls): each call deposits a tenth of a
    // retry, so every tenth call can pay for one retry and no call for two.
    let budget = Arc::new(RetryBudget::new(0.1, 0, Duration::from_secs(10)).unwrap());
    let policy = budget_policy().with_budget(budget.clone());
    let quota_before = policy.quota().available();
    let mut attempts = 0;
    let mut stops = Vec::new();
    for _ in 0..100 {
        // A clone per call, as the engine does: the budget is shared.
        let out = scripted_call(&policy.clone(), u32::MAX, &mut attempts).await;
        assert_eq!(out.result, Err("ThrottlingException"));
        stops.push((out.attempts.len(), out.stop));
    }
    let extra = attempts - 100;
    assert!(
        extra <= 100 / 10,
        "{extra} retries for 100 calls with a 10 % budget"
    );
    assert_eq!(attempts, 110);
    assert_eq!(budget.withdrawn_total(), 10);
    // Every call asked once more than it got.
    assert_eq!(budget.refused_total(), 100);
    assert!(
        stops
            .iter()
            .all(|&(_, stop)| stop == StopReason::BudgetExhausted),
        "{stops:?}"
    );
    for (i, &(n, _)) in stops.iter().enumerate() {
        let want = if (i + 1) % 10 == 0 { 2 } else { 1 };
        assert_eq!(n, want, "call {}", i + 1);
    }
    // Only the 10 retries made took quota tokens; the 100 refusals took none.
    assert_eq!(
        policy.quota().available(),
        quota_before - 10 * RetryQuota::RETRY_COST
    );
}

#[tokio::test(start_paused = true)]
async fn the_budget_reserve_adds_min_per_sec_times_ttl_retries() {
    // 1 retry a second over 2 s in reserve, plus 10 % of 20 calls: 2 + 2 retries.
    let budget = Arc::new(RetryBudget::new(0.1, 1, Duration::from_secs(2)).unwrap());
    let policy = budget_policy().with_budget(budget.clone());
    let mut attempts = 0;
    for _ in 0..20 {
        let _ = scripted_call(&policy, u32::MAX, &mut attempts).await;
    }
    assert_eq!(attempts - 20, 4);
    assert_eq!(budget.withdrawn_total(), 4);
}

#[tokio::test(start_paused = true)]
async fn successful_calls_deposit_and_never_withdraw() {
    let budget = Arc::new(RetryBudget::new(0.1, 0, Duration::from_secs(10)).unwrap());
    let policy = budget_policy().with_budget(budget.clone());
    assert!(Arc::ptr_eq(policy.clone().budget().unwrap(), &budget));
    let mut attempts = 0;
    for _ in 0..19 {
        let out = scripted_call(&policy, 0, &mut attempts).await;
        assert_eq!(out.stop, StopReason::Succeeded);
    }
    assert_eq!(attempts, 19);
    assert_eq!(budget.withdrawn_total(), 0);
    assert_eq!(budget.refused_total(), 0);

    // A refusal that is not retryable does not withdraw either.
    let out = with_retries(
        &policy,
        |_: &Result<(), ()>| RetryKind::NotRetryable,
        |_| async { Err(()) },
    )
    .await;
    assert_eq!(out.stop, StopReason::NotRetryable);
    assert_eq!((budget.withdrawn_total(), budget.refused_total()), (0, 0));

    // Those 20 deposits (and this call's own) pay for two retries: a call that fails twice
    // then succeeds gets through, having withdrawn exactly its two retries.
    let mut attempts = 0;
    let out = scripted_call(&policy, 2, &mut attempts).await;
    assert_eq!(out.stop, StopReason::Succeeded);
    assert_eq!(attempts, 3);
    assert_eq!((budget.withdrawn_total(), budget.refused_total()), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_stops_with_budget_exhausted() {
    // Ratio 0 and no reserve: nothing ever pays for a retry.
    let budget = Arc::new(RetryBudget::new(0.0, 0, Duration::from_secs(1)).unwrap());
    let policy = budget_policy()
        .with_max_attempts(5)
        .with_budget(budget.clone());
    let quota_before = policy.quota().available();
    let mut attempts = 0;
    let out = scripted_call(&policy, u32::MAX, &mut attempts).await;
    assert_eq!(out.stop, StopReason::BudgetExhausted);
    assert_eq!(out.attempts.len(), 1);
    assert_eq!(out.attempts[0].kind, RetryKind::Throttling);
    assert_eq!(budget.refused_total(), 1);
    assert_eq!(policy.quota().available(), quota_before, "no quota leaked");

    // An exhausted quota stops first and spends no budget.
    let generous = Arc::new(RetryBudget::new(1000.0, 0, Duration::from_secs(1)).unwrap());
    let broke = budget_policy().with_quota(4).with_budget(generous.clone());
    let out = scripted_call(&broke, u32::MAX, &mut attempts).await;
    assert_eq!(out.stop, StopReason::QuotaExhausted);
    assert_eq!(
        (generous.withdrawn_total(), generous.refused_total()),
        (0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn max_attempts_still_bounds_a_call_within_the_budget() {
    // 1000 retries per call: the budget never refuses, max_attempts decides. (Adaptive mode is
    // left out: its rate limiter keeps time with `std::time::Instant` but sleeps on Tokio's
    // timer, so under paused time it would jump the clock past the budget's ttl.)
    let budget = Arc::new(RetryBudget::new(1000.0, 0, Duration::from_secs(10)).unwrap());
    for (policy, want) in [
        (budget_policy().with_budget(budget.clone()), 3),
        (
            budget_policy()
                .with_max_attempts(5)
                .with_budget(budget.clone()),
            5,
        ),
    ] {
        let mut attempts = 0;
        let out = scripted_call(&policy, u32::MAX, &mut attempts).await;
        assert_eq!(out.stop, StopReason::MaxAttempts);
        assert_eq!(attempts, want);
    }
    assert_eq!(budget.withdrawn_total(), 2 + 4);
    assert_eq!(budget.refused_total(), 0);
    assert!(RetryPolicy::standard().budget().is_none());
}
