//! A real OpenID provider (panva's oidc-provider, pinned in tests/oidc; scripts/setup-node.sh
//! installs it) issuing client-credentials access tokens as JWTs for a requested resource.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // test support drives programs
#![allow(dead_code)] // each suite uses part of it

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::serve::request;

pub fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// A running oidc-provider, stopped on drop.
pub struct Provider {
    child: Child,
    pub issuer: String,
    pub jwks_uri: String,
    pub port: u16,
    pub kids: Vec<String>,
}

impl Provider {
    /// Starts the provider on `port` (0: any) with the keys in `keys` (created when missing,
    /// a new RSA key put first with `rotate`).
    pub fn start(port: u16, keys: &Path, rotate: bool) -> Provider {
        let script = oidc_dir().join("provider.mjs");
        assert!(
            oidc_dir().join("node_modules/oidc-provider").is_dir(),
            "{} has no node_modules: run scripts/setup-node.sh (scripts/test.sh does)",
            oidc_dir().display()
        );
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--keys")
            .arg(keys)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if rotate {
            cmd.arg("--rotate");
        }
        let mut child = cmd
            .spawn()
            .expect("start node (scripts/setup-node.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
        let issuer = ready["issuer"].as_str().unwrap().to_string();
        let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
        Provider {
            child,
            jwks_uri: ready["jwks_uri"].as_str().unwrap().to_string(),
            issuer,
            port,
            kids: ready["kids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect(),
        }
    }

    /// A client-credentials access token of `client` for `resource` with `scope`.
    pub fn token(&self, client: &str, resource: &str, scope: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id={client}&client_secret={client}-secret&scope={}&resource={}",
            enc(scope),
            enc(resource)
        );
        let r = request(
            self.port,
            "POST",
            "/token",
            &[
                ("Host", &format!("127.0.0.1:{}", self.port)),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        );
        assert_eq!(r.status, 200, "token request: {}", r.body);
        let v: Value = serde_json::from_str(r.body.trim()).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
