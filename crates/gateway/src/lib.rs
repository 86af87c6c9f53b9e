//! The pure parts of Portcullis's MCP gateway: no I/O, no process, no clock.
//!
//! * [`canonical`]: the RFC 8785 (JSON Canonicalization Scheme) form of a definition and its
//!   SHA-256, which the pin file holds for every tool, prompt and resource template.
//! * [`diff`]: what changed between a pinned definition and the one an upstream lists now, field
//!   by field (JSON pointers), bounded so that a hostile definition cannot flood the audit.
//! * [`scan`]: the tool-poisoning scan run when a definition is first pinned and on every diff:
//!   hidden or look-alike Unicode, instructions aimed at the model, references to other
//!   servers' tools and parameters that ask for secrets.

pub mod canonical;
pub mod diff;
pub mod scan;
