//! The token commands end to end, `portcullis exec` beside the pinned awscli in the same run,
//! against moto server (for `sts AssumeRole`): `eks get-token` and `rds generate-db-auth-token`
//! are signed at the current time, so their structure is compared — the ExecCredential's keys in
//! order, the token's URL (scheme, host, path, query keys in order, every value but the time and
//! signature; the time within a minute) — and `portcullis check` shows the customization and its
//! API calls. (`ecr get-login-password` prints the same as awscli: tests/e2e/corpus.txt.) Needs
//! the project venv (moto, awscli); its absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the awscli

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::moto::{Moto, venv_python};

/// (exit code, stdout, stderr)
type Run = (i32, String, String);

fn env_for(cmd: &mut Command, home: &std::path::Path, endpoint: &str, extra: &[(&str, &str)]) {
    support::e2e::clean_env(cmd, &std::env::current_dir().unwrap_or_default(), home);
    // The CLI's `eks get-token` takes no --endpoint-url for its STS calls; configured
    // endpoints it does take (both run the same way here).
    cmd.env("AWS_ENDPOINT_URL", endpoint);
    // An empty value removes the variable.
    for (k, v) in extra {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
}

fn output(mut c: Command) -> Run {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn awscli(command: &str, endpoint: &str, extra: &[(&str, &str)]) -> Run {
    let words = portcullis_cli::words::split_words(command).unwrap();
    let mut c = Command::new(venv_python());
    c.arg("-m").arg("awscli").args(&words[1..]);
    env_for(&mut c, &home(), endpoint, extra);
    output(c)
}

fn portcullis(command: &str, endpoint: &str, extra: &[(&str, &str)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.arg("exec").arg(command);
    env_for(&mut c, &home(), endpoint, extra);
    output(c)
}

fn home() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-e2e-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A URL's parts: (scheme://host/path, query pairs in order, percent-decoded).
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), decode(v))
        })
        .collect();
    (base.to_string(), pairs)
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// `20240506T070809Z` → seconds since the epoch (enough to compare two signing times).
fn amz_date(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    let days = {
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + d - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    };
    days * 86_400 + n(9, 11) * 3600 + n(11, 13) * 60 + n(13, 15)
}

/// `2024-05-06T07:22:09Z` → an `amz_date`-comparable number.
fn iso_date(s: &str) -> i64 {
    amz_date(&s.replace(['-', ':'], ""))
}

/// Compares two query-signed URLs of the same command signed in the same run: everything equal
/// but the signing time (within a minute of each other), the signature (64 hex digits each),
/// and — when `temporary` — the access key and session token (each run assumed its own role
/// session: both must have one, and the key an `ASIA` one).
fn same_signed_url(
    what: &str,
    theirs: &str,
    ours: &str,
    temporary: bool,
    problems: &mut Vec<String>,
) {
    let (their_base, their_q) = split_url(theirs);
    let (our_base, our_q) = split_url(ours);
    if their_base != our_base {
        problems.push(format!(
            "{what}: URLs differ before the query: awscli {their_base}, portcullis {our_base}"
        ));
    }
    let keys = |q: &[(String, String)]| q.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    if keys(&their_q) != keys(&our_q) {
        problems.push(format!(
            "{what}: query keys differ: awscli {:?}, portcullis {:?}",
            keys(&their_q),
            keys(&our_q)
        ));
        return;
    }
    for ((k, a), (_, b)) in their_q.iter().zip(&our_q) {
        match k.as_str() {
            "X-Amz-Date" => {
                if (amz_date(a) - amz_date(b)).abs() > 60 {
                    problems.push(format!("{what}: signing times too far apart: {a} {b}"));
                }
            }
            "X-Amz-Signature" => {
                if !(a.len() == 64 && b.len() == 64 && b.bytes().all(|c| c.is_ascii_hexdigit())) {
                    problems.push(format!("{what}: signatures {a} / {b}"));
                }
            }
            "X-Amz-Credential" => {
                // KEY/DATE/REGION/SERVICE/aws4_request
                let (ta, oa): (Vec<&str>, Vec<&str>) =
                    (a.split('/').collect(), b.split('/').collect());
                let same_key = if temporary {
                    ta[0].starts_with("ASIA") && oa[0].starts_with("ASIA")
                } else {
                    ta[0] == oa[0]
                };
                if ta.len() != 5 || oa.len() != 5 || !same_key || ta[2..] != oa[2..] {
                    problems.push(format!(
                        "{what}: credential scopes differ: awscli {a}, portcullis {b}"
                    ));
                }
            }
            "X-Amz-Security-Token" if temporary => {
                if a.is_empty() || b.is_empty() {
                    problems.push(format!("{what}: a session token is missing"));
                }
            }
            _ => {
                if a != b {
                    problems.push(format!(
                        "{what}: {k} differs: awscli {a:?}, portcullis {b:?}"
                    ));
                }
            }
        }
    }
}

/// The URL inside an EKS token.
fn token_url(token: &str) -> String {
    let b64 = token
        .strip_prefix("k8s-aws-v1.")
        .unwrap_or_else(|| panic!("token without its prefix: {token}"));
    assert!(!b64.contains('='), "padded: {token}");
    String::from_utf8(base64url(b64)).unwrap()
}

/// Unpadded base64url, decoded (a test helper: the binary's own decoder is not used to check it).
fn base64url(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base64url: {c}")) as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn eks_get_token_is_shaped_as_the_awscli_makes_it() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let mut problems = Vec::new();
    for (command, temporary) in [
        ("aws eks get-token --cluster-name demo", false),
        (
            "aws eks get-token --cluster-id 0123-abc --region eu-west-1",
            false,
        ),
        (
            "aws eks get-token --cluster-name demo --role-arn arn:aws:iam::123456789012:role/eks-reader",
            true,
        ),
    ] {
        moto.reset();
        let theirs = awscli(command, &endpoint, &[]);
        let ours = portcullis(command, &endpoint, &[]);
        assert_eq!(theirs.0, 0, "awscli {command}: {}", theirs.2);
        assert_eq!(ours.0, 0, "portcullis {command}: {}", ours.2);
        assert_eq!((theirs.2.as_str(), ours.2.as_str()), ("", ""), "{command}");
        // Printed as the CLI prints it: 4-space JSON, then a blank line.
        assert!(
            theirs.1.ends_with("}\n\n") && ours.1.ends_with("}\n\n"),
            "{command}:\n{}\n{}",
            theirs.1,
            ours.1
        );
        let (a, b): (Value, Value) = (
            serde_json::from_str(&theirs.1).unwrap(),
            serde_json::from_str(&ours.1).unwrap(),
        );
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&a), keys(&b), "{command}");
        assert_eq!(keys(&a["status"]), keys(&b["status"]), "{command}");
        for k in ["kind", "apiVersion", "spec"] {
            assert_eq!(a[k], b[k], "{command}: {k}");
        }
        let (ta, tb) = (
            a["status"]["expirationTimestamp"].as_str().unwrap(),
            b["status"]["expirationTimestamp"].as_str().unwrap(),
        );
        assert!(
            (iso_date(ta) - iso_date(tb)).abs() <= 60,
            "{command}: {ta} {tb}"
        );
        let (ua, ub) = (
            token_url(a["status"]["token"].as_str().unwrap()),
            token_url(b["status"]["token"].as_str().unwrap()),
        );
        same_signed_url(command, &ua, &ub, temporary, &mut problems);
        // The URL: this moto, GetCallerIdentity, 60 s, the cluster header signed; expiry 14 minutes on.
        let (base, q) = split_url(&ub);
        assert_eq!(base, format!("{endpoint}/"), "{command}");
        let get = |k: &str| q.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("GetCallerIdentity"));
        assert_eq!(get("X-Amz-Expires"), Some("60"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host;x-k8s-aws-id"));
        assert_eq!(
            iso_date(tb) - amz_date(get("X-Amz-Date").unwrap()),
            14 * 60,
            "{command}"
        );
        assert_eq!(
            get("X-Amz-Security-Token").is_some(),
            temporary,
            "{command}"
        );
    }
    // KUBERNETES_EXEC_INFO is read as the CLI reads it, its notes on stderr.
    for info in [
        r#"{"apiVersion": "client.authentication.k8s.io/v1"}"#,
        r#"{"apiVersion": "client.authentication.k8s.io/v1alpha1"}"#,
        "{",
        r#"{"apiVersion": 1}"#,
    ] {
        let command = "aws eks get-token --cluster-name demo --query apiVersion";
        let extra = [("KUBERNETES_EXEC_INFO", info)];
        let (theirs, ours) = (
            awscli(command, &endpoint, &extra),
            portcullis(command, &endpoint, &extra),
        );
        assert_eq!(
            (theirs.0, &theirs.1, &theirs.2),
            (ours.0, &ours.1, &ours.2),
            "KUBERNETES_EXEC_INFO={info}"
        );
    }
    // Text output goes through the CLI's text formatter (the time-dependent token masked).
    let command = "aws eks get-token --cluster-name demo --output text";
    let mask = |s: &str| {
        s.split('\t')
            .map(|f| {
                if f.starts_with("k8s-aws-v1.") || f.ends_with('Z') {
                    "<x>"
                } else {
                    f
                }
            })
            .collect::<Vec<_>>()
            .join("\t")
    };
    let (theirs, ours) = (
        awscli(command, &endpoint, &[]),
        portcullis(command, &endpoint, &[]),
    );
    assert_eq!(mask(&theirs.1), mask(&ours.1));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rds_generate_db_auth_token_is_shaped_as_the_awscli_makes_it() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let mut problems = Vec::new();
    for (command, token) in [
        (
            "aws rds generate-db-auth-token --hostname db.example.com --port 5432 --username jane",
            None,
        ),
        (
            "aws rds generate-db-auth-token --hostname Db.Example.COM --port 443 --username 'jane doe/+' --region eu-west-1",
            None,
        ),
        (
            "aws rds generate-db-auth-token --hostname 10.0.0.7 --port 03306 --username admin",
            Some("FQoGZXIvYXdzE/+token=="),
        ),
    ] {
        let extra: Vec<(&str, &str)> = token
            .map(|t| vec![("AWS_SESSION_TOKEN", t)])
            .unwrap_or_default();
        let theirs = awscli(command, &endpoint, &extra);
        let ours = portcullis(command, &endpoint, &extra);
        assert_eq!(
            (theirs.0, ours.0),
            (0, 0),
            "{command}: {} / {}",
            theirs.2,
            ours.2
        );
        assert!(
            theirs.1.ends_with('\n') && ours.1.ends_with('\n') && !ours.1.starts_with("https://"),
            "{command}: {}",
            ours.1
        );
        // Compared as URLs (the CLI prints them without the scheme).
        let url = |s: &str| format!("https://{}", s.trim_end());
        same_signed_url(
            command,
            &url(&theirs.1),
            &url(&ours.1),
            false,
            &mut problems,
        );
        let (_, q) = split_url(&url(&ours.1));
        let get = |k: &str| q.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("connect"));
        assert_eq!(get("X-Amz-Expires"), Some("900"));
        assert!(
            get("X-Amz-Credential")
                .unwrap()
                .ends_with("/rds-db/aws4_request")
        );
        assert_eq!(get("X-Amz-Security-Token"), token, "{command}");
    }
    // No region: both fail alike.
    let command = "aws rds generate-db-auth-token --hostname h --port 1 --username u";
    let no_region = [("AWS_DEFAULT_REGION", ""), ("AWS_REGION", "")];
    let (theirs, ours) = (
        awscli(command, &endpoint, &no_region),
        portcullis(command, &endpoint, &no_region),
    );
    assert_eq!((theirs.0, &theirs.1, &theirs.2), (ours.0, &ours.1, &ours.2));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn check_shows_the_customization_and_its_api_calls() {
    let check = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("check")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, out) = check(&["aws eks get-token --cluster-name c"]);
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["kind"], "extra");
    assert_eq!(doc["request"]["kind"]["customization"], "token");
    assert_eq!(doc["request"]["kind"]["cluster_name"], "c");
    assert_eq!(doc["api_calls"][0]["operation"], "GetCallerIdentity");
    assert_eq!(
        doc["api_calls"][0]["classification"]["actions"][0],
        "sts:GetCallerIdentity"
    );
    assert_eq!(doc["returns_credentials"], true);
    let (code, out) = check(&[
        "--format",
        "text",
        "aws eks get-token --cluster-name c --role-arn arn:aws:iam::123456789012:role/r",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("aws eks get-token\n"), "{out}");
    assert!(
        out.contains("API calls: sts.AssumeRole, sts.GetCallerIdentity")
            && out.contains("returns credentials: yes"),
        "{out}"
    );
    let (code, out) = check(&["--format", "text", "aws ecr get-login-password"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("API calls: ecr.GetAuthorizationToken"),
        "{out}"
    );
    let (code, out) = check(&[
        "--format",
        "text",
        "aws rds generate-db-auth-token --hostname h --port 5432 --username u",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("API calls: none (computed locally)")
            && out.contains("returns credentials: yes"),
        "{out}"
    );
    // Still refused: the customizations that write local files.
    let (code, out) = check(&["--format", "text", "aws eks update-kubeconfig --name c"]);
    assert_eq!(code, 1, "{out}");
}
