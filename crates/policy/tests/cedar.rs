//! Cedar policies in the decide stage: effects, ids, precedence with native rules, and load errors
//! that name the file, line and column.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use portcullis_policy::{
    AccessLevel, CedarSource, Outcome, Policy, PolicyError, Request, flatten_parameters, load_file,
};
use serde_json::json;

fn req(
    cli: &str,
    op: &str,
    service: &str,
    operation: &str,
    actions: &[&str],
    level: Option<AccessLevel>,
) -> Request {
    Request {
        service_cli_name: cli.into(),
        operation_cli_name: op.into(),
        service: service.into(),
        operation: operation.into(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        access_level: level,
        ..Request::default()
    }
}

fn list_buckets(region: &str) -> Request {
    let mut r = req(
        "s3api",
        "list-buckets",
        "s3",
        "ListBuckets",
        &["s3:ListAllMyBuckets"],
        Some(AccessLevel::List),
    );
    r.region = Some(region.into());
    r
}

fn delete_object(bucket: &str, key: &str) -> Request {
    let mut r = req(
        "s3api",
        "delete-object",
        "s3",
        "DeleteObject",
        &["s3:DeleteObject"],
        Some(AccessLevel::Write),
    );
    r.destructive = true;
    r.region = Some("eu-west-1".into());
    r.resources = vec![format!("arn:aws:s3:::{bucket}/{key}")];
    r.parameters = flatten_parameters(&json!({"Bucket": bucket, "Key": key}));
    r
}

fn create_user() -> Request {
    let mut r = req(
        "iam",
        "create-user",
        "iam",
        "CreateUser",
        &["iam:CreateUser"],
        Some(AccessLevel::Write),
    );
    r.region = Some("eu-west-1".into());
    r
}

fn policy(mode: &str, rules: &str, cedar: &str) -> Result<Policy, PolicyError> {
    let doc = json!({"mode": mode, "rules": serde_json::from_str::<serde_json::Value>(rules).unwrap(), "cedar_policies": cedar});
    Policy::from_json(&serde_json::to_string_pretty(&doc).unwrap())
}

const REGIONS: &str = r#"
@id("eu-only")
forbid (principal, action, resource)
unless { context has region && ["eu-west-1", "eu-central-1"].contains(context.region) };
"#;

#[test]
fn forbid_on_region_denies_with_the_cedar_id() {
    let p = policy("unrestricted", "[]", REGIONS).unwrap();
    let d = p.decide(&list_buckets("ap-south-1"));
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert_eq!(d.rule_ids, ["eu-only"]);
    assert!(
        d.reasons[0].contains("Cedar policy `eu-only` forbids `aws s3api list-buckets`"),
        "{d:?}"
    );
    let d = p.decide(&list_buckets("eu-central-1"));
    assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
    assert_eq!(d.rule_ids, ["mode:unrestricted"]);
    // Unknown region: `context has region` is false, so the forbid applies.
    let mut r = list_buckets("x");
    r.region = None;
    assert_eq!(p.decide(&r).outcome, Outcome::Deny);
}

#[test]
fn forbid_on_a_resource_arn_prefix() {
    let p = policy(
        "unrestricted",
        "[]",
        r#"@id("no-prod-deletes") @reason("prod is changed by the pipeline")
           forbid (principal, action == Portcullis::Action::"s3:DeleteObject", resource)
           when { resource.arn like "arn:aws:s3:::prod-*" };"#,
    )
    .unwrap();
    let d = p.decide(&delete_object("prod-logs", "a/b.log"));
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert_eq!(d.rule_ids, ["no-prod-deletes"]);
    assert!(
        d.reasons[0].contains("arn:aws:s3:::prod-logs/a/b.log")
            && d.reasons[0].contains("prod is changed by the pipeline"),
        "{d:?}"
    );
    assert_eq!(
        p.decide(&delete_object("dev-logs", "a")).outcome,
        Outcome::Allow
    );
    // Another action on a prod ARN is not this policy's business.
    let mut get = delete_object("prod-logs", "a");
    get.actions = vec!["s3:GetObject".into()];
    assert_eq!(p.decide(&get).outcome, Outcome::Allow);
}

#[test]
fn conditions_on_parameters_flags_and_service_groups() {
    let p = policy(
        "unrestricted",
        "[]",
        r#"@id("no-secret-key") forbid (principal, action in Portcullis::Action::"s3:*", resource)
           when { context.parameters.contains("Key=secret.txt") };
           @id("destructive-ask") @consent permit (principal, action, resource) when { context.destructive };"#,
    )
    .unwrap();
    let d = p.decide(&delete_object("b", "secret.txt"));
    assert_eq!(
        (d.outcome, d.rule_ids.clone()),
        (Outcome::Deny, vec!["no-secret-key".to_string()]),
        "{d:?}"
    );
    let d = p.decide(&delete_object("b", "other.txt"));
    assert_eq!(
        (d.outcome, d.rule_ids.clone()),
        (Outcome::Consent, vec!["destructive-ask".to_string()]),
        "{d:?}"
    );
}

#[test]
fn consent_annotation_asks() {
    let p = policy(
        "unrestricted",
        "[]",
        r#"@id("iam-writes") @consent("IAM changes are reviewed")
           permit (principal, action in Portcullis::Action::"iam:*", resource) when { context.accessLevel == "Write" };"#,
    )
    .unwrap();
    let d = p.decide(&create_user());
    assert_eq!(d.outcome, Outcome::Consent, "{d:?}");
    assert_eq!(d.rule_ids, ["iam-writes"]);
    assert!(d.reasons[0].contains("requires consent"), "{d:?}");
    let list = req(
        "iam",
        "list-users",
        "iam",
        "ListUsers",
        &["iam:ListUsers"],
        Some(AccessLevel::List),
    );
    assert_eq!(p.decide(&list).rule_ids, ["mode:unrestricted"]);
}

#[test]
fn precedence_with_native_rules() {
    // A Cedar permit is an allow rule: it beats the mode's default, not a native deny or consent.
    let permit_iam =
        r#"@id("iam-ok") permit (principal, action in Portcullis::Action::"iam:*", resource);"#;
    let p = policy("read-only", "[]", permit_iam).unwrap();
    let d = p.decide(&create_user());
    assert_eq!(
        (d.outcome, d.rule_ids.clone()),
        (Outcome::Allow, vec!["iam-ok".to_string()]),
        "{d:?}"
    );

    let p = policy(
        "read-only",
        r#"[{"id": "iam-ask", "effect": "consent", "actions": ["iam:Create*"]}]"#,
        permit_iam,
    )
    .unwrap();
    let d = p.decide(&create_user());
    assert_eq!(
        (d.outcome, d.rule_ids.clone()),
        (Outcome::Consent, vec!["iam-ask".to_string()]),
        "{d:?}"
    );

    let p = policy(
        "unrestricted",
        r#"[{"id": "iam-no", "effect": "deny", "actions": ["iam:CreateUser"]}]"#,
        permit_iam,
    )
    .unwrap();
    assert_eq!(p.decide(&create_user()).rule_ids, ["iam-no"]);

    // A Cedar forbid beats a native allow rule and a Cedar consent; both deny ids are reported.
    let p = policy(
        "unrestricted",
        r#"[{"id": "s3-ok", "effect": "allow", "actions": ["s3:*"]}, {"id": "s3-no", "effect": "deny", "commands": ["aws s3api delete-*"]}]"#,
        &format!("{REGIONS}\n@id(\"ask\") @consent permit (principal, action, resource);"),
    )
    .unwrap();
    let mut r = delete_object("b", "k");
    r.region = Some("us-east-1".into());
    let d = p.decide(&r);
    assert_eq!(d.outcome, Outcome::Deny);
    assert_eq!(d.rule_ids, ["s3-no", "eu-only"]);
    let d = p.decide(&list_buckets("us-east-1"));
    assert_eq!(d.rule_ids, ["eu-only"]);
    let d = p.decide(&list_buckets("eu-west-1"));
    assert_eq!(
        (d.outcome, d.rule_ids.clone()),
        (Outcome::Consent, vec!["ask".to_string()]),
        "{d:?}"
    );

    // Shadow mode still allows, keeping the Cedar id.
    let mut p = policy("guarded", "[]", REGIONS).unwrap();
    p.set_shadow(true);
    let d = p.decide_enforced(&list_buckets("us-east-1"));
    assert_eq!(
        (d.outcome, d.would_have, d.rule_ids.clone()),
        (
            Outcome::Allow,
            Some(Outcome::Deny),
            vec!["eu-only".to_string()]
        )
    );
}

#[test]
fn unknown_actions_and_multiple_resources() {
    let p = policy(
        "unrestricted",
        "[]",
        r#"@id("no-unknown") forbid (principal, action == Portcullis::Action::"unknown", resource);
           @id("no-prod") forbid (principal, action, resource) when { resource.arn like "arn:aws:s3:::prod-*" };"#,
    )
    .unwrap();
    let d = p.decide(&req("newsvc", "do-thing", "newsvc", "DoThing", &[], None));
    assert_eq!(d.rule_ids, ["no-unknown"]);
    // Every resource is checked: one prod ARN among several denies.
    let mut r = delete_object("dev", "k");
    r.resources.push("arn:aws:s3:::prod-x/k".into());
    assert_eq!(p.decide(&r).rule_ids, ["no-prod"]);
}

/// (line, column, message) of each problem.
type Placed = Vec<(Option<usize>, Option<usize>, String)>;

fn cedar_problems(e: PolicyError) -> (String, Placed) {
    match e {
        PolicyError::Cedar { file, problems } => (
            file,
            problems
                .into_iter()
                .map(|p| (p.line, p.column, p.message))
                .collect(),
        ),
        other => panic!("expected a Cedar error, got {other:?}"),
    }
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = policy(
        "guarded",
        "[]",
        "@id(\"a\")\npermit (principal, action, resource);\n\n@id(\"b\")\nforbid (principal, action, resource) when { context.region == };\n",
    )
    .unwrap_err();
    let (file, problems) = cedar_problems(e);
    assert_eq!(file, "cedar_policies");
    assert_eq!(problems[0].0, Some(5), "{problems:?}");
    assert!(problems[0].2.contains("syntax error"), "{problems:?}");
}

#[test]
fn schema_violations_name_line_and_column() {
    // An attribute the context does not have.
    let e = policy(
        "guarded",
        "[]",
        "@id(\"a\")\nforbid (principal, action, resource)\nwhen { context.regoin == \"x\" };",
    )
    .unwrap_err();
    let (_, problems) = cedar_problems(e);
    assert_eq!(problems[0].0, Some(3), "{problems:?}");
    assert!(problems[0].2.contains("regoin"), "{problems:?}");
    // An optional attribute read without `has`.
    let e = policy(
        "guarded",
        "[]",
        "@id(\"a\")\nforbid (principal, action, resource)\nwhen { context.region == \"x\" };",
    )
    .unwrap_err();
    let (_, problems) = cedar_problems(e);
    assert_eq!(problems[0].0, Some(3), "{problems:?}");
    // A type error.
    let e = policy("guarded", "[]", "@id(\"a\")\nforbid (principal, action, resource)\nwhen { context.destructive == \"yes\" };").unwrap_err();
    assert_eq!(cedar_problems(e).1[0].0, Some(3));
    // An entity type the schema does not know.
    let e = policy(
        "guarded",
        "[]",
        "@id(\"a\")\nforbid (principal == User::\"x\", action, resource);",
    )
    .unwrap_err();
    assert_eq!(cedar_problems(e).1[0].0, Some(2));
}

#[test]
fn actions_are_checked_against_the_catalogue() {
    for (action, want) in [
        ("s3:DeleteObjekt", "not an IAM action"),
        ("s3:deleteobject", "write `s3:DeleteObject`"),
        ("s3:Delete*", "wildcard"),
        ("nosuchsvc:Thing", "not an IAM service prefix"),
    ] {
        let text = format!(
            "@id(\"a\")\nforbid (principal,\n  action == Portcullis::Action::\"{action}\", resource);"
        );
        let (_, problems) = cedar_problems(policy("guarded", "[]", &text).unwrap_err());
        assert_eq!(
            (problems[0].0, problems[0].1),
            (Some(3), Some(33)),
            "{action}: {problems:?}"
        );
        assert!(problems[0].2.contains(want), "{action}: {problems:?}");
    }
}

#[test]
fn ids_and_effects_are_checked() {
    let (_, p) = cedar_problems(
        policy("guarded", "[]", "permit (principal, action, resource);").unwrap_err(),
    );
    assert!(p[0].2.contains("@id"), "{p:?}");
    let (_, p) = cedar_problems(
        policy("guarded", "[]", "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") permit (principal, action, resource);").unwrap_err(),
    );
    assert!(p[0].2.contains("duplicate"), "{p:?}");
    assert_eq!(p[0].0, Some(1));
    let (_, p) = cedar_problems(
        policy(
            "guarded",
            "[]",
            "@id(\"a\") @consent forbid (principal, action, resource);",
        )
        .unwrap_err(),
    );
    assert!(p[0].2.contains("@consent"), "{p:?}");
    // A Cedar id may not reuse a native rule id.
    let e = policy(
        "guarded",
        r#"[{"id": "a", "effect": "deny", "actions": ["s3:*"]}]"#,
        "@id(\"a\") permit (principal, action, resource);",
    )
    .unwrap_err();
    assert!(e.to_string().contains("Cedar policy id `a`"), "{e}");
}

#[test]
fn cedar_files_load_relative_to_the_policy_file() {
    let dir = std::env::temp_dir().join(format!("portcullis-cedar-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/p.cedar"), REGIONS).unwrap();
    std::fs::write(
        dir.join("policy.json"),
        r#"{"mode": "guarded", "cedar": "sub/p.cedar"}"#,
    )
    .unwrap();
    let p = load_file(&dir.join("policy.json")).unwrap();
    assert_eq!(p.cedar().unwrap().ids().collect::<Vec<_>>(), ["eu-only"]);
    assert_eq!(p.decide(&list_buckets("us-east-1")).rule_ids, ["eu-only"]);

    std::fs::write(
        dir.join("sub/p.cedar"),
        "@id(\"x\")\nforbid (principal, action, resource)\n  when { context.nope };\n",
    )
    .unwrap();
    let e = load_file(&dir.join("policy.json")).unwrap_err();
    let shown = e.to_string();
    assert!(
        // The file as the policy names it, relative to the policy file's directory.
        shown.contains(&format!("{}:3:", dir.join("sub/p.cedar").display())),
        "{shown}"
    );
    // A missing Cedar file is an error naming it.
    std::fs::write(dir.join("policy.json"), r#"{"cedar": "missing.cedar"}"#).unwrap();
    let e = load_file(&dir.join("policy.json")).unwrap_err();
    assert!(e.to_string().contains("missing.cedar"), "{e}");
    // Inline errors are placed in the policy file's name.
    std::fs::write(dir.join("policy.json"), r#"{"cedar_policies": "@id(\"x\") forbid (principal, action, resource) when { context.nope };"}"#)
        .unwrap();
    let e = load_file(&dir.join("policy.json")).unwrap_err().to_string();
    assert!(e.contains("policy.json#cedar_policies:1:"), "{e}");
    // `cedar` and `cedar_policies` together, or `cedar` without a file reader, are refused.
    assert!(Policy::from_json(r#"{"cedar": "x.cedar"}"#).is_err());
    let both =
        Policy::from_json_with_cedar_file(r#"{"cedar": "x.cedar", "cedar_policies": ""}"#, |n| {
            Ok(CedarSource {
                name: n.into(),
                text: String::new(),
            })
        });
    assert!(both.is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shipped_examples_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cedar/examples");
    let p = load_file(&dir.join("policy.json")).unwrap();
    assert_eq!(
        p.cedar().unwrap().ids().collect::<Vec<_>>(),
        [
            "eu-regions-only",
            "no-prod-s3-deletes",
            "iam-writes-ask",
            "scratch-uploads"
        ]
    );
}

#[test]
fn merged_policies_keep_their_cedar() {
    let loaded = policy("guarded", "[]", REGIONS).unwrap();
    let mut p = Policy::new(portcullis_policy::Mode::ReadOnly);
    p.merge_rules(loaded).unwrap();
    assert_eq!(p.decide(&list_buckets("us-east-1")).rule_ids, ["eu-only"]);
}

#[test]
fn parameters_flatten_with_bounds() {
    let p = flatten_parameters(
        &json!({"InstanceIds": ["i-1", "i-2"], "DryRun": false, "Count": 3, "Tags": null}),
    );
    assert_eq!(
        p,
        [
            "InstanceIds=i-1",
            "InstanceIds=i-2",
            "DryRun=false",
            "Count=3"
        ]
    );
    let many: Vec<u32> = (0..10_000).collect();
    assert_eq!(
        flatten_parameters(&json!({"X": many})).len(),
        portcullis_policy::request::MAX_PARAMETERS
    );
}

/// Parameters cut at the bounds never open a hole: a `forbid` on parameters denies as if its
/// condition on the dropped part held, a consent asks, and a plain permit no longer allows.
#[test]
fn truncated_parameters_decide_as_if_the_rest_matched() {
    use portcullis_policy::{flatten_parameters_bounded, request::MAX_PARAMETERS};
    // More tags than are evaluated; the forbidden value sits beyond the cut.
    let mut tags: Vec<serde_json::Value> = (0..MAX_PARAMETERS + 10)
        .map(|i| serde_json::json!({"Key": format!("k{i}"), "Value": "ok"}))
        .collect();
    tags.push(serde_json::json!({"Key": "owner", "Value": "evil"}));
    let params = serde_json::json!({"Resources": ["i-1"], "Tags": tags});
    let (flat, truncated) = flatten_parameters_bounded(&params);
    assert!(
        truncated && flat.len() == MAX_PARAMETERS && !flat.iter().any(|p| p == "Tags.Value=evil")
    );
    let mut req = portcullis_policy::Request {
        service_cli_name: "ec2".into(),
        operation_cli_name: "create-tags".into(),
        service: "ec2".into(),
        operation: "CreateTags".into(),
        actions: vec!["ec2:CreateTags".into()],
        access_level: Some(portcullis_policy::AccessLevel::Tagging),
        parameters: flat,
        parameters_truncated: truncated,
        ..Default::default()
    };
    let policy = |cedar: &str| {
        let doc = serde_json::json!({"mode": "unrestricted", "cedar_policies": cedar});
        portcullis_policy::Policy::from_json(&doc.to_string()).unwrap()
    };
    let forbid = policy(
        r#"@id("no-evil") forbid(principal, action, resource) when { context.parameters.contains("Tags.Value=evil") };"#,
    );
    let d = forbid.decide(&req);
    assert_eq!(d.outcome, portcullis_policy::Outcome::Deny, "{d:?}");
    assert!(d.rule_ids.contains(&"no-evil".to_string()));
    let ask = policy(
        r#"@id("ask-evil") @consent permit(principal, action, resource) when { context.parameters.contains("Tags.Value=evil") };"#,
    );
    assert_eq!(
        ask.decide(&req).outcome,
        portcullis_policy::Outcome::Consent
    );
    let permit = portcullis_policy::Policy::from_json(
        &serde_json::json!({"mode": "guarded", "cedar_policies": r#"@id("ok-tags") permit(principal, action, resource) when { context.parameters.contains("Tags.Value=ok") };"#}).to_string(),
    )
    .unwrap();
    let d = permit.decide(&req);
    assert_eq!(
        d.outcome,
        portcullis_policy::Outcome::Consent,
        "a permit on parameters does not allow a truncated request: {d:?}"
    );
    // The same request within the bounds: decided on what it holds.
    req.parameters = vec!["Tags.Value=ok".into()];
    req.parameters_truncated = false;
    assert_eq!(
        forbid.decide(&req).outcome,
        portcullis_policy::Outcome::Allow
    );
    assert_eq!(
        permit.decide(&req).outcome,
        portcullis_policy::Outcome::Allow
    );
    // Policies that do not look at parameters are unaffected by the cut.
    req.parameters_truncated = true;
    let on_action = policy(
        r#"@id("no-tags") forbid(principal, action == Portcullis::Action::"ec2:DeleteTags", resource);"#,
    );
    assert_eq!(
        on_action.decide(&req).outcome,
        portcullis_policy::Outcome::Allow
    );
}

/// A long value is cut, and the cut counts as truncation (a suffix match could miss).
#[test]
fn long_values_mark_the_request_truncated() {
    use portcullis_policy::{flatten_parameters_bounded, request::MAX_PARAMETER_VALUE};
    let long = "x".repeat(MAX_PARAMETER_VALUE + 1);
    let (flat, truncated) = flatten_parameters_bounded(&serde_json::json!({"Name": long}));
    assert!(truncated);
    assert_eq!(flat[0].len(), "Name=".len() + MAX_PARAMETER_VALUE);
    let (_, truncated) = flatten_parameters_bounded(&serde_json::json!({"Name": "short"}));
    assert!(!truncated);
}
