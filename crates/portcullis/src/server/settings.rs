//! Server settings, read once at start-up from the environment (the awslabs server's variable
//! names, so existing MCP client configurations carry over).

use std::path::PathBuf;

use anyhow::Context;
use portcullis_policy::{Mode, Policy};

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
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> anyhow::Result<Settings> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mode = match var("READ_OPERATIONS_ONLY").map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "true" || v == "1" || v == "yes" => Mode::ReadOnly,
            Some(v) if v == "false" || v == "0" || v == "no" => Mode::Guarded,
            Some(v) => anyhow::bail!("READ_OPERATIONS_ONLY must be true or false, not `{v}`"),
            None => Mode::Guarded,
        };
        // REQUIRE_MUTATION_CONSENT is what guarded mode does; `false` cannot weaken it (fail closed).
        if let Some(v) = var("REQUIRE_MUTATION_CONSENT")
            && v.trim().eq_ignore_ascii_case("false")
        {
            eprintln!("portcullis: REQUIRE_MUTATION_CONSENT=false is ignored: writes still need consent in guarded mode");
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
        let (policy, policy_source) = load_policy(mode, var("PORTCULLIS_POLICY_FILE").map(PathBuf::from), var("HOME").map(PathBuf::from))?;
        Ok(Settings {
            working_dir,
            profile: var("AWS_API_MCP_PROFILE_NAME"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            policy,
            policy_source,
        })
    }

    /// A one-line summary for the start-up log (no secrets).
    pub fn describe(&self) -> String {
        format!(
            "mode {}, policy {}, working dir {}, profile {}, region {}",
            self.policy.mode(),
            self.policy_source,
            self.working_dir.display(),
            self.profile.as_deref().unwrap_or("(default chain)"),
            self.region.as_deref().unwrap_or("(from profile)")
        )
    }
}

/// The policy in force. A policy file that does not load stops the server (fail closed): the
/// error names the file, the line and the cause.
fn load_policy(mode: Mode, explicit: Option<PathBuf>, home: Option<PathBuf>) -> anyhow::Result<(Policy, String)> {
    let awslabs = home.map(|h| portcullis_policy::awslabs_policy_path(&h)).filter(|p| p.is_file());
    let Some(path) = explicit.or(awslabs) else {
        return Ok((Policy::new(mode), "mode only (no policy file)".into()));
    };
    let loaded = portcullis_policy::load_file(&path).with_context(|| format!("policy file {} does not load; the server will not start without it", path.display()))?;
    let source = path.display().to_string();
    let has_own_mode = std::fs::read_to_string(&path).ok().is_some_and(|t| t.contains("\"mode\""));
    if has_own_mode {
        // A native policy sets its own mode; the environment may only ask for the strictest.
        anyhow::ensure!(
            mode != Mode::ReadOnly || loaded.mode() == Mode::ReadOnly,
            "READ_OPERATIONS_ONLY=true, but {source} sets mode {}; set \"mode\": \"read-only\" in the file or unset the variable",
            loaded.mode()
        );
        return Ok((loaded, source));
    }
    let mut policy = Policy::new(mode);
    policy.merge_rules(loaded).with_context(|| format!("policy file {source}"))?;
    Ok((policy, source))
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
        let (p, src) = load_policy(Mode::Guarded, None, Some(dir.join("nowhere"))).unwrap();
        assert_eq!((p.mode(), p.rules().len()), (Mode::Guarded, 0));
        assert!(src.contains("mode only"));
        // The awslabs file under HOME is picked up as is; the environment's mode stays.
        std::fs::write(aws.join("mcp-security-policy.json"), r#"{"version": "1.0", "policy": {"denyList": ["aws iam delete-user"], "elicitList": []}}"#).unwrap();
        let (p, _) = load_policy(Mode::ReadOnly, None, Some(dir.clone())).unwrap();
        assert_eq!(p.mode(), Mode::ReadOnly);
        assert!(!p.rules().is_empty());
        // A broken file stops the server with the file named.
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"version\": 1, \"policy\": {\"denyList\": [\"rm -rf /\"]}}").unwrap();
        let err = load_policy(Mode::Guarded, Some(bad.clone()), None).unwrap_err();
        assert!(format!("{err:#}").contains("bad.json"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
