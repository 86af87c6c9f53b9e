//! Offline command suggestions: BM25 over every CLI operation's name, service and one-sentence
//! summary. Nothing leaves the machine; the index is built once, on first use, from light
//! per-service reads that do not keep the full models in memory.

use std::collections::HashMap;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::naming::ArgForm;
use crate::{Models, ServiceCli, models};

/// One suggested operation.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// `aws s3api list-objects-v2`
    pub command: String,
    pub service: String,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Required options, e.g. `--bucket`.
    pub required: Vec<String>,
    pub score: f64,
}

struct Doc {
    cli_command: String,
    cli_op: String,
    service: String,
    operation: String,
    summary: Option<String>,
    len: f64,
}

/// The search index over all operations.
pub struct SuggestIndex {
    docs: Vec<Doc>,
    postings: HashMap<String, Vec<(u32, f64)>>,
    avg_len: f64,
}

impl std::fmt::Debug for SuggestIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuggestIndex")
            .field("operations", &self.docs.len())
            .finish()
    }
}

#[derive(Deserialize)]
struct LightOp {
    summary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LightMeta {
    service_id: Option<String>,
}

#[derive(Deserialize)]
struct LightService {
    metadata: LightMeta,
    operations: IndexMap<String, LightOp>,
}

const STOP: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "for", "and", "or", "on", "with", "by", "from", "is",
    "are", "that", "this", "all", "my", "me", "i", "how", "do", "can", "you", "your", "it", "its",
    "be", "as", "at", "which", "what", "aws", "amazon", "use",
];

/// Lower-case word tokens, plural `s` folded, stop words dropped.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| !STOP.contains(&w.as_str()))
        .map(|w| {
            if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w[..w.len() - 1].to_string()
            } else {
                w
            }
        })
}

/// The process-wide index (built on first use: every service is read once, lightly).
pub fn index() -> &'static SuggestIndex {
    static INDEX: OnceLock<SuggestIndex> = OnceLock::new();
    INDEX.get_or_init(|| SuggestIndex::build(models()))
}

impl SuggestIndex {
    fn build(models: &Models) -> SuggestIndex {
        let mut docs = Vec::new();
        let mut postings: HashMap<String, Vec<(u32, f64)>> = HashMap::new();
        for (cli_name, cmd) in models.commands() {
            let Some(service) = &cmd.service else {
                continue;
            };
            let Ok(raw) = models.pack.read(&format!("service/{service}")) else {
                continue;
            };
            let Ok(light) = serde_json::from_slice::<LightService>(&raw) else {
                continue;
            };
            let mut cli: ServiceCli = models.decode_optional_cli(service).unwrap_or_default();
            cli.index(light.operations.keys().cloned());
            let service_id = light.metadata.service_id.clone().unwrap_or_default();
            for (cli_op, api) in &cli.by_cli_name {
                let summary = light.operations.get(api).and_then(|o| o.summary.clone());
                let mut tf: HashMap<String, f64> = HashMap::new();
                // The operation's own name counts most, then the service, then the summary.
                for t in tokens(cli_op) {
                    *tf.entry(t).or_default() += 3.0;
                }
                for t in tokens(cli_name).chain(tokens(&service_id)) {
                    *tf.entry(t).or_default() += 2.0;
                }
                for t in tokens(summary.as_deref().unwrap_or("")) {
                    *tf.entry(t).or_default() += 1.0;
                }
                let id = docs.len() as u32;
                let len = tf.values().sum();
                for (t, f) in tf {
                    postings.entry(t).or_default().push((id, f));
                }
                docs.push(Doc {
                    cli_command: cli_name.clone(),
                    cli_op: cli_op.clone(),
                    service: service.clone(),
                    operation: api.clone(),
                    summary,
                    len,
                });
            }
        }
        let avg_len = if docs.is_empty() {
            1.0
        } else {
            docs.iter().map(|d| d.len).sum::<f64>() / docs.len() as f64
        };
        SuggestIndex {
            docs,
            postings,
            avg_len,
        }
    }

    /// Number of operations indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The `k` operations most relevant to `query` (BM25, k1 = 1.2, b = 0.75), with their required options.
    pub fn search(&self, query: &str, k: usize) -> Vec<Suggestion> {
        let n = self.docs.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut seen = Vec::new();
        // Everyday words agents use for the API's verbs.
        let expanded = tokens(query).flat_map(|t| {
            let extra: &[&str] = match t.as_str() {
                "upload" | "write" | "store" | "save" => &["put"],
                "download" | "read" | "fetch" | "show" | "view" => &["get"],
                "remove" | "erase" | "destroy" => &["delete"],
                "make" | "new" | "add" => &["create"],
                "stop" | "kill" => &["terminate"],
                _ => &[],
            };
            std::iter::once(t)
                .chain(extra.iter().map(|e| e.to_string()))
                .collect::<Vec<_>>()
        });
        for t in expanded {
            if seen.contains(&t) {
                continue;
            }
            let Some(list) = self.postings.get(&t) else {
                continue;
            };
            let idf = ((n - list.len() as f64 + 0.5) / (list.len() as f64 + 0.5) + 1.0).ln();
            for (doc, f) in list {
                let d = &self.docs[*doc as usize];
                let norm = f * 2.2 / (f + 1.2 * (0.25 + 0.75 * d.len / self.avg_len));
                *scores.entry(*doc).or_default() += idf * norm;
            }
            seen.push(t);
        }
        // An operation whose whole name the query spells out (`put object` → put-object, not
        // put-object-retention) ranks above its longer cousins.
        for (doc, score) in scores.iter_mut() {
            let name: Vec<String> = tokens(&self.docs[*doc as usize].cli_op).collect();
            if !name.is_empty() && name.iter().all(|t| seen.contains(t)) {
                *score += 2.0 * name.len() as f64;
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
            .into_iter()
            .map(|(id, score)| {
                let d = &self.docs[id as usize];
                Suggestion {
                    command: format!("aws {} {}", d.cli_command, d.cli_op),
                    service: d.service.clone(),
                    operation: d.operation.clone(),
                    summary: d.summary.clone(),
                    required: required_options(&d.service, &d.cli_op, &d.operation),
                    score: (score * 1000.0).round() / 1000.0,
                }
            })
            .collect()
    }
}

fn required_options(service: &str, cli_op: &str, operation: &str) -> Vec<String> {
    let m = models();
    let (Ok(model), Ok(cli)) = (m.service(service), m.service_cli(service)) else {
        return Vec::new();
    };
    let Some(op) = model.operation(operation) else {
        return Vec::new();
    };
    m.cli_args(&model, &cli, cli_op, op)
        .into_iter()
        .filter(|a| a.required && a.form != ArgForm::SetFalse)
        .map(|a| format!("--{}", a.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::index;

    #[test]
    fn finds_the_obvious_operation_first() {
        let idx = index();
        assert!(idx.len() > 18_000);
        for (query, expected) in [
            ("list s3 buckets", "aws s3api list-buckets"),
            ("describe ec2 instances", "aws ec2 describe-instances"),
            ("who am i caller identity", "aws sts get-caller-identity"),
            (
                "read a secret value from secrets manager",
                "aws secretsmanager get-secret-value",
            ),
            ("send a message to an sqs queue", "aws sqs send-message"),
        ] {
            let top = idx.search(query, 5);
            assert!(
                top.iter().any(|s| s.command == expected),
                "{query}: {:?}",
                top.iter().map(|s| &s.command).collect::<Vec<_>>()
            );
        }
        let put = idx.search("upload an object to s3 bucket", 5);
        let p = put.iter().find(|s| s.command == "aws s3api put-object");
        let p = p.unwrap_or_else(|| {
            panic!(
                "put-object not in {:?}",
                put.iter()
                    .map(|s| (&s.command, s.score))
                    .collect::<Vec<_>>()
            )
        });
        assert!(
            p.required.contains(&"--bucket".to_string())
                && p.required.contains(&"--key".to_string()),
            "{:?}",
            p.required
        );
        assert!(idx.search("", 5).is_empty());
        assert!(idx.search("zzqqxx", 5).is_empty());
    }
}
