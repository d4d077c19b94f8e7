//! The fast path's column builders: plain `Vec`s of values plus a validity bitmap, finished
//! into Arrow arrays without copying. A row cut by a chunk boundary is undone by truncating
//! every column back to the rows before it.

use std::sync::Arc;

use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{ArrayRef, BooleanArray, NullArray, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBufferBuilder, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, TimeUnit};

/// The values of one column in the batch being built.
pub(crate) enum Values {
    Null,
    Bool(BooleanBufferBuilder),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Date(Vec<i32>),
    Ts(Vec<i64>),
    /// End offsets (the leading 0 is added at finish) and the UTF-8 bytes.
    Str(Vec<i32>, Vec<u8>),
}

/// One column: its values and which rows are valid.
pub(crate) struct Column {
    pub values: Values,
    pub nulls: NullBufferBuilder,
}

impl Column {
    /// A builder for `data_type`, if the fast path decodes it, with room for `capacity` values
    /// and, for text, `text` bytes.
    pub fn new(data_type: &DataType, capacity: usize, text: usize) -> Option<Self> {
        let values = match data_type {
            DataType::Null => Values::Null,
            DataType::Boolean => Values::Bool(BooleanBufferBuilder::new(capacity)),
            DataType::Int64 => Values::Int(Vec::with_capacity(capacity)),
            DataType::Float64 => Values::Float(Vec::with_capacity(capacity)),
            DataType::Date32 => Values::Date(Vec::with_capacity(capacity)),
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                Values::Ts(Vec::with_capacity(capacity))
            }
            DataType::Utf8 => Values::Str(Vec::with_capacity(capacity), Vec::with_capacity(text)),
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
        }
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
                offsets.truncate(rows);
                data.truncate(offsets.last().map_or(0, |&o| o as usize));
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
            Values::Str(ends, data) => {
                let mut offsets = Vec::with_capacity(ends.len() + 1);
                offsets.push(0);
                offsets.append(ends);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
                // The next batch's strings are about as long: an eighth more room avoids most
                // doubling copies; the finished buffer gives its slack back (over 1M calls
                // the string buffers held 1.42× their bytes without this).
                let next = if more { data.len() + data.len() / 8 } else { 0 };
                let mut data = std::mem::replace(data, Vec::with_capacity(next));
                data.shrink_to_fit();
                Arc::new(StringArray::try_new(offsets, data.into(), nulls)?)
            }
        })
    }
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(
    v: &mut Vec<T::Native>,
    nulls: Option<arrow_buffer::NullBuffer>,
    more: bool,
) -> PrimitiveArray<T> {
    let capacity = if more { v.capacity() } else { 0 };
    let mut values = std::mem::replace(v, Vec::with_capacity(capacity));
    values.shrink_to_fit(); // a page's last batch is shorter than the rest
    PrimitiveArray::new(ScalarBuffer::from(values), nulls)
}
