//! # portcullis-shorthand
//!
//! Brief overview: the AWS CLI *shorthand syntax* (`--filters Name=tag:Env,Values=prod,dev`) parsed
//! the way AWS CLI v2's `ShorthandParser` parses it, without looking at any service model. It is
//! pure and usable alone; `portcullis-cli` calls it for arguments whose shape takes shorthand. The
//! entry point is [`parse`]:
//!
//! * [`parse`] turns one argument string into the top-level map of key → [`Value`], or a
//!   [`ShorthandError`] whose `Display` shows what was expected, a caret under the offending
//!   character, and a hint an agent can act on.
//! * [`Value`] is the untyped tree: a [`Scalar`], a list or a map. The caller (who knows the target
//!   shape) turns it into typed parameters; [`Value::to_json`] gives the plain-string JSON the CLI
//!   itself would produce before that step.
//! * [`Scalar`] keeps the text plus two facts the later stages need: whether it was quoted and
//!   whether it is `literal` (plain `=`), as opposed to assigned with `@=`, which is how AWS CLI v2
//!   asks for a `file://` / `fileb://` value to be loaded. This crate never touches the file system.
//!
//! ```
//! use portcullis_shorthand::{parse, Value};
//!
//! let params = parse("Name=tag:Env,Values=prod,dev").unwrap();
//! assert_eq!(params["Name"].to_json(), "tag:Env");
//! assert_eq!(params["Values"].to_json(), serde_json::json!(["prod", "dev"]));
//!
//! let nested = parse("Tags=[{Key=team,Value='a,b'}]").unwrap();
//! let Value::List(tags) = &nested["Tags"] else { panic!() };
//! assert_eq!(tags[0].to_json(), serde_json::json!({"Key": "team", "Value": "a,b"}));
//!
//! let err = parse("foo==bar").unwrap_err();
//! assert_eq!(err.position, 4);
//! assert!(err.to_string().contains("    ^"));
//! ```
//!
//! The grammar, informally (whitespace, including newlines, is allowed around every separator):
//!
//! ```text
//! parameter  = keyval *("," keyval)                ; keys must be unique
//! keyval     = key ("=" / "@=") [top-value]
//! key        = *(ALPHA / DIGIT / "-" / "_" / "." / "#" / "/" / ":")
//! top-value  = list / map / csv                    ; csv: "a"  or  "a,b,c" (a list)
//! list       = "[" [element *("," element)] [","] "]"
//! map        = "{" [key ("=" / "@=") element *("," ...)] [","] "}"
//! element    = list / map / quoted / plain         ; a plain element may be empty
//! quoted     = "'" ... "'" / DQUOTE ... DQUOTE     ; \' (or \") and \\ are the only escapes
//! ```
//!
//! A plain value is trimmed at the end, may contain spaces, and `\,` stands for a literal comma.
//! Whether a `,` continues a csv list or starts the next `key=value` is decided by looking ahead:
//! `foo=a,b,c=d` is `{"foo": ["a", "b"], "c": "d"}`. See `parser.rs` for the character classes.
//!
//! Where we knowingly differ from awscli (each pinned in `tests/behaviour.rs`):
//!
//! * awscli's rewind after a csv look-ahead can land on a `,` *inside* the previous item (an
//!   escaped `\,` or a quoted comma) and silently drop text: `foo=a,b\,c=d` gives
//!   `{"foo": "a", "c": "d"}` there. We rewind to the separating `,` instead, so such input is an
//!   error here rather than a silent loss.
//! * A key repeated inside one `{...}` is an error (awscli keeps the last value silently; it
//!   already rejects repeated top-level keys).
//! * Characters beyond U+FFFF (emoji) are ordinary value characters; awscli's regular
//!   expressions stop at U+FFFF and reject them.

mod error;
mod parser;

use indexmap::IndexMap;

pub use error::ShorthandError;

/// Nesting deeper than this many `[`/`{` levels is rejected, so hostile input cannot exhaust the
/// stack. Real AWS parameters are far shallower.
pub const MAX_DEPTH: usize = 64;

/// One parsed shorthand value. Shorthand has no numbers or booleans: every leaf is text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Scalar(Scalar),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
}

/// A leaf value, already unescaped and trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub text: String,
    /// `true` for values assigned with plain `=`: AWS CLI v2 never resolves `file://` in them.
    /// `false` for values under `key@=...`, which AWS CLI v2 uses to *request* that a
    /// `file://` / `fileb://` value be loaded ("@= instructs the AWS CLI to interpret the value as
    /// a file path"). Lists under `@=` pass this on to their scalars; a nested `{...}` map's
    /// entries carry their own `=` / `@=`.
    pub literal: bool,
    /// The value was written in single or double quotes.
    pub quoted: bool,
}

/// Parses one shorthand argument (everything after `--option `) into its top-level map.
///
/// Keys keep their input order. A repeated top-level key, or a repeated key inside one `{...}`,
/// is an error (it usually means a `,` was typed where a space was meant).
pub fn parse(input: &str) -> Result<IndexMap<String, Value>, ShorthandError> {
    parser::Parser::new(input).parameter()
}

impl Value {
    /// The JSON the AWS CLI builds before applying the model: scalars become JSON strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Scalar(s) => serde_json::Value::String(s.text.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }

    /// The scalar inside, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }
}
