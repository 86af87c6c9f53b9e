//! Issue 10 §4, end to end: a request's secret never appears in any message. Commands carrying a
//! canary secret that the parser refuses (shell syntax, an unclosed quote, an unknown key inside
//! `--cli-input-json`, an unknown option, shorthand and sensitive values...) go through the real
//! MCP client (the official Python SDK, tests/mcp/client.py) to `portcullis serve` over stdio, as
//! `call_aws` (one batch; and on 2026-07-28 a batch that first asks consent, so its refusals are
//! recorded while pending) and `check_aws_command`. The canary must not appear in the tool
//! results, the server's stderr or log file, or the audit trail. Nothing is sent to AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the Python client

#[allow(dead_code)] // this suite does not start moto
mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::mcp::McpEnv;
use support::moto::venv_python;

const CANARY: &str = "CanaryEcho-3f9d71";

/// The commands of issue 10 §4 and their relatives, each refused by the parser.
fn refused_commands() -> Vec<String> {
    vec![
        // The three of the issue.
        format!("aws secretsmanager create-secret --name x --secret-string {CANARY} | cat"),
        format!("aws secretsmanager create-secret --name x --secret-string '{CANARY}"),
        format!(
            r#"aws secretsmanager create-secret --cli-input-json '{{"Name":"x","SecretString":"{CANARY}","Bogus":1}}'"#
        ),
        // Operators glued to the value; an unclosed quote that swallows the option.
        format!("aws secretsmanager create-secret --name x --secret-string={CANARY}&&ls"),
        format!("aws secretsmanager create-secret --name 'x --secret-string {CANARY}"),
        // Truncated JSON (the parser quotes what it received).
        format!(
            r#"aws secretsmanager create-secret --cli-input-json '{{"Name":"x","SecretString":"{CANARY}",'"#
        ),
        // Secret keys inside shorthand; sensitive by the model only; user data.
        format!(
            "aws pinpoint update-baidu-channel --application-id a --baidu-channel-request ApiKey=k,SecretKey={CANARY} --bogus"
        ),
        format!("aws ssm put-parameter --name p --type SecureString --value {CANARY} > out"),
        format!(
            "aws rds create-db-instance --db-instance-identifier d --master-user-password {CANARY} --bogus-option"
        ),
        format!(
            "aws ec2 modify-instance-attribute --instance-id i-1 --attribute userData --value {CANARY} --bogus"
        ),
        format!(
            "aws cloudformation create-stack --stack-name s --parameters ParameterKey=DbPassword,ParameterValue={CANARY} | cat"
        ),
    ]
}

/// Runs the MCP client with `args` against `portcullis serve` in `env`: its JSON output and the
/// server's stderr (which the SDK's stdio transport passes through to the client's).
fn client(env: &McpEnv, extra: &[(&str, &str)], args: &[&str]) -> (Value, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    let out = Command::new(venv_python())
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(extra.iter().copied())
        .output()
        .expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "MCP client failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let v = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("client printed no JSON ({e}): {stdout}\nstderr: {stderr}"));
    (v, stderr)
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "the canary is in the {what}: {text}"
    );
}

/// Every audit trail file's text.
fn trail(env: &McpEnv) -> String {
    let dir = env.home.join(".local/state/portcullis/audit");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

#[test]
fn refused_secrets_stay_out_of_results_logs_and_the_audit_trail() {
    let env = McpEnv::new("secret-echo");
    let commands = refused_commands();

    // call_aws, one batch: every command refused, nothing echoed.
    let (v, stderr) = client(
        &env,
        &[],
        &[
            "call",
            "call_aws",
            &json!({ "cli_command": commands }).to_string(),
            "--elicit",
            "accept",
        ],
    );
    let results = v["structured_content"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {v}"));
    assert_eq!(results.len(), commands.len(), "{v}");
    for r in results {
        assert_eq!(r["status"], "invalid", "{r}");
        assert!(
            r["command"].as_str().unwrap().contains("****"),
            "the echoed command is masked: {r}"
        );
    }
    assert_clean("call_aws result", &v.to_string());
    assert_clean("server's stderr", &stderr);

    // On 2026-07-28, a batch with a write first asks consent (InputRequiredResult) and records the
    // refused commands while pending; declined, nothing runs.
    let mut batch = vec![
        "aws s3api create-bucket --bucket echo-canary-bucket --endpoint-url http://127.0.0.1:9"
            .to_string(),
    ];
    batch.extend(commands.iter().take(3).cloned());
    let (v, stderr) = client(
        &env,
        &[],
        &[
            "call",
            "call_aws",
            &json!({ "cli_command": batch }).to_string(),
            "--elicit",
            "decline",
            "--modern",
        ],
    );
    assert_eq!(v["protocol"], "2026-07-28", "{v}");
    assert_clean("call_aws result (2026-07-28)", &v.to_string());
    assert_clean("server's stderr (2026-07-28)", &stderr);

    // check_aws_command, with the log in a file.
    let log = env.home.join("server.log");
    let log_var = log.to_string_lossy().into_owned();
    for command in commands.iter().take(6) {
        let (v, _) = client(
            &env,
            &[("PORTCULLIS_LOG_FILE", &log_var)],
            &[
                "call",
                "check_aws_command",
                &json!({ "cli_command": command }).to_string(),
            ],
        );
        let doc = &v["structured_content"];
        assert_eq!(doc["ok"], false, "{v}");
        assert!(doc["command"].as_str().unwrap().contains("****"), "{v}");
        assert_clean("check_aws_command result", &v.to_string());
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("portcullis:"),
        "the log was written: {logged}"
    );
    assert_clean("server log", &logged);

    let recorded = trail(&env);
    assert!(
        recorded.contains("check_aws_command") && recorded.contains("call_aws"),
        "the calls were recorded: {recorded}"
    );
    assert_clean("audit trail", &recorded);
}
