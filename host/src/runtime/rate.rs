//! A rate limit shared by many callers: at most `per_second` events a
//! second on average, with bursts of up to one second's worth. A generic
//! cell-rate algorithm: one timestamp, no background refill.
//!
//! Guest log lines use [`Rate::try_take`] (an excess line is dropped and
//! counted, never buffered); activity slots use [`Rate::take`], which waits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// Tokio's clock (the system's outside a runtime), so paused-time tests work.
use tokio::time::Instant;

/// A shared rate limit.
#[derive(Debug)]
pub struct Rate {
    interval: Duration,
    burst: Duration,
    /// When the next event is due (the "theoretical arrival time").
    next: Mutex<Instant>,
    refused: AtomicU64,
}

impl Rate {
    /// At most `per_second` events a second (positive and finite).
    pub fn per_second(per_second: f64) -> Rate {
        let interval = Duration::from_secs_f64(1.0 / per_second.max(1e-9));
        let burst = Duration::from_secs(1).max(interval);
        let now = Instant::now();
        Rate {
            interval,
            burst,
            // It starts with a full burst.
            next: Mutex::new(now.checked_sub(burst).unwrap_or(now)),
            refused: AtomicU64::new(0),
        }
    }

    /// Claims the next event's time: now or later.
    fn claim(&self, now: Instant, only_if_due: bool) -> Option<Instant> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = now.checked_sub(self.burst).unwrap_or(now);
        let at = (*next).max(earliest);
        if only_if_due && at > now {
            return None;
        }
        *next = at + self.interval;
        Some(at)
    }

    /// Takes an event if one is due now; otherwise counts a refusal.
    pub fn try_take(&self) -> bool {
        let ok = self.claim(Instant::now(), true).is_some();
        if !ok {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Waits until an event is due, and takes it.
    pub async fn take(&self) {
        let now = Instant::now();
        if let Some(at) = self.claim(now, false)
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Events refused by [`Rate::try_take`] so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_seconds_worth_then_refusals_are_counted() {
        let r = Rate::per_second(10.0);
        // Fresh, it has a second's worth (10) plus the one due now.
        let taken = (0..50).filter(|_| r.try_take()).count();
        assert!((10..=11).contains(&taken), "{taken}");
        assert_eq!(r.refused(), 50 - taken as u64);
    }

    #[tokio::test(start_paused = true)]
    async fn take_paces_callers_to_the_rate() {
        let r = Rate::per_second(100.0);
        let began = Instant::now();
        for _ in 0..301 {
            r.take().await;
        }
        // 300 events at 100/s, less the one-second burst: about 2 s.
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
    }
}
