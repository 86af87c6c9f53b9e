//! The execute and shape stages. Execute sends what was assessed — after checking once more that
//! it is what the decision or the person's approval covers — through the wire engine and returns
//! the raw response ([`Raw`]). Shape turns that into what the AWS CLI would print: secret values
//! masked (unless the call was decided as a secret read) and listed in [`Execution::masked`]
//! with why and how to get them, `--query` applied, formatted; errors as the AWS CLI words them,
//! the request's secret values scrubbed.

use portcullis_cli::OperationCall;
use portcullis_output::{OutputFormat, jmespath::Query};
use portcullis_wire::execute::{ExecError, Output};

use super::outcome::Masked;
use super::{Assessment, Execution, Parsed, Pipeline, Shapes};
use crate::redact;

/// How a plain call's response is to be shown: its `--output` and `--query`, checked before
/// anything is sent.
pub struct View {
    format: OutputFormat,
    query: Option<Query>,
}

/// What the execute stage returns, for the shape stage.
pub enum Raw {
    /// A plain call's response.
    Response { out: Output, view: View },
    /// A plain call that failed (at AWS or on the way), after `attempts` HTTP attempts.
    Failed { error: ExecError, attempts: u32 },
    /// A customization's result (`aws s3 cp`, a waiter, ...): it formats its own output.
    Custom(portcullis_wire::s3::S3Outcome),
    /// A skeleton, answered locally.
    Skeleton(String),
    /// Refused before anything was sent (a bad `--output` or `--query`, a digest mismatch).
    Refused(String, u8),
}

impl View {
    fn of(call: &OperationCall) -> Result<View, String> {
        let format = match call.globals.output.as_deref() {
            None => OutputFormat::Json,
            Some(f) => f.parse().map_err(|e| format!("--output: {e}"))?,
        };
        let query = call
            .globals
            .query
            .as_deref()
            .map(Query::compile)
            .transpose()
            .map_err(|e| format!("--query: {e}"))?;
        Ok(View { format, query })
    }
}

impl Pipeline {
    /// The execute stage. Only reached through the stages that enforce the decision and the
    /// approval ([`super::stages`]); `approved_digest` is checked here once more against the
    /// request about to run: a command that needed approval runs only with the digest approved.
    pub async fn execute(
        &self,
        engine: &portcullis_wire::execute::Engine,
        a: &Assessment,
        approved_digest: Option<&str>,
        progress: &dyn portcullis_wire::extra::Progress,
    ) -> Raw {
        if a.decision.is_deny() {
            return Raw::Refused(
                format!(
                    "denied by policy, not executed: {}",
                    a.decision.reasons.join("; ")
                ),
                252,
            );
        }
        if !a.decision.is_allow() {
            let digest_now = match &a.parsed {
                Parsed::Call(c) => c.digest(),
                Parsed::S3(c) => c.digest(),
                Parsed::Extra(c) => c.digest(),
                Parsed::Skeleton(_) => String::new(),
            };
            if approved_digest != Some(digest_now.as_str()) || digest_now != a.digest {
                return Raw::Refused("refused: the request to run is not the one that was approved (digest mismatch)".into(), 252);
            }
        }
        match &a.parsed {
            Parsed::Skeleton(s) => {
                Raw::Skeleton(serde_json::to_string_pretty(s).unwrap_or_default())
            }
            Parsed::S3(cmd) => {
                Raw::Custom(portcullis_wire::s3::run(engine, cmd, &*self.files).await)
            }
            Parsed::Extra(cmd) => {
                Raw::Custom(portcullis_wire::extra::run(engine, cmd, &*self.files, progress).await)
            }
            Parsed::Call(call) => {
                let view = match View::of(call) {
                    Ok(v) => v,
                    Err(e) => return Raw::Refused(e, 252),
                };
                // Text and yaml-stream output are rendered page by page, the query applied to each.
                let sent = engine
                    .execute_counted(call, &*self.files, view.format.is_page_wise())
                    .await;
                match sent.result {
                    Ok(out) => Raw::Response { out, view },
                    Err(error) => Raw::Failed {
                        error,
                        attempts: sent.attempts,
                    },
                }
            }
        }
    }

    /// The shape stage: the raw result as the AWS CLI shows it.
    /// `keep_response`: also keep the response document (after masking) in the execution.
    pub fn shape(&self, a: &Assessment, raw: Raw, keep_response: bool) -> Execution {
        let scrub = |m: &str| redact::scrub(m, &a.secrets);
        match raw {
            Raw::Skeleton(text) => Execution {
                ok: true,
                output: text,
                ..Execution::default()
            },
            Raw::Refused(message, code) => Execution::failed(scrub(&message), code),
            Raw::Custom(out) => custom(out, &a.display),
            Raw::Failed {
                error: ExecError::Service(e),
                attempts,
            } => {
                let message = scrub(&e.cli_message(operation(a)));
                Execution {
                    attempts,
                    request_id: e.request_id.clone(),
                    error_code: Some(e.code.clone()),
                    http_status: Some(e.status),
                    stderr: format!("\n{message}\n"),
                    ..Execution::failed(message, 254)
                }
            }
            Raw::Failed { error: e, attempts } => Execution {
                attempts,
                error_code: local_code(&e).map(str::to_string),
                ..Execution::failed(scrub(&e.to_string()), 255)
            },
            Raw::Response { mut out, view } => {
                // Secrets in the answer are shown only when the call was decided as a secret read
                // (the decision says whether; the model's shapes say what).
                let decided_secret = a.classification.flags.returns_secret
                    || a.classification.flags.returns_credentials;
                let mut masked = Vec::new();
                if self.mask_output
                    && !decided_secret
                    && let Some(Shapes {
                        model,
                        output: Some(output),
                        ..
                    }) = &a.shapes
                {
                    let hits = redact::mask_listed(model, output, &mut out.value);
                    for page in &mut out.page_values {
                        redact::mask(model, output, page);
                    }
                    if !hits.is_empty() {
                        let how = self.how_to_reveal(a);
                        masked = hits
                            .into_iter()
                            .map(|h| Masked {
                                path: h.path,
                                why: h.why.as_str().to_string(),
                                how: how.clone(),
                            })
                            .collect();
                    }
                }
                let request_id = out.request_ids.last().cloned();
                let attempts = out.attempts;
                let truncated = out.truncated.as_ref().map(ToString::to_string).or_else(|| {
                    // `--max-items` (or `max_results`) stopped the listing with a token that a
                    // `--query` projects away: say so, with the way to go on.
                    let token = out.value.get("NextToken").and_then(|t| t.as_str())?;
                    view.query.as_ref()?;
                    Some(format!(
                        "[portcullis] this listing stopped at the item limit (--max-items or max_results), and --query does not show its NextToken: run the command again with --starting-token {token} to continue"
                    ))
                });
                let response = keep_response.then(|| out.value.clone());
                match out.render(operation(a), view.query.as_ref(), view.format) {
                    Ok(text) => Execution {
                        ok: true,
                        output: text,
                        response,
                        truncated,
                        request_id,
                        attempts,
                        masked,
                        ..Execution::default()
                    },
                    Err(e) => Execution {
                        request_id,
                        attempts,
                        ..Execution::failed(scrub(&e.to_string()), 255)
                    },
                }
            }
        }
    }
}

impl Pipeline {
    /// How the agent can get the values masked in the response of `a` (a call the classification
    /// does not count as a secret read), worded from what the policy in force would decide:
    ///
    /// * The operation returns its secrets only when asked (`ssm get-parameter --with-decryption`,
    ///   `apigateway get-api-key --include-value`: the classification's `ParamTrue`): the same
    ///   request with that option is decided now — a secret read, which read-only and guarded
    ///   modes ask a person about, a policy may allow or deny — and the answer says which.
    /// * Otherwise no option makes it a secret read: an agent's results mask these whatever the
    ///   decision (consent does not unmask them); `portcullis exec` shows them to the person at
    ///   the terminal (its consent stage and the policy apply there too).
    fn how_to_reveal(&self, a: &Assessment) -> String {
        use portcullis_classify::flags::{self, When};
        use portcullis_policy::Outcome as Decided;
        let reveal = match &a.parsed {
            Parsed::Call(call) => match flags::returns_secret(&call.service, &call.operation) {
                Some(When::ParamTrue(param)) => Some(param),
                _ => None,
            },
            _ => None,
        };
        let Some(param) = reveal else {
            return "no option of this command makes it a secret read, so an agent's results mask it \
                    whatever the policy decides; a person can read it with `portcullis exec` at their terminal"
                .to_string();
        };
        let option = format!("--{}", kebab(param));
        let mut request = a.request.clone();
        request.returns_secret = true;
        let mut params = a.params.clone();
        if let serde_json::Value::Object(map) = &mut params {
            map.insert(param.to_string(), serde_json::Value::Bool(true));
        }
        (request.parameters, request.parameters_truncated) =
            portcullis_policy::flatten_parameters_bounded(&params);
        let decision = self.policy.decide_enforced(&request);
        match decision.outcome {
            Decided::Allow => format!(
                "run the command again with {option}; the policy allows that secret read without asking"
            ),
            Decided::Consent => format!(
                "run the command again with {option}; that is a secret read, so a person is asked for consent before it runs"
            ),
            Decided::Deny => format!(
                "the policy denies the command with {option} (rule {}), so it cannot be read through Portcullis",
                decision.rule_ids.join(", ")
            ),
        }
    }
}

/// A parameter's AWS CLI option name: `WithDecryption` → `with-decryption` (botocore's rule).
fn kebab(param: &str) -> String {
    portcullis_model::models().kebab(param)
}

/// The kind of a failure that is not the service's answer, as the audit record, the metrics and
/// the circuit breaker read it: `timeout`, `connect`, `connection` (reset after connecting),
/// `deadline` (the call's), `egress` (an endpoint the policy does not admit).
fn local_code(e: &ExecError) -> Option<&'static str> {
    use portcullis_wire::transport::TransportError as T;
    match e {
        ExecError::Transport(
            T::ConnectTimeout { .. } | T::ReadTimeout { .. } | T::DeadlineExceeded { .. },
        ) => Some("timeout"),
        ExecError::Transport(T::Connect { .. }) => Some("connect"),
        ExecError::Transport(T::Io { .. }) => Some("connection"),
        ExecError::Deadline(_) => Some("deadline"),
        ExecError::EndpointRefused(_) => Some("egress"),
        _ => None,
    }
}

/// The API operation of a plain call (`ListBuckets`).
fn operation(a: &Assessment) -> &str {
    match &a.parsed {
        Parsed::Call(c) => &c.operation,
        _ => "",
    }
}

/// The result of a customization (`aws s3 ...`, a waiter, ...): its stdout on success, its
/// stderr as the error otherwise.
fn custom(out: portcullis_wire::s3::S3Outcome, display: &str) -> Execution {
    if out.exit_code == 0 {
        return Execution {
            ok: true,
            output: out.stdout,
            stderr: out.stderr,
            ..Execution::default()
        };
    }
    let mut e = out.stderr.trim().to_string();
    if e.is_empty() {
        e = format!("`{display}` failed with exit code {}", out.exit_code);
    }
    let code = out
        .error
        .as_ref()
        .and_then(|e| e.code())
        .map_or("command_failed", |c| c)
        .to_string();
    Execution {
        ok: false,
        output: out.stdout,
        error: Some(e),
        stderr: out.stderr,
        exit_code: out.exit_code,
        error_code: Some(code),
        ..Execution::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kebab_is_the_cli_option() {
        assert_eq!(super::kebab("WithDecryption"), "with-decryption");
        assert_eq!(super::kebab("includeValues"), "include-values");
    }
}
