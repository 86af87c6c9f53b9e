//! Credentials and region for the one AWS profile Portcullis runs as, from `aws-config`.
//!
//! # Brief overview
//!
//! [`ChainSettings`] says which profile (and, optionally, which config/credentials files) to
//! use; it is fixed at start-up — a command can never switch profile. [`CredentialsProvider`]
//! builds the usual AWS provider chain from it, resolves credentials on first use, caches them
//! and fetches new ones shortly before they expire ([`CredentialsProvider::credentials`]).
//! [`resolve_region`] walks the usual region chain for the same profile.
//!
//! The chain is `aws-config`'s providers, assembled here in the SDKs' order:
//!
//! 1. environment (`AWS_ACCESS_KEY_ID`, ...) — skipped when the profile was named explicitly,
//!    as botocore does for `--profile`;
//! 2. the profile (static keys, `role_arn` + `source_profile`/`credential_source`, SSO with a
//!    cached token, `web_identity_token_file`);
//! 3. web identity from the environment (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`);
//! 4. the ECS/EKS container endpoint (optional);
//! 5. EC2 instance metadata (optional).
//!
//! What is deliberately **not** there: `credential_process` (Portcullis never starts another
//! program — `aws-config` is built without its `credentials-process` feature, and a profile
//! that uses it is refused up front with [`CredentialsError::CredentialProcessRefused`]), and
//! any interactive SSO login: SSO works from the token `aws sso login` cached, refreshed
//! through the SSO OIDC API when it carries a refresh token, never with a browser.
//!
//! [`Credentials`] is `aws-credential-types`' type; its `Debug` redacts the secret and the
//! session token, and no error here ever contains them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), portcullis_wire::credentials::CredentialsError> {
//! use portcullis_wire::credentials::{resolve_region, ChainSettings, CredentialsProvider};
//!
//! let settings = ChainSettings::from_profile(Some("readonly".into()));
//! let region = resolve_region(&settings).await;
//! let provider = CredentialsProvider::new(settings, region.clone()).await;
//! let creds = provider.credentials().await?;
//! println!("signing as {} in {region:?}", creds.access_key_id());
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::credentials::ProfileFileError;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;

pub use aws_credential_types::Credentials;

/// How aws-config says a profile needs a Cargo feature this build leaves out.
const FEATURE_MARKER: &str = "cargo feature(s) enabled: ";

/// The profile property Portcullis refuses to act on.
const CREDENTIAL_PROCESS: &str = "credential_process";

/// Which profile and files the chain reads, and which optional sources it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSettings {
    /// A profile named explicitly (configuration or `--profile` at start-up). `None` means
    /// `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// Config file to read instead of `AWS_CONFIG_FILE` / `~/.aws/config`.
    pub config_file: Option<PathBuf>,
    /// Credentials file to read instead of `AWS_SHARED_CREDENTIALS_FILE` / `~/.aws/credentials`.
    pub credentials_file: Option<PathBuf>,
    /// Ask the ECS/EKS container credentials endpoint.
    pub container: bool,
    /// Ask EC2 instance metadata (credentials and region).
    pub instance_metadata: bool,
    /// Fetch new credentials this long before the cached ones expire.
    pub refresh_margin: Duration,
    /// Bound on one resolution (SSO, STS and metadata calls included).
    pub resolve_timeout: Duration,
}

impl Default for ChainSettings {
    fn default() -> Self {
        Self {
            profile: None,
            config_file: None,
            credentials_file: None,
            container: true,
            instance_metadata: true,
            // The SDKs refresh 5–15 minutes ahead; 5 minutes leaves room for a long call.
            refresh_margin: Duration::from_secs(300),
            resolve_timeout: Duration::from_secs(30),
        }
    }
}

impl ChainSettings {
    /// The defaults, with this profile (`None`: `AWS_PROFILE` or `default`).
    pub fn from_profile(profile: Option<String>) -> Self {
        Self {
            profile,
            ..Self::default()
        }
    }

    /// The profile in effect: the explicit one, else `AWS_PROFILE`, else `default`.
    pub fn profile_name(&self) -> String {
        self.profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".to_string())
    }

    /// The files a profile is looked up in, for messages: `~/.aws/config or ~/.aws/credentials`,
    /// or the files configured instead.
    pub fn profile_file_names(&self) -> String {
        let pick = |explicit: &Option<PathBuf>, var: &str, default: &str| {
            explicit
                .as_ref()
                .map(|p| p.display().to_string())
                .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| default.to_string())
        };
        format!(
            "{} or {}",
            pick(&self.config_file, "AWS_CONFIG_FILE", "~/.aws/config"),
            pick(
                &self.credentials_file,
                "AWS_SHARED_CREDENTIALS_FILE",
                "~/.aws/credentials"
            )
        )
    }

    /// The config files to read: the explicit ones, else the usual locations.
    fn profile_files(&self) -> EnvConfigFiles {
        if self.config_file.is_none() && self.credentials_file.is_none() {
            return EnvConfigFiles::default();
        }
        let mut b = EnvConfigFiles::builder()
            .include_default_config_file(self.config_file.is_none())
            .include_default_credentials_file(self.credentials_file.is_none());
        if let Some(p) = &self.config_file {
            b = b.with_file(EnvConfigFileKind::Config, p);
        }
        if let Some(p) = &self.credentials_file {
            b = b.with_file(EnvConfigFileKind::Credentials, p);
        }
        b.build()
    }
}

/// Why no credentials could be had. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// No source in the chain had credentials.
    #[error("no AWS credentials found for profile `{profile}` (looked at: {sources}): {detail}")]
    NotFound {
        profile: String,
        sources: String,
        detail: String,
    },
    /// The profile (or one it sources from) obtains credentials by running a program.
    #[error(
        "profile `{profile}` gets its credentials from `credential_process`, which Portcullis \
         refuses: it never starts other programs. Use static keys, SSO (`aws sso login` first), \
         web identity or a role instead"
    )]
    CredentialProcessRefused { profile: String },
    /// The profile needs something this build leaves out on purpose.
    #[error("profile `{profile}` needs `{feature}`, which Portcullis does not support: {detail}")]
    Unsupported {
        profile: String,
        feature: String,
        detail: String,
    },
    /// The config or credentials files are invalid, or the profile is incomplete.
    #[error("invalid AWS configuration for profile `{profile}`: {detail}")]
    InvalidConfiguration { profile: String, detail: String },
    /// A provider failed (STS refused the role, SSO token expired, metadata unreachable ...).
    #[error("could not obtain AWS credentials for profile `{profile}`: {detail}")]
    Provider { profile: String, detail: String },
    /// A profile named explicitly is in neither file.
    #[error(
        "profile `{profile}` not found in {files}: check the name (AWS_API_MCP_PROFILE_NAME, --as-profile), or add it with `aws configure --profile {profile}`"
    )]
    ProfileNotFound { profile: String, files: String },
    /// Resolution took longer than [`ChainSettings::resolve_timeout`].
    #[error("obtaining AWS credentials for profile `{profile}` took longer than {timeout:?}")]
    Timeout { profile: String, timeout: Duration },
}

/// Credentials for the pinned profile: resolved once, cached, refreshed before expiry.
///
/// Cheap to clone; clones share the cache. Concurrent callers wait for one resolution.
#[derive(Clone)]
pub struct CredentialsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    chain: Box<dyn ProvideCredentials>,
    /// The sources in the chain, for "looked at: ..." messages.
    sources: Vec<&'static str>,
    profile: String,
    /// The profile files were read and do not define the profile.
    profile_undefined: bool,
    refresh_margin: Duration,
    resolve_timeout: Duration,
    cache: tokio::sync::Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    creds: Option<Credentials>,
    /// When the last refresh failed (while older credentials were still valid).
    failed_at: Option<Instant>,
}

/// After a failed refresh, how long still-valid credentials are served before trying again.
pub const REFRESH_RETRY_INTERVAL: Duration = Duration::from_secs(10);

impl std::fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsProvider")
            .field("profile", &self.inner.profile)
            .field("refresh_margin", &self.inner.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl CredentialsProvider {
    /// Builds the chain for `settings`. `region` is the one STS and SSO calls made by the
    /// profile providers use (pass what [`resolve_region`] found). Reads the profile files
    /// once to refuse `credential_process` profiles; nothing is fetched until
    /// [`CredentialsProvider::credentials`].
    pub async fn new(settings: ChainSettings, region: Option<String>) -> Self {
        let profile = settings.profile_name();
        let files = settings.profile_files();
        let facts = inspect_profile(&files, &profile).await;
        let (chain, sources) =
            build_chain(&settings, &profile, files, region, facts.process_profile);
        Self::with_chain(chain, sources, profile, facts.undefined, &settings)
    }

    /// Wraps any provider (tests, or a fixed set of credentials) with the same caching.
    pub fn from_provider(
        provider: impl ProvideCredentials + 'static,
        profile: impl Into<String>,
        settings: &ChainSettings,
    ) -> Self {
        Self::with_chain(
            Box::new(provider),
            vec!["custom"],
            profile.into(),
            false,
            settings,
        )
    }

    fn with_chain(
        chain: Box<dyn ProvideCredentials>,
        sources: Vec<&'static str>,
        profile: String,
        profile_undefined: bool,
        settings: &ChainSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                chain,
                sources,
                profile,
                profile_undefined,
                refresh_margin: settings.refresh_margin,
                resolve_timeout: settings.resolve_timeout,
                cache: tokio::sync::Mutex::new(Cache::default()),
            }),
        }
    }

    /// Puts `creds` in the cache, as if just resolved (credentials a caller already fetched,
    /// such as the first assumed-role session).
    pub async fn seed(&self, creds: Credentials) {
        let mut cache = self.inner.cache.lock().await;
        cache.creds = Some(creds);
        cache.failed_at = None;
    }

    /// The profile these credentials belong to.
    pub fn profile(&self) -> &str {
        &self.inner.profile
    }

    /// Current credentials: the cached ones while they are good for longer than the refresh
    /// margin, else freshly resolved. When a refresh fails but the cached credentials have
    /// not expired yet, those are returned, and the next refresh is tried no sooner than
    /// [`REFRESH_RETRY_INTERVAL`] later (callers do not each wait on a failing source).
    pub async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        let mut cache = inner.cache.lock().await;
        let now = SystemTime::now();
        if let Some(c) = cache.creds.as_ref() {
            let fresh = c.expiry().is_none() || valid_for(c, now) > Some(inner.refresh_margin);
            let backing_off = cache
                .failed_at
                .is_some_and(|t| t.elapsed() < REFRESH_RETRY_INTERVAL)
                && valid_for(c, now).is_some();
            if fresh || backing_off {
                return Ok(c.clone());
            }
        }
        match self.resolve().await {
            Ok(c) => {
                cache.creds = Some(c.clone());
                cache.failed_at = None;
                Ok(c)
            }
            Err(e) => {
                cache.failed_at = Some(Instant::now());
                match cache.creds.as_ref() {
                    Some(c) if valid_for(c, now).is_some() => Ok(c.clone()),
                    _ => Err(e),
                }
            }
        }
    }

    async fn resolve(&self) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        match tokio::time::timeout(inner.resolve_timeout, inner.chain.provide_credentials()).await {
            Err(_) => Err(CredentialsError::Timeout {
                profile: inner.profile.clone(),
                timeout: inner.resolve_timeout,
            }),
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => {
                let mut err = map_error(&e, &inner.profile, &inner.sources);
                if let CredentialsError::NotFound { detail, .. } = &mut err
                    && inner.profile_undefined
                {
                    *detail = format!(
                        "the profile is not defined in the config or credentials files; {detail}"
                    );
                }
                Err(err)
            }
        }
    }
}

/// How long `c` stays valid after `now` (`None`: no expiry known, or already expired;
/// callers check `expiry().is_none()` first where that matters).
fn valid_for(c: &Credentials, now: SystemTime) -> Option<Duration> {
    c.expiry().and_then(|t| t.duration_since(now).ok())
}

fn provider_config(region: Option<String>) -> ProviderConfig {
    ProviderConfig::default()
        .with_behavior_version(Some(BehaviorVersion::latest()))
        .with_region(region.map(Region::new))
}

fn build_chain(
    settings: &ChainSettings,
    profile: &str,
    files: EnvConfigFiles,
    region: Option<String>,
    refused: Option<String>,
) -> (Box<dyn ProvideCredentials>, Vec<&'static str>) {
    let conf = provider_config(region);
    let mut sources = Vec::new();
    // A profile that would run a program is replaced by a provider that refuses it; the
    // environment keys before it still win, as they would in the SDKs.
    let profile_provider = match refused {
        Some(profile) => SharedCredentialsProvider::new(RefuseCredentialProcess { profile }),
        None => SharedCredentialsProvider::new(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&conf)
                .profile_name(profile)
                .profile_files(files)
                .build(),
        ),
    };
    // An explicitly named profile wins over environment keys (botocore drops the env
    // provider then); with AWS_PROFILE or no profile, the environment comes first.
    let mut chain = if settings.profile.is_some() {
        sources.push("profile");
        CredentialsProviderChain::first_try("Profile", profile_provider)
    } else {
        sources.extend(["environment", "profile"]);
        CredentialsProviderChain::first_try(
            "Environment",
            EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else("Profile", profile_provider)
    };
    sources.push("web identity");
    chain = chain.or_else(
        "WebIdentityToken",
        aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
            .configure(&conf)
            .build(),
    );
    if settings.container {
        sources.push("container");
        chain = chain.or_else(
            "EcsContainer",
            aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        );
    }
    if settings.instance_metadata {
        sources.push("instance metadata");
        chain = chain.or_else(
            "Ec2InstanceMetadata",
            aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        );
    }
    (Box::new(chain), sources)
}

/// What the profile files say about the selected profile, read once up front.
#[derive(Default)]
struct ProfileFacts {
    /// The files were read and the profile is not in them.
    undefined: bool,
    /// The profile that would run a program: the selected profile or one it sources
    /// credentials from sets `credential_process`. (The build leaves that feature out too;
    /// this check makes the refusal independent of Cargo feature unification and names the
    /// profile.)
    process_profile: Option<String>,
}

/// Whether the profile files define the settings' profile (unreadable files count as defining
/// it: the providers report them).
pub async fn profile_defined(settings: &ChainSettings) -> bool {
    !inspect_profile(&settings.profile_files(), &settings.profile_name())
        .await
        .undefined
}

/// Unreadable files are left to the providers to report.
async fn inspect_profile(files: &EnvConfigFiles, profile: &str) -> ProfileFacts {
    let Ok(set) = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        files,
        Some(Cow::Owned(profile.to_string())),
    )
    .await
    else {
        return ProfileFacts::default();
    };
    let mut facts = ProfileFacts {
        undefined: set.get_profile(profile).is_none(),
        process_profile: None,
    };
    let mut seen = HashSet::new();
    let mut current = profile.to_string();
    while seen.insert(current.clone()) {
        let Some(p) = set.get_profile(&current) else {
            break;
        };
        if p.get(CREDENTIAL_PROCESS).is_some() {
            facts.process_profile = Some(current);
            break;
        }
        // Static keys or a web identity end the chain; otherwise follow source_profile.
        match p.get("source_profile") {
            Some(next) => current = next.to_string(),
            None => break,
        }
    }
    facts
}

/// Stands in for a profile that uses `credential_process`.
#[derive(Debug)]
struct RefuseCredentialProcess {
    profile: String,
}

#[derive(Debug, thiserror::Error)]
#[error("profile `{0}` uses credential_process, which Portcullis refuses")]
struct ProcessRefused(String);

impl ProvideCredentials for RefuseCredentialProcess {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            SdkCredentialsError::invalid_configuration(ProcessRefused(self.profile.clone())),
        ))
    }
}

/// `aws-config`'s error → ours, with the source chain spelled out (it holds no secrets:
/// providers report which setting is missing or what a service answered).
fn map_error(e: &SdkCredentialsError, profile: &str, sources: &[&str]) -> CredentialsError {
    let profile = profile.to_string();
    let detail = error_chain(e);
    // A profile that needs a left-out feature (credential_process, `aws login`): typed where
    // aws-config keeps the error, else from its message (the profile provider formats it).
    let mut feature: Option<String> = None;
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(ProcessRefused(p)) = s.downcast_ref::<ProcessRefused>() {
            return CredentialsError::CredentialProcessRefused { profile: p.clone() };
        }
        if let Some(ProfileFileError::FeatureNotEnabled { feature: f, .. }) =
            s.downcast_ref::<ProfileFileError>()
        {
            feature = Some(f.to_string());
        }
        src = s.source();
    }
    let feature = feature.or_else(|| {
        let (_, rest) = detail.split_once(FEATURE_MARKER)?;
        Some(
            rest.split(['.', ' '])
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    });
    if let Some(feature) = feature {
        if feature.contains("credentials-process") {
            return CredentialsError::CredentialProcessRefused { profile };
        }
        return CredentialsError::Unsupported {
            profile,
            feature,
            detail,
        };
    }
    match e {
        SdkCredentialsError::CredentialsNotLoaded(_) => CredentialsError::NotFound {
            profile,
            sources: sources.join(", "),
            detail,
        },
        SdkCredentialsError::InvalidConfiguration(_) => {
            CredentialsError::InvalidConfiguration { profile, detail }
        }
        SdkCredentialsError::ProviderTimedOut(t) => CredentialsError::Timeout {
            profile,
            timeout: t.timeout_duration(),
        },
        _ => CredentialsError::Provider { profile, detail },
    }
}

/// The region for `settings`' profile: `AWS_REGION` / `AWS_DEFAULT_REGION`, the profile's
/// `region`, then (if allowed) instance metadata.
pub async fn resolve_region(settings: &ChainSettings) -> Option<String> {
    let profile_region = aws_config::profile::region::ProfileFileRegionProvider::builder()
        .configure(&provider_config(None))
        .profile_name(settings.profile_name())
        .profile_files(settings.profile_files())
        .build();
    let mut chain = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(profile_region);
    if settings.instance_metadata {
        chain = chain.or_else(
            aws_config::imds::region::ImdsRegionProvider::builder()
                .configure(&provider_config(None))
                .build(),
        );
    }
    chain.region().await.map(|r| r.as_ref().to_string())
}

/// The error and its sources on one line (the chain's "Attempted:" list is multi-line).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let out = crate::transport::error_chain(e);
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut one = lines.next().unwrap_or_default().to_string();
    for (i, l) in lines.enumerate() {
        one.push_str(if i == 0 { " " } else { "; " });
        one.push_str(l);
    }
    one
}
