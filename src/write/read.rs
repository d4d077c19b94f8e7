//! Files back into record batches, streamed: for `converz push FILE`, for the copy a
//! [`FileWriter`](super::FileWriter) makes when its schema widens, and for sync's merges.
//!
//! Parquet and IPC carry their schema. CSV and NDJSON are inferred over the whole file (two
//! passes over the file, one batch in memory), or, given a schema, read with every column as
//! text, which copies a CSV this module wrote byte for byte.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::sink::file_error;
use super::FileFormat;
use crate::error::Result;

const BATCH_ROWS: usize = 8_192;

/// Batches of one file, in order.
pub struct FileReader {
    schema: SchemaRef,
    inner: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>,
}

impl FileReader {
    /// Opens `path`. `text_schema` (CSV only) reads those columns as Utf8, no inference.
    pub fn open(path: &Path, format: FileFormat, text_schema: Option<&SchemaRef>) -> Result<Self> {
        let file = File::open(path)?;
        match format {
            FileFormat::Parquet => {
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                    .map_err(|e| file_error(path, e))?;
                Ok(Self::boxed(reader))
            }
            FileFormat::Ipc => {
                let reader = arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None)?;
                Ok(Self::boxed(reader))
            }
            FileFormat::Csv => open_csv(file, text_schema),
            FileFormat::Ndjson => open_ndjson(file),
        }
    }

    fn boxed<R: RecordBatchReader + Send + 'static>(reader: R) -> Self {
        Self {
            schema: reader.schema(),
            inner: Box::new(reader),
        }
    }

    /// The file's schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

impl Iterator for FileReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.map_err(Into::into))
    }
}

fn open_csv(mut file: File, text_schema: Option<&SchemaRef>) -> Result<FileReader> {
    let schema = match text_schema {
        Some(schema) => {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect();
            Arc::new(Schema::new(fields))
        }
        None => {
            let format = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = format.infer_schema(BufReader::new(&mut file), None)?;
            file.seek(SeekFrom::Start(0))?;
            Arc::new(schema)
        }
    };
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_header(true)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::new(file))?;
    Ok(FileReader {
        schema,
        inner: Box::new(reader),
    })
}

fn open_ndjson(file: File) -> Result<FileReader> {
    let mut buffered = BufReader::new(file);
    let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(&mut buffered, None)?;
    let schema = Arc::new(schema);
    let reader = arrow_json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH_ROWS)
        .build(buffered)?;
    Ok(FileReader {
        schema,
        inner: Box::new(reader),
    })
}

/// Reads a whole file (format from its extension): its schema and batches.
pub fn read_file(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = FileReader::open(path, FileFormat::from_path(path)?, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>>>()?;
    Ok((schema, batches))
}
