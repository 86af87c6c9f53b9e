//! Wildcard patterns: `*` matches any run of characters (including none); nothing else is special.
//!
//! Two kinds, because the two namespaces compare differently:
//! * [`CommandPattern`] — `aws <service> [<operation>]`, matched word by word against the AWS CLI
//!   names, case-sensitively (the CLI is).
//! * [`ActionPattern`] — `service:Action`, matched against IAM actions case-insensitively (IAM is).
//!
//! Patterns are validated when a policy loads, so a bad one is a load error with its cause rather
//! than a rule that silently never matches. Matching is iterative (no recursion, no regex), bounded
//! by `pattern length × text length`, and works on bytes, so no input can make it panic.

use std::fmt;

// One `*` matcher for the policy and the engine's endpoint allow-list.
use portcullis_netaddr::wildcard as glob;

/// Longest pattern accepted (bytes): keeps matching bounded (invariant: everything has a bound).
pub const MAX_PATTERN_LEN: usize = 512;

fn check_len(source: &str) -> Result<(), String> {
    if source.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "pattern is longer than {MAX_PATTERN_LEN} bytes ({}); shorten it or split the rule",
            source.len()
        ));
    }
    Ok(())
}

/// Collapse runs of `*` (they mean the same as one and only cost time).
fn squeeze(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

/// A pattern over normalized AWS CLI commands: `aws <service> <operation>`, each word globbed.
///
/// `aws s3api` (no operation) means every operation of the service, like `aws s3api *`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPattern {
    source: String,
    service: String,
    operation: String,
}

impl CommandPattern {
    /// Parse and validate `aws <service> [<operation>]`.
    pub fn parse(source: &str) -> Result<Self, String> {
        check_len(source)?;
        let words: Vec<&str> = source.split_whitespace().collect();
        let Some((&first, rest)) = words.split_first() else {
            return Err(
                "empty command pattern; write `aws <service> <operation>`, e.g. `aws iam delete-*`"
                    .into(),
            );
        };
        if first != "aws" {
            return Err(format!(
                "command pattern `{source}` must start with `aws`, e.g. `aws {}`",
                words.join(" ")
            ));
        }
        let (service, operation) = match rest {
            [service] => (*service, "*"),
            [service, operation] => (*service, *operation),
            [] => return Err("command pattern `aws` names no service; write `aws <service> <operation>` (or `aws * *` for everything)".into()),
            [service, operation, ..] => {
                return Err(format!(
                    "command pattern `{source}` has more than a service and an operation; rules match `aws <service> <operation>` only (options are not matched), write `aws {service} {operation}`"
                ));
            }
        };
        for (what, word) in [("service", service), ("operation", operation)] {
            check_cli_word(source, what, word)?;
        }
        Ok(CommandPattern {
            source: source.split_whitespace().collect::<Vec<_>>().join(" "),
            service: squeeze(service),
            operation: squeeze(operation),
        })
    }

    /// Does `aws <service_cli_name> <operation_cli_name>` match? Case-sensitive, as the CLI is.
    pub fn matches(&self, service_cli_name: &str, operation_cli_name: &str) -> bool {
        let eq = |a: u8, b: u8| a == b;
        glob(self.service.as_bytes(), service_cli_name.as_bytes(), eq)
            && glob(self.operation.as_bytes(), operation_cli_name.as_bytes(), eq)
    }

    /// Does the service word match `service_cli_name` (whatever the operation)?
    pub fn matches_service(&self, service_cli_name: &str) -> bool {
        glob(
            self.service.as_bytes(),
            service_cli_name.as_bytes(),
            |a: u8, b: u8| a == b,
        )
    }

    /// The pattern as written (whitespace normalized).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The service and operation words (runs of `*` squeezed; the operation is `*` when the
    /// pattern names only a service).
    pub(crate) fn words(&self) -> (&str, &str) {
        (&self.service, &self.operation)
    }
}

impl fmt::Display for CommandPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn check_cli_word(source: &str, what: &str, word: &str) -> Result<(), String> {
    if let Some(c) = word.chars().find(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "{what} `{word}` in `{source}` contains `{c}`: AWS CLI names are lowercase and matched case-sensitively, write `{}`",
            word.to_ascii_lowercase()
        ));
    }
    if word.starts_with("--") {
        return Err(format!(
            "`{word}` in `{source}` is an option; rules match `aws <service> <operation>` only"
        ));
    }
    if let Some(c) = word.chars().find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '*' | '.' | '_'))
    }) {
        return Err(format!(
            "{what} `{word}` in `{source}` contains `{c}`: only lowercase letters, digits, `-` and the wildcard `*` are allowed"
        ));
    }
    Ok(())
}

/// A pattern over IAM actions, `service:Action` (or `*`), matched case-insensitively as IAM does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPattern {
    source: String,
    pattern: String,
}

impl ActionPattern {
    /// Parse and validate `prefix:Action` with `*` wildcards, or `*` alone for every action.
    pub fn parse(source: &str) -> Result<Self, String> {
        check_len(source)?;
        let s = source.trim();
        if s.is_empty() {
            return Err("empty action pattern; write `service:Action`, e.g. `iam:Delete*`".into());
        }
        if s == "*" {
            return Ok(ActionPattern {
                source: s.into(),
                pattern: "*".into(),
            });
        }
        let Some((prefix, action)) = s.split_once(':') else {
            return Err(format!(
                "action pattern `{s}` has no `:`; write `service:Action`, e.g. `s3:{s}` or `{s}:*`"
            ));
        };
        if prefix.is_empty() || action.is_empty() {
            return Err(format!(
                "action pattern `{s}` needs both a service prefix and an action, e.g. `s3:GetObject` or `s3:*`"
            ));
        }
        if action.contains(':') {
            return Err(format!(
                "action pattern `{s}` has more than one `:`; write `service:Action`"
            ));
        }
        if let Some(c) = prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '*')))
        {
            return Err(format!(
                "service prefix `{prefix}` in `{s}` contains `{c}`: only letters, digits, `-` and `*` are allowed"
            ));
        }
        if let Some(c) = action
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '*' | '-' | '_')))
        {
            let hint = if c == '?' {
                " (`?` is not supported; use `*`)"
            } else {
                ""
            };
            return Err(format!(
                "action `{action}` in `{s}` contains `{c}`: only letters, digits and `*` are allowed{hint}"
            ));
        }
        Ok(ActionPattern {
            source: s.into(),
            pattern: squeeze(s),
        })
    }

    /// Does the IAM action match? Case-insensitive, as IAM compares action names.
    pub fn matches(&self, action: &str) -> bool {
        glob(self.pattern.as_bytes(), action.as_bytes(), |a, b| {
            a.eq_ignore_ascii_case(&b)
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A plain wildcard over a name (service, region, host), with a chosen case sensitivity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamePattern {
    pattern: String,
    case_insensitive: bool,
}

impl NamePattern {
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Self {
        NamePattern {
            pattern: squeeze(pattern),
            case_insensitive,
        }
    }

    /// The pattern as written (wildcards squeezed).
    pub(crate) fn as_str(&self) -> &str {
        &self.pattern
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        if self.case_insensitive {
            glob(self.pattern.as_bytes(), text.as_bytes(), |a, b| {
                a.eq_ignore_ascii_case(&b)
            })
        } else {
            glob(self.pattern.as_bytes(), text.as_bytes(), |a, b| a == b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        let eq = |a: u8, b: u8| a == b;
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("delete-*", "delete-user", true),
            ("delete-*", "delete-", true),
            ("delete-*", "undelete-user", false),
            ("*-user", "delete-user", true),
            ("*object*", "put-object-acl", true),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "abcb", false),
            ("", "", true),
            ("", "x", false),
            ("x", "", false),
        ] {
            assert_eq!(glob(p.as_bytes(), t.as_bytes(), eq), want, "{p} vs {t}");
        }
    }

    #[test]
    fn action_patterns_are_case_insensitive() {
        let p = ActionPattern::parse("s3:*Object").unwrap();
        assert!(p.matches("s3:PutObject"));
        assert!(p.matches("S3:deleteobject"));
        assert!(!p.matches("s3:PutObjectAcl"));
        assert!(ActionPattern::parse("*").unwrap().matches("iam:CreateUser"));
    }

    #[test]
    fn command_patterns_are_case_sensitive() {
        let p = CommandPattern::parse("aws  iam   delete-*").unwrap();
        assert_eq!(p.as_str(), "aws iam delete-*");
        assert!(p.matches("iam", "delete-user"));
        assert!(!p.matches("IAM", "delete-user"));
        assert!(CommandPattern::parse("aws IAM delete-user").is_err());
        assert!(
            CommandPattern::parse("aws s3api")
                .unwrap()
                .matches("s3api", "put-object")
        );
    }
}
