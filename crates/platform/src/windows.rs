//! Windows.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::Access;

/// Opens a symlink or junction itself instead of what it points to.
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
/// Needed to open a directory handle.
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;

pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    crate::windows_acl::restrict_to_owner(dir, true)
}

pub(crate) fn private_no_follow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
}

pub(crate) fn group_or_other_bits(_meta: &Metadata) -> Option<u32> {
    None
}

pub(crate) fn mode_bits(_meta: &Metadata) -> Option<u32> {
    None
}

pub(crate) fn owned_by_me(_meta: &Metadata) -> Option<bool> {
    None
}

pub(crate) fn link_count(_meta: &Metadata) -> Option<u64> {
    None
}

pub(crate) fn set_private(path: &Path) -> io::Result<()> {
    crate::windows_acl::restrict_to_owner(path, false)
}

pub(crate) fn others_allowed(path: &Path) -> io::Result<Option<usize>> {
    crate::windows_acl::others_allowed(path).map(Some)
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

pub(crate) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.seek_write(buf, offset)
}

pub(crate) fn free_bytes(_file: &File) -> io::Result<Option<u64>> {
    Ok(None)
}

pub(crate) fn redirect_stderr(_file: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "on Windows the logs cannot be moved to a file from inside the process; redirect stderr where the server is started (2> file)",
    ))
}

#[derive(Debug)]
pub(crate) struct Dir;

impl Dir {
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)?;
        let meta = dir.metadata()?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a directory (or is a link or junction)",
                    path.display()
                ),
            ));
        }
        Ok(Dir)
    }

    pub(crate) fn open_file(&self, path: &Path, name: &str, how: Access) -> io::Result<File> {
        let full: PathBuf = path.join(name);
        let mut opts = OpenOptions::new();
        opts.read(how.read)
            .write(how.write && !how.append)
            .append(how.append)
            .create_new(how.create_new)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
        let file = opts.open(&full)?;
        if how.create_new {
            crate::windows_acl::restrict_to_owner(&full, false)?;
        }
        Ok(file)
    }

    pub(crate) fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}
