//! The environment, typed: the awslabs server's variables and Portcullis's own, read once.
//!
//! A variable whose value does not parse does not stop the reading: it becomes a [`Problem`]
//! naming the variable and what it accepts, raised when its group is used. So a bad log setting
//! stops `serve` before the logs are set up, any other bad setting after (into the log), and a bad
//! HTTP-only value only when serving HTTP: an awslabs configuration written for stdio may carry
//! HTTP values Portcullis refuses (such as a `*` host), and it did not stop the awslabs server.

use std::path::PathBuf;

use super::layer::Layer;

/// Which settings a problem belongs to, i.e. when it stops `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Log file and format: before the logs are set up.
    Logs,
    /// The mode and the policy file (also read by `exec`).
    Policy,
    /// The audit trail (also read by `portcullis audit`).
    Audit,
    /// Everything else `serve` needs, whatever the transport.
    Server,
    /// Streamable HTTP only.
    Http,
}

/// A setting that could not be read; the message names the variable (or flag) and what it accepts.
#[derive(Debug, Clone)]
pub struct Problem {
    pub group: Group,
    pub message: String,
}

/// Stops with every problem of `groups`, if there is one (each named, in the order found).
pub(crate) fn check(problems: &[Problem], groups: &[Group]) -> anyhow::Result<()> {
    let found: Vec<&str> = problems
        .iter()
        .filter(|p| groups.contains(&p.group))
        .map(|p| p.message.as_str())
        .collect();
    anyhow::ensure!(found.is_empty(), "{}", found.join("; "));
    Ok(())
}

/// Reads a variable of the process environment (empty counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The environment's settings.
#[derive(Debug, Clone, Default)]
pub struct EnvConfig {
    /// Every setting the flags or the file can give too.
    pub layer: Layer,
    /// `READ_OPERATIONS_ONLY=true` (or `1`, `yes`): read-only, whatever the mode says elsewhere
    /// (the awslabs switch for the strictest mode; `false` leaves the mode as configured).
    pub read_only: bool,
    /// `REQUIRE_MUTATION_CONSENT`: `true` makes an unrestricted mode guarded (the stricter setting
    /// wins); `false` is ignored, with a warning (guarded mode needs consent for writes).
    pub mutation_consent: Option<bool>,
    /// The home directory: `HOME`, or on Windows `USERPROFILE` ([`portcullis_platform::home_dir`]).
    pub home: Option<PathBuf>,
    /// The state directory (the token, the audit trail and its key go in it): on Linux
    /// `$XDG_STATE_HOME/portcullis` or `~/.local/state/portcullis` ([`portcullis_platform::state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (the config file's default place is under it).
    pub xdg_config_home: Option<PathBuf>,
    /// `PORTCULLIS_CONFIG`: the config file.
    pub config_file: Option<PathBuf>,
    /// What did not parse, and the awslabs settings Portcullis refuses (see [`check`]).
    pub(crate) problems: Vec<Problem>,
}

/// An awslabs boolean (`true`/`false`, `1`/`0`, `yes`/`no`, any case); anything else is a problem
/// naming the variable, never a silent default.
fn boolean(
    var: &dyn Fn(&str) -> Option<String>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<bool> {
    let v = var(name)?.trim().to_ascii_lowercase();
    match v.as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => {
            problems.push(Problem {
                group: Group::Policy,
                message: format!(
                    "{name} must be true or false, not `{}`",
                    super::values::shown(&v)
                ),
            });
            None
        }
    }
}

impl EnvConfig {
    /// Reads the environment through `lookup` (the process's: [`process_env`]); blank values
    /// count as unset.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> EnvConfig {
        let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        if let Err(e) = super::refuse_unimplemented_awslabs_settings(&var) {
            problems.push(Problem {
                group: Group::Server,
                message: format!("{e:#}"),
            });
        }
        let read_only = boolean(&var, "READ_OPERATIONS_ONLY", &mut problems).unwrap_or(false);
        let mutation_consent = boolean(&var, "REQUIRE_MUTATION_CONSENT", &mut problems);
        let layer = Layer::from_env(&var, &mut problems);
        EnvConfig {
            layer,
            read_only,
            mutation_consent,
            home: portcullis_platform::home_dir(&var),
            state_dir: portcullis_platform::state_dir(&var),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            config_file: var("PORTCULLIS_CONFIG").map(PathBuf::from),
            problems,
        }
    }

    /// Stops with every problem of `groups`.
    pub(crate) fn check(&self, groups: &[Group]) -> anyhow::Result<()> {
        check(&self.problems, groups)
    }
}
