//! Every name a policy writes is checked when it loads: a pattern that can match nothing is an
//! error with a suggestion, every problem is reported at once, and valid wildcards stay valid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use portcullis_policy::{Policy, PolicyError, Problem};

fn problems(e: PolicyError) -> Vec<Problem> {
    match e {
        PolicyError::Invalid { problems } => problems,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn one_problem(src: &str, awslabs: bool) -> Problem {
    let r = if awslabs {
        Policy::from_awslabs_json(src)
    } else {
        Policy::from_json(src)
    };
    let mut list = problems(r.expect_err(src));
    assert_eq!(list.len(), 1, "{src}: {list:#?}");
    list.remove(0)
}

#[test]
fn the_five_typos_are_errors_with_the_right_suggestion() {
    for (src, awslabs, path, suggestion) in [
        (
            r#"{"rules": [{"id": "no-deletes", "effect": "deny", "actions": ["s3:DeleteObjekt"]}]}"#,
            false,
            "rules[0].actions[0]",
            "did you mean `s3:DeleteObject`?",
        ),
        (
            r#"{"rules": [{"id": "no-deletes", "effect": "deny", "commands": ["aws s3api delete-objekt"]}]}"#,
            false,
            "rules[0].commands[0]",
            "did you mean `aws s3api delete-object`?",
        ),
        (
            r#"{"version": "1.0", "policy": {"denyList": ["aws iam delete-usr"]}}"#,
            true,
            "policy.denyList[0]",
            "did you mean `aws iam delete-user`?",
        ),
        (
            r#"{"regions": ["eu-wst-1"]}"#,
            false,
            "regions[0]",
            "did you mean `eu-west-1`?",
        ),
        (
            r#"{"services": ["s4"]}"#,
            false,
            "services[0]",
            "did you mean `s3`?",
        ),
    ] {
        let p = one_problem(src, awslabs);
        println!("{p}");
        assert_eq!(p.path, path, "{src}");
        assert!(p.message.contains(suggestion), "{src}: {}", p.message);
        assert_eq!(p.line, Some(1), "{src}");
        assert!(p.column.is_some(), "{src}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = r#"{
  "rules": [
    {"id": "no-deletes", "effect": "deny", "actions": ["s3:DeleteObjekt", "s4:GetObject"],
     "commands": ["aws s3api delete-objekt", "aws iam delete-usr", "aws s3 delete-object"]},
    {"id": "typo-wildcards", "effect": "consent", "actions": ["s3:Dlete*"], "commands": ["aws * delete-objekt"]}
  ],
  "services": ["s3", "s4"],
  "regions": ["eu-west-1", "eu-wst-1", "eu-centrl-*"]
}"#;
    let list = problems(Policy::from_json(src).unwrap_err());
    let got: Vec<(&str, Option<usize>)> = list.iter().map(|p| (p.path.as_str(), p.line)).collect();
    assert_eq!(
        got,
        [
            ("rules[0].commands[0]", Some(4)),
            ("rules[0].commands[1]", Some(4)),
            ("rules[0].commands[2]", Some(4)),
            ("rules[0].actions[0]", Some(3)),
            ("rules[0].actions[1]", Some(3)),
            ("rules[1].commands[0]", Some(5)),
            ("rules[1].actions[0]", Some(5)),
            ("services[1]", Some(7)),
            ("regions[1]", Some(8)),
            ("regions[2]", Some(8)),
        ],
        "{list:#?}"
    );
    for (i, want) in [
        (2, "did you mean `aws s3api delete-object`?"),
        (4, "did you mean `s3:GetObject`?"),
        (6, "did you mean `s3:Delete*`?"),
        (9, "did you mean `eu-central-*`?"),
    ] {
        assert!(list[i].message.contains(want), "{}", list[i].message);
    }
    // The error shows them all, each with its line and column.
    let text = PolicyError::Invalid { problems: list }.to_string();
    assert_eq!(text.lines().count(), 11, "{text}");
    assert!(text.contains("line 8, column"), "{text}");

    // JSON problems and Cedar problems are reported together too.
    let both = r#"{"rules": [{"id": "r", "effect": "deny", "actions": ["iam:DeleteUsr"]}],
  "cedar_policies": "@id(\"x\")\nforbid (principal, action, resource) when { context.regoin == \"x\" };"}"#;
    let list = problems(Policy::from_json(both).unwrap_err());
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(list[0].message.contains("`iam:DeleteUser`"), "{list:#?}");
    assert_eq!(list[1].path, "cedar_policies", "{list:#?}");
    assert!(
        list[1].message.starts_with("line 2, column ") && list[1].message.contains("regoin"),
        "{list:#?}"
    );
}

#[test]
fn valid_wildcards_stay_valid() {
    let p = Policy::from_json(
        r#"{
  "rules": [
    {"id": "a", "effect": "deny", "actions": ["s3:Delete*", "S3:deleteobject", "*", "iam:*", "*:Delete*", "ec2:*Tags", "s3*:Get*"]},
    {"id": "b", "effect": "deny", "commands": ["aws * delete-*", "aws iam", "aws s3api *", "aws s3 rm", "aws s3 presign", "aws deploy *", "aws cloudformation deploy", "aws ec2 wait", "aws eks get-token", "aws * put-*-tagging", "aws s3 *", "aws configure set"]},
    {"id": "c", "effect": "allow", "commands": ["aws * *"]}
  ],
  "services": ["s3", "s3api", "ec*", "codedeploy", "deploy", "configservice", "*"],
  "regions": ["eu-west-1", "eu-central-*", "us-*", "*", "cn-north-1", "us-gov-west-1", "aws-global"]
}"#,
    )
    .unwrap();
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    // awslabs: an `aws s3 <op>` entry stands for `aws s3api <op>` too, so it is valid; when
    // neither exists, the suggestion comes from either.
    let list = problems(
        Policy::from_awslabs_json(
            r#"{"policy": {"denyList": ["aws s3 delete-objekt", "aws s3 rmm"]}}"#,
        )
        .unwrap_err(),
    );
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(
        list[0].message.starts_with(
            "`aws s3 delete-objekt` matches no AWS CLI command, nor does `aws s3api delete-objekt`"
        ) && list[0]
            .message
            .contains("did you mean `aws s3api delete-object`?"),
        "{list:#?}"
    );
    assert!(
        list[1].message.contains("did you mean `aws s3 rm`?"),
        "{list:#?}"
    );
    Policy::from_awslabs_json(
        r#"{"policy": {"denyList": ["aws s3 delete-object", "aws s3 rb"], "elicitList": ["aws s3 put-object", "aws deploy create-deployment", "aws configservice put-config-rule"]}}"#,
    )
    .unwrap();
}

#[test]
fn a_region_newer_than_the_data_is_a_warning() {
    // Made of the words of listed regions and following the `aws` partition's pattern.
    let p = Policy::from_json(r#"{"regions": ["eu-west-1", "ap-east-9"]}"#).unwrap();
    let w = p.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].path, "regions[1]");
    assert!(w[0].message.contains("`aws` partition"), "{}", w[0].message);
    // It still counts in the allow-list.
    assert!(p.allows_region("ap-east-9"));
    // A new word, a wildcard matching nothing, or no partition's pattern: errors.
    for r in ["eu-wst-1", "eu-wst-*", "xx-west-1", "eu-west"] {
        let src = format!(r#"{{"regions": ["{r}"]}}"#);
        let p = one_problem(&src, false);
        assert!(p.message.contains(&format!("`{r}`")), "{p}");
    }
}

#[test]
fn unknown_prefixes_commands_and_wildcards_say_what_is_wrong() {
    for (pattern, field, want) in [
        (
            "s4:GetObject",
            "actions",
            "`s4` is not an IAM service prefix; did you mean `s3:GetObject`?",
        ),
        (
            "s3:Dlete*",
            "actions",
            "`s3` has no action matching `Dlete*`; did you mean `s3:Delete*`?",
        ),
        ("iam:Frobnicate", "actions", "the IAM catalogue is"),
        (
            "aws s4 ls",
            "commands",
            "`s4` is not a command of the CLI; did you mean `aws s3 ls`?",
        ),
        (
            "aws s3 delete-object",
            "commands",
            "did you mean `aws s3api delete-object`?",
        ),
        (
            "aws * delete-objekt",
            "commands",
            "has an operation `delete-objekt`",
        ),
        (
            "aws iam frobnicate-*",
            "commands",
            "`aws iam` has no operation matching `frobnicate-*`",
        ),
    ] {
        let src =
            format!(r#"{{"rules": [{{"id": "x", "effect": "deny", "{field}": ["{pattern}"]}}]}}"#);
        let p = one_problem(&src, false);
        assert!(p.message.contains(want), "{pattern}: {}", p.message);
    }
}

#[test]
fn checking_the_names_is_fast() {
    // The policy guide's native example, without its Cedar file: what start-up pays.
    let src = r#"{
  "mode": "guarded",
  "rules": [
    {"id": "no-deletes", "effect": "deny", "actions": ["s3:DeleteObject*", "s3:DeleteBucket"]},
    {"id": "iam-ask", "effect": "consent", "commands": ["aws iam *"]},
    {"id": "logs-free", "effect": "allow", "commands": ["aws logs put-*"]},
    {"id": "any-delete", "effect": "consent", "commands": ["aws * delete-*"]}
  ],
  "services": ["s3", "s3api", "logs", "iam", "sts", "ec2"],
  "regions": ["eu-west-1", "eu-central-*"],
  "accounts": ["123456789012"]
}"#;
    Policy::from_json(src).unwrap(); // the data decoded once, as at start-up
    let t = std::time::Instant::now();
    for _ in 0..10 {
        Policy::from_json(src).unwrap();
    }
    let each = t.elapsed() / 10;
    println!("compile with the names checked: {each:?}");
    assert!(each.as_millis() < 50, "{each:?}");
}
