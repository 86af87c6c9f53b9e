//! An adaptive concurrency limit per key and one over all keys, with a bounded FIFO queue, in
//! the manner of Netflix's concurrency-limits (AIMD limit, latency-aware).
//!
//! # Algorithm
//!
//! A call needs a slot in the global limit and one in its key's limit (a key is, say,
//! `"s3/us-east-1"`). [`AdaptiveLimiter::acquire`] grants both at once when both have room;
//! otherwise the call waits in one FIFO queue shared by all keys. When a slot frees, the queue
//! is scanned from the front and every waiter whose key has room is granted while the global
//! limit has room, so a waiter held back by its own (full) key does not block waiters for other
//! keys, and waiters of one key are served in arrival order. The queue is bounded twice: at most
//! `per_key.queue` waiters per key and `global.queue` in all; a call over either bound is shed
//! at once ([`ShedReason::QueueFull`]). A waiter not granted within the queue timeout (the
//! smaller of the two configs' `queue_timeout`) is shed with [`ShedReason::QueueTimeout`].
//! Dropping the `acquire` future at any point gives back its queue place, or its slots if they
//! were granted in the meantime.
//!
//! Each limit (global, and each key's) is adjusted by additive-increase/multiplicative-decrease
//! from the outcome the caller reports on the [`Permit`]:
//!
//! * a **drop** sets `limit ← max(min, ⌊limit × backoff⌋)`. A drop is [`Permit::overloaded`]
//!   (throttled, timed out, 5xx), a sample slower than `timeout`, or a [`Permit::success`]
//!   slower than `max(latency_tolerance × baseline, 5 ms)`;
//! * any other success, when the limit was in use (`in_flight × 2 ≥ limit`, counting the call
//!   itself), sets `limit ← min(max, limit + 1)`;
//! * [`Permit::ignore`] (a client error) and a permit dropped without an outcome change nothing.
//!
//! The global limit applies the decrease at most once per congestion event, as TCP does once
//! per window: a drop lowers it only if its call was granted after the previous decrease. Without
//! this, one key's burst of concurrent timeouts (say 20) would cut the server-wide limit by
//! 0.9²⁰ at once. Each key's limit follows the rule above per drop.
//!
//! The **baseline** is the minimum latency of the key's last 100 successful samples (slow ones
//! included, so that a lasting change of an endpoint's speed becomes the new baseline after 100
//! samples). The global limit judges a sample against the *key's* baseline (keys differ in
//! speed, so a global minimum would make every slow service look overloaded) with the global
//! config's `latency_tolerance` and `timeout`; raise the global tolerance (or set it to
//! infinity) to make the global limit react only to explicit overloads. A key whose limit has
//! fallen gets few slots and so reports few samples, while healthy keys keep growing the global
//! limit: one slow endpoint does not starve the others. The 5 ms floor keeps jitter on very fast
//! (loopback) calls from counting as drops. Once samples are fast again they are successes, and
//! the limit grows back by one per success while it is in use.
//!
//! [`Shed::retry_after`] estimates when the queue will have moved: the median of the last 100
//! successful latencies of the key (or of all keys, for the global queue; 1 s with no sample
//! yet) × (queued + 1) / limit, clamped to [100 ms, 30 s].
//!
//! # Parameters and defaults ([`LimitConfig`])
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `initial` | 20 | starting limit |
//! | `min` | 1 | the limit never falls below this (≥ 1) |
//! | `max` | 200 | the limit never grows above this |
//! | `backoff` | 0.9 | factor applied on a drop, in (0, 1) |
//! | `queue` | 64 | most waiters (per key, or in all for the global config); 0 = no queue |
//! | `queue_timeout` | 2 s | longest wait in the queue |
//! | `latency_tolerance` | 4.0 | a success slower than this × baseline is a drop (≥ 1) |
//! | `timeout` | 10 s | a sample slower than this is a drop |
//!
//! # Bounded memory
//!
//! At most [`MAX_KEYS`] (1 000) keys are tracked. A new key at the cap first drops every idle
//! key (nothing in flight or queued) whose limit is back at or above `initial` (it is the same as
//! a new one), or else the least recently used idle key. If every key is busy the call is shed
//! as [`QueueFull`](ShedReason::QueueFull) for the global scope.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::lock;

/// The most keys an [`AdaptiveLimiter`] tracks (see the module docs for eviction).
pub const MAX_KEYS: usize = 1_000;

/// How many recent successful latencies each limit keeps (for the baseline and the median).
pub const LATENCY_WINDOW: usize = 100;

/// A success faster than this is never a latency drop, whatever the baseline.
pub const LATENCY_FLOOR: Duration = Duration::from_millis(5);

/// The latency assumed for [`Shed::retry_after`] before any sample.
const DEFAULT_LATENCY: Duration = Duration::from_secs(1);
const MIN_RETRY_AFTER: Duration = Duration::from_millis(100);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Parameters of one adaptive limit; see the [module docs](self) for defaults and meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitConfig {
    /// Starting limit.
    pub initial: usize,
    /// Lowest limit (≥ 1).
    pub min: usize,
    /// Highest limit.
    pub max: usize,
    /// Multiplicative decrease on a drop, in (0, 1).
    pub backoff: f64,
    /// Most waiters in the queue (per key for the per-key config, in all for the global one).
    pub queue: usize,
    /// Longest wait in the queue.
    pub queue_timeout: Duration,
    /// A success slower than `latency_tolerance ×` baseline counts as a drop (≥ 1).
    pub latency_tolerance: f64,
    /// A sample slower than this counts as a drop.
    pub timeout: Duration,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            initial: 20,
            min: 1,
            max: 200,
            backoff: 0.9,
            queue: 64,
            queue_timeout: Duration::from_secs(2),
            latency_tolerance: 4.0,
            timeout: Duration::from_secs(10),
        }
    }
}

impl LimitConfig {
    /// Checks the fields are in range (use on configuration a user wrote).
    pub fn validate(&self) -> Result<(), String> {
        if self.min < 1 {
            return Err("concurrency limit: min must be at least 1".into());
        }
        if self.max < self.min {
            return Err(format!(
                "concurrency limit: max ({}) must be at least min ({})",
                self.max, self.min
            ));
        }
        if self.initial < self.min || self.initial > self.max {
            return Err(format!(
                "concurrency limit: initial ({}) must be between min ({}) and max ({})",
                self.initial, self.min, self.max
            ));
        }
        if !(self.backoff > 0.0 && self.backoff < 1.0) {
            return Err(format!(
                "concurrency limit: backoff must be between 0 and 1 (exclusive), got {}",
                self.backoff
            ));
        }
        // NaN fails this too.
        if self.latency_tolerance.is_nan() || self.latency_tolerance < 1.0 {
            return Err(format!(
                "concurrency limit: latency_tolerance must be at least 1, got {}",
                self.latency_tolerance
            ));
        }
        if self.timeout.is_zero() {
            return Err("concurrency limit: timeout must be positive".into());
        }
        Ok(())
    }

    /// The config with out-of-range fields pulled into range (what [`AdaptiveLimiter::new`]
    /// does instead of panicking).
    fn sanitized(self) -> LimitConfig {
        let min = self.min.max(1);
        let max = self.max.max(min);
        let default = LimitConfig::default();
        LimitConfig {
            initial: self.initial.clamp(min, max),
            min,
            max,
            backoff: if self.backoff > 0.0 && self.backoff < 1.0 {
                self.backoff
            } else {
                default.backoff
            },
            queue: self.queue,
            queue_timeout: self.queue_timeout,
            latency_tolerance: if self.latency_tolerance >= 1.0 {
                self.latency_tolerance
            } else {
                1.0
            },
            timeout: if self.timeout.is_zero() {
                default.timeout
            } else {
                self.timeout
            },
        }
    }
}

/// Which queue bound a call went over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueScope {
    /// The queue over all keys (or the key table is full of busy keys).
    Global,
    /// This key's share of the queue.
    Key(String),
}

/// Why a call was shed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShedReason {
    /// The queue was full; the call was refused at once.
    QueueFull(QueueScope),
    /// The call waited the whole queue timeout without getting a slot.
    QueueTimeout,
    /// No slot was free and the call may not wait ([`AdaptiveLimiter::try_acquire`]).
    NoSlot,
}

/// A call refused by [`AdaptiveLimiter::acquire`], with an estimate of when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shed {
    /// What was full.
    pub reason: ShedReason,
    /// A suggested wait before retrying, in [100 ms, 30 s].
    pub retry_after: Duration,
}

impl fmt::Display for Shed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            ShedReason::QueueFull(QueueScope::Global) => f.write_str("overloaded: queue full")?,
            ShedReason::QueueFull(QueueScope::Key(key)) => {
                write!(f, "overloaded: queue full for {key}")?
            }
            ShedReason::QueueTimeout => {
                f.write_str("overloaded: timed out waiting in the queue")?
            }
            ShedReason::NoSlot => {
                f.write_str("overloaded: no free slot, and this call may not wait")?
            }
        }
        write!(f, "; retry after {} ms", self.retry_after.as_millis())
    }
}

impl std::error::Error for Shed {}

/// One limit's state in a [`LimiterSnapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitState {
    /// The current limit (the internal value rounded down).
    pub limit: usize,
    /// Calls holding a slot.
    pub in_flight: usize,
    /// Calls waiting.
    pub queued: usize,
}

/// A key's limit in a [`LimiterSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLimitState {
    /// The key.
    pub key: String,
    /// Its limit, calls in flight and waiting.
    pub state: LimitState,
}

/// What [`AdaptiveLimiter::snapshot`] reports (for metrics and health).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterSnapshot {
    /// The limit over all keys.
    pub global: LimitState,
    /// Each tracked key, sorted by key.
    pub keys: Vec<KeyLimitState>,
    /// Calls shed since the limiter was made (queue full or queue timeout).
    pub shed_total: u64,
}

/// One AIMD limit and its recent latencies.
#[derive(Debug)]
struct Aimd {
    limit: f64,
    /// The last [`LATENCY_WINDOW`] successful latencies, oldest first.
    samples: VecDeque<Duration>,
    /// When a drop last lowered the limit (for the once-per-window rule of the global limit).
    last_decrease: Option<Instant>,
}

/// One finished call, as the limits see it.
#[derive(Debug, Clone, Copy)]
struct Sample {
    outcome: Outcome,
    latency: Duration,
    granted_at: Instant,
    /// The key's baseline (before this sample).
    baseline: Option<Duration>,
}

impl Aimd {
    fn new(config: &LimitConfig) -> Self {
        Aimd {
            limit: config.initial as f64,
            samples: VecDeque::with_capacity(LATENCY_WINDOW),
            last_decrease: None,
        }
    }

    fn limit(&self) -> usize {
        self.limit as usize
    }

    fn baseline(&self) -> Option<Duration> {
        self.samples.iter().min().copied()
    }

    fn median(&self) -> Option<Duration> {
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    fn record_latency(&mut self, latency: Duration) {
        if self.samples.len() >= LATENCY_WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(latency);
    }

    /// Applies one sample. `in_flight` counts the call itself. With `once_per_window`, a drop
    /// lowers the limit only if the call was granted after the last decrease (calls that were
    /// already in flight then belong to the same congestion event).
    fn sample(
        &mut self,
        config: &LimitConfig,
        sample: Sample,
        in_flight: usize,
        once_per_window: bool,
    ) {
        let dropped = match sample.outcome {
            Outcome::Ignore => return,
            Outcome::Overloaded => true,
            Outcome::Success => {
                sample.latency > config.timeout || is_slow(config, sample.latency, sample.baseline)
            }
        };
        if dropped {
            let same_event = self.last_decrease.is_some_and(|at| sample.granted_at < at);
            if !(once_per_window && same_event) {
                self.limit = (self.limit * config.backoff).floor().max(config.min as f64);
                self.last_decrease = Some(Instant::now());
            }
        } else if (in_flight as f64) * 2.0 >= self.limit {
            self.limit = (self.limit + 1.0).min(config.max as f64);
        }
    }

    /// `median × (queued + 1) / limit`, clamped.
    fn retry_after(&self, queued: usize) -> Duration {
        let median = self.median().unwrap_or(DEFAULT_LATENCY).as_secs_f64();
        let secs = median * (queued as f64 + 1.0) / self.limit.max(1.0);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_RETRY_AFTER)
            .clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
    }
}

/// Whether a successful call's latency is a latency drop against `baseline`.
fn is_slow(config: &LimitConfig, latency: Duration, baseline: Option<Duration>) -> bool {
    let Some(baseline) = baseline else {
        return false;
    };
    if latency <= LATENCY_FLOOR {
        return false;
    }
    latency.as_secs_f64() > config.latency_tolerance * baseline.as_secs_f64()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Overloaded,
    Ignore,
}

#[derive(Debug)]
struct KeyEntry {
    aimd: Aimd,
    in_flight: usize,
    queued: usize,
    last_used: Instant,
}

impl KeyEntry {
    fn has_room(&self) -> bool {
        self.in_flight < self.aimd.limit()
    }

    fn is_idle(&self) -> bool {
        self.in_flight == 0 && self.queued == 0
    }
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    key: String,
    /// Receives the grant time.
    tx: oneshot::Sender<Instant>,
}

#[derive(Debug)]
struct State {
    global: Aimd,
    global_in_flight: usize,
    keys: HashMap<String, KeyEntry>,
    queue: VecDeque<Waiter>,
    next_id: u64,
    shed_total: u64,
}

#[derive(Debug)]
struct Inner {
    global: LimitConfig,
    per_key: LimitConfig,
    queue_timeout: Duration,
    max_keys: usize,
    state: Mutex<State>,
}

/// A concurrency limit per key and over all keys; see the [module docs](self).
#[derive(Debug)]
pub struct AdaptiveLimiter {
    inner: Arc<Inner>,
}

enum Enter {
    Granted(Instant),
    Queued(u64, oneshot::Receiver<Instant>),
    Shed(Shed),
}

impl AdaptiveLimiter {
    /// A limiter with `global` over all keys and `per_key` for each key, tracking at most
    /// [`MAX_KEYS`] keys. Check user-supplied configs with [`LimitConfig::validate`]; out-of-range
    /// fields are pulled into range here rather than panicking.
    pub fn new(global: LimitConfig, per_key: LimitConfig) -> Self {
        Self::with_max_keys(global, per_key, MAX_KEYS)
    }

    /// As [`new`](Self::new) with another cap on the number of keys (at least 1).
    pub fn with_max_keys(global: LimitConfig, per_key: LimitConfig, max_keys: usize) -> Self {
        let global = global.sanitized();
        let per_key = per_key.sanitized();
        let state = State {
            global: Aimd::new(&global),
            global_in_flight: 0,
            keys: HashMap::new(),
            queue: VecDeque::new(),
            next_id: 0,
            shed_total: 0,
        };
        AdaptiveLimiter {
            inner: Arc::new(Inner {
                queue_timeout: global.queue_timeout.min(per_key.queue_timeout),
                global,
                per_key,
                max_keys: max_keys.max(1),
                state: Mutex::new(state),
            }),
        }
    }

    /// Waits for a slot in the global limit and in `key`'s limit, in FIFO order. Refused at
    /// once when the queue is full, or after the queue timeout. Cancellation-safe: dropping the
    /// future gives back its queue place (or the slots, if granted meanwhile).
    pub async fn acquire(&self, key: &str) -> Result<Permit, Shed> {
        let (id, rx) = match self.inner.enter(key) {
            Enter::Granted(at) => return Ok(Permit::new(&self.inner, key, at)),
            Enter::Shed(shed) => return Err(shed),
            Enter::Queued(id, rx) => (id, rx),
        };
        let mut guard = Waiting {
            inner: &self.inner,
            id,
            key,
            armed: true,
        };
        let granted = match tokio::time::timeout(self.inner.queue_timeout, rx).await {
            Ok(Ok(at)) => Ok(at),
            // Timed out (or the sender vanished, which only removal from the queue does): the
            // grant may have raced the timer, so look under the lock.
            Ok(Err(_)) | Err(_) => self.inner.leave_queue(id, key),
        };
        guard.armed = false;
        granted.map(|at| Permit::new(&self.inner, key, at))
    }

    /// A slot now, or a refusal: never waits in the queue (a write to an impaired endpoint is
    /// refused fast rather than queued).
    pub fn try_acquire(&self, key: &str) -> Result<Permit, Shed> {
        match self.inner.enter_now(key) {
            Ok(at) => Ok(Permit::new(&self.inner, key, at)),
            Err(shed) => Err(shed),
        }
    }

    /// The limits, calls in flight and waiting, globally and per key, and the shed count.
    pub fn snapshot(&self) -> LimiterSnapshot {
        let state = lock(&self.inner.state);
        let mut keys: Vec<KeyLimitState> = state
            .keys
            .iter()
            .map(|(key, e)| KeyLimitState {
                key: key.clone(),
                state: LimitState {
                    limit: e.aimd.limit(),
                    in_flight: e.in_flight,
                    queued: e.queued,
                },
            })
            .collect();
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        LimiterSnapshot {
            global: LimitState {
                limit: state.global.limit(),
                in_flight: state.global_in_flight,
                queued: state.queue.len(),
            },
            keys,
            shed_total: state.shed_total,
        }
    }
}

impl Inner {
    /// Grants at once (both limits have room and nobody waits for this key), or sheds.
    fn enter_now(&self, key: &str) -> Result<Instant, Shed> {
        let now = Instant::now();
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let global_room = state.global_in_flight < state.global.limit();
        let (room, retry_after) = match state.keys.get(key) {
            Some(e) => (
                e.queued == 0 && e.has_room(),
                e.aimd.retry_after(e.queued + 1),
            ),
            None => (true, MIN_RETRY_AFTER),
        };
        if !(global_room && room) {
            return Err(count_shed(state, ShedReason::NoSlot, retry_after));
        }
        drop(guard);
        match self.enter(key) {
            Enter::Granted(at) => Ok(at),
            Enter::Shed(shed) => Err(shed),
            // Filled between the two looks: take the place back out and refuse.
            Enter::Queued(id, _rx) => {
                let mut guard = lock(&self.state);
                let state = &mut *guard;
                if unqueue(state, id, key) {
                    Err(count_shed(state, ShedReason::NoSlot, MIN_RETRY_AFTER))
                } else {
                    // Granted meanwhile (a slot freed up): keep it.
                    Ok(now)
                }
            }
        }
    }

    /// Grants at once, queues, or sheds.
    fn enter(&self, key: &str) -> Enter {
        let now = Instant::now();
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if !state.keys.contains_key(key) {
            if state.keys.len() >= self.max_keys && !evict(state, &self.per_key) {
                let retry_after = state.global.retry_after(state.queue.len());
                return shed(
                    state,
                    ShedReason::QueueFull(QueueScope::Global),
                    retry_after,
                );
            }
            let entry = KeyEntry {
                aimd: Aimd::new(&self.per_key),
                in_flight: 0,
                queued: 0,
                last_used: now,
            };
            state.keys.insert(key.to_owned(), entry);
        }
        let global_room = state.global_in_flight < state.global.limit();
        let queue_len = state.queue.len();
        let Some(entry) = state.keys.get_mut(key) else {
            // Inserted above under the same lock.
            return shed(
                state,
                ShedReason::QueueFull(QueueScope::Global),
                MIN_RETRY_AFTER,
            );
        };
        entry.last_used = now;
        // After every change the queue holds only waiters that cannot be granted (see
        // `dispatch`), so granting when both limits have room keeps FIFO order.
        if global_room && entry.has_room() {
            entry.in_flight += 1;
            state.global_in_flight += 1;
            return Enter::Granted(now);
        }
        if entry.queued >= self.per_key.queue {
            let retry_after = entry.aimd.retry_after(entry.queued);
            let reason = ShedReason::QueueFull(QueueScope::Key(key.to_owned()));
            return shed(state, reason, retry_after);
        }
        if queue_len >= self.global.queue {
            let retry_after = state.global.retry_after(queue_len);
            return shed(
                state,
                ShedReason::QueueFull(QueueScope::Global),
                retry_after,
            );
        }
        entry.queued += 1;
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        let (tx, rx) = oneshot::channel();
        state.queue.push_back(Waiter {
            id,
            key: key.to_owned(),
            tx,
        });
        Enter::Queued(id, rx)
    }

    /// Called by a waiter that stopped waiting (timeout): takes it out of the queue and sheds,
    /// or, if it was granted meanwhile, returns the grant.
    fn leave_queue(&self, id: u64, key: &str) -> Result<Instant, Shed> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if unqueue(state, id, key) {
            let retry_after = state
                .keys
                .get(key)
                .map_or(MIN_RETRY_AFTER, |e| e.aimd.retry_after(e.queued));
            Err(count_shed(state, ShedReason::QueueTimeout, retry_after))
        } else {
            Ok(Instant::now())
        }
    }

    /// A waiter's future was dropped: give back its queue place, or its slots if granted.
    fn abandon(&self, id: u64, key: &str) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if !unqueue(state, id, key) {
            free_slots(state, key);
            dispatch(state);
        }
    }

    /// A permit ended: free its slots, apply the sample, and grant waiters.
    fn release(&self, key: &str, outcome: Outcome, granted_at: Instant) {
        let latency = Instant::now().saturating_duration_since(granted_at);
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let global_in_flight = state.global_in_flight;
        if let Some(entry) = state.keys.get_mut(key) {
            let sample = Sample {
                outcome,
                latency,
                granted_at,
                baseline: entry.aimd.baseline(),
            };
            entry
                .aimd
                .sample(&self.per_key, sample, entry.in_flight, false);
            state
                .global
                .sample(&self.global, sample, global_in_flight, true);
            if outcome == Outcome::Success {
                entry.aimd.record_latency(latency);
                state.global.record_latency(latency);
            }
        }
        free_slots(state, key);
        dispatch(state);
    }
}

fn shed(state: &mut State, reason: ShedReason, retry_after: Duration) -> Enter {
    Enter::Shed(count_shed(state, reason, retry_after))
}

fn count_shed(state: &mut State, reason: ShedReason, retry_after: Duration) -> Shed {
    state.shed_total = state.shed_total.saturating_add(1);
    Shed {
        reason,
        retry_after,
    }
}

/// Takes the waiter `id` out of the queue and gives back its place in `key`'s; false if it is no
/// longer queued (it was granted meanwhile).
fn unqueue(state: &mut State, id: u64, key: &str) -> bool {
    let Some(pos) = state.queue.iter().position(|w| w.id == id) else {
        return false;
    };
    state.queue.remove(pos);
    if let Some(entry) = state.keys.get_mut(key) {
        entry.queued = entry.queued.saturating_sub(1);
    }
    true
}

fn free_slots(state: &mut State, key: &str) {
    state.global_in_flight = state.global_in_flight.saturating_sub(1);
    if let Some(entry) = state.keys.get_mut(key) {
        entry.in_flight = entry.in_flight.saturating_sub(1);
    }
}

/// Grants, front to back, every waiter whose key has room while the global limit has room.
fn dispatch(state: &mut State) {
    let now = Instant::now();
    let mut i = 0;
    while i < state.queue.len() && state.global_in_flight < state.global.limit() {
        let room = state
            .keys
            .get(&state.queue[i].key)
            .is_some_and(KeyEntry::has_room);
        if !room {
            i += 1;
            continue;
        }
        let Some(waiter) = state.queue.remove(i) else {
            break;
        };
        if let Some(entry) = state.keys.get_mut(&waiter.key) {
            entry.queued = entry.queued.saturating_sub(1);
            entry.in_flight += 1;
            entry.last_used = now;
        }
        state.global_in_flight += 1;
        // If the receiver is gone, its future is being dropped and its guard will find the
        // waiter no longer queued and free these slots.
        let _ = waiter.tx.send(now);
    }
}

/// Makes room for one key: drops every idle key whose limit is back at `initial` or above, or
/// else the least recently used idle key. False if every key is busy.
fn evict(state: &mut State, per_key: &LimitConfig) -> bool {
    let before = state.keys.len();
    state
        .keys
        .retain(|_, e| !(e.is_idle() && e.aimd.limit() >= per_key.initial));
    if state.keys.len() < before {
        return true;
    }
    let oldest = state
        .keys
        .iter()
        .filter(|(_, e)| e.is_idle())
        .min_by_key(|(_, e)| e.last_used)
        .map(|(k, _)| k.clone());
    match oldest {
        Some(key) => state.keys.remove(&key).is_some(),
        None => false,
    }
}

/// The queued `acquire` future's cleanup if it is dropped before it finishes.
struct Waiting<'a> {
    inner: &'a Inner,
    id: u64,
    key: &'a str,
    armed: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.abandon(self.id, self.key);
        }
    }
}

/// A slot in the global limit and in a key's limit. End it with [`success`](Self::success),
/// [`overloaded`](Self::overloaded) or [`ignore`](Self::ignore); dropping it releases the slots
/// without a sample (no limit change).
#[derive(Debug)]
#[must_use = "a permit holds a slot until it is ended or dropped"]
pub struct Permit {
    inner: Arc<Inner>,
    key: String,
    granted_at: Instant,
    done: bool,
}

impl Permit {
    fn new(inner: &Arc<Inner>, key: &str, granted_at: Instant) -> Self {
        Permit {
            inner: inner.clone(),
            key: key.to_owned(),
            granted_at,
            done: false,
        }
    }

    /// The call succeeded; its latency (grant to now) is a sample. Too slow counts as a drop.
    pub fn success(self) {
        self.finish(Outcome::Success);
    }

    /// The call was throttled, timed out or got a 5xx: a drop.
    pub fn overloaded(self) {
        self.finish(Outcome::Overloaded);
    }

    /// The outcome says nothing about load (a client error): release, no change.
    pub fn ignore(self) {
        self.finish(Outcome::Ignore);
    }

    /// The key this permit is for.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn finish(mut self, outcome: Outcome) {
        self.done = true;
        self.inner.release(&self.key, outcome, self.granted_at);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.inner
                .release(&self.key, Outcome::Ignore, self.granted_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    use tokio::task::yield_now;
    use tokio::time::advance;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn cfg(initial: usize, max: usize, queue: usize) -> LimitConfig {
        LimitConfig {
            initial,
            min: 1,
            max,
            queue,
            ..LimitConfig::default()
        }
    }

    fn wide() -> LimitConfig {
        cfg(10_000, 10_000, 10_000)
    }

    /// A limit that starts at its maximum, `n` (the default queue).
    fn fixed(n: usize) -> LimitConfig {
        LimitConfig {
            initial: n,
            max: n,
            ..LimitConfig::default()
        }
    }

    /// A limit's state: the limit, the calls in flight and those queued.
    fn state(limit: usize, in_flight: usize, queued: usize) -> LimitState {
        LimitState {
            limit,
            in_flight,
            queued,
        }
    }

    fn key_state(l: &AdaptiveLimiter, key: &str) -> LimitState {
        l.snapshot()
            .keys
            .into_iter()
            .find(|k| k.key == key)
            .map(|k| k.state)
            .unwrap_or_else(|| panic!("no key {key}"))
    }

    fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Acquires `n` permits on `key` at once, lets `latency` pass, ends them all with `end`.
    async fn round(l: &AdaptiveLimiter, key: &str, n: usize, latency: Duration, end: fn(Permit)) {
        let mut permits = Vec::new();
        for _ in 0..n {
            permits.push(l.acquire(key).await.unwrap());
        }
        advance(latency).await;
        permits.into_iter().for_each(end);
    }

    #[tokio::test(start_paused = true)]
    async fn try_acquire_never_waits() {
        let l = AdaptiveLimiter::new(wide(), cfg(1, 1, 8));
        let held = l.try_acquire("k").unwrap();
        let shed = l.try_acquire("k").unwrap_err();
        assert_eq!(shed.reason, ShedReason::NoSlot);
        assert_eq!(key_state(&l, "k").queued, 0, "nothing was queued");
        // Another key still has room; and once the slot is back, so has this one.
        l.try_acquire("other").unwrap().ignore();
        held.ignore();
        l.try_acquire("k").unwrap().ignore();
        assert_eq!(l.snapshot().shed_total, 1);
    }

    #[test]
    fn config_validation() {
        assert_eq!(LimitConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut LimitConfig)| {
            let mut c = LimitConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.min = 0).contains("min"));
        assert!(bad(|c| c.max = 0).contains("max"));
        assert!(bad(|c| c.initial = 500).contains("initial"));
        assert!(bad(|c| c.backoff = 1.0).contains("backoff"));
        assert!(bad(|c| c.backoff = f64::NAN).contains("backoff"));
        assert!(bad(|c| c.latency_tolerance = 0.5).contains("latency_tolerance"));
        assert!(bad(|c| c.latency_tolerance = f64::NAN).contains("latency_tolerance"));
        assert!(bad(|c| c.timeout = Duration::ZERO).contains("timeout"));
        let odd = LimitConfig {
            min: 0,
            max: 0,
            initial: 9,
            backoff: 7.0,
            ..Default::default()
        };
        let s = odd.sanitized();
        assert_eq!((s.min, s.max, s.initial, s.backoff), (1, 1, 1, 0.9));
        assert_eq!(s.validate(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn grants_up_to_the_limit_then_sheds_at_once_without_queue() {
        let l = AdaptiveLimiter::new(wide(), cfg(3, 3, 0));
        let p: Vec<Permit> = vec![
            l.acquire("k").await.unwrap(),
            l.acquire("k").await.unwrap(),
            l.acquire("k").await.unwrap(),
        ];
        assert_eq!(key_state(&l, "k"), state(3, 3, 0));
        let shed = l.acquire("k").await.unwrap_err();
        assert_eq!(
            shed.reason,
            ShedReason::QueueFull(QueueScope::Key("k".into()))
        );
        assert!(shed.retry_after >= ms(100) && shed.retry_after <= Duration::from_secs(30));
        assert_eq!(l.snapshot().shed_total, 1);
        drop(p);
        assert_eq!(key_state(&l, "k").in_flight, 0);
        assert_eq!(l.snapshot().global.in_flight, 0);
        // Dropping without an outcome changed nothing.
        assert_eq!(key_state(&l, "k").limit, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn queue_is_fifo_and_bounded() {
        let l = Arc::new(AdaptiveLimiter::new(wide(), cfg(1, 1, 3)));
        let first = l.acquire("k").await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (l2, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let p = l2.acquire("k").await.unwrap();
                order.lock().unwrap().push(i);
                yield_now().await;
                p.success();
            }));
            // Let the task join the queue before the next one.
            while key_state(&l, "k").queued < i + 1 {
                yield_now().await;
            }
        }
        // The queue holds 3: the next is refused at once.
        let shed = l.acquire("k").await.unwrap_err();
        assert_eq!(
            shed.reason,
            ShedReason::QueueFull(QueueScope::Key("k".into()))
        );
        assert_eq!(l.snapshot().global.queued, 3);
        first.success();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(key_state(&l, "k"), state(1, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn global_queue_bound_sheds() {
        let global = LimitConfig {
            queue: 1,
            ..fixed(1)
        };
        let l = AdaptiveLimiter::new(global, cfg(5, 5, 5));
        let _held = l.acquire("a").await.unwrap();
        let mut waiting = Box::pin(l.acquire("b"));
        assert!(poll_once(waiting.as_mut()).is_pending());
        let shed = l.acquire("c").await.unwrap_err();
        assert_eq!(shed.reason, ShedReason::QueueFull(QueueScope::Global));
    }

    #[tokio::test(start_paused = true)]
    async fn queue_timeout_sheds() {
        let per_key = LimitConfig {
            queue_timeout: ms(500),
            ..cfg(1, 1, 4)
        };
        let l = AdaptiveLimiter::new(wide(), per_key);
        let _held = l.acquire("k").await.unwrap();
        let start = Instant::now();
        let shed = l.acquire("k").await.unwrap_err();
        assert_eq!(shed.reason, ShedReason::QueueTimeout);
        let waited = Instant::now() - start;
        assert!(waited >= ms(500) && waited < ms(510), "{waited:?}");
        assert_eq!(key_state(&l, "k").queued, 0);
        assert_eq!(l.snapshot().global.queued, 0);
        assert_eq!(l.snapshot().shed_total, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_waiter_frees_its_place() {
        let l = AdaptiveLimiter::new(wide(), cfg(1, 1, 1));
        let held = l.acquire("k").await.unwrap();
        let mut waiting = Box::pin(l.acquire("k"));
        assert!(poll_once(waiting.as_mut()).is_pending());
        assert_eq!(key_state(&l, "k").queued, 1);
        // The queue (1) is full...
        assert!(l.acquire("k").await.is_err());
        drop(waiting);
        // ...until the waiter is dropped.
        assert_eq!(key_state(&l, "k").queued, 0);
        let mut next = Box::pin(l.acquire("k"));
        assert!(poll_once(next.as_mut()).is_pending());
        held.success();
        let Poll::Ready(Ok(p)) = poll_once(next.as_mut()) else {
            panic!("not granted")
        };
        assert_eq!(key_state(&l, "k").in_flight, 1);
        p.ignore();
        assert_eq!(key_state(&l, "k").in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn waiter_dropped_after_grant_frees_the_slot() {
        let l = AdaptiveLimiter::new(wide(), cfg(1, 1, 4));
        let held = l.acquire("k").await.unwrap();
        let mut a = Box::pin(l.acquire("k"));
        let mut b = Box::pin(l.acquire("k"));
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        held.ignore();
        // `a` was granted but never polled again; dropping it passes the slot on to `b`.
        assert_eq!(key_state(&l, "k"), state(1, 1, 1));
        drop(a);
        assert_eq!(key_state(&l, "k"), state(1, 1, 0));
        let Poll::Ready(Ok(p)) = poll_once(b.as_mut()) else {
            panic!("b not granted")
        };
        drop(p);
        assert_eq!(key_state(&l, "k"), state(1, 0, 0));
        assert_eq!(l.snapshot().global.in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn aimd_decrease_on_overloaded_and_increase_on_successes() {
        let l = AdaptiveLimiter::new(
            wide(),
            LimitConfig {
                min: 2,
                ..cfg(20, 30, 0)
            },
        );
        round(&l, "k", 1, ms(1), Permit::overloaded).await;
        assert_eq!(key_state(&l, "k").limit, 18); // ⌊20 × 0.9⌋
        round(&l, "k", 1, ms(1), Permit::overloaded).await;
        assert_eq!(key_state(&l, "k").limit, 16); // ⌊18 × 0.9⌋ = 16
        for _ in 0..30 {
            round(&l, "k", 1, ms(1), Permit::overloaded).await;
        }
        assert_eq!(key_state(&l, "k").limit, 2); // floored at min
        // Successes grow it by one each while it is in use (in_flight × 2 ≥ limit).
        // 2 in flight: 2 × 2 ≥ 2, so 2 → 3; then 1 in flight: 1 × 2 < 3, no growth.
        round(&l, "k", 2, ms(1), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 3);
        round(&l, "k", 3, ms(1), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 5); // 3 → 4 (3 in flight), 4 → 5 (2 in flight)
    }

    #[tokio::test(start_paused = true)]
    async fn success_grows_only_when_the_limit_is_in_use() {
        let l = AdaptiveLimiter::new(wide(), cfg(10, 30, 0));
        // One call at a time uses 1 of 10: no growth.
        for _ in 0..5 {
            round(&l, "k", 1, ms(1), Permit::success).await;
        }
        assert_eq!(key_state(&l, "k").limit, 10);
        // Five at once: the first success sees 5 × 2 ≥ 10.
        round(&l, "k", 5, ms(1), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 11);
        // Ignore and drop change nothing.
        round(&l, "k", 10, ms(1), Permit::ignore).await;
        round(&l, "k", 10, ms(1), drop).await;
        assert_eq!(key_state(&l, "k").limit, 11);
        // It never grows past max.
        for _ in 0..40 {
            let n = key_state(&l, "k").limit;
            round(&l, "k", n, ms(1), Permit::success).await;
        }
        assert_eq!(key_state(&l, "k").limit, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn limit_follows_latency_down_and_back_up() {
        let l = AdaptiveLimiter::new(wide(), cfg(10, 100, 0));
        let limit = || key_state(&l, "k").limit;
        round(&l, "k", 10, ms(5), Permit::success).await;
        for _ in 0..4 {
            let n = limit();
            round(&l, "k", n, ms(5), Permit::success).await;
        }
        let fast = limit();
        assert!(fast > 10, "fast successes grow the limit: {fast}");
        // 2 s against a 5 ms baseline: every success is a drop.
        for _ in 0..3 {
            let n = limit();
            round(&l, "k", n, Duration::from_secs(2), Permit::success).await;
        }
        let slow = limit();
        assert!(
            slow < fast / 2,
            "slow successes shrink the limit: {fast} → {slow}"
        );
        // Back to 5 ms: the limit grows back (by about half of itself per round).
        for _ in 0..20 {
            let n = limit();
            round(&l, "k", n, ms(5), Permit::success).await;
        }
        assert!(limit() > fast, "recovered: {slow} → {}", limit());
    }

    #[tokio::test(start_paused = true)]
    async fn sub_floor_jitter_and_timeouts() {
        let per_key = LimitConfig {
            timeout: Duration::from_secs(1),
            ..cfg(10, 100, 0)
        };
        let l = AdaptiveLimiter::new(wide(), per_key);
        // Baseline 0 (instant calls); 4 ms is "infinitely" slower but under the 5 ms floor.
        round(&l, "k", 1, Duration::ZERO, Permit::success).await;
        round(&l, "k", 1, ms(4), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 10);
        round(&l, "k", 1, ms(6), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 9);
        // Over `timeout` is a drop even with no usable baseline.
        let l = AdaptiveLimiter::new(wide(), per_key);
        round(&l, "k", 1, ms(1500), Permit::success).await;
        assert_eq!(key_state(&l, "k").limit, 9);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_isolated() {
        let l = AdaptiveLimiter::new(wide(), cfg(10, 100, 0));
        for key in ["slow", "fast"] {
            round(&l, key, 10, ms(5), Permit::success).await;
        }
        let before = key_state(&l, "fast").limit;
        for _ in 0..3 {
            let n = key_state(&l, "slow").limit;
            round(&l, "slow", n, Duration::from_secs(2), Permit::success).await;
            let n = key_state(&l, "fast").limit;
            round(&l, "fast", n, ms(5), Permit::success).await;
        }
        assert!(
            key_state(&l, "slow").limit < 5,
            "{:?}",
            key_state(&l, "slow")
        );
        assert!(
            key_state(&l, "fast").limit > before,
            "{:?}",
            key_state(&l, "fast")
        );
        // A key with a naturally slow baseline is not penalised for it.
        round(&l, "steady", 10, Duration::from_secs(2), Permit::success).await;
        round(&l, "steady", 10, Duration::from_secs(2), Permit::success).await;
        assert!(key_state(&l, "steady").limit > 10);
    }

    #[tokio::test(start_paused = true)]
    async fn global_limit_cut_once_per_congestion_event() {
        let global = fixed(100);
        let l = AdaptiveLimiter::new(global, cfg(10, 10, 0));
        // Ten calls in flight together all come back overloaded: one event for the global
        // limit, ten drops for the key's.
        round(&l, "k", 10, ms(1), Permit::overloaded).await;
        assert_eq!(l.snapshot().global.limit, 90);
        assert_eq!(key_state(&l, "k").limit, 1);
        // A call granted after that decrease is a new event.
        round(&l, "k", 1, ms(1), Permit::overloaded).await;
        assert_eq!(l.snapshot().global.limit, 81);
    }

    #[tokio::test(start_paused = true)]
    async fn global_limit_caps_the_sum() {
        let global = fixed(3);
        let l = AdaptiveLimiter::new(global, cfg(10, 10, 10));
        let a = l.acquire("a").await.unwrap();
        let _b = l.acquire("b").await.unwrap();
        let _c = l.acquire("c").await.unwrap();
        let mut d = Box::pin(l.acquire("d"));
        assert!(poll_once(d.as_mut()).is_pending());
        let snap = l.snapshot();
        assert_eq!(snap.global, state(3, 3, 1));
        assert_eq!(key_state(&l, "d"), state(10, 0, 1));
        a.success();
        let Poll::Ready(Ok(_d)) = poll_once(d.as_mut()) else {
            panic!("d not granted")
        };
        assert_eq!(l.snapshot().global, state(3, 3, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn full_key_does_not_block_other_keys_in_the_queue() {
        let global = fixed(2);
        let l = AdaptiveLimiter::new(global, cfg(1, 1, 10));
        let a1 = l.acquire("a").await.unwrap();
        let b1 = l.acquire("b").await.unwrap();
        let mut a2 = Box::pin(l.acquire("a")); // waits for key a (and global)
        let mut c1 = Box::pin(l.acquire("c")); // waits for global only
        assert!(poll_once(a2.as_mut()).is_pending());
        assert!(poll_once(c1.as_mut()).is_pending());
        b1.success();
        // The freed global slot goes to c (a is still full), not held for a2.
        assert!(poll_once(a2.as_mut()).is_pending());
        let Poll::Ready(Ok(_c)) = poll_once(c1.as_mut()) else {
            panic!("c not granted")
        };
        // Key a frees (and with it a global slot): a2 goes next.
        drop(a1);
        let Poll::Ready(Ok(_a2)) = poll_once(a2.as_mut()) else {
            panic!("a2 not granted")
        };
        assert_eq!(l.snapshot().global, state(2, 2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_estimate() {
        let l = AdaptiveLimiter::new(wide(), cfg(2, 2, 1));
        // Median latency 1 s, limit 2; with one queued, (1 + 1) × 1 s / 2 = 1 s.
        round(&l, "k", 2, Duration::from_secs(1), Permit::ignore).await;
        round(&l, "k", 1, Duration::from_secs(1), Permit::success).await;
        let _p = (l.acquire("k").await.unwrap(), l.acquire("k").await.unwrap());
        let mut w = Box::pin(l.acquire("k"));
        assert!(poll_once(w.as_mut()).is_pending());
        let shed = l.acquire("k").await.unwrap_err();
        assert_eq!(shed.retry_after, Duration::from_secs(1));
        // Clamped below at 100 ms...
        let fast = AdaptiveLimiter::new(wide(), cfg(1, 1, 0));
        round(&fast, "k", 1, Duration::ZERO, Permit::success).await;
        let _q = fast.acquire("k").await.unwrap();
        assert_eq!(fast.acquire("k").await.unwrap_err().retry_after, ms(100));
        // ...and above at 30 s: 9 s × (5 + 1) / 1 = 54 s.
        let slow = AdaptiveLimiter::new(wide(), cfg(1, 1, 5));
        round(&slow, "k", 1, Duration::from_secs(9), Permit::success).await;
        let _q = slow.acquire("k").await.unwrap();
        let mut waiters: Vec<_> = (0..5).map(|_| Box::pin(slow.acquire("k"))).collect();
        for w in &mut waiters {
            assert!(poll_once(w.as_mut()).is_pending());
        }
        let shed = slow.acquire("k").await.unwrap_err();
        assert_eq!(shed.retry_after, Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn key_table_is_bounded() {
        let l = AdaptiveLimiter::with_max_keys(wide(), cfg(2, 4, 0), 2);
        let held = l.acquire("busy").await.unwrap();
        round(&l, "idle", 1, ms(1), Permit::success).await;
        // At the cap: "idle" (idle, limit at initial) goes, "busy" stays.
        round(&l, "new", 1, ms(1), Permit::success).await;
        let keys: Vec<String> = l.snapshot().keys.into_iter().map(|k| k.key).collect();
        assert_eq!(keys, ["busy", "new"]);
        // Both busy: a third key is shed, not tracked.
        let _held2 = l.acquire("new").await.unwrap();
        let shed = l.acquire("third").await.unwrap_err();
        assert_eq!(shed.reason, ShedReason::QueueFull(QueueScope::Global));
        drop(held);
        // An idle key with a lowered limit is evicted only when no healthy idle key exists.
        round(&l, "busy", 1, ms(1), Permit::overloaded).await;
        assert!(l.acquire("third").await.is_ok());
        let keys: Vec<String> = l.snapshot().keys.into_iter().map(|k| k.key).collect();
        assert_eq!(keys, ["new", "third"]);
    }

    /// Many tasks on several threads (each its own runtime, real time) acquire and release;
    /// nobody ever holds more than the limit, and everything is returned.
    #[test]
    fn stress_in_flight_never_exceeds_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // min = max: the limits stay put, so "held ≤ limit" is exact at every moment.
        let global = LimitConfig {
            initial: 8,
            min: 8,
            max: 8,
            queue: 10_000,
            ..LimitConfig::default()
        };
        let per_key = LimitConfig {
            initial: 3,
            min: 3,
            max: 3,
            queue: 10_000,
            queue_timeout: Duration::from_secs(60),
            ..LimitConfig::default()
        };
        let l = Arc::new(AdaptiveLimiter::new(global, per_key));
        let holding: Arc<Vec<AtomicUsize>> =
            Arc::new((0..5).map(|_| AtomicUsize::new(0)).collect());
        let total = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (l, holding, total, max_seen) =
                    (l.clone(), holding.clone(), total.clone(), max_seen.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        let mut tasks = Vec::new();
                        for i in 0..50usize {
                            let (l, holding, total, max_seen) =
                                (l.clone(), holding.clone(), total.clone(), max_seen.clone());
                            tasks.push(tokio::spawn(async move {
                                for j in 0..20usize {
                                    let k = (t + i + j) % 5;
                                    let key = format!("key{k}");
                                    let p = l.acquire(&key).await.unwrap();
                                    let now_key = holding[k].fetch_add(1, Ordering::SeqCst) + 1;
                                    let now_all = total.fetch_add(1, Ordering::SeqCst) + 1;
                                    assert!(now_key <= 3, "key {k} held by {now_key}");
                                    assert!(now_all <= 8, "held in all: {now_all}");
                                    max_seen.fetch_max(now_all, Ordering::SeqCst);
                                    let snap = l.snapshot();
                                    assert!(snap.global.in_flight <= snap.global.limit);
                                    yield_now().await;
                                    holding[k].fetch_sub(1, Ordering::SeqCst);
                                    total.fetch_sub(1, Ordering::SeqCst);
                                    match (i + j) % 3 {
                                        0 => p.success(),
                                        1 => p.ignore(),
                                        _ => drop(p),
                                    }
                                }
                            }));
                        }
                        for task in tasks {
                            task.await.unwrap();
                        }
                    });
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let snap = l.snapshot();
        assert_eq!(snap.global.in_flight, 0);
        assert_eq!(snap.global.queued, 0);
        assert!(
            snap.keys
                .iter()
                .all(|k| k.state.in_flight == 0 && k.state.queued == 0)
        );
        assert_eq!(snap.shed_total, 0);
        assert!(
            max_seen.load(Ordering::SeqCst) > 3,
            "the test never ran concurrently"
        );
    }
}
