//! Spaces the page requests of one listing so their bodies do not end together.
//!
//! Pages of one size that start together share the link evenly and finish together; every
//! connection then waits out the round trip at once and the link idles for it, page after
//! page (at 4 connections, a 40 ms round trip and 34 ms of link time per page, a quarter of
//! the time). Once apart they stay apart: an earlier page always finishes first. So each
//! request is sent at least a *gap* after the previous one, the gap being a page's body time
//! divided by the requests sharing the link: about the time the link takes for one page
//! alone. Requests that are already that far apart are never delayed, so sequential paging
//! and a fast link (a body in a few milliseconds) pay nothing; the first requests go at once
//! (no body time is known yet), and are spread from the next round on.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The longest gap kept: a page that took minutes (a stalled server) must not space the next
/// requests by minutes.
pub const MAX_GAP: Duration = Duration::from_millis(250);

/// When the next request may go, from the body times seen so far.
#[derive(Debug)]
pub struct Pacing {
    /// Requests sharing the link (the listing's concurrency).
    sharing: u32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the latest request was (or will be) sent.
    last_send: Option<Instant>,
    /// The spacing between sends, from the latest body time.
    gap: Duration,
}

impl Pacing {
    /// Pacing for `sharing` requests at once (at least one).
    pub fn new(sharing: usize) -> Self {
        Self {
            sharing: u32::try_from(sharing.max(1)).unwrap_or(u32::MAX),
            state: Mutex::default(),
        }
    }

    /// Reserves the next send at `now` or later; returns when it may go.
    pub fn reserve(&self, now: Instant) -> Instant {
        let mut state = self.state.lock();
        let at = state
            .last_send
            .map_or(now, |last| (last + state.gap).max(now));
        state.last_send = Some(at);
        at
    }

    /// A page's body took `body` from its first byte to its last.
    pub fn observe(&self, body: Duration) {
        let gap = (body / self.sharing).min(MAX_GAP);
        self.state.lock().gap = gap;
    }

    /// The current spacing between sends.
    #[cfg(test)]
    pub fn gap(&self) -> Duration {
        self.state.lock().gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_requests_go_at_once() {
        let pacing = Pacing::new(4);
        let now = Instant::now();
        for _ in 0..4 {
            assert_eq!(pacing.reserve(now), now);
        }
    }

    #[test]
    fn requests_bunched_together_are_spread_by_the_gap() {
        let pacing = Pacing::new(4);
        pacing.observe(120 * MS);
        assert_eq!(pacing.gap(), 30 * MS);
        let now = Instant::now();
        let sends: Vec<Instant> = (0..4).map(|_| pacing.reserve(now)).collect();
        assert_eq!(sends[0], now);
        for pair in sends.windows(2) {
            assert_eq!(pair[1] - pair[0], 30 * MS);
        }
    }

    #[test]
    fn requests_already_apart_are_not_delayed() {
        let pacing = Pacing::new(2);
        pacing.observe(40 * MS);
        let start = Instant::now();
        assert_eq!(pacing.reserve(start), start);
        let later = start + 25 * MS;
        assert_eq!(pacing.reserve(later), later);
    }

    #[test]
    fn sequential_paging_is_never_delayed() {
        // One request at a time: the next is sent after the body ended, a body time after the
        // previous send at least, so the gap (the whole body time) has always passed.
        let pacing = Pacing::new(1);
        let mut now = Instant::now();
        for body in [10 * MS, 80 * MS, 5 * MS] {
            assert_eq!(pacing.reserve(now), now);
            now += body + MS;
            pacing.observe(body);
        }
    }

    #[test]
    fn a_stalled_body_caps_the_gap() {
        let pacing = Pacing::new(4);
        pacing.observe(Duration::from_secs(600));
        assert_eq!(pacing.gap(), MAX_GAP);
        let pacing = Pacing::new(0);
        pacing.observe(10 * MS);
        assert_eq!(pacing.gap(), 10 * MS);
    }
}
