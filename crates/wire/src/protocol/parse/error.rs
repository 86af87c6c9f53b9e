//! Error responses: the code, message and request id by each protocol's rules, then the
//! modeled error shape (when the code names one) read from the same response.

use portcullis_model::{Operation, ServiceModel, Shape};
use serde_json::{Map, Value};

use super::member::Target;
use super::{Ctx, HttpResponse, Protocol, json, rest, xml};

/// An error the service returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} (HTTP {status}): {message}")]
pub struct ServiceError {
    pub status: u16,
    /// The error code (`ThrottlingException`, `NoSuchKey`, or the status as text when the
    /// response carried none, like S3's bodiless 404 to a HEAD).
    pub code: String,
    /// The message, empty when the service sent none.
    pub message: String,
    /// From `x-amzn-RequestId` / `x-amz-request-id`, else from the body.
    pub request_id: Option<String>,
    /// S3's extended request id (`x-amz-id-2` / `HostId`).
    pub host_id: Option<String>,
    /// `Sender` / `Receiver` (or `client` / `server`) when the response says which.
    pub kind: Option<String>,
    /// Members of the modeled error shape the code names, in model order.
    pub fields: Map<String, Value>,
}

impl ServiceError {
    /// How the AWS CLI reports this error for a call of `operation` (the API name,
    /// `DescribeInstances`): botocore's `ClientError` text, `An error occurred (CODE) when calling
    /// the OPERATION operation: MESSAGE`, with the message as the service sent it (empty if none).
    ///
    /// ```
    /// use portcullis_wire::protocol::parse::ServiceError;
    ///
    /// let e = ServiceError {
    ///     status: 403,
    ///     code: "AccessDenied".into(),
    ///     message: "Access Denied".into(),
    ///     request_id: None,
    ///     host_id: None,
    ///     kind: None,
    ///     fields: serde_json::Map::new(),
    /// };
    /// assert_eq!(
    ///     e.cli_message("ListBuckets"),
    ///     "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"
    /// );
    /// ```
    pub fn cli_message(&self, operation: &str) -> String {
        format!(
            "An error occurred ({}) when calling the {operation} operation: {}",
            self.code, self.message
        )
    }
}

/// What the protocol's rules extract before the modeled shape is consulted.
#[derive(Default)]
struct Extracted {
    code: String,
    message: String,
    kind: Option<String>,
    request_id: Option<String>,
    host_id: Option<String>,
}

pub(crate) fn service_error(ctx: Ctx<'_>, op: &Operation, resp: &HttpResponse) -> ServiceError {
    let body = trim_ascii(&resp.body);
    // Proxies and load balancers answer 5xx with HTML or nothing: no code to read.
    let named =
        resp.header("x-amzn-errortype").is_some() || resp.header("x-amzn-query-error").is_some();
    let generic = resp.status >= 500 && !named && (body.is_empty() || body.starts_with(b"<html>"));
    let ex = if generic {
        from_status(resp.status)
    } else {
        match ctx.protocol {
            Protocol::Json | Protocol::RestJson => from_json(ctx.protocol, resp),
            Protocol::RestXml | Protocol::Query | Protocol::Ec2 => from_xml(resp),
        }
    };
    let request_id = resp
        .header("x-amzn-requestid")
        .or_else(|| resp.header("x-amz-request-id"))
        .map(str::to_string)
        .or(ex.request_id)
        .filter(|s| !s.is_empty());
    let host_id = resp
        .header("x-amz-id-2")
        .map(str::to_string)
        .or(ex.host_id)
        .filter(|s| !s.is_empty());
    let fields = if generic {
        Map::new()
    } else {
        modeled_fields(ctx, op, &ex.code, resp)
    };
    ServiceError {
        status: resp.status,
        code: ex.code,
        message: ex.message,
        request_id,
        host_id,
        kind: ex.kind,
        fields,
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

fn from_status(status: u16) -> Extracted {
    Extracted {
        code: status.to_string(),
        message: reason_phrase(status).to_string(),
        ..Extracted::default()
    }
}

/// `aws.protocoltests#FooError:http://...` → `FooError`.
fn sanitize_code(raw: &str) -> String {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    before_colon
        .rsplit('#')
        .next()
        .unwrap_or(before_colon)
        .trim()
        .to_string()
}

fn from_json(protocol: Protocol, resp: &HttpResponse) -> Extracted {
    // An unreadable body still says something: botocore keeps it as the message.
    let body = match json::read(&resp.body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => Map::new(),
        Err(_) => {
            let mut o = Map::new();
            o.insert(
                "message".into(),
                Value::String(String::from_utf8_lossy(&resp.body).into_owned()),
            );
            o
        }
    };
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let message = text("message")
        .or_else(|| text("Message"))
        .unwrap_or_default()
        .to_string();
    let header = resp
        .header("x-amzn-errortype")
        .filter(|s| !s.trim().is_empty());
    // Smithy: the header wins; then awsJson reads `__type` and restJson `code`.
    let raw = match protocol {
        Protocol::RestJson => header
            .or_else(|| text("code"))
            .or_else(|| text("Code"))
            .or_else(|| text("__type")),
        _ => header
            .or_else(|| text("__type"))
            .or_else(|| text("code"))
            .or_else(|| text("Code")),
    };
    let mut code = raw.map_or_else(|| resp.status.to_string(), sanitize_code);
    let mut kind = None;
    // awsQueryCompatible services name the old query code and fault in a header.
    if let Some(q) = resp.header("x-amzn-query-error") {
        let mut parts = q.split(';');
        if let (Some(c), Some(k), None) = (parts.next(), parts.next(), parts.next())
            && !c.is_empty()
        {
            code = c.to_string();
            kind = Some(k.to_string());
        }
    }
    Extracted {
        code,
        message,
        kind,
        request_id: text("RequestId").map(str::to_string),
        host_id: None,
    }
}

fn from_xml(resp: &HttpResponse) -> Extracted {
    let Ok(root) = xml::read(&resp.body) else {
        return from_status(resp.status);
    };
    // S3: <Error> at the root; others: <ErrorResponse><Error>; EC2: <Response><Errors><Error>.
    let err = if root.name() == "Error" {
        &root
    } else {
        root.child("Error")
            .or_else(|| root.child("Errors").and_then(|e| e.child("Error")))
            .unwrap_or(&root)
    };
    let text = |el: &xml::Element, k: &str| el.child_text(k).map(str::to_string);
    let code = text(err, "Code").filter(|c| !c.is_empty());
    let Some(code) = code else {
        let mut ex = from_status(resp.status);
        ex.request_id = request_id_in(&root, err);
        return ex;
    };
    Extracted {
        code,
        message: text(err, "Message").unwrap_or_default(),
        kind: text(err, "Type"),
        request_id: request_id_in(&root, err),
        host_id: text(err, "HostId").or_else(|| text(&root, "HostId")),
    }
}

fn request_id_in(root: &xml::Element, err: &xml::Element) -> Option<String> {
    ["RequestId", "RequestID", "requestId"]
        .iter()
        .find_map(|k| root.child_text(k).or_else(|| err.child_text(k)))
        .map(str::to_string)
}

/// The exception shape whose code (its `error.code`, else its name) is `code`: the operation's
/// declared errors first, then any exception in the model.
fn error_shape<'m>(model: &'m ServiceModel, op: &'m Operation, code: &str) -> Option<&'m Shape> {
    let code_of = |name: &str, shape: &Shape| -> bool {
        let modeled = shape
            .error
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str);
        shape.exception && modeled.unwrap_or(name) == code
    };
    if let Some(s) = op
        .errors
        .iter()
        .find_map(|r| model.shape(&r.shape).filter(|s| code_of(&r.shape, s)))
    {
        return Some(s);
    }
    if let Some(s) = model.shape(code).filter(|s| code_of(code, s)) {
        return Some(s);
    }
    // A custom `error.code` differs from the shape's name: look at every exception.
    let mut names: Vec<&str> = model.shape_names().collect();
    names.sort_unstable();
    names
        .into_iter()
        .find_map(|n| model.shape(n).filter(|s| code_of(n, s)))
}

fn modeled_fields(
    ctx: Ctx<'_>,
    op: &Operation,
    code: &str,
    resp: &HttpResponse,
) -> Map<String, Value> {
    let Some(shape) = error_shape(ctx.model, op, code) else {
        return Map::new();
    };
    let t = Target { shape, by: None };
    // The error itself is already known; members that do not read are left out.
    let parsed = match ctx.protocol {
        Protocol::Json => json::read(&resp.body).and_then(|doc| json::walk(ctx, t, &doc)),
        Protocol::RestJson | Protocol::RestXml => {
            rest::parse_error_fields(ctx, t, resp).map(Value::Object)
        }
        Protocol::Query | Protocol::Ec2 => {
            xml::read(&resp.body).and_then(|root| xml::walk(ctx, t, &[&root]))
        }
    };
    match parsed {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Python's `http.client.responses`, which botocore uses as the message of bodiless errors.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a Teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}
