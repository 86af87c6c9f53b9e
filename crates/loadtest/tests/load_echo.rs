//! The load generator's core against an in-process MCP-ish echo server (hyper, streamable HTTP:
//! `initialize` with a session header, `notifications/initialized` → 202, `tools/call` answered
//! as SSE or JSON by turns) and against an in-memory stdio echo server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portcullis_loadtest::load::stats::LevelReport;
use portcullis_loadtest::load::stdio::StdioClient;
use portcullis_loadtest::load::{Config, Phase, Sessions, Target, run};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const TOKEN: &str = "secret-token";

#[derive(Default)]
struct Echo {
    sessions: Mutex<HashSet<String>>,
    created: AtomicU64,
    deleted: AtomicU64,
    calls: AtomicU64,
    connections: AtomicU64,
}

/// The answer to one JSON-RPC request: echoes `cli_command`; `deny` in it makes a tool error,
/// `rpcerr` a JSON-RPC error.
fn answer(msg: &Value) -> Value {
    let id = msg["id"].clone();
    if msg["method"] == "initialize" {
        return json!({"jsonrpc":"2.0","id":id,"result":{
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "echo", "version": "1"}}});
    }
    let cmd = msg["params"]["arguments"]["cli_command"]
        .as_str()
        .unwrap_or("");
    if cmd.contains("rpcerr") {
        return json!({"jsonrpc":"2.0","id":id,"error":{"code":-32602,"message":"bad"}});
    }
    let denied = cmd.contains("deny");
    let text = if denied {
        format!("Denied by policy: {cmd}")
    } else {
        cmd.to_string()
    };
    json!({"jsonrpc":"2.0","id":id,"result":{
        "isError": denied, "content":[{"type":"text","text":text}]}})
}

fn reply(status: StatusCode, ctype: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn serve(
    echo: Arc<Echo>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if header("authorization").as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return Ok(reply(StatusCode::UNAUTHORIZED, "text/plain", "no".into()));
    }
    let session = header("mcp-session-id");
    let method = req.method().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    if method == http::Method::DELETE {
        let known = session
            .as_ref()
            .is_some_and(|s| echo.sessions.lock().unwrap().remove(s));
        if known {
            echo.deleted.fetch_add(1, Ordering::SeqCst);
        }
        return Ok(reply(StatusCode::OK, "text/plain", String::new()));
    }
    let msg: Value = serde_json::from_slice(&body).unwrap();
    if msg["method"] == "initialize" {
        let n = echo.created.fetch_add(1, Ordering::SeqCst);
        let id = format!("session-{n}");
        echo.sessions.lock().unwrap().insert(id.clone());
        let mut r = reply(StatusCode::OK, "application/json", answer(&msg).to_string());
        r.headers_mut()
            .insert("mcp-session-id", id.parse().unwrap());
        return Ok(r);
    }
    let known = session
        .as_ref()
        .is_some_and(|s| echo.sessions.lock().unwrap().contains(s));
    if !known {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no session".into(),
        ));
    }
    if msg.get("id").is_none() {
        return Ok(reply(StatusCode::ACCEPTED, "text/plain", String::new()));
    }
    let n = echo.calls.fetch_add(1, Ordering::SeqCst);
    let answer = answer(&msg).to_string();
    Ok(if n.is_multiple_of(2) {
        // A priming event, a notification, then the response, as rmcp streams it.
        let note = json!({"jsonrpc":"2.0","method":"notifications/message","params":{}});
        reply(
            StatusCode::OK,
            "text/event-stream",
            format!(
                "id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {note}\n\nevent: message\nid: 1\ndata: {answer}\n\n"
            ),
        )
    } else {
        reply(StatusCode::OK, "application/json", answer)
    })
}

async fn start_echo() -> (SocketAddr, Arc<Echo>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = Arc::new(Echo::default());
    let state = echo.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            state.connections.fetch_add(1, Ordering::SeqCst);
            let state = state.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| serve(state.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, echo)
}

fn config(target: Target, command: &str, levels: Vec<usize>) -> Config {
    Config {
        target,
        tool: "call_aws".into(),
        arguments: json!({ "cli_command": command }),
        protocol_version: "2025-06-18".into(),
        levels,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(50),
        max_requests: None,
        schedule: None,
        max_in_flight: 1000,
        timeout: Duration::from_secs(5),
    }
}

fn http(addr: SocketAddr, token: &str, sessions: Sessions) -> Target {
    Target::Http {
        url: format!("http://{addr}/mcp"),
        token: Some(token.into()),
        sessions,
    }
}

async fn run_all(config: &Config) -> Vec<LevelReport> {
    let mut seen = 0;
    let reports = tokio::time::timeout(Duration::from_secs(30), run(config, |_| seen += 1))
        .await
        .expect("the run is bounded")
        .expect("the run succeeds");
    assert_eq!(seen, reports.len());
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_over_http_with_a_shared_session() {
    let (addr, echo) = start_echo().await;
    let cfg = config(
        http(addr, TOKEN, Sessions::Shared),
        "aws sts get-caller-identity",
        vec![1, 4],
    );
    let reports = run_all(&cfg).await;
    assert_eq!(reports.len(), 2);
    for (r, n) in reports.iter().zip([1, 4]) {
        assert_eq!(r.connections, n);
        assert_eq!(r.label, "closed");
        assert!(r.requests > 10, "{r:?}");
        assert_eq!(r.tally.ok, r.requests, "{r:?}");
        assert_eq!(r.tally.reconnects, 0, "keep-alive held: {r:?}");
        assert!(r.rps > 0.0 && r.p50_ms > 0.0 && r.max_ms >= r.p99_ms && r.p99_ms >= r.p50_ms);
    }
    assert_eq!(echo.created.load(Ordering::SeqCst), 1, "one shared session");
    assert_eq!(echo.deleted.load(Ordering::SeqCst), 1, "ended at the end");
    // Keep-alive: the setup connection and one per client, never more.
    assert_eq!(echo.connections.load(Ordering::SeqCst), 1 + 1 + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_connection_sessions_and_error_classes() {
    let (addr, echo) = start_echo().await;
    let mut cfg = config(
        http(addr, TOKEN, Sessions::PerConnection),
        "aws iam delete-user --user-name deny",
        vec![2, 3],
    );
    cfg.max_requests = Some(25);
    let reports = run_all(&cfg).await;
    for r in &reports {
        assert_eq!(r.requests, 25, "capped: {r:?}");
        assert_eq!(r.tally.tool_error, 25, "{r:?}");
        assert_eq!(
            r.tally.tool_errors["Denied by policy: aws iam delete-user --user-name deny"],
            25
        );
    }
    assert_eq!(echo.created.load(Ordering::SeqCst), 5);
    assert_eq!(echo.deleted.load(Ordering::SeqCst), 5);

    cfg.arguments = json!({"cli_command": "rpcerr"});
    cfg.levels = vec![1];
    let r = &run_all(&cfg).await[0];
    assert_eq!(r.tally.rpc_error, 25);
    assert_eq!(r.tally.rpc_errors[&-32602], 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_the_run() {
    let (addr, _) = start_echo().await;
    let cfg = config(http(addr, "wrong", Sessions::Shared), "aws s3 ls", vec![1]);
    let err = run(&cfg, |_| {}).await.unwrap_err();
    assert!(format!("{err:#}").contains("HTTP 401"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_an_error_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cfg = config(http(addr, TOKEN, Sessions::Shared), "aws s3 ls", vec![1]);
    let err = run(&cfg, |_| {}).await.unwrap_err();
    assert!(format!("{err:#}").contains("refused"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_follows_the_schedule() {
    let (addr, _) = start_echo().await;
    let mut cfg = config(http(addr, TOKEN, Sessions::Shared), "aws s3 ls", vec![4]);
    cfg.warmup = Duration::ZERO;
    cfg.schedule = Some(vec![
        Phase {
            rate: 100.0,
            duration: Duration::from_millis(300),
        },
        Phase {
            rate: 400.0,
            duration: Duration::from_millis(250),
        },
    ]);
    let reports = run_all(&cfg).await;
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].label, "100/s 300ms");
    assert_eq!(reports[0].requests, 30, "{:?}", reports[0]);
    assert_eq!(reports[1].requests, 100, "{:?}", reports[1]);
    assert!(reports.iter().all(|r| r.tally.ok == r.requests));
}

/// A stdio MCP echo server on an in-memory pipe: each request answered on its own task after a
/// short delay, so that answers come back out of order.
fn stdio_echo() -> Arc<StdioClient> {
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let (client_read, client_write) = tokio::io::split(client_end);
    let (server_read, server_write) = tokio::io::split(server_end);
    let out = Arc::new(tokio::sync::Mutex::new(server_write));
    tokio::spawn(async move {
        let mut lines = BufReader::new(server_read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let msg: Value = serde_json::from_str(&line).unwrap();
            if msg.get("id").is_none() {
                continue;
            }
            let out = out.clone();
            tokio::spawn(async move {
                let delay = msg["id"].as_u64().unwrap_or(0) % 3;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let mut line = answer(&msg).to_string();
                line.push('\n');
                let _ = out.lock().await.write_all(line.as_bytes()).await;
            });
        }
    });
    StdioClient::start(client_read, client_write)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_over_a_stdio_pipe() {
    let cfg = config(Target::Pipe(stdio_echo()), "aws s3 ls", vec![1, 8]);
    let reports = run_all(&cfg).await;
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(r.requests > 10, "{r:?}");
        assert_eq!(r.tally.ok, r.requests, "{r:?}");
    }
    // Eight in flight at once on one pipe beat one at a time.
    assert!(reports[1].rps > reports[0].rps * 2.0, "{reports:?}");
}
