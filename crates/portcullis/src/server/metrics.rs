//! Operator telemetry: counters and latency histograms fed by the record stage (one update per
//! tool call, from the same event the audit trail gets), served in the Prometheus text format on
//! `/metrics` in HTTP mode (behind the same Host/Origin checks and bearer token as `/mcp`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use portcullis_audit::{ConsentOutcome, DecisionOutcome, Event, ExecStatus};

/// Histogram bucket bounds, seconds.
const BOUNDS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BOUNDS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (b, bound) in self.buckets.iter_mut().zip(BOUNDS) {
            if secs <= bound {
                *b += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

/// Series are keyed by metric name and rendered label set.
#[derive(Default)]
struct Series {
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<Series>,
    /// The limits whose state is rendered with the rest (rates, breakers, concurrency).
    limits: Option<std::sync::Arc<crate::pipeline::limits::Limits>>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "portcullis_tool_calls_total",
        "counter",
        "Tool calls, by tool and whether the result was an error.",
    ),
    (
        "portcullis_commands_total",
        "counter",
        "AWS commands, by service, decision and execution status.",
    ),
    (
        "portcullis_consent_total",
        "counter",
        "Consent requests, by outcome.",
    ),
    (
        "portcullis_aws_errors_total",
        "counter",
        "Commands that ended in an error, by error code.",
    ),
    (
        "portcullis_audit_failures_total",
        "counter",
        "Tool calls whose audit record could not be written (result withheld).",
    ),
    (
        "portcullis_retries_total",
        "counter",
        "Retried AWS requests (attempts beyond the first), by service.",
    ),
    (
        "portcullis_call_duration_seconds",
        "histogram",
        "Tool call latency, from request to result, by tool.",
    ),
    (
        "portcullis_stage_seconds",
        "histogram",
        "Time spent in each pipeline stage: assess (parse, classify, decide), consent, execute, record.",
    ),
    (
        "portcullis_audit_write_seconds",
        "histogram",
        "Time to append (and sync) one audit record.",
    ),
];

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn lower<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Metrics {
    /// Metrics that also show the state of `limits`.
    pub fn with_limits(limits: std::sync::Arc<crate::pipeline::limits::Limits>) -> Metrics {
        Metrics {
            series: Mutex::default(),
            limits: Some(limits),
        }
    }

    /// Counts one tool call from its audit event; `call_secs` is its latency, `audit_secs` the
    /// time its record took (None when the record failed).
    pub fn observe(&self, event: &Event, is_error: bool, call_secs: f64, audit_secs: Option<f64>) {
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tool = label(event.tool.as_deref().unwrap_or("unknown"));
        *s.counters
            .entry((
                "portcullis_tool_calls_total",
                format!("tool=\"{tool}\",error=\"{is_error}\""),
            ))
            .or_default() += 1;
        for c in &event.commands {
            let decision = c
                .decision
                .as_ref()
                .map_or("none".to_string(), |d| match d.outcome {
                    DecisionOutcome::Allow => "allow".into(),
                    DecisionOutcome::Consent => "consent".into(),
                    DecisionOutcome::Deny => "deny".into(),
                });
            let status = c
                .execution
                .as_ref()
                .map_or("not_run".to_string(), |e| lower(&e.status));
            let service = label(c.service.as_deref().unwrap_or("unknown"));
            *s.counters
                .entry((
                    "portcullis_commands_total",
                    format!("service=\"{service}\",decision=\"{decision}\",status=\"{status}\""),
                ))
                .or_default() += 1;
            if let Some(consent) = &c.consent {
                let outcome = match consent.outcome {
                    ConsentOutcome::Approved => "approved",
                    ConsentOutcome::Declined => "declined",
                    ConsentOutcome::Cancelled => "cancelled",
                    ConsentOutcome::Unavailable => "unavailable",
                    ConsentOutcome::Expired => "expired",
                    ConsentOutcome::Failed => "failed",
                    ConsentOutcome::Pending => "pending",
                };
                *s.counters
                    .entry(("portcullis_consent_total", format!("outcome=\"{outcome}\"")))
                    .or_default() += 1;
            }
            if let Some(e) = &c.execution
                && e.status == ExecStatus::Error
            {
                let code = label(e.error_code.as_deref().unwrap_or("unknown"));
                *s.counters
                    .entry(("portcullis_aws_errors_total", format!("code=\"{code}\"")))
                    .or_default() += 1;
            }
        }
        s.histograms
            .entry((
                "portcullis_call_duration_seconds",
                format!("tool=\"{tool}\""),
            ))
            .or_default()
            .observe(call_secs);
        match audit_secs {
            Some(a) => s
                .histograms
                .entry(("portcullis_audit_write_seconds", String::new()))
                .or_default()
                .observe(a),
            None => {
                *s.counters
                    .entry(("portcullis_audit_failures_total", String::new()))
                    .or_default() += 1
            }
        }
    }

    /// Time one command (or call) spent in a pipeline stage.
    pub fn stage(&self, stage: &'static str, secs: f64) {
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.histograms
            .entry(("portcullis_stage_seconds", format!("stage=\"{stage}\"")))
            .or_default()
            .observe(secs);
    }

    /// Attempts beyond the first that a command's requests needed.
    pub fn retries(&self, service: &str, retries: u32) {
        if retries == 0 {
            return;
        }
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.counters
            .entry((
                "portcullis_retries_total",
                format!("service=\"{}\"", label(service)),
            ))
            .or_default() += u64::from(retries);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, labels), v) in &s.counters {
                if n == name {
                    let _ = writeln!(
                        out,
                        "{name}{} {v}",
                        if labels.is_empty() {
                            String::new()
                        } else {
                            format!("{{{labels}}}")
                        }
                    );
                }
            }
            for ((n, labels), h) in &s.histograms {
                if n != name {
                    continue;
                }
                let sep = if labels.is_empty() { "" } else { "," };
                for (count, bound) in h.buckets.iter().zip(BOUNDS) {
                    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
                let braces = if labels.is_empty() {
                    String::new()
                } else {
                    format!("{{{labels}}}")
                };
                let _ = writeln!(
                    out,
                    "{name}_sum{braces} {}\n{name}_count{braces} {}",
                    h.sum, h.count
                );
            }
        }
        drop(s);
        if let Some(limits) = &self.limits {
            limits.render_metrics(&mut out);
        }
        out
    }
}

impl crate::pipeline::Observer for Metrics {
    fn stage(&self, stage: &'static str, secs: f64) {
        Metrics::stage(self, stage, secs);
    }

    fn retries(&self, service: &str, retries: u32) {
        Metrics::retries(self, service, retries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_audit::{CommandEntry, DecisionInfo, ExecutionInfo};

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        let mut e = Event::tool_call("call_aws");
        e.commands.push(CommandEntry {
            service: Some("s3api".into()),
            decision: Some(DecisionInfo {
                outcome: DecisionOutcome::Allow,
                reasons: vec![],
                rule_ids: vec![],
            }),
            execution: Some(ExecutionInfo {
                status: ExecStatus::Error,
                http_status: Some(404),
                request_id: None,
                error_code: Some("NoSuchBucket".into()),
                message: None,
            }),
            ..CommandEntry::default()
        });
        m.observe(&e, true, 0.003, Some(0.0002));
        m.observe(
            &Event::tool_call("suggest_aws_commands"),
            false,
            0.0001,
            None,
        );
        let text = m.render();
        assert!(
            text.contains("portcullis_tool_calls_total{tool=\"call_aws\",error=\"true\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "portcullis_commands_total{service=\"s3api\",decision=\"allow\",status=\"error\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("portcullis_aws_errors_total{code=\"NoSuchBucket\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "portcullis_call_duration_seconds_bucket{tool=\"call_aws\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "portcullis_call_duration_seconds_bucket{tool=\"call_aws\",le=\"0.0025\"} 0"
            ),
            "{text}"
        );
        assert!(
            text.contains("portcullis_audit_write_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("portcullis_audit_failures_total 1"), "{text}");
        assert!(
            text.contains("# TYPE portcullis_call_duration_seconds histogram"),
            "{text}"
        );
        m.stage("execute", 0.02);
        m.retries("sts", 2);
        m.retries("sts", 0);
        let text = m.render();
        assert!(
            text.contains("portcullis_stage_seconds_bucket{stage=\"execute\",le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("portcullis_retries_total{service=\"sts\"} 2"),
            "{text}"
        );
    }
}
