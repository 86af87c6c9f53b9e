//! Hostile input against the workdir sandbox: every refusal is asserted by kind and message, and
//! each test proves that nothing outside the working directory was read into a result or an error
//! (a canary) or written (a snapshot). Linux only, as the sandbox is; nothing is skipped.

// Linux only (both backends): the table is built with symlinks, FIFOs, sockets, device nodes,
// /proc magic links and renameat2's exchange; macOS and Windows run tests/portable.rs.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Fixture;
use portcullis_cli::{FileUse, PathPolicy};
use portcullis_sandbox::{FileAccessMode, Limits, NO_ACCESS_MESSAGE, RefusalKind as K};

/// The working directory every table below runs against.
fn hostile_tree(fx: &Fixture) {
    fx.file("file.txt", b"hello");
    fx.file("sub/inner.txt", b"inner");
    fx.symlink("abs_out_file", "{OUT}/canary.txt");
    fx.symlink("rel_out_file", "../outside/canary.txt");
    fx.symlink("abs_out_dir", "{OUT}");
    fx.symlink("rel_out_dir", "../outside");
    fx.symlink("chain1", "chain2");
    fx.symlink("chain2", "sub/chain3");
    fx.symlink("sub/chain3", "../../outside/canary.txt");
    fx.symlink("loop1", "loop2");
    fx.symlink("loop2", "loop1");
    fx.symlink("proc_root", "/proc/self/root");
    fx.symlink("proc_fd", "/proc/self/fd/0");
    fx.symlink("rel_proc", "../../../../../../../../../../proc/self/root");
    fx.symlink("dev_zero", "/dev/zero");
    fx.symlink("rel_dev_zero", "../../../../../../../../../../dev/zero");
    fx.symlink("sub/up_link", "../../outside");
    fx.symlink("inside_link", "file.txt");
    fx.symlink("inside_dir_link", "sub");
    fx.symlink("abs_inside_link", "{WD}/file.txt");
    fx.symlink("dangling_rel", "../outside/created-through-dangling");
    fx.symlink("dangling_abs", "{OUT}/created-through-dangling");
    std::fs::hard_link(fx.outside.join("canary.txt"), fx.work.join("hard")).unwrap();
    fx.file("hard_inside", b"twice");
    std::fs::hard_link(
        fx.work.join("hard_inside"),
        fx.work.join("sub/hard_inside2"),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.work.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(fx.work.join("sock")).unwrap();
}

/// (path, kind, message fragment) refused by read and by check.
const READ_REFUSALS: &[(&str, K, &str)] = &[
    (
        "../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    ("..", K::Escapes, "escapes the working directory"),
    (
        "../../../../../../etc/passwd",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "a/../../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "./../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "sub/../../outside/canary.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    ("sub/./../..", K::Escapes, "escapes the working directory"),
    (
        "sub/inner.txt/../../../outside/f.txt",
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
    ("/", K::OutsideWorkdir, "is outside the working directory"),
    (
        "{WD}x/file.txt",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    (
        "/proc/self/root/etc/hostname",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    ("~", K::HomeExpansion, "`~`"),
    ("~/file.txt", K::HomeExpansion, "`~`"),
    ("~root/x", K::HomeExpansion, "is not expanded"),
    ("$HOME/x", K::VariableExpansion, "not expanded"),
    ("${HOME}", K::VariableExpansion, "not expanded"),
    ("sub/$HOME", K::VariableExpansion, "not expanded"),
    ("$(id)", K::VariableExpansion, "not expanded"),
    (
        "abs_out_file",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "rel_out_file",
        K::SymlinkOutside,
        "symlink pointing outside",
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
        "rel_out_dir/dir/inner.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("chain1", K::SymlinkOutside, "symlink pointing outside"),
    (
        "proc_root/etc/hostname",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("proc_fd", K::SymlinkOutside, "symlink pointing outside"),
    (
        "rel_proc/etc/hostname",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("dev_zero", K::SymlinkOutside, "symlink pointing outside"),
    (
        "rel_dev_zero",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "sub/up_link/canary.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "{WD}/abs_out_file",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "{WD}/sub/up_link/f.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("abs_inside_link", K::SymlinkOutside, "absolute symlink"),
    (
        "dangling_rel",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "dangling_abs",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("loop1", K::MagicLinkOrLoop, "symlink loop"),
    ("hard", K::HardLink, "hard links"),
    (
        "hard_inside",
        K::HardLink,
        "another link to the same file may be outside",
    ),
    ("sub/hard_inside2", K::HardLink, "hard links"),
    ("pipe", K::NotRegularFile, "FIFO"),
    ("sock", K::NotRegularFile, "not a regular file"),
    ("sub", K::IsDirectory, "is a directory"),
    (".", K::IsDirectory, "is a directory"),
    ("{WD}", K::IsDirectory, "is a directory"),
    ("inside_dir_link", K::IsDirectory, "is a directory"),
    ("", K::InvalidPath, "empty"),
    (
        "file.txt\0../../outside/canary.txt",
        K::InvalidPath,
        "NUL byte",
    ),
    ("C:\\Windows\\win.ini", K::WindowsPath, "Windows-style"),
    ("c:/x", K::WindowsPath, "Windows-style"),
    ("sub\\inner.txt", K::WindowsPath, "Windows-style"),
    ("\\\\server\\share\\x", K::WindowsPath, "Windows-style"),
    ("missing.txt", K::NotFound, "no such file"),
    ("nodir/missing.txt", K::NotFound, "no such file"),
    ("file.txt/x", K::NotDirectory, "not a directory"),
];

#[test]
fn read_and_check_refuse_hostile_paths() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let work_before = fx.work_snapshot();
    for (path, kind, fragment) in READ_REFUSALS {
        let p = fx.expand(path);
        fx.refused(&format!("read {path:?}"), sb.read_file(&p), *kind, fragment);
        fx.refused(
            &format!("check {path:?}"),
            sb.check_file(&p),
            *kind,
            fragment,
        );
        // Through the trait, as the engine calls it: the same message.
        let e = PathPolicy::read(&sb, &p, FileUse::ParamText).unwrap_err();
        assert!(
            e.0.contains(fragment) && !e.0.contains(&fx.canary),
            "trait read {path:?}: {}",
            e.0
        );
    }
    assert_eq!(
        before,
        fx.outside_snapshot(),
        "something outside the working directory changed"
    );
    assert_eq!(
        work_before,
        fx.work_snapshot(),
        "reads changed the working directory"
    );
}

#[test]
fn refusal_table_has_the_promised_breadth() {
    // The hostile tables below and above: keep the suite honest about its size.
    assert!(READ_REFUSALS.len() + WRITE_REFUSALS.len() + LIST_REFUSALS.len() >= 90);
}

#[test]
fn reads_inside_succeed() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    fx.file("données/ファイル 名.txt", b"unicode");
    fx.file("with space.txt", b"space");
    fx.file("new\nline.txt", b"newline");
    fx.file("dollar$.txt", b"dollar");
    fx.file("a~b", b"tilde inside");
    let sb = fx.sandbox();
    for (path, want) in [
        ("file.txt", &b"hello"[..]),
        ("./file.txt", b"hello"),
        ("sub/inner.txt", b"inner"),
        ("sub/../file.txt", b"hello"),
        ("sub//inner.txt", b"inner"),
        ("{WD}/file.txt", b"hello"),
        ("{WD}/sub/inner.txt", b"inner"),
        ("inside_link", b"hello"),
        ("inside_dir_link/inner.txt", b"inner"),
        ("données/ファイル 名.txt", b"unicode"),
        ("with space.txt", b"space"),
        ("new\nline.txt", b"newline"),
        ("dollar$.txt", b"dollar"),
        ("a~b", b"tilde inside"),
    ] {
        let p = fx.expand(path);
        assert_eq!(
            sb.read_file(&p)
                .unwrap_or_else(|e| panic!("read {path:?}: {e}")),
            want,
            "{path:?}"
        );
        assert_eq!(
            sb.check_file(&p)
                .unwrap_or_else(|e| panic!("check {path:?}: {e}")),
            want.len() as u64,
            "{path:?}"
        );
        assert_eq!(
            PathPolicy::read(&sb, &p, FileUse::ParamBytes).unwrap(),
            want
        );
    }
}

#[test]
fn absolute_paths_through_the_configured_spelling_of_a_symlinked_workdir() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    std::os::unix::fs::symlink(&fx.work, fx.base.join("work-link")).unwrap();
    let sb = common::new_sandbox(FileAccessMode::Workdir, fx.base.join("work-link")).unwrap();
    assert_eq!(sb.workdir(), fx.work.as_path(), "the workdir is canonical");
    assert_eq!(
        sb.read_file(&format!("{}/work-link/file.txt", fx.base.display()))
            .unwrap(),
        b"hello"
    );
    assert_eq!(
        sb.read_file(&format!("{}/file.txt", fx.work.display()))
            .unwrap(),
        b"hello"
    );
    fx.refused(
        "via link ..",
        sb.read_file(&format!(
            "{}/work-link/../outside/canary.txt",
            fx.base.display()
        )),
        K::Escapes,
        "escapes",
    );
}

#[test]
fn fifo_is_refused_without_blocking() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = Arc::new(fx.sandbox());
    let (tx, rx) = std::sync::mpsc::channel();
    let s = Arc::clone(&sb);
    std::thread::spawn(move || {
        let _ = tx.send((
            s.read_file("pipe"),
            s.check_file("pipe"),
            s.write_file("pipe", b"x"),
        ));
    });
    let (read, check, write) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("reading a FIFO blocked");
    fx.refused("read fifo", read, K::NotRegularFile, "FIFO");
    fx.refused("check fifo", check, K::NotRegularFile, "FIFO");
    fx.refused("write fifo", write, K::NotRegularFile, "not a regular file");
}

#[test]
fn device_node_inside_the_workdir_is_refused() {
    // The tests run as root (as CI does): a real /dev/zero-like node beneath the working directory.
    let fx = Fixture::new();
    let dev = rustix::fs::makedev(1, 5);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.work.join("zero"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o600),
        dev,
    )
    .expect("mknod (the suite needs root, as CI has)");
    let sb = fx.sandbox();
    fx.refused(
        "read device",
        sb.read_file("zero"),
        K::NotRegularFile,
        "character device",
    );
    fx.refused(
        "check device",
        sb.check_file("zero"),
        K::NotRegularFile,
        "character device",
    );
    fx.refused(
        "write device",
        sb.write_file("zero", b"x"),
        K::NotRegularFile,
        "not a regular file",
    );
}

#[test]
fn magic_links_are_not_followed_even_from_proc() {
    // A working directory inside /proc: its entries are magic links, which RESOLVE_NO_MAGICLINKS
    // (and RESOLVE_BENEATH) refuse, though they are "beneath" it.
    let sb = common::new_sandbox(FileAccessMode::Workdir, "/proc/self").unwrap();
    for path in ["root/etc/hostname", "cwd/Cargo.toml", "fd/0", "exe", "root"] {
        let e = sb.read_file(path).expect_err(path);
        assert!(
            matches!(e.kind, K::MagicLinkOrLoop | K::SymlinkOutside),
            "{path}: {e:?}"
        );
        assert!(
            e.message.contains("magic link") || e.message.contains("symlink pointing outside"),
            "{path}: {e:?}"
        );
    }
    assert!(!sb.is_directory("root"));
    assert!(!sb.is_directory("cwd"));
}

#[test]
fn oversized_files_are_refused_at_the_limit_plus_one() {
    let fx = Fixture::new();
    let limits = Limits {
        max_read_bytes: 100,
        ..Limits::default()
    };
    fx.file("at_limit", &[b'a'; 100]);
    fx.file("over_limit", &[b'a'; 101]);
    let sb = fx.sandbox_with(FileAccessMode::Workdir, limits);
    assert_eq!(sb.read_file("at_limit").unwrap().len(), 100);
    assert_eq!(sb.check_file("at_limit").unwrap(), 100);
    fx.refused(
        "read over",
        sb.read_file("over_limit"),
        K::TooLarge,
        "larger than the 100 byte read limit",
    );
    fx.refused(
        "check over",
        sb.check_file("over_limit"),
        K::TooLarge,
        "larger than the 100 byte read limit",
    );
}

#[test]
fn very_long_paths_are_refused_with_a_short_message() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    let long = "a/".repeat(2100) + "x";
    let e = fx.refused("long", sb.read_file(&long), K::TooLong, "byte path limit");
    assert!(e.message.len() < 400, "{}", e.message.len());
    fx.refused(
        "long write",
        sb.write_file(&long, b"x"),
        K::TooLong,
        "byte path limit",
    );
    fx.refused(
        "long list",
        sb.list_dir(&long),
        K::TooLong,
        "byte path limit",
    );
    let name = "n".repeat(300);
    fx.refused("long name", sb.read_file(&name), K::TooLong, "too long");
    fx.refused(
        "long name write",
        sb.write_file(&name, b"x"),
        K::TooLong,
        "too long",
    );
    let deep_escape = "../".repeat(1500);
    fx.refused(
        "deep escape",
        sb.read_file(&deep_escape),
        K::TooLong,
        "byte path limit",
    );
    assert!(fx.leftover_temps().is_empty());
}

#[test]
fn messages_escape_control_characters() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    let e = fx.refused(
        "newline",
        sb.read_file("no\nsuch\tfile"),
        K::NotFound,
        "no such file",
    );
    assert!(e.message.contains("no\\nsuch\\tfile"), "{}", e.message);
    assert!(!e.message.contains('\n'));
}

/// (path, kind, fragment) refused by write.
const WRITE_REFUSALS: &[(&str, K, &str)] = &[
    (
        "../outside/new.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    ("../new.txt", K::Escapes, "escapes the working directory"),
    (
        "a/../../outside/new.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "./../outside/new.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "{WD}/../outside/new.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "newdir/../../outside/new.txt",
        K::Escapes,
        "escapes the working directory",
    ),
    (
        "{OUT}/new.txt",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    (
        "/tmp/portcullis-sandbox-should-not-exist.txt",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    (
        "abs_out_dir/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "rel_out_dir/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "rel_out_dir/newdir/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "sub/up_link/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "sub/up_link/a/b/c/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    (
        "{WD}/rel_out_dir/new.txt",
        K::SymlinkOutside,
        "symlink pointing outside",
    ),
    ("abs_out_file", K::SymlinkTarget, "is a symbolic link"),
    (
        "rel_out_file",
        K::SymlinkTarget,
        "neither written through nor replaced",
    ),
    ("chain1", K::SymlinkTarget, "is a symbolic link"),
    ("inside_link", K::SymlinkTarget, "is a symbolic link"),
    ("loop1", K::SymlinkTarget, "is a symbolic link"),
    ("dev_zero", K::SymlinkTarget, "is a symbolic link"),
    ("proc_fd", K::SymlinkTarget, "is a symbolic link"),
    ("dangling_rel", K::SymlinkTarget, "is a symbolic link"),
    ("dangling_abs", K::SymlinkTarget, "is a symbolic link"),
    ("{WD}/dangling_rel", K::SymlinkTarget, "is a symbolic link"),
    ("loop1/new.txt", K::MagicLinkOrLoop, "symlink loop"),
    ("~/new.txt", K::HomeExpansion, "`~`"),
    ("~root/.ssh/authorized_keys", K::HomeExpansion, "`~`"),
    ("$HOME/new.txt", K::VariableExpansion, "not expanded"),
    ("${TMPDIR}/new.txt", K::VariableExpansion, "not expanded"),
    ("", K::InvalidPath, "empty"),
    ("new\0.txt", K::InvalidPath, "NUL byte"),
    ("sub/", K::InvalidPath, "not a file path"),
    (".", K::InvalidPath, "not a file path"),
    ("sub/..", K::InvalidPath, "not a file path"),
    ("{WD}", K::InvalidPath, "not a file path"),
    ("sub", K::IsDirectory, "is a directory"),
    ("inside_dir_link", K::SymlinkTarget, "is a symbolic link"),
    ("pipe", K::NotRegularFile, "not a regular file"),
    ("sock", K::NotRegularFile, "not a regular file"),
    ("file.txt/new.txt", K::NotDirectory, "not a directory"),
    ("C:\\new.txt", K::WindowsPath, "Windows-style"),
];

#[test]
fn writes_refuse_hostile_paths_and_touch_nothing() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let work_before = fx.work_snapshot();
    for (path, kind, fragment) in WRITE_REFUSALS {
        let p = fx.expand(path);
        fx.refused(
            &format!("write {path:?}"),
            sb.write_file(&p, b"PAYLOAD"),
            *kind,
            fragment,
        );
        assert_eq!(
            before,
            fx.outside_snapshot(),
            "write {path:?} changed something outside"
        );
        assert_eq!(
            work_before,
            fx.work_snapshot(),
            "write {path:?} changed the working directory"
        );
    }
    assert!(fx.leftover_temps().is_empty(), "{:?}", fx.leftover_temps());
    assert!(!std::path::Path::new("/tmp/portcullis-sandbox-should-not-exist.txt").exists());
    // The symlinks' targets are untouched.
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        fx.canary
    );
    assert_eq!(
        std::fs::read_to_string(fx.work.join("file.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn write_creates_parents_and_replaces_whole() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    sb.write_file("new/deep/er/file.bin", b"first").unwrap();
    assert_eq!(
        std::fs::read(fx.work.join("new/deep/er/file.bin")).unwrap(),
        b"first"
    );
    let meta = std::fs::metadata(fx.work.join("new/deep/er/file.bin")).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "new files are private"
    );
    assert!(
        std::fs::metadata(fx.work.join("new/deep"))
            .unwrap()
            .is_dir()
    );
    // Replacing keeps the existing file's mode, and the content is replaced whole.
    std::fs::set_permissions(
        fx.work.join("new/deep/er/file.bin"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let old_ino = meta.ino();
    sb.write_file("new/deep/er/file.bin", b"second, longer content")
        .unwrap();
    let meta = std::fs::metadata(fx.work.join("new/deep/er/file.bin")).unwrap();
    assert_eq!(
        std::fs::read(fx.work.join("new/deep/er/file.bin")).unwrap(),
        b"second, longer content"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    assert_ne!(
        meta.ino(),
        old_ino,
        "replaced by rename, not rewritten in place"
    );
    sb.write_file("new/deep/er/file.bin", b"").unwrap();
    assert_eq!(
        std::fs::read(fx.work.join("new/deep/er/file.bin")).unwrap(),
        b""
    );
    // Absolute inside, `./`, `..` that stays inside, unicode and odd names.
    sb.write_file(&format!("{}/abs.txt", fx.work.display()), b"abs")
        .unwrap();
    sb.write_file("./dot.txt", b"dot").unwrap();
    sb.write_file("new/../up.txt", b"up").unwrap();
    sb.write_file("données/ファイル 名.txt", b"u").unwrap();
    sb.write_file("new\nline.txt", b"n").unwrap();
    for (p, want) in [
        ("abs.txt", &b"abs"[..]),
        ("dot.txt", b"dot"),
        ("up.txt", b"up"),
        ("données/ファイル 名.txt", b"u"),
        ("new\nline.txt", b"n"),
    ] {
        assert_eq!(std::fs::read(fx.work.join(p)).unwrap(), want, "{p}");
    }
    // Through a symlinked directory that stays inside.
    fx.symlink("dirlink", "new/deep");
    sb.write_file("dirlink/via-link.txt", b"via").unwrap();
    assert_eq!(
        std::fs::read(fx.work.join("new/deep/via-link.txt")).unwrap(),
        b"via"
    );
    assert!(fx.leftover_temps().is_empty(), "{:?}", fx.leftover_temps());
    // Through the trait.
    PathPolicy::write(&sb, "trait.txt", b"t").unwrap();
    assert_eq!(std::fs::read(fx.work.join("trait.txt")).unwrap(), b"t");
}

#[test]
fn write_over_a_hard_link_replaces_the_name_not_the_shared_file() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = fx.sandbox();
    sb.write_file("hard", b"replaced").unwrap();
    assert_eq!(std::fs::read(fx.work.join("hard")).unwrap(), b"replaced");
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        fx.canary,
        "the outside file is untouched"
    );
    assert_eq!(
        std::fs::metadata(fx.outside.join("canary.txt"))
            .unwrap()
            .nlink(),
        1
    );
    // Now a single link: readable.
    assert_eq!(sb.read_file("hard").unwrap(), b"replaced");
}

#[test]
fn write_limit_is_enforced_before_anything_is_created() {
    let fx = Fixture::new();
    let sb = fx.sandbox_with(
        FileAccessMode::Workdir,
        Limits {
            max_write_bytes: 10,
            ..Limits::default()
        },
    );
    sb.write_file("ok.txt", &[1; 10]).unwrap();
    fx.refused(
        "over",
        sb.write_file("big/over.txt", &[1; 11]),
        K::TooLarge,
        "over the 10 byte write limit",
    );
    assert!(
        !fx.work.join("big").exists(),
        "no parent directory was created for a refused write"
    );
    assert!(fx.leftover_temps().is_empty());
}

#[test]
fn readers_never_see_a_partial_write() {
    let fx = Fixture::new();
    let sb = Arc::new(fx.sandbox());
    const LEN: usize = 256 * 1024;
    sb.write_file("target.bin", &vec![b'a'; LEN]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (sb, stop) = (Arc::clone(&sb), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) || reads < 50 {
                let got = sb.read_file("target.bin").unwrap();
                assert_eq!(got.len(), LEN, "a partial file was visible");
                assert!(
                    got.iter().all(|b| *b == got[0]),
                    "a mix of two writes was visible"
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..100 {
        sb.write_file(
            "target.bin",
            &vec![if i % 2 == 0 { b'b' } else { b'c' }; LEN],
        )
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() >= 50);
    assert!(fx.leftover_temps().is_empty(), "{:?}", fx.leftover_temps());
}

#[test]
fn failed_writes_remove_their_temporary_file() {
    // The target flips between a file and a non-empty directory: some renames fail after the
    // temporary file was written; none may leave it behind.
    let fx = Fixture::new();
    let sb = Arc::new(fx.sandbox());
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, work) = (Arc::clone(&stop), fx.work.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = work.join("flip");
                let _ = std::fs::remove_file(&t);
                let _ = std::fs::create_dir(&t);
                let _ = std::fs::write(t.join("keep"), b"k");
                std::thread::yield_now();
                let _ = std::fs::remove_file(t.join("keep"));
                let _ = std::fs::remove_dir(&t);
            }
        })
    };
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..1000 {
        match sb.write_file("flip", b"data") {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(
                    matches!(
                        e.kind,
                        K::Io | K::IsDirectory | K::NotFound | K::NotDirectory
                    ),
                    "{e:?}"
                );
                failed += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    assert_eq!(ok + failed, 1000);
    assert!(fx.leftover_temps().is_empty(), "{:?}", fx.leftover_temps());
}

/// (dir, kind, fragment) refused by list.
const LIST_REFUSALS: &[(&str, K, &str)] = &[
    ("..", K::Escapes, "escapes the working directory"),
    ("../outside", K::Escapes, "escapes the working directory"),
    ("sub/../..", K::Escapes, "escapes the working directory"),
    (
        "{OUT}",
        K::OutsideWorkdir,
        "is outside the working directory",
    ),
    ("/", K::OutsideWorkdir, "is outside the working directory"),
    ("rel_out_dir", K::SymlinkOutside, "symlink pointing outside"),
    ("abs_out_dir", K::SymlinkOutside, "symlink pointing outside"),
    ("sub/up_link", K::SymlinkOutside, "symlink pointing outside"),
    ("proc_root", K::SymlinkOutside, "symlink pointing outside"),
    ("file.txt", K::NotDirectory, "is not a directory"),
    ("missing", K::NotFound, "no such file"),
    ("~", K::HomeExpansion, "`~`"),
    ("$HOME", K::VariableExpansion, "not expanded"),
    ("", K::InvalidPath, "empty"),
];

#[test]
fn list_refuses_hostile_dirs() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = fx.sandbox();
    for (dir, kind, fragment) in LIST_REFUSALS {
        let r = sb.list_dir(&fx.expand(dir));
        fx.refused(&format!("list {dir:?}"), r, *kind, fragment);
    }
}

#[test]
fn list_skips_symlinks_and_special_files() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    fx.file("sub/deeper/z.txt", b"z");
    fx.file("données/ファイル 名.txt", b"u");
    fx.file("new\nline.txt", b"n");
    let sb = fx.sandbox();
    let want = vec![
        "données/ファイル 名.txt",
        "file.txt",
        "hard",
        "hard_inside",
        "new\nline.txt",
        "sub/deeper/z.txt",
        "sub/hard_inside2",
        "sub/inner.txt",
    ];
    assert_eq!(sb.list_dir(".").unwrap(), want);
    assert_eq!(sb.list_dir(&fx.work.to_string_lossy()).unwrap(), want);
    assert_eq!(PathPolicy::list(&sb, "./").unwrap(), want);
    assert_eq!(
        sb.list_dir("sub").unwrap(),
        vec!["deeper/z.txt", "hard_inside2", "inner.txt"]
    );
    // A symlinked directory that stays inside may be named as the root of a listing.
    assert_eq!(
        sb.list_dir("inside_dir_link").unwrap(),
        vec!["deeper/z.txt", "hard_inside2", "inner.txt"]
    );
}

#[test]
fn list_is_bounded() {
    let fx = Fixture::new();
    for i in 0..6 {
        fx.file(&format!("d/f{i}"), b"x");
    }
    let mut deep = String::from("deep");
    for _ in 0..5 {
        deep.push_str("/n");
    }
    fx.file(&format!("{deep}/leaf"), b"x");
    let sb = fx.sandbox_with(
        FileAccessMode::Workdir,
        Limits {
            max_list_entries: 5,
            max_list_depth: 3,
            ..Limits::default()
        },
    );
    fx.refused(
        "too many",
        sb.list_dir("d"),
        K::TooMany,
        "more than 5 files",
    );
    fx.refused(
        "too deep",
        sb.list_dir("deep"),
        K::TooMany,
        "deeper than 3 directories",
    );
    let sb = fx.sandbox_with(
        FileAccessMode::Workdir,
        Limits {
            max_list_entries: 6,
            max_list_depth: 6,
            ..Limits::default()
        },
    );
    assert_eq!(sb.list_dir("d").unwrap().len(), 6);
    assert_eq!(sb.list_dir("deep").unwrap(), vec!["n/n/n/n/n/leaf"]);
}

#[test]
fn is_dir_only_beneath() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = fx.sandbox();
    for (p, want) in [
        ("sub", true),
        (".", true),
        ("sub/", true),
        ("{WD}", true),
        ("{WD}/sub", true),
        ("inside_dir_link", true),
        ("file.txt", false),
        ("missing", false),
        ("rel_out_dir", false),
        ("abs_out_dir", false),
        ("sub/up_link", false),
        ("..", false),
        ("../outside", false),
        ("{OUT}", false),
        ("/", false),
        ("/tmp", false),
        ("~", false),
        ("$HOME", false),
        ("", false),
        ("proc_root", false),
    ] {
        assert_eq!(sb.is_directory(&fx.expand(p)), want, "{p}");
        assert_eq!(PathPolicy::is_dir(&sb, &fx.expand(p)), want, "{p}");
    }
}

/// Swaps `race` between a real directory and a symlink to outside (RENAME_EXCHANGE: atomic), as
/// fast as it can, until told to stop.
fn swapper(fx: &Fixture, target: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let work = fx.work.clone();
    std::fs::create_dir(work.join(target)).unwrap();
    std::fs::write(work.join(target).join("in.txt"), b"inside").unwrap();
    std::fs::write(work.join(target).join("f.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink(&fx.outside, work.join(format!("{target}-evil"))).unwrap();
    let target = target.to_string();
    std::thread::spawn(move || {
        let dir = rustix::fs::open(
            &work,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let evil = format!("{target}-evil");
        let mut swaps = 0;
        while !stop.load(Ordering::Relaxed) {
            rustix::fs::renameat_with(
                &dir,
                target.as_str(),
                &dir,
                evil.as_str(),
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .unwrap();
            swaps += 1;
        }
        swaps
    })
}

#[test]
fn race_swapping_a_directory_for_an_outside_symlink_never_escapes_reads() {
    let fx = Fixture::new();
    let sb = Arc::new(fx.sandbox());
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = swapper(&fx, "race", Arc::clone(&stop));
    let (mut ok, mut refused) = (0, 0);
    for i in 0..2000 {
        let path = if i % 2 == 0 {
            "race/f.txt"
        } else {
            "race/../race/f.txt"
        };
        match sb.read_file(path) {
            Ok(b) => {
                assert_eq!(b, b"inside", "read something other than the inside file");
                ok += 1;
            }
            Err(e) => {
                assert!(!e.message.contains("CANARY"));
                assert!(
                    matches!(e.kind, K::SymlinkOutside | K::NotFound | K::Busy),
                    "{e:?}"
                );
                refused += 1;
            }
        }
        if let Ok(n) = sb.check_file("race/f.txt") {
            assert_eq!(n, 6);
        }
        if let Ok(list) = sb.list_dir("race") {
            assert!(
                !list
                    .iter()
                    .any(|f| f == "canary.txt" || f.starts_with("dir/")),
                "listed outside: {list:?}"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swaps.join().unwrap();
    assert_eq!(ok + refused, 2000);
    assert!(swaps > 0, "the swapper never ran");
    assert!(
        refused > 0,
        "the swapper never caught a read mid-flight ({ok} ok, {swaps} swaps): the race was not exercised"
    );
}

#[test]
fn race_swapping_a_directory_for_an_outside_symlink_never_escapes_writes() {
    let fx = Fixture::new();
    let sb = Arc::new(fx.sandbox());
    let before = fx.outside_snapshot();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = swapper(&fx, "race", Arc::clone(&stop));
    let mut refused = 0;
    for i in 0..2000 {
        let path = match i % 3 {
            0 => "race/w.txt",
            1 => "race/f.txt",
            _ => "race/newdir/w.txt",
        };
        if let Err(e) = sb.write_file(path, b"PAYLOAD") {
            assert!(
                matches!(e.kind, K::SymlinkOutside | K::NotFound | K::Busy | K::Io),
                "{e:?}"
            );
            refused += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swaps.join().unwrap();
    assert_eq!(
        before,
        fx.outside_snapshot(),
        "a write escaped the working directory"
    );
    assert!(refused > 0, "the race was not exercised");
    assert!(fx.leftover_temps().is_empty(), "{:?}", fx.leftover_temps());
}

#[test]
fn race_moving_a_directory_out_while_dotdot_is_resolved_never_escapes() {
    // `a/b/../../file.txt` stays inside lexically; a thread moves `a/b` out of the working
    // directory and back, so that `..` from `b` would lead to `outside/`, then to the base, where a
    // file.txt holds the canary. The kernel must notice (EAGAIN, retried, or EXDEV).
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    fx.file("a/b/x", b"x");
    std::fs::write(fx.base.join("file.txt"), &fx.canary).unwrap();
    let sb = Arc::new(fx.sandbox());
    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let (stop, inside, out) = (Arc::clone(&stop), fx.work.join("a/b"), fx.outside.join("b"));
        std::thread::spawn(move || {
            let mut moves = 0;
            while !stop.load(Ordering::Relaxed) {
                std::fs::rename(&inside, &out).unwrap();
                std::fs::rename(&out, &inside).unwrap();
                moves += 1;
            }
            moves
        })
    };
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..2000 {
        match sb.read_file("a/b/../../file.txt") {
            Ok(b) => {
                assert_eq!(b, b"hello", "read something other than the inside file");
                *outcomes.entry("ok".to_string()).or_insert(0) += 1;
            }
            Err(e) => {
                assert!(!e.message.contains("CANARY"));
                assert!(
                    matches!(e.kind, K::SymlinkOutside | K::NotFound | K::Busy),
                    "{e:?}"
                );
                *outcomes.entry(format!("{:?}", e.kind)).or_insert(0) += 1;
            }
        }
        if let Err(e) = sb.write_file("a/b/../../written.txt", b"PAYLOAD") {
            assert!(
                matches!(e.kind, K::SymlinkOutside | K::NotFound | K::Busy | K::Io),
                "{e:?}"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(mover.join().unwrap() > 0);
    assert!(
        !fx.base.join("written.txt").exists(),
        "a write escaped through .."
    );
    assert_eq!(
        std::fs::read_to_string(fx.base.join("file.txt")).unwrap(),
        fx.canary
    );
    assert!(outcomes.get("ok").copied().unwrap_or(0) > 0, "{outcomes:?}");
}

#[test]
fn race_swapping_the_file_itself_never_reads_outside_or_blocks() {
    // The final component flips between the inside file, a symlink to the canary and a FIFO.
    let fx = Fixture::new();
    fx.file("target", b"inside");
    fx.symlink("target-evil", "../outside/canary.txt");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.work.join("target-fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let sb = Arc::new(fx.sandbox());
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, work) = (Arc::clone(&stop), fx.work.clone());
        std::thread::spawn(move || {
            let dir = rustix::fs::open(
                &work,
                rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let other = if i.is_multiple_of(2) {
                    "target-evil"
                } else {
                    "target-fifo"
                };
                rustix::fs::renameat_with(
                    &dir,
                    "target",
                    &dir,
                    other,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                i += 1;
            }
        })
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = {
        let sb = Arc::clone(&sb);
        std::thread::spawn(move || {
            for _ in 0..2000 {
                let r = sb.read_file("target");
                let c = sb.check_file("target");
                tx.send((r, c)).unwrap();
            }
        })
    };
    let mut refused = 0;
    for _ in 0..2000 {
        let (r, c) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a read blocked");
        match r {
            Ok(b) => assert_eq!(b, b"inside", "read something other than the inside file"),
            Err(e) => {
                assert!(!e.message.contains("CANARY"));
                assert!(
                    matches!(
                        e.kind,
                        K::SymlinkOutside | K::NotRegularFile | K::NotFound | K::Busy
                    ),
                    "{e:?}"
                );
                refused += 1;
            }
        }
        if let Ok(n) = c {
            assert_eq!(n, 6);
        }
    }
    reader.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(refused > 0, "the race was not exercised");
}

#[test]
fn list_refuses_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let fx = Fixture::new();
    fx.file("ok.txt", b"x");
    std::fs::write(
        fx.work.join(std::ffi::OsStr::from_bytes(b"bad\xff.txt")),
        b"x",
    )
    .unwrap();
    let sb = fx.sandbox();
    fx.refused("non-utf8", sb.list_dir("."), K::InvalidPath, "is not UTF-8");
}

#[test]
fn no_access_refuses_everything() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    let sb = common::new_sandbox(FileAccessMode::NoAccess, &fx.work).unwrap();
    let before = fx.outside_snapshot();
    let work_before = fx.work_snapshot();
    for p in [
        "file.txt",
        "./file.txt",
        "{WD}/file.txt",
        "{OUT}/canary.txt",
        "../outside/canary.txt",
        "~",
        "$HOME",
        "",
        "sub",
    ] {
        let p = fx.expand(p);
        fx.refused("read", sb.read_file(&p), K::Disabled, NO_ACCESS_MESSAGE);
        fx.refused("check", sb.check_file(&p), K::Disabled, "no-access mode");
        fx.refused(
            "write",
            sb.write_file(&p, b"x"),
            K::Disabled,
            "S3 URIs (s3://...) and `-` remain allowed",
        );
        fx.refused(
            "list",
            sb.list_dir(&p),
            K::Disabled,
            "local file access is disabled",
        );
        assert!(!sb.is_directory(&p));
        assert!(
            PathPolicy::read(&sb, &p, FileUse::CliInputJson)
                .unwrap_err()
                .0
                .contains("no-access")
        );
    }
    assert_eq!(before, fx.outside_snapshot());
    assert_eq!(work_before, fx.work_snapshot());
    // No working directory is needed to refuse.
    let sb = common::new_sandbox(FileAccessMode::NoAccess, "/nonexistent/dir").unwrap();
    fx.refused("no dir", sb.read_file("x"), K::Disabled, "no-access");
    assert!(sb.describe().contains("s3://"));
}

#[test]
fn unrestricted_reads_outside_but_still_refuses_expansion_and_special_files() {
    let fx = Fixture::new();
    hostile_tree(&fx);
    std::fs::write(fx.outside.join("public.txt"), b"public").unwrap();
    let sb = fx.sandbox_with(
        FileAccessMode::Unrestricted,
        Limits {
            max_read_bytes: 1000,
            ..Limits::default()
        },
    );
    assert_eq!(
        sb.read_file(&format!("{}/public.txt", fx.outside.display()))
            .unwrap(),
        b"public"
    );
    assert_eq!(sb.read_file("../outside/public.txt").unwrap(), b"public");
    assert_eq!(
        sb.read_file("file.txt").unwrap(),
        b"hello",
        "relative to the working directory"
    );
    assert_eq!(
        sb.read_file("hard").unwrap(),
        fx.canary.as_bytes(),
        "hard links are fine when everything is reachable"
    );
    for (p, kind, fragment) in [
        ("~", K::HomeExpansion, "`~`"),
        ("~/x", K::HomeExpansion, "`~`"),
        ("~root/x", K::HomeExpansion, "`~`"),
        ("$HOME/x", K::VariableExpansion, "not expanded"),
        ("${HOME}", K::VariableExpansion, "not expanded"),
        ("", K::InvalidPath, "empty"),
        ("a\0b", K::InvalidPath, "NUL"),
        ("C:\\x", K::WindowsPath, "Windows-style"),
        ("pipe", K::NotRegularFile, "FIFO"),
        ("/dev/zero", K::NotRegularFile, "character device"),
        ("dev_zero", K::NotRegularFile, "character device"),
        ("sub", K::IsDirectory, "is a directory"),
        ("loop1", K::MagicLinkOrLoop, "symlink loop"),
    ] {
        fx.refused(
            &format!("unrestricted read {p:?}"),
            sb.read_file(p),
            kind,
            fragment,
        );
    }
    std::fs::write(fx.outside.join("big"), vec![0; 1001]).unwrap();
    fx.refused(
        "big",
        sb.read_file(&format!("{}/big", fx.outside.display())),
        K::TooLarge,
        "1000 byte",
    );
    // Writes: atomic, creating parents, never through a final symlink.
    sb.write_file("../outside/written/by/unrestricted.txt", b"w")
        .unwrap();
    assert_eq!(
        std::fs::read(fx.outside.join("written/by/unrestricted.txt")).unwrap(),
        b"w"
    );
    sb.write_file(&format!("{}/abs.txt", fx.outside.display()), b"a")
        .unwrap();
    assert_eq!(std::fs::read(fx.outside.join("abs.txt")).unwrap(), b"a");
    fx.refused(
        "write link",
        sb.write_file("abs_out_file", b"x"),
        K::SymlinkTarget,
        "is a symbolic link",
    );
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        fx.canary
    );
    assert!(sb.is_directory("/tmp"));
    assert!(sb.list_dir("../outside/written").unwrap() == vec!["by/unrestricted.txt"]);
    assert!(fx.leftover_temps().is_empty());
}

#[test]
fn construction_and_description() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    assert_eq!(sb.mode(), FileAccessMode::Workdir);
    assert_eq!(sb.workdir(), fx.work.as_path());
    // Tool descriptions carry it: nothing of this machine (its paths), sizes as a person reads them.
    assert!(!sb.describe().contains(&*fx.work.to_string_lossy()));
    assert!(
        sb.describe().contains("limited to 16 MiB"),
        "{}",
        sb.describe()
    );
    assert!(sb.summary().contains("workdir"));
    let e = common::new_sandbox(FileAccessMode::Workdir, fx.base.join("missing")).unwrap_err();
    assert!(e.message.contains("cannot be opened"), "{e}");
    std::fs::write(fx.base.join("plain"), b"x").unwrap();
    let e = common::new_sandbox(FileAccessMode::Workdir, fx.base.join("plain")).unwrap_err();
    assert_eq!(e.kind, K::NotDirectory, "{e}");
    let u = common::new_sandbox(FileAccessMode::Unrestricted, &fx.work).unwrap();
    assert!(u.describe().contains("unrestricted"));
    assert_eq!(u.limits(), Limits::default());
    assert_eq!(Limits::default().max_read_bytes, 16 * 1024 * 1024);
}
