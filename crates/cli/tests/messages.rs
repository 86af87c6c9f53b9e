//! The messages a person reads, as a person reads them: short, saying what is wrong and what to
//! do, and one problem reported once (not again as its consequences).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use portcullis_cli::{Command, CommandError, DenyAll, OperationCall, Parser, ProblemKind};

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
fn an_enum_warning_is_short_with_the_closest_values_and_a_count() {
    let p = Parser::new(&DenyAll);
    let c = call(
        &p,
        "aws ec2 run-instances --instance-type t9.mega --image-id ami-1",
    );
    assert_eq!(
        c.warnings,
        [
            "--instance-type: value \"t9.mega\" is not in the pinned model's list (did you mean \
             t2.medium or t3.medium?); it lists 1405 values: a1.medium, a1.large, a1.xlarge, \
             a1.2xlarge, a1.4xlarge and 1400 more. Sent as given: the service decides"
        ]
    );
    assert!(c.warnings[0].len() < 400);
    // A typo finds its value; a different case finds it alone.
    for (given, meant) in [
        ("t3.mediun", "(did you mean t3.medium or t3a.medium?)"),
        ("T3.MEDIUM", "(did you mean t3.medium?)"),
    ] {
        let c = call(
            &p,
            &format!("aws ec2 run-instances --instance-type {given}"),
        );
        assert!(c.warnings[0].contains(meant), "{:?}", c.warnings);
    }
    // Nothing close: no suggestion, still short.
    let c = call(&p, "aws ec2 run-instances --instance-type zzzzzzz");
    assert!(
        !c.warnings[0].contains("did you mean") && c.warnings[0].len() < 300,
        "{:?}",
        c.warnings
    );
    // A short enum is quoted whole.
    let c = call(
        &p,
        "aws ec2 create-volume --availability-zone a --volume-type gp4",
    );
    assert_eq!(
        c.warnings,
        [
            "--volume-type: value \"gp4\" is not in the pinned model's list (did you mean gp2 or \
             gp3?); it lists standard, io1, io2, gp2, sc1, st1, gp3. Sent as given: the service \
             decides"
        ]
    );
    let c = call(
        &p,
        "aws dynamodb scan --table-name t --select all_attribute",
    );
    assert!(
        c.warnings[0].contains("(did you mean ALL_ATTRIBUTES?)"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn an_unknown_or_ambiguous_option_is_not_also_reported_missing() {
    let p = Parser::new(&DenyAll);
    let err = refused(&p, "aws s3api create-bucket --buck b");
    assert_eq!(
        err.to_string(),
        "--buck: ambiguous option: it could be --bucket or --bucket-namespace; write it in full"
    );
    let err = refused(&p, "aws sqs send-message --queue-url u --mesage-body b");
    assert_eq!(
        err.to_string(),
        "--mesage-body is not an option of aws sqs send-message (did you mean --message-body?)"
    );
    let err = refused(&p, "aws iam get-user-policy --user-name u --polcy-name p");
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].suggestions, ["--policy-name"]);
    // An unknown option that suggests nothing leaves a missing one missing.
    let err = refused(&p, "aws sqs send-message --queue-url u --foo b");
    assert!(err.has(ProblemKind::UnknownOption), "{err}");
    assert!(err.has(ProblemKind::MissingRequired), "{err}");
}

#[test]
fn a_value_that_cannot_be_read_is_not_also_reported_missing() {
    let p = Parser::new(&DenyAll);
    let err = refused(&p, "aws dynamodb put-item --table-name t --item '{bad'");
    assert_eq!(
        err.to_string(),
        "--item: invalid JSON: key must be a string at line 1 column 2; JSON received: {bad"
    );
    let err = refused(
        &p,
        "aws dynamodb put-item --table-name t --item file://item.json",
    );
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.kind(), Some(ProblemKind::BadFile));
    let err = refused(&p, "aws dynamodb put-item --table-name t --item");
    assert_eq!(err.to_string(), "--item needs a value");
    // Nor is the dash word the message shows attached reported as a stray word.
    let err = refused(&p, "aws s3api create-bucket --bucket -b");
    assert_eq!(
        err.to_string(),
        "--bucket needs a value; a value starting with - must be attached: --bucket=-b"
    );
    // Nothing --cli-input-json might have held is reported missing when it cannot be read.
    let err = refused(&p, "aws sqs send-message --cli-input-json '{bad'");
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.kind(), Some(ProblemKind::InvalidType));
}

#[test]
fn a_missing_required_option_says_what_to_add() {
    let p = Parser::new(&DenyAll);
    let err = refused(&p, "aws iam get-role");
    assert_eq!(
        err.to_string(),
        "--role-name: required, but not given; add --role-name <value>"
    );
    assert_eq!(err.problems[0].path.as_deref(), Some("--role-name"));
}

#[test]
fn a_command_without_an_operation_shows_the_most_used_ones() {
    let p = Parser::new(&DenyAll);
    let err = refused(&p, "aws s3api");
    assert_eq!(err.kind(), Some(ProblemKind::UnknownOperation));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "no operation given; write aws s3api <operation> [options]. Most used: list-buckets, \
             list-objects-v2, get-object, put-object, head-object, delete-object (of "
        ) && text.ends_with(" operations; find the others with suggest_aws_commands)"),
        "{text}"
    );
    for (cmd, first) in [
        ("ec2", "describe-instances"),
        ("iam", "list-roles"),
        ("lambda", "list-functions"),
        ("dynamodb", "list-tables"),
        ("sqs", "list-queues"),
        ("sns", "list-topics"),
        ("sts", "get-caller-identity"),
        ("logs", "describe-log-groups"),
        ("cloudformation", "describe-stacks"),
        ("rds", "describe-db-instances"),
        ("ecs", "list-clusters"),
        ("ssm", "get-parameter"),
        ("secretsmanager", "get-secret-value"),
        ("kms", "list-keys"),
    ] {
        let text = refused(&p, &format!("aws {cmd}")).to_string();
        assert!(text.contains(&format!("Most used: {first}, ")), "{text}");
    }
    // Others: their list- operations first, the shortest (most general) first.
    let text = refused(&p, "aws kafka").to_string();
    assert!(text.contains("Most used: list-"), "{text}");
    assert!(text.len() < 400, "{text}");
}

#[test]
fn a_new_bucket_name_is_checked_against_the_s3_naming_rules() {
    let p = Parser::new(&DenyAll);
    let warned = |cmd: &str| call(&p, cmd).warnings;
    assert_eq!(
        warned("aws s3api create-bucket --bucket a"),
        [
            "--bucket: \"a\" is not a valid name for a new bucket: it has 1 character, a name needs 3 to 63. S3 will refuse it"
        ]
    );
    for (name, why) in [
        ("My_Bucket", "'M', '_' and 'B' are not allowed"),
        ("bucket-", "start and end with a lowercase letter or digit"),
        ("my..bucket", "two dots in a row"),
        ("192.168.5.4", "must not be an IP address"),
        ("xn--bucket", "the prefix \"xn--\" is reserved"),
        ("bucket-s3alias", "the suffix \"-s3alias\" is reserved"),
        ("bucket--ol-s3", "the suffix \"--ol-s3\" is reserved"),
        (
            &"b".repeat(64),
            "it has 64 characters, a name needs 3 to 63",
        ),
    ] {
        let w = warned(&format!("aws s3api create-bucket --bucket {name}"));
        assert!(w.len() == 1 && w[0].contains(why), "{name}: {w:?}");
    }
    for good in [
        "abc",
        "my-bucket.example.com",
        "b1-2.3",
        "my-bucket--usw2-az1--x-s3",
    ] {
        assert_eq!(
            warned(&format!("aws s3api create-bucket --bucket {good}")),
            Vec::<String>::new(),
            "{good}"
        );
    }
    // Only creating a bucket: an existing bucket may have an old-style name.
    assert!(warned("aws s3api list-objects-v2 --bucket My_Old_Bucket").is_empty());
    // `aws s3 mb` too.
    let Ok(Command::S3(s3)) = p.parse("aws s3 mb s3://a") else {
        panic!()
    };
    assert_eq!(
        s3.warnings,
        [
            "\"a\" is not a valid name for a new bucket: it has 1 character, a name needs 3 to 63. S3 will refuse it"
        ]
    );
    let Ok(Command::S3(s3)) = p.parse("aws s3 mb s3://fine-bucket") else {
        panic!()
    };
    assert!(s3.warnings.is_empty());
}
