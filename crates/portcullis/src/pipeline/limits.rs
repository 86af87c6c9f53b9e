//! The limits every AWS call passes (the state of the admit and limit stages in [`super::stages`]):
//!
//! * **rate limits**: a token bucket per principal (the owner; the OAuth subject later) and one
//!   per session, checked before a person is asked or anything is sent;
//! * **a circuit breaker per endpoint** (`service/region`): consecutive 5xx, throttling, timeouts
//!   or failed connections open it, and while it is open calls to that endpoint fail at once;
//! * **an adaptive concurrency limit** (AIMD), over all calls and per endpoint, that follows
//!   latency and throttling, with a bounded queue in front: over the bound a call is refused at
//!   once, saying when to retry. A write to an impaired endpoint is never queued;
//! * **a retry budget** shared by every call: retries add at most a set fraction of the calls.
//!
//! Every refusal is an [`super::Outcome::Limited`], audited with its own kind; the counts and
//! the state of each limit are in `/metrics`, and [`Limits::readiness`] feeds `/readyz`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portcullis_resilience::breaker::{BreakerConfig, Breakers, Failure, Pass, Verdict};
use portcullis_resilience::budget::RetryBudget;
use portcullis_resilience::limit::{
    AdaptiveLimiter, LimitConfig, LimitState, LimiterSnapshot, Permit, QueueScope, ShedReason,
};
use portcullis_resilience::rate::{Rate, RateLimiter};

use super::{Assessment, Execution};

/// What the limits are set to (config file `[limits]`, environment, native policy).
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSettings {
    /// AWS calls per principal (all its sessions together).
    pub per_principal: Rate,
    /// AWS calls per MCP session.
    pub per_session: Rate,
    /// The adaptive limit over every call in flight, and its queue.
    pub global: LimitConfig,
    /// The adaptive limit per endpoint (`service/region`), and its share of the queue.
    pub per_endpoint: LimitConfig,
    /// When an endpoint's breaker opens and how it recovers.
    pub breaker: BreakerConfig,
    /// Retries, as a fraction of calls (0.1: at most one retry per ten calls, beyond the floor).
    pub retry_ratio: f32,
    /// Retries a second always allowed, whatever the ratio.
    pub retry_floor: u32,
    /// Commands of one `call_aws` batch run at once.
    pub batch_parallel: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            per_principal: Rate {
                per_second: 500.0,
                burst: 1000,
            },
            per_session: Rate {
                per_second: 100.0,
                burst: 200,
            },
            global: LimitConfig {
                initial: 64,
                max: 256,
                queue: 256,
                ..LimitConfig::default()
            },
            per_endpoint: LimitConfig {
                initial: 32,
                max: 128,
                queue: 64,
                ..LimitConfig::default()
            },
            breaker: BreakerConfig::default(),
            retry_ratio: 0.1,
            retry_floor: 10,
            batch_parallel: 8,
        }
    }
}

impl LimitSettings {
    /// Checks every field; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        self.global
            .validate()
            .map_err(|e| format!("limits (all calls): {e}"))?;
        self.per_endpoint
            .validate()
            .map_err(|e| format!("limits (per endpoint): {e}"))?;
        self.breaker
            .validate()
            .map_err(|e| format!("limits (breaker): {e}"))?;
        if !(self.retry_ratio.is_finite() && (0.0..=10.0).contains(&self.retry_ratio)) {
            return Err(format!(
                "retry-budget: {} is not a share of calls from 0 to 10 (0.1: one retry per ten calls)",
                self.retry_ratio
            ));
        }
        if self.batch_parallel == 0 {
            return Err("batch-parallel: at least 1".into());
        }
        Ok(())
    }
}

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// The principal's or the session's rate.
    RateLimited,
    /// The concurrency limit's queue was full, or the wait too long (load shed).
    Overloaded,
    /// The endpoint's circuit breaker is open.
    BreakerOpen,
}

impl LimitKind {
    /// The status of the tool result's entry and the audit record's `error_code`.
    pub fn status(self) -> &'static str {
        match self {
            LimitKind::RateLimited => "rate_limited",
            LimitKind::Overloaded => "overloaded",
            LimitKind::BreakerOpen => "breaker_open",
        }
    }

    const ALL: [LimitKind; 3] = [
        LimitKind::RateLimited,
        LimitKind::Overloaded,
        LimitKind::BreakerOpen,
    ];
}

/// A call a limit refused: which, why (for the agent), and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub kind: LimitKind,
    pub message: String,
    pub retry_after: Duration,
}

/// Who a call is for, as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// The principal (the instance's owner, or an OAuth subject).
    pub principal: Arc<str>,
    /// The MCP session (empty: none, as for stdio, where the process is the session).
    pub session: Arc<str>,
    /// The AWS role this principal's commands run as (OAuth with role mappings); `None`: the
    /// server's own credentials.
    pub role: Option<Arc<super::users::UserRole>>,
}

impl Caller {
    /// The instance's owner, on its one session (stdio, `portcullis exec`, the tests).
    pub fn owner() -> Caller {
        Caller {
            principal: Arc::from("owner"),
            session: Arc::from(""),
            role: None,
        }
    }
}

/// A call admitted by the limit stage: its breaker pass and concurrency permit, given back with
/// how the call went ([`Admitted::finish`]).
pub struct Admitted {
    pass: Pass,
    permit: Permit,
    limits: Arc<Limits>,
}

/// Counters the replicas share (Redis), for the per-principal rate over all replicas.
pub trait SharedCounter: Send + Sync {
    /// Adds one to `key` (created expiring after `ttl`) and returns the new count.
    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, String>> + Send + 'a>>;
}

/// The window and the calls allowed in it for `rate` counted over all replicas: one second for
/// rates of one a second or more, a minute down to one a minute, else an hour.
pub fn global_window(rate: Rate) -> (Duration, u64) {
    let window = if rate.per_second >= 1.0 {
        1
    } else if rate.per_second * 60.0 >= 1.0 {
        60
    } else {
        3600
    };
    let allowed = (rate.per_second * window as f64).round().max(1.0) as u64;
    (Duration::from_secs(window), allowed)
}

/// The limits' shared state (one per server).
pub struct Limits {
    /// The replicas' shared counters (Redis), when configured.
    shared: std::sync::OnceLock<Arc<dyn SharedCounter>>,
    settings: LimitSettings,
    principals: RateLimiter,
    sessions: RateLimiter,
    limiter: AdaptiveLimiter,
    breakers: Breakers,
    budget: Arc<RetryBudget>,
    refused: [AtomicU64; 3],
    breaker_opened: AtomicU64,
}

impl Limits {
    /// Limits as set (validated by the caller; out-of-range values are pulled into range).
    pub fn new(settings: LimitSettings) -> Limits {
        let budget = RetryBudget::new(
            settings.retry_ratio,
            settings.retry_floor,
            Duration::from_secs(10),
        )
        .unwrap_or_default();
        Limits {
            shared: std::sync::OnceLock::new(),
            principals: RateLimiter::new(settings.per_principal),
            sessions: RateLimiter::new(settings.per_session),
            limiter: AdaptiveLimiter::new(settings.global, settings.per_endpoint),
            breakers: Breakers::new(settings.breaker),
            budget: Arc::new(budget),
            refused: Default::default(),
            breaker_opened: AtomicU64::new(0),
            settings,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// The retry budget every call's retries draw from (handed to the engine).
    pub fn retry_budget(&self) -> Arc<RetryBudget> {
        Arc::clone(&self.budget)
    }

    fn refuse(&self, kind: LimitKind, message: String, retry_after: Duration) -> Refused {
        let i = LimitKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.refused[i].fetch_add(1, Ordering::Relaxed);
        Refused {
            kind,
            message,
            retry_after,
        }
    }

    /// Counts each principal's calls over all replicas too, in `counter` (set once, at start).
    pub fn share_with(&self, counter: Arc<dyn SharedCounter>) {
        let _ = self.shared.set(counter);
    }

    /// The per-principal rate over all replicas (after [`Limits::check_rate`], which each replica
    /// applies on its own): fixed windows counted in the shared store ([`global_window`]). When
    /// the store cannot be reached the replica's own limits stand alone (logged, at most every
    /// 10 s); a limit never fails a call by itself failing.
    pub async fn check_shared_rate(&self, caller: &Caller) -> Result<(), Refused> {
        let Some(counter) = self.shared.get() else {
            return Ok(());
        };
        let (window, allowed) = global_window(self.settings.per_principal);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let slot = now.as_secs() / window.as_secs();
        let key = format!("portcullis:rate:{}:{slot}", caller.principal);
        match counter.incr(&key, window * 2).await {
            Ok(n) if n > allowed => {
                let next = Duration::from_secs((slot + 1) * window.as_secs()).saturating_sub(now);
                Err(self.refuse(
                    LimitKind::RateLimited,
                    format!(
                        "not executed: over the rate limit of {} for this principal, counted over all replicas; retry after {}",
                        self.settings.per_principal,
                        millis(next)
                    ),
                    next,
                ))
            }
            Ok(_) => Ok(()),
            Err(why) => {
                static LAST: std::sync::Mutex<Option<std::time::Instant>> =
                    std::sync::Mutex::new(None);
                let mut last = LAST
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    *last = Some(std::time::Instant::now());
                    tracing::warn!(
                        "portcullis: the shared rate counter is unavailable ({why}); each replica applies its own rate limits"
                    );
                }
                Ok(())
            }
        }
    }

    /// The rate limits: the principal's bucket, then the session's.
    pub fn check_rate(&self, caller: &Caller) -> Result<(), Refused> {
        if let Err(wait) = self.principals.check(&caller.principal) {
            return Err(self.refuse(
                LimitKind::RateLimited,
                format!(
                    "not executed: over the rate limit of {} for this principal; retry after {}",
                    self.settings.per_principal,
                    millis(wait.0)
                ),
                wait.0,
            ));
        }
        if !caller.session.is_empty()
            && let Err(wait) = self.sessions.check(&caller.session)
        {
            return Err(self.refuse(
                LimitKind::RateLimited,
                format!(
                    "not executed: over the rate limit of {} for this session; retry after {}",
                    self.settings.per_session,
                    millis(wait.0)
                ),
                wait.0,
            ));
        }
        Ok(())
    }

    /// The endpoint a command goes to, as the breaker and the limit key it: `service/region`.
    pub fn endpoint(pipeline_region: Option<&str>, a: &Assessment) -> String {
        let region = a
            .request
            .region
            .as_deref()
            .or(pipeline_region)
            .unwrap_or("global");
        format!("{}/{region}", a.request.service)
    }

    /// The breaker, then the concurrency limit, for a call to `endpoint`. A write to an impaired
    /// endpoint (a probe, or its last call failed) takes a free slot or is refused; it never
    /// waits in the queue.
    pub async fn admit(self: &Arc<Self>, endpoint: &str, write: bool) -> Result<Admitted, Refused> {
        let pass = match self.breakers.check(endpoint) {
            Ok(pass) => pass,
            Err(open) => {
                return Err(self.refuse(
                    LimitKind::BreakerOpen,
                    format!(
                        "not executed: {} is failing ({}), so calls to it fail fast; retry after {}",
                        open.key,
                        open.reason,
                        millis(open.retry_after)
                    ),
                    open.retry_after,
                ));
            }
        };
        let acquired = if write && pass.endpoint_impaired() {
            self.limiter.try_acquire(endpoint)
        } else {
            self.limiter.acquire(endpoint).await
        };
        match acquired {
            Ok(permit) => Ok(Admitted {
                pass,
                permit,
                limits: Arc::clone(self),
            }),
            Err(shed) => {
                // Not sent: the pass says nothing about the endpoint (dropped, it is neutral).
                drop(pass);
                let why = match &shed.reason {
                    ShedReason::QueueFull(QueueScope::Global) => {
                        "the server has too many AWS calls in flight and waiting".to_string()
                    }
                    ShedReason::QueueFull(QueueScope::Key(k)) => {
                        format!("too many calls to {k} are in flight and waiting")
                    }
                    ShedReason::QueueTimeout => {
                        format!("no slot for a call to {endpoint} came free in time")
                    }
                    ShedReason::NoSlot => format!(
                        "{endpoint} is impaired and has no free slot; a write to it is refused rather than queued"
                    ),
                };
                Err(self.refuse(
                    LimitKind::Overloaded,
                    format!(
                        "not executed: {why}; retry after {}",
                        millis(shed.retry_after)
                    ),
                    shed.retry_after,
                ))
            }
        }
    }

    /// Whether the server should get traffic: `Err` lists the endpoints whose breakers are
    /// open (or half-open) and whether calls are being shed. Policy-only calls are answered
    /// either way.
    pub fn readiness(&self) -> Result<String, String> {
        let open: Vec<String> = self
            .breakers
            .snapshot()
            .into_iter()
            .filter(|b| b.status != portcullis_resilience::breaker::Status::Closed)
            .map(|b| format!("{} {}", b.key, b.status.as_str()))
            .collect();
        let snap = self.limiter.snapshot();
        let shedding = snap.global.queued >= self.settings.global.queue;
        if open.is_empty() && !shedding {
            return Ok("ready\n".into());
        }
        let mut body = String::from("degraded:");
        for o in &open {
            let _ = write!(body, " breaker {o};");
        }
        if shedding {
            let _ = write!(body, " queue full ({} waiting);", snap.global.queued);
        }
        body.push('\n');
        Err(body)
    }

    /// The limits' series, in the Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP portcullis_limit_refusals_total Calls refused by a limit, by kind (rate_limited, overloaded, breaker_open).\n# TYPE portcullis_limit_refusals_total counter"
        );
        for (kind, n) in LimitKind::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "portcullis_limit_refusals_total{{kind=\"{}\"}} {}",
                kind.status(),
                n.load(Ordering::Relaxed)
            );
        }
        let snap = self.limiter.snapshot();
        endpoint_gauge(
            out,
            &snap,
            "portcullis_concurrency_limit",
            "The adaptive concurrency limit, over all calls (endpoint=\"*\") and per endpoint.",
            |s| s.limit,
        );
        endpoint_gauge(
            out,
            &snap,
            "portcullis_calls_in_flight",
            "AWS calls running, over all calls and per endpoint.",
            |s| s.in_flight,
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_calls_queued AWS calls waiting for a slot.\n# TYPE portcullis_calls_queued gauge\nportcullis_calls_queued {}",
            snap.global.queued
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_breaker_state Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open.\n# TYPE portcullis_breaker_state gauge"
        );
        for b in self.breakers.snapshot() {
            let v = match b.status {
                portcullis_resilience::breaker::Status::Closed => 0,
                portcullis_resilience::breaker::Status::HalfOpen => 1,
                portcullis_resilience::breaker::Status::Open => 2,
            };
            let _ = writeln!(
                out,
                "portcullis_breaker_state{{endpoint=\"{}\"}} {v}",
                label(&b.key)
            );
        }
        let _ = writeln!(
            out,
            "# HELP portcullis_breaker_opened_total Times a breaker opened (or reopened after a failed probe).\n# TYPE portcullis_breaker_opened_total counter\nportcullis_breaker_opened_total {}",
            self.breaker_opened.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_retry_budget_total Retries the shared budget paid for (withdrawn) and refused.\n# TYPE portcullis_retry_budget_total counter\nportcullis_retry_budget_total{{result=\"withdrawn\"}} {}\nportcullis_retry_budget_total{{result=\"refused\"}} {}",
            self.budget.withdrawn_total(),
            self.budget.refused_total()
        );
    }
}

impl Admitted {
    /// Gives the slot and the pass back with how the call went: the breaker and the adaptive
    /// limit learn from it.
    pub fn finish(self, run: &Execution, learn_latency: bool) {
        let verdict = verdict(run);
        let Admitted {
            pass,
            permit,
            limits,
        } = self;
        match &verdict {
            Verdict::Failure(Failure::Throttled(_)) | Verdict::Failure(Failure::Timeout) => {
                permit.overloaded()
            }
            Verdict::Failure(_) | Verdict::Neutral => permit.ignore(),
            Verdict::Success if learn_latency => permit.success(),
            Verdict::Success => permit.ignore(),
        }
        let key = pass.key().to_string();
        if limits.breakers.record(pass, verdict) {
            limits.breaker_opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("portcullis: circuit breaker for {key} opened; calls to it fail fast");
        }
    }
}

/// How a finished call bears on its endpoint's health.
pub fn verdict(run: &Execution) -> Verdict {
    if run.ok {
        return Verdict::Success;
    }
    let code = run.error_code.as_deref().unwrap_or("");
    if portcullis_wire::retry::THROTTLING_ERROR_CODES.contains(&code) {
        return Verdict::Failure(Failure::Throttled(code.to_string()));
    }
    match (run.http_status, code) {
        (Some(s), _) if s >= 500 => Verdict::Failure(Failure::ServerError(s)),
        (Some(429), _) => Verdict::Failure(Failure::Throttled(code.to_string())),
        (_, "timeout" | "deadline") => Verdict::Failure(Failure::Timeout),
        (_, "connect") | (_, "connection") => Verdict::Failure(Failure::Connect(
            run.error
                .as_deref()
                .unwrap_or("connection failed")
                .chars()
                .take(120)
                .collect(),
        )),
        _ => Verdict::Neutral,
    }
}

fn millis(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms >= 10_000 {
        format!("{} s", ms.div_ceil(1000))
    } else {
        format!("{ms} ms")
    }
}

/// The gauge `name` (with its HELP and TYPE lines): `value` of the limit over all calls
/// (`endpoint="*"`), then of each endpoint's.
fn endpoint_gauge(
    out: &mut String,
    snap: &LimiterSnapshot,
    name: &str,
    help: &str,
    value: fn(&LimitState) -> usize,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    let _ = writeln!(out, "{name}{{endpoint=\"*\"}} {}", value(&snap.global));
    for k in &snap.keys {
        let _ = writeln!(
            out,
            "{name}{{endpoint=\"{}\"}} {}",
            label(&k.key),
            value(&k.state)
        );
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_windows_keep_the_sustained_rate() {
        let w = |per_second: f64| {
            global_window(Rate::new(per_second, 1).unwrap_or_else(|e| panic!("{e}")))
        };
        assert_eq!(w(500.0), (Duration::from_secs(1), 500));
        assert_eq!(w(1.0), (Duration::from_secs(1), 1));
        assert_eq!(w(3.0 / 60.0), (Duration::from_secs(60), 3));
        assert_eq!(w(1.0 / 60.0), (Duration::from_secs(60), 1));
        assert_eq!(w(10.0 / 3600.0), (Duration::from_secs(3600), 10));
        assert_eq!(w(0.1 / 3600.0), (Duration::from_secs(3600), 1));
    }
}
