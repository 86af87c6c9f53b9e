//! The per-install audit key: 256 random bits in a 0600 file, used to MAC every record and the
//! head, so that someone who can write the trail but not read the key cannot rebuild the chain.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::AuditError;

type HmacSha256 = Hmac<Sha256>;

/// The audit key. Its bytes are never printed (`Debug` shows only the key id).
#[derive(Clone)]
pub struct AuditKey {
    mac: HmacSha256,
    id: String,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id={})", self.id)
    }
}

/// `audit.key` in the state directory ([`portcullis_platform::state_dir`]; on Linux
/// `$XDG_STATE_HOME/portcullis/audit.key`, or `~/.local/state/portcullis/audit.key`).
pub fn default_key_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join("audit.key"))
}

/// `audit/` in the state directory (on Linux `$XDG_STATE_HOME/portcullis/audit`, or
/// `~/.local/state/portcullis/audit`): the trail's default home.
pub fn default_audit_dir() -> Option<PathBuf> {
    state_dir().map(|d| d.join("audit"))
}

fn state_dir() -> Option<PathBuf> {
    portcullis_platform::state_dir_from_env()
}

impl AuditKey {
    /// A key from its 32 bytes (tests and embedders; the server uses [`AuditKey::load_or_create`]).
    pub fn from_bytes(bytes: &[u8; 32]) -> AuditKey {
        // HMAC accepts keys of any length, so this cannot fail; keep a fallback without panicking.
        let mac = <HmacSha256 as KeyInit>::new_from_slice(bytes)
            .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
        let mut key = AuditKey {
            mac,
            id: String::new(),
        };
        key.id = hex::encode(&key.mac_bytes(b"portcullis-audit key id")[..8]);
        key
    }

    /// A fresh random key (not saved anywhere).
    pub fn generate() -> Result<AuditKey, AuditError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            AuditError::io(
                "draw random bytes for",
                "audit key",
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(AuditKey::from_bytes(&bytes))
    }

    /// The key id: the first 8 bytes of HMAC(key, "portcullis-audit key id"), hex. Recorded in
    /// every record so `verify` can tell "another key" from "edited".
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Loads the key file, creating it (0600, 64 hex digits and a newline) if it does not exist.
    /// The parent directory is created 0700. A symlink, a non-regular file, a file with any
    /// group/other permission bit, or content that is not 64 hex digits is refused.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, AuditError> {
        match AuditKey::load(path) {
            Err(AuditError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            other => return other,
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            portcullis_platform::create_private_dir_all(parent)
                .map_err(|e| AuditError::io("create directory", parent, e))?;
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            AuditError::io(
                "draw random bytes for",
                path,
                std::io::Error::other(e.to_string()),
            )
        })?;
        // Written under a temporary name and linked into place, so the key file is never seen
        // half-written and an existing one (a concurrent start) is never replaced.
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| {
            AuditError::io(
                "draw random bytes for",
                path,
                std::io::Error::other(e.to_string()),
            )
        })?;
        let tmp = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
        let written = (|| {
            let mut file = portcullis_platform::open_private(
                std::fs::OpenOptions::new().write(true).create_new(true),
                &tmp,
            )?;
            file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())?;
            file.sync_all()?;
            std::fs::hard_link(&tmp, path)
        })();
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
                }
                Ok(AuditKey::from_bytes(&bytes))
            }
            // Someone else created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => AuditKey::load(path),
            Err(e) => Err(AuditError::io("create", path, e)),
        }
    }

    /// Loads an existing key file (same checks as [`AuditKey::load_or_create`]).
    pub fn load(path: &Path) -> Result<AuditKey, AuditError> {
        let refuse = |reason: &str| AuditError::KeyRefused {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let meta = std::fs::symlink_metadata(path).map_err(|e| AuditError::io("read", path, e))?;
        if meta.file_type().is_symlink() {
            return Err(refuse("it is a symlink"));
        }
        let mut file =
            portcullis_platform::private_no_follow(std::fs::OpenOptions::new().read(true))
                .open(path)
                .map_err(|e| AuditError::io("open", path, e))?;
        portcullis_platform::refuse_link(&file, path).map_err(|_| refuse("it is a symlink"))?;
        let meta = file
            .metadata()
            .map_err(|e| AuditError::io("stat", path, e))?;
        if !meta.is_file() {
            return Err(refuse("it is not a regular file"));
        }
        if portcullis_platform::group_or_other_bits(&meta).is_some_and(|b| b != 0) {
            return Err(refuse(&format!(
                "its mode is {:04o}; it must not be accessible by group or others (chmod 600)",
                portcullis_platform::mode_bits(&meta).unwrap_or_default()
            )));
        }
        portcullis_platform::ensure_acl_private(path, "the audit key").map_err(|m| refuse(&m))?;
        let mut text = String::new();
        Read::by_ref(&mut file)
            .take(256)
            .read_to_string(&mut text)
            .map_err(|e| AuditError::io("read", path, e))?;
        let bytes = hex::decode(text.trim_end_matches('\n'))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| refuse("it does not hold 64 hex digits"))?;
        Ok(AuditKey::from_bytes(&bytes))
    }

    pub(crate) fn mac_bytes(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    pub(crate) fn mac_hex(&self, data: &[u8]) -> String {
        hex::encode(self.mac_bytes(data))
    }

    /// Constant-time check of a hex MAC over `data`.
    pub(crate) fn verify_hex(&self, data: &[u8], mac_hex: &str) -> bool {
        let Ok(expected) = hex::decode(mac_hex) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.verify_slice(&expected).is_ok()
    }
}
