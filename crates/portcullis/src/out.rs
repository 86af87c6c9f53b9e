//! Standard output for the command line: `out!` writes a line and returns the error instead of
//! panicking as `println!` does, so `portcullis audit show | head -1` ends quietly when the reader
//! goes away ([`is_broken_pipe`] is how `main` recognizes that end).

/// Writes one line to standard output (`writeln!` on the locked handle); `?` it.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub(crate) use out;

/// Whether `e` is (caused by) a write to a closed pipe: the reader has what it wanted.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
