//! Condition operators, compiled once and evaluated against a request in three-valued logic.
//!
//! Semantics (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html>):
//!
//! * Several values for one key are OR'ed; for a negated operator (`StringNotEquals`,
//!   `NotIpAddress`, ...) the request value must match none of them (NOR).
//! * A key absent from the request: positive operators are false, negated ones true;
//!   `...IfExists` is true; `ForAllValues:` is true; `ForAnyValue:` is false (true with
//!   `IfExists`); `Null` tests exactly this.
//! * `ForAllValues:` is true when every request value satisfies the operator (a negated operator
//!   per value: matches none of the policy values); `ForAnyValue:` when at least one does. A key
//!   with no values, or the single value `""`, is a null data set: `ForAllValues:` true,
//!   `ForAnyValue:` false.
//! * Without a set operator, a key with several request values behaves like `ForAnyValue:` for
//!   positive operators and like `ForAllValues:` for negated ones (not documented by AWS, which
//!   says to use set operators with multivalued keys).
//! * Policy variables work in the `String`, `Arn` and `Bool` operators; elsewhere `${` is text
//!   (and so usually a bad number, date, address or base64 value).
//! * A request value that does not parse as the operator's type (a bad number, date, address)
//!   matches no policy value.

use std::net::IpAddr;

use crate::context::{Env, Lookup};
use crate::matcher::{AsTok, Case, OwnedTok, Tok, glob};
use crate::parse::ParseErrorKind;
use crate::tri::{Keys, Tri};
use crate::values::{Cidr, Decimal, Instant, base64_decode, parse_bool, parse_date};
use crate::variables::{Part, Resolved, Template, resolve_parts};

/// How two ordered values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Eq => o == Equal,
            Cmp::Lt => o == Less,
            Cmp::Le => o != Greater,
            Cmp::Gt => o == Greater,
            Cmp::Ge => o != Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrMode {
    Equals,
    EqualsIgnoreCase,
    Like,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Str(StrMode),
    Num(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// `ForAllValues:` / `ForAnyValue:` or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAll,
    ForAny,
}

/// An ARN operator's value: six segments matched one by one, or (if the value has fewer than six
/// colon-separated parts) a glob over the whole string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ArnPattern {
    Segments(Vec<Vec<Part>>),
    Whole(Template),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    Str(Vec<Template>),
    Num(Vec<Decimal>),
    Date(Vec<Instant>),
    Bool(Vec<Template>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<Cidr>),
    Arn(Vec<ArnPattern>),
    Null(Vec<bool>),
}

/// One operator applied to one key: `"StringEquals": {"aws:username": ["a", "b"]}` gives one
/// `Condition` for `aws:username`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    family: Family,
    negated: bool,
    set: SetOp,
    if_exists: bool,
    key: Box<str>,
    key_display: Box<str>,
    values: Values,
}

/// Reads an operator name (case-insensitive): family, negated, set operator, `IfExists`.
fn parse_operator(name: &str) -> Option<(Family, bool, SetOp, bool)> {
    let lower = name.to_ascii_lowercase();
    let (set, rest) = if let Some(r) = lower.strip_prefix("forallvalues:") {
        (SetOp::ForAll, r)
    } else if let Some(r) = lower.strip_prefix("foranyvalue:") {
        (SetOp::ForAny, r)
    } else {
        (SetOp::Single, lower.as_str())
    };
    let (base, if_exists) = match rest.strip_suffix("ifexists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    use Family::*;
    let (family, negated) = match base {
        "stringequals" => (Str(StrMode::Equals), false),
        "stringnotequals" => (Str(StrMode::Equals), true),
        "stringequalsignorecase" => (Str(StrMode::EqualsIgnoreCase), false),
        "stringnotequalsignorecase" => (Str(StrMode::EqualsIgnoreCase), true),
        "stringlike" => (Str(StrMode::Like), false),
        "stringnotlike" => (Str(StrMode::Like), true),
        "numericequals" => (Num(Cmp::Eq), false),
        "numericnotequals" => (Num(Cmp::Eq), true),
        "numericlessthan" => (Num(Cmp::Lt), false),
        "numericlessthanequals" => (Num(Cmp::Le), false),
        "numericgreaterthan" => (Num(Cmp::Gt), false),
        "numericgreaterthanequals" => (Num(Cmp::Ge), false),
        "dateequals" => (Date(Cmp::Eq), false),
        "datenotequals" => (Date(Cmp::Eq), true),
        "datelessthan" => (Date(Cmp::Lt), false),
        "datelessthanequals" => (Date(Cmp::Le), false),
        "dategreaterthan" => (Date(Cmp::Gt), false),
        "dategreaterthanequals" => (Date(Cmp::Ge), false),
        "bool" => (Bool, false),
        "binaryequals" => (Binary, false),
        "ipaddress" => (Ip, false),
        "notipaddress" => (Ip, true),
        "arnequals" | "arnlike" => (Arn, false),
        "arnnotequals" | "arnnotlike" => (Arn, true),
        "null" if set == SetOp::Single && !if_exists => (Null, false),
        _ => return None,
    };
    Some((family, negated, set, if_exists))
}

fn bad(operator: &str, value: &str, expected: &'static str) -> ParseErrorKind {
    ParseErrorKind::BadConditionValue {
        operator: operator.to_string(),
        value: value.to_string(),
        expected,
    }
}

/// Splits template parts into ARN segments at the colons of the policy's own text (at most six:
/// the sixth keeps its colons).
fn arn_segments(parts: &[Part]) -> Vec<Vec<Part>> {
    let mut segs = Vec::new();
    let mut cur = Vec::new();
    for p in parts {
        match p {
            Part::Tok(OwnedTok::Lit(s)) => {
                let mut rest: &str = s;
                while segs.len() < 5
                    && let Some(i) = rest.find(':')
                {
                    if i > 0 {
                        cur.push(lit(&rest[..i]));
                    }
                    segs.push(std::mem::take(&mut cur));
                    rest = &rest[i + 1..];
                }
                if !rest.is_empty() {
                    cur.push(lit(rest));
                }
            }
            other => cur.push(other.clone()),
        }
    }
    segs.push(cur);
    segs
}

fn lit(s: &str) -> Part {
    Part::Tok(OwnedTok::Lit(s.into()))
}

impl Condition {
    /// Compiles one operator/key pair. `vars`: whether the policy has variables (2012-10-17).
    pub(crate) fn new(
        operator: &str,
        key: &str,
        raw: &[String],
        vars: bool,
    ) -> Result<Condition, ParseErrorKind> {
        let (family, negated, set, if_exists) = parse_operator(operator)
            .ok_or_else(|| ParseErrorKind::UnknownOperator(operator.to_string()))?;
        let values = match family {
            Family::Str(mode) => Values::Str(
                raw.iter()
                    .map(|v| Template::new(v, vars, mode == StrMode::Like))
                    .collect(),
            ),
            Family::Num(_) => Values::Num(
                raw.iter()
                    .map(|v| Decimal::parse(v).ok_or_else(|| bad(operator, v, "a number")))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Date(_) => Values::Date(
                raw.iter()
                    .map(|v| {
                        parse_date(v)
                            .ok_or_else(|| bad(operator, v, "an ISO 8601 date or epoch seconds"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Family::Bool => Values::Bool(
                raw.iter()
                    .map(|v| {
                        let t = Template::new(v, vars, false);
                        if !t.has_vars() && parse_bool(v).is_none() {
                            return Err(bad(operator, v, "true or false"));
                        }
                        Ok(t)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Family::Binary => Values::Binary(
                raw.iter()
                    .map(|v| base64_decode(v).ok_or_else(|| bad(operator, v, "base64")))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Ip => Values::Ip(
                raw.iter()
                    .map(|v| {
                        Cidr::parse(v)
                            .ok_or_else(|| bad(operator, v, "an IP address or CIDR block"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Family::Arn => Values::Arn(
                raw.iter()
                    .map(|v| {
                        let t = Template::new(v, vars, true);
                        let segs = arn_segments(t.parts());
                        if segs.len() == 6 {
                            ArnPattern::Segments(segs)
                        } else {
                            ArnPattern::Whole(t)
                        }
                    })
                    .collect(),
            ),
            Family::Null => Values::Null(
                raw.iter()
                    .map(|v| parse_bool(v).ok_or_else(|| bad(operator, v, "true or false")))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Condition {
            family,
            negated,
            set,
            if_exists,
            key: key.to_ascii_lowercase().into(),
            key_display: key.into(),
            values,
        })
    }

    /// Evaluates the condition; keys that leave it unknown go to `keys`.
    pub(crate) fn eval<'p>(&'p self, env: &Env<'_>, keys: &mut Keys<'p>) -> Tri {
        let mark = keys.mark();
        let t = self.eval_inner(env, keys);
        keys.settle(mark, t)
    }

    fn when_absent(&self) -> Tri {
        if let Values::Null(ps) = &self.values {
            return Tri::from_bool(ps.contains(&true));
        }
        Tri::from_bool(match self.set {
            SetOp::ForAll => true,
            _ if self.if_exists => true,
            SetOp::ForAny => false,
            SetOp::Single => self.negated,
        })
    }

    fn eval_inner<'p>(&'p self, env: &Env<'_>, keys: &mut Keys<'p>) -> Tri {
        let vs = match env.lookup(&self.key) {
            Lookup::Unknown => {
                keys.push(&self.key_display);
                return Tri::Maybe;
            }
            Lookup::Missing => return self.when_absent(),
            Lookup::Values(vs) => vs,
        };
        if let Values::Null(ps) = &self.values {
            let is_null = vs.is_empty();
            return Tri::from_bool(ps.contains(&is_null));
        }
        let null_set = vs.is_empty() || (self.set != SetOp::Single && vs == [""]);
        if null_set {
            return self.when_absent();
        }
        match (self.set, self.negated) {
            (SetOp::Single, false) | (SetOp::ForAny, false) => {
                self.fold(vs, Tri::No, Tri::or, false, env, keys)
            }
            (SetOp::Single, true) | (SetOp::ForAll, true) => {
                self.fold(vs, Tri::Yes, Tri::and, true, env, keys)
            }
            (SetOp::ForAll, false) => self.fold(vs, Tri::Yes, Tri::and, false, env, keys),
            (SetOp::ForAny, true) => self.fold(vs, Tri::No, Tri::or, true, env, keys),
        }
    }

    /// Combines the per-request-value results with `op`, starting from `init`; `negate` applies
    /// the negated operator per value.
    fn fold<'p>(
        &'p self,
        vs: &[String],
        init: Tri,
        op: fn(Tri, Tri) -> Tri,
        negate: bool,
        env: &Env<'_>,
        keys: &mut Keys<'p>,
    ) -> Tri {
        let mut acc = init;
        for v in vs {
            let mut t = self.any_value_matches(v, env, keys);
            if negate {
                t = t.not();
            }
            acc = op(acc, t);
            // Short-circuit once decided: AND hit No, OR hit Yes.
            if acc != init && acc != Tri::Maybe {
                return acc;
            }
        }
        acc
    }

    /// True if request value `v` matches at least one of the policy's values.
    fn any_value_matches<'p>(&'p self, v: &str, env: &Env<'_>, keys: &mut Keys<'p>) -> Tri {
        match &self.values {
            Values::Str(ts) => {
                let Family::Str(mode) = self.family else {
                    return Tri::No;
                };
                any(ts, |t| str_matches(t, mode, v, env, keys))
            }
            Values::Num(ps) => {
                let (Family::Num(cmp), Some(d)) = (self.family, Decimal::parse(v)) else {
                    return Tri::No;
                };
                Tri::from_bool(ps.iter().any(|p| cmp.holds(d.cmp(p))))
            }
            Values::Date(ps) => {
                let (Family::Date(cmp), Some(d)) = (self.family, parse_date(v)) else {
                    return Tri::No;
                };
                Tri::from_bool(ps.iter().any(|p| cmp.holds(d.cmp(p))))
            }
            Values::Bool(ts) => {
                let Some(b) = parse_bool(v) else {
                    return Tri::No;
                };
                any(ts, |t| match resolve_text(t, env, keys) {
                    Text::Value(s) => Tri::from_bool(parse_bool(&s) == Some(b)),
                    Text::No => Tri::No,
                    Text::Maybe => Tri::Maybe,
                })
            }
            Values::Binary(ps) => match base64_decode(v) {
                Some(bytes) => Tri::from_bool(ps.contains(&bytes)),
                None => Tri::No,
            },
            Values::Ip(ps) => match v.parse::<IpAddr>() {
                Ok(ip) => Tri::from_bool(ps.iter().any(|c| c.contains(ip))),
                Err(_) => Tri::No,
            },
            Values::Arn(ps) => any(ps, |p| arn_matches(p, v, env, keys)),
            Values::Null(_) => Tri::No,
        }
    }
}

/// OR over the items, stopping at the first Yes.
fn any<'p, T>(items: &'p [T], mut f: impl FnMut(&'p T) -> Tri) -> Tri {
    let mut acc = Tri::No;
    for it in items {
        acc = acc.or(f(it));
        if acc == Tri::Yes {
            break;
        }
    }
    acc
}

/// A token's text (wildcards as their characters).
fn piece<T: AsTok>(t: &T) -> &str {
    match t.tok() {
        Tok::Lit(s) => s,
        Tok::Star => "*",
        Tok::One => "?",
    }
}

/// Compares literal tokens with `text` (no wildcards).
fn eq_toks<T: AsTok>(toks: &[T], text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        toks.iter()
            .flat_map(|t| piece(t).chars())
            .flat_map(char::to_lowercase)
            .eq(text.chars().flat_map(char::to_lowercase))
    } else {
        let mut rest = text;
        for t in toks {
            match rest.strip_prefix(piece(t)) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

fn str_match_toks<T: AsTok>(toks: &[T], mode: StrMode, v: &str) -> bool {
    match mode {
        StrMode::Equals => eq_toks(toks, v, false),
        StrMode::EqualsIgnoreCase => eq_toks(toks, v, true),
        StrMode::Like => glob(toks, v, Case::Sensitive),
    }
}

fn str_matches<'p>(
    t: &'p Template,
    mode: StrMode,
    v: &str,
    env: &Env<'_>,
    keys: &mut Keys<'p>,
) -> Tri {
    if mode == StrMode::Equals
        && let Some(s) = t.as_literal()
    {
        return Tri::from_bool(s == v);
    }
    match t.resolve(env) {
        Resolved::Static => Tri::from_bool(str_match_toks(t.parts(), mode, v)),
        Resolved::Toks(toks) => Tri::from_bool(str_match_toks(&toks, mode, v)),
        Resolved::NoValue => Tri::No,
        Resolved::Unknown { keys: ks, relaxed } => {
            // With every unknown variable as `*`, a literal comparison becomes a glob; if even
            // that fails, no value of the variables can make it match.
            if mode != StrMode::EqualsIgnoreCase && !glob(&relaxed, v, Case::Sensitive) {
                return Tri::No;
            }
            ks.into_iter().for_each(|k| keys.push(k));
            Tri::Maybe
        }
    }
}

enum Text {
    Value(String),
    No,
    Maybe,
}

/// A template's resolved text (for `Bool`).
fn resolve_text<'p>(t: &'p Template, env: &Env<'_>, keys: &mut Keys<'p>) -> Text {
    let join = |toks: &[Tok<'_>]| {
        toks.iter()
            .map(|t| match t {
                Tok::Lit(s) => *s,
                Tok::Star => "*",
                Tok::One => "?",
            })
            .collect::<String>()
    };
    match t.resolve(env) {
        Resolved::Static => {
            let toks: Vec<Tok<'_>> = t.parts().iter().map(AsTok::tok).collect();
            Text::Value(join(&toks))
        }
        Resolved::Toks(toks) => Text::Value(join(&toks)),
        Resolved::NoValue => Text::No,
        Resolved::Unknown { keys: ks, .. } => {
            ks.into_iter().for_each(|k| keys.push(k));
            Text::Maybe
        }
    }
}

fn arn_matches<'p>(p: &'p ArnPattern, v: &str, env: &Env<'_>, keys: &mut Keys<'p>) -> Tri {
    match p {
        ArnPattern::Whole(t) => str_matches(t, StrMode::Like, v, env, keys),
        ArnPattern::Segments(segs) => {
            let mut parts = v.splitn(6, ':');
            let mut acc = Tri::Yes;
            for seg in segs {
                let Some(vp) = parts.next() else {
                    return Tri::No;
                };
                let t = match resolve_parts(seg, env) {
                    Resolved::Static => Tri::from_bool(glob(seg, vp, Case::Sensitive)),
                    Resolved::Toks(toks) => Tri::from_bool(glob(&toks, vp, Case::Sensitive)),
                    Resolved::NoValue => Tri::No,
                    Resolved::Unknown { keys: ks, relaxed } => {
                        if !glob(&relaxed, vp, Case::Sensitive) {
                            return Tri::No;
                        }
                        ks.into_iter().for_each(|k| keys.push(k));
                        Tri::Maybe
                    }
                };
                acc = acc.and(t);
                if acc == Tri::No {
                    return Tri::No;
                }
            }
            acc
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    #[test]
    fn operator_names() {
        assert!(parse_operator("StringEquals").is_some());
        assert!(parse_operator("stringequalsignorecase").is_some());
        assert!(parse_operator("ForAllValues:StringLikeIfExists").is_some());
        assert!(parse_operator("ForAnyValue:ArnNotLike").is_some());
        assert!(parse_operator("Null").is_some());
        for bad in [
            "StringEqual",
            "NullIfExists",
            "ForAllValues:Null",
            "ForAllValues:",
            "IfExists",
            "ForSomeValues:StringEquals",
            "BinaryNotEquals",
            "",
        ] {
            assert!(parse_operator(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arn_segmenting() {
        let t = Template::new("arn:aws:someservice:*:111122223333:finance/*", true, true);
        assert_eq!(arn_segments(t.parts()).len(), 6);
        let t = Template::new("arn:aws:logs:*:*:log-group:/aws/*:*", true, true);
        assert_eq!(arn_segments(t.parts()).len(), 6);
        let t = Template::new("arn:aws:iam::${aws:PrincipalAccount}:user/*", true, true);
        assert_eq!(arn_segments(t.parts()).len(), 6);
        let t = Template::new("*", true, true);
        assert_eq!(arn_segments(t.parts()).len(), 1);
    }

    #[test]
    fn bad_values_are_parse_errors() {
        assert!(Condition::new("NumericEquals", "k", &["ten".into()], true).is_err());
        assert!(Condition::new("DateLessThan", "k", &["soon".into()], true).is_err());
        assert!(Condition::new("IpAddress", "k", &["10.0.0.0/40".into()], true).is_err());
        assert!(Condition::new("BinaryEquals", "k", &["!!".into()], true).is_err());
        assert!(Condition::new("Bool", "k", &["yes".into()], true).is_err());
        assert!(Condition::new("Bool", "k", &["${aws:x}".into()], true).is_ok());
        assert!(Condition::new("Null", "k", &["maybe".into()], true).is_err());
        assert!(Condition::new("StringEquals", "k", &["anything".into()], true).is_ok());
    }
}
