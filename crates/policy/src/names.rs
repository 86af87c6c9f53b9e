//! Whether a pattern can match anything: every name a policy writes is checked against what
//! Portcullis knows when the policy loads, so that a typo is a load error with a "did you mean"
//! rather than a rule that silently never fires.
//!
//! * IAM action patterns against the IAM catalogue (`portcullis_iam::catalogue()`): the decide
//!   stage only ever sees actions from it, so a pattern matching none of them never matches.
//! * Command patterns against the AWS CLI's names: the commands (`s3api`, `deploy`, `s3`, ...) and,
//!   for each, its operations (`by_cli_name`), the customizations it adds (`wait`, `deploy`,
//!   `get-token`, ...) and the sub-commands of the CLI-only commands (`s3 ls/cp/mv/rm/...`).
//! * `services` entries against the CLI command names and botocore's service names.
//! * `regions` entries against the regions of the partitions (botocore's `partitions.json`). A
//!   region that is not listed but is made of the words of listed ones and follows a partition's
//!   `regionRegex` (`ap-east-3` when `ap-east-2` is listed) may be a region newer than the data: a
//!   warning, not an error. A wildcard entry must match a listed region.
//!
//! Walks stop at the first name a pattern matches, so `aws * delete-*` decodes one service model;
//! only a pattern that matches nothing (an error) walks everything, to find a suggestion.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use portcullis_endpoints::Partitions;
use portcullis_model::models;
use portcullis_netaddr::wildcard as glob;

use crate::pattern::{ActionPattern, CommandPattern};

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// The pattern matches at least one known name.
    Known,
    /// Accepted, with a warning (a region that may be newer than the data).
    Warning(String),
    /// The pattern can match nothing: the message says so, with a suggestion when there is one.
    Nothing(String),
}

fn cs(a: u8, b: u8) -> bool {
    a == b
}

fn ci(a: u8, b: u8) -> bool {
    a.eq_ignore_ascii_case(&b)
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*')
}

/// The operation words of one CLI command: its API operations' CLI names, the customizations it
/// adds (first word: `deploy push` is `deploy`) and a CLI-only command's sub-commands. Computed
/// once per command.
fn operations_of(command: &str) -> &'static [String] {
    static CACHE: OnceLock<Vec<OnceLock<Vec<String>>>> = OnceLock::new();
    let m = models();
    let cache = CACHE.get_or_init(|| m.commands().iter().map(|_| OnceLock::new()).collect());
    let Some((i, _, c)) = m.commands().get_full(command) else {
        return &[];
    };
    let Some(slot) = cache.get(i) else {
        return &[];
    };
    slot.get_or_init(|| {
        let mut out: Vec<String> = c.custom_subcommands.clone();
        if let Some(service) = c.service.as_deref()
            && let Ok(cli) = m.service_cli(service)
        {
            out.extend(cli.by_cli_name.keys().cloned());
            for op in &cli.custom_operations {
                if let Some(first) = op.split_whitespace().next() {
                    out.push(first.to_string());
                }
            }
        }
        out
    })
}

/// Every operation word of every command → the commands that have it (built once, on the error
/// path only: it decodes every service model).
fn commands_by_operation() -> &'static HashMap<String, Vec<String>> {
    static INDEX: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for command in models().commands().keys() {
            for op in operations_of(command) {
                let list = map.entry(op.clone()).or_default();
                if !list.contains(command) {
                    list.push(command.clone());
                }
            }
        }
        map
    })
}

/// Can `aws <service> <operation>` match a command of the CLI?
pub(crate) fn command(p: &CommandPattern) -> Found {
    let (service, operation) = p.words();
    let m = models();
    let commands: Vec<&str> = m
        .commands()
        .keys()
        .map(String::as_str)
        .filter(|c| glob(service.as_bytes(), c.as_bytes(), cs))
        .collect();
    let written = p.as_str();
    if commands.is_empty() {
        let mut msg = format!(
            "`{written}` matches no AWS CLI command: `{service}` is not a command of the CLI"
        );
        if let Some((fixed, _)) = closest(service, m.commands().keys().map(String::as_str), false) {
            msg.push_str(&format!("; did you mean `aws {fixed} {operation}`?"));
        }
        return Found::Nothing(msg);
    }
    if operation == "*" {
        return Found::Known;
    }
    let mut candidates: &[String] = &[];
    for c in &commands {
        let ops = operations_of(c);
        if ops
            .iter()
            .any(|op| glob(operation.as_bytes(), op.as_bytes(), cs))
        {
            return Found::Known;
        }
        // Suggestions only within a service named literally (a wildcard may span hundreds).
        if commands.len() == 1 {
            candidates = ops;
        }
    }
    let what = if commands.len() == 1 {
        format!("`aws {}` has no operation", commands[0])
    } else {
        format!(
            "none of the {} commands `{service}` matches has an operation",
            commands.len()
        )
    };
    let kind = if has_wildcard(operation) {
        format!("matching `{operation}`")
    } else {
        format!("`{operation}`")
    };
    let mut msg = format!("`{written}` matches no AWS CLI command: {what} {kind}");
    if let Some((fixed, _)) = closest(operation, candidates.iter().map(String::as_str), false) {
        msg.push_str(&format!("; did you mean `aws {} {fixed}`?", commands[0]));
    } else if commands.len() == 1 && !has_wildcard(operation) {
        // Written under the wrong command (`aws s3 delete-object`): name where it exists.
        if let Some(elsewhere) = commands_by_operation().get(operation) {
            // The command nearest to the one written (`s3` → `s3api`).
            let nearest = elsewhere.iter().min_by_key(|c| {
                fuzzy(service.as_bytes(), c.as_bytes(), false, usize::MAX).map(|f| f.0)
            });
            if let Some(c) = nearest {
                msg.push_str(&format!("; did you mean `aws {c} {operation}`?"));
            }
        }
    }
    Found::Nothing(msg)
}

/// Can an IAM action pattern match an action of the catalogue?
pub(crate) fn action(p: &ActionPattern) -> Found {
    let written = p.as_str();
    let Some((prefix, action)) = written.split_once(':') else {
        return Found::Known; // `*`
    };
    let cat = portcullis_iam::catalogue();
    let prefixes: Vec<&str> = cat
        .prefixes()
        .iter()
        .map(String::as_str)
        .filter(|x| glob(prefix.as_bytes(), x.as_bytes(), ci))
        .collect();
    if prefixes.is_empty() {
        let mut msg =
            format!("`{written}` matches no IAM action: `{prefix}` is not an IAM service prefix");
        if let Some((fixed, _)) = closest(prefix, cat.prefixes().iter().map(String::as_str), true) {
            msg.push_str(&format!("; did you mean `{fixed}:{action}`?"));
        }
        return Found::Nothing(msg);
    }
    for x in &prefixes {
        if let Some(s) = cat.service(x)
            && s.actions()
                .iter()
                .any(|a| glob(action.as_bytes(), a.name.as_bytes(), ci))
        {
            return Found::Known;
        }
    }
    let mut msg = if prefixes.len() == 1 {
        format!(
            "`{written}` matches no IAM action: `{}` has no action {}",
            prefixes[0],
            if has_wildcard(action) {
                format!("matching `{action}`")
            } else {
                format!("`{action}`")
            }
        )
    } else {
        format!("`{written}` matches no IAM action")
    };
    match prefixes
        .first()
        .filter(|_| prefixes.len() == 1)
        .and_then(|x| cat.service(x).map(|s| (x, s)))
        .and_then(|(x, s)| {
            closest(action, s.actions().iter().map(|a| a.name.as_str()), true).map(|f| (x, f.0))
        }) {
        Some((x, fixed)) => msg.push_str(&format!("; did you mean `{x}:{fixed}`?")),
        None => msg.push_str(&format!(
            " (the IAM catalogue is {}; an action newer than it is never seen)",
            cat.data_version()
        )),
    }
    Found::Nothing(msg)
}

/// Can a `services` entry match a CLI command or a botocore service name?
pub(crate) fn service(pattern: &str) -> Found {
    let m = models();
    let names = || {
        m.commands()
            .keys()
            .map(String::as_str)
            .chain(m.service_names())
    };
    if names().any(|n| glob(pattern.as_bytes(), n.as_bytes(), cs)) {
        return Found::Known;
    }
    let mut msg = format!(
        "`{pattern}` matches no service: it is neither an AWS CLI command (`s3api`) nor a service name (`s3`)"
    );
    if let Some((fixed, _)) = closest(pattern, names(), false) {
        msg.push_str(&format!("; did you mean `{fixed}`?"));
    }
    Found::Nothing(msg)
}

/// The regions of the partitions, the words they are made of, and the partitions' patterns.
struct Regions {
    listed: Vec<String>,
    words: HashSet<String>,
    /// The partitions behind a first partition that matches nothing, so that [`Partitions::find`]
    /// returning it means "no partition's `regionRegex` matches".
    patterns: Option<Partitions>,
}

const NO_PARTITION: &str = "(none)";

fn regions_data() -> &'static Regions {
    static DATA: OnceLock<Regions> = OnceLock::new();
    DATA.get_or_init(|| {
        let doc = models().global("partitions").unwrap_or_default();
        let list = doc
            .get("partitions")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut listed = Vec::new();
        let mut stripped = vec![serde_json::json!({
            "id": NO_PARTITION, "regionRegex": "^$", "outputs": {}
        })];
        for p in list {
            if let Some(regions) = p.get("regions").and_then(serde_json::Value::as_object) {
                listed.extend(regions.keys().cloned());
            }
            let mut p = p;
            if let Some(o) = p.as_object_mut() {
                o.remove("regions");
            }
            stripped.push(p);
        }
        let words = listed
            .iter()
            .flat_map(|r| r.split('-'))
            .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        let patterns = Partitions::from_json(&serde_json::json!({ "partitions": stripped })).ok();
        Regions {
            listed,
            words,
            patterns,
        }
    })
}

/// Can a `regions` entry match a region of the partitions?
pub(crate) fn region(pattern: &str) -> Found {
    let data = regions_data();
    if data
        .listed
        .iter()
        .any(|r| glob(pattern.as_bytes(), r.as_bytes(), cs))
    {
        return Found::Known;
    }
    let near = closest(pattern, data.listed.iter().map(String::as_str), false).map(|(f, _)| f);
    if has_wildcard(pattern) {
        return Found::Nothing(format!(
            "`{pattern}` matches no AWS region{}",
            near.map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default()
        ));
    }
    // Newer than the data? Made of known words, ending in a number, and a partition's pattern.
    let (words, number) = pattern.rsplit_once('-').unwrap_or((pattern, ""));
    let plausible = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words.split('-').all(|w| data.words.contains(w));
    let partition = data
        .patterns
        .as_ref()
        .map(|p| p.find(pattern).id())
        .filter(|id| *id != NO_PARTITION);
    match partition {
        Some(id) if plausible => Found::Warning(format!(
            "`{pattern}` is not a region Portcullis knows of; it is accepted because it follows the `{id}` partition's region pattern and may be newer than Portcullis's data{}",
            near.map(|n| format!(" (if you meant `{n}`, correct it)"))
                .unwrap_or_default()
        )),
        _ => Found::Nothing(format!(
            "`{pattern}` is not an AWS region{}",
            near.map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default()
        )),
    }
}

/// The candidate closest to `pattern` (`*` matching any run at no cost), if it is close enough to
/// be a typo: the pattern with its letters corrected, and the distance.
pub(crate) fn closest<'a>(
    pattern: &str,
    candidates: impl Iterator<Item = &'a str>,
    case_insensitive: bool,
) -> Option<(String, usize)> {
    let literal = pattern.bytes().filter(|&b| b != b'*').count();
    if literal == 0 {
        return None;
    }
    let limit = (literal / 4).clamp(1, 3);
    let wild = has_wildcard(pattern);
    let mut best: Option<(String, usize)> = None;
    for c in candidates {
        // Each edit changes the length by at most one: a cheap filter before the table.
        let too_long = literal > c.len() + limit;
        let too_short = !wild && c.len() > literal + limit;
        if too_long || too_short {
            continue;
        }
        let bound = best.as_ref().map_or(limit, |(_, b)| b.saturating_sub(1));
        if let Some((d, fixed)) = fuzzy(pattern.as_bytes(), c.as_bytes(), case_insensitive, bound) {
            best = Some((fixed, d));
            if d == 0 {
                break;
            }
        }
    }
    best.filter(|(fixed, _)| fixed != pattern)
}

/// Edit distance from a wildcard pattern to a text (insertions, deletions, substitutions and
/// transpositions cost 1; `*` matches any run for free), and the pattern corrected to match the
/// text, its `*`s kept; `None` when the distance is over `bound`. `O(|p| × |t|)`.
fn fuzzy(p: &[u8], t: &[u8], case_insensitive: bool, bound: usize) -> Option<(usize, String)> {
    let eq = |a: u8, b: u8| if case_insensitive { ci(a, b) } else { a == b };
    let (n, m) = (p.len(), t.len());
    let w = m + 1;
    let mut d = vec![0usize; (n + 1) * w];
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    let mut prev_min = 0;
    for i in 1..=n {
        let mut row_min = usize::MAX;
        for j in 0..=m {
            let v = if p[i - 1] == b'*' {
                let up = d[(i - 1) * w + j];
                if j == 0 { up } else { up.min(d[i * w + j - 1]) }
            } else {
                let mut v = d[(i - 1) * w + j] + 1;
                if j > 0 {
                    v = v.min(d[i * w + j - 1] + 1);
                    v = v.min(d[(i - 1) * w + j - 1] + usize::from(!eq(p[i - 1], t[j - 1])));
                    if i > 1
                        && j > 1
                        && p[i - 2] != b'*'
                        && eq(p[i - 1], t[j - 2])
                        && eq(p[i - 2], t[j - 1])
                    {
                        v = v.min(d[(i - 2) * w + j - 2] + 1);
                    }
                }
                v
            };
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        // A row never gets cheaper further down (transpositions look two rows back, so check
        // two): over the bound, it stays over.
        if row_min > bound && prev_min > bound {
            return None;
        }
        prev_min = row_min;
    }
    if d[n * w + m] > bound {
        return None;
    }
    // Walk back, writing the corrected pattern from its end.
    let mut out: Vec<u8> = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let here = d[i * w + j];
        if i > 0 && p[i - 1] == b'*' {
            while j > 0 && d[i * w + j - 1] == d[i * w + j] {
                j -= 1;
            }
            out.push(b'*');
            i -= 1;
            continue;
        }
        if i > 0 && j > 0 && here == d[(i - 1) * w + j - 1] + usize::from(!eq(p[i - 1], t[j - 1])) {
            out.push(t[j - 1]);
            i -= 1;
            j -= 1;
        } else if i > 1
            && j > 1
            && p[i - 2] != b'*'
            && eq(p[i - 1], t[j - 2])
            && eq(p[i - 2], t[j - 1])
            && here == d[(i - 2) * w + j - 2] + 1
        {
            out.push(t[j - 1]);
            out.push(t[j - 2]);
            i -= 2;
            j -= 2;
        } else if i > 0 && here == d[(i - 1) * w + j] + 1 {
            i -= 1;
        } else {
            out.push(t[j - 1]);
            j -= 1;
        }
    }
    out.reverse();
    Some((d[n * w + m], String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_corrects_patterns() {
        for (p, t, dist, fixed) in [
            ("DeleteObjekt", "DeleteObject", 1, "DeleteObject"),
            ("Dlete*", "DeleteObject", 1, "Delete*"),
            ("delete-usr", "delete-user", 1, "delete-user"),
            ("s4", "s3", 1, "s3"),
            ("eu-wst-1", "eu-west-1", 1, "eu-west-1"),
            ("*-objekt", "delete-object", 1, "*-object"),
            ("ab", "ba", 1, "ba"),
            ("*", "anything", 0, "*"),
        ] {
            assert_eq!(
                fuzzy(p.as_bytes(), t.as_bytes(), false, 3),
                Some((dist, fixed.to_string())),
                "{p} vs {t}"
            );
        }
        assert_eq!(
            fuzzy(b"deleteobjekt", b"DeleteObject", true, 1),
            Some((1, "DeleteObject".to_string()))
        );
        assert_eq!(fuzzy(b"delete-user", b"create-bucket", false, 3), None);
    }
}
