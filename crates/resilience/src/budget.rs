//! A retry budget: retries may add at most a fraction of the calls, so that retrying cannot
//! multiply the load on an endpoint that is already failing.
//!
//! # Algorithm
//!
//! This wraps tower's [`TpsBudget`] (the design of Finagle's retry budget) and counts what it
//! decides. Every call [`deposit`](RetryBudget::deposit)s once; every retry must
//! [`withdraw`](RetryBudget::withdraw) first and is not made when that returns false. A deposit
//! is worth `ratio` retries, and deposits expire after `ttl` (kept in 10 slots of `ttl / 10`, so
//! they fade out in steps). On top of the deposits, `min_per_sec × ttl` retries are always
//! available (as a reserve that does not grow), so a client making few calls can still retry.
//! With the defaults, 100 calls within 10 s allow 10 retries on top of the reserve of 100.
//!
//! # Parameters and defaults
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `ratio` | 0.1 | retries allowed per call, in [0, 1000] |
//! | `min_per_sec` | 10 | retries a second allowed regardless of calls (< 2³¹ − 1) |
//! | `ttl` | 10 s | how long a deposit counts, in [1 s, 60 s] |
//!
//! Tower asserts these ranges (it panics outside them); [`RetryBudget::new`] checks them first
//! and returns an error instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tower::retry::budget::{Budget, TpsBudget};

/// Tower's retry budget with counters; see the [module docs](self).
#[derive(Debug)]
pub struct RetryBudget {
    budget: TpsBudget,
    withdrawn: AtomicU64,
    refused: AtomicU64,
}

impl RetryBudget {
    /// A budget allowing `ratio` retries per call on top of `min_per_sec` retries a second,
    /// counting calls for `ttl`. Errors (instead of tower's panic) when `ratio` is not in
    /// [0, 1000], `ttl` not in [1 s, 60 s] or `min_per_sec` is 2³¹ − 1 or more.
    pub fn new(ratio: f32, min_per_sec: u32, ttl: Duration) -> Result<Self, String> {
        if !(0.0..=1000.0).contains(&ratio) {
            return Err(format!(
                "retry budget: ratio must be between 0 and 1000, got {ratio}"
            ));
        }
        if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(60) {
            return Err(format!(
                "retry budget: ttl must be between 1 and 60 seconds, got {} ms",
                ttl.as_millis()
            ));
        }
        if min_per_sec >= i32::MAX as u32 {
            return Err(format!(
                "retry budget: min_per_sec is too large ({min_per_sec})"
            ));
        }
        Ok(RetryBudget {
            budget: TpsBudget::new(ttl, min_per_sec, ratio),
            withdrawn: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// Records a call (once per call, retries included or not, as the caller decides; the usual
    /// choice is once per original call).
    pub fn deposit(&self) {
        self.budget.deposit();
    }

    /// Asks for one retry: true if it may be made (and counts it), false if the budget is spent.
    pub fn withdraw(&self) -> bool {
        let ok = self.budget.withdraw();
        let counter = if ok { &self.withdrawn } else { &self.refused };
        counter.fetch_add(1, Ordering::Relaxed);
        ok
    }

    /// Retries allowed so far.
    pub fn withdrawn_total(&self) -> u64 {
        self.withdrawn.load(Ordering::Relaxed)
    }

    /// Retries refused so far.
    pub fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Default for RetryBudget {
    /// Ratio 0.1, 10 retries a second, ttl 10 s.
    fn default() -> Self {
        RetryBudget {
            budget: TpsBudget::new(Duration::from_secs(10), 10, 0.1),
            withdrawn: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

/// So it can serve as the budget of a tower retry policy.
impl Budget for RetryBudget {
    fn deposit(&self) {
        RetryBudget::deposit(self);
    }

    fn withdraw(&self) -> bool {
        RetryBudget::withdraw(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[test]
    fn rejects_what_tower_would_panic_on() {
        let ttl = Duration::from_secs(10);
        assert!(
            RetryBudget::new(-0.1, 0, ttl)
                .unwrap_err()
                .contains("ratio")
        );
        assert!(
            RetryBudget::new(1000.5, 0, ttl)
                .unwrap_err()
                .contains("ratio")
        );
        assert!(
            RetryBudget::new(f32::NAN, 0, ttl)
                .unwrap_err()
                .contains("ratio")
        );
        assert!(RetryBudget::new(f32::INFINITY, 0, ttl).is_err());
        assert!(
            RetryBudget::new(0.1, 0, Duration::from_millis(999))
                .unwrap_err()
                .contains("ttl")
        );
        assert!(
            RetryBudget::new(0.1, 0, Duration::from_secs(61))
                .unwrap_err()
                .contains("ttl")
        );
        assert!(
            RetryBudget::new(0.1, u32::MAX, ttl)
                .unwrap_err()
                .contains("min_per_sec")
        );
        assert!(RetryBudget::new(0.0, 0, Duration::from_secs(1)).is_ok());
        assert!(RetryBudget::new(1000.0, 0, Duration::from_secs(60)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_tenth_of_the_calls_may_be_retried() {
        let budget = RetryBudget::new(0.1, 0, Duration::from_secs(10)).unwrap();
        assert!(!budget.withdraw());
        for _ in 0..100 {
            budget.deposit();
        }
        let allowed = (0..20).filter(|_| budget.withdraw()).count();
        assert_eq!(allowed, 10);
        assert!(!budget.withdraw());
        assert_eq!(budget.withdrawn_total(), 10);
        assert_eq!(budget.refused_total(), 1 + 10 + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_expire_after_ttl() {
        let budget = RetryBudget::new(1.0, 0, Duration::from_secs(1)).unwrap();
        budget.deposit();
        budget.deposit();
        advance(Duration::from_secs(3)).await;
        assert!(!budget.withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn reserve_allows_retries_without_calls() {
        // 2 a second over a 1 s ttl: 2 retries in reserve.
        let budget = RetryBudget::new(0.1, 2, Duration::from_secs(1)).unwrap();
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        let default = RetryBudget::default();
        assert_eq!((0..200).filter(|_| default.withdraw()).count(), 100);
    }
}
