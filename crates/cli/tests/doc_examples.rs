//! The AWS CLI documentation examples (shipped by the pinned awscli, extracted with the pinned
//! awscli's verdict by `scripts/doc_examples.py` into `corpus/doc-examples.jsonl`): every command
//! the AWS CLI accepts is accepted by Portcullis, or refused for a reason on the documented list
//! of deliberate refusals (`docs/cli-fidelity.md`). The counts are printed and pinned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use portcullis_cli::{AllowAll, CommandError, Parser, ProblemKind};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The deliberate refusals (docs/cli-fidelity.md), each recognised by its problem kind and the
/// words of its message. Anything else is a failure of this test.
const DELIBERATE: &[(&str, ProblemKind, &str)] = &[
    (
        "shell syntax: no shell runs, so no pipe, redirect, substitution or variable",
        ProblemKind::ShellSyntax,
        "",
    ),
    ("an option given twice", ProblemKind::DuplicateOption, ""),
    (
        "commands that change local configuration or start local programs",
        ProblemKind::Unsupported,
        "is refused:",
    ),
    (
        "CLI-only commands that change local configuration",
        ProblemKind::Unsupported,
        "exists only in the CLI",
    ),
    (
        "customizations not run yet (listed in docs/cli-fidelity.md, each with the API operations to use)",
        ProblemKind::Unsupported,
        "customization",
    ),
    (
        "`aws s3` subcommands not run yet",
        ProblemKind::Unsupported,
        "is not run by Portcullis yet",
    ),
    (
        "options of `aws s3` commands not run yet",
        ProblemKind::Unsupported,
        "is not supported by Portcullis yet",
    ),
    (
        "streaming `aws s3 cp` from standard input or to standard output (`-`)",
        ProblemKind::Unsupported,
        "standard input or to standard output",
    ),
    (
        "access point and Outposts ARNs in `aws s3` commands",
        ProblemKind::Unsupported,
        "access point and Outposts ARNs",
    ),
    (
        "event-stream responses (`s3api select-object-content`)",
        ProblemKind::Unsupported,
        "event stream",
    ),
    (
        "parameter files that are not regular files beneath the working directory",
        ProblemKind::BadFile,
        "",
    ),
];

fn category(err: &CommandError) -> Option<&'static str> {
    // A deliberate refusal among the problems decides (the others may follow from it).
    err.problems.iter().find_map(|p| {
        DELIBERATE
            .iter()
            .find(|(_, kind, words)| p.kind == *kind && p.message.contains(words))
            .map(|(name, _, _)| *name)
    })
}

#[test]
fn every_example_the_cli_accepts_is_accepted_or_deliberately_refused() {
    let text = std::fs::read_to_string(corpus_dir().join("doc-examples.jsonl")).unwrap();
    let files = AllowAll::new(corpus_dir());
    let parser = Parser::new(&files);
    let (mut total, mut cli_accepts, mut accepted) = (0usize, 0usize, 0usize);
    let mut deliberate: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut customizations: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        total += 1;
        if row["awscli"] != "accepts" {
            continue;
        }
        cli_accepts += 1;
        let command = row["command"].as_str().unwrap();
        match parser.parse(command) {
            Ok(_) => accepted += 1,
            Err(e) => match category(&e) {
                Some(c) => {
                    *deliberate.entry(c).or_default() += 1;
                    if c.starts_with("customizations") {
                        let words: Vec<&str> = command.split_whitespace().take(3).collect();
                        *customizations.entry(words.join(" ")).or_default() += 1;
                    }
                }
                None => failures.push(format!(
                    "{} ({}): {e}",
                    command.chars().take(200).collect::<String>(),
                    row["source"]
                )),
            },
        }
    }
    eprintln!(
        "AWS CLI documentation examples: {total} commands; the pinned awscli accepts {cli_accepts}; Portcullis accepts {accepted}"
    );
    for (c, n) in &deliberate {
        eprintln!("  refused on purpose, {n}: {c}");
    }
    let list: Vec<String> = customizations
        .iter()
        .map(|(c, n)| format!("{c} ({n})"))
        .collect();
    eprintln!("  customizations not run yet: {}", list.join(", "));
    assert!(
        total > 5000 && cli_accepts > 3000,
        "{total} / {cli_accepts}: regenerate with scripts/doc_examples.py"
    );
    assert!(
        failures.is_empty(),
        "{} of {cli_accepts} commands the AWS CLI accepts are refused for no documented reason:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
