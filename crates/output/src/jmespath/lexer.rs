//! Tokenizer: a port of `jmespath/lexer.py` (the pinned Python implementation), including its
//! quirks (raw strings keep backslashes except before `'`; invalid JSON in a backtick literal is
//! read as a string, JEP-12's deprecated form). Positions are in characters, as Python counts.

use serde_json::Value;

use super::error::{QueryError, SyntaxKind};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Dot,
    Star,
    RBracket,
    Comma,
    Colon,
    Current,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Flatten,
    Filter,
    LBracket,
    Pipe,
    Or,
    And,
    Expref,
    Not,
    Ne,
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
    UnquotedIdentifier(String),
    QuotedIdentifier(String),
    Literal(Value),
    Number(i128),
    Eof,
}

impl Tok {
    /// Python's token type name (used in error messages, upper-cased as Python prints it).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Tok::Dot => "dot",
            Tok::Star => "star",
            Tok::RBracket => "rbracket",
            Tok::Comma => "comma",
            Tok::Colon => "colon",
            Tok::Current => "current",
            Tok::LParen => "lparen",
            Tok::RParen => "rparen",
            Tok::LBrace => "lbrace",
            Tok::RBrace => "rbrace",
            Tok::Flatten => "flatten",
            Tok::Filter => "filter",
            Tok::LBracket => "lbracket",
            Tok::Pipe => "pipe",
            Tok::Or => "or",
            Tok::And => "and",
            Tok::Expref => "expref",
            Tok::Not => "not",
            Tok::Ne => "ne",
            Tok::Eq => "eq",
            Tok::Lt => "lt",
            Tok::Lte => "lte",
            Tok::Gt => "gt",
            Tok::Gte => "gte",
            Tok::UnquotedIdentifier(_) => "unquoted_identifier",
            Tok::QuotedIdentifier(_) => "quoted_identifier",
            Tok::Literal(_) => "literal",
            Tok::Number(_) => "number",
            Tok::Eof => "eof",
        }
    }

    /// Binding power, as in `Parser.BINDING_POWER`.
    pub(crate) fn binding_power(&self) -> u8 {
        match self {
            Tok::Pipe => 1,
            Tok::Or => 2,
            Tok::And => 3,
            Tok::Eq | Tok::Gt | Tok::Lt | Tok::Gte | Tok::Lte | Tok::Ne => 5,
            Tok::Flatten => 9,
            Tok::Star => 20,
            Tok::Filter => 21,
            Tok::Dot => 40,
            Tok::Not => 45,
            Tok::LBrace => 50,
            Tok::LBracket => 55,
            Tok::LParen => 60,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Character offset of the token's first character.
    pub start: usize,
    /// The source text of the token (for messages).
    pub text: String,
}

pub(crate) fn tokenize(expression: &str) -> Result<Vec<Token>, QueryError> {
    if expression.is_empty() {
        return Err(QueryError::syntax(
            SyntaxKind::Empty,
            expression,
            0,
            "the expression is empty".to_string(),
        ));
    }
    let chars: Vec<char> = expression.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        pos: 0,
        expression,
    };
    let mut out = Vec::new();
    while let Some(c) = lx.current() {
        let start = lx.pos;
        let simple = match c {
            '.' => Some(Tok::Dot),
            '*' => Some(Tok::Star),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '@' => Some(Tok::Current),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            _ => None,
        };
        if let Some(tok) = simple {
            lx.pos += 1;
            out.push(Token {
                tok,
                start,
                text: c.to_string(),
            });
            continue;
        }
        match c {
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut buf = String::new();
                while let Some(c) = lx.current() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        buf.push(c);
                        lx.pos += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token {
                    tok: Tok::UnquotedIdentifier(buf.clone()),
                    start,
                    text: buf,
                });
            }
            ' ' | '\t' | '\n' | '\r' => lx.pos += 1,
            '[' => {
                lx.pos += 1;
                let (tok, text) = match lx.current() {
                    Some(']') => {
                        lx.pos += 1;
                        (Tok::Flatten, "[]")
                    }
                    Some('?') => {
                        lx.pos += 1;
                        (Tok::Filter, "[?")
                    }
                    _ => (Tok::LBracket, "["),
                };
                out.push(Token {
                    tok,
                    start,
                    text: text.to_string(),
                });
            }
            '\'' => {
                let raw = lx.consume_until('\'')?.replace("\\'", "'");
                out.push(Token {
                    tok: Tok::Literal(Value::String(raw)),
                    start,
                    text: lx.text_from(start),
                });
            }
            '|' => out.push(lx.match_or_else('|', Tok::Or, Tok::Pipe)),
            '&' => out.push(lx.match_or_else('&', Tok::And, Tok::Expref)),
            '`' => {
                let lexeme = lx.consume_until('`')?.replace("\\`", "`");
                let value = parse_literal(&lexeme).ok_or_else(|| {
                    QueryError::syntax(
                        SyntaxKind::Lexer,
                        expression,
                        start,
                        format!("bad JSON literal {}", lx.text_from(start)),
                    )
                })?;
                out.push(Token {
                    tok: Tok::Literal(value),
                    start,
                    text: lx.text_from(start),
                });
            }
            '0'..='9' | '-' => {
                let mut buf = String::from(c);
                lx.pos += 1;
                while let Some(d) = lx.current().filter(char::is_ascii_digit) {
                    buf.push(d);
                    lx.pos += 1;
                }
                if buf == "-" {
                    return Err(QueryError::syntax(
                        SyntaxKind::Lexer,
                        expression,
                        start,
                        "unknown token '-' (a '-' must start a number)".to_string(),
                    ));
                }
                out.push(Token {
                    tok: Tok::Number(parse_int_saturating(&buf)),
                    start,
                    text: buf,
                });
            }
            '"' => {
                let body = lx.consume_until('"')?;
                let lexeme = format!("\"{body}\"");
                match serde_json::from_str::<String>(&lexeme) {
                    Ok(name) => out.push(Token {
                        tok: Tok::QuotedIdentifier(name),
                        start,
                        text: lexeme,
                    }),
                    Err(e) => {
                        return Err(QueryError::syntax(
                            SyntaxKind::Lexer,
                            expression,
                            start,
                            format!("invalid quoted identifier {lexeme}: {e}"),
                        ));
                    }
                }
            }
            '<' => out.push(lx.match_or_else('=', Tok::Lte, Tok::Lt)),
            '>' => out.push(lx.match_or_else('=', Tok::Gte, Tok::Gt)),
            '!' => out.push(lx.match_or_else('=', Tok::Ne, Tok::Not)),
            '=' => {
                lx.pos += 1;
                if lx.current() == Some('=') {
                    lx.pos += 1;
                    out.push(Token {
                        tok: Tok::Eq,
                        start,
                        text: "==".to_string(),
                    });
                } else {
                    return Err(QueryError::syntax(
                        SyntaxKind::Lexer,
                        expression,
                        start,
                        "unknown token '=' (use '==' to compare)".to_string(),
                    ));
                }
            }
            other => {
                return Err(QueryError::syntax(
                    SyntaxKind::Lexer,
                    expression,
                    start,
                    format!("unknown token {other:?}"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        start: chars.len(),
        text: String::new(),
    });
    Ok(out)
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    expression: &'a str,
}

impl Lexer<'_> {
    fn current(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn text_from(&self, start: usize) -> String {
        self.chars[start.min(self.chars.len())..self.pos.min(self.chars.len())]
            .iter()
            .collect()
    }

    /// `_consume_until`: from the opening delimiter to the closing one, keeping a backslash and
    /// the character after it verbatim. Returns the text between the delimiters.
    fn consume_until(&mut self, delimiter: char) -> Result<String, QueryError> {
        let start = self.pos;
        let mut buf = String::new();
        self.pos += 1;
        loop {
            let Some(mut c) = self.current() else {
                return Err(self.unclosed(start, delimiter));
            };
            if c == delimiter {
                break;
            }
            if c == '\\' {
                buf.push('\\');
                self.pos += 1;
                match self.current() {
                    Some(n) => c = n,
                    None => return Err(self.unclosed(start, delimiter)),
                }
            }
            buf.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        Ok(buf)
    }

    fn unclosed(&self, start: usize, delimiter: char) -> QueryError {
        QueryError::syntax(
            SyntaxKind::Lexer,
            self.expression,
            start,
            format!("unclosed {delimiter} delimiter"),
        )
    }

    fn match_or_else(&mut self, expected: char, matched: Tok, other: Tok) -> Token {
        let start = self.pos;
        let first = self.current().unwrap_or(' ');
        self.pos += 1;
        if self.current() == Some(expected) {
            self.pos += 1;
            Token {
                tok: matched,
                start,
                text: format!("{first}{expected}"),
            }
        } else {
            Token {
                tok: other,
                start,
                text: first.to_string(),
            }
        }
    }
}

/// A backtick literal: JSON, or (deprecated, JEP-12) the left-stripped text as a JSON string.
fn parse_literal(lexeme: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(&int_negative_zero(lexeme)) {
        return Some(v);
    }
    let stripped = lexeme.trim_start_matches(py_isspace);
    serde_json::from_str::<String>(&format!("\"{stripped}\""))
        .ok()
        .map(Value::String)
}

/// serde_json reads the integer `-0` as the float `-0.0`; Python's `json` reads it as `0`.
fn int_negative_zero(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.contains("-0") {
        return json.into();
    }
    let chars: Vec<char> = json.chars().collect();
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '-'
            && chars.get(i + 1) == Some(&'0')
            && !chars
                .get(i + 2)
                .is_some_and(|n| n.is_ascii_digit() || matches!(n, '.' | 'e' | 'E'))
        {
            // Skip the sign: `-0` becomes `0`.
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out.into()
}

/// Python's `str.isspace` (what `str.lstrip()` strips).
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python ints are unbounded; indices beyond any list behave the same once saturated.
fn parse_int_saturating(s: &str) -> i128 {
    const LIMIT: i128 = 1 << 100;
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let mut n: i128 = 0;
    for d in digits.bytes() {
        n = (n * 10 + i128::from(d - b'0')).min(LIMIT);
    }
    if neg { -n } else { n }
}
