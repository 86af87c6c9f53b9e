//! `portcullis gateway` against real upstream MCP servers, driven by the official Python MCP
//! client: a hostile upstream written for these tests (tests/gateway/hostile.py: a description
//! changed after the 3rd call, a tool added, one renamed, tag characters, a parameter asking for
//! a key), two of them side by side for credential isolation, and the policy's deny and consent.
//! The upstreams from the registries are in tests/gateway_upstreams.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the Python client, the upstreams

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::gateway::{Gw, names};
use support::serve::temp_home;

fn hostile() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/hostile.py")
}

fn hostile_config(gw_home_hint: &str, mode: &str, policy: &str) -> String {
    format!(
        "{policy}\n[upstreams.hostile]\ncommand = \"python3\"\nargs = [\"{}\"]\npass_env = [\"PATH\"]\nenv = {{ HOSTILE_MODE = \"{mode}\", HOSTILE_RECORD = \"{gw_home_hint}/hostile.calls\" }}\n",
        hostile().display()
    )
}

/// A gateway on the hostile upstream in `mode`, not pinned yet.
fn unpinned(tag: &str, mode: &str, policy: &str) -> Gw {
    let home = temp_home(tag);
    let config = hostile_config(&home.display().to_string(), mode, policy);
    std::fs::write(home.join("gateway.toml"), &config).unwrap();
    Gw {
        config: home.join("gateway.toml"),
        home,
        extra: Vec::new(),
    }
}

/// A gateway on the hostile upstream in `mode`, pinned (the pin must succeed).
fn pinned(tag: &str, mode: &str, policy: &str) -> Gw {
    let gw = unpinned(tag, mode, policy);
    let (code, out) = gw.pin(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hostile: hostile 1.0.0"), "{out}");
    gw
}

fn echo(n: usize) -> Value {
    json!({"op": "call", "tool": "hostile__echo", "args": {"text": format!("hi {n}")}})
}

fn drift_records(gw: &Gw) -> Vec<Value> {
    gw.audit()
        .into_iter()
        .filter(|r| r["event"]["kind"] == "drift" || r["kind"] == "drift")
        .collect()
}

#[test]
fn a_description_changed_after_the_third_call_is_quarantined_and_never_called() {
    let gw = pinned("gw-rug", "rug-description", "");
    let steps = gw.session(json!([
        {"op": "list"},
        echo(1), echo(2), echo(3),
        {"op": "wait_absent", "tool": "hostile__echo", "seconds": 10},
        echo(4),
        {"op": "list"},
    ]));
    assert!(names(&steps[0]).contains(&"hostile__echo".to_string()));
    for s in &steps[1..4] {
        assert_eq!(s["is_error"], false, "{s}");
    }
    assert_eq!(steps[4]["absent"], true, "{}", steps[4]);
    let refused = &steps[5];
    assert_eq!(refused["is_error"], true);
    let text = refused["text"][0].as_str().unwrap();
    assert!(text.contains("`hostile__echo` is quarantined"), "{text}");
    assert!(text.contains("description changed"), "{text}");
    assert!(
        text.contains("portcullis gateway approve hostile echo"),
        "{text}"
    );
    assert!(!names(&steps[6]).contains(&"hostile__echo".to_string()));
    // The other tools are still served.
    assert!(names(&steps[6]).contains(&"hostile__add".to_string()));
    // Three calls reached the upstream, not the fourth.
    assert_eq!(gw.calls("hostile").len(), 3, "{:?}", gw.calls("hostile"));
    // One drift record with the diff and the scan's findings.
    let drift = drift_records(&gw);
    assert_eq!(drift.len(), 1, "{drift:?}");
    let d = drift[0].to_string();
    assert!(d.contains("/description"), "{d}");
    assert!(d.contains("model-instruction"), "{d}");
    gw.verify_audit();

    // Approval: the scan finding blocks it unless forced.
    let out = gw
        .command(&["gateway", "approve", "hostile", "echo"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not approved"), "{text}");
    let out = gw
        .command(&["gateway", "approve", "--force", "hostile", "echo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(gw.home.join("gateway.lock.json")).unwrap())
            .unwrap();
    let pinned = &lock["upstreams"]["hostile"]["tools"]["echo"];
    assert!(
        pinned["definition"]["description"]
            .as_str()
            .unwrap()
            .contains("~/.aws/credentials"),
        "{pinned}"
    );
    assert!(!pinned["acceptedFindings"].as_array().unwrap().is_empty());
}

#[test]
fn a_silent_change_is_caught_by_the_next_listing() {
    let gw = pinned("gw-silent", "silent-rug", "");
    let steps = gw.session(json!([
        echo(1), echo(2), echo(3),
        {"op": "list"},
        echo(4),
    ]));
    assert!(
        !names(&steps[3]).contains(&"hostile__echo".to_string()),
        "{}",
        steps[3]
    );
    assert_eq!(steps[4]["is_error"], true);
    assert_eq!(gw.calls("hostile").len(), 3);
}

#[test]
fn an_added_tool_is_never_served() {
    let gw = pinned("gw-add", "add-tool", "");
    let steps = gw.session(json!([
        echo(1), echo(2), echo(3),
        {"op": "notified", "seconds": 1},
        {"op": "list"},
        {"op": "call", "tool": "hostile__exfiltrate", "args": {"data": "x"}, "elicit": "accept"},
    ]));
    assert!(!names(&steps[4]).contains(&"hostile__exfiltrate".to_string()));
    assert!(names(&steps[4]).contains(&"hostile__echo".to_string()));
    let text = steps[5]["text"][0].as_str().unwrap();
    assert!(
        text.contains("quarantined: a new tool the pin file does not have"),
        "{text}"
    );
    assert!(steps[5]["prompts"].as_array().unwrap().is_empty());
    assert!(!gw.calls("hostile").iter().any(|c| c.contains("exfiltrate")));
    assert_eq!(drift_records(&gw).len(), 1);
}

#[test]
fn a_renamed_tool_is_recognised_and_neither_name_is_called() {
    let gw = pinned("gw-rename", "rename", "");
    let steps = gw.session(json!([
        echo(1), echo(2),
        {"op": "call", "tool": "hostile__add", "args": {"a": 2, "b": 3}},
        {"op": "notified", "seconds": 1},
        {"op": "list"},
        {"op": "call", "tool": "hostile__sum", "args": {"a": 1, "b": 1}},
        {"op": "call", "tool": "hostile__add", "args": {"a": 1, "b": 1}},
    ]));
    assert_eq!(steps[2]["structured_content"]["sum"], 5);
    let listed = names(&steps[4]);
    assert!(
        !listed.contains(&"hostile__sum".to_string())
            && !listed.contains(&"hostile__add".to_string()),
        "{listed:?}"
    );
    let sum = steps[5]["text"][0].as_str().unwrap();
    assert!(sum.contains("the pinned tool `add` renamed"), "{sum}");
    let add = steps[6]["text"][0].as_str().unwrap();
    assert!(add.contains("no longer lists this pinned tool"), "{add}");
    assert_eq!(gw.calls("hostile").len(), 3);
}

#[test]
fn hidden_tag_characters_and_a_secret_parameter_are_held_back_by_the_scan() {
    for (mode, tool, finding) in [
        ("tag-chars", "echo", "IGNORE PREVIOUS INSTRUCTIONS"),
        ("secret-arg", "write_note", "aws_secret_access_key"),
    ] {
        let gw = unpinned(&format!("gw-{mode}"), mode, "");
        let (code, out) = gw.pin(&[]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!("NOT PINNED tool hostile__{tool}")),
            "{out}"
        );
        assert!(out.contains(finding), "{out}");
        let args = if tool == "echo" {
            json!({"text": "x"})
        } else {
            json!({"id": "n", "body": "b", "aws_secret_access_key": "k"})
        };
        let steps = gw.session(json!([
            {"op": "list"},
            {"op": "call", "tool": format!("hostile__{tool}"), "args": args, "elicit": "accept"},
        ]));
        assert!(
            !names(&steps[0]).contains(&format!("hostile__{tool}")),
            "{mode}: {}",
            steps[0]
        );
        assert!(names(&steps[0]).contains(&"hostile__add".to_string()));
        assert_eq!(steps[1]["is_error"], true);
        assert!(
            steps[1]["text"][0]
                .as_str()
                .unwrap()
                .contains("quarantined"),
            "{}",
            steps[1]
        );
        assert!(
            gw.calls("hostile").is_empty(),
            "{mode}: {:?}",
            gw.calls("hostile")
        );
        // Forced, it is pinned with its findings kept for the reviewer.
        let (code, out) = gw.pin(&["--force"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!("forced tool hostile__{tool}")),
            "{out}"
        );
    }
}

#[test]
fn deny_consent_and_unannotated_writes_follow_the_policy() {
    let gw = pinned(
        "gw-policy",
        "benign",
        "[policy]\ndeny = [\"hostile__add\"]\n",
    );
    let steps = gw.session(json!([
        {"op": "call", "tool": "hostile__add", "args": {"a": 1, "b": 2}},
        // write_note claims readOnlyHint false: a write, so it asks (consent-writes).
        {"op": "call", "tool": "hostile__write_note", "args": {"id": "a", "body": "declined"}, "elicit": "decline"},
        {"op": "call", "tool": "hostile__write_note", "args": {"id": "b", "body": "approved"}, "elicit": "accept"},
        {"op": "call", "tool": "hostile__echo", "args": {"text": "read"}, "elicit": "decline"},
    ]));
    let denied = steps[0]["text"][0].as_str().unwrap();
    assert!(
        denied.contains("the gateway policy denies `hostile__add`"),
        "{denied}"
    );
    assert!(
        denied.contains("`policy.deny` rule `hostile__add`"),
        "{denied}"
    );
    assert_eq!(steps[1]["is_error"], true);
    assert_eq!(steps[1]["prompts"].as_array().unwrap().len(), 1);
    let prompt = steps[1]["prompts"][0].as_str().unwrap();
    assert!(
        prompt.contains("hostile__write_note") && prompt.contains("\"declined\""),
        "{prompt}"
    );
    assert!(prompt.contains("Request digest: sha256:"), "{prompt}");
    assert_eq!(steps[2]["is_error"], false, "{}", steps[2]);
    assert_eq!(steps[2]["text"][0], "stored b");
    // A read runs without asking.
    assert_eq!(steps[3]["is_error"], false);
    assert!(steps[3]["prompts"].as_array().unwrap().is_empty());
    assert_eq!(
        gw.calls("hostile"),
        vec!["tools/call write_note", "tools/call echo"]
    );
    // One record per call, with the decision, the outcome and the arguments' digest.
    let calls: Vec<Value> = gw
        .audit()
        .into_iter()
        .filter(|r| r.to_string().contains("argumentsSha256"))
        .collect();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let text = Value::Array(calls).to_string();
    for outcome in ["\"denied\"", "\"not_approved\"", "\"ok\""] {
        assert!(text.contains(outcome), "{outcome}: {text}");
    }
    assert!(!text.contains("approved\"}") || text.contains("\"consent\":\"approved\""));
    gw.verify_audit();
}

#[test]
fn an_upstream_sees_only_its_own_environment() {
    let home = temp_home("gw-env");
    let config = format!(
        "[policy]\nmode = \"allow\"\n[upstreams.a]\ncommand = \"python3\"\nargs = [\"{h}\"]\npass_env = [\"PATH\"]\nenv = {{ A_TOKEN = \"a-only\" }}\n[upstreams.b]\ncommand = \"python3\"\nargs = [\"{h}\"]\npass_env = [\"PATH\"]\nenv = {{ B_TOKEN = \"b-only\" }}\naws_profile = \"b-profile\"\n",
        h = hostile().display()
    );
    std::fs::write(home.join("gateway.toml"), config).unwrap();
    let gw = Gw {
        config: home.join("gateway.toml"),
        home,
        extra: Vec::new(),
    };
    let (code, out) = gw.pin(&[]);
    assert_eq!(code, 0, "{out}");
    let probe = json!([
        "A_TOKEN",
        "B_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "GATEWAY_ONLY",
        "HOME",
        "PORTCULLIS_GATEWAY_CONFIG"
    ]);
    let steps = gw.session(json!([
        {"op": "call", "tool": "a__env_probe", "args": {"names": probe}},
        {"op": "call", "tool": "b__env_probe", "args": {"names": probe}},
    ]));
    let seen = |i: usize| -> Value {
        serde_json::from_str(steps[i]["text"][0].as_str().unwrap()).unwrap()
    };
    let a = seen(0);
    let b = seen(1);
    assert_eq!(a["A_TOKEN"], true);
    assert_eq!(a["B_TOKEN"], false);
    assert_eq!(b["A_TOKEN"], false);
    assert_eq!(b["B_TOKEN"], true);
    assert_eq!(b["AWS_PROFILE"], true, "{b}");
    assert_eq!(a["AWS_PROFILE"], false);
    for v in [&a, &b] {
        for gateway_own in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "GATEWAY_ONLY",
            "PORTCULLIS_GATEWAY_CONFIG",
        ] {
            assert_eq!(v[gateway_own], false, "{gateway_own} leaked: {v}");
        }
    }
    // HOME only for the upstream with a profile (where its profile is defined).
    assert_eq!(a["HOME"], false);
    assert_eq!(b["HOME"], true);
}

#[test]
fn a_bad_configuration_says_what_to_change() {
    let gw = Gw::new(
        "gw-bad",
        "[upstreams.x]\ncommand = \"python3\"\npass_env = [\"AWS_SECRET_ACCESS_KEY\"]\n[policy]\ndeny = [\"write_file\"]\n",
    );
    let out = gw.command(&["gateway", "serve"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("`AWS_SECRET_ACCESS_KEY` may not be passed"),
        "{err}"
    );
    assert!(err.contains("names no upstream"), "{err}");
    let none = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["gateway", "pin"])
        .env_clear()
        .env("HOME", &gw.home)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&none.stderr)
            .contains("pass --config FILE or set PORTCULLIS_GATEWAY_CONFIG")
    );
    let _ = Path::new("");
}

#[test]
fn pinned_prompts_are_served_prefixed_redacted_and_denied_by_name() {
    let gw = pinned("gw-prompts", "benign", "");
    let steps = gw.session(json!([
        {"op": "prompts"},
        {"op": "get_prompt", "name": "hostile__summarize", "args": {"text": "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
        {"op": "get_prompt", "name": "hostile__nothing", "args": {}},
    ]));
    assert_eq!(steps[0]["prompts"], json!(["hostile__summarize"]));
    assert_eq!(steps[1]["error"], Value::Null, "{}", steps[1]);
    let text = steps[1]["messages"][0].as_str().unwrap();
    assert!(text.starts_with("Summarize this: "), "{text}");
    assert!(
        !text.contains("wJalrXUtnFEMI"),
        "a secret passed through: {text}"
    );
    assert!(
        steps[2]["error"]
            .as_str()
            .unwrap()
            .contains("unknown prompt `hostile__nothing`"),
        "{}",
        steps[2]
    );

    // A deny rule names prompts as it names tools: nothing reaches the upstream.
    let denied = pinned(
        "gw-prompts-deny",
        "benign",
        "[policy]\ndeny = [\"hostile__summ*\"]\n",
    );
    let steps = denied.session(json!([
        {"op": "get_prompt", "name": "hostile__summarize", "args": {"text": "x"}},
    ]));
    let error = steps[0]["error"].as_str().unwrap();
    assert!(
        error.contains("the gateway policy denies `hostile__summarize`"),
        "{error}"
    );
    let log = std::fs::read_to_string(denied.record("hostile")).unwrap_or_default();
    assert!(!log.contains("prompts/get"), "{log}");
    let text = Value::Array(denied.audit()).to_string();
    assert!(
        text.contains("\"method\":\"prompts/get\"") && text.contains("\"denied\""),
        "{text}"
    );
    denied.verify_audit();
}

#[test]
fn cedar_policies_decide_on_the_arguments() {
    let gw = unpinned(
        "gw-cedar",
        "benign",
        "[policy]\nmode = \"allow\"\ncedar = \"tools.cedar\"\n",
    );
    std::fs::write(
        gw.home.join("tools.cedar"),
        r#"
@id("notes-only-under-ok")
@reason("notes are written under ok-")
forbid (principal, action == Portcullis::Action::"CallTool", resource == Portcullis::Tool::"hostile__write_note")
unless { context.arguments has id && context.arguments.id like "ok-*" };

@id("sums-are-reviewed")
@consent("a person checks every sum")
permit (principal, action, resource) when { resource.name == "add" };

@id("echo-runs")
permit (principal, action, resource) when { resource.upstream == "hostile" && context.readOnly };
"#,
    )
    .unwrap();
    let (code, out) = gw.pin(&[]);
    assert_eq!(code, 0, "{out}");
    let steps = gw.session(json!([
        {"op": "call", "tool": "hostile__write_note", "args": {"id": "/etc/x", "body": "no"}},
        {"op": "call", "tool": "hostile__write_note", "args": {"id": "ok-1", "body": "yes"}},
        {"op": "call", "tool": "hostile__add", "args": {"a": 1, "b": 2}, "elicit": "decline"},
        {"op": "call", "tool": "hostile__echo", "args": {"text": "t"}},
    ]));
    let denied = steps[0]["text"][0].as_str().unwrap();
    assert!(denied.contains("Cedar policy `notes-only-under-ok` forbids `hostile__write_note`: notes are written under ok-"), "{denied}");
    assert_eq!(steps[1]["is_error"], false, "{}", steps[1]);
    assert_eq!(
        steps[2]["prompts"].as_array().unwrap().len(),
        1,
        "{}",
        steps[2]
    );
    assert!(
        steps[2]["prompts"][0]
            .as_str()
            .unwrap()
            .contains("a person checks every sum")
    );
    assert_eq!(steps[3]["is_error"], false);
    assert_eq!(
        gw.calls("hostile"),
        vec!["tools/call write_note", "tools/call echo"]
    );

    // A misspelt argument stops the gateway with the line, before anything is served.
    std::fs::write(
        gw.home.join("tools.cedar"),
        "@id(\"typo\")\nforbid (principal, action, resource) when { context.arguments.idd == \"x\" };\n",
    )
    .unwrap();
    let out = gw
        .command(&["gateway", "serve"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("tools.cedar") && err.contains("line 2, column"),
        "{err}"
    );
}

#[test]
fn a_streamable_http_upstream_gets_the_gateways_own_token_only() {
    use std::io::{BufRead, BufReader};
    let gw = unpinned("gw-http", "benign", "");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/http_upstream.py");
    let auth_log = gw.home.join("auth.log");
    let mut server = Command::new("python3")
        .arg(&script)
        .env("PORT", "0")
        .env("EXPECTED_TOKEN", "gw-outbound-token-0123")
        .env("HOSTILE_AUTH_LOG", &auth_log)
        .env("HOSTILE_RECORD", gw.record("web"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("http_upstream.py ended before listening")
            .unwrap();
        if let Some(p) = line.strip_prefix("listening on ") {
            break p.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    std::fs::write(gw.home.join("web.token"), "gw-outbound-token-0123\n").unwrap();
    std::fs::write(
        &gw.config,
        format!(
            "[policy]\nmode = \"allow\"\n[upstreams.web]\nurl = \"http://127.0.0.1:{port}/mcp\"\nbearer_token_file = \"web.token\"\n"
        ),
    )
    .unwrap();
    let (code, out) = gw.pin(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("web: hostile 1.0.0"), "{out}");
    let steps = gw.session(json!([
        {"op": "list"},
        {"op": "call", "tool": "web__echo", "args": {"text": "over http"}},
    ]));
    // A wrong token: refused by the upstream, and the message says where the token comes from.
    std::fs::write(gw.home.join("web.token"), "not-the-token\n").unwrap();
    let (code, wrong) = gw.pin(&[]);
    std::fs::write(gw.home.join("web.token"), "gw-outbound-token-0123\n").unwrap();
    assert_ne!(code, 0, "{wrong}");
    assert!(
        wrong.contains("answered 401: check its `bearer_token_file`"),
        "{wrong}"
    );
    assert!(
        !wrong.contains("not-the-token"),
        "the token was printed: {wrong}"
    );
    server.kill().ok();
    server.wait().ok();
    assert!(
        names(&steps[0]).contains(&"web__echo".to_string()),
        "{}",
        steps[0]
    );
    assert_eq!(steps[1]["text"][0], "over http", "{}", steps[1]);
    assert_eq!(gw.calls("web"), vec!["tools/call echo"]);
    // Every request carried the configured token (the last one, the wrong token on purpose).
    let log = std::fs::read_to_string(&auth_log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 5, "{log}");
    assert_eq!(lines.last(), Some(&"other"), "{log}");
    assert!(lines[..lines.len() - 1].iter().all(|l| *l == "ok"), "{log}");

    // Plain HTTP to another machine, and a credential in the URL, are refused before anything starts.
    std::fs::write(
        &gw.config,
        "[upstreams.web]\nurl = \"http://mcp.example.com/mcp\"\n",
    )
    .unwrap();
    let (code, out) = gw.pin(&[]);
    assert_ne!(code, 0);
    assert!(
        out.contains("plain HTTP to another machine: use https://"),
        "{out}"
    );
    std::fs::write(
        &gw.config,
        "[upstreams.web]\nurl = \"https://u:p@169.254.169.254/mcp\"\nenv = { A = \"1\" }\n",
    )
    .unwrap();
    let (_, out) = gw.pin(&[]);
    assert!(
        out.contains("must not hold a user name or password"),
        "{out}"
    );
    assert!(
        out.contains("`env` apply to a program the gateway starts"),
        "{out}"
    );
}

#[test]
fn the_gateway_serves_streamable_http_behind_the_owner_token() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut gw = pinned("gw-serve-http", "benign", "");
    let token_file = gw.home.join("owner.token");
    let mut server = gw
        .command(&[
            "gateway",
            "serve",
            "--transport",
            "http",
            "--port",
            "0",
            "--token-file",
        ])
        .arg(&token_file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the gateway ended before serving")
            .unwrap();
        if let Some(rest) = line.split("serving MCP on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    // No token: refused before MCP.
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    write!(raw, "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).ok();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    gw.extra.push(("GATEWAY_URL".into(), url.clone()));
    gw.extra.push(("GATEWAY_TOKEN".into(), token));
    let steps = gw.session(json!([
        {"op": "list"},
        {"op": "call", "tool": "hostile__echo", "args": {"text": "over http"}},
        {"op": "call", "tool": "hostile__write_note", "args": {"id": "h", "body": "b"}, "elicit": "accept"},
    ]));
    // The gateway's counters are on /metrics, behind the same token.
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    let token = &gw.extra[1].1;
    write!(raw, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut metrics = String::new();
    raw.read_to_string(&mut metrics).ok();
    server.kill().ok();
    server.wait().ok();
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("portcullis_gateway_calls_total{outcome=\"forwarded\"} 2"),
        "{metrics}"
    );
    assert!(
        names(&steps[0]).contains(&"hostile__echo".to_string()),
        "{}",
        steps[0]
    );
    assert_eq!(steps[1]["text"][0], "over http", "{}", steps[1]);
    assert_eq!(
        steps[2]["prompts"].as_array().unwrap().len(),
        1,
        "{}",
        steps[2]
    );
    assert_eq!(steps[2]["text"][0], "stored h", "{}", steps[2]);
    assert_eq!(
        gw.calls("hostile"),
        vec!["tools/call echo", "tools/call write_note"]
    );
    gw.verify_audit();
}

#[test]
fn resources_are_served_routed_redacted_and_denied_by_name() {
    let gw = pinned(
        "gw-resources",
        "benign",
        "[policy]\ndeny = [\"hostile__welcome\"]\n",
    );
    let steps = gw.session(json!([
        {"op": "resources"},
        {"op": "read", "uri": "note://7"},
        {"op": "read", "uri": "note://secret"},
        {"op": "read", "uri": "note://welcome"},
        {"op": "read", "uri": "file:///etc/passwd"},
    ]));
    assert_eq!(
        steps[0]["resources"],
        json!([["hostile__welcome", "note://welcome"]]),
        "{}",
        steps[0]
    );
    assert_eq!(
        steps[0]["templates"],
        json!([["hostile__note", "note://{id}"]]),
        "{}",
        steps[0]
    );
    // Through the pinned template.
    assert_eq!(steps[1]["texts"], json!(["note 7"]), "{}", steps[1]);
    let secret = steps[2]["texts"][0].as_str().unwrap();
    assert!(
        !secret.contains("wJalrXUtnFEMI"),
        "a secret passed through: {secret}"
    );
    // A listed resource, denied by its prefixed name: never read.
    let denied = steps[3]["error"].as_str().unwrap();
    assert!(
        denied.contains("the gateway policy denies `hostile__welcome`"),
        "{denied}"
    );
    assert!(
        steps[4]["error"]
            .as_str()
            .unwrap()
            .contains("no upstream serves `file:///etc/passwd`"),
        "{}",
        steps[4]
    );
    let log = std::fs::read_to_string(gw.record("hostile")).unwrap();
    assert_eq!(
        log.lines().filter(|l| *l == "resources/read").count(),
        2,
        "{log}"
    );
    let audit = Value::Array(gw.audit()).to_string();
    assert_eq!(
        audit.matches("\"method\":\"resources/read\"").count(),
        4,
        "{audit}"
    );
    gw.verify_audit();
}
