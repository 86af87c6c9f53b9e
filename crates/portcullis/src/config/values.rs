//! The types of settings, and how each is read from text (an environment variable or a flag) and
//! from the config file (TOML).
//!
//! A type's [`Value::parse`] returns, on failure, the *reason* alone, worded to follow the
//! setting's name: `must be read-only, guarded or unrestricted, not `yolo``. Whoever read the value
//! puts the name in front: the variable (`PORTCULLIS_MODE must be …`), the flag (`--host must be
//! …`), or the file, line and key (`config file p.toml:2:8: `mode`: must be …`). The file's
//! values are parsed inside the TOML deserializer, so each error carries the span of the value
//! (of the element, in a list) that is wrong.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_audit::FsyncPolicy;
use portcullis_policy::Mode;
use portcullis_sandbox::FileAccessMode;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::net::{AllowedHost, AuthType, Origin, Transport, split_authority};

/// A setting's type.
pub trait Value: Sized {
    /// Parses the text of an environment variable or a flag. `Err` is the reason (see the module
    /// docs).
    fn parse(text: &str) -> Result<Self, String>;

    /// Parses a string of the config file: [`Value::parse`], unless the file has spellings of its own.
    fn parse_file(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }

    /// Reads the value from the config file: a TOML string through [`Value::parse_file`], unless
    /// the type takes another TOML type. Errors raised in here get the value's span.
    fn from_toml<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Text(PhantomData))
    }

    /// Resolves a path of the config file against the file's directory; other values stay as they are.
    #[must_use]
    fn relative_to(self, _dir: &Path) -> Self {
        self
    }
}

/// The value as shown in a message: trimmed, at most 64 characters.
pub(crate) fn shown(text: &str) -> String {
    text.trim().chars().take(64).collect()
}

/// A TOML string, parsed by `T`.
struct Text<T>(PhantomData<T>);

impl<T: Value> Visitor<'_> for Text<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::parse_file(v).map_err(E::custom)
    }
}

/// A setting that is a whole number: a TOML integer in the file.
trait Whole: Sized {
    /// What the file must hold, for the deserializer's "expected …".
    const EXPECTING: &'static str;
    fn from_whole(n: i128) -> Result<Self, String>;
}

/// A TOML integer, checked by `T`.
struct Integer<T>(PhantomData<T>);

impl<T: Whole> Visitor<'_> for Integer<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_whole(i128::from(v)).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_whole(i128::from(v)).map_err(E::custom)
    }
}

impl Value for String {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
}

impl Value for PathBuf {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }

    fn relative_to(self, dir: &Path) -> Self {
        if self.is_relative() {
            dir.join(self)
        } else {
            self
        }
    }
}

impl Value for Mode {
    /// `read-only`, `guarded` or `unrestricted` (and the policy files' aliases of read-only).
    fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(text.trim().to_string())).map_err(|_| {
            format!(
                "must be read-only, guarded or unrestricted, not `{}`",
                shown(text)
            )
        })
    }
}

impl Value for FileAccessMode {
    /// The awslabs variable's values (see [`FileAccessMode::from_env_value`]).
    fn parse(text: &str) -> Result<Self, String> {
        FileAccessMode::from_env_value(text).map_err(|_| {
            format!(
                "must be workdir (the default; also false/no/0), no-access or unrestricted (also true/yes/1), not `{}`",
                shown(text)
            )
        })
    }
}

impl Value for FsyncPolicy {
    /// `always`, `never` or `<N>ms`.
    fn parse(text: &str) -> Result<Self, String> {
        let v = text.trim().to_ascii_lowercase();
        match v.as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            _ => match v.strip_suffix("ms").and_then(|n| n.parse::<u64>().ok()) {
                Some(ms) => Ok(FsyncPolicy::Interval(Duration::from_millis(ms))),
                None => Err(format!(
                    "must be always, never or a number of milliseconds like 100ms, not `{}`",
                    shown(&v)
                )),
            },
        }
    }
}

impl Value for portcullis_resilience::rate::Rate {
    /// `N/s`, `N/m` or `N/h`, optionally `burst B`.
    fn parse(text: &str) -> Result<Self, String> {
        portcullis_resilience::rate::Rate::parse(text).map_err(|e| format!("must be a rate: {e}"))
    }
}

/// Retries as a share of calls (the retry budget): `10%` or `0.1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryRatio(pub f32);

impl Value for RetryRatio {
    /// A percentage (`10%`) or a fraction (`0.1`), from 0 to 10 (1000%).
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let ratio = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f32>().map(|p| p / 100.0),
            None => t.parse::<f32>(),
        };
        match ratio {
            Ok(r) if r.is_finite() && (0.0..=10.0).contains(&r) => Ok(RetryRatio(r)),
            _ => Err(format!(
                "must be a share of calls like 10% or 0.1 (from 0 to 1000%), not `{}`",
                shown(t)
            )),
        }
    }
}

impl Whole for NonZeroU64 {
    const EXPECTING: &'static str = "a positive whole number";

    fn from_whole(n: i128) -> Result<Self, String> {
        u64::try_from(n)
            .ok()
            .and_then(NonZeroU64::new)
            .ok_or_else(|| format!("must be a positive whole number, not `{n}`"))
    }
}

impl Value for NonZeroU64 {
    /// A count or a duration: a positive whole number.
    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<NonZeroU64>()
            .map_err(|_| format!("must be a positive whole number, not `{}`", shown(text)))
    }

    fn from_toml<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_u64(Integer(PhantomData))
    }
}

/// Why a port is not one.
fn port_reason(shown: &str) -> String {
    format!("must be a port number from 0 to 65535 (0 = any free port), not `{shown}`")
}

impl Whole for u16 {
    const EXPECTING: &'static str = "a port number from 0 to 65535";

    fn from_whole(n: i128) -> Result<Self, String> {
        u16::try_from(n).map_err(|_| port_reason(&n.to_string()))
    }
}

impl Value for u16 {
    /// A TCP port (0: any free port).
    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<u16>()
            .map_err(|_| port_reason(&shown(text)))
    }

    fn from_toml<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_u64(Integer(PhantomData))
    }
}

impl Value for IpAddr {
    /// The address to bind: an IP address (IPv6 with or without brackets) or `localhost`.
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("localhost") {
            return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        t.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| {
                format!(
                    "must be an IP address (e.g. 127.0.0.1 or ::1) or `localhost`, not `{}`",
                    shown(t)
                )
            })
    }
}

impl Value for Transport {
    /// The awslabs variable's values, `stdio` or `streamable-http`, and `http` as the flag
    /// spells it; any case.
    fn parse(text: &str) -> Result<Self, String> {
        Self::parse_file(text)
    }

    /// The file also takes `http`, as the flag does.
    fn parse_file(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "stdio" => Ok(Transport::Stdio),
            "streamable-http" | "http" => Ok(Transport::Http),
            other => Err(format!(
                "must be `stdio` or `streamable-http` (or `http`), not `{}`",
                shown(other)
            )),
        }
    }
}

impl Value for bool {
    /// `true`/`yes`/`1` or `false`/`no`/`0`, any case; anything else is an error (a misspelt
    /// "on" is not read as off).
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            other => Err(format!("must be true or false, not `{}`", shown(other))),
        }
    }

    fn from_toml<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bool(Flag)
    }
}

/// A TOML boolean.
struct Flag;

impl Visitor<'_> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
}

impl Value for AuthType {
    /// awslabs's `no-auth` or `oauth`, any case.
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "no-auth" => Ok(AuthType::NoAuth),
            "oauth" => Ok(AuthType::OAuth),
            other => Err(format!(
                "must be `no-auth` or `oauth`, not `{}`",
                shown(other)
            )),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain `portcullis: ...` lines (the default).
    #[default]
    Human,
    /// One JSON object a line, with the current span's fields.
    Json,
}

impl Value for LogFormat {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("must be human or json, not `{}`", shown(other))),
        }
    }
}

/// An element of a list setting: a comma-separated variable, or a TOML array of strings.
pub trait Item: Sized {
    /// What the elements are, for messages ("origins `http[s]://host[:port]` (e.g. …)").
    const WHAT: &'static str;
    /// What else a reader of the message should know (after the element shown).
    const NOTE: &'static str = "";
    fn parse_item(text: &str) -> Option<Self>;
}

impl Item for AllowedHost {
    const WHAT: &'static str =
        "host names, each optionally with `:port` (e.g. `myhost` or `myhost.example:8000`)";
    const NOTE: &'static str = " (wildcards are not accepted)";

    /// A host name with an optional port; not `*`.
    fn parse_item(text: &str) -> Option<Self> {
        match split_authority(text) {
            Some((host, port)) if host != "*" => Some(AllowedHost { host, port }),
            _ => None,
        }
    }
}

impl Item for crate::server::oauth::RoleMapping {
    const WHAT: &'static str = "role mappings `sub:<subject>=<role ARN>` or `group:<group>=<role ARN>` \
         (e.g. `group:admins=arn:aws:iam::123456789012:role/admin-agent`)";
    const NOTE: &'static str = " (a role ARN is `arn:aws:iam::<12-digit account>:role/<name>`; a subject or group may not be empty)";

    fn parse_item(text: &str) -> Option<Self> {
        crate::server::oauth::RoleMapping::parse(text)
    }
}

impl Item for Origin {
    const WHAT: &'static str = "origins `http[s]://host[:port]` (e.g. `https://app.example`)";
    const NOTE: &'static str = " (wildcards are not accepted)";

    fn parse_item(text: &str) -> Option<Self> {
        Origin::parse(text)
    }
}

/// Why `text` is not an element of the list.
fn item_reason<T: Item>(separated: &str, text: &str) -> String {
    format!(
        "takes {separated}{}; `{}` is not one{}",
        T::WHAT,
        shown(text),
        T::NOTE
    )
}

impl<T: Item> Value for Vec<T> {
    /// Comma-separated; blank elements are skipped.
    fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| T::parse_item(s).ok_or_else(|| item_reason::<T>("comma-separated ", s)))
            .collect()
    }

    /// A TOML array of strings; an error points at the element.
    fn from_toml<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(List(PhantomData))
    }
}

/// A TOML array of `T`s.
struct List<T>(PhantomData<T>);

impl<'de, T: Item> Visitor<'de> for List<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {}", T::WHAT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(Element(item)) = seq.next_element::<Element<T>>()? {
            items.push(item);
        }
        Ok(items)
    }
}

/// One element of a TOML list, parsed in its own deserializer so that an error has its span.
struct Element<T>(T);

impl<'de, T: Item> serde::Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ElementText(PhantomData)).map(Element)
    }
}

struct ElementText<T>(PhantomData<T>);

impl<T: Item> Visitor<'_> for ElementText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::parse_item(v).ok_or_else(|| E::custom(item_reason::<T>("", v)))
    }
}
