//! `--region *`: one command run in every region enabled for the account (the awslabs server's
//! extension, kept for drop-in use). The expansion is bounded like any batch — every region counts
//! against the 20 commands of a call — and reaches only regions the policy's `regions` allow-list
//! admits. The enabled regions are looked up once, through the pipeline (so the policy decides on
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

/// The batch with every `--region *` replaced by one command per allowed, enabled region.
/// `Err` says why the batch cannot run (too many commands after expansion, regions unknown).
pub async fn expand(
    pipeline: &Arc<Pipeline>,
    cache: &RegionCache,
    commands: Vec<String>,
    max: usize,
) -> Result<Vec<String>, String> {
    if !commands.iter().any(|c| wildcard(c).is_some()) {
        return Ok(commands);
    }
    let regions: Vec<String> = enabled(pipeline, cache)
        .await?
        .into_iter()
        .filter(|r| pipeline.policy().allows_region(r))
        .collect();
    if regions.is_empty() {
        return Err("`--region *` matches no region that is both enabled for the account and allowed by the policy's `regions` allow-list".into());
    }
    let mut out = Vec::new();
    for command in commands {
        match wildcard(&command) {
            Some(range) => {
                for r in &regions {
                    out.push(format!(
                        "{}{r}{}",
                        &command[..range.start],
                        &command[range.end..]
                    ));
                }
            }
            None => out.push(command),
        }
    }
    if out.len() > max {
        return Err(format!(
            "with `--region *` expanded to {} regions ({}), this call holds {} commands; at most {max} per call: name the regions, \
             or split the call",
            regions.len(),
            regions.join(", "),
            out.len()
        ));
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
