//! Server settings, read once at start-up from the environment (the awslabs server's variable
//! names, so existing MCP client configurations carry over).

use std::path::PathBuf;

use anyhow::Context;
use portcullis_policy::Mode;

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Guarded (writes ask first) unless `READ_OPERATIONS_ONLY=true` (writes are denied).
    pub mode: Mode,
    /// The directory `file://` paths are relative to (`AWS_API_MCP_WORKING_DIR`, else a fresh temp dir).
    pub working_dir: PathBuf,
    /// The profile whose credentials are pinned (`AWS_API_MCP_PROFILE_NAME`, else the default chain).
    pub profile: Option<String>,
    /// The default region (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's).
    pub region: Option<String>,
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
        Ok(Settings {
            mode,
            working_dir,
            profile: var("AWS_API_MCP_PROFILE_NAME"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
        })
    }

    /// A one-line summary for the start-up log (no secrets).
    pub fn describe(&self) -> String {
        format!(
            "mode {}, working dir {}, profile {}, region {}",
            self.mode,
            self.working_dir.display(),
            self.profile.as_deref().unwrap_or("(default chain)"),
            self.region.as_deref().unwrap_or("(from profile)")
        )
    }
}
