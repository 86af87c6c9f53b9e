//! Resilience scenarios run against the release server (`portcullis-scenarios`): each starts a
//! `portcullis serve --transport http` process with a fresh temporary HOME, audit trail and
//! token, fault-injecting AWS stand-ins in this process ([`crate::faults::FaultServer`]) and MCP
//! clients over loopback, drives a bounded load through phases, prints its figures and judges
//! its criteria (PASS/FAIL).
//!
//! * [`spike`]: policy-only calls at a base rate, 10× for a few seconds, back;
//! * [`slowdown`]: one of two dependencies turns slow; the other's latency, both limits;
//! * [`throttle`]: a throttling storm; attempts, breaker, retry budget;
//! * [`harddown`]: a dependency refuses connections; fail-fast latency, `/readyz`;
//! * [`sessions`]: 10 000 idle MCP sessions; memory, a new session's latency, eviction.

pub mod audit;
pub mod harddown;
pub mod mcp;
pub mod procfs;
pub mod prom;
pub mod server;
pub mod sessions;
pub mod slowdown;
pub mod spike;
pub mod throttle;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::load::http::HttpConn;
use crate::load::stats::percentile;

use self::mcp::{CallBody, CallResult};

/// What every scenario is given.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The `portcullis` binary (the release build).
    pub bin: PathBuf,
    /// Shorter phases.
    pub quick: bool,
    /// Spike: the base rate (calls/s); the spike is 10×.
    pub spike_base: f64,
}

/// The scenarios, in the order they run.
pub const NAMES: [&str; 5] = ["spike", "slowdown", "throttle", "harddown", "sessions"];

/// One criterion's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: String,
    pub pass: bool,
    pub detail: String,
}

/// A scenario's verdicts (its figures are printed as they come).
#[derive(Debug, Default)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
}

impl Report {
    /// Judges one criterion and prints it.
    pub fn check(&mut self, name: &str, pass: bool, detail: String) {
        println!("  {} {name}: {detail}", if pass { "PASS" } else { "FAIL" });
        self.verdicts.push(Verdict {
            name: name.to_string(),
            pass,
            detail,
        });
    }

    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.pass)
    }
}

/// Prints a table: a header and rows, columns right-aligned (the first left-aligned).
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    for line in table(headers, rows) {
        println!("  {line}");
    }
}

/// The lines of a table (see [`print_table`]).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Milliseconds of nanoseconds, two decimals.
pub fn ms_ns(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1e6)
}

/// Percentiles of latencies: p50, p90, p99, max (nanoseconds; zeros when empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pcts {
    pub n: usize,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Pcts {
    pub fn of(latencies: impl IntoIterator<Item = Duration>) -> Pcts {
        let mut v: Vec<u64> = latencies
            .into_iter()
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .collect();
        v.sort_unstable();
        Pcts {
            n: v.len(),
            p50: percentile(&v, 50.0),
            p90: percentile(&v, 90.0),
            p99: percentile(&v, 99.0),
            max: v.last().copied().unwrap_or(0),
        }
    }
}

/// One completed call.
#[derive(Debug, Clone)]
pub struct Rec {
    /// Which load (phase, or service) it belongs to.
    pub group: usize,
    /// When it completed, since the scenario's start.
    pub end: Duration,
    /// Its latency (open loop: from its scheduled time).
    pub latency: Duration,
    /// The HTTP exchange alone (open loop: without the wait for a free connection).
    pub round_trip: Duration,
    pub result: CallResult,
}

/// Counts of statuses, `status×n` joined.
pub fn status_counts<'a>(recs: impl IntoIterator<Item = &'a Rec>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in recs {
        *out.entry(r.result.status.clone()).or_default() += 1;
    }
    out
}

pub fn show_counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "-".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Closed loop: each connection sends one call at a time until `stop` says so; every completed
/// call is pushed to `sink` with `group`.
pub fn spawn_closed_loop(
    conns: Vec<HttpConn>,
    body: CallBody,
    group: usize,
    t0: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
    sink: Arc<Mutex<Vec<Rec>>>,
) -> tokio::task::JoinSet<()> {
    use std::sync::atomic::Ordering;
    let mut set = tokio::task::JoinSet::new();
    for mut conn in conns {
        let (body, stop, sink) = (body.clone(), stop.clone(), sink.clone());
        set.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (result, latency) = mcp::call(&mut conn, &body, Duration::from_secs(30)).await;
                let rec = Rec {
                    group,
                    end: t0.elapsed(),
                    latency,
                    round_trip: latency,
                    result,
                };
                if let Ok(mut s) = sink.lock() {
                    s.push(rec);
                }
            }
        });
    }
    set
}

/// Sleeps until `t0 + at`.
pub async fn sleep_until(t0: Instant, at: Duration) {
    tokio::time::sleep_until((t0 + at).into()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["sec", "calls", "p99 ms"],
            &[
                vec!["1".into(), "12".into(), "3.50".into()],
                vec!["10 slow".into(), "7".into(), "1200.00".into()],
            ],
        );
        assert_eq!(t[0], "sec      calls   p99 ms");
        assert_eq!(t[1], "1           12     3.50");
        assert_eq!(t[2], "10 slow      7  1200.00");
    }

    #[test]
    fn percentiles_of_durations() {
        let p = Pcts::of((1..=100).map(Duration::from_millis));
        assert_eq!(p.n, 100);
        assert_eq!(ms_ns(p.p50), "50.00");
        assert_eq!(ms_ns(p.p99), "99.00");
        assert_eq!(ms_ns(p.max), "100.00");
        assert_eq!(Pcts::of(Vec::new()), Pcts::default());
    }
}
