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
//! so it is not meant to be used alone.
//!
//! Two backends keep the same guarantees: on Linux the kernel's `openat2` (below); on macOS and
//! Windows (and on Linux, for its tests: [`Sandbox::new_portable`]) the `cap-std` capability
//! library, which resolves every path component by component from a directory handle, refuses
//! `..`, absolute and outward symlinks at each step (`O_NOFOLLOW` on Unix, handle-relative opens
//! on Windows), and uses `openat2` itself where it exists. What differs is listed at
//! [`Sandbox::new_portable`]; the string checks (including Windows's path forms: `\\?\`, UNC,
//! drive-relative paths, alternate data streams, reserved device names, 8.3 short names) are the
//! same code on every OS.
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
mod paths;
mod portable;

#[cfg(target_os = "linux")]
mod linux;

use std::path::Path;

use portcullis_cli::files::FileStat;
use portcullis_cli::{FileError, FileUse, PathPolicy};

pub use error::{RefusalKind, SandboxError};
pub use mode::{FILE_ACCESS_ENV, FileAccessMode};

use paths::Common;

/// The message for every local path in no-access mode.
pub const NO_ACCESS_MESSAGE: &str =
    "local file access is disabled (no-access mode); S3 URIs (s3://...) and `-` remain allowed";

/// Mode bits of a file the sandbox creates (kept when it replaces an existing file, which keeps
/// that file's permission bits). Private: a downloaded object may hold secrets. (Unix only.)
pub const NEW_FILE_MODE: u32 = 0o600;
/// Mode bits of a directory the sandbox creates (before the umask). (Unix only.)
pub const NEW_DIR_MODE: u32 = 0o755;

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
    imp: Imp,
}

#[derive(Debug)]
enum Imp {
    #[cfg(target_os = "linux")]
    Linux(linux::LinuxSandbox),
    Portable(portable::PortableSandbox),
}

/// One call on whichever backend the sandbox has.
macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match &$self.imp {
            #[cfg(target_os = "linux")]
            Imp::Linux($s) => $e,
            Imp::Portable($s) => $e,
        }
    };
}

impl Sandbox {
    /// A sandbox over `workdir` in `mode`, with default [`Limits`], on this OS's backend
    /// (`openat2` on Linux, `cap-std` elsewhere). In workdir and unrestricted modes the directory
    /// must exist; it is opened once, here (and on Linux `openat2` is probed, so that a kernel
    /// without it fails now, not at the first file). In no-access mode the directory is only
    /// recorded.
    pub fn new(mode: FileAccessMode, workdir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            Ok(Sandbox {
                imp: Imp::Linux(linux::LinuxSandbox::new(mode, workdir.as_ref())?),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Sandbox::new_portable(mode, workdir)
        }
    }

    /// [`Sandbox::new`] on the `cap-std` backend: the one macOS and Windows use, available on
    /// Linux so that its tests run here too. Its guarantees are the same; where it differs from
    /// the Linux backend:
    ///
    /// * a symlink leading out (or an absolute one) is refused as the walk reaches it, with the
    ///   same kind ([`RefusalKind::SymlinkOutside`]);
    /// * a FIFO is looked at (not opened) first, then opened non-blocking on Unix, so it never
    ///   blocks; Windows has no FIFOs in the file system (named pipes are `\\.\pipe\`, a
    ///   device path, refused as a path form);
    /// * on Windows a file's hard-link count is not read (std cannot), so
    ///   [`RefusalKind::HardLink`] is Unix-only; junctions and other reparse points are refused
    ///   like symlinks (never followed by the final open of a write, a removal or a listing).
    pub fn new_portable(
        mode: FileAccessMode,
        workdir: impl AsRef<Path>,
    ) -> Result<Sandbox, SandboxError> {
        Ok(Sandbox {
            imp: Imp::Portable(portable::PortableSandbox::new(mode, workdir.as_ref())?),
        })
    }

    /// [`Sandbox::new`] with the mode from [`FILE_ACCESS_ENV`] (see
    /// [`FileAccessMode::from_env_value`]); an unknown value is an error.
    pub fn from_env(workdir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
        let mode =
            FileAccessMode::from_env().map_err(|m| SandboxError::new(RefusalKind::Config, m))?;
        Sandbox::new(mode, workdir)
    }

    fn common(&self) -> &Common {
        each!(self, s => &s.c)
    }

    /// The same sandbox with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Sandbox {
        match &mut self.imp {
            #[cfg(target_os = "linux")]
            Imp::Linux(s) => s.c.limits = limits,
            Imp::Portable(s) => s.c.limits = limits,
        }
        self
    }

    pub fn mode(&self) -> FileAccessMode {
        self.common().mode
    }

    /// The working directory (canonical, except in no-access mode where it is as configured).
    pub fn workdir(&self) -> &Path {
        &self.common().workdir
    }

    pub fn limits(&self) -> Limits {
        self.common().limits
    }

    /// Which backend confines the paths: `openat2` (Linux) or `cap-std`.
    pub fn backend(&self) -> &'static str {
        match &self.imp {
            #[cfg(target_os = "linux")]
            Imp::Linux(_) => "openat2",
            Imp::Portable(_) => "cap-std",
        }
    }

    /// One line for the start-up log.
    pub fn summary(&self) -> String {
        self.common().summary()
    }

    /// What the agent should know about local files, for the tool descriptions (the counterpart of
    /// the awslabs server's `_FILE_ACCESS_MSGS`).
    pub fn describe(&self) -> String {
        self.common().describe()
    }

    /// Reads the whole regular file `path`.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        each!(self, s => s.read_file(path))
    }

    /// The size of the regular file `path`, which may be read later; nothing is read (on Linux
    /// the file is opened `O_PATH`, so even a device's open has no effect).
    pub fn check_file(&self, path: &str) -> Result<u64, SandboxError> {
        each!(self, s => s.check_file(path))
    }

    /// Whether `path` is an existing directory (reached as a read would reach it).
    pub fn is_directory(&self, path: &str) -> bool {
        each!(self, s => s.is_directory(path))
    }

    /// Writes `bytes` to `path` atomically: a fresh temporary file beside the target (created
    /// exclusively, never through a symlink), written, synced, then renamed onto the target name
    /// within the same directory handle. Missing parent directories are created beneath the root. A
    /// symlink at the target is refused (neither followed nor replaced). On any failure the
    /// temporary file is removed.
    pub fn write_file(&self, path: &str, bytes: &[u8]) -> Result<(), SandboxError> {
        each!(self, s => s.write_file(path, bytes))
    }

    /// Checks that `path` could be written, without writing or creating anything: the path form
    /// and mode allow it, no existing parent component escapes (resolved beneath the root like a
    /// write), and the final name is not a symlink, a directory or a special file. Missing parent
    /// directories are fine (a write creates them). [`Sandbox::write_file`] checks all of it again.
    pub fn check_writable(&self, path: &str) -> Result<(), SandboxError> {
        each!(self, s => s.check_writable(path))
    }

    /// The regular files beneath the directory `dir`, recursively, sorted, relative to `dir` with
    /// `/`; symlinks (and FIFOs, sockets, devices) are skipped, never followed; bounded by
    /// [`Limits::max_list_entries`] and [`Limits::max_list_depth`].
    pub fn list_dir(&self, dir: &str) -> Result<Vec<String>, SandboxError> {
        each!(self, s => s.list_dir(dir))
    }

    /// The size and last-modified time of the regular file `path`, reached as a read reaches it
    /// (nothing is read).
    pub fn stat_file(&self, path: &str) -> Result<FileStat, SandboxError> {
        each!(self, s => s.stat_file(path))
    }

    /// Sets the access and modification times of the regular file `path` to `secs` (what the AWS
    /// CLI does to a downloaded file). The parent is resolved beneath the root like a write; the
    /// final name must be a regular file and is never followed (a symlink is refused).
    pub fn set_modified_time(&self, path: &str, secs: i64) -> Result<(), SandboxError> {
        each!(self, s => s.set_modified_time(path, secs))
    }

    /// Removes the regular file `path` (`aws s3 mv` from a local source, `aws s3 sync --delete`).
    /// The parent is resolved beneath the root like a write (nothing is created); the final name
    /// must be a regular file: a symlink is neither followed nor removed, a directory or special
    /// file is refused. Another hard link to the file is left as it is.
    pub fn remove_file(&self, path: &str) -> Result<(), SandboxError> {
        each!(self, s => s.remove_file(path))
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
