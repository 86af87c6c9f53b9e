//! "No subprocess, ever", checked at run time as well as by the clippy lint: `portcullis serve`
//! runs with a PATH of decoy programs (aws, python, sh, session-manager-plugin, ...) and a profile
//! whose `credential_process` is a decoy too; a realistic session — reads, an approved write,
//! `aws s3 cp` both ways, and the commands the AWS CLI would hand to local programs — must leave
//! every decoy unstarted.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::mcp::{McpEnv, first};
use support::moto::Moto;

const DECOYS: &[&str] = &[
    "aws",
    "python",
    "python3",
    "sh",
    "bash",
    "session-manager-plugin",
    "ssh",
    "kubectl",
    "docker",
    "npm",
    "pip",
    "git",
    "credential-helper",
    "uname",
    "getent",
    "id",
];

fn decoy_bin(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let bin = dir.join("decoy-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in DECOYS {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\nexit 1\n",
                marker.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn a_whole_session_starts_no_program() {
    let moto = Moto::start();
    moto.reset();
    let mut env = McpEnv::new("no-subprocess");
    let marker = env.home.join("spawned.txt");
    let bin = decoy_bin(&env.home, &marker);
    std::fs::write(env.home.join("upload.txt"), "hello").unwrap();
    env.set("PATH", &bin);
    let endpoint = moto.endpoint();
    let run = |command: &str, elicit: &str| {
        env.call(&format!("{command} --endpoint-url {endpoint}"), elicit)
    };

    assert_eq!(
        first(&run("aws sts get-caller-identity", "none"))["status"],
        "success"
    );
    assert_eq!(
        first(&run("aws s3api create-bucket --bucket decoys", "accept"))["status"],
        "success"
    );
    assert_eq!(
        first(&run(
            "aws s3 cp upload.txt s3://decoys/upload.txt",
            "accept"
        ))["status"],
        "success"
    );
    assert_eq!(
        first(&run(
            "aws s3 cp s3://decoys/upload.txt downloaded.txt",
            "accept"
        ))["status"],
        "success"
    );
    assert_eq!(
        std::fs::read_to_string(env.home.join("downloaded.txt")).unwrap(),
        "hello"
    );
    for (command, why) in [
        (
            "aws ecs execute-command --cluster c --task t --interactive --command ls",
            "session-manager-plugin",
        ),
        (
            "aws ssm start-session --target i-0123456789abcdef0",
            "session-manager-plugin",
        ),
        (
            "aws emr ssh --cluster-id j-1 --key-pair-file k.pem",
            "customization",
        ),
        ("aws deploy install --config-file x", "customization"),
        ("aws configure set region eu-west-1", "never run here"),
    ] {
        let v = run(command, "accept");
        assert_eq!(first(&v)["status"], "invalid", "{command}: {v}");
        assert!(
            first(&v)["error"].as_str().unwrap().contains(why),
            "{command}: {v}"
        );
    }
    assert!(
        !marker.exists(),
        "a program was started: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );

    // A profile whose credentials come from a program: refused, never run.
    let config = env.home.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile proc]\ncredential_process = {}\nregion = us-east-1\n",
            bin.join("credential-helper").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &env.home)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_API_MCP_PROFILE_NAME", "proc")
        .env("AWS_API_MCP_WORKING_DIR", &env.home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("credential_process"),
        "the refusal names credential_process: {stderr}"
    );
    assert!(
        !marker.exists(),
        "credential_process was run: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

/// The lint's one exception is the gateway's launcher: no other crate the `portcullis` binary is
/// built from (its own sources and every `portcullis-*` crate it depends on) allows the
/// disallowed types or methods anywhere in its sources.
#[test]
fn only_the_launcher_may_start_a_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut crates = vec![root.join("crates/portcullis/src")];
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        // Build dependencies only: the load generator (a dev-dependency) starts the server it loads.
        if !(section == "[dependencies]" || section.ends_with(".dependencies]")) {
            continue;
        }
        if let Some(name) = line.strip_prefix("portcullis-") {
            let name = name.split(['.', ' ', '=']).next().unwrap();
            crates.push(root.join("crates").join(name).join("src"));
        }
    }
    assert!(
        crates.len() > 10,
        "the dependency list was not read: {crates:?}"
    );
    let mut offenders = Vec::new();
    let mut launcher_allows = false;
    let mut stack = crates.clone();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("clippy::disallowed_types")
                    || text.contains("clippy::disallowed_methods")
                {
                    if path.ends_with("crates/launcher/src/lib.rs") {
                        launcher_allows = true;
                    } else {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        launcher_allows,
        "the launcher is among the binary's crates and holds the exception"
    );
    assert!(
        offenders.is_empty(),
        "only crates/launcher may start a program: {offenders:?}"
    );
}

/// The workspace forbids `unsafe` code; the one exception is the Windows access-control-list
/// module of the platform crate (Win32 security calls), whose crate denies it everywhere else.
/// Every other crate inherits the workspace's `forbid`, and no other source file allows it.
#[test]
fn only_the_windows_access_lists_use_unsafe_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        workspace.contains("unsafe_code = \"forbid\""),
        "the workspace forbids unsafe code"
    );
    let mut allowing = Vec::new();
    let mut crates = 0;
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        crates += 1;
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name == "platform" {
            assert!(
                manifest.contains("unsafe_code = \"deny\"")
                    && !manifest.contains("[lints]\nworkspace = true"),
                "the platform crate denies unsafe code"
            );
            // Its own lint table keeps every clippy lint of the workspace's.
            let clippy = workspace
                .split("[workspace.lints.clippy]")
                .nth(1)
                .unwrap()
                .split("\n[")
                .next()
                .unwrap();
            for lint in clippy.lines().filter(|l| l.contains('=')) {
                assert!(
                    manifest.contains(lint.trim()),
                    "crates/platform lacks {lint}"
                );
            }
        } else {
            assert!(
                manifest.contains("[lints]\nworkspace = true"),
                "crates/{name} inherits the workspace's lints"
            );
        }
        let mut stack = vec![dir.join("src")];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs")
                    && std::fs::read_to_string(&p)
                        .unwrap()
                        .contains("allow(unsafe_code)")
                {
                    allowing.push(
                        p.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
    }
    assert!(crates > 15, "the crates were not read: {crates}");
    assert_eq!(allowing, ["crates/platform/src/windows_acl.rs"]);
}
