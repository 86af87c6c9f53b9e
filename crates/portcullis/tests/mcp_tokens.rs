//! The token commands through MCP (`portcullis serve` over stdio, driven by the official Python
//! SDK client, tests/mcp/client.py) against moto: each prints a credential, so read-only mode
//! asks a person first (elicitation) and runs on accept; a decline or a client that cannot ask
//! runs nothing. A database token stands for `rds-db:connect` (Permissions management): denied in
//! read-only mode, asked about in guarded mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::Value;
use support::mcp::{McpEnv, first};
use support::moto::Moto;

fn prompts(v: &Value) -> Vec<String> {
    v["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn read_only_asks_before_printing_a_token_and_runs_on_accept() {
    let moto = Moto::start();
    moto.reset();
    let mut env = McpEnv::new("mcp-tokens");
    env.set("READ_OPERATIONS_ONLY", "true");
    let endpoint = moto.endpoint();

    // ecr get-login-password: asked, accepted, the password printed.
    let command = format!("aws ecr get-login-password --endpoint-url {endpoint}");
    let v = env.call(&command, "accept");
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert_eq!(
        first(&v)["output"].as_str().unwrap().trim_end(),
        "123456789012-auth-token",
        "{v}"
    );
    let asked = prompts(&v);
    assert_eq!(asked.len(), 1, "{v}");
    assert!(
        asked[0].contains("ecr:GetAuthorizationToken") && asked[0].contains("credentials"),
        "{}",
        asked[0]
    );

    // Declined, or no way to ask: nothing runs, nothing is printed.
    let v = env.call(&command, "decline");
    assert_eq!(first(&v)["status"], "declined", "{v}");
    assert!(!v.to_string().contains("auth-token"), "{v}");
    let v = env.call(&command, "none");
    assert_eq!(first(&v)["status"], "consent_unavailable", "{v}");
    assert!(!v.to_string().contains("auth-token"), "{v}");

    // eks get-token: asked (it signs sts:GetCallerIdentity), accepted, an ExecCredential printed.
    let v = env.call(
        "aws eks get-token --cluster-name demo --region eu-west-1",
        "accept",
    );
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert_eq!(prompts(&v).len(), 1, "{v}");
    assert!(prompts(&v)[0].contains("sts:GetCallerIdentity"), "{v}");
    let doc: Value = serde_json::from_str(first(&v)["output"].as_str().unwrap()).unwrap();
    assert_eq!(doc["kind"], "ExecCredential");
    assert!(
        doc["status"]["token"]
            .as_str()
            .unwrap()
            .starts_with("k8s-aws-v1."),
        "{doc}"
    );

    // A database token is more than a read: denied in read-only mode, never asked about.
    let rds =
        "aws rds generate-db-auth-token --hostname db.example.com --port 5432 --username jane";
    let v = env.call(rds, "accept");
    assert_eq!(first(&v)["status"], "denied", "{v}");
    assert!(prompts(&v).is_empty(), "{v}");
    assert!(
        first(&v)["error"]
            .as_str()
            .unwrap()
            .contains("read-only mode denies"),
        "{v}"
    );

    // Guarded mode asks, and runs it on accept: the token is printed.
    let guarded = McpEnv::new("mcp-tokens-guarded");
    let v = guarded.call(rds, "accept");
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert!(prompts(&v)[0].contains("rds-db:connect"), "{v}");
    let out = first(&v)["output"].as_str().unwrap();
    assert!(
        out.starts_with(
            "db.example.com:5432/?Action=connect&DBUser=jane&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        ),
        "{out}"
    );
}
