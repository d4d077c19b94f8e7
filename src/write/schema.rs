//! One file schema for batches whose schemas differ: the widening rules, and conforming a batch
//! to a schema by column name for the text formats.
//!
//! The rules mirror the decoder's inference (`decode/infer.rs`): a column only seen as `Null`
//! takes the other side's type; integers and floats meet at `Float64`; structs merge field by field and lists by item; anything else meets at
//! `Utf8`, which the decoder's cast turns into the API's text (a date meeting a timestamp too:
//! as a timestamp, the date would be written back with a midnight time, changing it).

use std::sync::Arc;

use arrow_array::{new_null_array, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

use crate::error::Result;

/// `current` widened to hold `next` too, or None when `current` already holds it. With
/// `typed == false` (CSV) only new column names count; types are left as first seen.
pub fn merge_schemas(current: &SchemaRef, next: &SchemaRef, typed: bool) -> Option<SchemaRef> {
    let mut fields: Vec<FieldRef> = current.fields().iter().cloned().collect();
    let mut changed = false;
    for field in next.fields() {
        match current.index_of(field.name()) {
            Ok(i) if typed => {
                let merged = merge_type(fields[i].data_type(), field.data_type());
                if &merged != fields[i].data_type() {
                    fields[i] = Arc::new(Field::new(field.name(), merged, true));
                    changed = true;
                }
            }
            Ok(_) => {}
            Err(_) => {
                fields.push(Arc::new(field.as_ref().clone().with_nullable(true)));
                changed = true;
            }
        }
    }
    changed.then(|| Arc::new(Schema::new(fields)))
}

/// The narrowest type that holds values of both `a` and `b`.
pub fn merge_type(a: &DataType, b: &DataType) -> DataType {
    use DataType::{Float64, Int64, List, Null, Struct, Utf8};
    match (a, b) {
        _ if a == b => a.clone(),
        (Null, x) | (x, Null) => x.clone(),
        (Int64 | Float64, Int64 | Float64) => Float64,
        (Struct(x), Struct(y)) => Struct(merge_fields(x, y)),
        (List(x), List(y)) => {
            let item = merge_type(x.data_type(), y.data_type());
            List(Arc::new(Field::new(x.name(), item, true)))
        }
        _ => Utf8,
    }
}

fn merge_fields(a: &Fields, b: &Fields) -> Fields {
    let mut out: Vec<Field> = a.iter().map(|f| f.as_ref().clone()).collect();
    for field in b {
        match out.iter_mut().find(|f| f.name() == field.name()) {
            Some(f) => {
                let merged = merge_type(f.data_type(), field.data_type());
                *f = Field::new(field.name(), merged, true);
            }
            None => out.push(field.as_ref().clone().with_nullable(true)),
        }
    }
    Fields::from(out)
}

/// `batch` with `schema`'s column names in `schema`'s order: each column as the batch has it
/// (any type), a column the batch lacks as nulls. For CSV, where only names and order matter.
pub fn conform_names(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        match batch.schema().index_of(field.name()) {
            Ok(i) => {
                fields.push(batch.schema().field(i).clone());
                columns.push(Arc::clone(batch.column(i)));
            }
            Err(_) => {
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(new_null_array(&DataType::Utf8, rows));
            }
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &options,
    )?)
}
