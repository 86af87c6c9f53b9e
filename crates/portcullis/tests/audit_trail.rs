//! The audit trail as `portcullis serve` writes it: one record per tool call, whatever became of
//! it (allow, deny, consent accepted or declined, AWS error, invalid command), verified and read
//! back with `portcullis audit verify|show`; any edit, deletion, reordering or truncation fails
//! `verify` at that record; a `kill -9` in the middle of a stream of calls leaves a trail that
//! verifies and holds every call whose result was acknowledged; and when the trail cannot take a
//! record, nothing runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::mcp::{McpEnv, first};
use support::moto::Moto;

fn portcullis(home: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn trail_dir(home: &Path) -> PathBuf {
    home.join(".local/state/portcullis/audit")
}

fn tool_calls(home: &Path) -> Vec<Value> {
    let (code, out) = portcullis(home, &["audit", "show", "--kind", "tool_call", "--json"]);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn trail_file(home: &Path) -> PathBuf {
    trail_dir(home).join("audit-000001.jsonl")
}

#[test]
fn one_record_per_call_and_tampering_is_found() {
    let moto = Moto::start();
    moto.reset();
    let env = McpEnv::new("audit");
    let endpoint = moto.endpoint();
    let run = |command: &str, elicit: &str| {
        env.call(&format!("{command} --endpoint-url {endpoint}"), elicit)
    };
    assert_eq!(
        first(&run("aws sts get-caller-identity", "none"))["status"],
        "success"
    ); // allow
    assert_eq!(
        first(&run("aws s3api list-buckets --profile other", "none"))["status"],
        "denied"
    ); // deny
    assert_eq!(
        first(&run("aws s3api create-bucket --bucket audited", "accept"))["status"],
        "success"
    ); // consent, approved
    assert_eq!(
        first(&run("aws s3api create-bucket --bucket refused", "decline"))["status"],
        "declined"
    ); // consent, declined
    assert_eq!(
        first(&run(
            "aws s3api head-bucket --bucket no-such-bucket",
            "none"
        ))["status"],
        "error"
    ); // AWS error
    assert_eq!(
        first(&run("aws s3api list-buckets --bogus", "none"))["status"],
        "invalid"
    ); // validation error
    // A check of a write that would need consent: nobody is asked, and the record says so.
    let checked = env.client(&[
        "call",
        "check_aws_command",
        &json!({ "cli_command": "aws s3api create-bucket --bucket only-checked" }).to_string(),
    ]);
    assert_eq!(checked["is_error"], false, "{checked}");

    let (code, out) = portcullis(&env.home, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    let all = tool_calls(&env.home);
    assert_eq!(all.len(), 7, "exactly one record per call: {all:?}");
    assert_eq!(all[6]["tool"], "check_aws_command");
    assert_eq!(all[6]["commands"][0]["decision"]["outcome"], "consent");
    assert!(
        all[6]["commands"][0].get("consent").is_none(),
        "nobody was asked: {}",
        all[6]
    );
    let records = all[..6].to_vec();
    let command = |i: usize| &records[i]["commands"][0];
    assert_eq!(command(0)["decision"]["outcome"], "allow");
    assert_eq!(command(0)["execution"]["status"], "ok");
    assert!(
        command(0)["execution"]["request_id"].is_string(),
        "{}",
        command(0)
    );
    assert_eq!(command(1)["decision"]["outcome"], "deny");
    assert_eq!(
        command(1)["decision"]["rule_ids"],
        json!(["global:profile"])
    );
    assert_eq!(command(1)["execution"]["status"], "not_run");
    assert_eq!(command(2)["consent"]["outcome"], "approved");
    assert_eq!(command(2)["consent"]["digest"], command(2)["digest"]);
    assert_eq!(
        command(2)["classification"]["actions"],
        json!(["s3:CreateBucket"])
    );
    assert_eq!(command(3)["consent"]["outcome"], "declined");
    assert_eq!(command(3)["execution"]["status"], "not_run");
    assert_eq!(command(4)["execution"]["status"], "error");
    assert!(
        command(4)["execution"]["error_code"].is_string(),
        "{}",
        command(4)
    );
    assert_eq!(command(5)["execution"]["error_code"], "invalid");
    for r in &records {
        assert_eq!(r["tool"], "call_aws");
        assert!(
            r["latency_us"].as_u64().is_some() && r["response_bytes"].as_u64().unwrap() > 0,
            "{r}"
        );
    }
    let (_, shown) = portcullis(&env.home, &["audit", "show", "--decision", "deny"]);
    assert_eq!(shown.lines().count(), 1, "{shown}");

    // Tampering: each edit makes verify fail, naming the record.
    let original = std::fs::read_to_string(trail_file(&env.home)).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    // Each session wrote startup, config, then its call: the denied call's record is the one to edit.
    let denied = lines
        .iter()
        .position(|l| l.contains("\"outcome\":\"deny\""))
        .unwrap();
    let tampered = [
        (
            "edited",
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == denied {
                        l.replace("\"deny\"", "\"allow\"")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>(),
        ),
        (
            "removed",
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != denied)
                .map(|(_, l)| l.to_string())
                .collect(),
        ),
        ("reordered", {
            let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            v.swap(denied, denied + 1);
            v
        }),
        (
            "truncated",
            lines[..lines.len() - 1]
                .iter()
                .map(|l| l.to_string())
                .collect(),
        ),
    ];
    for (what, content) in tampered {
        std::fs::write(trail_file(&env.home), content.join("\n") + "\n").unwrap();
        let (code, out) = portcullis(&env.home, &["audit", "verify"]);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("FAILS"), "{what}: {out}");
        if what != "truncated" {
            assert!(
                out.contains(&format!("line {}", denied + 1)),
                "{what}: the report names the record: {out}"
            );
        }
    }
    std::fs::write(trail_file(&env.home), &original).unwrap();
    assert_eq!(portcullis(&env.home, &["audit", "verify"]).0, 0);
}

/// A raw MCP client over the server's stdio: JSON-RPC lines, no SDK, so the test controls when
/// the server dies.
struct Raw {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Raw {
    fn start(home: &Path, extra: &[(&str, &str)]) -> Raw {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("serve")
            .env_clear()
            .env("HOME", home)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_API_MCP_WORKING_DIR", home)
            .envs(extra.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut raw = Raw {
            child,
            stdin,
            stdout,
        };
        raw.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}));
        let init = raw.read();
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        raw.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        raw
    }

    fn send(&mut self, v: &Value) {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    fn check(&mut self, id: u64) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "check_aws_command", "arguments": {"cli_command": format!("aws s3api list-objects-v2 --bucket b{id}")}}}));
    }
}

#[test]
fn a_crash_loses_no_acknowledged_call() {
    let env = McpEnv::new("audit-crash");
    let mut raw = Raw::start(&env.home, &[]);
    // A stream of calls, 8 in flight at a time; kill -9 after 40 acknowledged results.
    let mut acknowledged = Vec::new();
    let mut next = 1;
    for _ in 0..8 {
        raw.check(next);
        next += 1;
    }
    while acknowledged.len() < 40 {
        let v = raw.read();
        assert!(v["result"]["structuredContent"]["ok"] == true, "{v}");
        acknowledged.push(v["id"].as_u64().unwrap());
        raw.check(next);
        next += 1;
    }
    raw.child.kill().unwrap(); // SIGKILL, mid-stream
    raw.child.wait().unwrap();

    let (code, out) = portcullis(&env.home, &["audit", "verify"]);
    assert_eq!(code, 0, "the trail verifies after kill -9: {out}");
    let recorded: Vec<String> = tool_calls(&env.home)
        .iter()
        .map(|r| {
            r["commands"][0]["params"]["Bucket"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for id in &acknowledged {
        assert!(
            recorded.contains(&format!("b{id}")),
            "acknowledged call {id} is missing from the trail ({} records)",
            recorded.len()
        );
    }
    // The next start continues the same trail.
    let mut again = Raw::start(&env.home, &[]);
    again.check(1000);
    assert_eq!(again.read()["id"], 1000);
    drop(again.stdin);
    again.child.wait().unwrap();
    let (code, out) = portcullis(&env.home, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn without_a_trail_nothing_runs() {
    let moto = Moto::start();
    moto.reset();
    let env = McpEnv::new("audit-closed");
    // A trail that cannot be created: the server does not start.
    let blocker = env.home.join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env("HOME", &env.home)
        .env("PORTCULLIS_AUDIT_DIR", blocker.join("audit"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The trail disappears under a running server: the next call does not run.
    let endpoint = moto.endpoint();
    let mut raw = Raw::start(&env.home, &[("PORTCULLIS_MODE", "unrestricted")]);
    let create = |id: u64, bucket: &str| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "call_aws", "arguments": {"cli_command": format!("aws s3api create-bucket --bucket {bucket} --endpoint-url {endpoint}")}}});
    raw.send(&create(1, "before-loss"));
    let v = raw.read();
    assert_eq!(v["result"]["isError"], false, "{v}");
    std::fs::remove_dir_all(trail_dir(&env.home)).unwrap();
    raw.send(&create(2, "after-loss"));
    let v = raw.read();
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert!(v.to_string().contains("audit"), "{v}");
    let listing = moto.http("GET", "/", "").unwrap().1;
    assert!(
        listing.contains("before-loss") && !listing.contains("after-loss"),
        "{listing}"
    );
    drop(raw.stdin);
    raw.child.wait().unwrap();
}
