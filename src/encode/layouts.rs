//! Fixed-size lists, cast to plain lists before anything is checked or written: JSON has one
//! form for both (an array), so a fixed-size list (an embedding, a coordinate pair) was refused
//! only for its layout (outside trial 30c F6). At any depth inside lists and structs.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_cast::cast;
use arrow_schema::{DataType, FieldRef, Schema, SchemaRef};

use crate::error::{Error, Result};

/// `batches` (of `schema`) with every fixed-size list made a plain list, or as they were when
/// they hold none.
pub fn with_plain_lists(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let plain: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| plain(f.data_type()))
        .collect();
    if plain
        .iter()
        .zip(schema.fields())
        .all(|(t, f)| t == f.data_type())
    {
        return Ok((schema, batches));
    }
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .zip(&plain)
        .map(|(f, t)| Arc::new(f.as_ref().clone().with_data_type(t.clone())))
        .collect();
    let cast_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(&plain)
                .zip(schema.fields())
                .map(|((column, to), field)| match column.data_type() == to {
                    true => Ok(Arc::clone(column)),
                    false => cast(column, to).map_err(|e| {
                        Error::encode(field.name(), format!("could not be made a plain list: {e}"))
                    }),
                })
                .collect::<Result<Vec<_>>>()?;
            RecordBatch::try_new(Arc::clone(&cast_schema), columns).map_err(Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((cast_schema, batches))
}

/// `data_type` with each fixed-size list a list of the same items.
fn plain(data_type: &DataType) -> DataType {
    let item = |f: &FieldRef| Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type())));
    match data_type {
        DataType::FixedSizeList(f, _) | DataType::List(f) => DataType::List(item(f)),
        DataType::LargeList(f) => DataType::LargeList(item(f)),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(item).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{FixedSizeListBuilder, Int64Builder};
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, ArrayRef, Int64Array, StructArray};
    use arrow_schema::Field;

    #[test]
    fn fixed_size_lists_become_lists_of_the_same_items_at_any_depth() {
        let mut pairs = FixedSizeListBuilder::new(Int64Builder::new(), 2);
        pairs.values().append_slice(&[1, 2]);
        pairs.append(true);
        pairs.values().append_slice(&[0, 0]);
        pairs.append(false);
        let pairs: ArrayRef = Arc::new(pairs.finish());
        let inside = StructArray::from(vec![(
            Arc::new(Field::new("p", pairs.data_type().clone(), true)),
            Arc::clone(&pairs),
        )]);
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![7, 8]));
        let batch = RecordBatch::try_from_iter([
            ("call_id", keys),
            ("pair", pairs),
            ("s", Arc::new(inside) as ArrayRef),
        ])
        .unwrap();
        let (schema, batches) = with_plain_lists(batch.schema(), vec![batch]).unwrap();
        let item = Arc::new(Field::new("item", DataType::Int64, true));
        assert_eq!(
            schema.field(1).data_type(),
            &DataType::List(Arc::clone(&item))
        );
        let pair = batches[0].column(1).as_list::<i32>();
        assert_eq!(
            pair.value(0)
                .as_primitive::<arrow_array::types::Int64Type>()
                .values(),
            &[1, 2]
        );
        assert!(pair.is_null(1));
        let nested = batches[0].column(2).as_struct().column(0);
        assert_eq!(nested.data_type(), &DataType::List(item));
    }

    #[test]
    fn batches_without_fixed_size_lists_are_untouched() {
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        let batch = RecordBatch::try_from_iter([("call_id", keys)]).unwrap();
        let schema = batch.schema();
        let (same, _) = with_plain_lists(Arc::clone(&schema), vec![batch]).unwrap();
        assert!(Arc::ptr_eq(&same, &schema));
    }
}
