//! How far a listing's first readings may go on the wire. Two bounds, each lifted or lowered
//! as the listing shows its length:
//!
//! * **The end.** The pager lowers it to the two pages past the first empty page in hand, which
//!   confirm the end (`paginate::CONFIRMING_PAGES`), and a page task past those waits before
//!   sending instead of asking for a page that can only be empty too. Page tasks
//!   are started ahead of the wire (the window holds pages waiting for a download permit, and
//!   each waits out its pacing gap holding one). Without this bound, the pages started before
//!   the listing's end came back went out after it: on the WAN profile three requests past the
//!   end took the permits while the end page's re-read, which alone decides whether the
//!   listing is over, waited behind them (12 ms of every fetch), and a listing at
//!   `max_concurrency=16` sent up to 17 requests past its end.
//! * **The first wave.** An eager fetch starts its pages beside the wire from the first request on,
//!   but those past the first `concurrency` wait until the listing shows it goes on: a page came
//!   back full, or a body passed [`opening_bytes`] while it downloaded; or until the pager needs
//!   the page past a short one, or re-pages at a cap (outside trial 51 F1: it waited for such a
//!   page, held for ever). The pager used to start them only once a full page was decoded, so the
//!   link idled for page 1's decode (15 to 90 ms in a fresh process) and a round trip whenever the
//!   first pages ended together; a listing of one short page still asks for nothing more.
//!
//! A task that waits here has sent nothing, so the pager neither waits for it nor learns
//! anything from it: when the listing ends the task is cancelled, and if the listing goes on
//! (the empty page comes back with rows when read again, a page comes back full) the bound is
//! lifted and the task sends. A page already sent once is never held back (its retries go as
//! before): the pager waits for such pages, and holding one would wait forever.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The highest page whose first reading may be sent now: the lower of the two bounds.
#[derive(Debug)]
pub struct Reach(watch::Sender<Bounds>);

#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// The last page past the first empty page in hand that may go (`u64::MAX`: none).
    end: u64,
    /// The first wave's last page until the listing shows it goes on (`u64::MAX` then).
    wave: u64,
}

impl Default for Reach {
    fn default() -> Self {
        Self(watch::Sender::new(Bounds {
            end: u64::MAX,
            wave: u64::MAX,
        }))
    }
}

/// Bytes of one body after which the listing is taken to go on past that page: eight a row
/// asked for (a full page of the smallest rows, `{"rep_id":"a"}`, takes more, gzipped or not,
/// and a page of call rows passes it in its first tenth), and at least 64 KiB, so that a small
/// listing's one short page never starts the pages past the first wave.
pub fn opening_bytes(page_size: usize) -> u64 {
    (page_size as u64).saturating_mul(8).max(64 << 10)
}

impl Reach {
    /// Only the first `pages` pages may go until [`Reach::open`].
    pub fn first_wave(pages: u64) -> Self {
        let reach = Self::default();
        reach.0.send_modify(|bounds| bounds.wave = pages);
        reach
    }

    /// The listing goes on past its first wave: every page below the end may go.
    pub fn open(&self) {
        self.0.send_if_modified(|bounds| {
            let changed = bounds.wave != u64::MAX;
            bounds.wave = u64::MAX;
            changed
        });
    }

    /// Pages above `last` (`None`: none) wait until it is raised.
    pub fn hold_above(&self, last: Option<u64>) {
        let last = last.unwrap_or(u64::MAX);
        self.0.send_if_modified(|bounds| {
            let changed = bounds.end != last;
            bounds.end = last;
            changed
        });
    }

    /// Whether `page` may be sent now.
    pub fn allows(&self, page: u64) -> bool {
        Self::within(&self.0.borrow(), page)
    }

    fn within(bounds: &Bounds, page: u64) -> bool {
        page <= bounds.end && page <= bounds.wave
    }

    /// Waits until `page` may be sent.
    pub async fn wait_for(&self, page: u64) {
        let mut reach = self.0.subscribe();
        // Fails only once the sender is gone, and the sender lives as long as the caller's
        // borrow of it.
        let _ = reach.wait_for(|bounds| Self::within(bounds, page)).await;
    }
}

/// Whether a page task's request went out at least once: the pager waits only for those.
#[derive(Debug, Default)]
pub struct Sent(AtomicBool);

impl Sent {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_page_above_the_reach_waits_until_it_is_raised() {
        let reach = std::sync::Arc::new(Reach::default());
        assert!(reach.allows(u64::MAX));
        reach.hold_above(Some(5));
        assert!(reach.allows(5) && !reach.allows(6));
        let waiting = {
            let reach = std::sync::Arc::clone(&reach);
            tokio::spawn(async move { reach.wait_for(7).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        reach.hold_above(Some(6));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        reach.hold_above(None);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("released")
            .unwrap();
        // A page at or below the reach does not wait at all.
        reach.hold_above(Some(3));
        tokio::time::timeout(Duration::from_millis(50), reach.wait_for(3))
            .await
            .expect("no wait");
    }

    #[tokio::test]
    async fn the_first_wave_goes_and_the_rest_once_the_listing_goes_on() {
        let reach = std::sync::Arc::new(Reach::first_wave(4));
        assert!(reach.allows(4) && !reach.allows(5));
        let waiting = {
            let reach = std::sync::Arc::clone(&reach);
            tokio::spawn(async move { reach.wait_for(6).await })
        };
        // An end past the wave does not let the page go; the wave opened, the end still holds.
        reach.hold_above(Some(5));
        reach.open();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished() && reach.allows(5) && !reach.allows(6));
        reach.hold_above(None);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("released")
            .unwrap();
        assert_eq!(opening_bytes(100), 64 << 10);
        assert_eq!(opening_bytes(20_000), 160_000);
    }
}
