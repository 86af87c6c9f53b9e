//! The settings table: every setting more than one source can give, declared once with its type,
//! its environment variable(s) and its group. From it come [`Layer`] (one source's typed values;
//! its fields are also the config file's keys, in kebab-case), the reading of the environment,
//! and [`Layer::over`], the precedence.

use std::net::IpAddr;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use portcullis_audit::FsyncPolicy;
use portcullis_policy::Mode;
use portcullis_sandbox::{FILE_ACCESS_ENV, FileAccessMode};

use super::env::{Group, Problem};
use super::net::{AllowedHost, AuthType, Origin, Transport};
use super::values::{LogFormat, RetryRatio, Value};
use portcullis_resilience::rate::Rate;

/// Declares [`Layer`]: `field: Type = [ENV_VAR, FALLBACK_VAR] in Group`.
macro_rules! settings {
    ($( $(#[doc = $doc:expr])* $field:ident: $ty:ty = [$($var:expr),+] in $group:ident, )*) => {
        /// One source's settings, typed (`None`: this source says nothing). The flags, the
        /// environment and the config file each give one; the config file's keys are these
        /// fields' names in kebab-case.
        #[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct Layer {
            $( $(#[doc = $doc])* #[serde(deserialize_with = "from_toml")] pub $field: Option<$ty>, )*
        }

        impl Layer {
            /// The environment variables of each field (the first set one is read).
            pub const ENV: &[(&str, &[&str])] = &[$( (stringify!($field), &[$($var),+]), )*];

            /// This layer where it says something, else `lower`: the one precedence rule, applied
            /// as `flags.over(env).over(file)`. Defaults come after, where each setting is used.
            #[must_use]
            pub fn over(self, lower: Layer) -> Layer {
                Layer { $( $field: self.$field.or(lower.$field), )* }
            }

            /// Reads every setting from the environment (`var` returns `None` for unset or
            /// blank). A value that does not parse is left out and its problem, which names the
            /// variable and what it accepts, added to `problems`.
            pub(crate) fn from_env(var: &dyn Fn(&str) -> Option<String>, problems: &mut Vec<Problem>) -> Layer {
                Layer { $( $field: env_value(var, &[$($var),+], Group::$group, problems), )* }
            }

            /// Paths of the config file are relative to its directory.
            #[must_use]
            pub(crate) fn relative_to(self, dir: &Path) -> Layer {
                Layer { $( $field: self.$field.map(|v| Value::relative_to(v, dir)), )* }
            }
        }
    };
}

settings! {
    /// What happens to requests no rule decides: read-only, guarded (default) or unrestricted.
    mode: Mode = ["PORTCULLIS_MODE"] in Policy,
    /// The policy file (native or awslabs form); default `~/.aws/aws-api-mcp/mcp-security-policy.json`.
    policy_file: PathBuf = ["PORTCULLIS_POLICY_FILE"] in Policy,
    /// The directory `file://` paths are relative to; default `$TMPDIR/aws-api-mcp/workdir`.
    working_dir: PathBuf = ["AWS_API_MCP_WORKING_DIR"] in Server,
    /// The profile whose credentials are pinned; default the default chain.
    profile: String = ["AWS_API_MCP_PROFILE_NAME"] in Server,
    /// The default region; default the profile's.
    region: String = ["AWS_REGION", "AWS_DEFAULT_REGION"] in Server,
    /// How local files may be reached: workdir (default), no-access or unrestricted.
    file_access: FileAccessMode = [FILE_ACCESS_ENV] in Server,
    /// Items per call.
    max_items: NonZeroU64 = ["PORTCULLIS_MAX_ITEMS"] in Server,
    /// Pages per call.
    max_pages: NonZeroU64 = ["PORTCULLIS_MAX_PAGES"] in Server,
    /// Seconds per call, over every page and retry.
    call_timeout: NonZeroU64 = ["PORTCULLIS_CALL_TIMEOUT"] in Server,
    /// Response bytes per call.
    max_response_bytes: NonZeroU64 = ["PORTCULLIS_MAX_RESPONSE_BYTES"] in Server,
    /// AWS calls per principal: `N/s`, `N/m` or `N/h`, optionally `burst B`; default `500/s burst 1000`.
    rate_per_principal: Rate = ["PORTCULLIS_RATE_PER_PRINCIPAL"] in Server,
    /// AWS calls per MCP session, in the same form; default `100/s burst 200`.
    rate_per_session: Rate = ["PORTCULLIS_RATE_PER_SESSION"] in Server,
    /// The most AWS calls in flight at once (the adaptive limit's ceiling); default 256.
    max_concurrent: NonZeroU64 = ["PORTCULLIS_MAX_CONCURRENT"] in Server,
    /// The most AWS calls waiting for a slot; over it a call is refused at once; default 256.
    max_queued: NonZeroU64 = ["PORTCULLIS_MAX_QUEUED"] in Server,
    /// Consecutive failures (5xx, throttling, timeouts) that open an endpoint's breaker; default 5.
    breaker_failures: NonZeroU64 = ["PORTCULLIS_BREAKER_FAILURES"] in Server,
    /// Seconds an open breaker waits before a probe (doubling up to 60 s); default 5.
    breaker_cooldown: NonZeroU64 = ["PORTCULLIS_BREAKER_COOLDOWN"] in Server,
    /// Retries, as a share of calls, over all calls: `10%` (default) or `0.1`.
    retry_budget: RetryRatio = ["PORTCULLIS_RETRY_BUDGET"] in Server,
    /// Commands of one `call_aws` batch run at once; default 8.
    batch_parallel: NonZeroU64 = ["PORTCULLIS_BATCH_PARALLEL"] in Server,
    /// A role to assume at start, with a session policy generated from the policy (scoped credentials).
    assume_role_arn: String = ["PORTCULLIS_ASSUME_ROLE_ARN"] in Server,
    /// Seconds each assumed session lasts (900 up to the role's maximum); default 3600.
    assume_role_duration: NonZeroU64 = ["PORTCULLIS_ASSUME_ROLE_DURATION"] in Server,
    /// The assumed sessions' `SourceIdentity`; default `portcullis-<user>`.
    source_identity: String = ["PORTCULLIS_SOURCE_IDENTITY"] in Server,
    /// The key that seals consent rounds (64 hex digits), shared by the replicas; default a random key per process.
    sealing_key_file: PathBuf = ["PORTCULLIS_SEALING_KEY_FILE"] in Server,
    /// The Redis server the replicas share (single use of consent rounds): `redis://[:password@]host:port[/db]`.
    redis_url: String = ["PORTCULLIS_REDIS_URL"] in Server,
    /// The audit trail's directory; default `$XDG_STATE_HOME/portcullis/audit`.
    audit_dir: PathBuf = ["PORTCULLIS_AUDIT_DIR"] in Audit,
    /// This replica's name: its audit chain is `<audit-dir>/<replica-id>` (letters, digits, `.`, `_`, `-`).
    replica_id: String = ["PORTCULLIS_REPLICA_ID"] in Audit,
    /// The audit key; default `$XDG_STATE_HOME/portcullis/audit.key`.
    audit_key_file: PathBuf = ["PORTCULLIS_AUDIT_KEY_FILE"] in Audit,
    /// When audit records reach the disk: always (default), never or `<N>ms`.
    audit_fsync: FsyncPolicy = ["PORTCULLIS_AUDIT_FSYNC"] in Audit,
    /// stdio (default) or streamable HTTP.
    transport: Transport = ["AWS_API_MCP_TRANSPORT"] in Server,
    /// The address to bind in HTTP mode; default 127.0.0.1.
    host: IpAddr = ["AWS_API_MCP_HOST"] in Http,
    /// The port to bind in HTTP mode; default 8000, 0 = any free port.
    port: u16 = ["AWS_API_MCP_PORT"] in Http,
    /// `Host` values answered beyond the loopback names.
    allowed_hosts: Vec<AllowedHost> = ["AWS_API_MCP_ALLOWED_HOSTS"] in Http,
    /// Origins accepted beyond this server's own.
    allowed_origins: Vec<Origin> = ["AWS_API_MCP_ALLOWED_ORIGINS"] in Http,
    /// The owner's bearer token file; default `$XDG_STATE_HOME/portcullis/token`.
    token_file: PathBuf = ["PORTCULLIS_TOKEN_FILE"] in Http,
    /// Stateless streamable HTTP for every client (no session ids; consent only by MCP 2026-07-28 rounds).
    stateless_http: bool = ["AWS_API_MCP_STATELESS_HTTP"] in Http,
    /// How HTTP clients authenticate: `no-auth` (default: the owner's token file) or `oauth`.
    auth_type: AuthType = ["AUTH_TYPE"] in Http,
    /// OAuth: the issuer every access token must name (`iss`).
    auth_issuer: String = ["AUTH_ISSUER"] in Http,
    /// OAuth: the issuer's public keys (JWKS URL).
    auth_jwks_uri: String = ["AUTH_JWKS_URI"] in Http,
    /// OAuth: this server's canonical URI, the audience tokens must name; default `http://<host>:<port>/mcp`.
    auth_resource: String = ["PORTCULLIS_AUTH_RESOURCE"] in Http,
    /// OAuth: the subject (`sub`) of the one user this instance serves.
    auth_owner: String = ["PORTCULLIS_AUTH_OWNER"] in Http,
    /// OAuth: the AWS role of each user, `sub:<subject>=<role ARN>` or `group:<group>=<role ARN>` (first match).
    auth_roles: Vec<crate::server::oauth::RoleMapping> = ["PORTCULLIS_AUTH_ROLES"] in Http,
    /// OAuth: scopes every token must hold, space-separated; default none.
    auth_scopes: String = ["PORTCULLIS_AUTH_SCOPES"] in Http,
    /// OAuth: seconds of clock skew allowed on `exp` and `nbf` (1 to 300); default 30.
    auth_leeway: NonZeroU64 = ["PORTCULLIS_AUTH_LEEWAY"] in Http,
    /// Where log lines go (appended, created 0600); default stderr.
    log_file: PathBuf = ["PORTCULLIS_LOG_FILE"] in Logs,
    /// human (default) or json.
    log_format: LogFormat = ["PORTCULLIS_LOG_FORMAT"] in Logs,
}

/// For serde: a config file value, typed by [`Value::from_toml`].
fn from_toml<'de, D: serde::Deserializer<'de>, T: Value>(d: D) -> Result<Option<T>, D::Error> {
    T::from_toml(d).map(Some)
}

/// The first of `names` that is set, parsed; its problem goes to `problems`.
fn env_value<T: Value>(
    var: &dyn Fn(&str) -> Option<String>,
    names: &[&str],
    group: Group,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let (name, text) = names.iter().find_map(|n| var(n).map(|v| (*n, v)))?;
    match T::parse(&text) {
        Ok(v) => Some(v),
        Err(reason) => {
            problems.push(Problem {
                group,
                message: format!("{name} {reason}"),
            });
            None
        }
    }
}
