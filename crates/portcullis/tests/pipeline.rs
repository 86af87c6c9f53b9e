//! The pipeline library driven from Rust, end to end against moto server: assess → decide →
//! consent → limit → execute → shape → record, with no MCP client and no binary. Each test makes
//! a pipeline from its parts (an engine signing with test credentials, aimed at moto) and runs
//! commands through [`Pipeline::stack`], checking the typed [`Outcome`], the audit entry and what
//! moto holds afterwards. Needs the project venv (moto): scripts/test.sh provides it, and its
//! absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the shared support starts moto

mod support;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use portcullis::pipeline::stages::run;
use portcullis::pipeline::{
    Answer, Approver, Assessment, Job, Outcome, Pipeline, Refusal, Unobserved,
};
use portcullis_audit::{ConsentOutcome, DecisionOutcome, ExecStatus};
use portcullis_policy::Policy;
use support::moto::Moto;

/// A pipeline whose engine signs with moto's test credentials and sends everything to `moto`.
fn pipeline(moto: &Moto, policy: &str) -> Arc<Pipeline> {
    Arc::new(support::pipeline::pipeline(
        Policy::from_json(policy).unwrap(),
        support::pipeline::engine_config(&moto.endpoint()),
        "pipeline",
    ))
}

/// An approver that gives a fixed answer for whatever it is asked, and counts the questions.
struct Scripted {
    answer: Box<dyn Fn(&Assessment) -> Answer + Send + Sync>,
    asked: AtomicUsize,
}

impl Approver for Scripted {
    fn approve<'a>(
        &'a self,
        a: &'a Assessment,
    ) -> Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let answer = (self.answer)(a);
        Box::pin(async move { answer })
    }
}

fn approver(answer: impl Fn(&Assessment) -> Answer + Send + Sync + 'static) -> Arc<Scripted> {
    Arc::new(Scripted {
        answer: Box::new(answer),
        asked: AtomicUsize::new(0),
    })
}

fn approve_exactly() -> Arc<Scripted> {
    approver(|a| Answer::Approved(a.digest.clone()))
}

async fn go(
    p: &Arc<Pipeline>,
    command: &str,
    who: Arc<Scripted>,
) -> portcullis::pipeline::Recorded {
    let a = p
        .assess(command)
        .unwrap_or_else(|r| panic!("{command}: {}", r.message));
    let stack = p.stack(None, Arc::new(Unobserved));
    run(&stack, Job::new(Arc::new(a), who)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_runs_without_asking_and_is_recorded() {
    let moto = Moto::start();
    let p = pipeline(&moto, r#"{"mode": "guarded"}"#);
    let who = approve_exactly();
    let r = go(&p, "aws s3api list-buckets", Arc::clone(&who)).await;
    let Outcome::Ran(run) = &r.outcome else {
        panic!("not run: {:?}", r.outcome)
    };
    assert!(run.ok, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.output).unwrap();
    assert!(doc.get("Buckets").is_some(), "{doc}");
    assert_eq!(
        who.asked.load(Ordering::SeqCst),
        0,
        "a read is not asked about"
    );
    assert_eq!(
        r.entry.decision.as_ref().unwrap().outcome,
        DecisionOutcome::Allow
    );
    assert_eq!(r.entry.execution.as_ref().unwrap().status, ExecStatus::Ok);
    assert!(r.entry.consent.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_runs_only_with_its_digest_approved() {
    let moto = Moto::start();
    let p = pipeline(&moto, r#"{"mode": "guarded"}"#);

    // Declined: nothing is sent.
    let r = go(
        &p,
        "aws s3api create-bucket --bucket declined-bucket",
        approver(|_| Answer::Refused {
            why: Refusal::Declined,
            message: "no".into(),
        }),
    )
    .await;
    assert!(
        matches!(
            r.outcome,
            Outcome::NotApproved {
                why: Refusal::Declined,
                ..
            }
        ),
        "{:?}",
        r.outcome
    );
    assert_eq!(
        r.entry.consent.as_ref().unwrap().outcome,
        ConsentOutcome::Declined
    );
    assert_eq!(
        r.entry.execution.as_ref().unwrap().status,
        ExecStatus::NotRun
    );
    assert!(!moto.bucket_exists("declined-bucket"));

    // Approved, but another request's digest: nothing is sent.
    let r = go(
        &p,
        "aws s3api create-bucket --bucket other-bucket",
        approver(|_| Answer::Approved("0".repeat(64))),
    )
    .await;
    assert!(!r.outcome.succeeded(), "{:?}", r.outcome);
    assert!(!moto.bucket_exists("other-bucket"));

    // Approved, this digest: it runs, once.
    let who = approve_exactly();
    let r = go(
        &p,
        "aws s3api create-bucket --bucket approved-bucket",
        Arc::clone(&who),
    )
    .await;
    assert!(r.outcome.succeeded(), "{:?}", r.outcome);
    assert_eq!(who.asked.load(Ordering::SeqCst), 1);
    assert_eq!(
        r.entry.consent.as_ref().unwrap().outcome,
        ConsentOutcome::Approved
    );
    assert!(moto.bucket_exists("approved-bucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_command_is_never_asked_about_or_sent() {
    let moto = Moto::start();
    let p = pipeline(
        &moto,
        r#"{"mode": "unrestricted", "rules": [{"id": "no-buckets", "effect": "deny", "actions": ["s3:CreateBucket"]}]}"#,
    );
    let who = approve_exactly();
    // `aws s3 mb` makes CreateBucket: the rule on the action reaches it.
    let r = go(&p, "aws s3 mb s3://denied-bucket", Arc::clone(&who)).await;
    assert!(matches!(r.outcome, Outcome::Denied), "{:?}", r.outcome);
    assert_eq!(who.asked.load(Ordering::SeqCst), 0);
    assert_eq!(
        r.entry.decision.as_ref().unwrap().rule_ids,
        vec!["no-buckets".to_string()]
    );
    assert_eq!(
        r.entry.execution.as_ref().unwrap().error_code.as_deref(),
        Some("denied")
    );
    assert!(!moto.bucket_exists("denied-bucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_parameters_are_masked_in_the_record_and_scrubbed_from_errors() {
    let moto = Moto::start();
    let p = pipeline(&moto, r#"{"mode": "unrestricted"}"#);
    let secret = "Pipeline-Secret-4711";
    let r = go(
        &p,
        &format!("aws ssm put-parameter --name /app/db --type SecureString --value {secret}"),
        approve_exactly(),
    )
    .await;
    assert!(r.outcome.succeeded(), "{:?}", r.outcome);
    let entry = serde_json::to_string(&r.entry).unwrap();
    assert!(!entry.contains(secret), "{entry}");
    assert_eq!(r.entry.params.as_ref().unwrap()["Value"], "****");
    // Again without --overwrite: moto refuses, and the error never quotes the value.
    let r = go(
        &p,
        &format!("aws ssm put-parameter --name /app/db --type SecureString --value {secret}"),
        approve_exactly(),
    )
    .await;
    let Outcome::Ran(run) = &r.outcome else {
        panic!("not run: {:?}", r.outcome)
    };
    assert!(!run.ok);
    assert_eq!(run.exit_code, 254, "{run:?}");
    assert!(!format!("{run:?}").contains(secret), "{run:?}");
    assert!(!serde_json::to_string(&r.entry).unwrap().contains(secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_a_batch_passes_every_stage_once() {
    let moto = Moto::start();
    let p = pipeline(&moto, r#"{"mode": "guarded"}"#);
    let stack = p.stack(None, Arc::new(Unobserved));
    let who = approve_exactly();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let commands = [
        "aws s3api create-bucket --bucket batch-1",
        "aws s3api list-buckets",
        "aws s3api create-bucket --bucket batch-2",
    ];
    let jobs = commands.into_iter().map(|c| {
        let (stack, who, seen, p) = (
            stack.clone(),
            Arc::clone(&who),
            Arc::clone(&seen),
            Arc::clone(&p),
        );
        async move {
            let a = Arc::new(p.assess(c).unwrap_or_else(|r| panic!("{c}: {}", r.message)));
            let r = run(&stack, Job::new(a, who)).await;
            seen.lock()
                .unwrap()
                .push((c.to_string(), r.outcome.status()));
        }
    });
    futures_join(jobs).await;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec!["success"; 3],
        "{seen:?}"
    );
    // Two writes, two questions.
    assert_eq!(who.asked.load(Ordering::SeqCst), 2);
    assert!(moto.bucket_exists("batch-1") && moto.bucket_exists("batch-2"));
}

/// Runs the futures concurrently on the test's runtime.
async fn futures_join(
    jobs: impl Iterator<Item = impl std::future::Future<Output = ()> + Send + 'static>,
) {
    let handles: Vec<_> = jobs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}
