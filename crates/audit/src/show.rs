//! `show`: reads the trail back, filtered. It does not verify (that is `verify`'s job); lines
//! that are not records are yielded as errors so the caller can say so.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::codec::{now_ms, parse_rfc3339_ms};
use crate::error::AuditError;
use crate::record::{AuditRecord, DecisionOutcome, ExecStatus, RecordKind};
use crate::trail;

/// Which records to show. Empty fields match everything; all given fields must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Records at or after this time (ms since the epoch; see [`parse_time_arg`]).
    pub since_ms: Option<i64>,
    /// Records before this time.
    pub until_ms: Option<i64>,
    /// Records with any command decided so.
    pub decisions: Vec<DecisionOutcome>,
    /// Records with any command of this service.
    pub service: Option<String>,
    /// Records whose principal (the AWS identity) or user (the OAuth `iss#sub`) matches (`*` is a
    /// wildcard).
    pub principal: Option<String>,
    /// Records of this tool.
    pub tool: Option<String>,
    /// Records of these kinds.
    pub kinds: Vec<RecordKind>,
}

impl Filter {
    /// Whether `record` passes.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let event = &record.event;
        if self.since_ms.is_some() || self.until_ms.is_some() {
            let Some(t) = parse_rfc3339_ms(&record.time) else {
                return false;
            };
            if self.since_ms.is_some_and(|s| t < s) || self.until_ms.is_some_and(|u| t >= u) {
                return false;
            }
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&event.kind) {
            return false;
        }
        if !self.decisions.is_empty()
            && !event.commands.iter().any(|c| {
                c.decision
                    .as_ref()
                    .is_some_and(|d| self.decisions.contains(&d.outcome))
            })
        {
            return false;
        }
        if let Some(service) = &self.service
            && !event
                .commands
                .iter()
                .any(|c| c.service.as_deref() == Some(service.as_str()))
        {
            return false;
        }
        if let Some(pattern) = &self.principal
            && !event.principal.as_deref().is_some_and(|p| glob(pattern, p))
            && !event.user.as_deref().is_some_and(|u| glob(pattern, u))
        {
            return false;
        }
        if let Some(tool) = &self.tool
            && event.tool.as_deref() != Some(tool.as_str())
        {
            return false;
        }
        true
    }
}

/// `*` matches any run of characters; everything else literally, case-sensitively. The project's
/// one `*` matcher (policy patterns, the engine's endpoint allow-list) does the matching.
fn glob(pattern: &str, text: &str) -> bool {
    portcullis_netaddr::wildcard(pattern.as_bytes(), text.as_bytes(), |a, b| a == b)
}

/// Parses a `--since`/`--until` value: RFC 3339, `YYYY-MM-DD` (UTC), or an age before now
/// (`90s`, `15m`, `2h`, `7d`).
pub fn parse_time_arg(text: &str) -> Result<i64, AuditError> {
    let bad = || AuditError::BadTime(text.to_string());
    if let Some(ms) = parse_rfc3339_ms(text) {
        return Ok(ms);
    }
    let unit = text.chars().last().ok_or_else(bad)?;
    let scale: i64 = match unit {
        's' => 1000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return Err(bad()),
    };
    let n: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
    Ok(now_ms() - n.checked_mul(scale).ok_or_else(bad)?)
}

/// One record shown: the record, its line exactly as stored, and where it is.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The parsed record.
    pub record: AuditRecord,
    /// The line as stored (print this for JSON Lines output).
    pub line: String,
    /// File name.
    pub file: String,
    /// 1-based line number.
    pub line_no: u64,
}

impl Shown {
    /// One compact human line:
    /// `2026-11-24T07:57:22.123Z #42 tool_call call_aws principal=… s3api list-buckets allow ok 4ms 1234B`.
    pub fn compact(&self) -> String {
        let r = &self.record;
        let e = &r.event;
        let kind = match e.kind {
            RecordKind::Startup => "startup",
            RecordKind::Config => "config",
            RecordKind::ToolCall => "tool_call",
            RecordKind::Recovery => "recovery",
            RecordKind::Drift => "drift",
        };
        let mut out = format!("{} #{} {kind}", r.time, r.seq);
        if let Some(tool) = &e.tool {
            out.push(' ');
            out.push_str(tool);
        }
        if let Some(u) = &e.user {
            out.push_str(" user=");
            out.push_str(u);
        }
        if let Some(p) = &e.principal {
            out.push_str(" principal=");
            out.push_str(p);
        }
        if let Some(s) = &e.session {
            out.push_str(" session=");
            out.push_str(s);
        }
        for c in &e.commands {
            out.push_str(" |");
            for part in [&c.service, &c.operation, &c.region].into_iter().flatten() {
                out.push(' ');
                out.push_str(part);
            }
            if let Some(d) = &c.decision {
                out.push_str(match d.outcome {
                    DecisionOutcome::Allow => " allow",
                    DecisionOutcome::Consent => " consent",
                    DecisionOutcome::Deny => " deny",
                });
                if !d.rule_ids.is_empty() {
                    out.push_str(&format!("[{}]", d.rule_ids.join(",")));
                }
            }
            if let Some(c) = &c.consent {
                out.push_str(&format!(
                    " consent={}",
                    serde_json::to_value(c.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                ));
            }
            if let Some(x) = &c.execution {
                out.push_str(match x.status {
                    ExecStatus::Ok => " ok",
                    ExecStatus::Error => " error",
                    ExecStatus::NotRun => " not-run",
                    ExecStatus::Limited => " limited",
                });
                for part in [&x.error_code, &x.request_id].into_iter().flatten() {
                    out.push(' ');
                    out.push_str(part);
                }
            }
        }
        if let Some(err) = &e.error {
            out.push_str(" error=");
            out.push_str(&err.replace('\n', " "));
        }
        if let Some(us) = e.latency_us {
            out.push_str(&format!(" {:.1}ms", us as f64 / 1000.0));
        }
        if let Some(b) = e.response_bytes {
            out.push_str(&format!(" {b}B"));
        }
        if e.kind != RecordKind::ToolCall
            && let Some(d) = &e.detail
        {
            out.push(' ');
            out.push_str(&d.to_string());
        }
        out
    }
}

/// The records of the trail in `dir`, oldest first, that pass `filter`.
pub fn show(
    dir: &Path,
    filter: Filter,
) -> Result<impl Iterator<Item = Result<Shown, AuditError>> + use<>, AuditError> {
    let files = trail::list_files(dir).map_err(|e| AuditError::io("list", dir, e))?;
    Ok(ShowIter {
        dir: dir.to_path_buf(),
        files: files.into_iter(),
        current: None,
        filter,
    })
}

struct ShowIter {
    dir: PathBuf,
    files: std::vec::IntoIter<(u32, String)>,
    current: Option<(String, BufReader<File>, u64)>,
    filter: Filter,
}

impl Iterator for ShowIter {
    type Item = Result<Shown, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                let (_, name) = self.files.next()?;
                let path = self.dir.join(&name);
                match File::open(&path) {
                    Ok(f) => self.current = Some((name, BufReader::new(f), 0)),
                    Err(e) => return Some(Err(AuditError::io("open", path, e))),
                }
            }
            let (name, reader, line_no) = self.current.as_mut()?;
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => {
                    self.current = None;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    let path = self.dir.join(name.as_str());
                    self.current = None;
                    return Some(Err(AuditError::io("read", path, e)));
                }
            }
            *line_no += 1;
            if !line.ends_with('\n') {
                continue; // a torn final line: never acknowledged
            }
            line.pop();
            let record: AuditRecord = match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => {
                    return Some(Err(AuditError::Corrupt(format!(
                        "{name} line {line_no}: not a record ({e})"
                    ))));
                }
            };
            if self.filter.matches(&record) {
                return Some(Ok(Shown {
                    record,
                    line,
                    file: name.clone(),
                    line_no: *line_no,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("arn:aws:iam::*:role/*", "arn:aws:iam::123:role/x"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exact-not"));
        assert!(glob("*é*", "café au lait"));
        assert!(!glob("", "x"));
    }
}
