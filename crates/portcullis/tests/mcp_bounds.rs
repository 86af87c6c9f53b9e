//! The bounds and the egress guard as the agent meets them through `portcullis serve` (stdio, the
//! Python MCP client, moto): a listing cut by the per-call item bound says so and gives the token
//! to go on; a silent endpoint is cut off by the per-call deadline; instance-metadata and
//! link-local endpoints are refused in every spelling; oversized commands are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::{Value, json};
use support::mcp::{McpEnv, first};
use support::moto::Moto;

#[test]
fn item_bound_and_deadline_are_reported() {
    let moto = Moto::start();
    moto.reset();
    let mut env = McpEnv::new("mcp-bounds");
    env.set("PORTCULLIS_MODE", "unrestricted")
        .set("PORTCULLIS_MAX_ITEMS", "2")
        .set("PORTCULLIS_CALL_TIMEOUT", "2");
    let endpoint = moto.endpoint();
    let run = |command: &str| env.call(&format!("{command} --endpoint-url {endpoint}"), "none");
    for i in 0..5 {
        assert_eq!(
            first(&run(&format!("aws iam create-user --user-name bound-{i}")))["status"],
            "success"
        );
    }
    let v = run("aws iam list-users");
    assert_eq!(first(&v)["status"], "success", "{v}");
    let output = first(&v)["output"].as_str().unwrap();
    assert!(
        output.contains("[output truncated") && output.contains("--starting-token"),
        "{output}"
    );
    let json_part = &output[..output.rfind("[output truncated").unwrap()];
    let page: Value = serde_json::from_str(json_part.trim()).unwrap();
    assert_eq!(page["Users"].as_array().unwrap().len(), 2, "{output}");
    let token = page["NextToken"].as_str().unwrap().to_string();
    // The agent goes on from the token.
    let v = run(&format!("aws iam list-users --starting-token {token}"));
    let output = first(&v)["output"].as_str().unwrap();
    assert!(output.contains("bound-2"), "{output}");

    // An endpoint that accepts and never answers: the call ends at the deadline, with the reason.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in silent.incoming().take(4) {
            conns.push(c);
        }
        std::thread::sleep(std::time::Duration::from_secs(8));
    });
    let started = std::time::Instant::now();
    let v = env.call(
        &format!("aws sts get-caller-identity --endpoint-url http://127.0.0.1:{port}"),
        "none",
    );
    let took = started.elapsed();
    assert_eq!(first(&v)["status"], "error", "{v}");
    let error = first(&v)["error"].as_str().unwrap();
    assert!(
        error.contains("deadline") || error.contains("timed out"),
        "{error}"
    );
    assert!(
        took < std::time::Duration::from_secs(8),
        "the deadline held: {took:?}"
    );
    drop(held);
}

#[test]
fn metadata_and_link_local_endpoints_are_refused() {
    let env = McpEnv::new("mcp-egress");
    for url in [
        "http://169.254.169.254",
        "http://169.254.169.254:80/latest",
        "http://[fd00:ec2::254]",
        "http://2852039166",
        "http://0xA9FEA9FE",
        "http://0251.0376.0251.0376",
        "http://169.254.170.2",
        "http://[fe80::1]",
        "http://[::ffff:169.254.169.254]",
        "http://0.0.0.0:9000",
        "http://10.1.2.3",
        "http://metadata.google.internal",
    ] {
        let v = env.call(
            &format!("aws sts get-caller-identity --endpoint-url {url}"),
            "none",
        );
        assert_eq!(v["is_error"], true, "{url}: {v}");
        let status = first(&v)["status"].as_str().unwrap();
        assert!(status == "denied" || status == "invalid", "{url}: {v}");
    }
    // Oversized: a command over the length bound, and a batch over 20.
    let long = format!(
        "aws sqs send-message --queue-url q --message-body {}",
        "x".repeat(300 * 1024)
    );
    let file = env.home.join("long.json");
    std::fs::write(&file, json!({ "cli_command": long }).to_string()).unwrap();
    let v = env.client(&["call", "call_aws", &format!("@{}", file.display())]);
    assert_eq!(first(&v)["status"], "invalid", "{}", &v.to_string()[..300]);
    assert!(
        first(&v)["error"].as_str().unwrap().contains("bytes"),
        "{}",
        first(&v)["error"]
    );
    let v = env.client(&[
        "call",
        "call_aws",
        &json!({ "cli_command": vec!["aws sts get-caller-identity"; 21] }).to_string(),
    ]);
    assert_eq!(v["is_error"], true);
    assert!(v["text"][0].as_str().unwrap().contains("at most 20"), "{v}");
}

#[test]
fn a_batch_shares_one_deadline_and_runs_its_commands_a_few_at_a_time() {
    // A tarpit: accepts every connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        silent.set_nonblocking(true).unwrap();
        let mut conns = Vec::new();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < until && conns.len() < 64 {
            match silent.accept() {
                Ok(c) => conns.push(c),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        conns.len()
    });
    let mut env = McpEnv::new("mcp-batch-deadline");
    env.set("PORTCULLIS_MODE", "unrestricted")
        .set("PORTCULLIS_CALL_TIMEOUT", "2");
    let batch: Vec<String> = (0..20)
        .map(|i| {
            format!("aws sqs list-queues --queue-name-prefix q{i} --endpoint-url http://127.0.0.1:{port}")
        })
        .collect();
    let file = env.home.join("batch.json");
    std::fs::write(&file, json!({ "cli_command": batch }).to_string()).unwrap();
    let started = std::time::Instant::now();
    let v = env.client(&["call", "call_aws", &format!("@{}", file.display())]);
    let took = started.elapsed();
    // Before: one 2 s deadline per command, one after the other (40 s).
    assert!(
        took < std::time::Duration::from_secs(10),
        "the batch took {took:?}"
    );
    let results = v["structured_content"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 20, "{v}");
    // The first commands meet the deadline; once five have timed out the endpoint's breaker is
    // open and the rest fail fast, unsent.
    for (i, r) in results.iter().enumerate() {
        let e = r["error"].as_str().unwrap();
        match r["status"].as_str().unwrap() {
            "error" => assert!(e.contains("deadline"), "{e}"),
            "breaker_open" if i >= 5 => assert!(e.contains("sqs/us-east-1"), "{e}"),
            _ => panic!("{i}: {r}"),
        }
    }
    assert!(results[..5].iter().all(|r| r["status"] == "error"), "{v}");
    drop(held);
}
