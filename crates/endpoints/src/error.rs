//! The three ways things go wrong: a rule set or partitions document that does not load, and a resolution that
//! does not produce an endpoint.

/// A rule set that cannot be loaded: the document does not have the shape of `endpoint-rule-set-1.json`, or uses
/// something this evaluator does not implement (an unknown function, a nested `assign`, ...). Rejected up front so
/// that evaluation never meets it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint rule set at {at}: {message}")]
pub struct RuleSetError {
    /// Where in the document, e.g. `rules[3].conditions[1]`.
    pub at: String,
    /// What is wrong there.
    pub message: String,
}

/// A partitions document (botocore's `partitions.json`) that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid partitions document: {0}")]
pub struct PartitionsError(pub String);

/// Why no endpoint came out of a resolution.
///
/// `Display` gives the message alone; for [`EndpointError::Rule`] that is the rule set's own text, exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// An `error` rule matched; the message is the rule set's (templates filled in).
    #[error("{0}")]
    Rule(String),
    /// A required parameter without a default was not given.
    #[error("Cannot find value for required parameter {0}")]
    MissingParameter(String),
    /// A parameter was given with a value of the wrong type.
    #[error("Value ({name}) is the wrong type. Must be {expected}.")]
    WrongType {
        /// The parameter.
        name: String,
        /// `string`, `boolean` or `stringArray`.
        expected: &'static str,
    },
    /// No rule matched (botocore says the same).
    #[error("No endpoint found for parameters:\n{0}")]
    NoMatch(String),
    /// The rule set could not be evaluated for these parameters (a type error inside it, a template naming an
    /// unset value, ...). botocore would raise a Python exception in the same places.
    #[error("endpoint rule evaluation failed: {0}")]
    Evaluation(String),
}
