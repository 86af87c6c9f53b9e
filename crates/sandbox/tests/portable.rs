//! The sandbox's guarantees with nothing the OS lacks: runs on Linux (both backends, see
//! `common::BACKEND_ENV`), macOS and Windows (under Wine here). Nothing outside the working
//! directory is read into a result or an error (the canary) or written (the snapshot); writes are
//! atomic; only regular files are read. The cases that hold on one OS only say so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::Fixture;
use portcullis_sandbox::{FileAccessMode, Limits, RefusalKind as K};

/// The path forms refused on every OS, before any file-system call.
#[test]
fn escapes_and_expansions_are_refused_everywhere() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    fx.file("sub/inner.txt", b"inner");
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let out = fx.outside.join("canary.txt").display().to_string();
    let cases: Vec<(String, K, &str)> = vec![
        (
            "../outside/canary.txt".into(),
            K::Escapes,
            "escapes the working directory",
        ),
        (
            "sub/../../outside/canary.txt".into(),
            K::Escapes,
            "escapes the working directory",
        ),
        ("..".into(), K::Escapes, "escapes the working directory"),
        (out, K::OutsideWorkdir, "is outside the working directory"),
        ("~/x".into(), K::HomeExpansion, "`~`"),
        ("$HOME/x".into(), K::VariableExpansion, "not expanded"),
        ("".into(), K::InvalidPath, "empty"),
        ("a\0b".into(), K::InvalidPath, "NUL"),
    ];
    for (path, kind, fragment) in &cases {
        fx.refused(&format!("read {path}"), sb.read_file(path), *kind, fragment);
        fx.refused(
            &format!("check {path}"),
            sb.check_file(path),
            *kind,
            fragment,
        );
        fx.refused(
            &format!("write {path}"),
            sb.write_file(path, b"x"),
            *kind,
            fragment,
        );
    }
    assert_eq!(sb.read_file("sub/inner.txt").unwrap(), b"inner");
    assert_eq!(before, fx.outside_snapshot());
}

/// Windows's own path forms: each reaches past every directory handle or names another file.
#[cfg(windows)]
#[test]
fn windows_path_forms_are_refused() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    let unc = format!(r"\\?\{}", fx.outside.join("canary.txt").display());
    for path in [
        unc.as_str(),
        r"\\localhost\c$\windows\win.ini",
        r"\\.\PhysicalDrive0",
        "C:canary.txt",
        "file.txt:hidden",
        "CON",
        "nul.txt",
        r"sub\COM1",
        "PROGRA~1",
        "file.txt.",
        "file.txt ",
    ] {
        fx.refused(path, sb.read_file(path), K::WindowsPath, "");
        fx.refused(path, sb.write_file(path, b"x"), K::WindowsPath, "");
    }
    // Backslashes are separators here, and an absolute path inside the working directory is used.
    sb.write_file(r"reports\today.json", b"{}").unwrap();
    assert_eq!(sb.read_file("reports/today.json").unwrap(), b"{}");
    let abs = fx.work.join("file.txt").display().to_string();
    assert_eq!(sb.read_file(&abs).unwrap(), b"hello");
    assert_eq!(before, fx.outside_snapshot());
}

/// On Unix a backslash or a drive letter is a mistake, refused with a hint.
#[cfg(unix)]
#[test]
fn windows_style_paths_are_refused_on_unix() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    fx.refused("bs", sb.read_file(r"sub\x.txt"), K::WindowsPath, "use /");
    fx.refused("drive", sb.read_file("C:/x.txt"), K::WindowsPath, "use /");
}

#[test]
fn writes_are_atomic_create_parents_and_replace_only_files() {
    let fx = Fixture::new();
    let sb = fx.sandbox();
    sb.write_file("a/b/c.json", b"one").unwrap();
    assert_eq!(std::fs::read(fx.work.join("a/b/c.json")).unwrap(), b"one");
    sb.write_file("a/b/c.json", b"two").unwrap();
    assert_eq!(sb.read_file("a/b/c.json").unwrap(), b"two");
    fx.refused(
        "dir",
        sb.write_file("a/b", b"x"),
        K::IsDirectory,
        "is a directory",
    );
    fx.refused(
        "slash",
        sb.write_file("a/", b"x"),
        K::InvalidPath,
        "names a directory",
    );
    sb.check_writable("new/deeper/file").unwrap();
    assert!(!fx.work.join("new").exists(), "a check creates nothing");
    assert!(fx.leftover_temps().is_empty());
    let limited = fx.sandbox_with(
        FileAccessMode::Workdir,
        Limits {
            max_write_bytes: 3,
            ..Limits::default()
        },
    );
    fx.refused(
        "big",
        limited.write_file("big", b"four"),
        K::TooLarge,
        "write limit",
    );
    assert!(!fx.work.join("big").exists());
}

#[test]
fn reads_lists_stats_and_removals_stay_inside() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    fx.file("sub/inner.txt", b"inner");
    fx.file("sub/deeper/x.bin", b"x");
    let sb = fx.sandbox();
    assert_eq!(sb.check_file("file.txt").unwrap(), 5);
    assert!(sb.is_directory("sub"));
    assert!(!sb.is_directory("file.txt"));
    assert_eq!(
        sb.list_dir(".").unwrap(),
        ["file.txt", "sub/deeper/x.bin", "sub/inner.txt"]
    );
    assert_eq!(sb.list_dir("sub").unwrap(), ["deeper/x.bin", "inner.txt"]);
    fx.refused(
        "list file",
        sb.list_dir("file.txt"),
        K::NotDirectory,
        "not a directory",
    );
    fx.refused(
        "read dir",
        sb.read_file("sub"),
        K::IsDirectory,
        "is a directory",
    );
    fx.refused(
        "missing",
        sb.read_file("nope.txt"),
        K::NotFound,
        "no such file",
    );
    let st = sb.stat_file("file.txt").unwrap();
    assert_eq!(st.size, 5);
    sb.set_modified_time("file.txt", 1_600_000_000).unwrap();
    assert_eq!(
        sb.stat_file("file.txt").unwrap().modified_secs,
        1_600_000_000
    );
    sb.remove_file("sub/inner.txt").unwrap();
    assert!(!fx.work.join("sub/inner.txt").exists());
    fx.refused(
        "remove dir",
        sb.remove_file("sub"),
        K::IsDirectory,
        "is a directory",
    );
    let limited = fx.sandbox_with(
        FileAccessMode::Workdir,
        Limits {
            max_read_bytes: 4,
            ..Limits::default()
        },
    );
    fx.refused(
        "big",
        limited.read_file("file.txt"),
        K::TooLarge,
        "read limit",
    );
}

#[test]
fn no_access_refuses_everything() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    let sb = common::new_sandbox(FileAccessMode::NoAccess, &fx.work).unwrap();
    fx.refused("read", sb.read_file("file.txt"), K::Disabled, "no-access");
    fx.refused("write", sb.write_file("x", b"x"), K::Disabled, "no-access");
    fx.refused("list", sb.list_dir("."), K::Disabled, "no-access");
    assert!(!fx.work.join("x").exists());
}

/// A symlink leading out is refused as the walk reaches it (creating one needs no privilege on
/// Unix; on Windows it needs Developer Mode or an administrator, so this case is Unix-only).
#[cfg(unix)]
#[test]
fn an_outward_symlink_is_never_followed() {
    let fx = Fixture::new();
    fx.symlink("out", "{OUT}");
    fx.symlink("out_file", "{OUT}/canary.txt");
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    fx.refused(
        "dir",
        sb.read_file("out/canary.txt"),
        K::SymlinkOutside,
        "symlink",
    );
    fx.refused(
        "file",
        sb.read_file("out_file"),
        K::SymlinkOutside,
        "symlink",
    );
    fx.refused(
        "write through",
        sb.write_file("out/x.txt", b"x"),
        K::SymlinkOutside,
        "symlink",
    );
    fx.refused(
        "replace",
        sb.write_file("out_file", b"x"),
        K::SymlinkTarget,
        "symbolic link",
    );
    assert_eq!(sb.list_dir(".").unwrap(), Vec::<String>::new());
    assert_eq!(before, fx.outside_snapshot());
}

/// A junction (the directory reparse point any Windows user may create, no privilege needed)
/// leading out is never followed: not by a read, a write, a removal or a listing.
#[cfg(windows)]
#[test]
fn a_junction_leading_out_is_never_followed() {
    let fx = Fixture::new();
    fx.file("file.txt", b"hello");
    junction::create(&fx.outside, fx.work.join("j")).unwrap();
    assert!(
        std::fs::read(fx.work.join("j").join("canary.txt")).is_ok(),
        "the junction works"
    );
    let sb = fx.sandbox();
    let before = fx.outside_snapshot();
    for path in ["j/canary.txt", r"j\canary.txt"] {
        let e = sb.read_file(path).unwrap_err();
        assert!(
            matches!(e.kind, K::SymlinkOutside | K::PermissionDenied),
            "{path}: {e:?}"
        );
        assert!(!e.message.contains(&fx.canary));
        assert!(sb.write_file(&format!("{path}.new"), b"x").is_err());
        assert!(sb.remove_file(path).is_err());
    }
    assert_eq!(sb.list_dir(".").unwrap(), ["file.txt"]);
    assert_eq!(before, fx.outside_snapshot());
}
