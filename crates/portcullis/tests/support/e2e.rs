//! What the end-to-end suites share: the corpus format (`== name`, `setup: cmd`, `run: cmd`) and
//! the clean environment a command runs in, for the pinned awscli and `portcullis exec` alike.
#![allow(clippy::disallowed_types)] // the environment of the programs the suites run
#![allow(dead_code)] // each suite uses its part

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/e2e`: the corpora and the files they use.
pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// One corpus case: setup commands, then the command compared.
pub struct Case {
    pub name: String,
    pub setup: Vec<String>,
    pub run: String,
}

/// The cases of `tests/e2e/<file>`.
pub fn corpus(file: &str) -> Vec<Case> {
    let text =
        std::fs::read_to_string(e2e_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            cases.push(Case {
                name: name.trim().to_string(),
                setup: Vec::new(),
                run: String::new(),
            });
        } else if let Some(cmd) = line.strip_prefix("setup: ") {
            cases
                .last_mut()
                .unwrap_or_else(|| panic!("{file}: `setup:` before a case"))
                .setup
                .push(cmd.to_string());
        } else if let Some(cmd) = line.strip_prefix("run: ") {
            cases
                .last_mut()
                .unwrap_or_else(|| panic!("{file}: `run:` before a case"))
                .run = cmd.to_string();
        }
    }
    cases
}

/// A clean environment in `dir`: fake credentials, us-east-1, no configuration or credentials
/// file, no instance metadata, and `portcullis exec` unrestricted (the corpora compare outputs, so
/// nothing asks). Callers add or override variables after this.
pub fn clean_env(cmd: &mut Command, dir: &Path, home: &Path) {
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PORTCULLIS_MODE", "unrestricted");
}
