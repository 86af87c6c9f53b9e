//! Credentials and region resolution for signing: the provider chain over temporary config and
//! credentials files (no network: container and instance-metadata sources are off), profile
//! selection, the refusal of `credential_process`, clear errors, caching and refresh.
//!
//! Tests that depend on environment variables (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, `HOME`,
//! `AWS_CONFIG_FILE`, ...) run in a child process of this test binary with a cleared, controlled
//! environment (`child_scenario`), so nothing here mutates this process's environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, future};
use portcullis_wire::credentials::{
    ChainSettings, Credentials, CredentialsError, CredentialsProvider, resolve_region,
};

// --- helpers ----------------------------------------------------------------------------------

/// A fresh empty directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portcullis-creds-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Settings over explicit files, with a named profile (so environment keys are not used) and
/// no network sources.
fn offline(dir: &Path, profile: &str, config: &str, credentials: &str) -> ChainSettings {
    ChainSettings {
        profile: Some(profile.to_string()),
        config_file: Some(write(dir, "config", config)),
        credentials_file: Some(write(dir, "credentials", credentials)),
        container: false,
        instance_metadata: false,
        ..ChainSettings::default()
    }
}

async fn resolve(settings: ChainSettings) -> Result<Credentials, CredentialsError> {
    CredentialsProvider::new(settings, Some("us-east-1".into()))
        .await
        .credentials()
        .await
}

const CREDENTIALS_FILE: &str = "\
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

[dev]
aws_access_key_id = AKIDDEV
aws_secret_access_key = dev-secret
aws_session_token = dev-token
";

const CONFIG_FILE: &str = "\
[default]
region = eu-west-1

[profile cfg]
aws_access_key_id = AKIDCFG
aws_secret_access_key = cfg-secret
region = ap-southeast-2

[profile proc]
credential_process = /bin/echo should-never-run

[profile role-over-proc]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = proc

[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = ReadOnly
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
";

// --- in-process: explicit files and profile ---------------------------------------------------

#[tokio::test]
async fn static_keys_from_the_credentials_file_for_the_named_profile() {
    let dir = temp_dir("static");
    let c = resolve(offline(&dir, "dev", CONFIG_FILE, CREDENTIALS_FILE))
        .await
        .unwrap();
    assert_eq!(c.access_key_id(), "AKIDDEV");
    assert_eq!(c.secret_access_key(), "dev-secret");
    assert_eq!(c.session_token(), Some("dev-token"));

    let c = resolve(offline(&dir, "default", CONFIG_FILE, CREDENTIALS_FILE))
        .await
        .unwrap();
    assert_eq!(c.access_key_id(), "AKIDDEFAULT");
}

#[tokio::test]
async fn static_keys_from_the_config_file() {
    let dir = temp_dir("cfg");
    let c = resolve(offline(&dir, "cfg", CONFIG_FILE, ""))
        .await
        .unwrap();
    assert_eq!(c.access_key_id(), "AKIDCFG");
}

#[tokio::test]
async fn unknown_profile_is_a_clear_error() {
    let dir = temp_dir("unknown");
    let err = resolve(offline(&dir, "nope", CONFIG_FILE, CREDENTIALS_FILE))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`nope`"), "{text}");
    assert!(
        !text.contains("dev-secret") && !text.contains("default-secret"),
        "{text}"
    );
}

#[tokio::test]
async fn no_credentials_anywhere_is_a_clear_error() {
    let dir = temp_dir("none");
    let err = resolve(offline(
        &dir,
        "default",
        "[default]\nregion = us-east-1\n",
        "",
    ))
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`default`"), "{text}");
    assert!(
        matches!(
            err,
            CredentialsError::NotFound { .. } | CredentialsError::InvalidConfiguration { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn credential_process_profiles_are_refused() {
    let dir = temp_dir("proc");
    let err = resolve(offline(&dir, "proc", CONFIG_FILE, ""))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CredentialsError::CredentialProcessRefused {
            profile: "proc".into()
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("credential_process") && text.contains("never starts other programs"),
        "{text}"
    );

    // Also when the process sits behind a role's source_profile.
    let err = resolve(offline(&dir, "role-over-proc", CONFIG_FILE, ""))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CredentialsError::CredentialProcessRefused {
            profile: "proc".into()
        }
    );
}

#[tokio::test]
async fn credential_process_is_not_compiled_in() {
    // Even without our up-front check, aws-config must not be able to run the process:
    // the `credentials-process` feature stays off (guards against Cargo feature unification).
    let dir = temp_dir("feature");
    let settings = offline(&dir, "proc", CONFIG_FILE, "");
    let sdk_provider = || {
        aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name("proc")
            .profile_files(
                aws_runtime::env_config::file::EnvConfigFiles::builder()
                    .include_default_config_file(false)
                    .include_default_credentials_file(false)
                    .with_file(
                        aws_runtime::env_config::file::EnvConfigFileKind::Config,
                        settings.config_file.clone().unwrap(),
                    )
                    .build(),
            )
            .build()
    };
    let err = sdk_provider().provide_credentials().await.unwrap_err();
    let text = error_text(&err);
    assert!(text.contains("credentials-process"), "{text}");
    // And wrapped in our provider the message is ours.
    let wrapped = CredentialsProvider::from_provider(sdk_provider(), "proc", &settings);
    let err = wrapped.credentials().await.unwrap_err();
    assert_eq!(
        err,
        CredentialsError::CredentialProcessRefused {
            profile: "proc".into()
        }
    );
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[tokio::test]
async fn region_from_the_named_profile() {
    let dir = temp_dir("region");
    let settings = offline(&dir, "cfg", CONFIG_FILE, "");
    // The environment's AWS_REGION would win; this process's environment is not ours to
    // change, so only check the profile when it is unset (the child-process tests cover both).
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        assert_eq!(
            resolve_region(&settings).await.as_deref(),
            Some("ap-southeast-2")
        );
    }
}

// --- caching and refresh ----------------------------------------------------------------------

/// Hands out credentials with a fixed lifetime and counts the calls; can be told to fail.
#[derive(Debug, Clone)]
struct Scripted {
    calls: Arc<AtomicUsize>,
    lifetime: Option<Duration>,
    fail_after: usize,
}

impl ProvideCredentials for Scripted {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.fail_after {
            return future::ProvideCredentials::ready(Err(
                aws_credential_types::provider::error::CredentialsError::provider_error(
                    "STS is down",
                ),
            ));
        }
        let expiry = self.lifetime.map(|d| SystemTime::now() + d);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKID{n}"),
            "secret",
            Some("token".into()),
            expiry,
            "scripted",
        )))
    }
}

fn scripted(lifetime: Option<Duration>, fail_after: usize) -> (Scripted, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Scripted {
            calls: calls.clone(),
            lifetime,
            fail_after,
        },
        calls,
    )
}

#[tokio::test]
async fn credentials_are_resolved_once_and_cached() {
    let (p, calls) = scripted(Some(Duration::from_secs(3600)), usize::MAX);
    let provider = CredentialsProvider::from_provider(p, "test", &ChainSettings::default());
    for _ in 0..5 {
        assert_eq!(
            provider.credentials().await.unwrap().access_key_id(),
            "AKID1"
        );
    }
    // Clones share the cache.
    let clone = provider.clone();
    assert_eq!(clone.credentials().await.unwrap().access_key_id(), "AKID1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (p, calls) = scripted(None, usize::MAX);
    let provider = CredentialsProvider::from_provider(p, "test", &ChainSettings::default());
    provider.credentials().await.unwrap();
    provider.credentials().await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "credentials without expiry are kept"
    );
}

#[tokio::test]
async fn expiring_credentials_are_refreshed_before_expiry() {
    // Valid for 2 minutes, refresh margin 5 minutes: each call fetches new ones.
    let (p, calls) = scripted(Some(Duration::from_secs(120)), usize::MAX);
    let provider = CredentialsProvider::from_provider(p, "test", &ChainSettings::default());
    assert_eq!(
        provider.credentials().await.unwrap().access_key_id(),
        "AKID1"
    );
    assert_eq!(
        provider.credentials().await.unwrap().access_key_id(),
        "AKID2"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failed_refresh_keeps_unexpired_credentials_then_reports_the_error() {
    let (p, calls) = scripted(Some(Duration::from_secs(120)), 1);
    let provider = CredentialsProvider::from_provider(p, "ops", &ChainSettings::default());
    let key = || async {
        provider
            .credentials()
            .await
            .unwrap()
            .access_key_id()
            .to_string()
    };
    assert_eq!(key().await, "AKID1");
    // Refresh fails, but AKID1 is still valid for ~2 minutes.
    assert_eq!(key().await, "AKID1");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Right after a failure the source is not asked again on every call.
    assert_eq!(key().await, "AKID1");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let (p, _) = scripted(Some(Duration::from_secs(120)), 0);
    let provider = CredentialsProvider::from_provider(p, "ops", &ChainSettings::default());
    let err = provider.credentials().await.unwrap_err();
    assert!(
        matches!(err, CredentialsError::Provider { ref profile, .. } if profile == "ops"),
        "{err:?}"
    );
    assert!(err.to_string().contains("STS is down"), "{err}");
}

#[tokio::test]
async fn secrets_never_show_in_debug_output() {
    let dir = temp_dir("debug");
    let settings = offline(&dir, "dev", CONFIG_FILE, CREDENTIALS_FILE);
    let provider = CredentialsProvider::new(settings, None).await;
    let c = provider.credentials().await.unwrap();
    let dbg = format!("{c:?} {provider:?}");
    assert!(
        !dbg.contains("dev-secret") && !dbg.contains("dev-token"),
        "{dbg}"
    );
    assert!(dbg.contains("AKIDDEV"), "the key id is not secret: {dbg}");
}

// --- child-process scenarios (environment variables) -------------------------------------------

/// Runs `child_scenario` in a child process with exactly these environment variables;
/// returns its `OUTCOME=` line.
fn run_child(scenario: &str, vars: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_scenario",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("PORTCULLIS_TEST_SCENARIO", scenario)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.find("OUTCOME=").map(|i| &l[i + "OUTCOME=".len()..]))
        .unwrap_or_else(|| panic!("no outcome in:\n{stdout}"))
        .to_string()
}

#[test]
#[ignore = "runs in a child process started by the other tests"]
fn child_scenario() {
    let Ok(scenario) = std::env::var("PORTCULLIS_TEST_SCENARIO") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let settings = ChainSettings {
            profile: std::env::var("PORTCULLIS_TEST_PROFILE").ok(),
            container: false,
            instance_metadata: false,
            resolve_timeout: Duration::from_secs(10),
            ..ChainSettings::default()
        };
        match scenario.as_str() {
            "credentials" => {
                let region = resolve_region(&settings).await;
                let provider = CredentialsProvider::new(settings, region).await;
                match provider.credentials().await {
                    Ok(c) => println!("OUTCOME=OK {} {}", provider.profile(), c.access_key_id()),
                    Err(e) => println!("OUTCOME=ERR {e}"),
                }
            }
            "region" => println!(
                "OUTCOME={}",
                resolve_region(&settings).await.unwrap_or_default()
            ),
            other => panic!("unknown scenario {other}"),
        }
    });
}

struct Home {
    dir: TempDir,
}

impl Home {
    /// A HOME with `~/.aws/config` and `~/.aws/credentials`.
    fn new(tag: &str) -> Self {
        let dir = temp_dir(tag);
        write(&dir, ".aws/config", CONFIG_FILE);
        write(&dir, ".aws/credentials", CREDENTIALS_FILE);
        Home { dir }
    }

    fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

#[test]
fn environment_keys_come_first_without_an_explicit_profile() {
    let home = Home::new("env");
    let out = run_child(
        "credentials",
        &[
            ("HOME", home.path()),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    assert_eq!(out, "OK default AKIDENV");
}

#[test]
fn default_files_under_home_are_read() {
    let home = Home::new("home");
    assert_eq!(
        run_child("credentials", &[("HOME", home.path())]),
        "OK default AKIDDEFAULT"
    );
}

#[test]
fn aws_profile_selects_the_profile() {
    let home = Home::new("awsprofile");
    let out = run_child(
        "credentials",
        &[("HOME", home.path()), ("AWS_PROFILE", "dev")],
    );
    assert_eq!(out, "OK dev AKIDDEV");
}

#[test]
fn explicit_profile_wins_over_environment_keys() {
    let home = Home::new("explicit");
    let out = run_child(
        "credentials",
        &[
            ("HOME", home.path()),
            ("PORTCULLIS_TEST_PROFILE", "dev"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    assert_eq!(out, "OK dev AKIDDEV");
}

#[test]
fn config_and_credentials_file_variables_are_honoured() {
    let home = temp_dir("envfiles-home");
    let elsewhere = temp_dir("envfiles");
    let config = write(&elsewhere, "my-config", CONFIG_FILE);
    let creds = write(&elsewhere, "my-credentials", CREDENTIALS_FILE);
    let out = run_child(
        "credentials",
        &[
            ("HOME", home.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_PROFILE", "dev"),
        ],
    );
    assert_eq!(out, "OK dev AKIDDEV");
    let out = run_child(
        "credentials",
        &[
            ("HOME", home.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_PROFILE", "cfg"),
        ],
    );
    assert_eq!(out, "OK cfg AKIDCFG");
}

#[test]
fn missing_credentials_name_the_profile_and_the_sources() {
    let home = temp_dir("empty-home");
    let out = run_child("credentials", &[("HOME", home.to_str().unwrap())]);
    assert!(
        out.starts_with("ERR no AWS credentials found for profile `default`"),
        "{out}"
    );
    assert!(
        out.contains("environment") && out.contains("profile"),
        "{out}"
    );
}

#[test]
fn credential_process_profile_is_refused_but_environment_keys_still_win() {
    let home = Home::new("proc");
    let out = run_child(
        "credentials",
        &[("HOME", home.path()), ("AWS_PROFILE", "proc")],
    );
    assert!(
        out.starts_with("ERR profile `proc` gets its credentials from `credential_process`"),
        "{out}"
    );
    // As in the SDKs, environment keys come before the profile (named by AWS_PROFILE):
    // the process is never considered.
    let out = run_child(
        "credentials",
        &[
            ("HOME", home.path()),
            ("AWS_PROFILE", "proc"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    assert_eq!(out, "OK proc AKIDENV");
}

#[test]
fn sso_without_a_cached_token_fails_without_prompting() {
    let home = Home::new("sso");
    let out = run_child(
        "credentials",
        &[("HOME", home.path()), ("AWS_PROFILE", "sso")],
    );
    assert!(out.starts_with("ERR "), "{out}");
    assert!(out.contains("`sso`"), "{out}");
}

#[test]
fn region_resolution_order() {
    let home = Home::new("region");
    assert_eq!(run_child("region", &[("HOME", home.path())]), "eu-west-1");
    assert_eq!(
        run_child("region", &[("HOME", home.path()), ("AWS_PROFILE", "cfg")]),
        "ap-southeast-2"
    );
    assert_eq!(
        run_child(
            "region",
            &[("HOME", home.path()), ("PORTCULLIS_TEST_PROFILE", "cfg")]
        ),
        "ap-southeast-2"
    );
    assert_eq!(
        run_child(
            "region",
            &[
                ("HOME", home.path()),
                ("AWS_PROFILE", "cfg"),
                ("AWS_REGION", "sa-east-1")
            ]
        ),
        "sa-east-1"
    );
    assert_eq!(
        run_child(
            "region",
            &[
                ("HOME", home.path()),
                ("AWS_DEFAULT_REGION", "ca-central-1")
            ]
        ),
        "ca-central-1"
    );
    let empty = temp_dir("region-empty");
    assert_eq!(
        run_child("region", &[("HOME", empty.to_str().unwrap())]),
        ""
    );
}
