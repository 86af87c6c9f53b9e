//! The gateway's decide stage for proxied tools: deny, consent and allow rules on
//! `upstream__tool` names (`*` matches any run of characters), and the read/write classification
//! of each tool. An upstream's annotations (`readOnlyHint`, `destructiveHint`) are its *claims*:
//! the policy's `read_only` and `writes` lists override them, and a tool that claims nothing is a
//! write.

use rmcp::model::ToolAnnotations;

/// A `*` wildcard over prefixed tool names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPattern(String);

impl ToolPattern {
    /// A pattern: non-empty, printable, at most 200 characters.
    pub fn parse(s: &str) -> Result<ToolPattern, String> {
        if s.is_empty() {
            return Err("an empty pattern matches nothing; use `*` for every tool".into());
        }
        if s.len() > 200 || s.chars().any(char::is_control) {
            return Err(format!(
                "`{}` is not a tool pattern (at most 200 printable characters)",
                s.escape_debug()
            ));
        }
        if !s.contains(super::config::SEP) && s != "*" {
            return Err(format!(
                "`{s}` names no upstream: tools are named `upstream__tool` (e.g. `filesystem__write_file`, `dynamodb__*`)"
            ));
        }
        Ok(ToolPattern(s.to_string()))
    }

    /// Whether `name` matches (`*` any run, anything else literally).
    pub fn matches(&self, name: &str) -> bool {
        wildcard(self.0.as_bytes(), name.as_bytes())
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Linear-time `*` matching (greedy with one backtrack point).
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Whether a tool reads or writes, and who said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reads only.
    Read,
    /// Writes, or may.
    Write,
}

/// The decision on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Runs.
    Allow,
    /// Runs once a person approves this exact call.
    Consent,
    /// Never runs.
    Deny,
}

impl Verdict {
    /// As audit records write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Consent => "consent",
            Verdict::Deny => "deny",
        }
    }
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDecision {
    /// Allow, consent or deny.
    pub verdict: Verdict,
    /// Read or write.
    pub class: Class,
    /// Why, in words (the rule or the mode and the classification's source).
    pub reason: String,
    /// Whether a `deny`, `consent` or `allow` rule decided (not the mode).
    pub by_rule: bool,
}

impl ToolDecision {
    /// This decision combined with the Cedar policies' verdict: deny beats consent beats allow
    /// (a rule's or a policy's), and either beats the mode.
    pub fn with_cedar(self, cedar: Option<portcullis_policy::tools::ToolVerdict>) -> ToolDecision {
        use portcullis_policy::Effect;
        let Some(c) = cedar else { return self };
        let verdict = match c.effect {
            Effect::Deny => Verdict::Deny,
            Effect::Consent => Verdict::Consent,
            Effect::Allow => Verdict::Allow,
        };
        let rank = |v: Verdict| match v {
            Verdict::Deny => 3,
            Verdict::Consent => 2,
            Verdict::Allow => 1,
        };
        if self.by_rule && rank(self.verdict) >= rank(verdict) {
            return self;
        }
        ToolDecision {
            verdict,
            class: self.class,
            reason: c.reason,
            by_rule: true,
        }
    }
}

/// The rules of the `[policy]` table.
#[derive(Debug, Clone)]
pub struct ToolRules {
    /// What unnamed tools may do.
    pub mode: super::config::GatewayMode,
    /// Never called.
    pub deny: Vec<ToolPattern>,
    /// Approved per call.
    pub consent: Vec<ToolPattern>,
    /// Run without asking (reads or writes), unless denied or named for consent.
    pub allow: Option<Vec<ToolPattern>>,
    /// Classified as reads.
    pub read_only: Vec<ToolPattern>,
    /// Classified as writes.
    pub writes: Vec<ToolPattern>,
}

fn first<'a>(list: &'a [ToolPattern], name: &str) -> Option<&'a ToolPattern> {
    list.iter().find(|p| p.matches(name))
}

impl ToolRules {
    /// How `name` (prefixed) is classified, and the source of that in words.
    pub fn classify(&self, name: &str, annotations: Option<&ToolAnnotations>) -> (Class, String) {
        if let Some(p) = first(&self.writes, name) {
            return (
                Class::Write,
                format!("a write by `policy.writes` `{}`", p.as_str()),
            );
        }
        if let Some(p) = first(&self.read_only, name) {
            return (
                Class::Read,
                format!("a read by `policy.read_only` `{}`", p.as_str()),
            );
        }
        match annotations {
            Some(a) if a.destructive_hint == Some(true) => (
                Class::Write,
                "a write (the upstream marks it destructive)".into(),
            ),
            Some(a) if a.read_only_hint == Some(true) => {
                (Class::Read, "a read (the upstream's readOnlyHint)".into())
            }
            Some(a) if a.read_only_hint == Some(false) => (
                Class::Write,
                "a write (the upstream's readOnlyHint is false)".into(),
            ),
            _ => (
                Class::Write,
                "a write (the upstream does not claim it only reads)".into(),
            ),
        }
    }

    /// The decision on calling `name` (prefixed).
    pub fn decide(&self, name: &str, annotations: Option<&ToolAnnotations>) -> ToolDecision {
        use super::config::GatewayMode;
        let (class, why) = self.classify(name, annotations);
        let rule = |verdict, kind: &str, p: &ToolPattern| ToolDecision {
            verdict,
            class,
            reason: format!("`policy.{kind}` rule `{}`", p.as_str()),
            by_rule: true,
        };
        if let Some(p) = first(&self.deny, name) {
            return rule(Verdict::Deny, "deny", p);
        }
        if let Some(p) = first(&self.consent, name) {
            return rule(Verdict::Consent, "consent", p);
        }
        if let Some(p) = self.allow.as_deref().and_then(|a| first(a, name)) {
            return rule(Verdict::Allow, "allow", p);
        }
        let verdict = match (class, self.mode) {
            (Class::Read, _) | (Class::Write, GatewayMode::Allow) => Verdict::Allow,
            (Class::Write, GatewayMode::ConsentWrites) => Verdict::Consent,
            (Class::Write, GatewayMode::ReadOnly) => Verdict::Deny,
        };
        ToolDecision {
            verdict,
            class,
            reason: format!("mode {}: {why}", self.mode.as_str()),
            by_rule: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::GatewayMode;
    use super::*;

    fn p(s: &str) -> ToolPattern {
        ToolPattern::parse(s).unwrap()
    }

    fn rules(mode: GatewayMode) -> ToolRules {
        ToolRules {
            mode,
            deny: vec![p("fs__write_*")],
            consent: vec![p("ddb__delete_*")],
            allow: Some(vec![p("ddb__*"), p("fs__create_directory")]),
            read_only: vec![p("ev__echo")],
            writes: vec![p("iam__list_*")],
        }
    }

    fn read() -> ToolAnnotations {
        ToolAnnotations::new().read_only(true)
    }

    #[test]
    fn wildcards_match_whole_names() {
        assert!(p("fs__*").matches("fs__read_file"));
        assert!(!p("fs__*").matches("fsx__read_file"));
        assert!(p("*__delete_*").matches("ddb__delete_table"));
        assert!(p("a__*b*c").matches("a__xxbyyc"));
        assert!(!p("a__*b*c").matches("a__xxbyy"));
        assert!(ToolPattern::parse("").is_err());
        assert!(
            ToolPattern::parse("read_file")
                .unwrap_err()
                .contains("names no upstream")
        );
    }

    #[test]
    fn deny_then_consent_then_allow_then_the_mode() {
        let r = rules(GatewayMode::ConsentWrites);
        assert_eq!(
            r.decide("fs__write_file", Some(&read())).verdict,
            Verdict::Deny
        );
        assert_eq!(
            r.decide("ddb__delete_table", None).verdict,
            Verdict::Consent
        );
        assert_eq!(r.decide("ddb__put_item", None).verdict, Verdict::Allow);
        assert_eq!(
            r.decide("fs__read_file", Some(&read())).verdict,
            Verdict::Allow
        );
        let d = r.decide("fs__move_file", None);
        assert_eq!((d.verdict, d.class), (Verdict::Consent, Class::Write));
        assert!(d.reason.contains("does not claim"), "{}", d.reason);
        assert_eq!(
            rules(GatewayMode::ReadOnly)
                .decide("fs__move_file", None)
                .verdict,
            Verdict::Deny
        );
        assert_eq!(
            rules(GatewayMode::Allow)
                .decide("fs__move_file", None)
                .verdict,
            Verdict::Allow
        );
    }

    #[test]
    fn annotations_are_claims_the_policy_overrides() {
        let r = rules(GatewayMode::ReadOnly);
        // Claims to read, but the policy says it writes.
        assert_eq!(
            r.decide("iam__list_users", Some(&read())).verdict,
            Verdict::Deny
        );
        // Claims nothing, but the policy says it reads.
        assert_eq!(r.decide("ev__echo", None).verdict, Verdict::Allow);
        // Read-only and destructive at once: a write.
        let both = ToolAnnotations::new().read_only(true).destructive(true);
        assert_eq!(r.decide("x__y", Some(&both)).class, Class::Write);
    }
}
