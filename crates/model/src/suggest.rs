//! Offline command suggestions: every CLI operation (and the high-level customizations Portcullis
//! runs, `aws s3 cp` and friends) ranked for a plain-words query. Nothing leaves the machine; the
//! index is built once, on first use, from light per-service reads that do not keep the full
//! models in memory.
//!
//! The score of an operation adds up, per query word, the best match of the word or one of its
//! synonyms among the words of the operation's name (weighted by how rare that name word is),
//! a bonus when the operation's verb is what the query asks for (`stop` finds `stop-instances`,
//! not `terminate-instances`), a bonus when the query names or implies the service (`bucket` →
//! s3, `function` → lambda), BM25 over the one-sentence summary (a lesser field), a penalty per
//! word of the name the query does not ask for, and small priors: the services agents use most
//! rank first among equals, deprecated operations last. The tables below are the only knowledge
//! it has; it is deterministic and offline.

use std::collections::{HashMap, HashSet};
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
    /// The API operation (`ListObjectsV2`); for a customization, its sub-command (`cp`).
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Required options, e.g. `--bucket`; for `aws s3` commands, their positional arguments.
    pub required: Vec<String>,
    pub score: f64,
}

struct Doc {
    cli_command: String,
    cli_op: String,
    service: String,
    operation: String,
    summary: Option<String>,
    /// Normalised words of the CLI operation name, verb first.
    name: Vec<String>,
    /// The idf of each word of `name` among all names.
    name_idf: Vec<f32>,
    /// Whether the last word of the name is a plural (`list-tables`, not `describe-table`).
    plural: bool,
    /// The customization this is, if it is one.
    custom: Option<&'static Custom>,
    /// Added to every score: service popularity, deprecation.
    prior: f32,
    summary_len: f32,
}

/// The search index over all operations.
pub struct SuggestIndex {
    docs: Vec<Doc>,
    /// Name word → documents whose name (or customization keywords) has it.
    names: HashMap<String, Vec<u32>>,
    /// Summary word → (document, term frequency).
    summaries: HashMap<String, Vec<(u32, f32)>>,
    avg_summary_len: f32,
    /// CLI command names (`ec2`, `s3api`, ...), which name their service in a query.
    commands: HashSet<String>,
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
    #[serde(default)]
    deprecated: bool,
}

#[derive(Deserialize)]
struct LightService {
    operations: IndexMap<String, LightOp>,
}

/// A high-level command of the CLI that Portcullis runs and that is no single API operation.
struct Custom {
    command: &'static str,
    op: &'static str,
    service: &'static str,
    summary: &'static str,
    required: &'static [&'static str],
    /// Words that find it, as if they were words of its name.
    keywords: &'static str,
}

const CUSTOMS: &[Custom] = &[
    Custom {
        command: "s3",
        op: "ls",
        service: "s3",
        summary: "List your S3 buckets, or the objects and prefixes under an S3 URI.",
        required: &[],
        keywords: "list bucket object file content folder prefix",
    },
    Custom {
        command: "s3",
        op: "cp",
        service: "s3",
        summary: "Copy a local file or S3 object to S3 or to a local file: upload, download, or S3-to-S3 copy.",
        required: &["<source>", "<destination>"],
        keywords: "copy upload download file object local",
    },
    Custom {
        command: "s3",
        op: "mv",
        service: "s3",
        summary: "Move a local file or S3 object to another place locally or in S3 (copy, then delete the source).",
        required: &["<source>", "<destination>"],
        keywords: "move rename file object",
    },
    Custom {
        command: "s3",
        op: "rm",
        service: "s3",
        summary: "Delete an S3 object, or every object under a prefix with --recursive.",
        required: &["<s3-uri>"],
        keywords: "delete remove file object empty",
    },
    Custom {
        command: "s3",
        op: "sync",
        service: "s3",
        summary: "Sync a local directory and an S3 prefix: copy new and changed files to the destination.",
        required: &["<source>", "<destination>"],
        keywords: "sync synchronize mirror backup folder directory file",
    },
    Custom {
        command: "s3",
        op: "mb",
        service: "s3",
        summary: "Make an S3 bucket.",
        required: &["<s3://bucket>"],
        keywords: "make create bucket",
    },
    Custom {
        command: "s3",
        op: "rb",
        service: "s3",
        summary: "Remove an empty S3 bucket (with --force, its objects first).",
        required: &["<s3://bucket>"],
        keywords: "remove delete bucket",
    },
    Custom {
        command: "s3",
        op: "presign",
        service: "s3",
        summary: "Generate a pre-signed URL that grants temporary access to an S3 object.",
        required: &["<s3-uri>"],
        keywords: "presign presigned url share link",
    },
    Custom {
        command: "cloudformation",
        op: "deploy",
        service: "cloudformation",
        summary: "Deploy a CloudFormation template: create or update the stack through a change set.",
        required: &["--template-file", "--stack-name"],
        keywords: "deploy template stack",
    },
    Custom {
        command: "ecr",
        op: "get-login-password",
        service: "ecr",
        summary: "Print a password to log Docker in to an ECR registry (`docker login --password-stdin`).",
        required: &[],
        keywords: "login docker password registry authenticate",
    },
    Custom {
        command: "eks",
        op: "get-token",
        service: "eks",
        summary: "Get a token to authenticate to an EKS cluster's Kubernetes API (kubectl).",
        required: &["--cluster-name"],
        keywords: "kubectl kubernetes authenticate",
    },
    Custom {
        command: "rds",
        op: "generate-db-auth-token",
        service: "rds",
        summary: "Generate an IAM authentication token to connect to an RDS database.",
        required: &["--hostname", "--port", "--username"],
        keywords: "connect database iam authentication password",
    },
];

#[rustfmt::skip]
const STOP: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "into", "for", "and", "or", "on", "with", "by", "from",
    "is", "are", "that", "this", "these", "all", "every", "my", "me", "i", "how", "do", "can",
    "you", "your", "it", "its", "be", "as", "at", "which", "what", "aws", "amazon", "use",
    "please", "some", "any", "there", "our", "we", "want", "need", "would", "like", "using", "via",
    "so", "under", "after", "it's", "running", "existing", "current", "whole", "available",
    "about",
];

/// Rewrites of phrases whose words alone would mislead (applied to the lower-cased query).
const PHRASES: &[(&str, &str)] = &[
    ("who am i", "get caller identity sts"),
    ("whoami", "get caller identity sts"),
    ("account id", "account caller identity sts"),
    ("my identity", "caller identity sts"),
    ("log in", "login"),
    ("sign in", "login"),
    ("turn on", "enable"),
    ("turn off", "disable"),
    ("set up", "create"),
    ("pre-signed", "presigned"),
    ("secrets manager", "secretsmanager"),
    ("parameter store", "ssm parameter"),
    ("systems manager", "ssm"),
    ("step functions", "sfn"),
    ("step function", "sfn"),
    ("state machine", "sfn state machine"),
    ("auto scaling", "autoscaling auto scaling"),
    ("load balancer", "elbv2 load balancer"),
    ("target group", "elbv2 target group"),
    ("api gateway", "apigateway"),
    ("event bridge", "eventbridge"),
    ("elastic ip", "ec2 address"),
    ("security group", "ec2 security group"),
    ("key pair", "ec2 key pair"),
    ("hosted zone", "route53 hosted zone"),
    ("dns record", "route53 resource record set"),
    ("cloudwatch logs", "log"),
    ("logs insights", "log query"),
    ("point in time recovery", "continuous backups"),
    ("user pool", "cognito-idp user pool"),
    ("task definition", "ecs task definition"),
    ("node group", "eks nodegroup"),
    ("cost explorer", "ce cost"),
    ("access key", "iam access key"),
    ("status check", "status"),
    ("console password", "iam login profile password"),
];

/// Words that name or imply a service: (word, [(CLI command, strength)]). CLI command names
/// themselves (`ec2`, `dynamodb`) count at full strength without being listed.
const SERVICE_WORDS: &[(&str, &[(&str, f32)])] = &[
    ("s3", &[("s3", 1.0), ("s3api", 1.0)]),
    ("sfn", &[("stepfunctions", 1.0)]),
    ("stepfunction", &[("stepfunctions", 1.0)]),
    ("eventbridge", &[("events", 1.0)]),
    ("bucket", &[("s3", 0.8), ("s3api", 0.8)]),
    ("object", &[("s3", 0.5), ("s3api", 0.5)]),
    ("file", &[("s3", 0.5), ("s3api", 0.3)]),
    ("folder", &[("s3", 0.5)]),
    ("directory", &[("s3", 0.3)]),
    ("instance", &[("ec2", 0.6), ("rds", 0.2)]),
    ("server", &[("ec2", 0.6)]),
    ("vm", &[("ec2", 0.6)]),
    ("ami", &[("ec2", 0.8)]),
    ("vpc", &[("ec2", 0.8)]),
    ("subnet", &[("ec2", 0.8)]),
    ("volume", &[("ec2", 0.6)]),
    ("ebs", &[("ec2", 1.0)]),
    ("region", &[("ec2", 0.4), ("account", 0.3)]),
    ("zone", &[("ec2", 0.3)]),
    ("function", &[("lambda", 0.8)]),
    ("layer", &[("lambda", 0.5)]),
    ("serverless", &[("lambda", 0.5)]),
    ("table", &[("dynamodb", 0.6)]),
    ("item", &[("dynamodb", 0.8)]),
    ("dynamo", &[("dynamodb", 1.0)]),
    ("ddb", &[("dynamodb", 1.0)]),
    ("queue", &[("sqs", 0.8)]),
    ("message", &[("sqs", 0.5), ("sns", 0.3)]),
    ("topic", &[("sns", 0.8)]),
    ("subscription", &[("sns", 0.5)]),
    ("notification", &[("sns", 0.4)]),
    ("cloudwatch", &[("cloudwatch", 1.0), ("logs", 0.5)]),
    ("alarm", &[("cloudwatch", 0.8)]),
    ("metric", &[("cloudwatch", 0.8)]),
    ("dashboard", &[("cloudwatch", 0.5)]),
    ("log", &[("logs", 0.8)]),
    ("database", &[("rds", 0.8), ("dynamodb", 0.2)]),
    ("db", &[("rds", 0.8)]),
    ("aurora", &[("rds", 1.0)]),
    ("postgres", &[("rds", 0.8)]),
    ("postgresql", &[("rds", 0.8)]),
    ("mysql", &[("rds", 0.8)]),
    ("cluster", &[("ecs", 0.3), ("eks", 0.3), ("rds", 0.2)]),
    ("task", &[("ecs", 0.5)]),
    ("container", &[("ecs", 0.4), ("ecr", 0.3)]),
    ("kubernetes", &[("eks", 1.0)]),
    ("k8s", &[("eks", 1.0)]),
    ("kubectl", &[("eks", 1.0)]),
    ("kubeconfig", &[("eks", 1.0)]),
    ("docker", &[("ecr", 0.8)]),
    ("stack", &[("cloudformation", 0.8)]),
    ("template", &[("cloudformation", 0.6)]),
    ("cfn", &[("cloudformation", 1.0)]),
    ("key", &[("kms", 0.5)]),
    ("encrypt", &[("kms", 0.6)]),
    ("decrypt", &[("kms", 0.6)]),
    ("ciphertext", &[("kms", 0.8)]),
    ("secret", &[("secretsmanager", 0.9)]),
    ("password", &[("secretsmanager", 0.2), ("iam", 0.3)]),
    ("parameter", &[("ssm", 0.6)]),
    ("dns", &[("route53", 1.0)]),
    ("domain", &[("route53", 0.5), ("route53domains", 0.4)]),
    ("user", &[("iam", 0.6)]),
    ("role", &[("iam", 0.6)]),
    ("group", &[("iam", 0.3)]),
    ("policy", &[("iam", 0.5)]),
    ("credential", &[("sts", 0.6)]),
    ("assume", &[("sts", 0.8)]),
    ("identity", &[("sts", 0.3)]),
    ("repository", &[("ecr", 0.5), ("codecommit", 0.3)]),
    ("image", &[("ecr", 0.3), ("ec2", 0.3)]),
    ("distribution", &[("cloudfront", 0.8)]),
    ("cdn", &[("cloudfront", 1.0)]),
    ("invalidation", &[("cloudfront", 0.8)]),
    ("stream", &[("kinesis", 0.5)]),
    ("alb", &[("elbv2", 1.0)]),
    ("nlb", &[("elbv2", 1.0)]),
    ("cost", &[("ce", 0.8)]),
    ("spend", &[("ce", 0.8)]),
    ("bill", &[("ce", 0.8)]),
    ("billing", &[("ce", 0.8)]),
    ("organization", &[("organizations", 0.8)]),
    ("certificate", &[("acm", 0.8)]),
    ("ssl", &[("acm", 0.8)]),
    ("tls", &[("acm", 0.8)]),
    ("email", &[("ses", 0.6), ("sesv2", 0.6)]),
    (
        "cognito",
        &[("cognito-idp", 1.0), ("cognito-identity", 0.4)],
    ),
    ("elb", &[("elbv2", 0.8), ("elb", 1.0)]),
];

/// Query word → words of operation names it also means, with how much it means them.
/// `stop` and `terminate` stay apart: stopping an instance is not destroying it.
const SYNONYMS: &[(&str, &[(&str, f32)])] = &[
    ("list", &[("describe", 0.9), ("get", 0.6)]),
    ("show", &[("describe", 1.0), ("get", 0.9), ("list", 0.8)]),
    ("view", &[("describe", 1.0), ("get", 0.9), ("list", 0.8)]),
    ("display", &[("describe", 1.0), ("get", 0.9), ("list", 0.8)]),
    ("see", &[("describe", 1.0), ("get", 0.9), ("list", 0.8)]),
    (
        "check",
        &[
            ("describe", 0.9),
            ("get", 0.9),
            ("list", 0.6),
            ("detect", 0.6),
        ],
    ),
    (
        "find",
        &[
            ("describe", 0.9),
            ("list", 0.8),
            ("search", 0.8),
            ("get", 0.6),
        ],
    ),
    ("describe", &[("list", 0.8), ("get", 0.7)]),
    ("get", &[("describe", 0.8), ("list", 0.5)]),
    ("read", &[("get", 1.0), ("describe", 0.7)]),
    ("fetch", &[("get", 1.0), ("describe", 0.7)]),
    ("retrieve", &[("get", 1.0), ("describe", 0.7)]),
    (
        "lookup",
        &[("lookup", 1.0), ("get", 0.8), ("describe", 0.8)],
    ),
    ("create", &[("put", 0.5), ("make", 0.8)]),
    ("make", &[("create", 1.0)]),
    ("new", &[("create", 0.9)]),
    (
        "add",
        &[
            ("create", 0.8),
            ("put", 0.7),
            ("attach", 0.6),
            ("change", 0.4),
        ],
    ),
    ("launch", &[("run", 1.0), ("start", 0.6), ("create", 0.5)]),
    ("provision", &[("create", 1.0)]),
    ("take", &[("create", 0.7)]),
    ("register", &[("create", 0.5)]),
    (
        "remove",
        &[("delete", 1.0), ("detach", 0.4), ("deregister", 0.4)],
    ),
    ("delete", &[("remove", 0.9), ("deregister", 0.4)]),
    ("erase", &[("delete", 1.0), ("remove", 0.9)]),
    ("destroy", &[("delete", 1.0), ("terminate", 0.8)]),
    ("drop", &[("delete", 1.0)]),
    ("empty", &[("delete", 0.6), ("purge", 0.6)]),
    ("clear", &[("purge", 0.8), ("delete", 0.6)]),
    ("kill", &[("stop", 1.0), ("terminate", 0.6)]),
    ("shutdown", &[("stop", 1.0)]),
    ("restart", &[("reboot", 1.0)]),
    ("update", &[("modify", 0.9), ("put", 0.7), ("set", 0.6)]),
    (
        "change",
        &[("update", 0.9), ("modify", 0.9), ("put", 0.6), ("set", 0.6)],
    ),
    ("modify", &[("update", 0.9), ("put", 0.5)]),
    ("edit", &[("update", 1.0), ("modify", 1.0), ("put", 0.6)]),
    ("set", &[("put", 0.9), ("update", 0.7), ("modify", 0.7)]),
    (
        "configure",
        &[("put", 0.7), ("update", 0.8), ("modify", 0.7)],
    ),
    ("enable", &[("put", 0.6), ("update", 0.5)]),
    ("reset", &[("update", 0.7), ("reset", 1.0)]),
    ("upload", &[("put", 1.0), ("cp", 1.0)]),
    ("store", &[("put", 1.0), ("create", 0.6)]),
    ("save", &[("put", 1.0), ("create", 0.5)]),
    ("write", &[("put", 1.0)]),
    ("insert", &[("put", 1.0)]),
    ("download", &[("get", 0.8)]),
    ("copy", &[("cp", 1.0)]),
    ("move", &[("mv", 1.0)]),
    ("rename", &[("mv", 0.8)]),
    (
        "run",
        &[
            ("start", 0.8),
            ("execute", 0.7),
            ("send", 0.4),
            ("invoke", 0.5),
        ],
    ),
    ("execute", &[("start", 0.7), ("run", 0.7)]),
    ("start", &[("run", 0.6)]),
    ("invoke", &[("run", 0.3)]),
    ("call", &[("invoke", 1.0)]),
    ("trigger", &[("invoke", 0.9), ("start", 0.7)]),
    ("send", &[("publish", 0.8), ("put", 0.6)]),
    ("publish", &[("send", 0.7), ("put", 0.7)]),
    ("post", &[("send", 0.8), ("publish", 0.8), ("put", 0.6)]),
    (
        "search",
        &[("filter", 0.8), ("query", 0.6), ("lookup", 0.6)],
    ),
    ("grep", &[("filter", 1.0), ("search", 0.8)]),
    ("tail", &[("filter", 0.6), ("get", 0.4)]),
    ("open", &[("authorize", 0.9), ("ingress", 0.6)]),
    (
        "allow",
        &[
            ("authorize", 0.8),
            ("permission", 0.8),
            ("add", 0.5),
            ("grant", 0.8),
        ],
    ),
    (
        "grant",
        &[("authorize", 0.8), ("permission", 0.6), ("add", 0.5)],
    ),
    ("permit", &[("authorize", 0.8), ("permission", 0.8)]),
    ("revoke", &[("remove", 0.5)]),
    ("rotate", &[("rotation", 0.8)]),
    ("block", &[("put", 0.6)]),
    ("invalidate", &[("invalidation", 1.0), ("create", 0.5)]),
    ("login", &[("login", 1.0)]),
    (
        "authenticate",
        &[("login", 0.8), ("token", 0.6), ("auth", 0.8)],
    ),
    ("connect", &[("auth", 0.5)]),
    ("sync", &[("synchronize", 0.8)]),
    ("deploy", &[("deployment", 0.6), ("update", 0.4)]),
    ("deployment", &[("deploy", 0.6), ("update", 0.4)]),
    ("redeploy", &[("deployment", 0.6), ("update", 0.6)]),
    ("server", &[("instance", 0.9)]),
    ("vm", &[("instance", 0.9)]),
    ("machine", &[("instance", 0.9)]),
    ("database", &[("db", 0.9), ("instance", 0.5)]),
    ("ami", &[("image", 1.0)]),
    ("db", &[("database", 0.8)]),
    ("file", &[("object", 0.7)]),
    ("folder", &[("prefix", 0.5), ("directory", 0.8)]),
    ("directory", &[("folder", 0.8), ("prefix", 0.5)]),
    ("link", &[("url", 0.8)]),
    ("credential", &[("token", 0.5), ("session", 0.4)]),
    ("temporary", &[("session", 0.5)]),
    ("cost", &[("usage", 0.5)]),
    ("spend", &[("cost", 1.0), ("usage", 0.5)]),
    ("bill", &[("cost", 1.0), ("usage", 0.5)]),
    ("billing", &[("cost", 1.0), ("usage", 0.5)]),
    ("ssl", &[("certificate", 1.0)]),
    ("tls", &[("certificate", 1.0)]),
    ("presigned", &[("presign", 1.0)]),
    ("ssh", &[("key", 0.4)]),
    ("recovery", &[("backup", 0.5)]),
    ("health", &[("status", 0.5)]),
];

/// Words that, first in a query, say what to do: the query's verb.
#[rustfmt::skip]
const VERBS: &[&str] = &[
    "list", "show", "view", "display", "see", "check", "find", "describe", "get", "read", "fetch",
    "retrieve", "lookup", "create", "make", "add", "launch", "provision", "take", "register",
    "remove", "delete", "erase", "destroy", "drop", "empty", "clear", "kill", "shutdown", "stop",
    "start", "terminate", "reboot", "restart", "update", "change", "modify", "edit", "set",
    "configure", "enable", "disable", "reset", "upload", "store", "save", "write", "insert", "put",
    "download", "copy", "move", "rename", "run", "execute", "invoke", "call", "trigger", "send",
    "publish", "post", "search", "grep", "tail", "open", "allow", "grant", "permit", "revoke",
    "rotate", "invalidate", "login", "authenticate", "connect", "sync", "deploy", "redeploy",
    "attach", "detach", "restore", "subscribe", "unsubscribe", "encrypt", "decrypt", "schedule",
    "allocate", "assume", "validate", "detect", "translate", "purge", "request", "generate",
    "import", "export", "receive", "query", "scan", "tag", "untag", "force", "cancel", "backup",
    "scale", "resize", "share", "sign", "verify", "test", "apply", "associate", "disassociate",
    "release", "renew", "accept", "reject", "approve", "wait", "count",
];

/// The services agents use most: first among otherwise equal matches.
#[rustfmt::skip]
const CORE_SERVICES: &[&str] = &[
    "s3", "s3api", "ec2", "iam", "sts", "lambda", "dynamodb", "sqs", "sns", "cloudwatch", "logs",
    "rds", "ecs", "eks", "ecr", "cloudformation", "kms", "secretsmanager", "ssm", "route53",
    "elbv2", "autoscaling", "cloudfront", "events", "stepfunctions", "kinesis", "apigateway",
    "acm", "organizations", "cloudtrail", "athena", "glue", "efs", "elasticache", "ce",
    "cognito-idp", "sesv2", "ses",
];

// Weights of the score's parts.
const W_NAME: f32 = 1.0;
const W_VERB: f32 = 2.0;
const W_SERVICE: f32 = 4.0;
const W_SERVICE_EXPLICIT: f32 = 6.0;
const W_SUMMARY: f32 = 0.15;
const W_UNMATCHED: f32 = 0.5;
const W_UNMATCHED_IDF: f32 = 0.25;
const W_NUMBER: f32 = 1.0;
/// Name matches of words after a preposition (`... in a cluster`) count this much.
const W_CONTEXT: f32 = 0.7;
/// The weight of a matched verb in the name, instead of its idf.
const VERB_IDF: f32 = 3.0;
const PRIOR_CORE: f32 = 1.0;
const PRIOR_CUSTOM: f32 = 1.5;
const PENALTY_DEPRECATED: f32 = 3.0;
/// Words of a query beyond these are ignored.
const MAX_QUERY_WORDS: usize = 32;
/// A word in this many operation names is a common word, even if a command has its name.
const COMMON_NAME_WORD: usize = 10;
/// A matched name word that is the query's verb used as a noun (`launch` in
/// create-launch-template) counts this much.
const VERB_AS_NOUN: f32 = 0.5;
/// Subtracted when the query says what to do and the operation's verb is not that.
const W_VERB_MISS: f32 = 2.0;
/// A service name also matches the words of operation names, but weakly (`amplifybackend
/// list-s3-buckets` is not what `list s3 buckets` means).
const SERVICE_WORD_AS_NAME: f32 = 0.3;

fn lookup<'t, T>(table: &'t [(&str, T)], word: &str) -> Option<&'t T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| v)
}

/// The singular of an English plural, as far as operation names need it.
fn singular(w: &str) -> String {
    const KEEP: &[&str] = &[
        "analysis", "basis", "axis", "chassis", "this", "has", "was", "does",
    ];
    const IRREGULAR: &[(&str, &str)] = &[
        ("aliases", "alias"),
        ("statuses", "status"),
        ("analyses", "analysis"),
        ("indices", "index"),
        ("biases", "bias"),
        ("canvases", "canvas"),
    ];
    let n = w.len();
    if n <= 3 || !w.ends_with('s') || w.ends_with("ss") || w.ends_with("us") || KEEP.contains(&w) {
        return w.to_string();
    }
    if let Some(one) = lookup(IRREGULAR, w) {
        return (*one).to_string();
    }
    if let Some(stem) = w.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for tail in ["sses", "xes", "ches", "shes"] {
        if w.ends_with(tail) {
            return w[..n - 2].to_string();
        }
    }
    w[..n - 1].to_string()
}

/// The words of an operation name, verb first: `admin-create-user` is create-user done by an
/// administrator.
fn name_words(cli_op: &str) -> Vec<String> {
    let mut words: Vec<String> = tokens(cli_op).collect();
    if words.len() > 2 && words[0] == "admin" {
        words.remove(0);
    }
    words
}

/// Whether the last word of a text is a plural the tokens fold.
fn is_plural(text: &str) -> bool {
    text.rsplit(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty())
        .is_some_and(|w| singular(&w.to_ascii_lowercase()) != w.to_ascii_lowercase())
}

/// Lower-case word tokens, plurals folded, stop words dropped.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| !STOP.contains(&w.as_str()))
        .map(|w| singular(&w))
}

/// Whether a whitespace-separated word is a region name (`us-east-1`), which says nothing of
/// the operation.
fn is_region(word: &str) -> bool {
    let parts: Vec<&str> = word
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .split('-')
        .collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_alphabetic())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// Words after which the rest of a query is context (`... to an instance`), not its object.
const PREPOSITIONS: &[&str] = &[
    "to", "in", "into", "on", "for", "of", "from", "with", "at", "under", "across", "between",
    "inside", "within", "onto", "via",
];

/// One word of a query.
#[derive(Debug, Clone, PartialEq)]
struct QueryWord {
    word: String,
    /// It was a plural.
    plural: bool,
    /// It comes after a preposition: context rather than the object of the query.
    context: bool,
}

/// The query's words after the phrase rewrites, singular.
fn query_words(query: &str) -> Vec<QueryWord> {
    let cleaned: String = query
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '\'' {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<QueryWord> = Vec::new();
    let mut context = false;
    for w in cleaned.split_whitespace().filter(|w| !is_region(w)) {
        let w = w.trim_end_matches("'s").replace('\'', "");
        // `cognito-idp` names a command; other hyphenated words are their parts.
        let parts: Vec<&str> = if w.contains('-') && !w.starts_with("cognito-") {
            w.split('-').collect()
        } else {
            vec![w.as_str()]
        };
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let one = singular(part);
            let plural = one != part;
            words.push(QueryWord {
                word: one,
                plural,
                context,
            });
            context |= PREPOSITIONS.contains(&part);
        }
    }
    // Phrases, matched on the singular words; the replacement's last word keeps the number of
    // the phrase's last word.
    for (phrase, replacement) in PHRASES {
        let pw: Vec<String> = phrase.split(' ').map(singular).collect();
        let mut i = 0;
        while i + pw.len() <= words.len() {
            if words[i..i + pw.len()]
                .iter()
                .zip(&pw)
                .all(|(w, p)| &w.word == p)
            {
                let last = &words[i + pw.len() - 1];
                let (plural, context) = (last.plural, words[i].context);
                let mut with: Vec<QueryWord> = replacement
                    .split(' ')
                    .map(|r| QueryWord {
                        word: r.to_string(),
                        plural: false,
                        context,
                    })
                    .collect();
                if let Some(last) = with.last_mut() {
                    last.plural = plural;
                }
                let n = with.len();
                words.splice(i..i + pw.len(), with);
                i += n;
            } else {
                i += 1;
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    words.retain(|w| {
        let keep = !STOP.contains(&w.word.as_str()) && !seen.contains(&w.word);
        seen.push(w.word.clone());
        keep
    });
    words
}

/// A service's CLI operations: (CLI name, API name, what the model says of it).
type ServiceOps = Vec<(String, String, Option<LightOp>)>;

/// Reads one service's operations lightly (`None` if the pack lacks or garbles it).
fn read_service(models: &Models, service: &str) -> Option<ServiceOps> {
    let raw = models.pack.read(&format!("service/{service}")).ok()?;
    let light = serde_json::from_slice::<LightService>(&raw).ok()?;
    let mut cli: ServiceCli = models.decode_optional_cli(service).unwrap_or_default();
    cli.index(light.operations.keys().cloned());
    Some(
        cli.by_cli_name
            .into_iter()
            .map(|(cli_op, api)| {
                // Several CLI names may share one API operation.
                let op = light.operations.get(&api).map(|o| LightOp {
                    summary: o.summary.clone(),
                    deprecated: o.deprecated,
                });
                (cli_op, api, op)
            })
            .collect(),
    )
}

/// The process-wide index (built on first use: every service is read once, lightly).
pub fn index() -> &'static SuggestIndex {
    static INDEX: OnceLock<SuggestIndex> = OnceLock::new();
    INDEX.get_or_init(|| SuggestIndex::build(models()))
}

impl SuggestIndex {
    fn build(models: &Models) -> SuggestIndex {
        let mut index = SuggestIndex {
            docs: Vec::with_capacity(20_000),
            names: HashMap::new(),
            summaries: HashMap::new(),
            avg_summary_len: 1.0,
            commands: HashSet::new(),
        };
        // Reading the services (inflating and parsing each model) is most of the work: spread
        // over the cores, then indexed in the commands' order, so the index is the same.
        let commands: Vec<(&String, &String)> = models
            .commands()
            .iter()
            .filter_map(|(cli_name, cmd)| Some((cli_name, cmd.service.as_ref()?)))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let mut read: Vec<Option<ServiceOps>> = Vec::with_capacity(commands.len());
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let commands = &commands;
                    scope.spawn(move || {
                        commands
                            .iter()
                            .skip(t)
                            .step_by(threads)
                            .map(|(_, service)| read_service(models, service))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut parts: Vec<std::vec::IntoIter<Option<ServiceOps>>> = workers
                .into_iter()
                .map(|w| {
                    let part = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                    part.into_iter()
                })
                .collect();
            for i in 0..commands.len() {
                read.push(parts[i % threads].next().flatten());
            }
        });
        for cli_name in models.commands().keys() {
            index.commands.insert(cli_name.clone());
        }
        for ((cli_name, service), ops) in commands.into_iter().zip(read) {
            let Some(ops) = ops else {
                continue;
            };
            let core = CORE_SERVICES.contains(&cli_name.as_str());
            for (cli_op, api, op) in ops {
                let mut prior = if core { PRIOR_CORE } else { 0.0 };
                if op.as_ref().is_some_and(|o| o.deprecated) {
                    prior -= PENALTY_DEPRECATED;
                }
                index.push(Doc {
                    cli_command: cli_name.clone(),
                    name: name_words(&cli_op),
                    plural: is_plural(&cli_op),
                    cli_op,
                    service: service.clone(),
                    operation: api,
                    summary: op.and_then(|o| o.summary),
                    name_idf: Vec::new(),
                    custom: None,
                    prior,
                    summary_len: 0.0,
                });
            }
        }
        for custom in CUSTOMS {
            index.push(Doc {
                cli_command: custom.command.to_string(),
                cli_op: custom.op.to_string(),
                service: custom.service.to_string(),
                operation: custom.op.to_string(),
                summary: Some(custom.summary.to_string()),
                name: tokens(custom.op).collect(),
                name_idf: Vec::new(),
                plural: false,
                custom: Some(custom),
                prior: PRIOR_CUSTOM,
                summary_len: 0.0,
            });
        }
        let idfs: Vec<Vec<f32>> = index
            .docs
            .iter()
            .map(|d| {
                let df = |w: &String| index.names.get(w).map_or(1, Vec::len);
                d.name.iter().map(|w| index.idf(df(w))).collect()
            })
            .collect();
        for (d, idf) in index.docs.iter_mut().zip(idfs) {
            d.name_idf = idf;
        }
        let total: f32 = index.docs.iter().map(|d| d.summary_len).sum();
        index.avg_summary_len = (total / index.docs.len().max(1) as f32).max(1.0);
        index
    }

    fn push(&mut self, mut doc: Doc) {
        let id = self.docs.len() as u32;
        let mut words: Vec<String> = doc.name.clone();
        if let Some(c) = doc.custom {
            words.extend(tokens(c.keywords));
        }
        words.sort();
        words.dedup();
        for w in words {
            self.names.entry(w).or_default().push(id);
        }
        let mut tf: HashMap<String, f32> = HashMap::new();
        for t in tokens(doc.summary.as_deref().unwrap_or("")) {
            *tf.entry(t).or_default() += 1.0;
        }
        doc.summary_len = tf.values().sum();
        for (t, f) in tf {
            self.summaries.entry(t).or_default().push((id, f));
        }
        self.docs.push(doc);
    }

    /// Number of operations indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn idf(&self, df: usize) -> f32 {
        let n = self.docs.len() as f32;
        let df = df as f32;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The services a query word names or implies.
    fn services_of(&self, word: &str) -> Vec<(&str, f32)> {
        let mut out: Vec<(&str, f32)> = lookup(SERVICE_WORDS, word)
            .map(|s| s.to_vec())
            .unwrap_or_default();
        if let Some(name) = self.commands.get(word) {
            // A command named like a common word of operation names (`account`, `backup`,
            // `connect`) only suggests its service.
            let common = self
                .names
                .get(word)
                .is_some_and(|l| l.len() >= COMMON_NAME_WORD);
            let strength = if CORE_SERVICES.contains(&word) || !common {
                1.0
            } else {
                0.5
            };
            out.retain(|(c, _)| *c != word);
            out.push((name.as_str(), strength));
        }
        out
    }

    /// The `k` operations most relevant to `query`, best first, with their required options.
    pub fn search(&self, query: &str, k: usize) -> Vec<Suggestion> {
        let mut query = query_words(query);
        query.truncate(MAX_QUERY_WORDS);
        let words: Vec<&String> = query.iter().map(|w| &w.word).collect();
        let plurals: Vec<bool> = query.iter().map(|w| w.plural).collect();
        if words.is_empty() || k == 0 {
            return Vec::new();
        }
        // Per query word: the terms it matches in names, with weights.
        let mut expansions: Vec<Vec<(String, f32)>> = Vec::with_capacity(words.len());
        let mut explicit_services: HashMap<&str, f32> = HashMap::new();
        let mut implied_services: HashMap<&str, f32> = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            let named = self.services_of(w);
            let explicit = named.iter().any(|(_, s)| *s >= 1.0);
            for (c, s) in &named {
                let map = if explicit {
                    &mut explicit_services
                } else {
                    &mut implied_services
                };
                let e = map.entry(c).or_default();
                *e = e.max(*s);
            }
            let mut terms = vec![(
                (*w).clone(),
                if explicit { SERVICE_WORD_AS_NAME } else { 1.0 },
            )];
            for (t, s) in lookup(SYNONYMS, w).copied().unwrap_or_default() {
                terms.push(((*t).to_string(), *s));
            }
            // Two words that are one word in names (`node group` → nodegroup).
            if let Some(next) = words.get(i + 1) {
                let joined = format!("{w}{next}");
                if self.names.contains_key(&joined) {
                    terms.push((joined, 1.0));
                }
            }
            expansions.push(terms);
        }

        // A service the query names outweighs those its nouns suggest (`rds instance`).
        let (services, w_service) = if explicit_services.is_empty() {
            (implied_services, W_SERVICE)
        } else {
            (explicit_services, W_SERVICE_EXPLICIT)
        };
        // The query's verb: its first word that says what to do.
        let query_verb = words.iter().position(|w| VERBS.contains(&w.as_str()));
        let context: Vec<f32> = query
            .iter()
            .map(|w| if w.context { W_CONTEXT } else { 1.0 })
            .collect();
        // Per document, dense (reused across the loops below, no hashing): per query word the
        // best match in the name, the name words covered, the verb's weight, whether the number
        // agrees, the summary's BM25, which query words matched.
        let (n, nq) = (self.docs.len(), words.len());
        let mut best = vec![0.0f32; n * nq];
        let mut covered = vec![0u32; n];
        let mut verb = vec![0.0f32; n];
        let mut number = vec![false; n];
        let mut summary = vec![0.0f32; n];
        let mut hit_words = vec![0u64; n];
        let mut touched: Vec<u32> = Vec::new();
        for (qi, terms) in expansions.iter().enumerate() {
            for (t, w) in terms {
                let Some(list) = self.names.get(t) else {
                    continue;
                };
                let idf = self.idf(list.len());
                for &d in list {
                    let (doc, i) = (&self.docs[d as usize], d as usize);
                    let positions = doc
                        .name
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| *n == t)
                        .fold(0u32, |m, (p, _)| m | (1 << p.min(31)));
                    // Verbs are common words, but no less important for that: a floor. Any
                    // keyword of a customization may be its verb.
                    let is_verb = doc.custom.is_some() || positions & 1 != 0;
                    let value = w
                        * context[qi]
                        * if is_verb {
                            idf.max(VERB_IDF)
                        } else if Some(qi) == query_verb && t == words[qi] {
                            idf * VERB_AS_NOUN
                        } else {
                            idf
                        };
                    if hit_words[i] == 0 && summary[i] == 0.0 {
                        touched.push(d);
                    }
                    best[i * nq + qi] = best[i * nq + qi].max(value);
                    hit_words[i] |= 1 << qi;
                    covered[i] |= positions;
                    if is_verb && query_verb.is_none_or(|q| q == qi) {
                        verb[i] = verb[i].max(*w);
                    }
                    // `list tables` is list-tables, `describe the table` describe-table.
                    let last = doc.name.len().saturating_sub(1);
                    if last > 0 && positions & (1 << last.min(31)) != 0 && plurals[qi] == doc.plural
                    {
                        number[i] = true;
                    }
                }
            }
        }
        // Summary BM25 (k1 = 1.2, b = 0.75) over the query words and their synonyms.
        for terms in &expansions {
            for (t, w) in terms {
                let Some(list) = self.summaries.get(t) else {
                    continue;
                };
                let idf = self.idf(list.len());
                for &(d, f) in list {
                    let i = d as usize;
                    let len = self.docs[i].summary_len / self.avg_summary_len;
                    let norm = f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len));
                    if hit_words[i] == 0 && summary[i] == 0.0 {
                        touched.push(d);
                    }
                    summary[i] += w * idf * norm;
                }
            }
        }

        let mut ranked: Vec<(u32, f32)> = Vec::with_capacity(touched.len());
        for &d in &touched {
            let (doc, i) = (&self.docs[d as usize], d as usize);
            let name: f32 = best[i * nq..(i + 1) * nq].iter().sum();
            let verb_miss = query_verb.is_some() && verb[i] == 0.0 && doc.custom.is_none();
            // Each name word the query does not ask for: the rarer, the more specialised.
            let unmatched: f32 = if doc.custom.is_some() {
                0.0
            } else {
                doc.name_idf
                    .iter()
                    .enumerate()
                    .filter(|(p, _)| covered[i] & (1 << (*p).min(31)) == 0)
                    .map(|(_, idf)| W_UNMATCHED + W_UNMATCHED_IDF * idf)
                    .sum()
            };
            let service = services
                .get(doc.cli_command.as_str())
                .copied()
                .unwrap_or(0.0);
            // A customization's keywords are broad: one of them alone is no evidence.
            if doc.custom.is_some() && service == 0.0 && hit_words[i].count_ones() < 2 {
                continue;
            }
            let score =
                W_NAME * name + W_VERB * verb[i] + w_service * service + W_SUMMARY * summary[i]
                    - unmatched
                    + if number[i] { W_NUMBER } else { 0.0 }
                    - if verb_miss { W_VERB_MISS } else { 0.0 }
                    + doc.prior;
            ranked.push((d, score));
        }
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if ranked.len() > k {
            ranked.select_nth_unstable_by(k - 1, order);
            ranked.truncate(k);
        }
        ranked.sort_by(order);
        ranked
            .into_iter()
            .map(|(id, score)| {
                let d = &self.docs[id as usize];
                let required = match d.custom {
                    Some(c) => c.required.iter().map(|r| (*r).to_string()).collect(),
                    None => required_options(&d.service, &d.cli_op, &d.operation),
                };
                Suggestion {
                    command: format!("aws {} {}", d.cli_command, d.cli_op),
                    service: d.service.clone(),
                    operation: d.operation.clone(),
                    summary: d.summary.clone(),
                    required,
                    score: (f64::from(score) * 1000.0).round() / 1000.0,
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
    use super::{index, query_words, singular};

    #[test]
    fn folds_plurals_and_drops_regions() {
        for (plural, one) in [
            ("instances", "instance"),
            ("policies", "policy"),
            ("addresses", "address"),
            ("aliases", "alias"),
            ("databases", "database"),
            ("status", "status"),
            ("access", "access"),
            ("vpcs", "vpc"),
            ("amis", "ami"),
            ("apis", "api"),
            ("analysis", "analysis"),
        ] {
            assert_eq!(singular(plural), one);
        }
        let words =
            |q: &str| -> Vec<String> { query_words(q).into_iter().map(|w| w.word).collect() };
        assert_eq!(
            words("list running EC2 instances in us-east-1"),
            ["list", "ec2", "instance"]
        );
        assert_eq!(words("who am I?"), ["get", "caller", "identity", "sts"]);
    }

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
