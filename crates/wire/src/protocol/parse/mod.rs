//! Response parsers: an HTTP response and an operation's model in, the output structure (or the
//! service's error) out, for the `json`, `rest-json`, `rest-xml`, `query` and `ec2` protocols.
//!
//! # Brief overview
//!
//! An [`HttpResponse`] (status, headers, body bytes, as received) is handed with the
//! [`ServiceModel`] and [`Operation`] to [`parse`]. It returns either the operation's output
//! structure as a `serde_json::Value` printed the way AWS CLI v2 prints it, or a
//! [`ParseError`]: the service said no ([`ParseError::Service`] carrying a [`ServiceError`] with
//! its code, message, request id and modeled error members), or the response could not be read
//! against the model. [`parse_with`] takes [`ParseOptions`] (how to render timestamps).
//!
//! Inside, each protocol family reads its body format into a tree and walks it along the
//! shapes: `json`/`rest-json` walk a JSON document, `query`/`ec2`/`rest-xml` walk a small XML
//! element tree; the REST protocols also bind headers, header maps and the status code, and
//! honour the output's payload member. Error responses go through the protocol's code
//! extraction rules first, then the modeled error shape (if the code names one) is parsed from
//! the same response.
//!
//! Output values follow AWS CLI v2: members in model order, absent members omitted, blobs as
//! base64, timestamps as ISO 8601 in UTC (`2014-04-29T18:30:38+00:00`, with `.ffffff` only when
//! the fraction is non-zero). Nothing in here panics on what the network sends.
//!
//! ```
//! use portcullis_model::ServiceModel;
//! use portcullis_wire::protocol::parse::{parse, HttpResponse};
//!
//! let model = ServiceModel::from_json(br#"{
//!   "metadata": {"apiVersion": "2024-01-01", "protocol": "json"},
//!   "operations": {"Get": {"name": "Get", "http": {"method": "POST", "requestUri": "/"},
//!                          "output": {"shape": "Out"}}},
//!   "shapes": {"Out": {"type": "structure", "members": {"When": {"shape": "T"}}},
//!              "T": {"type": "timestamp"}}
//! }"#).unwrap();
//! let op = model.operation("Get").unwrap();
//! let resp = HttpResponse { status: 200, headers: vec![], body: br#"{"When": 1398796238}"#.to_vec() };
//! let out = parse(&model, op, &resp).unwrap();
//! assert_eq!(out["When"], "2014-04-29T18:30:38+00:00");
//! ```

mod error;
mod json;
mod member;
mod rest;
mod scalar;

mod xml;

use portcullis_model::{Operation, ServiceModel};
use serde_json::Value;

pub use error::ServiceError;

/// An HTTP response as received: status, headers in arrival order, raw body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How timestamps appear in the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimestampStyle {
    /// ISO 8601 in UTC, as AWS CLI v2 prints datetimes (`2014-04-29T18:30:38+00:00`).
    #[default]
    Iso8601,
    /// Seconds since the epoch as a JSON number (integer when whole).
    EpochSeconds,
}

/// Options for [`parse_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    pub timestamps: TimestampStyle,
}

/// Why a response did not yield the operation's output.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The service answered with an error.
    #[error(transparent)]
    Service(Box<ServiceError>),
    /// The model's protocol is not one this parser reads.
    #[error("unsupported protocol `{0}`")]
    UnsupportedProtocol(String),
    /// The model references a shape it does not define.
    #[error("the model has no shape `{0}`")]
    MissingShape(String),
    /// The operation's output is an event stream, which needs a streaming decoder.
    #[error("member `{0}` is an event stream; event streams are not decoded by this parser")]
    EventStream(String),
    /// The response does not fit the model (bad syntax, wrong types, bad encodings).
    #[error("invalid response: {0}")]
    Malformed(String),
}

impl From<ServiceError> for ParseError {
    fn from(e: ServiceError) -> Self {
        ParseError::Service(Box::new(e))
    }
}

/// The protocols this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Json,
    RestJson,
    RestXml,
    Query,
    Ec2,
}

impl Protocol {
    fn of(model: &ServiceModel) -> Result<Protocol, ParseError> {
        match crate::protocol::resolve(model) {
            "json" => Ok(Protocol::Json),
            "rest-json" => Ok(Protocol::RestJson),
            "rest-xml" => Ok(Protocol::RestXml),
            "query" => Ok(Protocol::Query),
            "ec2" => Ok(Protocol::Ec2),
            other => Err(ParseError::UnsupportedProtocol(other.to_string())),
        }
    }
}

/// What every walker needs: the model and the output options.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'m> {
    pub model: &'m ServiceModel,
    pub opts: ParseOptions,
    pub protocol: Protocol,
}

/// Parses a response to `op` with default options. See the [module docs](self).
pub fn parse(
    model: &ServiceModel,
    op: &Operation,
    resp: &HttpResponse,
) -> Result<Value, ParseError> {
    parse_with(model, op, resp, ParseOptions::default())
}

/// Parses a response to `op`: the output structure on success (`{}` when the operation has no
/// output), the service's error for statuses of 301 and above (as botocore does).
pub fn parse_with(
    model: &ServiceModel,
    op: &Operation,
    resp: &HttpResponse,
    opts: ParseOptions,
) -> Result<Value, ParseError> {
    let protocol = Protocol::of(model)?;
    let ctx = Ctx {
        model,
        opts,
        protocol,
    };
    if resp.status >= 301 {
        return Err(error::service_error(ctx, op, resp).into());
    }
    let Some(output) = op.output.as_ref() else {
        return Ok(Value::Object(serde_json::Map::new()));
    };
    let target = member::Target::resolve(model, output)?;
    // Event streams arrive as a sequence of binary frames, not one document.
    for (name, r) in &target.shape.members {
        if model.shape(&r.shape).is_some_and(|s| s.eventstream) {
            return Err(ParseError::EventStream(name.clone()));
        }
    }
    let parsed = match protocol {
        Protocol::Json => json::parse_body(ctx, target, &resp.body)?,
        Protocol::RestJson | Protocol::RestXml => rest::parse_output(ctx, target, resp)?,
        Protocol::Query | Protocol::Ec2 => {
            xml::parse_query_output(ctx, target, output, &resp.body)?
        }
    };
    Ok(match parsed {
        Value::Null => Value::Object(serde_json::Map::new()),
        v => v,
    })
}
