//! The file sandbox as the agent meets it: `portcullis serve` (stdio, the Python MCP client,
//! moto) refuses every local path outside the working directory — `file://`, `fileb://`,
//! `--cli-input-json`, streaming bodies, outfiles and `aws s3 cp` — and the refused content never
//! appears in any answer; `no-access` mode refuses local paths altogether.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::Value;
use support::mcp::{McpEnv, first};
use support::moto::Moto;

const CANARY: &str = "CANARY-OUTSIDE-7f3a9c";

struct Setup {
    env: McpEnv,
    outside: std::path::PathBuf,
    endpoint: String,
}

fn setup(moto: &Moto, file_access: Option<&str>) -> Setup {
    let mut env = McpEnv::new("mcp-sandbox");
    let work = env.home.join("work");
    let outside = env.home.join("outside");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("canary.txt"), CANARY).unwrap();
    std::fs::write(
        outside.join("input.json"),
        format!("{{\"Name\": \"{CANARY}\"}}"),
    )
    .unwrap();
    std::fs::write(work.join("inside.txt"), "inside-value").unwrap();
    std::os::unix::fs::symlink(outside.join("canary.txt"), work.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, work.join("dirlink")).unwrap();
    env.set("AWS_API_MCP_WORKING_DIR", &work)
        .set("PORTCULLIS_MODE", "unrestricted");
    if let Some(mode) = file_access {
        env.set("AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS", mode);
    }
    Setup {
        env,
        outside,
        endpoint: moto.endpoint(),
    }
}

impl Setup {
    fn run(&self, command: &str) -> Value {
        self.env.call(
            &format!("{command} --endpoint-url {}", self.endpoint),
            "accept",
        )
    }

    /// Refused with a message containing `why`, and the canary is nowhere in the answer.
    fn refused(&self, command: &str, why: &str) {
        let v = self.run(command);
        assert_eq!(v["is_error"], true, "{command}: {v}");
        let status = first(&v)["status"].as_str().unwrap_or_default();
        assert!(status == "invalid" || status == "error", "{command}: {v}");
        let text = v.to_string();
        assert!(text.contains(why), "{command}: expected `{why}` in {v}");
        assert!(
            !text.contains(CANARY),
            "{command}: the outside file's content leaked: {v}"
        );
    }
}

#[test]
fn paths_outside_the_working_directory_are_refused() {
    let moto = Moto::start();
    moto.reset();
    assert_eq!(moto.http("PUT", "/sandbox-bucket", "").unwrap().0, 200);
    assert_eq!(
        moto.http("PUT", "/sandbox-bucket/obj.txt", "object-body")
            .unwrap()
            .0,
        200
    );
    let s = setup(&moto, None);
    let outside = s.outside.to_string_lossy().into_owned();

    // Inside the working directory: allowed.
    let v = s.run("aws ssm put-parameter --name inside --type String --value file://inside.txt");
    assert_eq!(first(&v)["status"], "success", "{v}");

    for (command, why) in [
        ("aws ssm put-parameter --name p --type String --value file://../outside/canary.txt".to_string(), "escapes the working directory"),
        (format!("aws ssm put-parameter --name p --type String --value file://{outside}/canary.txt"), "outside the working directory"),
        ("aws ssm put-parameter --name p --type String --value file://link.txt".to_string(), "symlink"),
        ("aws ssm put-parameter --name p --type String --value file://dirlink/canary.txt".to_string(), "symlink"),
        ("aws ssm put-parameter --name p --type String --value file://./a/../../outside/canary.txt".to_string(), "escapes the working directory"),
        ("aws ssm put-parameter --name p --type String --value file://~/outside/canary.txt".to_string(), "~"),
        ("aws kms encrypt --key-id k --plaintext fileb://../outside/canary.txt".to_string(), "escapes the working directory"),
        ("aws ssm put-parameter --cli-input-json file://../outside/input.json --type String --value v".to_string(), "escapes the working directory"),
        ("aws s3api put-object --bucket sandbox-bucket --key k --body ../outside/canary.txt".to_string(), "escapes the working directory"),
        (format!("aws s3api put-object --bucket sandbox-bucket --key k --body {outside}/canary.txt"), "outside the working directory"),
        ("aws s3api get-object --bucket sandbox-bucket --key obj.txt ../outside/stolen.txt".to_string(), "escapes the working directory"),
        ("aws s3api get-object --bucket sandbox-bucket --key obj.txt dirlink/stolen.txt".to_string(), "symlink"),
        ("aws s3 cp ../outside/canary.txt s3://sandbox-bucket/up.txt".to_string(), "escapes the working directory"),
        ("aws s3 cp s3://sandbox-bucket/obj.txt ../outside/down.txt".to_string(), "escapes the working directory"),
        (format!("aws s3 cp s3://sandbox-bucket/obj.txt {outside}/down.txt"), "outside the working directory"),
        ("aws s3 cp s3://sandbox-bucket/obj.txt link.txt".to_string(), "symbolic link"),
        ("aws sts get-caller-identity --ca-bundle ../outside/canary.txt".to_string(), "escapes the working directory"),
        ("aws sts get-caller-identity --ca-bundle link.txt".to_string(), "symlink"),
    ] {
        s.refused(&command, why);
    }
    // A bundle inside the working directory passes the sandbox, and is refused as unsupported
    // (the engine adds no trust roots per command) before anything is sent.
    let v = s.run("aws sts get-caller-identity --ca-bundle inside.txt");
    assert_eq!(first(&v)["status"], "error", "{v}");
    assert!(
        first(&v)["error"]
            .as_str()
            .unwrap()
            .contains("--ca-bundle is not supported"),
        "{v}"
    );

    // Nothing was written outside, nothing uploaded, the symlink's target untouched.
    let mut names: Vec<_> = std::fs::read_dir(&s.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["canary.txt", "input.json"]);
    assert_eq!(
        std::fs::read_to_string(s.outside.join("canary.txt")).unwrap(),
        CANARY
    );
    let listing = moto
        .http("GET", "/sandbox-bucket?list-type=2", "")
        .unwrap()
        .1;
    assert!(
        !listing.contains("up.txt") && !listing.contains("<Key>k</Key>"),
        "{listing}"
    );

    // A download inside the working directory is written (atomically, as a regular file).
    let v = s.run("aws s3 cp s3://sandbox-bucket/obj.txt downloads/obj.txt");
    assert_eq!(first(&v)["status"], "success", "{v}");
    let work = s.env.home.join("work");
    assert_eq!(
        std::fs::read_to_string(work.join("downloads/obj.txt")).unwrap(),
        "object-body"
    );
}

#[test]
fn no_access_mode_refuses_every_local_path() {
    let moto = Moto::start();
    moto.reset();
    assert_eq!(moto.http("PUT", "/noaccess-bucket", "").unwrap().0, 200);
    let s = setup(&moto, Some("no-access"));
    for command in [
        "aws ssm put-parameter --name p --type String --value file://inside.txt",
        "aws s3 cp inside.txt s3://noaccess-bucket/x.txt",
        "aws s3api get-object --bucket noaccess-bucket --key x out.txt",
    ] {
        s.refused(command, "no-access");
    }
    // S3-only commands still run.
    let v = s.run("aws s3 ls s3://noaccess-bucket");
    assert_eq!(v["is_error"], false, "{v}");
    // An unknown mode stops the server (fail closed), naming the variable.
    let bad = setup(&moto, Some("sometimes"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .envs(bad.env.vars.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS")
    );
}

/// `aws s3 mv` from a local source and `aws s3 sync --delete` into a local directory remove local
/// files only through the sandbox: inside the working directory, never a symlink or what it
/// points to, never outside (served over MCP, against moto).
#[test]
fn mv_and_sync_delete_remove_only_inside_the_working_directory() {
    let moto = Moto::start();
    moto.reset();
    assert_eq!(moto.http("PUT", "/sandbox-bucket", "").unwrap().0, 200);
    assert_eq!(
        moto.http("PUT", "/sandbox-bucket/pre/a.txt", "object-a")
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        moto.http("PUT", "/sandbox-bucket/pre/sub/b.txt", "object-b")
            .unwrap()
            .0,
        200
    );
    let s = setup(&moto, None);
    let outside = s.outside.to_string_lossy().into_owned();
    let work = s.env.home.join("work");
    std::fs::create_dir_all(work.join("dl")).unwrap();
    std::fs::write(work.join("dl/stale.txt"), "stale").unwrap();
    std::os::unix::fs::symlink(s.outside.join("canary.txt"), work.join("dl/link-out.txt")).unwrap();

    // sync --delete: the objects arrive, the stale file goes, the symlink (listing skips it) and
    // its target stay.
    let v = s.run("aws s3 sync s3://sandbox-bucket/pre dl --delete");
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert!(v.to_string().contains("delete: dl/stale.txt"), "{v}");
    assert_eq!(
        std::fs::read_to_string(work.join("dl/a.txt")).unwrap(),
        "object-a"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("dl/sub/b.txt")).unwrap(),
        "object-b"
    );
    assert!(!work.join("dl/stale.txt").exists());
    assert!(
        std::fs::symlink_metadata(work.join("dl/link-out.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // mv from a local file: uploaded, then removed.
    let v = s.run("aws s3 mv inside.txt s3://sandbox-bucket/moved.txt");
    assert_eq!(first(&v)["status"], "success", "{v}");
    assert!(!work.join("inside.txt").exists());
    let listing = moto
        .http("GET", "/sandbox-bucket?list-type=2", "")
        .unwrap()
        .1;
    assert!(listing.contains("<Key>moved.txt</Key>"), "{listing}");

    // Sources and targets outside are refused before anything runs; a destination directory that
    // is a symlink leading out gets nothing.
    for (command, why) in [
        (
            "aws s3 mv link.txt s3://sandbox-bucket/x.txt".to_string(),
            "symlink",
        ),
        (
            "aws s3 mv ../outside/canary.txt s3://sandbox-bucket/x.txt".to_string(),
            "escapes the working directory",
        ),
        (
            format!("aws s3 mv {outside}/canary.txt s3://sandbox-bucket/x.txt"),
            "outside the working directory",
        ),
        (
            "aws s3 mv s3://sandbox-bucket/moved.txt ../outside/stolen.txt".to_string(),
            "escapes the working directory",
        ),
    ] {
        s.refused(&command, why);
    }
    let v = s.run("aws s3 sync s3://sandbox-bucket/pre dirlink --delete");
    assert_eq!(first(&v)["status"], "error", "{v}");
    let v = s.run("aws s3 mv s3://sandbox-bucket/pre dirlink --recursive");
    assert_eq!(first(&v)["status"], "error", "{v}");
    // The objects whose download failed were not deleted.
    let listing = moto
        .http("GET", "/sandbox-bucket?list-type=2", "")
        .unwrap()
        .1;
    assert!(
        listing.contains("<Key>pre/a.txt</Key>") && listing.contains("<Key>pre/sub/b.txt</Key>"),
        "{listing}"
    );

    let mut names: Vec<_> = std::fs::read_dir(&s.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["canary.txt", "input.json"]);
    assert_eq!(
        std::fs::read_to_string(s.outside.join("canary.txt")).unwrap(),
        CANARY
    );
    assert!(!v.to_string().contains(CANARY));
}
