//! The AWS CLI's token commands: `aws rds generate-db-auth-token`, `aws ecr get-login-password`
//! and `aws eks get-token`. Each prints a credential — a pre-signed URL or a password — made with
//! the pinned credentials:
//!
//! * `rds generate-db-auth-token --hostname H --port P --username U`: computed locally, no API
//!   call; a SigV4 query-signed `GET https://H:P/?Action=connect&DBUser=U` (signing name `rds-db`,
//!   900 s), printed without `https://`. What it authorizes is the IAM action `rds-db:connect`
//!   ([`TokenCommand::iam_actions`]).
//! * `ecr get-login-password`: one `ecr GetAuthorizationToken` call; prints the password of the
//!   token.
//! * `eks get-token --cluster-name C | --cluster-id ID [--role-arn R]`: a pre-signed `sts
//!   GetCallerIdentity` URL (60 s, the header `x-k8s-aws-id` signed) in an ExecCredential; with
//!   `--role-arn`, `sts AssumeRole` first and the URL signed with the role's credentials.
//!
//! The grammar is the AWS CLI's (`awscli/customizations/rds.py`, `ecr.py`, `eks/get_token.py`):
//! the command's own options (a unique prefix of one is that option, as argparse reads it), the
//! global options anywhere, nothing positional. Beyond the CLI, refused before anything runs: an
//! option given twice (argparse keeps the last), a `--hostname` that is not a host name or an IP
//! literal (the CLI pastes it into a URL as it is), and — said before any call rather than after
//! the `AssumeRole` the CLI makes first — `eks get-token` without a cluster or with both.
//!
//! What runs them is `portcullis_wire::extra::token`.

use serde::Serialize;

use crate::call::Command;
use crate::error::{CommandError, Problem, ProblemKind};
use crate::globals::GlobalOptions;
use crate::parse::{missing_value, own_option, take_global, take_value};

/// A parsed token command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "token", rename_all = "snake_case")]
pub enum TokenCommand {
    /// `aws rds generate-db-auth-token`.
    RdsDbAuthToken {
        hostname: String,
        port: u16,
        username: String,
    },
    /// `aws ecr get-login-password`.
    EcrLoginPassword,
    /// `aws eks get-token`.
    EksToken {
        /// `--cluster-name` or `--cluster-id` (exactly one is given): the value of the signed
        /// `x-k8s-aws-id` header.
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster_name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster_id: Option<String>,
        /// The role assumed (session name `EKSGetTokenAuth`) to sign the token.
        #[serde(skip_serializing_if = "Option::is_none")]
        role_arn: Option<String>,
    },
}

/// What one option of a token command takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Text,
    Port,
}

/// The options of each command, as the AWS CLI's `ARG_TABLE` names them.
fn options(command: &str, name: &str) -> Option<&'static [(&'static str, Opt)]> {
    Some(match (command, name) {
        ("rds", "generate-db-auth-token") => &[
            ("hostname", Opt::Text),
            ("port", Opt::Port),
            ("username", Opt::Text),
        ],
        ("ecr", "get-login-password") => &[],
        ("eks", "get-token") => &[
            ("cluster-name", Opt::Text),
            ("role-arn", Opt::Text),
            ("cluster-id", Opt::Text),
        ],
        _ => return None,
    })
}

impl TokenCommand {
    /// Every API operation it may make, `(botocore service, operation)`, in order. `eks
    /// get-token` signs `GetCallerIdentity` without sending it: whoever holds the token makes it.
    pub fn api_calls(&self) -> Vec<(String, String)> {
        let call = |s: &str, o: &str| (s.to_string(), o.to_string());
        match self {
            TokenCommand::RdsDbAuthToken { .. } => Vec::new(),
            TokenCommand::EcrLoginPassword => vec![call("ecr", "GetAuthorizationToken")],
            TokenCommand::EksToken { role_arn, .. } => {
                let mut calls = Vec::new();
                if role_arn.is_some() {
                    calls.push(call("sts", "AssumeRole"));
                }
                calls.push(call("sts", "GetCallerIdentity"));
                calls
            }
        }
    }

    /// IAM actions the token stands for beyond its API calls: `rds-db:connect` for a database
    /// token (it is no API operation; the database checks it when the token is presented).
    pub fn iam_actions(&self) -> Vec<String> {
        match self {
            TokenCommand::RdsDbAuthToken { .. } => vec!["rds-db:connect".to_string()],
            _ => Vec::new(),
        }
    }
}

/// Parses `aws [globals] <command> <name> ...` for the token commands; `None` for any other
/// command.
pub(crate) fn parse(
    words: &[String],
    command: &str,
    name: &str,
) -> Option<Result<Command, CommandError>> {
    let table = options(command, name)?;
    Some(parse_token(words, command, name, table))
}

fn parse_token(
    words: &[String],
    command: &str,
    name: &str,
    table: &'static [(&'static str, Opt)],
) -> Result<Command, CommandError> {
    let mut globals = GlobalOptions::default();
    let mut seen_globals: Vec<String> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut positionals = 0usize;
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(opt) = word.strip_prefix("--").filter(|o| !o.is_empty()) else {
            positionals += 1;
            // The command and its name; anything after is not an option of the AWS CLI's.
            if positionals > 2 {
                problems.push(Problem::new(
                    ProblemKind::UnknownOption,
                    format!("{word:?} is not an option of aws {command} {name} (it takes no positional arguments)"),
                ));
            }
            continue;
        };
        let (given, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (opt, None),
        };
        if take_global(
            given,
            inline.as_deref(),
            words,
            &mut i,
            &mut globals,
            &mut seen_globals,
            &mut problems,
        ) {
            continue;
        }
        // argparse reads a unique prefix of an option as that option.
        let (canonical, kind) = match own_option(table, given, &format!("aws {command} {name}")) {
            Ok(found) => found,
            Err(p) => {
                problems.push(p);
                // Skip what was probably its value.
                if inline.is_none() {
                    let _ = take_value(words, &mut i);
                }
                continue;
            }
        };
        let Some(value) = inline.or_else(|| take_value(words, &mut i)) else {
            problems.push(missing_value(canonical, words.get(i)));
            continue;
        };
        if values.iter().any(|(n, _)| *n == canonical) {
            problems.push(Problem::new(
                ProblemKind::DuplicateOption,
                format!("--{canonical} is given more than once; give it once"),
            ));
            continue;
        }
        if kind == Opt::Port
            && let Err(p) = port(&value)
        {
            problems.push(p);
        }
        values.push((canonical, value));
    }
    let text = |n: &str| values.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    let mut required = |n: &str| {
        let v = text(n);
        if v.is_none() {
            problems.push(Problem::new(
                ProblemKind::MissingRequired,
                format!("--{n} is required by aws {command} {name}"),
            ));
        }
        v.unwrap_or_default()
    };
    let token = match (command, name) {
        ("rds", _) => {
            let hostname = required("hostname");
            let port_text = required("port");
            let username = required("username");
            if text("hostname").is_some() && !is_host(&hostname) {
                problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    format!(
                        "--hostname {hostname:?} is not a host name or IP address (letters, digits, '-', '.' and '_', or an IPv6 address in brackets); \
                         give the database's host alone and its port with --port"
                    ),
                ));
            }
            TokenCommand::RdsDbAuthToken {
                hostname,
                port: port(&port_text).unwrap_or(0),
                username,
            }
        }
        ("ecr", _) => TokenCommand::EcrLoginPassword,
        _ => {
            // The AWS CLI tests truthiness: an empty value is no value.
            let cluster_name = text("cluster-name").filter(|v| !v.is_empty());
            let cluster_id = text("cluster-id").filter(|v| !v.is_empty());
            match (&cluster_name, &cluster_id) {
                (None, None) => problems.push(Problem::new(ProblemKind::MissingRequired, "Either parameter --cluster-name or --cluster-id must be specified.")),
                (Some(_), Some(_)) => problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    "--cluster-name and --cluster-id cannot be given together (the AWS CLI: The key \"cluster_id\" cannot be specified when one of the \
                     following keys are also specified: cluster_name); give --cluster-id for a local cluster on AWS Outposts, else --cluster-name",
                )),
                _ => {}
            }
            TokenCommand::EksToken {
                cluster_name,
                cluster_id,
                role_arn: text("role-arn"),
            }
        }
    };
    if !problems.is_empty() {
        return Err(CommandError { problems });
    }
    Ok(Command::Extra(crate::ExtraCommand {
        command: command.to_string(),
        name: name.to_string(),
        kind: crate::Extra::Token(token),
        globals,
    }))
}

/// `--port` as the AWS CLI reads it: Python's `int()` (spaces around, a sign, leading zeros), then
/// a URL port (0 to 65535).
fn port(value: &str) -> Result<u16, Problem> {
    let t = value.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if let Some(neg) = digits.strip_prefix('-')
        && !neg.is_empty()
        && neg.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Problem::new(
            ProblemKind::InvalidValue,
            format!("--port {value:?}: a port is from 0 to 65535"),
        ));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::new(
            ProblemKind::InvalidType,
            format!("--port takes a whole number, not {value:?}"),
        ));
    }
    let n = digits.trim_start_matches('0');
    match n.parse::<u32>() {
        _ if n.is_empty() => Ok(0),
        Ok(p) if p <= 65535 => Ok(p as u16),
        _ => Err(Problem::new(
            ProblemKind::InvalidValue,
            format!("--port {value:?}: a port is from 0 to 65535"),
        )),
    }
}

/// A host name (DNS-like: letters, digits, `-`, `.`, `_`), an IPv4 address, or an IPv6 address in
/// brackets: what can stand before `:port` in a URL and mean one host.
fn is_host(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.contains(':') && inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenyAll, Extra, ExtraCommand, Parser};

    fn parse(command: &str) -> Result<Command, CommandError> {
        Parser::new(&DenyAll).parse(command)
    }

    fn extra(command: &str) -> ExtraCommand {
        match parse(command) {
            Ok(Command::Extra(x)) => x,
            other => panic!("{command}: {other:?}"),
        }
    }

    fn token(command: &str) -> TokenCommand {
        match extra(command).kind {
            Extra::Token(t) => t,
            other => panic!("{command}: {other:?}"),
        }
    }

    #[test]
    fn rds_generate_db_auth_token_parses_with_globals_anywhere() {
        let x = extra(
            "aws --region eu-west-1 rds generate-db-auth-token --hostname db.example.com --port 5432 --username jane --output text",
        );
        assert_eq!(
            x.kind,
            Extra::Token(TokenCommand::RdsDbAuthToken {
                hostname: "db.example.com".into(),
                port: 5432,
                username: "jane".into()
            })
        );
        assert_eq!(x.globals.region.as_deref(), Some("eu-west-1"));
        assert_eq!(x.globals.output.as_deref(), Some("text"));
        assert_eq!(x.display_name(), "aws rds generate-db-auth-token");
        assert!(x.api_calls().is_empty());
        assert_eq!(x.iam_actions(), ["rds-db:connect"]);
        assert!(x.returns_credentials() && !x.destructive());
        // `=` forms, a unique prefix, Python's int() (leading zeros, a sign, spaces).
        assert_eq!(
            token("aws rds generate-db-auth-token --host=h --port=+0443 --user u"),
            TokenCommand::RdsDbAuthToken {
                hostname: "h".into(),
                port: 443,
                username: "u".into()
            }
        );
        assert_eq!(
            token("aws rds generate-db-auth-token --hostname 10.0.0.1 --port ' 0 ' --username ''"),
            TokenCommand::RdsDbAuthToken {
                hostname: "10.0.0.1".into(),
                port: 0,
                username: String::new()
            }
        );
        assert!(matches!(
            token("aws rds generate-db-auth-token --hostname [::1] --port 1 --username u"),
            TokenCommand::RdsDbAuthToken { .. }
        ));
    }

    #[test]
    fn rds_problems_are_reported_together() {
        let e = parse("aws rds generate-db-auth-token --hostname h").unwrap_err();
        assert_eq!(
            e.problems
                .iter()
                .filter(|p| p.kind == ProblemKind::MissingRequired)
                .count(),
            2,
            "{e}"
        );
        for (port, kind) in [
            ("x", ProblemKind::InvalidType),
            ("99999", ProblemKind::InvalidValue),
            ("-1", ProblemKind::InvalidValue),
            ("5_432", ProblemKind::InvalidType),
        ] {
            let e = parse(&format!(
                "aws rds generate-db-auth-token --hostname h --port={port} --username u"
            ))
            .unwrap_err();
            assert_eq!(e.kind(), Some(kind), "{port}: {e}");
        }
        for host in ["", "h:1", "h/x", "a@b", "h?x", "[zz]"] {
            let e = parse(&format!(
                "aws rds generate-db-auth-token --hostname '{host}' --port 1 --username u"
            ))
            .unwrap_err();
            assert_eq!(e.kind(), Some(ProblemKind::InvalidValue), "{host}: {e}");
        }
        let e =
            parse("aws rds generate-db-auth-token --hostname h --port 1 --username u --usernme v")
                .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOption));
        assert_eq!(e.problems[0].suggestions, ["--username"]);
        let e =
            parse("aws rds generate-db-auth-token --hostname h --port 1 --username u --username v")
                .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::DuplicateOption));
        let e = parse("aws rds generate-db-auth-token --hostname h --port 1 --username u extra")
            .unwrap_err();
        assert!(e.to_string().contains("positional"), "{e}");
    }

    #[test]
    fn ecr_get_login_password_takes_only_globals() {
        let x = extra("aws ecr get-login-password --region us-west-2");
        assert_eq!(x.kind, Extra::Token(TokenCommand::EcrLoginPassword));
        assert_eq!(
            x.api_calls(),
            [("ecr".to_string(), "GetAuthorizationToken".to_string())]
        );
        assert!(x.returns_credentials());
        let e = parse("aws ecr get-login-password --registry-ids 1").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOption));
        assert!(e.to_string().contains("it takes no options"), "{e}");
        // `get-login` (a `docker login` command line) stays refused.
        assert!(parse("aws ecr get-login").is_err());
    }

    #[test]
    fn eks_get_token_takes_a_cluster_and_a_role() {
        let x = extra("aws eks get-token --cluster-name c");
        assert_eq!(
            x.kind,
            Extra::Token(TokenCommand::EksToken {
                cluster_name: Some("c".into()),
                cluster_id: None,
                role_arn: None
            })
        );
        assert_eq!(
            x.api_calls(),
            [("sts".to_string(), "GetCallerIdentity".to_string())]
        );
        assert!(x.returns_credentials() && x.iam_actions().is_empty());
        let x = extra(
            "aws eks get-token --cluster-id abc --role-arn arn:aws:iam::123456789012:role/r --region eu-west-1 --query status.token",
        );
        assert_eq!(
            x.api_calls(),
            [
                ("sts".to_string(), "AssumeRole".to_string()),
                ("sts".to_string(), "GetCallerIdentity".to_string())
            ]
        );
        assert_eq!(x.globals.query.as_deref(), Some("status.token"));
        let e = parse("aws eks get-token").unwrap_err();
        assert!(
            e.to_string()
                .contains("Either parameter --cluster-name or --cluster-id must be specified."),
            "{e}"
        );
        let e = parse("aws eks get-token --cluster-name ''").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::MissingRequired));
        let e = parse("aws eks get-token --cluster-name c --cluster-id d").unwrap_err();
        assert!(e.to_string().contains("cannot be given together"), "{e}");
        // argparse: `--cluster` could be either.
        let e = parse("aws eks get-token --cluster c").unwrap_err();
        assert!(e.to_string().contains("ambiguous"), "{e}");
        let e = parse("aws eks get-token --cluster-nam c --role r --bogus").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOption), "{e}");
    }

    #[test]
    fn the_digest_covers_every_argument() {
        let a = extra("aws eks get-token --cluster-name c");
        let b = extra("aws eks get-token --cluster-name d");
        let c =
            extra("aws eks get-token --cluster-name c --role-arn arn:aws:iam::123456789012:role/r");
        let d = extra("aws eks get-token --cluster-name c --region eu-west-1");
        let digests: std::collections::HashSet<String> =
            [&a, &b, &c, &d].iter().map(|x| x.digest()).collect();
        assert_eq!(digests.len(), 4);
        let json = serde_json::to_value(&c.kind).unwrap();
        assert_eq!(json["customization"], "token");
        assert_eq!(json["token"], "eks_token");
        assert_eq!(json["role_arn"], "arn:aws:iam::123456789012:role/r");
        let json = serde_json::to_value(&extra("aws ecr get-login-password").kind).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"customization": "token", "token": "ecr_login_password"})
        );
    }

    #[test]
    fn other_customizations_of_these_commands_are_not_token_commands() {
        let e = parse("aws eks update-kubeconfig --name c").unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::Unsupported), "{e}");
    }
}
