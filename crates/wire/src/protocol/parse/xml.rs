//! XML bodies (`query`, `ec2`, `rest-xml`): a small element tree, walked along the shapes.
//!
//! Element names are compared without their namespace prefix, as botocore strips namespaces.
//! Repeated child elements are how flattened lists and maps arrive, so a member is looked up
//! as the list of child elements with its name.

use indexmap::IndexMap;
use portcullis_model::{ShapeRef, ShapeType};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use super::member::{self, Target};
use super::scalar::{self, Source};
use super::{Ctx, ParseError, Protocol};

/// Deeper documents are refused rather than walked (AWS responses are shallow).
const MAX_DEPTH: usize = 128;

#[derive(Debug, Default)]
pub(crate) struct Element {
    /// The name as written, prefix included.
    pub qname: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// Character data directly inside this element.
    pub text: String,
}

impl Element {
    /// The name without its namespace prefix.
    pub fn name(&self) -> &str {
        local(&self.qname)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name() == name)
    }

    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Children grouped by name, in document order.
    fn by_name(&self) -> IndexMap<&str, Vec<&Element>> {
        let mut map: IndexMap<&str, Vec<&Element>> = IndexMap::new();
        for c in &self.children {
            map.entry(c.name()).or_default().push(c);
        }
        map
    }
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn malformed(reason: impl std::fmt::Display) -> ParseError {
    ParseError::Malformed(format!("invalid XML body: {reason}"))
}

/// Parses an XML document into its root element.
pub(crate) fn read(body: &[u8]) -> Result<Element, ParseError> {
    let text = String::from_utf8_lossy(body);
    let mut reader = Reader::from_str(&text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() && stack.is_empty() => {
                let _ = e;
                return Err(malformed("more than one root element"));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed("too deeply nested"));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| {
                            malformed(format!("undefined entity `{}`", scalar::shorten(&r)))
                        })?
                        .to_string(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    root.ok_or_else(|| malformed("no element found"))
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, ParseError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(malformed)?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::default())
            .map_err(malformed)?;
        attrs.push((a.key.as_ref().to_string(), value.into_owned()));
    }
    Ok(Element {
        qname: e.name().as_ref().to_string(),
        attrs,
        ..Element::default()
    })
}

/// The element an exception structure is read from.
pub(crate) fn error_root(protocol: Protocol, root: &Element) -> &Element {
    if protocol == Protocol::Ec2 {
        return root
            .child("Errors")
            .and_then(|e| e.child("Error"))
            .unwrap_or(root);
    }
    if root.name() == "ErrorResponse" {
        return root.child("Error").unwrap_or(root);
    }
    root
}

/// `query` and `ec2` outputs: the result wrapper element (when the output names one) holds the
/// members.
pub(crate) fn parse_query_output(
    ctx: Ctx<'_>,
    t: Target<'_>,
    output: &ShapeRef,
    body: &[u8],
) -> Result<Value, ParseError> {
    let root = read(body)?;
    let start = match output.result_wrapper.as_deref() {
        Some(wrapper) => match root.child(wrapper) {
            Some(el) => el,
            None => return Ok(Value::Object(Map::new())),
        },
        None => &root,
    };
    walk(ctx, t, &[start])
}

/// The value of `nodes` (one element, or the repeated elements of a flattened member) as `t`.
pub(crate) fn walk(ctx: Ctx<'_>, t: Target<'_>, nodes: &[&Element]) -> Result<Value, ParseError> {
    let Some(first) = nodes.first() else {
        return Ok(Value::Null);
    };
    match t.kind() {
        ShapeType::Structure => structure(ctx, t, first),
        ShapeType::List => {
            let member = member::child(ctx.model, t.shape.member.as_ref(), "list member")?;
            let items: Vec<&Element> = if t.flattened() || nodes.len() > 1 {
                nodes.to_vec()
            } else {
                first.children.iter().collect()
            };
            items
                .into_iter()
                .map(|item| walk(ctx, member, &[item]))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        ShapeType::Map => map(ctx, t, nodes),
        _ => scalar::from_text(ctx, t, &first.text, Source::Xml),
    }
}

fn map(ctx: Ctx<'_>, t: Target<'_>, nodes: &[&Element]) -> Result<Value, ParseError> {
    let key_t = member::child(ctx.model, t.shape.key.as_ref(), "map key")?;
    let value_t = member::child(ctx.model, t.shape.value.as_ref(), "map value")?;
    let key_name = key_t.location_name().unwrap_or("key");
    let value_name = value_t.location_name().unwrap_or("value");
    let entries: Vec<&Element> = match nodes {
        [one] if !t.flattened() => one.children.iter().collect(),
        many => many.to_vec(),
    };
    let mut out = Map::new();
    for entry in entries {
        let (mut key, mut value) = (None, None);
        for part in &entry.children {
            if part.name() == key_name {
                key = Some(part.text.clone());
            } else if part.name() == value_name {
                value = Some(walk(ctx, value_t, &[part])?);
            } else {
                return Err(malformed(format!(
                    "unknown tag `{}` in a map entry",
                    scalar::shorten(part.name())
                )));
            }
        }
        if let (Some(k), Some(v)) = (key, value) {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

fn structure(ctx: Ctx<'_>, t: Target<'_>, node: &Element) -> Result<Value, ParseError> {
    let node = if t.shape.exception {
        error_root(ctx.protocol, node)
    } else {
        node
    };
    let children = node.by_name();
    if t.shape.union {
        let mut names = children.keys();
        let (Some(tag), None) = (names.next(), names.next()) else {
            return Err(ParseError::Malformed(
                "a union must have exactly one member set".into(),
            ));
        };
        if !member::union_tags(t.shape).any(|known| known == *tag) {
            return Ok(super::json::unknown_union_member(tag));
        }
    }
    let mut out = Map::new();
    for (name, r) in &t.shape.members {
        let m = Target::resolve(ctx.model, r)?;
        if m.is_bound_outside_body() {
            continue;
        }
        // botocore's element name first; then Smithy's (the member's own xmlName, else its
        // name), which some services' newer models assume.
        let xml_name = member_xml_name(ctx, m, name)?;
        let smithy_name = r.location_name.as_deref().unwrap_or(name);
        let found = children.get(xml_name).or_else(|| children.get(smithy_name));
        if let Some(found) = found {
            let v = walk(ctx, m, found)?;
            if !v.is_null() {
                out.insert(name.clone(), v);
            }
        } else if m.xml_attribute()
            && let Some(v) = attribute(node, m.location_name().unwrap_or(name))
        {
            out.insert(name.clone(), scalar::from_text(ctx, m, v, Source::Xml)?);
        }
    }
    Ok(Value::Object(out))
}

/// The element name a member is found under: a flattened list's items carry the list
/// member's name when it has one.
fn member_xml_name<'m>(ctx: Ctx<'m>, m: Target<'m>, name: &'m str) -> Result<&'m str, ParseError> {
    if m.kind() == ShapeType::List && m.flattened() {
        let item = member::child(ctx.model, m.shape.member.as_ref(), "list member")?;
        if let Some(n) = item.location_name() {
            return Ok(n);
        }
    }
    Ok(m.location_name().unwrap_or(name))
}

/// An attribute by its modeled name (`xsi:type`): the prefix in the document may differ, so a
/// prefixed name also matches any prefixed attribute with the same local part.
fn attribute<'e>(node: &'e Element, wanted: &str) -> Option<&'e str> {
    node.attrs
        .iter()
        .find(|(k, _)| k == wanted)
        .or_else(|| {
            wanted.contains(':').then(|| {
                node.attrs.iter().find(|(k, _)| {
                    k.contains(':') && !k.starts_with("xmlns") && local(k) == local(wanted)
                })
            })?
        })
        .map(|(_, v)| v.as_str())
}
