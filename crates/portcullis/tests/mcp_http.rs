//! `portcullis serve --transport http`, the real binary on an ephemeral loopback port, driven by
//! the official Python MCP SDK's streamable HTTP client (tests/mcp/http_client.py) against moto:
//! reads run, writes ask by elicitation over SSE and run only when accepted. Raw HTTP requests pin
//! the guard: no or wrong token → 401, foreign Origin or Host → 403, other paths and unknown
//! sessions → 404; a request target in absolute-form naming another host → 403, and `CONNECT` or
//! `OPTIONS *` → 400. The token file is created 0600, never logged, and a readable one is refused;
//! non-loopback binding and bad settings stop the server with a clear error. stdout stays empty.
//! A missing venv fails the tests loudly.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::moto::{Moto, venv_python};
use support::serve::{Spawned, portcullis, request, spawn};

/// `portcullis serve` over HTTP, on a port the system picks.
const SERVE_HTTP: [&str; 5] = ["serve", "--transport", "http", "--port", "0"];

fn client_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/http_client.py")
}

fn temp_home(tag: &str) -> PathBuf {
    support::serve::temp_home(&format!("http-test-{tag}"))
}

/// A running `portcullis serve --transport http`, stopped (and its home removed) on drop.
struct Server {
    child: Child,
    home: PathBuf,
    port: u16,
    token_file: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(tag: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let home = temp_home(tag);
        let mut cmd = portcullis(&home, args);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let Spawned {
            child,
            stderr,
            port,
            announced,
        } = spawn(&mut cmd);
        let (_, file) = announced
            .split_once("(token file: ")
            .expect("the token file in the announcement");
        let token_file = PathBuf::from(
            file.trim_end_matches(')')
                .trim_end_matches(", just created"),
        );
        Server {
            child,
            home,
            port,
            token_file,
            stderr,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn token(&self) -> String {
        std::fs::read_to_string(&self.token_file)
            .unwrap()
            .trim()
            .to_string()
    }

    fn client(&self, args: &[&str]) -> Value {
        let out = Command::new(venv_python())
            .arg(client_script())
            .arg(self.url())
            .arg(&self.token_file)
            .args(args)
            .output()
            .expect("run the MCP client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "MCP client failed ({}):\nstdout: {stdout}\nstderr: {stderr}\nserver: {}",
            out.status,
            self.stderr.lock().unwrap()
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("client printed no JSON ({e}): {stdout}\nstderr: {stderr}"))
    }

    fn call(&self, command: &str, elicit: &str) -> Value {
        self.client(&[
            "call",
            "call_aws",
            &json!({ "cli_command": command }).to_string(),
            "--elicit",
            elicit,
        ])
    }

    /// One raw HTTP/1.1 request: the status, the headers (lowercase names) and the body.
    fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        // An SSE response stays open; what arrives within the timeout is enough.
        let r = request(self.port, method, path, headers, body);
        (r.status, r.head, r.body)
    }

    /// Stops the server; returns what it wrote on stdout.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        stdout
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

fn result(v: &Value) -> &Value {
    &v["structured_content"]["results"][0]
}

#[test]
fn call_aws_over_http_against_moto() {
    let moto = Moto::start();
    moto.reset();
    let mut server = Server::start("e2e", &SERVE_HTTP, &[]);
    let aws = |c: &str| format!("{c} --endpoint-url {}", moto.endpoint());

    // The default token file: under HOME's XDG state dir, created 0600 at first start.
    assert_eq!(
        server.token_file,
        server.home.join(".local/state/portcullis/token")
    );
    assert!(server.stderr.lock().unwrap().contains("just created"));
    let mode = std::fs::metadata(&server.token_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "token file mode {mode:o}");
    let token = server.token();
    assert_eq!(token.len(), 64, "256 bits as hex");

    let v = server.client(&["list"]);
    assert_eq!(v["protocol"], "2025-11-25");
    assert_eq!(v["server"], "portcullis");
    assert_eq!(
        v["tools"],
        json!([
            "call_aws",
            "check_aws_command",
            "suggest_aws_commands",
            "get_blast_radius"
        ])
    );

    // A read runs without asking.
    let v = server.call(&aws("aws sts get-caller-identity"), "accept");
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(result(&v)["status"], "success", "{v}");
    assert!(
        result(&v)["output"]
            .as_str()
            .unwrap()
            .contains("\"Account\""),
        "{v}"
    );
    assert!(
        v["prompts"].as_array().unwrap().is_empty(),
        "a read must not ask: {v}"
    );

    // A write asks by elicitation (server → client over SSE) and runs once accepted.
    let create = aws("aws s3api create-bucket --bucket http-accepted");
    let v = server.call(&create, "accept");
    assert_eq!(v["is_error"], false, "{v}");
    assert_eq!(result(&v)["status"], "success", "{v}");
    let prompts = v["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{v}");
    assert!(
        prompts[0]["message"].as_str().unwrap().contains(&create),
        "{v}"
    );
    assert!(moto.bucket_exists("http-accepted"));

    // Declined: asked, not run.
    let v = server.call(
        &aws("aws s3api create-bucket --bucket http-declined"),
        "decline",
    );
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "declined", "{v}");
    assert_eq!(v["prompts"].as_array().unwrap().len(), 1, "{v}");
    assert!(!moto.bucket_exists("http-declined"));

    // A client without elicitation cannot be asked: refused.
    let v = server.call(
        &aws("aws s3api create-bucket --bucket http-unasked"),
        "none",
    );
    assert_eq!(result(&v)["status"], "consent_unavailable", "{v}");
    assert!(!moto.bucket_exists("http-unasked"));

    // Prometheus metrics on /metrics, behind the same token: the calls above are counted.
    let host = format!("127.0.0.1:{}", server.port);
    let bearer = format!("Bearer {}", server.token());
    let (status, head, body) = server.raw(
        "GET",
        "/metrics",
        &[("Host", &host), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(
        body.contains(
            "portcullis_commands_total{service=\"s3api\",decision=\"consent\",status=\"ok\"} 1"
        ),
        "{body}"
    );
    assert!(
        body.contains("portcullis_consent_total{outcome=\"declined\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("portcullis_audit_write_seconds_count"),
        "{body}"
    );
    for stage in ["assess", "consent", "execute", "record"] {
        assert!(
            body.contains(&format!(
                "portcullis_stage_seconds_count{{stage=\"{stage}\"}}"
            )),
            "{stage}: {body}"
        );
    }
    assert_eq!(
        server.raw("GET", "/metrics", &[("Host", &host)], "").0,
        401,
        "metrics need the token"
    );

    // Logs go to stderr and never hold the token; stdout carries nothing.
    let stdout = server.stop();
    assert_eq!(stdout, "", "stdout must stay empty in HTTP mode");
    let log = server.stderr.lock().unwrap().clone();
    assert!(
        !log.contains(&token),
        "the token leaked into the log:\n{log}"
    );
    assert!(
        log.contains(&format!("http://127.0.0.1:{}/mcp", server.port)),
        "{log}"
    );
}

#[test]
fn requests_need_the_token_and_this_servers_host_and_origin() {
    // Started from the awslabs variables this time, with the token file named by variable.
    let dir = temp_home("tokdir");
    let token_file = dir.join("tok");
    let server = Server::start(
        "guard",
        &["serve"],
        &[
            ("AWS_API_MCP_TRANSPORT", "streamable-http"),
            ("AWS_API_MCP_PORT", "0"),
            ("PORTCULLIS_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    );
    assert_eq!(server.token_file, token_file);
    let token = server.token();
    let host = format!("127.0.0.1:{}", server.port);
    let bearer = format!("Bearer {token}");
    let post = |extra: &[(&str, &str)]| {
        let mut h = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        h.extend_from_slice(extra);
        server.raw("POST", "/mcp", &h, INIT)
    };

    // The owner, from a non-browser client: served, and a session is started.
    let (status, head, body) = post(&[("Host", &host), ("Authorization", &bearer)]);
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(head.contains("mcp-session-id:"), "{head}");
    assert!(body.contains("\"portcullis\""), "{body}");
    // `localhost` with the port, and the server's own origin, are fine too.
    let local = format!("localhost:{}", server.port);
    let own_origin = format!("http://localhost:{}", server.port);
    assert_eq!(
        post(&[
            ("Host", &local),
            ("Origin", &own_origin),
            ("Authorization", &bearer)
        ])
        .0,
        200
    );

    // No token, a wrong token, another scheme: 401 with a Bearer challenge.
    for auth in [
        None,
        Some("Bearer 0000000000000000000000000000000000000000000000000000000000000000".to_string()),
        Some(format!("Basic {token}")),
    ] {
        let mut h = vec![("Host", host.as_str())];
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        let (status, head, _) = post(&h);
        assert_eq!(status, 401, "{auth:?}: {head}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
    }

    // A foreign Origin (a web page the owner visits) or Host (DNS rebinding): 403, token or not.
    let (status, _, body) = post(&[
        ("Host", &host),
        ("Origin", "http://evil.example"),
        ("Authorization", &bearer),
    ]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Origin"), "{body}");
    let evil_host = format!("evil.example:{}", server.port);
    let (status, _, body) = post(&[("Host", &evil_host), ("Authorization", &bearer)]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Host"), "{body}");
    assert_eq!(
        post(&[("Host", "127.0.0.1"), ("Authorization", &bearer)]).0,
        403,
        "the port is part of the Host"
    );

    // Another path, or a session nobody created: 404.
    let (status, _, _) = server.raw(
        "GET",
        "/",
        &[("Host", &host), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 404);
    let (status, _, _) = post(&[
        ("Host", &host),
        ("Authorization", &bearer),
        ("Mcp-Session-Id", "not-a-session"),
    ]);
    assert_eq!(status, 404);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Spawns the server (the real binary) and sends raw HTTP/1.1 over loopback: a request target in
/// absolute-form is checked like the Host header. One naming another host is refused before
/// anything is served, even with a good Host and the owner's token; one naming this server as the
/// Host header does is served (RFC 9112 §3.2.2: a server must accept the absolute-form);
/// `CONNECT host:port` and `OPTIONS *` are refused as this server is not a proxy.
#[test]
fn spawned_http_server_checks_the_request_target_like_host() {
    let server = Server::start("target", &SERVE_HTTP, &[]);
    let host = format!("127.0.0.1:{}", server.port);
    let bearer = format!("Bearer {}", server.token());
    let post = |target: &str, host: &str| {
        server.raw(
            "POST",
            target,
            &[
                ("Host", host),
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            INIT,
        )
    };
    let nothing_served = |head: &str, body: &str| {
        assert!(
            !head.contains("mcp-session-id"),
            "a session was started: {head}"
        );
        assert!(
            !body.contains("jsonrpc") && !body.contains("\"portcullis\""),
            "MCP answered: {body}"
        );
    };

    // Another host in the target, with this server's Host and the owner's token: 403, not served.
    for target in [
        "http://evil.example/mcp".to_string(),
        format!("http://evil.example:{}/mcp", server.port),
        format!("http://user@127.0.0.1:{}/mcp", server.port),
        "http://127.0.0.1/mcp".to_string(),
    ] {
        let (status, head, body) = post(&target, &host);
        assert_eq!(status, 403, "{target}: {head}\n{body}");
        nothing_served(&head, &body);
        assert!(
            body.contains("request target") && body.contains("POST /mcp"),
            "{target}: {body}"
        );
    }

    // This server, named in the target as in the Host header: served like `POST /mcp`.
    let own = format!("http://127.0.0.1:{}/mcp", server.port);
    let (status, head, body) = post(&own, &host);
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(head.contains("mcp-session-id:"), "{head}");
    assert!(body.contains("\"portcullis\""), "{body}");
    // ... but not when the Host header names it another way (400), nor over another scheme (400).
    let local = format!("localhost:{}", server.port);
    let (status, head, body) = post(&own, &local);
    assert_eq!(status, 400, "{head}\n{body}");
    nothing_served(&head, &body);
    assert!(body.contains("Host header"), "{body}");
    let (status, head, body) = post(&format!("https://127.0.0.1:{}/mcp", server.port), &host);
    assert_eq!(status, 400, "{head}\n{body}");
    nothing_served(&head, &body);

    // Authority-form and asterisk-form: 400, saying this is not a proxy / where MCP is.
    let (status, head, body) = server.raw(
        "CONNECT",
        "evil.example:443",
        &[("Host", "evil.example:443"), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 400, "{head}\n{body}");
    assert!(body.contains("not a proxy"), "{body}");
    let (status, head, body) = server.raw(
        "OPTIONS",
        "*",
        &[("Host", &host), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 400, "{head}\n{body}");
    assert!(
        body.contains("OPTIONS *") && body.contains("/mcp"),
        "{body}"
    );

    // The refusals are logged, naming the host the target asked for.
    let log = server.stderr.lock().unwrap().clone();
    assert!(log.contains("refused POST evil.example/mcp"), "{log}");
}

#[test]
fn unsafe_settings_stop_the_server() {
    let home = temp_home("refuse");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = portcullis(&home, args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?} should fail");
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // Non-loopback: refused, saying why and how.
    let err = run(
        &[
            "serve",
            "--transport",
            "http",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        &[],
    );
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
    let err = run(
        &["serve"],
        &[
            ("AWS_API_MCP_TRANSPORT", "streamable-http"),
            ("AWS_API_MCP_HOST", "0.0.0.0"),
        ],
    );
    assert!(err.contains("--allow-remote"), "{err}");

    // Bad values name the variable and what it accepts.
    // (`http` is accepted, as the flag spells it: tests/migration.rs.)
    let err = run(&["serve"], &[("AWS_API_MCP_TRANSPORT", "websocket")]);
    assert!(
        err.contains("AWS_API_MCP_TRANSPORT") && err.contains("streamable-http"),
        "{err}"
    );
    let err = run(
        &["serve", "--transport", "http"],
        &[("AWS_API_MCP_PORT", "eighty")],
    );
    assert!(
        err.contains("AWS_API_MCP_PORT") && err.contains("0 to 65535"),
        "{err}"
    );
    let err = run(&SERVE_HTTP, &[("AWS_API_MCP_ALLOWED_ORIGINS", "*")]);
    assert!(err.contains("AWS_API_MCP_ALLOWED_ORIGINS"), "{err}");

    // A token file others can read: refused, with the fix; its contents are not printed.
    let token_file = home.join("token");
    std::fs::write(&token_file, "a-token-that-others-could-read-0123456789\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = SERVE_HTTP.to_vec();
    args.extend(["--token-file", token_file.to_str().unwrap()]);
    let err = run(&args, &[]);
    assert!(
        err.contains("chmod 600") && err.contains(token_file.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("a-token-that-others"), "{err}");
    let _ = std::fs::remove_dir_all(&home);
}
