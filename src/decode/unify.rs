//! The end of a fetch: one final schema for all pages, every batch cast and padded to it, and
//! duplicate keys dropped.
//!
//! Casting is by column name and recursive (Struct fields by name, List items), because pages
//! decoded under an older schema may lack columns or nested fields, or hold narrower types.

use std::sync::Arc;

use arrow_array::{new_null_array, Array, ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_cast::display::FormatOptions;
use arrow_cast::{cast_with_options, CastOptions};
use arrow_schema::{DataType, FieldRef, Fields as ArrowFields, Schema, SchemaRef};
use arrow_select::concat::concat_batches;

use super::dedupe::KeyDeduper;
use super::infer::{bits, schema_of, warnings_of, Fields, Floats, Respelled};
use super::json_text::to_json_text;
use super::{DecodeOptions, DecodedPage, DecodedTable, DEFAULT_BATCH_ROWS, REFERENCE_BATCH_ROWS};
use crate::views::{convert, form_schema, is_string, Form};
use crate::Result;

pub(crate) use super::json_text::quote_nested;

/// The columns that end as text (`schema`) but were decoded as Float64 on some page, with what
/// that did to their values: such a page holds doubles, cast to text as arrow prints them. (A
/// page of dates or timestamps casts to the text it was sent as: `classify::dated`.)
fn respelled_columns(pages: &[DecodedPage], schema: &SchemaRef) -> Vec<(String, Respelled)> {
    let mut found: Vec<(String, Respelled)> = Vec::new();
    for page in pages {
        let ends_as_text = |name: &str| {
            schema
                .field_with_name(name)
                .is_ok_and(|f| f.data_type() == &DataType::Utf8)
        };
        let decodes = float_decodes(page).into_iter();
        merge_float_decodes(&mut found, decodes.filter(|(name, _)| ends_as_text(name)));
    }
    found
}

/// The columns `page` decoded as Float64, each with what that does to its numbers if the
/// column ends as text ([`Respelled`]).
pub(crate) fn float_decodes(page: &DecodedPage) -> Vec<(String, Respelled)> {
    let Some(batch) = page.batches.first() else {
        return Vec::new();
    };
    let seen = |name: &str, bit: u16| {
        page.columns
            .position(name)
            .is_some_and(|i| page.columns.cols[i].seen & bit != 0)
    };
    batch
        .schema()
        .fields()
        .iter()
        .filter(|f| f.data_type() == &DataType::Float64)
        .map(|f| {
            let floats = match seen(f.name(), bits::WIDE) {
                true => Floats::Rounded,
                false => Floats::Float,
            };
            (f.name().clone(), Respelled { floats })
        })
        .collect()
}

/// Adds `decodes` to `found`, keeping each column's worst.
pub(crate) fn merge_float_decodes(
    found: &mut Vec<(String, Respelled)>,
    decodes: impl Iterator<Item = (String, Respelled)>,
) {
    for (name, this) in decodes {
        match found.iter_mut().find(|(n, _)| *n == name) {
            Some((_, r)) => *r = (*r).max(this),
            None => found.push((name, this)),
        }
    }
}

/// See [`FetchDecoder::finish`](super::FetchDecoder::finish).
pub(crate) fn finish(
    options: &DecodeOptions,
    pages: Vec<DecodedPage>,
    key: Option<&str>,
) -> Result<DecodedTable> {
    let overrides = &options.schema_overrides;
    let mut fields = Fields::default();
    for page in &pages {
        fields.merge(&page.columns);
    }
    let schema = schema_of(&fields, overrides);
    let respelled = respelled_columns(&pages, &schema);
    let mut warnings = warnings_of(&fields, overrides, |name| {
        respelled
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Respelled::NO, |(_, r)| *r)
    });
    let mut deduper = match key {
        Some(k) if schema.index_of(k).is_ok() => Some(KeyDeduper::new(k, "the pages")),
        Some(k) if !fields.is_empty() => {
            warnings.push(format!("no `{k}` column: duplicate rows were not checked"));
            None
        }
        _ => None,
    };
    let form = table_form(options, &pages);
    // The batches' own schema: the declared one with its text columns in the table's form.
    let in_form = form_schema(&schema, form);
    let mut out = Coalescer::new(&in_form, options.batch_size);
    let mut duplicates_dropped = 0;
    for batch in pages.into_iter().flat_map(|p| p.batches) {
        let mut batch = conform_batch_in(&batch, &schema, form)?;
        if let Some(d) = &mut deduper {
            let (kept, dropped) = d.filter(&batch)?;
            duplicates_dropped += dropped;
            batch = kept;
        }
        out.push(batch)?;
    }
    let (batches, rows) = out.finish()?;
    Ok(DecodedTable {
        schema,
        batches,
        rows,
        duplicates_dropped,
        warnings,
        form,
    })
}

/// The form the table's text columns take: the fetch's, or with
/// [`DecodeOptions::views_when_idle`] polars' views when at least as many rows came in them
/// (pages decoded while waiting on the link) as in Utf8. One form for the whole table, so its
/// batches join and sort as one; the pages in the other are converted here (from views back to
/// Utf8 the long strings are shared and the short ones copied, `views::convert`).
fn table_form(options: &DecodeOptions, pages: &[DecodedPage]) -> Form {
    if !options.views_when_idle || options.form != Form::Utf8 {
        return options.form;
    }
    let (mut views, mut utf8) = (0usize, 0usize);
    for batch in pages.iter().flat_map(|p| &p.batches) {
        let fields = batch.schema_ref().fields();
        match fields.iter().map(|f| f.data_type()).find(|t| is_string(t)) {
            Some(DataType::Utf8View) => views += batch.num_rows(),
            Some(_) => utf8 += batch.num_rows(),
            None => {}
        }
    }
    match views >= utf8 && views > 0 {
        true => Form::Utf8View,
        false => Form::Utf8,
    }
}

/// `batches` (all under `schema`) with runs of small ones joined as a fetch joins its pages'
/// (up to the default batch size): `Table.concat` of a stream's tables gives the layout
/// `calls()` would have (outside trial 27: 3,000 calls in 7-row pages made 429 batches, and
/// as many polars chunks, against one).
pub(crate) fn join_small_batches(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>> {
    let mut out = Coalescer::new(schema, DEFAULT_BATCH_ROWS);
    for batch in batches {
        out.push(batch)?;
    }
    Ok(out.finish()?.0)
}

/// The most bytes of batches joined into one. Far below what 32-bit string offsets hold
/// (2 GiB a column: outside trial 27b joined 20,000 rows of 120 KB text and failed the whole
/// fetch with an offset overflow), and the most a join copies while its parts are still held.
const JOIN_BYTES: usize = 64 << 20;

/// Joins small batches (small pages, or pages thinned by dedupe) up to the batch size, in rows
/// and at most [`JOIN_BYTES`]. Batches of at least half the batch size pass through uncopied,
/// and so do the reference path's (at most [`REFERENCE_BATCH_ROWS`] rows, so half that):
/// concatenating them would copy the whole table for no gain.
struct Coalescer<'a> {
    schema: &'a SchemaRef,
    batch_size: usize,
    /// Batches of this many rows or more pass through.
    large: usize,
    done: Vec<RecordBatch>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    rows: usize,
}

impl<'a> Coalescer<'a> {
    fn new(schema: &'a SchemaRef, batch_size: usize) -> Self {
        Self {
            schema,
            batch_size: batch_size.max(1),
            large: batch_size.clamp(1, REFERENCE_BATCH_ROWS) / 2,
            done: Vec::new(),
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            rows: 0,
        }
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        self.rows += n;
        if n >= self.large {
            self.flush()?;
            self.done.push(batch);
        } else if n > 0 {
            let bytes = batch.get_array_memory_size();
            // Join up to the batch size, never past it (nor past JOIN_BYTES).
            if self.pending_rows + n > self.batch_size || self.pending_bytes + bytes > JOIN_BYTES {
                self.flush()?;
            }
            self.pending.push(batch);
            self.pending_rows += n;
            self.pending_bytes += bytes;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match self.pending.len() {
            0 => {}
            // One batch is joined to nothing: concatenating it would only copy it.
            1 => self.done.append(&mut self.pending),
            _ => self.done.push(concat_batches(self.schema, &self.pending)?),
        }
        self.pending.clear();
        self.pending_rows = 0;
        self.pending_bytes = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<RecordBatch>, usize)> {
        self.flush()?;
        Ok((self.done, self.rows))
    }
}

/// `batch` with exactly `schema`'s columns: matched by name, cast, missing ones null.
pub(crate) fn conform_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    conform_batch_in(batch, schema, Form::Utf8)
}

/// `batch` with exactly `declared`'s columns (matched by name, cast, missing ones null), the
/// text columns `declared` gives as Utf8 in `form`: what a table whose batches take that form
/// (`DecodeOptions::form`) holds; [`conform_batch`] is its `Utf8` case. A column already in some
/// string form changes form without being cast (`views::convert`: no string is copied between
/// Utf8 and views); any other goes through the declared cast first, so every form holds the
/// same text.
pub(crate) fn conform_batch_in(
    batch: &RecordBatch,
    declared: &SchemaRef,
    form: Form,
) -> Result<RecordBatch> {
    let target = match form {
        Form::Utf8 => Arc::clone(declared),
        _ => form_schema(declared, form),
    };
    if batch.schema() == target {
        return Ok(batch.clone());
    }
    let rows = batch.num_rows();
    let columns = declared
        .fields()
        .iter()
        .zip(target.fields())
        .map(|(f, t)| match batch.column_by_name(f.name()) {
            Some(a) if f.data_type() == &DataType::Utf8 && is_string(a.data_type()) => {
                Ok(convert(a, t.data_type())?)
            }
            Some(a) => Ok(convert(&conform(a, f.data_type())?, t.data_type())?),
            None => Ok(new_null_array(t.data_type(), rows)),
        })
        .collect::<Result<Vec<_>>>()?;
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        target, columns, &options,
    )?)
}

/// `schema` with each column `batch` holds (not as nulls only) at the batch's own type, where
/// `takes(own)` allows it; the others at `schema`'s. A page then keeps the types it
/// was decoded with, and one cast at the end takes it to the final types, as the eager fetch
/// casts each page once.
pub(crate) fn with_own_types(
    schema: &SchemaRef,
    batch: &SchemaRef,
    takes: impl Fn(&DataType) -> bool,
) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|field| match batch.field_with_name(field.name()) {
            Ok(own)
                if own.data_type() != &DataType::Null
                    && own.data_type() != field.data_type()
                    && takes(own.data_type()) =>
            {
                Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(own.data_type().clone())
                        .with_nullable(true),
                )
            }
            _ => Arc::clone(field),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `array` as `to`; see the module docs.
fn conform(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let from = array.data_type();
    if from == to {
        return Ok(Arc::clone(array));
    }
    match (from, to) {
        (DataType::Null, _) => Ok(new_null_array(to, array.len())),
        // A column of nulls only is nulls of any type. A page decoded after a later page had
        // shown the column's type holds it typed, but all null; a stream hands it out before
        // that later page, when the column is still Null (arrow cannot cast to Null). And a
        // column `columns=` named that a page lacks is handed out as text until a page shows
        // it, which arrow cannot cast to an object's type (outside trial 20b: `fetch --columns
        // ...,obj -o x.parquet` failed when the first page lacked `obj`).
        _ if array.logical_null_count() == array.len() => Ok(new_null_array(to, array.len())),
        // LargeList is polars' list form (the scan's pages, `text_schema`): the List's JSON.
        // (polars' Utf8View and LargeUtf8 cast to the same text as Utf8, below.)
        (DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_), DataType::Utf8) => {
            to_json_text(array.as_ref())
        }
        (DataType::Struct(_), DataType::Struct(fields)) => conform_struct(array, fields),
        (DataType::List(_), DataType::List(item)) => conform_list(array, item),
        (DataType::Timestamp(_, _), DataType::Utf8) => cast_timestamp_text(array),
        _ => Ok(cast_with_options(array, to, &CastOptions::default())?),
    }
}

fn conform_struct(array: &ArrayRef, fields: &ArrowFields) -> Result<ArrayRef> {
    let s = array
        .as_any()
        .downcast_ref::<StructArray>()
        .expect("a Struct array");
    let children = fields
        .iter()
        .map(|f| match s.column_by_name(f.name()) {
            Some(c) => conform(c, f.data_type()),
            None => Ok(new_null_array(f.data_type(), s.len())),
        })
        .collect::<Result<Vec<_>>>()?;
    // With its length given: a struct of no fields (a page of `{}` only) has no child to
    // take it from, and `try_new` refused it (outside trial 19, a fetch of `{}` then `{"a":1}`).
    let out =
        StructArray::try_new_with_length(fields.clone(), children, s.nulls().cloned(), s.len())?;
    Ok(Arc::new(out))
}

fn conform_list(array: &ArrayRef, item: &FieldRef) -> Result<ArrayRef> {
    let l = array
        .as_any()
        .downcast_ref::<ListArray>()
        .expect("a List array");
    let values = conform(l.values(), item.data_type())?;
    let out = ListArray::try_new(
        Arc::clone(item),
        l.offsets().clone(),
        values,
        l.nulls().cloned(),
    )?;
    Ok(Arc::new(out))
}

/// `declared` with every column Utf8: what [`conform_batch`] turns a batch into the text the
/// eager fetch makes of a page's column that ends as text ([`conform`]'s rules: timestamps as
/// the API spells them, nested values as their JSON, the rest as arrow casts them; polars'
/// Utf8View, LargeUtf8 and LargeList forms give the text their Utf8 and List forms give). For
/// the polars scan, whose pages are typed one by one: polars' own cast prints a timestamp with
/// `.000000` and a float as `1e+20`, so a scan pushed back would rewrite what the server holds.
pub(crate) fn text_schema(declared: &arrow_schema::Schema) -> SchemaRef {
    let fields: Vec<FieldRef> = declared
        .fields()
        .iter()
        .map(|f| Arc::new(arrow_schema::Field::new(f.name(), DataType::Utf8, true)))
        .collect();
    Arc::new(arrow_schema::Schema::new(fields))
}

/// `table` laid out by [`documented_schema`]: each column that only ever held nulls (typed
/// Null) given its documented type from `documented` (the query's documented columns); with
/// `named` (the query named its columns, `columns=`), every one of them, in that order, those no
/// row held as nulls of that type, as a fetch with no rows has them. Found by outside trials: a
/// day whose calls all had `sentiment` cleared came back with `sentiment: Null`, so it did not
/// concatenate with the next day; `columns=["duration"]` of rows that left `duration` out gave
/// rows without columns, which DuckDB refuses (trial 83 F2). Done on the finished table, not by
/// the decoder, whose documented columns are only a speed hint that never changes a page.
pub(crate) fn documented_when_null(
    mut table: DecodedTable,
    documented: &[(String, DataType)],
    named: bool,
    form: Form,
) -> Result<DecodedTable> {
    if table.rows == 0 {
        // A fetch with no rows is built from the documented columns by the caller.
        return Ok(table);
    }
    let Some(schema) = documented_schema(&table.schema, documented, named) else {
        return Ok(table);
    };
    table.batches = table
        .batches
        .iter()
        .map(|b| conform_batch_in(b, &schema, form))
        .collect::<Result<_>>()?;
    table.schema = schema;
    Ok(table)
}

/// `schema` as a fetch hands it out: each column typed Null given its type from `documented`;
/// with `named` (the query named its columns: `documented` is them), those columns first, in
/// their order, each that no row held added, then the others (the listing's key, if it is not
/// named, for its own use). `None` when that is `schema`. The eager table
/// ([`documented_when_null`]) and each table of a stream (`Listing::streamed`, outside trial
/// 19: streams, `Table.concat` and `fetch -o` files kept `Null`) are laid out alike, so a
/// stream's tables join into the eager table's columns, in its order, whichever page first
/// held a column.
pub(crate) fn documented_schema(
    schema: &SchemaRef,
    documented: &[(String, DataType)],
    named: bool,
) -> Option<SchemaRef> {
    let typed = |f: &FieldRef| -> FieldRef {
        match documented.iter().find(|(n, _)| n == f.name()) {
            Some((_, t)) if f.data_type() == &DataType::Null && t != &DataType::Null => Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(t.clone())
                    .with_nullable(true),
            ),
            _ => Arc::clone(f),
        }
    };
    let fields: Vec<FieldRef> = if named {
        let is_named = |name: &str| documented.iter().any(|(n, _)| n == name);
        let first = documented
            .iter()
            .map(|(name, t)| match schema.field_with_name(name) {
                Ok(f) => typed(&Arc::new(f.clone())),
                Err(_) => Arc::new(arrow_schema::Field::new(name, t.clone(), true)),
            });
        let others = schema
            .fields()
            .iter()
            .filter(|f| !is_named(f.name()))
            .cloned();
        first.chain(others).collect()
    } else {
        schema.fields().iter().map(typed).collect()
    };
    if fields.len() == schema.fields().len()
        && fields.iter().zip(schema.fields()).all(|(a, b)| a == b)
    {
        return None;
    }
    Some(Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// Timestamps as the API writes them (`YYYY-MM-DD HH:MM:SS[.f]`), not arrow's `T` form.
fn cast_timestamp_text(array: &ArrayRef) -> Result<ArrayRef> {
    let format = FormatOptions::default().with_timestamp_format(Some(super::civil::API_TIMESTAMP));
    let options = CastOptions {
        safe: false,
        format_options: format,
    };
    Ok(cast_with_options(array, &DataType::Utf8, &options)?)
}

#[cfg(test)]
mod tests {
    //! polars' forms (views, large strings, large lists) give exactly the text of the Utf8 and
    //! List forms the eager fetch conforms, so the scan and `client.calls()` spell values alike.

    use arrow_array::builder::{
        GenericListBuilder, ListBuilder, StringBuilder, StringViewBuilder, StructBuilder,
    };
    use arrow_array::cast::AsArray;
    use arrow_array::{LargeStringArray, StringArray, StringViewArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    const WORDS: [Option<&str>; 5] = [
        Some("short"),
        None,
        Some(""),
        Some("longer than the twelve bytes a view holds inline \u{e9}\u{1f600}"),
        Some("quote \" and \\ and \n"),
    ];

    fn text(array: ArrayRef) -> Vec<Option<String>> {
        let out = conform(&array, &DataType::Utf8).expect("conforms to text");
        assert_eq!(out.data_type(), &DataType::Utf8);
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    }

    /// Lists of `WORDS` slices (one null list, one empty): as List<Utf8> and as polars'
    /// LargeList<Utf8View>.
    fn lists() -> (ArrayRef, ArrayRef) {
        let rows: [Option<&[Option<&str>]>; 4] =
            [Some(&WORDS[..2]), None, Some(&[]), Some(&WORDS[2..])];
        let mut list = ListBuilder::new(StringBuilder::new());
        let mut large = GenericListBuilder::<i64, _>::new(StringViewBuilder::new());
        for row in rows {
            match row {
                Some(items) => {
                    for item in items {
                        list.values().append_option(*item);
                        large.values().append_option(*item);
                    }
                    list.append(true);
                    large.append(true);
                }
                None => {
                    list.append(false);
                    large.append(false);
                }
            }
        }
        (Arc::new(list.finish()), Arc::new(large.finish()))
    }

    #[test]
    fn string_views_and_large_strings_give_the_utf8_text() {
        let utf8 = text(Arc::new(StringArray::from(WORDS.to_vec())));
        assert_eq!(
            utf8,
            WORDS.map(|w| w.map(str::to_owned)).to_vec(),
            "Utf8 passes through"
        );
        assert_eq!(text(Arc::new(StringViewArray::from(WORDS.to_vec()))), utf8);
        assert_eq!(text(Arc::new(LargeStringArray::from(WORDS.to_vec()))), utf8);
    }

    #[test]
    fn a_large_list_of_views_gives_the_lists_json() {
        let (list, large) = lists();
        let want = text(list);
        assert_eq!(want[0].as_deref(), Some(r#"["short",null]"#));
        assert_eq!(want[1], None, "a null list stays null, not \"null\"");
        assert_eq!(want[2].as_deref(), Some("[]"));
        assert_eq!(text(large), want);
    }

    #[test]
    fn a_struct_holding_polars_forms_gives_the_structs_json() {
        let (list, large) = lists();
        let strukt = |tags: ArrayRef, name: ArrayRef| -> ArrayRef {
            let fields = vec![
                Field::new("tags", tags.data_type().clone(), true),
                Field::new("name", name.data_type().clone(), true),
            ];
            Arc::new(StructArray::new(fields.into(), vec![tags, name], None))
        };
        let words: Vec<Option<&str>> = WORDS[..4].to_vec();
        let want = text(strukt(list, Arc::new(StringArray::from(words.clone()))));
        assert!(want[0]
            .as_deref()
            .unwrap()
            .contains(r#""tags":["short",null]"#));
        let got = text(strukt(large, Arc::new(StringViewArray::from(words))));
        assert_eq!(got, want);
        // Built through a StructBuilder too: the JSON encoder sees the same field forms.
        let mut b =
            StructBuilder::from_fields(vec![Field::new("name", DataType::Utf8View, true)], 1);
        b.field_builder::<StringViewBuilder>(0)
            .expect("a view builder")
            .append_value("x");
        b.append(true);
        assert_eq!(
            text(Arc::new(b.finish())),
            [Some(r#"{"name":"x"}"#.to_owned())]
        );
    }

    #[test]
    fn a_polars_batch_rebuilds_as_the_text_of_its_utf8_and_list_twin() {
        let (list, large) = lists();
        let batch = |tags: ArrayRef, name: ArrayRef| {
            let schema = Schema::new(vec![
                Field::new("tags", tags.data_type().clone(), true),
                Field::new("name", name.data_type().clone(), true),
            ]);
            RecordBatch::try_new(Arc::new(schema), vec![tags, name]).expect("a batch")
        };
        let words: Vec<Option<&str>> = WORDS[..4].to_vec();
        let twin = batch(list, Arc::new(StringArray::from(words.clone())));
        let polars = batch(large, Arc::new(StringViewArray::from(words)));
        let schema = text_schema(&polars.schema());
        assert!(schema
            .fields()
            .iter()
            .all(|f| f.data_type() == &DataType::Utf8));
        let want = conform_batch(&twin, &text_schema(&twin.schema())).expect("conforms");
        assert_eq!(conform_batch(&polars, &schema).expect("conforms"), want);
        assert_eq!(
            want.column(0).as_string::<i32>().value(0),
            r#"["short",null]"#
        );
    }

    /// A page of `{}` only (a struct of no fields) conforms to the struct later pages make.
    #[test]
    fn a_struct_of_no_fields_conforms_to_a_wider_one() {
        let empty: ArrayRef = Arc::new(StructArray::new_empty_fields(3, None));
        let wide = ArrowFields::from(vec![Field::new("a", DataType::Int64, true)]);
        let out = conform(&empty, &DataType::Struct(wide.clone())).expect("conforms");
        assert_eq!(out.len(), 3);
        assert_eq!(out.data_type(), &DataType::Struct(wide));
        assert_eq!(out.as_struct().column(0).null_count(), 3);
    }
}
