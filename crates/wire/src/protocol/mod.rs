//! AWS protocols: serialize a request, parse a response.

pub mod parse;
pub mod serialize;
pub mod timestamp;

/// The protocols this engine speaks.
pub const SUPPORTED: &[&str] = &["json", "rest-json", "rest-xml", "query", "ec2"];

/// The protocol to use for a service: its preferred one among [`SUPPORTED`] (CloudWatch prefers
/// `smithy-rpc-v2-cbor`, then `json`), or its declared one (which then fails as unsupported).
pub fn resolve(model: &portcullis_model::ServiceModel) -> &str {
    model
        .metadata
        .resolve_protocol(SUPPORTED)
        .unwrap_or(model.metadata.protocol.as_str())
}
