//! The high-level `aws s3` commands agents use most — `ls`, `mb`, `rb`, `cp`, `mv`, `sync`, `rm`,
//! `presign` — parsed offline into an [`S3Command`].
//!
//! These are AWS CLI customizations, not API operations: one command makes several API calls
//! (`cp --recursive` lists, then uploads each file, switching to multipart above 8 MiB). So the
//! parse result is not an [`crate::OperationCall`] but an [`S3Command`] that names its paths and
//! flags and lists, through [`S3Command::api_calls`], every API operation it may make, for the
//! classifier and the policy; [`S3Command::deletes_local_files`] says when it removes local files
//! (`mv` from a local source, `sync --delete` into a local directory), which no API call shows.
//! The wire engine's `s3` module runs it.
//!
//! `cp`, `mv` and `sync` are one [`S3Op::Cp`] transfer, told apart by its [`Transfer`]: `mv` is a
//! `cp` that deletes each source once its copy succeeded, `sync` a recursive `cp` of what is new or
//! changed (size and last-modified time, as the AWS CLI compares them), deleting what is only at
//! the destination with `--delete`. `--exclude`/`--include` ([`PathFilter`]) apply to all three.
//!
//! Paths follow the AWS CLI: `s3://bucket/key` is remote, anything else is a local path, reached
//! only through the [`PathPolicy`] (a single upload is checked here, while parsing). `file://` is
//! not a local-path syntax of `aws s3` and is refused, as are streams (`-`) and access-point ARNs.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{CommandError, Problem, ProblemKind, did_you_mean};
use crate::files::{FileUse, PathPolicy};
use crate::globals::{GlobalKind, GlobalOptions, global_kind};
use crate::parse::{missing_value, take_global, take_value};

/// One side of a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum S3Path {
    /// A path on the local file system, as written (relative to the working directory).
    Local { path: String },
    /// An object or prefix: `s3://bucket/key`.
    S3 { bucket: String, key: String },
}

impl S3Path {
    /// As the AWS CLI shows it: the local path, or `s3://bucket/key`.
    pub fn uri(&self) -> String {
        match self {
            S3Path::Local { path } => path.clone(),
            S3Path::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, S3Path::S3 { .. })
    }
}

/// Which transfer an [`S3Op::Cp`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// `aws s3 cp`.
    #[default]
    Cp,
    /// `aws s3 mv`: each source is deleted (an S3 object by `DeleteObject`, a local file through
    /// the [`PathPolicy`]) once its copy succeeded.
    Mv,
    /// `aws s3 sync`: always recursive; copies what is missing at the destination or differs in
    /// size or last-modified time; with `--delete`, deletes what is only at the destination.
    Sync,
}

impl Transfer {
    pub fn is_cp(&self) -> bool {
        *self == Transfer::Cp
    }
}

/// An `--exclude` or `--include` pattern of `cp`, `mv` and `sync`, in command-line order (the
/// last one that matches a path decides; everything is included to begin with). Patterns are the
/// AWS CLI's: Python `fnmatch` (`*` also matches `/`), relative to the source (and destination)
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathFilter {
    Exclude(String),
    Include(String),
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an `aws s3` command does, with its paths and flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "subcommand", rename_all = "snake_case")]
pub enum S3Op {
    /// `aws s3 ls [s3://bucket[/prefix]]`: buckets when `bucket` is None.
    Ls {
        bucket: Option<String>,
        prefix: String,
        recursive: bool,
        human_readable: bool,
        summarize: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        page_size: Option<u64>,
    },
    /// `aws s3 mb s3://bucket`.
    Mb { bucket: String },
    /// `aws s3 rb s3://bucket [--force]` (`--force` deletes every object first).
    Rb { bucket: String, force: bool },
    /// `aws s3 cp|mv|sync <src> <dst>`: local→s3, s3→local or s3→s3 (which one: `transfer`,
    /// serialized when it is not `cp`; `recursive` is always set for `sync`).
    Cp {
        src: S3Path,
        dst: S3Path,
        recursive: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        acl: Option<String>,
        dryrun: bool,
        quiet: bool,
        only_show_errors: bool,
        #[serde(skip_serializing_if = "Transfer::is_cp")]
        transfer: Transfer,
        /// `--exclude` / `--include`, in order.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PathFilter>,
        /// `sync --delete`: delete what is at the destination but not (after the filters) at the source.
        #[serde(skip_serializing_if = "is_false")]
        delete: bool,
        /// `sync --size-only`: files of the same size are the same.
        #[serde(skip_serializing_if = "is_false")]
        size_only: bool,
        /// `sync --exact-timestamps`: an S3 → local file of the same size is the same only when
        /// the times are equal (by default, unless the local file is newer).
        #[serde(skip_serializing_if = "is_false")]
        exact_timestamps: bool,
    },
    /// `aws s3 rm s3://bucket/key [--recursive]`.
    Rm {
        bucket: String,
        key: String,
        recursive: bool,
        dryrun: bool,
        quiet: bool,
        only_show_errors: bool,
    },
    /// `aws s3 presign s3://bucket/key [--expires-in N]`: a SigV4 query-signed GET URL; nothing is sent.
    Presign {
        bucket: String,
        key: String,
        expires_in: u64,
    },
}

/// A parsed `aws s3` command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct S3Command {
    pub op: S3Op,
    pub globals: GlobalOptions,
    /// What the reader should know but does not stop the command: a bucket name `mb` cannot
    /// create (S3 refuses it; the AWS CLI does not check). Not part of the digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Largest `--expires-in` SigV4 allows (seven days).
pub const MAX_PRESIGN_SECONDS: u64 = 604_800;

const ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

/// The subcommands that run here.
const SUPPORTED: &[&str] = &["ls", "cp", "mv", "sync", "mb", "rb", "rm", "presign"];
/// `aws s3` subcommands that exist but are not run (yet).
const REFUSED: &[&str] = &["website"];

/// What an option of a subcommand takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptKind {
    Flag,
    Text,
    Count,
    /// `--exclude` / `--include`: a value, given any number of times, order kept.
    Pattern,
}

fn options(sub: &str) -> &'static [(&'static str, OptKind)] {
    use OptKind::*;
    match sub {
        "ls" => &[
            ("recursive", Flag),
            ("human-readable", Flag),
            ("summarize", Flag),
            ("page-size", Count),
        ],
        "cp" | "mv" => &[
            ("recursive", Flag),
            ("content-type", Text),
            ("acl", Text),
            ("dryrun", Flag),
            ("quiet", Flag),
            ("only-show-errors", Flag),
            ("no-progress", Flag),
            ("exclude", Pattern),
            ("include", Pattern),
        ],
        "sync" => &[
            ("delete", Flag),
            ("size-only", Flag),
            ("exact-timestamps", Flag),
            ("content-type", Text),
            ("acl", Text),
            ("dryrun", Flag),
            ("quiet", Flag),
            ("only-show-errors", Flag),
            ("no-progress", Flag),
            ("exclude", Pattern),
            ("include", Pattern),
        ],
        "rm" => &[
            ("recursive", Flag),
            ("dryrun", Flag),
            ("quiet", Flag),
            ("only-show-errors", Flag),
            ("no-progress", Flag),
        ],
        "rb" => &[("force", Flag)],
        "presign" => &[("expires-in", Count)],
        _ => &[],
    }
}

/// Options the AWS CLI has for these subcommands that Portcullis does not run yet: named, so the
/// refusal says "not supported" rather than "unknown".
const NOT_YET: &[&str] = &[
    "include",
    "exclude",
    "follow-symlinks",
    "no-follow-symlinks",
    "no-guess-mime-type",
    "sse",
    "sse-c",
    "sse-c-key",
    "sse-kms-key-id",
    "sse-c-copy-source",
    "sse-c-copy-source-key",
    "storage-class",
    "grants",
    "website-redirect",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "source-region",
    "metadata",
    "metadata-directive",
    "copy-props",
    "expected-size",
    "request-payer",
    "ignore-glacier-warnings",
    "force-glacier-transfer",
    "checksum-mode",
    "checksum-algorithm",
    "case-conflict",
    "bucket-name-prefix",
    "bucket-region",
    "tags",
    "progress-frequency",
    "progress-multiline",
    "page-size",
    "validate-same-s3-paths",
];

impl S3Command {
    /// `aws s3 <subcommand>`.
    pub fn display_name(&self) -> String {
        format!("aws s3 {}", self.subcommand())
    }

    pub fn subcommand(&self) -> &'static str {
        match self.op {
            S3Op::Ls { .. } => "ls",
            S3Op::Mb { .. } => "mb",
            S3Op::Rb { .. } => "rb",
            S3Op::Cp {
                transfer: Transfer::Cp,
                ..
            } => "cp",
            S3Op::Cp {
                transfer: Transfer::Mv,
                ..
            } => "mv",
            S3Op::Cp {
                transfer: Transfer::Sync,
                ..
            } => "sync",
            S3Op::Rm { .. } => "rm",
            S3Op::Presign { .. } => "presign",
        }
    }

    /// Every API operation (service, operation) this command may call, in the order it would
    /// first call them. `presign` calls nothing but signs a `GetObject` that anyone holding the
    /// URL can make, so it lists that.
    pub fn api_calls(&self) -> Vec<(&'static str, &'static str)> {
        let ops: &[&'static str] = match &self.op {
            S3Op::Ls { bucket: None, .. } => &["ListBuckets"],
            S3Op::Ls { .. } => &["ListObjectsV2"],
            S3Op::Mb { .. } => &["CreateBucket"],
            S3Op::Rb { force: false, .. } => &["DeleteBucket"],
            S3Op::Rb { force: true, .. } => &["ListObjectsV2", "DeleteObject", "DeleteBucket"],
            S3Op::Rm {
                recursive: false,
                dryrun,
                ..
            } => {
                if *dryrun {
                    &[]
                } else {
                    &["DeleteObject"]
                }
            }
            S3Op::Rm {
                recursive: true,
                dryrun,
                ..
            } => {
                if *dryrun {
                    &["ListObjectsV2"]
                } else {
                    &["ListObjectsV2", "DeleteObject"]
                }
            }
            S3Op::Presign { .. } => &["GetObject"],
            S3Op::Cp {
                transfer: Transfer::Sync,
                src,
                dst,
                dryrun,
                delete,
                ..
            } => match (src.is_s3(), dst.is_s3(), *dryrun, *delete) {
                // A dry run lists (the S3 side or sides) to compare, and changes nothing.
                (_, _, true, _) => &["ListObjectsV2"],
                (false, true, false, false) => &[
                    "ListObjectsV2",
                    "PutObject",
                    "CreateMultipartUpload",
                    "UploadPart",
                    "CompleteMultipartUpload",
                    "AbortMultipartUpload",
                ],
                (false, true, false, true) => &[
                    "ListObjectsV2",
                    "PutObject",
                    "CreateMultipartUpload",
                    "UploadPart",
                    "CompleteMultipartUpload",
                    "AbortMultipartUpload",
                    "DeleteObject",
                ],
                // Local files deleted by --delete make no API call: see deletes_local_files.
                (true, false, false, _) => &["ListObjectsV2", "GetObject"],
                (true, true, false, false) => &["ListObjectsV2", "CopyObject"],
                (true, true, false, true) => &["ListObjectsV2", "CopyObject", "DeleteObject"],
                _ => &[],
            },
            S3Op::Cp {
                transfer: Transfer::Mv,
                src,
                dst,
                recursive,
                dryrun,
                ..
            } => match (src.is_s3(), dst.is_s3(), *recursive, *dryrun) {
                (false, true, _, true) => &[],
                // The local source is removed through the path policy: see deletes_local_files.
                (false, true, _, false) => &[
                    "PutObject",
                    "CreateMultipartUpload",
                    "UploadPart",
                    "CompleteMultipartUpload",
                    "AbortMultipartUpload",
                ],
                (true, false, false, true) => &["HeadObject"],
                (true, false, false, false) => &["HeadObject", "GetObject", "DeleteObject"],
                (true, false, true, true) => &["ListObjectsV2"],
                (true, false, true, false) => &["ListObjectsV2", "GetObject", "DeleteObject"],
                (true, true, false, true) => &["HeadObject"],
                (true, true, false, false) => &["HeadObject", "CopyObject", "DeleteObject"],
                (true, true, true, true) => &["ListObjectsV2"],
                (true, true, true, false) => &["ListObjectsV2", "CopyObject", "DeleteObject"],
                (false, false, _, _) => &[],
            },
            S3Op::Cp {
                src,
                dst,
                recursive,
                dryrun,
                ..
            } => match (src.is_s3(), dst.is_s3(), *recursive, *dryrun) {
                (false, true, _, true) => &[],
                (false, true, _, false) => &[
                    "PutObject",
                    "CreateMultipartUpload",
                    "UploadPart",
                    "CompleteMultipartUpload",
                    "AbortMultipartUpload",
                ],
                (true, false, false, true) => &["HeadObject"],
                (true, false, false, false) => &["HeadObject", "GetObject"],
                (true, false, true, true) => &["ListObjectsV2"],
                (true, false, true, false) => &["ListObjectsV2", "GetObject"],
                (true, true, false, true) => &["HeadObject"],
                (true, true, false, false) => &["HeadObject", "CopyObject"],
                (true, true, true, true) => &["ListObjectsV2"],
                (true, true, true, false) => &["ListObjectsV2", "CopyObject"],
                (false, false, _, _) => &[],
            },
        };
        ops.iter().map(|op| ("s3", *op)).collect()
    }

    /// The buckets this command touches (source and destination).
    pub fn buckets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = match &self.op {
            S3Op::Ls { bucket, .. } => bucket.iter().map(String::as_str).collect(),
            S3Op::Mb { bucket }
            | S3Op::Rb { bucket, .. }
            | S3Op::Rm { bucket, .. }
            | S3Op::Presign { bucket, .. } => vec![bucket.as_str()],
            S3Op::Cp { src, dst, .. } => [src, dst]
                .into_iter()
                .filter_map(|p| match p {
                    S3Path::S3 { bucket, .. } => Some(bucket.as_str()),
                    S3Path::Local { .. } => None,
                })
                .collect(),
        };
        out.dedup();
        out
    }

    /// Local paths the command reads (`read`), writes (`write`) or deletes files from or under
    /// (`delete`).
    pub fn local_paths(&self) -> Vec<(&'static str, &str)> {
        let deletes = self.deletes_local_files();
        match &self.op {
            S3Op::Cp {
                src: S3Path::Local { path },
                ..
            } if deletes => vec![("read", path), ("delete", path)],
            S3Op::Cp {
                src: S3Path::Local { path },
                ..
            } => vec![("read", path)],
            S3Op::Cp {
                dst: S3Path::Local { path },
                ..
            } if deletes => vec![("write", path), ("delete", path)],
            S3Op::Cp {
                dst: S3Path::Local { path },
                ..
            } => vec![("write", path)],
            _ => Vec::new(),
        }
    }

    /// Whether the command removes local files — `aws s3 mv` from a local source (each file once
    /// it is uploaded), `aws s3 sync --delete` into a local directory (files not in the source) —
    /// which no API operation in [`S3Command::api_calls`] shows. Such a command is destructive.
    /// A `--dryrun` removes nothing.
    pub fn deletes_local_files(&self) -> bool {
        matches!(
            &self.op,
            S3Op::Cp {
                transfer: Transfer::Mv,
                src: S3Path::Local { .. },
                dryrun: false,
                ..
            } | S3Op::Cp {
                transfer: Transfer::Sync,
                dst: S3Path::Local { .. },
                delete: true,
                dryrun: false,
                ..
            }
        )
    }

    /// The canonical form of what will run; consent and audit refer to its digest.
    pub fn normalized(&self) -> serde_json::Value {
        serde_json::json!({ "command": "s3", "op": self.op, "globals": self.globals })
    }

    /// SHA-256 of the compact normalized form, hex.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(&self.normalized()).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// Whether `words` (`aws ...`) is an `aws s3 ...` command: the first word after the global
/// options is `s3`.
pub(crate) fn is_s3_command(words: &[String]) -> bool {
    let mut i = 1;
    while let Some(w) = words.get(i) {
        let Some(opt) = w.strip_prefix("--") else {
            return w == "s3";
        };
        i += 1;
        if opt.contains('=') {
            continue;
        }
        match global_kind(opt) {
            Some(GlobalKind::Flag) => {}
            Some(_) => i += 1,
            None => return false,
        }
    }
    false
}

/// Parses `aws [globals] s3 <subcommand> ...`; every problem is reported at once.
pub(crate) fn parse(words: &[String], policy: &dyn PathPolicy) -> Result<S3Command, CommandError> {
    let mut globals = GlobalOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut positionals: Vec<String> = Vec::new();
    let mut flags: Vec<&'static str> = Vec::new();
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut filters: Vec<PathFilter> = Vec::new();
    let mut sub: Option<&'static str> = None;
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(opt) = word.strip_prefix("--").filter(|o| !o.is_empty()) else {
            if positionals.is_empty() {
                // The `s3` command word itself.
                positionals.push(word.clone());
                continue;
            }
            if sub.is_none() {
                sub = Some(subcommand(word)?);
                continue;
            }
            positionals.push(word.clone());
            continue;
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (opt, None),
        };
        if take_global(
            name,
            inline.as_deref(),
            words,
            &mut i,
            &mut globals,
            &mut seen,
            &mut problems,
        ) {
            continue;
        }
        let Some(s) = sub else {
            return Err(Problem::new(
                ProblemKind::UnknownOperation,
                format!(
                    "--{name} comes before the subcommand; write aws s3 <{}> ... --{name}",
                    SUPPORTED.join("|")
                ),
            )
            .into());
        };
        let table = options(s);
        let Some(&(canonical, kind)) = table.iter().find(|(n, _)| *n == name) else {
            let mut p = if NOT_YET.contains(&name) {
                Problem::new(
                    ProblemKind::Unsupported,
                    format!("--{name} of aws s3 {s} is not supported by Portcullis yet"),
                )
            } else {
                Problem::new(
                    ProblemKind::UnknownOption,
                    format!("--{name} is not an option of aws s3 {s}"),
                )
                .suggest(
                    did_you_mean(name, table.iter().map(|(n, _)| *n))
                        .into_iter()
                        .map(|n| format!("--{n}"))
                        .collect(),
                )
            };
            let known: Vec<String> = table.iter().map(|(n, _)| format!("--{n}")).collect();
            p.message.push_str(&if known.is_empty() {
                "; it takes no options".to_string()
            } else {
                format!("; its options are: {}", known.join(" "))
            });
            problems.push(p);
            // Skip what was probably its value.
            if inline.is_none()
                && words
                    .get(i)
                    .is_some_and(|w| !w.starts_with("--") && !w.starts_with("s3://"))
                && kind_guess(name)
            {
                i += 1;
            }
            continue;
        };
        if kind != OptKind::Pattern
            && (flags.contains(&canonical) || values.iter().any(|(n, _)| *n == canonical))
        {
            problems.push(Problem::new(
                ProblemKind::DuplicateOption,
                format!("--{name} is given more than once; give it once"),
            ));
        }
        match kind {
            OptKind::Pattern => match inline.or_else(|| take_value(words, &mut i)) {
                Some(v) if canonical == "include" => filters.push(PathFilter::Include(v)),
                Some(v) => filters.push(PathFilter::Exclude(v)),
                None => problems.push(missing_value(name, words.get(i))),
            },
            OptKind::Flag => {
                if inline.is_some() {
                    problems.push(Problem::new(
                        ProblemKind::InvalidType,
                        format!("--{name} is a flag and takes no value"),
                    ));
                }
                flags.push(canonical);
            }
            OptKind::Text | OptKind::Count => match inline.or_else(|| take_value(words, &mut i)) {
                Some(v) => values.push((canonical, v)),
                None => problems.push(missing_value(name, words.get(i))),
            },
        }
    }
    let Some(sub) = sub else {
        return Err(Problem::new(
            ProblemKind::UnknownOperation,
            format!(
                "no subcommand given; write aws s3 <{}> ...",
                SUPPORTED.join("|")
            ),
        )
        .suggest(SUPPORTED.iter().map(|s| s.to_string()).collect())
        .into());
    };
    let paths = &positionals[1..];
    let flag = |n: &str| flags.contains(&n);
    let text = |n: &str| values.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    let mut count = |n: &str, min: u64, max: u64| -> Option<u64> {
        let v = text(n)?;
        match v.trim().parse::<u64>() {
            Ok(c) if (min..=max).contains(&c) => Some(c),
            _ => {
                problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    format!("--{n} takes a whole number from {min} to {max}, not {v:?}"),
                ));
                None
            }
        }
    };
    let op = match sub {
        "ls" => {
            let page_size = count("page-size", 1, 1000);
            let (bucket, prefix) = match paths {
                [] => (None, String::new()),
                [p] => {
                    let rest = p.strip_prefix("s3://").unwrap_or(p);
                    let (b, k) = split_bucket_key(rest, &mut problems);
                    if b.is_empty() && !k.is_empty() {
                        problems.push(Problem::new(
                            ProblemKind::InvalidValue,
                            format!("{p:?} has no bucket name; write s3://bucket/prefix"),
                        ));
                    }
                    ((!b.is_empty()).then_some(b), k)
                }
                more => {
                    problems.push(too_many("ls", "[s3://bucket[/prefix]]", more));
                    (None, String::new())
                }
            };
            S3Op::Ls {
                bucket,
                prefix,
                recursive: flag("recursive"),
                human_readable: flag("human-readable"),
                summarize: flag("summarize"),
                page_size,
            }
        }
        "mb" | "rb" => {
            let bucket = match paths {
                [p] => match p.strip_prefix("s3://") {
                    Some(rest) => {
                        let (b, k) = split_bucket_key(rest, &mut problems);
                        if b.is_empty() {
                            problems.push(Problem::new(
                                ProblemKind::InvalidValue,
                                format!("{p:?} has no bucket name; write s3://bucket"),
                            ));
                        } else if sub == "rb" && !k.is_empty() {
                            problems.push(Problem::new(
                                ProblemKind::InvalidValue,
                                format!("give a bucket name only, e.g. s3://{b}, not {p:?}"),
                            ));
                        }
                        b
                    }
                    None => {
                        problems.push(Problem::new(
                            ProblemKind::InvalidValue,
                            format!("aws s3 {sub} takes an S3 URI like s3://my-bucket, not {p:?}"),
                        ));
                        String::new()
                    }
                },
                other => {
                    problems.push(path_count(sub, "s3://bucket", 1, other.len()));
                    String::new()
                }
            };
            if sub == "mb" {
                S3Op::Mb { bucket }
            } else {
                S3Op::Rb {
                    bucket,
                    force: flag("force"),
                }
            }
        }
        "rm" => {
            let recursive = flag("recursive");
            let (bucket, key) = match paths {
                [p] => match p.strip_prefix("s3://") {
                    Some(rest) => {
                        let (b, k) = split_bucket_key(rest, &mut problems);
                        if b.is_empty() {
                            problems.push(Problem::new(
                                ProblemKind::InvalidValue,
                                format!("{p:?} has no bucket name; write s3://bucket/key"),
                            ));
                        } else if k.is_empty() && !recursive {
                            problems.push(Problem::new(
                                ProblemKind::MissingRequired,
                                format!("{p:?} names no object; write s3://{b}/key, or add --recursive to delete every object under it"),
                            ));
                        }
                        (b, k)
                    }
                    None => {
                        problems.push(Problem::new(
                            ProblemKind::InvalidValue,
                            format!("aws s3 rm takes an S3 URI like s3://bucket/key, not {p:?}"),
                        ));
                        (String::new(), String::new())
                    }
                },
                other => {
                    problems.push(path_count("rm", "s3://bucket/key", 1, other.len()));
                    (String::new(), String::new())
                }
            };
            S3Op::Rm {
                bucket,
                key,
                recursive,
                dryrun: flag("dryrun"),
                quiet: flag("quiet"),
                only_show_errors: flag("only-show-errors"),
            }
        }
        "presign" => {
            let expires_in = match text("expires-in") {
                Some(_) => count("expires-in", 1, MAX_PRESIGN_SECONDS).unwrap_or(3600),
                None => 3600,
            };
            let (bucket, key) = match paths {
                [p] => {
                    let rest = p.strip_prefix("s3://").unwrap_or(p);
                    let (b, k) = split_bucket_key(rest, &mut problems);
                    if b.is_empty() || k.is_empty() {
                        problems.push(Problem::new(
                            ProblemKind::InvalidValue,
                            format!("aws s3 presign needs an object: s3://bucket/key, not {p:?}"),
                        ));
                    }
                    (b, k)
                }
                other => {
                    problems.push(path_count("presign", "s3://bucket/key", 1, other.len()));
                    (String::new(), String::new())
                }
            };
            S3Op::Presign {
                bucket,
                key,
                expires_in,
            }
        }
        _ => {
            // cp, mv, sync
            let transfer = match sub {
                "mv" => Transfer::Mv,
                "sync" => Transfer::Sync,
                _ => Transfer::Cp,
            };
            let recursive = transfer == Transfer::Sync || flag("recursive");
            let acl = text("acl");
            if let Some(a) = &acl
                && !ACLS.contains(&a.as_str())
            {
                problems.push(
                    Problem::new(
                        ProblemKind::InvalidValue,
                        format!("--acl must be one of {}, not {a:?}", ACLS.join(", ")),
                    )
                    .suggest(did_you_mean(a, ACLS.iter().copied())),
                );
            }
            let before = problems.len();
            let (src, dst) = match paths {
                [a, b] => (cp_path(a, &mut problems), cp_path(b, &mut problems)),
                other => {
                    problems.push(path_count(
                        sub,
                        "<LocalPath> <S3Uri> or <S3Uri> <LocalPath> or <S3Uri> <S3Uri>",
                        2,
                        other.len(),
                    ));
                    (
                        S3Path::Local {
                            path: String::new(),
                        },
                        S3Path::Local {
                            path: String::new(),
                        },
                    )
                }
            };
            if paths.len() == 2 && !src.is_s3() && !dst.is_s3() {
                problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    format!(
                        "aws s3 {sub} copies to, from or within S3: at least one path must be an S3 URI (s3://bucket/key); local-to-local {} are not run",
                        if sub == "sync" { "syncs" } else { "copies" }
                    ),
                ));
            }
            if transfer == Transfer::Mv
                && let (Some(a), Some(b)) = (paths.first(), paths.get(1))
                && src.is_s3()
                && dst.is_s3()
                && same_s3_path(a, b)
            {
                // The AWS CLI's own check: the copy would be deleted right after it was made.
                problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    format!("Cannot mv a file onto itself: {a} - {b}"),
                ));
            }
            // A pattern is joined to the absolute path of a local directory, which is known here
            // only when the path is absolute: an absolute pattern with a relative local path
            // cannot be matched as the AWS CLI matches it, so it is refused (rather than risk
            // copying or deleting what it was meant to exclude).
            let relative_local = [&src, &dst]
                .iter()
                .any(|p| matches!(p, S3Path::Local { path } if !path.starts_with('/')));
            for f in &filters {
                let (PathFilter::Exclude(pat) | PathFilter::Include(pat)) = f;
                if pat.starts_with('/') && relative_local {
                    problems.push(Problem::new(
                        ProblemKind::Unsupported,
                        format!(
                            "the pattern {pat:?} is absolute, and the local path is relative: give patterns relative to the source directory (e.g. \"*.tmp\", \"logs/*\"), or an absolute local path"
                        ),
                    ));
                }
            }
            // Only a well-formed command gets near the file system.
            if let (S3Path::Local { path }, true, false) = (&src, dst.is_s3(), recursive)
                && problems.len() == before
                && let Err(e) = policy.check(path, FileUse::S3Upload)
            {
                problems.push(Problem::new(ProblemKind::BadFile, e.0).at(path.clone()));
            }
            // A download target that cannot be written is refused before anything is fetched (a
            // directory target keeps the object's name, and is checked when the file is written).
            if let (true, S3Path::Local { path }) = (src.is_s3(), &dst)
                && problems.len() == before
                && !recursive
                && !path.ends_with('/')
                && path != "-"
                && !policy.is_dir(path)
                && let Err(e) = policy.check_write(path)
            {
                problems.push(Problem::new(ProblemKind::BadFile, e.0).at(path.clone()));
            }
            S3Op::Cp {
                src,
                dst,
                recursive,
                content_type: text("content-type"),
                acl,
                dryrun: flag("dryrun"),
                quiet: flag("quiet"),
                only_show_errors: flag("only-show-errors"),
                transfer,
                filters,
                delete: flag("delete"),
                size_only: flag("size-only"),
                exact_timestamps: flag("exact-timestamps"),
            }
        }
    };
    if !problems.is_empty() {
        return Err(CommandError { problems });
    }
    let mut warnings = Vec::new();
    if let S3Op::Mb { bucket } = &op
        && let Some(why) = crate::validate::new_bucket_name_problem(bucket)
    {
        warnings.push(why);
    }
    Ok(S3Command {
        op,
        globals,
        warnings,
    })
}

fn subcommand(word: &str) -> Result<&'static str, Problem> {
    if let Some(s) = SUPPORTED.iter().find(|s| **s == word) {
        return Ok(s);
    }
    if REFUSED.contains(&word) {
        let hint = "use aws s3api put-bucket-website";
        return Err(Problem::new(
            ProblemKind::Unsupported,
            format!("`aws s3 {word}` is not run by Portcullis yet; {hint}"),
        ));
    }
    Err(Problem::new(
        ProblemKind::UnknownOperation,
        format!(
            "{word:?} is not an aws s3 subcommand; the ones run here are {}",
            SUPPORTED.join(", ")
        ),
    )
    .suggest(did_you_mean(word, SUPPORTED.iter().chain(REFUSED).copied())))
}

/// Whether an unsupported option probably takes a value (so the next word is skipped).
fn kind_guess(name: &str) -> bool {
    !matches!(
        name,
        "follow-symlinks"
            | "no-follow-symlinks"
            | "no-guess-mime-type"
            | "ignore-glacier-warnings"
            | "force-glacier-transfer"
            | "progress-multiline"
            | "validate-same-s3-paths"
            // Flags of other subcommands given to the wrong one.
            | "recursive"
            | "delete"
            | "size-only"
            | "exact-timestamps"
            | "dryrun"
            | "quiet"
            | "only-show-errors"
            | "no-progress"
            | "force"
            | "summarize"
            | "human-readable"
    )
}

/// `bucket/key` → (bucket, key), as the AWS CLI splits it (the key keeps every later `/`).
fn split_bucket_key(rest: &str, problems: &mut Vec<Problem>) -> (String, String) {
    if rest.starts_with("arn:") {
        problems.push(Problem::new(ProblemKind::Unsupported, format!("access point and Outposts ARNs ({rest:?}) are not supported by aws s3 here yet; use a bucket name")));
        return (String::new(), String::new());
    }
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if !bucket.is_empty()
        && (bucket.len() > 255
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
    {
        problems.push(Problem::new(
            ProblemKind::InvalidValue,
            format!("{bucket:?} is not a bucket name: bucket names use lowercase letters, digits, dots and hyphens"),
        ));
    }
    (bucket.to_string(), key.to_string())
}

fn cp_path(word: &str, problems: &mut Vec<Problem>) -> S3Path {
    if let Some(rest) = word.strip_prefix("s3://") {
        let (bucket, key) = split_bucket_key(rest, problems);
        if bucket.is_empty() && !rest.starts_with("arn:") {
            problems.push(Problem::new(
                ProblemKind::InvalidValue,
                format!("{word:?} has no bucket name; write s3://bucket/key"),
            ));
        }
        return S3Path::S3 { bucket, key };
    }
    if word.is_empty() {
        problems.push(Problem::new(
            ProblemKind::InvalidValue,
            "a local path is empty",
        ));
    } else if word == "-" {
        problems.push(Problem::new(ProblemKind::Unsupported, "streaming from standard input or to standard output (-) is not supported; copy to or from a file"));
    } else if word.contains("://") {
        problems.push(Problem::new(
            ProblemKind::InvalidValue,
            format!("{word:?} is neither an S3 URI (s3://bucket/key) nor a plain local path; aws s3 takes local paths without file://"),
        ));
    } else if word.contains('\0') {
        problems.push(Problem::new(
            ProblemKind::InvalidValue,
            "a local path contains a NUL character",
        ));
    }
    S3Path::Local {
        path: word.to_string(),
    }
}

/// The AWS CLI's `_same_path` for `mv` between S3 paths (as written, a bucket alone taken with a
/// trailing `/`): the same path, or a destination "directory" that would keep the source's name.
fn same_s3_path(src: &str, dest: &str) -> bool {
    let norm = |p: &str| {
        if p.strip_prefix("s3://").is_some_and(|r| !r.contains('/')) {
            format!("{p}/")
        } else {
            p.to_string()
        }
    };
    let (src, dest) = (norm(src), norm(dest));
    if src == dest {
        return true;
    }
    let Some(dir) = dest.strip_suffix('/') else {
        return false;
    };
    let base = src.rsplit('/').next().unwrap_or_default();
    src == format!("{dir}/{base}")
}

fn too_many(sub: &str, usage: &str, given: &[String]) -> Problem {
    Problem::new(
        ProblemKind::InvalidValue,
        format!(
            "aws s3 {sub} takes at most one path ({usage}); {} were given: {}",
            given.len(),
            given.join(" ")
        ),
    )
}

fn path_count(sub: &str, usage: &str, want: usize, got: usize) -> Problem {
    let kind = if got < want {
        ProblemKind::MissingRequired
    } else {
        ProblemKind::InvalidValue
    };
    Problem::new(
        kind,
        format!(
            "aws s3 {sub} takes {want} path{} ({usage}); {got} given",
            if want == 1 { "" } else { "s" }
        ),
    )
}
