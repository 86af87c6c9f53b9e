//! # portcullis-wire
//!
//! The native AWS wire engine (being written): protocol serializers and parsers first.

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
