//! `aws cloudformation deploy` ([`portcullis_cli::deploy`]), natively, as the AWS CLI's
//! `Deployer` runs it:
//!
//! 1. `DescribeStacks` — the stack exists unless the call fails with `Stack with id S does not
//!    exist` or the stack is `REVIEW_IN_PROGRESS`; any other error ends the command.
//! 2. An update: `GetTemplateSummary` — parameters the stack does not have yet cannot use their
//!    previous value and are dropped; a create drops every `UsePreviousValue`.
//! 3. `CreateChangeSet` named `awscli-cloudformation-package-deploy-<unix time>` (described
//!    `Created by AWS CLI at <UTC isoformat> UTC`), then `Waiting for changeset to be created..`
//!    and the `ChangeSetCreateComplete` waiter, polling every 5 s as the CLI does. A change set
//!    that failed for want of changes is the CLI's `No changes to deploy. Stack S is up to date`
//!    (exit 255, or printed on stdout with exit 0 under `--no-fail-on-empty-changeset`).
//! 4. Unless `--no-execute-changeset`: `ExecuteChangeSet`, `Waiting for stack create/update to
//!    complete` and the `StackCreateComplete` / `StackUpdateComplete` waiter (every 30 s, at most
//!    120 polls), then `Successfully created/updated stack - S`. With it: the CLI's message
//!    naming the change set.
//!
//! Every call is an [`OperationCall`] through [`Engine::execute`]; the waiters are
//! [`super::wait`]'s, so each stays within the per-call deadline. Errors are worded as the CLI
//! words them, exit code 255.

use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use portcullis_cli::deploy::DeployCommand;
use portcullis_cli::waiter::WaitCommand;
use portcullis_cli::{GlobalOptions, OperationCall, PathPolicy, Value};
use serde_json::Value as Json;

use super::Progress;
use super::wait::{Response, wait_keeping_last};
use crate::execute::{Engine, ExecError};
use crate::protocol::timestamp::Timestamp;
use crate::s3::{S3Error, S3Outcome};

const CHANGESET_PREFIX: &str = "awscli-cloudformation-package-deploy-";

/// Runs `aws cloudformation deploy`. Never panics on what the network returns.
pub async fn deploy(
    engine: &Engine,
    d: &DeployCommand,
    globals: &GlobalOptions,
    files: &dyn PathPolicy,
    progress: &dyn Progress,
) -> S3Outcome {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_secs_f64())
        .unwrap_or_default();
    let mut out = S3Outcome::default();
    let stack = d.stack_name.as_str();
    let str_ = |s: &str| Value::Str(s.to_string());

    // 1. Does the stack exist?
    let exists = match call(
        engine,
        globals,
        files,
        "DescribeStacks",
        IndexMap::from([("StackName".to_string(), str_(stack))]),
    )
    .await
    {
        Ok(v) => match v.get("Stacks").and_then(Json::as_array) {
            Some(stacks) if stacks.len() == 1 => {
                stacks[0].get("StackStatus").and_then(Json::as_str) != Some("REVIEW_IN_PROGRESS")
            }
            _ => false,
        },
        Err(S3Error::Call {
            error: ExecError::Service(e),
            ..
        }) if e
            .message
            .contains(&format!("Stack with id {stack} does not exist")) =>
        {
            false
        }
        Err(e) => return fail(out, e.to_string(), Some(e)),
    };
    let changeset_type = if exists { "UPDATE" } else { "CREATE" };

    // 2. Which parameters may use their previous value.
    let existing: Option<Vec<String>> = if exists {
        match call(
            engine,
            globals,
            files,
            "GetTemplateSummary",
            IndexMap::from([("StackName".to_string(), str_(stack))]),
        )
        .await
        {
            Ok(v) => Some(
                v.get("Parameters")
                    .and_then(Json::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| {
                                p.get("ParameterKey")
                                    .and_then(Json::as_str)
                                    .map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Err(e) => return fail(out, e.to_string(), Some(e)),
        }
    } else {
        None
    };
    let parameters: Vec<Value> = d
        .parameters
        .iter()
        .filter(|p| {
            p.value.is_some() || existing.as_ref().is_some_and(|keys| keys.contains(&p.key))
        })
        .map(|p| {
            let mut m = IndexMap::from([("ParameterKey".to_string(), str_(&p.key))]);
            match &p.value {
                Some(v) => m.insert("ParameterValue".to_string(), str_(v)),
                None => m.insert("UsePreviousValue".to_string(), Value::Bool(true)),
            };
            Value::Map(m)
        })
        .collect();

    // 3. The change set.
    let described = Timestamp::from_epoch_f64(now)
        .map(Timestamp::iso8601)
        .unwrap_or_default();
    let described = described.strip_suffix("+00:00").unwrap_or(&described);
    let mut params = IndexMap::from([
        (
            "ChangeSetName".to_string(),
            str_(&format!("{CHANGESET_PREFIX}{}", now as u64)),
        ),
        ("StackName".to_string(), str_(stack)),
        ("TemplateBody".to_string(), str_(&d.template_body)),
        ("ChangeSetType".to_string(), str_(changeset_type)),
        ("Parameters".to_string(), Value::List(parameters)),
        (
            "Capabilities".to_string(),
            Value::List(d.capabilities.iter().map(|c| str_(c)).collect()),
        ),
        (
            "Description".to_string(),
            str_(&format!("Created by AWS CLI at {described} UTC")),
        ),
        (
            "Tags".to_string(),
            Value::List(
                d.tags
                    .iter()
                    .map(|(k, v)| {
                        Value::Map(IndexMap::from([
                            ("Key".to_string(), str_(k)),
                            ("Value".to_string(), str_(v)),
                        ]))
                    })
                    .collect(),
            ),
        ),
    ]);
    if let Some(role) = &d.role_arn {
        params.insert("RoleARN".to_string(), str_(role));
    }
    if let Some(arns) = &d.notification_arns {
        params.insert(
            "NotificationARNs".to_string(),
            Value::List(arns.iter().map(|a| str_(a)).collect()),
        );
    }
    let changeset_id = match call(engine, globals, files, "CreateChangeSet", params).await {
        Ok(v) => v
            .get("Id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        Err(e) => return fail(out, e.to_string(), Some(e)),
    };
    out.stdout
        .push_str("\nWaiting for changeset to be created..\n");
    let poller = match waiter(
        "ChangeSetCreateComplete",
        Some(5),
        None,
        api_call(
            "describe-change-set",
            "DescribeChangeSet",
            IndexMap::from([
                ("ChangeSetName".to_string(), str_(&changeset_id)),
                ("StackName".to_string(), str_(stack)),
            ]),
            globals,
        ),
    ) {
        Ok(w) => w,
        Err(why) => return fail(out, why, None),
    };
    let mut last = None;
    let waited = wait_keeping_last(engine, &poller, files, progress, &mut last).await;
    if waited.exit_code != 0 {
        let ex = waited.stderr.trim().to_string();
        let field = |k: &str| match &last {
            Some(Response::Ok(v)) => v.get(k).and_then(Json::as_str).map(str::to_string),
            _ => None,
        };
        let (Some(status), Some(reason)) = (field("Status"), field("StatusReason")) else {
            // No change set to read (an error, the deadline): the waiter's own words.
            return fail(out, ex, waited.error);
        };
        if (status == "FAILED"
            && reason.contains("The submitted information didn't contain changes."))
            || reason.contains("No updates are to be performed")
        {
            let message = format!("No changes to deploy. Stack {stack} is up to date");
            if d.fail_on_empty_changeset {
                return fail(out, message, None);
            }
            out.stdout.push_str(&format!("\n{message}\n"));
            return out;
        }
        return fail(
            out,
            format!("Failed to create the changeset: {ex} Status: {status}. Reason: {reason}"),
            None,
        );
    }

    // 4. Execute it, or say how to.
    if !d.execute_changeset {
        out.stdout.push_str(&format!(
            "Changeset created successfully. Run the following command to review changes:\naws cloudformation describe-change-set --change-set-name {changeset_id}\n"
        ));
        return out;
    }
    let params = IndexMap::from([
        ("ChangeSetName".to_string(), str_(&changeset_id)),
        ("StackName".to_string(), str_(stack)),
        (
            "DisableRollback".to_string(),
            Value::Bool(d.disable_rollback),
        ),
    ]);
    if let Err(e) = call(engine, globals, files, "ExecuteChangeSet", params).await {
        return fail(out, e.to_string(), Some(e));
    }
    out.stdout
        .push_str("Waiting for stack create/update to complete\n");
    let name = if exists {
        "StackUpdateComplete"
    } else {
        "StackCreateComplete"
    };
    let poller = match waiter(
        name,
        Some(30),
        Some(120),
        api_call(
            "describe-stacks",
            "DescribeStacks",
            IndexMap::from([("StackName".to_string(), str_(stack))]),
            globals,
        ),
    ) {
        Ok(w) => w,
        Err(why) => return fail(out, why, None),
    };
    let waited = super::wait::wait(engine, &poller, files, progress).await;
    if waited.exit_code != 0 {
        let mut message = format!(
            "Failed to create/update the stack. Run the following command\nto fetch the list of events leading up to the failure\naws cloudformation describe-stack-events --stack-name {stack}"
        );
        // Beyond the CLI: a wait stopped at the per-call deadline says so.
        if waited.stderr.contains(" stopped: ") {
            message.push_str(&format!("\n({})", waited.stderr.trim()));
        }
        return fail(out, message, waited.error);
    }
    out.stdout
        .push_str(&format!("Successfully created/updated stack - {stack}\n"));
    out
}

/// The AWS CLI's report of an exception after what was printed: a blank line, the message on
/// stderr; exit code 255.
fn fail(mut out: S3Outcome, message: String, error: Option<S3Error>) -> S3Outcome {
    out.stderr.push_str(&format!("\n{message}\n"));
    out.exit_code = 255;
    out.error = error;
    out
}

/// One CloudFormation call with the command's global options (one page; `--output` and
/// `--query` are not its).
fn api_call(
    cli_operation: &str,
    operation: &str,
    params: IndexMap<String, Value>,
    globals: &GlobalOptions,
) -> OperationCall {
    OperationCall::internal(
        "cloudformation",
        cli_operation,
        "cloudformation",
        operation,
        params,
        globals,
    )
}

async fn call(
    engine: &Engine,
    globals: &GlobalOptions,
    files: &dyn PathPolicy,
    operation: &'static str,
    params: IndexMap<String, Value>,
) -> Result<Json, S3Error> {
    let cli = portcullis_model::naming::xform_name(operation).replace('_', "-");
    match engine
        .execute(&api_call(&cli, operation, params, globals), files)
        .await
    {
        Ok(out) => Ok(out.value),
        Err(error) => Err(S3Error::Call { operation, error }),
    }
}

/// The CloudFormation waiter `name` from the model pack polling `call`, with the CLI's
/// `WaiterConfig` (`delay`, `max_attempts`) over the model's.
fn waiter(
    name: &str,
    delay: Option<u64>,
    max_attempts: Option<u64>,
    call: OperationCall,
) -> Result<WaitCommand, String> {
    let all = portcullis_cli::waiter::waiters("cloudformation")?;
    let mut spec = match all.get(name) {
        Some(Ok(spec)) => spec.clone(),
        Some(Err(e)) => return Err(format!("the waiter {name}: {e}")),
        None => {
            return Err(format!(
                "the waiter {name} is not in the CloudFormation model"
            ));
        }
    };
    if let Some(d) = delay {
        spec.delay = d;
    }
    if let Some(m) = max_attempts {
        spec.max_attempts = m;
    }
    Ok(WaitCommand {
        waiter: name.to_string(),
        cli_name: portcullis_model::naming::xform_name(name),
        spec,
        call,
    })
}
