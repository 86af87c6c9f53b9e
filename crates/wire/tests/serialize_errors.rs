//! What the serializers refuse, and the behaviours the vectors do not pin.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use indexmap::IndexMap;
use portcullis_cli::{LocalFile, Value};
use portcullis_model::ServiceModel;
use portcullis_wire::protocol::serialize::{
    Body, SerializeError, fill_idempotency_tokens, render_query, serialize,
};
use serde_json::json;

/// A rest-json model in the shape of S3's object operations.
fn rest_model(protocol: &str) -> ServiceModel {
    let mut model: ServiceModel = serde_json::from_value(json!({
        "metadata": {"apiVersion": "2006-03-01", "protocol": protocol},
        "operations": {
            "PutObject": {
                "name": "PutObject",
                "http": {"method": "PUT", "requestUri": "/{Bucket}/{Key+}?x-id=PutObject"},
                "input": {"shape": "PutObjectRequest"},
                "endpoint": {"hostPrefix": "{AccountId}."}
            },
            "Nest": {
                "name": "Nest",
                "http": {"method": "POST", "requestUri": "/nest"},
                "input": {"shape": "Node"}
            }
        },
        "shapes": {
            "PutObjectRequest": {
                "type": "structure",
                "required": ["Bucket", "Key"],
                "members": {
                    "AccountId": {"shape": "String", "hostLabel": true, "location": "header", "locationName": "x-amz-account-id"},
                    "Bucket": {"shape": "String", "location": "uri", "locationName": "Bucket"},
                    "Key": {"shape": "String", "location": "uri", "locationName": "Key"},
                    "ContentType": {"shape": "String", "location": "header", "locationName": "Content-Type"},
                    "Expires": {"shape": "Timestamp", "location": "header", "locationName": "Expires"},
                    "Metadata": {"shape": "Metadata", "location": "headers", "locationName": "x-amz-meta-"},
                    "Body": {"shape": "Blob", "streaming": true},
                    "Token": {"shape": "String", "idempotencyToken": true, "location": "querystring", "locationName": "token"}
                },
                "payload": "Body"
            },
            "Node": {"type": "structure", "members": {"Child": {"shape": "Node"}, "Name": {"shape": "String"}}},
            "Metadata": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
            "String": {"type": "string"},
            "Blob": {"type": "blob", "streaming": true},
            "Timestamp": {"type": "timestamp"}
        }
    }))
    .unwrap_or_else(|e| panic!("model: {e}"));
    for (name, op) in &mut model.operations {
        op.name = name.clone();
    }
    model
}

fn params(pairs: &[(&str, Value)]) -> IndexMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn put(
    p: &[(&str, Value)],
) -> Result<portcullis_wire::protocol::serialize::HttpRequest, SerializeError> {
    let model = rest_model("rest-xml");
    let op = model
        .operation("PutObject")
        .unwrap_or_else(|| panic!("no op"));
    serialize(&model, op, &params(p))
}

#[test]
fn greedy_labels_keep_slashes_and_constant_query_comes_first() {
    let req = put(&[
        ("AccountId", s("123456789012")),
        ("Bucket", s("my bucket")),
        ("Key", s("a b/c?d&e/ü")),
        ("Token", s("t")),
        ("Expires", Value::Int(0)),
        (
            "Metadata",
            Value::Map([("color".to_string(), s("blue"))].into_iter().collect()),
        ),
        (
            "Body",
            Value::Stream(LocalFile {
                path: "big.iso".into(),
            }),
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(req.method, "PUT");
    assert_eq!(req.path, "/my%20bucket/a%20b/c%3Fd%26e/%C3%BC");
    assert_eq!(req.query_string(), "x-id=PutObject&token=t");
    assert_eq!(
        req.path_and_query(),
        "/my%20bucket/a%20b/c%3Fd%26e/%C3%BC?x-id=PutObject&token=t"
    );
    assert_eq!(req.host_prefix.as_deref(), Some("123456789012."));
    assert_eq!(req.header("expires"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
    assert_eq!(req.header("x-amz-meta-color"), Some("blue"));
    // A streaming payload stays a file for the transport to stream.
    assert_eq!(req.body, Body::File("big.iso".into()));
    assert_eq!(
        render_query(&[("uploads".into(), None), ("a b".into(), Some("=&".into()))]),
        "uploads&a%20b=%3D%26"
    );
}

#[test]
fn labels_must_be_present_and_non_empty() {
    let e = put(&[("AccountId", s("1")), ("Bucket", s("b"))]);
    assert_eq!(e, Err(SerializeError::MissingLabel("Key".into())));
    let e = put(&[("AccountId", s("1")), ("Bucket", s("b")), ("Key", s(""))]);
    assert_eq!(e, Err(SerializeError::EmptyLabel("Key".into())));
}

#[test]
fn host_labels_are_checked() {
    for bad in ["evil.com/x", "a b", "", "x:80"] {
        let e = put(&[("AccountId", s(bad)), ("Bucket", s("b")), ("Key", s("k"))]);
        assert_eq!(
            e,
            Err(SerializeError::InvalidHostLabel("AccountId".into())),
            "{bad}"
        );
    }
    let e = put(&[("Bucket", s("b")), ("Key", s("k"))]);
    assert_eq!(e, Err(SerializeError::InvalidHostLabel("AccountId".into())));
}

#[test]
fn headers_cannot_be_split() {
    let base = [("AccountId", s("1")), ("Bucket", s("b")), ("Key", s("k"))];
    let mut p = base.to_vec();
    p.push(("ContentType", s("text/plain\r\nX-Amz-Security-Token: x")));
    assert!(matches!(
        put(&p),
        Err(SerializeError::InvalidHeaderValue(_))
    ));
    let mut p = base.to_vec();
    p.push((
        "Metadata",
        Value::Map([("a\r\nb".to_string(), s("v"))].into_iter().collect()),
    ));
    assert!(matches!(
        put(&p),
        Err(SerializeError::InvalidHeaderValue(_))
    ));
    let mut p = base.to_vec();
    p.push((
        "Metadata",
        Value::Map([("k".to_string(), s("v\n"))].into_iter().collect()),
    ));
    assert!(matches!(
        put(&p),
        Err(SerializeError::InvalidHeaderValue(_))
    ));
}

#[test]
fn typed_errors_for_bad_values() {
    let base = [("AccountId", s("1")), ("Bucket", s("b")), ("Key", s("k"))];
    let mut p = base.to_vec();
    p.push(("Nope", s("x")));
    assert!(matches!(put(&p), Err(SerializeError::UnknownMember { .. })));
    let mut p = base.to_vec();
    p.push(("Expires", s("next tuesday")));
    assert!(matches!(
        put(&p),
        Err(SerializeError::InvalidTimestamp { .. })
    ));
    let mut p = base.to_vec();
    p.push(("Metadata", s("not a map")));
    assert!(matches!(put(&p), Err(SerializeError::TypeMismatch { .. })));
    let mut p = base.to_vec();
    p.push(("ContentType", Value::Stream(LocalFile { path: "x".into() })));
    assert!(matches!(put(&p), Err(SerializeError::StreamNotAllowed(_))));
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    for protocol in ["rest-json", "rest-xml", "json", "query", "ec2"] {
        let mut model = rest_model(protocol);
        model.metadata.json_version = Some("1.1".into());
        model.metadata.target_prefix = Some("Svc".into());
        let op = model.operation("Nest").unwrap_or_else(|| panic!("no op"));
        let mut v = Value::Map(params(&[("Name", s("leaf"))]));
        for _ in 0..200 {
            v = Value::Map(params(&[("Child", v)]));
        }
        let Value::Map(p) = v else { unreachable!() };
        assert!(
            matches!(serialize(&model, op, &p), Err(SerializeError::TooDeep(_))),
            "{protocol}"
        );
        // Far deeper than MAX_DEPTH, yet shallow enough to build and drop on the test stack.
    }
}

#[test]
fn unknown_protocol_and_missing_metadata() {
    let model = rest_model("smithy-rpc-v2-cbor");
    let op = model.operation("Nest").unwrap_or_else(|| panic!("no op"));
    assert_eq!(
        serialize(&model, op, &IndexMap::new()),
        Err(SerializeError::UnsupportedProtocol(
            "smithy-rpc-v2-cbor".into()
        ))
    );
    let model = rest_model("json");
    let op = model.operation("Nest").unwrap_or_else(|| panic!("no op"));
    assert_eq!(
        serialize(&model, op, &IndexMap::new()),
        Err(SerializeError::MissingMetadata("targetPrefix"))
    );
}

#[test]
fn idempotency_tokens_fill_only_what_is_missing() {
    let model = rest_model("rest-xml");
    let op = model
        .operation("PutObject")
        .unwrap_or_else(|| panic!("no op"));
    let mut p = params(&[("Bucket", s("b"))]);
    assert_eq!(
        fill_idempotency_tokens(&model, op, &mut p, || "tok".into()),
        vec!["Token".to_string()]
    );
    assert_eq!(p.get("Token"), Some(&s("tok")));
    assert!(fill_idempotency_tokens(&model, op, &mut p, || "other".into()).is_empty());
    assert_eq!(p.get("Token"), Some(&s("tok")));
}
