//! `aws <command> wait <waiter>`: botocore's `Waiter.wait`, natively.
//!
//! Each poll is the polled operation's [`portcullis_cli::OperationCall`] (one page, as botocore
//! calls the client method once) sent by [`Engine::execute`]. The acceptors are applied in order
//! to what came back — the parsed response, or the service's error — and the first that matches
//! sets the state: `success` ends the wait (nothing printed, exit 0), `failure` ends it with
//! `Waiter <Name> failed: ...` (exit 255), `retry` polls again after `delay` seconds. An error no
//! acceptor matches fails the wait, and so does reaching `maxAttempts` — all in botocore's words.
//!
//! Beyond the AWS CLI: the whole wait is bounded by the engine's per-call deadline. A wait that
//! would poll past it stops before sleeping, saying so and how to go on (run it again); every
//! poll is reported to [`Progress`] (MCP `notifications/progress`).

use std::time::Duration;

use portcullis_cli::PathPolicy;
use portcullis_cli::waiter::{Acceptor, AcceptorState, Matcher, WaitCommand};
use serde_json::Value as Json;

use super::Progress;
use crate::execute::{Engine, ExecError};
use crate::output::jmespath::Query;
use crate::s3::S3Outcome;

/// What one poll got back, as botocore's waiter sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// A successful (2xx) response, parsed.
    Ok(Json),
    /// The service's error.
    Error {
        status: u16,
        code: String,
        message: String,
    },
}

impl Response {
    /// botocore's `is_valid_waiter_error`: an error response, or a response with an
    /// `Error.Code` member.
    fn is_error(&self) -> bool {
        match self {
            Response::Error { .. } => true,
            Response::Ok(v) => v.get("Error").is_some_and(|e| e.get("Code").is_some()),
        }
    }

    /// `ResponseMetadata.HTTPStatusCode`. The engine keeps no status for a success: every
    /// `status` acceptor of the pinned models that can meet a success expects 200.
    fn status(&self) -> u16 {
        match self {
            Response::Ok(_) => 200,
            Response::Error { status, .. } => *status,
        }
    }
}

/// An acceptor ready to match: its expression compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub acceptor: Acceptor,
    query: Option<Query>,
}

impl Compiled {
    /// Compiles the acceptor's `argument` (path matchers need one).
    pub fn new(acceptor: &Acceptor) -> Result<Compiled, String> {
        let query = match acceptor.matcher {
            Matcher::Path | Matcher::PathAll | Matcher::PathAny => {
                let Some(arg) = &acceptor.argument else {
                    return Err(format!(
                        "a {:?} acceptor without an argument",
                        acceptor.matcher
                    ));
                };
                Some(
                    Query::compile(arg)
                        .map_err(|e| format!("the acceptor expression {arg:?}: {e}"))?,
                )
            }
            Matcher::Status | Matcher::Error => None,
        };
        Ok(Compiled {
            acceptor: acceptor.clone(),
            query,
        })
    }

    /// Whether `response` matches, as botocore's matcher functions decide. An expression that
    /// fails to evaluate is an error (botocore raises it).
    pub fn matches(&self, response: &Response) -> Result<bool, String> {
        let expected = &self.acceptor.expected;
        let search = |v: &Json| match &self.query {
            Some(q) => q.search(v).map_err(|e| e.to_string()),
            None => Ok(Json::Null),
        };
        Ok(match self.acceptor.matcher {
            Matcher::Path | Matcher::PathAll | Matcher::PathAny => {
                let Response::Ok(v) = response else {
                    return Ok(false);
                };
                if response.is_error() {
                    return Ok(false);
                }
                let found = search(v)?;
                match self.acceptor.matcher {
                    Matcher::Path => py_eq(&found, expected),
                    Matcher::PathAll => {
                        matches!(&found, Json::Array(a) if !a.is_empty() && a.iter().all(|e| py_eq(e, expected)))
                    }
                    _ => matches!(&found, Json::Array(a) if a.iter().any(|e| py_eq(e, expected))),
                }
            }
            Matcher::Status => py_eq(&Json::from(response.status()), expected),
            Matcher::Error => {
                let code = match response {
                    Response::Error { code, .. } => Some(code.as_str()),
                    Response::Ok(v) => v
                        .get("Error")
                        .and_then(|e| e.get("Code"))
                        .and_then(Json::as_str),
                };
                match expected {
                    Json::Bool(true) => response.is_error(),
                    Json::Bool(false) => match response {
                        Response::Error { .. } => false,
                        Response::Ok(v) => v.get("Error").is_none(),
                    },
                    other => py_eq(&Json::from(code.unwrap_or("")), other),
                }
            }
        })
    }

    /// botocore's `AcceptorConfig.explanation`.
    pub fn explanation(&self) -> String {
        let a = &self.acceptor;
        let arg = a.argument.as_deref().unwrap_or("None");
        let expected = py_str(&a.expected);
        match a.matcher {
            Matcher::Path => {
                format!("For expression \"{arg}\" we matched expected path: \"{expected}\"")
            }
            Matcher::PathAll => format!(
                "For expression \"{arg}\" all members matched expected path: \"{expected}\""
            ),
            Matcher::PathAny => format!(
                "For expression \"{arg}\" we matched expected path: \"{expected}\" at least once"
            ),
            Matcher::Status => format!("Matched expected HTTP status code: {expected}"),
            Matcher::Error => format!("Matched expected service error code: {expected}"),
        }
    }
}

/// Python's `==` on JSON-decoded values: numbers by value (`1 == 1.0`), booleans as 0 and 1
/// against numbers, containers element by element.
fn py_eq(a: &Json, b: &Json) -> bool {
    let num = |v: &Json| match v {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Json::Bool(x), Json::Bool(y)) => x == y,
        (Json::Number(_), Json::Bool(_)) | (Json::Bool(_), Json::Number(_)) => num(a) == num(b),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => a == b,
    }
}

/// How Python's `str()` shows a JSON-decoded value (in botocore's explanations).
fn py_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

/// The AWS CLI's report of an exception: a blank line, the message; exit code 255.
fn failed(message: String) -> S3Outcome {
    S3Outcome {
        stdout: String::new(),
        stderr: format!("\n{message}\n"),
        exit_code: 255,
        error: None,
    }
}

/// Runs the waiter. Never panics on what the network returns.
pub async fn wait(
    engine: &Engine,
    w: &WaitCommand,
    files: &dyn PathPolicy,
    progress: &dyn Progress,
) -> S3Outcome {
    wait_keeping_last(engine, w, files, progress, &mut None).await
}

/// [`wait`], keeping the last response polled in `last` (botocore's `WaiterError.last_response`,
/// which `aws cloudformation deploy` reads).
pub async fn wait_keeping_last(
    engine: &Engine,
    w: &WaitCommand,
    files: &dyn PathPolicy,
    progress: &dyn Progress,
    last: &mut Option<Response>,
) -> S3Outcome {
    let name = w.waiter.as_str();
    let acceptors: Vec<Compiled> = match w.spec.acceptors.iter().map(Compiled::new).collect() {
        Ok(a) => a,
        Err(why) => return failed(format!("Waiter {name} cannot run: {why}")),
    };
    // One call per poll, as botocore makes it: never paginated.
    let mut call = w.call.clone();
    call.globals.no_paginate = true;
    let delay = Duration::from_secs(w.spec.delay);
    let max_attempts = w.spec.max_attempts.max(1);
    let deadline = engine.call_deadline();
    let started = tokio::time::Instant::now();
    let until = started + deadline;
    let secs = |d: Duration| d.as_secs_f64();
    let go_on = "Run the same command again to keep waiting, or ask the operator to raise the per-call deadline.";
    let mut state = AcceptorState::Retry;
    let mut last_matched = false;
    let mut attempt: u64 = 0;
    loop {
        let sent = tokio::time::timeout_at(until, engine.execute(&call, files)).await;
        let response = match sent {
            Ok(Ok(out)) => Response::Ok(out.value),
            Ok(Err(ExecError::Service(e))) => Response::Error {
                status: e.status,
                code: e.code.clone(),
                message: e.message.clone(),
            },
            Err(_) | Ok(Err(ExecError::Deadline(_))) => {
                return failed(format!(
                    "Waiter {name} stopped: poll {} of {} did not finish within the per-call deadline of {} s (after {:.1} s of waiting). {go_on}",
                    attempt + 1,
                    max_attempts,
                    secs(deadline),
                    secs(started.elapsed())
                ));
            }
            // Not a service answer (no connection, credentials, ...): botocore raises it.
            Ok(Err(e)) => return failed(e.to_string()),
        };
        attempt += 1;
        *last = Some(response.clone());
        // botocore reports the acceptor its loop stopped on: the match, else the last one.
        let mut matched = None;
        for (i, a) in acceptors.iter().enumerate() {
            match a.matches(&response) {
                Ok(true) => {
                    matched = Some(i);
                    break;
                }
                Ok(false) => {}
                Err(e) => return failed(e),
            }
        }
        let explained = matched
            .or(acceptors.len().checked_sub(1))
            .and_then(|i| acceptors.get(i));
        let explanation = explained.map(Compiled::explanation).unwrap_or_default();
        match matched {
            Some(i) => {
                last_matched = true;
                state = acceptors[i].acceptor.state;
            }
            None if response.is_error() => {
                let (code, message) = match &response {
                    Response::Error { code, message, .. } => (code.clone(), message.clone()),
                    Response::Ok(v) => {
                        let part = |k: &str| {
                            v.get("Error")
                                .and_then(|e| e.get(k))
                                .map_or_else(|| "Unknown".to_string(), py_str)
                        };
                        (part("Code"), part("Message"))
                    }
                };
                return failed(format!(
                    "Waiter {name} failed: An error occurred ({code}): {message}"
                ));
            }
            None => {}
        }
        match state {
            AcceptorState::Success => {
                progress.report(
                    attempt as f64,
                    Some(max_attempts as f64),
                    &format!("{name}: poll {attempt}: success"),
                );
                return S3Outcome::default();
            }
            AcceptorState::Failure => {
                return failed(format!(
                    "Waiter {name} failed: Waiter encountered a terminal failure state: {explanation}"
                ));
            }
            AcceptorState::Retry => {}
        }
        if attempt >= max_attempts {
            return failed(if last_matched {
                format!(
                    "Waiter {name} failed: Max attempts exceeded. Previously accepted state: {explanation}"
                )
            } else {
                format!("Waiter {name} failed: Max attempts exceeded")
            });
        }
        let seen = match matched {
            Some(_) => explanation.clone(),
            None => "no acceptor matched".to_string(),
        };
        progress.report(
            attempt as f64,
            Some(max_attempts as f64),
            &format!(
                "{name}: poll {attempt} of {max_attempts}: not done ({seen}); next poll in {} s",
                w.spec.delay
            ),
        );
        if started.elapsed() + delay >= deadline {
            return failed(format!(
                "Waiter {name} stopped: after {attempt} poll(s) in {:.1} s the waiter has reached neither success nor failure, and the next poll \
                 (in {} s; the AWS CLI would poll up to {max_attempts} times) would pass the per-call deadline of {} s. {go_on}",
                secs(started.elapsed()),
                w.spec.delay,
                secs(deadline)
            ));
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acceptor(matcher: &str, state: &str, expected: Json, argument: Option<&str>) -> Compiled {
        let mut a = json!({ "matcher": matcher, "state": state, "expected": expected });
        if let Some(arg) = argument {
            a["argument"] = json!(arg);
        }
        Compiled::new(&serde_json::from_value(a).unwrap()).unwrap()
    }

    fn err(status: u16, code: &str) -> Response {
        Response::Error {
            status,
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn matchers_decide_as_botocores() {
        let instances = |states: &[&str]| {
            Response::Ok(
                json!({ "Reservations": [{ "Instances": states.iter().map(|s| json!({ "State": { "Name": s } })).collect::<Vec<_>>() }] }),
            )
        };
        let all = "Reservations[].Instances[].State.Name";
        let table: Vec<(&str, Compiled, Response, bool)> = vec![
            // path: the result equals expected (string, bool, number as Python compares).
            (
                "path equal",
                acceptor(
                    "path",
                    "success",
                    json!("ACTIVE"),
                    Some("Table.TableStatus"),
                ),
                Response::Ok(json!({ "Table": { "TableStatus": "ACTIVE" } })),
                true,
            ),
            (
                "path differs",
                acceptor(
                    "path",
                    "success",
                    json!("ACTIVE"),
                    Some("Table.TableStatus"),
                ),
                Response::Ok(json!({ "Table": { "TableStatus": "CREATING" } })),
                false,
            ),
            (
                "path missing",
                acceptor(
                    "path",
                    "success",
                    json!("ACTIVE"),
                    Some("Table.TableStatus"),
                ),
                Response::Ok(json!({})),
                false,
            ),
            (
                "path bool",
                acceptor(
                    "path",
                    "success",
                    json!(true),
                    Some("length(Items[]) > `0`"),
                ),
                Response::Ok(json!({ "Items": [1] })),
                true,
            ),
            (
                "path bool false",
                acceptor(
                    "path",
                    "success",
                    json!(false),
                    Some("length(Items[]) > `0`"),
                ),
                Response::Ok(json!({ "Items": [] })),
                true,
            ),
            (
                "path number as float",
                acceptor("path", "success", json!(2), Some("n")),
                Response::Ok(json!({ "n": 2.0 })),
                true,
            ),
            (
                "path on an error",
                acceptor("path", "success", json!(null), Some("x")),
                err(400, "Bad"),
                false,
            ),
            (
                "path on an Error member",
                acceptor("path", "success", json!("v"), Some("x")),
                Response::Ok(json!({ "x": "v", "Error": { "Code": "E" } })),
                false,
            ),
            // pathAll: a non-empty list, every element equal.
            (
                "pathAll all",
                acceptor("pathAll", "success", json!("running"), Some(all)),
                instances(&["running", "running"]),
                true,
            ),
            (
                "pathAll one differs",
                acceptor("pathAll", "success", json!("running"), Some(all)),
                instances(&["running", "pending"]),
                false,
            ),
            (
                "pathAll empty",
                acceptor("pathAll", "success", json!("running"), Some(all)),
                instances(&[]),
                false,
            ),
            (
                "pathAll not a list",
                acceptor(
                    "pathAll",
                    "success",
                    json!("ACTIVE"),
                    Some("Table.TableStatus"),
                ),
                Response::Ok(json!({ "Table": { "TableStatus": "ACTIVE" } })),
                false,
            ),
            (
                "pathAll on an error",
                acceptor("pathAll", "success", json!("running"), Some(all)),
                err(400, "InvalidInstanceID.NotFound"),
                false,
            ),
            // pathAny: a non-empty list, one element equal.
            (
                "pathAny one",
                acceptor("pathAny", "failure", json!("terminated"), Some(all)),
                instances(&["running", "terminated"]),
                true,
            ),
            (
                "pathAny none",
                acceptor("pathAny", "failure", json!("terminated"), Some(all)),
                instances(&["running", "pending"]),
                false,
            ),
            (
                "pathAny empty",
                acceptor("pathAny", "failure", json!("terminated"), Some(all)),
                instances(&[]),
                false,
            ),
            (
                "pathAny not a list",
                acceptor("pathAny", "failure", json!("x"), Some("a")),
                Response::Ok(json!({ "a": "x" })),
                false,
            ),
            // status: 200 for a success, the error's status otherwise.
            (
                "status 200 on success",
                acceptor("status", "success", json!(200), None),
                Response::Ok(json!({})),
                true,
            ),
            (
                "status 404 on success",
                acceptor("status", "retry", json!(404), None),
                Response::Ok(json!({})),
                false,
            ),
            (
                "status 404 on 404",
                acceptor("status", "retry", json!(404), None),
                err(404, "404"),
                true,
            ),
            (
                "status 301 on 301",
                acceptor("status", "success", json!(301), None),
                err(301, "301"),
                true,
            ),
            (
                "status 200 on 500",
                acceptor("status", "success", json!(200), None),
                err(500, "InternalError"),
                false,
            ),
            // error: a code, any error (true), no error (false).
            (
                "error code",
                acceptor("error", "retry", json!("ResourceNotFoundException"), None),
                err(400, "ResourceNotFoundException"),
                true,
            ),
            (
                "error other code",
                acceptor("error", "retry", json!("ResourceNotFoundException"), None),
                err(400, "ValidationException"),
                false,
            ),
            (
                "error code on success",
                acceptor("error", "retry", json!("ResourceNotFoundException"), None),
                Response::Ok(json!({})),
                false,
            ),
            (
                "error true on error",
                acceptor("error", "failure", json!(true), None),
                err(400, "X"),
                true,
            ),
            (
                "error true on success",
                acceptor("error", "failure", json!(true), None),
                Response::Ok(json!({})),
                false,
            ),
            (
                "error false on success",
                acceptor("error", "success", json!(false), None),
                Response::Ok(json!({})),
                true,
            ),
            (
                "error false on error",
                acceptor("error", "success", json!(false), None),
                err(404, "NotFound"),
                false,
            ),
            (
                "error code in an Error member",
                acceptor("error", "failure", json!("E"), None),
                Response::Ok(json!({ "Error": { "Code": "E" } })),
                true,
            ),
        ];
        let mut failures = Vec::new();
        for (what, a, response, want) in &table {
            match a.matches(response) {
                Ok(got) if got == *want => {}
                other => failures.push(format!("{what}: got {other:?}, want {want}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // States come through as written.
        assert_eq!(
            acceptor("error", "retry", json!("X"), None).acceptor.state,
            AcceptorState::Retry
        );
        assert_eq!(
            acceptor("pathAny", "failure", json!("X"), Some("a"))
                .acceptor
                .state,
            AcceptorState::Failure
        );
        // An expression that fails to evaluate is an error, as botocore raises it.
        let bad = acceptor(
            "path",
            "success",
            json!(true),
            Some("length(Missing) > `0`"),
        );
        assert!(bad.matches(&Response::Ok(json!({}))).is_err());
    }

    #[test]
    fn explanations_are_botocores() {
        let all = "Reservations[].Instances[].State.Name";
        assert_eq!(
            acceptor("pathAny", "failure", json!("terminated"), Some(all)).explanation(),
            "For expression \"Reservations[].Instances[].State.Name\" we matched expected path: \"terminated\" at least once"
        );
        assert_eq!(
            acceptor("pathAll", "success", json!("running"), Some(all)).explanation(),
            "For expression \"Reservations[].Instances[].State.Name\" all members matched expected path: \"running\""
        );
        assert_eq!(
            acceptor("path", "success", json!(true), Some("a")).explanation(),
            "For expression \"a\" we matched expected path: \"True\""
        );
        assert_eq!(
            acceptor("status", "success", json!(200), None).explanation(),
            "Matched expected HTTP status code: 200"
        );
        assert_eq!(
            acceptor("error", "retry", json!("NoSuchEntity"), None).explanation(),
            "Matched expected service error code: NoSuchEntity"
        );
        assert_eq!(
            acceptor("error", "success", json!(false), None).explanation(),
            "Matched expected service error code: False"
        );
    }

    /// Every waiter of every service in the pack: its definition decodes (every matcher and
    /// state is one implemented here), the operation it polls is in the model and offered by the
    /// CLI, its CLI name is unique, and every expression compiles.
    #[test]
    fn every_waiter_in_the_pack_is_runnable() {
        let models = portcullis_model::models();
        let (mut services, mut waiters, mut acceptors, mut expressions) = (0, 0, 0, 0);
        let mut failures = Vec::new();
        // Waiters whose operation the AWS CLI offers only through a customization of its own.
        let mut hidden = Vec::new();
        for service in models.service_names() {
            let all = portcullis_cli::waiter::waiters(service)
                .unwrap_or_else(|e| panic!("{service}: {e}"));
            if all.is_empty() {
                continue;
            }
            services += 1;
            let model = models.service(service).unwrap();
            let cli = models.service_cli(service).unwrap();
            assert!(
                cli.custom_operations.iter().any(|c| c == "wait"),
                "{service} has waiters but the AWS CLI table has no `wait`"
            );
            let mut names = std::collections::HashSet::new();
            for (name, spec) in &all {
                waiters += 1;
                if !names.insert(portcullis_model::naming::xform_name(name)) {
                    failures.push(format!("{service}.{name}: its CLI name is taken twice"));
                }
                let spec = match spec {
                    Ok(s) => s,
                    Err(e) => {
                        failures.push(format!("{service}.{name}: {e}"));
                        continue;
                    }
                };
                if model.operation(&spec.operation).is_none() {
                    failures.push(format!(
                        "{service}.{name}: polls {}, not in the model",
                        spec.operation
                    ));
                }
                if !cli.by_cli_name.values().any(|o| *o == spec.operation) {
                    // Refused by the parser (it takes a waiter's options from the CLI operation).
                    hidden.push(format!("{service}.{name}"));
                }
                if spec.delay == 0 || spec.max_attempts == 0 || spec.acceptors.is_empty() {
                    failures.push(format!(
                        "{service}.{name}: delay {}, maxAttempts {}, {} acceptors",
                        spec.delay,
                        spec.max_attempts,
                        spec.acceptors.len()
                    ));
                }
                for a in &spec.acceptors {
                    acceptors += 1;
                    expressions += usize::from(a.argument.is_some());
                    if let Err(e) = Compiled::new(a) {
                        failures.push(format!("{service}.{name}: {e}"));
                    }
                }
            }
        }
        eprintln!(
            "waiters: {waiters} in {services} services ({acceptors} acceptors, {expressions} expressions) decode and compile; \
             {} poll an operation the CLI hides behind a customization: {hidden:?}",
            hidden.len()
        );
        assert!(
            failures.is_empty(),
            "{} problems:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert_eq!(hidden, ["emr.ClusterRunning", "emr.ClusterTerminated"]);
        assert!(
            services >= 60 && waiters >= 350,
            "{services} services, {waiters} waiters"
        );
    }
}
