//! The recursive-descent parser. It walks the input once, left to right; the only look-ahead is
//! the csv-list rule (is the text after a `,` another list item or the next `key=`?), which
//! rewinds at most one item, so parsing stays linear. Nesting is bounded by [`MAX_DEPTH`].
//!
//! Character classes follow awscli's `ShorthandParser` regular expressions:
//!
//! | where                         | may start with                  | may continue with              |
//! |-------------------------------|---------------------------------|--------------------------------|
//! | key                           | `A-Za-z0-9-_.#/:`               | same                           |
//! | first / only value, element   | not space, `" ' , = [ {`        | not `" ' , ] }` (spaces ok)    |
//! | later csv item (`a,THIS`)     | not space, `" ' , = [ {`        | not `" ' , =` (spaces ok)      |
//!
//! Control characters other than whitespace end a value. `\,` is an escaped comma anywhere in a
//! plain value.

use indexmap::IndexMap;

use crate::{MAX_DEPTH, Scalar, ShorthandError, Value};

const JSON_HINT: &str =
    "if the value is hard to express in shorthand, pass the whole parameter as JSON instead";

pub(crate) struct Parser<'a> {
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
}

/// What a key was assigned with: `=` (literal) or `@=` (file loading requested).
#[derive(Clone, Copy)]
struct Assign {
    literal: bool,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Parser {
            input,
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    /// `keyval *("," keyval)`, the whole input.
    pub(crate) fn parameter(mut self) -> Result<IndexMap<String, Value>, ShorthandError> {
        let mut params = IndexMap::new();
        loop {
            let key_pos = self.pos;
            let (key, assign) = self.key_and_assign("")?;
            let value = self.top_value(assign)?;
            if params.contains_key(&key) {
                return Err(self.duplicate(&key, key_pos));
            }
            params.insert(key.clone(), value);
            if self.at_end() {
                return Ok(params);
            }
            // awscli rejects whitespace after a closing ']' or '}' at the very end; so do we.
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(self.unexpected(
                        "another Key=Value after the whitespace",
                        "remove the trailing whitespace",
                    ));
                }
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(_) => {
                    return Err(self.unexpected(
                        &format!("',' or the end of the input after the value of {key:?}"),
                        "if the value itself contains this character, quote the whole value \
                         (Key=\"=x\" or Key='a]b'); otherwise put ',' between Key=Value pairs",
                    ));
                }
            }
        }
    }

    /// `key ("=" / "@=")`, leaving the position after the `=` and any whitespace.
    /// `within` names the enclosing map for messages ("" at the top level).
    fn key_and_assign(&mut self, within: &str) -> Result<(String, Assign), ShorthandError> {
        let start = self.pos;
        while self.peek().is_some_and(is_key_char) {
            self.pos += 1;
        }
        let key: String = self.chars[start..self.pos].iter().collect();
        self.skip_ws();
        let literal = if self.peek() == Some('@') {
            self.pos += 1;
            self.skip_ws();
            false
        } else {
            true
        };
        if self.peek() != Some('=') {
            let hint = if key.is_empty() {
                "keys may contain only letters, digits and - _ . # / :; write each entry as \
                 Key=Value, separated by ','"
            } else if !within.is_empty() {
                "inside {...} every entry is Key=Value and a value cannot be a bare a,b list: \
                 write Key=[a,b], or quote a value containing ','"
            } else {
                "write each entry as Key=Value, separated by ','; a bare word is not a valid entry"
            };
            let expected = if key.is_empty() {
                format!("a key followed by '='{within}")
            } else {
                format!("'=' after the key {key:?}{within}")
            };
            return Err(self.unexpected(&expected, hint));
        }
        self.pos += 1;
        self.skip_ws();
        Ok((key, Assign { literal }))
    }

    /// The value of a top-level key: a list, a map, or a csv value (one scalar, or several
    /// separated by `,`, which make a list).
    fn top_value(&mut self, assign: Assign) -> Result<Value, ShorthandError> {
        match self.peek() {
            None => Ok(self.scalar(String::new(), assign, false)),
            Some('[') => self.list(assign, 1),
            Some('{') => self.map(1),
            Some(_) => self.csv(assign),
        }
    }

    /// `a` → scalar, `a,b,c` → list. After each `,` look at what follows: if it is not a list
    /// item followed by `,` or the end, it is the next `key=value`, so rewind to that `,`.
    fn csv(&mut self, assign: Assign) -> Result<Value, ShorthandError> {
        let first = self.first_value(assign)?;
        self.skip_ws();
        if self.peek() != Some(',') {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            let comma = self.pos;
            self.pos += 1;
            self.skip_ws();
            let Some(item) = self.later_csv_item(assign)? else {
                match self.peek() {
                    None => {
                        return Err(self.unexpected(
                            "a value after ','",
                            "remove the trailing ',', or write a literal comma as \\, or inside quotes",
                        ));
                    }
                    // `a=b,,c=d`: awscli rewinds only to the second ',', so the first is skipped.
                    Some(',') => {}
                    Some(_) => self.pos = comma,
                }
                break;
            };
            self.skip_ws();
            match self.peek() {
                None => {
                    items.push(item);
                    break;
                }
                Some(',') => items.push(item),
                Some(_) => {
                    self.pos = comma;
                    break;
                }
            }
        }
        if items.len() == 1 {
            Ok(items.remove(0))
        } else {
            Ok(Value::List(items))
        }
    }

    /// An item after a csv `,`: a quoted string or a non-empty plain value that stops at `=`.
    /// `None` when nothing can start here.
    fn later_csv_item(&mut self, assign: Assign) -> Result<Option<Value>, ShorthandError> {
        match self.peek() {
            Some('\'' | '"') => self.quoted(assign).map(Some),
            Some(c) if is_value_start(c) || self.at_escaped_comma() => {
                Ok(Some(self.plain(assign, is_later_csv_char)))
            }
            _ => Ok(None),
        }
    }

    /// The first (or only) value of a key, or a list element: quoted, or plain (possibly empty).
    fn first_value(&mut self, assign: Assign) -> Result<Value, ShorthandError> {
        match self.peek() {
            Some('\'' | '"') => self.quoted(assign),
            Some(c) if is_value_start(c) || self.at_escaped_comma() => {
                Ok(self.plain(assign, is_first_value_char))
            }
            _ => Ok(self.scalar(String::new(), assign, false)),
        }
    }

    /// An element of a list or a value in a map.
    fn element(&mut self, assign: Assign, depth: usize) -> Result<Value, ShorthandError> {
        match self.peek() {
            Some('[') => self.list(assign, depth + 1),
            Some('{') => self.map(depth + 1),
            _ => self.first_value(assign),
        }
    }

    /// `[a, b, {..}, [..]]`. Empty elements and a trailing `,` are allowed (`[,,]` is two
    /// empty strings), as in awscli.
    fn list(&mut self, assign: Assign, depth: usize) -> Result<Value, ShorthandError> {
        self.check_depth(depth)?;
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(']') {
                self.pos += 1;
                return Ok(Value::List(items));
            }
            if self.at_end() {
                return Err(self.unclosed('[', ']', open));
            }
            items.push(self.element(assign, depth)?);
            self.skip_ws();
            match self.peek() {
                Some(']') => {}
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                None => return Err(self.unclosed('[', ']', open)),
                Some(_) => {
                    return Err(self.unexpected(
                        "',' or ']' after a list element",
                        "quote elements that contain quotes or brackets ('a]b')",
                    ));
                }
            }
        }
    }

    /// `{Key=value, Other@=[..], Nested={..}}`. Each entry has its own `=` / `@=`.
    fn map(&mut self, depth: usize) -> Result<Value, ShorthandError> {
        self.check_depth(depth)?;
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let mut map = IndexMap::new();
        loop {
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Value::Map(map));
            }
            if self.at_end() {
                return Err(self.unclosed('{', '}', open));
            }
            let key_pos = self.pos;
            let (key, assign) = self.key_and_assign(" inside {...}")?;
            let value = self.element(assign, depth)?;
            if map.contains_key(&key) {
                return Err(self.duplicate(&key, key_pos));
            }
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some('}') => {}
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                None => return Err(self.unclosed('{', '}', open)),
                Some(_) => {
                    return Err(self.unexpected(
                        "',' or '}' after a value inside {...}",
                        "quote values that contain quotes, braces or brackets (Key='a}b')",
                    ));
                }
            }
        }
    }

    /// A plain value: runs while `continues` holds (or at `\,`), then `\,` → `,` and the end is
    /// trimmed. The caller has checked that a value can start here.
    fn plain(&mut self, assign: Assign, continues: fn(char) -> bool) -> Value {
        let mut text = String::new();
        let mut first = true;
        while let Some(c) = self.peek() {
            if self.at_escaped_comma() {
                text.push(',');
                self.pos += 2;
            } else if first || continues(c) {
                text.push(c);
                self.pos += 1;
            } else {
                break;
            }
            first = false;
        }
        text.truncate(text.trim_end().len());
        self.scalar(text, assign, false)
    }

    /// `'...'` or `"..."`. Inside, `\q` (q the quote) is the quote and `\\` a backslash; any
    /// other backslash stays. As in awscli's regular expression, if no unescaped closing quote
    /// follows, the last `\q` is read as a backslash followed by the closing quote.
    fn quoted(&mut self, assign: Assign) -> Result<Value, ShorthandError> {
        let open = self.pos;
        let Some(q) = self.peek() else {
            return Err(self.unexpected("a quote", JSON_HINT));
        };
        let mut i = open + 1;
        let mut last_escaped_quote = None;
        let close = loop {
            match self.chars.get(i) {
                None => match last_escaped_quote {
                    Some(backslash) => break backslash + 1,
                    None => {
                        return Err(ShorthandError {
                            message: format!(
                                "expected a closing {q} for the quote opened at character {open}, \
                                 found the end of the input. Hint: escape a quote inside a quoted \
                                 value as \\{q}, or use the other kind of quote; {JSON_HINT}"
                            ),
                            position: open,
                            input: self.input.to_owned(),
                        });
                    }
                },
                Some('\\') if self.chars.get(i + 1) == Some(&q) => {
                    last_escaped_quote = Some(i);
                    i += 2;
                }
                Some(&c) if c == q => break i,
                Some(_) => i += 1,
            }
        };
        let raw: String = self.chars[open + 1..close].iter().collect();
        // Two passes, in awscli's order, so odd runs of backslashes come out the same.
        let text = raw
            .replace(&format!("\\{q}"), &q.to_string())
            .replace("\\\\", "\\");
        self.pos = close + 1;
        Ok(self.scalar(text, assign, true))
    }

    fn scalar(&self, text: String, assign: Assign, quoted: bool) -> Value {
        Value::Scalar(Scalar {
            text,
            literal: assign.literal,
            quoted,
        })
    }

    fn check_depth(&self, depth: usize) -> Result<(), ShorthandError> {
        if depth > MAX_DEPTH {
            return Err(ShorthandError {
                message: format!(
                    "nesting deeper than {MAX_DEPTH} levels of [ and {{. Hint: AWS parameters are \
                     never this deep; check the brackets, or pass the parameter as JSON"
                ),
                position: self.pos,
                input: self.input.to_owned(),
            });
        }
        Ok(())
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn at_escaped_comma(&self) -> bool {
        self.peek() == Some('\\') && self.chars.get(self.pos + 1) == Some(&',')
    }

    /// Skips the whitespace awscli skips between tokens (ASCII space, tab, newlines, VT, FF).
    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'))
        {
            self.pos += 1;
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the input".to_owned(),
            Some(c) => format!("{c:?}"),
        }
    }

    fn unexpected(&self, expected: &str, hint: &str) -> ShorthandError {
        ShorthandError {
            message: format!(
                "expected {expected}, found {}. Hint: {hint}; {JSON_HINT}",
                self.found()
            ),
            position: self.pos,
            input: self.input.to_owned(),
        }
    }

    fn unclosed(&self, open: char, close: char, open_pos: usize) -> ShorthandError {
        ShorthandError {
            message: format!(
                "expected {close:?} to close the {open:?} at character {open_pos}, found {}. \
                 Hint: separate elements with ',' and close every {open} with {close}; quote \
                 values that contain brackets or quotes; {JSON_HINT}",
                self.found()
            ),
            position: self.pos,
            input: self.input.to_owned(),
        }
    }

    fn duplicate(&self, key: &str, key_pos: usize) -> ShorthandError {
        ShorthandError {
            message: format!(
                "the key {key:?} appears twice. Hint: this is often a ',' typed where a space was \
                 meant (quote the value: Key=\"a, b\"), or an entry repeated by mistake; {JSON_HINT}"
            ),
            position: key_pos,
            input: self.input.to_owned(),
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#' | '/' | ':')
}

/// Not whitespace or an ASCII control, and not a character that means structure here.
fn is_value_start(c: char) -> bool {
    c > ' ' && !matches!(c, '"' | '\'' | ',' | '=' | '[' | '{')
}

/// First/only values and elements may contain spaces, `=`, `[` and `{`, but end at `]` and `}`.
fn is_first_value_char(c: char) -> bool {
    c.is_whitespace() || (c > ' ' && !matches!(c, '"' | '\'' | ',' | ']' | '}'))
}

/// Later csv items may contain brackets and braces, but end at `=` (which means "next key").
fn is_later_csv_char(c: char) -> bool {
    c.is_whitespace() || (c > ' ' && !matches!(c, '"' | '\'' | ',' | '='))
}
