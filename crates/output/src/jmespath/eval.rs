//! Tree interpreter: a port of `jmespath/visitor.py` (`TreeInterpreter`) and
//! `jmespath/functions.py`, with Python's semantics where the specification leaves room
//! (`0 == false` is false, but `[0] == [false]` is true; ordering strings is allowed).

use std::cmp::Ordering;

use indexmap::IndexMap;

use super::budget::{Budget, bytes_units};
use super::error::QueryError;
use super::parser::{CmpOp, Kind, Node};
use super::value::{Num, V, Var, num_add, num_cmp, py_eq, py_order, sort_cmp_paid};
use crate::pyfmt;

/// Deepest evaluation recursion (self-applying expression references can recurse without end;
/// Python stops them with `RecursionError`).
pub const MAX_EVAL_DEPTH: usize = 128;

/// Units of a length (a count of elements to copy or scan).
fn units(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

pub(crate) struct Interpreter<'b> {
    depth: usize,
    budget: Budget<'b>,
}

impl<'b> Interpreter<'b> {
    pub fn new(budget: Budget<'b>) -> Self {
        Interpreter { depth: 0, budget }
    }

    /// What is left of the search's budget (the result's conversion pays from it too).
    pub fn budget(&mut self) -> &mut Budget<'b> {
        &mut self.budget
    }

    pub fn visit<'a>(&mut self, node: &'a Node, value: &Var<'a>) -> Result<Var<'a>, QueryError> {
        if self.depth >= MAX_EVAL_DEPTH {
            return Err(QueryError::TooDeep {
                limit: MAX_EVAL_DEPTH,
            });
        }
        self.budget.charge(1)?;
        self.depth += 1;
        let r = self.visit_inner(node, value);
        self.depth -= 1;
        r
    }

    fn visit_inner<'a>(&mut self, node: &'a Node, value: &Var<'a>) -> Result<Var<'a>, QueryError> {
        // Each arm lives in its own function so that the recursive path keeps small frames
        // (a single large match reserves room for every arm's temporaries in debug builds).
        match &node.kind {
            Kind::Field(name) => Ok(field(value, name)),
            Kind::Subexpression(children) | Kind::IndexExpression(children) => {
                self.chain(children, value)
            }
            Kind::Pipe(left, right) => self.pipe(left, right, value),
            Kind::Index(i) => Ok(index(value, *i)),
            Kind::Slice(start, stop, step) => {
                slice_value(value, *start, *stop, *step, &mut self.budget)
            }
            Kind::Projection(left, right) => self.projection(left, right, value),
            Kind::ValueProjection(left, right) => self.value_projection(left, right, value),
            Kind::FilterProjection(left, right, condition) => {
                self.filter_projection(left, right, condition, value)
            }
            Kind::Flatten(inner) => self.flatten(inner, value),
            Kind::Identity | Kind::Current => Ok(value.clone()),
            Kind::Literal(v) => Ok(Var::Json(v)),
            Kind::MultiSelectList(items) => self.multi_select_list(items, value),
            Kind::MultiSelectHash(pairs) => self.multi_select_hash(pairs, value),
            Kind::Comparator(op, left, right) => self.comparator(*op, left, right, value),
            Kind::Or(left, right) => self.or(left, right, value),
            Kind::And(left, right) => self.and(left, right, value),
            Kind::Not(inner) => self.not(inner, value),
            Kind::Function(name, args) => self.function(name, args, value),
            Kind::Expref(inner) => Ok(Var::Expref(inner)),
        }
    }

    #[inline(never)]
    fn chain<'a>(&mut self, children: &'a [Node], value: &Var<'a>) -> Result<Var<'a>, QueryError> {
        let mut result = value.clone();
        for child in children {
            result = self.visit(child, &result)?;
        }
        Ok(result)
    }

    #[inline(never)]
    fn pipe<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let l = self.visit(left, value)?;
        self.visit(right, &l)
    }

    #[inline(never)]
    fn projection<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let base = self.visit(left, value)?;
        let V::Arr(a) = base.view() else {
            return Ok(Var::Null);
        };
        self.project_each(a.iter(), right)
    }

    /// Applies `right` to each element, keeping the non-null results (both projection kinds).
    fn project_each<'a>(
        &mut self,
        items: impl Iterator<Item = Var<'a>>,
        right: &'a Node,
    ) -> Result<Var<'a>, QueryError> {
        let mut out = Vec::new();
        for e in items {
            let cur = self.visit(right, &e)?;
            if !cur.is_null() {
                out.push(cur);
            }
        }
        Var::array(out, &mut self.budget)
    }

    #[inline(never)]
    fn value_projection<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let base = self.visit(left, value)?;
        let V::Obj(o) = base.view() else {
            return Ok(Var::Null);
        };
        self.project_each(o.iter().map(|(_, e)| e), right)
    }

    #[inline(never)]
    fn filter_projection<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        condition: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let base = self.visit(left, value)?;
        let V::Arr(a) = base.view() else {
            return Ok(Var::Null);
        };
        let mut out = Vec::new();
        for e in a.iter() {
            if !self.visit(condition, &e)?.is_false() {
                let cur = self.visit(right, &e)?;
                if !cur.is_null() {
                    out.push(cur);
                }
            }
        }
        Var::array(out, &mut self.budget)
    }

    #[inline(never)]
    fn flatten<'a>(&mut self, inner: &'a Node, value: &Var<'a>) -> Result<Var<'a>, QueryError> {
        let base = self.visit(inner, value)?;
        let V::Arr(a) = base.view() else {
            return Ok(Var::Null);
        };
        let mut out = Vec::new();
        for e in a.iter() {
            match e.view() {
                V::Arr(sub) => {
                    // Paid before copying: the elements may be shared copies of a huge value.
                    self.budget.charge(units(sub.len()))?;
                    out.extend(sub.iter());
                }
                _ => out.push(e.clone()),
            }
        }
        Var::array(out, &mut self.budget)
    }

    #[inline(never)]
    fn multi_select_list<'a>(
        &mut self,
        items: &'a [Node],
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        if value.is_null() {
            return Ok(Var::Null);
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.visit(item, value)?);
        }
        Var::array(out, &mut self.budget)
    }

    #[inline(never)]
    fn multi_select_hash<'a>(
        &mut self,
        pairs: &'a [(String, Node)],
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        if value.is_null() {
            return Ok(Var::Null);
        }
        let mut out = IndexMap::with_capacity(pairs.len());
        for (key, item) in pairs {
            out.insert(key.clone(), self.visit(item, value)?);
        }
        Var::object(out, &mut self.budget)
    }

    #[inline(never)]
    fn comparator<'a>(
        &mut self,
        op: CmpOp,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let l = self.visit(left, value)?;
        let r = self.visit(right, value)?;
        compare(op, &l, &r, &mut self.budget)
    }

    #[inline(never)]
    fn or<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let l = self.visit(left, value)?;
        if l.is_false() {
            self.visit(right, value)
        } else {
            Ok(l)
        }
    }

    #[inline(never)]
    fn and<'a>(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let l = self.visit(left, value)?;
        if l.is_false() {
            Ok(l)
        } else {
            self.visit(right, value)
        }
    }

    #[inline(never)]
    fn not<'a>(&mut self, inner: &'a Node, value: &Var<'a>) -> Result<Var<'a>, QueryError> {
        let v = self.visit(inner, value)?;
        Ok(Var::Bool(match v.view() {
            // `!0` is false: 0 is not falsy in JMESPath.
            V::Int(_) | V::Float(_) => false,
            _ => !python_truthy(&v),
        }))
    }

    #[inline(never)]
    fn function<'a>(
        &mut self,
        name: &str,
        args: &'a [Node],
        value: &Var<'a>,
    ) -> Result<Var<'a>, QueryError> {
        let mut resolved = Vec::with_capacity(args.len());
        for a in args {
            resolved.push(self.visit(a, value)?);
        }
        self.call(name, resolved)
    }
}

fn field<'a>(value: &Var<'a>, name: &str) -> Var<'a> {
    match value.view() {
        V::Obj(o) => o.get(name).unwrap_or(Var::Null),
        _ => Var::Null,
    }
}

fn index<'a>(value: &Var<'a>, i: i128) -> Var<'a> {
    match value.view() {
        V::Arr(a) => {
            let len = a.len() as i128;
            let idx = if i < 0 { i + len } else { i };
            if (0..len).contains(&idx) {
                a.get(idx as usize).unwrap_or(Var::Null)
            } else {
                Var::Null
            }
        }
        _ => Var::Null,
    }
}

fn slice_value<'a>(
    value: &Var<'a>,
    start: Option<i128>,
    stop: Option<i128>,
    step: Option<i128>,
    budget: &mut Budget<'_>,
) -> Result<Var<'a>, QueryError> {
    match value.view() {
        V::Arr(a) => {
            budget.charge(units(a.len()))?;
            let items = slice(&a.to_vec(), start, stop, step)?;
            Var::array(items, budget)
        }
        _ => Ok(Var::Null),
    }
}

fn python_truthy(v: &Var<'_>) -> bool {
    match v.view() {
        V::Null => false,
        V::Bool(b) => b,
        V::Int(i) => i != 0,
        V::Float(f) => f != 0.0,
        V::Str(s) => !s.is_empty(),
        V::Arr(a) => a.len() > 0,
        V::Obj(o) => o.len() > 0,
        V::Expref(_) => true,
    }
}

fn compare<'a>(
    op: CmpOp,
    l: &Var<'a>,
    r: &Var<'a>,
    budget: &mut Budget<'_>,
) -> Result<Var<'a>, QueryError> {
    let is_01 = |v: &Var<'_>| match Num::of(v) {
        Some(n) => {
            matches!(num_cmp(n, Num::I(0)), Some(Ordering::Equal))
                || matches!(num_cmp(n, Num::I(1)), Some(Ordering::Equal))
        }
        None => false,
    };
    let is_bool = |v: &Var<'_>| matches!(v.view(), V::Bool(_));
    let mut equals = || {
        // Python's `_is_special_number_case`: 0/1 never equal false/true at the top level.
        if (is_01(l) && is_bool(r)) || (is_01(r) && is_bool(l)) {
            Ok(false)
        } else {
            let eq = py_eq(l, r, 0, budget);
            budget.check().map(|()| eq)
        }
    };
    let comparable = |v: &Var<'_>| matches!(v.view(), V::Int(_) | V::Float(_) | V::Str(_));
    Ok(match op {
        CmpOp::Eq => Var::Bool(equals()?),
        CmpOp::Ne => Var::Bool(!equals()?),
        _ => {
            if !(comparable(l) && comparable(r)) {
                return Ok(Var::Null);
            }
            let sym = match op {
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                _ => ">=",
            };
            let ord = py_order(l, r, sym, budget)?;
            Var::Bool(match (op, ord) {
                (_, None) => false,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Lte, Some(o)) => o != Ordering::Greater,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (_, Some(o)) => o != Ordering::Less,
            })
        }
    })
}

/// Python's `list[start:stop:step]`.
fn slice<'a>(
    items: &[Var<'a>],
    start: Option<i128>,
    stop: Option<i128>,
    step: Option<i128>,
) -> Result<Vec<Var<'a>>, QueryError> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(QueryError::Value {
            message: "slice step cannot be zero".to_string(),
        });
    }
    let len = items.len() as i128;
    let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let clamp = |v: Option<i128>, default: i128| match v {
        None => default,
        Some(mut v) => {
            if v < 0 {
                v += len;
                if v < lower { lower } else { v }
            } else if v > upper {
                upper
            } else {
                v
            }
        }
    };
    let start = clamp(start, if step < 0 { upper } else { lower });
    let stop = clamp(stop, if step < 0 { lower } else { upper });
    let mut out = Vec::new();
    let mut i = start;
    if step > 0 {
        while i < stop {
            out.push(items[i as usize].clone());
            i += step;
        }
    } else {
        while i > stop {
            out.push(items[i as usize].clone());
            i += step;
        }
    }
    Ok(out)
}

/// Argument types as `functions.py` spells them (`array-number`: an array of numbers).
type Sig = (&'static [&'static [&'static str]], bool);

fn signature(name: &str) -> Option<Sig> {
    const NUMBER: &[&str] = &["number"];
    const STRING: &[&str] = &["string"];
    const ANY: &[&str] = &[];
    const OBJECT: &[&str] = &["object"];
    const ARRAY: &[&str] = &["array"];
    const EXPREF: &[&str] = &["expref"];
    Some(match name {
        "abs" | "ceil" | "floor" => (&[NUMBER], false),
        "avg" | "sum" => (&[&["array-number"]], false),
        "not_null" => (&[ANY], true),
        "to_array" | "to_string" | "to_number" | "type" => (&[ANY], false),
        "contains" => (&[&["array", "string"], ANY], false),
        "length" => (&[&["string", "array", "object"]], false),
        "ends_with" | "starts_with" => (&[STRING, STRING], false),
        "reverse" => (&[&["array", "string"]], false),
        "join" => (&[STRING, &["array-string"]], false),
        "map" => (&[EXPREF, ARRAY], false),
        "max" | "min" => (&[&["array-number", "array-string"]], false),
        "sort" => (&[&["array-string", "array-number"]], false),
        "merge" => (&[OBJECT], true),
        "keys" | "values" => (&[OBJECT], false),
        "sort_by" | "min_by" | "max_by" => (&[ARRAY, EXPREF], false),
        _ => return None,
    })
}

fn expected_list(types: &[&str]) -> String {
    format!(
        "[{}]",
        types
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn invalid_type(function: &str, value: &Var<'_>, actual: &str, expected: &[&str]) -> QueryError {
    QueryError::InvalidType {
        function: function.to_string(),
        value: value.describe(),
        expected: expected_list(expected),
        actual: actual.to_string(),
    }
}

fn type_check(
    function: &str,
    v: &Var<'_>,
    types: &[&str],
    budget: &mut Budget<'_>,
) -> Result<(), QueryError> {
    if types.is_empty() {
        return Ok(());
    }
    let actual = v.type_name();
    let mut allowed = Vec::new();
    let mut subtypes = Vec::new();
    for t in types {
        match t.split_once('-') {
            Some((base, sub)) => {
                allowed.push(base);
                subtypes.push(sub);
            }
            None => allowed.push(t),
        }
    }
    if !allowed.contains(&actual) {
        return Err(invalid_type(function, v, actual, types));
    }
    let V::Arr(items) = v.view() else {
        return Ok(());
    };
    if !subtypes.is_empty() {
        budget.charge(units(items.len()))?;
    }
    if subtypes.len() == 1 {
        for e in items.iter() {
            if e.type_name() != subtypes[0] {
                return Err(invalid_type(function, &e, e.type_name(), types));
            }
        }
    } else if subtypes.len() > 1 && items.len() > 0 {
        let first = items.get(0).unwrap_or(Var::Null);
        let wanted = first.type_name();
        if !subtypes.contains(&wanted) {
            return Err(invalid_type(function, &first, wanted, types));
        }
        for e in items.iter() {
            if e.type_name() != wanted {
                return Err(invalid_type(function, &e, e.type_name(), types));
            }
        }
    }
    Ok(())
}

impl Interpreter<'_> {
    fn call<'a>(&mut self, name: &str, args: Vec<Var<'a>>) -> Result<Var<'a>, QueryError> {
        let Some((sig, variadic)) = signature(name) else {
            return Err(QueryError::UnknownFunction {
                name: name.to_string(),
            });
        };
        if (variadic && args.len() < sig.len()) || (!variadic && args.len() != sig.len()) {
            return Err(QueryError::Arity {
                function: name.to_string(),
                expected: sig.len(),
                actual: args.len(),
                variadic,
            });
        }
        for (i, types) in sig.iter().enumerate() {
            type_check(name, &args[i], types, &mut self.budget)?;
        }
        match name {
            "map" => self.map(&args),
            "sort_by" => self.sort_by(&args),
            "min_by" | "max_by" => self.min_max_by(name, &args),
            _ => builtin(name, &args, &mut self.budget),
        }
    }
}

/// The functions that do not evaluate expression references; whatever they scan, copy or build
/// is paid for before it is done.
#[inline(never)]
fn builtin<'a>(
    name: &str,
    args: &[Var<'a>],
    budget: &mut Budget<'_>,
) -> Result<Var<'a>, QueryError> {
    {
        let arg = &args[0];
        Ok(match name {
            "abs" => match arg.view() {
                V::Int(i) => i
                    .checked_abs()
                    .map(Var::Int)
                    .unwrap_or(Var::Float((i as f64).abs())),
                V::Float(f) => Var::Float(f.abs()),
                _ => Var::Null,
            },
            "avg" => {
                let V::Arr(a) = arg.view() else {
                    return Ok(Var::Null);
                };
                budget.charge(units(a.len()))?;
                if a.len() == 0 {
                    Var::Null
                } else {
                    let total = a
                        .iter()
                        .filter_map(|e| Num::of(&e))
                        .fold(Num::I(0), num_add);
                    Var::Float(total.as_f64() / a.len() as f64)
                }
            }
            "sum" => {
                let V::Arr(a) = arg.view() else {
                    return Ok(Var::Null);
                };
                budget.charge(units(a.len()))?;
                a.iter()
                    .filter_map(|e| Num::of(&e))
                    .fold(Num::I(0), num_add)
                    .to_var()
            }
            "ceil" | "floor" => match arg.view() {
                V::Int(i) => Var::Int(i),
                V::Float(f) => {
                    let r = if name == "ceil" { f.ceil() } else { f.floor() };
                    if f.is_nan() {
                        return Err(QueryError::Value {
                            message: "cannot convert float NaN to integer".into(),
                        });
                    }
                    if r.is_infinite() {
                        return Err(QueryError::Value {
                            message: "cannot convert float infinity to integer".into(),
                        });
                    }
                    if r.abs() < 1.7e38 {
                        Var::Int(r as i128)
                    } else {
                        Var::Float(r)
                    }
                }
                _ => Var::Null,
            },
            "not_null" => args
                .iter()
                .find(|a| !a.is_null())
                .cloned()
                .unwrap_or(Var::Null),
            "to_array" => match arg.view() {
                V::Arr(_) => arg.clone(),
                _ => Var::array(vec![arg.clone()], budget)?,
            },
            "to_string" => match arg.view() {
                V::Str(_) => arg.clone(),
                _ => Var::built_string(
                    &pyfmt::json_compact_ascii(&lossy_value(arg, budget)?),
                    budget,
                )?,
            },
            "to_number" => match arg.view() {
                V::Int(_) | V::Float(_) => arg.clone(),
                V::Str(s) => {
                    budget.charge_bytes(s.len())?;
                    match pyfmt::parse_py_int(s) {
                        Some(i) => Var::Int(i),
                        None => pyfmt::parse_py_float(s)
                            .map(Var::Float)
                            .unwrap_or(Var::Null),
                    }
                }
                V::Expref(_) => {
                    return Err(QueryError::type_error(
                        "to_number() cannot convert an expression reference",
                    ));
                }
                _ => Var::Null,
            },
            "type" => match arg.view() {
                V::Expref(_) => Var::Null,
                _ => Var::string(arg.type_name()),
            },
            "contains" => {
                let search = &args[1];
                match arg.view() {
                    V::Arr(a) => {
                        let found = a.iter().any(|e| py_eq(&e, search, 0, budget));
                        budget.check()?;
                        Var::Bool(found)
                    }
                    V::Str(s) => match search.view() {
                        V::Str(needle) => {
                            budget.charge_bytes(s.len().saturating_add(needle.len()))?;
                            Var::Bool(s.contains(needle))
                        }
                        _ => {
                            return Err(QueryError::type_error(format!(
                                "contains(): searching a string needs a string, not a {}",
                                search.type_name()
                            )));
                        }
                    },
                    _ => Var::Null,
                }
            }
            "length" => match arg.view() {
                V::Str(s) => {
                    budget.charge_bytes(s.len())?;
                    Var::Int(s.chars().count() as i128)
                }
                V::Arr(a) => Var::Int(a.len() as i128),
                V::Obj(o) => Var::Int(o.len() as i128),
                _ => Var::Null,
            },
            "ends_with" | "starts_with" => match (arg.view(), args[1].view()) {
                (V::Str(s), V::Str(x)) => {
                    budget.charge_bytes(x.len())?;
                    Var::Bool(if name == "ends_with" {
                        s.ends_with(x)
                    } else {
                        s.starts_with(x)
                    })
                }
                _ => Var::Null,
            },
            "reverse" => match arg.view() {
                V::Str(s) => {
                    budget.charge_bytes(s.len())?;
                    Var::built_string(&s.chars().rev().collect::<String>(), budget)?
                }
                V::Arr(a) => {
                    budget.charge(units(a.len()))?;
                    let mut v = a.to_vec();
                    v.reverse();
                    Var::array(v, budget)?
                }
                _ => Var::Null,
            },
            "join" => match (arg.view(), args[1].view()) {
                (V::Str(sep), V::Arr(a)) => {
                    // Paid for by the length of the result before it is built.
                    budget.charge(units(a.len()))?;
                    let mut total = sep.len().saturating_mul(a.len().saturating_sub(1));
                    for e in a.iter() {
                        if let V::Str(s) = e.view() {
                            total = total.saturating_add(s.len());
                        }
                    }
                    budget.charge_bytes(total)?;
                    let mut out = String::with_capacity(total);
                    for (i, e) in a.iter().enumerate() {
                        if i > 0 {
                            out.push_str(sep);
                        }
                        if let V::Str(s) = e.view() {
                            out.push_str(s);
                        }
                    }
                    Var::Str(out.into())
                }
                _ => Var::Null,
            },
            "max" | "min" => {
                let V::Arr(a) = arg.view() else {
                    return Ok(Var::Null);
                };
                let want = if name == "max" {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                budget.charge(units(a.len()))?;
                let mut best: Option<Var<'a>> = None;
                for e in a.iter() {
                    best = Some(match best {
                        None => e,
                        Some(b) => {
                            if py_order(&e, &b, if name == "max" { ">" } else { "<" }, budget)?
                                == Some(want)
                            {
                                e
                            } else {
                                b
                            }
                        }
                    });
                }
                best.unwrap_or(Var::Null)
            }
            "sort" => {
                let V::Arr(a) = arg.view() else {
                    return Ok(Var::Null);
                };
                budget.charge(units(a.len()))?;
                let mut v = a.to_vec();
                v.sort_by(|x, y| sort_cmp_paid(x, y, budget));
                budget.check()?;
                Var::array(v, budget)?
            }
            "merge" => {
                let mut out: IndexMap<String, Var<'a>> = IndexMap::new();
                for a in args {
                    match a.view() {
                        V::Obj(o) => {
                            for (k, v) in o.iter() {
                                budget.charge(bytes_units(k.len()))?;
                                out.insert(k.to_string(), v);
                            }
                        }
                        // Python's `dict.update` also takes a sequence of key/value pairs.
                        V::Str("") => {}
                        V::Arr(pairs) => {
                            for pair in pairs.iter() {
                                budget.charge(1)?;
                                let (k, v) = match pair.view() {
                                    V::Str(s) if s.chars().count() == 2 => {
                                        let mut cs = s.chars();
                                        let (k, v) =
                                            (cs.next().unwrap_or(' '), cs.next().unwrap_or(' '));
                                        (k.to_string(), Var::string(&v.to_string()))
                                    }
                                    V::Arr(kv) if kv.len() == 2 => {
                                        match kv.get(0).map(|k| k.to_value(budget)) {
                                            Some(Ok(serde_json::Value::String(k))) => {
                                                (k, kv.get(1).unwrap_or(Var::Null))
                                            }
                                            _ => return Err(merge_error(a)),
                                        }
                                    }
                                    V::Str(_) | V::Arr(_) => {
                                        return Err(QueryError::Value {
                                            message: "merge(): a sequence argument must hold key/value pairs".into(),
                                        });
                                    }
                                    _ => return Err(merge_error(a)),
                                };
                                out.insert(k, v);
                            }
                        }
                        V::Str(_) => {
                            return Err(QueryError::Value {
                                message: "merge(): a string argument is not a sequence of key/value pairs".into(),
                            });
                        }
                        _ => return Err(merge_error(a)),
                    }
                }
                Var::object(out, budget)?
            }
            "keys" | "values" => match arg.view() {
                V::Obj(o) => {
                    budget.charge(units(o.len()))?;
                    let mut items = Vec::with_capacity(o.len());
                    for (k, v) in o.iter() {
                        items.push(if name == "keys" {
                            Var::built_string(k, budget)?
                        } else {
                            v
                        });
                    }
                    Var::array(items, budget)?
                }
                _ => Var::Null,
            },
            _ => {
                return Err(QueryError::UnknownFunction {
                    name: name.to_string(),
                });
            }
        })
    }
}

impl Interpreter<'_> {
    #[inline(never)]
    fn map<'a>(&mut self, args: &[Var<'a>]) -> Result<Var<'a>, QueryError> {
        let (V::Expref(node), V::Arr(a)) = (args[0].view(), args[1].view()) else {
            return Ok(Var::Null);
        };
        let mut out = Vec::with_capacity(a.len());
        for e in a.iter() {
            out.push(self.visit(node, &e)?);
        }
        Var::array(out, &mut self.budget)
    }

    #[inline(never)]
    fn sort_by<'a>(&mut self, args: &[Var<'a>]) -> Result<Var<'a>, QueryError> {
        let arg = &args[0];
        let (V::Arr(a), V::Expref(node)) = (arg.view(), args[1].view()) else {
            return Ok(Var::Null);
        };
        if a.len() == 0 {
            return Ok(arg.clone());
        }
        let first = a.get(0).unwrap_or(Var::Null);
        let required = self.visit(node, &first)?.type_name();
        if required != "number" && required != "string" {
            return Err(invalid_type(
                "sort_by",
                &first,
                required,
                &["string", "number"],
            ));
        }
        let mut keyed = Vec::with_capacity(a.len());
        for e in a.iter() {
            let key = self.visit(node, &e)?;
            if key.type_name() != required {
                return Err(invalid_type("sort_by", &key, key.type_name(), &[required]));
            }
            keyed.push((key, e));
        }
        let budget = &mut self.budget;
        keyed.sort_by(|x, y| sort_cmp_paid(&x.0, &y.0, budget));
        budget.check()?;
        Var::array(keyed.into_iter().map(|(_, e)| e).collect(), budget)
    }

    #[inline(never)]
    fn min_max_by<'a>(&mut self, name: &str, args: &[Var<'a>]) -> Result<Var<'a>, QueryError> {
        let arg = &args[0];
        let (V::Arr(a), V::Expref(node)) = (arg.view(), args[1].view()) else {
            return Ok(Var::Null);
        };
        let (want, sym) = if name == "max_by" {
            (Ordering::Greater, ">")
        } else {
            (Ordering::Less, "<")
        };
        let mut best: Option<(Var<'a>, Var<'a>)> = None;
        for e in a.iter() {
            let key = self.visit(node, &e)?;
            let t = key.type_name();
            if t != "number" && t != "string" {
                return Err(invalid_type(name, &key, t, &["number", "string"]));
            }
            best = Some(match best {
                None => (key, e),
                Some((bk, be)) => {
                    if py_order(&key, &bk, sym, &mut self.budget)? == Some(want) {
                        (key, e)
                    } else {
                        (bk, be)
                    }
                }
            });
        }
        Ok(best.map(|(_, e)| e).unwrap_or(Var::Null))
    }
}

fn merge_error(a: &Var<'_>) -> QueryError {
    QueryError::type_error(format!(
        "merge(): every argument must be an object, got a {}",
        a.type_name()
    ))
}

/// JSON for `to_string`, paid for as [`Var::to_value`]; an expression reference becomes what
/// Python's `default=str` gives.
fn lossy_value(v: &Var<'_>, budget: &mut Budget<'_>) -> Result<serde_json::Value, QueryError> {
    Ok(match v {
        Var::Array(a, _) => {
            budget.charge(1)?;
            let mut out = Vec::with_capacity(a.len());
            for e in a.iter() {
                out.push(lossy_value(e, budget)?);
            }
            serde_json::Value::Array(out)
        }
        Var::Object(m, _) => {
            budget.charge(1)?;
            let mut out = serde_json::Map::new();
            for (k, e) in m.iter() {
                budget.charge_bytes(k.len())?;
                out.insert(k.clone(), lossy_value(e, budget)?);
            }
            serde_json::Value::Object(out)
        }
        Var::Expref(_) => serde_json::Value::String("<jmespath.visitor._Expression object>".into()),
        other => match other.to_value(budget) {
            Err(e @ QueryError::TooLarge { .. }) => return Err(e),
            other => other.unwrap_or(serde_json::Value::Null),
        },
    })
}
