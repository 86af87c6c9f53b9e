//! The request pipeline: one AWS CLI command through typed stages, each entered once.
//!
//! ```text
//! assess ─▶ decide ─▶ consent ─▶ limit ─▶ execute ─▶ shape ─▶ record
//! (Assessment)  (Decision)  (Answer)      (Raw)     (Execution) (Outcome + CommandEntry)
//! ```
//!
//! * [`Pipeline::assess`] parses the command once and derives what every later stage needs
//!   (classification, the policy request, the parameters as JSON, the model shapes, the secret
//!   values, the digest), then the policy decides ([`Assessment`]). `check_aws_command` stops here.
//! * [`Pipeline::stack`] is the rest, as `tower` layers around the execute service
//!   ([`stages`]): decide (enforce), consent ([`stages::Approver`]), limit, execute and shape
//!   ([`execute`]), record ([`record`]). What comes out is an [`Outcome`] (no status strings) and
//!   the command's audit entry.
//!
//! A stage never reaches back into an earlier one, and nothing executes without an [`Assessment`]
//! whose decision allows it or whose digest a person approved.

mod assess;
pub mod execute;
pub mod identity;

/// The per-call bounds and the endpoint allow-list, on an engine being built: the engine checks
/// configured endpoints and `--endpoint-url` again at connect time.
fn bound(
    c: &mut portcullis_wire::execute::EngineConfig,
    bounds: &crate::config::Bounds,
    hosts: Vec<String>,
) {
    c.endpoint_hosts = Some(portcullis_wire::egress::EndpointAllowList::new(hosts));
    c.max_items = Some(bounds.max_items);
    c.max_pages = bounds.max_pages;
    c.call_deadline = std::time::Duration::from_secs(bounds.call_timeout_secs);
    c.max_call_bytes = bounds.max_response_bytes;
    c.limits.max_response_bytes = c.limits.max_response_bytes.min(bounds.max_response_bytes);
}

/// The region of commands that name none when nothing configures one (the awslabs server's).
pub const DEFAULT_REGION: &str = "us-east-1";
pub mod limits;
mod outcome;
pub mod record;
pub mod stages;
pub mod users;

use std::sync::Arc;

use portcullis_cli::PathPolicy;
use portcullis_policy::Policy;
use portcullis_sandbox::{FileAccessMode, Sandbox};
use portcullis_wire::execute::Engine;

pub use assess::{Assessment, ParseRefusal, Parsed, Shapes, describe};
pub use outcome::{Answer, Execution, Masked, Outcome, Refusal};
pub use stages::{Approver, Job, Observer, Recorded, Stack, Unobserved};

use crate::config::Settings;

/// The stages shared by every call: file policy, decision policy, one execution engine.
pub struct Pipeline {
    /// The only way local files are reached (the sandbox).
    files: Box<dyn PathPolicy>,
    /// What the sandbox lets commands reach, for the agent (the `call_aws` description).
    pub file_note: String,
    policy: Policy,
    engine: Arc<Engine>,
    region: Option<String>,
    /// Whether responses are masked (secret values the decision did not cover): an agent's are;
    /// a person's at their own terminal (`portcullis exec`) are not.
    mask_output: bool,
    /// Who the pinned credentials are (resolved in the background after start-up).
    pub identity: std::sync::OnceLock<identity::Identity>,
    /// The session policy of the scoped credentials (`PORTCULLIS_ASSUME_ROLE_ARN`), if any.
    pub scoped: Option<crate::scope::SessionPolicy>,
    /// The limits (rates, breakers, concurrency, retry budget), shared by every stack built on
    /// this pipeline.
    limits: Arc<limits::Limits>,
    /// Per-user role sessions (OAuth with role mappings), assumed with `engine`'s credentials.
    users: users::UserSessions,
}

impl Pipeline {
    /// Resolves the region and pins the credentials once, at start-up.
    pub async fn new(settings: Settings) -> anyhow::Result<Pipeline> {
        let hosts = settings.policy.endpoint_hosts();
        let bounds = settings.bounds;
        let limits = Arc::new(limits::Limits::new(settings.limits.clone()));
        let budget = limits.retry_budget();
        let mut region_defaulted = false;
        let engine = Engine::from_environment_with(settings.profile.clone(), false, |c| {
            // As the awslabs server: no region anywhere means us-east-1 (said once, below).
            if c.region.is_none() {
                c.region = Some(DEFAULT_REGION.to_string());
                region_defaulted = true;
            }
            // Retries of every call draw on one budget (AWS_MAX_ATTEMPTS still bounds each).
            c.retry = c.retry.clone().with_budget(budget);
            bound(c, &bounds, hosts);
        })
        .await?;
        if region_defaulted {
            tracing::info!(
                "portcullis: no region set (AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`): commands without --region go to {DEFAULT_REGION}, as with the awslabs server"
            );
        }
        let mut assumed = None;
        let engine = match &settings.assume_role {
            Some(role) => {
                let (engine, session, policy) =
                    crate::scope::assume(engine, role, &settings.policy).await?;
                tracing::info!(
                    "portcullis: scoped credentials: assumed {} (SourceIdentity {}, session policy {} of {} characters{}{})",
                    session.arn,
                    role.source_identity,
                    policy.plaintext_chars,
                    crate::scope::PLAINTEXT_LIMIT,
                    if policy.managed.is_empty() {
                        String::new()
                    } else {
                        format!(", with {}", policy.managed.join(", "))
                    },
                    session
                        .packed_policy_size
                        .map_or_else(String::new, |p| format!(
                            ", packed size {p}% of AWS's limit"
                        )),
                );
                for note in &policy.notes {
                    tracing::info!("portcullis: scoped credentials: {note}");
                }
                assumed = Some((session.arn, policy));
                engine
            }
            None => engine,
        };
        let region = engine.default_region().map(str::to_string);
        let files = Sandbox::new(settings.file_access, &settings.working_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot set up the file sandbox on {}: {e}",
                settings.working_dir.display()
            )
        })?;
        tracing::info!("portcullis: {}", files.summary());
        let file_note = files.describe();
        let mut pipeline = Pipeline::with(
            Box::new(files),
            file_note,
            settings.policy,
            engine,
            region,
            true,
        );
        pipeline.limits = limits;
        if let Some((arn, policy)) = assumed {
            pipeline.scoped = Some(policy);
            // The session is known from AssumeRole: every audit record names it from the start.
            let account = arn.split(':').nth(4).map(str::to_string);
            let _ = pipeline.identity.set(identity::Identity {
                account,
                arn: Some(arn),
                error: None,
            });
        }
        Ok(pipeline)
    }

    /// A pipeline for assessing only (`portcullis policy test`): no credentials, nothing is sent;
    /// `region` is the default region of the commands.
    pub fn offline(
        policy: Policy,
        working_dir: std::path::PathBuf,
        region: Option<String>,
    ) -> anyhow::Result<Pipeline> {
        let engine = Engine::new(portcullis_wire::execute::EngineConfig::default(), None)?;
        let files = Sandbox::new(FileAccessMode::Workdir, &working_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot set up the file sandbox on {}: {e}",
                working_dir.display()
            )
        })?;
        let file_note = files.describe();
        Ok(Pipeline::with(
            Box::new(files),
            file_note,
            policy,
            engine,
            region,
            true,
        ))
    }

    /// The pipeline of `portcullis exec`, which runs for a person at their own terminal: the same
    /// settings as `serve` (policy, per-call bounds, limits), local files read through `files` (as
    /// the AWS CLI would), the credentials of `profile` (else the settings' profile, else
    /// `AWS_PROFILE`/`default`), and responses shown whole (the person at the terminal holds these
    /// credentials anyway; an agent's results are masked).
    pub async fn for_terminal(
        settings: &Settings,
        files: Box<dyn PathPolicy>,
        profile: Option<String>,
    ) -> anyhow::Result<Pipeline> {
        let bounds = settings.bounds;
        let hosts = settings.policy.endpoint_hosts();
        let engine = Engine::from_environment_with(
            profile.or_else(|| settings.profile.clone()),
            false,
            |c| bound(c, &bounds, hosts),
        )
        .await?;
        let region = engine.default_region().map(str::to_string);
        Ok(Pipeline::with(
            files,
            String::new(),
            settings.policy.clone(),
            engine,
            region,
            false,
        )
        .with_limits(settings.limits.clone()))
    }

    /// A pipeline from its parts, for a program that sets up its own engine (credentials,
    /// endpoints, bounds) and file policy; `mask_output`: mask the secret values of responses the
    /// decision did not cover (an agent's results), or show them whole (a person's terminal).
    pub fn from_parts(
        policy: Policy,
        files: Box<dyn PathPolicy>,
        engine: Engine,
        mask_output: bool,
    ) -> Pipeline {
        let region = engine.default_region().map(str::to_string);
        Pipeline::with(files, String::new(), policy, engine, region, mask_output)
    }

    fn with(
        files: Box<dyn PathPolicy>,
        file_note: String,
        policy: Policy,
        engine: Engine,
        region: Option<String>,
        mask_output: bool,
    ) -> Pipeline {
        Pipeline {
            files,
            file_note,
            policy,
            engine: Arc::new(engine),
            region,
            mask_output,
            identity: Default::default(),
            scoped: None,
            limits: Arc::new(limits::Limits::new(limits::LimitSettings::default())),
            users: users::UserSessions::default(),
        }
    }

    /// The same pipeline under other limits (a program that builds its own, the tests).
    #[must_use]
    pub fn with_limits(mut self, settings: limits::LimitSettings) -> Pipeline {
        self.limits = Arc::new(limits::Limits::new(settings));
        self
    }

    /// How long one call may take, over every page and retry (`PORTCULLIS_CALL_TIMEOUT`); a
    /// `call_aws` batch shares one such deadline.
    pub fn call_deadline(&self) -> std::time::Duration {
        self.engine.call_deadline()
    }

    /// The same pipeline under `limits`, shared with whoever else holds them (an engine built
    /// with `limits.retry_budget()` draws its retries on the same budget).
    #[must_use]
    pub fn with_shared_limits(mut self, limits: Arc<limits::Limits>) -> Pipeline {
        self.limits = limits;
        self
    }

    /// The limits every stack built on this pipeline shares.
    pub fn limits(&self) -> &Arc<limits::Limits> {
        &self.limits
    }

    /// A region `--region *` would reach, to check such a command in: the default region when
    /// the policy allows it, else the first common region it allows.
    pub fn fan_out_example_region(&self) -> String {
        let policy = &self.policy;
        self.region
            .iter()
            .map(String::as_str)
            .chain([
                DEFAULT_REGION,
                "us-west-2",
                "eu-west-1",
                "eu-central-1",
                "ap-southeast-1",
                "ap-northeast-1",
                "sa-east-1",
                "ca-central-1",
            ])
            .find(|r| policy.allows_region(r))
            .unwrap_or(DEFAULT_REGION)
            .to_string()
    }

    /// The engine (the pinned, or scoped, credentials).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine `caller`'s commands run with: its role's session (assumed on first use with
    /// the server's credentials, cached, renewed before expiry), else the server's own. A role
    /// that cannot be assumed is the error (never the server's credentials instead).
    pub async fn engine_for(&self, caller: &limits::Caller) -> Result<Arc<Engine>, String> {
        match &caller.role {
            None => Ok(Arc::clone(&self.engine)),
            Some(role) => {
                self.users
                    .engine(&self.engine, role, self.scoped.as_ref())
                    .await
            }
        }
    }

    /// The ARN of `caller`'s role session, once assumed (for its audit records).
    pub fn session_arn(&self, caller: &limits::Caller) -> Option<String> {
        caller.role.as_ref().and_then(|r| self.users.arn(r))
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

#[cfg(test)]
#[path = "equivalence_tests.rs"]
mod equivalence_tests;
