//! The reach of a command rule: the API operations its patterns name, and the IAM action each of
//! them stands for, so that a rule on an operation stops every call that needs that action, as an
//! IAM deny on it would.
//!
//! `aws s3api delete-object` names `s3 DeleteObject`, whose action is `s3:DeleteObject`; so the
//! rule also stops `aws s3api delete-objects` (it needs `s3:DeleteObject` for each key) and
//! `aws s3 rm`. `aws secretsmanager get-secret-value` stops `batch-get-secret-value`, which needs
//! `secretsmanager:GetSecretValue` as a dependent action.
//!
//! An operation that needs several actions (`s3api copy-object`: `s3:GetObject` and
//! `s3:PutObject`) stands for none of them: a rule on it matches it (and the commands that make
//! it) by name, and never reaches every read or every write of objects. Write an action rule
//! for that.
//!
//! Computed once per rule, on first use: a pattern with a literal service decodes that one
//! service's model; `aws * delete-*` walks every service once.

use portcullis_model::models;

use crate::pattern::CommandPattern;

/// One operation a command pattern names, and the action it stands for (if it stands for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// `aws s3api delete-object`.
    pub command: String,
    /// `s3` `DeleteObject`.
    pub service: String,
    pub operation: String,
    /// `s3:DeleteObject`; `None` when the operation needs several actions or none is known.
    pub action: Option<String>,
    /// The pattern that names it, as written.
    pub pattern: String,
}

/// Every API operation the patterns name, in CLI order.
pub fn operations(patterns: &[CommandPattern]) -> Vec<Reached> {
    let m = models();
    let mut out = Vec::new();
    for (command, cli) in m.commands() {
        let Some(service) = cli.service.as_deref() else {
            continue;
        };
        let named: Vec<&CommandPattern> = patterns
            .iter()
            .filter(|p| p.matches_service(command))
            .collect();
        if named.is_empty() {
            continue;
        }
        let Ok(names) = m.service_cli(service) else {
            continue;
        };
        for (cli_op, op) in &names.by_cli_name {
            if let Some(p) = named.iter().find(|p| p.matches(command, cli_op)) {
                out.push(Reached {
                    command: format!("aws {command} {cli_op}"),
                    service: service.to_string(),
                    operation: op.clone(),
                    action: portcullis_classify::own_action(service, op),
                    pattern: p.as_str().to_string(),
                });
            }
        }
    }
    out
}
