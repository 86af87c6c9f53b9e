//! HTTP transport: one pooled HTTPS client that sends a [`PreparedRequest`] and returns an
//! [`HttpResponse`], within [`Limits`].
//!
//! # Brief overview
//!
//! A [`PreparedRequest`] is the request as it goes on the wire: method, absolute URL, headers
//! and a [`PreparedBody`]. [`PreparedRequest::from_serialized`] builds one from a serializer's
//! [`HttpRequest`] and a resolved endpoint; [`crate::sign::sign`] adds the signature headers;
//! [`Transport::send`] sends it and reads the whole response into a
//! [`crate::protocol::parse::HttpResponse`] for the parsers.
//!
//! [`Transport`] wraps a single `hyper-util` client (HTTP/1.1, keep-alive pool, rustls with
//! the `aws-lc-rs` provider, Mozilla or native roots). It is cheap to clone and meant to be
//! shared by the whole process. Every request is bounded: connect timeout (per client, in
//! [`TransportConfig`]), read timeout (waiting for the response head or for the next body
//! chunk), an overall deadline, and a response size cap — each breach is its own
//! [`TransportError`], and [`TransportError::is_transient`] tells the retry layer which ones
//! are worth another attempt. Plain `http://` is allowed (loopback test endpoints). A request
//! body larger than [`Limits::max_request_bytes`] is refused before anything is sent.
//!
//! Egress: every connection goes through [`crate::egress`]. The URL's host, if it is an address
//! in any spelling, each address DNS returns (through the guarded resolver), and the peer of the
//! established connection are checked; instance metadata, link-local, unspecified, multicast and
//! broadcast addresses are never connected to ([`TransportError::Egress`]).
//!
//! File bodies are not streamed: the engine reads a [`PreparedBody::File`] through the path
//! policy into [`PreparedBody::Bytes`] before sending (retries resend those bytes), and `send`
//! refuses a file body with a clear error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), portcullis_wire::transport::TransportError> {
//! use portcullis_wire::transport::{Limits, PreparedRequest, Transport, TransportConfig};
//!
//! let transport = Transport::new(TransportConfig::default())?;
//! let req = PreparedRequest::new("GET", "http://127.0.0.1:5000/moto-api/");
//! let resp = transport.send(req, &Limits::default()).await?;
//! println!("{} ({} bytes)", resp.status, resp.body.len());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::egress::{self, EgressRefused};

use crate::protocol::parse::HttpResponse;
use crate::protocol::serialize::{Body, HttpRequest, render_query};

/// A request ready to sign and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute, already percent-encoded URL: `https://host[:port]/path[?query]`.
    pub url: String,
    /// Header names as given; lookups are case-insensitive.
    pub headers: Vec<(String, String)>,
    pub body: PreparedBody,
}

/// The body of a [`PreparedRequest`].
#[derive(Clone, PartialEq, Eq)]
pub enum PreparedBody {
    /// In memory (cheap to clone, so retries resend it without copying).
    Bytes(Bytes),
    /// A local file named by the request (signed as `UNSIGNED-PAYLOAD`). [`Transport::send`]
    /// does not stream it: the caller reads it and passes [`PreparedBody::Bytes`].
    File(String),
}

impl std::fmt::Debug for PreparedBody {
    // Bodies can hold secrets (put-secret-value): show their size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreparedBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            PreparedBody::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

impl PreparedRequest {
    /// A request without headers or body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: PreparedBody::Bytes(Bytes::new()),
        }
    }

    /// Joins a serialized request to its endpoint (`https://sqs.us-east-1.amazonaws.com`,
    /// `http://127.0.0.1:5000`, with an optional base path): the operation's host prefix goes
    /// before the host, the endpoint's path before the request path, then the query.
    pub fn from_serialized(req: &HttpRequest, endpoint: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| {
            TransportError::InvalidRequest(format!("endpoint `{endpoint}`: {reason}"))
        };
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.as_str();
        if uri.query().is_some() {
            return Err(bad("an endpoint cannot carry a query"));
        }
        let prefix = req.host_prefix.as_deref().unwrap_or("");
        let base = uri.path().trim_end_matches('/');
        // botocore's `_urljoin`: an empty or root request path adds nothing to an endpoint path
        // (a path-style S3 endpoint `http://host/bucket` stays without a trailing slash).
        let path = match req.path.as_str() {
            "" | "/" if !base.is_empty() => "",
            "" => "/",
            p => p,
        };
        let query = render_query(&req.query);
        let mut url = format!("{scheme}://{prefix}{authority}{base}{path}");
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        // Catch a host prefix that made the URL invalid here rather than at send time.
        url.parse::<http::Uri>()
            .map_err(|e| TransportError::InvalidRequest(format!("URL `{url}`: {e}")))?;
        let body = match &req.body {
            Body::Bytes(b) => PreparedBody::Bytes(Bytes::from(b.clone())),
            Body::File(p) => PreparedBody::File(p.clone()),
        };
        Ok(Self {
            method: req.method.clone(),
            url,
            headers: req.headers.clone(),
            body,
        })
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every header of that name (case-insensitive) with one value.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.into()));
    }

    /// Removes every header of that name (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Builder-style [`PreparedRequest::set_header`].
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    /// Builder-style body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = PreparedBody::Bytes(body.into());
        self
    }
}

/// Which certificate authorities TLS trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsRoots {
    /// Mozilla's list compiled in (`webpki-roots`): what the AWS CLI does with its bundled
    /// `certifi` store, and independent of the host.
    #[default]
    Mozilla,
    /// The operating system's store (`rustls-native-certs`), for corporate proxies with
    /// their own CA.
    Native,
}

/// Per-client settings (fixed when the [`Transport`] is built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Bound on TCP connect (DNS included). The TLS handshake counts against the read timeout.
    pub connect_timeout: Duration,
    /// How long an idle keep-alive connection stays in the pool.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
    pub tls_roots: TlsRoots,
}

impl Default for TransportConfig {
    fn default() -> Self {
        // botocore's defaults: 60 s connect and read timeouts; a shorter idle time than
        // AWS's load balancers (~60 s+) keeps us from reusing half-closed connections.
        Self {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(45),
            pool_max_idle_per_host: 16,
            tls_roots: TlsRoots::Mozilla,
        }
    }
}

/// Per-request bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for the response head or for the next body chunk. On a fresh connection
    /// the head wait also covers connecting, so it is bounded by connect + read timeout.
    pub read_timeout: Duration,
    /// Bound on the whole exchange: connect, send, head and body.
    pub deadline: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Largest request body sent, in bytes; a larger one is refused before connecting.
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
            max_response_bytes: 64 * 1024 * 1024,
            max_request_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a request got no complete response. Messages never include header values or bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request cannot be sent as built (bad URL, method or header name/value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The body kind is not supported by this transport yet.
    #[error("unsupported request body: {0}")]
    UnsupportedBody(String),
    /// TLS could not be set up (no usable root certificates, say).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// No TCP connection within the connect timeout.
    #[error("could not connect to {host} within {timeout:?}")]
    ConnectTimeout { host: String, timeout: Duration },
    /// DNS, refused connection, TLS handshake and the like.
    #[error("could not connect to {host}: {reason}")]
    Connect { host: String, reason: String },
    /// The response head or the next body chunk took longer than the read timeout.
    #[error("no data from {host} within the read timeout of {timeout:?}")]
    ReadTimeout { host: String, timeout: Duration },
    /// The whole request took longer than its deadline.
    #[error("request to {host} did not complete within its deadline of {deadline:?}")]
    DeadlineExceeded { host: String, deadline: Duration },
    /// The connection failed after it was established (reset, closed early, bad framing).
    #[error("connection to {host} failed: {reason}")]
    Io { host: String, reason: String },
    /// The response body is larger than [`Limits::max_response_bytes`].
    #[error(
        "response from {host} exceeds the size limit of {limit} bytes; ask for less (--max-items, --page-size, filters)"
    )]
    ResponseTooLarge { host: String, limit: usize },
    /// The request body is larger than [`Limits::max_request_bytes`]; nothing was sent.
    #[error(
        "request body for {host} is {size} bytes, over the limit of {limit} bytes; nothing was sent"
    )]
    RequestTooLarge {
        host: String,
        size: usize,
        limit: usize,
    },
    /// The destination is an address the engine never connects to (see [`crate::egress`]).
    #[error("{0}")]
    Egress(EgressRefused),
}

impl TransportError {
    /// Whether another attempt may succeed (connection problems and timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TransportError::ConnectTimeout { .. }
                | TransportError::Connect { .. }
                | TransportError::ReadTimeout { .. }
                | TransportError::DeadlineExceeded { .. }
                | TransportError::Io { .. }
        )
    }

    /// Whether this is a timeout (the retry quota charges those more).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            TransportError::ConnectTimeout { .. }
                | TransportError::ReadTimeout { .. }
                | TransportError::DeadlineExceeded { .. }
        )
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// DNS through `getaddrinfo` (tokio's blocking pool), minus the addresses [`crate::egress`]
/// refuses; a name left with none fails with [`EgressRefused`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(egress::filter_resolved(&host, addrs)?.into_iter())
        })
    }
}

/// The TCP connector with the egress checks around it: the URL's host when it is an address
/// (hyper-util skips the resolver for those), and the peer once connected, before any byte.
#[derive(Debug, Clone)]
pub struct GuardedConnector {
    inner: HttpConnector<GuardedResolver>,
}

impl GuardedConnector {
    /// Plain TCP (`TCP_NODELAY`), any scheme (TLS is layered on top), connect bounded.
    pub fn new(connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver);
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        Self { inner: http }
    }
}

impl tower_service::Service<http::Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let host = dst.host().unwrap_or("").to_string();
        if let Err(refused) = egress::check_literal_host(&host) {
            return Box::pin(async move { Err(refused.into()) });
        }
        let connecting = self.inner.call(dst);
        Box::pin(async move {
            let io = connecting.await?;
            let peer = io.inner().peer_addr()?;
            egress::check_peer(&host, peer.ip())?;
            Ok(io)
        })
    }
}

type HyperClient = Client<HttpsConnector<GuardedConnector>, Full<Bytes>>;

/// The process's HTTP client. Clones share one connection pool.
#[derive(Clone)]
pub struct Transport {
    client: HyperClient,
    config: Arc<TransportConfig>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the client (no runtime needed; sending runs on Tokio).
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let tls = tls_config(config.tls_roots)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(GuardedConnector::new(config.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self {
            client,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Sends one request and reads the whole response, within `limits`.
    pub async fn send(
        &self,
        req: PreparedRequest,
        limits: &Limits,
    ) -> Result<HttpResponse, TransportError> {
        let size = match &req.body {
            PreparedBody::Bytes(b) => b.len(),
            PreparedBody::File(_) => 0,
        };
        let (request, host) = to_hyper(req)?;
        if size > limits.max_request_bytes {
            return Err(TransportError::RequestTooLarge {
                host,
                size,
                limit: limits.max_request_bytes,
            });
        }
        egress::check_literal_host(&host).map_err(TransportError::Egress)?;
        let deadline = limits.deadline;
        match tokio::time::timeout(deadline, self.exchange(request, &host, limits)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::DeadlineExceeded { host, deadline }),
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        host: &str,
        limits: &Limits,
    ) -> Result<HttpResponse, TransportError> {
        // The request future includes connecting, which has its own bound.
        let head_wait = limits
            .read_timeout
            .saturating_add(self.config.connect_timeout);
        let response = match tokio::time::timeout(head_wait, self.client.request(request)).await {
            Err(_) => {
                return Err(TransportError::ReadTimeout {
                    host: host.to_string(),
                    timeout: limits.read_timeout,
                });
            }
            Ok(Err(e)) => return Err(self.classify_client_error(&e, host)),
            Ok(Ok(r)) => r,
        };
        let (parts, mut body) = response.into_parts();
        let too_large = || TransportError::ResponseTooLarge {
            host: host.to_string(),
            limit: limits.max_response_bytes,
        };
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.max_response_bytes as u64) {
            return Err(too_large());
        }
        let mut buf: Vec<u8> = Vec::with_capacity(
            declared
                .map_or(0, |n| n as usize)
                .min(limits.max_response_bytes)
                .min(1 << 20),
        );
        loop {
            let frame = match tokio::time::timeout(limits.read_timeout, body.frame()).await {
                Err(_) => {
                    return Err(TransportError::ReadTimeout {
                        host: host.to_string(),
                        timeout: limits.read_timeout,
                    });
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(TransportError::Io {
                        host: host.to_string(),
                        reason: error_chain(&e),
                    });
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                if buf.len().saturating_add(data.len()) > limits.max_response_bytes {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers,
            body: buf,
        })
    }

    fn classify_client_error(
        &self,
        e: &hyper_util::client::legacy::Error,
        host: &str,
    ) -> TransportError {
        let mut timed_out = false;
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = src {
            if let Some(refused) = s.downcast_ref::<EgressRefused>() {
                return TransportError::Egress(refused.clone());
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
                if let Some(refused) = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<EgressRefused>())
                {
                    return TransportError::Egress(refused.clone());
                }
            }
            src = s.source();
        }
        if e.is_connect() && timed_out {
            TransportError::ConnectTimeout {
                host: host.to_string(),
                timeout: self.config.connect_timeout,
            }
        } else if e.is_connect() {
            TransportError::Connect {
                host: host.to_string(),
                reason: error_chain(e),
            }
        } else {
            TransportError::Io {
                host: host.to_string(),
                reason: error_chain(e),
            }
        }
    }
}

fn tls_config(roots: TlsRoots) -> Result<rustls::ClientConfig, TransportError> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        TlsRoots::Mozilla => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        TlsRoots::Native => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                return Err(TransportError::Tls(format!(
                    "no usable root certificates in the system store {why}"
                )));
            }
        }
    }
    // An explicit provider: never depend on (or panic over) a process-wide default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(config)
}

/// Our request → hyper's, plus the host for error messages.
/// The `User-Agent` Portcullis sends.
const USER_AGENT: &str = concat!("portcullis/", env!("CARGO_PKG_VERSION"));

fn to_hyper(req: PreparedRequest) -> Result<(http::Request<Full<Bytes>>, String), TransportError> {
    let uri: http::Uri = req
        .url
        .parse()
        .map_err(|e| TransportError::InvalidRequest(format!("URL `{}`: {e}", req.url)))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(TransportError::InvalidRequest(format!(
            "URL `{}`: the scheme must be http or https",
            req.url
        )));
    }
    let host = match uri.host() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(TransportError::InvalidRequest(format!(
                "URL `{}`: no host",
                req.url
            )));
        }
    };
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| TransportError::InvalidRequest(format!("method `{}`", req.method)))?;
    let body = match req.body {
        PreparedBody::Bytes(b) => b,
        PreparedBody::File(path) => {
            return Err(TransportError::UnsupportedBody(format!(
                "streaming the file `{path}` is not supported yet; read it into memory first"
            )));
        }
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(headers) = builder.headers_mut() {
        for (k, v) in &req.headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| TransportError::InvalidRequest(format!("header name `{k}`")))?;
            // The value is not quoted: it may be a token.
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| TransportError::InvalidRequest(format!("value of header `{k}`")))?;
            headers.append(name, value);
        }
        // As botocore: a request that carries a body (even an empty PUT/POST one) says how long
        // it is, and every request names its client.
        let has_body = !body.is_empty() || matches!(req.method.as_str(), "PUT" | "POST" | "PATCH");
        if has_body && !headers.contains_key(http::header::CONTENT_LENGTH) {
            headers.insert(
                http::header::CONTENT_LENGTH,
                http::HeaderValue::from(body.len()),
            );
        }
        if !headers.contains_key(http::header::USER_AGENT) {
            headers.insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static(USER_AGENT),
            );
        }
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|e| TransportError::InvalidRequest(e.to_string()))?;
    Ok((request, host))
}

/// The error and its sources, joined (hyper's top-level messages are terse).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}
