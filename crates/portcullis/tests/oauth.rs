//! `AUTH_TYPE=oauth`: `portcullis serve --transport http` as an OAuth 2.1 resource server, checked
//! against a real OpenID provider (panva's `oidc-provider`, pinned in tests/oidc, installed by
//! scripts/setup-node.sh) issuing client-credentials access tokens as JWTs with RFC 8707
//! audiences. The official Python MCP SDK calls a tool with the owner's token; raw requests pin
//! every refusal's status and `WWW-Authenticate`: no token, another audience, expired, `alg:
//! none`, the HS256/RS256 confusion, another issuer, a token in the query string, too few scopes,
//! another user. A key rotated in at the provider is picked up without a restart. The RFC 9728
//! metadata is served. Every tool call's audit record names its user (`iss#sub`).
//!
//! Missing node or the provider's packages fail the tests loudly (the README's test command
//! installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, node, the Python client

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::moto::venv_python;
use support::oidc::Provider;
use support::serve::{Resp, portcullis, request, spawn, temp_home};

/// A running `portcullis serve --transport http` with OAuth, stopped on drop.
struct Server {
    child: Child,
    home: PathBuf,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(p: &Provider, extra: &[(&str, &str)]) -> Server {
        let home = temp_home("oauth");
        let mut cmd = portcullis(&home, &["serve", "--transport", "http", "--port", "0"]);
        cmd.env("AUTH_TYPE", "oauth")
            .env("AUTH_ISSUER", &p.issuer)
            .env("AUTH_JWKS_URI", &p.jwks_uri)
            .env("PORTCULLIS_AUTH_OWNER", "alice")
            .env("PORTCULLIS_AUTH_SCOPES", "mcp:tools")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let s = spawn(&mut cmd);
        assert!(
            s.announced.contains("(OAuth: tokens for http://127.0.0.1:"),
            "{}",
            s.announced
        );
        Server {
            child: s.child,
            home,
            port: s.port,
            stderr: s.stderr,
        }
    }

    fn resource(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn metadata_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
            self.port
        )
    }

    /// An MCP `initialize` with `auth` as the Authorization header (none when empty).
    fn initialize(&self, auth: &str) -> Resp {
        self.post("/mcp", auth)
    }

    fn post(&self, path: &str, auth: &str) -> Resp {
        let host = format!("127.0.0.1:{}", self.port);
        let mut headers = vec![
            ("Host", host.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        if !auth.is_empty() {
            headers.push(("Authorization", auth));
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "oauth-test", "version": "1"}}})
        .to_string();
        request(self.port, "POST", path, &headers, &body)
    }

    /// The official Python MCP client, with `token` as its bearer token: one tool call.
    fn client_call(&self, token: &str, tool: &str, args: &Value) -> Value {
        let token_file = self.home.join("client-token");
        std::fs::write(&token_file, token).unwrap();
        let out = Command::new(venv_python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/http_client.py"))
            .arg(self.resource())
            .arg(&token_file)
            .args(["call", tool, &args.to_string()])
            .output()
            .expect("run the MCP client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "MCP client failed: {stdout}\n{}\nserver: {}",
            String::from_utf8_lossy(&out.stderr),
            self.stderr.lock().unwrap()
        );
        serde_json::from_str(stdout.trim()).unwrap()
    }

    /// The audit trail's tool-call records (`portcullis audit show --json`).
    fn audit(&self) -> Vec<Value> {
        let out = portcullis(
            &self.home,
            &["audit", "show", "--json", "--kind", "tool_call"],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::remove_dir_all(&self.home).ok();
    }
}

/// The `WWW-Authenticate` of a 401 or 403 (lowercased by the test's reader).
fn challenge(r: &Resp) -> String {
    r.header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate: {} {}", r.status, r.head))
        .to_string()
}

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    let p = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&h).unwrap(),
        serde_json::from_slice(&p).unwrap(),
        it.next().unwrap().to_string(),
    )
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// HMAC-SHA256 (RFC 2104), for the forged HS256 token.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

#[test]
fn the_owners_token_is_served_and_every_other_token_is_refused_with_its_challenge() {
    let dir = temp_home("oidc-keys");
    let keys = dir.join("keys.json");
    let mut idp = Provider::start(0, &keys, false);
    let server = Server::start(&idp, &[]);
    let meta = server.metadata_url();

    // RFC 9728 metadata, public.
    let r = request(
        server.port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[("Host", &format!("127.0.0.1:{}", server.port))],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc: Value = serde_json::from_str(r.body.trim()).unwrap();
    assert_eq!(doc["resource"], json!(server.resource()));
    assert_eq!(doc["authorization_servers"], json!([idp.issuer]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc["scopes_supported"], json!(["mcp:tools"]));

    // No token: 401 pointing at the metadata, no error code (RFC 6750 §3.1).
    let r = server.initialize("");
    assert_eq!(r.status, 401);
    assert_eq!(
        challenge(&r),
        format!("bearer resource_metadata=\"{meta}\"")
    );
    // A token in the query string is not read.
    let good = idp.token("alice", &server.resource(), "mcp:tools");
    let r = server.post(&format!("/mcp?access_token={good}"), "");
    assert_eq!(r.status, 401);

    // The owner's token: served, through the official MCP client; its record names the user.
    let r = server.initialize(&format!("Bearer {good}"));
    assert_eq!(r.status, 200, "{} {}", r.head, r.body);
    let out = server.client_call(
        &good,
        "check_aws_command",
        &json!({"cli_command": "aws s3api list-buckets"}),
    );
    assert_eq!(out["is_error"], json!(false), "{out}");
    let records = server.audit();
    let user = format!("{}#alice", idp.issuer);
    assert!(
        records.iter().any(|r| r["user"] == json!(user)),
        "{records:?}"
    );
    assert!(
        records.iter().all(|r| r["user"] == json!(user)),
        "{records:?}"
    );

    let invalid = |token: &str, why: &str| {
        let r = server.initialize(&format!("Bearer {token}"));
        assert_eq!(r.status, 401, "{why}: {}", r.body);
        let c = challenge(&r);
        assert!(
            c.starts_with("bearer error=\"invalid_token\"")
                && c.contains(&format!("resource_metadata=\"{meta}\"")),
            "{why}: {c}"
        );
        assert!(r.body.contains(why), "{why}: {}", r.body);
        // Never the token itself.
        assert!(!r.body.contains(token) && !c.contains(token));
    };

    // Minted for another service (RFC 8707): refused here.
    let other = idp.token("alice", "http://127.0.0.1:1/other-service", "mcp:tools");
    invalid(&other, "audience");

    // alg none: the owner's claims, unsigned.
    let (header, claims, _) = parts(&good);
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]})),
        b64(&claims)
    );
    invalid(&none, "alg `none` is not accepted");

    // HS256/RS256 confusion: "signed" with the issuer's published RSA key as the HMAC secret.
    let jwks = request(
        idp.port,
        "GET",
        "/jwks",
        &[("Host", &format!("127.0.0.1:{}", idp.port))],
        "",
    );
    let jwks: Value = serde_json::from_str(jwks.body.trim()).unwrap();
    let rsa = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .unwrap()
        .clone();
    for secret in [
        rsa.to_string().into_bytes(),
        URL_SAFE_NO_PAD.decode(rsa["n"].as_str().unwrap()).unwrap(),
    ] {
        let signed = format!(
            "{}.{}",
            b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": rsa["kid"]})),
            b64(&claims)
        );
        let mac = URL_SAFE_NO_PAD.encode(hmac_sha256(&secret, signed.as_bytes()));
        invalid(&format!("{signed}.{mac}"), "alg `HS256` is not accepted");
    }

    // A signature that does not match its claims (the owner's signature, another subject).
    let (_, _, sig) = parts(&good);
    let mut forged = claims.clone();
    forged["sub"] = json!("mallory");
    invalid(
        &format!("{}.{}.{sig}", b64(&header), b64(&forged)),
        "signature does not verify",
    );

    // Another issuer (its own keys, its own `iss`).
    let other_keys = dir.join("other-keys.json");
    let other_idp = Provider::start(0, &other_keys, false);
    let foreign = other_idp.token("alice", &server.resource(), "mcp:tools");
    invalid(&foreign, "key the issuer does not publish");

    // Valid tokens that are not enough: too few scopes, another user (even signed ES256).
    let r = server.initialize(&format!(
        "Bearer {}",
        idp.token("alice", &server.resource(), "other")
    ));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        challenge(&r),
        format!(
            "bearer error=\"insufficient_scope\", scope=\"mcp:tools\", resource_metadata=\"{meta}\""
        )
    );
    for client in ["bob", "es"] {
        let r = server.initialize(&format!(
            "Bearer {}",
            idp.token(client, &server.resource(), "mcp:tools")
        ));
        assert_eq!(r.status, 403, "{client}: {}", r.body);
        assert!(r.body.contains("serves one user"), "{}", r.body);
    }

    // Rotation: the provider restarts with a new signing key first; the server fetches the
    // JWKS again for the unknown `kid` (at most once per 5 s) and serves the new tokens, while
    // tokens of the old key (still published) keep working.
    let port = idp.port;
    let old_kid = idp.kids[0].clone();
    idp.stop();
    let idp = Provider::start(port, &keys, true);
    assert_eq!(idp.kids.len(), 3);
    assert_ne!(idp.kids[0], old_kid);
    let rotated = idp.token("alice", &server.resource(), "mcp:tools");
    assert_eq!(parts(&rotated).0["kid"], json!(idp.kids[0]));
    let started = Instant::now();
    let status = loop {
        let r = server.initialize(&format!("Bearer {rotated}"));
        if r.status == 200 || started.elapsed() > Duration::from_secs(15) {
            break r.status;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status, 200, "{}", server.stderr.lock().unwrap());
    assert_eq!(server.initialize(&format!("Bearer {good}")).status, 200);

    // The log never shows a token.
    let log = server.stderr.lock().unwrap().clone();
    for t in [&good, &rotated, &other, &foreign] {
        assert!(!log.contains(t.as_str()), "a token is in the log");
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_expired_token_is_refused() {
    let dir = temp_home("oidc-expiry");
    let idp = Provider::start(0, &dir.join("keys.json"), false);
    // The owner is `shortlived`, whose tokens live 1 s; the leeway is 1 s.
    let server = Server::start(
        &idp,
        &[
            ("PORTCULLIS_AUTH_OWNER", "shortlived"),
            ("PORTCULLIS_AUTH_LEEWAY", "1"),
        ],
    );
    let token = idp.token("shortlived", &server.resource(), "mcp:tools");
    let exp = parts(&token).1["exp"].as_u64().unwrap();
    // Valid at first (unless this machine was slow enough to pass exp + leeway already).
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let first = server.initialize(&format!("Bearer {token}"));
    assert!(first.status == 200 || now() > exp, "{}", first.body);
    while now() < exp + 2 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = server.initialize(&format!("Bearer {token}"));
    assert_eq!(r.status, 401, "{}", r.body);
    let c = challenge(&r);
    assert!(
        c.starts_with("bearer error=\"invalid_token\"") && c.contains("it has expired"),
        "{c}"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn oauth_over_stdio_refuses_to_start() {
    let home = temp_home("oauth-stdio");
    let out = portcullis(&home, &["serve"])
        .env("AUTH_TYPE", "oauth")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AUTH_TYPE") && err.contains("stdio"), "{err}");
    std::fs::remove_dir_all(&home).ok();
}
