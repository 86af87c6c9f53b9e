//! The file sandbox: the only way the engine reads, checks, lists, writes and removes local files
//! (`file://`, `fileb://`, `--cli-input-json file://...`, streaming bodies, `aws s3 cp|mv|sync`).
//!
//! Brief overview: a [`FileAccessMode`] (from `AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS`)
//! and a working directory make a [`Sandbox`], built once at start-up; the engine holds it as its
//! [`PathPolicy`] and every local path goes through it; a refusal is a [`SandboxError`] (a
//! [`RefusalKind`] and a message), which the engine sees as a `FileError`. The main calls are
//! [`Sandbox::new`], [`Sandbox::read_file`], [`Sandbox::write_file`] and [`Sandbox::list_dir`],
//! plus the [`PathPolicy`] methods the parser and the engine use.
//!
//! Part of Portcullis; it implements `portcullis-cli`'s [`PathPolicy`] and depends on that crate,
//! so it is not meant to be used alone (Linux only: it needs `openat2`).
//!
//! ```
//! use portcullis_sandbox::{FileAccessMode, RefusalKind, Sandbox};
//!
//! let dir = std::env::temp_dir().join(format!("portcullis-sandbox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let sandbox = Sandbox::new(FileAccessMode::from_env_value("workdir").unwrap(), &dir).unwrap();
//! sandbox.write_file("reports/today.json", b"{}").unwrap();
//! assert_eq!(sandbox.read_file("reports/today.json").unwrap(), b"{}");
//! assert_eq!(sandbox.list_dir(".").unwrap(), ["reports/today.json"]);
//! assert_eq!(sandbox.read_file("../etc/passwd").unwrap_err().kind, RefusalKind::Escapes);
//! assert_eq!(sandbox.read_file("~/.aws/credentials").unwrap_err().kind, RefusalKind::HomeExpansion);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! [`Sandbox`] implements [`PathPolicy`] in one of three [`FileAccessMode`]s:
//!
//! * **workdir** (the default): every path is opened relative to a directory handle of the working
//!   directory, taken once at construction, with Linux `openat2(RESOLVE_BENEATH |
//!   RESOLVE_NO_MAGICLINKS)`. The kernel checks every component as it resolves it, so neither `..`,
//!   nor an absolute or outward symlink, nor a symlink swapped in mid-call can leave the directory.
//!   Where `openat2` is missing the sandbox refuses to start (fail closed; no string-check fallback).
//!   Symlinks that stay beneath the working directory are followed (relative ones only: the kernel
//!   refuses absolute symlinks beneath a directory), except that a write never goes through or
//!   replaces a symlink at the final component, and a listing skips symlinks. A regular file with
//!   more than one hard link is refused: its other name may be outside.
//! * **no-access**: every local path is refused.
//! * **unrestricted**: plain `openat` relative to the working directory (absolute paths anywhere).
//!
//! In every mode: `~`, `$VAR`, `${VAR}` are refused, never expanded; NUL bytes, empty and
//! Windows-style paths are refused; only regular files are read (each is looked at through an
//! `O_PATH` handle first, then opened non-blocking and judged again, so a FIFO or device never
//! blocks the call); reads and writes are bounded; writes are atomic (a temporary file beside the target,
//! fsync, `renameat`), creating missing parent directories; a removal (`aws s3 mv`, `sync --delete`)
//! unlinks only a regular file, by name beneath its parent's handle, never a symlink or directory;
//! messages never include file contents.

mod error;
mod mode;

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_cli::files::FileStat;
use portcullis_cli::{FileError, FileUse, PathPolicy};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

pub use error::{RefusalKind, SandboxError};
pub use mode::{FILE_ACCESS_ENV, FileAccessMode};

use error::shown;

/// The message for every local path in no-access mode.
pub const NO_ACCESS_MESSAGE: &str =
    "local file access is disabled (no-access mode); S3 URIs (s3://...) and `-` remain allowed";

/// Mode bits of a file the sandbox creates (kept when it replaces an existing file, which keeps
/// that file's permission bits). Private: a downloaded object may hold secrets.
pub const NEW_FILE_MODE: u32 = 0o600;
/// Mode bits of a directory the sandbox creates (before the umask).
pub const NEW_DIR_MODE: u32 = 0o755;

/// Linux's PATH_MAX counts the NUL: a longer path cannot be opened in one call anyway.
const PATH_MAX: usize = 4096;
/// How often a resolution that raced with a rename (`EAGAIN`) is retried.
const RETRIES: usize = 16;

/// Bounds on what one call may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file `read` returns (and `check` accepts).
    pub max_read_bytes: u64,
    /// The largest file `write` writes.
    pub max_write_bytes: u64,
    /// The most files (and, separately, directories) one `list` visits.
    pub max_list_entries: usize,
    /// The deepest directory nesting one `list` descends.
    pub max_list_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_read_bytes: 16 * 1024 * 1024,
            max_write_bytes: 5 * 1024 * 1024 * 1024,
            max_list_entries: 10_000,
            max_list_depth: 64,
        }
    }
}

/// `16 MiB`, `512 KiB`, `100 bytes`: a size as a person reads it.
fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The file sandbox. Build it once at start-up with [`Sandbox::new`] (or [`Sandbox::from_env`]),
/// log [`Sandbox::mode`] and [`Sandbox::workdir`], put [`Sandbox::describe`] in the tool
/// descriptions, and hand it to the engine as its [`PathPolicy`].
#[derive(Debug)]
pub struct Sandbox {
    mode: FileAccessMode,
    /// The working directory, canonical (symlinks resolved) where it could be opened.
    workdir: PathBuf,
    /// The working directory as configured, if absolute and spelled differently: absolute paths
    /// under either spelling are accepted in workdir mode.
    workdir_as_given: Option<PathBuf>,
    /// An `O_PATH | O_DIRECTORY` handle of the working directory; `None` in no-access mode.
    root: Option<OwnedFd>,
    limits: Limits,
}

/// What a checked path becomes: the string handed to the kernel, relative to the root handle (or
/// absolute, in unrestricted mode).
struct Target<'a> {
    shown: String,
    rel: std::borrow::Cow<'a, str>,
}

impl Sandbox {
    /// A sandbox over `workdir` in `mode`, with default [`Limits`]. In workdir and unrestricted
    /// modes the directory must exist; it is opened once, here, and in workdir mode `openat2` is
    /// probed so that a kernel without it fails now, not at the first file. In no-access mode the
    /// directory is only recorded.
    pub fn new(mode: FileAccessMode, workdir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
        let given = workdir.as_ref();
        if mode == FileAccessMode::NoAccess {
            return Ok(Sandbox {
                mode,
                workdir: given.to_path_buf(),
                workdir_as_given: None,
                root: None,
                limits: Limits::default(),
            });
        }
        let shown_dir = shown(&given.to_string_lossy());
        let canonical = std::fs::canonicalize(given).map_err(|e| {
            SandboxError::new(
                RefusalKind::NotFound,
                format!("the working directory {shown_dir} cannot be opened: {e}"),
            )
        })?;
        let root = rustix::fs::open(
            &canonical,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            SandboxError::new(
                RefusalKind::NotDirectory,
                format!(
                    "the working directory {shown_dir} cannot be opened: {}",
                    errno_text(e)
                ),
            )
        })?;
        if mode == FileAccessMode::Workdir {
            match rustix::fs::openat2(
                &root,
                ".",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                beneath(),
            ) {
                Ok(_) => {}
                // Old kernels say ENOSYS; some seccomp profiles (older container runtimes) say
                // EPERM for a system call they do not know.
                Err(Errno::NOSYS | Errno::PERM) => return Err(unsupported()),
                Err(e) => {
                    return Err(SandboxError::new(
                        RefusalKind::Io,
                        format!(
                            "the working directory {shown_dir} cannot be opened beneath itself: {}",
                            errno_text(e)
                        ),
                    ));
                }
            }
        }
        let workdir_as_given =
            (given.is_absolute() && given != canonical).then(|| given.to_path_buf());
        Ok(Sandbox {
            mode,
            workdir: canonical,
            workdir_as_given,
            root: Some(root),
            limits: Limits::default(),
        })
    }

    /// [`Sandbox::new`] with the mode from [`FILE_ACCESS_ENV`] (see
    /// [`FileAccessMode::from_env_value`]); an unknown value is an error.
    pub fn from_env(workdir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
        let mode =
            FileAccessMode::from_env().map_err(|m| SandboxError::new(RefusalKind::Config, m))?;
        Sandbox::new(mode, workdir)
    }

    /// The same sandbox with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Sandbox {
        self.limits = limits;
        self
    }

    pub fn mode(&self) -> FileAccessMode {
        self.mode
    }

    /// The working directory (canonical, except in no-access mode where it is as configured).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// One line for the start-up log.
    pub fn summary(&self) -> String {
        match self.mode {
            FileAccessMode::NoAccess => "local file access: no-access".to_string(),
            m => format!(
                "local file access: {m}, working directory {}, reads up to {} bytes, writes up to {} bytes",
                self.workdir.display(),
                self.limits.max_read_bytes,
                self.limits.max_write_bytes
            ),
        }
    }

    /// What the agent should know about local files, for the tool descriptions (the counterpart of
    /// the awslabs server's `_FILE_ACCESS_MSGS`).
    pub fn describe(&self) -> String {
        let max = mib(self.limits.max_read_bytes);
        match self.mode {
            FileAccessMode::Workdir => format!(
                "Local files (file://, fileb://, --cli-input-json file://, and local paths in `aws s3 cp`) are restricted to \
                 the server's working directory: give paths relative to it (an absolute path must lie inside it). `~` and \
                 environment variables are not expanded. Symlinks leading outside it, files with several hard links and \
                 special files are refused; files read are limited to {max}."
            ),
            FileAccessMode::NoAccess => "Local file access is disabled (no-access mode): file://, fileb:// and local paths in `aws s3 cp` \
                 are refused; S3 URIs (s3://...) and `-` remain allowed."
                .to_string(),
            FileAccessMode::Unrestricted => format!(
                "Local file access is unrestricted: relative paths are relative to the server's working directory, and \
                 absolute paths are allowed. `~` and environment variables are not expanded; only regular files are read, \
                 up to {max}."
            ),
        }
    }

    /// Reads the whole regular file `path`.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let (root, t) = self.target(path)?;
        let fd = self.open_for_read(root, &t, path)?;
        let limit = self.limits.max_read_bytes;
        let mut buf = Vec::new();
        std::fs::File::from(fd)
            .take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| {
                SandboxError::new(
                    RefusalKind::Io,
                    format!("cannot read {}: {}", t.shown, io_text(&e)),
                )
            })?;
        if buf.len() as u64 > limit {
            return Err(too_large(&t.shown, limit));
        }
        Ok(buf)
    }

    /// The size of the regular file `path`, which may be read later; nothing is read (the file is
    /// opened `O_PATH`, so even a device's open has no effect).
    pub fn check_file(&self, path: &str) -> Result<u64, SandboxError> {
        let (root, t) = self.target(path)?;
        let fd = self
            .open(
                root,
                &t.rel,
                OFlags::PATH,
                Mode::empty(),
                ResolveFlags::empty(),
            )
            .map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
        self.ensure_readable(&st, &t.shown)?;
        Ok(st.st_size.max(0) as u64)
    }

    /// Whether `path` is an existing directory (reached as a read would reach it).
    pub fn is_directory(&self, path: &str) -> bool {
        let Ok((root, t)) = self.target(path) else {
            return false;
        };
        self.open(
            root,
            &t.rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            ResolveFlags::empty(),
        )
        .and_then(rustix::fs::fstat)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
    }

    /// Writes `bytes` to `path` atomically: a fresh temporary file beside the target (created
    /// exclusively, never through a symlink), written, fsynced, then renamed onto the target name
    /// within the same directory handle. Missing parent directories are created beneath the root. A
    /// symlink at the target is refused (neither followed nor replaced). On any failure the
    /// temporary file is removed.
    pub fn write_file(&self, path: &str, bytes: &[u8]) -> Result<(), SandboxError> {
        let (root, t) = self.target(path)?;
        if bytes.len() as u64 > self.limits.max_write_bytes {
            return Err(SandboxError::new(
                RefusalKind::TooLarge,
                format!(
                    "{} would be {} bytes, over the {} byte write limit; nothing was written",
                    t.shown,
                    bytes.len(),
                    self.limits.max_write_bytes
                ),
            ));
        }
        let (parent, name) = file_target(&t.rel, &t.shown).map_err(|e| {
            SandboxError::new(e.kind, format!("{}; nothing was written", e.message))
        })?;
        let dir = self.open_parent(root, parent, path, &t.shown)?;
        let existing_mode = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => {
                    return Err(SandboxError::new(
                        RefusalKind::SymlinkTarget,
                        format!(
                            "{} is a symbolic link; it is neither written through nor replaced, so nothing was written",
                            t.shown
                        ),
                    ));
                }
                FileType::Directory => {
                    return Err(SandboxError::new(
                        RefusalKind::IsDirectory,
                        format!("{} is a directory; nothing was written", t.shown),
                    ));
                }
                FileType::RegularFile => Some(st.st_mode & 0o777),
                _ => {
                    return Err(SandboxError::new(
                        RefusalKind::NotRegularFile,
                        format!(
                            "{} exists and is not a regular file (a FIFO, socket or device); nothing was written",
                            t.shown
                        ),
                    ));
                }
            },
            Err(Errno::NOENT) => None,
            Err(e) => return Err(self.refusal(e, path, &t.shown, "write")),
        };
        let tmp_name = format!(
            ".portcullis-{}-{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp_fd = self
            .open(
                dir.as_fd(),
                &tmp_name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
                Mode::from_raw_mode(NEW_FILE_MODE),
                ResolveFlags::NO_SYMLINKS,
            )
            .map_err(|e| self.refusal(e, path, &t.shown, "write"))?;
        let temp = TempFile {
            dir: dir.as_fd(),
            name: &tmp_name,
            armed: true,
        };
        let mut file = std::fs::File::from(tmp_fd);
        let result = (|| {
            file.write_all(bytes)?;
            if let Some(m) = existing_mode {
                rustix::fs::fchmod(&file, Mode::from_raw_mode(m))?;
            }
            file.sync_all()?;
            rustix::fs::renameat(&dir, tmp_name.as_str(), &dir, name)?;
            Ok::<(), std::io::Error>(())
        })();
        match result {
            Ok(()) => {
                temp.disarm();
                // Durability of the rename itself; the data is already synced, so a failure here
                // changes nothing a reader sees.
                if let Ok(d) = self.open(
                    dir.as_fd(),
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY,
                    Mode::empty(),
                    ResolveFlags::empty(),
                ) {
                    let _ = rustix::fs::fsync(d);
                }
                Ok(())
            }
            Err(e) => Err(SandboxError::new(
                RefusalKind::Io,
                format!(
                    "cannot write {}: {}; nothing was written",
                    t.shown,
                    io_text(&e)
                ),
            )),
        }
    }

    /// Checks that `path` could be written, without writing or creating anything: the path form
    /// and mode allow it, no existing parent component escapes (resolved beneath the root like a
    /// write), and the final name is not a symlink, a directory or a special file. Missing parent
    /// directories are fine (a write creates them). [`Sandbox::write_file`] checks all of it again.
    pub fn check_writable(&self, path: &str) -> Result<(), SandboxError> {
        let (root, t) = self.target(path)?;
        let (parent, name) = file_target(&t.rel, &t.shown)?;
        let dir = match self.open(
            root,
            parent,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            ResolveFlags::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(self.refusal(e, path, &t.shown, "write")),
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Ok(()),
                FileType::Symlink => Err(SandboxError::new(
                    RefusalKind::SymlinkTarget,
                    format!(
                        "{} is a symbolic link; it is neither written through nor replaced",
                        t.shown
                    ),
                )),
                FileType::Directory => Err(SandboxError::new(
                    RefusalKind::IsDirectory,
                    format!("{} is a directory", t.shown),
                )),
                _ => Err(SandboxError::new(
                    RefusalKind::NotRegularFile,
                    format!(
                        "{} exists and is not a regular file (a FIFO, socket or device)",
                        t.shown
                    ),
                )),
            },
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(self.refusal(e, path, &t.shown, "write")),
        }
    }

    /// The regular files beneath the directory `dir`, recursively, sorted, relative to `dir` with
    /// `/`; symlinks (and FIFOs, sockets, devices) are skipped, never followed; bounded by
    /// [`Limits::max_list_entries`] and [`Limits::max_list_depth`].
    pub fn list_dir(&self, dir: &str) -> Result<Vec<String>, SandboxError> {
        let (root, t) = self.target(dir)?;
        let top = self
            .open(
                root,
                &t.rel,
                OFlags::RDONLY | OFlags::DIRECTORY,
                Mode::empty(),
                ResolveFlags::empty(),
            )
            .map_err(|e| match e {
                Errno::NOTDIR if !t.rel.contains('/') => SandboxError::new(
                    RefusalKind::NotDirectory,
                    format!("{} is not a directory", t.shown),
                ),
                e => self.refusal(e, dir, &t.shown, "list"),
            })?;
        let limits = self.limits;
        let mut files = Vec::new();
        let mut dirs_seen = 0usize;
        let mut stack: Vec<(OwnedFd, String, usize)> = vec![(top, String::new(), 0)];
        let fail = |rel: &str, e: Errno| {
            SandboxError::new(
                RefusalKind::Io,
                format!("cannot list {}/{}: {}", t.shown, shown(rel), errno_text(e)),
            )
        };
        while let Some((fd, rel, depth)) = stack.pop() {
            let mut entries = Dir::new(fd).map_err(|e| fail(&rel, e))?;
            while let Some(entry) = entries.read() {
                let entry = entry.map_err(|e| fail(&rel, e))?;
                let raw = entry.file_name().to_bytes();
                if raw == b"." || raw == b".." {
                    continue;
                }
                let Ok(name) = std::str::from_utf8(raw) else {
                    return Err(SandboxError::new(
                        RefusalKind::InvalidPath,
                        format!(
                            "a file name under {}/{} is not UTF-8; nothing was listed",
                            t.shown,
                            shown(&rel)
                        ),
                    ));
                };
                let child = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                let dfd = entries.fd().map_err(|e| fail(&rel, e))?;
                let mut kind = entry.file_type();
                if kind == FileType::Unknown {
                    kind = match rustix::fs::statat(dfd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => FileType::from_raw_mode(st.st_mode),
                        Err(Errno::NOENT) => continue,
                        Err(e) => return Err(fail(&child, e)),
                    };
                }
                match kind {
                    FileType::Directory => {
                        if depth + 1 > limits.max_list_depth {
                            return Err(SandboxError::new(
                                RefusalKind::TooMany,
                                format!(
                                    "{} is nested deeper than {} directories; nothing was listed",
                                    t.shown, limits.max_list_depth
                                ),
                            ));
                        }
                        dirs_seen += 1;
                        if dirs_seen > limits.max_list_entries {
                            return Err(SandboxError::new(
                                RefusalKind::TooMany,
                                format!(
                                    "{} holds more than {} directories; nothing was listed",
                                    t.shown, limits.max_list_entries
                                ),
                            ));
                        }
                        // One component, never a symlink (one swapped in since the entry was read
                        // fails with ELOOP or ENOTDIR and is skipped like any symlink).
                        match self.open(
                            dfd,
                            name,
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
                            Mode::empty(),
                            ResolveFlags::NO_SYMLINKS,
                        ) {
                            Ok(sub) => stack.push((sub, child, depth + 1)),
                            Err(Errno::LOOP | Errno::NOTDIR | Errno::NOENT) => {}
                            Err(e) => return Err(fail(&child, e)),
                        }
                    }
                    FileType::RegularFile => {
                        files.push(child);
                        if files.len() > limits.max_list_entries {
                            return Err(SandboxError::new(
                                RefusalKind::TooMany,
                                format!(
                                    "{} holds more than {} files; nothing was listed",
                                    t.shown, limits.max_list_entries
                                ),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// The size and last-modified time of the regular file `path`, reached as a read reaches it
    /// (`O_PATH`, nothing is read or opened for reading).
    pub fn stat_file(&self, path: &str) -> Result<FileStat, SandboxError> {
        let (root, t) = self.target(path)?;
        let st = self
            .open(
                root,
                &t.rel,
                OFlags::PATH,
                Mode::empty(),
                ResolveFlags::empty(),
            )
            .and_then(rustix::fs::fstat)
            .map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Ok(FileStat {
                size: st.st_size.max(0) as u64,
                modified_secs: st.st_mtime as i64,
                modified_nanos: u32::try_from(st.st_mtime_nsec).unwrap_or(0),
            }),
            FileType::Directory => Err(SandboxError::new(
                RefusalKind::IsDirectory,
                format!("{} is a directory, not a file", t.shown),
            )),
            other => Err(SandboxError::new(
                RefusalKind::NotRegularFile,
                format!(
                    "{} is not a regular file (it is a {})",
                    t.shown,
                    type_name(other)
                ),
            )),
        }
    }

    /// Sets the access and modification times of the regular file `path` to `secs` (what the AWS
    /// CLI does to a downloaded file). The parent is resolved beneath the root like a write; the
    /// final name must be a regular file and is never followed (a symlink is refused).
    pub fn set_modified_time(&self, path: &str, secs: i64) -> Result<(), SandboxError> {
        let (dir, name, t) = self.existing_file(path, "set the time of")?;
        let when = rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        };
        let times = rustix::fs::Timestamps {
            last_access: when,
            last_modification: when,
        };
        rustix::fs::utimensat(&dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.refusal(e, path, &t.shown, "set the time of"))
    }

    /// Removes the regular file `path` (`aws s3 mv` from a local source, `aws s3 sync --delete`).
    /// The parent is resolved beneath the root like a write (nothing is created); the final name
    /// must be a regular file: a symlink is neither followed nor removed, a directory or special
    /// file is refused. Another hard link to the file is left as it is.
    pub fn remove_file(&self, path: &str) -> Result<(), SandboxError> {
        let (dir, name, t) = self.existing_file(path, "remove")?;
        rustix::fs::unlinkat(&dir, name, AtFlags::empty())
            .map_err(|e| self.refusal(e, path, &t.shown, "remove"))
    }

    /// The parent directory handle and final name of the existing regular file `path`, for an
    /// operation (`what`) on the name itself; a symlink, directory or special file is refused.
    fn existing_file<'p>(
        &self,
        path: &'p str,
        what: &str,
    ) -> Result<(OwnedFd, String, Target<'p>), SandboxError> {
        let (root, t) = self.target(path)?;
        let (parent, name) = file_target(&t.rel, &t.shown)?;
        let name = name.to_string();
        let dir = self
            .open(
                root,
                parent,
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
                ResolveFlags::empty(),
            )
            .map_err(|e| self.refusal(e, path, &t.shown, what))?;
        let st = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.refusal(e, path, &t.shown, what))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Ok((dir, name, t)),
            FileType::Symlink => Err(SandboxError::new(
                RefusalKind::SymlinkTarget,
                format!(
                    "{} is a symbolic link; it is neither followed nor changed, so nothing was done",
                    t.shown
                ),
            )),
            FileType::Directory => Err(SandboxError::new(
                RefusalKind::IsDirectory,
                format!("cannot {what} {}: it is a directory", t.shown),
            )),
            other => Err(SandboxError::new(
                RefusalKind::NotRegularFile,
                format!(
                    "cannot {what} {}: it is not a regular file (it is a {})",
                    t.shown,
                    type_name(other)
                ),
            )),
        }
    }

    /// Refuses the path forms no mode accepts, and maps the rest onto the root handle.
    fn target<'p>(&self, path: &'p str) -> Result<(BorrowedFd<'_>, Target<'p>), SandboxError> {
        let s = shown(path);
        let root = match (&self.root, self.mode) {
            (Some(root), FileAccessMode::Workdir | FileAccessMode::Unrestricted) => root.as_fd(),
            _ => {
                return Err(SandboxError::new(
                    RefusalKind::Disabled,
                    format!("{NO_ACCESS_MESSAGE}, so {s} was not used"),
                ));
            }
        };
        if path.is_empty() {
            return Err(SandboxError::new(
                RefusalKind::InvalidPath,
                "the file path is empty",
            ));
        }
        if path.contains('\0') {
            return Err(SandboxError::new(
                RefusalKind::InvalidPath,
                format!("{s} contains a NUL byte"),
            ));
        }
        if path.starts_with('~') {
            return Err(SandboxError::new(
                RefusalKind::HomeExpansion,
                format!(
                    "{s}: `~` (a home directory) is not expanded; {}",
                    self.hint()
                ),
            ));
        }
        if has_variable(path) {
            return Err(SandboxError::new(
                RefusalKind::VariableExpansion,
                format!(
                    "{s}: environment variables ($VAR, ${{VAR}}) and substitutions are not expanded; {}",
                    self.hint()
                ),
            ));
        }
        let b = path.as_bytes();
        if path.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
            return Err(SandboxError::new(
                RefusalKind::WindowsPath,
                format!("{s} is a Windows-style path; use / and {}", self.hint()),
            ));
        }
        if path.len() >= PATH_MAX {
            return Err(SandboxError::new(
                RefusalKind::TooLong,
                format!(
                    "{s} is {} bytes long, over the {PATH_MAX} byte path limit",
                    path.len()
                ),
            ));
        }
        if self.mode == FileAccessMode::Unrestricted {
            return Ok((
                root,
                Target {
                    shown: s,
                    rel: path.into(),
                },
            ));
        }
        let rel: std::borrow::Cow<'p, str> = if path.starts_with('/') {
            let p = Path::new(path);
            let inside = [Some(&self.workdir), self.workdir_as_given.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|w| p.strip_prefix(w).ok());
            let Some(inside) = inside else {
                return Err(SandboxError::new(
                    RefusalKind::OutsideWorkdir,
                    format!(
                        "{s} is outside the working directory {}; give a path relative to it",
                        self.workdir.display()
                    ),
                ));
            };
            let mut r = inside.to_string_lossy().into_owned();
            if r.is_empty() {
                r.push('.');
            } else if path.ends_with('/') {
                r.push('/');
            }
            r.into()
        } else {
            path.into()
        };
        if escapes(&rel) {
            return Err(self.escape_error(&s));
        }
        Ok((root, Target { shown: s, rel }))
    }

    fn hint(&self) -> String {
        match self.mode {
            FileAccessMode::Workdir => format!(
                "give a path relative to the working directory {}",
                self.workdir.display()
            ),
            _ => format!(
                "give the path literally (relative paths are relative to {})",
                self.workdir.display()
            ),
        }
    }

    fn escape_error(&self, s: &str) -> SandboxError {
        SandboxError::new(
            RefusalKind::Escapes,
            format!(
                "{s} escapes the working directory {} (through ..)",
                self.workdir.display()
            ),
        )
    }

    /// `openat2` beneath `base` in workdir mode (retrying a resolution that raced with a rename);
    /// plain `openat` in unrestricted mode, where `extra` is not applied (callers that must not
    /// follow a final symlink also pass `O_NOFOLLOW`).
    fn open(
        &self,
        base: BorrowedFd<'_>,
        path: &str,
        flags: OFlags,
        mode: Mode,
        extra: ResolveFlags,
    ) -> Result<OwnedFd, Errno> {
        let flags = flags | OFlags::CLOEXEC;
        match self.mode {
            FileAccessMode::Workdir => {
                let mut tries = 0;
                loop {
                    match rustix::fs::openat2(base, path, flags, mode, beneath() | extra) {
                        Err(Errno::AGAIN | Errno::INTR) if tries < RETRIES => tries += 1,
                        r => return r,
                    }
                }
            }
            FileAccessMode::Unrestricted => loop {
                match rustix::fs::openat(base, path, flags, mode) {
                    Err(Errno::INTR) => {}
                    r => return r,
                }
            },
            FileAccessMode::NoAccess => Err(Errno::ACCESS),
        }
    }

    /// Opens a regular file for reading. First it is looked at without being opened for reading
    /// (`O_PATH` has no effect on a FIFO or a device), so that in the ordinary case a special file
    /// is refused before its open could wake a writer or a driver; then it is opened non-blocking
    /// (a FIFO swapped in since must not hang the call) and what was actually opened is judged
    /// again, and must be the file looked at (a file replaced in between, as by an atomic write,
    /// is looked at afresh).
    fn open_for_read(
        &self,
        root: BorrowedFd<'_>,
        t: &Target<'_>,
        path: &str,
    ) -> Result<OwnedFd, SandboxError> {
        for _ in 0..RETRIES {
            let first = self
                .open(
                    root,
                    &t.rel,
                    OFlags::PATH,
                    Mode::empty(),
                    ResolveFlags::empty(),
                )
                .and_then(rustix::fs::fstat)
                .map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
            self.ensure_readable(&first, &t.shown)?;
            let fd = self
                .open(
                    root,
                    &t.rel,
                    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
                    Mode::empty(),
                    ResolveFlags::empty(),
                )
                .map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
            let st = rustix::fs::fstat(&fd).map_err(|e| self.refusal(e, path, &t.shown, "read"))?;
            self.ensure_readable(&st, &t.shown)?;
            if (st.st_dev, st.st_ino) == (first.st_dev, first.st_ino) {
                return Ok(fd);
            }
        }
        Err(SandboxError::new(
            RefusalKind::Busy,
            format!(
                "{} kept being replaced while it was opened; try again",
                t.shown
            ),
        ))
    }

    /// The parent directory of a file to write, created (one `mkdirat` per missing component, each
    /// beneath the handle of the one before) if missing.
    fn open_parent(
        &self,
        root: BorrowedFd<'_>,
        parent: &str,
        path: &str,
        s: &str,
    ) -> Result<OwnedFd, SandboxError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        match self.open(root, parent, flags, Mode::empty(), ResolveFlags::empty()) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(self.refusal(e, path, s, "write")),
        }
        let start = if parent.starts_with('/') { "/" } else { "." };
        let mut cur = self
            .open(root, start, flags, Mode::empty(), ResolveFlags::empty())
            .map_err(|e| self.refusal(e, path, s, "write"))?;
        let mut prefix = start.to_string();
        for c in parent.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            prefix.push_str(c);
            cur = match self.open(root, &prefix, flags, Mode::empty(), ResolveFlags::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if c != ".." => {
                    match rustix::fs::mkdirat(&cur, c, Mode::from_raw_mode(NEW_DIR_MODE)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.refusal(e, path, s, "write")),
                    }
                    self.open(root, &prefix, flags, Mode::empty(), ResolveFlags::empty())
                        .map_err(|e| self.refusal(e, path, s, "write"))?
                }
                Err(e) => return Err(self.refusal(e, path, s, "write")),
            };
        }
        Ok(cur)
    }

    /// A regular file, not over the read limit, and (in workdir mode) with one link.
    fn ensure_readable(&self, st: &Stat, s: &str) -> Result<(), SandboxError> {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => {
                return Err(SandboxError::new(
                    RefusalKind::IsDirectory,
                    format!("{s} is a directory, not a file"),
                ));
            }
            other => {
                return Err(SandboxError::new(
                    RefusalKind::NotRegularFile,
                    format!(
                        "{s} is not a regular file (it is a {}); only regular files are read",
                        type_name(other)
                    ),
                ));
            }
        }
        if self.mode == FileAccessMode::Workdir && st.st_nlink > 1 {
            return Err(SandboxError::new(
                RefusalKind::HardLink,
                format!(
                    "{s} has {} hard links; in workdir mode a file with more than one link is refused, because another link to \
                     the same file may be outside the working directory",
                    st.st_nlink
                ),
            ));
        }
        let size = st.st_size.max(0) as u64;
        if size > self.limits.max_read_bytes {
            return Err(too_large(s, self.limits.max_read_bytes));
        }
        Ok(())
    }

    /// A kernel error as a refusal the agent can act on.
    fn refusal(&self, e: Errno, path: &str, s: &str, what: &str) -> SandboxError {
        let w = self.workdir.display();
        let (kind, msg) = match e {
            // Lexical `..` escapes are refused before any call; what the kernel still refuses
            // beneath the root is a symlink (absolute, or relative leading out).
            Errno::XDEV if self.mode == FileAccessMode::Workdir => {
                if escapes(path) {
                    return self.escape_error(s);
                }
                (
                    RefusalKind::SymlinkOutside,
                    format!(
                        "{s} is, or passes through, a symlink pointing outside the working directory {w} (or an absolute symlink); \
                         it was not followed"
                    ),
                )
            }
            Errno::LOOP => (
                RefusalKind::MagicLinkOrLoop,
                format!(
                    "{s} passes through a magic link (like /proc/self/fd/N or /proc/self/root) or a symlink loop; it was not followed"
                ),
            ),
            Errno::NOENT => (
                RefusalKind::NotFound,
                format!("cannot {what} {s}: no such file or directory"),
            ),
            Errno::NOTDIR => (
                RefusalKind::NotDirectory,
                format!("cannot {what} {s}: a component of the path is not a directory"),
            ),
            Errno::ISDIR => (
                RefusalKind::IsDirectory,
                format!("cannot {what} {s}: it is a directory"),
            ),
            Errno::ACCESS | Errno::PERM => (
                RefusalKind::PermissionDenied,
                format!("cannot {what} {s}: permission denied"),
            ),
            Errno::NAMETOOLONG => (
                RefusalKind::TooLong,
                format!("cannot {what} {s}: the path or a name in it is too long"),
            ),
            Errno::NXIO => (
                RefusalKind::NotRegularFile,
                format!("cannot {what} {s}: it is not a regular file (a socket or device)"),
            ),
            Errno::AGAIN => (
                RefusalKind::Busy,
                format!(
                    "cannot {what} {s}: the path kept changing while it was resolved; try again"
                ),
            ),
            Errno::NOSYS => return unsupported(),
            e => (
                RefusalKind::Io,
                format!("cannot {what} {s}: {}", errno_text(e)),
            ),
        };
        SandboxError::new(kind, msg)
    }
}

impl PathPolicy for Sandbox {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        Ok(self.read_file(path)?)
    }

    fn check(&self, path: &str, _why: FileUse) -> Result<u64, FileError> {
        Ok(self.check_file(path)?)
    }

    fn check_write(&self, path: &str) -> Result<(), FileError> {
        self.check_writable(path).map_err(Into::into)
    }

    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), FileError> {
        Ok(self.write_file(path, bytes)?)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FileError> {
        Ok(self.list_dir(dir)?)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.is_directory(path)
    }

    fn stat(&self, path: &str) -> Result<FileStat, FileError> {
        Ok(self.stat_file(path)?)
    }

    fn set_modified(&self, path: &str, secs: i64) -> Result<(), FileError> {
        Ok(self.set_modified_time(path, secs)?)
    }

    fn remove(&self, path: &str) -> Result<(), FileError> {
        Ok(self.remove_file(path)?)
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file that is removed unless the write completed.
struct TempFile<'a> {
    dir: BorrowedFd<'a>,
    name: &'a str,
    armed: bool,
}

impl TempFile<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = rustix::fs::unlinkat(self.dir, self.name, AtFlags::empty());
        }
    }
}

/// The parent directory and final name of a file to write (`rel` beneath the root); refused when
/// `rel` names a directory (`a/`, `.`, `..`).
fn file_target<'r>(rel: &'r str, shown: &str) -> Result<(&'r str, &'r str), SandboxError> {
    let not_a_file = || {
        SandboxError::new(
            RefusalKind::InvalidPath,
            format!("{shown} is not a file path (it names a directory)"),
        )
    };
    if rel.ends_with('/') {
        return Err(not_a_file());
    }
    let (parent, name) = match rel.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => (".", rel),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(not_a_file());
    }
    Ok((parent, name))
}

fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
}

fn unsupported() -> SandboxError {
    SandboxError::new(
        RefusalKind::Unsupported,
        "openat2 (Linux 5.6 or later) is not available (or is blocked by a seccomp filter), so local files cannot be confined to the working directory safely; \
         local file access is refused (use a newer kernel, or no-access mode)",
    )
}

fn too_large(s: &str, limit: u64) -> SandboxError {
    SandboxError::new(
        RefusalKind::TooLarge,
        format!("{s} is larger than the {limit} byte read limit"),
    )
}

/// Whether `..` components take the path above its start (lexically).
fn escapes(path: &str) -> bool {
    let mut depth: i64 = 0;
    for c in Path::new(path).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    false
}

/// `$NAME`, `${...}`, `$(...)` or `$1`: what a shell would expand.
fn has_variable(path: &str) -> bool {
    let b = path.as_bytes();
    b.windows(2).any(|w| {
        w[0] == b'$' && (w[1].is_ascii_alphanumeric() || matches!(w[1], b'_' | b'{' | b'('))
    })
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Symlink => "symbolic link",
        FileType::Directory => "directory",
        FileType::RegularFile => "regular file",
        FileType::Unknown => "special file",
    }
}

fn errno_text(e: Errno) -> String {
    io_text(&std::io::Error::from(e))
}

fn io_text(e: &std::io::Error) -> String {
    // The OS text without the "(os error N)" suffix.
    let t = e.to_string();
    match t.find(" (os error") {
        Some(i) => t[..i].to_string(),
        None => t,
    }
}
