//! Scenario 5, many sessions: 10 000 MCP sessions (`initialize` + `notifications/initialized`
//! each, over a few keep-alive connections) left idle, with the per-token session cap raised so
//! that all of them exist (the live-session cap left at its default: the idle ones sleep). The
//! server's RSS before, during and after; the time to open them; how many are live and asleep; a
//! new session's `check_aws_command` latency while they sit idle, against a baseline; the oldest
//! (asleep) session still answering. Then, with the default caps, what happens over the
//! per-principal cap: the oldest idle sessions are forgotten and a new session still works.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::mcp::{self, CallBody};
use super::procfs::{RssSampler, mib};
use super::server::Server;
use super::{Ctx, Pcts, Report, ms_ns, print_table, show_counts};
use crate::faults::{FaultServer, Mode};
use crate::load::http::{Endpoint, HttpConn};

const SESSIONS: usize = 10_000;
const OPENERS: usize = 8;
/// The sessions open after each step (the last is [`SESSIONS`]).
const STEPS: [usize; 4] = [1_000, 2_500, 5_000, SESSIONS];
const PROBE_CALLS: usize = 300;
/// The default per-principal cap (`PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL`).
const DEFAULT_PER_PRINCIPAL: usize = 4096;
const OVER_CAP: usize = 4200;

/// `n` sequential `check_aws_command` calls on `conn`: their latencies and statuses.
async fn probe_calls(
    conn: &mut HttpConn,
    body: &CallBody,
    n: usize,
) -> (Pcts, std::collections::BTreeMap<String, u64>) {
    let mut lat = Vec::with_capacity(n);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..n {
        let (r, t) = mcp::call(conn, body, Duration::from_secs(10)).await;
        lat.push(t);
        *statuses.entry(r.status).or_insert(0u64) += 1;
    }
    (Pcts::of(lat), statuses)
}

/// Opens `n` sessions over `openers` connections at once; their ids (in creation order per
/// connection, connections interleaved) and the failures.
async fn open_sessions(
    endpoint: &Arc<Endpoint>,
    ids: &Arc<AtomicU64>,
    n: usize,
    openers: usize,
) -> (Vec<String>, Vec<String>) {
    let mut set = tokio::task::JoinSet::new();
    for k in 0..openers {
        let share = n / openers + usize::from(k < n % openers);
        let (endpoint, ids) = (endpoint.clone(), ids.clone());
        set.spawn(async move {
            let mut conn = HttpConn::new(endpoint, None);
            let mut made = Vec::with_capacity(share);
            let mut failed = Vec::new();
            for _ in 0..share {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(Duration::from_secs(10), conn.initialize(id)).await {
                    Ok(Ok(Some(s))) => made.push(s),
                    Ok(Ok(None)) => failed.push("no session id".to_string()),
                    Ok(Err(e)) => failed.push(format!("{e:#}")),
                    Err(_) => {
                        conn.disconnect();
                        failed.push("timeout".into());
                    }
                }
            }
            (made, failed)
        });
    }
    let mut made = Vec::with_capacity(n);
    let mut failed = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((m, f)) = joined {
            made.extend(m);
            failed.extend(f);
        }
    }
    (made, failed)
}

/// The status of one call (10 s at most) in `session`, on a new connection; "none made" without
/// a session.
async fn call_in(endpoint: &Arc<Endpoint>, session: Option<&String>, body: &CallBody) -> String {
    match session {
        Some(s) => {
            let mut c = HttpConn::new(endpoint.clone(), Some(s.clone()));
            mcp::call(&mut c, body, Duration::from_secs(10))
                .await
                .0
                .status
        }
        None => "none made".into(),
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let catch_all = FaultServer::start(Mode::ok()).await?;
    let caps = (SESSIONS * 2).to_string();
    let mut server = Server::start(
        &ctx.bin,
        "sessions",
        &[
            ("AWS_ENDPOINT_URL", catch_all.url()),
            ("PORTCULLIS_MAX_SESSIONS", caps.clone()),
            ("PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL", caps.clone()),
        ],
    )
    .await?;
    println!(
        "  server pid {} port {}; PORTCULLIS_MAX_SESSIONS={caps} PORTCULLIS_MAX_SESSIONS_PER_PRINCIPAL={caps}; a worker ends after 5 min idle, a session is forgotten after 1 h (neither waited for)",
        server.pid, server.port
    );
    let endpoint = server.endpoint()?;
    let ids = Arc::new(AtomicU64::new(1));
    let body = CallBody::new("check_aws_command", "aws sqs list-queues", ids.clone());
    let mut first = mcp::session(&endpoint, &ids).await?;
    // Warm-up (the identity lookup, caches), then the baseline.
    let _ = probe_calls(&mut first, &body, 20).await;
    let (base, base_statuses) = probe_calls(&mut first, &body, PROBE_CALLS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss_kib().unwrap_or(0);
    let rss = RssSampler::start(server.pid, Duration::from_millis(100));
    let started = Instant::now();
    // In steps, with the RSS after each (how it grows with the sessions).
    let mut made = Vec::with_capacity(SESSIONS);
    let mut failed = Vec::new();
    let mut steps = Vec::new();
    for step in STEPS {
        let (m, f) = open_sessions(&endpoint, &ids, step - made.len(), OPENERS).await;
        made.extend(m);
        failed.extend(f);
        steps.push(format!(
            "{} sessions {} MiB",
            made.len(),
            mib(server.rss_kib().unwrap_or(0))
        ));
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = server.rss_kib().unwrap_or(0);
    let gauges = super::server::Probe::new(&endpoint).metrics().await?;
    let (live, asleep) = (
        gauges.get_or_zero("portcullis_http_sessions", &[("state", "live")]),
        gauges.get_or_zero("portcullis_http_sessions", &[("state", "asleep")]),
    );
    println!("  sessions live {live}, asleep {asleep} (PORTCULLIS_MAX_LIVE_SESSIONS default 256)");
    let mut fresh = mcp::session(&endpoint, &ids).await?;
    let (during, during_statuses) = probe_calls(&mut fresh, &body, PROBE_CALLS).await;
    // One of the idle sessions (the first made) still answers.
    let oldest_ok = call_in(&endpoint, made.first(), &body).await;
    let rss_peak = rss.peak().max(rss_after);
    drop(rss);
    // End them all (DELETE), and see what memory comes back.
    let deleted_from = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for chunk in made.chunks(made.len().div_ceil(OPENERS).max(1)) {
        let (endpoint, chunk) = (endpoint.clone(), chunk.to_vec());
        set.spawn(async move {
            let mut conn = HttpConn::new(endpoint, None);
            for s in chunk {
                conn.session = Some(s);
                conn.delete_session().await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let deleting = deleted_from.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_deleted = server.rss_kib().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_deleted_later = server.rss_kib().unwrap_or(0);
    let oldest_after_delete = call_in(&endpoint, made.first(), &body).await;
    println!(
        "  opened {} sessions ({} failed{}) over {OPENERS} connections in {:.2} s ({:.0} sessions/s)",
        made.len(),
        failed.len(),
        failed
            .first()
            .map(|f| format!(", first failure: {f}"))
            .unwrap_or_default(),
        took.as_secs_f64(),
        made.len() as f64 / took.as_secs_f64()
    );
    print_table(
        &[
            "check_aws_command, 300 sequential",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "statuses",
        ],
        &[
            vec![
                "baseline (1 session)".into(),
                ms_ns(base.p50),
                ms_ns(base.p90),
                ms_ns(base.p99),
                ms_ns(base.max),
                show_counts(&base_statuses),
            ],
            vec![
                format!("new session, {} idle", made.len()),
                ms_ns(during.p50),
                ms_ns(during.p90),
                ms_ns(during.p99),
                ms_ns(during.max),
                show_counts(&during_statuses),
            ],
        ],
    );
    let per_session = if made.is_empty() {
        0.0
    } else {
        (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / made.len() as f64
    };
    println!(
        "  RSS: before {} MiB, peak {} MiB, after {} MiB (≈ {:.1} KiB per session); oldest idle session's call: {oldest_ok}",
        mib(rss_before),
        mib(rss_peak),
        mib(rss_after),
        per_session / 1024.0
    );
    println!("  RSS by step: {}", steps.join(", "));
    println!(
        "  after DELETE of all {} sessions ({:.2} s): RSS {} MiB 1 s later, {} MiB 4 s later; the oldest session's call now: {oldest_after_delete}",
        made.len(),
        deleting.as_secs_f64(),
        mib(rss_deleted),
        mib(rss_deleted_later)
    );
    // Opened again: memory reused (the allocator kept it) or more of it (held by the ended ones)?
    let (again, _) = open_sessions(&endpoint, &ids, SESSIONS, OPENERS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "  {} sessions opened again after the DELETEs: RSS {} MiB",
        again.len(),
        mib(server.rss_kib().unwrap_or(0))
    );
    report.check(
        "10 000 sessions opened",
        made.len() == SESSIONS && failed.is_empty(),
        format!("{} opened, {} failed", made.len(), failed.len()),
    );
    report.check(
        "RSS peak < 200 MiB with the sessions idle",
        rss_peak < 200 * 1024,
        format!("{} MiB", mib(rss_peak)),
    );
    let all_ok = during_statuses.keys().all(|k| k == "ok");
    report.check(
        "a new session's check_aws_command answers normally",
        all_ok && oldest_ok == "ok",
        format!(
            "{}; oldest idle session: {oldest_ok}",
            show_counts(&during_statuses)
        ),
    );
    let bound = base.p50 * 2 + 1_000_000;
    report.check(
        "its p50 ≤ 2 × baseline p50 + 1 ms",
        during.p50 <= bound,
        format!(
            "{} ms vs baseline {} ms (p99 {} vs {} ms)",
            ms_ns(during.p50),
            ms_ns(base.p50),
            ms_ns(during.p99),
            ms_ns(base.p99)
        ),
    );
    server.kill();
    drop(server);

    // The default caps: more sessions than one principal may hold.
    let server = Server::start(
        &ctx.bin,
        "sessions-default",
        &[("AWS_ENDPOINT_URL", catch_all.url())],
    )
    .await?;
    let endpoint = server.endpoint()?;
    let (made, failed) = open_sessions(&endpoint, &ids, OVER_CAP, 1).await;
    let mut gone = Vec::new();
    let mut other = std::collections::BTreeMap::new();
    for (i, s) in made.iter().enumerate() {
        let mut c = HttpConn::new(endpoint.clone(), Some(s.clone()));
        let status = mcp::call(&mut c, &body, Duration::from_secs(10))
            .await
            .0
            .status;
        if status == "http_404" {
            gone.push(i);
        } else {
            *other.entry(status).or_insert(0u64) += 1;
        }
    }
    let mut fresh = mcp::session(&endpoint, &ids).await?;
    let (after_cap, after_statuses) = probe_calls(&mut fresh, &body, 20).await;
    let expected = OVER_CAP - DEFAULT_PER_PRINCIPAL;
    let oldest = gone.iter().all(|&i| i < expected);
    println!(
        "  default caps (16384 in all, {DEFAULT_PER_PRINCIPAL} per principal): opened {} of {OVER_CAP} ({} failed); then {} answered 404 (evicted), the rest: {}; evicted were the oldest: {oldest}; a new session: {} (p50 {} ms)",
        made.len(),
        failed.len(),
        gone.len(),
        show_counts(&other),
        show_counts(&after_statuses),
        ms_ns(after_cap.p50)
    );
    report.check(
        "default caps: the oldest idle sessions forgotten, a new session works",
        made.len() == OVER_CAP
            && gone.len() == expected
            && oldest
            && after_statuses.keys().all(|k| k == "ok"),
        format!(
            "{} of {OVER_CAP} evicted (expected the first {expected}); new session {}",
            gone.len(),
            show_counts(&after_statuses)
        ),
    );
    drop(server);
    Ok(report)
}
