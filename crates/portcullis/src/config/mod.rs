//! Server settings, read once at start-up from the environment (the awslabs server's variable
//! names, so existing MCP client configurations carry over).

mod file;

use std::path::PathBuf;

pub use file::ConfigFile;

use anyhow::Context;
use portcullis_policy::{Mode, Policy};
use portcullis_sandbox::{FILE_ACCESS_ENV, FileAccessMode};

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory `file://` paths are relative to (`AWS_API_MCP_WORKING_DIR`, else a fresh temp dir).
    pub working_dir: PathBuf,
    /// The profile whose credentials are pinned (`AWS_API_MCP_PROFILE_NAME`, else the default chain).
    pub profile: Option<String>,
    /// The default region (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's).
    pub region: Option<String>,
    /// The policy: the mode (guarded unless `READ_OPERATIONS_ONLY=true`), plus the rules of `PORTCULLIS_POLICY_FILE` (native or awslabs form)
    /// or, failing that, of the awslabs file `~/.aws/aws-api-mcp/mcp-security-policy.json`.
    pub policy: Policy,
    /// Where the policy's rules came from, for the start-up log.
    pub policy_source: String,
    /// How local files may be reached (`AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS`:
    /// `workdir`, the default, `no-access` or `unrestricted`).
    pub file_access: FileAccessMode,
    /// The engine's bounds per call.
    pub bounds: Bounds,
    /// The audit trail.
    pub audit: crate::pipeline::record::AuditSettings,
}

/// What one call may take, reported to the agent when hit (with a `--starting-token` to go on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Items per call (`PORTCULLIS_MAX_ITEMS`, default 1000).
    pub max_items: u64,
    /// Pages per call (`PORTCULLIS_MAX_PAGES`, default 100).
    pub max_pages: usize,
    /// Seconds per call over every page and retry (`PORTCULLIS_CALL_TIMEOUT`, default 60).
    pub call_timeout_secs: u64,
    /// Response bytes per call (`PORTCULLIS_MAX_RESPONSE_BYTES`, default 64 MiB).
    pub max_response_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { max_items: 1000, max_pages: 100, call_timeout_secs: 60, max_response_bytes: 64 * 1024 * 1024 }
    }
}

impl Settings {
    /// Reads the settings through `lookup`: the environment, with the config file's values
    /// behind it (see [`super::config::ConfigFile::layered`]).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        refuse_unimplemented_awslabs_settings(&var)?;
        let mode = configured_mode(&var)?;
        // REQUIRE_MUTATION_CONSENT is what guarded mode does; `false` cannot weaken it (fail closed).
        if let Some(v) = var("REQUIRE_MUTATION_CONSENT")
            && v.trim().eq_ignore_ascii_case("false")
        {
            tracing::warn!("portcullis: REQUIRE_MUTATION_CONSENT=false is ignored: writes still need consent in guarded mode");
        }
        let working_dir = match var("AWS_API_MCP_WORKING_DIR") {
            Some(d) => {
                let p = PathBuf::from(d);
                anyhow::ensure!(p.is_absolute() && p.is_dir(), "AWS_API_MCP_WORKING_DIR must be an existing absolute directory: {}", p.display());
                p
            }
            None => {
                let p = std::env::temp_dir().join(format!("portcullis-{}", std::process::id()));
                std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
                p
            }
        };
        let file_access = match var(FILE_ACCESS_ENV) {
            Some(v) => FileAccessMode::from_env_value(&v).map_err(|e| anyhow::anyhow!("{FILE_ACCESS_ENV} (or `file-access` in the config file): {e}"))?,
            None => FileAccessMode::default(),
        };
        let number = |k: &str, default: u64| -> anyhow::Result<u64> {
            match var(k) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => anyhow::bail!("{k} must be a positive whole number, not `{v}`"),
                },
            }
        };
        let d = Bounds::default();
        let bounds = Bounds {
            max_items: number("PORTCULLIS_MAX_ITEMS", d.max_items)?,
            max_pages: usize::try_from(number("PORTCULLIS_MAX_PAGES", d.max_pages as u64)?).unwrap_or(usize::MAX),
            call_timeout_secs: number("PORTCULLIS_CALL_TIMEOUT", d.call_timeout_secs)?,
            max_response_bytes: usize::try_from(number("PORTCULLIS_MAX_RESPONSE_BYTES", d.max_response_bytes as u64)?).unwrap_or(usize::MAX),
        };
        let (policy, policy_source) = load_policy(mode, var("PORTCULLIS_POLICY_FILE").map(PathBuf::from), var("HOME").map(PathBuf::from))?;
        Ok(Settings {
            working_dir,
            profile: var("AWS_API_MCP_PROFILE_NAME"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            policy,
            policy_source,
            file_access,
            bounds,
            audit: crate::pipeline::record::AuditSettings::from_lookup(&var)?,
        })
    }

    /// A one-line summary for the start-up log (no secrets).
    pub fn describe(&self) -> String {
        format!(
            "mode {}, policy {}, working dir {} (file access: {}), profile {}, region {}",
            self.policy.mode(),
            self.policy_source,
            self.working_dir.display(),
            self.file_access,
            self.profile.as_deref().unwrap_or("(default chain)"),
            self.region.as_deref().unwrap_or("(from profile)")
        )
    }
}

/// awslabs settings whose feature Portcullis does not implement. While one is set so that it would
/// turn its feature on, `serve` does not start (over stdio or HTTP): a user who believes OAuth (or
/// stateless HTTP, or the agent-scripts tool) is on must never be served without it. Every such
/// variable is named at once, with why and what to do.
///
/// * `AUTH_TYPE`: awslabs knows `no-auth` and `oauth`; anything but `no-auth` (any case) refuses.
/// * `AUTH_ISSUER`, `AUTH_JWKS_URI`: any value refuses (they only mean something with OAuth).
/// * `AWS_API_MCP_STATELESS_HTTP`, `EXPERIMENTAL_AGENT_SCRIPTS`: awslabs reads `true`/`yes`/`1` as
///   on; here anything but `false`/`no`/`0` (any case) refuses, so a misspelt "on" fails closed.
///
/// `AWS_API_MCP_TELEMETRY` and `AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING` are accepted with any
/// value and have no effect (Portcullis sends no telemetry and prints no deprecation warning), so
/// they are not read at all. Empty values count as unset, as everywhere else.
fn refuse_unimplemented_awslabs_settings(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
    const OAUTH: &str = "Portcullis does not implement the awslabs server's OAuth yet, and it will not serve without the \
        authentication you asked for. Unset AUTH_TYPE, AUTH_ISSUER and AUTH_JWKS_URI (or set AUTH_TYPE=no-auth); to \
        authenticate clients, use `serve --transport http`, where every request must carry the owner's bearer token \
        (`Authorization: Bearer <token>`, the token in the server's token file)";
    let off = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "no" | "0");
    let mut problems = Vec::new();
    if let Some(v) = var("AUTH_TYPE")
        && !v.trim().eq_ignore_ascii_case("no-auth")
    {
        problems.push(format!("AUTH_TYPE=`{}` is set: {OAUTH}", v.trim()));
    }
    for name in ["AUTH_ISSUER", "AUTH_JWKS_URI"] {
        if var(name).is_some() {
            problems.push(format!("{name} is set: {OAUTH}"));
        }
    }
    if let Some(v) = var("AWS_API_MCP_STATELESS_HTTP")
        && !off(&v)
    {
        problems.push(format!(
            "AWS_API_MCP_STATELESS_HTTP=`{}` asks for stateless streamable HTTP, which Portcullis does not implement yet \
             (its HTTP sessions are kept and bound to the owner's token). Unset it, or set it to false",
            v.trim()
        ));
    }
    if let Some(v) = var("EXPERIMENTAL_AGENT_SCRIPTS")
        && !off(&v)
    {
        problems.push(format!(
            "EXPERIMENTAL_AGENT_SCRIPTS=`{}` asks for the awslabs agent-scripts tool (`get_execution_plan`), which \
             Portcullis does not implement yet. Unset it, or set it to false",
            v.trim()
        ));
    }
    anyhow::ensure!(problems.is_empty(), "refusing to start: {}", problems.join("; and "));
    Ok(())
}

/// The mode the configuration asks for (`PORTCULLIS_MODE`, or read-only by `READ_OPERATIONS_ONLY=true`).
fn configured_mode(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<Mode>> {
    let configured = match var("PORTCULLIS_MODE") {
        Some(m) => Some(serde_json::from_value::<Mode>(serde_json::Value::String(m.trim().to_string())).map_err(|_| {
        anyhow::anyhow!("PORTCULLIS_MODE (or `mode` in the config file) must be read-only, guarded or unrestricted, not `{}`", m.trim())
        })?),
        None => None,
    };
    let read_only = match var("READ_OPERATIONS_ONLY").map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "true" || v == "1" || v == "yes" => true,
        Some(v) if v == "false" || v == "0" || v == "no" => false,
        Some(v) => anyhow::bail!("READ_OPERATIONS_ONLY must be true or false, not `{v}`"),
        None => false,
    };
    // READ_OPERATIONS_ONLY=true is the awslabs switch for the strictest mode; `false` leaves the mode as configured.
    Ok(if read_only { Some(Mode::ReadOnly) } else { configured })
}

/// The policy `serve` would run with, from the same settings (for `portcullis exec`).
pub fn policy_from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<(Policy, String)> {
    let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
    let mode = configured_mode(&var)?;
    load_policy(mode, var("PORTCULLIS_POLICY_FILE").map(PathBuf::from), var("HOME").map(PathBuf::from))
}

/// The policy in force. A policy file that does not load stops the server (fail closed): the
/// error names the file, the line and the cause. `mode` is the configured mode, if any: with a
/// native policy file that sets its own, the stricter of the two applies.
fn load_policy(mode: Option<Mode>, explicit: Option<PathBuf>, home: Option<PathBuf>) -> anyhow::Result<(Policy, String)> {
    let awslabs = home.map(|h| portcullis_policy::awslabs_policy_path(&h)).filter(|p| p.is_file());
    let Some(path) = explicit.or(awslabs) else {
        return Ok((Policy::new(mode.unwrap_or_default()), "mode only (no policy file)".into()));
    };
    let loaded = portcullis_policy::load_file(&path).with_context(|| format!("policy file {} does not load; the server will not start without it", path.display()))?;
    let source = path.display().to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if portcullis_policy::is_awslabs(&text) {
        // The awslabs file holds rules only; the mode comes from the configuration.
        let mut policy = Policy::new(mode.unwrap_or_default());
        policy.merge_rules(loaded).with_context(|| format!("policy file {source}"))?;
        return Ok((policy, source));
    }
    // A native policy keeps everything it says (allow-lists, global options, Cedar, shadow).
    let mut policy = loaded;
    let sets_mode = serde_json::from_str::<serde_json::Value>(&text).ok().is_some_and(|v| v.get("mode").is_some());
    match mode {
        None => {}
        Some(configured) if !sets_mode => policy.set_mode(configured),
        Some(configured) if strictness(configured) > strictness(policy.mode()) => {
            tracing::warn!("portcullis: {source} sets mode {}, the configuration asks for {configured}: the stricter, {configured}, applies", policy.mode());
            policy.set_mode(configured);
        }
        Some(_) => {}
    }
    Ok((policy, source))
}

fn strictness(mode: Mode) -> u8 {
    match mode {
        Mode::Unrestricted => 0,
        Mode::Guarded => 1,
        Mode::ReadOnly => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_load_or_stop_the_server() {
        let dir = std::env::temp_dir().join(format!("portcullis-settings-{}", std::process::id()));
        let aws = dir.join(".aws").join("aws-api-mcp");
        std::fs::create_dir_all(&aws).unwrap();
        // No file: the mode alone.
        let (p, src) = load_policy(None, None, Some(dir.join("nowhere"))).unwrap();
        assert_eq!((p.mode(), p.rules().len()), (Mode::Guarded, 0));
        assert!(src.contains("mode only"));
        // The awslabs file under HOME is picked up as is; the environment's mode stays.
        std::fs::write(aws.join("mcp-security-policy.json"), r#"{"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": []}}"#).unwrap();
        let (p, _) = load_policy(Some(Mode::ReadOnly), None, Some(dir.clone())).unwrap();
        assert_eq!(p.mode(), Mode::ReadOnly);
        assert!(!p.rules().is_empty());
        // A broken file stops the server with the file named.
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"version\": 1, \"policy\": {\"denyList\": [\"rm -rf /\"]}}").unwrap();
        let err = load_policy(Some(Mode::Guarded), Some(bad.clone()), None).unwrap_err();
        assert!(format!("{err:#}").contains("bad.json"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn unimplemented_awslabs_settings_refuse_to_start() {
        let check = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            refuse_unimplemented_awslabs_settings(&move |k: &str| {
                vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty())
            })
        };
        for (k, v) in [
            ("AUTH_TYPE", "oauth"),
            ("AUTH_TYPE", "OAuth"),
            ("AUTH_TYPE", "none"),
            ("AUTH_ISSUER", "https://issuer.example"),
            ("AUTH_JWKS_URI", "https://issuer.example/jwks"),
            ("AWS_API_MCP_STATELESS_HTTP", "true"),
            ("AWS_API_MCP_STATELESS_HTTP", "on"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "True"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "1"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "enabled"),
        ] {
            let e = format!("{:#}", check(&[(k, v)]).unwrap_err());
            assert!(e.contains(k) && e.contains("not implement") && e.contains("Unset"), "{k}={v}: {e}");
        }
        let e = format!("{:#}", check(&[("AUTH_TYPE", "oauth")]).unwrap_err());
        assert!(e.contains("bearer token") && e.contains("AUTH_TYPE=no-auth"), "{e}");
        // All of them at once: each named.
        let e = format!("{:#}", check(&[("AUTH_TYPE", "oauth"), ("AWS_API_MCP_STATELESS_HTTP", "yes"), ("EXPERIMENTAL_AGENT_SCRIPTS", "yes")]).unwrap_err());
        assert!(["AUTH_TYPE", "AWS_API_MCP_STATELESS_HTTP", "EXPERIMENTAL_AGENT_SCRIPTS"].iter().all(|k| e.contains(k)), "{e}");
        for vars in [
            &[][..],
            &[("AUTH_TYPE", "no-auth")],
            &[("AUTH_TYPE", " NO-AUTH ")],
            &[("AUTH_TYPE", ""), ("AUTH_ISSUER", " ")],
            &[("AWS_API_MCP_STATELESS_HTTP", "false"), ("EXPERIMENTAL_AGENT_SCRIPTS", "0")],
            &[("AWS_API_MCP_STATELESS_HTTP", "No"), ("EXPERIMENTAL_AGENT_SCRIPTS", "FALSE")],
            &[("AWS_API_MCP_TELEMETRY", "true"), ("AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING", "true")],
        ] {
            assert!(check(vars).is_ok(), "{vars:?}");
        }
    }

    #[test]
    fn modes_layer_and_the_stricter_wins() {
        let dir = std::env::temp_dir().join(format!("portcullis-modes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_string_lossy().into_owned();
        let with = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let d = d.clone();
            Settings::from_lookup(&move |k: &str| {
                if k == "AWS_API_MCP_WORKING_DIR" || k == "HOME" {
                    return Some(d.clone());
                }
                vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
        };
        assert_eq!(with(&[]).unwrap().policy.mode(), Mode::Guarded);
        assert_eq!(with(&[("PORTCULLIS_MODE", "unrestricted")]).unwrap().policy.mode(), Mode::Unrestricted);
        assert_eq!(with(&[("PORTCULLIS_MODE", "unrestricted"), ("READ_OPERATIONS_ONLY", "true")]).unwrap().policy.mode(), Mode::ReadOnly);
        assert_eq!(with(&[("PORTCULLIS_MODE", "unrestricted"), ("READ_OPERATIONS_ONLY", "false")]).unwrap().policy.mode(), Mode::Unrestricted);
        let err = with(&[("PORTCULLIS_MODE", "yolo")]).unwrap_err();
        assert!(format!("{err:#}").contains("PORTCULLIS_MODE"), "{err:#}");
        // A native policy with its own mode and allow-lists: a stricter configured mode applies, and the allow-lists stay.
        let file = dir.join("p.json");
        std::fs::write(&file, r#"{"mode": "unrestricted", "regions": ["eu-west-1"]}"#).unwrap();
        let f = file.to_string_lossy().into_owned();
        let s = with(&[("PORTCULLIS_POLICY_FILE", &f), ("READ_OPERATIONS_ONLY", "true")]).unwrap();
        assert_eq!(s.policy.mode(), Mode::ReadOnly);
        assert!(!s.policy.allows_region("us-east-1") && s.policy.allows_region("eu-west-1"));
        // A native file without a mode keeps its allow-lists under the configured mode.
        std::fs::write(&file, r#"{"regions": ["eu-west-1"], "rules": [{"id": "r", "effect": "deny", "commands": ["aws iam delete-*"]}]}"#).unwrap();
        let s = with(&[("PORTCULLIS_POLICY_FILE", &f), ("PORTCULLIS_MODE", "unrestricted")]).unwrap();
        assert_eq!(s.policy.mode(), Mode::Unrestricted);
        assert!(!s.policy.allows_region("us-east-1"));
        assert_eq!(s.policy.rules().len(), 1);
        // A looser configured mode does not widen the file's.
        std::fs::write(&file, r#"{"mode": "read-only"}"#).unwrap();
        assert_eq!(with(&[("PORTCULLIS_POLICY_FILE", &f), ("PORTCULLIS_MODE", "unrestricted")]).unwrap().policy.mode(), Mode::ReadOnly);
        std::fs::remove_dir_all(&dir).ok();
    }
}
