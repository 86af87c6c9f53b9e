//! The optional TOML config file of `portcullis serve`, and the one rule for where a setting comes
//! from: **flag > environment variable > config file > default**.
//!
//! The file is `--config FILE`, else `$PORTCULLIS_CONFIG`, else `$XDG_CONFIG_HOME/portcullis/config.toml`
//! (`~/.config/portcullis/config.toml`) when it exists. A file named explicitly must exist. Unknown
//! keys, wrong types and bad values stop the server with the file, line and column (fail closed).
//! Relative paths in the file are relative to the file's directory.
//!
//! ```toml
//! mode = "guarded"                 # read-only | guarded | unrestricted
//! policy-file = "policy.json"      # native or awslabs policy (PORTCULLIS_POLICY_FILE)
//! working-dir = "/srv/agent-files" # AWS_API_MCP_WORKING_DIR
//! profile = "agent"                # AWS_API_MCP_PROFILE_NAME
//! region = "eu-west-1"             # AWS_REGION
//! transport = "stdio"              # stdio | streamable-http (AWS_API_MCP_TRANSPORT)
//! host = "127.0.0.1"               # AWS_API_MCP_HOST
//! port = 8000                      # AWS_API_MCP_PORT
//! allowed-hosts = ["mcp.internal"] # AWS_API_MCP_ALLOWED_HOSTS
//! allowed-origins = ["https://ide.example"] # AWS_API_MCP_ALLOWED_ORIGINS
//! token-file = "token"             # PORTCULLIS_TOKEN_FILE
//! log-file = "portcullis.log"    # PORTCULLIS_LOG_FILE (default: stderr); log-format = "json" (PORTCULLIS_LOG_FORMAT)
//! max-items = 1000                # per call (PORTCULLIS_MAX_ITEMS); also max-pages = 100,
//!                                  # call-timeout = 60 (seconds), max-response-bytes = 67108864
//! audit-dir = "/var/log/portcullis" # PORTCULLIS_AUDIT_DIR; also audit-key-file, audit-fsync = "always"
//! file-access = "workdir"          # workdir | no-access | unrestricted (AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS)
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The config file's contents. Every key is optional; absent keys fall through to defaults.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub mode: Option<String>,
    pub policy_file: Option<PathBuf>,
    pub working_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub transport: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub token_file: Option<PathBuf>,
    pub file_access: Option<String>,
    pub log_file: Option<PathBuf>,
    pub log_format: Option<String>,
    pub max_items: Option<u64>,
    pub max_pages: Option<u64>,
    pub call_timeout: Option<u64>,
    pub max_response_bytes: Option<u64>,
    pub audit_dir: Option<PathBuf>,
    pub audit_key_file: Option<PathBuf>,
    pub audit_fsync: Option<String>,
}

/// A loaded config file, or none.
#[derive(Debug, Default, Clone)]
pub struct ConfigFile {
    /// Where it was read from (`None`: no file, defaults only).
    pub path: Option<PathBuf>,
    pub values: FileConfig,
}

impl ConfigFile {
    /// Finds and reads the config file: `explicit` (the `--config` flag), else `$PORTCULLIS_CONFIG`,
    /// else the default location if a file is there.
    pub fn load(explicit: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<ConfigFile> {
        let named = explicit.map(Path::to_path_buf).or_else(|| env("PORTCULLIS_CONFIG").map(PathBuf::from));
        let path = match named {
            Some(p) => {
                anyhow::ensure!(p.is_file(), "config file {} does not exist (from --config or PORTCULLIS_CONFIG)", p.display());
                p
            }
            None => {
                let base = env("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")));
                match base.map(|b| b.join("portcullis").join("config.toml")).filter(|p| p.is_file()) {
                    Some(p) => p,
                    None => return Ok(ConfigFile::default()),
                }
            }
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
        let values = parse(&text).map_err(|e| anyhow::anyhow!("config file {}:{e}", path.display()))?;
        Ok(ConfigFile { values: values.resolve_paths(path.parent().unwrap_or(Path::new("."))), path: Some(path) })
    }

    /// The file's value for an environment variable's setting, in that variable's own syntax, so
    /// that code reading settings through one lookup function sees env > file with no more work.
    pub fn value_for(&self, var: &str) -> Option<String> {
        let c = &self.values;
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        match var {
            "PORTCULLIS_MODE" => c.mode.clone(),
            "PORTCULLIS_POLICY_FILE" => path(&c.policy_file),
            "AWS_API_MCP_WORKING_DIR" => path(&c.working_dir),
            "AWS_API_MCP_PROFILE_NAME" => c.profile.clone(),
            "AWS_REGION" => c.region.clone(),
            "AWS_API_MCP_TRANSPORT" => c.transport.as_deref().map(|t| if t == "http" { "streamable-http".into() } else { t.to_string() }),
            "AWS_API_MCP_HOST" => c.host.clone(),
            "AWS_API_MCP_PORT" => c.port.map(|p| p.to_string()),
            "AWS_API_MCP_ALLOWED_HOSTS" => c.allowed_hosts.as_ref().map(|l| l.join(",")),
            "AWS_API_MCP_ALLOWED_ORIGINS" => c.allowed_origins.as_ref().map(|l| l.join(",")),
            "PORTCULLIS_TOKEN_FILE" => path(&c.token_file),
            "AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS" => c.file_access.clone(),
            "PORTCULLIS_LOG_FILE" => path(&c.log_file),
            "PORTCULLIS_LOG_FORMAT" => c.log_format.clone(),
            "PORTCULLIS_MAX_ITEMS" => c.max_items.map(|n| n.to_string()),
            "PORTCULLIS_MAX_PAGES" => c.max_pages.map(|n| n.to_string()),
            "PORTCULLIS_CALL_TIMEOUT" => c.call_timeout.map(|n| n.to_string()),
            "PORTCULLIS_MAX_RESPONSE_BYTES" => c.max_response_bytes.map(|n| n.to_string()),
            "PORTCULLIS_AUDIT_DIR" => path(&c.audit_dir),
            "PORTCULLIS_AUDIT_KEY_FILE" => path(&c.audit_key_file),
            "PORTCULLIS_AUDIT_FSYNC" => c.audit_fsync.clone(),
            _ => None,
        }
    }

    /// Looks a setting up in `env`, then in this file (flags are applied by the caller, first).
    pub fn layered<'a>(&'a self, env: &'a dyn Fn(&str) -> Option<String>) -> impl Fn(&str) -> Option<String> + 'a {
        move |var: &str| env(var).filter(|v| !v.trim().is_empty()).or_else(|| self.value_for(var))
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        self.path.as_ref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
    }
}

impl FileConfig {
    fn resolve_paths(mut self, dir: &Path) -> FileConfig {
        for p in [&mut self.policy_file, &mut self.working_dir, &mut self.token_file, &mut self.log_file, &mut self.audit_dir, &mut self.audit_key_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        self
    }
}

/// Parses the TOML text; the error reads `LINE:COL: cause`.
fn parse(text: &str) -> Result<FileConfig, String> {
    let config: FileConfig = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start)).map_or_else(String::new, |(l, c)| format!("{l}:{c}: "));
        format!("{at}{}", e.message())
    })?;
    if let Some(m) = &config.mode
        && !matches!(m.as_str(), "read-only" | "guarded" | "unrestricted")
    {
        let at = text.find("mode").map(|o| line_col(text, o)).map_or_else(String::new, |(l, c)| format!("{l}:{c}: "));
        return Err(format!("{at}mode must be \"read-only\", \"guarded\" or \"unrestricted\", not \"{m}\""));
    }
    if let Some(t) = &config.transport
        && !matches!(t.as_str(), "stdio" | "streamable-http" | "http")
    {
        let at = text.find("transport").map(|o| line_col(text, o)).map_or_else(String::new, |(l, c)| format!("{l}:{c}: "));
        return Err(format!("{at}transport must be \"stdio\" or \"streamable-http\", not \"{t}\""));
    }
    Ok(config)
}

/// 1-based line and column of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_every_key() {
        let c = parse(
            "mode = \"read-only\"\npolicy-file = \"p.json\"\nworking-dir = \"/w\"\nprofile = \"a\"\nregion = \"eu-west-1\"\n\
             transport = \"streamable-http\"\nhost = \"127.0.0.1\"\nport = 8123\nallowed-hosts = [\"h\"]\nallowed-origins = [\"https://o\"]\n\
             token-file = \"t\"\n",
        )
        .unwrap();
        assert_eq!(c.mode.as_deref(), Some("read-only"));
        assert_eq!(c.port, Some(8123));
        assert_eq!(c.allowed_origins, Some(vec!["https://o".to_string()]));
        let c = c.resolve_paths(Path::new("/etc/portcullis"));
        assert_eq!(c.policy_file, Some(PathBuf::from("/etc/portcullis/p.json")));
        assert_eq!(c.working_dir, Some(PathBuf::from("/w")));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("region = \"eu-west-1\"\nmodde = \"guarded\"\n").unwrap_err();
        assert!(e.starts_with("2:1: ") && e.contains("modde"), "{e}");
        let e = parse("port = \"eighty\"\n").unwrap_err();
        assert!(e.starts_with("1:8: "), "{e}");
        let e = parse("port = 70000\n").unwrap_err();
        assert!(e.starts_with("1:8: "), "{e}");
        let e = parse("\nmode = \"yolo\"\n").unwrap_err();
        assert!(e.starts_with("2:1: ") && e.contains("read-only"), "{e}");
        let e = parse("transport = \"sse\"\n").unwrap_err();
        assert!(e.contains("streamable-http"), "{e}");
        let e = parse("mode = [\n").unwrap_err();
        assert!(e.starts_with("1:"), "{e}");
    }

    #[test]
    fn the_file_stands_behind_the_environment() {
        let file = ConfigFile {
            path: None,
            values: parse("port = 9000\nallowed-hosts = [\"a\", \"b\"]\ntransport = \"http\"\nregion = \"eu-west-1\"\n").unwrap(),
        };
        let env = |k: &str| (k == "AWS_REGION").then(|| "us-east-2".to_string());
        let get = file.layered(&env);
        assert_eq!(get("AWS_REGION").as_deref(), Some("us-east-2"));
        assert_eq!(get("AWS_API_MCP_PORT").as_deref(), Some("9000"));
        assert_eq!(get("AWS_API_MCP_ALLOWED_HOSTS").as_deref(), Some("a,b"));
        assert_eq!(get("AWS_API_MCP_TRANSPORT").as_deref(), Some("streamable-http"));
        assert_eq!(get("AWS_API_MCP_HOST"), None);
        assert_eq!(get("HOME"), None);
    }

    #[test]
    fn finds_the_file() {
        let dir = std::env::temp_dir().join(format!("portcullis-config-{}", std::process::id()));
        let conf = dir.join("portcullis");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(conf.join("config.toml"), "policy-file = \"rules.json\"\n").unwrap();
        let xdg = dir.to_string_lossy().into_owned();
        let env = move |k: &str| (k == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let c = ConfigFile::load(None, &env).unwrap();
        assert_eq!(c.path.as_deref(), Some(conf.join("config.toml").as_path()));
        assert_eq!(c.values.policy_file, Some(conf.join("rules.json")));
        // No file at the default place: defaults, no error.
        assert!(ConfigFile::load(None, &no_env).unwrap().path.is_none());
        // A file named explicitly must exist; a broken one names file, line and column.
        let err = ConfigFile::load(Some(&dir.join("missing.toml")), &no_env).unwrap_err();
        assert!(format!("{err:#}").contains("missing.toml"), "{err:#}");
        std::fs::write(dir.join("bad.toml"), "\n\nport = -1\n").unwrap();
        let err = ConfigFile::load(Some(&dir.join("bad.toml")), &no_env).unwrap_err();
        assert!(format!("{err:#}").contains("bad.toml:3:8:"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
