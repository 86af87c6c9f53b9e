//! `portcullis gateway serve | pin | approve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rmcp::ServiceExt;

use super::config::{self, GatewayConfig, SEP};
use super::lock::{self, ItemPin, Kind, LockFile, Pending};
use super::{Gateway, GatewayServer, upstream};

/// The gateway's subcommands.
#[derive(clap::Subcommand)]
pub enum GatewayCmd {
    /// Serve the upstreams' pinned tools (stdio, or streamable HTTP with the token or OAuth of
    /// `portcullis serve`), behind the gateway policy, consent and audit.
    Serve {
        /// The gateway configuration (default: $PORTCULLIS_GATEWAY_CONFIG).
        #[arg(long)]
        config: Option<PathBuf>,
        /// `stdio` (default) or `http` (streamable HTTP on /mcp); env AWS_API_MCP_TRANSPORT.
        #[arg(long, value_enum)]
        transport: Option<crate::config::TransportFlag>,
        /// Address to bind in HTTP mode (default 127.0.0.1); env AWS_API_MCP_HOST.
        #[arg(long)]
        host: Option<String>,
        /// Port to bind in HTTP mode (default 8000, 0 = any free port); env AWS_API_MCP_PORT.
        #[arg(long)]
        port: Option<u16>,
        /// Allow binding a non-loopback address.
        #[arg(long)]
        allow_remote: bool,
        /// The owner's bearer token file in HTTP mode (created 0600 if missing); env
        /// PORTCULLIS_TOKEN_FILE, default $XDG_STATE_HOME/portcullis/token.
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Start the upstreams, scan their definitions and write the pin file.
    Pin {
        /// The gateway configuration (default: $PORTCULLIS_GATEWAY_CONFIG).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Pin definitions with scan findings too (the findings are kept in the pin file).
        #[arg(long)]
        force: bool,
        /// Only these upstreams (default: all); the others' pins are kept.
        upstreams: Vec<String>,
    },
    /// Accept one quarantined definition into the pin file.
    Approve {
        /// The gateway configuration (default: $PORTCULLIS_GATEWAY_CONFIG).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Accept it although the scan found something.
        #[arg(long)]
        force: bool,
        /// What it is.
        #[arg(long, value_parser = ["tool", "prompt", "resource-template"], default_value = "tool")]
        kind: String,
        /// The upstream.
        upstream: String,
        /// The tool (prompt, resource template) name, without the upstream prefix.
        name: String,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load(config: Option<PathBuf>) -> anyhow::Result<GatewayConfig> {
    let path = config.or_else(|| env("PORTCULLIS_GATEWAY_CONFIG").map(PathBuf::from)).context(
        "no gateway configuration: pass --config FILE or set PORTCULLIS_GATEWAY_CONFIG (see README: \"Put your other MCP servers behind Portcullis\")",
    )?;
    config::load(&path, portcullis_platform::state_dir(&env).as_deref())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs one gateway subcommand.
pub fn run(cmd: GatewayCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        GatewayCmd::Serve {
            config,
            transport,
            host,
            port,
            allow_remote,
            token_file,
        } => {
            let flags = crate::server::ServeFlags {
                transport,
                host,
                port,
                allow_remote,
                token_file,
                ..Default::default()
            };
            serve(load(config)?, &flags)
        }
        GatewayCmd::Pin {
            config,
            force,
            upstreams,
        } => pin(&load(config)?, force, &upstreams),
        GatewayCmd::Approve {
            config,
            force,
            kind,
            upstream,
            name,
        } => approve(&load(config)?, force, &kind, &upstream, &name),
    }
}

fn serve(config: GatewayConfig, flags: &crate::server::ServeFlags) -> anyhow::Result<ExitCode> {
    crate::server::start::init_logs(crate::config::LogFormat::Human)?;
    // The transport and, for HTTP, its guard's settings, exactly as `portcullis serve` reads them.
    let sources = crate::config::Sources::load(flags, &crate::config::process_env)?;
    let http = match sources.transport()? {
        crate::config::Transport::Stdio => None,
        crate::config::Transport::Http => Some(sources.http()?),
    };
    let audit = crate::pipeline::record::AuditSettings::from_lookup(&env)?;
    let recorder = crate::pipeline::record::Recorder::open(&audit)?;
    recorder.record_startup(&portcullis_audit::Event::startup(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "transport": if http.is_some() { "http" } else { "stdio" },
        "gateway": {
            "config": config.path,
            "lock": config.lock,
            "mode": config.rules.mode.as_str(),
            "upstreams": config.upstreams.iter().map(|u| &u.name).collect::<Vec<_>>(),
        }
    })))?;
    let recorder = Arc::new(recorder);
    runtime()?.block_on(async {
        let gateway = Arc::new(Gateway::new(config, recorder, Box::new(env))?);
        tracing::info!(
            "portcullis: gateway: starting {} upstream(s), pins from {}",
            gateway.upstreams().len(),
            gateway.config.lock.display()
        );
        gateway.start(Duration::from_secs(120)).await;
        if let Some(settings) = http {
            let counters = Arc::clone(&gateway);
            let extra: crate::server::http::ExtraMetrics =
                Arc::new(move || counters.counters.render());
            let limits = Arc::new(crate::pipeline::limits::Limits::new(
                crate::pipeline::limits::LimitSettings::default(),
            ));
            crate::server::http::serve_handler(
                settings,
                GatewayServer::new(Arc::clone(&gateway)),
                Arc::default(),
                limits,
                Some(extra),
            )
            .await?;
            return anyhow::Ok(ExitCode::SUCCESS);
        }
        let running = GatewayServer::new(Arc::clone(&gateway))
            .serve(rmcp::transport::stdio_pipes())
            .await
            .context("MCP initialization failed")?;
        let reason = running.waiting().await;
        tracing::info!(
            "portcullis: gateway: session ended ({reason:?}); counters:\n{}",
            gateway.counters.render()
        );
        for up in gateway.upstreams() {
            if let Some(p) = up.peer() {
                drop(p);
            }
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Connects to one upstream and lists it.
async fn listing_of(u: &config::UpstreamConfig) -> anyhow::Result<upstream::Listing> {
    let conn = upstream::connect(
        u,
        Arc::new(tokio::sync::Notify::new()),
        &env,
        Duration::from_secs(120),
    )
    .await?;
    let listing = upstream::list(&conn.peer(), Duration::from_secs(60)).await;
    conn.stop().await;
    listing
}

fn pin(config: &GatewayConfig, force: bool, only: &[String]) -> anyhow::Result<ExitCode> {
    for name in only {
        anyhow::ensure!(
            config.upstream(name).is_some(),
            "no upstream `{name}` in {} (it has: {})",
            config.path.display(),
            config
                .upstreams
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let chosen: Vec<&config::UpstreamConfig> = config
        .upstreams
        .iter()
        .filter(|u| only.is_empty() || only.contains(&u.name))
        .collect();
    let listings = runtime()?.block_on(async {
        let mut out = Vec::new();
        for u in &chosen {
            eprintln!("portcullis: starting upstream {} ...", u.name);
            out.push((u.name.clone(), listing_of(u).await));
        }
        out
    });
    let mut lock = LockFile::load(&config.lock)?;
    let all_tools: Vec<String> = listings
        .iter()
        .filter_map(|(n, l)| l.as_ref().ok().map(|l| (n, l)))
        .flat_map(|(n, l)| l.tools.iter().map(move |t| format!("{n}{SEP}{}", t.name)))
        .collect();
    let mut held_back = 0;
    let mut failed = 0;
    for (name, listing) in listings {
        let listing = match listing {
            Ok(l) => l,
            Err(e) => {
                eprintln!("portcullis: {e:#}; its pins are unchanged");
                failed += 1;
                continue;
            }
        };
        let others: Vec<String> = all_tools
            .iter()
            .filter(|t| !t.starts_with(&format!("{name}{SEP}")))
            .cloned()
            .collect();
        let (pinned, held) = super::pin_listing(&listing, &others, force);
        println!(
            "{name}: {} {} (protocol {}): pinned {} tools, {} prompts, {} resource templates",
            if listing.server.name.is_empty() {
                "?"
            } else {
                &listing.server.name
            },
            if listing.server.version.is_empty() {
                "(no version given)"
            } else {
                &listing.server.version
            },
            listing.server.protocol_version,
            pinned.tools.len(),
            pinned.prompts.len(),
            pinned.resource_templates.len()
        );
        for kind in [Kind::Tool, Kind::Prompt, Kind::ResourceTemplate] {
            for (n, item) in pinned.items(kind) {
                for f in &item.accepted_findings {
                    println!("  forced {} {name}{SEP}{n}: {f}", kind.as_str());
                }
            }
        }
        for (kind, n, found) in &held {
            held_back += 1;
            println!(
                "  NOT PINNED {} {name}{SEP}{n} (quarantined when served):",
                kind.as_str()
            );
            for f in found {
                println!("    {f}");
            }
        }
        lock.upstreams.insert(name.clone(), pinned);
        // What was pending for this upstream is settled by the new pin.
        let pending_path = lock::pending_path(&config.lock);
        if let Ok(mut pending) = Pending::load(&pending_path)
            && pending.upstreams.remove(&name).is_some()
        {
            let _ = pending.save(&pending_path);
        }
    }
    if failed > 0 && lock.upstreams.is_empty() {
        // Nothing to write: no pin file for upstreams that never answered.
        eprintln!(
            "portcullis: nothing pinned; {} not written",
            config.lock.display()
        );
    } else {
        lock.save(&config.lock)?;
        println!("wrote {}", config.lock.display());
    }
    if held_back > 0 {
        println!(
            "{held_back} definition(s) held back by the scan: read them; pin with --force only if they are what you expect"
        );
    }
    Ok(if held_back > 0 || failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn approve(
    config: &GatewayConfig,
    force: bool,
    kind: &str,
    up_name: &str,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let kind = match kind {
        "prompt" => Kind::Prompt,
        "resource-template" => Kind::ResourceTemplate,
        _ => Kind::Tool,
    };
    let u = config
        .upstream(up_name)
        .with_context(|| format!("no upstream `{up_name}` in {}", config.path.display()))?;
    let pending_path = lock::pending_path(&config.lock);
    let mut pending = Pending::load(&pending_path)?;
    let key = lock::pending_key(kind, name);
    let seen = pending
        .upstreams
        .get(up_name)
        .and_then(|m| m.get(&key))
        .cloned();
    // What the running gateway saw; else what the upstream lists now.
    let (definition, reason, diff) = match seen {
        Some(p) => (p.definition, p.reason, p.diff),
        None => {
            let listing = runtime()?.block_on(listing_of(u))?;
            let def = super::items(&listing)
                .into_iter()
                .find(|(k, n, _)| *k == kind && n == name)
                .map(|(_, _, d)| d);
            (def, "as the upstream lists it now".into(), Vec::new())
        }
    };
    let mut lock = LockFile::load(&config.lock)?;
    let entry = lock.upstreams.entry(up_name.to_string()).or_default();
    println!("{} {up_name}{SEP}{name}: {reason}", kind.as_str());
    for c in &diff {
        println!(
            "  {}: {} -> {}",
            c.path,
            c.before
                .as_ref()
                .map_or_else(|| "(absent)".into(), |v| v.to_string()),
            c.after
                .as_ref()
                .map_or_else(|| "(absent)".into(), |v| v.to_string())
        );
    }
    match definition {
        None => {
            anyhow::ensure!(
                entry.items_mut(kind).remove(name).is_some(),
                "upstream `{up_name}` has no {} `{name}`, pinned or listed",
                kind.as_str()
            );
            println!("removed from the pins (the upstream no longer lists it)");
        }
        Some(def) => {
            let found = super::findings(&def, &[]);
            if !found.is_empty() && !force {
                println!("the scan found:");
                for f in &found {
                    println!("  {f}");
                }
                println!(
                    "not approved: read the definition; approve with --force only if it is what you expect"
                );
                return Ok(ExitCode::from(1));
            }
            entry
                .items_mut(kind)
                .insert(name.to_string(), ItemPin::of(def, found));
            println!("approved: pinned as it is now");
        }
    }
    lock.save(&config.lock)?;
    if let Some(m) = pending.upstreams.get_mut(up_name) {
        m.remove(&key);
        if m.is_empty() {
            pending.upstreams.remove(up_name);
        }
        pending.save(&pending_path)?;
    }
    println!("wrote {}", config.lock.display());
    Ok(ExitCode::SUCCESS)
}
