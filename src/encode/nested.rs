//! Writers of the compound Arrow types: dictionaries (each value's JSON written once and pasted
//! per row), lists and structs (their items and fields through [`make_writer`]).

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Fields};

use super::values::{json_key, make_writer, ValueWriter};
use crate::error::{Error, Result};

/// A dictionary column (a non-empty dictionary: `normalized_keys` panics on an empty one).
pub fn dictionary(name: &str, array: &ArrayRef, zone: &Tz) -> Result<Box<dyn ValueWriter>> {
    let dict = array.as_any_dictionary();
    // Four bytes a row, not eight: these live as long as the push. A dictionary of more than
    // 2^32 values cannot be addressed by an Arrow array of this size anyway.
    // A null row's key is never read, whatever it holds (0 here: it may be any bits).
    let nulls = dict.keys().nulls();
    let keys = (dict.normalized_keys().into_iter().enumerate())
        .map(|(row, key)| match nulls.is_some_and(|n| n.is_null(row)) {
            true => Ok(0),
            false => u32::try_from(key).map_err(|_| Error::encode(name, "dictionary too large")),
        })
        .collect::<Result<Vec<u32>>>()?;
    let values = make_writer(name, dict.values(), zone)?;
    let count = dict.values().len();
    // Every value is rendered only when every value is well formed: the push's checks pass a
    // dictionary whose bad text is in entries no row uses (those are then never read).
    let rendered = (count <= array.len() && dict.values().to_data().validate_full().is_ok())
        .then(|| render_all(&*values, count));
    Ok(Box::new(DictionaryWriter {
        array: Arc::clone(array),
        keys,
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

struct DictionaryWriter {
    array: ArrayRef,
    keys: Vec<u32>,
    values: Box<dyn ValueWriter>,
    /// Each dictionary value's JSON, written once (a category repeats on many rows): the
    /// text, and where each value ends in it. `None` for a dictionary larger than its column.
    rendered: Option<(Vec<u8>, Vec<usize>)>,
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
impl ValueWriter for DictionaryWriter {
    fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row) || self.values.is_null(self.keys[row] as usize)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.array.is_null(row) {
            out.extend_from_slice(b"null");
        } else {
            self.values.write(self.keys[row] as usize, out);
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
            let value = self.keys[row] as usize;
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
