//! The state machines the server's tower layers use to hold under load and faults. They know
//! nothing of HTTP, AWS or MCP: a caller names a key (a client, an endpoint such as
//! `"s3/us-east-1"`), asks for permission, and reports how the call went.
//!
//! # Brief overview
//!
//! * [`rate::RateLimiter`]: a token bucket per key (default 50 calls/s, bursts of 100); a call
//!   over the rate is refused with the time until the next token ([`rate::RetryAfter`]).
//! * [`limit::AdaptiveLimiter`]: an AIMD concurrency limit per key and one over all keys, in the
//!   manner of Netflix's concurrency-limits; the limit falls when calls are throttled, time out
//!   or get slower than their baseline, and grows back when they are fast again. Calls over the
//!   limit wait in a bounded FIFO queue; over the bound they are shed at once ([`limit::Shed`]).
//! * [`breaker::Breakers`]: a circuit breaker per key (endpoint); after consecutive failures it
//!   fails fast for a cool-down, then lets probes through.
//! * [`budget::RetryBudget`]: tower's `TpsBudget` with counters; retries may add at most a
//!   fraction of the calls (default 10%, plus 10 retries a second).
//!
//! Everything here is `Send + Sync` and meant to be shared through an `Arc`. Time is
//! [`tokio::time::Instant`], so tests run with paused time. Every keyed map has a documented
//! cap (keys come from requests) and evicts idle or healthy entries first. Nothing here panics
//! on caller input: constructors that take numbers from configuration validate them and return
//! `Err(String)`.
//!
//! ```
//! use portcullis_resilience::rate::{Rate, RateLimiter};
//!
//! let limiter = RateLimiter::new(Rate::new(1.0, 2).unwrap());
//! assert!(limiter.check("client-a").is_ok());
//! assert!(limiter.check("client-a").is_ok());
//! assert!(limiter.check("client-a").is_err()); // the burst of 2 is spent
//! assert!(limiter.check("client-b").is_ok()); // another key has its own bucket
//! ```

pub mod breaker;
pub mod budget;
pub mod limit;
pub mod rate;

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering the data if a thread panicked while holding it: every critical
/// section here leaves the state consistent between statements that can panic (none should).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn everything_is_send_and_sync() {
        send_sync::<rate::RateLimiter>();
        send_sync::<limit::AdaptiveLimiter>();
        send_sync::<limit::Permit>();
        send_sync::<breaker::Breakers>();
        send_sync::<breaker::Pass>();
        send_sync::<budget::RetryBudget>();
        // The acquire future can be spawned on a multi-threaded runtime.
        fn send_future<F: std::future::Future + Send>(_: F) {}
        let limiter = limit::AdaptiveLimiter::new(Default::default(), Default::default());
        send_future(limiter.acquire("k"));
    }

    #[test]
    fn lock_recovers_from_poisoning() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            panic!("poison");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m), 1);
    }
}
