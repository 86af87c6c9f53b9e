//! # portcullis-cli
//!
//! Brief overview: the AWS CLI front end. A command string goes in; a typed, validated
//! [`OperationCall`] comes out — or every problem with it at once, in words an agent can act on.
//! There is no shell: quoting follows POSIX `sh`, and anything a shell would interpret is refused.
//! It is offline and pure apart from the files a [`PathPolicy`] lets it read, so it can be used
//! alone (`portcullis check` and the fuzz targets do); in the server it is the parse stage,
//! ahead of classification, the policy decision and execution (`portcullis-wire`). The entry
//! points are [`Parser::parse`] and [`words::split_words`]:
//!
//! * [`words::split_words`] splits the string (quotes, escapes) and refuses shell syntax.
//! * [`Parser`] resolves `aws <command> <operation>` through the embedded models
//!   ([`portcullis_model`]), binds options to members with the CLI's names, unpacks values by shape
//!   (scalars, lists, JSON, shorthand via [`portcullis_shorthand`], blobs), reads `file://` and
//!   `fileb://` only through a [`PathPolicy`], merges `--cli-input-json`, fills idempotency tokens,
//!   and validates the request against the model.
//! * [`Command`] is the result: a [`Command::Call`] or, for `--generate-cli-skeleton`, a
//!   [`Command::Skeleton`] (never an API call), or for the high-level `aws s3` commands a
//!   [`Command::S3`] ([`S3Command`], which lists the API calls it may make), or for the other
//!   customizations Portcullis runs (waiters, token commands, ...) a [`Command::Extra`]
//!   ([`ExtraCommand`]).
//! * [`CommandError`] lists [`Problem`]s, each with a [`ProblemKind`], a path and suggestions.
//!
//! ```
//! use portcullis_cli::{Command, DenyAll, Parser};
//!
//! let parser = Parser::new(&DenyAll);
//! let Command::Call(call) = parser.parse("aws ec2 describe-instances --instance-ids i-1 i-2 --region eu-west-1").unwrap() else { panic!() };
//! assert_eq!((call.service.as_str(), call.operation.as_str()), ("ec2", "DescribeInstances"));
//! assert_eq!(call.globals.region.as_deref(), Some("eu-west-1"));
//!
//! let err = parser.parse("aws ec2 describe-instances | grep x").unwrap_err();
//! assert_eq!(err.kind(), Some(portcullis_cli::ProblemKind::ShellSyntax));
//! ```

pub mod call;
mod custom;
pub mod deploy;
pub mod error;
pub mod extra;
pub mod files;
pub mod globals;
pub mod parse;
pub mod s3cmd;
pub mod skeleton;
pub mod token;
pub mod validate;
pub mod value;
pub mod waiter;
pub mod words;

pub use call::{Command, OperationCall};
pub use error::{CommandError, Problem, ProblemKind};
pub use extra::{Extra, ExtraCommand};
pub use files::{AllowAll, DenyAll, FileError, FileUse, PathPolicy};
pub use globals::{BinaryFormat, GlobalOptions, Paging};
pub use parse::{Limits, Parser};
pub use s3cmd::{S3Command, S3Op, S3Path};
pub use value::{LocalFile, Value};
pub use waiter::WaitCommand;
