//! Shared test support: a moto server from the project venv, the MCP client, the end-to-end
//! corpora, and the binary serving HTTP.
pub mod e2e;
pub mod gateway;
pub mod mcp;
pub mod moto;
pub mod oidc;
pub mod pipeline;
pub mod serve;
