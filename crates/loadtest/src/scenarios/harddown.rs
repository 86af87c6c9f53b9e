//! Scenario 4, a dependency hard down: the SQS stand-in refuses connections. Once the breaker is
//! open, 1000 sequential calls through one keep-alive connection: the MCP round trip and the
//! server's own part (the audit records' `latency_us`, and the `call_aws` latency histogram).
//! `/readyz` must say 503 naming the endpoint while `/healthz` stays 200; once SQS is back (and
//! the cool-down has passed) `/readyz` is 200 again.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::mcp::{self, CallBody};
use super::prom::{bucket_delta, bucket_percentile};
use super::server::{Probe, Server};
use super::{Ctx, Pcts, Report, ms, ms_ns, show_counts};
use crate::faults::{FaultServer, Mode};

const SEQUENTIAL: usize = 1000;
const FAIL_FAST_BOUND: Duration = Duration::from_millis(1);

fn le(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("≤ {:.2} ms", v * 1e3),
        Some(_) => "> 10 s".into(),
        None => "-".into(),
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Report> {
    let sqs = FaultServer::start(Mode::ok()).await?;
    let catch_all = FaultServer::start(Mode::ok()).await?;
    let server = Server::start_against(
        &ctx.bin,
        "harddown",
        &catch_all,
        &[("AWS_ENDPOINT_URL_SQS", &sqs)],
    )
    .await?;
    println!(
        "  server pid {} port {}; read-only; call_aws `aws sqs list-queues`, one session, one keep-alive connection",
        server.pid, server.port
    );
    let endpoint = server.endpoint()?;
    let ids = Arc::new(AtomicU64::new(1));
    let mut conn = mcp::session(&endpoint, &ids).await?;
    let body = CallBody::new("call_aws", "aws sqs list-queues", ids.clone());
    let mut probe = Probe::new(&endpoint);
    let timeout = Duration::from_secs(30);
    let mut report = Report::default();

    let (first, t) = mcp::call(&mut conn, &body, timeout).await;
    println!("  SQS up: first call {} in {} ms", first.status, ms(t));
    let s0 = probe.metrics().await?;
    sqs.set_mode(Mode::Refuse);
    let opening_started = Instant::now();
    let mut opening = Vec::new();
    for _ in 0..50 {
        let (r, t) = mcp::call(&mut conn, &body, timeout).await;
        let open = r.status == "breaker_open";
        opening.push(format!("{} {} ms", r.status, ms(t)));
        if open {
            break;
        }
    }
    let s1 = probe.metrics().await?;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        s1.get_or_zero(name, labels) - s0.get_or_zero(name, labels)
    };
    println!(
        "  SQS refusing connections: {} calls ({:.1} s) until the breaker answered: {}",
        opening.len(),
        opening_started.elapsed().as_secs_f64(),
        opening.join(", ")
    );
    println!(
        "  meanwhile: portcullis_retries_total{{service=\"sqs\"}} +{:.0}, retry budget withdrawn +{:.0} refused +{:.0}, breaker opened +{:.0}",
        delta("portcullis_retries_total", &[("service", "sqs")]),
        delta("portcullis_retry_budget_total", &[("result", "withdrawn")]),
        delta("portcullis_retry_budget_total", &[("result", "refused")]),
        delta("portcullis_breaker_opened_total", &[]),
    );
    let (ready_code, ready_body) = probe.get("/readyz", false).await?;
    let (health_code, _) = probe.get("/healthz", false).await?;
    println!(
        "  /readyz {ready_code} `{}`; /healthz {health_code}",
        ready_body.trim()
    );

    // The measured run.
    let before = probe.metrics().await?;
    let records_before = server.trail()?.tool_calls.len();
    let mut trips = Vec::with_capacity(SEQUENTIAL);
    let mut statuses = std::collections::BTreeMap::new();
    let started = Instant::now();
    let mut answered = 0;
    for _ in 0..SEQUENTIAL {
        let (r, t) = mcp::call(&mut conn, &body, timeout).await;
        trips.push(t);
        answered += usize::from(r.answered);
        *statuses.entry(r.status).or_insert(0u64) += 1;
    }
    let took = started.elapsed();
    let after = probe.metrics().await?;
    let trail = server.trail()?;
    let measured: Vec<_> = trail.tool_calls.iter().skip(records_before).collect();
    let server_side = Pcts::of(
        measured
            .iter()
            .filter(|r| r.code.as_deref() == Some("breaker_open"))
            .filter_map(|r| r.latency_us)
            .map(Duration::from_micros),
    );
    let rt = Pcts::of(trips.iter().copied());
    let hist = |s: &super::prom::Scrape| {
        s.buckets("portcullis_call_duration_seconds", &[("tool", "call_aws")])
    };
    let delta = bucket_delta(&hist(&before), &hist(&after));
    super::print_table(
        &[
            "1000 sequential calls",
            "n",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
        ],
        &[
            vec![
                "MCP round trip (client)".into(),
                format!("{}", rt.n),
                ms_ns(rt.p50),
                ms_ns(rt.p90),
                ms_ns(rt.p99),
                ms_ns(rt.max),
            ],
            vec![
                "server side (audit latency_us, breaker_open)".into(),
                format!("{}", server_side.n),
                ms_ns(server_side.p50),
                ms_ns(server_side.p90),
                ms_ns(server_side.p99),
                ms_ns(server_side.max),
            ],
            vec![
                "server side (call_duration histogram)".into(),
                format!("{:.0}", delta.last().map_or(0.0, |d| d.1)),
                le(bucket_percentile(&delta, 50.0)),
                le(bucket_percentile(&delta, 90.0)),
                le(bucket_percentile(&delta, 99.0)),
                "-".into(),
            ],
        ],
    );
    println!(
        "  {} calls in {:.2} s ({:.0}/s); statuses {}; audit records by code {}",
        SEQUENTIAL,
        took.as_secs_f64(),
        SEQUENTIAL as f64 / took.as_secs_f64(),
        show_counts(&statuses),
        show_counts(&{
            let mut m = std::collections::BTreeMap::new();
            for r in &measured {
                *m.entry(r.code.clone().unwrap_or_else(|| "-".into()))
                    .or_insert(0u64) += 1;
            }
            m
        })
    );
    let (ready_code2, ready_body2) = probe.get("/readyz", false).await?;
    report.check(
        "fail-fast with the breaker open: server-side p50 < 1 ms",
        server_side.n > 0 && Duration::from_nanos(server_side.p50) < FAIL_FAST_BOUND,
        format!("{} ms", ms_ns(server_side.p50)),
    );
    report.check(
        "fail-fast with the breaker open: server-side p99 < 1 ms",
        server_side.n > 0 && Duration::from_nanos(server_side.p99) < FAIL_FAST_BOUND,
        format!(
            "{} ms (MCP round trip p99 {} ms)",
            ms_ns(server_side.p99),
            ms_ns(rt.p99)
        ),
    );
    report.check(
        "all 1000 calls answered",
        answered == SEQUENTIAL,
        format!("{answered} answered"),
    );
    report.check(
        "/readyz 503 naming sqs/us-east-1 while down",
        ready_code == 503 && ready_body.contains("sqs/us-east-1"),
        format!(
            "{ready_code} `{}` (after the 1000 calls: {ready_code2} `{}`)",
            ready_body.trim(),
            ready_body2.trim()
        ),
    );
    report.check(
        "/healthz 200 while down",
        health_code == 200,
        format!("{health_code}"),
    );

    // Recovery: SQS back; a call every 250 ms until one succeeds and /readyz says ready.
    sqs.set_mode(Mode::ok());
    let back = Instant::now();
    let mut first_ok: Option<Duration> = None;
    let mut ready_at: Option<Duration> = None;
    let mut last_ready = (0u16, String::new());
    let mut longest_retry_after = 0;
    while back.elapsed() < Duration::from_secs(70) {
        if first_ok.is_none() {
            let (r, _) = mcp::call(&mut conn, &body, timeout).await;
            if r.status == "success" {
                first_ok = Some(back.elapsed());
            }
            if let Some(ra) = r.retry_after_ms {
                longest_retry_after = longest_retry_after.max(ra);
            }
        }
        last_ready = probe.get("/readyz", false).await?;
        if last_ready.0 == 200 && ready_at.is_none() {
            ready_at = Some(back.elapsed());
        }
        if first_ok.is_some() && ready_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let secs =
        |d: Option<Duration>| d.map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64()));
    println!(
        "  SQS back: first success after {}, /readyz 200 after {} (retry_after at recovery ≤ {:.1} s)",
        secs(first_ok),
        secs(ready_at),
        longest_retry_after as f64 / 1e3
    );
    report.check(
        "/readyz 200 after recovery (mode ok + cool-down)",
        ready_at.is_some_and(|r| {
            r <= Duration::from_millis(longest_retry_after) + Duration::from_secs(5)
        }),
        format!(
            "after {}: {} `{}`",
            secs(ready_at),
            last_ready.0,
            last_ready.1.trim()
        ),
    );
    drop(server);
    Ok(report)
}
