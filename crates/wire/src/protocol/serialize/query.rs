//! The `query` and `ec2` protocols: the input flattened into form fields
//! (`Action=…&Version=…&Tags.member.1.Key=…`), sent as an urlencoded `POST` body.

use indexmap::IndexMap;
use portcullis_cli::Value;
use portcullis_model::ShapeType;

use super::{
    Body, Ctx, HttpRequest, Member, SerializeError, TimestampFormat, check_depth, expect_list,
    expect_map, join_path, render_query, scalar_text,
};

/// The two spellings of the query protocol.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Query,
    /// EC2: `queryName` wins, `locationName` is capitalized, lists are always `Name.N` and empty
    /// lists are left out.
    Ec2,
}

pub(crate) fn serialize(
    ctx: &Ctx<'_>,
    params: &IndexMap<String, Value>,
    dialect: Dialect,
) -> Result<HttpRequest, SerializeError> {
    // Later writes of one field replace the value in place, as in botocore's dict.
    let mut fields: IndexMap<String, String> = IndexMap::new();
    fields.insert("Action".into(), ctx.op_name().to_string());
    fields.insert("Version".into(), ctx.model.metadata.api_version.clone());
    if let Some(input) = ctx.input()? {
        let mut w = Writer {
            ctx,
            dialect,
            fields: &mut fields,
        };
        w.structure(&input, params, "", 0)?;
    }
    let pairs: Vec<(String, Option<String>)> =
        fields.into_iter().map(|(k, v)| (k, Some(v))).collect();
    Ok(HttpRequest {
        method: ctx.op.http.method.clone(),
        path: "/".to_string(),
        query: Vec::new(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        body: Body::Bytes(render_query(&pairs).into_bytes()),
        host_prefix: ctx.host_prefix(params)?,
    })
}

struct Writer<'c, 'a> {
    ctx: &'c Ctx<'a>,
    dialect: Dialect,
    fields: &'c mut IndexMap<String, String>,
}

impl<'a> Writer<'_, 'a> {
    /// A name on the wire: for EC2 `queryName`, else the capitalized `locationName`; for query the
    /// `locationName`; else `default`.
    fn name(&self, m: &Member<'a>, default: &str) -> String {
        if self.dialect == Dialect::Ec2 {
            if let Some(q) = &m.r.query_name {
                return q.clone();
            }
            if let Some(n) = m.location_name() {
                return capitalize(n);
            }
        }
        m.location_name().unwrap_or(default).to_string()
    }

    /// A structure member's name: as [`Self::name`], and for EC2 a bare member name is
    /// capitalized too (Smithy's `awsEc2Query` rule; botocore's models always carry a
    /// `locationName` or `queryName`, so for them this changes nothing).
    fn member_name(&self, m: &Member<'a>, member: &str) -> String {
        if self.dialect == Dialect::Ec2 && m.r.query_name.is_none() && m.location_name().is_none() {
            return capitalize(member);
        }
        self.name(m, member)
    }

    fn value(
        &mut self,
        m: &Member<'a>,
        value: &Value,
        prefix: &str,
        depth: usize,
    ) -> Result<(), SerializeError> {
        check_depth(depth, prefix)?;
        match m.kind() {
            ShapeType::Structure => self.structure(m, expect_map(value, prefix)?, prefix, depth),
            ShapeType::List => self.list(m, expect_list(value, prefix)?, prefix, depth),
            ShapeType::Map => self.map(m, expect_map(value, prefix)?, prefix, depth),
            _ => {
                let text = scalar_text(m, value, TimestampFormat::Iso8601, prefix)?;
                self.fields.insert(prefix.to_string(), text);
                Ok(())
            }
        }
    }

    fn structure(
        &mut self,
        m: &Member<'a>,
        entries: &IndexMap<String, Value>,
        prefix: &str,
        depth: usize,
    ) -> Result<(), SerializeError> {
        for (key, value) in entries {
            if matches!(value, Value::Null) {
                continue;
            }
            let member = m.child(self.ctx, key)?;
            let name = self.member_name(&member, key);
            self.value(&member, value, &join_path(prefix, &name), depth + 1)?;
        }
        Ok(())
    }

    fn list(
        &mut self,
        m: &Member<'a>,
        items: &[Value],
        prefix: &str,
        depth: usize,
    ) -> Result<(), SerializeError> {
        let elem = m.list_member(self.ctx)?;
        let list_prefix = match self.dialect {
            Dialect::Ec2 => prefix.to_string(),
            Dialect::Query if items.is_empty() => {
                // The query protocol sends an empty list as an empty field.
                self.fields.insert(prefix.to_string(), String::new());
                return Ok(());
            }
            Dialect::Query if m.flattened() => match elem.location_name() {
                // A flattened list with a named member replaces the last segment with that name.
                Some(name) => match prefix.rsplit_once('.') {
                    Some((head, _)) => format!("{head}.{name}"),
                    None => name.to_string(),
                },
                None => prefix.to_string(),
            },
            Dialect::Query => format!("{prefix}.{}", elem.location_name().unwrap_or("member")),
        };
        for (i, item) in items.iter().enumerate() {
            if matches!(item, Value::Null) {
                continue;
            }
            self.value(&elem, item, &format!("{list_prefix}.{}", i + 1), depth + 1)?;
        }
        Ok(())
    }

    fn map(
        &mut self,
        m: &Member<'a>,
        entries: &IndexMap<String, Value>,
        prefix: &str,
        depth: usize,
    ) -> Result<(), SerializeError> {
        let (key, val) = m.map_entry(self.ctx)?;
        let base = if m.flattened() {
            prefix.to_string()
        } else {
            format!("{prefix}.entry")
        };
        let key_name = self.name(&key, "key");
        let val_name = self.name(&val, "value");
        for (i, (k, v)) in entries.iter().enumerate() {
            let n = i + 1;
            self.fields
                .insert(format!("{base}.{n}.{key_name}"), k.clone());
            if matches!(v, Value::Null) {
                continue;
            }
            self.value(&val, v, &format!("{base}.{n}.{val_name}"), depth + 1)?;
        }
        Ok(())
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
