//! The output of the decide stage.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Run it.
    Allow,
    /// Run it only after a person approves this exact request.
    Consent,
    /// Do not run it.
    Deny,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Allow => "allow",
            Outcome::Consent => "consent",
            Outcome::Deny => "deny",
        })
    }
}

/// A decision with its reasons and the rules that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Allow, Consent or Deny.
    pub outcome: Outcome,
    /// Actionable explanations: what matched and what to change.
    pub reasons: Vec<String>,
    /// The ids of the rules that decided (`mode:guarded`, `global:profile`, a rule's own id, ...).
    pub rule_ids: Vec<String>,
    /// In shadow mode, what the policy would have decided had it been enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would_have: Option<Outcome>,
}

impl Decision {
    pub(crate) fn new(outcome: Outcome) -> Self {
        Decision {
            outcome,
            reasons: Vec::new(),
            rule_ids: Vec::new(),
            would_have: None,
        }
    }

    /// Add a reason and the id of the rule behind it.
    pub(crate) fn because(mut self, rule_id: impl Into<String>, reason: impl Into<String>) -> Self {
        self.push(rule_id, reason);
        self
    }

    pub(crate) fn push(&mut self, rule_id: impl Into<String>, reason: impl Into<String>) {
        let id = rule_id.into();
        if !self.rule_ids.contains(&id) {
            self.rule_ids.push(id);
        }
        self.reasons.push(reason.into());
    }

    /// The decision on a command answered locally, which sends nothing to AWS
    /// (`--generate-cli-skeleton`, like `aws ... help`): allowed without a rule, in every mode.
    pub fn local(what: &str) -> Self {
        Decision::new(Outcome::Allow).because(
            "local",
            format!("{what} is answered locally and sends nothing to AWS"),
        )
    }

    /// `true` when the request may run without asking.
    pub fn is_allow(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// `true` when the request needs approval.
    pub fn is_consent(&self) -> bool {
        self.outcome == Outcome::Consent
    }

    /// `true` when the request must not run.
    pub fn is_deny(&self) -> bool {
        self.outcome == Outcome::Deny
    }
}
