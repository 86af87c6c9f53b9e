//! Pagination the way the AWS CLI does it: follow the output tokens page after page, stop at
//! `--max-items` with a resumable token in the CLI's format, resume from `--starting-token`, and
//! merge the pages into one result (`result_key`s concatenated, `non_aggregate_keys` from the first
//! page, `NextToken` when truncated).
//!
//! Paging is bounded: after `max_pages` pages the pager stops with a `NextToken` (the agent goes on
//! with `--starting-token`), and the executor can stop it early ([`Pager::stop`]) when the call's
//! byte budget or deadline runs out; [`Pager::cut_by_page_cap`] says whether the cap was hit.
//!
//! [`Pager`] is a state machine without I/O: the executor asks it for the parameters of the next
//! request, hands it each parsed page, and finally takes the merged result. This keeps the rules
//! testable without a network and the executor free of paging details.

use base64::Engine;
use serde_json::{Map, Value};

use crate::output::jmespath::Query;

/// A paginator definition from the model's `paginators-1.json`.
#[derive(Debug, Clone)]
pub struct PaginatorConfig {
    pub input_token: Vec<String>,
    pub output_token: Vec<Query>,
    pub limit_key: Option<String>,
    pub more_results: Option<Query>,
    /// Result key expressions and their source text (for setting values in the merged result).
    pub result_keys: Vec<(String, Query)>,
    pub non_aggregate_keys: Vec<(String, Query)>,
}

/// Why paging failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaginationError {
    #[error("the paginator definition is invalid: {0}")]
    BadConfig(String),
    #[error("--starting-token is not a token this command produced: {0}")]
    BadStartingToken(String),
    #[error("the service returned the same next token twice ({0}); stopping to avoid a loop")]
    RepeatedToken(String),
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn compile(expr: &str) -> Result<Query, PaginationError> {
    Query::compile(expr).map_err(|e| PaginationError::BadConfig(format!("{expr}: {e}")))
}

impl PaginatorConfig {
    /// From one operation's entry in `paginators-1.json`.
    pub fn from_json(v: &Value) -> Result<PaginatorConfig, PaginationError> {
        let input_token = strings(v.get("input_token"));
        let output_token = strings(v.get("output_token"))
            .iter()
            .map(|e| compile(e))
            .collect::<Result<Vec<_>, _>>()?;
        if input_token.is_empty() || input_token.len() != output_token.len() {
            return Err(PaginationError::BadConfig(
                "input_token and output_token must pair up".into(),
            ));
        }
        let pair = |e: &String| compile(e).map(|q| (e.clone(), q));
        Ok(PaginatorConfig {
            input_token,
            output_token,
            limit_key: v
                .get("limit_key")
                .and_then(Value::as_str)
                .map(str::to_string),
            more_results: v
                .get("more_results")
                .and_then(Value::as_str)
                .map(compile)
                .transpose()?,
            result_keys: strings(v.get("result_key"))
                .iter()
                .map(pair)
                .collect::<Result<_, _>>()?,
            non_aggregate_keys: strings(v.get("non_aggregate_keys"))
                .iter()
                .map(pair)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// What to do after a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send another request with these parameters.
    Next(Map<String, Value>),
    /// No more pages.
    Done,
}

/// The CLI's pagination state for one command.
#[derive(Debug)]
pub struct Pager {
    cfg: PaginatorConfig,
    params: Map<String, Value>,
    max_items: Option<u64>,
    max_pages: usize,
    pages: usize,
    total_items: u64,
    /// Items to drop from the first page (from a `boto_truncate_amount` in the starting token).
    skip_first: u64,
    previous_token: Option<Vec<Value>>,
    merged: Map<String, Value>,
    non_aggregate: Option<Map<String, Value>>,
    resume_token: Option<String>,
    /// Each page as the CLI's text output shows it (see [`Pager::keep_pages`]).
    kept: Option<Vec<Value>>,
    /// Stopped by `max_pages` with more to fetch.
    cut_by_page_cap: bool,
}

impl Pager {
    /// Starts paging: `params` are the operation's parameters (JSON), paging the CLI options.
    pub fn new(
        cfg: PaginatorConfig,
        mut params: Map<String, Value>,
        page_size: Option<u64>,
        max_items: Option<u64>,
        starting_token: Option<&str>,
        max_pages: usize,
    ) -> Result<Pager, PaginationError> {
        if let (Some(size), Some(limit)) = (page_size, &cfg.limit_key) {
            params.insert(limit.clone(), Value::from(size));
        }
        let mut skip_first = 0;
        if let Some(token) = starting_token {
            let (values, skip) = decode_token(token, &cfg.input_token)?;
            for (k, v) in cfg.input_token.iter().zip(values) {
                if !v.is_null() {
                    params.insert(k.clone(), v);
                }
            }
            skip_first = skip;
        }
        Ok(Pager {
            cfg,
            params,
            max_items,
            max_pages,
            pages: 0,
            total_items: 0,
            skip_first,
            previous_token: None,
            merged: Map::new(),
            non_aggregate: None,
            resume_token: None,
            kept: None,
            cut_by_page_cap: false,
        })
    }

    /// Keep every page as well as the merged result, shaped as the CLI's text output prints
    /// pages: the first with the non-aggregate keys, each with its result keys (null when
    /// absent), and a last `{"NextToken": {"NextToken": ...}}` when truncated.
    pub fn keep_pages(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// Parameters of the first request.
    pub fn first_request(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Takes one parsed page; returns what to do next.
    pub fn on_page(&mut self, mut page: Value) -> Result<Step, PaginationError> {
        self.pages += 1;
        if self.non_aggregate.is_none() {
            let mut part = Map::new();
            // botocore records every non-aggregate key, absent ones as null (the CLI prints them).
            for (expr, q) in &self.cfg.non_aggregate_keys {
                set_path(&mut part, expr, q.search(&page).unwrap_or(Value::Null));
            }
            self.non_aggregate = Some(part);
        }
        let primary = self.cfg.result_keys.first().map(|(e, _)| e.clone());
        if self.skip_first > 0
            && let Some(expr) = &primary
        {
            truncate_front(&mut page, expr, self.skip_first as usize);
        }
        let start_skip = std::mem::take(&mut self.skip_first);
        let items = primary
            .as_deref()
            .and_then(|e| list_len(&page, e))
            .unwrap_or(0) as u64;
        let next = self.next_token(&page);
        if let Some(max) = self.max_items {
            let excess = (self.total_items + items).saturating_sub(max);
            if excess > 0 {
                // Keep what fits; the resume token points at this page with a truncation amount.
                let keep = items - excess;
                if let Some(expr) = &primary {
                    truncate_back(&mut page, expr, keep as usize);
                }
                let current: Vec<Value> = self
                    .cfg
                    .input_token
                    .iter()
                    .map(|k| self.params.get(k).cloned().unwrap_or(Value::Null))
                    .collect();
                self.resume_token = Some(encode_token(
                    &self.cfg.input_token,
                    &current,
                    Some(keep + start_skip),
                ));
                self.keep(&page);
                self.merge(&page);
                return Ok(Step::Done);
            }
        }
        self.total_items += items;
        self.keep(&page);
        self.merge(&page);
        let Some(next) = next else {
            return Ok(Step::Done);
        };
        if self.max_items.is_some_and(|max| self.total_items == max) {
            self.resume_token = Some(encode_token(&self.cfg.input_token, &next, None));
            return Ok(Step::Done);
        }
        if self.previous_token.as_ref() == Some(&next) {
            return Err(PaginationError::RepeatedToken(
                Value::Array(next).to_string(),
            ));
        }
        if self.pages >= self.max_pages {
            // The page cap: what was gathered, and a token to go on from the next page.
            self.resume_token = Some(encode_token(&self.cfg.input_token, &next, None));
            self.cut_by_page_cap = true;
            return Ok(Step::Done);
        }
        for (k, v) in self.cfg.input_token.iter().zip(&next) {
            if v.is_null() {
                self.params.remove(k);
            } else {
                self.params.insert(k.clone(), v.clone());
            }
        }
        self.previous_token = Some(next);
        Ok(Step::Next(self.params.clone()))
    }

    /// Stops after the pages taken so far, although [`Step::Next`] asked for another: the result
    /// gets the `NextToken` of the page not fetched, in the CLI's format. Does nothing before the
    /// first page or once the pager has finished.
    pub fn stop(&mut self) {
        if self.resume_token.is_none()
            && let Some(next) = &self.previous_token
        {
            self.resume_token = Some(encode_token(&self.cfg.input_token, next, None));
        }
    }

    /// Whether `max_pages` ended paging while the service had more.
    pub fn cut_by_page_cap(&self) -> bool {
        self.cut_by_page_cap
    }

    /// The `NextToken` the result will carry (`--max-items`, the page cap or [`Pager::stop`]).
    pub fn resume_token(&self) -> Option<&str> {
        self.resume_token.as_deref()
    }

    /// The merged result and the pages kept (empty unless [`Pager::keep_pages`] was called).
    pub fn finish_with_pages(mut self) -> (Value, Vec<Value>) {
        let mut pages = self.kept.take().unwrap_or_default();
        if let Some(token) = &self.resume_token {
            pages.push(serde_json::json!({ "NextToken": { "NextToken": token } }));
        }
        (self.finish(), pages)
    }

    fn keep(&mut self, page: &Value) {
        let Some(kept) = &self.kept else { return };
        let mut current = if kept.is_empty() {
            self.non_aggregate.clone().unwrap_or_default()
        } else {
            Map::new()
        };
        for (expr, q) in &self.cfg.result_keys {
            set_path(&mut current, expr, q.search(page).unwrap_or(Value::Null));
        }
        if let Some(kept) = &mut self.kept {
            kept.push(Value::Object(current));
        }
    }

    /// The merged result: result keys, non-aggregate keys, and `NextToken` when truncated.
    pub fn finish(self) -> Value {
        let mut out = self.merged;
        if let Some(part) = self.non_aggregate {
            for (k, v) in part {
                out.entry(k).or_insert(v);
            }
        }
        if let Some(token) = self.resume_token {
            out.insert("NextToken".into(), Value::String(token));
        }
        Value::Object(out)
    }

    /// The output tokens of a page, or `None` when this was the last page.
    fn next_token(&self, page: &Value) -> Option<Vec<Value>> {
        if let Some(more) = &self.cfg.more_results
            && !more.search(page).is_ok_and(|v| truthy(&v))
        {
            return None;
        }
        let tokens: Vec<Value> = self
            .cfg
            .output_token
            .iter()
            .map(|q| q.search(page).unwrap_or(Value::Null))
            .collect();
        let empty = |v: &Value| v.is_null() || v.as_str() == Some("");
        if tokens.iter().all(empty) {
            None
        } else {
            Some(tokens)
        }
    }

    fn merge(&mut self, page: &Value) {
        for (expr, q) in &self.cfg.result_keys {
            let Ok(value) = q.search(page) else { continue };
            if value.is_null() {
                continue;
            }
            match get_path_mut(&mut self.merged, expr) {
                None => set_path(&mut self.merged, expr, value),
                Some(existing) => match (existing, value) {
                    (Value::Array(have), Value::Array(more)) => have.extend(more),
                    (Value::String(have), Value::String(more)) => have.push_str(&more),
                    (slot @ Value::Number(_), Value::Number(more)) => {
                        let sum = match (slot.as_i64(), more.as_i64()) {
                            (Some(a), Some(b)) => Value::from(a.saturating_add(b)),
                            _ => Value::from(
                                slot.as_f64().unwrap_or(0.0) + more.as_f64().unwrap_or(0.0),
                            ),
                        };
                        *slot = sum;
                    }
                    _ => {}
                },
            }
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

/// Result keys are dotted paths (`Contents`, `Foo.Bar`): walk them directly.
fn get_path_mut<'a>(map: &'a mut Map<String, Value>, expr: &str) -> Option<&'a mut Value> {
    let mut parts = expr.split('.');
    let mut cur = map.get_mut(parts.next()?)?;
    for p in parts {
        cur = cur.as_object_mut()?.get_mut(p)?;
    }
    Some(cur)
}

fn set_path(map: &mut Map<String, Value>, expr: &str, value: Value) {
    let parts: Vec<&str> = expr.split('.').collect();
    let mut cur = map;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        cur = next;
    }
    if let Some(last) = parts.last() {
        cur.insert(last.to_string(), value);
    }
}

fn list_len(page: &Value, expr: &str) -> Option<usize> {
    let mut cur = page;
    for p in expr.split('.') {
        cur = cur.get(p)?;
    }
    cur.as_array().map(Vec::len)
}

fn with_list(page: &mut Value, expr: &str, f: impl FnOnce(&mut Vec<Value>)) {
    let mut cur = page;
    for p in expr.split('.') {
        let Some(next) = cur.get_mut(p) else { return };
        cur = next;
    }
    if let Value::Array(list) = cur {
        f(list);
    }
}

fn truncate_back(page: &mut Value, expr: &str, keep: usize) {
    with_list(page, expr, |l| l.truncate(keep));
}

fn truncate_front(page: &mut Value, expr: &str, skip: usize) {
    with_list(page, expr, |l| {
        let n = skip.min(l.len());
        l.drain(..n);
    });
}

/// The CLI's token: base64 of a JSON object of the input tokens (and `boto_truncate_amount`).
pub fn encode_token(keys: &[String], values: &[Value], truncate: Option<u64>) -> String {
    let mut obj = Map::new();
    for (k, v) in keys.iter().zip(values) {
        obj.insert(k.clone(), v.clone());
    }
    if let Some(n) = truncate {
        obj.insert("boto_truncate_amount".into(), Value::from(n));
    }
    // Python's json.dumps defaults, so tokens are byte-identical to the AWS CLI's.
    base64::engine::general_purpose::STANDARD.encode(crate::output::pyfmt::json_dumps_ascii(
        &Value::Object(obj),
        ", ",
        ": ",
    ))
}

/// Decodes a `--starting-token`: the CLI's base64 JSON, or (as botocore accepts) a service's raw
/// token for a single input token.
pub fn decode_token(token: &str, keys: &[String]) -> Result<(Vec<Value>, u64), PaginationError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok());
    match decoded {
        Some(mut obj) => {
            let skip = obj
                .remove("boto_truncate_amount")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if obj.keys().any(|k| !keys.contains(k)) {
                return Err(PaginationError::BadStartingToken(format!(
                    "it names keys other than {}",
                    keys.join(", ")
                )));
            }
            Ok((
                keys.iter()
                    .map(|k| obj.get(k).cloned().unwrap_or(Value::Null))
                    .collect(),
                skip,
            ))
        }
        None if keys.len() == 1 => Ok((vec![Value::String(token.to_string())], 0)),
        None => Err(PaginationError::BadStartingToken(
            "it is not base64 JSON".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pager(cfg: Value, max_items: Option<u64>, start: Option<&str>) -> Pager {
        let cfg = PaginatorConfig::from_json(&cfg).expect("config");
        Pager::new(cfg, Map::new(), None, max_items, start, 1000).expect("pager")
    }

    fn s3_cfg() -> Value {
        json!({"input_token": "ContinuationToken", "output_token": "NextContinuationToken", "limit_key": "MaxKeys",
               "result_key": ["Contents", "CommonPrefixes"], "non_aggregate_keys": ["Name", "Prefix"]})
    }

    #[test]
    fn follows_tokens_and_merges_pages() {
        let mut p = pager(s3_cfg(), None, None);
        let step = p
            .on_page(
                json!({"Name": "b", "Contents": [{"Key": "a"}], "NextContinuationToken": "t1"}),
            )
            .expect("page");
        assert_eq!(
            step,
            Step::Next(
                json!({"ContinuationToken": "t1"})
                    .as_object()
                    .cloned()
                    .expect("obj")
            )
        );
        let step = p
            .on_page(json!({"Name": "b", "Contents": [{"Key": "b"}, {"Key": "c"}]}))
            .expect("page");
        assert_eq!(step, Step::Done);
        assert_eq!(
            p.finish(),
            json!({"Contents": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}], "Name": "b", "Prefix": null})
        );
    }

    #[test]
    fn max_items_truncates_and_the_token_resumes_exactly() {
        let mut p = pager(s3_cfg(), Some(2), None);
        assert!(matches!(
            p.on_page(json!({"Contents": [{"Key": "a"}], "NextContinuationToken": "t1"})),
            Ok(Step::Next(_))
        ));
        assert_eq!(
            p.on_page(
                json!({"Contents": [{"Key": "b"}, {"Key": "c"}], "NextContinuationToken": "t2"})
            ),
            Ok(Step::Done)
        );
        let out = p.finish();
        assert_eq!(out["Contents"], json!([{"Key": "a"}, {"Key": "b"}]));
        let token = out["NextToken"].as_str().expect("token").to_string();
        // Resuming re-requests page 2 and skips the item already shown.
        let mut p = pager(s3_cfg(), None, Some(&token));
        assert_eq!(
            p.first_request().get("ContinuationToken"),
            Some(&json!("t1"))
        );
        assert_eq!(
            p.on_page(json!({"Contents": [{"Key": "b"}, {"Key": "c"}]})),
            Ok(Step::Done)
        );
        assert_eq!(p.finish()["Contents"], json!([{"Key": "c"}]));
    }

    #[test]
    fn exact_max_items_at_a_page_boundary_gives_the_service_token() {
        let mut p = pager(s3_cfg(), Some(1), None);
        assert_eq!(
            p.on_page(json!({"Contents": [{"Key": "a"}], "NextContinuationToken": "t1"})),
            Ok(Step::Done)
        );
        let token = p.finish()["NextToken"].as_str().expect("token").to_string();
        let (values, skip) =
            decode_token(&token, &["ContinuationToken".to_string()]).expect("decode");
        assert_eq!((values, skip), (vec![json!("t1")], 0));
    }

    #[test]
    fn repeated_tokens_and_bad_starting_tokens_are_errors() {
        let mut p = pager(s3_cfg(), None, None);
        assert!(matches!(
            p.on_page(json!({"NextContinuationToken": "same"})),
            Ok(Step::Next(_))
        ));
        assert!(matches!(
            p.on_page(json!({"NextContinuationToken": "same"})),
            Err(PaginationError::RepeatedToken(_))
        ));
        let cfg = PaginatorConfig::from_json(
            &json!({"input_token": ["A", "B"], "output_token": ["A", "B"], "result_key": "X"}),
        )
        .expect("cfg");
        assert!(Pager::new(cfg, Map::new(), None, None, Some("garbage"), 10).is_err());
        // A raw service token is accepted for a single input token, as botocore does.
        let mut p = pager(s3_cfg(), None, Some("raw-service-token"));
        assert_eq!(
            p.first_request().get("ContinuationToken"),
            Some(&json!("raw-service-token"))
        );
        assert_eq!(p.on_page(json!({})), Ok(Step::Done));
    }

    #[test]
    fn more_results_and_expression_tokens() {
        // S3 ListObjects (v1): NextMarker || Contents[-1].Key, with IsTruncated.
        let cfg = json!({"more_results": "IsTruncated", "limit_key": "MaxKeys", "output_token": "NextMarker || Contents[-1].Key",
                         "input_token": "Marker", "result_key": ["Contents", "CommonPrefixes"]});
        let mut p = pager(cfg, None, None);
        let step = p
            .on_page(json!({"IsTruncated": true, "Contents": [{"Key": "a"}, {"Key": "z"}]}))
            .expect("page");
        assert_eq!(
            step,
            Step::Next(json!({"Marker": "z"}).as_object().cloned().expect("obj"))
        );
        assert_eq!(
            p.on_page(
                json!({"IsTruncated": false, "Contents": [{"Key": "zz"}], "NextMarker": "x"})
            ),
            Ok(Step::Done)
        );
        assert_eq!(p.finish()["Contents"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn tokens_are_byte_identical_to_the_cli() {
        // base64 of Python's json.dumps({"ContinuationToken": "t\u00e9"}).
        let t = encode_token(&["ContinuationToken".to_string()], &[json!("té")], None);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(t)
            .expect("b64");
        assert_eq!(
            String::from_utf8(raw).expect("utf8"),
            r#"{"ContinuationToken": "t\u00e9"}"#
        );
        let t = encode_token(&["Marker".to_string()], &[json!("m")], Some(2));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(t)
            .expect("b64");
        assert_eq!(
            String::from_utf8(raw).expect("utf8"),
            r#"{"Marker": "m", "boto_truncate_amount": 2}"#
        );
    }

    #[test]
    fn a_page_cap_stops_runaway_paging() {
        let cfg = PaginatorConfig::from_json(&s3_cfg()).expect("cfg");
        let mut p = Pager::new(cfg, Map::new(), Some(5), None, None, 2).expect("pager");
        assert_eq!(p.first_request().get("MaxKeys"), Some(&json!(5)));
        assert!(matches!(
            p.on_page(json!({"NextContinuationToken": "1"})),
            Ok(Step::Next(_))
        ));
        assert_eq!(
            p.on_page(json!({"NextContinuationToken": "2"})),
            Ok(Step::Done)
        );
        assert!(p.cut_by_page_cap());
        let token = encode_token(&["ContinuationToken".to_string()], &[json!("2")], None);
        assert_eq!(p.resume_token(), Some(token.as_str()));
        assert_eq!(p.finish()["NextToken"], json!(token));
    }

    #[test]
    fn stop_resumes_from_the_page_not_fetched() {
        let cfg = PaginatorConfig::from_json(&s3_cfg()).expect("cfg");
        let mut p = Pager::new(cfg, Map::new(), None, None, None, 100).expect("pager");
        p.stop();
        assert_eq!(p.resume_token(), None);
        assert!(matches!(
            p.on_page(json!({"Contents": [{"Key": "a"}], "NextContinuationToken": "n1"})),
            Ok(Step::Next(_))
        ));
        p.stop();
        let token = encode_token(&["ContinuationToken".to_string()], &[json!("n1")], None);
        assert_eq!(p.resume_token(), Some(token.as_str()));
        assert!(!p.cut_by_page_cap());
        assert_eq!(p.finish()["NextToken"], json!(token));
    }
}
