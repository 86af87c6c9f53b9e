//! Crash test: a child process (this same test binary, re-run as `crash_child`) appends records
//! from two threads and prints `ACK <seq> <hash>` after each `append` returns; the parent kills it
//! with SIGKILL mid-stream, several times over the same trail. After every kill the trail must
//! verify (a torn final line is allowed) and hold every acknowledged record, with its hash.
//! Spawning is test-only (the library starts no programs).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the crash test spawns this test binary
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use portcullis_audit::*;

const CHILD_ENV: &str = "PORTCULLIS_AUDIT_CRASH_CHILD";

/// The child: does nothing unless started by the parent test.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let options = AuditOptions {
        max_file_bytes: 16 * 1024,
        ..AuditOptions::default()
    };
    let log = Arc::new(AuditLog::open(Path::new(&dir), key(), options).unwrap());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for n in 0u64.. {
                    let ack = log
                        .append(&call(t * 1_000_000 + n, "s3api", DecisionOutcome::Allow))
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {} {}", ack.seq, ack.hash).unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn kill_9_during_a_stream_of_calls_loses_no_acknowledged_record() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let t = TestDir::new("crash");
    let dir = t.trail();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut torn_seen = 0;
    for round in 0..8u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = 30 + round * 23;
        let mut this_round = 0;
        let record = |line: &str, acked: &mut BTreeMap<u64, String>| {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (seq, hash) = rest.split_once(' ').unwrap();
                acked.insert(seq.parse().unwrap(), hash.to_string());
                true
            } else {
                false
            }
        };
        for line in lines.by_ref() {
            if record(&line.unwrap(), &mut acked) {
                this_round += 1;
                if this_round >= target {
                    child.kill().unwrap(); // SIGKILL, while the other thread is mid-append
                    break;
                }
            }
        }
        // Acknowledgements already in the pipe count too.
        for line in lines {
            let Ok(line) = line else { break };
            record(&line, &mut acked);
        }
        child.wait().unwrap();

        let report = verify(&dir, &key());
        assert!(report.is_ok(), "round {round}: {report}");
        torn_seen += usize::from(report.torn_tail.is_some());
        let present = seq_hashes(&dir);
        for (seq, hash) in &acked {
            assert_eq!(
                present.get(seq),
                Some(hash),
                "round {round}: acknowledged seq {seq} lost or changed"
            );
        }
        let (&last_seq, last_hash) = acked.iter().next_back().unwrap();
        let anchored = VerifyOptions {
            anchor: Some(Anchor {
                seq: last_seq,
                hash: last_hash.clone(),
            }),
        };
        assert!(verify_with(&dir, &key(), &anchored).is_ok());
    }
    // Every reopen after a kill chained on; the trail spans several files.
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert!(report.files > 1, "{report}");
    assert!(acked.len() > 500, "{} acknowledged", acked.len());
    eprintln!(
        "crash test: {} acknowledged, {} records, {} files, {} torn tails seen",
        acked.len(),
        report.records,
        report.files,
        torn_seen
    );
}

fn seq_hashes(dir: &Path) -> BTreeMap<u64, String> {
    show(dir, Filter::default())
        .unwrap()
        .map(|s| {
            let s = s.unwrap();
            (s.record.seq, sha256_hex(s.line.as_bytes()))
        })
        .collect()
}
