//! `--region *`: one command run in every region enabled for the account (the awslabs server's
//! extension, kept for drop-in use). A fan-out counts as one command against the 20 of a call and
//! is bounded by its own limit ([`MAX_FANOUT`] regions: the enabled regions the policy's `regions`
//! allow-list admits); the expanded commands run a few at a time like any batch. The enabled regions are looked up once, through the pipeline (so the policy decides on
//! that call too): `account list-regions`, else `ec2 describe-regions`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pipeline::Pipeline;

/// How long a lookup of the enabled regions is reused.
const REUSE_FOR: Duration = Duration::from_secs(3600);

/// The enabled regions, once looked up.
#[derive(Default)]
pub struct RegionCache {
    known: Mutex<Option<(Instant, Vec<String>)>>,
}

/// Where `--region *` sits in a command: the byte range of the `*` (with its quotes, if any).
pub fn wildcard(command: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(at) = command[from..].find("--region") {
        let start = from + at;
        let after = start + "--region".len();
        from = after;
        if start > 0 && !command[..start].ends_with(char::is_whitespace) {
            continue;
        }
        let rest = &command[after..];
        let value_at = if let Some(r) = rest.strip_prefix('=') {
            after + 1 + (rest.len() - 1 - r.len())
        } else if rest.starts_with(char::is_whitespace) {
            after + (rest.len() - rest.trim_start().len())
        } else {
            continue;
        };
        let value = &command[value_at..];
        for token in ["'*'", "\"*\"", "*"] {
            if let Some(tail) = value.strip_prefix(token)
                && (tail.is_empty() || tail.starts_with(char::is_whitespace))
            {
                return Some(value_at..value_at + token.len());
            }
        }
    }
    None
}

/// The most regions one `--region *` runs in (38 are enabled on an account with every opt-in
/// region today).
pub const MAX_FANOUT: usize = 64;

/// `command` with its `--region *` (at `range`) replaced by `region`.
pub fn with_region(command: &str, range: &std::ops::Range<usize>, region: &str) -> String {
    format!(
        "{}{region}{}",
        &command[..range.start],
        &command[range.end..]
    )
}

/// The batch with every `--region *` replaced by one command per allowed, enabled region, each
/// with the region it runs in (`None` for commands without the wildcard). `Err` says why the
/// batch cannot run (regions unknown, none allowed, more than [`MAX_FANOUT`]).
pub async fn expand(
    pipeline: &Arc<Pipeline>,
    cache: &RegionCache,
    commands: Vec<String>,
) -> Result<Vec<(String, Option<String>)>, String> {
    if !commands.iter().any(|c| wildcard(c).is_some()) {
        return Ok(commands.into_iter().map(|c| (c, None)).collect());
    }
    let regions: Vec<String> = enabled(pipeline, cache)
        .await?
        .into_iter()
        .filter(|r| pipeline.policy().allows_region(r))
        .collect();
    if regions.is_empty() {
        return Err("`--region *` matches no region that is both enabled for the account and allowed by the policy's `regions` allow-list".into());
    }
    if regions.len() > MAX_FANOUT {
        return Err(format!(
            "`--region *` would run in {} regions, more than {MAX_FANOUT}: name the regions, or narrow the policy's `regions` allow-list",
            regions.len()
        ));
    }
    let mut out = Vec::new();
    for command in commands {
        match wildcard(&command) {
            Some(range) => {
                for r in &regions {
                    out.push((with_region(&command, &range, r), Some(r.clone())));
                }
            }
            None => out.push((command, None)),
        }
    }
    Ok(out)
}

async fn enabled(pipeline: &Arc<Pipeline>, cache: &RegionCache) -> Result<Vec<String>, String> {
    if let Some((at, regions)) = cache
        .known
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        && at.elapsed() < REUSE_FOR
    {
        return Ok(regions.clone());
    }
    let mut failures = Vec::new();
    for lookup in [
        "aws account list-regions --region-opt-status-contains ENABLED ENABLED_BY_DEFAULT",
        "aws ec2 describe-regions",
    ] {
        match regions_from(pipeline, lookup).await {
            Ok(mut regions) => {
                regions.sort();
                regions.dedup();
                *cache
                    .known
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((Instant::now(), regions.clone()));
                return Ok(regions);
            }
            Err(e) => failures.push(format!("`{lookup}`: {e}")),
        }
    }
    Err(format!(
        "cannot expand `--region *`: the enabled regions are unknown ({}); name the regions instead",
        failures.join("; ")
    ))
}

async fn regions_from(pipeline: &Arc<Pipeline>, command: &str) -> Result<Vec<String>, String> {
    let a = pipeline.assess(command).map_err(|r| r.message)?;
    if !a.decision.is_allow() {
        return Err(format!(
            "the policy does not allow it: {}",
            a.decision.reasons.join("; ")
        ));
    }
    // The response document itself: nothing rendered is parsed back.
    let doc: Value = pipeline.run_unattended(a).await?;
    let regions: Vec<String> = doc
        .get("Regions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.get("RegionName").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if regions.is_empty() {
        return Err("no regions in the answer".into());
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn finds_the_region_wildcard() {
        let at = |c: &str| wildcard(c).map(|r| c[r].to_string());
        assert_eq!(at("aws ec2 describe-vpcs --region *").as_deref(), Some("*"));
        assert_eq!(
            at("aws ec2 describe-vpcs --region '*' --output json").as_deref(),
            Some("'*'")
        );
        assert_eq!(
            at("aws ec2 describe-vpcs --region \"*\"").as_deref(),
            Some("\"*\"")
        );
        assert_eq!(at("aws ec2 describe-vpcs --region=*").as_deref(), Some("*"));
        assert_eq!(
            at("aws ec2 describe-vpcs --region   *  ").as_deref(),
            Some("*")
        );
        assert_eq!(at("aws ec2 describe-vpcs --region eu-west-1"), None);
        assert_eq!(at("aws ec2 describe-vpcs --region *x"), None);
        assert_eq!(at("aws ec2 describe-vpcs --regions *"), None);
        assert_eq!(
            at("aws ec2 describe-vpcs --filters Name=x,Values=--region *"),
            None
        );
        assert_eq!(at("aws ec2 describe-vpcs"), None);
    }
}
