//! Scenario 1, a spike of policy-only calls: `call_aws aws sqs create-queue --queue-name x` in
//! read-only mode (denied by the policy; nothing is sent) at a base open-loop rate, then 10× for a
//! few seconds, then the base rate again. Latency runs from each call's scheduled time (no
//! coordinated omission). Figures per phase; the audit trail must hold a record for every answered
//! call; the server's RSS sampled every 100 ms.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::mcp::{self, CallBody, CallResult, is_limit_refusal};
use super::procfs::{RssSampler, mib};
use super::server::Server;
use super::{Ctx, Pcts, Rec, Report, ms_ns, print_table, show_counts, status_counts};
use crate::faults::{FaultServer, Mode};
use crate::load::http::HttpConn;

/// Connections in the client pool (under the server's 64 per peer).
const CONNECTIONS: usize = 48;
/// Calls queued or in flight at most; beyond, scheduled calls are dropped (and counted).
const MAX_IN_FLIGHT: usize = 20_000;
/// The p99 bound of the policy path, per phase.
const P99_BOUND: Duration = Duration::from_millis(50);

/// Runs the open-loop schedule `phases` (rate/s, duration) over `conns`; every call's record and
/// the calls dropped per phase.
async fn open_loop(
    conns: Vec<HttpConn>,
    body: CallBody,
    phases: &[(f64, Duration)],
    timeout: Duration,
) -> (Vec<Rec>, Vec<u64>) {
    let n = conns.len();
    let pool = Arc::new(Mutex::new(conns));
    let permits = Arc::new(Semaphore::new(n));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let sink: Arc<Mutex<Vec<Rec>>> = Arc::default();
    let mut dropped = vec![0u64; phases.len()];
    let mut set = tokio::task::JoinSet::new();
    let t0 = Instant::now() + Duration::from_millis(5);
    let mut phase_start = t0;
    for (index, &(rate, duration)) in phases.iter().enumerate() {
        let count = (rate * duration.as_secs_f64()).round() as u64;
        for k in 0..count {
            let at = phase_start + Duration::from_secs_f64(k as f64 / rate);
            tokio::time::sleep_until(at.into()).await;
            while set.try_join_next().is_some() {}
            if in_flight.load(Ordering::SeqCst) >= MAX_IN_FLIGHT {
                if let Some(d) = dropped.get_mut(index) {
                    *d += 1;
                }
                continue;
            }
            in_flight.fetch_add(1, Ordering::SeqCst);
            let (pool, permits, in_flight, sink, body) = (
                pool.clone(),
                permits.clone(),
                in_flight.clone(),
                sink.clone(),
                body.clone(),
            );
            set.spawn(async move {
                let permit = permits.acquire_owned().await;
                let conn = pool.lock().ok().and_then(|mut p| p.pop());
                let (result, round_trip) = match conn {
                    Some(mut conn) => {
                        let r = mcp::call(&mut conn, &body, timeout).await;
                        if let Ok(mut p) = pool.lock() {
                            p.push(conn);
                        }
                        r
                    }
                    None => (
                        CallResult {
                            status: "no_connection".into(),
                            retry_after_ms: None,
                            answered: false,
                        },
                        Duration::ZERO,
                    ),
                };
                drop(permit);
                let rec = Rec {
                    group: index,
                    end: t0.elapsed(),
                    latency: at.elapsed(),
                    round_trip,
                    result,
                };
                if let Ok(mut s) = sink.lock() {
                    s.push(rec);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
        phase_start += duration;
    }
    let grace = timeout + Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await;
    set.abort_all();
    while set.join_next().await.is_some() {}
    let recs = sink.lock().map(|s| s.clone()).unwrap_or_default();
    (recs, dropped)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Report> {
    let base = ctx.spike_base;
    let (d_base, d_spike) = if ctx.quick {
        (Duration::from_secs(3), Duration::from_secs(3))
    } else {
        (Duration::from_secs(5), Duration::from_secs(5))
    };
    let phases = [(base, d_base), (base * 10.0, d_spike), (base, d_base)];
    let names = ["base", "spike 10x", "base again"];
    // Anything the server might call (its identity lookup) goes to a local stand-in.
    let catch_all = FaultServer::start(Mode::ok()).await?;
    let mut server =
        Server::start(&ctx.bin, "spike", &[("AWS_ENDPOINT_URL", catch_all.url())]).await?;
    println!(
        "  server pid {} port {}; read-only mode (PORTCULLIS_AUDIT_FSYNC default: always); {} connections, one session",
        server.pid, server.port, CONNECTIONS
    );
    println!(
        "  call_aws `aws sqs create-queue --queue-name x` (denied by read-only mode), open loop {}",
        phases
            .iter()
            .map(|(r, d)| format!("{r:.0}/s for {}s", d.as_secs()))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let endpoint = server.endpoint()?;
    let ids = Arc::new(AtomicU64::new(1));
    let first = mcp::session(&endpoint, &ids).await?;
    let conns = mcp::connections(&endpoint, &first, CONNECTIONS).await?;
    let rss = RssSampler::start(server.pid, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss_kib().unwrap_or(0);
    let load_from = rss.started().elapsed();
    let body = CallBody::new("call_aws", "aws sqs create-queue --queue-name x", ids);
    let started = Instant::now();
    let (recs, dropped) = open_loop(conns, body, &phases, Duration::from_secs(10)).await;
    let took = started.elapsed();
    let load_to = rss.started().elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = server.rss_kib().unwrap_or(0);
    let rss_peak = rss.peak_between(load_from, load_to).max(rss_after);
    drop(rss);

    let mut rows = Vec::new();
    let mut report = Report::default();
    let mut p99s = Vec::new();
    for (i, ((rate, d), name)) in phases.iter().zip(names).enumerate() {
        let of: Vec<&Rec> = recs.iter().filter(|r| r.group == i).collect();
        let lat = Pcts::of(of.iter().map(|r| r.latency));
        let rt = Pcts::of(of.iter().map(|r| r.round_trip));
        let refused: Vec<&Rec> = of
            .iter()
            .copied()
            .filter(|r| is_limit_refusal(&r.result.status) || r.result.status.starts_with("http_"))
            .collect();
        let refused_lat = Pcts::of(refused.iter().map(|r| r.latency));
        rows.push(vec![
            name.to_string(),
            format!("{rate:.0}"),
            format!("{}", of.len()),
            format!("{:.0}", of.len() as f64 / d.as_secs_f64()),
            ms_ns(lat.p50),
            ms_ns(lat.p90),
            ms_ns(lat.p99),
            ms_ns(lat.max),
            ms_ns(rt.p50),
            ms_ns(rt.p99),
            format!("{}", refused.len()),
            if refused.is_empty() {
                "-".into()
            } else {
                format!("{}/{}", ms_ns(refused_lat.p50), ms_ns(refused_lat.p99))
            },
            format!("{}", dropped.get(i).copied().unwrap_or(0)),
            show_counts(&status_counts(of.iter().copied())),
        ]);
        p99s.push((name, lat.p99));
    }
    print_table(
        &[
            "phase",
            "rate/s",
            "calls",
            "done/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "rt p50",
            "rt p99",
            "refused",
            "ref p50/p99",
            "dropped",
            "statuses",
        ],
        &rows,
    );
    println!(
        "  (latency from each call's scheduled time; rt = the HTTP exchange alone; refused = overloaded/rate_limited/breaker_open or an HTTP error status, latency p50/p99)"
    );
    println!("  schedule ran {:.1} s", took.as_secs_f64());

    // The server side of the policy path, from the audit records.
    let answered = recs.iter().filter(|r| r.result.answered).count() as u64;
    let trail = server.trail()?;
    let server_side = Pcts::of(
        trail
            .tool_calls
            .iter()
            .filter_map(|r| r.latency_us)
            .map(Duration::from_micros),
    );
    println!(
        "  server side (audit latency_us, all phases): p50 {} ms, p99 {} ms, max {} ms over {} records; by code: {}",
        ms_ns(server_side.p50),
        ms_ns(server_side.p99),
        ms_ns(server_side.max),
        server_side.n,
        show_counts(&trail.by_code())
    );
    println!(
        "  RSS: before {} MiB, peak during the load {} MiB, 1 s after {} MiB",
        mib(rss_before),
        mib(rss_peak),
        mib(rss_after)
    );

    for (name, p99) in p99s {
        report.check(
            &format!(
                "p99 of the policy path, phase `{name}`, < {} ms",
                P99_BOUND.as_millis()
            ),
            Duration::from_nanos(p99) < P99_BOUND,
            format!("{} ms", ms_ns(p99)),
        );
    }
    let total_dropped: u64 = dropped.iter().sum();
    let sent = recs.len() as u64;
    let unanswered = recs
        .iter()
        .filter(|r| !r.result.answered && !r.result.status.starts_with("http_"))
        .count();
    let refused_total = recs
        .iter()
        .filter(|r| is_limit_refusal(&r.result.status) || r.result.status.starts_with("http_"))
        .count();
    report.check(
        "every call answered or refused (refusals counted above)",
        unanswered == 0 && total_dropped == 0,
        format!(
            "{sent} sent, {answered} answered, {refused_total} refused fast, {unanswered} lost (timeout/transport), {total_dropped} not sent (client backlog)"
        ),
    );
    server.kill();
    let (ok, records, text) = server.verify()?;
    let tool_records = trail.tool_calls.len() as u64;
    report.check(
        "no audit record missing: tool_call records == calls answered",
        tool_records == answered && trail.unparsable == 0,
        format!(
            "{tool_records} tool_call records for {answered} answered calls ({} records in all, {} unparsable)",
            trail.records, trail.unparsable
        ),
    );
    report.check(
        "`portcullis audit verify` OK and counts every record",
        ok && records == Some(trail.records),
        text,
    );
    report.check(
        "RSS peak < 200 MiB",
        rss_peak < 200 * 1024,
        format!("{} MiB", mib(rss_peak)),
    );
    Ok(report)
}
