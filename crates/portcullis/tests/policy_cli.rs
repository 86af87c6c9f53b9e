//! `portcullis policy validate|test` as an operator runs them: summaries, errors with
//! file:line:column, one line per case and the exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

use std::path::{Path, PathBuf};
use std::process::Command;

fn portcullis(args: &[&str]) -> (i32, String, String) {
    // No region from the environment: cases must say theirs.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
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
    assert!(err.contains("line 3") && err.contains("rulez"), "{err}");

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
            && lines[1].contains("deny [eu-regions-only]")
            && lines[1].contains("expected allow"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("FAIL #3") && lines[2].contains("expected rule `some-other-rule`"),
        "{out}"
    );
    assert!(
        lines[3].starts_with("FAIL #4") && lines[3].contains("does not parse"),
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
