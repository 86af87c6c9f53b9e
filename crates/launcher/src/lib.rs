//! The one place Portcullis starts a program: the upstream MCP servers of `portcullis gateway`.
//!
//! Everywhere else the workspace's clippy configuration forbids `std::process::Command` and
//! `tokio::process::Command` (docs/design.md, invariant 4); this crate alone allows them, and
//! keeps what it starts narrow:
//!
//! * **The argv comes from the gateway's configuration file only.** [`Spec`] is built from it; no
//!   value of a tool call reaches this crate.
//! * **The environment is exactly [`Spec::env`].** The child's environment is cleared first, so
//!   nothing of the gateway's own environment (its AWS credentials, tokens, `PATH`) reaches an
//!   upstream unless its configuration lists it; one upstream's variables never reach another.
//! * **A working directory per upstream** ([`Spec::cwd`], which must exist).
//! * **The program is resolved once**, to an absolute path, against the `PATH` the upstream is
//!   given (or the gateway's when it is given none) — [`resolve`].
//! * **Its own process group** (Unix): [`Process::stop`] closes stdin, waits, then signals the
//!   whole group (`npx` and `uvx` run the server as their child), and the child is killed if the
//!   [`Process`] is dropped.
//! * **stderr is the upstream's log**: each line (cut at 4 KiB, control characters removed) goes
//!   to the `on_stderr` callback the gateway gives, which scrubs and logs it.
//!
//! Restarts are the gateway's; [`Backoff`] is the delay between them.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // this crate is the one exception

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The longest stderr line passed on; the rest of a longer line is dropped.
pub const MAX_LOG_LINE: usize = 4096;

/// What to start: every field comes from the gateway's configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The upstream's name (for logs and errors).
    pub name: String,
    /// The program, as configured: an absolute path, or a name looked up in `PATH`.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The child's whole environment, in order (later entries win).
    pub env: Vec<(String, String)>,
    /// Its working directory.
    pub cwd: PathBuf,
}

/// Why a program did not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program was not found.
    #[error(
        "upstream `{upstream}`: cannot find the program `{program}` in PATH ({path}); give its absolute path as `command`, or add its directory to the upstream's PATH"
    )]
    NotFound {
        /// The upstream.
        upstream: String,
        /// The program as configured.
        program: String,
        /// The PATH searched.
        path: String,
    },
    /// The working directory is not a directory.
    #[error("upstream `{upstream}`: the working directory {cwd} is not a directory")]
    Cwd {
        /// The upstream.
        upstream: String,
        /// The directory.
        cwd: String,
    },
    /// The operating system refused to start it.
    #[error("upstream `{upstream}`: cannot start `{program}`: {source}")]
    Spawn {
        /// The upstream.
        upstream: String,
        /// The resolved program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Finds `program` as `execvp` would, in `path` (colon-separated; semicolon on Windows): a name
/// with a path separator is taken as it is (relative to `cwd` when relative).
pub fn resolve(
    upstream: &str,
    program: &str,
    path: Option<&str>,
    cwd: &Path,
) -> Result<PathBuf, LaunchError> {
    let given = Path::new(program);
    if given.components().count() > 1 || given.is_absolute() {
        let full = if given.is_absolute() {
            given.to_path_buf()
        } else {
            cwd.join(given)
        };
        return if full.is_file() {
            Ok(full)
        } else {
            Err(LaunchError::NotFound {
                upstream: upstream.into(),
                program: program.into(),
                path: full.display().to_string(),
            })
        };
    }
    let path = path.unwrap_or("");
    for dir in std::env::split_paths(path) {
        if dir.as_os_str().is_empty() || !dir.is_absolute() {
            // An empty or relative PATH entry would make the lookup depend on the directory.
            continue;
        }
        for name in candidates(program, cfg!(windows)) {
            let candidate = dir.join(name);
            if executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(LaunchError::NotFound {
        upstream: upstream.into(),
        program: program.into(),
        path: if path.is_empty() {
            "empty".into()
        } else {
            path.into()
        },
    })
}

/// The file names a program name is looked for under, in order: the name itself, and on Windows
/// a name without an extension also as `.exe`, `.com`, `.cmd` and `.bat` (how `uvx` and `npx` are
/// installed there; std runs the last two through `cmd.exe` with its argument escaping).
fn candidates(program: &str, windows: bool) -> Vec<String> {
    let mut names = vec![program.to_string()];
    if windows && Path::new(program).extension().is_none() {
        names.extend([".exe", ".com", ".cmd", ".bat"].map(|x| format!("{program}{x}")));
    }
    names
}

#[cfg(unix)]
fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(p: &Path) -> bool {
    p.is_file()
}

/// A started upstream: its stdio and the handle that stops it.
#[derive(Debug)]
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    program: PathBuf,
}

/// Starts `spec` with exactly its environment; `on_stderr` gets each line the program writes to
/// stderr (see the crate documentation).
pub fn launch(
    spec: &Spec,
    on_stderr: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<Process, LaunchError> {
    if !spec.cwd.is_dir() {
        return Err(LaunchError::Cwd {
            upstream: spec.name.clone(),
            cwd: spec.cwd.display().to_string(),
        });
    }
    let path = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok());
    let program = resolve(&spec.name, &spec.program, path.as_deref(), &spec.cwd)?;
    let mut command = Command::new(&program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|source| LaunchError::Spawn {
        upstream: spec.name.clone(),
        program: program.display().to_string(),
        source,
    })?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = clean(&buf);
                        if !text.is_empty() {
                            on_stderr(&text);
                        }
                    }
                }
            }
        });
    }
    Ok(Process {
        stdin: child.stdin.take(),
        stdout: child.stdout.take(),
        child,
        program,
    })
}

/// A log line from raw stderr bytes: lossy UTF-8, cut at [`MAX_LOG_LINE`] bytes, control
/// characters (terminal escapes included) removed, trimmed.
fn clean(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(MAX_LOG_LINE)];
    String::from_utf8_lossy(cut)
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

impl Process {
    /// The program's stdout (read) and stdin (write), once.
    pub fn take_io(&mut self) -> Option<(ChildStdout, ChildStdin)> {
        Some((self.stdout.take()?, self.stdin.take()?))
    }

    /// The absolute path that was started.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the program to end; how it ended, in words.
    pub async fn wait(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        }
    }

    /// Stops the program as the MCP stdio transport says: close its stdin, give it `grace` to
    /// exit, then SIGTERM its process group, then SIGKILL.
    pub async fn stop(&mut self, grace: Duration) {
        self.stdin = None;
        if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            self.signal_group(false);
            return;
        }
        self.signal_group(false);
        if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            self.signal_group(true);
            return;
        }
        self.signal_group(true);
        let _ = self.child.kill().await;
    }

    #[cfg(unix)]
    fn signal_group(&self, kill: bool) {
        use rustix::process::{Pid, Signal, kill_process_group};
        let Some(pid) = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
        else {
            return;
        };
        let signal = if kill { Signal::KILL } else { Signal::TERM };
        // The group may already be gone (ESRCH): nothing to do.
        let _ = kill_process_group(pid, signal);
    }

    #[cfg(not(unix))]
    fn signal_group(&self, _kill: bool) {}
}

/// The delay before restarting an upstream that ended: doubling from `min` to `max`, with full
/// jitter (a random point in `[0, delay]`, at least `min`); [`Backoff::reset`] after it has run
/// a while.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Doubling from `min` up to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The next delay; `random` is any random number (the jitter).
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let ceiling = self.next;
        self.next = (self.next * 2).min(self.max);
        let span = u64::try_from(ceiling.saturating_sub(self.min).as_millis()).unwrap_or(u64::MAX);
        let extra = if span == 0 { 0 } else { random % (span + 1) };
        self.min + Duration::from_millis(extra)
    }

    /// Back to `min` (the program ran long enough to count as healthy).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn spec(program: &str, args: &[&str], env: &[(&str, &str)]) -> Spec {
        Spec {
            name: "t".into(),
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: std::env::temp_dir(),
        }
    }

    #[tokio::test]
    async fn the_child_sees_only_the_given_environment() {
        // SAFETY of the test: a variable of this process that must not reach the child.
        let mut p = launch(
            &spec(
                "sh",
                &["-c", "env; echo oops >&2"],
                &[("PATH", "/usr/bin:/bin"), ("ONLY_THIS", "1")],
            ),
            Arc::new(|_| {}),
        )
        .unwrap();
        let (mut out, _in) = p.take_io().unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut out, &mut text)
            .await
            .unwrap();
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split('=').next())
            .filter(|n| !n.is_empty())
            .collect();
        // sh itself may add PWD, SHLVL and `_`; nothing of ours beyond what was given.
        for n in &names {
            assert!(
                ["PATH", "ONLY_THIS", "PWD", "SHLVL", "_", "OLDPWD"].contains(n),
                "unexpected variable {n} in {names:?}"
            );
        }
        assert!(names.contains(&"ONLY_THIS"));
        assert!(!text.contains("HOME="), "{text}");
        p.wait().await;
    }

    #[tokio::test]
    async fn stderr_lines_reach_the_callback_cleaned() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&seen);
        let mut p = launch(
            &spec(
                "sh",
                &["-c", "printf 'one\\n\\033[31mtwo\\n' >&2"],
                &[("PATH", "/usr/bin:/bin")],
            ),
            Arc::new(move |l| sink.lock().unwrap().push(l.to_string())),
        )
        .unwrap();
        p.wait().await;
        for _ in 0..100 {
            if seen.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*seen.lock().unwrap(), vec!["one", "[31mtwo"]);
    }

    #[test]
    fn resolve_uses_the_given_path_only() {
        let cwd = std::env::temp_dir();
        assert!(resolve("t", "sh", Some("/usr/bin:/bin"), &cwd).is_ok());
        let e = resolve("t", "sh", Some("/nonexistent"), &cwd).unwrap_err();
        assert!(
            e.to_string().contains("cannot find the program `sh`"),
            "{e}"
        );
        // Relative PATH entries are ignored.
        assert!(resolve("t", "sh", Some("."), &cwd).is_err());
        assert!(resolve("t", "/nonexistent/prog", None, &cwd).is_err());
    }

    #[tokio::test]
    async fn stop_ends_a_program_that_ignores_stdin() {
        let mut p = launch(
            &spec("sleep", &["30"], &[("PATH", "/usr/bin:/bin")]),
            Arc::new(|_| {}),
        )
        .unwrap();
        let started = std::time::Instant::now();
        p.stop(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(p.id().is_none(), "still running");
    }

    #[test]
    fn windows_looks_for_the_usual_extensions() {
        assert_eq!(candidates("uvx", false), ["uvx"]);
        assert_eq!(
            candidates("npx", true),
            ["npx", "npx.exe", "npx.com", "npx.cmd", "npx.bat"]
        );
        assert_eq!(candidates("python.exe", true), ["python.exe"]);
    }

    #[test]
    fn a_missing_working_directory_is_refused() {
        let mut s = spec("sh", &[], &[]);
        s.cwd = PathBuf::from("/nonexistent/dir");
        let e = launch(&s, Arc::new(|_| {})).unwrap_err();
        assert!(e.to_string().contains("is not a directory"), "{e}");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        assert_eq!(b.next_delay(0), Duration::from_millis(100));
        let d = b.next_delay(u64::MAX);
        assert!(d <= Duration::from_millis(200), "{d:?}");
        for _ in 0..10 {
            assert!(b.next_delay(12345) <= Duration::from_millis(1000));
        }
        b.reset();
        assert_eq!(b.next_delay(7), Duration::from_millis(100));
    }
}
