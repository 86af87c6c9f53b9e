//! AWS protocols: serialize a request, parse a response.

pub mod parse;
pub mod serialize;
pub mod timestamp;
