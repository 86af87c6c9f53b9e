//! A real MCP client (the official Python SDK, tests/mcp/client.py) driving `portcullis serve`
//! over stdio with a sandboxed HOME and fake credentials.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // test support drives programs
#![allow(dead_code)] // each suite uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::moto::venv_python;
use super::serve::{FAKE_AWS, temp_home};

/// One server configuration: its HOME (also the working directory unless changed) and environment.
pub struct McpEnv {
    pub home: PathBuf,
    pub vars: Vec<(String, String)>,
}

impl McpEnv {
    pub fn new(tag: &str) -> McpEnv {
        let home = temp_home(tag);
        let vars = vec![(
            "AWS_API_MCP_WORKING_DIR".to_string(),
            home.to_string_lossy().into_owned(),
        )];
        McpEnv { home, vars }
    }

    pub fn set(&mut self, key: &str, value: impl AsRef<Path>) -> &mut Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((
            key.to_string(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    /// Runs the client with `args` (see tests/mcp/client.py); its JSON output.
    pub fn client(&self, args: &[&str]) -> Value {
        self.client_with(&[], args)
    }

    /// [`McpEnv::client`], with `extra` environment for the server on top of this one's.
    pub fn client_with(&self, extra: &[(String, String)], args: &[&str]) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
        let mut cmd = Command::new(venv_python());
        cmd.arg(script)
            .arg(env!("CARGO_BIN_EXE_portcullis"))
            .args(args);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .envs(FAKE_AWS)
            .envs(self.vars.iter().chain(extra).map(|(k, v)| (k, v)));
        let out = cmd.output().expect("run the MCP client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "MCP client failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("client printed no JSON ({e}): {stdout}\nstderr: {stderr}"))
    }

    /// `call_aws` with one command, answering consent prompts with `elicit`.
    pub fn call(&self, command: &str, elicit: &str) -> Value {
        self.client(&[
            "call",
            "call_aws",
            &json!({ "cli_command": command }).to_string(),
            "--elicit",
            elicit,
        ])
    }
}

impl Drop for McpEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// The first command's result of a `call_aws` answer.
pub fn first(v: &Value) -> &Value {
    &v["structured_content"]["results"][0]
}
