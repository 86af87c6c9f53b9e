//! Typed errors of compiling and evaluating a query.

use std::fmt;

/// What kind of syntax error a [`SyntaxError`] is (Python's exception class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxKind {
    /// The expression is empty (`EmptyExpressionError`).
    Empty,
    /// A character or literal that cannot be tokenized (`LexerError`).
    Lexer,
    /// A token where it does not belong (`ParseError`).
    Parse,
    /// The expression ends too early (`IncompleteExpressionError`).
    Incomplete,
    /// Nested deeper than we evaluate (Python raises `RecursionError` somewhat later).
    TooDeep,
}

/// A syntax error: where, why, and the expression with a caret under the spot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxKind,
    /// The whole expression.
    pub expression: String,
    /// Character offset (not byte offset) of the offending token.
    pub position: usize,
    /// What is wrong, and when possible what to write instead.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            SyntaxKind::Empty => "invalid JMESPath expression: cannot be empty",
            SyntaxKind::Lexer => "bad JMESPath expression",
            SyntaxKind::Parse | SyntaxKind::TooDeep => "invalid JMESPath expression",
            SyntaxKind::Incomplete => "invalid JMESPath expression: incomplete expression",
        };
        if self.kind == SyntaxKind::Empty {
            return f.write_str(what);
        }
        // The caret line counts characters; good enough for the single-line expressions people write.
        write!(
            f,
            "{what}: {} (column {}):\n{}\n{}^",
            self.message,
            self.position,
            self.expression,
            " ".repeat(self.position)
        )
    }
}

/// Why a query failed to compile or to evaluate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The expression does not parse.
    #[error("{0}")]
    Syntax(Box<SyntaxError>),
    /// A function the JMESPath specification does not define.
    #[error(
        "unknown function: {name}() (known: abs, avg, ceil, contains, ends_with, floor, join, keys, \
         length, map, max, max_by, merge, min, min_by, not_null, reverse, sort, sort_by, starts_with, \
         sum, to_array, to_number, to_string, type, values)"
    )]
    UnknownFunction { name: String },
    /// A function called with the wrong number of arguments.
    #[error(
        "expected {}{expected} argument{} for function {function}(), received {actual}",
        if *variadic { "at least " } else { "" },
        if *expected == 1 { "" } else { "s" }
    )]
    Arity {
        function: String,
        expected: usize,
        actual: usize,
        variadic: bool,
    },
    /// A function argument of a type the function does not accept.
    #[error(
        "in function {function}(), invalid type for value: {value}, expected one of: {expected}, \
         received: \"{actual}\""
    )]
    InvalidType {
        function: String,
        value: String,
        expected: String,
        actual: String,
    },
    /// An operation Python refuses at run time with `TypeError`, such as ordering a string against
    /// a number (`'a' < 1`).
    #[error("{message}")]
    Type { message: String },
    /// An operation Python refuses at run time with `ValueError`, such as a slice step of 0.
    #[error("{message}")]
    Value { message: String },
    /// The result holds an expression reference (`&expr`), which has no JSON form.
    #[error("the query result contains an expression reference (&...), which cannot be output")]
    ExprefResult,
    /// Evaluation nested deeper than the limit (e.g. self-applying expression references), or
    /// a value built nested deeper than [`MAX_VALUE_NESTING`](super::MAX_VALUE_NESTING).
    #[error("query evaluation nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// Evaluation spent its work budget (see [`Query::search`](super::Query::search)): the
    /// expression builds, copies or compares far more than the document holds (for example
    /// `[@,@] | [@,@] | ...`, which doubles the result at each step).
    #[error(
        "the query does more than {limit} steps of work on this document (it builds, copies or compares far more \
         than the document holds); simplify it, or select less before multiplying"
    )]
    TooLarge { limit: u64 },
}

/// The class of a [`QueryError`], named after the Python exception it corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorKind {
    Empty,
    Lexer,
    Parse,
    Incomplete,
    UnknownFunction,
    Arity,
    InvalidType,
    TypeError,
    ValueError,
    ExprefResult,
    TooDeep,
    TooLarge,
}

impl QueryErrorKind {
    /// A stable name: `empty`, `lexer`, `parse`, `incomplete`, `unknown-function`, `arity`,
    /// `invalid-type`, `type-error`, `value-error`, `expref-result`, `too-deep`, `too-large`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryErrorKind::Empty => "empty",
            QueryErrorKind::Lexer => "lexer",
            QueryErrorKind::Parse => "parse",
            QueryErrorKind::Incomplete => "incomplete",
            QueryErrorKind::UnknownFunction => "unknown-function",
            QueryErrorKind::Arity => "arity",
            QueryErrorKind::InvalidType => "invalid-type",
            QueryErrorKind::TypeError => "type-error",
            QueryErrorKind::ValueError => "value-error",
            QueryErrorKind::ExprefResult => "expref-result",
            QueryErrorKind::TooDeep => "too-deep",
            QueryErrorKind::TooLarge => "too-large",
        }
    }
}

impl QueryError {
    pub(crate) fn syntax(
        kind: SyntaxKind,
        expression: &str,
        position: usize,
        message: String,
    ) -> Self {
        QueryError::Syntax(Box::new(SyntaxError {
            kind,
            expression: expression.to_string(),
            position,
            message,
        }))
    }

    pub(crate) fn type_error(message: impl Into<String>) -> Self {
        QueryError::Type {
            message: message.into(),
        }
    }

    /// The error's class.
    pub fn kind(&self) -> QueryErrorKind {
        match self {
            QueryError::Syntax(s) => match s.kind {
                SyntaxKind::Empty => QueryErrorKind::Empty,
                SyntaxKind::Lexer => QueryErrorKind::Lexer,
                SyntaxKind::Parse => QueryErrorKind::Parse,
                SyntaxKind::Incomplete => QueryErrorKind::Incomplete,
                SyntaxKind::TooDeep => QueryErrorKind::TooDeep,
            },
            QueryError::UnknownFunction { .. } => QueryErrorKind::UnknownFunction,
            QueryError::Arity { .. } => QueryErrorKind::Arity,
            QueryError::InvalidType { .. } => QueryErrorKind::InvalidType,
            QueryError::Type { .. } => QueryErrorKind::TypeError,
            QueryError::Value { .. } => QueryErrorKind::ValueError,
            QueryError::ExprefResult => QueryErrorKind::ExprefResult,
            QueryError::TooDeep { .. } => QueryErrorKind::TooDeep,
            QueryError::TooLarge { .. } => QueryErrorKind::TooLarge,
        }
    }
}
