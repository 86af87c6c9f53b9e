//! # Portcullis: the request pipeline and the MCP server, as a library
//!
//! Brief overview. Every AWS CLI command an agent sends goes through one typed pipeline
//! ([`pipeline`]): assess (parse, classify, derive the request once) → decide (the policy) →
//! consent (a person approves the exact digest) → limit → execute (the native wire engine) →
//! shape (mask secrets, render like the AWS CLI) → record (the audit trail). The binary's
//! `serve`, `exec` and `check`, and the tests, all drive it; [`server`] adapts it to MCP (stdio and
//! streamable HTTP), [`config`] reads the settings, [`redact`] is the one place secret values are
//! found and masked; [`scope`] generates the IAM session policy that makes IAM enforce the policy too.

pub mod blast;
pub mod config;
pub mod gateway;
pub mod pipeline;
pub mod redact;
pub mod scope;
pub mod server;
