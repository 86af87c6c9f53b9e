//! The gateway's configuration file (TOML): the upstream MCP servers it fronts, and the policy for
//! their tools. Unknown keys, wrong types and unusable values stop the gateway with the file, line
//! and column (fail closed). Relative paths are relative to the file's directory.
//!
//! ```toml
//! lock = "gateway.lock.json"        # the pin file (default: <this file's stem>.lock.json beside it)
//! workdir = "/var/lib/portcullis/gateway" # each upstream's working directory is <workdir>/<name>
//!
//! [policy]
//! mode = "consent-writes"           # consent-writes (default) | read-only | allow
//! deny = ["filesystem__write_*"]    # `upstream__tool` wildcards: never called
//! consent = ["dynamodb__delete_*"]  # a person approves each call
//! allow = ["*__list_*"]             # runs without asking, even when it writes
//! read_only = ["everything__echo"]  # classified as reads, whatever the annotations claim
//! writes = ["iam__list_*"]          # classified as writes, whatever the annotations claim
//! cedar = "tools.cedar"             # Cedar policies on tool calls and their arguments
//!
//! [upstreams.filesystem]
//! command = "npx"                   # found in the upstream's PATH
//! args = ["-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/srv/data"]
//! pass_env = ["PATH", "HOME"]       # copied from the gateway's environment, when set
//! env = { NODE_NO_WARNINGS = "1" }  # set to these values
//!
//! [upstreams.dynamodb]
//! command = "uvx"
//! args = ["awslabs.dynamodb-mcp-server@2.1.8"]
//! aws_profile = "ddb-readonly"      # this upstream's AWS identity (never the gateway's own)
//! # or: assume_role = "arn:aws:iam::123456789012:role/ddb-agent" (+ session_policy = "ddb.json"):
//! # the gateway assumes it and hands the upstream only the session's temporary credentials
//!
//! [upstreams.remote]
//! url = "https://mcp.example.com/mcp"   # streamable HTTP (http:// only on loopback)
//! bearer_token_file = "remote.token"    # the gateway's own credential (or bearer_token_env)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::rules::{ToolPattern, ToolRules};

/// Environment variables that carry AWS credentials or pick them: an upstream gets its AWS
/// identity from `aws_profile` only, never by copying or setting these.
pub const AWS_CREDENTIAL_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_BEARER_TOKEN_BEDROCK",
];

/// Variables an upstream with `aws_profile` also gets from the gateway's environment when set:
/// where the profile is defined.
const AWS_PROFILE_FILES: &[&str] = &["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME"];

/// Variables of the Portcullis server itself, never handed to an upstream.
const OWN_VARS_PREFIX: &str = "PORTCULLIS_";

/// Whether `url` may be an upstream's MCP endpoint: `https://`, or `http://` on a loopback
/// address (plain HTTP elsewhere would send the token in the clear); never a metadata, link-local
/// or unspecified address; no user name or password in it.
fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (e.g. \"https://mcp.example.com/mcp\")"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not hold a user name or password: use `bearer_token_file`".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    };
    if host.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    let ip = portcullis_netaddr::literal_ip(&host);
    if let Some(ip) = ip
        && let Some(why) = portcullis_netaddr::forbidden(ip)
    {
        return Err(format!("`{url}` is a never-endpoint address ({why})"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "`{url}` is plain HTTP to another machine: use https:// (the token would travel in the clear)"
        )),
        other => Err(format!(
            "has scheme `{other}`: use https:// (or http:// on loopback)"
        )),
    }
}

/// The separator between an upstream's name and its tool's in the names the gateway serves.
pub const SEP: &str = "__";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    lock: Option<PathBuf>,
    workdir: Option<PathBuf>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    upstreams: BTreeMap<String, toml::Spanned<RawUpstream>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    mode: Option<String>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    consent: Vec<String>,
    allow: Option<Vec<String>>,
    #[serde(default)]
    read_only: Vec<String>,
    #[serde(default)]
    writes: Vec<String>,
    cedar: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    url: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    pass_env: Vec<String>,
    cwd: Option<PathBuf>,
    aws_profile: Option<String>,
    timeout_secs: Option<u64>,
    max_concurrency: Option<usize>,
    bearer_token_file: Option<PathBuf>,
    bearer_token_env: Option<String>,
    assume_role: Option<String>,
    session_policy: Option<PathBuf>,
}

/// Where the gateway's own token for a streamable-HTTP upstream is read (at each connection; never
/// logged, never the client's token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    /// A file holding the token (trimmed).
    File(PathBuf),
    /// A variable of the gateway's environment.
    Env(String),
}

/// A streamable-HTTP upstream: where, and with which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUpstream {
    /// The MCP endpoint (`https://…/mcp`; `http://` only on loopback).
    pub url: String,
    /// The bearer token the gateway sends, if any.
    pub token: Option<TokenRef>,
}

/// The gateway's policy mode: what a tool no rule names may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayMode {
    /// Reads run; writes (and unannotated tools) ask a person. The default.
    ConsentWrites,
    /// Reads run; writes are refused.
    ReadOnly,
    /// Everything not denied runs.
    Allow,
}

impl GatewayMode {
    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayMode::ConsentWrites => "consent-writes",
            GatewayMode::ReadOnly => "read-only",
            GatewayMode::Allow => "allow",
        }
    }
}

/// One upstream MCP server.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Its name: the prefix of its tools (`[a-z0-9-]`, no `__`).
    pub name: String,
    /// The program that serves MCP on stdio (empty for an HTTP upstream).
    pub command: String,
    /// A streamable-HTTP upstream instead of a program.
    pub http: Option<HttpUpstream>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment (see [`UpstreamConfig::environment`]).
    pub env: BTreeMap<String, String>,
    /// Variables copied from the gateway's environment when set.
    pub pass_env: Vec<String>,
    /// Its working directory (created 0700 when missing).
    pub cwd: PathBuf,
    /// Its AWS profile, if any.
    pub aws_profile: Option<String>,
    /// A role the gateway assumes (with its own credentials) for this upstream: the upstream
    /// gets only the role session's temporary credentials, renewed by a restart before expiry.
    pub assume_role: Option<String>,
    /// The session policy for `assume_role` (a JSON file), narrowing the role further.
    pub session_policy: Option<PathBuf>,
    /// How long one call may take.
    pub timeout: std::time::Duration,
    /// Calls in flight at once.
    pub max_concurrency: usize,
}

impl UpstreamConfig {
    /// The upstream's environment: `pass_env` from `gateway_env` (when set), then `env`, then its
    /// AWS profile. Nothing else of the gateway's environment.
    pub fn environment(
        &self,
        gateway_env: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for name in &self.pass_env {
            if let Some(v) = gateway_env(name) {
                out.insert(name.clone(), v);
            }
        }
        if let Some(profile) = &self.aws_profile {
            for name in AWS_PROFILE_FILES {
                if let Some(v) = gateway_env(name) {
                    out.insert((*name).to_string(), v);
                }
            }
            out.insert("AWS_PROFILE".into(), profile.clone());
        }
        for (k, v) in &self.env {
            out.insert(k.clone(), v.clone());
        }
        out.into_iter().collect()
    }
}

/// The whole file, checked.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// The pin file.
    pub lock: PathBuf,
    /// The upstreams, by name.
    pub upstreams: Vec<UpstreamConfig>,
    /// The tool rules.
    pub rules: ToolRules,
    /// Cedar policies on tool calls (`[policy] cedar`), loaded by the gateway against the pins.
    pub cedar: Option<PathBuf>,
}

impl GatewayConfig {
    /// The upstream called `name`.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|u| u.name == name)
    }
}

/// `1-based (line, column)` of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A valid upstream name: what tool names may carry as a prefix.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && !name.contains(SEP)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !name.starts_with(['-', '_'])
        && !name.ends_with(['-', '_'])
}

/// Reads and checks the configuration at `path`; `state_dir` is where upstream working
/// directories go when the file names no `workdir`. Every problem is reported at once.
pub fn load(path: &Path, state_dir: Option<&Path>) -> anyhow::Result<GatewayConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the gateway configuration {}", path.display()))?;
    parse(&text, path, state_dir)
}

/// [`load`] on text already read.
pub fn parse(text: &str, path: &Path, state_dir: Option<&Path>) -> anyhow::Result<GatewayConfig> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let (l, c) = position(text, s.start);
                format!("{l}:{c}: ")
            })
            .unwrap_or_default();
        anyhow::anyhow!("{}: {at}{}", path.display(), e.message().trim())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut problems: Vec<String> = Vec::new();
    let lock = match raw.lock {
        Some(l) => base.join(l),
        None => {
            let stem = path
                .file_stem()
                .map_or_else(|| "gateway".into(), |s| s.to_string_lossy().into_owned());
            base.join(format!("{stem}.lock.json"))
        }
    };
    let workdir = match (raw.workdir, state_dir) {
        (Some(w), _) => Some(base.join(w)),
        (None, Some(s)) => Some(s.join("gateway")),
        (None, None) => None,
    };

    let mode = match raw.policy.mode.as_deref() {
        None | Some("consent-writes") => GatewayMode::ConsentWrites,
        Some("read-only") => GatewayMode::ReadOnly,
        Some("allow") => GatewayMode::Allow,
        Some(other) => {
            problems.push(format!(
                "`policy.mode` is `{other}`: use consent-writes (reads run, writes ask a person), read-only or allow"
            ));
            GatewayMode::ConsentWrites
        }
    };
    let mut patterns = |key: &str, list: &[String]| -> Vec<ToolPattern> {
        list.iter()
            .filter_map(|p| match ToolPattern::parse(p) {
                Ok(p) => Some(p),
                Err(why) => {
                    problems.push(format!("`policy.{key}`: {why}"));
                    None
                }
            })
            .collect()
    };
    let rules = ToolRules {
        mode,
        deny: patterns("deny", &raw.policy.deny),
        consent: patterns("consent", &raw.policy.consent),
        allow: raw.policy.allow.as_ref().map(|a| patterns("allow", a)),
        read_only: patterns("read_only", &raw.policy.read_only),
        writes: patterns("writes", &raw.policy.writes),
    };

    let mut upstreams = Vec::new();
    if raw.upstreams.is_empty() {
        problems.push(
            "no upstreams: add an `[upstreams.NAME]` table with the `command` and `args` of an MCP server".into(),
        );
    }
    for (name, spanned) in raw.upstreams {
        let (line, col) = position(text, spanned.span().start);
        let at = format!("{line}:{col}: upstream `{name}`");
        let u = spanned.into_inner();
        if !valid_name(&name) {
            problems.push(format!(
                "{at}: the name must be 1-32 lowercase letters, digits, `-` or `_`, without `__` (it prefixes the tool names: `{name}__tool`)"
            ));
        }
        let timeout = u.timeout_secs.unwrap_or(60);
        if timeout == 0 || timeout > 3600 {
            problems.push(format!(
                "{at}: `timeout_secs` is {timeout}: use 1 to 3600 seconds"
            ));
        }
        let max_concurrency = u.max_concurrency.unwrap_or(8);
        if max_concurrency == 0 || max_concurrency > 256 {
            problems.push(format!(
                "{at}: `max_concurrency` is {max_concurrency}: use 1 to 256"
            ));
        }
        if let Some(url) = u.url {
            if u.command.is_some() {
                problems.push(format!(
                    "{at}: give `command` (a program on stdio) or `url` (streamable HTTP), not both"
                ));
                continue;
            }
            let stdio_only: Vec<&str> = [
                ("args", !u.args.is_empty()),
                ("env", !u.env.is_empty()),
                ("pass_env", !u.pass_env.is_empty()),
                ("cwd", u.cwd.is_some()),
                ("aws_profile", u.aws_profile.is_some()),
                ("assume_role", u.assume_role.is_some()),
                ("session_policy", u.session_policy.is_some()),
            ]
            .into_iter()
            .filter_map(|(key, set)| set.then_some(key))
            .collect();
            if !stdio_only.is_empty() {
                problems.push(format!(
                    "{at}: {} apply to a program the gateway starts, not to a `url` upstream (it runs elsewhere, with its own credentials)",
                    stdio_only.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ));
            }
            if let Err(why) = check_url(&url) {
                problems.push(format!("{at}: `url` {why}"));
            }
            let token = match (u.bearer_token_file, u.bearer_token_env) {
                (Some(_), Some(_)) => {
                    problems.push(format!(
                        "{at}: give `bearer_token_file` or `bearer_token_env`, not both"
                    ));
                    None
                }
                (Some(f), None) => Some(TokenRef::File(base.join(f))),
                (None, Some(v))
                    if v.starts_with(OWN_VARS_PREFIX)
                        || AWS_CREDENTIAL_VARS.contains(&v.as_str()) =>
                {
                    problems.push(format!("{at}: `bearer_token_env` may not name `{v}` (a credential of the gateway itself)"));
                    None
                }
                (None, Some(v)) => Some(TokenRef::Env(v)),
                (None, None) => None,
            };
            upstreams.push(UpstreamConfig {
                name,
                command: String::new(),
                http: Some(HttpUpstream { url, token }),
                args: Vec::new(),
                env: BTreeMap::new(),
                pass_env: Vec::new(),
                cwd: PathBuf::new(),
                aws_profile: None,
                assume_role: None,
                session_policy: None,
                timeout: std::time::Duration::from_secs(timeout.clamp(1, 3600)),
                max_concurrency: max_concurrency.clamp(1, 256),
            });
            continue;
        }
        if let Some(role) = &u.assume_role {
            if u.aws_profile.is_some() {
                problems.push(format!("{at}: give `aws_profile` or `assume_role`, not both (the role is assumed with the gateway's own credentials)"));
            }
            let ok = role.starts_with("arn:aws")
                && role.contains(":role/")
                && role.split(':').count() == 6;
            if !ok {
                problems.push(format!("{at}: `assume_role` is `{role}`: give a role ARN, arn:aws:iam::123456789012:role/NAME"));
            }
        } else if u.session_policy.is_some() {
            problems.push(format!(
                "{at}: `session_policy` applies with `assume_role` only"
            ));
        }
        if u.bearer_token_file.is_some() || u.bearer_token_env.is_some() {
            problems.push(format!(
                "{at}: `bearer_token_file` and `bearer_token_env` apply to a `url` upstream only"
            ));
        }
        let Some(command) = u.command.filter(|c| !c.trim().is_empty()) else {
            problems.push(format!(
                "{at}: `command` is missing (the program that serves MCP on stdio, e.g. \"npx\" with args [\"-y\", \"@scope/server@1.2.3\"])"
            ));
            continue;
        };
        for var in u.pass_env.iter().chain(u.env.keys()) {
            if AWS_CREDENTIAL_VARS.contains(&var.as_str()) {
                problems.push(format!(
                    "{at}: `{var}` may not be passed or set: an upstream's AWS identity is its `aws_profile` (never the gateway's credentials)"
                ));
            } else if var.starts_with(OWN_VARS_PREFIX) {
                problems.push(format!(
                    "{at}: `{var}` is a setting of Portcullis itself and is never handed to an upstream"
                ));
            } else if var.is_empty() || var.contains('=') || var.contains('\0') {
                problems.push(format!("{at}: `{var}` is not a variable name"));
            }
        }
        if u.env.values().any(|v| v.contains('\0')) {
            problems.push(format!("{at}: an `env` value holds a NUL byte"));
        }
        let cwd = match (u.cwd, &workdir) {
            (Some(c), _) => base.join(c),
            (None, Some(w)) => w.join(&name),
            (None, None) => {
                problems.push(format!(
                    "{at}: no working directory: set `cwd`, or `workdir` for all upstreams (XDG_STATE_HOME and HOME are unset)"
                ));
                continue;
            }
        };
        upstreams.push(UpstreamConfig {
            name,
            command,
            http: None,
            args: u.args,
            env: u.env,
            pass_env: u.pass_env,
            cwd,
            aws_profile: u.aws_profile,
            assume_role: u.assume_role,
            session_policy: u.session_policy.map(|p| base.join(p)),
            timeout: std::time::Duration::from_secs(timeout.clamp(1, 3600)),
            max_concurrency: max_concurrency.clamp(1, 256),
        });
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "{}: {} problem{}:\n  {}",
            path.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  ")
        );
    }
    Ok(GatewayConfig {
        path: path.to_path_buf(),
        lock,
        upstreams,
        rules,
        cedar: raw.policy.cedar.map(|c| base.join(c)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> GatewayConfig {
        parse(
            text,
            Path::new("/etc/pg/gw.toml"),
            Some(Path::new("/state")),
        )
        .unwrap()
    }

    fn parse_err(text: &str) -> String {
        format!(
            "{:#}",
            parse(
                text,
                Path::new("/etc/pg/gw.toml"),
                Some(Path::new("/state"))
            )
            .unwrap_err()
        )
    }

    #[test]
    fn a_minimal_file_gets_safe_defaults() {
        let c = parse_ok("[upstreams.fs]\ncommand = \"npx\"\nargs = [\"-y\", \"x@1\"]\n");
        assert_eq!(c.lock, Path::new("/etc/pg/gw.lock.json"));
        assert_eq!(c.rules.mode, GatewayMode::ConsentWrites);
        let u = &c.upstreams[0];
        assert_eq!(u.cwd, Path::new("/state/gateway/fs"));
        assert_eq!(u.timeout.as_secs(), 60);
        assert!(u.environment(&|_| Some("leak".into())).is_empty());
    }

    #[test]
    fn the_readme_configuration_loads_as_documented() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("## Put your other MCP servers behind Portcullis")
            .expect("the README section");
        let block = &readme[start..];
        let block = &block[block.find("```toml\n").expect("its TOML block") + 8..];
        let block = &block[..block.find("```").expect("the block's end")];
        let c = parse_ok(block);
        let names: Vec<&str> = c.upstreams.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["aws-api", "dynamodb", "iam"]);
        assert_eq!(c.upstreams[1].timeout.as_secs(), 120);
        assert_eq!(c.upstreams[1].max_concurrency, 8);
        assert_eq!(c.upstreams[2].aws_profile.as_deref(), Some("iam-audit"));
        assert!(c.upstreams.iter().all(|u| u.command == "uvx"));
    }

    #[test]
    fn the_environment_is_the_allow_list_and_the_profile_only() {
        let c = parse_ok(
            "[upstreams.ddb]\ncommand = \"uvx\"\npass_env = [\"PATH\", \"UNSET\"]\nenv = { A = \"1\" }\naws_profile = \"ro\"\n",
        );
        let env = c.upstreams[0].environment(&|k| match k {
            "PATH" => Some("/bin".into()),
            "HOME" => Some("/home/o".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("gateway-secret".into()),
            _ => None,
        });
        assert_eq!(
            env,
            vec![
                ("A".into(), "1".into()),
                ("AWS_PROFILE".into(), "ro".into()),
                ("HOME".into(), "/home/o".into()),
                ("PATH".into(), "/bin".into()),
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let e = parse_err(
            "[policy]\nmode = \"yolo\"\ndeny = [\"\"]\n[upstreams.Bad__Name]\ncommand = \"x\"\n[upstreams.ok]\npass_env = [\"AWS_SECRET_ACCESS_KEY\"]\n[upstreams.web]\nurl = \"http://x\"\n",
        );
        assert!(e.contains("4 problems") || e.contains("5 problems"), "{e}");
        assert!(e.contains("`policy.mode` is `yolo`"), "{e}");
        assert!(e.contains("upstream `Bad__Name`: the name must be"), "{e}");
        assert!(e.contains("`command` is missing"), "{e}");
        assert!(
            e.contains("`http://x` is plain HTTP to another machine"),
            "{e}"
        );
        assert!(e.contains("4:1: upstream `Bad__Name`"), "{e}");
    }

    #[test]
    fn a_role_to_assume_is_a_role_arn_and_excludes_a_profile() {
        let c = parse_ok(
            "[upstreams.a]\ncommand = \"x\"\nassume_role = \"arn:aws:iam::123456789012:role/r\"\nsession_policy = \"p.json\"\n",
        );
        assert_eq!(
            c.upstreams[0].assume_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(
            c.upstreams[0].session_policy.as_deref(),
            Some(Path::new("/etc/pg/p.json"))
        );
        let e = parse_err(
            "[upstreams.a]\ncommand = \"x\"\nassume_role = \"r\"\naws_profile = \"p\"\n[upstreams.b]\ncommand = \"x\"\nsession_policy = \"p.json\"\n[upstreams.c]\nurl = \"https://h/mcp\"\nassume_role = \"arn:aws:iam::1:role/r\"\n",
        );
        assert!(
            e.contains("give `aws_profile` or `assume_role`, not both"),
            "{e}"
        );
        assert!(e.contains("`assume_role` is `r`: give a role ARN"), "{e}");
        assert!(
            e.contains("`session_policy` applies with `assume_role` only"),
            "{e}"
        );
        assert!(
            e.contains("`assume_role` apply to a program the gateway starts"),
            "{e}"
        );
    }

    #[test]
    fn credentials_cannot_be_passed_or_set() {
        let e = parse_err(
            "[upstreams.a]\ncommand = \"x\"\npass_env = [\"AWS_PROFILE\"]\nenv = { AWS_ACCESS_KEY_ID = \"AKIA\", PORTCULLIS_TOKEN_FILE = \"t\" }\n",
        );
        assert!(e.contains("`AWS_PROFILE` may not be passed"), "{e}");
        assert!(e.contains("`AWS_ACCESS_KEY_ID` may not be passed"), "{e}");
        assert!(
            e.contains("`PORTCULLIS_TOKEN_FILE` is a setting of Portcullis"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_a_place() {
        let e = parse_err("[upstreams.a]\ncommand = \"x\"\nargz = []\n");
        assert!(e.contains("3:1"), "{e}");
        assert!(e.contains("argz"), "{e}");
        let e = parse_err("");
        assert!(e.contains("no upstreams"), "{e}");
    }
}
