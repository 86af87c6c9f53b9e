//! `portcullis check` as a user runs it: JSON and text output, refusals and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

use std::process::Command;

fn check(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check")
        .args(args)
        .output()
        .expect("run portcullis");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

#[test]
fn a_valid_command_prints_the_request_and_its_classification() {
    let (code, out) =
        check(&["aws ssm get-parameter --name /app/db --with-decryption --region eu-west-1"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["request"]["service"], "ssm");
    assert_eq!(doc["request"]["operation"], "GetParameter");
    assert_eq!(doc["request"]["params"]["WithDecryption"], true);
    assert_eq!(doc["request"]["globals"]["region"], "eu-west-1");
    assert_eq!(doc["classification"]["actions"][0], "ssm:GetParameter");
    assert_eq!(doc["classification"]["access_level"], "Read");
    assert_eq!(doc["classification"]["flags"]["returns_secret"], true);
    assert_eq!(doc["digest"].as_str().map(str::len), Some(64));
}

#[test]
fn text_format_is_readable() {
    let (code, out) = check(&["--format", "text", "aws iam delete-user --user-name bob"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("aws iam delete-user  (iam.DeleteUser)"),
        "{out}"
    );
    assert!(out.contains("IAM actions: iam:DeleteUser"), "{out}");
    assert!(out.contains("destructive"), "{out}");
}

#[test]
fn a_refused_command_lists_every_problem_and_exits_1() {
    let (code, out) =
        check(&["aws dynamodb scan --select EVERYTHING --tabel-name t --total-segments 0"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["ok"], false);
    let kinds: Vec<&str> = doc["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    // The required `--table-name` is not also reported missing: `--tabel-name` is its typo,
    // named with its suggestion (no consequential second problem).
    assert_eq!(kinds, ["unknown_option", "invalid_value"], "{kinds:?}");
    assert!(out.contains("--table-name"), "{out}");
    let (code, out) = check(&["--format", "text", "aws s3api list-buckets | sh"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("refused: a pipe"), "{out}");
}

#[test]
fn abbreviations_and_values_beyond_the_model_are_shown_not_refused() {
    let (code, out) = check(&["aws dynamodb scan --table t --select EVERYTHING"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let warnings = doc["request"]["warnings"].to_string();
    assert!(
        warnings.contains("read `--table` as `--table-name`") && warnings.contains("EVERYTHING"),
        "{doc}"
    );
    let (code, out) = check(&["--format", "text", "aws iam get-user --user bob"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("read `--user` as `--user-name`"), "{out}");
}

#[test]
fn files_can_be_refused_altogether() {
    let (code, out) = check(&[
        "--no-files",
        "aws iam create-policy --policy-name p --policy-document file://policy.json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad_file"), "{out}");
}

#[test]
fn skeletons_print_a_template() {
    let (code, out) = check(&["aws sqs send-message --generate-cli-skeleton"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        doc.get("QueueUrl").is_some() && doc.get("MessageBody").is_some(),
        "{doc}"
    );
}

/// `portcullis exec` decides like `serve` before anything is sent: a denial, or a consent with no
/// terminal to ask on, does not run (the endpoint is a closed port: reaching it would say so).
#[test]
fn exec_passes_the_policy_first() {
    let home = std::env::temp_dir().join(format!("portcullis-exec-policy-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let policy = home.join("policy.json");
    std::fs::write(&policy, r#"{"mode": "guarded", "rules": [{"id": "no-user-deletes", "effect": "deny", "actions": ["iam:DeleteUser"]}]}"#).unwrap();
    let exec = |command: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["exec", command])
            .env_clear()
            .env("HOME", &home)
            .env("PORTCULLIS_POLICY_FILE", &policy)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) =
        exec("aws iam delete-user --user-name alice --endpoint-url http://127.0.0.1:9");
    assert_eq!(code, 252, "{err}");
    assert!(
        err.contains("denied by the policy") && err.contains("no-user-deletes"),
        "{err}"
    );
    let (code, err) = exec("aws s3api create-bucket --bucket b --endpoint-url http://127.0.0.1:9");
    assert_eq!(code, 252, "{err}");
    assert!(
        err.contains("needs approval") && err.contains("no terminal"),
        "{err}"
    );
    // A read runs (and fails only at the closed port).
    let (code, err) = exec("aws sts get-caller-identity --endpoint-url http://127.0.0.1:9");
    assert_eq!(code, 255, "{err}");
    assert!(!err.contains("policy"), "{err}");
    std::fs::remove_dir_all(&home).ok();
}

#[test]
fn a_waiter_shows_the_waiter_and_the_call_it_polls() {
    let (code, out) = check(&["aws ec2 wait instance-running --instance-ids i-1"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["kind"], "extra");
    let wait = &doc["request"]["kind"];
    assert_eq!(wait["customization"], "wait");
    assert_eq!(wait["waiter"], "InstanceRunning");
    assert_eq!(wait["cli_name"], "instance-running");
    assert_eq!(
        (wait["delay"].as_u64(), wait["max_attempts"].as_u64()),
        (Some(15), Some(40))
    );
    assert_eq!(wait["call"]["operation"], "DescribeInstances");
    assert_eq!(wait["call"]["params"]["InstanceIds"][0], "i-1");
    assert_eq!(doc["api_calls"][0]["operation"], "DescribeInstances");
    assert_eq!(
        doc["api_calls"][0]["classification"]["actions"][0],
        "ec2:DescribeInstances"
    );
    let (code, out) = check(&[
        "--format",
        "text",
        "aws ec2 wait instance-running --instance-ids i-1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("aws ec2 wait instance-running\n"), "{out}");
    assert!(out.contains("API calls: ec2.DescribeInstances"), "{out}");
    // An unknown waiter is refused with the closest names.
    let (code, out) = check(&[
        "--format",
        "text",
        "aws ec2 wait instance-runing --instance-ids i-1",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not a waiter") && out.contains("instance-running"),
        "{out}"
    );
}
