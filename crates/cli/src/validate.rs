//! Validation of parameters against the model, as botocore's `ParamValidator` does: required
//! members, types, minimum lengths and values, unknown keys are problems (the request is refused).
//! Beyond botocore, enums, maxima and patterns are checked too, but only as **warnings**: services
//! add enum values and relax patterns long after the pinned model was cut, and the service
//! validates anyway, so a value outside them is sent, with the warning shown. The name of a bucket
//! being created (`s3api create-bucket`, `s3 mb`) is checked against the S3 naming rules, also as
//! a warning ([`new_bucket_name_problem`]): the AWS CLI sends it, and S3 refuses it. Every problem
//! is collected; none stops the walk.
//!
//! Validation also normalizes: blob text becomes bytes (per `--cli-binary-format`), integers given
//! where a float is expected become floats. After it, a [`Value`] tree conforms to its shapes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use portcullis_model::{ServiceModel, Shape, ShapeType};

use crate::error::{Problem, ProblemKind, did_you_mean};
use crate::globals::BinaryFormat;
use crate::parse::or_list;
use crate::value::Value;

/// Deepest nesting walked; deeper values are reported, not recursed into.
const MAX_DEPTH: usize = 64;

pub(crate) struct Validator<'m> {
    model: &'m ServiceModel,
    binary: BinaryFormat,
    pub problems: Vec<Problem>,
    /// Values outside the model's enum, pattern or maximum: sent, with these shown.
    pub warnings: Vec<Problem>,
}

/// Most enum values quoted in a message (an enum can list hundreds: EC2 instance types), and the
/// most characters they take together.
const ENUM_SHOWN: usize = 5;
const ENUM_SHOWN_CHARS: usize = 120;

impl<'m> Validator<'m> {
    pub fn new(model: &'m ServiceModel, binary: BinaryFormat) -> Self {
        Self {
            model,
            binary,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn problem(&mut self, kind: ProblemKind, path: &str, message: String) {
        self.problems.push(Problem::new(kind, message).at(path));
    }

    fn warn(&mut self, path: &str, message: String) {
        self.warnings
            .push(Problem::new(ProblemKind::InvalidValue, message).at(path));
    }

    /// `value` is not in `allowed`: a short warning with the closest values, a few of the others
    /// and how many there are (never the whole list: EC2 has over a thousand instance types).
    fn not_in_enum(&mut self, path: &str, what: &str, value: &str, allowed: &[String]) {
        let message = enum_message(what, value, allowed);
        self.warnings
            .push(Problem::new(ProblemKind::InvalidValue, message).at(path));
    }

    /// Checks `value` against the shape named `shape_name`; `path` names it in messages.
    pub fn check(&mut self, shape_name: &str, value: &mut Value, path: &str, depth: usize) {
        let Some(shape) = self.model.shape(shape_name) else {
            self.problem(
                ProblemKind::InvalidType,
                path,
                format!("the model has no shape {shape_name}"),
            );
            return;
        };
        if depth > MAX_DEPTH {
            self.problem(
                ProblemKind::TooLarge,
                path,
                format!("nested deeper than {MAX_DEPTH} levels"),
            );
            return;
        }
        if shape.document {
            return; // any JSON value
        }
        if matches!(value, Value::Null) {
            self.problem(
                ProblemKind::InvalidType,
                path,
                format!(
                    "null is not allowed; give a {} or leave the parameter out",
                    describe(shape)
                ),
            );
            return;
        }
        match shape.kind {
            ShapeType::Structure => self.structure(shape, value, path, depth),
            ShapeType::List => self.list(shape, value, path, depth),
            ShapeType::Map => self.map(shape, value, path, depth),
            ShapeType::String => self.string(shape, value, path),
            ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => {
                self.integer(shape, value, path)
            }
            ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => {
                self.float(shape, value, path)
            }
            ShapeType::Boolean => {
                if !matches!(value, Value::Bool(_)) {
                    self.wrong_type(shape, value, path);
                }
            }
            ShapeType::Blob => self.blob(shape, value, path),
            ShapeType::Timestamp => self.timestamp(shape, value, path),
        }
    }

    fn wrong_type(&mut self, shape: &Shape, value: &Value, path: &str) {
        let shown = match value {
            Value::Str(s) => format!(" {:?}", truncate(s, 40)),
            Value::Int(i) => format!(" {i}"),
            Value::Float(f) => format!(" {f}"),
            Value::Bool(b) => format!(" {b}"),
            _ => String::new(),
        };
        self.problem(
            ProblemKind::InvalidType,
            path,
            format!(
                "expected {}, got {}{shown}",
                describe(shape),
                value.type_name()
            ),
        );
    }

    fn structure(&mut self, shape: &Shape, value: &mut Value, path: &str, depth: usize) {
        let Value::Map(map) = value else {
            return self.wrong_type(shape, value, path);
        };
        for key in map.keys() {
            if !shape.members.contains_key(key) {
                let names: Vec<&str> = shape.members.keys().map(String::as_str).collect();
                self.problems.push(
                    Problem::new(
                        ProblemKind::UnknownOption,
                        format!("unknown key {key:?}; valid keys: {}", names.join(", ")),
                    )
                    .at(path)
                    .suggest(
                        did_you_mean(key, names.iter().copied())
                            .into_iter()
                            .collect(),
                    ),
                );
            }
        }
        for req in &shape.required {
            if !map.contains_key(req) {
                self.problem(
                    ProblemKind::MissingRequired,
                    path,
                    format!("missing required key {req:?}"),
                );
            }
        }
        if shape.union {
            let set = map.values().filter(|v| !matches!(v, Value::Null)).count();
            if set != 1 {
                let names: Vec<&str> = shape.members.keys().map(String::as_str).collect();
                self.problem(
                    ProblemKind::InvalidValue,
                    path,
                    format!("exactly one of {} must be set, {set} are", names.join(", ")),
                );
            }
        }
        for (key, v) in map.iter_mut() {
            if let Some(member) = shape.members.get(key) {
                let child = join(path, key);
                self.check(&member.shape, v, &child, depth + 1);
            }
        }
    }

    fn list(&mut self, shape: &Shape, value: &mut Value, path: &str, depth: usize) {
        let Value::List(items) = value else {
            return self.wrong_type(shape, value, path);
        };
        self.length(shape, items.len(), path, "items");
        if let Some(member) = &shape.member {
            for (i, item) in items.iter_mut().enumerate() {
                self.check(&member.shape, item, &format!("{path}[{i}]"), depth + 1);
            }
        }
    }

    fn map(&mut self, shape: &Shape, value: &mut Value, path: &str, depth: usize) {
        let Value::Map(map) = value else {
            return self.wrong_type(shape, value, path);
        };
        self.length(shape, map.len(), path, "entries");
        let key_shape = shape.key.as_ref().and_then(|k| self.model.shape(&k.shape));
        if let Some(key_shape) = key_shape {
            for key in map.keys() {
                if let Some(allowed) = &key_shape.enum_values
                    && !allowed.is_empty()
                    && !allowed.contains(key)
                {
                    let allowed = allowed.clone();
                    self.not_in_enum(path, "key", key, &allowed);
                }
            }
        }
        if let Some(v) = &shape.value {
            for (key, item) in map.iter_mut() {
                self.check(&v.shape, item, &join(path, key), depth + 1);
            }
        }
    }

    fn string(&mut self, shape: &Shape, value: &mut Value, path: &str) {
        let Value::Str(s) = value else {
            return self.wrong_type(shape, value, path);
        };
        if let Some(allowed) = &shape.enum_values
            && !allowed.is_empty()
            && !allowed.iter().any(|a| a == s)
        {
            let (s, allowed) = (s.clone(), allowed.clone());
            self.not_in_enum(path, "value", &s, &allowed);
            return;
        }
        let len = s.chars().count();
        let s = s.clone();
        self.length(shape, len, path, "characters");
        if let Some(pattern) = &shape.pattern
            && let Some(re) = compiled(pattern)
            && !re.is_match(&s)
        {
            // A sensitive value is described, never quoted.
            let shown = if shape.sensitive {
                format!("the sensitive value ({len} characters)")
            } else {
                format!("{:?}", truncate(&s, 60))
            };
            self.warn(path, format!("{shown} does not match the pattern {pattern} of the pinned model; sent as given, the service decides"));
        }
    }

    fn integer(&mut self, shape: &Shape, value: &mut Value, path: &str) {
        let Value::Int(i) = value else {
            return self.wrong_type(shape, value, path);
        };
        self.range(shape, *i as f64, path);
    }

    fn float(&mut self, shape: &Shape, value: &mut Value, path: &str) {
        let f = match value {
            Value::Float(f) => *f,
            Value::Int(i) => {
                let f = *i as f64;
                *value = Value::Float(f);
                f
            }
            _ => return self.wrong_type(shape, value, path),
        };
        self.range(shape, f, path);
    }

    fn blob(&mut self, shape: &Shape, value: &mut Value, path: &str) {
        let bytes = match value {
            Value::Bytes(b) => std::mem::take(b),
            Value::Stream(_) => return,
            Value::Str(s) => match self.binary {
                BinaryFormat::RawInBase64Out => std::mem::take(s).into_bytes(),
                BinaryFormat::Base64 => {
                    match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                        Ok(b) => b,
                        Err(_) => {
                            return self.problem(
                            ProblemKind::InvalidType,
                            path,
                            "with --cli-binary-format base64, blob text must be base64; use fileb:// for raw bytes".into(),
                        );
                        }
                    }
                }
            },
            _ => return self.wrong_type(shape, value, path),
        };
        self.length(shape, bytes.len(), path, "bytes");
        *value = Value::Bytes(bytes);
    }

    fn timestamp(&mut self, shape: &Shape, value: &mut Value, path: &str) {
        match value {
            Value::Int(_) | Value::Float(_) => {}
            Value::Str(s) => {
                if !is_timestamp(s) {
                    let s = truncate(s, 40).to_string();
                    self.problem(
                        ProblemKind::InvalidType,
                        path,
                        format!("{s:?} is not a timestamp; use ISO 8601 (2024-01-31T12:00:00Z) or epoch seconds"),
                    );
                }
            }
            _ => self.wrong_type(shape, value, path),
        }
    }

    fn length(&mut self, shape: &Shape, len: usize, path: &str, unit: &str) {
        let len = len as f64;
        if let Some(min) = shape.min
            && len < min
        {
            self.problem(
                ProblemKind::InvalidValue,
                path,
                format!("needs at least {min} {unit}, has {len}"),
            );
        }
        if let Some(max) = shape.max
            && len > max
        {
            self.warn(path, format!("the pinned model allows at most {max} {unit}, this has {len}; sent as given, the service decides"));
        }
    }

    fn range(&mut self, shape: &Shape, v: f64, path: &str) {
        if let Some(min) = shape.min
            && v < min
        {
            self.problem(
                ProblemKind::InvalidValue,
                path,
                format!("{v} is below the minimum {min}"),
            );
        }
        if let Some(max) = shape.max
            && v > max
        {
            self.warn(path, format!("{v} is above the maximum {max} of the pinned model; sent as given, the service decides"));
        }
    }
}

/// The warning for a value outside an enum: the closest values ("did you mean"), a handful of the
/// others, how many there are, and that it is sent as given.
pub(crate) fn enum_message(what: &str, value: &str, allowed: &[String]) -> String {
    let mut msg = format!(
        "{what} {:?} is not in the pinned model's list",
        truncate(value, 60)
    );
    let close = enum_suggestions(value, allowed);
    if !close.is_empty() {
        msg.push_str(&format!(" (did you mean {}?)", or_list(&close)));
    }
    // A short enum is quoted whole; a long one by a few values and a count.
    let all_chars: usize = allowed.iter().map(|a| a.len() + 2).sum();
    if allowed.len() <= ENUM_SHOWN + 3 && all_chars <= ENUM_SHOWN_CHARS + 60 {
        let all: Vec<&str> = allowed.iter().map(String::as_str).collect();
        msg.push_str(&format!("; it lists {}", all.join(", ")));
    } else {
        let mut shown: Vec<&str> = Vec::new();
        let mut chars = 0;
        for a in allowed.iter().take(ENUM_SHOWN) {
            let a = truncate(a, 40);
            if !shown.is_empty() && chars + a.len() > ENUM_SHOWN_CHARS {
                break;
            }
            chars += a.len() + 2;
            shown.push(a);
        }
        msg.push_str(&format!(
            "; it lists {} values: {} and {} more",
            allowed.len(),
            shown.join(", "),
            allowed.len() - shown.len()
        ));
    }
    msg.push_str(". Sent as given: the service decides");
    msg
}

/// Up to three enum values closest to `value`, and only those about as close as the closest.
/// Values such as `t3.medium` or `ALL_ATTRIBUTES` are compared part by part, the first part
/// closely (`t9.mega` is closer to `t3.medium` than to `c5.metal`, which shares more letters but
/// neither part), others as a whole; case is ignored.
pub(crate) fn enum_suggestions(value: &str, allowed: &[String]) -> Vec<String> {
    /// Largest mean relative edit distance still worth suggesting.
    const FARTHEST: f64 = 0.6;
    /// How much farther than the closest value another may be and still be suggested.
    const MARGIN: f64 = 0.2;
    /// Added for a value made of a different number of parts (`u-6tb1.metal` for `t9.mega`).
    const OTHER_SHAPE: f64 = 0.25;
    let want = value.to_ascii_lowercase();
    if want.is_empty() {
        return Vec::new();
    }
    if let Some(same) = allowed.iter().find(|a| a.eq_ignore_ascii_case(value)) {
        return vec![same.clone()];
    }
    fn parts(s: &str) -> Vec<&str> {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect()
    }
    fn relative(a: &str, b: &str) -> f64 {
        let longest = a.chars().count().max(b.chars().count()).max(1);
        strsim::damerau_levenshtein(a, b) as f64 / longest as f64
    }
    let wanted_parts = parts(&want);
    let mut scored: Vec<(f64, usize, usize, &String)> = allowed
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let candidate = a.to_ascii_lowercase();
            let candidate_parts = parts(&candidate);
            let score = if wanted_parts.len() > 1 && candidate_parts.len() == wanted_parts.len() {
                // The first part names the kind (`t3`, `python3`, `ALL`): it must be close.
                if relative(wanted_parts[0], candidate_parts[0]) > 0.5 {
                    return None;
                }
                wanted_parts
                    .iter()
                    .zip(&candidate_parts)
                    .map(|(w, c)| relative(w, c))
                    .sum::<f64>()
                    / wanted_parts.len() as f64
            } else if wanted_parts.len() == candidate_parts.len() {
                relative(&want, &candidate)
            } else {
                relative(&want, &candidate) + OTHER_SHAPE
            };
            (score <= FARTHEST).then(|| {
                let whole = strsim::damerau_levenshtein(&want, &candidate);
                (score, whole, i, a)
            })
        })
        .collect();
    scored.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let best = scored.first().map_or(0.0, |s| s.0);
    scored
        .into_iter()
        .take_while(|s| s.0 <= best + MARGIN)
        .take(3)
        .map(|s| s.3.clone())
        .collect()
}

/// Why `name` cannot be the name of a new S3 bucket, by the S3 naming rules (3 to 63 lowercase
/// letters, digits, dots and hyphens; a letter or digit first and last; no `..`; not an IP
/// address; none of the reserved prefixes and suffixes), or `None` when it can. botocore checks
/// far less (`[a-zA-Z0-9.\-_]{1,255}`, for existing buckets too), so this is a warning for the
/// commands that create a bucket (`s3api create-bucket`, `s3 mb`): S3 refuses the name.
pub fn new_bucket_name_problem(name: &str) -> Option<String> {
    const PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--table-s3"];
    let mut why: Vec<String> = Vec::new();
    let len = name.chars().count();
    if !(3..=63).contains(&len) {
        let s = if len == 1 { "" } else { "s" };
        why.push(format!("it has {len} character{s}, a name needs 3 to 63"));
    }
    let mut bad: Vec<String> = Vec::new();
    for c in name.chars() {
        let ok = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-');
        let shown = format!("{c:?}");
        if !ok && !bad.contains(&shown) {
            bad.push(shown);
        }
    }
    if !bad.is_empty() {
        let more = bad.len() > 3;
        bad.truncate(3);
        why.push(format!(
            "{}{} not allowed: use lowercase letters, digits, dots and hyphens",
            or_list(&bad).replace(" or ", " and "),
            if more {
                ", ... are"
            } else if bad.len() == 1 {
                " is"
            } else {
                " are"
            }
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if len > 0 && !(alnum(name.chars().next()) && alnum(name.chars().last())) {
        why.push("it must start and end with a lowercase letter or digit".into());
    }
    if name.contains("..") {
        why.push("it must not have two dots in a row".into());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        why.push("it must not be an IP address".into());
    }
    if let Some(p) = PREFIXES.iter().find(|p| name.starts_with(**p)) {
        why.push(format!("the prefix {p:?} is reserved"));
    }
    if let Some(sfx) = SUFFIXES.iter().find(|sfx| name.ends_with(**sfx)) {
        why.push(format!("the suffix {sfx:?} is reserved"));
    }
    (!why.is_empty()).then(|| {
        format!(
            "{:?} is not a valid name for a new bucket: {}. S3 will refuse it",
            truncate(name, 70),
            why.join("; ")
        )
    })
}

fn join(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// What a shape expects, in words.
fn describe(shape: &Shape) -> String {
    match shape.kind {
        ShapeType::Structure => "an object (JSON {...} or shorthand Key=Value,...)".into(),
        ShapeType::Map => "a map (JSON {...} or shorthand Key=Value,...)".into(),
        ShapeType::List => "a list".into(),
        ShapeType::Integer | ShapeType::Long | ShapeType::Biginteger => "an integer".into(),
        ShapeType::Float | ShapeType::Double | ShapeType::Bigdecimal => "a number".into(),
        ShapeType::Boolean => "a boolean (true or false)".into(),
        ShapeType::Blob => "binary data (text, or fileb://path)".into(),
        ShapeType::Timestamp => "a timestamp".into(),
        ShapeType::String => "a string".into(),
    }
}

/// A compiled model pattern, cached; `None` when the regex engine cannot express it (lookaround,
/// back-references), in which case the pattern is not checked.
fn compiled(pattern: &str) -> Option<Arc<regex::Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<regex::Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hit) = guard.get(pattern) {
        return hit.clone();
    }
    // AWS services match the whole value (as Java's String.matches), so anchor the pattern.
    let re = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .ok()
        .map(Arc::new);
    guard.insert(pattern.to_string(), re.clone());
    re
}

/// Whether the regex engine can check a model pattern (for coverage tests).
pub fn pattern_supported(pattern: &str) -> bool {
    compiled(pattern).is_some()
}

/// ISO 8601 date or date-time (with `T` or a space, optional seconds, fraction and zone), or epoch seconds.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let s = s.trim();
    if !s.is_empty() && s.parse::<f64>().is_ok_and(f64::is_finite) {
        return true;
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return false;
    }
    let (month, day) = (
        (b[5] - b'0') * 10 + (b[6] - b'0'),
        (b[8] - b'0') * 10 + (b[9] - b'0'),
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    let rest = &s[10..];
    if rest.is_empty() {
        return true;
    }
    let Some(time) = rest.strip_prefix(['T', 't', ' ']) else {
        return false;
    };
    let tb = time.as_bytes();
    let tdigits = |r: std::ops::Range<usize>| {
        tb.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if !(tdigits(0..2) && tb.get(2) == Some(&b':') && tdigits(3..5)) {
        return false;
    }
    let mut i = 5;
    if tb.get(i) == Some(&b':') {
        if !tdigits(i + 1..i + 3) {
            return false;
        }
        i += 3;
        if tb.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while tb.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
    }
    let zone = &time[i..];
    zone.is_empty()
        || zone.eq_ignore_ascii_case("z")
        || (zone.len() == 6
            && zone.starts_with(['+', '-'])
            && tdigits(i + 1..i + 3)
            && tb.get(i + 3) == Some(&b':')
            && tdigits(i + 4..i + 6))
        || (zone.len() == 5 && zone.starts_with(['+', '-']) && tdigits(i + 1..i + 5))
}

#[cfg(test)]
mod tests {
    use super::is_timestamp;

    #[test]
    fn timestamps() {
        for ok in [
            "2024-01-31",
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00Z",
            "2024-01-31 12:00:00",
            "2024-01-31T12:00:00.123+02:00",
            "1700000000",
            "1700000000.5",
            "2024-01-31T12:00:00-0500",
        ] {
            assert!(is_timestamp(ok), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-01-32",
            "2024-01-31T",
            "2024-01-31T12",
            "2024/01/31",
            "2024-01-31T12:00:00+2",
            "NaN",
            "inf",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }
}
