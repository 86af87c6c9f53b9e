//! XML documents for `rest-xml`: a small element tree built from the shapes, then written out.

use portcullis_cli::Value;
use portcullis_model::ShapeType;

use super::{
    Ctx, Member, SerializeError, TimestampFormat, check_depth, expect_list, expect_map, join_path,
    plain_text, scalar_text,
};

#[derive(Debug, Default)]
pub(crate) struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: Option<String>,
}

impl Element {
    fn new(name: &str) -> Element {
        Element {
            name: name.to_string(),
            ..Element::default()
        }
    }

    fn set_attr(&mut self, name: String, value: String) {
        match self.attrs.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name, value)),
        }
    }

    pub fn render(&self) -> Vec<u8> {
        let mut out = String::new();
        self.write(&mut out);
        out.into_bytes()
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape(v, true, out);
            out.push('"');
        }
        if self.children.is_empty() && self.text.as_deref().is_none_or(str::is_empty) {
            out.push_str(" />");
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            escape(t, false, out);
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

/// Escapes markup; carriage returns (and in attributes, tabs and newlines) as character
/// references so the receiving parser's line-end normalization does not change the value.
fn escape(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// Builds the document whose root element `root_name` is the structure (or other shape) `m`.
pub(crate) fn document(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    value: &Value,
    root_name: &str,
) -> Result<Element, SerializeError> {
    let mut pseudo = Element::default();
    add(ctx, m, value, &mut pseudo, root_name, "", 0)?;
    // `add` always appends exactly one node (or several, for a flattened root; keep the first).
    Ok(pseudo
        .children
        .into_iter()
        .next()
        .unwrap_or_else(|| Element::new(root_name)))
}

/// Builds the document whose root element `root_name` is the structure `m` with these members.
pub(crate) fn structure_document<'v>(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    entries: impl IntoIterator<Item = (&'v String, &'v Value)>,
    root_name: &str,
) -> Result<Element, SerializeError> {
    let mut pseudo = Element::default();
    structure(ctx, m, entries, &mut pseudo, root_name, "", 0)?;
    Ok(pseudo
        .children
        .into_iter()
        .next()
        .unwrap_or_else(|| Element::new(root_name)))
}

fn add_namespace(m: &Member<'_>, node: &mut Element) {
    match m.xml_namespace() {
        Some(serde_json::Value::Object(ns)) => {
            let Some(uri) = ns.get("uri").and_then(|u| u.as_str()) else {
                return;
            };
            let attr = match ns.get("prefix").and_then(|p| p.as_str()) {
                Some(p) if !p.is_empty() => format!("xmlns:{p}"),
                _ => "xmlns".to_string(),
            };
            node.set_attr(attr, uri.to_string());
        }
        Some(serde_json::Value::String(uri)) => node.set_attr("xmlns".into(), uri.clone()),
        _ => {}
    }
}

fn add(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    value: &Value,
    parent: &mut Element,
    name: &str,
    path: &str,
    depth: usize,
) -> Result<(), SerializeError> {
    check_depth(depth, path)?;
    match m.kind() {
        ShapeType::Structure => {
            structure(ctx, m, expect_map(value, path)?, parent, name, path, depth)
        }
        ShapeType::List => {
            let elem = m.list_member(ctx)?;
            let items = expect_list(value, path)?;
            if m.flattened() {
                // Flattened: the items sit directly in the parent, each named as the list.
                add_namespace(m, parent);
                for (i, item) in items.iter().enumerate() {
                    add(
                        ctx,
                        &elem,
                        item,
                        parent,
                        name,
                        &format!("{path}[{i}]"),
                        depth + 1,
                    )?;
                }
            } else {
                let mut node = Element::new(name);
                add_namespace(m, &mut node);
                let item_name = elem.location_name().unwrap_or("member");
                for (i, item) in items.iter().enumerate() {
                    add(
                        ctx,
                        &elem,
                        item,
                        &mut node,
                        item_name,
                        &format!("{path}[{i}]"),
                        depth + 1,
                    )?;
                }
                parent.children.push(node);
            }
            Ok(())
        }
        ShapeType::Map => {
            let (key, val) = m.map_entry(ctx)?;
            let entries = expect_map(value, path)?;
            let key_name = key.location_name().unwrap_or("key");
            let val_name = val.location_name().unwrap_or("value");
            let mut entry_nodes = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let mut entry = Element::new(if m.flattened() { name } else { "entry" });
                let p = join_path(path, k);
                add(
                    ctx,
                    &key,
                    &Value::Str(k.clone()),
                    &mut entry,
                    key_name,
                    &p,
                    depth + 1,
                )?;
                if !matches!(v, Value::Null) {
                    add(ctx, &val, v, &mut entry, val_name, &p, depth + 1)?;
                }
                entry_nodes.push(entry);
            }
            if m.flattened() {
                parent.children.extend(entry_nodes);
            } else {
                let mut node = Element::new(name);
                add_namespace(m, &mut node);
                node.children = entry_nodes;
                parent.children.push(node);
            }
            Ok(())
        }
        _ => {
            let mut node = Element::new(name);
            node.text = Some(scalar_text(m, value, TimestampFormat::Iso8601, path)?);
            add_namespace(m, &mut node);
            parent.children.push(node);
            Ok(())
        }
    }
}

fn structure<'v>(
    ctx: &Ctx<'_>,
    m: &Member<'_>,
    entries: impl IntoIterator<Item = (&'v String, &'v Value)>,
    parent: &mut Element,
    name: &str,
    path: &str,
    depth: usize,
) -> Result<(), SerializeError> {
    let mut node = Element::new(name);
    add_namespace(m, &mut node);
    for (key, value) in entries {
        if matches!(value, Value::Null) {
            continue;
        }
        let member = m.child(ctx, key)?;
        let member_name = member.wire_name(key);
        let p = join_path(path, key);
        if member.r.xml_attribute {
            let text = match member.kind() {
                ShapeType::Structure | ShapeType::List | ShapeType::Map => plain_text(value, &p)?,
                _ => scalar_text(&member, value, TimestampFormat::Iso8601, &p)?,
            };
            node.set_attr(member_name.to_string(), text);
            continue;
        }
        add(ctx, &member, value, &mut node, member_name, &p, depth + 1)?;
    }
    parent.children.push(node);
    Ok(())
}
