//! How far a listing's first readings may go on the wire: the pager lowers it to the first
//! empty page in hand, and a page task past it waits before sending instead of asking for a
//! page that can only be empty too.
//!
//! Page tasks are started ahead of the wire (the window holds pages waiting for a download
//! permit, and each waits out its pacing gap holding one). Without this, the pages started
//! before the listing's end came back went out after it: on the WAN profile three requests
//! past the end took the permits while the end page's re-read, which alone decides whether
//! the listing is over, waited behind them (12 ms of every fetch), and a listing at
//! `max_concurrency=16` sent up to 17 requests past its end.
//!
//! A task that waits here has sent nothing, so the pager neither waits for it nor learns
//! anything from it: when the listing ends the task is cancelled, and if the empty page comes
//! back with rows when read again (rows were inserted) the reach is lifted and the task sends.
//! A page already sent once is never held back (its retries go as before): the pager waits for
//! such pages, and holding one would wait forever.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The highest page whose first reading may be sent now (`u64::MAX`: every page).
#[derive(Debug)]
pub struct Reach(watch::Sender<u64>);

impl Default for Reach {
    fn default() -> Self {
        Self(watch::Sender::new(u64::MAX))
    }
}

impl Reach {
    /// Pages above `last` (`None`: none) wait until it is raised.
    pub fn hold_above(&self, last: Option<u64>) {
        let last = last.unwrap_or(u64::MAX);
        self.0.send_if_modified(|reach| {
            let changed = *reach != last;
            *reach = last;
            changed
        });
    }

    /// Whether `page` may be sent now.
    pub fn allows(&self, page: u64) -> bool {
        page <= *self.0.borrow()
    }

    /// Waits until `page` may be sent.
    pub async fn wait_for(&self, page: u64) {
        let mut reach = self.0.subscribe();
        // Fails only once the sender is gone, and the sender lives as long as the caller's
        // borrow of it.
        let _ = reach.wait_for(|&last| page <= last).await;
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
}
