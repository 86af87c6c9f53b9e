//! Typed view of a botocore `service-2.json` model (documentation already stripped by the pack).

use std::collections::HashMap;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::value::RawValue;

/// One AWS service's API model: metadata, operations and the shapes they reference.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    /// The botocore service name (its data directory, e.g. `s3`, `codedeploy`).
    #[serde(skip)]
    pub name: String,
    pub metadata: Metadata,
    pub operations: IndexMap<String, Operation>,
    /// Shapes stay raw JSON until first used: a large service (ec2: 4,000+ shapes) is ready in a
    /// few milliseconds, and a request touches only the shapes it needs.
    shapes: HashMap<String, LazyShape>,
}

/// A shape decoded on first access.
struct LazyShape {
    raw: Box<RawValue>,
    /// Boxed: a `Shape` is large, and the map of thousands of them must stay small to build fast.
    decoded: OnceLock<Option<Box<Shape>>>,
}

impl std::fmt::Debug for LazyShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.decoded.get().is_some() {
            "Shape(decoded)"
        } else {
            "Shape(raw)"
        })
    }
}

impl<'de> Deserialize<'de> for LazyShape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            raw: Box::<RawValue>::deserialize(d)?,
            decoded: OnceLock::new(),
        })
    }
}

impl ServiceModel {
    /// Decodes a botocore `service-2.json` document. (Use this rather than `serde_json::from_value`:
    /// shapes are kept as raw JSON text, which only the text deserializers provide.)
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let mut model: ServiceModel = serde_json::from_slice(bytes)?;
        for (key, op) in model.operations.iter_mut() {
            op.name.clone_from(key);
        }
        Ok(model)
    }

    /// Looks up a shape by name (decoding it on first use; `None` if absent or malformed).
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        let lazy = self.shapes.get(name)?;
        lazy.decoded
            .get_or_init(|| serde_json::from_str(lazy.raw.get()).ok().map(Box::new))
            .as_deref()
    }

    /// Names of all shapes (unordered).
    pub fn shape_names(&self) -> impl Iterator<Item = &str> {
        self.shapes.keys().map(String::as_str)
    }

    /// The input structure of an operation, if it has one.
    pub fn input_shape(&self, op: &Operation) -> Option<&Shape> {
        op.input.as_ref().and_then(|r| self.shape(&r.shape))
    }

    /// Looks up an operation by its API name (`PutObject`).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }
}

/// Service-wide settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub protocol: String,
    #[serde(default)]
    pub protocols: Vec<String>,
    pub endpoint_prefix: Option<String>,
    pub service_id: Option<String>,
    pub signing_name: Option<String>,
    pub signature_version: Option<String>,
    pub json_version: Option<String>,
    pub target_prefix: Option<String>,
    pub global_endpoint: Option<String>,
    pub service_full_name: Option<String>,
    pub uid: Option<String>,
    #[serde(default)]
    pub auth: Vec<String>,
    pub aws_query_compatible: Option<serde_json::Value>,
    pub xml_namespace: Option<serde_json::Value>,
}

impl Metadata {
    /// The protocol to speak: the first of the model's `protocols` (in the service's order of
    /// preference) that the caller supports, as botocore chooses; the legacy `protocol` otherwise.
    pub fn resolve_protocol(&self, supported: &[&str]) -> Option<&str> {
        if self.protocols.is_empty() {
            return supported
                .contains(&self.protocol.as_str())
                .then_some(self.protocol.as_str());
        }
        self.protocols
            .iter()
            .map(String::as_str)
            .find(|p| supported.contains(p))
    }
}

/// One API operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The API name: the key in `operations` (what botocore and the CLI use).
    #[serde(skip)]
    pub name: String,
    /// The name on the wire when it differs from the API name (CloudFront's `...2020_05_31`).
    #[serde(rename = "name")]
    pub wire_name: String,
    pub http: Http,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
    /// First sentence of the operation's documentation (kept by the pack for search).
    pub summary: Option<String>,
    #[serde(default)]
    pub deprecated: bool,
    pub authtype: Option<String>,
    #[serde(default)]
    pub auth: Vec<String>,
    /// `{"hostPrefix": ...}` when the operation prefixes the host.
    pub endpoint: Option<serde_json::Value>,
    #[serde(default)]
    pub static_context_params: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    pub context_params: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    pub http_checksum_required: bool,
    pub http_checksum: Option<serde_json::Value>,
    #[serde(default)]
    pub idempotent: bool,
    #[serde(default)]
    pub endpointdiscovery: Option<serde_json::Value>,
}

/// HTTP binding of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    pub method: String,
    pub request_uri: String,
    pub response_code: Option<u16>,
}

/// A reference to a shape, with the traits the referencing member adds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    pub location: Option<String>,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    pub result_wrapper: Option<String>,
    #[serde(default)]
    pub idempotency_token: bool,
    #[serde(default)]
    pub jsonvalue: bool,
    #[serde(default)]
    pub host_label: bool,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub xml_attribute: bool,
    pub xml_namespace: Option<serde_json::Value>,
    #[serde(default)]
    pub deprecated: bool,
    #[serde(default)]
    pub event_payload: bool,
    pub context_param: Option<serde_json::Value>,
    pub timestamp_format: Option<String>,
}

/// The kind of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeType {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Blob,
    Timestamp,
    Float,
    Double,
    Bigdecimal,
    Biginteger,
}

impl ShapeType {
    /// Scalars are what the CLI takes as a single plain word.
    pub fn is_scalar(self) -> bool {
        !matches!(
            self,
            ShapeType::Structure | ShapeType::List | ShapeType::Map
        )
    }

    /// The name botocore uses in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ShapeType::Structure => "structure",
            ShapeType::List => "list",
            ShapeType::Map => "map",
            ShapeType::String => "string",
            ShapeType::Integer => "integer",
            ShapeType::Long => "long",
            ShapeType::Boolean => "boolean",
            ShapeType::Blob => "blob",
            ShapeType::Timestamp => "timestamp",
            ShapeType::Float => "float",
            ShapeType::Double => "double",
            ShapeType::Bigdecimal => "bigdecimal",
            ShapeType::Biginteger => "biginteger",
        }
    }
}

/// A named type in the model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default)]
    pub members: IndexMap<String, ShapeRef>,
    #[serde(default)]
    pub required: Vec<String>,
    pub member: Option<ShapeRef>,
    pub key: Option<ShapeRef>,
    pub value: Option<ShapeRef>,
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: Option<String>,
    pub payload: Option<String>,
    #[serde(default)]
    pub exception: bool,
    pub error: Option<serde_json::Value>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub document: bool,
    #[serde(default)]
    pub union: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub eventstream: bool,
    #[serde(default)]
    pub event: bool,
    #[serde(default)]
    pub requires_length: bool,
    pub timestamp_format: Option<String>,
    pub location_name: Option<String>,
    pub xml_namespace: Option<serde_json::Value>,
    #[serde(default)]
    pub wrapper: bool,
}
