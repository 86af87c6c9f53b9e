//! The pin file (`portcullis gateway pin`): per upstream, the server's name and version, the
//! protocol version, and for each tool, prompt and resource template the SHA-256 of the RFC 8785
//! canonical JSON of its full definition — with the definition itself, so that a reviewer reads
//! what was pinned and a change shows as a diff. JSON, sorted, one item per key: reviewable in a
//! pull request.
//!
//! Beside it, `<lock>.pending.json` holds what a running gateway quarantined (the definition it
//! saw, its diff and scan findings), which `portcullis gateway approve` accepts into the pin file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of definitions pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// `tools/list`.
    Tool,
    /// `prompts/list`.
    Prompt,
    /// `resources/templates/list`.
    ResourceTemplate,
}

impl Kind {
    /// As messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
            Kind::ResourceTemplate => "resource template",
        }
    }
}

/// One pinned definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemPin {
    /// `sha256:<hex>` of the canonical JSON of `definition`.
    pub sha256: String,
    /// The full definition as the upstream listed it.
    pub definition: Value,
    /// Scan findings a person accepted with `--force` (rule: detail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_findings: Vec<String>,
}

impl ItemPin {
    /// A pin of `definition`.
    pub fn of(definition: Value, accepted_findings: Vec<String>) -> ItemPin {
        ItemPin {
            sha256: portcullis_gateway::canonical::digest(&definition),
            definition,
            accepted_findings,
        }
    }
}

/// The server an upstream's pins came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerPin {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// The protocol version it agreed to.
    pub protocol_version: String,
}

/// One upstream's pins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamPin {
    /// Who served them.
    pub server: ServerPin,
    /// Tools by (unprefixed) name.
    #[serde(default)]
    pub tools: BTreeMap<String, ItemPin>,
    /// Prompts by name.
    #[serde(default)]
    pub prompts: BTreeMap<String, ItemPin>,
    /// Resource templates by name.
    #[serde(default)]
    pub resource_templates: BTreeMap<String, ItemPin>,
}

impl UpstreamPin {
    /// The pins of one kind.
    pub fn items(&self, kind: Kind) -> &BTreeMap<String, ItemPin> {
        match kind {
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
            Kind::ResourceTemplate => &self.resource_templates,
        }
    }

    /// The pins of one kind, to change.
    pub fn items_mut(&mut self, kind: Kind) -> &mut BTreeMap<String, ItemPin> {
        match kind {
            Kind::Tool => &mut self.tools,
            Kind::Prompt => &mut self.prompts,
            Kind::ResourceTemplate => &mut self.resource_templates,
        }
    }
}

/// The pin file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockFile {
    /// The format version (1).
    pub version: u32,
    /// Upstreams by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamPin>,
}

impl Default for LockFile {
    fn default() -> LockFile {
        LockFile {
            version: 1,
            upstreams: BTreeMap::new(),
        }
    }
}

/// Reads a JSON file of type `T`; `None` when it does not exist.
fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not a valid pin file", path.display()))
}

/// Writes `value` as pretty JSON to `path` atomically (a temporary file renamed over it).
fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("cannot serialize the pin file")?;
    text.push('\n');
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(|| "lock".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

impl LockFile {
    /// Reads the pin file; an absent one is empty (everything is then quarantined).
    pub fn load(path: &Path) -> anyhow::Result<LockFile> {
        let lock: LockFile = read_json(path)?.unwrap_or_default();
        anyhow::ensure!(
            lock.version == 1,
            "{}: pin file version {} is not supported (this version reads 1)",
            path.display(),
            lock.version
        );
        Ok(lock)
    }

    /// Writes it (atomically).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }
}

/// A definition a running gateway quarantined, waiting for `approve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PendingItem {
    /// What kind of definition.
    pub kind: Kind,
    /// The definition the upstream listed (absent: removed).
    pub definition: Option<Value>,
    /// Why it is quarantined, in words.
    pub reason: String,
    /// What changed against the pin.
    #[serde(default)]
    pub diff: Vec<portcullis_gateway::diff::FieldChange>,
    /// Scan findings (rule: detail).
    #[serde(default)]
    pub findings: Vec<String>,
}

/// `<lock>.pending.json`: upstream → `kind:name` → item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// By upstream, then `tool:NAME` / `prompt:NAME` / `resourceTemplate:NAME`.
    #[serde(default)]
    pub upstreams: BTreeMap<String, BTreeMap<String, PendingItem>>,
}

/// The key of an item in [`Pending`].
pub fn pending_key(kind: Kind, name: &str) -> String {
    let k = match kind {
        Kind::Tool => "tool",
        Kind::Prompt => "prompt",
        Kind::ResourceTemplate => "resourceTemplate",
    };
    format!("{k}:{name}")
}

/// Where the pending file of `lock` is.
pub fn pending_path(lock: &Path) -> PathBuf {
    let name = lock.file_name().map_or_else(
        || "gateway.lock.json".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    lock.with_file_name(format!("{stem}.pending.json"))
}

impl Pending {
    /// Reads it (absent: empty).
    pub fn load(path: &Path) -> anyhow::Result<Pending> {
        Ok(read_json(path)?.unwrap_or_default())
    }

    /// Writes it (atomically).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lock_round_trips_and_pins_the_canonical_digest() {
        let dir = std::env::temp_dir().join(format!("pg-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gw.lock.json");
        let mut lock = LockFile::default();
        let mut up = UpstreamPin::default();
        up.tools.insert(
            "echo".into(),
            ItemPin::of(
                json!({"name": "echo", "inputSchema": {"type": "object"}}),
                vec![],
            ),
        );
        lock.upstreams.insert("a".into(), up);
        lock.save(&path).unwrap();
        let back = LockFile::load(&path).unwrap();
        assert_eq!(back, lock);
        // Key order does not change the digest.
        assert_eq!(
            back.upstreams["a"].tools["echo"].sha256,
            ItemPin::of(
                json!({"inputSchema": {"type": "object"}, "name": "echo"}),
                vec![]
            )
            .sha256
        );
        assert_eq!(pending_path(&path), dir.join("gw.lock.pending.json"));
        assert!(
            LockFile::load(&dir.join("absent.json"))
                .unwrap()
                .upstreams
                .is_empty()
        );
        std::fs::write(&path, "{\"version\": 2}").unwrap();
        assert!(format!("{:#}", LockFile::load(&path).unwrap_err()).contains("version 2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
