//! Policy documents: JSON in, a compiled [`Policy`] out, or a [`ParseError`] that says where and
//! what. Never panics.
//!
//! Accepted (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>):
//! `Version` (`2012-10-17`, `2008-10-17`, or absent, which is read as `2008-10-17`: no
//! variables), `Id`, `Statement` (one object or an array); in a statement `Sid`, `Effect`,
//! `Principal` / `NotPrincipal`, `Action` / `NotAction`, `Resource` / `NotResource`, `Condition`.
//! Element names are case-sensitive and unknown elements are refused (a misspelt `Condition` would
//! otherwise widen an `Allow`). String-or-array fields take either form; condition values may be
//! strings, numbers or booleans (read as their JSON text). A statement without `Resource` or
//! `NotResource` (allowed in some resource-based policies) applies to every resource.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::condition::Condition;
use crate::matcher::{Case, Pattern};
use crate::variables::Template;

/// The policy language version (the `Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`: no policy variables (`${...}` is literal text).
    V2008_10_17,
    /// No `Version` element: read as `2008-10-17`.
    Unspecified,
}

impl PolicyVersion {
    /// True if `${...}` is a policy variable in this version.
    pub fn has_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// What is wrong with a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// Not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// An object was expected.
    #[error("expected a JSON object")]
    ExpectedObject,
    /// A string was expected.
    #[error("expected a string")]
    ExpectedString,
    /// A string or an array of strings was expected.
    #[error("expected a string or an array of strings")]
    ExpectedStringOrArray,
    /// A condition value must be a string, number or boolean (or an array of them).
    #[error("expected a string, number or boolean (or an array of them)")]
    ExpectedScalar,
    /// An empty array where at least one value is needed.
    #[error("empty list")]
    EmptyList,
    /// A `Version` other than 2012-10-17 and 2008-10-17.
    #[error("unknown policy version {0:?} (expected \"2012-10-17\" or \"2008-10-17\")")]
    UnknownVersion(String),
    /// An element the policy grammar does not have here.
    #[error("unknown element {0:?}")]
    UnknownElement(String),
    /// No `Statement` element.
    #[error("missing Statement")]
    MissingStatement,
    /// No `Effect` in a statement.
    #[error("missing Effect")]
    MissingEffect,
    /// An `Effect` other than `Allow` and `Deny`.
    #[error("unknown effect {0:?} (expected \"Allow\" or \"Deny\")")]
    UnknownEffect(String),
    /// Neither `Action` nor `NotAction`.
    #[error("missing Action or NotAction")]
    MissingAction,
    /// Both `Action` and `NotAction`.
    #[error("both Action and NotAction")]
    BothActionAndNotAction,
    /// Both `Resource` and `NotResource`.
    #[error("both Resource and NotResource")]
    BothResourceAndNotResource,
    /// Both `Principal` and `NotPrincipal`.
    #[error("both Principal and NotPrincipal")]
    BothPrincipalAndNotPrincipal,
    /// A `Principal` that is neither `"*"` nor an object of principal types.
    #[error("bad principal: {0}")]
    BadPrincipal(String),
    /// A principal type other than AWS, Service, Federated and CanonicalUser.
    #[error("unknown principal type {0:?} (expected AWS, Service, Federated or CanonicalUser)")]
    UnknownPrincipalType(String),
    /// A condition operator IAM does not have.
    #[error("unknown condition operator {0:?}")]
    UnknownOperator(String),
    /// A condition value that does not fit its operator.
    #[error("{operator}: bad value {value:?} (expected {expected})")]
    BadConditionValue {
        /// The operator as written.
        operator: String,
        /// The value as written.
        value: String,
        /// What the operator takes.
        expected: &'static str,
    },
}

/// A policy document that cannot be used, with the path of the offending element
/// (`Statement[1].Condition.StringEquals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where: the element path, empty for the document itself.
    pub path: String,
    /// What.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for ParseError {}

fn err(path: impl Into<String>, kind: ParseErrorKind) -> ParseError {
    ParseError {
        path: path.into(),
        kind,
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The statement allows.
    Allow,
    /// The statement denies.
    Deny,
}

/// A compiled `Resource` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourcePattern {
    /// No variables: a plain wildcard pattern.
    Static(Pattern),
    /// With variables, resolved per request.
    Template(Template),
}

/// One entry of a `Principal` / `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` (as the whole element or as a value).
    All,
    /// An account: `"123456789012"` or `arn:aws:iam::123456789012:root`.
    Account(Box<str>),
    /// An IAM user ARN.
    User(Box<str>),
    /// An IAM role (matched by account and role name; session ARNs carry no path).
    Role { account: Box<str>, name: Box<str> },
    /// Any other AWS value (a session or federated user ARN, a unique ID): exact match.
    Exact(Box<str>),
    /// A service principal name.
    Service(Box<str>),
    /// A `Federated` or `CanonicalUser` value: matched against the caller's ARN as given.
    Other(Box<str>),
}

/// A compiled statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<Arc<str>>,
    pub(crate) effect: Effect,
    /// `true` for `NotAction`.
    pub(crate) not_action: bool,
    pub(crate) actions: Vec<Pattern>,
    /// `None` when the statement has neither `Resource` nor `NotResource`.
    pub(crate) resources: Option<(bool, Vec<ResourcePattern>)>,
    /// `None` when the statement has neither `Principal` nor `NotPrincipal`.
    pub(crate) principals: Option<(bool, Vec<PrincipalEntry>)>,
    pub(crate) conditions: Vec<Condition>,
}

/// A parsed and compiled policy document, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    name: Arc<str>,
    version: PolicyVersion,
    id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Parses a policy document (JSON text). `name` identifies it in evaluation results.
    pub fn parse(name: &str, json: &str) -> Result<Policy, ParseError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| err("", ParseErrorKind::Json(e.to_string())))?;
        Policy::from_json(name, &value)
    }

    /// Compiles an already-parsed JSON document.
    pub fn from_json(name: &str, doc: &Value) -> Result<Policy, ParseError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| err("", ParseErrorKind::ExpectedObject))?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(err(k.clone(), ParseErrorKind::UnknownElement(k.clone())));
            }
        }
        let version = match obj.get("Version") {
            None => PolicyVersion::Unspecified,
            Some(Value::String(v)) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(Value::String(v)) => {
                return Err(err("Version", ParseErrorKind::UnknownVersion(v.clone())));
            }
            Some(_) => return Err(err("Version", ParseErrorKind::ExpectedString)),
        };
        let id = match obj.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(err("Id", ParseErrorKind::ExpectedString)),
        };
        let vars = version.has_variables();
        let statements = match obj.get("Statement") {
            None => return Err(err("", ParseErrorKind::MissingStatement)),
            Some(Value::Object(s)) => vec![statement(s, "Statement", vars)?],
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let path = format!("Statement[{i}]");
                    match s {
                        Value::Object(s) => statement(s, &path, vars),
                        _ => Err(err(path, ParseErrorKind::ExpectedObject)),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(err("Statement", ParseErrorKind::ExpectedObject)),
        };
        Ok(Policy {
            name: name.into(),
            version,
            id,
            statements,
        })
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// The language version.
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The `Id` element, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// How many statements the policy has.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The `Sid` of statement `index`, if it has one.
    pub fn sid(&self, index: usize) -> Option<&str> {
        self.statements.get(index)?.sid.as_deref()
    }

    /// The `Effect` of statement `index`.
    pub fn effect(&self, index: usize) -> Option<Effect> {
        Some(self.statements.get(index)?.effect)
    }
}

/// A string or a non-empty array of strings.
fn strings(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if a.is_empty() => Err(err(path, ParseErrorKind::EmptyList)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => Ok(s.clone()),
                _ => Err(err(format!("{path}[{i}]"), ParseErrorKind::ExpectedString)),
            })
            .collect(),
        _ => Err(err(path, ParseErrorKind::ExpectedStringOrArray)),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Condition values: a scalar or an array of scalars (an empty array is allowed: no values).
fn scalars(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                scalar(x).ok_or_else(|| err(format!("{path}[{i}]"), ParseErrorKind::ExpectedScalar))
            })
            .collect(),
        other => scalar(other)
            .map(|s| vec![s])
            .ok_or_else(|| err(path, ParseErrorKind::ExpectedScalar)),
    }
}

fn statement(s: &Map<String, Value>, path: &str, vars: bool) -> Result<Statement, ParseError> {
    for k in s.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(err(
                format!("{path}.{k}"),
                ParseErrorKind::UnknownElement(k.clone()),
            ));
        }
    }
    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(x)) => Some(Arc::from(x.as_str())),
        Some(_) => return Err(err(format!("{path}.Sid"), ParseErrorKind::ExpectedString)),
    };
    let effect = match s.get("Effect") {
        None => return Err(err(path, ParseErrorKind::MissingEffect)),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(Value::String(e)) => {
            return Err(err(
                format!("{path}.Effect"),
                ParseErrorKind::UnknownEffect(e.clone()),
            ));
        }
        Some(_) => {
            return Err(err(
                format!("{path}.Effect"),
                ParseErrorKind::ExpectedString,
            ));
        }
    };
    let (not_action, action_value, action_name) = match (s.get("Action"), s.get("NotAction")) {
        (Some(_), Some(_)) => return Err(err(path, ParseErrorKind::BothActionAndNotAction)),
        (None, None) => return Err(err(path, ParseErrorKind::MissingAction)),
        (Some(a), None) => (false, a, "Action"),
        (None, Some(a)) => (true, a, "NotAction"),
    };
    let actions = strings(action_value, &format!("{path}.{action_name}"))?
        .iter()
        .map(|a| Pattern::new(a, Case::AsciiInsensitive))
        .collect();
    let resources = match (s.get("Resource"), s.get("NotResource")) {
        (Some(_), Some(_)) => return Err(err(path, ParseErrorKind::BothResourceAndNotResource)),
        (None, None) => None,
        (Some(r), None) => Some((
            false,
            resource_patterns(r, &format!("{path}.Resource"), vars)?,
        )),
        (None, Some(r)) => Some((
            true,
            resource_patterns(r, &format!("{path}.NotResource"), vars)?,
        )),
    };
    let principals = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(err(path, ParseErrorKind::BothPrincipalAndNotPrincipal));
        }
        (None, None) => None,
        (Some(p), None) => Some((false, principal_entries(p, &format!("{path}.Principal"))?)),
        (None, Some(p)) => Some((true, principal_entries(p, &format!("{path}.NotPrincipal"))?)),
    };
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(c, &format!("{path}.Condition"), vars)?,
    };
    Ok(Statement {
        sid,
        effect,
        not_action,
        actions,
        resources,
        principals,
        conditions,
    })
}

fn resource_patterns(
    v: &Value,
    path: &str,
    vars: bool,
) -> Result<Vec<ResourcePattern>, ParseError> {
    Ok(strings(v, path)?
        .iter()
        .map(|r| {
            let t = Template::new(r, vars, true);
            // `${*}`, `${?}` and `${$}` are literal characters: keep the template's tokens.
            if t.has_vars() || (vars && r.contains("${")) {
                ResourcePattern::Template(t)
            } else {
                ResourcePattern::Static(Pattern::new(r, Case::Sensitive))
            }
        })
        .collect())
}

fn aws_entry(v: &str) -> PrincipalEntry {
    if v == "*" {
        return PrincipalEntry::All;
    }
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return PrincipalEntry::Account(v.into());
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    if let ["arn", _, "iam", "", account, resource] = parts.as_slice() {
        if *resource == "root" {
            return PrincipalEntry::Account((*account).into());
        }
        if resource.starts_with("user/") {
            return PrincipalEntry::User(v.into());
        }
        if let Some(role) = resource.strip_prefix("role/")
            && let Some(name) = role.rsplit('/').next()
            && !name.is_empty()
        {
            return PrincipalEntry::Role {
                account: (*account).into(),
                name: name.into(),
            };
        }
    }
    PrincipalEntry::Exact(v.into())
}

fn principal_entries(v: &Value, path: &str) -> Result<Vec<PrincipalEntry>, ParseError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalEntry::All]),
        Value::String(s) => Err(err(
            path,
            ParseErrorKind::BadPrincipal(format!(
                "{s:?} (a string principal must be \"*\"; use {{\"AWS\": ...}})"
            )),
        )),
        Value::Object(m) if m.is_empty() => Err(err(
            path,
            ParseErrorKind::BadPrincipal("no principal type".into()),
        )),
        Value::Object(m) => {
            let mut out = Vec::new();
            for (ty, vals) in m {
                let p = format!("{path}.{ty}");
                if !matches!(
                    ty.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                ) {
                    return Err(err(p, ParseErrorKind::UnknownPrincipalType(ty.clone())));
                }
                for val in strings(vals, &p)? {
                    out.push(match ty.as_str() {
                        _ if val == "*" => PrincipalEntry::All,
                        "AWS" => aws_entry(&val),
                        "Service" => PrincipalEntry::Service(val.into()),
                        _ => PrincipalEntry::Other(val.into()),
                    });
                }
            }
            Ok(out)
        }
        _ => Err(err(
            path,
            ParseErrorKind::BadPrincipal("expected \"*\" or an object".into()),
        )),
    }
}

fn conditions(v: &Value, path: &str, vars: bool) -> Result<Vec<Condition>, ParseError> {
    let ops = v
        .as_object()
        .ok_or_else(|| err(path, ParseErrorKind::ExpectedObject))?;
    let mut out = Vec::new();
    for (op, keys) in ops {
        let op_path = format!("{path}.{op}");
        let keys = keys
            .as_object()
            .ok_or_else(|| err(&op_path, ParseErrorKind::ExpectedObject))?;
        if keys.is_empty() {
            return Err(err(&op_path, ParseErrorKind::ExpectedObject));
        }
        for (key, vals) in keys {
            let key_path = format!("{op_path}.{key}");
            let vals = scalars(vals, &key_path)?;
            let c = Condition::new(op, key, &vals, vars).map_err(|kind| {
                let at = if matches!(kind, ParseErrorKind::UnknownOperator(_)) {
                    op_path.clone()
                } else {
                    key_path.clone()
                };
                err(at, kind)
            })?;
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn kind(doc: &str) -> ParseErrorKind {
        Policy::parse("t", doc).unwrap_err().kind
    }

    #[test]
    fn shapes() {
        let p = Policy::parse(
            "p",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(p.statement_count(), 1);
        assert_eq!(p.version(), PolicyVersion::V2012_10_17);
        let p = Policy::parse(
            "p",
            r#"{"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*"],"NotResource":"arn:aws:s3:::b"}]}"#,
        )
        .unwrap();
        assert_eq!(p.version(), PolicyVersion::Unspecified);
        assert_eq!(p.sid(0), Some("A"));
        assert_eq!(p.effect(0), Some(Effect::Deny));
    }

    #[test]
    fn errors() {
        assert!(matches!(kind("{"), ParseErrorKind::Json(_)));
        assert_eq!(kind("[]"), ParseErrorKind::ExpectedObject);
        assert_eq!(
            kind(r#"{"Version":"2012-10-17"}"#),
            ParseErrorKind::MissingStatement
        );
        assert_eq!(
            kind(r#"{"Version":"2012-10-18","Statement":[]}"#),
            ParseErrorKind::UnknownVersion("2012-10-18".into())
        );
        assert_eq!(
            kind(r#"{"Statement":{"Effect":"Alow","Action":"*"}}"#),
            ParseErrorKind::UnknownEffect("Alow".into())
        );
        assert_eq!(
            kind(r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*"}}"#),
            ParseErrorKind::BothActionAndNotAction
        );
        assert_eq!(
            kind(r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#),
            ParseErrorKind::MissingAction
        );
        assert_eq!(
            kind(
                r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEqual":{"a":"b"}}}}"#
            ),
            ParseErrorKind::UnknownOperator("StringEqual".into())
        );
        assert_eq!(
            kind(r#"{"Statement":{"Effect":"Allow","Action":5}}"#),
            ParseErrorKind::ExpectedStringOrArray
        );
        assert_eq!(
            kind(r#"{"Statement":{"Effect":"Allow","Action":"*","Conditon":{}}}"#),
            ParseErrorKind::UnknownElement("Conditon".into())
        );
        let e = Policy::parse(
            "t",
            r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Effect":"Allow","Action":"*","Condition":{"NumericLessThan":{"k":"x"}}}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "Statement[1].Condition.NumericLessThan.k");
        assert!(e.to_string().contains("bad value \"x\""), "{e}");
    }

    #[test]
    fn scalars_in_conditions() {
        let p = Policy::parse(
            "t",
            r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}}"#,
        );
        assert!(p.is_ok(), "{p:?}");
        assert_eq!(
            kind(
                r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":null}}}}"#
            ),
            ParseErrorKind::ExpectedScalar
        );
    }

    #[test]
    fn principals() {
        let p = principal_entries(
            &serde_json::json!({"AWS": ["123456789012", "arn:aws:iam::111122223333:root",
                "arn:aws:iam::111122223333:role/path/R", "arn:aws:iam::111122223333:user/Bob",
                "arn:aws:sts::111122223333:assumed-role/R/s"], "Service": "s3.amazonaws.com"}),
            "P",
        )
        .unwrap();
        assert_eq!(p[0], PrincipalEntry::Account("123456789012".into()));
        assert_eq!(p[1], PrincipalEntry::Account("111122223333".into()));
        assert_eq!(
            p[2],
            PrincipalEntry::Role {
                account: "111122223333".into(),
                name: "R".into()
            }
        );
        assert!(matches!(p[3], PrincipalEntry::User(_)));
        assert!(matches!(p[4], PrincipalEntry::Exact(_)));
        assert!(matches!(p[5], PrincipalEntry::Service(_)));
        assert!(principal_entries(&serde_json::json!("arn:aws:iam::1:root"), "P").is_err());
        assert!(principal_entries(&serde_json::json!({"Group": "x"}), "P").is_err());
    }
}
