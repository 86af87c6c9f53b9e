//! A shape as reached through a reference: the reference's traits (location, locationName,
//! flattened, ...) override the shape's own, as botocore merges them.

use portcullis_model::{ServiceModel, Shape, ShapeRef, ShapeType};

use super::ParseError;

#[derive(Clone, Copy)]
pub(crate) struct Target<'m> {
    pub shape: &'m Shape,
    pub by: Option<&'m ShapeRef>,
}

impl<'m> Target<'m> {
    pub fn resolve(model: &'m ServiceModel, r: &'m ShapeRef) -> Result<Target<'m>, ParseError> {
        let shape = model
            .shape(&r.shape)
            .ok_or_else(|| ParseError::MissingShape(r.shape.clone()))?;
        Ok(Target { shape, by: Some(r) })
    }

    pub fn kind(&self) -> ShapeType {
        self.shape.kind
    }

    /// `header`, `headers`, `statusCode`, ... or `None` for the body.
    pub fn location(&self) -> Option<&'m str> {
        self.by.and_then(|r| r.location.as_deref())
    }

    /// True for members bound outside the body (headers, header maps, status code).
    pub fn is_bound_outside_body(&self) -> bool {
        matches!(self.location(), Some("header" | "headers" | "statusCode"))
    }

    pub fn location_name(&self) -> Option<&'m str> {
        self.by
            .and_then(|r| r.location_name.as_deref())
            .or(self.shape.location_name.as_deref())
    }

    pub fn flattened(&self) -> bool {
        self.by.is_some_and(|r| r.flattened) || self.shape.flattened
    }

    pub fn xml_attribute(&self) -> bool {
        self.by.is_some_and(|r| r.xml_attribute)
    }

    pub fn jsonvalue(&self) -> bool {
        self.by.is_some_and(|r| r.jsonvalue)
    }

    pub fn is_eventstream(&self) -> bool {
        self.shape.eventstream
    }
}

/// The list's member, map's key or value reference.
pub(crate) fn child<'m>(
    model: &'m ServiceModel,
    r: Option<&'m ShapeRef>,
    what: &str,
) -> Result<Target<'m>, ParseError> {
    match r {
        Some(r) => Target::resolve(model, r),
        None => Err(ParseError::MissingShape(format!("<{what}>"))),
    }
}

/// The tag names a union may carry: each member's serialized name.
pub(crate) fn union_tags(shape: &Shape) -> impl Iterator<Item = &str> {
    shape
        .members
        .iter()
        .map(|(name, r)| r.location_name.as_deref().unwrap_or(name.as_str()))
}
