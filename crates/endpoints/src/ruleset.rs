//! The typed form of `endpoint-rule-set-1.json`, and its loader.
//!
//! Loading does the work evaluation should not repeat: function names become [`Func`] variants with checked
//! arities, `getAttr` paths and templates are split up, and every `ref` is bound to a *slot*. Scope in the rules
//! language is lexical (parameters, then each `assign` of the enclosing conditions), so the slot of a name is its
//! depth on a stack: evaluation keeps one flat `Vec` of values and never looks a name up.

use serde_json::{Map, Value as Json};

use crate::error::RuleSetError;
use crate::params::ParamValue;

/// Deeper nesting than any real rule set (S3's is about 15) is refused, which bounds recursion everywhere.
const MAX_DEPTH: usize = 64;

/// A loaded rule set, ready to resolve endpoints (see [`RuleSet::resolve`](crate::RuleSet::resolve)).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) version: String,
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) rules: Vec<Rule>,
    /// Parameters plus the deepest stack of assignments.
    pub(crate) slot_count: usize,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The name rules refer to (`Region`, `UseFIPS`, `Bucket`, ...).
    pub name: String,
    /// Its type.
    pub kind: ParamType,
    /// The SDK built-in that supplies it (`AWS::Region`, `SDK::Endpoint`, ...), if any.
    pub built_in: Option<String>,
    /// The value used when none is given.
    pub default: Option<ParamValue>,
    /// Whether resolution fails without a value (after the default).
    pub required: bool,
    /// Set when the parameter is deprecated.
    pub deprecated: Option<Deprecation>,
    /// The rule set's description.
    pub documentation: Option<String>,
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `string`
    String,
    /// `boolean`
    Boolean,
    /// `stringArray`
    StringArray,
}

impl ParamType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::StringArray => "stringArray",
        }
    }

    pub(crate) fn accepts(self, value: &ParamValue) -> bool {
        matches!(
            (self, value),
            (Self::String, ParamValue::String(_))
                | (Self::Boolean, ParamValue::Bool(_))
                | (Self::StringArray, ParamValue::StringArray(_))
        )
    }
}

/// A parameter's deprecation notice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deprecation {
    /// What to use instead.
    pub message: Option<String>,
    /// Since when.
    pub since: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) conditions: Vec<Condition>,
    pub(crate) action: Action,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Endpoint(EndpointSpec),
    Error(Expr),
    Tree(Vec<Rule>),
}

#[derive(Debug, Clone)]
pub(crate) struct EndpointSpec {
    pub(crate) url: Expr,
    pub(crate) headers: Vec<(String, Vec<Expr>)>,
    pub(crate) properties: Vec<(String, Property)>,
}

/// An endpoint property: literal JSON where nothing in it is a template, so it is cloned as is.
#[derive(Debug, Clone)]
pub(crate) enum Property {
    Fixed(Json),
    Template(Template),
    Array(Vec<Property>),
    Object(Vec<(String, Property)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) call: Call,
    pub(crate) assign: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) func: Func,
    pub(crate) args: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub(crate) enum Func {
    IsSet,
    Not,
    BooleanEquals,
    StringEquals,
    /// The path is fixed at load time; `args` holds only the value.
    GetAttr(Vec<PathSeg>),
    Substring,
    ParseUrl,
    UriEncode,
    IsValidHostLabel,
    Partition,
    ParseArn,
    IsVirtualHostableS3Bucket,
}

impl Func {
    fn by_name(name: &str) -> Option<(Self, usize)> {
        Some(match name {
            "isSet" => (Self::IsSet, 1),
            "not" => (Self::Not, 1),
            "booleanEquals" => (Self::BooleanEquals, 2),
            "stringEquals" => (Self::StringEquals, 2),
            "getAttr" => (Self::GetAttr(Vec::new()), 2),
            "substring" => (Self::Substring, 4),
            "parseURL" => (Self::ParseUrl, 1),
            "uriEncode" => (Self::UriEncode, 1),
            "isValidHostLabel" => (Self::IsValidHostLabel, 2),
            "aws.partition" => (Self::Partition, 1),
            "aws.parseArn" => (Self::ParseArn, 1),
            "aws.isVirtualHostableS3Bucket" => (Self::IsVirtualHostableS3Bucket, 2),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Str(String),
    Bool(bool),
    Int(i64),
    Null,
    /// A slot, or `None` for a name not in scope here (botocore reads it as unset).
    Ref(Option<usize>),
    Template(Template),
    Call(Box<Call>),
}

/// `getAttr` path step: `a.b[2]` is `[Field(a), Field(b), Index(2)]`.
#[derive(Debug, Clone)]
pub(crate) enum PathSeg {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone)]
pub(crate) enum TemplatePart {
    Literal(String),
    /// `{name#path}`; `slot` is `None` when the name is not in scope (an error if evaluated).
    Value {
        name: String,
        slot: Option<usize>,
        path: Vec<PathSeg>,
    },
}

impl RuleSet {
    /// Loads a rule set from its JSON document.
    pub fn parse(document: &Json) -> std::result::Result<Self, RuleSetError> {
        Loader::default().rule_set(document)
    }

    /// Loads a rule set from JSON text.
    pub fn from_slice(bytes: &[u8]) -> std::result::Result<Self, RuleSetError> {
        let document: Json = serde_json::from_slice(bytes).map_err(|e| RuleSetError {
            at: String::new(),
            message: format!("not JSON: {e}"),
        })?;
        Self::parse(&document)
    }

    /// The rule set's `version` (empty when absent).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The declared parameters, in document order.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// One declared parameter.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The parameter a built-in (`AWS::Region`, `AWS::UseFIPS`, `SDK::Endpoint`, ...) feeds, if the rule set has one.
    pub fn parameter_for_built_in(&self, built_in: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|p| p.built_in.as_deref() == Some(built_in))
    }
}

#[derive(Default)]
struct Loader {
    /// Names in scope, innermost last; a name's index is its slot.
    scope: Vec<String>,
    max_slots: usize,
    /// Where we are, for error messages.
    at: String,
}

type Result<T> = std::result::Result<T, RuleSetError>;

impl Loader {
    fn error(&self, message: impl Into<String>) -> RuleSetError {
        RuleSetError {
            at: if self.at.is_empty() {
                "top level".into()
            } else {
                self.at.clone()
            },
            message: message.into(),
        }
    }

    /// Runs `f` with `segment` appended to the location.
    fn within<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let mark = self.at.len();
        if !self.at.is_empty() && !segment.starts_with('[') {
            self.at.push('.');
        }
        self.at.push_str(segment);
        let out = f(self);
        self.at.truncate(mark);
        out
    }

    fn rule_set(mut self, document: &Json) -> Result<RuleSet> {
        let top = document
            .as_object()
            .ok_or_else(|| self.error("a rule set must be a JSON object"))?;
        let version = match top.get("version") {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(v)) => v.clone(),
            Some(_) => return Err(self.error("`version` must be a string")),
        };
        let parameters = match top.get("parameters") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(params)) => self.within("parameters", |l| {
                params
                    .iter()
                    .map(|(name, spec)| l.within(name, |l| l.parameter(name, spec)))
                    .collect()
            })?,
            Some(_) => return Err(self.error("`parameters` must be an object")),
        };
        self.scope = parameters
            .iter()
            .map(|p: &Parameter| p.name.clone())
            .collect();
        self.max_slots = self.scope.len();
        let rules = match top.get("rules") {
            Some(Json::Array(rules)) => self.rules("rules", rules, 0)?,
            _ => return Err(self.error("`rules` must be an array")),
        };
        Ok(RuleSet {
            version,
            parameters,
            rules,
            slot_count: self.max_slots,
        })
    }

    fn parameter(&mut self, name: &str, spec: &Json) -> Result<Parameter> {
        let spec = spec
            .as_object()
            .ok_or_else(|| self.error("a parameter must be an object"))?;
        let kind = match spec
            .get("type")
            .and_then(Json::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("string") => ParamType::String,
            Some("boolean") => ParamType::Boolean,
            Some("stringarray") => ParamType::StringArray,
            _ => return Err(self.error("`type` must be string, boolean or stringArray")),
        };
        let default = match spec.get("default") {
            None | Some(Json::Null) => None,
            Some(v) => match ParamValue::from_json(v) {
                Some(v) if kind.accepts(&v) => Some(v),
                _ => return Err(self.error(format!("`default` is not a {}", kind.name()))),
            },
        };
        let deprecated = match spec.get("deprecated") {
            None | Some(Json::Null) => None,
            Some(Json::Object(d)) => Some(Deprecation {
                message: self.optional_string(d, "message")?,
                since: self.optional_string(d, "since")?,
            }),
            Some(_) => return Err(self.error("`deprecated` must be an object")),
        };
        Ok(Parameter {
            name: name.to_owned(),
            kind,
            built_in: self.optional_string(spec, "builtIn")?,
            default,
            required: match spec.get("required") {
                None | Some(Json::Null) => false,
                Some(Json::Bool(b)) => *b,
                Some(_) => return Err(self.error("`required` must be a boolean")),
            },
            deprecated,
            documentation: self.optional_string(spec, "documentation")?,
        })
    }

    fn optional_string(&self, object: &Map<String, Json>, key: &str) -> Result<Option<String>> {
        match object.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(format!("`{key}` must be a string"))),
        }
    }

    fn rules(&mut self, segment: &str, rules: &[Json], depth: usize) -> Result<Vec<Rule>> {
        if depth > MAX_DEPTH {
            return Err(self.error("rules nest too deeply"));
        }
        self.within(segment, |l| {
            rules
                .iter()
                .enumerate()
                .map(|(i, rule)| l.within(&format!("[{i}]"), |l| l.rule(rule, depth)))
                .collect()
        })
    }

    fn rule(&mut self, rule: &Json, depth: usize) -> Result<Rule> {
        let rule = rule
            .as_object()
            .ok_or_else(|| self.error("a rule must be an object"))?;
        let mark = self.scope.len();
        let out = self.rule_in_scope(rule, depth);
        // Assignments are visible to this rule's action and sub-rules only.
        self.scope.truncate(mark);
        out
    }

    fn rule_in_scope(&mut self, rule: &Map<String, Json>, depth: usize) -> Result<Rule> {
        let conditions = match rule.get("conditions") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(conditions)) => self.within("conditions", |l| {
                conditions
                    .iter()
                    .enumerate()
                    .map(|(i, c)| l.within(&format!("[{i}]"), |l| l.condition(c)))
                    .collect()
            })?,
            Some(_) => return Err(self.error("`conditions` must be an array")),
        };
        let action = match rule.get("type").and_then(Json::as_str) {
            Some("endpoint") => {
                let endpoint = rule
                    .get("endpoint")
                    .ok_or_else(|| self.error("an endpoint rule needs `endpoint`"))?;
                Action::Endpoint(self.within("endpoint", |l| l.endpoint(endpoint))?)
            }
            Some("error") => {
                let error = rule
                    .get("error")
                    .ok_or_else(|| self.error("an error rule needs `error`"))?;
                Action::Error(self.within("error", |l| l.expr(error, 0))?)
            }
            Some("tree") => match rule.get("rules") {
                Some(Json::Array(rules)) => Action::Tree(self.rules("rules", rules, depth + 1)?),
                _ => return Err(self.error("a tree rule needs a `rules` array")),
            },
            Some(other) => return Err(self.error(format!("unknown rule type {other:?}"))),
            None => return Err(self.error("a rule needs a `type`")),
        };
        Ok(Rule { conditions, action })
    }

    fn condition(&mut self, condition: &Json) -> Result<Condition> {
        let object = condition.as_object().filter(|o| o.contains_key("fn"));
        let object = object.ok_or_else(|| self.error("a condition must be a function call"))?;
        let call = self.call(object, 0)?;
        let assign = match object.get("assign") {
            None | Some(Json::Null) => None,
            Some(Json::String(name)) => {
                if self.scope.iter().any(|n| n == name) {
                    return Err(self.error(format!(
                        "`assign` of {name:?} would shadow a name already in scope"
                    )));
                }
                self.scope.push(name.clone());
                self.max_slots = self.max_slots.max(self.scope.len());
                Some(self.scope.len() - 1)
            }
            Some(_) => return Err(self.error("`assign` must be a string")),
        };
        Ok(Condition { call, assign })
    }

    fn call(&mut self, object: &Map<String, Json>, depth: usize) -> Result<Call> {
        if depth > MAX_DEPTH {
            return Err(self.error("function calls nest too deeply"));
        }
        let name = object
            .get("fn")
            .and_then(Json::as_str)
            .ok_or_else(|| self.error("`fn` must be a string"))?;
        let (mut func, arity) =
            Func::by_name(name).ok_or_else(|| self.error(format!("unknown function {name:?}")))?;
        let argv = match object.get("argv") {
            Some(Json::Array(argv)) => argv,
            _ => return Err(self.error(format!("{name}: `argv` must be an array"))),
        };
        if argv.len() != arity {
            return Err(self.error(format!(
                "{name} takes {arity} arguments, not {}",
                argv.len()
            )));
        }
        let mut args: &[Json] = argv;
        if let Func::GetAttr(path) = &mut func {
            let literal = argv.get(1).and_then(Json::as_str);
            let literal =
                literal.ok_or_else(|| self.error("getAttr: the path must be a literal string"))?;
            *path = parse_path(literal).map_err(|m| self.error(m))?;
            args = &argv[..1];
        }
        let args = args
            .iter()
            .map(|a| self.expr(a, depth + 1))
            .collect::<Result<Vec<_>>>()?;
        Ok(Call { func, args })
    }

    fn expr(&mut self, value: &Json, depth: usize) -> Result<Expr> {
        Ok(match value {
            Json::Object(o) if o.contains_key("fn") => {
                if o.contains_key("assign") {
                    return Err(self.error("`assign` is only allowed on a condition"));
                }
                Expr::Call(Box::new(self.call(o, depth)?))
            }
            Json::Object(o) if o.contains_key("ref") => {
                let name = o
                    .get("ref")
                    .and_then(Json::as_str)
                    .ok_or_else(|| self.error("`ref` must be a string"))?;
                Expr::Ref(self.slot(name))
            }
            Json::String(s) if looks_like_template(s) => Expr::Template(self.template(s)?),
            Json::String(s) => Expr::Str(s.clone()),
            Json::Bool(b) => Expr::Bool(*b),
            Json::Number(n) => Expr::Int(
                n.as_i64()
                    .ok_or_else(|| self.error("numbers must be integers"))?,
            ),
            Json::Null => Expr::Null,
            Json::Array(_) | Json::Object(_) => {
                return Err(self.error("unsupported argument (not a literal, ref or fn)"));
            }
        })
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.scope.iter().rposition(|n| n == name)
    }

    fn endpoint(&mut self, endpoint: &Json) -> Result<EndpointSpec> {
        let endpoint = endpoint
            .as_object()
            .ok_or_else(|| self.error("`endpoint` must be an object"))?;
        let url = endpoint
            .get("url")
            .ok_or_else(|| self.error("an endpoint needs a `url`"))?;
        let url = self.within("url", |l| l.expr(url, 0))?;
        let headers = match endpoint.get("headers") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(headers)) => self.within("headers", |l| {
                headers
                    .iter()
                    .map(|(name, values)| match values {
                        Json::Array(values) => Ok((
                            name.clone(),
                            values.iter().map(|v| l.expr(v, 0)).collect::<Result<_>>()?,
                        )),
                        _ => Err(l.error(format!("header {name:?} must be an array"))),
                    })
                    .collect::<Result<_>>()
            })?,
            Some(_) => return Err(self.error("`headers` must be an object")),
        };
        let properties = match endpoint.get("properties") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(properties)) => self.within("properties", |l| {
                properties
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), l.property(v, 0)?)))
                    .collect::<Result<_>>()
            })?,
            Some(_) => return Err(self.error("`properties` must be an object")),
        };
        Ok(EndpointSpec {
            url,
            headers,
            properties,
        })
    }

    fn property(&self, value: &Json, depth: usize) -> Result<Property> {
        if depth > MAX_DEPTH {
            return Err(self.error("properties nest too deeply"));
        }
        if !has_template(value, 0) {
            return Ok(Property::Fixed(value.clone()));
        }
        Ok(match value {
            Json::String(s) => Property::Template(self.template(s)?),
            Json::Array(items) => Property::Array(
                items
                    .iter()
                    .map(|v| self.property(v, depth + 1))
                    .collect::<Result<_>>()?,
            ),
            Json::Object(o) => Property::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), self.property(v, depth + 1)?)))
                    .collect::<Result<_>>()?,
            ),
            other => Property::Fixed(other.clone()),
        })
    }

    /// Splits a template as Python's `str.format` does: `{{` and `}}` are braces, `{name#path}` a value.
    fn template(&self, text: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                literal.push('{');
                rest = after;
            } else if let Some(after) = tail.strip_prefix("}}") {
                literal.push('}');
                rest = after;
            } else if let Some(after) = tail.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| self.error(format!("unclosed `{{` in template {text:?}")))?;
                let field = &after[..end];
                if !literal.is_empty() {
                    parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                }
                let mut pieces = field.split('#');
                let name = pieces.next().unwrap_or_default();
                if name.is_empty() {
                    return Err(self.error(format!("empty name in template {text:?}")));
                }
                let mut path = Vec::new();
                for piece in pieces {
                    path.extend(parse_path(piece).map_err(|m| self.error(m))?);
                }
                parts.push(TemplatePart::Value {
                    name: name.to_owned(),
                    slot: self.slot(name),
                    path,
                });
                rest = &after[end + 1..];
            } else {
                return Err(self.error(format!("single `}}` in template {text:?}")));
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        Ok(Template { parts })
    }
}

/// botocore treats a string as a template only if it holds `{` letters-or-`#` `}`; anything else is literal
/// (so `{` alone, or `{{`, in a plain message stays as written).
pub(crate) fn looks_like_template(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(open) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'{'))
    {
        let start = i + open + 1;
        let len = bytes.get(start..).map_or(0, |b| {
            b.iter()
                .take_while(|c| c.is_ascii_alphabetic() || **c == b'#')
                .count()
        });
        if len > 0 && bytes.get(start + len) == Some(&b'}') {
            return true;
        }
        i = start;
    }
    false
}

fn has_template(value: &Json, depth: usize) -> bool {
    match value {
        Json::String(s) => looks_like_template(s),
        // Too deep to bother: treat as templated so `property` reports the depth.
        _ if depth > MAX_DEPTH => true,
        Json::Array(items) => items.iter().any(|v| has_template(v, depth + 1)),
        Json::Object(o) => o.values().any(|v| has_template(v, depth + 1)),
        _ => false,
    }
}

/// Parses a `getAttr` path: `.`-separated names, each optionally ending in `[index]`.
pub(crate) fn parse_path(path: &str) -> std::result::Result<Vec<PathSeg>, String> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        match part.find('[') {
            Some(open) => {
                let index = part[open + 1..]
                    .strip_suffix(']')
                    .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse::<usize>().ok())
                    .ok_or_else(|| format!("bad index in getAttr path {path:?}"))?;
                if open > 0 {
                    segs.push(PathSeg::Field(part[..open].to_owned()));
                }
                segs.push(PathSeg::Index(index));
            }
            None if part.is_empty() => return Err(format!("empty name in getAttr path {path:?}")),
            None => segs.push(PathSeg::Field(part.to_owned())),
        }
    }
    Ok(segs)
}
