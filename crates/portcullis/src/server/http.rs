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
//! `/healthz` and `/readyz` (GET or HEAD, for orchestrators) are answered after checks 0 and 1 and
//! before the token: `/healthz` is 200 `ok` while the process serves; `/readyz` is 200 `ready`, or
//! 503 naming the open circuit breakers and a full queue (`Limits::readiness`).
//!
//! Bounds, so that one slow or leaky client (or one token holder) cannot lock everyone out:
//! - Request headers must arrive within 5 s of their first byte ([`HEADER_READ_TIMEOUT`], a
//!   trickling client is cut), and a connection with no request in progress and no bytes for 60 s
//!   is closed ([`IDLE_TIMEOUT`]); a response being written (an SSE stream) is never cut by either.
//! - Connections are capped per peer IP address (an IPv6 /64 counts as one) and in all
//!   (`PORTCULLIS_MAX_CONNECTIONS_PER_PEER`, 64; `PORTCULLIS_MAX_CONNECTIONS`, 1024): one over a
//!   cap gets a bare `503` and is closed at once, without being served.
//! - Sessions are capped per token and in all (`PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL`, 4096;
//!   `PORTCULLIS_MAX_SESSIONS`, 16384). A new session over a cap ends the least recently used
//!   idle session (the token's own for its quota, anyone's for the total) instead of being
//!   refused: a session is idle when none of its requests is in progress (an open SSE stream is
//!   in progress), and its age is the end of its last request. Only when every candidate is busy
//!   is the new session refused (503). A session idle for an hour is forgotten
//!   ([`SESSION_EXPIRY`]; 404 from then on).
//! - Sessions sleep: rmcp holds a worker (~60 KiB) per live session, and at most
//!   `PORTCULLIS_MAX_LIVE_SESSIONS` (256) are live. Over that, and after 5 minutes without a
//!   message ([`SESSION_IDLE_EXPIRY`]), a session's worker ends and only its `initialize`
//!   parameters are kept ([`Resume`], under 1 KiB); its next request wakes it (rmcp replays the
//!   handshake), unnoticed by the client.
//! - A request body over 8 MiB is refused with 413 ([`MAX_BODY_BYTES`]): at once when its
//!   `Content-Length` says so, else (chunked) as soon as the bytes read pass the limit — it is
//!   never buffered whole.
//!
//! Settings ([`HttpSettings`], read in `crate::config`) come from the awslabs server's variables
//! (`AWS_API_MCP_TRANSPORT`, `_HOST`, `_PORT`, `_ALLOWED_HOSTS`, `_ALLOWED_ORIGINS`), `serve` flags
//! and the config file; flags win, then the environment, then the file. Only
//! loopback addresses are bound unless `--allow-remote` is given. stdout stays empty; the log
//! (stderr) names the URL and the token file, never the token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::{IpAddr, Ipv6Addr};
#[cfg(all(test, unix))]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{
    SessionState, SessionStore, SessionStoreError,
};
use rmcp::transport::streamable_http_server::{
    SessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::PortcullisServer;
use crate::pipeline::limits::Limits;
// The settings are read and typed with the rest of the configuration.
use crate::config::{AllowedHost, Origin, split_authority};
pub use crate::config::{HttpSettings, ServeFlags};
#[cfg(test)]
use crate::config::{Transport, TransportFlag};

/// The one path MCP is served on.
pub const MCP_PATH: &str = "/mcp";
/// Prometheus metrics (GET), behind the same checks as MCP.
pub const METRICS_PATH: &str = "/metrics";
/// Liveness (GET, HEAD): Host and Origin checked, no token needed.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Readiness (GET, HEAD): Host and Origin checked, no token needed.
pub const READYZ_PATH: &str = "/readyz";
/// How long a client may take to send a request's headers once their first byte has arrived
/// (slow-loris bound).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection may stay open with no request in progress and no bytes received.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// rmcp ends a session's worker after this long without a message from either side (its own
/// default, set here so that it stays so); the session sleeps and its next request wakes it.
pub const SESSION_IDLE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// A session with no request for this long is forgotten (404 from then on; the client starts a
/// new one, as the protocol asks).
pub const SESSION_EXPIRY: Duration = Duration::from_secs(60 * 60);
/// How often sessions past [`SESSION_EXPIRY`] are looked for.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Saved `initialize` parameters no session claims are dropped after this long.
const UNCLAIMED_STATE_EXPIRY: Duration = Duration::from_secs(60);
/// How long ending an evicted session may take before it is left to rmcp's expiry.
const SESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one warning this often about refused connections or evicted sessions (with a count).
const QUIET_LOG_INTERVAL: Duration = Duration::from_secs(10);
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
        let mode = portcullis_platform::mode_bits(&meta).unwrap_or_default() & 0o777;
        anyhow::ensure!(
            mode & 0o077 == 0,
            "the token file {} is readable or writable by other users (mode {mode:03o}); run `chmod 600 {}`, or delete it to have a new token generated",
            path.display(),
            path.display()
        );
        portcullis_platform::ensure_acl_private(path, "the token file")
            .map_err(|m| anyhow::anyhow!("{m}, or delete it to have a new token generated"))?;
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
        portcullis_platform::create_private_dir_all(dir).with_context(|| {
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
            let mut f = portcullis_platform::open_private(
                std::fs::OpenOptions::new().write(true).create_new(true),
                &tmp,
            )?;
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
    /// 413: a request body over [`MAX_BODY_BYTES`].
    PayloadTooLarge,
    /// 503: no room for another session (every candidate for eviction is busy).
    Unavailable(&'static str),
    /// 401 or 403 of the OAuth resource server, with its `WWW-Authenticate` challenge.
    Auth {
        error: super::oauth::AuthError,
        metadata_url: String,
    },
}

impl Refusal {
    fn response(&self) -> Response<BoxBody<Bytes, Infallible>> {
        if let Refusal::Auth {
            error,
            metadata_url,
        } = self
        {
            let status = if error.is_forbidden() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            let mut resp =
                Response::new(Full::new(Bytes::from(format!("{}\n", error.text()))).boxed());
            *resp.status_mut() = status;
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            if let Some(challenge) = error
                .challenge(metadata_url)
                .and_then(|c| HeaderValue::from_str(&c).ok())
            {
                headers.insert(header::WWW_AUTHENTICATE, challenge);
            }
            return resp;
        }
        let (status, text) = match self {
            Refusal::Auth { .. } => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            Refusal::BadRequest(t) => (StatusCode::BAD_REQUEST, *t),
            Refusal::Forbidden(t) => (StatusCode::FORBIDDEN, *t),
            Refusal::Unauthorized(t) => (StatusCode::UNAUTHORIZED, *t),
            Refusal::NotFound(t) => (StatusCode::NOT_FOUND, *t),
            Refusal::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large: request bodies are limited to 8 MiB",
            ),
            Refusal::Unavailable(t) => (StatusCode::SERVICE_UNAVAILABLE, *t),
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
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection cannot carry another request.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        resp
    }
}

/// Who made a request: the digest of the token it carried (the token file's), or of the OAuth
/// principal (`iss#sub`) its access token names.
pub type Principal = [u8; 32];

/// How requests authenticate.
enum Auth {
    /// The owner's token file: the digest of its token.
    Token([u8; 32]),
    /// OAuth access tokens.
    OAuth(Arc<super::oauth::Verifier>),
}

/// An admitted request's principal, and its name and role when it authenticated with OAuth.
pub struct Admitted {
    pub principal: Principal,
    pub user: Option<super::oauth::AuthenticatedUser>,
}

/// A bound session: who created it, when it was last used, how many of its requests are open.
struct SessionEntry {
    owner: Principal,
    /// When its last request ended (or, while one is open, began).
    last_seen: Instant,
    /// Its requests in progress; an open SSE stream counts until it ends. A busy session is never
    /// evicted.
    busy: usize,
    /// Whether rmcp holds a worker for it (else it is asleep: only its `initialize` parameters are
    /// kept, and its next request wakes it).
    live: bool,
}

impl SessionEntry {
    /// A session just created by `owner`.
    fn new(owner: Principal) -> SessionEntry {
        SessionEntry {
            owner,
            last_seen: Instant::now(),
            busy: 0,
            live: true,
        }
    }
}

/// What wakes a sleeping session: the client's `initialize` parameters, which rmcp replays.
struct Saved {
    state: SessionState,
    at: Instant,
}

/// The sessions bound, and those being created.
#[derive(Default)]
struct SessionTable {
    bound: HashMap<String, SessionEntry>,
    /// Requests that may create a session (a POST without a session) in progress, per principal:
    /// they count against the caps until they end.
    creating: HashMap<Principal, usize>,
    /// What each session needs to be woken (rmcp saves it after `initialize`, [`Resume`]).
    saved: HashMap<String, Saved>,
}

impl SessionTable {
    fn count(&self, principal: &Principal) -> usize {
        self.bound
            .values()
            .filter(|e| e.owner == *principal)
            .count()
            + self.creating.get(principal).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.bound.len() + self.creating.values().sum::<usize>()
    }

    fn live(&self) -> usize {
        self.bound.values().filter(|e| e.live).count() + self.creating.values().sum::<usize>()
    }

    /// Puts the least recently used idle live sessions (other than `keep`) to sleep until
    /// `room` more live sessions fit under `max_live`. Returns them, for rmcp to end their
    /// workers. A session without saved parameters cannot be woken: it is not chosen.
    fn make_live_room(&mut self, max_live: usize, room: usize, keep: Option<&str>) -> Vec<Evicted> {
        let live = self.live();
        if live + room <= max_live {
            return Vec::new();
        }
        let now = Instant::now();
        let mut idle: Vec<(Instant, &String)> = self
            .bound
            .iter()
            .filter(|(id, e)| {
                e.live && e.busy == 0 && Some(id.as_str()) != keep && self.saved.contains_key(*id)
            })
            .map(|(id, e)| (e.last_seen, id))
            .collect();
        idle.sort();
        let asleep: Vec<Evicted> = idle
            .into_iter()
            .take(live + room - max_live)
            .map(|(seen, id)| Evicted {
                id: id.clone(),
                idle_for: now.saturating_duration_since(seen),
                cap: "the live sessions",
                forget: false,
            })
            .collect();
        for e in &asleep {
            if let Some(entry) = self.bound.get_mut(&e.id) {
                entry.live = false;
            }
        }
        asleep
    }

    /// Forgets sessions idle for `expiry` or more (they answer 404 from then on), and saved
    /// parameters that no bound session has claimed within a minute (a failed `initialize`).
    /// Returns the forgotten sessions that were live, for rmcp to end.
    fn expire(&mut self, expiry: Duration) -> Vec<Evicted> {
        let now = Instant::now();
        let old: Vec<(String, Duration, bool)> = self
            .bound
            .iter()
            .filter(|(_, e)| e.busy == 0 && now.saturating_duration_since(e.last_seen) >= expiry)
            .map(|(id, e)| {
                (
                    id.clone(),
                    now.saturating_duration_since(e.last_seen),
                    e.live,
                )
            })
            .collect();
        let mut ended = Vec::new();
        for (id, idle_for, live) in old {
            self.bound.remove(&id);
            self.saved.remove(&id);
            if live {
                ended.push(Evicted {
                    id,
                    idle_for,
                    cap: "the session expiry",
                    forget: true,
                });
            }
        }
        let bound = &self.bound;
        self.saved.retain(|id, s| {
            bound.contains_key(id) || now.saturating_duration_since(s.at) < UNCLAIMED_STATE_EXPIRY
        });
        ended
    }
}

/// A session ended, or put to sleep, to make room for a new one.
#[derive(Debug)]
struct Evicted {
    id: String,
    idle_for: Duration,
    /// Which cap made room necessary.
    cap: &'static str,
    /// Forgotten (its requests get 404 from now on), or only asleep (its worker ended; its next
    /// request wakes it).
    forget: bool,
}

/// The store rmcp saves each session's `initialize` parameters in, and reads them back from to
/// wake a session whose worker has ended (asleep, or idle past [`SESSION_IDLE_EXPIRY`]): the
/// client keeps its session and never notices. Only bound sessions are woken (the guard has
/// already checked that the request comes from the session's creator).
struct Resume {
    table: Arc<Mutex<SessionTable>>,
}

#[async_trait::async_trait]
impl SessionStore for Resume {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let mut table = self
            .table
            .lock()
            .map_err(|_| SessionStoreError::from("session table unavailable"))?;
        let table = &mut *table;
        match (table.bound.get_mut(session_id), table.saved.get(session_id)) {
            (Some(entry), Some(saved)) => {
                entry.live = true;
                Ok(Some(saved.state.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let mut table = self
            .table
            .lock()
            .map_err(|_| SessionStoreError::from("session table unavailable"))?;
        table.saved.insert(
            session_id.to_string(),
            Saved {
                state: state.clone(),
                at: Instant::now(),
            },
        );
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let mut table = self
            .table
            .lock()
            .map_err(|_| SessionStoreError::from("session table unavailable"))?;
        table.saved.remove(session_id);
        Ok(())
    }
}

/// The checks every request passes, and which principal owns which session.
pub struct Guard {
    port: u16,
    hosts: Vec<AllowedHost>,
    origins: Vec<Origin>,
    auth: Auth,
    sessions: Arc<Mutex<SessionTable>>,
    /// Most sessions at once (`PORTCULLIS_MAX_SESSIONS`).
    max_sessions: usize,
    /// Most sessions with a worker at once (`PORTCULLIS_MAX_LIVE_SESSIONS`).
    max_live_sessions: usize,
    /// Most sessions of one principal (`PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL`).
    max_sessions_per_principal: usize,
}

impl Guard {
    /// The guard of a server bound to `port` with `settings`' allow-lists and the owner's token.
    pub fn new(port: u16, settings: &HttpSettings, token: &Token) -> Guard {
        Guard::build(port, settings, Auth::Token(token.digest()))
    }

    /// The guard of a server bound to `port` whose clients send OAuth access tokens.
    pub fn with_oauth(
        port: u16,
        settings: &HttpSettings,
        verifier: Arc<super::oauth::Verifier>,
    ) -> Guard {
        Guard::build(port, settings, Auth::OAuth(verifier))
    }

    fn build(port: u16, settings: &HttpSettings, auth: Auth) -> Guard {
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
            auth,
            sessions: Arc::new(Mutex::new(SessionTable::default())),
            max_sessions: settings.limits.max_sessions,
            max_live_sessions: settings.limits.max_live_sessions,
            max_sessions_per_principal: settings.limits.max_sessions_per_principal,
        }
    }

    /// The request target's form (400), Host, the target's authority and Origin (403, or 400 when
    /// the target and Host disagree), then the bearer token (401), then the path (404).
    pub fn admit(&self, target: &Uri, headers: &HeaderMap) -> Result<Principal, Refusal> {
        self.admit_probe(target, headers)?;
        let principal = self.check_token(headers)?;
        check_path(target)?;
        Ok(principal)
    }

    /// [`Guard::admit`] whatever the authentication: an OAuth access token may need the issuer's
    /// keys fetched first.
    pub async fn admit_request(
        &self,
        target: &Uri,
        headers: &HeaderMap,
    ) -> Result<Admitted, Refusal> {
        let Auth::OAuth(verifier) = &self.auth else {
            return self.admit(target, headers).map(|principal| Admitted {
                principal,
                user: None,
            });
        };
        self.admit_probe(target, headers)?;
        let who = verifier
            .authenticate(
                headers
                    .get_all(header::AUTHORIZATION)
                    .iter()
                    .map(HeaderValue::as_bytes),
            )
            .await
            .map_err(|error| Refusal::Auth {
                error,
                metadata_url: verifier.metadata_url().to_string(),
            })?;
        check_path(target)?;
        Ok(Admitted {
            principal: who.digest,
            user: Some(super::oauth::AuthenticatedUser {
                name: who.name,
                role: who.role,
            }),
        })
    }

    /// The RFC 9728 metadata document, when OAuth is on and `path` is where it is served.
    fn metadata(&self, path: &str) -> Option<serde_json::Value> {
        let Auth::OAuth(verifier) = &self.auth else {
            return None;
        };
        let served = verifier
            .metadata_url()
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(super::oauth::METADATA_PATH);
        (path == served || path == super::oauth::METADATA_PATH).then(|| verifier.metadata())
    }

    /// The checks of [`Guard::admit`] that come before the token: the request target's form,
    /// Host, the target's authority and Origin. Enough for `/healthz` and `/readyz`, which tell
    /// nothing a DNS-rebinding page could use, yet are not answered to one.
    pub fn admit_probe(&self, target: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
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
        self.check_origin(headers)
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
        let Auth::Token(token) = &self.auth else {
            return Err(Refusal::Unauthorized(
                "Unauthorized: send `Authorization: Bearer <access token>`",
            ));
        };
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
        if bool::from(digest.ct_eq(token)) {
            Ok(digest)
        } else {
            Err(Refusal::Unauthorized("Unauthorized: wrong token"))
        }
    }

    /// A request naming a session must come from the principal that created it. Unknown and
    /// foreign sessions look the same (404), as the protocol asks for an expired session.
    #[cfg(test)]
    pub fn check_session(&self, session: &str, principal: &Principal) -> Result<(), Refusal> {
        let sessions = self.table()?;
        match sessions.bound.get(session) {
            Some(e) if bool::from(e.owner.ct_eq(principal)) => Ok(()),
            _ => Err(Refusal::NotFound("Not Found: no such session")),
        }
    }

    /// [`Guard::check_session`], and the session is busy until [`Guard::leave_session`]. A
    /// sleeping session is about to be woken (by rmcp, from [`Resume`]): when the live sessions
    /// are at their cap, the least recently used idle ones are put to sleep first (returned, for
    /// rmcp to end their workers).
    fn enter_session(&self, session: &str, principal: &Principal) -> Result<Vec<Evicted>, Refusal> {
        let mut sessions = self.table()?;
        let asleep = match sessions.bound.get_mut(session) {
            Some(e) if bool::from(e.owner.ct_eq(principal)) => {
                e.busy += 1;
                e.last_seen = Instant::now();
                !e.live
            }
            _ => return Err(Refusal::NotFound("Not Found: no such session")),
        };
        Ok(if asleep {
            sessions.make_live_room(self.max_live_sessions, 1, Some(session))
        } else {
            Vec::new()
        })
    }

    /// A request of `session` has ended (its response written, or the client gone).
    fn leave_session(&self, session: &str) {
        if let Ok(mut sessions) = self.sessions.lock()
            && let Some(e) = sessions.bound.get_mut(session)
        {
            e.busy = e.busy.saturating_sub(1);
            e.last_seen = Instant::now();
        }
    }

    fn table(&self) -> Result<std::sync::MutexGuard<'_, SessionTable>, Refusal> {
        self.sessions
            .lock()
            .map_err(|_| Refusal::NotFound("Not Found: session table unavailable"))
    }

    /// Whether a new session of `principal` would need another to end first.
    fn is_full(&self, principal: &Principal) -> bool {
        self.sessions.lock().is_ok_and(|t| {
            t.count(principal) >= self.max_sessions_per_principal || t.total() >= self.max_sessions
        })
    }

    /// Makes room for a session of `principal` and counts it as being created (until
    /// [`Guard::end_creating`]). When `principal` has its quota of sessions, its least recently
    /// used idle one is unbound; when the table is full, the least recently used idle one of
    /// anyone's. Returns those unbound, for rmcp to end. When no idle session can make room,
    /// nothing is unbound and the answer is 503.
    fn begin_creating(&self, principal: &Principal) -> Result<Vec<Evicted>, Refusal> {
        let mut table = self
            .sessions
            .lock()
            .map_err(|_| Refusal::Unavailable("Service Unavailable: session table unavailable"))?;
        let mut mine = table.count(principal);
        let mut total = table.total();
        let mut evicted = Vec::new();
        if mine >= self.max_sessions_per_principal || total >= self.max_sessions {
            let now = Instant::now();
            // The idle sessions, least recently used first.
            let mut idle: Vec<(Instant, &String, bool)> = table
                .bound
                .iter()
                .filter(|(_, e)| e.busy == 0)
                .map(|(id, e)| (e.last_seen, id, e.owner == *principal))
                .collect();
            idle.sort();
            let mut chosen = Vec::new();
            while mine >= self.max_sessions_per_principal {
                let Some(at) = idle.iter().position(|(_, _, own)| *own) else {
                    return Err(Refusal::Unavailable(
                        "Service Unavailable: too many sessions for this token, and all of them are in use; \
                         end one (DELETE /mcp) or retry later",
                    ));
                };
                chosen.push((idle.remove(at), "the sessions of one token"));
                mine -= 1;
                total -= 1;
            }
            while total >= self.max_sessions {
                if idle.is_empty() {
                    return Err(Refusal::Unavailable(
                        "Service Unavailable: too many sessions, and all of them are in use; retry later",
                    ));
                }
                chosen.push((idle.remove(0), "the sessions in all"));
                total -= 1;
            }
            evicted = chosen
                .into_iter()
                .map(|((seen, id, _), cap)| Evicted {
                    id: id.clone(),
                    idle_for: now.saturating_duration_since(seen),
                    cap,
                    forget: true,
                })
                .collect();
            for e in &mut evicted {
                if let Some(entry) = table.bound.remove(&e.id) {
                    // An asleep session has no worker to end: only forgotten.
                    e.forget = entry.live;
                }
                table.saved.remove(&e.id);
            }
            evicted.retain(|e| e.forget);
        }
        let asleep = table.make_live_room(self.max_live_sessions, 1, None);
        evicted.extend(asleep);
        *table.creating.entry(*principal).or_default() += 1;
        Ok(evicted)
    }

    /// A request counted by [`Guard::begin_creating`] has ended, having created `created`, if any.
    fn end_creating(&self, principal: &Principal, created: Option<&str>) {
        if let Ok(mut table) = self.sessions.lock() {
            if let Some(n) = table.creating.get_mut(principal) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    table.creating.remove(principal);
                }
            }
            if let Some(id) = created {
                table
                    .bound
                    .insert(id.to_string(), SessionEntry::new(*principal));
            }
        }
    }

    /// The sessions bound now.
    fn session_ids(&self) -> Vec<String> {
        self.sessions
            .lock()
            .map(|s| s.bound.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Records that `principal` created `session` (what [`Guard::end_creating`] does).
    #[cfg(test)]
    pub fn bind(&self, session: &str, principal: Principal) {
        if let Ok(mut s) = self.sessions.lock() {
            s.bound
                .insert(session.to_string(), SessionEntry::new(principal));
        }
    }

    fn unbind(&self, session: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.bound.remove(session);
            s.saved.remove(session);
        }
    }

    /// A session rmcp no longer holds: asleep when it can be woken, else forgotten.
    fn ended(&self, session: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            if s.saved.contains_key(session) {
                if let Some(e) = s.bound.get_mut(session)
                    && e.busy == 0
                {
                    e.live = false;
                }
            } else {
                s.bound.remove(session);
            }
        }
    }

    /// The sessions' gauges, in the Prometheus text format.
    fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let Ok(t) = self.sessions.lock() else {
            return;
        };
        let live = t.bound.values().filter(|e| e.live).count();
        let _ = write!(
            out,
            "# HELP portcullis_http_sessions MCP sessions over HTTP: live (a worker each) or asleep (woken by their next request).\n\
             # TYPE portcullis_http_sessions gauge\n\
             portcullis_http_sessions{{state=\"live\"}} {live}\n\
             portcullis_http_sessions{{state=\"asleep\"}} {}\n",
            t.bound.len() - live
        );
    }

    /// The store that wakes this guard's sleeping sessions.
    fn resume_store(&self) -> Resume {
        Resume {
            table: Arc::clone(&self.sessions),
        }
    }

    /// [`SessionTable::expire`].
    fn expire(&self) -> Vec<Evicted> {
        self.sessions
            .lock()
            .map(|mut t| t.expire(SESSION_EXPIRY))
            .unwrap_or_default()
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

/// Text appended to `/metrics` (the gateway's counters).
pub type ExtraMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// Serves `server` on `settings.addr` until the process ends.
pub async fn serve(settings: HttpSettings, server: PortcullisServer) -> anyhow::Result<()> {
    let server = if settings.stateless {
        tracing::info!(
            "portcullis: stateless HTTP (AWS_API_MCP_STATELESS_HTTP): no sessions; clients before MCP 2026-07-28 \
             cannot be asked for approval"
        );
        server.stateless()
    } else {
        server
    };
    let metrics = server.metrics.clone();
    let limits = Arc::clone(server.limits());
    serve_handler(settings, server, metrics, limits, None).await
}

/// Serves any MCP handler (`portcullis serve`'s, the gateway's) behind the same guard: Host and
/// Origin checks, the token or OAuth, session ownership, connection and session caps, probes and
/// `/metrics` (`metrics`, then `extra`).
pub async fn serve_handler<H>(
    settings: HttpSettings,
    server: H,
    metrics: Arc<super::metrics::Metrics>,
    limits: Arc<Limits>,
    extra: Option<ExtraMetrics>,
) -> anyhow::Result<()>
where
    H: rmcp::ServerHandler + Clone + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // How clients authenticate, for the line that says where MCP is served.
    let authentication;
    let guard = match &settings.oauth {
        None => {
            let (token, created) = Token::load_or_create(&settings.token_file)?;
            authentication = format!(
                "token file: {}{}",
                settings.token_file.display(),
                if created { ", just created" } else { "" }
            );
            Guard::new(bound.port(), &settings, &token)
        }
        Some(oauth) => {
            let audience = oauth
                .resource
                .clone()
                .unwrap_or_else(|| format!("http://{bound}{MCP_PATH}"));
            let verifier = Arc::new(super::oauth::Verifier::new(oauth, audience)?);
            tracing::info!(
                "portcullis: {}; resource metadata at {}",
                super::oauth::describe(oauth, verifier.audience()),
                verifier.metadata_url()
            );
            match verifier.prefetch().await {
                Ok(n) => {
                    tracing::info!("portcullis: the issuer publishes {n} usable signing key(s)")
                }
                Err(why) => tracing::warn!(
                    "portcullis: cannot fetch the issuer's keys yet ({why}); every token is refused until they are fetched"
                ),
            }
            authentication = format!("OAuth: tokens for {}", verifier.audience());
            Guard::with_oauth(bound.port(), &settings, verifier)
        }
    };
    // Host and Origin are checked by the guard first (with the port); rmcp's own check knows
    // neither the port nor our allow-lists, so it is switched off rather than kept half-right.
    // rmcp reads a POST body frame by frame and stops (413) past the limit; the guard refuses a
    // `Content-Length` over it before that.
    let mut config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    // AWS_API_MCP_STATELESS_HTTP: no sessions for older clients either (any replica serves any
    // request); they get plain JSON answers, and approvals only by the 2026-07-28 rounds.
    config.legacy_session_mode = !settings.stateless;
    config.json_response = settings.stateless;
    // Sessions whose worker has ended (asleep to make room, or idle past rmcp's expiry) are woken
    // from their saved `initialize` parameters: a live worker costs ~60 KiB, a sleeping session
    // well under 1 KiB.
    config.session_store = Some(Arc::new(guard.resume_store()));
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(SESSION_IDLE_EXPIRY);
    let sessions = Arc::new(manager);
    let mcp: StreamableHttpService<H, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    // The guard is a tower layer in front of rmcp's service: nothing reaches MCP unadmitted.
    let served = Arc::new(Served {
        guard,
        sessions,
        metrics,
        limits,
        extra,
        evictions: Quiet::default(),
    });
    tokio::spawn(expire_sessions(Arc::clone(&served)));
    let service = tower::Layer::layer(
        &GuardLayer {
            served: Arc::clone(&served),
        },
        mcp,
    );
    tracing::info!("portcullis: serving MCP on http://{bound}{MCP_PATH} ({authentication})");
    if settings.oauth.is_none() {
        tracing::info!(
            "portcullis: clients must send `Authorization: Bearer <the token file's contents>`"
        );
    }
    let caps = settings.limits;
    tracing::info!(
        "portcullis: at most {} connections ({} per peer) and {} sessions ({} per principal); probes on {HEALTHZ_PATH} and {READYZ_PATH}",
        caps.max_connections,
        caps.max_connections_per_peer,
        caps.max_sessions,
        caps.max_sessions_per_principal
    );
    if !bound.ip().is_loopback() {
        tracing::warn!(
            "portcullis: warning: listening on {} (--allow-remote) in plain HTTP; only the Host names \
             localhost, 127.0.0.1, [::1] and AWS_API_MCP_ALLOWED_HOSTS are answered",
            bound.ip()
        );
    }
    let conns = Arc::new(Connections::new(
        caps.max_connections,
        caps.max_connections_per_peer,
    ));
    let refusals = Quiet::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("portcullis: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match conns.open(peer.ip()) {
            Ok(permit) => permit,
            Err(cap) => {
                // Not served: a bare 503 if the socket takes it at once, then closed.
                let _ = stream.try_write(CONNECTION_REFUSED);
                drop(stream);
                if let Some(count) = refusals.note() {
                    tracing::warn!(
                        "portcullis: refused {count} connection(s) over the cap of {cap} (the latest from {}); \
                         see PORTCULLIS_MAX_CONNECTIONS_PER_PEER and PORTCULLIS_MAX_CONNECTIONS",
                        peer.ip()
                    );
                }
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
            serve_connection(stream, service, TIMEOUTS).await;
            drop(permit);
        });
    }
}

/// 404 unless `target` is the MCP path or the metrics path.
fn check_path(target: &Uri) -> Result<(), Refusal> {
    let path = target.path();
    if path != MCP_PATH && path != METRICS_PATH {
        return Err(Refusal::NotFound(
            "Not Found: MCP is served on /mcp (metrics on /metrics, probes on /healthz and /readyz)",
        ));
    }
    Ok(())
}

/// Forgets sessions idle past [`SESSION_EXPIRY`], once every [`SESSION_SWEEP_INTERVAL`], for as
/// long as the server runs.
async fn expire_sessions(served: Arc<Served>) {
    let mut tick = tokio::time::interval(SESSION_SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ended = served.guard.expire();
        served.end_sessions(ended).await;
    }
}

/// What a connection over a cap gets before it is closed.
const CONNECTION_REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\nService Unavailable: too many connections\n";

/// The timeouts of a connection (see [`HEADER_READ_TIMEOUT`] and [`IDLE_TIMEOUT`]).
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// From the first byte of a request to the end of its headers.
    header: Duration,
    /// With no request in progress and no bytes received.
    idle: Duration,
}

const TIMEOUTS: Timeouts = Timeouts {
    header: HEADER_READ_TIMEOUT,
    idle: IDLE_TIMEOUT,
};

/// Serves one connection with hyper's HTTP/1.1 until it ends or times out.
///
/// hyper 1.x's `header_read_timeout` starts when hyper begins waiting for a request head: when
/// the connection opens, and on keep-alive when the previous response has been written; it is not
/// running while a request is in progress (so a long response, an SSE stream, is never cut). Set
/// to [`Timeouts::idle`], it is the idle timeout. The header timeout proper ([`Timeouts::header`],
/// counted from the first byte of a request) is kept by [`HeaderDeadline`] around the socket.
async fn serve_connection<S>(stream: tokio::net::TcpStream, service: S, timeouts: Timeouts)
where
    S: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = Arc::new(ConnState::default());
    let io = TokioIo::new(HeaderDeadline::new(
        stream,
        Arc::clone(&conn),
        timeouts.header,
    ));
    let service = hyper::service::service_fn(move |req| {
        let mut service = service.clone();
        // Counted now, as hyper hands the request over (the head has been read): not later, when
        // the future is first polled.
        let busy = Busy::start(&conn);
        async move {
            let resp = tower_call(&mut service, req).await;
            Ok::<_, Infallible>(hold(resp, busy))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle);
    if let Err(e) = http.serve_connection(io, service).await {
        // Timeouts, and clients going away (mid-stream is normal for SSE), are routine: one line
        // per connection would only be noise. Only say something useful.
        if e.is_timeout() || e.is_incomplete_message() || e.is_canceled() || is_routine_io(&e) {
            tracing::debug!("portcullis: HTTP connection closed: {e}");
        } else {
            tracing::warn!("portcullis: HTTP connection error: {e}");
        }
    }
}

/// Whether `e` is [`HeaderDeadline`]'s timeout or the client gone (reset, broken pipe).
fn is_routine_io(e: &hyper::Error) -> bool {
    use std::io::ErrorKind;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::TimedOut
                    | ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
            );
        }
        source = s.source();
    }
    false
}

/// What a connection's socket and its requests share.
#[derive(Debug, Default)]
struct ConnState {
    /// Requests handed to the service so far.
    started: AtomicU64,
    /// Requests whose response has not ended yet.
    busy: AtomicUsize,
}

/// A request in progress on its connection, from the end of its head until its response ends
/// (dropped with the response body).
struct Busy(Arc<ConnState>);

impl Busy {
    fn start(conn: &Arc<ConnState>) -> Busy {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        conn.started.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(conn))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, cut (an I/O error of kind `TimedOut`) when a request's head takes longer than
/// `limit` from its first byte. While a request is in progress, nothing is timed here.
///
/// Bytes read while a request is in progress are not the start of the next one as far as this
/// is concerned (a pipelined request's head read then is bounded by the idle timeout instead).
struct HeaderDeadline<T> {
    io: T,
    conn: Arc<ConnState>,
    limit: Duration,
    /// `conn.started` as last seen: a change means the head being timed has been read.
    seen: u64,
    /// Armed by the first byte read with no request in progress.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> HeaderDeadline<T> {
    fn new(io: T, conn: Arc<ConnState>, limit: Duration) -> HeaderDeadline<T> {
        HeaderDeadline {
            io,
            conn,
            limit,
            seen: 0,
            deadline: None,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeaderDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let started = this.conn.started.load(Ordering::Acquire);
        let waiting = this.conn.busy.load(Ordering::Acquire) == 0;
        if started != this.seen || !waiting {
            this.seen = started;
            this.deadline = None;
        }
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request head was not received in time",
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if waiting
            && this.deadline.is_none()
            && matches!(read, Poll::Ready(Ok(())))
            && buf.filled().len() > before
        {
            let mut deadline = Box::pin(tokio::time::sleep(this.limit));
            // Polled once so that the task is woken when it passes, even if no byte comes.
            let _ = deadline.as_mut().poll(cx);
            this.deadline = Some(deadline);
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeaderDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The open connections, in all and per peer.
#[derive(Debug)]
struct Connections {
    max: usize,
    per_peer: usize,
    /// The total, and the count per peer (no entry for none).
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Connections {
    fn new(max: usize, per_peer: usize) -> Connections {
        Connections {
            max,
            per_peer,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    /// Counts a connection from `ip`, unless that is over a cap (named in the error).
    fn open(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, String> {
        let peer = peer_key(ip);
        let mut open = self
            .open
            .lock()
            .map_err(|_| "connections (table unavailable)".to_string())?;
        if open.0 >= self.max {
            return Err(format!("{} connections in all", self.max));
        }
        let mine = open.1.entry(peer).or_default();
        if *mine >= self.per_peer {
            return Err(format!("{} connections per peer", self.per_peer));
        }
        *mine += 1;
        open.0 += 1;
        Ok(ConnectionPermit {
            conns: Arc::clone(self),
            peer,
        })
    }
}

/// The peer a connection counts against: its IPv4 address, or its IPv6 /64 (one host is given
/// a whole /64 and can pick any address in it).
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V6(v6),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// An open connection, counted until dropped.
#[derive(Debug)]
struct ConnectionPermit {
    conns: Arc<Connections>,
    peer: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Ok(mut open) = self.conns.open.lock() {
            open.0 = open.0.saturating_sub(1);
            if let Some(n) = open.1.get_mut(&self.peer) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.1.remove(&self.peer);
                }
            }
        }
    }
}

/// A log line at most every [`QUIET_LOG_INTERVAL`], counting the events in between.
#[derive(Debug, Default)]
struct Quiet {
    /// When the last line was logged, and the events since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Quiet {
    /// Notes an event; `Some(events)` (this one included) when a line is due.
    fn note(&self) -> Option<u64> {
        let mut state = self.state.lock().ok()?;
        state.1 += 1;
        let due = state.0.is_none_or(|at| at.elapsed() >= QUIET_LOG_INTERVAL);
        if due {
            let count = state.1;
            *state = (Some(Instant::now()), 0);
            Some(count)
        } else {
            None
        }
    }
}

/// A response body that keeps `hold` until it is dropped (written whole, or the client gone).
struct Held<H> {
    body: BoxBody<Bytes, Infallible>,
    _hold: H,
}

impl<H: Unpin> Body for Held<H> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// `resp`, holding `hold` until its body is dropped.
fn hold<H: Send + Sync + Unpin + 'static>(resp: HttpResponse, hold: H) -> HttpResponse {
    resp.map(|body| Held { body, _hold: hold }.boxed())
}

/// What every connection shares: the guard, the MCP sessions, the metrics and the limits.
struct Served {
    guard: Guard,
    sessions: Arc<LocalSessionManager>,
    metrics: Arc<super::metrics::Metrics>,
    limits: Arc<Limits>,
    /// More text for `/metrics`.
    extra: Option<ExtraMetrics>,
    /// The log of evicted sessions, kept quiet.
    evictions: Quiet,
}

impl Served {
    /// Marks the sessions rmcp has ended (idle timeout, client gone) asleep, or forgets them
    /// when they cannot be woken.
    async fn prune_sessions(&self) {
        for id in self.guard.session_ids() {
            if !self
                .sessions
                .has_session(&Arc::from(id.as_str()))
                .await
                .unwrap_or(false)
            {
                self.guard.ended(&id);
            }
        }
    }

    /// Ends the sessions the guard has unbound to make room (already unbound: requests naming
    /// them get 404 from the guard whatever happens here).
    async fn end_sessions(&self, evicted: Vec<Evicted>) {
        for e in evicted {
            let id = Arc::from(e.id.as_str());
            match tokio::time::timeout(SESSION_CLOSE_TIMEOUT, self.sessions.close_session(&id))
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::debug!("portcullis: ending an evicted session: {err}"),
                Err(_) => tracing::debug!("portcullis: ending an evicted session timed out"),
            }
            if !e.forget {
                // Asleep: it wakes on its next request, nothing to tell.
                continue;
            }
            if let Some(count) = self.evictions.note() {
                tracing::info!(
                    "portcullis: ended {count} idle session(s) to make room for new ones (the latest idle for {}s, \
                     at the cap on {}); see PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL and PORTCULLIS_MAX_SESSIONS",
                    e.idle_for.as_secs(),
                    e.cap
                );
            }
        }
    }

    /// `/healthz` or `/readyz`, already admitted.
    fn probe(&self, method: &Method, path: &str) -> HttpResponse {
        let (status, text) = if method != Method::GET && method != Method::HEAD {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed: use GET or HEAD\n".to_string(),
            )
        } else if path == HEALTHZ_PATH {
            (StatusCode::OK, "ok\n".to_string())
        } else {
            match self.limits.readiness() {
                Ok(body) => (StatusCode::OK, body),
                Err(body) => (StatusCode::SERVICE_UNAVAILABLE, body),
            }
        };
        let mut resp = Response::new(Full::new(Bytes::from(text)).boxed());
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        resp
    }
}

/// A request of a session in progress: the session is busy until this is dropped (with the
/// response body).
struct SessionBusy {
    served: Arc<Served>,
    id: String,
}

impl Drop for SessionBusy {
    fn drop(&mut self) {
        self.served.guard.leave_session(&self.id);
    }
}

/// Whether a request says it speaks MCP 2026-07-28 or later (`MCP-Protocol-Version`), which has
/// no sessions: it is not counted against the session caps up front, so a full session table
/// never refuses it.
fn stateless_version(headers: &HeaderMap) -> bool {
    headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() >= "2026-07-28")
}

/// A request that may create a session, counted against the caps until it ends.
struct Creating {
    served: Arc<Served>,
    principal: Principal,
    done: bool,
}

impl Creating {
    /// The request has ended, creating `created` if any (then bound to the principal).
    fn finish(mut self, created: Option<&str>) {
        self.done = true;
        self.served.guard.end_creating(&self.principal, created);
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        // The request was dropped (the client went away) before it ended.
        if !self.done {
            self.served.guard.end_creating(&self.principal, None);
        }
    }
}

type HttpResponse = Response<BoxBody<Bytes, Infallible>>;

/// The HTTP guard as a tower layer: every request is admitted (Host, Origin, target, token),
/// `/metrics`, `/healthz` and `/readyz` answered, and sessions bound to their creator before the
/// inner (MCP) service sees it.
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

/// The protected resource metadata (GET or HEAD).
fn metadata_response(method: &Method, doc: &serde_json::Value) -> HttpResponse {
    if method != Method::GET && method != Method::HEAD {
        let mut resp =
            Response::new(Full::new(Bytes::from_static(b"Method Not Allowed: use GET\n")).boxed());
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let mut resp = Response::new(Full::new(Bytes::from(doc.to_string())).boxed());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    resp
}

/// Logs a refused request and answers it.
fn refuse<B>(req: &Request<B>, refusal: &Refusal) -> HttpResponse {
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
    refusal.response()
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
    let path = req.uri().path();
    if path == HEALTHZ_PATH || path == READYZ_PATH {
        // Before the token (orchestrators have none), after Host and Origin (DNS rebinding).
        return Ok(match guard.admit_probe(req.uri(), req.headers()) {
            Ok(()) => served.probe(req.method(), path),
            Err(refusal) => refuse(&req, &refusal),
        });
    }
    if let Some(doc) = guard.metadata(path) {
        // RFC 9728: public, after Host and Origin.
        return Ok(match guard.admit_probe(req.uri(), req.headers()) {
            Ok(()) => metadata_response(req.method(), &doc),
            Err(refusal) => refuse(&req, &refusal),
        });
    }
    let admitted = match guard.admit_request(req.uri(), req.headers()).await {
        Ok(a) => a,
        Err(refusal) => return Ok(refuse(&req, &refusal)),
    };
    let principal = admitted.principal;
    let mut req = req;
    if let Some(user) = admitted.user {
        // The tools read who the call is for from the request's extensions (rmcp passes them on).
        req.extensions_mut().insert(user);
    }
    if req.uri().path() == METRICS_PATH {
        let mut text = served.metrics.render();
        served.guard.render_metrics(&mut text);
        if let Some(extra) = &served.extra {
            text.push_str(&extra());
        }
        let mut resp = Response::new(Full::new(Bytes::from(text)).boxed());
        if req.method() != Method::GET {
            *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        }
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(resp);
    }
    // A declared length over the limit is refused before any of the body is read; a chunked
    // body is cut by rmcp as it passes the limit.
    if req.body().size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Ok(Refusal::PayloadTooLarge.response());
    }
    let session = req
        .headers()
        .get(SESSION_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut busy = None;
    let mut creating = None;
    if let Some(id) = &session {
        let asleep = match guard.enter_session(id, &principal) {
            Ok(asleep) => asleep,
            Err(refusal) => return Ok(refusal.response()),
        };
        busy = Some(SessionBusy {
            served: Arc::clone(&served),
            id: id.clone(),
        });
        served.end_sessions(asleep).await;
    } else if req.method() == Method::POST && !stateless_version(req.headers()) {
        // May create a session: make room first (ended sessions, then the least recently used
        // idle ones).
        if guard.is_full(&principal) {
            served.prune_sessions().await;
        }
        match guard.begin_creating(&principal) {
            Ok(evicted) => {
                creating = Some(Creating {
                    served: Arc::clone(&served),
                    principal,
                    done: false,
                });
                served.end_sessions(evicted).await;
            }
            Err(refusal) => return Ok(refusal.response()),
        }
    }
    let deleting = req.method() == Method::DELETE;
    let unaccounted = session.is_none() && creating.is_none() && req.method() == Method::POST;
    let mut resp = tower_call(&mut mcp, req).await;
    if unaccounted
        && let Some(created) = resp
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    {
        // Said to be 2026-07-28 (no session), yet it made one (an `initialize`): it counts
        // against the caps like any other, after the fact.
        match guard.begin_creating(&principal) {
            Ok(evicted) => {
                guard.end_creating(&principal, Some(&created));
                served.end_sessions(evicted).await;
            }
            Err(refusal) => {
                let id = Arc::from(created.as_str());
                let _ =
                    tokio::time::timeout(SESSION_CLOSE_TIMEOUT, served.sessions.close_session(&id))
                        .await;
                resp = refusal.response();
            }
        }
    }
    if let Some(creating) = creating {
        // A new session: it belongs to whoever created it.
        let created = resp
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok());
        creating.finish(created);
    }
    if let Some(id) = &session
        && deleting
        && resp.status().is_success()
    {
        guard.unbind(id);
    }
    // rmcp's own 413 (a chunked body past the limit), in the same words as the guard's.
    let resp = if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::PayloadTooLarge.response()
    } else {
        resp
    };
    Ok(match busy {
        Some(busy) => hold(resp, busy),
        None => resp,
    })
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
        guard_with(|_| {})
    }

    fn guard_with(tune: impl FnOnce(&mut HttpSettings)) -> Guard {
        let mut settings = HttpSettings::from_env_and_flags(
            &http_flags(),
            &env(&[
                ("HOME", "/h"),
                ("AWS_API_MCP_ALLOWED_HOSTS", "box.lan"),
                ("AWS_API_MCP_ALLOWED_ORIGINS", "https://app.example"),
            ]),
        )
        .unwrap();
        tune(&mut settings);
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
        let served = served(guard());
        served.guard.bind("gone", [1u8; 32]);
        assert_eq!(served.guard.session_ids(), ["gone"]);
        served.prune_sessions().await;
        assert!(served.guard.session_ids().is_empty());
    }

    fn served(guard: Guard) -> Served {
        Served {
            guard,
            sessions: Arc::new(LocalSessionManager::default()),
            metrics: Arc::default(),
            limits: Arc::new(Limits::new(
                crate::pipeline::limits::LimitSettings::default(),
            )),
            extra: None,
            evictions: Quiet::default(),
        }
    }

    #[test]
    fn probes_need_this_servers_host_but_no_token() {
        let g = guard();
        let ok = headers(&[("host", "127.0.0.1:4567")]);
        assert!(g.admit_probe(&t("/healthz"), &ok).is_ok());
        assert!(
            g.admit_probe(&t("http://127.0.0.1:4567/readyz"), &ok)
                .is_ok()
        );
        // The token is what `admit` adds: without it, the same request is refused there.
        assert!(matches!(
            g.admit(&t("/healthz"), &ok),
            Err(Refusal::Unauthorized(_))
        ));
        for bad in [
            headers(&[("host", "evil.example:4567")]),
            headers(&[
                ("host", "127.0.0.1:4567"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[]),
        ] {
            assert!(
                matches!(
                    g.admit_probe(&t("/healthz"), &bad),
                    Err(Refusal::Forbidden(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            g.admit_probe(&t("http://evil.example/healthz"), &ok),
            Err(Refusal::Forbidden(_))
        ));
    }

    async fn text(resp: HttpResponse) -> (StatusCode, HeaderMap, String) {
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn probes_answer_get_and_head_only() {
        let served = served(guard());
        let (status, headers, body) = text(served.probe(&Method::GET, HEALTHZ_PATH)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let (status, _, body) = text(served.probe(&Method::HEAD, READYZ_PATH)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
        for method in [Method::POST, Method::DELETE, Method::PUT] {
            let (status, headers, _) = text(served.probe(&method, HEALTHZ_PATH)).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(headers[header::ALLOW], "GET, HEAD");
        }
        let (status, headers, body) = text(Refusal::PayloadTooLarge.response()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            body,
            "Payload Too Large: request bodies are limited to 8 MiB\n"
        );
        assert_eq!(headers[header::CONNECTION], "close");
    }

    #[test]
    fn a_full_quota_evicts_the_least_recently_used_idle_session() {
        let g = guard_with(|s| s.limits.max_sessions_per_principal = 3);
        let (a, b) = ([1u8; 32], [2u8; 32]);
        for id in ["a1", "a2", "a3"] {
            assert!(g.begin_creating(&a).unwrap().is_empty());
            g.end_creating(&a, Some(id));
            std::thread::sleep(Duration::from_millis(2));
        }
        // Another principal has a quota of its own.
        assert!(g.begin_creating(&b).unwrap().is_empty());
        g.end_creating(&b, Some("b1"));
        // a1 is in use (an SSE stream open), a2 was used lately: a3 is the least recently used idle.
        g.enter_session("a1", &a).unwrap();
        g.enter_session("a2", &a).unwrap();
        g.leave_session("a2");
        let evicted = g.begin_creating(&a).unwrap();
        assert_eq!(
            evicted.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a3"]
        );
        assert_eq!(evicted[0].cap, "the sessions of one token");
        g.end_creating(&a, Some("a4"));
        assert!(g.check_session("a3", &a).is_err());
        for id in ["a1", "a2", "a4"] {
            assert!(g.check_session(id, &a).is_ok(), "{id}");
        }
        assert!(g.check_session("b1", &b).is_ok());
        // Every other session of `a` busy: refused (503), nothing evicted.
        g.enter_session("a2", &a).unwrap();
        g.enter_session("a4", &a).unwrap();
        assert!(matches!(g.begin_creating(&a), Err(Refusal::Unavailable(_))));
        assert_eq!(g.session_ids().len(), 4);
        // A request that may create a session counts until it ends, creating none.
        g.leave_session("a4");
        assert_eq!(g.begin_creating(&a).unwrap().len(), 1);
        g.end_creating(&a, None);
        assert_eq!(g.sessions.lock().unwrap().count(&a), 2);
        assert!(!g.is_full(&a));
    }

    #[test]
    fn a_full_table_evicts_anyones_least_recently_used_idle_session() {
        let g = guard_with(|s| s.limits.max_sessions = 2);
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert!(g.begin_creating(&a).unwrap().is_empty());
        g.end_creating(&a, Some("a1"));
        std::thread::sleep(Duration::from_millis(2));
        assert!(g.begin_creating(&b).unwrap().is_empty());
        g.end_creating(&b, Some("b1"));
        assert!(g.is_full(&b));
        let evicted = g.begin_creating(&b).unwrap();
        assert_eq!(evicted.len(), 1);
        assert_eq!(
            (evicted[0].id.as_str(), evicted[0].cap),
            ("a1", "the sessions in all")
        );
        // One creation in progress and b1 busy: nothing idle is left to make room.
        g.enter_session("b1", &b).unwrap();
        assert!(matches!(g.begin_creating(&a), Err(Refusal::Unavailable(_))));
        g.end_creating(&b, Some("b2"));
        assert_eq!(g.begin_creating(&a).unwrap()[0].id, "b2");
    }

    #[tokio::test]
    async fn idle_sessions_sleep_over_the_live_cap_wake_on_entry_and_expire() {
        let g = guard_with(|s| s.limits.max_live_sessions = 2);
        let store = g.resume_store();
        let owner = [1u8; 32];
        let state = SessionState::new(rmcp::model::InitializeRequestParams::default());
        for id in ["s1", "s2"] {
            assert!(g.begin_creating(&owner).unwrap().is_empty());
            store.store(id, &state).await.unwrap();
            g.end_creating(&owner, Some(id));
            std::thread::sleep(Duration::from_millis(2));
        }
        // A third live session: s1, the least recently used idle one, sleeps (not forgotten).
        let asleep = g.begin_creating(&owner).unwrap();
        assert_eq!(asleep.len(), 1);
        assert_eq!((asleep[0].id.as_str(), asleep[0].forget), ("s1", false));
        g.end_creating(&owner, Some("s3"));
        // s3 saved nothing: it can never be woken, so it is never put to sleep.
        assert!(store.load("s3").await.unwrap().is_none());
        // Entering s1 wakes it (rmcp loads its state); s2 sleeps in its place.
        let asleep = g.enter_session("s1", &owner).unwrap();
        assert_eq!(
            asleep.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["s2"]
        );
        assert!(store.load("s1").await.unwrap().is_some());
        // Only its creator wakes it.
        assert!(g.enter_session("s2", &[2u8; 32]).is_err());
        g.leave_session("s1");
        // Forgotten after the expiry: state and binding both; only live ones need ending.
        let ended = g.sessions.lock().unwrap().expire(Duration::ZERO);
        let mut ended: Vec<&str> = ended.iter().map(|e| e.id.as_str()).collect();
        ended.sort_unstable();
        assert_eq!(ended, ["s1", "s3"]);
        assert!(store.load("s2").await.unwrap().is_none());
        assert!(matches!(
            g.enter_session("s2", &owner),
            Err(Refusal::NotFound(_))
        ));
    }

    #[test]
    fn connections_are_capped_per_peer_and_in_all() {
        let conns = Arc::new(Connections::new(3, 2));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = conns.open(one).unwrap();
        let _p2 = conns.open(one).unwrap();
        assert!(conns.open(one).unwrap_err().contains("per peer"));
        // The same peer as an IPv4-mapped IPv6 address.
        assert!(conns.open("::ffff:192.0.2.1".parse().unwrap()).is_err());
        let _p3 = conns.open(two).unwrap();
        assert!(conns.open(two).unwrap_err().contains("in all"));
        drop(p1);
        let _p4 = conns.open(one).unwrap();
        // An IPv6 /64 is one peer.
        let conns = Arc::new(Connections::new(10, 1));
        let _q = conns.open("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(conns.open("2001:db8:1:2:ffff::9".parse().unwrap()).is_err());
        assert!(conns.open("2001:db8:1:3::1".parse().unwrap()).is_ok());
        drop(_q);
        assert_eq!(conns.open.lock().unwrap().0, 0);
        assert!(conns.open.lock().unwrap().1.is_empty());
    }

    #[test]
    fn the_refusal_of_a_connection_is_well_formed() {
        let text = std::str::from_utf8(CONNECTION_REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn limits_default_and_from_the_environment() {
        // The HTTP limits from HOME=/h and `vars`; the five caps of them.
        let limits = |vars: &[(&str, &str)]| {
            let mut all = vec![("HOME", "/h")];
            all.extend_from_slice(vars);
            HttpSettings::from_env_and_flags(&http_flags(), &env(&all)).map(|s| s.limits)
        };
        let caps = |vars: &[(&str, &str)]| {
            let l = limits(vars).unwrap();
            (
                l.max_connections,
                l.max_connections_per_peer,
                l.max_sessions,
                l.max_sessions_per_principal,
                l.max_live_sessions,
            )
        };
        assert_eq!(caps(&[]), (1024, 64, 16384, 4096, 256));
        assert_eq!(
            caps(&[
                ("PORTCULLIS_MAX_CONNECTIONS", "10"),
                ("PORTCULLIS_MAX_CONNECTIONS_PER_PEER", " 2 "),
                ("PORTCULLIS_MAX_SESSIONS", "30"),
                ("PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL", "3"),
                ("PORTCULLIS_MAX_LIVE_SESSIONS", "7"),
            ]),
            (10, 2, 30, 3, 7)
        );
        let g = guard_with(|s| {
            s.limits = limits(&[("PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL", "3")]).unwrap();
        });
        assert_eq!((g.max_sessions, g.max_sessions_per_principal), (16384, 3));
        for (k, v) in [
            ("PORTCULLIS_MAX_CONNECTIONS", "0"),
            ("PORTCULLIS_MAX_CONNECTIONS_PER_PEER", "-1"),
            ("PORTCULLIS_MAX_SESSIONS", "many"),
            ("PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL", "1000001"),
            ("PORTCULLIS_MAX_LIVE_SESSIONS", "0"),
        ] {
            let e = format!("{:#}", limits(&[(k, v)]).unwrap_err());
            assert!(
                e.contains(k) && e.contains("1 to 1000000") && e.contains(v),
                "{e}"
            );
        }
    }

    #[test]
    fn quiet_logs_once_per_interval_with_a_count() {
        let q = Quiet::default();
        assert_eq!(q.note(), Some(1));
        assert_eq!(q.note(), None);
        assert_eq!(q.note(), None);
        q.state.lock().unwrap().0 = Some(Instant::now() - QUIET_LOG_INTERVAL);
        assert_eq!(q.note(), Some(3));
    }

    /// A service answering `/slow` with a body that takes `slow_for` (a chunk every 100 ms),
    /// anything else with `hi` at once.
    #[derive(Clone)]
    struct Slow {
        slow_for: Duration,
    }

    impl tower::Service<Request<Incoming>> for Slow {
        type Response = HttpResponse;
        type Error = Infallible;
        type Future = std::future::Ready<Result<HttpResponse, Infallible>>;
        fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: Request<Incoming>) -> Self::Future {
            if req.uri().path() != "/slow" {
                return std::future::ready(Ok(Response::new(
                    Full::new(Bytes::from_static(b"hi")).boxed(),
                )));
            }
            let chunks = (self.slow_for.as_millis() / 100) as usize;
            let stream = futures_util::stream::unfold(0usize, move |n| async move {
                if n == chunks {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((
                    Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"."))),
                    n + 1,
                ))
            });
            std::future::ready(Ok(Response::new(
                http_body_util::StreamBody::new(stream).boxed(),
            )))
        }
    }

    /// A server of `Slow` with short timeouts; its address.
    async fn slow_server(slow_for: Duration, timeouts: Timeouts) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve_connection(stream, Slow { slow_for }, timeouts));
            }
        });
        addr
    }

    /// Reads until the connection closes or `within` passes; what came and whether it closed.
    async fn read_until_closed(s: &mut tokio::net::TcpStream, within: Duration) -> (String, bool) {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let end = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(end, s.read(&mut buf)).await {
                Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
                Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    const SHORT: Timeouts = Timeouts {
        header: Duration::from_millis(400),
        idle: Duration::from_millis(1500),
    };

    #[tokio::test]
    async fn a_trickled_head_is_cut_after_the_header_timeout() {
        use tokio::io::AsyncWriteExt;
        let addr = slow_server(Duration::ZERO, SHORT).await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let began = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut closed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if s.write_all(b"X").await.is_err() {
                closed = true;
                break;
            }
            let (_, gone) = read_until_closed(&mut s, Duration::from_millis(1)).await;
            if gone {
                closed = true;
                break;
            }
        }
        let took = began.elapsed();
        assert!(closed, "still open after {took:?}");
        assert!(
            took >= Duration::from_millis(350) && took < SHORT.idle,
            "cut after {took:?}"
        );
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_only() {
        use tokio::io::AsyncWriteExt;
        let addr = slow_server(Duration::ZERO, SHORT).await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (got, closed) = read_until_closed(&mut s, Duration::from_millis(300)).await;
        assert!(
            got.starts_with("HTTP/1.1 200") && got.ends_with("hi"),
            "{got}"
        );
        assert!(!closed);
        // Idle past the header timeout: still open, and serves the next request.
        tokio::time::sleep(SHORT.header * 2).await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (got, closed) = read_until_closed(&mut s, Duration::from_millis(300)).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(!closed);
        // Idle past the idle timeout: closed.
        let began = Instant::now();
        let (_, closed) = read_until_closed(&mut s, SHORT.idle * 3).await;
        let took = began.elapsed();
        assert!(closed, "still open after {took:?}");
        assert!(took >= SHORT.idle - Duration::from_millis(400), "{took:?}");
        // A connection that never sends a byte: closed after the idle timeout too.
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let began = Instant::now();
        let (_, closed) = read_until_closed(&mut s, SHORT.idle * 3).await;
        assert!(closed && began.elapsed() >= SHORT.idle - Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_long_response_is_not_cut_by_either_timeout() {
        use tokio::io::AsyncWriteExt;
        let slow_for = SHORT.idle + Duration::from_millis(1000);
        let addr = slow_server(slow_for, SHORT).await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // The whole body arrives, a dot per 100 ms, after both timeouts have passed.
        let (got, closed) = read_until_closed(&mut s, slow_for + Duration::from_millis(800)).await;
        assert!(!closed, "cut mid-response: {got}");
        let body = got.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let dots = body.matches('.').count();
        assert_eq!(dots, (slow_for.as_millis() / 100) as usize, "{got}");
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
