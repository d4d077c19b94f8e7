//! The string forms built in one tight loop each, from arrays whose strings arrow has already
//! validated, so nothing is checked twice: views of a Utf8/LargeUtf8 array (16 bytes a value)
//! and the offsets of one at the other width (the value bytes and nulls shared as they are).
//!
//! arrow's own conversions do the same work through a builder (a capacity check, a call and a
//! null bit per value, then for mostly-short columns a second pass, `gc`, over the views) or,
//! between offset widths, a checked cast of each offset; building the arrays ourselves with the
//! safe constructors would validate every string as UTF-8 again. On the 1M-row `calls` fetch (nine
//! string columns) the loops below halved the conversion's user CPU (0.27 s to 0.15 s); most of
//! what remains is the kernel faulting in the new views' pages. The unsafe here is only the
//! constructors that skip that validation; each SAFETY comment says why what they skip holds.
#![allow(unsafe_code)]

use arrow_array::builder::make_view;
use arrow_array::{Array, GenericStringArray, OffsetSizeTrait, StringViewArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_data::{ByteView, MAX_INLINE_VIEW_LEN};

/// `strings` as views, or `None` when its value bytes reach past what a view's u32 offset
/// addresses (the caller then lets arrow copy them into several buffers).
///
/// Strings of up to 12 bytes live in their views. The views of longer ones point into the
/// value buffer, which is shared as it is, unless they use at most half of its bytes: then
/// those strings are copied into a buffer of their own and the rest is not kept alive (none at
/// all when every string is short). Null slots get the zero view (an empty string), as arrow's
/// builder gives them.
pub fn views<O: OffsetSizeTrait>(strings: &GenericStringArray<O>) -> Option<StringViewArray> {
    let offsets = strings.value_offsets();
    let values = strings.values().as_slice();
    let end = offsets.last().map_or(0, |o| o.as_usize());
    // Offsets are monotonic (OffsetBuffer's invariant), so every string ends by the last one;
    // checked once here so that no view below can point past the buffer.
    assert!(end <= values.len(), "offsets past the value bytes");
    if end > u32::MAX as usize {
        return None;
    }
    let mut views: Vec<u128> = Vec::with_capacity(strings.len());
    let mut long_bytes = 0usize;
    match strings.nulls().filter(|n| n.null_count() > 0) {
        None => views.extend(offsets.windows(2).map(|w| {
            let (view, long) = view_of(values, w[0].as_usize(), w[1].as_usize());
            long_bytes += long;
            view
        })),
        // The validity read 64 slots at a time, and a null slot's view zeroed by a mask rather
        // than a branch (its bytes, if any, are still inside the buffer, so reading them is fine).
        Some(nulls) => {
            let chunks = nulls.inner().bit_chunks();
            let words = chunks.iter().chain([chunks.remainder_bits()]);
            for (k, bits) in words.enumerate() {
                let first = 64 * k;
                let last = (first + 64).min(strings.len());
                for (j, w) in offsets[first..=last].windows(2).enumerate() {
                    let valid = (bits >> j) & 1;
                    let (view, long) = view_of(values, w[0].as_usize(), w[1].as_usize());
                    views.push(view & 0u128.wrapping_sub(valid as u128));
                    long_bytes += long & (valid as usize).wrapping_neg();
                }
            }
        }
    }
    debug_assert_eq!(views.len(), strings.len());
    let buffers = if long_bytes == 0 {
        Vec::new()
    } else if long_bytes * 2 <= strings.values().len() {
        vec![compact(&mut views, values, long_bytes)]
    } else {
        vec![strings.values().clone()]
    };
    // SAFETY (the invariants `StringViewArray::try_new` would check, all held by construction):
    // - one view a slot: `views` has `strings.len()` entries (one per offset window) and the
    //   nulls are `strings`' own, of that length.
    // - a view of at most 12 bytes holds them inline, zero-padded: `view_of` masks off every
    //   byte past the string (or arrow's `make_view` builds it), and a null slot's view is 0.
    // - a longer view points inside buffer 0 with its first 4 bytes as prefix: it was made from
    //   `values[start..end]` with `end <= values.len()` (asserted above), and `buffers[0]` is
    //   `strings.values()` itself, or the compacted copy whose views `compact` rewrote to the
    //   place it copied each string to. No longer view exists when `buffers` is empty, since
    //   `long_bytes` counts every one.
    // - every view's bytes are UTF-8: they are one non-null slot's bytes of a StringArray,
    //   which arrow validated when the array was built (its type's invariant), unmoved or copied
    //   whole.
    Some(unsafe {
        StringViewArray::new_unchecked(ScalarBuffer::from(views), buffers, strings.nulls().cloned())
    })
}

/// What a view keeps of `raw << 32` (the 16 bytes from a string's start, moved past the length
/// field), by the string's length: the first `len` bytes for up to 12 (so the padding is zero),
/// else only the first 4, its prefix. Index `len.min(13)`.
const KEEP: [u128; 14] = {
    let mut keep = [0u128; 14];
    let mut len = 0;
    while len <= 12 {
        keep[len] = (u128::MAX >> (8 * (12 - len))) & !(u32::MAX as u128);
        len += 1;
    }
    keep[13] = (u32::MAX as u128) << 32;
    keep
};

/// The view of `values[start..end]` pointing at `start` in buffer 0, and how many bytes it
/// keeps in that buffer (0 when inline). The caller guarantees `start <= end <= values.len()`
/// and `end <= u32::MAX`.
#[inline(always)]
fn view_of(values: &[u8], start: usize, end: usize) -> (u128, usize) {
    let len = end - start;
    let long = len > MAX_INLINE_VIEW_LEN as usize;
    let view = match values.get(start..start + 16) {
        // The 16 bytes from the string's start in one load, masked to the inline bytes or the
        // prefix (bytes past the string belong to the next ones). No branch on the length, so
        // a column mixing short and long strings costs no mispredictions.
        Some(chunk) => {
            let raw = u128::from_le_bytes(chunk.try_into().expect("16 bytes"));
            let place = if long { (start as u128) << 96 } else { 0 };
            ((raw << 32) & KEEP[len.min(13)]) | place | len as u128
        }
        // Within 16 bytes of the buffer's end: arrow's own view maker.
        None => make_view(&values[start..end], 0, start as u32),
    };
    (view, if long { len } else { 0 })
}

/// Copies the strings the long views among `views` point at in `values` into a buffer of
/// `long_bytes` bytes, and points those views there.
fn compact(views: &mut [u128], values: &[u8], long_bytes: usize) -> Buffer {
    let mut kept = Vec::with_capacity(long_bytes);
    for view in views.iter_mut() {
        let len = *view as u32;
        if len > MAX_INLINE_VIEW_LEN {
            let old = ByteView::from(*view);
            let start = old.offset as usize;
            let at = kept.len() as u32;
            kept.extend_from_slice(&values[start..start + len as usize]);
            *view = old.with_offset(at).as_u128();
        }
    }
    debug_assert_eq!(kept.len(), long_bytes);
    Buffer::from_vec(kept)
}

/// `strings` with its offsets at the width `T` (Utf8 ⇄ LargeUtf8), sharing its value bytes and
/// nulls; `None` when its offsets reach past what `T` holds (only narrowing can).
pub fn reoffset<F, T>(strings: &GenericStringArray<F>) -> Option<GenericStringArray<T>>
where
    F: OffsetSizeTrait,
    T: OffsetSizeTrait,
{
    let offsets = strings.value_offsets();
    // Offsets are monotonic and non-negative: if the last fits `T`, every one does.
    T::from_usize(offsets.last().map_or(0, |o| o.as_usize()))?;
    let wide: Vec<T> = offsets.iter().map(|o| T::usize_as(o.as_usize())).collect();
    // SAFETY: the same offsets as `strings`' (each fits `T`, checked through the last), so the
    // list is non-empty, non-negative and monotonic, as `OffsetBuffer::new` would check.
    let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(wide)) };
    // SAFETY: the offsets, value bytes and nulls of `strings`, a valid array: every offset is
    // within the values, on a UTF-8 character boundary, each slot's bytes are UTF-8 (what
    // `GenericStringArray::try_new` would check again, reading every byte), and the nulls
    // have one bit a slot.
    Some(unsafe {
        GenericStringArray::new_unchecked(
            offsets,
            strings.values().clone(),
            strings.nulls().cloned(),
        )
    })
}

/// `views` as a string array with offsets of width `O` (Utf8 or LargeUtf8, nulls shared), or
/// `None` when its bytes reach past what `O` holds.
///
/// Views that [`views`] made without compacting (every string of the Utf8 array they came from
/// still in place, in order, in one buffer) give back that buffer, shared: the offsets are the
/// running sum of the lengths. Any other views (short strings' buffer dropped, long ones
/// compacted, or views from elsewhere) are copied into a new value buffer, in one loop. Both
/// trust the UTF-8 arrow validated for the views (their type's invariant). arrow's cast copies
/// every string through a builder: `to_arrow()` after a `frame="polars"` fetch of 1M calls took
/// 0.34–0.54 s.
pub fn strings_of_views<O: OffsetSizeTrait>(
    views: &StringViewArray,
) -> Option<GenericStringArray<O>> {
    shared_strings(views).or_else(|| copied_strings(views))
}

/// The shared form of [`strings_of_views`]; `None` when the views are not laid out so (or
/// their bytes do not fit `O`).
fn shared_strings<O: OffsetSizeTrait>(views: &StringViewArray) -> Option<GenericStringArray<O>> {
    let [buffer] = views.data_buffers() else {
        return None;
    };
    let raw = views.views();
    // Where the first string starts: the first long view says, less the bytes before it.
    let mut before = 0usize;
    let first_long = raw.iter().find_map(|&view| {
        let len = view as u32 as usize;
        if len > MAX_INLINE_VIEW_LEN as usize {
            Some(ByteView::from(view).offset as usize)
        } else {
            before += len;
            None
        }
    })?;
    let base = first_long.checked_sub(before)?;
    let values = buffer.as_slice().get(base..)?;
    let mut offsets: Vec<O> = Vec::with_capacity(raw.len() + 1);
    offsets.push(O::usize_as(0));
    let mut end = 0usize;
    for &view in raw.iter() {
        let next = end + (view as u32 as usize);
        // The view the string at `end` would get from `views` (inline bytes or prefix, buffer
        // 0, offset): equal only if this string is those bytes. A null's zero view is an empty
        // string; a null's other view must hold its bytes too, as a Utf8 null may.
        let placed = next <= values.len() && next <= u32::MAX as usize;
        if !placed || view_of(values, end, next).0 != rebased(view, base) {
            return None;
        }
        end = next;
        offsets.push(O::usize_as(end));
    }
    O::from_usize(end)?;
    // SAFETY: the offsets start at 0 and grow by each view's length up to `end`, which fits
    // `O` (checked), so they are monotonic and non-negative; the bytes of slot i,
    // `values[offsets[i]..offsets[i+1]]`, are view i's string (compared above: its inline bytes
    // whole, or its prefix and its place in the buffer), which arrow validated as UTF-8 when
    // the views were made (their type's invariant), so every slot is UTF-8 and starts and ends
    // on character boundaries; the nulls are the views' own, one bit a slot.
    let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
    Some(unsafe {
        GenericStringArray::new_unchecked(offsets, buffer.slice(base), views.nulls().cloned())
    })
}

/// `view` as [`view_of`] makes it for a string `base` bytes earlier in the buffer: a long
/// view's offset moved back by `base`. A long view into another buffer, or before `base`,
/// becomes a view no string has (its complement), so it compares unequal.
#[inline(always)]
fn rebased(view: u128, base: usize) -> u128 {
    if (view as u32) <= MAX_INLINE_VIEW_LEN {
        return view;
    }
    let old = ByteView::from(view);
    match (old.offset as usize).checked_sub(base) {
        Some(at) if old.buffer_index == 0 => old.with_offset(at as u32).as_u128(),
        _ => !view,
    }
}

/// The copying form of [`strings_of_views`]. A null slot is an empty string, whatever its view.
fn copied_strings<O: OffsetSizeTrait>(views: &StringViewArray) -> Option<GenericStringArray<O>> {
    let raw = views.views();
    let nulls = views.nulls().filter(|n| n.null_count() > 0);
    let len_of = |i: usize, view: u128| match nulls {
        Some(nulls) if nulls.is_null(i) => 0,
        _ => view as u32 as usize,
    };
    let total: usize = raw.iter().enumerate().map(|(i, &v)| len_of(i, v)).sum();
    O::from_usize(total)?;
    let buffers = views.data_buffers();
    let mut values: Vec<u8> = Vec::with_capacity(total);
    let mut offsets: Vec<O> = Vec::with_capacity(raw.len() + 1);
    offsets.push(O::usize_as(0));
    for (i, &view) in raw.iter().enumerate() {
        let len = len_of(i, view);
        if len <= MAX_INLINE_VIEW_LEN as usize {
            values.extend_from_slice(&view.to_le_bytes()[4..4 + len]);
        } else {
            let at = ByteView::from(view);
            let start = at.offset as usize;
            values.extend_from_slice(&buffers[at.buffer_index as usize][start..start + len]);
        }
        offsets.push(O::usize_as(values.len()));
    }
    // SAFETY: the offsets start at 0 and grow by each slot's length up to `total`, which fits
    // `O` (checked); each valid slot's bytes are its view's string (inline bytes, or a range of
    // a data buffer, bounds-checked by the slicing above), which arrow validated as UTF-8 (the
    // view type's invariant), and each null slot is empty; the nulls are the views' own.
    let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
    Some(unsafe {
        GenericStringArray::new_unchecked(offsets, Buffer::from_vec(values), views.nulls().cloned())
    })
}
