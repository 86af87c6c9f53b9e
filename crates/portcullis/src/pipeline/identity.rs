//! Who the pinned credentials are: `aws sts get-caller-identity`, run once through the pipeline
//! right after start-up (in the background, so start-up does not wait on the network). The
//! start-up log names the account and ARN; the account feeds the policy's `accounts` allow-list.
//!
//! The lookup passes the decide stage like any call, decided by the policy's rule for it
//! ([`portcullis_policy::Policy::decide_identity_lookup`]): a denial by the `accounts` allow-list
//! alone is not applied to it, since that rule cannot be evaluated before the account is known
//! (GetCallerIdentity needs no permission and changes nothing).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::pipeline::Pipeline;

/// How long the lookup may take.
const LOOKUP_WITHIN: Duration = Duration::from_secs(15);

/// The caller identity, or why it is unknown.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub error: Option<String>,
}

/// Looks the identity up and records it in `pipeline.identity`, logging the outcome.
pub async fn resolve(pipeline: &Arc<Pipeline>) {
    if let Some(known) = pipeline.identity.get() {
        // Scoped credentials: the assumed session's ARN is known from AssumeRole itself.
        if let Some(arn) = &known.arn {
            tracing::info!("portcullis: credentials belong to {arn}");
        }
        return;
    }
    let identity = match tokio::time::timeout(LOOKUP_WITHIN, lookup(pipeline)).await {
        Ok(Ok((account, arn))) => {
            tracing::info!("portcullis: credentials belong to {arn} (account {account})");
            Identity {
                account: Some(account),
                arn: Some(arn),
                error: None,
            }
        }
        Ok(Err(e)) => unknown(e),
        Err(_) => unknown(format!(
            "no answer from STS within {} s",
            LOOKUP_WITHIN.as_secs()
        )),
    };
    let _ = pipeline.identity.set(identity);
}

fn unknown(why: String) -> Identity {
    tracing::warn!(
        "portcullis: cannot tell whose credentials these are ({why}); calls still run, but a policy `accounts` allow-list \
         will refuse them"
    );
    Identity {
        account: None,
        arn: None,
        error: Some(why),
    }
}

async fn lookup(pipeline: &Arc<Pipeline>) -> Result<(String, String), String> {
    let a = pipeline.assess_identity_lookup().map_err(|r| r.message)?;
    if !a.decision.is_allow() {
        return Err(format!(
            "the policy does not allow `aws sts get-caller-identity`: {}",
            a.decision.reasons.join("; ")
        ));
    }
    // The response document itself: nothing rendered is parsed back.
    let doc: Value = pipeline.run_unattended(a).await?;
    let field = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("GetCallerIdentity returned no {k}"))
    };
    Ok((field("Account")?, field("Arn")?))
}

/// Waits, at most `within`, for the lookup to finish; true when it has (whatever its outcome).
pub async fn wait(pipeline: &Pipeline, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while pipeline.identity.get().is_none() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}
