//! Writers of the compound Arrow types: dictionaries (each value's JSON written once and pasted
//! per row), lists and structs (their items and fields through [`make_writer`]).

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::ArrowDictionaryKeyType;
use arrow_array::{Array, ArrayRef};
use arrow_buffer::{ArrowNativeType, ScalarBuffer};
use arrow_schema::{DataType, Fields};

use super::values::{json_key, make_writer, ValueWriter};
use crate::error::{Error, Result};

/// A dictionary column (a non-empty dictionary), by its key type.
pub fn dictionary(name: &str, array: &ArrayRef, zone: &Tz) -> Result<Box<dyn ValueWriter>> {
    use arrow_array::types::{
        Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
    };
    let DataType::Dictionary(key_type, _) = array.data_type() else {
        return Err(Error::encode(name, "is not a dictionary"));
    };
    match key_type.as_ref() {
        DataType::Int8 => keyed_by::<Int8Type>(name, array, zone),
        DataType::Int16 => keyed_by::<Int16Type>(name, array, zone),
        DataType::Int32 => keyed_by::<Int32Type>(name, array, zone),
        DataType::Int64 => keyed_by::<Int64Type>(name, array, zone),
        DataType::UInt8 => keyed_by::<UInt8Type>(name, array, zone),
        DataType::UInt16 => keyed_by::<UInt16Type>(name, array, zone),
        DataType::UInt32 => keyed_by::<UInt32Type>(name, array, zone),
        DataType::UInt64 => keyed_by::<UInt64Type>(name, array, zone),
        other => Err(Error::encode(
            name,
            format!("is a dictionary keyed by {other}, which Arrow does not allow"),
        )),
    }
}

/// A dictionary writer reading the array's own keys where a row is written. Copying them out
/// first (`normalized_keys`, then to `u32`) took ~6 ms and 12 MB of a 1M-row push of one
/// categorical column, all on one thread before the first request.
fn keyed_by<K: ArrowDictionaryKeyType>(
    name: &str,
    array: &ArrayRef,
    zone: &Tz,
) -> Result<Box<dyn ValueWriter>> {
    let dict = array.as_dictionary::<K>();
    let values = make_writer(name, dict.values(), zone)?;
    let count = dict.values().len();
    // Every value is rendered only when every value is well formed: the push's checks pass a
    // dictionary whose bad text is in entries no row uses (those are then never read).
    let rendered = (count <= array.len() && dict.values().to_data().validate_full().is_ok())
        .then(|| render_all(&*values, count));
    Ok(Box::new(DictionaryWriter::<K> {
        array: Arc::clone(array),
        keys: dict.keys().values().clone(),
        last: count.saturating_sub(1),
        values,
        rendered,
    }))
}

/// A list or large list column.
pub fn list(name: &str, array: &ArrayRef, zone: &Tz) -> Result<Box<dyn ValueWriter>> {
    let values = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().values(),
        _ => array.as_list::<i64>().values(),
    };
    let items = make_writer(name, values, zone)?;
    Ok(Box::new(ListWriter {
        array: Arc::clone(array),
        items,
    }))
}

/// A struct column.
pub fn structure(
    name: &str,
    array: &ArrayRef,
    fields: &Fields,
    zone: &Tz,
) -> Result<Box<dyn ValueWriter>> {
    let children = fields
        .iter()
        .zip(array.as_struct().columns())
        .map(|(f, c)| Ok((json_key(f.name()), make_writer(name, c, zone)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Box::new(StructWriter {
        array: Arc::clone(array),
        children,
    }))
}

struct DictionaryWriter<K: ArrowDictionaryKeyType> {
    array: ArrayRef,
    keys: ScalarBuffer<K::Native>,
    /// The last value's index: a key past it (only a null row's, whose bits may be anything)
    /// reads it instead, as arrow's `normalized_keys` does, so no key indexes out of bounds.
    last: usize,
    values: Box<dyn ValueWriter>,
    /// Each dictionary value's JSON, written once (a category repeats on many rows): the
    /// text, and where each value ends in it. `None` for a dictionary larger than its column.
    rendered: Option<(Vec<u8>, Vec<usize>)>,
}

impl<K: ArrowDictionaryKeyType> DictionaryWriter<K> {
    /// Row `row`'s value index.
    fn key(&self, row: usize) -> usize {
        self.keys[row].as_usize().min(self.last)
    }
}

/// The JSON of values `0..count` of `writer`, one after the other, and where each ends.
fn render_all(writer: &dyn ValueWriter, count: usize) -> (Vec<u8>, Vec<usize>) {
    let mut text = Vec::new();
    let ends = (0..count)
        .map(|value| {
            writer.write(value, &mut text);
            text.len()
        })
        .collect();
    (text, ends)
}
impl<K: ArrowDictionaryKeyType> ValueWriter for DictionaryWriter<K> {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row) || self.values.is_null(self.key(row))
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
        } else {
            self.values.write(self.key(row), out);
        }
    }

    fn write_run(&self, rows: Range<usize>, out: &mut Vec<u8>) {
        let nulls = self.array.nulls();
        for row in rows.clone() {
            if row > rows.start {
                out.push(b',');
            }
            if nulls.is_some_and(|n| n.is_null(row)) {
                out.extend_from_slice(b"null");
                continue;
            }
            let value = self.key(row);
            match &self.rendered {
                Some((text, ends)) => {
                    let start = if value == 0 { 0 } else { ends[value - 1] };
                    out.extend_from_slice(&text[start..ends[value]]);
                }
                None => self.values.write(value, out),
            }
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
