//! Parameter values handed to a resolution.

use std::borrow::Cow;

/// The value of one rule-set parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A `string` parameter.
    String(String),
    /// A `boolean` parameter.
    Bool(bool),
    /// A `stringArray` parameter.
    StringArray(Vec<String>),
}

impl ParamValue {
    /// Reads a JSON string, boolean or array of strings; anything else (including `null`) is `None`.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Some(Self::String(s.clone())),
            serde_json::Value::Bool(b) => Some(Self::Bool(*b)),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Self::StringArray),
            _ => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::String(s) => serde_json::Value::String(s.clone()),
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::StringArray(items) => items
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
        }
    }
}

impl From<&str> for ParamValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for ParamValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<bool> for ParamValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<Vec<String>> for ParamValue {
    fn from(value: Vec<String>) -> Self {
        Self::StringArray(value)
    }
}

/// The parameters of one resolution: parameter name (as the rule set spells it, e.g. `Region`, `UseFIPS`,
/// `Bucket`) to value. Names the rule set does not declare are ignored.
///
/// A small insertion-ordered list rather than a hash map: a request carries a handful of parameters, and static
/// names (`"Region"`) cost no allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(Cow<'static, str>, ParamValue)>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`Params::insert`].
    #[must_use]
    pub fn with(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<ParamValue>,
    ) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets a parameter, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<ParamValue>) {
        let name = name.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Removes a parameter, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<ParamValue> {
        let i = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(i).1)
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The parameters in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v))
    }

    /// How many parameters are set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads a JSON object such as a test case's `params`; `null` members are skipped, and a member that is not a
    /// string, boolean or array of strings is an error naming it.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or_else(|| "parameters must be a JSON object".to_owned())?;
        let mut params = Self::new();
        for (name, value) in object {
            if value.is_null() {
                continue;
            }
            let v = ParamValue::from_json(value).ok_or_else(|| {
                format!("parameter {name} must be a string, boolean or array of strings")
            })?;
            params.insert(name.clone(), v);
        }
        Ok(params)
    }
}

impl<N: Into<Cow<'static, str>>, V: Into<ParamValue>> FromIterator<(N, V)> for Params {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut params = Self::new();
        for (n, v) in iter {
            params.insert(n, v);
        }
        params
    }
}
