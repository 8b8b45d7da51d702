//! Token buckets: one per client address for sign-up/sign-in, one per WebSocket connection for
//! frames.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `burst` events at once, refilled at `per_sec` events per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(burst: u32, per_sec: f64) -> Self {
        TokenBucket {
            tokens: burst as f64,
            burst: burst as f64,
            per_sec,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
    }

    /// Takes one token, or says how long until one is available.
    pub fn take_at(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }

    fn is_full_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// A bucket per key, forgetting keys whose bucket has refilled so memory stays bounded by the
/// number of recently active clients.
pub struct KeyedLimiter<K> {
    burst: u32,
    per_sec: f64,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Eq + Hash + Clone> KeyedLimiter<K> {
    /// `per_minute` events in a burst, refilled evenly over a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        KeyedLimiter {
            burst: per_minute.max(1),
            per_sec: per_minute.max(1) as f64 / 60.0,
            buckets: Mutex::default(),
        }
    }

    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| !b.is_full_at(now));
        }
        buckets
            .entry(key.clone())
            .or_insert_with(|| TokenBucket::new(self.burst, self.per_sec))
            .take_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let start = Instant::now();
        let mut b = TokenBucket::new(3, 1.0);
        for _ in 0..3 {
            assert!(b.take_at(start).is_ok());
        }
        let wait = b.take_at(start).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(b.take_at(start + Duration::from_millis(1001)).is_ok());
        assert!(b.take_at(start + Duration::from_millis(1002)).is_err());
    }

    #[test]
    fn keys_are_independent() {
        let limiter = KeyedLimiter::per_minute(2);
        assert!(limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_err());
        assert!(limiter.check(&2).is_ok());
    }
}
