//! Parameter-aware refinements: where the request's parameters change which IAM actions a call
//! needs, or whether it destroys something.
//!
//! Each refinement starts from the operation's actions (derived or from the exceptions table)
//! and edits them. When the deciding parameter is missing or cannot be read, a refinement
//! assumes the worst: it keeps every action the call might need and flags it destructive if it
//! might be (so a classification without parameters is an upper bound).

use serde_json::Value;

/// S3 object operations that need the `...Version...` action when a `VersionId` is given:
/// `(operation, action without version, action with version)`.
pub const S3_VERSIONED: &[(&str, &str, &str)] = &[
    ("GetObject", "s3:GetObject", "s3:GetObjectVersion"),
    ("HeadObject", "s3:GetObject", "s3:GetObjectVersion"),
    ("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
    ("GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    ("PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    (
        "GetObjectTagging",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
    ),
    (
        "PutObjectTagging",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
    ),
    (
        "DeleteObjectTagging",
        "s3:DeleteObjectTagging",
        "s3:DeleteObjectVersionTagging",
    ),
    (
        "GetObjectAttributes",
        "s3:GetObjectAttributes",
        "s3:GetObjectVersionAttributes",
    ),
];

/// S3 writes that also need `s3:PutObjectTagging` with `Tagging` and `s3:PutObjectAcl` with a
/// canned or explicit ACL.
const S3_OBJECT_WRITES: &[&str] = &["PutObject", "CopyObject", "CreateMultipartUpload"];

const S3_ACL_PARAMS: &[&str] = &[
    "ACL",
    "GrantFullControl",
    "GrantRead",
    "GrantReadACP",
    "GrantWrite",
    "GrantWriteACP",
];

const PARTIQL: &[(&str, &str)] = &[
    ("SELECT", "dynamodb:PartiQLSelect"),
    ("INSERT", "dynamodb:PartiQLInsert"),
    ("UPDATE", "dynamodb:PartiQLUpdate"),
    ("DELETE", "dynamodb:PartiQLDelete"),
    // `EXISTS(...)` checks inside a transaction are reads.
    ("EXISTS", "dynamodb:PartiQLSelect"),
];

const TRANSACT_WRITE: &[(&str, &str)] = &[
    ("Put", "dynamodb:PutItem"),
    ("Update", "dynamodb:UpdateItem"),
    ("Delete", "dynamodb:DeleteItem"),
    ("ConditionCheck", "dynamodb:ConditionCheckItem"),
];

/// True when an operation has a refinement (so its classification depends on parameters).
pub fn applies(service: &str, operation: &str) -> bool {
    match service {
        "s3" => {
            S3_VERSIONED.iter().any(|(o, _, _)| *o == operation)
                || S3_OBJECT_WRITES.contains(&operation)
                || matches!(
                    operation,
                    "UploadPartCopy" | "DeleteObjects" | "CreateBucket"
                )
        }
        "dynamodb" => matches!(
            operation,
            "ExecuteStatement"
                | "BatchExecuteStatement"
                | "ExecuteTransaction"
                | "TransactWriteItems"
                | "BatchWriteItem"
        ),
        "route53" => operation == "ChangeResourceRecordSets",
        "ec2" => operation == "CancelSpotFleetRequests",
        _ => false,
    }
}

/// Applies the refinement of `service`/`operation` to `actions` and `destructive`.
pub fn refine(
    service: &str,
    operation: &str,
    params: &Value,
    actions: &mut Vec<String>,
    destructive: &mut bool,
) {
    match service {
        "s3" => refine_s3(operation, params, actions),
        "dynamodb" => refine_dynamodb(operation, params, actions, destructive),
        "route53" if operation == "ChangeResourceRecordSets" => {
            let changes = params
                .pointer("/ChangeBatch/Changes")
                .and_then(Value::as_array);
            // Anything but CREATE and UPSERT (that is DELETE, or unreadable) removes records.
            let removes = |ch: &Value| {
                !matches!(
                    ch.get("Action").and_then(Value::as_str),
                    Some("CREATE" | "UPSERT")
                )
            };
            *destructive = changes.is_none_or(|c| c.iter().any(removes));
        }
        "ec2" if operation == "CancelSpotFleetRequests" => {
            *destructive = params.get("TerminateInstances").and_then(Value::as_bool) != Some(false);
        }
        _ => {}
    }
}

fn non_empty_str(params: &Value, name: &str) -> bool {
    params
        .get(name)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

fn replace(actions: &mut [String], from: &str, to: &str) {
    for a in actions.iter_mut().filter(|a| *a == from) {
        *a = to.to_string();
    }
}

fn add(actions: &mut Vec<String>, action: &str) {
    if !actions.iter().any(|a| a == action) {
        actions.push(action.to_string());
    }
}

fn refine_s3(operation: &str, params: &Value, actions: &mut Vec<String>) {
    if let Some((_, plain, versioned)) = S3_VERSIONED.iter().find(|(o, _, _)| *o == operation)
        && non_empty_str(params, "VersionId")
    {
        replace(actions, plain, versioned);
    }
    if S3_OBJECT_WRITES.contains(&operation) {
        if non_empty_str(params, "Tagging") {
            add(actions, "s3:PutObjectTagging");
        }
        if S3_ACL_PARAMS.iter().any(|p| non_empty_str(params, p)) {
            add(actions, "s3:PutObjectAcl");
        }
    }
    // CopySource is `bucket/key?versionId=...` (or an access point ARN with the same suffix).
    if matches!(operation, "CopyObject" | "UploadPartCopy")
        && params
            .get("CopySource")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("?versionId="))
    {
        replace(actions, "s3:GetObject", "s3:GetObjectVersion");
    }
    if operation == "DeleteObjects" {
        let objects = params.pointer("/Delete/Objects").and_then(Value::as_array);
        // Unknown objects: one of them may name a version.
        if objects.is_none_or(|o| o.iter().any(|obj| non_empty_str(obj, "VersionId"))) {
            add(actions, "s3:DeleteObjectVersion");
        }
    }
    if operation == "CreateBucket" {
        if S3_ACL_PARAMS.iter().any(|p| non_empty_str(params, p)) {
            add(actions, "s3:PutBucketAcl");
        }
        if params
            .get("ObjectLockEnabledForBucket")
            .and_then(Value::as_bool)
            == Some(true)
        {
            add(actions, "s3:PutBucketObjectLockConfiguration");
            add(actions, "s3:PutBucketVersioning");
        }
    }
}

/// The PartiQL action of a statement, by its first keyword.
fn partiql_action(statement: &str) -> Option<&'static str> {
    let word: String = statement
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    PARTIQL
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&word))
        .map(|(_, a)| *a)
}

fn refine_dynamodb(
    operation: &str,
    params: &Value,
    actions: &mut Vec<String>,
    destructive: &mut bool,
) {
    // `None` = could not tell: keep the conservative actions from the exceptions table.
    let found: Option<Vec<&'static str>> = match operation {
        "ExecuteStatement" => params
            .get("Statement")
            .and_then(Value::as_str)
            .and_then(partiql_action)
            .map(|a| vec![a]),
        "BatchExecuteStatement" | "ExecuteTransaction" => {
            let list = if operation == "BatchExecuteStatement" {
                "Statements"
            } else {
                "TransactStatements"
            };
            params
                .get(list)
                .and_then(Value::as_array)
                .and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            i.get("Statement")
                                .and_then(Value::as_str)
                                .and_then(partiql_action)
                        })
                        .collect::<Option<Vec<_>>>()
                })
        }
        "TransactWriteItems" => params
            .get("TransactItems")
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .map(|i| {
                        TRANSACT_WRITE
                            .iter()
                            .find(|(k, _)| i.get(*k).is_some())
                            .map(|(_, a)| *a)
                    })
                    .collect::<Option<Vec<_>>>()
            }),
        "BatchWriteItem" => {
            let requests = params.get("RequestItems").and_then(Value::as_object);
            *destructive = requests.is_none_or(|tables| {
                tables.values().any(|reqs| {
                    reqs.as_array()
                        .is_none_or(|r| r.iter().any(|x| x.get("DeleteRequest").is_some()))
                })
            });
            return;
        }
        _ => return,
    };
    if let Some(found) = found.filter(|f| !f.is_empty()) {
        actions.clear();
        for a in found {
            add(actions, a);
        }
    }
    *destructive = actions
        .iter()
        .any(|a| a == "dynamodb:PartiQLDelete" || a == "dynamodb:DeleteItem");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partiql_keywords() {
        assert_eq!(
            partiql_action("  select * from t"),
            Some("dynamodb:PartiQLSelect")
        );
        assert_eq!(
            partiql_action("DELETE FROM t WHERE k=1"),
            Some("dynamodb:PartiQLDelete")
        );
        assert_eq!(partiql_action("EXPLAIN x"), None);
        assert_eq!(partiql_action(""), None);
    }
}
