//! Keyed token buckets: at most [`Rate::per_second`] calls a second per key on average, with
//! bursts of up to [`Rate::burst`].
//!
//! # Algorithm
//!
//! Each key has a bucket holding up to `burst` tokens; it starts full. A call takes one token.
//! Tokens flow back continuously at `per_second` (the bucket is refilled lazily, from the time
//! elapsed since it was last looked at, so there is no timer). When the bucket holds less than
//! one token the call is refused with [`RetryAfter`]: the time until the bucket holds a whole
//! token again, `(1 − tokens) / per_second`.
//!
//! # Parameters and defaults
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `per_second` | 50.0 | sustained rate per key, tokens per second (> 0) |
//! | `burst` | 100 | bucket size: calls allowed back to back after idling (≥ 1) |
//!
//! # Bounded memory
//!
//! At most [`MAX_KEYS`] (10 000) buckets are kept. When a new key arrives at the cap, every full
//! bucket is dropped first (a full bucket is the same as a new one, so nothing is forgotten);
//! if none is full, the fullest bucket is dropped (the one closest to being forgotten anyway).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::lock;

/// The most buckets a [`RateLimiter`] keeps (see the module docs for eviction).
pub const MAX_KEYS: usize = 10_000;

/// The smallest rate [`RateLimiter::new`] uses when given a hand-built invalid one.
const MIN_PER_SECOND: f64 = 1e-9;

/// A token bucket's parameters: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second (the sustained call rate); finite and > 0.
    pub per_second: f64,
    /// Bucket size (the most calls back to back); ≥ 1.
    pub burst: u32,
}

impl Rate {
    /// A validated rate: `per_second` must be finite and > 0, `burst` at least 1.
    pub fn new(per_second: f64, burst: u32) -> Result<Rate, String> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return Err(format!(
                "rate limit: per_second must be a positive number, got {per_second}"
            ));
        }
        if burst == 0 {
            return Err("rate limit: burst must be at least 1 (0 would refuse every call)".into());
        }
        Ok(Rate { per_second, burst })
    }

    /// Reads a rate as written in configuration: `N/s`, `N/m` (a minute) or `N/h` (an hour),
    /// optionally followed by `burst B`; e.g. `20/s`, `600/m burst 50`. Without a burst, the
    /// bucket holds two seconds' worth (at least 1).
    pub fn parse(text: &str) -> Result<Rate, String> {
        const FORM: &str = "write a rate as `N/s`, `N/m` or `N/h`, optionally with `burst B` (e.g. `20/s burst 40`)";
        let mut words = text.split_whitespace();
        let Some(rate) = words.next() else {
            return Err(format!("empty rate: {FORM}"));
        };
        let Some((n, unit)) = rate.split_once('/') else {
            return Err(format!("`{text}` has no unit: {FORM}"));
        };
        let per = match unit {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            other => return Err(format!("`{other}` is not a unit (s, m or h): {FORM}")),
        };
        let n: f64 = n
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n > 0.0)
            .ok_or_else(|| format!("`{n}` is not a positive number: {FORM}"))?;
        let per_second = n / per;
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => ((per_second * 2.0).ceil() as u32).max(1),
            (Some("burst"), Some(b), None) => b
                .parse::<u32>()
                .ok()
                .filter(|b| *b >= 1)
                .ok_or_else(|| format!("burst `{b}` is not a whole number ≥ 1: {FORM}"))?,
            _ => return Err(format!("`{text}`: {FORM}")),
        };
        Rate::new(per_second, burst)
    }

    /// The same rate with out-of-range fields (only possible when built by hand) pulled into
    /// range: a non-positive or non-finite `per_second` becomes a negligible rate, a zero `burst`
    /// becomes 1.
    fn sanitized(self) -> Rate {
        let per_second = if self.per_second.is_finite() && self.per_second > 0.0 {
            self.per_second.max(MIN_PER_SECOND)
        } else {
            MIN_PER_SECOND
        };
        Rate {
            per_second,
            burst: self.burst.max(1),
        }
    }
}

impl fmt::Display for Rate {
    /// In the form [`Rate::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per_second >= 1.0 || self.per_second <= 0.0 {
            write!(f, "{}/s burst {}", self.per_second, self.burst)
        } else if self.per_second * 60.0 >= 1.0 {
            write!(f, "{}/m burst {}", self.per_second * 60.0, self.burst)
        } else {
            write!(f, "{}/h burst {}", self.per_second * 3600.0, self.burst)
        }
    }
}

impl Default for Rate {
    /// 50 calls a second, bursts of 100.
    fn default() -> Self {
        Rate {
            per_second: 50.0,
            burst: 100,
        }
    }
}

/// Why [`RateLimiter::check`] refused: how long until the key's bucket holds a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit exceeded; retry after {} ms",
            self.0.as_millis().max(1)
        )
    }
}

impl std::error::Error for RetryAfter {}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Adds the tokens that flowed in since `last`, up to `burst`.
    fn refill(&mut self, rate: &Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(f64::from(rate.burst));
        self.last = now;
    }

    fn is_full(&self, rate: &Rate) -> bool {
        self.tokens >= f64::from(rate.burst)
    }
}

/// A token bucket per key; see the [module docs](self).
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter with `rate` per key, keeping at most [`MAX_KEYS`] buckets. Take `rate` from
    /// [`Rate::new`]; a hand-built rate out of range is pulled into range (a non-positive rate
    /// becomes a negligible one, a zero burst becomes 1) rather than panicking.
    pub fn new(rate: Rate) -> Self {
        Self::with_max_keys(rate, MAX_KEYS)
    }

    /// As [`new`](Self::new) with another cap on the number of buckets (at least 1).
    pub fn with_max_keys(rate: Rate, max_keys: usize) -> Self {
        RateLimiter {
            rate: rate.sanitized(),
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket, or says how long until there is one.
    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        let rate = &self.rate;
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(key) {
            if buckets.len() >= self.max_keys {
                evict(&mut buckets, rate, now);
            }
            let full = Bucket {
                tokens: f64::from(rate.burst),
                last: now,
            };
            buckets.insert(key.to_owned(), full);
        }
        let Some(bucket) = buckets.get_mut(key) else {
            // Just inserted under the same lock.
            return Ok(());
        };
        bucket.refill(rate, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate.per_second;
            let wait = Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX);
            Err(RetryAfter(wait.max(Duration::from_nanos(1))))
        }
    }

    /// The rate each key gets.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// How many keys have a bucket now (at most the cap).
    pub fn len(&self) -> usize {
        lock(&self.buckets).len()
    }

    /// Whether no key has a bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room for one bucket: drops every full bucket, or else the fullest one.
fn evict(buckets: &mut HashMap<String, Bucket>, rate: &Rate, now: Instant) {
    for bucket in buckets.values_mut() {
        bucket.refill(rate, now);
    }
    let before = buckets.len();
    buckets.retain(|_, b| !b.is_full(rate));
    if buckets.len() < before {
        return;
    }
    let fullest = buckets
        .iter()
        .max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens))
        .map(|(k, _)| k.clone());
    if let Some(key) = fullest {
        buckets.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parse_reads_the_written_forms_and_names_the_problem() {
        assert_eq!(Rate::parse("20/s").unwrap(), Rate::new(20.0, 40).unwrap());
        assert_eq!(
            Rate::parse("600/m burst 50").unwrap(),
            Rate::new(10.0, 50).unwrap()
        );
        assert_eq!(Rate::parse(" 36/h ").unwrap().burst, 1);
        for r in [
            Rate::new(20.0, 40).unwrap(),
            Rate::new(0.5, 3).unwrap(),
            Rate::new(0.01, 1).unwrap(),
        ] {
            assert_eq!(Rate::parse(&r.to_string()).unwrap(), r, "{r}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("20", "no unit"),
            ("20/d", "not a unit"),
            ("-1/s", "positive"),
            ("0/s", "positive"),
            ("x/s", "positive"),
            ("20/s burst 0", "burst"),
            ("20/s burst", "N/s"),
            ("20/s bust 3", "N/s"),
        ] {
            let e = Rate::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn rate_new_rejects_bad_values() {
        assert!(Rate::new(0.0, 1).unwrap_err().contains("per_second"));
        assert!(Rate::new(-3.0, 1).is_err());
        assert!(Rate::new(f64::NAN, 1).is_err());
        assert!(Rate::new(f64::INFINITY, 1).is_err());
        assert!(Rate::new(1.0, 0).unwrap_err().contains("burst"));
        assert_eq!(
            Rate::new(2.5, 3),
            Ok(Rate {
                per_second: 2.5,
                burst: 3
            })
        );
        assert_eq!(
            Rate::default(),
            Rate {
                per_second: 50.0,
                burst: 100
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill_with_retry_after() {
        let limiter = RateLimiter::new(Rate::new(10.0, 2).unwrap());
        assert_eq!(limiter.check("a"), Ok(()));
        assert_eq!(limiter.check("a"), Ok(()));
        // Empty: one token takes 1/10 s.
        let RetryAfter(wait) = limiter.check("a").unwrap_err();
        assert!(
            wait.abs_diff(ms(100)) < Duration::from_micros(10),
            "{wait:?}"
        );
        // Refused calls take nothing: half-way there, half the wait is left.
        advance(ms(50)).await;
        let RetryAfter(wait) = limiter.check("a").unwrap_err();
        assert!(
            wait.abs_diff(ms(50)) < Duration::from_micros(10),
            "{wait:?}"
        );
        advance(ms(50)).await;
        assert_eq!(limiter.check("a"), Ok(()));
        assert!(limiter.check("a").is_err());
        // A long idle refills to the burst, not beyond.
        advance(Duration::from_secs(60)).await;
        assert_eq!(limiter.check("a"), Ok(()));
        assert_eq!(limiter.check("a"), Ok(()));
        assert!(limiter.check("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_independent() {
        let limiter = RateLimiter::new(Rate::new(1.0, 1).unwrap());
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_err());
        assert!(limiter.check("b").is_ok());
        assert_eq!(
            limiter.rate(),
            Rate {
                per_second: 1.0,
                burst: 1
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cap_evicts_full_buckets_first() {
        let limiter = RateLimiter::with_max_keys(Rate::new(1.0, 2).unwrap(), 3);
        // "busy" is drained, "idle" used once and then refills, "warm" half used.
        assert!(limiter.check("busy").is_ok());
        assert!(limiter.check("busy").is_ok());
        assert!(limiter.check("idle").is_ok());
        advance(Duration::from_secs(1)).await; // idle is full again, busy has 1
        assert!(limiter.check("warm").is_ok());
        assert!(limiter.check("busy").is_ok()); // busy back to 0
        assert_eq!(limiter.len(), 3);
        assert!(limiter.check("new").is_ok());
        assert_eq!(limiter.len(), 3);
        // "idle" (full) went; "busy" kept its empty bucket.
        assert!(limiter.check("busy").is_err());
        // At the cap with no full bucket, the fullest goes ("warm", 1 token; busy 0, new 1 –
        // either of the 1-token ones), and busy is still remembered.
        assert!(limiter.check("another").is_ok());
        assert_eq!(limiter.len(), 3);
        assert!(limiter.check("busy").is_err());
    }

    #[test]
    fn hand_built_invalid_rate_does_not_panic() {
        let limiter = RateLimiter::new(Rate {
            per_second: f64::NAN,
            burst: 0,
        });
        assert!(limiter.check("a").is_ok());
        let RetryAfter(wait) = limiter.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(3600));
    }
}
