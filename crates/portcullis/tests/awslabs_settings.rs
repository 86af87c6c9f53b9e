//! The awslabs server's settings that Portcullis does not implement stop `portcullis serve` before
//! anything is served: `EXPERIMENTAL_AGENT_SCRIPTS` (other than false/no/0). The error names the
//! variable, says it is not implemented and what to do. OAuth (`AUTH_TYPE=oauth`, tests/oauth.rs)
//! is implemented, but only over HTTP and only complete: over stdio, or without its issuer, keys
//! and owner, it stops `serve` too, naming what is missing. `AWS_API_MCP_STATELESS_HTTP` is
//! implemented (tests/teams.rs) and read strictly as a boolean. The accepted, no-effect
//! ones (`AWS_API_MCP_TELEMETRY`, `AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING`, `AUTH_TYPE=no-auth`)
//! let it start: a real MCP client (tests/mcp/client.py) lists the tools.
//!
//! Every test here spawns the real binary (and the positive one the Python client too); their
//! names start with `spawned_`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the Python client

#[allow(dead_code)] // only `support::mcp` is used here, not moto
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::mcp::McpEnv;

/// A fresh HOME (also the working directory) for one run.
fn temp_home(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let home = std::env::temp_dir().join(format!(
        "portcullis-awslabs-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Spawns `portcullis ARGS` with a clean environment plus `vars`, stdin held open (a stdio server
/// that started would wait on it), and waits at most 30 s for it to exit. Its exit code and
/// stderr; panics if it is still running (it started serving).
fn spawn_serve(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_API_MCP_WORKING_DIR", home)
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portcullis");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!(
                "`portcullis {args:?}` with {vars:?} did not stop within 30 s (it started); stderr:\n{err}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), out, err)
}

/// `serve` (stdio, and HTTP on a free loopback port) with `var=value` must exit non-zero at once,
/// saying which variable, that it is not implemented, and to unset it; nothing is served.
fn assert_refused(var: &str, value: &str) {
    let home = temp_home("refused");
    for args in [
        &["serve"][..],
        &["serve", "--transport", "http", "--port", "0"],
    ] {
        let started = Instant::now();
        let (code, stdout, stderr) = spawn_serve(&home, args, &[(var, value)]);
        assert_eq!(
            code,
            Some(2),
            "{args:?} {var}={value} must fail; stderr:\n{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{var}: not prompt"
        );
        assert_eq!(stdout, "", "{var}: nothing may be written on stdout");
        assert!(
            stderr.contains(var) && stderr.contains("not implement") && stderr.contains("Unset"),
            "{args:?} {var}={value}: the error must name the variable, why and what to do:\n{stderr}"
        );
        assert!(
            !stderr.contains("serving MCP"),
            "{var}: it served:\n{stderr}"
        );
    }
    // Nothing ran: not even the audit trail was started.
    assert!(
        !home.join(".local/state/portcullis/audit").exists(),
        "{var}: the server got as far as its audit trail"
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn spawned_serve_refuses_oauth_over_stdio_or_incomplete() {
    let home = temp_home("oauth");
    for (var, value) in [
        ("AUTH_TYPE", "oauth"),
        ("AUTH_ISSUER", "https://issuer.example"),
        (
            "AUTH_JWKS_URI",
            "https://issuer.example/.well-known/jwks.json",
        ),
    ] {
        let (code, stdout, stderr) = spawn_serve(&home, &["serve"], &[(var, value)]);
        assert_eq!(code, Some(2), "{var}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(var) && stderr.contains("stdio") && stderr.contains("--transport http"),
            "{var}: {stderr}"
        );
        let (code, _, stderr) = spawn_serve(
            &home,
            &["serve", "--transport", "http", "--port", "0"],
            &[(var, value)],
        );
        assert_eq!(code, Some(2), "{var}: {stderr}");
        assert!(
            !stderr.contains("serving MCP"),
            "{var}: it served:\n{stderr}"
        );
        let want = if var == "AUTH_TYPE" {
            "AUTH_TYPE=oauth needs AUTH_ISSUER"
        } else {
            "AUTH_TYPE is not `oauth`"
        };
        assert!(
            stderr.contains(var) && stderr.contains(want),
            "{var}: {stderr}"
        );
    }
    let (code, _, stderr) = spawn_serve(
        &home,
        &["serve", "--transport", "http", "--port", "0"],
        &[
            ("AUTH_TYPE", "oauth"),
            ("AUTH_ISSUER", "https://issuer.example"),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("AUTH_JWKS_URI")
            && stderr.contains("PORTCULLIS_AUTH_OWNER")
            && !stderr.contains("AUTH_ISSUER ("),
        "{stderr}"
    );
    assert!(!home.join(".local/state/portcullis/audit").exists());
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn spawned_serve_reads_stateless_http_strictly() {
    // Over HTTP a value that is neither true nor false stops the server (a misspelt "on" is not
    // read as off); over stdio, which has no sessions, it is not read.
    let home = temp_home("stateless");
    let (code, stdout, stderr) = spawn_serve(
        &home,
        &["serve", "--transport", "http", "--port", "0"],
        &[("AWS_API_MCP_STATELESS_HTTP", "on")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("AWS_API_MCP_STATELESS_HTTP must be true or false, not `on`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn spawned_serve_refuses_experimental_agent_scripts() {
    assert_refused("EXPERIMENTAL_AGENT_SCRIPTS", "TRUE");
    assert_refused("EXPERIMENTAL_AGENT_SCRIPTS", "1");
}

#[test]
fn spawned_serve_names_every_unimplemented_setting_at_once() {
    let home = temp_home("all");
    let vars = [
        ("EXPERIMENTAL_AGENT_SCRIPTS", "true"),
        ("PORTCULLIS_MODE", "yolo"),
    ];
    let (code, _, stderr) = spawn_serve(&home, &["serve"], &vars);
    assert_eq!(code, Some(2), "{stderr}");
    for (var, _) in vars {
        assert!(stderr.contains(var), "{var}:\n{stderr}");
    }
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn spawned_serve_starts_with_the_accepted_awslabs_settings() {
    // Each alone, then all together with the off values of the refused flags.
    let cases: &[&[(&str, &str)]] = &[
        &[("AWS_API_MCP_TELEMETRY", "true")],
        &[("AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING", "true")],
        &[("AUTH_TYPE", "no-auth")],
        &[
            ("AWS_API_MCP_TELEMETRY", "false"),
            ("AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING", "1"),
            ("AUTH_TYPE", "no-auth"),
            ("AWS_API_MCP_STATELESS_HTTP", "false"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "0"),
            ("AUTH_ISSUER", ""),
        ],
    ];
    for vars in cases {
        let mut env = McpEnv::new("awslabs-accepted");
        for (k, v) in *vars {
            env.set(k, v);
        }
        let v = env.client(&["list"]);
        assert_eq!(v["server"], "portcullis", "{vars:?}: {v}");
        let names: Vec<&str> = v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "call_aws",
                "check_aws_command",
                "suggest_aws_commands",
                "get_blast_radius"
            ],
            "{vars:?}: {v}"
        );
    }
}
