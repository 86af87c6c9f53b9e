//! The deployment files in deploy/: the Kubernetes manifests validate offline against the
//! Kubernetes 1.31 schemas (`kubernetes-validate --strict`, pinned in the venv); their settings
//! and policy are ones the real binary starts with (the ConfigMap's environment, the policy file,
//! the probes' Host header); the Containerfile builds a static, non-root image whose command is
//! the one the Deployment runs; the binary runs `check` in a network namespace of its own with an
//! empty environment. Building the image itself needs a container engine (there is none here):
//! scripts/check-image.sh builds the image's static musl binary, checks it is static, and runs it
//! with no network the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, the venv's validator

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::moto::venv_python;
use support::serve::{portcullis, request, spawn, temp_home};

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml")
        })
        .collect();
    files.sort();
    files
}

/// Every document of every manifest, as JSON (read by the venv's PyYAML).
fn documents() -> Vec<Value> {
    let out = Command::new(venv_python())
        .args([
            "-c",
            "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))",
        ])
        .args(manifests())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let validator = venv_python().with_file_name("kubernetes-validate");
    assert!(
        validator.exists(),
        "{} is missing: run scripts/setup-venv.sh",
        validator.display()
    );
    let out = Command::new(&validator)
        .args(["--strict", "--kubernetes-version", "1.31.0"])
        .args(manifests())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // Every resource of the kustomization was checked.
    let kustomization = std::fs::read_to_string(deploy().join("k8s/kustomization.yaml")).unwrap();
    for f in manifests() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            kustomization.contains(&name),
            "{name} is not in kustomization.yaml"
        );
        assert!(text.contains(&name), "{name} was not validated: {text}");
    }
    assert_eq!(
        text.matches(" passed for resource ").count(),
        documents().len(),
        "{text}"
    );

    // A broken manifest is refused (the check can fail).
    let dir = temp_home("deploy-bad");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n",
    )
    .unwrap();
    let out = Command::new(&validator)
        .arg("--strict")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_deployment_is_hardened_and_runs_what_the_image_runs() {
    let docs = documents();
    let d = find(&docs, "Deployment", "portcullis");
    assert!(d["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"]["httpHeaders"][0],
            serde_json::json!({"name": "Host", "value": "localhost:8000"}),
            "{probe}"
        );
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    // The sealing key comes from the Secret, readable by the pod's group only.
    let keys = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "keys")
        .unwrap();
    assert_eq!(keys["secret"]["secretName"], "portcullis-keys");
    assert_eq!(keys["secret"]["defaultMode"], 0o440);
    // The image: static, non-root, the same command.
    let file = std::fs::read_to_string(deploy().join("Containerfile")).unwrap();
    let froms: Vec<&str> = file.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms.last().unwrap(),
        &"FROM gcr.io/distroless/static-debian12:nonroot"
    );
    assert!(file.contains("--target x86_64-unknown-linux-musl"));
    assert!(file.contains("\nUSER 65532:65532\n"));
    assert!(file.contains("ENTRYPOINT [\"/usr/local/bin/portcullis\"]"));
    assert!(file.contains("CMD [\"serve\", \"--allow-remote\"]"));
    assert_eq!(c["args"], serde_json::json!(["serve", "--allow-remote"]));
    assert_eq!(
        pod["securityContext"]["runAsUser"], 65532,
        "the image's user"
    );
    // NetworkPolicy: egress to HTTPS outside private ranges, DNS and Redis only.
    let np = find(&docs, "NetworkPolicy", "portcullis");
    let ports: Vec<u64> = np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["port"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(ports, [53, 53, 6379, 443]);
    assert_eq!(
        find(&docs, "NetworkPolicy", "portcullis-redis")["spec"]["egress"],
        serde_json::json!([])
    );
}

/// The ConfigMap's settings and policy are ones the binary starts with: served as the image would
/// (its environment), with the network-reaching addresses moved to closed loopback ports.
#[test]
fn the_configmap_settings_and_policy_start_the_server() {
    let docs = documents();
    let settings = find(&docs, "ConfigMap", "portcullis-settings")["data"]
        .as_object()
        .unwrap()
        .clone();
    let policy = find(&docs, "ConfigMap", "portcullis-policy")["data"]["policy.json"]
        .as_str()
        .unwrap()
        .to_string();
    let home = temp_home("deploy-cm");
    std::fs::write(home.join("policy.json"), &policy).unwrap();
    let out = portcullis(&home, &["policy", "validate", "policy.json"])
        .current_dir(&home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let key = home.join("sealing.key");
    std::fs::write(&key, "0f".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o440)).unwrap();
    // A closed loopback port for what would reach the network.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = portcullis(&home, &["serve", "--allow-remote"]);
    for (k, v) in &settings {
        cmd.env(k, v.as_str().unwrap());
    }
    cmd.env("AWS_API_MCP_HOST", "127.0.0.1")
        .env("AWS_API_MCP_PORT", "0")
        .env("AUTH_JWKS_URI", format!("http://127.0.0.1:{closed}/jwks"))
        .env(
            "PORTCULLIS_REDIS_URL",
            format!("redis://127.0.0.1:{closed}"),
        )
        .env("PORTCULLIS_SEALING_KEY_FILE", &key)
        .env("PORTCULLIS_POLICY_FILE", home.join("policy.json"))
        .env("PORTCULLIS_REPLICA_ID", "portcullis-7d9f-abcde")
        // The ConfigMap asks for JSON logs; the test reads the human lines.
        .env("PORTCULLIS_LOG_FORMAT", "human")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut s = spawn(&mut cmd);
    assert!(
        s.announced
            .contains("OAuth: tokens for https://portcullis.example.com/mcp"),
        "{}",
        s.announced
    );
    // The probes, as the kubelet sends them.
    let probe = request(
        s.port,
        "GET",
        "/readyz",
        &[("Host", &format!("localhost:{}", s.port))],
        "",
    );
    assert_eq!(probe.status, 200, "{}", probe.body);
    // The metadata, as a client reaches the Service through the ingress.
    let meta = request(
        s.port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[("Host", "portcullis.example.com:443")],
        "",
    );
    assert_eq!(meta.status, 200, "{}", meta.body);
    let doc: Value = serde_json::from_str(meta.body.trim()).unwrap();
    assert_eq!(doc["resource"], "https://portcullis.example.com/mcp");
    let log = s.stderr.lock().unwrap().clone();
    assert!(log.contains("stateless HTTP"), "{log}");
    assert!(log.contains("every user with a role mapping (2)"), "{log}");
    let _ = s.child.kill();
    let _ = s.child.wait();
    // Its audit chain is named by the pod.
    assert!(
        home.join(".local/state/portcullis/audit/portcullis-7d9f-abcde")
            .is_dir()
    );
    std::fs::remove_dir_all(&home).ok();
}

/// What the image runs, offline: `check` in a network namespace of its own (no interface but a
/// down loopback), with an empty environment, as the distroless image would run it.
#[test]
fn check_runs_with_no_network() {
    let home = temp_home("deploy-offline");
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg(format!("AWS_API_MCP_WORKING_DIR={}", home.display()))
        .arg(env!("CARGO_BIN_EXE_portcullis"))
        .args(["check", "aws s3api delete-bucket --bucket prod-data"])
        .output()
        .expect("unshare (util-linux) runs the binary in its own network namespace");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["request"]["operation"], "DeleteBucket", "{v}");
    std::fs::remove_dir_all(&home).ok();
}
