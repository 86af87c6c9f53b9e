//! A fault-injecting AWS stand-in on loopback.
//!
//! [`FaultServer::start`] binds `127.0.0.1:0` and answers every request the way the real service
//! would for the protocol the request speaks, or fails it the way [`Mode`] says:
//!
//! * **JSON** (`X-Amz-Target`, e.g. `DynamoDB_20120810.ListTables`): `200 {}` with the request's
//!   `application/x-amz-json-1.0`/`1.1`; throttled `400 {"__type":"…ThrottlingException"}`; 5xx
//!   `{"__type":"InternalServerError"}` (`ServiceUnavailable` for 503).
//! * **Query** (form body `Action=…&Version=…`, e.g. STS): `<{Action}Response>` XML, a real
//!   `GetCallerIdentityResponse` for `GetCallerIdentity` (account 123456789012); throttled `400`
//!   `<ErrorResponse>` with `Sender`/`Throttling`; 5xx `Receiver`/`InternalFailure` or
//!   `ServiceUnavailable`.
//! * **S3** (signing scope `…/s3/aws4_request`): an empty `ListAllMyBucketsResult` for `GET /`,
//!   an empty `200` otherwise; throttled `503 SlowDown`; 5xx `InternalError`/`ServiceUnavailable`.
//! * **REST-JSON** (anything else): `200 {}`; throttled `429` with
//!   `x-amzn-ErrorType: ThrottlingException`; 5xx likewise typed.
//!
//! Every answer carries `x-amzn-RequestId`. Paths under `/__faults/` are the control API, never
//! faulted and never counted: `GET /__faults/stats`, `POST /__faults/mode` with a mode as JSON
//! ([`Mode::from_json`]). [`FaultServer::start_control`] serves the same on a second port, which
//! stays up while the faulted one refuses connections.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::units::{format_duration, parse_duration};

/// What the server does with the requests it receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answers like the real service, after `latency`.
    Ok { latency: Duration },
    /// Fails with `status` (500, 503, …) and the protocol's error body, after `latency`.
    Status { status: u16, latency: Duration },
    /// Answers with the protocol's real throttling error, after `latency`.
    Throttle { latency: Duration },
    /// Reads the request, then closes the connection with a TCP reset (`SO_LINGER` 0).
    Reset,
    /// Reads the request and never answers (the connection stays open until the client goes).
    Hang,
    /// Stops listening: connections are refused (the same port is bound again when the mode
    /// changes back). A request on a connection accepted earlier is reset.
    Refuse,
    /// `first` for `after` (counted from when this mode was set), then `then`.
    Then {
        first: Box<Mode>,
        after: Duration,
        then: Box<Mode>,
    },
}

/// A mode with nothing to sequence: what one request meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Ok(Duration),
    Status(u16, Duration),
    Throttle(Duration),
    Reset,
    Hang,
    Refuse,
}

impl Mode {
    /// Plain success without added latency.
    pub fn ok() -> Mode {
        Mode::Ok {
            latency: Duration::ZERO,
        }
    }

    /// `first` for `after`, then `then`.
    pub fn then(first: Mode, after: Duration, then: Mode) -> Mode {
        Mode::Then {
            first: Box::new(first),
            after,
            then: Box::new(then),
        }
    }

    /// The leaf in force `elapsed` after this mode was set, and how much longer it stays in force
    /// (`None`: for good).
    fn at(&self, elapsed: Duration) -> (Leaf, Option<Duration>) {
        match self {
            Mode::Ok { latency } => (Leaf::Ok(*latency), None),
            Mode::Status { status, latency } => (Leaf::Status(*status, *latency), None),
            Mode::Throttle { latency } => (Leaf::Throttle(*latency), None),
            Mode::Reset => (Leaf::Reset, None),
            Mode::Hang => (Leaf::Hang, None),
            Mode::Refuse => (Leaf::Refuse, None),
            Mode::Then { first, after, then } => {
                if elapsed < *after {
                    let (leaf, left) = first.at(elapsed);
                    let until_switch = *after - elapsed;
                    (
                        leaf,
                        Some(left.map_or(until_switch, |l| l.min(until_switch))),
                    )
                } else {
                    then.at(elapsed - *after)
                }
            }
        }
    }

    /// A mode from JSON: a spec string (see [`Mode::from_str`]) or an object
    /// `{"mode": "ok"|"status"|"throttle"|"reset"|"hang"|"refuse"|"then", "latency_ms": N,
    /// "status": 503, "first": MODE, "after_ms": N, "then": MODE}`.
    pub fn from_json(v: &Value) -> Result<Mode, String> {
        if let Some(spec) = v.as_str() {
            return spec.parse();
        }
        let obj = v
            .as_object()
            .ok_or_else(|| format!("a mode is a string or an object, not {v}"))?;
        let ms = |key: &str| -> Result<Duration, String> {
            match obj.get(key) {
                None => Ok(Duration::ZERO),
                Some(n) => n
                    .as_u64()
                    .map(Duration::from_millis)
                    .ok_or_else(|| format!("`{key}` must be a whole number of milliseconds")),
            }
        };
        let name = obj
            .get("mode")
            .and_then(Value::as_str)
            .ok_or("the object needs a `mode` string")?;
        let latency = ms("latency_ms")?;
        Ok(match name {
            "ok" => Mode::Ok { latency },
            "status" => {
                let status = obj
                    .get("status")
                    .and_then(Value::as_u64)
                    .ok_or("`status` mode needs a `status` number")?;
                Mode::Status {
                    status: valid_status(status)?,
                    latency,
                }
            }
            "throttle" => Mode::Throttle { latency },
            "reset" => Mode::Reset,
            "hang" => Mode::Hang,
            "refuse" => Mode::Refuse,
            "then" => {
                let part = |key: &str| -> Result<Mode, String> {
                    Mode::from_json(
                        obj.get(key)
                            .ok_or_else(|| format!("`then` needs `{key}`"))?,
                    )
                };
                Mode::then(part("first")?, ms("after_ms")?, part("then")?)
            }
            other => return Err(format!("unknown mode `{other}`")),
        })
    }

    /// The object form read by [`Mode::from_json`].
    pub fn to_json(&self) -> Value {
        let ms = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match self {
            Mode::Ok { latency } => json!({"mode": "ok", "latency_ms": ms(latency)}),
            Mode::Status { status, latency } => {
                json!({"mode": "status", "status": status, "latency_ms": ms(latency)})
            }
            Mode::Throttle { latency } => json!({"mode": "throttle", "latency_ms": ms(latency)}),
            Mode::Reset => json!({"mode": "reset"}),
            Mode::Hang => json!({"mode": "hang"}),
            Mode::Refuse => json!({"mode": "refuse"}),
            Mode::Then { first, after, then } => json!({
                "mode": "then", "first": first.to_json(), "after_ms": ms(after), "then": then.to_json()
            }),
        }
    }
}

fn valid_status(status: u64) -> Result<u16, String> {
    match u16::try_from(status) {
        Ok(s) if (400..=599).contains(&s) => Ok(s),
        _ => Err(format!("status {status} is not an error status (400-599)")),
    }
}

/// The spec form: `ok`, `ok:50ms`, `status:503`, `status:500:20ms`, `throttle`, `throttle:10ms`,
/// `reset`, `hang`, `refuse`; a sequence `MODE@DURATION,MODE@DURATION,…,MODE` (e.g.
/// `status:503@5s,ok`: a 503 storm that recovers after 5 s).
impl FromStr for Mode {
    type Err = String;

    fn from_str(spec: &str) -> Result<Mode, String> {
        let spec = spec.trim();
        if let Some((head, rest)) = spec.split_once(',') {
            let (leaf, after) = head
                .rsplit_once('@')
                .ok_or_else(|| format!("`{head}`: a mode before `,` needs `@DURATION`"))?;
            return Ok(Mode::then(
                leaf.parse()?,
                parse_duration(after)?,
                rest.parse()?,
            ));
        }
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let latency = |i: usize| -> Result<Duration, String> {
            rest.get(i)
                .map_or(Ok(Duration::ZERO), |t| parse_duration(t))
        };
        let none = |mode: Mode| {
            if rest.is_empty() {
                Ok(mode)
            } else {
                Err(format!("`{spec}`: `{name}` takes no arguments"))
            }
        };
        match name {
            "ok" if rest.len() <= 1 => Ok(Mode::Ok {
                latency: latency(0)?,
            }),
            "throttle" if rest.len() <= 1 => Ok(Mode::Throttle {
                latency: latency(0)?,
            }),
            "status" if (1..=2).contains(&rest.len()) => {
                let status = rest[0]
                    .parse::<u64>()
                    .map_err(|_| format!("`{spec}`: `{}` is not a status", rest[0]))?;
                Ok(Mode::Status {
                    status: valid_status(status)?,
                    latency: latency(1)?,
                })
            }
            "reset" => none(Mode::Reset),
            "hang" => none(Mode::Hang),
            "refuse" => none(Mode::Refuse),
            _ => Err(format!(
                "`{spec}` is not a mode (ok[:LAT], status:CODE[:LAT], throttle[:LAT], reset, hang, \
                 refuse, MODE@DURATION,MODE)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lat = |f: &mut fmt::Formatter<'_>, d: &Duration| {
            if d.is_zero() {
                Ok(())
            } else {
                write!(f, ":{}", format_duration(*d))
            }
        };
        match self {
            Mode::Ok { latency } => {
                f.write_str("ok")?;
                lat(f, latency)
            }
            Mode::Status { status, latency } => {
                write!(f, "status:{status}")?;
                lat(f, latency)
            }
            Mode::Throttle { latency } => {
                f.write_str("throttle")?;
                lat(f, latency)
            }
            Mode::Reset => f.write_str("reset"),
            Mode::Hang => f.write_str("hang"),
            Mode::Refuse => f.write_str("refuse"),
            Mode::Then { first, after, then } => {
                // A `Then` as `first` has no spec form of its own; the JSON form has it.
                write!(f, "{first}@{},{then}", format_duration(*after))
            }
        }
    }
}

/// The mode in force and when it was set (a `Then` counts from there).
struct Setting {
    mode: Mode,
    since: Instant,
}

struct Shared {
    setting: watch::Sender<Setting>,
    shutdown: watch::Sender<bool>,
    requests: AtomicU64,
    connections: AtomicU64,
}

impl Shared {
    fn leaf(&self) -> (Leaf, Option<Duration>) {
        let s = self.setting.borrow();
        s.mode.at(s.since.elapsed())
    }

    fn set(&self, mode: Mode) {
        self.setting.send_replace(Setting {
            mode,
            since: Instant::now(),
        });
    }

    fn mode(&self) -> Mode {
        self.setting.borrow().mode.clone()
    }
}

/// The fault-injecting server. Stops (listener and every connection) when dropped. Must be
/// started inside a Tokio runtime.
pub struct FaultServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .field("mode", &self.shared.mode())
            .finish()
    }
}

impl FaultServer {
    /// Binds `127.0.0.1:0` and serves in `mode`.
    pub async fn start(mode: Mode) -> std::io::Result<FaultServer> {
        let listener = bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            setting: watch::Sender::new(Setting {
                mode,
                since: Instant::now(),
            }),
            shutdown: watch::Sender::new(false),
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        tokio::spawn(supervise(shared.clone(), addr, Some(listener)));
        Ok(FaultServer { shared, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url` or `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the mode; a `Then` counts its time from now.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.set(mode);
    }

    /// The mode last set.
    pub fn mode(&self) -> Mode {
        self.shared.mode()
    }

    /// Requests received so far (control requests aside), answered or not: the attempts a client
    /// made.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Serves the control API (`GET /__faults/stats`, `POST /__faults/mode`) on a second loopback
    /// port, up while this server lives even when the faulted port refuses; its address.
    pub async fn start_control(&self) -> std::io::Result<SocketAddr> {
        let listener = bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?;
        let addr = listener.local_addr()?;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut shutdown = shared.shutdown.subscribe();
            loop {
                if *shutdown.borrow_and_update() {
                    return;
                }
                tokio::select! {
                    changed = shutdown.changed() => if changed.is_err() { return },
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let svc = service_fn(move |req: Request<Incoming>| {
                                let shared = shared.clone();
                                async move {
                                    let (parts, body) = req.into_parts();
                                    let body = collect(body).await;
                                    Ok::<_, Infallible>(control(&shared, &parts.method, parts.uri.path(), &body))
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(addr)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}

/// A listener on `addr` with `SO_REUSEADDR`, so the port can be bound again after `Refuse` while
/// closed connections linger in `TIME_WAIT`.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept(listener: &Option<TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Accepts connections while the mode lets it; closes the listener for `Refuse` and binds the
/// same port again once the mode (or a `Then`'s clock) moves on.
async fn supervise(shared: Arc<Shared>, addr: SocketAddr, mut listener: Option<TcpListener>) {
    let mut modes = shared.setting.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        modes.borrow_and_update();
        let (leaf, left) = shared.leaf();
        if leaf == Leaf::Refuse {
            listener = None;
        } else if listener.is_none() {
            match bind(addr) {
                Ok(l) => listener = Some(l),
                Err(_) => {
                    // The port is briefly unavailable; try again shortly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        // A `Then` switches on its own clock: wake up then to (un)bind.
        let wake = left.unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { return },
            _ = modes.changed() => {}
            () = tokio::time::sleep(wake) => {}
            accepted = accept(&listener) => {
                if let Ok((stream, _)) = accepted {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(connection(shared.clone(), stream));
                }
            }
        }
    }
}

/// What a request asks of its connection beyond an answer.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Reset,
    Hang,
}

/// One accepted connection: HTTP/1.1 by hyper, with a second descriptor of the same socket kept
/// aside so that a fault can reset it or hold it open after hyper is set aside.
async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok((stream, aside)) = split_descriptor(stream) else {
        return;
    };
    let (faults_tx, mut faults) = mpsc::channel::<Fault>(1);
    let svc_shared = shared.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        handle(svc_shared.clone(), faults_tx.clone(), req)
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let mut shutdown = shared.shutdown.subscribe();
    if *shutdown.borrow_and_update() {
        return;
    }
    let fault = tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.changed() => return,
        fault = faults.recv() => fault,
    };
    match fault {
        Some(Fault::Reset) => {
            // With a zero linger, closing the last descriptor (hyper's, then `aside`, both dropped
            // on return) sends RST instead of FIN.
            let _ = aside.set_zero_linger();
        }
        Some(Fault::Hang) => {
            // Never answer: keep the socket open, reading and discarding, until the client goes
            // or the server stops.
            let mut aside = aside;
            let mut sink = [0u8; 4096];
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    n = aside.read(&mut sink) => match n {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    },
                }
            }
        }
        None => {}
    }
}

/// The stream for hyper and a second descriptor of the same socket (`dup`), both non-blocking and
/// registered with Tokio.
fn split_descriptor(stream: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let std = stream.into_std()?;
    let dup = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, TcpStream::from_std(dup)?))
}

async fn collect(body: Incoming) -> Bytes {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default()
}

async fn handle(
    shared: Arc<Shared>,
    faults: mpsc::Sender<Fault>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = collect(body).await;
    if parts.uri.path().starts_with("/__faults/") {
        return Ok(control(&shared, &parts.method, parts.uri.path(), &body));
    }
    let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let call = Call::read(&parts, &body);
    let (leaf, _) = shared.leaf();
    let (status, latency) = match leaf {
        Leaf::Ok(latency) => (None, latency),
        Leaf::Status(status, latency) => (Some(Answer::Fail(status)), latency),
        Leaf::Throttle(latency) => (Some(Answer::Throttle), latency),
        Leaf::Reset | Leaf::Refuse => {
            let _ = faults.send(Fault::Reset).await;
            return std::future::pending().await;
        }
        Leaf::Hang => {
            let _ = faults.send(Fault::Hang).await;
            return std::future::pending().await;
        }
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let request_id = request_id(n);
    Ok(match status {
        None => call.success(&request_id),
        Some(Answer::Throttle) => call.throttle(&request_id),
        Some(Answer::Fail(status)) => call.failure(status, &request_id),
    })
}

enum Answer {
    Throttle,
    Fail(u16),
}

/// A request id shaped like AWS's (a UUID), unique per request of this server.
fn request_id(n: u64) -> String {
    format!("fa017000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
}

fn control(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let stats = |shared: &Shared| {
        json!({
            "mode": shared.mode().to_json(),
            "spec": shared.mode().to_string(),
            "requests": shared.requests.load(Ordering::SeqCst),
            "connections": shared.connections.load(Ordering::SeqCst),
        })
    };
    match (method, path) {
        (&Method::GET, "/__faults/stats") | (&Method::GET, "/__faults/mode") => {
            json_response(StatusCode::OK, &stats(shared))
        }
        (&Method::POST, "/__faults/mode") => {
            let mode = serde_json::from_slice::<Value>(body)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|v| Mode::from_json(&v));
            match mode {
                Ok(mode) => {
                    shared.set(mode);
                    json_response(StatusCode::OK, &stats(shared))
                }
                Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({ "error": e })),
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "GET /__faults/stats or POST /__faults/mode"}),
        ),
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The protocol a request speaks, as far as the answer's shape needs.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    /// `X-Amz-Target`; the content type to answer with.
    Json {
        target: String,
        content_type: String,
    },
    /// A form with `Action=`.
    Query {
        action: String,
        version: String,
        service: String,
    },
    /// S3 (REST-XML); whether it lists the buckets (`GET /`).
    S3 {
        list_buckets: bool,
    },
    RestJson,
}

impl Call {
    fn read(parts: &http::request::Parts, body: &[u8]) -> Call {
        let headers = &parts.headers;
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        // The signing scope names the service: `Credential=AKID/date/region/SERVICE/aws4_request`.
        let service = text("authorization")
            .and_then(|a| {
                let scope = a.split("Credential=").nth(1)?;
                let scope = scope.split([',', ' ']).next()?;
                scope.split('/').nth(3).map(str::to_string)
            })
            .unwrap_or_default();
        if let Some(target) = text("x-amz-target") {
            let content_type = text("content-type")
                .filter(|c| c.starts_with("application/x-amz-json-"))
                .unwrap_or_else(|| "application/x-amz-json-1.0".to_string());
            return Call::Json {
                target,
                content_type,
            };
        }
        let form = if body.is_empty() {
            parts.uri.query().unwrap_or_default().as_bytes()
        } else {
            body
        };
        let form = String::from_utf8_lossy(form);
        let field = |name: &str| {
            form.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        };
        if let Some(action) = field("Action") {
            return Call::Query {
                action,
                version: field("Version").unwrap_or_default(),
                service,
            };
        }
        if service == "s3" {
            return Call::S3 {
                list_buckets: parts.method == Method::GET && parts.uri.path() == "/",
            };
        }
        Call::RestJson
    }

    fn success(&self, request_id: &str) -> Response<Full<Bytes>> {
        match self {
            Call::Json { content_type, .. } => {
                respond(StatusCode::OK, content_type, request_id, "{}".into())
            }
            Call::Query {
                action,
                version,
                service,
            } => {
                let body = if action == "GetCallerIdentity" {
                    format!(
                        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <GetCallerIdentityResult>\
                         <Arn>arn:aws:iam::123456789012:user/fault</Arn>\
                         <UserId>AIDAFAULT</UserId>\
                         <Account>123456789012</Account>\
                         </GetCallerIdentityResult>\
                         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
                         </GetCallerIdentityResponse>"
                    )
                } else {
                    let ns = query_namespace(service, version);
                    format!(
                        "<{action}Response xmlns=\"{ns}\"><{action}Result/>\
                         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
                         </{action}Response>"
                    )
                };
                respond(StatusCode::OK, "text/xml", request_id, body)
            }
            Call::S3 { list_buckets } => {
                let body = if *list_buckets {
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <Owner><ID>fault</ID><DisplayName>fault</DisplayName></Owner>\
                     <Buckets></Buckets></ListAllMyBucketsResult>"
                        .to_string()
                } else {
                    String::new()
                };
                respond(StatusCode::OK, "application/xml", request_id, body)
            }
            Call::RestJson => respond(StatusCode::OK, "application/json", request_id, "{}".into()),
        }
    }

    fn throttle(&self, request_id: &str) -> Response<Full<Bytes>> {
        match self {
            Call::Json {
                target,
                content_type,
            } => {
                let kind = if target.starts_with("DynamoDB_20120810.") {
                    "com.amazonaws.dynamodb.v20120810#ThrottlingException"
                } else {
                    "ThrottlingException"
                };
                let body = json!({"__type": kind, "message": "Rate exceeded"}).to_string();
                respond(StatusCode::BAD_REQUEST, content_type, request_id, body)
            }
            Call::Query { .. } => query_error(
                StatusCode::BAD_REQUEST,
                "Sender",
                "Throttling",
                "Rate exceeded",
                request_id,
            ),
            Call::S3 { .. } => s3_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
                request_id,
            ),
            Call::RestJson => rest_json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Rate exceeded",
                request_id,
            ),
        }
    }

    fn failure(&self, status: u16, request_id: &str) -> Response<Full<Bytes>> {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
        let message = "Injected fault (portcullis-faults)";
        match self {
            Call::Json { content_type, .. } => {
                let kind = if unavailable {
                    "ServiceUnavailable"
                } else {
                    "InternalServerError"
                };
                let body = json!({"__type": kind, "message": message}).to_string();
                respond(status, content_type, request_id, body)
            }
            Call::Query { .. } => {
                let code = if unavailable {
                    "ServiceUnavailable"
                } else {
                    "InternalFailure"
                };
                query_error(status, "Receiver", code, message, request_id)
            }
            Call::S3 { .. } => {
                let code = if unavailable {
                    "ServiceUnavailable"
                } else {
                    "InternalError"
                };
                s3_error(status, code, message, request_id)
            }
            Call::RestJson => {
                let code = if unavailable {
                    "ServiceUnavailableException"
                } else {
                    "InternalServerException"
                };
                rest_json_error(status, code, message, request_id)
            }
        }
    }
}

/// The XML namespace a query service answers in: `https://{service}.amazonaws.com/doc/{version}/`.
fn query_namespace(service: &str, version: &str) -> String {
    let service = if service.is_empty() { "sts" } else { service };
    format!("https://{service}.amazonaws.com/doc/{version}/")
}

fn respond(
    status: StatusCode,
    content_type: &str,
    request_id: &str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let headers = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v.clone());
        headers.insert("x-amz-request-id", v);
    }
    r
}

fn query_error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>\
         </Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    );
    respond(status, "text/xml", request_id, body)
}

fn s3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    respond(status, "application/xml", request_id, body)
}

fn rest_json_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let mut r = respond(
        status,
        "application/json",
        request_id,
        json!({ "message": message }).to_string(),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// One request on a fresh connection: status, headers, body; or the client's error.
    async fn send(
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, http::HeaderMap, String), String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
    }

    const DDB: &[(&str, &str)] = &[
        ("x-amz-target", "DynamoDB_20120810.ListTables"),
        ("content-type", "application/x-amz-json-1.0"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    const LOGS: &[(&str, &str)] = &[
        ("x-amz-target", "Logs_20140328.DescribeLogGroups"),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    const STS: &[(&str, &str)] = &[
        ("content-type", "application/x-www-form-urlencoded"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    const S3: &[(&str, &str)] = &[(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
    )];
    const IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

    fn header<'a>(h: &'a http::HeaderMap, name: &str) -> &'a str {
        h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[tokio::test]
    async fn ok_answers_each_protocol_like_the_service() {
        let server = FaultServer::start(Mode::ok()).await.unwrap();
        assert!(server.url().starts_with("http://127.0.0.1:"));

        let (status, h, body) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, "{}");
        assert_eq!(header(&h, "content-type"), "application/x-amz-json-1.0");
        assert!(!header(&h, "x-amzn-requestid").is_empty());

        let (status, h, _) = send(server.addr(), "POST", "/", LOGS, "{}").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(header(&h, "content-type"), "application/x-amz-json-1.1");

        let (status, h, body) = send(server.addr(), "POST", "/", STS, IDENTITY)
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert!(body.starts_with("<GetCallerIdentityResponse"), "{body}");
        assert!(body.contains("<Account>123456789012</Account>"), "{body}");
        assert!(
            body.contains("<Arn>arn:aws:iam::123456789012:user/fault</Arn>"),
            "{body}"
        );
        assert!(body.contains("<UserId>AIDAFAULT</UserId>"), "{body}");
        assert!(body.contains(header(&h, "x-amzn-requestid")), "{body}");

        let (status, _, body) = send(
            server.addr(),
            "POST",
            "/",
            STS,
            "Action=GetSessionToken&Version=2011-06-15",
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        assert!(
            body.starts_with(
                "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetSessionTokenResult/>"
            ),
            "{body}"
        );

        let (status, _, body) = send(server.addr(), "GET", "/", S3, "").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("<ListAllMyBucketsResult"), "{body}");

        let (status, _, body) = send(server.addr(), "GET", "/2015-03-31/functions", &[], "")
            .await
            .unwrap();
        assert_eq!((status, body.as_str()), (200, "{}"));
        assert_eq!(server.requests(), 6);
        assert_eq!(server.connections(), 6);
    }

    #[tokio::test]
    async fn latency_is_added() {
        let server = FaultServer::start("ok:150ms".parse().unwrap())
            .await
            .unwrap();
        let t = Instant::now();
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
        assert!(t.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn throttle_is_the_protocols_own_error() {
        let server = FaultServer::start(Mode::Throttle {
            latency: Duration::ZERO,
        })
        .await
        .unwrap();
        let (status, h, body) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 400);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"})
        );
        assert!(!header(&h, "x-amzn-requestid").is_empty());

        let (status, _, body) = send(server.addr(), "POST", "/", LOGS, "{}").await.unwrap();
        assert_eq!(status, 400);
        assert!(
            body.contains("\"__type\":\"ThrottlingException\""),
            "{body}"
        );

        let (status, _, body) = send(server.addr(), "POST", "/", STS, IDENTITY)
            .await
            .unwrap();
        assert_eq!(status, 400);
        assert!(
            body.starts_with(
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                 <Message>Rate exceeded</Message></Error><RequestId>"
            ),
            "{body}"
        );

        let (status, _, body) = send(server.addr(), "PUT", "/b/k", S3, "x").await.unwrap();
        assert_eq!(status, 503);
        assert!(body.contains("<Code>SlowDown</Code>"), "{body}");

        let (status, h, _) = send(server.addr(), "GET", "/x", &[], "").await.unwrap();
        assert_eq!(status, 429);
        assert_eq!(header(&h, "x-amzn-errortype"), "ThrottlingException");
    }

    #[tokio::test]
    async fn status_fails_with_the_protocols_error() {
        let server = FaultServer::start("status:500".parse().unwrap())
            .await
            .unwrap();
        let (status, _, body) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 500);
        assert!(
            body.contains("\"__type\":\"InternalServerError\""),
            "{body}"
        );
        let (status, _, body) = send(server.addr(), "POST", "/", STS, IDENTITY)
            .await
            .unwrap();
        assert_eq!(status, 500);
        assert!(body.contains("<Code>InternalFailure</Code>"), "{body}");

        server.set_mode("status:503".parse().unwrap());
        let (status, _, body) = send(server.addr(), "POST", "/", STS, IDENTITY)
            .await
            .unwrap();
        assert_eq!(status, 503);
        assert!(body.contains("<Code>ServiceUnavailable</Code>"), "{body}");
        let (status, _, body) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 503);
        assert!(body.contains("ServiceUnavailable"), "{body}");
    }

    #[tokio::test]
    async fn reset_reads_the_request_then_resets() {
        let server = FaultServer::start(Mode::Reset).await.unwrap();
        let err = send(server.addr(), "POST", "/", DDB, "{}")
            .await
            .unwrap_err();
        assert!(!err.is_empty());
        assert_eq!(server.requests(), 1, "the request was read");

        // On the wire: a reset, not an orderly close.
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(TIMEOUT, s.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionReset)
        );
    }

    #[tokio::test]
    async fn hang_never_answers() {
        let server = FaultServer::start(Mode::Hang).await.unwrap();
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            send(server.addr(), "POST", "/", DDB, "{}"),
        )
        .await;
        assert!(r.is_err(), "answered: {r:?}");
        assert_eq!(server.requests(), 1);
        // Switched back, new connections are answered.
        server.set_mode(Mode::ok());
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
    }

    async fn connects(addr: SocketAddr) -> bool {
        TcpStream::connect(addr).await.is_ok()
    }

    /// Waits (bounded) until connecting gives `want`.
    async fn until_connects(addr: SocketAddr, want: bool) {
        let deadline = Instant::now() + TIMEOUT;
        while connects(addr).await != want {
            assert!(Instant::now() < deadline, "connect never became {want}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn refuse_refuses_and_comes_back_on_the_same_port() {
        let server = FaultServer::start(Mode::Refuse).await.unwrap();
        let control = server.start_control().await.unwrap();
        until_connects(server.addr(), false).await;
        let err = TcpStream::connect(server.addr()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);

        // Switched back through the control port.
        let (status, _, body) = send(control, "POST", "/__faults/mode", &[], r#"{"mode":"ok"}"#)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        until_connects(server.addr(), true).await;
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn then_switches_after_its_time() {
        let server = FaultServer::start("status:503@400ms,ok".parse().unwrap())
            .await
            .unwrap();
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 503);
        tokio::time::sleep(Duration::from_millis(450)).await;
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(server.requests(), 2);

        // Refusal inside a sequence: the port comes back by itself.
        server.set_mode("refuse@300ms,ok".parse().unwrap());
        until_connects(server.addr(), false).await;
        until_connects(server.addr(), true).await;
        let (status, _, _) = send(server.addr(), "POST", "/", DDB, "{}").await.unwrap();
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn control_on_the_faulted_port_is_never_faulted() {
        let server = FaultServer::start(Mode::Hang).await.unwrap();
        let (status, _, body) = send(server.addr(), "GET", "/__faults/stats", &[], "")
            .await
            .unwrap();
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["spec"], "hang");
        assert_eq!(v["requests"], 0);
        let (status, _, _) = send(
            server.addr(),
            "POST",
            "/__faults/mode",
            &[],
            r#"{"mode":"then","first":{"mode":"throttle"},"after_ms":60000,"then":"ok"}"#,
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        assert_eq!(server.mode().to_string(), "throttle@60s,ok");
        let (status, _, body) = send(server.addr(), "POST", "/__faults/mode", &[], "{nope")
            .await
            .unwrap();
        assert_eq!(status, 400, "{body}");
    }

    #[test]
    fn specs_and_json_round_trip() {
        for spec in [
            "ok",
            "ok:50ms",
            "status:503",
            "status:500:20ms",
            "throttle",
            "reset",
            "hang",
            "refuse",
            "status:503@5s,ok",
            "refuse@2s,status:503@3s,ok:10ms",
        ] {
            let mode: Mode = spec.parse().unwrap();
            assert_eq!(mode.to_string(), spec);
            assert_eq!(Mode::from_json(&mode.to_json()).unwrap(), mode);
        }
        assert_eq!(
            "status:503@5s,ok".parse::<Mode>().unwrap(),
            Mode::then(
                Mode::Status {
                    status: 503,
                    latency: Duration::ZERO
                },
                Duration::from_secs(5),
                Mode::ok()
            )
        );
        for bad in [
            "",
            "slow",
            "status",
            "status:200",
            "ok@1s",
            "reset:1s",
            "ok,ok",
        ] {
            assert!(bad.parse::<Mode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn then_resolves_by_elapsed_time() {
        let m: Mode = "refuse@2s,status:503@3s,ok".parse().unwrap();
        let s = Duration::from_secs;
        assert_eq!(m.at(s(0)), (Leaf::Refuse, Some(s(2))));
        assert_eq!(m.at(s(3)), (Leaf::Status(503, Duration::ZERO), Some(s(2))));
        assert_eq!(m.at(s(5)), (Leaf::Ok(Duration::ZERO), None));
        // A sequence nested as `first` switches no later than the outer one.
        let nested = Mode::then(m, s(1), Mode::Hang);
        assert_eq!(nested.at(Duration::ZERO), (Leaf::Refuse, Some(s(1))));
        assert_eq!(nested.at(s(1)), (Leaf::Hang, None));
    }
}
