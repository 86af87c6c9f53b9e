//! The path-policy hook: the only way the parser reads local files (`file://`, `fileb://`,
//! `--cli-input-json file://...`).
//!
//! The sandbox (a later stage) implements [`PathPolicy`] over a working directory handle. Here are
//! two implementations for tests and tools: [`AllowAll`] (relative to a base directory, bounded) and
//! [`DenyAll`].

use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileUse {
    /// `file://` in a parameter: text.
    ParamText,
    /// `fileb://` in a parameter: bytes.
    ParamBytes,
    /// `--cli-input-json file://...`
    CliInputJson,
    /// A streaming blob parameter (`s3api put-object --body PATH`), read when the request is sent.
    StreamingBody,
    /// `--ca-bundle PATH`.
    CaBundle,
}

/// A refusal or failure to read a local file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// Decides whether, and how, a local path may be read.
pub trait PathPolicy: Send + Sync {
    /// Reads the whole file `path` (as written after `file://`), or refuses.
    fn read(&self, path: &str, why: FileUse) -> Result<Vec<u8>, FileError>;

    /// Checks that `path` is a regular file that may be read later, without reading it; its size.
    fn check(&self, path: &str, why: FileUse) -> Result<u64, FileError>;
}

/// Reads any path, relative to `base`, up to `max_bytes`. No `~` or `$VAR` expansion: such a path is
/// read literally. For tests and trusted local use only.
#[derive(Debug, Clone)]
pub struct AllowAll {
    pub base: PathBuf,
    pub max_bytes: u64,
}

impl AllowAll {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into(), max_bytes: 16 * 1024 * 1024 }
    }
}

impl PathPolicy for AllowAll {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        if path.is_empty() {
            return Err(FileError("the file path is empty".into()));
        }
        let full = self.base.join(Path::new(path));
        let file = std::fs::File::open(&full).map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        let mut buf = Vec::new();
        file.take(self.max_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        if buf.len() as u64 > self.max_bytes {
            return Err(FileError(format!("{path} is larger than the {} byte limit", self.max_bytes)));
        }
        Ok(buf)
    }

    fn check(&self, path: &str, _why: FileUse) -> Result<u64, FileError> {
        if path.is_empty() {
            return Err(FileError("the file path is empty".into()));
        }
        let meta = std::fs::metadata(self.base.join(path)).map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        if !meta.is_file() {
            return Err(FileError(format!("{path} is not a regular file")));
        }
        Ok(meta.len())
    }
}

/// Refuses every local path.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl PathPolicy for DenyAll {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        Err(FileError(format!("reading local files is disabled, so {path} was not read; pass the value inline")))
    }

    fn check(&self, path: &str, why: FileUse) -> Result<u64, FileError> {
        self.read(path, why).map(|_| 0)
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}
