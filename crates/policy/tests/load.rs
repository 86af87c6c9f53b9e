//! Loading: the awslabs file, the native form, precise errors, and patterns that cannot panic.

use portcullis_policy::{AccessLevel, Outcome, Policy, PolicyError, Request};

fn req(cli: &str, op: &str, service: &str, level: Option<AccessLevel>) -> Request {
    Request {
        service_cli_name: cli.into(),
        operation_cli_name: op.into(),
        service: service.into(),
        access_level: level,
        ..Request::default()
    }
}

const AWSLABS: &str = r#"{
  "version": "1.0",
  "policy": {
    "denyList": [
      "aws iam delete-user",
      "aws s3api delete-bucket",
      "aws deploy delete-application",
      "aws configservice delete-config-rule",
      "aws s3 rb"
    ],
    "elicitList": [
      "aws s3api put-object",
      "aws deploy create-deployment",
      "aws configservice put-config-rule",
      "aws s3 put-object"
    ]
  }
}"#;

#[test]
fn awslabs_file_as_is() {
    let p = Policy::from_awslabs_json(AWSLABS).unwrap();
    assert_eq!(p.mode(), portcullis_policy::Mode::Guarded);
    let w = Some(AccessLevel::Write);
    for (cli, op, svc, want, id) in [
        (
            "iam",
            "delete-user",
            "iam",
            Outcome::Deny,
            "awslabs.policy.denyList[0]",
        ),
        (
            "s3api",
            "delete-bucket",
            "s3",
            Outcome::Deny,
            "awslabs.policy.denyList[1]",
        ),
        (
            "deploy",
            "delete-application",
            "codedeploy",
            Outcome::Deny,
            "awslabs.policy.denyList[2]",
        ),
        (
            "configservice",
            "delete-config-rule",
            "config",
            Outcome::Deny,
            "awslabs.policy.denyList[3]",
        ),
        (
            "s3",
            "rb",
            "s3",
            Outcome::Deny,
            "awslabs.policy.denyList[4]",
        ),
        (
            "s3api",
            "put-object",
            "s3",
            Outcome::Consent,
            "awslabs.policy.elicitList[0]",
        ),
        (
            "deploy",
            "create-deployment",
            "codedeploy",
            Outcome::Consent,
            "awslabs.policy.elicitList[1]",
        ),
        (
            "configservice",
            "put-config-rule",
            "config",
            Outcome::Consent,
            "awslabs.policy.elicitList[2]",
        ),
        // Botocore names are not CLI names: `aws codedeploy ...` is not what the file says.
        (
            "iam",
            "delete-role",
            "iam",
            Outcome::Consent,
            "mode:guarded",
        ),
    ] {
        let d = p.decide(&req(cli, op, svc, w));
        assert_eq!(d.outcome, want, "{cli} {op}: {d:?}");
        assert!(d.rule_ids.iter().any(|r| r == id), "{cli} {op}: {d:?}");
    }
    // A listed read is denied even though guarded mode would run it.
    let d = p.decide(&req(
        "s3api",
        "delete-bucket",
        "s3",
        Some(AccessLevel::List),
    ));
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.reasons[0].contains("denyList"), "{d:?}");
    // Unlisted reads run, unlisted writes ask (the awslabs default).
    assert_eq!(
        p.decide(&req("iam", "list-users", "iam", Some(AccessLevel::List)))
            .outcome,
        Outcome::Allow
    );
}

#[test]
fn awslabs_s3_entries_cover_s3api() {
    let p =
        Policy::from_awslabs_json(r#"{"policy": {"denyList": ["aws s3 delete-object"]}}"#).unwrap();
    let d = p.decide(&req(
        "s3api",
        "delete-object",
        "s3",
        Some(AccessLevel::Write),
    ));
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
}

#[test]
fn awslabs_top_level_shapes() {
    for src in [
        r#"{"denylist": ["aws iam delete-user"], "elicitList": ["aws s3api put-object"]}"#,
        r#"{"denyList": ["aws iam delete-user"], "elicitList": ["aws s3api put-object"]}"#,
        r#"{"version": "1.0", "policy": {"denylist": ["aws iam delete-user"], "elicitList": ["aws s3api put-object"]}}"#,
    ] {
        let p = Policy::from_awslabs_json(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(
            p.decide(&req("iam", "delete-user", "iam", None)).outcome,
            Outcome::Deny,
            "{src}"
        );
        assert_eq!(
            p.decide(&req("s3api", "put-object", "s3", Some(AccessLevel::Write)))
                .outcome,
            Outcome::Consent,
            "{src}"
        );
    }
    // Empty lists and an empty file are valid: the awslabs default behaviour.
    for src in [
        r#"{"version": "1.0", "policy": {"denyList": [], "elicitList": []}}"#,
        "{}",
    ] {
        let p = Policy::from_awslabs_json(src).unwrap();
        assert!(p.rules().is_empty());
    }
}

fn parse_err(e: PolicyError) -> (usize, usize, String) {
    match e {
        PolicyError::Parse {
            line,
            column,
            message,
        } => (line, column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn invalid(e: PolicyError) -> Vec<portcullis_policy::Problem> {
    match e {
        PolicyError::Invalid { problems } => problems,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn awslabs_malformed_files() {
    // Not JSON: line and column of the fault.
    let (l, c, m) = parse_err(
        Policy::from_awslabs_json(
            "{\n  \"policy\": {\n    \"denyList\": [\"aws iam delete-user\",]\n  }\n}",
        )
        .unwrap_err(),
    );
    assert_eq!(l, 3, "{m}");
    assert!(c > 10, "{c} {m}");
    // Wrong type.
    let (l, _, m) = parse_err(
        Policy::from_awslabs_json("{\"policy\": {\n\"denyList\": \"aws iam delete-user\"}}")
            .unwrap_err(),
    );
    assert_eq!(l, 2);
    assert!(m.contains("invalid type"), "{m}");
    // Unknown (misspelt) key: refused rather than silently ignored.
    let (_, _, m) = parse_err(
        Policy::from_awslabs_json(r#"{"policy": {"denyLists": ["aws iam delete-user"]}}"#)
            .unwrap_err(),
    );
    assert!(m.contains("denyLists"), "{m}");
    // Bad entries: each named, with its line and column.
    let src = "{\"policy\": {\n  \"denyList\": [\n    \"aws iam delete-user\",\n    \"iam delete-user\",\n    \"aws IAM delete-user\",\n    \"aws s3 cp --recursive\"\n  ],\n  \"elicitList\": [\"\"]\n}}";
    let problems = invalid(Policy::from_awslabs_json(src).unwrap_err());
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert_eq!(
        (
            problems[0].path.as_str(),
            problems[0].line,
            problems[0].column
        ),
        ("policy.denyList[1]", Some(4), Some(5))
    );
    assert!(problems[0].message.contains("must start with `aws`"));
    assert_eq!(problems[1].line, Some(5));
    assert!(
        problems[1].message.contains("lowercase"),
        "{}",
        problems[1].message
    );
    assert!(
        problems[2].message.contains("options are not matched")
            || problems[2].message.contains("more than"),
        "{}",
        problems[2].message
    );
    assert_eq!(problems[3].path, "policy.elicitList[0]");
    let text = PolicyError::Invalid { problems }.to_string();
    assert!(text.contains("line 4, column 5"), "{text}");
    // Not an object at all.
    assert!(matches!(
        Policy::from_awslabs_json("[]"),
        Err(PolicyError::Parse { .. })
    ));
    assert!(matches!(
        Policy::from_awslabs_json(""),
        Err(PolicyError::Parse { .. })
    ));
}

#[test]
fn native_validation_is_precise() {
    // Unknown keys, at any level.
    for (src, key) in [
        (r#"{"mode": "guarded", "rulez": []}"#, "rulez"),
        (
            r#"{"rules": [{"id": "a", "effect": "deny", "command": ["aws iam *"]}]}"#,
            "command",
        ),
        (
            r#"{"global_options": {"allow_debugging": true}}"#,
            "allow_debugging",
        ),
        (r#"{"mode": "paranoid"}"#, "paranoid"),
        (
            r#"{"rules": [{"id": "a", "effect": "block", "commands": ["aws iam *"]}]}"#,
            "block",
        ),
    ] {
        let (_, _, m) = parse_err(Policy::from_json(src).unwrap_err());
        assert!(m.contains(key), "{src}: {m}");
    }
    let src = r#"{
  "rules": [
    {"id": "empty", "effect": "deny"},
    {"id": "dup", "effect": "deny", "commands": ["aws iam *"]},
    {"id": "dup", "effect": "allow", "actions": ["s3:Get?bject"]},
    {"id": "", "effect": "consent", "actions": ["DeleteUser"]}
  ],
  "services": [],
  "regions": ["EU-WEST-1"],
  "accounts": ["1234"],
  "global_options": {"endpoint_hosts": ["169.254.169.254", "https://x.example"]}
}"#;
    let problems = invalid(Policy::from_json(src).unwrap_err());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rules[0]",
            "rules[2].id",
            "rules[2].actions[0]",
            "rules[3].id",
            "rules[3].actions[0]",
            "services",
            "regions[0]",
            "accounts[0]",
            "global_options.endpoint_hosts[0]",
            "global_options.endpoint_hosts[1]",
        ],
        "{problems:#?}"
    );
    assert!(problems[0].message.contains("matches nothing"));
    assert!(problems[1].message.contains("duplicate"));
    assert!(problems[2].message.contains("`?` is not supported"));
    assert_eq!(problems[2].line, Some(5));
    assert!(problems[4].message.contains("no `:`"));
    assert!(problems[8].message.contains("link-local"));
    // Modes and effect synonyms.
    for m in [
        "read-only",
        "readonly",
        "read_only",
        "guarded",
        "unrestricted",
    ] {
        Policy::from_json(&format!(r#"{{"mode": "{m}"}}"#)).unwrap();
    }
    let p = Policy::from_json(
        r#"{"rules": [{"id": "e", "effect": "elicit", "commands": ["aws iam"]}]}"#,
    )
    .unwrap();
    assert_eq!(
        p.decide(&req("iam", "list-users", "iam", Some(AccessLevel::List)))
            .outcome,
        Outcome::Consent
    );
}

#[test]
fn load_file_detects_the_format() {
    let dir = std::env::temp_dir().join(format!("portcullis-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let awslabs = portcullis_policy::awslabs_policy_path(&dir);
    assert!(awslabs.ends_with(".aws/aws-api-mcp/mcp-security-policy.json"));
    std::fs::create_dir_all(awslabs.parent().unwrap()).unwrap();
    std::fs::write(&awslabs, AWSLABS).unwrap();
    let p = portcullis_policy::load_file(&awslabs).unwrap();
    assert_eq!(p.rules().len(), 9);
    let native = dir.join("native.json");
    std::fs::write(&native, r#"{"mode": "read-only"}"#).unwrap();
    assert_eq!(
        portcullis_policy::load_file(&native).unwrap().mode(),
        portcullis_policy::Mode::ReadOnly
    );
    assert!(matches!(
        portcullis_policy::load_file(&dir.join("missing.json")),
        Err(PolicyError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn merge_awslabs_into_native() {
    let mut p = Policy::from_json(r#"{"mode": "read-only"}"#).unwrap();
    p.merge_rules(Policy::from_awslabs_json(AWSLABS).unwrap())
        .unwrap();
    assert_eq!(
        p.decide(&req("s3api", "put-object", "s3", Some(AccessLevel::Write)))
            .outcome,
        Outcome::Consent
    );
    assert!(
        p.merge_rules(Policy::from_awslabs_json(AWSLABS).unwrap())
            .is_err()
    );
}

/// A small deterministic generator (xorshift), so the test needs no extra dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }
    fn string(&mut self, alphabet: &[&str], max: usize) -> String {
        let n = (self.next() % (max as u64 + 1)) as usize;
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn no_pattern_can_panic() {
    let alphabet = [
        "*", "*", "a", "s", "3", "-", ":", " ", "aws ", "iam", "Delete", "?", "é", "\u{0}", "\"",
        "\\", "[", ".",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut loaded = 0;
    for i in 0..3000 {
        let (cmd, act) = if i % 2 == 0 {
            (rng.string(&alphabet, 24), rng.string(&alphabet, 24))
        } else {
            // Well-formed, and often names that exist, so many policies load and get exercised
            // (a name that matches nothing is a load error).
            (
                format!(
                    "aws {} {}",
                    rng.pick(&["*", "iam", "s3", "s3api", "ec2", "s*", "*3", "2"]),
                    rng.pick(&[
                        "*",
                        "delete-*",
                        "*-user",
                        "get-*",
                        "delete-user",
                        "put-object",
                        "rm",
                        "get*object",
                        "2",
                    ])
                ),
                format!(
                    "{}:{}",
                    rng.pick(&["s3", "iam", "*", "s*", "ec"]),
                    rng.pick(&[
                        "*",
                        "Get*",
                        "*Object",
                        "Delete*",
                        "DeleteUser",
                        "GetObject",
                        "x*y",
                    ])
                ),
            )
        };
        let host = format!("a{}", rng.string(&["a", ".", "*", "-", "1"], 12));
        let region = if i % 2 == 0 {
            format!("eu{}", rng.string(&["eu", "-", "*", "1"], 8))
        } else {
            rng.pick(&["eu-west-1", "eu-*", "eu*", "*", "eu-west-9", "euwest"])
                .to_string()
        };
        let policy = serde_json::json!({
            "mode": "guarded",
            "rules": [
                {"id": "c", "effect": "deny", "commands": [cmd]},
                {"id": "a", "effect": "consent", "actions": [act]},
                {"id": "b", "effect": "allow", "commands": ["aws * *"], "actions": ["*"]},
            ],
            "regions": [region],
            "global_options": {"endpoint_hosts": [host]},
        })
        .to_string();
        let _ = Policy::from_awslabs_json(&format!(
            r#"{{"policy": {{"denyList": [{}]}}}}"#,
            serde_json::to_string(&cmd).unwrap()
        ));
        let Ok(p) = Policy::from_json(&policy) else {
            continue;
        };
        loaded += 1;
        for _ in 0..5 {
            let mut r = req(
                &rng.string(&alphabet, 10),
                &rng.string(&alphabet, 16),
                "x",
                None,
            );
            r.actions = vec![rng.string(&alphabet, 20), "s3:GetObject".into()];
            r.region = Some(rng.string(&alphabet, 10));
            r.global_options.endpoint_url = Some(format!("http://{}", rng.string(&alphabet, 16)));
            let d = p.decide(&r);
            assert!(!d.reasons.is_empty() && !d.rule_ids.is_empty());
        }
    }
    assert!(loaded > 100, "only {loaded} random policies loaded");
    // Pathological wildcards stay fast (no exponential backtracking): matching them, and finding
    // that they match no IAM action when the policy loads.
    let pathological = format!("s3:{}b", "a*".repeat(200));
    let p = portcullis_policy::ActionPattern::parse(&pathological).unwrap();
    let t = std::time::Instant::now();
    assert!(!p.matches(&format!("s3:{}", "a".repeat(5000))));
    let problems = invalid(
        Policy::from_json(&format!(
            r#"{{"rules": [{{"id": "x", "effect": "deny", "actions": ["{pathological}"]}}]}}"#
        ))
        .unwrap_err(),
    );
    assert!(problems[0].message.contains("matches no IAM action"));
    assert!(t.elapsed().as_secs() < 2);
    // Over-long patterns are a load error, not a slow rule.
    let long = format!(
        r#"{{"rules": [{{"id": "x", "effect": "deny", "actions": ["s3:{}"]}}]}}"#,
        "a".repeat(600)
    );
    assert!(
        invalid(Policy::from_json(&long).unwrap_err())[0]
            .message
            .contains("longer than")
    );
}
