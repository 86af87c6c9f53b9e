//! # portcullis-wire
//!
//! The native AWS wire engine: it runs a validated [`portcullis_cli::OperationCall`] against AWS
//! the way the AWS CLI would, without the CLI.
//!
//! # Brief overview
//!
//! One call goes through endpoint resolution ([`portcullis_endpoints`] rule sets, configured
//! endpoints), serialization for its protocol ([`protocol::serialize`]: json, rest-json,
//! rest-xml, query, ec2; not smithy-rpc-v2-cbor), SigV4 signing with the scheme the rules name
//! ([`sign`]), one pooled HTTPS client behind the egress guard ([`transport`], [`egress`]),
//! retries ([`retry`]), response and error parsing ([`protocol::parse`]) and the CLI's paging
//! ([`paginate`]); [`output`] (the [`portcullis_output`] crate) prints the result as `--query`
//! and `--output` say. On top of that engine, [`s3`] runs the high-level `aws s3` commands and
//! [`extra`] the other customizations (waiters, token commands, `cloudformation deploy`), each
//! API call they make an `OperationCall` through the same engine.
//!
//! The crate is the execute stage of the `portcullis` binary but can be used alone. The entry
//! point is [`execute::Engine`]: [`Engine::from_environment`](execute::Engine::from_environment)
//! builds one as the AWS CLI would configure itself (credentials of one pinned profile from
//! [`credentials`], region, configured endpoints), [`Engine::execute`](execute::Engine::execute)
//! runs a call and returns every page merged; [`s3::run`] and [`extra::run`] run the
//! customizations. A service's refusal is a [`protocol::parse::ServiceError`], whose
//! [`cli_message`](protocol::parse::ServiceError::cli_message) words it as the CLI does.
//! ARCHITECTURE.md has the code map and the invariants.

mod after_call;
pub mod assume;
pub mod credentials;
pub mod egress;
pub mod execute;
pub mod extra;
/// `--query` and `--output`: the [`portcullis_output`] crate, re-exported where the engine
/// always had it.
pub use portcullis_output as output;
pub mod paginate;
pub mod protocol;
pub mod retry;
pub mod s3;
pub mod sign;
pub mod transport;
