//! The high-level `aws s3` commands: every form parses offline into an `S3Command` that lists
//! the API calls it may make; bad paths and options are refused with messages an agent can act
//! on; local files are reached only through the path policy, and `file://` is never a path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Mutex;

use portcullis_cli::s3cmd::{PathFilter, Transfer};
use portcullis_cli::{
    AllowAll, Command, CommandError, DenyAll, FileError, FileUse, Parser, PathPolicy, ProblemKind,
    S3Command, S3Op, S3Path,
};

fn parse(cmd: &str) -> S3Command {
    parse_with(&DenyAll, cmd)
}

fn parse_with(policy: &dyn PathPolicy, cmd: &str) -> S3Command {
    match Parser::new(policy).parse(cmd) {
        Ok(Command::S3(c)) => c,
        other => panic!("{cmd}: {other:?}"),
    }
}

fn refused(cmd: &str) -> CommandError {
    refused_with(&DenyAll, cmd)
}

fn refused_with(policy: &dyn PathPolicy, cmd: &str) -> CommandError {
    match Parser::new(policy).parse(cmd) {
        Err(e) => e,
        Ok(c) => panic!("{cmd} was accepted: {c:?}"),
    }
}

fn calls(c: &S3Command) -> Vec<&'static str> {
    c.api_calls()
        .into_iter()
        .map(|(s, o)| {
            assert_eq!(s, "s3");
            o
        })
        .collect()
}

/// Records what the parser asks of the file system; every file is 10 bytes.
#[derive(Default)]
struct Recorder {
    checked: Mutex<Vec<(String, FileUse)>>,
}

impl PathPolicy for Recorder {
    fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
        panic!("the parser read {path}")
    }
    fn check(&self, path: &str, why: FileUse) -> Result<u64, FileError> {
        self.checked.lock().unwrap().push((path.to_string(), why));
        Ok(10)
    }
    fn check_write(&self, _path: &str) -> Result<(), FileError> {
        Ok(())
    }
}

#[test]
fn ls_forms() {
    let c = parse("aws s3 ls");
    assert_eq!(
        c.op,
        S3Op::Ls {
            bucket: None,
            prefix: String::new(),
            recursive: false,
            human_readable: false,
            summarize: false,
            page_size: None
        }
    );
    assert_eq!(calls(&c), ["ListBuckets"]);
    assert_eq!(parse("aws s3 ls s3://").op, c.op);

    let c = parse(
        "aws s3 ls s3://my-bucket/some/prefix/ --recursive --human-readable --summarize --page-size 50",
    );
    assert_eq!(
        c.op,
        S3Op::Ls {
            bucket: Some("my-bucket".into()),
            prefix: "some/prefix/".into(),
            recursive: true,
            human_readable: true,
            summarize: true,
            page_size: Some(50)
        }
    );
    assert_eq!(calls(&c), ["ListObjectsV2"]);
    // Without the scheme, as the AWS CLI allows for ls.
    let S3Op::Ls { bucket, prefix, .. } = parse("aws s3 ls my-bucket/x").op else {
        panic!()
    };
    assert_eq!(
        (bucket.as_deref(), prefix.as_str()),
        (Some("my-bucket"), "x")
    );
}

#[test]
fn globals_go_anywhere_and_are_kept() {
    let c = parse(
        "aws --region eu-west-1 s3 ls s3://b1b --output text --endpoint-url http://localhost:4566",
    );
    assert_eq!(c.globals.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.globals.endpoint_url.as_deref(),
        Some("http://localhost:4566")
    );
    assert_eq!(c.globals.output.as_deref(), Some("text"));
    assert_eq!(c.display_name(), "aws s3 ls");
    let err = refused("aws s3 ls --region 'not a region'");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    let err = refused("aws s3 ls --region us-east-1 --region us-west-2");
    assert!(err.has(ProblemKind::DuplicateOption), "{err}");
}

#[test]
fn mb_and_rb() {
    let c = parse("aws s3 mb s3://new-bucket");
    assert_eq!(
        c.op,
        S3Op::Mb {
            bucket: "new-bucket".into()
        }
    );
    assert_eq!(calls(&c), ["CreateBucket"]);
    let c = parse("aws s3 rb s3://old-bucket");
    assert_eq!(
        c.op,
        S3Op::Rb {
            bucket: "old-bucket".into(),
            force: false
        }
    );
    assert_eq!(calls(&c), ["DeleteBucket"]);
    let c = parse("aws s3 rb s3://old-bucket/ --force");
    assert_eq!(
        c.op,
        S3Op::Rb {
            bucket: "old-bucket".into(),
            force: true
        }
    );
    assert_eq!(calls(&c), ["ListObjectsV2", "DeleteObject", "DeleteBucket"]);

    let err = refused("aws s3 mb new-bucket");
    assert!(err.to_string().contains("s3://my-bucket"), "{err}");
    let err = refused("aws s3 rb s3://b1b/key");
    assert!(err.to_string().contains("bucket name only"), "{err}");
    let err = refused("aws s3 mb s3://");
    assert!(err.to_string().contains("no bucket name"), "{err}");
    let err = refused("aws s3 mb");
    assert_eq!(err.kind(), Some(ProblemKind::MissingRequired));
    let err = refused("aws s3 mb s3://a s3://b");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    let err = refused("aws s3 mb s3://bad/bucket s3://x --force");
    assert!(err.has(ProblemKind::UnknownOption), "{err}");
    let err = refused("aws s3 mb 's3://has space'");
    assert!(err.to_string().contains("not a bucket name"), "{err}");
}

#[test]
fn cp_upload() {
    let rec = Recorder::default();
    let c = parse_with(
        &rec,
        "aws s3 cp ./report.csv s3://b1b/reports/ --content-type text/csv --acl bucket-owner-full-control",
    );
    assert_eq!(
        c.op,
        S3Op::Cp {
            src: S3Path::Local {
                path: "./report.csv".into()
            },
            dst: S3Path::S3 {
                bucket: "b1b".into(),
                key: "reports/".into()
            },
            recursive: false,
            content_type: Some("text/csv".into()),
            acl: Some("bucket-owner-full-control".into()),
            dryrun: false,
            quiet: false,
            only_show_errors: false,
            transfer: Transfer::Cp,
            filters: Vec::new(),
            delete: false,
            size_only: false,
            exact_timestamps: false,
        }
    );
    // The single file to upload is checked through the policy while parsing, never read.
    assert_eq!(
        *rec.checked.lock().unwrap(),
        [("./report.csv".to_string(), FileUse::S3Upload)]
    );
    assert_eq!(
        calls(&c),
        [
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "AbortMultipartUpload"
        ]
    );
    assert_eq!(c.local_paths(), [("read", "./report.csv")]);

    // A recursive upload lists the directory when it runs, not while parsing.
    let rec = Recorder::default();
    let c = parse_with(
        &rec,
        "aws s3 cp site s3://b1b --recursive --quiet --only-show-errors",
    );
    assert!(rec.checked.lock().unwrap().is_empty());
    let S3Op::Cp {
        recursive: true,
        quiet: true,
        only_show_errors: true,
        ..
    } = c.op
    else {
        panic!("{c:?}")
    };

    // Dry runs call nothing.
    let c = parse_with(
        &Recorder::default(),
        "aws s3 cp a.txt s3://b1b/a.txt --dryrun",
    );
    assert!(calls(&c).is_empty());
}

#[test]
fn cp_download_and_copy() {
    let c = parse("aws s3 cp s3://b1b/k/a.txt out/");
    assert_eq!(
        c.op,
        S3Op::Cp {
            src: S3Path::S3 {
                bucket: "b1b".into(),
                key: "k/a.txt".into()
            },
            dst: S3Path::Local {
                path: "out/".into()
            },
            recursive: false,
            content_type: None,
            acl: None,
            dryrun: false,
            quiet: false,
            only_show_errors: false,
            transfer: Transfer::Cp,
            filters: Vec::new(),
            delete: false,
            size_only: false,
            exact_timestamps: false,
        }
    );
    assert_eq!(calls(&c), ["HeadObject", "GetObject"]);
    assert_eq!(c.local_paths(), [("write", "out/")]);
    assert_eq!(
        calls(&parse("aws s3 cp s3://b1b/k dl --recursive")),
        ["ListObjectsV2", "GetObject"]
    );
    let c = parse("aws s3 cp s3://b1b/a s3://other/b");
    assert_eq!(calls(&c), ["HeadObject", "CopyObject"]);
    assert_eq!(c.buckets(), ["b1b", "other"]);
    assert_eq!(
        calls(&parse("aws s3 cp s3://b1b/a/ s3://b1b/b/ --recursive")),
        ["ListObjectsV2", "CopyObject"]
    );
}

#[test]
fn cp_bad_paths_are_refused_clearly() {
    let err = refused("aws s3 cp a.txt b.txt");
    assert!(
        err.to_string()
            .contains("at least one path must be an S3 URI"),
        "{err}"
    );
    let err = refused("aws s3 cp s3://b1b/a");
    assert_eq!(err.kind(), Some(ProblemKind::MissingRequired));
    assert!(err.to_string().contains("2 paths"), "{err}");
    let err = refused("aws s3 cp - s3://b1b/a");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    let err = refused("aws s3 cp s3:///key x");
    assert!(err.to_string().contains("no bucket name"), "{err}");
    let err = refused("aws s3 cp s3://arn:aws:s3:us-east-1:123456789012:accesspoint/ap/key x");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    let err = refused("aws s3 cp s3://b1b/a x --acl world-writable");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    assert!(err.to_string().contains("public-read"), "{err}");
    let err = refused("aws s3 cp s3://b1b/a x --content-type");
    assert_eq!(err.kind(), Some(ProblemKind::MissingValue));
    let err = refused("aws s3 cp s3://b1b/a x --recursiv");
    assert!(
        err.problems[0]
            .suggestions
            .contains(&"--recursive".to_string()),
        "{err}"
    );
    let err = refused("aws s3 cp s3://b1b/a x --sse AES256");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    assert!(err.to_string().contains("not supported"), "{err}");
    // sync's options are not cp's.
    let err = refused("aws s3 cp s3://b1b/a x --delete");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOption));
    let err = refused("aws s3 cp s3://b1b/a x --dryrun=yes");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidType));
}

#[test]
fn file_urls_are_never_paths() {
    // `file://` is not how aws s3 names local files: refused, and nothing is touched.
    let rec = Recorder::default();
    let err = refused_with(&rec, "aws s3 cp file://etc/passwd s3://b1b/p");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    assert!(err.to_string().contains("without file://"), "{err}");
    assert!(rec.checked.lock().unwrap().is_empty());
    let err = refused("aws s3 cp s3://b1b/p file:///tmp/p");
    assert!(err.to_string().contains("without file://"), "{err}");
}

#[test]
fn local_files_go_through_the_policy() {
    // DenyAll refuses the upload source while parsing.
    let err = refused_with(&DenyAll, "aws s3 cp notes.txt s3://b1b/notes.txt");
    assert_eq!(err.kind(), Some(ProblemKind::BadFile));
    assert_eq!(err.problems[0].path.as_deref(), Some("notes.txt"));
    // A missing file is named.
    let dir = std::env::temp_dir().join(format!("portcullis-s3cmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let allow = AllowAll::new(&dir);
    let err = refused_with(&allow, "aws s3 cp missing.txt s3://b1b/m.txt");
    assert!(err.to_string().contains("no such file"), "{err}");
    std::fs::write(dir.join("there.txt"), "x").unwrap();
    parse_with(&allow, "aws s3 cp there.txt s3://b1b/t.txt");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rm_forms() {
    let c = parse("aws s3 rm s3://b1b/a/b.txt");
    assert_eq!(
        c.op,
        S3Op::Rm {
            bucket: "b1b".into(),
            key: "a/b.txt".into(),
            recursive: false,
            dryrun: false,
            quiet: false,
            only_show_errors: false
        }
    );
    assert_eq!(calls(&c), ["DeleteObject"]);
    let c = parse("aws s3 rm s3://b1b/logs --recursive --dryrun");
    assert_eq!(calls(&c), ["ListObjectsV2"]);
    let c = parse("aws s3 rm s3://b1b --recursive");
    assert_eq!(calls(&c), ["ListObjectsV2", "DeleteObject"]);
    let err = refused("aws s3 rm s3://b1b");
    assert!(err.to_string().contains("--recursive"), "{err}");
    let err = refused("aws s3 rm b1b/key");
    assert!(err.to_string().contains("S3 URI"), "{err}");
}

#[test]
fn presign_forms() {
    let c = parse("aws s3 presign s3://b1b/a/b.txt");
    assert_eq!(
        c.op,
        S3Op::Presign {
            bucket: "b1b".into(),
            key: "a/b.txt".into(),
            expires_in: 3600
        }
    );
    assert_eq!(calls(&c), ["GetObject"]);
    let c = parse("aws s3 presign s3://b1b/k --expires-in 60");
    assert_eq!(
        c.op,
        S3Op::Presign {
            bucket: "b1b".into(),
            key: "k".into(),
            expires_in: 60
        }
    );
    let err = refused("aws s3 presign s3://b1b/k --expires-in 604801");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    let err = refused("aws s3 presign s3://b1b/k --expires-in soon");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidValue));
    let err = refused("aws s3 presign s3://b1b");
    assert!(err.to_string().contains("needs an object"), "{err}");
}

#[test]
fn other_subcommands_are_refused_with_a_way_forward() {
    let err = refused("aws s3 website s3://b1b --index-document index.html");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    assert!(err.to_string().contains("put-bucket-website"), "{err}");
    let err = refused("aws s3 lss");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOperation));
    assert!(
        err.problems[0].suggestions.contains(&"ls".to_string()),
        "{err}"
    );
    let err = refused("aws s3");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOperation));
    let err = refused("aws s3 --recursive ls");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOperation));
    // Shell syntax is refused before anything else, as for every command.
    let err = refused("aws s3 ls; rm -rf /");
    assert_eq!(err.kind(), Some(ProblemKind::ShellSyntax));
}

#[test]
fn several_problems_are_reported_together() {
    let err = refused("aws s3 cp a.txt b.txt --acl nope --bogus");
    assert!(err.problems.len() >= 3, "{err}");
}

#[test]
fn digest_covers_what_runs() {
    let a = parse("aws s3 rm s3://b1b/a");
    let b = parse("aws s3 rm s3://b1b/a --recursive");
    let c = parse("aws s3 rm s3://b1b/a --region eu-west-1");
    assert_ne!(a.digest(), b.digest());
    assert_ne!(a.digest(), c.digest());
    assert_eq!(a.digest(), parse("aws   s3 rm  s3://b1b/a").digest());
    let json = serde_json::to_value(Command::S3(a)).unwrap();
    assert_eq!(json["kind"], "s3");
    assert_eq!(json["op"]["subcommand"], "rm");
}

#[test]
fn s3api_is_unaffected() {
    let Ok(Command::Call(call)) =
        Parser::new(&DenyAll).parse("aws --region us-west-2 s3api list-buckets")
    else {
        panic!()
    };
    assert_eq!(call.operation, "ListBuckets");
}

// Unix: it makes symlinks (Windows grants that to administrators or Developer Mode only).
#[cfg(unix)]
#[test]
fn allow_all_writes_atomically_and_never_through_symlinks() {
    let dir = std::env::temp_dir().join(format!("portcullis-s3cmd-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut allow = AllowAll::new(&dir);
    allow.write("out/deep/a.txt", b"one").unwrap();
    allow.write("out/deep/a.txt", b"two").unwrap();
    assert_eq!(std::fs::read(dir.join("out/deep/a.txt")).unwrap(), b"two");
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.join("out/deep")).unwrap().count(), 1);
    assert!(allow.is_dir("out") && !allow.is_dir("out/deep/a.txt") && !allow.is_dir("nope"));

    // A symlink at the target is refused, and what it points to is untouched.
    std::fs::write(dir.join("secret"), "keep").unwrap();
    std::os::unix::fs::symlink(dir.join("secret"), dir.join("link")).unwrap();
    let err = allow.write("link", b"overwritten").unwrap_err();
    assert!(err.0.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(dir.join("secret")).unwrap(), b"keep");
    assert!(
        allow
            .write("out", b"x")
            .unwrap_err()
            .0
            .contains("not a regular file")
    );
    assert!(allow.write("out/", b"x").is_err());

    // Bounded.
    allow.max_bytes = 4;
    assert!(
        allow
            .write("big", b"12345")
            .unwrap_err()
            .0
            .contains("limit")
    );
    assert!(!dir.join("big").exists());

    // Listing: sorted relative paths, symlinks (to files or directories) skipped, not followed.
    std::os::unix::fs::symlink(dir.join("out"), dir.join("out-link")).unwrap();
    std::fs::write(dir.join("out/b.txt"), "b").unwrap();
    assert_eq!(allow.list("out").unwrap(), ["b.txt", "deep/a.txt"]);
    assert_eq!(
        allow.list(".").unwrap(),
        ["out/b.txt", "out/deep/a.txt", "secret"]
    );
    assert!(
        allow
            .list("secret")
            .unwrap_err()
            .0
            .contains("not a directory")
    );
    assert!(allow.list("out-link").is_err());
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(DenyAll.write("a", b"x").is_err());
    assert!(DenyAll.list(".").is_err());
    assert!(!DenyAll.is_dir("."));
}

fn cp_fields(
    c: &S3Command,
) -> (
    &S3Path,
    &S3Path,
    bool,
    Transfer,
    &[PathFilter],
    bool,
    bool,
    bool,
) {
    match &c.op {
        S3Op::Cp {
            src,
            dst,
            recursive,
            transfer,
            filters,
            delete,
            size_only,
            exact_timestamps,
            ..
        } => (
            src,
            dst,
            *recursive,
            *transfer,
            filters.as_slice(),
            *delete,
            *size_only,
            *exact_timestamps,
        ),
        other => panic!("not a transfer: {other:?}"),
    }
}

const UPLOAD: [&str; 5] = [
    "PutObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
];

fn with(first: &[&'static str], rest: &[&'static str]) -> Vec<&'static str> {
    first.iter().chain(rest).copied().collect()
}

#[test]
fn sync_forms_and_every_option() {
    // Nothing local is touched while parsing a sync: the directory is listed when it runs.
    let rec = Recorder::default();
    let c = parse_with(
        &rec,
        "aws s3 sync ./site s3://b1b/www --delete --size-only --exact-timestamps --exclude '*.tmp' --include 'keep.tmp' --exclude=logs/* \
         --content-type text/html --acl public-read --dryrun --quiet --only-show-errors --no-progress",
    );
    assert!(rec.checked.lock().unwrap().is_empty());
    assert_eq!(c.display_name(), "aws s3 sync");
    assert_eq!(c.subcommand(), "sync");
    let (src, dst, recursive, transfer, filters, delete, size_only, exact) = cp_fields(&c);
    assert_eq!(
        src,
        &S3Path::Local {
            path: "./site".into()
        }
    );
    assert_eq!(
        dst,
        &S3Path::S3 {
            bucket: "b1b".into(),
            key: "www".into()
        }
    );
    // sync is always recursive; the filters keep their order.
    assert!(recursive && delete && size_only && exact);
    assert_eq!(transfer, Transfer::Sync);
    assert_eq!(
        filters,
        [
            PathFilter::Exclude("*.tmp".into()),
            PathFilter::Include("keep.tmp".into()),
            PathFilter::Exclude("logs/*".into())
        ]
    );
    let S3Op::Cp {
        content_type,
        acl,
        dryrun,
        quiet,
        only_show_errors,
        ..
    } = &c.op
    else {
        panic!()
    };
    assert_eq!(
        (content_type.as_deref(), acl.as_deref()),
        (Some("text/html"), Some("public-read"))
    );
    assert!(*dryrun && *quiet && *only_show_errors);
    // The normalized form (and so the digest) names the transfer and every option.
    let json = c.normalized();
    assert_eq!(json["op"]["transfer"], "sync");
    assert_eq!(json["op"]["filters"][1]["include"], "keep.tmp");
    assert_eq!(json["op"]["delete"], true);

    let c = parse("aws s3 sync s3://b1b/logs dl");
    let (src, dst, recursive, _, filters, delete, size_only, exact) = cp_fields(&c);
    assert!(
        src.is_s3()
            && !dst.is_s3()
            && recursive
            && filters.is_empty()
            && !delete
            && !size_only
            && !exact
    );
    let c = parse("aws s3 sync s3://b1b s3://other/copy/");
    assert_eq!(c.buckets(), ["b1b", "other"]);
}

#[test]
fn sync_api_calls_per_direction_and_flag() {
    let list = ["ListObjectsV2"];
    for (cmd, want) in [
        ("aws s3 sync d s3://b1b", with(&list, &UPLOAD)),
        (
            "aws s3 sync d s3://b1b --delete",
            with(&with(&list, &UPLOAD), &["DeleteObject"]),
        ),
        ("aws s3 sync d s3://b1b --dryrun", list.to_vec()),
        ("aws s3 sync d s3://b1b --delete --dryrun", list.to_vec()),
        ("aws s3 sync s3://b1b d", vec!["ListObjectsV2", "GetObject"]),
        // Local deletions make no API call (see deletes_local_files).
        (
            "aws s3 sync s3://b1b d --delete",
            vec!["ListObjectsV2", "GetObject"],
        ),
        ("aws s3 sync s3://b1b d --dryrun", list.to_vec()),
        (
            "aws s3 sync s3://b1b s3://other",
            vec!["ListObjectsV2", "CopyObject"],
        ),
        (
            "aws s3 sync s3://b1b s3://other --delete",
            vec!["ListObjectsV2", "CopyObject", "DeleteObject"],
        ),
        (
            "aws s3 sync s3://b1b s3://other --delete --dryrun",
            list.to_vec(),
        ),
        (
            "aws s3 sync s3://b1b s3://other --size-only --exact-timestamps",
            vec!["ListObjectsV2", "CopyObject"],
        ),
    ] {
        assert_eq!(calls(&parse(cmd)), want, "{cmd}");
    }
}

#[test]
fn local_deletions_are_declared() {
    for (cmd, deletes) in [
        ("aws s3 sync s3://b1b d --delete", true),
        ("aws s3 sync s3://b1b d --delete --dryrun", false),
        ("aws s3 sync s3://b1b d", false),
        ("aws s3 sync d s3://b1b --delete", false),
        ("aws s3 sync s3://b1b s3://x --delete", false),
        ("aws s3 mv d/a.txt s3://b1b/a.txt", true),
        ("aws s3 mv d s3://b1b --recursive", true),
        ("aws s3 mv d s3://b1b --recursive --dryrun", false),
        ("aws s3 mv s3://b1b/a d/a.txt", false),
        ("aws s3 mv s3://b1b/a s3://b1b/b", false),
        ("aws s3 cp d s3://b1b --recursive", false),
        ("aws s3 rm s3://b1b/a", false),
    ] {
        let c = parse_with(&Recorder::default(), cmd);
        assert_eq!(c.deletes_local_files(), deletes, "{cmd}");
    }
    let c = parse("aws s3 sync s3://b1b dl --delete");
    assert_eq!(c.local_paths(), [("write", "dl"), ("delete", "dl")]);
    let c = parse_with(&Recorder::default(), "aws s3 mv a.txt s3://b1b/");
    assert_eq!(c.local_paths(), [("read", "a.txt"), ("delete", "a.txt")]);
}

#[test]
fn mv_forms_and_api_calls() {
    // A single local source is checked while parsing, as for cp; nothing is read or removed.
    let rec = Recorder::default();
    let c = parse_with(
        &rec,
        "aws s3 mv ./a.txt s3://b1b/x/ --content-type text/plain --acl private --exclude '*.tmp'",
    );
    assert_eq!(
        *rec.checked.lock().unwrap(),
        [("./a.txt".to_string(), FileUse::S3Upload)]
    );
    assert_eq!(c.display_name(), "aws s3 mv");
    let (src, dst, recursive, transfer, filters, ..) = cp_fields(&c);
    assert_eq!(
        (src.uri(), dst.uri(), recursive, transfer),
        (
            "./a.txt".to_string(),
            "s3://b1b/x/".to_string(),
            false,
            Transfer::Mv
        )
    );
    assert_eq!(filters, [PathFilter::Exclude("*.tmp".into())]);
    assert_eq!(calls(&c), UPLOAD);
    assert_eq!(c.normalized()["op"]["transfer"], "mv");

    for (cmd, want) in [
        ("aws s3 mv d s3://b1b/p --recursive", UPLOAD.to_vec()),
        ("aws s3 mv d s3://b1b/p --recursive --dryrun", vec![]),
        (
            "aws s3 mv s3://b1b/a out.txt",
            vec!["HeadObject", "GetObject", "DeleteObject"],
        ),
        ("aws s3 mv s3://b1b/a out.txt --dryrun", vec!["HeadObject"]),
        (
            "aws s3 mv s3://b1b/p dl --recursive",
            vec!["ListObjectsV2", "GetObject", "DeleteObject"],
        ),
        (
            "aws s3 mv s3://b1b/p dl --recursive --dryrun",
            vec!["ListObjectsV2"],
        ),
        (
            "aws s3 mv s3://b1b/a s3://other/b",
            vec!["HeadObject", "CopyObject", "DeleteObject"],
        ),
        (
            "aws s3 mv s3://b1b/a s3://other/b --dryrun",
            vec!["HeadObject"],
        ),
        (
            "aws s3 mv s3://b1b/p s3://other/p --recursive",
            vec!["ListObjectsV2", "CopyObject", "DeleteObject"],
        ),
        (
            "aws s3 mv s3://b1b/p s3://other/p --recursive --dryrun",
            vec!["ListObjectsV2"],
        ),
    ] {
        assert_eq!(calls(&parse_with(&Recorder::default(), cmd)), want, "{cmd}");
    }
    // cp is unchanged by mv: no DeleteObject.
    assert_eq!(
        calls(&parse("aws s3 cp s3://b1b/a s3://other/b")),
        ["HeadObject", "CopyObject"]
    );
    assert_ne!(
        parse("aws s3 cp s3://b1b/a s3://b1b/b").digest(),
        parse("aws s3 mv s3://b1b/a s3://b1b/b").digest()
    );
}

#[test]
fn cp_takes_filters_too() {
    let c = parse("aws s3 cp s3://b1b/p dl --recursive --exclude '*' --include '*.json'");
    let (.., filters, _, _, _) = cp_fields(&c);
    assert_eq!(
        filters,
        [
            PathFilter::Exclude("*".into()),
            PathFilter::Include("*.json".into())
        ]
    );
    // A cp without filters has the digest it had before filters existed (nothing new is serialized).
    let json = parse_with(&Recorder::default(), "aws s3 cp s3://b1b/a b.txt").normalized();
    let op = json["op"].as_object().unwrap();
    for absent in [
        "transfer",
        "filters",
        "delete",
        "size_only",
        "exact_timestamps",
    ] {
        assert!(!op.contains_key(absent), "{absent} in {op:?}");
    }
    assert_eq!(json["op"]["subcommand"], "cp");
}

#[test]
fn sync_and_mv_refusals_are_clear() {
    // sync has no --recursive (it always is), and cp's/mv's options are checked per subcommand.
    let err = refused("aws s3 sync d s3://b1b --recursive");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOption));
    assert!(
        err.to_string().contains("--delete"),
        "lists sync's options: {err}"
    );
    let err = refused("aws s3 mv s3://b1b/a b --delete");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOption));
    let err = refused("aws s3 mv s3://b1b/a b --size-only");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOption));
    let err = refused("aws s3 sync d s3://b1b --delet");
    assert!(
        err.problems[0]
            .suggestions
            .contains(&"--delete".to_string()),
        "{err}"
    );
    let err = refused("aws s3 sync d s3://b1b --delete --delete");
    assert_eq!(err.kind(), Some(ProblemKind::DuplicateOption));
    let err = refused("aws s3 sync d s3://b1b --exclude");
    assert_eq!(err.kind(), Some(ProblemKind::MissingValue));
    let err = refused("aws s3 sync d s3://b1b --delete=yes");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidType));
    for opt in [
        "--page-size 10",
        "--follow-symlinks",
        "--sse AES256",
        "--storage-class STANDARD_IA",
        "--metadata a=b",
    ] {
        let err = refused(&format!("aws s3 sync d s3://b1b {opt}"));
        assert_eq!(err.kind(), Some(ProblemKind::Unsupported), "{opt}");
    }
    let err = refused("aws s3 mv s3://b1b/a b --validate-same-s3-paths");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    // Paths.
    let err = refused("aws s3 sync a b");
    assert!(
        err.to_string()
            .contains("aws s3 sync copies to, from or within S3"),
        "{err}"
    );
    let err = refused("aws s3 mv a.txt b.txt");
    assert!(
        err.to_string()
            .contains("aws s3 mv copies to, from or within S3"),
        "{err}"
    );
    let err = refused("aws s3 sync s3://b1b");
    assert_eq!(err.kind(), Some(ProblemKind::MissingRequired));
    assert!(
        err.to_string().contains("aws s3 sync takes 2 paths"),
        "{err}"
    );
    let err = refused("aws s3 sync - s3://b1b");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    let err = refused("aws s3 sync file:///etc s3://b1b");
    assert!(err.to_string().contains("without file://"), "{err}");
    // mv onto itself, as the AWS CLI refuses it (the copy would be deleted).
    for cmd in [
        "aws s3 mv s3://b1b/a.txt s3://b1b/a.txt",
        "aws s3 mv s3://b1b/a.txt s3://b1b/",
        "aws s3 mv s3://b1b/p s3://b1b/p --recursive",
        "aws s3 mv s3://b1b s3://b1b/",
    ] {
        let err = refused(cmd);
        assert!(
            err.to_string().contains("Cannot mv a file onto itself"),
            "{cmd}: {err}"
        );
    }
    parse("aws s3 mv s3://b1b/a.txt s3://b1b/b/");
    parse("aws s3 mv s3://b1b/p/ s3://b1b/ --recursive");
    // An absolute pattern cannot be matched without the absolute local path.
    let err = refused("aws s3 sync d s3://b1b --exclude '/home/me/d/*'");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    assert!(
        err.to_string().contains("relative to the source directory"),
        "{err}"
    );
    parse("aws s3 sync /data/d s3://b1b --exclude '/data/d/*.tmp'");
    parse("aws s3 sync s3://b1b s3://other --exclude '/x'");
    // The single local source of a mv goes through the policy, as cp's does.
    let err = refused_with(&DenyAll, "aws s3 mv notes.txt s3://b1b/notes.txt");
    assert_eq!(err.kind(), Some(ProblemKind::BadFile));
}
