//! A table as one Arrow IPC stream in memory, and back: what `pickle` (and so multiprocessing,
//! Dask, Ray and joblib) sends for a `converz.Table`. The stream format carries the schema with
//! its metadata, every batch boundary and every type exactly, so the copy is the same table.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// `batches` (all of `schema`) as the bytes of one uncompressed IPC stream.
pub fn to_ipc_stream(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let size = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    let mut writer = StreamWriter::try_new(Vec::with_capacity(size), schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// The schema and batches of an IPC stream made by [`to_ipc_stream`].
pub fn from_ipc_stream(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(bytes, None).map_err(not_a_table)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(not_a_table)?;
    Ok((Arc::clone(&schema), batches))
}

fn not_a_table(err: arrow_schema::ArrowError) -> Error {
    Error::invalid(
        "data",
        format!("these bytes are not a pickled converz.Table (an Arrow IPC stream): {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, NullArray, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::collections::HashMap;

    #[test]
    fn round_trip_keeps_batches_types_and_metadata() {
        let schema = Arc::new(Schema::new_with_metadata(
            vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Utf8, true),
                Field::new("nothing", DataType::Null, true),
            ],
            HashMap::from([("source".to_owned(), "calls".to_owned())]),
        ));
        let batch = |ids: Vec<Option<i64>>, names: Vec<Option<&str>>| {
            let n = ids.len();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(NullArray::new(n)),
            ];
            RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
        };
        let batches = vec![
            batch(vec![Some(1), None], vec![Some("é\"\\"), None]),
            batch(vec![], vec![]),
            batch(vec![Some(i64::MIN)], vec![Some("")]),
        ];
        let bytes = to_ipc_stream(&schema, &batches).unwrap();
        let (back_schema, back) = from_ipc_stream(&bytes).unwrap();
        assert_eq!(back_schema, schema);
        assert_eq!(back, batches);
    }

    #[test]
    fn an_empty_table_round_trips() {
        let schema = Arc::new(Schema::empty());
        let bytes = to_ipc_stream(&schema, &[]).unwrap();
        let (back_schema, back) = from_ipc_stream(&bytes).unwrap();
        assert_eq!(back_schema, schema);
        assert!(back.is_empty());
    }

    #[test]
    fn other_bytes_are_a_clear_error() {
        for junk in [&b""[..], b"not arrow", &[0xff; 16]] {
            let err = from_ipc_stream(junk).unwrap_err().to_string();
            assert!(err.contains("not a pickled converz.Table"), "{err}");
        }
    }
}
