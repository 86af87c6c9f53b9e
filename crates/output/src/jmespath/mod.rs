//! JMESPath (`--query`), evaluated exactly as the AWS CLI's Python `jmespath` 1.1 does.
//!
//! A [`Query`] is compiled once ([`Query::compile`]: lexer → Pratt parser → syntax tree) and
//! then searched against any number of documents ([`Query::search`]). Objects keep their key
//! order (the reason we do not use the `jmespath` crate, which sorts keys), integers stay
//! integers (`length(@)` is `3`, not `3.0`), and Python's behaviour is kept where the
//! specification leaves room: string ordering with `<`, `0 == false` being false, unknown
//! functions and arity errors reported when evaluated (as Python does) rather than compiled.
//!
//! ```
//! use portcullis_output::jmespath::Query;
//! use serde_json::json;
//!
//! let q = Query::compile("Reservations[].Instances[?State.Name=='running'].InstanceId[]").unwrap();
//! let doc = json!({"Reservations": [{"Instances": [
//!     {"InstanceId": "i-1", "State": {"Name": "running"}},
//!     {"InstanceId": "i-2", "State": {"Name": "stopped"}}]}]});
//! assert_eq!(q.search(&doc).unwrap(), json!(["i-1"]));
//!
//! let err = Query::compile("Reservations[0").unwrap_err();
//! assert_eq!(err.kind().as_str(), "incomplete");
//! ```
//!
//! Bounds, each a typed error rather than a stack overflow or runaway memory: the syntax tree is
//! at most [`MAX_AST_DEPTH`] deep, evaluation recurses at most [`MAX_EVAL_DEPTH`] levels and
//! builds values at most [`MAX_VALUE_NESTING`] containers deep (all [`QueryErrorKind::TooDeep`]),
//! and a search spends a work budget proportional to its document
//! ([`QueryErrorKind::TooLarge`]; see [`Query::search`]).

mod budget;
mod error;
mod eval;
mod lexer;
mod parser;
mod value;

use std::fmt;

use serde_json::Value;

pub use error::{QueryError, QueryErrorKind, SyntaxError, SyntaxKind};
pub use eval::MAX_EVAL_DEPTH;
pub use parser::MAX_AST_DEPTH;

/// Deepest a value built by a query may nest (lists and objects the expression makes, such as
/// `[@]` or `{a: @}`, inside one another; the document's own nesting is not counted). An
/// expression chaining thousands of them would otherwise build a value whose conversion or drop
/// overflows the stack; real queries nest a handful.
pub const MAX_VALUE_NESTING: usize = 128;

/// A compiled JMESPath expression.
#[derive(Clone, PartialEq)]
pub struct Query {
    source: String,
    ast: parser::Node,
}

impl Query {
    /// Compiles an expression; syntax errors carry the position and a caret line.
    pub fn compile(expression: &str) -> Result<Query, QueryError> {
        let tokens = lexer::tokenize(expression)?;
        let ast = parser::parse(expression, tokens)?;
        Ok(Query {
            source: expression.to_string(),
            ast,
        })
    }

    /// Evaluates the expression against `value`.
    ///
    /// The evaluation is bounded in work and memory: every value visited, built, copied or
    /// compared, and every 16 bytes of string built or scanned, is paid for from a budget of
    /// about a million such steps plus eight times the size of `value` in the same units (the
    /// document is measured only when a search needs more than the first part). Selecting,
    /// filtering, projecting and sorting any document, or copying it whole a few times, fit;
    /// an expression that multiplies what it is given (`[@,@] | [@,@] | ...`) stops with
    /// [`QueryError::TooLarge`].
    pub fn search(&self, value: &Value) -> Result<Value, QueryError> {
        let mut interp = eval::Interpreter::new(budget::Budget::for_document(value));
        let root = value::Var::Json(value);
        let result = interp.visit(&self.ast, &root)?;
        result.to_value(interp.budget())
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Query").field(&self.source).finish()
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Query::compile(s)
    }
}
