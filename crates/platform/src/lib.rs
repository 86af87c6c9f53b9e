//! What differs between the operating systems Portcullis runs on, in one place. Everything else
//! in the workspace is portable Rust and calls these functions; the file sandbox has its own
//! backends (`openat2` on Linux, `cap-std` elsewhere) and is the one other place with `cfg`s on
//! the OS.
//!
//! The invariants, and how each OS keeps them:
//!
//! | Invariant | Linux, macOS (Unix) | Windows |
//! |---|---|---|
//! | secrets files (token, audit key, logs) are created readable by their owner only | created mode `0600`, directories `0700` | an access control list with one entry, the user's, nothing inherited ([`set_private`], [`create_private_dir_all`]) |
//! | a secrets file readable by others is refused | mode bits `& 0o077` must be 0 | no access-list entry for another account than the user, SYSTEM and Administrators ([`ensure_acl_private`]) |
//! | a file is opened without following a final symlink | `O_NOFOLLOW` | `FILE_FLAG_OPEN_REPARSE_POINT`, then a reparse point (symlink, junction) is refused |
//! | a record is durable before its answer | `fdatasync` | `FlushFileBuffers` (std's `sync_data`) |
//! | a new directory entry is durable | `fsync` of the directory | NTFS journals its metadata; no directory flush exists ([`DirHandle::sync`] is a no-op) |
//! | the audit file system has room | `fstatvfs` | not measured ([`free_bytes`] is `None`; a full disk fails the write, which fails closed) |
//!
//! The state directory (audit key and trail, tokens, the gateway's pins and working directories)
//! is `$XDG_STATE_HOME/portcullis` or `~/.local/state/portcullis` on Linux, `$XDG_STATE_HOME/portcullis`
//! or `~/Library/Application Support/portcullis` on macOS, and `%LOCALAPPDATA%\portcullis` on
//! Windows ([`state_dir`]).

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;
#[cfg(windows)]
mod windows_acl;

/// Portcullis's state directory on this OS, from `env` (the process environment in production):
/// see the crate documentation. `None` when the variables it needs are unset or not absolute.
pub fn state_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |k: &str| env(k).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        return absolute("LOCALAPPDATA").map(|p| p.join("portcullis"));
    }
    if let Some(x) = absolute("XDG_STATE_HOME") {
        return Some(x.join("portcullis"));
    }
    let home = home_dir(env)?;
    Some(if cfg!(target_os = "macos") {
        home.join("Library/Application Support/portcullis")
    } else {
        home.join(".local/state/portcullis")
    })
}

/// The user's home directory, from `env`: `HOME` when absolute; on Windows, where `HOME` is
/// usually unset, `USERPROFILE` (where the AWS CLI, and the awslabs server through Python, put
/// `.aws`).
pub fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |k: &str| env(k).map(PathBuf::from).filter(|p| p.is_absolute());
    absolute("HOME").or_else(|| {
        if cfg!(windows) {
            absolute("USERPROFILE")
        } else {
            None
        }
    })
}

/// [`state_dir`] from the process environment.
pub fn state_dir_from_env() -> Option<PathBuf> {
    state_dir(&|k| std::env::var(k).ok())
}

/// Creates `dir` and its missing parents, private to the user: `0700` on Unix; on Windows the new
/// directory gets an owner-only access list, which what is created in it inherits.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    os::create_private_dir_all(dir)
}

/// `opts` made to create files private to the user (`0600` on Unix) and never to follow a final
/// symlink. After opening, call [`refuse_link`] on the file (Windows opens the reparse point
/// itself rather than failing).
pub fn private_no_follow(opts: &mut OpenOptions) -> &mut OpenOptions {
    os::private_no_follow(opts)
}

/// Opens (creating if `opts` says so) the secrets file `path` private to the user, never through
/// a symlink: [`private_no_follow`], [`refuse_link`], and on Windows [`set_private`] (the access
/// list cannot be given at creation without Win32 calls; the state directory's own list, set by
/// [`create_private_dir_all`], already lets in only the user meanwhile).
pub fn open_private(opts: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let file = open_no_follow(opts, path)?;
    if cfg!(windows) {
        set_private(path)?;
    }
    Ok(file)
}

/// Opens `path` never through a symlink or other reparse point ([`private_no_follow`], then
/// [`refuse_link`]); a file it creates is private on Unix.
pub fn open_no_follow(opts: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let file = private_no_follow(opts).open(path)?;
    refuse_link(&file, path)?;
    Ok(file)
}

/// Refuses what [`private_no_follow`] opened when it is a symlink or other reparse point (on Unix
/// the open itself already failed with `ELOOP`).
pub fn refuse_link(file: &File, path: &Path) -> io::Result<()> {
    let meta = file.metadata()?;
    if meta.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link or junction; it is not followed",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The permission bits that let the group or others in (`mode & 0o077`); `None` where the OS has
/// no mode bits (Windows).
pub fn group_or_other_bits(meta: &Metadata) -> Option<u32> {
    os::group_or_other_bits(meta)
}

/// The permission bits that let the group or others write (`mode & 0o022`); `None` on Windows.
pub fn group_or_other_write_bits(meta: &Metadata) -> Option<u32> {
    os::group_or_other_bits(meta).map(|b| b & 0o022)
}

/// The whole mode (`mode & 0o7777`), for messages; `None` on Windows.
pub fn mode_bits(meta: &Metadata) -> Option<u32> {
    os::mode_bits(meta)
}

/// Whether the file belongs to the user running this process; `None` where it is not known
/// (Windows).
pub fn owned_by_me(meta: &Metadata) -> Option<bool> {
    os::owned_by_me(meta)
}

/// How many hard links the file has; `None` where std cannot tell (Windows).
pub fn link_count(meta: &Metadata) -> Option<u64> {
    os::link_count(meta)
}

/// Makes an existing file private to the user: `chmod 600` on Unix; on Windows an access control
/// list with one entry, full access for the user, nothing inherited.
pub fn set_private(path: &Path) -> io::Result<()> {
    os::set_private(path)
}

/// How many other accounts the file's access control list lets in (Windows: entries for anyone
/// but the user, SYSTEM and Administrators; `usize::MAX` for no list at all). `None` on Unix,
/// where [`group_or_other_bits`] answers.
pub fn others_allowed(path: &Path) -> io::Result<Option<usize>> {
    os::others_allowed(path)
}

/// Refuses a secrets file whose access control list lets another account open it (Windows:
/// any entry for anyone but the user, SYSTEM and Administrators), with the command that fixes it
/// (`what` names the file). On Unix it accepts everything: there each caller checks the mode
/// bits by its own rule (0600 for the token and the audit key, 0440 allowed for a shared
/// sealing key).
pub fn ensure_acl_private(path: &Path, what: &str) -> Result<(), String> {
    match others_allowed(path) {
        Ok(Some(n)) if n > 0 => Err(format!(
            "{what} {} may be opened by other accounts (its access list has {} entr{} for them); \
             run `icacls \"{}\" /inheritance:r /grant:r \"%USERNAME%\":F`",
            path.display(),
            if n == usize::MAX {
                "no list: every".to_string()
            } else {
                n.to_string()
            },
            if n == 1 { "y" } else { "ies" },
            path.display()
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "cannot read the access list of {what} {}: {e}",
            path.display()
        )),
    }
}

/// Reads exactly `buf.len()` bytes at `offset`; an early end of file is `UnexpectedEof`.
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match os::read_at(file, buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file ended early",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`, without the file's cursor mattering.
pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match os::write_at(file, buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "nothing was written",
                ));
            }
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bytes free for an unprivileged user on the file system holding `file`; `None` where not
/// measured (Windows).
pub fn free_bytes(file: &File) -> io::Result<Option<u64>> {
    os::free_bytes(file)
}

/// Sends everything later written to stderr to `file` (the `--log-file` option). On Windows it
/// is refused with a message: the standard handle cannot be replaced without Win32 calls.
pub fn redirect_stderr(file: &File) -> io::Result<()> {
    os::redirect_stderr(file)
}

/// A directory, opened once, in which files are opened by name (on Unix relative to its
/// descriptor, so renaming the directory's path later changes nothing).
#[derive(Debug)]
pub struct DirHandle {
    path: PathBuf,
    inner: os::Dir,
}

/// How [`DirHandle::open_file`] opens a file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub append: bool,
    pub create_new: bool,
}

impl DirHandle {
    /// Opens the directory `path` (not through a final symlink).
    pub fn open(path: &Path) -> io::Result<DirHandle> {
        Ok(DirHandle {
            path: path.to_path_buf(),
            inner: os::Dir::open(path)?,
        })
    }

    /// Opens `name` in the directory: never through a symlink, created private when
    /// `create_new`.
    pub fn open_file(&self, name: &str, how: Access) -> io::Result<File> {
        let file = self.inner.open_file(&self.path, name, how)?;
        refuse_link(&file, &self.path.join(name))?;
        Ok(file)
    }

    /// Makes the directory's entries durable (a new or renamed file): `fsync` on Unix; a no-op on
    /// Windows (see the crate documentation).
    pub fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_state_directory_is_the_platform_s() {
        #[cfg(windows)]
        {
            let e = env(&[
                ("LOCALAPPDATA", r"C:\Users\o\AppData\Local"),
                ("HOME", r"C:\h"),
            ]);
            assert_eq!(
                state_dir(&e).unwrap(),
                PathBuf::from(r"C:\Users\o\AppData\Local\portcullis")
            );
            assert_eq!(state_dir(&env(&[("LOCALAPPDATA", "relative")])), None);
            assert_eq!(
                home_dir(&env(&[("USERPROFILE", r"C:\Users\o")])),
                Some(PathBuf::from(r"C:\Users\o"))
            );
        }
        #[cfg(unix)]
        {
            let e = env(&[("HOME", "/home/o"), ("XDG_STATE_HOME", "/state")]);
            assert_eq!(state_dir(&e).unwrap(), PathBuf::from("/state/portcullis"));
            let e = env(&[("HOME", "/home/o"), ("XDG_STATE_HOME", "relative")]);
            let home = state_dir(&e).unwrap();
            if cfg!(target_os = "macos") {
                assert_eq!(
                    home,
                    PathBuf::from("/home/o/Library/Application Support/portcullis")
                );
            } else {
                assert_eq!(home, PathBuf::from("/home/o/.local/state/portcullis"));
            }
            assert_eq!(state_dir(&env(&[])), None);
            assert_eq!(home_dir(&e), Some(PathBuf::from("/home/o")));
            assert_eq!(home_dir(&env(&[("USERPROFILE", "/u")])), None);
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("portcullis-platform-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        create_private_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn files_in_a_directory_handle_are_private_and_positioned_io_works() {
        let d = scratch("dir");
        let dir = DirHandle::open(&d).unwrap();
        let new = Access {
            read: true,
            write: true,
            append: false,
            create_new: true,
        };
        let f = dir.open_file("a", new).unwrap();
        write_all_at(&f, b"hello world", 0).unwrap();
        write_all_at(&f, b"W", 6).unwrap();
        let mut buf = [0u8; 5];
        read_exact_at(&f, &mut buf, 6).unwrap();
        assert_eq!(&buf, b"World");
        let mut past = [0u8; 4];
        assert_eq!(
            read_exact_at(&f, &mut past, 9).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(
            dir.open_file("a", new).is_err(),
            "create_new never reuses a file"
        );
        dir.sync().unwrap();
        let meta = f.metadata().unwrap();
        assert_eq!(group_or_other_bits(&meta).unwrap_or(0), 0);
        if cfg!(unix) {
            assert_eq!(mode_bits(&meta), Some(0o600));
            assert_eq!(owned_by_me(&meta), Some(true));
            assert_eq!(link_count(&meta), Some(1));
            assert!(free_bytes(&f).unwrap().is_some_and(|b| b > 0));
        } else {
            assert_eq!(mode_bits(&meta), None);
            assert_eq!(free_bytes(&f).unwrap(), None);
        }
        // Windows removes no open file.
        drop((f, dir));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Windows: a secrets file is created with an owner-only access list, and one others may open
    /// is refused until it is made private.
    #[cfg(windows)]
    #[test]
    fn secrets_files_have_an_owner_only_access_list() {
        let d = scratch("acl");
        assert_eq!(
            others_allowed(&d).unwrap(),
            Some(0),
            "the private directory"
        );
        let secret = d.join("key");
        let f = open_private(OpenOptions::new().write(true).create_new(true), &secret).unwrap();
        drop(f);
        assert_eq!(others_allowed(&secret).unwrap(), Some(0));
        ensure_acl_private(&secret, "the key").unwrap();

        // A file made elsewhere, with whatever list the temporary directory hands down: refused
        // exactly when the list lets another account in.
        let open =
            std::env::temp_dir().join(format!("portcullis-platform-open-{}", std::process::id()));
        std::fs::write(&open, "x").unwrap();
        let before = others_allowed(&open).unwrap().unwrap();
        match ensure_acl_private(&open, "the key") {
            Err(e) => assert!(before > 0 && e.contains("icacls"), "{before}: {e}"),
            Ok(()) => assert_eq!(before, 0),
        }
        set_private(&open).unwrap();
        assert_eq!(others_allowed(&open).unwrap(), Some(0));
        ensure_acl_private(&open, "the key").unwrap();
        std::fs::remove_file(&open).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_never_opened_through() {
        let d = scratch("link");
        std::fs::write(d.join("target"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("target"), d.join("link")).unwrap();
        let dir = DirHandle::open(&d).unwrap();
        let read = Access {
            read: true,
            ..Access::default()
        };
        assert!(dir.open_file("link", read).is_err());
        assert!(dir.open_file("target", read).is_ok());
        let opened = private_no_follow(OpenOptions::new().read(true)).open(d.join("link"));
        assert!(opened.is_err());
        assert!(DirHandle::open(&d.join("link")).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
