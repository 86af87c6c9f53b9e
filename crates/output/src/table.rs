//! `--output table`: a port of awscli's `TableFormatter` (`awscli/formatter.py`) and
//! `MultiTable`/`Section` (`awscli/table.py`), uncoloured, as the CLI prints it when stdout is
//! not a terminal.
//!
//! The operation name titles the outer section; each dict becomes a section whose scalar keys
//! (sorted) are the column headers, nested lists and dicts become indented sub-sections, and a
//! section with a single row is turned vertical when the table is wider than the terminal.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::OutputError;
use super::pyfmt::{py_str, text_width};

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Python truthiness, which `_build_table` uses to skip empty values.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

fn table_error(detail: String) -> OutputError {
    OutputError::Shape {
        format: "table",
        detail,
    }
}

struct Section {
    /// `None` is Python's `None` title (a nested list section): not shown, but 4 columns wide.
    title: Option<String>,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent_level: usize,
    num_cols: Option<usize>,
    max_widths: Vec<usize>,
}

impl Section {
    fn new(title: Option<&str>, indent_level: usize) -> Self {
        Section {
            title: title.map(str::to_string),
            headers: Vec::new(),
            rows: Vec::new(),
            indent_level,
            num_cols: None,
            max_widths: Vec::new(),
        }
    }

    fn title_width(&self) -> usize {
        text_width(self.title.as_deref().unwrap_or("None"))
    }

    fn calculate_column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else {
            return unscaled;
        };
        if unscaled.is_empty() {
            return unscaled;
        }
        let total: usize = unscaled.iter().sum();
        let scale = max_width as f64 / total as f64;
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|&w| (scale * w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self, padding: usize, with_border: bool, outer_padding: usize) -> usize {
        let mut total: usize = self
            .calculate_column_widths(0, None)
            .iter()
            .map(|w| w + padding)
            .sum();
        if with_border {
            total += 2;
        }
        total += 2 * outer_padding;
        (self.title_width() + 2 + 2 * outer_padding).max(total)
    }

    fn add_header(&mut self, headers: Vec<String>) -> Result<(), OutputError> {
        self.update_max_widths(&headers)?;
        if self.num_cols.is_none() {
            self.num_cols = Some(headers.len());
        }
        self.headers = headers;
        Ok(())
    }

    fn add_row(&mut self, row: Vec<String>) -> Result<(), OutputError> {
        let n = *self.num_cols.get_or_insert(row.len());
        if row.len() != n {
            return Err(table_error(format!(
                "a row has {} columns where its section has {n} (the AWS CLI fails the same way)",
                row.len()
            )));
        }
        self.update_max_widths(&row)?;
        self.rows.push(row);
        Ok(())
    }

    fn update_max_widths(&mut self, row: &[String]) -> Result<(), OutputError> {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|e| text_width(e)).collect();
        } else {
            for (i, e) in row.iter().enumerate() {
                let Some(w) = self.max_widths.get_mut(i) else {
                    return Err(table_error(
                        "rows of different widths in one section (the AWS CLI fails the same way)"
                            .to_string(),
                    ));
                };
                *w = (*w).max(text_width(e));
            }
        }
        Ok(())
    }
}

struct MultiTable {
    sections: Vec<Section>,
    terminal_width: usize,
}

impl MultiTable {
    fn current(&mut self) -> Result<&mut Section, OutputError> {
        self.sections
            .last_mut()
            .ok_or_else(|| table_error("no section to add a row to".to_string()))
    }

    fn new_section(&mut self, title: Option<&str>, indent_level: usize) {
        self.sections.push(Section::new(title, indent_level));
    }

    fn max_width(&self) -> usize {
        self.sections
            .iter()
            .map(|s| s.total_width(4, true, s.indent_level))
            .max()
            .unwrap_or(0)
    }

    fn render(&mut self, out: &mut String) {
        let mut max_width = self.max_width();
        if max_width > self.terminal_width {
            self.convert_to_vertical();
            max_width = self.max_width();
        }
        out.push_str(&"-".repeat(max_width));
        out.push('\n');
        for section in &self.sections {
            render_section(section, max_width, out);
        }
    }

    /// Sections with a single row become `header | value` rows.
    fn convert_to_vertical(&mut self) {
        for section in &mut self.sections {
            if section.rows.len() == 1 && !section.headers.is_empty() {
                let mut new = Section::new(section.title.as_deref(), section.indent_level);
                for (h, e) in section.headers.iter().zip(section.rows[0].iter()) {
                    // Two columns every time: cannot fail.
                    let _ = new.add_row(vec![h.clone(), e.clone()]);
                }
                *section = new;
            }
        }
    }
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

fn center_text(text: &str, length: usize, left: &str, right: &str) -> String {
    let text_length = text_width(text) as i64;
    let length = length as i64;
    let char_start = length / 2 - text_length / 2 - 1;
    let so_far = left.chars().count() as i64 + char_start + text_length;
    let right_spaces = length - right.chars().count() as i64 - so_far;
    format!(
        "{left}{}{text}{}{right}",
        spaces(char_start),
        spaces(right_spaces)
    )
}

fn align_left(text: &str, length: usize, left: &str, right: &str) -> String {
    let text_length = text_width(text) as i64;
    let length = length as i64;
    let (l, r) = (left.chars().count() as i64, right.chars().count() as i64);
    let padding = if length - (text_length + 2 + l + r) >= 0 {
        2
    } else {
        0
    };
    let so_far = l + padding + text_length;
    format!(
        "{left}{}{text}{}{right}",
        spaces(padding),
        spaces(length - so_far - r)
    )
}

fn render_section(section: &Section, max_width: usize, out: &mut String) {
    let indent = "|".repeat(section.indent_level);
    let mut line = |s: &str| {
        out.push_str(&indent);
        out.push_str(s);
        out.push_str(&indent);
        out.push('\n');
    };
    let max_width = max_width.saturating_sub(section.indent_level * 2);
    if let Some(title) = section.title.as_deref().filter(|t| !t.is_empty()) {
        line(&center_text(title, max_width, "|", "|"));
        if section.headers.is_empty() && section.rows.is_empty() {
            line(&format!("+{}+", "-".repeat(max_width.saturating_sub(2))));
        }
    }
    let line_break = |widths: &[usize]| {
        let mut s = String::new();
        for (i, w) in widths.iter().enumerate() {
            if i == 0 {
                s.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
            } else {
                s.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
            }
        }
        s
    };
    if !section.headers.is_empty() {
        let widths = section.calculate_column_widths(4, Some(max_width));
        let mut s = String::new();
        for (i, (w, h)) in widths.iter().zip(section.headers.iter()).enumerate() {
            s.push_str(&center_text(h, *w, if i == 0 { "|" } else { "" }, "|"));
        }
        line(&line_break(&widths));
        line(&s);
    }
    if !section.rows.is_empty() {
        let widths = section.calculate_column_widths(4, Some(max_width));
        if widths.is_empty() {
            return;
        }
        line(&line_break(&widths));
        for row in &section.rows {
            let mut s = String::new();
            for (i, (w, e)) in widths.iter().zip(row.iter()).enumerate() {
                s.push_str(&align_left(e, *w, if i == 0 { "|" } else { "" }, "|"));
            }
            line(&s);
        }
        line(&line_break(&widths));
    }
}

/// `TableFormatter._format_response`: nothing at all for an empty (falsy) response.
pub(crate) fn format_table(
    value: &Value,
    title: &str,
    terminal_width: usize,
    out: &mut String,
) -> Result<(), OutputError> {
    let mut table = MultiTable {
        sections: Vec::new(),
        terminal_width,
    };
    if build_table(&mut table, Some(title), value, 0)? {
        table.render(out);
    }
    Ok(())
}

fn build_table(
    table: &mut MultiTable,
    title: Option<&str>,
    current: &Value,
    indent_level: usize,
) -> Result<bool, OutputError> {
    if is_falsy(current) {
        return Ok(false);
    }
    if title.is_some() {
        table.new_section(title, indent_level);
    }
    match current {
        Value::Array(items) => {
            if items.first().is_some_and(Value::is_object) {
                sub_table_from_list(table, items, indent_level, title)?;
            } else {
                for item in items {
                    match item {
                        Value::Array(a) if !a.iter().all(is_scalar) => {
                            build_table(table, None, item, 0)?;
                        }
                        Value::Array(a) => {
                            table.current()?.add_row(a.iter().map(py_str).collect())?
                        }
                        // Iterating a dict yields its keys: awscli adds them as a row.
                        Value::Object(m) => {
                            table.current()?.add_row(m.keys().cloned().collect())?
                        }
                        scalar => table.current()?.add_row(vec![py_str(scalar)])?,
                    }
                }
            }
        }
        Value::Object(m) => sub_table_from_dict(table, m, indent_level)?,
        _ => {}
    }
    Ok(true)
}

fn group_scalar_keys(m: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut headers = Vec::new();
    let mut more = Vec::new();
    for (k, v) in m {
        if is_scalar(v) {
            headers.push(k.clone())
        } else {
            more.push(k.clone())
        }
    }
    headers.sort();
    more.sort();
    (headers, more)
}

fn sub_table_from_dict(
    table: &mut MultiTable,
    m: &Map<String, Value>,
    indent_level: usize,
) -> Result<(), OutputError> {
    let (headers, more) = group_scalar_keys(m);
    if headers.len() == 1 {
        let v = m.get(&headers[0]).map(py_str).unwrap_or_default();
        table.current()?.add_row(vec![headers[0].clone(), v])?;
    } else if !headers.is_empty() {
        let row = headers
            .iter()
            .map(|k| m.get(k).map(py_str).unwrap_or_default())
            .collect();
        let section = table.current()?;
        section.add_header(headers)?;
        section.add_row(row)?;
    }
    for k in more {
        if let Some(v) = m.get(&k) {
            build_table(table, Some(&k), v, indent_level + 1)?;
        }
    }
    Ok(())
}

fn sub_table_from_list(
    table: &mut MultiTable,
    items: &[Value],
    indent_level: usize,
    title: Option<&str>,
) -> Result<(), OutputError> {
    let mut headers = BTreeSet::new();
    let mut more = BTreeSet::new();
    let mut dicts = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(m) = item else {
            return Err(table_error(format!(
                "a list mixes objects with a {} (the AWS CLI fails the same way)",
                super::text::type_word(item)
            )));
        };
        let (h, r) = group_scalar_keys(m);
        headers.extend(h);
        more.extend(r);
        dicts.push(m);
    }
    let headers: Vec<String> = headers.into_iter().collect();
    let more: Vec<String> = more.into_iter().collect();
    table.current()?.add_header(headers.clone())?;
    for (i, m) in dicts.into_iter().enumerate() {
        if i > 0 && !more.is_empty() {
            table.new_section(title, indent_level);
            table.current()?.add_header(headers.clone())?;
        }
        let row = headers
            .iter()
            .map(|h| m.get(h).map(py_str).unwrap_or_default())
            .collect();
        table.current()?.add_row(row)?;
        for k in &more {
            if let Some(v) = m.get(k) {
                build_table(table, Some(k), v, indent_level + 1)?;
            }
        }
    }
    Ok(())
}
