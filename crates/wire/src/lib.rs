//! # portcullis-wire
//!
//! The native AWS wire engine: endpoints, serializers and parsers for every protocol but
//! smithy-rpc-v2-cbor, SigV4, retries, pagination, output, the high-level `aws s3` commands and
//! the other customizations (`extra`). ARCHITECTURE.md has the code map.

mod after_call;
pub mod credentials;
pub mod egress;
pub mod execute;
pub mod extra;
pub mod output;
pub mod paginate;
pub mod protocol;
pub mod retry;
pub mod s3;
pub mod sign;
pub mod transport;
