//! A pipeline for the library tests, made from its parts: an engine that signs with fixed test
//! credentials and sends every request to one endpoint, and a working directory of its own.
#![allow(dead_code)] // each suite uses part of it

use portcullis::pipeline::Pipeline;
use portcullis_policy::Policy;
use portcullis_wire::credentials::{ChainSettings, CredentialsProvider};
use portcullis_wire::execute::{ConfiguredEndpoints, Engine, EngineConfig};

/// An engine's configuration that sends everything to `url`, in us-east-1.
pub fn engine_config(url: &str) -> EngineConfig {
    EngineConfig {
        region: Some("us-east-1".into()),
        endpoints: ConfiguredEndpoints::from_env_vars([(
            "AWS_ENDPOINT_URL".to_string(),
            url.to_string(),
        )]),
        ..EngineConfig::default()
    }
}

/// A pipeline under `policy` whose engine (`config`) signs with the test credentials
/// (`testing`/`testing`), its files confined to the directory `portcullis-{tag}-{pid}`, its
/// output masked.
pub fn pipeline(policy: Policy, config: EngineConfig, tag: &str) -> Pipeline {
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
    let provider =
        CredentialsProvider::from_provider(credentials, "test", &ChainSettings::default());
    let engine = Engine::new(config, Some(provider)).unwrap();
    let dir = std::env::temp_dir().join(format!("portcullis-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = portcullis_sandbox::Sandbox::new(portcullis_sandbox::FileAccessMode::Workdir, &dir)
        .unwrap();
    Pipeline::from_parts(policy, Box::new(files), engine, true)
}
