//! Cedar policies enforced by `portcullis serve` (stdio, the Python MCP client, moto): a region
//! rule and a resource rule deny calls with `isError`, and what they deny does not run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary, moto, the Python client

mod support;

use serde_json::{Value, json};
use support::mcp::McpEnv;
use support::moto::Moto;

const POLICIES: &str = r#"
@id("home-regions")
@reason("only us-east-1 and eu-west-1")
forbid (principal, action, resource)
unless { context has region && ["us-east-1", "eu-west-1"].contains(context.region) };

@id("no-prod-deletes")
forbid (principal, action == Portcullis::Action::"s3:DeleteObject", resource)
when { resource.arn like "arn:aws:s3:::prod-*" };
"#;

struct Env {
    inner: McpEnv,
    endpoint: String,
}

impl Env {
    fn new(moto: &Moto) -> Env {
        let mut inner = McpEnv::new("mcp-cedar");
        std::fs::write(inner.home.join("policies.cedar"), POLICIES).unwrap();
        let policy = inner.home.join("policy.json");
        std::fs::write(
            &policy,
            r#"{"mode": "unrestricted", "cedar": "policies.cedar"}"#,
        )
        .unwrap();
        inner.set("PORTCULLIS_POLICY_FILE", &policy);
        Env {
            inner,
            endpoint: moto.endpoint(),
        }
    }

    fn call(&self, command: &str) -> Value {
        self.tool("call_aws", command)
    }

    fn tool(&self, tool: &str, command: &str) -> Value {
        let args = json!({ "cli_command": format!("{command} --endpoint-url {}", self.endpoint) })
            .to_string();
        self.inner
            .client(&["call", tool, &args, "--elicit", "accept"])
    }
}

fn result(v: &Value) -> &Value {
    &v["structured_content"]["results"][0]
}

/// Through Portcullis itself (moto refuses anonymous reads): a listing is allowed by the policy.
fn object_exists(env: &Env, bucket: &str, key: &str) -> bool {
    let v = env.call(&format!("aws s3api list-objects-v2 --bucket {bucket}"));
    assert_eq!(v["is_error"], false, "{v}");
    result(&v)["output"]
        .as_str()
        .unwrap()
        .contains(&format!("\"Key\": \"{key}\""))
}

#[test]
fn cedar_region_and_resource_rules_deny_through_mcp() {
    let moto = Moto::start();
    moto.reset();
    for bucket in ["prod-data", "dev-data"] {
        assert_eq!(moto.http("PUT", &format!("/{bucket}"), "").unwrap().0, 200);
        assert_eq!(
            moto.http("PUT", &format!("/{bucket}/k.txt"), "hello")
                .unwrap()
                .0,
            200
        );
    }
    let env = Env::new(&moto);
    assert!(object_exists(&env, "prod-data", "k.txt") && object_exists(&env, "dev-data", "k.txt"));

    // The region rule: the default region runs, another one is denied.
    let v = env.call("aws s3api list-buckets");
    assert_eq!(v["is_error"], false, "{v}");
    assert!(
        result(&v)["output"].as_str().unwrap().contains("prod-data"),
        "{v}"
    );
    let v = env.call("aws s3api list-buckets --region ap-south-1");
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["home-regions"]),
        "{v}"
    );
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("only us-east-1 and eu-west-1"),
        "{v}"
    );

    // check_aws_command shows the derived resources and the Cedar decision, running nothing.
    let v = env.tool(
        "check_aws_command",
        "aws s3api delete-object --bucket prod-data --key k.txt",
    );
    let doc = &v["structured_content"];
    assert_eq!(
        doc["resources"],
        json!(["arn:aws:s3:::prod-data/k.txt"]),
        "{v}"
    );
    assert_eq!(doc["decision"]["outcome"], "deny", "{v}");
    assert_eq!(
        doc["decision"]["rule_ids"],
        json!(["no-prod-deletes"]),
        "{v}"
    );

    // The resource rule: an object in a prod- bucket is not deleted; elsewhere it is.
    let v = env.call("aws s3api delete-object --bucket prod-data --key k.txt");
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(result(&v)["status"], "denied", "{v}");
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["no-prod-deletes"]),
        "{v}"
    );
    assert!(
        result(&v)["error"]
            .as_str()
            .unwrap()
            .contains("arn:aws:s3:::prod-data/k.txt"),
        "{v}"
    );
    assert!(
        object_exists(&env, "prod-data", "k.txt"),
        "a denied delete must not run"
    );

    let v = env.call("aws s3api delete-object --bucket dev-data --key k.txt");
    assert_eq!(v["is_error"], false, "{v}");
    assert!(!object_exists(&env, "dev-data", "k.txt"));

    // The high-level `aws s3 rm` is covered by the same resource rule.
    let v = env.call("aws s3 rm s3://prod-data/k.txt");
    assert_eq!(v["is_error"], true, "{v}");
    assert_eq!(
        result(&v)["decision"]["rule_ids"],
        json!(["no-prod-deletes"]),
        "{v}"
    );
    assert!(object_exists(&env, "prod-data", "k.txt"));
}
