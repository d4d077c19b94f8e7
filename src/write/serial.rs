//! A table as one Arrow IPC stream in memory, and back: what `pickle` (and so multiprocessing,
//! Dask, Ray and joblib) sends for a `converz.Table`. The stream format carries the schema with
//! its metadata, every batch boundary and every type exactly, so the copy is the same table.

use std::io::Write;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// `batches` (all of `schema`) as the bytes of one uncompressed IPC stream (the tests' reference
/// for [`ipc_stream_into`]).
#[cfg(test)]
pub fn to_ipc_stream(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let size = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    write_stream(schema, batches, Vec::with_capacity(size))
}

/// The length of [`to_ipc_stream`]'s bytes, counted without keeping them: with it, the caller
/// can write the stream straight into its final buffer ([`ipc_stream_into`]) instead of
/// copying a finished `Vec` there (a pickled table would be in memory three times).
pub fn ipc_stream_len(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<usize> {
    Ok(write_stream(schema, batches, Counter(0))?.0)
}

/// Writes [`to_ipc_stream`]'s bytes into `out`, which must be exactly [`ipc_stream_len`] long.
pub fn ipc_stream_into(schema: &SchemaRef, batches: &[RecordBatch], out: &mut [u8]) -> Result<()> {
    let rest = write_stream(schema, batches, &mut *out)?;
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            "data",
            "the table changed while it was being pickled",
        ))
    }
}

fn write_stream<W: Write>(schema: &SchemaRef, batches: &[RecordBatch], out: W) -> Result<W> {
    let mut writer = StreamWriter::try_new(out, schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// A writer that only counts the bytes written to it.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    fn the_stream_written_in_place_is_the_same_bytes() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("ccc")]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap();
        let batches = [batch.clone(), batch];
        let whole = to_ipc_stream(&schema, &batches).unwrap();
        assert_eq!(ipc_stream_len(&schema, &batches).unwrap(), whole.len());
        let mut out = vec![0; whole.len()];
        ipc_stream_into(&schema, &batches, &mut out).unwrap();
        assert_eq!(out, whole);
        // A buffer of the wrong length is an error, not a truncated or padded stream.
        assert!(ipc_stream_into(&schema, &batches, &mut vec![0; whole.len() - 1]).is_err());
        assert!(ipc_stream_into(&schema, &batches, &mut vec![0; whole.len() + 1]).is_err());
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
