//! Portcullis's record stage: one audit record per tool call (and per start-up and configuration
//! load), hash-chained, MAC'd with a per-install key, and durable before the call's result is
//! returned. If a record cannot be written, the call fails closed.
//!
//! # Brief overview
//!
//! An [`AuditKey`] (256 random bits in a 0600 file) keys the MACs. An [`AuditLog`] appends
//! [`Event`]s — what the caller knows: kind, session, principal, tool, the [`CommandEntry`]s with
//! digest, parameters (already masked by the caller: the trail stores what it is given, and Portcullis's pipeline masks secret values with its one redaction module before recording), classification, decision, consent and execution,
//! latency, response size — and turns each into an [`AuditRecord`] by adding the chain header
//! (`seq`, `time`, `instance`, `key_id`, `prev`) and the `mac`. [`verify`] walks a trail and
//! returns a [`VerifyReport`] naming the first [`Problem`]; [`show`] reads records back through a
//! [`Filter`] (its principal filter uses the project's one `*` matcher). The stage takes strings,
//! not the AWS crates' types, and depends on no Portcullis crate but the leaf `portcullis-netaddr`,
//! so gateway-mode tools or another project can use it alone (Unix only: `O_NOFOLLOW`,
//! `fdatasync`). What other tools should rely on is the record format specified below, which
//! a verifier can check without this crate; the Rust API follows what the server needs.
//!
//! ```
//! use portcullis_audit::*;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), AuditError> {
//! # let dir = std::env::temp_dir().join(format!("audit-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let key = AuditKey::load_or_create(&dir.join("audit.key"))?;
//! let log = AuditLog::open(&dir.join("trail"), key.clone(), AuditOptions::default())?;
//! log.append(&Event::startup(json!({"version": "0.1.0"})))?;
//!
//! log.preflight()?; // before executing: refuse the call if this fails
//! let mut event = Event::tool_call("call_aws");
//! event.commands.push(CommandEntry {
//!     service: Some("secretsmanager".into()),
//!     operation: Some("create-secret".into()),
//!     params: Some(json!({"Name": "db", "SecretString": "****"})),
//!     decision: Some(DecisionInfo { outcome: DecisionOutcome::Consent, reasons: vec![], rule_ids: vec![] }),
//!     ..CommandEntry::default()
//! });
//! let ack = log.append(&event)?; // durable now; only then return the result
//! assert_eq!(ack.seq, 2);
//!
//! assert!(verify(&dir.join("trail"), &key).is_ok());
//! let denied = show(&dir.join("trail"), Filter { decisions: vec![DecisionOutcome::Deny], ..Filter::default() })?;
//! assert_eq!(denied.count(), 0);
//! # drop(log); std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```
//!
//! # Where the server calls it
//!
//! * At start-up: [`AuditKey::load_or_create`] ([`default_key_path`] unless configured), then
//!   [`AuditLog::open`] ([`default_audit_dir`] unless configured). Either failing means the
//!   server does not start. Log [`AuditLog::open_warnings`] to stderr. Then append
//!   [`Event::startup`] (version, pid, transport, mode).
//! * After each configuration/policy load (and reload): append [`Event::config`] (paths and
//!   SHA-256 of the files, mode, rule counts; never secrets). A failure here is a failed load.
//! * Per tool call: after decide and consent, *before executing*, call [`AuditLog::preflight`];
//!   if it fails, do not execute — answer with the error ("audit log unavailable: …"). After the
//!   result is known (or the call was refused), build one [`Event::tool_call`] and
//!   [`AuditLog::append`] it **before** returning the result. If `append` fails, return an error
//!   instead of the result. Exactly one record per call, whatever the outcome (denied, declined,
//!   invalid, failed, ok).
//! * On shutdown: [`AuditLog::sync`] (drop does it too).
//! * `portcullis audit verify`: [`verify`] / [`verify_with`] and print the report (`Display`);
//!   exit non-zero unless [`VerifyReport::is_ok`]. `portcullis audit show`: [`show`] with
//!   [`parse_time_arg`] for `--since/--until`, printing [`Shown::line`] (JSON Lines) or
//!   [`Shown::compact`].
//!
//! `append` takes `&self` and is safe from many tasks; it blocks for an `fdatasync` (milliseconds),
//! so from async code call it in `spawn_blocking` (or accept the blocking on a small runtime).
//!
//! # Files
//!
//! A trail is a directory (created 0700; a symlink is refused) holding `audit-000001.jsonl`,
//! `audit-000002.jsonl`, … (0600, opened `O_APPEND | O_NOFOLLOW`; a new file is started when the
//! next record would take the current one past `max_file_bytes`) and `audit.head`.
//!
//! # Canonical format
//!
//! Each record is one line of UTF-8 JSON followed by `\n`. The writer emits the members in this
//! order: `seq`, `time`, `instance`, `key_id`, `prev`, `kind`, then the [`Event`]'s members in
//! declaration order (absent options and empty lists omitted), and last `mac`. A verifier does not
//! need to re-serialize anything; it works on the bytes:
//!
//! * `line` = the bytes of the line without its `\n`. It must start with `{"seq":` and end with
//!   `,"mac":"` + 64 lowercase hex digits + `"}`.
//! * `body` = `line` without that 74-byte suffix, followed by `}` (i.e. the line with the `mac`
//!   member removed). `body` is valid JSON.
//! * `mac` = hex HMAC-SHA256(key, `body`). `key_id` = hex of the first 8 bytes of
//!   HMAC-SHA256(key, `"portcullis-audit key id"`).
//! * `prev` = hex SHA-256 of the previous record's `line` (the whole line including its `mac`;
//!   across files too); the first record of a trail has 64 zeros ([`GENESIS`]).
//! * `seq` starts at 1 and grows by 1 across all files. `time` is RFC 3339 UTC with milliseconds
//!   (`2026-11-24T07:57:22.123Z`); `instance` is 32 hex digits, random per process.
//!
//! The key file holds 64 hex digits and a newline. `audit.head` is one line, padded with spaces to
//! 255 bytes plus `\n`: `{"head":1,"seq":N,"file":"audit-….jsonl","hash":"<SHA-256 of record N's
//! line>","key_id":"…","mac":"…"}`, MAC'd the same way (body = the line without the `mac` suffix,
//! plus `}`). It is rewritten in place after each durable append and names the newest record known
//! durable.
//!
//! # What `verify` detects, and what it cannot
//!
//! Detected, at the record where it is: any edit of any byte of a record (bad MAC, or not a record
//! line: [`ProblemKind::BadMac`], [`ProblemKind::Edited`]); a record forged without the key (bad
//! MAC); a record MAC'd with another key ([`ProblemKind::UnknownKey`]); a record removed from the
//! start or the middle ([`ProblemKind::Removed`], at the record after the gap); records swapped,
//! moved or duplicated ([`ProblemKind::Reordered`]); a genuine record put in another's place
//! ([`ProblemKind::ChainBroken`]); a whole file removed ([`ProblemKind::FileMissing`]);
//! records removed from the end, or the last file removed, or the last line cut short: the head
//! names a seq the trail no longer reaches ([`ProblemKind::Truncated`]); the head removed or
//! edited ([`ProblemKind::HeadMissing`], [`ProblemKind::HeadInvalid`]); a trail reopened after it
//! was cut (the `recovery` record written then says which records were lost, and `verify` reports
//! [`ProblemKind::Truncated`] there ever after).
//!
//! Not an error: a torn final line (no newline) in the newest file — a crash during a write. Its
//! `append` never returned, so its call never returned a result. `verify` reports it
//! ([`VerifyReport::torn_tail`]) and verifies everything before it; [`AuditLog::open`] cuts it off
//! and writes a `recovery` record with its size and SHA-256 (listed in
//! [`VerifyReport::recoveries`]). The head may lag the trail by the records of the last moments
//! before a crash (never lead it, under `Always` and `Interval`).
//!
//! Not detectable from the machine alone: someone who can write the directory cutting the newest
//! records *and* restoring a copy of `audit.head` they saved earlier (the trail then looks
//! complete up to that older head), or deleting the whole trail and head. Against that, keep an
//! [`Anchor`] (`seq`, `hash` from [`Sequenced`] or [`VerifyReport::last_hash`]) elsewhere — a
//! remote log, a ticket — and pass it to [`verify_with`]. Anyone who can read the key can forge
//! everything; the key's protection is the file mode (0600, checked at load) and the account.
//! With [`FsyncPolicy::Never`] and a power loss, the head may lead the trail and `verify` reports
//! truncation that was the disk's doing. `time` is the wall clock and is not checked for order.
//!
//! Not supported yet: rotating the key (a trail is verified with one key; `open` refuses a trail
//! made with another), and retention (deleting old files makes `verify` report
//! [`ProblemKind::FileMissing`]; a later `verify --from` with an anchor would allow it).
#![cfg_attr(not(test), warn(missing_docs))]

mod codec;
mod error;
mod key;
mod log;
mod record;
mod show;
mod trail;
mod verify;

pub use codec::{format_rfc3339_ms, parse_rfc3339_ms, sha256_hex};
pub use error::AuditError;
pub use key::{AuditKey, default_audit_dir, default_key_path};
pub use log::{AuditLog, AuditOptions, FsyncPolicy, Sequenced};
pub use record::{
    AuditRecord, ClassificationInfo, CommandEntry, ConsentInfo, ConsentOutcome, DecisionInfo,
    DecisionOutcome, Event, ExecStatus, ExecutionInfo, GENESIS, RecordKind, canonical_body,
};
pub use show::{Filter, Shown, parse_time_arg, show};
pub use trail::Head;
pub use verify::{
    Anchor, Problem, ProblemKind, TornTail, VerifyOptions, VerifyReport, verify, verify_with,
};
