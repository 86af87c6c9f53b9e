//! The one error type of the crate. Every failure to record is an error the caller must turn into
//! a refusal (fail closed); nothing here panics.

use std::path::PathBuf;

/// Why the audit trail could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file system operation failed (directory unwritable, disk full, file removed, ...).
    #[error("audit: cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "write", "fdatasync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The key file is a symlink, not a regular file, or readable/writable by group or others.
    #[error("audit: key file {} is refused: {reason}", path.display())]
    KeyRefused {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        reason: String,
    },
    /// The trail was written with another key than the one loaded.
    #[error(
        "audit: the trail in {} was written with key id {trail}, but the key file has id {ours}; \
         restore the key or move the old trail away", dir.display()
    )]
    KeyMismatch {
        /// The audit directory.
        dir: PathBuf,
        /// The key id found in the trail's last record.
        trail: String,
        /// The key id of the loaded key.
        ours: String,
    },
    /// The audit directory is a symlink or not a directory.
    #[error("audit: {} is refused: {reason}", path.display())]
    DirRefused {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The newest record of an existing trail cannot be parsed, so the chain cannot be continued.
    #[error("audit: cannot continue the trail: {0} (run `portcullis audit verify`)")]
    Corrupt(String),
    /// An earlier write or fdatasync failed in a way that leaves the file's state unknown; every
    /// later append is refused until the log is reopened.
    #[error("audit: the trail is unusable after an earlier failure: {0}")]
    Poisoned(String),
    /// The pre-flight check found the trail cannot take another record.
    #[error("audit: not ready: {0}")]
    NotReady(String),
    /// A record could not be serialized.
    #[error("audit: cannot serialize a record: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A record is too large to write even with its parameters summarized.
    #[error("audit: a record of {0} bytes is too large to write")]
    RecordTooLarge(usize),
    /// A time argument of `show` is not understood.
    #[error("audit: bad time {0:?} (expected RFC 3339, YYYY-MM-DD, or an age like 15m, 2h, 7d)")]
    BadTime(String),
}

impl AuditError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
