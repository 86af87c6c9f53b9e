//! A fixture for the hostile-input tests: a fresh base directory holding `work/` (the sandbox's
//! working directory) and `outside/` (with a canary file whose content must never appear in any
//! output or error), and helpers that snapshot everything outside `work/` to prove nothing was read
//! into a result or written there.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_sandbox::{FileAccessMode, Limits, RefusalKind, Sandbox, SandboxError};

static N: AtomicU64 = AtomicU64::new(0);

/// The variable that runs these tables against the portable (`cap-std`) backend on Linux
/// (`scripts/test.sh` runs them once each way; macOS and Windows have only that backend).
pub const BACKEND_ENV: &str = "PORTCULLIS_TEST_SANDBOX_BACKEND";

/// Whether this run tests the portable backend.
pub fn portable() -> bool {
    match std::env::var(BACKEND_ENV).as_deref() {
        Ok("cap-std") => true,
        Ok("openat2") | Err(_) => !cfg!(target_os = "linux"),
        Ok(other) => panic!("{BACKEND_ENV}={other}: expected cap-std or openat2"),
    }
}

/// A sandbox on the backend under test.
pub fn new_sandbox(mode: FileAccessMode, dir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
    let sb = if portable() {
        Sandbox::new_portable(mode, dir)
    } else {
        Sandbox::new(mode, dir)
    }?;
    assert_eq!(sb.backend(), if portable() { "cap-std" } else { "openat2" });
    Ok(sb)
}

pub struct Fixture {
    pub base: PathBuf,
    pub work: PathBuf,
    pub outside: PathBuf,
    pub canary: String,
}

impl Fixture {
    pub fn new() -> Fixture {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!(
            "portcullis-sandbox-test-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        let work = base.join("work");
        let outside = base.join("outside");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(outside.join("dir")).unwrap();
        let canary = format!("CANARY-{}-{n}-this-must-never-leak", std::process::id());
        std::fs::write(outside.join("canary.txt"), &canary).unwrap();
        std::fs::write(outside.join("f.txt"), &canary).unwrap();
        std::fs::write(outside.join("dir").join("inner.txt"), &canary).unwrap();
        // The canonical spelling: /tmp may itself be a symlink.
        let base = std::fs::canonicalize(&base).unwrap();
        // Windows: without the `\\?\` prefix canonicalize adds (agents write `C:\...`).
        let base = match base.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
            Some(plain) => PathBuf::from(plain),
            None => base,
        };
        let work = base.join("work");
        let outside = base.join("outside");
        Fixture {
            base,
            work,
            outside,
            canary,
        }
    }

    pub fn sandbox(&self) -> Sandbox {
        new_sandbox(FileAccessMode::Workdir, &self.work).unwrap()
    }

    pub fn sandbox_with(&self, mode: FileAccessMode, limits: Limits) -> Sandbox {
        new_sandbox(mode, &self.work).unwrap().with_limits(limits)
    }

    /// `{WD}` → the working directory, `{OUT}` → the outside directory.
    pub fn expand(&self, s: &str) -> String {
        s.replace("{WD}", &self.work.to_string_lossy())
            .replace("{OUT}", &self.outside.to_string_lossy())
    }

    pub fn file(&self, rel: &str, content: &[u8]) {
        let p = self.work.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }

    pub fn symlink(&self, rel: &str, target: &str) {
        let target = self.expand(target);
        #[cfg(unix)]
        std::os::unix::fs::symlink(target, self.work.join(rel)).unwrap();
        #[cfg(windows)]
        std::os::windows::fs::symlink_file(target, self.work.join(rel)).unwrap();
    }

    /// Everything under `base` except `work/`: type, content, link target, inode link count.
    pub fn outside_snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        snapshot(&self.base, &self.base, &mut out, Some(&self.work));
        out
    }

    pub fn work_snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        snapshot(&self.work, &self.work, &mut out, None);
        out
    }

    /// Temporary files the sandbox left anywhere under `base`.
    pub fn leftover_temps(&self) -> Vec<PathBuf> {
        let mut out = BTreeMap::new();
        snapshot(&self.base, &self.base, &mut out, None);
        out.into_keys()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".portcullis-"))
            })
            .collect()
    }

    /// Asserts that `r` is a refusal of `kind` whose message holds `fragment` and no canary.
    #[track_caller]
    pub fn refused<T: std::fmt::Debug>(
        &self,
        what: &str,
        r: Result<T, SandboxError>,
        kind: RefusalKind,
        fragment: &str,
    ) -> SandboxError {
        let e = match r {
            Ok(v) => panic!(
                "{what}: expected a {kind:?} refusal, got Ok({})",
                self.scrub(&format!("{v:?}"))
            ),
            Err(e) => e,
        };
        assert!(
            !e.message.contains(&self.canary),
            "{what}: the canary leaked into the message"
        );
        assert!(
            !e.message.contains("CANARY"),
            "{what}: file content leaked into the message: {}",
            e.message
        );
        assert_eq!(e.kind, kind, "{what}: wrong kind; message: {}", e.message);
        assert!(
            e.message.contains(fragment),
            "{what}: message {:?} lacks {fragment:?}",
            e.message
        );
        assert!(
            e.message.len() < 1200,
            "{what}: the message is {} bytes long",
            e.message.len()
        );
        e
    }

    fn scrub(&self, s: &str) -> String {
        let canary_bytes = format!("{:?}", self.canary.as_bytes());
        let canary_bytes = canary_bytes.trim_start_matches('[').trim_end_matches(']');
        if s.contains("CANARY") || s.contains(canary_bytes) {
            "<output containing the CANARY: an escape>".to_string()
        } else {
            s.chars().take(300).collect()
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // remove_dir_all does not follow symlinks.
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn snapshot(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>, skip: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if Some(p.as_path()) == skip {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
        let ft = m.file_type();
        let desc = if ft.is_symlink() {
            format!("link -> {:?}", std::fs::read_link(&p).ok())
        } else if ft.is_dir() {
            snapshot(root, &p, out, skip);
            "dir".to_string()
        } else if ft.is_file() {
            format!(
                "file {} len {} fnv {:x}",
                unix_mode_and_links(&m),
                m.len(),
                fnv(&std::fs::read(&p).unwrap_or_default())
            )
        } else {
            format!("special {}", unix_mode_and_links(&m))
        };
        out.insert(rel, desc);
    }
}

/// `mode 600 nlink 1` on Unix; nothing on Windows (no mode bits; std cannot read the link count).
fn unix_mode_and_links(m: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!("mode {:o} nlink {}", m.mode() & 0o7777, m.nlink())
    }
    #[cfg(windows)]
    {
        let _ = m;
        String::new()
    }
}

/// A content fingerprint, so that a failing comparison never prints a canary.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
