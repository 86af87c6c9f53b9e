//! Evaluation: parameters into slots, rules in order, first endpoint or error wins.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use serde_json::Value as Json;

use crate::error::EndpointError;
use crate::functions;
use crate::params::{ParamValue, Params};
use crate::partitions::Partitions;
use crate::ruleset::{
    Action, Call, EndpointSpec, Expr, Func, PathSeg, Property, Rule, RuleSet, Template,
    TemplatePart,
};
use crate::url::parse_url;
use crate::value::{List, Text, Value};

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Endpoint {
    /// The URL to send to, e.g. `https://sts.us-east-1.amazonaws.com`.
    pub url: String,
    /// Headers the request must carry.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Everything else the rule set says, notably `authSchemes` (signing name, region, region set).
    pub properties: serde_json::Map<String, Json>,
}

impl Endpoint {
    /// The `authSchemes` property, if any.
    pub fn auth_schemes(&self) -> &[Json] {
        self.properties
            .get("authSchemes")
            .and_then(Json::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

type Result<T> = std::result::Result<T, EndpointError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(EndpointError::Evaluation(message.into()))
}

impl RuleSet {
    /// Resolves the endpoint for `params` (parameter name to value; defaults fill the gaps).
    ///
    /// Returns the first endpoint rule whose conditions hold, or the first error rule's message as
    /// [`EndpointError::Rule`]; a missing required parameter, a parameter of the wrong type or a rule set that
    /// fails mid-way are errors too. Never panics.
    pub fn resolve(&self, params: &Params, partitions: &Partitions) -> Result<Endpoint> {
        let mut slots = Vec::with_capacity(self.slot_count);
        for p in &self.parameters {
            let value = match params.get(&p.name).or(p.default.as_ref()) {
                Some(v) if !p.kind.accepts(v) => {
                    return Err(EndpointError::WrongType {
                        name: p.name.clone(),
                        expected: p.kind.name(),
                    });
                }
                Some(ParamValue::String(s)) => Value::Str(Text::Borrowed(s)),
                Some(ParamValue::Bool(b)) => Value::Bool(*b),
                Some(ParamValue::StringArray(items)) => Value::List(List::Strings(items)),
                None if p.required => return Err(EndpointError::MissingParameter(p.name.clone())),
                None => Value::None,
            };
            slots.push(value);
        }
        slots.resize(self.slot_count.max(slots.len()), Value::None);
        let mut evaluator = Evaluator { slots, partitions };
        match evaluator.rules(&self.rules)? {
            Some(endpoint) => Ok(endpoint),
            None => {
                let mut listing = String::new();
                for (name, value) in params.iter() {
                    if !listing.is_empty() {
                        listing.push('\n');
                    }
                    let _ = write!(listing, "{name}: {}", value.to_json());
                }
                Err(EndpointError::NoMatch(listing))
            }
        }
    }
}

struct Evaluator<'a> {
    slots: Vec<Value<'a>>,
    partitions: &'a Partitions,
}

impl<'a> Evaluator<'a> {
    fn rules(&mut self, rules: &'a [Rule]) -> Result<Option<Endpoint>> {
        for rule in rules {
            if let Some(endpoint) = self.rule(rule)? {
                return Ok(Some(endpoint));
            }
        }
        Ok(None)
    }

    fn rule(&mut self, rule: &'a Rule) -> Result<Option<Endpoint>> {
        for condition in &rule.conditions {
            let value = self.call(&condition.call)?;
            let holds = !matches!(value, Value::None | Value::Bool(false));
            if let Some(slot) = condition.assign {
                match self.slots.get_mut(slot) {
                    Some(s) => *s = value,
                    None => return fail("assignment slot out of range"),
                }
            }
            if !holds {
                return Ok(None);
            }
        }
        match &rule.action {
            Action::Endpoint(spec) => self.endpoint(spec).map(Some),
            Action::Error(message) => Err(EndpointError::Rule(
                self.string(message, "an error message")?,
            )),
            // A tree whose rules all miss falls through to the next rule, as in botocore.
            Action::Tree(rules) => self.rules(rules),
        }
    }

    fn endpoint(&self, spec: &'a EndpointSpec) -> Result<Endpoint> {
        let url = self.string(&spec.url, "the endpoint URL")?;
        let mut headers = BTreeMap::new();
        for (name, values) in &spec.headers {
            let values = values
                .iter()
                .map(|v| self.string(v, "a header value"))
                .collect::<Result<Vec<_>>>()?;
            headers.insert(name.clone(), values);
        }
        let mut properties = serde_json::Map::new();
        for (name, property) in &spec.properties {
            properties.insert(name.clone(), self.property(property)?);
        }
        Ok(Endpoint {
            url,
            headers,
            properties,
        })
    }

    fn property(&self, property: &'a Property) -> Result<Json> {
        Ok(match property {
            Property::Fixed(value) => value.clone(),
            Property::Template(t) => Json::String(self.render(t)?),
            Property::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|p| self.property(p))
                    .collect::<Result<_>>()?,
            ),
            Property::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(k, p)| Ok((k.clone(), self.property(p)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// An expression that must come out as a string (URL, header value, error message).
    fn string(&self, expr: &'a Expr, what: &str) -> Result<String> {
        match expr {
            Expr::Str(s) => Ok(s.clone()),
            Expr::Template(t) => self.render(t),
            other => match self.expr(other)? {
                Value::Str(s) => Ok(s.as_str().to_owned()),
                v => fail(format!("{what} is {}, not a string", v.kind())),
            },
        }
    }

    fn render(&self, template: &'a Template) -> Result<String> {
        let mut out = String::with_capacity(64);
        for part in &template.parts {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::Value { name, slot, path } => {
                    let value = slot
                        .and_then(|i| self.slots.get(i))
                        .cloned()
                        .unwrap_or_default();
                    match get_attr(value, path)? {
                        Value::Str(s) => out.push_str(s.as_str()),
                        v => {
                            return fail(format!(
                                "template value {{{name}}} is {}, not a string",
                                v.kind()
                            ));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn expr(&self, expr: &'a Expr) -> Result<Value<'a>> {
        Ok(match expr {
            Expr::Str(s) => Value::Str(Text::Borrowed(s)),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Null | Expr::Ref(None) => Value::None,
            Expr::Ref(Some(slot)) => self.slots.get(*slot).cloned().unwrap_or_default(),
            Expr::Template(t) => Value::Str(Text::owned(self.render(t)?)),
            Expr::Call(call) => self.call(call)?,
        })
    }

    fn arg(&self, call: &'a Call, i: usize) -> Result<Value<'a>> {
        match call.args.get(i) {
            Some(e) => self.expr(e),
            None => fail("missing argument"),
        }
    }

    fn call(&self, call: &'a Call) -> Result<Value<'a>> {
        let v = |i| self.arg(call, i);
        Ok(match &call.func {
            Func::IsSet => Value::Bool(!matches!(v(0)?, Value::None)),
            Func::Not => Value::Bool(!v(0)?.truthy()),
            Func::BooleanEquals => match (v(0)?, v(1)?) {
                (Value::Bool(a), Value::Bool(b)) => Value::Bool(a == b),
                (a, b) => {
                    return fail(format!(
                        "booleanEquals: both arguments must be booleans, not {} and {}",
                        a.kind(),
                        b.kind()
                    ));
                }
            },
            Func::StringEquals => match (v(0)?, v(1)?) {
                (Value::Str(a), Value::Str(b)) => Value::Bool(a.as_str() == b.as_str()),
                (a, b) => {
                    return fail(format!(
                        "stringEquals: both arguments must be strings, not {} and {}",
                        a.kind(),
                        b.kind()
                    ));
                }
            },
            Func::GetAttr(path) => get_attr(v(0)?, path)?,
            Func::Substring => match (v(0)?, v(1)?, v(2)?, v(3)?) {
                (Value::Str(s), Value::Int(start), Value::Int(stop), reverse) => {
                    functions::substring(&s, start, stop, matches!(reverse, Value::Bool(true)))
                        .map_or(Value::None, Value::Str)
                }
                (s, ..) => {
                    return fail(format!(
                        "substring: takes a string and two integers (input is {})",
                        s.kind()
                    ));
                }
            },
            Func::ParseUrl => match v(0)? {
                Value::None => Value::None,
                Value::Str(s) => match parse_url(&s) {
                    Ok(url) => url.map_or(Value::None, |u| Value::Url(Rc::new(u))),
                    Err(why) => return fail(format!("parseURL: {why}: {:?}", s.as_str())),
                },
                other => return fail(format!("parseURL: input is {}, not a string", other.kind())),
            },
            Func::UriEncode => match v(0)? {
                Value::None => Value::None,
                Value::Str(s) => Value::Str(functions::uri_encode(&s)),
                other => {
                    return fail(format!(
                        "uriEncode: input is {}, not a string",
                        other.kind()
                    ));
                }
            },
            Func::IsValidHostLabel => match v(0)? {
                Value::None => Value::Bool(false),
                Value::Str(s) => Value::Bool(functions::is_valid_host_label(
                    s.as_str(),
                    matches!(v(1)?, Value::Bool(true)),
                )),
                other => {
                    return fail(format!(
                        "isValidHostLabel: input is {}, not a string",
                        other.kind()
                    ));
                }
            },
            Func::IsVirtualHostableS3Bucket => match v(0)? {
                Value::None => Value::Bool(false),
                Value::Str(s) => Value::Bool(functions::is_virtual_hostable_s3_bucket(
                    s.as_str(),
                    matches!(v(1)?, Value::Bool(true)),
                )),
                other => {
                    return fail(format!(
                        "aws.isVirtualHostableS3Bucket: input is {}, not a string",
                        other.kind()
                    ));
                }
            },
            Func::Partition => match v(0)? {
                Value::None => Value::Partition(self.partitions.default_partition()),
                Value::Str(s) => Value::Partition(self.partitions.find(s.as_str())),
                other => {
                    return fail(format!(
                        "aws.partition: input is {}, not a string",
                        other.kind()
                    ));
                }
            },
            Func::ParseArn => match v(0)? {
                Value::None => Value::None,
                Value::Str(s) => {
                    functions::parse_arn(&s).map_or(Value::None, |a| Value::Arn(Rc::new(a)))
                }
                other => {
                    return fail(format!(
                        "aws.parseArn: input is {}, not a string",
                        other.kind()
                    ));
                }
            },
        })
    }
}

/// Follows a `getAttr` path. A missing attribute is an error (botocore raises); an index past the end is unset.
fn get_attr<'a>(mut value: Value<'a>, path: &'a [PathSeg]) -> Result<Value<'a>> {
    for seg in path {
        value = match seg {
            PathSeg::Field(name) => field(&value, name)?,
            PathSeg::Index(i) => match &value {
                Value::None => Value::None,
                Value::List(list) => list.get(*i).map_or(Value::None, Value::Str),
                Value::Str(s) => match s.as_str().char_indices().nth(*i) {
                    Some((at, c)) => s
                        .slice(at..at + c.len_utf8())
                        .map_or(Value::None, Value::Str),
                    None => Value::None,
                },
                other => return fail(format!("getAttr: cannot index {}", other.kind())),
            },
        };
    }
    Ok(value)
}

fn field<'a>(value: &Value<'a>, name: &str) -> Result<Value<'a>> {
    let found = match value {
        Value::Partition(p) => match p.output(name) {
            Some(Json::String(s)) => Some(Value::Str(Text::Borrowed(s))),
            Some(Json::Bool(b)) => Some(Value::Bool(*b)),
            Some(Json::Null) => Some(Value::None),
            _ => None,
        },
        Value::Arn(arn) => match name {
            "partition" => Some(Value::Str(arn.partition.clone())),
            "service" => Some(Value::Str(arn.service.clone())),
            "region" => Some(Value::Str(arn.region.clone())),
            "accountId" => Some(Value::Str(arn.account_id.clone())),
            "resourceId" => Some(Value::List(List::ArnResource(Rc::clone(arn)))),
            _ => None,
        },
        Value::Url(url) => match name {
            "scheme" => Some(Value::Str(url.scheme.clone())),
            "authority" => Some(Value::Str(url.authority.clone())),
            "path" => Some(Value::Str(url.path.clone())),
            "normalizedPath" => Some(Value::Str(url.normalized_path.clone())),
            "isIp" => Some(Value::Bool(url.is_ip)),
            _ => None,
        },
        _ => None,
    };
    match found {
        Some(v) => Ok(v),
        None => fail(format!(
            "getAttr: {} has no attribute {name:?}",
            value.kind()
        )),
    }
}
