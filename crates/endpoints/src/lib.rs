//! # portcullis-endpoints
//!
//! # Brief overview
//!
//! Resolves the endpoint of an AWS API call from the service's endpoint rule set (`endpoint-rule-set-1.json`,
//! the Smithy rules language) the way botocore's `endpoint_provider.py` does. It is pure (no I/O, no model: the
//! caller hands it the rule set and `partitions.json` as JSON) and usable alone; `portcullis-wire` resolves every
//! request through it. The entry points are [`RuleSet::parse`], [`Partitions::from_json`] and [`RuleSet::resolve`]:
//!
//! - [`RuleSet`] is a rule set loaded once ([`RuleSet::parse`]) into a typed tree: its [`Parameter`]s, and rules
//!   whose names are already bound to slots, so evaluation never looks anything up by name.
//! - [`Partitions`] is botocore's `partitions.json` ([`Partitions::from_json`]); `aws.partition` reads it.
//! - [`Params`] maps parameter names (`Region`, `UseFIPS`, `Endpoint`, `Bucket`, ...) to [`ParamValue`]s.
//! - [`RuleSet::resolve`] takes params and partitions and gives an [`Endpoint`] (URL, headers, properties such
//!   as `authSchemes`) or an [`EndpointError`]: the rule set's own error message, a missing or mistyped
//!   parameter, or a failure inside the rules. Loading rejects what evaluation could not do
//!   ([`RuleSetError`]); resolving never panics, whatever the data.
//!
//! The standard library: `isSet`, `not`, `booleanEquals`, `stringEquals`, `getAttr`, `substring`, `parseURL`,
//! `uriEncode`, `isValidHostLabel`, `aws.partition`, `aws.parseArn`, `aws.isVirtualHostableS3Bucket`.
//!
//! ```
//! use portcullis_endpoints::{Params, Partitions, RuleSet};
//!
//! let models = portcullis_model::models();
//! let partitions = Partitions::from_json(&models.global("partitions").unwrap()).unwrap();
//! let sts = RuleSet::parse(&models.endpoint_rules("sts").unwrap().unwrap()).unwrap();
//!
//! let params = Params::new().with("Region", "us-east-1").with("UseFIPS", false).with("UseDualStack", false);
//! let endpoint = sts.resolve(&params, &partitions).unwrap();
//! assert_eq!(endpoint.url, "https://sts.us-east-1.amazonaws.com");
//!
//! let fips = sts.resolve(&params.clone().with("UseFIPS", true), &partitions).unwrap();
//! assert_eq!(fips.url, "https://sts-fips.us-east-1.amazonaws.com");
//! ```

mod error;
mod eval;
mod functions;
mod params;
mod partitions;
mod pattern;
mod ruleset;
mod url;
mod value;

pub use error::{EndpointError, PartitionsError, RuleSetError};
pub use eval::Endpoint;
pub use params::{ParamValue, Params};
pub use partitions::{Partition, Partitions};
pub use ruleset::{Deprecation, ParamType, Parameter, RuleSet};
