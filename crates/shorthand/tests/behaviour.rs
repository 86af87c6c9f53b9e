//! Behaviour beyond the awscli fixtures: the `literal` / `quoted` flags, error positions and
//! messages, the nesting bound, and the places where we knowingly differ from awscli.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_shorthand::{MAX_DEPTH, Scalar, Value, parse};
use serde_json::json;

fn scalar(v: &Value) -> &Scalar {
    v.as_scalar().expect("a scalar")
}

fn json_of(input: &str) -> serde_json::Value {
    let map = parse(input).unwrap();
    serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[test]
fn plain_assignment_is_literal_and_at_assignment_is_not() {
    let p = parse("a=file://x.txt,b@=file://y.txt").unwrap();
    assert_eq!(
        scalar(&p["a"]),
        &Scalar {
            text: "file://x.txt".into(),
            literal: true,
            quoted: false
        }
    );
    assert_eq!(
        scalar(&p["b"]),
        &Scalar {
            text: "file://y.txt".into(),
            literal: false,
            quoted: false
        }
    );
}

#[test]
fn at_assignment_reaches_every_scalar_of_its_csv_or_list_but_not_nested_maps() {
    let p = parse("a@=x,'y',b@=[m,[n],{k=v,j@=w}]").unwrap();
    let Value::List(a) = &p["a"] else { panic!() };
    assert!(a.iter().all(|v| !scalar(v).literal));
    let Value::List(b) = &p["b"] else { panic!() };
    assert!(!scalar(&b[0]).literal);
    let Value::List(inner) = &b[1] else { panic!() };
    assert!(!scalar(&inner[0]).literal);
    let Value::Map(m) = &b[2] else { panic!() };
    assert!(scalar(&m["k"]).literal, "a map entry's own `=` decides");
    assert!(!scalar(&m["j"]).literal);
}

#[test]
fn quoted_flag_marks_quoted_values_only() {
    let p = parse(r#"a='x',b="y",c=z,d=[p,'q'],e=,f=''"#).unwrap();
    assert!(scalar(&p["a"]).quoted);
    assert!(scalar(&p["b"]).quoted);
    assert!(!scalar(&p["c"]).quoted);
    let Value::List(d) = &p["d"] else { panic!() };
    assert!(!scalar(&d[0]).quoted && scalar(&d[1]).quoted);
    assert!(!scalar(&p["e"]).quoted);
    assert_eq!(
        scalar(&p["f"]),
        &Scalar {
            text: String::new(),
            literal: true,
            quoted: true
        }
    );
}

#[test]
fn error_positions_point_at_the_offending_character() {
    // (input, position in characters, text the message must contain)
    let cases = [
        (
            "foo",
            3,
            "expected '=' after the key \"foo\", found the end of the input",
        ),
        (
            "foo==bar",
            4,
            "expected ',' or the end of the input after the value of \"foo\", found '='",
        ),
        ("\"foo=bar", 0, "expected a key followed by '='"),
        ("foo='bar", 4, "closing '"),
        ("foo=[bar", 8, "to close the '[' at character 4"),
        ("foo={bar}", 8, "'=' after the key \"bar\" inside {...}"),
        ("foo=bar,", 8, "expected a value after ','"),
        ("foo=bar,foo=qux", 8, "the key \"foo\" appears twice"),
        ("a={b=1,b=2}", 7, "the key \"b\" appears twice"),
        ("✓✓=1", 0, "expected a key"),
        ("k=✓,x=[a b c", 12, "to close the '['"),
        ("a=[x] ", 6, "trailing whitespace"),
    ];
    for (input, position, text) in cases {
        let err = parse(input).expect_err(input);
        assert_eq!(err.position, position, "{input:?}: {}", err.message);
        assert!(err.message.contains(text), "{input:?}: {}", err.message);
        assert!(err.message.contains("Hint:"), "{input:?}: {}", err.message);
        assert_eq!(err.input, input);
    }
}

#[test]
fn display_shows_the_line_with_a_caret_under_the_error() {
    let err = parse("foo=bar,\nbar==baz,\nq=1").unwrap_err();
    assert_eq!(err.position, 13);
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].starts_with("invalid shorthand syntax at character 13: expected"),
        "{shown}"
    );
    assert_eq!(
        &lines[1..],
        ["  foo=bar,", "  bar==baz,", "      ^", "  q=1"],
        "{shown}"
    );
}

#[test]
fn display_windows_very_long_lines() {
    let input = format!("a={}]", "x".repeat(500));
    let shown = parse(&input).unwrap_err().to_string();
    assert!(
        shown.lines().skip(1).all(|l| l.chars().count() < 200),
        "{shown}"
    );
    let line = shown.lines().nth(1).unwrap();
    let caret = shown.lines().nth(2).unwrap();
    assert_eq!(line.chars().nth(caret.len() - 1), Some(']'), "{shown}");
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("a={}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!(
        "a={}{}",
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    let err = parse(&deep).unwrap_err();
    assert!(
        err.message.contains("nesting deeper than 64"),
        "{}",
        err.message
    );
    assert_eq!(err.position, 2 + MAX_DEPTH);
    let maps = format!("a={}", "{b=".repeat(100_000));
    assert!(parse(&maps).unwrap_err().message.contains("nesting"));
}

#[test]
fn awscli_quirks_we_keep() {
    // A doubled ',' between pairs is tolerated: awscli rewinds to the second one.
    assert_eq!(json_of("a=b,,c=d"), json!({"a": "b", "c": "d"}));
    // Later csv items may contain closing brackets; first values and elements stop at them.
    assert_eq!(json_of("a=x,y],z}"), json!({"a": ["x", "y]", "z}"]}));
    // An empty key is accepted, as in awscli; the model stage rejects it.
    assert_eq!(json_of("=v"), json!({"": "v"}));
    // With no unescaped closing quote, the last \' is a backslash plus the closing quote.
    assert_eq!(json_of(r"a='abc\'"), json!({"a": "abc\\"}));
    // Backslashes other than \, (plain) or \q and \\ (quoted) stay as written.
    assert_eq!(
        json_of(r"a=x\ny,b='p\nq'"),
        json!({"a": "x\\ny", "b": "p\\nq"})
    );
    // Values may contain unicode whitespace inside and it is trimmed at the end.
    assert_eq!(json_of("a=x\u{a0}y\u{2003}"), json!({"a": "x\u{a0}y"}));
}

#[test]
fn awscli_quirks_we_reject_because_awscli_silently_drops_text() {
    // awscli rewinds to the escaped comma inside `b\,c` and drops "b\": {"foo": "a", "c": "d"}.
    let err = parse(r"foo=a,b\,c=d").unwrap_err();
    assert_eq!(err.position, 7, "at the backslash after the would-be key b");
    // Same with a comma inside a quoted item: awscli drops 'w\' and re-reads from inside it.
    assert!(parse(r"k=x,'w\', y='q,r'").is_err());
    // Repeated keys in a nested map: awscli keeps the last silently.
    assert!(parse("a={b=1,b=2}").is_err());
}

#[test]
fn whitespace_at_the_ends_follows_awscli() {
    assert!(parse(" a=b").is_err());
    assert!(parse("a=[x] ").is_err());
    assert_eq!(json_of("a=x \n"), json!({"a": "x"}));
    assert_eq!(json_of("a='x' "), json!({"a": "x"}));
}

#[test]
fn astral_characters_are_ordinary_value_characters() {
    // awscli's character classes stop at U+FFFF, so it rejects these; we accept them.
    assert_eq!(json_of("a=😀,b=[x😀]"), json!({"a": "😀", "b": ["x😀"]}));
}
