//! `portcullis-scenarios`: resilience scenarios against the release server over streamable HTTP,
//! with fault-injecting AWS stand-ins in this process ([`portcullis_loadtest::scenarios`]). Prints
//! each scenario's figures and PASS/FAIL per criterion; exits 1 if any criterion failed (2 if a
//! scenario could not run).
//!
//! ```text
//! portcullis-scenarios [--bin target/release/portcullis] [--only spike,throttle] [--quick]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use portcullis_loadtest::scenarios::{self, Ctx, NAMES, Report};

#[derive(Parser, Debug)]
#[command(
    name = "portcullis-scenarios",
    about = "Resilience scenarios against the release server: spike, slowdown, throttle, harddown, sessions"
)]
struct Args {
    /// The portcullis binary (default: `portcullis` next to this program).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Only these scenarios (comma-separated): spike, slowdown, throttle, harddown, sessions.
    #[arg(long)]
    only: Option<String>,
    /// Shorter phases (the throttling storm 8 s instead of 30 s, and so on).
    #[arg(long)]
    quick: bool,
    /// Spike: the base rate in calls/s (the spike is 10×).
    #[arg(long, default_value_t = 300.0)]
    spike_base: f64,
}

/// A hard bound per scenario (each stops by itself well before).
fn bound(name: &str, quick: bool) -> Duration {
    Duration::from_secs(match (name, quick) {
        ("throttle", false) => 150,
        ("throttle", true) => 80,
        ("harddown", _) => 150,
        _ => 120,
    })
}

async fn run_one(name: &str, ctx: &Ctx) -> anyhow::Result<Report> {
    match name {
        "spike" => scenarios::spike::run(ctx).await,
        "slowdown" => scenarios::slowdown::run(ctx).await,
        "throttle" => scenarios::throttle::run(ctx).await,
        "harddown" => scenarios::harddown::run(ctx).await,
        "sessions" => scenarios::sessions::run(ctx).await,
        other => bail!("unknown scenario `{other}`"),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match args.bin {
        Some(b) => b,
        None => std::env::current_exe()
            .context("locate this program")?
            .with_file_name("portcullis"),
    };
    if !bin.is_file() {
        bail!("no portcullis binary at {} (give --bin)", bin.display());
    }
    let chosen: Vec<String> = match &args.only {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => NAMES.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(bad) = chosen.iter().find(|c| !NAMES.contains(&c.as_str())) {
        bail!("unknown scenario `{bad}` (one of {})", NAMES.join(", "));
    }
    if !(args.spike_base > 0.0 && args.spike_base <= 100_000.0) {
        bail!("--spike-base must be in (0, 100000]");
    }
    let ctx = Ctx {
        bin,
        quick: args.quick,
        spike_base: args.spike_base,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start the runtime")?;
    println!(
        "portcullis-scenarios: {} ({}), {} mode, {} cores",
        ctx.bin.display(),
        env!("CARGO_PKG_VERSION"),
        if ctx.quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let all = Instant::now();
    let mut summary = Vec::new();
    let mut broken = false;
    for name in &chosen {
        println!();
        println!("== {name}");
        let started = Instant::now();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(bound(name, ctx.quick), run_one(name, &ctx)).await
        });
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(report)) => {
                let failed = report.verdicts.iter().filter(|v| !v.pass).count();
                println!("  ({secs:.1} s)");
                summary.push(format!(
                    "{name:<9} {} ({} criteria, {failed} failed, {secs:.0} s)",
                    if report.passed() { "PASS" } else { "FAIL" },
                    report.verdicts.len()
                ));
            }
            Ok(Err(e)) => {
                broken = true;
                println!("  ERROR: {e:#}");
                summary.push(format!("{name:<9} ERROR ({e})"));
            }
            Err(_) => {
                broken = true;
                println!(
                    "  ERROR: exceeded its bound of {:?}",
                    bound(name, ctx.quick)
                );
                summary.push(format!("{name:<9} ERROR (timed out)"));
            }
        }
    }
    // Stragglers (abandoned calls, scrapers) are not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    println!();
    println!("== summary ({:.0} s)", all.elapsed().as_secs_f64());
    for line in &summary {
        println!("  {line}");
    }
    let failed = summary
        .iter()
        .any(|l| l.contains(" FAIL ") || l.contains(" ERROR "));
    if broken {
        std::process::exit(2);
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
