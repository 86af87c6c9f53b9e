//! `portcullis-load`: a native MCP load generator. Sends `tools/call` to a Portcullis server (or
//! any MCP server) over streamable HTTP or stdio at each connection level in turn and prints a
//! table line per level: requests, req/s, p50/p90/p99/max latency and the outcome counts.
//!
//! ```text
//! portcullis-load --http http://127.0.0.1:PORT/mcp --token-file TOKEN \
//!     --tool check_aws_command --command "aws s3 ls" --connections 1,16,64,256 --duration 5s
//! portcullis-load --tool call_aws --command "aws sts get-caller-identity" \
//!     --connections 1,16 --stdio target/release/portcullis serve
//! portcullis-load --http URL --token-file TOKEN --spike 100@3s,1000@5s --connections 64 ...
//! ```
//! `--stdio BIN ARGS…` takes the rest of the command line: put it last.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use portcullis_loadtest::load::stats::LevelReport;
use portcullis_loadtest::load::{
    Config, PROTOCOL_VERSION, Phase, Sessions, Target, parse_schedule, run,
};
use portcullis_loadtest::units::{parse_duration, parse_list};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(
    name = "portcullis-load",
    about = "Native MCP load generator: tools/call over streamable HTTP or stdio, per connection level"
)]
struct Args {
    /// The MCP endpoint, e.g. http://127.0.0.1:8000/mcp.
    #[arg(long, conflicts_with = "stdio", required_unless_present = "stdio")]
    http: Option<String>,
    /// A file holding the bearer token (sent as `Authorization: Bearer <contents, trimmed>`).
    #[arg(long, requires = "http")]
    token_file: Option<PathBuf>,
    /// HTTP sessions: `shared` (one for all connections) or `per-connection`.
    #[arg(long, default_value = "shared", value_parser = ["shared", "per-connection"])]
    sessions: String,
    /// Start BIN ARGS… and speak MCP over its stdin/stdout (takes the rest of the command line).
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "BIN [ARGS]...")]
    stdio: Option<Vec<String>>,
    /// Append the stdio server's stderr to this file (default: discarded).
    #[arg(long, requires = "stdio")]
    server_log: Option<PathBuf>,
    /// The tool to call.
    #[arg(long, default_value = "check_aws_command")]
    tool: String,
    /// The command (`{"cli_command": COMMAND}`).
    #[arg(long, default_value = "aws sts get-caller-identity")]
    command: String,
    /// The tool's arguments as JSON instead of `--command`.
    #[arg(long)]
    arguments: Option<String>,
    /// Connection levels, run in turn.
    #[arg(long, default_value = "1,16,64,256")]
    connections: String,
    /// Measured time per level.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time before each level.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// At most N measured requests per level.
    #[arg(long)]
    requests: Option<u64>,
    /// Open loop: R requests/s for --duration (latency from the scheduled time).
    #[arg(long, conflicts_with = "spike")]
    rate: Option<f64>,
    /// Open loop schedule: R1@T1,R2@T2,… e.g. 100@3s,1000@5s.
    #[arg(long)]
    spike: Option<String>,
    /// Open loop: requests queued or in flight at most; beyond that scheduled ones are dropped.
    #[arg(long, default_value_t = 10_000)]
    max_in_flight: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Hard bound on the whole run (default: the planned time plus the timeouts, plus 30 s).
    #[arg(long, value_parser = parse_duration)]
    max_time: Option<Duration>,
    /// The MCP protocol version to ask for.
    #[arg(long, default_value = PROTOCOL_VERSION)]
    protocol_version: String,
    /// Print the results as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
}

fn config(args: &Args) -> anyhow::Result<Config> {
    let target = match (&args.http, &args.stdio) {
        (Some(url), None) => {
            let token = match &args.token_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("read the token file {}", path.display()))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            Target::Http {
                url: url.clone(),
                token,
                sessions: if args.sessions == "per-connection" {
                    Sessions::PerConnection
                } else {
                    Sessions::Shared
                },
            }
        }
        (None, Some(cmd)) => {
            let Some((program, rest)) = cmd.split_first() else {
                bail!("--stdio needs a program");
            };
            Target::Stdio {
                program: PathBuf::from(program),
                args: rest.to_vec(),
                server_log: args.server_log.clone(),
            }
        }
        _ => bail!("give --http URL or --stdio BIN [ARGS]..."),
    };
    let arguments = match &args.arguments {
        Some(text) => serde_json::from_str::<Value>(text).context("--arguments is not JSON")?,
        None => json!({ "cli_command": args.command }),
    };
    let schedule = match (args.rate, &args.spike) {
        (Some(rate), _) if !(rate > 0.0 && rate <= 1e6) => bail!("--rate must be in (0, 1000000]"),
        (Some(rate), _) => Some(vec![Phase {
            rate,
            duration: args.duration,
        }]),
        (None, Some(spec)) => {
            Some(parse_schedule(spec).map_err(|e| anyhow::anyhow!("--spike: {e}"))?)
        }
        (None, None) => None,
    };
    Ok(Config {
        target,
        tool: args.tool.clone(),
        arguments,
        protocol_version: args.protocol_version.clone(),
        levels: parse_list(&args.connections).map_err(|e| anyhow::anyhow!("--connections: {e}"))?,
        duration: args.duration,
        warmup: args.warmup,
        max_requests: args.requests,
        schedule,
        max_in_flight: args.max_in_flight.max(1),
        timeout: args.timeout,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    let bound = args
        .max_time
        .unwrap_or_else(|| config.expected_time() + Duration::from_secs(30));
    let json_out = args.json;
    // The table goes to stdout, or to stderr when stdout carries the JSON.
    let print = move |line: &str| {
        if json_out {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let what = match &config.arguments.get("cli_command").and_then(Value::as_str) {
        Some(cmd) => format!("{} `{cmd}`", config.tool),
        None => format!("{} {}", config.tool, config.arguments),
    };
    print(&format!("# {what} via {}", config.target.describe()));
    print(&LevelReport::table_header());
    let outcome = runtime.block_on(async {
        tokio::time::timeout(
            bound,
            run(&config, |r| {
                print(&r.table_row());
                for line in r.details() {
                    print(&line);
                }
            }),
        )
        .await
    });
    // Stragglers (requests abandoned at a timeout) are not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let reports = match outcome {
        Err(_) => bail!(
            "the run exceeded its hard bound of {:.0} s (--max-time)",
            bound.as_secs_f64()
        ),
        Ok(r) => r?,
    };
    if json_out {
        let doc = json!({
            "tool": config.tool,
            "arguments": config.arguments,
            "target": config.target.describe(),
            "levels": reports.iter().map(LevelReport::to_json).collect::<Vec<_>>(),
        });
        println!("{doc}");
    }
    Ok(())
}
