//! Canary secrets through a whole session (`portcullis serve`, the Python MCP client, moto): a
//! secret the agent sends, a secret a service returns from a call that was not decided as a
//! secret read, and secrets inside refused and failed commands never appear in errors, echoed
//! commands, consent prompts or the server's log. A secret read that was decided as one (and
//! approved) shows its value: that is what the person said yes to.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::Value;
use support::mcp::{McpEnv, first};
use support::moto::Moto;

const SENT: &str = "CanarySent-91c2";
const STORED: &str = "CanaryStored-4be7";
const REFUSED: &str = "CanaryRefused-0d13";
const FAILED: &str = "CanaryFailed-77aa";

/// A minimal Lambda deployment package (a zip holding one handler).
fn zip() -> Vec<u8> {
    // Stored (no compression) zip of h.py, written by hand: local header, data, central directory, end record.
    let name = b"h.py";
    let data = b"def handler(e, c):\n    return 1\n";
    let crc = crc32(data);
    let mut z = Vec::new();
    let local = z.len() as u32;
    z.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(name);
    z.extend_from_slice(data);
    let central = z.len() as u32;
    z.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0; 12]);
    z.extend_from_slice(&local.to_le_bytes());
    z.extend_from_slice(name);
    let size = z.len() as u32 - central;
    z.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&size.to_le_bytes());
    z.extend_from_slice(&central.to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn canary_secrets_stay_out_of_errors_prompts_and_logs() {
    let moto = Moto::start();
    moto.reset();
    let mut env = McpEnv::new("redaction");
    let log = env.home.join("server.log");
    env.set("PORTCULLIS_LOG_FILE", &log);
    std::fs::write(env.home.join("fn.zip"), zip()).unwrap();
    let endpoint = moto.endpoint();
    let run = |command: &str, elicit: &str| {
        env.call(&format!("{command} --endpoint-url {endpoint}"), elicit)
    };
    let mut answers: Vec<Value> = Vec::new();

    // A secret the agent sends: masked in the prompt and the echoed command; the call runs.
    let v = run(
        &format!("aws secretsmanager create-secret --name app/db --secret-string {SENT}"),
        "accept",
    );
    assert_eq!(first(&v)["status"], "success", "{v}");
    let prompt = v["prompts"][0]["message"].as_str().unwrap();
    assert!(prompt.contains("--secret-string ****"), "{prompt}");
    answers.push(v);

    // A secret a service returns from a plain read: masked (Lambda environment values are `sensitive`).
    let role = run(
        "aws iam create-role --role-name fn-role --assume-role-policy-document {}",
        "accept",
    );
    let role_arn = serde_json::from_str::<Value>(first(&role)["output"].as_str().unwrap()).unwrap()
        ["Role"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    let create = run(
        &format!(
            "aws lambda create-function --function-name canary-fn --runtime python3.12 --handler h.handler --role {role_arn} \
             --zip-file fileb://fn.zip --environment Variables={{DB_PASS={STORED}}}"
        ),
        "accept",
    );
    assert_eq!(first(&create)["status"], "success", "{create}");
    answers.push(create);
    let v = run(
        "aws lambda get-function-configuration --function-name canary-fn",
        "none",
    );
    assert_eq!(first(&v)["status"], "success", "{v}");
    let out: Value = serde_json::from_str(first(&v)["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out["Environment"]["Variables"], "****",
        "the whole map is sensitive in the model: {v}"
    );
    assert_eq!(out["FunctionName"], "canary-fn");
    answers.push(v);

    // Refused and failed commands: the secret is neither echoed nor quoted in the error.
    let v = run(
        &format!(
            "aws iam create-login-profile --user-name nobody --password {REFUSED} --bogus-option"
        ),
        "accept",
    );
    assert_eq!(first(&v)["status"], "invalid", "{v}");
    answers.push(v);
    let v = run(
        &format!(
            "aws secretsmanager put-secret-value --secret-id no-such-secret --secret-string {FAILED}"
        ),
        "accept",
    );
    assert_eq!(first(&v)["status"], "error", "{v}");
    answers.push(v);
    let v = env.client(&["call", "check_aws_command", &serde_json::json!({ "cli_command": format!("aws iam create-login-profile --user-name u --password {REFUSED}") }).to_string()]);
    answers.push(v);

    for v in &answers {
        let text = v.to_string();
        for canary in [SENT, STORED, REFUSED, FAILED] {
            assert!(!text.contains(canary), "{canary} leaked: {text}");
        }
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("portcullis:"),
        "the log was written: {logged}"
    );
    for canary in [SENT, STORED, REFUSED, FAILED] {
        assert!(!logged.contains(canary), "{canary} in the log: {logged}");
    }

    // Nor in the audit trail.
    let trail = std::fs::read_to_string(
        env.home
            .join(".local/state/portcullis/audit/audit-000001.jsonl"),
    )
    .unwrap();
    assert!(trail.contains("create-secret"), "the calls were recorded");
    for canary in [SENT, STORED, REFUSED, FAILED] {
        assert!(!trail.contains(canary), "{canary} in the audit trail");
    }

    // A secret read decided as one, and approved, shows the value: that is what was approved.
    let v = run(
        "aws secretsmanager get-secret-value --secret-id app/db",
        "accept",
    );
    assert!(first(&v)["output"].as_str().unwrap().contains(SENT), "{v}");
}
