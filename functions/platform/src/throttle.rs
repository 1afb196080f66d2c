//! Counting events per key within a fixed window, in memory and in bounded memory: the
//! log-in and sign-up throttles.
//!
//! A key's window starts with its first counted event and lasts `window`; within it at most
//! `limit` events are counted, and past that the key is refused until the window is over.
//! Keys are kept as 64-bit hashes (keyed per throttle, so nobody can aim collisions), about
//! 60 bytes each, and at most `max_keys` of them: expired windows are dropped as time
//! passes, and when the table is full of live ones the oldest window goes first. Since every
//! window has the same length, windows expire in the order they started, so a queue in that
//! order finds both in O(1). A window whose every event was forgiven is gone, so the next
//! event starts a new one; its old place in the queue is skipped when reached.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys one throttle remembers at most (about 4 MiB).
pub const DEFAULT_MAX_KEYS: usize = 65_536;

pub struct Throttle {
    limit: u32,
    window: Duration,
    max_keys: usize,
    hasher: RandomState,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    windows: HashMap<u64, Window>,
    /// Every key of `windows`, in the order its window started (= the order they end), and
    /// the places of windows that were forgiven away (whose start no longer matches).
    order: VecDeque<(Instant, u64)>,
}

struct Window {
    started: Instant,
    count: u32,
}

/// A refused event: the key is at its limit for `retry_after` more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Refused {
    /// For a `Retry-After` header: whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl Throttle {
    /// At most `limit` events per key within `window`; a `limit` of 0 means no limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, max_keys: DEFAULT_MAX_KEYS, hasher: RandomState::new(), state: Mutex::default() }
    }

    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Counts one event for `key`, unless the key is at its limit: then nothing is counted
    /// and the answer says when it may try again.
    pub fn hit<K: Hash + ?Sized>(&self, key: &K) -> Result<(), Refused> {
        self.hit_at(key, Instant::now())
    }

    /// Whether an event for `key` would be counted now, without counting it.
    pub fn check<K: Hash + ?Sized>(&self, key: &K) -> Result<(), Refused> {
        self.check_at(key, Instant::now())
    }

    /// Takes back one counted event of `key` (an attempt that turned out not to count, such
    /// as a log-in with the right password).
    pub fn forgive<K: Hash + ?Sized>(&self, key: &K) {
        if self.limit == 0 {
            return;
        }
        let hash = self.hasher.hash_one(key);
        let mut state = self.lock();
        if let Some(window) = state.windows.get_mut(&hash) {
            window.count = window.count.saturating_sub(1);
            if window.count == 0 {
                state.windows.remove(&hash);
            }
        }
    }

    /// Keys remembered now (live windows, and expired ones not yet dropped).
    pub fn len(&self) -> usize {
        self.lock().windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters inconsistent enough to matter.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hit_at<K: Hash + ?Sized>(&self, key: &K, now: Instant) -> Result<(), Refused> {
        if self.limit == 0 {
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let mut state = self.lock();
        state.expire(now, self.window);
        if let Some(window) = state.windows.get_mut(&hash) {
            if window.count >= self.limit {
                return Err(self.refused(window, now));
            }
            window.count += 1;
            return Ok(());
        }
        if state.windows.len() >= self.max_keys {
            state.evict_oldest();
        }
        state.windows.insert(hash, Window { started: now, count: 1 });
        state.order.push_back((now, hash));
        if state.order.len() > 2 * self.max_keys {
            state.compact();
        }
        Ok(())
    }

    fn check_at<K: Hash + ?Sized>(&self, key: &K, now: Instant) -> Result<(), Refused> {
        if self.limit == 0 {
            return Ok(());
        }
        let hash = self.hasher.hash_one(key);
        let mut state = self.lock();
        state.expire(now, self.window);
        match state.windows.get(&hash) {
            Some(window) if window.count >= self.limit => Err(self.refused(window, now)),
            _ => Ok(()),
        }
    }

    fn refused(&self, window: &Window, now: Instant) -> Refused {
        Refused { retry_after: (window.started + self.window).saturating_duration_since(now) }
    }
}

impl State {
    /// Drops the windows that are over at `now`.
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some(&(started, hash)) = self.order.front() {
            if started + window > now {
                break;
            }
            self.order.pop_front();
            self.remove_if_started(hash, started);
        }
    }

    fn evict_oldest(&mut self) {
        while let Some((started, hash)) = self.order.pop_front() {
            if self.remove_if_started(hash, started) {
                return;
            }
        }
    }

    /// Removes the window of `hash` if it is the one that started at `started` (and not a
    /// later one of the same key); whether it did.
    fn remove_if_started(&mut self, hash: u64, started: Instant) -> bool {
        let matches = self.windows.get(&hash).is_some_and(|w| w.started == started);
        if matches {
            self.windows.remove(&hash);
        }
        matches
    }

    /// Drops the places of forgiven windows, leaving one per live window.
    fn compact(&mut self) {
        let windows = &self.windows;
        self.order.retain(|(started, hash)| windows.get(hash).is_some_and(|w| w.started == *started));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_is_refused_past_its_limit_until_its_window_is_over() {
        let throttle = Throttle::new(3, WINDOW);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(throttle.hit_at("a", t0 + Duration::from_secs(i)), Ok(()), "event {i}");
        }
        let refused = throttle.hit_at("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(50));
        assert_eq!(refused.retry_after_secs(), 50);
        assert!(throttle.check_at("a", t0 + Duration::from_millis(59_999)).is_err());
        assert_eq!(throttle.hit_at("a", t0 + WINDOW), Ok(()), "a new window begins");
    }

    #[test]
    fn keys_are_counted_apart() {
        let throttle = Throttle::new(1, WINDOW);
        let t0 = Instant::now();
        assert_eq!(throttle.hit_at("a", t0), Ok(()));
        assert!(throttle.hit_at("a", t0).is_err());
        assert_eq!(throttle.hit_at("b", t0), Ok(()));
    }

    #[test]
    fn check_counts_nothing_and_forgive_takes_one_back() {
        let throttle = Throttle::new(2, WINDOW);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(throttle.check_at("a", t0), Ok(()));
        }
        throttle.hit_at("a", t0).unwrap();
        throttle.hit_at("a", t0).unwrap();
        assert!(throttle.check_at("a", t0).is_err());
        throttle.forgive("a");
        assert_eq!(throttle.hit_at("a", t0), Ok(()));
        assert!(throttle.hit_at("a", t0).is_err());
    }

    #[test]
    fn after_everything_was_forgiven_the_next_event_starts_a_new_window() {
        let throttle = Throttle::new(2, WINDOW);
        let t0 = Instant::now();
        throttle.hit_at("a", t0).unwrap();
        throttle.forgive("a");
        let later = t0 + Duration::from_secs(30);
        throttle.hit_at("a", later).unwrap();
        throttle.hit_at("a", later).unwrap();
        let refused = throttle.hit_at("a", t0 + WINDOW).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(30), "the window began at the first unforgiven event");
        assert_eq!(throttle.hit_at("a", later + WINDOW), Ok(()));
    }

    #[test]
    fn forgiven_windows_do_not_grow_the_queue_without_bound() {
        let throttle = Throttle::new(5, WINDOW).with_max_keys(10);
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            throttle.hit_at("a", t0 + Duration::from_micros(i)).unwrap();
            throttle.forgive("a");
            assert!(throttle.lock().order.len() <= 21);
        }
        assert!(throttle.is_empty());
    }

    #[test]
    fn a_zero_limit_never_refuses_and_remembers_nothing() {
        let throttle = Throttle::new(0, WINDOW);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(throttle.hit_at("a", t0), Ok(()));
        }
        assert!(throttle.is_empty());
    }

    #[test]
    fn expired_windows_are_dropped_as_time_passes() {
        let throttle = Throttle::new(5, WINDOW);
        let t0 = Instant::now();
        for i in 0..100 {
            throttle.hit_at(&i, t0 + Duration::from_millis(i)).unwrap();
        }
        assert_eq!(throttle.len(), 100);
        throttle.hit_at("late", t0 + WINDOW + Duration::from_millis(50)).unwrap();
        assert_eq!(throttle.len(), 50, "the 51 windows started before 50 ms are over; 49 remain and the new one");
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_window_goes_first() {
        let throttle = Throttle::new(1, WINDOW).with_max_keys(10);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            throttle.hit_at(&i, t0 + Duration::from_micros(u64::from(i))).unwrap();
            assert!(throttle.len() <= 10);
        }
        assert_eq!(throttle.lock().order.len(), 10);
        let now = t0 + Duration::from_secs(1);
        assert!(throttle.check_at(&9_999u32, now).is_err(), "the newest windows are kept");
        assert_eq!(throttle.check_at(&0u32, now), Ok(()), "the oldest went");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(Refused { retry_after: Duration::from_millis(1) }.retry_after_secs(), 1);
        assert_eq!(Refused { retry_after: Duration::from_millis(1500) }.retry_after_secs(), 2);
        assert_eq!(Refused { retry_after: Duration::ZERO }.retry_after_secs(), 1);
    }
}
