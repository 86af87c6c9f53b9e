//! Rule sets, partitions and parameters all come from data: whatever they hold, loading and resolving return an
//! answer (possibly an error) and never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

mod support;

use portcullis_endpoints::{ParamType, ParamValue, Params, Partitions, RuleSet};
use serde_json::{Value, json};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "9",
            "-",
            ".",
            ":",
            "/",
            "_",
            "{",
            "}",
            "{{",
            "#",
            "[",
            "]",
            "[0]",
            "%",
            "%2",
            "?",
            "@",
            " ",
            "\n",
            "\t",
            "é",
            "١",
            "℀",
            "／",
            "arn:",
            "aws",
            "s3",
            "https://",
            "http://",
            "[::1]",
            "us-east-1",
            "{Region}",
            "{PartitionResult#dnsSuffix}",
            "{url#scheme}",
            "--x-s3",
            "\u{0}",
            "\u{10ffff}",
            ";",
            "..",
        ];
        let n = self.below(8);
        (0..n).map(|_| *self.pick(PIECES)).collect()
    }

    fn json(&mut self, depth: usize) -> Value {
        match self.below(if depth > 4 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => json!(self.below(100) as i64 - 10),
            3 | 4 => Value::String(self.string()),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth + 1)).collect()),
            _ => {
                const KEYS: &[&str] = &[
                    "fn",
                    "argv",
                    "ref",
                    "assign",
                    "type",
                    "conditions",
                    "rules",
                    "endpoint",
                    "error",
                    "url",
                    "headers",
                    "properties",
                    "parameters",
                    "version",
                    "x",
                ];
                let mut o = serde_json::Map::new();
                for _ in 0..self.below(5) {
                    o.insert((*self.pick(KEYS)).to_owned(), self.json(depth + 1));
                }
                Value::Object(o)
            }
        }
    }

    /// Replaces a few nodes of `value` with random JSON or random function calls.
    fn mutate(&mut self, value: &mut Value) {
        const FNS: &[&str] = &[
            "isSet",
            "not",
            "booleanEquals",
            "stringEquals",
            "getAttr",
            "substring",
            "parseURL",
            "uriEncode",
            "isValidHostLabel",
            "aws.partition",
            "aws.parseArn",
            "aws.isVirtualHostableS3Bucket",
            "nope",
        ];
        match value {
            Value::Object(o) if !o.is_empty() && self.below(3) == 0 => {
                let i = self.below(o.len());
                if let Some((_, v)) = o.iter_mut().nth(i) {
                    self.mutate(v);
                }
            }
            Value::Array(a) if !a.is_empty() && self.below(3) > 0 => {
                let i = self.below(a.len());
                self.mutate(&mut a[i]);
            }
            _ if self.below(2) == 0 => {
                let argv: Vec<Value> = (0..self.below(5)).map(|_| self.json(3)).collect();
                *value = json!({"fn": *self.pick(FNS), "argv": argv});
            }
            _ => *value = self.json(2),
        }
    }

    /// A random expression that loads: a literal, a ref (in scope or not), or a call of the right arity.
    fn expr(&mut self, depth: usize) -> Value {
        const REFS: &[&str] = &[
            "Region",
            "Endpoint",
            "Bucket",
            "UseFIPS",
            "PartitionResult",
            "url",
            "bucketArn",
            "outpostId",
            "nope",
        ];
        const CALLS: &[(&str, usize)] = &[
            ("isSet", 1),
            ("not", 1),
            ("booleanEquals", 2),
            ("stringEquals", 2),
            ("substring", 4),
            ("parseURL", 1),
            ("uriEncode", 1),
            ("isValidHostLabel", 2),
            ("aws.partition", 1),
            ("aws.parseArn", 1),
            ("aws.isVirtualHostableS3Bucket", 2),
        ];
        const PATHS: &[&str] = &[
            "dnsSuffix",
            "resourceId[1]",
            "[0]",
            "scheme",
            "name",
            "a.b",
            "authority",
            "region",
        ];
        match self.below(if depth > 3 { 4 } else { 6 }) {
            0 => Value::String(self.string()),
            1 => json!(self.below(2) == 0),
            2 => json!(self.below(12) as i64 - 2),
            3 => json!({"ref": *self.pick(REFS)}),
            4 => json!({"fn": "getAttr", "argv": [self.expr(depth + 1), *self.pick(PATHS)]}),
            _ => {
                let (name, arity) = *self.pick(CALLS);
                let argv: Vec<Value> = (0..arity).map(|_| self.expr(depth + 1)).collect();
                json!({"fn": name, "argv": argv})
            }
        }
    }

    /// Replaces the `target`-th argument found in the document; returns how many remain to skip.
    fn mutate_args(&mut self, value: &mut Value, target: &mut usize) {
        match value {
            Value::Object(o) => {
                if let Some(Value::Array(argv)) = o.get_mut("argv") {
                    for arg in argv.iter_mut() {
                        if *target == 0 {
                            *arg = self.expr(0);
                            *target = usize::MAX;
                            return;
                        }
                        *target -= 1;
                    }
                }
                for (_, v) in o.iter_mut() {
                    if *target == usize::MAX {
                        return;
                    }
                    self.mutate_args(v, target);
                }
            }
            Value::Array(a) => {
                for v in a.iter_mut() {
                    if *target == usize::MAX {
                        return;
                    }
                    self.mutate_args(v, target);
                }
            }
            _ => {}
        }
    }

    fn params(&mut self, rules: &RuleSet) -> Params {
        let mut params = Params::new();
        for p in rules.parameters() {
            let value = match (self.below(6), p.kind) {
                (0, _) => continue,
                (1, _) => ParamValue::Bool(self.below(2) == 0), // often the wrong type
                (_, ParamType::Boolean) => ParamValue::Bool(self.below(2) == 0),
                (_, ParamType::StringArray) => {
                    ParamValue::StringArray((0..self.below(3)).map(|_| self.string()).collect())
                }
                (_, ParamType::String) => ParamValue::String(self.string()),
            };
            params.insert(p.name.clone(), value);
        }
        params
    }
}

#[test]
fn garbage_rule_sets_and_params_never_panic() {
    let partitions = support::partitions();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let models = portcullis_model::models();
    let mut real = Vec::new();
    for name in [
        "sts",
        "s3",
        "s3control",
        "dynamodb",
        "events",
        "ec2",
        "lambda",
    ] {
        real.push(
            models
                .endpoint_rules(name)
                .expect("pack")
                .expect("rule set"),
        );
    }
    let (mut loaded, mut resolved) = (0, 0);
    for round in 0..1500 {
        let document = if round % 3 == 0 {
            rng.json(0)
        } else {
            let mut doc = rng.pick(&real).clone();
            if round % 3 == 1 {
                rng.mutate(&mut doc);
            } else {
                for _ in 0..1 + rng.below(4) {
                    let mut target = rng.below(200);
                    rng.mutate_args(&mut doc, &mut target);
                }
            }
            doc
        };
        if let Ok(rules) = RuleSet::parse(&document) {
            loaded += 1;
            for _ in 0..4 {
                if rules.resolve(&rng.params(&rules), &partitions).is_ok() {
                    resolved += 1;
                }
            }
        }
    }
    println!("garbage rule sets: {loaded} loaded, {resolved} endpoints");
    assert!(
        loaded > 400,
        "the mutations should mostly leave loadable rule sets"
    );
}

#[test]
fn every_pack_rule_set_loads_and_survives_garbage_params() {
    let partitions = support::partitions();
    let models = portcullis_model::models();
    let mut rng = Rng(42);
    let mut n = 0;
    for name in models.service_names() {
        let Some(document) = models.endpoint_rules(name).expect("pack") else {
            continue;
        };
        let rules = RuleSet::parse(&document).unwrap_or_else(|e| panic!("{name}: {e}"));
        n += 1;
        for _ in 0..20 {
            let _ = rules.resolve(&rng.params(&rules), &partitions);
        }
    }
    assert!(n > 400, "only {n} rule sets in the pack");
}

#[test]
fn garbage_partitions_never_panic() {
    let mut rng = Rng(7);
    let rules = RuleSet::parse(&json!({
        "parameters": {"Region": {"type": "string"}},
        "rules": [{"conditions": [{"fn": "aws.partition", "argv": [{"ref": "Region"}], "assign": "p"}],
                   "type": "endpoint", "endpoint": {"url": "https://{p#name}.{p#dnsSuffix}"}}]
    }))
    .expect("loads");
    const REGEX_PIECES: &[&str] = &[
        "^", "$", "(", ")", "|", "a", "\\w", "\\d", "\\-", "+", "*", "?", "{2}", "{1,3}", "[a-z]",
        "[^", "]", ".", "\\", "(?:",
    ];
    for _ in 0..3000 {
        let regex: String = (0..rng.below(10))
            .map(|_| *rng.pick(REGEX_PIECES))
            .collect();
        let document = if rng.below(4) == 0 {
            rng.json(0)
        } else {
            json!({"partitions": [{"id": "p", "regionRegex": regex, "regions": {"r": {}}, "outputs": {"dnsSuffix": rng.json(3)}}]})
        };
        if let Ok(partitions) = Partitions::from_json(&document) {
            for _ in 0..5 {
                let region = rng.string();
                let _ = partitions.find(&region);
                let _ = rules.resolve(&Params::new().with("Region", region), &partitions);
            }
        }
    }
}
