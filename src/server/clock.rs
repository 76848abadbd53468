//! Wall-clock facts for the policy (local minute of day, weekday), read once a second by a
//! background task so the packet path never reads the clock or the time zone.

use chrono::{Datelike, Local, Timelike};
use std::sync::atomic::{AtomicU32, Ordering};

/// Local time of day and weekday, packed in one atomic.
#[derive(Debug, Default)]
pub struct LocalClock(AtomicU32);

impl LocalClock {
    pub fn new() -> Self {
        let c = Self::default();
        c.tick();
        c
    }

    /// Reads the local time now and stores it.
    pub fn tick(&self) {
        let now = Local::now();
        let minute = now.hour() * 60 + now.minute();
        let weekday = now.weekday().num_days_from_monday();
        self.0.store((weekday << 16) | minute, Ordering::Relaxed);
    }

    /// (minute of day 0..1440, weekday 0 = Monday).
    pub fn get(&self) -> (u16, u8) {
        let v = self.0.load(Ordering::Relaxed);
        let minute = u16::try_from(v & 0xffff).unwrap_or(0);
        let weekday = u8::try_from(v >> 16).unwrap_or(0);
        (minute, weekday)
    }
}
