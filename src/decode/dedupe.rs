//! [`KeyDeduper`]: drops rows whose key was already seen, keeping the first occurrence.
//!
//! The API pages by offset, so a row inserted while a fetch pages shifts later rows by one and
//! the same key comes back on two pages (the contract's "offset shift").

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_cast::cast;
use arrow_schema::DataType;
use arrow_select::filter::filter_record_batch;

use crate::Result;

/// Drops rows whose key column value was seen before, across every batch it is given.
///
/// Integer keys of any width compare as `i64`; other keys compare by their text. Rows with a
/// null key are always kept, and a batch without the key column passes unchanged.
#[derive(Debug)]
pub struct KeyDeduper {
    key: String,
    ints: HashSet<i64, Fast>,
    texts: HashSet<Box<str>, Fast>,
}

impl KeyDeduper {
    /// A deduper on the column named `key`.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ints: HashSet::default(),
            texts: HashSet::default(),
        }
    }

    /// `batch` without the rows whose key was seen before, and how many were dropped.
    pub fn filter(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, usize)> {
        let Some(column) = batch.column_by_name(&self.key) else {
            return Ok((batch.clone(), 0));
        };
        let keep: BooleanArray = if column.data_type().is_integer() {
            let ints = cast(column, &DataType::Int64)?;
            let ints = ints.as_primitive::<Int64Type>();
            (0..ints.len())
                .map(|i| Some(ints.is_null(i) || self.ints.insert(ints.value(i))))
                .collect()
        } else {
            let texts = cast(column, &DataType::Utf8)?;
            let texts = texts.as_string::<i32>();
            texts
                .iter()
                .map(|t| Some(t.is_none_or(|t| self.texts.insert(t.into()))))
                .collect()
        };
        let dropped = keep.false_count();
        if dropped == 0 {
            return Ok((batch.clone(), 0));
        }
        Ok((filter_record_batch(batch, &keep)?, dropped))
    }
}

/// A fast multiplicative hasher: keys are the tenant's own ids, so flooding is not a concern
/// and SipHash's cost is.
type Fast = BuildHasherDefault<FastHasher>;

#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, word: i64) {
        self.write_u64(word as u64);
    }
}
