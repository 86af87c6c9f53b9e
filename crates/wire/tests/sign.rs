//! SigV4 signing: botocore's SigV4 test suite (`data/sigv4/`, the AWS Signature Version 4
//! test suite as botocore ships it, Apache-2.0, see its LICENSE and NOTICE) and AWS's
//! published S3 examples for the S3 options.
//!
//! Each suite case has `<name>.req` (the request), `.creq`/`.sts` (canonical request and
//! string to sign), `.authz` (the Authorization header) and `.sreq` (the signed request).
//! As botocore's `test_signers` does, the credentials are `AKIDEXAMPLE` /
//! `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, the time 2015-08-30T12:36:00Z, the region
//! `us-east-1` and the service `service`; the session token, where there is one, is read from
//! the `.creq` (or from the `.sreq` when it is added after signing). The signature in
//! `.authz` is an HMAC of the `.sts`, which hashes the `.creq`: matching it byte for byte
//! proves both intermediate strings too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use portcullis_wire::credentials::Credentials;
use portcullis_wire::sign::{
    PreparedBody, PreparedRequest, SessionTokenPlacement, SignError, SigningOptions, sign,
};

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z
const SUITE_TIME: u64 = 1_440_938_160;
/// The number of cases in the suite: all of them must run and pass.
const SUITE_CASES: usize = 34;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4")
}

/// Every directory holding `<dirname>.req`, recursively.
fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for d in entries {
        let name = d.file_name().unwrap().to_str().unwrap().to_string();
        if d.join(format!("{name}.req")).exists() {
            out.push(d.clone());
        }
        cases(&d, out);
    }
}

struct RawRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Parses a `.req`/`.sreq` file: request line, headers (continuation lines folded into the
/// previous value), blank line, body.
fn parse_raw(text: &str) -> RawRequest {
    let (head, body) = match text.find("\n\n") {
        Some(i) => (&text[..i], text.as_bytes()[i + 2..].to_vec()),
        None => (text, Vec::new()),
    };
    let mut lines = head.lines();
    let line = lines.next().unwrap();
    let (method, rest) = line.split_once(' ').unwrap();
    // The target may contain spaces (normalize-path/get-space): the version is the last word.
    let target = rest.rsplit_once(' ').unwrap().0.to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in lines {
        if l.starts_with(' ') || l.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(l.trim());
        } else {
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.to_string(), v.to_string()));
        }
    }
    RawRequest {
        method: method.to_string(),
        target,
        headers,
        body,
    }
}

/// The request target as it goes on the wire. The suite writes paths unencoded and botocore
/// URI-encodes them once for the canonical request; our URLs are already encoded, so the path
/// is encoded here (everything but unreserved characters and `/`) and signed without a second
/// encoding (`double_uri_encode: false`). The query is only made URI-safe: `aws-sigv4`
/// re-encodes query parameters itself.
fn encode_target(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(q) = query {
        out.push('?');
        for b in q.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn read(dir: &Path, ext: &str) -> String {
    let name = dir.file_name().unwrap().to_str().unwrap();
    std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap()
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Signs one suite case; returns a description of the first mismatch.
fn run_case(dir: &Path) -> Result<(), String> {
    let raw = parse_raw(&read(dir, "req"));
    let creq = read(dir, "creq");
    let sreq = parse_raw(&read(dir, "sreq"));
    let expected_authz = read(dir, "authz");

    let token_in_creq = creq
        .lines()
        .find_map(|l| l.strip_prefix("x-amz-security-token:"))
        .map(str::to_string);
    let token_after = header_value(&sreq.headers, "x-amz-security-token")
        .filter(|_| token_in_creq.is_none())
        .map(str::to_string);
    let mut opts = SigningOptions {
        double_uri_encode: false,
        ..SigningOptions::default()
    };
    if token_after.is_some() {
        opts.session_token = SessionTokenPlacement::AfterSignature;
    }
    let creds = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        token_in_creq.or(token_after),
        None,
        "sigv4-suite",
    );

    let host = header_value(&raw.headers, "host").ok_or("no Host header")?;
    let mut req = PreparedRequest {
        method: raw.method.clone(),
        url: format!("https://{host}{}", encode_target(&raw.target)),
        headers: raw.headers.clone(),
        body: PreparedBody::Bytes(raw.body.clone().into()),
    };
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(SUITE_TIME);
    sign(&mut req, &creds, "us-east-1", "service", opts, time).map_err(|e| e.to_string())?;

    let authz = req
        .header("authorization")
        .ok_or("no Authorization header")?;
    if authz != expected_authz.trim_end() {
        return Err(format!(
            "Authorization\n  got:  {authz}\n  want: {expected_authz}"
        ));
    }
    // The signed request carries the suite's headers (the Authorization checked above: the
    // suite's get-vanilla-with-session-token.sreq has a stale signature in it).
    for (k, v) in &sreq.headers {
        if k.eq_ignore_ascii_case("authorization") {
            continue;
        }
        let got: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .collect();
        if !got.contains(&v.as_str()) {
            return Err(format!("header {k}: got {got:?}, want {v:?}"));
        }
    }
    Ok(())
}

#[test]
fn botocore_sigv4_suite_passes_completely() {
    let mut dirs = Vec::new();
    cases(&suite_dir(), &mut dirs);
    assert_eq!(dirs.len(), SUITE_CASES, "suite cases found: {dirs:?}");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| run_case(d).err().map(|e| format!("{}: {e}", d.display())))
        .collect();
    let passed = dirs.len() - failures.len();
    assert!(
        failures.is_empty(),
        "{passed}/{} passed; failures:\n{}",
        dirs.len(),
        failures.join("\n")
    );
    assert_eq!(passed, SUITE_CASES);
}

#[test]
fn suite_license_and_notice_are_kept() {
    assert!(suite_dir().join("LICENSE").exists());
    assert!(suite_dir().join("NOTICE").exists());
}

// --- S3 options, against AWS's published S3 SigV4 examples ---------------------------------

const S3_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const S3_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2013-05-24T00:00:00Z
const S3_TIME: u64 = 1_369_353_600;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn s3_creds() -> Credentials {
    Credentials::new(S3_ACCESS_KEY, S3_SECRET_KEY, None, None, "s3-example")
}

fn s3_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(S3_TIME)
}

fn signature(req: &PreparedRequest) -> &str {
    req.header("authorization")
        .and_then(|a| a.rsplit_once("Signature="))
        .map(|(_, s)| s)
        .unwrap()
}

fn signed_headers(req: &PreparedRequest) -> &str {
    let a = req.header("authorization").unwrap();
    let start = a.find("SignedHeaders=").unwrap() + "SignedHeaders=".len();
    let end = a[start..].find(',').unwrap() + start;
    &a[start..end]
}

#[test]
fn s3_get_object_example() {
    let mut req = PreparedRequest::new("GET", "https://examplebucket.s3.amazonaws.com/test.txt")
        .with_header("Range", "bytes=0-9");
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("x-amz-content-sha256"), Some(EMPTY_SHA256));
    assert_eq!(req.header("x-amz-date"), Some("20130524T000000Z"));
    assert_eq!(
        signed_headers(&req),
        "host;range;x-amz-content-sha256;x-amz-date"
    );
    assert_eq!(
        signature(&req),
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

#[test]
fn s3_put_object_example_encodes_the_key_once() {
    // `$` is encoded once (%24) in the canonical request: double encoding would sign
    // `/test%2524file.text` and S3 would refuse the signature.
    let mut req = PreparedRequest::new(
        "PUT",
        "https://examplebucket.s3.amazonaws.com/test%24file.text",
    )
    .with_header("Date", "Fri, 24 May 2013 00:00:00 GMT")
    .with_header("x-amz-storage-class", "REDUCED_REDUNDANCY")
    .with_body(&b"Welcome to Amazon S3."[..]);
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(
        req.header("x-amz-content-sha256"),
        Some("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    );
    assert_eq!(
        signed_headers(&req),
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"
    );
    assert_eq!(
        signature(&req),
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    );
}

#[test]
fn s3_list_objects_example_with_query() {
    let mut req = PreparedRequest::new(
        "GET",
        "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
    );
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(
        signature(&req),
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    );
}

#[test]
fn s3_does_not_normalize_the_path_but_other_services_do() {
    let sign_path = |path: &str, opts: SigningOptions| {
        let mut req = PreparedRequest::new(
            "GET",
            format!("https://examplebucket.s3.amazonaws.com{path}"),
        );
        sign(&mut req, &s3_creds(), "us-east-1", "s3", opts, s3_time()).unwrap();
        signature(&req).to_string()
    };
    // For S3 `a//b/../c` is a key of its own, so it signs differently from `a/c` ...
    assert_ne!(
        sign_path("/a//b/../c", SigningOptions::s3()),
        sign_path("/a/c", SigningOptions::s3())
    );
    // ... while plain SigV4 normalizes both to the same canonical path.
    assert_eq!(
        sign_path("/a//b/../c", SigningOptions::default()),
        sign_path("/a/c", SigningOptions::default())
    );
}

#[test]
fn double_encoding_encodes_the_wire_path_once_more() {
    // Plain SigV4 (botocore's SigV4Auth) quotes the already-encoded path again: signing
    // `/a%20b` double-encoded is signing the canonical path `/a%2520b`.
    let sig = |path: &str, double: bool| {
        let opts = SigningOptions {
            double_uri_encode: double,
            ..SigningOptions::default()
        };
        let mut req = PreparedRequest::new("GET", format!("https://example.amazonaws.com{path}"));
        sign(
            &mut req,
            &s3_creds(),
            "us-east-1",
            "service",
            opts,
            s3_time(),
        )
        .unwrap();
        signature(&req).to_string()
    };
    assert_eq!(sig("/a%20b", true), sig("/a%2520b", false));
    assert_ne!(sig("/a%20b", true), sig("/a%20b", false));
}

#[test]
fn unsigned_payload_for_s3() {
    let mut req = PreparedRequest::new("PUT", "https://examplebucket.s3.amazonaws.com/big.bin")
        .with_body(&b"payload"[..]);
    let opts = SigningOptions::s3().with_unsigned_payload();
    sign(&mut req, &s3_creds(), "us-east-1", "s3", opts, s3_time()).unwrap();
    assert_eq!(req.header("x-amz-content-sha256"), Some("UNSIGNED-PAYLOAD"));
    assert!(signed_headers(&req).contains("x-amz-content-sha256"));
}

#[test]
fn streaming_file_body_is_unsigned_payload_for_s3_and_refused_otherwise() {
    let file_req = || PreparedRequest {
        body: PreparedBody::File("upload.bin".into()),
        ..PreparedRequest::new("PUT", "https://examplebucket.s3.amazonaws.com/upload.bin")
    };
    let mut req = file_req();
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("x-amz-content-sha256"), Some("UNSIGNED-PAYLOAD"));

    let mut req = file_req();
    let err = sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::default(),
        s3_time(),
    )
    .unwrap_err();
    assert_eq!(err, SignError::StreamingBodyNeedsHash);
}

#[test]
fn session_token_is_signed_by_default() {
    let creds = Credentials::new(
        S3_ACCESS_KEY,
        S3_SECRET_KEY,
        Some("TOKEN".into()),
        None,
        "t",
    );
    let mut req = PreparedRequest::new("GET", "https://sts.amazonaws.com/");
    sign(
        &mut req,
        &creds,
        "us-east-1",
        "sts",
        SigningOptions::default(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("x-amz-security-token"), Some("TOKEN"));
    assert_eq!(signed_headers(&req), "host;x-amz-date;x-amz-security-token");

    let opts = SigningOptions {
        session_token: SessionTokenPlacement::AfterSignature,
        ..SigningOptions::default()
    };
    sign(&mut req, &creds, "us-east-1", "sts", opts, s3_time()).unwrap();
    assert_eq!(req.header("x-amz-security-token"), Some("TOKEN"));
    assert_eq!(signed_headers(&req), "host;x-amz-date");
}

#[test]
fn resigning_replaces_the_previous_signature() {
    let mut req = PreparedRequest::new("GET", "https://examplebucket.s3.amazonaws.com/test.txt");
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap();
    let first = req.clone();
    let later = s3_time() + Duration::from_secs(60);
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        later,
    )
    .unwrap();
    for h in [
        "authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "host",
    ] {
        let n = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(h))
            .count();
        assert_eq!(n, 1, "{h} appears {n} times");
    }
    assert_ne!(first.header("authorization"), req.header("authorization"));
    assert_eq!(req.header("x-amz-date"), Some("20130524T000100Z"));
}

#[test]
fn unsigned_operations_carry_no_signature() {
    let mut req = PreparedRequest::new("POST", "https://sts.amazonaws.com/")
        .with_header("Authorization", "stale")
        .with_body(&b"Action=AssumeRoleWithWebIdentity"[..]);
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "sts",
        SigningOptions::unsigned(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.header("x-amz-date"), None);
}

#[test]
fn host_header_keeps_non_default_ports_only() {
    let mut req = PreparedRequest::new("GET", "http://127.0.0.1:5000/");
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "sqs",
        SigningOptions::default(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("host"), Some("127.0.0.1:5000"));
    let mut req = PreparedRequest::new("GET", "https://sqs.us-east-1.amazonaws.com:443/");
    sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "sqs",
        SigningOptions::default(),
        s3_time(),
    )
    .unwrap();
    assert_eq!(req.header("host"), Some("sqs.us-east-1.amazonaws.com"));
}

#[test]
fn bad_urls_are_errors_not_panics() {
    for url in ["/no/host", "not a url", "https://", ""] {
        let mut req = PreparedRequest::new("GET", url);
        let err = sign(
            &mut req,
            &s3_creds(),
            "us-east-1",
            "s3",
            SigningOptions::s3(),
            s3_time(),
        );
        assert!(
            matches!(err, Err(SignError::InvalidUrl { .. })),
            "{url}: {err:?}"
        );
    }
    // A header value aws-sigv4 cannot take is an error too.
    let mut req = PreparedRequest::new("GET", "https://example.com/").with_header("x-bad", "a\nb");
    let err = sign(
        &mut req,
        &s3_creds(),
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    );
    assert!(matches!(err, Err(SignError::Signing(_))), "{err:?}");
}

#[test]
fn signing_errors_and_debug_output_hold_no_secrets() {
    let creds = Credentials::new(
        "AKIDEXAMPLE",
        "SUPERSECRET",
        Some("SESSIONTOKEN".into()),
        None,
        "t",
    );
    let dbg = format!("{creds:?}");
    assert!(
        !dbg.contains("SUPERSECRET") && !dbg.contains("SESSIONTOKEN"),
        "{dbg}"
    );
    let mut req = PreparedRequest::new("GET", "https://example.com/").with_header("x-bad", "a\nb");
    let err = sign(
        &mut req,
        &creds,
        "us-east-1",
        "s3",
        SigningOptions::s3(),
        s3_time(),
    )
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("SUPERSECRET") && !text.contains("SESSIONTOKEN"),
        "{text}"
    );
}

#[test]
fn options_for_signing_names() {
    assert_eq!(SigningOptions::for_signing_name("s3"), SigningOptions::s3());
    assert_eq!(
        SigningOptions::for_signing_name("sqs"),
        SigningOptions::default()
    );
}
