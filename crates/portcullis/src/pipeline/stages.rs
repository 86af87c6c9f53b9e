//! The run-time stages as `tower` services: execute (and shape) is a [`Service`]; decide, consent,
//! limit and record are [`Layer`]s that wrap it. [`Pipeline::stack`] builds the stack every
//! front end drives (`serve`'s `call_aws`, `portcullis exec`, the tests):
//!
//! ```text
//! Record( Decide( Admit( Consent( Limit( Execute ) ) ) ) )
//! ```
//!
//! * **Decide** enforces the decision made when the command was assessed: a denied command goes
//!   no further.
//! * **Admit** applies the rate limits of the caller (its principal, its session) to a command
//!   that would be sent, before anybody is asked about it.
//! * **Consent** asks the [`Approver`] the job carries (an MCP elicitation, the answers of a
//!   multi-round-trip retry, a terminal prompt) when the decision says so; only an approval of
//!   this request's digest passes, and the digest is checked once more before executing.
//! * **Limit** passes the endpoint's circuit breaker and takes a slot of the adaptive
//!   concurrency limit (waiting in its bounded queue, except a write to an impaired endpoint);
//!   when the call ends, the breaker and the limit learn how it went ([`super::limits`]).
//!   A refusal by either limit stage is an [`Outcome::Limited`].
//! * **Execute** refuses to run what the audit trail could not record (fail closed), sends the
//!   request, and shapes the response.
//! * **Record** turns the command and what became of it into its audit entry.
//!
//! Each stage runs once per command, in this order, on the [`Assessment`] made once before.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use portcullis_audit::CommandEntry;
use portcullis_iam::AccessLevel;
use tower::{Layer, Service, ServiceBuilder};

use super::limits::{Caller, Limits};
use super::record::{self, Recorder};
use super::{Answer, Assessment, Execution, Outcome, Parsed, Pipeline};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who approves a command the policy says needs consent.
pub trait Approver: Send + Sync {
    /// The answer for `a` (only an [`Answer::Approved`] of `a.digest` lets it run).
    fn approve<'a>(&'a self, a: &'a Assessment) -> BoxFuture<'a, Answer>;
}

/// Where the stages report their timings (the server's metrics).
pub trait Observer: Send + Sync {
    /// `stage` took `secs`.
    fn stage(&self, stage: &'static str, secs: f64);
    /// A call to `service` was retried `retries` times.
    fn retries(&self, service: &str, retries: u32);
}

/// Observes nothing.
pub struct Unobserved;

impl Observer for Unobserved {
    fn stage(&self, _stage: &'static str, _secs: f64) {}
    fn retries(&self, _service: &str, _retries: u32) {}
}

/// Approves nothing: every command that needs consent is refused with `answer`'s refusal.
pub struct Refuse(pub fn(&Assessment) -> Answer);

impl Approver for Refuse {
    fn approve<'a>(&'a self, a: &'a Assessment) -> BoxFuture<'a, Answer> {
        let answer = (self.0)(a);
        Box::pin(async move { answer })
    }
}

/// One command through the stack: the assessment, who approves it, and where a long-running
/// customization reports progress.
pub struct Job {
    pub assessment: Arc<Assessment>,
    pub approver: Arc<dyn Approver>,
    pub progress: Arc<dyn portcullis_wire::extra::Progress>,
    /// The digest a person approved (set by the consent stage).
    approved: Option<String>,
    /// Keep the response as JSON in the execution (the server's own lookups read it).
    keep_response: bool,
    /// Who the command is for, as the rate limits count it.
    pub caller: Caller,
    /// When the command must be done by (a batch shares one deadline); time spent waiting for a
    /// person's approval moves it back by as much.
    pub deadline: Option<tokio::time::Instant>,
}

impl Job {
    pub fn new(assessment: Arc<Assessment>, approver: Arc<dyn Approver>) -> Job {
        Job {
            assessment,
            approver,
            progress: Arc::new(portcullis_wire::extra::NoProgress),
            approved: None,
            keep_response: false,
            caller: Caller::owner(),
            deadline: None,
        }
    }

    /// Counts the command against `caller`'s rate limits.
    pub fn for_caller(mut self, caller: Caller) -> Job {
        self.caller = caller;
        self
    }

    /// Stops the command at `deadline` (the batch's), if it is still running then.
    pub fn with_deadline(mut self, deadline: tokio::time::Instant) -> Job {
        self.deadline = Some(deadline);
        self
    }

    /// Keeps the (shaped) response document in [`super::Execution::response`], for a caller that
    /// reads it rather than the text the AWS CLI would print.
    pub fn keeping_response(mut self) -> Job {
        self.keep_response = true;
        self
    }

    /// Reports the progress of a long-running customization to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn portcullis_wire::extra::Progress>) -> Job {
        self.progress = progress;
        self
    }
}

/// A command after the record stage: what became of it, and its audit entry.
pub struct Recorded {
    pub outcome: Outcome,
    pub entry: CommandEntry,
}

/// The associated items of a `Service<Job>` impl that is always ready and answers `$response`
/// in a boxed future (the impl adds its `call`).
macro_rules! always_ready {
    ($response:ty) => {
        type Response = $response;
        type Error = Infallible;
        type Future = BoxFuture<'static, Result<$response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
    };
}

/// A stage's service around the inner one `S` (the stages after it): `$service<S>`, which holds
/// `S` and a clone of its layer `$layer`; `$layer`'s [`Layer`] impl, which builds it; and its
/// `Service<Job>` impl, answering `$response`: always ready, each call runs `$layer::run` with a
/// clone of `S` (which that readies in the call's own future, see [`call_ready`]).
macro_rules! stage {
    ($(#[$meta:meta])* pub struct $service:ident<S>($layer:ident) -> $response:ty;) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $service<S> {
            inner: S,
            stage: $layer,
        }

        impl<S> Layer<S> for $layer {
            type Service = $service<S>;
            fn layer(&self, inner: S) -> $service<S> {
                $service {
                    inner,
                    stage: self.clone(),
                }
            }
        }

        impl<S> Service<Job> for $service<S>
        where
            S: Service<Job, Response = Outcome, Error = Infallible> + Clone + Send + 'static,
            S::Future: Send,
        {
            always_ready!($response);

            fn call(&mut self, job: Job) -> Self::Future {
                Box::pin(self.stage.clone().run(self.inner.clone(), job))
            }
        }
    };
}

/// The service a stage wraps: the stages after it, down to [`Execute`].
trait Inner:
    Service<Job, Response = Outcome, Error = Infallible, Future: Send> + Clone + Send + 'static
{
}

impl<S> Inner for S where
    S: Service<Job, Response = Outcome, Error = Infallible, Future: Send> + Clone + Send + 'static
{
}

/// The execute and shape stages, as the innermost service.
#[derive(Clone)]
pub struct Execute {
    pipeline: Arc<Pipeline>,
    recorder: Option<Arc<Recorder>>,
    observer: Arc<dyn Observer>,
}

impl Service<Job> for Execute {
    always_ready!(Outcome);

    fn call(&mut self, job: Job) -> Self::Future {
        Box::pin(self.clone().run(job))
    }
}

impl Execute {
    async fn run(self, job: Job) -> Result<Outcome, Infallible> {
        let (pipeline, observer) = (&self.pipeline, &self.observer);
        let a = &job.assessment;
        // Fail closed: nothing runs unless its record can be written.
        if let Some(recorder) = &self.recorder
            && let Err(why) = recorder.ready()
        {
            tracing::warn!("portcullis: not executed, audit unavailable: {}", a.display);
            return Ok(Outcome::AuditUnavailable(why));
        }
        let started = Instant::now();
        // The caller's own AWS identity (a per-user role), else the server's credentials.
        let engine = match pipeline.engine_for(&job.caller).await {
            Ok(engine) => engine,
            Err(why) => {
                tracing::warn!("portcullis: not executed: {why}");
                return Ok(Outcome::Ran(Execution {
                    error_code: Some("credentials".into()),
                    ..Execution::failed(format!("not executed: {why}"), 255)
                }));
            }
        };
        let sending = pipeline.execute(&engine, a, job.approved.as_deref(), &*job.progress);
        let run = match job.deadline {
            None => pipeline.shape(a, sending.await, job.keep_response),
            Some(at) => match tokio::time::timeout_at(at, sending).await {
                Ok(raw) => pipeline.shape(a, raw, job.keep_response),
                Err(_) => past_deadline(),
            },
        };
        observer.stage("execute", started.elapsed().as_secs_f64());
        observer.retries(&a.request.service_cli_name, run.attempts.saturating_sub(1));
        tracing::info!(
            "portcullis: ran {} ({})",
            a.display,
            if run.ok { "ok" } else { "error" }
        );
        Ok(Outcome::Ran(run))
    }
}

/// A command stopped by its batch's deadline.
fn past_deadline() -> Execution {
    Execution {
        error_code: Some("deadline".into()),
        ..Execution::failed(
            "stopped: the call's deadline (PORTCULLIS_CALL_TIMEOUT, shared by every command of the call) passed \
             before this command finished; a request already sent may have taken effect. Split the batch or narrow the command"
                .into(),
            255,
        )
    }
}

/// Readies `inner` (tower's contract: `poll_ready` before `call`), then calls it with `job`. Each
/// stage clones its inner service into the call's future and readies it there, so a stage waiting
/// its turn (the limit) waits inside the command's own future, after the stages before it have
/// passed.
async fn call_ready<S: Inner>(mut inner: S, job: Job) -> Result<Outcome, Infallible> {
    std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
    inner.call(job).await
}

/// The consent stage: a command whose decision asks for consent goes on only with its approver's
/// approval of its digest.
#[derive(Clone)]
pub struct ConsentLayer {
    observer: Arc<dyn Observer>,
}

stage! {
    /// See [`ConsentLayer`].
    pub struct Consent<S>(ConsentLayer) -> Outcome;
}

impl ConsentLayer {
    async fn run<S: Inner>(self, inner: S, mut job: Job) -> Result<Outcome, Infallible> {
        if job.assessment.decision.is_consent() {
            let asking = Instant::now();
            let answer = job.approver.approve(&job.assessment).await;
            self.observer
                .stage("consent", asking.elapsed().as_secs_f64());
            // The person's time is not the command's.
            if let Some(at) = &mut job.deadline {
                *at += asking.elapsed();
            }
            let a = &job.assessment;
            match answer {
                // An approval of another request approves nothing (the execute stage checks
                // the digest of what it is about to run once more).
                Answer::Approved(digest) if digest != a.digest => {
                    tracing::info!(
                        "portcullis: approval for another request refused: {}",
                        a.display
                    );
                    let message = format!(
                        "not executed: `{}` is not the request the person approved (digest mismatch)",
                        a.command
                    );
                    return Ok(Outcome::NotApproved {
                        why: super::Refusal::Failed,
                        message,
                    });
                }
                Answer::Approved(digest) => {
                    tracing::info!("portcullis: approved {} ({digest})", a.display);
                    job.approved = Some(digest);
                }
                Answer::Refused { why, message } => {
                    tracing::info!("portcullis: {} {}", why.status(), a.display);
                    return Ok(Outcome::NotApproved { why, message });
                }
            }
        }
        call_ready(inner, job).await
    }
}

/// The decide stage: the decision made at assessment is enforced here; a denied command goes no
/// further.
#[derive(Clone, Default)]
pub struct DecideLayer;

stage! {
    /// See [`DecideLayer`].
    pub struct Decide<S>(DecideLayer) -> Outcome;
}

impl DecideLayer {
    async fn run<S: Inner>(self, inner: S, job: Job) -> Result<Outcome, Infallible> {
        let d = &job.assessment.decision;
        if d.is_deny() {
            tracing::info!(
                "portcullis: denied {} ({})",
                job.assessment.display,
                d.rule_ids.join(", ")
            );
            return Ok(Outcome::Denied);
        }
        call_ready(inner, job).await
    }
}

/// The record stage: the command's audit entry, from its assessment and outcome.
#[derive(Clone, Default)]
pub struct RecordLayer;

stage! {
    /// See [`RecordLayer`].
    pub struct Record<S>(RecordLayer) -> Recorded;
}

impl RecordLayer {
    async fn run<S: Inner>(self, inner: S, job: Job) -> Result<Recorded, Infallible> {
        let a = Arc::clone(&job.assessment);
        let outcome = call_ready(inner, job).await?;
        let entry = record::entry(&a, &outcome);
        Ok(Recorded { outcome, entry })
    }
}

/// Whether a command is sent to AWS (a skeleton is printed, never sent).
fn sends(a: &Assessment) -> bool {
    !matches!(a.parsed, Parsed::Skeleton(_))
}

/// The admit stage: the caller's rate limits, for a command that would be sent.
#[derive(Clone)]
pub struct AdmitLayer {
    limits: Arc<Limits>,
}

stage! {
    /// See [`AdmitLayer`].
    pub struct Admit<S>(AdmitLayer) -> Outcome;
}

impl AdmitLayer {
    async fn run<S: Inner>(self, inner: S, job: Job) -> Result<Outcome, Infallible> {
        if sends(&job.assessment) {
            let checked = match self.limits.check_rate(&job.caller) {
                Ok(()) => self.limits.check_shared_rate(&job.caller).await,
                Err(refused) => Err(refused),
            };
            if let Err(refused) = checked {
                tracing::info!(
                    "portcullis: {} {}",
                    refused.kind.status(),
                    job.assessment.display
                );
                return Ok(Outcome::Limited(refused));
            }
        }
        call_ready(inner, job).await
    }
}

/// The limit stage: the endpoint's breaker and the adaptive concurrency limit.
#[derive(Clone)]
pub struct LimitLayer {
    limits: Arc<Limits>,
    /// The default region (a command without `--region` goes there).
    region: Option<Arc<str>>,
}

stage! {
    /// See [`LimitLayer`].
    pub struct Limit<S>(LimitLayer) -> Outcome;
}

impl LimitLayer {
    async fn run<S: Inner>(self, inner: S, job: Job) -> Result<Outcome, Infallible> {
        let a = Arc::clone(&job.assessment);
        if !sends(&a) {
            return call_ready(inner, job).await;
        }
        let endpoint = Limits::endpoint(self.region.as_deref(), &a);
        let write = !matches!(
            a.request.access_level,
            Some(AccessLevel::List | AccessLevel::Read)
        );
        let admitting = self.limits.admit(&endpoint, write);
        let admitted = match job.deadline {
            None => admitting.await,
            Some(at) => match tokio::time::timeout_at(at, admitting).await {
                Ok(admitted) => admitted,
                Err(_) => return Ok(Outcome::Ran(past_deadline())),
            },
        };
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(refused) => {
                tracing::info!("portcullis: {} {}", refused.kind.status(), a.display);
                return Ok(Outcome::Limited(refused));
            }
        };
        let outcome = call_ready(inner, job).await?;
        if let Outcome::Ran(run) = &outcome {
            // One request's latency is a sample of the endpoint's; a paginated, retried or
            // composite command's is not.
            let single = matches!(a.parsed, Parsed::Call(_)) && run.attempts == 1;
            admitted.finish(run, single);
        }
        Ok(outcome)
    }
}

/// The whole stack, as built by [`Pipeline::stack`].
pub type Stack = Record<Decide<Admit<Consent<Limit<Execute>>>>>;

impl Pipeline {
    /// The stages a command runs through once assessed: record ∘ decide ∘ admit ∘ consent ∘
    /// limit ∘ execute. `recorder`: the audit trail that must be able to take the record before anything
    /// runs (`None`: no trail, as for `portcullis exec`, which leaves no record).
    pub fn stack(
        self: &Arc<Self>,
        recorder: Option<Arc<Recorder>>,
        observer: Arc<dyn Observer>,
    ) -> Stack {
        ServiceBuilder::new()
            .layer(RecordLayer)
            .layer(DecideLayer)
            .layer(AdmitLayer {
                limits: Arc::clone(&self.limits),
            })
            .layer(ConsentLayer {
                observer: Arc::clone(&observer),
            })
            .layer(LimitLayer {
                limits: Arc::clone(&self.limits),
                region: self.region.as_deref().map(Arc::from),
            })
            .service(Execute {
                pipeline: Arc::clone(self),
                recorder,
                observer,
            })
    }
}

/// Runs one job through `stack`.
pub async fn run(stack: &Stack, job: Job) -> Recorded {
    let mut stack = stack.clone();
    match stack.call(job).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

impl Pipeline {
    /// Runs a command the server makes on its own behalf (the identity and region lookups)
    /// through the same stages, with nobody to ask (a command that needs consent is refused) and
    /// no audit entry. Its output, or why there is none.
    pub async fn run_unattended(
        self: &Arc<Self>,
        a: Assessment,
    ) -> Result<serde_json::Value, String> {
        let stack = self.stack(None, Arc::new(Unobserved));
        let nobody = Refuse(|a| Answer::Refused {
            why: super::Refusal::Unavailable,
            message: format!(
                "`{}` needs approval, and the server does not ask for its own lookups",
                a.display
            ),
        });
        match run(
            &stack,
            Job::new(Arc::new(a), Arc::new(nobody)).keeping_response(),
        )
        .await
        .outcome
        {
            Outcome::Ran(e) if e.ok => e.response.ok_or_else(|| "no response document".to_string()),
            Outcome::Ran(e) => Err(e.error.unwrap_or_else(|| "failed".into())),
            Outcome::NotApproved { message, .. } | Outcome::AuditUnavailable(message) => {
                Err(message)
            }
            Outcome::Limited(r) => Err(r.message),
            other => Err(other.status().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts how many calls are inside it at once, and the most there ever were.
    #[derive(Clone, Default)]
    struct Busy {
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl Service<Job> for Busy {
        always_ready!(Outcome);

        fn call(&mut self, _job: Job) -> Self::Future {
            let (now, most) = (Arc::clone(&self.now), Arc::clone(&self.most));
            Box::pin(async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(Outcome::Checked)
            })
        }
    }

    /// `command`, assessed offline under `mode` (default region us-east-1).
    fn assessment(mode: portcullis_policy::Mode, command: &str) -> Assessment {
        let p = Pipeline::offline(
            portcullis_policy::Policy::new(mode),
            std::env::temp_dir(),
            Some("us-east-1".into()),
        )
        .unwrap();
        p.assess(command)
            .unwrap_or_else(|r| panic!("{}", r.message))
    }

    fn job() -> Job {
        Job::new(
            Arc::new(assessment(
                portcullis_policy::Mode::Unrestricted,
                "aws s3api list-buckets",
            )),
            Arc::new(Refuse(|_| Answer::Refused {
                why: super::super::Refusal::Unavailable,
                message: String::new(),
            })),
        )
    }

    fn limits(per_endpoint: usize, queue: usize) -> Arc<Limits> {
        use portcullis_resilience::limit::LimitConfig;
        Arc::new(Limits::new(super::super::limits::LimitSettings {
            per_endpoint: LimitConfig {
                initial: per_endpoint,
                min: 1,
                max: per_endpoint,
                queue,
                ..LimitConfig::default()
            },
            ..Default::default()
        }))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_limit_stage_lets_only_so_many_run_at_once() {
        for (permits, expect) in [(1, 1), (3, 3)] {
            let busy = Busy::default();
            let limited = LimitLayer {
                limits: limits(permits, 16),
                region: None,
            }
            .layer(busy.clone());
            let runs: Vec<_> = (0..6)
                .map(|_| {
                    let s = limited.clone();
                    tokio::spawn(call_ready(s, job()))
                })
                .collect();
            for r in runs {
                assert!(matches!(r.await.unwrap(), Ok(Outcome::Checked)));
            }
            assert_eq!(
                busy.most.load(Ordering::SeqCst),
                expect,
                "{permits} permit(s)"
            );
        }
    }

    /// Answers every call as the endpoint would: with HTTP `status` (200: success).
    #[derive(Clone)]
    struct Endpoint {
        status: u16,
        calls: Arc<AtomicUsize>,
    }

    impl Service<Job> for Endpoint {
        always_ready!(Outcome);

        fn call(&mut self, _job: Job) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let status = self.status;
            Box::pin(async move {
                Ok(Outcome::Ran(Execution {
                    ok: status == 200,
                    http_status: (status != 200).then_some(status),
                    attempts: 1,
                    ..Execution::default()
                }))
            })
        }
    }

    fn assessed(mode: portcullis_policy::Mode, command: &str) -> Job {
        Job::new(
            Arc::new(assessment(mode, command)),
            Arc::new(Refuse(|a| Answer::Approved(a.digest.clone()))),
        )
    }

    #[tokio::test]
    async fn five_server_errors_open_the_breaker_and_then_calls_fail_fast_without_being_sent() {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut s = LimitLayer {
            limits: limits(8, 8),
            region: None,
        }
        .layer(Endpoint {
            status: 503,
            calls: Arc::clone(&calls),
        });
        for _ in 0..5 {
            let out = s.call(job()).await.unwrap();
            assert!(matches!(out, Outcome::Ran(ref e) if !e.ok), "{out:?}");
        }
        let started = Instant::now();
        let out = s.call(job()).await.unwrap();
        let took = started.elapsed();
        match out {
            Outcome::Limited(r) => {
                assert_eq!(r.kind, super::super::limits::LimitKind::BreakerOpen);
                assert!(r.message.contains("s3/us-east-1"), "{}", r.message);
                assert!(r.message.contains("HTTP 503"), "{}", r.message);
                assert!(r.message.contains("retry after"), "{}", r.message);
                assert!(r.retry_after > std::time::Duration::ZERO);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 5, "the sixth was not sent");
        assert!(took < std::time::Duration::from_millis(50), "{took:?}");
        // Another endpoint (another region) is not affected.
        let other = assessed(
            portcullis_policy::Mode::Unrestricted,
            "aws s3api list-buckets --region eu-west-1",
        );
        assert!(matches!(s.call(other).await.unwrap(), Outcome::Ran(_)));
    }

    #[tokio::test]
    async fn a_write_to_an_impaired_endpoint_is_refused_rather_than_queued() {
        let lim = limits(1, 8);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut failing = LimitLayer {
            limits: Arc::clone(&lim),
            region: None,
        }
        .layer(Endpoint {
            status: 500,
            calls: Arc::clone(&calls),
        });
        let write = || {
            assessed(
                portcullis_policy::Mode::Unrestricted,
                "aws s3api create-bucket --bucket b",
            )
        };
        // One failure: the endpoint is impaired (not yet open).
        assert!(matches!(
            failing.call(write()).await.unwrap(),
            Outcome::Ran(_)
        ));
        // Its only slot is taken by a slow read ...
        let slot = lim.admit("s3/us-east-1", false).await.ok().unwrap();
        // ... so a write is refused at once, and nothing waits in the queue.
        let started = Instant::now();
        match failing.call(write()).await.unwrap() {
            Outcome::Limited(r) => {
                assert_eq!(r.kind, super::super::limits::LimitKind::Overloaded);
                assert!(r.message.contains("rather than queued"), "{}", r.message);
            }
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let mut m = String::new();
        lim.render_metrics(&mut m);
        assert!(m.contains("portcullis_calls_queued 0"), "{m}");
        assert!(
            m.contains("portcullis_limit_refusals_total{kind=\"overloaded\"} 1"),
            "{m}"
        );
        drop(slot);
    }

    #[tokio::test]
    async fn the_admit_stage_refuses_over_the_session_rate_before_anyone_is_asked() {
        use portcullis_resilience::rate::Rate;
        let lim = Arc::new(Limits::new(super::super::limits::LimitSettings {
            per_session: Rate::new(0.001, 2).unwrap(),
            ..Default::default()
        }));
        let busy = Busy::default();
        let mut s = AdmitLayer {
            limits: Arc::clone(&lim),
        }
        .layer(busy.clone());
        let caller = |session: &str| Caller {
            principal: Arc::from("owner"),
            session: Arc::from(session),
            role: None,
        };
        for _ in 0..2 {
            let out = s.call(job().for_caller(caller("a"))).await.unwrap();
            assert!(matches!(out, Outcome::Checked), "{out:?}");
        }
        let out = s.call(job().for_caller(caller("a"))).await.unwrap();
        let Outcome::Limited(r) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r.kind, super::super::limits::LimitKind::RateLimited);
        assert!(r.message.contains("this session"), "{}", r.message);
        // The audit entry has the refusal's own kind.
        let a = job().assessment;
        let entry = record::entry(&a, &Outcome::Limited(r));
        let e = entry.execution.unwrap();
        assert_eq!(e.status, portcullis_audit::ExecStatus::Limited);
        assert_eq!(e.error_code.as_deref(), Some("rate_limited"));
        // Another session has its own bucket.
        let out = s.call(job().for_caller(caller("b"))).await.unwrap();
        assert!(matches!(out, Outcome::Checked), "{out:?}");
        assert_eq!(busy.most.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_denied_command_never_reaches_the_inner_stages() {
        let busy = Busy::default();
        let a = assessment(
            portcullis_policy::Mode::ReadOnly,
            "aws s3api create-bucket --bucket b",
        );
        assert!(a.decision.is_deny());
        let mut s = DecideLayer.layer(busy.clone());
        let out = s
            .call(Job::new(
                Arc::new(a),
                Arc::new(Refuse(|_| Answer::Approved(String::new()))),
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Denied));
        assert_eq!(busy.most.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_approval_of_another_digest_is_refused_before_the_inner_stages() {
        let busy = Busy::default();
        let a = assessment(
            portcullis_policy::Mode::Guarded,
            "aws s3api create-bucket --bucket b",
        );
        assert!(a.decision.is_consent());
        let mut s = ConsentLayer {
            observer: Arc::new(Unobserved),
        }
        .layer(busy.clone());
        let out = s
            .call(Job::new(
                Arc::new(a),
                Arc::new(Refuse(|_| Answer::Approved("f".repeat(64)))),
            ))
            .await
            .unwrap();
        assert!(
            matches!(
                out,
                Outcome::NotApproved {
                    why: super::super::Refusal::Failed,
                    ..
                }
            ),
            "{out:?}"
        );
        assert_eq!(busy.most.load(Ordering::SeqCst), 0);
    }
}
