//! Record batches into files: zstd Parquet, Arrow IPC, CSV and NDJSON, written batch by batch
//! as a fetch streams in, so memory stays bounded by the batches in flight, not the result.
//!
//! A streamed fetch hands out each page under the schema known when the page was decoded; a
//! later page may add a column (an attribute a push set on later rows only) or widen a type
//! (`Null` → `Float64`). A [`FileWriter`] keeps one file schema: a batch that fits is conformed
//! to it; a batch that does not widens the schema, and the rows written so far are copied into
//! a fresh file under the wider schema (streamed, batch by batch) before writing goes on. Widening
//! happens at most a few times per fetch, so the copy is rare; the file ends with the schema the
//! eager `client.calls()` would have returned.
//!
//! Output is written beside the target as `.<name>.converz-tmp` and renamed over the target by
//! [`FileWriter::finish`], so a killed run never leaves a half-written file under the real name.

mod csv_text;
mod exact;
mod partition;
mod quoted;
mod read;
mod scan;
mod schema;
mod serial;
mod sink;
mod tokens;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

pub use partition::{conform_parquet, latest_time, merged_schema, parquet_schema, split_by_day};
pub use read::{read_file, FileReader};
pub use schema::{conform_names, merge_schemas};
pub use serial::{from_ipc_stream, ipc_stream_into, ipc_stream_len};
use sink::Sink;

use crate::decode::conform_batch;
use crate::error::{Error, Result};

/// A file format converz reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet, zstd-compressed.
    Parquet,
    /// Arrow IPC file format (Feather v2).
    Ipc,
    /// CSV with a header row; timestamps as the API writes them (`YYYY-MM-DD HH:MM:SS`); an
    /// empty string written `""`, a null as an empty field.
    Csv,
    /// One JSON object per line, nulls written explicitly.
    Ndjson,
}

impl FileFormat {
    /// The format a file name's extension names: `.parquet`, `.arrow`/`.feather`/`.ipc`,
    /// `.csv`, `.ndjson`/`.jsonl`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("parquet" | "pq") => Ok(Self::Parquet),
            Some("arrow" | "feather" | "ipc") => Ok(Self::Ipc),
            Some("csv") => Ok(Self::Csv),
            Some("ndjson" | "jsonl") => Ok(Self::Ndjson),
            _ => Err(Error::invalid(
                "path",
                format!(
                    "cannot tell the format of {}: use .parquet, .csv, .ndjson/.jsonl or \
                     .arrow/.feather",
                    path.display()
                ),
            )),
        }
    }

    /// Parses a format name (`"parquet"`, `"ipc"`/`"arrow"`/`"feather"`, `"csv"`, `"ndjson"`).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "parquet" => Ok(Self::Parquet),
            "ipc" | "arrow" | "feather" => Ok(Self::Ipc),
            "csv" => Ok(Self::Csv),
            "ndjson" | "jsonl" => Ok(Self::Ndjson),
            other => Err(Error::invalid(
                "format",
                format!("{other:?} is not a format; use parquet, ipc, csv or ndjson"),
            )),
        }
    }

    /// The format's name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Parquet => "Parquet",
            Self::Ipc => "Arrow IPC",
            Self::Csv => "CSV",
            Self::Ndjson => "NDJSON",
        }
    }

    /// Typed formats keep every column's Arrow type; text formats keep only names.
    fn typed(self) -> bool {
        matches!(self, Self::Parquet | Self::Ipc)
    }
}

/// What a finished write produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    /// Rows written.
    pub rows: usize,
    /// Times the rows written so far were copied under a wider schema.
    pub rewrites: usize,
    /// The file's schema (None when no batch was written).
    pub schema: Option<SchemaRef>,
}

/// Writes batches into one file; see the module docs.
pub struct FileWriter {
    path: PathBuf,
    format: FileFormat,
    /// The temporary file being written, and its alternate name for copies under a new schema.
    tmp: [PathBuf; 2],
    current: usize,
    sink: Option<Box<dyn Sink>>,
    schema: Option<SchemaRef>,
    rows: usize,
    rewrites: usize,
    finished: bool,
}

impl FileWriter {
    /// A writer of `path` in `format`; nothing is created until the first batch.
    pub fn new(path: &Path, format: FileFormat) -> Self {
        let name = path
            .file_name()
            .map_or_else(|| "out".to_owned(), |n| n.to_string_lossy().into_owned());
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        let tmp = [
            dir.join(format!(".{name}.converz-tmp")),
            dir.join(format!(".{name}.converz-tmp2")),
        ];
        Self {
            path: path.to_path_buf(),
            format,
            tmp,
            current: 0,
            sink: None,
            schema: None,
            rows: 0,
            rewrites: 0,
            finished: false,
        }
    }

    /// The file schema so far.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes one batch, widening the file's schema first if the batch needs it.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.format == FileFormat::Ndjson {
            // Each line names its own keys: nothing to conform, nothing to rewrite.
            if self.sink.is_none() {
                self.widen(batch.schema())?;
            }
            self.sink.as_mut().expect("open").write(batch)?;
            self.rows += batch.num_rows();
            return Ok(());
        }
        let merged = match &self.schema {
            None => Some(batch.schema()),
            Some(current) => merge_schemas(current, &batch.schema(), self.format.typed()),
        };
        if let Some(wider) = merged {
            self.widen(wider)?;
        }
        let schema = self.schema.as_ref().expect("set by widen");
        let batch = if self.format.typed() {
            conform_batch(batch, schema)?
        } else {
            conform_names(batch, schema)?
        };
        self.sink.as_mut().expect("open").write(&batch)?;
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Moves to `schema`: opens the first file, or copies what was written into a new one.
    fn widen(&mut self, schema: SchemaRef) -> Result<()> {
        let next = 1 - self.current;
        let mut sink = sink::open(&self.tmp[next], self.format, &schema)?;
        if let (Some(old), Some(old_schema)) = (self.sink.take(), &self.schema) {
            old.finish()?;
            let reader = FileReader::open(&self.tmp[self.current], self.format, Some(old_schema))?;
            for batch in reader {
                let batch = batch?;
                let batch = if self.format.typed() {
                    conform_batch(&batch, &schema)?
                } else {
                    conform_names(&batch, &schema)?
                };
                sink.write(&batch)?;
            }
            std::fs::remove_file(&self.tmp[self.current])?;
            self.rewrites += 1;
        }
        self.current = next;
        self.sink = Some(sink);
        self.schema = Some(schema);
        Ok(())
    }

    /// Finishes the file and renames it over the target. A writer that saw no batch writes
    /// an empty file of `empty_schema` (a header-only CSV, a zero-row Parquet file).
    pub fn finish(mut self, empty_schema: Option<SchemaRef>) -> Result<WriteSummary> {
        if self.sink.is_none() {
            let schema =
                empty_schema.unwrap_or_else(|| std::sync::Arc::new(arrow_schema::Schema::empty()));
            self.widen(schema)?;
        }
        self.sink.take().expect("open").finish()?;
        std::fs::rename(&self.tmp[self.current], &self.path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!(
                    "could not move the finished file to {}: {e}",
                    self.path.display()
                ),
            ))
        })?;
        self.finished = true;
        Ok(WriteSummary {
            rows: self.rows,
            rewrites: self.rewrites,
            schema: self.schema.take(),
        })
    }
}

impl Drop for FileWriter {
    /// A writer dropped before `finish` (an error, Ctrl-C) leaves no temporary file behind.
    fn drop(&mut self) {
        if !self.finished {
            self.sink = None;
            for tmp in &self.tmp {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// Writes `batches` as CSV into a byte buffer, for streaming to stdout. Without `columns`:
/// a header and the batches' own columns. With `columns` (the first page's): no header, those
/// columns; a batch with a column outside them is an error, since a header already written
/// cannot grow.
pub fn csv_bytes(batches: &[RecordBatch], columns: Option<&[String]>) -> Result<Vec<u8>> {
    let Some(columns) = columns else {
        return sink::csv_bytes(batches, true);
    };
    let fields: Vec<_> = columns
        .iter()
        .map(|c| arrow_schema::Field::new(c, arrow_schema::DataType::Utf8, true))
        .collect();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        if let Some(extra) = batch
            .schema()
            .fields()
            .iter()
            .find(|f| !columns.contains(f.name()))
        {
            return Err(Error::invalid(
                "columns",
                format!(
                    "column `{}` appeared after the CSV header was written; name the columns \
                     with --columns, or write to a file",
                    extra.name()
                ),
            ));
        }
        out.push(conform_names(batch, &schema)?);
    }
    sink::csv_bytes(&out, false)
}
