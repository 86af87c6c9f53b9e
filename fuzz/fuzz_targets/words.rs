//! The no-shell word splitter (`portcullis_cli::words::split_words`) on arbitrary text.
//!
//! Invariants: no panic; an error renders; accepted words survive a round trip through single
//! quoting (each word `'...'` with `'` written `'\''`), i.e. splitting is exact and loses nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_cli::words::split_words;

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fuzz_target!(|data: &[u8]| {
    // Valid UTF-8 goes through unchanged; anything else is mapped lossily (U+FFFD).
    let text = String::from_utf8_lossy(data);
    match split_words(&text) {
        Ok(words) => {
            let requoted = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
            let again = split_words(&requoted).unwrap_or_else(|e| {
                panic!("re-quoted words refused: {e:?}\ninput: {text:?}\nwords: {words:?}")
            });
            assert_eq!(
                again, words,
                "round trip through single quotes changed the words"
            );
        }
        Err(problem) => {
            let _ = problem.to_string();
        }
    }
});
