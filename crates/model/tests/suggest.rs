//! Quality of `suggest_aws_commands`' ranking, measured on a fixed set of plain-words intents
//! (`tests/data/intents.json`): recall@1 and recall@5 must stay above the floors below, and the
//! examples the issue names must rank exactly as it asks. Run with `--nocapture` for the report.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Instant;

use portcullis_model::models;
use portcullis_model::suggest::index;
use serde::Deserialize;

/// Floors a little under what the ranking reaches today (see the report printed by the test).
const MIN_RECALL_AT_1: f64 = 0.88;
const MIN_RECALL_AT_5: f64 = 0.95;

#[derive(Deserialize)]
struct Intent {
    query: String,
    /// Every acceptable `aws <command> <operation>`.
    expect: Vec<String>,
}

fn intents() -> Vec<Intent> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/intents.json");
    let raw = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// The CLI's high-level commands Portcullis runs, which are no API operation.
const CUSTOM: &[&str] = &[
    "aws s3 ls",
    "aws s3 cp",
    "aws s3 mv",
    "aws s3 rm",
    "aws s3 sync",
    "aws s3 mb",
    "aws s3 rb",
    "aws s3 presign",
    "aws cloudformation deploy",
    "aws ecr get-login-password",
    "aws eks get-token",
    "aws rds generate-db-auth-token",
];

/// Whether `aws <command> <operation>` exists (so a typo in the data cannot pass silently).
fn exists(command: &str) -> bool {
    if CUSTOM.contains(&command) {
        return true;
    }
    let mut words = command.split(' ').skip(1);
    let (Some(cli), Some(op)) = (words.next(), words.next()) else {
        return false;
    };
    let m = models();
    let Some(service) = m.command(cli).and_then(|c| c.service.clone()) else {
        return false;
    };
    m.service_cli(&service)
        .is_ok_and(|c| c.operation_for(op).is_some())
}

fn top(query: &str, k: usize) -> Vec<String> {
    index()
        .search(query, k)
        .into_iter()
        .map(|s| s.command)
        .collect()
}

#[test]
fn recall_on_the_intent_set() {
    let start = Instant::now();
    let idx = index();
    let built = start.elapsed();
    let intents = intents();
    assert!(intents.len() >= 100, "only {} intents", intents.len());
    let (mut at1, mut at5) = (0usize, 0usize);
    let mut misses = Vec::new();
    let start = Instant::now();
    for intent in &intents {
        for e in &intent.expect {
            assert!(exists(e), "{}: {e} is no CLI command", intent.query);
        }
        let got: Vec<String> = idx
            .search(&intent.query, 5)
            .into_iter()
            .map(|s| s.command)
            .collect();
        let rank = got.iter().position(|c| intent.expect.contains(c));
        match rank {
            Some(0) => {
                at1 += 1;
                at5 += 1;
            }
            Some(r) => {
                at5 += 1;
                misses.push(format!("  @{} {:?} -> {:?}", r + 1, intent.query, got));
            }
            None => misses.push(format!("  MISS {:?} -> {:?}", intent.query, got)),
        }
    }
    let queries = start.elapsed();
    // Again, now that the services of the suggestions are decoded (their required options).
    let start = Instant::now();
    for intent in &intents {
        idx.search(&intent.query, 5);
    }
    let warm = start.elapsed();
    let n = intents.len() as f64;
    let (r1, r5) = (at1 as f64 / n, at5 as f64 / n);
    println!(
        "suggest: {} intents, recall@1 {r1:.3} ({at1}), recall@5 {r5:.3} ({at5}); index of {} \
         operations built in {built:?}; {:?} per query cold, {:?} warm",
        intents.len(),
        idx.len(),
        queries / intents.len() as u32,
        warm / intents.len() as u32
    );
    for m in &misses {
        println!("{m}");
    }
    assert!(
        r1 >= MIN_RECALL_AT_1,
        "recall@1 {r1:.3} < {MIN_RECALL_AT_1}"
    );
    assert!(
        r5 >= MIN_RECALL_AT_5,
        "recall@5 {r5:.3} < {MIN_RECALL_AT_5}"
    );
}

#[test]
fn the_issue_examples_rank_as_asked() {
    let ec2 = top("list running EC2 instances in us-east-1", 5);
    assert_eq!(ec2[0], "aws ec2 describe-instances", "{ec2:?}");

    let stop = top("stop an ec2 instance", 10);
    let pos = |c: &str| stop.iter().position(|s| s == c);
    let s = pos("aws ec2 stop-instances").expect("stop-instances suggested");
    assert_eq!(s, 0, "{stop:?}");
    assert!(
        pos("aws ec2 terminate-instances").is_none_or(|t| t > s),
        "{stop:?}"
    );

    let who = top("who am i", 5);
    assert_eq!(who[0], "aws sts get-caller-identity", "{who:?}");

    let cp = index().search("copy files to S3", 5);
    let hit = cp.iter().find(|s| s.command == "aws s3 cp");
    let hit = hit.unwrap_or_else(|| panic!("no s3 cp in {cp:?}"));
    assert_eq!(cp[0].command, "aws s3 cp", "{cp:?}");
    assert!(hit.summary.is_some() && !hit.required.is_empty(), "{hit:?}");
}
