//! The injected clock. Every component that asks "what time is it" for
//! product semantics (retention, alarm schedules, too-old events) asks a
//! [`Clock`], so tests can move time forward instead of sleeping.
//!
//! SigV4 clock-skew checks are the exception: they compare against the
//! client's real wall clock and use [`SystemClock`] directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    pub fn millis() -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            // A wall clock before 1970 is a broken host; treat it as the epoch.
            Err(_) => 0,
        }
    }
}

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemClock::millis()
    }
}

/// Wall clock plus an adjustable offset. Tests (and `argus serve
/// --test-clock`) advance it to make days pass in milliseconds.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_millis: AtomicI64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, millis: i64) {
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
    }

    pub fn offset_millis(&self) -> i64 {
        self.offset_millis.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        SystemClock::millis().saturating_add(self.offset_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_by_the_advanced_amount() {
        let clock = ManualClock::new();
        let before = clock.now_millis();
        clock.advance(86_400_000);
        let after = clock.now_millis();
        assert!(after - before >= 86_400_000);
        assert!(after - before < 86_400_000 + 60_000);
    }
}
