//! # portcullis-blast
//!
//! Brief overview: the pure core of an IAM *blast-radius* report. Given the output of
//! `aws iam get-account-authorization-details`, it says for one user or role what its policies
//! let it reach, which risky capabilities it has, and what is left of them behind a gate such as
//! Portcullis's policy. No I/O, no network, no clock.
//!
//! * [`Export::parse`] reads the export (policy documents as JSON objects or URL-encoded
//!   strings); [`Export::assemble`] gathers one identity's [`PolicySet`](portcullis_iam_eval::PolicySet):
//!   inline and attached managed policies, a user's groups' policies, the permissions boundary.
//!   Policies it cannot read become [`Gap`]s, not errors.
//! * [`Report::new`] builds the report: the access map (per service and [`AccessLevel`]:
//!   [`Access::All`], [`Access::Some`], [`Access::Conditional`] with the keys, or none; how this
//!   is decided is explained on [`Access`] and summarised below) and the
//!   [`Finding`]s in five [`Category`]s (privilege escalation, data exfiltration, resource
//!   exposure, credential exposure, infrastructure destruction), each with the statements that
//!   grant it. [`Report::for_all`] does every user and role.
//! * [`Report::through`] annotates the map and findings with a [`Gate`] function's verdicts
//!   (open, consent, closed): a finding is closed when any of its actions is.
//! * Rendering: both reports serialize to JSON (serde); `Display` prints a terminal grid;
//!   [`render_html`] writes one self-contained HTML page.
//!
//! **All vs Some.** Every candidate action is evaluated with `portcullis-iam-eval` (so `Deny`,
//! `NotAction`, `NotResource`, boundaries and conditions are AWS's semantics) with every
//! condition key unknown. "All" means allowed on a synthetic ARN of each resource type the action
//! requires, built from the catalogue's ARN format with the principal's partition and account
//! and a sentinel that only wildcards match in every other field (region, names, IDs); "Some"
//! means allowed on one of the granting statements' own resource patterns; "Conditional" means
//! only conditionally allowed. Only actions that an `Allow` statement's `Action`/`NotAction` can
//! match are evaluated, which keeps a report to milliseconds.
//!
//! **Exfiltration breadth.** The data-exfiltration checks are high severity only when the
//! action is allowed on All (`*`, or a whole-service wildcard such as `arn:aws:s3:::*`);
//! conditionally allowed is medium; allowed on named resources only is low. See [`Finding`] for
//! every category's rule.
//!
//! Not covered: SCPs, RCPs, resource-based policies and session policies (the export has none);
//! `${...}` variables in resource patterns are not substituted when looking for "Some".
//!
//! ```
//! use portcullis_blast::{Access, Export, Gate, Report, render_html};
//! use portcullis_iam::AccessLevel;
//!
//! let export = Export::parse(r#"{
//!   "RoleDetailList": [{
//!     "RoleName": "builder", "Arn": "arn:aws:iam::111122223333:role/builder",
//!     "RolePolicyList": [{"PolicyName": "launch", "PolicyDocument": {
//!       "Version": "2012-10-17",
//!       "Statement": [
//!         {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
//!         {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
//!         {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}]}}],
//!     "AttachedManagedPolicies": []
//!   }]
//! }"#).unwrap();
//! let report = Report::new(&export, "builder").unwrap();
//! assert_eq!(report.cell("s3", AccessLevel::Read), Access::Some);
//! let esc = report.finding("privesc-passrole-ec2").unwrap();
//! assert_eq!(esc.scope, Access::All);
//! assert_eq!(esc.statements.len(), 2);
//!
//! // Behind a gate that refuses writes, the escalation path is closed.
//! let gated = report.through(|_action, level| {
//!     if level.is_read_only() { Gate::Open } else { Gate::Closed("read-only".into()) }
//! });
//! assert!(matches!(gated.finding("privesc-passrole-ec2").unwrap().gate, Gate::Closed(_)));
//! assert!(render_html(&gated, "builder").contains("<table>"));
//! ```

#![forbid(unsafe_code)]

mod access;
mod export;
mod findings;
mod render;
mod report;

pub use access::{Access, ActionAccess, Grant};
pub use export::{Assembled, Export, ExportError, Gap, Identity, IdentityKind, ReportError};
pub use findings::{Category, Finding, Severity};
pub use portcullis_iam::AccessLevel;
pub use render::{View, escape_html, render_html};
pub use report::{
    ActionGate, Gate, LevelAccess, PrincipalInfo, Report, ServiceAccess, ThroughFinding,
    ThroughLevel, ThroughReport, ThroughService, Verdict,
};
