//! Word splitting with POSIX shell quoting rules, and no shell.
//!
//! Quotes and backslashes group and escape exactly as `sh` would, so a command an agent wrote for a
//! shell splits into the same words. Everything a shell would *interpret* — pipes, redirections,
//! `;`, `&&`, `||`, `&`, subshells, backticks, `$(...)`, `$VAR`, comments, unquoted newlines — is
//! refused with an error saying what it was, never carried out or silently taken literally.
//! Globs (`*`, `?`, `[...]`) are left as they are: no file name is ever expanded.

use crate::error::{Problem, ProblemKind};

/// Splits `input` into words.
pub fn split_words(input: &str) -> Result<Vec<String>, Problem> {
    let chars: Vec<char> = input.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                i += 1;
            }
            '\\' => {
                match chars.get(i + 1) {
                    // Line continuation: both characters vanish.
                    Some('\n') => {}
                    Some(&next) => {
                        cur.push(next);
                        in_word = true;
                    }
                    None => {
                        return Err(shell(
                            i,
                            "a trailing backslash escapes nothing",
                            "remove it",
                        ));
                    }
                }
                i += 2;
            }
            '\'' => {
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        Some('\'') => break,
                        Some(&ch) => {
                            cur.push(ch);
                            i += 1;
                        }
                        None => return Err(unbalanced(start, '\'')),
                    }
                }
                in_word = true;
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        Some('"') => break,
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(&e @ ('$' | '`' | '"' | '\\')) => cur.push(e),
                                Some('\n') => {}
                                Some(&other) => {
                                    cur.push('\\');
                                    cur.push(other);
                                }
                                None => return Err(unbalanced(start, '"')),
                            }
                            i += 2;
                        }
                        Some('`') => {
                            return Err(substitution(i, "a backtick command substitution"));
                        }
                        Some('$') if expands(chars.get(i + 1)) => {
                            return Err(dollar(i, chars.get(i + 1)));
                        }
                        Some(&ch) => {
                            cur.push(ch);
                            i += 1;
                        }
                        None => return Err(unbalanced(start, '"')),
                    }
                }
                in_word = true;
                i += 1;
            }
            '|' => {
                let what = if chars.get(i + 1) == Some(&'|') {
                    "`||` (run on failure)"
                } else {
                    "a pipe `|`"
                };
                return Err(shell(
                    i,
                    &format!("{what} is shell syntax"),
                    "run one aws command; use --query to filter output",
                ));
            }
            '&' => {
                let what = if chars.get(i + 1) == Some(&'&') {
                    "`&&` (command chaining)"
                } else {
                    "`&` (background job)"
                };
                return Err(shell(
                    i,
                    &format!("{what} is shell syntax"),
                    "send each aws command on its own",
                ));
            }
            ';' => {
                return Err(shell(
                    i,
                    "`;` (command separator) is shell syntax",
                    "send each aws command on its own",
                ));
            }
            '\n' | '\r' => {
                return Err(shell(
                    i,
                    "an unquoted line break separates commands in a shell",
                    "send one aws command on a single line",
                ));
            }
            '<' | '>' => {
                return Err(shell(
                    i,
                    "redirection (`<`, `>`) is shell syntax",
                    "use file:// or fileb:// to read a file, and the command's own outfile argument to write one",
                ));
            }
            '(' | ')' => {
                return Err(shell(
                    i,
                    "parentheses (subshells) are shell syntax",
                    "quote the value if the parentheses are data",
                ));
            }
            '`' => return Err(substitution(i, "a backtick command substitution")),
            '$' if expands(chars.get(i + 1)) => return Err(dollar(i, chars.get(i + 1))),
            '#' if !in_word => {
                return Err(shell(
                    i,
                    "an unquoted `#` starts a comment in a shell",
                    "quote the value if the `#` is data",
                ));
            }
            c if c.is_control() => {
                return Err(shell(
                    i,
                    &format!("control character U+{:04X} is not allowed", c as u32),
                    "remove it",
                ));
            }
            _ => {
                cur.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Whether `$` followed by this character is an expansion in a shell.
fn expands(next: Option<&char>) -> bool {
    matches!(next, Some(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | '{' | '(' | '?' | '@' | '*' | '#' | '!' | '$' | '-'))
}

fn dollar(at: usize, next: Option<&char>) -> Problem {
    match next {
        Some('(') => substitution(at, "a `$(...)` command substitution"),
        _ => shell(
            at,
            "`$` expansion is shell syntax: no variable is expanded here",
            "write the value itself, or put it in single quotes if the `$` is data",
        ),
    }
}

fn substitution(at: usize, what: &str) -> Problem {
    shell(
        at,
        &format!("{what} is shell syntax and is never run"),
        "write the value itself",
    )
}

fn unbalanced(at: usize, quote: char) -> Problem {
    shell(
        at,
        &format!("the {quote} quote opened here is never closed"),
        &format!("close it with a matching {quote}"),
    )
}

fn shell(at: usize, what: &str, hint: &str) -> Problem {
    Problem::new(
        ProblemKind::ShellSyntax,
        format!("{what} (at character {}); {hint}", at + 1),
    )
}

#[cfg(test)]
mod tests {
    use super::split_words;

    fn ok(s: &str) -> Vec<String> {
        split_words(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn quoting_like_posix_sh() {
        assert_eq!(
            ok("aws s3api list-buckets"),
            ["aws", "s3api", "list-buckets"]
        );
        assert_eq!(ok("  a   b\tc  "), ["a", "b", "c"]);
        assert_eq!(ok(r#"a 'b c' "d e""#), ["a", "b c", "d e"]);
        assert_eq!(ok(r#"--x '{"a": "b"}'"#), ["--x", r#"{"a": "b"}"#]);
        assert_eq!(ok(r#"a\ b"#), ["a b"]);
        assert_eq!(ok(r#""a\"b" "c\d" 'e\f'"#), [r#"a"b"#, r"c\d", r"e\f"]);
        assert_eq!(ok("a''b \"\" ''"), ["ab", "", ""]);
        assert_eq!(ok("a \\\n b"), ["a", "b"]);
        assert_eq!(
            ok("--query Reservations[*].Instances[?State.Name=='running']"),
            ["--query", "Reservations[*].Instances[?State.Name==running]"]
        );
        assert_eq!(
            ok("'$HOME' 'a;b|c' \"a;b|c>d\" x$ \"$\""),
            ["$HOME", "a;b|c", "a;b|c>d", "x$", "$"]
        );
        assert_eq!(ok("a#b"), ["a#b"]);
        assert_eq!(ok(""), Vec::<String>::new());
    }

    #[test]
    fn shell_syntax_is_refused() {
        for bad in [
            "aws s3 ls | grep x",
            "aws s3 ls || true",
            "aws s3 ls && rm -rf /",
            "aws s3 ls; rm -rf /",
            "aws s3 ls &",
            "aws s3 ls > out.txt",
            "aws s3 ls < in",
            "aws s3 ls 2>/dev/null",
            "aws s3 ls `id`",
            "aws s3 ls $(id)",
            "aws s3 ls \"$(id)\"",
            "aws s3 ls \"`id`\"",
            "aws s3 ls $HOME",
            "aws s3 ls ${HOME}",
            "aws s3 ls \"$HOME\"",
            "aws s3 ls\nrm x",
            "aws s3 ls (x)",
            "aws s3 ls 'unclosed",
            "aws s3 ls \"unclosed",
            "aws s3 ls # comment",
            "aws s3 ls \\",
            "aws s3 ls \u{7}",
            "aws s3 ls <(cat x)",
        ] {
            let err = split_words(bad).expect_err(bad);
            assert_eq!(err.kind, crate::error::ProblemKind::ShellSyntax, "{bad}");
        }
    }
}
