//! Rule equivalence as a property: for every command that makes API operations other than the
//! one it names (the `aws s3` commands, and calls that need dependent actions), every rule form on
//! any of those operations — command string, wildcard, awslabs list, IAM action and action
//! wildcard, Cedar on the command and on the action — and every command rule on an operation
//! that stands for one of its IAM actions decides the command.
//!
//! The commands come from [`SAMPLES`]; [`every_customization_is_sampled_or_refused`] walks every
//! CLI customization in the embedded AWS CLI table, so a customization Portcullis starts to run
//! later fails that test until it has samples here, and is then covered by the property.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use portcullis_policy::{Outcome, Policy};

use super::{Assessment, Pipeline};

/// Commands that make API operations besides (or other than) the one they name.
const SAMPLES: &[&str] = &[
    "aws s3 ls",
    "aws s3 ls s3://bkt",
    "aws s3 ls s3://bkt/logs/ --recursive",
    "aws s3 mb s3://bkt",
    "aws s3 rb s3://bkt",
    "aws s3 rb s3://bkt --force",
    "aws s3 rm s3://bkt/k3",
    "aws s3 rm s3://bkt/logs/ --recursive",
    "aws s3 rm s3://bkt/logs/ --recursive --dryrun",
    "aws s3 presign s3://bkt/k",
    "aws s3 presign s3://bkt/k --expires-in 604800",
    "aws s3 cp f.txt s3://bkt/k",
    "aws s3 cp s3://bkt/k out.txt",
    "aws s3 cp s3://bkt/k s3://other/k",
    "aws s3 cp s3://bkt/logs/ out --recursive",
    "aws s3 cp s3://bkt/logs/ s3://other/logs/ --recursive",
    "aws s3 cp s3://bkt/k out.txt --dryrun",
    "aws s3 sync d s3://bkt --delete",
    "aws s3 sync s3://bkt d",
    "aws s3 sync s3://bkt d --delete --exclude '*.tmp'",
    "aws s3 sync s3://bkt/logs s3://other/logs --delete --size-only",
    "aws s3 mv s3://bkt/a s3://bkt/b",
    "aws s3 mv f.txt s3://bkt/f.txt",
    "aws s3 mv s3://bkt/logs/ out --recursive",
    // Calls whose dependent actions IAM checks too.
    "aws secretsmanager batch-get-secret-value --secret-id-list a b",
    "aws lambda create-function --function-name f --runtime python3.12 --handler h.h --role arn:aws:iam::123456789012:role/r --code S3Bucket=bkt,S3Key=k",
    "aws ec2 associate-iam-instance-profile --instance-id i-0123456789abcdef0 --iam-instance-profile Name=p",
    "aws ec2 run-instances --image-id ami-12345678 --iam-instance-profile Arn=arn:aws:iam::123456789012:instance-profile/p",
    "aws ecs register-task-definition --family f --task-role-arn arn:aws:iam::123456789012:role/t --container-definitions name=c,image=i",
    "aws cloudformation create-stack --stack-name s --template-body x --role-arn arn:aws:iam::123456789012:role/cfn",
    // Waiters: decided as the operation they poll.
    "aws ec2 wait instance-running --instance-ids i-0123456789abcdef0",
    "aws s3api wait bucket-exists --bucket bkt",
    "aws s3api wait object-not-exists --bucket bkt --key k",
    "aws dynamodb wait table-exists --table-name t",
    "aws iam wait role-exists --role-name r",
    "aws cloudformation wait stack-create-complete --stack-name s",
    // Token commands: decided as every call they make or sign, and as `rds-db:connect`.
    "aws eks get-token --cluster-name c",
    "aws eks get-token --cluster-name c --role-arn arn:aws:iam::123456789012:role/r",
    "aws ecr get-login-password",
    "aws rds generate-db-auth-token --hostname h --port 5432 --username u",
    // `cloudformation deploy`: decided as every call it may make, and `iam:PassRole` with a role.
    "aws cloudformation deploy --template-file template.json --stack-name s",
    "aws cloudformation deploy --template-file template.json --stack-name s --no-execute-changeset --parameter-overrides Name=x",
    "aws cloudformation deploy --template-file template.json --stack-name s --role-arn arn:aws:iam::123456789012:role/r --capabilities CAPABILITY_IAM",
];

/// The CLI-only commands Portcullis does not run yet, each with a command that must stay refused
/// (when one starts to run, move it to [`SAMPLES`]).
const REFUSED: &[(&str, &str, &str)] = &[(
    "s3",
    "website",
    "aws s3 website s3://bkt --index-document index.html",
)];

fn workdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-equivalence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.txt"), b"hello").unwrap();
    std::fs::write(
        dir.join("template.json"),
        br#"{"Parameters": {"Name": {"Type": "String", "Default": "n"}}, "Resources": {}}"#,
    )
    .unwrap();
    dir
}

fn assess(policy: Policy, dir: &std::path::Path, command: &str) -> Assessment {
    let p = Pipeline::offline(policy, dir.to_path_buf(), Some("us-east-1".into())).unwrap();
    match p.assess(command) {
        Ok(a) => a,
        Err(r) => panic!("{command}: {}", r.message),
    }
}

fn native(effect: &str, key: &str, value: &str) -> Policy {
    Policy::from_json(&format!(r#"{{"mode": "unrestricted", "rules": [{{"id": "r", "effect": "{effect}", "{key}": [{}]}}]}}"#, serde_json::json!(value)))
        .unwrap_or_else(|e| panic!("{key} {value}: {e}"))
}

fn awslabs(list: &str, entry: &str) -> Policy {
    Policy::from_awslabs_json(&format!(
        r#"{{"version": "1.0", "policy": {{"{list}": [{}]}}}}"#,
        serde_json::json!(entry)
    ))
    .unwrap()
}

fn cedar(condition: &str) -> Policy {
    let doc = serde_json::json!({"mode": "unrestricted", "cedar_policies": format!("@id(\"c\")\nforbid(principal, action, resource) when {{ {condition} }};")});
    Policy::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{condition}: {e}"))
}

fn cedar_action(action: &str) -> Policy {
    let doc = serde_json::json!({"mode": "unrestricted", "cedar_policies": format!("@id(\"c\")\nforbid(principal, action == Portcullis::Action::\"{action}\", resource);")});
    Policy::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// For each IAM action, the CLI forms of the operations of `service` that stand for it.
fn standing_for(
    service: &str,
    cache: &mut HashMap<String, HashMap<String, Vec<String>>>,
) -> HashMap<String, Vec<String>> {
    cache
        .entry(service.to_string())
        .or_insert_with(|| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            let model = portcullis_model::models().service(service).unwrap();
            for op in model.operations.keys() {
                if let (Some(a), Some((cmd, cli_op))) = (
                    portcullis_classify::own_action(service, op),
                    portcullis_classify::cli_form(service, op),
                ) {
                    map.entry(a.to_ascii_lowercase())
                        .or_default()
                        .push(format!("aws {cmd} {cli_op}"));
                }
            }
            map
        })
        .clone()
}

#[test]
fn every_rule_form_on_every_operation_decides_the_command() {
    let dir = workdir();
    let mut cache = HashMap::new();
    let mut checked = 0usize;
    let mut failures = Vec::new();
    let catalogue = portcullis_iam::catalogue();
    for command in SAMPLES {
        let base = assess(
            Policy::new(portcullis_policy::Mode::Unrestricted),
            &dir,
            command,
        );
        assert_eq!(
            base.decision.outcome,
            Outcome::Allow,
            "{command}: {:?}",
            base.decision
        );
        let ops = base.request.api_operations();
        if command.contains("--dryrun") && command.starts_with("aws s3 rm s3://bkt/k") {
            continue;
        }
        // The reasons name what matched: an API operation of the command, or an action it needs.
        let mut names: Vec<String> = ops.iter().map(|o| format!("`{}`", o.command())).collect();
        // Or the command as written, when a rule on its CLI command matches it (`aws ec2` decides `aws ec2 wait`).
        names.push(format!(
            "`aws {} {}`",
            base.request.service_cli_name, base.request.operation_cli_name
        ));
        names.extend(base.request.actions.iter().map(|a| format!("`{a}`")));
        let mut expect = |what: String, policy: Policy, want: Outcome, mention: &str| {
            let a = assess(policy, &dir, command);
            checked += 1;
            let named =
                |r: &String| r.contains(mention) || names.iter().any(|n| r.contains(n.as_str()));
            if a.decision.outcome != want {
                failures.push(format!(
                    "{command}: {what}: got {:?}, want {want:?} ({:?})",
                    a.decision.outcome, a.decision.reasons
                ));
            } else if !a.decision.reasons.iter().any(named) {
                failures.push(format!("{command}: {what}: reasons name neither `{mention}` nor an operation or action of the command: {:?}", a.decision.reasons));
            }
        };
        for op in &ops {
            let form = op.command();
            let (svc, name) = (&op.service_cli_name, &op.operation_cli_name);
            expect(
                format!("deny `{form}`"),
                native("deny", "commands", &form),
                Outcome::Deny,
                &form,
            );
            expect(
                format!("consent `{form}`"),
                native("consent", "commands", &form),
                Outcome::Consent,
                &form,
            );
            let prefix: String = name.chars().take(4).collect();
            expect(
                format!("deny `aws {svc} {prefix}*`"),
                native("deny", "commands", &format!("aws {svc} {prefix}*")),
                Outcome::Deny,
                &form,
            );
            expect(
                format!("deny `aws * {name}`"),
                native("deny", "commands", &format!("aws * {name}")),
                Outcome::Deny,
                &form,
            );
            expect(
                format!("deny `aws {svc}`"),
                native("deny", "commands", &format!("aws {svc}")),
                Outcome::Deny,
                &form,
            );
            expect(
                format!("awslabs denyList `{form}`"),
                awslabs("denyList", &form),
                Outcome::Deny,
                &form,
            );
            if base.request.access_level.is_some_and(|l| l.is_read_only())
                && !base.request.returns_credentials
                && !base.request.side_effects
            {
                expect(
                    format!("awslabs elicitList `{form}`"),
                    awslabs("elicitList", &form),
                    Outcome::Consent,
                    &form,
                );
            }
            expect(
                format!("cedar cliCommand == `{form}`"),
                cedar(&format!("context.cliCommand == \"{form}\"")),
                Outcome::Deny,
                "Cedar policy `c`",
            );
            expect(
                format!("cedar operation == `{}`", op.operation),
                cedar(&format!("context.operation == \"{}\"", op.operation)),
                Outcome::Deny,
                "Cedar policy `c`",
            );
            for action in &op.actions {
                expect(
                    format!("deny action `{action}`"),
                    native("deny", "actions", action),
                    Outcome::Deny,
                    action,
                );
                let (p, _) = action.split_once(':').unwrap();
                expect(
                    format!("deny action `{p}:*`"),
                    native("deny", "actions", &format!("{p}:*")),
                    Outcome::Deny,
                    action,
                );
                let canonical = catalogue
                    .action(action)
                    .map(|i| i.qualified_name())
                    .unwrap_or_else(|| action.clone());
                expect(
                    format!("cedar action `{canonical}`"),
                    cedar_action(&canonical),
                    Outcome::Deny,
                    "Cedar policy `c`",
                );
                // Every command rule on an operation that stands for this action (as IAM would).
                for other in standing_for(&op.service, &mut cache)
                    .get(&action.to_ascii_lowercase())
                    .into_iter()
                    .flatten()
                {
                    expect(
                        format!("deny `{other}` (stands for {action})"),
                        native("deny", "commands", other),
                        Outcome::Deny,
                        action,
                    );
                }
            }
        }
    }
    eprintln!(
        "rule equivalence: {checked} (command, rule form) cases over {} commands",
        SAMPLES.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 500, "{checked}");
}

/// The named walk-arounds of issue 10, as decisions.
#[test]
fn named_walkarounds_are_closed() {
    let dir = workdir();
    for (policy, command, want) in [
        (
            r#"{"denyList": ["aws s3api delete-object"]}"#,
            "aws s3 rm s3://bkt/k3",
            Outcome::Deny,
        ),
        (
            r#"{"denyList": ["aws s3api delete-object"]}"#,
            "aws s3api delete-objects --bucket bkt --delete Objects=[{Key=k}]",
            Outcome::Deny,
        ),
        (
            r#"{"denyList": ["aws s3api put-object"]}"#,
            "aws s3 cp f.txt s3://bkt/k",
            Outcome::Deny,
        ),
        (
            r#"{"denyList": ["aws s3api create-bucket"]}"#,
            "aws s3 mb s3://bkt",
            Outcome::Deny,
        ),
        (
            r#"{"denyList": ["aws secretsmanager get-secret-value"]}"#,
            "aws secretsmanager batch-get-secret-value --secret-id-list a",
            Outcome::Deny,
        ),
    ] {
        let a = assess(Policy::from_awslabs_json(policy).unwrap(), &dir, command);
        assert_eq!(
            a.decision.outcome, want,
            "{policy} / {command}: {:?}",
            a.decision.reasons
        );
    }
    for (rule, command) in [
        (
            r#"{"id": "r", "effect": "deny", "actions": ["secretsmanager:GetSecretValue"]}"#,
            "aws secretsmanager batch-get-secret-value --secret-id-list a",
        ),
        (
            r#"{"id": "r", "effect": "deny", "actions": ["iam:*"]}"#,
            "aws lambda create-function --function-name f --runtime python3.12 --handler h.h --role arn:aws:iam::123456789012:role/r --zip-file fileb://f.txt",
        ),
        (
            r#"{"id": "r", "effect": "deny", "actions": ["iam:*"]}"#,
            "aws ec2 associate-iam-instance-profile --instance-id i-0123456789abcdef0 --iam-instance-profile Name=p",
        ),
    ] {
        let policy =
            Policy::from_json(&format!(r#"{{"mode": "unrestricted", "rules": [{rule}]}}"#))
                .unwrap();
        let a = assess(policy, &dir, command);
        assert_eq!(
            a.decision.outcome,
            Outcome::Deny,
            "{rule} / {command}: {:?}",
            a.decision.reasons
        );
    }
}

/// Reads that act, and credential-minting commands, ask in read-only mode; an explicit allow
/// rule runs them.
#[test]
fn read_only_asks_before_reads_that_act_or_mint_credentials() {
    let dir = workdir();
    for (command, allow) in [
        (
            "aws sqs receive-message --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/q --visibility-timeout 43200",
            "aws sqs receive-message",
        ),
        (
            "aws logs start-query --log-group-name g --start-time 1 --end-time 2 --query-string x",
            "aws logs start-query",
        ),
        (
            "aws s3 presign s3://bkt/k --expires-in 604800",
            "aws s3 presign",
        ),
        ("aws ecr get-login-password", "aws ecr get-login-password"),
        ("aws eks get-token --cluster-name c", "aws eks get-token"),
    ] {
        for mode in ["read-only", "guarded"] {
            let policy = Policy::from_json(&format!(r#"{{"mode": "{mode}"}}"#)).unwrap();
            let a = assess(policy, &dir, command);
            assert_eq!(
                a.decision.outcome,
                Outcome::Consent,
                "{mode} {command}: {:?}",
                a.decision.reasons
            );
            let reasons = a.decision.reasons.join(" ");
            assert!(
                reasons.contains("side effects") || reasons.contains("credentials"),
                "{reasons}"
            );
            let policy = Policy::from_json(&format!(r#"{{"mode": "{mode}", "rules": [{{"id": "ok", "effect": "allow", "commands": ["{allow}"]}}]}}"#)).unwrap();
            assert_eq!(
                assess(policy, &dir, command).decision.outcome,
                Outcome::Allow,
                "{mode} {command} with an allow rule"
            );
        }
    }
}

/// Token commands whose IAM actions are more than reads — `eks get-token --role-arn` calls
/// `sts:AssumeRole` (Write), a database token stands for `rds-db:connect` (Permissions
/// management) — are denied in read-only mode, as `aws sts assume-role` is, and asked about in
/// guarded mode; an allow rule on the command or on the action runs them.
#[test]
fn token_commands_beyond_reads_are_denied_read_only_and_asked_guarded() {
    let dir = workdir();
    for (command, action) in [
        (
            "aws eks get-token --cluster-name c --role-arn arn:aws:iam::123456789012:role/r",
            "sts:AssumeRole",
        ),
        (
            "aws rds generate-db-auth-token --hostname h --port 5432 --username u",
            "rds-db:connect",
        ),
    ] {
        let a = assess(
            Policy::from_json(r#"{"mode": "read-only"}"#).unwrap(),
            &dir,
            command,
        );
        assert_eq!(
            a.decision.outcome,
            Outcome::Deny,
            "{command}: {:?}",
            a.decision.reasons
        );
        assert!(
            a.request.actions.iter().any(|x| x == action),
            "{command}: {:?}",
            a.request.actions
        );
        assert!(
            a.request.access_level.is_some() && a.request.returns_credentials,
            "{command}: {:?}",
            a.request
        );
        let a = assess(
            Policy::from_json(r#"{"mode": "guarded"}"#).unwrap(),
            &dir,
            command,
        );
        assert_eq!(
            a.decision.outcome,
            Outcome::Consent,
            "{command}: {:?}",
            a.decision.reasons
        );
        let display = a.display.clone();
        for rule in [
            format!(r#""commands": ["{display}"]"#),
            format!(r#""actions": ["{action}"]"#),
        ] {
            let policy = Policy::from_json(&format!(
                r#"{{"mode": "read-only", "rules": [{{"id": "ok", "effect": "allow", {rule}}}]}}"#
            ))
            .unwrap();
            let a = assess(policy, &dir, command);
            let want = if rule.contains("commands") || command.contains("rds") {
                Outcome::Allow
            } else {
                Outcome::Deny
            };
            assert_eq!(
                a.decision.outcome, want,
                "{command} with {rule}: {:?}",
                a.decision.reasons
            );
        }
    }
    // The database token is decided as `rds-db:connect` alone: a deny on it, or on `rds-db:*`, denies it.
    for rule in [
        r#""actions": ["rds-db:connect"]"#,
        r#""actions": ["rds-db:*"]"#,
        r#""commands": ["aws rds generate-db-auth-token"]"#,
    ] {
        let policy = Policy::from_json(&format!(
            r#"{{"mode": "unrestricted", "rules": [{{"id": "no", "effect": "deny", {rule}}}]}}"#
        ))
        .unwrap();
        let a = assess(
            policy,
            &dir,
            "aws rds generate-db-auth-token --hostname h --port 5432 --username u",
        );
        assert_eq!(a.decision.outcome, Outcome::Deny, "{rule}");
    }
}

/// Every CLI customization in the embedded AWS CLI table is either sampled above (so the property
/// covers it) or refused by the parser.
#[test]
fn every_customization_is_sampled_or_refused() {
    let dir = workdir();
    let p = Pipeline::offline(
        Policy::new(portcullis_policy::Mode::Unrestricted),
        dir,
        Some("us-east-1".into()),
    )
    .unwrap();
    let models = portcullis_model::models();
    let mut seen = 0;
    let mut unsampled = Vec::new();
    let mut subs: Vec<(String, String)> = Vec::new();
    for (name, c) in models.commands() {
        for sub in &c.custom_subcommands {
            subs.push((name.clone(), sub.clone()));
        }
        if let Some(service) = c.service.as_deref()
            && let Ok(cli) = models.service_cli(service)
        {
            for op in &cli.custom_operations {
                subs.push((name.clone(), op.clone()));
            }
        }
    }
    // Every service's `wait` runs the same code on its own waiters: covered by the sampled
    // waiters here, and each waiter parses (`every_waiter_parses_as_the_operation_it_polls`).
    let waiter_samples = SAMPLES
        .iter()
        .filter(|s| s.split_whitespace().nth(2) == Some("wait"))
        .count();
    assert!(waiter_samples >= 3, "{waiter_samples} waiter samples");
    for (name, sub) in subs {
        seen += 1;
        let sampled = SAMPLES.iter().any(|s| {
            s.starts_with(&format!("aws {name} {sub} ")) || **s == format!("aws {name} {sub}")
        });
        if sampled || sub == "wait" {
            continue;
        }
        let refused_example = REFUSED
            .iter()
            .find(|(c, s, _)| *c == name && *s == sub)
            .map(|(_, _, e)| e.to_string());
        let command = refused_example
            .clone()
            .unwrap_or_else(|| format!("aws {name} {sub}"));
        match p.assess(&command) {
            Err(r) if r.problems.to_string().contains("unsupported") || r.message.contains("not run") => {}
            Err(r) if refused_example.is_none() && r.problems.to_string().contains("unknown") => {}
            Ok(_) => unsampled.push(format!("`{command}` runs: add samples to SAMPLES")),
            Err(r) => unsampled.push(format!("`{command}` is not refused as unsupported ({}): it may run; add samples to SAMPLES", r.message)),
        }
    }
    assert!(seen > 20, "{seen}");
    assert!(unsampled.is_empty(), "{}", unsampled.join("\n"));
}

/// Every waiter of every service parses as a waiter whose one API call is the operation it polls
/// (with the required options filled in from the operation's skeleton; a value the model then
/// rejects is fine): none is unknown or unsupported, but the two whose operation the AWS CLI
/// offers only through a customization of its own.
#[test]
fn every_waiter_parses_as_the_operation_it_polls() {
    use portcullis_cli::{Command, Extra, ProblemKind};
    let dir = workdir();
    let policy = portcullis_cli::AllowAll::new(dir);
    let parser = portcullis_cli::Parser::new(&policy);
    let models = portcullis_model::models();
    let (mut waiters, mut parsed, mut invalid) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for (cmd, c) in models.commands() {
        let Some(service) = c.service.as_deref() else {
            continue;
        };
        let all = portcullis_cli::waiter::waiters(service).unwrap();
        for (name, spec) in &all {
            waiters += 1;
            let spec = spec.as_ref().unwrap();
            let base = format!(
                "aws {cmd} wait {}",
                portcullis_model::naming::xform_name(name)
            );
            let mut result = parser.parse(&base);
            if let Err(e) = &result
                && e.has(ProblemKind::MissingRequired)
            {
                // The required members, from the skeleton of the polled operation.
                let model = models.service(service).unwrap();
                let required = model
                    .input_shape(model.operation(&spec.operation).unwrap())
                    .map(|s| s.required.clone())
                    .unwrap_or_default();
                if let Ok(Command::Skeleton { skeleton, .. }) =
                    parser.parse(&format!("{base} --generate-cli-skeleton"))
                {
                    // Empty strings would fail minimum lengths: an ARN-like word instead.
                    fn fill(v: &mut serde_json::Value) {
                        match v {
                            serde_json::Value::String(s) if s.is_empty() => {
                                *s = "arn:aws:iam::123456789012:role/placeholder".into()
                            }
                            serde_json::Value::Array(a) => a.iter_mut().for_each(fill),
                            serde_json::Value::Object(m) => m.values_mut().for_each(fill),
                            _ => {}
                        }
                    }
                    let mut input: serde_json::Map<String, serde_json::Value> = skeleton
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| required.contains(*k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    input.values_mut().for_each(fill);
                    let json = serde_json::Value::Object(input)
                        .to_string()
                        .replace('\'', "");
                    result = parser.parse(&format!("{base} --cli-input-json '{json}'"));
                }
            }
            match result {
                Ok(Command::Extra(x)) => match &x.kind {
                    Extra::Wait(w)
                        if x.api_calls() == [(service.to_string(), spec.operation.clone())]
                            && w.waiter == *name =>
                    {
                        parsed += 1
                    }
                    _ => failures.push(format!("{base}: {:?}", x.api_calls())),
                },
                Ok(other) => failures.push(format!("{base}: parsed as {other:?}")),
                Err(e) if e.has(ProblemKind::Unsupported) => {
                    refused.push(format!("{service}.{name}"))
                }
                Err(e)
                    if e.has(ProblemKind::UnknownOperation)
                        || e.has(ProblemKind::UnknownService)
                        || e.has(ProblemKind::UnknownOption) =>
                {
                    failures.push(format!("{base}: {e}"))
                }
                Err(e) => {
                    assert!(
                        e.to_string().contains(&format!("aws {cmd} wait")),
                        "{base}: {e}"
                    );
                    invalid += 1;
                }
            }
        }
    }
    eprintln!(
        "waiters: {waiters}; {parsed} parsed as their operation, {invalid} refused on a placeholder value, refused: {refused:?}"
    );
    assert!(
        failures.is_empty(),
        "{} waiters do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(refused, ["emr.ClusterRunning", "emr.ClusterTerminated"]);
    assert!(
        waiters >= 350 && parsed * 10 >= waiters * 9,
        "{parsed} of {waiters} parsed"
    );
}

/// A waiter's arguments are its polled call's: Cedar conditions on resources and parameters see
/// them, as they see a plain call's.
#[test]
fn a_waiter_is_decided_on_its_arguments() {
    let dir = workdir();
    let doc = serde_json::json!({"mode": "unrestricted", "cedar_policies": r#"
@id("no-prod-buckets")
forbid (principal, action, resource) when { resource.arn like "arn:aws:s3:::prod-*" };
@id("no-table-t")
forbid (principal, action, resource) when { context.parameters.contains("TableName=secret-table") };
"#});
    let policy = || Policy::from_json(&doc.to_string()).unwrap();
    for (command, want) in [
        (
            "aws s3api wait bucket-exists --bucket prod-data",
            Outcome::Deny,
        ),
        (
            "aws s3api wait bucket-exists --bucket dev-data",
            Outcome::Allow,
        ),
        (
            "aws dynamodb wait table-exists --table-name secret-table",
            Outcome::Deny,
        ),
        (
            "aws dynamodb wait table-exists --table-name other",
            Outcome::Allow,
        ),
    ] {
        let a = assess(policy(), &dir, command);
        assert_eq!(
            a.decision.outcome, want,
            "{command}: {:?}",
            a.decision.reasons
        );
    }
}

/// Removing local files is destructive, though no API call says so.
#[test]
fn local_deletions_are_destructive() {
    let dir = workdir();
    std::fs::create_dir_all(dir.join("d")).unwrap();
    for (command, destructive) in [
        ("aws s3 mv f.txt s3://bkt/f.txt", true),
        ("aws s3 sync s3://bkt d --delete", true),
        ("aws s3 sync s3://bkt d", false),
        ("aws s3 cp f.txt s3://bkt/f.txt", false),
    ] {
        let a = assess(Policy::new(portcullis_policy::Mode::Guarded), &dir, command);
        assert_eq!(a.request.destructive, destructive, "{command}");
        if destructive {
            assert_eq!(
                a.decision.outcome,
                Outcome::Consent,
                "{command}: {:?}",
                a.decision.reasons
            );
        }
    }
}

/// `aws cloudformation deploy` is decided as every call it may make, and as `iam:PassRole` when
/// `--role-arn` passes a role.
#[test]
fn deploy_is_decided_as_its_calls_and_the_role_it_passes() {
    let dir = workdir();
    let plain = "aws cloudformation deploy --template-file template.json --stack-name s";
    let with_role = "aws cloudformation deploy --template-file template.json --stack-name s --role-arn arn:aws:iam::123456789012:role/r";
    let a = assess(
        Policy::new(portcullis_policy::Mode::Unrestricted),
        &dir,
        with_role,
    );
    assert!(
        a.request.actions.iter().any(|x| x == "iam:PassRole"),
        "{:?}",
        a.request.actions
    );
    assert!(
        a.request
            .actions
            .iter()
            .any(|x| x == "cloudformation:ExecuteChangeSet"),
        "{:?}",
        a.request.actions
    );
    let a = assess(
        Policy::new(portcullis_policy::Mode::Unrestricted),
        &dir,
        plain,
    );
    assert!(
        !a.request.actions.iter().any(|x| x == "iam:PassRole"),
        "{:?}",
        a.request.actions
    );
    let deny = |rule: &str| {
        Policy::from_json(&format!(
            r#"{{"mode": "unrestricted", "rules": [{{"id": "no", "effect": "deny", {rule}}}]}}"#
        ))
        .unwrap()
    };
    assert_eq!(
        assess(deny(r#""actions": ["iam:PassRole"]"#), &dir, with_role)
            .decision
            .outcome,
        Outcome::Deny
    );
    assert_eq!(
        assess(deny(r#""actions": ["iam:PassRole"]"#), &dir, plain)
            .decision
            .outcome,
        Outcome::Allow
    );
    assert_eq!(
        assess(
            deny(r#""commands": ["aws cloudformation execute-change-set"]"#),
            &dir,
            plain
        )
        .decision
        .outcome,
        Outcome::Deny
    );
    assert_eq!(
        assess(
            deny(r#""commands": ["aws cloudformation deploy"]"#),
            &dir,
            plain
        )
        .decision
        .outcome,
        Outcome::Deny
    );
    assert_eq!(
        assess(
            Policy::from_json(r#"{"mode": "read-only"}"#).unwrap(),
            &dir,
            plain
        )
        .decision
        .outcome,
        Outcome::Deny
    );
}
