//! MCP over stdio: newline-delimited JSON-RPC on one pipe pair, many requests in flight at once,
//! responses matched to requests by id. [`StdioServer`] starts the server program; a
//! [`StdioClient`] works on any reader and writer (tests use an in-memory pipe).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot};

use super::stats::Outcome;

type Pending = Mutex<HashMap<u64, oneshot::Sender<Value>>>;

/// The client side of a stdio MCP connection.
pub struct StdioClient {
    out: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    pending: Arc<Pending>,
    closed: Arc<AtomicBool>,
}

impl StdioClient {
    /// Starts the reader and writer tasks on `reader` (the server's stdout) and `writer` (its
    /// stdin). Must be called inside a Tokio runtime.
    pub fn start<R, W>(reader: R, writer: W) -> Arc<StdioClient>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
        let pending: Arc<Pending> = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(write_lines(writer, rx));
        // The reader answers server requests through a weak sender, so that `close` ends the writer.
        tokio::spawn(read_lines(
            reader,
            tx.downgrade(),
            pending.clone(),
            closed.clone(),
        ));
        Arc::new(StdioClient {
            out: Mutex::new(Some(tx)),
            pending,
            closed,
        })
    }

    fn send(&self, line: Bytes) -> bool {
        match self.out.lock() {
            Ok(out) => out.as_ref().is_some_and(|tx| tx.send(line).is_ok()),
            Err(_) => false,
        }
    }

    /// Sends a request (one JSON-RPC message, no newline) with id `id`; its response.
    pub async fn request(&self, id: u64, message: Bytes) -> Result<Value, Outcome> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        if self.closed.load(Ordering::SeqCst) || !self.send(message) {
            self.forget(id);
            return Err(Outcome::Transport("server closed the pipe".into()));
        }
        rx.await
            .map_err(|_| Outcome::Transport("server closed stdout".into()))
    }

    /// Sends a notification.
    pub fn notify(&self, message: Bytes) -> bool {
        self.send(message)
    }

    /// Stops waiting for `id` (after a timeout).
    pub fn forget(&self, id: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
    }

    /// Closes the server's stdin (it should exit on EOF).
    pub fn close(&self) {
        if let Ok(mut out) = self.out.lock() {
            out.take();
        }
    }

    /// `initialize` then `notifications/initialized`.
    pub async fn initialize(&self, id: u64, protocol_version: &str) -> anyhow::Result<()> {
        let reply = self
            .request(id, super::initialize_message(id, protocol_version))
            .await
            .map_err(|o| anyhow::anyhow!("initialize: {o:?}"))?;
        if reply.get("result").is_none() {
            anyhow::bail!("initialize: no result: {reply}");
        }
        if !self.notify(super::initialized_message()) {
            anyhow::bail!("notifications/initialized: the pipe is closed");
        }
        Ok(())
    }
}

/// Writes queued messages, a line each; a batch of them per flush.
async fn write_lines<W: AsyncWrite + Unpin>(writer: W, mut rx: mpsc::UnboundedReceiver<Bytes>) {
    let mut w = BufWriter::new(writer);
    while let Some(line) = rx.recv().await {
        let mut next = Some(line);
        while let Some(line) = next {
            if w.write_all(&line).await.is_err() || w.write_all(b"\n").await.is_err() {
                return;
            }
            next = rx.try_recv().ok();
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

/// Reads the server's lines: responses go to their waiting request, requests from the server are
/// answered (`ping` with `{}`, anything else with "method not found"), the rest is ignored.
async fn read_lines<R: AsyncRead + Unpin>(
    reader: R,
    out: mpsc::WeakUnboundedSender<Bytes>,
    pending: Arc<Pending>,
    closed: Arc<AtomicBool>,
) {
    let mut r = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let id = msg.get("id").cloned();
        match (msg.get("method").and_then(Value::as_str), id) {
            (Some(method), Some(id)) => {
                let reply = if method == "ping" {
                    json!({"jsonrpc": "2.0", "id": id, "result": {}})
                } else {
                    json!({"jsonrpc": "2.0", "id": id,
                           "error": {"code": -32601, "message": "not supported by the load generator"}})
                };
                if let Some(out) = out.upgrade() {
                    let _ = out.send(Bytes::from(reply.to_string()));
                }
            }
            (None, Some(id)) => {
                let waiter = id
                    .as_u64()
                    .and_then(|id| pending.lock().ok().and_then(|mut p| p.remove(&id)));
                if let Some(tx) = waiter {
                    let _ = tx.send(msg);
                }
            }
            _ => {} // notifications
        }
    }
    closed.store(true, Ordering::SeqCst);
    if let Ok(mut p) = pending.lock() {
        p.clear(); // the waiting requests see the pipe closed
    }
}

/// A server program started with its stdin and stdout piped to a [`StdioClient`]; killed when
/// dropped.
// The load generator's stdio mode measures a server it must start: this is that one program.
#[allow(clippy::disallowed_types)]
pub struct StdioServer {
    child: std::process::Child,
    pub client: Arc<StdioClient>,
}

impl StdioServer {
    /// Starts `program args…`; its stderr goes to `stderr_to` (appended) or nowhere.
    // The load generator's stdio mode measures a server it must start: this is that one program.
    #[allow(clippy::disallowed_types, clippy::disallowed_methods)]
    pub fn spawn(
        program: &Path,
        args: &[String],
        stderr_to: Option<&Path>,
    ) -> anyhow::Result<Self> {
        use std::process::{Command, Stdio};
        let stderr = match stderr_to {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("open {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {}", program.display()))?;
        let pipes = child.stdin.take().zip(child.stdout.take());
        let Some((stdin, stdout)) = pipes else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{}: no pipes", program.display());
        };
        let writer =
            tokio::net::unix::pipe::Sender::from_owned_fd(stdin.into()).context("stdin pipe")?;
        let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(stdout.into())
            .context("stdout pipe")?;
        Ok(StdioServer {
            child,
            client: StdioClient::start(reader, writer),
        })
    }

    /// The program's path as given, for reports.
    pub fn describe(program: &Path, args: &[String]) -> String {
        let mut s = PathBuf::from(program).display().to_string();
        for a in args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        self.client.close();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
