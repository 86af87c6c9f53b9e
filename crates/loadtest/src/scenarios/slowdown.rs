//! Scenario 2, a dependency slows down: SQS and SNS stand-ins answer in 5 ms; closed-loop reads of
//! both (`aws sqs list-queues`, `aws sns list-topics`, 16 connections each, read-only mode); then
//! SQS answers in 2 s for a while; then in 5 ms again. Per second: each service's calls and
//! p50/p99, and the adaptive concurrency limit of each endpoint (scraped every 500 ms).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::mcp::{self, CallBody};
use super::prom::Scrape;
use super::server::{NO_RATE_LIMIT, Probe, Server};
use super::{
    Ctx, Pcts, Rec, Report, ms_ns, print_table, show_counts, sleep_until, spawn_closed_loop,
    status_counts,
};
use crate::faults::{FaultServer, Mode};

const PER_SERVICE: usize = 16;
const SQS: usize = 0;
const SNS: usize = 1;

/// One scrape: when, and the figures read from it.
#[derive(Debug, Clone)]
struct Point {
    at: Duration,
    sqs_limit: Option<f64>,
    sns_limit: Option<f64>,
    global_limit: Option<f64>,
    sqs_in_flight: Option<f64>,
    queued: Option<f64>,
    overloaded: f64,
}

fn point(at: Duration, s: &Scrape) -> Point {
    let limit = |e: &str| s.get("portcullis_concurrency_limit", &[("endpoint", e)]);
    Point {
        at,
        sqs_limit: limit("sqs/us-east-1"),
        sns_limit: limit("sns/us-east-1"),
        global_limit: limit("*"),
        sqs_in_flight: s.get(
            "portcullis_calls_in_flight",
            &[("endpoint", "sqs/us-east-1")],
        ),
        queued: s.get("portcullis_calls_queued", &[]),
        overloaded: s.get_or_zero("portcullis_limit_refusals_total", &[("kind", "overloaded")]),
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Report> {
    let (base, slow, after) = if ctx.quick {
        (5u64, 6u64, 6u64)
    } else {
        (10, 10, 10)
    };
    let fast = Mode::Ok {
        latency: Duration::from_millis(5),
    };
    let sqs = FaultServer::start(fast.clone()).await?;
    let sns = FaultServer::start(fast.clone()).await?;
    let catch_all = FaultServer::start(Mode::ok()).await?;
    let server = Server::start_against(
        &ctx.bin,
        "slowdown",
        &catch_all,
        &[
            ("AWS_ENDPOINT_URL_SQS", &sqs),
            ("AWS_ENDPOINT_URL_SNS", &sns),
        ],
    )
    .await?;
    println!(
        "  server pid {} port {}; read-only; rate limits raised to {NO_RATE_LIMIT} (per principal and session) so that only the concurrency limits act",
        server.pid, server.port
    );
    println!(
        "  closed loop, {PER_SERVICE} connections each: call_aws `aws sqs list-queues` and `aws sns list-topics`; SQS 5 ms for {base}s → 2 s for {slow}s → 5 ms for {after}s"
    );
    let endpoint = server.endpoint()?;
    let ids = Arc::new(AtomicU64::new(1));
    let sqs_session = mcp::session(&endpoint, &ids).await?;
    let sns_session = mcp::session(&endpoint, &ids).await?;
    let sqs_conns = mcp::connections(&endpoint, &sqs_session, PER_SERVICE).await?;
    let sns_conns = mcp::connections(&endpoint, &sns_session, PER_SERVICE).await?;
    let mut probe = Probe::new(&endpoint);
    probe.metrics().await?;

    let total = Duration::from_secs(base + slow + after);
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let sink: Arc<Mutex<Vec<Rec>>> = Arc::default();
    let mut loops = spawn_closed_loop(
        sqs_conns,
        CallBody::new("call_aws", "aws sqs list-queues", ids.clone()),
        SQS,
        t0,
        stop.clone(),
        sink.clone(),
    );
    let mut more = spawn_closed_loop(
        sns_conns,
        CallBody::new("call_aws", "aws sns list-topics", ids.clone()),
        SNS,
        t0,
        stop.clone(),
        sink.clone(),
    );
    let points: Arc<Mutex<Vec<Point>>> = Arc::default();
    let scraper = {
        let points = points.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Ok(s) = probe.metrics().await
                    && let Ok(mut p) = points.lock()
                {
                    p.push(point(t0.elapsed(), &s));
                }
            }
        })
    };
    sleep_until(t0, Duration::from_secs(base)).await;
    sqs.set_mode(Mode::Ok {
        latency: Duration::from_secs(2),
    });
    sleep_until(t0, Duration::from_secs(base + slow)).await;
    sqs.set_mode(fast);
    sleep_until(t0, total).await;
    stop.store(true, Ordering::Relaxed);
    let drain = async {
        while loops.join_next().await.is_some() {}
        while more.join_next().await.is_some() {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(35), drain).await;
    loops.abort_all();
    more.abort_all();
    let _ = tokio::time::timeout(Duration::from_secs(6), scraper).await;
    let recs = sink.lock().map(|s| s.clone()).unwrap_or_default();
    let points = points.lock().map(|p| p.clone()).unwrap_or_default();

    let phase_of = |sec: u64| {
        if sec < base {
            "base"
        } else if sec < base + slow {
            "SQS slow"
        } else {
            "after"
        }
    };
    let mut rows = Vec::new();
    for sec in 0..(base + slow + after) {
        let from = Duration::from_secs(sec);
        let to = from + Duration::from_secs(1);
        let of = |g: usize| -> Vec<&Rec> {
            recs.iter()
                .filter(|r| r.group == g && r.end >= from && r.end < to)
                .collect()
        };
        let (q, n) = (of(SQS), of(SNS));
        let (pq, pn) = (
            Pcts::of(q.iter().map(|r| r.latency)),
            Pcts::of(n.iter().map(|r| r.latency)),
        );
        let last = points.iter().rev().find(|p| p.at >= from && p.at < to);
        let not_ok = q.iter().filter(|r| r.result.status != "success").count();
        rows.push(vec![
            format!("{sec:>2} {}", phase_of(sec)),
            format!("{}", q.len()),
            ms_ns(pq.p50),
            ms_ns(pq.p99),
            format!("{not_ok}"),
            format!("{}", n.len()),
            ms_ns(pn.p50),
            ms_ns(pn.p99),
            show(last.and_then(|p| p.sqs_limit)),
            show(last.and_then(|p| p.sqs_in_flight)),
            show(last.and_then(|p| p.queued)),
            show(last.and_then(|p| p.sns_limit)),
            show(last.and_then(|p| p.global_limit)),
            show(last.map(|p| p.overloaded)),
        ]);
    }
    print_table(
        &[
            "sec phase",
            "sqs n",
            "sqs p50",
            "sqs p99",
            "sqs !ok",
            "sns n",
            "sns p50",
            "sns p99",
            "lim sqs",
            "sqs infl",
            "queued",
            "lim sns",
            "lim *",
            "overloaded",
        ],
        &rows,
    );
    println!(
        "  (n = calls completed in that second; latencies in ms; limits/in-flight/queued = last scrape in the second; overloaded = refusals so far)"
    );
    let phase_recs = |g: usize, from: u64, to: u64| -> Vec<&Rec> {
        recs.iter()
            .filter(|r| {
                r.group == g
                    && r.end >= Duration::from_secs(from)
                    && r.end < Duration::from_secs(to)
            })
            .collect()
    };
    for (name, from, to) in [
        ("base", 0, base),
        ("SQS slow", base, base + slow),
        ("after", base + slow, base + slow + after),
    ] {
        for (svc, g) in [("sqs", SQS), ("sns", SNS)] {
            let r = phase_recs(g, from, to);
            let p = Pcts::of(r.iter().map(|r| r.latency));
            println!(
                "  {name:<9} {svc}: {} calls, p50 {} ms, p99 {} ms, max {} ms; {}",
                p.n,
                ms_ns(p.p50),
                ms_ns(p.p99),
                ms_ns(p.max),
                show_counts(&status_counts(r.iter().copied()))
            );
        }
    }

    let mut report = Report::default();
    let in_phase = |from: u64, to: u64| {
        points
            .iter()
            .filter(move |p| p.at >= Duration::from_secs(from) && p.at < Duration::from_secs(to))
    };
    let base_limit = in_phase(0, base).filter_map(|p| p.sqs_limit).next_back();
    let slow_min = in_phase(base, base + slow)
        .filter_map(|p| p.sqs_limit)
        .reduce(f64::min);
    let after_max = in_phase(base + slow, base + slow + after)
        .filter_map(|p| p.sqs_limit)
        .reduce(f64::max);
    let after_last = in_phase(base + slow, base + slow + after)
        .filter_map(|p| p.sqs_limit)
        .next_back();
    report.check(
        "SQS concurrency limit falls while SQS is slow",
        matches!((base_limit, slow_min), (Some(b), Some(s)) if s < b),
        format!(
            "end of base {}, lowest while slow {}",
            show(base_limit),
            show(slow_min)
        ),
    );
    let sns_base = Pcts::of(phase_recs(SNS, 1, base).iter().map(|r| r.latency));
    let sns_slow = Pcts::of(phase_recs(SNS, base, base + slow).iter().map(|r| r.latency));
    let bound = sns_base.p99 * 2 + 5_000_000;
    report.check(
        "SNS p99 while SQS is slow ≤ 2 × its baseline p99 + 5 ms",
        sns_slow.n > 0 && sns_slow.p99 <= bound,
        format!(
            "baseline p99 {} ms (seconds 1..{base}), while slow {} ms, bound {} ms",
            ms_ns(sns_base.p99),
            ms_ns(sns_slow.p99),
            ms_ns(bound)
        ),
    );
    report.check(
        "SQS limit recovers (rises) once SQS is fast again",
        matches!((slow_min, after_max), (Some(s), Some(a)) if a > s),
        format!(
            "lowest while slow {}, highest after {}, last {} (base was {})",
            show(slow_min),
            show(after_max),
            show(after_last),
            show(base_limit)
        ),
    );
    drop(server);
    Ok(report)
}
