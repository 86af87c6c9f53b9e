//! `portcullis exec` behaves as `serve` does: the same settings (the config file and the bounds
//! too), the same audit trail, and messages that read well when no policy file is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::moto::Moto;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn exec(home: &Path, command: &str, vars: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["exec", command])
        .current_dir(home)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn home(tag: &str) -> std::path::PathBuf {
    let h = std::env::temp_dir().join(format!("portcullis-exec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&h);
    std::fs::create_dir_all(&h).unwrap();
    h
}

#[test]
fn exec_reads_the_config_file_and_the_bounds_and_writes_the_audit_trail() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let h = home("parity");
    let ep = ("AWS_ENDPOINT_URL", endpoint.as_str());
    let open = ("PORTCULLIS_MODE", "unrestricted");
    for i in 0..5 {
        let r = exec(
            &h,
            &format!("aws iam create-user --user-name u{i}"),
            &[ep, open],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // PORTCULLIS_MAX_ITEMS bounds exec's listing as it bounds serve's, and says so.
    let r = exec(
        &h,
        "aws iam list-users",
        &[ep, open, ("PORTCULLIS_MAX_ITEMS", "2")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let users: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(users["Users"].as_array().unwrap().len(), 2, "{}", r.stdout);
    assert!(!r.stderr.is_empty(), "the truncation is said on stderr");

    // `mode = "read-only"` in the config file: a write is denied, not sent to a prompt.
    let config = h.join("portcullis.toml");
    std::fs::write(&config, "mode = \"read-only\"\n").unwrap();
    let r = exec(
        &h,
        "aws iam create-user --user-name blocked",
        &[ep, ("PORTCULLIS_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(r.code, 252, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .starts_with("denied by the mode, not executed: read-only mode denies"),
        "{}",
        r.stderr
    );

    // Guarded, no terminal to ask on: refused, and the message reads well without a policy file.
    let r = exec(&h, "aws iam create-user --user-name asked", &[ep]);
    assert_eq!(r.code, 252, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("add an allow rule in a policy file (PORTCULLIS_POLICY_FILE)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("mode only"), "{}", r.stderr);

    // Every one of those runs is in the audit trail, which verifies.
    let audit = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("audit")
            .args(args)
            .env_clear()
            .env("HOME", &h)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, verified) = audit(&["verify"]);
    assert_eq!(code, Some(0), "{verified}");
    let (_, shown) = audit(&["show", "--kind", "tool_call", "--json"]);
    let calls: Vec<serde_json::Value> = shown
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 8, "{shown}");
    let decisions: Vec<&str> = calls
        .iter()
        .map(|c| c["commands"][0]["decision"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "allow", "allow", "allow", "allow", "allow", "allow", "deny", "consent"
        ]
    );
    let _ = std::fs::remove_dir_all(&h);
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' models | head -1",
            env!("CARGO_BIN_EXE_portcullis")
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("botocore "));
    // With pipefail, the exit status of portcullis itself: success, not a panic (101).
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' models | head -1 >/dev/null",
            env!("CARGO_BIN_EXE_portcullis")
        ))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
