//! Retries as the AWS SDKs' *standard* mode does them (and, optionally, *adaptive* mode's
//! client-side rate limiting).
//!
//! # Brief overview
//!
//! [`with_retries`] runs one attempt after another until an attempt succeeds, fails in a way
//! that is not worth retrying, or the [`RetryPolicy`] says stop. After each attempt a
//! classifier turns its result into a [`RetryKind`] ([`classify_error_code`],
//! [`classify_service_error`] and [`TransportError::is_transient`] hold the SDKs' lists).
//! Before a retry the policy
//!
//! * checks the attempt budget (`max_attempts`, 3 by default, counting the first);
//! * takes tokens from the shared [`RetryQuota`] (500 tokens; a retry costs 5, one after a
//!   timeout 10; a success without retries puts 1 back, a success after retries returns what
//!   the last retry took) — an exhausted quota stops retrying, so a failing service does not
//!   get hammered by every caller at once;
//! * sleeps `min(rand[0,1) × base × 2^(n-1), max_backoff)` before retry `n` (full jitter;
//!   base 1 s, cap 20 s).
//!
//! In [`RetryMode::Adaptive`] every attempt first waits on a shared [`ClientRateLimiter`]
//! whose rate drops (CUBIC, β = 0.7) when the service throttles and grows back on success.
//!
//! The outcome records each attempt and the delay before it ([`AttemptRecord`]), for tests
//! and metrics. Nothing here knows about HTTP beyond status codes and error codes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use portcullis_wire::retry::{with_retries, RetryKind, RetryPolicy};
//!
//! let policy = RetryPolicy::standard().with_base_delay(Duration::from_millis(1));
//! let outcome = with_retries(
//!     &policy,
//!     |r: &Result<u32, u32>| match r { Err(503) => RetryKind::Transient, Err(_) => RetryKind::NotRetryable, Ok(_) => RetryKind::Success },
//!     |attempt| async move { if attempt < 3 { Err(503) } else { Ok(200) } },
//! ).await;
//! assert_eq!(outcome.result, Ok(200));
//! assert_eq!(outcome.attempts.len(), 3);
//! # }
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::parse::ServiceError;
use crate::transport::TransportError;

/// Error codes that mean "slow down" (botocore's `_THROTTLED_ERROR_CODES`).
pub const THROTTLING_ERROR_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes that mean "try again" (botocore's `_TRANSIENT_ERROR_CODES`).
pub const TRANSIENT_ERROR_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
];

/// HTTP statuses retried whatever the error code (botocore's `_TRANSIENT_STATUS_CODES`).
pub const TRANSIENT_STATUS_CODES: &[u16] = &[500, 502, 503, 504];

/// What an attempt's result means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    /// Done: hand the result back.
    Success,
    /// A failure another attempt will not fix (validation, access denied, not found ...).
    NotRetryable,
    /// The service throttled us.
    Throttling,
    /// A transient service or network failure.
    Transient,
    /// A timeout (connect or read): retried, at a higher quota cost.
    Timeout,
}

impl RetryKind {
    fn is_retryable(self) -> bool {
        matches!(
            self,
            RetryKind::Throttling | RetryKind::Transient | RetryKind::Timeout
        )
    }
}

/// Classifies an error response by its status and error code (the standard-mode lists).
pub fn classify_error_code(status: u16, code: Option<&str>) -> RetryKind {
    if let Some(code) = code {
        if THROTTLING_ERROR_CODES.contains(&code) {
            return RetryKind::Throttling;
        }
        if TRANSIENT_ERROR_CODES.contains(&code) {
            return RetryKind::Transient;
        }
    }
    // As the SDKs: status alone decides only for these 5xx (a bare 429 is not retried;
    // services that throttle with 429 name a throttling code too).
    if TRANSIENT_STATUS_CODES.contains(&status) {
        return RetryKind::Transient;
    }
    RetryKind::NotRetryable
}

/// Classifies a parsed service error.
pub fn classify_service_error(e: &ServiceError) -> RetryKind {
    classify_error_code(e.status, Some(e.code.as_str()).filter(|c| !c.is_empty()))
}

/// Classifies a transport failure: connection problems and timeouts are retried.
pub fn classify_transport_error(e: &TransportError) -> RetryKind {
    if e.is_timeout() {
        RetryKind::Timeout
    } else if e.is_transient() {
        RetryKind::Transient
    } else {
        RetryKind::NotRetryable
    }
}

/// Standard or adaptive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryMode {
    #[default]
    Standard,
    /// Standard, plus a client-side rate limiter that backs off when throttled.
    Adaptive,
}

/// How many times to try, how long to wait in between, and the shared budgets.
///
/// Clones share the [`RetryQuota`] and the [`ClientRateLimiter`]: build one policy per
/// client (per service and region, as the SDKs do) and clone it into each call.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub mode: RetryMode,
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// Scale of the backoff: retry `n` waits up to `base_delay × 2^(n-1)`.
    pub base_delay: Duration,
    /// Cap on one backoff delay.
    pub max_backoff: Duration,
    /// Stop retrying when the next delay would end past this much time since the first
    /// attempt began (`None`: no bound besides the attempts).
    pub max_total: Option<Duration>,
    quota: Arc<RetryQuota>,
    limiter: Arc<ClientRateLimiter>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryPolicy {
    /// The SDKs' standard mode: 3 attempts, 1 s base, 20 s cap, a 500-token quota.
    pub fn standard() -> Self {
        Self {
            mode: RetryMode::Standard,
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            max_total: None,
            quota: Arc::new(RetryQuota::new(RetryQuota::INITIAL_TOKENS)),
            limiter: Arc::new(ClientRateLimiter::new()),
        }
    }

    /// The SDKs' adaptive mode: standard plus client-side rate limiting.
    pub fn adaptive() -> Self {
        Self {
            mode: RetryMode::Adaptive,
            ..Self::standard()
        }
    }

    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn with_base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    pub fn with_max_total(mut self, d: Duration) -> Self {
        self.max_total = Some(d);
        self
    }

    /// A quota of its own with this many tokens (instead of the shared 500).
    pub fn with_quota(mut self, tokens: u32) -> Self {
        self.quota = Arc::new(RetryQuota::new(tokens));
        self
    }

    /// The shared retry quota.
    pub fn quota(&self) -> &RetryQuota {
        &self.quota
    }

    /// The shared client-side rate limiter (used in adaptive mode only).
    pub fn rate_limiter(&self) -> &ClientRateLimiter {
        &self.limiter
    }

    /// The backoff before retry `n` (1 for the first retry), with the random factor `r`
    /// in [0, 1): `min(r × base × 2^(n-1), max_backoff)`.
    pub fn backoff(&self, retry: u32, r: f64) -> Duration {
        let exp = 2f64.powi(retry.saturating_sub(1).min(62) as i32);
        let secs = r.clamp(0.0, 1.0) * self.base_delay.as_secs_f64() * exp;
        let cap = self.max_backoff.as_secs_f64();
        Duration::from_secs_f64(if secs.is_finite() { secs.min(cap) } else { cap })
    }
}

/// The standard mode's retry token bucket, shared by all calls through one policy.
#[derive(Debug)]
pub struct RetryQuota {
    max: u32,
    available: Mutex<u32>,
}

impl RetryQuota {
    pub const INITIAL_TOKENS: u32 = 500;
    pub const RETRY_COST: u32 = 5;
    pub const TIMEOUT_RETRY_COST: u32 = 10;
    pub const NO_RETRY_INCREMENT: u32 = 1;

    pub fn new(tokens: u32) -> Self {
        Self {
            max: tokens,
            available: Mutex::new(tokens),
        }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u32> {
        // A poisoned lock only means a panic elsewhere mid-update of a plain integer.
        self.available.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the cost of a retry after `kind`; `None` when the quota cannot cover it.
    fn acquire(&self, kind: RetryKind) -> Option<u32> {
        let cost = if kind == RetryKind::Timeout {
            Self::TIMEOUT_RETRY_COST
        } else {
            Self::RETRY_COST
        };
        let mut a = self.lock();
        if *a < cost {
            return None;
        }
        *a -= cost;
        Some(cost)
    }

    fn release(&self, amount: u32) {
        let mut a = self.lock();
        *a = a.saturating_add(amount).min(self.max);
    }
}

/// One attempt, as [`with_retries`] saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub number: u32,
    /// The backoff slept before this attempt (zero for the first).
    pub backoff: Duration,
    /// The time the rate limiter held this attempt back (adaptive mode).
    pub rate_limited: Duration,
    /// How the attempt's result was classified.
    pub kind: RetryKind,
}

/// Why the retry loop stopped (besides success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The attempt succeeded.
    Succeeded,
    /// The error is not retryable.
    NotRetryable,
    /// `max_attempts` reached.
    MaxAttempts,
    /// The retry quota could not pay for another retry.
    QuotaExhausted,
    /// The next backoff would pass `max_total`.
    TimeBudget,
}

/// The last attempt's result and what happened on the way.
#[derive(Debug)]
pub struct RetryOutcome<T, E> {
    pub result: Result<T, E>,
    pub attempts: Vec<AttemptRecord>,
    pub stop: StopReason,
}

/// Runs `attempt(n)` (n = 1, 2, ...) under `policy`, classifying each result with `classify`.
///
/// Each attempt must build its request afresh (re-signing it: the signature's timestamp
/// must be current). Sleeps with Tokio's timer.
pub async fn with_retries<T, E, C, F, Fut>(
    policy: &RetryPolicy,
    classify: C,
    mut attempt: F,
) -> RetryOutcome<T, E>
where
    C: Fn(&Result<T, E>) -> RetryKind,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let max_attempts = policy.max_attempts.max(1);
    let mut attempts = Vec::new();
    let mut backoff = Duration::ZERO;
    // Tokens the last retry took, returned on success.
    let mut last_cost: Option<u32> = None;
    let mut n = 1;
    loop {
        let rate_limited = if policy.mode == RetryMode::Adaptive {
            policy.limiter.acquire().await
        } else {
            Duration::ZERO
        };
        let result = attempt(n).await;
        // The classifier has the last word: an `Ok` it calls retryable is retried, an
        // `Err` it calls a success ends the loop.
        let kind = classify(&result);
        if policy.mode == RetryMode::Adaptive {
            policy.limiter.update(kind == RetryKind::Throttling);
        }
        attempts.push(AttemptRecord {
            number: n,
            backoff,
            rate_limited,
            kind,
        });
        let stop = if kind == RetryKind::Success {
            policy
                .quota
                .release(last_cost.unwrap_or(RetryQuota::NO_RETRY_INCREMENT));
            Some(StopReason::Succeeded)
        } else if !kind.is_retryable() {
            Some(StopReason::NotRetryable)
        } else if n >= max_attempts {
            Some(StopReason::MaxAttempts)
        } else {
            None
        };
        if let Some(stop) = stop {
            return RetryOutcome {
                result,
                attempts,
                stop,
            };
        }
        let delay = policy.backoff(n, fastrand::f64());
        if let Some(total) = policy.max_total
            && started.elapsed().saturating_add(delay) > total
        {
            return RetryOutcome {
                result,
                attempts,
                stop: StopReason::TimeBudget,
            };
        }
        match policy.quota.acquire(kind) {
            Some(cost) => last_cost = Some(cost),
            None => {
                return RetryOutcome {
                    result,
                    attempts,
                    stop: StopReason::QuotaExhausted,
                };
            }
        }
        drop(result);
        tokio::time::sleep(delay).await;
        backoff = delay;
        n += 1;
    }
}

/// Adaptive mode's client-side rate limiter (the SDKs' `ClientRateLimiter`): a token bucket
/// that is off until the first throttle, then refills at a rate CUBIC adjusts — cut to 70 %
/// of the measured send rate on throttling, grown back along a cubic curve on success.
#[derive(Debug)]
pub struct ClientRateLimiter {
    state: Mutex<LimiterState>,
    epoch: Instant,
}

#[derive(Debug)]
struct LimiterState {
    fill_rate: f64,
    max_capacity: f64,
    current_capacity: f64,
    last_timestamp: Option<f64>,
    enabled: bool,
    measured_tx_rate: f64,
    last_tx_rate_bucket: f64,
    request_count: u64,
    last_max_rate: f64,
    last_throttle_time: f64,
    time_window: f64,
}

impl ClientRateLimiter {
    const MIN_FILL_RATE: f64 = 0.5;
    const MIN_CAPACITY: f64 = 1.0;
    const SMOOTH: f64 = 0.8;
    const BETA: f64 = 0.7;
    const SCALE_CONSTANT: f64 = 0.4;
    /// Measured send rate is sampled in buckets of this many seconds.
    const BUCKET: f64 = 0.5;

    pub fn new() -> Self {
        let now = 0.0;
        Self {
            epoch: Instant::now(),
            state: Mutex::new(LimiterState {
                fill_rate: Self::MIN_FILL_RATE,
                max_capacity: Self::MIN_CAPACITY,
                current_capacity: 0.0,
                last_timestamp: None,
                enabled: false,
                measured_tx_rate: 0.0,
                last_tx_rate_bucket: (now / Self::BUCKET).floor() * Self::BUCKET,
                request_count: 0,
                last_max_rate: 0.0,
                last_throttle_time: now,
                time_window: 0.0,
            }),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether throttling has switched the limiter on.
    pub fn is_enabled(&self) -> bool {
        self.lock().enabled
    }

    /// The current send rate allowed, in requests per second.
    pub fn fill_rate(&self) -> f64 {
        self.lock().fill_rate
    }

    /// Waits for a send token; returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let mut s = self.lock();
                if !s.enabled {
                    return waited;
                }
                let now = self.now();
                s.refill(now);
                if s.current_capacity >= 1.0 {
                    s.current_capacity -= 1.0;
                    return waited;
                }
                Duration::from_secs_f64(((1.0 - s.current_capacity) / s.fill_rate).max(0.001))
            };
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// Records a response: `throttled` when the service throttled the attempt.
    pub fn update(&self, throttled: bool) {
        let now = self.now();
        let mut s = self.lock();
        s.update_measured_rate(now);
        let calculated = if throttled {
            let rate_to_use = if s.enabled {
                s.measured_tx_rate.min(s.fill_rate)
            } else {
                s.measured_tx_rate
            };
            s.last_max_rate = rate_to_use;
            s.time_window = ((s.last_max_rate * (1.0 - Self::BETA)) / Self::SCALE_CONSTANT).cbrt();
            s.last_throttle_time = now;
            s.enabled = true;
            rate_to_use * Self::BETA
        } else {
            let dt = now - s.last_throttle_time;
            Self::SCALE_CONSTANT * (dt - s.time_window).powi(3) + s.last_max_rate
        };
        let new_rate = calculated.min(2.0 * s.measured_tx_rate);
        s.refill(now);
        s.fill_rate = new_rate.max(Self::MIN_FILL_RATE);
        s.max_capacity = new_rate.max(Self::MIN_CAPACITY);
        s.current_capacity = s.current_capacity.min(s.max_capacity);
    }
}

impl Default for ClientRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LimiterState {
    fn refill(&mut self, now: f64) {
        if let Some(last) = self.last_timestamp {
            let fill = (now - last).max(0.0) * self.fill_rate;
            self.current_capacity = (self.current_capacity + fill).min(self.max_capacity);
        }
        self.last_timestamp = Some(now);
    }

    fn update_measured_rate(&mut self, now: f64) {
        let t_bucket = (now / ClientRateLimiter::BUCKET).floor() * ClientRateLimiter::BUCKET;
        self.request_count += 1;
        if t_bucket > self.last_tx_rate_bucket {
            let current_rate = self.request_count as f64 / (t_bucket - self.last_tx_rate_bucket);
            self.measured_tx_rate = current_rate * ClientRateLimiter::SMOOTH
                + self.measured_tx_rate * (1.0 - ClientRateLimiter::SMOOTH);
            self.request_count = 0;
            self.last_tx_rate_bucket = t_bucket;
        }
    }
}
