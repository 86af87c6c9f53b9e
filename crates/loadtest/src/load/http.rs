//! MCP over streamable HTTP, one keep-alive HTTP/1.1 connection per [`HttpConn`]: hyper's
//! low-level client (no pool), `TCP_NODELAY`, one request at a time. Replies in
//! `text/event-stream` are read until the JSON-RPC response with the request's id, then drained so
//! that the connection can be used again; one that does not end soon is dropped and the next
//! request connects anew.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use super::sse::{SseParser, find_response};
use super::stats::Outcome;

/// How long the rest of a reply may take once its response was read, before the connection is
/// given up instead of reused.
const DRAIN: Duration = Duration::from_secs(1);

/// Where the MCP endpoint is and how to be let in.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub authority: String,
    /// The request path (`/mcp`).
    pub path: String,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// `mcp-protocol-version` sent after `initialize`, and the version asked for in it.
    pub protocol_version: String,
}

impl Endpoint {
    /// From `http://host:port/path` (only plain HTTP: this is for loopback).
    pub fn parse(url: &str, token: Option<String>, protocol_version: &str) -> anyhow::Result<Self> {
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("`{url}`: only http:// URLs are supported");
        }
        let Some(authority) = uri.authority() else {
            bail!("`{url}` names no host");
        };
        let authority = if authority.port().is_some() {
            authority.to_string()
        } else {
            format!("{}:80", authority.host())
        };
        let path = uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        Ok(Endpoint {
            authority,
            path,
            token,
            protocol_version: protocol_version.to_string(),
        })
    }
}

/// One HTTP reply: its status, session header and JSON-RPC response (if it carried one).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub session: Option<String>,
    pub message: Option<Value>,
}

/// One keep-alive connection and the MCP session it speaks in.
pub struct HttpConn {
    endpoint: std::sync::Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The `mcp-session-id` sent with each request (set by [`HttpConn::initialize`] or shared).
    pub session: Option<String>,
    /// TCP connections opened so far (1 when keep-alive held throughout).
    pub connects: u64,
}

impl HttpConn {
    pub fn new(endpoint: std::sync::Arc<Endpoint>, session: Option<String>) -> HttpConn {
        HttpConn {
            endpoint,
            sender: None,
            session,
            connects: 0,
        }
    }

    /// Opens the TCP connection now (before timing starts), unless open.
    pub async fn connect(&mut self) -> Result<(), Outcome> {
        if self.sender.is_none() {
            self.sender = Some(self.open().await?);
        }
        Ok(())
    }

    /// Forgets the connection (after a timeout its state is unknown); the next request reconnects.
    pub fn disconnect(&mut self) {
        self.sender = None;
    }

    async fn open(&mut self) -> Result<SendRequest<Full<Bytes>>, Outcome> {
        let stream = TcpStream::connect(&self.endpoint.authority)
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    Outcome::Refused("connection refused".into())
                } else {
                    Outcome::Transport(format!("connect: {}", e.kind()))
                }
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Outcome::Transport(hyper_kind(&e)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.connects += 1;
        Ok(sender)
    }

    /// A connection ready for a request: the open one, or a new one if the server closed it.
    async fn ready(&mut self) -> Result<SendRequest<Full<Bytes>>, Outcome> {
        if let Some(mut sender) = self.sender.take()
            && sender.ready().await.is_ok()
        {
            return Ok(sender);
        }
        let mut sender = self.open().await?;
        sender
            .ready()
            .await
            .map_err(|e| Outcome::Transport(hyper_kind(&e)))?;
        Ok(sender)
    }

    fn request(
        &self,
        method: Method,
        body: Bytes,
        in_session: bool,
    ) -> Result<Request<Full<Bytes>>, Outcome> {
        let ep = &self.endpoint;
        let mut req = Request::builder()
            .method(method)
            .uri(ep.path.as_str())
            .header(header::HOST, ep.authority.as_str())
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = &ep.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if in_session {
            req = req.header("mcp-protocol-version", ep.protocol_version.as_str());
            if let Some(session) = &self.session {
                req = req.header("mcp-session-id", session.as_str());
            }
        }
        req.body(Full::new(body))
            .map_err(|e| Outcome::Transport(format!("request: {e}")))
    }

    /// POSTs a JSON-RPC message; for a request (`id`), reads the reply until its response.
    /// `in_session`: send the session and protocol-version headers (all but `initialize`).
    pub async fn post(
        &mut self,
        body: Bytes,
        id: Option<u64>,
        in_session: bool,
    ) -> Result<Reply, Outcome> {
        let req = self.request(Method::POST, body, in_session)?;
        self.exchange(req, id).await
    }

    /// Ends the session (`DELETE`), best effort.
    pub async fn delete_session(&mut self) {
        if self.session.is_none() {
            return;
        }
        if let Ok(req) = self.request(Method::DELETE, Bytes::new(), true) {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.exchange(req, None)).await;
        }
    }

    /// Sends `req` on a ready connection: the connection (for the caller to keep once the reply
    /// is read) and the response.
    async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<(SendRequest<Full<Bytes>>, Response<Incoming>), Outcome> {
        let mut sender = self.ready().await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Outcome::Transport(hyper_kind(&e)))?;
        Ok((sender, resp))
    }

    async fn exchange(
        &mut self,
        req: Request<Full<Bytes>>,
        id: Option<u64>,
    ) -> Result<Reply, Outcome> {
        let (sender, resp) = self.send(req).await?;
        let status = resp.status().as_u16();
        let text = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let session = text("mcp-session-id");
        let sse = text("content-type").is_some_and(|c| c.starts_with("text/event-stream"));
        let mut body = resp.into_body();
        let (message, reusable) = if sse && status == 200 {
            read_sse(&mut body, id).await?
        } else {
            let bytes = read_whole(body).await?;
            let message = match id {
                Some(id) if status == 200 => find_response(&String::from_utf8_lossy(&bytes), id),
                _ => None,
            };
            (message, true)
        };
        if reusable {
            self.sender = Some(sender);
        }
        Ok(Reply {
            status,
            session,
            message,
        })
    }

    /// `GET path` on this connection (with the bearer token when `with_token`): the status and
    /// the body as text. For `/metrics`, `/healthz` and `/readyz`.
    pub async fn get_text(
        &mut self,
        path: &str,
        with_token: bool,
    ) -> Result<(u16, String), Outcome> {
        let ep = &self.endpoint;
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, ep.authority.as_str());
        if with_token && let Some(token) = &ep.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| Outcome::Transport(format!("request: {e}")))?;
        let (sender, resp) = self.send(req).await?;
        let status = resp.status().as_u16();
        let bytes = read_whole(resp.into_body()).await?;
        self.sender = Some(sender);
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// `initialize`, then `notifications/initialized`; keeps and returns the session id.
    pub async fn initialize(&mut self, id: u64) -> anyhow::Result<Option<String>> {
        let body = super::initialize_message(id, &self.endpoint.protocol_version);
        let reply = self
            .post(body, Some(id), false)
            .await
            .map_err(|o| anyhow::anyhow!("initialize: {o:?}"))?;
        if reply.status != 200 {
            bail!("initialize: HTTP {}", reply.status);
        }
        match &reply.message {
            Some(m) if m.get("result").is_some() => {}
            other => bail!("initialize: no result ({other:?})"),
        }
        self.session = reply.session.clone();
        let reply = self
            .post(super::initialized_message(), None, true)
            .await
            .map_err(|o| anyhow::anyhow!("notifications/initialized: {o:?}"))?;
        if !(200..300).contains(&reply.status) {
            bail!("notifications/initialized: HTTP {}", reply.status);
        }
        Ok(reply.session.or_else(|| self.session.clone()))
    }
}

/// Reads an event stream until the response with `id`; then drains the rest for [`DRAIN`].
/// The response, and whether the connection may be reused.
async fn read_sse(body: &mut Incoming, id: Option<u64>) -> Result<(Option<Value>, bool), Outcome> {
    let mut parser = SseParser::new();
    let mut found = None;
    while found.is_none() {
        match body.frame().await {
            None => {
                found = parser
                    .finish()
                    .and_then(|e| id.and_then(|id| find_response(&e.data, id)));
                return Ok((found, true));
            }
            Some(Err(e)) => return Err(Outcome::Transport(hyper_kind(&e))),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    found = parser
                        .push(data)
                        .into_iter()
                        .find_map(|e| id.and_then(|id| find_response(&e.data, id)));
                }
            }
        }
    }
    let drained = tokio::time::timeout(DRAIN, async {
        loop {
            match body.frame().await {
                None => return true,
                Some(Err(_)) => return false,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    Ok((found, drained == Ok(true)))
}

/// A short name for a hyper error: the I/O error kind under it, if any.
/// A reply's whole body.
async fn read_whole(body: Incoming) -> Result<Bytes, Outcome> {
    Ok(body
        .collect()
        .await
        .map_err(|e| Outcome::Transport(hyper_kind(&e)))?
        .to_bytes())
}

fn hyper_kind(e: &hyper::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionReset => "connection reset".into(),
                kind => format!("io: {kind}"),
            };
        }
        source = s.source();
    }
    if e.is_incomplete_message() {
        "connection closed before the response".into()
    } else if e.is_canceled() || e.is_closed() {
        "connection closed".into()
    } else {
        let mut s = e.to_string();
        s.truncate(60);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8000/mcp", None, "2025-06-18").unwrap();
        assert_eq!(
            (e.authority.as_str(), e.path.as_str()),
            ("127.0.0.1:8000", "/mcp")
        );
        let e = Endpoint::parse("http://localhost/mcp", Some("t".into()), "v").unwrap();
        assert_eq!(e.authority, "localhost:80");
        assert!(Endpoint::parse("https://127.0.0.1/mcp", None, "v").is_err());
        assert!(Endpoint::parse("not a url", None, "v").is_err());
    }
}
