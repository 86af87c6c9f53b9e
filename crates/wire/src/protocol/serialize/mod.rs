//! Request serializers: validated parameters + the service model → the parts of an HTTP request.
//!
//! # Brief overview
//!
//! [`serialize`] takes a [`ServiceModel`], one of its [`Operation`]s and the validated parameters
//! (a map of [`Value`]s, as `portcullis-cli` produces them) and returns an [`HttpRequest`]: method,
//! percent-encoded path, decoded query pairs, headers, a [`Body`] and the endpoint host prefix.
//! It dispatches on `metadata.protocol`:
//!
//! | protocol    | module   | body                                                          |
//! |-------------|----------|---------------------------------------------------------------|
//! | `json`      | `json`   | JSON document, `X-Amz-Target`, `application/x-amz-json-1.x`   |
//! | `rest-json` | `rest`   | URI labels, query, headers + JSON body or raw payload         |
//! | `rest-xml`  | `rest`   | URI labels, query, headers + XML body or raw payload          |
//! | `query`     | `query`  | form-encoded `Action=…&Version=…&Member.1=…`                  |
//! | `ec2`       | `query`  | as `query`, with EC2's naming rules                           |
//!
//! The behaviour is botocore's (`botocore/serialize.py`), pinned by botocore's own protocol test
//! vectors (`tests/serialize.rs`). A streaming payload that names a local file becomes
//! [`Body::File`], so the transport can stream it; nothing here reads files or the network.
//! Serialization never panics: mistyped values, unknown members, bad timestamps, header values
//! that would split a header line and over-deep nesting all come back as a [`SerializeError`].
//!
//! Idempotency tokens are not invented here (that needs randomness and must happen before the
//! request is approved): call [`fill_idempotency_tokens`] first, as botocore's handler does.
//!
//! ```
//! use indexmap::IndexMap;
//! use portcullis_cli::Value;
//! use portcullis_model::ServiceModel;
//! use portcullis_wire::protocol::serialize::serialize;
//!
//! let model: ServiceModel = serde_json::from_value(serde_json::json!({
//!     "metadata": {"apiVersion": "2012-11-05", "protocol": "query"},
//!     "operations": {"GetQueueUrl": {"name": "GetQueueUrl",
//!         "http": {"method": "POST", "requestUri": "/"},
//!         "input": {"shape": "GetQueueUrlRequest"}}},
//!     "shapes": {
//!         "GetQueueUrlRequest": {"type": "structure", "members": {"QueueName": {"shape": "String"}}},
//!         "String": {"type": "string"}}
//! })).unwrap();
//! let op = model.operation("GetQueueUrl").unwrap();
//! let mut params = IndexMap::new();
//! params.insert("QueueName".to_string(), Value::Str("my queue".into()));
//! let req = serialize(&model, op, &params).unwrap();
//! assert_eq!(req.body.as_bytes(), Some(&b"Action=GetQueueUrl&Version=2012-11-05&QueueName=my%20queue"[..]));
//! ```

mod json;
mod query;
mod rest;
mod text;
mod timestamp;
mod xml;

use indexmap::IndexMap;
use portcullis_cli::Value;
use portcullis_model::{Operation, ServiceModel, Shape, ShapeRef, ShapeType};

pub use text::{percent_encode, percent_encode_path};
pub use timestamp::{Timestamp, TimestampFormat};

/// How deep parameters may nest before serialization gives up (a guard against stack exhaustion;
/// real AWS shapes nest far less).
pub const MAX_DEPTH: usize = 64;

/// The serialized request, before endpoint resolution and signing.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ... as the model says.
    pub method: String,
    /// The URI path with labels filled, percent-encoded as botocore does; no query.
    pub path: String,
    /// Decoded query parameters in botocore's order: the constant ones of the request URI first
    /// (`?uploads` is `("uploads", None)`), then the members bound to the query string.
    pub query: Vec<(String, Option<String>)>,
    /// Headers in the order botocore sets them (names as the model spells them).
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// The operation's endpoint `hostPrefix` with its labels filled (`foo.bar.`), to prepend to
    /// the endpoint host.
    pub host_prefix: Option<String>,
}

impl HttpRequest {
    /// The query string as botocore renders it (`a=1&a=2&flag`), without the leading `?`.
    pub fn query_string(&self) -> String {
        render_query(&self.query)
    }

    /// Path and query as they go on the request line.
    pub fn path_and_query(&self) -> String {
        let q = self.query_string();
        if q.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{q}", self.path)
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request body: bytes in memory, or a local file to be streamed by the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    /// A streaming payload read from this local file (as the command named it) when the request
    /// is sent, through the sandbox's path policy.
    File(String),
}

impl Body {
    /// The bytes, when the body is in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(b) => Some(b),
            Body::File(_) => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Body::Bytes(b) if b.is_empty())
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::Bytes(Vec::new())
    }
}

/// Why a request could not be serialized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SerializeError {
    #[error("protocol `{0}` is not supported")]
    UnsupportedProtocol(String),
    #[error("the service model lacks `{0}` in its metadata")]
    MissingMetadata(&'static str),
    #[error("the service model has no shape `{0}`")]
    MissingShape(String),
    #[error("`{member}` is not a member of `{shape}`")]
    UnknownMember { shape: String, member: String },
    #[error("`{path}` should be a {expected}, not a {found}")]
    TypeMismatch {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("the request URI needs `{0}`, which is missing")]
    MissingLabel(String),
    #[error("the request URI label `{0}` is empty")]
    EmptyLabel(String),
    #[error(
        "invalid value for host label `{0}`: must contain only alphanumeric characters, hyphen, or period"
    )]
    InvalidHostLabel(String),
    #[error("the host prefix `{0}` names a label that is not an input member")]
    UnresolvedHostPrefix(String),
    #[error("`{path}`: invalid timestamp `{value}`")]
    InvalidTimestamp { path: String, value: String },
    #[error("unknown timestamp format `{0}`")]
    UnknownTimestampFormat(String),
    #[error("header `{0}` would contain a line break or another control character")]
    InvalidHeaderValue(String),
    #[error("`{0}`: a local file can only be a streaming payload")]
    StreamNotAllowed(String),
    #[error("parameters nest deeper than {MAX_DEPTH} levels at `{0}`")]
    TooDeep(String),
}

/// Serializes the parameters of one operation call into the parts of an HTTP request.
pub fn serialize(
    model: &ServiceModel,
    op: &Operation,
    params: &IndexMap<String, Value>,
) -> Result<HttpRequest, SerializeError> {
    let ctx = Ctx { model, op };
    match crate::protocol::resolve(model) {
        "json" => json::serialize_rpc(&ctx, params),
        "rest-json" => rest::serialize(&ctx, params, rest::Flavor::Json),
        "rest-xml" => rest::serialize(&ctx, params, rest::Flavor::Xml),
        "query" => query::serialize(&ctx, params, query::Dialect::Query),
        "ec2" => query::serialize(&ctx, params, query::Dialect::Ec2),
        other => Err(SerializeError::UnsupportedProtocol(other.to_string())),
    }
}

/// Fills the top-level idempotency-token members the caller left out, with tokens from
/// `new_token` (botocore uses a random UUID v4). Returns the names filled. Call it before the
/// request is digested for approval, so what is approved is what runs.
pub fn fill_idempotency_tokens(
    model: &ServiceModel,
    op: &Operation,
    params: &mut IndexMap<String, Value>,
    mut new_token: impl FnMut() -> String,
) -> Vec<String> {
    let Some(input) = model.input_shape(op) else {
        return Vec::new();
    };
    let mut filled = Vec::new();
    for (name, member) in &input.members {
        if member.idempotency_token && !params.contains_key(name) {
            params.insert(name.clone(), Value::Str(new_token()));
            filled.push(name.clone());
        }
    }
    filled
}

/// Renders decoded query pairs as botocore does (RFC 3986 unreserved characters kept).
pub fn render_query(pairs: &[(String, Option<String>)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        if let Some(v) = v {
            out.push('=');
            out.push_str(&percent_encode(v));
        }
    }
    out
}

/// What every serializer needs: the model and the operation.
pub(crate) struct Ctx<'a> {
    pub model: &'a ServiceModel,
    pub op: &'a Operation,
}

impl<'a> Ctx<'a> {
    /// The operation's API name (the `operations` key), falling back to its wire name.
    pub fn op_name(&self) -> &'a str {
        if self.op.name.is_empty() {
            &self.op.wire_name
        } else {
            &self.op.name
        }
    }

    /// A reference resolved to its shape, with the reference's traits layered over the shape's.
    pub fn member(&self, r: &'a ShapeRef) -> Result<Member<'a>, SerializeError> {
        let shape = self
            .model
            .shape(&r.shape)
            .ok_or_else(|| SerializeError::MissingShape(r.shape.clone()))?;
        Ok(Member { r, shape })
    }

    /// The operation's input structure, if it has one.
    pub fn input(&self) -> Result<Option<Member<'a>>, SerializeError> {
        self.op.input.as_ref().map(|r| self.member(r)).transpose()
    }

    /// The endpoint host prefix with its `{Label}`s filled from the host-label members.
    pub fn host_prefix(
        &self,
        params: &IndexMap<String, Value>,
    ) -> Result<Option<String>, SerializeError> {
        let Some(template) = self
            .op
            .endpoint
            .as_ref()
            .and_then(|e| e.get("hostPrefix"))
            .and_then(|v| v.as_str())
        else {
            return Ok(None);
        };
        let Some(input) = self.input()? else {
            return Ok(Some(template.to_string()));
        };
        let mut out = template.to_string();
        for (name, member) in &input.shape.members {
            if !member.host_label {
                continue;
            }
            let value = match params.get(name) {
                Some(Value::Str(s)) => s.as_str(),
                _ => return Err(SerializeError::InvalidHostLabel(name.clone())),
            };
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(SerializeError::InvalidHostLabel(name.clone()));
            }
            out = out.replace(&format!("{{{name}}}"), value);
        }
        if out.contains('{') || out.contains('}') {
            return Err(SerializeError::UnresolvedHostPrefix(template.to_string()));
        }
        Ok(Some(out))
    }
}

/// A shape as seen through the reference that points at it: botocore merges the reference's
/// serialization traits (`locationName`, `flattened`, `xmlNamespace`, `timestampFormat`) over
/// the shape's own.
#[derive(Clone, Copy)]
pub(crate) struct Member<'a> {
    pub r: &'a ShapeRef,
    pub shape: &'a Shape,
}

impl<'a> Member<'a> {
    pub fn kind(&self) -> ShapeType {
        self.shape.kind
    }

    pub fn shape_name(&self) -> &'a str {
        &self.r.shape
    }

    /// `locationName` of the reference, else of the shape.
    pub fn location_name(&self) -> Option<&'a str> {
        self.r
            .location_name
            .as_deref()
            .or(self.shape.location_name.as_deref())
    }

    pub fn flattened(&self) -> bool {
        self.r.flattened || self.shape.flattened
    }

    pub fn xml_namespace(&self) -> Option<&'a serde_json::Value> {
        self.r
            .xml_namespace
            .as_ref()
            .or(self.shape.xml_namespace.as_ref())
    }

    /// The member's explicit timestamp format, if any.
    pub fn timestamp_format(&self) -> Result<Option<TimestampFormat>, SerializeError> {
        self.r
            .timestamp_format
            .as_deref()
            .or(self.shape.timestamp_format.as_deref())
            .map(TimestampFormat::parse)
            .transpose()
    }

    /// The structure member `name`, or an error naming this shape.
    pub fn child(&self, ctx: &Ctx<'a>, name: &str) -> Result<Member<'a>, SerializeError> {
        let r = self
            .shape
            .members
            .get(name)
            .ok_or_else(|| SerializeError::UnknownMember {
                shape: self.r.shape.clone(),
                member: name.to_string(),
            })?;
        ctx.member(r)
    }

    /// The element of a list.
    pub fn list_member(&self, ctx: &Ctx<'a>) -> Result<Member<'a>, SerializeError> {
        self.shape.member.as_ref().map_or_else(
            || {
                Err(SerializeError::MissingShape(format!(
                    "{}.member",
                    self.r.shape
                )))
            },
            |r| ctx.member(r),
        )
    }

    /// The key and value of a map.
    pub fn map_entry(&self, ctx: &Ctx<'a>) -> Result<(Member<'a>, Member<'a>), SerializeError> {
        match (&self.shape.key, &self.shape.value) {
            (Some(k), Some(v)) => Ok((ctx.member(k)?, ctx.member(v)?)),
            _ => Err(SerializeError::MissingShape(format!(
                "{}.key/value",
                self.r.shape
            ))),
        }
    }

    /// A structure member's name on the wire: its `locationName`, else its name in the model.
    pub fn wire_name<'n>(&self, default: &'n str) -> &'n str
    where
        'a: 'n,
    {
        self.location_name().unwrap_or(default)
    }
}

/// The structure's entries, or a type error naming `path`.
pub(crate) fn expect_map<'v>(
    value: &'v Value,
    path: &str,
) -> Result<&'v IndexMap<String, Value>, SerializeError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(mismatch(path, "structure or map", other)),
    }
}

pub(crate) fn expect_list<'v>(value: &'v Value, path: &str) -> Result<&'v [Value], SerializeError> {
    match value {
        Value::List(l) => Ok(l),
        other => Err(mismatch(path, "list", other)),
    }
}

pub(crate) fn mismatch(path: &str, expected: &'static str, found: &Value) -> SerializeError {
    if let Value::Stream(_) = found {
        return SerializeError::StreamNotAllowed(path.to_string());
    }
    SerializeError::TypeMismatch {
        path: path.to_string(),
        expected,
        found: found.type_name(),
    }
}

pub(crate) fn check_depth(depth: usize, path: &str) -> Result<(), SerializeError> {
    if depth > MAX_DEPTH {
        Err(SerializeError::TooDeep(path.to_string()))
    } else {
        Ok(())
    }
}

pub(crate) fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The text of a scalar as botocore writes it in query strings, XML, headers and URI labels:
/// booleans `true`/`false`, floats as Python prints them (`Infinity`, `NaN`, `1e+16`), blobs
/// base64, timestamps in `format`.
pub(crate) fn scalar_text(
    m: &Member<'_>,
    value: &Value,
    default_ts: TimestampFormat,
    path: &str,
) -> Result<String, SerializeError> {
    match m.kind() {
        ShapeType::Timestamp => {
            let ts = timestamp::from_param(value, path)?;
            Ok(ts.format(m.timestamp_format()?.unwrap_or(default_ts)))
        }
        ShapeType::Blob => match value {
            Value::Bytes(b) => Ok(text::base64(b)),
            Value::Str(s) => Ok(text::base64(s.as_bytes())),
            other => Err(mismatch(path, "blob", other)),
        },
        ShapeType::Boolean => match value {
            Value::Bool(b) => Ok(b.to_string()),
            // Accepted the way botocore does (truthiness), since a text "false" means false here.
            Value::Str(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                Ok(s.to_ascii_lowercase())
            }
            other => Err(mismatch(path, "boolean", other)),
        },
        _ => plain_text(value, path),
    }
}

/// Any scalar as text (Python's `str()` for numbers).
pub(crate) fn plain_text(value: &Value, path: &str) -> Result<String, SerializeError> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(text::py_float(*f)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(mismatch(path, "scalar", other)),
    }
}
