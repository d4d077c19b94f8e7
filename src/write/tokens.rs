//! The words other tools write for a missing number in a CSV (`NA` from R, `NaN` and `null`
//! from pandas and Spark). arrow-csv reads them as text, which turned a column of numbers
//! holding one into a text column (`1.5` pushed as the string "1.5"). A column whose values
//! are numbers and such words is read as numbers, each word as a null (a push leaves the value
//! unchanged, as for an empty field); a column with any other text stays text, words and all.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::error::Result;

/// The words read as a missing number (pandas' defaults, less the rarer spellings).
pub(super) const MISSING: [&str; 11] = [
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "null", "NULL", "None", "<NA>", "#N/A",
];

/// What a text column's values were.
#[derive(Default)]
struct Seen {
    missing: bool,
    numbers: bool,
    fractions: bool,
    other: bool,
}

/// The text columns of `schema` (not in `given`) whose values are numbers and [`MISSING`]
/// words, with the type their numbers make: Int64 for integers that fit it, else Float64.
pub(super) fn numeric_columns(
    path: &Path,
    schema: &Schema,
    given: &[(String, DataType)],
) -> Result<HashMap<String, DataType>> {
    let text: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.data_type() == &DataType::Utf8)
        .filter(|(_, f)| !given.iter().any(|(name, _)| name == f.name()))
        .map(|(i, _)| i)
        .collect();
    if text.is_empty() {
        return Ok(HashMap::new());
    }
    let mut seen: Vec<Seen> = text.iter().map(|_| Seen::default()).collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(BufReader::new(File::open(path)?));
    let mut record = csv::StringRecord::new();
    // A record the reader refuses ends the scan; the read that follows reports it.
    while let Ok(true) = reader.read_record(&mut record) {
        for (column, &field) in seen.iter_mut().zip(&text) {
            match record.get(field) {
                None | Some("") => {}
                Some(value) if MISSING.contains(&value) => column.missing = true,
                Some(value) if super::exact::is_number(value) => {
                    column.numbers = true;
                    column.fractions |=
                        value.contains(['.', 'e', 'E']) || value.parse::<i64>().is_err();
                }
                Some(_) => column.other = true,
            }
        }
    }
    Ok(seen
        .iter()
        .zip(&text)
        .filter(|(s, _)| s.missing && s.numbers && !s.other)
        .map(|(s, &i)| {
            let data_type = if s.fractions {
                DataType::Float64
            } else {
                DataType::Int64
            };
            (schema.field(i).name().clone(), data_type)
        })
        .collect())
}

/// `schema` with the `numeric` columns' types.
pub(super) fn with_numbers(schema: &SchemaRef, numeric: &HashMap<String, DataType>) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match numeric.get(f.name()) {
            Some(data_type) => Field::new(f.name(), data_type.clone(), true),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch`, read with the `numeric` columns as text, under `schema` (theirs as numbers).
pub(super) fn to_numbers(
    batch: RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, field) in schema.fields().iter().enumerate() {
        if field.data_type() == batch.schema().field(i).data_type() {
            continue;
        }
        let Some(text) = columns[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let numbers: StringArray = text
            .iter()
            .map(|v| v.filter(|v| !v.is_empty() && !MISSING.contains(v)))
            .collect();
        let options = arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        };
        columns[i] = arrow_cast::cast_with_options(&numbers, field.data_type(), &options)?;
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
}
