//! The AWS CLI's names: kebab-case derivation and the per-operation exceptions from the pinned awscli.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Deserialize;

/// botocore's `xform_name(name, '-')`, the AWS CLI's derivation of kebab-case names.
///
/// The CLI does not apply botocore's small cache of special cases; where its names differ from
/// this derivation, the pack records the exception ([`OperationCli`]).
///
/// `DescribeDBInstances` → `describe-db-instances`, `ListWebACLs` → `list-web-acls`.
pub fn xform_name(name: &str) -> String {
    if name.contains('-') {
        return name.to_string();
    }
    let mut chars: Vec<char> = name.chars().collect();
    // A pluralised acronym at the end (`GatewayARNs`) becomes its own lower-case word.
    let tail = chars
        .iter()
        .rev()
        .skip(1)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    if chars.last() == Some(&'s') && tail >= 2 {
        let split = chars.len() - tail - 1;
        let lowered: Vec<char> = chars[split..]
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        chars.truncate(split);
        chars.push('-');
        chars.extend(lowered);
    }
    // (.)([A-Z][a-z]+) → \1-\2
    let mut s1 = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        s1.push(chars[i]);
        if i + 2 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
            && chars[i + 2].is_ascii_lowercase()
        {
            let mut j = i + 2;
            while j < chars.len() && chars[j].is_ascii_lowercase() {
                j += 1;
            }
            s1.push('-');
            s1.extend_from_slice(&chars[i + 1..j]);
            i = j;
        } else {
            i += 1;
        }
    }
    // ([a-z0-9])([A-Z]) → \1-\2
    let mut out = String::with_capacity(s1.len() + 8);
    let mut i = 0;
    while i < s1.len() {
        let c = s1[i];
        out.push(c.to_ascii_lowercase());
        if i + 1 < s1.len()
            && (c.is_ascii_lowercase() || c.is_ascii_digit())
            && s1[i + 1].is_ascii_uppercase()
        {
            out.push('-');
            out.push(s1[i + 1].to_ascii_lowercase());
            i += 2;
        } else {
            i += 1;
        }
    }
    // Python's str.lower() also lowers non-ASCII letters.
    if out.is_ascii() {
        out
    } else {
        out.to_lowercase()
    }
}

/// A top-level `aws <command>`.
#[derive(Debug, Clone, Deserialize)]
pub struct CliCommand {
    /// The botocore service behind it; `None` for commands that exist only in the CLI (`s3`, `configure`).
    pub service: Option<String>,
    /// Sub-commands of a CLI-only command (`s3 ls`, `s3 cp`, ...).
    #[serde(default)]
    pub custom_subcommands: Vec<String>,
}

/// A global option of the CLI (`--region`, `--output`, ...).
#[derive(Debug, Clone, Deserialize)]
pub struct GlobalArg {
    pub name: String,
    pub action: Option<String>,
    #[serde(default)]
    pub choices: Vec<String>,
}

/// The part of the pack index that describes the CLI.
#[derive(Debug, Deserialize)]
pub struct CliIndex {
    /// The pinned awscli version the names come from.
    pub awscli: String,
    pub commands: IndexMap<String, CliCommand>,
    pub global_args: Vec<GlobalArg>,
    /// `<endpoint prefix>.<cli operation>.<argument>` whose `file://` values the CLI takes literally.
    #[serde(default)]
    pub paramfile_disabled: std::collections::HashSet<String>,
}

/// An argument the CLI adds that maps to no model member (`ec2 run-instances --count`, `outfile`).
#[derive(Debug, Clone, Deserialize)]
pub struct CustomArg {
    pub name: String,
    /// The awscli class implementing it, e.g. `StreamingOutputArgument`.
    pub class: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub positional: bool,
    pub action: Option<String>,
    /// For arguments an awscli customization binds to a nested member.
    pub nested_member: Option<String>,
}

/// An extra flag bound to a member (`ec2 create-image --reboot` for `NoReboot=false`).
#[derive(Debug, Clone, Deserialize)]
pub struct Alias {
    pub member: String,
    /// `positive` (sets true), `negative` (sets false) or absent (takes a value).
    pub boolean: Option<String>,
}

/// Where one CLI operation's arguments depart from the default derivation.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct OperationCli {
    /// Member → CLI argument name (without `--`), where it is not `xform_name(member)`.
    #[serde(default)]
    pub args: HashMap<String, String>,
    /// Boolean members that have no `--no-` form.
    #[serde(default)]
    pub no_negative: Vec<String>,
    #[serde(default)]
    pub aliases: IndexMap<String, Alias>,
    /// Input members the CLI does not expose as arguments.
    #[serde(default)]
    pub hidden: Vec<String>,
    #[serde(default)]
    pub custom_args: Vec<CustomArg>,
    /// The CLI's argument order (names without `--`) where customizations changed it.
    #[serde(default)]
    pub order: Vec<String>,
}

/// The CLI layer of one service: its operations by CLI name, and the exceptions to the defaults.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceCli {
    /// Argument exceptions, keyed by CLI operation name.
    #[serde(default)]
    pub operations: HashMap<String, OperationCli>,
    /// API operation → CLI name, where it is not `xform_name(operation)`.
    #[serde(default)]
    pub renamed: HashMap<String, String>,
    /// Further CLI names bound to an API operation (`rds add-option-to-option-group` → `ModifyOptionGroup`).
    #[serde(default)]
    pub extra_commands: HashMap<String, String>,
    /// Operations of the model the CLI does not offer (event streams, mostly).
    #[serde(default)]
    pub removed_operations: Vec<String>,
    /// Sub-commands the CLI adds to this service (`wait`, `deploy push`, ...).
    #[serde(default)]
    pub custom_operations: Vec<String>,
    /// CLI operation name → API operation name, for every operation the CLI offers (filled at load).
    #[serde(skip)]
    pub by_cli_name: IndexMap<String, String>,
}

impl ServiceCli {
    /// The API operation behind a CLI operation name.
    pub fn operation_for(&self, cli_name: &str) -> Option<&str> {
        self.by_cli_name.get(cli_name).map(String::as_str)
    }

    /// The argument exceptions of a CLI operation (empty when all is derived).
    pub fn exceptions(&self, cli_name: &str) -> Option<&OperationCli> {
        self.operations.get(cli_name)
    }

    pub(crate) fn index(&mut self, operations: impl Iterator<Item = String>) {
        let mut map = IndexMap::new();
        for op in operations {
            if self.removed_operations.contains(&op) {
                continue;
            }
            let name = self
                .renamed
                .get(&op)
                .cloned()
                .unwrap_or_else(|| xform_name(&op));
            map.insert(name, op);
        }
        for (name, op) in &self.extra_commands {
            map.insert(name.clone(), op.clone());
        }
        map.sort_keys();
        self.by_cli_name = map;
    }
}

#[cfg(test)]
mod tests {
    use super::xform_name;

    #[test]
    fn derives_botocore_names() {
        for (api, cli) in [
            ("DescribeInstances", "describe-instances"),
            ("DescribeDBInstances", "describe-db-instances"),
            ("ListWebACLs", "list-web-acls"),
            ("GatewayARNs", "gateway-arns"),
            ("ListObjectsV2", "list-objects-v2"),
            ("GetBucketAcl", "get-bucket-acl"),
            ("SSEKMSKeyId", "ssekms-key-id"),
            ("ChecksumCRC32C", "checksum-crc32-c"),
            ("CreateCachediSCSIVolume", "create-cachedi-scsi-volume"),
            ("already-kebab", "already-kebab"),
            ("", ""),
            ("A", "a"),
            ("ARNs", "-arns"),
        ] {
            assert_eq!(xform_name(api), cli, "{api}");
        }
    }
}

/// How a CLI argument sets its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgForm {
    /// `--name VALUE...`
    Value,
    /// `--flag`: sets the boolean member to true.
    SetTrue,
    /// `--no-flag`: sets the boolean member to false.
    SetFalse,
}

/// One model-backed argument of an operation as the CLI spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliArgSpec {
    /// Without the leading `--`.
    pub name: String,
    pub member: String,
    pub form: ArgForm,
    pub required: bool,
}
