//! # portcullis-wire
//!
//! The native AWS wire engine (being written): protocol serializers and parsers first.

pub mod protocol;
