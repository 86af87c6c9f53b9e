//! `verify`: walks the whole trail and reports the first record that is not what the key holder
//! wrote, where it is, and what kind of damage it is.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use crate::codec::sha256_hex;
use crate::key::AuditKey;
use crate::record::{ChainFields, GENESIS, canonical_body};
use crate::trail::{self, Head, HeadError};

/// Lines longer than this are not records (the writer caps records far below it).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// What kind of damage was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not a record line at all (JSON or the `mac` suffix broken): edited by hand.
    Edited,
    /// The MAC does not match: the record was edited, or forged without the key.
    BadMac,
    /// The record was MAC'd with another key (key id differs).
    UnknownKey,
    /// Records are missing before this one (its seq skips ahead, and the missing seq is nowhere
    /// later in the trail).
    Removed,
    /// The record is out of order (its seq goes back, or the missing seq appears later).
    Reordered,
    /// The seq is right but `prev` is not the hash of the record before (a genuine record from
    /// elsewhere put in its place).
    ChainBroken,
    /// Records are missing at the end: the head (or an anchor, or a recovery record) names a seq
    /// the trail no longer reaches.
    Truncated,
    /// A line without its newline that is not at the very end of the trail.
    TornLine,
    /// A numbered file of the trail is missing.
    FileMissing,
    /// The head file is missing although the trail has records.
    HeadMissing,
    /// The head file is unreadable, fails its MAC, or names a record whose hash differs.
    HeadInvalid,
    /// A file could not be read.
    Unreadable,
}

impl ProblemKind {
    fn word(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::BadMac => "bad mac",
            ProblemKind::UnknownKey => "unknown key",
            ProblemKind::Removed => "removed",
            ProblemKind::Reordered => "reordered",
            ProblemKind::ChainBroken => "chain broken",
            ProblemKind::Truncated => "truncated",
            ProblemKind::TornLine => "torn line",
            ProblemKind::FileMissing => "file missing",
            ProblemKind::HeadMissing => "head missing",
            ProblemKind::HeadInvalid => "head invalid",
            ProblemKind::Unreadable => "unreadable",
        }
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The file it is in (for truncation: the file the head names).
    pub file: Option<String>,
    /// 1-based line in that file.
    pub line: Option<u64>,
    /// The seq the record there carries (if it could be read).
    pub seq: Option<u64>,
    /// The seq that should have been there.
    pub expected_seq: Option<u64>,
    /// A sentence for humans.
    pub detail: String,
}

/// A torn final line (a crash during a write): not an error, since its `append` never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The newest file.
    pub file: String,
    /// 1-based line number of the torn line.
    pub line: u64,
    /// Byte offset where it starts.
    pub offset: u64,
    /// Its length.
    pub bytes: u64,
}

/// A trusted `(seq, hash)` kept off the machine (from [`crate::Sequenced`] or a report): the trail
/// must still reach `seq`, with that hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The seq.
    pub seq: u64,
    /// Hex SHA-256 of that record's line.
    pub hash: String,
}

/// Options of [`verify_with`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// An off-machine anchor (defends against truncation by someone who also rolled the head back).
    pub anchor: Option<Anchor>,
}

/// The result of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Trail files seen.
    pub files: usize,
    /// Records that verified (all of them if `problem` is `None`; those before it otherwise).
    pub records: u64,
    /// Seq of the last record that verified.
    pub last_seq: Option<u64>,
    /// Hash of the last record that verified (an anchor to keep elsewhere).
    pub last_hash: Option<String>,
    /// A torn final line, if the last writer crashed mid-write and has not been reopened since.
    pub torn_tail: Option<TornTail>,
    /// `(seq, detail)` of each `recovery` record (crash recoveries; lost records are a problem).
    pub recoveries: Vec<(u64, Value)>,
    /// The head, if it verified.
    pub head: Option<Head>,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// True when the whole trail verifies (a torn final line is allowed).
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "audit trail OK: {} records in {} file(s){}",
                self.records,
                self.files,
                self.last_seq
                    .map(|s| format!(", last seq {s}"))
                    .unwrap_or_default()
            )?,
            Some(p) => {
                write!(f, "audit trail FAILS: {}", p.kind.word())?;
                if let Some(file) = &p.file {
                    write!(f, " at {file}")?;
                    if let Some(line) = p.line {
                        write!(f, " line {line}")?;
                    }
                }
                if let Some(seq) = p.seq {
                    write!(f, " (seq {seq})")?;
                }
                write!(
                    f,
                    ": {}; {} record(s) before it verify",
                    p.detail, self.records
                )?;
            }
        }
        if let Some(t) = &self.torn_tail {
            write!(
                f,
                "\ntorn final line in {} at line {} ({} bytes at offset {}): a crash during a write; that record was never acknowledged",
                t.file, t.line, t.bytes, t.offset
            )?;
        }
        for (seq, detail) in &self.recoveries {
            write!(f, "\nrecovery at seq {seq}: {detail}")?;
        }
        Ok(())
    }
}

/// Verifies the trail in `dir` with `key`. See [`verify_with`].
pub fn verify(dir: &Path, key: &AuditKey) -> VerifyReport {
    verify_with(dir, key, &VerifyOptions::default())
}

struct Walk<'a> {
    key: &'a AuditKey,
    report: VerifyReport,
    expected: u64,
    prev: String,
}

/// Checks every file in order: each line is a record (`mac` suffix, JSON), made with this key,
/// whose MAC matches, whose seq is the next one and whose `prev` is the hash of the line before;
/// then that the head (and `options.anchor`) is reached. Stops at the first problem.
pub fn verify_with(dir: &Path, key: &AuditKey, options: &VerifyOptions) -> VerifyReport {
    let mut walk = Walk {
        key,
        report: VerifyReport::default(),
        expected: 1,
        prev: GENESIS.to_string(),
    };
    // The head is read before the files (a live writer only moves it past records already
    // written); a read racing its in-place rewrite is retried.
    let mut head = trail::read_head(dir, key);
    for _ in 0..3 {
        if !matches!(head, Err(HeadError::Malformed)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        head = trail::read_head(dir, key);
    }
    let head_seq = head.as_ref().ok().map(|h| h.seq);
    let mut head_hash_seen = None;
    let mut anchor_hash_seen = None;

    let files = match trail::list_files(dir) {
        Ok(files) => files,
        Err(e) => {
            walk.report.problem = Some(problem(
                ProblemKind::Unreadable,
                None,
                None,
                None,
                None,
                format!("{}: {e}", dir.display()),
            ));
            return walk.report;
        }
    };
    walk.report.files = files.len();
    let mut last_file = None;
    for (i, (index, name)) in files.iter().enumerate() {
        let expected_index = if i == 0 { 1 } else { files[i - 1].0 + 1 };
        if *index != expected_index {
            let missing = format!(
                "{} .. {}",
                trail::file_name(expected_index),
                trail::file_name(index - 1)
            );
            walk.report.problem = Some(problem(
                ProblemKind::FileMissing,
                Some(name),
                Some(1),
                None,
                Some(walk.expected),
                format!("trail file(s) {missing} missing"),
            ));
            return walk.report;
        }
        let path = dir.join(name);
        let file = match portcullis_platform::open_no_follow(
            std::fs::OpenOptions::new().read(true),
            &path,
        ) {
            Ok(f) => f,
            Err(e) => {
                walk.report.problem = Some(problem(
                    ProblemKind::Unreadable,
                    Some(name),
                    None,
                    None,
                    None,
                    e.to_string(),
                ));
                return walk.report;
            }
        };
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut line = Vec::new();
        let mut line_no = 0u64;
        let mut offset = 0u64;
        loop {
            line.clear();
            line_no += 1;
            let n = match (&mut reader)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut line)
            {
                Ok(0) => break,
                Ok(n) => n as u64,
                Err(e) => {
                    walk.report.problem = Some(problem(
                        ProblemKind::Unreadable,
                        Some(name),
                        Some(line_no),
                        None,
                        None,
                        e.to_string(),
                    ));
                    return walk.report;
                }
            };
            if line.last() != Some(&b'\n') {
                let at_end = i + 1 == files.len()
                    && reader.fill_buf().map(|b| b.is_empty()).unwrap_or(false);
                if at_end && n <= MAX_LINE {
                    walk.report.torn_tail = Some(TornTail {
                        file: name.clone(),
                        line: line_no,
                        offset,
                        bytes: n,
                    });
                    break;
                }
                walk.report.problem = Some(problem(
                    ProblemKind::TornLine,
                    Some(name),
                    Some(line_no),
                    None,
                    Some(walk.expected),
                    "a line without its newline (or over 16 MiB) before the end of the trail"
                        .into(),
                ));
                return walk.report;
            }
            line.pop();
            offset += n;
            match walk.record(&line, name, line_no, dir, &files) {
                Err(p) => {
                    walk.report.problem = Some(p);
                    return walk.report;
                }
                Ok(hash) => {
                    let seq = walk.expected - 1;
                    if Some(seq) == head_seq {
                        head_hash_seen = Some(hash.clone());
                    }
                    if options.anchor.as_ref().is_some_and(|a| a.seq == seq) {
                        anchor_hash_seen = Some(hash);
                    }
                }
            }
        }
        last_file = Some(name.clone());
    }

    let records = walk.report.records;
    let last_seq = walk.report.last_seq.unwrap_or(0);
    let fail = |kind, file: Option<&String>, detail: String| {
        Some(problem(kind, file, None, None, None, detail))
    };
    walk.report.problem = match head {
        Err(HeadError::Missing) if records > 0 => fail(
            ProblemKind::HeadMissing,
            None,
            "audit.head is missing: truncation cannot be ruled out".into(),
        ),
        Err(HeadError::Missing) => None,
        Err(HeadError::Empty) if records == 0 => None,
        Err(e) => fail(
            ProblemKind::HeadInvalid,
            None,
            format!("audit.head is unusable ({e:?})").to_lowercase(),
        ),
        Ok(head) => {
            let p = if head.seq > last_seq {
                fail(
                    ProblemKind::Truncated,
                    Some(&head.file),
                    format!(
                        "the head says the trail reached seq {} (in {}), but it ends at seq {last_seq}: records {}..{} were removed",
                        head.seq,
                        head.file,
                        last_seq + 1,
                        head.seq
                    ),
                )
            } else if head.seq > 0 && head_hash_seen.as_deref() != Some(head.hash.as_str()) {
                fail(
                    ProblemKind::HeadInvalid,
                    Some(&head.file),
                    format!(
                        "the head names seq {} with another hash than the trail's record",
                        head.seq
                    ),
                )
            } else {
                None
            };
            walk.report.head = Some(head);
            p
        }
    };
    if walk.report.problem.is_none()
        && let Some(anchor) = &options.anchor
    {
        if anchor.seq > last_seq {
            walk.report.problem = fail(
                ProblemKind::Truncated,
                last_file.as_ref(),
                format!(
                    "the anchor is at seq {} but the trail ends at seq {last_seq}",
                    anchor.seq
                ),
            );
        } else if anchor_hash_seen.as_deref() != Some(anchor.hash.as_str()) {
            walk.report.problem = fail(
                ProblemKind::ChainBroken,
                None,
                format!("record {} does not have the anchor's hash", anchor.seq),
            );
        }
    }
    walk.report
}

fn problem(
    kind: ProblemKind,
    file: Option<&String>,
    line: Option<u64>,
    seq: Option<u64>,
    expected_seq: Option<u64>,
    detail: String,
) -> Problem {
    Problem {
        kind,
        file: file.cloned(),
        line,
        seq,
        expected_seq,
        detail,
    }
}

impl Walk<'_> {
    /// Checks one line; on success returns its hash and advances.
    fn record(
        &mut self,
        line: &[u8],
        name: &String,
        line_no: u64,
        dir: &Path,
        files: &[(u32, String)],
    ) -> Result<String, Problem> {
        let expected = self.expected;
        let at = |kind, seq, detail: String| {
            problem(kind, Some(name), Some(line_no), seq, Some(expected), detail)
        };
        let Some((body, mac)) = canonical_body(line) else {
            return Err(at(
                ProblemKind::Edited,
                None,
                "not an audit record (no valid `mac` suffix)".into(),
            ));
        };
        let fields: ChainFields = serde_json::from_slice(&body).map_err(|e| {
            at(
                ProblemKind::Edited,
                None,
                format!("not an audit record (JSON: {e})"),
            )
        })?;
        let seq = Some(fields.seq);
        if fields.key_id != self.key.id() {
            return Err(at(
                ProblemKind::UnknownKey,
                seq,
                format!(
                    "MAC'd with key id {}, not with this key ({})",
                    fields.key_id,
                    self.key.id()
                ),
            ));
        }
        if !self.key.verify_hex(&body, mac) {
            return Err(at(
                ProblemKind::BadMac,
                seq,
                "the MAC does not match: the record was edited or forged".into(),
            ));
        }
        if fields.seq > expected {
            return Err(if seq_appears(dir, files, expected) {
                at(
                    ProblemKind::Reordered,
                    seq,
                    format!(
                        "seq {} comes where seq {expected} should; {expected} appears later",
                        fields.seq
                    ),
                )
            } else {
                at(
                    ProblemKind::Removed,
                    seq,
                    format!("records {expected}..{} are missing", fields.seq - 1),
                )
            });
        }
        if fields.seq < expected {
            return Err(at(
                ProblemKind::Reordered,
                seq,
                format!(
                    "seq {} comes after seq {} (moved or duplicated)",
                    fields.seq,
                    expected - 1
                ),
            ));
        }
        if fields.prev != self.prev {
            return Err(at(
                ProblemKind::ChainBroken,
                seq,
                "`prev` is not the hash of the record before".into(),
            ));
        }
        let hash = sha256_hex(line);
        if fields.kind.as_deref() == Some("recovery") {
            let detail = fields.detail.unwrap_or(Value::Null);
            if let Some(lost) = detail.get("lost_records") {
                return Err(at(
                    ProblemKind::Truncated,
                    seq,
                    format!(
                        "when the trail was reopened here, records were found missing from its end: {lost}"
                    ),
                ));
            }
            self.report.recoveries.push((fields.seq, detail));
        }
        self.expected += 1;
        self.prev.clone_from(&hash);
        self.report.records += 1;
        self.report.last_seq = Some(fields.seq);
        self.report.last_hash = Some(hash.clone());
        Ok(hash)
    }
}

/// Whether any line of the trail carries `seq` (failure path only: tells reordered from removed).
fn seq_appears(dir: &Path, files: &[(u32, String)], seq: u64) -> bool {
    #[derive(serde::Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    files.iter().any(|(_, name)| {
        let Ok(file) = File::open(dir.join(name)) else {
            return false;
        };
        BufReader::new(file)
            .split(b'\n')
            .map_while(Result::ok)
            .any(|line| serde_json::from_slice::<SeqOnly>(&line).is_ok_and(|r| r.seq == seq))
    })
}
