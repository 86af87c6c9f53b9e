//! The Linux backend: every path is resolved by the kernel beneath an `O_PATH` handle of the
//! working directory, with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_cli::files::FileStat;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use crate::error::shown;
use crate::paths::{Common, Found, Target, file_target, io_text, read_bounded, refuse, too_large};
use crate::{FileAccessMode, NEW_DIR_MODE, NEW_FILE_MODE, RefusalKind, SandboxError};

/// How often a resolution that raced with a rename (`EAGAIN`) is retried.
const RETRIES: usize = 16;

#[derive(Debug)]
pub(crate) struct LinuxSandbox {
    pub(crate) c: Common,
    /// An `O_PATH | O_DIRECTORY` handle of the working directory; `None` in no-access mode.
    root: Option<OwnedFd>,
}

impl LinuxSandbox {
    /// A sandbox over `workdir` in `mode`. In workdir and unrestricted modes the directory must
    /// exist; it is opened once, here, and in workdir mode `openat2` is probed so that a kernel
    /// without it fails now, not at the first file. In no-access mode the directory is only
    /// recorded.
    pub(crate) fn new(mode: FileAccessMode, given: &Path) -> Result<LinuxSandbox, SandboxError> {
        if mode == FileAccessMode::NoAccess {
            return Ok(LinuxSandbox {
                c: Common::no_access(given),
                root: None,
            });
        }
        let (shown_dir, canonical) = refuse::canonical_workdir(given)?;
        let root = rustix::fs::open(
            &canonical,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| refuse::workdir(RefusalKind::NotDirectory, &shown_dir, &errno_text(e)))?;
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
        Ok(LinuxSandbox {
            c: Common::new(mode, given, canonical),
            root: Some(root),
        })
    }

    /// Reads the whole regular file `path`.
    pub(crate) fn read_file(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let (root, t) = self.target(path)?;
        let fd = self.open_for_read(root, &t, path)?;
        read_bounded(
            std::fs::File::from(fd),
            &t.shown,
            self.c.limits.max_read_bytes,
        )
    }

    /// What is at `t`, reached as a read reaches it but opened `O_PATH` only (nothing is read,
    /// and even a device's open has no effect).
    fn look(&self, root: BorrowedFd<'_>, t: &Target<'_>, path: &str) -> Result<Stat, SandboxError> {
        self.open(
            root,
            &t.rel,
            OFlags::PATH,
            Mode::empty(),
            ResolveFlags::empty(),
        )
        .and_then(rustix::fs::fstat)
        .map_err(|e| self.refusal(e, path, &t.shown, "read"))
    }

    /// The size of the regular file `path`, which may be read later; nothing is read (the file is
    /// opened `O_PATH`, so even a device's open has no effect).
    pub(crate) fn check_file(&self, path: &str) -> Result<u64, SandboxError> {
        let (root, t) = self.target(path)?;
        let st = self.look(root, &t, path)?;
        self.ensure_readable(&st, &t.shown)?;
        Ok(st.st_size.max(0) as u64)
    }

    /// Whether `path` is an existing directory (reached as a read would reach it).
    pub(crate) fn is_directory(&self, path: &str) -> bool {
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
    pub(crate) fn write_file(&self, path: &str, bytes: &[u8]) -> Result<(), SandboxError> {
        let (root, t) = self.target(path)?;
        if bytes.len() as u64 > self.c.limits.max_write_bytes {
            return Err(refuse::write_too_large(
                &t.shown,
                bytes.len(),
                self.c.limits.max_write_bytes,
            ));
        }
        let (parent, name) = file_target(&t.rel, &t.shown).map_err(|e| {
            SandboxError::new(e.kind, format!("{}; nothing was written", e.message))
        })?;
        let dir = self.open_parent(root, parent, path, &t.shown)?;
        let existing_mode = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                refuse::write_target(found(st.st_mode), &t.shown, true)?;
                Some(st.st_mode & 0o777)
            }
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
    pub(crate) fn check_writable(&self, path: &str) -> Result<(), SandboxError> {
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
            Ok(st) => refuse::write_target(found(st.st_mode), &t.shown, false),
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(self.refusal(e, path, &t.shown, "write")),
        }
    }

    /// The regular files beneath the directory `dir`, recursively, sorted, relative to `dir` with
    /// `/`; symlinks (and FIFOs, sockets, devices) are skipped, never followed; bounded by
    /// [`Limits::max_list_entries`] and [`Limits::max_list_depth`].
    pub(crate) fn list_dir(&self, dir: &str) -> Result<Vec<String>, SandboxError> {
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
        let limits = self.c.limits;
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
                            return Err(refuse::too_many(
                                &t.shown,
                                limits.max_list_entries,
                                "files",
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
    pub(crate) fn stat_file(&self, path: &str) -> Result<FileStat, SandboxError> {
        let (root, t) = self.target(path)?;
        let st = self.look(root, &t, path)?;
        refuse::file(found(st.st_mode), &t.shown, false)?;
        // `time_t` is `i64` on the 64-bit targets and `i32` on 32-bit ones: the cast is kept.
        #[allow(clippy::unnecessary_cast)]
        let modified_secs = st.st_mtime as i64;
        Ok(FileStat {
            size: st.st_size.max(0) as u64,
            modified_secs,
            modified_nanos: u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        })
    }

    /// Sets the access and modification times of the regular file `path` to `secs` (what the AWS
    /// CLI does to a downloaded file). The parent is resolved beneath the root like a write; the
    /// final name must be a regular file and is never followed (a symlink is refused).
    pub(crate) fn set_modified_time(&self, path: &str, secs: i64) -> Result<(), SandboxError> {
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
    pub(crate) fn remove_file(&self, path: &str) -> Result<(), SandboxError> {
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
        refuse::existing(found(st.st_mode), &t.shown, what)?;
        Ok((dir, name, t))
    }

    /// The root handle and the checked path.
    fn target<'p>(&self, path: &'p str) -> Result<(BorrowedFd<'_>, Target<'p>), SandboxError> {
        match (&self.root, self.c.mode) {
            (Some(root), FileAccessMode::Workdir | FileAccessMode::Unrestricted) => {
                Ok((root.as_fd(), self.c.check(path)?))
            }
            _ => Err(self.c.disabled(path)),
        }
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
        match self.c.mode {
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
            let first = self.look(root, t, path)?;
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
        refuse::file(found(st.st_mode), s, true)?;
        if self.c.mode == FileAccessMode::Workdir && st.st_nlink > 1 {
            return Err(refuse::hard_links(s, st.st_nlink));
        }
        let size = st.st_size.max(0) as u64;
        if size > self.c.limits.max_read_bytes {
            return Err(too_large(s, self.c.limits.max_read_bytes));
        }
        Ok(())
    }

    /// A kernel error as a refusal the agent can act on.
    fn refusal(&self, e: Errno, path: &str, s: &str, what: &str) -> SandboxError {
        let (kind, msg) = match e {
            // Lexical `..` escapes are refused before any call; what the kernel still refuses
            // beneath the root is a symlink (absolute, or relative leading out).
            Errno::XDEV if self.c.mode == FileAccessMode::Workdir => {
                return self.c.symlink_outside(path, s);
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

/// What a mode says is at a path.
fn found(mode: u32) -> Found {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Found::Regular,
        FileType::Directory => Found::Directory,
        FileType::Symlink => Found::Symlink,
        other => Found::Special(type_name(other)),
    }
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
