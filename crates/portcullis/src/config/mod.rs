//! `serve`'s configuration, typed: one struct per source, one merge.
//!
//! Every setting comes from one of three sources, each read once into typed values (enums for
//! the modes, the file access, the transport, the log format and the fsync policy; paths, ports
//! and positive numbers as such):
//!
//! * the flags — [`ServeFlags`] (clap; `flags.rs`),
//! * the environment — [`EnvConfig`] (the awslabs server's variable names, so existing MCP
//!   client configurations carry over, and Portcullis's own; `env.rs`),
//! * the config file — [`ConfigFile`] (TOML; `file.rs`).
//!
//! Each gives a [`Layer`] (`layer.rs`: the table that declares every setting once, with its type,
//! its variable(s) and its config file key), and [`Sources`] merges them in one place with one
//! rule, **flag > environment > config file > default** (`flags.over(env).over(file)`; each default
//! is applied where the setting is resolved: [`Sources::logs`], [`Sources::settings`],
//! [`Sources::transport`], [`Sources::http`]). Two awslabs variables stand outside the order:
//! `READ_OPERATIONS_ONLY=true` makes the mode read-only whatever else says it, and the awslabs
//! settings Portcullis does not implement stop `serve` (`refuse_unimplemented_awslabs_settings`).
//!
//! Errors say where the bad value is. The file's come from the TOML parser's spans: the file, the
//! line and column of the value (of the element, in a list) and the key. The environment's name the
//! variable and what it accepts; they are raised when their group is used (see `env.rs`), so that a
//! bad HTTP-only value does not stop a stdio server. The types and their parsing are in `values.rs`
//! (one parser per type, shared by the sources); the transport's in `net.rs`.

mod env;
mod file;
mod flags;
mod layer;
mod net;
mod values;

use std::num::NonZeroU64;
use std::path::PathBuf;

pub use env::{EnvConfig, process_env};
pub use file::ConfigFile;
pub use flags::ServeFlags;
pub use layer::Layer;
pub(crate) use net::{AllowedHost, split_authority};
pub use net::{AuthType, HttpSettings, Origin, Transport, TransportFlag};
pub use values::LogFormat;

use anyhow::Context;
use env::Group;
use portcullis_audit::FsyncPolicy;
use portcullis_policy::{Mode, Policy};
use portcullis_sandbox::FileAccessMode;

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory `file://` paths are relative to (`AWS_API_MCP_WORKING_DIR`, else `$TMPDIR/aws-api-mcp/workdir`).
    pub working_dir: PathBuf,
    /// The profile whose credentials are pinned (`AWS_API_MCP_PROFILE_NAME`, else the default chain).
    pub profile: Option<String>,
    /// The default region (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else the file's, else the profile's).
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
    pub audit: AuditSettings,
    /// Rate limits, breakers, the concurrency limit and the retry budget (the config file and
    /// environment; the policy's `limits` can only lower the rates).
    pub limits: crate::pipeline::limits::LimitSettings,
    /// Scoped credentials: the role assumed at start (`PORTCULLIS_ASSUME_ROLE_ARN`), if any.
    pub assume_role: Option<crate::scope::AssumeRoleSettings>,
    /// The key sealing consent rounds, shared by replicas (`PORTCULLIS_SEALING_KEY_FILE`).
    pub sealing_key_file: Option<PathBuf>,
    /// The Redis server replicas share (`PORTCULLIS_REDIS_URL`), checked for form.
    pub redis_url: Option<String>,
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
        Bounds {
            max_items: 1000,
            max_pages: 100,
            call_timeout_secs: 60,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Where the audit trail and its key live, and when records reach the disk.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// `PORTCULLIS_AUDIT_DIR` (config `audit-dir`), default `$XDG_STATE_HOME/portcullis/audit`.
    pub dir: PathBuf,
    /// `PORTCULLIS_AUDIT_KEY_FILE` (config `audit-key-file`), default `$XDG_STATE_HOME/portcullis/audit.key`.
    pub key_file: PathBuf,
    /// `PORTCULLIS_AUDIT_FSYNC` (config `audit-fsync`): `always` (default), `never`, or `<N>ms`.
    pub fsync: FsyncPolicy,
    /// `PORTCULLIS_REPLICA_ID`: this replica's name; its chain is the directory of that name
    /// under the audit directory (replicas sharing a volume keep one chain each).
    pub replica: Option<String>,
}

impl AuditSettings {
    /// The audit settings from the environment alone (for `portcullis audit`): environment > default.
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<AuditSettings> {
        let env = EnvConfig::from_lookup(var);
        env.check(&[Group::Audit])?;
        AuditSettings::resolve(&env.layer, &env)
    }

    /// `merged`'s values, else the defaults in the state directory (on Linux under `XDG_STATE_HOME`
    /// or `HOME/.local/state`).
    fn resolve(merged: &Layer, env: &EnvConfig) -> anyhow::Result<AuditSettings> {
        let default = |name: &str| env.state_dir.as_ref().map(|s| s.join(name));
        let dir = merged.audit_dir.clone().or_else(|| default("audit"));
        let key_file = merged
            .audit_key_file
            .clone()
            .or_else(|| default("audit.key"));
        let (Some(dir), Some(key_file)) = (dir, key_file) else {
            anyhow::bail!(
                "no place for the audit trail: set PORTCULLIS_AUDIT_DIR and PORTCULLIS_AUDIT_KEY_FILE (or HOME)"
            );
        };
        let replica = merged.replica_id.clone();
        if let Some(r) = &replica {
            anyhow::ensure!(
                (1..=64).contains(&r.len())
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    && !r.starts_with('.'),
                "PORTCULLIS_REPLICA_ID `{}` must be 1 to 64 letters, digits, `.`, `_` or `-` (not starting with `.`): \
                 it names the replica's audit directory",
                values::shown(r)
            );
        }
        Ok(AuditSettings {
            dir: match &replica {
                Some(r) => dir.join(r),
                None => dir,
            },
            key_file,
            fsync: merged.audit_fsync.unwrap_or(FsyncPolicy::Always),
            replica,
        })
    }
}

/// Where the log lines go and how they look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The log file (appended, created 0600); `None`: stderr.
    pub file: Option<PathBuf>,
    pub format: LogFormat,
}

/// The three sources of `serve`'s settings, read and typed, and the one place they are merged.
#[derive(Debug, Clone)]
pub struct Sources {
    flags: Layer,
    env: EnvConfig,
    file: ConfigFile,
    /// `flags.over(env).over(file)`.
    merged: Layer,
    /// `--allow-remote` (a flag only).
    allow_remote: bool,
    /// Whether a flag only HTTP knows was given.
    http_flags: bool,
    /// What did not parse, from the flags and the environment.
    problems: Vec<env::Problem>,
}

impl Sources {
    /// Reads the environment (through `lookup`: the process's is [`process_env`]) and the config
    /// file (`--config`, else `PORTCULLIS_CONFIG`, else the default place). A config file that does
    /// not load stops here; the environment's problems wait for their group.
    pub fn load(
        flags: &ServeFlags,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Sources> {
        let env = EnvConfig::from_lookup(lookup);
        let file = ConfigFile::load(flags.config.as_deref(), &env)?;
        Ok(Sources::new(flags, env, file))
    }

    /// The sources given (the tests' way in).
    pub fn new(flags: &ServeFlags, env: EnvConfig, file: ConfigFile) -> Sources {
        let mut problems = env.problems.clone();
        let flag_layer = flags.layer(&mut problems);
        let merged = flag_layer
            .clone()
            .over(env.layer.clone())
            .over(file.values.clone());
        Sources {
            flags: flag_layer,
            env,
            file,
            merged,
            allow_remote: flags.allow_remote,
            http_flags: flags.has_http_flags(),
            problems,
        }
    }

    /// The config file read (or none).
    pub fn file(&self) -> &ConfigFile {
        &self.file
    }

    /// Where a setting's value came from, as the start of a message about it: the flag, the
    /// variable, or the file, line and key. `given` says whether a layer has the setting.
    fn subject(&self, field: &str, given: impl Fn(&Layer) -> bool) -> String {
        if given(&self.flags) {
            format!("--{} ", field.replace('_', "-"))
        } else if given(&self.env.layer) {
            let vars = Layer::ENV
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(&[][..], |(_, vars)| *vars);
            format!("{} ", vars.join(" or "))
        } else {
            self.file.subject(field)
        }
    }

    /// Stops with the problems of `groups`.
    fn check(&self, groups: &[Group]) -> anyhow::Result<()> {
        env::check(&self.problems, groups)
    }

    /// The log file and format (checked first: the logs are set up before anything else).
    pub fn logs(&self) -> anyhow::Result<LogSettings> {
        self.check(&[Group::Logs])?;
        Ok(LogSettings {
            file: self.merged.log_file.clone(),
            format: self.merged.log_format.unwrap_or_default(),
        })
    }

    /// The policy `serve` would run with (flags, environment, config file), and where it came
    /// from; nothing else is checked or created.
    pub fn policy(&self) -> anyhow::Result<(Policy, String)> {
        self.check(&[Group::Policy])?;
        load_policy(
            configured_mode(&self.env, self.merged.mode),
            self.merged.policy_file.clone(),
            self.env.home.clone(),
        )
    }

    /// The server's settings: the awslabs refusals first, then every value, the policy loaded.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        self.check(&[Group::Server, Group::Policy, Group::Audit])?;
        let m = &self.merged;
        // REQUIRE_MUTATION_CONSENT is what guarded mode does; `false` cannot weaken it (fail closed).
        if self.env.mutation_consent == Some(false) {
            tracing::warn!(
                "portcullis: REQUIRE_MUTATION_CONSENT=false is ignored: writes still need consent in guarded mode"
            );
        }
        let working_dir = match &m.working_dir {
            Some(p) => {
                anyhow::ensure!(
                    p.is_absolute() && p.is_dir(),
                    "{}must be an existing absolute directory: {}",
                    self.subject("working_dir", |l| l.working_dir.is_some()),
                    p.display()
                );
                p.clone()
            }
            None => default_working_dir()?,
        };
        let d = Bounds::default();
        let bounds = Bounds {
            max_items: m.max_items.map_or(d.max_items, |n| n.get()),
            max_pages: m.max_pages.map_or(d.max_pages, |n| {
                usize::try_from(n.get()).unwrap_or(usize::MAX)
            }),
            call_timeout_secs: m.call_timeout.map_or(d.call_timeout_secs, |n| n.get()),
            max_response_bytes: m.max_response_bytes.map_or(d.max_response_bytes, |n| {
                usize::try_from(n.get()).unwrap_or(usize::MAX)
            }),
        };
        let (policy, policy_source) = load_policy(
            configured_mode(&self.env, m.mode),
            m.policy_file.clone(),
            self.env.home.clone(),
        )?;
        let limits = limit_settings(m, &policy)?;
        Ok(Settings {
            working_dir,
            profile: m.profile.clone(),
            region: m.region.clone(),
            policy,
            policy_source,
            file_access: m.file_access.unwrap_or_default(),
            bounds,
            audit: AuditSettings::resolve(m, &self.env)?,
            limits,
            assume_role: crate::scope::AssumeRoleSettings::resolve(
                m.assume_role_arn.as_deref(),
                m.assume_role_duration.map(std::num::NonZeroU64::get),
                m.source_identity.as_deref(),
                &process_env,
            )?,
            sealing_key_file: m.sealing_key_file.clone(),
            redis_url: match &m.redis_url {
                Some(url) => {
                    crate::server::shared::Redis::from_url(url)?;
                    Some(url.clone())
                }
                None => None,
            },
        })
    }

    /// The transport: stdio unless asked otherwise. HTTP-only flags with stdio are a mistake.
    pub fn transport(&self) -> anyhow::Result<Transport> {
        self.check(&[Group::Server])?;
        let transport = self.merged.transport.unwrap_or(Transport::Stdio);
        anyhow::ensure!(
            transport == Transport::Http || !self.http_flags,
            "--host, --port, --allow-remote and --token-file apply to `--transport http` only"
        );
        // A user who set OAuth up must not be served without it: stdio has no tokens.
        let m = &self.merged;
        let oauth = [
            (
                "AUTH_TYPE",
                m.auth_type.is_some_and(|t| t == AuthType::OAuth),
            ),
            ("AUTH_ISSUER", m.auth_issuer.is_some()),
            ("AUTH_JWKS_URI", m.auth_jwks_uri.is_some()),
        ];
        if transport == Transport::Stdio
            && let Some((name, _)) = oauth.iter().find(|(_, set)| *set)
        {
            anyhow::bail!(
                "refusing to start: {} is set (OAuth), but the transport is stdio, where no client sends a token. \
                 Serve over HTTP (`serve --transport http`, or AWS_API_MCP_TRANSPORT=streamable-http), or unset \
                 AUTH_TYPE, AUTH_ISSUER and AUTH_JWKS_URI",
                self.subject(&name.to_ascii_lowercase(), |l| match *name {
                    "AUTH_TYPE" => l.auth_type.is_some(),
                    "AUTH_ISSUER" => l.auth_issuer.is_some(),
                    _ => l.auth_jwks_uri.is_some(),
                })
                .trim_end()
            );
        }
        Ok(transport)
    }

    /// The streamable HTTP settings: loopback 127.0.0.1:8000 unless asked otherwise (a
    /// non-loopback address only with `--allow-remote`), the allow-lists, the token file.
    pub fn http(&self) -> anyhow::Result<HttpSettings> {
        self.check(&[Group::Http])?;
        let m = &self.merged;
        let ip = m
            .host
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        if !ip.is_loopback() && !self.allow_remote {
            anyhow::bail!(
                "refusing to bind {ip}: it is not a loopback address, so anyone who can reach this machine could reach a \
                 server that holds your AWS credentials (and this server speaks plain HTTP, without TLS). Bind 127.0.0.1 \
                 and use an SSH tunnel or a TLS proxy, or pass --allow-remote if you mean it"
            );
        }
        let token_file = match &m.token_file {
            Some(p) => p.clone(),
            None => net::default_token_file(&self.env)?,
        };
        Ok(HttpSettings {
            addr: std::net::SocketAddr::new(ip, m.port.unwrap_or(net::DEFAULT_PORT)),
            allowed_hosts: m.allowed_hosts.clone().unwrap_or_default(),
            allowed_origins: m.allowed_origins.clone().unwrap_or_default(),
            token_file,
            // Connection and session caps: environment only (`PORTCULLIS_MAX_*`, see `HttpLimits`).
            limits: net::HttpLimits::from_lookup(&process_env)?,
            oauth: self.oauth()?,
            stateless: m.stateless_http.unwrap_or(false),
        })
    }

    /// `AUTH_TYPE=oauth`: the issuer, its keys and the instance's owner, each required and named
    /// when missing; without it, every OAuth setting is a mistake (the token file is used).
    fn oauth(&self) -> anyhow::Result<Option<crate::server::oauth::OAuthSettings>> {
        let m = &self.merged;
        let subject = |field: &str, given: fn(&Layer) -> bool| self.subject(field, given);
        if m.auth_type != Some(AuthType::OAuth) {
            let stray: Vec<String> = [
                (
                    "auth_issuer",
                    m.auth_issuer.is_some(),
                    (|l: &Layer| l.auth_issuer.is_some()) as fn(&Layer) -> bool,
                ),
                ("auth_jwks_uri", m.auth_jwks_uri.is_some(), |l: &Layer| {
                    l.auth_jwks_uri.is_some()
                }),
                ("auth_resource", m.auth_resource.is_some(), |l: &Layer| {
                    l.auth_resource.is_some()
                }),
                ("auth_owner", m.auth_owner.is_some(), |l: &Layer| {
                    l.auth_owner.is_some()
                }),
                ("auth_scopes", m.auth_scopes.is_some(), |l: &Layer| {
                    l.auth_scopes.is_some()
                }),
                ("auth_leeway", m.auth_leeway.is_some(), |l: &Layer| {
                    l.auth_leeway.is_some()
                }),
            ]
            .into_iter()
            .filter(|(_, set, _)| *set)
            .map(|(f, _, given)| subject(f, given).trim_end().to_string())
            .collect();
            anyhow::ensure!(
                stray.is_empty(),
                "refusing to start: {} set, but AUTH_TYPE is not `oauth`, so clients would be checked against the \
                 token file instead. Set AUTH_TYPE=oauth, or unset {}",
                stray.join(", "),
                if stray.len() == 1 { "it" } else { "them" }
            );
            return Ok(None);
        }
        let mut missing = Vec::new();
        if m.auth_issuer.is_none() {
            missing.push("AUTH_ISSUER (the issuer URL every token names in `iss`)");
        }
        if m.auth_jwks_uri.is_none() {
            missing.push("AUTH_JWKS_URI (the URL of the issuer's public keys)");
        }
        let roles = m.auth_roles.clone().unwrap_or_default();
        if m.auth_owner.is_none() && roles.is_empty() {
            missing.push(
                "PORTCULLIS_AUTH_OWNER (the `sub` of the one user this instance serves) or PORTCULLIS_AUTH_ROLES \
                 (each user's own AWS role, for a server several users share: `sub:<subject>=<role ARN>` or \
                 `group:<group>=<role ARN>`)",
            );
        }
        anyhow::ensure!(
            missing.is_empty(),
            "refusing to start: AUTH_TYPE=oauth needs {}",
            missing.join(", and ")
        );
        let leeway = m.auth_leeway.map_or(30, std::num::NonZeroU64::get);
        anyhow::ensure!(
            leeway <= 300,
            "{}must be at most 300 seconds, not {leeway}",
            subject("auth_leeway", |l| l.auth_leeway.is_some())
        );
        let issuer = m.auth_issuer.clone().unwrap_or_default();
        let jwks_uri = m.auth_jwks_uri.clone().unwrap_or_default();
        for (field, value, given) in [
            (
                "auth_issuer",
                &issuer,
                (|l: &Layer| l.auth_issuer.is_some()) as fn(&Layer) -> bool,
            ),
            ("auth_jwks_uri", &jwks_uri, |l: &Layer| {
                l.auth_jwks_uri.is_some()
            }),
        ] {
            let lower = value.to_ascii_lowercase();
            anyhow::ensure!(
                lower.starts_with("https://") || lower.starts_with("http://"),
                "{}must be an http(s) URL, not `{}`",
                subject(field, given),
                values::shown(value)
            );
        }
        if let Some(resource) = &m.auth_resource {
            crate::server::oauth::metadata_url(resource)?;
        }
        Ok(Some(crate::server::oauth::OAuthSettings {
            issuer,
            jwks_uri,
            resource: m.auth_resource.clone(),
            owner: m.auth_owner.clone(),
            roles,
            scopes: m
                .auth_scopes
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            leeway: std::time::Duration::from_secs(leeway),
        }))
    }
}

/// The limits: the config file and environment over the defaults; a rate the policy sets wins
/// when it is lower (the policy's author can tighten the operator's rates, never loosen them).
fn limit_settings(
    m: &Layer,
    policy: &portcullis_policy::Policy,
) -> anyhow::Result<crate::pipeline::limits::LimitSettings> {
    use portcullis_resilience::rate::Rate;
    let d = crate::pipeline::limits::LimitSettings::default();
    let lower = |a: Rate, b: Option<Rate>| match b {
        Some(b) if b.per_second < a.per_second || b.burst < a.burst => Rate {
            per_second: a.per_second.min(b.per_second),
            burst: a.burst.min(b.burst),
        },
        _ => a,
    };
    let whole = |n: Option<NonZeroU64>, default: usize| {
        n.map_or(default, |n| usize::try_from(n.get()).unwrap_or(usize::MAX))
    };
    let max = whole(m.max_concurrent, d.global.max).min(100_000);
    let mut global = d.global;
    global.max = max;
    global.initial = global.initial.min(max);
    global.queue = whole(m.max_queued, d.global.queue).min(1_000_000);
    let mut per_endpoint = d.per_endpoint;
    per_endpoint.max = per_endpoint.max.min(max);
    per_endpoint.initial = per_endpoint.initial.min(per_endpoint.max);
    per_endpoint.queue = per_endpoint.queue.min(global.queue);
    let mut breaker = d.breaker;
    if let Some(n) = m.breaker_failures {
        breaker.failures_to_open = u32::try_from(n.get()).unwrap_or(u32::MAX);
    }
    if let Some(secs) = m.breaker_cooldown {
        let secs = secs.get().min(24 * 60 * 60);
        breaker.open_for = std::time::Duration::from_secs(secs);
        breaker.max_open_for = breaker.max_open_for.max(breaker.open_for);
    }
    let (policy_principal, policy_session) = policy.rate_limits();
    let limits = crate::pipeline::limits::LimitSettings {
        per_principal: lower(
            m.rate_per_principal.unwrap_or(d.per_principal),
            policy_principal,
        ),
        per_session: lower(m.rate_per_session.unwrap_or(d.per_session), policy_session),
        global,
        per_endpoint,
        breaker,
        retry_ratio: m.retry_budget.map_or(d.retry_ratio, |r| r.0),
        retry_floor: d.retry_floor,
        batch_parallel: whole(m.batch_parallel, d.batch_parallel).min(64),
    };
    limits.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(limits)
}

impl Settings {
    /// The settings from the environment alone, read through `lookup` (no flags, no config file).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        Sources::new(
            &ServeFlags::default(),
            EnvConfig::from_lookup(lookup),
            ConfigFile::default(),
        )
        .settings()
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
/// turn its feature on, `serve` does not start (over stdio or HTTP): a user who believes the
/// agent-scripts tool is on must never be served without it. Every such variable is
/// named at once, with why and what to do.
///
/// * `EXPERIMENTAL_AGENT_SCRIPTS`: awslabs reads `true`/`yes`/`1` as on; here anything but
///   `false`/`no`/`0` (any case) refuses, so a misspelt "on" fails closed.
///
/// (`AUTH_TYPE=oauth` is implemented: [`Sources::http`] reads it, and [`Sources::transport`]
/// refuses it over stdio, where there is no token to check.)
///
/// `AWS_API_MCP_TELEMETRY` and `AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING` are accepted with any
/// value and have no effect (Portcullis sends no telemetry and prints no deprecation warning), so
/// they are not read at all. Empty values count as unset, as everywhere else.
fn refuse_unimplemented_awslabs_settings(
    var: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let off = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "no" | "0");
    let mut problems = Vec::new();
    if let Some(v) = var("EXPERIMENTAL_AGENT_SCRIPTS")
        && !off(&v)
    {
        problems.push(format!(
            "EXPERIMENTAL_AGENT_SCRIPTS=`{}` asks for the awslabs agent-scripts tool (`get_execution_plan`), which \
             Portcullis does not implement yet. Unset it, or set it to false",
            v.trim()
        ));
    }
    anyhow::ensure!(
        problems.is_empty(),
        "refusing to start: {}",
        problems.join("; and ")
    );
    Ok(())
}

/// The mode the configuration asks for: read-only by `READ_OPERATIONS_ONLY=true` (the awslabs
/// switch for the strictest mode), else `merged` (flag, `PORTCULLIS_MODE`, config file).
/// The working directory when none is set: the awslabs server's, `$TMPDIR/aws-api-mcp/workdir`,
/// stable across starts (nothing piles up). Created 0700 when missing; refused when another user
/// owns it or others may write to it (someone else's files would be read and written as ours).
fn default_working_dir() -> anyhow::Result<PathBuf> {
    let p = std::env::temp_dir().join("aws-api-mcp").join("workdir");
    portcullis_platform::create_private_dir_all(&p).with_context(|| {
        format!(
            "cannot create the default working directory {}",
            p.display()
        )
    })?;
    let meta =
        std::fs::symlink_metadata(&p).with_context(|| format!("cannot read {}", p.display()))?;
    anyhow::ensure!(
        meta.is_dir()
            && portcullis_platform::owned_by_me(&meta) != Some(false)
            && portcullis_platform::group_or_other_write_bits(&meta).is_none_or(|b| b == 0),
        "the default working directory {} is not a directory of this user that only it may write to; set AWS_API_MCP_WORKING_DIR to one that is",
        p.display()
    );
    Ok(p)
}

/// `REQUIRE_MUTATION_CONSENT=true` with an unrestricted mode: the stricter setting wins (guarded),
/// with a warning.
fn configured_mode(env: &EnvConfig, merged: Option<Mode>) -> Option<Mode> {
    if env.read_only {
        Some(Mode::ReadOnly)
    } else if env.mutation_consent == Some(true) && merged == Some(Mode::Unrestricted) {
        tracing::warn!(
            "portcullis: REQUIRE_MUTATION_CONSENT=true and mode unrestricted: the stricter wins, writes need consent (guarded mode)"
        );
        Some(Mode::Guarded)
    } else {
        merged
    }
}

/// The policy `serve` would run with, from the environment alone (no config file, no flags);
/// [`Sources::policy`] reads the config file too.
pub fn policy_from_lookup(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Policy, String)> {
    let env = EnvConfig::from_lookup(lookup);
    env.check(&[Group::Policy])?;
    load_policy(
        configured_mode(&env, env.layer.mode),
        env.layer.policy_file.clone(),
        env.home.clone(),
    )
}

/// The policy in force. A policy file that does not load stops the server (fail closed): the
/// error names the file, the line and the cause. `mode` is the configured mode, if any: with a
/// native policy file that sets its own, the stricter of the two applies.
fn load_policy(
    mode: Option<Mode>,
    explicit: Option<PathBuf>,
    home: Option<PathBuf>,
) -> anyhow::Result<(Policy, String)> {
    let awslabs = home
        .map(|h| portcullis_policy::awslabs_policy_path(&h))
        .filter(|p| p.is_file());
    let Some(path) = explicit.or(awslabs) else {
        return Ok((
            Policy::new(mode.unwrap_or_default()),
            "mode only (no policy file)".into(),
        ));
    };
    let loaded = portcullis_policy::load_file(&path).with_context(|| {
        format!(
            "policy file {} does not load; the server will not start without it",
            path.display()
        )
    })?;
    let source = path.display().to_string();
    for w in loaded.warnings() {
        tracing::warn!("portcullis: policy file {source}: {w}");
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if portcullis_policy::is_awslabs(&text) {
        // The awslabs file holds rules only; the mode comes from the configuration.
        let mut policy = Policy::new(mode.unwrap_or_default());
        policy
            .merge_rules(loaded)
            .with_context(|| format!("policy file {source}"))?;
        return Ok((policy, source));
    }
    // A native policy keeps everything it says (allow-lists, global options, Cedar, shadow).
    let mut policy = loaded;
    let sets_mode = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .is_some_and(|v| v.get("mode").is_some());
    match mode {
        None => {}
        Some(configured) if !sets_mode => policy.set_mode(configured),
        Some(configured) if strictness(configured) > strictness(policy.mode()) => {
            tracing::warn!(
                "portcullis: {source} sets mode {}, the configuration asks for {configured}: the stricter, {configured}, applies",
                policy.mode()
            );
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
    use std::path::Path;

    use portcullis_sandbox::FILE_ACCESS_ENV;

    use super::*;

    /// A fresh directory (HOME and working directory of the settings under test).
    fn temp(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("portcullis-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// [`Settings::from_lookup`] with HOME and the working directory `dir`, and the variables
    /// `vars`.
    fn settings_in(dir: &Path, vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let d = dir.to_string_lossy().into_owned();
        Settings::from_lookup(&|k: &str| {
            if k == "AWS_API_MCP_WORKING_DIR" || k == "HOME" {
                return Some(d.clone());
            }
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
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

    /// The sources: `flags`, the environment `vars` plus HOME and the working directory `home`,
    /// and a config file `toml` (not on disk).
    fn sources(flags: &ServeFlags, home: &Path, vars: &[(&str, &str)], toml: &str) -> Sources {
        let h = home.to_string_lossy().into_owned();
        let mut all = vec![
            ("HOME", h.as_str()),
            ("AWS_API_MCP_WORKING_DIR", h.as_str()),
        ];
        all.extend_from_slice(vars);
        Sources::new(flags, env(&all), file::parse(toml).unwrap())
    }

    #[test]
    fn each_source_beats_the_next_flag_env_file_default() {
        let home = temp("precedence");
        let none = ServeFlags::default();
        let at = |flags: &ServeFlags, vars: &[(&str, &str)], toml: &str| {
            sources(flags, &home, vars, toml)
        };

        // mode: --mode > PORTCULLIS_MODE > `mode` > guarded.
        let flag = ServeFlags {
            mode: Some(Mode::Guarded),
            ..ServeFlags::default()
        };
        let (var, key) = (
            [("PORTCULLIS_MODE", "unrestricted")],
            "mode = \"read-only\"\n",
        );
        assert_eq!(
            at(&flag, &var, key).settings().unwrap().policy.mode(),
            Mode::Guarded
        );
        assert_eq!(
            at(&none, &var, key).settings().unwrap().policy.mode(),
            Mode::Unrestricted
        );
        assert_eq!(
            at(&none, &[], key).settings().unwrap().policy.mode(),
            Mode::ReadOnly
        );
        assert_eq!(
            at(&none, &[], "").settings().unwrap().policy.mode(),
            Mode::Guarded
        );
        // READ_OPERATIONS_ONLY=true stands outside the order: read-only even over the flag.
        assert_eq!(
            at(&flag, &[("READ_OPERATIONS_ONLY", "true")], key)
                .settings()
                .unwrap()
                .policy
                .mode(),
            Mode::ReadOnly
        );

        // policy file: --policy-file > PORTCULLIS_POLICY_FILE > `policy-file` > none.
        let policy = |name: &str, mode: &str| {
            let p = home.join(name);
            std::fs::write(&p, format!("{{\"mode\": \"{mode}\"}}")).unwrap();
            p
        };
        let (pf, pe, pk) = (
            policy("flag.json", "read-only"),
            policy("env.json", "guarded"),
            policy("file.json", "unrestricted"),
        );
        let flag = ServeFlags {
            policy_file: Some(pf.clone()),
            ..ServeFlags::default()
        };
        let pe_text = pe.to_string_lossy().into_owned();
        let var = [("PORTCULLIS_POLICY_FILE", pe_text.as_str())];
        let key = format!("policy-file = \"{}\"\n", pk.display());
        assert_eq!(
            at(&flag, &var, &key).settings().unwrap().policy_source,
            pf.display().to_string()
        );
        assert_eq!(
            at(&none, &var, &key).settings().unwrap().policy_source,
            pe.display().to_string()
        );
        let s = at(&none, &[], &key).settings().unwrap();
        assert_eq!(
            (s.policy_source, s.policy.mode()),
            (pk.display().to_string(), Mode::Unrestricted)
        );
        assert!(
            at(&none, &[], "")
                .settings()
                .unwrap()
                .policy_source
                .contains("mode only")
        );

        // Bounds, file access, region, fsync: environment > file > default (no flags).
        let var = [
            ("PORTCULLIS_MAX_ITEMS", "7"),
            (FILE_ACCESS_ENV, "no-access"),
            ("AWS_DEFAULT_REGION", "eu-north-1"),
            ("PORTCULLIS_AUDIT_FSYNC", "never"),
        ];
        let key = "max-items = 9\nfile-access = \"unrestricted\"\nregion = \"eu-west-1\"\naudit-fsync = \"5ms\"\n";
        let s = at(&none, &var, key).settings().unwrap();
        assert_eq!(
            (
                s.bounds.max_items,
                s.file_access,
                s.region.as_deref(),
                s.audit.fsync
            ),
            (
                7,
                FileAccessMode::NoAccess,
                Some("eu-north-1"),
                FsyncPolicy::Never
            )
        );
        let s = at(
            &none,
            &[
                ("AWS_REGION", "us-west-2"),
                ("AWS_DEFAULT_REGION", "eu-north-1"),
            ],
            key,
        )
        .settings()
        .unwrap();
        assert_eq!(
            s.region.as_deref(),
            Some("us-west-2"),
            "AWS_REGION before AWS_DEFAULT_REGION"
        );
        let s = at(&none, &[], key).settings().unwrap();
        assert_eq!(
            (
                s.bounds.max_items,
                s.file_access,
                s.region.as_deref(),
                s.audit.fsync
            ),
            (
                9,
                FileAccessMode::Unrestricted,
                Some("eu-west-1"),
                FsyncPolicy::Interval(std::time::Duration::from_millis(5))
            )
        );
        let s = at(&none, &[], "").settings().unwrap();
        assert_eq!(
            (s.bounds, s.file_access, s.region, s.audit.fsync),
            (
                Bounds::default(),
                FileAccessMode::Workdir,
                None,
                FsyncPolicy::Always
            )
        );
        assert_eq!(s.audit.dir, home.join(".local/state/portcullis/audit"));

        // transport: --transport > AWS_API_MCP_TRANSPORT > `transport` > stdio.
        let flag = ServeFlags {
            transport: Some(TransportFlag::Stdio),
            ..ServeFlags::default()
        };
        let (var, key) = (
            [("AWS_API_MCP_TRANSPORT", "streamable-http")],
            "transport = \"stdio\"\n",
        );
        assert_eq!(at(&flag, &var, key).transport().unwrap(), Transport::Stdio);
        assert_eq!(at(&none, &var, key).transport().unwrap(), Transport::Http);
        assert_eq!(
            at(
                &none,
                &[("AWS_API_MCP_TRANSPORT", "stdio")],
                "transport = \"http\"\n"
            )
            .transport()
            .unwrap(),
            Transport::Stdio
        );
        assert_eq!(
            at(&none, &[], "transport = \"http\"\n")
                .transport()
                .unwrap(),
            Transport::Http
        );
        assert_eq!(at(&none, &[], "").transport().unwrap(), Transport::Stdio);

        // port and token file: flag > environment > file > default.
        let flag = ServeFlags {
            transport: Some(TransportFlag::Http),
            port: Some(1),
            token_file: Some("/flag".into()),
            ..ServeFlags::default()
        };
        let http = ServeFlags {
            transport: Some(TransportFlag::Http),
            ..ServeFlags::default()
        };
        let var = [("AWS_API_MCP_PORT", "2"), ("PORTCULLIS_TOKEN_FILE", "/env")];
        let key = "port = 3\ntoken-file = \"/file\"\n";
        let h = at(&flag, &var, key).http().unwrap();
        assert_eq!((h.addr.port(), h.token_file), (1, PathBuf::from("/flag")));
        let h = at(&http, &var, key).http().unwrap();
        assert_eq!((h.addr.port(), h.token_file), (2, PathBuf::from("/env")));
        let h = at(&http, &[], key).http().unwrap();
        assert_eq!((h.addr.port(), h.token_file), (3, PathBuf::from("/file")));
        let h = at(&http, &[], "").http().unwrap();
        assert_eq!(
            (h.addr.port(), h.token_file),
            (8000, home.join(".local/state/portcullis/token"))
        );

        // log format and file: flag > environment > file > default.
        let flag = ServeFlags {
            log_format: Some(LogFormat::Human),
            log_file: Some("/flag.log".into()),
            ..ServeFlags::default()
        };
        let var = [
            ("PORTCULLIS_LOG_FORMAT", "json"),
            ("PORTCULLIS_LOG_FILE", "/env.log"),
        ];
        let key = "log-format = \"human\"\nlog-file = \"/file.log\"\n";
        let logs = |l: LogSettings| (l.format, l.file);
        assert_eq!(
            logs(at(&flag, &var, key).logs().unwrap()),
            (LogFormat::Human, Some("/flag.log".into()))
        );
        assert_eq!(
            logs(at(&none, &var, key).logs().unwrap()),
            (LogFormat::Json, Some("/env.log".into()))
        );
        assert_eq!(
            logs(
                at(
                    &none,
                    &[("PORTCULLIS_LOG_FORMAT", "human")],
                    "log-format = \"json\"\n"
                )
                .logs()
                .unwrap()
            ),
            (LogFormat::Human, None)
        );
        assert_eq!(
            logs(at(&none, &[], "log-format = \"json\"\n").logs().unwrap()),
            (LogFormat::Json, None)
        );
        assert_eq!(
            logs(at(&none, &[], "").logs().unwrap()),
            (LogFormat::Human, None)
        );
        std::fs::remove_dir_all(&home).ok();
    }

    #[test]
    fn layers_merge_field_by_field() {
        let upper = Layer {
            port: Some(1),
            ..Layer::default()
        };
        let lower = Layer {
            port: Some(2),
            region: Some("r".into()),
            ..Layer::default()
        };
        let merged = upper.over(lower);
        assert_eq!(
            (merged.port, merged.region.as_deref(), merged.mode),
            (Some(1), Some("r"), None)
        );
        // Every setting has a variable, and no variable serves two settings.
        let mut vars: Vec<&str> = Layer::ENV
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let n = vars.len();
        vars.sort_unstable();
        vars.dedup();
        assert_eq!(vars.len(), n);
        assert!(Layer::ENV.iter().all(|(_, v)| !v.is_empty()));
    }

    #[test]
    fn bad_environment_values_name_the_variable_and_what_it_accepts() {
        let home = temp("bad-env");
        let none = ServeFlags::default();
        for (var, value, accepted) in [
            (
                "PORTCULLIS_MODE",
                "yolo",
                "read-only, guarded or unrestricted",
            ),
            ("READ_OPERATIONS_ONLY", "maybe", "true or false"),
            ("PORTCULLIS_MAX_ITEMS", "0", "positive whole number"),
            ("PORTCULLIS_CALL_TIMEOUT", "soon", "positive whole number"),
            (FILE_ACCESS_ENV, "everywhere", "no-access"),
            ("PORTCULLIS_AUDIT_FSYNC", "sometimes", "milliseconds"),
            ("AWS_API_MCP_TRANSPORT", "sse", "streamable-http"),
        ] {
            let e = format!(
                "{:#}",
                sources(&none, &home, &[(var, value)], "")
                    .settings()
                    .unwrap_err()
            );
            assert!(
                e.starts_with(var) && e.contains(accepted) && e.contains(&format!("`{value}`")),
                "{var}: {e}"
            );
        }
        // The log settings stop `serve` before the logs are set up, the rest after.
        let s = sources(&none, &home, &[("PORTCULLIS_LOG_FORMAT", "xml")], "");
        let e = format!("{:#}", s.logs().unwrap_err());
        assert!(
            e.contains("PORTCULLIS_LOG_FORMAT")
                && e.contains("human or json")
                && e.contains("`xml`"),
            "{e}"
        );
        assert!(s.settings().is_ok());
        // HTTP-only values stop only an HTTP server (an awslabs stdio configuration may carry them).
        for (var, value, accepted) in [
            ("AWS_API_MCP_PORT", "eighty", "0 to 65535"),
            ("AWS_API_MCP_HOST", "my.host", "IP address"),
            ("AWS_API_MCP_ALLOWED_HOSTS", "ok,*", "wildcards"),
            ("AWS_API_MCP_ALLOWED_ORIGINS", "app.example", "http[s]://"),
        ] {
            let s = sources(&none, &home, &[(var, value)], "");
            assert!(
                s.settings().is_ok() && s.transport().ok() == Some(Transport::Stdio),
                "{var}"
            );
            let e = format!("{:#}", s.http().unwrap_err());
            assert!(e.starts_with(var) && e.contains(accepted), "{var}: {e}");
        }
        // Every bad value is named at once.
        let e = format!(
            "{:#}",
            sources(
                &none,
                &home,
                &[("PORTCULLIS_MODE", "x"), ("PORTCULLIS_MAX_PAGES", "-1")],
                ""
            )
            .settings()
            .unwrap_err()
        );
        assert!(
            e.contains("PORTCULLIS_MODE") && e.contains("PORTCULLIS_MAX_PAGES"),
            "{e}"
        );
        // A bad --host is named as the flag.
        let flags = ServeFlags {
            transport: Some(TransportFlag::Http),
            host: Some("my.host".into()),
            ..ServeFlags::default()
        };
        let e = format!("{:#}", sources(&flags, &home, &[], "").http().unwrap_err());
        assert!(e.starts_with("--host must be an IP address"), "{e}");
        // The awslabs refusals come first.
        let e = format!(
            "{:#}",
            sources(
                &none,
                &home,
                &[
                    ("EXPERIMENTAL_AGENT_SCRIPTS", "yes"),
                    ("PORTCULLIS_MODE", "x")
                ],
                ""
            )
            .settings()
            .unwrap_err()
        );
        assert!(
            e.starts_with("refusing to start: EXPERIMENTAL_AGENT_SCRIPTS")
                && e.contains("PORTCULLIS_MODE"),
            "{e}"
        );
        std::fs::remove_dir_all(&home).ok();
    }

    #[test]
    fn a_file_value_that_cannot_be_used_names_file_line_and_key() {
        let home = temp("bad-file");
        let conf = home.join("p.toml");
        std::fs::write(
            &conf,
            "region = \"eu-west-1\"\nworking-dir = \"/no/such/dir\"\n",
        )
        .unwrap();
        let h = home.to_string_lossy().into_owned();
        let flags = ServeFlags {
            config: Some(conf.clone()),
            ..ServeFlags::default()
        };
        let s = Sources::load(&flags, &|k: &str| (k == "HOME").then(|| h.clone())).unwrap();
        let e = format!("{:#}", s.settings().unwrap_err());
        assert!(
            e.starts_with(&format!(
                "config file {}:2:15: `working-dir`: must be an existing absolute directory",
                conf.display()
            )),
            "{e}"
        );
        // The same value from the environment names the variable.
        let e = format!(
            "{:#}",
            Settings::from_lookup(
                &|k: &str| (k == "AWS_API_MCP_WORKING_DIR").then(|| "/no/such/dir".to_string())
            )
            .unwrap_err()
        );
        assert!(
            e.starts_with("AWS_API_MCP_WORKING_DIR must be an existing absolute directory"),
            "{e}"
        );
        // A relative path in the file is the file's directory's.
        std::fs::create_dir_all(home.join("files")).unwrap();
        std::fs::write(&conf, "working-dir = \"files\"\n").unwrap();
        let s = Sources::load(&flags, &|k: &str| (k == "HOME").then(|| h.clone())).unwrap();
        assert_eq!(s.settings().unwrap().working_dir, home.join("files"));
        // A value that does not parse stops the loading, located.
        std::fs::write(&conf, "\n\nfile-access = \"everywhere\"\n").unwrap();
        let e = format!("{:#}", Sources::load(&flags, &|_: &str| None).unwrap_err());
        assert!(
            e.contains("p.toml:3:15: `file-access`: must be workdir"),
            "{e}"
        );
        std::fs::remove_dir_all(&home).ok();
    }

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
        std::fs::write(
            &bad,
            "{\"version\": 1, \"policy\": {\"denyList\": [\"rm -rf /\"]}}",
        )
        .unwrap();
        let err = load_policy(Some(Mode::Guarded), Some(bad.clone()), None).unwrap_err();
        assert!(format!("{err:#}").contains("bad.json"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn oauth_settings_are_complete_or_refused_by_name() {
        let home = std::env::temp_dir().join(format!("pc-oauth-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let http = ServeFlags {
            transport: Some(TransportFlag::Http),
            ..ServeFlags::default()
        };
        let stdio = ServeFlags::default();
        let full = [
            ("AUTH_TYPE", "oauth"),
            ("AUTH_ISSUER", "https://id.example"),
            ("AUTH_JWKS_URI", "https://id.example/jwks"),
            ("PORTCULLIS_AUTH_OWNER", "alice"),
            ("PORTCULLIS_AUTH_SCOPES", " mcp:tools  other "),
        ];
        let o = sources(&http, &home, &full, "")
            .http()
            .unwrap()
            .oauth
            .unwrap();
        assert_eq!(o.issuer, "https://id.example");
        assert_eq!(o.owner.as_deref(), Some("alice"));
        assert_eq!(o.scopes, ["mcp:tools", "other"]);
        assert_eq!(o.leeway, std::time::Duration::from_secs(30));
        assert_eq!(o.resource, None);
        // The config file gives them too.
        let file = "auth-type = \"oauth\"\nauth-issuer = \"https://id.example\"\nauth-jwks-uri = \"https://id.example/k\"\n\
                    auth-owner = \"bob\"\nauth-leeway = 5\nauth-resource = \"https://mcp.example/mcp\"\n";
        let o = sources(&http, &home, &[], file)
            .http()
            .unwrap()
            .oauth
            .unwrap();
        assert_eq!((o.owner.as_deref(), o.leeway.as_secs()), (Some("bob"), 5));
        assert_eq!(o.resource.as_deref(), Some("https://mcp.example/mcp"));
        // Each missing piece named at once.
        let e = format!(
            "{:#}",
            sources(&http, &home, &[("AUTH_TYPE", "OAuth")], "")
                .http()
                .unwrap_err()
        );
        assert!(
            e.contains("AUTH_ISSUER")
                && e.contains("AUTH_JWKS_URI")
                && e.contains("PORTCULLIS_AUTH_OWNER"),
            "{e}"
        );
        // OAuth settings without AUTH_TYPE=oauth are a mistake, not ignored.
        let e = format!(
            "{:#}",
            sources(&http, &home, &[("AUTH_ISSUER", "https://id.example")], "")
                .http()
                .unwrap_err()
        );
        assert!(
            e.contains("AUTH_ISSUER") && e.contains("AUTH_TYPE is not `oauth`"),
            "{e}"
        );
        // Bad values, named.
        for (k, v, want) in [
            ("AUTH_TYPE", "saml", "must be `no-auth` or `oauth`"),
            ("AUTH_ISSUER", "id.example", "must be an http(s) URL"),
            ("PORTCULLIS_AUTH_LEEWAY", "301", "at most 300"),
            ("PORTCULLIS_AUTH_LEEWAY", "0", "positive whole number"),
            (
                "PORTCULLIS_AUTH_RESOURCE",
                "https://x/mcp?q=1",
                "without a query",
            ),
        ] {
            let mut vars: Vec<(&str, &str)> =
                full.iter().filter(|(n, _)| *n != k).copied().collect();
            vars.push((k, v));
            let e = format!("{:#}", sources(&http, &home, &vars, "").http().unwrap_err());
            assert!(e.contains(k) && e.contains(want), "{k}={v}: {e}");
        }
        // Over stdio no token is ever sent: OAuth refuses to start rather than be ignored.
        for k in ["AUTH_TYPE", "AUTH_ISSUER", "AUTH_JWKS_URI"] {
            let vars: Vec<(&str, &str)> = full.iter().filter(|(n, _)| *n == k).copied().collect();
            let e = format!(
                "{:#}",
                sources(&stdio, &home, &vars, "").transport().unwrap_err()
            );
            assert!(e.contains(k) && e.contains("stdio"), "{k}: {e}");
        }
        assert!(
            sources(&stdio, &home, &[("AUTH_TYPE", "no-auth")], "")
                .transport()
                .is_ok()
        );
        std::fs::remove_dir_all(&home).ok();
    }

    #[test]
    fn stateless_http_is_a_strict_boolean_of_the_http_settings() {
        let home = std::env::temp_dir().join(format!("pc-stateless-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let http = ServeFlags {
            transport: Some(TransportFlag::Http),
            ..ServeFlags::default()
        };
        for (v, want) in [
            ("true", true),
            ("YES", true),
            ("1", true),
            ("false", false),
            ("no", false),
        ] {
            let h = sources(&http, &home, &[("AWS_API_MCP_STATELESS_HTTP", v)], "")
                .http()
                .unwrap();
            assert_eq!(h.stateless, want, "{v}");
        }
        assert!(!sources(&http, &home, &[], "").http().unwrap().stateless);
        assert!(
            sources(&http, &home, &[], "stateless-http = true\n")
                .http()
                .unwrap()
                .stateless
        );
        let e = format!(
            "{:#}",
            sources(&http, &home, &[("AWS_API_MCP_STATELESS_HTTP", "on")], "")
                .http()
                .unwrap_err()
        );
        assert!(
            e.contains("AWS_API_MCP_STATELESS_HTTP must be true or false, not `on`"),
            "{e}"
        );
        std::fs::remove_dir_all(&home).ok();
    }

    #[test]
    fn unimplemented_awslabs_settings_refuse_to_start() {
        let check = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            refuse_unimplemented_awslabs_settings(&move |k: &str| {
                vars.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.trim().is_empty())
            })
        };
        for (k, v) in [
            ("EXPERIMENTAL_AGENT_SCRIPTS", "True"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "1"),
            ("EXPERIMENTAL_AGENT_SCRIPTS", "enabled"),
        ] {
            let e = format!("{:#}", check(&[(k, v)]).unwrap_err());
            assert!(
                e.contains(k) && e.contains("not implement") && e.contains("Unset"),
                "{k}={v}: {e}"
            );
        }
        for vars in [
            &[][..],
            // OAuth and stateless HTTP are implemented: read (and checked) with the HTTP settings.
            &[("AUTH_TYPE", "oauth")],
            &[("AWS_API_MCP_STATELESS_HTTP", "true")],
            &[("AUTH_ISSUER", "https://issuer.example")],
            &[
                ("AWS_API_MCP_STATELESS_HTTP", "false"),
                ("EXPERIMENTAL_AGENT_SCRIPTS", "0"),
            ],
            &[
                ("AWS_API_MCP_STATELESS_HTTP", "No"),
                ("EXPERIMENTAL_AGENT_SCRIPTS", "FALSE"),
            ],
            &[
                ("AWS_API_MCP_TELEMETRY", "true"),
                ("AWS_API_MCP_SUPPRESS_DEPRECATION_WARNING", "true"),
            ],
        ] {
            assert!(check(vars).is_ok(), "{vars:?}");
        }
    }

    #[test]
    fn limits_come_from_the_environment_and_the_policy_can_only_lower_the_rates() {
        let dir = temp("limits");
        let with = |vars: &[(&str, &str)]| settings_in(&dir, vars);
        let d = crate::pipeline::limits::LimitSettings::default();
        assert_eq!(with(&[]).unwrap().limits, d);
        let l = with(&[
            ("PORTCULLIS_RATE_PER_PRINCIPAL", "600/m burst 5"),
            ("PORTCULLIS_RATE_PER_SESSION", "3/s"),
            ("PORTCULLIS_MAX_CONCURRENT", "16"),
            ("PORTCULLIS_MAX_QUEUED", "4"),
            ("PORTCULLIS_BREAKER_FAILURES", "2"),
            ("PORTCULLIS_BREAKER_COOLDOWN", "90"),
            ("PORTCULLIS_RETRY_BUDGET", "25%"),
            ("PORTCULLIS_BATCH_PARALLEL", "2"),
        ])
        .unwrap()
        .limits;
        assert_eq!(
            (l.per_principal.per_second, l.per_principal.burst),
            (10.0, 5)
        );
        assert_eq!((l.per_session.per_second, l.per_session.burst), (3.0, 6));
        assert_eq!(
            (l.global.max, l.global.initial, l.global.queue),
            (16, 16, 4)
        );
        assert!(l.per_endpoint.max <= 16 && l.per_endpoint.queue <= 4);
        assert_eq!(l.breaker.failures_to_open, 2);
        assert_eq!(l.breaker.open_for, std::time::Duration::from_secs(90));
        assert!(l.breaker.max_open_for >= l.breaker.open_for);
        assert_eq!((l.retry_ratio, l.batch_parallel), (0.25, 2));
        for (var, value) in [
            ("PORTCULLIS_RATE_PER_PRINCIPAL", "fast"),
            ("PORTCULLIS_RATE_PER_SESSION", "0/s"),
            ("PORTCULLIS_MAX_QUEUED", "0"),
            ("PORTCULLIS_RETRY_BUDGET", "2000%"),
        ] {
            let err = format!("{:#}", with(&[(var, value)]).unwrap_err());
            assert!(err.contains(var), "{var}={value}: {err}");
        }
        // The policy's rates are ceilings: lower ones apply, higher ones do not loosen.
        let file = dir.join("p.json");
        std::fs::write(
            &file,
            r#"{"limits": {"rate_per_principal": "2/s burst 4", "rate_per_session": "1000/s"}}"#,
        )
        .unwrap();
        let f = file.to_string_lossy().into_owned();
        let l = with(&[("PORTCULLIS_POLICY_FILE", &f)]).unwrap().limits;
        assert_eq!(
            (l.per_principal.per_second, l.per_principal.burst),
            (2.0, 4)
        );
        assert_eq!(l.per_session, d.per_session);
        std::fs::write(&file, r#"{"limits": {"rate_per_session": "10/fortnight"}}"#).unwrap();
        let err = format!("{:#}", with(&[("PORTCULLIS_POLICY_FILE", &f)]).unwrap_err());
        assert!(err.contains("limits.rate_per_session"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn modes_layer_and_the_stricter_wins() {
        let dir = temp("modes");
        let with = |vars: &[(&str, &str)]| settings_in(&dir, vars);
        assert_eq!(with(&[]).unwrap().policy.mode(), Mode::Guarded);
        assert_eq!(
            with(&[("PORTCULLIS_MODE", "unrestricted")])
                .unwrap()
                .policy
                .mode(),
            Mode::Unrestricted
        );
        assert_eq!(
            with(&[
                ("PORTCULLIS_MODE", "unrestricted"),
                ("READ_OPERATIONS_ONLY", "true")
            ])
            .unwrap()
            .policy
            .mode(),
            Mode::ReadOnly
        );
        assert_eq!(
            with(&[
                ("PORTCULLIS_MODE", "unrestricted"),
                ("READ_OPERATIONS_ONLY", "false")
            ])
            .unwrap()
            .policy
            .mode(),
            Mode::Unrestricted
        );
        let err = with(&[("PORTCULLIS_MODE", "yolo")]).unwrap_err();
        assert!(format!("{err:#}").contains("PORTCULLIS_MODE"), "{err:#}");
        // A native policy with its own mode and allow-lists: a stricter configured mode applies, and the allow-lists stay.
        let file = dir.join("p.json");
        std::fs::write(
            &file,
            r#"{"mode": "unrestricted", "regions": ["eu-west-1"]}"#,
        )
        .unwrap();
        let f = file.to_string_lossy().into_owned();
        let s = with(&[
            ("PORTCULLIS_POLICY_FILE", &f),
            ("READ_OPERATIONS_ONLY", "true"),
        ])
        .unwrap();
        assert_eq!(s.policy.mode(), Mode::ReadOnly);
        assert!(!s.policy.allows_region("us-east-1") && s.policy.allows_region("eu-west-1"));
        // A native file without a mode keeps its allow-lists under the configured mode.
        std::fs::write(&file, r#"{"regions": ["eu-west-1"], "rules": [{"id": "r", "effect": "deny", "commands": ["aws iam delete-*"]}]}"#).unwrap();
        let s = with(&[
            ("PORTCULLIS_POLICY_FILE", &f),
            ("PORTCULLIS_MODE", "unrestricted"),
        ])
        .unwrap();
        assert_eq!(s.policy.mode(), Mode::Unrestricted);
        assert!(!s.policy.allows_region("us-east-1"));
        assert_eq!(s.policy.rules().len(), 1);
        // A looser configured mode does not widen the file's.
        std::fs::write(&file, r#"{"mode": "read-only"}"#).unwrap();
        assert_eq!(
            with(&[
                ("PORTCULLIS_POLICY_FILE", &f),
                ("PORTCULLIS_MODE", "unrestricted")
            ])
            .unwrap()
            .policy
            .mode(),
            Mode::ReadOnly
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
