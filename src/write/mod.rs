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

mod csv_line;
mod csv_text;
mod empty;
mod exact;
mod exact_nested;
mod lines;
mod ndjson_line;
mod notes;
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
#[cfg(test)]
mod tests_sent;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

pub use partition::{
    carry_unseen, conform_parquet, files_holding, keys_in, latest_time, merged_schema,
    parquet_schema, split_by_day, NO_DATE_COLUMN, UNDATED,
};
pub use read::{file_place, read_file, FileReader};
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
    /// Columns whose earlier values the file holds as another type prints them, one warning
    /// each (`notes.rs`).
    pub notes: Vec<String>,
}

/// Writes batches into one file; see the module docs.
pub struct FileWriter {
    path: PathBuf,
    format: FileFormat,
    /// The temporary file being written, and its alternate name for copies under a new schema
    /// (text formats).
    tmp: [PathBuf; 2],
    current: usize,
    sink: Option<Box<dyn Sink>>,
    /// The open file's schema (for a typed format, the open segment's).
    schema: Option<SchemaRef>,
    /// Typed formats: finished segments, each a temporary file with its schema, in order.
    segments: Vec<(PathBuf, SchemaRef)>,
    /// The types every batch so far adds up to, as the eager fetch would have them: each
    /// column's from the batches that hold a value of it (`seen`), else as the batches name it
    /// (`announced`); see [`FileWriter::write`].
    merged: Option<SchemaRef>,
    announced: Option<SchemaRef>,
    seen: Option<SchemaRef>,
    /// The types each column was written with, for [`WriteSummary::notes`].
    written: notes::Written,
    /// CSV: columns some of whose values were written bare, as a type other than text; those
    /// that end as text are quoted by [`finish`](Self::finish) (`csv_text::requote`).
    bare: Vec<String>,
    /// CSV: columns a page held as lists or objects, written as their JSON text; refused by
    /// [`finish`](Self::finish) unless the column ends as text, as `client.calls()` then has it
    /// (outside trial 21c: a page of lists before the column's text was refused at once, so
    /// the file depended on the page size).
    nested_as_text: Vec<String>,
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
            segments: Vec::new(),
            merged: None,
            announced: None,
            seen: None,
            written: notes::Written::default(),
            bare: Vec::new(),
            nested_as_text: Vec::new(),
            rows: 0,
            rewrites: 0,
            finished: false,
        }
    }

    /// The file schema so far.
    pub fn schema(&self) -> Option<&SchemaRef> {
        if self.format.typed() {
            return self.merged.as_ref();
        }
        self.schema.as_ref()
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes one batch, widening the file's schema first if the batch needs it.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.written.batch(batch);
        // A stream may hand out a column that holds only nulls so far as text; the eager fetch
        // types it by its values (outside trial 19: a column null on three pages and `true` on
        // the fourth was a Boolean in calls() but text in the file, merged from the stream's
        // announced types). Its announced type counts only while no page held a value.
        let values = nulls_as_null(batch)?;
        let merge = |current: &Option<SchemaRef>, next: SchemaRef| match current {
            None => next,
            Some(current) => merge_schemas(current, &next, true)
                .unwrap_or_else(|| std::sync::Arc::clone(current)),
        };
        let announced = merge(&self.announced, batch.schema());
        let seen = merge(&self.seen, values.schema());
        self.merged = Some(settled(&seen, &announced));
        self.announced = Some(announced);
        self.seen = Some(seen);
        if self.format == FileFormat::Ndjson {
            // Each line names its own keys: nothing to conform, nothing to rewrite.
            if self.sink.is_none() {
                self.widen(batch.schema())?;
            }
            self.sink.as_mut().expect("open").write(batch)?;
            self.rows += batch.num_rows();
            return Ok(());
        }
        if self.format.typed() {
            return self.write_typed(&values);
        }
        let flat = match self.format {
            FileFormat::Csv => self.nested_to_text(batch)?,
            _ => batch.clone(),
        };
        let batch = &flat;
        let merged = match &self.schema {
            None => Some(batch.schema()),
            Some(current) => merge_schemas(current, &batch.schema(), false),
        };
        if let Some(wider) = merged {
            self.widen(wider)?;
        }
        let schema = self.schema.as_ref().expect("set by widen");
        let batch = conform_names(batch, schema)?;
        self.sink.as_mut().expect("open").write(&batch)?;
        self.rows += batch.num_rows();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let bare = !csv_text::is_text(field.data_type()) && column.null_count() < column.len();
            if bare && !self.bare.contains(field.name()) {
                self.bare.push(field.name().clone());
            }
        }
        Ok(())
    }

    /// CSV: `batch` with each list or object column as its JSON text (see `nested_as_text`).
    fn nested_to_text(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        if !batch
            .schema()
            .fields()
            .iter()
            .any(|f| f.data_type().is_nested())
        {
            return Ok(batch.clone());
        }
        let mut fields = Vec::with_capacity(batch.num_columns());
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            if field.data_type().is_nested() {
                if !self.nested_as_text.contains(field.name()) {
                    self.nested_as_text.push(field.name().clone());
                }
                fields.push(arrow_schema::Field::new(
                    field.name(),
                    arrow_schema::DataType::Utf8,
                    true,
                ));
                columns.push(crate::decode::to_json_text(column.as_ref())?);
            } else {
                fields.push(field.as_ref().clone());
                columns.push(std::sync::Arc::clone(column));
            }
        }
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// CSV: refuses a column written as JSON text that does not end as text (a list or object
    /// column throughout), which a CSV file cannot hold.
    fn check_nested_ended_as_text(&self) -> Result<()> {
        let Some(merged) = &self.merged else {
            return Ok(());
        };
        let still: Vec<arrow_schema::FieldRef> = self
            .nested_as_text
            .iter()
            .filter_map(|name| merged.field_with_name(name).ok())
            .filter(|f| f.data_type().is_nested())
            .map(|f| std::sync::Arc::new(f.clone()))
            .collect();
        csv_text::check_flat(&arrow_schema::Schema::new(still))
    }

    /// CSV: the file re-written with every value of a column that ends as text quoted, when
    /// some were written bare (a page before the column's first string); see
    /// `csv_text::requote`.
    fn quote_late_text(&mut self) -> Result<()> {
        let (Some(schema), Some(merged)) = (&self.schema, &self.merged) else {
            return Ok(());
        };
        let quote: Vec<bool> = schema
            .fields()
            .iter()
            .map(|f| {
                self.bare.contains(f.name())
                    && merged
                        .field_with_name(f.name())
                        .is_ok_and(|m| csv_text::is_text(m.data_type()))
            })
            .collect();
        if !quote.contains(&true) {
            return Ok(());
        }
        let next = 1 - self.current;
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&self.tmp[next])?);
        csv_text::requote(&self.tmp[self.current], &mut out, &quote)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::remove_file(&self.tmp[self.current])?;
        self.current = next;
        self.rewrites += 1;
        Ok(())
    }

    /// A typed format keeps each batch at the types it came with: a batch whose types differ
    /// from the open segment's starts a new segment, and [`finish`](Self::finish) casts each
    /// segment once to the final types, as the eager fetch casts each page (outside trial 15:
    /// copying the rows at every widening cast `9007199254740993` to Float64 and then to
    /// text, "9007199254740992.0", where `client.calls()` and the CSV file kept it).
    fn write_typed(&mut self, batch: &RecordBatch) -> Result<()> {
        let merged = self.merged.as_ref().expect("set by write");
        let shape = segment_schema(merged, &batch.schema());
        if self.schema.as_ref() != Some(&shape) {
            if self.format == FileFormat::Parquet {
                empty::check_parquet(&shape, false)?;
            }
            let next = self.tmp_segment(self.segments.len() + usize::from(self.sink.is_some()));
            let file_shape = empty::marked(&shape);
            let sink = sink::open(&next, self.format, file_shape.as_ref().unwrap_or(&shape))?;
            if let (Some(old), Some(schema)) = (self.sink.take(), self.schema.take()) {
                old.finish()?;
                let path = self.tmp_segment(self.segments.len());
                self.segments.push((path, schema));
            }
            self.sink = Some(sink);
            self.schema = Some(shape);
        }
        let schema = self.schema.as_ref().expect("set above");
        let mut batch = conform_batch(batch, schema)?;
        if let Some(file_shape) = empty::marked(schema) {
            batch = empty::mark(&batch, &file_shape)?;
        }
        self.sink.as_mut().expect("open").write(&batch)?;
        self.rows += batch.num_rows();
        Ok(())
    }

    /// The temporary name of typed segment `k`.
    fn tmp_segment(&self, k: usize) -> PathBuf {
        if k == 0 {
            return self.tmp[0].clone();
        }
        let mut name = self.tmp[0].clone().into_os_string();
        name.push(format!("-{k}"));
        PathBuf::from(name)
    }

    /// Moves to `schema`: opens the first file, or copies what was written into a new one.
    fn widen(&mut self, schema: SchemaRef) -> Result<()> {
        let next = 1 - self.current;
        let mut sink = sink::open(&self.tmp[next], self.format, &schema)?;
        if let (Some(old), Some(_)) = (self.sink.take(), &self.schema) {
            old.finish()?;
            let from = &self.tmp[self.current];
            // A CSV's rows are copied as written (its text quoted, its numbers bare).
            let copied = sink.copy_rows(from, &schema)?;
            let reader = match copied {
                true => None,
                false => Some(FileReader::open(from, self.format)?),
            };
            for batch in reader.into_iter().flatten() {
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

    /// Typed formats: the segments and the open one, cast to the final types into one file
    /// (unless the one segment has them already).
    fn join_segments(&mut self) -> Result<()> {
        let (Some(open), Some(schema)) = (self.sink.take(), self.schema.take()) else {
            return Ok(());
        };
        open.finish()?;
        let last = self.tmp_segment(self.segments.len());
        self.segments.push((last, schema));
        let merged = self.merged.clone().expect("set by write");
        // The one segment is the first temporary file: it is the file if its types are final.
        if let [(_, schema)] = self.segments.as_slice() {
            if *schema == merged && empty::marked(schema).is_none() {
                self.segments.clear();
                self.current = 0;
                self.schema = Some(merged);
                return Ok(());
            }
        }
        if self.format == FileFormat::Parquet {
            empty::check_parquet(&merged, true)?;
        }
        let mut sink = sink::open(&self.tmp[1], self.format, &merged)?;
        for (path, schema) in std::mem::take(&mut self.segments) {
            let marked = empty::marked(&schema).is_some();
            let reader = FileReader::open(&path, self.format)?;
            for batch in reader {
                let mut batch = batch?;
                if marked {
                    batch = empty::unmark(&batch, &schema)?;
                }
                sink.write(&conform_batch(&batch, &merged)?)?;
            }
            std::fs::remove_file(&path)?;
        }
        sink.finish()?;
        self.rewrites += 1;
        self.current = 1;
        self.schema = Some(merged);
        Ok(())
    }

    /// Finishes the file and renames it over the target. A writer that saw no batch writes
    /// an empty file of `empty_schema` (a header-only CSV, a zero-row Parquet file).
    pub fn finish(mut self, empty_schema: Option<SchemaRef>) -> Result<WriteSummary> {
        if self.sink.is_none() {
            let schema =
                empty_schema.unwrap_or_else(|| std::sync::Arc::new(arrow_schema::Schema::empty()));
            self.widen(schema.clone())?;
            if self.format == FileFormat::Csv {
                // A CSV writes its header before its first batch: an empty one, so a file with
                // no rows still names its columns (outside trial 18: 0 bytes, which readers
                // refuse as "empty CSV").
                let sink = self.sink.as_mut().expect("set by widen");
                sink.write(&RecordBatch::new_empty(schema))?;
            }
        } else if self.format.typed() {
            self.join_segments()?;
        }
        if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        if self.format == FileFormat::Csv {
            self.check_nested_ended_as_text()?;
            self.quote_late_text()?;
        }
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
        let notes = self
            .merged
            .as_ref()
            .map_or_else(Vec::new, |merged| self.written.notes(merged, self.format));
        let schema = if self.format.typed() && self.merged.is_some() {
            self.merged.take()
        } else {
            self.schema.take()
        };
        Ok(WriteSummary {
            rows: self.rows,
            rewrites: self.rewrites,
            schema,
            notes,
        })
    }
}

/// `batch` with each column that holds only nulls as a `Null` column (the fetch's cast gives
/// it any type).
fn nulls_as_null(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow_array::Array;
    let all_null = |c: &arrow_array::ArrayRef| {
        c.data_type() != &arrow_schema::DataType::Null && c.logical_null_count() == c.len()
    };
    if !batch.columns().iter().any(all_null) {
        return Ok(batch.clone());
    }
    let (fields, columns): (Vec<_>, Vec<_>) = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| match all_null(c) {
            true => (
                arrow_schema::Field::new(f.name(), arrow_schema::DataType::Null, true),
                std::sync::Arc::new(arrow_array::NullArray::new(c.len())) as arrow_array::ArrayRef,
            ),
            false => (f.as_ref().clone(), std::sync::Arc::clone(c)),
        })
        .unzip();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        std::sync::Arc::new(arrow_schema::Schema::new(fields)),
        columns,
        &options,
    )?)
}

/// Each column of `seen` at its type there, or at `announced`'s while `seen` has only nulls
/// of it (a column documented as text stays text; one only ever null keeps the stream's type).
pub(super) fn settled(seen: &SchemaRef, announced: &SchemaRef) -> SchemaRef {
    let fields: Vec<arrow_schema::FieldRef> = seen
        .fields()
        .iter()
        .map(
            |f| match (f.data_type(), announced.field_with_name(f.name())) {
                (arrow_schema::DataType::Null, Ok(a)) => std::sync::Arc::new(a.clone()),
                _ => std::sync::Arc::clone(f),
            },
        )
        .collect();
    std::sync::Arc::new(arrow_schema::Schema::new(fields))
}

/// A typed segment's schema for `batch`: the types so far (`merged`), each column the batch
/// holds at the batch's own type (a column of nulls at the merged one).
fn segment_schema(merged: &SchemaRef, batch: &SchemaRef) -> SchemaRef {
    crate::decode::with_own_types(merged, batch, |_| true)
}

impl Drop for FileWriter {
    /// A writer dropped before `finish` (an error, Ctrl-C) leaves no temporary file behind.
    fn drop(&mut self) {
        if !self.finished {
            self.sink = None;
            for tmp in &self.tmp {
                let _ = std::fs::remove_file(tmp);
            }
            for k in 1..=self.segments.len() {
                let _ = std::fs::remove_file(self.tmp_segment(k));
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
