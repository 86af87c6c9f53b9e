//! The portable backend (macOS, Windows; on Linux only through [`crate::Sandbox::new_portable`],
//! for its tests): `cap-std` resolves every path component by component beneath a directory
//! handle, refusing `..`, absolute symlinks and symlinks leading out at each step.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{DirExt, SystemTimeSpec};
use cap_std::fs::{Dir, Metadata, OpenOptions};
use portcullis_cli::files::{FileStat, unix_time};

use crate::error::shown;
use crate::paths::{Common, Found, Target, file_target, io_text, read_bounded, refuse, too_large};
use crate::{FileAccessMode, RefusalKind, SandboxError};

/// How often a read retries when the file it looked at was replaced before it was opened.
const RETRIES: usize = 16;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
pub(crate) struct PortableSandbox {
    pub(crate) c: Common,
    /// A handle of the working directory; `None` in no-access mode.
    root: Option<Dir>,
}

/// The directory a path is resolved beneath, and the path relative to it: the root handle in
/// workdir mode; in unrestricted mode the path's own (canonical) parent directory.
enum Base<'a> {
    Root(&'a Dir),
    Own(Dir),
}

impl std::ops::Deref for Base<'_> {
    type Target = Dir;
    fn deref(&self) -> &Dir {
        match self {
            Base::Root(d) => d,
            Base::Own(d) => d,
        }
    }
}

impl PortableSandbox {
    pub(crate) fn new(mode: FileAccessMode, given: &Path) -> Result<PortableSandbox, SandboxError> {
        if mode == FileAccessMode::NoAccess {
            return Ok(PortableSandbox {
                c: Common::no_access(given),
                root: None,
            });
        }
        let (shown_dir, canonical) = refuse::canonical_workdir(given)?;
        let root = Dir::open_ambient_dir(&canonical, cap_std::ambient_authority())
            .map_err(|e| refuse::workdir(RefusalKind::NotDirectory, &shown_dir, &io_text(&e)))?;
        Ok(PortableSandbox {
            c: Common::new(mode, given, canonical),
            root: Some(root),
        })
    }

    /// The directory to resolve beneath, the path relative to it, and the checked path.
    /// In unrestricted mode a final symlink is resolved only for what reads (`follow`); a write
    /// or removal acts on the name itself (and refuses a symlink there).
    fn base<'p>(
        &self,
        path: &'p str,
        follow: bool,
    ) -> Result<(Base<'_>, String, Target<'p>), SandboxError> {
        let root = match (&self.root, self.c.mode) {
            (Some(root), FileAccessMode::Workdir | FileAccessMode::Unrestricted) => root,
            _ => return Err(self.c.disabled(path)),
        };
        let t = self.c.check(path)?;
        if self.c.mode == FileAccessMode::Workdir {
            let rel = t.rel.to_string();
            return Ok((Base::Root(root), rel, t));
        }
        // Unrestricted: anything the process may reach, symlinks followed as the OS does.
        let abs = self.c.workdir.join(t.rel.as_ref());
        let resolved = if follow {
            std::fs::canonicalize(&abs).unwrap_or(abs)
        } else {
            match (abs.parent(), abs.file_name()) {
                (Some(p), Some(n)) => std::fs::canonicalize(p)
                    .map(|p| p.join(n))
                    .unwrap_or(abs.clone()),
                _ => abs,
            }
        };
        // Resolved beneath the nearest existing ancestor, so a write can create the rest.
        let mut parent = resolved.as_path();
        let mut rest: Vec<String> = Vec::new();
        while let (Some(p), Some(n)) = (parent.parent(), parent.file_name()) {
            rest.push(n.to_string_lossy().into_owned());
            parent = p;
            if p.is_dir() {
                break;
            }
        }
        rest.reverse();
        let name = if rest.is_empty() {
            ".".to_string()
        } else {
            rest.join("/")
        };
        let dir = Dir::open_ambient_dir(parent, cap_std::ambient_authority())
            .map_err(|e| self.refusal(&e, path, &t.shown, "reach"))?;
        Ok((Base::Own(dir), name, t))
    }

    pub(crate) fn read_file(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let (dir, rel, t) = self.base(path, true)?;
        let file = self.open_for_read(&dir, &rel, &t.shown, path)?;
        read_bounded(file, &t.shown, self.c.limits.max_read_bytes)
    }

    pub(crate) fn check_file(&self, path: &str) -> Result<u64, SandboxError> {
        let (dir, rel, t) = self.base(path, true)?;
        let meta = dir
            .metadata(&rel)
            .map_err(|e| self.refusal(&e, path, &t.shown, "read"))?;
        self.ensure_readable(&meta, false, &t.shown)?;
        Ok(meta.len())
    }

    pub(crate) fn is_directory(&self, path: &str) -> bool {
        let Ok((dir, rel, _)) = self.base(path, true) else {
            return false;
        };
        dir.metadata(&rel).is_ok_and(|m| m.is_dir())
    }

    pub(crate) fn write_file(&self, path: &str, bytes: &[u8]) -> Result<(), SandboxError> {
        let (dir, rel, t) = self.base(path, false)?;
        if bytes.len() as u64 > self.c.limits.max_write_bytes {
            return Err(refuse::write_too_large(
                &t.shown,
                bytes.len(),
                self.c.limits.max_write_bytes,
            ));
        }
        let (parent, name) = file_target(&rel, &t.shown).map_err(|e| {
            SandboxError::new(e.kind, format!("{}; nothing was written", e.message))
        })?;
        let pdir = self.open_parent(&dir, parent, path, &t.shown)?;
        let existing = match pdir.symlink_metadata(name) {
            Ok(m) => {
                refuse::write_target(found(&m), &t.shown, true)?;
                Some(m.permissions())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.refusal(&e, path, &t.shown, "write")),
        };
        let tmp_name = format!(
            ".portcullis-{}-{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use cap_std::fs::OpenOptionsExt;
            opts.mode(crate::NEW_FILE_MODE);
        }
        let file = pdir
            .open_with(&tmp_name, &opts)
            .map_err(|e| self.refusal(&e, path, &t.shown, "write"))?;
        let result = (|| {
            let mut file = file.into_std();
            file.write_all(bytes)?;
            if let Some(perms) = existing {
                pdir.set_permissions(&tmp_name, perms)?;
            }
            file.sync_all()?;
            drop(file);
            pdir.rename(&tmp_name, &pdir, name)
        })();
        match result {
            Ok(()) => {
                // Durability of the rename itself (Unix; NTFS journals it): the data is already
                // synced, so a failure here changes nothing a reader sees.
                #[cfg(unix)]
                if let Ok(d) = pdir.try_clone() {
                    let _ = d.into_std_file().sync_all();
                }
                Ok(())
            }
            Err(e) => {
                let _ = pdir.remove_file(&tmp_name);
                Err(SandboxError::new(
                    RefusalKind::Io,
                    format!(
                        "cannot write {}: {}; nothing was written",
                        t.shown,
                        io_text(&e)
                    ),
                ))
            }
        }
    }

    pub(crate) fn check_writable(&self, path: &str) -> Result<(), SandboxError> {
        let (dir, rel, t) = self.base(path, false)?;
        let (parent, name) = file_target(&rel, &t.shown)?;
        let pdir = match dir.open_dir(parent) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.refusal(&e, path, &t.shown, "write")),
        };
        match pdir.symlink_metadata(name) {
            Ok(m) => refuse::write_target(found(&m), &t.shown, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.refusal(&e, path, &t.shown, "write")),
        }
    }

    pub(crate) fn list_dir(&self, path: &str) -> Result<Vec<String>, SandboxError> {
        let (dir, rel, t) = self.base(path, true)?;
        let top = dir.open_dir(&rel).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotADirectory && !rel.contains('/') {
                SandboxError::new(
                    RefusalKind::NotDirectory,
                    format!("{} is not a directory", t.shown),
                )
            } else {
                self.refusal(&e, path, &t.shown, "list")
            }
        })?;
        let limits = self.c.limits;
        let mut files = Vec::new();
        let mut dirs_seen = 0usize;
        let mut stack: Vec<(Dir, String, usize)> = vec![(top, String::new(), 0)];
        let fail = |rel: &str, e: &std::io::Error| {
            SandboxError::new(
                RefusalKind::Io,
                format!("cannot list {}/{}: {}", t.shown, shown(rel), io_text(e)),
            )
        };
        while let Some((d, rel, depth)) = stack.pop() {
            for entry in d.entries().map_err(|e| fail(&rel, &e))? {
                let entry = entry.map_err(|e| fail(&rel, &e))?;
                let raw = entry.file_name();
                let Some(name) = raw.to_str() else {
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
                let kind = match entry.file_type() {
                    Ok(k) => k,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(fail(&child, &e)),
                };
                if kind.is_dir() {
                    if depth + 1 > limits.max_list_depth {
                        return Err(refuse::too_deep(&t.shown, limits.max_list_depth));
                    }
                    dirs_seen += 1;
                    if dirs_seen > limits.max_list_entries {
                        return Err(refuse::too_many(
                            &t.shown,
                            limits.max_list_entries,
                            "directories",
                        ));
                    }
                    // Never through a symlink or junction (one swapped in since the entry was
                    // read fails, and is skipped like any symlink).
                    match d.open_dir_nofollow(name) {
                        Ok(sub) => stack.push((sub, child, depth + 1)),
                        Err(e) if skipped(&e) => {}
                        Err(e) => return Err(fail(&child, &e)),
                    }
                } else if kind.is_file() {
                    files.push(child);
                    if files.len() > limits.max_list_entries {
                        return Err(refuse::too_many(&t.shown, limits.max_list_entries, "files"));
                    }
                }
            }
        }
        files.sort();
        Ok(files)
    }

    pub(crate) fn stat_file(&self, path: &str) -> Result<FileStat, SandboxError> {
        let (dir, rel, t) = self.base(path, true)?;
        let meta = dir
            .metadata(&rel)
            .map_err(|e| self.refusal(&e, path, &t.shown, "read"))?;
        refuse::file(found(&meta), &t.shown, false)?;
        let (modified_secs, modified_nanos) = meta
            .modified()
            .map(|m| unix_time(m.into_std()))
            .unwrap_or((0, 0));
        Ok(FileStat {
            size: meta.len(),
            modified_secs,
            modified_nanos,
        })
    }

    pub(crate) fn set_modified_time(&self, path: &str, secs: i64) -> Result<(), SandboxError> {
        let (pdir, name, t) = self.existing_file(path, "set the time of")?;
        let when = if secs >= 0 {
            std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs.unsigned_abs()))
        } else {
            std::time::UNIX_EPOCH.checked_sub(std::time::Duration::from_secs(secs.unsigned_abs()))
        }
        .ok_or_else(|| {
            SandboxError::new(
                RefusalKind::Io,
                format!("cannot set the time of {}: {secs} is out of range", t.shown),
            )
        })?;
        let spec = || {
            Some(SystemTimeSpec::Absolute(
                cap_std::time::SystemTime::from_std(when),
            ))
        };
        pdir.set_symlink_times(&name, spec(), spec())
            .map_err(|e| self.refusal(&e, path, &t.shown, "set the time of"))
    }

    pub(crate) fn remove_file(&self, path: &str) -> Result<(), SandboxError> {
        let (pdir, name, t) = self.existing_file(path, "remove")?;
        pdir.remove_file(&name)
            .map_err(|e| self.refusal(&e, path, &t.shown, "remove"))
    }

    /// The parent directory and final name of the existing regular file `path`; a symlink,
    /// directory or special file is refused.
    fn existing_file<'p>(
        &self,
        path: &'p str,
        what: &str,
    ) -> Result<(Dir, String, Target<'p>), SandboxError> {
        let (dir, rel, t) = self.base(path, false)?;
        let (parent, name) = file_target(&rel, &t.shown)?;
        let pdir = dir
            .open_dir(parent)
            .map_err(|e| self.refusal(&e, path, &t.shown, what))?;
        let meta = pdir
            .symlink_metadata(name)
            .map_err(|e| self.refusal(&e, path, &t.shown, what))?;
        refuse::existing(found(&meta), &t.shown, what)?;
        let name = name.to_string();
        Ok((pdir, name, t))
    }

    /// The parent directory of a file to write, created beneath the root if missing (each
    /// component checked as it is made).
    fn open_parent(
        &self,
        dir: &Dir,
        parent: &str,
        path: &str,
        s: &str,
    ) -> Result<Dir, SandboxError> {
        match dir.open_dir(parent) {
            Ok(d) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.refusal(&e, path, s, "write")),
        }
        dir.create_dir_all(parent)
            .map_err(|e| self.refusal(&e, path, s, "write"))?;
        dir.open_dir(parent)
            .map_err(|e| self.refusal(&e, path, s, "write"))
    }

    /// Opens a regular file for reading: looked at first (not opened, so a FIFO or device is
    /// refused before its open could block or wake a driver), then opened (non-blocking on Unix)
    /// and judged again by its handle, and on Unix it must be the file looked at.
    fn open_for_read(
        &self,
        dir: &Dir,
        rel: &str,
        s: &str,
        path: &str,
    ) -> Result<std::fs::File, SandboxError> {
        for _ in 0..RETRIES {
            let first = dir
                .metadata(rel)
                .map_err(|e| self.refusal(&e, path, s, "read"))?;
            self.ensure_readable(&first, false, s)?;
            let mut opts = OpenOptions::new();
            opts.read(true);
            #[cfg(unix)]
            {
                use cap_std::fs::OpenOptionsExt;
                use rustix::fs::OFlags;
                opts.custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32);
            }
            let file = dir
                .open_with(rel, &opts)
                .map_err(|e| self.refusal(&e, path, s, "read"))?;
            let meta = file
                .metadata()
                .map_err(|e| self.refusal(&e, path, s, "read"))?;
            self.ensure_readable(&meta, true, s)?;
            if same_file(&first, &meta) {
                return Ok(file.into_std());
            }
        }
        Err(SandboxError::new(
            RefusalKind::Busy,
            format!("{s} kept being replaced while it was opened; try again"),
        ))
    }

    /// A regular file, not over the read limit, and (in workdir mode, where the OS can tell)
    /// with one link.
    fn ensure_readable(
        &self,
        meta: &Metadata,
        by_handle: bool,
        s: &str,
    ) -> Result<(), SandboxError> {
        refuse::file(found(meta), s, true)?;
        if self.c.mode == FileAccessMode::Workdir
            && let Some(n) = links(meta, by_handle).filter(|n| *n > 1)
        {
            return Err(refuse::hard_links(s, n));
        }
        if meta.len() > self.c.limits.max_read_bytes {
            return Err(too_large(s, self.c.limits.max_read_bytes));
        }
        Ok(())
    }

    /// An OS error as a refusal the agent can act on.
    fn refusal(&self, e: &std::io::Error, path: &str, s: &str, what: &str) -> SandboxError {
        use std::io::ErrorKind as E;
        // cap-std's own refusal of a step out of the directory: `..` escapes are refused before
        // any call, so what is left is a symlink leading out (or an absolute one).
        if e.kind() == E::PermissionDenied
            && e.raw_os_error().is_none()
            && self.c.mode == FileAccessMode::Workdir
        {
            return self.c.symlink_outside(path, s);
        }
        if is_loop(e) {
            return SandboxError::new(
                RefusalKind::MagicLinkOrLoop,
                format!(
                    "{s} passes through a magic link or a symlink loop (or too many symlinks); it was not followed"
                ),
            );
        }
        let (kind, msg) = match e.kind() {
            E::NotFound => (
                RefusalKind::NotFound,
                format!("cannot {what} {s}: no such file or directory"),
            ),
            E::NotADirectory => (
                RefusalKind::NotDirectory,
                format!("cannot {what} {s}: a component of the path is not a directory"),
            ),
            E::IsADirectory => (
                RefusalKind::IsDirectory,
                format!("cannot {what} {s}: it is a directory"),
            ),
            E::PermissionDenied => (
                RefusalKind::PermissionDenied,
                format!("cannot {what} {s}: permission denied"),
            ),
            E::InvalidFilename => (
                RefusalKind::TooLong,
                format!("cannot {what} {s}: the path or a name in it is too long or not valid"),
            ),
            _ => (
                RefusalKind::Io,
                format!("cannot {what} {s}: {}", io_text(e)),
            ),
        };
        SandboxError::new(kind, msg)
    }
}

/// A symlink loop (or, with a no-follow open, a symlink at the end).
fn is_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// A listing skips what is not (or no longer) a plain directory.
fn skipped(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as E;
    is_loop(e) || matches!(e.kind(), E::NotADirectory | E::NotFound)
}

/// The hard-link count where it can be read: Unix always; Windows from a handle only.
fn links(meta: &Metadata, by_handle: bool) -> Option<u64> {
    #[cfg(unix)]
    {
        let _ = by_handle;
        Some(cap_std::fs::MetadataExt::nlink(meta))
    }
    #[cfg(windows)]
    {
        by_handle.then(|| cap_fs_ext::MetadataExt::nlink(meta))
    }
}

/// Whether two looks at a path saw the same file (Unix: device and inode; Windows cannot tell
/// from a path's metadata, and has no FIFOs to swap in, so the handle's own check stands).
fn same_file(first: &Metadata, opened: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use cap_std::fs::MetadataExt;
        (first.dev(), first.ino()) == (opened.dev(), opened.ino())
    }
    #[cfg(windows)]
    {
        let _ = (first, opened);
        true
    }
}

/// What metadata says is at a path.
fn found(meta: &Metadata) -> Found {
    let ft = meta.file_type();
    if ft.is_file() {
        Found::Regular
    } else if ft.is_dir() {
        Found::Directory
    } else if ft.is_symlink() {
        Found::Symlink
    } else {
        Found::Special(type_name(meta))
    }
}

fn type_name(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use cap_std::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_char_device() {
            return "character device";
        }
        if ft.is_block_device() {
            return "block device";
        }
    }
    #[cfg(not(unix))]
    let _ = ft;
    "special file"
}
