//! botocore's request-serialization protocol vectors, run with botocore's comparison rules
//! (`tests/unit/test_protocols.py`): JSON bodies compared as JSON, XML bodies canonicalized,
//! query bodies byte for byte, expected headers a subset of the actual ones, URI (path and query)
//! exact, method exact, host (prefix + endpoint) exact.
//!
//! Cases on botocore's ignore list (`protocol-tests-ignore-list.json`) are run too and reported,
//! but not asserted; the smithy-rpc-v2-cbor files are out of scope and listed as skipped.
//! The vectors are Apache-2.0, from botocore (see `data/LICENSE.txt` and `data/NOTICE`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use portcullis_cli::Value;
use portcullis_model::{ServiceModel, ShapeType};
use portcullis_wire::protocol::serialize::{Body, HttpRequest, fill_idempotency_tokens, serialize};
use serde_json::Value as Json;

/// The files run, with the number of cases in each that must pass (all but the ignored ones).
const FILES: &[(&str, usize)] = &[
    ("input/ec2.json", 21),
    ("input/json.json", 50),
    ("input/json_1_0.json", 18),
    ("input/json_1_0-query-compatible.json", 1),
    ("input/query.json", 32),
    ("input/rest-json.json", 101),
    ("input/rest-xml.json", 82),
    ("legacy/input/ec2.json", 10),
    ("legacy/input/json.json", 22),
    ("legacy/input/query.json", 23),
    ("legacy/input/rest-json.json", 54),
    ("legacy/input/rest-xml.json", 43),
];

/// Out of scope: no CBOR serializer.
const SKIPPED_FILES: &[&str] = &[
    "input/smithy-rpc-v2-cbor.json",
    "input/smithy-rpc-v2-cbor-query-compatible.json",
    "input/smithy-rpc-v2-cbor-non-query-compatible.json",
];

/// Why botocore ignores what it ignores (the list itself gives no reasons), from comparing
/// botocore's behaviour with the vectors; the test output says whether we pass them anyway.
fn ignore_reason(suite: &str, id: &str) -> &'static str {
    match (suite, id) {
        (s, _) if s.contains("PutWithContentEncoding") => {
            "request compression (Content-Encoding: gzip) is a later step in botocore, not serialization"
        }
        (s, _) if s.contains("IdempotencyToken") || s.contains("Idempotency token") => {
            "botocore fills idempotency tokens in a handler; here `fill_idempotency_tokens`, run with a fixed token"
        }
        (s, _) if s.contains("HostWithPathOperation") => {
            "an endpoint URL with a path (`/custom/`) is applied by endpoint resolution, not serialization"
        }
        (_, "Ec2QueryEndpointTraitWithHostLabel" | "Ec2Lists" | "Ec2TimestampsInput") => {
            "Smithy capitalizes bare EC2 member names; botocore relies on its models' locationName/queryName"
        }
        (_, "QueryFlattenedListArgWithXmlName") => {
            "botocore names a flattened query list after its member's locationName; we follow botocore"
        }
        (_, "AwsJson11StructuresDontSerializeNullValues") => {
            "botocore serializes explicit nulls; we leave them out"
        }
        (_, "MediaTypeHeaderInputBase64") => {
            "botocore JSON-encodes a jsonvalue header before base64 (`\"true\"`); Smithy's mediaType does not"
        }
        (_, "RestJsonHttpChecksumRequired") => {
            "Content-MD5 is added by a later botocore step (httpChecksumRequired)"
        }
        (_, "RestJsonNullAndEmptyHeaders" | "NullAndEmptyHeaders") => {
            "botocore leaves out empty list headers; Smithy sends them empty"
        }
        (_, "RestJsonQueryPrecedence" | "RestXmlQueryPrecedence") => {
            "botocore lets a query-string map override named members; named members win here"
        }
        (_, "RestJsonHttpPayloadWithUnsetUnion") => {
            "botocore sends `{}` for an unset structure/union payload; we follow botocore"
        }
        (_, "DocumentTypeAsPayloadInputString" | "DocumentTypeAsPayloadInput") => {
            "botocore mis-serializes a document payload; serialized as the document here"
        }
        (_, "BodyWithXmlName") => {
            "botocore names the root after the input reference's locationName and members after their target's"
        }
        (
            _,
            "XmlAttributesOnPayload"
            | "RestXmlHttpPayloadWithUnion"
            | "HttpPayloadWithXmlName"
            | "HttpPayloadWithXmlNamespace"
            | "HttpPayloadWithXmlNamespaceAndPrefix",
        ) => {
            "botocore names a payload's root element after the member's locationName, Smithy after the target shape"
        }
        _ => "on botocore's ignore list",
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/protocols")
}

struct IgnoreList {
    general_suites: Vec<String>,
    general_cases: Vec<String>,
    protocols: Json,
}

impl IgnoreList {
    fn load() -> IgnoreList {
        let text = std::fs::read_to_string(data_dir().join("protocol-tests-ignore-list.json"))
            .unwrap_or_default();
        let j: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
        let strings = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        IgnoreList {
            general_suites: strings(&j["general"]["input"]["suites"]),
            general_cases: strings(&j["general"]["input"]["cases"]),
            protocols: j["protocols"].clone(),
        }
    }

    /// botocore's `_should_ignore_test`: keyed by the file's base name without `.json`.
    fn ignored(&self, file_protocol: &str, suite: &str, id: &str) -> bool {
        let has = |v: &Json, s: &str| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(s)))
        };
        let p = &self.protocols[file_protocol]["input"];
        self.general_suites.iter().any(|s| s == suite)
            || self.general_cases.iter().any(|c| c == id)
            || has(&p["suites"], suite)
            || has(&p["cases"], id)
    }
}

#[test]
fn botocore_protocol_vectors() {
    let ignore = IgnoreList::load();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut ignored_report = Vec::new();
    let mut counts_ok = true;
    for (file, expected_pass) in FILES {
        let text = std::fs::read_to_string(data_dir().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let suites: Vec<Json> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let file_protocol = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let (mut total, mut passed, mut ignored) = (0, 0, 0);
        for (si, suite) in suites.iter().enumerate() {
            let description = suite["description"].as_str().unwrap_or_default();
            for (ci, case) in suite["cases"].as_array().into_iter().flatten().enumerate() {
                let id = case["id"]
                    .as_str()
                    .map_or_else(|| format!("{description} ({si}:{ci})"), String::from);
                let result = run_case(suite, case);
                if ignore.ignored(
                    file_protocol,
                    description,
                    case["id"].as_str().unwrap_or_default(),
                ) {
                    ignored += 1;
                    ignored_report.push(format!(
                        "  {file} {id}: {} [here: {}]",
                        ignore_reason(description, &id),
                        match &result {
                            Ok(()) => "passes".to_string(),
                            Err(e) => format!("differs: {}", e.lines().next().unwrap_or_default()),
                        }
                    ));
                    continue;
                }
                total += 1;
                match result {
                    Ok(()) => passed += 1,
                    Err(e) => failures.push(format!("{file} {id}: {e}")),
                }
            }
        }
        if passed != *expected_pass {
            counts_ok = false;
        }
        report.push(format!(
            "  {file}: {passed}/{total} pass, {ignored} ignored"
        ));
    }
    println!("serialize vectors:\n{}", report.join("\n"));
    println!(
        "ignored (botocore's ignore list):\n{}",
        ignored_report.join("\n")
    );
    println!(
        "skipped (out of scope, no CBOR):\n  {}",
        SKIPPED_FILES.join("\n  ")
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(counts_ok, "pass counts changed:\n{}", report.join("\n"));
}

/// The one-operation model a case describes, its operation name and its params as `Value`s.
fn build_case(
    suite: &Json,
    case: &Json,
) -> Result<(ServiceModel, String, IndexMap<String, Value>), String> {
    let given = &case["given"];
    let op_name = given["name"]
        .as_str()
        .unwrap_or("OperationName")
        .to_string();
    let mut op_json = given.clone();
    let mut shapes = suite["shapes"].clone();
    normalize_legacy(&mut op_json, &mut shapes);
    let mut metadata = suite["metadata"].clone();
    if metadata.get("apiVersion").is_none() {
        metadata["apiVersion"] = Json::String(String::new());
    }
    let model_json = serde_json::json!({
        "metadata": metadata,
        "operations": { op_name.clone(): op_json },
        "shapes": shapes,
    });
    let mut model: ServiceModel =
        serde_json::from_value(model_json).map_err(|e| format!("model: {e}"))?;
    if let Some(op) = model.operations.get_mut(&op_name) {
        op.name = op_name.clone();
    }
    let input = model
        .operation(&op_name)
        .and_then(|op| op.input.as_ref())
        .map(|r| r.shape.clone());
    let params = match params_value(&model, input.as_deref(), &case["params"]) {
        Value::Map(m) => m,
        _ => IndexMap::new(),
    };
    Ok((model, op_name, params))
}

fn run_case(suite: &Json, case: &Json) -> Result<(), String> {
    let (model, op_name, mut params) = build_case(suite, case)?;
    let op = model.operation(&op_name).ok_or("no operation")?;
    fill_idempotency_tokens(&model, op, &mut params, || {
        "00000000-0000-4000-8000-000000000000".to_string()
    });
    let req = serialize(&model, op, &params).map_err(|e| format!("serialize: {e}"))?;
    compare(&model, op_name.as_str(), &req, &case["serialized"], suite).map_err(|e| {
        format!(
            "{e}\n    actual: {req:?}\n    expected: {}",
            case["serialized"]
        )
    })
}

/// Never panics: every vector's params, with each value in turn replaced by values of every
/// other kind (and hostile text), serialize to a request or a typed error.
#[test]
fn mistyped_params_never_panic() {
    let hostile = [
        Value::Null,
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Float(f64::NAN),
        Value::Float(1e300),
        Value::Str(String::new()),
        Value::Str("a\r\nX-Injected: 1 {x} %zz ../ \u{0}".into()),
        Value::Str("9999-99-99T99:99:99Z".into()),
        Value::Bytes(vec![0xff, 0x00]),
        Value::List(vec![]),
        Value::List(vec![Value::Null, Value::Str("x".into())]),
        Value::Map(IndexMap::new()),
        Value::Map(
            [("Unknown\n".to_string(), Value::Int(1))]
                .into_iter()
                .collect(),
        ),
        Value::Stream(portcullis_cli::LocalFile { path: "f".into() }),
    ];
    let mut runs = 0usize;
    for (file, _) in FILES {
        let text = std::fs::read_to_string(data_dir().join(file)).unwrap_or_default();
        let suites: Vec<Json> = serde_json::from_str(&text).unwrap_or_default();
        for suite in &suites {
            for case in suite["cases"].as_array().into_iter().flatten() {
                let Ok((model, op_name, params)) = build_case(suite, case) else {
                    continue;
                };
                let Some(op) = model.operation(&op_name) else {
                    continue;
                };
                let root = Value::Map(params);
                for i in 0..count_nodes(&root) {
                    for h in &hostile {
                        let mut mutated = root.clone();
                        replace_nth(&mut mutated, &mut i.clone(), h);
                        if let Value::Map(p) = mutated {
                            let _ = serialize(&model, op, &p);
                            runs += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(runs > 10_000, "only {runs} mutated requests");
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::List(items) => items.iter().map(count_nodes).sum(),
        Value::Map(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Replaces the `n`th node (pre-order) under `v`, never the root itself.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) {
    let children: Vec<&mut Value> = match v {
        Value::List(items) => items.iter_mut().collect(),
        Value::Map(m) => m.values_mut().collect(),
        _ => return,
    };
    for child in children {
        if *n == 0 {
            return;
        }
        *n -= 1;
        if *n == 0 {
            *child = with.clone();
            return;
        }
        replace_nth(child, n, with);
    }
}

/// The legacy vectors put some traits where real botocore models never do; botocore merges a
/// reference's traits with its shape's, so moving them is equivalent:
/// - `http` without `requestUri` (json, query) gets `/`, as botocore would never read it;
/// - `payload` on the operation's input reference moves to the input shape;
/// - `location` (+ `locationName`) on a shape moves to the member references that target it.
fn normalize_legacy(op: &mut Json, shapes: &mut Json) {
    if op.get("http").is_none() {
        op["http"] = serde_json::json!({"method": "POST"});
    }
    if op["http"].get("requestUri").is_none() {
        op["http"]["requestUri"] = Json::String("/".into());
    }
    let input_shape = op["input"]["shape"].as_str().map(String::from);
    if let (Some(payload), Some(name)) = (op["input"].get("payload").cloned(), input_shape)
        && let Some(shape) = shapes.get_mut(&name)
    {
        shape["payload"] = payload;
    }
    let located: BTreeMap<String, (Json, Json)> = shapes
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, s)| s.get("location").is_some())
        .map(|(n, s)| {
            (
                n.clone(),
                (s["location"].clone(), s["locationName"].clone()),
            )
        })
        .collect();
    for shape in shapes
        .as_object_mut()
        .into_iter()
        .flat_map(|o| o.values_mut())
    {
        for member in shape
            .get_mut("members")
            .and_then(|m| m.as_object_mut())
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let Some((location, location_name)) =
                member["shape"].as_str().and_then(|t| located.get(t))
            else {
                continue;
            };
            if member.get("location").is_none() {
                member["location"] = location.clone();
            }
            if member.get("locationName").is_none() && !location_name.is_null() {
                member["locationName"] = location_name.clone();
            }
        }
    }
}

/// The vectors' JSON params as validated `Value`s: blobs as bytes, special floats as floats.
fn params_value(model: &ServiceModel, shape: Option<&str>, j: &Json) -> Value {
    let Some(shape) = shape.and_then(|s| model.shape(s)) else {
        return Value::from_json(j.clone());
    };
    if j.is_null() {
        return Value::Null;
    }
    if shape.document {
        return Value::from_json(j.clone());
    }
    match (shape.kind, j) {
        (ShapeType::Structure, Json::Object(o)) => Value::Map(
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        params_value(model, shape.members.get(k).map(|r| r.shape.as_str()), v),
                    )
                })
                .collect(),
        ),
        (ShapeType::Map, Json::Object(o)) => Value::Map(
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        params_value(model, shape.value.as_ref().map(|r| r.shape.as_str()), v),
                    )
                })
                .collect(),
        ),
        (ShapeType::List, Json::Array(a)) => Value::List(
            a.iter()
                .map(|v| params_value(model, shape.member.as_ref().map(|r| r.shape.as_str()), v))
                .collect(),
        ),
        (ShapeType::Blob, Json::String(s)) => Value::Bytes(s.as_bytes().to_vec()),
        (ShapeType::Float | ShapeType::Double, Json::String(s)) => match s.as_str() {
            "Infinity" => Value::Float(f64::INFINITY),
            "-Infinity" => Value::Float(f64::NEG_INFINITY),
            "NaN" => Value::Float(f64::NAN),
            _ => Value::Str(s.clone()),
        },
        _ => Value::from_json(j.clone()),
    }
}

fn compare(
    model: &ServiceModel,
    op_name: &str,
    req: &HttpRequest,
    expected: &Json,
    suite: &Json,
) -> Result<(), String> {
    let protocol = model.metadata.protocol.as_str();
    if let Some(body) = expected.get("body").and_then(|b| b.as_str()) {
        let actual = match &req.body {
            Body::Bytes(b) => b.as_slice(),
            Body::File(f) => return Err(format!("body is a file {f}")),
        };
        let same = match protocol {
            "json" => {
                let a: Json = serde_json::from_slice(actual)
                    .map_err(|e| format!("actual body is not JSON: {e}"))?;
                let e: Json = serde_json::from_str(body)
                    .map_err(|e| format!("expected body is not JSON: {e}"))?;
                json_eq(&a, &e)
            }
            "rest-json" => match (
                serde_json::from_slice::<Json>(actual),
                serde_json::from_str::<Json>(body),
            ) {
                (Ok(a), Ok(e)) => json_eq(&a, &e),
                _ => actual == body.as_bytes(),
            },
            "rest-xml" => match (xml_canon(actual), xml_canon(body.as_bytes())) {
                (Ok(a), Ok(e)) => a == e,
                _ => actual == body.as_bytes(),
            },
            _ => actual == body.as_bytes(),
        };
        if !same {
            return Err(format!(
                "body differs: {:?} != {:?}",
                String::from_utf8_lossy(actual),
                body
            ));
        }
    }

    // Headers: botocore's adjustments, then expected ⊆ actual.
    let mut actual_headers: BTreeMap<String, String> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let mut expected_headers: BTreeMap<String, String> = expected["headers"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(input) = model
        .operation(op_name)
        .and_then(|op| model.input_shape(op))
    {
        for member in input.members.values() {
            let list = model
                .shape(&member.shape)
                .filter(|s| s.kind == ShapeType::List);
            let (Some(list), Some(name), Some("header")) = (
                list,
                member.location_name.as_deref(),
                member.location.as_deref(),
            ) else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if let Some(v) = expected_headers.get_mut(&name) {
                *v = v.replace(", ", ",");
            }
            let of_timestamps = list
                .member
                .as_ref()
                .and_then(|m| model.shape(&m.shape))
                .is_some_and(|s| s.kind == ShapeType::Timestamp);
            if of_timestamps && let Some(v) = actual_headers.get_mut(&name) {
                *v = v.replace(", ", ",");
            }
        }
    }
    match protocol {
        "query" | "ec2" => {
            if let Some(ct) = expected_headers.get_mut("content-type")
                && !ct.contains("charset=utf-8")
            {
                ct.push_str("; charset=utf-8");
            }
        }
        "rest-xml" => {
            expected_headers.remove("content-type");
        }
        "rest-json"
            if expected_headers
                .get("content-type")
                .is_some_and(|ct| ct != "application/json") =>
        {
            expected_headers.remove("content-type");
        }
        _ => {}
    }
    for (k, v) in &expected_headers {
        match actual_headers.get(k) {
            Some(a) if a == v => {}
            other => return Err(format!("header {k}: expected {v:?}, got {other:?}")),
        }
    }
    for forbidden in expected["forbidHeaders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str())
    {
        if actual_headers.contains_key(&forbidden.to_ascii_lowercase()) {
            return Err(format!("forbidden header {forbidden} present"));
        }
    }

    let uri = expected["uri"].as_str().unwrap_or_default();
    if req.path_and_query() != uri {
        return Err(format!("uri: {:?} != {uri:?}", req.path_and_query()));
    }
    if let Some(m) = expected["method"].as_str()
        && req.method != m
    {
        return Err(format!("method: {} != {m}", req.method));
    }
    if let Some(host) = expected["host"].as_str() {
        let endpoint = suite["clientEndpoint"]
            .as_str()
            .unwrap_or("https://example.com");
        let netloc = endpoint
            .split_once("://")
            .map_or(endpoint, |(_, r)| r)
            .split('/')
            .next()
            .unwrap_or_default();
        let actual = format!("{}{netloc}", req.host_prefix.as_deref().unwrap_or_default());
        if actual != host {
            return Err(format!("host: {actual} != {host}"));
        }
    }
    Ok(())
}

/// Python's `==` on parsed JSON: numbers compare by value (`1 == 1.0`).
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A canonical XML element: what `ET.canonicalize(strip_text=True)` keeps.
#[derive(Debug, PartialEq)]
struct XmlNode {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<XmlNode>,
}

fn xml_canon(bytes: &[u8]) -> Result<XmlNode, String> {
    let s = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut p = XmlParser { s, i: 0 };
    p.misc();
    let mut scope = vec![BTreeMap::new()];
    let node = p.element(&mut scope)?;
    p.misc();
    if p.i != s.len() {
        return Err("trailing content".into());
    }
    Ok(node)
}

struct XmlParser<'a> {
    s: &'a str,
    i: usize,
}

impl XmlParser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.i += r.len() - r.trim_start().len();
    }

    /// Whitespace, the XML declaration, comments.
    fn misc(&mut self) {
        loop {
            self.ws();
            let end = if self.rest().starts_with("<?") {
                self.rest().find("?>").map(|e| e + 2)
            } else if self.rest().starts_with("<!--") {
                self.rest().find("-->").map(|e| e + 3)
            } else {
                None
            };
            match end {
                Some(e) => self.i += e,
                None => return,
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let r = self.rest();
        let n = r
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '='))
            .unwrap_or(r.len());
        if n == 0 {
            return Err(format!("expected a name at {}", self.i));
        }
        let name = r[..n].to_string();
        self.i += n;
        Ok(name)
    }

    fn element(&mut self, scope: &mut Vec<BTreeMap<String, String>>) -> Result<XmlNode, String> {
        if !self.rest().starts_with('<') {
            return Err(format!("expected < at {}", self.i));
        }
        self.i += 1;
        let name = self.name()?;
        let mut attrs = Vec::new();
        let mut ns = scope.last().cloned().unwrap_or_default();
        loop {
            self.ws();
            if self.rest().starts_with("/>") || self.rest().starts_with('>') {
                break;
            }
            let key = self.name()?;
            self.ws();
            if !self.rest().starts_with('=') {
                return Err("expected =".into());
            }
            self.i += 1;
            self.ws();
            let quote = self.rest().chars().next().ok_or("eof")?;
            if quote != '"' && quote != '\'' {
                return Err("expected quote".into());
            }
            self.i += 1;
            let end = self.rest().find(quote).ok_or("unterminated attribute")?;
            let value = unescape(&self.rest()[..end])?;
            self.i += end + 1;
            if key == "xmlns" || key.starts_with("xmlns:") {
                // A declaration that changes nothing in scope is dropped, as C14N does.
                if ns.get(&key) == Some(&value) {
                    continue;
                }
                ns.insert(key.clone(), value.clone());
            }
            attrs.push((key, value));
        }
        attrs.sort();
        let mut node = XmlNode {
            name: name.clone(),
            attrs,
            text: String::new(),
            children: Vec::new(),
        };
        if self.rest().starts_with("/>") {
            self.i += 2;
            return Ok(node);
        }
        self.i += 1;
        scope.push(ns);
        loop {
            let r = self.rest();
            if r.is_empty() {
                return Err("unterminated element".into());
            }
            if r.starts_with("</") {
                self.i += 2;
                let close = self.name()?;
                if close != name {
                    return Err(format!("mismatched </{close}>"));
                }
                self.ws();
                if !self.rest().starts_with('>') {
                    return Err("expected >".into());
                }
                self.i += 1;
                break;
            }
            if r.starts_with("<!--") {
                self.i += r.find("-->").ok_or("unterminated comment")? + 3;
                continue;
            }
            if r.starts_with('<') {
                node.children.push(self.element(scope)?);
                continue;
            }
            let n = r.find('<').unwrap_or(r.len());
            node.text.push_str(unescape(&r[..n])?.trim());
            self.i += n;
        }
        scope.pop();
        Ok(node)
    }
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').ok_or("bad entity")? + amp;
        let ent = &rest[amp + 1..semi];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ if ent.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&ent[2..], 16).map_err(|e| e.to_string())?)
                    .ok_or("bad char")?
            }
            _ if ent.starts_with('#') => {
                char::from_u32(ent[1..].parse().map_err(|_| "bad char ref")?).ok_or("bad char")?
            }
            _ => return Err(format!("unknown entity {ent}")),
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
