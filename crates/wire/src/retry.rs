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
//! * if the policy has one, withdraws from the [`RetryBudget`] shared across calls (every call
//!   deposits once, when its first attempt is made): retries are capped at a fraction of the
//!   calls, so retrying cannot multiply the load on a failing endpoint. A refusal stops with
//!   [`StopReason::BudgetExhausted`] and takes no quota tokens (nor does a quota refusal spend
//!   any budget);
//! * sleeps `min(rand[0,1) × base × 2^(n-1), max_backoff)` before retry `n` (full jitter;
//!   base 1 s, cap 20 s).
//!
//! In [`RetryMode::Adaptive`] every attempt first waits on a shared [`ClientRateLimiter`]
//! whose rate drops (CUBIC, β = 0.7) when the service throttles and grows back on success.
//!
//! [`RetryPolicy::from_aws_settings`] builds the policy the AWS CLI would use from
//! `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` and the profile's `retry_mode` / `max_attempts`.
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

pub use portcullis_resilience::budget::RetryBudget;

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
/// Clones share the [`RetryQuota`], the [`ClientRateLimiter`] and the [`RetryBudget`] (if
/// any): build one policy per client (per service and region, as the SDKs do) and clone it
/// into each call.
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
    budget: Option<Arc<RetryBudget>>,
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
            budget: None,
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

    /// Retries must also be paid for by `budget`, shared with every other policy (and call)
    /// given the same `Arc`. The budget can only stop retries earlier: `max_attempts`, the
    /// quota and the mode keep their meaning.
    pub fn with_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The retry budget shared across calls, if the policy has one.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.budget.as_ref()
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

/// The retry modes the AWS CLI accepts (`AWS_RETRY_MODE`, the profile's `retry_mode`).
pub const RETRY_MODES: &[&str] = &["standard", "adaptive", "legacy"];

/// Attempts in all in the AWS CLI's `legacy` mode when `max_attempts` is not set (botocore's
/// legacy handler: 4 retries).
pub const LEGACY_MAX_ATTEMPTS: u32 = 5;

/// A retry setting the AWS CLI would refuse (`AWS_MAX_ATTEMPTS=0`, `retry_mode = fast` ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retry setting: {setting} is {value:?}; {expected}")]
pub struct RetrySettingsError {
    /// Where the value came from: `AWS_MAX_ATTEMPTS (environment)`, `retry_mode in profile "dev"`.
    pub setting: String,
    /// The value as given.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl RetryPolicy {
    /// The policy the AWS CLI (v2) would use for these settings: `env` looks up an environment
    /// variable, `profile` a key of the profile named `profile_name` in the shared config file
    /// (`~/.aws/config`). Each setting is taken from `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS`, else
    /// from the profile's `retry_mode` / `max_attempts` (each on its own: the mode may come from
    /// the environment and the attempts from the profile); an empty value counts as unset.
    ///
    /// | mode | as | attempts when `max_attempts` is unset |
    /// |---|---|---|
    /// | `standard` (also when unset) | [`RetryPolicy::standard`] | 3 |
    /// | `adaptive` | [`RetryPolicy::adaptive`] | 3 |
    /// | `legacy` | standard mode's rules (there is no legacy handler here) | [`LEGACY_MAX_ATTEMPTS`] (5) |
    ///
    /// `max_attempts` counts every attempt, the first included, and must be a whole number of
    /// at least 1. Mode names are lower case, as the CLI wants them. Anything else is an error
    /// naming the variable or key, the value and what is accepted.
    pub fn from_aws_settings(
        env: impl Fn(&str) -> Option<String>,
        profile_name: &str,
        profile: impl Fn(&str) -> Option<String>,
    ) -> Result<RetryPolicy, RetrySettingsError> {
        let setting = |var: &str, key: &str| -> Option<(String, String)> {
            let given =
                |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            given(env(var))
                .map(|v| (format!("{var} (environment)"), v))
                .or_else(|| {
                    given(profile(key)).map(|v| {
                        (
                            format!("{key} in profile {profile_name:?} of the shared config file"),
                            v,
                        )
                    })
                })
        };
        let (mut policy, default_attempts) = match setting("AWS_RETRY_MODE", "retry_mode") {
            None => (RetryPolicy::standard(), 3),
            Some((_, mode)) if mode == "standard" => (RetryPolicy::standard(), 3),
            Some((_, mode)) if mode == "adaptive" => (RetryPolicy::adaptive(), 3),
            Some((_, mode)) if mode == "legacy" => (RetryPolicy::standard(), LEGACY_MAX_ATTEMPTS),
            Some((setting, value)) => {
                return Err(RetrySettingsError {
                    setting,
                    value,
                    expected: "accepted values: standard, adaptive, legacy",
                });
            }
        };
        policy.max_attempts = match setting("AWS_MAX_ATTEMPTS", "max_attempts") {
            None => default_attempts,
            Some((setting, value)) => match value.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(RetrySettingsError {
                        setting,
                        value,
                        expected: "accepted values: a whole number of 1 or more (attempts in all, the first one included)",
                    });
                }
            },
        };
        Ok(policy)
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

    /// Takes the cost of a retry after `kind`, and one retry from `budget` if given: both or
    /// neither. The quota is checked first (a quota refusal spends no budget); a budget
    /// refusal takes no tokens (the lock is held across the withdrawal, so no other call sees
    /// tokens that are about to be handed back).
    fn acquire(&self, kind: RetryKind, budget: Option<&RetryBudget>) -> Result<u32, StopReason> {
        let cost = if kind == RetryKind::Timeout {
            Self::TIMEOUT_RETRY_COST
        } else {
            Self::RETRY_COST
        };
        let mut a = self.lock();
        if *a < cost {
            return Err(StopReason::QuotaExhausted);
        }
        if let Some(budget) = budget
            && !budget.withdraw()
        {
            return Err(StopReason::BudgetExhausted);
        }
        *a -= cost;
        Ok(cost)
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
    /// The retry budget shared across calls could not pay for another retry: retries are
    /// capped at a fraction of calls.
    BudgetExhausted,
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
/// must be current). Sleeps with Tokio's timer. With a [`RetryBudget`], the call deposits
/// once (when its first attempt is made) and each retry withdraws first.
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
        if n == 1
            && let Some(budget) = &policy.budget
        {
            budget.deposit();
        }
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
        match policy.quota.acquire(kind, policy.budget.as_deref()) {
            Ok(cost) => last_cost = Some(cost),
            Err(stop) => {
                return RetryOutcome {
                    result,
                    attempts,
                    stop,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup over fixed `(name, value)` pairs.
    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn settings(
        env: &[(&str, &str)],
        profile: &[(&str, &str)],
    ) -> Result<RetryPolicy, RetrySettingsError> {
        RetryPolicy::from_aws_settings(lookup(env), "dev", lookup(profile))
    }

    fn mode_and_attempts(p: &RetryPolicy) -> (RetryMode, u32) {
        (p.mode, p.max_attempts)
    }

    #[test]
    fn nothing_set_is_standard_with_3_attempts() {
        let p = settings(&[], &[]).unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Standard, 3));
        // Empty values count as unset.
        let p = settings(
            &[("AWS_RETRY_MODE", ""), ("AWS_MAX_ATTEMPTS", " ")],
            &[("retry_mode", ""), ("max_attempts", "")],
        )
        .unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Standard, 3));
    }

    #[test]
    fn modes_and_their_default_attempts() {
        for (mode, want) in [
            ("standard", (RetryMode::Standard, 3)),
            ("adaptive", (RetryMode::Adaptive, 3)),
            ("legacy", (RetryMode::Standard, LEGACY_MAX_ATTEMPTS)),
        ] {
            let from_env = settings(&[("AWS_RETRY_MODE", mode)], &[]).unwrap();
            assert_eq!(mode_and_attempts(&from_env), want, "{mode} (env)");
            let from_profile = settings(&[], &[("retry_mode", mode)]).unwrap();
            assert_eq!(mode_and_attempts(&from_profile), want, "{mode} (profile)");
        }
        assert_eq!(LEGACY_MAX_ATTEMPTS, 5);
        // An explicit max_attempts wins over legacy's default.
        let p = settings(&[("AWS_RETRY_MODE", "legacy")], &[("max_attempts", "2")]).unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Standard, 2));
    }

    #[test]
    fn the_environment_wins_over_the_profile_setting_by_setting() {
        let p = settings(
            &[("AWS_RETRY_MODE", "adaptive"), ("AWS_MAX_ATTEMPTS", "7")],
            &[("retry_mode", "standard"), ("max_attempts", "2")],
        )
        .unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Adaptive, 7));
        // Each setting falls back to the profile on its own.
        let p = settings(
            &[("AWS_RETRY_MODE", "adaptive")],
            &[("retry_mode", "legacy"), ("max_attempts", "4")],
        )
        .unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Adaptive, 4));
        let p = settings(
            &[("AWS_MAX_ATTEMPTS", "1")],
            &[("retry_mode", "legacy"), ("max_attempts", "9")],
        )
        .unwrap();
        assert_eq!(mode_and_attempts(&p), (RetryMode::Standard, 1));
        // An empty variable does not hide the profile's value.
        let p = settings(&[("AWS_MAX_ATTEMPTS", "")], &[("max_attempts", "6")]).unwrap();
        assert_eq!(p.max_attempts, 6);
        // Surrounding blanks are ignored.
        let p = settings(&[("AWS_MAX_ATTEMPTS", " 8 ")], &[]).unwrap();
        assert_eq!(p.max_attempts, 8);
    }

    #[test]
    fn bad_values_are_errors_naming_the_setting_and_the_accepted_values() {
        for bad in ["0", "-1", "three", "2.5", "99999999999", "1e3"] {
            let e = settings(&[("AWS_MAX_ATTEMPTS", bad)], &[]).unwrap_err();
            assert_eq!(e.value, bad);
            let text = e.to_string();
            assert!(text.contains("AWS_MAX_ATTEMPTS"), "{text}");
            assert!(text.contains("whole number of 1 or more"), "{text}");

            let e = settings(&[], &[("max_attempts", bad)]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("max_attempts in profile \"dev\""), "{text}");
            assert!(!text.contains("AWS_MAX_ATTEMPTS"), "{text}");
        }
        for bad in ["Standard", "fast", "legacy2", "none"] {
            let e = settings(&[("AWS_RETRY_MODE", bad)], &[]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("AWS_RETRY_MODE"), "{text}");
            assert!(text.contains("standard, adaptive, legacy"), "{text}");
            assert!(text.contains(&format!("{bad:?}")), "{text}");
            let e = settings(&[], &[("retry_mode", bad)]).unwrap_err();
            assert!(
                e.setting.starts_with("retry_mode in profile \"dev\""),
                "{e}"
            );
        }
        // A bad profile value hidden by a good environment value is not looked at.
        assert!(settings(&[("AWS_MAX_ATTEMPTS", "2")], &[("max_attempts", "0")]).is_ok());
        assert!(settings(&[("AWS_RETRY_MODE", "standard")], &[("retry_mode", "x")]).is_ok());
    }
}
