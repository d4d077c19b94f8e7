//! Files back into record batches, streamed: for `converz push FILE`, for the copy a
//! [`FileWriter`](super::FileWriter) makes when its schema widens, and for sync's merges.
//!
//! Parquet and IPC carry their schema. CSV and NDJSON are inferred over the whole file (two
//! passes over the file, one batch in memory), with the types a user gave for some columns
//! (`converz push --schema code:string` keeps `00123`), or, given a schema, read with every
//! column as text, which copies a CSV this module wrote byte for byte.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::sink::file_error;
use super::FileFormat;
use crate::error::{Error, Result};

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
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| file_error(path, e))?;
                // The file's schema, with its metadata (pandas' names its index columns); the
                // built reader's schema has the fields only.
                let schema = Arc::clone(builder.schema());
                let reader = builder
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| file_error(path, e))?;
                Ok(Self {
                    schema,
                    inner: Box::new(reader),
                })
            }
            FileFormat::Ipc => {
                let reader = arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None)?;
                Ok(Self::boxed(reader))
            }
            FileFormat::Csv => open_csv(
                file,
                text_schema.map_or(Columns::Inferred(&[]), Columns::AllText),
            ),
            FileFormat::Ndjson => open_ndjson(file, &[]),
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

/// How a CSV file's columns are typed.
enum Columns<'a> {
    /// Inferred, but for these columns, given these types.
    Inferred(&'a [(String, DataType)]),
    /// Every column of this schema as Utf8.
    AllText(&'a SchemaRef),
}

fn open_csv(mut file: File, columns: Columns<'_>) -> Result<FileReader> {
    let schema = match columns {
        Columns::AllText(schema) => {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect();
            Arc::new(Schema::new(fields))
        }
        Columns::Inferred(types) => {
            let format = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = format.infer_schema(BufReader::new(&mut file), None)?;
            file.seek(SeekFrom::Start(0))?;
            with_types(schema, types)?
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

fn open_ndjson(file: File, types: &[(String, DataType)]) -> Result<FileReader> {
    let mut buffered = BufReader::new(file);
    let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(&mut buffered, None)?;
    let schema = with_types(schema, types)?;
    let reader = arrow_json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH_ROWS)
        .build(buffered)?;
    Ok(FileReader {
        schema,
        inner: Box::new(reader),
    })
}

/// Reads a whole file (format from its extension): its schema and batches. `types` replace
/// the inferred types of those CSV or NDJSON columns; a Parquet or IPC file carries its own
/// and takes none.
pub fn read_file(
    path: &Path,
    types: &[(String, DataType)],
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let format = FileFormat::from_path(path)?;
    if !types.is_empty() && !matches!(format, FileFormat::Csv | FileFormat::Ndjson) {
        return Err(Error::invalid(
            "schema",
            format!(
                "{} carries its own column types; schema applies to CSV and NDJSON files, \
                 whose types are inferred",
                path.display()
            ),
        ));
    }
    let reader = match format {
        FileFormat::Csv => open_csv(File::open(path)?, Columns::Inferred(types))?,
        FileFormat::Ndjson => open_ndjson(File::open(path)?, types)?,
        _ => FileReader::open(path, format, None)?,
    };
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>>>()?;
    // A file written from a pandas frame carries its index as columns, which a push must
    // leave out as it does for the frame (the batches of a Parquet file do not carry the
    // metadata naming them: only the file's schema does).
    Ok(crate::encode::without_pandas_index(schema, batches))
}

/// `inferred` with the given `types` in place of the inferred ones; a column the file does not
/// have is an error (a misspelt name would otherwise pass unnoticed).
fn with_types(inferred: Schema, types: &[(String, DataType)]) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for (name, data_type) in types {
        let Some(field) = fields.iter_mut().find(|f| f.name() == name) else {
            let names: Vec<&str> = inferred
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(Error::invalid(
                format!("schema[{name:?}]"),
                format!(
                    "the file has no column `{name}`; its columns: {}",
                    names.join(", ")
                ),
            ));
        };
        *field = Field::new(name, data_type.clone(), true);
    }
    Ok(Arc::new(Schema::new(fields)))
}
