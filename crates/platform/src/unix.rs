//! Linux and macOS.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::Access;

pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub(crate) fn private_no_follow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.mode(0o600)
        .custom_flags((OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32)
}

pub(crate) fn group_or_other_bits(meta: &Metadata) -> Option<u32> {
    Some(meta.mode() & 0o077)
}

pub(crate) fn mode_bits(meta: &Metadata) -> Option<u32> {
    Some(meta.mode() & 0o7777)
}

pub(crate) fn owned_by_me(meta: &Metadata) -> Option<bool> {
    Some(meta.uid() == rustix::process::geteuid().as_raw())
}

pub(crate) fn link_count(meta: &Metadata) -> Option<u64> {
    Some(meta.nlink())
}

pub(crate) fn set_private(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

pub(crate) fn others_allowed(_path: &Path) -> io::Result<Option<usize>> {
    Ok(None)
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

pub(crate) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.write_at(buf, offset)
}

pub(crate) fn free_bytes(file: &File) -> io::Result<Option<u64>> {
    let vfs = rustix::fs::fstatvfs(file)?;
    Ok(Some(vfs.f_bavail.saturating_mul(vfs.f_frsize)))
}

pub(crate) fn redirect_stderr(file: &File) -> io::Result<()> {
    Ok(rustix::stdio::dup2_stderr(file)?)
}

#[derive(Debug)]
pub(crate) struct Dir(OwnedFd);

impl Dir {
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        Ok(Dir(rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?))
    }

    pub(crate) fn open_file(&self, _path: &Path, name: &str, how: Access) -> io::Result<File> {
        let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        flags |= match (how.read, how.write || how.append) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if how.append {
            flags |= OFlags::APPEND;
        }
        if how.create_new {
            flags |= OFlags::CREATE | OFlags::EXCL;
        }
        let fd = rustix::fs::openat(&self.0, name, flags, Mode::from_raw_mode(0o600))?;
        Ok(File::from(fd))
    }

    pub(crate) fn sync(&self) -> io::Result<()> {
        Ok(rustix::fs::fsync(&self.0)?)
    }
}
