//! Time, injectable so the cache and invitation expiry are tested without sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Monotonic time, for cache ages.
    fn now(&self) -> Instant;
    /// Wall-clock seconds since the Unix epoch, for invitation expiry and `createdAt`.
    fn epoch_seconds(&self) -> i64;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn epoch_seconds(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    state: Mutex<(Duration, i64)>,
}

impl ManualClock {
    pub fn new(epoch_seconds: i64) -> Self {
        Self {
            start: Instant::now(),
            state: Mutex::new((Duration::ZERO, epoch_seconds)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut s = self.state.lock().unwrap();
        s.0 += by;
        s.1 += by.as_secs() as i64;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.state.lock().unwrap().0
    }
    fn epoch_seconds(&self) -> i64 {
        self.state.lock().unwrap().1
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn epoch_seconds(&self) -> i64 {
        (**self).epoch_seconds()
    }
}
