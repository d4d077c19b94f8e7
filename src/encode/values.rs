//! One JSON value writer per Arrow type family. A writer is built once per column and batch
//! (downcasts and time-zone lookups happen there), then writes cells straight into the body
//! buffer with `itoa`/`ryu`: no `serde_json::Value`, no allocation per cell.

use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::{NaiveDateTime, Timelike};

use crate::error::{Error, Result};
use crate::json_write::{push_date, push_datetime, push_string};

/// Writes the JSON text of one cell (including `null`).
pub trait ValueWriter: Send + Sync {
    /// Appends row `row` as JSON.
    fn write(&self, row: usize, out: &mut Vec<u8>);

    /// Whether [`write`](Self::write) writes `null` for `row`: the one definition of a missing
    /// cell, so a cell left unchanged in the columnar form is exactly one `clear=` clears (a
    /// Null-typed column, a dictionary key pointing at a null value).
    fn is_null(&self, row: usize) -> bool;
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
        D::Float16 => Box::new(FloatWriter::<Float16Type>(a, f64::from)),
        D::Float32 => Box::new(FloatWriter::<Float32Type>(a, f64::from)),
        D::Float64 => Box::new(FloatWriter::<Float64Type>(a, |v| v)),
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
        D::Decimal128(_, _) | D::Decimal256(_, _) => Box::new(DecimalWriter(a)),
        // An empty dictionary (every key null) has nothing to look up: `normalized_keys`
        // would panic on it.
        D::Dictionary(_, _) if array.as_any_dictionary().values().is_empty() => {
            Box::new(NullWriter)
        }
        D::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let keys = dict.normalized_keys();
            let values = make_writer(name, dict.values(), zone)?;
            Box::new(DictionaryWriter {
                array: a,
                keys,
                values,
            })
        }
        D::List(_) | D::LargeList(_) => {
            let values = match array.data_type() {
                D::List(_) => array.as_list::<i32>().values(),
                _ => array.as_list::<i64>().values(),
            };
            let items = make_writer(name, values, zone)?;
            Box::new(ListWriter { array: a, items })
        }
        D::Struct(fields) => {
            let s = array.as_struct();
            let children = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| Ok((json_key(f.name()), make_writer(name, c, zone)?)))
                .collect::<Result<Vec<_>>>()?;
            Box::new(StructWriter { array: a, children })
        }
        other => {
            return Err(Error::encode(
                name,
                format!(
                "type {other} cannot be sent as JSON; cast it to a number, string or date first"
            ),
            ))
        }
    })
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
}

struct FloatWriter<T: ArrowPrimitiveType>(ArrayRef, fn(T::Native) -> f64);
impl<T: ArrowPrimitiveType> ValueWriter for FloatWriter<T> {
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
            out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
        }
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
        let micros = t.nanosecond() / 1_000;
        if micros != 0 {
            out.extend_from_slice(format!(".{micros:06}").as_bytes());
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
        let text = match self.0.data_type() {
            DataType::Decimal128(_, _) => {
                self.0.as_primitive::<Decimal128Type>().value_as_string(row)
            }
            _ => self.0.as_primitive::<Decimal256Type>().value_as_string(row),
        };
        out.extend_from_slice(text.as_bytes());
    }
}

struct DictionaryWriter {
    array: ArrayRef,
    keys: Vec<usize>,
    values: Box<dyn ValueWriter>,
}
impl ValueWriter for DictionaryWriter {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row) || self.values.is_null(self.keys[row])
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
        } else {
            self.values.write(self.keys[row], out);
        }
    }
}

struct ListWriter {
    array: ArrayRef,
    items: Box<dyn ValueWriter>,
}
impl ValueWriter for ListWriter {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        let (start, end) = match self.array.data_type() {
            DataType::List(_) => {
                let o = self.array.as_list::<i32>().value_offsets();
                (o[row] as usize, o[row + 1] as usize)
            }
            _ => {
                let o = self.array.as_list::<i64>().value_offsets();
                (o[row] as usize, o[row + 1] as usize)
            }
        };
        out.push(b'[');
        for (n, item) in (start..end).enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.items.write(item, out);
        }
        out.push(b']');
    }
}

struct StructWriter {
    array: ArrayRef,
    children: Vec<(Vec<u8>, Box<dyn ValueWriter>)>,
}
impl ValueWriter for StructWriter {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        out.push(b'{');
        for (n, (key, child)) in self.children.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            child.write(row, out);
        }
        out.push(b'}');
    }
}
