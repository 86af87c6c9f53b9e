//! Masking follows what a value is, through a whole session (`portcullis serve`, the Python MCP
//! client, moto): `get-parameter` of an SSM `String` parameter returns its value and lists
//! nothing as masked; a `SecureString` one read without decryption is `****` in `output`, listed
//! in the result's `masked` array (path, why, how to get it) and named in a note after the text
//! the agent reads; with `--with-decryption` it is a secret read, asked about (accepted here), and
//! shown whole with no `masked`. The secret value never reaches the log, the audit trail, or a
//! failing assertion's message.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::{Value, json};
use support::mcp::{McpEnv, first};
use support::moto::Moto;

const PLAIN: &str = "plain-value-5d20";
const SECRET: &str = "MaskingCanary-b81e4a";

/// The note the agent reads after the output of the SecureString read (guarded mode).
const NOTE: &str = "[portcullis] masked 1 value as ****, not the real value: Parameter.Value (SecureString parameter): \
                    run the command again with --with-decryption; that is a secret read, so a person is asked for consent before it runs.";

/// `v` as text, with the secret cut out, for assertion messages.
fn shown(v: &Value) -> String {
    v.to_string().replace(SECRET, "<secret>")
}

/// The text content the agent reads (one command: one block).
fn text(v: &Value) -> &str {
    v["text"][0].as_str().unwrap_or_default()
}

#[test]
fn masking_follows_the_parameter_type_and_is_explained() {
    let moto = Moto::start();
    moto.reset();
    let mut env = McpEnv::new("masking");
    let log = env.home.join("server.log");
    env.set("PORTCULLIS_LOG_FILE", &log);
    let endpoint = moto.endpoint();
    let run = |command: &str, elicit: &str| {
        env.call(&format!("{command} --endpoint-url {endpoint}"), elicit)
    };

    for command in [
        format!("aws ssm put-parameter --name /app/plain --type String --value {PLAIN}"),
        format!("aws ssm put-parameter --name /app/secret --type SecureString --value {SECRET}"),
    ] {
        let v = run(&command, "accept");
        assert_eq!(first(&v)["status"], "success", "{}", shown(&v));
        assert!(!v.to_string().contains(SECRET), "{}", shown(&v));
    }

    // A String parameter: the value itself, nothing listed, no note; nobody asked.
    let v = run("aws ssm get-parameter --name /app/plain", "none");
    let item = first(&v);
    assert_eq!(item["status"], "success", "{v}");
    let out: Value = serde_json::from_str(item["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Parameter"]["Value"], PLAIN, "{v}");
    assert!(item.get("masked").is_none(), "{v}");
    assert!(!text(&v).contains("[portcullis] masked"), "{v}");
    assert!(text(&v).contains(PLAIN), "{v}");
    assert_eq!(v["prompts"].as_array().map_or(0, Vec::len), 0, "{v}");

    // A SecureString parameter without decryption: masked, listed, explained.
    let v = run("aws ssm get-parameter --name /app/secret", "none");
    assert!(!v.to_string().contains(SECRET), "{}", shown(&v));
    let item = first(&v);
    assert_eq!(item["status"], "success", "{v}");
    let output = item["output"].as_str().unwrap();
    // `output` stays what the AWS CLI prints (JSON); the note is in the text only.
    let out: Value = serde_json::from_str(output).unwrap();
    assert_eq!(out["Parameter"]["Value"], "****", "{v}");
    assert_eq!(out["Parameter"]["Type"], "SecureString", "{v}");
    assert_eq!(
        item["masked"],
        json!([{
            "path": "Parameter.Value",
            "why": "SecureString parameter",
            "how": "run the command again with --with-decryption; that is a secret read, so a person is asked for consent before it runs"
        }]),
        "{v}"
    );
    let t = text(&v);
    assert!(t.starts_with(output), "{v}");
    assert_eq!(t.trim_end().lines().last(), Some(NOTE), "{v}");
    assert_eq!(v["prompts"].as_array().map_or(0, Vec::len), 0, "{v}");

    // With --with-decryption: asked about, accepted, shown whole, nothing listed.
    let v = run(
        "aws ssm get-parameter --name /app/secret --with-decryption",
        "accept",
    );
    let item = first(&v);
    assert_eq!(item["status"], "success", "{}", shown(&v));
    assert_eq!(
        v["prompts"].as_array().map_or(0, Vec::len),
        1,
        "the secret read was asked about: {}",
        shown(&v)
    );
    let out: Value = serde_json::from_str(item["output"].as_str().unwrap()).unwrap();
    assert!(
        out["Parameter"]["Value"] == SECRET,
        "the approved secret read shows the value: {}",
        shown(&v)
    );
    assert!(item.get("masked").is_none(), "{}", shown(&v));
    assert!(!text(&v).contains("[portcullis] masked"), "{}", shown(&v));

    // Declined: nothing runs, nothing is shown.
    let v = run(
        "aws ssm get-parameter --name /app/secret --with-decryption",
        "decline",
    );
    assert_eq!(first(&v)["status"], "declined", "{}", shown(&v));
    assert!(!v.to_string().contains(SECRET), "{}", shown(&v));

    // Neither the log nor the audit trail ever holds the value.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("portcullis:"), "the log was written");
    assert!(!logged.contains(SECRET), "the secret is in the server log");
    let trail = std::fs::read_to_string(
        env.home
            .join(".local/state/portcullis/audit/audit-000001.jsonl"),
    )
    .unwrap();
    assert!(trail.contains("get-parameter"), "the calls were recorded");
    assert!(!trail.contains(SECRET), "the secret is in the audit trail");
}
