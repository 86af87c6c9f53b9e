//! `aws s3 presign`: a GET URL for one object, signed with SigV4 in the query string.
//!
//! The request is the one `GetObject` would send (endpoint rules, path encoding), signed by
//! `aws-sigv4` with the signature in the query (`X-Amz-Algorithm`, `X-Amz-Credential`,
//! `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`) and an unsigned
//! payload. Nothing is sent. The AWS CLI v1 signs with SigV2 by default where S3 still accepts
//! it; Portcullis always uses SigV4 (what the CLI does with `signature_version = s3v4`).

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::{Ctx, S3Error, S3Outcome, params, s};

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

async fn url(ctx: &Ctx<'_>, bucket: &str, key: &str, expires_in: u64, now: SystemTime) -> Result<String, S3Error> {
    let call = ctx.operation_call("GetObject", params([("Bucket", s(bucket)), ("Key", s(key))]));
    let (req, name, region, _opts, creds) =
        ctx.engine.prepare_unsigned(&call).await.map_err(|error| S3Error::Call { operation: "GetObject", error })?;
    let Some(creds) = creds else {
        return Err(S3Error::Unsupported("a presigned URL needs credentials; this request would go unsigned".into()));
    };
    let host = host_of(&req.url).ok_or_else(|| S3Error::Unsupported(format!("cannot presign {}: no host", req.url)))?;

    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires_in));

    let identity: Identity = creds.into();
    let signing_params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(&name)
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| S3Error::Unsupported(format!("presigning failed: {e}")))?
        .into();
    let headers = [("host", host.as_str())];
    let signable = SignableRequest::new("GET", req.url.as_str(), headers.into_iter(), SignableBody::UnsignedPayload)
        .map_err(|e| S3Error::Unsupported(format!("presigning failed: {e}")))?;
    let (instructions, _signature) =
        aws_sigv4::http_request::sign(signable, &signing_params).map_err(|e| S3Error::Unsupported(format!("presigning failed: {e}")))?.into_parts();
    let (_headers, query) = instructions.into_parts();
    let mut url = req.url.clone();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in query {
        url.push(sep);
        url.push_str(&encode(k));
        url.push('=');
        url.push_str(&encode(&v));
        sep = '&';
    }
    Ok(url)
}

/// The `Host` value of an absolute URL (with a non-default port).
fn host_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?;
    let default_port = matches!((uri.scheme_str(), uri.port_u16()), (Some("http"), Some(80)) | (Some("https"), Some(443)));
    Some(match uri.port() {
        Some(p) if !default_port => format!("{host}:{p}"),
        _ => host.to_string(),
    })
}

/// RFC 3986 query encoding: everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
