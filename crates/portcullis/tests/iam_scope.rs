//! IAM enforces the policy: `portcullis iam session-policy` generates a policy from a read-only
//! Portcullis policy; a role whose policy is that document lets reads run and makes moto (with IAM
//! enforcement on) refuse every write, even with Portcullis itself in unrestricted mode. Also
//! `portcullis iam evaluate` as an operator runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the awscli

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::moto::{Moto, venv_python};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut c: Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-iam-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn portcullis(args: &[&str], dir: &Path) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir);
    run(c)
}

/// Credentials for a command: the key pair (and session token).
#[derive(Clone)]
struct Creds {
    key: String,
    secret: String,
    token: Option<String>,
}

fn with_creds(c: &mut Command, dir: &Path, creds: &Creds) {
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", &creds.key)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(t) = &creds.token {
        c.env("AWS_SESSION_TOKEN", t);
    }
}

/// The pinned awscli (setup and credentials: Portcullis masks secrets in what it prints).
fn awscli(args: &[&str], endpoint: &str, dir: &Path, creds: &Creds) -> Run {
    let mut c = Command::new(venv_python());
    c.args(["-m", "awscli"])
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"]);
    with_creds(&mut c, dir, creds);
    run(c)
}

/// `portcullis exec` in unrestricted mode: whatever it sends, only IAM can refuse.
fn exec(command: &str, endpoint: &str, dir: &Path, creds: &Creds) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.arg("exec")
        .arg(format!("{command} --endpoint-url {endpoint}"))
        .arg("--workdir")
        .arg(dir);
    with_creds(&mut c, dir, creds);
    c.env("PORTCULLIS_MODE", "unrestricted");
    run(c)
}

/// Moto's default account, before IAM is enforced (any key works then).
fn root_creds() -> Creds {
    Creds {
        key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        token: None,
    }
}

fn ok(r: &Run, what: &str) -> Value {
    assert_eq!(r.code, 0, "{what} failed: {}{}", r.stdout, r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_role_with_the_generated_policy_reads_and_moto_refuses_every_write() {
    let dir = scratch("enforce");
    std::fs::write(
        dir.join("policy.json"),
        r#"{"mode": "read-only", "services": ["s3", "s3api", "sqs", "sts"]}"#,
    )
    .unwrap();
    let generated = portcullis(&["iam", "session-policy", "--policy", "policy.json"], &dir);
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let doc: Value = serde_json::from_str(&generated.stdout).unwrap();
    assert!(
        generated.stderr.contains("plaintext characters"),
        "{}",
        generated.stderr
    );
    std::fs::write(dir.join("session-policy.json"), &generated.stdout).unwrap();
    // The document is an IAM policy the evaluator reads back: reads allowed, writes not.
    for (action, expect) in [
        ("s3:ListAllMyBuckets", 0),
        ("sqs:ListQueues", 0),
        ("s3:PutObject", 1),
        ("iam:CreateUser", 1),
    ] {
        let r = portcullis(
            &[
                "iam",
                "evaluate",
                "--policies",
                "session-policy.json",
                "--action",
                action,
                "--absent-keys-missing",
            ],
            &dir,
        );
        assert_eq!(r.code, expect, "{action}: {}{}", r.stdout, r.stderr);
    }

    let moto = Moto::start();
    let endpoint = moto.endpoint();
    // Setup while moto does not enforce: an admin user to assume the role with, the role whose
    // policy is the generated document, a bucket with an object and a queue.
    let admin = moto_with_role(&moto, &dir, &generated.stdout);
    let root = root_creds();
    ok(
        &awscli(
            &["s3api", "create-bucket", "--bucket", "data"],
            &endpoint,
            &dir,
            &root,
        ),
        "create-bucket",
    );
    std::fs::write(dir.join("hello.txt"), "hello\n").unwrap();
    ok(
        &awscli(
            &[
                "s3api",
                "put-object",
                "--bucket",
                "data",
                "--key",
                "hello.txt",
                "--body",
                "hello.txt",
            ],
            &endpoint,
            &dir,
            &root,
        ),
        "put-object",
    );
    ok(
        &awscli(
            &["sqs", "create-queue", "--queue-name", "jobs"],
            &endpoint,
            &dir,
            &root,
        ),
        "create-queue",
    );

    // Enforce IAM from here on.
    let (status, body) = moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");
    let assumed = ok(
        &awscli(
            &[
                "sts",
                "assume-role",
                "--role-arn",
                "arn:aws:iam::123456789012:role/agent",
                "--role-session-name",
                "agent",
            ],
            &endpoint,
            &dir,
            &admin,
        ),
        "assume-role",
    );
    let agent = Creds {
        key: assumed["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .into(),
        secret: assumed["Credentials"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .into(),
        token: Some(
            assumed["Credentials"]["SessionToken"]
                .as_str()
                .unwrap()
                .into(),
        ),
    };

    // Reads run.
    let queue = format!("{endpoint}/123456789012/jobs");
    for cmd in [
        "aws s3api list-buckets".to_string(),
        "aws s3api list-objects-v2 --bucket data".to_string(),
        "aws s3api head-object --bucket data --key hello.txt".to_string(),
        "aws s3 ls s3://data".to_string(),
        "aws sqs list-queues".to_string(),
        format!("aws sqs get-queue-attributes --queue-url {queue} --attribute-names All"),
    ] {
        let r = exec(&cmd, &endpoint, &dir, &agent);
        assert_eq!(r.code, 0, "`{cmd}` should run: {}{}", r.stdout, r.stderr);
    }
    // Every write is refused by moto, although Portcullis (unrestricted) sends it.
    for cmd in [
        "aws s3api create-bucket --bucket other".to_string(),
        "aws s3api put-object --bucket data --key new.txt".to_string(),
        "aws s3api delete-object --bucket data --key hello.txt".to_string(),
        "aws s3api delete-bucket --bucket data".to_string(),
        "aws s3api put-bucket-tagging --bucket data --tagging TagSet=[{Key=a,Value=b}]".to_string(),
        "aws sqs create-queue --queue-name other".to_string(),
        format!("aws sqs send-message --queue-url {queue} --message-body hi"),
        format!("aws sqs delete-queue --queue-url {queue}"),
        "aws iam create-user --user-name intruder".to_string(),
        "aws iam list-users".to_string(),
    ] {
        let r = exec(&cmd, &endpoint, &dir, &agent);
        assert_ne!(r.code, 0, "`{cmd}` should be refused by IAM: {}", r.stdout);
        assert!(
            r.stderr.contains("AccessDenied") || r.stderr.contains("not authorized"),
            "`{cmd}`: refused, but not by IAM: {}",
            r.stderr
        );
    }
    // Nothing changed: the admin still sees one bucket, its object and one queue.
    let buckets = ok(
        &awscli(&["s3api", "list-buckets"], &endpoint, &dir, &admin),
        "list-buckets",
    );
    assert_eq!(buckets["Buckets"].as_array().unwrap().len(), 1, "{buckets}");
    let objects = ok(
        &awscli(
            &["s3api", "list-objects-v2", "--bucket", "data"],
            &endpoint,
            &dir,
            &admin,
        ),
        "list-objects",
    );
    assert_eq!(
        objects["Contents"].as_array().unwrap().len(),
        1,
        "{objects}"
    );
    let users = ok(
        &awscli(&["iam", "list-users"], &endpoint, &dir, &admin),
        "list-users",
    );
    assert_eq!(users["Users"].as_array().unwrap().len(), 1, "{users}");
    assert!(doc["Statement"].as_array().unwrap().len() >= 2, "{doc}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evaluate_prints_the_decision_and_the_statements_that_decided() {
    let dir = scratch("evaluate");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("policies/read.json"),
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Reports", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*",
             "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("policies/guard.json"),
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "NoSecret", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/secret/*"}]}"#,
    )
    .unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "iam",
            "evaluate",
            "--policies",
            "policies",
            "--action",
            "s3:GetObject",
        ];
        args.extend_from_slice(extra);
        portcullis(&args, &dir)
    };
    let r = eval(&[
        "--resource",
        "arn:aws:s3:::reports/q1.csv",
        "--context",
        "aws:SourceIp=203.0.113.9",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "Allow\n  identity policy \"read\" statement 0 \"Reports\"\n"
    );
    let r = eval(&["--resource", "arn:aws:s3:::reports/q1.csv"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("Conditional on aws:SourceIp\n"),
        "{}",
        r.stdout
    );
    let r = eval(&[
        "--resource",
        "arn:aws:s3:::reports/q1.csv",
        "--absent-keys-missing",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("ImplicitDeny\n"), "{}", r.stdout);
    let r = eval(&["--resource", "arn:aws:s3:::reports/secret/k", "--json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"], "ExplicitDeny");
    assert_eq!(v["statements"][0]["policy"], "guard");
    assert_eq!(v["statements"][0]["sid"], "NoSecret");
    // Bad input: clear errors, exit 2.
    std::fs::write(
        dir.join("broken.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}"#,
    )
    .unwrap();
    let r = portcullis(
        &[
            "iam",
            "evaluate",
            "--policies",
            "broken.json",
            "--action",
            "s3:GetObject",
        ],
        &dir,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("broken.json"), "{}", r.stderr);
    let r = portcullis(
        &[
            "iam",
            "evaluate",
            "--policies",
            "policies",
            "--action",
            "s3:GetObject",
            "--context",
            "nokey",
        ],
        &dir,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("expected key=value"), "{}", r.stderr);
    let r = portcullis(
        &[
            "iam",
            "evaluate",
            "--policies",
            "missing.json",
            "--action",
            "s3:GetObject",
        ],
        &dir,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("missing.json"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn session_policy_refuses_what_does_not_fit_and_says_what_to_shorten() {
    let dir = scratch("too-large");
    let rules: Vec<String> = portcullis_iam::catalogue()
        .service("ec2")
        .unwrap()
        .actions()
        .iter()
        .step_by(3)
        .take(150)
        .enumerate()
        .map(|(i, a)| {
            format!(
                r#"{{"id": "deny-{i}", "effect": "deny", "actions": ["{}"]}}"#,
                a.qualified_name()
            )
        })
        .collect();
    std::fs::write(
        dir.join("policy.json"),
        format!(r#"{{"mode": "guarded", "rules": [{}]}}"#, rules.join(",")),
    )
    .unwrap();
    let r = portcullis(&["iam", "session-policy", "--policy", "policy.json"], &dir);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("over AWS's limit of 2048"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Shorten"), "{}", r.stderr);
    // The environment's policy when no file is given: READ_OPERATIONS_ONLY, as `serve` reads it.
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.args(["iam", "session-policy", "--json"])
        .current_dir(&dir)
        .env_clear()
        .env("HOME", &dir)
        .env("READ_OPERATIONS_ONLY", "true");
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["PolicyArns"][0], "arn:aws:iam::aws:policy/ReadOnlyAccess");
    assert!(v["PlaintextChars"].as_u64().unwrap() <= 2048);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Moto with an admin user (keys returned) and a role `agent` it may assume; IAM not yet enforced.
fn moto_with_role(moto: &Moto, dir: &Path, role_policy: &str) -> Creds {
    let endpoint = moto.endpoint();
    let root = root_creds();
    let all =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    ok(
        &awscli(
            &["iam", "create-user", "--user-name", "admin"],
            &endpoint,
            dir,
            &root,
        ),
        "create-user",
    );
    ok(
        &awscli(
            &[
                "iam",
                "put-user-policy",
                "--user-name",
                "admin",
                "--policy-name",
                "all",
                "--policy-document",
                all,
            ],
            &endpoint,
            dir,
            &root,
        ),
        "put-user-policy",
    );
    let key = ok(
        &awscli(
            &["iam", "create-access-key", "--user-name", "admin"],
            &endpoint,
            dir,
            &root,
        ),
        "create-access-key",
    );
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":["sts:AssumeRole","sts:SetSourceIdentity","sts:TagSession"]}]}"#;
    ok(
        &awscli(
            &[
                "iam",
                "create-role",
                "--role-name",
                "agent",
                "--assume-role-policy-document",
                trust,
            ],
            &endpoint,
            dir,
            &root,
        ),
        "create-role",
    );
    ok(
        &awscli(
            &[
                "iam",
                "put-role-policy",
                "--role-name",
                "agent",
                "--policy-name",
                "p",
                "--policy-document",
                role_policy,
            ],
            &endpoint,
            dir,
            &root,
        ),
        "put-role-policy",
    );
    Creds {
        key: key["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
        secret: key["AccessKey"]["SecretAccessKey"].as_str().unwrap().into(),
        token: None,
    }
}

#[test]
fn serve_assumes_the_role_with_the_generated_session_policy_and_audits_the_session() {
    use support::mcp::{McpEnv, first};
    let moto = Moto::start();
    let mut env = McpEnv::new("iam-assume");
    let all =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let admin = moto_with_role(&moto, &env.home, all);
    let (status, body) = moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");
    let policy = env.home.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"mode": "read-only", "services": ["s3", "s3api", "sts"]}"#,
    )
    .unwrap();
    env.set("AWS_ACCESS_KEY_ID", &admin.key)
        .set("AWS_SECRET_ACCESS_KEY", &admin.secret)
        .set("AWS_ENDPOINT_URL", moto.endpoint())
        .set("PORTCULLIS_POLICY_FILE", &policy)
        .set(
            "PORTCULLIS_ASSUME_ROLE_ARN",
            "arn:aws:iam::123456789012:role/agent",
        )
        .set("USER", "alice");
    let who = env.call("aws sts get-caller-identity", "none");
    let r = first(&who);
    assert_eq!(r["status"], "success", "{who}");
    let arn = "arn:aws:sts::123456789012:assumed-role/agent/portcullis-alice";
    assert!(who.to_string().contains(arn), "{who}");
    let listed = env.call("aws s3api list-buckets", "none");
    assert_eq!(first(&listed)["status"], "success", "{listed}");

    // What reached STS: the generated policy, as `iam session-policy` prints it.
    let printed = portcullis(
        &[
            "iam",
            "session-policy",
            "--policy",
            policy.to_str().unwrap(),
        ],
        &env.home,
    );
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let expected: Value = serde_json::from_str(&printed.stdout).unwrap();
    let (status, data) = moto.http("GET", "/moto-api/data.json", "").unwrap();
    assert_eq!(status, 200);
    let data: Value = serde_json::from_str(&data).unwrap();
    let sessions = data["sts"]["AssumedRole"]
        .as_array()
        .expect("moto lists the assumed roles")
        .clone();
    // Each `env.call` starts a server: one session each, with the policy and the names.
    assert_eq!(sessions.len(), 2, "{} sessions", sessions.len());
    for session in &sessions {
        assert_eq!(session["arn"], arn);
        assert_eq!(session["session_name"], "portcullis-alice");
        let sent: Value = serde_json::from_str(session["policy"].as_str().unwrap()).unwrap();
        assert_eq!(sent, expected);
    }

    // Every tool call's audit record names the session.
    let trail = env
        .home
        .join(".local/state/portcullis/audit/audit-000001.jsonl");
    let text = std::fs::read_to_string(&trail).unwrap();
    let calls: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "tool_call")
        .collect();
    assert_eq!(calls.len(), 2, "{text}");
    for c in &calls {
        assert_eq!(c["principal"], arn, "{c}");
    }
}

#[test]
fn serve_refuses_to_start_when_the_role_cannot_be_scoped() {
    let dir = scratch("refuse");
    let run_serve = |vars: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        c.arg("serve")
            .current_dir(&dir)
            .env_clear()
            .env("HOME", &dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_API_MCP_WORKING_DIR", &dir)
            .envs(vars.iter().copied())
            .stdin(std::process::Stdio::null());
        run(c)
    };
    let r = run_serve(&[("PORTCULLIS_ASSUME_ROLE_ARN", "agent")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is not a role ARN"), "{}", r.stderr);
    // STS unreachable: no session, no start (never the broader base credentials).
    let r = run_serve(&[
        (
            "PORTCULLIS_ASSUME_ROLE_ARN",
            "arn:aws:iam::123456789012:role/agent",
        ),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot assume arn:aws:iam::123456789012:role/agent"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("testing"),
        "no secret in errors: {}",
        r.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `portcullis iam blast-radius` as JSON, with `creds` and moto as the endpoint.
fn blast(args: &[&str], endpoint: &str, dir: &Path, creds: &Creds) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.args([
        "iam",
        "blast-radius",
        "--format",
        "json",
        "--mode",
        "unrestricted",
    ])
    .args(args);
    with_creds(&mut c, dir, creds);
    c.env("AWS_ENDPOINT_URL", endpoint);
    let r = run(c);
    assert_eq!(r.code, 0, "blast-radius {args:?}: {}{}", r.stdout, r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn blast_radius_live_and_from_an_export_agree_and_name_the_escalation_path() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let dir = scratch("blast");
    let agent_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Pass","Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
        {"Sid":"Launch","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"},
        {"Sid":"Reports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"},
        {"Sid":"SeeIam","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#;
    let admin = moto_with_role(&moto, &dir, agent_policy);
    // A second role that may read only its own entities (no get-account-authorization-details),
    // with a customer managed policy attached.
    let root = root_creds();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"sts:AssumeRole"}]}"#;
    let narrow_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Pass","Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
        {"Sid":"Launch","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"},
        {"Sid":"Self","Effect":"Allow","Action":["iam:GetRole","iam:ListRolePolicies","iam:GetRolePolicy","iam:ListAttachedRolePolicies","iam:GetPolicy","iam:GetPolicyVersion"],"Resource":"*"}]}"#;
    let reader = r#"{"Version":"2012-10-17","Statement":[{"Sid":"List","Effect":"Allow","Action":"s3:List*","Resource":"*"}]}"#;
    for args in [
        vec![
            "iam",
            "create-role",
            "--role-name",
            "narrow",
            "--assume-role-policy-document",
            trust,
        ],
        vec![
            "iam",
            "put-role-policy",
            "--role-name",
            "narrow",
            "--policy-name",
            "own",
            "--policy-document",
            narrow_policy,
        ],
        vec![
            "iam",
            "create-policy",
            "--policy-name",
            "reader",
            "--policy-document",
            reader,
        ],
        vec![
            "iam",
            "attach-role-policy",
            "--role-name",
            "narrow",
            "--policy-arn",
            "arn:aws:iam::123456789012:policy/reader",
        ],
    ] {
        ok(&awscli(&args, &endpoint, &dir, &root), &args.join(" "));
    }
    let export = awscli(
        &["iam", "get-account-authorization-details"],
        &endpoint,
        &dir,
        &root,
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    std::fs::write(dir.join("export.json"), &export.stdout).unwrap();
    let (status, body) = moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");

    let assume = |role: &str| {
        let v = ok(
            &awscli(
                &[
                    "sts",
                    "assume-role",
                    "--role-arn",
                    &format!("arn:aws:iam::123456789012:role/{role}"),
                    "--role-session-name",
                    "report",
                ],
                &endpoint,
                &dir,
                &admin,
            ),
            "assume-role",
        );
        Creds {
            key: v["Credentials"]["AccessKeyId"].as_str().unwrap().into(),
            secret: v["Credentials"]["SecretAccessKey"].as_str().unwrap().into(),
            token: Some(v["Credentials"]["SessionToken"].as_str().unwrap().into()),
        }
    };
    for role in ["agent", "narrow"] {
        let creds = assume(role);
        let live = blast(&[], &endpoint, &dir, &creds);
        let offline = blast(
            &["--from-export", "export.json", "--principal", role],
            &endpoint,
            &dir,
            &creds,
        );
        assert_eq!(
            live["reports"], offline["reports"],
            "{role}: live and export reports differ"
        );
        let report = &live["reports"][0];
        assert_eq!(report["principal"]["name"], role);
        let findings = report["findings"].as_array().unwrap();
        let esc = findings
            .iter()
            .find(|f| f["id"] == "privesc-passrole-ec2")
            .unwrap_or_else(|| panic!("{role}: no PassRole + RunInstances path: {report}"));
        let granted = esc["statements"].to_string();
        assert!(
            granted.contains("Pass") && granted.contains("Launch"),
            "{granted}"
        );
        let unread = live["unread"].as_array().unwrap();
        if role == "agent" {
            assert!(unread.is_empty(), "{unread:?}");
        } else {
            // Not allowed to read the whole account: the identity's entities one by one, saying so.
            assert_eq!(unread.len(), 1, "{unread:?}");
            assert!(
                unread[0]
                    .as_str()
                    .unwrap()
                    .contains("get-account-authorization-details")
            );
            let s3 = report["services"].to_string();
            assert!(
                s3.contains("\"s3\""),
                "the attached managed policy counts: {s3}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn get_blast_radius_reports_the_servers_own_role_through_its_policy() {
    use support::mcp::McpEnv;
    let moto = Moto::start();
    let mut env = McpEnv::new("iam-blast-tool");
    let agent_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Pass","Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
        {"Sid":"Launch","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"},
        {"Sid":"Reports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"},
        {"Sid":"SeeIam","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#;
    let admin = moto_with_role(&moto, &env.home, agent_policy);
    let (status, body) = moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");
    env.set("AWS_ACCESS_KEY_ID", &admin.key)
        .set("AWS_SECRET_ACCESS_KEY", &admin.secret)
        .set("AWS_ENDPOINT_URL", moto.endpoint())
        .set(
            "PORTCULLIS_ASSUME_ROLE_ARN",
            "arn:aws:iam::123456789012:role/agent",
        );
    let path = |v: &Value| -> (Value, Value) {
        assert_eq!(v["is_error"], false, "{v}");
        let report = &v["structured_content"];
        assert_eq!(report["principal"]["name"], "agent", "{report}");
        let esc = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "privesc-passrole-ec2")
            .unwrap_or_else(|| panic!("no escalation path: {report}"))
            .clone();
        (esc, report.clone())
    };
    // Guarded: the escalation path needs a person's approval through Portcullis.
    env.set("PORTCULLIS_MODE", "guarded");
    let (esc, _) = path(&env.client(&["call", "get_blast_radius", "{}"]));
    assert_eq!(esc["gate"], "consent", "{esc}");
    // Read-only: closed; one service's row on request.
    env.set("PORTCULLIS_MODE", "read-only");
    let (esc, report) = path(&env.client(&["call", "get_blast_radius", r#"{"service": "s3"}"#]));
    assert!(esc["gate"].to_string().contains("closed"), "{esc}");
    let rows = report["services"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["prefix"], "s3");
    let bad = env.client(&["call", "get_blast_radius", r#"{"refresh": "yes"}"#]);
    assert_eq!(bad["is_error"], true, "{bad}");
}

#[test]
fn the_scoped_session_is_renewed_before_it_expires() {
    use portcullis_wire::assume::AssumeRoleSpec;
    use portcullis_wire::credentials::{ChainSettings, Credentials, CredentialsProvider};
    use portcullis_wire::execute::{ConfiguredEndpoints, Engine, EngineConfig};
    use std::time::Duration;

    let moto = Moto::start();
    let dir = scratch("renew");
    let all =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let admin = moto_with_role(&moto, &dir, all);
    let (status, body) = moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");
    let sessions = || {
        let (_, data) = moto.http("GET", "/moto-api/data.json", "").unwrap();
        let data: Value = serde_json::from_str(&data).unwrap();
        data["sts"]["AssumedRole"].as_array().map_or(0, Vec::len)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = EngineConfig {
            region: Some("us-east-1".into()),
            endpoints: ConfiguredEndpoints::from_env_vars([(
                "AWS_ENDPOINT_URL".to_string(),
                moto.endpoint(),
            )]),
            ..EngineConfig::default()
        };
        let base_creds = CredentialsProvider::from_provider(
            Credentials::new(&admin.key, &admin.secret, None, None, "test"),
            "admin",
            &ChainSettings::default(),
        );
        let base = Engine::new(config, Some(base_creds)).unwrap();
        let spec = AssumeRoleSpec {
            role_arn: "arn:aws:iam::123456789012:role/agent".into(),
            session_name: "renewed".into(),
            policy: None,
            policy_arns: Vec::new(),
            source_identity: Some("portcullis-test".into()),
            tags: vec![("portcullis:server".into(), "test".into())],
            duration: Duration::from_secs(900),
            // Renew when under 899 s are left: one second after each session starts.
            refresh_margin: Duration::from_secs(899),
        };
        let (engine, session) = base.assume_role(spec).await.unwrap();
        assert_eq!(
            session.arn,
            "arn:aws:sts::123456789012:assumed-role/agent/renewed"
        );
        assert!(session.expires.is_some());
        assert_eq!(sessions(), 1);
        let parser = portcullis_cli::Parser::new(&portcullis_cli::DenyAll);
        let portcullis_cli::Command::Call(who) =
            parser.parse("aws sts get-caller-identity").unwrap()
        else {
            panic!("not a call")
        };
        let arn = |v: &Value| v["Arn"].as_str().unwrap().to_string();
        let first = engine
            .execute(&who, &portcullis_cli::DenyAll)
            .await
            .unwrap();
        assert_eq!(arn(&first.value), session.arn);
        assert_eq!(sessions(), 1, "a fresh session is reused");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let again = engine
            .execute(&who, &portcullis_cli::DenyAll)
            .await
            .unwrap();
        assert_eq!(arn(&again.value), session.arn);
        assert_eq!(
            sessions(),
            2,
            "a session about to expire is renewed before the call"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn blast_radius_of_scoped_sessions_keeps_only_what_the_session_policy_allows() {
    let dir = scratch("scoped-report");
    std::fs::write(
        dir.join("export.json"),
        r#"{"UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [{"RoleName": "builder", "Arn": "arn:aws:iam::111122223333:role/builder",
              "AttachedManagedPolicies": [],
              "RolePolicyList": [{"PolicyName": "launch", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
                {"Sid": "Reports", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}]}}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.json"),
        r#"{"mode": "read-only", "services": ["s3", "s3api", "ec2"]}"#,
    )
    .unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "iam",
            "blast-radius",
            "--from-export",
            "export.json",
            "--principal",
            "builder",
            "--policy",
            "policy.json",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let r = portcullis(&args, &dir);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let ids: Vec<String> = v["reports"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        ids
    };
    // The role alone can escalate; its scoped sessions cannot (the session policy allows reads).
    assert!(report(&[]).contains(&"privesc-passrole-ec2".to_string()));
    let scoped = report(&["--scoped"]);
    assert!(
        !scoped.contains(&"privesc-passrole-ec2".to_string()),
        "{scoped:?}"
    );
    assert!(
        scoped.contains(&"exfil-s3-get-object".to_string()),
        "{scoped:?}"
    );
    // Without a services allow-list the session policy needs AWS's managed ReadOnlyAccess: said.
    let r = portcullis(
        &[
            "iam",
            "blast-radius",
            "--from-export",
            "export.json",
            "--mode",
            "read-only",
            "--scoped",
        ],
        &dir,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("ReadOnlyAccess"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
