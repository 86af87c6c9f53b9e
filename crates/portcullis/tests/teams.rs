//! A team deployment end to end: a real OpenID provider (oidc-provider), two Portcullis replicas
//! on loopback sharing one sealing key and one Redis (Debian's redis-server, started here), and
//! moto enforcing IAM. Two users map to two roles (`group:admins` → a writer role, `sub:bob` → a
//! reader role); each user's calls run as their own role, assumed by the server, at the same time
//! on both replicas (the official Python MCP client). A consent asked through one replica is
//! approved and runs once on the other; replayed through the first it is refused; another user
//! cannot use it; with Redis down it is refused (fail closed) while reads go on. A token for
//! another audience and an expired one are refused by either replica. Every tool call of both
//! trails names its user and the role session it ran as, and each trail verifies.
//!
//! Missing node, redis-server or the venv fail the tests loudly (the README's test command
//! installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, node, redis, moto, the Python client

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::moto::{Moto, venv_python};
use support::oidc::Provider;
use support::serve::{portcullis, request, spawn, temp_home};

/// The canonical URI of the deployment (what a load balancer would serve); both replicas
/// expect it as the tokens' audience.
const RESOURCE: &str = "https://portcullis.team.test/mcp";

struct Creds {
    key: String,
    secret: String,
}

fn awscli(args: &[&str], endpoint: &str, dir: &Path, creds: &Creds) -> Value {
    let out = Command::new(venv_python())
        .args(["-m", "awscli"])
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", &creds.key)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// moto, set up while it does not enforce IAM: the server's user (may assume both roles), the
/// writer and reader roles, a bucket with an object. Returns the server user's keys.
fn set_up_moto(moto: &Moto, dir: &Path) -> Creds {
    let endpoint = moto.endpoint();
    let root = Creds {
        key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
    };
    let aws = |args: &[&str]| awscli(args, &endpoint, dir, &root);
    aws(&["iam", "create-user", "--user-name", "portcullis"]);
    let assume = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity","sts:TagSession"],"Resource":"*"}]}"#;
    aws(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "portcullis",
        "--policy-name",
        "assume",
        "--policy-document",
        assume,
    ]);
    let key = aws(&["iam", "create-access-key", "--user-name", "portcullis"]);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/portcullis"},"Action":["sts:AssumeRole","sts:SetSourceIdentity","sts:TagSession"]}]}"#;
    for (role, policy) in [
        (
            "writer",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        ),
        (
            "reader",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket","s3:GetObject"],"Resource":"*"}]}"#,
        ),
    ] {
        aws(&[
            "iam",
            "create-role",
            "--role-name",
            role,
            "--assume-role-policy-document",
            trust,
        ]);
        aws(&[
            "iam",
            "put-role-policy",
            "--role-name",
            role,
            "--policy-name",
            "p",
            "--policy-document",
            policy,
        ]);
    }
    aws(&["s3api", "create-bucket", "--bucket", "shared"]);
    Creds {
        key: key["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
        secret: key["AccessKey"]["SecretAccessKey"].as_str().unwrap().into(),
    }
}

/// A redis-server on a free loopback port, no persistence; stopped on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (scripts/setup-redis.sh installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisServer { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One replica: `portcullis serve --transport http` with OAuth and role mappings.
struct Replica {
    child: Child,
    home: PathBuf,
    port: u16,
    stderr: Arc<Mutex<String>>,
    name: String,
    /// The audit directory and key the replicas share (one chain each, by replica id).
    audit_dir: PathBuf,
    audit_key: PathBuf,
}

impl Replica {
    fn start(
        name: &str,
        idp: &Provider,
        moto: &Moto,
        creds: &Creds,
        key_file: &Path,
        redis: &RedisServer,
        extra: &[(&str, &str)],
    ) -> Replica {
        let home = temp_home(&format!("team-{name}"));
        let shared = key_file.parent().unwrap();
        let (audit_dir, audit_key) = (shared.join("audit"), shared.join("audit.key"));
        let mut cmd = portcullis(&home, &["serve", "--transport", "http", "--port", "0"]);
        cmd.env("PORTCULLIS_REPLICA_ID", name)
            .env("PORTCULLIS_AUDIT_DIR", &audit_dir)
            .env("PORTCULLIS_AUDIT_KEY_FILE", &audit_key);
        cmd.env("AWS_ACCESS_KEY_ID", &creds.key)
            .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AUTH_TYPE", "oauth")
            .env("AUTH_ISSUER", &idp.issuer)
            .env("AUTH_JWKS_URI", &idp.jwks_uri)
            .env("PORTCULLIS_AUTH_RESOURCE", RESOURCE)
            .env(
                "PORTCULLIS_AUTH_ROLES",
                "group:admins=arn:aws:iam::123456789012:role/writer,sub:bob=arn:aws:iam::123456789012:role/reader",
            )
            .env("PORTCULLIS_AUTH_SCOPES", "mcp:tools")
            .env("PORTCULLIS_AUTH_LEEWAY", "1")
            .env("PORTCULLIS_SEALING_KEY_FILE", key_file)
            .env(
                "PORTCULLIS_REDIS_URL",
                format!("redis://127.0.0.1:{}", redis.port),
            )
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let s = spawn(&mut cmd);
        Replica {
            child: s.child,
            home,
            port: s.port,
            stderr: s.stderr,
            name: name.to_string(),
            audit_dir,
            audit_key,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// The official Python MCP client (2025-11-25, elicitation answered `accept`): one call_aws.
    fn client(&self, token: &str, command: &str) -> Value {
        let token_file = self.home.join(format!("token-{}", rand_suffix()));
        std::fs::write(&token_file, token).unwrap();
        let out = Command::new(venv_python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/http_client.py"))
            .arg(self.url())
            .arg(&token_file)
            .args([
                "call",
                "call_aws",
                &json!({ "cli_command": command }).to_string(),
            ])
            .args(["--elicit", "accept"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "client: {stdout}\n{}\nreplica: {}",
            String::from_utf8_lossy(&out.stderr),
            self.stderr.lock().unwrap()
        );
        serde_json::from_str(stdout.trim()).unwrap()
    }

    /// A raw MCP 2026-07-28 `tools/call` of `call_aws` (no session), with elicitation declared;
    /// `retry`: the `requestState` and the answer to send back.
    fn stateless_call(&self, token: &str, command: &str, retry: Option<(&str, Value)>) -> Value {
        let mut params = json!({
            "name": "call_aws",
            "arguments": {"cli_command": command},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
            },
        });
        if let Some((state, answer)) = retry {
            params["requestState"] = json!(state);
            params["inputResponses"] = json!({ "consent-0": answer });
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
            .to_string();
        let host = format!("127.0.0.1:{}", self.port);
        let auth = format!("Bearer {token}");
        let r = request(
            self.port,
            "POST",
            "/mcp",
            &[
                ("Host", host.as_str()),
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("MCP-Protocol-Version", "2026-07-28"),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "call_aws"),
            ],
            &body,
        );
        assert_eq!(r.status, 200, "{} {}", r.head, r.body);
        jsonrpc_result(&r.body)
    }

    /// A bare `POST /mcp` (body `{}`) with `token` as the bearer token: what the guard answers.
    fn post_with(&self, token: &str) -> support::serve::Resp {
        let host = format!("127.0.0.1:{}", self.port);
        request(
            self.port,
            "POST",
            "/mcp",
            &[
                ("Host", host.as_str()),
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
            ],
            "{}",
        )
    }

    /// `portcullis audit ARGS` as this replica sees its trail.
    fn audit(&self, args: &[&str]) -> (bool, String) {
        let out = portcullis(&self.home, &[&["audit"][..], args].concat())
            .env("PORTCULLIS_REPLICA_ID", &self.name)
            .env("PORTCULLIS_AUDIT_DIR", &self.audit_dir)
            .env("PORTCULLIS_AUDIT_KEY_FILE", &self.audit_key)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::remove_dir_all(&self.home).ok();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The JSON-RPC `result` in a response body (plain JSON, or the `data:` line of an SSE event).
fn jsonrpc_result(body: &str) -> Value {
    for line in body.lines() {
        let line = line.trim();
        let json = line.strip_prefix("data:").map_or(line, str::trim);
        if let Ok(v) = serde_json::from_str::<Value>(json)
            && v.get("jsonrpc").is_some()
        {
            return v
                .get("result")
                .cloned()
                .unwrap_or_else(|| panic!("no result: {v}"));
        }
    }
    panic!("no JSON-RPC response in {body:?}");
}

/// Whether moto holds bucket `name` (read from its state: with IAM enforced, listing needs
/// credentials this test does not hold).
fn bucket_exists(moto: &Moto, name: &str) -> bool {
    let (status, body) = moto.http("GET", "/moto-api/data.json", "").unwrap();
    assert_eq!(status, 200);
    let data: Value = serde_json::from_str(&body).unwrap();
    data["s3"]["FakeBucket"].as_array().is_some_and(|b| {
        b.iter()
            .any(|b| b["arn"] == json!(format!("arn:aws:s3:::{name}")))
    })
}

/// What every test here starts from: moto set up (IAM not yet enforced), the identity provider,
/// Redis and the sealing key, in a fresh directory (removed on drop, after the processes).
struct Team {
    moto: Moto,
    creds: Creds,
    idp: Provider,
    redis: RedisServer,
    key_file: PathBuf,
    dir: PathBuf,
}

impl Team {
    fn new(tag: &str) -> Team {
        let dir = temp_home(tag);
        let moto = Moto::start();
        moto.reset();
        let creds = set_up_moto(&moto, &dir);
        let idp = Provider::start(0, &dir.join("idp-keys.json"), false);
        let redis = RedisServer::start(&dir);
        let key_file = dir.join("sealing.key");
        std::fs::write(&key_file, "5a".repeat(32)).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o400)).unwrap();
        Team {
            moto,
            creds,
            idp,
            redis,
            key_file,
            dir,
        }
    }

    /// A replica named `name` with `extra` settings.
    fn replica(&self, name: &str, extra: &[(&str, &str)]) -> Replica {
        Replica::start(
            name,
            &self.idp,
            &self.moto,
            &self.creds,
            &self.key_file,
            &self.redis,
            extra,
        )
    }

    /// An access token of `client` for this deployment.
    fn token(&self, client: &str) -> String {
        self.idp.token(client, RESOURCE, "mcp:tools")
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.redis.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The first result of a `call_aws` (its status and error).
fn first(result: &Value) -> &Value {
    &result["structuredContent"]["results"][0]
}

#[test]
fn two_users_two_replicas_one_redis_one_consent() {
    let mut team = Team::new("team");
    // IAM is enforced from here on: only the roles' policies let the users' calls through.
    let (status, body) = team.moto.http("POST", "/moto-api/reset-auth", "0").unwrap();
    assert_eq!(status, 200, "{body}");
    let a = team.replica("a", &[]);
    let b = team.replica("b", &[]);
    let (alice, bob) = (team.token("alice"), team.token("bob"));
    let (moto, idp, dir) = (&team.moto, &team.idp, team.dir.clone());

    // Both users at once, each on both replicas: alice (group admins → writer) creates a bucket
    // and lists; bob (sub bob → reader) lists, and his write is refused by IAM (moto), not by
    // Portcullis: it runs as his role.
    let (r1, r2, r3, r4) = std::thread::scope(|s| {
        let t1 = s.spawn(|| a.client(&alice, "aws s3api create-bucket --bucket alice-bucket"));
        let t2 = s.spawn(|| b.client(&bob, "aws s3api list-buckets"));
        let t3 = s.spawn(|| b.client(&alice, "aws s3api list-buckets"));
        let t4 = s.spawn(|| {
            a.client(
                &bob,
                "aws s3api put-bucket-tagging --bucket shared --tagging TagSet=[{Key=k,Value=v}]",
            )
        });
        (
            t1.join().unwrap(),
            t2.join().unwrap(),
            t3.join().unwrap(),
            t4.join().unwrap(),
        )
    });
    assert_eq!(r1["is_error"], json!(false), "{r1}");
    assert_eq!(r1["prompts"].as_array().unwrap().len(), 1, "{r1}");
    assert!(bucket_exists(moto, "alice-bucket"));
    for r in [&r2, &r3] {
        assert_eq!(r["is_error"], json!(false), "{r}");
        assert!(r["text"][0].as_str().unwrap().contains("\"shared\""), "{r}");
    }
    assert_eq!(r4["is_error"], json!(true), "{r4}");
    let text = r4["text"][0].as_str().unwrap();
    assert!(
        text.contains("AccessDenied"),
        "bob's write must run as his reader role and be refused by IAM: {r4}"
    );

    // A consent asked through replica A, approved and run through replica B, once.
    let cmd = "aws s3api create-bucket --bucket approved-once";
    let asked = a.stateless_call(&alice, cmd, None);
    let state = asked["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {asked}"))
        .to_string();
    assert!(!bucket_exists(moto, "approved-once"));
    let yes = json!({"action": "accept", "content": {"confirm": true}});
    // Another user with alice's approval: refused, and it does not use the approval up.
    let stolen = b.stateless_call(&bob, cmd, Some((&state, yes.clone())));
    assert_eq!(first(&stolen)["status"], "consent_failed", "{stolen}");
    assert!(
        first(&stolen)["error"]
            .as_str()
            .unwrap()
            .contains("another user"),
        "{stolen}"
    );
    let ran = b.stateless_call(&alice, cmd, Some((&state, yes.clone())));
    assert_eq!(first(&ran)["status"], "success", "{ran}");
    assert!(bucket_exists(moto, "approved-once"));
    let replay = a.stateless_call(&alice, cmd, Some((&state, yes.clone())));
    assert_eq!(first(&replay)["status"], "consent_failed", "{replay}");
    assert!(
        first(&replay)["error"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{replay}"
    );

    // Redis down: approvals are refused (fail closed); reads go on.
    let asked = a.stateless_call(&alice, "aws s3api create-bucket --bucket no-redis", None);
    let state = asked["requestState"].as_str().unwrap().to_string();
    team.redis.stop();
    let refused = b.stateless_call(
        &alice,
        "aws s3api create-bucket --bucket no-redis",
        Some((&state, yes)),
    );
    assert_eq!(first(&refused)["status"], "consent_failed", "{refused}");
    assert!(
        first(&refused)["error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{refused}"
    );
    assert!(!bucket_exists(moto, "no-redis"));
    let read = b.client(&bob, "aws s3api list-buckets");
    assert_eq!(read["is_error"], json!(false), "{read}");

    // Tokens for another audience, or expired, are refused by either replica.
    let other = idp.token("alice", "https://other.example/mcp", "mcp:tools");
    let expired = idp.token("shortlived", RESOURCE, "mcp:tools");
    let exp = expired
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .and_then(|c| c["exp"].as_u64())
        .unwrap();
    // The replicas allow 1 s of clock skew (PORTCULLIS_AUTH_LEEWAY).
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        < exp + 2
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    for replica in [&a, &b] {
        let r = replica.post_with(&expired);
        assert_eq!(r.status, 401, "{}", r.body);
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\"") && challenge.contains("expired"),
            "{challenge}"
        );
    }
    for replica in [&a, &b] {
        let r = replica.post_with(&other);
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(
            r.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\""),
            "{}",
            r.head
        );
    }

    // Every tool call of both trails names its user and the session it ran as; each trail
    // verifies; the approved create-bucket ran once, on B.
    // One command verifies both chains (the replicas' directories under the shared one).
    let out = portcullis(&dir, &["audit", "verify", "--dir"])
        .arg(&a.audit_dir)
        .arg("--key")
        .arg(&a.audit_key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "{}: audit trail OK",
            a.audit_dir.join("a").display()
        )) && text.contains(&format!(
            "{}: audit trail OK",
            a.audit_dir.join("b").display()
        )) && text.contains("2 trails: all intact"),
        "{text}"
    );
    let mut ran_approved = 0;
    let mut ran_as = std::collections::BTreeMap::new();
    for (replica, name) in [(&a, "a"), (&b, "b")] {
        let (ok, out) = replica.audit(&["verify"]);
        assert!(ok, "replica {name}: {out}");
        let (ok, out) = replica.audit(&["show", "--json", "--kind", "tool_call"]);
        assert!(ok);
        for line in out.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            let user = r["user"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no user: {r}"));
            assert!(
                user == format!("{}#alice", idp.issuer) || user == format!("{}#bob", idp.issuer),
                "{r}"
            );
            let principal = r["principal"].as_str().unwrap_or_default();
            let role = if user.ends_with("#alice") {
                "writer"
            } else {
                "reader"
            };
            // The principal is the user's role session once it ran something there.
            let status = &r["commands"][0]["execution"]["status"];
            if status == "ok" || status == "error" {
                assert!(principal.contains(&format!("assumed-role/{role}/")), "{r}");
                *ran_as.entry(role).or_insert(0) += 1;
            }
            if line.contains("approved-once") && status == "ok" {
                ran_approved += 1;
                assert_eq!(name, "b");
                assert_eq!(replica.name, "b");
            }
        }
    }
    assert_eq!(ran_approved, 1);
    // An edit in B's chain: verify names B, and A still verifies.
    let b_dir = a.audit_dir.join("b");
    let file = std::fs::read_dir(&b_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_file() && std::fs::read_to_string(p).is_ok_and(|t| t.contains("tool_call")))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("\"tool_call\"", "\"tool_calL\"", 1)).unwrap();
    let out = portcullis(&dir, &["audit", "verify", "--dir"])
        .arg(&a.audit_dir)
        .arg("--key")
        .arg(&a.audit_key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}: audit trail OK",
            a.audit_dir.join("a").display()
        )) && text.contains(&format!("{}: audit trail FAILS", b_dir.display()))
            && text.contains("NOT all intact"),
        "{text}"
    );
    // alice: create-bucket, list, the approved create-bucket; bob: list twice, the refused write.
    assert_eq!(ran_as.get("writer"), Some(&3), "{ran_as:?}");
    assert_eq!(ran_as.get("reader"), Some(&3), "{ran_as:?}");
    drop((a, b));
}

#[test]
fn stateless_http_keeps_no_session_and_asks_only_by_rounds() {
    let team = Team::new("team-stateless");
    let (moto, idp, dir) = (&team.moto, &team.idp, team.dir.clone());
    // The user is the Cedar principal: a rule for bob alone.
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        json!({
            "mode": "guarded",
            "cedar_policies": format!(
                "@id(\"no-bob\")\nforbid(principal == Portcullis::Client::\"{}#bob\", action, resource);",
                idp.issuer
            ),
        })
        .to_string(),
    )
    .unwrap();
    let policy = policy.to_string_lossy().into_owned();
    let stateless = [
        ("AWS_API_MCP_STATELESS_HTTP", "true"),
        ("PORTCULLIS_POLICY_FILE", policy.as_str()),
    ];
    let a = team.replica("sa", &stateless);
    let b = team.replica("sb", &stateless);
    let (alice, bob) = (team.token("alice"), team.token("bob"));
    let denied = a.client(&bob, "aws s3api list-buckets");
    assert_eq!(denied["is_error"], json!(true), "{denied}");
    let result = &denied["structured_content"]["results"][0];
    assert_eq!(result["decision"]["outcome"], "deny", "{denied}");
    assert!(
        result["decision"]["rule_ids"]
            .to_string()
            .contains("no-bob"),
        "{denied}"
    );

    // An `initialize` gets no session id; the official client (2025-11-25) still works.
    let host = format!("127.0.0.1:{}", a.port);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let r = request(
        a.port,
        "POST",
        "/mcp",
        &[
            ("Host", host.as_str()),
            ("Authorization", &format!("Bearer {alice}")),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        &init,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("mcp-session-id").is_none(), "{}", r.head);
    let read = b.client(&alice, "aws s3api list-buckets");
    assert_eq!(read["is_error"], json!(false), "{read}");
    // Such a client cannot be asked: the write is refused, saying why.
    let write = a.client(&alice, "aws s3api create-bucket --bucket legacy-ask");
    assert_eq!(write["is_error"], json!(true), "{write}");
    assert!(
        write["text"][0]
            .as_str()
            .unwrap()
            .contains("stateless HTTP"),
        "{write}"
    );
    assert!(!bucket_exists(moto, "legacy-ask"));
    // A 2026-07-28 round: asked on A, run on B.
    let cmd = "aws s3api create-bucket --bucket stateless-round";
    let asked = a.stateless_call(&alice, cmd, None);
    let state = asked["requestState"].as_str().unwrap().to_string();
    let yes = json!({"action": "accept", "content": {"confirm": true}});
    let ran = b.stateless_call(&alice, cmd, Some((&state, yes)));
    assert_eq!(first(&ran)["status"], "success", "{ran}");
    assert!(bucket_exists(moto, "stateless-round"));
    drop((a, b));
}

#[test]
fn the_principal_rate_holds_over_all_replicas() {
    let team = Team::new("team-rate");
    // Each replica alone would allow 3 calls a minute; over both, 3 in all.
    let rate = [("PORTCULLIS_RATE_PER_PRINCIPAL", "3/m burst 3")];
    let a = team.replica("ra", &rate);
    let b = team.replica("rb", &rate);
    let (alice, bob) = (team.token("alice"), team.token("bob"));
    // The count is per minute: start early in one.
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            % 60
    };
    while second() > 40 {
        std::thread::sleep(Duration::from_millis(500));
    }
    let read = "aws s3api list-buckets";
    for (replica, n) in [(&a, 1), (&b, 2), (&a, 3)] {
        let r = replica.client(&alice, read);
        assert_eq!(r["is_error"], json!(false), "call {n}: {r}");
    }
    let r = b.client(&alice, read);
    assert_eq!(r["is_error"], json!(true), "{r}");
    let result = &r["structured_content"]["results"][0];
    assert_eq!(result["status"], "rate_limited", "{r}");
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .contains("counted over all replicas"),
        "{r}"
    );
    // Another user's count is their own.
    let r = b.client(&bob, read);
    assert_eq!(r["is_error"], json!(false), "{r}");
    drop((a, b));
}
