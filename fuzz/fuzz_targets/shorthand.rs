//! The AWS CLI shorthand parser (`portcullis_shorthand::parse`) on arbitrary text.
//!
//! Invariants: no panic (including the error's caret rendering); an accepted value converts to
//! JSON; parsing is deterministic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match portcullis_shorthand::parse(&text) {
        Ok(map) => {
            for value in map.values() {
                let _ = value.to_json();
            }
            let again =
                portcullis_shorthand::parse(&text).expect("second parse of the same input failed");
            assert_eq!(again.len(), map.len());
        }
        Err(e) => {
            assert!(
                e.position <= text.len() + 1,
                "error position {} beyond input of {} bytes",
                e.position,
                text.len()
            );
            let _ = e.to_string();
        }
    }
});
