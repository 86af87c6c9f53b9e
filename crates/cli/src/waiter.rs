//! `aws <command> wait <waiter> [options]`: the AWS CLI's waiters, from botocore's waiter models
//! (version 2) in the embedded pack.
//!
//! A waiter polls one API operation until one of its acceptors says success or failure. Its CLI
//! options are that operation's (the AWS CLI builds the waiter's argument table from the
//! operation's input), so the command is parsed as that operation by the normal parser — words
//! rewritten from `aws ec2 wait instance-running ...` to `aws ec2 describe-instances ...` — and
//! validation, shorthand, `file://`, `--cli-input-json` and global options behave the same. The
//! paging options are refused: the AWS CLI accepts them but then fails every waiter given one
//! (`Unknown parameter in input: "PaginationConfig"`).
//!
//! What runs it is `portcullis_wire::extra::wait`.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::call::{Command, OperationCall};
use crate::error::{CommandError, Problem, ProblemKind, did_you_mean};

/// A parsed `aws <command> wait <waiter>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitCommand {
    /// The waiter as botocore's model names it: `InstanceRunning`.
    pub waiter: String,
    /// Its CLI name: `instance-running`.
    pub cli_name: String,
    /// Its definition (operation, delay, most attempts; the acceptors are not serialized).
    #[serde(flatten)]
    pub spec: WaiterSpec,
    /// The call each poll makes: the polled operation with the command's arguments.
    pub call: OperationCall,
}

/// One waiter of botocore's waiter model (`waiters-2.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiterSpec {
    /// The API operation polled: `DescribeInstances`.
    pub operation: String,
    /// Seconds between polls.
    pub delay: u64,
    /// The most polls.
    #[serde(rename(deserialize = "maxAttempts"))]
    pub max_attempts: u64,
    /// In order; the first that matches a response decides.
    #[serde(skip_serializing)]
    pub acceptors: Vec<Acceptor>,
}

/// What a response must look like for the waiter to move to `state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acceptor {
    pub state: AcceptorState,
    pub matcher: Matcher,
    /// Compared with the response (path matchers), the HTTP status or the error code.
    pub expected: serde_json::Value,
    /// The JMESPath expression of the path matchers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
}

/// botocore's acceptor states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcceptorState {
    Success,
    Failure,
    Retry,
}

/// botocore's matchers (every one it implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Matcher {
    /// The expression's result equals `expected`.
    Path,
    /// The expression yields a non-empty list whose every element equals `expected`.
    PathAll,
    /// The expression yields a non-empty list with an element equal to `expected`.
    PathAny,
    /// The HTTP status equals `expected`.
    Status,
    /// The error code equals `expected` (`true`: any error, `false`: no error).
    Error,
}

#[derive(Deserialize)]
struct WaiterModel {
    version: u64,
    waiters: IndexMap<String, serde_json::Value>,
}

/// Every waiter of a botocore service, by botocore name, in the model's order (empty when the
/// service has none). Each value is the decoded waiter, or why it cannot be decoded (an
/// acceptor botocore does not define).
pub fn waiters(service: &str) -> Result<IndexMap<String, Result<WaiterSpec, String>>, String> {
    let Some(raw) = portcullis_model::models()
        .waiters(service)
        .map_err(|e| e.to_string())?
    else {
        return Ok(IndexMap::new());
    };
    let model: WaiterModel =
        serde_json::from_value(raw).map_err(|e| format!("the waiter model of {service}: {e}"))?;
    if model.version != 2 {
        return Err(format!(
            "the waiter model of {service} is version {}, not 2",
            model.version
        ));
    }
    Ok(model
        .waiters
        .into_iter()
        .map(|(name, w)| (name, serde_json::from_value(w).map_err(|e| e.to_string())))
        .collect())
}

/// The position of each of the first `n` positional words after `aws` (the command, `wait`,
/// the waiter), skipping global options and their values, as `extra::command_and_name` does;
/// fewer when an operation option comes first.
fn positionals(words: &[String], n: usize) -> Vec<usize> {
    use crate::globals::{GlobalKind, global_kind};
    let mut found = Vec::new();
    let mut i = 1;
    while let Some(w) = words.get(i) {
        match w.strip_prefix("--") {
            None => {
                found.push(i);
                if found.len() == n {
                    break;
                }
            }
            Some(opt) if opt.contains('=') => {}
            Some(opt) => match global_kind(opt) {
                Some(GlobalKind::Flag) => {}
                Some(_) => i += 1,
                None => break,
            },
        }
        i += 1;
    }
    found
}

/// Parses `aws <command> wait ...`; `None` when the command's service has no waiters (then the
/// AWS CLI has no `wait` for it either, and the operation parser refuses it).
pub(crate) fn parse(
    parser: &crate::Parser<'_>,
    words: &[String],
    command: &str,
) -> Option<Result<Command, CommandError>> {
    let models = portcullis_model::models();
    let service = models.command(command)?.service.clone()?;
    let all = waiters(&service).ok()?;
    if all.is_empty() {
        return None;
    }
    Some(parse_waiter(parser, words, command, &service, all))
}

fn parse_waiter(
    parser: &crate::Parser<'_>,
    words: &[String],
    command: &str,
    service: &str,
    all: IndexMap<String, Result<WaiterSpec, String>>,
) -> Result<Command, CommandError> {
    let names: IndexMap<String, String> = all
        .keys()
        .map(|k| (portcullis_model::naming::xform_name(k), k.clone()))
        .collect();
    let at = positionals(words, 3);
    let (Some(&wait_at), Some(&waiter_at)) = (at.get(1), at.get(2)) else {
        let some: Vec<&str> = names.keys().take(6).map(String::as_str).collect();
        return Err(Problem::new(
            ProblemKind::UnknownOperation,
            format!(
                "no waiter given; write aws {command} wait <waiter> [options of the operation it polls], right after `wait` \
                 ({} waiters, e.g. {})",
                names.len(),
                some.join(", ")
            ),
        )
        .into());
    };
    let cli_name = words[waiter_at].as_str();
    let Some(waiter) = names.get(cli_name) else {
        return Err(Problem::new(
            ProblemKind::UnknownOperation,
            format!("{cli_name:?} is not a waiter of `aws {command} wait`"),
        )
        .suggest(did_you_mean(cli_name, names.keys().map(String::as_str)))
        .into());
    };
    let spec = match all.get(waiter) {
        Some(Ok(spec)) => spec.clone(),
        other => {
            let why = other
                .and_then(|r| r.as_ref().err())
                .cloned()
                .unwrap_or_default();
            return Err(Problem::new(
                ProblemKind::Unsupported,
                format!("`aws {command} wait {cli_name}` is not run: Portcullis cannot read its waiter definition ({why})"),
            )
            .into());
        }
    };
    let models = portcullis_model::models();
    let cli = models
        .service_cli(service)
        .map_err(|e| Problem::new(ProblemKind::UnknownService, e.to_string()))?;
    let Some(op_cli) = cli
        .by_cli_name
        .iter()
        .find(|(_, api)| **api == spec.operation)
        .map(|(c, _)| c.clone())
    else {
        return Err(Problem::new(
            ProblemKind::Unsupported,
            format!(
                "`aws {command} wait {cli_name}` is not run: it polls {}, which the AWS CLI offers only through a customization of its own \
                 (`aws {command} {}`), and Portcullis reads a waiter's options from the CLI operation it polls",
                spec.operation,
                portcullis_model::naming::xform_name(&spec.operation)
            ),
        )
        .into());
    };
    // `aws ec2 wait instance-running ARGS` → `aws ec2 describe-instances ARGS`.
    let mut rewritten: Vec<String> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        if i == wait_at {
            rewritten.push(op_cli.clone());
        } else if i != waiter_at {
            rewritten.push(w.clone());
        }
    }
    let mut call = match parser.parse_words(&rewritten) {
        Ok(Command::Call(call)) => call,
        // `--generate-cli-skeleton`: the polled operation's skeleton, as the AWS CLI prints.
        Ok(skeleton @ Command::Skeleton { .. }) => return Ok(skeleton),
        Ok(_) => {
            return Err(Problem::new(
                ProblemKind::Unsupported,
                format!(
                    "`aws {command} wait {cli_name}` did not parse as `aws {command} {op_cli}`"
                ),
            )
            .into());
        }
        Err(mut e) => {
            for p in &mut e.problems {
                p.message = format!(
                    "{} (`aws {command} wait {cli_name}` takes the options of `aws {command} {op_cli}`)",
                    p.message
                );
            }
            return Err(e);
        }
    };
    // The AWS CLI's EC2 page-size injector is bound to `ec2 describe-volumes` and
    // `describe-snapshots` themselves, not to the waiters polling them: drop the size it adds.
    let page_size_given = words.iter().any(|w| {
        let option = w.split('=').next().unwrap_or_default();
        option.len() > 2 && "--page-size".starts_with(option)
    });
    if command == "ec2"
        && matches!(op_cli.as_str(), "describe-volumes" | "describe-snapshots")
        && !page_size_given
        && call.paging.page_size == Some(1000)
    {
        call.paging.page_size = None;
    }
    let mut paging = Vec::new();
    if call.paging.starting_token.is_some() {
        paging.push("--starting-token");
    }
    if call.paging.page_size.is_some() {
        paging.push("--page-size");
    }
    if call.paging.max_items.is_some() {
        paging.push("--max-items");
    }
    if !paging.is_empty() {
        return Err(Problem::new(
            ProblemKind::Unsupported,
            format!(
                "{} cannot be given to a waiter: each poll is one {} call (the AWS CLI fails on them too: Unknown parameter in input: \"PaginationConfig\"); drop them",
                paging.join(", "),
                spec.operation
            ),
        )
        .into());
    }
    if call.outfile.is_some() {
        return Err(Problem::new(ProblemKind::Unsupported, format!("`aws {command} wait {cli_name}` prints nothing and writes no file; drop the outfile")).into());
    }
    let globals = call.globals.clone();
    let wait = WaitCommand {
        waiter: waiter.clone(),
        cli_name: cli_name.to_string(),
        spec,
        call,
    };
    Ok(Command::Extra(crate::ExtraCommand {
        command: command.to_string(),
        name: "wait".into(),
        kind: crate::Extra::Wait(Box::new(wait)),
        globals,
    }))
}

impl WaitCommand {
    /// The polled call: `(botocore service, operation)`.
    pub fn api_call(&self) -> (String, String) {
        (self.call.service.clone(), self.call.operation.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenyAll, Parser};

    fn parse(command: &str) -> Result<Command, CommandError> {
        Parser::new(&DenyAll).parse(command)
    }

    fn wait(command: &str) -> WaitCommand {
        match parse(command) {
            Ok(Command::Extra(crate::ExtraCommand {
                kind: crate::Extra::Wait(w),
                ..
            })) => *w,
            other => panic!("{command}: {other:?}"),
        }
    }

    #[test]
    fn a_waiter_is_its_operation_with_the_same_options() {
        let w = wait("aws ec2 wait instance-running --instance-ids i-1 i-2 --region eu-west-1");
        assert_eq!(
            (w.waiter.as_str(), w.cli_name.as_str()),
            ("InstanceRunning", "instance-running")
        );
        assert_eq!(
            (w.call.service.as_str(), w.call.operation.as_str()),
            ("ec2", "DescribeInstances")
        );
        assert_eq!(
            w.call.params["InstanceIds"].to_json(),
            serde_json::json!(["i-1", "i-2"])
        );
        assert_eq!(w.call.globals.region.as_deref(), Some("eu-west-1"));
        assert_eq!((w.spec.delay, w.spec.max_attempts), (15, 40));
        assert!(
            w.spec
                .acceptors
                .iter()
                .any(|a| a.matcher == Matcher::PathAll && a.state == AcceptorState::Success)
        );
        // Globals before the command and before the waiter name.
        let w =
            wait("aws --region us-west-2 dynamodb wait --output text table-exists --table-name t");
        assert_eq!(
            (w.call.operation.as_str(), w.call.globals.region.as_deref()),
            ("DescribeTable", Some("us-west-2"))
        );
        let w = wait("aws s3api wait object-exists --bucket b --key k");
        assert_eq!(w.call.operation, "HeadObject");
    }

    #[test]
    fn the_command_shows_and_digests_the_waiter() {
        let Ok(Command::Extra(cmd)) = parse("aws ec2 wait instance-running --instance-ids i-1")
        else {
            panic!()
        };
        assert_eq!(cmd.display_name(), "aws ec2 wait instance-running");
        assert_eq!(
            cmd.api_calls(),
            vec![("ec2".to_string(), "DescribeInstances".to_string())]
        );
        assert!(!cmd.returns_credentials() && !cmd.destructive());
        let Ok(Command::Extra(other)) = parse("aws ec2 wait instance-running --instance-ids i-2")
        else {
            panic!()
        };
        assert_ne!(cmd.digest(), other.digest());
        let json = serde_json::to_value(&cmd.kind).unwrap();
        assert_eq!(json["customization"], "wait");
        assert_eq!(json["waiter"], "InstanceRunning");
        assert_eq!(json["operation"], "DescribeInstances");
        assert_eq!(json["delay"], 15);
        assert_eq!(json["max_attempts"], 40);
        assert!(json.get("acceptors").is_none());
    }

    #[test]
    fn unknown_waiters_and_options_are_refused_with_suggestions() {
        let e = parse("aws ec2 wait instance-runing --instance-ids i-1").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOperation));
        assert!(
            e.problems[0]
                .suggestions
                .contains(&"instance-running".to_string()),
            "{e}"
        );
        let e = parse("aws ec2 wait").unwrap_err();
        assert!(e.to_string().contains("no waiter given"), "{e}");
        let e = parse("aws ec2 wait --instance-ids i-1 instance-running").unwrap_err();
        assert!(e.to_string().contains("right after `wait`"), "{e}");
        let e = parse("aws ec2 wait instance-running --instance-idz i-1").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOption));
        assert!(
            e.to_string()
                .contains("takes the options of `aws ec2 describe-instances`"),
            "{e}"
        );
        // Required members of the polled operation are required.
        let e = parse("aws dynamodb wait table-exists").unwrap_err();
        assert!(e.has(ProblemKind::MissingRequired), "{e}");
    }

    #[test]
    fn paging_options_are_refused_and_the_operations_own_are_taken() {
        for opt in ["--max-items 5", "--page-size 5", "--starting-token abc"] {
            let e = parse(&format!("aws ec2 wait instance-running {opt}")).unwrap_err();
            assert!(e.to_string().contains("PaginationConfig"), "{opt}: {e}");
        }
        let w = wait("aws ec2 wait instance-running --max-results 5");
        assert_eq!(w.call.params["MaxResults"].to_json(), serde_json::json!(5));
    }

    #[test]
    fn waiters_on_operations_the_cli_customizes_are_refused() {
        let e = parse("aws emr wait cluster-running --cluster-id j-1").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::Unsupported));
        assert!(e.to_string().contains("DescribeCluster"), "{e}");
    }

    #[test]
    fn the_ec2_page_size_default_is_not_a_waiters() {
        let w = wait("aws ec2 wait volume-available");
        assert!(w.call.paging.is_empty(), "{:?}", w.call.paging);
        let w = wait("aws ec2 wait snapshot-completed --owner-ids self");
        assert!(w.call.paging.is_empty(), "{:?}", w.call.paging);
        let e = parse("aws ec2 wait volume-available --page-size 1000").unwrap_err();
        assert!(e.to_string().contains("PaginationConfig"), "{e}");
    }

    #[test]
    fn services_without_waiters_have_no_wait() {
        let e = parse("aws sts wait anything").unwrap_err();
        assert!(!e.to_string().contains("waiter"), "{e}");
    }
}
