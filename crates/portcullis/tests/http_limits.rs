//! The bounds of `portcullis serve --transport http`, against the real binary on an ephemeral
//! loopback port with raw HTTP/1.1: `/healthz` and `/readyz` answer without a token but only to
//! this server's Host; a client trickling its request head is cut after the header timeout (5 s)
//! while an idle keep-alive connection is kept; a body over 8 MiB gets 413 (declared or chunked)
//! and one of 7 MiB is read; connections over the per-peer cap (64 by default) or the total cap are
//! answered 503 and closed at once; a new session over the per-token quota ends the least recently
//! used idle session (404 afterwards) instead of being refused, a session with an open SSE stream
//! is never the one ended (nor is its stream cut by the timeouts), and only when every session is
//! busy is a new one refused (503). Every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives the binary

#[allow(dead_code)] // only `support::serve` is used here
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::serve::{Resp, Spawned, connect, portcullis, request, spawn, temp_home};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
const MIB: usize = 1024 * 1024;

/// A running `portcullis serve --transport http --port 0`, stopped (its home removed) on drop.
struct Server {
    child: Child,
    home: PathBuf,
    port: u16,
    token: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(tag: &str, env: &[(&str, &str)]) -> Server {
        let home = temp_home(&format!("http-limits-{tag}"));
        let mut cmd = portcullis(&home, &["serve", "--transport", "http", "--port", "0"]);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let Spawned {
            child,
            stderr,
            port,
            ..
        } = spawn(&mut cmd);
        let token_file = home.join(".local/state/portcullis/token");
        let token = std::fs::read_to_string(token_file)
            .unwrap()
            .trim()
            .to_string();
        Server {
            child,
            home,
            port,
            token,
            stderr,
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn connect(&self) -> TcpStream {
        connect(self.port)
    }

    /// One request on its own connection (`Connection: close`), its response read whole.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        request(self.port, method, path, headers, body)
    }

    /// A request with this server's Host and the owner's token, plus `extra` headers.
    fn mcp(&self, method: &str, extra: &[(&str, &str)], body: &str) -> Resp {
        let (host, bearer) = (self.host(), self.bearer());
        let mut h = vec![
            ("Host", host.as_str()),
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        h.extend_from_slice(extra);
        self.request(method, "/mcp", &h, body)
    }

    /// A new, initialized MCP session: its id.
    fn new_session(&self) -> String {
        let r = self.mcp("POST", &[], INIT);
        assert_eq!(r.status, 200, "initialize: {r:?}\n{}", self.log());
        let id = r
            .header("mcp-session-id")
            .expect("a session id")
            .to_string();
        let r = self.mcp("POST", &[("Mcp-Session-Id", &id)], INITIALIZED);
        assert_eq!(r.status, 202, "initialized: {r:?}");
        id
    }

    /// `ping` in session `id`: the status (200 with the answer, 404 once the session is gone).
    fn ping(&self, id: &str) -> u16 {
        let r = self.mcp("POST", &[("Mcp-Session-Id", id)], PING);
        if r.status == 200 {
            assert!(r.body.contains(r#""id":2"#), "{r:?}");
        }
        r.status
    }

    /// Opens the session's SSE stream (GET /mcp); the connection, once the head has arrived.
    fn open_stream(&self, id: &str) -> TcpStream {
        let mut s = self.connect();
        let req = format!(
            "GET /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {id}\r\n\r\n",
            self.host(),
            self.bearer()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "stream closed: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{head}"
        );
        s
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The log once it holds `text` (it is read from the pipe by another thread), 5 s at most.
    fn log_with(&self, text: &str) -> String {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            assert!(Instant::now() < end, "no `{text}` in the log:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Whether the server has closed `s`: EOF or a reset within `within` (an answer first is read).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    let end = Instant::now() + within;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) if Instant::now() < end => continue,
            Ok(_) => return false,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn probes_answer_without_a_token_but_only_to_this_servers_host() {
    let server = Server::start("probes", &[]);
    let host = server.host();
    for path in ["/healthz", "/readyz"] {
        let r = server.request("GET", path, &[("Host", &host)], "");
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{r:?}"
        );
        let want = if path == "/healthz" {
            "ok\n"
        } else {
            "ready\n"
        };
        assert_eq!(r.body, want, "{path}");
        // HEAD: the same status, no body.
        let r = server.request("HEAD", path, &[("Host", &host)], "");
        assert_eq!((r.status, r.body.as_str()), (200, ""), "{path}: {r:?}");
        // Other methods: 405.
        let r = server.request("POST", path, &[("Host", &host)], "{}");
        assert_eq!(r.status, 405, "{path}: {r:?}");
        assert_eq!(r.header("allow"), Some("get, head"), "{r:?}");
        // A foreign Host (DNS rebinding) or Origin: 403, as everywhere.
        let evil = format!("evil.example:{}", server.port);
        let r = server.request("GET", path, &[("Host", &evil)], "");
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert!(!r.body.contains("ok") && !r.body.contains("ready"), "{r:?}");
        let r = server.request(
            "GET",
            path,
            &[("Host", &host), ("Origin", "http://evil.example")],
            "",
        );
        assert_eq!(r.status, 403, "{path}: {r:?}");
        // The same server as an absolute-form target naming another host: 403.
        let r = server.request(
            "GET",
            &format!("http://evil.example{path}"),
            &[("Host", &host)],
            "",
        );
        assert_eq!(r.status, 403, "{path}: {r:?}");
    }
    // MCP and metrics still need the token.
    assert_eq!(
        server
            .request("GET", "/metrics", &[("Host", &host)], "")
            .status,
        401
    );
    assert_eq!(
        server
            .request("POST", "/mcp", &[("Host", &host)], INIT)
            .status,
        401
    );
}

#[test]
fn a_trickling_client_is_cut_after_5_s_and_an_idle_keep_alive_one_is_kept() {
    let server = Server::start("trickle", &[]);
    let host = server.host();

    // An idle keep-alive connection (a response, then nothing for 6.5 s) is kept: 60 s idle.
    let idle = {
        let mut s = server.connect();
        let host = host.clone();
        std::thread::spawn(move || {
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let mut answers = Vec::new();
            for round in 0..2 {
                if round == 1 {
                    std::thread::sleep(Duration::from_millis(6500));
                }
                if s.write_all(req.as_bytes()).is_err() {
                    return answers;
                }
                // "ok\n" with its Content-Length: the response ends with it.
                let mut got = Vec::new();
                let mut buf = [0u8; 512];
                while !got.ends_with(b"\r\n\r\nok\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return answers,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                answers.push(String::from_utf8_lossy(&got).into_owned());
            }
            answers
        })
    };

    // A head trickled a byte every 500 ms: cut 5 s after its first byte.
    let mut s = server.connect();
    let began = Instant::now();
    s.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .unwrap();
    let mut cut = None;
    while began.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(500));
        if s.write_all(b"X").is_err() || closed_within(&mut s, Duration::from_millis(20)) {
            cut = Some(began.elapsed());
            break;
        }
    }
    let cut = cut.unwrap_or_else(|| panic!("still open after 10 s:\n{}", server.log()));
    assert!(
        cut >= Duration::from_millis(4500) && cut <= Duration::from_millis(7500),
        "cut after {cut:?}, not about 5 s"
    );

    let answers = idle.join().unwrap();
    assert_eq!(
        answers.len(),
        2,
        "the idle keep-alive connection was closed: {answers:?}"
    );
    assert!(
        answers.iter().all(|a| a.starts_with("HTTP/1.1 200")),
        "{answers:?}"
    );
}

#[test]
fn request_bodies_over_8_mib_get_413_without_being_read_whole() {
    let server = Server::start("body", &[]);
    let (host, bearer) = (server.host(), server.bearer());
    let head = |framing: &str| {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nConnection: close\r\n{framing}\r\n"
        )
    };
    // Sends `head` then `body` from another thread, reading the answer meanwhile: the server may
    // answer (and close) before the body is all sent.
    let send = |head: String, body: Vec<u8>| -> Resp {
        let mut s = server.connect();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(head.as_bytes());
            for chunk in body.chunks(64 * 1024) {
                if w.write_all(chunk).is_err() {
                    return;
                }
            }
        });
        // Until the server closes (it answers `Connection: close`), 10 s at most per read.
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        drop(s);
        let _ = writer.join();
        Resp::parse(&out)
    };
    let message = "Payload Too Large: request bodies are limited to 8 MiB";

    // Declared by Content-Length: 413 at once.
    let body = vec![b' '; 9 * MIB];
    let began = Instant::now();
    let r = send(head(&format!("Content-Length: {}\r\n", body.len())), body);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.body.contains(message), "{r:?}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );

    // Chunked, with no length declared: 413 once the bytes read pass 8 MiB.
    let mut chunked = Vec::new();
    for _ in 0..9 * 16 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = send(head("Transfer-Encoding: chunked\r\n"), chunked);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.body.contains(message), "{r:?}");

    // 7 MiB (an initialize padded with spaces): read and served.
    let mut body = INIT.as_bytes().to_vec();
    body.extend(std::iter::repeat_n(b' ', 7 * MIB));
    let r = send(head(&format!("Content-Length: {}\r\n", body.len())), body);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.head.contains("mcp-session-id:"), "{r:?}");

    // The server still serves.
    assert_eq!(
        server
            .request("GET", "/healthz", &[("Host", &host)], "")
            .status,
        200
    );
}

#[test]
fn connections_over_the_caps_are_closed_at_once() {
    // The default per-peer cap: 64 connections from 127.0.0.1 stay open, the next ones are shut.
    let server = Server::start("conns", &[]);
    let mut open = Vec::new();
    for _ in 0..70 {
        open.push(server.connect());
    }
    let began = Instant::now();
    for (i, s) in open.iter_mut().enumerate().skip(64) {
        let mut answer = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        match s.read_to_end(&mut answer) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("connection {} not closed", i + 1)
            }
            // EOF, or a reset (the 503 possibly lost with it).
            Ok(_) | Err(_) => {}
        }
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 503"),
            "connection {}: {text}",
            i + 1
        );
    }
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    for (i, s) in open.iter_mut().enumerate().take(64) {
        assert!(
            !closed_within(s, Duration::from_millis(20)),
            "connection {} was closed",
            i + 1
        );
    }
    // Those over the cap were not served: one warning, counted, rather than one per connection.
    let log = server.log_with("connection(s) over the cap");
    assert_eq!(
        log.matches("connection(s) over the cap").count(),
        1,
        "{log}"
    );
    assert!(log.contains("64 connections per peer"), "{log}");
    // Once some close, new connections are served again.
    open.truncate(60);
    let host = server.host();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = server.connect();
        s.write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        if out.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < end,
            "not served again: {}",
            String::from_utf8_lossy(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(open);
    drop(server);

    // The total cap, set lower than the per-peer one.
    let server = Server::start("conns-total", &[("PORTCULLIS_MAX_CONNECTIONS", "3")]);
    let mut open: Vec<TcpStream> = (0..4).map(|_| server.connect()).collect();
    for s in &mut open[..3] {
        assert!(!closed_within(s, Duration::from_millis(200)));
    }
    assert!(closed_within(&mut open[3], Duration::from_secs(3)));
    assert!(
        server
            .log_with("3 connections in all")
            .contains("3 connections in all")
    );
}

#[test]
fn a_new_session_over_the_quota_ends_the_least_recently_used_idle_one() {
    let server = Server::start(
        "sessions",
        &[("PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL", "3")],
    );
    let s1 = server.new_session();
    let s2 = server.new_session();
    let s3 = server.new_session();
    // s1 has its SSE stream open: busy, though the oldest. s2 is used again: s3 is the least
    // recently used idle session.
    let mut stream1 = server.open_stream(&s1);
    let opened = Instant::now();
    assert_eq!(server.ping(&s2), 200);

    // A fourth session is not refused: s3 is ended to make room.
    let s4 = server.new_session();
    assert_eq!(server.ping(&s4), 200, "the new session works");
    assert_eq!(
        server.ping(&s3),
        404,
        "the least recently used idle session is gone"
    );
    assert_eq!(server.ping(&s2), 200);
    assert_eq!(server.ping(&s1), 200, "the busy session is kept");
    assert!(
        server
            .log_with("idle session(s) to make room")
            .contains("at the cap on the sessions of one token")
    );

    // Every session busy: a new one is refused (503), and none is ended.
    let stream2 = server.open_stream(&s2);
    let stream4 = server.open_stream(&s4);
    let r = server.mcp("POST", &[], INIT);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.body.contains("too many sessions"), "{r:?}");
    for id in [&s1, &s2, &s4] {
        assert_eq!(server.ping(id), 200);
    }
    // A 2026-07-28 client has no session: a full session table does not refuse it.
    let stateless = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"check_aws_command","arguments":{"cli_command":"aws sts get-caller-identity"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let r = server.mcp(
        "POST",
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "check_aws_command"),
        ],
        stateless,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("get-caller-identity"), "{r:?}");
    assert!(r.header("mcp-session-id").is_none(), "{r:?}");
    // Claiming 2026-07-28 on an `initialize` does not slip a session past the caps.
    let init = INIT.replace("2025-06-18", "2026-07-28");
    let r = server.mcp("POST", &[("mcp-protocol-version", "2026-07-28")], &init);
    assert!(r.header("mcp-session-id").is_none(), "{r:?}");
    assert_eq!(r.status, 503, "{r:?}");
    for id in [&s1, &s2, &s4] {
        assert_eq!(server.ping(id), 200);
    }
    // One stream closed: its session is idle again, and the one ended for the next.
    drop(stream4);
    let end = Instant::now() + Duration::from_secs(5);
    let s5 = loop {
        let r = server.mcp("POST", &[], INIT);
        if r.status == 200 {
            break r.header("mcp-session-id").unwrap().to_string();
        }
        assert_eq!(r.status, 503, "{r:?}");
        assert!(
            Instant::now() < end,
            "the closed stream did not free its session"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(server.ping(&s4), 404);
    assert_eq!(server.ping(&s2), 200);
    assert_eq!(server.ping(&s5), 200);

    // The open SSE stream outlives the 5 s header timeout: nothing cuts a response in progress.
    std::thread::sleep(Duration::from_millis(6000).saturating_sub(opened.elapsed()));
    assert!(
        !closed_within(&mut stream1, Duration::from_millis(200)),
        "the SSE stream was cut"
    );
    assert_eq!(server.ping(&s1), 200);
    drop(stream2);
}

/// The `portcullis_http_sessions` gauges: (live, asleep).
fn session_gauges(server: &Server) -> (u64, u64) {
    let r = server.request(
        "GET",
        "/metrics",
        &[
            ("Host", server.host().as_str()),
            ("Authorization", server.bearer().as_str()),
        ],
        "",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let gauge = |state: &str| -> u64 {
        let prefix = format!("portcullis_http_sessions{{state=\"{state}\"}} ");
        r.body
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {}", r.body))
            .trim()
            .parse()
            .unwrap()
    };
    (gauge("live"), gauge("asleep"))
}

#[test]
fn sessions_over_the_live_cap_sleep_and_their_next_request_wakes_them() {
    let server = Server::start("sleep", &[("PORTCULLIS_MAX_LIVE_SESSIONS", "2")]);
    let s1 = server.new_session();
    let s2 = server.new_session();
    assert_eq!(session_gauges(&server), (2, 0));
    // A third session: the least recently used idle one (s1) sleeps to make room.
    let s3 = server.new_session();
    assert_eq!(session_gauges(&server), (2, 1));
    // s1's next request wakes it, unnoticed by the client: the same session id answers, and a
    // tool call runs in it. s2, now the least recently used, sleeps in its place.
    assert_eq!(server.ping(&s1), 200, "{}", server.log());
    assert_eq!(session_gauges(&server), (2, 1));
    let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"check_aws_command","arguments":{"cli_command":"aws sts get-caller-identity"}}}"#;
    let r = server.mcp("POST", &[("Mcp-Session-Id", &s1)], call);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("get-caller-identity"), "{r:?}");
    for id in [&s2, &s3, &s1] {
        assert_eq!(server.ping(id), 200, "{id}");
    }
    assert_eq!(session_gauges(&server), (2, 1));
    // A session ended by its client stays ended: it is not woken.
    let r = server.mcp("DELETE", &[("Mcp-Session-Id", &s2)], "");
    assert!(r.status == 200 || r.status == 202, "{r:?}");
    assert_eq!(server.ping(&s2), 404);
}
