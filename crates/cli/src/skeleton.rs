//! `--generate-cli-skeleton`: a JSON template of an operation's input or output.

use portcullis_model::{ServiceModel, ShapeType};

/// A skeleton of the shape named `shape` (empty strings, zeros, one-element lists; recursion cut off).
pub fn skeleton(model: &ServiceModel, shape: &str) -> serde_json::Value {
    let mut stack = Vec::new();
    build(model, shape, &mut stack)
}

fn build(model: &ServiceModel, name: &str, stack: &mut Vec<String>) -> serde_json::Value {
    use serde_json::Value as J;
    let Some(shape) = model.shape(name) else {
        return J::Null;
    };
    if stack.iter().any(|s| s == name) || stack.len() > 16 {
        return J::Object(Default::default());
    }
    stack.push(name.to_string());
    let out = if shape.document {
        J::Object(Default::default())
    } else {
        match shape.kind {
            ShapeType::Structure => J::Object(
                shape
                    .members
                    .iter()
                    .map(|(k, r)| (k.clone(), build(model, &r.shape, stack)))
                    .collect(),
            ),
            ShapeType::List => J::Array(
                shape
                    .member
                    .iter()
                    .map(|m| build(model, &m.shape, stack))
                    .collect(),
            ),
            ShapeType::Map => {
                let mut m = serde_json::Map::new();
                if let Some(v) = &shape.value {
                    m.insert("KeyName".into(), build(model, &v.shape, stack));
                }
                J::Object(m)
            }
            ShapeType::String => match shape.enum_values.as_deref() {
                Some([first, ..]) => J::String(first.clone()),
                _ => J::String(String::new()),
            },
            ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => J::from(0),
            ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => J::from(0.0),
            ShapeType::Boolean => J::Bool(true),
            ShapeType::Blob => J::Null,
            ShapeType::Timestamp => J::String("1970-01-01T00:00:00".into()),
        }
    };
    stack.pop();
    out
}
