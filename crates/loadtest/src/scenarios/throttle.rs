//! Scenario 3, a throttling storm: the SQS stand-in answers every request with SQS's real
//! throttling error for a while, then answers normally. Closed-loop reads (16 connections).
//! Per second: calls completed by the clients, requests the stand-in received (attempts),
//! the breaker's state, the retry budget. Retries must stay within the budget, the breaker must
//! open, and close again within its cool-down once SQS is back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::mcp::{self, CallBody, is_limit_refusal};
use super::prom::Scrape;
use super::server::{NO_RATE_LIMIT, Probe, Server};
use super::{
    Ctx, Rec, Report, print_table, show_counts, sleep_until, spawn_closed_loop, status_counts,
};
use crate::faults::{FaultServer, Mode};

const CONNECTIONS: usize = 16;
/// Retries a second the budget always allows (the server's default `retry_floor`).
const RETRY_FLOOR_PER_SEC: u64 = 10;

#[derive(Debug, Clone)]
struct Point {
    at: Duration,
    attempts: u64,
    state: Option<f64>,
    opened: f64,
    withdrawn: f64,
    refused: f64,
}

fn point(at: Duration, attempts: u64, s: &Scrape) -> Point {
    Point {
        at,
        attempts,
        state: s.get("portcullis_breaker_state", &[("endpoint", "sqs/us-east-1")]),
        opened: s.get_or_zero("portcullis_breaker_opened_total", &[]),
        withdrawn: s.get_or_zero("portcullis_retry_budget_total", &[("result", "withdrawn")]),
        refused: s.get_or_zero("portcullis_retry_budget_total", &[("result", "refused")]),
    }
}

fn state_name(s: Option<f64>) -> &'static str {
    match s.map(|v| v.round() as i64) {
        Some(0) => "closed",
        Some(1) => "half-open",
        Some(2) => "open",
        Some(_) => "?",
        None => "-",
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Report> {
    let (base, storm, max_after) = if ctx.quick {
        (2u64, 8u64, 25u64)
    } else {
        (3, 30, 50)
    };
    let fast = Mode::Ok {
        latency: Duration::from_millis(5),
    };
    let sqs = FaultServer::start(fast.clone()).await?;
    let catch_all = FaultServer::start(Mode::ok()).await?;
    let server = Server::start_against(
        &ctx.bin,
        "throttle",
        &catch_all,
        &[("AWS_ENDPOINT_URL_SQS", &sqs)],
    )
    .await?;
    println!(
        "  server pid {} port {}; read-only; rate limits raised to {NO_RATE_LIMIT}",
        server.pid, server.port
    );
    println!(
        "  closed loop, {CONNECTIONS} connections: call_aws `aws sqs list-queues`; SQS ok 5 ms for {base}s → throttle (400 Throttling) for {storm}s → ok 5 ms until the breaker closes (+3 s, at most {max_after}s)"
    );
    let endpoint = server.endpoint()?;
    let ids = Arc::new(AtomicU64::new(1));
    let session = mcp::session(&endpoint, &ids).await?;
    let conns = mcp::connections(&endpoint, &session, CONNECTIONS).await?;
    let mut probe = Probe::new(&endpoint);
    let t0 = Instant::now();
    let first_scrape = probe.metrics().await?;
    let retries_before =
        first_scrape.get_or_zero("portcullis_retries_total", &[("service", "sqs")]);
    let first = point(Duration::ZERO, sqs.requests(), &first_scrape);
    let mut final_probe = Probe::new(&endpoint);
    let stop = Arc::new(AtomicBool::new(false));
    let sink: Arc<Mutex<Vec<Rec>>> = Arc::default();
    let mut loops = spawn_closed_loop(
        conns,
        CallBody::new("call_aws", "aws sqs list-queues", ids.clone()),
        0,
        t0,
        stop.clone(),
        sink.clone(),
    );
    let sqs = Arc::new(sqs);
    let points: Arc<Mutex<Vec<Point>>> = Arc::new(Mutex::new(vec![first]));
    let scraping = Arc::new(AtomicBool::new(true));
    let scraper = {
        let (points, scraping, sqs) = (points.clone(), scraping.clone(), sqs.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                (t0 + Duration::from_millis(500)).into(),
                Duration::from_millis(500),
            );
            while scraping.load(Ordering::Relaxed) {
                tick.tick().await;
                // The time and the attempts of the tick; the scrape follows at once.
                let (at, attempts) = (t0.elapsed(), sqs.requests());
                if let Ok(s) = probe.metrics().await
                    && let Ok(mut p) = points.lock()
                {
                    p.push(point(at, attempts, &s));
                }
            }
        })
    };
    sleep_until(t0, Duration::from_secs(base)).await;
    sqs.set_mode(Mode::Throttle {
        latency: Duration::ZERO,
    });
    let storm_from = Duration::from_secs(base);
    let recovery = Duration::from_secs(base + storm);
    sleep_until(t0, recovery).await;
    sqs.set_mode(fast);
    // Until the breaker has been closed for 3 s (bounded).
    let mut closed_at: Option<Duration> = None;
    let end_by = recovery + Duration::from_secs(max_after);
    while t0.elapsed() < end_by {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let last = points.lock().ok().and_then(|p| p.last().cloned());
        if let Some(p) = last
            && p.at > recovery
        {
            let closed = state_name(p.state) == "closed";
            match closed_at {
                None if closed => closed_at = Some(p.at),
                Some(_) if !closed => closed_at = None,
                _ => {}
            }
        }
        if closed_at.is_some_and(|c| t0.elapsed() > c + Duration::from_secs(3)) {
            break;
        }
    }
    let end = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(35), async {
        while loops.join_next().await.is_some() {}
    })
    .await;
    loops.abort_all();
    scraping.store(false, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(6), scraper).await;
    let recs = sink.lock().map(|s| s.clone()).unwrap_or_default();
    let mut points = points.lock().map(|p| p.clone()).unwrap_or_default();
    // A last scrape once every call has ended.
    let attempts_end = sqs.requests();
    let last_scrape = final_probe.metrics().await?;
    let retries_after = last_scrape.get_or_zero("portcullis_retries_total", &[("service", "sqs")]);
    points.push(point(t0.elapsed(), attempts_end, &last_scrape));

    // Per second: the point nearest the second's end against the one nearest its start.
    let nearest = |t: Duration| {
        points
            .iter()
            .min_by_key(|p| p.at.abs_diff(t))
            .filter(|p| p.at.abs_diff(t) < Duration::from_millis(250))
            .cloned()
    };
    let at_or_before = |t: Duration| points.iter().rev().find(|p| p.at <= t).cloned();
    let secs = end.as_secs() + 1;
    let mut rows = Vec::new();
    let mut worst_excess: i64 = i64::MIN;
    let mut worst_sec = 0;
    for sec in 0..secs {
        let from = Duration::from_secs(sec);
        let to = from + Duration::from_secs(1);
        let (Some(a), Some(b)) = (nearest(from), nearest(to)) else {
            continue;
        };
        let of: Vec<&Rec> = recs
            .iter()
            .filter(|r| r.end >= a.at && r.end < b.at)
            .collect();
        let reached = of
            .iter()
            .filter(|r| r.result.answered && !is_limit_refusal(&r.result.status))
            .count() as u64;
        let attempts = b.attempts - a.attempts;
        let states: Vec<&str> = points
            .iter()
            .filter(|p| p.at > a.at && p.at <= b.at)
            .map(|p| state_name(p.state))
            .collect();
        let phase = if from < storm_from {
            "base"
        } else if from < recovery {
            "storm"
        } else {
            "after"
        };
        let excess = attempts as i64 - of.len() as i64;
        if excess > worst_excess {
            worst_excess = excess;
            worst_sec = sec;
        }
        rows.push(vec![
            format!("{sec:>2} {phase}"),
            format!("{}", of.len()),
            format!("{reached}"),
            format!("{attempts}"),
            states.join(","),
            format!("{:.0}", b.opened - a.opened),
            format!("{:.0}", b.withdrawn - a.withdrawn),
            format!("{:.0}", b.refused - a.refused),
            show_counts(&status_counts(of.iter().copied())),
        ]);
    }
    print_table(
        &[
            "sec phase",
            "calls",
            "reached",
            "attempts",
            "breaker",
            "opened",
            "retry wd",
            "retry ref",
            "statuses",
        ],
        &rows,
    );
    println!(
        "  (calls = completed by the clients; reached = calls not refused by a limit, i.e. sent to SQS; attempts = requests the SQS stand-in received; breaker = state at each 500 ms scrape; retry wd/ref = retry budget withdrawn/refused)"
    );

    // Over the whole run: every attempt beyond a call's first should be a retry the budget paid.
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        let reached = recs
            .iter()
            .filter(|r| r.result.answered && !is_limit_refusal(&r.result.status))
            .count() as u64;
        let attempts = sqs.requests() - a.attempts;
        println!(
            "  whole run: {reached} calls reached SQS, {attempts} attempts → {} retries; retry budget withdrawn {:.0}, refused {:.0}; portcullis_retries_total{{service=\"sqs\"}} {:.0}",
            attempts as i64 - reached as i64,
            b.withdrawn - a.withdrawn,
            b.refused - a.refused,
            retries_after - retries_before,
        );
    }
    // Totals over the storm and the recovery (from the storm's start to the end).
    let last = points.last().cloned();
    let at_storm = at_or_before(storm_from);
    let mut report = Report::default();
    if let (Some(a), Some(b)) = (at_storm, last.clone()) {
        let window: Vec<&Rec> = recs
            .iter()
            .filter(|r| r.end >= a.at && r.end <= b.at)
            .collect();
        let reached = window
            .iter()
            .filter(|r| r.result.answered && !is_limit_refusal(&r.result.status))
            .count() as u64;
        let attempts = b.attempts - a.attempts;
        let secs = (b.at - a.at).as_secs_f64().ceil() as u64;
        let floor = RETRY_FLOOR_PER_SEC * secs;
        let bound = reached + reached / 10 + floor;
        println!(
            "  storm + recovery ({:.1} s): {} calls, {reached} reached SQS, {attempts} attempts ({} beyond one per call), retry budget withdrawn {:.0} refused {:.0}, breaker opened {:.0}×; {}",
            (b.at - a.at).as_secs_f64(),
            window.len(),
            attempts.saturating_sub(reached),
            b.withdrawn - a.withdrawn,
            b.refused - a.refused,
            b.opened - a.opened,
            show_counts(&status_counts(window.iter().copied()))
        );
        report.check(
            "attempts ≤ calls that reached SQS × 1.1 + floor (10 retries/s × seconds)",
            attempts <= bound,
            format!("{attempts} attempts, {reached} reached, bound {bound} (floor {floor})"),
        );
        report.check(
            "breaker opened at least once",
            b.opened - a.opened >= 1.0,
            format!("opened {:.0}×", b.opened - a.opened),
        );
    }
    let cool_down = recs
        .iter()
        .filter(|r| r.result.status == "breaker_open" && r.end >= storm_from && r.end <= recovery)
        .filter_map(|r| r.result.retry_after_ms)
        .max()
        .unwrap_or(5_000);
    let allowed = Duration::from_millis(cool_down) + Duration::from_secs(3);
    report.check(
        "breaker closed (state 0) within its cool-down (+3 s) of SQS recovering",
        closed_at.is_some_and(|c| c.saturating_sub(recovery) <= allowed),
        match closed_at {
            Some(c) => format!(
                "closed {:.1} s after recovery; longest retry_after seen during the storm {:.1} s",
                (c.saturating_sub(recovery)).as_secs_f64(),
                cool_down as f64 / 1e3
            ),
            None => format!(
                "not closed by the end ({:.0} s after recovery); last state {}",
                (end.saturating_sub(recovery)).as_secs_f64(),
                state_name(last.and_then(|p| p.state))
            ),
        },
    );
    // Attempts are counted when they arrive, calls when they complete: at a second's edge up to
    // one call per connection is in flight, so the slack is the connections plus the floor.
    let slack = (CONNECTIONS as u64 + RETRY_FLOOR_PER_SEC) as i64;
    report.check(
        &format!("no second with more attempts than client calls (+{slack}: calls in flight at the edge, retry floor)"),
        worst_excess <= slack,
        format!("largest attempts − calls in a second: {worst_excess} (second {worst_sec})"),
    );
    drop(server);
    Ok(report)
}
