//! One open output file per format behind the [`Sink`] trait: zstd Parquet (bounded row groups),
//! Arrow IPC, CSV (`csv_text.rs`: empty strings kept apart from nulls) and NDJSON, all through
//! buffered writes.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_json::writer::{Encoder, EncoderFactory, EncoderOptions, NullableEncoder};
use arrow_schema::{ArrowError, DataType, FieldRef, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::csv_text::CsvWriter;
use super::FileFormat;
use crate::error::{Error, Result};

/// Rows per Parquet row group. The open row group is held encoded in memory until it is
/// flushed, so this (with the byte cap below) bounds the writer's memory, not the file size.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Flush a row group earlier when its encoded size passes this.
const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// Timestamps in text formats as the API writes them; fractions only when present (chrono's
/// `%.f`: three digits for whole milliseconds, else six or nine). A push writes a fraction the
/// same way (`encode::values`), and a fetch reads as a time only this spelling
/// (`decode::classify::dated`), so that fetch, file and push give back the text sent: change
/// all three together.
pub(super) const TIMESTAMP_FORMAT: &str = crate::decode::civil::API_TIMESTAMP;

/// An open output file.
pub(super) trait Sink: Send {
    /// Appends one batch (already conformed to the file's schema).
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Writes the footer (if any) and flushes to disk.
    fn finish(self: Box<Self>) -> Result<()>;
    /// Appends the rows of `from`, a file of this format written under a narrower schema, as
    /// they are written there, widened to `schema`; `false` when the format cannot (its rows
    /// are then read and written again).
    fn copy_rows(&mut self, _from: &Path, _schema: &SchemaRef) -> Result<bool> {
        Ok(false)
    }
}

/// Parquet errors while writing a local file, as I/O errors.
pub(super) fn file_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!(
        "writing {}: {err}",
        path.display()
    )))
}

/// Parquet errors while reading a local file, as I/O errors.
pub(super) fn read_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!(
        "reading {}: {err}",
        path.display()
    )))
}

/// Creates `path` and opens a sink for `schema`.
pub(super) fn open(path: &Path, format: FileFormat, schema: &SchemaRef) -> Result<Box<dyn Sink>> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let path = path.to_path_buf();
    Ok(match format {
        FileFormat::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                .build();
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                .map_err(|e| file_error(&path, e))?;
            Box::new(ParquetSink { writer, path })
        }
        FileFormat::Ipc => {
            let writer = arrow_ipc::writer::FileWriter::try_new(file, schema)?;
            Box::new(IpcSink { writer })
        }
        FileFormat::Csv => Box::new(CsvSink {
            writer: CsvWriter::new(file, true),
        }),
        FileFormat::Ndjson => Box::new(NdjsonSink {
            writer: ndjson_writer(file),
        }),
    })
}

type NdjsonWriter = arrow_json::Writer<BufWriter<File>, arrow_json::writer::LineDelimited>;

fn ndjson_writer(out: BufWriter<File>) -> NdjsonWriter {
    arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_format(TIMESTAMP_FORMAT.to_owned())
        .with_encoder_factory(Arc::new(ShortestFloats))
        .build(out)
}

/// Floats, at any depth, as a push sends them ([`crate::encode::put_float`]: their shortest
/// round-trip digits, `5e-324`, `0.1`, `1e22`, a Float32 subnormal in digits as close to it
/// as a normal f32's, `1.4012985e-45`, a float32 from 2^24 to 10^16 as its exact integer), not
/// arrow-json's `5.0e-324`: that trailing zero claims a digit the float does not hold, and
/// `converz push` of the file refused the smallest subnormal it had just written (outside
/// trial 20). Not finite: `null`, as arrow-json writes them.
#[derive(Debug)]
struct ShortestFloats;

impl EncoderFactory for ShortestFloats {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a FieldRef,
        array: &'a dyn Array,
        _options: &'a EncoderOptions,
    ) -> std::result::Result<Option<NullableEncoder<'a>>, ArrowError> {
        if !matches!(
            array.data_type(),
            DataType::Float16 | DataType::Float32 | DataType::Float64
        ) {
            return Ok(None);
        }
        let encoder = Box::new(AsPushed(array));
        Ok(Some(NullableEncoder::new(encoder, array.nulls().cloned())))
    }
}

/// A float array's values as a push writes them.
struct AsPushed<'a>(&'a dyn Array);

impl Encoder for AsPushed<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        if !crate::encode::put_float(self.0, idx, out) {
            out.extend_from_slice(b"null");
        }
    }
}

struct ParquetSink {
    writer: ArrowWriter<BufWriter<File>>,
    path: std::path::PathBuf,
}

impl Sink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| file_error(&self.path, e))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let path = self.path;
        let file = self.writer.into_inner().map_err(|e| file_error(&path, e))?;
        finish_file(file)
    }
}

struct IpcSink {
    writer: arrow_ipc::writer::FileWriter<BufWriter<File>>,
}

impl Sink for IpcSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.writer.finish()?;
        finish_file(self.writer.into_inner()?)
    }
}

struct CsvSink {
    writer: CsvWriter<BufWriter<File>>,
}

impl Sink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        finish_file(self.writer.into_inner())
    }

    fn copy_rows(&mut self, from: &Path, schema: &SchemaRef) -> Result<bool> {
        self.writer.copy_records(from, schema)?;
        Ok(true)
    }
}

struct NdjsonSink {
    writer: NdjsonWriter,
}

impl Sink for NdjsonSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.writer.finish()?;
        finish_file(self.writer.into_inner())
    }
}

/// Flushes the buffer and syncs, so a rename after this never exposes a short file.
fn finish_file(file: BufWriter<File>) -> Result<()> {
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// See [`super::csv_bytes`].
pub(super) fn csv_bytes(batches: &[RecordBatch], header: bool) -> Result<Vec<u8>> {
    let mut writer = CsvWriter::new(Vec::new(), header);
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner())
}
