//! `portcullis serve`: the MCP server. Agents call AWS through the `call_aws` tool; every command
//! goes through one pipeline (parse → classify → decide → consent → execute → shape, see
//! [`pipeline`]) and nothing runs that the policy did not allow or a person did not approve.
//!
//! This first slice speaks MCP over stdio only: stdout carries the protocol, logs go to stderr.

mod consent;
mod pipeline;
mod settings;
mod tools;

use std::sync::Arc;

use anyhow::Context;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};

pub use settings::Settings;

/// The MCP handler: the settings and pipeline shared by every session.
#[derive(Clone)]
pub struct PortcullisServer {
    pipeline: Arc<pipeline::Pipeline>,
}

impl ServerHandler for PortcullisServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("portcullis", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Run AWS CLI commands with `call_aws` (e.g. `aws s3api list-buckets`); each command is checked against a \
                 policy and writes may ask a person to approve them. `check_aws_command` shows what a command would do and \
                 how the policy decides, without running it.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::all()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let result = match request.name.as_ref() {
            tools::CALL_AWS => tools::call_aws(&self.pipeline, &args, &context.peer).await,
            tools::CHECK_AWS_COMMAND => tools::check_aws_command(&self.pipeline, &args),
            tools::SUGGEST_AWS_COMMANDS => tools::suggest_aws_commands(&args),
            other => return Err(McpError::invalid_params(format!("unknown tool `{other}`"), None)),
        };
        Ok(result.into())
    }
}

/// Runs the server on stdin/stdout until the client disconnects.
pub fn run_stdio() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let settings = Settings::from_env().context("cannot read the server settings")?;
        eprintln!("portcullis: serving MCP on stdio ({})", settings.describe());
        let pipeline = pipeline::Pipeline::new(settings).await?;
        let server = PortcullisServer { pipeline: Arc::new(pipeline) };
        let running = server.serve(rmcp::transport::stdio()).await.context("MCP initialization failed")?;
        let reason = running.waiting().await.context("the MCP session ended abnormally")?;
        eprintln!("portcullis: session ended ({reason:?})");
        Ok(())
    })
}
