//! `aws s3 cp` and `aws s3 mv` (upload, download, copy; one object or `--recursive`;
//! `--exclude`/`--include`) and `aws s3 rm`; the jobs (`Job`) `aws s3 sync` runs too.
//!
//! Transfers run one after another, in sorted order (the AWS CLI runs ten at a time, so its
//! lines come in completion order). Uploads of 8 MiB or more go as multipart uploads of 8 MiB
//! parts, aborted when a part fails; copies use `CopyObject` (up to 5 GiB); downloads are one
//! `GetObject`, bounded by the engine's response limit, and get the object's `LastModified` as
//! their modification time (as the AWS CLI does; `sync` compares it). `mv` deletes each source
//! once its copy succeeded: an object by `DeleteObject`, a local file through the policy. Local
//! files are read, listed, written and removed only through the
//! [`PathPolicy`](portcullis_cli::PathPolicy).

use base64::Engine as _;
use indexmap::IndexMap;
use portcullis_cli::s3cmd::Transfer;
use portcullis_cli::{FileUse, S3Op, S3Path, Value};
use serde_json::Value as Json;

use super::filter::{Filter, local_file, s3_file};
use super::format::{basename, escapes, guess_content_type, join, local};
use super::listing::MAX_PAGES;
use super::{Ctx, S3Error, S3Outcome, params, s};
use crate::execute::ExecError;
use crate::protocol::serialize::percent_encode_path;
use crate::protocol::timestamp::Timestamp;

/// The AWS CLI's multipart threshold and part size (8 MiB each).
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;
/// S3 allows at most 10,000 parts.
const MAX_PARTS: usize = 10_000;
/// Largest object `CopyObject` copies.
const MAX_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// How results are printed (`--quiet`, `--only-show-errors`, `--dryrun`).
#[derive(Clone, Copy)]
pub(crate) struct Printer {
    pub quiet: bool,
    pub only_errors: bool,
    pub dryrun: bool,
}

impl Printer {
    pub(crate) fn success(&self, out: &mut S3Outcome, kind: &str, location: &str) {
        if self.quiet || self.only_errors {
            return;
        }
        let dry = if self.dryrun { "(dryrun) " } else { "" };
        out.stdout.push_str(&format!("{dry}{kind}: {location}\n"));
    }

    pub(crate) fn failure(&self, out: &mut S3Outcome, kind: &str, location: &str, e: S3Error) {
        if !self.quiet {
            out.stderr
                .push_str(&format!("{kind} failed: {location} {e}\n"));
        }
        out.exit_code = 1;
        out.error = Some(e);
    }

    pub(crate) fn fatal(&self, out: &mut S3Outcome, e: S3Error) {
        if !self.quiet {
            out.stderr.push_str(&format!("fatal error: {e}\n"));
        }
        out.exit_code = 1;
        out.error = Some(e);
    }

    pub(crate) fn warning(&self, out: &mut S3Outcome, message: &str) {
        if !self.quiet {
            out.stderr.push_str(&format!("warning: {message}\n"));
        }
        if out.exit_code == 0 {
            out.exit_code = 2;
        }
    }
}

/// Object settings given on the command line, and how results are worded.
pub(crate) struct Settings<'a> {
    pub content_type: Option<&'a str>,
    pub acl: Option<&'a str>,
    pub printer: Printer,
    /// `mv`: each source is deleted once copied, and results say `move`.
    pub mv: bool,
}

/// An object as a listing or `HeadObject` shows it.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub key: String,
    pub size: u64,
    pub modified: Option<Timestamp>,
}

/// One transfer or deletion, as the AWS CLI's `FileInfo` is one.
pub(crate) enum Job {
    Upload {
        path: String,
        bucket: String,
        key: String,
    },
    Download {
        bucket: String,
        key: String,
        dest: String,
        modified: Option<Timestamp>,
    },
    Copy {
        bucket: String,
        key: String,
        size: u64,
        dest_bucket: String,
        dest_key: String,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    DeleteFile {
        path: String,
    },
}

impl Job {
    /// What the CLI calls it (`upload`, ...), and where: `src to dest`, or the deleted path.
    fn describe(&self) -> (&'static str, String) {
        match self {
            Job::Upload { path, bucket, key } => {
                ("upload", format!("{} to s3://{bucket}/{key}", local(path)))
            }
            Job::Download {
                bucket, key, dest, ..
            } => (
                "download",
                format!("s3://{bucket}/{key} to {}", local(dest)),
            ),
            Job::Copy {
                bucket,
                key,
                dest_bucket,
                dest_key,
                ..
            } => (
                "copy",
                format!("s3://{bucket}/{key} to s3://{dest_bucket}/{dest_key}"),
            ),
            Job::DeleteObject { bucket, key } => ("delete", format!("s3://{bucket}/{key}")),
            Job::DeleteFile { path } => ("delete", local(path)),
        }
    }
}

/// Runs one job and prints its result line (a dry run only prints it). For `mv`, the source is
/// deleted once the copy succeeded; the move failed if that deletion failed.
pub(crate) async fn run(ctx: &Ctx<'_>, job: Job, set: &Settings<'_>, out: &mut S3Outcome) {
    let moving = set.mv && !matches!(job, Job::DeleteObject { .. } | Job::DeleteFile { .. });
    let (kind, location) = job.describe();
    let kind = if moving { "move" } else { kind };
    if set.printer.dryrun {
        return set.printer.success(out, kind, &location);
    }
    let mut result = match &job {
        Job::Upload { path, bucket, key } => upload(ctx, path, bucket, key, set).await,
        Job::Download {
            bucket,
            key,
            dest,
            modified,
        } => download(ctx, bucket, key, dest, *modified, set, out).await,
        Job::Copy {
            bucket,
            key,
            size,
            dest_bucket,
            dest_key,
        } => copy(ctx, bucket, key, *size, dest_bucket, dest_key, set).await,
        Job::DeleteObject { bucket, key } => ctx
            .call(
                "DeleteObject",
                params([("Bucket", s(bucket)), ("Key", s(key))]),
            )
            .await
            .map(|_| ()),
        Job::DeleteFile { path } => ctx.files.remove(path).map_err(|e| S3Error::File(e.0)),
    };
    if moving && result.is_ok() {
        result = match &job {
            Job::Upload { path, .. } => ctx.files.remove(path).map_err(|e| S3Error::File(e.0)),
            Job::Download { bucket, key, .. } | Job::Copy { bucket, key, .. } => ctx
                .call(
                    "DeleteObject",
                    params([("Bucket", s(bucket)), ("Key", s(key))]),
                )
                .await
                .map(|_| ()),
            Job::DeleteObject { .. } | Job::DeleteFile { .. } => Ok(()),
        };
    }
    match result {
        Ok(()) => set.printer.success(out, kind, &location),
        Err(e) => set.printer.failure(out, kind, &location, e),
    }
}

/// `aws s3 cp` and `aws s3 mv` (`aws s3 sync` is handed on).
pub(crate) async fn cp(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Cp {
        src,
        dst,
        recursive,
        content_type,
        acl,
        dryrun,
        quiet,
        only_show_errors,
        transfer,
        filters,
        ..
    } = op
    else {
        return S3Outcome::default();
    };
    if *transfer == Transfer::Sync {
        return super::sync::sync(ctx, op).await;
    }
    let set = Settings {
        content_type: content_type.as_deref(),
        acl: acl.as_deref(),
        printer: Printer {
            quiet: *quiet,
            only_errors: *only_show_errors,
            dryrun: *dryrun,
        },
        mv: *transfer == Transfer::Mv,
    };
    let filter = Filter::new(filters, src, dst, *recursive);
    let mut out = S3Outcome::default();
    match (src, dst) {
        (S3Path::Local { path }, S3Path::S3 { bucket, key }) => {
            if *recursive {
                upload_dir(ctx, path, bucket, key, &filter, &set, &mut out).await;
            } else if filter.includes(&local_file(path, "")) {
                let dest_key = if key.is_empty() || key.ends_with('/') {
                    format!("{key}{}", basename(path))
                } else {
                    key.clone()
                };
                run(
                    ctx,
                    Job::Upload {
                        path: path.clone(),
                        bucket: bucket.clone(),
                        key: dest_key,
                    },
                    &set,
                    &mut out,
                )
                .await;
            }
        }
        (S3Path::S3 { bucket, key }, S3Path::Local { path }) => {
            if *recursive {
                each_object(
                    ctx,
                    bucket,
                    key,
                    &filter,
                    &set,
                    &mut out,
                    Target::Local(path),
                )
                .await;
            } else if let Some(head) = head(ctx, bucket, key, &set, &mut out).await
                && filter.includes(&s3_file(bucket, key))
            {
                let dest = if path.ends_with('/') || ctx.files.is_dir(path) {
                    join(path, basename(key))
                } else {
                    path.clone()
                };
                run(
                    ctx,
                    Job::Download {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        dest,
                        modified: head.modified,
                    },
                    &set,
                    &mut out,
                )
                .await;
            }
        }
        (
            S3Path::S3 { bucket, key },
            S3Path::S3 {
                bucket: dest_bucket,
                key: dest_key,
            },
        ) => {
            if *recursive {
                each_object(
                    ctx,
                    bucket,
                    key,
                    &filter,
                    &set,
                    &mut out,
                    Target::S3(dest_bucket, dest_key),
                )
                .await;
            } else if let Some(head) = head(ctx, bucket, key, &set, &mut out).await
                && filter.includes(&s3_file(bucket, key))
            {
                let dest_key = if dest_key.is_empty() || dest_key.ends_with('/') {
                    format!("{dest_key}{}", basename(key))
                } else {
                    dest_key.clone()
                };
                let job = Job::Copy {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    size: head.size,
                    dest_bucket: dest_bucket.clone(),
                    dest_key,
                };
                run(ctx, job, &set, &mut out).await;
            }
        }
        (S3Path::Local { .. }, S3Path::Local { .. }) => {}
    }
    out
}

pub(crate) async fn rm(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Rm {
        bucket,
        key,
        recursive,
        dryrun,
        quiet,
        only_show_errors,
    } = op
    else {
        return S3Outcome::default();
    };
    let mut out = S3Outcome::default();
    if *recursive {
        delete_prefix(
            ctx,
            bucket,
            &dir_prefix(key),
            *dryrun,
            *quiet,
            *only_show_errors,
            &mut out,
        )
        .await;
    } else {
        let printer = Printer {
            quiet: *quiet,
            only_errors: *only_show_errors,
            dryrun: *dryrun,
        };
        delete_one(ctx, bucket, key, printer, &mut out).await;
    }
    out
}

/// Deletes every object under `prefix` (`rm --recursive`, `rb --force`), one `DeleteObject`
/// each, as the AWS CLI does (a batched `DeleteObjects` needs a body checksum the engine does
/// not compute).
pub(crate) async fn delete_prefix(
    ctx: &Ctx<'_>,
    bucket: &str,
    prefix: &str,
    dryrun: bool,
    quiet: bool,
    only_errors: bool,
    out: &mut S3Outcome,
) {
    let printer = Printer {
        quiet,
        only_errors,
        dryrun,
    };
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (objects, next) = match list_page(ctx, bucket, prefix, token.take()).await {
            Ok(page) => page,
            Err(e) => return printer.fatal(out, e),
        };
        for o in objects {
            delete_one(ctx, bucket, &o.key, printer, out).await;
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
}

async fn delete_one(ctx: &Ctx<'_>, bucket: &str, key: &str, printer: Printer, out: &mut S3Outcome) {
    let location = format!("s3://{bucket}/{key}");
    if printer.dryrun {
        return printer.success(out, "delete", &location);
    }
    match ctx
        .call(
            "DeleteObject",
            params([("Bucket", s(bucket)), ("Key", s(key))]),
        )
        .await
    {
        Ok(_) => printer.success(out, "delete", &location),
        Err(e) => printer.failure(out, "delete", &location, e),
    }
}

/// `key` as a directory prefix: `a` → `a/`, `` stays ``.
pub(crate) fn dir_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
    }
}

/// One page of `ListObjectsV2` under `prefix`, and the next token.
async fn list_page(
    ctx: &Ctx<'_>,
    bucket: &str,
    prefix: &str,
    token: Option<String>,
) -> Result<(Vec<Object>, Option<String>), S3Error> {
    let page = ctx
        .call(
            "ListObjectsV2",
            params([
                ("Bucket", s(bucket)),
                ("Prefix", s(prefix)),
                ("ContinuationToken", token.as_deref().and_then(s)),
            ]),
        )
        .await?;
    let objects = page
        .get("Contents")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Object {
                key: c.get("Key")?.as_str()?.to_string(),
                size: c.get("Size").and_then(Json::as_u64).unwrap_or(0),
                modified: c.get("LastModified").and_then(timestamp),
            })
        })
        .collect();
    let truncated = page
        .get("IsTruncated")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let next = page
        .get("NextContinuationToken")
        .and_then(Json::as_str)
        .filter(|t| truncated && !t.is_empty())
        .map(str::to_string);
    Ok((objects, next))
}

/// Every object under `prefix` except zero-byte "folder" markers (`key/`), which the AWS CLI
/// neither transfers nor compares, in key order.
pub(crate) async fn list_objects(
    ctx: &Ctx<'_>,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Object>, S3Error> {
    let mut all = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (objects, next) = list_page(ctx, bucket, prefix, token.take()).await?;
        all.extend(
            objects
                .into_iter()
                .filter(|o| !(o.size == 0 && o.key.ends_with('/'))),
        );
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(all)
}

fn timestamp(v: &Json) -> Option<Timestamp> {
    match v {
        Json::String(t) => Timestamp::parse(t),
        Json::Number(n) => Timestamp::from_epoch_number(n),
        _ => None,
    }
}

/// `HeadObject` of a single source object, or a fatal error worded as the CLI words it.
async fn head(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    set: &Settings<'_>,
    out: &mut S3Outcome,
) -> Option<Object> {
    if key.is_empty() || key.ends_with('/') {
        set.printer.fatal(
            out,
            S3Error::Unsupported(format!("s3://{bucket}/{key} names no object; give the object's key, or add --recursive to copy everything under it")),
        );
        return None;
    }
    match ctx
        .call(
            "HeadObject",
            params([("Bucket", s(bucket)), ("Key", s(key))]),
        )
        .await
    {
        Ok(v) => Some(Object {
            key: key.to_string(),
            size: v.get("ContentLength").and_then(Json::as_u64).unwrap_or(0),
            modified: v.get("LastModified").and_then(timestamp),
        }),
        Err(S3Error::Call {
            operation,
            error: ExecError::Service(mut e),
        }) if e.code == "404" => {
            e.message = format!("Key \"{key}\" does not exist");
            set.printer.fatal(
                out,
                S3Error::Call {
                    operation,
                    error: ExecError::Service(e),
                },
            );
            None
        }
        Err(e) => {
            set.printer.fatal(out, e);
            None
        }
    }
}

async fn upload_dir(
    ctx: &Ctx<'_>,
    dir: &str,
    bucket: &str,
    key: &str,
    filter: &Filter,
    set: &Settings<'_>,
    out: &mut S3Outcome,
) {
    let files = match ctx.files.list(dir) {
        Ok(f) => f,
        Err(e) => return set.printer.fatal(out, S3Error::File(e.0)),
    };
    let prefix = dir_prefix(key);
    for rel in files {
        if filter.includes(&local_file(dir, &rel)) {
            run(
                ctx,
                Job::Upload {
                    path: join(dir, &rel),
                    bucket: bucket.to_string(),
                    key: format!("{prefix}{rel}"),
                },
                set,
                out,
            )
            .await;
        }
    }
}

async fn upload(
    ctx: &Ctx<'_>,
    path: &str,
    bucket: &str,
    key: &str,
    set: &Settings<'_>,
) -> Result<(), S3Error> {
    let bytes = ctx
        .files
        .read(path, FileUse::S3Upload)
        .map_err(|e| S3Error::File(e.0))?;
    let content_type = set
        .content_type
        .or_else(|| guess_content_type(basename(path)));
    put(ctx, bucket, key, bytes, content_type, set.acl).await
}
/// `PutObject`, or a multipart upload from 8 MiB on.
async fn put(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: Option<&str>,
    acl: Option<&str>,
) -> Result<(), S3Error> {
    if bytes.len() < MULTIPART_THRESHOLD {
        let p = params([
            ("ACL", acl.and_then(s)),
            ("Body", Some(Value::Bytes(bytes))),
            ("Bucket", s(bucket)),
            ("ContentType", content_type.and_then(s)),
            ("Key", s(key)),
        ]);
        return ctx.call("PutObject", p).await.map(|_| ());
    }
    let created = ctx
        .call(
            "CreateMultipartUpload",
            params([
                ("ACL", acl.and_then(s)),
                ("Bucket", s(bucket)),
                ("ContentType", content_type.and_then(s)),
                ("Key", s(key)),
            ]),
        )
        .await?;
    let Some(upload_id) = created
        .get("UploadId")
        .and_then(Json::as_str)
        .map(str::to_string)
    else {
        return Err(S3Error::Unsupported(
            "CreateMultipartUpload returned no UploadId".into(),
        ));
    };
    let result = upload_parts(ctx, bucket, key, &upload_id, &bytes).await;
    if result.is_err() {
        // Leave no half-finished upload behind (it would be billed); its own failure is moot.
        let _ = ctx
            .call(
                "AbortMultipartUpload",
                params([
                    ("Bucket", s(bucket)),
                    ("Key", s(key)),
                    ("UploadId", s(&upload_id)),
                ]),
            )
            .await;
    }
    result
}

async fn upload_parts(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    bytes: &[u8],
) -> Result<(), S3Error> {
    let part_size = MULTIPART_THRESHOLD.max(bytes.len().div_ceil(MAX_PARTS));
    let mut parts = Vec::new();
    for (i, chunk) in bytes.chunks(part_size).enumerate() {
        let number = i as i64 + 1;
        let v = ctx
            .call(
                "UploadPart",
                params([
                    ("Body", Some(Value::Bytes(chunk.to_vec()))),
                    ("Bucket", s(bucket)),
                    ("Key", s(key)),
                    ("PartNumber", Some(Value::Int(number))),
                    ("UploadId", s(upload_id)),
                ]),
            )
            .await?;
        let mut part = IndexMap::new();
        if let Some(etag) = v.get("ETag").and_then(Json::as_str) {
            part.insert("ETag".to_string(), Value::Str(etag.to_string()));
        }
        part.insert("PartNumber".to_string(), Value::Int(number));
        parts.push(Value::Map(part));
    }
    let mut upload = IndexMap::new();
    upload.insert("Parts".to_string(), Value::List(parts));
    ctx.call(
        "CompleteMultipartUpload",
        params([
            ("Bucket", s(bucket)),
            ("Key", s(key)),
            ("MultipartUpload", Some(Value::Map(upload))),
            ("UploadId", s(upload_id)),
        ]),
    )
    .await
    .map(|_| ())
}

#[allow(clippy::too_many_arguments)]
async fn download(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    dest: &str,
    modified: Option<Timestamp>,
    set: &Settings<'_>,
    out: &mut S3Outcome,
) -> Result<(), S3Error> {
    let v = ctx
        .call(
            "GetObject",
            params([("Bucket", s(bucket)), ("Key", s(key))]),
        )
        .await?;
    let body = match v.get("Body").and_then(Json::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| S3Error::Unsupported(format!("the object body did not decode: {e}")))?,
        None => Vec::new(),
    };
    ctx.files
        .write(dest, &body)
        .map_err(|e| S3Error::File(e.0))?;
    // The object's LastModified becomes the file's (a later sync compares them); the download
    // stands if that fails, with a warning, as in the AWS CLI.
    if let Some(t) = modified
        && let Err(e) = ctx.files.set_modified(dest, t.secs)
    {
        let shown = local(dest);
        set.printer.warning(out, &format!("Skipping file {shown}. Successfully Downloaded {shown} but was unable to update the last modified time. {e}"));
    }
    Ok(())
}

async fn copy(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    size: u64,
    dest_bucket: &str,
    dest_key: &str,
    set: &Settings<'_>,
) -> Result<(), S3Error> {
    if size > MAX_COPY_BYTES {
        return Err(S3Error::Unsupported(format!(
            "objects over 5 GiB ({size} bytes) need a multipart copy, which is not supported yet"
        )));
    }
    let p = params([
        ("ACL", set.acl.and_then(s)),
        ("Bucket", s(dest_bucket)),
        ("ContentType", set.content_type.and_then(s)),
        ("CopySource", s(&copy_source(bucket, key))),
        ("Key", s(dest_key)),
        // A new content type replaces the metadata; otherwise it is copied.
        ("MetadataDirective", set.content_type.and(s("REPLACE"))),
    ]);
    ctx.call("CopyObject", p).await.map(|_| ())
}

/// botocore's `x-amz-copy-source`: `bucket/key`, percent-encoded except unreserved and `/`.
fn copy_source(bucket: &str, key: &str) -> String {
    percent_encode_path(&format!("{bucket}/{key}"))
}

/// Where a recursive copy goes.
enum Target<'a> {
    Local(&'a str),
    S3(&'a str, &'a str),
}

/// `cp|mv --recursive` from S3: every object under `key/` to a local directory or another prefix.
async fn each_object(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    filter: &Filter,
    set: &Settings<'_>,
    out: &mut S3Outcome,
    target: Target<'_>,
) {
    let prefix = dir_prefix(key);
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (objects, next) = match list_page(ctx, bucket, &prefix, token.take()).await {
            Ok(page) => page,
            Err(e) => return set.printer.fatal(out, e),
        };
        for o in objects {
            // Zero-byte "folder" markers are not copied.
            if o.size == 0 && o.key.ends_with('/') {
                continue;
            }
            if !filter.includes(&s3_file(bucket, &o.key)) {
                continue;
            }
            let rel = o.key.get(prefix.len()..).unwrap_or_default().to_string();
            let job = match &target {
                Target::Local(dir) => {
                    if escapes(&rel) {
                        set.printer.warning(
                            out,
                            &format!("Skipping file {rel}. File references a parent directory."),
                        );
                        continue;
                    }
                    Job::Download {
                        bucket: bucket.to_string(),
                        dest: join(dir, &rel),
                        key: o.key,
                        modified: o.modified,
                    }
                }
                Target::S3(dest_bucket, dest_key) => Job::Copy {
                    bucket: bucket.to_string(),
                    size: o.size,
                    dest_bucket: dest_bucket.to_string(),
                    dest_key: format!("{}{rel}", dir_prefix(dest_key)),
                    key: o.key,
                },
            };
            run(ctx, job, set, out).await;
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_source_is_encoded_like_botocore() {
        assert_eq!(
            super::copy_source("b", "a b/c+d~.txt"),
            "b/a%20b/c%2Bd~.txt"
        );
    }
}
