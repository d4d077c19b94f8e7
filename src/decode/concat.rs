//! `Table.concat`: the schema that tables fetched apart are joined under, by the fetch's own
//! merge rules (`infer::Col`), so joining them gives what one fetch of all their rows gives.
//!
//! Each table's column is read back into what a fetch would have seen (`Col::seen` bits) from
//! its Arrow type, plus its data where the type alone does not say: a column holding only nulls
//! showed nulls, whatever it is typed (a documented column of an empty day), and an Int64 column
//! with integers beyond ±2^53 showed `WIDE` ones (which Float64 rounds, said by the fetch's
//! warning). The merged bits resolve to the type and warning the fetch gives. Found by the
//! outside trial 19: casting to the last table's schema dropped a column it lacked and narrowed
//! 1.5 to 1, text to null, 7 to true, a timestamp to its date.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{new_null_array, Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::classify::{self, int_bits};
use super::infer::{bits, Col, Fields, Floats, Kind, Respelled};
use super::unify::conform_batch;
use crate::error::Error;
use crate::Result;

/// One table's batches (all under its own schema).
pub(crate) type Part<'a> = (&'a SchemaRef, &'a [RecordBatch]);

/// The columns of all `parts` (first-appearance order) at the type one fetch of all their rows
/// would give, and the warnings that fetch would give for columns the join changed.
///
/// # Errors
/// [`Error::InvalidParameter`] (`tables`) for a column whose types differ from table to table
/// where one is not a type the fetch infers (a `schema=` override such as `uint64`): the fetch's
/// rules cannot join them, and no guess is made.
pub(crate) fn concat_schema(parts: &[Part<'_>]) -> Result<(SchemaRef, Vec<String>)> {
    let mut names: Vec<&str> = Vec::new();
    for (schema, _) in parts {
        for f in schema.fields() {
            if !names.contains(&f.name().as_str()) {
                names.push(f.name());
            }
        }
    }
    let mut fields = Vec::with_capacity(names.len());
    let mut warnings = Vec::new();
    for name in names {
        let (data_type, warning) = column_type(name, parts)?;
        fields.push(Field::new(name, data_type, true));
        warnings.extend(warning);
    }
    Ok((Arc::new(Schema::new(fields)), warnings))
}

/// `batch` under `schema` (from [`concat_schema`]): a column holding only nulls becomes nulls
/// of its new type (it may be typed as no rule joins, and has no value to change); the rest is
/// the fetch's own cast (`conform_batch`: timestamps as sent, nested values as JSON).
pub(crate) fn conform_part(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(batch.schema().fields())
        .map(|(a, f)| {
            let to = schema.field_with_name(f.name()).map(|t| t.data_type());
            match to {
                Ok(to) if to != a.data_type() && all_null(a) => new_null_array(to, rows),
                _ => Arc::clone(a),
            }
        })
        .collect();
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, a)| Field::new(f.name(), a.data_type().clone(), true))
        .collect();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    let nulled =
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?;
    conform_batch(&nulled, schema)
}

/// The type of column `name` in the joined table, and the fetch's warning if the join changed
/// a table's type for it.
fn column_type(name: &str, parts: &[Part<'_>]) -> Result<(DataType, Option<String>)> {
    let mut columns: Vec<(&DataType, Vec<ArrayRef>)> = Vec::new();
    for (schema, batches) in parts {
        let Ok(field) = schema.field_with_name(name) else {
            continue;
        };
        let arrays = batches
            .iter()
            .filter_map(|b| b.column_by_name(name).cloned())
            .collect();
        columns.push((field.data_type(), arrays));
    }
    let first = columns[0].0;
    if columns.iter().all(|(t, _)| *t == first) {
        // The fetch's rules map every type they give to itself; no value need be read.
        return Ok((first.clone(), None));
    }
    // (type, what its values showed, or None for a type the fetch never infers)
    let seen: Vec<(DataType, Option<Col>)> = columns
        .iter()
        .map(|(t, arrays)| ((*t).clone(), observe(t, arrays)))
        .collect();
    // Tables whose column holds values; a column of nulls takes any type without a change.
    let valued = |c: &Option<Col>| c.as_ref().is_none_or(|c| c.seen != bits::NULL);
    let mut typed = seen.iter().filter(|(_, c)| valued(c)).map(|(t, _)| t);
    if let Some(only) = typed.next() {
        if typed.all(|t| t == only) {
            return Ok((only.clone(), None));
        }
    }
    let mut merged = Col::default();
    for (t, col) in &seen {
        let Some(col) = col else {
            let others: Vec<String> = seen
                .iter()
                .filter(|(o, _)| o != t)
                .map(|(o, _)| o.to_string())
                .collect();
            return Err(Error::invalid(
                "tables",
                format!(
                    "column `{name}` is {t} in one table and {} in another, which converz's \
                     merge rules do not join (a schema= type); fetch the tables with the same \
                     schema= to concatenate them",
                    others.join(", ")
                ),
            ));
        };
        merged.merge(col);
    }
    let kind = merged.kind();
    if kind == Kind::Null {
        // Only nulls anywhere: the last table's own type (a documented one, as a fetch gives).
        let typed = seen.iter().rev().find(|(t, _)| t != &DataType::Null);
        return Ok((typed.map_or(DataType::Null, |(t, _)| t.clone()), None));
    }
    let data_type = kind.data_type();
    // A table whose values the join recasts: the fetch's warning for the joined column.
    let changed = seen
        .iter()
        .any(|(t, c)| t != &data_type && c.as_ref().is_some_and(|c| c.seen != bits::NULL));
    let floats = seen
        .iter()
        .any(|(t, c)| t == &DataType::Float64 && c.as_ref().is_some_and(|c| c.seen != bits::NULL));
    let respelled = match floats && data_type == DataType::Utf8 {
        true => Respelled {
            floats: Floats::Float,
        },
        false => Respelled::NO,
    };
    let warning = merged
        .conflict(respelled)
        .filter(|_| changed)
        .map(|why| format!("column `{name}` {why}"));
    Ok((data_type, warning))
}

/// Whether every value of `array` is null (so it says nothing of its type).
fn all_null(array: &ArrayRef) -> bool {
    array.logical_null_count() == array.len()
}

/// What a fetch saw in a column that holds `arrays` of type `data_type`, or None for a type
/// the fetch never infers.
fn observe(data_type: &DataType, arrays: &[ArrayRef]) -> Option<Col> {
    if arrays.iter().all(all_null) {
        return Some(Col {
            seen: bits::NULL,
            ..Col::default()
        });
    }
    let nulls = match arrays.iter().any(|a| a.logical_null_count() > 0) {
        true => bits::NULL,
        false => 0,
    };
    let mut col = Col {
        seen: nulls,
        ..Col::default()
    };
    col.seen |= match data_type {
        DataType::Boolean => bits::BOOL,
        // The bits the fetch's classifier gives each integer (`WIDE` beyond ±2^53), joined.
        DataType::Int64 => arrays
            .iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().flatten())
            .fold(bits::INT, |seen, v| seen | int_bits(v)),
        DataType::Float64 => bits::FLOAT,
        DataType::Date32 => bits::DATE,
        DataType::Timestamp(TimeUnit::Microsecond, None) => bits::TS,
        DataType::Utf8 => text_bits(arrays),
        DataType::List(item) => {
            let values: Vec<ArrayRef> = arrays
                .iter()
                .map(|a| Arc::clone(a.as_list::<i32>().values()))
                .collect();
            col.item = Some(Box::new(observe(item.data_type(), &values)?));
            bits::LIST
        }
        DataType::Struct(children) => {
            let mut fields = Fields::default();
            for (i, child) in children.iter().enumerate() {
                let values: Vec<ArrayRef> = arrays
                    .iter()
                    .map(|a| Arc::clone(a.as_struct().column(i)))
                    .collect();
                let (at, _) = fields.position_or_insert(child.name());
                fields.cols[at] = observe(child.data_type(), &values)?;
            }
            col.fields = Some(Box::new(fields));
            bits::OBJ
        }
        _ => return None,
    };
    Some(col)
}

/// What a fetch saw in a text column: integers beyond int64, if every value is an integer and
/// one is beyond (the fetch keeps those as text, and warns of them so, not as "strings"), else
/// strings. (A server's string of digits reads alike; only the warning's words depend on it.)
fn text_bits(arrays: &[ArrayRef]) -> u16 {
    let mut beyond = false;
    for array in arrays {
        for v in array.as_string::<i32>().iter().flatten() {
            if !classify::is_integer_literal(v.as_bytes()) {
                return bits::STR;
            }
            beyond |= classify::integer_bits(v.as_bytes()) == bits::BIGINT;
        }
    }
    match beyond {
        true => bits::BIGINT,
        false => bits::STR,
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Float64Array, Int64Array, NullArray, StringArray};

    use super::*;

    fn table(name: &str, array: ArrayRef) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![Field::new(
            name,
            array.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![array]).expect("a batch");
        (schema, vec![batch])
    }

    fn joined(tables: &[(SchemaRef, Vec<RecordBatch>)]) -> Result<(SchemaRef, Vec<String>)> {
        let parts: Vec<Part<'_>> = tables.iter().map(|(s, b)| (s, b.as_slice())).collect();
        concat_schema(&parts)
    }

    #[test]
    fn an_earlier_float_is_not_narrowed_and_a_missing_column_is_kept() {
        let a = table("x", Arc::new(Float64Array::from(vec![1.5])));
        let b = table("y", Arc::new(Int64Array::from(vec![2])));
        let c = table("x", Arc::new(Int64Array::from(vec![2])));
        let (schema, warnings) = joined(&[a, b, c]).expect("joins");
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["x", "y"]);
        assert_eq!(schema.field(0).data_type(), &DataType::Float64);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn text_beside_integers_is_text_with_the_fetchs_warning() {
        let a = table("x", Arc::new(StringArray::from(vec!["abc"])));
        let b = table("x", Arc::new(Int64Array::from(vec![2])));
        let (schema, warnings) = joined(&[a, b]).expect("joins");
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(
            warnings,
            ["column `x` mixes integers, strings; decoded as strings"]
        );
    }

    #[test]
    fn a_column_of_nulls_takes_the_other_tables_type() {
        let a = table("x", Arc::new(NullArray::new(2)));
        let b = table("x", Arc::new(arrow_array::UInt64Array::from(vec![5])));
        let (schema, _) = joined(&[a, b]).expect("joins");
        assert_eq!(schema.field(0).data_type(), &DataType::UInt64);
    }
}
