//! The evaluator's values: borrowed JSON (from the document or a literal) or values built during
//! evaluation, plus expression references. Numbers keep Python's int/float distinction.

use std::cmp::Ordering;
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};

use super::MAX_VALUE_NESTING;
use super::budget::{Budget, bytes_units};
use super::error::QueryError;
use super::parser::Node;

/// A value during evaluation. Arrays and objects built by the evaluator carry their nesting (how
/// many built containers deep they go; borrowed JSON counts 0), so that no expression can build
/// a value deeper than [`MAX_VALUE_NESTING`] (whose drop or conversion would overflow the stack).
#[derive(Debug, Clone)]
pub(crate) enum Var<'a> {
    Json(&'a Value),
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Rc<str>),
    Array(Rc<Vec<Var<'a>>>, u32),
    Object(Rc<IndexMap<String, Var<'a>>>, u32),
    Expref(&'a Node),
}

/// A uniform view of a [`Var`], whichever representation it has.
pub(crate) enum V<'v, 'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'v str),
    Arr(Arr<'v, 'a>),
    Obj(Obj<'v, 'a>),
    Expref(&'a Node),
}

#[derive(Clone, Copy)]
pub(crate) enum Arr<'v, 'a> {
    J(&'a [Value]),
    O(&'v [Var<'a>]),
}

#[derive(Clone, Copy)]
pub(crate) enum Obj<'v, 'a> {
    J(&'a Map<String, Value>),
    O(&'v IndexMap<String, Var<'a>>),
}

impl<'v, 'a> Arr<'v, 'a> {
    pub fn len(self) -> usize {
        match self {
            Arr::J(a) => a.len(),
            Arr::O(a) => a.len(),
        }
    }
    pub fn get(self, i: usize) -> Option<Var<'a>> {
        match self {
            Arr::J(a) => a.get(i).map(Var::Json),
            Arr::O(a) => a.get(i).cloned(),
        }
    }
    pub fn iter(self) -> impl Iterator<Item = Var<'a>> + 'v {
        let (j, o) = match self {
            Arr::J(a) => (Some(a.iter().map(Var::Json)), None),
            Arr::O(a) => (None, Some(a.iter().cloned())),
        };
        j.into_iter().flatten().chain(o.into_iter().flatten())
    }
    pub fn to_vec(self) -> Vec<Var<'a>> {
        self.iter().collect()
    }
}

impl<'v, 'a> Obj<'v, 'a> {
    pub fn len(self) -> usize {
        match self {
            Obj::J(m) => m.len(),
            Obj::O(m) => m.len(),
        }
    }
    pub fn get(self, key: &str) -> Option<Var<'a>> {
        match self {
            Obj::J(m) => m.get(key).map(Var::Json),
            Obj::O(m) => m.get(key).cloned(),
        }
    }
    pub fn iter(self) -> impl Iterator<Item = (&'v str, Var<'a>)> + 'v
    where
        'a: 'v,
    {
        let (j, o) = match self {
            Obj::J(m) => (
                Some(m.iter().map(|(k, v)| (k.as_str(), Var::Json(v)))),
                None,
            ),
            Obj::O(m) => (None, Some(m.iter().map(|(k, v)| (k.as_str(), v.clone())))),
        };
        j.into_iter().flatten().chain(o.into_iter().flatten())
    }
}

impl<'a> Var<'a> {
    pub fn view(&self) -> V<'_, 'a> {
        match self {
            Var::Json(v) => match v {
                Value::Null => V::Null,
                Value::Bool(b) => V::Bool(*b),
                Value::Number(n) => number_view(n),
                Value::String(s) => V::Str(s),
                Value::Array(a) => V::Arr(Arr::J(a)),
                Value::Object(m) => V::Obj(Obj::J(m)),
            },
            Var::Null => V::Null,
            Var::Bool(b) => V::Bool(*b),
            Var::Int(i) => V::Int(*i),
            Var::Float(f) => V::Float(*f),
            Var::Str(s) => V::Str(s),
            Var::Array(a, _) => V::Arr(Arr::O(a)),
            Var::Object(m, _) => V::Obj(Obj::O(m)),
            Var::Expref(n) => V::Expref(n),
        }
    }

    /// A short string (a type name, a single key): free.
    pub fn string(s: &str) -> Self {
        Var::Str(Rc::from(s))
    }

    /// A string built by a function, paid for by its length.
    pub fn built_string(s: &str, budget: &mut Budget<'_>) -> Result<Self, QueryError> {
        budget.charge_bytes(s.len())?;
        Ok(Var::Str(Rc::from(s)))
    }

    /// An array built by the evaluator: one unit per element, and at most
    /// [`MAX_VALUE_NESTING`] built containers deep.
    pub fn array(items: Vec<Var<'a>>, budget: &mut Budget<'_>) -> Result<Self, QueryError> {
        budget.charge(u64::try_from(items.len()).unwrap_or(u64::MAX))?;
        let nesting = nesting_over(items.iter())?;
        Ok(Var::Array(Rc::new(items), nesting))
    }

    /// An object built by the evaluator: as [`Var::array`], keys paid for by their length.
    pub fn object(
        map: IndexMap<String, Var<'a>>,
        budget: &mut Budget<'_>,
    ) -> Result<Self, QueryError> {
        for k in map.keys() {
            budget.charge(bytes_units(k.len()))?;
        }
        let nesting = nesting_over(map.values())?;
        Ok(Var::Object(Rc::new(map), nesting))
    }

    /// How many built containers deep this value goes (borrowed JSON: 0).
    fn nesting(&self) -> u32 {
        match self {
            Var::Array(_, n) | Var::Object(_, n) => *n,
            _ => 0,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.view(), V::Null)
    }

    /// JMESPath falsiness as Python's interpreter tests it: `''`, `[]`, `{}`, null, false.
    pub fn is_false(&self) -> bool {
        match self.view() {
            V::Null | V::Bool(false) => true,
            V::Str(s) => s.is_empty(),
            V::Arr(a) => a.len() == 0,
            V::Obj(o) => o.len() == 0,
            _ => false,
        }
    }

    /// The JMESPath type name (`expref` for expression references).
    pub fn type_name(&self) -> &'static str {
        match self.view() {
            V::Null => "null",
            V::Bool(_) => "boolean",
            V::Int(_) | V::Float(_) => "number",
            V::Str(_) => "string",
            V::Arr(_) => "array",
            V::Obj(_) => "object",
            V::Expref(_) => "expref",
        }
    }

    /// Into JSON, paid for node by node (a value built of shared copies costs what its copies
    /// cost); an expression reference anywhere inside is an error.
    pub fn to_value(&self, budget: &mut Budget<'_>) -> Result<Value, QueryError> {
        Ok(match self {
            Var::Json(v) => {
                budget.charge_json(v)?;
                (*v).clone()
            }
            Var::Null => Value::Null,
            Var::Bool(b) => Value::Bool(*b),
            Var::Int(i) => int_to_value(*i),
            Var::Float(f) => float_to_value(*f),
            Var::Str(s) => {
                budget.charge_bytes(s.len())?;
                Value::String(s.to_string())
            }
            Var::Array(a, _) => {
                budget.charge(1)?;
                let mut out = Vec::with_capacity(a.len());
                for v in a.iter() {
                    out.push(v.to_value(budget)?);
                }
                Value::Array(out)
            }
            Var::Object(m, _) => {
                budget.charge(1)?;
                let mut out = Map::new();
                for (k, v) in m.iter() {
                    budget.charge_bytes(k.len())?;
                    out.insert(k.clone(), v.to_value(budget)?);
                }
                Value::Object(out)
            }
            Var::Expref(_) => return Err(QueryError::ExprefResult),
        })
    }

    /// A short rendering for error messages (of a value too large to print whole, its type).
    pub fn describe(&self) -> String {
        const DESCRIBE_UNITS: u64 = 4096;
        let s = match self.to_value(&mut Budget::fixed(DESCRIBE_UNITS)) {
            Ok(v) => serde_json::to_string(&v).unwrap_or_default(),
            Err(QueryError::TooLarge { .. }) => format!("<a large {}>", self.type_name()),
            Err(_) => "<expression reference>".to_string(),
        };
        if s.chars().count() > 80 {
            format!("{}...", s.chars().take(77).collect::<String>())
        } else {
            s
        }
    }
}

/// The nesting of a container holding `items`: one more than theirs.
fn nesting_over<'v, 'a: 'v>(items: impl Iterator<Item = &'v Var<'a>>) -> Result<u32, QueryError> {
    let nesting = items.map(Var::nesting).max().unwrap_or(0) + 1;
    if usize::try_from(nesting).unwrap_or(usize::MAX) > MAX_VALUE_NESTING {
        return Err(QueryError::TooDeep {
            limit: MAX_VALUE_NESTING,
        });
    }
    Ok(nesting)
}

pub(crate) fn number_view<'v, 'a>(n: &Number) -> V<'v, 'a> {
    if let Some(i) = n.as_i64() {
        V::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        V::Int(i128::from(u))
    } else {
        V::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

pub(crate) fn int_to_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        float_to_value(i as f64)
    }
}

/// NaN and infinities have no JSON form; Python would print `NaN`/`Infinity`, we print null.
pub(crate) fn float_to_value(f: f64) -> Value {
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Exact comparison of a Python int with a Python float (Python compares them exactly).
pub(crate) fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f == f64::INFINITY {
        return Some(Ordering::Less);
    }
    if f == f64::NEG_INFINITY {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    const TWO_127: f64 = 170141183460469231731687303715884105728.0;
    if t >= TWO_127 {
        return Some(Ordering::Less);
    }
    if t < -TWO_127 {
        return Some(Ordering::Greater);
    }
    let ti = t as i128;
    match i.cmp(&ti) {
        Ordering::Equal => {
            if f > t {
                Some(Ordering::Less)
            } else if f < t {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        o => Some(o),
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Num {
    I(i128),
    F(f64),
}

impl Num {
    pub fn of(v: &Var<'_>) -> Option<Num> {
        match v.view() {
            V::Int(i) => Some(Num::I(i)),
            V::Float(f) => Some(Num::F(f)),
            _ => None,
        }
    }
    pub fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
    pub fn to_var<'a>(self) -> Var<'a> {
        match self {
            Num::I(i) => Var::Int(i),
            Num::F(f) => Var::Float(f),
        }
    }
}

pub(crate) fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Python addition of two numbers (int + int stays int; overflow beyond i128 becomes float).
pub(crate) fn num_add(a: Num, b: Num) -> Num {
    match (a, b) {
        (Num::I(x), Num::I(y)) => match x.checked_add(y) {
            Some(s) => Num::I(s),
            None => Num::F(x as f64 + y as f64),
        },
        _ => Num::F(a.as_f64() + b.as_f64()),
    }
}

/// Python `==` (nested: `True == 1`, `1 == 1.0`, dicts regardless of key order), paid for
/// node by node; once the budget is spent the answer is `false` and [`Budget::check`] fails.
pub(crate) fn py_eq(a: &Var<'_>, b: &Var<'_>, depth: usize, budget: &mut Budget<'_>) -> bool {
    if depth > 512 || !budget.spend(1) {
        return false;
    }
    let num = |v: &V<'_, '_>| -> Option<Num> {
        match v {
            V::Int(i) => Some(Num::I(*i)),
            V::Float(f) => Some(Num::F(*f)),
            V::Bool(b) => Some(Num::I(i128::from(*b))),
            _ => None,
        }
    };
    let (va, vb) = (a.view(), b.view());
    match (&va, &vb) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Str(x), V::Str(y)) => budget.spend(bytes_units(x.len().min(y.len()))) && x == y,
        (V::Arr(x), V::Arr(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| py_eq(&p, &q, depth + 1, budget))
        }
        (V::Obj(x), V::Obj(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| match y.get(k) {
                    Some(w) => py_eq(&v, &w, depth + 1, budget),
                    None => false,
                })
        }
        (V::Expref(x), V::Expref(y)) => std::ptr::eq(*x, *y),
        _ => match (num(&va), num(&vb)) {
            (Some(x), Some(y)) => num_cmp(x, y) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

/// [`sort_cmp`], paid for; once the budget is spent every pair compares equal (so that the sort
/// ends quickly) and [`Budget::check`] fails.
pub(crate) fn sort_cmp_paid(a: &Var<'_>, b: &Var<'_>, budget: &mut Budget<'_>) -> Ordering {
    let units = match (a.view(), b.view()) {
        (V::Str(x), V::Str(y)) => bytes_units(x.len().min(y.len())),
        _ => 1,
    };
    if budget.spend(units) {
        sort_cmp(a, b)
    } else {
        Ordering::Equal
    }
}

/// A total order for sorting values already checked to be all numbers or all strings (NaN last).
pub(crate) fn sort_cmp(a: &Var<'_>, b: &Var<'_>) -> Ordering {
    match (a.view(), b.view()) {
        (V::Str(x), V::Str(y)) => x.cmp(y),
        _ => match (Num::of(a), Num::of(b)) {
            (Some(x), Some(y)) => match num_cmp(x, y) {
                Some(o) => o,
                None => x.as_f64().is_nan().cmp(&y.as_f64().is_nan()),
            },
            _ => Ordering::Equal,
        },
    }
}

/// Python `<`/`>` between two numbers or two strings; mixing them is Python's `TypeError`.
pub(crate) fn py_order(
    a: &Var<'_>,
    b: &Var<'_>,
    op: &str,
    budget: &mut Budget<'_>,
) -> Result<Option<Ordering>, QueryError> {
    match (a.view(), b.view()) {
        (V::Str(x), V::Str(y)) => {
            budget.charge(bytes_units(x.len().min(y.len())))?;
            Ok(Some(x.cmp(y)))
        }
        _ => match (Num::of(a), Num::of(b)) {
            (Some(x), Some(y)) => Ok(num_cmp(x, y)),
            _ => Err(QueryError::type_error(format!(
                "'{op}' not supported between a {} and a {} (compare numbers with numbers, strings with strings)",
                a.type_name(),
                b.type_name()
            ))),
        },
    }
}
