//! `portcullis gateway` in front of real MCP servers from the registries, pinned: the reference
//! servers `@modelcontextprotocol/server-filesystem` and `server-everything` (npm) and three
//! awslabs servers (PyPI: `awslabs.iam-mcp-server` against moto, `awslabs.aws-api-mcp-server`
//! against moto, `awslabs.dynamodb-mcp-server`'s offline modelling tools), driven by the official
//! Python MCP client. scripts/setup-upstreams.sh installs them (scripts/test.sh runs it); a missing
//! one fails the test with that instruction.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the Python client, the upstreams, moto

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::gateway::{Gw, names};
use support::moto::Moto;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An installed upstream program, or a failure saying how to install it.
fn program(rel: &str) -> String {
    let p = root().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-upstreams.sh (scripts/test.sh does)",
        p.display()
    );
    p.canonicalize().unwrap().display().to_string()
}

fn npm_bin(name: &str) -> String {
    program(&format!(
        "crates/portcullis/tests/gateway/npm/node_modules/.bin/{name}"
    ))
}

fn text(step: &Value) -> String {
    step["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_reference_servers_behind_the_gateway() {
    let mut gw = Gw::new("gw-npm", "");
    let data = gw.home.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "hello from the data dir\n").unwrap();
    let config = format!(
        "[policy]\ndeny = [\"fs__move_file\"]\n\n[upstreams.fs]\ncommand = \"{}\"\nargs = [\"{}\"]\npass_env = [\"PATH\"]\n\n[upstreams.everything]\ncommand = \"{}\"\nargs = [\"stdio\"]\npass_env = [\"PATH\"]\n",
        npm_bin("mcp-server-filesystem"),
        data.display(),
        npm_bin("mcp-server-everything"),
    );
    std::fs::write(&gw.config, config).unwrap();
    gw.extra.push(("NODE_NO_WARNINGS".into(), "1".into()));
    let (code, out) = gw.pin(&["--force"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("fs: secure-filesystem-server"), "{out}");
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(gw.home.join("gateway.lock.json")).unwrap())
            .unwrap();
    assert!(
        lock["upstreams"]["fs"]["tools"]["read_text_file"]["sha256"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let target = data.join("new.txt");
    let steps = gw.session(json!([
        {"op": "list"},
        {"op": "call", "tool": "fs__read_text_file", "args": {"path": data.join("hello.txt")}},
        {"op": "call", "tool": "fs__write_file", "args": {"path": target, "content": "no"}, "elicit": "decline"},
        {"op": "call", "tool": "fs__write_file", "args": {"path": target, "content": "yes"}, "elicit": "accept"},
        {"op": "call", "tool": "fs__move_file", "args": {"source": target, "destination": data.join("moved.txt")}, "elicit": "accept"},
        {"op": "call", "tool": "fs__read_text_file", "args": {"path": "/etc/passwd"}},
        {"op": "call", "tool": "everything__echo", "args": {"message": "hi"}},
        {"op": "call", "tool": "everything__get-env", "args": {}, "elicit": "accept"},
    ]));
    let listed = names(&steps[0]);
    for t in ["fs__read_text_file", "fs__write_file", "everything__echo"] {
        assert!(listed.contains(&t.to_string()), "{t} not in {listed:?}");
    }
    assert!(
        text(&steps[1]).contains("hello from the data dir"),
        "{}",
        steps[1]
    );
    assert_eq!(steps[2]["is_error"], true);
    assert_eq!(
        steps[2]["prompts"].as_array().unwrap().len(),
        1,
        "{}",
        steps[2]
    );
    assert_eq!(steps[3]["is_error"], false, "{}", steps[3]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "yes");
    assert!(
        text(&steps[4]).contains("the gateway policy denies `fs__move_file`"),
        "{}",
        steps[4]
    );
    assert!(target.exists(), "the denied move ran");
    // The upstream's own sandbox still answers for itself.
    assert_eq!(steps[5]["is_error"], true, "{}", steps[5]);
    assert!(text(&steps[6]).contains("hi"), "{}", steps[6]);
    // A real upstream that dumps its environment: nothing of the gateway's.
    let env = text(&steps[7]);
    assert!(env.contains("PATH"), "{env}");
    for leak in [
        "gateway-own-secret",
        "AKIAGATEWAYOWNKEY",
        "GATEWAY_ONLY",
        "PORTCULLIS_GATEWAY_CONFIG",
    ] {
        assert!(!env.contains(leak), "{leak} reached the upstream: {env}");
    }
    gw.verify_audit();
}

#[test]
fn awslabs_servers_behind_the_gateway_against_moto() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let mut gw = Gw::new("gw-awslabs", "");
    // Seed moto through Portcullis itself.
    aws(
        &gw,
        &endpoint,
        ("testing", "testing"),
        "aws iam create-role --role-name gateway-proof --assume-role-policy-document {}",
    );
    // Each upstream's AWS identity: its own profile in its own credentials file.
    let creds = gw.home.join("credentials");
    std::fs::write(
        &creds,
        "[iam-reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n[api-reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    gw.extra.push((
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        creds.display().to_string(),
    ));
    gw.extra
        .push(("AWS_CONFIG_FILE".into(), "/dev/null".into()));
    let config = format!(
        r#"[policy]
read_only = ["iam__list_*", "iam__get_*", "dynamodb__compute_performances_and_costs"]

[upstreams.iam]
command = "{iam}"
aws_profile = "iam-reader"
env = {{ AWS_DEFAULT_REGION = "us-east-1", AWS_ENDPOINT_URL = "{endpoint}" }}

# Its own READ_OPERATIONS_ONLY refuses every command here (it refused `aws iam list-roles` as a
# write offline): the gateway's consent is the safeguard instead.
[upstreams.awsapi]
command = "{api}"
aws_profile = "api-reader"
env = {{ AWS_REGION = "us-east-1", AWS_ENDPOINT_URL = "{endpoint}", AWS_API_MCP_TELEMETRY = "false" }}

[upstreams.dynamodb]
command = "{ddb}"
env = {{ AWS_REGION = "us-east-1" }}
"#,
        iam = program(".venv-upstreams/iam/bin/awslabs.iam-mcp-server"),
        api = program(".venv-upstreams/dynamodb/bin/awslabs.aws-api-mcp-server"),
        ddb = program(".venv-upstreams/dynamodb/bin/awslabs.dynamodb-mcp-server"),
    );
    std::fs::write(&gw.config, config).unwrap();
    let (code, out) = gw.pin(&["--force"]);
    assert_eq!(code, 0, "{out}");
    let steps = gw.session(json!([
        {"op": "list"},
        {"op": "call", "tool": "iam__list_roles", "args": {}},
        {"op": "call", "tool": "iam__create_group", "args": {"group_name": "g"}, "elicit": "decline"},
        {"op": "call", "tool": "awsapi__call_aws", "args": {"cli_command": "aws iam list-roles"}, "elicit": "accept"},
    ]));
    let listed = names(&steps[0]);
    for t in [
        "iam__list_roles",
        "awsapi__call_aws",
        "dynamodb__dynamodb_data_modeling",
    ] {
        assert!(listed.contains(&t.to_string()), "{t} not in {listed:?}");
    }
    assert!(text(&steps[1]).contains("gateway-proof"), "{}", steps[1]);
    // Unannotated: a write, so the person is asked; declined, nothing is created.
    assert_eq!(
        steps[2]["prompts"].as_array().unwrap().len(),
        1,
        "{}",
        steps[2]
    );
    assert!(text(&steps[3]).contains("gateway-proof"), "{}", steps[3]);
    gw.verify_audit();
}

/// Runs `aws ...` through `portcullis exec` against moto with the given keys; its JSON output.
fn aws(gw: &Gw, endpoint: &str, keys: (&str, &str), command: &str) -> Value {
    let out = gw
        .command(&["exec", command])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_REGION", "us-east-1")
        .env("PORTCULLIS_MODE", "unrestricted")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn an_upstream_runs_as_the_role_the_gateway_assumes_for_it() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let mut gw = Gw::new("gw-assume", "");
    let root = ("testing", "testing");
    // The gateway's own identity: a user that may only assume the upstream's role.
    aws(
        &gw,
        &endpoint,
        root,
        "aws iam create-user --user-name gateway",
    );
    aws(
        &gw,
        &endpoint,
        root,
        r#"aws iam put-user-policy --user-name gateway --policy-name assume --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'"#,
    );
    let key = aws(
        &gw,
        &endpoint,
        root,
        "aws iam create-access-key --user-name gateway",
    );
    let key_id = key["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string();
    // The upstream's role: it may list roles and groups, nothing else.
    aws(
        &gw,
        &endpoint,
        root,
        r#"aws iam create-role --role-name iam-reader --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/gateway"},"Action":"sts:AssumeRole"}]}'"#,
    );
    aws(
        &gw,
        &endpoint,
        root,
        r#"aws iam put-role-policy --role-name iam-reader --policy-name list --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListGroups"],"Resource":"*"}]}'"#,
    );
    // From here on moto enforces IAM.
    assert_eq!(
        moto.http("POST", "/moto-api/reset-auth", "0").map(|r| r.0),
        Some(200)
    );
    gw.extra.push(("AWS_ACCESS_KEY_ID".into(), key_id));
    gw.extra
        .push(("AWS_SECRET_ACCESS_KEY".into(), secret.clone()));
    gw.extra.push(("AWS_ENDPOINT_URL".into(), endpoint.clone()));
    gw.extra.push(("AWS_REGION".into(), "us-east-1".into()));
    gw.extra
        .push(("AWS_CONFIG_FILE".into(), "/dev/null".into()));
    gw.extra
        .push(("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()));
    std::fs::write(
        &gw.config,
        format!(
            "[policy]\nmode = \"allow\"\n[upstreams.iam]\ncommand = \"{}\"\nassume_role = \"arn:aws:iam::123456789012:role/iam-reader\"\nenv = {{ AWS_DEFAULT_REGION = \"us-east-1\", AWS_ENDPOINT_URL = \"{endpoint}\" }}\n",
            program(".venv-upstreams/iam/bin/awslabs.iam-mcp-server")
        ),
    )
    .unwrap();
    let (code, out) = gw.pin(&["--force"]);
    assert_eq!(code, 0, "{out}");
    let steps = gw.session(json!([
        {"op": "call", "tool": "iam__list_roles", "args": {}},
        {"op": "call", "tool": "iam__list_groups", "args": {}},
        {"op": "call", "tool": "iam__list_policies", "args": {}},
    ]));
    // What the role allows works (the gateway's own user may not list roles: the upstream runs
    // as the role) ...
    assert!(text(&steps[0]).contains("iam-reader"), "{}", steps[0]);
    assert_eq!(steps[1]["is_error"], false, "{}", steps[1]);
    // ... and what it does not allow fails (moto enforces the role's policy).
    assert_eq!(steps[2]["is_error"], true, "{}", steps[2]);
    let refused = text(&steps[2]);
    // The gateway's own secret never reached the upstream's answers or the audit.
    let audit = Value::Array(gw.audit()).to_string();
    assert!(!audit.contains(&secret) && !refused.contains(&secret));
}
