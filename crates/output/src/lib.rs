//! # portcullis-output
//!
//! The AWS CLI's output step, printed byte for byte as the CLI prints it: `--query` (JMESPath)
//! and `--output` (json, text, table, yaml, yaml-stream).
//!
//! # Brief overview
//!
//! This crate is pure: it turns a decoded response (`serde_json::Value`) into the text the AWS
//! CLI would print, and knows nothing of AWS, HTTP or the models, so it builds without the
//! network stack and can be used alone (the fuzz target does; `portcullis-wire` re-exports it
//! as `portcullis_wire::output` and applies it to what the engine returns). The entry points:
//! [`jmespath::Query`] (compile once, search many), [`render`] / [`render_with`] (one value in an
//! [`OutputFormat`]) and [`format_response`] (the CLI's whole output step for a response);
//! [`pyfmt`] holds the Python spellings (`repr(float)`, `json.dumps`) the CLI's output inherits.
//!
//! A decoded response (`serde_json::Value`, keys in response order) goes through two steps,
//! the same two the CLI's formatters take:
//!
//! 1. a [`Query`] (`--query`, JMESPath) selects from it: compiled once with
//!    [`Query::compile`](jmespath::Query::compile), applied with
//!    [`Query::search`](jmespath::Query::search); it keeps key order and Python's number types,
//!    as the CLI's `jmespath` does;
//! 2. [`render`] (or [`render_with`], for a table title and width) prints the result in an
//!    [`OutputFormat`]: `json` (Python's `json.dumps(indent=4)`), `text` (`awscli/text.py`),
//!    `table` (`awscli/table.py`), `yaml` / `yaml-stream` (CLI v2 style).
//!
//! [`format_response`] does both, in the CLI's order (drop `ResponseMetadata`, query, render).
//! Errors are typed: [`QueryError`] for the query, [`OutputError`] for
//! shapes the CLI cannot print either (e.g. a table of a list mixing objects and strings).
//!
//! ```
//! use portcullis_output::{OutputFormat, RenderOptions, format_response, jmespath::Query, render, render_with};
//! use serde_json::json;
//!
//! let response = json!({"Buckets": [{"Name": "logs", "CreationDate": "2024-01-02T03:04:05+00:00"}],
//!                       "Owner": {"ID": "abc"}});
//! let query = Query::compile("Buckets[].Name").unwrap();
//! let json = format_response(&response, Some(&query), OutputFormat::Json, &RenderOptions::default()).unwrap();
//! assert_eq!(json, "[\n    \"logs\"\n]\n");
//!
//! let text = render(&response, "text".parse().unwrap()).unwrap();
//! assert_eq!(text, "BUCKETS\t2024-01-02T03:04:05+00:00\tlogs\nOWNER\tabc\n");
//!
//! let options = RenderOptions { title: Some("ListBuckets"), ..RenderOptions::default() };
//! let table = render_with(&json!({"Owner": {"ID": "abc"}}), OutputFormat::Table, &options).unwrap();
//! assert_eq!(table, "\
//! -----------------
//! |  ListBuckets  |
//! +---------------+
//! ||    Owner    ||
//! |+-----+-------+|
//! ||  ID |  abc  ||
//! |+-----+-------+|
//! ");
//! ```

pub mod jmespath;
pub mod pyfmt;
mod table;
mod text;
#[rustfmt::skip] // generated: scripts/oracle_output.py --tables
mod unicode_tables;
mod yaml;

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use jmespath::{Query, QueryError};

/// Deepest document we print (serde_json's own parser stops at 128).
pub const MAX_DOCUMENT_DEPTH: usize = 512;

/// The `--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Json,
    Text,
    Table,
    Yaml,
    YamlStream,
}

impl OutputFormat {
    /// Whether the AWS CLI prints this format page by page (applying `--query` to each page).
    pub fn is_page_wise(self) -> bool {
        matches!(self, OutputFormat::Text | OutputFormat::YamlStream)
    }
}

impl OutputFormat {
    /// The name as given to `--output`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Text => "text",
            OutputFormat::Table => "table",
            OutputFormat::Yaml => "yaml",
            OutputFormat::YamlStream => "yaml-stream",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = OutputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "json" => OutputFormat::Json,
            "text" => OutputFormat::Text,
            "table" => OutputFormat::Table,
            "yaml" => OutputFormat::Yaml,
            "yaml-stream" => OutputFormat::YamlStream,
            other => return Err(OutputError::UnknownFormat(other.to_string())),
        })
    }
}

/// Why output could not be produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputError {
    /// Not one of the `--output` formats.
    #[error("unknown output format {0:?}: expected one of json, text, table, yaml, yaml-stream")]
    UnknownFormat(String),
    /// The `--query` expression failed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A shape the format cannot print (the AWS CLI fails on it too).
    #[error("cannot print this result as {format}: {detail}; try --output json")]
    Shape {
        format: &'static str,
        detail: String,
    },
    /// Nested deeper than [`MAX_DOCUMENT_DEPTH`].
    #[error("the document is nested deeper than {MAX_DOCUMENT_DEPTH} levels")]
    TooDeep,
}

/// Options the CLI takes from elsewhere than the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions<'a> {
    /// The table's title: the CLI uses the operation name (`DescribeInstances`). `None`: no
    /// title row.
    pub title: Option<&'a str>,
    /// Columns available to a table; wider tables turn single-row sections vertical. The CLI
    /// uses the terminal's width, or 80 when stdout is not a terminal (as for us).
    pub terminal_width: usize,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            title: None,
            terminal_width: 80,
        }
    }
}

/// Prints `value` in `format` with default options (no table title, 80 columns).
pub fn render(value: &Value, format: OutputFormat) -> Result<String, OutputError> {
    render_with(value, format, &RenderOptions::default())
}

/// Prints `value` in `format`, exactly as the AWS CLI's formatter for it would. An empty
/// object prints nothing in json and yaml (the CLI's rule for bodiless responses); falsy values
/// print nothing as a table.
pub fn render_with(
    value: &Value,
    format: OutputFormat,
    options: &RenderOptions<'_>,
) -> Result<String, OutputError> {
    if depth_exceeds(value, MAX_DOCUMENT_DEPTH) {
        return Err(OutputError::TooDeep);
    }
    let mut out = String::new();
    let empty_object = matches!(value, Value::Object(m) if m.is_empty());
    match format {
        OutputFormat::Json => {
            if !empty_object {
                pyfmt::json_pretty(value, 0, &mut out);
                out.push('\n');
            }
        }
        OutputFormat::Text => text::format_text(value, &mut out)?,
        OutputFormat::Table => table::format_table(
            value,
            options.title.unwrap_or(""),
            options.terminal_width,
            &mut out,
        )?,
        OutputFormat::Yaml => {
            if !empty_object {
                yaml::format_yaml(value, &mut out);
            }
        }
        OutputFormat::YamlStream => {
            if !empty_object {
                yaml::format_yaml_stream(value, &mut out);
            }
        }
    }
    Ok(out)
}

/// The CLI's whole output step for one response: drop `ResponseMetadata`, apply `query`,
/// render.
pub fn format_response(
    response: &Value,
    query: Option<&Query>,
    format: OutputFormat,
    options: &RenderOptions<'_>,
) -> Result<String, OutputError> {
    let stripped;
    let mut current = response;
    if let Value::Object(m) = response
        && m.contains_key("ResponseMetadata")
    {
        let mut m = m.clone();
        m.shift_remove("ResponseMetadata");
        stripped = Value::Object(m);
        current = &stripped;
    }
    match query {
        Some(q) => {
            let selected = q.search(current)?;
            render_with(&selected, format, options)
        }
        None => render_with(current, format, options),
    }
}

/// Whether `value` nests deeper than `limit` (iterative: safe on any input).
fn depth_exceeds(value: &Value, limit: usize) -> bool {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|e| (e, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|e| (e, d + 1))),
            _ => {}
        }
    }
    false
}
