//! A circuit breaker per key (an endpoint: service + region), so that calls to an endpoint
//! that keeps failing fail fast instead of piling up behind timeouts.
//!
//! # Algorithm
//!
//! Each key's breaker is in one of three states:
//!
//! * **Closed**: calls pass. A [`Failure`] adds one to the consecutive failures, a
//!   [`Verdict::Success`] resets them to 0, [`Verdict::Neutral`] (a client error, say) does
//!   neither. At `failures_to_open` consecutive failures it **opens**.
//! * **Open**: [`Breakers::check`] refuses at once with [`Open`] (the reason and the time left).
//!   Once the cool-down has passed (checked lazily, on the next `check`) it is **half-open**.
//!   The first cool-down is `open_for`.
//! * **Half-open**: up to `probes` calls at a time pass as probes; others are refused. A probe
//!   success (`successes_to_close` of them) **closes** the breaker and resets the cool-down to
//!   `open_for`; a probe failure **reopens** it with the cool-down doubled, up to `max_open_for`.
//!
//! A [`Pass`] belongs to the state it was issued in: a result reported after the breaker has
//! moved on (a slow call that started while closed and ends while open) is ignored, so only
//! probes decide how a half-open breaker goes. A pass dropped without [`Breakers::record`]
//! counts as [`Verdict::Neutral`] and frees its probe slot.
//!
//! # Parameters and defaults ([`BreakerConfig`])
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `failures_to_open` | 5 | consecutive failures that open the breaker (≥ 1) |
//! | `open_for` | 5 s | first cool-down before half-open (> 0) |
//! | `max_open_for` | 60 s | cap of the doubled cool-down (≥ `open_for`, ≤ 1 day) |
//! | `probes` | 1 | concurrent probes while half-open (≥ 1) |
//! | `successes_to_close` | 1 | probe successes that close it (≥ 1) |
//!
//! # Bounded memory
//!
//! At most [`MAX_KEYS`] (10 000) breakers are kept. A new key at the cap first drops every
//! closed breaker with no failure and no probe out (it is the same as a new one); if there is
//! none, the least recently used closed breaker, and only then the least recently used of all.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::lock;

/// The most breakers a [`Breakers`] keeps (see the module docs for eviction).
pub const MAX_KEYS: usize = 10_000;

/// The longest cool-down [`Breakers::new`] accepts.
const MAX_COOL_DOWN: Duration = Duration::from_secs(24 * 60 * 60);

/// Failure messages are cut to this many characters (they may come from the network).
const MAX_REASON_CHARS: usize = 200;

/// A breaker's parameters; see the [module docs](self) for defaults and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open a closed breaker.
    pub failures_to_open: u32,
    /// The first cool-down (open → half-open).
    pub open_for: Duration,
    /// The cap of the doubled cool-down.
    pub max_open_for: Duration,
    /// Concurrent probes let through while half-open.
    pub probes: u32,
    /// Probe successes that close a half-open breaker.
    pub successes_to_close: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures_to_open: 5,
            open_for: Duration::from_secs(5),
            max_open_for: Duration::from_secs(60),
            probes: 1,
            successes_to_close: 1,
        }
    }
}

impl BreakerConfig {
    /// Checks the fields are in range (use on configuration a user wrote).
    pub fn validate(&self) -> Result<(), String> {
        if self.failures_to_open == 0 {
            return Err("circuit breaker: failures_to_open must be at least 1".into());
        }
        if self.probes == 0 {
            return Err("circuit breaker: probes must be at least 1".into());
        }
        if self.successes_to_close == 0 {
            return Err("circuit breaker: successes_to_close must be at least 1".into());
        }
        if self.open_for.is_zero() {
            return Err("circuit breaker: open_for must be positive".into());
        }
        if self.max_open_for < self.open_for {
            return Err(format!(
                "circuit breaker: max_open_for ({:?}) must be at least open_for ({:?})",
                self.max_open_for, self.open_for
            ));
        }
        if self.max_open_for > MAX_COOL_DOWN {
            return Err("circuit breaker: max_open_for must be at most one day".into());
        }
        Ok(())
    }

    /// Out-of-range fields pulled into range (what [`Breakers::new`] does instead of panicking).
    fn sanitized(self) -> BreakerConfig {
        let default = BreakerConfig::default();
        let open_for = if self.open_for.is_zero() {
            default.open_for
        } else {
            self.open_for
        };
        let open_for = open_for.min(MAX_COOL_DOWN);
        BreakerConfig {
            failures_to_open: self.failures_to_open.max(1),
            open_for,
            max_open_for: self.max_open_for.clamp(open_for, MAX_COOL_DOWN),
            probes: self.probes.max(1),
            successes_to_close: self.successes_to_close.max(1),
        }
    }
}

/// How a call through a breaker went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The endpoint answered properly.
    Success,
    /// The endpoint failed.
    Failure(Failure),
    /// Says nothing about the endpoint's health (a 4xx client error): neither opens nor closes.
    Neutral,
}

/// An endpoint failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An HTTP 5xx status.
    ServerError(u16),
    /// Throttled, with the AWS error code (e.g. `ThrottlingException`).
    Throttled(String),
    /// The call timed out.
    Timeout,
    /// The connection failed (DNS, TCP, TLS), with a description.
    Connect(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ServerError(status) => write!(f, "HTTP {status}"),
            Failure::Throttled(code) => write!(f, "throttled ({code})"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connect(what) => write!(f, "connection failed: {what}"),
        }
    }
}

/// The refusal of [`Breakers::check`]: the breaker is open (or half-open with its probes out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The key whose breaker is open.
    pub key: String,
    /// Why, e.g. `5 consecutive failures, last: HTTP 503`.
    pub reason: String,
    /// How long until a probe may pass.
    pub retry_after: Duration,
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit open for {}: {}; retry after {} ms",
            self.key,
            self.reason,
            self.retry_after.as_millis()
        )
    }
}

impl std::error::Error for Open {}

/// A breaker's state, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Calls pass.
    Closed,
    /// Calls fail fast.
    Open,
    /// Probes pass.
    HalfOpen,
}

impl Status {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Closed => "closed",
            Status::Open => "open",
            Status::HalfOpen => "half_open",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One breaker in [`Breakers::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerState {
    /// The key.
    pub key: String,
    /// Closed, open or half-open.
    pub status: Status,
    /// Consecutive failures (while closed; kept as they were when it opened).
    pub consecutive_failures: u32,
    /// How many times it has opened (reopening from half-open included).
    pub opened_count: u64,
    /// The last failure, if any.
    pub last_failure: Option<String>,
    /// While open, the time until it turns half-open.
    pub until_half_open: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Closed,
    Open { since: Instant },
    HalfOpen { probes_out: u32, successes: u32 },
}

#[derive(Debug)]
struct Entry {
    mode: Mode,
    /// Changes at every state change; a pass only counts in the epoch it was issued in.
    epoch: u64,
    consecutive_failures: u32,
    opened_count: u64,
    last_failure: Option<String>,
    open_reason: String,
    /// The current cool-down (doubles on a failed probe, back to `open_for` on close).
    open_for: Duration,
    last_used: Instant,
}

impl Entry {
    fn is_pristine(&self) -> bool {
        self.mode == Mode::Closed && self.consecutive_failures == 0
    }

    /// Open → half-open once the cool-down has passed.
    fn refresh(&mut self, now: Instant, epochs: &mut u64) {
        if let Mode::Open { since } = self.mode
            && now.saturating_duration_since(since) >= self.open_for
        {
            self.mode = Mode::HalfOpen {
                probes_out: 0,
                successes: 0,
            };
            self.epoch = next_epoch(epochs);
        }
    }

    fn open(&mut self, now: Instant, reason: String, epochs: &mut u64) {
        self.mode = Mode::Open { since: now };
        self.epoch = next_epoch(epochs);
        self.opened_count = self.opened_count.saturating_add(1);
        self.open_reason = reason;
    }

    fn remaining(&self, now: Instant) -> Option<Duration> {
        match self.mode {
            Mode::Open { since } => Some(
                self.open_for
                    .saturating_sub(now.saturating_duration_since(since)),
            ),
            _ => None,
        }
    }
}

fn next_epoch(epochs: &mut u64) -> u64 {
    *epochs = epochs.wrapping_add(1);
    *epochs
}

#[derive(Debug)]
struct State {
    entries: HashMap<String, Entry>,
    /// Source of epochs, shared by all keys so a re-created entry never reuses one.
    epochs: u64,
}

#[derive(Debug)]
struct Inner {
    config: BreakerConfig,
    max_keys: usize,
    state: Mutex<State>,
}

/// A circuit breaker per key; see the [module docs](self).
#[derive(Debug)]
pub struct Breakers {
    inner: Arc<Inner>,
}

/// Permission to make one call, from [`Breakers::check`]: a pass while closed or a probe while
/// half-open. Give it back with [`Breakers::record`]; dropped, it counts as neutral.
#[derive(Debug)]
#[must_use = "a pass should be given back with Breakers::record"]
pub struct Pass {
    inner: Arc<Inner>,
    key: String,
    epoch: u64,
    probe: bool,
    /// The endpoint had failed at least once in a row when the pass was issued.
    failing: bool,
    done: bool,
}

impl Pass {
    /// Whether the endpoint is impaired: this is a half-open probe, or its last call failed.
    /// (A write to an impaired endpoint is refused rather than queued.)
    pub fn endpoint_impaired(&self) -> bool {
        self.probe || self.failing
    }

    /// The key this pass is for.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether this is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if !self.done {
            let _ = self
                .inner
                .record(&self.key, self.epoch, self.probe, &Verdict::Neutral);
        }
    }
}

impl Breakers {
    /// Breakers with `config` for every key, keeping at most [`MAX_KEYS`]. Check user-supplied
    /// configs with [`BreakerConfig::validate`]; out-of-range fields are pulled into range here.
    pub fn new(config: BreakerConfig) -> Self {
        Self::with_max_keys(config, MAX_KEYS)
    }

    /// As [`new`](Self::new) with another cap on the number of breakers (at least 1).
    pub fn with_max_keys(config: BreakerConfig, max_keys: usize) -> Self {
        Breakers {
            inner: Arc::new(Inner {
                config: config.sanitized(),
                max_keys: max_keys.max(1),
                state: Mutex::new(State {
                    entries: HashMap::new(),
                    epochs: 0,
                }),
            }),
        }
    }

    /// Lets a call to `key` through (closed, or as a half-open probe), or refuses it.
    pub fn check(&self, key: &str) -> Result<Pass, Open> {
        let config = &self.inner.config;
        let now = Instant::now();
        let mut guard = lock(&self.inner.state);
        let state = &mut *guard;
        if !state.entries.contains_key(key) {
            if state.entries.len() >= self.inner.max_keys {
                evict(&mut state.entries);
            }
            let entry = Entry {
                mode: Mode::Closed,
                epoch: next_epoch(&mut state.epochs),
                consecutive_failures: 0,
                opened_count: 0,
                last_failure: None,
                open_reason: String::new(),
                open_for: config.open_for,
                last_used: now,
            };
            state.entries.insert(key.to_owned(), entry);
        }
        let Some(entry) = state.entries.get_mut(key) else {
            return Err(Open {
                key: key.to_owned(),
                reason: String::new(),
                retry_after: config.open_for,
            });
        };
        entry.last_used = now;
        entry.refresh(now, &mut state.epochs);
        let probe = match &mut entry.mode {
            Mode::Closed => false,
            Mode::Open { .. } => {
                return Err(Open {
                    key: key.to_owned(),
                    reason: entry.open_reason.clone(),
                    retry_after: entry.remaining(now).unwrap_or_default(),
                });
            }
            Mode::HalfOpen { probes_out, .. } => {
                if *probes_out >= config.probes {
                    return Err(Open {
                        key: key.to_owned(),
                        reason: format!("{}; probe in progress", entry.open_reason),
                        retry_after: config.open_for.min(Duration::from_secs(1)),
                    });
                }
                *probes_out += 1;
                true
            }
        };
        Ok(Pass {
            inner: self.inner.clone(),
            key: key.to_owned(),
            epoch: entry.epoch,
            probe,
            failing: entry.consecutive_failures > 0,
            done: false,
        })
    }

    /// Reports how the call made with `pass` went; true when this opened (or reopened) the
    /// breaker.
    pub fn record(&self, mut pass: Pass, verdict: Verdict) -> bool {
        pass.done = true;
        self.inner
            .record(&pass.key, pass.epoch, pass.probe, &verdict)
    }

    /// Every breaker, sorted by key (open ones past their cool-down show as half-open).
    pub fn snapshot(&self) -> Vec<BreakerState> {
        let now = Instant::now();
        let mut guard = lock(&self.inner.state);
        let state = &mut *guard;
        let mut out: Vec<BreakerState> = state
            .entries
            .iter_mut()
            .map(|(key, entry)| {
                entry.refresh(now, &mut state.epochs);
                BreakerState {
                    key: key.clone(),
                    status: match entry.mode {
                        Mode::Closed => Status::Closed,
                        Mode::Open { .. } => Status::Open,
                        Mode::HalfOpen { .. } => Status::HalfOpen,
                    },
                    consecutive_failures: entry.consecutive_failures,
                    opened_count: entry.opened_count,
                    last_failure: entry.last_failure.clone(),
                    until_half_open: entry.remaining(now),
                }
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Whether any breaker is open or half-open.
    pub fn any_open(&self) -> bool {
        lock(&self.inner.state)
            .entries
            .values()
            .any(|e| e.mode != Mode::Closed)
    }
}

impl Inner {
    /// Applies a verdict; true when it opened (or reopened) the breaker.
    fn record(&self, key: &str, epoch: u64, probe: bool, verdict: &Verdict) -> bool {
        let config = &self.config;
        let now = Instant::now();
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let Some(entry) = state.entries.get_mut(key) else {
            return false;
        };
        if entry.epoch != epoch {
            // Issued in an earlier state (or for an evicted entry): stale.
            return false;
        }
        match (entry.mode, probe) {
            (Mode::Closed, false) => match verdict {
                Verdict::Success => entry.consecutive_failures = 0,
                Verdict::Neutral => {}
                Verdict::Failure(failure) => {
                    let failure = describe(failure);
                    entry.consecutive_failures = entry.consecutive_failures.saturating_add(1);
                    if entry.consecutive_failures >= config.failures_to_open {
                        let reason = format!(
                            "{} consecutive failures, last: {failure}",
                            entry.consecutive_failures
                        );
                        entry.open_for = config.open_for;
                        entry.open(now, reason, &mut state.epochs);
                        entry.last_failure = Some(failure);
                        return true;
                    }
                    entry.last_failure = Some(failure);
                }
            },
            (
                Mode::HalfOpen {
                    probes_out,
                    successes,
                },
                true,
            ) => {
                let probes_out = probes_out.saturating_sub(1);
                match verdict {
                    Verdict::Neutral => {
                        entry.mode = Mode::HalfOpen {
                            probes_out,
                            successes,
                        };
                    }
                    Verdict::Success => {
                        let successes = successes.saturating_add(1);
                        if successes >= config.successes_to_close {
                            entry.mode = Mode::Closed;
                            entry.epoch = next_epoch(&mut state.epochs);
                            entry.consecutive_failures = 0;
                            entry.open_for = config.open_for;
                        } else {
                            entry.mode = Mode::HalfOpen {
                                probes_out,
                                successes,
                            };
                        }
                    }
                    Verdict::Failure(failure) => {
                        let failure = describe(failure);
                        entry.open_for = entry.open_for.saturating_mul(2).min(config.max_open_for);
                        let reason = format!("half-open probe failed: {failure}");
                        entry.open(now, reason, &mut state.epochs);
                        entry.last_failure = Some(failure);
                        return true;
                    }
                }
            }
            // The epoch matches, so the mode is the one the pass was issued in.
            _ => {}
        }
        false
    }
}

/// A failure's text, cut to [`MAX_REASON_CHARS`].
fn describe(failure: &Failure) -> String {
    let text = failure.to_string();
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Makes room for one breaker: drops every pristine closed breaker, or else the least recently
/// used closed one, or else the least recently used of all.
fn evict(entries: &mut HashMap<String, Entry>) {
    let before = entries.len();
    entries.retain(|_, e| !e.is_pristine());
    if entries.len() < before {
        return;
    }
    let victim = entries
        .iter()
        .min_by_key(|(_, e)| (e.mode != Mode::Closed, e.last_used))
        .map(|(k, _)| k.clone());
    if let Some(key) = victim {
        entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn config(failures_to_open: u32, probes: u32, successes_to_close: u32) -> BreakerConfig {
        BreakerConfig {
            failures_to_open,
            open_for: secs(5),
            max_open_for: secs(60),
            probes,
            successes_to_close,
        }
    }

    fn fail(b: &Breakers, key: &str, failure: Failure) {
        let pass = b.check(key).unwrap();
        b.record(pass, Verdict::Failure(failure));
    }

    fn state(b: &Breakers, key: &str) -> BreakerState {
        b.snapshot().into_iter().find(|s| s.key == key).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn record_says_when_it_opened_the_breaker_and_passes_tell_impairment() {
        let b = Breakers::new(config(2, 1, 1));
        let first = b.check("k").unwrap();
        assert!(!first.endpoint_impaired());
        assert!(!b.record(first, Verdict::Failure(Failure::Timeout)));
        let second = b.check("k").unwrap();
        assert!(second.endpoint_impaired(), "its last call failed");
        assert!(
            b.record(second, Verdict::Failure(Failure::Timeout)),
            "the second failure opens it"
        );
        advance(secs(5)).await;
        let probe = b.check("k").unwrap();
        assert!(probe.is_probe() && probe.endpoint_impaired());
        assert!(
            b.record(probe, Verdict::Failure(Failure::ServerError(503))),
            "a failed probe reopens it"
        );
        advance(secs(10)).await;
        let probe = b.check("k").unwrap();
        assert!(!b.record(probe, Verdict::Success));
        assert!(
            !b.check("k").unwrap().endpoint_impaired(),
            "closed again, with no failure"
        );
    }

    #[test]
    fn config_validation() {
        assert_eq!(BreakerConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut BreakerConfig)| {
            let mut c = BreakerConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.failures_to_open = 0).contains("failures_to_open"));
        assert!(bad(|c| c.probes = 0).contains("probes"));
        assert!(bad(|c| c.successes_to_close = 0).contains("successes_to_close"));
        assert!(bad(|c| c.open_for = Duration::ZERO).contains("open_for"));
        assert!(bad(|c| c.max_open_for = secs(1)).contains("max_open_for"));
        assert!(bad(|c| c.max_open_for = Duration::MAX).contains("one day"));
        let s = BreakerConfig {
            max_open_for: Duration::MAX,
            probes: 0,
            ..Default::default()
        }
        .sanitized();
        assert_eq!(s.validate(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_fails_fast_with_a_reason() {
        let b = Breakers::new(config(3, 1, 1));
        fail(&b, "s3/us-east-1", Failure::Timeout);
        fail(&b, "s3/us-east-1", Failure::Throttled("SlowDown".into()));
        assert_eq!(state(&b, "s3/us-east-1").status, Status::Closed);
        assert!(!b.any_open());
        fail(&b, "s3/us-east-1", Failure::ServerError(503));
        let open = b.check("s3/us-east-1").unwrap_err();
        assert_eq!(open.key, "s3/us-east-1");
        assert_eq!(open.reason, "3 consecutive failures, last: HTTP 503");
        assert_eq!(open.retry_after, secs(5));
        assert!(b.any_open());
        let s = state(&b, "s3/us-east-1");
        assert_eq!(s.status, Status::Open);
        assert_eq!(s.status.as_str(), "open");
        assert_eq!((s.consecutive_failures, s.opened_count), (3, 1));
        assert_eq!(s.last_failure.as_deref(), Some("HTTP 503"));
        assert_eq!(s.until_half_open, Some(secs(5)));
        advance(secs(2)).await;
        assert_eq!(b.check("s3/us-east-1").unwrap_err().retry_after, secs(3));
        // Other keys are unaffected.
        assert!(b.check("s3/eu-west-1").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_and_neutral_does_not_count() {
        let b = Breakers::new(config(2, 1, 1));
        fail(&b, "k", Failure::Timeout);
        let pass = b.check("k").unwrap();
        b.record(pass, Verdict::Neutral);
        drop(b.check("k").unwrap()); // dropped: neutral too
        assert_eq!(state(&b, "k").consecutive_failures, 1);
        let pass = b.check("k").unwrap();
        b.record(pass, Verdict::Success);
        assert_eq!(state(&b, "k").consecutive_failures, 0);
        fail(&b, "k", Failure::Connect("refused".into()));
        assert_eq!(state(&b, "k").status, Status::Closed);
        fail(&b, "k", Failure::Connect("refused".into()));
        assert_eq!(state(&b, "k").status, Status::Open);
        assert_eq!(
            b.check("k").unwrap_err().reason,
            "2 consecutive failures, last: connection failed: refused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn half_opens_after_cool_down_and_limits_probes() {
        let b = Breakers::new(config(1, 2, 1));
        fail(&b, "k", Failure::Timeout);
        advance(Duration::from_millis(4999)).await;
        assert!(b.check("k").is_err());
        advance(Duration::from_millis(1)).await;
        assert_eq!(state(&b, "k").status, Status::HalfOpen);
        let p1 = b.check("k").unwrap();
        let p2 = b.check("k").unwrap();
        assert!(p1.is_probe() && p2.is_probe());
        let refused = b.check("k").unwrap_err();
        assert!(
            refused.reason.contains("probe in progress"),
            "{}",
            refused.reason
        );
        // A dropped probe frees its slot without deciding anything.
        drop(p1);
        assert_eq!(state(&b, "k").status, Status::HalfOpen);
        let p3 = b.check("k").unwrap();
        assert!(b.check("k").is_err());
        b.record(p2, Verdict::Neutral);
        assert_eq!(state(&b, "k").status, Status::HalfOpen);
        b.record(p3, Verdict::Success);
        assert_eq!(state(&b, "k").status, Status::Closed);
        assert!(!b.any_open());
        assert!(!b.check("k").unwrap().is_probe());
    }

    #[tokio::test(start_paused = true)]
    async fn probe_failure_reopens_with_doubled_cool_down_and_close_resets_it() {
        let b = Breakers::new(BreakerConfig {
            max_open_for: secs(12),
            ..config(1, 1, 1)
        });
        fail(&b, "k", Failure::ServerError(500));
        for expected in [10, 12, 12] {
            advance(b.check("k").unwrap_err().retry_after).await;
            let probe = b.check("k").unwrap();
            assert!(probe.is_probe());
            b.record(probe, Verdict::Failure(Failure::ServerError(502)));
            let open = b.check("k").unwrap_err();
            assert_eq!(open.retry_after, secs(expected));
            assert_eq!(open.reason, "half-open probe failed: HTTP 502");
        }
        assert_eq!(state(&b, "k").opened_count, 4);
        advance(secs(12)).await;
        let probe = b.check("k").unwrap();
        b.record(probe, Verdict::Success);
        assert_eq!(state(&b, "k").status, Status::Closed);
        // Closing reset the cool-down to open_for.
        fail(&b, "k", Failure::Timeout);
        assert_eq!(b.check("k").unwrap_err().retry_after, secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn several_successes_to_close() {
        let b = Breakers::new(config(1, 1, 3));
        fail(&b, "k", Failure::Timeout);
        advance(secs(5)).await;
        for _ in 0..2 {
            let probe = b.check("k").unwrap();
            assert!(probe.is_probe());
            b.record(probe, Verdict::Success);
            assert_eq!(state(&b, "k").status, Status::HalfOpen);
        }
        let probe = b.check("k").unwrap();
        b.record(probe, Verdict::Success);
        assert_eq!(state(&b, "k").status, Status::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_passes_are_ignored() {
        let b = Breakers::new(config(2, 1, 1));
        let slow = b.check("k").unwrap(); // issued while closed
        let slow2 = b.check("k").unwrap();
        fail(&b, "k", Failure::Timeout);
        fail(&b, "k", Failure::Timeout);
        advance(secs(5)).await;
        let probe = b.check("k").unwrap();
        // A closed-state success arriving while half-open does not close it...
        b.record(slow, Verdict::Success);
        assert_eq!(state(&b, "k").status, Status::HalfOpen);
        // ...nor does a stale failure count.
        b.record(probe, Verdict::Success);
        b.record(slow2, Verdict::Failure(Failure::Timeout));
        let s = state(&b, "k");
        assert_eq!((s.status, s.consecutive_failures), (Status::Closed, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn long_failure_text_is_cut() {
        let b = Breakers::new(config(1, 1, 1));
        fail(&b, "k", Failure::Connect("x".repeat(10_000)));
        let reason = b.check("k").unwrap_err().reason;
        assert!(reason.chars().count() < 300, "{}", reason.len());
        assert!(reason.ends_with('…'));
    }

    #[tokio::test(start_paused = true)]
    async fn table_is_bounded_and_keeps_open_breakers() {
        let b = Breakers::with_max_keys(config(1, 1, 1), 2);
        fail(&b, "bad", Failure::Timeout);
        drop(b.check("good").unwrap());
        drop(b.check("new").unwrap());
        let keys: Vec<String> = b.snapshot().into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["bad", "new"]);
        // No pristine entry left but "new": it goes, "bad" stays open.
        advance(secs(1)).await;
        drop(b.check("newer").unwrap());
        let keys: Vec<String> = b.snapshot().into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["bad", "newer"]);
        assert!(b.check("bad").is_err());
    }
}
