//! The parser's behaviour, one property at a time: files only through the policy, what
//! --cli-input-json may and may not do, skeletons, generated members, global options, duplicate and
//! abbreviated options, every problem at once, suggestions, bounds and the request digest.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use std::path::PathBuf;

use portcullis_cli::{
    AllowAll, Command, CommandError, DenyAll, Limits, OperationCall, Parser, ProblemKind, Value,
};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn call(parser: &Parser, cmd: &str) -> OperationCall {
    match parser.parse(cmd) {
        Ok(Command::Call(c)) => c,
        other => panic!("{cmd}: {other:?}"),
    }
}

fn refused(parser: &Parser, cmd: &str) -> CommandError {
    match parser.parse(cmd) {
        Err(e) => e,
        Ok(c) => panic!("{cmd} was accepted: {c:?}"),
    }
}

#[test]
fn files_are_read_only_through_the_policy() {
    let deny = Parser::new(&DenyAll);
    for cmd in [
        "aws iam create-policy --policy-name p --policy-document file://files/policy.json",
        "aws kms encrypt --key-id alias/k --plaintext fileb://files/data.bin",
        "aws s3api put-object --bucket b --key k --body files/notes.txt",
        "aws sts get-caller-identity --cli-input-json file://files/empty.json",
    ] {
        let err = refused(&deny, cmd);
        assert!(err.has(ProblemKind::BadFile), "{cmd}: {err}");
        assert!(err.to_string().contains("disabled"), "{err}");
    }
    let base = corpus_dir();
    let allow = AllowAll::new(&base);
    let p = Parser::new(&allow);
    let c = call(
        &p,
        "aws iam create-policy --policy-name p --policy-document file://files/policy.json",
    );
    let doc = c.params["PolicyDocument"].as_str().expect("text");
    assert!(doc.contains("Statement"), "{doc}");
    assert_eq!(c.files_read, ["files/policy.json"]);
    // fileb:// gives bytes, exactly.
    let c = call(
        &p,
        "aws kms encrypt --key-id alias/k --plaintext fileb://files/data.bin",
    );
    assert_eq!(
        c.params["Plaintext"],
        Value::Bytes(std::fs::read(base.join("files/data.bin")).expect("fixture"))
    );
    // A streaming body is checked now but read only when sent.
    let c = call(
        &p,
        "aws s3api put-object --bucket b --key k --body files/notes.txt",
    );
    assert!(matches!(&c.params["Body"], Value::Stream(f) if f.path == "files/notes.txt"));
    let err = refused(
        &p,
        "aws s3api put-object --bucket b --key k --body files/nope.txt",
    );
    assert!(err.has(ProblemKind::BadFile));
    // file:// of a binary file is refused with the fix.
    let err = refused(
        &p,
        "aws iam create-policy --policy-name p --policy-document file://files/data.bin",
    );
    assert!(err.to_string().contains("fileb://"), "{err}");
    // A URL argument takes file:// literally (the CLI's paramfile exceptions).
    let c = call(
        &p,
        "aws cloudformation create-stack --stack-name s --template-url file://files/policy.json",
    );
    assert_eq!(
        c.params["TemplateURL"].as_str(),
        Some("file://files/policy.json")
    );
}

#[test]
fn cli_input_json_is_merged_and_validated_like_options() {
    let p = Parser::new(&DenyAll);
    // Explicit options win; JSON fills the rest; everything is validated.
    let c = call(
        &p,
        r#"aws sqs send-message --queue-url https://q --cli-input-json '{"QueueUrl":"https://other","MessageBody":"hi","DelaySeconds":5}'"#,
    );
    assert_eq!(c.params["QueueUrl"].as_str(), Some("https://q"));
    assert_eq!(c.params["MessageBody"].as_str(), Some("hi"));
    assert_eq!(c.params["DelaySeconds"], Value::Int(5));
    // Nothing hides in it: unknown keys, wrong types and bad values are all reported.
    let err = refused(
        &p,
        r#"aws sqs send-message --cli-input-json '{"QueueUrl":"https://q","MessageBody":7,"Sneaky":true,"DelaySeconds":"5"}'"#,
    );
    assert!(err.has(ProblemKind::UnknownOption), "{err}");
    assert!(err.has(ProblemKind::InvalidType), "{err}");
    assert!(err.problems.len() >= 3, "{err}");
    // Required members may come from it.
    call(
        &p,
        r#"aws iam get-role --cli-input-json '{"RoleName":"r"}'"#,
    );
    let err = refused(&p, "aws iam get-role --cli-input-json '[1]'");
    assert!(err.to_string().contains("JSON object"), "{err}");
}

#[test]
fn skeletons_never_become_calls() {
    let p = Parser::new(&DenyAll);
    // Required options may be missing: a skeleton is a template, not a request.
    match p.parse("aws ec2 run-instances --generate-cli-skeleton") {
        Ok(Command::Skeleton {
            operation,
            which,
            skeleton,
            ..
        }) => {
            assert_eq!(
                (operation.as_str(), which.as_str()),
                ("RunInstances", "input")
            );
            assert!(skeleton.get("ImageId").is_some(), "{skeleton}");
        }
        other => panic!("{other:?}"),
    }
    match p.parse("aws sts get-caller-identity --generate-cli-skeleton output") {
        Ok(Command::Skeleton { skeleton, .. }) => {
            assert!(skeleton.get("Account").is_some(), "{skeleton}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn idempotency_tokens_and_cli_defaults_are_filled_and_reported() {
    let p = Parser::new(&DenyAll);
    let c = call(
        &p,
        "aws ec2 run-instances --image-id ami-12345678 --instance-type t3.micro",
    );
    assert_eq!(c.params["MinCount"], Value::Int(1));
    assert_eq!(c.params["MaxCount"], Value::Int(1));
    let token = c.params["ClientToken"].as_str().expect("token");
    assert_eq!(token.len(), 36, "{token}");
    assert!(c.generated.iter().any(|g| g == "ClientToken"));
    // A token given is kept.
    let c = call(
        &p,
        "aws ec2 run-instances --image-id ami-12345678 --count 2:3 --client-token mine",
    );
    assert_eq!(c.params["ClientToken"].as_str(), Some("mine"));
    assert_eq!(
        (c.params["MinCount"].clone(), c.params["MaxCount"].clone()),
        (Value::Int(2), Value::Int(3))
    );
    assert!(!c.generated.iter().any(|g| g == "ClientToken"));
}

#[test]
fn global_options_anywhere_are_surfaced_not_dropped() {
    let p = Parser::new(&DenyAll);
    for cmd in [
        "aws --region eu-west-1 --profile prod s3api list-buckets --debug",
        "aws s3api --region eu-west-1 list-buckets --profile prod --debug",
        "aws s3api list-buckets --debug --profile=prod --region=eu-west-1",
    ] {
        let c = call(&p, cmd);
        assert_eq!(c.globals.region.as_deref(), Some("eu-west-1"), "{cmd}");
        assert_eq!(c.globals.profile.as_deref(), Some("prod"), "{cmd}");
        assert!(c.globals.debug, "{cmd}");
    }
    let base = corpus_dir();
    let allow = AllowAll::new(&base);
    let p = Parser::new(&allow);
    let c = call(
        &p,
        "aws ec2 describe-instances --no-paginate --endpoint-url http://127.0.0.1:5000 --no-verify-ssl --no-sign-request \
         --ca-bundle files/ca.pem --color off --cli-read-timeout 5 --cli-connect-timeout 2 --output text --query 'Reservations[0]' --cli-binary-format base64",
    );
    let g = &c.globals;
    assert!(g.no_paginate && g.no_verify_ssl && g.no_sign_request);
    assert_eq!(
        (g.cli_read_timeout, g.cli_connect_timeout),
        (Some(5), Some(2))
    );
    assert_eq!(g.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    assert_eq!(
        (g.output.as_deref(), g.query.as_deref(), g.color.as_deref()),
        (Some("text"), Some("Reservations[0]"), Some("off"))
    );
    let err = refused(
        &p,
        "aws sts get-caller-identity --output xml --cli-read-timeout soon --region 'us east 1'",
    );
    assert_eq!(err.problems.len(), 3, "{err}");
}

#[test]
fn duplicate_options_are_refused_and_abbreviations_read_as_the_cli_reads_them() {
    let p = Parser::new(&DenyAll);
    let err = refused(&p, "aws iam get-user --user-name a --user-name b");
    assert!(err.has(ProblemKind::DuplicateOption), "{err}");
    let err = refused(
        &p,
        "aws dynamodb scan --table-name t --consistent-read --no-consistent-read",
    );
    assert!(err.has(ProblemKind::DuplicateOption), "{err}");
    let err = refused(&p, "aws sts get-caller-identity --region a --region b");
    assert!(err.has(ProblemKind::DuplicateOption), "{err}");
    // The AWS CLI takes a unique prefix for the option; so does Portcullis, and says so.
    let c = call(&p, "aws iam get-user --user bob");
    assert_eq!(
        c.params.get("UserName"),
        Some(&portcullis_cli::Value::Str("bob".into()))
    );
    assert_eq!(c.warnings, ["read `--user` as `--user-name`"]);
    let c = call(
        &p,
        "aws ec2 describe-instances --filter Name=a,Values=b --instance i-1",
    );
    assert!(
        c.params.contains_key("Filters") && c.params.contains_key("InstanceIds"),
        "{c:?}"
    );
    assert_eq!(
        c.warnings,
        [
            "read `--filter` as `--filters`",
            "read `--instance` as `--instance-ids`"
        ]
    );
    // Globals first, as the CLI's main parser sees every word: `--reg` is `--region`, `--endpoint`
    // is `--endpoint-url` (which the policy then decides on, by its full name).
    let c = call(
        &p,
        "aws sts get-caller-identity --reg eu-west-1 --endpoint http://localhost:4566",
    );
    assert_eq!(c.globals.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.globals.endpoint_url.as_deref(),
        Some("http://localhost:4566")
    );
    // An ambiguous prefix is refused with its candidates; a digest ignores how options were spelled.
    let err = refused(&p, "aws s3api list-objects-v2 --bucket b --max 5");
    assert!(
        err.to_string().contains("--max-items") && err.to_string().contains("--max-keys"),
        "{err}"
    );
    let err = refused(&p, "aws ec2 describe-instances --no");
    assert!(
        err.to_string().contains("ambiguous") && err.to_string().contains("--no-paginate"),
        "{err}"
    );
    assert_eq!(
        call(&p, "aws iam get-user --user bob").digest(),
        call(&p, "aws iam get-user --user-name bob").digest()
    );
}

#[test]
fn values_outside_the_pinned_models_enums_patterns_and_maxima_are_warnings() {
    let p = Parser::new(&DenyAll);
    // A newer instance type than the pinned model knows: sent, with a short warning (the closest
    // values, a handful of the others and how many there are; never all 1,400 of them).
    let c = call(
        &p,
        "aws ec2 run-instances --image-id ami-12345678 --instance-type t9.mega",
    );
    let w = c.warnings.join("\n");
    assert!(
        w.contains("t9.mega")
            && w.contains("did you mean t2.medium or t3.medium?")
            && w.contains(" more")
            && w.len() < 400,
        "{w}"
    );
    let c = call(
        &p,
        "aws sts assume-role --role-arn arn:aws:iam::123456789012:role/r --role-session-name 'has spaces'",
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("--role-session-name") && w.contains("pattern")),
        "{:?}",
        c.warnings
    );
    let c = call(&p, "aws dynamodb scan --table-name t --select EVERYTHING");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("EVERYTHING") && w.contains("ALL_ATTRIBUTES")),
        "{:?}",
        c.warnings
    );
    // What botocore itself refuses stays a refusal: below a minimum, wrong types, missing members.
    let err = refused(
        &p,
        "aws sts assume-role --role-arn arn:aws:iam::123456789012:role/r --role-session-name a",
    );
    assert!(err.has(ProblemKind::InvalidValue), "{err}");
}

#[test]
fn every_problem_is_reported_at_once_with_suggestions() {
    let p = Parser::new(&DenyAll);
    let err = refused(
        &p,
        "aws dynamodb scan --select EVERYTHING --limit none --tabel-name t --total-segments 0",
    );
    let kinds: Vec<ProblemKind> = err.problems.iter().map(|p| p.kind).collect();
    for k in [
        ProblemKind::UnknownOption,
        ProblemKind::InvalidType,
        ProblemKind::InvalidValue,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {err}");
    }
    // --table-name is what --tabel-name meant: not reported missing as well.
    assert!(!kinds.contains(&ProblemKind::MissingRequired), "{err}");
    assert!(
        err.problems
            .iter()
            .any(|p| p.suggestions.contains(&"--table-name".to_string())),
        "{err}"
    );

    let err = refused(&p, "aws ec3 describe-instances");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownService));
    assert!(
        err.problems[0].suggestions.contains(&"ec2".to_string()),
        "{err}"
    );
    let err = refused(&p, "aws ec2 describe-instanse");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOperation));
    assert!(
        err.problems[0]
            .suggestions
            .contains(&"describe-instances".to_string()),
        "{err}"
    );
    let err = refused(&p, "aws s3 website s3://bucket --index-document index.html");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
    assert!(err.to_string().contains("s3api"), "{err}");
    let err = refused(&p, "aws configure set region us-east-1");
    assert_eq!(err.kind(), Some(ProblemKind::Unsupported));
}

#[test]
fn nested_validation_names_the_path() {
    let p = Parser::new(&DenyAll);
    let err = refused(
        &p,
        "aws ec2 describe-instances --filters Name=a,Values=b,Bogus=c",
    );
    assert!(
        err.problems
            .iter()
            .any(|q| q.path.as_deref() == Some("--filters[0]")
                && q.kind == ProblemKind::UnknownOption),
        "{err:?}"
    );
    let err = refused(
        &p,
        r#"aws dynamodb put-item --table-name t --item '{"pk":{"S":1}}'"#,
    );
    assert!(
        err.problems
            .iter()
            .any(|q| q.path.as_deref() == Some("--item.pk.S")),
        "{err:?}"
    );
    // Patterns are matched against the whole value, as AWS services do (a warning, named by path).
    let c = call(
        &p,
        "aws sts assume-role --role-arn arn:aws:iam::123456789012:role/r --role-session-name 'has spaces'",
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("--role-session-name: ")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn bounds_hold_and_nothing_panics_on_hostile_input() {
    let p = Parser::new(&DenyAll).with_limits(Limits {
        max_command_bytes: 1024,
        max_words: 50,
    });
    let err = refused(&p, &format!("aws s3api list-buckets {}", "x".repeat(2000)));
    assert_eq!(err.kind(), Some(ProblemKind::TooLarge));
    let err = refused(
        &p,
        &format!("aws s3api list-buckets {}", "--debug ".repeat(60)),
    );
    assert_eq!(err.kind(), Some(ProblemKind::TooLarge));
    let p = Parser::new(&DenyAll);
    let deep = format!(
        "aws dynamodb put-item --table-name t --item '{}'",
        "{\"a\":".repeat(300) + &"}".repeat(300)
    );
    assert!(p.parse(&deep).is_err());
    let deep_shorthand = format!(
        "aws ec2 describe-instances --filters 'Name={}'",
        "{a=".repeat(500)
    );
    assert!(p.parse(&deep_shorthand).is_err());
}

#[test]
fn the_digest_follows_what_will_run() {
    let p = Parser::new(&DenyAll);
    let a = call(&p, "aws iam get-user --user-name a");
    let b = call(&p, "aws iam get-user --user-name=a");
    let c = call(&p, "aws iam get-user --user-name b");
    let d = call(&p, "aws iam get-user --user-name a --region eu-west-1");
    assert_eq!(a.digest(), b.digest());
    assert_ne!(a.digest(), c.digest());
    assert_ne!(a.digest(), d.digest());
    assert_eq!(a.digest().len(), 64);
}

/// A deterministic pseudo-random walk over the vocabulary of real commands: no input may panic.
#[test]
fn random_commands_never_panic() {
    let vocabulary = [
        "aws",
        "ec2",
        "s3api",
        "iam",
        "dynamodb",
        "describe-instances",
        "put-item",
        "get-user",
        "list-buckets",
        "--filters",
        "--instance-ids",
        "--item",
        "--table-name",
        "--user-name",
        "Name=a,Values=b",
        "{\"a\":1}",
        "[1,2]",
        "'quoted value'",
        "\"dq\"",
        "--region",
        "us-east-1",
        "--query",
        "--cli-input-json",
        "{}",
        "--generate-cli-skeleton",
        "file://x",
        "fileb://y",
        "--no-paginate",
        "--max-items",
        "0",
        "-1",
        "--",
        "=",
        "a=",
        "=b",
        "[",
        "{",
        "--debug",
        "--count",
        "2:x",
        "Key=a,Value=[b,c]",
        "--tags",
        "\\",
        "$",
        "'",
        "\"",
        "--consistent-read",
        "--no-consistent-read",
        "∆",
        "",
    ];
    let p = Parser::new(&DenyAll);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let starts = [
        "aws ec2 describe-instances",
        "aws s3api list-buckets",
        "aws iam get-user",
        "aws dynamodb put-item",
        "aws",
        "",
    ];
    let mut accepted = 0;
    for _ in 0..20_000 {
        let n = (next() % 8) as usize;
        let mut words: Vec<&str> = vec![starts[(next() % starts.len() as u64) as usize]];
        words.extend((0..n).map(|_| vocabulary[(next() % vocabulary.len() as u64) as usize]));
        let cmd = words.join(" ");
        if p.parse(&cmd).is_ok() {
            accepted += 1;
        }
    }
    assert!(accepted > 0, "the walk should hit some valid commands");
}
