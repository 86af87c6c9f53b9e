//! Reports over the hand-written exports in `tests/data`.

#![allow(clippy::unwrap_used)] // Test helpers: a broken fixture should fail the test loudly.

use portcullis_blast::{
    Access, AccessLevel, Category, Export, ExportError, Gate, Report, ReportError, Severity,
    render_html,
};

fn basic() -> Export {
    Export::parse(include_str!("data/basic.json")).unwrap()
}

fn report(who: &str) -> Report {
    Report::new(&basic(), who).unwrap()
}

fn cond(keys: &[&str]) -> Access {
    Access::Conditional {
        keys: keys.iter().map(|k| k.to_string()).collect(),
    }
}

#[test]
fn passrole_and_runinstances_is_an_escalation_path_naming_both_statements() {
    let r = report("launcher");
    let f = r.finding("privesc-passrole-ec2").expect("path found");
    assert_eq!(f.category, Category::PrivilegeEscalation);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.scope, Access::All);
    assert_eq!(f.actions, ["iam:PassRole", "ec2:RunInstances"]);
    let sids: Vec<_> = f.statements.iter().map(|g| g.sid.as_deref()).collect();
    assert_eq!(sids, [Some("PassAny"), Some("RunAny")]);
    assert!(f.statements.iter().all(|g| g.policy == "launch"));
    assert_eq!(
        f.statements.iter().map(|g| g.index).collect::<Vec<_>>(),
        [0, 1]
    );
    // PassRole alone is a resource-exposure finding; the lambda path needs more than PassRole.
    assert!(r.finding("expose-iam-pass-role").is_some());
    assert!(r.finding("privesc-passrole-lambda-invoke").is_none());
    assert_eq!(r.cell("ec2", AccessLevel::Write), Access::All);
    // The catalogue classes iam:PassRole as permissions management.
    assert_eq!(
        r.cell("iam", AccessLevel::PermissionsManagement),
        Access::All
    );
    assert_eq!(r.cell("iam", AccessLevel::Read), Access::None);
    assert_eq!(r.services.len(), 2);
}

#[test]
fn one_bucket_read_is_some_not_all_and_only_low_exfiltration() {
    let r = report("reader");
    assert_eq!(r.cell("s3", AccessLevel::Read), Access::Some);
    assert_eq!(r.cell("s3", AccessLevel::List), Access::None);
    assert_eq!(r.access("s3:GetObject"), Access::Some);
    // s3:Get* names GetBucketPolicy too, but the pattern names objects, not buckets.
    assert_eq!(r.access("s3:GetBucketPolicy"), Access::None);
    let f = r
        .finding("exfil-s3-get-object")
        .expect("narrow grant, low severity");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.scope, Access::Some);
    assert_eq!(f.resources, ["s3:GetObject: arn:aws:s3:::reports/*"]);
    assert!(
        r.findings
            .iter()
            .all(|f| f.severity < Severity::High || f.category != Category::DataExfiltration)
    );
}

#[test]
fn broad_read_is_high_severity_exfiltration() {
    let r = report("exfil");
    for id in [
        "exfil-s3-get-object",
        "exfil-secretsmanager-get-secret-value",
    ] {
        let f = r.finding(id).unwrap();
        assert_eq!(f.severity, Severity::High, "{id}");
        assert_eq!(f.scope, Access::All);
        assert_eq!(f.statements[0].sid.as_deref(), Some("AllObjects"));
    }
    assert!(r.finding("exfil-kms-decrypt").is_none());
}

#[test]
fn deny_removes_a_capability() {
    let r = report("denied");
    assert_eq!(r.access("ec2:RunInstances"), Access::None);
    assert_eq!(r.access("iam:PassRole"), Access::All);
    assert!(r.finding("privesc-passrole-ec2").is_none());
    assert!(r.finding("expose-iam-pass-role").is_some());
}

#[test]
fn permissions_boundary_limits() {
    let r = report("bounded");
    assert_eq!(r.cell("s3", AccessLevel::Write), Access::All);
    assert_eq!(
        r.cell("iam", AccessLevel::PermissionsManagement),
        Access::None
    );
    assert_eq!(r.cell("ec2", AccessLevel::Write), Access::None);
    assert!(r.services.iter().all(|s| s.prefix == "s3"));
    assert!(
        r.findings
            .iter()
            .all(|f| f.actions.iter().all(|a| a.starts_with("s3:")))
    );
    assert!(r.finding("destroy-s3-delete-bucket").is_some());
    assert!(r.gaps.is_empty());
}

#[test]
fn condition_makes_it_conditional_with_the_key() {
    let r = report("conditional");
    let keys = cond(&["aws:ResourceTag/env"]);
    assert_eq!(r.access("ec2:TerminateInstances"), keys);
    assert_eq!(r.cell("ec2", AccessLevel::Write), keys);
    let f = r.finding("destroy-ec2-terminate-instances").unwrap();
    assert_eq!(f.scope, keys);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.statements[0].sid.as_deref(), Some("TaggedOnly"));
}

#[test]
fn not_action_is_broad_access_to_everything_but_iam() {
    let r = report("poweruser");
    assert!(r.services.len() > 300, "{} services", r.services.len());
    assert!(r.services.iter().all(|s| s.prefix != "iam"));
    for svc in ["s3", "ec2", "lambda", "sts", "kms"] {
        let row = r.services.iter().find(|s| s.prefix == svc).unwrap();
        assert!(
            row.levels
                .iter()
                .all(|l| l.total == 0 || l.access == Access::All),
            "{svc}"
        );
    }
    assert_eq!(
        r.cell("iam", AccessLevel::PermissionsManagement),
        Access::None
    );
    assert!(r.finding("privesc-passrole-ec2").is_none());
    assert!(r.finding("privesc-ssm-send-command").is_some());
    assert!(r.finding("destroy-ec2-terminate-instances").is_some());
    let f = r.finding("exfil-s3-get-object").unwrap();
    assert_eq!(f.statements[0].policy, "PowerUser");
    assert_eq!(f.statements[0].sid.as_deref(), Some("AllButIam"));
}

#[test]
fn url_encoded_documents_parse() {
    let e = Export::parse(include_str!("data/encoded.json")).unwrap();
    let r = Report::new(&e, "arn:aws:iam::111122223333:role/encoded").unwrap();
    assert!(r.gaps.is_empty(), "{:?}", r.gaps);
    let f = r.finding("privesc-passrole-ec2").unwrap();
    let pols: Vec<_> = f.statements.iter().map(|g| g.policy.as_str()).collect();
    assert_eq!(pols, ["inline-enc", "EncRun"]);
}

#[test]
fn missing_managed_policy_and_group_are_gaps_and_group_policies_count() {
    let r = report("alice");
    let gap = r
        .gaps
        .iter()
        .find(|g| g.policy == "ReadOnlyAccess")
        .unwrap();
    assert_eq!(
        gap.arn.as_deref(),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
    );
    assert!(r.gaps.iter().any(|g| g.policy == "group ghosts"));
    assert_eq!(r.gaps.len(), 2);
    // Group inline policy.
    let f = r.finding("privesc-update-function-code").unwrap();
    assert_eq!(f.statements[0].policy, "devs/deploy");
    // Group managed policy: DeleteTable on dev-* tables only, so no destruction finding.
    assert_eq!(r.access("dynamodb:GetItem"), Access::Some);
    assert_eq!(r.access("dynamodb:DeleteTable"), Access::Some);
    assert!(r.finding("destroy-dynamodb-delete-table").is_none());
    // Own inline policy.
    assert_eq!(r.access("sqs:SendMessage"), Access::Some);
}

#[test]
fn unparsable_policy_is_a_gap_and_the_rest_still_counts() {
    let r = report("broken");
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].policy, "bad");
    assert!(r.gaps[0].reason.contains("does not parse"));
    assert_eq!(r.access("s3:GetObject"), Access::None);
    assert_eq!(r.access("sqs:ListQueues"), Access::All);
}

#[test]
fn through_a_gate_closing_writes_closes_destruction() {
    let r = report("destroyer");
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.category == Category::InfrastructureDestruction)
            .count(),
        3
    );
    let t = r.through(|action, level| {
        if level.is_read_only() {
            Gate::Open
        } else if action == "s3:DeleteBucket" {
            Gate::Consent
        } else {
            Gate::Closed(format!("{level} is not allowed"))
        }
    });
    let ec2 = t.finding("destroy-ec2-terminate-instances").unwrap();
    assert_eq!(
        ec2.gate,
        Gate::Closed("ec2:TerminateInstances: Write is not allowed".into())
    );
    assert_eq!(
        t.finding("destroy-s3-delete-bucket").unwrap().gate,
        Gate::Consent
    );
    let row = t.services.iter().find(|s| s.prefix == "ec2").unwrap();
    let write = row
        .levels
        .iter()
        .find(|l| l.cell.level == AccessLevel::Write)
        .unwrap();
    assert_eq!(write.cell.access, Access::All);
    assert_eq!((write.open, write.consent, write.closed), (0, 0, 1));
    assert_eq!(write.through, Access::None);
    let list = row
        .levels
        .iter()
        .find(|l| l.cell.level == AccessLevel::List)
        .unwrap();
    assert_eq!(list.through, Access::All);
    // A gate that opens everything leaves every finding open.
    let open = r.through(|_, _| Gate::Open);
    assert!(open.findings.iter().all(|f| f.gate == Gate::Open));
}

#[test]
fn escalation_path_is_closed_when_one_of_its_actions_is() {
    let r = report("launcher");
    let t = r.through(|action, _| {
        if action == "iam:PassRole" {
            Gate::Closed("no passing roles".into())
        } else {
            Gate::Open
        }
    });
    let f = t.finding("privesc-passrole-ec2").unwrap();
    assert!(matches!(&f.gate, Gate::Closed(r) if r.contains("no passing roles")));
    assert_eq!(f.per_action[1].gate, Gate::Open);
}

#[test]
fn html_escapes_input_and_loads_nothing() {
    let r = report("web");
    assert!(r.finding("creds-sts-assume-role").is_some());
    let t = r.through(|_, _| Gate::Closed("<no>".into()));
    for html in [
        render_html(&r, "Report <for> web"),
        render_html(&t, "Report <for> web"),
    ] {
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("Hop&quot;&lt;b&gt;"));
        assert!(html.contains("Report &lt;for&gt; web"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<link") && !html.contains("src="));
        assert!(html.contains("<td class=\"c all\""));
    }
    let gated = render_html(&t, "x");
    assert!(gated.contains("class=\"g closed\""));
    assert!(gated.contains("&lt;no&gt;"));
}

#[test]
fn json_has_stable_field_names() {
    let r = report("conditional");
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["principal"]["kind"], "role");
    assert_eq!(v["services"][0]["prefix"], "ec2");
    let write = &v["services"][0]["levels"][3];
    assert_eq!(write["level"], "Write");
    assert_eq!(write["scope"], "conditional");
    assert_eq!(write["keys"][0], "aws:ResourceTag/env");
    assert_eq!(write["allowed"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["id"], "destroy-ec2-terminate-instances");
    assert_eq!(f["category"], "infrastructure_destruction");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["statements"][0]["sid"], "TaggedOnly");
    assert_eq!(f["statements"][0]["index"], 0);
    let t = r.through(|_, _| Gate::Closed("no".into()));
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["findings"][0]["gate"], "closed");
    assert_eq!(v["findings"][0]["reason"], "ec2:TerminateInstances: no");
    assert_eq!(v["findings"][0]["per_action"][0]["gate"], "closed");
    assert_eq!(v["services"][0]["levels"][3]["gate"], "closed");
    assert_eq!(v["services"][0]["levels"][3]["through"]["scope"], "none");
}

#[test]
fn text_summary_shows_grid_findings_and_gaps() {
    let text = report("alice").to_string();
    assert!(text.contains("Blast radius of user alice"));
    assert!(text.contains("dynamodb"));
    assert!(text.contains("Findings ("));
    assert!(text.contains("ReadOnlyAccess"));
    let t = report("destroyer")
        .through(|_, l| {
            if l.is_read_only() {
                Gate::Open
            } else {
                Gate::Closed("w".into())
            }
        })
        .to_string();
    assert!(t.contains("ALLx"), "{t}");
    assert!(t.contains("gate: closed"));
}

#[test]
fn for_all_covers_users_and_roles() {
    let e = basic();
    let all = Report::for_all(&e);
    assert_eq!(all.len(), 11);
    assert_eq!(all[0].principal.name, "alice");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(matches!(
        Export::parse("not json"),
        Err(ExportError::Json(_))
    ));
    assert!(matches!(Export::parse("[]"), Err(ExportError::Json(_))));
    assert_eq!(Export::parse("{}").unwrap_err(), ExportError::NotAnExport);
    assert!(matches!(
        Export::parse(r#"{"RoleDetailList": [{"RoleName": "x"}]}"#),
        Err(ExportError::Json(m)) if m.contains("Arn")
    ));
    assert!(Export::parse(r#"{"RoleDetailList": 3}"#).is_err());
    let e = basic();
    assert_eq!(
        Report::new(&e, "nobody").unwrap_err(),
        ReportError::NotFound("nobody".into())
    );
    let odd = Export::parse(
        r#"{"RoleDetailList": [{"RoleName": "x", "Arn": "garbage", "RolePolicyList": [
            {"PolicyName": "p", "PolicyDocument": "%7Bnot json"}]}]}"#,
    )
    .unwrap();
    assert!(matches!(
        Report::new(&odd, "x"),
        Err(ReportError::BadArn { .. })
    ));
    let all = Report::for_all(&odd);
    assert_eq!(all.len(), 1);
    assert!(all[0].services.is_empty());
    assert_eq!(all[0].gaps.len(), 1);
}

#[test]
fn update_assume_role_policy_alone_escalates_in_the_same_account() {
    // The principal writes a trust policy naming itself; within the account that is enough for
    // sts:AssumeRole, which its own policies need not grant.
    let e = Export::parse(
        r#"{"RoleDetailList": [{"RoleName": "trust-editor",
            "Arn": "arn:aws:iam::111122223333:role/trust-editor", "RolePolicyList": [
            {"PolicyName": "edit-trust", "PolicyDocument": {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy",
                            "Resource": "arn:aws:iam::111122223333:role/*"}]}}]}]}"#,
    )
    .unwrap();
    let r = Report::new(&e, "trust-editor").unwrap();
    let f = r
        .finding("privesc-update-assume-role-policy")
        .expect("path found");
    assert_eq!(f.actions, ["iam:UpdateAssumeRolePolicy"]);
    assert_eq!(f.severity, Severity::Critical);
    assert!(r.finding("creds-sts-assume-role").is_none());
}
