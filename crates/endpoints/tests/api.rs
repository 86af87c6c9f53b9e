//! The public surface: parameter handling, load-time rejections and the shape of results.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use portcullis_endpoints::{EndpointError, ParamType, ParamValue, Params, RuleSet};
use serde_json::json;

fn rules(parameters: serde_json::Value, rules: serde_json::Value) -> RuleSet {
    RuleSet::parse(&json!({"version": "1.0", "parameters": parameters, "rules": rules}))
        .expect("loads")
}

#[test]
fn parameters_required_defaults_and_types() {
    let partitions = support::partitions();
    let set = rules(
        json!({
            "Region": {"type": "String", "required": true, "builtIn": "AWS::Region"},
            "UseFIPS": {"type": "Boolean", "required": true, "default": false, "builtIn": "AWS::UseFIPS"},
        }),
        json!([{"conditions": [{"fn": "booleanEquals", "argv": [{"ref": "UseFIPS"}, true]}],
                "type": "endpoint", "endpoint": {"url": "https://fips.{Region}.example.com"}},
               {"conditions": [], "type": "endpoint", "endpoint": {"url": "https://{Region}.example.com"}}]),
    );
    assert_eq!(
        set.parameter_for_built_in("AWS::UseFIPS")
            .map(|p| p.name.as_str()),
        Some("UseFIPS")
    );
    assert_eq!(
        set.parameter("UseFIPS")
            .map(|p| (p.kind, p.default.clone())),
        Some((ParamType::Boolean, Some(ParamValue::Bool(false))))
    );
    let missing = set.resolve(&Params::new(), &partitions).unwrap_err();
    assert_eq!(missing, EndpointError::MissingParameter("Region".into()));
    assert_eq!(
        missing.to_string(),
        "Cannot find value for required parameter Region"
    );
    let wrong = set
        .resolve(&Params::new().with("Region", true), &partitions)
        .unwrap_err();
    assert!(matches!(wrong, EndpointError::WrongType { .. }), "{wrong}");
    let plain = set
        .resolve(
            &Params::new().with("Region", "r1").with("Ignored", "x"),
            &partitions,
        )
        .unwrap();
    assert_eq!(plain.url, "https://r1.example.com");
    let fips = set
        .resolve(
            &Params::new().with("Region", "r1").with("UseFIPS", true),
            &partitions,
        )
        .unwrap();
    assert_eq!(fips.url, "https://fips.r1.example.com");
}

#[test]
fn tree_without_a_match_falls_through_and_no_match_is_an_error() {
    let partitions = support::partitions();
    let set = rules(
        json!({"Region": {"type": "string"}}),
        json!([{"conditions": [{"fn": "isSet", "argv": [{"ref": "Region"}]}], "type": "tree",
                "rules": [{"conditions": [{"fn": "stringEquals", "argv": [{"ref": "Region"}, "a"]}],
                           "type": "error", "error": "region {Region} is not allowed"}]},
               {"conditions": [{"fn": "isSet", "argv": [{"ref": "Region"}]}], "type": "endpoint",
                "endpoint": {"url": "https://{Region}.example.com", "headers": {"x-r": ["{Region}"]},
                             "properties": {"authSchemes": [{"name": "sigv4", "signingRegion": "{Region}"}]}}}]),
    );
    let ep = set
        .resolve(&Params::new().with("Region", "b"), &partitions)
        .unwrap();
    assert_eq!(ep.url, "https://b.example.com");
    assert_eq!(ep.headers["x-r"], ["b"]);
    assert_eq!(
        ep.auth_schemes(),
        [json!({"name": "sigv4", "signingRegion": "b"})]
    );
    let err = set
        .resolve(&Params::new().with("Region", "a"), &partitions)
        .unwrap_err();
    assert_eq!(err, EndpointError::Rule("region a is not allowed".into()));
    let none = set.resolve(&Params::new(), &partitions).unwrap_err();
    assert!(matches!(none, EndpointError::NoMatch(_)), "{none}");
}

#[test]
fn load_time_rejections() {
    let bad = |rules: serde_json::Value| {
        RuleSet::parse(&json!({"parameters": {"A": {"type": "string"}}, "rules": rules}))
    };
    let endpoint = json!({"url": "https://x"});
    for (case, rule) in [
        (
            "unknown function",
            json!({"conditions": [{"fn": "coalesce", "argv": []}], "type": "endpoint", "endpoint": endpoint}),
        ),
        (
            "wrong arity",
            json!({"conditions": [{"fn": "isSet", "argv": []}], "type": "endpoint", "endpoint": endpoint}),
        ),
        (
            "shadowing assign",
            json!({"conditions": [{"fn": "isSet", "argv": [{"ref": "A"}], "assign": "A"}], "type": "endpoint", "endpoint": endpoint}),
        ),
        (
            "nested assign",
            json!({"conditions": [{"fn": "not", "argv": [{"fn": "isSet", "argv": [{"ref": "A"}], "assign": "b"}]}], "type": "endpoint", "endpoint": endpoint}),
        ),
        (
            "dynamic getAttr path",
            json!({"conditions": [{"fn": "getAttr", "argv": [{"ref": "A"}, {"ref": "A"}]}], "type": "endpoint", "endpoint": endpoint}),
        ),
        (
            "unknown rule type",
            json!({"conditions": [], "type": "redirect"}),
        ),
        (
            "bad template",
            json!({"conditions": [], "type": "endpoint", "endpoint": {"url": "https://{A}}"}}),
        ),
    ] {
        assert!(bad(json!([rule])).is_err(), "{case} should not load");
    }
    assert!(
        RuleSet::parse(&json!({"parameters": {"A": {"type": "integer"}}, "rules": []})).is_err()
    );
    assert!(
        RuleSet::parse(
            &json!({"parameters": {"A": {"type": "boolean", "default": "yes"}}, "rules": []})
        )
        .is_err()
    );
    let err = RuleSet::from_slice(b"{\"rules\": [{\"type\": \"tree\"}]}").unwrap_err();
    assert_eq!(err.at, "rules[0]");
}
