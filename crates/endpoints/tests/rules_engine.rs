//! botocore's rules-engine conformance vectors (`tests/unit/data/endpoints`): every valid rule set loads and
//! every test case resolves exactly as expected.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

mod support;

use portcullis_endpoints::RuleSet;

#[test]
fn every_valid_rule_set_loads() {
    let dir = support::data_dir().join("endpoint-rules-engine/valid-rules");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("valid-rules") {
        let path = entry.expect("entry").path();
        RuleSet::parse(&support::read_json(&path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert_eq!(n, 18);
}

#[test]
fn every_test_case_passes() {
    let partitions = support::partitions();
    let dir = support::data_dir().join("endpoint-rules-engine");
    let mut names: Vec<_> = std::fs::read_dir(dir.join("test-cases"))
        .expect("test-cases")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut passed, mut failures) = (0, Vec::new());
    for name in &names {
        let rules = RuleSet::parse(&support::read_json(&dir.join("valid-rules").join(name)))
            .expect("rule set loads");
        let cases = support::read_json(&dir.join("test-cases").join(name));
        for case in cases["testCases"].as_array().expect("testCases") {
            match support::check(&rules, &partitions, case) {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!("{name}: {}: {why}", case["documentation"])),
            }
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "rules-engine cases: {passed} passed, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(passed, 101);
}
