//! `aws <command> wait <waiter>` end to end against moto server.
//!
//! * Every case of tests/e2e/wait_corpus.txt runs with the pinned awscli and with `portcullis
//!   exec` (natively: no awscli, no Python), each from a fresh moto state: exit codes, stdout and
//!   stderr must be the same — success (nothing printed, 0), terminal failure, an error no
//!   acceptor names, max attempts (255 and botocore's `Waiter <Name> failed: ...`).
//! * Through `portcullis serve` and the official MCP Python client: a wait that polls several
//!   times sends `notifications/progress` while it waits (the resource appears during the wait),
//!   and a wait longer than the per-call deadline stops with an error that says so and how to go
//!   on — in a batch, whose progress keeps growing across its commands.
//!
//! Needs the project venv (moto, awscli, mcp); its absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, awscli, the Python client

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::e2e::{corpus, e2e_dir};
use support::mcp::{McpEnv, first};
use support::moto::{Moto, venv_python};

fn env_for(cmd: &mut Command, home: &Path) {
    support::e2e::clean_env(cmd, &e2e_dir(), home);
}

/// The command's words with `$NAME` replaced, and the endpoint and region added.
fn words(cmd: &str, endpoint: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut cmd = cmd.to_string();
    for (k, v) in vars {
        cmd = cmd.replace(&format!("${k}"), v);
    }
    let mut w = portcullis_cli::words::split_words(&cmd).unwrap();
    w.extend([
        "--endpoint-url".to_string(),
        endpoint.to_string(),
        "--region".to_string(),
        "us-east-1".to_string(),
    ]);
    w
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn awscli(cmd: &str, endpoint: &str, home: &Path, vars: &HashMap<String, String>) -> Run {
    let w = words(cmd, endpoint, vars);
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

fn portcullis(cmd: &str, endpoint: &str, home: &Path, vars: &HashMap<String, String>) -> Run {
    let w = words(cmd, endpoint, vars);
    // Re-quote for our own word splitter: single quotes around every word.
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

fn home(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("portcullis-e2e-wait-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn waiters_end_as_the_awscli_ends_them() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let home = home("corpus");
    let cases = corpus("wait_corpus.txt");
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let mut failures = Vec::new();
    let (mut succeeded, mut failed) = (0, 0);
    for case in &cases {
        let mut runs = Vec::new();
        for who in ["awscli", "portcullis"] {
            moto.reset();
            let mut vars = HashMap::new();
            for s in &case.setup {
                let (var, cmd) = match s
                    .split_once('=')
                    .filter(|(v, _)| v.chars().all(|c| c.is_ascii_uppercase()))
                {
                    Some((v, cmd)) => (Some(v.to_string()), cmd),
                    None => (None, s.as_str()),
                };
                let r = awscli(cmd, &endpoint, &home, &vars);
                assert_eq!(r.code, 0, "{}: setup `{s}` failed: {}", case.name, r.stderr);
                if let Some(v) = var {
                    vars.insert(v, r.stdout.trim().to_string());
                }
            }
            let started = Instant::now();
            let run = if who == "awscli" {
                awscli(&case.run, &endpoint, &home, &vars)
            } else {
                portcullis(&case.run, &endpoint, &home, &vars)
            };
            // What the setup created differs between the two runs.
            let norm = |s: &str| {
                vars.iter()
                    .fold(s.to_string(), |s, (k, v)| s.replace(v, &format!("<{k}>")))
            };
            runs.push((
                run.code,
                norm(&run.stdout),
                norm(&run.stderr),
                started.elapsed(),
            ));
        }
        let (theirs, ours) = (&runs[0], &runs[1]);
        if theirs.0 == 0 {
            succeeded += 1;
        } else {
            failed += 1;
        }
        let mut problems = Vec::new();
        if theirs.0 != ours.0 {
            problems.push(format!(
                "exit codes differ: awscli {}, portcullis {}",
                theirs.0, ours.0
            ));
        }
        if theirs.1 != ours.1 {
            problems.push(format!(
                "stdout differs:\n--- awscli\n{}\n--- portcullis\n{}",
                theirs.1, ours.1
            ));
        }
        if theirs.2 != ours.2 {
            problems.push(format!(
                "stderr differs:\n--- awscli\n{}\n--- portcullis\n{}",
                theirs.2, ours.2
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: `{}` ({:?} vs {:?})\n{}",
                case.name,
                case.run,
                theirs.3,
                ours.3,
                problems.join("\n")
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        succeeded >= 5 && failed >= 4,
        "{succeeded} cases succeed, {failed} fail: the corpus should have both"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The progress notifications of a client result, as (progress, total, message, seconds).
fn progress(v: &Value) -> Vec<(f64, Option<f64>, String, f64)> {
    v["progress"]
        .as_array()
        .unwrap_or_else(|| panic!("no progress recorded: {v}"))
        .iter()
        .map(|p| {
            (
                p["progress"].as_f64().unwrap(),
                p["total"].as_f64(),
                p["message"].as_str().unwrap_or_default().to_string(),
                p["seconds"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_wait_reports_progress_over_mcp_while_it_polls() {
    let moto = Moto::start();
    moto.reset();
    let endpoint = moto.endpoint();
    let mut env = McpEnv::new("e2e-wait-progress");
    env.set("PORTCULLIS_MODE", "unrestricted")
        .set("PORTCULLIS_CALL_TIMEOUT", "30");
    // The role appears a few seconds into the wait (RoleExists polls every second).
    let late = {
        let endpoint = endpoint.clone();
        let home = env.home.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(5));
            let r = awscli(
                "aws iam create-role --role-name late --assume-role-policy-document file://files/trust.json",
                &endpoint,
                &home,
                &HashMap::new(),
            );
            assert_eq!(r.code, 0, "create-role: {}", r.stderr);
        })
    };
    let args = json!({ "cli_command": format!("aws iam wait role-exists --role-name late --endpoint-url {endpoint}") }).to_string();
    let v = env.client(&["call", "call_aws", &args, "--progress"]);
    late.join().unwrap();
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert_eq!(first(&v)["output"], "", "a waiter prints nothing: {v}");
    let notes = progress(&v);
    assert!(notes.len() >= 2, "several polls, each reported: {notes:?}");
    for (i, (value, total, message, _)) in notes.iter().enumerate() {
        assert_eq!(*value, (i + 1) as f64, "{notes:?}");
        assert_eq!(*total, Some(20.0), "{notes:?}");
        assert!(
            message.starts_with(&format!("RoleExists: poll {}", i + 1)),
            "{message}"
        );
    }
    assert!(
        notes[0].2.contains(
            "not done (Matched expected service error code: NoSuchEntity); next poll in 1 s"
        ),
        "{notes:?}"
    );
    assert!(notes.last().unwrap().2.ends_with("success"), "{notes:?}");
    // They came while it waited (a poll a second), not all at the end.
    let spread = notes.last().unwrap().3 - notes[0].3;
    assert!(
        spread >= 0.9,
        "notifications arrived within {spread} s: {notes:?}"
    );
}

#[test]
fn a_wait_longer_than_the_deadline_stops_and_says_how_to_go_on() {
    let moto = Moto::start();
    moto.reset();
    let endpoint = moto.endpoint();
    let mut env = McpEnv::new("e2e-wait-deadline");
    env.set("PORTCULLIS_MODE", "unrestricted")
        .set("PORTCULLIS_CALL_TIMEOUT", "3");
    let v = env.call(
        &format!("aws s3api create-bucket --bucket held --endpoint-url {endpoint}"),
        "none",
    );
    assert_eq!(first(&v)["status"], "success", "{v}");
    // RoleExists polls every second, up to 20 times; BucketNotExists every 5 s, up to 20 times.
    let batch = json!({ "cli_command": [
        format!("aws iam wait role-exists --role-name never --endpoint-url {endpoint}"),
        format!("aws s3api wait bucket-not-exists --bucket held --endpoint-url {endpoint}"),
    ] })
    .to_string();
    let started = Instant::now();
    let v = env.client(&["call", "call_aws", &batch, "--progress"]);
    let took = started.elapsed();
    assert_eq!(v["is_error"], true, "{v}");
    let results = v["structured_content"]["results"].as_array().unwrap();
    for (r, waiter, polls, delay) in [
        (&results[0], "RoleExists", 3, 1),
        (&results[1], "BucketNotExists", 1, 5),
    ] {
        assert_eq!(r["status"], "error", "{r}");
        let error = r["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!("Waiter {waiter} stopped: after {polls} poll(s)")),
            "{error}"
        );
        assert!(error.contains(&format!("the next poll (in {delay} s; the AWS CLI would poll up to 20 times) would pass the per-call deadline of 3 s")), "{error}");
        assert!(
            error.contains("Run the same command again to keep waiting"),
            "{error}"
        );
    }
    // Stopped before sleeping past the deadline: well under 20 s of RoleExists, 100 s of BucketNotExists.
    assert!(took < Duration::from_secs(15), "{took:?}");
    // One notification per poll, growing over the whole batch.
    let notes = progress(&v);
    let values: Vec<f64> = notes.iter().map(|n| n.0).collect();
    assert_eq!(values, [1.0, 2.0, 3.0, 4.0], "{notes:?}");
    assert!(
        notes[3]
            .2
            .starts_with("BucketNotExists: poll 1 of 20: not done (no acceptor matched)"),
        "{notes:?}"
    );
}
