//! The request context: the condition keys the caller knows, the ones it declares unknown, and
//! what a key that is neither means ([`Absent`]).

use std::collections::{HashMap, HashSet};

use crate::principal::Principal;

/// What a condition key that the [`Context`] does not list means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Absent {
    /// The key is not in the request (AWS's "not present"): positive operators do not match,
    /// negated ones do, `...IfExists` and `ForAllValues` are true, `Null: true` matches.
    #[default]
    Missing,
    /// The key may be in the request with a value nobody knows offline: every condition that
    /// depends on it is unknown, and so is the decision (`Decision::Conditional`).
    Unknown,
}

/// The condition keys of a request.
///
/// Keys are case-insensitive (stored lowercase); values are kept as given. A key can hold several
/// values (multivalued keys such as `aws:TagKeys`); an empty list is a key present with no value
/// (a null data set). Keys declared [`unknown`](Context::unknown) make the conditions that read
/// them unknown; keys neither known nor unknown follow the [`Absent`] mode.
///
/// Known values take precedence over unknown declarations, which take precedence over the keys
/// AWS sets from the principal's ARN (`aws:PrincipalArn`, `aws:PrincipalAccount`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    known: HashMap<String, Vec<String>>,
    unknown: HashSet<String>,
    absent: Absent,
}

impl Context {
    /// An empty context in which every unlisted key is [`Absent::Missing`].
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context whose unlisted keys follow `absent`.
    pub fn with_absent(absent: Absent) -> Context {
        Context {
            absent,
            ..Context::default()
        }
    }

    /// Sets `key` to one value (replacing earlier values).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        self.known
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
        self
    }

    /// Sets `key` to several values (a multivalued key); an empty list is a present key with no
    /// value.
    pub fn set_all<I, S>(&mut self, key: &str, values: I) -> &mut Context
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.known.insert(
            key.to_ascii_lowercase(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Declares `key` unknown: its value cannot be known offline.
    pub fn unknown(&mut self, key: &str) -> &mut Context {
        self.unknown.insert(key.to_ascii_lowercase());
        self
    }

    /// The mode for keys neither known nor declared unknown.
    pub fn absent(&self) -> Absent {
        self.absent
    }

    /// Changes the mode for keys neither known nor declared unknown.
    pub fn set_absent(&mut self, absent: Absent) -> &mut Context {
        self.absent = absent;
        self
    }

    /// The known values of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.known.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// The key's values (possibly none: a present key with a null value).
    Values(&'a [String]),
    /// Not in the request.
    Missing,
    /// Its value cannot be known.
    Unknown,
}

/// Everything a statement is matched against, for one request.
pub(crate) struct Env<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) context: &'a Context,
    /// Whether the principal has a permissions boundary (for `NotPrincipal` with `Deny`).
    pub(crate) has_boundary: bool,
}

impl<'a> Env<'a> {
    /// Looks up a lowercase key.
    pub(crate) fn lookup(&self, key: &str) -> Lookup<'a> {
        if let Some(v) = self.context.known.get(key) {
            return Lookup::Values(v);
        }
        if self.context.unknown.contains(key) {
            return Lookup::Unknown;
        }
        if let Some(v) = self.principal.derived(key) {
            return Lookup::Values(v);
        }
        match self.context.absent {
            Absent::Missing => Lookup::Missing,
            Absent::Unknown => Lookup::Unknown,
        }
    }
}
