//! CSV fields written `""`: an empty string, where an empty field is a null. polars, pandas
//! (`quoting`) and R write a missing value as an empty field and an empty string as `""`;
//! arrow-csv strips the quotes and reads both as null, which a push sends as "leave
//! unchanged", so the empty string was never set. This module finds the `""` fields of text
//! columns in the raw bytes (arrow-csv does not say which fields were quoted) and puts the
//! empty strings back into the batches read.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, SchemaRef};

use crate::error::Result;

/// The data rows (0 for the first row after the header) where each column of a file holds
/// `""`, for the text columns of `schema` (whose fields are the header's, in order).
pub(super) struct EmptyStrings {
    /// Per schema field: its rows written `""`, ascending; empty for other columns.
    rows: Vec<VecDeque<u64>>,
    /// Rows of the batches handed out so far.
    seen: u64,
}

/// Where a tokenizer stands, following csv-core (which arrow-csv reads with): `,` between
/// fields, `"` quotes with `""` for a quote inside, a record ended by `\r`, `\n` or both, and
/// blank lines skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first of `""`.
    QuoteInQuoted,
}

impl EmptyStrings {
    /// Scans `path`; `None` when no text column holds `""`.
    pub(super) fn scan(path: &Path, schema: &SchemaRef) -> Result<Option<Self>> {
        let text: Vec<bool> = schema
            .fields()
            .iter()
            .map(|f| f.data_type() == &DataType::Utf8)
            .collect();
        if !text.contains(&true) {
            return Ok(None);
        }
        let mut rows = vec![VecDeque::new(); text.len()];
        let mut mark = |record: u64, field: usize| {
            // Record 0 is the header.
            if record > 0 && text.get(field) == Some(&true) {
                rows[field].push_back(record - 1);
            }
        };
        let mut reader = BufReader::new(File::open(path)?);
        let mut chunk = vec![0_u8; 64 * 1024];
        let (mut state, mut record, mut field, mut content) = (State::StartRecord, 0_u64, 0, false);
        loop {
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            for &byte in &chunk[..n] {
                if state == State::StartRecord {
                    if matches!(byte, b'\r' | b'\n') {
                        continue;
                    }
                    field = 0;
                    state = State::StartField;
                }
                let end = matches!(byte, b'\r' | b'\n');
                state = match (state, byte) {
                    (State::StartField, b'"') => {
                        content = false;
                        State::Quoted
                    }
                    (State::Quoted, b'"') => State::QuoteInQuoted,
                    (State::Quoted, _) => {
                        content = true;
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b'"') => {
                        content = true;
                        State::Quoted
                    }
                    (State::QuoteInQuoted, _) if end || byte == b',' => {
                        if !content {
                            mark(record, field);
                        }
                        next(byte, &mut record, &mut field)
                    }
                    // Text after a closing quote is part of the field (csv-core's reading).
                    (State::QuoteInQuoted, _) => State::Unquoted,
                    (_, b',') => next(byte, &mut record, &mut field),
                    (_, _) if end => next(byte, &mut record, &mut field),
                    _ => State::Unquoted,
                };
            }
        }
        if state == State::QuoteInQuoted && !content {
            mark(record, field);
        }
        Ok(rows
            .iter()
            .any(|r| !r.is_empty())
            .then_some(Self { rows, seen: 0 }))
    }

    /// `batch` (the next rows of the file) with `""` for each null written `""`.
    pub(super) fn restore(
        &mut self,
        batch: RecordBatch,
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let (start, end) = (self.seen, self.seen + batch.num_rows() as u64);
        self.seen = end;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (i, rows) in self.rows.iter_mut().enumerate() {
            let mut here = Vec::new();
            while let Some(&row) = rows.front() {
                if row >= end {
                    break;
                }
                rows.pop_front();
                if row >= start {
                    here.push((row - start) as usize);
                }
            }
            if here.is_empty() {
                continue;
            }
            let Some(strings) = columns[i].as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            let mut at = here.into_iter().peekable();
            let restored: StringArray = (0..strings.len())
                .map(|row| {
                    let empty = at.next_if_eq(&row).is_some();
                    if strings.is_valid(row) {
                        Some(strings.value(row))
                    } else if empty {
                        Some("")
                    } else {
                        None
                    }
                })
                .collect();
            columns[i] = Arc::new(restored);
        }
        RecordBatch::try_new(batch.schema(), columns)
    }
}

/// The state after a field's end (`,`) or a record's (`\r`, `\n`).
fn next(byte: u8, record: &mut u64, field: &mut usize) -> State {
    if byte == b',' {
        *field += 1;
        State::StartField
    } else {
        *record += 1;
        State::StartRecord
    }
}
