//! `portcullis iam evaluate` and `portcullis iam session-policy`: IAM as the control plane.
//!
//! * `evaluate` answers as AWS's policy evaluation logic would ([`portcullis_iam_eval`]) for one
//!   request against policy files: Allow, ExplicitDeny, ImplicitDeny, or Conditional naming the
//!   condition keys whose values are not given. Exit 0 Allow, 1 a deny, 3 Conditional, 2 bad input.
//! * `session-policy` prints the session policy generated from the Portcullis policy
//!   ([`portcullis::scope`]): the policy `serve` would run with (its environment), or `--policy`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use portcullis_iam_eval::{Absent, Context, Decision, Policy, PolicySet, Principal, Request};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum IamCmd {
    /// Evaluate one request against IAM policy files as AWS would: Allow, ExplicitDeny,
    /// ImplicitDeny, or Conditional on the condition keys not given. Exit 0 Allow, 1 a deny,
    /// 3 Conditional, 2 bad input.
    Evaluate {
        /// Identity-based policy files, or directories of them (every *.json inside, in name
        /// order); one policy document per file (repeatable, or comma-separated).
        #[arg(long, required = true, value_delimiter = ',')]
        policies: Vec<PathBuf>,
        /// The IAM action, e.g. s3:GetObject.
        #[arg(long)]
        action: String,
        /// The resource ARN, or `*` for actions without resource-level permissions.
        #[arg(long, default_value = "*")]
        resource: String,
        /// Who makes the request (its account decides same- or cross-account access).
        #[arg(
            long,
            default_value = "arn:aws:sts::111122223333:assumed-role/evaluated/session"
        )]
        principal: String,
        /// A condition key's value, `key=value` (repeat a key for a multivalued one).
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// Condition keys not given are absent from the request (the default: unknown, so an
        /// answer that depends on them is Conditional).
        #[arg(long)]
        absent_keys_missing: bool,
        /// The permissions boundary.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// A session policy (repeatable).
        #[arg(long = "session-policy")]
        session_policies: Vec<PathBuf>,
        /// A service control policy, all at one level (repeatable).
        #[arg(long = "scp")]
        scps: Vec<PathBuf>,
        /// A resource-based policy of the resource (repeatable).
        #[arg(long = "resource-policy")]
        resource_policies: Vec<PathBuf>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What an identity's IAM policies let it do (per service and access level; privilege
    /// escalation, exfiltration, exposure and destruction findings with the statements that grant
    /// them), and what is left of it through the Portcullis policy in force. Live from the pinned
    /// credentials, or from a saved `aws iam get-account-authorization-details` export.
    BlastRadius(BlastArgs),
    /// Print the IAM session policy generated from the Portcullis policy: what `serve` would run
    /// with (its environment: PORTCULLIS_MODE, READ_OPERATIONS_ONLY, PORTCULLIS_POLICY_FILE, the
    /// awslabs policy file), or the file given. Exit 2 when it does not fit AWS's limit.
    SessionPolicy {
        /// A policy file instead of the environment's.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The mode, over the policy's own (read-only, guarded, unrestricted).
        #[arg(long)]
        mode: Option<String>,
        /// Print {"Policy", "PolicyArns", "PlaintextChars", "Notes"} instead of the document.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: IamCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        IamCmd::Evaluate {
            policies,
            action,
            resource,
            principal,
            context,
            absent_keys_missing,
            boundary,
            session_policies,
            scps,
            resource_policies,
            json,
        } => {
            let set = PolicySet {
                identity: load_all(&policies)?,
                boundary: boundary.as_deref().map(load_one).transpose()?,
                session: if session_policies.is_empty() {
                    None
                } else {
                    Some(load_all(&session_policies)?)
                },
                scps: if scps.is_empty() {
                    None
                } else {
                    Some(vec![load_all(&scps)?])
                },
                resource: load_all(&resource_policies)?,
                ..PolicySet::default()
            };
            let principal =
                Principal::from_arn(&principal).map_err(|e| anyhow::anyhow!("--principal: {e}"))?;
            let ctx = parse_context(&context, absent_keys_missing)?;
            if !action.contains(':') {
                bail!("--action `{action}`: expected service:Action, e.g. s3:GetObject");
            }
            let e = set.evaluate(&Request::new(&principal, &action, &resource, &ctx));
            if json {
                let keys = match &e.decision {
                    Decision::Conditional { keys } => keys.clone(),
                    _ => Vec::new(),
                };
                let decision = match &e.decision {
                    Decision::Conditional { .. } => "Conditional".to_string(),
                    d => d.to_string(),
                };
                let out = json!({
                    "decision": decision,
                    "keys": keys,
                    "statements": e.statements.iter().map(|s| json!({
                        "policy": &*s.policy, "kind": s.kind.to_string(), "index": s.index,
                        "sid": s.sid.as_deref(),
                    })).collect::<Vec<_>>(),
                    "reason": e.reason,
                });
                crate::out::out!("{}", serde_json::to_string_pretty(&out)?)?;
            } else {
                crate::out::out!("{}", e.decision)?;
                if e.statements.is_empty() {
                    crate::out::out!("  {}", e.reason)?;
                }
                for s in &e.statements {
                    crate::out::out!("  {s}")?;
                }
            }
            Ok(ExitCode::from(match e.decision {
                Decision::Allow => 0,
                Decision::ExplicitDeny | Decision::ImplicitDeny => 1,
                Decision::Conditional { .. } => 3,
            }))
        }
        IamCmd::SessionPolicy { policy, mode, json } => session_policy(policy, mode, json),
        IamCmd::BlastRadius(args) => blast_radius(args),
    }
}

#[derive(clap::Args, Debug)]
pub struct BlastArgs {
    /// A saved export (`aws iam get-account-authorization-details > export.json`): no
    /// credentials needed.
    #[arg(long)]
    from_export: Option<PathBuf>,
    /// The user or role (name or ARN) to report on; with an export and none given, every
    /// user and role (text and JSON only). Live: the caller.
    #[arg(long)]
    principal: Option<String>,
    /// text (default), json or html (one self-contained page).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "html"])]
    format: String,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The Portcullis policy file to report through (default: the one `serve` would use).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The mode, over the policy's own (read-only, guarded, unrestricted).
    #[arg(long)]
    mode: Option<String>,
    /// Report on sessions scoped as `serve` would scope them with PORTCULLIS_ASSUME_ROLE_ARN:
    /// the identity's permissions intersected with the session policy generated from the policy.
    #[arg(long)]
    scoped: bool,
    /// Live: the AWS profile whose credentials are reported on (default: as `serve`).
    #[arg(long = "as-profile")]
    profile: Option<String>,
}

/// The Portcullis policy: `--policy` or the environment's, with `--mode` over it.
fn policy_in_force(
    file: Option<&Path>,
    mode: Option<&str>,
) -> anyhow::Result<(portcullis_policy::Policy, String)> {
    let (mut policy, source) = match file {
        Some(f) => (
            portcullis_policy::load_file(f).with_context(|| format!("{}", f.display()))?,
            f.display().to_string(),
        ),
        None => portcullis::config::Sources::load(
            &portcullis::config::ServeFlags::default(),
            &portcullis::config::process_env,
        )?
        .policy()?,
    };
    if let Some(m) = mode {
        let m: portcullis_policy::Mode = serde_json::from_value(json!(m)).map_err(|_| {
            anyhow::anyhow!("--mode `{m}`: expected read-only, guarded or unrestricted")
        })?;
        policy.set_mode(m);
    }
    Ok((policy, source))
}

fn blast_radius(args: BlastArgs) -> anyhow::Result<ExitCode> {
    let (policy, source) = policy_in_force(args.policy.as_deref(), args.mode.as_deref())?;
    let (export_text, principal, unread) = match &args.from_export {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("{}: cannot read the export", f.display()))?;
            (text, args.principal.clone(), Vec::new())
        }
        None => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let live = rt.block_on(async {
                let engine = portcullis_wire::execute::Engine::from_environment_with(
                    args.profile.clone(),
                    false,
                    |c| {
                        c.max_items = None;
                        c.max_pages = 10_000;
                    },
                )
                .await?;
                portcullis::blast::read_live(&engine).await
            })?;
            (
                live.export.to_string(),
                Some(args.principal.clone().unwrap_or(live.principal)),
                live.unread,
            )
        }
    };
    let export = portcullis_blast::Export::parse(&export_text)
        .map_err(|e| anyhow::anyhow!("the export does not read: {e}"))?;
    let session = if args.scoped {
        Some(vec![portcullis::scope::session_policy_for_report(&policy)?])
    } else {
        None
    };
    let reports = match (&principal, &session) {
        (None, None) => portcullis_blast::Report::for_all(&export),
        (Some(who), _) => {
            let id = export
                .find(who)
                .ok_or_else(|| anyhow::anyhow!("no user or role `{who}` in the export"))?;
            vec![
                portcullis_blast::Report::for_session(&export, id, session.clone())
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ]
        }
        (None, Some(_)) => export
            .identities()
            .iter()
            .map(|id| portcullis_blast::Report::for_session(&export, id, session.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let gate = portcullis::blast::gate(&policy);
    let through: Vec<portcullis_blast::ThroughReport> =
        reports.iter().map(|r| r.through(&gate)).collect();
    let text = match args.format.as_str() {
        "json" => serde_json::to_string_pretty(&json!({
            "policy": source,
            "mode": policy.mode().as_str(),
            "unread": unread,
            "reports": through,
        }))?,
        "html" => {
            let [one] = through.as_slice() else {
                bail!(
                    "--format html reports one identity: pass --principal (the export holds {})",
                    through.len()
                );
            };
            portcullis_blast::render_html(
                one,
                &format!(
                    "Blast radius of {} through Portcullis ({})",
                    one.principal.name,
                    policy.mode()
                ),
            )
        }
        _ => {
            let mut out = format!("Portcullis policy: {source} (mode {})\n", policy.mode());
            for u in &unread {
                out.push_str(&format!("could not read: {u}\n"));
            }
            for t in &through {
                out.push_str(&format!("\n{t}"));
            }
            out
        }
    };
    match &args.out {
        Some(f) => {
            std::fs::write(f, text).with_context(|| format!("{}: cannot write", f.display()))?
        }
        None => crate::out::out!("{text}")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn session_policy(
    file: Option<PathBuf>,
    mode: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (policy, _) = policy_in_force(file.as_deref(), mode.as_deref())?;
    let s = match portcullis::scope::session_policy(&policy) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if json {
        let out = json!({
            "Policy": s.document,
            "PolicyArns": s.managed,
            "PlaintextChars": s.plaintext_chars,
            "Notes": s.notes,
        });
        crate::out::out!("{}", serde_json::to_string_pretty(&out)?)?;
    } else {
        crate::out::out!("{}", serde_json::to_string_pretty(&s.document)?)?;
        eprintln!(
            "# {} of {} plaintext characters{}",
            s.plaintext_chars,
            portcullis::scope::PLAINTEXT_LIMIT,
            if s.managed.is_empty() {
                String::new()
            } else {
                format!("; managed session policies: {}", s.managed.join(", "))
            }
        );
        for n in &s.notes {
            eprintln!("# note: {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `key=value` pairs; a key given twice is multivalued.
fn parse_context(pairs: &[String], missing: bool) -> anyhow::Result<Context> {
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--context `{p}`: expected key=value, e.g. aws:SourceIp=203.0.113.9");
        };
        if k.trim().is_empty() {
            bail!("--context `{p}`: the key is empty");
        }
        values.entry(k.trim()).or_default().push(v);
    }
    let mut ctx = Context::with_absent(if missing {
        Absent::Missing
    } else {
        Absent::Unknown
    });
    for (k, v) in values {
        ctx.set_all(k, v);
    }
    Ok(ctx)
}

/// Every policy of the paths: files as given, directories' *.json in name order.
fn load_all(paths: &[PathBuf]) -> anyhow::Result<Vec<Policy>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list the directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{}: no *.json policy files in this directory", p.display());
            }
            for f in files {
                out.push(load_one(&f)?);
            }
        } else {
            out.push(load_one(p)?);
        }
    }
    Ok(out)
}

/// One policy document; its name is the file name without `.json`.
fn load_one(path: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the policy file", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Policy::parse(&name, &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
