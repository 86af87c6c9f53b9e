//! Table-driven decisions: modes × classifications × rules × global options, precedence, shadow.

use portcullis_policy::{AccessLevel, Outcome, Policy, Request};

use AccessLevel::*;
use Outcome::*;

fn req(cli: &str, op: &str, actions: &[&str], level: Option<AccessLevel>) -> Request {
    Request {
        service_cli_name: cli.into(),
        operation_cli_name: op.into(),
        service: match cli {
            "s3api" => "s3".into(),
            "deploy" => "codedeploy".into(),
            "configservice" => "config".into(),
            other => other.into(),
        },
        operation: op
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect(),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        access_level: level,
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        ..Request::default()
    }
}

fn list_buckets() -> Request {
    req(
        "s3api",
        "list-buckets",
        &["s3:ListAllMyBuckets"],
        Some(List),
    )
}
fn get_object() -> Request {
    req("s3api", "get-object", &["s3:GetObject"], Some(Read))
}
fn put_object() -> Request {
    req("s3api", "put-object", &["s3:PutObject"], Some(Write))
}
fn delete_object() -> Request {
    let mut r = req("s3api", "delete-object", &["s3:DeleteObject"], Some(Write));
    r.destructive = true;
    r
}
fn tag_bucket() -> Request {
    req(
        "s3api",
        "put-bucket-tagging",
        &["s3:PutBucketTagging"],
        Some(Tagging),
    )
}
fn put_role_policy() -> Request {
    req(
        "iam",
        "put-role-policy",
        &["iam:PutRolePolicy"],
        Some(PermissionsManagement),
    )
}
fn delete_user() -> Request {
    let mut r = req("iam", "delete-user", &["iam:DeleteUser"], Some(Write));
    r.destructive = true;
    r
}
fn unknown() -> Request {
    req("newsvc", "do-thing", &[], None)
}
fn get_secret() -> Request {
    let mut r = req(
        "secretsmanager",
        "get-secret-value",
        &["secretsmanager:GetSecretValue"],
        Some(Read),
    );
    r.returns_secret = true;
    r
}
fn assume_role() -> Request {
    let mut r = req("sts", "assume-role", &["sts:AssumeRole"], Some(Read));
    r.returns_credentials = true;
    r
}
fn ssm_decrypt() -> Request {
    let mut r = req(
        "ssm",
        "get-parameter",
        &["ssm:GetParameter", "kms:Decrypt"],
        Some(Read),
    );
    r.returns_secret = true;
    r
}
fn describe_instances() -> Request {
    req(
        "ec2",
        "describe-instances",
        &["ec2:DescribeInstances"],
        Some(List),
    )
}
fn terminate() -> Request {
    let mut r = req(
        "ec2",
        "terminate-instances",
        &["ec2:TerminateInstances"],
        Some(Write),
    );
    r.destructive = true;
    r
}
fn create_deployment() -> Request {
    req(
        "deploy",
        "create-deployment",
        &["codedeploy:CreateDeployment"],
        Some(Write),
    )
}
fn put_config_rule() -> Request {
    req(
        "configservice",
        "put-config-rule",
        &["config:PutConfigRule"],
        Some(Write),
    )
}

fn with(mut r: Request, f: impl FnOnce(&mut Request)) -> Request {
    f(&mut r);
    r
}

const RO: &str = r#"{"mode": "read-only"}"#;
const GU: &str = r#"{"mode": "guarded"}"#;
const UN: &str = r#"{"mode": "unrestricted"}"#;

const RULES: &str = r#"{
  "mode": "guarded",
  "rules": [
    {"id": "deny-iam-deletes", "effect": "deny", "commands": ["aws iam delete-*"], "reason": "IAM deletions need a ticket"},
    {"id": "deny-object-deletes", "effect": "deny", "actions": ["s3:Delete*"]},
    {"id": "consent-deploy", "effect": "consent", "commands": ["aws deploy *"]},
    {"id": "allow-s3-writes", "effect": "allow", "actions": ["s3:*Object"]},
    {"id": "allow-tagging", "effect": "allow", "commands": ["aws * put-*-tagging"]},
    {"id": "allow-describe", "effect": "allow", "commands": ["aws ec2 describe-*"]},
    {"id": "consent-secrets-allowed", "effect": "allow", "actions": ["ssm:GetParameter", "kms:Decrypt"]},
    {"id": "allow-sqs-send", "effect": "allow", "actions": ["sqs:SendMessage"]}
  ]
}"#;

const PRECEDENCE: &str = r#"{
  "mode": "unrestricted",
  "rules": [
    {"id": "allow-all-s3", "effect": "allow", "commands": ["aws s3api *"]},
    {"id": "consent-puts", "effect": "consent", "actions": ["s3:Put*"]},
    {"id": "deny-acl", "effect": "deny", "commands": ["aws s3api put-object-acl"]},
    {"id": "deny-any-delete", "effect": "deny", "commands": ["aws * delete-*"]},
    {"id": "consent-iam", "effect": "consent", "actions": ["IAM:*"]},
    {"id": "allow-iam-list", "effect": "allow", "actions": ["iam:List*"]}
  ]
}"#;

const LISTS: &str = r#"{
  "mode": "unrestricted",
  "services": ["s3api", "sts", "ec*"],
  "regions": ["eu-west-1", "us-*"],
  "accounts": ["123456789012"]
}"#;

const GLOBALS: &str = r#"{
  "mode": "unrestricted",
  "global_options": {"profiles": ["dev"], "endpoint_hosts": ["minio.internal", "*.test.example"]}
}"#;

const GLOBALS_OPEN: &str = r#"{
  "mode": "unrestricted",
  "global_options": {"allow_debug": true, "allow_no_verify_ssl": true, "allow_no_sign_request": true}
}"#;

fn cases() -> Vec<(&'static str, &'static str, Request, Outcome, &'static str)> {
    vec![
        // --- modes × classifications ------------------------------------------------------
        ("ro list", RO, list_buckets(), Allow, "mode:read-only"),
        ("ro read", RO, get_object(), Allow, "mode:read-only"),
        ("ro write", RO, put_object(), Deny, "mode:read-only"),
        ("ro tagging", RO, tag_bucket(), Deny, "mode:read-only"),
        ("ro perms", RO, put_role_policy(), Deny, "mode:read-only"),
        ("ro unknown", RO, unknown(), Deny, "mode:read-only"),
        ("ro secret", RO, get_secret(), Consent, "mode:read-only"),
        ("ro creds", RO, assume_role(), Consent, "mode:read-only"),
        (
            "ro ssm decrypt",
            RO,
            ssm_decrypt(),
            Consent,
            "mode:read-only",
        ),
        (
            "ro destructive",
            RO,
            delete_object(),
            Deny,
            "mode:read-only",
        ),
        (
            "ro destructive read",
            RO,
            with(get_object(), |r| r.destructive = true),
            Deny,
            "mode:read-only",
        ),
        ("gu list", GU, list_buckets(), Allow, "mode:guarded"),
        ("gu read", GU, get_object(), Allow, "mode:guarded"),
        ("gu write", GU, put_object(), Consent, "mode:guarded"),
        ("gu tagging", GU, tag_bucket(), Consent, "mode:guarded"),
        ("gu perms", GU, put_role_policy(), Consent, "mode:guarded"),
        ("gu unknown", GU, unknown(), Consent, "mode:guarded"),
        ("gu secret", GU, get_secret(), Consent, "mode:guarded"),
        ("gu creds", GU, assume_role(), Consent, "mode:guarded"),
        ("gu destructive", GU, terminate(), Consent, "mode:guarded"),
        (
            "gu describe",
            GU,
            describe_instances(),
            Allow,
            "mode:guarded",
        ),
        ("un list", UN, list_buckets(), Allow, "mode:unrestricted"),
        ("un write", UN, put_object(), Allow, "mode:unrestricted"),
        (
            "un perms",
            UN,
            put_role_policy(),
            Allow,
            "mode:unrestricted",
        ),
        ("un unknown", UN, unknown(), Allow, "mode:unrestricted"),
        ("un secret", UN, get_secret(), Allow, "mode:unrestricted"),
        (
            "un destructive",
            UN,
            terminate(),
            Allow,
            "mode:unrestricted",
        ),
        // --- rules --------------------------------------------------------------------------
        (
            "rule cmd deny iam delete",
            RULES,
            delete_user(),
            Deny,
            "deny-iam-deletes",
        ),
        (
            "rule action deny object delete",
            RULES,
            delete_object(),
            Deny,
            "deny-object-deletes",
        ),
        (
            "rule action deny batch delete",
            RULES,
            req("s3api", "delete-objects", &["s3:DeleteObject"], Some(Write)),
            Deny,
            "deny-object-deletes",
        ),
        (
            "rule action deny bucket delete",
            RULES,
            req("s3api", "delete-bucket", &["s3:DeleteBucket"], Some(Write)),
            Deny,
            "deny-object-deletes",
        ),
        (
            "rule action case-insensitive",
            RULES,
            req("s3api", "delete-object", &["S3:DELETEOBJECT"], Some(Write)),
            Deny,
            "deny-object-deletes",
        ),
        (
            "rule consent deploy (cli name)",
            RULES,
            create_deployment(),
            Consent,
            "consent-deploy",
        ),
        (
            "rule consent deploy read",
            RULES,
            req(
                "deploy",
                "get-deployment",
                &["codedeploy:GetDeployment"],
                Some(Read),
            ),
            Consent,
            "consent-deploy",
        ),
        (
            "rule allow s3 object write",
            RULES,
            put_object(),
            Allow,
            "allow-s3-writes",
        ),
        (
            "rule allow does not catch acl",
            RULES,
            req(
                "s3api",
                "put-object-acl",
                &["s3:PutObjectAcl"],
                Some(PermissionsManagement),
            ),
            Consent,
            "mode:guarded",
        ),
        (
            "rule allow tagging glob",
            RULES,
            tag_bucket(),
            Allow,
            "allow-tagging",
        ),
        (
            "rule allow describe",
            RULES,
            describe_instances(),
            Allow,
            "allow-describe",
        ),
        (
            "rule allow overrides secret consent",
            RULES,
            ssm_decrypt(),
            Allow,
            "consent-secrets-allowed",
        ),
        // An allow covers a request only when it covers every action it needs, as IAM does.
        (
            "rule allow needs every action",
            RULES,
            req(
                "sqs",
                "send-message",
                &["sqs:SendMessage", "kms:GenerateDataKey"],
                Some(Write),
            ),
            Consent,
            "mode:guarded",
        ),
        (
            "rule allow all actions",
            RULES,
            req("sqs", "send-message", &["sqs:SendMessage"], Some(Write)),
            Allow,
            "allow-sqs-send",
        ),
        (
            "rule no match falls to mode",
            RULES,
            put_config_rule(),
            Consent,
            "mode:guarded",
        ),
        (
            "rule cmd case-sensitive",
            RULES,
            req("IAM", "delete-user", &[], Some(Write)),
            Consent,
            "mode:guarded",
        ),
        (
            "rule iam other op",
            RULES,
            req("iam", "create-user", &["iam:CreateUser"], Some(Write)),
            Consent,
            "mode:guarded",
        ),
        // --- precedence ---------------------------------------------------------------------
        (
            "prec deny beats consent and allow",
            PRECEDENCE,
            req(
                "s3api",
                "put-object-acl",
                &["s3:PutObjectAcl"],
                Some(PermissionsManagement),
            ),
            Deny,
            "deny-acl",
        ),
        (
            "prec consent beats allow",
            PRECEDENCE,
            put_object(),
            Consent,
            "consent-puts",
        ),
        (
            "prec allow beats mode",
            PRECEDENCE,
            get_object(),
            Allow,
            "allow-all-s3",
        ),
        (
            "prec deny any delete",
            PRECEDENCE,
            terminate(),
            Allow,
            "mode:unrestricted",
        ),
        (
            "prec deny any delete-*",
            PRECEDENCE,
            delete_user(),
            Deny,
            "deny-any-delete",
        ),
        (
            "prec deny any delete s3",
            PRECEDENCE,
            delete_object(),
            Deny,
            "deny-any-delete",
        ),
        (
            "prec consent beats allow (iam list)",
            PRECEDENCE,
            req("iam", "list-users", &["iam:ListUsers"], Some(List)),
            Consent,
            "consent-iam",
        ),
        (
            "prec configservice unmatched",
            PRECEDENCE,
            put_config_rule(),
            Allow,
            "mode:unrestricted",
        ),
        // --- allow-lists ----------------------------------------------------------------------
        ("lists in", LISTS, put_object(), Allow, "mode:unrestricted"),
        (
            "lists service glob",
            LISTS,
            describe_instances(),
            Allow,
            "mode:unrestricted",
        ),
        (
            "lists service out",
            LISTS,
            delete_user(),
            Deny,
            "allowlist:services",
        ),
        (
            "lists s3 high-level not listed",
            LISTS,
            with(req("s3", "ls", &["s3:ListBucket"], Some(List)), |r| {
                r.service = "s3".into()
            }),
            Deny,
            "allowlist:services",
        ),
        (
            "lists region out",
            LISTS,
            with(put_object(), |r| r.region = Some("ap-south-1".into())),
            Deny,
            "allowlist:regions",
        ),
        (
            "lists region glob",
            LISTS,
            with(put_object(), |r| r.region = Some("us-east-2".into())),
            Allow,
            "mode:unrestricted",
        ),
        (
            "lists region unknown",
            LISTS,
            with(put_object(), |r| r.region = None),
            Deny,
            "allowlist:regions",
        ),
        (
            "lists account out",
            LISTS,
            with(put_object(), |r| r.account = Some("999999999999".into())),
            Deny,
            "allowlist:accounts",
        ),
        (
            "lists account unknown",
            LISTS,
            with(put_object(), |r| r.account = None),
            Deny,
            "allowlist:accounts",
        ),
        // --- global options --------------------------------------------------------------------
        (
            "g profile refused by default",
            UN,
            with(list_buckets(), |r| {
                r.global_options.profile = Some("prod".into())
            }),
            Deny,
            "global:profile",
        ),
        (
            "g profile allowed",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.profile = Some("dev".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g profile not listed",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.profile = Some("prod".into())
            }),
            Deny,
            "global:profile",
        ),
        (
            "g endpoint loopback v4",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://127.0.0.1:4566".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint loopback 127/8",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://127.9.8.7".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint loopback v6",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://[::1]:9000/".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint localhost",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("https://LOCALHOST:4566".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint remote refused",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("https://evil.example.com".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint imds refused",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://169.254.169.254/latest".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint v6 link-local refused",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://[fe80::1]/".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint localhost lookalike",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://localhost.evil.com".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint userinfo trick",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("http://127.0.0.1@evil.com".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint not a url",
            UN,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("localhost:4566".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g endpoint allow-listed host",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("https://MINIO.internal:9000".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint allow-listed glob",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("https://s3.test.example".into())
            }),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g endpoint glob no suffix trick",
            GLOBALS,
            with(list_buckets(), |r| {
                r.global_options.endpoint_url = Some("https://s3.test.example.evil.com".into())
            }),
            Deny,
            "global:endpoint-url",
        ),
        (
            "g debug refused",
            UN,
            with(list_buckets(), |r| r.global_options.debug = true),
            Deny,
            "global:debug",
        ),
        (
            "g no-verify-ssl refused",
            UN,
            with(list_buckets(), |r| r.global_options.no_verify_ssl = true),
            Deny,
            "global:no-verify-ssl",
        ),
        (
            "g no-sign-request refused",
            UN,
            with(list_buckets(), |r| r.global_options.no_sign_request = true),
            Deny,
            "global:no-sign-request",
        ),
        (
            "g debug allowed",
            GLOBALS_OPEN,
            with(list_buckets(), |r| r.global_options.debug = true),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g no-verify-ssl allowed",
            GLOBALS_OPEN,
            with(list_buckets(), |r| r.global_options.no_verify_ssl = true),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g no-sign-request allowed",
            GLOBALS_OPEN,
            with(list_buckets(), |r| r.global_options.no_sign_request = true),
            Allow,
            "mode:unrestricted",
        ),
        (
            "g beats allow rule",
            RULES,
            with(put_object(), |r| r.global_options.debug = true),
            Deny,
            "global:debug",
        ),
        (
            "g in read-only read",
            RO,
            with(get_object(), |r| r.global_options.no_sign_request = true),
            Deny,
            "global:no-sign-request",
        ),
    ]
}

#[test]
fn decision_table() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, policy, request, want, rule) in &cases {
        let p = Policy::from_json(policy)
            .unwrap_or_else(|e| panic!("{name}: policy does not load: {e}"));
        let d = p.decide(request);
        if d.outcome != *want || !d.rule_ids.iter().any(|r| r == rule) || d.reasons.is_empty() {
            failures.push(format!("{name}: want {want:?} by {rule}, got {d:?}"));
        }
        // Not in shadow mode: enforced equals decided.
        assert_eq!(p.decide_enforced(request), d, "{name}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn deny_reports_every_cause() {
    let p = Policy::from_json(LISTS).unwrap();
    let r = with(delete_user(), |r| {
        r.region = Some("ap-east-1".into());
        r.global_options.debug = true;
        r.global_options.profile = Some("x".into());
    });
    let d = p.decide(&r);
    assert_eq!(d.outcome, Deny);
    for id in [
        "global:profile",
        "global:debug",
        "allowlist:services",
        "allowlist:regions",
    ] {
        assert!(d.rule_ids.iter().any(|r| r == id), "{id} missing in {d:?}");
    }
    assert_eq!(d.reasons.len(), d.rule_ids.len());
}

#[test]
fn reasons_are_actionable() {
    let p = Policy::from_json(RULES).unwrap();
    let d = p.decide(&delete_user());
    assert!(d.reasons[0].contains("aws iam delete-*"), "{d:?}");
    assert!(
        d.reasons[0].contains("IAM deletions need a ticket"),
        "{d:?}"
    );
    let d = p.decide(&delete_object());
    assert!(
        d.reasons[0].contains("s3:DeleteObject") && d.reasons[0].contains("s3:Delete*"),
        "{d:?}"
    );
    let d = Policy::from_json(GU).unwrap().decide(&put_object());
    assert!(d.reasons[0].contains("allow rule"), "{d:?}");
    let d = Policy::from_json(UN)
        .unwrap()
        .decide(&with(list_buckets(), |r| {
            r.global_options.profile = Some("prod".into())
        }));
    assert!(d.reasons[0].contains("global_options.profiles"), "{d:?}");
    let d = Policy::from_json(RO).unwrap().decide(&unknown());
    assert!(d.reasons[0].contains("unknown"), "{d:?}");
}

#[test]
fn shadow_mode_allows_and_records() {
    let mut p = Policy::from_json(RULES).unwrap();
    p.set_shadow(true);
    let d = p.decide_enforced(&delete_user());
    assert_eq!(d.outcome, Allow);
    assert_eq!(d.would_have, Some(Deny));
    assert!(d.rule_ids.contains(&"deny-iam-deletes".to_string()));
    assert!(d.reasons[0].starts_with("shadow mode"));
    let d = p.decide_enforced(&create_deployment());
    assert_eq!((d.outcome, d.would_have), (Allow, Some(Consent)));
    let d = p.decide_enforced(&list_buckets());
    assert_eq!((d.outcome, d.would_have), (Allow, None));
    // decide() itself is never shadowed.
    assert_eq!(p.decide(&delete_user()).outcome, Deny);

    let p = Policy::from_json(r#"{"mode": "read-only", "shadow": true}"#).unwrap();
    assert!(p.shadow());
    let d = p.decide_enforced(&put_object());
    assert_eq!((d.outcome, d.would_have), (Allow, Some(Deny)));
}

#[test]
fn decisions_serialize() {
    let d = Policy::default().decide(&put_object());
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["outcome"], "consent");
    assert_eq!(v["rule_ids"][0], "mode:guarded");
    assert!(v.get("would_have").is_none());
}

/// Every read with side effects asks in read-only and guarded modes (or is denied, when it is
/// not a read), and never runs without a rule; an explicit allow rule runs it.
#[test]
fn side_effect_reads_never_run_unasked() {
    for (service, op, _) in portcullis_classify::flags::SIDE_EFFECTS {
        let c = portcullis_classify::classify(service, op, &serde_json::json!({}));
        // Event-stream operations (`logs StartLiveTail`) have no CLI form of their own.
        let (cli, cli_op) = portcullis_classify::cli_form(service, op).unwrap_or_else(|| {
            (
                service.to_string(),
                portcullis_model::naming::xform_name(op),
            )
        });
        let req = Request {
            service_cli_name: cli.clone(),
            operation_cli_name: cli_op.clone(),
            service: service.to_string(),
            operation: op.to_string(),
            actions: c.all_actions().cloned().collect(),
            access_level: c.access_level,
            side_effects: c.flags.side_effects,
            destructive: c.flags.destructive,
            returns_secret: c.flags.returns_secret,
            returns_credentials: c.flags.returns_credentials,
            ..Request::default()
        };
        for mode in ["read-only", "guarded"] {
            let d = Policy::from_json(&format!(r#"{{"mode": "{mode}"}}"#))
                .unwrap()
                .decide(&req);
            assert_ne!(d.outcome, Allow, "{mode} {service} {op}: {d:?}");
            let allow = Policy::from_json(&format!(r#"{{"mode": "{mode}", "rules": [{{"id": "ok", "effect": "allow", "commands": ["aws {cli} {cli_op}"]}}]}}"#)).unwrap();
            assert_eq!(
                allow.decide(&req).outcome,
                Allow,
                "{mode} {service} {op} with an allow rule"
            );
        }
    }
}
