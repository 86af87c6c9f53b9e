//! Shared test helpers: scratch directories on the real disk (fsync must mean something), keys.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use portcullis_audit::*;
use serde_json::json;

pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!(
            "audit-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TestDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn trail(&self) -> PathBuf {
        self.0.join("trail")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn key() -> AuditKey {
    AuditKey::from_bytes(&[7u8; 32])
}

pub fn other_key() -> AuditKey {
    AuditKey::from_bytes(&[9u8; 32])
}

/// A realistic tool-call event.
pub fn call(n: u64, service: &str, outcome: DecisionOutcome) -> Event {
    Event {
        session: Some("s-1".into()),
        principal: Some("arn:aws:iam::123456789012:role/agent".into()),
        user: None,
        commands: vec![CommandEntry {
            service: Some(service.into()),
            operation: Some("list-buckets".into()),
            region: Some("eu-west-1".into()),
            digest: Some(sha256_hex(format!("cmd {n}").as_bytes())),
            params: Some(json!({"n": n, "Password": "****", "MaxItems": 5})),
            classification: Some(ClassificationInfo {
                actions: vec!["s3:ListAllMyBuckets".into()],
                access_level: Some("List".into()),
                flags: vec![],
                resources: vec![],
            }),
            decision: Some(DecisionInfo {
                outcome,
                reasons: vec!["read-only".into()],
                rule_ids: vec!["r1".into()],
            }),
            consent: (outcome == DecisionOutcome::Consent).then(|| ConsentInfo {
                outcome: ConsentOutcome::Approved,
                digest: Some(sha256_hex(format!("cmd {n}").as_bytes())),
            }),
            execution: Some(ExecutionInfo {
                status: if outcome == DecisionOutcome::Deny {
                    ExecStatus::NotRun
                } else {
                    ExecStatus::Ok
                },
                http_status: Some(200),
                request_id: Some(format!("req-{n}")),
                error_code: None,
                message: None,
            }),
        }],
        latency_us: Some(1234),
        response_bytes: Some(567),
        ..Event::tool_call("call_aws")
    }
}

pub fn open(dir: &Path) -> AuditLog {
    AuditLog::open(dir, key(), AuditOptions::default()).unwrap()
}

pub fn open_small(dir: &Path, max: u64) -> AuditLog {
    AuditLog::open(
        dir,
        key(),
        AuditOptions {
            max_file_bytes: max,
            ..AuditOptions::default()
        },
    )
    .unwrap()
}

/// Writes a trail of `n` tool calls (after a startup record): n + 1 records.
pub fn write_trail(dir: &Path, n: u64) {
    let log = open(dir);
    log.append(&Event::startup(json!({"version": "test"})))
        .unwrap();
    for i in 0..n {
        log.append(&call(
            i,
            if i % 2 == 0 { "s3api" } else { "ec2" },
            DecisionOutcome::Allow,
        ))
        .unwrap();
    }
}

pub fn file(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("audit-{index:06}.jsonl"))
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

pub fn problem(dir: &Path) -> Problem {
    let report = verify(dir, &key());
    report
        .problem
        .clone()
        .unwrap_or_else(|| panic!("expected a problem, got: {report}"))
}
