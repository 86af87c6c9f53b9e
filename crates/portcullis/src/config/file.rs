//! The optional TOML config file of `portcullis serve`.
//!
//! The file is `--config FILE`, else `$PORTCULLIS_CONFIG`, else `$XDG_CONFIG_HOME/portcullis/config.toml`
//! (`~/.config/portcullis/config.toml`) when it exists. A file named explicitly must exist. Its
//! keys are the fields of [`Layer`] in kebab-case, each typed: unknown keys, wrong types and bad
//! values stop the server with the file, the line and column of the value, and the key (fail
//! closed). Relative paths in the file are relative to the file's directory.
//!
//! ```toml
//! mode = "guarded"                 # read-only | guarded | unrestricted (PORTCULLIS_MODE)
//! policy-file = "policy.json"      # native or awslabs policy (PORTCULLIS_POLICY_FILE)
//! working-dir = "/srv/agent-files" # AWS_API_MCP_WORKING_DIR
//! profile = "agent"                # AWS_API_MCP_PROFILE_NAME
//! region = "eu-west-1"             # AWS_REGION
//! transport = "stdio"              # stdio | streamable-http (or http) (AWS_API_MCP_TRANSPORT)
//! host = "127.0.0.1"               # AWS_API_MCP_HOST
//! port = 8000                      # AWS_API_MCP_PORT
//! allowed-hosts = ["mcp.internal"] # AWS_API_MCP_ALLOWED_HOSTS
//! allowed-origins = ["https://ide.example"] # AWS_API_MCP_ALLOWED_ORIGINS
//! token-file = "token"             # PORTCULLIS_TOKEN_FILE
//! log-file = "portcullis.log"      # PORTCULLIS_LOG_FILE (default: stderr); log-format = "json" (PORTCULLIS_LOG_FORMAT)
//! max-items = 1000                 # per call (PORTCULLIS_MAX_ITEMS); also max-pages = 100,
//!                                  # call-timeout = 60 (seconds), max-response-bytes = 67108864
//! audit-dir = "/var/log/portcullis" # PORTCULLIS_AUDIT_DIR; also audit-key-file, audit-fsync = "always"
//! file-access = "workdir"          # workdir | no-access | unrestricted (AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS)
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::env::EnvConfig;
use super::layer::Layer;

/// A loaded config file, or none.
#[derive(Debug, Default, Clone)]
pub struct ConfigFile {
    /// Where it was read from (`None`: no file, defaults only).
    pub path: Option<PathBuf>,
    /// Its settings, typed, paths resolved against its directory.
    pub values: Layer,
    /// Each key and where its value is (1-based line and column), for messages about a value
    /// that parsed but cannot be used (a working directory that does not exist).
    positions: Vec<(String, (usize, usize))>,
}

/// A problem in the file's text: where (a byte range), under which top-level key, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileError {
    /// 1-based line and column.
    at: Option<(usize, usize)>,
    key: Option<String>,
    message: String,
}

impl std::fmt::Display for FileError {
    /// `LINE:COL: `key`: message` (the key when the error is in its value).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, col)) = self.at {
            write!(f, "{line}:{col}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl ConfigFile {
    /// Finds and reads the config file: `explicit` (the `--config` flag), else `PORTCULLIS_CONFIG`,
    /// else the default location if a file is there.
    pub fn load(explicit: Option<&Path>, env: &EnvConfig) -> anyhow::Result<ConfigFile> {
        let named = explicit
            .map(Path::to_path_buf)
            .or_else(|| env.config_file.clone());
        let path = match named {
            Some(p) => {
                anyhow::ensure!(
                    p.is_file(),
                    "config file {} does not exist (from --config or PORTCULLIS_CONFIG)",
                    p.display()
                );
                p
            }
            None => {
                let base = env
                    .xdg_config_home
                    .clone()
                    .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
                match base
                    .map(|b| b.join("portcullis").join("config.toml"))
                    .filter(|p| p.is_file())
                {
                    Some(p) => p,
                    None => return Ok(ConfigFile::default()),
                }
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut file =
            parse(&text).map_err(|e| anyhow::anyhow!("config file {}:{e}", path.display()))?;
        file.values = file
            .values
            .relative_to(path.parent().unwrap_or(Path::new(".")));
        file.path = Some(path);
        Ok(file)
    }

    /// Where `field`'s value is, as the start of a message: "config file FILE:LINE:COL: `key`: ".
    pub(crate) fn subject(&self, field: &str) -> String {
        let key = field.replace('_', "-");
        let path = self
            .path
            .as_ref()
            .map_or_else(|| "(none)".to_string(), |p| p.display().to_string());
        match self.positions.iter().find(|(k, _)| *k == key) {
            Some((_, (line, col))) => format!("config file {path}:{line}:{col}: `{key}`: "),
            None => format!("config file {path}: `{key}`: "),
        }
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string())
    }
}

/// Parses the TOML text into typed settings. Errors are located by the parser's spans: the
/// syntax error's, else the value's (the element's, in a list), else the key's (an unknown key);
/// the top-level entry whose span holds the error gives the key.
pub(super) fn parse(text: &str) -> Result<ConfigFile, FileError> {
    let located = |span: Option<Range<usize>>, key: Option<String>, message: &str| FileError {
        at: span.map(|s| line_col(text, s.start)),
        key,
        message: message.to_string(),
    };
    let table = toml::de::DeTable::parse(text).map_err(|e| located(e.span(), None, e.message()))?;
    // Each top-level entry: its key, the key's span and the value's span.
    let entries: Vec<(String, Range<usize>, Range<usize>)> = table
        .get_ref()
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), k.span(), v.span()))
        .collect();
    let values = Layer::deserialize(toml::de::Deserializer::from(table)).map_err(|e| {
        let span = e.span();
        // Named when the error is inside the value; an error on the key (unknown) names it itself.
        let key = span
            .as_ref()
            .and_then(|s| {
                entries
                    .iter()
                    .find(|(_, _, v)| v.start <= s.start && s.start < v.end.max(v.start + 1))
            })
            .map(|(k, _, _)| k.clone());
        located(span, key, e.message())
    })?;
    let positions = entries
        .into_iter()
        .map(|(k, _, v)| (k, line_col(text, v.start)))
        .collect();
    Ok(ConfigFile {
        path: None,
        values,
        positions,
    })
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::num::NonZeroU64;

    use portcullis_audit::FsyncPolicy;
    use portcullis_policy::Mode;
    use portcullis_sandbox::FileAccessMode;

    use super::super::net::{AllowedHost, Origin, Transport};
    use super::super::values::LogFormat;
    use super::*;

    fn values(text: &str) -> Layer {
        parse(text).unwrap().values
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    fn env(pairs: &[(&str, &str)]) -> EnvConfig {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvConfig::from_lookup(&move |k: &str| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn parses_every_key_typed() {
        let c = values(
            "mode = \"read-only\"\npolicy-file = \"p.json\"\nworking-dir = \"/w\"\nprofile = \"a\"\nregion = \"eu-west-1\"\n\
             transport = \"streamable-http\"\nhost = \"::1\"\nport = 8123\nallowed-hosts = [\"h\", \"h.example:9000\"]\n\
             allowed-origins = [\"https://o\"]\ntoken-file = \"t\"\nfile-access = \"no-access\"\nlog-file = \"l\"\n\
             log-format = \"json\"\nmax-items = 5\nmax-pages = 6\ncall-timeout = 7\nmax-response-bytes = 8\naudit-dir = \"a\"\n\
             audit-key-file = \"k\"\naudit-fsync = \"100ms\"\n",
        );
        assert_eq!(c.mode, Some(Mode::ReadOnly));
        assert_eq!(c.transport, Some(Transport::Http));
        assert_eq!(c.host, Some("::1".parse::<IpAddr>().unwrap()));
        assert_eq!(c.port, Some(8123));
        assert_eq!(
            c.allowed_hosts,
            Some(vec![
                AllowedHost {
                    host: "h".into(),
                    port: None
                },
                AllowedHost {
                    host: "h.example".into(),
                    port: Some(9000)
                }
            ])
        );
        assert_eq!(
            c.allowed_origins,
            Some(vec![Origin::parse("https://o:443").unwrap()])
        );
        assert_eq!(c.file_access, Some(FileAccessMode::NoAccess));
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(
            (c.max_items, c.call_timeout),
            (NonZeroU64::new(5), NonZeroU64::new(7))
        );
        assert_eq!(
            c.audit_fsync,
            Some(FsyncPolicy::Interval(std::time::Duration::from_millis(100)))
        );
        let c = c.relative_to(Path::new("/etc/portcullis"));
        assert_eq!(c.policy_file, Some(PathBuf::from("/etc/portcullis/p.json")));
        assert_eq!(c.working_dir, Some(PathBuf::from("/w")));
        assert_eq!(c.audit_key_file, Some(PathBuf::from("/etc/portcullis/k")));
        assert_eq!(c.profile.as_deref(), Some("a"));
        // `http` is the file's (and the flag's) short spelling.
        assert_eq!(
            values("transport = \"http\"\n").transport,
            Some(Transport::Http)
        );
    }

    #[test]
    fn errors_name_line_column_and_key() {
        // An unknown key: at the key, which the message names.
        let e = error("region = \"eu-west-1\"\nmodde = \"guarded\"\n");
        assert!(e.starts_with("2:1: ") && e.contains("modde"), "{e}");
        // A wrong type or range: at the value, under its key.
        let e = error("port = \"eighty\"\n");
        assert!(
            e.starts_with("1:8: `port`: ") && e.contains("port number"),
            "{e}"
        );
        let e = error("port = 70000\n");
        assert!(
            e.starts_with("1:8: `port`: ") && e.contains("0 to 65535") && e.contains("70000"),
            "{e}"
        );
        let e = error("max-items = 0\n");
        assert!(
            e.starts_with("1:13: `max-items`: must be a positive whole number"),
            "{e}"
        );
        // A bad value: at the value (not at the first place the key's name appears in the text).
        let e = error("# mode = \"guarded\"\nregion = \"x\"\n\nmode = \"yolo\"\n");
        assert!(
            e.starts_with("4:8: `mode`: ") && e.contains("read-only") && e.contains("`yolo`"),
            "{e}"
        );
        let e = error("transport = \"sse\"\n");
        assert!(
            e.starts_with("1:13: `transport`: ") && e.contains("streamable-http"),
            "{e}"
        );
        let e = error("file-access = \"everywhere\"\n");
        assert!(
            e.starts_with("1:15: `file-access`: ") && e.contains("no-access"),
            "{e}"
        );
        let e = error("audit-fsync = \"sometimes\"\n");
        assert!(
            e.starts_with("1:15: `audit-fsync`: ") && e.contains("milliseconds"),
            "{e}"
        );
        let e = error("log-format = \"xml\"\n");
        assert!(
            e.starts_with("1:14: `log-format`: ") && e.contains("human or json"),
            "{e}"
        );
        let e = error("host = \"my.host\"\n");
        assert!(
            e.starts_with("1:8: `host`: ") && e.contains("IP address"),
            "{e}"
        );
        // In a list, at the element.
        let e = error("allowed-hosts = [\n  \"ok.example\",\n  \"*\",\n]\n");
        assert!(
            e.starts_with("3:3: `allowed-hosts`: ") && e.contains("wildcards"),
            "{e}"
        );
        let e = error("allowed-origins = [\"https://a.example\", \"a.example\"]\n");
        assert!(
            e.starts_with("1:41: `allowed-origins`: ") && e.contains("http[s]://"),
            "{e}"
        );
        // A syntax error: where the parser stopped.
        let e = error("mode = [\n");
        assert!(e.starts_with("1:") || e.starts_with("2:"), "{e}");
        let e = error("region = \"a\"\nregion = \"b\"\n");
        assert!(e.starts_with("2:"), "{e}");
    }

    #[test]
    fn finds_the_file() {
        let dir = std::env::temp_dir().join(format!("portcullis-config-{}", std::process::id()));
        let conf = dir.join("portcullis");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("config.toml"),
            "policy-file = \"rules.json\"\n\nworking-dir = \"w\"\n",
        )
        .unwrap();
        let xdg = dir.to_string_lossy().into_owned();
        let c = ConfigFile::load(None, &env(&[("XDG_CONFIG_HOME", &xdg)])).unwrap();
        assert_eq!(c.path.as_deref(), Some(conf.join("config.toml").as_path()));
        assert_eq!(c.values.policy_file, Some(conf.join("rules.json")));
        assert_eq!(
            c.subject("working_dir"),
            format!(
                "config file {}:3:15: `working-dir`: ",
                conf.join("config.toml").display()
            )
        );
        // No file at the default place: defaults, no error.
        assert!(ConfigFile::load(None, &env(&[])).unwrap().path.is_none());
        // A file named explicitly must exist; a broken one names file, line, column and key.
        let err = ConfigFile::load(Some(&dir.join("missing.toml")), &env(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("missing.toml"), "{err:#}");
        std::fs::write(dir.join("bad.toml"), "\n\nport = -1\n").unwrap();
        let err = ConfigFile::load(Some(&dir.join("bad.toml")), &env(&[])).unwrap_err();
        assert!(
            format!("{err:#}").contains("bad.toml:3:8: `port`: "),
            "{err:#}"
        );
        // PORTCULLIS_CONFIG names it too.
        let named = dir.join("bad.toml").to_string_lossy().into_owned();
        let err = ConfigFile::load(None, &env(&[("PORTCULLIS_CONFIG", &named)])).unwrap_err();
        assert!(format!("{err:#}").contains("bad.toml:3:8:"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
