//! Hostile input against the sandbox's removal, stat and time-setting (what `aws s3 mv` from a
//! local source, `aws s3 sync --delete` into a local directory and `aws s3 sync` comparisons use):
//! every refusal is asserted by kind and message, and each test proves that nothing outside the
//! working directory was removed or changed (a snapshot), that no symlink was followed or removed,
//! and that a removal never reaches outside even while a directory is swapped for an outside
//! symlink mid-call.

// Linux only (both backends): the table is built with symlinks, FIFOs, sockets, device nodes,
// /proc magic links and renameat2's exchange; macOS and Windows run tests/portable.rs.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Fixture;
use portcullis_cli::PathPolicy;
use portcullis_sandbox::{FileAccessMode, Limits, RefusalKind as K};

fn tree(fx: &Fixture) {
    fx.file("file.txt", b"hello");
    fx.file("sub/inner.txt", b"inner");
    fx.symlink("abs_out_file", "{OUT}/canary.txt");
    fx.symlink("rel_out_file", "../outside/canary.txt");
    fx.symlink("abs_out_dir", "{OUT}");
    fx.symlink("rel_out_dir", "../outside");
    fx.symlink("sub/up_link", "../../outside");
    fx.symlink("inside_link", "file.txt");
    fx.symlink("inside_dir_link", "sub");
    fx.symlink("dangling", "../outside/nothing-here");
    fx.symlink("loop1", "loop2");
    fx.symlink("loop2", "loop1");
    fx.symlink("proc_root", "/proc/self/root");
    fx.symlink("dev_zero", "/dev/zero");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.work.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// (path, kind, message fragment) that `remove` and `set_modified` refuse.
const REFUSALS: &[(&str, K, &str)] = &[
    (
        "../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "sub/../../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "{WD}/../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "{OUT}/canary.txt",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    (
        "/etc/passwd",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    (
        "abs_out_dir/canary.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "rel_out_dir/canary.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "sub/up_link/canary.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "proc_root/etc/hostname",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("loop1/x", K::MagicLinkOrLoop, "symlink loop"),
    // A symlink as the final name is neither followed nor removed, wherever it points.
    ("abs_out_file", K::SymlinkTarget, "is a symbolic link"),
    (
        "rel_out_file",
        K::SymlinkTarget,
        "neither followed nor changed",
    ),
    ("inside_link", K::SymlinkTarget, "is a symbolic link"),
    ("inside_dir_link", K::SymlinkTarget, "is a symbolic link"),
    ("dangling", K::SymlinkTarget, "is a symbolic link"),
    ("loop1", K::SymlinkTarget, "is a symbolic link"),
    ("dev_zero", K::SymlinkTarget, "is a symbolic link"),
    ("{WD}/rel_out_file", K::SymlinkTarget, "is a symbolic link"),
    ("sub", K::IsDirectory, "is a directory"),
    ("pipe", K::NotRegularFile, "not a regular file"),
    ("missing.txt", K::NotFound, "no such file"),
    ("nodir/missing.txt", K::NotFound, "no such file"),
    ("file.txt/x", K::NotDirectory, "not a directory"),
    ("sub/", K::InvalidPath, "not a file path"),
    (".", K::InvalidPath, "not a file path"),
    ("{WD}", K::InvalidPath, "not a file path"),
    ("", K::InvalidPath, "empty"),
    ("file\0.txt", K::InvalidPath, "NUL byte"),
    ("~/file.txt", K::HomeExpansion, "`~`"),
    ("$HOME/file.txt", K::VariableExpansion, "not expanded"),
    ("C:\\file.txt", K::WindowsPath, "Windows-style"),
];

#[test]
fn remove_refuses_hostile_paths_and_touches_nothing() {
    let fx = Fixture::new();
    tree(&fx);
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let work_before = fx.work_snapshot();
    for (path, kind, fragment) in REFUSALS {
        let p = fx.expand(path);
        fx.refused(
            &format!("remove {path:?}"),
            sb.remove_file(&p),
            *kind,
            fragment,
        );
        assert_eq!(
            before,
            fx.outside_snapshot(),
            "remove {path:?} changed something outside"
        );
        assert_eq!(
            work_before,
            fx.work_snapshot(),
            "remove {path:?} changed the working directory"
        );
        // The trait says the same, as a FileError.
        assert!(
            PathPolicy::remove(&sb, &p).is_err(),
            "remove {path:?} through the trait"
        );
    }
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        fx.canary
    );
}

#[test]
fn set_modified_refuses_hostile_paths_and_changes_nothing() {
    let fx = Fixture::new();
    tree(&fx);
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let canary_mtime = std::fs::metadata(fx.outside.join("canary.txt"))
        .unwrap()
        .mtime();
    let file_mtime = std::fs::metadata(fx.work.join("file.txt")).unwrap().mtime();
    for (path, kind, fragment) in REFUSALS {
        let p = fx.expand(path);
        fx.refused(
            &format!("set_modified {path:?}"),
            sb.set_modified_time(&p, 86_400),
            *kind,
            fragment,
        );
    }
    assert_eq!(before, fx.outside_snapshot());
    // Neither what the symlinks point to, nor the links themselves, got the time.
    assert_eq!(
        std::fs::metadata(fx.outside.join("canary.txt"))
            .unwrap()
            .mtime(),
        canary_mtime
    );
    assert_eq!(
        std::fs::metadata(fx.work.join("file.txt")).unwrap().mtime(),
        file_mtime
    );
    assert_ne!(
        std::fs::symlink_metadata(fx.work.join("inside_link"))
            .unwrap()
            .mtime(),
        86_400
    );
}

#[test]
fn remove_inside_removes_that_name_only() {
    let fx = Fixture::new();
    tree(&fx);
    fx.file("a.txt", b"a");
    fx.file("deep/er/b.txt", b"b");
    fx.file("c.txt", b"c");
    fx.file("twice", b"shared");
    std::fs::hard_link(fx.work.join("twice"), fx.work.join("sub/twice2")).unwrap();
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    sb.remove_file("a.txt").unwrap();
    assert!(!fx.work.join("a.txt").exists());
    // Parent directories are left in place, as the AWS CLI leaves them.
    sb.remove_file("./deep/er/b.txt").unwrap();
    assert!(fx.work.join("deep/er").is_dir());
    // An absolute path inside the working directory.
    sb.remove_file(&fx.expand("{WD}/c.txt")).unwrap();
    assert!(!fx.work.join("c.txt").exists());
    // A parent symlink that stays inside is resolved like a write's.
    sb.remove_file("inside_dir_link/inner.txt").unwrap();
    assert!(!fx.work.join("sub/inner.txt").exists());
    // One name of a hard-linked file: the other keeps the content.
    sb.remove_file("twice").unwrap();
    assert_eq!(
        std::fs::read(fx.work.join("sub/twice2")).unwrap(),
        b"shared"
    );
    // The symlink that pointed at file.txt is untouched; removing the file leaves it dangling.
    sb.remove_file("file.txt").unwrap();
    assert!(
        std::fs::symlink_metadata(fx.work.join("inside_link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Gone is gone: a second removal says so.
    fx.refused(
        "again",
        sb.remove_file("a.txt"),
        K::NotFound,
        "no such file",
    );
    assert_eq!(before, fx.outside_snapshot());
}

#[test]
fn stat_and_set_modified_inside() {
    let fx = Fixture::new();
    tree(&fx);
    let sb = fx.sandbox();
    let st = sb.stat_file("sub/inner.txt").unwrap();
    assert_eq!(st.size, 5);
    let meta = std::fs::metadata(fx.work.join("sub/inner.txt")).unwrap();
    assert_eq!(
        (st.modified_secs, i64::from(st.modified_nanos)),
        (meta.mtime(), meta.mtime_nsec())
    );
    sb.set_modified_time("sub/inner.txt", 1_700_000_000)
        .unwrap();
    let st = PathPolicy::stat(&sb, "sub/inner.txt").unwrap();
    assert_eq!((st.modified_secs, st.modified_nanos), (1_700_000_000, 0));
    assert_eq!(
        std::fs::metadata(fx.work.join("sub/inner.txt"))
            .unwrap()
            .mtime(),
        1_700_000_000
    );
    PathPolicy::set_modified(&sb, "file.txt", 0).unwrap();
    assert_eq!(
        std::fs::metadata(fx.work.join("file.txt")).unwrap().mtime(),
        0
    );
    // stat reaches a file as a read does: a symlink staying inside is followed, one leading out
    // is not, and directories and special files are not files.
    assert_eq!(sb.stat_file("inside_link").unwrap().size, 5);
    fx.refused(
        "stat out",
        sb.stat_file("abs_out_file"),
        K::SymlinkOutside,
        "symlink pointing outside",
    );
    fx.refused(
        "stat out",
        sb.stat_file("rel_out_dir/canary.txt"),
        K::SymlinkOutside,
        "symlink pointing outside",
    );
    fx.refused(
        "stat escape",
        sb.stat_file("../outside/canary.txt"),
        K::Escapes,
        "escapes",
    );
    fx.refused(
        "stat dir",
        sb.stat_file("sub"),
        K::IsDirectory,
        "is a directory",
    );
    fx.refused(
        "stat missing",
        sb.stat_file("nope"),
        K::NotFound,
        "no such file",
    );
}

#[test]
fn stat_of_a_fifo_is_refused_without_blocking() {
    let fx = Fixture::new();
    tree(&fx);
    let sb = Arc::new(fx.sandbox());
    let (tx, rx) = std::sync::mpsc::channel();
    let s = Arc::clone(&sb);
    std::thread::spawn(move || {
        let _ = tx.send((
            s.stat_file("pipe"),
            s.remove_file("pipe"),
            s.set_modified_time("pipe", 1),
        ));
    });
    let (stat, remove, time) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a FIFO blocked");
    fx.refused("stat fifo", stat, K::NotRegularFile, "FIFO");
    fx.refused("remove fifo", remove, K::NotRegularFile, "FIFO");
    fx.refused("time fifo", time, K::NotRegularFile, "FIFO");
    assert!(fx.work.join("pipe").exists());
}

#[test]
fn no_access_refuses_and_unrestricted_still_never_removes_a_symlink() {
    let fx = Fixture::new();
    tree(&fx);
    let before = fx.outside_snapshot();
    let work_before = fx.work_snapshot();
    let sb = common::new_sandbox(FileAccessMode::NoAccess, &fx.work).unwrap();
    for p in [
        "file.txt",
        "{WD}/file.txt",
        "{OUT}/canary.txt",
        "abs_out_file",
    ] {
        let p = fx.expand(p);
        fx.refused("remove", sb.remove_file(&p), K::Disabled, "no-access");
        fx.refused("stat", sb.stat_file(&p), K::Disabled, "no-access");
        fx.refused(
            "time",
            sb.set_modified_time(&p, 1),
            K::Disabled,
            "no-access",
        );
    }
    assert_eq!(before, fx.outside_snapshot());
    assert_eq!(work_before, fx.work_snapshot());

    let sb = fx.sandbox_with(FileAccessMode::Unrestricted, Limits::default());
    for p in [
        "abs_out_file",
        "rel_out_file",
        "{OUT}/../work/rel_out_file",
        "dangling",
    ] {
        let p = fx.expand(p);
        fx.refused(
            "unrestricted remove link",
            sb.remove_file(&p),
            K::SymlinkTarget,
            "is a symbolic link",
        );
    }
    fx.refused(
        "unrestricted remove dir",
        sb.remove_file(&fx.expand("{OUT}/dir")),
        K::IsDirectory,
        "is a directory",
    );
    assert_eq!(before, fx.outside_snapshot());
    // Unrestricted means what it says for a plain file given by its absolute path.
    std::fs::write(fx.outside.join("scratch.txt"), b"x").unwrap();
    sb.remove_file(&fx.expand("{OUT}/scratch.txt")).unwrap();
    assert!(!fx.outside.join("scratch.txt").exists());
}

#[test]
fn race_swapping_a_directory_for_an_outside_symlink_never_removes_outside() {
    let fx = Fixture::new();
    let work = fx.work.clone();
    std::fs::create_dir(work.join("race")).unwrap();
    std::fs::write(work.join("race/canary.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink(&fx.outside, work.join("race-evil")).unwrap();
    let sb = Arc::new(fx.sandbox());
    let before = fx.outside_snapshot();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let swapper = std::thread::spawn(move || {
        let dir = rustix::fs::open(
            &work,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let mut swaps = 0usize;
        while !flag.load(Ordering::Relaxed) {
            rustix::fs::renameat_with(
                &dir,
                "race",
                &dir,
                "race-evil",
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .unwrap();
            swaps += 1;
        }
        swaps
    });
    let (mut removed, mut refused) = (0, 0);
    let mut unexpected = Vec::new();
    for i in 0..2000 {
        // The inside file comes back in the real directory, wherever it is now (opened without
        // following a symlink, so that the test itself never writes outside).
        for d in ["race", "race-evil"] {
            let flags = rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::NOFOLLOW;
            if let Ok(dir) = rustix::fs::open(fx.work.join(d), flags, rustix::fs::Mode::empty()) {
                let create = rustix::fs::OFlags::WRONLY
                    | rustix::fs::OFlags::CREATE
                    | rustix::fs::OFlags::NOFOLLOW;
                let _ = rustix::fs::openat(
                    &dir,
                    "canary.txt",
                    create,
                    rustix::fs::Mode::from_raw_mode(0o600),
                );
            }
        }
        let path = if i % 2 == 0 {
            "race/canary.txt"
        } else {
            "race/../race/canary.txt"
        };
        match sb.remove_file(path) {
            Ok(()) => removed += 1,
            Err(e)
                if !e.message.contains("CANARY")
                    && matches!(
                        e.kind,
                        K::SymlinkOutside | K::NotFound | K::Busy | K::NotDirectory
                    ) =>
            {
                refused += 1
            }
            Err(e) => unexpected.push(format!("{e:?}")),
        }
        if std::fs::read_to_string(fx.outside.join("canary.txt"))
            .ok()
            .as_deref()
            != Some(fx.canary.as_str())
        {
            unexpected.push("an outside file was removed or changed".into());
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert_eq!(
        before,
        fx.outside_snapshot(),
        "a removal escaped the working directory"
    );
    assert!(swaps > 0, "the swapper never ran");
    assert!(
        removed > 0 && refused > 0,
        "the race was not exercised ({removed} removed, {refused} refused, {swaps} swaps)"
    );
}
