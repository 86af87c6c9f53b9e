//! botocore's per-service endpoint tests (`endpoint-tests-1.json`, 28 services), run twice:
//!
//! - [`fixture_rule_sets`]: against the rule sets and partitions they were written for (botocore 1.43.70, whose
//!   tests are byte-identical to the fixtures; see `tests/data/fixture-rule-sets/SOURCE.txt`). This measures the
//!   evaluator itself, and every case must pass.
//! - [`pack_rule_sets`]: against the rule sets of OUR model pack, which is what Portcullis ships.
//!   The fixtures come from a newer botocore than the pack (1.43.62), so some cases legitimately disagree: those
//!   that set a parameter the pack's rule set does not declare yet (DynamoDB's `IsSearchOperation`), and the few
//!   listed in [`KNOWN_SKEW`]. On every case, this evaluator agrees with botocore 1.43.62's own `EndpointProvider`
//!   over the same rule sets (`pinned_oracle.rs`). Every failure is printed by name with its reason; any
//!   failure outside those two groups, or a pass count below the pinned one, fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

mod support;

use portcullis_endpoints::{Partitions, RuleSet};

/// Cases where the pack's rule set differs from the fixture's, and how.
const KNOWN_SKEW: &[(&str, &str)] = &[
    (
        r#"dynamodb: "{Endpoint=https://dynamodb.us-east-1.api.aws/, Region=us-east-1}""#,
        "the fixture's rule set refuses a dual-stack custom endpoint; the pack's returns it",
    ),
    (
        r#"iam: "For region cn-northwest-1 with FIPS enabled and DualStack enabled""#,
        "the fixture's rule set signs aws-cn IAM in cn-north-1; the pack's signs in the given region",
    ),
    (
        r#"iam: "For region cn-northwest-1 with FIPS enabled and DualStack disabled""#,
        "the fixture's rule set signs aws-cn IAM in cn-north-1; the pack's signs in the given region",
    ),
];

/// Measured: 2019 of 2091 (the other 72 are the version skew above: 69 `IsSearchOperation` cases and 3 listed).
const PASSED_AT_LEAST: usize = 2019;

#[test]
fn fixture_rule_sets() {
    let dir = support::data_dir().join("endpoint-tests");
    let sets = support::data_dir().join("fixture-rule-sets");
    let partitions =
        Partitions::from_json(&inflate(&sets.join("partitions.json.deflate"))).expect("partitions");
    let (mut total, mut failed) = (0usize, Vec::new());
    let services = services(&dir);
    for service in &services {
        let document = inflate(&sets.join(format!("{service}.json.deflate")));
        let rules = RuleSet::parse(&document).unwrap_or_else(|e| panic!("{service}: {e}"));
        let cases = support::read_json(&dir.join(service).join("endpoint-tests-1.json"));
        for case in cases["testCases"].as_array().expect("testCases") {
            total += 1;
            if let Err(why) = support::check(&rules, &partitions, case) {
                failed.push(format!("{service}: {}: {why}", case["documentation"]));
            }
        }
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    println!(
        "service endpoint cases on their own rule sets: {}/{total} passed; {} services",
        total - failed.len(),
        services.len()
    );
    assert_eq!(services.len(), 28);
    assert!(total > 2000, "only {total} cases found");
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
}

fn inflate(path: &std::path::Path) -> serde_json::Value {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let bytes = miniz_oxide::inflate::decompress_to_vec(&raw)
        .unwrap_or_else(|e| panic!("inflating {}: {e:?}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn services(dir: &std::path::Path) -> Vec<String> {
    let mut services: Vec<_> = std::fs::read_dir(dir)
        .expect("endpoint-tests")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    services.sort();
    services
}

#[test]
fn pack_rule_sets() {
    let partitions = support::partitions();
    let dir = support::data_dir().join("endpoint-tests");
    let services = services(&dir);
    let (mut total, mut passed) = (0usize, 0usize);
    let (mut skew, mut unexplained) = (Vec::new(), Vec::new());
    for service in &services {
        let document = portcullis_model::models()
            .endpoint_rules(service)
            .expect("pack readable");
        let document = document.unwrap_or_else(|| panic!("no rule set for {service} in the pack"));
        let rules = RuleSet::parse(&document).unwrap_or_else(|e| panic!("{service}: {e}"));
        let cases = support::read_json(&dir.join(service).join("endpoint-tests-1.json"));
        for case in cases["testCases"].as_array().expect("testCases") {
            total += 1;
            // Cases without `params` ("Missing region") run with none, which is what they test.
            let Err(why) = support::check(&rules, &partitions, case) else {
                passed += 1;
                continue;
            };
            let name = format!("{service}: {}", case["documentation"]);
            if let Some(unknown) = undeclared_param(&rules, case) {
                skew.push(format!("{name}: fixture is newer (sets {unknown}, unknown to the pack's rule set): {why}"));
            } else if let Some((_, reason)) = KNOWN_SKEW.iter().find(|(n, _)| *n == name) {
                skew.push(format!("{name}: {reason}: {why}"));
            } else {
                unexplained.push(format!("{name}: {why}"));
            }
        }
    }
    for f in &skew {
        println!("FAIL (rule set version) {f}");
    }
    for f in &unexplained {
        println!("FAIL {f}");
    }
    println!(
        "service endpoint cases: {passed}/{total} passed ({:.2}%); {} failed from rule-set version skew, {} otherwise; \
         {} services",
        100.0 * passed as f64 / total as f64,
        skew.len(),
        unexplained.len(),
        services.len()
    );
    assert_eq!(services.len(), 28);
    assert!(
        unexplained.is_empty(),
        "unexplained failures:\n{}",
        unexplained.join("\n")
    );
    assert!(
        passed >= PASSED_AT_LEAST,
        "regression: {passed}/{total} passed, expected at least {PASSED_AT_LEAST}"
    );
}

fn undeclared_param(rules: &RuleSet, case: &serde_json::Value) -> Option<String> {
    let params = case.get("params")?.as_object()?;
    params
        .keys()
        .find(|k| rules.parameter(k).is_none())
        .cloned()
}
