//! `portcullis-faults`: the fault-injecting AWS stand-in ([`portcullis_loadtest::faults`]) as a
//! program. Prints its address and its control address, then serves until killed.
//!
//! ```text
//! portcullis-faults --mode 'status:503@5s,ok'
//! portcullis-faults: serving http://127.0.0.1:41234 (mode status:503@5s,ok)
//! portcullis-faults: control http://127.0.0.1:41235 (GET /__faults/stats, POST /__faults/mode)
//! curl -X POST -d '{"mode":"throttle"}' http://127.0.0.1:41235/__faults/mode
//! ```

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use portcullis_loadtest::faults::{FaultServer, Mode};
use portcullis_loadtest::units::parse_duration;

#[derive(Parser, Debug)]
#[command(
    name = "portcullis-faults",
    about = "A fault-injecting AWS stand-in on loopback (throttling, 5xx, resets, hangs, refusals)"
)]
struct Args {
    /// `ok[:LAT]` | `status:CODE[:LAT]` | `throttle[:LAT]` | `reset` | `hang` | `refuse`, or a sequence
    /// MODE@DURATION,…,MODE (e.g. status:503@5s,ok).
    #[arg(long, default_value = "ok", value_parser = |s: &str| s.parse::<Mode>())]
    mode: Mode,
    /// Stop by itself after this long (default: run until killed).
    #[arg(long, value_parser = parse_duration)]
    exit_after: Option<Duration>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start the runtime")?;
    runtime.block_on(async {
        let spec = args.mode.to_string();
        let server = FaultServer::start(args.mode).await.context("bind")?;
        let control = server
            .start_control()
            .await
            .context("bind the control port")?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "portcullis-faults: serving {} (mode {spec})",
            server.url()
        )?;
        writeln!(
            out,
            "portcullis-faults: control http://{control} (GET /__faults/stats, POST /__faults/mode)"
        )?;
        out.flush()?;
        drop(out);
        match args.exit_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
        drop(server);
        anyhow::Ok(())
    })
}
