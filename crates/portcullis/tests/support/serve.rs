//! The binary as `portcullis serve --transport http` in a clean environment and a fresh HOME,
//! and raw HTTP/1.1 requests to it on loopback.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // test support drives programs
#![allow(dead_code)] // each suite uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The line the server prints once it listens, up to its port.
const SERVING: &str = "portcullis: serving MCP on http://127.0.0.1:";

/// A fresh directory `portcullis-{name}-{pid}-{nanos}` under the system's temporary directory.
pub fn temp_home(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let home =
        std::env::temp_dir().join(format!("portcullis-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Fake credentials, us-east-1, and no AWS configuration or credentials file.
pub const FAKE_AWS: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

/// The binary's command with a clean, sandboxed environment: HOME and the working directory
/// `home`, and [`FAKE_AWS`].
pub fn portcullis(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(FAKE_AWS)
        .env("AWS_API_MCP_WORKING_DIR", home);
    cmd
}

/// A server started by [`spawn`], once it said where it serves.
pub struct Spawned {
    pub child: Child,
    /// Its stderr so far (a thread reads the pipe).
    pub stderr: Arc<Mutex<String>>,
    pub port: u16,
    /// The rest of the line that said so, after the port (`/mcp (token file: ...)`).
    pub announced: String,
}

/// Starts `cmd` (a `portcullis serve --transport http`) with its stderr piped here, and waits
/// (60 s at most) for the line that says where it serves; if none comes, kills it and panics with
/// its stderr.
pub fn spawn(cmd: &mut Command) -> Spawned {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portcullis serve");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    let log = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.strip_prefix(SERVING) {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let Ok(rest) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let status = child.wait().unwrap();
        panic!(
            "the server did not report its address ({status}); stderr:\n{}",
            stderr.lock().unwrap()
        );
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Spawned {
        child,
        stderr,
        port: rest[..digits].parse().unwrap(),
        announced: rest[digits..].to_string(),
    }
}

/// A loopback connection to `port` whose reads time out after 10 s.
pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One request to `port` on its own connection (`Connection: close`), with `headers` and `body`
/// (its `Content-Length` added); the response as read until the server closes the connection or
/// the read times out (an SSE response stays open: what arrives by then is enough).
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut s = connect(port);
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Resp::parse(&out)
}

/// A response: the status, the head (lowercase) and the body as read (chunked framing left in).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Resp {
    pub fn parse(raw: &[u8]) -> Resp {
        let text = String::from_utf8_lossy(raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        Resp {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }

    /// The value of the header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
    }
}
