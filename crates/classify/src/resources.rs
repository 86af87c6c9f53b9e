//! The resources (ARNs) a call touches, derived from its parameters — offline and honest: only
//! what the parameters say, never a guess at an account or region that is not known.
//!
//! What is derived (in this order, without duplicates, at most [`MAX_RESOURCES`]):
//!
//! * **Any ARN** — every string parameter value, at any depth (inside lists and structures too),
//!   that looks like an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`).
//! * **S3** (`s3`): `Bucket` → `arn:aws:s3:::bucket`; with `Key` → `arn:aws:s3:::bucket/key`;
//!   `DeleteObjects`' `Delete.Objects[].Key` → one object ARN each; `CopyObject`'s / `UploadPartCopy`'s
//!   `CopySource` (`bucket/key[?versionId=...]`) → the source object's ARN.
//! * **SQS** (`sqs`): `QueueUrl` (`https://sqs.<region>.amazonaws.com/<account>/<name>`, also the
//!   legacy `<region>.queue.amazonaws.com` host and local endpoints, whose region is the call's)
//!   → `arn:aws:sqs:<region>:<account>:<name>`.
//! * **Names that need the account** — only when the account is known (the caller passes it):
//!   IAM `UserName`, `RoleName`, `GroupName` → `arn:aws:iam::<account>:user/<name>` (`role/`,
//!   `group/`); Lambda `FunctionName` → `arn:aws:lambda:<region>:<account>:function:<name>`;
//!   DynamoDB `TableName` → `arn:aws:dynamodb:<region>:<account>:table/<name>`.
//!
//! The partition follows the region (`cn-*` → `aws-cn`, `us-gov-*` → `aws-us-gov`, ...).
//! Everything else yields no ARN; the policy then sees the call's service as its resource.
//!
//! ```
//! use portcullis_classify::resources::resources;
//! use serde_json::json;
//!
//! let r = resources("s3", "DeleteObject", &json!({"Bucket": "prod-logs", "Key": "a/b.log"}), Some("eu-west-1"), None);
//! assert_eq!(r, ["arn:aws:s3:::prod-logs/a/b.log"]);
//! let r = resources("iam", "AttachRolePolicy", &json!({"RoleName": "app", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}), None, None);
//! assert_eq!(r, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]); // the role needs the account
//! ```

use serde_json::Value;

/// At most this many ARNs are derived for one call (the rest are dropped; policy evaluation is
/// per resource, so this bounds it).
pub const MAX_RESOURCES: usize = 64;

/// The ARNs the call touches, as far as its parameters tell. `region` and `account` are the
/// call's, when known.
pub fn resources(
    service: &str,
    operation: &str,
    params: &Value,
    region: Option<&str>,
    account: Option<&str>,
) -> Vec<String> {
    let mut out = Resources(Vec::new());
    let partition = partition(region);
    match service {
        "s3" => s3(operation, params, partition, &mut out),
        "sqs" => {
            if let Some(url) = params.get("QueueUrl").and_then(Value::as_str)
                && let Some(arn) = sqs_queue_arn(url, region, partition)
            {
                out.push(arn);
            }
        }
        _ => {}
    }
    if let Some(account) =
        account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    {
        let name = |key: &str| {
            params
                .get(key)
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && !n.starts_with("arn:"))
        };
        match service {
            "iam" => {
                for (key, kind) in [
                    ("UserName", "user"),
                    ("RoleName", "role"),
                    ("GroupName", "group"),
                ] {
                    if let Some(n) = name(key) {
                        out.push(format!("arn:{partition}:iam::{account}:{kind}/{n}"));
                    }
                }
            }
            "lambda" => {
                if let (Some(n), Some(r)) = (name("FunctionName"), region) {
                    out.push(format!("arn:{partition}:lambda:{r}:{account}:function:{n}"));
                }
            }
            "dynamodb" => {
                if let (Some(n), Some(r)) = (name("TableName"), region) {
                    out.push(format!("arn:{partition}:dynamodb:{r}:{account}:table/{n}"));
                }
            }
            _ => {}
        }
    }
    arns_in(params, &mut out, 0);
    out.0
}

/// The ARN of an S3 bucket, or of an object when `key` is given.
pub fn s3_arn(bucket: &str, key: Option<&str>, region: Option<&str>) -> String {
    let p = partition(region);
    match key {
        Some(k) => format!("arn:{p}:s3:::{bucket}/{k}"),
        None => format!("arn:{p}:s3:::{bucket}"),
    }
}

struct Resources(Vec<String>);

impl Resources {
    fn push(&mut self, arn: String) {
        if self.0.len() < MAX_RESOURCES && !self.0.contains(&arn) {
            self.0.push(arn);
        }
    }
}

fn s3(operation: &str, params: &Value, partition: &str, out: &mut Resources) {
    let Some(bucket) = params
        .get("Bucket")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
    else {
        return;
    };
    if bucket.starts_with("arn:") {
        return; // an access point or outpost ARN: taken as is below
    }
    match params.get("Key").and_then(Value::as_str) {
        Some(key) => out.push(format!("arn:{partition}:s3:::{bucket}/{key}")),
        None => {
            let keys: Vec<&str> = match params.pointer("/Delete/Objects") {
                Some(Value::Array(objects)) if operation == "DeleteObjects" => objects
                    .iter()
                    .filter_map(|o| o.get("Key").and_then(Value::as_str))
                    .collect(),
                _ => Vec::new(),
            };
            if keys.is_empty() {
                out.push(format!("arn:{partition}:s3:::{bucket}"));
            }
            for k in keys {
                out.push(format!("arn:{partition}:s3:::{bucket}/{k}"));
            }
        }
    }
    if matches!(operation, "CopyObject" | "UploadPartCopy")
        && let Some(src) = params.get("CopySource").and_then(Value::as_str)
        && !src.starts_with("arn:")
    {
        let src = src.split('?').next().unwrap_or(src).trim_start_matches('/');
        if src.contains('/') {
            out.push(format!("arn:{partition}:s3:::{src}"));
        }
    }
}

/// `https://sqs.eu-west-1.amazonaws.com/123456789012/jobs` → `arn:aws:sqs:eu-west-1:123456789012:jobs`.
fn sqs_queue_arn(url: &str, region: Option<&str>, partition: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let mut segs = path.trim_end_matches('/').split('/');
    let (account, name) = (segs.next()?, segs.next()?);
    if segs.next().is_some()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || name.is_empty()
    {
        return None;
    }
    let host = host.split(':').next().unwrap_or(host);
    let from_host = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split('.').next())
        .or_else(|| {
            host.strip_suffix(".queue.amazonaws.com")
                .filter(|r| !r.contains('.'))
        });
    let region = from_host.filter(|r| r.contains('-')).or(region)?;
    Some(format!("arn:{partition}:sqs:{region}:{account}:{name}"))
}

/// Every string value at any depth that looks like an ARN.
fn arns_in(v: &Value, out: &mut Resources, depth: usize) {
    if depth > 32 {
        return;
    }
    match v {
        Value::String(s) if looks_like_arn(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| arns_in(i, out, depth + 1)),
        Value::Object(map) => map.values().for_each(|i| arns_in(i, out, depth + 1)),
        _ => {}
    }
}

/// `arn:partition:service:region:account:resource`, with a partition and service present.
fn looks_like_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next().is_some_and(|s| !s.is_empty())
        && parts.next().is_some()
        && parts.next().is_some()
        && parts.next().is_some_and(|r| !r.is_empty())
        && !s.chars().any(char::is_whitespace)
}

/// The ARN partition of a region (`aws` when unknown).
pub fn partition(region: Option<&str>) -> &'static str {
    match region {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        Some(r) if r.starts_with("us-isob-") => "aws-iso-b",
        Some(r) if r.starts_with("us-iso-") => "aws-iso",
        Some(r) if r.starts_with("eu-isoe-") => "aws-iso-e",
        Some(r) if r.starts_with("us-isof-") => "aws-iso-f",
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn s3_buckets_objects_and_batches() {
        assert_eq!(
            resources(
                "s3",
                "ListObjectsV2",
                &json!({"Bucket": "logs"}),
                None,
                None
            ),
            ["arn:aws:s3:::logs"]
        );
        assert_eq!(
            resources(
                "s3",
                "GetObject",
                &json!({"Bucket": "logs", "Key": "a/b"}),
                Some("cn-north-1"),
                None
            ),
            ["arn:aws-cn:s3:::logs/a/b"]
        );
        let del = json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}, {"Key": "x"}]}});
        assert_eq!(
            resources("s3", "DeleteObjects", &del, None, None),
            ["arn:aws:s3:::b/x", "arn:aws:s3:::b/y"]
        );
        let copy =
            json!({"Bucket": "dst", "Key": "k", "CopySource": "prod-src/path/k?versionId=1"});
        assert_eq!(
            resources("s3", "CopyObject", &copy, None, None),
            ["arn:aws:s3:::dst/k", "arn:aws:s3:::prod-src/path/k"]
        );
        let ap = "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap";
        assert_eq!(
            resources(
                "s3",
                "GetObject",
                &json!({"Bucket": ap, "Key": "k"}),
                None,
                None
            ),
            [ap]
        );
        assert!(resources("s3", "ListBuckets", &json!({}), None, None).is_empty());
        assert!(resources("s3", "ListBuckets", &Value::Null, None, None).is_empty());
    }

    #[test]
    fn arns_anywhere_in_the_parameters() {
        let p = json!({"PolicyArn": "arn:aws:iam::aws:policy/X", "Targets": [{"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}], "Name": "arn-like", "Bad": "arn:aws:"});
        assert_eq!(
            resources("events", "PutTargets", &p, None, None),
            [
                "arn:aws:iam::aws:policy/X",
                "arn:aws:lambda:eu-west-1:123456789012:function:f"
            ]
        );
        let many: Vec<String> = (0..500)
            .map(|i| format!("arn:aws:sns:eu-west-1:123456789012:t{i}"))
            .collect();
        assert_eq!(
            resources("sns", "X", &json!({"A": many}), None, None).len(),
            MAX_RESOURCES
        );
    }

    #[test]
    fn names_need_the_account() {
        let p = json!({"UserName": "alice"});
        assert!(resources("iam", "DeleteUser", &p, None, None).is_empty());
        assert_eq!(
            resources("iam", "DeleteUser", &p, None, Some("123456789012")),
            ["arn:aws:iam::123456789012:user/alice"]
        );
        let f = json!({"FunctionName": "f"});
        assert!(
            resources("lambda", "Invoke", &f, None, Some("123456789012")).is_empty(),
            "no region, no ARN"
        );
        assert_eq!(
            resources(
                "lambda",
                "Invoke",
                &f,
                Some("eu-west-1"),
                Some("123456789012")
            ),
            ["arn:aws:lambda:eu-west-1:123456789012:function:f"]
        );
        assert_eq!(
            resources(
                "dynamodb",
                "DeleteTable",
                &json!({"TableName": "t"}),
                Some("us-gov-west-1"),
                Some("123456789012")
            ),
            ["arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/t"]
        );
        assert!(resources("iam", "DeleteUser", &p, None, Some("not-an-account")).is_empty());
    }

    #[test]
    fn sqs_queue_urls() {
        let q = |url: &str, region| {
            resources(
                "sqs",
                "SendMessage",
                &json!({"QueueUrl": url}),
                region,
                None,
            )
        };
        assert_eq!(
            q(
                "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
                None
            ),
            ["arn:aws:sqs:eu-west-1:123456789012:jobs"]
        );
        assert_eq!(
            q(
                "https://eu-central-1.queue.amazonaws.com/123456789012/jobs",
                None
            ),
            ["arn:aws:sqs:eu-central-1:123456789012:jobs"]
        );
        assert_eq!(
            q("http://localhost:5000/123456789012/jobs", Some("us-east-1")),
            ["arn:aws:sqs:us-east-1:123456789012:jobs"]
        );
        assert!(q("http://localhost:5000/123456789012/jobs", None).is_empty());
        assert!(q("https://sqs.eu-west-1.amazonaws.com/jobs", None).is_empty());
    }
}
