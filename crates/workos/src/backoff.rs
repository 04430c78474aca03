//! The back-off windows after WorkOS answered 429: until its `Retry-After` has passed,
//! no request goes to the API that answered it, and its exchanges fail at once as
//! rate-limited, with the seconds that remain. Each API keeps its own window (WorkOS
//! limits some calls per user, so one API's 429 says nothing of the other's), shared by
//! the clones of one client.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Wait assumed when a 429 carries no usable `Retry-After` (capped by the maximum).
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Default longest wait honoured (`WORKOS_BACKOFF_MAX_SECONDS`), so that a wild
/// `Retry-After` cannot stop logins for long.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// When one WorkOS API may be called again, if it asked us to wait.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    until: Arc<Mutex<Option<Instant>>>,
    max_wait: Duration,
}

impl Backoff {
    /// A window that honours waits of at most `max_wait`.
    pub(crate) fn new(max_wait: Duration) -> Self {
        Self {
            until: Arc::default(),
            max_wait,
        }
    }

    /// Starts (or extends) the window after a 429 asking for `retry_after_seconds`.
    pub(crate) fn hold(&self, retry_after_seconds: Option<u64>, now: Instant) {
        let wait = retry_after_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_WAIT)
            .min(self.max_wait);
        let end = now + wait;
        let mut until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }

    /// The whole seconds left in the window (at least 1), or `None` when WorkOS may be called.
    pub(crate) fn remaining_seconds(&self, now: Instant) -> Option<u64> {
        let until = (*self.until.lock().unwrap_or_else(PoisonError::into_inner))?;
        let left = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
        Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_counts_down_the_retry_after_and_then_opens() {
        let backoff = Backoff::new(DEFAULT_MAX_WAIT);
        let start = Instant::now();
        assert_eq!(backoff.remaining_seconds(start), None);
        backoff.hold(Some(30), start);
        assert_eq!(backoff.remaining_seconds(start), Some(30));
        assert_eq!(
            backoff.remaining_seconds(start + Duration::from_millis(10_500)),
            Some(20)
        );
        assert_eq!(backoff.remaining_seconds(start + Duration::from_secs(30)), None);
    }

    #[test]
    fn a_missing_retry_after_waits_the_default_and_a_wild_one_is_capped_at_the_maximum() {
        let backoff = Backoff::new(DEFAULT_MAX_WAIT);
        let start = Instant::now();
        backoff.hold(None, start);
        assert_eq!(backoff.remaining_seconds(start), Some(DEFAULT_WAIT.as_secs()));
        backoff.hold(Some(86_400), start);
        assert_eq!(backoff.remaining_seconds(start), Some(60));
        let short = Backoff::new(Duration::from_secs(10));
        short.hold(None, start);
        assert_eq!(
            short.remaining_seconds(start),
            Some(10),
            "the default is capped too"
        );
    }

    #[test]
    fn a_shorter_wait_does_not_shorten_the_window() {
        let backoff = Backoff::new(DEFAULT_MAX_WAIT);
        let start = Instant::now();
        backoff.hold(Some(60), start);
        backoff.hold(Some(5), start);
        assert_eq!(backoff.remaining_seconds(start), Some(60));
    }
}
