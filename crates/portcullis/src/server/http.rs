//! `portcullis serve --transport http`: MCP over streamable HTTP on a loopback port, for one
//! owner.
//!
//! Every request passes [`Guard::admit`] before rmcp's `StreamableHttpService` sees it:
//! 0. The request target must be a path (`POST /mcp`) or, in absolute-form, an `http://` URI
//!    whose authority passes the `Host` rules below and equals the `Host` header (else 403 for
//!    another host, 400 for a disagreement). `CONNECT host:port` (authority-form) and `OPTIONS *`
//!    (asterisk-form) are refused with 400: this server is not a proxy.
//! 1. `Host` must name this server (`localhost`, `127.0.0.1` or `[::1]` with the bound port, or
//!    an entry of `AWS_API_MCP_ALLOWED_HOSTS`) and an `Origin`, when a browser sends one, must be
//!    this server's own or listed in `AWS_API_MCP_ALLOWED_ORIGINS` — else 403. This is the
//!    DNS-rebinding defence: a web page the owner visits cannot drive the server.
//! 2. `Authorization: Bearer <token>` must carry the owner's token ([`Token`], read from or
//!    created in a 0600 file), compared in constant time — else 401.
//! 3. The path must be `/mcp` — else 404.
//! 4. An `Mcp-Session-Id` must belong to a session that this token created — else 404, as for a
//!    session that does not exist.
//!
//! Settings ([`HttpSettings`], read in `crate::config`) come from the awslabs server's variables
//! (`AWS_API_MCP_TRANSPORT`, `_HOST`, `_PORT`, `_ALLOWED_HOSTS`, `_ALLOWED_ORIGINS`), `serve` flags
//! and the config file; flags win, then the environment, then the file. Only
//! loopback addresses are bound unless `--allow-remote` is given. stdout stays empty; the log
//! (stderr) names the URL and the token file, never the token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{
    SessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::PortcullisServer;
// The settings are read and typed with the rest of the configuration.
use crate::config::{AllowedHost, Origin, split_authority};
pub use crate::config::{HttpSettings, ServeFlags};
#[cfg(test)]
use crate::config::{Transport, TransportFlag};

/// The one path MCP is served on.
pub const MCP_PATH: &str = "/mcp";
/// Prometheus metrics (GET), behind the same checks as MCP.
pub const METRICS_PATH: &str = "/metrics";
/// How long a client may take to send a request's headers (slow-loris bound).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most sessions bound at once; beyond it new sessions are refused until old ones end.
const MAX_SESSIONS: usize = 1024;
const SESSION_HEADER: &str = "mcp-session-id";

/// The owner's bearer token. Never printed: `Debug` shows only that it exists.
pub struct Token {
    secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// The shortest token accepted from a file (128 bits as hex).
const MIN_TOKEN_LEN: usize = 32;

impl Token {
    /// Reads the token at `path`, or creates one (256 random bits, hex) there with mode 0600.
    /// Returns whether it was created. A file that others may read is refused.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(Token, bool)> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Ok((Token::load(path)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match Token::create(path) {
                Ok(t) => Ok((t, true)),
                // Another server started at the same moment and won: use its token.
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists) =>
                {
                    Ok((Token::load(path)?, false))
                }
                Err(e) => Err(e),
            },
            Err(e) => {
                Err(e).with_context(|| format!("cannot read the token file {}", path.display()))
            }
        }
    }

    fn load(path: &Path) -> anyhow::Result<Token> {
        let meta = std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        anyhow::ensure!(
            meta.file_type().is_file(),
            "the token file {} is not a regular file (a symlink or a directory); replace it with a file, or delete it to have one generated",
            path.display()
        );
        let mode = meta.permissions().mode() & 0o777;
        anyhow::ensure!(
            mode & 0o077 == 0,
            "the token file {} is readable or writable by other users (mode {mode:03o}); run `chmod 600 {}`, or delete it to have a new token generated",
            path.display(),
            path.display()
        );
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        let secret = text.trim().to_string();
        anyhow::ensure!(
            secret.len() >= MIN_TOKEN_LEN && secret.bytes().all(|b| b.is_ascii_graphic()),
            "the token file {} must hold one token of at least {MIN_TOKEN_LEN} printable characters; delete it to have one generated",
            path.display()
        );
        Ok(Token { secret })
    }

    /// Writes a fresh token to a private temporary file, then links it into place: the file is
    /// never visible half-written nor with a wider mode, and an existing file is never replaced.
    fn create(path: &Path) -> anyhow::Result<Token> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| {
                format!(
                    "cannot create the directory of the token file {}",
                    dir.display()
                )
            })?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("cannot get random bytes for the token: {e}"))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag)
            .map_err(|e| anyhow::anyhow!("cannot get random bytes for the token: {e}"))?;
        let tmp = dir.join(format!(
            ".token.{}.{:016x}",
            std::process::id(),
            u64::from_le_bytes(tag)
        ));
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(secret.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::hard_link(&tmp, path)
        })();
        let _ = std::fs::remove_file(&tmp);
        written.map_err(anyhow::Error::from)?;
        Ok(Token { secret })
    }

    fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a request target this server never serves (authority-form, asterisk-form, another
    /// scheme), or an absolute-form target that disagrees with the `Host` header.
    BadRequest(&'static str),
    /// 403: the Host or Origin is not this server's (DNS rebinding, cross-site request).
    Forbidden(&'static str),
    /// 401: no token, or not the owner's.
    Unauthorized(&'static str),
    /// 404: not the MCP path, or a session this token does not own.
    NotFound(&'static str),
}

impl Refusal {
    fn response(&self) -> Response<BoxBody<Bytes, Infallible>> {
        let (status, text) = match self {
            Refusal::BadRequest(t) => (StatusCode::BAD_REQUEST, *t),
            Refusal::Forbidden(t) => (StatusCode::FORBIDDEN, *t),
            Refusal::Unauthorized(t) => (StatusCode::UNAUTHORIZED, *t),
            Refusal::NotFound(t) => (StatusCode::NOT_FOUND, *t),
        };
        let mut resp = Response::new(Full::new(Bytes::from(format!("{text}\n"))).boxed());
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portcullis\""),
            );
        }
        resp
    }
}

/// Who made a request: the digest of the token it carried (one owner today).
pub type Principal = [u8; 32];

/// The checks every request passes, and which principal owns which session.
pub struct Guard {
    port: u16,
    hosts: Vec<AllowedHost>,
    origins: Vec<Origin>,
    token: [u8; 32],
    sessions: Mutex<HashMap<String, Principal>>,
}

impl Guard {
    /// The guard of a server bound to `port` with `settings`' allow-lists and the owner's token.
    pub fn new(port: u16, settings: &HttpSettings, token: &Token) -> Guard {
        let mut hosts: Vec<AllowedHost> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|h| AllowedHost {
                host: (*h).to_string(),
                port: Some(port),
            })
            .collect();
        hosts.extend(settings.allowed_hosts.iter().cloned());
        let mut origins: Vec<Origin> = ["localhost", "127.0.0.1"]
            .iter()
            .map(|h| Origin {
                scheme: "http".into(),
                host: (*h).to_string(),
                port,
            })
            .collect();
        origins.extend(settings.allowed_origins.iter().cloned());
        Guard {
            port,
            hosts,
            origins,
            token: token.digest(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The request target's form (400), Host, the target's authority and Origin (403, or 400 when
    /// the target and Host disagree), then the bearer token (401), then the path (404).
    pub fn admit(&self, target: &Uri, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let named = target_authority(target)?;
        let host = self.check_host(headers)?;
        if let Some(named) = named {
            // RFC 9112 §3.2.2 has a server accept the absolute-form (and ignore Host): we accept it
            // only when it names this server exactly as an acceptable Host would (same names, same
            // port rules), and only when the Host header names it the same way, so that whatever
            // reads the target or the Host later sees this server either way.
            if !self.is_allowed_host(&named) {
                return Err(Refusal::Forbidden(
                    "Forbidden: the request target names a host that is not this server (this server is not a proxy); \
                     send `POST /mcp` with the Host header naming this server",
                ));
            }
            if named != host {
                return Err(Refusal::BadRequest(
                    "Bad Request: the host and port in the request target differ from the Host header; \
                     send the path alone (`POST /mcp`), or name this server the same way in both",
                ));
            }
        }
        self.check_origin(headers)?;
        let principal = self.check_token(headers)?;
        let path = target.path();
        if path != MCP_PATH && path != METRICS_PATH {
            return Err(Refusal::NotFound(
                "Not Found: MCP is served on /mcp (metrics on /metrics)",
            ));
        }
        Ok(principal)
    }

    /// The `Host` header's host and port (80 when absent), when it is one that names this server.
    fn check_host(&self, headers: &HeaderMap) -> Result<(String, u16), Refusal> {
        let mut values = headers.get_all(header::HOST).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(Refusal::Forbidden(
                "Forbidden: exactly one Host header is required",
            ));
        };
        let (host, port) = value
            .to_str()
            .ok()
            .and_then(split_authority)
            .ok_or(Refusal::Forbidden("Forbidden: malformed Host header"))?;
        let named = (host, port.unwrap_or(80));
        if self.is_allowed_host(&named) {
            Ok(named)
        } else {
            Err(Refusal::Forbidden(
                "Forbidden: Host header is not this server (possible DNS rebinding)",
            ))
        }
    }

    /// Whether `(host, port)` names this server: a loopback name with the bound port, or an
    /// `AWS_API_MCP_ALLOWED_HOSTS` entry (with its port, else the bound port).
    fn is_allowed_host(&self, (host, port): &(String, u16)) -> bool {
        self.hosts
            .iter()
            .any(|a| a.host == *host && a.port.unwrap_or(self.port) == *port)
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let mut ok = true;
        for value in headers.get_all(header::ORIGIN) {
            let origin = value.to_str().ok().and_then(Origin::parse);
            ok &= origin.is_some_and(|o| self.origins.contains(&o));
        }
        if ok {
            Ok(())
        } else {
            Err(Refusal::Forbidden(
                "Forbidden: Origin is not allowed (cross-site request)",
            ))
        }
    }

    fn check_token(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(Refusal::Unauthorized(
                "Unauthorized: send `Authorization: Bearer <token>` (the token is in the server's token file)",
            ));
        };
        let presented = value
            .as_bytes()
            .split_first_chunk::<7>()
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
            .map(|(_, rest)| rest.trim_ascii())
            .ok_or(Refusal::Unauthorized(
                "Unauthorized: the Authorization header must be `Bearer <token>`",
            ))?;
        // Compare digests: constant time, and the length of the token does not leak either.
        let digest: [u8; 32] = Sha256::digest(presented).into();
        if bool::from(digest.ct_eq(&self.token)) {
            Ok(digest)
        } else {
            Err(Refusal::Unauthorized("Unauthorized: wrong token"))
        }
    }

    /// A request naming a session must come from the principal that created it. Unknown and
    /// foreign sessions look the same (404), as the protocol asks for an expired session.
    pub fn check_session(&self, session: &str, principal: &Principal) -> Result<(), Refusal> {
        let sessions = self
            .sessions
            .lock()
            .map_err(|_| Refusal::NotFound("Not Found: session table unavailable"))?;
        match sessions.get(session) {
            Some(owner) if bool::from(owner.ct_eq(principal)) => Ok(()),
            _ => Err(Refusal::NotFound("Not Found: no such session")),
        }
    }

    /// Whether another session may start (the table is bounded).
    fn has_room(&self) -> bool {
        self.sessions.lock().is_ok_and(|s| s.len() < MAX_SESSIONS)
    }

    /// The sessions bound now.
    fn session_ids(&self) -> Vec<String> {
        self.sessions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Records that `principal` created `session`.
    pub fn bind(&self, session: &str, principal: Principal) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(session.to_string(), principal);
        }
    }

    fn unbind(&self, session: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(session);
        }
    }
}

/// The host and port (80 when absent) an absolute-form request target names (`None` for the
/// origin-form, a plain path). The other forms are refused: authority-form (`CONNECT host:port`)
/// and asterisk-form (`OPTIONS *`) are for proxies and server-wide options, neither of which this
/// server is or has, and an absolute URI with another scheme than `http` is not this server either.
fn target_authority(target: &Uri) -> Result<Option<(String, u16)>, Refusal> {
    match (target.scheme_str(), target.authority()) {
        (None, None) if target.path().starts_with('/') => Ok(None),
        (None, None) => Err(Refusal::BadRequest(
            "Bad Request: the asterisk-form request target (`OPTIONS *`) is not served; send MCP requests to /mcp",
        )),
        (None, Some(_)) => Err(Refusal::BadRequest(
            "Bad Request: this server is not a proxy: an authority-form request target (`CONNECT host:port`) is not \
             served; send MCP requests to /mcp",
        )),
        (Some(scheme), Some(authority)) if scheme.eq_ignore_ascii_case("http") => {
            let (host, port) = split_authority(authority.as_str()).ok_or(Refusal::Forbidden(
                "Forbidden: the authority in the request target is malformed (user info, bad port); \
                 send `POST /mcp` with the Host header naming this server",
            ))?;
            Ok(Some((host, port.unwrap_or(80))))
        }
        (Some(_), _) => Err(Refusal::BadRequest(
            "Bad Request: this server speaks plain `http`: a request target with another scheme is not served; \
             send `POST /mcp` with the Host header naming this server",
        )),
    }
}

type Mcp = StreamableHttpService<PortcullisServer, LocalSessionManager>;

/// Serves `server` on `settings.addr` until the process ends.
pub async fn serve(settings: HttpSettings, server: PortcullisServer) -> anyhow::Result<()> {
    let (token, created) = Token::load_or_create(&settings.token_file)?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let guard = Guard::new(bound.port(), &settings, &token);
    drop(token);
    // Host and Origin are checked by the guard first (with the port); rmcp's own check knows
    // neither the port nor our allow-lists, so it is switched off rather than kept half-right.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let sessions = Arc::new(LocalSessionManager::default());
    let metrics = server.metrics.clone();
    let mcp: Mcp = StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    // The guard is a tower layer in front of rmcp's service: nothing reaches MCP unadmitted.
    let service = tower::Layer::layer(
        &GuardLayer {
            served: Arc::new(Served {
                guard,
                sessions,
                metrics,
            }),
        },
        mcp,
    );
    tracing::info!(
        "portcullis: serving MCP on http://{bound}{MCP_PATH} (token file: {}{})",
        settings.token_file.display(),
        if created { ", just created" } else { "" }
    );
    tracing::info!(
        "portcullis: clients must send `Authorization: Bearer <the token file's contents>`"
    );
    if !bound.ip().is_loopback() {
        tracing::warn!(
            "portcullis: warning: listening on {} (--allow-remote) in plain HTTP; only the Host names \
             localhost, 127.0.0.1, [::1] and AWS_API_MCP_ALLOWED_HOSTS are answered",
            bound.ip()
        );
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("portcullis: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Responses are written in pieces (headers, then SSE events): without TCP_NODELAY the
        // second small write waits for the client's delayed ACK, ~40 ms per call on keep-alive.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("portcullis: TCP_NODELAY not set: {e}");
        }
        let service = service.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let mut service = service.clone();
                tower::Service::call(&mut service, req)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
                // Clients going away mid-stream is normal for SSE; only say something useful.
                if !e.is_incomplete_message() && !e.is_canceled() {
                    tracing::warn!("portcullis: HTTP connection error: {e}");
                }
            }
        });
    }
}

/// What every connection shares: the guard, the MCP sessions and the metrics.
struct Served {
    guard: Guard,
    sessions: Arc<LocalSessionManager>,
    metrics: Arc<super::metrics::Metrics>,
}

impl Served {
    /// Forgets the bindings of sessions rmcp has ended (idle timeout, client gone).
    async fn prune_sessions(&self) {
        for id in self.guard.session_ids() {
            if !self
                .sessions
                .has_session(&Arc::from(id.as_str()))
                .await
                .unwrap_or(false)
            {
                self.guard.unbind(&id);
            }
        }
    }
}

type HttpResponse = Response<BoxBody<Bytes, Infallible>>;

/// The HTTP guard as a tower layer: every request is admitted (Host, Origin, target, token),
/// `/metrics` answered, and sessions bound to their creator before the inner (MCP) service sees it.
#[derive(Clone)]
struct GuardLayer {
    served: Arc<Served>,
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guarded<S>;
    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            inner,
            served: Arc::clone(&self.served),
        }
    }
}

/// See [`GuardLayer`].
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    served: Arc<Served>,
}

impl<S> tower::Service<Request<Incoming>> for Guarded<S>
where
    S: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let (inner, served) = (self.inner.clone(), Arc::clone(&self.served));
        Box::pin(handle(served, inner, req))
    }
}

async fn handle<S>(
    served: Arc<Served>,
    mut mcp: S,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible>
where
    S: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible>,
{
    let guard = &served.guard;
    let principal = match guard.admit(req.uri(), req.headers()) {
        Ok(p) => p,
        Err(refusal) => {
            // A target's host and port are named too; never its user info nor its query.
            let named = req
                .uri()
                .authority()
                .map_or(String::new(), |a| match a.port_u16() {
                    Some(port) => format!("{}:{port}", a.host()),
                    None => a.host().to_string(),
                });
            tracing::warn!(
                "portcullis: refused {} {named}{}: {refusal:?}",
                req.method(),
                req.uri().path()
            );
            return Ok(refusal.response());
        }
    };
    if req.uri().path() == METRICS_PATH {
        let mut resp = Response::new(Full::new(Bytes::from(served.metrics.render())).boxed());
        if req.method() != Method::GET {
            *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        }
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(resp);
    }
    let session = req
        .headers()
        .get(SESSION_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(id) = &session
        && let Err(refusal) = guard.check_session(id, &principal)
    {
        return Ok(refusal.response());
    }
    if session.is_none() && req.method() == Method::POST && !guard.has_room() {
        served.prune_sessions().await;
    }
    if session.is_none() && req.method() == Method::POST && !guard.has_room() {
        let mut resp = Response::new(
            Full::new(Bytes::from_static(
                b"Service Unavailable: too many sessions\n",
            ))
            .boxed(),
        );
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return Ok(resp);
    }
    let deleting = req.method() == Method::DELETE;
    let resp = tower_call(&mut mcp, req).await;
    match (
        &session,
        resp.headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok()),
    ) {
        // A new session: it belongs to whoever created it.
        (None, Some(created)) => guard.bind(created, principal),
        (Some(id), _) if deleting && resp.status().is_success() => guard.unbind(id),
        _ => {}
    }
    Ok(resp)
}

async fn tower_call<S>(mcp: &mut S, req: Request<Incoming>) -> HttpResponse
where
    S: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible>,
{
    // rmcp's `StreamableHttpService` is always ready and never fails; readied all the same.
    if let Err(never) = std::future::poll_fn(|cx| mcp.poll_ready(cx)).await {
        match never {}
    }
    match mcp.call(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn http_flags() -> ServeFlags {
        ServeFlags {
            transport: Some(TransportFlag::Http),
            ..ServeFlags::default()
        }
    }

    #[test]
    fn transport_from_flag_and_env() {
        let none = ServeFlags::default();
        assert_eq!(
            Transport::from_env_and_flags(&none, &env(&[])).unwrap(),
            Transport::Stdio
        );
        assert_eq!(
            Transport::from_env_and_flags(
                &none,
                &env(&[("AWS_API_MCP_TRANSPORT", "streamable-http")])
            )
            .unwrap(),
            Transport::Http
        );
        assert_eq!(
            Transport::from_env_and_flags(&none, &env(&[("AWS_API_MCP_TRANSPORT", "STDIO")]))
                .unwrap(),
            Transport::Stdio
        );
        // The flag beats the variable.
        let stdio = ServeFlags {
            transport: Some(TransportFlag::Stdio),
            ..ServeFlags::default()
        };
        assert_eq!(
            Transport::from_env_and_flags(
                &stdio,
                &env(&[("AWS_API_MCP_TRANSPORT", "streamable-http")])
            )
            .unwrap(),
            Transport::Stdio
        );
        assert_eq!(
            Transport::from_env_and_flags(
                &http_flags(),
                &env(&[("AWS_API_MCP_TRANSPORT", "stdio")])
            )
            .unwrap(),
            Transport::Http
        );
        let err = Transport::from_env_and_flags(&none, &env(&[("AWS_API_MCP_TRANSPORT", "sse")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AWS_API_MCP_TRANSPORT")
                && err.contains("streamable-http")
                && err.contains("`sse`"),
            "{err}"
        );
        // HTTP flags on stdio are a mistake worth saying.
        let port_only = ServeFlags {
            port: Some(9000),
            ..ServeFlags::default()
        };
        assert!(
            Transport::from_env_and_flags(&port_only, &env(&[]))
                .unwrap_err()
                .to_string()
                .contains("--transport http")
        );
    }

    #[test]
    fn settings_defaults_env_and_flags() {
        let s =
            HttpSettings::from_env_and_flags(&http_flags(), &env(&[("HOME", "/home/o")])).unwrap();
        assert_eq!(s.addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(
            s.token_file,
            PathBuf::from("/home/o/.local/state/portcullis/token")
        );
        let s = HttpSettings::from_env_and_flags(
            &http_flags(),
            &env(&[("HOME", "/home/o"), ("XDG_STATE_HOME", "/state")]),
        )
        .unwrap();
        assert_eq!(s.token_file, PathBuf::from("/state/portcullis/token"));
        let s = HttpSettings::from_env_and_flags(
            &http_flags(),
            &env(&[("HOME", "/h"), ("XDG_STATE_HOME", "relative")]),
        )
        .unwrap();
        assert_eq!(
            s.token_file,
            PathBuf::from("/h/.local/state/portcullis/token")
        );

        let vars = [
            ("AWS_API_MCP_HOST", "::1"),
            ("AWS_API_MCP_PORT", "0"),
            ("PORTCULLIS_TOKEN_FILE", "/t/token"),
            ("AWS_API_MCP_ALLOWED_HOSTS", "box.lan, box.lan:9000"),
            (
                "AWS_API_MCP_ALLOWED_ORIGINS",
                "https://app.example,http://box.lan:3000/",
            ),
        ];
        let s = HttpSettings::from_env_and_flags(&http_flags(), &env(&vars)).unwrap();
        assert_eq!(s.addr, "[::1]:0".parse().unwrap());
        assert_eq!(s.token_file, PathBuf::from("/t/token"));
        assert_eq!(
            s.allowed_hosts,
            [
                AllowedHost {
                    host: "box.lan".into(),
                    port: None
                },
                AllowedHost {
                    host: "box.lan".into(),
                    port: Some(9000)
                }
            ]
        );
        assert_eq!(
            s.allowed_origins,
            [
                Origin::parse("https://app.example:443").unwrap(),
                Origin::parse("http://box.lan:3000").unwrap()
            ]
        );

        // Flags beat the environment.
        let flags = ServeFlags {
            host: Some("localhost".into()),
            port: Some(1234),
            token_file: Some("/f".into()),
            ..http_flags()
        };
        let s = HttpSettings::from_env_and_flags(&flags, &env(&vars)).unwrap();
        assert_eq!(s.addr, "127.0.0.1:1234".parse().unwrap());
        assert_eq!(s.token_file, PathBuf::from("/f"));
    }

    #[test]
    fn bad_settings_name_the_variable_and_the_accepted_values() {
        let bad = |k: &str, v: &str| {
            HttpSettings::from_env_and_flags(&http_flags(), &env(&[("HOME", "/h"), (k, v)]))
                .map(|_| ())
                .unwrap_err()
        };
        let e = format!("{:#}", bad("AWS_API_MCP_PORT", "80000"));
        assert!(
            e.contains("AWS_API_MCP_PORT") && e.contains("0 to 65535") && e.contains("80000"),
            "{e}"
        );
        let e = format!("{:#}", bad("AWS_API_MCP_PORT", "http"));
        assert!(e.contains("AWS_API_MCP_PORT"), "{e}");
        let e = format!("{:#}", bad("AWS_API_MCP_HOST", "my.host"));
        assert!(
            e.contains("AWS_API_MCP_HOST") && e.contains("IP address"),
            "{e}"
        );
        let e = format!("{:#}", bad("AWS_API_MCP_ALLOWED_HOSTS", "*"));
        assert!(
            e.contains("AWS_API_MCP_ALLOWED_HOSTS") && e.contains("wildcards"),
            "{e}"
        );
        let e = format!("{:#}", bad("AWS_API_MCP_ALLOWED_HOSTS", "a/b"));
        assert!(e.contains("AWS_API_MCP_ALLOWED_HOSTS"), "{e}");
        let e = format!("{:#}", bad("AWS_API_MCP_ALLOWED_ORIGINS", "app.example"));
        assert!(
            e.contains("AWS_API_MCP_ALLOWED_ORIGINS") && e.contains("http[s]://"),
            "{e}"
        );
        let e = format!("{:#}", bad("AWS_API_MCP_ALLOWED_ORIGINS", "*"));
        assert!(e.contains("AWS_API_MCP_ALLOWED_ORIGINS"), "{e}");
        let e = format!(
            "{:#}",
            HttpSettings::from_env_and_flags(&http_flags(), &env(&[])).unwrap_err()
        );
        assert!(e.contains("--token-file"), "{e}");
    }

    #[test]
    fn remote_binding_needs_allow_remote() {
        for host in ["0.0.0.0", "192.168.1.5", "::"] {
            let e = HttpSettings::from_env_and_flags(
                &http_flags(),
                &env(&[("HOME", "/h"), ("AWS_API_MCP_HOST", host)]),
            )
            .unwrap_err();
            let e = format!("{e:#}");
            assert!(
                e.contains("not a loopback address") && e.contains("--allow-remote"),
                "{e}"
            );
        }
        let flags = ServeFlags {
            host: Some("0.0.0.0".into()),
            allow_remote: true,
            ..http_flags()
        };
        let s = HttpSettings::from_env_and_flags(&flags, &env(&[("HOME", "/h")])).unwrap();
        assert_eq!(s.addr, "0.0.0.0:8000".parse().unwrap());
    }

    fn guard() -> Guard {
        let settings = HttpSettings::from_env_and_flags(
            &http_flags(),
            &env(&[
                ("HOME", "/h"),
                ("AWS_API_MCP_ALLOWED_HOSTS", "box.lan"),
                ("AWS_API_MCP_ALLOWED_ORIGINS", "https://app.example"),
            ]),
        )
        .unwrap();
        Guard::new(
            4567,
            &settings,
            &Token {
                secret: "s3cret-s3cret-s3cret-s3cret-s3cret".into(),
            },
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const AUTH: (&str, &str) = ("authorization", "Bearer s3cret-s3cret-s3cret-s3cret-s3cret");

    /// A request target as hyper hands it over.
    fn t(target: &str) -> Uri {
        target.parse().unwrap()
    }

    #[test]
    fn host_must_name_this_server() {
        let g = guard();
        for host in [
            "localhost:4567",
            "127.0.0.1:4567",
            "[::1]:4567",
            "LOCALHOST:4567",
            "box.lan:4567",
        ] {
            assert!(
                g.admit(&t("/mcp"), &headers(&[("host", host), AUTH]))
                    .is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example:4567",
            "localhost:4568",
            "localhost",
            "127.0.0.1:80",
            "box.lan:1",
            "localhost:4567@x",
            "",
        ] {
            assert!(
                matches!(
                    g.admit(&t("/mcp"), &headers(&[("host", host), AUTH])),
                    Err(Refusal::Forbidden(_))
                ),
                "{host}"
            );
        }
        // Missing or doubled Host.
        assert!(matches!(
            g.admit(&t("/mcp"), &headers(&[AUTH])),
            Err(Refusal::Forbidden(_))
        ));
        let two = headers(&[("host", "localhost:4567"), ("host", "evil.example"), AUTH]);
        assert!(matches!(
            g.admit(&t("/mcp"), &two),
            Err(Refusal::Forbidden(_))
        ));
        // Host is checked before the token: a rebinding page learns nothing about it.
        assert!(matches!(
            g.admit(&t("/mcp"), &headers(&[("host", "evil.example:4567")])),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn request_target_is_checked_like_host() {
        let g = guard();
        let with =
            |target: &str, host: &str| g.admit(&t(target), &headers(&[("host", host), AUTH]));
        // Absolute-form naming this server, as the Host header does: accepted (RFC 9112 §3.2.2).
        for (target, host) in [
            ("http://127.0.0.1:4567/mcp", "127.0.0.1:4567"),
            ("http://LOCALHOST:4567/mcp", "localhost:4567"),
            ("HTTP://[::1]:4567/mcp", "[::1]:4567"),
            ("http://box.lan:4567/mcp", "box.lan:4567"),
        ] {
            assert!(with(target, host).is_ok(), "{target}");
        }
        // Another host, or this host on another port, or with user info: 403, whatever Host says.
        for target in [
            "http://evil.example/mcp",
            "http://evil.example:4567/mcp",
            "http://127.0.0.1/mcp",
            "http://127.0.0.1:4568/mcp",
            "http://user@127.0.0.1:4567/mcp",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(with(target, "127.0.0.1:4567"), Err(Refusal::Forbidden(_))),
                "{target}"
            );
        }
        // This server, but not as the Host header names it: 400.
        assert!(matches!(
            with("http://localhost:4567/mcp", "127.0.0.1:4567"),
            Err(Refusal::BadRequest(_))
        ));
        // A good target does not excuse a bad or missing Host.
        assert!(matches!(
            with("http://127.0.0.1:4567/mcp", "evil.example:4567"),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            g.admit(&t("http://127.0.0.1:4567/mcp"), &headers(&[AUTH])),
            Err(Refusal::Forbidden(_))
        ));
        // Other schemes, authority-form (CONNECT) and asterisk-form (OPTIONS *): 400.
        for target in [
            "https://127.0.0.1:4567/mcp",
            "ws://127.0.0.1:4567/mcp",
            "127.0.0.1:4567",
            "evil.example:443",
            "*",
        ] {
            assert!(
                matches!(with(target, "127.0.0.1:4567"), Err(Refusal::BadRequest(_))),
                "{target}"
            );
        }
        // The checks come before the token: refused without one too, and the path is still checked.
        assert!(matches!(
            g.admit(
                &t("http://evil.example/mcp"),
                &headers(&[("host", "127.0.0.1:4567")])
            ),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            with("http://127.0.0.1:4567/other", "127.0.0.1:4567"),
            Err(Refusal::NotFound(_))
        ));
        let resp = Refusal::BadRequest("x").response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn origin_when_present_must_be_allowed() {
        let g = guard();
        let with = |o: &str| {
            g.admit(
                &t("/mcp"),
                &headers(&[("host", "localhost:4567"), ("origin", o), AUTH]),
            )
        };
        for ok in [
            "http://localhost:4567",
            "http://127.0.0.1:4567",
            "https://app.example",
            "https://APP.example:443",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost:4568",
            "https://localhost:4567",
            "http://app.example",
            "null",
            "",
            "file://",
        ] {
            assert!(matches!(with(bad), Err(Refusal::Forbidden(_))), "{bad}");
        }
        // No Origin: a non-browser client.
        assert!(
            g.admit(&t("/mcp"), &headers(&[("host", "localhost:4567"), AUTH]))
                .is_ok()
        );
    }

    #[test]
    fn bearer_token_is_required() {
        let g = guard();
        let with = |auth: Option<&str>| {
            let mut h = headers(&[("host", "127.0.0.1:4567")]);
            if let Some(a) = auth {
                h.append("authorization", HeaderValue::from_str(a).unwrap());
            }
            g.admit(&t("/mcp"), &h)
        };
        assert!(with(Some("Bearer s3cret-s3cret-s3cret-s3cret-s3cret")).is_ok());
        assert!(with(Some("bearer  s3cret-s3cret-s3cret-s3cret-s3cret ")).is_ok());
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("Bearer "),
            Some("Basic czNjcmV0"),
            Some("s3cret-s3cret-s3cret-s3cret-s3cret"),
            Some("Bearer s3cret-s3cret-s3cret-s3cret-s3cre"),
        ] {
            assert!(
                matches!(with(bad), Err(Refusal::Unauthorized(_))),
                "{bad:?}"
            );
        }
        let resp = Refusal::Unauthorized("x").response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(
            resp.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(
            Refusal::Forbidden("x").response().status(),
            StatusCode::FORBIDDEN
        );
        // The path comes last.
        let h = headers(&[("host", "127.0.0.1:4567"), AUTH]);
        assert!(matches!(g.admit(&t("/"), &h), Err(Refusal::NotFound(_))));
        assert!(matches!(
            g.admit(&t("/mcp/"), &h),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn sessions_belong_to_their_creator() {
        let g = guard();
        let owner = g
            .admit(&t("/mcp"), &headers(&[("host", "127.0.0.1:4567"), AUTH]))
            .unwrap();
        g.bind("abc", owner);
        assert!(g.check_session("abc", &owner).is_ok());
        assert!(matches!(
            g.check_session("abc", &[7u8; 32]),
            Err(Refusal::NotFound(_))
        ));
        assert!(matches!(
            g.check_session("other", &owner),
            Err(Refusal::NotFound(_))
        ));
        g.unbind("abc");
        assert!(g.check_session("abc", &owner).is_err());
    }

    #[tokio::test]
    async fn bindings_of_ended_sessions_are_pruned() {
        let sessions = Arc::new(LocalSessionManager::default());
        let served = Served {
            guard: guard(),
            sessions,
            metrics: Arc::default(),
        };
        served.guard.bind("gone", [1u8; 32]);
        assert_eq!(served.guard.session_ids(), ["gone"]);
        served.prune_sessions().await;
        assert!(served.guard.session_ids().is_empty());
    }

    #[test]
    fn origin_and_authority_parsing() {
        assert_eq!(
            Origin::parse("http://localhost"),
            Some(Origin {
                scheme: "http".into(),
                host: "localhost".into(),
                port: 80
            })
        );
        assert_eq!(
            Origin::parse("http://[::1]:8000").map(|o| o.host),
            Some("[::1]".into())
        );
        for bad in [
            "localhost",
            "ftp://x",
            "http://",
            "http://a:b",
            "http://a/b",
            "http://u@a",
            "http://::1",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
        assert_eq!(
            split_authority("[::1]:80"),
            Some(("[::1]".into(), Some(80)))
        );
        assert_eq!(split_authority("[::1]x"), None);
        assert_eq!(split_authority("a:"), None);
        assert_eq!(split_authority("a:99999"), None);
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("portcullis-http-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn token_file_is_created_private_and_reused() {
        let dir = temp_dir("token");
        let path = dir.join("state/portcullis/token");
        let (t, created) = Token::load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(t.secret.len(), 64);
        assert!(t.secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(format!("{t:?}"), "Token(..)");
        // No temporary file is left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        let (again, created) = Token::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.secret, t.secret);
        // Two tokens are never the same.
        let (other, _) = Token::load_or_create(&dir.join("other")).unwrap();
        assert_ne!(other.secret, t.secret);

        // Readable by others: refused, saying what to do.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = format!("{:#}", Token::load_or_create(&path).unwrap_err());
        assert!(e.contains("chmod 600") && e.contains("640"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(Token::load_or_create(&path).is_err());
        // Too short, or a symlink: refused.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "short\n").unwrap();
        assert!(format!("{:#}", Token::load_or_create(&path).unwrap_err()).contains("at least"));
        let link = dir.join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(
            format!("{:#}", Token::load_or_create(&link).unwrap_err())
                .contains("not a regular file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
