//! `portcullis gateway`: the same controls in front of other MCP servers.
//!
//! The gateway starts each upstream MCP server its configuration names ([`config`]; the one place
//! Portcullis starts a program is the `portcullis-launcher` crate), or reaches it over streamable
//! HTTP with its own token, speaks MCP to it as a client,
//! and serves one MCP endpoint (stdio or streamable HTTP) whose tools are the upstreams' tools prefixed by upstream
//! (`dynamodb__list_tables`), and so are its prompts. Between the two:
//!
//! * **Pinning** ([`lock`]): `portcullis gateway pin` records the SHA-256 of the RFC 8785
//!   canonical JSON of every tool, prompt and resource template definition. At start, on every
//!   `list_changed`, every minute and on every `tools/list` of the client, the gateway lists the
//!   upstreams again and compares: a changed, added, removed or renamed definition is
//!   **quarantined** — absent from the tools served, refused when called, an audit record with
//!   the diff, a counter — until `portcullis gateway approve` or a new pin accepts it. Quarantine
//!   is sticky for the run: an upstream that changes a definition and changes it back stays
//!   quarantined (a rug pull).
//! * **The poisoning scan** (`portcullis_gateway::scan`) on every definition when it is pinned and
//!   on every drift: hidden Unicode, instructions aimed at the model, references to other tools,
//!   parameters asking for secrets. Findings hold a definition back from `pin` and `approve`
//!   unless forced.
//! * **Policy** ([`rules`]): deny, consent and allow rules on `upstream__tool` wildcards; the
//!   read/write classification from the upstream's annotations, which the policy overrides; an
//!   unannotated tool is a write.
//! * **Consent** by MCP elicitation, bound to the digest of (upstream, tool, canonical
//!   arguments): the call sent is the call approved.
//! * **Limits**: per upstream, a concurrency limit, a timeout and a circuit breaker.
//! * **Audit**: one record per proxied call (upstream, tool, argument digest, decision, outcome)
//!   and one per drift, in the same hash-chained trail as `serve`. Results pass secret redaction
//!   ([`redact`]).

pub mod cli;
pub mod config;
pub mod lock;
pub mod redact;
pub mod rules;
mod server;
mod upstream;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};
use rmcp::service::{Peer, RoleClient, RoleServer};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::pipeline::record::Recorder;
use config::{GatewayConfig, SEP, UpstreamConfig};
use lock::{ItemPin, Kind, LockFile, Pending, PendingItem};
pub use server::GatewayServer;
use upstream::Listing;

/// How long an upstream has to answer `initialize`, and a listing.
const START_WITHIN: Duration = Duration::from_secs(120);
const LIST_WITHIN: Duration = Duration::from_secs(30);
/// How often upstreams are listed again without being asked (a change with no `list_changed`).
const RELIST_EVERY: Duration = Duration::from_secs(60);

/// Why a definition is not served.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantine {
    /// In words: what changed.
    pub reason: String,
    /// The definition the upstream lists now (`None`: it no longer lists it).
    pub definition: Option<Value>,
    /// Its digest.
    pub sha256: Option<String>,
    /// The pin's digest when it was quarantined (a new pin lifts the quarantine).
    pub pinned: Option<String>,
    /// What changed against the pin.
    pub diff: Vec<portcullis_gateway::diff::FieldChange>,
    /// Scan findings (`rule at path: detail`).
    pub findings: Vec<String>,
}

/// Where an upstream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not started yet, or starting.
    Starting,
    /// Serving.
    Ready,
    /// Ended or failed to start; restarting with backoff.
    Down(String),
}

/// What the gateway knows of one upstream.
#[derive(Debug, Default)]
struct View {
    status: Option<Status>,
    /// The last listing.
    listing: Option<Listing>,
    /// Tools served, by unprefixed name.
    tools: BTreeMap<String, Tool>,
    /// Prompts served, by unprefixed name.
    prompts: BTreeMap<String, Prompt>,
    /// Resource templates served, by unprefixed name.
    templates: BTreeMap<String, ResourceTemplate>,
    /// Quarantined definitions (sticky for the run).
    quarantined: BTreeMap<(Kind, String), Quarantine>,
}

/// One upstream: its configuration, connection and view.
pub struct Upstream {
    /// Its configuration.
    pub config: UpstreamConfig,
    changed: Arc<Notify>,
    peer: RwLock<Option<Peer<RoleClient>>>,
    view: RwLock<View>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// How the gateway reads its own environment (the process's, or a test's).
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Counters of the gateway (`portcullis_gateway_*`, written to the log when the gateway stops).
#[derive(Debug, Default)]
pub struct Counters {
    /// Proxied calls by outcome.
    pub calls_forwarded: AtomicU64,
    /// Calls refused by the policy.
    pub calls_denied: AtomicU64,
    /// Calls refused because the tool is quarantined.
    pub calls_quarantined: AtomicU64,
    /// Calls a person declined, or could not be asked about.
    pub calls_not_approved: AtomicU64,
    /// Calls that failed upstream (error, timeout, breaker open, upstream down).
    pub calls_failed: AtomicU64,
    /// Definitions quarantined.
    pub quarantines: AtomicU64,
}

impl Counters {
    /// Prometheus text.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "portcullis_gateway_calls_total{{outcome=\"forwarded\"}} {}\nportcullis_gateway_calls_total{{outcome=\"denied\"}} {}\nportcullis_gateway_calls_total{{outcome=\"quarantined\"}} {}\nportcullis_gateway_calls_total{{outcome=\"not_approved\"}} {}\nportcullis_gateway_calls_total{{outcome=\"failed\"}} {}\nportcullis_gateway_quarantined_total {}\n",
            g(&self.calls_forwarded),
            g(&self.calls_denied),
            g(&self.calls_quarantined),
            g(&self.calls_not_approved),
            g(&self.calls_failed),
            g(&self.quarantines)
        )
    }
}

/// The lock file as last read, and how to tell it changed.
struct Pins {
    lock: LockFile,
    stamp: Option<(SystemTime, u64)>,
}

/// The gateway: upstreams, pins, policy, trail.
pub struct Gateway {
    /// The configuration.
    pub config: GatewayConfig,
    upstreams: Vec<Arc<Upstream>>,
    recorder: Arc<Recorder>,
    pins: Mutex<Pins>,
    downstream: Mutex<Vec<Peer<RoleServer>>>,
    breakers: portcullis_resilience::breaker::Breakers,
    /// Counters.
    pub counters: Counters,
    env: EnvLookup,
    /// Cedar policies on tool calls (`[policy] cedar`).
    cedar: Option<portcullis_policy::tools::ToolPolicies>,
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// `definition` without its `name` (to recognise a rename).
fn nameless(definition: &Value) -> Value {
    let mut d = definition.clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("name");
    }
    d
}

/// Every definition of a listing, as JSON, by kind and name.
fn items(listing: &Listing) -> Vec<(Kind, String, Value)> {
    let mut out = Vec::new();
    for t in &listing.tools {
        if let Ok(v) = serde_json::to_value(t) {
            out.push((Kind::Tool, t.name.to_string(), v));
        }
    }
    for p in &listing.prompts {
        if let Ok(v) = serde_json::to_value(p) {
            out.push((Kind::Prompt, p.name.clone(), v));
        }
    }
    for r in &listing.templates {
        if let Ok(v) = serde_json::to_value(r) {
            out.push((Kind::ResourceTemplate, r.name.clone(), v));
        }
    }
    out
}

/// Scan findings of `definition` as lines (`rule at path: detail`).
pub fn findings(definition: &Value, others: &[String]) -> Vec<String> {
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    portcullis_gateway::scan::scan(definition, &others)
        .into_iter()
        .map(|f| {
            format!(
                "{} at {}: {}",
                f.rule,
                if f.path.is_empty() { "/" } else { &f.path },
                f.detail
            )
        })
        .collect()
}

impl Gateway {
    /// A gateway over `config`'s upstreams (not started: see [`Gateway::start`]).
    pub fn new(
        config: GatewayConfig,
        recorder: Arc<Recorder>,
        env: EnvLookup,
    ) -> anyhow::Result<Gateway> {
        let lock = LockFile::load(&config.lock)?;
        let cedar = match &config.cedar {
            None => None,
            Some(path) => Some(load_cedar(path, &lock)?),
        };
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| {
                Arc::new(Upstream {
                    config: u.clone(),
                    changed: Arc::new(Notify::new()),
                    peer: RwLock::new(None),
                    view: RwLock::new(View::default()),
                    permits: Arc::new(tokio::sync::Semaphore::new(u.max_concurrency)),
                })
            })
            .collect();
        Ok(Gateway {
            pins: Mutex::new(Pins {
                stamp: stamp(&config.lock),
                lock,
            }),
            config,
            upstreams,
            recorder,
            downstream: Mutex::new(Vec::new()),
            breakers: portcullis_resilience::breaker::Breakers::new(Default::default()),
            counters: Counters::default(),
            env,
            cedar,
        })
    }

    /// The decision on calling `name` (`upstream__tool`) with `args`: the tool rules, then the
    /// Cedar policies; deny beats consent beats allow, and a rule or policy beats the mode.
    pub fn decide(
        &self,
        name: &str,
        annotations: Option<&rmcp::model::ToolAnnotations>,
        args: &serde_json::Map<String, Value>,
    ) -> rules::ToolDecision {
        let native = self.config.rules.decide(name, annotations);
        let Some(cedar) = &self.cedar else {
            return native;
        };
        let (upstream, tool) = name.split_once(SEP).unwrap_or(("", name));
        let read_only = native.class == rules::Class::Read;
        let destructive =
            !read_only && annotations.and_then(|a| a.destructive_hint).unwrap_or(true);
        let verdict = cedar.decide(&portcullis_policy::tools::ToolCall {
            principal: "owner",
            upstream,
            tool,
            read_only,
            destructive,
            arguments: args,
        });
        native.with_cedar(verdict)
    }

    /// Starts every upstream's supervisor and waits (up to `within`) for each to be listed once.
    pub async fn start(self: &Arc<Self>, within: Duration) {
        for up in &self.upstreams {
            let gw = Arc::clone(self);
            let up = Arc::clone(up);
            tokio::spawn(async move { gw.supervise(up).await });
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let pending: Vec<String> = self
                .upstreams
                .iter()
                .filter(|u| {
                    u.view
                        .read()
                        .map(|v| v.listing.is_none() && !matches!(v.status, Some(Status::Down(_))))
                        .unwrap_or(false)
                })
                .map(|u| u.config.name.clone())
                .collect();
            if pending.is_empty() || tokio::time::Instant::now() >= deadline {
                if !pending.is_empty() {
                    tracing::warn!(
                        "portcullis: gateway: still starting after {} s: {}",
                        within.as_secs(),
                        pending.join(", ")
                    );
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The upstream called `name`.
    pub fn upstream(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.upstreams.iter().find(|u| u.config.name == name)
    }

    /// The upstreams.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    /// Keeps one upstream running: start, list, watch for changes and its end, restart.
    async fn supervise(self: Arc<Self>, up: Arc<Upstream>) {
        let mut backoff =
            portcullis_launcher::Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            up.set_status(Status::Starting);
            let conn = upstream::connect(
                &up.config,
                Arc::clone(&up.changed),
                &|k| (self.env)(k),
                START_WITHIN,
            )
            .await;
            let conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("portcullis: gateway: {e:#}");
                    up.set_status(Status::Down(format!("{e:#}")));
                    tokio::time::sleep(backoff.next_delay(getrandom::u64().unwrap_or(0))).await;
                    continue;
                }
            };
            tracing::info!(
                "portcullis: gateway: upstream {} started ({})",
                up.config.name,
                conn.what
            );
            if let Ok(mut p) = up.peer.write() {
                *p = Some(conn.peer());
            }
            self.refresh(&up).await;
            up.set_status(Status::Ready);
            let started = conn.started;
            let mut conn = conn;
            let ended = loop {
                tokio::select! {
                    () = up.changed.notified() => self.refresh(&up).await,
                    () = tokio::time::sleep(RELIST_EVERY) => self.refresh(&up).await,
                    how = conn.ended() => break how,
                }
            };
            conn.stop().await;
            if let Ok(mut p) = up.peer.write() {
                *p = None;
            }
            tracing::warn!(
                "portcullis: gateway: upstream {} ended ({ended}); restarting",
                up.config.name
            );
            up.set_status(Status::Down(format!("ended ({ended}); restarting")));
            if started.elapsed() > Duration::from_secs(60) {
                backoff.reset();
            }
            tokio::time::sleep(backoff.next_delay(getrandom::u64().unwrap_or(0))).await;
        }
    }

    /// Lists `up` again and compares with the pins.
    pub async fn refresh(&self, up: &Arc<Upstream>) {
        let Some(peer) = up.peer.read().ok().and_then(|p| p.clone()) else {
            return;
        };
        match upstream::list(&peer, LIST_WITHIN).await {
            Ok(listing) => self.evaluate(up, listing).await,
            Err(e) => tracing::warn!(
                "portcullis: gateway: upstream {}: cannot list: {e:#}",
                up.config.name
            ),
        }
    }

    /// What a client's listing (tools, prompts, resources, templates) sees: the pin file read
    /// again if it changed, then every ready upstream listed again.
    pub async fn relist(&self) {
        self.recheck_pins().await;
        self.refresh_all().await;
    }

    /// Lists every ready upstream again (the client's `tools/list`).
    pub async fn refresh_all(&self) {
        let all = self.upstreams.iter().map(|u| self.refresh(u));
        futures_util::future::join_all(all).await;
    }

    /// The pins, read again when the file changed (`approve` or `pin` ran). True when it did.
    fn reload_pins(&self) -> bool {
        let now = stamp(&self.config.lock);
        let Ok(mut pins) = self.pins.lock() else {
            return false;
        };
        if now == pins.stamp {
            return false;
        }
        match LockFile::load(&self.config.lock) {
            Ok(lock) => {
                tracing::info!(
                    "portcullis: gateway: pin file {} changed; comparing again",
                    self.config.lock.display()
                );
                pins.lock = lock;
                pins.stamp = now;
                true
            }
            Err(e) => {
                // Keep the pins we have: a broken file releases nothing.
                tracing::warn!("portcullis: gateway: {e:#}; keeping the pins read before");
                pins.stamp = now;
                false
            }
        }
    }

    /// Re-compares every upstream's last listing when the pin file changed.
    pub async fn recheck_pins(&self) {
        if !self.reload_pins() {
            return;
        }
        for up in &self.upstreams {
            let listing = up.view.read().ok().and_then(|v| v.listing.clone());
            if let Some(l) = listing {
                self.evaluate(up, l).await;
            }
        }
    }

    /// Every tool name served by the other upstreams (for the scan's cross-tool references).
    fn other_tools(&self, except: &str) -> Vec<String> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            if u.config.name == except {
                continue;
            }
            if let Ok(v) = u.view.read()
                && let Some(l) = &v.listing
            {
                out.extend(
                    l.tools
                        .iter()
                        .map(|t| format!("{}{SEP}{}", u.config.name, t.name)),
                );
            }
        }
        out
    }

    /// Compares `listing` with the pins: serves what matches, quarantines the rest (and records
    /// each new quarantine).
    async fn evaluate(&self, up: &Arc<Upstream>, listing: Listing) {
        self.reload_pins();
        let pin = self
            .pins
            .lock()
            .ok()
            .and_then(|p| p.lock.upstreams.get(&up.config.name).cloned());
        let others = self.other_tools(&up.config.name);
        let current = items(&listing);
        let names: BTreeSet<(Kind, String)> =
            current.iter().map(|(k, n, _)| (*k, n.clone())).collect();
        let pinned_sha = |kind: Kind, name: &str| {
            pin.as_ref()
                .and_then(|p| p.items(kind).get(name))
                .map(|i| i.sha256.clone())
        };
        let mut fresh: Vec<(Kind, String, Quarantine)> = Vec::new();
        let mut served = BTreeMap::new();
        let mut served_prompts = BTreeMap::new();
        let mut served_templates = BTreeMap::new();
        let before: BTreeSet<String>;
        let prompts_before: BTreeSet<String>;
        {
            let Ok(mut view) = up.view.write() else {
                return;
            };
            before = view.tools.keys().cloned().collect();
            prompts_before = view.prompts.keys().cloned().collect();
            // A new pin of an item lifts its quarantine.
            view.quarantined
                .retain(|(k, n), q| pinned_sha(*k, n) == q.pinned);
            for (kind, name, def) in &current {
                let sha = portcullis_gateway::canonical::digest(def);
                let pinned = pin.as_ref().and_then(|p| p.items(*kind).get(name));
                if let Some(q) = view.quarantined.get(&(*kind, name.clone()))
                    && q.sha256.as_deref() == Some(sha.as_str())
                {
                    continue; // quarantined before, unchanged since
                }
                let quarantine = match pinned {
                    Some(p) if p.sha256 == sha => {
                        if view.quarantined.contains_key(&(*kind, name.clone())) {
                            // Changed and changed back: still quarantined (a rug pull).
                            None
                        } else {
                            if *kind == Kind::Tool
                                && let Some(t) =
                                    listing.tools.iter().find(|t| t.name == name.as_str())
                            {
                                served.insert(name.clone(), t.clone());
                            }
                            if *kind == Kind::Prompt
                                && let Some(p) =
                                    listing.prompts.iter().find(|p| p.name == name.as_str())
                            {
                                served_prompts.insert(name.clone(), p.clone());
                            }
                            if *kind == Kind::ResourceTemplate
                                && let Some(t) =
                                    listing.templates.iter().find(|t| t.name == name.as_str())
                            {
                                served_templates.insert(name.clone(), t.clone());
                            }
                            continue;
                        }
                    }
                    Some(p) => {
                        let diff = portcullis_gateway::diff::diff(&p.definition, def);
                        Some(format!(
                            "its definition changed since it was pinned ({})",
                            portcullis_gateway::diff::summary(&diff)
                        ))
                        .map(|reason| (reason, diff))
                    }
                    None if pin.is_none() => Some((
                        format!(
                            "upstream `{}` has not been pinned; review its definitions with `portcullis gateway pin`",
                            up.config.name
                        ),
                        Vec::new(),
                    )),
                    None => {
                        let renamed = pin.as_ref().and_then(|p| {
                            p.items(*kind).iter().find(|(old, i)| {
                                !names.contains(&(*kind, (*old).clone()))
                                    && nameless(&i.definition) == nameless(def)
                            })
                        });
                        Some((
                            match renamed {
                                Some((old, _)) => {
                                    format!("it is the pinned {} `{old}` renamed", kind.as_str())
                                }
                                None => {
                                    format!("a new {} the pin file does not have", kind.as_str())
                                }
                            },
                            Vec::new(),
                        ))
                    }
                };
                let (reason, diff) = quarantine.unwrap_or_else(|| {
                    (
                        "it changed during this run and changed back; an upstream that changes its definitions stays quarantined until a person approves".into(),
                        Vec::new(),
                    )
                });
                let q = Quarantine {
                    reason,
                    definition: Some(def.clone()),
                    sha256: Some(sha),
                    pinned: pinned.map(|p| p.sha256.clone()),
                    diff,
                    findings: findings(def, &others),
                };
                view.quarantined.insert((*kind, name.clone()), q.clone());
                fresh.push((*kind, name.clone(), q));
            }
            // Pinned items the upstream no longer lists.
            if let Some(p) = &pin {
                for kind in [Kind::Tool, Kind::Prompt, Kind::ResourceTemplate] {
                    for (name, item) in p.items(kind) {
                        let key = (kind, name.clone());
                        if names.contains(&key) || view.quarantined.contains_key(&key) {
                            continue;
                        }
                        let q = Quarantine {
                            reason: format!(
                                "the upstream no longer lists this pinned {}",
                                kind.as_str()
                            ),
                            definition: None,
                            sha256: None,
                            pinned: Some(item.sha256.clone()),
                            diff: Vec::new(),
                            findings: Vec::new(),
                        };
                        view.quarantined.insert(key, q.clone());
                        fresh.push((kind, name.clone(), q));
                    }
                }
            }
            view.tools = served;
            view.prompts = served_prompts;
            view.templates = served_templates;
            view.listing = Some(listing);
        }
        for (kind, name, q) in &fresh {
            self.record_drift(up, *kind, name, q).await;
        }
        if !fresh.is_empty() {
            self.save_pending(&up.config.name, &fresh);
        }
        let after: BTreeSet<String> = up
            .view
            .read()
            .map(|v| v.tools.keys().cloned().collect())
            .unwrap_or_default();
        if after != before {
            self.notify_downstream(Kind::Tool).await;
        }
        let prompts_after: BTreeSet<String> = up
            .view
            .read()
            .map(|v| v.prompts.keys().cloned().collect())
            .unwrap_or_default();
        if prompts_after != prompts_before {
            self.notify_downstream(Kind::Prompt).await;
        }
    }

    /// One audit record, a log line and a count for a new quarantine.
    async fn record_drift(&self, up: &Upstream, kind: Kind, name: &str, q: &Quarantine) {
        self.counters.quarantines.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            "portcullis: gateway: quarantined {} `{}{SEP}{name}`: {}{}",
            kind.as_str(),
            up.config.name,
            q.reason,
            if q.findings.is_empty() {
                String::new()
            } else {
                format!("; scan: {}", q.findings.join("; "))
            }
        );
        let event = portcullis_audit::Event::drift(json!({
            "upstream": up.config.name,
            "kind": kind,
            "name": name,
            "reason": q.reason,
            "sha256": q.sha256,
            "pinned": q.pinned,
            "diff": q.diff,
            "findings": q.findings,
        }));
        if let Err(why) = self.recorder.record_async(Arc::new(event)).await {
            tracing::warn!("portcullis: gateway: {why}");
        }
    }

    /// Adds new quarantines to the pending file for `approve`.
    fn save_pending(&self, upstream: &str, fresh: &[(Kind, String, Quarantine)]) {
        let path = lock::pending_path(&self.config.lock);
        let mut pending = Pending::load(&path).unwrap_or_default();
        let entry = pending.upstreams.entry(upstream.to_string()).or_default();
        for (kind, name, q) in fresh {
            entry.insert(
                lock::pending_key(*kind, name),
                PendingItem {
                    kind: *kind,
                    definition: q.definition.clone(),
                    reason: q.reason.clone(),
                    diff: q.diff.clone(),
                    findings: q.findings.clone(),
                },
            );
        }
        if let Err(e) = pending.save(&path) {
            tracing::warn!(
                "portcullis: gateway: cannot write {}: {e:#}",
                path.display()
            );
        }
    }

    /// Tells every connected client that the tools (or prompts) changed.
    async fn notify_downstream(&self, kind: Kind) {
        let peers: Vec<Peer<RoleServer>> = self
            .downstream
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        for p in peers {
            let _ = match kind {
                Kind::Prompt => p.notify_prompt_list_changed().await,
                _ => p.notify_tool_list_changed().await,
            };
        }
    }

    /// The tools served, prefixed.
    pub fn served_tools(&self) -> Vec<Tool> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            if let Ok(v) = u.view.read() {
                for (name, t) in &v.tools {
                    let mut t = t.clone();
                    t.name = format!("{}{SEP}{name}", u.config.name).into();
                    out.push(t);
                }
            }
        }
        out
    }

    /// The resources served, names prefixed (URIs as the upstream gives them). An upstream's
    /// resources are data, not definitions: served while the upstream itself is pinned.
    pub fn served_resources(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            if !self.is_pinned(&u.config.name) {
                continue;
            }
            if let Ok(v) = u.view.read()
                && let Some(l) = &v.listing
            {
                for r in &l.resources {
                    let mut r = r.clone();
                    r.name = format!("{}{SEP}{}", u.config.name, r.name);
                    out.push(r);
                }
            }
        }
        out
    }

    /// The resource templates served (pinned, unchanged), names prefixed.
    pub fn served_templates(&self) -> Vec<ResourceTemplate> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            if let Ok(v) = u.view.read() {
                for (name, t) in &v.templates {
                    let mut t = t.clone();
                    t.name = format!("{}{SEP}{name}", u.config.name);
                    out.push(t);
                }
            }
        }
        out
    }

    /// Whether the pin file has `upstream`.
    fn is_pinned(&self, upstream: &str) -> bool {
        self.pins
            .lock()
            .map(|p| p.lock.upstreams.contains_key(upstream))
            .unwrap_or(false)
    }

    /// Which upstream serves `uri`, and under which (unprefixed) name: the one that lists it,
    /// else the one whose served template matches it. `Err` says why none (or more than one).
    pub fn route(&self, uri: &str) -> Result<(Arc<Upstream>, String), String> {
        let mut found: Vec<(Arc<Upstream>, String)> = Vec::new();
        for u in &self.upstreams {
            if !self.is_pinned(&u.config.name) {
                continue;
            }
            let Ok(v) = u.view.read() else { continue };
            if let Some(r) = v
                .listing
                .as_ref()
                .and_then(|l| l.resources.iter().find(|r| r.uri == uri))
            {
                found.push((Arc::clone(u), r.name.clone()));
                continue;
            }
            if let Some((name, _)) = v
                .templates
                .iter()
                .find(|(_, t)| template_matches(&t.uri_template, uri))
            {
                found.push((Arc::clone(u), name.clone()));
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(format!(
                "no upstream serves `{uri}` (see resources/list and resources/templates/list)"
            )),
            _ => Err(format!(
                "`{uri}` is served by more than one upstream ({}); it is not read",
                found
                    .iter()
                    .map(|(u, _)| u.config.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The prompts served, prefixed.
    pub fn served_prompts(&self) -> Vec<Prompt> {
        let mut out = Vec::new();
        for u in &self.upstreams {
            if let Ok(v) = u.view.read() {
                for (name, p) in &v.prompts {
                    let mut p = p.clone();
                    p.name = format!("{}{SEP}{name}", u.config.name);
                    out.push(p);
                }
            }
        }
        out
    }
}

impl Upstream {
    fn set_status(&self, s: Status) {
        if let Ok(mut v) = self.view.write() {
            v.status = Some(s);
        }
    }

    /// Its status.
    pub fn status(&self) -> Status {
        self.view
            .read()
            .ok()
            .and_then(|v| v.status.clone())
            .unwrap_or(Status::Starting)
    }

    /// The quarantine of tool `name`, if any.
    pub fn quarantine(&self, kind: Kind, name: &str) -> Option<Quarantine> {
        self.view
            .read()
            .ok()
            .and_then(|v| v.quarantined.get(&(kind, name.to_string())).cloned())
    }

    /// Tool `name` as served (pinned and unchanged).
    pub fn tool(&self, name: &str) -> Option<Tool> {
        self.view
            .read()
            .ok()
            .and_then(|v| v.tools.get(name).cloned())
    }

    /// Prompt `name` as served (pinned and unchanged).
    pub fn prompt(&self, name: &str) -> Option<Prompt> {
        self.view
            .read()
            .ok()
            .and_then(|v| v.prompts.get(name).cloned())
    }

    /// The connection, when up.
    pub fn peer(&self) -> Option<Peer<RoleClient>> {
        self.peer.read().ok().and_then(|p| p.clone())
    }
}

/// Whether `uri` is an expansion of the RFC 6570 template `template` (level 1 and `{+var}`: a
/// simple variable matches one or more characters without `/`, `?` or `#`; a reserved one, any).
fn template_matches(template: &str, uri: &str) -> bool {
    let mut pattern = String::from("^");
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..open]));
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        let var = &rest[open + 1..open + close];
        pattern.push_str(if var.starts_with('+') || var.starts_with('#') {
            ".+"
        } else {
            "[^/?#]+"
        });
        rest = &rest[open + close + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|r| r.is_match(uri))
}

/// The Cedar policies at `path`, validated against the argument names of every pinned tool.
fn load_cedar(
    path: &std::path::Path,
    lock: &LockFile,
) -> anyhow::Result<portcullis_policy::tools::ToolPolicies> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the Cedar policies {} (`[policy] cedar`)",
            path.display()
        )
    })?;
    let mut names = BTreeSet::new();
    for up in lock.upstreams.values() {
        for item in up.tools.values() {
            if let Some(props) = item
                .definition
                .pointer("/inputSchema/properties")
                .and_then(Value::as_object)
            {
                names.extend(props.keys().cloned());
            }
        }
    }
    portcullis_policy::tools::ToolPolicies::load(&path.display().to_string(), &text, &names)
        .map_err(|problems| {
            anyhow::anyhow!(
                "{}: {} problem{} (arguments are those the pinned tools declare; pin first):\n  {}",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems
                    .iter()
                    .map(|p| match (p.line, p.column) {
                        (Some(l), Some(c)) => format!("line {l}, column {c}: {}", p.message),
                        _ => p.message.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )
        })
}

/// A pin of every item of `listing` without findings (or all, `force`); the held-back ones with
/// their findings.
pub fn pin_listing(
    listing: &Listing,
    others: &[String],
    force: bool,
) -> (lock::UpstreamPin, Vec<(Kind, String, Vec<String>)>) {
    let mut pin = lock::UpstreamPin {
        server: listing.server.clone(),
        ..Default::default()
    };
    let mut held = Vec::new();
    for (kind, name, def) in items(listing) {
        let found = findings(&def, others);
        if !found.is_empty() && !force {
            held.push((kind, name, found));
            continue;
        }
        pin.items_mut(kind).insert(name, ItemPin::of(def, found));
    }
    (pin, held)
}
