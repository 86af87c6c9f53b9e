//! From words to a [`Command`]: the AWS CLI's argument semantics over the model.
//!
//! The steps follow the AWS CLI: find the command and operation, bind each `--option` to a model
//! member (or a global/paging option), unpack each value by its shape (JSON, shorthand, lists of
//! words, `file://`), build the parameters in argument-table order, merge `--cli-input-json` (explicit
//! arguments win), fill idempotency tokens, then validate the whole request and report every problem.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use indexmap::IndexMap;
use portcullis_model::naming::{ArgForm, CliArgSpec, CustomArg};
use portcullis_model::{Models, Operation, ServiceCli, ServiceModel, Shape, ShapeType, models};

use crate::call::{Command, OperationCall};
use crate::custom::{Arity, Custom};
use crate::error::{CommandError, Problem, ProblemKind, did_you_mean};
use crate::files::{FileUse, PathPolicy};
use crate::globals::{GlobalKind, GlobalOptions, Paging, global_kind};
use crate::validate::Validator;
use crate::value::{LocalFile, Value};
use crate::words::split_words;

/// Bounds on what one command may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_command_bytes: usize,
    pub max_words: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_command_bytes: 256 * 1024,
            max_words: 4096,
        }
    }
}

/// Parses, unpacks and validates AWS CLI commands.
pub struct Parser<'p> {
    models: &'static Models,
    policy: &'p dyn PathPolicy,
    limits: Limits,
}

/// An argument of the resolved operation.
#[derive(Debug, Clone)]
enum ArgDef {
    Member(CliArgSpec),
    /// ec2's `--flag` for a `{"Value": bool}` structure: no value means `{"Value": true}`.
    ValueBool(CliArgSpec),
    StartingToken,
    PageSize,
    MaxItems,
    CliInputJson,
    Skeleton,
    Custom(Custom),
    Outfile,
    Unsupported(String),
}

/// The words given to one option.
struct Given {
    option: String,
    words: Vec<String>,
}

/// The operation's options in a command: each one given with its words, and the names of those
/// written or meant (by an unknown or ambiguous option), given or not.
struct Options {
    given: Vec<Given>,
    mentioned: Vec<String>,
}

impl<'p> Parser<'p> {
    pub fn new(policy: &'p dyn PathPolicy) -> Self {
        Self {
            models: models(),
            policy,
            limits: Limits::default(),
        }
    }

    /// The policy local files are read through (for the customizations that read one).
    pub(crate) fn path_policy(&self) -> &'p dyn PathPolicy {
        self.policy
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Parses a whole command string (`aws ec2 describe-instances --instance-ids i-1`).
    pub fn parse(&self, command: &str) -> Result<Command, CommandError> {
        if command.len() > self.limits.max_command_bytes {
            return Err(Problem::new(
                ProblemKind::TooLarge,
                format!(
                    "the command is {} bytes, over the {} byte limit; move large values into a file:// argument",
                    command.len(),
                    self.limits.max_command_bytes
                ),
            )
            .into());
        }
        let words = split_words(command)?;
        if words.len() > self.limits.max_words {
            return Err(Problem::new(
                ProblemKind::TooLarge,
                format!(
                    "the command has {} words, over the {} word limit",
                    words.len(),
                    self.limits.max_words
                ),
            )
            .into());
        }
        self.parse_words(&words)
    }

    /// Parses already-split words; the first must be `aws`.
    pub fn parse_words(&self, words: &[String]) -> Result<Command, CommandError> {
        match words.first().map(String::as_str) {
            Some("aws") => {}
            Some(first) => {
                return Err(Problem::new(
                    ProblemKind::NotAws,
                    format!("commands must start with `aws`, this one starts with {first:?}; no other program can be run"),
                )
                .into());
            }
            None => {
                return Err(Problem::new(
                    ProblemKind::NotAws,
                    "the command is empty; write `aws <service> <operation> [options]`",
                )
                .into());
            }
        }
        // The high-level `aws s3` commands have their own grammar (paths, not API members).
        if crate::s3cmd::is_s3_command(words) {
            return crate::s3cmd::parse(words, self.policy).map(Command::S3);
        }
        if let Some(extra) = crate::extra::parse(self, words) {
            return extra;
        }
        let mut globals = GlobalOptions::default();
        let mut seen_globals: Vec<String> = Vec::new();
        let mut problems = Vec::new();
        let mut positionals: Vec<String> = Vec::new();
        let mut resolved: Option<Resolved> = None;
        let mut given: Vec<Given> = Vec::new();
        // How abbreviated options were read (shown with the request; the policy decides on the
        // full names).
        let mut notes: Vec<String> = Vec::new();
        // Options written (in full), and those an unknown or ambiguous option probably meant: a
        // required one among them is not reported missing as well (its problem is reported).
        let mut mentioned: Vec<String> = Vec::new();
        // The flag just before a stray word: `--consistent-read yes` is a flag given a value.
        let mut last_flag: Option<String> = None;
        let mut i = 1;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            if let Some(flag) = last_flag.take()
                && !word.starts_with("--")
                && positionals.len() >= 2
                && !resolved.as_ref().is_some_and(|r| r.has_outfile)
            {
                problems.push(Problem::new(
                    ProblemKind::InvalidType,
                    format!("--{flag} is a flag and takes no value, but {word:?} follows it; write --{flag} or --no-{} alone", flag.trim_start_matches("no-")),
                ));
                continue;
            }
            let Some(opt) = word.strip_prefix("--").filter(|o| !o.is_empty()) else {
                // A positional: command, operation, then the operation's own (outfile).
                if positionals.len() == 1 && resolved.is_none() {
                    positionals.push(word.clone());
                    match self.resolve(&positionals[0], word) {
                        Ok(r) => resolved = Some(r),
                        Err(p) => return Err(p.into()),
                    }
                } else {
                    if positionals.is_empty()
                        && let Err(p) = self.check_command(word)
                    {
                        return Err(p.into());
                    }
                    positionals.push(word.clone());
                }
                continue;
            };
            let (name, inline) = match opt.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (opt, None),
            };
            // The AWS CLI (argparse) takes a unique prefix of an option for the option: a global
            // first (its main parser sees every word), then the operation's.
            let full: String;
            let name = match expand_option(name, resolved.as_ref()) {
                Expanded::Exact => name,
                Expanded::To(f) => {
                    notes.push(format!("read `--{name}` as `--{f}`"));
                    full = f;
                    full.as_str()
                }
                Expanded::Ambiguous(p, candidates) => {
                    problems.push(p);
                    mentioned.extend(candidates);
                    while i < words.len() && !is_option_like(&words[i]) {
                        i += 1;
                    }
                    continue;
                }
            };
            if take_global(
                name,
                inline.as_deref(),
                words,
                &mut i,
                &mut globals,
                &mut seen_globals,
                &mut problems,
            ) {
                continue;
            }
            let Some(r) = &resolved else {
                if positionals.is_empty() {
                    return Err(Problem::new(
                        ProblemKind::UnknownOption,
                        format!("--{name} is not a global option; write the service and operation first: aws <service> <operation> --{name} ..."),
                    )
                    .into());
                }
                return Err(Problem::new(
                    ProblemKind::UnknownOperation,
                    format!("--{name} comes before the operation name; write aws {} <operation> --{name} ...", positionals[0]),
                )
                .into());
            };
            mentioned.push(name.to_string());
            let Some(def) = r.args.get(name) else {
                let p = unknown_option(r, name);
                mentioned.extend(
                    p.suggestions
                        .iter()
                        .map(|s| s.trim_start_matches("--").to_string()),
                );
                problems.push(p);
                // Skip the words that were probably its value.
                while i < words.len() && !is_option_like(&words[i]) {
                    i += 1;
                }
                continue;
            };
            if given
                .iter()
                .any(|g| g.option == name || r.same_member(&g.option, name))
            {
                problems.push(Problem::new(
                    ProblemKind::DuplicateOption,
                    format!("--{name} (or its opposite) is given more than once; give it once"),
                ));
                while i < words.len() && !words[i].starts_with("--") {
                    i += 1;
                }
                continue;
            }
            let mut vals = Vec::new();
            match def {
                ArgDef::Member(spec) if spec.form != ArgForm::Value => {
                    if inline.is_some() {
                        problems.push(Problem::new(
                            ProblemKind::InvalidType,
                            format!("--{name} is a flag and takes no value (use --{name} or its --no- form)"),
                        ));
                    }
                }
                ArgDef::Skeleton => {
                    if let Some(v) = inline {
                        vals.push(v);
                    } else if i < words.len()
                        && matches!(words[i].as_str(), "input" | "output" | "yaml-input")
                    {
                        vals.push(words[i].clone());
                        i += 1;
                    }
                }
                ArgDef::Custom(c) if c.arity() == Arity::Flag => {
                    if inline.is_some() {
                        problems.push(Problem::new(
                            ProblemKind::InvalidType,
                            format!("--{name} is a flag and takes no value"),
                        ));
                    }
                }
                ArgDef::Custom(c) if c.arity() == Arity::Many => {
                    if let Some(v) = inline {
                        vals.push(v);
                    }
                    while i < words.len() && !is_option_like(&words[i]) {
                        vals.push(words[i].clone());
                        i += 1;
                    }
                }
                // A customization not run yet: its words (any number, or none for a flag) are
                // taken so that the one refusal says what it is, not "needs a value".
                ArgDef::Unsupported(_) => {
                    if let Some(v) = inline {
                        vals.push(v);
                    }
                    while i < words.len() && !is_option_like(&words[i]) {
                        vals.push(words[i].clone());
                        i += 1;
                    }
                }
                ArgDef::ValueBool(_) => {
                    if let Some(v) = inline {
                        vals.push(v);
                    } else if i < words.len() && !is_option_like(&words[i]) {
                        vals.push(words[i].clone());
                        i += 1;
                    }
                }
                ArgDef::Member(spec) if r.is_list(&spec.member) => {
                    if let Some(v) = inline {
                        vals.push(v);
                    }
                    while i < words.len() && !is_option_like(&words[i]) {
                        vals.push(words[i].clone());
                        i += 1;
                    }
                    if vals.is_empty() {
                        problems.push(Problem::new(
                            ProblemKind::MissingValue,
                            format!("--{name} needs at least one value"),
                        ));
                        continue;
                    }
                }
                _ => match inline.or_else(|| take_value(words, &mut i)) {
                    Some(v) => vals.push(v),
                    None => {
                        problems.push(missing_value(name, words.get(i)));
                        // The dash word the message shows attached is not a stray word too.
                        if words.get(i).is_some_and(|w| dash_value(w)) {
                            i += 1;
                        }
                        continue;
                    }
                },
            }
            last_flag = match def {
                ArgDef::Member(spec) if spec.form != ArgForm::Value => Some(name.to_string()),
                ArgDef::Custom(c) if c.arity() == Arity::Flag => Some(name.to_string()),
                _ => None,
            };
            given.push(Given {
                option: name.to_string(),
                words: vals,
            });
        }

        let Some(r) = resolved else {
            return Err(match positionals.first() {
                None => Problem::new(
                    ProblemKind::UnknownService,
                    "no service given; write aws <service> <operation> [options]",
                )
                .into(),
                Some(cmd) => {
                    let mut msg =
                        format!("no operation given; write aws {cmd} <operation> [options]");
                    let (common, total) = self.common_operations(cmd);
                    if !common.is_empty() {
                        msg.push_str(&format!(
                            ". Most used: {} (of {total} operations; find the others with suggest_aws_commands)",
                            common.join(", ")
                        ));
                    }
                    Problem::new(ProblemKind::UnknownOperation, msg).into()
                }
            });
        };
        let options = Options { given, mentioned };
        self.build(r, positionals, options, globals, problems, notes)
    }

    /// Checks that a word can be a top-level command.
    fn check_command(&self, cmd: &str) -> Result<(), Problem> {
        match self.models.command(cmd) {
            Some(c) if c.service.is_some() => Ok(()),
            Some(_) => Err(unsupported_command(cmd)),
            None if cmd == "help" => Err(Problem::new(
                ProblemKind::Unsupported,
                "`aws help` is not available; use the suggest tool to find commands",
            )),
            None => Err(Problem::new(
                ProblemKind::UnknownService,
                format!("{cmd:?} is not an AWS CLI command"),
            )
            .suggest(did_you_mean(
                cmd,
                self.models.commands().keys().map(String::as_str),
            ))),
        }
    }

    /// The operations of `cmd` most worth showing when none is given (a curated list for the
    /// popular services; otherwise its list-, describe- and get- operations, shortest first), and
    /// how many operations it has.
    fn common_operations(&self, cmd: &str) -> (Vec<String>, usize) {
        const SHOWN: usize = 6;
        let Some(service) = self.models.command(cmd).and_then(|c| c.service.clone()) else {
            return (Vec::new(), 0);
        };
        let Ok(cli) = self.models.service_cli(&service) else {
            return (Vec::new(), 0);
        };
        let total = cli.by_cli_name.len();
        let curated = MOST_USED
            .iter()
            .find(|(c, _)| *c == cmd)
            .map(|(_, ops)| *ops)
            .unwrap_or_default();
        let mut shown: Vec<String> = curated
            .iter()
            .filter(|op| cli.by_cli_name.contains_key(**op))
            .map(|op| op.to_string())
            .collect();
        if shown.is_empty() {
            for prefix in ["list-", "describe-", "get-"] {
                let mut ops: Vec<&String> = cli
                    .by_cli_name
                    .keys()
                    .filter(|k| k.starts_with(prefix))
                    .collect();
                ops.sort_by_key(|k| (k.len(), k.as_str()));
                shown.extend(ops.into_iter().cloned());
            }
            if shown.is_empty() {
                let mut ops: Vec<&String> = cli.by_cli_name.keys().collect();
                ops.sort_by_key(|k| (k.len(), k.as_str()));
                shown.extend(ops.into_iter().cloned());
            }
        }
        shown.truncate(SHOWN);
        (shown, total)
    }

    fn resolve(&self, cmd: &str, op: &str) -> Result<Resolved, Problem> {
        self.check_command(cmd)?;
        let Some(service) = self.models.command(cmd).and_then(|c| c.service.clone()) else {
            return Err(unsupported_command(cmd));
        };
        let model = self
            .models
            .service(&service)
            .map_err(|e| Problem::new(ProblemKind::UnknownService, e.to_string()))?;
        let cli = self
            .models
            .service_cli(&service)
            .map_err(|e| Problem::new(ProblemKind::UnknownService, e.to_string()))?;
        if let Some((_, _, why)) = LOCAL_PROGRAM_COMMANDS
            .iter()
            .find(|(c, o, _)| *c == cmd && *o == op)
        {
            return Err(Problem::new(
                ProblemKind::Unsupported,
                format!("`aws {cmd} {op}` is refused: {why}"),
            ));
        }
        let Some(api) = cli.operation_for(op).map(str::to_string) else {
            if op == "help" {
                return Err(Problem::new(
                    ProblemKind::Unsupported,
                    format!(
                        "`aws {cmd} help` is not available; use the suggest tool to find operations"
                    ),
                ));
            }
            if cli.custom_operations.iter().any(|c| c == op) {
                let instead = CUSTOMIZATION_ALTERNATIVES
                    .iter()
                    .find(|(c, o, _)| *c == cmd && *o == op)
                    .map_or_else(
                        || format!("use the API operations of {cmd} instead (`suggest_aws_commands` finds them)"),
                        |(_, _, alt)| format!("instead: {alt}"),
                    );
                return Err(Problem::new(
                    ProblemKind::Unsupported,
                    format!(
                        "`aws {cmd} {op}` is an AWS CLI customization that Portcullis does not run; {instead}"
                    ),
                ));
            }
            return Err(Problem::new(
                ProblemKind::UnknownOperation,
                format!("{op:?} is not an operation of `aws {cmd}`"),
            )
            .suggest(did_you_mean(op, cli.by_cli_name.keys().map(String::as_str))));
        };
        Ok(Resolved::new(self.models, cmd, op, model, cli, &api))
    }

    fn build(
        &self,
        r: Resolved,
        positionals: Vec<String>,
        options: Options,
        globals: GlobalOptions,
        mut problems: Vec<Problem>,
        mut warnings: Vec<String>,
    ) -> Result<Command, CommandError> {
        let Options { given, mentioned } = options;
        let op = r.operation();
        // Positional words after the operation: only an outfile, where the operation has one.
        let mut outfile = None;
        for extra in positionals.iter().skip(2) {
            if r.has_outfile && outfile.is_none() {
                // Refused before anything is sent: a response that cannot be written is not fetched.
                if let Err(e) = self.policy.check_write(extra) {
                    problems.push(Problem::new(ProblemKind::BadFile, e.0).at(extra.clone()));
                }
                outfile = Some(LocalFile {
                    path: extra.clone(),
                });
            } else if event_stream_output(&r) {
                problems.push(Problem::new(
                    ProblemKind::Unsupported,
                    format!(
                        "aws {} {} answers with an event stream, which Portcullis does not read yet (so {extra:?} cannot receive it); use an operation with a plain response",
                        r.command, r.cli_op
                    ),
                ));
            } else if extra.is_empty() {
                // The AWS CLI ignores an empty word (`""`); it carries nothing.
                warnings.push("ignored an empty word (\"\") after the operation".to_string());
            } else {
                problems.push(Problem::new(
                    ProblemKind::UnknownOption,
                    format!("unexpected word {extra:?}: options start with --, and values with spaces must be quoted"),
                ));
            }
        }
        if let Some(g) = given
            .iter()
            .find(|g| matches!(r.args.get(&g.option), Some(ArgDef::Skeleton)))
        {
            let which = g.words.first().map_or("input", String::as_str).to_string();
            let shape = match which.as_str() {
                "output" => op.output.as_ref(),
                "input" => op.input.as_ref(),
                other => {
                    return Err(Problem::new(
                        ProblemKind::InvalidValue,
                        format!("--generate-cli-skeleton takes input or output, not {other:?}"),
                    )
                    .into());
                }
            };
            let skeleton = shape.map_or(serde_json::json!({}), |s| {
                crate::skeleton::skeleton(&r.model, &s.shape)
            });
            return Ok(Command::Skeleton {
                service: r.model.name.clone(),
                operation: op.name.clone(),
                which,
                skeleton,
            });
        }
        if r.has_outfile && outfile.is_none() {
            problems.push(Problem::new(
                ProblemKind::MissingRequired,
                format!("aws {} {} needs an outfile: the local file to write the response body to, as the last word", r.command, r.cli_op),
            ));
        }

        let mut ctx = Unpack {
            parser: self,
            r: &r,
            files_read: Vec::new(),
            problems: Vec::new(),
        };
        let mut params: IndexMap<String, Value> = IndexMap::new();
        let mut paging = Paging::default();
        let mut cli_input: Option<String> = None;
        // Parameters in argument-table order, as the CLI builds them.
        let mut ordered: Vec<&Given> = given.iter().collect();
        // A boolean pair builds its member where the pair's first name stands.
        // (ec2's `{"Value": bool}` flags are separate arguments and build where they stand.)
        ordered.sort_by_key(|g| {
            let own_place = matches!(r.args.get(&g.option), Some(ArgDef::Member(s)) if r.is_value_bool(&s.member));
            r.order.iter().position(|o| *o == g.option || (!own_place && r.same_member(o, &g.option))).unwrap_or(usize::MAX)
        });
        for g in ordered {
            let def = &r.args[&g.option];
            match def {
                ArgDef::Member(spec) => {
                    let value = match spec.form {
                        ArgForm::SetTrue
                            if ctx.r.is_value_bool(&spec.member)
                                && spec.name.starts_with("no-") =>
                        {
                            Some(Value::Bool(false))
                        }
                        ArgForm::SetTrue => Some(Value::Bool(true)),
                        ArgForm::SetFalse => Some(Value::Bool(false)),
                        ArgForm::Value => ctx.unpack_arg(spec, &g.words),
                    };
                    if let Some(v) = value {
                        let v = if ctx.r.is_value_bool(&spec.member) && matches!(v, Value::Bool(_))
                        {
                            value_struct(v)
                        } else {
                            v
                        };
                        params.insert(spec.member.clone(), v);
                    }
                }
                ArgDef::ValueBool(spec) => {
                    let v = if g.words.is_empty() {
                        Some(value_struct(Value::Bool(true)))
                    } else {
                        ctx.unpack_arg(spec, &g.words)
                    };
                    if let Some(v) = v {
                        params.insert(spec.member.clone(), v);
                    }
                }
                ArgDef::StartingToken => paging.starting_token = g.words.first().cloned(),
                ArgDef::PageSize => paging.page_size = ctx.positive(&g.option, &g.words[0]),
                ArgDef::MaxItems => paging.max_items = ctx.positive(&g.option, &g.words[0]),
                ArgDef::CliInputJson => cli_input = g.words.first().cloned(),
                ArgDef::Custom(custom) => {
                    let mut bytes = None;
                    if let Some(path) = g.words.first().and_then(|w| w.strip_prefix("fileb://")) {
                        match ctx.read_file(path, FileUse::ParamBytes, &g.option) {
                            Some(b) => bytes = Some(b),
                            None => continue,
                        }
                    }
                    if let Err(p) = custom.apply(&g.option, &g.words, bytes, &mut params) {
                        ctx.problems.push(p);
                    }
                }
                ArgDef::Skeleton | ArgDef::Outfile => {}
                ArgDef::Unsupported(why) => ctx.problems.push(
                    Problem::new(ProblemKind::Unsupported, why.clone())
                        .at(format!("--{}", g.option)),
                ),
            }
        }
        // A `--cli-input-json` that cannot be read leaves every member it may have held unknown.
        let mut cli_input_failed = false;
        if let Some(raw) = cli_input {
            let before = ctx.problems.len();
            ctx.merge_cli_input(&raw, &mut params);
            cli_input_failed = ctx.problems.len() > before;
        }
        // What botocore and the CLI change before sending, so that what is checked is what is sent.
        match (r.model.name.as_str(), op.name.as_str()) {
            ("ec2", "RunInstances") => crate::custom::fix_run_instances(&mut params),
            ("route53", _) => fix_route53_ids(&r, &mut params),
            ("s3", _) => {
                if let Some(Value::Str(bucket)) = params.get("Bucket")
                    && !is_s3_bucket(bucket)
                {
                    ctx.problems.push(Problem::new(
                        ProblemKind::InvalidValue,
                        format!("invalid bucket name {bucket:?}: use letters, digits, '.', '-' and '_' (at most 255), or an access point ARN"),
                    ).at("--bucket"));
                } else if op.name == "CreateBucket"
                    && let Some(Value::Str(bucket)) = params.get("Bucket")
                    && let Some(why) = crate::validate::new_bucket_name_problem(bucket)
                {
                    warnings.push(format!("--bucket: {why}"));
                }
            }
            _ => {}
        }
        ec2_default_page_size(&r, &params, &globals, &mut paging);
        ctx.check_streams(&params);
        if let Some(bundle) = &globals.ca_bundle
            && let Err(e) = self.policy.check(bundle, FileUse::CaBundle)
        {
            ctx.problems
                .push(Problem::new(ProblemKind::BadFile, e.0).at("--ca-bundle"));
        }
        let mut generated = Vec::new();
        if r.args
            .values()
            .any(|d| matches!(d, ArgDef::Custom(Custom::Count)))
        {
            for key in ["MaxCount", "MinCount"] {
                if !params.contains_key(key) {
                    params.insert(key.into(), Value::Int(1));
                    generated.push(key.to_string());
                }
            }
        }
        if let Some(input) = r.input_shape() {
            for (name, m) in &input.members {
                if m.idempotency_token && !params.contains_key(name) {
                    params.insert(name.clone(), Value::Str(uuid::Uuid::new_v4().to_string()));
                    generated.push(name.clone());
                }
            }
        }
        // botocore's default `response_checksum_validation = when_supported`: ask for the
        // response checksum where the operation can return one (S3 GetObject's ChecksumMode).
        if let Some(member) = op
            .http_checksum
            .as_ref()
            .and_then(|h| h.get("requestValidationModeMember"))
            .and_then(|v| v.as_str())
            && !params.contains_key(member)
        {
            params.insert(member.to_string(), Value::Str("ENABLED".into()));
            generated.push(member.to_string());
        }
        let files_read = std::mem::take(&mut ctx.files_read);
        problems.append(&mut ctx.problems);
        // A required member whose option was given (and refused), or meant by an unknown or
        // ambiguous option, is not reported missing too: that would be a consequence, not a
        // second problem. Only when another problem is reported, so nothing missing is sent.
        let consequential = |req: &str| {
            !problems.is_empty()
                && (cli_input_failed
                    || mentioned.iter().any(|m| match r.args.get(m) {
                        Some(ArgDef::Member(s) | ArgDef::ValueBool(s)) => s.member == req,
                        _ => false,
                    }))
        };

        // Validate the whole request against the model.
        if let Some(input_ref) = &op.input {
            let mut v = Validator::new(&r.model, globals.binary_format());
            let mut root = Value::Map(std::mem::take(&mut params));
            if let (Some(shape), Value::Map(map)) = (r.model.shape(&input_ref.shape), &mut root) {
                for req in &shape.required {
                    if !map.contains_key(req) && !consequential(req) {
                        let name = r.cli_name_of(req);
                        let flag = shape
                            .members
                            .get(req)
                            .and_then(|m| r.model.shape(&m.shape))
                            .is_some_and(|s| s.kind == ShapeType::Boolean);
                        let add = if flag { "" } else { " <value>" };
                        v.problems.push(
                            Problem::new(
                                ProblemKind::MissingRequired,
                                format!("required, but not given; add --{name}{add}"),
                            )
                            .at(format!("--{name}")),
                        );
                    }
                }
                for (key, val) in map.iter_mut() {
                    match shape.members.get(key) {
                        Some(m) => {
                            let path = format!("--{}", r.cli_name_of(key));
                            v.check(&m.shape, val, &path, 1);
                        }
                        None => v.problems.push(
                            Problem::new(
                                ProblemKind::UnknownOption,
                                format!("unknown parameter {key:?} in --cli-input-json"),
                            )
                            .suggest(did_you_mean(key, shape.members.keys().map(String::as_str))),
                        ),
                    }
                }
            }
            problems.append(&mut v.problems);
            warnings.extend(v.warnings.iter().map(ToString::to_string));
            if let Value::Map(m) = root {
                params = m;
            }
        } else if !params.is_empty() {
            problems.push(Problem::new(
                ProblemKind::UnknownOption,
                format!("aws {} {} takes no parameters", r.command, r.cli_op),
            ));
        }
        if !problems.is_empty() {
            return Err(CommandError { problems });
        }
        Ok(Command::Call(OperationCall {
            command: r.command.clone(),
            cli_operation: r.cli_op.clone(),
            service: r.model.name.clone(),
            operation: op.name.clone(),
            params,
            globals,
            paging,
            outfile,
            generated,
            files_read,
            warnings,
        }))
    }
}

/// botocore's client-side bucket check: a plain name, or an S3 access point / outposts ARN.
fn is_s3_bucket(b: &str) -> bool {
    let plain = !b.is_empty()
        && b.len() <= 255
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'));
    let arn = b.starts_with("arn:aws")
        && (b.contains(":accesspoint") || b.contains(":outpost"))
        && !b.contains(char::is_whitespace);
    plain || arn
}

/// botocore strips `/hostedzone/`, `/change/` and `/delegationset/` prefixes from Route 53 ids.
fn fix_route53_ids(r: &Resolved, params: &mut IndexMap<String, Value>) {
    let Some(input) = r.input_shape() else { return };
    for (name, m) in &input.members {
        if matches!(
            m.shape.as_str(),
            "ResourceId" | "DelegationSetId" | "ChangeId"
        ) && let Some(Value::Str(s)) = params.get_mut(name)
            && let Some((_, last)) = s.rsplit_once('/')
        {
            *s = last.to_string();
        }
    }
}

/// The CLI pages `ec2 describe-volumes` and `describe-snapshots` 1000 at a time when only
/// filter-free parameters are given (its EC2PageSizeInjector).
fn ec2_default_page_size(
    r: &Resolved,
    params: &IndexMap<String, Value>,
    globals: &GlobalOptions,
    paging: &mut Paging,
) {
    let allowed: &[&str] = match (r.command.as_str(), r.cli_op.as_str()) {
        ("ec2", "describe-volumes") => &["NextToken", "DryRun"],
        ("ec2", "describe-snapshots") => {
            &["OwnerIds", "RestorableByUserIds", "NextToken", "DryRun"]
        }
        _ => return,
    };
    if globals.no_paginate
        || paging.page_size.is_some()
        || params.keys().any(|k| !allowed.contains(&k.as_str()))
    {
        return;
    }
    paging.page_size = Some(1000);
}

fn value_struct(v: Value) -> Value {
    Value::Map(IndexMap::from([("Value".to_string(), v)]))
}

/// Takes `--name[=inline]` if it is a global option: its value (from `inline` or the next word),
/// checked and recorded in `globals`; problems (missing value, bad value, repeated) are collected.
/// Returns false when `name` is not a global option.
pub(crate) fn take_global(
    name: &str,
    inline: Option<&str>,
    words: &[String],
    i: &mut usize,
    globals: &mut GlobalOptions,
    seen: &mut Vec<String>,
    problems: &mut Vec<Problem>,
) -> bool {
    let Some(kind) = global_kind(name) else {
        return false;
    };
    let value = match kind {
        GlobalKind::Flag => {
            if inline.is_some() {
                problems.push(Problem::new(
                    ProblemKind::InvalidType,
                    format!("--{name} is a flag and takes no value"),
                ));
            }
            None
        }
        _ => match inline.map(str::to_string).or_else(|| take_value(words, i)) {
            Some(v) => Some(v),
            None => {
                problems.push(missing_value(name, words.get(*i)));
                if words.get(*i).is_some_and(|w| dash_value(w)) {
                    *i += 1;
                }
                return true;
            }
        },
    };
    if let Some(p) = check_global(name, kind, value.as_deref()) {
        problems.push(p);
    }
    if seen.iter().any(|s| s == name) {
        problems.push(Problem::new(
            ProblemKind::DuplicateOption,
            format!("--{name} is given more than once; give it once"),
        ));
    }
    seen.push(name.to_string());
    globals.set(name, value);
    true
}

/// An option of a customization's own option table (`aws cloudformation deploy`, the token
/// commands), by its name or, as argparse reads it, a unique prefix of it; otherwise the problem
/// to report (unknown, with the close names and the table, or ambiguous, with the candidates).
/// `what` names the command: `aws cloudformation deploy`.
pub(crate) fn own_option<T: Copy>(
    table: &[(&'static str, T)],
    given: &str,
    what: &str,
) -> Result<(&'static str, T), Problem> {
    if let Some(&(n, k)) = table.iter().find(|(n, _)| *n == given) {
        return Ok((n, k));
    }
    let prefixed: Vec<&(&'static str, T)> =
        table.iter().filter(|(n, _)| n.starts_with(given)).collect();
    match prefixed.as_slice() {
        [one] => Ok(**one),
        [] => {
            let known: Vec<String> = table.iter().map(|(n, _)| format!("--{n}")).collect();
            let mut p = Problem::new(
                ProblemKind::UnknownOption,
                format!("--{given} is not an option of {what}"),
            )
            .suggest(
                did_you_mean(given, table.iter().map(|(n, _)| *n))
                    .into_iter()
                    .map(|n| format!("--{n}"))
                    .collect(),
            );
            p.message.push_str(&if known.is_empty() {
                "; it takes no options".to_string()
            } else {
                format!("; its options are: {}", known.join(" "))
            });
            Err(p)
        }
        many => {
            let names: Vec<String> = many.iter().map(|(n, _)| format!("--{n}")).collect();
            Err(Problem::new(
                ProblemKind::UnknownOption,
                format!(
                    "--{given} is ambiguous: it could be {}; write it in full",
                    or_list(&names)
                ),
            ))
        }
    }
}

/// The operations shown, most used first, when a popular command is given without one.
const MOST_USED: &[(&str, &[&str])] = &[
    (
        "s3api",
        &[
            "list-buckets",
            "list-objects-v2",
            "get-object",
            "put-object",
            "head-object",
            "delete-object",
        ],
    ),
    (
        "ec2",
        &[
            "describe-instances",
            "run-instances",
            "start-instances",
            "stop-instances",
            "terminate-instances",
            "describe-security-groups",
        ],
    ),
    (
        "iam",
        &[
            "list-roles",
            "get-role",
            "list-users",
            "get-user",
            "list-attached-role-policies",
            "list-policies",
        ],
    ),
    (
        "lambda",
        &[
            "list-functions",
            "get-function",
            "invoke",
            "create-function",
            "update-function-code",
            "get-function-configuration",
        ],
    ),
    (
        "dynamodb",
        &[
            "list-tables",
            "describe-table",
            "get-item",
            "put-item",
            "query",
            "scan",
        ],
    ),
    (
        "sqs",
        &[
            "list-queues",
            "get-queue-url",
            "send-message",
            "receive-message",
            "delete-message",
            "get-queue-attributes",
        ],
    ),
    (
        "sns",
        &[
            "list-topics",
            "publish",
            "subscribe",
            "list-subscriptions",
            "create-topic",
            "get-topic-attributes",
        ],
    ),
    (
        "sts",
        &[
            "get-caller-identity",
            "assume-role",
            "get-session-token",
            "assume-role-with-web-identity",
        ],
    ),
    (
        "logs",
        &[
            "describe-log-groups",
            "describe-log-streams",
            "filter-log-events",
            "get-log-events",
            "start-query",
            "get-query-results",
        ],
    ),
    (
        "cloudformation",
        &[
            "describe-stacks",
            "list-stacks",
            "describe-stack-events",
            "describe-stack-resources",
            "create-stack",
            "update-stack",
        ],
    ),
    (
        "rds",
        &[
            "describe-db-instances",
            "describe-db-clusters",
            "describe-db-snapshots",
            "create-db-snapshot",
            "start-db-instance",
            "stop-db-instance",
        ],
    ),
    (
        "ecs",
        &[
            "list-clusters",
            "list-services",
            "describe-services",
            "list-tasks",
            "describe-tasks",
            "update-service",
        ],
    ),
    (
        "ssm",
        &[
            "get-parameter",
            "get-parameters-by-path",
            "put-parameter",
            "describe-parameters",
            "send-command",
            "get-command-invocation",
        ],
    ),
    (
        "secretsmanager",
        &[
            "get-secret-value",
            "list-secrets",
            "describe-secret",
            "create-secret",
            "put-secret-value",
            "update-secret",
        ],
    ),
    (
        "kms",
        &[
            "list-keys",
            "list-aliases",
            "describe-key",
            "encrypt",
            "decrypt",
            "generate-data-key",
        ],
    ),
];

/// `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How an option name was read.
enum Expanded {
    /// As written: a global, an option of the operation, or unknown (reported later).
    Exact,
    /// A unique prefix of this option.
    To(String),
    /// A prefix of several: the problem, and the candidates' names.
    Ambiguous(Problem, Vec<String>),
}

/// argparse's abbreviations, as the AWS CLI applies them: an exact global or operation option is
/// itself; otherwise a unique prefix of a global option is that global (the CLI's main parser
/// sees every word first), then a unique prefix of one of the operation's options is that
/// option. A prefix of several is refused with its candidates.
fn expand_option(name: &str, resolved: Option<&Resolved>) -> Expanded {
    if global_kind(name).is_some() || resolved.is_some_and(|r| r.args.contains_key(name)) {
        return Expanded::Exact;
    }
    let ambiguous = |mut candidates: Vec<String>| {
        candidates.sort();
        let list: Vec<String> = candidates.iter().map(|c| format!("--{c}")).collect();
        Expanded::Ambiguous(
            Problem::new(
                ProblemKind::UnknownOption,
                format!(
                    "ambiguous option: it could be {}; write it in full",
                    or_list(&list)
                ),
            )
            .at(format!("--{name}")),
            candidates,
        )
    };
    // `version` is a global of the CLI's main parser too (never run here, but it takes part in
    // abbreviations).
    let globals: Vec<String> = crate::globals::GLOBALS
        .iter()
        .map(|(n, _)| *n)
        .chain(["version"])
        .filter(|n| n.starts_with(name))
        .map(str::to_string)
        .collect();
    match globals.len() {
        1 => return Expanded::To(globals.into_iter().next().unwrap_or_default()),
        0 => {}
        _ => return ambiguous(globals),
    }
    let Some(r) = resolved else {
        return Expanded::Exact;
    };
    let ops: Vec<String> = r
        .args
        .keys()
        .filter(|k| k.starts_with(name))
        .cloned()
        .collect();
    match ops.len() {
        1 => Expanded::To(ops.into_iter().next().unwrap_or_default()),
        0 => Expanded::Exact,
        _ => ambiguous(ops),
    }
}

/// argparse's rule: a word starting with `-` is an option, not a value, unless it is a negative number.
fn is_option_like(w: &str) -> bool {
    w.starts_with('-') && w.len() > 1 && w.parse::<f64>().is_err() && !w.contains(' ')
}

pub(crate) fn take_value(words: &[String], i: &mut usize) -> Option<String> {
    let w = words.get(*i)?;
    if is_option_like(w) {
        return None;
    }
    *i += 1;
    Some(w.clone())
}

/// A word starting with a single `-`: a value argparse does not take as one (`--name -x`).
fn dash_value(word: &str) -> bool {
    word.starts_with('-') && !word.starts_with("--")
}

pub(crate) fn missing_value(name: &str, next: Option<&String>) -> Problem {
    let mut p = Problem::new(ProblemKind::MissingValue, format!("--{name} needs a value"));
    if let Some(next) = next.filter(|n| !n.starts_with("--")) {
        p.message.push_str(&format!(
            "; a value starting with - must be attached: --{name}={next}"
        ));
    }
    p
}

fn check_global(name: &str, kind: GlobalKind, value: Option<&str>) -> Option<Problem> {
    let value = value?;
    match kind {
        GlobalKind::Choice(choices) if !choices.contains(&value) => Some(
            Problem::new(
                ProblemKind::InvalidValue,
                format!(
                    "--{name} must be one of {}, not {value:?}",
                    choices.join(", ")
                ),
            )
            .suggest(did_you_mean(value, choices.iter().copied())),
        ),
        GlobalKind::Seconds if value.trim().parse::<u64>().is_err() => Some(Problem::new(
            ProblemKind::InvalidType,
            format!("--{name} takes whole seconds, not {value:?}"),
        )),
        GlobalKind::Text if value.is_empty() && name != "query" => Some(Problem::new(
            ProblemKind::InvalidValue,
            format!("--{name} needs a non-empty value"),
        )),
        GlobalKind::Text if name == "region" && !is_region_name(value) => Some(Problem::new(
            ProblemKind::InvalidValue,
            format!("--region {value:?} is not a region name; region names look like us-east-1"),
        )),
        GlobalKind::Text if name == "endpoint-url" && !is_http_url(value) => Some(Problem::new(
            ProblemKind::InvalidValue,
            format!("--endpoint-url {value:?} is not an http:// or https:// URL with a host"),
        )),
        _ => None,
    }
}

/// What to run instead of an AWS CLI customization Portcullis does not run: API operations that
/// do the same (docs/migrating-from-awslabs.md lists them all).
pub const CUSTOMIZATION_ALTERNATIVES: &[(&str, &str, &str)] = &[
    (
        "emr",
        "describe-cluster",
        "`aws emr list-clusters` (id, name, state), then `aws emr list-instance-groups --cluster-id ID`, `aws emr list-steps --cluster-id ID` and `aws emr list-bootstrap-actions --cluster-id ID`",
    ),
    (
        "emr",
        "create-cluster",
        "`aws emr run-job-flow` (the API operation; `--cli-input-json` takes the whole request)",
    ),
    (
        "emr",
        "add-steps",
        "`aws emr add-job-flow-steps --job-flow-id ID --steps ...`",
    ),
    (
        "emr",
        "terminate-clusters",
        "`aws emr terminate-job-flows --job-flow-ids ID`",
    ),
    (
        "emr",
        "modify-cluster-attributes",
        "`aws emr set-termination-protection`, `aws emr set-visible-to-all-users` or `aws emr modify-cluster`",
    ),
    (
        "emr",
        "create-default-roles",
        "`aws iam create-role` and `aws iam attach-role-policy` (EMR_DefaultRole, EMR_EC2_DefaultRole)",
    ),
    (
        "emr",
        "install-applications",
        "`aws emr add-job-flow-steps` with the installation step",
    ),
    (
        "emr",
        "schedule-hbase-backup",
        "`aws emr add-job-flow-steps` with the HBase backup step",
    ),
    (
        "emr",
        "create-hbase-backup",
        "`aws emr add-job-flow-steps` with the HBase backup step",
    ),
    (
        "emr",
        "restore-from-hbase-backup",
        "`aws emr add-job-flow-steps` with the HBase restore step",
    ),
    (
        "emr",
        "disable-hbase-backups",
        "`aws emr add-job-flow-steps` with the HBase step",
    ),
    (
        "cloudformation",
        "package",
        "upload each local artifact with `aws s3 cp`, point the template at its `s3://` URL, then `aws cloudformation deploy`",
    ),
    (
        "cloudtrail",
        "create-subscription",
        "`aws s3api create-bucket` and `put-bucket-policy`, then `aws cloudtrail create-trail` and `aws cloudtrail start-logging`",
    ),
    (
        "cloudtrail",
        "update-subscription",
        "`aws cloudtrail update-trail`",
    ),
    (
        "cloudtrail",
        "validate-logs",
        "`aws cloudtrail get-trail-status` (the digest files' signatures are checked by the CLI locally, not by an API)",
    ),
    (
        "configservice",
        "get-status",
        "`aws configservice describe-configuration-recorder-status` and `aws configservice describe-delivery-channel-status`",
    ),
    (
        "configservice",
        "subscribe",
        "`aws configservice put-configuration-recorder`, `put-delivery-channel` and `start-configuration-recorder`",
    ),
    (
        "datapipeline",
        "list-runs",
        "`aws datapipeline query-objects --pipeline-id ID --sphere INSTANCE`, then `aws datapipeline describe-objects`",
    ),
    (
        "datapipeline",
        "create-default-roles",
        "`aws iam create-role` and `aws iam attach-role-policy`",
    ),
    (
        "dlm",
        "create-default-role",
        "`aws iam create-role` and `aws iam attach-role-policy` (AWSDataLifecycleManagerDefaultRole)",
    ),
    (
        "deploy",
        "push",
        "`aws s3 cp` of the bundle, then `aws deploy register-application-revision`",
    ),
    (
        "deploy",
        "register",
        "`aws deploy register-on-premises-instance`",
    ),
    (
        "deploy",
        "deregister",
        "`aws deploy deregister-on-premises-instance`",
    ),
    (
        "ecs",
        "deploy",
        "`aws ecs register-task-definition`, then `aws ecs update-service`",
    ),
    (
        "eks",
        "update-kubeconfig",
        "`aws eks describe-cluster` (endpoint and certificate) and `aws eks get-token`; kubeconfig is a local file Portcullis does not write",
    ),
    (
        "logs",
        "start-live-tail",
        "`aws logs filter-log-events` (or `get-log-events`) with `--start-time`",
    ),
    (
        "emr-containers",
        "update-role-trust-policy",
        "`aws iam update-assume-role-policy`",
    ),
    (
        "gamelift",
        "upload-build",
        "`aws gamelift create-build` with an `--storage-location` in S3 (upload it with `aws s3 cp`)",
    ),
    (
        "gamelift",
        "get-game-session-log",
        "`aws gamelift get-game-session-log-url`",
    ),
];

/// botocore's region check: a DNS label (letters, digits, hyphens; 1-63 characters).
fn is_region_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.starts_with(':') && !host.contains(char::is_whitespace)
    })
}

fn unsupported_command(cmd: &str) -> Problem {
    let hint = match cmd {
        "s3" => {
            "write the subcommand right after `aws s3` (ls, cp, mv, sync, mb, rb, rm, presign); website is not run yet: use `aws s3api put-bucket-website`"
        }
        "configure" => {
            "`aws configure` changes local CLI configuration and is never run here; credentials and region are fixed when the server starts"
        }
        "history" => "`aws history` reads local CLI history and is never run here",
        _ => "this AWS CLI command exists only in the CLI and is not run here",
    };
    Problem::new(ProblemKind::Unsupported, format!("`aws {cmd}`: {hint}"))
}

fn unknown_option(r: &Resolved, name: &str) -> Problem {
    let mut names: Vec<&str> = r.args.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut p = Problem::new(
        ProblemKind::UnknownOption,
        format!(
            "--{name} is not an option of aws {} {}",
            r.command, r.cli_op
        ),
    )
    .suggest(
        did_you_mean(name, names.iter().copied())
            .into_iter()
            .map(|n| format!("--{n}"))
            .collect(),
    );
    if r.hidden.iter().any(|h| r.models.kebab(h) == name) {
        p.message.push_str("; the CLI pages this operation itself: use --page-size, --max-items and --starting-token");
    } else if p.suggestions.is_empty() {
        let shown: Vec<String> = names.iter().take(12).map(|n| format!("--{n}")).collect();
        p.message.push_str(&format!(
            "; its options are: {}{}",
            shown.join(" "),
            if names.len() > 12 { " ..." } else { "" }
        ));
    }
    p
}

/// A resolved `aws <command> <operation>` and its argument table.
struct Resolved {
    models: &'static Models,
    command: String,
    cli_op: String,
    model: Arc<ServiceModel>,
    api: String,
    table: Arc<OpTable>,
}

impl std::ops::Deref for Resolved {
    type Target = OpTable;
    fn deref(&self) -> &OpTable {
        &self.table
    }
}

/// The argument table of one CLI operation: built once per process, then shared.
struct OpTable {
    args: HashMap<String, ArgDef>,
    /// Member → its CLI argument name.
    cli_names: HashMap<String, String>,
    /// Argument names in the order the CLI builds parameters.
    order: Vec<String>,
    hidden: Vec<String>,
    has_outfile: bool,
    paramfile_disabled: Vec<String>,
}

impl Resolved {
    fn new(
        models: &'static Models,
        cmd: &str,
        cli_op: &str,
        model: Arc<ServiceModel>,
        cli: Arc<ServiceCli>,
        api: &str,
    ) -> Self {
        type Cache = RwLock<HashMap<(String, String), Arc<OpTable>>>;
        static TABLES: OnceLock<Cache> = OnceLock::new();
        let tables = TABLES.get_or_init(Default::default);
        let key = (model.name.clone(), cli_op.to_string());
        let cached = tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let table = match cached {
            Some(t) => t,
            None => {
                let paginated = models.paginator(&model.name, api).is_some();
                let t = Arc::new(OpTable::build(
                    models, cmd, cli_op, &model, &cli, api, paginated,
                ));
                tables
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, t.clone());
                t
            }
        };
        Self {
            models,
            command: cmd.to_string(),
            cli_op: cli_op.to_string(),
            model,
            api: api.to_string(),
            table,
        }
    }
}

impl OpTable {
    fn build(
        models: &'static Models,
        cmd: &str,
        cli_op: &str,
        model: &ServiceModel,
        cli: &ServiceCli,
        api: &str,
        paginated: bool,
    ) -> Self {
        let mut args = HashMap::new();
        let mut cli_names = HashMap::new();
        let exceptions = cli.exceptions(cli_op).cloned().unwrap_or_default();
        let endpoint_prefix = model.metadata.endpoint_prefix.clone().unwrap_or_default();
        let mut has_outfile = false;
        let specs = model
            .operation(api)
            .map(|op| models.cli_args(model, cli, cli_op, op))
            .unwrap_or_default();
        if let Some(op) = model.operation(api) {
            for spec in &specs {
                if spec.form != ArgForm::SetFalse {
                    cli_names
                        .entry(spec.member.clone())
                        .or_insert_with(|| spec.name.clone());
                }
                let value_bool = is_value_bool(model, op, &spec.member);
                let def = if value_bool && spec.form == ArgForm::Value {
                    ArgDef::ValueBool(spec.clone())
                } else {
                    ArgDef::Member(spec.clone())
                };
                args.insert(spec.name.clone(), def);
            }
        }
        let zip_target = model.operation(api).and_then(|op| zip_target(model, op));
        for custom in &exceptions.custom_args {
            let def = custom_def(cmd, cli_op, custom, zip_target.as_deref());
            has_outfile |= matches!(def, ArgDef::Outfile);
            if !matches!(def, ArgDef::Outfile) {
                args.insert(custom.name.clone(), def);
            }
        }
        // The order parameters are built in: the CLI's argument table.
        let order: Vec<String> = if exceptions.order.is_empty() {
            let mut names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
            names.extend(exceptions.custom_args.iter().map(|c| c.name.clone()));
            names
        } else {
            exceptions.order.clone()
        };
        args.insert("cli-input-json".into(), ArgDef::CliInputJson);
        args.insert("generate-cli-skeleton".into(), ArgDef::Skeleton);
        if paginated {
            args.insert("starting-token".into(), ArgDef::StartingToken);
            args.insert("page-size".into(), ArgDef::PageSize);
            args.insert("max-items".into(), ArgDef::MaxItems);
        }
        let paramfile_disabled = args
            .keys()
            .filter(|a| models.paramfile_disabled(&endpoint_prefix, cli_op, a))
            .cloned()
            .collect();
        Self {
            args,
            cli_names,
            order,
            hidden: exceptions.hidden.clone(),
            has_outfile,
            paramfile_disabled,
        }
    }
}

impl Resolved {
    #[allow(clippy::expect_used)] // `api` was looked up in this model when resolving.
    fn operation(&self) -> &Operation {
        self.model
            .operation(&self.api)
            .expect("resolved operation exists")
    }

    fn input_shape(&self) -> Option<&Shape> {
        self.model.input_shape(self.operation())
    }

    fn member_shape(&self, member: &str) -> Option<&Shape> {
        let input = self.input_shape()?;
        self.model.shape(&input.members.get(member)?.shape)
    }

    fn is_list(&self, member: &str) -> bool {
        self.member_shape(member)
            .is_some_and(|s| s.kind == ShapeType::List)
    }

    fn is_value_bool(&self, member: &str) -> bool {
        is_value_bool(&self.model, self.operation(), member)
    }

    fn same_member(&self, a: &str, b: &str) -> bool {
        let member = |n: &str| match self.args.get(n) {
            Some(ArgDef::Member(s) | ArgDef::ValueBool(s)) => Some(s.member.clone()),
            _ => None,
        };
        matches!((member(a), member(b)), (Some(x), Some(y)) if x == y)
    }

    fn cli_name_of(&self, member: &str) -> String {
        self.cli_names
            .get(member)
            .cloned()
            .unwrap_or_else(|| self.models.kebab(member))
    }
}

/// ec2's simplified booleans: a member whose shape is `{"Value": boolean}`.
fn is_value_bool(model: &ServiceModel, op: &Operation, member: &str) -> bool {
    if model.metadata.endpoint_prefix.as_deref() != Some("ec2") {
        return false;
    }
    let Some(shape) = model
        .input_shape(op)
        .and_then(|i| i.members.get(member))
        .and_then(|m| model.shape(&m.shape))
    else {
        return false;
    };
    shape.kind == ShapeType::Structure
        && shape.members.len() == 1
        && shape
            .members
            .get("Value")
            .and_then(|v| model.shape(&v.shape))
            .is_some_and(|v| v.kind == ShapeType::Boolean)
}

/// The member `--zip-file` fills (`Code` of create-function, `Content` of publish-layer-version).
fn zip_target(model: &ServiceModel, op: &Operation) -> Option<String> {
    let input = model.input_shape(op)?;
    input
        .members
        .iter()
        .find(|(_, r)| {
            model.shape(&r.shape).is_some_and(|s| {
                s.kind == ShapeType::Structure && s.members.contains_key("ZipFile")
            })
        })
        .map(|(name, _)| name.clone())
}

fn custom_def(cmd: &str, cli_op: &str, custom: &CustomArg, zip_target: Option<&str>) -> ArgDef {
    if let Some(c) = Custom::from_class(&custom.class, &custom.name, zip_target) {
        return ArgDef::Custom(c);
    }
    match custom.class.as_str() {
        "StreamingOutputArgument" => ArgDef::Outfile,
        _ => ArgDef::Unsupported(format!(
            "--{} of aws {cmd} {cli_op} is an AWS CLI customization that Portcullis does not support yet; set the underlying API parameter instead (see --generate-cli-skeleton)",
            custom.name
        )),
    }
}

/// Turns the words given to an option into a value, per the member's shape.
struct Unpack<'a, 'p> {
    parser: &'a Parser<'p>,
    r: &'a Resolved,
    files_read: Vec<String>,
    problems: Vec<Problem>,
}

impl Unpack<'_, '_> {
    fn positive(&mut self, option: &str, word: &str) -> Option<u64> {
        match word.trim().parse::<i64>() {
            Ok(n) if n > 0 => Some(n as u64),
            Ok(_) => {
                self.problems.push(Problem::new(
                    ProblemKind::InvalidValue,
                    format!("--{option} must be at least 1, not {word}"),
                ));
                None
            }
            Err(_) => {
                self.problems.push(Problem::new(
                    ProblemKind::InvalidType,
                    format!("--{option} takes a positive whole number, not {word:?}"),
                ));
                None
            }
        }
    }

    fn read_file(&mut self, path: &str, why: FileUse, option: &str) -> Option<Vec<u8>> {
        match self.parser.policy.read(path, why) {
            Ok(bytes) => {
                self.files_read.push(path.to_string());
                Some(bytes)
            }
            Err(e) => {
                self.problems
                    .push(Problem::new(ProblemKind::BadFile, e.0).at(format!("--{option}")));
                None
            }
        }
    }

    /// Reads `file://` (text) or `fileb://` (bytes); `Ok(None)` when the word is no file reference.
    fn param_file(&mut self, word: &str, option: &str) -> Result<Option<FileContent>, ()> {
        if let Some(path) = word.strip_prefix("fileb://") {
            return self
                .read_file(path, FileUse::ParamBytes, option)
                .map(|b| Some(FileContent::Bytes(b)))
                .ok_or(());
        }
        if let Some(path) = word.strip_prefix("file://") {
            let bytes = self.read_file(path, FileUse::ParamText, option).ok_or(())?;
            return match String::from_utf8(bytes) {
                Ok(s) => Ok(Some(FileContent::Text(s))),
                Err(_) => {
                    self.problems.push(
                        Problem::new(
                            ProblemKind::BadFile,
                            format!("{path} is not UTF-8 text; use fileb:// for binary files"),
                        )
                        .at(format!("--{option}")),
                    );
                    Err(())
                }
            };
        }
        Ok(None)
    }

    fn unpack_arg(&mut self, spec: &CliArgSpec, words: &[String]) -> Option<Value> {
        let shape = self.r.member_shape(&spec.member)?;
        let option = spec.name.as_str();
        let streaming = shape.streaming
            || self
                .r
                .input_shape()
                .and_then(|i| i.members.get(&spec.member))
                .is_some_and(|m| m.streaming);
        if streaming && shape.kind == ShapeType::Blob {
            // Read from the file when the request is sent (the path is checked after parsing).
            return Some(Value::Stream(LocalFile {
                path: words.first().cloned().unwrap_or_default(),
            }));
        }
        let mut words: Vec<String> = words.to_vec();
        let mut bytes = None;
        if words.len() == 1 && !self.r.paramfile_disabled.iter().any(|d| d == option) {
            match self.param_file(&words[0], option) {
                Ok(Some(FileContent::Text(t))) => words[0] = t,
                Ok(Some(FileContent::Bytes(b))) => bytes = Some(b),
                Ok(None) => {}
                Err(()) => return None,
            }
        }
        if let Some(b) = bytes {
            if shape.kind == ShapeType::Blob {
                return Some(Value::Bytes(b));
            }
            self.problems.push(
                Problem::new(ProblemKind::InvalidType, "fileb:// gives binary data, which only blob parameters take; use file:// for text")
                    .at(format!("--{option}")),
            );
            return None;
        }
        let path = format!("--{option}");
        match self.unpack(shape, &words, &path, option) {
            Ok(v) => Some(v),
            Err(p) => {
                self.problems.push(p);
                None
            }
        }
    }

    fn unpack(
        &mut self,
        shape: &Shape,
        words: &[String],
        path: &str,
        option: &str,
    ) -> Result<Value, Problem> {
        let first = words.first().map(String::as_str).unwrap_or("");
        if shape.document || shape.kind == ShapeType::String && self.is_json_header(option) {
            return parse_json(first, path);
        }
        if shape.kind.is_scalar() {
            return self.scalar(shape, first, path);
        }
        let looks_json = first.trim_start().starts_with(['[', '{']);
        if !looks_json && supports_shorthand(self.r.model.as_ref(), shape) {
            return self.shorthand(shape, words, path, option);
        }
        match shape.kind {
            ShapeType::Structure | ShapeType::Map => {
                if looks_json {
                    parse_json(first, path)
                } else {
                    Err(Problem::new(
                        ProblemKind::InvalidType,
                        format!("expected JSON, got {:?}", short(first)),
                    )
                    .at(path))
                }
            }
            _ => {
                if words.len() == 1 && first.trim_start().starts_with('[') {
                    return parse_json(first, path);
                }
                let member = shape
                    .member
                    .as_ref()
                    .and_then(|m| self.r.model.shape(&m.shape));
                let Some(member) = member else {
                    return Err(Problem::new(
                        ProblemKind::InvalidType,
                        "list without member shape",
                    )
                    .at(path));
                };
                let mut out = Vec::with_capacity(words.len());
                for (i, w) in words.iter().enumerate() {
                    out.push(self.unpack(
                        member,
                        std::slice::from_ref(w),
                        &format!("{path}[{i}]"),
                        option,
                    )?);
                }
                Ok(Value::List(out))
            }
        }
    }

    fn is_json_header(&self, option: &str) -> bool {
        let Some(ArgDef::Member(spec)) = self.r.args.get(option) else {
            return false;
        };
        self.r
            .input_shape()
            .and_then(|i| i.members.get(&spec.member))
            .is_some_and(|m| m.jsonvalue && m.location.as_deref() == Some("header"))
    }

    fn scalar(&mut self, shape: &Shape, word: &str, path: &str) -> Result<Value, Problem> {
        Ok(match shape.kind {
            ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => {
                Value::Int(parse_int(word).ok_or_else(|| {
                    Problem::new(
                        ProblemKind::InvalidType,
                        format!("expected an integer, got {:?}", short(word)),
                    )
                    .at(path)
                })?)
            }
            ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => Value::Float(
                word.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        Problem::new(
                            ProblemKind::InvalidType,
                            format!("expected a number, got {:?}", short(word)),
                        )
                        .at(path)
                    })?,
            ),
            // The CLI's rule: only "false" (any case) is false.
            ShapeType::Boolean => {
                Value::Bool(!word.eq_ignore_ascii_case("false") && !word.is_empty())
            }
            _ => Value::Str(word.to_string()),
        })
    }

    fn shorthand(
        &mut self,
        shape: &Shape,
        words: &[String],
        path: &str,
        option: &str,
    ) -> Result<Value, Problem> {
        let parse_one = |w: &str| {
            portcullis_shorthand::parse(w).map_err(|e| {
                Problem::new(
                    ProblemKind::InvalidType,
                    format!("{e}\nUse JSON if the value is hard to write as shorthand."),
                )
                .at(path)
            })
        };
        // The CLI's special cases: a `{"Value": string}` structure takes a bare word.
        if shape.kind == ShapeType::Structure
            && shape.members.len() == 1
            && self
                .r
                .model
                .shape(
                    &shape
                        .members
                        .get("Value")
                        .map(|m| m.shape.clone())
                        .unwrap_or_default(),
                )
                .is_some_and(|s| s.kind == ShapeType::String)
            && !words.first().is_some_and(|w| w.contains('='))
        {
            return Ok(value_struct(Value::Str(
                words.first().cloned().unwrap_or_default(),
            )));
        }
        // The CLI's other special case, kept for a few operations: a list of single-member
        // structures takes bare words (`elb register-instances-with-load-balancer --instances i-1`).
        if shape.kind == ShapeType::List
            && OLD_LIST_CASES.contains(&(
                self.r.model.name.as_str(),
                self.r.cli_op.as_str(),
                option,
            ))
            && let Some(member) = shape
                .member
                .as_ref()
                .and_then(|m| self.r.model.shape(&m.shape))
            && member.kind == ShapeType::Structure
            && member.members.len() == 1
            && let Some(key) = member.members.keys().next()
            && words.iter().all(|w| !w.contains('='))
        {
            return Ok(Value::List(
                words
                    .iter()
                    .map(|w| Value::Map(IndexMap::from([(key.clone(), Value::Str(w.clone()))])))
                    .collect(),
            ));
        }
        let raw = if shape.kind == ShapeType::List {
            let mut items = Vec::new();
            for w in words {
                items.push(portcullis_shorthand::Value::Map(parse_one(w)?));
            }
            portcullis_shorthand::Value::List(items)
        } else {
            if words.len() > 1 {
                return Err(Problem::new(
                    ProblemKind::InvalidType,
                    format!(
                        "takes one value, got {}; quote it if it contains spaces",
                        words.len()
                    ),
                )
                .at(path));
            }
            portcullis_shorthand::Value::Map(parse_one(
                words.first().map(String::as_str).unwrap_or(""),
            )?)
        };
        self.coerce(shape, raw, path, option, 0)
    }

    /// The CLI's back-compat visitor: shorthand scalars typed by the model (numbers, booleans, a
    /// lone value where a list is expected becomes a one-element list); file references resolved.
    fn coerce(
        &mut self,
        shape: &Shape,
        raw: portcullis_shorthand::Value,
        path: &str,
        option: &str,
        depth: usize,
    ) -> Result<Value, Problem> {
        use portcullis_shorthand::Value as S;
        if depth > portcullis_shorthand::MAX_DEPTH {
            return Err(Problem::new(ProblemKind::TooLarge, "nested too deeply").at(path));
        }
        if shape.document {
            return Err(Problem::new(
                ProblemKind::InvalidType,
                "shorthand cannot express a document value; give the whole argument as JSON",
            )
            .at(path));
        }
        let model = self.r.model.clone();
        let sub =
            |r: &Option<portcullis_model::ShapeRef>| r.as_ref().and_then(|r| model.shape(&r.shape));
        Ok(match (shape.kind, raw) {
            (ShapeType::List, S::List(items)) => {
                let Some(member) = sub(&shape.member) else {
                    return Ok(Value::Null);
                };
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    out.push(self.coerce(
                        member,
                        item,
                        &format!("{path}[{i}]"),
                        option,
                        depth + 1,
                    )?);
                }
                Value::List(out)
            }
            (ShapeType::List, other) => {
                let Some(member) = sub(&shape.member) else {
                    return Ok(Value::Null);
                };
                Value::List(vec![self.coerce(
                    member,
                    other,
                    &format!("{path}[0]"),
                    option,
                    depth + 1,
                )?])
            }
            (ShapeType::Structure, S::Map(m)) => {
                let mut out = IndexMap::new();
                for (k, v) in m {
                    let child = format!("{path}.{k}");
                    let value = match shape.members.get(&k).and_then(|r| model.shape(&r.shape)) {
                        Some(s) => self.coerce(s, v, &child, option, depth + 1)?,
                        None => untyped(v), // reported as an unknown key by validation
                    };
                    out.insert(k, value);
                }
                Value::Map(out)
            }
            (ShapeType::Map, S::Map(m)) => {
                let mut out = IndexMap::new();
                for (k, v) in m {
                    let child = format!("{path}.{k}");
                    let value = match sub(&shape.value) {
                        Some(s) => self.coerce(s, v, &child, option, depth + 1)?,
                        None => untyped(v),
                    };
                    out.insert(k, value);
                }
                Value::Map(out)
            }
            (kind, S::Scalar(s)) if kind.is_scalar() => {
                let text = if !s.literal && !s.quoted {
                    // `key@=file://...`: the CLI v2 reads the file.
                    match self.param_file(&s.text, option) {
                        Ok(Some(FileContent::Text(t))) => t,
                        Ok(Some(FileContent::Bytes(b))) => return Ok(Value::Bytes(b)),
                        Ok(None) => s.text,
                        Err(()) => return Ok(Value::Null),
                    }
                } else {
                    s.text
                };
                match kind {
                    ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => {
                        match parse_int(&text) {
                            Some(i) => Value::Int(i),
                            None => {
                                return Err(Problem::new(
                                    ProblemKind::InvalidType,
                                    format!("expected an integer, got {:?}", short(&text)),
                                )
                                .at(path));
                            }
                        }
                    }
                    ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => {
                        match text.trim().parse::<f64>() {
                            Ok(f) if f.is_finite() => Value::Float(f),
                            _ => {
                                return Err(Problem::new(
                                    ProblemKind::InvalidType,
                                    format!("expected a number, got {:?}", short(&text)),
                                )
                                .at(path));
                            }
                        }
                    }
                    ShapeType::Boolean if text.eq_ignore_ascii_case("true") => Value::Bool(true),
                    ShapeType::Boolean if text.eq_ignore_ascii_case("false") => Value::Bool(false),
                    _ => Value::Str(text),
                }
            }
            (_, other) => untyped(other), // a type mismatch: validation reports it
        })
    }

    /// Streaming bodies are read when sent, but must exist and be allowed now.
    fn check_streams(&mut self, params: &IndexMap<String, Value>) {
        for (k, v) in params {
            if let Value::Stream(f) = v
                && let Err(e) = self.parser.policy.check(&f.path, FileUse::StreamingBody)
            {
                self.problems.push(
                    Problem::new(
                        ProblemKind::BadFile,
                        format!("{}; blob values must be a path to a readable file", e.0),
                    )
                    .at(format!("--{}", self.r.cli_name_of(k))),
                );
            }
        }
    }

    fn merge_cli_input(&mut self, raw: &str, params: &mut IndexMap<String, Value>) {
        let text = if let Some(path) = raw.strip_prefix("file://") {
            let Some(bytes) = self.read_file(path, FileUse::CliInputJson, "cli-input-json") else {
                return;
            };
            match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(_) => {
                    self.problems.push(
                        Problem::new(ProblemKind::BadFile, format!("{path} is not UTF-8 text"))
                            .at("--cli-input-json"),
                    );
                    return;
                }
            }
        } else {
            raw.to_string()
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(obj)) => {
                for (k, v) in obj {
                    // Explicit arguments win, as in the CLI.
                    if !params.contains_key(&k) {
                        params.insert(k, Value::from_json(v));
                    }
                }
            }
            Ok(other) => self.problems.push(
                Problem::new(
                    ProblemKind::InvalidType,
                    format!(
                        "--cli-input-json must be a JSON object, got {}",
                        json_kind(&other)
                    ),
                )
                .at("--cli-input-json"),
            ),
            Err(e) => self.problems.push(
                Problem::new(ProblemKind::InvalidType, format!("invalid JSON: {e}"))
                    .at("--cli-input-json"),
            ),
        }
    }
}

enum FileContent {
    Text(String),
    Bytes(Vec<u8>),
}

fn untyped(v: portcullis_shorthand::Value) -> Value {
    match v {
        portcullis_shorthand::Value::Scalar(s) => Value::Str(s.text),
        portcullis_shorthand::Value::List(l) => Value::List(l.into_iter().map(untyped).collect()),
        portcullis_shorthand::Value::Map(m) => {
            Value::Map(m.into_iter().map(|(k, v)| (k, untyped(v))).collect())
        }
    }
}

/// The CLI's rule: shorthand applies to structures, maps, and lists of those.
fn supports_shorthand(model: &ServiceModel, shape: &Shape) -> bool {
    if contains_document(model, shape, 0) {
        return false;
    }
    match shape.kind {
        ShapeType::Structure | ShapeType::Map => true,
        ShapeType::List => shape
            .member
            .as_ref()
            .and_then(|m| model.shape(&m.shape))
            .is_some_and(|m| !m.kind.is_scalar()),
        _ => false,
    }
}

/// A document, or a list/map directly of documents.
fn contains_document(model: &ServiceModel, shape: &Shape, depth: usize) -> bool {
    if shape.document {
        return true;
    }
    if depth > 2 {
        return false;
    }
    let inner = match shape.kind {
        ShapeType::List => shape.member.as_ref(),
        ShapeType::Map => shape.value.as_ref(),
        _ => None,
    };
    inner
        .and_then(|r| model.shape(&r.shape))
        .is_some_and(|s| contains_document(model, s, depth + 1))
}

fn parse_json(text: &str, path: &str) -> Result<Value, Problem> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(Value::from_json)
        .map_err(|e| {
            Problem::new(
                ProblemKind::InvalidType,
                format!("invalid JSON: {e}; JSON received: {}", short(text)),
            )
            .at(path)
        })
}

/// Python's `int()` on a CLI word: surrounding space, a sign, digits (and `_` between digits).
fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    t.replace('_', "").parse().ok()
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push_str("...");
    }
    out
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// API operations the AWS CLI follows by starting a local program (session-manager-plugin): the
/// call alone opens an interactive channel Portcullis would hand to nobody, so it is refused.
/// (Customizations that only run local programs, like `emr ssh` or `deploy install`, are refused
/// with the other customizations.)
/// Whether the operation's response is an event stream (`s3api select-object-content`).
fn event_stream_output(r: &Resolved) -> bool {
    let Some(op) = r.model.operation(&r.api) else {
        return false;
    };
    let Some(out) = op.output.as_ref().and_then(|o| r.model.shape(&o.shape)) else {
        return false;
    };
    out.members
        .values()
        .any(|m| r.model.shape(&m.shape).is_some_and(|s| s.eventstream))
}

/// awscli's `_uses_old_list_case` (argprocess.py): `(botocore service, CLI operation, option)` whose
/// list of single-member structures takes bare words.
const OLD_LIST_CASES: &[(&str, &str, &str)] = &[
    ("firehose", "put-record-batch", "records"),
    (
        "workspaces",
        "reboot-workspaces",
        "reboot-workspace-requests",
    ),
    (
        "workspaces",
        "rebuild-workspaces",
        "rebuild-workspace-requests",
    ),
    (
        "workspaces",
        "terminate-workspaces",
        "terminate-workspace-requests",
    ),
    ("elb", "remove-tags", "tags"),
    ("elb", "describe-instance-health", "instances"),
    (
        "elb",
        "deregister-instances-from-load-balancer",
        "instances",
    ),
    ("elb", "register-instances-with-load-balancer", "instances"),
];

const LOCAL_PROGRAM_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "ecs",
        "execute-command",
        "the AWS CLI runs it by starting the session-manager-plugin program for an interactive shell in the container; \
         Portcullis starts no programs. Use `aws ecs describe-tasks` to inspect the task, or run the command as an ECS task",
    ),
    (
        "ssm",
        "start-session",
        "the AWS CLI runs it by starting the session-manager-plugin program for an interactive session; Portcullis starts no \
         programs. Use `aws ssm send-command` with `aws ssm get-command-invocation` to run commands on the instance",
    ),
];

#[cfg(test)]
mod tests {
    use super::MOST_USED;

    #[test]
    fn the_most_used_operations_exist() {
        let models = portcullis_model::models();
        for (cmd, ops) in MOST_USED {
            let service = models
                .command(cmd)
                .and_then(|c| c.service.clone())
                .unwrap_or_else(|| panic!("{cmd}"));
            let cli = models.service_cli(&service).unwrap();
            for op in *ops {
                assert!(cli.by_cli_name.contains_key(*op), "aws {cmd} {op}");
            }
        }
    }
}
