//! The parser's product: a typed, validated request.

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::globals::{GlobalOptions, Paging};
use crate::s3cmd::S3Command;
use crate::value::{LocalFile, Value};

/// One AWS API call, as the command asked for it, validated against the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationCall {
    /// The CLI command (`s3api`).
    pub command: String,
    /// The CLI operation (`put-object`).
    pub cli_operation: String,
    /// The botocore service (`s3`).
    pub service: String,
    /// The API operation (`PutObject`).
    pub operation: String,
    /// The input parameters, in the order the AWS CLI builds them.
    pub params: IndexMap<String, Value>,
    pub globals: GlobalOptions,
    #[serde(skip_serializing_if = "Paging::is_empty")]
    pub paging: Paging,
    /// Where a streaming response is written (`s3api get-object ... outfile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outfile: Option<LocalFile>,
    /// Members Portcullis filled in itself (idempotency tokens, CLI defaults).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<String>,
    /// Local files read while parsing (`file://`, `fileb://`, `--cli-input-json file://`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files_read: Vec<String>,
    /// What the reader should know but does not stop the call: an abbreviated option read as
    /// its full name (`read --filter as --filters`), a value outside the pinned model's enum,
    /// pattern or maximum (sent as given: the service decides). Not part of the digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl OperationCall {
    /// The canonical form of what will run: everything that changes the request sent to AWS or
    /// where it goes. Consent and audit refer to its digest.
    pub fn normalized(&self) -> serde_json::Value {
        serde_json::json!({
            "service": self.service,
            "operation": self.operation,
            "params": Value::Map(self.params.clone()).to_json(),
            "globals": self.globals,
            "paging": self.paging,
            "outfile": self.outfile,
        })
    }

    /// SHA-256 of the compact normalized form, hex.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(&self.normalized()).unwrap_or_default();
        let sum = Sha256::digest(&bytes);
        hex::encode(sum)
    }

    /// One API call a customization makes on its own behalf (`aws s3 cp` makes `PutObject`, a
    /// waiter its polled operation): these parameters, the command's global options for where and
    /// how it is sent, one page at a time, and no `--output`/`--query` (they shape the
    /// customization's own output, not this call's).
    pub fn internal(
        command: &str,
        cli_operation: &str,
        service: &str,
        operation: &str,
        params: IndexMap<String, Value>,
        globals: &GlobalOptions,
    ) -> OperationCall {
        let mut globals = globals.clone();
        globals.no_paginate = true;
        globals.output = None;
        globals.query = None;
        OperationCall {
            command: command.into(),
            cli_operation: cli_operation.into(),
            service: service.into(),
            operation: operation.into(),
            params,
            globals,
            paging: Paging::default(),
            outfile: None,
            generated: Vec::new(),
            files_read: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The command in the AWS CLI's own words (`aws s3api put-object`), without its arguments.
    pub fn display_name(&self) -> String {
        format!("aws {} {}", self.command, self.cli_operation)
    }
}

/// What a command asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // made once per command and moved, never stored in bulk
pub enum Command {
    /// An API call.
    Call(OperationCall),
    /// `--generate-cli-skeleton`: a template to fill in; nothing is called.
    Skeleton {
        service: String,
        operation: String,
        /// `input` or `output`.
        which: String,
        skeleton: serde_json::Value,
    },
    /// A high-level `aws s3` command (ls, cp, mv, sync, mb, rb, rm, presign): several API calls, run by
    /// the wire engine's `s3` module.
    S3(S3Command),
    /// Another AWS CLI customization Portcullis runs ([`crate::extra`]): a waiter, a token
    /// command, ...; it lists the API calls it may make.
    Extra(crate::ExtraCommand),
}
