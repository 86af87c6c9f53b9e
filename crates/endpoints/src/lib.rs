//! AWS endpoint rules (being written).
