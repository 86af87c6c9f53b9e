//! The parse error and its rendering: message, the input with a caret under the offending
//! character (as the AWS CLI prints it), and a hint.

use std::fmt;

/// Why and where a shorthand argument failed to parse.
///
/// `message` says what was expected and what was found, and ends with a hint (e.g. to quote a
/// value or to pass JSON instead). `position` counts characters (not bytes) from the start of
/// `input`; it may equal the input's length when the input ended too early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ShorthandError {
    pub message: String,
    pub position: usize,
    pub input: String,
}

/// Lines longer than this are shown as a window around the error.
const MAX_SHOWN_LINE: usize = 120;
const WINDOW_HALF: usize = 50;

impl fmt::Display for ShorthandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid shorthand syntax at character {}: {}",
            self.position, self.message
        )?;
        let chars: Vec<char> = self.input.chars().collect();
        let pos = self.position.min(chars.len());
        let line_start = chars[..pos]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
        let line_end = chars[pos..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |i| pos + i);
        // Lines before the error line, the error line, the caret, the lines after: like awscli.
        if line_start > 0 {
            for line in chars[..line_start - 1].split(|&c| c == '\n') {
                writeln!(f, "  {}", line.iter().collect::<String>())?;
            }
        }
        let line = &chars[line_start..line_end];
        let col = pos - line_start;
        let (from, to) = if line.len() > MAX_SHOWN_LINE {
            (
                col.saturating_sub(WINDOW_HALF),
                (col + WINDOW_HALF).min(line.len()),
            )
        } else {
            (0, line.len())
        };
        let prefix = if from > 0 { "..." } else { "" };
        let suffix = if to < line.len() { "..." } else { "" };
        let shown: String = line[from..to].iter().collect();
        writeln!(f, "  {prefix}{shown}{suffix}")?;
        // Keep tabs in the padding so the caret lines up under tab-indented input.
        let pad: String = std::iter::repeat_n(' ', prefix.len())
            .chain(
                line[from..col]
                    .iter()
                    .map(|&c| if c == '\t' { '\t' } else { ' ' }),
            )
            .collect();
        write!(f, "  {pad}^")?;
        if line_end < chars.len() {
            for line in chars[line_end + 1..].split(|&c| c == '\n') {
                write!(f, "\n  {}", line.iter().collect::<String>())?;
            }
        }
        Ok(())
    }
}
