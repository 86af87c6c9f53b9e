//! The AWS CLI customizations, beyond `aws s3`, that Portcullis runs: commands that are not one
//! API operation but poll one (`aws ec2 wait instance-running`), compute locally with the pinned
//! credentials (`aws rds generate-db-auth-token`), or make several calls (`aws cloudformation
//! deploy`).
//!
//! Each customization is a variant of [`Extra`] in a module of its own. What the rest of the
//! pipeline needs from one is the same for all of them, and [`ExtraCommand`] gives it:
//!
//! * [`ExtraCommand::api_calls`] — every API operation it may make, so the policy decides it as
//!   each of them (a rule on `aws ec2 describe-instances` decides `aws ec2 wait instance-running`);
//! * [`ExtraCommand::returns_credentials`] / [`ExtraCommand::destructive`] — what its API calls'
//!   classification cannot tell (a locally minted token is a credential);
//! * [`ExtraCommand::digest`] — what a person approves;
//! * `portcullis_wire::extra::run` — runs it on the engine and prints what the AWS CLI prints.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::globals::GlobalOptions;

/// A parsed customization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtraCommand {
    /// The CLI command it belongs to: `ec2`, `rds`, `cloudformation`.
    pub command: String,
    /// Its name, the word after the command: `wait`, `generate-db-auth-token`, `deploy`.
    pub name: String,
    /// What it does, with its arguments.
    pub kind: Extra,
    /// The global options given with it.
    pub globals: GlobalOptions,
}

/// The customizations Portcullis runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "customization", rename_all = "snake_case")]
pub enum Extra {
    /// `aws <command> wait <waiter>`: polls one operation until its acceptors say success or
    /// failure ([`crate::waiter`]).
    Wait(Box<crate::waiter::WaitCommand>),
    /// `aws rds generate-db-auth-token`, `aws ecr get-login-password`, `aws eks get-token`: print
    /// a credential made with the pinned credentials ([`crate::token`]).
    Token(crate::token::TokenCommand),
    /// `aws cloudformation deploy`: a change set created, waited for and executed
    /// ([`crate::deploy`]).
    Deploy(Box<crate::deploy::DeployCommand>),
}

impl ExtraCommand {
    /// `aws <command> <name>[ <sub-name>]`, e.g. `aws ec2 wait instance-running`.
    pub fn display_name(&self) -> String {
        match &self.kind {
            Extra::Wait(w) => format!("aws {} {} {}", self.command, self.name, w.cli_name),
            Extra::Token(_) | Extra::Deploy(_) => format!("aws {} {}", self.command, self.name),
        }
    }

    /// Every API operation it may make, `(botocore service, operation)`, in the order it would.
    pub fn api_calls(&self) -> Vec<(String, String)> {
        match &self.kind {
            Extra::Wait(w) => vec![w.api_call()],
            Extra::Token(t) => t.api_calls(),
            Extra::Deploy(d) => d.api_calls(),
        }
    }

    /// IAM actions it needs beyond those of its API calls: what a token it signs stands for when
    /// no API operation does (`rds-db:connect`). The policy decides on them like on the actions of
    /// its calls.
    pub fn iam_actions(&self) -> Vec<String> {
        match &self.kind {
            Extra::Token(t) => t.iam_actions(),
            Extra::Deploy(d) => d.iam_actions(),
            _ => Vec::new(),
        }
    }

    /// Whether what it prints is a credential (a token or a pre-signed URL that acts as the
    /// caller), whatever its API calls return.
    pub fn returns_credentials(&self) -> bool {
        match &self.kind {
            Extra::Wait(_) | Extra::Deploy(_) => false,
            // A database token, a registry password, a cluster token: each acts as the caller.
            Extra::Token(_) => true,
        }
    }

    /// Whether it destroys something beyond what its API calls' names say.
    pub fn destructive(&self) -> bool {
        match &self.kind {
            Extra::Wait(_) | Extra::Token(_) | Extra::Deploy(_) => false,
        }
    }

    /// SHA-256 of the whole command (kind, arguments, globals), hex: what consent is bound to.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// The first two words after the global options: `("ec2", "wait")` for
/// `aws --region eu-west-1 ec2 wait instance-running ...`.
pub(crate) fn command_and_name(words: &[String]) -> Option<(&str, &str)> {
    use crate::globals::{GlobalKind, global_kind};
    let mut i = 1;
    let mut found: Vec<&str> = Vec::new();
    while let Some(w) = words.get(i) {
        i += 1;
        match w.strip_prefix("--") {
            None => {
                found.push(w);
                if found.len() == 2 {
                    return Some((found[0], found[1]));
                }
            }
            Some(opt) if opt.contains('=') => {}
            Some(opt) => match global_kind(opt) {
                Some(GlobalKind::Flag) => {}
                Some(_) => i += 1,
                // An operation option before the name: not a customization's shape.
                None => return None,
            },
        }
    }
    None
}

/// Parses `words` when they name a customization Portcullis runs; `None` otherwise (the caller
/// goes on with the API-operation parser, which refuses the customizations it does not run).
pub(crate) fn parse(
    parser: &crate::Parser<'_>,
    words: &[String],
) -> Option<Result<crate::Command, crate::CommandError>> {
    let (command, name) = command_and_name(words)?;
    match name {
        "wait" => crate::waiter::parse(parser, words, command),
        "generate-db-auth-token" | "get-login-password" | "get-token" => {
            crate::token::parse(words, command, name)
        }
        "deploy" => crate::deploy::parse(parser, words, command),
        _ => None,
    }
}
