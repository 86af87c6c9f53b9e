//! Load and fault tooling for Portcullis, never part of the product.
//!
//! * [`faults`]: a fault-injecting AWS stand-in on loopback ([`faults::FaultServer`]): answers
//!   like the real JSON, query, REST-JSON and S3 protocols do, or throttles, fails with 5xx,
//!   resets, hangs or refuses connections, switchable at run time. Used in-process by integration
//!   tests and by the `portcullis-faults` binary.
//! * [`load`]: the core of the `portcullis-load` binary, a native MCP load generator over
//!   streamable HTTP or stdio (closed loop per connection count, or an open-loop rate schedule).
//! * [`scenarios`]: the resilience scenarios of the `portcullis-scenarios` binary (a spike, a
//!   slow dependency, a throttling storm, a dependency hard down, many idle sessions) against the
//!   release server, with PASS/FAIL per criterion.

pub mod faults;
pub mod load;
pub mod scenarios;
pub mod units;
