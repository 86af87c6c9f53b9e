//! A `portcullis serve --transport http` process for one scenario: a fresh temporary directory
//! (HOME, audit trail and key, token file, its stderr log), fake credentials, no AWS config, every
//! AWS endpoint pointed at loopback; killed (and its directory removed) when dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::audit::{Trail, parse_verify, read_trail};
use super::procfs::rss_kib;
use super::prom::Scrape;
use crate::faults::FaultServer;
use crate::load::PROTOCOL_VERSION;
use crate::load::http::{Endpoint, HttpConn};

/// The line the server prints once it listens.
const SERVING: &str = "serving MCP on http://127.0.0.1:";

/// The rate limits (per principal and per session) of a server started with
/// [`Server::start_against`]: high enough never to act.
pub const NO_RATE_LIMIT: &str = "100000/s burst 100000";

/// The port in the server's log, once it says it serves.
pub fn parse_port(log: &str) -> Option<u16> {
    let at = log.find(SERVING)? + SERVING.len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A unique temporary directory for one server.
fn temp_dir(name: &str) -> anyhow::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portcullis-scenarios-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("home"))
        .with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

/// The running server.
// The scenarios measure the release server as a separate process: this is that one program.
#[allow(clippy::disallowed_types)]
pub struct Server {
    child: std::process::Child,
    pub pid: u32,
    pub port: u16,
    pub token: String,
    pub dir: PathBuf,
    bin: PathBuf,
    /// The settings it was started with (beyond the common ones), for reports.
    pub settings: Vec<(String, String)>,
    keep: bool,
}

impl Server {
    /// Starts `bin serve --transport http --port 0` with the common environment and `extra`
    /// (which wins), and waits (at most 30 s) until it serves.
    // The scenarios measure the release server as a separate process: this is that one program.
    #[allow(clippy::disallowed_types, clippy::disallowed_methods)]
    pub async fn start(bin: &Path, name: &str, extra: &[(&str, String)]) -> anyhow::Result<Server> {
        use std::process::{Command, Stdio};
        let dir = temp_dir(name)?;
        let home = dir.join("home");
        let log_path = dir.join("server.log");
        let log = std::fs::File::create(&log_path).context("create the server log")?;
        let token_file = dir.join("token");
        let mut env = common_env(&dir);
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).to_string(), v.clone()));
        }
        let child = Command::new(bin)
            .args([
                "serve",
                "--transport",
                "http",
                "--port",
                "0",
                "--token-file",
            ])
            .arg(&token_file)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut server = Server {
            pid: child.id(),
            child,
            port: 0,
            token: String::new(),
            dir,
            bin: bin.to_path_buf(),
            settings: extra
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            keep: std::env::var_os("PORTCULLIS_SCENARIOS_KEEP").is_some(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(port) = parse_port(&text) {
                server.port = port;
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("the server exited ({status}) before serving:\n{text}");
            }
            if Instant::now() > deadline {
                bail!("the server did not serve within 30 s:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.token = std::fs::read_to_string(&token_file)
            .context("read the token file")?
            .trim()
            .to_string();
        Ok(server)
    }

    /// [`Server::start`] with AWS at fault servers: every service at `catch_all`, each of
    /// `services` (`("AWS_ENDPOINT_URL_SQS", &sqs)`) at its own; and the rate limits raised to
    /// [`NO_RATE_LIMIT`], so that only the limits in front of AWS act.
    pub async fn start_against(
        bin: &Path,
        name: &str,
        catch_all: &FaultServer,
        services: &[(&str, &FaultServer)],
    ) -> anyhow::Result<Server> {
        let mut env = vec![("AWS_ENDPOINT_URL", catch_all.url())];
        env.extend(services.iter().map(|(var, at)| (*var, at.url())));
        env.push(("PORTCULLIS_RATE_PER_PRINCIPAL", NO_RATE_LIMIT.into()));
        env.push(("PORTCULLIS_RATE_PER_SESSION", NO_RATE_LIMIT.into()));
        Server::start(bin, name, &env).await
    }

    /// `http://127.0.0.1:PORT/mcp` with the token.
    pub fn endpoint(&self) -> anyhow::Result<Arc<Endpoint>> {
        Ok(Arc::new(Endpoint::parse(
            &format!("http://127.0.0.1:{}/mcp", self.port),
            Some(self.token.clone()),
            PROTOCOL_VERSION,
        )?))
    }

    pub fn audit_dir(&self) -> PathBuf {
        self.dir.join("audit")
    }

    /// Its resident memory now (KiB).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    /// The audit trail as written so far.
    pub fn trail(&self) -> anyhow::Result<Trail> {
        read_trail(&self.audit_dir()).context("read the audit trail")
    }

    /// Whether it still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `portcullis audit verify` on its trail: whether it says OK, its record count, its output.
    // Verifying the trail is the product's own command; it runs as the operator would run it.
    #[allow(clippy::disallowed_types, clippy::disallowed_methods)]
    pub fn verify(&self) -> anyhow::Result<(bool, Option<u64>, String)> {
        let out = std::process::Command::new(&self.bin)
            .args(["audit", "verify"])
            .env_clear()
            .envs(
                common_env(&self.dir)
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .stdin(std::process::Stdio::null())
            .output()
            .context("run portcullis audit verify")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_string();
        let records = parse_verify(&text).map(|(r, _)| r);
        Ok((out.status.success(), records, text))
    }

    /// Stops it now (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if self.keep {
            eprintln!("(kept {})", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The environment every scenario's server gets (`dir`: its temporary directory).
fn common_env(dir: &Path) -> Vec<(String, String)> {
    let home = dir.join("home").display().to_string();
    let mut env: Vec<(String, String)> = vec![
        ("HOME", home.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_API_MCP_WORKING_DIR", home),
        (
            "PORTCULLIS_AUDIT_DIR",
            dir.join("audit").display().to_string(),
        ),
        (
            "PORTCULLIS_AUDIT_KEY_FILE",
            dir.join("audit.key").display().to_string(),
        ),
        ("PORTCULLIS_MODE", "read-only".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(path) = std::env::var_os("PATH") {
        env.push(("PATH".into(), path.to_string_lossy().into_owned()));
    }
    env
}

/// A connection for `/metrics`, `/readyz` and `/healthz`.
pub struct Probe {
    conn: HttpConn,
}

impl Probe {
    pub fn new(endpoint: &Arc<Endpoint>) -> Probe {
        Probe {
            conn: HttpConn::new(endpoint.clone(), None),
        }
    }

    /// `GET path` (with the token when `with_token`): status and body, within 5 s.
    pub async fn get(&mut self, path: &str, with_token: bool) -> anyhow::Result<(u16, String)> {
        match tokio::time::timeout(Duration::from_secs(5), self.conn.get_text(path, with_token))
            .await
        {
            Err(_) => {
                self.conn.disconnect();
                bail!("GET {path}: no answer in 5 s")
            }
            Ok(Err(o)) => bail!("GET {path}: {o:?}"),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// `/metrics`, parsed.
    pub async fn metrics(&mut self) -> anyhow::Result<Scrape> {
        let (status, text) = self.get("/metrics", true).await?;
        if status != 200 {
            bail!("GET /metrics: HTTP {status}");
        }
        Ok(Scrape::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_from_log() {
        let log = "portcullis: audit trail /tmp/a\nportcullis: serving MCP on http://127.0.0.1:34501/mcp (token file: /tmp/t)\n";
        assert_eq!(parse_port(log), Some(34501));
        assert_eq!(parse_port("portcullis: starting"), None);
        assert_eq!(parse_port("serving MCP on http://127.0.0.1:/mcp"), None);
    }
}
