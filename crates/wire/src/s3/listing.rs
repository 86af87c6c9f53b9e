//! `aws s3 ls`: buckets, or the prefixes and objects under a prefix, printed page by page.

use portcullis_cli::{S3Op, Value};
use serde_json::Value as Json;

use super::format::{date, human_size};
use super::{Ctx, S3Error, S3Outcome, params, s};

/// Most pages one listing follows (1,000 keys each by default).
pub(crate) const MAX_PAGES: usize = 1000;

pub(crate) async fn ls(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Ls {
        bucket,
        prefix,
        recursive,
        human_readable,
        summarize,
        page_size,
    } = op
    else {
        return S3Outcome::default();
    };
    let mut out = S3Outcome::default();
    let mut totals = Totals::default();
    let result = match bucket {
        None => list_buckets(ctx, &mut out).await,
        Some(b) => {
            list_objects(
                ctx,
                b,
                prefix,
                *recursive,
                *human_readable,
                *page_size,
                &mut out,
                &mut totals,
            )
            .await
        }
    };
    if let Err(e) = result {
        // The CLI's top-level error handler: a blank line, the error, exit code 255.
        out.stderr.push_str(&format!("\n{e}\n"));
        out.exit_code = 255;
        out.error = Some(e);
        return out;
    }
    if *summarize {
        let size = if *human_readable {
            human_size(totals.bytes)
        } else {
            totals.bytes.to_string()
        };
        out.stdout.push_str(&format!(
            "\nTotal Objects: {}\n   Total Size: {size}\n",
            totals.objects
        ));
    }
    // With a prefix, nothing found is exit code 1 (the CLI's `_check_no_objects`).
    if !prefix.is_empty() && bucket.is_some() && totals.empty_first_page {
        out.exit_code = 1;
    }
    out
}

#[derive(Default)]
struct Totals {
    objects: u64,
    bytes: u64,
    empty_first_page: bool,
}

async fn list_buckets(ctx: &Ctx<'_>, out: &mut S3Outcome) -> Result<(), S3Error> {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = ctx
            .call(
                "ListBuckets",
                params([("ContinuationToken", token.as_deref().and_then(s))]),
            )
            .await?;
        for b in page
            .get("Buckets")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let name = b.get("Name").and_then(Json::as_str).unwrap_or_default();
            out.stdout.push_str(&format!(
                "{} {name}\n",
                date(b.get("CreationDate").unwrap_or(&Json::Null))
            ));
        }
        token = page
            .get("ContinuationToken")
            .and_then(Json::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn list_objects(
    ctx: &Ctx<'_>,
    bucket: &str,
    prefix: &str,
    recursive: bool,
    human_readable: bool,
    page_size: Option<u64>,
    out: &mut S3Outcome,
    totals: &mut Totals,
) -> Result<(), S3Error> {
    let mut token: Option<String> = None;
    let mut first = true;
    for _ in 0..MAX_PAGES {
        let page = ctx
            .call(
                "ListObjectsV2",
                params([
                    ("Bucket", s(bucket)),
                    ("Delimiter", if recursive { None } else { s("/") }),
                    ("MaxKeys", page_size.map(|n| Value::Int(n as i64))),
                    ("Prefix", s(prefix)),
                    ("ContinuationToken", token.as_deref().and_then(s)),
                ]),
            )
            .await?;
        let prefixes = page
            .get("CommonPrefixes")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let contents = page
            .get("Contents")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if prefixes.is_empty() && contents.is_empty() {
            if first {
                totals.empty_first_page = true;
            }
        } else {
            first = false;
            for p in prefixes {
                let text = p.get("Prefix").and_then(Json::as_str).unwrap_or_default();
                // The component before the trailing delimiter.
                let parts: Vec<&str> = text.split('/').collect();
                let name = if parts.len() >= 2 {
                    parts[parts.len() - 2]
                } else {
                    ""
                };
                out.stdout.push_str(&format!("{:>30} {name}/\n", "PRE"));
            }
            for c in contents {
                let size = c.get("Size").and_then(Json::as_u64).unwrap_or(0);
                totals.objects += 1;
                totals.bytes += size;
                let key = c.get("Key").and_then(Json::as_str).unwrap_or_default();
                let name = if recursive {
                    key
                } else {
                    key.rsplit('/').next().unwrap_or(key)
                };
                let size_text = if human_readable {
                    human_size(size)
                } else {
                    size.to_string()
                };
                out.stdout.push_str(&format!(
                    "{} {size_text:>10} {name}\n",
                    date(c.get("LastModified").unwrap_or(&Json::Null))
                ));
            }
        }
        let truncated = page
            .get("IsTruncated")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        token = page
            .get("NextContinuationToken")
            .and_then(Json::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if !truncated || token.is_none() {
            break;
        }
    }
    Ok(())
}
