//! # portcullis-iam-eval
//!
//! Brief overview: a pure IAM policy evaluator (no I/O). Given the policies that apply to one
//! principal and one request, it answers as AWS's documented policy evaluation logic does —
//! allow, explicit deny or implicit deny — or, when the request context is only partly known,
//! says exactly which context keys the answer depends on.
//!
//! * [`Policy::parse`] reads a policy document (versions 2012-10-17 and 2008-10-17, `Statement`
//!   as one object or an array, string-or-array fields) and compiles it once: lowercased action
//!   patterns, wildcard resource patterns, parsed condition operators and values. Bad documents
//!   give a [`ParseError`] with the path of the offending element; nothing panics.
//! * [`PolicySet`] holds identity-based policies, the permissions boundary, session policies, SCP
//!   and RCP levels and resource-based policies; [`PolicySet::evaluate`] takes a [`Request`]
//!   (a [`Principal`], an action, a resource ARN, a [`Context`]) and returns an [`Evaluation`]:
//!   the [`Decision`], the [`StatementRef`]s that decided and a short reason.
//! * [`Context`] holds the known condition keys (case-insensitive, multivalued) and the keys
//!   declared unknown; [`Absent`] says what an unlisted key means: truly missing from the request,
//!   or unknown. A decision that hinges on an unknown key is [`Decision::Conditional`], never a
//!   guess.
//! * [`NO_PERMISSION_ACTIONS`] lists the actions that need no permission
//!   (`sts:GetCallerIdentity`, `sts:GetSessionToken`).
//!
//! Covered: `Allow`/`Deny`; `Action`/`NotAction` (case-insensitive `*` and `?`);
//! `Resource`/`NotResource` (case-sensitive `*` and `?`, `*` spanning `:` and `/`);
//! `Principal`/`NotPrincipal`; policy variables with defaults and `${*}`, `${?}`, `${$}`; every
//! condition operator (String, Numeric, Date, Bool, BinaryEquals, IpAddress, Arn, Null), each
//! with `...IfExists`, `ForAllValues:` and `ForAnyValue:`; same-account and cross-account rules
//! for resource-based policies, including the role / role session / user / federated user
//! nuances with boundaries and session policies.
//!
//! Part of Portcullis (the IAM control plane); it has no Portcullis-specific types, so another
//! project could use it alone, but its API follows what Portcullis needs and is not kept stable
//! for others.
//!
//! ```
//! use portcullis_iam_eval::{Absent, Context, Decision, Policy, PolicySet, Principal, Request};
//!
//! let read_only = Policy::parse("ReadOnly", r#"{
//!     "Version": "2012-10-17",
//!     "Statement": [
//!         {"Sid": "AllowRead", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
//!          "Resource": "arn:aws:s3:::reports/*",
//!          "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
//!         {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
//!          "Resource": "arn:aws:s3:::reports/secret/*"}
//!     ]
//! }"#).unwrap();
//! let policies = PolicySet::identity(vec![read_only]);
//! let alice = Principal::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
//!
//! let mut ctx = Context::new();
//! ctx.set("aws:SourceIp", "203.0.113.9");
//! let get = |resource, ctx| policies.evaluate(&Request::new(&alice, "s3:GetObject", resource, ctx));
//!
//! let e = get("arn:aws:s3:::reports/q1.csv", &ctx);
//! assert_eq!(e.decision, Decision::Allow);
//! assert_eq!(e.to_string(), r#"Allow (identity policy "ReadOnly" statement 0 "AllowRead")"#);
//! assert_eq!(get("arn:aws:s3:::reports/secret/k", &ctx).decision, Decision::ExplicitDeny);
//! assert_eq!(get("arn:aws:s3:::other/x", &ctx).decision, Decision::ImplicitDeny);
//!
//! // Offline, the source address is not known: the answer names the key it depends on.
//! let offline = Context::with_absent(Absent::Unknown);
//! let e = get("arn:aws:s3:::reports/q1.csv", &offline);
//! assert_eq!(e.decision, Decision::Conditional { keys: vec!["aws:SourceIp".into()] });
//! ```

#![forbid(unsafe_code)]

mod condition;
mod context;
mod evaluate;
mod matcher;
mod parse;
mod principal;
mod tri;
mod values;
mod variables;

pub use context::{Absent, Context};
pub use evaluate::{
    Decision, Evaluation, NO_PERMISSION_ACTIONS, PolicyKind, PolicySet, Request, StatementRef,
};
pub use parse::{Effect, ParseError, ParseErrorKind, Policy, PolicyVersion};
pub use principal::{Principal, PrincipalError, PrincipalKind};
