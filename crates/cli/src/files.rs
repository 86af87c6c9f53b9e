//! The path-policy hook: the only way the parser reads local files (`file://`, `fileb://`,
//! `--cli-input-json file://...`), and the only way `aws s3 cp|mv|sync` read, list, write and
//! remove them.
//!
//! The server's sandbox (the `portcullis-sandbox` crate) implements [`PathPolicy`] over a working
//! directory handle. Here are two implementations for tests and tools: [`AllowAll`] (relative to a
//! base directory, bounded) and [`DenyAll`].

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
    /// A local file uploaded by `aws s3 cp`.
    S3Upload,
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

    /// Writes `bytes` to the file `path` (an `aws s3 cp` download), replacing it atomically and
    /// creating missing parent directories; never writes through a symlink. Refused unless the
    /// policy allows writes.
    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), FileError> {
        let _ = bytes;
        Err(FileError(format!(
            "writing local files is disabled, so {path} was not written"
        )))
    }

    /// Checks, before anything is sent, that `path` could be written (an outfile, an `aws s3 cp`
    /// download target): the path stays where writes may go and is not a symlink or a directory.
    /// [`PathPolicy::write`] checks again when it writes.
    fn check_write(&self, path: &str) -> Result<(), FileError> {
        Err(FileError(format!(
            "writing local files is disabled, so {path} would not be written"
        )))
    }

    /// The regular files beneath the directory `dir` (`aws s3 cp --recursive`), as sorted paths
    /// relative to `dir` with `/` separators; symlinks are skipped, never followed.
    fn list(&self, dir: &str) -> Result<Vec<String>, FileError> {
        Err(FileError(format!(
            "listing local directories is disabled, so {dir} was not listed"
        )))
    }

    /// Whether `path` is an existing directory (where a download keeps the object's name).
    fn is_dir(&self, path: &str) -> bool {
        let _ = path;
        false
    }

    /// The size and last-modified time of the regular file `path`, reached as a read reaches it
    /// (`aws s3 sync` compares them with the other side's); nothing is read.
    fn stat(&self, path: &str) -> Result<FileStat, FileError> {
        Err(FileError(format!(
            "reading local files is disabled, so {path} was not looked at"
        )))
    }

    /// Sets the last-modified (and access) time of the regular file `path` to `secs` since the
    /// epoch, as the AWS CLI does to a file it downloaded (the object's `LastModified`); never
    /// through a symlink. Refused unless the policy allows writes.
    fn set_modified(&self, path: &str, secs: i64) -> Result<(), FileError> {
        let _ = secs;
        Err(FileError(format!(
            "writing local files is disabled, so the time of {path} was not set"
        )))
    }

    /// Removes the regular file `path` (`aws s3 mv` from a local source, `aws s3 sync --delete`
    /// into a local directory): only where writes may go, never a directory, and a symlink is
    /// neither followed nor removed. Refused unless the policy allows writes.
    fn remove(&self, path: &str) -> Result<(), FileError> {
        Err(FileError(format!(
            "writing local files is disabled, so {path} was not removed"
        )))
    }
}

/// What `aws s3 sync` compares of a local file: its size and when it was last modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub modified_secs: i64,
    /// Nanoseconds within that second.
    pub modified_nanos: u32,
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
        Self {
            base: base.into(),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

impl PathPolicy for AllowAll {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        if path.is_empty() {
            return Err(FileError("the file path is empty".into()));
        }
        let full = self.base.join(Path::new(path));
        let file = std::fs::File::open(&full)
            .map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        let mut buf = Vec::new();
        file.take(self.max_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        if buf.len() as u64 > self.max_bytes {
            return Err(FileError(format!(
                "{path} is larger than the {} byte limit",
                self.max_bytes
            )));
        }
        Ok(buf)
    }

    fn check(&self, path: &str, _why: FileUse) -> Result<u64, FileError> {
        if path.is_empty() {
            return Err(FileError("the file path is empty".into()));
        }
        let meta = std::fs::metadata(self.base.join(path))
            .map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        if !meta.is_file() {
            return Err(FileError(format!("{path} is not a regular file")));
        }
        Ok(meta.len())
    }

    fn check_write(&self, path: &str) -> Result<(), FileError> {
        if path.is_empty() || path.ends_with('/') {
            return Err(FileError(format!("{path:?} is not a file path")));
        }
        match std::fs::symlink_metadata(self.base.join(Path::new(path))) {
            Ok(m) if m.file_type().is_symlink() => Err(FileError(format!(
                "{path} is a symbolic link; it is not written through"
            ))),
            Ok(m) if m.is_dir() => Err(FileError(format!("{path} is a directory"))),
            _ => Ok(()),
        }
    }

    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), FileError> {
        if path.is_empty() || path.ends_with('/') {
            return Err(FileError(format!("{path:?} is not a file path")));
        }
        if bytes.len() as u64 > self.max_bytes {
            return Err(FileError(format!(
                "{path} would be larger than the {} byte limit",
                self.max_bytes
            )));
        }
        let full = self.base.join(Path::new(path));
        let fail = |e: std::io::Error| FileError(format!("cannot write {path}: {}", io_reason(&e)));
        let (Some(dir), Some(name)) = (full.parent(), full.file_name()) else {
            return Err(FileError(format!("{path:?} is not a file path")));
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(FileError(format!(
                    "{path} is a symbolic link; it is not written through"
                )));
            }
            Ok(m) if !m.is_file() => {
                return Err(FileError(format!(
                    "{path} exists and is not a regular file"
                )));
            }
            _ => {}
        }
        // A fresh temporary name beside the target (create_new never follows a symlink), then an
        // atomic rename: readers see the old file or the whole new one, never a part.
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".portcullis-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            std::io::Write::write_all(&mut f, bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &full)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        Ok(())
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FileError> {
        const MAX_FILES: usize = 100_000;
        const MAX_DEPTH: usize = 64;
        let root = self.base.join(Path::new(dir));
        let meta = std::fs::symlink_metadata(&root)
            .map_err(|e| FileError(format!("cannot list {dir}: {}", io_reason(&e))))?;
        if !meta.is_dir() {
            return Err(FileError(format!("{dir} is not a directory")));
        }
        let mut out = Vec::new();
        let mut stack: Vec<(PathBuf, String, usize)> = vec![(root, String::new(), 0)];
        while let Some((path, rel, depth)) = stack.pop() {
            let entries = std::fs::read_dir(&path)
                .map_err(|e| FileError(format!("cannot list {dir}/{rel}: {}", io_reason(&e))))?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    FileError(format!("cannot list {dir}/{rel}: {}", io_reason(&e)))
                })?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    return Err(FileError(format!(
                        "a file name under {dir}/{rel} is not UTF-8"
                    )));
                };
                let child_rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                // file_type() does not follow symlinks: a link is neither a file nor a directory here.
                let kind = entry.file_type().map_err(|e| {
                    FileError(format!("cannot list {child_rel}: {}", io_reason(&e)))
                })?;
                if kind.is_dir() {
                    if depth + 1 >= MAX_DEPTH {
                        return Err(FileError(format!(
                            "{dir} is nested deeper than {MAX_DEPTH} directories"
                        )));
                    }
                    stack.push((entry.path(), child_rel, depth + 1));
                } else if kind.is_file() {
                    out.push(child_rel);
                    if out.len() > MAX_FILES {
                        return Err(FileError(format!(
                            "{dir} holds more than {MAX_FILES} files"
                        )));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn is_dir(&self, path: &str) -> bool {
        std::fs::metadata(self.base.join(Path::new(path))).is_ok_and(|m| m.is_dir())
    }

    fn stat(&self, path: &str) -> Result<FileStat, FileError> {
        if path.is_empty() {
            return Err(FileError("the file path is empty".into()));
        }
        let meta = std::fs::metadata(self.base.join(Path::new(path)))
            .map_err(|e| FileError(format!("cannot read {path}: {}", io_reason(&e))))?;
        if !meta.is_file() {
            return Err(FileError(format!("{path} is not a regular file")));
        }
        let (modified_secs, modified_nanos) = meta.modified().map_or((0, 0), unix_time);
        Ok(FileStat {
            size: meta.len(),
            modified_secs,
            modified_nanos,
        })
    }

    fn set_modified(&self, path: &str, secs: i64) -> Result<(), FileError> {
        let full = self.base.join(Path::new(path));
        let fail = |e: std::io::Error| {
            FileError(format!("cannot set the time of {path}: {}", io_reason(&e)))
        };
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(FileError(format!(
                    "{path} is a symbolic link; its time is not set"
                )));
            }
            Ok(m) if !m.is_file() => {
                return Err(FileError(format!("{path} is not a regular file")));
            }
            Ok(_) => {}
            Err(e) => return Err(fail(e)),
        }
        let when = if secs >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.unsigned_abs())
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_secs(secs.unsigned_abs())
        };
        let file = std::fs::File::open(&full).map_err(fail)?;
        file.set_times(
            std::fs::FileTimes::new()
                .set_accessed(when)
                .set_modified(when),
        )
        .map_err(fail)
    }

    fn remove(&self, path: &str) -> Result<(), FileError> {
        if path.is_empty() || path.ends_with('/') {
            return Err(FileError(format!("{path:?} is not a file path")));
        }
        let full = self.base.join(Path::new(path));
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => Err(FileError(format!(
                "{path} is a symbolic link; it is not removed"
            ))),
            Ok(m) if !m.is_file() => Err(FileError(format!(
                "{path} is not a regular file; it is not removed"
            ))),
            Ok(_) => std::fs::remove_file(&full)
                .map_err(|e| FileError(format!("cannot remove {path}: {}", io_reason(&e)))),
            Err(e) => Err(FileError(format!(
                "cannot remove {path}: {}",
                io_reason(&e)
            ))),
        }
    }
}

static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Refuses every local path.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl PathPolicy for DenyAll {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        Err(FileError(format!(
            "reading local files is disabled, so {path} was not read; pass the value inline"
        )))
    }

    fn check(&self, path: &str, why: FileUse) -> Result<u64, FileError> {
        self.read(path, why).map(|_| 0)
    }

    fn write(&self, path: &str, _bytes: &[u8]) -> Result<(), FileError> {
        Err(FileError(format!(
            "writing local files is disabled, so {path} was not written"
        )))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FileError> {
        Err(FileError(format!(
            "reading local files is disabled, so {dir} was not listed"
        )))
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

/// A time as seconds and nanoseconds since 1970 (before it: negative seconds, nanoseconds
/// counting forward, as Unix `st_mtime`/`st_mtime_nsec` do).
pub fn unix_time(t: std::time::SystemTime) -> (i64, u32) {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    }
}
