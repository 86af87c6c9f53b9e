//! The principal making a request: an IAM user, a role session, an STS federated user session,
//! the account root user, an AWS service or an anonymous caller.
//!
//! From the ARN the evaluator knows the principal's account, the role behind a role session (for
//! `Principal` elements that name the role) and the context keys AWS always sets for such a
//! principal (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`,
//! `aws:PrincipalIsAWSService`; see
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>).
//! Values the caller puts in the [`Context`](crate::Context) take precedence over these.

use std::fmt;

/// What kind of principal makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::111122223333:root`).
    Root,
    /// An IAM user (`arn:aws:iam::111122223333:user/path/name`).
    User,
    /// A role session (`arn:aws:sts::111122223333:assumed-role/role-name/session-name`).
    RoleSession,
    /// An STS federated user session from `GetFederationToken`
    /// (`arn:aws:sts::111122223333:federated-user/name`).
    FederatedUser,
    /// An AWS service principal (`cloudtrail.amazonaws.com`).
    Service,
    /// An unauthenticated caller.
    Anonymous,
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalKind::Root => "root user",
            PrincipalKind::User => "IAM user",
            PrincipalKind::RoleSession => "role session",
            PrincipalKind::FederatedUser => "federated user session",
            PrincipalKind::Service => "service principal",
            PrincipalKind::Anonymous => "anonymous caller",
        })
    }
}

/// An ARN that names no principal that can make a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a principal ARN: {arn:?} ({why})")]
pub struct PrincipalError {
    /// The ARN as given.
    pub arn: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The principal making a request. Build it with [`Principal::from_arn`], [`Principal::service`]
/// or [`Principal::anonymous`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    kind: PrincipalKind,
    arn: String,
    account: String,
    /// Role sessions: the role's ARN; federated users: the ARN of the IAM user who federated.
    parent: Option<String>,
    /// Context keys AWS sets for this principal (lowercase key, value).
    derived: Vec<(&'static str, Vec<String>)>,
}

impl Principal {
    /// Reads a principal from its ARN: a user, a role session (`sts` `assumed-role`), a federated
    /// user session (`sts` `federated-user`) or the account root user. A role's own ARN is refused:
    /// requests are made by its sessions.
    pub fn from_arn(arn: &str) -> Result<Principal, PrincipalError> {
        let err = |why| PrincipalError {
            arn: arn.to_string(),
            why,
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(err(
                "expected arn:partition:service:region:account:resource",
            ));
        };
        if *prefix != "arn" || partition.is_empty() {
            return Err(err("expected arn:partition:..."));
        }
        if !region.is_empty() {
            return Err(err("IAM and STS principal ARNs have no region"));
        }
        if account.is_empty() {
            return Err(err("no account"));
        }
        let (kind, parent) = match (*service, *resource) {
            ("iam", "root") => (PrincipalKind::Root, None),
            ("iam", r) if r.starts_with("user/") && r.len() > 5 => (PrincipalKind::User, None),
            ("iam", r) if r.starts_with("role/") => {
                return Err(err(
                    "a role makes requests through its sessions: use arn:...:sts::ACCOUNT:assumed-role/ROLE/SESSION",
                ));
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut it = r["assumed-role/".len()..].splitn(2, '/');
                let role = it.next().unwrap_or_default();
                let session = it.next().unwrap_or_default();
                if role.is_empty() || session.is_empty() {
                    return Err(err("expected assumed-role/ROLE/SESSION"));
                }
                (
                    PrincipalKind::RoleSession,
                    Some(format!("arn:{partition}:iam::{account}:role/{role}")),
                )
            }
            ("sts", r) if r.starts_with("federated-user/") && r.len() > 15 => {
                let name = &r["federated-user/".len()..];
                (
                    PrincipalKind::FederatedUser,
                    Some(format!("arn:{partition}:iam::{account}:user/{name}")),
                )
            }
            _ => return Err(err("not a user, role session, federated user or root ARN")),
        };
        let mut p = Principal {
            kind,
            arn: arn.to_string(),
            account: account.to_string(),
            parent,
            derived: Vec::new(),
        };
        p.derive();
        Ok(p)
    }

    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    pub fn service(name: &str) -> Principal {
        Principal {
            kind: PrincipalKind::Service,
            arn: name.to_string(),
            account: String::new(),
            parent: None,
            derived: vec![("aws:principalisawsservice", vec!["true".into()])],
        }
    }

    /// An unauthenticated (anonymous) caller.
    pub fn anonymous() -> Principal {
        Principal {
            kind: PrincipalKind::Anonymous,
            arn: "*".to_string(),
            account: String::new(),
            parent: None,
            derived: vec![
                ("aws:principalaccount", vec!["anonymous".into()]),
                ("aws:principaltype", vec!["Anonymous".into()]),
            ],
        }
    }

    /// For a role session: the role's full ARN (with its path, which the session ARN lacks). It
    /// becomes the `aws:PrincipalArn` value. Ignored for other kinds.
    pub fn with_role_arn(mut self, role_arn: &str) -> Principal {
        if self.kind == PrincipalKind::RoleSession {
            self.parent = Some(role_arn.to_string());
            self.derive();
        }
        self
    }

    fn derive(&mut self) {
        let mut d: Vec<(&'static str, Vec<String>)> = Vec::new();
        let principal_arn = match self.kind {
            PrincipalKind::RoleSession => self.parent.clone().unwrap_or_default(),
            _ => self.arn.clone(),
        };
        d.push(("aws:principalarn", vec![principal_arn]));
        d.push(("aws:principalaccount", vec![self.account.clone()]));
        let ty = match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::RoleSession => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Service | PrincipalKind::Anonymous => "",
        };
        d.push(("aws:principaltype", vec![ty.to_string()]));
        if self.kind == PrincipalKind::User
            && let Some(name) = self.arn.rsplit('/').next()
        {
            d.push(("aws:username", vec![name.to_string()]));
        }
        d.push(("aws:principalisawsservice", vec!["false".into()]));
        self.derived = d;
    }

    /// The kind of principal.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The ARN as given (the session ARN for sessions; the name for a service; `*` if anonymous).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The principal's account (empty for services and anonymous callers).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Role sessions: the role's ARN; federated user sessions: the IAM user who federated.
    pub fn parent_arn(&self) -> Option<&str> {
        self.parent.as_deref()
    }

    /// True for role sessions and federated user sessions, which session policies can limit.
    pub fn is_session(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::RoleSession | PrincipalKind::FederatedUser
        )
    }

    /// True for principals that belong to an account (users, sessions, root).
    pub fn is_aws_account_principal(&self) -> bool {
        !matches!(self.kind, PrincipalKind::Service | PrincipalKind::Anonymous)
    }

    /// The value AWS sets for `key` (lowercase) for this principal, if any.
    pub(crate) fn derived(&self, key: &str) -> Option<&[String]> {
        self.derived
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The role's name for a role session (last segment of the role ARN).
    pub(crate) fn role_name(&self) -> Option<&str> {
        match self.kind {
            PrincipalKind::RoleSession => self.parent.as_deref()?.rsplit('/').next(),
            _ => None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.arn)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    #[test]
    fn kinds_from_arns() {
        let u = Principal::from_arn("arn:aws:iam::111122223333:user/division/Bob").unwrap();
        assert_eq!(u.kind(), PrincipalKind::User);
        assert_eq!(u.derived("aws:username").unwrap(), ["Bob"]);
        let s = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/R/s1").unwrap();
        assert_eq!(s.kind(), PrincipalKind::RoleSession);
        assert_eq!(s.parent_arn(), Some("arn:aws:iam::111122223333:role/R"));
        assert_eq!(
            s.derived("aws:principalarn").unwrap(),
            ["arn:aws:iam::111122223333:role/R"]
        );
        let s = s.with_role_arn("arn:aws:iam::111122223333:role/path/R");
        assert_eq!(s.role_name(), Some("R"));
        let f = Principal::from_arn("arn:aws:sts::111122223333:federated-user/Jo").unwrap();
        assert_eq!(f.parent_arn(), Some("arn:aws:iam::111122223333:user/Jo"));
        let r = Principal::from_arn("arn:aws:iam::111122223333:root").unwrap();
        assert_eq!(r.kind(), PrincipalKind::Root);
        assert_eq!(r.derived("aws:principaltype").unwrap(), ["Account"]);
    }

    #[test]
    fn bad_arns() {
        for a in [
            "",
            "arn",
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:iam::111122223333:group/G",
            "arn:aws:s3:::bucket",
            "arn:aws:sts::111122223333:assumed-role/R",
            "arn:aws:iam:::user/x",
            "arn:aws:iam:us-east-1:111122223333:user/x",
        ] {
            assert!(Principal::from_arn(a).is_err(), "{a}");
        }
    }
}
