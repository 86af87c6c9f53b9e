//! Response parsing against botocore's own output protocol vectors
//! (`tests/data/protocols/{output,legacy/output}`, Apache-2.0, see `tests/data/NOTICE`), compared
//! by botocore's rules (`tests/unit/test_protocols.py`): results structurally, with timestamps as
//! epoch numbers and blobs as UTF-8 text; errors by code, message and modeled members;
//! `ResponseMetadata` not compared. Cases in `protocol-tests-ignore-list.json` are listed, run for
//! information, and not required. Also: no input makes a parser panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use portcullis_model::ServiceModel;
use portcullis_wire::protocol::parse::HttpResponse;
use serde_json::{Value, json};

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/protocols")
}

/// One output case, ready to run.
pub struct Case {
    /// `output/rest-xml.json`, `legacy/output/query.json`, ...
    pub file: String,
    /// The protocol key of the ignore list: the file's base name.
    pub protocol_key: String,
    pub suite: String,
    pub id: String,
    pub description: String,
    pub model: ServiceModel,
    pub op_name: String,
    pub response: HttpResponse,
    pub raw: Value,
    /// The legacy model needed [`adapt_legacy_shapes`].
    pub adapted: bool,
}

/// Legacy vectors use two model forms that `portcullis_model` does not deserialize (no current
/// botocore model uses them): the `character` type (botocore reads it as a string) and
/// `location` on a shape definition rather than on the member referencing it (botocore merges a
/// shape's traits into each reference). Rewrites them into the equivalent current forms; returns
/// whether anything changed.
fn adapt_legacy_shapes(shapes: &mut Value) -> bool {
    let Some(map) = shapes.as_object_mut() else {
        return false;
    };
    let mut changed = false;
    let mut located = Vec::new();
    for (name, shape) in map.iter_mut() {
        if shape["type"] == "character" {
            shape["type"] = json!("string");
            changed = true;
        }
        if let Some(loc) = shape.as_object_mut().and_then(|o| o.remove("location")) {
            located.push((name.clone(), loc));
            changed = true;
        }
    }
    for shape in map.values_mut() {
        let mut refs: Vec<&mut Value> = Vec::new();
        if let Some(members) = shape.get_mut("members").and_then(Value::as_object_mut) {
            refs.extend(members.values_mut());
        }
        for r in refs {
            for (name, loc) in &located {
                if r["shape"] == json!(name) && r.get("location").is_none() {
                    r["location"] = loc.clone();
                }
            }
        }
    }
    changed
}

pub fn load(rel: &str) -> Vec<Case> {
    let path = data_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let suites: Vec<Value> = serde_json::from_str(&text).unwrap();
    let protocol_key = rel
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".json")
        .to_string();
    let mut out = Vec::new();
    for (si, suite) in suites.iter().enumerate() {
        let description = suite["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for (ci, case) in suite["cases"].as_array().unwrap().iter().enumerate() {
            let mut given = case["given"].clone();
            let op_name = given["name"]
                .as_str()
                .unwrap_or("OperationName")
                .to_string();
            given["name"] = json!(op_name);
            if given.get("http").is_none() {
                given["http"] = json!({"method": "POST", "requestUri": "/"});
            }
            let mut metadata = suite["metadata"].clone();
            if metadata.get("apiVersion").is_none() {
                metadata["apiVersion"] = json!("2000-01-01");
            }
            let protocol = metadata["protocol"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            // botocore's runner names the result wrapper of query outputs that have members.
            if protocol == "query"
                && case.get("result").is_some()
                && let Some(shape) = given["output"]["shape"].as_str()
                && suite["shapes"][shape]["members"]
                    .as_object()
                    .is_some_and(|m| !m.is_empty())
            {
                given["output"]["resultWrapper"] = json!(format!("{op_name}Result"));
            }
            let mut shapes = suite["shapes"].clone();
            let adapted = adapt_legacy_shapes(&mut shapes);
            let model_json = json!({
                "metadata": metadata,
                "operations": { op_name.clone(): given },
                "shapes": shapes,
            });
            let model = ServiceModel::from_json(&serde_json::to_vec(&model_json).unwrap())
                .unwrap_or_else(|e| panic!("{rel} suite {si} case {ci}: model: {e}"));
            let r = &case["response"];
            let body = match r.get("body").and_then(Value::as_str) {
                Some(b) => b.as_bytes().to_vec(),
                None if protocol == "query" => b"<xml/>".to_vec(),
                None => Vec::new(),
            };
            let headers = r
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let response = HttpResponse {
                status: r["status_code"].as_u64().unwrap_or(200) as u16,
                headers,
                body,
            };
            out.push(Case {
                file: rel.to_string(),
                protocol_key: protocol_key.clone(),
                suite: description.clone(),
                id: case
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{si}:{ci}"), str::to_string),
                description: case
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or(&description)
                    .to_string(),
                model,
                op_name,
                response,
                raw: case.clone(),
                adapted,
            });
        }
    }
    out
}

/// The vector files this parser runs (current and legacy).
pub const FILES: &[&str] = &[
    "output/ec2.json",
    "output/json.json",
    "output/json_1_0.json",
    "output/json_1_0-query-compatible.json",
    "output/query.json",
    "output/rest-json.json",
    "output/rest-xml.json",
    "legacy/output/ec2.json",
    "legacy/output/json.json",
    "legacy/output/query.json",
    "legacy/output/rest-json.json",
    "legacy/output/rest-xml.json",
];

/// Vectors for a protocol this parser does not read.
pub const SKIPPED_FILES: &[&str] = &[
    "output/smithy-rpc-v2-cbor.json",
    "output/smithy-rpc-v2-cbor-query-compatible.json",
    "output/smithy-rpc-v2-cbor-non-query-compatible.json",
];

// ---------------------------------------------------------------------------------------------
// Conformance

use portcullis_model::{Shape, ShapeType};
use portcullis_wire::protocol::parse::{
    ParseError, ParseOptions, TimestampStyle, parse, parse_with,
};

/// Non-ignored cases that must pass, per file.
const EXPECTED_PASSES: &[(&str, usize)] = &[
    ("output/ec2.json", 27),
    ("output/json.json", 52),
    ("output/json_1_0.json", 26),
    ("output/json_1_0-query-compatible.json", 2),
    ("output/query.json", 36),
    ("output/rest-json.json", 82),
    ("output/rest-xml.json", 72),
    ("legacy/output/ec2.json", 13),
    ("legacy/output/json.json", 19),
    ("legacy/output/query.json", 19),
    ("legacy/output/rest-json.json", 33),
    ("legacy/output/rest-xml.json", 22),
];

struct IgnoreList(Value);

impl IgnoreList {
    fn load() -> IgnoreList {
        let text =
            std::fs::read_to_string(data_dir().join("protocol-tests-ignore-list.json")).unwrap();
        IgnoreList(serde_json::from_str(&text).unwrap())
    }

    /// botocore's `_should_ignore_test` for output cases.
    fn ignores(&self, protocol: &str, suite: &str, id: &str) -> bool {
        let hit = |v: &Value| {
            let has = |k: &str, s: &str| v[k].as_array().is_some_and(|a| a.iter().any(|x| x == s));
            has("suites", suite) || has("cases", id)
        };
        hit(&self.0["general"]["output"]) || hit(&self.0["protocols"][protocol]["output"])
    }
}

enum Verdict {
    Pass,
    Fail(String),
    /// Not run: needs something this parser does not do.
    Skip(&'static str),
}

fn decode_blobs(model: &ServiceModel, shape: &Shape, v: &mut Value) {
    match (shape.kind, v) {
        (ShapeType::Structure, Value::Object(obj)) if !shape.document => {
            for (name, r) in &shape.members {
                if let (Some(s), Some(mv)) = (model.shape(&r.shape), obj.get_mut(name)) {
                    decode_blobs(model, s, mv);
                }
            }
        }
        (ShapeType::List, Value::Array(items)) => {
            if let Some(s) = shape.member.as_ref().and_then(|r| model.shape(&r.shape)) {
                items.iter_mut().for_each(|i| decode_blobs(model, s, i));
            }
        }
        (ShapeType::Map, Value::Object(obj)) => {
            if let Some(s) = shape.value.as_ref().and_then(|r| model.shape(&r.shape)) {
                obj.values_mut().for_each(|i| decode_blobs(model, s, i));
            }
        }
        (ShapeType::Blob, v @ Value::String(_)) => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            *v = Value::String(String::from_utf8_lossy(&bytes).into_owned());
        }
        _ => {}
    }
}

/// Structural equality; numbers compare by value (botocore: `1 == 1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => (x.as_f64().unwrap_or(f64::NAN) - y.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn error_shape<'m>(model: &'m ServiceModel, code: &str) -> Option<&'m Shape> {
    model.shape_names().find_map(|n| {
        let s = model.shape(n)?;
        let c = s
            .error
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or(n);
        (s.exception && c == code).then_some(s)
    })
}

fn run(case: &Case) -> Verdict {
    let model = &case.model;
    let Some(op) = model.operation(&case.op_name) else {
        return Verdict::Fail("operation missing from model".into());
    };
    let opts = ParseOptions {
        timestamps: TimestampStyle::EpochSeconds,
    };
    let result = parse_with(model, op, &case.response, opts);
    if let Some(expected_fields) = case.raw.get("error") {
        let mut expected = json!({"Error": {
            "Code": case.raw.get("errorCode").and_then(Value::as_str).unwrap_or(""),
            "Message": case.raw.get("errorMessage").and_then(Value::as_str).unwrap_or(""),
        }});
        for (k, v) in expected_fields.as_object().into_iter().flatten() {
            expected[k] = v.clone();
        }
        let e = match result {
            Err(ParseError::Service(e)) => e,
            other => return Verdict::Fail(format!("expected a service error, got {other:?}")),
        };
        let mut actual = json!({"Error": {"Code": e.code, "Message": e.message}});
        let mut fields = Value::Object(e.fields.clone());
        if let Some(s) = error_shape(model, &e.code) {
            decode_blobs(model, s, &mut fields);
        }
        for (k, v) in fields.as_object().into_iter().flatten() {
            actual[k] = v.clone();
        }
        return if same(&actual, &expected) {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("expected {expected}\n     actual   {actual}"))
        };
    }
    let expected = &case.raw["result"];
    match result {
        Err(ParseError::EventStream(_)) => Verdict::Skip(
            "event stream output: needs a streaming frame decoder, and the model crate does not \
             carry the eventpayload/eventheader traits",
        ),
        Err(e) => Verdict::Fail(format!("error: {e}")),
        Ok(mut actual) => {
            if let Some(s) = op.output.as_ref().and_then(|r| model.shape(&r.shape)) {
                decode_blobs(model, s, &mut actual);
            }
            if same(&actual, expected) {
                Verdict::Pass
            } else {
                Verdict::Fail(format!("expected {expected}\n     actual   {actual}"))
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    pass: usize,
    fail: Vec<String>,
    skip: Vec<String>,
    ignored_pass: Vec<String>,
    ignored_fail: Vec<String>,
    adapted: usize,
}

#[test]
fn botocore_output_vectors() {
    let ignore = IgnoreList::load();
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for file in FILES {
        let mut t = Tally::default();
        for case in load(file) {
            let ignored = ignore.ignores(&case.protocol_key, &case.suite, &case.id);
            let label = format!("{} ({})", case.id, case.description);
            t.adapted += usize::from(case.adapted);
            match (run(&case), ignored) {
                (Verdict::Pass, false) => t.pass += 1,
                (Verdict::Fail(why), false) => t.fail.push(format!("{file} {label}\n     {why}")),
                (Verdict::Skip(why), _) => t.skip.push(format!("{label}: {why}")),
                (Verdict::Pass, true) => t.ignored_pass.push(case.id.clone()),
                (Verdict::Fail(why), true) => {
                    if std::env::var_os("PARSE_SHOW_IGNORED").is_some() {
                        println!("    ignored {file} {label}\n     {why}");
                    }
                    t.ignored_fail.push(case.id.clone());
                }
            }
        }
        println!(
            "{file}: {} passed, {} failed, {} skipped, ignored (botocore's list) {} [passing anyway: {:?}; not: {:?}]",
            t.pass,
            t.fail.len(),
            t.skip.len(),
            t.ignored_pass.len() + t.ignored_fail.len(),
            t.ignored_pass,
            t.ignored_fail
        );
        if t.adapted > 0 {
            println!(
                "    {} cases ran on a legacy model adapted to current forms (see adapt_legacy_shapes)",
                t.adapted
            );
        }
        for s in &t.skip {
            println!("    skipped {s}");
        }
        summary.push((*file, t.pass));
        failures.extend(t.fail);
    }
    for file in SKIPPED_FILES {
        let n: usize = serde_json::from_str::<Vec<Value>>(
            &std::fs::read_to_string(data_dir().join(file)).unwrap(),
        )
        .unwrap()
        .iter()
        .map(|s| s["cases"].as_array().map_or(0, Vec::len))
        .sum();
        println!(
            "{file}: {n} cases skipped (smithy-rpc-v2-cbor is not a protocol this parser reads)"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (file, want) in EXPECTED_PASSES {
        let got = summary.iter().find(|(f, _)| f == file).map(|(_, n)| *n);
        assert_eq!(got, Some(*want), "{file}: pass count changed");
    }
    assert_eq!(
        summary.len(),
        EXPECTED_PASSES.len(),
        "every file has an expected pass count"
    );
}

// ---------------------------------------------------------------------------------------------
// Output form, error metadata, hostile input

fn model(protocol: &str, shapes: Value, output: &str, errors: Value) -> ServiceModel {
    let doc = json!({
        "metadata": {"apiVersion": "2024-01-01", "protocol": protocol},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                              "output": {"shape": output}, "errors": errors}},
        "shapes": shapes,
    });
    ServiceModel::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap()
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn output_is_printed_like_aws_cli_v2() {
    let shapes = json!({
        "Out": {"type": "structure", "members": {
            "B": {"shape": "Blob"}, "A": {"shape": "Time"}, "C": {"shape": "Time"},
            "D": {"shape": "Time"}, "H": {"shape": "Time", "location": "header", "locationName": "x-t"},
            "Absent": {"shape": "Str"}}},
        "Blob": {"type": "blob"}, "Time": {"type": "timestamp"}, "Str": {"type": "string"},
    });
    let m = model("rest-json", shapes, "Out", json!([]));
    let op = m.operation("Op").unwrap();
    let resp = response(
        200,
        &[("X-T", "Tue, 29 Apr 2014 18:30:38 GMT")],
        r#"{"D": "2014-04-29T18:30:38.5Z", "C": 1398796238.123, "A": 1398796238, "B": "aGk="}"#,
    );
    let out = parse(&m, op, &resp).unwrap();
    // Model member order, whatever the wire order; absent members omitted.
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"B":"aGk=","A":"2014-04-29T18:30:38+00:00","C":"2014-04-29T18:30:38.123000+00:00","D":"2014-04-29T18:30:38.500000+00:00","H":"2014-04-29T18:30:38+00:00"}"#
    );
}

#[test]
fn error_metadata() {
    let shapes = json!({
        "Out": {"type": "structure", "members": {}},
        "NoSuchThing": {"type": "structure", "exception": true, "members": {"Thing": {"shape": "Str"}}},
        "Str": {"type": "string"},
    });
    // S3: a HEAD answered 404 with no body.
    let m = model(
        "rest-xml",
        shapes.clone(),
        "Out",
        json!([{"shape": "NoSuchThing"}]),
    );
    let op = m.operation("Op").unwrap();
    let r = response(
        404,
        &[("x-amz-request-id", "RID"), ("x-amz-id-2", "HID")],
        "",
    );
    let Err(ParseError::Service(e)) = parse(&m, op, &r) else {
        panic!("expected a service error")
    };
    assert_eq!((e.code.as_str(), e.message.as_str()), ("404", "Not Found"));
    assert_eq!(
        (e.request_id.as_deref(), e.host_id.as_deref()),
        (Some("RID"), Some("HID"))
    );

    // S3's <Error> root, modeled members, request id from the body.
    let r = response(
        404,
        &[],
        "<Error><Code>NoSuchThing</Code><Message>gone</Message><Thing>t</Thing><RequestId>B</RequestId></Error>",
    );
    let Err(ParseError::Service(e)) = parse(&m, op, &r) else {
        panic!("expected a service error")
    };
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), e.request_id.as_deref()),
        ("NoSuchThing", "gone", Some("B"))
    );
    assert_eq!(Value::Object(e.fields.clone()), json!({"Thing": "t"}));

    // query: Type is the fault side.
    let m = model("query", shapes.clone(), "Out", json!([]));
    let op = m.operation("Op").unwrap();
    let r = response(
        400,
        &[],
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>slow</Message></Error><RequestId>Q</RequestId></ErrorResponse>",
    );
    let Err(ParseError::Service(e)) = parse(&m, op, &r) else {
        panic!("expected a service error")
    };
    assert_eq!(
        (e.code.as_str(), e.kind.as_deref(), e.request_id.as_deref()),
        ("Throttling", Some("Sender"), Some("Q"))
    );

    // json: awsQueryCompatible header, request id header, namespace stripped.
    let m = model("json", shapes, "Out", json!([]));
    let op = m.operation("Op").unwrap();
    let r = response(
        400,
        &[
            ("x-amzn-RequestId", "J"),
            ("x-amzn-query-error", "AWS.Old.Code;Receiver"),
        ],
        r#"{"__type": "com.amazon#NoSuchThing", "Message": "m"}"#,
    );
    let Err(ParseError::Service(e)) = parse(&m, op, &r) else {
        panic!("expected a service error")
    };
    assert_eq!(
        (
            e.code.as_str(),
            e.message.as_str(),
            e.kind.as_deref(),
            e.request_id.as_deref()
        ),
        ("AWS.Old.Code", "m", Some("Receiver"), Some("J"))
    );

    // A proxy's HTML 502.
    let r = response(502, &[], "<html><body>Bad Gateway</body></html>");
    let Err(ParseError::Service(e)) = parse(&m, op, &r) else {
        panic!("expected a service error")
    };
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("502", "Bad Gateway")
    );
}

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u8
    }
}

#[test]
fn hostile_responses_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut runs = 0usize;
    let nested = [
        "[".repeat(100_000),
        "{\"a\":".repeat(100_000),
        "<a>".repeat(100_000),
        format!("<r>{}</r>", "<a x='1'>".repeat(5_000)),
        "<r>&bogus;&#0;&#xFFFFFFFF;<![CDATA[".to_string(),
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".to_string(),
    ];
    let odd_headers = [
        ("x-amzn-errortype", ":#"),
        ("x-amzn-query-error", ";;;"),
        ("X-Foo", "\u{7f}\u{0}, \"unterminated"),
        ("x-amz-meta-", ""),
    ];
    for file in FILES {
        for case in load(file) {
            let Some(op) = case.model.operation(&case.op_name) else {
                continue;
            };
            let body = case.response.body.clone();
            let mut bodies: Vec<Vec<u8>> = Vec::new();
            let step = (body.len() / 48).max(1);
            bodies.extend((0..body.len()).step_by(step).map(|n| body[..n].to_vec()));
            bodies.extend((0..4).map(|_| {
                let mut b = body.clone();
                for _ in 0..(b.len() / 8).max(1) {
                    if !b.is_empty() {
                        let i = usize::from(rng.next()) * b.len() / 256;
                        b[i] = rng.next();
                    }
                }
                b
            }));
            bodies.extend((0..2).map(|_| (0..64).map(|_| rng.next()).collect()));
            bodies.extend(nested.iter().map(|s| s.as_bytes().to_vec()));
            for body in bodies {
                for status in [200, 400, 404, 500] {
                    let mut headers = case.response.headers.clone();
                    for h in &mut headers {
                        if rng.next() < 32 {
                            h.1 = String::from_utf8_lossy(&[
                                rng.next(),
                                rng.next(),
                                b',',
                                rng.next(),
                            ])
                            .into_owned();
                        }
                    }
                    headers.extend(
                        odd_headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string())),
                    );
                    let resp = HttpResponse {
                        status,
                        headers,
                        body: body.clone(),
                    };
                    let _ = parse(&case.model, op, &resp);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 10_000, "ran {runs} hostile responses");
}
