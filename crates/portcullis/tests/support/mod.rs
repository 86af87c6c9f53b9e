//! Shared test support: a moto server from the project venv.
pub mod e2e;
pub mod mcp;
pub mod moto;
