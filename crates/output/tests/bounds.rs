//! The evaluator's bounds: expressions that would build values exponentially large, nest them
//! without end, or spend unbounded time stop with a typed error instead of exhausting memory,
//! the stack or the clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_output::jmespath::{Query, QueryErrorKind};
use serde_json::json;

fn kind(expression: &str, doc: &serde_json::Value) -> Result<serde_json::Value, QueryErrorKind> {
    Query::compile(expression)
        .map_err(|e| e.kind())?
        .search(doc)
        .map_err(|e| e.kind())
}

#[test]
fn doubling_pipes_are_cut_short() {
    let doc = json!({"a": "xxxxxxxxxxxxxxxx"});
    let q = format!("{}@", "[@,@,@,@,@,@,@,@,@,@] | ".repeat(12));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooLarge);
}

#[test]
fn deep_equality_of_shared_values_is_cut_short() {
    let doc = json!([1, 2, 3]);
    let q = format!("{}@ == @", "[@,@] | ".repeat(60));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooLarge);
}

#[test]
fn doubling_strings_are_cut_short() {
    let doc = json!("xxxxxxxxxxxxxxxx");
    let q = format!("{}@", "join('', [@, @]) | ".repeat(40));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooLarge);
}

#[test]
fn error_messages_do_not_materialize_huge_values() {
    let doc = json!([1]);
    let q = format!("abs({}@)", "[@,@,@,@,@,@,@,@,@,@] | ".repeat(12));
    // Whatever the class, it must come back (an invalid-type error quoting a short prefix).
    let _ = kind(&q, &doc);
}

#[test]
fn long_chains_of_wrapping_are_cut_short() {
    let doc = json!(1);
    let q = format!("@{}", ".[@]".repeat(100_000));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooDeep);
    let q = format!("@{}", ".{a: @}".repeat(100_000));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooDeep);
    let q = format!("@{}", ".to_array(@).[@]".repeat(50_000));
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooDeep);
}

#[test]
fn wide_projections_are_cut_short() {
    let doc = json!(1);
    let q = format!(
        "[@,@,@,@,@,@,@,@,@,@]{}",
        " | [@,@,@,@,@,@,@,@,@,@][]".repeat(9)
    );
    assert_eq!(kind(&q, &doc).unwrap_err(), QueryErrorKind::TooLarge);
}

#[test]
fn ordinary_queries_on_large_documents_are_not_cut() {
    let items: Vec<_> = (0..50_000).map(|i| json!({"Id": format!("i-{i:08}"), "State": {"Name": "running"}, "Tags": [{"Key": "k", "Value": i}]})).collect();
    let doc = json!({"Items": items});
    let all = kind("Items[].Id", &doc).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 50_000);
    let whole = kind("@", &doc).unwrap();
    assert_eq!(whole, doc);
    let sorted = kind(
        "sort_by(Items, &Id)[].{id: Id, tags: Tags[].Value, copy: @}",
        &doc,
    )
    .unwrap();
    assert_eq!(sorted.as_array().unwrap().len(), 50_000);
}
