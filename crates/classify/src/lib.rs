//! # portcullis-classify
//!
//! Brief overview: the classify stage. Given one AWS API call — botocore service name, API
//! operation name and request parameters — it says, offline, which IAM actions the call needs,
//! the highest [`AccessLevel`] among them and the risks it carries ([`Flags`]: returns
//! credentials, returns a secret, destructive). The policy stage decides on that
//! [`Classification`]; an operation that cannot be mapped is *unknown* (no access level, a
//! reason), and policy treats unknown as a write.
//!
//! How the parts hand off:
//! * [`prefix`] picks the IAM service prefix of a botocore service (override table, else the
//!   model's signing name / endpoint prefix / name / id that the catalogue knows best).
//! * The action is `prefix:OperationName`, unless [`exceptions`] has a row for the operation
//!   (S3's `ListObjectsV2` is `s3:ListBucket`) or a rule for the whole service (API Gateway
//!   authorises by HTTP method); [`refine`] then adjusts the actions for the parameters (an S3
//!   `VersionId`, a PartiQL statement).
//! * [`portcullis_iam::catalogue`] gives each action's access level; [`flags`] adds the risk flags.
//! * [`resources::resources`] derives the ARNs a call touches from its parameters (S3 buckets and
//!   keys, SQS queue URLs, any ARN-valued parameter; IAM/Lambda/DynamoDB names when the account is
//!   known), for policies on resources.
//!
//! Each service's operations are classified once, on first use, and cached; a call then costs
//! a hash lookup and a clone (plus the refinement for the few parameter-aware operations).
//!
//! The entry point is [`classify`]; [`own_action`] (the one action an operation stands for, which
//! the policy's `reach` uses) and [`cli_form`] (an operation's AWS CLI spelling) serve the callers
//! that go from API operations back to rules and commands. A stage of Portcullis's pipeline, between the parser and the policy; it takes botocore
//! names and JSON parameters (no parser types), so a gateway or another tool could use it alone,
//! though its API follows what the policy stage needs and is not kept stable for others.
//!
//! ```
//! use portcullis_classify::{classify, ActionSource};
//! use portcullis_iam::AccessLevel;
//! use serde_json::json;
//!
//! let c = classify("s3", "ListObjectsV2", &json!({"Bucket": "logs"}));
//! assert_eq!(c.actions, ["s3:ListBucket"]);
//! assert_eq!(c.access_level, Some(AccessLevel::List));
//! assert_eq!(c.action_source, ActionSource::Exception);
//!
//! let c = classify("ssm", "GetParameter", &json!({"Name": "/db/pw", "WithDecryption": true}));
//! assert!(c.flags.returns_secret);
//!
//! let c = classify("ec2", "TerminateInstances", &json!({"InstanceIds": ["i-1"]}));
//! assert_eq!((c.access_level, c.flags.destructive), (Some(AccessLevel::Write), true));
//!
//! assert!(classify("s3", "NoSuchOperation", &json!({})).is_unknown());
//! ```

pub mod dependent;
pub mod exceptions;
pub mod flags;
pub mod prefix;
pub mod refine;
pub mod resources;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use portcullis_iam::AccessLevel;
use portcullis_iam::Catalogue;
use portcullis_model::{Models, ServiceModel};
use serde::Serialize;
use serde_json::Value;

use exceptions::ServiceRule;

/// What the classify stage says about one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The IAM actions the call needs, `prefix:Action` (`s3:ListBucket`): the call's own.
    pub actions: Vec<String>,
    /// The further actions IAM requires for the call ([`dependent`]): `iam:PassRole` when it
    /// passes a role, `secretsmanager:GetSecretValue` for `BatchGetSecretValue`, ... Rules match
    /// them like the call's own; the access level is that of [`Classification::actions`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependent_actions: Vec<String>,
    /// The highest access level among `actions`; `None` when the call could not be mapped
    /// (policy treats that as a write).
    pub access_level: Option<AccessLevel>,
    pub flags: Flags,
    /// Why the call is unknown, when it is.
    pub unknown_reason: Option<String>,
    pub action_source: ActionSource,
}

impl Classification {
    /// True when the call could not be mapped to catalogued IAM actions.
    pub fn is_unknown(&self) -> bool {
        self.access_level.is_none()
    }

    /// Every action the call needs: its own, then the dependent ones.
    pub fn all_actions(&self) -> impl Iterator<Item = &String> {
        self.actions.iter().chain(&self.dependent_actions)
    }
}

/// Risks beyond the access level (see [`flags`] for what each means and how it is decided).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub returns_credentials: bool,
    pub returns_secret: bool,
    pub destructive: bool,
    /// A read that acts: it hides messages, starts a billed query, ... ([`flags::SIDE_EFFECTS`]).
    #[serde(default)]
    pub side_effects: bool,
}

/// Where the actions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ActionSource {
    /// `prefix:OperationName`.
    Derived,
    /// The exceptions table, a service rule or a parameter refinement.
    Exception,
}

/// Classifies one call. `service` is the botocore service name (`s3`, `codedeploy`),
/// `operation` the API name (`ListObjectsV2`), `params` the request parameters object keyed
/// by member name (`Value::Null` when unknown: the answer is then an upper bound).
pub fn classify(service: &str, operation: &str, params: &Value) -> Classification {
    let Some(table) = Tables::get().service(service) else {
        return unknown(Vec::new(), format!("unknown service {service:?}"));
    };
    let Some(entry) = table.ops.get(operation) else {
        return unknown(
            Vec::new(),
            format!("service {service:?} has no operation {operation:?}"),
        );
    };
    let mut c = entry.base.clone();
    if entry.param_aware {
        build(table, operation, params, &mut c, entry.seed.as_deref());
    }
    c.dependent_actions = dependent::dependents(service, operation, &c.actions, params);
    c
}

/// The IAM action an API operation stands for on its own: its action when it needs exactly one,
/// before any parameter refinement (`s3 HeadObject` → `s3:GetObject`, `s3 DeleteObjects` →
/// `s3:DeleteObject`). `None` for operations that need several (`CopyObject` needs `s3:GetObject`
/// and `s3:PutObject`: a rule on it must not reach every read and every write) or none known.
pub fn own_action(service: &str, operation: &str) -> Option<String> {
    let table = Tables::get().service(service)?;
    let entry = table.ops.get(operation)?;
    let seed = match &entry.seed {
        Some(seed) => seed.clone(),
        None if entry.base.access_level.is_some() => entry.base.actions.clone(),
        None => return None,
    };
    match seed.as_slice() {
        [one] if portcullis_iam::catalogue().action(one).is_some() => Some(one.clone()),
        _ => None,
    }
}

/// The AWS CLI form of an API operation: `(command, operation)`, e.g. `("s3api", "delete-object")`
/// for `s3` `DeleteObject`. `None` when the CLI does not offer it.
pub fn cli_form(service: &str, operation: &str) -> Option<(String, String)> {
    static COMMANDS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let models = portcullis_model::models();
    let commands = COMMANDS.get_or_init(|| {
        let mut map = HashMap::new();
        for (name, c) in models.commands() {
            if let Some(s) = c.service.as_deref() {
                // The first command naming the service is the CLI's own (`s3api`, not an alias).
                map.entry(s).or_insert(name.as_str());
            }
        }
        map
    });
    let command = *commands.get(service)?;
    let cli = models.service_cli(service).ok()?;
    let name = cli
        .by_cli_name
        .iter()
        .find(|(_, op)| op.as_str() == operation)
        .map(|(n, _)| n.clone())?;
    Some((command.to_string(), name))
}

/// The IAM prefix a botocore service's actions use (`stepfunctions` → `states`), if known.
pub fn iam_prefix(service: &str) -> Option<&'static str> {
    Tables::get()
        .service(service)
        .and_then(|t| t.prefix.as_deref())
}

/// One service's precomputed classifications.
struct ServiceTable {
    service: &'static str,
    prefix: Option<String>,
    ops: HashMap<Box<str>, OpEntry>,
}

struct OpEntry {
    /// The classification without parameters (what `classify` returns for most operations).
    base: Classification,
    /// True when parameters change the answer: flags or a refinement.
    param_aware: bool,
    /// The unrefined actions, for param-aware operations.
    seed: Option<Vec<String>>,
}

/// Per-service lazily built tables, indexed like the model registry.
struct Tables {
    models: &'static Models,
    index: HashMap<&'static str, usize>,
    slots: Vec<OnceLock<Option<ServiceTable>>>,
}

impl Tables {
    fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| {
            let models = portcullis_model::models();
            let index: HashMap<&'static str, usize> = models
                .service_names()
                .enumerate()
                .map(|(i, n)| (n, i))
                .collect();
            let slots = (0..index.len()).map(|_| OnceLock::new()).collect();
            Tables {
                models,
                index,
                slots,
            }
        })
    }

    fn service(&self, name: &str) -> Option<&ServiceTable> {
        let (&key, &i) = self.index.get_key_value(name)?;
        self.slots[i]
            .get_or_init(|| {
                self.models
                    .service(key)
                    .ok()
                    .map(|m| ServiceTable::build(key, &m))
            })
            .as_ref()
    }
}

impl ServiceTable {
    fn build(service: &'static str, model: &ServiceModel) -> ServiceTable {
        let catalogue = portcullis_iam::catalogue();
        let prefix = prefix::derive(model, catalogue);
        let mut table = ServiceTable {
            service,
            prefix,
            ops: HashMap::with_capacity(model.operations.len()),
        };
        for (name, op) in &model.operations {
            let (seed, source) = seed_actions(&table, catalogue, name, &op.http.method);
            let secret_when = flags::returns_secret(service, name);
            let param_aware = refine::applies(service, name)
                || secret_when.is_some_and(flags::When::is_conditional);
            let mut base = Classification {
                actions: Vec::new(),
                dependent_actions: Vec::new(),
                access_level: None,
                flags: Flags::default(),
                unknown_reason: None,
                action_source: source,
            };
            build(&table, name, &Value::Null, &mut base, seed.as_deref());
            let seed = param_aware.then_some(seed).flatten();
            table.ops.insert(
                name.as_str().into(),
                OpEntry {
                    base,
                    param_aware,
                    seed,
                },
            );
        }
        table
    }
}

/// The actions before parameter refinement, or `None` when the service has no IAM prefix.
fn seed_actions(
    table: &ServiceTable,
    catalogue: &Catalogue,
    operation: &str,
    http_method: &str,
) -> (Option<Vec<String>>, ActionSource) {
    if let Some(actions) = exceptions::exception(table.service, operation) {
        return (
            Some(actions.iter().map(|a| a.to_string()).collect()),
            ActionSource::Exception,
        );
    }
    let Some(prefix) = table.prefix.as_deref() else {
        return (None, ActionSource::Derived);
    };
    let own = catalogue.service(prefix).and_then(|s| s.action(operation));
    if own.is_none() && exceptions::service_rule(table.service) == Some(ServiceRule::HttpMethod) {
        return (
            Some(vec![format!(
                "{prefix}:{}",
                http_method.to_ascii_uppercase()
            )]),
            ActionSource::Exception,
        );
    }
    // The catalogue's spelling when it has the action (`s3:PutBucketCORS` for `PutBucketCors`).
    let name = own.map_or(operation, |a| a.name.as_str());
    (
        Some(vec![format!("{prefix}:{name}")]),
        ActionSource::Derived,
    )
}

/// Fills `c` (actions, level, flags, reason) for `operation` with `params`, from `seed`.
fn build(
    table: &ServiceTable,
    operation: &str,
    params: &Value,
    c: &mut Classification,
    seed: Option<&[String]>,
) {
    let service = table.service;
    let mut destructive = flags::destructive_by_name(service, operation);
    let Some(seed) = seed else {
        *c = unknown(
            Vec::new(),
            format!("no IAM service prefix is known for service {service:?}"),
        );
        c.flags = risk_flags(service, operation, params, destructive);
        return;
    };
    let mut actions = seed.to_vec();
    if refine::applies(service, operation) {
        refine::refine(service, operation, params, &mut actions, &mut destructive);
    }
    let catalogue = portcullis_iam::catalogue();
    let mut level = Some(AccessLevel::List);
    let mut all_tagging = true;
    let mut missing = Vec::new();
    for a in &actions {
        match catalogue.action(a) {
            Some(info) => {
                level = level.map(|l| l.max(info.access_level));
                all_tagging &= info.access_level == AccessLevel::Tagging;
            }
            None => missing.push(a.as_str()),
        }
    }
    // Tags are metadata: removing them is not destruction (see `flags`).
    if all_tagging
        && missing.is_empty()
        && !actions.is_empty()
        && !flags::DESTRUCTIVE.contains(&(service, operation))
    {
        destructive = false;
    }
    c.unknown_reason = if missing.is_empty() {
        None
    } else {
        level = None;
        Some(format!(
            "IAM action{} {} not in the catalogue ({})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            catalogue.data_version()
        ))
    };
    c.access_level = level;
    c.flags = risk_flags(service, operation, params, destructive);
    if actions != seed {
        c.action_source = ActionSource::Exception;
    }
    c.actions = actions;
}

fn risk_flags(service: &str, operation: &str, params: &Value, destructive: bool) -> Flags {
    Flags {
        returns_credentials: flags::returns_credentials(service, operation),
        returns_secret: flags::returns_secret(service, operation).is_some_and(|w| w.holds(params)),
        destructive,
        side_effects: flags::side_effect(service, operation).is_some(),
    }
}

fn unknown(actions: Vec<String>, reason: String) -> Classification {
    Classification {
        actions,
        dependent_actions: Vec::new(),
        access_level: None,
        flags: Flags::default(),
        unknown_reason: Some(reason),
        action_source: ActionSource::Derived,
    }
}
