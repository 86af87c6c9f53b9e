//! `portcullis policy validate|test` as an operator runs them: summaries, errors with
//! file:line:column, one line per case and the exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

use std::path::{Path, PathBuf};
use std::process::Command;

fn portcullis(args: &[&str]) -> (i32, String, String) {
    portcullis_in(Path::new("."), args)
}

/// Run in `dir`, so relative file names are read from there.
fn portcullis_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    // No region from the environment: cases must say theirs.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("run portcullis");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy/cedar/examples")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-policy-cli-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn validate_prints_a_summary() {
    let file = examples().join("policy.json");
    let (code, out, err) = portcullis(&["policy", "validate", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("mode: guarded"), "{out}");
    assert!(out.contains("rules: 1"), "{out}");
    assert!(out.contains("cedar policies: 4"), "{out}");
    for id in [
        "eu-regions-only (forbid)",
        "no-prod-s3-deletes (forbid)",
        "iam-writes-ask (permit @consent)",
        "scratch-uploads (permit)",
    ] {
        assert!(out.contains(id), "{id}: {out}");
    }
}

#[test]
fn validate_names_file_line_and_column() {
    let dir = scratch("validate");
    std::fs::write(dir.join("p.cedar"), "@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"bad\")\nforbid (principal, action, resource)\n  when { context.regoin == \"x\" };\n").unwrap();
    std::fs::write(
        dir.join("policy.json"),
        r#"{"mode": "guarded", "cedar": "p.cedar"}"#,
    )
    .unwrap();
    let (code, out, err) = portcullis(&[
        "policy",
        "validate",
        dir.join("policy.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    let at = format!("{}:6:", dir.join("p.cedar").display());
    assert!(err.contains(&at) && err.contains("regoin"), "{err}");

    // A syntax error in the JSON itself.
    std::fs::write(
        dir.join("policy.json"),
        "{\n  \"mode\": \"guarded\",\n  \"rulez\": []\n}",
    )
    .unwrap();
    let (code, _, err) = portcullis(&[
        "policy",
        "validate",
        dir.join("policy.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    let at = format!("{}:3:", dir.join("policy.json").display());
    assert!(err.contains(&at) && err.contains("rulez"), "{err}");

    // Names that match nothing: every one reported, each at its file:line:column.
    std::fs::write(
        dir.join("policy.json"),
        "{\n  \"rules\": [{\"id\": \"d\", \"effect\": \"deny\",\n    \"actions\": [\"s3:DeleteObjekt\"], \"commands\": [\"aws s3api delete-objekt\"]}],\n  \"regions\": [\"eu-wst-1\"]\n}",
    )
    .unwrap();
    let (code, out, err) = portcullis(&[
        "policy",
        "validate",
        dir.join("policy.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    let file = dir.join("policy.json").display().to_string();
    assert!(err.contains(&format!("{file}: 3 problems:")), "{err}");
    for (at, what) in [
        (
            ":3:50: rules[0].commands[0]: ",
            "did you mean `aws s3api delete-object`?",
        ),
        (
            ":3:17: rules[0].actions[0]: ",
            "did you mean `s3:DeleteObject`?",
        ),
        (":4:15: regions[0]: ", "did you mean `eu-west-1`?"),
    ] {
        let line = format!("  {file}{at}");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&line) && l.ends_with(what)),
            "{line} … {what}:\n{err}"
        );
    }

    // A region newer than the data: valid, with a warning.
    std::fs::write(dir.join("policy.json"), r#"{"regions": ["ap-east-9"]}"#).unwrap();
    let (code, out, err) = portcullis(&[
        "policy",
        "validate",
        dir.join("policy.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("valid, with 1 warning:")
            && out.contains("warning: ")
            && out.contains("regions[0]"),
        "{out}"
    );

    // The awslabs form validates too.
    std::fs::write(
        dir.join("awslabs.json"),
        r#"{"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": []}}"#,
    )
    .unwrap();
    let (code, out, err) = portcullis(&[
        "policy",
        "validate",
        dir.join("awslabs.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("rules: 1") && out.contains("cedar policies: none"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn test_runs_the_shipped_cases() {
    let e = examples();
    let (code, out, err) = portcullis(&[
        "policy",
        "test",
        e.join("policy.json").to_str().unwrap(),
        e.join("cases.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        10,
        "{out}"
    );
    assert!(out.contains("10 passed, 0 failed"), "{out}");
    assert!(out.contains("deny [no-prod-s3-deletes]"), "{out}");
}

#[test]
fn test_reports_failing_cases_and_exits_1() {
    let dir = scratch("failing");
    let cases = dir.join("cases.json");
    std::fs::write(
        &cases,
        r#"[
  {"command": "aws s3api list-buckets", "region": "eu-west-1", "expect": "allow"},
  {"command": "aws s3api list-buckets", "region": "us-east-1", "expect": "allow"},
  {"command": "aws iam create-user --user-name a", "region": "eu-west-1", "expect": "consent", "rule": "some-other-rule"},
  {"command": "aws s3api delete-objekt --bucket b", "region": "eu-west-1", "expect": "deny"}
]"#,
    )
    .unwrap();
    let policy = examples().join("policy.json");
    let (code, out, err) = portcullis(&[
        "policy",
        "test",
        policy.to_str().unwrap(),
        cases.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("PASS #1"), "{out}");
    assert!(
        lines[1].starts_with("FAIL #2")
            && lines[1].contains("→ expected allow, got deny [eu-regions-only]: "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("FAIL #3")
            && lines[2].contains("→ expected consent by rule `some-other-rule`, got consent ["),
        "{out}"
    );
    assert!(
        lines[3].starts_with("FAIL #4")
            && lines[3].contains("→ expected deny, but the command does not parse: "),
        "{out}"
    );
    assert!(out.contains("1 passed, 3 failed"), "{out}");

    // `--region` gives commands without one a region.
    std::fs::write(
        &cases,
        r#"[{"command": "aws s3api list-buckets", "expect": "allow"}]"#,
    )
    .unwrap();
    let (code, out, _) = portcullis(&[
        "policy",
        "test",
        policy.to_str().unwrap(),
        cases.to_str().unwrap(),
        "--region",
        "eu-central-1",
    ]);
    assert_eq!(code, 0, "{out}");

    // A malformed case file is a load error with its place.
    std::fs::write(
        &cases,
        "[\n  {\"command\": \"aws s3 ls\", \"expect\": \"maybe\"}\n]",
    )
    .unwrap();
    let (code, _, err) = portcullis(&[
        "policy",
        "test",
        policy.to_str().unwrap(),
        cases.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cases.json:2:"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The fenced code blocks of the policy guide, in order: (info string, text).
fn guide_blocks() -> Vec<(String, String)> {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-guide.md");
    let text = std::fs::read_to_string(guide).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (line.trim_start().strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(info), None) => open = Some((info.trim().to_string(), String::new())),
            (None, Some((info, mut body))) => {
                body.push_str(line);
                body.push('\n');
                open = Some((info, body));
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in the policy guide");
    blocks
}

fn guide_block(blocks: &[(String, String)], info: &str, contains: &str) -> String {
    let found: Vec<&String> = blocks
        .iter()
        .filter(|(i, b)| i == info && b.contains(contains))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the guide's ```{info} block with {contains:?}"
    );
    found[0].clone()
}

/// The policy guide's examples, exactly as it shows them: its awslabs file, its native file with
/// the Cedar policies it shows, its cases, and the commands of its "Test before you deploy".
#[test]
fn the_policy_guide_examples_pass() {
    let blocks = guide_blocks();
    let dir = scratch("guide");
    let awslabs = guide_block(&blocks, "json", "\"denyList\"");
    let native = guide_block(&blocks, "json", "\"rules\"");
    let cedar = guide_block(&blocks, "cedar", "@id(");
    let cases = guide_block(&blocks, "json", "\"expect\"");
    let commands = guide_block(&blocks, "sh", "portcullis policy test");
    let cedar_file = serde_json::from_str::<serde_json::Value>(&native).unwrap()["cedar"]
        .as_str()
        .expect("the native example names its Cedar file")
        .to_string();
    std::fs::write(dir.join("mcp-security-policy.json"), &awslabs).unwrap();
    std::fs::write(dir.join("policy.json"), &native).unwrap();
    std::fs::write(dir.join(&cedar_file), &cedar).unwrap();
    std::fs::write(dir.join("cases.json"), &cases).unwrap();

    let (code, out, err) = portcullis_in(&dir, &["policy", "validate", "mcp-security-policy.json"]);
    assert_eq!(code, 0, "the guide's awslabs file: {out}{err}");
    assert!(out.contains("mcp-security-policy.json: valid\n"), "{out}");

    let n_cases = serde_json::from_str::<Vec<serde_json::Value>>(&cases)
        .unwrap()
        .len();
    let mut ran = 0;
    for line in commands.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(("portcullis", args)) = words.split_first().map(|(f, r)| (*f, r)) else {
            continue;
        };
        let (code, out, err) = portcullis_in(&dir, args);
        assert_eq!(code, 0, "`{line}` as the guide shows it:\n{out}{err}");
        match args.get(1) {
            Some(&"validate") => {
                assert!(out.contains("policy.json: valid\n"), "{out}");
                assert!(out.contains(&format!("(from {cedar_file})")), "{out}");
            }
            Some(&"test") => {
                assert!(
                    out.contains(&format!("{n_cases} passed, 0 failed")),
                    "{out}"
                );
                assert!(!out.contains("FAIL"), "{out}");
            }
            _ => panic!("unexpected command in the guide: {line}"),
        }
        ran += 1;
    }
    assert_eq!(ran, 2, "{commands}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn test_takes_the_account_from_the_case_or_the_option() {
    let dir = scratch("account");
    std::fs::write(
        dir.join("policy.json"),
        r#"{"mode": "guarded", "accounts": ["123456789012"]}"#,
    )
    .unwrap();
    let cases = dir.join("cases.json");
    std::fs::write(
        &cases,
        r#"[
  {"command": "aws s3api list-buckets", "region": "eu-west-1", "expect": "allow"},
  {"command": "aws s3api list-buckets", "region": "eu-west-1", "account": "111122223333", "expect": "deny", "rule": "allowlist:accounts"}
]"#,
    )
    .unwrap();
    let policy = dir.join("policy.json");
    let args = [
        "policy",
        "test",
        policy.to_str().unwrap(),
        cases.to_str().unwrap(),
    ];
    // Without an account, the allow-list refuses, and the line says how to give one.
    let (code, out, _) = portcullis(&args);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines().next().unwrap().starts_with("FAIL #1") && out.contains("pass `--account`"),
        "{out}"
    );
    let mut with = args.to_vec();
    with.extend(["--account", "123456789012"]);
    let (code, out, err) = portcullis(&with);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    // An account that is not 12 digits is a case-file error.
    let mut bad = args.to_vec();
    bad.extend(["--account", "12345"]);
    let (code, _, err) = portcullis(&bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("account `12345`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn region_fan_out_is_decided_as_call_aws_runs_it() {
    let dir = scratch("fan-out");
    std::fs::write(
        dir.join("p.json"),
        r#"{"mode": "read-only", "regions": ["eu-west-1"]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("cases.json"),
        r#"[{"command": "aws ec2 describe-vpcs --region *", "expect": "allow"},
            {"command": "aws ec2 describe-vpcs --region us-east-1", "expect": "deny"}]"#,
    )
    .unwrap();
    let (code, out, err) = portcullis(&[
        "policy",
        "test",
        dir.join("p.json").to_str().unwrap(),
        dir.join("cases.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    let (code, out, err) = portcullis(&[
        "check",
        "aws ec2 describe-vpcs --region *",
        "--format",
        "text",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("note: `--region *` runs the command in every enabled region"),
        "{out}"
    );
}
