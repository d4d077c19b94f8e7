//! The fast path's column builders: plain `Vec`s of values plus a validity bitmap, finished
//! into Arrow arrays without copying. A row cut by a chunk boundary is undone by truncating
//! every column back to the rows before it.
//!
//! Text is built in the fetch's form where that is polars' views: a value of up to 12 bytes
//! goes into its view and leaves no bytes behind, a longer one is copied into the batch's one
//! buffer. Built as offsets and converted after, a 1M-call fetch wrote every short value, and
//! the offsets, into memory it then dropped, and went over each column twice.
//!
//! A text column's UTF-8 is checked once per batch ([`crate::text_cut`], with simdutf8):
//! arrow's `StringArray::try_new` checks it with the standard library's validator, 3% of a
//! 1M-call fetch's CPU. The array is then
//! built with the constructor that skips arrow's check (the one `unsafe` here).
#![allow(unsafe_code)]

use std::sync::Arc;

use arrow_array::builder::make_view;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    ArrayRef, BooleanArray, NullArray, PrimitiveArray, StringArray, StringViewArray,
};
use arrow_buffer::{
    BooleanBufferBuilder, Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer,
};
use arrow_data::{ByteView, MAX_INLINE_VIEW_LEN};
use arrow_schema::{ArrowError, DataType, TimeUnit};

use crate::text_cut::{self, Cut};

/// The values of one column in the batch being built.
pub(crate) enum Values {
    Null,
    Bool(BooleanBufferBuilder),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Date(Vec<i32>),
    Ts(Vec<i64>),
    /// Offsets (a leading 0, then each value's end) and the UTF-8 bytes.
    Str(Vec<i32>, Vec<u8>),
    /// Views (polars' form) and the bytes of the values longer than a view holds.
    View(Vec<u128>, Vec<u8>),
}

/// One column: its values and which rows are valid.
pub(crate) struct Column {
    pub values: Values,
    pub nulls: NullBufferBuilder,
}

impl Column {
    /// A builder for `data_type`, if the fast path decodes it, with room for `capacity` values
    /// and, for text, `text` bytes; text as views when `views`.
    pub fn new(data_type: &DataType, capacity: usize, text: usize, views: bool) -> Option<Self> {
        let values = match data_type {
            DataType::Null => Values::Null,
            DataType::Boolean => Values::Bool(BooleanBufferBuilder::new(capacity)),
            DataType::Int64 => Values::Int(Vec::with_capacity(capacity)),
            DataType::Float64 => Values::Float(Vec::with_capacity(capacity)),
            DataType::Date32 => Values::Date(Vec::with_capacity(capacity)),
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                Values::Ts(Vec::with_capacity(capacity))
            }
            DataType::Utf8 if views => {
                Values::View(Vec::with_capacity(capacity), Vec::with_capacity(text))
            }
            DataType::Utf8 => Values::Str(offsets(capacity), Vec::with_capacity(text)),
            _ => return None,
        };
        let nulls = NullBufferBuilder::new(capacity);
        Some(Self { values, nulls })
    }

    /// Appends a null.
    pub fn push_null(&mut self) {
        self.nulls.append_null();
        match &mut self.values {
            Values::Null => {}
            Values::Bool(v) => v.append(false),
            Values::Int(v) | Values::Ts(v) => v.push(0),
            Values::Float(v) => v.push(0.0),
            Values::Date(v) => v.push(0),
            Values::Str(offsets, data) => offsets.push(data.len() as i32),
            Values::View(views, _) => views.push(0),
        }
    }

    /// Finishes the value whose bytes `data[start..]` were just appended to a view column's
    /// buffer: a short one moves into its view and its bytes are dropped. Declines a buffer
    /// past what a view's `u32` offset addresses.
    #[inline]
    pub fn end_view(views: &mut Vec<u128>, data: &mut Vec<u8>, start: usize) -> Option<()> {
        let offset = u32::try_from(start).ok()?;
        u32::try_from(data.len()).ok()?;
        views.push(make_view(&data[start..], 0, offset));
        if data.len() - start <= MAX_INLINE_VIEW_LEN as usize {
            data.truncate(start);
        }
        Some(())
    }

    /// Drops everything after the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.nulls.truncate(rows);
        match &mut self.values {
            Values::Null => {}
            Values::Bool(v) => v.truncate(rows),
            Values::Int(v) | Values::Ts(v) => v.truncate(rows),
            Values::Float(v) => v.truncate(rows),
            Values::Date(v) => v.truncate(rows),
            Values::Str(offsets, data) => {
                offsets.truncate(rows + 1);
                data.truncate(offsets.last().map_or(0, |&o| o as usize));
            }
            Values::View(views, data) => {
                // The values dropped were the last ones pushed: their bytes, if any, are the
                // buffer's tail from the first of them on.
                let long = |v: &&u128| **v as u32 > MAX_INLINE_VIEW_LEN;
                if let Some(first) = views.get(rows..).and_then(|cut| cut.iter().find(long)) {
                    data.truncate(ByteView::from(*first).offset as usize);
                }
                views.truncate(rows);
            }
        }
    }

    /// Finishes the `rows` rows built so far into an array; the builder starts over empty,
    /// with room for another batch like this one if `more` rows follow (a page's last batch
    /// leaves nothing allocated: a mapping made and unmapped untouched still costs two system
    /// calls, and a 20,000-row page is usually one batch). Fails on invalid UTF-8 (checked once
    /// per column and batch, by arrow) or a string buffer beyond `i32` offsets.
    pub fn finish(&mut self, rows: usize, more: bool) -> Result<ArrayRef, ArrowError> {
        let nulls = self.nulls.finish();
        Ok(match &mut self.values {
            Values::Null => Arc::new(NullArray::new(rows)),
            Values::Bool(v) => Arc::new(BooleanArray::new(v.finish(), nulls)),
            Values::Int(v) => Arc::new(primitive::<Int64Type>(v, nulls, more)),
            Values::Float(v) => Arc::new(primitive::<Float64Type>(v, nulls, more)),
            Values::Date(v) => Arc::new(primitive::<Date32Type>(v, nulls, more)),
            Values::Ts(v) => Arc::new(primitive::<TimestampMicrosecondType>(v, nulls, more)),
            Values::Str(offsets_so_far, data) => {
                // The offsets are handed over as built (the leading 0 was there from the
                // start, so no copy of them is made with it in front).
                let capacity = if more {
                    offsets_so_far.capacity() - 1
                } else {
                    0
                };
                let mut offsets = std::mem::replace(offsets_so_far, self::offsets(capacity));
                offsets.shrink_to_fit();
                Arc::new(strings(offsets, take_text(data, more), nulls)?)
            }
            Values::View(views, data) => {
                let views = take(views, more);
                Arc::new(string_views(views, take_text(data, more), nulls)?)
            }
        })
    }
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(
    v: &mut Vec<T::Native>,
    nulls: Option<arrow_buffer::NullBuffer>,
    more: bool,
) -> PrimitiveArray<T> {
    PrimitiveArray::new(ScalarBuffer::from(take(v, more)), nulls)
}

/// The values built so far, without slack (a page's last batch is shorter than the rest); `v`
/// starts over with as much room if `more` rows follow.
fn take<T>(v: &mut Vec<T>, more: bool) -> Vec<T> {
    let capacity = if more { v.capacity() } else { 0 };
    let mut values = std::mem::replace(v, Vec::with_capacity(capacity));
    values.shrink_to_fit();
    values
}

/// The text bytes built so far, without slack; `data` starts over with an eighth more room
/// than they took if `more` rows follow. The next batch's strings are about as long: the
/// eighth avoids most doubling copies, and giving the slack back matters (over 1M calls the
/// string buffers held 1.42× their bytes without it).
fn take_text(data: &mut Vec<u8>, more: bool) -> Vec<u8> {
    let next = if more { data.len() + data.len() / 8 } else { 0 };
    let mut text = std::mem::replace(data, Vec::with_capacity(next));
    text.shrink_to_fit();
    text
}

/// An empty offset list (its leading 0) with room for `capacity` values.
fn offsets(capacity: usize) -> Vec<i32> {
    let mut offsets = Vec::with_capacity(capacity + 1);
    offsets.push(0);
    offsets
}

/// A string array of `data` cut at `offsets` (a leading 0, then non-decreasing ends, built by
/// this module), after checking what `StringArray::try_new` would: the last offset within the
/// bytes, one null bit a value, and each value's bytes UTF-8 ([`text_cut::check`]).
fn strings(
    offsets: Vec<i32>,
    data: Vec<u8>,
    nulls: Option<NullBuffer>,
) -> Result<StringArray, ArrowError> {
    check_text(
        offsets.len().saturating_sub(1),
        nulls.as_ref(),
        || match offsets.first() {
            Some(0) => text_cut::check(&data, &offsets),
            _ => Cut::BadLayout,
        },
    )?;
    // SAFETY: what `StringArray::try_new` checks was checked above: one null bit a value; the
    // offsets start at 0, and `text_cut::check` found that they do not decrease and end within
    // `data` (so every value's bytes lie within it), and that every value's bytes are valid
    // UTF-8 on their own.
    let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
    Ok(unsafe { StringArray::new_unchecked(offsets, data.into(), nulls) })
}

/// What a text array's `try_new` checks: one null bit for each of `values`, and the layout
/// and UTF-8 of the values (`cut`, run once the null bits are fine).
fn check_text(
    values: usize,
    nulls: Option<&NullBuffer>,
    cut: impl FnOnce() -> Cut,
) -> Result<(), ArrowError> {
    let invalid = |what: &str| ArrowError::InvalidArgumentError(format!("text column: {what}"));
    if nulls.is_some_and(|n| n.len() != values) {
        return Err(invalid("a null bit for each value"));
    }
    match cut() {
        Cut::Text => Ok(()),
        Cut::BadLayout => Err(invalid("values laid out past their bytes or out of order")),
        Cut::NotUtf8 => Err(invalid("invalid UTF-8")),
    }
}

/// A string view array of `views` over `data`, after checking what `StringViewArray::try_new`
/// would: one null bit a value, every long view inside `data` with its prefix, and every value
/// UTF-8 ([`text_cut::check_views`]).
fn string_views(
    views: Vec<u128>,
    data: Vec<u8>,
    nulls: Option<NullBuffer>,
) -> Result<StringViewArray, ArrowError> {
    check_text(views.len(), nulls.as_ref(), || {
        text_cut::check_views(&views, &data)
    })?;
    // A column whose values are all short keeps no buffer, as `views::build` leaves one.
    let buffers = if data.is_empty() {
        Vec::new()
    } else {
        vec![Buffer::from_vec(data)]
    };
    // SAFETY: what `StringViewArray::try_new` checks was checked above: one null bit a value;
    // `text_cut::check_views` found every view of more than 12 bytes inside buffer 0 (the only
    // one) with its first four bytes as prefix, and every value UTF-8; the short views were
    // made by arrow's `make_view`, which zero-pads them; a null's view is 0.
    Ok(unsafe { StringViewArray::new_unchecked(ScalarBuffer::from(views), buffers, nulls) })
}
