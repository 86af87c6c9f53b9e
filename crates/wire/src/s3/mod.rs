//! The high-level `aws s3` commands, run natively on the [`Engine`].
//!
//! # Brief overview
//!
//! [`run`] takes a parsed [`S3Command`] (from `portcullis_cli`), makes the S3 API calls it stands
//! for — each one an [`OperationCall`] built here and sent by [`Engine::execute`], so endpoint
//! rules, signing, retries and bounds are the engine's — and returns an [`S3Outcome`]: what the
//! AWS CLI would print on stdout and stderr, and its exit code.
//!
//! * [`listing`] — `ls` (buckets; prefixes and objects; `--recursive`, `--human-readable`,
//!   `--summarize`), page by page as the CLI prints them.
//! * [`transfer`] — `cp` and `mv` (upload, download, copy; `--recursive`; multipart above 8 MiB;
//!   `mv` deletes each source once copied) and `rm`; local files only through the [`PathPolicy`].
//! * [`sync`] — `sync` (both sides listed and compared by size and modification time; `--delete`,
//!   `--size-only`, `--exact-timestamps`), on `transfer`'s jobs.
//! * `filter` — `--exclude`/`--include`, matched as the AWS CLI matches them.
//! * [`bucket`] — `mb` and `rb` (`--force` empties the bucket first).
//! * [`presign`] — a SigV4 query-signed GET URL; nothing is sent.
//! * [`format`](mod@format) — dates, human-readable sizes and local paths as the CLI shows them.

pub mod bucket;
mod filter;
pub mod format;
pub mod listing;
pub mod presign;
pub mod sync;
pub mod transfer;

use indexmap::IndexMap;
use portcullis_cli::{GlobalOptions, OperationCall, PathPolicy, S3Command, S3Op, Value};
use serde_json::Value as Json;

use crate::execute::{Engine, ExecError};

/// What an `aws s3` command printed, and its exit code (the AWS CLI's: 0 success, 1 a transfer
/// or request failed, 2 files were skipped with a warning, 255 the command failed outright).
#[derive(Debug, Default)]
pub struct S3Outcome {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: u8,
    /// The error that ended or marred the command, if any (for the audit trail).
    pub error: Option<S3Error>,
}

/// Why an `aws s3` command (or one of its transfers) failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// An API call failed; `operation` is the API operation.
    #[error("{}", exec_text(operation, error))]
    Call {
        operation: &'static str,
        error: ExecError,
    },
    /// A local file could not be read, listed or written.
    #[error("{0}")]
    File(String),
    /// Something the command cannot do (presigning without credentials, an oversize copy).
    #[error("{0}")]
    Unsupported(String),
}

/// How the AWS CLI words a failed call: botocore's `ClientError` text for service errors
/// ([`ServiceError::cli_message`](crate::protocol::parse::ServiceError::cli_message)), where
/// the `aws s3` commands say `Unknown` for a message the service did not send.
fn exec_text(operation: &str, e: &ExecError) -> String {
    match e {
        ExecError::Service(s) => {
            let mut text = s.cli_message(operation);
            if s.message.is_empty() {
                text.push_str("Unknown");
            }
            text
        }
        other => other.to_string(),
    }
}

impl S3Error {
    /// The service error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            S3Error::Call {
                error: ExecError::Service(s),
                ..
            } => Some(&s.code),
            _ => None,
        }
    }
}

/// Runs `cmd`. Never panics on what the network or the file system returns; every failure is in
/// the outcome, worded as the AWS CLI words it.
pub async fn run(engine: &Engine, cmd: &S3Command, files: &dyn PathPolicy) -> S3Outcome {
    let ctx = Ctx {
        engine,
        globals: &cmd.globals,
        files,
    };
    match &cmd.op {
        S3Op::Ls { .. } => listing::ls(&ctx, &cmd.op).await,
        S3Op::Mb { bucket } => bucket::mb(&ctx, bucket).await,
        S3Op::Rb { bucket, force } => bucket::rb(&ctx, bucket, *force).await,
        // cp, mv and sync.
        S3Op::Cp { .. } => transfer::cp(&ctx, &cmd.op).await,
        S3Op::Rm { .. } => transfer::rm(&ctx, &cmd.op).await,
        S3Op::Presign {
            bucket,
            key,
            expires_in,
        } => presign::presign(&ctx, bucket, key, *expires_in).await,
    }
}

/// What every subcommand works with.
pub(crate) struct Ctx<'a> {
    pub engine: &'a Engine,
    pub globals: &'a GlobalOptions,
    pub files: &'a dyn PathPolicy,
}

impl Ctx<'_> {
    /// One S3 API call (never auto-paginated: the subcommands page themselves, as the CLI does).
    pub async fn call(
        &self,
        operation: &'static str,
        params: IndexMap<String, Value>,
    ) -> Result<Json, S3Error> {
        let call = self.operation_call(operation, params);
        match self.engine.execute(&call, self.files).await {
            Ok(out) => Ok(out.value),
            Err(error) => Err(S3Error::Call { operation, error }),
        }
    }

    pub fn operation_call(
        &self,
        operation: &'static str,
        params: IndexMap<String, Value>,
    ) -> OperationCall {
        // --output and --query do not apply to aws s3 (the CLI ignores them too).
        OperationCall::internal(
            "s3api",
            &kebab(operation),
            "s3",
            operation,
            params,
            self.globals,
        )
    }

    /// The region requests go to (the command's, else the engine's).
    pub fn region(&self) -> Option<String> {
        self.globals
            .region
            .clone()
            .or_else(|| self.engine.default_region().map(str::to_string))
    }
}

/// `ListObjectsV2` → `list-objects-v2`.
fn kebab(op: &str) -> String {
    let mut out = String::with_capacity(op.len() + 4);
    let mut prev_lower = false;
    for c in op.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase();
        }
    }
    out
}

/// Builds a parameter map from `(name, value)` pairs, skipping `None`s.
pub(crate) fn params<const N: usize>(pairs: [(&str, Option<Value>); N]) -> IndexMap<String, Value> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
}

pub(crate) fn s(v: &str) -> Option<Value> {
    Some(Value::Str(v.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn kebab_names() {
        assert_eq!(super::kebab("ListObjectsV2"), "list-objects-v2");
        assert_eq!(
            super::kebab("CreateMultipartUpload"),
            "create-multipart-upload"
        );
        assert_eq!(super::kebab("HeadObject"), "head-object");
    }
}
