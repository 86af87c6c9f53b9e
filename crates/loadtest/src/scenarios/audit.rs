//! The server's audit trail as the scenarios read it: the `audit-*.jsonl` files (JSON Lines, one
//! record each) and what `portcullis audit verify` says of them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One `tool_call` record, the parts the scenarios look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRecord {
    pub seq: u64,
    pub tool: String,
    /// The first command's `execution.error_code` (`denied`, `breaker_open`, `checked`, …).
    pub code: Option<String>,
    /// The first command's `execution.status` (`not_run`, `success`, `error`).
    pub status: Option<String>,
    /// Server-side latency of the tool call.
    pub latency_us: Option<u64>,
}

/// What the trail holds.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// Lines that are records (of any kind).
    pub records: u64,
    /// Lines that did not parse as JSON (a torn last line, say).
    pub unparsable: u64,
    pub tool_calls: Vec<ToolRecord>,
}

impl Trail {
    /// Tool-call records by `error_code` (`-` for none).
    pub fn by_code(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in &self.tool_calls {
            *out.entry(r.code.clone().unwrap_or_else(|| "-".into()))
                .or_default() += 1;
        }
        out
    }
}

/// One line of a trail file: `Some(None)` for a record of another kind, `None` for no JSON.
pub fn parse_record(line: &str) -> Option<Option<ToolRecord>> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v.get("kind").and_then(Value::as_str) != Some("tool_call") {
        return Some(None);
    }
    let first = v.pointer("/commands/0/execution");
    let text = |p: Option<&Value>, key: &str| {
        p.and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(Some(ToolRecord {
        seq: v.get("seq").and_then(Value::as_u64).unwrap_or(0),
        tool: v
            .get("tool")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        code: text(first, "error_code"),
        status: text(first, "status"),
        latency_us: v.get("latency_us").and_then(Value::as_u64),
    }))
}

/// Reads every `audit-*.jsonl` file of `dir`, in name order.
pub fn read_trail(dir: &Path) -> std::io::Result<Trail> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    let mut trail = Trail::default();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match parse_record(line) {
                None => trail.unparsable += 1,
                Some(r) => {
                    trail.records += 1;
                    if let Some(r) = r {
                        trail.tool_calls.push(r);
                    }
                }
            }
        }
    }
    Ok(trail)
}

/// `audit trail OK: 4 records in 1 file(s), last seq 4` → (4 records, 1 file).
pub fn parse_verify(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.contains("audit trail OK"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let records = words
        .windows(2)
        .find(|w| w[1] == "records" || w[1] == "record")
        .and_then(|w| w[0].parse().ok())?;
    let files = words
        .windows(2)
        .find(|w| w[1].starts_with("file"))
        .and_then(|w| w[0].parse().ok())?;
    Some((records, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let call = r#"{"seq":3,"kind":"tool_call","tool":"call_aws","commands":[{"service":"sqs","execution":{"status":"not_run","error_code":"denied","message":"x"}}],"latency_us":631,"mac":"6"}"#;
        assert_eq!(
            parse_record(call),
            Some(Some(ToolRecord {
                seq: 3,
                tool: "call_aws".into(),
                code: Some("denied".into()),
                status: Some("not_run".into()),
                latency_us: Some(631),
            }))
        );
        let startup = r#"{"seq":1,"kind":"startup","detail":{}}"#;
        assert_eq!(parse_record(startup), Some(None));
        assert_eq!(parse_record(r#"{"seq":4,"kind":"tool_"#), None);
        // A call refused before any command (no commands): still a tool call.
        let bare = r#"{"seq":9,"kind":"tool_call","tool":"call_aws","latency_us":5}"#;
        let r = parse_record(bare).unwrap().unwrap();
        assert_eq!((r.code, r.latency_us), (None, Some(5)));
    }

    #[test]
    fn verify_output() {
        assert_eq!(
            parse_verify("audit trail OK: 4 records in 1 file(s), last seq 4\n"),
            Some((4, 1))
        );
        assert_eq!(
            parse_verify("audit trail OK: 120031 records in 3 file(s), last seq 120031"),
            Some((120031, 3))
        );
        assert_eq!(
            parse_verify("audit trail BROKEN at seq 7: mac mismatch"),
            None
        );
    }

    #[test]
    fn trail_files() {
        let dir = std::env::temp_dir().join(format!("pc-trail-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("audit-000001.jsonl"),
            "{\"seq\":1,\"kind\":\"startup\"}\n{\"seq\":2,\"kind\":\"tool_call\",\"tool\":\"call_aws\",\"commands\":[{\"execution\":{\"status\":\"not_run\",\"error_code\":\"breaker_open\"}}],\"latency_us\":40}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("audit-000002.jsonl"),
            "{\"seq\":3,\"kind\":\"tool_call\",\"tool\":\"check_aws_command\",\"commands\":[{\"execution\":{\"status\":\"not_run\",\"error_code\":\"checked\"}}],\"latency_us\":90}\n{\"seq\":4,\"ki",
        )
        .unwrap();
        std::fs::write(dir.join("audit.head"), "{}").unwrap();
        let t = read_trail(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((t.records, t.unparsable, t.tool_calls.len()), (3, 1, 2));
        assert_eq!(t.by_code()["breaker_open"], 1);
        assert_eq!(t.tool_calls[1].seq, 3);
    }
}
