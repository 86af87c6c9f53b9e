//! Wildcard matching as IAM does it: `*` matches any run of characters (none included, `:` and
//! `/` included), `?` matches exactly one character, everything else matches itself.
//!
//! A pattern is a slice of [`Tok`]s rather than a string, so that text substituted from a policy
//! variable (or written as `${*}`, `${?}`) stays literal even when it contains `*` or `?`.
//! Matching never allocates and never recurses: the pattern is cut at its stars into fixed-length
//! segments, the first anchored at the start, the last at the end, the middle ones placed
//! leftmost (which is always optimal for star-separated segments). Worst case O(text × pattern).

/// One token of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// Literal text.
    Lit(&'a str),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Anything that can be viewed as a [`Tok`] (owned pattern pieces, resolved templates).
pub(crate) trait AsTok {
    fn tok(&self) -> Tok<'_>;
}

impl AsTok for Tok<'_> {
    fn tok(&self) -> Tok<'_> {
        *self
    }
}

/// How literal text compares with the request's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Byte for byte (resource ARNs, condition values).
    Sensitive,
    /// ASCII case folded; the pattern's literals must already be lowercase (action names).
    AsciiInsensitive,
}

fn lit_at(lit: &str, text: &[u8], at: usize, case: Case) -> bool {
    let Some(window) = text.get(at..at + lit.len()) else {
        return false;
    };
    match case {
        Case::Sensitive => window == lit.as_bytes(),
        Case::AsciiInsensitive => window
            .iter()
            .zip(lit.as_bytes())
            .all(|(t, p)| t.to_ascii_lowercase() == *p),
    }
}

/// Length in bytes of the UTF-8 character starting with byte `b`.
fn char_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Matches a star-free segment at byte `at`; the end position on success.
fn segment_at<T: AsTok>(seg: &[T], text: &[u8], mut at: usize, case: Case) -> Option<usize> {
    for t in seg {
        match t.tok() {
            Tok::Lit(s) => {
                if !lit_at(s, text, at, case) {
                    return None;
                }
                at += s.len();
            }
            Tok::One => {
                let b = *text.get(at)?;
                at += char_len(b);
                if at > text.len() {
                    return None;
                }
            }
            Tok::Star => return None,
        }
    }
    Some(at)
}

/// The next char boundary after `at` in `text` (a valid UTF-8 string's bytes).
fn next_boundary(text: &[u8], at: usize) -> usize {
    match text.get(at) {
        Some(&b) => at + char_len(b),
        None => at + 1,
    }
}

/// True if `pattern` matches all of `text`.
pub(crate) fn glob<T: AsTok>(pattern: &[T], text: &str, case: Case) -> bool {
    let bytes = text.as_bytes();
    let is_star = |t: &T| matches!(t.tok(), Tok::Star);
    let Some(first) = pattern.iter().position(is_star) else {
        return segment_at(pattern, bytes, 0, case) == Some(bytes.len());
    };
    let last = pattern.iter().rposition(is_star).unwrap_or(first);
    let Some(mut pos) = segment_at(&pattern[..first], bytes, 0, case) else {
        return false;
    };
    // Middle segments, leftmost placement.
    let mut i = first + 1;
    while i < last {
        let j = pattern[i..=last]
            .iter()
            .position(is_star)
            .map_or(last, |k| i + k);
        let seg = &pattern[i..j];
        if !seg.is_empty() {
            let mut start = pos;
            loop {
                if start > bytes.len() {
                    return false;
                }
                if let Some(end) = segment_at(seg, bytes, start, case) {
                    pos = end;
                    break;
                }
                start = next_boundary(bytes, start);
            }
        }
        i = j + 1;
    }
    // Tail anchored at the end.
    let tail = &pattern[last + 1..];
    if tail.is_empty() {
        return true;
    }
    let fixed_len = tail.iter().try_fold(0usize, |n, t| match t.tok() {
        Tok::Lit(s) => Some(n + s.len()),
        _ => None,
    });
    if let Some(n) = fixed_len {
        return bytes.len() >= pos + n && segment_at(tail, bytes, bytes.len() - n, case).is_some();
    }
    let mut start = pos;
    while start <= bytes.len() {
        if segment_at(tail, bytes, start, case) == Some(bytes.len()) {
            return true;
        }
        start = next_boundary(bytes, start);
    }
    false
}

/// Splits a pattern string into tokens: `*` and `?` are wildcards, the rest literal.
pub(crate) fn tokenize(pattern: &str) -> Vec<OwnedTok> {
    let mut out = Vec::new();
    let mut lit_start = 0;
    for (i, c) in pattern.char_indices() {
        if c == '*' || c == '?' {
            if lit_start < i {
                out.push(OwnedTok::Lit(pattern[lit_start..i].into()));
            }
            out.push(if c == '*' {
                OwnedTok::Star
            } else {
                OwnedTok::One
            });
            lit_start = i + 1;
        }
    }
    if lit_start < pattern.len() {
        out.push(OwnedTok::Lit(pattern[lit_start..].into()));
    }
    out
}

/// An owned token, as stored in compiled policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedTok {
    Lit(Box<str>),
    Star,
    One,
}

impl AsTok for OwnedTok {
    fn tok(&self) -> Tok<'_> {
        match self {
            OwnedTok::Lit(s) => Tok::Lit(s),
            OwnedTok::Star => Tok::Star,
            OwnedTok::One => Tok::One,
        }
    }
}

/// A compiled wildcard pattern with fast paths for the common shapes (`*`, exact, `prefix*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*` (or any run of stars): matches everything.
    Any,
    /// No wildcard.
    Exact(Box<str>),
    /// A literal followed by one `*`.
    Prefix(Box<str>),
    /// Anything else.
    Glob(Vec<OwnedTok>),
}

impl Pattern {
    /// Compiles `pattern`; with [`Case::AsciiInsensitive`] its literals are lowercased.
    pub(crate) fn new(pattern: &str, case: Case) -> Pattern {
        let owned;
        let pattern = match case {
            Case::Sensitive => pattern,
            Case::AsciiInsensitive => {
                owned = pattern.to_ascii_lowercase();
                &owned
            }
        };
        let toks = tokenize(pattern);
        match toks.as_slice() {
            [] => Pattern::Exact("".into()),
            [OwnedTok::Lit(s)] => Pattern::Exact(s.clone()),
            all if all.iter().all(|t| *t == OwnedTok::Star) => Pattern::Any,
            [OwnedTok::Lit(s), OwnedTok::Star] => Pattern::Prefix(s.clone()),
            _ => Pattern::Glob(toks),
        }
    }

    /// True if the pattern matches all of `text`.
    pub(crate) fn matches(&self, text: &str, case: Case) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(s) => s.len() == text.len() && lit_at(s, text.as_bytes(), 0, case),
            Pattern::Prefix(s) => lit_at(s, text.as_bytes(), 0, case),
            Pattern::Glob(toks) => glob(toks, text, case),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        let sens = Pattern::new(p, Case::Sensitive).matches(t, Case::Sensitive);
        // The general matcher and the fast paths agree.
        assert_eq!(sens, glob(&tokenize(p), t, Case::Sensitive), "{p} vs {t}");
        sens
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", ""));
        assert!(m("*", "anything:at/all"));
        assert!(m("**", "x"));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc"));
        assert!(!m("a*", "ba"));
        assert!(m("*c", "abc"));
        assert!(!m("*c", "abd"));
        assert!(m("a*c", "ac"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-c-b"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
        assert!(m("?", "é"));
        assert!(!m("??", "é"));
        assert!(m("*?", "é"));
        assert!(m("a*?b", "axb"));
        assert!(!m("a*?b", "ab"));
        assert!(m("*/test/*", "1/2/test/3/object.jpg"));
        assert!(m("*a?a*", "xxaxaxx"));
        assert!(m("*aab", "aaab"));
        assert!(m("*?*?*", "ab"));
        assert!(!m("*?*?*", "a"));
    }

    #[test]
    fn star_spans_separators() {
        assert!(m("arn:aws:s3:::*", "arn:aws:s3:::bucket/key"));
        assert!(m(
            "arn:aws:*",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
        ));
        assert!(m("arn:aws:s3:::*log*", "arn:aws:s3:::carlossalazar-logs"));
    }

    #[test]
    fn case_modes() {
        let p = Pattern::new("IAM:Get*", Case::AsciiInsensitive);
        assert!(p.matches("iam:GetUser", Case::AsciiInsensitive));
        assert!(p.matches("IAM:GETUSER", Case::AsciiInsensitive));
        assert!(!p.matches("iam:ListUsers", Case::AsciiInsensitive));
        let p = Pattern::new("arn:aws:s3:::Bucket", Case::Sensitive);
        assert!(!p.matches("arn:aws:s3:::bucket", Case::Sensitive));
    }

    #[test]
    fn literal_tokens_are_not_wildcards() {
        let pat = [Tok::Lit("a*"), Tok::Star];
        assert!(glob(&pat, "a*bc", Case::Sensitive));
        assert!(!glob(&pat, "abc", Case::Sensitive));
        let pat = [Tok::Lit("?")];
        assert!(glob(&pat, "?", Case::Sensitive));
        assert!(!glob(&pat, "x", Case::Sensitive));
    }

    #[test]
    fn pathological_patterns_finish() {
        let text = "a".repeat(5000);
        let pat = format!("{}b", "*a".repeat(200));
        assert!(!m(&pat, &text));
    }
}
