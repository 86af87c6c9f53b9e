//! Masking follows what a value is, driven through the pipeline library against moto (no MCP
//! client): an SSM `String` parameter reads as its value with nothing listed as masked; a
//! `SecureString` read without `--with-decryption` is masked and listed (`Parameter.Value`,
//! why, and how to get it, worded from the policy in force); with `--with-decryption` it is a
//! secret read, decided on (here: approved), and shown whole. No secret value is printed by a
//! failing assertion, nor reaches the audit entry. Needs the project venv (moto).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the shared support starts moto

mod support;

use std::pin::Pin;
use std::sync::Arc;

use portcullis::pipeline::stages::run;
use portcullis::pipeline::{
    Answer, Approver, Assessment, Execution, Job, Outcome, Pipeline, Recorded, Unobserved,
};
use portcullis_policy::Policy;
use support::moto::Moto;

const PLAIN: &str = "plain-value-3e1a";
const SECRET: &str = "MaskingSecret-7c42f0";

/// Approves exactly what it is asked about, and counts the questions.
struct Yes(std::sync::atomic::AtomicUsize);

impl Approver for Yes {
    fn approve<'a>(
        &'a self,
        a: &'a Assessment,
    ) -> Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let digest = a.digest.clone();
        Box::pin(async move { Answer::Approved(digest) })
    }
}

fn pipeline(moto: &Moto, policy: &str) -> Arc<Pipeline> {
    Arc::new(support::pipeline::pipeline(
        Policy::from_json(policy).unwrap(),
        support::pipeline::engine_config(&moto.endpoint()),
        "masking",
    ))
}

async fn go(p: &Arc<Pipeline>, command: &str, yes: &Arc<Yes>) -> Recorded {
    let a = p
        .assess(command)
        .unwrap_or_else(|r| panic!("{command}: {}", r.message));
    let stack = p.stack(None, Arc::new(Unobserved));
    run(
        &stack,
        Job::new(Arc::new(a), Arc::clone(yes) as Arc<dyn Approver>),
    )
    .await
}

/// The execution of a command that ran and succeeded (its output never printed: it may hold
/// the secret).
fn ran(r: &Recorded, what: &str) -> Execution {
    let Outcome::Ran(run) = &r.outcome else {
        panic!("{what}: did not run: {}", r.outcome.status())
    };
    assert!(
        run.ok,
        "{what}: failed: {:?}",
        run.error.as_deref().map(|e| e.replace(SECRET, "<secret>"))
    );
    run.clone()
}

fn asked(yes: &Yes) -> usize {
    yes.0.load(std::sync::atomic::Ordering::SeqCst)
}

async fn put_parameters(p: &Arc<Pipeline>, yes: &Arc<Yes>) {
    for command in [
        format!("aws ssm put-parameter --name /app/plain --type String --value {PLAIN}"),
        format!("aws ssm put-parameter --name /app/secret --type SecureString --value {SECRET}"),
    ] {
        let r = go(p, &command, yes).await;
        ran(&r, "put-parameter");
        assert!(!serde_json::to_string(&r.entry).unwrap().contains(SECRET));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masking_follows_the_parameter_type_and_says_how_to_read_it() {
    let moto = Moto::start();
    moto.reset();
    let p = pipeline(&moto, r#"{"mode": "guarded"}"#);
    let yes = Arc::new(Yes(Default::default()));
    put_parameters(&p, &yes).await;
    let before = asked(&yes);

    // A String parameter: its value, nothing masked, nothing asked.
    let r = go(&p, "aws ssm get-parameter --name /app/plain", &yes).await;
    let run = ran(&r, "get-parameter String");
    let out: serde_json::Value = serde_json::from_str(&run.output).unwrap();
    assert_eq!(out["Parameter"]["Value"], PLAIN, "{}", run.output);
    assert!(run.masked.is_empty(), "{:?}", run.masked);
    assert_eq!(run.masked_note(), None);
    assert_eq!(run.agent_text(), run.shown_output());
    assert_eq!(asked(&yes), before, "a plain read asks no one");

    // A SecureString read without decryption: masked, and the agent is told why and how.
    let r = go(&p, "aws ssm get-parameter --name /app/secret", &yes).await;
    let run = ran(&r, "get-parameter SecureString");
    assert!(!run.output.contains(SECRET), "{}", run.output);
    let out: serde_json::Value = serde_json::from_str(&run.output).unwrap();
    assert_eq!(out["Parameter"]["Value"], "****", "{}", run.output);
    assert_eq!(out["Parameter"]["Type"], "SecureString");
    assert_eq!(run.masked.len(), 1, "{:?}", run.masked);
    assert_eq!(run.masked[0].path, "Parameter.Value");
    assert_eq!(run.masked[0].why, "SecureString parameter");
    assert_eq!(
        run.masked[0].how,
        "run the command again with --with-decryption; that is a secret read, so a person is asked for consent before it runs"
    );
    assert_eq!(
        run.masked_note().unwrap(),
        "[portcullis] masked 1 value as ****, not the real value: Parameter.Value (SecureString parameter): \
         run the command again with --with-decryption; that is a secret read, so a person is asked for consent before it runs."
    );
    let text = run.agent_text();
    assert!(text.starts_with(&run.output), "{text}");
    assert!(text.trim_end().ends_with("before it runs."), "{text}");
    assert!(!serde_json::to_string(&r.entry).unwrap().contains(SECRET));
    assert_eq!(asked(&yes), before);

    // --query selects the masked value: still the mask, still listed.
    let r = go(
        &p,
        "aws ssm get-parameter --name /app/secret --query Parameter.Value --output text",
        &yes,
    )
    .await;
    let run = ran(&r, "get-parameter --query");
    assert_eq!(run.output.trim(), "****");
    assert_eq!(run.masked.len(), 1);

    // Several at once: only the SecureString one, at its index.
    let r = go(
        &p,
        "aws ssm get-parameters --names /app/plain /app/secret",
        &yes,
    )
    .await;
    let run = ran(&r, "get-parameters");
    assert!(!run.output.contains(SECRET));
    assert!(run.output.contains(PLAIN), "{}", run.output);
    let paths: Vec<&str> = run.masked.iter().map(|m| m.path.as_str()).collect();
    let out: serde_json::Value = serde_json::from_str(&run.output).unwrap();
    let secret_at = out["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["Name"] == "/app/secret")
        .unwrap();
    assert_eq!(paths, [format!("Parameters[{secret_at}].Value")]);
    let r = go(&p, "aws ssm get-parameters-by-path --path /app", &yes).await;
    let run = ran(&r, "get-parameters-by-path");
    assert!(!run.output.contains(SECRET));
    assert!(run.output.contains(PLAIN), "{}", run.output);
    assert_eq!(run.masked.len(), 1, "{:?}", run.masked);
    let r = go(&p, "aws ssm get-parameter-history --name /app/secret", &yes).await;
    let run = ran(&r, "get-parameter-history");
    assert!(!run.output.contains(SECRET));
    assert_eq!(run.masked.len(), 1, "{:?}", run.masked);
    assert_eq!(run.masked[0].path, "Parameters[0].Value");
    assert_eq!(asked(&yes), before, "reads without decryption ask no one");

    // With --with-decryption: a secret read, asked about (and approved here), shown whole.
    let r = go(
        &p,
        "aws ssm get-parameter --name /app/secret --with-decryption",
        &yes,
    )
    .await;
    let run = ran(&r, "get-parameter --with-decryption");
    assert_eq!(asked(&yes), before + 1, "the secret read was asked about");
    assert!(
        run.output.contains(SECRET),
        "the approved secret read shows the value"
    );
    assert!(run.masked.is_empty(), "{:?}", run.masked);
    assert_eq!(run.masked_note(), None);
    assert!(
        !serde_json::to_string(&r.entry).unwrap().contains(SECRET),
        "the audit entry never holds the value"
    );
}

/// The hint is worded from the policy in force: unrestricted mode allows the secret read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hint_follows_the_policy() {
    let moto = Moto::start();
    moto.reset();
    let p = pipeline(&moto, r#"{"mode": "unrestricted"}"#);
    let yes = Arc::new(Yes(Default::default()));
    put_parameters(&p, &yes).await;
    let r = go(&p, "aws ssm get-parameter --name /app/secret", &yes).await;
    let run = ran(&r, "get-parameter SecureString");
    assert!(!run.output.contains(SECRET));
    assert_eq!(run.masked.len(), 1);
    assert_eq!(
        run.masked[0].how,
        "run the command again with --with-decryption; the policy allows that secret read without asking"
    );
    let r = go(&p, "aws ssm get-parameter --name /app/plain", &yes).await;
    assert!(ran(&r, "get-parameter String").masked.is_empty());
    assert_eq!(asked(&yes), 0);
}
