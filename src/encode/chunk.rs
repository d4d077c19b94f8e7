//! The push plan: which rows go in which body, and the rendering of one body on demand.
//!
//! Columnar chunks cover the selected rows in order, `chunk_rows` at a time. Clear chunks group
//! the rows by *which* `clear` columns are null on them (a bitmask), so each row-wise body has
//! the same keys on every row, and are chunked the same way.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use arrow_array::timezone::Tz;
use arrow_array::{Array, RecordBatch};
use bytes::Bytes;

use super::validate::{check_finite, check_options, key_values, select_rows};
use super::values::{json_key, make_writer, ValueWriter};
use super::{schema_of, ChunkKind, ChunkSpec, EncoderOptions, RowRef};
use crate::error::{Error, Result};

/// The rows to send, in input order.
enum Selection {
    /// Every input row (no key repeats): nothing stored, 8 bytes a row saved.
    Every {
        /// First row number of each batch.
        offsets: Vec<usize>,
        total: usize,
    },
    /// The rows kept by `on_duplicate=Last`.
    Listed(Vec<RowRef>),
}

impl Selection {
    fn len(&self) -> usize {
        match self {
            Selection::Every { total, .. } => *total,
            Selection::Listed(rows) => rows.len(),
        }
    }

    /// Rows `start..end` of the selection.
    fn range(&self, start: usize, end: usize) -> Cow<'_, [RowRef]> {
        match self {
            Selection::Listed(rows) => Cow::Borrowed(&rows[start..end]),
            Selection::Every { offsets, .. } => {
                let mut batch = self.row(start).0 as usize;
                let mut rows = Vec::with_capacity(end - start);
                for index in start..end {
                    while batch + 1 < offsets.len() && offsets[batch + 1] <= index {
                        batch += 1;
                    }
                    rows.push((batch as u32, (index - offsets[batch]) as u32));
                }
                Cow::Owned(rows)
            }
        }
    }

    fn row(&self, index: usize) -> RowRef {
        match self {
            Selection::Listed(rows) => rows[index],
            Selection::Every { offsets, .. } => {
                let batch = offsets.partition_point(|&o| o <= index).saturating_sub(1);
                (batch as u32, (index - offsets[batch]) as u32)
            }
        }
    }
}

/// Where a chunk's rows are.
enum Rows {
    /// `selection[start..end]`.
    Range(usize, usize),
    /// Listed rows, with the indices of the columns they clear.
    Clear(Vec<RowRef>, Vec<usize>),
}

/// Validated input, ready to be encoded chunk by chunk.
pub struct PushPlan {
    batches: Vec<RecordBatch>,
    /// `[batch][column]` value writers.
    writers: Vec<Vec<Box<dyn ValueWriter>>>,
    /// `"name":` per column.
    names: Vec<Vec<u8>>,
    key_index: usize,
    selection: Selection,
    rows: Vec<Rows>,
    chunks: Vec<ChunkSpec>,
}

impl PushPlan {
    /// Validates `batches` against `options` and plans the bodies. Sends nothing.
    pub fn new(batches: Vec<RecordBatch>, options: EncoderOptions) -> Result<Self> {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let Some(schema) = schema_of(&batches) else {
            return Ok(Self::empty());
        };
        let key_index = check_options(&options, &schema)?;
        let zone = Tz::from_str(options.timezone.as_deref().unwrap_or("UTC"))
            .map_err(|e| Error::invalid("timezone", e.to_string()))?;
        let writers = batches
            .iter()
            .map(|batch| {
                schema
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(field, column)| make_writer(field.name(), column, &zone))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        check_finite(&batches)?;
        let keys = key_values(&batches, key_index, options.target)?;
        let offsets = row_offsets(&batches);
        let selection =
            match select_rows(&batches, &keys, options.on_duplicate, options.target.key())? {
                Some(rows) => Selection::Listed(rows),
                None => Selection::Every {
                    offsets: offsets.clone(),
                    total: keys.len(),
                },
            };
        let key_of = |(b, r): RowRef| keys.get(offsets[b as usize] + r as usize);
        let clear: Vec<usize> = options
            .clear
            .iter()
            .filter_map(|name| schema.index_of(name).ok())
            .collect();
        let mut rows = Vec::new();
        let mut chunks = Vec::new();
        for start in (0..selection.len()).step_by(options.chunk_rows) {
            let end = (start + options.chunk_rows).min(selection.len());
            chunks.push(ChunkSpec {
                kind: ChunkKind::Columnar,
                rows: end - start,
                first_key: key_of(selection.row(start)),
                last_key: key_of(selection.row(end - 1)),
            });
            rows.push(Rows::Range(start, end));
        }
        for (mask, group) in clear_groups(&batches, &selection, &clear) {
            let columns: Vec<usize> = (0..clear.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| clear[i])
                .collect();
            let names: Vec<String> = columns
                .iter()
                .map(|&c| schema.field(c).name().clone())
                .collect();
            for part in group.chunks(options.chunk_rows) {
                chunks.push(ChunkSpec {
                    kind: ChunkKind::Clear {
                        columns: names.clone(),
                    },
                    rows: part.len(),
                    first_key: key_of(part[0]),
                    last_key: key_of(part[part.len() - 1]),
                });
                rows.push(Rows::Clear(part.to_vec(), columns.clone()));
            }
        }
        let names = schema.fields().iter().map(|f| json_key(f.name())).collect();
        Ok(Self {
            batches,
            writers,
            names,
            key_index,
            selection,
            rows,
            chunks,
        })
    }

    fn empty() -> Self {
        Self {
            batches: Vec::new(),
            writers: Vec::new(),
            names: Vec::new(),
            key_index: 0,
            selection: Selection::Listed(Vec::new()),
            rows: Vec::new(),
            chunks: Vec::new(),
        }
    }

    /// Rows that will be sent (after `on_duplicate=Last`).
    pub fn rows(&self) -> usize {
        self.selection.len()
    }

    /// The bodies, in sending order: columnar first, then clears.
    pub fn chunks(&self) -> &[ChunkSpec] {
        &self.chunks
    }

    /// The JSON body of chunk `index`.
    pub fn encode(&self, index: usize) -> Result<Bytes> {
        let rows = self
            .rows
            .get(index)
            .ok_or_else(|| Error::invalid("chunk", format!("no chunk {index}")))?;
        Ok(Bytes::from(match rows {
            Rows::Range(start, end) => self.columnar(&self.selection.range(*start, *end)),
            Rows::Clear(rows, columns) => self.row_wise_nulls(rows, columns),
        }))
    }

    /// `{"key":[...],"col":[...],...}`
    fn columnar(&self, rows: &[RowRef]) -> Vec<u8> {
        let mut out = Vec::with_capacity(rows.len() * 16 * self.names.len());
        out.push(b'{');
        for (column, name) in self.names.iter().enumerate() {
            if column > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name);
            out.push(b'[');
            for (n, &(b, r)) in rows.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                self.writers[b as usize][column].write(r as usize, &mut out);
            }
            out.push(b']');
        }
        out.push(b'}');
        out
    }

    /// `[{"key":k,"c1":null,...},...]`, the same keys on every row.
    fn row_wise_nulls(&self, rows: &[RowRef], columns: &[usize]) -> Vec<u8> {
        let mut out = Vec::with_capacity(rows.len() * 24 * (1 + columns.len()));
        out.push(b'[');
        for (n, &(b, r)) in rows.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.push(b'{');
            out.extend_from_slice(&self.names[self.key_index]);
            self.writers[b as usize][self.key_index].write(r as usize, &mut out);
            for &column in columns {
                out.push(b',');
                out.extend_from_slice(&self.names[column]);
                out.extend_from_slice(b"null");
            }
            out.push(b'}');
        }
        out.push(b']');
        out
    }

    /// The input rows covered by `chunk_indices`, once each, in input order (for resuming).
    pub fn remaining(&self, chunk_indices: &[usize]) -> Result<Vec<RecordBatch>> {
        let mut wanted: Vec<Vec<u32>> = vec![Vec::new(); self.batches.len()];
        for &index in chunk_indices {
            let rows: Cow<'_, [RowRef]> = match self.rows.get(index) {
                Some(Rows::Range(start, end)) => self.selection.range(*start, *end),
                Some(Rows::Clear(rows, _)) => Cow::Borrowed(rows.as_slice()),
                None => return Err(Error::invalid("chunk", format!("no chunk {index}"))),
            };
            for &(b, r) in rows.iter() {
                wanted[b as usize].push(r);
            }
        }
        let mut out = Vec::new();
        for (batch, mut rows) in self.batches.iter().zip(wanted) {
            if rows.is_empty() {
                continue;
            }
            rows.sort_unstable();
            rows.dedup();
            let indices = arrow_array::UInt32Array::from(rows);
            out.push(arrow_select::take::take_record_batch(batch, &indices)?);
        }
        Ok(out)
    }
}

fn row_offsets(batches: &[RecordBatch]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(batches.len());
    let mut total = 0;
    for batch in batches {
        offsets.push(total);
        total += batch.num_rows();
    }
    offsets
}

/// Selected rows with at least one null `clear` column, grouped by which ones are null.
fn clear_groups(
    batches: &[RecordBatch],
    selection: &Selection,
    clear: &[usize],
) -> BTreeMap<u64, Vec<RowRef>> {
    let mut groups: BTreeMap<u64, Vec<RowRef>> = BTreeMap::new();
    if clear.is_empty() {
        return groups;
    }
    for &(b, r) in selection.range(0, selection.len()).iter() {
        let batch = &batches[b as usize];
        let mask = clear.iter().enumerate().fold(0u64, |mask, (i, &c)| {
            if is_missing(batch.column(c).as_ref(), r as usize) {
                mask | (1 << i)
            } else {
                mask
            }
        });
        if mask != 0 {
            groups.entry(mask).or_default().push((b, r));
        }
    }
    groups
}

/// Null, or NaN (pandas' missing float).
fn is_missing(column: &dyn Array, row: usize) -> bool {
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    column.is_null(row)
        || match column.data_type() {
            DataType::Float64 => column
                .as_primitive::<arrow_array::types::Float64Type>()
                .value(row)
                .is_nan(),
            DataType::Float32 => column
                .as_primitive::<arrow_array::types::Float32Type>()
                .value(row)
                .is_nan(),
            _ => false,
        }
}
