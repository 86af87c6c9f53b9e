//! End to end against moto server: every command of tests/e2e/corpus.txt, run by `portcullis
//! exec` (native: endpoint rules, signing checked by moto, pagination, --query, output) and by
//! the pinned awscli, must print the same thing once what legitimately differs between two runs
//! is normalized (request ids, generated ids, timestamps). Needs the project venv (moto, awscli):
//! scripts/test.sh provides it, and its absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;
use support::e2e::{corpus, e2e_dir};
use support::moto::{Moto, venv_python};

fn env_for(cmd: &mut Command, home: &Path) {
    support::e2e::clean_env(cmd, &e2e_dir(), home);
}

fn words(cmd: &str, endpoint: &str) -> Vec<String> {
    let cmd = cmd
        .replace("ENDPOINT", endpoint.trim_start_matches("http://"))
        .replace("OUTDIR", &outdir().display().to_string());
    let mut w = portcullis_cli::words::split_words(&cmd).unwrap();
    w.extend([
        "--endpoint-url".to_string(),
        endpoint.to_string(),
        "--region".to_string(),
        "us-east-1".to_string(),
    ]);
    w
}

/// Runs the pinned awscli; returns (exit code, stdout, stderr).
fn awscli(cmd: &str, endpoint: &str, home: &std::path::Path) -> (i32, String, String) {
    let w = words(cmd, endpoint);
    let mut c = Command::new(venv_python());
    c.arg("-m").arg("awscli").args(&w[1..]);
    env_for(&mut c, home);
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn portcullis(cmd: &str, endpoint: &str, home: &std::path::Path) -> (i32, String, String) {
    let w = words(cmd, endpoint);
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
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replaces what differs between two runs of the same command: generated ids (by order of first
/// appearance), timestamps, request ids.
struct Normalizer {
    ids: Regex,
    timestamp: Regex,
    /// A timestamp inside text output (v1 prints what the service sent, v2 ISO 8601).
    inline_timestamp: Regex,
}

impl Normalizer {
    fn new() -> Self {
        Normalizer {
            ids: Regex::new(concat!(
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                r"|\b(?:i|vpc|sg|subnet|igw|rtb|acl|eni|vol|snap|dopt|r|key|cidr|vpc-cidr-assoc)-[0-9a-f]{8,17}\b",
                r"|\b(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA|FQ)[A-Z0-9]{12,20}\b",
                r"|/hostedzone/[A-Z0-9]+|\b[A-Z0-9]{14,32}\b",
                r"|\b[0-9a-f]{32,64}\b",
                r"|\b[a-z0-9]{20,21}\b",
            ))
            .unwrap(),
            timestamp: Regex::new(concat!(
                r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
                r"|^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$",
            ))
            .unwrap(),
            inline_timestamp: Regex::new(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})").unwrap(),
        }
    }

    fn text(&self, s: &str) -> String {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let s = self.inline_timestamp.replace_all(s, "<ts>");
        self.ids
            .replace_all(&s, |c: &regex::Captures| {
                let n = seen.len();
                format!("<id{}>", seen.entry(c[0].to_string()).or_insert(n))
            })
            .into_owned()
    }

    fn json(&self, v: &Value, key: &str) -> Value {
        let timeish = ["Date", "Time", "Timestamp", "Modified", "At"]
            .iter()
            .any(|s| key.ends_with(s));
        match v {
            Value::String(s) if self.timestamp.is_match(s) => Value::String("<ts>".into()),
            Value::Number(_) if timeish => Value::String("<ts>".into()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.json(v, k)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.json(v, key)).collect()),
            other => other.clone(),
        }
    }

    fn output(&self, out: &str) -> String {
        match serde_json::from_str::<Value>(out) {
            Ok(v) => self.text(&serde_json::to_string_pretty(&self.json(&v, "")).unwrap()),
            Err(_) => self.text(out.trim_end()),
        }
    }
}

#[test]
fn portcullis_prints_what_the_awscli_prints() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let home = tempdir();
    let norm = Normalizer::new();
    let cases = corpus("corpus.txt");
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut services = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        services.insert(case.run.split_whitespace().nth(1).unwrap_or("").to_string());
        let setup = |who: &str| -> Result<(), String> {
            moto.reset();
            for s in &case.setup {
                let (code, _, err) = awscli(s, &endpoint, &home);
                if code != 0 {
                    return Err(format!("{}: setup ({who}) `{s}` failed: {err}", case.name));
                }
            }
            Ok(())
        };
        if let Err(e) = setup("awscli") {
            failures.push(e);
            continue;
        }
        let (their_code, theirs, their_err) = awscli(&case.run, &endpoint, &home);
        let their_files = take_written();
        if let Err(e) = setup("portcullis") {
            failures.push(e);
            continue;
        }
        let (our_code, ours, our_err) = portcullis(&case.run, &endpoint, &home);
        let our_files = take_written();
        if their_files != our_files {
            failures.push(format!(
                "{}: files written differ: awscli {:?}, portcullis {:?}",
                case.name,
                their_files
                    .iter()
                    .map(|(n, b)| (n, b.len()))
                    .collect::<Vec<_>>(),
                our_files
                    .iter()
                    .map(|(n, b)| (n, b.len()))
                    .collect::<Vec<_>>()
            ));
            continue;
        }
        let ok_codes = (their_code == 0) == (our_code == 0);
        if !ok_codes {
            failures.push(format!("{}: exit codes differ: awscli {their_code} ({their_err}), portcullis {our_code} ({our_err})", case.name));
            continue;
        }
        if their_code != 0 {
            // Both failed: the AWS error code must be the same.
            let code = |s: &str| {
                s.split("An error occurred (")
                    .nth(1)
                    .and_then(|r| r.split(')').next())
                    .map(str::to_string)
            };
            if code(&their_err) != code(&our_err) {
                failures.push(format!(
                    "{}: errors differ:\n  awscli: {}\n  ours:   {}",
                    case.name,
                    their_err.trim(),
                    our_err.trim()
                ));
            }
            continue;
        }
        let (a, b) = (norm.output(&theirs), norm.output(&ours));
        if a != b {
            failures.push(format!(
                "{}: `{}`\n--- awscli\n{a}\n--- portcullis\n{b}",
                case.name, case.run
            ));
        }
    }
    assert!(services.len() >= 15, "{services:?}");
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Where `OUTDIR` in the corpus points (files the commands write).
fn outdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-e2e-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The files a command wrote under `OUTDIR` (name → bytes), then cleared.
fn take_written() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(outdir()).unwrap().flatten() {
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read(entry.path()).unwrap(),
        ));
        std::fs::remove_file(entry.path()).unwrap();
    }
    out.sort();
    out
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
