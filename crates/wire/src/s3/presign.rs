//! `aws s3 presign`: a GET URL for one object, signed with SigV4 in the query string.
//!
//! The request is the one `GetObject` would send (endpoint rules, path encoding), signed by
//! `aws-sigv4` with the signature in the query (`X-Amz-Algorithm`, `X-Amz-Credential`,
//! `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`) and an unsigned
//! payload. Nothing is sent. The AWS CLI v1 signs with SigV2 by default where S3 still accepts
//! it; Portcullis always uses SigV4 (what the CLI does with `signature_version = s3v4`).

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::{Ctx, S3Error, S3Outcome, params, s};
use crate::protocol::serialize::percent_encode;

pub(crate) async fn presign(ctx: &Ctx<'_>, bucket: &str, key: &str, expires_in: u64) -> S3Outcome {
    let mut out = S3Outcome::default();
    match url(ctx, bucket, key, expires_in, SystemTime::now()).await {
        Ok(u) => out.stdout = format!("{u}\n"),
        Err(e) => {
            out.stderr = format!("\n{e}\n");
            out.exit_code = 255;
            out.error = Some(e);
        }
    }
    out
}

async fn url(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    expires_in: u64,
    now: SystemTime,
) -> Result<String, S3Error> {
    let call = ctx.operation_call(
        "GetObject",
        params([("Bucket", s(bucket)), ("Key", s(key))]),
    );
    let (req, name, region, _opts, creds) =
        ctx.engine
            .prepare_unsigned(&call)
            .await
            .map_err(|error| S3Error::Call {
                operation: "GetObject",
                error,
            })?;
    let Some(creds) = creds else {
        return Err(S3Error::Unsupported(
            "a presigned URL needs credentials; this request would go unsigned".into(),
        ));
    };
    let signing = QuerySigning {
        name: &name,
        region: &region,
        expires_in,
        time: now,
        s3: true,
    };
    query_signed_url(&req.url, &[], creds, &signing)
        .map_err(|e| S3Error::Unsupported(format!("presigning failed: {e}")))
}

/// How a URL is query-signed (pre-signed) with SigV4, as botocore's `SigV4QueryAuth` signs it
/// (`S3SigV4QueryAuth` with `s3`).
pub(crate) struct QuerySigning<'a> {
    /// The signing name (`s3`, `sts`, `rds-db`).
    pub name: &'a str,
    pub region: &'a str,
    /// `X-Amz-Expires`, seconds.
    pub expires_in: u64,
    /// The signing time (`X-Amz-Date`).
    pub time: SystemTime,
    /// S3's rules: the path neither normalized nor encoded again, and `UNSIGNED-PAYLOAD`. Else the
    /// path is normalized and double-encoded and the payload is the empty body's hash (botocore
    /// moves a query-protocol body into the query string before signing).
    pub s3: bool,
}

/// `url` (absolute, its query already percent-encoded) signed for a `GET` with `headers` (and
/// `host`) signed too: the URL with the auth parameters appended in botocore's order
/// (`X-Amz-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`, `-Security-Token`,
/// `-Signature`).
pub(crate) fn query_signed_url(
    url: &str,
    headers: &[(&str, &str)],
    creds: crate::credentials::Credentials,
    signing: &QuerySigning<'_>,
) -> Result<String, String> {
    let host = host_of(url).ok_or_else(|| format!("cannot presign {url}: no host"))?;
    let mut settings = SigningSettings::default();
    if signing.s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(signing.expires_in));

    let identity: Identity = creds.into();
    let signing_params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.name)
        .time(signing.time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signed_headers: Vec<(&str, &str)> = std::iter::once(("host", host.as_str()))
        .chain(headers.iter().copied())
        .collect();
    let body = if signing.s3 {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(b"")
    };
    let signable = SignableRequest::new("GET", url, signed_headers.into_iter(), body)
        .map_err(|e| e.to_string())?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &signing_params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (_headers, mut query) = instructions.into_parts();
    const ORDER: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ];
    query.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    let mut url = url.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in query {
        url.push(sep);
        url.push_str(&percent_encode(k));
        url.push('=');
        url.push_str(&percent_encode(&v));
        sep = '&';
    }
    Ok(url)
}

/// The `Host` value of an absolute URL (with a non-default port).
fn host_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    // botocore's `_host_from_url`: the host lowercased, the scheme's default port left out.
    let host = uri.host()?.to_ascii_lowercase();
    let default_port = matches!(
        (uri.scheme_str(), uri.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    Some(match uri.port() {
        Some(p) if !default_port => format!("{host}:{p}"),
        _ => host.to_string(),
    })
}
