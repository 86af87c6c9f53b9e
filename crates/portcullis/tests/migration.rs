//! What someone coming from the awslabs server trips over: settings that must stop the server by
//! name, settings spelled as the flag spells them, the stricter of two settings, the default region
//! and working directory, and tool definitions that say what an agent needs and nothing about this
//! machine.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the Python client

mod support;

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::mcp::{McpEnv, first};
use support::serve::{portcullis, spawn, temp_home};

/// `serve` on stdio with nothing to read: it stops at once, saying why (or serves nothing).
fn serve_stops(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = temp_home("migration-stop");
    let out = portcullis(&home, &["serve"])
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn settings_that_cannot_be_honoured_stop_the_server_by_name() {
    let (code, err) = serve_stops(&[("AWS_API_MCP_PROFILE_NAME", "nope")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("profile `nope` not found in /dev/null or /dev/null"),
        "{err}"
    );
    assert!(
        !err.contains("IMDS"),
        "no blame on instance metadata: {err}"
    );
    let (code, err) = serve_stops(&[("REQUIRE_MUTATION_CONSENT", "maybe")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("REQUIRE_MUTATION_CONSENT must be true or false, not `maybe`"),
        "{err}"
    );
    // `exec --as-profile` too.
    let home = temp_home("migration-exec");
    let out = portcullis(
        &home,
        &[
            "exec",
            "--as-profile",
            "nope",
            "aws sts get-caller-identity",
        ],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("profile `nope` not found"), "{err}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn transport_http_is_spelled_as_the_flag_spells_it() {
    let home = temp_home("migration-http");
    let mut cmd = portcullis(&home, &["serve"]);
    cmd.env("AWS_API_MCP_TRANSPORT", "http")
        .env("AWS_API_MCP_PORT", "0")
        .stdin(Stdio::null());
    let mut server = spawn(&mut cmd);
    assert!(server.port > 0);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn the_stricter_setting_wins_and_the_defaults_are_the_awslabs_ones() {
    // TMPDIR of our own: the default working directory is `$TMPDIR/aws-api-mcp/workdir`.
    let tmp = temp_home("migration-tmp");
    let mut env = McpEnv::new("migration-strict");
    env.vars.retain(|(k, _)| k != "AWS_API_MCP_WORKING_DIR");
    env.set("TMPDIR", &tmp)
        .set("PORTCULLIS_MODE", "unrestricted")
        .set("REQUIRE_MUTATION_CONSENT", "true")
        .set("AWS_REGION", "");
    // A write asks first (declined: nothing runs, nothing is sent).
    let v = env.call("aws s3api create-bucket --bucket asked-first", "decline");
    assert_eq!(first(&v)["status"], "declined", "{v}");
    assert_eq!(v["prompts"].as_array().unwrap().len(), 1, "{v}");
    // No region anywhere: us-east-1, as the awslabs server.
    let v = env.client(&[
        "call",
        "check_aws_command",
        &json!({ "cli_command": "aws sqs list-queues" }).to_string(),
    ]);
    assert_eq!(v["structured_content"]["region"], "us-east-1", "{v}");
    let workdir = tmp.join("aws-api-mcp/workdir");
    assert!(workdir.is_dir(), "{}", workdir.display());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&workdir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // Someone else may write there: refused, with what to do.
    std::fs::set_permissions(&workdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env_clear()
        .env("HOME", &env.home)
        .env("TMPDIR", &tmp)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("set AWS_API_MCP_WORKING_DIR"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn tool_definitions_say_what_an_agent_needs_and_nothing_about_this_machine() {
    let env = McpEnv::new("migration-tools");
    let v = env.client(&["list"]);
    let tools = v["tools"].as_array().unwrap();
    for t in tools {
        assert!(
            t["title"].as_str().is_some_and(|s| !s.is_empty()),
            "no title: {t}"
        );
    }
    let call = tools.iter().find(|t| t["name"] == "call_aws").unwrap();
    let d = call["description"].as_str().unwrap();
    for needed in [
        "us-east-1",
        "`--profile` is refused",
        "check_aws_command",
        "[\"aws s3api list-buckets\"",
    ] {
        assert!(d.contains(needed), "`{needed}` missing: {d}");
    }
    let home = env.home.to_string_lossy();
    assert!(!d.contains(home.as_ref()), "machine path in: {d}");
    assert!(!d.contains(" bytes"), "raw byte count in: {d}");
    assert!(d.contains("16 MiB"), "{d}");
    let check = tools
        .iter()
        .find(|t| t["name"] == "check_aws_command")
        .unwrap();
    let props = &check["output_schema"]["properties"];
    assert_eq!(props["request"]["type"], "object", "{check}");
    assert_eq!(props["problems"]["type"], "array", "{check}");
    let _: Value = v;
}
