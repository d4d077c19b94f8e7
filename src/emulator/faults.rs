//! Which requests fail and how. Decisions are drawn per request from a counter hashed with the
//! seed, so a run of requests sees the same faults every time.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Faults;

/// A reproducible source of per-request randomness.
pub struct Dice {
    seed: u64,
    counter: AtomicU64,
    pub page_requests: AtomicU64,
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer 500 or 503.
    ServerError(u16),
    /// Answer 429.
    RateLimited,
    /// Cut the body after this fraction of it.
    Drop(f64),
    /// Answer normally.
    None,
}

impl Dice {
    /// Dice for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
            page_requests: AtomicU64::new(0),
        }
    }

    fn roll(&self, n: u64, salt: u64) -> f64 {
        let mut x = self.seed
            ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault for the next request.
    pub fn decide(&self, faults: &Faults, is_get: bool) -> Fault {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        if self.roll(n, 1) < faults.error_rate {
            return Fault::ServerError(if self.roll(n, 2) < 0.5 { 500 } else { 503 });
        }
        if self.roll(n, 3) < faults.rate_limit_rate {
            return Fault::RateLimited;
        }
        if is_get && self.roll(n, 4) < faults.drop_rate {
            return Fault::Drop(0.1 + 0.8 * self.roll(n, 5));
        }
        Fault::None
    }
}
