//! `aws s3 cp` (upload, download, copy; one object or `--recursive`) and `aws s3 rm`.
//!
//! Transfers run one after another, in sorted order (the AWS CLI runs ten at a time, so its
//! lines come in completion order). Uploads of 8 MiB or more go as multipart uploads of 8 MiB
//! parts, aborted when a part fails; copies use `CopyObject` (up to 5 GiB); downloads are one
//! `GetObject`, bounded by the engine's response limit. Local files are read, listed and written
//! only through the [`PathPolicy`](portcullis_cli::PathPolicy).

use base64::Engine as _;
use indexmap::IndexMap;
use portcullis_cli::{FileUse, S3Op, S3Path, Value};
use serde_json::Value as Json;

use super::format::{basename, escapes, guess_content_type, join, local};
use super::listing::MAX_PAGES;
use super::{Ctx, S3Error, S3Outcome, params, s};
use crate::execute::ExecError;

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
    fn success(&self, out: &mut S3Outcome, kind: &str, location: &str) {
        if self.quiet || self.only_errors {
            return;
        }
        let dry = if self.dryrun { "(dryrun) " } else { "" };
        out.stdout.push_str(&format!("{dry}{kind}: {location}\n"));
    }

    fn failure(&self, out: &mut S3Outcome, kind: &str, location: &str, e: S3Error) {
        if !self.quiet {
            out.stderr.push_str(&format!("{kind} failed: {location} {e}\n"));
        }
        out.exit_code = 1;
        out.error = Some(e);
    }

    fn fatal(&self, out: &mut S3Outcome, e: S3Error) {
        if !self.quiet {
            out.stderr.push_str(&format!("fatal error: {e}\n"));
        }
        out.exit_code = 1;
        out.error = Some(e);
    }

    fn warning(&self, out: &mut S3Outcome, message: &str) {
        if !self.quiet {
            out.stderr.push_str(&format!("warning: {message}\n"));
        }
        if out.exit_code == 0 {
            out.exit_code = 2;
        }
    }
}

/// Object settings given on the command line.
struct Settings<'a> {
    content_type: Option<&'a str>,
    acl: Option<&'a str>,
    printer: Printer,
}

pub(crate) async fn cp(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Cp { src, dst, recursive, content_type, acl, dryrun, quiet, only_show_errors } = op else {
        return S3Outcome::default();
    };
    let set = Settings {
        content_type: content_type.as_deref(),
        acl: acl.as_deref(),
        printer: Printer { quiet: *quiet, only_errors: *only_show_errors, dryrun: *dryrun },
    };
    let mut out = S3Outcome::default();
    match (src, dst) {
        (S3Path::Local { path }, S3Path::S3 { bucket, key }) => {
            if *recursive {
                upload_dir(ctx, path, bucket, key, &set, &mut out).await;
            } else {
                let dest_key = if key.is_empty() || key.ends_with('/') { format!("{key}{}", basename(path)) } else { key.clone() };
                upload(ctx, path, bucket, &dest_key, &set, &mut out).await;
            }
        }
        (S3Path::S3 { bucket, key }, S3Path::Local { path }) => {
            if *recursive {
                each_object(ctx, bucket, key, &set, &mut out, Target::Local(path)).await;
            } else if let Some(size) = head(ctx, bucket, key, &set, &mut out).await {
                let dest = if path.ends_with('/') || ctx.files.is_dir(path) { join(path, basename(key)) } else { path.clone() };
                let _ = size;
                download(ctx, bucket, key, &dest, &set, &mut out).await;
            }
        }
        (S3Path::S3 { bucket, key }, S3Path::S3 { bucket: dest_bucket, key: dest_key }) => {
            if *recursive {
                each_object(ctx, bucket, key, &set, &mut out, Target::S3(dest_bucket, dest_key)).await;
            } else if let Some(size) = head(ctx, bucket, key, &set, &mut out).await {
                let dest_key = if dest_key.is_empty() || dest_key.ends_with('/') { format!("{dest_key}{}", basename(key)) } else { dest_key.clone() };
                copy(ctx, bucket, key, size, dest_bucket, &dest_key, &set, &mut out).await;
            }
        }
        (S3Path::Local { .. }, S3Path::Local { .. }) => {}
    }
    out
}

pub(crate) async fn rm(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Rm { bucket, key, recursive, dryrun, quiet, only_show_errors } = op else {
        return S3Outcome::default();
    };
    let mut out = S3Outcome::default();
    if *recursive {
        delete_prefix(ctx, bucket, &dir_prefix(key), *dryrun, *quiet, *only_show_errors, &mut out).await;
    } else {
        let printer = Printer { quiet: *quiet, only_errors: *only_show_errors, dryrun: *dryrun };
        delete_one(ctx, bucket, key, printer, &mut out).await;
    }
    out
}

/// Deletes every object under `prefix` (`rm --recursive`, `rb --force`), one `DeleteObject`
/// each, as the AWS CLI does (a batched `DeleteObjects` needs a body checksum the engine does
/// not compute).
pub(crate) async fn delete_prefix(ctx: &Ctx<'_>, bucket: &str, prefix: &str, dryrun: bool, quiet: bool, only_errors: bool, out: &mut S3Outcome) {
    let printer = Printer { quiet, only_errors, dryrun };
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (objects, next) = match list_page(ctx, bucket, prefix, token.take()).await {
            Ok(page) => page,
            Err(e) => return printer.fatal(out, e),
        };
        for (key, _) in objects {
            delete_one(ctx, bucket, &key, printer, out).await;
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
    match ctx.call("DeleteObject", params([("Bucket", s(bucket)), ("Key", s(key))])).await {
        Ok(_) => printer.success(out, "delete", &location),
        Err(e) => printer.failure(out, "delete", &location, e),
    }
}

/// `key` as a directory prefix: `a` → `a/`, `` stays ``.
fn dir_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') { key.to_string() } else { format!("{key}/") }
}

/// One page of `ListObjectsV2` under `prefix`: (key, size) pairs and the next token.
async fn list_page(ctx: &Ctx<'_>, bucket: &str, prefix: &str, token: Option<String>) -> Result<(Vec<(String, u64)>, Option<String>), S3Error> {
    let page = ctx
        .call("ListObjectsV2", params([("Bucket", s(bucket)), ("Prefix", s(prefix)), ("ContinuationToken", token.as_deref().and_then(s))]))
        .await?;
    let objects = page
        .get("Contents")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("Key")?.as_str()?.to_string(), c.get("Size").and_then(Json::as_u64).unwrap_or(0))))
        .collect();
    let truncated = page.get("IsTruncated").and_then(Json::as_bool).unwrap_or(false);
    let next = page.get("NextContinuationToken").and_then(Json::as_str).filter(|t| truncated && !t.is_empty()).map(str::to_string);
    Ok((objects, next))
}

/// `HeadObject` of a single source object: its size, or a fatal error worded as the CLI words it.
async fn head(ctx: &Ctx<'_>, bucket: &str, key: &str, set: &Settings<'_>, out: &mut S3Outcome) -> Option<u64> {
    if key.is_empty() || key.ends_with('/') {
        set.printer.fatal(
            out,
            S3Error::Unsupported(format!("s3://{bucket}/{key} names no object; give the object's key, or add --recursive to copy everything under it")),
        );
        return None;
    }
    match ctx.call("HeadObject", params([("Bucket", s(bucket)), ("Key", s(key))])).await {
        Ok(v) => Some(v.get("ContentLength").and_then(Json::as_u64).unwrap_or(0)),
        Err(S3Error::Call { operation, error: ExecError::Service(mut e) }) if e.code == "404" => {
            e.message = format!("Key \"{key}\" does not exist");
            set.printer.fatal(out, S3Error::Call { operation, error: ExecError::Service(e) });
            None
        }
        Err(e) => {
            set.printer.fatal(out, e);
            None
        }
    }
}

async fn upload_dir(ctx: &Ctx<'_>, dir: &str, bucket: &str, key: &str, set: &Settings<'_>, out: &mut S3Outcome) {
    let files = match ctx.files.list(dir) {
        Ok(f) => f,
        Err(e) => return set.printer.fatal(out, S3Error::File(e.0)),
    };
    let prefix = dir_prefix(key);
    for rel in files {
        upload(ctx, &join(dir, &rel), bucket, &format!("{prefix}{rel}"), set, out).await;
    }
}

async fn upload(ctx: &Ctx<'_>, path: &str, bucket: &str, key: &str, set: &Settings<'_>, out: &mut S3Outcome) {
    let location = format!("{} to s3://{bucket}/{key}", local(path));
    if set.printer.dryrun {
        return set.printer.success(out, "upload", &location);
    }
    let bytes = match ctx.files.read(path, FileUse::S3Upload) {
        Ok(b) => b,
        Err(e) => return set.printer.failure(out, "upload", &location, S3Error::File(e.0)),
    };
    let content_type = set.content_type.or_else(|| guess_content_type(basename(path)));
    match put(ctx, bucket, key, bytes, content_type, set.acl).await {
        Ok(()) => set.printer.success(out, "upload", &location),
        Err(e) => set.printer.failure(out, "upload", &location, e),
    }
}

/// `PutObject`, or a multipart upload from 8 MiB on.
async fn put(ctx: &Ctx<'_>, bucket: &str, key: &str, bytes: Vec<u8>, content_type: Option<&str>, acl: Option<&str>) -> Result<(), S3Error> {
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
        .call("CreateMultipartUpload", params([("ACL", acl.and_then(s)), ("Bucket", s(bucket)), ("ContentType", content_type.and_then(s)), ("Key", s(key))]))
        .await?;
    let Some(upload_id) = created.get("UploadId").and_then(Json::as_str).map(str::to_string) else {
        return Err(S3Error::Unsupported("CreateMultipartUpload returned no UploadId".into()));
    };
    let result = upload_parts(ctx, bucket, key, &upload_id, &bytes).await;
    if result.is_err() {
        // Leave no half-finished upload behind (it would be billed); its own failure is moot.
        let _ = ctx.call("AbortMultipartUpload", params([("Bucket", s(bucket)), ("Key", s(key)), ("UploadId", s(&upload_id))])).await;
    }
    result
}

async fn upload_parts(ctx: &Ctx<'_>, bucket: &str, key: &str, upload_id: &str, bytes: &[u8]) -> Result<(), S3Error> {
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
        params([("Bucket", s(bucket)), ("Key", s(key)), ("MultipartUpload", Some(Value::Map(upload))), ("UploadId", s(upload_id))]),
    )
    .await
    .map(|_| ())
}

async fn download(ctx: &Ctx<'_>, bucket: &str, key: &str, dest: &str, set: &Settings<'_>, out: &mut S3Outcome) {
    let location = format!("s3://{bucket}/{key} to {}", local(dest));
    if set.printer.dryrun {
        return set.printer.success(out, "download", &location);
    }
    let result = async {
        let v = ctx.call("GetObject", params([("Bucket", s(bucket)), ("Key", s(key))])).await?;
        let body = match v.get("Body").and_then(Json::as_str) {
            Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| S3Error::Unsupported(format!("the object body did not decode: {e}")))?,
            None => Vec::new(),
        };
        ctx.files.write(dest, &body).map_err(|e| S3Error::File(e.0))
    }
    .await;
    match result {
        Ok(()) => set.printer.success(out, "download", &location),
        Err(e) => set.printer.failure(out, "download", &location, e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn copy(ctx: &Ctx<'_>, bucket: &str, key: &str, size: u64, dest_bucket: &str, dest_key: &str, set: &Settings<'_>, out: &mut S3Outcome) {
    let location = format!("s3://{bucket}/{key} to s3://{dest_bucket}/{dest_key}");
    if set.printer.dryrun {
        return set.printer.success(out, "copy", &location);
    }
    if size > MAX_COPY_BYTES {
        let e = S3Error::Unsupported(format!("objects over 5 GiB ({size} bytes) need a multipart copy, which is not supported yet"));
        return set.printer.failure(out, "copy", &location, e);
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
    match ctx.call("CopyObject", p).await {
        Ok(_) => set.printer.success(out, "copy", &location),
        Err(e) => set.printer.failure(out, "copy", &location, e),
    }
}

/// botocore's `x-amz-copy-source`: `bucket/key`, percent-encoded except unreserved and `/`.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::new();
    for b in format!("{bucket}/{key}").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a recursive copy goes.
enum Target<'a> {
    Local(&'a str),
    S3(&'a str, &'a str),
}

/// `cp --recursive` from S3: every object under `key/` to a local directory or another prefix.
async fn each_object(ctx: &Ctx<'_>, bucket: &str, key: &str, set: &Settings<'_>, out: &mut S3Outcome, target: Target<'_>) {
    let prefix = dir_prefix(key);
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (objects, next) = match list_page(ctx, bucket, &prefix, token.take()).await {
            Ok(page) => page,
            Err(e) => return set.printer.fatal(out, e),
        };
        for (k, size) in objects {
            // Zero-byte "folder" markers are not copied.
            if size == 0 && k.ends_with('/') {
                continue;
            }
            let rel = &k[prefix.len().min(k.len())..];
            match &target {
                Target::Local(dir) => {
                    if escapes(rel) {
                        set.printer.warning(out, &format!("Skipping file {rel}. File references a parent directory."));
                        continue;
                    }
                    download(ctx, bucket, &k, &join(dir, rel), set, out).await;
                }
                Target::S3(dest_bucket, dest_key) => {
                    let dest = format!("{}{rel}", dir_prefix(dest_key));
                    copy(ctx, bucket, &k, size, dest_bucket, &dest, set, out).await;
                }
            }
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
        assert_eq!(super::copy_source("b", "a b/c+d~.txt"), "b/a%20b/c%2Bd~.txt");
    }
}
