//! The audit's cost per call: one `append` of a realistic tool-call record, with the default
//! fsync policy (`Always`: fdatasync before returning) and with `Never` for comparison, plus the
//! pre-flight check. The trail lives under the target directory (a real disk, not tmpfs).
//! Medians: `target/criterion/audit_append/*/new/estimates.json` (`median.point_estimate`, ns).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_audit::*;
use serde_json::json;

fn event(n: u64) -> Event {
    Event {
        session: Some("0f9c2e1a-5b7d-4c3e-9a1b-2c3d4e5f6a7b".into()),
        principal: Some("arn:aws:sts::123456789012:assumed-role/agent/session".into()),
        user: None,
        commands: vec![CommandEntry {
            service: Some("s3api".into()),
            operation: Some("list-objects-v2".into()),
            region: Some("eu-west-1".into()),
            digest: Some(sha256_hex(
                format!("aws s3api list-objects-v2 --bucket b --prefix p/{n}").as_bytes(),
            )),
            params: Some(
                json!({"Bucket": "my-bucket", "Prefix": format!("logs/{n}/"), "MaxKeys": 100}),
            ),
            classification: Some(ClassificationInfo {
                actions: vec!["s3:ListBucket".into()],
                access_level: Some("List".into()),
                flags: vec![],
                resources: vec!["arn:aws:s3:::my-bucket".into()],
            }),
            decision: Some(DecisionInfo {
                outcome: DecisionOutcome::Allow,
                reasons: vec!["read-only mode allows List".into()],
                rule_ids: vec!["mode:read-only".into()],
            }),
            consent: None,
            execution: Some(ExecutionInfo {
                status: ExecStatus::Ok,
                http_status: Some(200),
                request_id: Some("4442587FB7D0A2F9".into()),
                error_code: None,
                message: None,
            }),
        }],
        latency_us: Some(2840),
        response_bytes: Some(18_233),
        ..Event::tool_call("call_aws")
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn bench(c: &mut Criterion) {
    let key = AuditKey::from_bytes(&[42u8; 32]);
    let mut group = c.benchmark_group("audit_append");
    for (name, fsync) in [
        ("always_default", FsyncPolicy::Always),
        ("never", FsyncPolicy::Never),
    ] {
        let dir = scratch(name);
        let Ok(log) = AuditLog::open(
            &dir,
            key.clone(),
            AuditOptions {
                fsync,
                ..AuditOptions::default()
            },
        ) else {
            eprintln!("cannot open {}", dir.display());
            return;
        };
        let log = std::sync::Arc::new(log);
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                log.append(&event(n))
            })
        });
        if name == "never" {
            group.bench_function("preflight", |b| b.iter(|| log.preflight()));
        }
        if name == "always_default" {
            // Four callers at once: group commit shares fdatasyncs; cost per append, amortized.
            group.bench_function("always_4_threads_per_append", |b| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(4);
                    let start = std::time::Instant::now();
                    let threads: Vec<_> = (0..4)
                        .map(|t| {
                            let log = log.clone();
                            std::thread::spawn(move || {
                                for i in 0..per {
                                    let _ = log.append(&event(t * 1_000_000_000 + i));
                                }
                            })
                        })
                        .collect();
                    for t in threads {
                        let _ = t.join();
                    }
                    // `iters` appends (rounded up to a multiple of 4) took this long in all.
                    start.elapsed()
                })
            });
        }
        drop(log);
        let started = std::time::Instant::now();
        let report = verify(&dir, &key);
        let took = started.elapsed();
        eprintln!(
            "{name}: {report} — verified in {took:.2?} ({:.0} records/s)",
            report.records as f64 / took.as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The floor: the same bytes written and fdatasync'd by hand (no JSON, no MAC, no head).
    let dir = scratch("floor");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("floor.jsonl"))
    {
        let line = format!("{}\n", "x".repeat(1000));
        group.bench_function("floor_write_fdatasync", |b| {
            b.iter(|| {
                use std::io::Write;
                let _ = file.write_all(line.as_bytes());
                file.sync_data()
            })
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
    paired(&key);
}

/// fdatasync latency on a shared VM disk drifts by 10x within minutes, so criterion's separate
/// runs of "audit" and "floor" are not comparable. Here they alternate, call by call, on the same
/// disk at the same moment; the medians (and the median of the per-pair differences) are printed.
fn paired(key: &AuditKey) {
    let dir = scratch("paired");
    let Ok(log) = AuditLog::open(&dir.join("trail"), key.clone(), AuditOptions::default()) else {
        return;
    };
    let Ok(mut floor) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("floor.jsonl"))
    else {
        return;
    };
    let line = format!("{}\n", "x".repeat(1000));
    let (mut audit, mut raw, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..400u64 {
        let t = std::time::Instant::now();
        let _ = log.append(&event(n));
        let a = t.elapsed().as_secs_f64() * 1e6;
        let t = std::time::Instant::now();
        {
            use std::io::Write;
            let _ = floor.write_all(line.as_bytes());
            let _ = floor.sync_data();
        }
        let f = t.elapsed().as_secs_f64() * 1e6;
        audit.push(a);
        raw.push(f);
        diff.push(a - f);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!(
        "paired (400 calls, default policy): audit append median {:.0} µs, raw write+fdatasync median {:.0} µs, median difference {:.0} µs",
        median(&mut audit),
        median(&mut raw),
        median(&mut diff)
    );
    // Throughput with concurrent callers (group commit), wall time per append.
    let log = std::sync::Arc::new(log);
    for threads in [1u64, 2, 4, 8] {
        let per = 800 / threads;
        let start = std::time::Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        let _ = log.append(&event(t * 1_000_000 + i));
                    }
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
        eprintln!(
            "concurrent: {threads} thread(s) x {per} appends, default policy: {:.0} µs wall per append",
            start.elapsed().as_secs_f64() * 1e6 / 800.0
        );
    }
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
