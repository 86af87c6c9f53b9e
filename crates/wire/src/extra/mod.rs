//! The AWS CLI customizations beyond `aws s3` ([`portcullis_cli::extra`]), run natively on the
//! [`Engine`]: every API call they make is an [`portcullis_cli::OperationCall`] sent by
//! [`Engine::execute`] (so endpoints, signing, retries and bounds are the engine's), and what they
//! print is what the AWS CLI prints.
//!
//! One module per customization; [`run`] dispatches.

pub mod deploy;
pub mod token;
pub mod wait;

use portcullis_cli::{Extra, ExtraCommand, PathPolicy};

use crate::execute::Engine;
use crate::s3::S3Outcome;

/// Progress of a long-running customization (a waiter's polls), for the caller to pass on
/// (MCP `notifications/progress`). `progress` grows with each step; `total` is the most steps
/// there can be, when known.
pub trait Progress: Send + Sync {
    fn report(&self, progress: f64, total: Option<f64>, message: &str);
}

/// A [`Progress`] that tells nobody.
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _progress: f64, _total: Option<f64>, _message: &str) {}
}

/// Runs `cmd`: what it printed (stdout, stderr) and its exit code, as the AWS CLI's. Never panics
/// on what the network returns.
pub async fn run(
    engine: &Engine,
    cmd: &ExtraCommand,
    files: &dyn PathPolicy,
    progress: &dyn Progress,
) -> S3Outcome {
    match &cmd.kind {
        Extra::Wait(w) => wait::wait(engine, w, files, progress).await,
        Extra::Token(t) => token::token(engine, t, &cmd.globals, files).await,
        Extra::Deploy(d) => deploy::deploy(engine, d, &cmd.globals, files, progress).await,
    }
}
