//! Outcomes, their tally, percentiles and the report of one level.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A result that is not an error.
    Ok,
    /// `result.isError == true`; the start of its text (the kind of error).
    ToolError(String),
    /// A JSON-RPC `error`; its code.
    RpcError(i64),
    /// An HTTP status other than 200 (and other than the refusals below).
    Http(u16),
    /// The server refused: connection refused, HTTP 429 or 503.
    Refused(String),
    /// No answer: connect or I/O error, reset, timeout, unparsable reply.
    Transport(String),
}

/// How many characters of a tool error's text name its kind.
pub const KIND_CHARS: usize = 60;

/// Classifies a JSON-RPC response message.
pub fn classify(msg: &Value) -> Outcome {
    if let Some(err) = msg.get("error") {
        return Outcome::RpcError(err.get("code").and_then(Value::as_i64).unwrap_or(0));
    }
    let Some(result) = msg.get("result") else {
        return Outcome::Transport("a message with neither result nor error".into());
    };
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        let text = result
            .pointer("/content/0/text")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Outcome::ToolError(kind(text));
    }
    Outcome::Ok
}

/// The first [`KIND_CHARS`] characters of `text`, whitespace runs collapsed.
pub fn kind(text: &str) -> String {
    text.split_whitespace()
        .flat_map(|word| std::iter::once(' ').chain(word.chars()))
        .skip(1)
        .take(KIND_CHARS)
        .collect()
}

/// The nearest-rank percentile `p` (0–100) of ascending `sorted`; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Distinct kinds kept per map before the rest are lumped as `(other)`.
const MAX_KINDS: usize = 32;

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, other: K) {
    if map.len() >= MAX_KINDS && !map.contains_key(&key) {
        *map.entry(other).or_default() += 1;
    } else {
        *map.entry(key).or_default() += 1;
    }
}

/// Counts and latencies of a set of requests.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub ok: u64,
    pub tool_error: u64,
    pub rpc_error: u64,
    pub http_error: u64,
    pub transport_error: u64,
    pub refused: u64,
    /// Open loop: scheduled requests never sent because too many were in flight.
    pub dropped: u64,
    /// HTTP: connections opened anew during the level (keep-alive lost: the server closed one,
    /// or a reply did not end in time after its response).
    pub reconnects: u64,
    pub tool_errors: BTreeMap<String, u64>,
    pub rpc_errors: BTreeMap<i64, u64>,
    pub http_statuses: BTreeMap<u16, u64>,
    pub transport_errors: BTreeMap<String, u64>,
    pub refusals: BTreeMap<String, u64>,
    /// Nanoseconds, one per completed request.
    pub latencies: Vec<u64>,
}

impl Tally {
    pub fn record(&mut self, outcome: &Outcome, latency: Duration) {
        self.latencies
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::ToolError(k) => {
                self.tool_error += 1;
                bump(&mut self.tool_errors, k.clone(), "(other)".into());
            }
            Outcome::RpcError(c) => {
                self.rpc_error += 1;
                bump(&mut self.rpc_errors, *c, i64::MIN);
            }
            Outcome::Http(s) => {
                self.http_error += 1;
                bump(&mut self.http_statuses, *s, 0);
            }
            Outcome::Refused(k) => {
                self.refused += 1;
                bump(&mut self.refusals, k.clone(), "(other)".into());
            }
            Outcome::Transport(k) => {
                self.transport_error += 1;
                bump(&mut self.transport_errors, k.clone(), "(other)".into());
            }
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.tool_error += other.tool_error;
        self.rpc_error += other.rpc_error;
        self.http_error += other.http_error;
        self.transport_error += other.transport_error;
        self.refused += other.refused;
        self.dropped += other.dropped;
        self.reconnects += other.reconnects;
        for (k, n) in other.tool_errors {
            *self.tool_errors.entry(k).or_default() += n;
        }
        for (k, n) in other.rpc_errors {
            *self.rpc_errors.entry(k).or_default() += n;
        }
        for (k, n) in other.http_statuses {
            *self.http_statuses.entry(k).or_default() += n;
        }
        for (k, n) in other.transport_errors {
            *self.transport_errors.entry(k).or_default() += n;
        }
        for (k, n) in other.refusals {
            *self.refusals.entry(k).or_default() += n;
        }
        self.latencies.extend(other.latencies);
    }

    /// The report over `elapsed` (what the request rate is computed over).
    pub fn report(mut self, label: &str, connections: usize, elapsed: Duration) -> LevelReport {
        self.latencies.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        let requests = self.latencies.len() as u64;
        let secs = elapsed.as_secs_f64();
        LevelReport {
            label: label.to_string(),
            connections,
            requests,
            elapsed,
            rps: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(percentile(&self.latencies, 50.0)),
            p90_ms: ms(percentile(&self.latencies, 90.0)),
            p99_ms: ms(percentile(&self.latencies, 99.0)),
            max_ms: ms(self.latencies.last().copied().unwrap_or(0)),
            tally: Tally {
                latencies: Vec::new(),
                ..self
            },
        }
    }
}

/// One line of the results: a connection level (closed loop) or a phase of the rate schedule.
#[derive(Debug, Clone)]
pub struct LevelReport {
    /// `closed`, or `open N/s` for a phase of the schedule.
    pub label: String,
    pub connections: usize,
    /// Completed requests (answered or failed), the dropped aside.
    pub requests: u64,
    pub elapsed: Duration,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The counts (its latencies emptied).
    pub tally: Tally,
}

impl LevelReport {
    pub fn table_header() -> String {
        format!(
            "{:<12} {:>5} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7}",
            "mode",
            "conns",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "ok",
            "tool-err",
            "rpc-err",
            "http-err",
            "transp",
            "refused"
        )
    }

    pub fn table_row(&self) -> String {
        let t = &self.tally;
        let mut row = format!(
            "{:<12} {:>5} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7}",
            self.label,
            self.connections,
            self.requests,
            self.rps,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            t.ok,
            t.tool_error,
            t.rpc_error,
            t.http_error,
            t.transport_error,
            t.refused
        );
        if t.dropped > 0 {
            row.push_str(&format!("  (+{} dropped)", t.dropped));
        }
        row
    }

    /// What the errors were, one line each (indented, for under the row).
    pub fn details(&self) -> Vec<String> {
        let t = &self.tally;
        let mut out = Vec::new();
        for (k, n) in &t.tool_errors {
            out.push(format!("    tool error ×{n}: {k}"));
        }
        for (k, n) in &t.rpc_errors {
            out.push(format!("    JSON-RPC error ×{n}: code {k}"));
        }
        for (k, n) in &t.http_statuses {
            out.push(format!("    HTTP ×{n}: {k}"));
        }
        for (k, n) in &t.refusals {
            out.push(format!("    refused ×{n}: {k}"));
        }
        for (k, n) in &t.transport_errors {
            out.push(format!("    transport ×{n}: {k}"));
        }
        if t.reconnects > 0 {
            out.push(format!(
                "    reconnects: {} (keep-alive lost)",
                t.reconnects
            ));
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let t = &self.tally;
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "label": self.label,
            "connections": self.connections,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed.as_secs_f64()),
            "rps": round(self.rps),
            "latency_ms": {
                "p50": round(self.p50_ms), "p90": round(self.p90_ms),
                "p99": round(self.p99_ms), "max": round(self.max_ms),
            },
            "ok": t.ok,
            "tool_error": t.tool_error,
            "rpc_error": t.rpc_error,
            "http_error": t.http_error,
            "transport_error": t.transport_error,
            "refused": t.refused,
            "dropped": t.dropped,
            "reconnects": t.reconnects,
            "tool_errors": t.tool_errors,
            "rpc_errors": t.rpc_errors.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "http_statuses": t.http_statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "refusals": t.refusals,
            "transport_errors": t.transport_errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[7], 99.0), 7);
        // Ten values: p50 is the 5th, p90 the 9th, p99 the 10th.
        let v: Vec<u64> = (10..=100).step_by(10).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 100);
        assert_eq!(percentile(&v, 91.0), 100);
    }

    #[test]
    fn report_from_tally() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        for i in 1..=50u64 {
            a.record(&Outcome::Ok, Duration::from_millis(i));
        }
        for i in 51..=100u64 {
            b.record(
                &Outcome::ToolError("denied".into()),
                Duration::from_millis(i),
            );
        }
        b.record(
            &Outcome::Refused("http 503".into()),
            Duration::from_millis(1),
        );
        a.merge(b);
        let r = a.report("closed", 4, Duration::from_secs(2));
        assert_eq!(r.requests, 101);
        assert!((r.rps - 50.5).abs() < 1e-9);
        assert_eq!(r.p50_ms, 50.0);
        assert_eq!(r.p99_ms, 99.0);
        assert_eq!(r.max_ms, 100.0);
        assert_eq!(
            (r.tally.ok, r.tally.tool_error, r.tally.refused),
            (50, 50, 1)
        );
        assert_eq!(r.tally.tool_errors["denied"], 50);
        assert!(r.table_row().contains(" 50.5 "), "{}", r.table_row());
        assert!(r.table_row().contains(" 50.00 "), "{}", r.table_row());
        assert_eq!(r.to_json()["latency_ms"]["p90"], 90.0);
        assert_eq!(r.details().len(), 2);
    }

    #[test]
    fn classifies_messages() {
        let ok =
            json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"fine"}]}});
        assert_eq!(classify(&ok), Outcome::Ok);
        let tool = json!({"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[{"type":"text","text":"Denied:\n  the   policy says no, and this text goes on for quite a while past sixty characters"}]}});
        let Outcome::ToolError(k) = classify(&tool) else {
            panic!("not a tool error")
        };
        assert_eq!(k.chars().count(), KIND_CHARS);
        assert!(k.starts_with("Denied: the policy says no"), "{k}");
        let rpc = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}});
        assert_eq!(classify(&rpc), Outcome::RpcError(-32602));
        assert!(matches!(
            classify(&json!({"jsonrpc":"2.0","id":1})),
            Outcome::Transport(_)
        ));
    }

    #[test]
    fn kinds_are_bounded() {
        let mut t = Tally::default();
        for i in 0..100 {
            t.record(&Outcome::ToolError(format!("k{i}")), Duration::ZERO);
        }
        assert_eq!(t.tool_errors.len(), MAX_KINDS + 1);
        assert_eq!(t.tool_errors["(other)"], 100 - MAX_KINDS as u64);
    }
}
