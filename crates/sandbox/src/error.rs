//! Refusals: a kind to match on, and a message for the agent. A message names the path (escaped and
//! shortened) and, where it helps, the working directory; never a byte of any file's contents.

use portcullis_cli::FileError;

/// Why the sandbox refused or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// The mode is `no-access`.
    Disabled,
    /// Empty, a NUL byte, no file name, or otherwise not a usable path.
    InvalidPath,
    /// Starts with `~` (never expanded).
    HomeExpansion,
    /// Holds `$VAR`, `${VAR}` or `$(...)` (never expanded).
    VariableExpansion,
    /// A backslash or a drive letter.
    WindowsPath,
    /// An absolute path that is not inside the working directory.
    OutsideWorkdir,
    /// `..` components that leave the working directory.
    Escapes,
    /// A symlink that leads outside the working directory (or an absolute symlink, which the kernel
    /// refuses beneath a directory).
    SymlinkOutside,
    /// A magic link (`/proc/self/fd/N`, `/proc/self/root`) or a symlink loop.
    MagicLinkOrLoop,
    /// A write whose target is a symlink: it is neither followed nor replaced.
    SymlinkTarget,
    /// A FIFO, socket, device or other special file.
    NotRegularFile,
    /// A directory where a file was expected.
    IsDirectory,
    /// A path component (or the listed path) is not a directory.
    NotDirectory,
    /// A regular file with more than one hard link (workdir mode).
    HardLink,
    /// Over the byte limit.
    TooLarge,
    /// A listing over the entry or depth limit.
    TooMany,
    /// The path or a name is too long.
    TooLong,
    /// No such file or directory.
    NotFound,
    /// The operating system refused access.
    PermissionDenied,
    /// `openat2` is not available (Linux before 5.6, or filtered by seccomp): fail closed.
    Unsupported,
    /// A concurrent rename kept the kernel from resolving the path safely; retrying may work.
    Busy,
    /// Any other I/O failure.
    Io,
    /// A bad setting (an unknown file access mode).
    Config,
}

/// A refusal or failure, with its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SandboxError {
    pub kind: RefusalKind,
    pub message: String,
}

impl SandboxError {
    pub(crate) fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        SandboxError {
            kind,
            message: message.into(),
        }
    }
}

impl From<SandboxError> for FileError {
    fn from(e: SandboxError) -> FileError {
        FileError(e.message)
    }
}

/// A path as shown in a message: control characters escaped (a name may hold a newline), at most
/// 200 characters (a hostile path may be megabytes).
pub(crate) fn shown(path: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::new();
    for (i, c) in path.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
