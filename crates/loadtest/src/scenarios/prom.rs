//! The Prometheus text exposition (format 0.0.4) as `/metrics` serves it, parsed into samples,
//! and the few questions the scenarios ask of it: a gauge or counter by labels, a histogram's
//! buckets and a percentile estimated from them.

/// One sample line: `name{k="v",…} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Every sample of one scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

/// Parses one sample line; `None` for comments, blank lines and lines that are not samples.
pub fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = closing_brace(line, open)?;
            (
                &line[..open],
                parse_labels(&line[open + 1..close])?,
                &line[close + 1..],
            )
        }
        None => {
            let end = line.find(char::is_whitespace)?;
            (&line[..end], Vec::new(), &line[end..])
        }
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    // The value, then an optional timestamp.
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The index of the `}` closing the label set opened at `open` (quotes and escapes honoured).
fn closing_brace(line: &str, open: usize) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(open + i),
            _ => {}
        }
    }
    None
}

/// `k="v",k2="v2"` (a trailing comma allowed; `\"`, `\\` and `\n` unescaped).
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        out.push((key, value));
        rest = rest[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(out)
}

impl Scrape {
    /// Every sample of `text`.
    pub fn parse(text: &str) -> Scrape {
        Scrape {
            samples: text.lines().filter_map(parse_line).collect(),
        }
    }

    /// The value of the sample `name` that has (at least) the labels `want`.
    pub fn get(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && has_labels(s, want))
            .map(|s| s.value)
    }

    /// `get`, or 0 when absent (a counter not yet incremented is often not shown).
    pub fn get_or_zero(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.get(name, want).unwrap_or(0.0)
    }

    /// The sum over every sample `name` with the labels `want`.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && has_labels(s, want))
            .map(|s| s.value)
            .sum()
    }

    /// A histogram's cumulative buckets `(le, count)`, ascending, for the series `want`.
    pub fn buckets(&self, name: &str, want: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let bucket = format!("{name}_bucket");
        let mut out: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|s| s.name == bucket && has_labels(s, want))
            .filter_map(|s| {
                let le = s.labels.iter().find(|(k, _)| k == "le")?;
                let le = match le.1.as_str() {
                    "+Inf" => f64::INFINITY,
                    v => v.parse().ok()?,
                };
                Some((le, s.value))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

fn has_labels(s: &Sample, want: &[(&str, &str)]) -> bool {
    want.iter()
        .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
}

/// The difference of two cumulative bucket lists (`after − before`), matched by `le`.
pub fn bucket_delta(before: &[(f64, f64)], after: &[(f64, f64)]) -> Vec<(f64, f64)> {
    after
        .iter()
        .map(|(le, n)| {
            let was = before
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, n)| *n);
            (*le, n - was)
        })
        .collect()
}

/// The upper bound of the bucket holding the `p`th percentile (0–100) of cumulative `buckets`:
/// "at most this" (the histogram cannot say better). `None` when empty.
pub fn bucket_percentile(buckets: &[(f64, f64)], p: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = (p / 100.0 * total).ceil().max(1.0);
    buckets.iter().find(|(_, n)| *n >= rank).map(|(le, _)| *le)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP portcullis_concurrency_limit The adaptive concurrency limit.
# TYPE portcullis_concurrency_limit gauge
portcullis_concurrency_limit{endpoint="*"} 64
portcullis_concurrency_limit{endpoint="sqs/us-east-1"} 29
portcullis_calls_queued 3
portcullis_retry_budget_total{result="withdrawn"} 2
portcullis_weird{a="x,y}",b="q\"uote"} 1.5e3 1700000000000
portcullis_call_duration_seconds_bucket{tool="call_aws",le="0.0005"} 2
portcullis_call_duration_seconds_bucket{tool="call_aws",le="0.001"} 9
portcullis_call_duration_seconds_bucket{tool="call_aws",le="+Inf"} 10
portcullis_call_duration_seconds_bucket{tool="check_aws_command",le="+Inf"} 4
portcullis_audit_write_seconds_sum 0.0007593599999999999
"#;

    #[test]
    fn parses_samples_and_labels() {
        let s = Scrape::parse(TEXT);
        assert_eq!(s.samples.len(), 10);
        assert_eq!(
            s.get(
                "portcullis_concurrency_limit",
                &[("endpoint", "sqs/us-east-1")]
            ),
            Some(29.0)
        );
        assert_eq!(
            s.get("portcullis_concurrency_limit", &[("endpoint", "*")]),
            Some(64.0)
        );
        assert_eq!(s.get("portcullis_calls_queued", &[]), Some(3.0));
        assert_eq!(
            s.get("portcullis_weird", &[("a", "x,y}"), ("b", "q\"uote")]),
            Some(1500.0)
        );
        assert_eq!(s.get("portcullis_calls_queued", &[("x", "y")]), None);
        assert_eq!(s.get_or_zero("portcullis_missing_total", &[]), 0.0);
        assert_eq!(
            s.sum("portcullis_call_duration_seconds_bucket", &[("le", "+Inf")]),
            14.0
        );
        assert!(
            (s.get("portcullis_audit_write_seconds_sum", &[]).unwrap() - 0.00075936).abs() < 1e-9
        );
    }

    #[test]
    fn rejects_what_is_not_a_sample() {
        assert_eq!(parse_line("# TYPE x gauge"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("name_without_value"), None);
        assert_eq!(parse_line("x{unterminated=\"1} 2"), None);
        assert_eq!(parse_line("x 1.2.3"), None);
        assert_eq!(parse_line("bad-name 1"), None);
        assert_eq!(parse_line("x +Inf").map(|s| s.value), Some(f64::INFINITY));
    }

    #[test]
    fn histogram_percentiles() {
        let s = Scrape::parse(TEXT);
        let b = s.buckets("portcullis_call_duration_seconds", &[("tool", "call_aws")]);
        assert_eq!(b, vec![(0.0005, 2.0), (0.001, 9.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_percentile(&b, 50.0), Some(0.001));
        assert_eq!(bucket_percentile(&b, 10.0), Some(0.0005));
        assert_eq!(bucket_percentile(&b, 99.0), Some(f64::INFINITY));
        let before = vec![(0.0005, 1.0), (0.001, 1.0), (f64::INFINITY, 1.0)];
        let d = bucket_delta(&before, &b);
        assert_eq!(d, vec![(0.0005, 1.0), (0.001, 8.0), (f64::INFINITY, 9.0)]);
        assert_eq!(bucket_percentile(&[], 50.0), None);
        assert_eq!(bucket_percentile(&[(1.0, 0.0)], 50.0), None);
    }
}
