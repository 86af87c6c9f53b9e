//! [`AuditLog`]: appends records to the trail, durably, one at a time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_platform::{Access, DirHandle};
use serde_json::{Value, json};

use crate::codec::{format_rfc3339_ms, now_ms, sha256_hex};
use crate::error::AuditError;
use crate::key::AuditKey;
use crate::record::{ChainFields, Event, GENESIS, Header, RecordKind, build_line, canonical_body};
use crate::trail::{self, HEAD_FILE, Head, HeadError};

/// No event is written larger than this, whatever `max_record_bytes` says.
const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// When appended records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` after every record, before `append` returns (the default). A record whose
    /// `append` returned survives a crash of the process *and* of the machine.
    Always,
    /// `fdatasync` when at least this long has passed since the last one (checked on append),
    /// and on [`AuditLog::sync`] / drop. Survives a process crash (the page cache keeps the
    /// data); a power loss can lose the records of the last interval. Weaker.
    Interval(Duration),
    /// Never `fdatasync` (the kernel writes back when it likes). Survives a process crash only;
    /// after a power loss the head may even be ahead of the trail, which `verify` then reports as
    /// truncation. For tests and benchmarks, not for production.
    Never,
}

/// How the log behaves.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A file that would grow past this is closed and the next one started (default 64 MiB).
    pub max_file_bytes: u64,
    /// When records reach the disk (default [`FsyncPolicy::Always`]).
    pub fsync: FsyncPolicy,
    /// An event larger than this when serialized has its commands' `params` replaced by
    /// `{"omitted": true, "bytes": N, "sha256": "…"}` (default 64 KiB); the chain header, decision
    /// and outcome are always kept.
    pub max_record_bytes: usize,
    /// `preflight` refuses when the file system has less free space than this (default 1 MiB).
    pub min_free_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            max_file_bytes: 64 * 1024 * 1024,
            fsync: FsyncPolicy::Always,
            max_record_bytes: 64 * 1024,
            min_free_bytes: 1024 * 1024,
        }
    }
}

/// What `append` returns once the record is written (and durable per the policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    /// The record's seq.
    pub seq: u64,
    /// Hex SHA-256 of its line (what the next record's `prev` holds). Ship `(seq, hash)` off the
    /// machine now and then and `verify_with` can prove the trail was not cut before it.
    pub hash: String,
    /// The record's time.
    pub time: String,
    /// The file it went to.
    pub file: String,
}

struct State {
    dir_fd: DirHandle,
    /// Shared so a group commit can fdatasync it without holding the state lock.
    file: Arc<File>,
    file_index: u32,
    file_len: u64,
    head: Arc<File>,
    /// Seq and line hash of the last record written.
    seq: u64,
    prev: String,
    last_sync: Instant,
    /// The seq the head file names (it only moves forward).
    head_seq: u64,
    poisoned: Option<String>,
}

/// An open audit trail. `append` is safe from many threads (one mutex; each record is written
/// and synced under it, so the order in the file is the order of `seq`).
pub struct AuditLog {
    dir: PathBuf,
    key: AuditKey,
    instance: String,
    options: AuditOptions,
    warnings: Vec<String>,
    state: Mutex<State>,
    /// Held while an fdatasync runs: appenders that arrive meanwhile wait, then find their
    /// record already synced (group commit: one fdatasync covers every record written before it).
    sync_lock: Mutex<()>,
    /// Every record with a seq up to this one is durable.
    synced: AtomicU64,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Reading and appending.
const APPEND: Access = Access {
    read: true,
    write: true,
    append: true,
    create_new: false,
};
/// A new file, appended to.
const NEW_APPEND: Access = Access {
    read: false,
    write: true,
    append: true,
    create_new: true,
};
/// Reading and writing in place (the head).
const READ_WRITE: Access = Access {
    read: true,
    write: true,
    append: false,
    create_new: false,
};
/// Reading only.
const READ: Access = Access {
    read: true,
    write: false,
    append: false,
    create_new: false,
};

fn open_at(dir_fd: &DirHandle, name: &str, how: Access, dir: &Path) -> Result<File, AuditError> {
    let file = dir_fd
        .open_file(name, how)
        .map_err(|e| AuditError::io("open", dir.join(name), e))?;
    let meta = file
        .metadata()
        .map_err(|e| AuditError::io("stat", dir.join(name), e))?;
    if !meta.is_file() {
        return Err(AuditError::DirRefused {
            path: dir.join(name),
            reason: "not a regular file".into(),
        });
    }
    Ok(file)
}

impl AuditLog {
    /// Opens (creating if needed) the trail in `dir` and continues it.
    ///
    /// The directory is created 0700 (an existing one must not be a symlink); files are created
    /// 0600 and opened `O_APPEND | O_NOFOLLOW`. An existing trail is continued from its last
    /// complete record: `seq` and `prev` carry on. If the newest file ends in a torn line (a
    /// crash in the middle of a write — that record's `append` never returned, so its call never
    /// returned a result), the torn bytes are cut off, and a `recovery` record noting their size
    /// and SHA-256 is written before anything else. A recovery record is also written when the
    /// head says the trail used to be longer (records lost: `verify` reports that as truncation
    /// for ever after), or does not match. A trail written under another key is refused
    /// ([`AuditError::KeyMismatch`]); a newest record that cannot be parsed is refused
    /// ([`AuditError::Corrupt`]). What was found is also in [`AuditLog::open_warnings`].
    pub fn open(dir: &Path, key: AuditKey, options: AuditOptions) -> Result<AuditLog, AuditError> {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(AuditError::DirRefused {
                    path: dir.to_path_buf(),
                    reason: "it is a symlink".into(),
                });
            }
            Ok(m) if !m.is_dir() => {
                return Err(AuditError::DirRefused {
                    path: dir.to_path_buf(),
                    reason: "not a directory".into(),
                });
            }
            Ok(_) => {}
            Err(_) => portcullis_platform::create_private_dir_all(dir)
                .map_err(|e| AuditError::io("create directory", dir, e))?,
        }
        let dir_fd = DirHandle::open(dir).map_err(|e| AuditError::io("open directory", dir, e))?;
        let mut warnings = Vec::new();
        let dir_meta = std::fs::metadata(dir).map_err(|e| AuditError::io("stat", dir, e))?;
        if portcullis_platform::group_or_other_write_bits(&dir_meta).is_some_and(|b| b != 0) {
            warnings.push(format!(
                "{} is writable by group or others (mode {:04o})",
                dir.display(),
                portcullis_platform::mode_bits(&dir_meta).unwrap_or_default()
            ));
        }

        let mut instance = [0u8; 16];
        getrandom::fill(&mut instance).map_err(|e| {
            AuditError::io(
                "draw random bytes for",
                dir,
                std::io::Error::other(e.to_string()),
            )
        })?;
        let instance = hex::encode(instance);

        let files = trail::list_files(dir).map_err(|e| AuditError::io("list", dir, e))?;
        let mut recovery = serde_json::Map::new();

        // The newest file is the one we append to; it alone may end in a torn line.
        let (file_index, file) = match files.last() {
            Some((index, name)) => (*index, open_at(&dir_fd, name, APPEND, dir)?),
            None => {
                let name = trail::file_name(1);
                let file = open_at(&dir_fd, &name, NEW_APPEND, dir)?;
                (1, file)
            }
        };
        let newest_name = trail::file_name(file_index);
        let newest_path = dir.join(&newest_name);
        let len = file
            .metadata()
            .map_err(|e| AuditError::io("stat", &newest_path, e))?
            .len();
        let tail =
            trail::read_tail(&file, len).map_err(|e| AuditError::io("read", &newest_path, e))?;
        if tail.torn_len > 0 {
            let torn = trail::read_at(
                &file,
                tail.complete_len,
                usize::try_from(tail.torn_len).unwrap_or(0),
            )
            .map_err(|e| AuditError::io("read", &newest_path, e))?;
            file.set_len(tail.complete_len)
                .map_err(|e| AuditError::io("truncate", &newest_path, e))?;
            file.sync_data()
                .map_err(|e| AuditError::io("fdatasync", &newest_path, e))?;
            warnings.push(format!(
                "{newest_name} ended in a torn record of {} bytes (a crash during a write); cut off at offset {}",
                tail.torn_len, tail.complete_len
            ));
            recovery.insert(
                "torn_tail".into(),
                json!({"file": newest_name, "offset": tail.complete_len, "bytes": tail.torn_len, "sha256": sha256_hex(&torn)}),
            );
        }
        // The last complete record: in the newest file, or (if it is empty) in an older one.
        let mut last: Option<(String, Vec<u8>)> =
            tail.last_line.map(|(_, line)| (newest_name.clone(), line));
        if last.is_none() {
            for (_, name) in files.iter().rev().skip(1) {
                let older = open_at(&dir_fd, name, READ, dir)?;
                let len = older
                    .metadata()
                    .map_err(|e| AuditError::io("stat", dir.join(name), e))?
                    .len();
                let t = trail::read_tail(&older, len)
                    .map_err(|e| AuditError::io("read", dir.join(name), e))?;
                if let Some((_, line)) = t.last_line {
                    last = Some((name.clone(), line));
                    break;
                }
            }
        }
        let (seq, prev) = match &last {
            None => (0, GENESIS.to_string()),
            Some((name, line)) => {
                let corrupt = || {
                    AuditError::Corrupt(format!(
                        "the last record of {name} is not a valid audit record"
                    ))
                };
                let (body, mac) = canonical_body(line).ok_or_else(corrupt)?;
                let fields: ChainFields = serde_json::from_slice(&body).map_err(|_| corrupt())?;
                if fields.key_id != key.id() {
                    return Err(AuditError::KeyMismatch {
                        dir: dir.to_path_buf(),
                        trail: fields.key_id,
                        ours: key.id().to_string(),
                    });
                }
                if !key.verify_hex(&body, mac) {
                    warnings.push(format!(
                        "the last record of {name} (seq {}) fails its MAC: edited?",
                        fields.seq
                    ));
                    recovery.insert(
                        "last_record_bad_mac".into(),
                        json!({"file": name, "seq": fields.seq}),
                    );
                }
                (fields.seq, sha256_hex(line))
            }
        };

        // The head: create it if missing (fresh trail), else compare.
        let head_path = dir.join(HEAD_FILE);
        let head_file = match open_at(&dir_fd, HEAD_FILE, READ_WRITE, dir) {
            Ok(f) => {
                match trail::read_head(dir, &key) {
                    Ok(head) if head.seq > seq => {
                        warnings.push(format!(
                            "the head says the trail reached seq {} but it ends at seq {seq}: records lost (truncated?)",
                            head.seq
                        ));
                        recovery.insert(
                            "lost_records".into(),
                            json!({"from": seq + 1, "to": head.seq, "head_file": head.file, "head_hash": head.hash}),
                        );
                    }
                    Ok(head) if head.seq == seq && head.seq > 0 && head.hash != prev => {
                        warnings.push(format!(
                            "the head's hash does not match the last record (seq {seq}): replaced?"
                        ));
                        recovery.insert(
                            "head_mismatch".into(),
                            json!({"seq": seq, "head_hash": head.hash}),
                        );
                    }
                    Ok(_) => {}
                    Err(HeadError::Empty) if seq == 0 => {}
                    Err(e) => {
                        warnings.push(format!("the head file is unusable ({e:?})"));
                        recovery.insert(
                            "head_unusable".into(),
                            json!(format!("{e:?}").to_lowercase()),
                        );
                    }
                }
                f
            }
            Err(AuditError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                if seq > 0 {
                    warnings.push("the head file is missing".to_string());
                    recovery.insert("head_unusable".into(), json!("missing"));
                }
                open_at(
                    &dir_fd,
                    HEAD_FILE,
                    Access {
                        create_new: true,
                        ..READ_WRITE
                    },
                    dir,
                )?
            }
            Err(e) => return Err(e),
        };
        let head = Head {
            seq,
            file: last.as_ref().map(|(n, _)| n.clone()).unwrap_or_default(),
            hash: prev.clone(),
            key_id: key.id().to_string(),
        };
        trail::write_head(&head_file, &head, &key)
            .map_err(|e| AuditError::io("write", &head_path, e))?;
        head_file
            .sync_data()
            .map_err(|e| AuditError::io("fdatasync", &head_path, e))?;
        dir_fd.sync().map_err(|e| AuditError::io("fsync", dir, e))?;

        let file_len = file
            .metadata()
            .map_err(|e| AuditError::io("stat", &newest_path, e))?
            .len();
        let log = AuditLog {
            dir: dir.to_path_buf(),
            key,
            instance,
            options,
            warnings,
            state: Mutex::new(State {
                dir_fd,
                file: Arc::new(file),
                file_index,
                file_len,
                head: Arc::new(head_file),
                seq,
                prev,
                last_sync: Instant::now(),
                head_seq: seq,
                poisoned: None,
            }),
            sync_lock: Mutex::new(()),
            synced: AtomicU64::new(seq),
        };
        if !recovery.is_empty() {
            let event = Event {
                detail: Some(Value::Object(recovery)),
                ..Event::new(RecordKind::Recovery)
            };
            log.append(&event)?;
        }
        Ok(log)
    }

    /// The trail's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This process's instance id (in every record it writes).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// What `open` found wrong and recovered from (also in a `recovery` record); empty normally.
    pub fn open_warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Checks, cheaply, that the next record can be written: the log is not poisoned, the current
    /// file is still linked into the directory (not deleted), and the file system has at least
    /// `min_free_bytes` free. Call it before executing a call that passed decide and consent: an
    /// error means "do not run it" (fail closed), because its record might not be writable after.
    pub fn preflight(&self) -> Result<(), AuditError> {
        let st = self.lock()?;
        let path = self.dir.join(trail::file_name(st.file_index));
        let meta = st
            .file
            .metadata()
            .map_err(|e| AuditError::io("stat", &path, e))?;
        if portcullis_platform::link_count(&meta) == Some(0) {
            return Err(AuditError::NotReady(format!(
                "{} was deleted",
                path.display()
            )));
        }
        let free = portcullis_platform::free_bytes(&st.file)
            .map_err(|e| AuditError::io("statvfs", &path, e))?;
        if let Some(free) = free.filter(|f| *f < self.options.min_free_bytes) {
            return Err(AuditError::NotReady(format!(
                "only {free} bytes free on the audit file system"
            )));
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, AuditError> {
        let st = self
            .state
            .lock()
            .map_err(|_| AuditError::Poisoned("a writer panicked".into()))?;
        if let Some(reason) = &st.poisoned {
            return Err(AuditError::Poisoned(reason.clone()));
        }
        Ok(st)
    }

    /// Appends one record and returns once it is written and durable per the [`FsyncPolicy`].
    ///
    /// On error nothing was acknowledged: the caller must not return the call's result (fail
    /// closed) and should say the audit could not be written. A failed write is rolled back
    /// (the file cut back to its previous length); if that or an `fdatasync` fails, the log is
    /// poisoned and refuses every later append (after a failed fsync the kernel may have dropped
    /// the data, so nothing written later could be trusted to follow it).
    ///
    /// Concurrent appends are written in seq order under one lock and share fdatasyncs (group
    /// commit): each returns once an fdatasync that started after its write has finished.
    pub fn append(&self, event: &Event) -> Result<Sequenced, AuditError> {
        let ack = self.write(event)?;
        self.commit(ack.seq)?;
        Ok(ack)
    }

    /// Appends several records with one durability wait between them all (group commit for a
    /// writer that gathers what many callers hand it): each is written in turn, then one
    /// fdatasync (per the [`FsyncPolicy`]) covers every one written. The results are in the
    /// events' order; when the sync fails, every record it was to cover fails too (none is
    /// acknowledged, and the log is poisoned).
    pub fn append_batch(&self, events: &[&Event]) -> Vec<Result<Sequenced, AuditError>> {
        let mut out: Vec<Result<Sequenced, AuditError>> =
            events.iter().map(|e| self.write(e)).collect();
        let last = out
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|s| s.seq)
            .max();
        if let Some(seq) = last
            && let Err(e) = self.commit(seq)
        {
            let why = e.to_string();
            for r in &mut out {
                if r.is_ok() {
                    *r = Err(AuditError::Poisoned(why.clone()));
                }
            }
        }
        out
    }

    /// Writes one record (not yet durable): [`AuditLog::commit`] makes it so.
    fn write(&self, event: &Event) -> Result<Sequenced, AuditError> {
        let event_json = self.serialize(event)?;
        let ack = {
            let mut st = self.lock()?;
            let seq = st.seq + 1;
            let time = format_rfc3339_ms(now_ms());
            let header = Header {
                seq,
                time: &time,
                instance: &self.instance,
                key_id: self.key.id(),
                prev: &st.prev,
            };
            let mut line = build_line(&header, &event_json, &self.key);
            let hash = sha256_hex(line.as_bytes());
            line.push('\n');

            if st.file_len > 0 && st.file_len + line.len() as u64 > self.options.max_file_bytes {
                self.rotate(&mut st)?;
            }
            let path = self.dir.join(trail::file_name(st.file_index));
            if let Err(e) = (&*st.file).write_all(line.as_bytes()) {
                if let Err(cut) = st.file.set_len(st.file_len) {
                    st.poisoned = Some(format!(
                        "write to {} failed ({e}) and could not be undone ({cut})",
                        path.display()
                    ));
                }
                return Err(AuditError::io("write", path, e));
            }
            st.file_len += line.len() as u64;
            st.seq = seq;
            st.prev.clone_from(&hash);
            let file = trail::file_name(st.file_index);
            if self.options.fsync == FsyncPolicy::Never {
                let head = Head {
                    seq,
                    file: file.clone(),
                    hash: hash.clone(),
                    key_id: self.key.id().to_string(),
                };
                self.advance_head(&mut st, &head)?;
            }
            Sequenced {
                seq,
                hash,
                time,
                file,
            }
        };
        Ok(ack)
    }

    /// Makes the records up to `seq` durable as the [`FsyncPolicy`] asks.
    fn commit(&self, seq: u64) -> Result<(), AuditError> {
        let sync_now = match self.options.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Interval(every) => self.lock()?.last_sync.elapsed() >= every,
            FsyncPolicy::Never => false,
        };
        if sync_now {
            self.sync_through(seq)?;
        }
        Ok(())
    }

    /// Makes everything appended so far durable (whatever the policy), then updates the head.
    /// Call it on shutdown and, with `Interval`, from a timer if calls are rare.
    pub fn sync(&self) -> Result<(), AuditError> {
        let seq = self.lock()?.seq;
        self.sync_through(seq)
    }

    /// Returns once every record up to `seq` is durable: one fdatasync of the current file
    /// covers all records written to it so far (older files were synced when rotated).
    fn sync_through(&self, seq: u64) -> Result<(), AuditError> {
        let _turn = self
            .sync_lock
            .lock()
            .map_err(|_| AuditError::Poisoned("a writer panicked".into()))?;
        if self.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let (file, head, path) = {
            let st = self.lock()?;
            let name = trail::file_name(st.file_index);
            let head = Head {
                seq: st.seq,
                file: name.clone(),
                hash: st.prev.clone(),
                key_id: self.key.id().to_string(),
            };
            (st.file.clone(), head, self.dir.join(name))
        };
        if let Err(e) = file.sync_data() {
            if let Ok(mut st) = self.state.lock() {
                st.poisoned = Some(format!("fdatasync of {} failed: {e}", path.display()));
            }
            return Err(AuditError::io("fdatasync", path, e));
        }
        let mut st = self.lock()?;
        st.last_sync = Instant::now();
        self.advance_head(&mut st, &head)
    }

    /// Writes the head for a record known durable (with `Never`: written) and only then marks
    /// it synced, so that whoever sees `synced >= seq` also finds the head at or past `seq`.
    /// The head only moves forward; after a crash it lags the trail, never leads it.
    fn advance_head(&self, st: &mut State, head: &Head) -> Result<(), AuditError> {
        if head.seq > st.head_seq {
            trail::write_head(&st.head, head, &self.key)
                .map_err(|e| AuditError::io("write", self.dir.join(HEAD_FILE), e))?;
            st.head_seq = head.seq;
        }
        self.synced.fetch_max(head.seq, Ordering::AcqRel);
        Ok(())
    }

    fn serialize(&self, event: &Event) -> Result<String, AuditError> {
        let json = serde_json::to_string(event)?;
        if json.len() <= self.options.max_record_bytes.min(MAX_EVENT_BYTES) {
            return Ok(json);
        }
        // Too large: keep everything but the parameters, which are summarized.
        let mut smaller = event.clone();
        for command in &mut smaller.commands {
            if let Some(params) = &command.params {
                let text = serde_json::to_string(params)?;
                command.params = Some(
                    json!({"omitted": true, "bytes": text.len(), "sha256": sha256_hex(text.as_bytes())}),
                );
            }
        }
        if let Some(detail) = &smaller.detail {
            let text = serde_json::to_string(detail)?;
            if text.len() > self.options.max_record_bytes / 2 {
                smaller.detail = Some(
                    json!({"omitted": true, "bytes": text.len(), "sha256": sha256_hex(text.as_bytes())}),
                );
            }
        }
        let json = serde_json::to_string(&smaller)?;
        // Still huge (endless reasons or errors): refuse rather than write a line `verify` would
        // not accept (it reads lines of up to 16 MiB).
        if json.len() > MAX_EVENT_BYTES {
            return Err(AuditError::RecordTooLarge(json.len()));
        }
        Ok(json)
    }

    fn rotate(&self, st: &mut State) -> Result<(), AuditError> {
        let old = self.dir.join(trail::file_name(st.file_index));
        // Records of the old file are made durable now; a group commit in flight may still be
        // syncing it, which is harmless.
        if self.options.fsync != FsyncPolicy::Never && self.synced.load(Ordering::Acquire) < st.seq
        {
            if let Err(e) = st.file.sync_data() {
                st.poisoned = Some(format!("fdatasync of {} failed: {e}", old.display()));
                return Err(AuditError::io("fdatasync", old, e));
            }
            let head = Head {
                seq: st.seq,
                file: trail::file_name(st.file_index),
                hash: st.prev.clone(),
                key_id: self.key.id().to_string(),
            };
            self.advance_head(st, &head)?;
        }
        let index = st.file_index + 1;
        let name = trail::file_name(index);
        let file = open_at(&st.dir_fd, &name, NEW_APPEND, &self.dir)?;
        if self.options.fsync != FsyncPolicy::Never {
            st.dir_fd
                .sync()
                .map_err(|e| AuditError::io("fsync", &self.dir, e))?;
        }
        st.file = Arc::new(file);
        st.file_index = index;
        st.file_len = 0;
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}
