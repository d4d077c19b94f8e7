//! The extension's global allocator: blocks of [`LARGE`] bytes or more are mapped from the
//! kernel and unmapped when freed (grown and shrunk in place or moved by `mremap`); everything
//! smaller goes to the system allocator as before.
//!
//! Why: glibc's malloc raises its mmap threshold to the size of any mapped block it frees (up to
//! 32 MiB), so after the first page body or string buffer is freed, later ones come from its
//! heaps instead, fragment them, and what they free stays resident. A fetch into polars peaked
//! at 1.6× the frame, most of the excess freed memory glibc kept. Mapping our large blocks gives
//! each back to the kernel the moment it is freed, without touching malloc's settings (a library
//! must not call `mallopt` for its host process): only this library's Rust allocations come
//! here. Arrow buffers handed to polars or pyarrow are freed through our release callbacks, so
//! they come back here too. Growing a mapped `Vec` with `mremap` moves page-table entries, not
//! bytes.
//!
//! A mapped block starts on a page boundary and holds nothing but its data, so a column buffer
//! of 32 KiB takes exactly 8 pages. If the kernel refuses a mapping (`vm.max_map_count` reached
//! by a very large table), the block comes from the system allocator instead, placed so that it
//! never starts on a 4 KiB boundary, with its allocation's start stored just before it: a
//! block's address says which of the two it is, so running out of mappings degrades instead of
//! aborting.
//!
//! Unmapping every freed block costs time, though: the kernel zeroes and faults in every page
//! of the next block again (a 1M-call fetch took ~70% more page faults and ~0.7 s more system
//! time than with glibc). So while a fetch runs ([`Recycling`]), freed mappings go to a small
//! bounded cache ([`cache`]) and new blocks of the same size class take them back; when the
//! fetch ends the cache is emptied, so it adds nothing to the frame's peak or to what an idle
//! process holds.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

mod cache;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::{self, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

use cache::{mapping_len, Cache};

/// Blocks of at least this many bytes are mapped: a batch's column buffers (4,096 rows of 4 or
/// 8 bytes, string views of 16) and string bytes, and page bodies' chunks. Below it, rounding
/// up to whole pages would waste more than the heap's fragmentation costs.
pub const LARGE: usize = 16 << 10;

/// The most alignment the large path serves (arrow asks for at most 128 or 256 bytes); also the
/// offset of a fallback block's data into its heap allocation.
const MAX_ALIGN: usize = 256;

/// Mapped blocks start on multiples of this (every Linux page size is a multiple); fallback
/// blocks never do.
const MIN_PAGE: usize = 4096;

/// The most bytes of freed mappings the cache keeps while no fetch runs: none, so an idle
/// process holds only live blocks, and a frame built after a fetch does not peak higher by
/// what the cache holds.
const IDLE_CACHE_BYTES: usize = 0;

/// The most it keeps while a fetch runs (see [`Recycling`]): a 1M-call fetch frees a page body
/// of ~15 MB at once, in chunks of ~400 KiB, while the next pages' are allocated; 32 MiB let it
/// take about as many fresh pages from the kernel as glibc's heaps do (64 did no better).
const BUSY_CACHE_BYTES: usize = 32 << 20;

/// Freed mappings kept for reuse, shared by every thread.
static CACHE: Cache = Cache::new(IDLE_CACHE_BYTES);

/// How many [`Recycling`] guards are alive.
static FETCHES: AtomicUsize = AtomicUsize::new(0);

/// Held while a fetch runs: the cache of freed mappings may keep [`BUSY_CACHE_BYTES`] then, and
/// when the last guard is dropped it unmaps all but [`IDLE_CACHE_BYTES`] of them, before the
/// caller builds its frame. A process forked while a fetch ran keeps the larger bound (its
/// guard's thread is gone): a bounded cost, and only for a child that allocates. Held by the
/// eager fetch (`python::fetch`) until its listing's end shows (`Pager::hold_until_the_end_shows`), every stream while it is read (`python::stream`) and every
/// emulator POST being read (`emulator::post_read`); without a guard the cache keeps nothing.
pub(crate) struct Recycling(());

impl Recycling {
    pub(crate) fn start() -> Self {
        if FETCHES.fetch_add(1, Ordering::Relaxed) == 0 {
            CACHE.set_max_bytes(BUSY_CACHE_BYTES);
        }
        Self(())
    }
}

impl Drop for Recycling {
    fn drop(&mut self) {
        if FETCHES.fetch_sub(1, Ordering::Relaxed) == 1 {
            CACHE.set_max_bytes(IDLE_CACHE_BYTES);
            CACHE.trim(IDLE_CACHE_BYTES, unmap);
        }
    }
}

/// Unmaps a mapping of `len` bytes that the cache gave back.
fn unmap(block: *mut u8, len: usize) {
    // SAFETY: `block` starts a mapping of `len` bytes that the cache owned, so nothing else
    // uses it.
    let unmapped = unsafe { libc::munmap(block.cast(), len) };
    debug_assert_eq!(unmapped, 0, "munmap of a cached block failed");
}

/// See the module docs.
pub struct LargeBlocksMapped;

/// Registered unless built with the `system-alloc` feature (glibc's malloc for everything, to
/// measure against).
#[cfg_attr(not(feature = "system-alloc"), global_allocator)]
#[cfg_attr(feature = "system-alloc", allow(dead_code))]
static GLOBAL: LargeBlocksMapped = LargeBlocksMapped;

/// Whether a block of `size` bytes aligned to `align` takes the large path. A pure function of
/// the layout, which Rust passes unchanged to `dealloc` and `realloc`: each call finds the
/// block where it was put.
fn is_large(size: usize, align: usize) -> bool {
    size >= LARGE && align <= MAX_ALIGN
}

/// The heap layout of a fallback block of `size` data bytes: room to move the data one
/// `MAX_ALIGN` step off a page boundary, with the allocation's start stored before it.
fn fallback_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(2 * MAX_ALIGN)?, MAX_ALIGN).ok()
}

/// Whether the large block at `data` is a mapping (else a fallback block from the heap).
fn is_mapped(data: *mut u8) -> bool {
    data as usize % MIN_PAGE == 0
}

/// A new large block of `size` bytes (at least [`LARGE`]): its data pointer, or null.
///
/// # Safety
/// The caller frees it with [`free_large`] and the same `size` (or resizes it with
/// [`realloc_large`]).
unsafe fn alloc_large(cache: &Cache, size: usize, zeroed: bool) -> *mut u8 {
    let len = mapping_len(size);
    if let Some(block) = cache.take(len) {
        if zeroed {
            // SAFETY: the cache gave this thread the whole mapping of `len >= size` bytes.
            unsafe { block.write_bytes(0, size) };
        }
        return block;
    }
    if let Some(mapped) = map_fresh(len) {
        return mapped;
    }
    // SAFETY: see `alloc_fallback`.
    unsafe { alloc_fallback(size, zeroed) }
}

/// A fresh anonymous mapping of `len` bytes (reading as zeros), or `None` if the kernel
/// refuses one.
fn map_fresh(len: usize) -> Option<*mut u8> {
    // SAFETY: an anonymous private mapping at an address the kernel picks touches no existing
    // memory; failure is MAP_FAILED, checked below.
    let mapped = unsafe {
        libc::mmap(
            null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (mapped != libc::MAP_FAILED).then(|| mapped.cast())
}

/// A large block from the system allocator, for when the kernel refuses a mapping.
///
/// # Safety
/// As for [`alloc_large`].
#[cold]
unsafe fn alloc_fallback(size: usize, zeroed: bool) -> *mut u8 {
    let Some(layout) = fallback_layout(size) else {
        return null_mut();
    };
    // SAFETY: `layout` has a non-zero size and a power-of-two alignment.
    let base = unsafe {
        if zeroed {
            System.alloc_zeroed(layout)
        } else {
            System.alloc(layout)
        }
    };
    if base.is_null() {
        return null_mut();
    }
    // `base` is MAX_ALIGN-aligned; the data starts one or two MAX_ALIGN steps in, whichever is
    // off a page boundary, leaving at least `size` bytes after it and a word before it.
    let mut offset = MAX_ALIGN;
    if (base as usize + offset) % MIN_PAGE == 0 {
        offset += MAX_ALIGN;
    }
    // SAFETY: `offset <= 2 * MAX_ALIGN`, so `data..data + size` is inside the allocation and
    // the word before `data` (aligned: MAX_ALIGN is a multiple of the word size) is too.
    unsafe {
        let data = base.add(offset);
        data.cast::<*mut u8>().sub(1).write(base);
        data
    }
}

/// Frees a large block of `size` bytes.
///
/// # Safety
/// `data` must come from [`alloc_large`] or [`realloc_large`] with `size`, and not be freed.
unsafe fn free_large(cache: &Cache, data: *mut u8, size: usize) {
    if is_mapped(data) {
        let len = mapping_len(size);
        if cache.put(data, len) {
            return;
        }
        // SAFETY: `data` starts a mapping of `len` bytes that only this block uses.
        let unmapped = unsafe { libc::munmap(data.cast(), len) };
        debug_assert_eq!(
            unmapped, 0,
            "munmap of a block this allocator mapped failed"
        );
    } else {
        let layout = fallback_layout(size).expect("the layout the block was allocated with");
        // SAFETY: a fallback block: the word before `data` is its allocation's start, which
        // came from System with exactly this layout.
        unsafe {
            let base = data.cast::<*mut u8>().sub(1).read();
            System.dealloc(base, layout);
        }
    }
}

/// Resizes a large block of `old` bytes to `new` (both at least [`LARGE`]), keeping the first
/// `min(old, new)` bytes; the new data pointer, or null with the old block untouched.
///
/// # Safety
/// As for [`free_large`] with `old`; `new` must be at least [`LARGE`].
unsafe fn realloc_large(cache: &Cache, data: *mut u8, old: usize, new: usize) -> *mut u8 {
    if is_mapped(data) {
        let (old_len, new_len) = (mapping_len(old), mapping_len(new));
        if old_len == new_len {
            // Same class: the mapping already has room.
            return data;
        }
        // SAFETY: `data` starts a mapping of `old_len` bytes that only this block uses; with
        // MREMAP_MAYMOVE the kernel resizes it in place or moves its pages to a new
        // (page-aligned) address, and on failure leaves it as it was.
        let moved = unsafe { libc::mremap(data.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
        if moved != libc::MAP_FAILED {
            return moved.cast();
        }
    }
    // A fallback block, or a mapping the kernel would not resize: copy into a new block.
    // SAFETY: `new >= LARGE`; both blocks are live and distinct, and `min(old, new)` bytes
    // are valid in each; the old one is freed once, with its size.
    unsafe {
        let fresh = alloc_large(cache, new, false);
        if !fresh.is_null() {
            ptr::copy_nonoverlapping(data, fresh, old.min(new));
            free_large(cache, data, old);
        }
        fresh
    }
}

// SAFETY: every block is served by exactly one path, chosen by `is_large` from its layout, which
// GlobalAlloc's contract makes the caller pass unchanged to dealloc/realloc: small blocks are
// System's from alloc to dealloc; large blocks are ours (alloc_large/free_large/realloc_large)
// with data aligned to a page or to MAX_ALIGN, at least the alignment the large path accepts. A realloc that
// crosses the threshold copies into a block of the other path and frees the old one there.
unsafe impl GlobalAlloc for LargeBlocksMapped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: the size is at least LARGE.
            unsafe { alloc_large(&CACHE, layout.size(), false) }
        } else {
            // SAFETY: forwarded with the caller's (valid, non-zero) layout.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: the size is at least LARGE.
            unsafe { alloc_large(&CACHE, layout.size(), true) }
        } else {
            // SAFETY: forwarded with the caller's layout.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: allocated on the large path with this size (see the impl's SAFETY).
            unsafe { free_large(&CACHE, ptr, layout.size()) }
        } else {
            // SAFETY: allocated by System with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old, align) = (layout.size(), layout.align());
        match (is_large(old, align), is_large(new_size, align)) {
            // SAFETY: a large block of `old` bytes resized to a large size.
            (true, true) => unsafe { realloc_large(&CACHE, ptr, old, new_size) },
            // SAFETY: forwarded with the caller's layout and new size.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (was_large, _) => {
                // SAFETY: GlobalAlloc::realloc's contract makes `new_size` with `align` a valid
                // layout. The new block (the other path) and the old one are distinct and each
                // holds at least `min(old, new_size)` bytes; the old one is freed on its path.
                unsafe {
                    let new_layout = Layout::from_size_align_unchecked(new_size, align);
                    let fresh = self.alloc(new_layout);
                    if !fresh.is_null() {
                        ptr::copy_nonoverlapping(ptr, fresh, old.min(new_size));
                        if was_large {
                            free_large(&CACHE, ptr, old);
                        } else {
                            System.dealloc(ptr, layout);
                        }
                    }
                    fresh
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte that depends on its position, to see that contents survive a move.
    fn pattern(i: usize, seed: usize) -> u8 {
        (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8
    }

    fn fill(p: *mut u8, len: usize, seed: usize) {
        for i in (0..len).step_by(509) {
            // SAFETY: i < len, inside the live block.
            unsafe { p.add(i).write(pattern(i, seed)) }
        }
    }

    /// Checks the bytes `fill` wrote below `len` (after a shrink, `len` is the kept prefix).
    fn check(p: *const u8, len: usize, seed: usize) {
        for i in (0..len).step_by(509) {
            // SAFETY: i < len, inside the live block.
            assert_eq!(
                unsafe { p.add(i).read() },
                pattern(i, seed),
                "byte {i} of {len}"
            );
        }
    }

    #[test]
    fn the_threshold_and_alignment_choose_the_path() {
        assert!(!is_large(LARGE - 1, 8));
        assert!(is_large(LARGE, 8) && is_large(LARGE, MAX_ALIGN));
        assert!(
            !is_large(LARGE, MAX_ALIGN * 2),
            "larger alignments stay with the system"
        );
        assert!(!is_large(0, 1));
    }

    #[test]
    fn blocks_are_aligned_and_zeroed_on_both_paths() {
        let a = LargeBlocksMapped;
        for &size in &[1, 24, 4096, LARGE - 1, LARGE, LARGE + 1, 3 << 20] {
            for &align in &[1, 8, 16, 64, 128, 256, 4096, 1 << 16] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero size; freed below with the same layout.
                unsafe {
                    let p = a.alloc_zeroed(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    check_zero(p, size);
                    // A large block is a mapping of its own, so freeing it returns its pages.
                    assert!(!is_large(size, align) || is_mapped(p));
                    fill(p, size, size ^ align);
                    check(p, size, size ^ align);
                    a.dealloc(p, layout);
                }
            }
        }
    }

    fn check_zero(p: *const u8, len: usize) {
        for i in (0..len).step_by(997).chain(len.checked_sub(1)) {
            // SAFETY: i < len.
            assert_eq!(unsafe { p.add(i).read() }, 0);
        }
    }

    #[test]
    fn realloc_keeps_contents_across_the_threshold_both_ways() {
        let a = LargeBlocksMapped;
        // small → large → larger (mremap) → smaller large → small → tiny, then free.
        let sizes = [
            100,
            LARGE - 8,
            LARGE,
            5 << 20,
            64 << 20,
            LARGE + 4096,
            1000,
            1,
        ];
        for &align in &[1, 8, 128] {
            let mut layout = Layout::from_size_align(sizes[0], align).unwrap();
            // SAFETY: each step reallocates the live block with its current layout; the
            // contents checked are within both sizes.
            unsafe {
                let mut p = a.alloc(layout);
                fill(p, layout.size(), 7);
                for &new in &sizes[1..] {
                    let kept = layout.size().min(new);
                    p = a.realloc(p, layout, new);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0);
                    check(p, kept, 7);
                    layout = Layout::from_size_align(new, align).unwrap();
                    fill(p, new, 7);
                    check(p, new, 7);
                }
                a.dealloc(p, layout);
            }
        }
    }

    #[test]
    fn fallback_blocks_are_off_page_aligned_and_resize_and_free() {
        // What a refused mapping gives: called directly, as the kernel rarely refuses.
        for &size in &[LARGE, LARGE + 10, 3 << 20] {
            // SAFETY: each block is used within its size and freed once with it.
            unsafe {
                let p = alloc_fallback(size, true);
                assert!(!p.is_null() && !is_mapped(p));
                assert_eq!(p as usize % MAX_ALIGN, 0);
                check_zero(p, size);
                fill(p, size, 3);
                // Growing copies it into a mapping; shrinking that one back is an mremap.
                let q = realloc_large(&CACHE, p, size, 4 << 20);
                assert!(is_mapped(q));
                check(q, size, 3);
                let r = realloc_large(&CACHE, q, 4 << 20, LARGE);
                check(r, LARGE, 3);
                free_large(&CACHE, r, LARGE);
                let p = alloc_fallback(size, false);
                fill(p, size, 5);
                check(p, size, 5);
                free_large(&CACHE, p, size);
            }
        }
    }

    #[test]
    fn a_freed_block_is_reused_zeroed_if_asked_and_resized_in_its_class_in_place() {
        let cache = Cache::new(4 << 20);
        // SAFETY: every block is used within its size and freed once with it, on `cache`.
        unsafe {
            let p = alloc_large(&cache, 40 << 10, false);
            assert!(is_mapped(p));
            fill(p, 40 << 10, 1);
            free_large(&cache, p, 40 << 10);
            assert_eq!(cache.bytes(), mapping_len(40 << 10), "kept, not unmapped");
            // A size of the same class takes it back, zeroed when asked for zeros.
            let q = alloc_large(&cache, (37 << 10) + 5, true);
            assert_eq!(q, p);
            assert_eq!(cache.bytes(), 0);
            check_zero(q, (37 << 10) + 5);
            fill(q, (37 << 10) + 5, 2);
            // Within the class a resize keeps the block where it is.
            let r = realloc_large(&cache, q, (37 << 10) + 5, 40 << 10);
            assert_eq!(r, q);
            check(r, (37 << 10) + 5, 2);
            fill(r, 40 << 10, 3);
            // Out of it the mapping is moved or grown by mremap, contents kept.
            let s = realloc_large(&cache, r, 40 << 10, 3 << 20);
            check(s, 40 << 10, 3);
            fill(s, 3 << 20, 4);
            let t = realloc_large(&cache, s, 3 << 20, 200 << 10);
            check(t, 200 << 10, 4);
            free_large(&cache, t, 200 << 10);
            assert_eq!(cache.bytes(), mapping_len(200 << 10));
            // Too large a block to keep is unmapped.
            let u = alloc_large(&cache, 3 << 20, false);
            free_large(&cache, u, 3 << 20);
            assert_eq!(cache.bytes(), mapping_len(200 << 10));
            // A dirty cached block asked for with zeros comes back all zeros.
            let v = alloc_large(&cache, 200 << 10, true);
            assert_eq!(v, t);
            check_zero(v, 200 << 10);
            free_large(&cache, v, 200 << 10);
            cache.drain(|block, len| {
                assert_eq!(libc::munmap(block.cast(), len), 0);
            });
        }
    }

    #[test]
    fn a_child_forked_while_other_threads_use_the_cache_allocates_and_frees() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4u8)
            .map(|t| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut round = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let v = vec![t; LARGE * (1 + round % 20)];
                        assert!(v.iter().step_by(4096).all(|&b| b == t));
                        round += 1;
                    }
                })
            })
            .collect();
        for fork in 0..20 {
            // SAFETY: the child runs only code that cannot wait on another thread (no panics,
            // no stdout): allocations on both paths (malloc resets its own locks at fork), then
            // _exit. Its exit status says whether its blocks held what it wrote.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let mut ok = true;
                for i in 0..200usize {
                    let byte = (i % 251) as u8;
                    let mut v: Vec<u8> = Vec::with_capacity(LARGE * (1 + i % 20));
                    v.resize(v.capacity(), byte);
                    v.extend_from_slice(&[byte; 100]);
                    ok &= v.iter().step_by(1000).all(|&b| b == byte);
                }
                // SAFETY: ends the child without running the parent's atexit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            let started = Instant::now();
            let mut status = 0;
            loop {
                // SAFETY: waits for our own child without blocking.
                let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                if done == pid {
                    break;
                }
                if started.elapsed() > Duration::from_secs(20) {
                    // SAFETY: kills and reaps our own child.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, &mut status, 0);
                    }
                    panic!("child {fork} hung: a lock held at fork?");
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child {fork}: status {status}"
            );
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }

    #[test]
    fn a_fetch_widens_the_cache_and_its_end_narrows_it_again() {
        assert_eq!(CACHE.max_bytes(), IDLE_CACHE_BYTES);
        let outer = Recycling::start();
        assert_eq!(CACHE.max_bytes(), BUSY_CACHE_BYTES);
        let inner = Recycling::start();
        drop(outer);
        assert_eq!(
            CACHE.max_bytes(),
            BUSY_CACHE_BYTES,
            "another fetch still runs"
        );
        // Blocks freed meanwhile may be kept, and are reusable through the global allocator.
        let kept: Vec<Vec<u8>> = (0..8).map(|i| vec![i; 100 << 10]).collect();
        drop(kept);
        let again: Vec<Vec<u8>> = (0..8).map(|i| vec![i + 1; 100 << 10]).collect();
        assert!(again
            .iter()
            .zip(1..)
            .all(|(v, i)| v.iter().all(|&b| b == i)));
        drop(again);
        drop(inner);
        assert_eq!(CACHE.max_bytes(), IDLE_CACHE_BYTES);
    }

    #[test]
    fn vecs_through_the_global_allocator_grow_and_shrink() {
        // Growth by doubling crosses the threshold and then goes through mremap.
        let mut v: Vec<u64> = Vec::new();
        for i in 0..(4 << 20) {
            v.push(i);
        }
        assert!((0..v.len()).step_by(4097).all(|i| v[i] == i as u64));
        v.truncate(1000);
        v.shrink_to_fit();
        assert!(v.iter().copied().eq(0..1000));
        v.clear();
        v.shrink_to_fit();
        assert_eq!(v.capacity(), 0);
    }

    #[test]
    fn many_threads_allocate_and_free_at_once() {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = LargeBlocksMapped;
                    let mut live: Vec<(*mut u8, Layout, usize)> = Vec::new();
                    for round in 0..200 {
                        let size = match (round * 7 + t) % 5 {
                            0 => 64,
                            1 => LARGE - 1,
                            2 => LARGE,
                            3 => LARGE * 3 + round,
                            _ => 2 << 20,
                        };
                        let layout = Layout::from_size_align(size, 8).unwrap();
                        let seed = t * 1000 + round;
                        // SAFETY: non-zero size; every block is freed once with its layout.
                        unsafe {
                            let p = a.alloc(layout);
                            assert!(!p.is_null());
                            fill(p, size, seed);
                            live.push((p, layout, seed));
                            if round % 3 == 2 {
                                let (p, layout, seed) = live.swap_remove(round % live.len());
                                check(p, layout.size(), seed);
                                let grown = a.realloc(p, layout, layout.size() * 2);
                                check(grown, layout.size(), seed);
                                let layout = Layout::from_size_align(layout.size() * 2, 8).unwrap();
                                a.dealloc(grown, layout);
                            }
                        }
                    }
                    for (p, layout, seed) in live {
                        check(p, layout.size(), seed);
                        // SAFETY: live block freed once with its layout.
                        unsafe { a.dealloc(p, layout) }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
