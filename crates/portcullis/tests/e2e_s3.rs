//! End to end against moto server for the high-level `aws s3` commands: every case of
//! tests/e2e/s3_corpus.txt runs with the pinned awscli and with `portcullis exec` (natively: no
//! awscli, no Python), each from a fresh moto state and a fresh working directory. Exit codes,
//! stdout and stderr must match once dates (which differ between runs) and awscli's progress
//! lines (`Completed ... \r`, which Portcullis never prints) are normalized; the state after the
//! run (`check:` commands, local files written) must match too. Presigned URLs are compared by
//! structure (same URL and query keys; the signature and date differ by time) and fetched.
//! Needs the project venv (moto, awscli); its absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use support::moto::{Moto, venv_python};

#[derive(Default)]
struct Case {
    name: String,
    setup: Vec<String>,
    run: String,
    checks: Vec<String>,
    sorted: bool,
    presign: bool,
}

fn corpus() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/s3_corpus.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            cases.push(Case {
                name: name.trim().to_string(),
                ..Case::default()
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        if let Some(cmd) = line.strip_prefix("setup: ") {
            case.setup.push(cmd.to_string());
        } else if let Some(cmd) = line.strip_prefix("run: ") {
            case.run = cmd.to_string();
        } else if let Some(cmd) = line.strip_prefix("check: ") {
            case.checks.push(cmd.to_string());
        } else if line.trim() == "sorted" {
            case.sorted = true;
        } else if line.trim() == "presign" {
            case.presign = true;
        }
    }
    cases
}

/// A fresh working directory with the files the corpus uses.
fn workdir(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("d/sub")).unwrap();
    std::fs::write(dir.join("d/a.txt"), "hello\n").unwrap();
    std::fs::write(dir.join("d/sub/b.txt"), "x\n").unwrap();
    std::fs::write(dir.join("d/sub/c.json"), "{\"k\": 1}\n").unwrap();
    // Over the 8 MiB multipart threshold: two parts.
    let big: Vec<u8> = (0..9 * 1024 * 1024 + 5)
        .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("big.bin"), big).unwrap();
    // Backdate the files a minute. S3 (and moto) report LastModified to the second, and `sync`
    // uploads a file whose mtime is newer than its object's: a file written in the same second as
    // its first upload would look changed to a second sync, in one run and not in the other.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for f in ["d/a.txt", "d/sub/b.txt", "d/sub/c.json", "big.bin"] {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(f))
            .unwrap();
        file.set_modified(past).unwrap();
    }
    dir
}

fn env_for(cmd: &mut Command, dir: &Path, home: &Path) {
    support::e2e::clean_env(cmd, dir, home);
    // awscli v1 presigns with SigV2 unless told otherwise; Portcullis always uses SigV4.
    cmd.env("AWS_CONFIG_FILE", home.join("config"));
}

fn words(cmd: &str, endpoint: &str) -> Vec<String> {
    let mut w = portcullis_cli::words::split_words(cmd).unwrap();
    w.extend(["--endpoint-url".to_string(), endpoint.to_string()]);
    if !w.iter().any(|x| x == "--region") {
        w.extend(["--region".to_string(), "us-east-1".to_string()]);
    }
    w
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn awscli(cmd: &str, endpoint: &str, dir: &Path, home: &Path) -> Run {
    let w = words(cmd, endpoint);
    let mut c = Command::new(venv_python());
    c.arg("-m").arg("awscli").args(&w[1..]);
    env_for(&mut c, dir, home);
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn portcullis(cmd: &str, endpoint: &str, dir: &Path, home: &Path) -> Run {
    let w = words(cmd, endpoint);
    let line = w
        .iter()
        .map(|x| format!("'{}'", x.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.arg("exec").arg(line);
    env_for(&mut c, dir, home);
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Dates to `<date>`; awscli's progress lines (ending in `\r`, overwritten by the next line)
/// dropped; trailing padding trimmed; optionally the lines sorted.
fn normalize(text: &str, sorted: bool) -> String {
    let date = Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").unwrap();
    let iso =
        Regex::new(r#""\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?""#).unwrap();
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.rsplit('\r').next().unwrap_or(l).trim_end().to_string())
        .map(|l| {
            iso.replace_all(&date.replace_all(&l, "<date>"), "\"<date>\"")
                .into_owned()
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    if sorted {
        lines.sort();
    }
    lines.join("\n")
}

/// Every file under `dir`: relative path → contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// A presigned URL, with what legitimately differs between two signings masked.
fn presign_shape(url: &str) -> (String, Vec<(String, String)>) {
    let (base, query) = url.trim().split_once('?').unwrap_or((url.trim(), ""));
    let date = Regex::new(r"\d{8}").unwrap();
    let pairs = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = match k {
                "X-Amz-Signature" => format!("<{} hex>", v.len()),
                "X-Amz-Date" => format!("<{} chars>", v.len()),
                "X-Amz-Credential" => date.replace(v, "<date>").into_owned(),
                _ => v.to_string(),
            };
            (k.to_string(), v)
        })
        .collect();
    (base.to_string(), pairs)
}

#[test]
fn aws_s3_commands_print_what_the_awscli_prints() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let root = std::env::temp_dir().join(format!("portcullis-e2e-s3-{}", std::process::id()));
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config"),
        "[default]\ns3 =\n    signature_version = s3v4\n",
    )
    .unwrap();
    let cases = corpus();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut results = Vec::new();
        for who in ["awscli", "portcullis"] {
            moto.reset();
            let dir = workdir(&root, who);
            for s in &case.setup {
                let r = awscli(s, &endpoint, &dir, &home);
                assert_eq!(r.code, 0, "{}: setup `{s}` failed: {}", case.name, r.stderr);
            }
            let run = if who == "awscli" {
                awscli(&case.run, &endpoint, &dir, &home)
            } else {
                portcullis(&case.run, &endpoint, &dir, &home)
            };
            let checks: Vec<String> = case
                .checks
                .iter()
                .map(|c| normalize(&awscli(c, &endpoint, &dir, &home).stdout, false))
                .collect();
            let fetched = if case.presign && who == "portcullis" {
                let (_, path_and_query) = run
                    .stdout
                    .trim()
                    .split_once(&format!("127.0.0.1:{}", moto.port))
                    .unwrap_or(("", ""));
                moto.http("GET", path_and_query, "")
            } else {
                None
            };
            results.push((run, checks, tree(&dir), fetched));
        }
        let (theirs, ours) = (&results[0], &results[1]);
        let mut problems = Vec::new();
        if theirs.0.code != ours.0.code {
            problems.push(format!(
                "exit codes differ: awscli {}, portcullis {}",
                theirs.0.code, ours.0.code
            ));
        }
        if case.presign {
            let (a, b) = (
                presign_shape(&theirs.0.stdout),
                presign_shape(&ours.0.stdout),
            );
            if a != b {
                problems.push(format!(
                    "presigned URLs differ in shape:\n  awscli:     {a:?}\n  portcullis: {b:?}"
                ));
            }
            match &ours.3 {
                Some((200, body)) if body == "hello\n" => {}
                other => problems.push(format!(
                    "our presigned URL did not fetch the object: {other:?}"
                )),
            }
        } else {
            let (a, b) = (
                normalize(&theirs.0.stdout, case.sorted),
                normalize(&ours.0.stdout, case.sorted),
            );
            if a != b {
                problems.push(format!(
                    "stdout differs:\n--- awscli\n{a}\n--- portcullis\n{b}"
                ));
            }
        }
        let (a, b) = (
            normalize(&theirs.0.stderr, case.sorted),
            normalize(&ours.0.stderr, case.sorted),
        );
        if a != b {
            problems.push(format!(
                "stderr differs:\n--- awscli\n{a}\n--- portcullis\n{b}"
            ));
        }
        if theirs.1 != ours.1 {
            problems.push(format!(
                "state after the run differs:\n--- awscli\n{}\n--- portcullis\n{}",
                theirs.1.join("\n"),
                ours.1.join("\n")
            ));
        }
        if theirs.2 != ours.2 {
            let names = |t: &BTreeMap<String, Vec<u8>>| {
                t.iter()
                    .map(|(k, v)| format!("{k} ({} bytes)", v.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(format!(
                "local files differ:\n  awscli:     {}\n  portcullis: {}",
                names(&theirs.2),
                names(&ours.2)
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: `{}`\n{}",
                case.name,
                case.run,
                problems.join("\n")
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
