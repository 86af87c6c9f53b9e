//! Output shaping against its oracles (`scripts/oracle_output.py`, run on the pinned awscli
//! 1.46.3 and jmespath 1.1.0): every JMESPath case must give Python's result (same value, same
//! key order, same int/float types) or an error of the same class in the same phase; every
//! document, with and without `--query`, must print byte-identically in json, text and table.
//! YAML has no v1 oracle: it must read back (with a small YAML 1.1 reader here; PyYAML via
//! `PORTCULLIS_YAML_DUMP=FILE` + `oracle_output.py --verify-yaml FILE`) as the same value.
//! Also: no input makes the query engine or a formatter panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use portcullis_output::jmespath::{Query, QueryErrorKind};
use portcullis_output::{OutputFormat, RenderOptions, format_response, render, render_with};
use serde_json::{Value, json};

fn data(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Order- and type-sensitive equality (serde_json's `==` ignores object key order).
fn same(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).unwrap() == serde_json::to_string(b).unwrap()
}

const JMESPATH_CASES: usize = 774;
const FORMATTER_RUNS: usize = 312;

#[test]
fn jmespath_agrees_with_python() {
    let cases = data("jmespath-cases.json");
    let expected = data("jmespath-expected.json");
    let docs = &cases["documents"];
    let expected = expected.as_array().unwrap();
    let listed: usize = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["expressions"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        listed,
        expected.len(),
        "jmespath-expected.json is stale: rerun scripts/oracle_output.py"
    );
    assert_eq!(expected.len(), JMESPATH_CASES);
    let mut failures = Vec::new();
    for case in expected {
        let expr = case["expression"].as_str().unwrap();
        let doc = &docs[case["document"].as_str().unwrap()];
        let got = Query::compile(expr)
            .map_err(|e| (e, "compile"))
            .and_then(|q| q.search(doc).map_err(|e| (e, "search")));
        let ok = match (&got, case.get("result"), case.get("error")) {
            (Ok(v), Some(want), _) => same(v, want),
            (Err((e, phase)), None, Some(class)) => {
                e.kind().as_str() == class.as_str().unwrap()
                    && *phase == case["phase"].as_str().unwrap()
            }
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(v) => serde_json::to_string(v).unwrap(),
                Err((e, phase)) => format!("{} error at {phase}: {e}", e.kind().as_str()),
            };
            failures.push(format!(
                "[{}] {expr}\n   python: {}\n   ours:   {got}",
                case["document"],
                {
                    match case.get("result") {
                        Some(r) => serde_json::to_string(r).unwrap(),
                        None => format!("{} error at {}", case["error"], case["phase"]),
                    }
                }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

fn documents() -> Vec<(String, String, Value)> {
    let corpus = data("documents.json");
    corpus["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["operation"].as_str().unwrap().to_string(),
                d["response"].clone(),
            )
        })
        .collect()
}

#[test]
fn formatters_agree_with_awscli() {
    let docs = documents();
    let expected = data("formatter-expected.json");
    let expected = expected.as_array().unwrap();
    assert_eq!(expected.len(), FORMATTER_RUNS);
    assert!(docs.len() >= 40);
    let mut failures = Vec::new();
    for run in expected {
        let name = run["document"].as_str().unwrap();
        let (_, operation, response) = docs.iter().find(|d| d.0 == name).unwrap();
        let query = run["query"].as_str().map(|q| Query::compile(q).unwrap());
        let format: OutputFormat = run["format"].as_str().unwrap().parse().unwrap();
        let options = RenderOptions {
            title: Some(operation),
            ..RenderOptions::default()
        };
        let got = format_response(response, query.as_ref(), format, &options);
        let ok = match (&got, run.get("output")) {
            (Ok(out), Some(want)) => out == want.as_str().unwrap(),
            (Err(_), None) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name} {format} query={:?}\n--- awscli:\n{}\n--- ours:\n{}",
                run["query"],
                run.get("output")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("error {}", run["error"])),
                match &got {
                    Ok(s) => s.clone(),
                    Err(e) => format!("error: {e}"),
                }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs disagree:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

/// Every document and query result, as YAML, reads back as itself.
#[test]
fn yaml_reads_back_as_the_same_value() {
    let mut values: Vec<Value> = documents().into_iter().map(|d| d.2).collect();
    let corpus = data("documents.json");
    for q in corpus["queries"].as_array().unwrap() {
        let doc = documents()
            .into_iter()
            .find(|d| d.0 == q["document"].as_str().unwrap())
            .unwrap()
            .2;
        values.push(
            Query::compile(q["query"].as_str().unwrap())
                .unwrap()
                .search(&doc)
                .unwrap(),
        );
    }
    values.extend([
        json!(null),
        json!("plain"),
        json!("yes"),
        json!(1.5),
        json!([]),
        json!([[1, [2, []]], {}, [{}], {"a": []}]),
        json!({"": "", "key with: colon": "v #x", "- dash": ["- a", "? q", ": c"], "multi\nline": "\u{85}\u{2028}\u{feff}\u{1}"}),
        json!({"n": [1e300, -1e-300, 5e-324, 123456789012345680000.0, -0.0, 0.5]}),
        json!(["0x1F", "0o17", "0b101", "1_000", "12:30:00", "+1", "-.5", ".inf", "-.INF", ".NaN", "~", "Null", "TRUE", "Off", "y", "N", "<<", "="]),
        json!(["2024-01-01", "2024-01-01T00:00:00Z", "2024-1-1 1:2:3", "1.", "1e5", "1E+5", "0", "-0", "00", "0.0"]),
    ]);
    let mut dump = Vec::new();
    for value in &values {
        for format in [OutputFormat::Yaml, OutputFormat::YamlStream] {
            let out = render(value, format).unwrap();
            if matches!(value, Value::Object(m) if m.is_empty()) {
                assert_eq!(out, "");
                continue;
            }
            let back = yaml_reader::read(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
            let want = if format == OutputFormat::YamlStream {
                json!([value])
            } else {
                value.clone()
            };
            assert!(
                same(&back, &want),
                "YAML did not read back:\n{out}\n--- read: {back}\n--- want: {want}"
            );
            dump.push(json!({"value": want, "yaml": out}));
        }
    }
    if let Ok(path) = std::env::var("PORTCULLIS_YAML_DUMP") {
        std::fs::write(path, serde_json::to_string(&dump).unwrap()).unwrap();
    }
}

#[test]
fn yaml_looks_like_cli_v2() {
    let v = json!({"Reservations": [{"Groups": [], "Instances": [{"InstanceId": "i-1", "Tags": [{"Key": "Name", "Value": "web"}],
        "LaunchTime": "2024-03-10T19:38:18+00:00", "EbsOptimized": false, "CoreCount": 2, "Ratio": 1.0}]}]});
    let want = "Reservations:\n- Groups: []\n  Instances:\n  - InstanceId: i-1\n    Tags:\n    - Key: Name\n      Value: web\n    \
                LaunchTime: '2024-03-10T19:38:18+00:00'\n    EbsOptimized: false\n    CoreCount: 2\n    Ratio: 1.0\n";
    assert_eq!(render(&v, OutputFormat::Yaml).unwrap(), want);
    assert_eq!(render(&json!("x"), OutputFormat::Yaml).unwrap(), "x\n...\n");
    assert_eq!(
        render(&json!({"a": 1}), OutputFormat::YamlStream).unwrap(),
        "- a: 1\n"
    );
}

#[test]
fn format_names_round_trip() {
    for name in ["json", "text", "table", "yaml", "yaml-stream"] {
        let f: OutputFormat = name.parse().unwrap();
        assert_eq!(f.to_string(), name);
    }
    let err = "xml".parse::<OutputFormat>().unwrap_err();
    assert!(
        err.to_string()
            .contains("json, text, table, yaml, yaml-stream")
    );
}

#[test]
fn syntax_errors_point_at_the_spot() {
    let err = Query::compile("foo.bar[?baz = 'x']").unwrap_err();
    assert_eq!(err.kind(), QueryErrorKind::Lexer);
    let msg = err.to_string();
    assert!(
        msg.ends_with("foo.bar[?baz = 'x']\n             ^"),
        "{msg}"
    );
    assert!(msg.contains("'=='"), "{msg}");
    let err = Query::compile("a.[b").unwrap_err();
    assert_eq!(err.kind(), QueryErrorKind::Incomplete);
    assert!(err.to_string().ends_with("a.[b\n    ^"), "{err}");
    let err = Query::compile("").unwrap_err();
    assert_eq!(err.kind(), QueryErrorKind::Empty);
    let err = Query::compile("bogus(@)")
        .unwrap()
        .search(&json!({}))
        .unwrap_err();
    assert_eq!(err.kind(), QueryErrorKind::UnknownFunction);
}

#[test]
fn deep_expressions_are_bounded() {
    for expr in [
        "(".repeat(10_000) + "a" + &")".repeat(10_000),
        "a".to_string() + &"|a".repeat(100_000),
        "!".repeat(100_000) + "a",
        "a".to_string() + &".b".repeat(100_000),
        "[".repeat(50_000),
        "a".to_string() + &"[0]".repeat(50_000),
        "a".to_string() + &" || a".repeat(50_000),
        "{a: ".repeat(20_000),
    ] {
        if let Ok(q) = Query::compile(&expr) {
            let _ = q.search(&json!({"a": {"b": 1}}));
        }
    }
    // Self-applying expression references recurse until the limit, not the stack's end.
    let q = Query::compile("map(&map(@[0], [@]), [[&map(@[0], [@])]])").unwrap();
    assert_eq!(
        q.search(&json!({})).unwrap_err().kind(),
        QueryErrorKind::TooDeep
    );
}

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

#[test]
fn no_panics_on_random_queries() {
    let pieces = [
        "a",
        "b",
        "foo",
        ".",
        "*",
        "[",
        "]",
        "[]",
        "[?",
        "?",
        "(",
        ")",
        "{",
        "}",
        ",",
        ":",
        "@",
        "&",
        "&&",
        "|",
        "||",
        "!",
        "!=",
        "==",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "-",
        "0",
        "1",
        "-1",
        "2",
        "'s'",
        "`1`",
        "`\"x\"`",
        "`[1,2]`",
        "`{\"a\":1}`",
        "\"q\"",
        "\\",
        "'",
        "`",
        "\"",
        " ",
        "length(",
        "sort_by(",
        "&a",
        "max(",
        "map(",
        "to_number(",
        "abs(",
        "merge(",
        "join(",
        "é",
        "😀",
        "\u{0}",
    ];
    let docs = [
        json!({"a": [1, 2.5, "x", null, true, {"a": 1}, [1, [2]]], "b": {"a": "s"}, "foo": [{"a": 1}, {"a": "2"}]}),
        json!([[], {}, "", 0, -1.5]),
        json!(null),
    ];
    let mut rng = Lcg(42);
    for _ in 0..30_000 {
        let n = 1 + rng.next() % 12;
        let expr: String = (0..n).map(|_| rng.pick(&pieces)).collect();
        if let Ok(q) = Query::compile(&expr) {
            for d in &docs {
                if let Ok(v) = q.search(d) {
                    for f in [
                        OutputFormat::Json,
                        OutputFormat::Text,
                        OutputFormat::Table,
                        OutputFormat::Yaml,
                    ] {
                        let _ = render_with(
                            &v,
                            f,
                            &RenderOptions {
                                title: Some("T"),
                                terminal_width: 20,
                            },
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn no_panics_on_random_documents() {
    let mut rng = Lcg(7);
    fn random_value(rng: &mut Lcg, depth: u32) -> Value {
        match if depth > 4 {
            rng.next() % 6
        } else {
            rng.next() % 8
        } {
            0 => Value::Null,
            1 => json!(rng.next().is_multiple_of(2)),
            2 => json!(rng.next() as i64 - (1 << 30)),
            3 => json!((rng.next() as f64) / 7.0),
            4 => json!(["", "a", "名前", "x\ty", "yes", "1.5"][(rng.next() % 6) as usize]),
            5 => json!([]),
            6 => Value::Array(
                (0..rng.next() % 4)
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.next() % 4)
                    .map(|i| {
                        (
                            ["A", "b", "", "名"][i as usize % 4].to_string(),
                            random_value(rng, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }
    for _ in 0..5_000 {
        let v = random_value(&mut rng, 0);
        for f in [
            OutputFormat::Json,
            OutputFormat::Text,
            OutputFormat::Table,
            OutputFormat::Yaml,
            OutputFormat::YamlStream,
        ] {
            let _ = render_with(
                &v,
                f,
                &RenderOptions {
                    title: Some("Op"),
                    terminal_width: (rng.next() % 100) as usize,
                },
            );
        }
    }
    // Deeper than the limit: a typed error, not a stack overflow.
    let mut deep = json!(1);
    for _ in 0..600 {
        deep = json!([deep]);
    }
    assert!(render(&deep, OutputFormat::Json).is_err());
}

mod yaml_reader {
    //! A small YAML reader for the subset our emitter writes (block mappings and sequences, plain,
    //! single- and double-quoted scalars, `[]`/`{}`), resolving plain scalars as PyYAML (YAML 1.1)
    //! does, and refusing plain scalars PyYAML would read as something we never mean (timestamps,
    //! octal, sexagesimal...): the emitter must have quoted those.

    use serde_json::{Map, Value};

    struct Line {
        indent: usize,
        text: String,
    }

    pub fn read(text: &str) -> Result<Value, String> {
        let mut lines: Vec<Line> = text
            .lines()
            .filter(|l| *l != "...")
            .map(|l| {
                let indent = l.len() - l.trim_start_matches(' ').len();
                Line {
                    indent,
                    text: l[indent..].to_string(),
                }
            })
            .collect();
        if lines.is_empty() {
            return Err("empty document".into());
        }
        let mut pos = 0;
        let v = node(&mut lines, &mut pos, 0)?;
        if pos != lines.len() {
            return Err(format!("trailing content at line {pos}"));
        }
        Ok(v)
    }

    fn is_seq_item(t: &str) -> bool {
        t.starts_with("- ") || t == "-"
    }

    fn node(lines: &mut [Line], pos: &mut usize, indent: usize) -> Result<Value, String> {
        let first = &lines[*pos];
        if first.indent != indent {
            return Err(format!("bad indentation at line {}", *pos));
        }
        if is_seq_item(&first.text) {
            let mut items = Vec::new();
            while *pos < lines.len()
                && lines[*pos].indent == indent
                && is_seq_item(&lines[*pos].text)
            {
                let rest = lines[*pos].text.get(2..).unwrap_or("").to_string();
                lines[*pos] = Line {
                    indent: indent + 2,
                    text: rest,
                };
                items.push(node(lines, pos, indent + 2)?);
            }
            return Ok(Value::Array(items));
        }
        if let Some((key, rest)) = split_key(&first.text)? {
            let mut map = Map::new();
            let mut first_entry = true;
            while *pos < lines.len()
                && lines[*pos].indent == indent
                && !is_seq_item(&lines[*pos].text)
            {
                let (key, rest) = if first_entry {
                    first_entry = false;
                    (key.clone(), rest.clone())
                } else {
                    split_key(&lines[*pos].text)?
                        .ok_or_else(|| format!("expected a key at line {}", *pos))?
                };
                *pos += 1;
                let value = if !rest.is_empty() {
                    scalar(&rest)?
                } else if *pos < lines.len() && lines[*pos].indent > indent {
                    let i = lines[*pos].indent;
                    node(lines, pos, i)?
                } else if *pos < lines.len()
                    && lines[*pos].indent == indent
                    && is_seq_item(&lines[*pos].text)
                {
                    node(lines, pos, indent)?
                } else {
                    Value::Null
                };
                map.insert(key, value);
            }
            return Ok(Value::Object(map));
        }
        let v = scalar(&first.text)?;
        *pos += 1;
        Ok(v)
    }

    /// `key: rest` → (key, rest); `None` when the line is not a mapping entry.
    fn split_key(t: &str) -> Result<Option<(String, String)>, String> {
        if t.starts_with('\'') || t.starts_with('"') {
            let (k, used) = quoted(t)?;
            let after = &t[used..];
            return match after.strip_prefix(':') {
                Some(r) => Ok(Some((k, r.trim_start().to_string()))),
                None => Ok(None),
            };
        }
        if let Some(i) = t.find(": ") {
            return Ok(Some((t[..i].to_string(), t[i + 2..].to_string())));
        }
        if let Some(k) = t.strip_suffix(':') {
            return Ok(Some((k.to_string(), String::new())));
        }
        Ok(None)
    }

    /// A quoted scalar at the start of `t`: its value and the bytes it used.
    fn quoted(t: &str) -> Result<(String, usize), String> {
        let mut out = String::new();
        let mut chars = t.char_indices();
        let (_, q) = chars.next().ok_or("empty")?;
        while let Some((i, c)) = chars.next() {
            if q == '\'' {
                if c == '\'' {
                    if t[i + 1..].starts_with('\'') {
                        chars.next();
                        out.push('\'');
                        continue;
                    }
                    return Ok((out, i + 1));
                }
                out.push(c);
            } else {
                match c {
                    '"' => return Ok((out, i + 1)),
                    '\\' => {
                        let (_, e) = chars.next().ok_or("dangling escape")?;
                        let hex = |n: usize,
                                   chars: &mut std::str::CharIndices<'_>|
                         -> Result<char, String> {
                            let s: String =
                                (0..n).filter_map(|_| chars.next().map(|x| x.1)).collect();
                            u32::from_str_radix(&s, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or(format!("bad escape {s}"))
                        };
                        out.push(match e {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            '0' => '\0',
                            '"' => '"',
                            '\\' => '\\',
                            'N' => '\u{85}',
                            'L' => '\u{2028}',
                            'P' => '\u{2029}',
                            'x' => hex(2, &mut chars)?,
                            'u' => hex(4, &mut chars)?,
                            'U' => hex(8, &mut chars)?,
                            other => return Err(format!("unknown escape \\{other}")),
                        });
                    }
                    c => out.push(c),
                }
            }
        }
        Err(format!("unterminated quoted scalar {t}"))
    }

    fn scalar(t: &str) -> Result<Value, String> {
        if t.starts_with('\'') || t.starts_with('"') {
            let (s, used) = quoted(t)?;
            if used != t.len() {
                return Err(format!("junk after quoted scalar: {t}"));
            }
            return Ok(Value::String(s));
        }
        match t {
            "[]" => return Ok(Value::Array(vec![])),
            "{}" => return Ok(Value::Object(Map::new())),
            "~" | "null" | "Null" | "NULL" | "" => return Ok(Value::Null),
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                return Ok(Value::Bool(true));
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                return Ok(Value::Bool(false));
            }
            _ => {}
        }
        let first = t.chars().next().unwrap_or(' ');
        if "-?:,[]{}#&*!|>'\"%@`".contains(first)
            && !(first == '-' && t[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            return Err(format!("plain scalar starts with an indicator: {t}"));
        }
        if t.contains(": ") || t.contains(" #") {
            return Err(format!("plain scalar with ': ' or ' #': {t}"));
        }
        let body = t.strip_prefix(['-', '+']).unwrap_or(t);
        let is_int = !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_digit())
            && (body == "0" || !body.starts_with('0'));
        if is_int {
            return serde_json::from_str(t.trim_start_matches('+')).map_err(|e| e.to_string());
        }
        // PyYAML's float: digits, a dot, digits, optional exponent with a sign.
        if let Some((m, e)) = body.split_once('.') {
            let (frac, exp) = match e.find(['e', 'E']) {
                Some(i) => (&e[..i], Some(&e[i + 1..])),
                None => (e, None),
            };
            let exp_ok = exp.is_none_or(|x| {
                x.len() > 1
                    && x.starts_with(['+', '-'])
                    && x[1..].bytes().all(|b| b.is_ascii_digit())
            });
            if !m.is_empty()
                && m.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && exp_ok
            {
                let f: f64 = t.parse().map_err(|e| format!("{e}: {t}"))?;
                return Ok(serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null));
            }
        }
        if t.starts_with(|c: char| c.is_ascii_digit())
            && t.chars()
                .all(|c| c.is_ascii_hexdigit() || "xXoO_.:+-eEtTzZ ".contains(c))
        {
            return Err(format!(
                "plain scalar PyYAML may read as a number or date: {t}"
            ));
        }
        if t.starts_with('.') && matches!(t.to_ascii_lowercase().as_str(), ".inf" | ".nan") {
            return Err(format!("plain special float: {t}"));
        }
        Ok(Value::String(t.to_string()))
    }
}
