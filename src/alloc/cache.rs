//! A small, bounded cache of freed mappings, reused by size class.
//!
//! Why: unmapping every freed block and mapping every new one makes the kernel zero and fault
//! in each page again, and every `munmap` in a threaded process flushes the other threads'
//! TLBs; a fetch's page bodies and batch buffers are freed and allocated again at the same
//! sizes all the time, which glibc's heaps recycled for free (but then kept). Keeping a few
//! recently freed mappings, at most a bound's worth in all (set by [`super::Recycling`]: none
//! while no fetch runs), gives the recycling back without the retention: past the bound a
//! freed block is unmapped as before.
//!
//! Lock-free, so a `fork` can never leave a lock held in the child (only the forking thread
//! survives there): every slot is one atomic pointer, taken with a swap and filled with a
//! compare-exchange, and the byte count is raised before a block goes in and lowered after
//! one comes out, so at any instant (and in a forked child) it never says less than the cache
//! holds. Nothing here allocates.

use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The unit of mapping lengths (every Linux page size is a multiple of it).
pub(super) const PAGE: usize = 4096;

/// The fewest pages a mapped block has ([`super::LARGE`] is 16 KiB).
const MIN_PAGES: usize = 4;

/// Up to this many pages every page count is its own class (16..=64 KiB: a batch's column
/// buffers); above it classes are a quarter of a doubling apart, so a block of a class is at
/// most a quarter larger than asked for (and pages it never touches cost no memory).
const EXACT_PAGES: usize = 16;

/// The largest cached class, in pages: 1 MiB, well above a page body's chunks (hyper reads at
/// most ~408 KiB at a time) and a batch's string bytes. Larger blocks are few, and caching them
/// would hold more memory than their mapping costs in time.
const MAX_CACHED_PAGES: usize = 256;

/// Number of classes: one per page count from [`MIN_PAGES`] to [`EXACT_PAGES`], then four per
/// doubling up to [`MAX_CACHED_PAGES`].
pub(super) const CLASSES: usize =
    EXACT_PAGES - MIN_PAGES + 1 + 4 * (MAX_CACHED_PAGES / EXACT_PAGES).trailing_zeros() as usize;

/// Freed blocks kept per class at most.
pub(super) const SLOTS: usize = 64;

/// The length to map for a large block of `size` bytes: whole pages, rounded up to its class
/// when it has one. A pure function of the size, which Rust passes unchanged to `dealloc` and
/// `realloc`, so a block is always unmapped (or cached) with the length it was mapped with.
pub(super) fn mapping_len(size: usize) -> usize {
    let pages = size.div_ceil(PAGE);
    match class_of_pages(pages) {
        Some((_, class_pages)) => class_pages * PAGE,
        None => pages * PAGE,
    }
}

/// The class of a block of `pages` pages, and the pages of that class; `None` for a block too
/// small for the large path or too large to cache.
fn class_of_pages(pages: usize) -> Option<(usize, usize)> {
    if !(MIN_PAGES..=MAX_CACHED_PAGES).contains(&pages) {
        return None;
    }
    if pages <= EXACT_PAGES {
        return Some((pages - MIN_PAGES, pages));
    }
    // pages is in (2^b, 2^(b+1)] with b >= 4; the classes there are 5, 6, 7 and 8 steps of
    // 2^(b-2) pages.
    let b = (usize::BITS - 1 - (pages - 1).leading_zeros()) as usize;
    let step = 1 << (b - 2);
    let steps = pages.div_ceil(step);
    let index = EXACT_PAGES - MIN_PAGES + 1 + 4 * (b - EXACT_PAGES.trailing_zeros() as usize);
    Some((index + steps - 5, steps * step))
}

/// The class of a mapping of `len` bytes (a [`mapping_len`]), if it is cached at all.
fn class_of_len(len: usize) -> Option<usize> {
    debug_assert_eq!(len % PAGE, 0, "mapping lengths are whole pages");
    class_of_pages(len / PAGE)
        .filter(|&(_, pages)| pages * PAGE == len)
        .map(|(class, _)| class)
}

/// Freed mappings by class; see the module docs.
pub(super) struct Cache {
    slots: [[AtomicPtr<u8>; SLOTS]; CLASSES],
    /// Bytes of the mappings in `slots`, or more while a block goes in or comes out.
    bytes: AtomicUsize,
    max_bytes: AtomicUsize,
}

impl Cache {
    /// An empty cache that holds at most `max_bytes` of mappings.
    pub(super) const fn new(max_bytes: usize) -> Self {
        Self {
            slots: [const { [const { AtomicPtr::new(null_mut()) }; SLOTS] }; CLASSES],
            bytes: AtomicUsize::new(0),
            max_bytes: AtomicUsize::new(max_bytes),
        }
    }

    /// The most bytes of mappings this cache keeps.
    #[cfg(test)]
    pub(super) fn max_bytes(&self) -> usize {
        self.max_bytes.load(Ordering::Relaxed)
    }

    /// Sets the bound: later puts honour it; a cache already over it shrinks as blocks are
    /// taken or [trimmed](Self::trim).
    pub(super) fn set_max_bytes(&self, max: usize) {
        self.max_bytes.store(max, Ordering::Relaxed);
    }

    /// The bytes it keeps now (an upper bound while other threads use it).
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A cached mapping of exactly `len` bytes (a [`mapping_len`]), now the caller's, with
    /// whatever its last owner left in it; `None` if there is none.
    pub(super) fn take(&self, len: usize) -> Option<*mut u8> {
        let class = class_of_len(len)?;
        for slot in &self.slots[class] {
            // A plain load first: an empty slot costs no write to a shared cache line.
            if slot.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // Acquire pairs with `put`'s release: the block's pages and its removal from the
            // slot happen after its last owner was done with it.
            let block = slot.swap(null_mut(), Ordering::Acquire);
            if !block.is_null() {
                self.bytes.fetch_sub(len, Ordering::Relaxed);
                return Some(block);
            }
        }
        None
    }

    /// Keeps the freed mapping `block` of `len` bytes (a [`mapping_len`]) for a later
    /// [`take`](Self::take): true if it did (the cache owns it now), false if the caller must
    /// unmap it (too large to cache, or the cache is full).
    pub(super) fn put(&self, block: *mut u8, len: usize) -> bool {
        let Some(class) = class_of_len(len) else {
            return false;
        };
        if len > self.max_bytes.load(Ordering::Relaxed) {
            return false; // the common case while no fetch runs: no shared counter touched
        }
        // Counted before it goes in, so the count never says less than the slots hold.
        let before = self.bytes.fetch_add(len, Ordering::Relaxed);
        if before + len <= self.max_bytes.load(Ordering::Relaxed) {
            for slot in &self.slots[class] {
                if !slot.load(Ordering::Relaxed).is_null() {
                    continue;
                }
                if slot
                    .compare_exchange(null_mut(), block, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
            }
        }
        self.bytes.fetch_sub(len, Ordering::Relaxed);
        false
    }

    /// Takes cached mappings out, for `each` to unmap, until the cache holds at most `keep`
    /// bytes (or another thread's puts outpace it).
    pub(super) fn trim(&self, keep: usize, mut each: impl FnMut(*mut u8, usize)) {
        for (class, slots) in self.slots.iter().enumerate().rev() {
            for slot in slots {
                if self.bytes.load(Ordering::Relaxed) <= keep {
                    return;
                }
                let block = slot.swap(null_mut(), Ordering::Acquire);
                if !block.is_null() {
                    let len = class_len(class);
                    self.bytes.fetch_sub(len, Ordering::Relaxed);
                    each(block, len);
                }
            }
        }
    }

    /// Takes every cached mapping out, for `each` to unmap.
    #[cfg(test)]
    pub(super) fn drain(&self, each: impl FnMut(*mut u8, usize)) {
        self.trim(0, each);
    }
}

/// The mapping length of `class` (the inverse of [`class_of_len`]).
pub(super) fn class_len(class: usize) -> usize {
    let exact = EXACT_PAGES - MIN_PAGES + 1;
    if class < exact {
        return (class + MIN_PAGES) * PAGE;
    }
    let (doubling, steps) = ((class - exact) / 4, (class - exact) % 4 + 5);
    let step = 1 << (EXACT_PAGES.trailing_zeros() as usize + doubling - 2);
    steps * step * PAGE
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
