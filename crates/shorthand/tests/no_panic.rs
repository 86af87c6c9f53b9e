//! Hostile input: nothing may panic, overflow the stack or loop. Time is not asserted.
#![allow(clippy::unwrap_used)]

use portcullis_shorthand::parse;

/// Small deterministic generator (xorshift64*), so failures reproduce without a dev-dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a", "Key", "=", "@=", "@", ",", "\\,", "\\", "[", "]", "{", "}", "'", "\"", "\\'", "\\\"",
    " ", "\t", "\n", "\r\n", "✓", "😀", "\u{a0}", "\u{0}", "\u{1b}", "file://x", "x=y", "é", "#",
    ":", "/", "-", ".", "_",
];

fn check(input: &str) {
    match parse(input) {
        Ok(map) => {
            for v in map.values() {
                let _ = v.to_json();
            }
        }
        Err(e) => {
            assert!(
                e.position <= input.chars().count(),
                "{input:?}: {}",
                e.position
            );
            let _ = e.to_string();
        }
    }
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5000 {
        let mut s = String::new();
        if rng.below(3) > 0 {
            s.push_str(["a=", "k@=", "x=1,y=", "T=[{"][rng.below(4)]);
        }
        for _ in 0..rng.below(40) {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
        check(&s);
    }
}

#[test]
fn adversarial_runs_never_panic() {
    let runs = [
        ",", "=", "@=", "[", "]", "{", "}", "'", "\"", "\\", "\\,", "\\'", "a,", "a=", "[a,",
        "{a=", "{a=[", "  ", "\n", "😀",
    ];
    let prefixes = ["", "a=", "a=b,", "a=[", "a={", "a='", "a=x,"];
    for run in runs {
        for prefix in prefixes {
            for n in [1, 2, 3, 63, 64, 65, 1000, 50_000] {
                check(&format!("{prefix}{}", run.repeat(n)));
                check(&format!("{prefix}{}x", run.repeat(n)));
            }
        }
    }
    check("");
    check(&format!("a={}{}", "[{b=".repeat(40), "}]".repeat(40)));
}
