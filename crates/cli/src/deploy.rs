//! `aws cloudformation deploy`: the AWS CLI's customization that creates or updates a stack
//! through a change set (`awscli/customizations/cloudformation/deploy.py` and `deployer.py`).
//!
//! The grammar is the AWS CLI's `ARG_TABLE`: `--template-file` and `--stack-name` (required),
//! `--parameter-overrides`, `--capabilities`, `--tags` and `--notification-arns` (one or more
//! values each), `--role-arn`, and the flags `--no-execute-changeset`, `--[no-]disable-rollback`,
//! `--[no-]fail-on-empty-changeset`; a unique prefix of an option is that option (argparse); the
//! global options anywhere.
//!
//! The template is read here, through the [`crate::PathPolicy`] (as `file://` is), so the
//! command's digest covers what will be sent; its `Parameters` are merged with the overrides as
//! the CLI's `merge_parameters` does (an override for a parameter the template declares, else
//! `UsePreviousValue`). The CLI reads the template as YAML (JSON first): JSON templates are read
//! whole; of a YAML template only the keys of its top-level block mapping `Parameters` are needed,
//! and a YAML template whose `Parameters` is written in flow style is refused.
//!
//! Refused before anything runs: `--s3-bucket` (uploading the template is not run yet; a
//! template up to 51,200 bytes is sent inline without it) and a template over 51,200 bytes (the
//! CLI's own `DeployBucketRequiredError`), an option given twice, both of a flag pair, and a
//! `--parameter-overrides`/`--tags` value that is not `Key=Value` (the CLI's own message).
//!
//! What runs it is `portcullis_wire::extra::deploy`.

use indexmap::IndexMap;
use serde::Serialize;

use crate::call::Command;
use crate::error::{CommandError, Problem, ProblemKind};
use crate::files::FileUse;
use crate::globals::GlobalOptions;
use crate::parse::{missing_value, own_option, take_global, take_value};

/// The CLI's limit on a template sent inline (`TemplateBody`).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// A parsed `aws cloudformation deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployCommand {
    pub stack_name: String,
    /// `--template-file` as given.
    pub template_file: String,
    /// The template as read (sent as `TemplateBody`).
    pub template_body: String,
    /// The template's parameters, in its order, each with its override or none
    /// (`UsePreviousValue`).
    pub parameters: Vec<DeployParameter>,
    pub capabilities: Vec<String>,
    /// `--tags`, as the CLI's dict (the last value of a key; the order of first mention).
    pub tags: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_arns: Option<Vec<String>>,
    /// False with `--no-execute-changeset`.
    pub execute_changeset: bool,
    pub disable_rollback: bool,
    /// False with `--no-fail-on-empty-changeset`.
    pub fail_on_empty_changeset: bool,
}

/// One parameter of the template: `ParameterValue` when overridden, else `UsePreviousValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployParameter {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Text,
    List,
    Flag,
}

const OPTIONS: &[(&str, Opt)] = &[
    ("template-file", Opt::Text),
    ("stack-name", Opt::Text),
    ("s3-bucket", Opt::Text),
    ("force-upload", Opt::Flag),
    ("s3-prefix", Opt::Text),
    ("kms-key-id", Opt::Text),
    ("parameter-overrides", Opt::List),
    ("capabilities", Opt::List),
    ("no-execute-changeset", Opt::Flag),
    ("disable-rollback", Opt::Flag),
    ("no-disable-rollback", Opt::Flag),
    ("role-arn", Opt::Text),
    ("notification-arns", Opt::List),
    ("fail-on-empty-changeset", Opt::Flag),
    ("no-fail-on-empty-changeset", Opt::Flag),
    ("tags", Opt::List),
];

impl DeployCommand {
    /// Every API operation it may make, in order: `DescribeStacks` (does the stack exist?),
    /// `GetTemplateSummary` (an update: which parameters the stack has), `CreateChangeSet`,
    /// `DescribeChangeSet` (the change-set waiter), then unless `--no-execute-changeset`
    /// `ExecuteChangeSet` and `DescribeStacks` again (the stack waiter).
    pub fn api_calls(&self) -> Vec<(String, String)> {
        let mut ops = vec![
            "DescribeStacks",
            "GetTemplateSummary",
            "CreateChangeSet",
            "DescribeChangeSet",
        ];
        if self.execute_changeset {
            ops.push("ExecuteChangeSet");
        }
        ops.into_iter()
            .map(|o| ("cloudformation".to_string(), o.to_string()))
            .collect()
    }

    /// `iam:PassRole` when `--role-arn` passes a role to CloudFormation.
    pub fn iam_actions(&self) -> Vec<String> {
        if self.role_arn.is_some() {
            vec!["iam:PassRole".to_string()]
        } else {
            Vec::new()
        }
    }
}

/// Parses `aws [globals] cloudformation deploy ...`; `None` for any other command.
pub(crate) fn parse(
    parser: &crate::Parser<'_>,
    words: &[String],
    command: &str,
) -> Option<Result<Command, CommandError>> {
    if command != "cloudformation" {
        return None;
    }
    Some(parse_deploy(parser, words))
}

fn parse_deploy(parser: &crate::Parser<'_>, words: &[String]) -> Result<Command, CommandError> {
    let mut globals = GlobalOptions::default();
    let mut seen_globals: Vec<String> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut texts: Vec<(&'static str, String)> = Vec::new();
    let mut lists: Vec<(&'static str, Vec<String>)> = Vec::new();
    let mut flags: Vec<&'static str> = Vec::new();
    let mut positionals = 0usize;
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(opt) = word.strip_prefix("--").filter(|o| !o.is_empty()) else {
            positionals += 1;
            if positionals > 2 {
                problems.push(Problem::new(
                    ProblemKind::UnknownOption,
                    format!("{word:?} is not an option of aws cloudformation deploy (it takes no positional arguments)"),
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
        let (canonical, kind) = match own_option(OPTIONS, given, "aws cloudformation deploy") {
            Ok(found) => found,
            Err(p) => {
                problems.push(p);
                // Skip what was probably its value.
                if inline.is_none() {
                    while take_value(words, &mut i).is_some() {}
                }
                continue;
            }
        };
        let twice = texts.iter().any(|(n, _)| *n == canonical)
            || lists.iter().any(|(n, _)| *n == canonical)
            || flags.contains(&canonical);
        if twice {
            problems.push(Problem::new(
                ProblemKind::DuplicateOption,
                format!("--{canonical} is given more than once; give it once"),
            ));
        }
        match kind {
            Opt::Flag => {
                if inline.is_some() {
                    problems.push(Problem::new(
                        ProblemKind::InvalidType,
                        format!("--{canonical} is a flag and takes no value"),
                    ));
                }
                flags.push(canonical);
            }
            Opt::Text => match inline.or_else(|| take_value(words, &mut i)) {
                Some(v) => texts.push((canonical, v)),
                None => problems.push(missing_value(canonical, words.get(i))),
            },
            Opt::List => {
                // argparse's nargs='+': every following word that is not an option.
                let mut values: Vec<String> = inline.into_iter().collect();
                while let Some(v) = take_value(words, &mut i) {
                    values.push(v);
                }
                if values.is_empty() {
                    problems.push(missing_value(canonical, words.get(i)));
                    continue;
                }
                // The CLI reads one value that is a JSON list as that list.
                if let [one] = values.as_slice()
                    && one.trim_start().starts_with('[')
                {
                    match serde_json::from_str::<Vec<String>>(one) {
                        Ok(list) => values = list,
                        Err(e) => {
                            problems.push(Problem::new(
                                ProblemKind::InvalidValue,
                                format!(
                                    "--{canonical}: {one:?} is not a JSON list of strings ({e})"
                                ),
                            ));
                            continue;
                        }
                    }
                }
                lists.push((canonical, values));
            }
        }
    }
    let text = |n: &str| {
        texts
            .iter()
            .rev()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
    };
    let list = |n: &str| {
        lists
            .iter()
            .rev()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
    };
    let flag = |n: &str| flags.contains(&n);
    for n in ["template-file", "stack-name"] {
        if text(n).is_none() {
            problems.push(Problem::new(
                ProblemKind::MissingRequired,
                format!("--{n} is required by aws cloudformation deploy"),
            ));
        }
    }
    for (a, b) in [
        ("disable-rollback", "no-disable-rollback"),
        ("fail-on-empty-changeset", "no-fail-on-empty-changeset"),
    ] {
        if flag(a) && flag(b) {
            problems.push(Problem::new(
                ProblemKind::InvalidValue,
                format!("--{a} and --{b} contradict each other; give one"),
            ));
        }
    }
    if text("s3-bucket").is_some() {
        problems.push(Problem::new(
            ProblemKind::Unsupported,
            "--s3-bucket is not run yet: Portcullis does not upload the template to S3 (`aws cloudformation deploy` sends a template of up to \
             51,200 bytes inline without it); drop --s3-bucket (and --s3-prefix, --kms-key-id, --force-upload), or upload the template with \
             `aws s3 cp` and use `aws cloudformation create-change-set --template-url`",
        ));
    }
    let overrides = key_values(
        list("parameter-overrides").unwrap_or_default(),
        "parameter-overrides",
        &mut problems,
    );
    let tags: Vec<(String, String)> =
        key_values(list("tags").unwrap_or_default(), "tags", &mut problems)
            .into_iter()
            .collect();
    let mut template_body = String::new();
    let mut parameters = Vec::new();
    if let Some(path) = text("template-file") {
        match read_template(parser, &path) {
            Ok(body) => {
                match template_parameters(&body) {
                    Ok(keys) => {
                        parameters = keys
                            .into_iter()
                            .map(|key| DeployParameter {
                                value: overrides.get(&key).cloned(),
                                key,
                            })
                            .collect();
                    }
                    Err(why) => problems.push(Problem::new(
                        ProblemKind::BadFile,
                        format!("--template-file {path}: {why}"),
                    )),
                }
                template_body = body;
            }
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(CommandError { problems });
    }
    let deploy = DeployCommand {
        stack_name: text("stack-name").unwrap_or_default(),
        template_file: text("template-file").unwrap_or_default(),
        template_body,
        parameters,
        capabilities: list("capabilities").unwrap_or_default(),
        tags,
        role_arn: text("role-arn"),
        notification_arns: list("notification-arns"),
        execute_changeset: !flag("no-execute-changeset"),
        disable_rollback: flag("disable-rollback"),
        fail_on_empty_changeset: !flag("no-fail-on-empty-changeset"),
    };
    Ok(Command::Extra(crate::ExtraCommand {
        command: "cloudformation".into(),
        name: "deploy".into(),
        kind: crate::Extra::Deploy(Box::new(deploy)),
        globals,
    }))
}

/// The CLI's `parse_key_value_arg`: `Key=Value` split at the first `=`, into a dict.
fn key_values(
    values: Vec<String>,
    option: &str,
    problems: &mut Vec<Problem>,
) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for v in values {
        match v.split_once('=') {
            Some((k, val)) => {
                out.insert(k.to_string(), val.to_string());
            }
            None => problems.push(Problem::new(
                ProblemKind::InvalidValue,
                format!("['{v}'] value passed to --{option} must be of format Key=Value"),
            )),
        }
    }
    out
}

fn read_template(parser: &crate::Parser<'_>, path: &str) -> Result<String, Problem> {
    let bytes = parser
        .path_policy()
        .read(path, FileUse::ParamText)
        .map_err(|e| {
            Problem::new(
                ProblemKind::BadFile,
                format!("Invalid template path {path} ({})", e.0),
            )
        })?;
    if bytes.len() > MAX_TEMPLATE_BODY {
        return Err(Problem::new(
            ProblemKind::Unsupported,
            format!(
                "Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket. ({path} is {} bytes; Portcullis does not \
                 run --s3-bucket yet: upload the template with `aws s3 cp` and use `aws cloudformation create-change-set --template-url`)",
                bytes.len()
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        Problem::new(
            ProblemKind::BadFile,
            format!("--template-file {path} is not UTF-8 text"),
        )
    })
}

/// The names of the template's `Parameters`, in order (none when it has no `Parameters`
/// mapping), as the CLI's `yaml_parse` reads them: JSON first, else YAML.
pub fn template_parameters(body: &str) -> Result<Vec<String>, String> {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        return Ok(match json.get("Parameters") {
            Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        });
    }
    yaml_parameter_keys(body)
}

/// The keys of the top-level block mapping `Parameters:` of a YAML document.
fn yaml_parameter_keys(body: &str) -> Result<Vec<String>, String> {
    let mut lines = body.lines();
    let is_blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let key_of = |l: &str| -> Option<(String, String)> {
        let l = l.trim_start();
        let (key, rest) = if let Some(q) = l.strip_prefix('"') {
            let end = q.find('"')?;
            (q[..end].to_string(), q[end + 1..].trim_start())
        } else if let Some(q) = l.strip_prefix('\'') {
            let end = q.find('\'')?;
            (q[..end].to_string(), q[end + 1..].trim_start())
        } else {
            let end = l.find(':')?;
            (l[..end].trim_end().to_string(), &l[end..])
        };
        let rest = rest.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return None;
        }
        let rest = rest.trim();
        let rest = if rest.starts_with('#') { "" } else { rest };
        Some((key, rest.to_string()))
    };
    let mut found = false;
    for line in lines.by_ref() {
        if line.starts_with([' ', '\t']) || is_blank(line) {
            continue;
        }
        if line.starts_with("---") && found {
            break;
        }
        if let Some((key, rest)) = key_of(line)
            && key == "Parameters"
        {
            if !rest.is_empty() && !rest.starts_with('&') {
                return Err("its Parameters are written in flow style (on the same line), which Portcullis does not read; write them as a block mapping (one parameter a line)".into());
            }
            found = true;
            break;
        }
    }
    if !found {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    let mut indent: Option<usize> = None;
    for line in lines {
        if is_blank(line) {
            continue;
        }
        if line.starts_with('\t') {
            return Err("its Parameters are indented with tabs, which YAML does not allow".into());
        }
        let n = line.len() - line.trim_start_matches(' ').len();
        if n == 0 {
            break;
        }
        let want = *indent.get_or_insert(n);
        if n < want {
            return Err("the indentation of its Parameters is uneven".into());
        }
        if n > want {
            continue;
        }
        if line.trim_start().starts_with('-') {
            // A list, not a mapping: the CLI takes no parameters from it.
            return Ok(Vec::new());
        }
        match key_of(line) {
            Some((key, _)) => keys.push(key),
            None => return Err(format!("cannot read the parameter line {:?}", line.trim())),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::FileError;
    use crate::{Extra, ExtraCommand, Parser, PathPolicy};

    struct Files;

    const JSON: &str = r#"{"Parameters": {"QName": {"Type": "String", "Default": "q1"}, "Other": {"Type": "String"}}, "Resources": {}}"#;
    const YAML: &str = "AWSTemplateFormatVersion: '2010-09-09'\n# comment\nParameters:\n  QName:\n    Type: String\n\n  \"Other\": # c\n    Type: String\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref QName\n";

    impl PathPolicy for Files {
        fn read(&self, path: &str, _why: FileUse) -> Result<Vec<u8>, FileError> {
            match path {
                "t.json" => Ok(JSON.as_bytes().to_vec()),
                "t.yaml" => Ok(YAML.as_bytes().to_vec()),
                "flow.yaml" => Ok(b"Parameters: {A: {Type: String}}\nResources: {}\n".to_vec()),
                "big.json" => Ok(vec![b' '; MAX_TEMPLATE_BODY + 1]),
                _ => Err(FileError(format!("{path} does not exist"))),
            }
        }
        fn check(&self, _path: &str, _why: FileUse) -> Result<u64, FileError> {
            Ok(0)
        }
    }

    fn parse(command: &str) -> Result<Command, CommandError> {
        Parser::new(&Files).parse(command)
    }

    fn extra(command: &str) -> ExtraCommand {
        match parse(command) {
            Ok(Command::Extra(x)) => x,
            other => panic!("{command}: {other:?}"),
        }
    }

    fn deploy(command: &str) -> DeployCommand {
        match extra(command).kind {
            Extra::Deploy(d) => *d,
            other => panic!("{command}: {other:?}"),
        }
    }

    #[test]
    fn deploy_parses_its_options_and_the_template() {
        let x = extra(
            "aws --region eu-west-1 cloudformation deploy --template-file t.json --stack-name s --parameter-overrides QName=a=b Nope=1 --capabilities CAPABILITY_IAM --output text",
        );
        assert_eq!(x.display_name(), "aws cloudformation deploy");
        assert_eq!(x.globals.region.as_deref(), Some("eu-west-1"));
        let Extra::Deploy(d) = &x.kind else { panic!() };
        assert_eq!(d.stack_name, "s");
        assert_eq!(d.template_body, JSON);
        assert_eq!(
            d.parameters,
            [
                DeployParameter {
                    key: "QName".into(),
                    value: Some("a=b".into())
                },
                DeployParameter {
                    key: "Other".into(),
                    value: None
                }
            ]
        );
        assert_eq!(d.capabilities, ["CAPABILITY_IAM"]);
        assert!(d.execute_changeset && d.fail_on_empty_changeset && !d.disable_rollback);
        assert_eq!(
            (d.role_arn.as_ref(), d.notification_arns.as_ref()),
            (None, None)
        );
        let ops: Vec<String> = x
            .api_calls()
            .into_iter()
            .map(|(s, o)| format!("{s}:{o}"))
            .collect();
        assert_eq!(
            ops,
            [
                "cloudformation:DescribeStacks",
                "cloudformation:GetTemplateSummary",
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet"
            ]
        );
        assert!(x.iam_actions().is_empty() && !x.returns_credentials() && !x.destructive());
        // Flags, prefixes, `=` forms, tags as a dict (the last value of a key), a role.
        let d = deploy(
            "aws cloudformation deploy --template-file=t.yaml --stack s --no-execute-changeset --no-fail --disable-rollback \
             --tags a=1 b=2 a=3 --role-arn arn:aws:iam::123456789012:role/r --notification-arns n1 n2",
        );
        assert!(!d.execute_changeset && !d.fail_on_empty_changeset && d.disable_rollback);
        assert_eq!(
            d.tags,
            [
                ("a".to_string(), "3".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
        assert_eq!(
            d.parameters
                .iter()
                .map(|p| p.key.as_str())
                .collect::<Vec<_>>(),
            ["QName", "Other"]
        );
        assert_eq!(
            d.notification_arns,
            Some(vec!["n1".to_string(), "n2".to_string()])
        );
        let x = extra(
            "aws cloudformation deploy --template-file t.json --stack-name s --role-arn arn:aws:iam::123456789012:role/r --no-execute-changeset",
        );
        assert_eq!(x.iam_actions(), ["iam:PassRole"]);
        assert!(!x.api_calls().iter().any(|(_, o)| o == "ExecuteChangeSet"));
        // A JSON list is read as the list.
        let d = deploy(
            r#"aws cloudformation deploy --template-file t.json --stack-name s --parameter-overrides '["QName=x"]'"#,
        );
        assert_eq!(d.parameters[0].value.as_deref(), Some("x"));
    }

    #[test]
    fn deploy_problems_are_reported_with_the_clis_words() {
        let e = parse("aws cloudformation deploy").unwrap_err();
        assert_eq!(
            e.problems
                .iter()
                .filter(|p| p.kind == ProblemKind::MissingRequired)
                .count(),
            2,
            "{e}"
        );
        let e = parse("aws cloudformation deploy --template-file t.json --stack-name s --parameter-overrides QName").unwrap_err();
        assert!(
            e.to_string().contains(
                "['QName'] value passed to --parameter-overrides must be of format Key=Value"
            ),
            "{e}"
        );
        let e =
            parse("aws cloudformation deploy --template-file t.json --stack-name s --stack-nme x")
                .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::UnknownOption));
        assert_eq!(e.problems[0].suggestions, ["--stack-name"]);
        let e =
            parse("aws cloudformation deploy --template-file t.json --stack-name s --stack-name t")
                .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::DuplicateOption));
        let e = parse("aws cloudformation deploy --template-file t.json --stack-name s --no")
            .unwrap_err();
        assert!(e.to_string().contains("ambiguous"), "{e}");
        let e = parse("aws cloudformation deploy --template-file t.json --stack-name s --disable-rollback --no-disable-rollback").unwrap_err();
        assert!(e.to_string().contains("contradict"), "{e}");
        let e =
            parse("aws cloudformation deploy --template-file t.json --stack-name s --s3-bucket b")
                .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::Unsupported));
        assert!(e.to_string().contains("--s3-bucket is not run yet"), "{e}");
        let e =
            parse("aws cloudformation deploy --template-file big.json --stack-name s").unwrap_err();
        assert!(
            e.to_string().contains(
                "Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket."
            ),
            "{e}"
        );
        let e = parse("aws cloudformation deploy --template-file missing.json --stack-name s")
            .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::BadFile));
        assert!(
            e.to_string().contains("Invalid template path missing.json"),
            "{e}"
        );
        let e = parse("aws cloudformation deploy --template-file flow.yaml --stack-name s")
            .unwrap_err();
        assert!(e.to_string().contains("flow style"), "{e}");
        let e = parse("aws cloudformation deploy --template-file t.json --stack-name s extra")
            .unwrap_err();
        assert!(e.to_string().contains("positional"), "{e}");
        // Through the sandbox: no file access, no deploy.
        let e = Parser::new(&crate::DenyAll)
            .parse("aws cloudformation deploy --template-file t.json --stack-name s")
            .unwrap_err();
        assert_eq!(e.kind(), Some(ProblemKind::BadFile));
    }

    #[test]
    fn the_digest_covers_the_template_and_every_argument() {
        let a = extra("aws cloudformation deploy --template-file t.json --stack-name s");
        let b = extra("aws cloudformation deploy --template-file t.yaml --stack-name s");
        let c = extra(
            "aws cloudformation deploy --template-file t.json --stack-name s --parameter-overrides QName=z",
        );
        let d = extra(
            "aws cloudformation deploy --template-file t.json --stack-name s --no-execute-changeset",
        );
        let digests: std::collections::HashSet<String> =
            [&a, &b, &c, &d].iter().map(|x| x.digest()).collect();
        assert_eq!(digests.len(), 4);
        let json = serde_json::to_value(&a.kind).unwrap();
        assert_eq!(json["customization"], "deploy");
        assert_eq!(json["stack_name"], "s");
    }

    #[test]
    fn yaml_parameters_are_read_from_the_block_mapping() {
        assert_eq!(template_parameters(YAML).unwrap(), ["QName", "Other"]);
        assert_eq!(
            template_parameters("Resources:\n  Q:\n    Type: X\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            template_parameters("Parameters:\n  - a\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            template_parameters("{\"Parameters\": [1]}").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(template_parameters("Parameters:\n    A:\n      Type: String\n    'B c':\n      Type: Number\nOutputs: {}\n").unwrap(), ["A", "B c"]);
    }
}
