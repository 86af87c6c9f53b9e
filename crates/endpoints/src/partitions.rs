//! AWS partitions (`partitions.json`) and the `aws.partition` lookup.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::error::PartitionsError;
use crate::pattern::RegionPattern;

/// The partitions of botocore's `partitions.json`, in document order (the first is the fallback).
#[derive(Debug, Clone)]
pub struct Partitions {
    partitions: Vec<Partition>,
    /// Each listed region to the first partition listing it.
    listed: HashMap<String, usize>,
}

/// One partition: its id, region pattern and outputs (`dnsSuffix`, `supportsFIPS`, ...).
#[derive(Debug, Clone)]
pub struct Partition {
    id: String,
    pattern: RegionPattern,
    /// The `outputs` object, with `name` set to the id as botocore does.
    outputs: serde_json::Map<String, Json>,
}

impl Partitions {
    /// Loads `partitions.json` (`{"partitions": [{"id", "regionRegex", "regions", "outputs"}, ...]}`).
    pub fn from_json(document: &Json) -> Result<Self, PartitionsError> {
        let err = |m: String| PartitionsError(m);
        let list = document.get("partitions").and_then(Json::as_array);
        let list = list.ok_or_else(|| err("`partitions` must be an array".into()))?;
        if list.is_empty() {
            return Err(err("no partitions".into()));
        }
        let mut partitions = Vec::with_capacity(list.len());
        let mut listed = HashMap::new();
        for (i, p) in list.iter().enumerate() {
            let id = p
                .get("id")
                .and_then(Json::as_str)
                .ok_or_else(|| err(format!("partition {i} has no `id`")))?;
            let regex = p.get("regionRegex").and_then(Json::as_str);
            let regex = regex.ok_or_else(|| err(format!("partition {id} has no `regionRegex`")))?;
            let pattern = RegionPattern::new(regex)
                .map_err(|m| err(format!("partition {id}: regionRegex: {m}")))?;
            let mut outputs = match p.get("outputs") {
                Some(Json::Object(o)) => o.clone(),
                _ => return Err(err(format!("partition {id} has no `outputs` object"))),
            };
            outputs.insert("name".into(), Json::String(id.to_owned()));
            match p.get("regions") {
                Some(Json::Object(regions)) => {
                    for region in regions.keys() {
                        listed.entry(region.clone()).or_insert(i);
                    }
                }
                None | Some(Json::Null) => {}
                Some(_) => return Err(err(format!("partition {id}: `regions` must be an object"))),
            }
            partitions.push(Partition {
                id: id.to_owned(),
                pattern,
                outputs,
            });
        }
        Ok(Self { partitions, listed })
    }

    /// Loads `partitions.json` from JSON text.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PartitionsError> {
        let document: Json =
            serde_json::from_slice(bytes).map_err(|e| PartitionsError(format!("not JSON: {e}")))?;
        Self::from_json(&document)
    }

    /// The partition of a region as botocore picks it: the first partition that lists the region or whose
    /// `regionRegex` matches it, else the first partition.
    pub fn find(&self, region: &str) -> &Partition {
        let listed = self.listed.get(region).copied();
        self.partitions
            .iter()
            .enumerate()
            .find(|(i, p)| listed == Some(*i) || p.pattern.is_match(region))
            .map_or(&self.partitions[0], |(_, p)| p)
    }

    /// The fallback partition (`aws`).
    pub fn default_partition(&self) -> &Partition {
        &self.partitions[0]
    }

    /// All partitions in document order.
    pub fn iter(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.iter()
    }

    /// A partition by id.
    pub fn get(&self, id: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }
}

impl Partition {
    /// The partition id (`aws`, `aws-cn`, ...).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `regionRegex` as written.
    pub fn region_regex(&self) -> &str {
        self.pattern.source()
    }

    /// One output (`name`, `dnsSuffix`, `dualStackDnsSuffix`, `supportsFIPS`, `supportsDualStack`,
    /// `implicitGlobalRegion`, ...).
    pub fn output(&self, name: &str) -> Option<&Json> {
        self.outputs.get(name)
    }

    /// The partition's DNS suffix (`amazonaws.com`).
    pub fn dns_suffix(&self) -> Option<&str> {
        self.output("dnsSuffix").and_then(Json::as_str)
    }
}
