//! A scripted HTTP/1.1 server on 127.0.0.1 for the transport and retry tests (included by
//! `transport.rs` and `retry.rs` as a module; as a test target of its own it has no tests).
//!
//! It answers requests in order with the [`Reply`]s it was given, repeating the last one
//! when the script runs out, keeps connections alive, and records what it received.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with `Content-Length`.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A chunked response: the head, then the chunks, `every` apart.
    Chunked {
        status: u16,
        chunks: Vec<Vec<u8>>,
        every: Duration,
    },
    /// Read the request, never answer (keeps the connection open).
    Silent,
    /// Raw bytes, then close the connection.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Self {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.0".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// A JSON-protocol error body with this `__type`.
    pub fn json_error(status: u16, code: &str) -> Self {
        Reply::status(
            status,
            &format!(r#"{{"__type":"{code}","message":"scripted {code}"}}"#),
        )
    }
}

/// What the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
}

impl Server {
    pub async fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let next = Arc::new(AtomicUsize::new(0));
        let (seen2, conns2) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                conns2.fetch_add(1, Ordering::SeqCst);
                let (script, next, seen) = (script.clone(), next.clone(), seen2.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &script, &next, &seen).await;
                });
            }
        });
        Server {
            addr,
            seen,
            connections,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    script: &[Reply],
    next: &AtomicUsize,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        // Read one request: head up to the blank line, then Content-Length bytes.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_string();
        let target = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        seen.lock().unwrap().push(Seen {
            method,
            target,
            headers,
            body,
        });

        let i = next.fetch_add(1, Ordering::SeqCst);
        let reply = script[i.min(script.len() - 1)].clone();
        match reply {
            Reply::Http {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                stream.write_all(out.as_bytes()).await?;
                stream.write_all(&body).await?;
            }
            Reply::Chunked {
                status,
                chunks,
                every,
            } => {
                let out =
                    format!("HTTP/1.1 {status} Scripted\r\nTransfer-Encoding: chunked\r\n\r\n");
                stream.write_all(out.as_bytes()).await?;
                for c in chunks {
                    tokio::time::sleep(every).await;
                    stream
                        .write_all(format!("{:x}\r\n", c.len()).as_bytes())
                        .await?;
                    stream.write_all(&c).await?;
                    stream.write_all(b"\r\n").await?;
                }
                stream.write_all(b"0\r\n\r\n").await?;
            }
            Reply::Silent => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Reply::Raw(bytes) => {
                stream.write_all(&bytes).await?;
                stream.shutdown().await?;
                return Ok(());
            }
        }
    }
}
