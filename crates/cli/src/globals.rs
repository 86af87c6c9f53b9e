//! The AWS CLI's global options and per-operation paging options: parsed and surfaced, never
//! dropped. Which of them a request may use is the policy's decision, not the parser's.

use serde::Serialize;

/// How blob parameters given as text are read (`--cli-binary-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryFormat {
    /// AWS CLI v1 behaviour (and the awslabs server's): the text's bytes are sent as they are.
    #[default]
    RawInBase64Out,
    /// AWS CLI v2 default: the text is base64 and is decoded first.
    Base64,
}

/// Global options, as given (None / false when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GlobalOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli_read_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli_connect_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli_binary_format: Option<BinaryFormat>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_paginate: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub debug: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub no_verify_ssl: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub no_sign_request: bool,
}

/// Paging options of a paginated operation (`--starting-token`, `--page-size`, `--max-items`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Paging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
}

impl Paging {
    pub fn is_empty(&self) -> bool {
        *self == Paging::default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a global option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlobalKind {
    Flag,
    Text,
    Choice(&'static [&'static str]),
    Seconds,
}

/// The global options the parser knows, with what they take.
pub(crate) const GLOBALS: &[(&str, GlobalKind)] = &[
    ("region", GlobalKind::Text),
    (
        "output",
        GlobalKind::Choice(&["json", "text", "table", "yaml", "yaml-stream"]),
    ),
    ("query", GlobalKind::Text),
    ("endpoint-url", GlobalKind::Text),
    ("profile", GlobalKind::Text),
    ("cli-read-timeout", GlobalKind::Seconds),
    ("cli-connect-timeout", GlobalKind::Seconds),
    ("ca-bundle", GlobalKind::Text),
    ("color", GlobalKind::Choice(&["on", "off", "auto"])),
    (
        "cli-binary-format",
        GlobalKind::Choice(&["base64", "raw-in-base64-out"]),
    ),
    ("no-paginate", GlobalKind::Flag),
    ("debug", GlobalKind::Flag),
    ("no-verify-ssl", GlobalKind::Flag),
    ("no-sign-request", GlobalKind::Flag),
];

pub(crate) fn global_kind(name: &str) -> Option<GlobalKind> {
    GLOBALS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

impl GlobalOptions {
    /// Records one global option (its value already checked against its kind).
    pub(crate) fn set(&mut self, name: &str, value: Option<String>) {
        let secs = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse().ok());
        match name {
            "region" => self.region = value,
            "output" => self.output = value,
            "query" => self.query = value,
            "endpoint-url" => self.endpoint_url = value,
            "profile" => self.profile = value,
            "cli-read-timeout" => self.cli_read_timeout = secs(&value),
            "cli-connect-timeout" => self.cli_connect_timeout = secs(&value),
            "ca-bundle" => self.ca_bundle = value,
            "color" => self.color = value,
            "cli-binary-format" => {
                self.cli_binary_format = Some(if value.as_deref() == Some("base64") {
                    BinaryFormat::Base64
                } else {
                    BinaryFormat::RawInBase64Out
                })
            }
            "no-paginate" => self.no_paginate = true,
            "debug" => self.debug = true,
            "no-verify-ssl" => self.no_verify_ssl = true,
            "no-sign-request" => self.no_sign_request = true,
            _ => {}
        }
    }

    /// The binary format in force.
    pub fn binary_format(&self) -> BinaryFormat {
        self.cli_binary_format.unwrap_or_default()
    }
}
