//! What both backends share: the path forms no mode accepts (checked on the string, before any
//! file-system call), the mapping of an absolute path onto the working directory, and the texts.
//! Windows path forms are checked here too, as pure functions, so their table runs on every OS.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::shown;
use crate::{FileAccessMode, Limits, NO_ACCESS_MESSAGE, RefusalKind, SandboxError, mib};

/// Linux's PATH_MAX counts the NUL: a longer path cannot be opened in one call anyway (and
/// Windows's long-path limit is 32,767 UTF-16 units, so this is the tighter bound everywhere).
pub(crate) const PATH_MAX: usize = 4096;

/// The settings both backends check paths against.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) mode: FileAccessMode,
    /// The working directory, canonical (symlinks resolved) where it could be opened; on Windows
    /// without the `\\?\` prefix `canonicalize` adds.
    pub(crate) workdir: PathBuf,
    /// The working directory as configured, if absolute and spelled differently: absolute paths
    /// under either spelling are accepted in workdir mode.
    pub(crate) workdir_as_given: Option<PathBuf>,
    pub(crate) limits: Limits,
}

/// What a checked path becomes: the string handed to the OS, relative to the root handle (or
/// absolute, in unrestricted mode), always with `/` separators.
pub(crate) struct Target<'a> {
    pub(crate) shown: String,
    pub(crate) rel: std::borrow::Cow<'a, str>,
}

impl Common {
    pub(crate) fn new(mode: FileAccessMode, given: &Path, canonical: PathBuf) -> Common {
        let canonical = plain(canonical);
        let workdir_as_given =
            (given.is_absolute() && given != canonical).then(|| given.to_path_buf());
        Common {
            mode,
            workdir: canonical,
            workdir_as_given,
            limits: Limits::default(),
        }
    }

    /// No-access mode: the directory is only recorded.
    pub(crate) fn no_access(given: &Path) -> Common {
        Common {
            mode: FileAccessMode::NoAccess,
            workdir: given.to_path_buf(),
            workdir_as_given: None,
            limits: Limits::default(),
        }
    }

    pub(crate) fn disabled(&self, path: &str) -> SandboxError {
        SandboxError::new(
            RefusalKind::Disabled,
            format!("{NO_ACCESS_MESSAGE}, so {} was not used", shown(path)),
        )
    }

    /// Refuses the path forms no mode accepts, and maps the rest onto the working directory.
    pub(crate) fn check<'p>(&self, path: &'p str) -> Result<Target<'p>, SandboxError> {
        let s = shown(path);
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
        let path: std::borrow::Cow<'p, str> = if cfg!(windows) {
            if let Some((kind, why)) = windows_refusal(path) {
                return Err(SandboxError::new(
                    kind,
                    format!("{s} {why}; {}", self.hint()),
                ));
            }
            if path.contains('\\') {
                path.replace('\\', "/").into()
            } else {
                path.into()
            }
        } else {
            let b = path.as_bytes();
            if path.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
                return Err(SandboxError::new(
                    RefusalKind::WindowsPath,
                    format!("{s} is a Windows-style path; use / and {}", self.hint()),
                ));
            }
            path.into()
        };
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
            return Ok(Target {
                shown: s,
                rel: path,
            });
        }
        let rel: std::borrow::Cow<'p, str> = if is_absolute(&path) {
            let inside = [Some(&self.workdir), self.workdir_as_given.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|w| strip_dir(&path, w));
            let Some(mut r) = inside else {
                return Err(SandboxError::new(
                    RefusalKind::OutsideWorkdir,
                    format!(
                        "{s} is outside the working directory {}; give a path relative to it",
                        self.workdir.display()
                    ),
                ));
            };
            if r.is_empty() {
                r.push('.');
            } else if path.ends_with('/') {
                r.push('/');
            }
            r.into()
        } else {
            path
        };
        if escapes(&rel) {
            return Err(self.escape_error(&s));
        }
        Ok(Target { shown: s, rel })
    }

    pub(crate) fn hint(&self) -> String {
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

    pub(crate) fn escape_error(&self, s: &str) -> SandboxError {
        SandboxError::new(
            RefusalKind::Escapes,
            format!(
                "{s} escapes the working directory {} (through ..)",
                self.workdir.display()
            ),
        )
    }

    /// The refusal of a symlink leading out, as the kernel (or cap-std) reported it.
    pub(crate) fn symlink_outside(&self, path: &str, s: &str) -> SandboxError {
        if escapes(path) {
            return self.escape_error(s);
        }
        SandboxError::new(
            RefusalKind::SymlinkOutside,
            format!(
                "{s} is, or passes through, a symlink pointing outside the working directory {} (or an absolute symlink); \
                 it was not followed",
                self.workdir.display()
            ),
        )
    }

    /// One line for the start-up log.
    pub(crate) fn summary(&self) -> String {
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
    pub(crate) fn describe(&self) -> String {
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
}

/// `canonicalize` on Windows returns `\\?\C:\...`; agents write `C:\...`.
fn plain(p: PathBuf) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
        Some(rest) if !rest.starts_with("UNC") => PathBuf::from(rest),
        _ => p,
    }
}

/// `/x` on Unix; `/x` or `C:/x` on Windows (after `\` became `/`).
fn is_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    path.starts_with('/')
        || (cfg!(windows)
            && b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && b[2] == b'/')
}

/// `path` relative to the directory `dir` (`/` separators), if it lies in it; on Windows the
/// comparison ignores case, as NTFS does.
fn strip_dir(path: &str, dir: &Path) -> Option<String> {
    let dir = dir.to_str()?.replace('\\', "/");
    let dir = dir.trim_end_matches('/');
    let head = path.get(..dir.len())?;
    let same = if cfg!(windows) {
        head.eq_ignore_ascii_case(dir)
    } else {
        head == dir
    };
    if !same {
        return None;
    }
    let rest = &path[dir.len()..];
    if rest.is_empty() {
        return Some(String::new());
    }
    let rest = rest.strip_prefix('/')?;
    Some(rest.trim_matches('/').to_string())
}

/// Why a path is refused on Windows, before any file-system call: the forms that reach outside
/// every directory handle or alias another name. `None` when the path is an ordinary relative or
/// drive-absolute one. Pure, so its table runs on every OS.
pub(crate) fn windows_refusal(path: &str) -> Option<(RefusalKind, &'static str)> {
    let p = path.replace('\\', "/");
    let b = p.as_bytes();
    if p.starts_with("//") {
        return Some((
            RefusalKind::WindowsPath,
            "is a UNC, device or \\\\?\\ path (\\\\server\\share, \\\\.\\, \\\\?\\); only paths in the working directory are used",
        ));
    }
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if drive && b.get(2) != Some(&b'/') {
        return Some((
            RefusalKind::WindowsPath,
            "is drive-relative (C:file means the current directory of drive C:)",
        ));
    }
    let rest = if drive { &p[3..] } else { p.as_str() };
    for c in rest.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            continue;
        }
        if c.contains(':') {
            return Some((
                RefusalKind::WindowsPath,
                "names an alternate data stream (a `:` in a file name)",
            ));
        }
        if c.ends_with('.') || c.ends_with(' ') {
            return Some((
                RefusalKind::WindowsPath,
                "has a name ending in a dot or a space, which Windows strips (so it would name another file)",
            ));
        }
        if c.contains(['<', '>', '"', '|', '?', '*']) || c.chars().any(|ch| ch.is_control()) {
            return Some((
                RefusalKind::WindowsPath,
                "has a character Windows does not allow in a file name (< > \" | ? * or a control character)",
            ));
        }
        if is_reserved_device(c) {
            return Some((
                RefusalKind::WindowsPath,
                "names a reserved device (CON, PRN, AUX, NUL, COM1-9, LPT1-9), not a file",
            ));
        }
        if is_short_name(c) {
            return Some((
                RefusalKind::WindowsPath,
                "looks like a short 8.3 name (NAME~1), which may alias another file; use the full name",
            ));
        }
    }
    None
}

/// `CON`, `nul.txt`, `COM1.log`, `lpt9`, `CONIN$`: a device in every directory.
fn is_reserved_device(component: &str) -> bool {
    let stem = component
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    let port = upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"));
    port.is_some_and(|n| {
        (n.len() == 1 && n.as_bytes()[0].is_ascii_digit()) || matches!(n, "¹" | "²" | "³")
    })
}

/// `PROGRA~1`, `LONGFI~12.TXT`: a `~` followed by digits in the first eight characters.
fn is_short_name(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or("");
    match stem.rfind('~') {
        Some(i) => {
            let digits = &stem[i + 1..];
            i > 0 && !digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit())
        }
        None => false,
    }
}

/// What is at a path, as both backends see it (a symlink is seen only where it is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    Regular,
    Directory,
    Symlink,
    /// A FIFO, socket, device or other special file, with its name for messages.
    Special(&'static str),
}

/// The refusals both backends give, one text each.
pub(crate) mod refuse {
    use super::Found;
    use crate::{RefusalKind, SandboxError};

    /// The working directory as given (for messages) and canonical, or why it cannot be resolved.
    pub(crate) fn canonical_workdir(
        given: &std::path::Path,
    ) -> Result<(String, std::path::PathBuf), SandboxError> {
        let shown_dir = crate::error::shown(&given.to_string_lossy());
        let canonical = std::fs::canonicalize(given)
            .map_err(|e| workdir(RefusalKind::NotFound, &shown_dir, &e.to_string()))?;
        Ok((shown_dir, canonical))
    }

    /// The working directory cannot be resolved.
    pub(crate) fn workdir(kind: RefusalKind, shown_dir: &str, why: &str) -> SandboxError {
        SandboxError::new(
            kind,
            format!("the working directory {shown_dir} cannot be opened: {why}"),
        )
    }

    pub(crate) fn write_too_large(s: &str, len: usize, limit: u64) -> SandboxError {
        SandboxError::new(
            RefusalKind::TooLarge,
            format!(
                "{s} would be {len} bytes, over the {limit} byte write limit; nothing was written"
            ),
        )
    }

    /// What may be at the name a write replaces: a regular file (or nothing, seen before this).
    /// `writing`: the write itself (the message says nothing was written), not its check.
    pub(crate) fn write_target(found: Found, s: &str, writing: bool) -> Result<(), SandboxError> {
        let tail = if writing { "; nothing was written" } else { "" };
        Err(match found {
            Found::Regular => return Ok(()),
            Found::Symlink => SandboxError::new(
                RefusalKind::SymlinkTarget,
                if writing {
                    format!(
                        "{s} is a symbolic link; it is neither written through nor replaced, so nothing was written"
                    )
                } else {
                    format!("{s} is a symbolic link; it is neither written through nor replaced")
                },
            ),
            Found::Directory => SandboxError::new(
                RefusalKind::IsDirectory,
                format!("{s} is a directory{tail}"),
            ),
            Found::Special(_) => SandboxError::new(
                RefusalKind::NotRegularFile,
                format!("{s} exists and is not a regular file (a FIFO, socket or device){tail}"),
            ),
        })
    }

    /// What a removal or a time change may act on: a regular file.
    pub(crate) fn existing(found: Found, s: &str, what: &str) -> Result<(), SandboxError> {
        Err(match found {
            Found::Regular => return Ok(()),
            Found::Symlink => SandboxError::new(
                RefusalKind::SymlinkTarget,
                format!(
                    "{s} is a symbolic link; it is neither followed nor changed, so nothing was done"
                ),
            ),
            Found::Directory => SandboxError::new(
                RefusalKind::IsDirectory,
                format!("cannot {what} {s}: it is a directory"),
            ),
            Found::Special(name) => SandboxError::new(
                RefusalKind::NotRegularFile,
                format!("cannot {what} {s}: it is not a regular file (it is a {name})"),
            ),
        })
    }

    /// What a read or a stat may reach: a regular file. `reading` adds that only those are read.
    pub(crate) fn file(found: Found, s: &str, reading: bool) -> Result<(), SandboxError> {
        let name = match found {
            Found::Regular => return Ok(()),
            Found::Directory => {
                return Err(SandboxError::new(
                    RefusalKind::IsDirectory,
                    format!("{s} is a directory, not a file"),
                ));
            }
            Found::Symlink => "symbolic link",
            Found::Special(name) => name,
        };
        let only = if reading {
            "; only regular files are read"
        } else {
            ""
        };
        Err(SandboxError::new(
            RefusalKind::NotRegularFile,
            format!("{s} is not a regular file (it is a {name}){only}"),
        ))
    }

    pub(crate) fn hard_links(s: &str, n: impl std::fmt::Display) -> SandboxError {
        SandboxError::new(
            RefusalKind::HardLink,
            format!(
                "{s} has {n} hard links; in workdir mode a file with more than one link is refused, because another link to \
                 the same file may be outside the working directory"
            ),
        )
    }

    /// A listing over one of its limits: `what` is "directories" or "files".
    pub(crate) fn too_many(s: &str, limit: usize, what: &str) -> SandboxError {
        SandboxError::new(
            RefusalKind::TooMany,
            format!("{s} holds more than {limit} {what}; nothing was listed"),
        )
    }

    pub(crate) fn too_deep(s: &str, limit: usize) -> SandboxError {
        SandboxError::new(
            RefusalKind::TooMany,
            format!("{s} is nested deeper than {limit} directories; nothing was listed"),
        )
    }
}

/// The parent directory and final name of a file to write (`rel` beneath the root); refused when
/// `rel` names a directory (`a/`, `.`, `..`).
pub(crate) fn file_target<'r>(
    rel: &'r str,
    shown: &str,
) -> Result<(&'r str, &'r str), SandboxError> {
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

/// The whole of an opened regular file, refused past `limit` bytes (read up to one byte more, so
/// a file that grew since it was looked at is caught too).
pub(crate) fn read_bounded(file: impl Read, s: &str, limit: u64) -> Result<Vec<u8>, SandboxError> {
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| {
            SandboxError::new(RefusalKind::Io, format!("cannot read {s}: {}", io_text(&e)))
        })?;
    if buf.len() as u64 > limit {
        return Err(too_large(s, limit));
    }
    Ok(buf)
}

pub(crate) fn too_large(s: &str, limit: u64) -> SandboxError {
    SandboxError::new(
        RefusalKind::TooLarge,
        format!("{s} is larger than the {limit} byte read limit"),
    )
}

/// Whether `..` components take the path above its start (lexically).
pub(crate) fn escapes(path: &str) -> bool {
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

pub(crate) fn io_text(e: &std::io::Error) -> String {
    // The OS text without the "(os error N)" suffix.
    let t = e.to_string();
    match t.find(" (os error") {
        Some(i) => t[..i].to_string(),
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Windows forms (checked on every OS; applied only on Windows).
    #[test]
    fn windows_forms_are_refused_and_ordinary_ones_pass() {
        let refused = [
            r"\\?\C:\Windows\win.ini",
            r"\\.\PhysicalDrive0",
            r"\\server\share\file.txt",
            "//server/share/file.txt",
            r"\\?\UNC\server\share",
            "C:file.txt",
            "c:",
            r"data\file.txt:secret",
            "file.txt::$DATA",
            "CON",
            "con.txt",
            r"sub\NUL",
            "aux.json",
            "COM1",
            "lpt9.log",
            "CONIN$",
            "PROGRA~1",
            r"sub\LONGFI~12.TXT",
            "trailing.",
            "trailing ",
            "what?.txt",
            "a*b",
            "pipe|x",
        ];
        for p in refused {
            assert!(windows_refusal(p).is_some(), "{p} should be refused");
        }
        let passed = [
            "file.txt",
            r"reports\today.json",
            "reports/today.json",
            r"C:\work\file.txt",
            "C:/work/file.txt",
            "console.txt",
            "nullable",
            "COM10",
            "com",
            "tilde~name",
            "~~",
            "x~",
            ".hidden",
            r"..\up",
        ];
        for p in passed {
            assert_eq!(windows_refusal(p), None, "{p} should pass");
        }
    }

    #[test]
    fn absolute_paths_map_onto_the_working_directory() {
        let w = Path::new("/srv/work");
        assert_eq!(strip_dir("/srv/work/a/b", w).as_deref(), Some("a/b"));
        assert_eq!(strip_dir("/srv/work", w).as_deref(), Some(""));
        assert_eq!(strip_dir("/srv/work/", w).as_deref(), Some(""));
        assert_eq!(strip_dir("/srv/workx/a", w), None);
        assert_eq!(strip_dir("/srv", w), None);
        assert_eq!(
            plain(PathBuf::from(r"\\?\C:\work")),
            PathBuf::from(r"C:\work")
        );
        assert_eq!(
            plain(PathBuf::from(r"\\?\UNC\s\x")),
            PathBuf::from(r"\\?\UNC\s\x")
        );
    }
}
