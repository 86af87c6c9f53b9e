//! Server-sent events as MCP's streamable HTTP sends them (`text/event-stream`), parsed
//! incrementally (chunks split anywhere, `\n`, `\r\n` or `\r` line ends), and the JSON-RPC
//! response with a given id picked out of them.

use serde_json::Value;

/// One dispatched event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    /// `event:` (None for the default `message`).
    pub event: Option<String>,
    /// `id:`.
    pub id: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// An incremental parser: [`SseParser::push`] each body chunk, get the events completed by it.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Event,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds a chunk; the events it completes (a blank line ends an event).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(rel) = self.buf[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + rel;
            let next = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    // A `\r` at the end of the chunk may be half of `\r\n`: wait for more.
                    None => break,
                }
            } else {
                end + 1
            };
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            start = next;
            if let Some(event) = self.line(&line) {
                out.push(event);
            }
        }
        self.buf.drain(..start);
        out
    }

    /// The stream ended: an event whose closing blank line never came, if it has data.
    pub fn finish(&mut self) -> Option<Event> {
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
        let rest = rest.trim_end_matches('\r');
        if !rest.is_empty() {
            // A last line without its end: still a field.
            let _ = self.line(rest);
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.event.data.push_str(value);
                self.event.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event.event = Some(value.to_string()),
            "id" => self.event.id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let mut event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        if event.data.ends_with('\n') {
            event.data.pop();
        }
        Some(event)
    }
}

/// The JSON-RPC response (`result` or `error`) with id `id` in `data`, a message or a batch.
/// Requests and notifications from the server, other ids and non-JSON data give None.
pub fn find_response(data: &str, id: u64) -> Option<Value> {
    let v: Value = serde_json::from_str(data).ok()?;
    let is_it = |m: &Value| {
        m.get("id").and_then(Value::as_u64) == Some(id)
            && m.get("method").is_none()
            && (m.get("result").is_some() || m.get("error").is_some())
    };
    match v {
        Value::Array(items) => items.into_iter().find(is_it),
        m if is_it(&m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(chunks: &[&str]) -> Vec<Event> {
        let mut p = SseParser::new();
        let mut out: Vec<Event> = chunks.iter().flat_map(|c| p.push(c.as_bytes())).collect();
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_split_anywhere() {
        let text = "id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\nid: 1\n\n";
        let whole = all(&[text]);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].data, "");
        assert_eq!(whole[0].id.as_deref(), Some("0"));
        assert_eq!(whole[1].event.as_deref(), Some("message"));
        assert_eq!(whole[1].id.as_deref(), Some("1"));
        assert_eq!(whole[1].data, r#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
        // Byte by byte, the same events.
        let bytes: Vec<String> = text.chars().map(|c| c.to_string()).collect();
        let refs: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(all(&refs), whole);
    }

    #[test]
    fn line_ends_comments_and_multiline_data() {
        let events = all(&[": keep-alive\r\ndata: a\r", "\ndata:b\r\rdata: c\n\n"]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, "a\nb");
        assert_eq!(events[1].data, "c");
        // No data, no event; a field without a colon is a field with an empty value.
        assert!(all(&["id: 3\n\nevent: x\n\n"]).is_empty());
        assert_eq!(all(&["data\n\n"])[0].data, "");
        // An unterminated last event is still delivered at the end.
        assert_eq!(all(&["data: tail"])[0].data, "tail");
    }

    #[test]
    fn picks_the_response_by_id() {
        let ok = json!({"jsonrpc":"2.0","id":7,"result":{"content":[]}});
        assert_eq!(find_response(&ok.to_string(), 7), Some(ok.clone()));
        assert_eq!(find_response(&ok.to_string(), 8), None);
        let err = json!({"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"x"}});
        assert_eq!(find_response(&err.to_string(), 7), Some(err));
        // A server request with the same id number is not the response.
        let req = json!({"jsonrpc":"2.0","id":7,"method":"elicitation/create","params":{}});
        assert_eq!(find_response(&req.to_string(), 7), None);
        let note = json!({"jsonrpc":"2.0","method":"notifications/progress"});
        assert_eq!(find_response(&note.to_string(), 7), None);
        assert_eq!(find_response("", 7), None);
        let batch = json!([note, ok]);
        assert_eq!(find_response(&batch.to_string(), 7), Some(ok));
    }
}
