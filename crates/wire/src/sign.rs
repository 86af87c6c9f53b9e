//! AWS Signature Version 4 for a [`PreparedRequest`], with the `aws-sigv4` crate.
//!
//! # Brief overview
//!
//! [`sign`] takes the [`PreparedRequest`] the transport will send, the pinned [`Credentials`],
//! the signing region and name, and [`SigningOptions`], and adds `X-Amz-Date`, `Authorization`
//! and, as the options say, `X-Amz-Security-Token` and `X-Amz-Content-SHA256`. The algorithm is
//! `aws-sigv4`'s; this module only maps our request type and options onto it:
//!
//! | option               | SigV4 (most services) | S3 ([`SigningOptions::s3`])          |
//! |----------------------|-----------------------|--------------------------------------|
//! | path normalization   | yes (RFC 3986)        | no (`a//b/../c` is a real key)        |
//! | URI encoding         | double                | single (the path is already encoded)  |
//! | `x-amz-content-sha256` | not sent            | sent                                  |
//! | payload hash         | SHA-256 of the body   | SHA-256, or `UNSIGNED-PAYLOAD` for streaming bodies |
//!
//! Signing is idempotent: signature headers from an earlier attempt are replaced, so a retry
//! re-signs the same request with a fresh timestamp. Operations whose model says
//! `authtype: none` use [`SigningOptions::unsigned`] and go out without any signature.
//! Pinned by botocore's SigV4 test suite (`tests/sign.rs`).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use portcullis_wire::credentials::Credentials;
//! use portcullis_wire::sign::{sign, SigningOptions};
//! use portcullis_wire::transport::PreparedRequest;
//!
//! let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
//! let mut req = PreparedRequest::new("GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
//! let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
//! sign(&mut req, &creds, "us-east-1", "sts", SigningOptions::default(), time).unwrap();
//! assert!(req.header("authorization").unwrap().starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request"));
//! ```

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

pub use crate::credentials::Credentials;
pub use crate::transport::{PreparedBody, PreparedRequest};

/// Headers that [`sign`] computes; copies from an earlier signing are dropped first.
const SIGNATURE_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// How a request is signed. [`SigningOptions::default`] is plain SigV4 as most services expect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningOptions {
    /// `false` for operations the model marks `authtype: none` (e.g. `sts
    /// assume-role-with-web-identity`): [`sign`] then leaves the request untouched.
    pub sign: bool,
    /// Normalize `.`/`..`/`//` in the path before signing (not for S3).
    pub normalize_path: bool,
    /// Encode the already-encoded path once more for the canonical request (not for S3).
    pub double_uri_encode: bool,
    /// Send the payload hash as `x-amz-content-sha256` (S3 requires it).
    pub content_sha256_header: bool,
    /// Sign `UNSIGNED-PAYLOAD` instead of hashing the body. Always so for
    /// [`PreparedBody::File`], whose bytes are not read before sending.
    pub unsigned_payload: bool,
    /// Whether the session token is part of the signature or only added after it.
    pub session_token: SessionTokenPlacement,
}

/// Where `X-Amz-Security-Token` goes, for temporary credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionTokenPlacement {
    /// In the canonical request and `SignedHeaders` (what every SDK does today).
    #[default]
    Signed,
    /// Added to the request after the signature is computed (some older services).
    AfterSignature,
}

impl Default for SigningOptions {
    fn default() -> Self {
        Self {
            sign: true,
            normalize_path: true,
            double_uri_encode: true,
            content_sha256_header: false,
            unsigned_payload: false,
            session_token: SessionTokenPlacement::Signed,
        }
    }
}

impl SigningOptions {
    /// S3's variant (botocore's `s3v4`): no path normalization, single encoding,
    /// `x-amz-content-sha256` sent; the payload is hashed unless it streams from a file.
    pub fn s3() -> Self {
        Self {
            normalize_path: false,
            double_uri_encode: false,
            content_sha256_header: true,
            ..Self::default()
        }
    }

    /// No signature at all (`authtype: none`).
    pub fn unsigned() -> Self {
        Self {
            sign: false,
            ..Self::default()
        }
    }

    /// The options for a signing name: [`SigningOptions::s3`] for `s3` and
    /// `s3-object-lambda` (and S3 Outposts/Express use the same rules), else the default.
    pub fn for_signing_name(signing_name: &str) -> Self {
        match signing_name {
            "s3" | "s3-object-lambda" | "s3-outposts" | "s3express" => Self::s3(),
            _ => Self::default(),
        }
    }

    /// The same options, signing `UNSIGNED-PAYLOAD` instead of the body hash.
    pub fn with_unsigned_payload(mut self) -> Self {
        self.unsigned_payload = true;
        self
    }
}

/// Why a request could not be signed. Never carries credential material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The URL has no scheme or host, or is not a valid URI.
    #[error("cannot sign a request to `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A streaming body would have to be read to be hashed, and this service's signing needs
    /// the hash (only S3-style signing accepts `UNSIGNED-PAYLOAD` here).
    #[error(
        "a streaming file body can only be signed as UNSIGNED-PAYLOAD (S3); read the file first"
    )]
    StreamingBodyNeedsHash,
    /// `aws-sigv4` refused the request (an invalid header name or value, say).
    #[error("SigV4 signing failed: {0}")]
    Signing(String),
}

/// Signs `req` in place with SigV4 (or not at all when `opts.sign` is false).
///
/// `time` is the signing time (`SystemTime::now()` outside tests). Signature headers already
/// on the request (from an earlier attempt) are replaced.
pub fn sign(
    req: &mut PreparedRequest,
    creds: &Credentials,
    region: &str,
    signing_name: &str,
    opts: SigningOptions,
    time: SystemTime,
) -> Result<(), SignError> {
    req.headers
        .retain(|(k, _)| !SIGNATURE_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)));
    if !opts.sign {
        return Ok(());
    }
    let host = host_header(&req.url)?;
    if req.header("host").is_none() {
        // Sign and send the same Host value (aws-sigv4 and hyper both drop a default port,
        // but setting it here makes that agreement explicit).
        req.headers.push(("Host".to_string(), host));
    }

    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = if opts.double_uri_encode {
        PercentEncodingMode::Double
    } else {
        PercentEncodingMode::Single
    };
    settings.uri_path_normalization_mode = if opts.normalize_path {
        UriPathNormalizationMode::Enabled
    } else {
        UriPathNormalizationMode::Disabled
    };
    settings.payload_checksum_kind = if opts.content_sha256_header {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    settings.session_token_mode = match opts.session_token {
        SessionTokenPlacement::Signed => SessionTokenMode::Include,
        SessionTokenPlacement::AfterSignature => SessionTokenMode::Exclude,
    };

    let body = match (&req.body, opts.unsigned_payload) {
        (PreparedBody::Bytes(_), true) => SignableBody::UnsignedPayload,
        (PreparedBody::Bytes(b), false) => SignableBody::Bytes(b),
        (PreparedBody::File(_), _) if opts.content_sha256_header || opts.unsigned_payload => {
            SignableBody::UnsignedPayload
        }
        (PreparedBody::File(_), _) => return Err(SignError::StreamingBodyNeedsHash),
    };

    let identity: Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(signing_name)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SignError::Signing(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        &req.method,
        req.url.as_str(),
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .map_err(|e| SignError::Signing(error_text(&e)))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| SignError::Signing(error_text(&e)))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    for h in headers {
        req.set_header(h.name(), h.value());
    }
    Ok(())
}

/// The `Host` header for a URL: host, plus the port unless it is the scheme's default.
/// Also checks what `aws-sigv4` expects (an absolute URI with a host; it would panic without).
fn host_header(url: &str) -> Result<String, SignError> {
    let bad = |reason: &str| SignError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    if uri.scheme().is_none() {
        return Err(bad("no scheme"));
    }
    let host = match uri.host() {
        Some(h) if !h.is_empty() => h,
        _ => return Err(bad("no host")),
    };
    let default_port = matches!(
        (uri.scheme_str(), uri.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    Ok(match uri.port() {
        Some(port) if !default_port => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

/// The error and its sources, one line (aws-sigv4's errors say little at the top level).
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}
