//! Conformance at the pinned version: every case of botocore's endpoint fixtures (`endpoint-tests/`, 28
//! services), with the fixture's own params, against what botocore 1.43.62's `EndpointProvider` says over the
//! SAME rule sets and partitions as our model pack.
//!
//! The expectations (`data/pinned-oracle.json`) are recorded by `scripts/oracle_endpoints.py`, which runs the
//! awscli-bundled botocore 1.43.62 and refuses to write anything unless its rule sets and `partitions.json` are
//! byte for byte the pack's (after the pack's documentation stripping). Unlike `service_endpoints.rs`, whose
//! fixtures come from another botocore release, nothing here is excused: agreement must be total.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use portcullis_endpoints::RuleSet;
use serde_json::Value;

/// Cases in the 28 fixture files, all of which must agree with the oracle.
const CASES: usize = 2091;
const SERVICES: usize = 28;
const BOTOCORE: &str = "1.43.62";

#[test]
fn agrees_with_pinned_botocore() {
    let oracle = support::read_json(&support::data_dir().join("pinned-oracle.json"));
    assert_eq!(
        oracle["botocore"], BOTOCORE,
        "oracle recorded with another botocore"
    );
    let partitions = support::partitions();
    let fixtures = support::data_dir().join("endpoint-tests");
    let mut on_disk: Vec<_> = std::fs::read_dir(&fixtures)
        .expect("endpoint-tests")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let services = oracle["services"].as_object().expect("services");
    let recorded: Vec<_> = services.keys().cloned().collect();
    assert_eq!(
        recorded, on_disk,
        "the oracle's services are not the fixture directories: rerun scripts/oracle_endpoints.py"
    );

    let (mut total, mut agreed, mut mismatches) = (0usize, 0usize, Vec::new());
    for (service, entry) in services {
        let document = portcullis_model::models()
            .endpoint_rules(service)
            .expect("pack readable")
            .unwrap_or_else(|| panic!("no rule set for {service} in the pack"));
        let rules = RuleSet::parse(&document).unwrap_or_else(|e| panic!("{service}: {e}"));
        let fixture = support::read_json(&fixtures.join(service).join("endpoint-tests-1.json"));
        let fixture = fixture["testCases"].as_array().expect("testCases");
        let cases = entry["cases"].as_array().expect("cases");
        assert_eq!(
            cases.len(),
            fixture.len(),
            "{service}: oracle and fixture differ in case count: rerun scripts/oracle_endpoints.py"
        );
        for (i, case) in cases.iter().enumerate() {
            total += 1;
            // The oracle must describe this very fixture case, with its params.
            let source = &fixture[i];
            assert_eq!(case["index"], i, "{service}: cases out of order");
            assert_eq!(
                case["documentation"], source["documentation"],
                "{service}[{i}]: stale oracle: rerun scripts/oracle_endpoints.py"
            );
            let empty = Value::Object(Default::default());
            assert_eq!(
                &case["params"],
                source.get("params").unwrap_or(&empty),
                "{service}[{i}]: stale oracle: rerun scripts/oracle_endpoints.py"
            );
            match support::check(&rules, &partitions, case) {
                Ok(()) => agreed += 1,
                Err(why) => {
                    mismatches.push(format!("{service}[{i}] {}: {why}", case["documentation"]))
                }
            }
        }
    }
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    println!(
        "pinned oracle (botocore {BOTOCORE}): {agreed}/{total} cases agree ({:.2}%), {} services",
        100.0 * agreed as f64 / total as f64,
        services.len()
    );
    assert_eq!(services.len(), SERVICES);
    assert_eq!(total, CASES, "case count changed");
    assert_eq!(oracle["cases"], CASES);
    assert!(
        mismatches.is_empty(),
        "{} of {total} cases disagree with botocore {BOTOCORE}:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(agreed, CASES);
}
