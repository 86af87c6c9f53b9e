//! The load generator's core: drives `tools/call` against an MCP server over streamable HTTP or
//! stdio at each connection level in turn and reports latency percentiles and outcome counts.
//!
//! * **Closed loop** (default): `N` connections each send one request at a time for
//!   `warmup + duration`; only requests started after the warm-up are counted.
//! * **Open loop** ([`Config::schedule`]): requests are started on a fixed schedule (phases of
//!   `rate` requests/s for a while, e.g. a spike) over a pool of `N` connections; latency runs
//!   from each request's scheduled time, so a server that falls behind is charged for the wait
//!   (no coordinated omission). Requests that cannot even be queued (more than
//!   [`Config::max_in_flight`]) are counted as dropped.
//!
//! Over HTTP a connection is one keep-alive TCP connection; in the default shared-session mode
//! every connection speaks in one MCP session. Over stdio a "connection" is one concurrent
//! in-flight request on the single pipe.

pub mod http;
pub mod sse;
pub mod stats;
pub mod stdio;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use self::http::{Endpoint, HttpConn};
use self::stats::{LevelReport, Outcome, Tally, classify};
use self::stdio::{StdioClient, StdioServer};
use crate::units::{format_duration, parse_duration};

/// The protocol version asked for in `initialize` unless told otherwise.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// How HTTP connections share MCP sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// One session for every connection (like wrk with a fixed session header).
    Shared,
    /// Each connection initializes its own session (ended with `DELETE` after its level).
    PerConnection,
}

/// What to load.
pub enum Target {
    /// Streamable HTTP at `url` (`http://127.0.0.1:PORT/mcp`).
    Http {
        url: String,
        token: Option<String>,
        sessions: Sessions,
    },
    /// A server program started over stdio; its stderr appended to `server_log` if given.
    Stdio {
        program: PathBuf,
        args: Vec<String>,
        server_log: Option<PathBuf>,
    },
    /// A stdio client already connected (not yet initialized), e.g. to an in-process server.
    Pipe(Arc<StdioClient>),
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Http { url, sessions, .. } => format!(
                "http {url} ({} session)",
                match sessions {
                    Sessions::Shared => "shared",
                    Sessions::PerConnection => "per-connection",
                }
            ),
            Target::Stdio { program, args, .. } => {
                format!("stdio {}", StdioServer::describe(program, args))
            }
            Target::Pipe(_) => "stdio (pipe)".into(),
        }
    }
}

/// One phase of an open-loop schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Requests per second.
    pub rate: f64,
    pub duration: Duration,
}

/// `R1@T1,R2@T2,…`: `R1` requests/s for `T1`, then `R2` for `T2` (`100@3s,1000@5s`).
pub fn parse_schedule(text: &str) -> Result<Vec<Phase>, String> {
    let phases = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| {
            let (rate, duration) = part
                .split_once('@')
                .ok_or_else(|| format!("`{part}`: a phase is RATE@DURATION, e.g. 100@3s"))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .map_err(|_| format!("`{rate}` is not a rate"))?;
            if !(rate > 0.0 && rate <= 1e6) {
                return Err(format!("rate `{rate}` is out of range (0, 1000000]"));
            }
            Ok(Phase {
                rate,
                duration: parse_duration(duration)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if phases.is_empty() {
        return Err(format!("`{text}`: no phases"));
    }
    Ok(phases)
}

/// A run's settings.
pub struct Config {
    pub target: Target,
    /// `call_aws`, `check_aws_command`, …
    pub tool: String,
    /// The tool's arguments (`{"cli_command": "aws …"}`).
    pub arguments: Value,
    pub protocol_version: String,
    /// Connection counts, run in turn.
    pub levels: Vec<usize>,
    /// Measured time per level (closed loop).
    pub duration: Duration,
    /// Unmeasured time before it (closed loop; open loop: at the first phase's rate).
    pub warmup: Duration,
    /// At most this many measured requests per level (closed loop).
    pub max_requests: Option<u64>,
    /// Open loop: the schedule, run at each level.
    pub schedule: Option<Vec<Phase>>,
    /// Open loop: requests queued or in flight at most; beyond, scheduled requests are dropped.
    pub max_in_flight: usize,
    /// Per request.
    pub timeout: Duration,
}

impl Config {
    /// The longest the run should take, for a hard bound around it.
    pub fn expected_time(&self) -> Duration {
        let per_level = match &self.schedule {
            Some(phases) => phases.iter().map(|p| p.duration).sum::<Duration>(),
            None => self.duration,
        } + self.warmup
            + self.timeout
            + Duration::from_secs(5);
        per_level * u32::try_from(self.levels.len()).unwrap_or(u32::MAX)
    }
}

pub(crate) fn initialize_message(id: u64, protocol_version: &str) -> Bytes {
    Bytes::from(
        json!({
            "jsonrpc": "2.0", "id": id, "method": "initialize",
            "params": {
                "protocolVersion": protocol_version,
                "capabilities": {},
                "clientInfo": {"name": "portcullis-load", "version": env!("CARGO_PKG_VERSION")},
            }
        })
        .to_string(),
    )
}

pub(crate) fn initialized_message() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
}

/// `tools/call` bodies with a fresh id each, the params serialized once.
#[derive(Clone)]
struct Calls {
    params: Arc<str>,
    ids: Arc<AtomicU64>,
}

impl Calls {
    fn next(&self) -> (u64, Bytes) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{}}}"#,
            self.params
        );
        (id, Bytes::from(body))
    }
}

/// One worker's way to the server.
enum Client {
    Http(HttpConn),
    Pipe(Arc<StdioClient>),
}

impl Client {
    /// TCP connections opened so far (HTTP).
    fn connects(&self) -> u64 {
        match self {
            Client::Http(conn) => conn.connects,
            Client::Pipe(_) => 0,
        }
    }

    async fn call(&mut self, id: u64, body: Bytes, timeout: Duration) -> Outcome {
        match self {
            Client::Http(conn) => {
                match tokio::time::timeout(timeout, conn.post(body, Some(id), true)).await {
                    Err(_) => {
                        conn.disconnect();
                        Outcome::Transport("timeout".into())
                    }
                    Ok(Err(outcome)) => outcome,
                    Ok(Ok(reply)) => match (reply.status, reply.message) {
                        (200, Some(msg)) => classify(&msg),
                        (200, None) => {
                            Outcome::Transport("no JSON-RPC response in the reply".into())
                        }
                        (s @ (429 | 503), _) => Outcome::Refused(format!("HTTP {s}")),
                        (s, _) => Outcome::Http(s),
                    },
                }
            }
            Client::Pipe(pipe) => match tokio::time::timeout(timeout, pipe.request(id, body)).await
            {
                Err(_) => {
                    pipe.forget(id);
                    Outcome::Transport("timeout".into())
                }
                Ok(Err(outcome)) => outcome,
                Ok(Ok(msg)) => classify(&msg),
            },
        }
    }
}

/// The server under load and the session(s) with it.
enum Driver {
    Http {
        endpoint: Arc<Endpoint>,
        sessions: Sessions,
        /// The shared session's own connection (for `DELETE` at the end).
        setup: Box<HttpConn>,
    },
    Pipe {
        client: Arc<StdioClient>,
        /// Kept to kill the program at the end.
        _server: Option<StdioServer>,
    },
}

impl Driver {
    async fn open(config: &Config, ids: &AtomicU64) -> anyhow::Result<Driver> {
        let next = || ids.fetch_add(1, Ordering::Relaxed);
        match &config.target {
            Target::Http {
                url,
                token,
                sessions,
            } => {
                let endpoint = Arc::new(Endpoint::parse(
                    url,
                    token.clone(),
                    &config.protocol_version,
                )?);
                let mut setup = HttpConn::new(endpoint.clone(), None);
                if *sessions == Sessions::Shared {
                    setup.initialize(next()).await?;
                }
                Ok(Driver::Http {
                    endpoint,
                    sessions: *sessions,
                    setup: Box::new(setup),
                })
            }
            Target::Stdio {
                program,
                args,
                server_log,
            } => {
                let server = StdioServer::spawn(program, args, server_log.as_deref())?;
                Driver::pipe(
                    server.client.clone(),
                    Some(server),
                    next(),
                    &config.protocol_version,
                )
                .await
            }
            Target::Pipe(client) => {
                Driver::pipe(client.clone(), None, next(), &config.protocol_version).await
            }
        }
    }

    /// Over stdio: `client` initialized (with request `id`, 30 s at most); `server`, the program
    /// it speaks to if started here.
    async fn pipe(
        client: Arc<StdioClient>,
        server: Option<StdioServer>,
        id: u64,
        protocol_version: &str,
    ) -> anyhow::Result<Driver> {
        tokio::time::timeout(
            Duration::from_secs(30),
            client.initialize(id, protocol_version),
        )
        .await
        .context("initialize over stdio: no answer in 30 s")??;
        Ok(Driver::Pipe {
            client,
            _server: server,
        })
    }

    /// `n` clients, connected (and, per-connection, initialized) before timing starts.
    async fn clients(&self, n: usize, ids: &Arc<AtomicU64>) -> anyhow::Result<Vec<Client>> {
        match self {
            Driver::Pipe { client, .. } => {
                Ok((0..n).map(|_| Client::Pipe(client.clone())).collect())
            }
            Driver::Http {
                endpoint,
                sessions,
                setup,
            } => {
                let mut set = JoinSet::new();
                for _ in 0..n {
                    let mut conn = HttpConn::new(endpoint.clone(), setup.session.clone());
                    let per_connection = *sessions == Sessions::PerConnection;
                    let ids = ids.clone();
                    set.spawn(async move {
                        if per_connection {
                            conn.initialize(ids.fetch_add(1, Ordering::Relaxed)).await?;
                        } else {
                            conn.connect()
                                .await
                                .map_err(|o| anyhow::anyhow!("connect: {o:?}"))?;
                        }
                        anyhow::Ok(conn)
                    });
                }
                let mut out = Vec::with_capacity(n);
                while let Some(joined) = set.join_next().await {
                    out.push(Client::Http(joined.context("connection setup")??));
                }
                Ok(out)
            }
        }
    }

    /// After a level: per-connection sessions are ended.
    async fn release(&self, clients: Vec<Client>) {
        if let Driver::Http {
            sessions: Sessions::PerConnection,
            ..
        } = self
        {
            let mut set = JoinSet::new();
            for client in clients {
                if let Client::Http(mut conn) = client {
                    set.spawn(async move { conn.delete_session().await });
                }
            }
            while set.join_next().await.is_some() {}
        }
    }

    async fn close(self) {
        match self {
            Driver::Http { mut setup, .. } => setup.delete_session().await,
            Driver::Pipe { client, _server } => {
                client.close();
                drop(_server);
            }
        }
    }
}

/// Runs every level in turn; `on_level` sees each report as it is made.
pub async fn run(
    config: &Config,
    mut on_level: impl FnMut(&LevelReport),
) -> anyhow::Result<Vec<LevelReport>> {
    let ids = Arc::new(AtomicU64::new(1));
    let calls = Calls {
        params: json!({"name": config.tool, "arguments": config.arguments})
            .to_string()
            .into(),
        ids: ids.clone(),
    };
    let driver = Driver::open(config, &ids).await?;
    let mut out = Vec::new();
    for &n in &config.levels {
        let clients = match driver.clients(n, &ids).await {
            Ok(c) => c,
            Err(e) => {
                driver.close().await;
                return Err(e.context(format!("setting up {n} connections")));
            }
        };
        let (reports, clients) = match &config.schedule {
            None => {
                let (report, clients) = closed_loop(config, &calls, clients).await;
                (vec![report], clients)
            }
            Some(phases) => open_loop(config, &calls, clients, phases).await,
        };
        driver.release(clients).await;
        for r in reports {
            on_level(&r);
            out.push(r);
        }
    }
    driver.close().await;
    Ok(out)
}

/// Each client sends one request at a time until the level's end.
async fn closed_loop(
    config: &Config,
    calls: &Calls,
    clients: Vec<Client>,
) -> (LevelReport, Vec<Client>) {
    let n = clients.len();
    let measure_from = Instant::now() + config.warmup;
    let stop_at = measure_from + config.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    for mut client in clients {
        let calls = calls.clone();
        let issued = issued.clone();
        let cap = config.max_requests;
        let timeout = config.timeout;
        set.spawn(async move {
            let mut tally = Tally::default();
            let mut last = measure_from;
            let connects = client.connects();
            loop {
                let start = Instant::now();
                if start >= stop_at {
                    break;
                }
                let measured = start >= measure_from;
                if measured
                    && let Some(cap) = cap
                    && issued.fetch_add(1, Ordering::Relaxed) >= cap
                {
                    break;
                }
                let (id, body) = calls.next();
                let outcome = client.call(id, body, timeout).await;
                let end = Instant::now();
                if measured {
                    tally.record(&outcome, end - start);
                    last = last.max(end);
                }
            }
            tally.reconnects = client.connects() - connects;
            (client, tally, last)
        });
    }
    let mut tally = Tally::default();
    let mut last = measure_from;
    let mut clients = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        if let Ok((client, t, l)) = joined {
            clients.push(client);
            tally.merge(t);
            last = last.max(l);
        }
    }
    let elapsed = last.saturating_duration_since(measure_from);
    (tally.report("closed", n, elapsed), clients)
}

/// Starts requests on the schedule over a pool of the clients; one report per phase.
async fn open_loop(
    config: &Config,
    calls: &Calls,
    clients: Vec<Client>,
    phases: &[Phase],
) -> (Vec<LevelReport>, Vec<Client>) {
    let n = clients.len();
    let connects: u64 = clients.iter().map(Client::connects).sum();
    let pool = Arc::new(std::sync::Mutex::new(clients));
    let permits = Arc::new(Semaphore::new(n));
    let in_flight = Arc::new(AtomicUsize::new(0));
    // (phase, outcome, latency): outcome None for a dropped request; the warm-up's phase index
    // (usize::MAX) has no tally, so it is not recorded.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Option<Outcome>, Duration)>();
    let counted = phases.len();
    let collector = tokio::spawn(async move {
        let mut tallies = vec![Tally::default(); counted];
        while let Some((phase, outcome, latency)) = rx.recv().await {
            if let Some(t) = tallies.get_mut(phase) {
                match outcome {
                    Some(o) => t.record(&o, latency),
                    None => t.dropped += 1,
                }
            }
        }
        tallies
    });

    let mut plan: Vec<(usize, Phase)> = Vec::new();
    if !config.warmup.is_zero()
        && let Some(first) = phases.first()
    {
        plan.push((
            usize::MAX,
            Phase {
                rate: first.rate,
                duration: config.warmup,
            },
        ));
    }
    plan.extend(phases.iter().copied().enumerate());

    let mut set = JoinSet::new();
    let mut phase_start = Instant::now() + Duration::from_millis(5);
    for (index, phase) in plan {
        let count = (phase.rate * phase.duration.as_secs_f64()).round() as u64;
        for k in 0..count {
            let at = phase_start + Duration::from_secs_f64(k as f64 / phase.rate);
            tokio::time::sleep_until(at.into()).await;
            while set.try_join_next().is_some() {}
            if in_flight.load(Ordering::SeqCst) >= config.max_in_flight {
                let _ = tx.send((index, None, Duration::ZERO));
                continue;
            }
            in_flight.fetch_add(1, Ordering::SeqCst);
            let (pool, permits, in_flight, tx) =
                (pool.clone(), permits.clone(), in_flight.clone(), tx.clone());
            let (id, body) = calls.next();
            let timeout = config.timeout;
            set.spawn(async move {
                let permit = permits.acquire_owned().await;
                let client = pool.lock().ok().and_then(|mut p| p.pop());
                let outcome = match client {
                    Some(mut client) => {
                        let o = client.call(id, body, timeout).await;
                        if let Ok(mut p) = pool.lock() {
                            p.push(client);
                        }
                        o
                    }
                    None => Outcome::Transport("no free connection".into()),
                };
                drop(permit);
                let _ = tx.send((index, Some(outcome), at.elapsed()));
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
        phase_start += phase.duration;
    }
    // Bounded wait for the stragglers; whatever is still out then is abandoned.
    let grace = config.timeout + Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await;
    set.abort_all();
    while set.join_next().await.is_some() {}
    drop(tx);
    let tallies = collector.await.unwrap_or_default();
    let clients = pool
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    let reconnects = clients
        .iter()
        .map(Client::connects)
        .sum::<u64>()
        .saturating_sub(connects);
    let mut tallies = tallies;
    if let Some(last) = tallies.last_mut() {
        last.reconnects = reconnects; // over the whole schedule
    }
    let reports = tallies
        .into_iter()
        .zip(phases)
        .map(|(t, p)| {
            let label = format!("{}/s {}", p.rate, format_duration(p.duration));
            t.report(&label, n, p.duration)
        })
        .collect();
    (reports, clients)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(
            parse_schedule("100@3s,1000@5s"),
            Ok(vec![
                Phase {
                    rate: 100.0,
                    duration: Duration::from_secs(3)
                },
                Phase {
                    rate: 1000.0,
                    duration: Duration::from_secs(5)
                }
            ])
        );
        assert!(parse_schedule("100").is_err());
        assert!(parse_schedule("0@1s").is_err());
        assert!(parse_schedule("x@1s").is_err());
        assert!(parse_schedule("").is_err());
    }

    #[test]
    fn call_bodies() {
        let calls = Calls {
            params: json!({"name": "check_aws_command", "arguments": {"cli_command": "aws s3 ls"}})
                .to_string()
                .into(),
            ids: Arc::new(AtomicU64::new(5)),
        };
        let (id, body) = calls.next();
        assert_eq!(id, 5);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["id"], 5);
        assert_eq!(v["method"], "tools/call");
        assert_eq!(v["params"]["arguments"]["cli_command"], "aws s3 ls");
        assert_eq!(calls.next().0, 6);
    }
}
