//! The MCP client side of the scenarios: `tools/call` over one keep-alive connection
//! ([`HttpConn`]), each reply reduced to the status Portcullis gave the command (`denied`,
//! `success`, `error:ThrottlingException`, `breaker_open`, `overloaded`, `rate_limited`, …) or to
//! what went wrong on the way (`http_503`, `transport`, `timeout`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::load::http::{Endpoint, HttpConn};
use crate::load::stats::Outcome;

/// What one call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    /// See the module docs.
    pub status: String,
    /// The refusal's `retry_after_ms`, if the call was refused by a limit.
    pub retry_after_ms: Option<u64>,
    /// A JSON-RPC response came back (the call reached the tool and should be audited).
    pub answered: bool,
}

/// Statuses meaning a limit refused the call without running it.
pub fn is_limit_refusal(status: &str) -> bool {
    matches!(status, "overloaded" | "rate_limited" | "breaker_open")
}

/// The status of a JSON-RPC response to `tools/call`.
pub fn classify_reply(msg: &Value) -> (String, Option<u64>) {
    if let Some(err) = msg.get("error") {
        let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
        return (format!("rpc_error:{code}"), None);
    }
    let Some(result) = msg.get("result") else {
        return ("transport".into(), None);
    };
    if let Some(item) = result.pointer("/structuredContent/results/0") {
        let status = item
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let retry = item.get("retry_after_ms").and_then(Value::as_u64);
        let status = match item.get("error_code").and_then(Value::as_str) {
            Some(code) if status == "error" => format!("error:{code}"),
            _ => status.to_string(),
        };
        return (status, retry);
    }
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return ("tool_error".into(), None);
    }
    ("ok".into(), None)
}

/// `tools/call` bodies with fresh ids.
#[derive(Clone)]
pub struct CallBody {
    params: Arc<str>,
    ids: Arc<AtomicU64>,
}

impl CallBody {
    /// Calls of `tool` with `{"cli_command": command}`.
    pub fn new(tool: &str, command: &str, ids: Arc<AtomicU64>) -> CallBody {
        CallBody {
            params: json!({"name": tool, "arguments": {"cli_command": command}})
                .to_string()
                .into(),
            ids,
        }
    }

    pub fn next(&self) -> (u64, Bytes) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        (
            id,
            Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{}}}"#,
                self.params
            )),
        )
    }
}

/// Sends one call on `conn` and waits at most `timeout`; the result and the round trip.
pub async fn call(
    conn: &mut HttpConn,
    body: &CallBody,
    timeout: Duration,
) -> (CallResult, Duration) {
    let (id, bytes) = body.next();
    let start = Instant::now();
    let result = match tokio::time::timeout(timeout, conn.post(bytes, Some(id), true)).await {
        Err(_) => {
            conn.disconnect();
            CallResult {
                status: "timeout".into(),
                retry_after_ms: None,
                answered: false,
            }
        }
        Ok(Err(outcome)) => CallResult {
            status: match outcome {
                Outcome::Refused(_) => "refused".into(),
                _ => "transport".into(),
            },
            retry_after_ms: None,
            answered: false,
        },
        Ok(Ok(reply)) => match (reply.status, reply.message) {
            (200, Some(msg)) => {
                let (status, retry_after_ms) = classify_reply(&msg);
                CallResult {
                    status,
                    retry_after_ms,
                    answered: true,
                }
            }
            (200, None) => CallResult {
                status: "transport".into(),
                retry_after_ms: None,
                answered: false,
            },
            (s, _) => CallResult {
                status: format!("http_{s}"),
                retry_after_ms: None,
                answered: false,
            },
        },
    };
    (result, start.elapsed())
}

/// A connection with its own, initialized session.
pub async fn session(endpoint: &Arc<Endpoint>, ids: &AtomicU64) -> anyhow::Result<HttpConn> {
    let mut conn = HttpConn::new(endpoint.clone(), None);
    conn.initialize(ids.fetch_add(1, Ordering::Relaxed)).await?;
    Ok(conn)
}

/// `n` connections speaking in the session of `base` (connected before timing starts).
pub async fn connections(
    endpoint: &Arc<Endpoint>,
    base: &HttpConn,
    n: usize,
) -> anyhow::Result<Vec<HttpConn>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = HttpConn::new(endpoint.clone(), base.session.clone());
        conn.connect()
            .await
            .map_err(|o| anyhow::anyhow!("connect: {o:?}"))?;
        out.push(conn);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_statuses() {
        let denied = json!({"jsonrpc":"2.0","id":2,"result":{"content":[],"structuredContent":{"results":[{"command":"aws sqs create-queue","status":"denied","error":"no"}]},"isError":true}});
        assert_eq!(classify_reply(&denied), ("denied".into(), None));
        let open = json!({"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"results":[{"status":"breaker_open","retry_after_ms":4200}]},"isError":true}});
        assert_eq!(classify_reply(&open), ("breaker_open".into(), Some(4200)));
        let throttled = json!({"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"results":[{"status":"error","error_code":"ThrottlingException"}]},"isError":true}});
        assert_eq!(
            classify_reply(&throttled),
            ("error:ThrottlingException".into(), None)
        );
        let ok = json!({"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"results":[{"status":"success","error_code":"ignored"}]}}});
        assert_eq!(classify_reply(&ok).0, "success");
        let check = json!({"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"ok":true},"isError":false}});
        assert_eq!(classify_reply(&check).0, "ok");
        let bad = json!({"jsonrpc":"2.0","id":2,"result":{"content":[],"isError":true}});
        assert_eq!(classify_reply(&bad).0, "tool_error");
        let rpc = json!({"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"x"}});
        assert_eq!(classify_reply(&rpc).0, "rpc_error:-32602");
        assert!(is_limit_refusal("breaker_open") && !is_limit_refusal("denied"));
    }

    #[test]
    fn call_bodies() {
        let b = CallBody::new(
            "call_aws",
            "aws sqs list-queues",
            Arc::new(AtomicU64::new(9)),
        );
        let (id, bytes) = b.next();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((id, v["id"].as_u64()), (9, Some(9)));
        assert_eq!(
            v["params"]["arguments"]["cli_command"],
            "aws sqs list-queues"
        );
        assert_eq!(b.next().0, 10);
    }
}
