//! Scoped credentials: the engine's calls signed with a role session Portcullis assumes itself
//! (`sts:AssumeRole` through the same engine, with a session policy, `SourceIdentity` and session
//! tags), refreshed before they expire.
//!
//! [`Engine::assume_role`] takes an engine holding the base credentials and returns one whose
//! credentials come from [`AssumeRoleSpec`]: the first session is assumed there and then (a
//! refusal stops start-up), later ones by the [`CredentialsProvider`] cache, five minutes before
//! expiry. A failed refresh keeps serving the current session while it is valid, then every
//! signed call fails with the reason (fail closed: never the base credentials).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use serde_json::{Value, json};

use crate::credentials::{ChainSettings, Credentials, CredentialsProvider};
use crate::execute::{Engine, ExecError};
use crate::protocol::timestamp::Timestamp;

/// What to assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleSpec {
    pub role_arn: String,
    /// `RoleSessionName` (2–64 of `[\w+=,.@-]`).
    pub session_name: String,
    /// The inline session policy, minified JSON.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
    /// `SourceIdentity`: set once, it stays on the session and every role chained from it.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Vec<(String, String)>,
    /// `DurationSeconds` (900 up to the role's maximum).
    pub duration: Duration,
    /// A new session is assumed when the current one has less than this left (the SDKs' 5
    /// minutes: [`ChainSettings::default`]).
    pub refresh_margin: Duration,
}

/// A session assumed: who it is and until when (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedSession {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    pub expires: Option<SystemTime>,
    /// `PackedPolicySize`: how close the policies and tags are to AWS's packed limit, percent.
    pub packed_policy_size: Option<u64>,
}

struct AssumeRoleProvider {
    base: Arc<Engine>,
    spec: AssumeRoleSpec,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AssumeFailed(String);

impl AssumeRoleProvider {
    fn call(&self) -> Result<portcullis_cli::OperationCall, String> {
        let parser = portcullis_cli::Parser::new(&portcullis_cli::DenyAll);
        let mut call = match parser.parse(
            "aws sts assume-role --role-arn arn:aws:iam::000000000000:role/placeholder --role-session-name placeholder",
        ) {
            Ok(portcullis_cli::Command::Call(call)) => call,
            Ok(_) => return Err("`aws sts assume-role` is not an API call here".into()),
            Err(e) => return Err(e.to_string()),
        };
        let s = &self.spec;
        let mut params = json!({
            "RoleArn": s.role_arn,
            "RoleSessionName": s.session_name,
            "DurationSeconds": s.duration.as_secs(),
        });
        if let Some(policy) = &s.policy {
            params["Policy"] = json!(policy);
        }
        if !s.policy_arns.is_empty() {
            params["PolicyArns"] = s.policy_arns.iter().map(|a| json!({"arn": a})).collect();
        }
        if let Some(id) = &s.source_identity {
            params["SourceIdentity"] = json!(id);
        }
        if !s.tags.is_empty() {
            params["Tags"] = s
                .tags
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect();
        }
        if let Value::Object(map) = params {
            call.params = map
                .into_iter()
                .map(|(k, v)| (k, portcullis_cli::Value::from_json(v)))
                .collect();
        }
        Ok(call)
    }

    async fn assume(&self) -> Result<(Credentials, AssumedSession), String> {
        let call = self.call()?;
        let out = self
            .base
            .execute(&call, &portcullis_cli::DenyAll)
            .await
            .map_err(|e| format!("sts:AssumeRole of {} failed: {e}", self.spec.role_arn))?;
        let c = &out.value["Credentials"];
        let field = |k: &str| {
            c[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("sts:AssumeRole returned no Credentials.{k}"))
        };
        let expires = c["Expiration"]
            .as_str()
            .and_then(Timestamp::parse)
            .and_then(|t| u64::try_from(t.secs).ok())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let creds = Credentials::new(
            field("AccessKeyId")?,
            field("SecretAccessKey")?,
            Some(field("SessionToken")?),
            expires,
            "portcullis-assume-role",
        );
        let session = AssumedSession {
            arn: out.value["AssumedRoleUser"]["Arn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            expires,
            packed_policy_size: out.value["PackedPolicySize"].as_u64(),
        };
        Ok((creds, session))
    }
}

impl std::fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("role_arn", &self.spec.role_arn)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.assume()
                .await
                .map(|(c, _)| c)
                .map_err(|e| SdkCredentialsError::provider_error(AssumeFailed(e)))
        })
    }
}

/// Temporary credentials for a program Portcullis hands them to (the gateway's upstreams): the
/// three values and when they expire. Debug never shows the secret or the token.
#[derive(Clone)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub session: AssumedSession,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// One session of `spec`, assumed with `base`'s credentials, as raw values (for a child process's
/// environment: the gateway gives an upstream a role's session, never its own credentials).
pub async fn assume_session(
    base: Arc<Engine>,
    spec: AssumeRoleSpec,
) -> Result<SessionCredentials, ExecError> {
    let role = spec.role_arn.clone();
    let provider = AssumeRoleProvider { base, spec };
    let (creds, session) = provider.assume().await.map_err(|detail| {
        ExecError::Credentials(crate::credentials::CredentialsError::Provider {
            profile: format!("role {role} (assumed by Portcullis)"),
            detail,
        })
    })?;
    Ok(SessionCredentials {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: creds.secret_access_key().to_string(),
        session_token: creds.session_token().unwrap_or_default().to_string(),
        session,
    })
}

impl Engine {
    /// This engine's configuration and endpoints, signing with sessions of `spec` assumed with
    /// this engine's credentials. The first session is assumed now: its refusal is the error.
    pub async fn assume_role(
        self,
        spec: AssumeRoleSpec,
    ) -> Result<(Engine, AssumedSession), ExecError> {
        Engine::assume_role_from(Arc::new(self), spec).await
    }

    /// [`Engine::assume_role`] with a base engine that stays in use (per-user sessions, all
    /// assumed with the server's credentials).
    pub async fn assume_role_from(
        base: Arc<Engine>,
        spec: AssumeRoleSpec,
    ) -> Result<(Engine, AssumedSession), ExecError> {
        let config = base.config().clone();
        let provider = AssumeRoleProvider { base, spec };
        let label = format!("role {} (assumed by Portcullis)", provider.spec.role_arn);
        let (first, session) = provider.assume().await.map_err(|detail| {
            ExecError::Credentials(crate::credentials::CredentialsError::Provider {
                profile: label.clone(),
                detail,
            })
        })?;
        let settings = ChainSettings {
            refresh_margin: provider.spec.refresh_margin,
            ..ChainSettings::default()
        };
        let cache = CredentialsProvider::from_provider(provider, label, &settings);
        cache.seed(first).await;
        Ok((Engine::new(config, Some(cache))?, session))
    }
}
