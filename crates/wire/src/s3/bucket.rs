//! `aws s3 mb` and `aws s3 rb`.

use indexmap::IndexMap;
use portcullis_cli::Value;

use super::transfer::delete_prefix;
use super::{Ctx, S3Outcome, params, s};

pub(crate) async fn mb(ctx: &Ctx<'_>, bucket: &str) -> S3Outcome {
    let mut out = S3Outcome::default();
    // Outside us-east-1 the bucket's region is given as its location constraint (sending
    // us-east-1 itself is an error).
    let config = ctx.region().filter(|r| r != "us-east-1").map(|r| {
        let mut m = IndexMap::new();
        m.insert("LocationConstraint".to_string(), Value::Str(r));
        Value::Map(m)
    });
    match ctx
        .call(
            "CreateBucket",
            params([("Bucket", s(bucket)), ("CreateBucketConfiguration", config)]),
        )
        .await
    {
        Ok(_) => out.stdout.push_str(&format!("make_bucket: {bucket}\n")),
        Err(e) => {
            out.stderr
                .push_str(&format!("make_bucket failed: s3://{bucket} {e}\n"));
            out.exit_code = 1;
            out.error = Some(e);
        }
    }
    out
}

pub(crate) async fn rb(ctx: &Ctx<'_>, bucket: &str, force: bool) -> S3Outcome {
    let mut out = S3Outcome::default();
    if force {
        // `rm s3://bucket --recursive` first; any failure keeps the bucket.
        delete_prefix(ctx, bucket, "", false, false, false, &mut out).await;
        if out.exit_code != 0 {
            out.stderr.push_str("\nremove_bucket failed: Unable to delete all objects in the bucket, bucket will not be deleted.\n");
            out.exit_code = 255;
            return out;
        }
    }
    match ctx
        .call("DeleteBucket", params([("Bucket", s(bucket))]))
        .await
    {
        Ok(_) => out.stdout.push_str(&format!("remove_bucket: {bucket}\n")),
        Err(e) => {
            out.stderr
                .push_str(&format!("remove_bucket failed: s3://{bucket} {e}\n"));
            out.exit_code = 1;
            out.error = Some(e);
        }
    }
    out
}
