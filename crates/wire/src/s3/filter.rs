//! `--exclude` / `--include` of `aws s3 cp|mv|sync`, matched as the AWS CLI matches them
//! (`awscli/customizations/s3/filters.py`).
//!
//! Each pattern is joined (`os.path.join`) to the root of the source and to the root of the
//! destination, and both are matched with Python's `fnmatch` against the full path of each file:
//! `/abs/dir/rel` for a local file, `bucket/key` for an object. Every file starts included; each
//! pattern that matches sets it (exclude or include), so the last match wins.
//!
//! The absolute path of a relative local directory is not known here; a fixed root stands for
//! the working directory. That changes nothing for relative patterns (the root is a literal
//! prefix of both the path and the pattern), and the parser refuses absolute patterns with a
//! relative local path.

use portcullis_cli::S3Path;
use portcullis_cli::s3cmd::PathFilter;

/// Stands for the working directory in the absolute path of a relative local path: no pattern
/// can name it (a NUL never reaches a pattern).
const CWD: &str = "/\u{0}";

/// The filters of one command, with the roots its patterns are joined to.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    /// (include, the pattern joined to the source root, joined to the destination root).
    rules: Vec<(bool, Vec<Tok>, Vec<Tok>)>,
}

impl Filter {
    /// The filter of a transfer from `src` to `dst`; `dir_op` is `--recursive` (always for sync).
    pub(crate) fn new(filters: &[PathFilter], src: &S3Path, dst: &S3Path, dir_op: bool) -> Filter {
        if filters.is_empty() {
            return Filter::default();
        }
        let (src_root, dst_root) = (root(src, dir_op), root(dst, dir_op));
        let rules = filters
            .iter()
            .map(|f| {
                let (include, pattern) = match f {
                    PathFilter::Include(p) => (true, p),
                    PathFilter::Exclude(p) => (false, p),
                };
                (
                    include,
                    compile(&path_join(&src_root, pattern)),
                    compile(&path_join(&dst_root, pattern)),
                )
            })
            .collect();
        Filter { rules }
    }

    /// Whether the file at `full_path` (see [`local_file`], [`s3_file`]) is transferred.
    pub(crate) fn includes(&self, full_path: &str) -> bool {
        let text: Vec<char> = full_path.chars().collect();
        let mut included = true;
        for (include, src, dst) in &self.rules {
            for pattern in [src, dst] {
                if matches(pattern, &text) {
                    included = *include;
                }
            }
        }
        included
    }
}

/// The path the CLI filters a local file by: `dir` (as given) made absolute, then `/rel`; a
/// single file (`rel` empty) is its own absolute path.
pub(crate) fn local_file(dir: &str, rel: &str) -> String {
    if rel.is_empty() {
        abspath(dir)
    } else {
        format!("{}/{rel}", abspath(dir))
    }
}

/// The path the CLI filters an object by: `bucket/key`.
pub(crate) fn s3_file(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// `_get_local_root` / `_get_s3_root`.
fn root(path: &S3Path, dir_op: bool) -> String {
    match path {
        S3Path::Local { path } => {
            let abs = abspath(path);
            if dir_op {
                abs
            } else {
                dirname(&abs).to_string()
            }
        }
        S3Path::S3 { bucket, key } => {
            let key = if !dir_op && !key.ends_with('/') {
                key.rsplit_once('/').map_or("", |(d, _)| d)
            } else {
                key.as_str()
            };
            format!("{bucket}/{key}")
        }
    }
}

/// `os.path.abspath`, with [`CWD`] for the working directory.
fn abspath(path: &str) -> String {
    if path.starts_with('/') {
        normpath(path)
    } else {
        normpath(&format!("{CWD}/{path}"))
    }
}

/// `posixpath.dirname`.
fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => {
            let head = &path[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() { head } else { trimmed }
        }
        None => "",
    }
}

/// `posixpath.normpath`.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." if (slashes == 0 && parts.is_empty()) || parts.last() == Some(&"..") => {
                parts.push(c)
            }
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = format!("{}{}", "/".repeat(slashes), parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// `posixpath.join(a, b)`.
fn path_join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// One element of a compiled `fnmatch` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// `*`: any run of characters, `/` included.
    Star,
    /// `?`: any one character.
    Any,
    Lit(char),
    /// `[...]` / `[!...]`: inclusive ranges (a single character is a range of one).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Python 3.11's `fnmatch.translate`, as tokens.
fn compile(pattern: &str) -> Vec<Tok> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' => {
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star);
                }
            }
            '?' => out.push(Tok::Any),
            '[' => {
                let mut j = i;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    out.push(Tok::Lit('['));
                    continue;
                }
                let body = &p[i..j];
                i = j + 1;
                let (negated, body) = match body.split_first() {
                    Some(('!', rest)) => (true, rest),
                    _ => (false, body),
                };
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    // A `-` between two characters makes a range, except right at the start.
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        let (lo, hi) = (body[k], body[k + 2]);
                        if lo <= hi {
                            ranges.push((lo, hi));
                        }
                        k += 3;
                    } else {
                        ranges.push((body[k], body[k]));
                        k += 1;
                    }
                }
                out.push(Tok::Class { negated, ranges });
            }
            other => out.push(Tok::Lit(other)),
        }
    }
    out
}

fn single(t: &Tok, c: char) -> bool {
    match t {
        Tok::Any => true,
        Tok::Lit(l) => *l == c,
        Tok::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Tok::Star => false,
    }
}

/// Whether `text` matches the whole pattern (linear backtracking over the last `*`).
fn matches(pattern: &[Tok], text: &[char]) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, s));
                p += 1;
            }
            Some(t) if single(t, text[s]) => {
                p += 1;
                s += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    p = sp + 1;
                    s = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnmatch(name: &str, pattern: &str) -> bool {
        matches(&compile(pattern), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn fnmatch_like_python() {
        // Expected values from Python 3.11's fnmatch.fnmatchcase.
        let cases: &[(&str, &str, bool)] = &[
            ("a/b/c.txt", "*.txt", true),
            ("a/b/c.txt", "a/*", true),
            ("a/b/c.txt", "*/c.txt", true),
            ("c.txt", "*/c.txt", false),
            ("c.txt", "c.tx?", true),
            ("c.txt", "c.t?", false),
            ("abc", "a[bx]c", true),
            ("abc", "a[!b]c", false),
            ("a-c", "a[!b]c", true),
            ("abc", "a[a-c]c", true),
            ("adc", "a[a-c]c", false),
            ("a-c", "a[-x]c", true),
            ("a-c", "a[x-]c", true),
            ("a]c", "a[]]c", true),
            ("abc", "a[]]c", false),
            ("a[c", "a[c", true),
            ("abc", "a[c-a]c", false),
            ("abc", "a[!c-a]c", true),
            ("a\\c", "a[\\]c", true),
            ("", "*", true),
            ("", "", true),
            ("x", "", false),
            ("aaa", "a*a*a", true),
            ("aa", "a*a*a", false),
            ("logs/2024/x.log", "logs/*/x.log", true),
            ("Big.TXT", "*.txt", false),
            ("a\nb", "a*b", true),
        ];
        for (name, pattern, want) in cases {
            assert_eq!(
                fnmatch(name, pattern),
                *want,
                "fnmatch({name:?}, {pattern:?})"
            );
        }
    }

    #[test]
    fn paths_like_posixpath() {
        assert_eq!(normpath("/a/./b/../c/"), "/a/c");
        assert_eq!(normpath("a/../../b"), "../b");
        assert_eq!(normpath("//a"), "//a");
        assert_eq!(normpath("///a"), "/a");
        assert_eq!(normpath("/.."), "/");
        assert_eq!(path_join("bkt/pre", "*.txt"), "bkt/pre/*.txt");
        assert_eq!(path_join("bkt/", "*.txt"), "bkt/*.txt");
        assert_eq!(path_join("bkt/", "/abs"), "/abs");
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("a"), "");
    }

    fn local(p: &str) -> S3Path {
        S3Path::Local { path: p.into() }
    }

    fn s3(b: &str, k: &str) -> S3Path {
        S3Path::S3 {
            bucket: b.into(),
            key: k.into(),
        }
    }

    #[test]
    fn filters_like_the_cli() {
        let ex = |p: &str| PathFilter::Exclude(p.into());
        let inc = |p: &str| PathFilter::Include(p.into());
        // Relative to the source directory; the last match wins.
        let f = Filter::new(
            &[ex("*"), inc("*.json")],
            &local("./d/"),
            &s3("bkt", ""),
            true,
        );
        assert!(f.includes(&local_file("./d/", "sub/c.json")));
        assert!(!f.includes(&local_file("./d/", "a.txt")));
        // The destination's files (for --delete) are filtered by the same patterns, joined to
        // the destination root.
        assert!(f.includes(&s3_file("bkt", "x.json")) && !f.includes(&s3_file("bkt", "x.txt")));
        let f = Filter::new(&[ex("sub/*")], &s3("bkt", "pre"), &local("dl"), true);
        assert!(
            !f.includes(&s3_file("bkt", "pre/sub/b.txt"))
                && f.includes(&s3_file("bkt", "pre/a.txt"))
        );
        assert!(
            !f.includes(&local_file("dl", "sub/b.txt")) && f.includes(&local_file("dl", "a.txt"))
        );
        // A pattern joined to the destination root can match a source object (an AWS CLI quirk).
        let f = Filter::new(&[ex("b/*")], &s3("bkt", "a/b"), &s3("bkt", "a"), true);
        assert!(!f.includes(&s3_file("bkt", "a/b/x.txt")));
        // A single file: the root is its directory.
        let f = Filter::new(
            &[ex("*.txt")],
            &local("d/a.txt"),
            &s3("bkt", "a.txt"),
            false,
        );
        assert!(!f.includes(&local_file("d/a.txt", "")));
        let f = Filter::new(
            &[ex("a.txt")],
            &s3("bkt", "x/a.txt"),
            &local("out.txt"),
            false,
        );
        assert!(!f.includes(&s3_file("bkt", "x/a.txt")));
        assert!(Filter::new(&[], &local("d"), &s3("b", ""), true).includes("anything"));
    }
}
