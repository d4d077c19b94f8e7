//! Refusing values a JSON body would carry wrongly, before the first request.
//!
//! * NaN and ±inf floats, at any depth (lists, structs, dictionary values): JSON has no
//!   spelling for them, and writing `null` instead would mean "leave unchanged", silently
//!   keeping the old value. A null is the way to say that; pandas' missing floats already
//!   arrive as nulls (`pyarrow.Table.from_pandas`), polars' NaN does not.
//! * Arrow extension types (pandas `Period` and `Interval`, ...): the C data interface hands
//!   over their storage (a month ordinal, a `{left, right}` struct), not their value.
//! * Dates and timestamps outside years 1 to 9999, at any depth too: the API's `YYYY-MM-DD` has
//!   no spelling for them, and those chrono cannot represent at all would be written as `null`,
//!   "leave unchanged" (found by the outside trial: a push reported such cells updated).
//! * Decimals a Float64 would hold as another number (`decode::forced::float_change`, the rule
//!   of a fetch's `schema=` and of a file push): a decimal goes out as its exact text, and the
//!   API holds a number as a Float64, so `9007199254740993.0` would be stored as ...992 and
//!   10^23 as 99999999999999991611392 without a word (outside trial 18; a CSV or NDJSON push
//!   refused the same values). Fractions past a Float64's 17 digits are rounded, as a float's
//!   are, and kept.
//! * Text that is not valid UTF-8, at any depth: an Arrow string array from another producer
//!   (pyarrow's unchecked casts, an FFI exporter) is taken over the C interface as it is, and
//!   its bytes would go into the body as they are, for the API to refuse the whole chunk with a
//!   400 (outside trial 28c F5).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type,
    Float32Type, Float64Type, Int64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, OffsetSizeTrait, RecordBatch,
};
use arrow_cast::cast;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use arrow_select::nullif::nullif;
use chrono::Datelike;

use super::RowRef;
use crate::decode::forced::{float64_keeps_at_a_glance, float_change};
use crate::error::{Error, Result};
use crate::runtime::cores::map_on_cores;
use crate::text_cut::Cut;

/// Field metadata key naming an Arrow extension type (Arrow's columnar format spec).
const EXTENSION_NAME: &str = "ARROW:extension:name";

/// Extension types whose storage is their value as JSON wants it.
const FAITHFUL_EXTENSIONS: [&str; 1] = ["arrow.json"];

/// Why a cell is refused, per row: the first reason wins.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bad {
    Fine,
    Nan,
    Infinite,
    DateOutsideYears,
    TimestampOutsideYears,
    /// A timestamp with a fraction finer than a microsecond.
    Nanoseconds,
    /// A Date64 that is not a whole day (Arrow's Date64 holds whole days in milliseconds).
    PartDay,
    /// A decimal a Float64 would hold as another number.
    DecimalChanged,
    /// A zone-aware timestamp after 2099 for a tenant's zone with daylight saving time: the
    /// zone tables end there, so its wall clock would be an hour off (outside trial 92 F2).
    PastZoneRules,
}

impl Bad {
    /// What the cell has, and what to do about it; `nested`: the cell is inside a list or
    /// object, where the flat column's advice fails (polars' `.replace` refuses a list column,
    /// pandas' leaves the value inside: outside trial 21c).
    fn reason(self, row: usize, nested: bool) -> String {
        let (what, cannot, fix) = match self {
            // Sent as its exact text, it would be stored changed: no null involved.
            Bad::DecimalChanged => {
                return format!(
                    "has a decimal (row {row}) that the API, which holds a number as a Float64, \
                     would store as another number: cast the column to string to send each \
                     value as written (polars: `.cast(pl.String)`, pandas: `.astype(str)`), or \
                     round it"
                )
            }
            // Not a value JSON cannot carry: one that would not read back as a time.
            Bad::Nanoseconds => {
                return format!(
                    "has a timestamp with a fraction finer than a microsecond (row {row}): a \
                     fetch reads times to the microsecond, so the column would read back as \
                     text, every row of it. Round it to microseconds (polars: \
                     `.dt.round(\"1us\")`, or `.dt.cast_time_unit(\"us\")` to truncate; \
                     pandas: `.dt.round(\"us\")`), or cast it to string to store the text as \
                     written"
                )
            }
            Bad::PastZoneRules => {
                return format!(
                    "has a time-zone-aware timestamp after 2099 (row {row}), and the time zone \
                     tables this build converts with end in 2099: the tenant's zone \
                     (timezone=) keeps daylight saving time, so its wall clock could be an hour \
                     off. Convert the column to the tenant's wall clock yourself with zone \
                     rules that go on past 2099 (pandas: \
                     `.dt.tz_convert(zone).dt.tz_localize(None)`; polars' own tables end in \
                     2099 too)"
                )
            }
            // Written as its day, the time of day would be dropped unsaid (outside trial 29b F7).
            Bad::PartDay => {
                return format!(
                    "has a date64 value that is not a whole day (row {row}), which Arrow's \
                     date64 cannot be and the API's YYYY-MM-DD would drop the time of: cast the \
                     column to a timestamp to push the time, or to a date to drop it"
                )
            }
            Bad::Nan if nested => (
                "a NaN value",
                "JSON cannot carry it",
                "it is inside the column's lists or objects, so replace it there (polars, a \
                 list column: `pl.col(c).list.eval(pl.element().fill_nan(None))`), or make the \
                 whole value null",
            ),
            Bad::Nan => (
                "a NaN value",
                "JSON cannot carry it",
                "replace it, or make it null (polars: `.fill_nan(None)`)",
            ),
            Bad::Infinite if nested => (
                "an infinite value",
                "JSON cannot carry it",
                "it is inside the column's lists or objects, so replace it there (polars, a \
                 list column: `pl.col(c).list.eval(pl.element().replace([float(\"inf\"), \
                 -float(\"inf\")], None))`), or make the whole value null",
            ),
            // `.fill_nan(None)` leaves an infinity as it is (outside trial 21b, F10).
            Bad::Infinite => (
                "an infinite value",
                "JSON cannot carry it",
                "replace it, or make it null (polars: `.replace([float(\"inf\"), \
                 -float(\"inf\")], None)`, pandas: `.replace([np.inf, -np.inf], np.nan)`)",
            ),
            Bad::DateOutsideYears => (
                "a date outside years 1 to 9999",
                "the API's YYYY-MM-DD form cannot carry it",
                "correct it, or make it null",
            ),
            // A zone-aware value may be inside the years in its zone and outside on the
            // tenant's wall clock (outside trial 92 F12: told of the date form alone).
            _ => (
                "a timestamp outside years 1 to 9999",
                "the API's YYYY-MM-DD HH:MM:SS form cannot carry it (a time-zone-aware one is \
                 written on the tenant's wall clock, timezone=)",
                "correct it, or make it null",
            ),
        };
        format!(
            "has {what} (row {row}); {cannot}, and null would mean \"leave unchanged\": {fix} \
             to leave the stored value as it is"
        )
    }
}

/// Refuses, before anything is sent, NaN and ±inf and dates and timestamps outside years 1
/// to 9999 anywhere in `batches` (lists, structs and dictionary values included), naming the
/// column and the first such row. One pass for every value check, so top-level and nested
/// values cannot be held to different rules.
///
/// `sent`: the rows `on_duplicate="last"` keeps, when it drops any. The rows it drops are never
/// sent, so what they hold refuses nothing (outside trial 58 N3: bad text or a NaN in a row a
/// later duplicate replaces refused the push): they are read as nulls here.
pub fn check_values(batches: &[RecordBatch], sent: Option<&[RowRef]>, zone: &Tz) -> Result<()> {
    let dropped = sent.map(|rows| dropped_rows(batches, rows));
    let mut first_rows = Vec::with_capacity(batches.len());
    let mut rows = 0;
    for batch in batches {
        first_rows.push(rows);
        rows += batch.num_rows();
    }
    let columns = batches.first().map_or(0, RecordBatch::num_columns);
    let check = |job: usize| {
        let (b, c) = (job / columns, job % columns);
        let batch = &batches[b];
        let column = match &dropped {
            Some(dropped) => as_null_where(batch.column(c), &dropped[b]),
            None => Arc::clone(batch.column(c)),
        };
        check_column(
            batch.schema_ref().field(c).name(),
            &column,
            first_rows[b],
            zone,
        )
    };
    let jobs = batches.len() * columns;
    // Each column is checked on its own: on every core for a large frame (its checks had been
    // a fifth of a 1M-row push's time before the first request, on one thread, the other core
    // idle), so the first error in frame order is the one told either way.
    if rows * columns < PARALLEL_CELLS {
        return (0..jobs).try_for_each(check);
    }
    map_on_cores(jobs, check).into_iter().collect()
}

/// Frames of fewer cells are checked on the caller's thread alone: starting threads would
/// cost more than they save.
const PARALLEL_CELLS: usize = 1 << 18;

/// One column's checks ([`check_values`]); `first_row`: its batch's first row in the frame.
fn check_column(name: &str, column: &ArrayRef, first_row: usize, zone: &Tz) -> Result<()> {
    check_text(name, column.as_ref(), first_row)?;
    if let Some((row, bad)) = first_bad(column.as_ref(), zone) {
        let mut reason = bad.reason(first_row + row, column.data_type().is_nested());
        // A decimal of the column itself is named, with what it would become.
        if let Some(text) = decimal_text(column.as_ref(), row) {
            let held = decimal_change(&text);
            reason = reason.replacen(
                "a decimal (row",
                &format!("the decimal {text} ({}; row", held.unwrap_or_default()),
                1,
            );
        }
        return Err(Error::encode(name, reason));
    }
    Ok(())
}

/// Per batch, which of its rows are not in `sent`.
fn dropped_rows(batches: &[RecordBatch], sent: &[RowRef]) -> Vec<BooleanArray> {
    let mut dropped: Vec<Vec<bool>> = batches.iter().map(|b| vec![true; b.num_rows()]).collect();
    for &(b, r) in sent {
        dropped[b as usize][r as usize] = false;
    }
    dropped.into_iter().map(BooleanArray::from).collect()
}

/// `column` with the rows `dropped` marks read as nulls (only its validity changes). A type
/// with no validity of its own (union, run-end encoded) is kept whole, and checked whole.
fn as_null_where(column: &ArrayRef, dropped: &BooleanArray) -> ArrayRef {
    if matches!(
        column.data_type(),
        DataType::Null | DataType::Union(..) | DataType::RunEndEncoded(..)
    ) {
        return Arc::clone(column);
    }
    nullif(column.as_ref(), dropped).unwrap_or_else(|_| Arc::clone(column))
}

/// Refuses a column holding text that is not valid UTF-8 where a value is sent, naming the row
/// (`first_row`: the batch's first row in the frame), or, in any type that can hold text, an
/// array whose buffers break Arrow's layout rules. A flat string column (the common case) is
/// checked in one SIMD pass over its bytes; only when that fails are its values looked at one
/// by one, so bytes no value sends (under a null, between offsets) refuse nothing (outside
/// trial 29b F3). A flat view column's values are checked one by one, nulls skipped. Text
/// inside lists, objects or dictionaries gets arrow's full validation first, and when that
/// fails, the values sent are checked one by one ([`first_bad_nested`]).
fn check_text(name: &str, column: &dyn Array, first_row: usize) -> Result<()> {
    let data_type = column.data_type();
    let bad_row = match data_type {
        DataType::Utf8 => first_bad_string::<i32>(column),
        DataType::LargeUtf8 => first_bad_string::<i64>(column),
        DataType::Utf8View => first_bad_view(column),
        _ if data_type.is_nested()
            || matches!(
                data_type,
                DataType::Dictionary(..) | DataType::RunEndEncoded(..)
            ) =>
        {
            match column.to_data().validate_full() {
                Ok(()) => Ok(None),
                // Something is off: find whether it is in text that is sent.
                Err(_) => first_bad_nested(column),
            }
        }
        _ => return Ok(()),
    };
    let reason = match bad_row {
        Ok(None) => return Ok(()),
        Ok(Some(row)) => format!(
            "holds text that is not valid UTF-8 (row {}); JSON carries only UTF-8, and the API \
             would refuse the chunk: decode the bytes with their real encoding, or replace them",
            first_row + row
        ),
        Err(()) => "is not a well-formed Arrow array, or holds text that is not valid UTF-8 \
                    inside it: rebuild it (pyarrow's `validate(full=True)` names the fault)"
            .to_owned(),
    };
    Err(Error::encode(name, reason))
}

/// The first valid row of a string view array (polars' strings) whose bytes are not UTF-8;
/// `Err` when a view points outside its buffers or its prefix is not its text
/// ([`view_is_utf8`]). A null's view is not read (outside trial 30
/// F5: bytes under a null were refused in a view column alone, where arrow's full validation
/// checked them).
///
/// ASCII, the common case, is told at a glance: a short value's bytes by one mask of its view,
/// a long value's by whether its whole buffer is ASCII (looked at once, the first time a value
/// points into it). Only other values are checked one by one: one check per value had taken
/// a tenth of a 1M-row push's client CPU, all of it before the first request.
fn first_bad_view(column: &dyn Array) -> std::result::Result<Option<usize>, ()> {
    let strings = column.as_string_view();
    let buffers = strings.data_buffers();
    let mut ascii_buffers: Vec<Option<bool>> = vec![None; buffers.len()];
    let nulls = strings.nulls();
    for (row, &view) in strings.views().iter().enumerate() {
        // Most values are short ASCII words (labels, categories): told here, inline, before
        // a null or a call is looked at (this loop had been a fifth of a push's checks).
        if short_ascii(view) || nulls.is_some_and(|n| n.is_null(row)) {
            continue;
        }
        if !view_is_utf8(view, buffers, Some(&mut ascii_buffers))? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// Whether `view` holds its value inline (up to 12 bytes, after its length) and that value is
/// ASCII: one mask of the view.
#[inline]
fn short_ascii(view: u128) -> bool {
    /// The high bit of each of a short value's bytes in its view (bytes 4 to 15).
    const HIGH_BITS: u128 = 0x8080_8080_8080_8080_8080_8080 << 32;
    let len = view as u32 as usize;
    len <= 12 && view & (((1u128 << (8 * len)) - 1) << 32) & HIGH_BITS == 0
}

/// Whether the value of `view` is UTF-8; `Err` when it points outside `buffers` or its prefix
/// is not its first four bytes. Up to 12 bytes sit in the view itself, after its length (ASCII
/// told by one mask); longer values in a buffer, told ASCII by the whole buffer when
/// `ascii_buffers` keeps what each buffer is.
fn view_is_utf8(
    view: u128,
    buffers: &[arrow_buffer::Buffer],
    ascii_buffers: Option<&mut [Option<bool>]>,
) -> std::result::Result<bool, ()> {
    let len = view as u32 as usize;
    if short_ascii(view) {
        return Ok(true);
    }
    if len <= 12 {
        let inline = view.to_le_bytes();
        return Ok(simdutf8::basic::from_utf8(&inline[4..4 + len]).is_ok());
    }
    let at = arrow_data::ByteView::from(view);
    let index = at.buffer_index as usize;
    let buffer = buffers.get(index).ok_or(())?;
    let start = at.offset as usize;
    let bytes = buffer.get(start..start + len).ok_or(())?;
    // The view's copy of the first four bytes must be them: what is sent is the buffer's, and
    // a reader comparing or sorting by the prefix would see other text (outside trial 59 F1).
    if bytes[..4] != at.prefix.to_le_bytes() {
        return Err(());
    }
    if let Some(ascii) = ascii_buffers {
        if *ascii[index].get_or_insert_with(|| buffer.is_ascii()) {
            return Ok(true);
        }
    }
    Ok(simdutf8::basic::from_utf8(bytes).is_ok())
}

/// The first row of a list, struct, map or dictionary column whose text, where it is sent,
/// is not UTF-8; `Err` when its layout is broken where a value is sent. Bytes no value sends
/// (under a null at any depth, a dictionary entry no row uses) refuse nothing, as in a flat
/// column (outside trial 58 F1: a struct of a column whose bad row had been nulled was refused,
/// sent as a flat column). Value by value: run only when arrow's full validation fails.
fn first_bad_nested(column: &dyn Array) -> std::result::Result<Option<usize>, ()> {
    for row in 0..column.len() {
        if !sent_text_is_utf8(column, row)? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// Whether the text in value `at` of `array` is UTF-8 wherever the value sends it.
fn sent_text_is_utf8(array: &dyn Array, at: usize) -> std::result::Result<bool, ()> {
    if at >= array.len() {
        return Err(());
    }
    if array.is_null(at) {
        return Ok(true);
    }
    match array.data_type() {
        DataType::Utf8 => string_is_utf8(array.as_string::<i32>(), at),
        DataType::LargeUtf8 => string_is_utf8(array.as_string::<i64>(), at),
        DataType::Utf8View => {
            let strings = array.as_string_view();
            view_is_utf8(strings.views()[at], strings.data_buffers(), None)
        }
        DataType::Struct(_) => {
            for child in array.as_struct().columns() {
                if !sent_text_is_utf8(child.as_ref(), at)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            items_are_utf8(list.value_offsets(), list.values().as_ref(), at)
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            items_are_utf8(list.value_offsets(), list.values().as_ref(), at)
        }
        DataType::Map(..) => {
            let map = array.as_map();
            items_are_utf8(map.value_offsets(), map.entries(), at)
        }
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let key = key_at(dictionary.keys(), at).ok_or(())?;
            sent_text_is_utf8(dictionary.values().as_ref(), key)
        }
        _ => Ok(true),
    }
}

/// Whether value `at` of a string array is UTF-8; `Err` when its offsets leave its bytes.
fn string_is_utf8<O: OffsetSizeTrait>(
    strings: &arrow_array::GenericStringArray<O>,
    at: usize,
) -> std::result::Result<bool, ()> {
    let offsets = strings.value_offsets();
    let (start, end) = (offsets.get(at).ok_or(())?, offsets.get(at + 1).ok_or(())?);
    let bytes = strings
        .values()
        .get(start.as_usize()..end.as_usize())
        .ok_or(())?;
    Ok(simdutf8::basic::from_utf8(bytes).is_ok())
}

/// Whether the items of list value `at` (between its offsets) are UTF-8 where sent; `Err`
/// when the offsets leave the items.
fn items_are_utf8<O: OffsetSizeTrait>(
    offsets: &[O],
    items: &dyn Array,
    at: usize,
) -> std::result::Result<bool, ()> {
    let start = offsets.get(at).ok_or(())?.as_usize();
    let end = offsets.get(at + 1).ok_or(())?.as_usize();
    if start > end || end > items.len() {
        return Err(());
    }
    for item in start..end {
        if !sent_text_is_utf8(items, item)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Key `at` of a dictionary's keys (any integer type) as an index; `None` when negative (or
/// the keys are not integers).
fn key_at(keys: &dyn Array, at: usize) -> Option<usize> {
    use arrow_array::types::{
        Int16Type, Int32Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
    };
    match keys.data_type() {
        DataType::Int8 => usize::try_from(keys.as_primitive::<Int8Type>().value(at)).ok(),
        DataType::Int16 => usize::try_from(keys.as_primitive::<Int16Type>().value(at)).ok(),
        DataType::Int32 => usize::try_from(keys.as_primitive::<Int32Type>().value(at)).ok(),
        DataType::Int64 => usize::try_from(keys.as_primitive::<Int64Type>().value(at)).ok(),
        DataType::UInt8 => Some(usize::from(keys.as_primitive::<UInt8Type>().value(at))),
        DataType::UInt16 => Some(usize::from(keys.as_primitive::<UInt16Type>().value(at))),
        DataType::UInt32 => usize::try_from(keys.as_primitive::<UInt32Type>().value(at)).ok(),
        DataType::UInt64 => usize::try_from(keys.as_primitive::<UInt64Type>().value(at)).ok(),
        _ => None,
    }
}

/// The first valid row of a string array whose bytes are not UTF-8 on their own; `Err` when
/// its offsets break the layout (not ascending, or past its bytes).
fn first_bad_string<O: OffsetSizeTrait>(
    column: &dyn Array,
) -> std::result::Result<Option<usize>, ()> {
    let strings = column.as_string::<O>();
    let offsets = strings.value_offsets();
    let bytes = strings.values().as_slice();
    match crate::text_cut::check(bytes, offsets) {
        Cut::Text => return Ok(None),
        Cut::BadLayout => return Err(()),
        Cut::NotUtf8 => {}
    }
    // The layout is sound (checked above), so each value's bytes are there to check.
    let nulls = strings.nulls();
    Ok((0..strings.len()).find(|&row| {
        nulls.is_none_or(|n| n.is_valid(row)) && string_is_utf8(strings, row) == Ok(false)
    }))
}

/// The first valid row of `array` holding a value [`check_values`] refuses, and what it holds.
/// A flat float or Date32 column, the common ones, is checked in place: a mark per row (and an
/// Int64 copy of a date column) took a 1M-row push's validation several milliseconds.
fn first_bad(array: &dyn Array, zone: &Tz) -> Option<(usize, Bad)> {
    let nulls = array.logical_nulls();
    let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
    let float = |v: f64| match v {
        v if v.is_nan() => Some(Bad::Nan),
        v if v.is_infinite() => Some(Bad::Infinite),
        _ => None,
    };
    let first = |bad: &mut dyn Iterator<Item = Option<Bad>>| {
        bad.enumerate()
            .find_map(|(row, bad)| bad.filter(|_| valid(row)).map(|bad| (row, bad)))
    };
    match array.data_type() {
        DataType::Float64 => {
            let values = array.as_primitive::<Float64Type>().values();
            first(&mut values.iter().map(|&v| float(v)))
        }
        DataType::Float32 => {
            let values = array.as_primitive::<Float32Type>().values();
            first(&mut values.iter().map(|&v| float(f64::from(v))))
        }
        DataType::Date32 => {
            let days = FIRST_SECOND.div_euclid(86_400)..=LAST_SECOND.div_euclid(86_400);
            let values = array.as_primitive::<Date32Type>().values();
            let outside = |v: i32| (!days.contains(&i64::from(v))).then_some(Bad::DateOutsideYears);
            first(&mut values.iter().map(|&v| outside(v)))
        }
        _ => marks(array, zone)?
            .into_iter()
            .enumerate()
            .find(|(_, bad)| *bad != Bad::Fine),
    }
}

/// Seconds from 1970 to 0001-01-01 00:00:00 and to 9999-12-31 23:59:59 (proleptic Gregorian).
/// 2100-01-01 00:00:00 UTC in seconds: chrono-tz's tables (arrow's `Tz`, and polars') hold no
/// daylight saving time after 2099.
const ZONE_RULES_END: i64 = 4_102_444_800;

/// Whether the wall clock of `at` (UTC, after 2099) in `zone` may be off: the tables hold no
/// daylight saving time after 2099, so the zone's last rules are taken as they were in 2099 on
/// the same day, and a value is refused where its offset differs from them, or in a month of
/// 2099 whose offset changed (its switch falls on another day each year).
fn off_past_rules(zone: &Tz, at: chrono::NaiveDateTime) -> bool {
    use chrono::{Datelike, Offset, TimeZone};
    let offset = |at: chrono::NaiveDateTime| zone.offset_from_utc_datetime(&at).fix();
    let in_2099 = |month: u32, day: u32| {
        chrono::NaiveDate::from_ymd_opt(2099, month, day.min(28))
            .and_then(|d| d.and_hms_opt(12, 0, 0))
    };
    let Some(same_day) = in_2099(at.month(), at.day()).map(|d| d.with_day(at.day()).unwrap_or(d))
    else {
        return true;
    };
    let month_start = in_2099(at.month(), 1);
    let next_month_start = match at.month() {
        12 => chrono::NaiveDate::from_ymd_opt(2100, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        month => in_2099(month + 1, 1),
    };
    let switches = match (month_start, next_month_start) {
        (Some(a), Some(b)) => offset(a) != offset(b),
        _ => true,
    };
    switches || offset(same_day) != offset(at)
}

const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// Per value of a date or timestamp array, whether it lies outside years 1 to 9999, is a
/// date64 that is not a whole day, or has nanoseconds past its microseconds (written as 9 digits, which a fetch reads as text: outside
/// trial 28c F1, a pushed pandas column came back as text, unwarned). Outside the years: chrono
/// cannot represent some of those at all (they would be written as `null`), and the API's form
/// has no spelling for the rest. A zone-aware timestamp is written on the tenant's wall clock
/// (`zone`), up to a day from its UTC instant: within a day of the edges it is converted as the
/// writer converts it, so `9999-12-31 23:59:59 UTC` pushed to a UTC tenant goes out, and only a
/// wall-clock value outside the years is refused (found by the outside trial: a whole day of
/// margin was refused whatever the zone).
fn years(array: &dyn Array, zone: &Tz) -> Option<Vec<Bad>> {
    let nanoseconds = matches!(
        array.data_type(),
        DataType::Timestamp(TimeUnit::Nanosecond, _)
    );
    let date64 = matches!(array.data_type(), DataType::Date64);
    let (bad, per_second, zoned) = match array.data_type() {
        DataType::Date32 => (Bad::DateOutsideYears, None, false),
        DataType::Date64 => (Bad::DateOutsideYears, Some(1_000), false),
        DataType::Timestamp(unit, zone) => {
            let per_second = match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            };
            (Bad::TimestampOutsideYears, Some(per_second), zone.is_some())
        }
        _ => return None,
    };
    let units = |margin: i64| match per_second {
        None => {
            (FIRST_SECOND + margin).div_euclid(86_400)..=(LAST_SECOND - margin).div_euclid(86_400)
        }
        // Saturating: nanoseconds cover only 1677 to 2262, well inside.
        Some(per) => {
            (FIRST_SECOND + margin).saturating_mul(per)
                ..=(LAST_SECOND - margin)
                    .saturating_mul(per)
                    .saturating_add(per - 1)
        }
    };
    // Zone-aware: certainly inside a day in from the edges, certainly outside a day beyond them.
    let (sure, possible) = match zoned {
        true => (units(86_400), units(-86_400)),
        false => (units(0), units(0)),
    };
    let per = per_second.unwrap_or(1);
    let on_wall_clock = |v: i64| {
        let nanos = v.rem_euclid(per) * (1_000_000_000 / per);
        chrono::DateTime::from_timestamp(v.div_euclid(per), nanos as u32)
            .map(|at| at.with_timezone(zone).naive_local().year())
            .is_some_and(|year| (1..=9999).contains(&year))
    };
    // Past the zone tables, a value whose wall clock may be an hour off (`off_past_rules`).
    let rules_end = zoned.then(|| ZONE_RULES_END * per);
    let past_rules = |v: i64| {
        rules_end.is_some_and(|end| v >= end)
            && chrono::DateTime::from_timestamp(v.div_euclid(per), 0)
                .is_some_and(|at| off_past_rules(zone, at.naive_utc()))
    };
    // Each of these types is days or units since 1970, as Int64 without a change of value.
    let values = cast(array, &DataType::Int64).ok()?;
    Some(
        values
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&v| match () {
                _ if !(sure.contains(&v) || possible.contains(&v) && on_wall_clock(v)) => bad,
                _ if past_rules(v) => Bad::PastZoneRules,
                _ if nanoseconds && v % 1_000 != 0 => Bad::Nanoseconds,
                _ if date64 && v % 86_400_000 != 0 => Bad::PartDay,
                _ => Bad::Fine,
            })
            .collect(),
    )
}

/// Per row of `array`, whether a valid row holds a value [`check_values`] refuses (at any
/// depth); `None` when its type has no floats, dates or timestamps at all.
fn marks(array: &dyn Array, zone: &Tz) -> Option<Vec<Bad>> {
    let mut marks = match array.data_type() {
        DataType::Float16 => floats::<Float16Type>(array, f64::from),
        DataType::Float32 => floats::<Float32Type>(array, f64::from),
        DataType::Float64 => floats::<Float64Type>(array, |v| v),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => years(array, zone)?,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => (0..array.len())
            .map(|row| match decimal_text(array, row) {
                Some(text) if decimal_change(&text).is_some() => Bad::DecimalChanged,
                _ => Bad::Fine,
            })
            .collect(),
        DataType::List(_) => lists::<i32>(array, zone)?,
        DataType::LargeList(_) => lists::<i64>(array, zone)?,
        DataType::Struct(_) => {
            let children: Vec<Vec<Bad>> = array
                .as_struct()
                .columns()
                .iter()
                .filter_map(|c| marks(c, zone))
                .collect();
            if children.is_empty() {
                return None;
            }
            let mut rows = vec![Bad::Fine; array.len()];
            for child in &children {
                for (row, bad) in rows.iter_mut().zip(child) {
                    *row = (*row).max(*bad);
                }
            }
            rows
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            // An empty dictionary (every key null) holds nothing, and `normalized_keys` would
            // panic on it.
            if dict.values().is_empty() {
                return None;
            }
            let values = marks(dict.values().as_ref(), zone)?;
            dict.normalized_keys()
                .iter()
                .map(|k| values.get(*k).copied().unwrap_or(Bad::Fine))
                .collect()
        }
        _ => return None,
    };
    // A null row is written as null whatever its storage holds.
    if let Some(nulls) = array.logical_nulls() {
        for (row, mark) in marks.iter_mut().enumerate() {
            if nulls.is_null(row) {
                *mark = Bad::Fine;
            }
        }
    }
    Some(marks)
}

/// What a Float64 would hold of a decimal written `text` ("would be held as ..."), when that
/// is another number. A whole one by the rule of every number ([`float_change`]); one with a
/// fraction also when the Float64 prints back other digits. A decimal's type states its
/// digits, where a number in a file or a float column is a float's approximation already
/// (outside trials 30 F2 and 30b F5: 1234567890.1234567891 was stored as 1234567890.1234567,
/// 12345678901234567.89 as 12345678901234568, 1.0000000000000001 as 1, unsaid). A float keeps
/// any 15 significant digits, so shorter decimals pass at a glance.
///
/// A whole decimal ending in zeros is judged in scientific form: its type states a value, not
/// a spelling, and one a Float64 prints back as the same number is kept, as the float `1e23`
/// is (outside trial 30c F3: `Decimal("1E+23")` reaches Arrow as 100000000000000000000000 at
/// scale 0, was judged as those digits written out, and was refused as "would be held as
/// 99999999999999991611392", which prints back as 1e23).
fn decimal_change(text: &str) -> Option<String> {
    let scientific = whole_in_scientific_form(text);
    let judged = scientific.as_deref().unwrap_or(text);
    if !float64_keeps_at_a_glance(judged.as_bytes()) {
        if let Some(change) = float_change(judged, false) {
            return Some(change.held_as());
        }
    }
    let (whole, fraction) = text.split_once('.')?;
    let fraction = fraction.trim_end_matches('0');
    let significant = whole.trim_start_matches(['-', '0']).len() + fraction.len();
    if fraction.is_empty() || significant <= 15 {
        return None;
    }
    let held: f64 = text.parse().ok()?;
    let printed = format!("{held}");
    (printed != format!("{whole}.{fraction}")).then(|| format!("would be held as {printed}"))
}

/// A whole decimal's text whose digits end in zeros, spelled as its significant digits and a
/// power of ten (`-1500.00` → `-15e2`); `None` for any other, zero included.
fn whole_in_scientific_form(text: &str) -> Option<String> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if !fraction.bytes().all(|d| d == b'0') {
        return None;
    }
    let significant = whole.trim_start_matches('0').trim_end_matches('0');
    let zeros = whole.len() - whole.trim_end_matches('0').len();
    (!significant.is_empty() && zeros > 0).then(|| format!("{sign}{significant}e{zeros}"))
}

/// The exact text of row `row` of a decimal array, as a push writes it (`values`); `None` for
/// another type.
pub(super) fn decimal_text(array: &dyn Array, row: usize) -> Option<String> {
    let text = match array.data_type() {
        DataType::Decimal32(..) => array.as_primitive::<Decimal32Type>().value_as_string(row),
        DataType::Decimal64(..) => array.as_primitive::<Decimal64Type>().value_as_string(row),
        DataType::Decimal128(..) => array.as_primitive::<Decimal128Type>().value_as_string(row),
        DataType::Decimal256(..) => array.as_primitive::<Decimal256Type>().value_as_string(row),
        _ => return None,
    };
    Some(text)
}

fn floats<T: ArrowPrimitiveType>(array: &dyn Array, to_f64: fn(T::Native) -> f64) -> Vec<Bad> {
    array
        .as_primitive::<T>()
        .values()
        .iter()
        .map(|v| match to_f64(*v) {
            v if v.is_nan() => Bad::Nan,
            v if v.is_infinite() => Bad::Infinite,
            _ => Bad::Fine,
        })
        .collect()
}

fn lists<O: OffsetSizeTrait>(array: &dyn Array, zone: &Tz) -> Option<Vec<Bad>> {
    let list = array.as_list::<O>();
    let items = marks(list.values().as_ref(), zone)?;
    Some(
        list.offsets()
            .windows(2)
            .map(|w| {
                let range = w[0].as_usize()..w[1].as_usize();
                items[range].iter().copied().max().unwrap_or(Bad::Fine)
            })
            .collect(),
    )
}

/// Refuses columns of an Arrow extension type (other than the few sent faithfully), at any
/// depth, naming the column and the way out.
pub fn check_extensions(schema: &Schema) -> Result<()> {
    for field in schema.fields() {
        if let Some(extension) = extension_in(field) {
            return Err(Error::encode(
                field.name(),
                format!(
                    "is of the Arrow extension type `{extension}` (a pandas Period or Interval, \
                     ...); only its storage would be sent, not its values: convert it first, \
                     e.g. `df[\"{}\"].astype(str)`",
                    field.name()
                ),
            ));
        }
    }
    Ok(())
}

/// The first unfaithful extension type name in `field` or its children.
fn extension_in(field: &Field) -> Option<String> {
    if let Some(name) = field.metadata().get(EXTENSION_NAME) {
        if !FAITHFUL_EXTENSIONS.contains(&name.as_str()) {
            return Some(name.clone());
        }
    }
    match field.data_type() {
        DataType::List(child) | DataType::LargeList(child) => extension_in(child),
        DataType::Struct(children) => children.iter().find_map(|c| extension_in(c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{decimal_change, first_bad_view, whole_in_scientific_form};

    use arrow_array::{Array, StringViewArray};
    use arrow_buffer::{Buffer, NullBuffer, ScalarBuffer};
    use arrow_data::ByteView;
    use proptest::prelude::*;

    /// A value's bytes: ASCII, other UTF-8, any bytes (mostly not UTF-8), or ASCII with a last
    /// byte of any kind, of 0 to 30 bytes, so short (in the view) and long (in a buffer) values
    /// both come in each kind.
    fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[a-z0-9 ]{0,30}".prop_map(String::into_bytes),
            "[a-z\u{e9}\u{20ac}\u{1f600}]{0,10}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..30),
            // ASCII then one byte of any kind: its last byte alone decides, at every length.
            ("[a-z]{0,15}", any::<u8>()).prop_map(|(ascii, last)| {
                let mut bytes = ascii.into_bytes();
                bytes.push(last);
                bytes
            }),
        ]
    }

    /// A view array of `values` (with their validity) that no check has seen: long values go
    /// into two buffers by turns, so one buffer can be ASCII while the other is not.
    fn raw_views(values: &[(Vec<u8>, bool)]) -> StringViewArray {
        let mut buffers = [Vec::new(), Vec::new()];
        let views: Vec<u128> = (values.iter().enumerate())
            .map(|(row, (bytes, _))| {
                if bytes.len() <= 12 {
                    let mut inline = [0u8; 16];
                    inline[..4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
                    inline[4..4 + bytes.len()].copy_from_slice(bytes);
                    return u128::from_le_bytes(inline);
                }
                let buffer = &mut buffers[row % 2];
                let view = ByteView::new(bytes.len() as u32, &bytes[..4])
                    .with_buffer_index((row % 2) as u32)
                    .with_offset(buffer.len() as u32);
                buffer.extend_from_slice(bytes);
                view.as_u128()
            })
            .collect();
        let nulls = NullBuffer::from(values.iter().map(|(_, valid)| *valid).collect::<Vec<_>>());
        let buffers: Vec<Buffer> = buffers.into_iter().map(Buffer::from_vec).collect();
        // SAFETY (test): every view is in bounds; the bytes are deliberately not always UTF-8.
        #[allow(unsafe_code)]
        unsafe {
            StringViewArray::new_unchecked(ScalarBuffer::from(views), buffers, Some(nulls))
        }
    }

    /// A long value whose view's prefix is not its first bytes is a broken layout, whatever
    /// its buffer holds: the buffer's bytes would be sent and the prefix shows other text
    /// (outside trial 59 F1). Its twin with the right prefix passes.
    #[test]
    fn a_view_whose_prefix_is_not_its_text_is_refused() {
        let text = b"yyyyyyyyyyyyyyyyyyyy";
        for (prefix, expected) in [(b"zzzz", Err(())), (b"yyyy", Ok(None))] {
            let view = ByteView::new(text.len() as u32, prefix).with_buffer_index(0);
            let buffers = vec![Buffer::from_vec(text.to_vec())];
            // SAFETY (test): in bounds; the prefix deliberately disagrees in the first case.
            #[allow(unsafe_code)]
            let array = unsafe {
                StringViewArray::new_unchecked(vec![view.as_u128()].into(), buffers, None)
            };
            assert_eq!(first_bad_view(&array as &dyn Array), expected);
        }
    }

    proptest! {
        /// The ASCII glances give the row a check of every value would: the first valid row
        /// whose bytes are not UTF-8, whatever sits under a null.
        #[test]
        fn a_view_columns_first_row_of_bad_text_is_found(
            values in proptest::collection::vec((value_bytes(), any::<bool>()), 0..40),
            skip in 0usize..3,
        ) {
            let array = raw_views(&values);
            let skip = skip.min(values.len());
            let sliced = array.slice(skip, values.len() - skip);
            let expected = (values[skip..].iter())
                .position(|(bytes, valid)| *valid && std::str::from_utf8(bytes).is_err());
            prop_assert_eq!(first_bad_view(&sliced as &dyn Array), Ok(expected));
        }
    }

    #[test]
    fn a_whole_decimal_ending_in_zeros_is_spelled_with_a_power_of_ten() {
        assert_eq!(
            whole_in_scientific_form("-1500.00").as_deref(),
            Some("-15e2")
        );
        assert_eq!(whole_in_scientific_form("001500").as_deref(), Some("15e2"));
        for other in ["15", "10.50", "0", "0.000", "-0", "1500.01"] {
            assert_eq!(whole_in_scientific_form(other), None, "{other}");
        }
    }

    #[test]
    fn a_whole_decimal_a_float64_prints_back_as_the_same_number_is_kept() {
        // Outside trial 30c F3: 10^23 (Decimal("1E+23")) prints back as 1e23.
        for kept in [
            "100000000000000000000000",
            "-100000000000000000000000.00",
            "1230000000000000000000000",
            "1000000000000000000000000000000000000000000000000000000000000000000000",
            // 2^200: held exactly.
            "1606938044258990275541962092341162602522202993782792835301376",
        ] {
            assert_eq!(decimal_change(kept), None, "{kept}");
        }
        for (changed, held) in [
            ("9007199254740993", "9007199254740992"),
            ("9007199254740993.00", "9007199254740992"),
            ("12345678901234567", "12345678901234568"),
        ] {
            let said = decimal_change(changed).expect(changed);
            assert!(said.contains(held), "{changed}: {said}");
        }
    }
}
