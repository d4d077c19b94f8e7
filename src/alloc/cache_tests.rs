//! The cache's classes, bounds and reuse, on caches of their own (the allocator's is shared
//! with every other test running at the same time) holding mappings the tests make.

use super::*;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A fresh mapping of `len` bytes.
fn map(len: usize) -> *mut u8 {
    crate::alloc::map_fresh(len).expect("mmap failed")
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: `p` is a mapping of `len` bytes from `map` that nothing uses any more.
    assert_eq!(unsafe { libc::munmap(p.cast(), len) }, 0);
}

/// Unmaps whatever `cache` still holds.
fn empty(cache: &Cache) {
    cache.drain(unmap);
    assert_eq!(cache.bytes(), 0);
}

#[test]
fn every_cached_length_has_one_class_and_a_class_wastes_at_most_a_quarter() {
    let mut seen = HashSet::new();
    let mut last = 0;
    for size in (LARGE_BYTES..=(MAX_CACHED_PAGES + 3) * PAGE).step_by(PAGE / 4) {
        let len = mapping_len(size);
        assert!(len >= size && len % PAGE == 0, "size {size}");
        assert!(len >= last, "lengths grow with sizes");
        last = len;
        let pages = size.div_ceil(PAGE);
        match class_of_len(len) {
            Some(class) => {
                assert!(pages <= MAX_CACHED_PAGES);
                assert!(class < CLASSES);
                assert_eq!(class_len(class), len);
                // No more than a quarter (plus the rounding to a page) above what was asked.
                assert!(len <= pages * PAGE * 5 / 4, "size {size} maps {len}");
                seen.insert(class);
            }
            None => {
                assert!(pages > MAX_CACHED_PAGES);
                assert_eq!(
                    len,
                    pages * PAGE,
                    "uncached blocks map whole pages, no more"
                );
            }
        }
    }
    assert_eq!(seen.len(), CLASSES, "every class is used");
    // Lengths that are not a class's (between classes, or past the largest) are never cached.
    assert_eq!(class_of_len(17 * PAGE), None);
    assert_eq!(class_of_len((MAX_CACHED_PAGES + 1) * PAGE), None);
}

/// 16 KiB, the smallest block the allocator maps.
const LARGE_BYTES: usize = MIN_PAGES * PAGE;

#[test]
fn a_freed_mapping_is_reused_by_its_class_only() {
    let cache = Cache::new(1 << 20);
    let (len, other) = (mapping_len(40 << 10), mapping_len(48 << 10));
    let block = map(len);
    assert!(cache.put(block, len));
    assert_eq!(cache.bytes(), len);
    assert_eq!(cache.take(other), None, "another class does not take it");
    assert_eq!(cache.take(len), Some(block));
    assert_eq!(cache.take(len), None, "taken once");
    assert_eq!(cache.bytes(), 0);
    unmap(block, len);
    // A length past the largest class is the caller's to unmap.
    let huge = mapping_len(4 << 20);
    let block = map(huge);
    assert!(!cache.put(block, huge));
    assert_eq!(cache.bytes(), 0);
    unmap(block, huge);
}

#[test]
fn the_byte_bound_is_honoured() {
    let cache = Cache::new(1 << 20);
    let len = mapping_len(192 << 10);
    let blocks: Vec<_> = (0..8).map(|_| map(len)).collect();
    let kept = blocks.iter().filter(|&&b| cache.put(b, len)).count();
    assert_eq!(
        kept,
        (1 << 20) / len,
        "as many as fit in the bound, no more"
    );
    assert!(cache.bytes() <= cache.max_bytes());
    for &b in &blocks[kept..] {
        unmap(b, len);
    }
    // A smaller block still fits in what is left; one more of these would not.
    let rest = (1 << 20) - kept * len;
    let small = mapping_len(rest);
    assert_eq!(small, rest, "the rest is a class's length");
    let b = map(small);
    assert!(cache.put(b, small));
    assert_eq!(cache.bytes(), 1 << 20);
    let c = map(LARGE_BYTES);
    assert!(!cache.put(c, LARGE_BYTES));
    unmap(c, LARGE_BYTES);
    empty(&cache);
}

#[test]
fn the_slot_bound_is_honoured() {
    let cache = Cache::new(1 << 30);
    let blocks: Vec<_> = (0..SLOTS + 3).map(|_| map(LARGE_BYTES)).collect();
    let kept: Vec<bool> = blocks.iter().map(|&b| cache.put(b, LARGE_BYTES)).collect();
    assert!(kept[..SLOTS].iter().all(|&k| k));
    assert!(kept[SLOTS..].iter().all(|&k| !k));
    assert_eq!(cache.bytes(), SLOTS * LARGE_BYTES);
    for &b in &blocks[SLOTS..] {
        unmap(b, LARGE_BYTES);
    }
    // Each block comes back exactly once.
    let back: HashSet<_> = (0..SLOTS)
        .map(|_| cache.take(LARGE_BYTES).unwrap())
        .collect();
    assert_eq!(back, blocks[..SLOTS].iter().copied().collect());
    assert_eq!(cache.take(LARGE_BYTES), None);
    for b in back {
        unmap(b, LARGE_BYTES);
    }
    empty(&cache);
}

#[test]
fn threads_sharing_a_cache_never_hold_the_same_block() {
    // Each thread stamps the blocks it holds with its own mark and checks the stamp is still
    // there before letting go: a block handed to two threads at once would show the other's.
    let cache = Arc::new(Cache::new(2 << 20));
    let over_bound = Arc::new(AtomicBool::new(false));
    let lens = [
        LARGE_BYTES,
        mapping_len(40 << 10),
        mapping_len(300 << 10),
        mapping_len(1 << 20),
    ];
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let (cache, over_bound) = (Arc::clone(&cache), Arc::clone(&over_bound));
            std::thread::spawn(move || {
                let mut held: Vec<(*mut u8, usize)> = Vec::new();
                for round in 0..2_000usize {
                    let len = lens[(round * 7 + t as usize) % lens.len()];
                    let block = cache.take(len).unwrap_or_else(|| map(len));
                    // SAFETY: the block is this thread's, `len` bytes long.
                    unsafe {
                        block.write_bytes(t, PAGE);
                        block.add(len - 1).write(t);
                    }
                    held.push((block, len));
                    if held.len() > 3 || round % 2 == 1 {
                        let (block, len) = held.remove(round % held.len());
                        // SAFETY: as above; the block is still this thread's.
                        let (first, mid, last) = unsafe {
                            (
                                block.read(),
                                block.add(PAGE - 1).read(),
                                block.add(len - 1).read(),
                            )
                        };
                        assert_eq!((first, mid, last), (t, t, t), "thread {t} round {round}");
                        if !cache.put(block, len) {
                            unmap(block, len);
                        }
                        if cache.bytes() > cache.max_bytes() + 8 * (1 << 20) {
                            // More than the bound plus what the 8 threads' puts at this
                            // instant may count before they see the bound and give it back.
                            over_bound.store(true, Ordering::Relaxed);
                        }
                    }
                }
                for (block, len) in held {
                    if !cache.put(block, len) {
                        unmap(block, len);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!over_bound.load(Ordering::Relaxed));
    assert!(cache.bytes() <= cache.max_bytes());
    empty(&cache);
}

#[test]
fn a_lowered_bound_refuses_puts_and_trim_gives_back_down_to_what_is_kept() {
    let cache = Cache::new(4 << 20);
    let len = mapping_len(256 << 10);
    let blocks: Vec<_> = (0..8).map(|_| map(len)).collect();
    assert!(blocks.iter().all(|&b| cache.put(b, len)));
    assert_eq!(cache.bytes(), 8 * len);
    cache.set_max_bytes(0);
    let extra = map(LARGE_BYTES);
    assert!(
        !cache.put(extra, LARGE_BYTES),
        "nothing goes in past a lowered bound"
    );
    unmap(extra, LARGE_BYTES);
    let mut given = Vec::new();
    cache.trim(3 * len, |b, l| {
        assert_eq!(l, len);
        given.push(b);
    });
    assert_eq!(given.len(), 5);
    assert_eq!(cache.bytes(), 3 * len);
    for b in given {
        unmap(b, len);
    }
    // What was not given back is still there, once each.
    let rest: HashSet<_> = (0..3).map(|_| cache.take(len).unwrap()).collect();
    assert_eq!(rest.len(), 3);
    assert!(rest.iter().all(|b| blocks.contains(b)));
    for b in rest {
        unmap(b, len);
    }
    empty(&cache);
}
