//! What a file fetch's file holds differently from the sent values, told per column: the file
//! gets a page's values at the type the page was decoded with, and a column that turns to text
//! on a later page keeps the earlier pages' values as that type prints them (outside trial 15:
//! a Parquet file re-printed timestamps and Float64 numbers, with a warning that said only
//! "decoded as strings"; timestamps are now only those that print back as sent,
//! `decode::classify::dated`, so they need no note). The notes are the eager fetch's (`decode::Respelled`), so a file
//! and `client.calls()` say the same of the same values.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};

use super::FileFormat;
use crate::decode::{Floats, Respelled};

/// The smallest magnitude from which a Float64 may hold a rounded integer.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Per column (in order of appearance), the types its values were written with.
#[derive(Debug, Default)]
pub(super) struct Written(Vec<(String, Kinds)>);

/// The kinds of value a column was written as, beside text.
#[derive(Debug, Default, Clone, Copy)]
struct Kinds {
    floats: Floats,
    /// Numbers or booleans (an NDJSON line writes them as such, not as text).
    scalars: bool,
}

impl Written {
    /// Notes the types of `batch`'s columns.
    pub(super) fn batch(&mut self, batch: &RecordBatch) {
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            if column.null_count() == column.len() {
                continue;
            }
            let at = match self.0.iter().position(|(n, _)| n == field.name()) {
                Some(at) => at,
                None => {
                    self.0.push((field.name().clone(), Kinds::default()));
                    self.0.len() - 1
                }
            };
            let kinds = &mut self.0[at].1;
            match field.data_type() {
                DataType::Float64 => {
                    // A whole Float64 at or past 2^53 may be an integer the decode rounded.
                    let big = column
                        .as_primitive::<Float64Type>()
                        .iter()
                        .flatten()
                        .any(|v| v.abs() >= EXACT_LIMIT && v.fract() == 0.0 && v.is_finite());
                    let this = if big { Floats::Rounded } else { Floats::Float };
                    kinds.floats = kinds.floats.max(this);
                    kinds.scalars = true;
                }
                t if t.is_integer() || *t == DataType::Boolean => kinds.scalars = true,
                _ => {}
            }
        }
    }

    /// One warning per column that ends as text (`schema`: the fetch's types, as the eager
    /// fetch would have them) and was written, in `format`, as another type first.
    pub(super) fn notes(&self, schema: &SchemaRef, format: FileFormat) -> Vec<String> {
        let mut notes = Vec::new();
        for (name, kinds) in &self.0 {
            let text = schema
                .field_with_name(name)
                .is_ok_and(|f| f.data_type() == &DataType::Utf8);
            if !text {
                continue;
            }
            if format == FileFormat::Ndjson {
                if kinds.scalars {
                    notes.push(format!(
                        "column `{name}` ends as text, but the lines written before its first \
                         string hold its numbers and booleans as JSON numbers and booleans (5, \
                         not \"5\"), where client.calls() gives text: give the column as \"str\" \
                         in schema= to have every value as text, as sent"
                    ));
                }
                // An NDJSON line writes a number as a JSON number, as sent: no note of Float64
                // (nor of a timestamp, written as the text it was sent as).
                continue;
            }
            let note = Respelled {
                floats: kinds.floats,
            }
            .note();
            if !note.is_empty() {
                notes.push(format!("column `{name}` ends as text{note}"));
            }
        }
        notes
    }
}
