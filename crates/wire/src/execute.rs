//! The executor: one validated [`OperationCall`] in, the AWS response (all pages merged) out.
//!
//! For each request: resolve the endpoint from the service's rule set (region, configured
//! endpoint, static and member context parameters), serialize by protocol, sign with the auth
//! scheme the rules chose, send with retries, parse the response or the service's error, and page
//! through results the way the AWS CLI does ([`crate::paginate::Pager`]).
//!
//! Every call is bounded ([`EngineConfig`]): a deadline over all its attempts and pages, a page
//! cap, an item cap and a byte budget. When a bound stops paging after some pages, the call
//! returns what it gathered with a `NextToken` in the CLI's format and says so in
//! [`Output::truncated`] (never silently); a bound hit before the first page is an error naming it.
//! An endpoint given outside the rules is checked against [`EngineConfig::endpoint_hosts`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use portcullis_cli::{FileUse, OperationCall, PathPolicy, Value};
use portcullis_endpoints::{Endpoint, EndpointError, ParamValue, Params, Partitions, RuleSet};
use portcullis_model::{Models, Operation, ServiceModel, models};
use serde_json::Value as Json;

use crate::credentials::{ChainSettings, CredentialsError, CredentialsProvider, resolve_region};
use crate::egress::EndpointAllowList;
use crate::output::jmespath::Query;
use crate::output::{OutputError, OutputFormat, RenderOptions, render_with};
use crate::paginate::{Pager, PaginationError, PaginatorConfig, Step};
use crate::protocol::parse::{self, HttpResponse, ParseError, ServiceError};
use crate::protocol::serialize::{self, SerializeError, percent_encode};
use crate::retry::{
    RetryKind, RetryPolicy, RetrySettingsError, classify_service_error, classify_transport_error,
    with_retries,
};
use crate::sign::{SignError, SigningOptions, sign};
use crate::transport::{
    Limits, PreparedBody, PreparedRequest, Transport, TransportConfig, TransportError,
};

/// How the engine is set up (fixed for the life of a server).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Region when the command gives none (`AWS_REGION`, the profile's region).
    pub region: Option<String>,
    pub transport: TransportConfig,
    pub limits: Limits,
    /// Retries ([`RetryPolicy::standard`] by default; [`Engine::from_environment`] applies
    /// `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` and the profile's `retry_mode` / `max_attempts`).
    pub retry: RetryPolicy,
    /// Most pages one call fetches (default 100); then it stops with a `NextToken`.
    pub max_pages: usize,
    /// Most items (of the paginator's first result key) one call returns (default 1000), on top
    /// of the agent's own `--max-items`; then it stops with a `NextToken`. `None`: no cap.
    pub max_items: Option<u64>,
    /// Response bytes one call reads over all its pages (default 64 MiB): once reached, paging
    /// stops with a `NextToken`. A single response is bounded by [`Limits::max_response_bytes`].
    pub max_call_bytes: usize,
    /// Bound on a whole call: every attempt, retry wait and page (default 60 s).
    pub call_deadline: Duration,
    /// Hosts an endpoint from outside the rules (`--endpoint-url`, configured endpoints) may
    /// name: loopback always, others as the policy's `global_options.endpoint_hosts` lists them.
    /// `None` (the default): not checked here, only by the policy (`--endpoint-url`). Whatever
    /// this says, the transport never connects to metadata or link-local addresses.
    pub endpoint_hosts: Option<EndpointAllowList>,
    /// Endpoints configured outside the command (see [`ConfiguredEndpoints`]).
    pub endpoints: ConfiguredEndpoints,
}

/// Endpoints configured outside the command, in the AWS precedence order after `--endpoint-url`:
/// `AWS_ENDPOINT_URL_<SERVICE_ID>`, `AWS_ENDPOINT_URL`, the profile's `services` section, the
/// profile's `endpoint_url`; none at all when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the
/// profile's `ignore_configured_endpoint_urls`) is true. Captured once at start-up.
#[derive(Debug, Clone, Default)]
pub struct ConfiguredEndpoints {
    per_service: HashMap<String, String>,
    global: Option<String>,
    profile_per_service: HashMap<String, String>,
    profile_global: Option<String>,
    ignore: bool,
}

impl ConfiguredEndpoints {
    /// From `(name, value)` pairs of the environment.
    pub fn from_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: Vec<(String, String)> = vars.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        if vars.iter().any(|(k, v)| {
            k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" && v.eq_ignore_ascii_case("true")
        }) {
            return Self {
                ignore: true,
                ..Self::default()
            };
        }
        let mut out = Self::default();
        for (k, v) in vars {
            if k == "AWS_ENDPOINT_URL" {
                out.global = Some(v);
            } else if let Some(id) = k.strip_prefix("AWS_ENDPOINT_URL_") {
                out.per_service.insert(id.to_string(), v);
            }
        }
        out
    }

    /// Adds what the shared config file says for `profile`: its `endpoint_url`, and the
    /// `endpoint_url` of each service in the `[services NAME]` section it names.
    pub fn with_config_file(mut self, config: &str, profile: &str) -> Self {
        let ini = Ini::parse(config);
        let Some(props) = ini.profile(profile) else {
            return self;
        };
        if props
            .get("ignore_configured_endpoint_urls")
            .is_some_and(|v| v.value.eq_ignore_ascii_case("true"))
        {
            self.ignore = true;
        }
        self.profile_global = props
            .get("endpoint_url")
            .map(|p| p.value.clone())
            .filter(|v| !v.is_empty());
        if let Some(services) = props.get("services").map(|p| p.value.clone())
            && let Some(svc) = ini.sections.get(&format!("services {services}"))
        {
            for (name, prop) in svc {
                if let Some(url) = prop.sub.get("endpoint_url") {
                    self.profile_per_service
                        .insert(name.to_ascii_lowercase(), url.clone());
                }
            }
        }
        self
    }

    /// The configured endpoint for a service, by its service id (`Secrets Manager` →
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `secrets_manager` in a `services` section).
    pub fn for_service(&self, service_id: &str) -> Option<&str> {
        if self.ignore {
            return None;
        }
        let key: String = service_id
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        self.per_service
            .get(&key)
            .or(self.global.as_ref())
            .or_else(|| self.profile_per_service.get(&key.to_ascii_lowercase()))
            .or(self.profile_global.as_ref())
            .map(String::as_str)
    }
}

/// A property of the shared config file, with its nested sub-properties (`dynamodb =` followed by
/// indented `endpoint_url = ...` lines).
#[derive(Debug, Default)]
struct IniProp {
    value: String,
    sub: HashMap<String, String>,
}

/// The AWS shared config file's INI dialect, as far as endpoints need it.
#[derive(Debug, Default)]
struct Ini {
    sections: HashMap<String, HashMap<String, IniProp>>,
}

impl Ini {
    /// The section of `profile` (`[default]`, `[profile NAME]`).
    fn profile(&self, profile: &str) -> Option<&HashMap<String, IniProp>> {
        let section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        self.sections.get(&section)
    }

    fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for raw in text.lines() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
                ini.sections.entry(name.clone()).or_default();
                section = Some(name);
                last_key = None;
                continue;
            }
            let Some(sec) = section.as_ref().and_then(|s| ini.sections.get_mut(s)) else {
                continue;
            };
            let Some((k, v)) = trimmed.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            let indented = line.starts_with([' ', '\t']);
            match (&last_key, indented) {
                (Some(parent), true) => {
                    if let Some(p) = sec.get_mut(parent) {
                        p.sub.insert(k, v);
                    }
                }
                _ => {
                    sec.insert(
                        k.clone(),
                        IniProp {
                            value: v,
                            sub: HashMap::new(),
                        },
                    );
                    last_key = Some(k);
                }
            }
        }
        ini
    }
}

/// The retry policy the AWS CLI would use: `env` looks up environment variables, `config` is the
/// shared config file's text (if there is one) and `profile` the profile in use. See
/// [`RetryPolicy::from_aws_settings`].
fn retry_policy_from(
    env: impl Fn(&str) -> Option<String>,
    config: Option<&str>,
    profile: &str,
) -> Result<RetryPolicy, RetrySettingsError> {
    let ini = config.map(Ini::parse).unwrap_or_default();
    let props = ini.profile(profile);
    RetryPolicy::from_aws_settings(env, profile, |key| {
        props.and_then(|p| p.get(key)).map(|p| p.value.clone())
    })
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            region: None,
            transport: TransportConfig::default(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            max_pages: 100,
            max_items: Some(1000),
            max_call_bytes: 64 * 1024 * 1024,
            call_deadline: Duration::from_secs(60),
            endpoint_hosts: None,
            endpoints: ConfiguredEndpoints::default(),
        }
    }
}

/// A call's result and the HTTP attempts it made, failed or not ([`Engine::execute_counted`]).
#[derive(Debug)]
pub struct Counted {
    pub result: Result<Output, ExecError>,
    pub attempts: u32,
}

/// What a call returned.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The response (pages merged), as the AWS CLI prints it before `--query`.
    pub value: Json,
    /// Request ids of every page, for the audit trail.
    pub request_ids: Vec<String>,
    pub pages: usize,
    /// Attempts made (over all pages), including retries.
    pub attempts: u32,
    /// Each page as received (after `--max-items` truncation), kept only by
    /// [`Engine::execute_pages`]: the CLI prints text output page by page.
    pub page_values: Vec<Json>,
    /// Response body bytes read (over all pages and attempts that completed).
    pub response_bytes: usize,
    /// Set when one of the engine's bounds stopped paging early: `value` then holds what was
    /// gathered and its `NextToken`. Show [`Truncated`]'s text to the agent. (A `NextToken` from
    /// the agent's own `--max-items` is the CLI's behaviour and is not flagged.)
    pub truncated: Option<Truncated>,
}

/// The bound that stopped a call early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TruncatedBy {
    /// [`EngineConfig::max_pages`] pages were fetched and the service had more.
    Pages(usize),
    /// [`EngineConfig::max_items`] items were gathered.
    Items(u64),
    /// The call's responses reached [`EngineConfig::max_call_bytes`].
    CallBytes(usize),
    /// The next page was larger than [`Limits::max_response_bytes`].
    ResponseBytes(usize),
    /// [`EngineConfig::call_deadline`] ran out while fetching the next page.
    Deadline(Duration),
}

/// An explicit marker for output cut short by a bound: why, and how to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    pub by: TruncatedBy,
    pub pages: usize,
    /// The `NextToken` in `value` (for `--starting-token`), when the paginator can resume.
    pub next_token: Option<String>,
}

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match &self.by {
            TruncatedBy::Pages(n) => format!("the per-call limit of {n} pages was reached"),
            TruncatedBy::Items(n) => format!("the per-call limit of {n} items was reached"),
            TruncatedBy::CallBytes(n) => {
                format!("the responses reached the per-call limit of {n} bytes")
            }
            TruncatedBy::ResponseBytes(n) => format!(
                "the next page is larger than the limit of {n} bytes per response (use a smaller --page-size)"
            ),
            TruncatedBy::Deadline(d) => {
                format!("the per-call deadline of {} s ran out", d.as_secs_f64())
            }
        };
        write!(f, "[output truncated after {} page(s): {why}", self.pages)?;
        match &self.next_token {
            Some(t) => write!(
                f,
                "; run the same command with --starting-token {t} to continue]"
            ),
            None => f.write_str("]"),
        }
    }
}

/// Why a call did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no region: give --region, or set AWS_REGION or a region in the profile")]
    NoRegion,
    /// A retry setting in the environment or the profile that the AWS CLI would refuse too
    /// (found at start-up).
    #[error("{0}")]
    RetrySettings(#[from] RetrySettingsError),
    #[error("the model has no {0}")]
    Model(String),
    #[error("endpoint: {0}")]
    Endpoint(#[from] EndpointError),
    #[error("request: {0}")]
    Serialize(#[from] SerializeError),
    #[error("signing: {0}")]
    Sign(#[from] SignError),
    #[error("credentials: {0}")]
    Credentials(CredentialsError),
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The service answered with an error.
    #[error("{0}")]
    Service(Box<ServiceError>),
    #[error("response: {0}")]
    Parse(ParseError),
    #[error("{0}")]
    Pagination(#[from] PaginationError),
    #[error("{0}")]
    Unsupported(String),
    #[error("local file: {0}")]
    File(String),
    /// The call did not finish within [`EngineConfig::call_deadline`] (before any page).
    #[error("the call did not finish within its deadline of {} s (all attempts and pages); narrow the request (filters, --max-items, --page-size) or ask the operator to raise the per-call deadline", .0.as_secs_f64())]
    Deadline(Duration),
    /// An endpoint from outside the rules that [`EngineConfig::endpoint_hosts`] does not admit.
    #[error("{0}")]
    EndpointRefused(String),
}

// Not `#[from]`: that would make the inner error the source too, and `{:#}` would print it twice.
impl From<CredentialsError> for ExecError {
    fn from(e: CredentialsError) -> Self {
        ExecError::Credentials(e)
    }
}

impl From<ParseError> for ExecError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Service(s) => ExecError::Service(s),
            other => ExecError::Parse(other),
        }
    }
}

/// The engine: models, one pooled transport, pinned credentials, endpoint rule sets (parsed once).
pub struct Engine {
    models: &'static Models,
    transport: Transport,
    credentials: Option<CredentialsProvider>,
    partitions: Partitions,
    rule_sets: Mutex<HashMap<String, Arc<RuleSet>>>,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Output {
    /// The text the AWS CLI prints for this output: `--query` applied, then formatted — page by
    /// page for the page-wise formats (text, yaml-stream; run with [`Engine::execute_pages`]),
    /// with `title` (the operation name) on tables.
    pub fn render(
        self,
        title: &str,
        query: Option<&Query>,
        format: OutputFormat,
    ) -> Result<String, OutputError> {
        let values = if format.is_page_wise() && !self.page_values.is_empty() {
            self.page_values
        } else {
            vec![self.value]
        };
        let opts = RenderOptions {
            title: Some(title),
            ..RenderOptions::default()
        };
        let mut text = String::new();
        for value in values {
            let value = match query {
                Some(q) => q.search(&value).map_err(OutputError::Query)?,
                None => value,
            };
            text.push_str(&render_with(&value, format, &opts)?);
        }
        Ok(text)
    }
}

impl Engine {
    /// An engine set up as the AWS CLI would be from this process's environment: credentials of
    /// `profile` (else `AWS_PROFILE`/`default`) unless `unsigned`, region from `AWS_REGION`,
    /// `AWS_DEFAULT_REGION` or the profile, configured endpoints from `AWS_ENDPOINT_URL*`, retries
    /// from `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` or the profile's `retry_mode` /
    /// `max_attempts` ([`RetryPolicy::from_aws_settings`]; a bad value is an
    /// [`ExecError::RetrySettings`]).
    pub async fn from_environment(
        profile: Option<String>,
        unsigned: bool,
    ) -> Result<Engine, ExecError> {
        Engine::from_environment_with(profile, unsigned, |_| {}).await
    }

    /// [`Engine::from_environment`], with the configuration adjusted by `adjust` (bounds, the
    /// endpoint allow-list, the retry policy) before the engine is built: `adjust` runs after
    /// the environment has been read, so what it sets wins.
    pub async fn from_environment_with(
        profile: Option<String>,
        unsigned: bool,
        adjust: impl FnOnce(&mut EngineConfig),
    ) -> Result<Engine, ExecError> {
        let settings = ChainSettings::from_profile(profile);
        let profile_name = settings.profile_name();
        let config_file = std::env::var("AWS_CONFIG_FILE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var("HOME")
                    .ok()
                    .map(|h| std::path::Path::new(&h).join(".aws").join("config"))
            });
        let config_text = config_file.and_then(|p| std::fs::read_to_string(p).ok());
        // Checked before anything slow (credentials), so a bad setting fails at once.
        let retry = retry_policy_from(
            |var| std::env::var(var).ok(),
            config_text.as_deref(),
            &profile_name,
        )?;
        // A profile named on purpose that exists nowhere stops here, before any source (IMDS for
        // the region) is asked on its behalf.
        let explicit = settings.profile.is_some();
        let files = settings.profile_file_names();
        if explicit && !unsigned && !crate::credentials::profile_defined(&settings).await {
            return Err(ExecError::Credentials(CredentialsError::ProfileNotFound {
                profile: profile_name,
                files,
            }));
        }
        let region =
            match std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")) {
                Ok(r) if !r.is_empty() => Some(r),
                // An empty variable is no region (aws-config would take it as one).
                _ => resolve_region(&settings).await.filter(|r| !r.is_empty()),
            };
        let credentials = if unsigned {
            None
        } else {
            Some(CredentialsProvider::new(settings, region.clone()).await)
        };
        let mut endpoints = ConfiguredEndpoints::from_env_vars(std::env::vars());
        if let Some(text) = &config_text {
            endpoints = endpoints.with_config_file(text, &profile_name);
        }
        let mut config = EngineConfig {
            region,
            endpoints,
            retry,
            ..EngineConfig::default()
        };
        adjust(&mut config);
        Engine::new(config, credentials)
    }

    /// An engine with `credentials` (None: every request goes unsigned, as with --no-sign-request).
    pub fn new(
        config: EngineConfig,
        credentials: Option<CredentialsProvider>,
    ) -> Result<Engine, ExecError> {
        let models = models();
        let partitions_json = models
            .global("partitions")
            .map_err(|e| ExecError::Model(e.to_string()))?;
        let partitions =
            Partitions::from_json(&partitions_json).map_err(|e| ExecError::Model(e.to_string()))?;
        let transport = Transport::new(config.transport.clone())?;
        Ok(Engine {
            models,
            transport,
            credentials,
            partitions,
            rule_sets: Mutex::new(HashMap::new()),
            config,
        })
    }

    fn rule_set(&self, service: &str) -> Result<Arc<RuleSet>, ExecError> {
        let mut cache = self.rule_sets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rs) = cache.get(service) {
            return Ok(rs.clone());
        }
        let json = self
            .models
            .endpoint_rules(service)
            .map_err(|e| ExecError::Model(e.to_string()))?
            .ok_or_else(|| ExecError::Model(format!("endpoint rule set for {service}")))?;
        let rs = Arc::new(
            RuleSet::parse(&json)
                .map_err(|e| ExecError::Model(format!("endpoint rule set for {service}: {e}")))?,
        );
        cache.insert(service.to_string(), rs.clone());
        Ok(rs)
    }

    /// Executes a call: every page (unless `--no-paginate`), merged as the AWS CLI merges them.
    /// Streaming request bodies (`s3api put-object --body PATH`) are read through `files`.
    pub async fn execute(
        &self,
        call: &OperationCall,
        files: &dyn PathPolicy,
    ) -> Result<Output, ExecError> {
        self.run(call, files, false).await
    }

    /// As [`Engine::execute`], also keeping every page (`Output::page_values`; a single page
    /// when the operation does not paginate).
    pub async fn execute_pages(
        &self,
        call: &OperationCall,
        files: &dyn PathPolicy,
    ) -> Result<Output, ExecError> {
        self.run(call, files, true).await
    }

    async fn run(
        &self,
        call: &OperationCall,
        files: &dyn PathPolicy,
        keep_pages: bool,
    ) -> Result<Output, ExecError> {
        let mut out = Output::default();
        self.run_into(call, files, keep_pages, &mut out).await?;
        Ok(out)
    }

    /// As [`Engine::execute`] (`keep_pages`: as [`Engine::execute_pages`]), also saying how
    /// many HTTP attempts were made when the call fails: the retries a failure cost count as
    /// much as a success's (metrics, the retry budget's accounting).
    pub async fn execute_counted(
        &self,
        call: &OperationCall,
        files: &dyn PathPolicy,
        keep_pages: bool,
    ) -> Counted {
        let mut out = Output::default();
        match self.run_into(call, files, keep_pages, &mut out).await {
            Ok(()) => Counted {
                attempts: out.attempts,
                result: Ok(out),
            },
            Err(e) => Counted {
                attempts: out.attempts,
                result: Err(e),
            },
        }
    }

    async fn run_into(
        &self,
        call: &OperationCall,
        files: &dyn PathPolicy,
        keep_pages: bool,
        out: &mut Output,
    ) -> Result<(), ExecError> {
        // The engine trusts the built-in roots only; a per-command bundle would widen what TLS
        // accepts, and silently ignoring it would be worse. Refused before anything is sent.
        if call.globals.ca_bundle.is_some() {
            return Err(ExecError::Unsupported(
                "--ca-bundle is not supported: Portcullis verifies TLS against its built-in roots and adds none per command; \
                 drop --ca-bundle, or reach the endpoint through one with a publicly trusted certificate"
                    .into(),
            ));
        }
        let model = self
            .models
            .service(&call.service)
            .map_err(|e| ExecError::Model(e.to_string()))?;
        let op = model
            .operation(&call.operation)
            .ok_or_else(|| ExecError::Model(format!("operation {}", call.operation)))?;
        let deadline = self.config.call_deadline;
        let deadline_at = tokio::time::Instant::now() + deadline;
        let paginator = if call.globals.no_paginate {
            None
        } else {
            self.models.paginator(&call.service, &call.operation)
        };
        let Some(paginator) = paginator else {
            out.value = tokio::time::timeout_at(
                deadline_at,
                self.send_one(&model, op, &call.params, call, files, out),
            )
            .await
            .map_err(|_| ExecError::Deadline(deadline))??;
            out.pages = 1;
            if let Some(outfile) = &call.outfile {
                write_payload(&model, op, &mut out.value, &outfile.path, files)?;
            }
            if keep_pages {
                out.page_values.push(out.value.clone());
            }
            return Ok(());
        };
        let cfg = PaginatorConfig::from_json(&paginator)?;
        let params_json = match Value::Map(call.params.clone()).to_json() {
            Json::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        // The engine's item cap applies on top of the agent's --max-items (the smaller wins).
        let asked = call.paging.max_items;
        let max_items = match (asked, self.config.max_items) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        };
        let items_capped = self
            .config
            .max_items
            .filter(|c| asked.is_none_or(|a| *c < a));
        let mut pager = Pager::new(
            cfg,
            params_json,
            call.paging.page_size,
            max_items,
            call.paging.starting_token.as_deref(),
            self.config.max_pages.max(1),
        )?;
        if keep_pages {
            pager.keep_pages();
        }
        // Page parameters come back as JSON; typed values (bytes, files) of the call are kept.
        let mut params = merge_params(&call.params, pager.first_request());
        let mut cut: Option<TruncatedBy> = None;
        loop {
            let sent = tokio::time::timeout_at(
                deadline_at,
                self.send_one(&model, op, &params, call, files, out),
            )
            .await;
            // Bounds hit after some pages stop paging with what was gathered; before, they fail.
            let page = match sent {
                Ok(Ok(page)) => page,
                Err(_) if out.pages > 0 => {
                    cut = Some(TruncatedBy::Deadline(deadline));
                    pager.stop();
                    break;
                }
                Err(_) => return Err(ExecError::Deadline(deadline)),
                Ok(Err(ExecError::Transport(TransportError::ResponseTooLarge {
                    limit, ..
                }))) if out.pages > 0 => {
                    cut = Some(TruncatedBy::ResponseBytes(limit));
                    pager.stop();
                    break;
                }
                Ok(Err(e)) => return Err(e),
            };
            out.pages += 1;
            match pager.on_page(page)? {
                Step::Next(next) => {
                    if out.response_bytes >= self.config.max_call_bytes {
                        cut = Some(TruncatedBy::CallBytes(self.config.max_call_bytes));
                        pager.stop();
                        break;
                    }
                    params = merge_params(&call.params, &next);
                }
                Step::Done => break,
            }
        }
        let next_token = pager.resume_token().map(str::to_string);
        if cut.is_none() && next_token.is_some() {
            if pager.cut_by_page_cap() {
                cut = Some(TruncatedBy::Pages(self.config.max_pages.max(1)));
            } else if let Some(limit) = items_capped {
                cut = Some(TruncatedBy::Items(limit));
            }
        }
        out.truncated = cut.map(|by| Truncated {
            by,
            pages: out.pages,
            next_token,
        });
        (out.value, out.page_values) = pager.finish_with_pages();
        Ok(())
    }

    async fn send_one(
        &self,
        model: &ServiceModel,
        op: &Operation,
        params: &IndexMap<String, Value>,
        call: &OperationCall,
        files: &dyn PathPolicy,
        out: &mut Output,
    ) -> Result<Json, ExecError> {
        let region = call
            .globals
            .region
            .as_deref()
            .or(self.config.region.as_deref());
        let (mut prepared, (signing_name, signing_region, opts)) =
            self.build_request(model, op, params, call, region)?;
        if let PreparedBody::File(path) = &prepared.body {
            // Read once through the path policy (bounded by it); retries resend the same bytes.
            let bytes = files
                .read(path, FileUse::StreamingBody)
                .map_err(|e| ExecError::File(e.0))?;
            prepared.body = PreparedBody::Bytes(bytes.into());
        }
        let creds = self.credentials_for(&opts).await?;
        let limits = self.config.limits;
        let transport = &self.transport;
        let bytes = std::sync::atomic::AtomicUsize::new(0);
        let bytes = &bytes;
        let classify = |r: &Result<(Json, Option<String>), AttemptError>| match r {
            Ok(_) => RetryKind::Success,
            Err(AttemptError::Service(e)) => classify_service_error(e),
            Err(AttemptError::Transport(e)) => classify_transport_error(e),
            Err(_) => RetryKind::NotRetryable,
        };
        let outcome = with_retries(&self.config.retry, classify, |_attempt| {
            let mut attempt = prepared.clone();
            let creds = creds.clone();
            let signing_name = signing_name.clone();
            let signing_region = signing_region.clone();
            async move {
                if let Some(c) = &creds {
                    sign(
                        &mut attempt,
                        c,
                        &signing_region,
                        &signing_name,
                        opts,
                        SystemTime::now(),
                    )
                    .map_err(AttemptError::Sign)?;
                }
                let resp = transport
                    .send(attempt, &limits)
                    .await
                    .map_err(AttemptError::Transport)?;
                bytes.fetch_add(resp.body.len(), std::sync::atomic::Ordering::Relaxed);
                match parse::parse(model, op, &resp) {
                    Ok(mut v) => {
                        crate::after_call::apply(model, op, &resp, &mut v);
                        Ok((v, request_id(&resp)))
                    }
                    Err(ParseError::Service(e)) => Err(AttemptError::Service(e)),
                    Err(other) => Err(AttemptError::Parse(other)),
                }
            }
        })
        .await;
        out.attempts += outcome.attempts.len() as u32;
        out.response_bytes += bytes.load(std::sync::atomic::Ordering::Relaxed);
        match outcome.result {
            Ok((value, rid)) => {
                out.request_ids.extend(rid);
                Ok(value)
            }
            Err(AttemptError::Service(e)) => {
                out.request_ids.extend(e.request_id.clone());
                Err(ExecError::Service(e))
            }
            Err(AttemptError::Transport(e)) => Err(ExecError::Transport(e)),
            Err(AttemptError::Sign(e)) => Err(ExecError::Sign(e)),
            Err(AttemptError::Parse(e)) => Err(ExecError::Parse(e)),
        }
    }

    /// The unsigned request for `params`: endpoint resolved (its headers added), serialized,
    /// adjusted for the rules; with how it is to be signed (name, region, options).
    fn build_request(
        &self,
        model: &ServiceModel,
        op: &Operation,
        params: &IndexMap<String, Value>,
        call: &OperationCall,
        region: Option<&str>,
    ) -> Result<(PreparedRequest, (String, String, SigningOptions)), ExecError> {
        let endpoint = self.endpoint(model, op, params, call, region)?;
        let mut req = serialize::serialize(model, op, params)?;
        adjust_for_rules(model, op, params, &mut req);
        let mut prepared = PreparedRequest::from_serialized(&req, &endpoint.url)?;
        for (name, values) in &endpoint.headers {
            for v in values {
                prepared.headers.push((name.clone(), v.clone()));
            }
        }
        let signing = self.signing(model, op, call, &endpoint, region)?;
        Ok((prepared, signing))
    }

    /// The pinned credentials when the request is to be signed (an error if there are none).
    async fn credentials_for(
        &self,
        opts: &SigningOptions,
    ) -> Result<Option<crate::credentials::Credentials>, ExecError> {
        match (&self.credentials, opts.sign) {
            (Some(p), true) => Ok(Some(p.credentials().await?)),
            (None, true) => Err(ExecError::Credentials(CredentialsError::NotFound {
                profile: "(none)".into(),
                sources: "none configured".into(),
                detail: "this engine was built without credentials; use --no-sign-request for public resources".into(),
            })),
            _ => Ok(None),
        }
    }

    fn endpoint(
        &self,
        model: &ServiceModel,
        op: &Operation,
        params: &IndexMap<String, Value>,
        call: &OperationCall,
        region: Option<&str>,
    ) -> Result<Endpoint, ExecError> {
        let rs = self.rule_set(&model.name)?;
        let mut p = Params::new();
        for param in rs.parameters() {
            let value: Option<ParamValue> = match param.built_in.as_deref() {
                Some("AWS::Region") => region.map(ParamValue::from),
                Some(
                    "AWS::UseFIPS"
                    | "AWS::UseDualStack"
                    | "AWS::S3::Accelerate"
                    | "AWS::S3::ForcePathStyle",
                ) => Some(false.into()),
                Some("SDK::Endpoint") => {
                    let url = call.globals.endpoint_url.as_deref().or_else(|| {
                        self.config.endpoints.for_service(
                            model.metadata.service_id.as_deref().unwrap_or(&model.name),
                        )
                    });
                    if let (Some(url), Some(allowed)) = (url, &self.config.endpoint_hosts) {
                        allowed.check(url).map_err(ExecError::EndpointRefused)?;
                    }
                    url.map(ParamValue::from)
                }
                // botocore's defaults: the legacy global endpoint for S3 in us-east-1, regional STS.
                Some("AWS::S3::UseGlobalEndpoint") => Some((region == Some("us-east-1")).into()),
                Some("AWS::STS::UseGlobalEndpoint") => Some(false.into()),
                _ => None,
            };
            if let Some(v) = value {
                p.insert(param.name.clone(), v);
            }
        }
        for (name, spec) in &op.static_context_params {
            if let Some(v) = spec.get("value").and_then(ParamValue::from_json) {
                p.insert(name.clone(), v);
            }
        }
        if let Some(input) = model.input_shape(op) {
            for (member, r) in &input.members {
                let Some(name) = r
                    .context_param
                    .as_ref()
                    .and_then(|c| c.get("name"))
                    .and_then(Json::as_str)
                else {
                    continue;
                };
                let v = match params.get(member) {
                    Some(Value::Str(s)) => Some(ParamValue::from(s.clone())),
                    Some(Value::Bool(b)) => Some(ParamValue::from(*b)),
                    _ => None,
                };
                if let Some(v) = v {
                    p.insert(name.to_string(), v);
                }
            }
        }
        if region.is_none()
            && p.get("Region").is_none()
            && rs
                .parameter_for_built_in("AWS::Region")
                .is_some_and(|r| r.required)
        {
            return Err(ExecError::NoRegion);
        }
        Ok(rs.resolve(&p, &self.partitions)?)
    }

    fn signing(
        &self,
        model: &ServiceModel,
        op: &Operation,
        call: &OperationCall,
        endpoint: &Endpoint,
        region: Option<&str>,
    ) -> Result<(String, String, SigningOptions), ExecError> {
        let meta = &model.metadata;
        let mut name = meta
            .signing_name
            .clone()
            .or_else(|| meta.endpoint_prefix.clone())
            .unwrap_or_else(|| model.name.clone());
        let mut signing_region = region.unwrap_or("us-east-1").to_string();
        let mut disable_double_encoding = false;
        if let Some(scheme) = endpoint.auth_schemes().first() {
            match scheme.get("name").and_then(Json::as_str) {
                Some("sigv4" | "sigv4-s3express") | None => {}
                Some(other) => {
                    return Err(ExecError::Unsupported(format!(
                        "the {other} signing scheme the endpoint asks for is not supported yet"
                    )));
                }
            }
            if let Some(n) = scheme.get("signingName").and_then(Json::as_str) {
                name = n.to_string();
            }
            if let Some(r) = scheme.get("signingRegion").and_then(Json::as_str) {
                signing_region = r.to_string();
            }
            disable_double_encoding = scheme
                .get("disableDoubleEncoding")
                .and_then(Json::as_bool)
                .unwrap_or(false);
        }
        let unsigned = call.globals.no_sign_request
            || op.authtype.as_deref() == Some("none")
            || (!op.auth.is_empty() && op.auth.iter().all(|a| a == "smithy.api#noAuth"));
        let mut opts = if model.name == "s3" || model.name == "s3control" {
            SigningOptions::s3()
        } else {
            SigningOptions::for_signing_name(&name)
        };
        if disable_double_encoding {
            opts.double_uri_encode = false;
            opts.normalize_path = false;
        }
        if unsigned {
            opts = SigningOptions::unsigned();
        }
        Ok((name, signing_region, opts))
    }
}

/// For the `aws s3` commands (crate-internal, so pinned credentials never leave the crate).
impl Engine {
    /// How the engine is set up.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The region used when a command gives none.
    pub fn default_region(&self) -> Option<&str> {
        self.config.region.as_deref()
    }

    /// [`EngineConfig::call_deadline`]: what bounds a whole command (a waiter's polls too).
    pub fn call_deadline(&self) -> Duration {
        self.config.call_deadline
    }

    /// The request `call` would send — endpoint resolved, serialized, unsigned — with the signing
    /// name, region and options it would be signed with, and the pinned credentials (None when
    /// the request goes unsigned).
    pub(crate) async fn prepare_unsigned(
        &self,
        call: &OperationCall,
    ) -> Result<
        (
            PreparedRequest,
            String,
            String,
            SigningOptions,
            Option<crate::credentials::Credentials>,
        ),
        ExecError,
    > {
        let model = self
            .models
            .service(&call.service)
            .map_err(|e| ExecError::Model(e.to_string()))?;
        let op = model
            .operation(&call.operation)
            .ok_or_else(|| ExecError::Model(format!("operation {}", call.operation)))?;
        let region = call
            .globals
            .region
            .clone()
            .or_else(|| self.config.region.clone());
        let (prepared, (name, signing_region, opts)) =
            self.build_request(&model, op, &call.params, call, region.as_deref())?;
        let creds = self.credentials_for(&opts).await?;
        Ok((prepared, name, signing_region, opts, creds))
    }

    /// The pinned credentials, for a customization that signs without sending (`aws rds
    /// generate-db-auth-token`); an error when the engine has none.
    pub(crate) async fn signing_credentials(
        &self,
    ) -> Result<crate::credentials::Credentials, ExecError> {
        self.credentials_for(&SigningOptions::default())
            .await?
            .ok_or_else(|| ExecError::Unsupported("no credentials to sign with".into()))
    }
}

/// The CLI's `outfile`: the streaming payload of the response (`s3api get-object`'s `Body`,
/// `lambda invoke`'s `Payload`) is written to the local file through the path policy, and left
/// out of what is printed.
fn write_payload(
    model: &ServiceModel,
    op: &Operation,
    value: &mut Json,
    path: &str,
    files: &dyn PathPolicy,
) -> Result<(), ExecError> {
    use base64::Engine as _;
    let payload = op
        .output
        .as_ref()
        .and_then(|o| model.shape(&o.shape))
        .and_then(|s| s.payload.clone());
    let Some(member) = payload else {
        return Err(ExecError::Unsupported(format!(
            "{} has no response body to write to {path}",
            op.name
        )));
    };
    let body = match value.as_object_mut().and_then(|m| m.shift_remove(&member)) {
        Some(Json::String(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| ExecError::File(format!("response body: {e}")))?,
        Some(Json::Null) | None => Vec::new(),
        Some(other) => other.to_string().into_bytes(),
    };
    files.write(path, &body).map_err(|e| ExecError::File(e.0))
}

/// What one attempt can fail with (the retry policy decides which to retry).
#[derive(Debug)]
pub enum AttemptError {
    Service(Box<ServiceError>),
    Transport(TransportError),
    Sign(SignError),
    Parse(ParseError),
}

fn request_id(resp: &HttpResponse) -> Option<String> {
    ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
        .iter()
        .find_map(|h| resp.header(h).map(str::to_string))
}

/// Page parameters: the call's typed values, with the pager's token and limit values on top.
fn merge_params(
    base: &IndexMap<String, Value>,
    page: &serde_json::Map<String, Json>,
) -> IndexMap<String, Value> {
    let mut out = base.clone();
    for (k, v) in page {
        if !matches!(base.get(k), Some(Value::Bytes(_) | Value::Stream(_))) {
            out.insert(k.clone(), Value::from_json(v.clone()));
        }
    }
    out
}

/// Rule-set endpoints already carry what older models put in the path or host: S3's bucket (in
/// the host or the endpoint path) and S3 Control's account id (in the host). botocore strips them
/// from the model; here they are stripped from the serialized request.
fn adjust_for_rules(
    model: &ServiceModel,
    op: &Operation,
    params: &IndexMap<String, Value>,
    req: &mut serialize::HttpRequest,
) {
    match model.name.as_str() {
        "s3" if op.http.request_uri.starts_with("/{Bucket}") => {
            if let Some(Value::Str(bucket)) = params.get("Bucket") {
                let prefix = format!("/{}", percent_encode(bucket));
                if let Some(rest) = req.path.strip_prefix(&prefix) {
                    req.path = if rest.is_empty() {
                        "/".to_string()
                    } else {
                        rest.to_string()
                    };
                }
            }
        }
        "s3control" => req.host_prefix = None,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{ConfiguredEndpoints, ExecError, retry_policy_from};
    use crate::retry::RetryMode;

    #[test]
    fn retry_settings_come_from_the_environment_then_the_profile_in_use() {
        let config = "[default]\nmax_attempts = 4\n\n[profile dev]\nregion = eu-west-1\nretry_mode = adaptive\nmax_attempts = 6\n\n\
                      [profile old]\nretry_mode = legacy\n\n[profile broken]\nmax_attempts = many\n";
        let no_env = |_: &str| None;
        let p = retry_policy_from(no_env, Some(config), "dev").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Adaptive, 6));
        let p = retry_policy_from(no_env, Some(config), "default").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Standard, 4));
        let p = retry_policy_from(no_env, Some(config), "old").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Standard, 5));
        // A profile the file does not have, or no file: the CLI's defaults.
        let p = retry_policy_from(no_env, Some(config), "other").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Standard, 3));
        let p = retry_policy_from(no_env, None, "dev").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Standard, 3));
        // The environment wins.
        let env = |var: &str| (var == "AWS_MAX_ATTEMPTS").then(|| "2".to_string());
        let p = retry_policy_from(env, Some(config), "dev").unwrap();
        assert_eq!((p.mode, p.max_attempts), (RetryMode::Adaptive, 2));
        assert!(retry_policy_from(env, Some(config), "broken").is_ok());
        // A bad value is a start-up error that names the key and the profile.
        let e: ExecError = retry_policy_from(no_env, Some(config), "broken")
            .unwrap_err()
            .into();
        let text = e.to_string();
        assert!(
            text.contains("max_attempts in profile \"broken\"") && text.contains("\"many\""),
            "{text}"
        );
    }

    #[test]
    fn configured_endpoints_follow_the_aws_precedence() {
        let vars = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let e = ConfiguredEndpoints::from_env_vars(vars(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm"),
        ]));
        assert_eq!(e.for_service("Secrets Manager"), Some("http://sm"));
        assert_eq!(e.for_service("DynamoDB"), Some("http://all"));
        let e = ConfiguredEndpoints::from_env_vars(vars(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]));
        assert_eq!(e.for_service("DynamoDB"), None);
        assert_eq!(ConfiguredEndpoints::default().for_service("S3"), None);
    }

    #[test]
    fn profile_endpoints_come_after_the_environment() {
        let config = "[default]\nregion = us-east-1\n\n[profile dev]\nendpoint_url = http://profile-all\nservices = local\n\n\
                      [services local]\ndynamodb =\n  endpoint_url = http://ddb-local:8000\nsecrets_manager =\n  endpoint_url = http://sm-local\n";
        let e = ConfiguredEndpoints::default().with_config_file(config, "dev");
        assert_eq!(e.for_service("DynamoDB"), Some("http://ddb-local:8000"));
        assert_eq!(e.for_service("Secrets Manager"), Some("http://sm-local"));
        assert_eq!(e.for_service("S3"), Some("http://profile-all"));
        // The environment wins over the profile.
        let env = ConfiguredEndpoints::from_env_vars([(
            "AWS_ENDPOINT_URL_DYNAMODB".to_string(),
            "http://env".to_string(),
        )]);
        assert_eq!(
            env.with_config_file(config, "dev").for_service("DynamoDB"),
            Some("http://env")
        );
        // Another profile, or the ignore switch, configures nothing.
        assert_eq!(
            ConfiguredEndpoints::default()
                .with_config_file(config, "default")
                .for_service("S3"),
            None
        );
        let ignored =
            "[profile dev]\nendpoint_url = http://x\nignore_configured_endpoint_urls = true\n";
        assert_eq!(
            ConfiguredEndpoints::default()
                .with_config_file(ignored, "dev")
                .for_service("S3"),
            None
        );
    }
}
