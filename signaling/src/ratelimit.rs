//! Token buckets: one per client address for sign-up/sign-in, one per WebSocket connection (v1
//! and PeerJS) for frames.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How fast a bucket refills and how much it holds. Kept by whoever owns the buckets rather than
/// in each one: a bucket lives in every idle connection's state, where every byte counts.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: f32,
    pub per_sec: f32,
}

impl Rate {
    pub fn new(burst: u32, per_sec: f64) -> Self {
        Rate {
            burst: burst as f32,
            per_sec: per_sec.max(1e-6) as f32,
        }
    }
}

/// The tokens of a bucket, refilled by whoever owns it from the time that passed: a PeerJS
/// connection's bucket refills from the time since its last frame, which the connection keeps
/// anyway, so the bucket costs every idle connection one float.
#[derive(Debug, Clone, Copy)]
pub struct Tokens(f32);

impl Tokens {
    /// A full bucket.
    pub fn full(rate: Rate) -> Self {
        Tokens(rate.burst)
    }

    /// Adds what `elapsed` refilled, up to the burst.
    pub fn refill(&mut self, elapsed: Duration, rate: Rate) {
        self.0 = (self.0 + elapsed.as_secs_f32() * rate.per_sec).min(rate.burst);
    }

    pub fn is_full(self, rate: Rate) -> bool {
        self.0 >= rate.burst
    }

    /// Takes one token, or says how long until one is available.
    pub fn take(&mut self, rate: Rate) -> Result<(), Duration> {
        if self.0 >= 1.0 {
            self.0 -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f32((1.0 - self.0) / rate.per_sec))
        }
    }
}

/// Allows `rate.burst` events at once, refilled at `rate.per_sec` events per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: Tokens,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> Self {
        TokenBucket {
            tokens: Tokens::full(rate),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant, rate: Rate) {
        self.tokens.refill(now.saturating_duration_since(self.last), rate);
        self.last = now;
    }

    /// Takes one token, or says how long until one is available.
    pub fn take_at(&mut self, now: Instant, rate: Rate) -> Result<(), Duration> {
        self.refill(now, rate);
        self.tokens.take(rate)
    }

    fn is_full_at(&mut self, now: Instant, rate: Rate) -> bool {
        self.refill(now, rate);
        self.tokens.is_full(rate)
    }
}

/// A bucket per key, forgetting keys whose bucket has refilled so memory stays bounded by the
/// number of recently active clients.
pub struct KeyedLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Eq + Hash + Clone> KeyedLimiter<K> {
    /// `per_minute` events in a burst, refilled evenly over a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        KeyedLimiter {
            rate: Rate::new(per_minute.max(1), per_minute.max(1) as f64 / 60.0),
            buckets: Mutex::default(),
        }
    }

    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock();
        let now = Instant::now();
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| !b.is_full_at(now, self.rate));
        }
        buckets
            .entry(key.clone())
            .or_insert_with(|| TokenBucket::new(self.rate))
            .take_at(now, self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let start = Instant::now();
        let rate = Rate::new(3, 1.0);
        let mut b = TokenBucket::new(rate);
        for _ in 0..3 {
            assert!(b.take_at(start, rate).is_ok());
        }
        let wait = b.take_at(start, rate).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(b.take_at(start + Duration::from_millis(1001), rate).is_ok());
        assert!(b.take_at(start + Duration::from_millis(1002), rate).is_err());
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
