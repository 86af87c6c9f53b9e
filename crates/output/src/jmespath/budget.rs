//! What one search may spend. JMESPath has no loops, but it can multiply: `[@,@] | [@,@] | ...`
//! doubles its value at every step (cheaply, the copies being shared), and printing, comparing or
//! flattening such a value then takes exponential time and memory; `join('', [@,@]) | ...` does the
//! same to a string. Python's `jmespath` runs out of memory on these; we stop them with
//! [`QueryError::TooLarge`].
//!
//! The budget counts *units*: one value visited, built, copied or compared, or [`BYTES_PER_UNIT`]
//! bytes of string built or scanned. A search may spend [`BASE_UNITS`] plus [`UNITS_PER_DOCUMENT`]
//! times the size of its document in the same units, so that any query an AWS response calls for
//! (selecting, projecting, sorting, copying the whole document a few times) fits, however large
//! the response, while what it can build stays a small multiple of what it was given. The
//! document is measured only if a search outgrows [`BASE_UNITS`], so small queries on large
//! documents cost nothing extra.

use serde_json::Value;

use super::error::QueryError;

/// Units every search may spend, whatever its document.
pub(crate) const BASE_UNITS: u64 = 1 << 20;
/// Units a search may spend per unit of its document's size.
pub(crate) const UNITS_PER_DOCUMENT: u64 = 8;
/// Bytes of string one unit pays for.
pub(crate) const BYTES_PER_UNIT: usize = 16;

pub(crate) struct Budget<'a> {
    left: u64,
    limit: u64,
    /// The document, until it has been measured to extend the budget.
    document: Option<&'a Value>,
    exhausted: bool,
}

impl<'a> Budget<'a> {
    /// The budget of a search of `document`.
    pub fn for_document(document: &'a Value) -> Self {
        Budget {
            left: BASE_UNITS,
            limit: BASE_UNITS,
            document: Some(document),
            exhausted: false,
        }
    }

    /// A fixed budget (error messages describe values within one).
    pub fn fixed(limit: u64) -> Self {
        Budget {
            left: limit,
            limit,
            document: None,
            exhausted: false,
        }
    }

    /// Spends `units`; false (and from then on, always false) once the budget is spent.
    pub fn spend(&mut self, units: u64) -> bool {
        if self.exhausted {
            return false;
        }
        if units > self.left
            && let Some(document) = self.document.take()
        {
            let extra = size(document).saturating_mul(UNITS_PER_DOCUMENT);
            self.left = self.left.saturating_add(extra);
            self.limit = self.limit.saturating_add(extra);
        }
        match self.left.checked_sub(units) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                self.exhausted = true;
                false
            }
        }
    }

    /// Spends `units`, or the error saying the budget is spent.
    pub fn charge(&mut self, units: u64) -> Result<(), QueryError> {
        if self.spend(units) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// Pays for building or scanning `bytes` bytes of string.
    pub fn charge_bytes(&mut self, bytes: usize) -> Result<(), QueryError> {
        self.charge(bytes_units(bytes))
    }

    /// The error, if a [`Budget::spend`] failed.
    pub fn check(&self) -> Result<(), QueryError> {
        if self.exhausted {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    /// Pays for copying `value` (every node and string), walking it without recursion and
    /// stopping as soon as the budget is spent.
    pub fn charge_json(&mut self, value: &Value) -> Result<(), QueryError> {
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            self.charge(node_units(v))?;
            match v {
                Value::Array(a) => stack.extend(a),
                Value::Object(m) => stack.extend(m.values()),
                _ => {}
            }
        }
        Ok(())
    }

    fn error(&self) -> QueryError {
        QueryError::TooLarge { limit: self.limit }
    }
}

/// Units for `bytes` bytes of string.
pub(crate) fn bytes_units(bytes: usize) -> u64 {
    1 + u64::try_from(bytes / BYTES_PER_UNIT).unwrap_or(u64::MAX)
}

/// Units for one JSON node (its own string, or its keys' strings, included).
fn node_units(v: &Value) -> u64 {
    match v {
        Value::String(s) => bytes_units(s.len()),
        Value::Object(m) => m
            .keys()
            .fold(1u64, |n, k| n.saturating_add(bytes_units(k.len()))),
        _ => 1,
    }
}

/// A document's size in units (no recursion: any depth).
fn size(document: &Value) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![document];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(node_units(v));
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grows_once_by_the_document() {
        let doc = json!({"a": [1, 2, 3], "bb": "x".repeat(40)});
        let mut b = Budget::for_document(&doc);
        assert!(b.spend(BASE_UNITS));
        // {a, bb} 1 + 1 + 1, [..] 1, 1, 2, 3: 3, "xx..": 1 + 2.
        let doc_units = size(&doc);
        assert_eq!(doc_units, 3 + 1 + 3 + 3);
        assert!(b.spend(doc_units * UNITS_PER_DOCUMENT));
        assert!(!b.spend(1));
        assert_eq!(
            b.check(),
            Err(QueryError::TooLarge {
                limit: BASE_UNITS + doc_units * UNITS_PER_DOCUMENT
            })
        );
        assert!(!b.spend(0), "a spent budget stays spent");
    }

    #[test]
    fn fixed_budgets_do_not_grow() {
        let mut b = Budget::fixed(10);
        assert!(b.charge_json(&json!([1, 2, 3])).is_ok());
        assert!(b.charge_json(&json!([1, 2, 3, 4, 5, 6])).is_err());
    }
}
