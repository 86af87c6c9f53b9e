//! Response parsers (being written).
