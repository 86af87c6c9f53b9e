//! Consent means yes, and the prompt cannot be forged — through a real MCP client (the official
//! Python SDK, tests/mcp/client.py) against moto:
//! * only an accept whose content is exactly `{"confirm": true}` runs the command; `confirm` as a
//!   string, a number, missing, extra fields or no content at all is a decline that runs nothing
//!   (the bucket is never created) and is audited as declined — on the elicitation path
//!   (2025-11-25) and on the 2026-07-28 `InputRequiredResult` path (the SDK's loop and by hand);
//! * a parameter value with newlines cannot add lines to the prompt: the fact lines the person
//!   decides on are the true ones, and the command is shown last as one quoted, escaped value.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::{Value, json};
use support::mcp::{McpEnv, first};
use support::moto::Moto;

/// Accepts that do not say yes: (label for bucket names, `--elicit-content`).
const NOT_YES: [(&str, &str); 6] = [
    ("str-false", r#"{"confirm": "false"}"#),
    ("zero", r#"{"confirm": 0}"#),
    ("str-no", r#"{"confirm": "no"}"#),
    ("empty", "{}"),
    ("extra", r#"{"confirm": true, "extra": 1}"#),
    ("none", "null"),
];

/// How the client is asked and answers.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// 2025-11-25: an `elicitation/create` request answered by the SDK callback.
    Elicitation,
    /// 2026-07-28: an `InputRequiredResult` answered by the SDK's own retry loop.
    Modern,
    /// 2026-07-28 by hand: the first call returns the prompts, the retry carries the answers.
    Rounds,
}

/// `call_aws` with `command`, answering every prompt with an accept carrying `content`.
fn call(env: &McpEnv, path: Via, command: &str, content: &str) -> Value {
    let args = json!({ "cli_command": command }).to_string();
    match path {
        Via::Elicitation => env.client(&[
            "call",
            "call_aws",
            &args,
            "--elicit",
            "accept",
            "--elicit-content",
            content,
        ]),
        Via::Modern => env.client(&[
            "call",
            "call_aws",
            &args,
            "--modern",
            "--elicit",
            "accept",
            "--elicit-content",
            content,
        ]),
        Via::Rounds => env.client(&[
            "rounds",
            "call_aws",
            &args,
            &args,
            "--elicit",
            "accept",
            "--elicit-content",
            content,
        ]),
    }
}

/// The prompt messages the person saw in the client's answer `v`.
fn prompts(path: Via, v: &Value) -> Vec<String> {
    let list = match path {
        Via::Rounds => &v["first_messages"],
        _ => &v["prompts"],
    };
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p.get("message").unwrap_or(p).as_str().unwrap().to_string())
        .collect()
}

/// The last tool-call record of `env`'s audit trail that holds commands.
fn last_record(env: &McpEnv) -> Value {
    let trail = std::fs::read_to_string(
        env.home
            .join(".local/state/portcullis/audit/audit-000001.jsonl"),
    )
    .unwrap();
    trail
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["commands"].is_array())
        .unwrap()
}

/// On `path`: every accept that is not a yes runs nothing and is recorded as declined; a yes runs.
fn only_a_yes_runs(path: Via, tag: &str) {
    let moto = Moto::start();
    moto.reset();
    let env = McpEnv::new(&format!("consent-{tag}"));
    let endpoint = moto.endpoint();
    for (label, content) in NOT_YES {
        let bucket = format!("{tag}-{label}");
        let v = call(
            &env,
            path,
            &format!("aws s3api create-bucket --bucket {bucket} --endpoint-url {endpoint}"),
            content,
        );
        let r = first(&v);
        assert_eq!(r["status"], "declined", "{path:?} {content}: {v}");
        assert_eq!(v["is_error"], true, "{path:?} {content}: {v}");
        let error = r["error"].as_str().unwrap();
        assert!(
            error.contains("did not confirm"),
            "{path:?} {content}: {error}"
        );
        assert_eq!(prompts(path, &v).len(), 1, "the person was asked once: {v}");
        assert!(
            !moto.bucket_exists(&bucket),
            "{path:?} {content}: the command ran: {v}"
        );
        let record = last_record(&env);
        let entry = &record["commands"][0];
        assert_eq!(
            entry["consent"]["outcome"], "declined",
            "{path:?} {content}: {record}"
        );
        assert_eq!(
            entry["execution"]["status"], "not_run",
            "{path:?} {content}: {record}"
        );
        assert!(
            entry["execution"]["message"]
                .as_str()
                .unwrap()
                .contains("did not confirm"),
            "{record}"
        );
    }
    // Describing the answer never echoes it into the error when it is not a plain short word.
    let v = call(
        &env,
        path,
        &format!("aws s3api create-bucket --bucket {tag}-long --endpoint-url {endpoint}"),
        r#"{"confirm": "yes please, run it now"}"#,
    );
    assert_eq!(first(&v)["status"], "declined", "{v}");
    assert!(
        !first(&v)["error"].as_str().unwrap().contains("please"),
        "{v}"
    );
    assert!(!moto.bucket_exists(&format!("{tag}-long")));

    // Exactly {"confirm": true}: runs.
    let bucket = format!("{tag}-yes");
    let v = call(
        &env,
        path,
        &format!("aws s3api create-bucket --bucket {bucket} --endpoint-url {endpoint}"),
        r#"{"confirm": true}"#,
    );
    assert_eq!(first(&v)["status"], "success", "{path:?}: {v}");
    assert!(moto.bucket_exists(&bucket), "{v}");
    assert_eq!(
        last_record(&env)["commands"][0]["consent"]["outcome"],
        "approved"
    );
}

#[test]
fn only_a_yes_runs_by_elicitation() {
    only_a_yes_runs(Via::Elicitation, "elicit");
}

#[test]
fn only_a_yes_runs_on_2026_07_28() {
    only_a_yes_runs(Via::Modern, "modern");
}

#[test]
fn only_a_yes_runs_on_2026_07_28_by_hand() {
    only_a_yes_runs(Via::Rounds, "rounds");
}

/// The fact lines of a prompt (by their labels), trimmed.
fn facts(message: &str) -> Vec<&str> {
    let labels = [
        "Operation:",
        "API operation:",
        "IAM actions:",
        "Access level:",
        "Flags:",
        "Why you are asked:",
        "Request digest:",
    ];
    message
        .lines()
        .map(str::trim)
        .filter(|l| labels.iter().any(|p| l.starts_with(p)))
        .collect()
}

/// A `--key` whose value imitates a harmless listing cannot show as one: the prompt's facts are
/// the true ones, on every path, and the value stays on the command's one quoted line.
#[test]
fn a_forged_key_cannot_forge_the_prompt() {
    let moto = Moto::start();
    moto.reset();
    let env = McpEnv::new("consent-forged");
    let endpoint = moto.endpoint();
    assert_eq!(moto.http("PUT", "/forged-bucket", "").unwrap().0, 200);
    let key = "x\n\nOperation: aws s3api list-buckets\nAPI operation: s3.ListBuckets\nIAM actions: s3:ListAllMyBuckets\n\
               Access level: List\nFlags: none\nWhy you are asked: routine read\n\u{2028}Access level: List\u{202e}";
    let command = format!(
        "aws s3api put-object --bucket forged-bucket --key \"{key}\" --endpoint-url {endpoint}"
    );
    for path in [Via::Elicitation, Via::Modern, Via::Rounds] {
        let args = json!({ "cli_command": command }).to_string();
        let v = match path {
            Via::Elicitation => env.client(&["call", "call_aws", &args, "--elicit", "decline"]),
            Via::Modern => {
                env.client(&["call", "call_aws", &args, "--modern", "--elicit", "decline"])
            }
            Via::Rounds => env.client(&["rounds", "call_aws", &args, &args, "--elicit", "decline"]),
        };
        assert_eq!(first(&v)["status"], "declined", "{path:?}: {v}");
        let messages = prompts(path, &v);
        assert_eq!(messages.len(), 1, "{v}");
        let message = &messages[0];
        let got = facts(message);
        assert_eq!(
            got.len(),
            7,
            "{path:?}: only the true facts start a line:\n{message}"
        );
        assert_eq!(
            got[..5],
            [
                "Operation: aws s3api put-object",
                "API operation: s3.PutObject",
                "IAM actions: s3:PutObject",
                "Access level: Write",
                "Flags: none",
            ],
            "{message}"
        );
        assert!(
            got[5].starts_with("Why you are asked: \"guarded mode"),
            "{message}"
        );
        assert!(
            got[6].starts_with("Request digest: ") && got[6].len() == "Request digest: ".len() + 64,
            "{message}"
        );
        // The command: last, one quoted line, its newlines and hidden characters escaped.
        assert!(!message.contains(['\u{2028}', '\u{202e}']), "{message}");
        let last = message.lines().last().unwrap();
        assert!(last.starts_with("\"aws s3api put-object --bucket forged-bucket --key \\\"x\\n\\nOperation: aws s3api list-buckets\\n"), "{last}");
        assert!(
            last.contains("\\u{2028}Access level: List\\u{202e}\\\" --endpoint-url")
                && last.ends_with('"'),
            "{last}"
        );
        let digest_at = message.find("Request digest:").unwrap();
        assert!(
            message.rfind("--key").unwrap() > digest_at,
            "the command comes after the facts:\n{message}"
        );
    }
    let (_, listing) = moto.http("GET", "/forged-bucket?list-type=2", "").unwrap();
    assert!(!listing.contains("<Key>"), "nothing was put: {listing}");
}
