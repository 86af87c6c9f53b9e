//! `aws cloudformation deploy` end to end against moto server: the same sequence of deploys runs
//! with the pinned awscli and with `portcullis exec` (natively), each from a fresh moto state —
//! a new stack, the same template again (no changes, with and without
//! `--no-fail-on-empty-changeset`), a parameter override with tags, `--no-execute-changeset`, a
//! YAML template with `!Ref` — and each step's exit code, stdout and stderr must be the same
//! (change-set ids normalized), and so must the stacks and queues left behind (read with awscli).
//!
//! Spawns programs (the binary, moto, awscli); needs the project venv, whose absence fails the
//! test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, awscli

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::e2e::e2e_dir;
use support::moto::{Moto, venv_python};

fn env_for(cmd: &mut Command, home: &Path) {
    support::e2e::clean_env(cmd, &e2e_dir(), home);
}

fn words(cmd: &str, endpoint: &str) -> Vec<String> {
    let mut w = portcullis_cli::words::split_words(cmd).unwrap();
    w.extend([
        "--endpoint-url".to_string(),
        endpoint.to_string(),
        "--region".to_string(),
        "us-east-1".to_string(),
    ]);
    w
}

#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn awscli(cmd: &str, endpoint: &str, home: &Path) -> Run {
    let w = words(cmd, endpoint);
    let mut c = Command::new(venv_python());
    c.arg("-m").arg("awscli").args(&w[1..]);
    env_for(&mut c, home);
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn portcullis(cmd: &str, endpoint: &str, home: &Path) -> Run {
    let w = words(cmd, endpoint);
    let line = w
        .iter()
        .map(|x| format!("'{}'", x.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.arg("exec").arg(line);
    env_for(&mut c, home);
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Change-set names and ids (a time and a UUID) as `<CHANGESET>`.
fn normalize(s: &str) -> String {
    let re = regex::Regex::new(r"arn:aws:cloudformation:[^ \n]*changeSet/awscli-cloudformation-package-deploy-\d+/[0-9a-f-]+").unwrap();
    re.replace_all(s, "<CHANGESET>").into_owned()
}

const STEPS: &[&str] = &[
    "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name dq",
    "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name dq",
    "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name dq --no-fail-on-empty-changeset",
    "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name dq --parameter-overrides QueueName=deploy-q2 --tags team=blue",
    "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name dq2 --no-execute-changeset --parameter-overrides Delay=5",
    "aws cloudformation deploy --template-file files/deploy-queue.yaml --stack-name dy --disable-rollback",
];

const STATE: &[&str] = &[
    "aws cloudformation describe-stacks --query 'sort_by(Stacks,&StackName)[].[StackName,StackStatus,Parameters,Tags,DisableRollback,Outputs]'",
    "aws sqs list-queues",
];

#[test]
fn deploy_runs_as_the_awscli_runs_it() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let home = std::env::temp_dir().join(format!("portcullis-e2e-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut results: Vec<(Vec<Run>, Vec<Run>)> = Vec::new();
    let started = Instant::now();
    for who in ["awscli", "portcullis"] {
        moto.reset();
        let steps: Vec<Run> = STEPS
            .iter()
            .map(|s| {
                let r = if who == "awscli" {
                    awscli(s, &endpoint, &home)
                } else {
                    portcullis(s, &endpoint, &home)
                };
                Run {
                    code: r.code,
                    stdout: normalize(&r.stdout),
                    stderr: normalize(&r.stderr),
                }
            })
            .collect();
        let state: Vec<Run> = STATE.iter().map(|s| awscli(s, &endpoint, &home)).collect();
        results.push((steps, state));
    }
    let _ = std::fs::remove_dir_all(&home);
    let (theirs, ours) = (&results[0], &results[1]);
    let mut failures = Vec::new();
    for (i, (t, o)) in theirs.0.iter().zip(&ours.0).enumerate() {
        if t != o {
            failures.push(format!(
                "`{}`:\n--- awscli\n{t:#?}\n--- portcullis\n{o:#?}",
                STEPS[i]
            ));
        }
    }
    for (i, (t, o)) in theirs.1.iter().zip(&ours.1).enumerate() {
        if t != o {
            failures.push(format!(
                "state `{}`:\n--- after awscli\n{t:#?}\n--- after portcullis\n{o:#?}",
                STATE[i]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The sequence covers success, no changes (exit 255) and a change set left to review.
    let codes: Vec<i32> = theirs.0.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 255, 255, 0, 0, 0], "{:#?}", theirs.0);
    assert!(
        theirs.0[0]
            .stdout
            .contains("Successfully created/updated stack - dq")
    );
    assert!(
        theirs.0[4]
            .stdout
            .contains("describe-change-set --change-set-name <CHANGESET>"),
        "{:#?}",
        theirs.0[4]
    );
    assert!(
        theirs.1[0].stdout.contains("deploy-q2")
            && theirs.1[0].stdout.contains("REVIEW_IN_PROGRESS"),
        "{:#?}",
        theirs.1[0]
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// What a deploy that cannot run says before anything is sent: no `--s3-bucket` upload yet, no
/// template that cannot be read.
#[test]
fn deploy_refusals_are_said_before_anything_runs() {
    let home = std::env::temp_dir().join(format!(
        "portcullis-e2e-deploy-refusals-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&home).unwrap();
    // Nothing listens here: a refusal must come before any connection.
    let endpoint = "http://127.0.0.1:9";
    let r = portcullis(
        "aws cloudformation deploy --template-file files/deploy-queue.json --stack-name s --s3-bucket b",
        endpoint,
        &home,
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--s3-bucket is not run yet"), "{r:#?}");
    let r = portcullis(
        "aws cloudformation deploy --template-file files/missing.json --stack-name s",
        endpoint,
        &home,
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("Invalid template path files/missing.json"),
        "{r:#?}"
    );
    let _ = std::fs::remove_dir_all(&home);
}
