//! `portcullis serve` over stdio, driven by a real MCP client (the official Python SDK in the
//! project venv, tests/mcp/client.py) against moto server: tool listing, check_aws_command, and
//! call_aws through the whole pipeline — reads run, writes ask by elicitation and run only when
//! accepted, declined or unaskable writes do not run, read-only mode denies writes, shell syntax
//! is refused. A missing venv fails the test loudly.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::mcp::McpEnv;
use support::moto::Moto;

/// One server configuration (see `support::mcp`), with the moto endpoint and read-only switch
/// these tests use.
struct Env {
    inner: McpEnv,
    home: PathBuf,
    endpoint: Option<String>,
    read_only: bool,
    /// More environment for the server.
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(moto: Option<&Moto>) -> Env {
        let inner = McpEnv::new("mcp-test");
        Env {
            home: inner.home.clone(),
            inner,
            endpoint: moto.map(Moto::endpoint),
            read_only: false,
            vars: Vec::new(),
        }
    }

    fn client(&self, args: &[&str]) -> Value {
        let mut extra = self.vars.clone();
        if self.read_only {
            extra.push(("READ_OPERATIONS_ONLY".into(), "true".into()));
        }
        self.inner.client_with(&extra, args)
    }

    fn call(&self, tool: &str, command: &str, elicit: &str) -> Value {
        let args = json!({ "cli_command": command }).to_string();
        self.client(&["call", tool, &args, "--elicit", elicit])
    }

    fn aws(&self, command: &str) -> String {
        format!(
            "{command} --endpoint-url {}",
            self.endpoint.as_deref().expect("moto endpoint")
        )
    }
}

/// `portcullis serve ARGS` with HOME (and the working directory) at `home` and no client: what it
/// does before its first message, its exit code and its output.
fn serve_alone(home: &std::path::Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .args(args)
        .env("HOME", home)
        .env("AWS_API_MCP_WORKING_DIR", home)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn result(v: &Value) -> &Value {
    &v["structured_content"]["results"][0]
}

#[test]
fn lists_tools_with_schemas_and_annotations() {
    let env = Env::new(None);
    let v = env.client(&["list"]);
    assert_eq!(v["server"], "portcullis");
    assert_eq!(v["protocol"], "2025-11-25");
    let tools = v["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "call_aws",
            "check_aws_command",
            "suggest_aws_commands",
            "get_blast_radius"
        ]
    );
    for t in &tools[..2] {
        assert_eq!(t["input_schema"]["required"], json!(["cli_command"]), "{t}");
        assert_eq!(t["output_schema"]["type"], "object", "{t}");
    }
    assert_eq!(tools[0]["annotations"]["read_only_hint"], false);
    assert_eq!(tools[0]["annotations"]["destructive_hint"], true);
    assert_eq!(tools[1]["annotations"]["read_only_hint"], true);
    assert_eq!(
        tools[0]["input_schema"]["properties"]["cli_command"]["anyOf"][1]["maxItems"],
        20
    );
    assert_eq!(tools[2]["input_schema"]["required"], json!(["query"]));
    assert_eq!(tools[2]["annotations"]["read_only_hint"], true);
    assert_eq!(tools[3]["annotations"]["read_only_hint"], true);
    assert_eq!(tools[3]["annotations"]["destructive_hint"], false);
}

#[test]
fn suggests_commands_offline() {
    let env = Env::new(None);
    let v = env.client(&[
        "call",
        "suggest_aws_commands",
        &json!({ "query": "list the objects in an s3 bucket" }).to_string(),
    ]);
    assert_eq!(v["is_error"], false, "{v}");
    let suggestions = v["structured_content"]["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 5, "{v}");
    let hit = suggestions.iter().find(|s| {
        s["command"] == "aws s3api list-objects-v2" || s["command"] == "aws s3api list-objects"
    });
    let hit = hit.unwrap_or_else(|| panic!("no list-objects in {v}"));
    assert_eq!(hit["required"], json!(["--bucket"]), "{hit}");
    let bad = env.client(&[
        "call",
        "suggest_aws_commands",
        &json!({ "query": "" }).to_string(),
    ]);
    assert_eq!(bad["is_error"], true, "{bad}");
}

#[test]
fn check_reports_classification_and_decision_without_running() {
    let env = Env::new(None);
    let read = env.call("check_aws_command", "aws s3api list-buckets", "none");
    assert_eq!(read["is_error"], false, "{read}");
    let doc = &read["structured_content"];
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["classification"]["access_level"], "List");
    assert_eq!(doc["decision"]["outcome"], "allow");
    assert_eq!(doc["decision"]["rule_ids"], json!(["mode:guarded"]));
    assert_eq!(doc["request"]["operation"], "ListBuckets");

    let write = env.call(
        "check_aws_command",
        "aws s3api create-bucket --bucket x",
        "none",
    );
    let doc = &write["structured_content"];
    assert_eq!(doc["classification"]["actions"], json!(["s3:CreateBucket"]));
    assert_eq!(doc["decision"]["outcome"], "consent");
    assert_eq!(doc["digest"].as_str().unwrap().len(), 64);
    assert!(
        write["prompts"].as_array().unwrap().is_empty(),
        "check must not ask anyone: {write}"
    );

    let profile = env.call(
        "check_aws_command",
        "aws s3api list-buckets --profile other",
        "none",
    );
    assert_eq!(profile["structured_content"]["decision"]["outcome"], "deny");
    assert_eq!(
        profile["structured_content"]["decision"]["rule_ids"],
        json!(["global:profile"])
    );
}

#[test]
fn call_aws_against_moto() {
    let moto = Moto::start();
    moto.reset();
    let env = Env::new(Some(&moto));

    // A read runs without asking.
    let v = env.call(
        "call_aws",
        &env.aws("aws sts get-caller-identity"),
        "accept",
    );
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(result(&v)["status"], "success");
    assert!(
        result(&v)["output"]
            .as_str()
            .unwrap()
            .contains("\"Account\""),
        "{v}"
    );
    assert!(
        v["prompts"].as_array().unwrap().is_empty(),
        "a read must not ask: {v}"
    );

    // A write the person accepts runs, after a prompt that shows the command and why.
    let create = env.aws("aws s3api create-bucket --bucket accepted-bucket");
    let v = env.call("call_aws", &create, "accept");
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(result(&v)["status"], "success", "{v}");
    let prompts = v["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{v}");
    let msg = prompts[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&create) && msg.contains("s3:CreateBucket") && msg.contains("guarded mode"),
        "{msg}"
    );
    assert!(moto.bucket_exists("accepted-bucket"));

    // Declined: not executed.
    let v = env.call(
        "call_aws",
        &env.aws("aws s3api create-bucket --bucket declined-bucket"),
        "decline",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "declined", "{v}");
    assert!(!moto.bucket_exists("declined-bucket"));

    // Cancelled: not executed.
    let v = env.call(
        "call_aws",
        &env.aws("aws s3api create-bucket --bucket cancelled-bucket"),
        "cancel",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "cancelled", "{v}");
    assert!(!moto.bucket_exists("cancelled-bucket"));

    // A client that cannot show a prompt: refused, with what to change.
    let v = env.call(
        "call_aws",
        &env.aws("aws s3api create-bucket --bucket unasked-bucket"),
        "none",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "consent_unavailable", "{v}");
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("elicitation"),
        "{v}"
    );
    assert!(!moto.bucket_exists("unasked-bucket"));

    // A batch: each command has its own result; one failure makes the call an error.
    let args = json!({ "cli_command": [env.aws("aws s3api list-buckets"), env.aws("aws s3api create-bucket --bucket batch-bucket")] }).to_string();
    let v = env.client(&["call", "call_aws", &args, "--elicit", "decline"]);
    assert_eq!(v["is_error"], true, "{v}");
    let results = v["structured_content"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["status"], "success");
    assert!(
        results[0]["output"]
            .as_str()
            .unwrap()
            .contains("accepted-bucket"),
        "{v}"
    );
    assert_eq!(results[1]["status"], "declined");
    assert_eq!(v["text"].as_array().unwrap().len(), 2);
    assert!(!moto.bucket_exists("batch-bucket"));

    // A high-level s3 command goes through the same pipeline.
    let v = env.call("call_aws", &env.aws("aws s3 ls"), "none");
    assert_eq!(v["is_error"], false, "{v}");
    assert!(
        result(&v)["output"]
            .as_str()
            .unwrap()
            .contains("accepted-bucket"),
        "{v}"
    );

    // Read-only mode: the write is denied, never asked about, never run.
    let mut ro = Env::new(Some(&moto));
    ro.read_only = true;
    let v = ro.call(
        "call_aws",
        &ro.aws("aws s3api create-bucket --bucket readonly-bucket"),
        "accept",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["mode:read-only"])
    );
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("read-only mode denies"),
        "{v}"
    );
    assert!(v["prompts"].as_array().unwrap().is_empty(), "{v}");
    assert!(!moto.bucket_exists("readonly-bucket"));
    let v = ro.call("call_aws", &ro.aws("aws s3api list-buckets"), "none");
    assert_eq!(v["is_error"], false, "{v}");

    // A service error is an error result with the AWS CLI's message.
    let v = env.call(
        "call_aws",
        &env.aws("aws s3api head-bucket --bucket no-such-bucket"),
        "none",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "error", "{v}");
}

#[test]
fn shell_syntax_and_profiles_are_refused() {
    let env = Env::new(None);
    let v = env.call("call_aws", "aws s3api list-buckets | grep x", "accept");
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "invalid", "{v}");
    let msg = result(&v)["error"].as_str().unwrap();
    assert!(
        !msg.is_empty() && v["text"][0].as_str().unwrap().contains(msg),
        "{v}"
    );

    let v = env.call(
        "call_aws",
        "aws s3api list-buckets --profile prod",
        "accept",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert!(
        result(&v)["error"].as_str().unwrap().contains("--profile"),
        "{v}"
    );

    let v = env.client(&[
        "call",
        "call_aws",
        &json!({ "cli_command": vec!["aws sts get-caller-identity"; 21] }).to_string(),
    ]);
    assert_eq!(v["is_error"], true, "{v}");
}

/// Protocol 2026-07-28 has no server-to-client requests: consent comes back as an
/// `InputRequiredResult`, and the retry carries the answers with the opaque request state. The
/// approval stays bound to the batch and digests it was asked about, and is good once.
#[test]
fn consent_by_input_required_result_on_2026_07_28() {
    let moto = Moto::start();
    moto.reset();
    let env = Env::new(Some(&moto));
    let modern = |command: &str, elicit: &str| {
        let args = json!({ "cli_command": command }).to_string();
        env.client(&["call", "call_aws", &args, "--modern", "--elicit", elicit])
    };

    // A read runs in one round.
    let v = modern(&env.aws("aws sts get-caller-identity"), "accept");
    assert_eq!(v["protocol"], "2026-07-28", "{v}");
    assert_eq!(result(&v)["status"], "success", "{v}");
    assert!(v["prompts"].as_array().unwrap().is_empty(), "{v}");

    // Accepted: asked once (the SDK answers the InputRequiredResult and retries), then run.
    let create = env.aws("aws s3api create-bucket --bucket mrtr-accepted");
    let v = modern(&create, "accept");
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(result(&v)["status"], "success", "{v}");
    let prompts = v["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{v}");
    assert!(
        prompts[0]["message"].as_str().unwrap().contains(&create),
        "{v}"
    );
    assert!(moto.bucket_exists("mrtr-accepted"));

    // Declined and cancelled: not run.
    for (answer, bucket) in [("decline", "mrtr-declined"), ("cancel", "mrtr-cancelled")] {
        let v = modern(
            &env.aws(&format!("aws s3api create-bucket --bucket {bucket}")),
            answer,
        );
        assert_eq!(v["is_error"], true, "{v}");
        assert_eq!(
            result(&v)["status"],
            if answer == "decline" {
                "declined"
            } else {
                "cancelled"
            },
            "{v}"
        );
        assert!(!moto.bucket_exists(bucket));
    }

    // A client without the elicitation capability is refused without a round trip.
    let v = modern(
        &env.aws("aws s3api create-bucket --bucket mrtr-unasked"),
        "none",
    );
    assert_eq!(result(&v)["status"], "consent_unavailable", "{v}");
    assert!(!moto.bucket_exists("mrtr-unasked"));

    // A batch is asked about as a whole before anything runs; the read and the write run after.
    let args = json!({ "cli_command": [env.aws("aws s3api list-buckets"), env.aws("aws s3api create-bucket --bucket mrtr-batch")] }).to_string();
    let v = env.client(&["call", "call_aws", &args, "--modern", "--elicit", "accept"]);
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(v["prompts"].as_array().unwrap().len(), 1, "{v}");
    assert!(moto.bucket_exists("mrtr-batch"));

    // By hand: the approval of one request cannot run another, a forged state approves nothing,
    // and a used state cannot be replayed.
    let rounds = |first: &str, retry: &str, state: &str, replay: bool| {
        let first = json!({ "cli_command": env.aws(first) }).to_string();
        let retry = json!({ "cli_command": env.aws(retry) }).to_string();
        let mut a = vec!["rounds", "call_aws", &first, &retry, "--state-from", state];
        if replay {
            a.push("--replay");
        }
        env.client(&a)
    };
    let v = rounds(
        "aws s3api create-bucket --bucket mrtr-asked",
        "aws s3api create-bucket --bucket mrtr-swapped",
        "first",
        false,
    );
    assert_eq!(v["first_keys"], json!(["consent-0"]), "{v}");
    assert_eq!(result(&v)["status"], "consent_failed", "{v}");
    assert!(
        result(&v)["error"].as_str().unwrap().contains("differ"),
        "{v}"
    );
    assert!(!moto.bucket_exists("mrtr-asked") && !moto.bucket_exists("mrtr-swapped"));

    let v = rounds(
        "aws s3api create-bucket --bucket mrtr-forged",
        "aws s3api create-bucket --bucket mrtr-forged",
        "forged",
        false,
    );
    assert_eq!(result(&v)["status"], "consent_failed", "{v}");
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("not one this server issued"),
        "{v}"
    );
    assert!(!moto.bucket_exists("mrtr-forged"));

    let v = rounds(
        "aws s3api create-bucket --bucket mrtr-once",
        "aws s3api create-bucket --bucket mrtr-once",
        "first",
        true,
    );
    assert_eq!(result(&v)["status"], "success", "{v}");
    assert!(moto.bucket_exists("mrtr-once"));
    assert_eq!(
        v["replay"]["structured_content"]["results"][0]["status"], "consent_failed",
        "{v}"
    );
    assert!(
        v["replay"]["structured_content"]["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{v}"
    );
}

/// The awslabs extensions of `call_aws`, and the account: `--region *` fans a command out to the
/// enabled regions the policy allows (one command of the batch, results labelled); `max_results` caps a
/// paginated listing; the caller's account (looked up at start-up) feeds the `accounts` allow-list.
#[test]
fn region_fan_out_max_results_and_accounts() {
    let moto = Moto::start();
    moto.reset();
    let with_policy = |policy: Value| {
        let mut env = Env::new(Some(&moto));
        let file = env.home.join("policy.json");
        std::fs::write(&file, policy.to_string()).unwrap();
        env.vars.push((
            "PORTCULLIS_POLICY_FILE".into(),
            file.to_string_lossy().into_owned(),
        ));
        // Configured endpoint: the start-up identity and region lookups go to moto too.
        env.vars.push(("AWS_ENDPOINT_URL".into(), moto.endpoint()));
        env
    };
    let call = |env: &Env, args: Value| {
        env.client(&["call", "call_aws", &args.to_string(), "--elicit", "accept"])
    };

    // moto's account is 123456789012: allowed by one policy, refused by another.
    let env = with_policy(
        json!({ "mode": "unrestricted", "accounts": ["123456789012"], "regions": ["us-east-1", "eu-west-1"] }),
    );
    let v = call(
        &env,
        json!({ "cli_command": "aws sts get-caller-identity" }),
    );
    assert_eq!(result(&v)["status"], "success", "{v}");
    let v = call(
        &env,
        json!({ "cli_command": "aws ec2 describe-vpcs --region *" }),
    );
    assert_eq!(v["is_error"], false, "{v}");
    let results = v["structured_content"]["results"].as_array().unwrap();
    let commands: Vec<&str> = results
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "aws ec2 describe-vpcs --region eu-west-1",
            "aws ec2 describe-vpcs --region us-east-1"
        ],
        "{v}"
    );
    assert!(results.iter().all(|r| r["status"] == "success"), "{v}");

    let other = with_policy(json!({ "mode": "unrestricted", "accounts": ["111111111111"] }));
    let v = call(&other, json!({ "cli_command": "aws s3api list-buckets" }));
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["allowlist:accounts"]),
        "{v}"
    );
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("123456789012"),
        "{v}"
    );

    // Without a regions allow-list: a fan-out counts as one command of the batch and runs in
    // every one of moto's enabled regions (more than 20), each text labelled with its command.
    let open = with_policy(json!({ "mode": "unrestricted" }));
    let v = call(
        &open,
        json!({ "cli_command": ["aws sts get-caller-identity", "aws ec2 describe-vpcs --region *"] }),
    );
    assert_eq!(v["is_error"], false, "{v}");
    let results = v["structured_content"]["results"].as_array().unwrap();
    assert!(results.len() > 21, "{} results", results.len());
    let texts = v["text"].as_array().unwrap();
    assert_eq!(texts.len(), results.len());
    let n = results.len();
    assert!(
        texts[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("[1/{n}] aws sts get-caller-identity\n")),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].as_str().unwrap().starts_with(&format!(
            "[2/{n}] {} (region ",
            results[1]["command"].as_str().unwrap()
        )),
        "{}",
        texts[1]
    );

    // max_results caps a paginated listing (the smaller of it and --max-items wins).
    for i in 0..5 {
        let v = call(
            &open,
            json!({ "cli_command": format!("aws iam create-user --user-name fan-{i}") }),
        );
        assert_eq!(result(&v)["status"], "success", "{v}");
    }
    let names = |v: &Value| -> usize {
        let out: Value = serde_json::from_str(result(v)["output"].as_str().unwrap()).unwrap();
        out["Users"].as_array().unwrap().len()
    };
    let v = call(
        &open,
        json!({ "cli_command": "aws iam list-users", "max_results": 2 }),
    );
    assert_eq!(names(&v), 2, "{v}");
    let v = call(
        &open,
        json!({ "cli_command": "aws iam list-users --max-items 1", "max_results": 3 }),
    );
    assert_eq!(names(&v), 1, "{v}");
    let v = call(&open, json!({ "cli_command": "aws iam list-users" }));
    assert_eq!(names(&v), 5, "{v}");
    // With --query the token is projected away: the cut is said, with the way to go on.
    let v = call(
        &open,
        json!({ "cli_command": "aws iam list-users --query Users[].UserName", "max_results": 2 }),
    );
    let text = v["text"][0].as_str().unwrap();
    assert!(
        text.contains("stopped at the item limit") && text.contains("--starting-token "),
        "{v}"
    );
    let v = call(
        &open,
        json!({ "cli_command": "aws iam list-users", "max_results": 0 }),
    );
    assert_eq!(v["is_error"], true, "{v}");
}

/// The config file stands behind the environment (flags > env > file > defaults), and a broken
/// one stops the server with the file, line and column.
#[test]
fn config_file_layers_and_fails_closed() {
    let mut env = Env::new(None);
    let config = env.home.join("portcullis.toml");
    std::fs::write(&config, "mode = \"read-only\"\nregion = \"eu-west-1\"\n").unwrap();
    env.vars.push((
        "PORTCULLIS_CONFIG".into(),
        config.to_string_lossy().into_owned(),
    ));
    let v = env.call(
        "check_aws_command",
        "aws s3api create-bucket --bucket b",
        "none",
    );
    assert_eq!(
        v["structured_content"]["decision"]["outcome"], "deny",
        "{v}"
    );
    assert_eq!(
        v["structured_content"]["decision"]["rule_ids"],
        json!(["mode:read-only"]),
        "{v}"
    );
    // The environment beats the file.
    env.vars.push(("PORTCULLIS_MODE".into(), "guarded".into()));
    let v = env.call(
        "check_aws_command",
        "aws s3api create-bucket --bucket b",
        "none",
    );
    assert_eq!(
        v["structured_content"]["decision"]["outcome"], "consent",
        "{v}"
    );

    // A broken file: the server does not start, and says where.
    std::fs::write(&config, "mode = \"guarded\"\nmodde = \"read-only\"\n").unwrap();
    let out = serve_alone(&env.home, &["--config".as_ref(), config.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("portcullis.toml:2:1") && stderr.contains("modde"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "stdout carries only protocol");
    // Logs to a file: nothing on stderr, nothing on stdout, the start-up lines in the file (0600).
    let log = env.home.join("logs.txt");
    let out = serve_alone(&env.home, &["--log-file".as_ref(), log.as_os_str()]);
    assert!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("serving MCP on stdio"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // JSON log lines: one object a line, the message among its fields.
    let json_log = env.home.join("logs.json");
    let out = serve_alone(
        &env.home,
        &[
            "--log-format".as_ref(),
            "json".as_ref(),
            "--log-file".as_ref(),
            json_log.as_os_str(),
        ],
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&json_log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("serving MCP on stdio"))
            && l["level"] == "INFO"),
        "{lines:?}"
    );
    // A flag beats both: --mode on the command line.
    std::fs::write(&config, "mode = \"unrestricted\"\n").unwrap();
    let out = serve_alone(&env.home, &["--mode".as_ref(), "nonsense".as_ref()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Policies as an operator writes them, end to end: the awslabs file as is (`aws s3api
/// delete-object` in its denyList), native wildcard and IAM-action rules (one rule on
/// `s3:DeleteObject` catches `aws s3 rm` too), consent for secret reads, and a malformed policy that
/// stops the server.
#[test]
fn operator_policies_end_to_end() {
    let moto = Moto::start();
    moto.reset();
    assert_eq!(moto.http("PUT", "/policy-bucket", "").unwrap().0, 200);
    assert_eq!(
        moto.http("PUT", "/policy-bucket/k.txt", "data").unwrap().0,
        200
    );
    let object_exists = || {
        moto.http("GET", "/policy-bucket?list-type=2", "")
            .unwrap()
            .1
            .contains("<Key>k.txt</Key>")
    };

    // The awslabs file, from its usual place under HOME.
    let awslabs = Env::new(Some(&moto));
    let dir = awslabs.home.join(".aws").join("aws-api-mcp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mcp-security-policy.json"),
        r#"{"version": "1.0", "policy": {"denyList": ["aws s3api delete-object"], "elicitList": ["aws s3api list-objects-v2"]}}"#,
    )
    .unwrap();
    let v = awslabs.call(
        "call_aws",
        &awslabs.aws("aws s3api delete-object --bucket policy-bucket --key k.txt"),
        "accept",
    );
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert!(object_exists());
    let v = awslabs.call(
        "call_aws",
        &awslabs.aws("aws s3api list-objects-v2 --bucket policy-bucket"),
        "accept",
    );
    assert_eq!(result(&v)["status"], "success", "{v}");
    assert_eq!(
        v["prompts"].as_array().unwrap().len(),
        1,
        "an elicitList entry asks: {v}"
    );

    // Native rules: a command wildcard and an IAM-action rule.
    let mut native = Env::new(Some(&moto));
    let file = native.home.join("policy.json");
    std::fs::write(
        &file,
        json!({
            "mode": "unrestricted",
            "rules": [
                {"id": "no-iam-deletes", "effect": "deny", "commands": ["aws iam delete-*"]},
                {"id": "no-object-deletes", "effect": "deny", "actions": ["s3:DeleteObject"], "reason": "objects are kept"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    native.vars.push((
        "PORTCULLIS_POLICY_FILE".into(),
        file.to_string_lossy().into_owned(),
    ));
    for command in [
        "aws s3 rm s3://policy-bucket/k.txt",
        "aws s3api delete-object --bucket policy-bucket --key k.txt",
    ] {
        let v = native.call("call_aws", &native.aws(command), "accept");
        assert_eq!(result(&v)["status"], "denied", "{command}: {v}");
        assert_eq!(
            result(&v)["decision"]["rule_ids"],
            json!(["no-object-deletes"]),
            "{v}"
        );
        assert!(
            result(&v)["error"]
                .as_str()
                .unwrap()
                .contains("objects are kept"),
            "{v}"
        );
    }
    assert!(object_exists());
    let v = native.call(
        "call_aws",
        &native.aws("aws iam delete-user --user-name nobody"),
        "accept",
    );
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["no-iam-deletes"]),
        "{v}"
    );
    // Unrestricted: a write with no rule runs without asking.
    let v = native.call(
        "call_aws",
        &native.aws("aws s3api put-object --bucket policy-bucket --key new.txt"),
        "none",
    );
    assert_eq!(result(&v)["status"], "success", "{v}");

    // A secret read asks first, even though it is a read (guarded, the default).
    let guarded = Env::new(Some(&moto));
    let create =
        guarded.aws("aws secretsmanager create-secret --name app/db --secret-string hunter2");
    assert_eq!(
        result(&guarded.call("call_aws", &create, "accept"))["status"],
        "success"
    );
    let v = guarded.call(
        "call_aws",
        &guarded.aws("aws secretsmanager get-secret-value --secret-id app/db"),
        "decline",
    );
    assert_eq!(result(&v)["status"], "declined", "{v}");
    assert!(
        !v.to_string().contains("hunter2"),
        "a declined secret read leaks nothing: {v}"
    );
    let prompt = v["prompts"][0]["message"].as_str().unwrap();
    assert!(prompt.contains("returns a secret"), "{prompt}");
    let v = guarded.call(
        "call_aws",
        &guarded.aws("aws secretsmanager get-secret-value --secret-id app/db"),
        "accept",
    );
    assert!(
        result(&v)["output"].as_str().unwrap().contains("hunter2"),
        "{v}"
    );

    // A malformed policy: the server refuses to start, naming the file and line.
    std::fs::write(&file, "{\n  \"mode\": \"guarded\",\n  \"rulez\": []\n}\n").unwrap();
    let out = serve_alone(&native.home, &["--policy-file".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("policy.json") && stderr.contains("line 3") && stderr.contains("rulez"),
        "{stderr}"
    );
}
