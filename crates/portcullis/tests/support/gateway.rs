//! `portcullis gateway` in a clean environment: its config, pins, the Python MCP client driving
//! a scripted session, the audit trail.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // test support drives programs
#![allow(dead_code)] // each suite uses part of it

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::moto::venv_python;
use super::serve::temp_home;

/// A gateway home: the config file, the state directory, the audit trail.
pub struct Gw {
    pub home: PathBuf,
    pub config: PathBuf,
    pub extra: Vec<(String, String)>,
}

impl Gw {
    pub fn new(tag: &str, config: &str) -> Gw {
        let home = temp_home(tag);
        let path = home.join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        Gw {
            home,
            config: path,
            extra: Vec::new(),
        }
    }

    pub fn record(&self, name: &str) -> PathBuf {
        self.home.join(format!("{name}.calls"))
    }

    pub fn calls(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.record(name))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("tools/call"))
            .map(str::to_string)
            .collect()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        self.environment(&mut cmd);
        cmd.args(args)
            .env("PORTCULLIS_GATEWAY_CONFIG", &self.config);
        cmd
    }

    /// A clean environment: PATH, the home, and the gateway's own credentials and a variable of
    /// its own (no upstream may see them), then `extra`.
    fn environment(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("AWS_ACCESS_KEY_ID", "AKIAGATEWAYOWNKEY000")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "gateway-own-secret-value-0000000000000000",
            )
            .env("GATEWAY_ONLY", "1")
            .envs(self.extra.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.home);
    }

    /// `portcullis gateway pin`: exit code and stdout+stderr.
    pub fn pin(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["gateway", "pin"];
        args.extend_from_slice(extra);
        let out = self.command(&args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// One client session running `steps`; the step results.
    pub fn session(&self, steps: Value) -> Vec<Value> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/client.py");
        let mut cmd = Command::new(venv_python());
        cmd.arg(script)
            .arg(env!("CARGO_BIN_EXE_portcullis"))
            .arg(&self.config)
            .arg(steps.to_string());
        self.environment(&mut cmd);
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "client failed: {stdout}\n{stderr}");
        let v: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        assert_eq!(v["server"], "portcullis-gateway");
        v["steps"].as_array().unwrap().clone()
    }

    /// The audit trail's records (JSON Lines under the state directory).
    pub fn audit(&self) -> Vec<Value> {
        let dir = self.home.join("state/portcullis/audit");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "jsonl") {
                for l in std::fs::read_to_string(&p).unwrap().lines() {
                    out.push(serde_json::from_str(l).unwrap());
                }
            }
        }
        out
    }

    pub fn verify_audit(&self) {
        let out = self.command(&["audit", "verify"]).output().unwrap();
        assert!(
            out.status.success(),
            "audit verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The prefixed names of a `list` step's tools.
pub fn names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}
