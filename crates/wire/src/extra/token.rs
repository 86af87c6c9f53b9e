//! The token commands (`portcullis_cli::token`), natively, printing what the AWS CLI prints:
//!
//! * `rds generate-db-auth-token`: botocore's `generate_db_auth_token` — `GET
//!   https://H:P/?Action=connect&DBUser=U` query-signed (SigV4, signing name `rds-db`, the region
//!   of `--region` or the configuration, 900 s) with the pinned credentials, printed without
//!   `https://`. Nothing is sent. The `Host` signed is botocore's: lowercased, without `:443`.
//! * `ecr get-login-password`: `ecr GetAuthorizationToken` through [`Engine::execute`]; the
//!   password of the first `authorizationToken` (base64 `AWS:<password>`).
//! * `eks get-token`: the `sts GetCallerIdentity` request the engine would send (endpoint rules;
//!   `aws-global` — `sts.amazonaws.com` signed for us-east-1 — when no region is configured, as
//!   botocore's STS client does) turned into a `GET` with its query-protocol body as the query,
//!   query-signed for 60 s with `x-k8s-aws-id: <cluster>` signed too; the token is `k8s-aws-v1.`
//!   and the URL in unpadded base64url. With `--role-arn`, `sts AssumeRole` (session name
//!   `EKSGetTokenAuth`) is called first and its credentials sign the URL. The ExecCredential is
//!   printed through the CLI's formatters (`--output`, `--query`), then a blank line, as the CLI
//!   prints it; its `apiVersion` follows `KUBERNETES_EXEC_INFO` as the CLI reads it (with the
//!   CLI's messages on stderr), and `expirationTimestamp` is 14 minutes after the signing time.
//!   As in the CLI, the STS calls of `eks get-token` do not take `--endpoint-url` (the CLI makes
//!   its STS client from the region alone); configured endpoints (`AWS_ENDPOINT_URL[_STS]`) apply.
//!
//! Errors are worded as the CLI words them, exit code 255.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use indexmap::IndexMap;
use portcullis_cli::token::TokenCommand;
use portcullis_cli::{GlobalOptions, OperationCall, PathPolicy, Value};
use serde_json::{Value as Json, json};

use crate::credentials::Credentials;
use crate::execute::Engine;
use crate::output::jmespath::Query;
use crate::output::{OutputFormat, RenderOptions, render_with};
use crate::protocol::serialize::percent_encode;
use crate::protocol::timestamp::{Timestamp, TimestampFormat};
use crate::s3::presign::{QuerySigning, query_signed_url};
use crate::s3::{S3Error, S3Outcome};
use crate::transport::PreparedBody;

/// What the AWS CLI's `eks get-token` signs for (`URL_TIMEOUT`), and how long after signing it
/// says the token expires (`TOKEN_EXPIRATION_MINS`).
const EKS_URL_SECONDS: u64 = 60;
const EKS_EXPIRATION: Duration = Duration::from_secs(14 * 60);
/// botocore's `generate_db_auth_token` expiry.
const RDS_SECONDS: u64 = 900;
const BETA_API: &str = "client.authentication.k8s.io/v1beta1";

/// Runs a token command. Never panics on what the network returns.
pub async fn token(
    engine: &Engine,
    t: &TokenCommand,
    globals: &GlobalOptions,
    files: &dyn PathPolicy,
) -> S3Outcome {
    let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
    run_at(
        engine,
        t,
        globals,
        files,
        SystemTime::now(),
        exec_info.as_deref(),
    )
    .await
}

/// [`token`] at `now`, with `exec_info` as `KUBERNETES_EXEC_INFO`.
pub(crate) async fn run_at(
    engine: &Engine,
    t: &TokenCommand,
    globals: &GlobalOptions,
    files: &dyn PathPolicy,
    now: SystemTime,
    exec_info: Option<&str>,
) -> S3Outcome {
    match t {
        TokenCommand::RdsDbAuthToken {
            hostname,
            port,
            username,
        } => rds(engine, globals, hostname, *port, username, now).await,
        TokenCommand::EcrLoginPassword => ecr(engine, globals, files).await,
        TokenCommand::EksToken {
            cluster_name,
            cluster_id,
            role_arn,
        } => {
            let id = cluster_id
                .as_deref()
                .or(cluster_name.as_deref())
                .unwrap_or_default();
            eks(
                engine,
                globals,
                files,
                id,
                role_arn.as_deref(),
                now,
                exec_info,
            )
            .await
        }
    }
}

/// The AWS CLI's report of an exception: a blank line, the message; exit code 255.
fn failed(message: String, error: Option<S3Error>) -> S3Outcome {
    S3Outcome {
        stdout: String::new(),
        stderr: format!("\n{message}\n"),
        exit_code: 255,
        error,
    }
}

fn call_failed(operation: &'static str, error: crate::execute::ExecError) -> S3Outcome {
    let e = S3Error::Call { operation, error };
    failed(e.to_string(), Some(e))
}

/// One API call of a token command, with the command's global options (one page; its output
/// is not the command's, so `--output` and `--query` are not its).
fn api_call(
    command: &str,
    cli_operation: &str,
    service: &str,
    operation: &str,
    params: IndexMap<String, Value>,
    globals: &GlobalOptions,
) -> OperationCall {
    OperationCall::internal(command, cli_operation, service, operation, params, globals)
}

async fn rds(
    engine: &Engine,
    globals: &GlobalOptions,
    hostname: &str,
    port: u16,
    username: &str,
    now: SystemTime,
) -> S3Outcome {
    let Some(region) = globals
        .region
        .clone()
        .or_else(|| engine.default_region().map(str::to_string))
    else {
        // botocore's NoRegionError, as the CLI shows it (no blank line first).
        return S3Outcome {
            stderr: "You must specify a region. You can also configure your region by running \"aws configure\".\n".into(),
            exit_code: 255,
            ..S3Outcome::default()
        };
    };
    if globals.no_sign_request {
        // An unsigned client: botocore leaves the URL as it is.
        return S3Outcome {
            stdout: format!("{hostname}:{port}/\n"),
            ..S3Outcome::default()
        };
    }
    let creds = match engine.signing_credentials().await {
        Ok(c) => c,
        Err(e) => return failed(e.to_string(), None),
    };
    match rds_token(hostname, port, username, &region, creds, now) {
        Ok(token) => S3Outcome {
            stdout: format!("{token}\n"),
            ..S3Outcome::default()
        },
        Err(e) => failed(e, None),
    }
}

/// botocore's `generate_db_auth_token`, without the `https://`.
pub(crate) fn rds_token(
    hostname: &str,
    port: u16,
    username: &str,
    region: &str,
    creds: Credentials,
    now: SystemTime,
) -> Result<String, String> {
    let url = format!(
        "https://{hostname}:{port}/?Action=connect&DBUser={}",
        percent_encode(username)
    );
    let signing = QuerySigning {
        name: "rds-db",
        region,
        expires_in: RDS_SECONDS,
        time: now,
        s3: false,
    };
    let signed = query_signed_url(&url, &[], creds, &signing)?;
    Ok(signed
        .strip_prefix("https://")
        .unwrap_or(&signed)
        .to_string())
}

async fn ecr(engine: &Engine, globals: &GlobalOptions, files: &dyn PathPolicy) -> S3Outcome {
    let call = api_call(
        "ecr",
        "get-authorization-token",
        "ecr",
        "GetAuthorizationToken",
        IndexMap::new(),
        globals,
    );
    let out = match engine.execute(&call, files).await {
        Ok(out) => out,
        Err(e) => return call_failed("GetAuthorizationToken", e),
    };
    match login_password(&out.value) {
        Ok(password) => S3Outcome {
            stdout: format!("{password}\n"),
            ..S3Outcome::default()
        },
        Err(e) => failed(e, None),
    }
}

/// The password of the first authorization token, as `ECRGetLoginPassword` takes it (with
/// Python's errors when the answer is not what it expects).
fn login_password(value: &Json) -> Result<String, String> {
    let data = value
        .get("authorizationData")
        .ok_or("'authorizationData'")?;
    let first = data.get(0).ok_or("list index out of range")?;
    let token = first
        .get("authorizationToken")
        .and_then(Json::as_str)
        .ok_or("'authorizationToken'")?;
    let compact: String = token.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "Incorrect padding".to_string())?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "'utf-8' codec can't decode the authorization token".to_string())?;
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [_, password] => Ok(password.to_string()),
        [_] => Err("not enough values to unpack (expected 2, got 1)".into()),
        _ => Err("too many values to unpack (expected 2)".into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn eks(
    engine: &Engine,
    globals: &GlobalOptions,
    files: &dyn PathPolicy,
    cluster: &str,
    role_arn: Option<&str>,
    now: SystemTime,
    exec_info: Option<&str>,
) -> S3Outcome {
    // The CLI's STS clients: the region only (no --endpoint-url), `aws-global` when none is set.
    let mut sts_globals = globals.clone();
    sts_globals.endpoint_url = None;
    if sts_globals.region.is_none() && engine.default_region().is_none() {
        sts_globals.region = Some("aws-global".into());
    }
    let assumed = match role_arn {
        None => None,
        Some(arn) => {
            let params: IndexMap<String, Value> = [
                ("RoleArn".to_string(), Value::Str(arn.to_string())),
                (
                    "RoleSessionName".to_string(),
                    Value::Str("EKSGetTokenAuth".into()),
                ),
            ]
            .into_iter()
            .collect();
            let call = api_call(
                "sts",
                "assume-role",
                "sts",
                "AssumeRole",
                params,
                &sts_globals,
            );
            match engine.execute(&call, files).await {
                Ok(out) => match role_credentials(&out.value) {
                    Ok(c) => Some(c),
                    Err(e) => return failed(e, None),
                },
                Err(e) => return call_failed("AssumeRole", e),
            }
        }
    };
    let call = api_call(
        "sts",
        "get-caller-identity",
        "sts",
        "GetCallerIdentity",
        IndexMap::new(),
        &sts_globals,
    );
    let (req, name, region, opts, pinned) = match engine.prepare_unsigned(&call).await {
        Ok(p) => p,
        Err(e) => return failed(e.to_string(), None),
    };
    // botocore moves the query-protocol body into the query string of the GET.
    let mut url = req.url.clone();
    if let PreparedBody::Bytes(body) = &req.body
        && !body.is_empty()
    {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&String::from_utf8_lossy(body));
    }
    let url = match (opts.sign, assumed.or(pinned)) {
        // `--no-sign-request`: the endpoint alone, as botocore leaves an unsigned request.
        (false, _) => req.url.clone(),
        (true, Some(creds)) => {
            let signing = QuerySigning { name: &name, region: &region, expires_in: EKS_URL_SECONDS, time: now, s3: false };
            match query_signed_url(&url, &[("x-k8s-aws-id", cluster)], creds, &signing) {
                Ok(u) => u,
                Err(e) => return failed(format!("presigning failed: {e}"), None),
            }
        }
        (true, None) => return failed("Unable to locate credentials. You can configure credentials by running \"aws configure\".".into(), None),
    };
    let (api_version, note) = match api_version(exec_info) {
        Ok(v) => v,
        Err(e) => return failed(e, None),
    };
    let doc = exec_credential(&url, &api_version, now);
    let mut out = match render(&doc, globals) {
        Ok(text) => S3Outcome {
            stdout: text,
            ..S3Outcome::default()
        },
        Err(e) => failed(e, None),
    };
    if let Some(note) = note {
        out.stderr = format!("{note}\n{}", out.stderr);
    }
    out
}

/// The credentials of an `AssumeRole` answer.
fn role_credentials(value: &Json) -> Result<Credentials, String> {
    let creds = value.get("Credentials").ok_or("'Credentials'")?;
    let field = |k: &str| {
        creds
            .get(k)
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("'{k}'"))
    };
    Ok(Credentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?),
        None,
        "AssumeRole",
    ))
}

/// The token of a pre-signed URL: `k8s-aws-v1.` and the URL in base64url without padding.
pub(crate) fn eks_token(url: &str) -> String {
    format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
    )
}

/// The ExecCredential the CLI prints, in its key order.
pub(crate) fn exec_credential(url: &str, api_version: &str, now: SystemTime) -> Json {
    let expires = now + EKS_EXPIRATION;
    let secs = expires
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = Timestamp {
        secs: i64::try_from(secs).unwrap_or(i64::MAX),
        micros: 0,
    }
    .format(TimestampFormat::Iso8601);
    json!({
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": { "expirationTimestamp": stamp, "token": eks_token(url) },
    })
}

/// `doc` through the CLI's formatter for `--output` (json by default) and `--query`, then the
/// newline `get-token` adds.
fn render(doc: &Json, globals: &GlobalOptions) -> Result<String, String> {
    let format = match globals.output.as_deref() {
        None => OutputFormat::Json,
        Some(f) => f.parse().map_err(|e| format!("--output: {e}"))?,
    };
    let value = match globals.query.as_deref() {
        None => doc.clone(),
        Some(q) => Query::compile(q)
            .and_then(|q| q.search(doc))
            .map_err(|e| format!("--query: {e}"))?,
    };
    let opts = RenderOptions {
        title: Some("get-token"),
        ..RenderOptions::default()
    };
    let text = render_with(&value, format, &opts).map_err(|e| e.to_string())?;
    Ok(format!("{text}\n"))
}

/// `discover_api_version`: the `apiVersion` of `KUBERNETES_EXEC_INFO`, with the CLI's note for
/// stderr when it falls back or the version is deprecated; `Err` with Python's message where the
/// CLI fails (the variable is JSON but not an object).
pub(crate) fn api_version(exec_info: Option<&str>) -> Result<(String, Option<String>), String> {
    const SUPPORTED: [&str; 2] = ["client.authentication.k8s.io/v1", BETA_API];
    const DEPRECATED: [&str; 1] = ["client.authentication.k8s.io/v1alpha1"];
    let raw = match exec_info {
        None | Some("") => return Ok((BETA_API.into(), None)),
        Some(r) => r,
    };
    let info: Json = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(_) => {
            return Ok((
                BETA_API.into(),
                Some(format!(
                    "Error parsing KUBERNETES_EXEC_INFO, defaulting to {BETA_API}. This is likely a bug in your Kubernetes client. Please update your Kubernetes client."
                )),
            ));
        }
    };
    let Json::Object(map) = &info else {
        let kind = match info {
            Json::Array(_) => "list",
            Json::String(_) => "str",
            Json::Bool(_) => "bool",
            Json::Null => "NoneType",
            Json::Number(n) if n.is_f64() => "float",
            _ => "int",
        };
        return Err(format!("'{kind}' object has no attribute 'get'"));
    };
    match map.get("apiVersion").and_then(Json::as_str) {
        Some(v) if SUPPORTED.contains(&v) => Ok((v.to_string(), None)),
        Some(v) if DEPRECATED.contains(&v) => Ok((
            v.to_string(),
            Some(format!(
                "Kubeconfig user entry is using deprecated API version {v}. Run 'aws eks update-kubeconfig' to update."
            )),
        )),
        _ => Ok((
            BETA_API.into(),
            Some(format!(
                "Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to {BETA_API}. This is likely due to an outdated AWS CLI. Please update your AWS CLI."
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    //! The expected strings were computed once with the pinned awscli 1.46.3 / botocore in the
    //! project venv, in-process with the clock frozen at 2024-05-06T07:08:09Z:
    //!
    //! ```python
    //! FROZEN = datetime.datetime(2024, 5, 6, 7, 8, 9)
    //! botocore.auth.get_current_datetime = lambda *a, **k: FROZEN
    //! awscli.customizations.eks.get_token.get_current_datetime = lambda *a, **k: FROZEN
    //! awscli.clidriver.create_clidriver().main([...])   # stdout captured
    //! ```
    //!
    //! with AWS_ACCESS_KEY_ID=AKIDEXAMPLE, AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
    //! AWS_SESSION_TOKEN where a case says so, and no region configured but `--region`.

    use super::*;
    use crate::credentials::{ChainSettings, CredentialsProvider};
    use crate::execute::EngineConfig;
    use portcullis_cli::{Command, DenyAll, Extra, Parser};

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn frozen() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_979_289)
    }

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new(AKID, SECRET, token.map(str::to_string), None, "test")
    }

    fn engine(token: Option<&str>) -> Engine {
        let provider = CredentialsProvider::from_provider(
            creds(token),
            "test",
            &ChainSettings::from_profile(None),
        );
        Engine::new(EngineConfig::default(), Some(provider)).unwrap()
    }

    fn parsed(command: &str) -> (TokenCommand, GlobalOptions) {
        match Parser::new(&DenyAll).parse(command) {
            Ok(Command::Extra(x)) => match x.kind {
                Extra::Token(t) => (t, x.globals),
                other => panic!("{other:?}"),
            },
            other => panic!("{command}: {other:?}"),
        }
    }

    fn run(command: &str, token: Option<&str>, exec_info: Option<&str>) -> S3Outcome {
        let (t, globals) = parsed(command);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run_at(
            &engine(token),
            &t,
            &globals,
            &DenyAll,
            frozen(),
            exec_info,
        ))
    }

    #[test]
    fn the_rds_token_is_botocores() {
        let out = run(
            "aws rds generate-db-auth-token --hostname db.example.com --port 5432 --username jane --region us-west-2",
            None,
            None,
        );
        assert_eq!((out.exit_code, out.stderr.as_str()), (0, ""));
        assert_eq!(
            out.stdout,
            "db.example.com:5432/?Action=connect&DBUser=jane&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240506%2Fus-west-2%2Frds-db%2Faws4_request&X-Amz-Date=20240506T070809Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=a595d1e4535dc64b3fb13372e2fbc06b8dd691c95539afc6a99185a2c5c75c12\n"
        );
        // A session token, a username to encode, an upper-case host on the default port (the
        // signed Host is `db.example.com`; the printed URL keeps what was given).
        let out = run(
            "aws rds generate-db-auth-token --hostname DB.Example.COM --port 443 --username 'jane doe/+' --region eu-west-1",
            Some("tok/+="),
            None,
        );
        assert_eq!(
            out.stdout,
            "DB.Example.COM:443/?Action=connect&DBUser=jane%20doe%2F%2B&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240506%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20240506T070809Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2F%2B%3D&X-Amz-Signature=306121f1d76c757e153bed52d8ce6b3c1b3933b710dc7dfd5ac8c3e90187d0b6\n"
        );
    }

    #[test]
    fn the_rds_token_needs_a_region_and_is_bare_unsigned() {
        let out = run(
            "aws rds generate-db-auth-token --hostname h --port 1 --username u",
            None,
            None,
        );
        assert_eq!(out.exit_code, 255);
        assert_eq!(
            out.stderr,
            "You must specify a region. You can also configure your region by running \"aws configure\".\n"
        );
        let out = run(
            "aws rds generate-db-auth-token --hostname h --port 1 --username u --region us-east-1 --no-sign-request",
            None,
            None,
        );
        assert_eq!(out.stdout, "h:1/\n");
    }

    #[test]
    fn the_eks_token_is_botocores() {
        let out = run(
            "aws eks get-token --cluster-name my-cluster --region us-east-1",
            None,
            None,
        );
        assert_eq!((out.exit_code, out.stderr.as_str()), (0, ""));
        assert_eq!(
            out.stdout,
            "{\n    \"kind\": \"ExecCredential\",\n    \"apiVersion\": \"client.authentication.k8s.io/v1beta1\",\n    \"spec\": {},\n    \"status\": {\n        \"expirationTimestamp\": \"2024-05-06T07:22:09Z\",\n        \"token\": \"k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwNTA2JTJGdXMtZWFzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDA1MDZUMDcwODA5WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ZDMxZmE0ZDRlMTdjOTA1NWEwMjNkYjk0MTkwNzRmMDU5NDc4NWViOWVlZTk2YWJiZTE0M2Q4MTk2N2I5ODkwYQ\"\n    }\n}\n\n"
        );
        // A session token, --cluster-id, KUBERNETES_EXEC_INFO asking for v1.
        let out = run(
            "aws eks get-token --cluster-id abc-123 --region eu-west-1",
            Some("tok/+="),
            Some(r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{}}"#),
        );
        assert_eq!(
            out.stdout,
            "{\n    \"kind\": \"ExecCredential\",\n    \"apiVersion\": \"client.authentication.k8s.io/v1\",\n    \"spec\": {},\n    \"status\": {\n        \"expirationTimestamp\": \"2024-05-06T07:22:09Z\",\n        \"token\": \"k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwNTA2JTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDA1MDZUMDcwODA5WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj10b2slMkYlMkIlM0QmWC1BbXotU2lnbmF0dXJlPWQyODM0MjFlOWQ5NTMyNDY4ZDc0NTY4ZjI0MjZhOTU0MDc5ZTIwODVhNTVkNDg0ZWNmNGIwMDgzMTZmNjg0YTg\"\n    }\n}\n\n"
        );
        // No region anywhere: the global endpoint, signed for us-east-1 (base64url's `_` too).
        let out = run("aws eks get-token --cluster-name my-cluster", None, None);
        assert!(out.stdout.contains("\"k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNSZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFLSURFWEFNUExFJTJGMjAyNDA1MDYlMkZ1cy1lYXN0LTElMkZzdHMlMkZhd3M0X3JlcXVlc3QmWC1BbXotRGF0ZT0yMDI0MDUwNlQwNzA4MDlaJlgtQW16LUV4cGlyZXM9NjAmWC1BbXotU2lnbmVkSGVhZGVycz1ob3N0JTNCeC1rOHMtYXdzLWlkJlgtQW16LVNpZ25hdHVyZT0zNTJiNTE2OGE2ZTEwNGM3NTllNmU2MjVmN2YxNjc2ZjVmMzE4NjM0NmM1MTU3NzcxNGY4MWVhMTRjNTY4NTk0\""), "{}", out.stdout);
        // --output text, through the CLI's text formatter, then the blank line.
        let out = run(
            "aws eks get-token --cluster-name my-cluster --region eu-west-1 --output text",
            None,
            None,
        );
        assert_eq!(
            out.stdout,
            "client.authentication.k8s.io/v1beta1\tExecCredential\nSTATUS\t2024-05-06T07:22:09Z\tk8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwNTA2JTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDA1MDZUMDcwODA5WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9N2VmZTQyOTA1MmZjOWJjMzNlZTY2ZWRhMzZmYTU1ZWY4YjVmYWMyOWRkZGRlMWJiM2VkNTZkMTcwNTA0MjRkMA\n\n"
        );
        let out = run(
            "aws eks get-token --cluster-name my-cluster --region eu-west-1 --query status.expirationTimestamp",
            None,
            None,
        );
        assert_eq!(out.stdout, "\"2024-05-06T07:22:09Z\"\n\n");
    }

    #[test]
    fn kubernetes_exec_info_is_read_as_the_cli_reads_it() {
        let beta = BETA_API.to_string();
        assert_eq!(api_version(None), Ok((beta.clone(), None)));
        assert_eq!(api_version(Some("")), Ok((beta.clone(), None)));
        let v1 = r#"{"apiVersion": "client.authentication.k8s.io/v1"}"#;
        assert_eq!(
            api_version(Some(v1)),
            Ok(("client.authentication.k8s.io/v1".to_string(), None))
        );
        let (v, note) = api_version(Some(
            r#"{"apiVersion": "client.authentication.k8s.io/v1alpha1"}"#,
        ))
        .unwrap();
        assert_eq!(v, "client.authentication.k8s.io/v1alpha1");
        assert_eq!(
            note.unwrap(),
            "Kubeconfig user entry is using deprecated API version client.authentication.k8s.io/v1alpha1. Run 'aws eks update-kubeconfig' to update."
        );
        let (v, note) = api_version(Some("{")).unwrap();
        assert_eq!(v, beta);
        assert!(note.unwrap().starts_with("Error parsing KUBERNETES_EXEC_INFO, defaulting to client.authentication.k8s.io/v1beta1."));
        let (v, note) = api_version(Some(r#"{"apiVersion": "x"}"#)).unwrap();
        assert_eq!(v, beta);
        assert!(
            note.unwrap()
                .starts_with("Unrecognized API version in KUBERNETES_EXEC_INFO")
        );
        assert_eq!(
            api_version(Some("[1]")),
            Err("'list' object has no attribute 'get'".to_string())
        );
        // The note goes to stderr, the credential to stdout.
        let out = run(
            "aws eks get-token --cluster-name c --region us-east-1 --query apiVersion",
            None,
            Some(r#"{"apiVersion":"x"}"#),
        );
        assert_eq!(out.stdout, "\"client.authentication.k8s.io/v1beta1\"\n\n");
        assert!(
            out.stderr.starts_with("Unrecognized API version"),
            "{}",
            out.stderr
        );
        let out = run(
            "aws eks get-token --cluster-name c --region us-east-1",
            None,
            Some("7"),
        );
        assert_eq!(
            (out.exit_code, out.stderr.as_str()),
            (255, "\n'int' object has no attribute 'get'\n")
        );
    }

    #[test]
    fn the_login_password_is_the_tokens_second_half() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let answer = |t: &str| json!({ "authorizationData": [{ "authorizationToken": t, "proxyEndpoint": "https://x" }] });
        assert_eq!(
            login_password(&answer(&b64("AWS:secret-pw"))),
            Ok("secret-pw".to_string())
        );
        assert_eq!(
            login_password(&answer(&b64("AWS"))),
            Err("not enough values to unpack (expected 2, got 1)".to_string())
        );
        assert_eq!(
            login_password(&answer(&b64("A:B:C"))),
            Err("too many values to unpack (expected 2)".to_string())
        );
        assert_eq!(
            login_password(&json!({ "authorizationData": [] })),
            Err("list index out of range".to_string())
        );
        assert!(login_password(&json!({})).is_err());
    }
}
