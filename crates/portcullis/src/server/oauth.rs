//! OAuth 2.1 resource server (MCP authorization, 2025-06-18 and later): `AUTH_TYPE=oauth`.
//!
//! Every MCP request must carry `Authorization: Bearer <JWT>` (the header only: a token in the
//! query or the body is never read). A token is accepted when all of this holds, else 401 with
//! `WWW-Authenticate: Bearer error="invalid_token", …, resource_metadata="…"`:
//! - it is a compact JWS whose `alg` is an asymmetric signature algorithm (RS256/384/512,
//!   PS256/384/512, ES256/384, EdDSA). `none` and the HMAC algorithms are refused outright, so a
//!   token "signed" with the issuer's public key as an HMAC secret (the HS256/RS256 confusion)
//!   never verifies; a header with `crit` is refused (no extension is understood);
//! - its signature verifies under the issuer's key named by `kid` in the JWKS (`AUTH_JWKS_URI`),
//!   and that key's type, curve and (when the JWK says) `alg` and `use` fit the header's `alg`;
//! - `iss` is `AUTH_ISSUER` exactly; `aud` (a string or a list) names this server's canonical URI
//!   ([`OAuthSettings::resource`], RFC 8707): a token minted for another service is refused;
//! - `exp` is present and not past, `nbf` (when present) is reached, each with a small leeway
//!   ([`OAuthSettings::leeway`]); `sub` is present.
//!
//! Then the request must be allowed, else 403: the token's scopes (`scope`, space-separated, or a
//! `scp` list) include every required one (`error="insufficient_scope"`, with the `scope` needed),
//! and its subject is the instance's owner ([`OAuthSettings::owner`]): one owner per instance.
//!
//! The JWKS is fetched at start, cached, and fetched again when a token names a `kid` it does not
//! hold (a key rotated in) — at most once per [`REFETCH_INTERVAL`], so that made-up `kid`s cannot
//! turn this server into a flood of requests to the IdP — and when it is older than
//! [`JWKS_MAX_AGE`]. A failed fetch keeps the keys held. The JWKS is bounded (256 KiB, 64 keys).
//!
//! A token whose signature verified is remembered (by its SHA-256) for [`VERIFIED_FOR`]: the same
//! token again skips the signature check, never the claims (so it still expires on time). A key
//! withdrawn from the JWKS stops verifying new tokens at the next fetch, and tokens it signed
//! within a minute.
//!
//! The principal is `iss#sub` ([`Authenticated::name`]): the key of the per-principal rate limit,
//! of session ownership, and the `user` of every audit record. Tokens are never logged, never
//! put in an error, and never sent anywhere.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine;

use crate::pipeline::users::UserRole;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The path of the RFC 9728 protected resource metadata, before the resource's own path.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
/// A JWKS is fetched again, for an unknown `kid`, at most this often.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(5);
/// A JWKS older than this is fetched again before it is used.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// The default leeway on `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// A token whose signature verified is not verified again for this long (its claims, expiry
/// included, are checked on every request).
pub const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// The most verified tokens remembered.
const MAX_VERIFIED: usize = 10_000;
/// Tokens longer than this are refused unread.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The largest JWKS document read, and the most keys kept.
const MAX_JWKS_BYTES: usize = 256 * 1024;
const MAX_KEYS: usize = 64;

/// The resource server's settings (`AUTH_TYPE=oauth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// `AUTH_ISSUER`: the `iss` every token must carry.
    pub issuer: String,
    /// `AUTH_JWKS_URI`: where the issuer's public keys are.
    pub jwks_uri: String,
    /// `PORTCULLIS_AUTH_RESOURCE`: this server's canonical URI, the audience every token must
    /// name. `None`: `http://<bound address>/mcp`.
    pub resource: Option<String>,
    /// `PORTCULLIS_AUTH_OWNER`: the `sub` of the one user this instance serves (`None`: every
    /// user with a role mapping).
    pub owner: Option<String>,
    /// `PORTCULLIS_AUTH_ROLES`: the AWS role each user's commands run as, by subject or group;
    /// the first that matches applies. Empty: the server's own credentials (one owner only).
    pub roles: Vec<RoleMapping>,
    /// `PORTCULLIS_AUTH_SCOPES`: scopes every token must hold (none by default).
    pub scopes: Vec<String>,
    /// `PORTCULLIS_AUTH_LEEWAY`: clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// The OAuth principal (`iss#sub`) of an admitted HTTP request and the AWS role mapped to it, put
/// in its extensions for the tools (rate limits, audit, credentials).
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    pub name: Arc<str>,
    pub role: Option<Arc<UserRole>>,
}

/// Which users a role mapping applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The token's `sub`.
    Sub(String),
    /// A member of the token's `groups` claim.
    Group(String),
}

/// `sub:<subject>=<role ARN>` or `group:<group>=<role ARN>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    pub who: Claim,
    pub role_arn: String,
}

impl RoleMapping {
    /// Parses one mapping; `None` when it is not one (the role must be an IAM role ARN).
    pub fn parse(text: &str) -> Option<RoleMapping> {
        let (who, role_arn) = text.trim().split_once('=')?;
        let who = match who.trim().split_once(':')? {
            ("sub", v) if !v.trim().is_empty() => Claim::Sub(v.trim().to_string()),
            ("group", v) if !v.trim().is_empty() => Claim::Group(v.trim().to_string()),
            _ => return None,
        };
        let role_arn = role_arn.trim();
        let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
        let valid = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5]
                .strip_prefix("role/")
                .is_some_and(|n| !n.is_empty());
        valid.then(|| RoleMapping {
            who,
            role_arn: role_arn.to_string(),
        })
    }
}

/// Who a request is from, once its token is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// `iss#sub`.
    pub name: Arc<str>,
    /// The digest of `name`: the owner of the sessions this principal creates.
    pub digest: [u8; 32],
    /// The AWS role mapped to this user, if role mappings are configured.
    pub role: Option<Arc<UserRole>>,
}

impl Authenticated {
    fn new(issuer: &str, subject: &str, role: Option<UserRole>) -> Authenticated {
        let name = format!("{issuer}#{subject}");
        let digest = Sha256::digest(format!("oauth\0{name}").as_bytes()).into();
        Authenticated {
            name: Arc::from(name),
            digest,
            role: role.map(Arc::new),
        }
    }
}

/// Why a token or request is refused: the HTTP status and `WWW-Authenticate` it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401 without an error code: no credentials at all (RFC 6750 §3.1).
    Missing(&'static str),
    /// 401 `invalid_token`: malformed, unverifiable, expired, another issuer or audience.
    InvalidToken(String),
    /// 403 `insufficient_scope`: the scopes needed.
    InsufficientScope(String),
    /// 403: a valid token of someone other than the owner.
    NotOwner,
    /// 403: a valid token of a user no AWS role is mapped to.
    NoRole(String),
}

impl AuthError {
    /// What a client reads (no token content, ever).
    pub fn text(&self) -> String {
        match self {
            AuthError::Missing(t) => format!("Unauthorized: {t}"),
            AuthError::InvalidToken(t) => format!("Unauthorized: invalid token: {t}"),
            AuthError::InsufficientScope(s) => {
                format!("Forbidden: the token lacks the scope this server requires: `{s}`")
            }
            AuthError::NotOwner => {
                "Forbidden: this server serves one user (its owner, PORTCULLIS_AUTH_OWNER), \
                and the token's subject is not that user"
                    .to_string()
            }
            AuthError::NoRole(sub) => format!(
                "Forbidden: no AWS role is mapped to this user (sub `{}`); the operator maps users to roles in \
                 PORTCULLIS_AUTH_ROLES (`sub:<subject>=<role ARN>` or `group:<group>=<role ARN>`)",
                quoted(&sub.chars().take(64).collect::<String>())
            ),
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3, RFC 9728 §5.1), if any.
    pub fn challenge(&self, metadata_url: &str) -> Option<String> {
        let meta = format!("resource_metadata=\"{metadata_url}\"");
        match self {
            AuthError::Missing(_) => Some(format!("Bearer {meta}")),
            AuthError::InvalidToken(why) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\", {meta}",
                quoted(why)
            )),
            AuthError::InsufficientScope(s) => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\", {meta}",
                quoted(s)
            )),
            AuthError::NotOwner | AuthError::NoRole(_) => None,
        }
    }

    /// 401 or 403.
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            AuthError::InsufficientScope(_) | AuthError::NotOwner | AuthError::NoRole(_)
        )
    }
}

/// A value fit for a quoted-string: printable ASCII without `"` and `\`.
fn quoted(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// One public key of the JWKS.
#[derive(Debug, Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { crv: String, point: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    key: Key,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
    /// When the last fetch was tried (successful or not), for [`REFETCH_INTERVAL`].
    tried: Option<Instant>,
}

/// Verified tokens: SHA-256 of the token → its claims, and until when its signature counts.
type Verified = HashMap<[u8; 32], (Arc<Value>, Instant)>;

/// Checks bearer tokens for one instance.
pub struct Verifier {
    issuer: String,
    audience: String,
    owner: Option<String>,
    roles: Vec<RoleMapping>,
    scopes: Vec<String>,
    leeway: u64,
    metadata_url: String,
    jwks_uri: String,
    transport: portcullis_wire::transport::Transport,
    keys: RwLock<KeySet>,
    /// Tokens whose signature verified, by SHA-256 of the token: their claims and until when the
    /// signature counts without being checked again ([`VERIFIED_FOR`]); claims are checked on
    /// every use (expiry included).
    verified: std::sync::Mutex<Verified>,
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// The verifier of a server whose canonical URI is `audience`.
    pub fn new(settings: &OAuthSettings, audience: String) -> anyhow::Result<Verifier> {
        let transport = portcullis_wire::transport::Transport::new(Default::default())
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client for the JWKS: {e}"))?;
        Ok(Verifier {
            issuer: settings.issuer.clone(),
            metadata_url: metadata_url(&audience)?,
            audience,
            owner: settings.owner.clone(),
            roles: settings.roles.clone(),
            scopes: settings.scopes.clone(),
            leeway: settings.leeway.as_secs(),
            jwks_uri: settings.jwks_uri.clone(),
            transport,
            keys: RwLock::new(KeySet::default()),
            verified: std::sync::Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// This server's canonical URI (the audience).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Where the protected resource metadata is served (for `WWW-Authenticate`).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The RFC 9728 metadata document.
    pub fn metadata(&self) -> Value {
        let mut doc = serde_json::json!({
            "resource": self.audience,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ACCEPTED_ALGS,
            "resource_name": "Portcullis (AWS over MCP)",
        });
        if !self.scopes.is_empty() {
            doc["scopes_supported"] = serde_json::json!(self.scopes);
        }
        doc
    }

    /// Fetches the JWKS now (at start: a failure is reported, and tokens wait for a later fetch).
    pub async fn prefetch(&self) -> Result<usize, String> {
        let _one = self.fetching.lock().await;
        self.fetch().await
    }

    /// Checks the `Authorization` header values of a request.
    pub async fn authenticate<'a>(
        self: &Arc<Self>,
        mut values: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Authenticated, AuthError> {
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(AuthError::Missing(
                "send `Authorization: Bearer <access token>` (an OAuth access token from the issuer; see the resource metadata)",
            ));
        };
        let token = value
            .split_first_chunk::<7>()
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
            .map(|(_, rest)| rest.trim_ascii())
            .ok_or(AuthError::Missing(
                "the Authorization header must be `Bearer <access token>`",
            ))?;
        let token =
            std::str::from_utf8(token).map_err(|_| AuthError::InvalidToken("not a JWT".into()))?;
        self.verify(token, now_secs()).await
    }

    /// Checks one token at `now` (seconds since the epoch).
    pub async fn verify(
        self: &Arc<Self>,
        token: &str,
        now: u64,
    ) -> Result<Authenticated, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = {
            let cache = self
                .verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .get(&digest)
                .filter(|(_, until)| *until > Instant::now())
                .map(|(claims, _)| Arc::clone(claims))
        };
        if let Some(claims) = cached {
            return self.check_claims(&claims, now);
        }
        let jws = Jws::parse(token)?;
        let key = self.key_for(&jws).await?;
        jws.verify(&key)?;
        let who = self.check_claims(&jws.claims, now)?;
        let mut cache = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_VERIFIED {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_VERIFIED {
                cache.clear();
            }
        }
        cache.insert(
            digest,
            (Arc::new(jws.claims), Instant::now() + VERIFIED_FOR),
        );
        Ok(who)
    }

    fn check_claims(&self, claims: &Value, now: u64) -> Result<Authenticated, AuthError> {
        let invalid = |s: &str| AuthError::InvalidToken(s.to_string());
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid(
                "it was issued by another issuer (`iss` is not AUTH_ISSUER)",
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::InvalidToken(format!(
                "its audience (`aud`) is not this server ({}); ask the issuer for a token with `resource={}`",
                self.audience, self.audience
            )));
        }
        let exp = claims
            .get("exp")
            .and_then(number)
            .ok_or_else(|| invalid("it has no expiry (`exp`)"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(invalid("it has expired"));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = number(nbf).ok_or_else(|| invalid("`nbf` is not a number"))?;
            if now.saturating_add(self.leeway) < nbf {
                return Err(invalid("it is not valid yet (`nbf`)"));
            }
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("it names no subject (`sub`)"))?;
        let held: Vec<&str> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split(' ').filter(|s| !s.is_empty()).collect(),
            (_, Some(Value::Array(list))) => list.iter().filter_map(Value::as_str).collect(),
            (_, Some(Value::String(s))) => s.split(' ').filter(|s| !s.is_empty()).collect(),
            _ => Vec::new(),
        };
        if self.scopes.iter().any(|s| !held.contains(&s.as_str())) {
            return Err(AuthError::InsufficientScope(self.scopes.join(" ")));
        }
        if self.owner.as_deref().is_some_and(|o| o != sub) {
            return Err(AuthError::NotOwner);
        }
        let role = if self.roles.is_empty() {
            None
        } else {
            let groups: Vec<&str> = match claims.get("groups") {
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(s)) => s.split([' ', ',']).filter(|g| !g.is_empty()).collect(),
                _ => Vec::new(),
            };
            let found = self.roles.iter().find(|m| match &m.who {
                Claim::Sub(s) => s == sub,
                Claim::Group(g) => groups.contains(&g.as_str()),
            });
            match found {
                Some(m) => Some(UserRole {
                    role_arn: m.role_arn.clone(),
                    subject: sub.to_string(),
                    issuer: self.issuer.clone(),
                }),
                None => return Err(AuthError::NoRole(sub.to_string())),
            }
        };
        Ok(Authenticated::new(&self.issuer, sub, role))
    }

    /// The key that must have signed `jws`: from the keys held (keys past [`JWKS_MAX_AGE`] are
    /// used while a fresh copy is fetched in the background), else, for a `kid` not held, after
    /// fetching the JWKS again — at most once per [`REFETCH_INTERVAL`], whoever asks.
    async fn key_for(self: &Arc<Self>, jws: &Jws) -> Result<Jwk, AuthError> {
        let (found, stale, may_fetch) = {
            let set = self.read_keys();
            let stale = set.fetched.is_none_or(|t| t.elapsed() >= JWKS_MAX_AGE);
            let may_fetch = set.tried.is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL);
            (jws.pick(&set.keys), stale, may_fetch)
        };
        match found {
            Ok(k) => {
                if stale && may_fetch {
                    // Nobody waits for it: the keys held still verify.
                    self.mark_tried();
                    let v = Arc::clone(self);
                    tokio::spawn(async move {
                        let _one = v.fetching.lock().await;
                        if let Err(why) = v.fetch().await {
                            tracing::warn!("portcullis: cannot refresh the issuer's keys: {why}");
                        }
                    });
                }
                return Ok(k);
            }
            Err(e) if !may_fetch => return Err(e),
            Err(_) => {}
        }
        {
            let _one = self.fetching.lock().await;
            // Another request may have fetched while this one waited.
            let again = self
                .read_keys()
                .tried
                .is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL);
            if again && let Err(why) = self.fetch().await {
                tracing::warn!("portcullis: cannot fetch the issuer's keys: {why}");
            }
        }
        jws.pick(&self.read_keys().keys)
    }

    fn mark_tried(&self) {
        self.keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .tried = Some(Instant::now());
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fetches the JWKS (the caller holds `fetching`) and keeps its usable keys.
    async fn fetch(&self) -> Result<usize, String> {
        self.mark_tried();
        let limits = portcullis_wire::transport::Limits {
            read_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            max_response_bytes: MAX_JWKS_BYTES,
            max_request_bytes: 0,
        };
        let req = portcullis_wire::transport::PreparedRequest::new("GET", self.jwks_uri.clone())
            .with_header("accept", "application/json");
        let resp = self
            .transport
            .send(req, &limits)
            .await
            .map_err(|e| format!("{} : {e}", self.jwks_uri))?;
        if resp.status != 200 {
            return Err(format!("{} answered HTTP {}", self.jwks_uri, resp.status));
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("{} is not JSON: {e}", self.jwks_uri))?;
        let keys = parse_jwks(&doc).map_err(|e| format!("{}: {e}", self.jwks_uri))?;
        let n = keys.len();
        let mut set = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.keys = keys;
        set.fetched = Some(Instant::now());
        Ok(n)
    }
}

/// The algorithms accepted: asymmetric signatures only.
pub const ACCEPTED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The RFC 9728 metadata URL of `resource`: the well-known path inserted before its path.
pub fn metadata_url(resource: &str) -> anyhow::Result<String> {
    let uri: http::Uri = resource
        .parse()
        .map_err(|e| anyhow::anyhow!("PORTCULLIS_AUTH_RESOURCE `{resource}` is not a URI: {e}"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        anyhow::bail!(
            "PORTCULLIS_AUTH_RESOURCE `{resource}` must be an absolute http(s) URI, such as https://mcp.example.com/mcp"
        );
    };
    anyhow::ensure!(
        matches!(scheme, "http" | "https") && uri.query().is_none() && !resource.contains('#'),
        "PORTCULLIS_AUTH_RESOURCE `{resource}` must be an http(s) URI without a query or fragment (RFC 8707)"
    );
    let path = uri.path().trim_end_matches('/');
    Ok(format!("{scheme}://{authority}{METADATA_PATH}{path}"))
}

/// The keys of a JWKS document that can verify a signature here; others (symmetric keys,
/// encryption keys, unknown types) are left out.
fn parse_jwks(doc: &Value) -> Result<Vec<Jwk>, String> {
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no `keys` list")?;
    let b64 = |k: &Value, name: &str| -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(k.get(name)?.as_str()?.trim_end_matches('='))
            .ok()
    };
    let mut keys = Vec::new();
    for k in list.iter().take(MAX_KEYS) {
        if k.get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        let key = match k.get("kty").and_then(Value::as_str) {
            Some("RSA") => match (b64(k, "n"), b64(k, "e")) {
                (Some(n), Some(e)) => Key::Rsa { n, e },
                _ => continue,
            },
            Some("EC") => match (
                k.get("crv").and_then(Value::as_str),
                b64(k, "x"),
                b64(k, "y"),
            ) {
                (Some(crv @ ("P-256" | "P-384")), Some(x), Some(y)) => {
                    let mut point = vec![4u8];
                    point.extend(x);
                    point.extend(y);
                    Key::Ec {
                        crv: crv.to_string(),
                        point,
                    }
                }
                _ => continue,
            },
            Some("OKP") if k.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
                match b64(k, "x") {
                    Some(x) => Key::Ed25519 { x },
                    None => continue,
                }
            }
            _ => continue,
        };
        keys.push(Jwk {
            kid: k.get("kid").and_then(Value::as_str).map(str::to_string),
            alg: k.get("alg").and_then(Value::as_str).map(str::to_string),
            key,
        });
    }
    Ok(keys)
}

/// A JWT in compact JWS form, decoded but not yet verified.
struct Jws {
    alg: String,
    kid: Option<String>,
    claims: Value,
    /// `header.payload`, the bytes signed.
    signed: Vec<u8>,
    signature: Vec<u8>,
}

impl Jws {
    fn parse(token: &str) -> Result<Jws, AuthError> {
        let invalid = |s: &str| AuthError::InvalidToken(s.to_string());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid("longer than 16 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("not a signed JWT (header.payload.signature)"));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AuthError::InvalidToken(format!("its {what} is not base64url")))
        };
        let header: Value = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|_| invalid("its header is not JSON"))?;
        let claims: Value = serde_json::from_slice(&decode(p, "payload")?)
            .map_err(|_| invalid("its payload is not JSON"))?;
        if !claims.is_object() {
            return Err(invalid("its payload is not a JSON object"));
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("its header names no `alg`"))?;
        if !ACCEPTED_ALGS.contains(&alg) {
            return Err(AuthError::InvalidToken(format!(
                "alg `{}` is not accepted (only asymmetric signatures: {})",
                quoted(&alg.chars().take(16).collect::<String>()),
                ACCEPTED_ALGS.join(", ")
            )));
        }
        if header.get("crit").is_some() {
            return Err(invalid(
                "its header has `crit` extensions, which this server does not understand",
            ));
        }
        Ok(Jws {
            alg: alg.to_string(),
            kid: header
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims,
            signed: format!("{h}.{p}").into_bytes(),
            signature: decode(s, "signature")?,
        })
    }

    /// The key of `keys` that fits: the one named by `kid`, else the only one fit for `alg`.
    fn pick(&self, keys: &[Jwk]) -> Result<Jwk, AuthError> {
        let fits = |k: &&Jwk| {
            k.alg.as_deref().is_none_or(|a| a == self.alg) && key_fits(&k.key, &self.alg)
        };
        let found: Vec<&Jwk> = match &self.kid {
            Some(kid) => keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .filter(fits)
                .collect(),
            None => keys.iter().filter(fits).collect(),
        };
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(AuthError::InvalidToken(match &self.kid {
                Some(_) => "it is signed with a key the issuer does not publish (unknown `kid`, or a key of another type)".into(),
                None => "it names no key (`kid`) and no single published key fits its `alg`".into(),
            })),
            _ => Err(AuthError::InvalidToken(
                "more than one published key fits it; the issuer must give its keys distinct `kid`s".into(),
            )),
        }
    }

    fn verify(&self, jwk: &Jwk) -> Result<(), AuthError> {
        let bad = || AuthError::InvalidToken("its signature does not verify".into());
        let ok = match &jwk.key {
            Key::Rsa { n, e } => {
                let params: &'static signature::RsaParameters = match self.alg.as_str() {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                    "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                    "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                    "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return Err(bad()),
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, &self.signed, &self.signature)
                    .is_ok()
            }
            Key::Ec { point, .. } => {
                let alg: &'static dyn VerificationAlgorithm = match self.alg.as_str() {
                    "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
                    "ES384" => &signature::ECDSA_P384_SHA384_FIXED,
                    _ => return Err(bad()),
                };
                UnparsedPublicKey::new(alg, point)
                    .verify(&self.signed, &self.signature)
                    .is_ok()
            }
            Key::Ed25519 { x } => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(&self.signed, &self.signature)
                .is_ok(),
        };
        if ok { Ok(()) } else { Err(bad()) }
    }
}

/// Whether `key` can carry `alg` (an RSA key never verifies an ECDSA token, and so on).
fn key_fits(key: &Key, alg: &str) -> bool {
    match key {
        Key::Rsa { .. } => alg.starts_with("RS") || alg.starts_with("PS"),
        Key::Ec { crv, .. } => {
            (crv == "P-256" && alg == "ES256") || (crv == "P-384" && alg == "ES384")
        }
        Key::Ed25519 { .. } => alg == "EdDSA",
    }
}

/// A NumericDate: a JSON number of seconds (fractions dropped, negatives refused).
fn number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(|f| f as u64)
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The settings, for the start-up log (they hold no secret).
pub fn describe(settings: &OAuthSettings, audience: &str) -> String {
    let scopes = if settings.scopes.is_empty() {
        "(none required)".to_string()
    } else {
        settings.scopes.join(" ")
    };
    let users = match (&settings.owner, settings.roles.len()) {
        (Some(o), 0) => format!("one owner `{o}` with the server's credentials"),
        (Some(o), n) => format!("one owner `{o}` with its mapped role ({n} mapping(s))"),
        (None, n) => format!("every user with a role mapping ({n}), each as its own role"),
    };
    format!(
        "OAuth: issuer {}, keys {}, audience {audience}, users: {users}, scopes {scopes}, leeway {} s",
        settings.issuer,
        settings.jwks_uri,
        settings.leeway.as_secs()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn refuses_none_hmac_crit_and_malformed_before_any_key() {
        let claims =
            serde_json::json!({"iss": "i", "sub": "s", "aud": "a", "exp": 9_999_999_999u64});
        for (header, want) in [
            (
                serde_json::json!({"alg": "none"}),
                "alg `none` is not accepted",
            ),
            (
                serde_json::json!({"alg": "HS256", "kid": "k"}),
                "alg `HS256` is not accepted",
            ),
            (
                serde_json::json!({"alg": "RS256", "crit": ["b64"]}),
                "`crit`",
            ),
            (serde_json::json!({"typ": "JWT"}), "no `alg`"),
        ] {
            let token = format!("{}.{}.c2ln", b64(&header), b64(&claims));
            let e = Jws::parse(&token).err().unwrap();
            assert!(
                matches!(&e, AuthError::InvalidToken(t) if t.contains(want)),
                "{e:?}"
            );
        }
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.e30", &"x".repeat(20_000)] {
            assert!(
                matches!(Jws::parse(bad), Err(AuthError::InvalidToken(_))),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn a_key_fits_only_its_own_algorithm() {
        let rsa = Key::Rsa {
            n: vec![1],
            e: vec![1],
        };
        let p256 = Key::Ec {
            crv: "P-256".into(),
            point: vec![4],
        };
        assert!(key_fits(&rsa, "RS256") && key_fits(&rsa, "PS512"));
        assert!(!key_fits(&rsa, "ES256") && !key_fits(&p256, "RS256") && !key_fits(&p256, "ES384"));
        let jws = Jws {
            alg: "RS256".into(),
            kid: Some("k1".into()),
            claims: Value::Null,
            signed: vec![],
            signature: vec![],
        };
        let keys = vec![
            Jwk {
                kid: Some("k1".into()),
                alg: Some("ES256".into()),
                key: p256.clone(),
            },
            Jwk {
                kid: Some("k2".into()),
                alg: None,
                key: rsa.clone(),
            },
        ];
        // k1 exists but is an EC key: an RS256 token naming it finds no key.
        assert!(jws.pick(&keys).is_err());
        let keys = vec![Jwk {
            kid: Some("k1".into()),
            alg: Some("RS256".into()),
            key: rsa,
        }];
        assert!(jws.pick(&keys).is_ok());
    }

    fn verifier(scopes: &[&str]) -> Verifier {
        let settings = OAuthSettings {
            issuer: "https://id.example".into(),
            jwks_uri: "https://id.example/jwks".into(),
            resource: None,
            owner: Some("alice".into()),
            roles: Vec::new(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            leeway: Duration::from_secs(30),
        };
        Verifier::new(&settings, "https://mcp.example/mcp".into()).unwrap()
    }

    #[test]
    fn claims_issuer_audience_time_scope_and_owner() {
        let v = verifier(&["mcp:tools"]);
        let ok = serde_json::json!({"iss": "https://id.example", "sub": "alice", "aud": "https://mcp.example/mcp",
            "exp": 1000, "nbf": 900, "scope": "other mcp:tools"});
        let who = v.check_claims(&ok, 950).unwrap();
        assert_eq!(&*who.name, "https://id.example#alice");
        let with = |k: &str, val: Value| {
            let mut c = ok.clone();
            c[k] = val;
            c
        };
        let without = |k: &str| {
            let mut c = ok.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        let invalid = |c: &Value, now: u64, want: &str| match v.check_claims(c, now) {
            Err(AuthError::InvalidToken(t)) => assert!(t.contains(want), "{want}: {t}"),
            other => panic!("{want}: {other:?}"),
        };
        invalid(
            &with("iss", "https://id.example/".into()),
            950,
            "another issuer",
        );
        invalid(&without("iss"), 950, "another issuer");
        invalid(
            &with("aud", "https://mcp.example/mcp/".into()),
            950,
            "audience",
        );
        invalid(&without("aud"), 950, "audience");
        invalid(&with("aud", serde_json::json!(["x", "y"])), 950, "audience");
        assert!(
            v.check_claims(
                &with("aud", serde_json::json!(["x", "https://mcp.example/mcp"])),
                950
            )
            .is_ok()
        );
        // exp and nbf, with 30 s of leeway either way.
        assert!(v.check_claims(&ok, 1029).is_ok());
        invalid(&ok, 1030, "expired");
        invalid(&without("exp"), 950, "no expiry");
        invalid(&with("exp", "1000".into()), 950, "no expiry");
        assert!(v.check_claims(&ok, 870).is_ok());
        invalid(&ok, 869, "not valid yet");
        invalid(&with("sub", "".into()), 950, "no subject");
        // Scopes: `scope` (space-separated) or `scp` (a list).
        let scope = |c: &Value| matches!(v.check_claims(c, 950), Err(AuthError::InsufficientScope(s)) if s == "mcp:tools");
        assert!(scope(&with("scope", "other".into())));
        assert!(scope(&with("scope", "mcp:tool".into())));
        assert!(scope(&without("scope")));
        let scp = with("scp", serde_json::json!(["mcp:tools"]));
        let mut scp = scp;
        scp.as_object_mut().unwrap().remove("scope");
        assert!(v.check_claims(&scp, 950).is_ok());
        // Another user of the same issuer.
        assert_eq!(
            v.check_claims(&with("sub", "bob".into()), 950),
            Err(AuthError::NotOwner)
        );
        // No scope required: none needed.
        assert!(verifier(&[]).check_claims(&without("scope"), 950).is_ok());
    }

    #[test]
    fn role_mappings_and_which_applies() {
        let m = RoleMapping::parse(" group:admins = arn:aws:iam::123456789012:role/path/admin ")
            .unwrap();
        assert_eq!(m.who, Claim::Group("admins".into()));
        assert_eq!(m.role_arn, "arn:aws:iam::123456789012:role/path/admin");
        assert_eq!(
            RoleMapping::parse("sub:a@b=arn:aws-cn:iam::123456789012:role/r")
                .unwrap()
                .who,
            Claim::Sub("a@b".into())
        );
        for bad in [
            "admins=arn:aws:iam::123456789012:role/r",
            "user:x=arn:aws:iam::123456789012:role/r",
            "sub:=arn:aws:iam::123456789012:role/r",
            "sub:x=arn:aws:iam::123456789012:user/r",
            "sub:x=arn:aws:iam::12345:role/r",
            "sub:x",
        ] {
            assert!(RoleMapping::parse(bad).is_none(), "{bad}");
        }
        // Mappings in order; the first that matches applies; none: 403.
        let mut v = verifier(&[]);
        v.owner = None;
        v.roles = vec![
            RoleMapping::parse("sub:bob=arn:aws:iam::123456789012:role/bob").unwrap(),
            RoleMapping::parse("group:admins=arn:aws:iam::123456789012:role/admin").unwrap(),
        ];
        let claims = |sub: &str, groups: Value| {
            serde_json::json!({"iss": "https://id.example", "sub": sub, "aud": "https://mcp.example/mcp",
                "exp": 1000, "groups": groups})
        };
        let role = |c: &Value| {
            v.check_claims(c, 900)
                .map(|a| a.role.map(|r| r.role_arn.clone()))
        };
        assert_eq!(
            role(&claims("bob", serde_json::json!(["admins"]))),
            Ok(Some("arn:aws:iam::123456789012:role/bob".into()))
        );
        assert_eq!(
            role(&claims("carol", serde_json::json!(["x", "admins"]))),
            Ok(Some("arn:aws:iam::123456789012:role/admin".into()))
        );
        assert_eq!(
            role(&claims("carol", serde_json::json!("x admins"))),
            Ok(Some("arn:aws:iam::123456789012:role/admin".into()))
        );
        assert_eq!(
            role(&claims("dave", serde_json::json!(["readers"]))),
            Err(AuthError::NoRole("dave".into()))
        );
        let who = v.check_claims(&claims("bob", Value::Null), 900).unwrap();
        let r = who.role.unwrap();
        assert_eq!(
            (r.subject.as_str(), r.issuer.as_str()),
            ("bob", "https://id.example")
        );
    }

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        assert_eq!(
            metadata_url("http://127.0.0.1:8000/mcp").unwrap(),
            "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://mcp.example.com").unwrap(),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
        for bad in [
            "mcp.example.com/mcp",
            "ftp://x/mcp",
            "https://x/mcp?a=1",
            "https://x/mcp#f",
        ] {
            assert!(metadata_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges_quote_safely_and_name_the_metadata() {
        let m = "http://h/.well-known/oauth-protected-resource/mcp";
        let c = AuthError::InvalidToken("bad \"x\"\n".into())
            .challenge(m)
            .unwrap();
        assert_eq!(
            c,
            format!(
                "Bearer error=\"invalid_token\", error_description=\"bad ?x??\", resource_metadata=\"{m}\""
            )
        );
        let c = AuthError::InsufficientScope("mcp:tools".into())
            .challenge(m)
            .unwrap();
        assert!(
            c.contains("error=\"insufficient_scope\", scope=\"mcp:tools\""),
            "{c}"
        );
        assert_eq!(
            AuthError::Missing("x").challenge(m).unwrap(),
            format!("Bearer resource_metadata=\"{m}\"")
        );
        assert!(AuthError::NotOwner.is_forbidden() && !AuthError::Missing("x").is_forbidden());
    }
}
