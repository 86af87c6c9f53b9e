//! Per-user AWS identity: with OAuth role mappings, each user's commands run as that user's role,
//! assumed (`sts:AssumeRole`) with the server's credentials, with `SourceIdentity` = the user, the
//! user and issuer as session tags, and the scoped-credentials session policy when the server has
//! one. Sessions are cached per (user, role) and renewed five minutes before they expire (the
//! engine's credentials cache); one user's session never serves another. A role that cannot be
//! assumed fails that user's command, with the reason; nothing falls back to the server's
//! credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_wire::execute::Engine;

/// The most (user, role) sessions kept; the least recently used is dropped beyond it.
const MAX_SESSIONS: usize = 4096;
/// How long each assumed session lasts (AWS's default; the role's maximum may be lower than more).
const SESSION_DURATION: Duration = Duration::from_secs(3600);

/// Who a command runs as: the role mapped to the user, and the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The OAuth subject (`sub`).
    pub subject: String,
    /// The OAuth issuer (`iss`).
    pub issuer: String,
}

struct Session {
    cell: Arc<tokio::sync::OnceCell<Arc<Engine>>>,
    arn: Option<String>,
    used: std::time::Instant,
}

/// The sessions assumed so far.
#[derive(Default)]
pub struct UserSessions {
    sessions: Mutex<HashMap<UserRole, Session>>,
}

impl UserSessions {
    /// `role`'s engine, assumed with `base` on first use.
    pub async fn engine(
        &self,
        base: &Arc<Engine>,
        role: &UserRole,
        scoped: Option<&crate::scope::SessionPolicy>,
    ) -> Result<Arc<Engine>, String> {
        let cell = {
            let mut sessions = self.lock();
            if !sessions.contains_key(role) && sessions.len() >= MAX_SESSIONS {
                let oldest = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.used)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    sessions.remove(&k);
                }
            }
            let s = sessions.entry(role.clone()).or_insert_with(|| Session {
                cell: Arc::new(tokio::sync::OnceCell::new()),
                arn: None,
                used: std::time::Instant::now(),
            });
            s.used = std::time::Instant::now();
            Arc::clone(&s.cell)
        };
        let engine = cell
            .get_or_try_init(|| async {
                let spec = spec(role, scoped);
                let (engine, session) = Engine::assume_role_from(Arc::clone(base), spec)
                    .await
                    .map_err(|e| format!("cannot assume your role {}: {e}", role.role_arn))?;
                tracing::info!(
                    "portcullis: assumed {} for {}#{} (SourceIdentity {})",
                    session.arn,
                    role.issuer,
                    role.subject,
                    source_identity(&role.subject)
                );
                if let Some(s) = self.lock().get_mut(role) {
                    s.arn = Some(session.arn.clone());
                }
                Ok::<_, String>(Arc::new(engine))
            })
            .await?;
        Ok(Arc::clone(engine))
    }

    /// The session ARN of `role`, once assumed.
    pub fn arn(&self, role: &UserRole) -> Option<String> {
        self.lock().get(role).and_then(|s| s.arn.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserRole, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `SourceIdentity` of a user: 2 to 64 of `[A-Za-z0-9_+=,.@-]` (others dropped).
pub fn source_identity(subject: &str) -> String {
    let clean: String = subject
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(64)
        .collect();
    if clean.len() < 2 {
        format!("user-{clean}")
    } else {
        clean
    }
}

/// A session tag value: up to 256 of letters, digits, spaces and `_.:/=+-@`.
fn tag_value(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(*c))
        .take(256)
        .collect()
}

fn spec(
    role: &UserRole,
    scoped: Option<&crate::scope::SessionPolicy>,
) -> portcullis_wire::assume::AssumeRoleSpec {
    let identity = source_identity(&role.subject);
    let session_name: String = format!("portcullis-{identity}").chars().take(64).collect();
    portcullis_wire::assume::AssumeRoleSpec {
        role_arn: role.role_arn.clone(),
        session_name,
        policy: scoped.map(crate::scope::SessionPolicy::inline),
        policy_arns: scoped.map(|p| p.managed.clone()).unwrap_or_default(),
        source_identity: Some(identity),
        tags: vec![
            ("portcullis-user".into(), tag_value(&role.subject)),
            ("portcullis-issuer".into(), tag_value(&role.issuer)),
        ],
        duration: SESSION_DURATION,
        refresh_margin: portcullis_wire::credentials::ChainSettings::default().refresh_margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_and_tags_fit_aws() {
        assert_eq!(source_identity("alice"), "alice");
        assert_eq!(source_identity("a"), "user-a");
        assert_eq!(source_identity("j doe/é#1"), "jdoe1");
        assert_eq!(source_identity(&"x".repeat(100)).len(), 64);
        let s = spec(
            &UserRole {
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                subject: "alice".into(),
                issuer: "https://id.example".into(),
            },
            None,
        );
        assert_eq!(s.session_name, "portcullis-alice");
        assert_eq!(s.source_identity.as_deref(), Some("alice"));
        assert_eq!(
            s.tags,
            [
                ("portcullis-user".to_string(), "alice".to_string()),
                (
                    "portcullis-issuer".to_string(),
                    "https://id.example".to_string()
                )
            ]
        );
        assert!(s.policy.is_none());
    }
}
