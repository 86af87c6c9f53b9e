//! The small regular-expression dialect of `partitions.json`'s `regionRegex` (`^(us|eu)\-\w+\-\d+$`), matched
//! the way Python's `re.match` does. Enough of the syntax for such patterns: literals, escapes, `.`, `\w` `\d`
//! `\s` (and negations), `[...]` classes, groups with `|`, `?:`, and the quantifiers `? * + {m} {m,} {m,n}`.
//! Anything else is refused when the partitions load, so a pattern is never half understood.

#[derive(Debug, Clone)]
enum Node {
    Start,
    End,
    Atom(Atom),
    Group(Vec<Vec<Node>>),
    Repeat(Box<Node>, usize, usize),
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Word(bool),
    Digit(bool),
    Space(bool),
    Set { negated: bool, items: Vec<SetItem> },
}

#[derive(Debug, Clone)]
enum SetItem {
    Range(char, char),
    Class(Atom),
}

/// Inputs longer than this never match (real regions are ~20 characters); it bounds the backtracking.
const MAX_INPUT: usize = 256;
const MAX_REPEAT: usize = 1000;

/// A compiled `regionRegex`.
#[derive(Debug, Clone)]
pub(crate) struct RegionPattern {
    source: String,
    nodes: Vec<Node>,
}

impl RegionPattern {
    pub(crate) fn new(source: &str) -> Result<Self, String> {
        let chars: Vec<char> = source.chars().collect();
        let mut parser = Parser {
            chars: &chars,
            pos: 0,
            depth: 0,
        };
        let alternatives = parser.alternatives()?;
        if parser.pos != chars.len() {
            return Err(format!("unbalanced `)` in {source:?}"));
        }
        let nodes = if alternatives.len() == 1 {
            alternatives.into_iter().next().unwrap_or_default()
        } else {
            vec![Node::Group(alternatives)]
        };
        Ok(Self {
            source: source.to_owned(),
            nodes,
        })
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Python's `re.match`: anchored at the start, not at the end unless the pattern says `$`.
    pub(crate) fn is_match(&self, input: &str) -> bool {
        if input.len() > MAX_INPUT {
            return false;
        }
        let chars: Vec<char> = input.chars().collect();
        matches(&self.nodes, &chars, 0, &mut |_| true)
    }
}

fn matches(nodes: &[Node], s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((node, rest)) = nodes.split_first() else {
        return k(pos);
    };
    match node {
        Node::Start => pos == 0 && matches(rest, s, pos, k),
        // Python's `$` also matches before a final newline.
        Node::End => {
            (pos == s.len() || (pos + 1 == s.len() && s[pos] == '\n')) && matches(rest, s, pos, k)
        }
        Node::Atom(atom) => {
            s.get(pos).is_some_and(|&c| atom.matches(c)) && matches(rest, s, pos + 1, k)
        }
        Node::Group(alternatives) => alternatives
            .iter()
            .any(|alt| matches(alt, s, pos, &mut |p| matches(rest, s, p, k))),
        Node::Repeat(inner, min, max) => repeat(inner, *min, *max, 0, rest, s, pos, k),
    }
}

#[allow(clippy::too_many_arguments)]
fn repeat(
    inner: &Node,
    min: usize,
    max: usize,
    count: usize,
    rest: &[Node],
    s: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: one more repetition first (never an empty one, which would loop), then the rest.
    if count < max
        && matches(std::slice::from_ref(inner), s, pos, &mut |p| {
            p != pos && repeat(inner, min, max, count + 1, rest, s, p, k)
        })
    {
        return true;
    }
    count >= min && matches(rest, s, pos, k)
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Self::Char(x) => *x == c,
            Self::Any => c != '\n',
            Self::Word(positive) => (c.is_alphanumeric() || c == '_') == *positive,
            Self::Digit(positive) => {
                (c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())) == *positive
            }
            Self::Space(positive) => c.is_whitespace() == *positive,
            Self::Set { negated, items } => {
                items.iter().any(|item| match item {
                    SetItem::Range(a, b) => (*a..=*b).contains(&c),
                    SetItem::Class(atom) => atom.matches(c),
                }) != *negated
            }
        }
    }
}

struct Parser<'p> {
    chars: &'p [char],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or_else(|| "pattern ends early".to_owned())?;
        self.pos += 1;
        Ok(c)
    }

    fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("pattern nests too deeply".into());
        }
        let mut alternatives = vec![Vec::new()];
        while let Some(c) = self.peek() {
            match c {
                ')' => break,
                '|' => {
                    self.pos += 1;
                    alternatives.push(Vec::new());
                }
                _ => {
                    let node = self.quantified()?;
                    if let Some(current) = alternatives.last_mut() {
                        current.push(node);
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(alternatives)
    }

    fn quantified(&mut self) -> Result<Node, String> {
        let node = self.single()?;
        let (min, max) = match self.peek() {
            Some('?') => (0, 1),
            Some('*') => (0, MAX_REPEAT),
            Some('+') => (1, MAX_REPEAT),
            Some('{') => {
                self.pos += 1;
                let mut text = String::new();
                loop {
                    match self.next()? {
                        '}' => break,
                        c => text.push(c),
                    }
                }
                let number = |t: &str| {
                    t.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad repetition {{{text}}}"))
                };
                let (min, max) = match text.split_once(',') {
                    Some((a, "")) => (number(a)?, MAX_REPEAT),
                    Some((a, b)) => (number(a)?, number(b)?),
                    None => (number(&text)?, number(&text)?),
                };
                if min > max || max > MAX_REPEAT {
                    return Err(format!("bad repetition {{{text}}}"));
                }
                self.pos -= 1; // re-consumed below
                (min, max)
            }
            _ => return Ok(node),
        };
        self.pos += 1;
        if matches!(node, Node::Start | Node::End) {
            return Err("quantified anchor".into());
        }
        if matches!(self.peek(), Some('?' | '+')) {
            return Err("lazy and possessive quantifiers are not supported".into());
        }
        Ok(Node::Repeat(Box::new(node), min, max))
    }

    fn single(&mut self) -> Result<Node, String> {
        Ok(match self.next()? {
            '^' => Node::Start,
            '$' => Node::End,
            '.' => Node::Atom(Atom::Any),
            '(' => {
                if self.peek() == Some('?') {
                    self.pos += 1;
                    if self.next()? != ':' {
                        return Err("only `(?:` groups are supported".into());
                    }
                }
                let alternatives = self.alternatives()?;
                if self.next()? != ')' {
                    return Err("unclosed group".into());
                }
                Node::Group(alternatives)
            }
            '[' => self.set()?,
            '\\' => Node::Atom(self.escape()?),
            c @ ('*' | '+' | '?' | '{' | ')') => return Err(format!("unexpected {c:?}")),
            c => Node::Atom(Atom::Char(c)),
        })
    }

    fn escape(&mut self) -> Result<Atom, String> {
        Ok(match self.next()? {
            'w' => Atom::Word(true),
            'W' => Atom::Word(false),
            'd' => Atom::Digit(true),
            'D' => Atom::Digit(false),
            's' => Atom::Space(true),
            'S' => Atom::Space(false),
            'n' => Atom::Char('\n'),
            't' => Atom::Char('\t'),
            c if c.is_ascii_punctuation() => Atom::Char(c),
            c => return Err(format!("unsupported escape \\{c}")),
        })
    }

    fn set(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let item = if c == '\\' {
                match self.escape()? {
                    Atom::Char(c) => self.range_from(c)?,
                    class => SetItem::Class(class),
                }
            } else {
                self.range_from(c)?
            };
            items.push(item);
        }
        Ok(Node::Atom(Atom::Set { negated, items }))
    }

    fn range_from(&mut self, low: char) -> Result<SetItem, String> {
        if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&c| c != ']') {
            self.pos += 1;
            let mut high = self.next()?;
            if high == '\\' {
                match self.escape()? {
                    Atom::Char(c) => high = c,
                    _ => return Err("bad range".into()),
                }
            }
            if high < low {
                return Err("bad range".into());
            }
            return Ok(SetItem::Range(low, high));
        }
        Ok(SetItem::Range(low, low))
    }
}

#[cfg(test)]
mod tests {
    use super::RegionPattern;

    #[test]
    fn partition_patterns() {
        let aws =
            RegionPattern::new(r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$").expect("compiles");
        assert!(aws.is_match("us-east-1"));
        assert!(aws.is_match("eu-central-10"));
        assert!(!aws.is_match("us-gov-west-1"));
        assert!(!aws.is_match("cn-north-1"));
        assert!(!aws.is_match("us-east-1a"));
        assert!(aws.is_match("us-east-1\n"));
        let eusc = RegionPattern::new(r"^eusc\-(de)\-\w+\-\d+$").expect("compiles");
        assert!(eusc.is_match("eusc-de-east-1"));
        let misc = RegionPattern::new(r"^a[b-d\d]{2,3}(?:x|y)?.$").expect("compiles");
        assert!(misc.is_match("ab1z"));
        assert!(misc.is_match("abcdxz"));
        assert!(!misc.is_match("abz"));
        assert!(RegionPattern::new(r"(a").is_err());
        assert!(RegionPattern::new(r"a)").is_err());
        assert!(RegionPattern::new(r"\p{L}").is_err());
    }
}
