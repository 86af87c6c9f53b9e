//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the special
//! `${*}`, `${?}`, `${$}`, compiled into a [`Template`] and resolved against a request.
//!
//! Rules (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>):
//!
//! * Only policies with `"Version": "2012-10-17"` have variables; in `2008-10-17` (or with no
//!   `Version`) `${...}` is literal text.
//! * The key inside `${}` is case-insensitive; its value is the request's value for that context
//!   key, which must be single-valued. The value is inserted literally: a `*` in it is not a
//!   wildcard.
//! * A key with no value (absent, or with other than exactly one value) leaves the variable
//!   without a value: the enclosing `Resource` entry or condition value matches nothing. A default
//!   (`${key, 'default'}`) is used instead when given.
//! * `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`.
//! * Text that does not form a well-made `${...}` stays literal.

use crate::context::{Env, Lookup};
use crate::matcher::{AsTok, OwnedTok, Tok};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text, a `*` or a `?` (wildcards only where the template was compiled with them).
    Tok(OwnedTok),
    /// A policy variable.
    Var {
        /// The key, lowercased for lookup.
        key: Box<str>,
        /// The key as written (for reports).
        display: Box<str>,
        /// The default value, if any.
        default: Option<Box<str>>,
    },
}

/// A policy string (a `Resource` entry or a condition value) with its variables and wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
    has_vars: bool,
}

/// A template resolved against one request.
pub(crate) enum Resolved<'t, 'e> {
    /// Every variable had a value (or a default); the pattern's tokens.
    Toks(Vec<Tok<'e>>),
    /// No variables in the template: use [`Template::parts`].
    Static,
    /// A variable has no value and no default: the template matches nothing.
    NoValue,
    /// Some variables' keys are unknown (their keys as written). `relaxed` is the pattern with
    /// each unknown variable replaced by `*`: if even that does not match, nothing can.
    Unknown {
        keys: Vec<&'t str>,
        relaxed: Vec<Tok<'e>>,
    },
}

impl AsTok for Part {
    fn tok(&self) -> Tok<'_> {
        match self {
            Part::Tok(t) => t.tok(),
            // Never reached for static templates; a variable without resolution matches as empty.
            Part::Var { .. } => Tok::Lit(""),
        }
    }
}

impl Template {
    /// Compiles `text`. `vars`: whether `${...}` is a variable (policy version 2012-10-17).
    /// `wild`: whether `*` and `?` are wildcards (Resource, `...Like` and ARN operators).
    pub(crate) fn new(text: &str, vars: bool, wild: bool) -> Template {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let mut has_vars = false;
        while !rest.is_empty() {
            if vars
                && rest.starts_with("${")
                && let Some((var, len)) = parse_var(rest)
            {
                match var {
                    ParsedVar::Literal(c) => lit.push(c),
                    ParsedVar::Key { key, default } => {
                        flush_literal(&mut parts, &mut lit);
                        has_vars = true;
                        parts.push(Part::Var {
                            key: key.to_ascii_lowercase().into(),
                            display: key.into(),
                            default: default.map(Into::into),
                        });
                    }
                }
                rest = &rest[len..];
                continue;
            }
            let c = rest.chars().next().unwrap_or_default();
            if wild && (c == '*' || c == '?') {
                flush_literal(&mut parts, &mut lit);
                parts.push(Part::Tok(if c == '*' {
                    OwnedTok::Star
                } else {
                    OwnedTok::One
                }));
            } else {
                lit.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        // Literal runs were collected without their wildcards; `${*}` etc. went into `lit` too.
        flush_literal(&mut parts, &mut lit);
        Template { parts, has_vars }
    }

    /// True if the template has at least one variable.
    pub(crate) fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// The template's parts.
    pub(crate) fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Resolves the variables against `env`.
    pub(crate) fn resolve<'t: 'e, 'e>(&'t self, env: &Env<'e>) -> Resolved<'t, 'e> {
        if !self.has_vars {
            return Resolved::Static;
        }
        resolve_parts(&self.parts, env)
    }

    /// The template as plain text when it has no variables and no wildcards.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Tok(OwnedTok::Lit(s))] => Some(s),
            _ => None,
        }
    }
}

/// Resolves a slice of parts (a whole template or one ARN segment of it).
pub(crate) fn resolve_parts<'t: 'e, 'e>(parts: &'t [Part], env: &Env<'e>) -> Resolved<'t, 'e> {
    let mut out = Vec::with_capacity(parts.len());
    let mut unknown = Vec::new();
    for p in parts {
        match p {
            Part::Tok(t) => out.push(t.tok()),
            Part::Var {
                key,
                display,
                default,
            } => match env.lookup(key) {
                Lookup::Unknown => {
                    unknown.push(&**display);
                    out.push(Tok::Star);
                }
                Lookup::Values([one]) => out.push(Tok::Lit(one)),
                Lookup::Values(_) | Lookup::Missing => match default {
                    Some(d) => out.push(Tok::Lit(d)),
                    None => return Resolved::NoValue,
                },
            },
        }
    }
    if unknown.is_empty() {
        Resolved::Toks(out)
    } else {
        Resolved::Unknown {
            keys: unknown,
            relaxed: out,
        }
    }
}

fn flush_literal(parts: &mut Vec<Part>, lit: &mut String) {
    if !lit.is_empty() {
        parts.push(Part::Tok(OwnedTok::Lit(std::mem::take(lit).into())));
    }
}

enum ParsedVar<'a> {
    /// `${*}`, `${?}`, `${$}`.
    Literal(char),
    Key {
        key: &'a str,
        default: Option<&'a str>,
    },
}

/// Parses `${...}` at the start of `s`; the variable and its length in bytes.
fn parse_var(s: &str) -> Option<(ParsedVar<'_>, usize)> {
    let body = s.strip_prefix("${")?;
    for (special, c) in [("*}", '*'), ("?}", '?'), ("$}", '$')] {
        if body.starts_with(special) {
            return Some((ParsedVar::Literal(c), 4));
        }
    }
    let key_end = body.find([',', '}'])?;
    let key = body[..key_end].trim();
    if key.is_empty() || key.contains(['$', '{', '\'']) {
        return None;
    }
    if body[key_end..].starts_with('}') {
        return Some((ParsedVar::Key { key, default: None }, 2 + key_end + 1));
    }
    // `, 'default'}`
    let after_comma = &body[key_end + 1..];
    let trimmed = after_comma.trim_start();
    let skipped = after_comma.len() - trimmed.len();
    let quoted = trimmed.strip_prefix('\'')?;
    let close = quoted.find('\'')?;
    let default = &quoted[..close];
    let tail = &quoted[close + 1..];
    let tail_trimmed = tail.trim_start();
    if !tail_trimmed.starts_with('}') {
        return None;
    }
    let len = 2 + key_end + 1 + skipped + 1 + close + 1 + (tail.len() - tail_trimmed.len()) + 1;
    Some((
        ParsedVar::Key {
            key,
            default: Some(default),
        },
        len,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn shape(t: &Template) -> Vec<String> {
        t.parts()
            .iter()
            .map(|p| match p {
                Part::Tok(OwnedTok::Lit(s)) => format!("L({s})"),
                Part::Tok(OwnedTok::Star) => "*".into(),
                Part::Tok(OwnedTok::One) => "?".into(),
                Part::Var {
                    display, default, ..
                } => match default {
                    Some(d) => format!("V({display}|{d})"),
                    None => format!("V({display})"),
                },
            })
            .collect()
    }

    #[test]
    fn variables_and_wildcards() {
        let t = Template::new("arn:aws:s3:::b/${aws:username}/*", true, true);
        assert_eq!(
            shape(&t),
            ["L(arn:aws:s3:::b/)", "V(aws:username)", "L(/)", "*"]
        );
        assert!(t.has_vars());
        let t = Template::new("b-${aws:PrincipalTag/team, 'company-wide'}", true, true);
        assert_eq!(
            shape(&t),
            ["L(b-)", "V(aws:PrincipalTag/team|company-wide)"]
        );
        let t = Template::new("a${*}b${?}c${$}d*", true, true);
        assert_eq!(shape(&t), ["L(a*b?c$d)", "*"]);
    }

    #[test]
    fn version_2008_and_literal_operators() {
        let t = Template::new("home/${aws:username}/*", false, true);
        assert_eq!(shape(&t), ["L(home/${aws:username}/)", "*"]);
        let t = Template::new("a*b", true, false);
        assert_eq!(shape(&t), ["L(a*b)"]);
        assert_eq!(t.as_literal(), Some("a*b"));
    }

    #[test]
    fn malformed_variables_stay_literal() {
        for s in ["${", "${}", "${aws:x", "${a, 'x}", "${a, x}", "${a, 'x' y}"] {
            let t = Template::new(s, true, false);
            assert!(!t.has_vars(), "{s}");
        }
        let t = Template::new("${a ,  'd' }", true, false);
        assert_eq!(shape(&t), ["V(a|d)"]);
    }
}
