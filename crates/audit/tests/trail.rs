//! The trail's behaviour: round trip, resume, rotation, and every kind of damage `verify` must
//! find, at the record where it is.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

use common::*;
use portcullis_audit::*;
use serde_json::{Value, json};

#[test]
fn round_trip_and_the_documented_format() {
    let t = TestDir::new("roundtrip");
    let dir = t.trail();
    let log = open(&dir);
    let a = log
        .append(&Event::startup(json!({"version": "0.1.0", "pid": 1})))
        .unwrap();
    let b = log
        .append(&Event::config(json!({"policy": "p.json", "sha256": "ab"})))
        .unwrap();
    let c = log
        .append(&call(1, "s3api", DecisionOutcome::Consent))
        .unwrap();
    assert_eq!((a.seq, b.seq, c.seq), (1, 2, 3));
    drop(log);

    // Modes: directory 0700, files 0600 (Unix; Windows has no mode bits: the state directory's
    // ACL is the owner's).
    #[cfg(unix)]
    {
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(file(&dir, 1))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(dir.join("audit.head"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    let shown: Vec<Shown> = show(&dir, Filter::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(shown.len(), 3);
    assert_eq!(
        shown[0].record.event,
        Event::startup(json!({"version": "0.1.0", "pid": 1}))
    );
    assert_eq!(
        shown[2].record.event,
        call(1, "s3api", DecisionOutcome::Consent)
    );
    assert_eq!(
        shown[2].record.event.commands[0].params.as_ref().unwrap()["Password"],
        "****"
    );
    assert!(
        !std::fs::read_to_string(file(&dir, 1))
            .unwrap()
            .contains("hunter2")
    );

    // The format as documented, checked the way an external verifier would.
    let mut prev = GENESIS.to_string();
    for (i, line) in lines(&file(&dir, 1)).iter().enumerate() {
        assert!(
            line.starts_with(&format!("{{\"seq\":{},\"time\":\"", i + 1)),
            "{line}"
        );
        let (body, mac) = canonical_body(line.as_bytes()).unwrap();
        use hmac::{Hmac, KeyInit, Mac};
        let mut h = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
        h.update(&body);
        assert_eq!(mac, hex_of(&h.finalize().into_bytes()));
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["prev"], prev.as_str());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys[..6],
            ["seq", "time", "instance", "key_id", "prev", "kind"]
        );
        assert_eq!(keys.last().unwrap().as_str(), "mac");
        prev = sha256_hex(line.as_bytes());
    }
    assert_eq!(prev, c.hash);

    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.records, report.last_seq, report.files),
        (3, Some(3), 1)
    );
    assert_eq!(report.head.unwrap().seq, 3);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn resumes_after_reopen() {
    let t = TestDir::new("resume");
    let dir = t.trail();
    let first = open(&dir);
    for i in 0..3 {
        first
            .append(&call(i, "s3api", DecisionOutcome::Allow))
            .unwrap();
    }
    let instance1 = first.instance().to_string();
    drop(first);
    let second = open(&dir);
    assert!(
        second.open_warnings().is_empty(),
        "{:?}",
        second.open_warnings()
    );
    assert_ne!(second.instance(), instance1);
    assert_eq!(
        second
            .append(&call(3, "s3api", DecisionOutcome::Allow))
            .unwrap()
            .seq,
        4
    );
    drop(second);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 4);
}

#[test]
fn rotation_keeps_the_chain() {
    let t = TestDir::new("rotate");
    let dir = t.trail();
    let log = open_small(&dir, 3000);
    for i in 0..40 {
        log.append(&call(i, "s3api", DecisionOutcome::Allow))
            .unwrap();
    }
    drop(log);
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".jsonl")
        })
        .count();
    assert!(files >= 5, "{files} files");
    for i in 1..=files as u32 {
        assert!(std::fs::metadata(file(&dir, i)).unwrap().len() <= 3000);
    }
    let last_of_1 = lines(&file(&dir, 1)).pop().unwrap();
    let first_of_2: Value = serde_json::from_str(&lines(&file(&dir, 2))[0]).unwrap();
    assert_eq!(
        first_of_2["prev"],
        sha256_hex(last_of_1.as_bytes()).as_str()
    );

    // Resume continues in the newest file, still chained.
    let log = open_small(&dir, 3000);
    assert_eq!(
        log.append(&call(40, "s3api", DecisionOutcome::Allow))
            .unwrap()
            .seq,
        41
    );
    drop(log);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.records, report.files),
        (41, files.max(report.files))
    );
}

#[test]
fn an_edited_field_anywhere_fails_at_that_record() {
    let t = TestDir::new("edit");
    let dir = t.trail();
    write_trail(&dir, 5);
    let original = lines(&file(&dir, 1));
    let target: Value = serde_json::from_str(&original[3]).unwrap();

    fn edit(v: &mut Value) {
        match v {
            Value::String(s) => {
                let c = if s.starts_with('a') { 'b' } else { 'a' };
                s.replace_range(
                    0..s.chars().next().map_or(0, char::len_utf8),
                    &c.to_string(),
                )
            }
            Value::Number(n) => *v = json!(n.as_u64().unwrap_or(0) + 1),
            Value::Bool(b) => *b = !*b,
            Value::Null => *v = json!(1),
            Value::Array(a) if a.is_empty() => a.push(json!(1)),
            Value::Array(a) => edit(&mut a[0]),
            Value::Object(m) => {
                if let Some((_, first)) = m.iter_mut().next() {
                    edit(first)
                }
            }
        }
    }
    let mut paths: Vec<Vec<String>> = Vec::new();
    fn leaves(v: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| leaves(v, [at.clone(), vec![k.clone()]].concat(), out)),
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| leaves(v, [at.clone(), vec![i.to_string()]].concat(), out)),
            _ => out.push(at),
        }
    }
    leaves(&target, vec![], &mut paths);
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        let mut edited = target.clone();
        let mut slot = &mut edited;
        for k in &path {
            slot = match k.parse::<usize>() {
                Ok(i) if slot.is_array() => &mut slot[i],
                _ => slot.get_mut(k.as_str()).unwrap(),
            };
        }
        edit(slot);
        let mut tampered = original.clone();
        tampered[3] = serde_json::to_string(&edited).unwrap();
        assert_ne!(tampered[3], original[3]);
        write_lines(&file(&dir, 1), &tampered);
        let p = problem(&dir);
        assert_eq!(
            (p.line, p.file.as_deref()),
            (Some(4), Some("audit-000001.jsonl")),
            "{path:?}: {p:?}"
        );
        assert!(
            matches!(
                p.kind,
                ProblemKind::BadMac | ProblemKind::Edited | ProblemKind::UnknownKey
            ),
            "{path:?}: {p:?}"
        );
    }
    // A byte edit that breaks the JSON.
    let mut tampered = original.clone();
    tampered[3].insert(1, '#');
    write_lines(&file(&dir, 1), &tampered);
    let p = problem(&dir);
    assert_eq!((p.kind, p.line), (ProblemKind::Edited, Some(4)));
    write_lines(&file(&dir, 1), &original);
    assert!(verify(&dir, &key()).is_ok());
}

#[test]
fn deleted_records_are_found() {
    let t = TestDir::new("delete");
    let dir = t.trail();
    write_trail(&dir, 5); // seq 1..6
    let original = lines(&file(&dir, 1));

    let mut middle = original.clone();
    middle.remove(2);
    write_lines(&file(&dir, 1), &middle);
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.line, p.seq, p.expected_seq),
        (ProblemKind::Removed, Some(3), Some(4), Some(3)),
        "{p:?}"
    );

    let mut first = original.clone();
    first.remove(0);
    write_lines(&file(&dir, 1), &first);
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.line, p.seq),
        (ProblemKind::Removed, Some(1), Some(2)),
        "{p:?}"
    );

    let mut last = original.clone();
    last.pop();
    write_lines(&file(&dir, 1), &last);
    let report = verify(&dir, &key());
    let p = report.problem.clone().unwrap();
    assert_eq!(p.kind, ProblemKind::Truncated, "{report}");
    assert_eq!(report.records, 5);
    assert!(p.detail.contains("records 6..6"), "{}", p.detail);
}

#[test]
fn swapped_records_are_found() {
    let t = TestDir::new("swap");
    let dir = t.trail();
    write_trail(&dir, 5);
    let mut l = lines(&file(&dir, 1));
    l.swap(2, 3);
    write_lines(&file(&dir, 1), &l);
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.line, p.seq, p.expected_seq),
        (ProblemKind::Reordered, Some(3), Some(4), Some(3)),
        "{p:?}"
    );

    let mut l = lines(&file(&dir, 1));
    l.swap(2, 3);
    l.swap(1, 4); // non-adjacent
    write_lines(&file(&dir, 1), &l);
    let p = problem(&dir);
    assert_eq!((p.kind, p.line), (ProblemKind::Reordered, Some(2)), "{p:?}");

    // A duplicated (replayed) record.
    let mut l = lines(&file(&dir, 1));
    l.swap(1, 4);
    let dup = l[2].clone();
    l.insert(3, dup);
    write_lines(&file(&dir, 1), &l);
    let p = problem(&dir);
    assert_eq!((p.kind, p.line), (ProblemKind::Reordered, Some(4)), "{p:?}");
}

#[test]
fn truncation_is_found() {
    let t = TestDir::new("truncate");
    let dir = t.trail();
    write_trail(&dir, 5);
    let path = file(&dir, 1);
    let original = std::fs::read(&path).unwrap();

    // Whole lines dropped at the end.
    let mut l = lines(&path);
    l.truncate(3);
    write_lines(&path, &l);
    let report = verify(&dir, &key());
    let p = report.problem.clone().unwrap();
    assert_eq!(p.kind, ProblemKind::Truncated, "{report}");
    assert!(p.detail.contains("records 4..6"), "{}", p.detail);

    // Cut in the middle of the last line: looks like a crash, but the head knows better.
    std::fs::write(&path, &original[..original.len() - 40]).unwrap();
    let report = verify(&dir, &key());
    assert_eq!(
        report.problem.clone().unwrap().kind,
        ProblemKind::Truncated,
        "{report}"
    );
    assert!(report.torn_tail.is_some());

    // Everything gone.
    std::fs::write(&path, b"").unwrap();
    assert_eq!(problem(&dir).kind, ProblemKind::Truncated);

    // The head removed as well: still refused.
    std::fs::write(&path, &original).unwrap();
    assert!(verify(&dir, &key()).is_ok());
    std::fs::remove_file(dir.join("audit.head")).unwrap();
    assert_eq!(problem(&dir).kind, ProblemKind::HeadMissing);
}

#[test]
fn an_off_machine_anchor_catches_a_rolled_back_head() {
    let t = TestDir::new("anchor");
    let dir = t.trail();
    let log = open(&dir);
    let mut acks = Vec::new();
    for i in 0..5 {
        acks.push(
            log.append(&call(i, "s3api", DecisionOutcome::Allow))
                .unwrap(),
        );
    }
    drop(log);
    let saved_head = std::fs::read(dir.join("audit.head")).unwrap();
    let log = open(&dir);
    let late = log
        .append(&call(5, "s3api", DecisionOutcome::Allow))
        .unwrap();
    drop(log);
    // The attacker drops the last record and restores the head they copied earlier.
    let mut l = lines(&file(&dir, 1));
    l.pop();
    write_lines(&file(&dir, 1), &l);
    std::fs::write(dir.join("audit.head"), &saved_head).unwrap();
    assert!(
        verify(&dir, &key()).is_ok(),
        "undetectable without an anchor (documented)"
    );
    let anchored = VerifyOptions {
        anchor: Some(Anchor {
            seq: late.seq,
            hash: late.hash.clone(),
        }),
    };
    assert_eq!(
        verify_with(&dir, &key(), &anchored).problem.unwrap().kind,
        ProblemKind::Truncated
    );
    let wrong = VerifyOptions {
        anchor: Some(Anchor {
            seq: acks[2].seq,
            hash: acks[3].hash.clone(),
        }),
    };
    assert_eq!(
        verify_with(&dir, &key(), &wrong).problem.unwrap().kind,
        ProblemKind::ChainBroken
    );
    let right = VerifyOptions {
        anchor: Some(Anchor {
            seq: acks[2].seq,
            hash: acks[2].hash.clone(),
        }),
    };
    assert!(verify_with(&dir, &key(), &right).is_ok());
}

#[test]
fn a_torn_last_line_is_a_crash_not_tampering_and_open_recovers() {
    let t = TestDir::new("torn");
    let dir = t.trail();
    write_trail(&dir, 3); // seq 1..4
    let path = file(&dir, 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":5,\"time\":\"2026-11-24T08:00:00.000Z\",\"instance\":\"ab");
    std::fs::write(&path, &bytes).unwrap();

    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    let torn = report.torn_tail.clone().unwrap();
    assert_eq!(
        (torn.file.as_str(), torn.line, torn.bytes),
        ("audit-000001.jsonl", 5, 57)
    );
    assert_eq!(report.records, 4);
    assert!(report.to_string().contains("torn final line"), "{report}");

    // show skips it.
    assert_eq!(show(&dir, Filter::default()).unwrap().count(), 4);

    // Reopen: the torn bytes are cut, a recovery record says so, the chain goes on.
    let log = open(&dir);
    assert_eq!(log.open_warnings().len(), 1, "{:?}", log.open_warnings());
    let next = log
        .append(&call(9, "s3api", DecisionOutcome::Allow))
        .unwrap();
    assert_eq!(next.seq, 6, "seq 5 is the recovery record");
    drop(log);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert!(report.torn_tail.is_none());
    assert_eq!(report.recoveries.len(), 1);
    assert_eq!(report.recoveries[0].0, 5);
    assert_eq!(report.recoveries[0].1["torn_tail"]["bytes"], 57);

    // A torn line that is not at the end is tampering.
    let l = lines(&path);
    let text = format!("{}\n{}\n{}{}\n", l[0], l[1], &l[2][..30], l[3..].join("\n"));
    std::fs::write(&path, text).unwrap();
    let p = problem(&dir);
    assert!(
        matches!(p.kind, ProblemKind::Edited | ProblemKind::TornLine),
        "{p:?}"
    );
    assert_eq!(p.line, Some(3), "{p:?}");
}

#[test]
fn open_notes_lost_records_and_verify_keeps_reporting_them() {
    let t = TestDir::new("lost");
    let dir = t.trail();
    write_trail(&dir, 5); // seq 1..6
    let mut l = lines(&file(&dir, 1));
    l.truncate(4);
    write_lines(&file(&dir, 1), &l);
    let log = open(&dir);
    assert!(
        log.open_warnings()
            .iter()
            .any(|w| w.contains("records lost")),
        "{:?}",
        log.open_warnings()
    );
    log.append(&call(7, "s3api", DecisionOutcome::Allow))
        .unwrap();
    drop(log);
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.seq, p.line),
        (ProblemKind::Truncated, Some(5), Some(5)),
        "{p:?}"
    );
    assert!(
        p.detail.contains("\"from\":5") && p.detail.contains("\"to\":6"),
        "{}",
        p.detail
    );
}

#[test]
fn forged_records_and_other_keys_are_found() {
    let t = TestDir::new("forge");
    let dir = t.trail();
    write_trail(&dir, 3);
    let original = lines(&file(&dir, 1));

    // Forge seq 5 with the right seq and prev but without the key: MAC mismatch.
    let last: Value = serde_json::from_str(original.last().unwrap()).unwrap();
    let mut forged = last.clone();
    forged["seq"] = json!(5);
    forged["prev"] = json!(sha256_hex(original.last().unwrap().as_bytes()));
    forged["mac"] = json!(sha256_hex(b"guess"));
    let mut l = original.clone();
    l.push(serde_json::to_string(&forged).unwrap());
    write_lines(&file(&dir, 1), &l);
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.line, p.seq),
        (ProblemKind::BadMac, Some(5), Some(5)),
        "{p:?}"
    );

    // Forged in the middle, replacing a record.
    let mut l = original.clone();
    let mut replaced: Value = serde_json::from_str(&l[1]).unwrap();
    replaced["commands"][0]["decision"]["outcome"] = json!("deny");
    replaced["mac"] = json!(sha256_hex(b"guess"));
    l[1] = serde_json::to_string(&replaced).unwrap();
    write_lines(&file(&dir, 1), &l);
    assert_eq!(problem(&dir).kind, ProblemKind::BadMac);
    write_lines(&file(&dir, 1), &original);

    // Verified with another key: unknown key at the first record.
    let report = verify(&dir, &other_key());
    let p = report.problem.unwrap();
    assert_eq!(
        (p.kind, p.line),
        (ProblemKind::UnknownKey, Some(1)),
        "{p:?}"
    );

    // Opening with another key is refused (it would fork the chain under a new key).
    let err = AuditLog::open(&dir, other_key(), AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::KeyMismatch { .. }), "{err}");

    // The head edited.
    let mut head = std::fs::read(dir.join("audit.head")).unwrap();
    let at = head.windows(5).position(|w| w == b"\"seq\"").unwrap() + 6;
    head[at] = if head[at] == b'9' { b'8' } else { b'9' };
    std::fs::write(dir.join("audit.head"), &head).unwrap();
    assert_eq!(problem(&dir).kind, ProblemKind::HeadInvalid);
}

#[test]
fn a_file_removed_from_a_rotated_trail_is_found() {
    let t = TestDir::new("rmfile");
    let dir = t.trail();
    let log = open_small(&dir, 2500);
    for i in 0..30 {
        log.append(&call(i, "s3api", DecisionOutcome::Allow))
            .unwrap();
    }
    drop(log);
    assert!(file(&dir, 4).exists());
    let keep = std::fs::read(file(&dir, 2)).unwrap();
    std::fs::remove_file(file(&dir, 2)).unwrap();
    let p = problem(&dir);
    assert_eq!(
        (p.kind, p.file.as_deref(), p.line),
        (
            ProblemKind::FileMissing,
            Some("audit-000003.jsonl"),
            Some(1)
        ),
        "{p:?}"
    );
    std::fs::write(file(&dir, 2), &keep).unwrap();
    assert!(verify(&dir, &key()).is_ok());

    // The first file removed.
    let keep1 = std::fs::read(file(&dir, 1)).unwrap();
    std::fs::remove_file(file(&dir, 1)).unwrap();
    assert_eq!(problem(&dir).kind, ProblemKind::FileMissing);
    std::fs::write(file(&dir, 1), &keep1).unwrap();

    // The newest file removed: the head still names it.
    let newest = (1..)
        .take_while(|i| file(&dir, *i).exists())
        .last()
        .unwrap();
    std::fs::remove_file(file(&dir, newest)).unwrap();
    let p = problem(&dir);
    assert_eq!(p.kind, ProblemKind::Truncated, "{p:?}");
    assert_eq!(p.file, Some(format!("audit-{newest:06}.jsonl")));
}

// Unix: mode bits, symlinks and statvfs (the Windows skips are listed in ARCHITECTURE.md).
#[cfg(unix)]
#[test]
fn an_unwritable_directory_fails_closed() {
    let t = TestDir::new("unwritable");
    // A path beneath a regular file can never be created (works as root too).
    let blocker = t.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let err = AuditLog::open(&blocker.join("audit"), key(), AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::Io { .. }), "{err}");
    let err = AuditLog::open(&blocker, key(), AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::DirRefused { .. }), "{err}");

    // A symlinked directory is refused.
    let real = t.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, t.path().join("link")).unwrap();
    assert!(matches!(
        AuditLog::open(&t.path().join("link"), key(), AuditOptions::default()),
        Err(AuditError::DirRefused { .. })
    ));

    // Read-only directory (permission bits mean nothing to root, so only when not root).
    if !running_as_root() {
        let ro = t.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        assert!(AuditLog::open(&ro, key(), AuditOptions::default()).is_err());
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    // The trail's directory disappears under a running log: preflight refuses, and an append
    // that needs a new file fails (and keeps failing) instead of acknowledging.
    let dir = t.trail();
    let log = open_small(&dir, 1500);
    log.append(&call(0, "s3api", DecisionOutcome::Allow))
        .unwrap();
    log.preflight().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        matches!(log.preflight(), Err(AuditError::NotReady(_))),
        "{:?}",
        log.preflight()
    );
    let mut failed = 0;
    for i in 0..5 {
        if log
            .append(&call(i, "s3api", DecisionOutcome::Allow))
            .is_err()
        {
            failed += 1;
        }
    }
    assert!(
        failed >= 4,
        "appends into a removed directory must fail once a new file is needed ({failed})"
    );
    assert!(
        log.append(&call(9, "s3api", DecisionOutcome::Allow))
            .is_err()
    );
}

// Unix: mode bits, symlinks and statvfs (the Windows skips are listed in ARCHITECTURE.md).
#[cfg(unix)]
#[test]
fn preflight_refuses_when_the_disk_is_nearly_full() {
    let t = TestDir::new("full");
    let log = AuditLog::open(
        &t.trail(),
        key(),
        AuditOptions {
            min_free_bytes: u64::MAX,
            ..Default::default()
        },
    )
    .unwrap();
    let err = log.preflight().unwrap_err();
    assert!(
        matches!(err, AuditError::NotReady(_)) && err.to_string().contains("bytes free"),
        "{err}"
    );
}

#[cfg(unix)]
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

// Unix: mode bits, symlinks and statvfs (the Windows skips are listed in ARCHITECTURE.md).
#[cfg(unix)]
#[test]
fn the_key_file_is_private_and_never_printed() {
    let t = TestDir::new("key");
    let path = t.path().join("state/portcullis/audit.key");
    let k1 = AuditKey::load_or_create(&path).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65);
    let k2 = AuditKey::load_or_create(&path).unwrap();
    assert_eq!(k1.id(), k2.id());
    assert!(!format!("{k1:?}").contains(text.trim()));
    assert_eq!(format!("{k1:?}"), format!("AuditKey(id={})", k1.id()));
    assert!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count() == 1,
        "no temp file left"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = AuditKey::load_or_create(&path).unwrap_err();
    assert!(matches!(err, AuditError::KeyRefused { .. }), "{err}");
    assert!(err.to_string().contains("0644"), "{err}");
    assert!(!err.to_string().contains(text.trim()));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(AuditKey::load(&path).is_err());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let link = t.path().join("link.key");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(
        AuditKey::load_or_create(&link),
        Err(AuditError::KeyRefused { .. })
    ));

    let bad = t.path().join("bad.key");
    std::fs::write(&bad, "not hex\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        AuditKey::load(&bad),
        Err(AuditError::KeyRefused { .. })
    ));
}

#[test]
fn concurrent_appends_form_one_chain() {
    let t = TestDir::new("threads");
    let dir = t.trail();
    let log = std::sync::Arc::new(
        AuditLog::open(
            &dir,
            key(),
            AuditOptions {
                max_file_bytes: 20_000,
                fsync: FsyncPolicy::Never,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|th| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        log.append(&call(th * 100 + i, "s3api", DecisionOutcome::Allow))
                            .unwrap()
                            .seq
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    drop(log);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 200);
}

#[test]
fn group_commit_under_the_default_policy() {
    let t = TestDir::new("group");
    let dir = t.trail();
    let log = std::sync::Arc::new(open_small(&dir, 8_000));
    let handles: Vec<_> = (0..6)
        .map(|th| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let ack = log
                            .append(&call(th * 100 + i, "ec2", DecisionOutcome::Allow))
                            .unwrap();
                        // Acknowledged means durable: the head (written after each fdatasync) has
                        // reached at least this record.
                        let head = verify(log.dir(), &key()).head.map_or(0, |h| h.seq);
                        assert!(
                            head >= ack.seq || head == 0,
                            "head {head} behind acknowledged {}",
                            ack.seq
                        );
                        ack.seq
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=150).collect::<Vec<_>>());
    drop(log);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.head.unwrap().seq), (150, 150));
}

#[test]
fn weaker_fsync_policies_still_chain_and_sync_on_demand() {
    for policy in [
        FsyncPolicy::Interval(std::time::Duration::from_millis(50)),
        FsyncPolicy::Never,
    ] {
        let t = TestDir::new("policy");
        let dir = t.trail();
        let log = AuditLog::open(
            &dir,
            key(),
            AuditOptions {
                fsync: policy,
                ..Default::default()
            },
        )
        .unwrap();
        for i in 0..10 {
            log.append(&call(i, "s3api", DecisionOutcome::Allow))
                .unwrap();
        }
        log.sync().unwrap();
        let report = verify(&dir, &key());
        assert!(report.is_ok(), "{policy:?}: {report}");
        assert_eq!(report.head.unwrap().seq, 10, "{policy:?}");
    }
}

#[test]
fn oversized_params_are_summarized_not_dropped() {
    let t = TestDir::new("big");
    let dir = t.trail();
    let log = AuditLog::open(
        &dir,
        key(),
        AuditOptions {
            max_record_bytes: 4096,
            ..Default::default()
        },
    )
    .unwrap();
    let mut event = call(1, "s3api", DecisionOutcome::Allow);
    event.commands[0].params = Some(json!({"Body": "x".repeat(100_000)}));
    log.append(&event).unwrap();
    drop(log);
    let shown: Vec<Shown> = show(&dir, Filter::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(shown[0].line.len() < 4096);
    let params = shown[0].record.event.commands[0].params.clone().unwrap();
    assert_eq!(params["omitted"], true);
    assert_eq!(
        shown[0].record.event.commands[0].decision,
        event.commands[0].decision
    );
    assert!(verify(&dir, &key()).is_ok());
}

#[test]
fn show_filters() {
    let t = TestDir::new("show");
    let dir = t.trail();
    let log = open(&dir);
    log.append(&Event::startup(json!({"v": 1}))).unwrap();
    log.append(&Event::config(json!({"policy": "x"}))).unwrap();
    log.append(&call(1, "s3api", DecisionOutcome::Allow))
        .unwrap();
    log.append(&call(2, "ec2", DecisionOutcome::Deny)).unwrap();
    let mut other = call(3, "ec2", DecisionOutcome::Consent);
    other.principal = Some("arn:aws:iam::999999999999:user/bob".into());
    other.tool = Some("explain".into());
    log.append(&other).unwrap();
    drop(log);

    let count = |f: Filter| show(&dir, f).unwrap().map(Result::unwrap).count();
    assert_eq!(count(Filter::default()), 5);
    assert_eq!(
        count(Filter {
            decisions: vec![DecisionOutcome::Deny],
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(Filter {
            decisions: vec![DecisionOutcome::Deny, DecisionOutcome::Consent],
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(Filter {
            service: Some("ec2".into()),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(Filter {
            principal: Some("arn:aws:iam::123456789012:*".into()),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(Filter {
            principal: Some("*:user/bob".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(Filter {
            tool: Some("explain".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(Filter {
            kinds: vec![RecordKind::Startup, RecordKind::Config],
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(Filter {
            since_ms: Some(parse_time_arg("1h").unwrap()),
            ..Default::default()
        }),
        5
    );
    assert_eq!(
        count(Filter {
            until_ms: Some(parse_time_arg("2000-01-01").unwrap()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        count(Filter {
            since_ms: Some(parse_time_arg("1s").unwrap() + 60_000),
            ..Default::default()
        }),
        0
    );
    assert!(parse_time_arg("yesterday").is_err());

    let lines: Vec<String> = show(&dir, Filter::default())
        .unwrap()
        .map(|s| s.unwrap().compact())
        .collect();
    assert!(
        lines[3].contains("#4 tool_call call_aws principal=arn:aws:iam::123456789012:role/agent"),
        "{}",
        lines[3]
    );
    assert!(
        lines[3].contains("| ec2 list-buckets eu-west-1 deny[r1] not-run req-2"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].contains("consent[r1] consent=approved ok"),
        "{}",
        lines[4]
    );
    assert!(lines[0].contains("startup {\"v\":1}"), "{}", lines[0]);
}

#[test]
fn a_batch_is_written_in_order_and_made_durable_by_one_sync() {
    let t = TestDir::new("batch");
    let dir = t.trail();
    // Small files: the batch crosses rotations, and the chain must run through them.
    let log = open_small(&dir, 4_000);
    log.append(&Event::startup(json!({"pid": 1}))).unwrap();
    let events: Vec<Event> = (0..40)
        .map(|i| call(i, "s3api", DecisionOutcome::Allow))
        .collect();
    let refs: Vec<&Event> = events.iter().collect();
    let acks: Vec<u64> = log
        .append_batch(&refs)
        .into_iter()
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(acks, (2..=41).collect::<Vec<_>>());
    // Acknowledged means durable: the head already covers the whole batch.
    assert_eq!(verify(log.dir(), &key()).head.unwrap().seq, 41);
    assert!(log.append_batch(&[]).is_empty());
    drop(log);
    let report = verify(&dir, &key());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 41);
    let shown: Vec<Shown> = show(&dir, Filter::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(shown[1].record.event, events[0]);
    assert_eq!(shown[40].record.event, events[39]);
}
