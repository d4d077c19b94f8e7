//! One JSON value writer per Arrow type family. A writer is built once per column and batch
//! (downcasts and time-zone lookups happen there), then writes cells straight into the body
//! buffer with `itoa`/`ryu`: no `serde_json::Value`, no allocation per cell. A body writes each
//! column a run of consecutive rows at a time ([`ValueWriter::write_run`]), so the common types
//! downcast once per run, not once per cell. Compound types are [`super::nested`]'s.

use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::{NaiveDateTime, Timelike};

use super::nested;
use crate::error::{Error, Result};
use crate::json_write::{push_date, push_datetime, push_string, quoted_epoch_days};

/// Writes the JSON text of one cell (including `null`).
pub trait ValueWriter: Send + Sync {
    /// Appends row `row` as JSON.
    fn write(&self, row: usize, out: &mut Vec<u8>);

    /// Whether [`write`](Self::write) writes `null` for `row`: the one definition of a missing
    /// cell, so a cell left unchanged in the columnar form is exactly one `clear=` clears (a
    /// Null-typed column, a dictionary key pointing at a null value).
    fn is_null(&self, row: usize) -> bool;

    /// Appends rows `rows` as JSON values separated by commas. The common types override it
    /// to downcast once per run instead of once per cell.
    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        for row in rows.clone() {
            if row > rows.start {
                out.push(b',');
            }
            self.write(row, out);
        }
    }
}

/// Calls `write` for each row of `rows` (its array's nulls written as `null`), commas between.
fn run_of(
    array: &dyn Array,
    rows: Range<usize>,
    out: &mut Vec<u8>,
    mut write: impl FnMut(usize, &mut Vec<u8>),
) {
    let nulls = array.logical_nulls();
    for row in rows.clone() {
        if row > rows.start {
            out.push(b',');
        }
        if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            out.extend_from_slice(b"null");
        } else {
            write(row, out);
        }
    }
}

/// Builds the writer for `array` (column `name`), or explains why the type cannot be pushed.
/// `zone` is the tenant's time zone for time-zone-aware timestamps.
pub fn make_writer(name: &str, array: &ArrayRef, zone: &Tz) -> Result<Box<dyn ValueWriter>> {
    use DataType as D;
    let a = Arc::clone(array);
    Ok(match array.data_type() {
        D::Null => Box::new(NullWriter),
        D::Boolean => Box::new(BoolWriter(a)),
        D::Int8 => int::<Int8Type>(a),
        D::Int16 => int::<Int16Type>(a),
        D::Int32 => int::<Int32Type>(a),
        D::Int64 => int::<Int64Type>(a),
        D::UInt8 => int::<UInt8Type>(a),
        D::UInt16 => int::<UInt16Type>(a),
        D::UInt32 => int::<UInt32Type>(a),
        D::UInt64 => int::<UInt64Type>(a),
        D::Float16 => Box::new(FloatWriter::<Float16Type, f64>(a, shortest_f16)),
        D::Float32 => Box::new(FloatWriter::<Float32Type, f32>(a, |v| v)),
        D::Float64 => Box::new(FloatWriter::<Float64Type, f64>(a, |v| v)),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => Box::new(StringWriter(a)),
        D::Date32 => Box::new(DateWriter(a)),
        D::Date64 => Box::new(DateWriter(a)),
        D::Timestamp(unit, tz) => {
            let source = match tz {
                Some(tz) => Some(Tz::from_str(tz).map_err(|e| Error::encode(name, e.to_string()))?),
                None => None,
            };
            Box::new(TimestampWriter {
                array: a,
                unit: *unit,
                source,
                zone: *zone,
            })
        }
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) | D::Decimal256(..) => {
            Box::new(DecimalWriter(a))
        }
        // An empty dictionary (every key null) has nothing to look up: `normalized_keys`
        // would panic on it.
        D::Dictionary(_, _) if array.as_any_dictionary().values().is_empty() => {
            Box::new(NullWriter)
        }
        D::Dictionary(_, _) => nested::dictionary(name, array, zone)?,
        D::List(_) | D::LargeList(_) => nested::list(name, array, zone)?,
        D::Struct(fields) => nested::structure(name, array, fields, zone)?,
        other => return Err(Error::encode(name, not_sendable(other))),
    })
}

/// Why a column of type `other` is refused, and the cast that makes it sendable: its values
/// may be dates or numbers already, held in a layout JSON has no form for (outside trial 23:
/// a fixed-size list of dates was told to cast to a date).
fn not_sendable(other: &DataType) -> String {
    use DataType as D;
    let what = match other {
        D::FixedSizeList(..) | D::ListView(_) | D::LargeListView(_) => {
            "cast it to a plain list of the same values first (pyarrow: `pa.list_(value type)`, \
             polars: `pl.List(value type)`)"
        }
        D::RunEndEncoded(..) => {
            "decode its runs first (`pyarrow.compute.run_end_decode`), which gives the values \
             as a plain column"
        }
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => {
            "decode the bytes to a string first (JSON has no bytes)"
        }
        _ => "cast it to a number, string, date, list or struct first",
    };
    format!("type {other} cannot be sent as JSON; {what}")
}

/// `"name":` with the name escaped, ready to paste.
pub fn json_key(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    push_string(&mut out, name);
    out.push(b':');
    out
}

fn int<T>(a: ArrayRef) -> Box<dyn ValueWriter>
where
    T: ArrowPrimitiveType,
    T::Native: itoa::Integer,
{
    Box::new(IntWriter::<T>(a, std::marker::PhantomData))
}

struct NullWriter;
impl ValueWriter for NullWriter {
    fn write(&self, _: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"null");
    }

    fn is_null(&self, _: usize) -> bool {
        true
    }
}

struct BoolWriter(ArrayRef);
impl ValueWriter for BoolWriter {
    fn is_null(&self, row: usize) -> bool {
        self.0.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        let a = self.0.as_boolean();
        out.extend_from_slice(match (a.is_null(row), a.value(row)) {
            (true, _) => b"null",
            (false, true) => b"true",
            (false, false) => b"false",
        });
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let a = self.0.as_boolean();
        run_of(a, rows, out, |row, out| {
            out.extend_from_slice(if a.value(row) { b"true" } else { b"false" });
        });
    }
}

struct IntWriter<T>(ArrayRef, std::marker::PhantomData<fn() -> T>);
impl<T> ValueWriter for IntWriter<T>
where
    T: ArrowPrimitiveType,
    T::Native: itoa::Integer,
{
    fn is_null(&self, row: usize) -> bool {
        self.0.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        let a: &PrimitiveArray<T> = self.0.as_primitive();
        if a.is_null(row) {
            out.extend_from_slice(b"null");
        } else {
            out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
        }
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let a: &PrimitiveArray<T> = self.0.as_primitive();
        let mut digits = itoa::Buffer::new();
        run_of(a, rows, out, |row, out| {
            out.extend_from_slice(digits.format(a.value(row)).as_bytes());
        });
    }
}

/// A float type written in the fewest digits that read back as the same value of that type:
/// a Float32 `0.1` goes out as `0.1`, not as its widened f64 `0.10000000149011612` (found by the
/// outside trial).
pub(crate) trait Shortest: ryu::Float + Copy {
    fn is_finite(self) -> bool;

    /// Writes the value (finite) in its shortest digits.
    fn put(self, digits: &mut ryu::Buffer, out: &mut Vec<u8>) {
        out.extend_from_slice(digits.format_finite(self).as_bytes());
    }
}

impl Shortest for f32 {
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }

    /// A subnormal's shortest digits can be far from it (the least f32, 1.4012984e-45, reads
    /// back from `1e-45`), and the API holds a Float64 of the digits sent: it goes out in the
    /// fewest digits that are as close to it as a normal f32's shortest digits are
    /// ([`near_digits`]): `1.4012985e-45`.
    ///
    /// A value from 2^24 up to 10^16 (whole: the f32's step there is 2 or more) goes out as
    /// its exact integer with `.0` (`7490050375811072.0`). Its shortest digits
    /// (`7.4900504e15`) are a number the float32 does not hold, and the API's Float64 prints
    /// that number back written out below 10^16 (`7490050400000000.0`): a whole number, which
    /// a fetch under `schema={col: "float32"}` refused as changed (outside trial 33 F1). The
    /// exact integer is a Float64 too, printed back as sent (below 2^53 its only digits; above,
    /// an f32 is even and the Float64's step is 2, so no shorter digits read back to it). From
    /// 10^16 a Float64 prints with an exponent, and the f32's shortest digits come back as
    /// sent, which that fetch keeps (`3.4028235e38`, where the exact integer would come back
    /// as the Float64's `3.4028234663852886e38`). The `.0` keeps the column a float column
    /// (`16777216` alone is inferred an integer). Other values keep ryu's digits.
    fn put(self, digits: &mut ryu::Buffer, out: &mut Vec<u8>) {
        let magnitude = self.abs();
        if self.is_subnormal() {
            #[allow(clippy::cast_possible_truncation)] // the f64 read back, as an f32
            let near = near_digits(f64::from(self), 24, |near| near as f32 == self);
            out.extend_from_slice(digits.format_finite(near).as_bytes());
        } else if (16_777_216.0..1e16).contains(&magnitude) {
            // Exact: whole and below 2^64 here.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let whole = magnitude as u64;
            if self < 0.0 {
                out.push(b'-');
            }
            out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(digits.format_finite(self).as_bytes());
        }
    }
}

impl Shortest for f64 {
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// The f64 of the fewest significant digits that read back as the same value of a narrower
/// type (`same`) and lie within 2^-`bits` of it, relatively (`bits`: the type's significant
/// bits): as close as the shortest digits of any normal value of that type are (half an ulp).
/// For a normal value that is its shortest digits; for a subnormal, whose shortest digits may
/// be tens of percent away (a float32 1.4012984e-45 went out as `1e-45`, which the API's
/// Float64 holds as 1e-45: found with outside trial 18's F8), more of them. `wide` is the value, exactly.
fn near_digits(wide: f64, bits: i32, same: impl Fn(f64) -> bool) -> f64 {
    for digits in 0..17 {
        let near: f64 = format!("{wide:.digits$e}").parse().unwrap_or(wide);
        if same(near) && (near - wide).abs() <= wide.abs() * 0.5f64.powi(bits) {
            return near;
        }
    }
    wide
}

/// arrow's f16 (the `half` crate's, not a dependency of ours).
type F16 = <Float16Type as ArrowPrimitiveType>::Native;

/// A Float16 as the f64 of the fewest significant digits that read back as the same f16, so
/// that ryu's shortest f64 text is those digits: `0.1` (outside trial 18: through f32, the
/// shortest f32 digits of the f16 went out, `0.099975586`). An f16 has 11 significant bits: 5
/// digits always tell it apart. A whole number goes out exact (`62592`, not `6.26e4`, which
/// reads back as the same f16 but is another whole number: the API holds a Float64, and the
/// number rule keeps whole numbers whole). Not finite is kept so (refused before anything is
/// sent).
fn shortest_f16(v: F16) -> f64 {
    let wide = f64::from(v); // exact
    if !wide.is_finite() || wide.fract() == 0.0 {
        return wide;
    }
    // 11 significant bits: 5 digits tell a normal f16 apart; a subnormal may need more.
    near_digits(wide, 11, |near| F16::from_f64(near) == v)
}

/// Writes row `row` of a Float16, Float32 or Float64 array (not null) as a push sends it, and
/// says so; `false`, nothing written, for another type or a value not finite. The one
/// spelling of a float for every file converz writes (CSV, NDJSON): a file pushed back sends
/// what a push of the frame sends (outside trial 34 F1: a fetch's CSV spelled a float32
/// 1727290368 as its shortest digits `1727290400.0`, another number, which the push back then
/// stored).
pub(crate) fn put_float(array: &dyn Array, row: usize, out: &mut Vec<u8>) -> bool {
    fn put<F: Shortest>(value: F, out: &mut Vec<u8>) -> bool {
        if value.is_finite() {
            value.put(&mut ryu::Buffer::new(), out);
        }
        value.is_finite()
    }
    match array.data_type() {
        DataType::Float16 => put(
            shortest_f16(array.as_primitive::<Float16Type>().value(row)),
            out,
        ),
        DataType::Float32 => put(array.as_primitive::<Float32Type>().value(row), out),
        DataType::Float64 => put(array.as_primitive::<Float64Type>().value(row), out),
        _ => false,
    }
}

/// A float column's writer: `T`'s values as `F`, written in `F`'s shortest digits.
struct FloatWriter<T: ArrowPrimitiveType, F: Shortest>(ArrayRef, fn(T::Native) -> F);
impl<T: ArrowPrimitiveType, F: Shortest> ValueWriter for FloatWriter<T, F> {
    fn is_null(&self, row: usize) -> bool {
        let a: &PrimitiveArray<T> = self.0.as_primitive();
        a.is_null(row) || !(self.1)(a.value(row)).is_finite()
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        let a: &PrimitiveArray<T> = self.0.as_primitive();
        let v = (self.1)(a.value(row));
        // NaN and ±inf are refused before anything is written (`faithful`): null is a fallback.
        if a.is_null(row) || !v.is_finite() {
            out.extend_from_slice(b"null");
        } else {
            v.put(&mut ryu::Buffer::new(), out);
        }
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let a: &PrimitiveArray<T> = self.0.as_primitive();
        let mut digits = ryu::Buffer::new();
        run_of(a, rows, out, |row, out| {
            let v = (self.1)(a.value(row));
            if v.is_finite() {
                v.put(&mut digits, out);
            } else {
                out.extend_from_slice(b"null");
            }
        });
    }
}

struct StringWriter(ArrayRef);
impl ValueWriter for StringWriter {
    fn is_null(&self, row: usize) -> bool {
        self.0.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        let text = match self.0.data_type() {
            DataType::Utf8 => self.0.as_string::<i32>().value(row),
            DataType::LargeUtf8 => self.0.as_string::<i64>().value(row),
            _ => self.0.as_string_view().value(row),
        };
        push_string(out, text);
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let a = &*self.0;
        match a.data_type() {
            DataType::Utf8 => {
                let a = a.as_string::<i32>();
                run_of(a, rows, out, |row, out| push_string(out, a.value(row)));
            }
            DataType::LargeUtf8 => {
                let a = a.as_string::<i64>();
                run_of(a, rows, out, |row, out| push_string(out, a.value(row)));
            }
            _ => {
                let a = a.as_string_view();
                run_of(a, rows, out, |row, out| push_string(out, a.value(row)));
            }
        }
    }
}

struct DateWriter(ArrayRef);
impl DateWriter {
    fn date(&self, row: usize) -> Option<chrono::NaiveDate> {
        if self.0.is_null(row) {
            None
        } else if let DataType::Date32 = self.0.data_type() {
            self.0.as_primitive::<Date32Type>().value_as_date(row)
        } else {
            self.0.as_primitive::<Date64Type>().value_as_date(row)
        }
    }
}

impl ValueWriter for DateWriter {
    fn is_null(&self, row: usize) -> bool {
        self.date(row).is_none()
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        match self.date(row) {
            Some(date) => {
                out.push(b'"');
                push_date(out, date);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let quoted = |date: Option<chrono::NaiveDate>, out: &mut Vec<u8>| match date {
            Some(date) => {
                out.push(b'"');
                push_date(out, date);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        };
        if let DataType::Date32 = self.0.data_type() {
            let a = self.0.as_primitive::<Date32Type>();
            let mut recent = RecentDays::default();
            run_of(a, rows, out, |row, out| match recent.quoted(a.value(row)) {
                Some(text) => out.extend_from_slice(&text),
                None => quoted(a.value_as_date(row), out),
            });
        } else {
            let a = self.0.as_primitive::<Date64Type>();
            run_of(a, rows, out, |row, out| quoted(a.value_as_date(row), out));
        }
    }
}

/// The quoted text of the days a run wrote lately, by day: a date column holds few distinct
/// days (a year of them in a million rows), so most are written by one copy.
struct RecentDays {
    slots: Box<[(i32, [u8; 12])]>,
}

impl RecentDays {
    const SLOTS: usize = 1024;

    fn quoted(&mut self, days: i32) -> Option<[u8; 12]> {
        let slot = &mut self.slots[days as usize % Self::SLOTS];
        // A slot's text starts with a quote once filled; `[0; 12]` marks it empty.
        if slot.0 == days && slot.1[0] == b'"' {
            return Some(slot.1);
        }
        let text = quoted_epoch_days(days)?;
        *slot = (days, text);
        Some(text)
    }
}

impl Default for RecentDays {
    fn default() -> Self {
        Self {
            slots: vec![(0, [0; 12]); Self::SLOTS].into_boxed_slice(),
        }
    }
}

struct TimestampWriter {
    array: ArrayRef,
    unit: TimeUnit,
    source: Option<Tz>,
    zone: Tz,
}

impl TimestampWriter {
    fn naive(&self, row: usize) -> Option<NaiveDateTime> {
        let a = &self.array;
        let naive = match self.unit {
            TimeUnit::Second => a
                .as_primitive::<TimestampSecondType>()
                .value_as_datetime(row),
            TimeUnit::Millisecond => a
                .as_primitive::<TimestampMillisecondType>()
                .value_as_datetime(row),
            TimeUnit::Microsecond => a
                .as_primitive::<TimestampMicrosecondType>()
                .value_as_datetime(row),
            TimeUnit::Nanosecond => a
                .as_primitive::<TimestampNanosecondType>()
                .value_as_datetime(row),
        }?;
        // A zone-aware column stores UTC instants: show them on the tenant's wall clock.
        Some(match self.source {
            Some(_) => naive.and_utc().with_timezone(&self.zone).naive_local(),
            None => naive,
        })
    }
}

impl ValueWriter for TimestampWriter {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row) || self.naive(row).is_none()
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        let Some(t) = (!self.array.is_null(row))
            .then(|| self.naive(row))
            .flatten()
        else {
            out.extend_from_slice(b"null");
            return;
        };
        out.push(b'"');
        push_datetime(out, t);
        // A fraction as `fetch -o` writes one to CSV and NDJSON (chrono's `%.f`): none when
        // it is zero, milliseconds when it is whole ones, else microseconds, and nanoseconds
        // (pandas' default unit) only when there are some, rather than dropped. One spelling
        // for every writer is what lets a fetch read a pushed time back as a time and push it
        // again unchanged (`decode::classify::dated`; outside trial 17 F6).
        let nanos = t.nanosecond() % 1_000_000_000;
        if nanos % 1_000 != 0 {
            out.extend_from_slice(format!(".{nanos:09}").as_bytes());
        } else if nanos % 1_000_000 != 0 {
            out.extend_from_slice(format!(".{:06}", nanos / 1_000).as_bytes());
        } else if nanos != 0 {
            out.extend_from_slice(format!(".{:03}", nanos / 1_000_000).as_bytes());
        }
        out.push(b'"');
    }
}

struct DecimalWriter(ArrayRef);
impl ValueWriter for DecimalWriter {
    fn is_null(&self, row: usize) -> bool {
        self.0.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.0.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        let text = super::faithful::decimal_text(self.0.as_ref(), row).unwrap_or_default();
        out.extend_from_slice(text.as_bytes());
    }
}
