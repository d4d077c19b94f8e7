//! The calls' two documented time columns, held to the API's forms before the first request.
//!
//! The API lists a call by its `start_time` and writes `date` and `start_time` back as
//! `"YYYY-MM-DD"` and `"YYYY-MM-DD HH:MM:SS"`. A push took any text for them, after which the
//! same column read back as dates on some days and as text on others, and reads by day missed
//! or refused the call (outside trial 89 C3, C4: a date or `2024-10-02T09:00:00` pushed into
//! `start_time`, `"10/02/2024"` into `date`). Types are checked with the other column rules
//! (`validate`); values are checked here, by the decoder's own rule for what a date or a time
//! is, so a value pushed is read back as the type it was sent as.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch, StringArray};
use arrow_cast::cast;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{RowRef, Target};
use crate::decode::{text_form, TextForm};
use crate::error::{Error, Result};

/// A documented time column of the calls, and what its values must be.
#[derive(Clone, Copy)]
pub(crate) struct TimeColumn {
    pub name: &'static str,
    /// What the decoder reads a value in the API's form as.
    form_read: TextForm,
    /// The form, as the API documents it.
    form: &'static str,
    /// How to make a frame's column of times (or dates) fit it.
    conversion: &'static str,
    /// How to read text written in another form.
    from_text: &'static str,
}

const DATE: TimeColumn = TimeColumn {
    name: "date",
    form_read: TextForm::Date,
    form: "a calendar date, YYYY-MM-DD",
    conversion: "pandas: df[\"date\"] = df[\"date\"].dt.date; polars: pl.col(\"date\").dt.date(); \
                 pyarrow: pc.cast(column, pa.date32())",
    from_text: "pandas: pd.to_datetime(df[\"date\"], format=...).dt.date; polars: \
                pl.col(\"date\").str.to_date(format=...); a file's column: \
                schema={\"date\": \"date\"}",
};

const START_TIME: TimeColumn = TimeColumn {
    name: "start_time",
    form_read: TextForm::Time,
    form: "a time of day with its date, YYYY-MM-DD HH:MM:SS",
    conversion: "pandas: pd.to_datetime(df[\"start_time\"]); polars: \
                 pl.col(\"start_time\").cast(pl.Datetime); pyarrow: pc.cast(column, \
                 pa.timestamp(\"us\"))",
    from_text: "pandas: pd.to_datetime(df[\"start_time\"], format=...); polars: \
                pl.col(\"start_time\").str.to_datetime(format=...); a file's column: \
                schema={\"start_time\": \"timestamp\"}",
};

/// The documented time column `name` of `target`, if it is one.
pub(crate) fn time_column(target: Target, name: &str) -> Option<TimeColumn> {
    match (target, name) {
        (Target::Calls, "date") => Some(DATE),
        (Target::Calls, "start_time") => Some(START_TIME),
        _ => None,
    }
}

/// Refuses a type that cannot hold `column`'s form: text, nulls and the Arrow type the API's
/// form is (a date for `date`, a timestamp for `start_time`), dictionary-encoded or not, are
/// sent as it; so is a `date` of timestamps without a zone, each at midnight
/// ([`dates_as_dates`]: polars hands its dates to pandas so, outside trial 92 F7). A column
/// with no value (`all_null`, whatever its type: polars exports one as booleans) sends none.
pub(super) fn check_type(column: TimeColumn, data_type: &DataType, all_null: bool) -> Result<()> {
    if all_null || fits(column, data_type) {
        return Ok(());
    }
    // The conversions from times or dates fit only those (outside trial 94 N7: `.dt.date`
    // raises on numbers, and `pd.to_datetime` reads epoch seconds as nanoseconds).
    let (kind, arrow) = match column.form_read {
        TextForm::Date => ("dates", "an Arrow date"),
        _ => ("times", "an Arrow timestamp"),
    };
    let how = match plain(data_type) {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            format!("convert it first ({})", column.conversion)
        }
        _ => format!("make it {kind} first (text in the API's form, or {arrow})"),
    };
    Err(Error::encode(
        column.name,
        format!(
            "holds {data_type} values, and the API's `{}` is {}: {how}",
            column.name, column.form
        ),
    ))
}

/// A dictionary's value type, or `data_type` itself.
fn plain(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, values) => values,
        other => other,
    }
}

fn fits(column: TimeColumn, data_type: &DataType) -> bool {
    match data_type {
        DataType::Null => true,
        DataType::Dictionary(_, values) => fits(column, values),
        DataType::Timestamp(_, None) => true,
        DataType::Timestamp(_, Some(_)) => column.form_read == TextForm::Time,
        DataType::Date32 | DataType::Date64 => column.form_read == TextForm::Date,
        other => is_text(other),
    }
}

/// A value of a documented time column that is not in the API's form: its column, its row
/// in the frame and its text.
pub(crate) struct Outside {
    pub column: TimeColumn,
    pub row: usize,
    value: Shown,
}

enum Shown {
    Text(String),
    /// A timestamp in `date` that is not at midnight, as Arrow displays it.
    TimeOfDay(String),
}

impl Outside {
    /// Why the value is refused, `place` naming where it is (`row 3`, `line 5 of f.csv`).
    pub(crate) fn reason(&self, place: &str) -> String {
        let column = self.column;
        let (value, how) = match &self.value {
            Shown::TimeOfDay(value) => (
                value,
                "a timestamp at midnight is taken as its date, one with a time of day is not: \
                 make it a date first (pandas: .dt.date, polars: .dt.date())"
                    .to_owned(),
            ),
            Shown::Text(value) => (value, text_hint(column, value)),
        };
        const SHOWN: usize = 40;
        let shown: String = value.chars().take(SHOWN).collect();
        let more = if value.chars().count() > SHOWN {
            "…"
        } else {
            ""
        };
        let read_as = match (&self.value, column.form_read) {
            (Shown::TimeOfDay(_), _) => "a time of day the API's dates do not keep",
            (_, TextForm::Date) => "text where the others are dates",
            _ => "text where the others are times",
        };
        format!(
            "holds {}{more} ({place}), and the API's `{}` is {}, as it writes it back: it would \
             keep {read_as}; {how}",
            crate::printable::quoted(&shown),
            column.name,
            column.form,
        )
    }
}

/// Whether `value` is a date and a time of day without its seconds (`2025-01-01 10:00`, a `T`
/// or a `t` between them).
fn without_seconds(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 16
        && text_form(&b[..10]) == TextForm::Date
        && matches!(b[10], b' ' | b'T' | b't')
        && b[11..13].iter().all(u8::is_ascii_digit)
        && b[13] == b':'
        && b[14..16].iter().all(u8::is_ascii_digit)
}

fn text_hint(column: TimeColumn, value: &str) -> String {
    let form = text_form(value.as_bytes());
    if column.form_read == TextForm::Time && form == TextForm::Date {
        "it is a date without a time of day; the API lists a call by when it started, so send \
         the time too"
            .to_owned()
    } else if column.form_read == TextForm::Time && value.len() > 10 && value.as_bytes()[10] == b'T'
    {
        format!(
            "write a space, not `T`, between the date and the time, or read the column as times \
             ({})",
            column.from_text
        )
    } else if column.form_read == TextForm::Time && without_seconds(value) {
        // A file's `schema=` cannot read such a time either (outside trial 100 F3: the hint
        // named it, and following it failed with arrow's parser error).
        "write its seconds too (YYYY-MM-DD HH:MM:SS, e.g. `10:00` as `10:00:00`): pandas' \
         `pd.to_datetime(...)` and polars' `str.to_datetime(\"%Y-%m-%d %H:%M\")` read it as \
         it is, a file's `schema=` does not"
            .to_owned()
    } else if value.is_empty() {
        "send a null to leave the value unchanged".to_owned()
    } else {
        format!(
            "read the column as {} first ({}); if the value came from a fetch (another tool \
             wrote it so), push only the columns you changed",
            if column.form_read == TextForm::Date {
                "dates"
            } else {
                "times"
            },
            column.from_text
        )
    }
}

/// Refuses the first value of a documented time column that is not in the API's form
/// ([`first_outside`]), naming its row in the frame.
pub(super) fn check_values(
    target: Target,
    batches: &[RecordBatch],
    sent: Option<&[RowRef]>,
) -> Result<()> {
    match first_outside(target, batches, sent) {
        Some(outside) => Err(Error::encode(
            outside.column.name,
            outside.reason(&format!("row {}", outside.row)),
        )),
        None => Ok(()),
    }
}

/// The first value sent of a documented time column that is not in the API's form: text the
/// decoder would not read as the column's type, or a `date` timestamp with a time of day.
/// Nulls (leave unchanged) pass. `sent`: the rows `on_duplicate="last"` keeps, when it drops
/// any (what a dropped row holds refuses nothing).
pub(crate) fn first_outside(
    target: Target,
    batches: &[RecordBatch],
    sent: Option<&[RowRef]>,
) -> Option<Outside> {
    let schema = batches.first()?.schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .find_map(|(index, field)| {
            let column = time_column(target, field.name())?;
            let (b, r, value) = first_outside_in(column, field.data_type(), batches, index, sent)?;
            let row = super::chunk::frame_row(batches, b, r);
            Some(Outside { column, row, value })
        })
}

fn first_outside_in(
    column: TimeColumn,
    data_type: &DataType,
    batches: &[RecordBatch],
    index: usize,
    sent: Option<&[RowRef]>,
) -> Option<(usize, usize, Shown)> {
    // Per batch, its values as text to check, or, for a `date` of timestamps, which rows hold
    // a time of day.
    let wrong: Box<dyn Fn(usize, usize) -> Option<Shown>> = if is_text(data_type) {
        let texts: Vec<StringArray> = batches
            .iter()
            .map(|batch| cast(batch.column(index), &DataType::Utf8).ok())
            .map(|text| text.map(|t| t.as_string::<i32>().clone()))
            .collect::<Option<_>>()?;
        Box::new(move |b, r| {
            let text = &texts[b];
            (text.is_valid(r) && text_form(text.value(r).as_bytes()) != column.form_read)
                .then(|| Shown::Text(text.value(r).to_owned()))
        })
    } else if let (TextForm::Date, DataType::Timestamp(unit, None)) =
        (column.form_read, plain(data_type))
    {
        let per_day = per_day(*unit);
        // A dictionary's values, row by row.
        let columns: Vec<_> = batches
            .iter()
            .map(|b| cast(b.column(index), plain(data_type)).ok())
            .collect::<Option<_>>()?;
        Box::new(move |b, r| {
            let values = &columns[b];
            let value = timestamp_value(values.as_ref(), r)?;
            (value.rem_euclid(per_day) != 0).then(|| {
                let shown = cast(&values.slice(r, 1), &DataType::Utf8)
                    .ok()
                    .map(|t| t.as_string::<i32>().value(0).to_owned())
                    .unwrap_or_default();
                Shown::TimeOfDay(shown)
            })
        })
    } else {
        return None;
    };
    match sent {
        Some(rows) => rows
            .iter()
            .filter_map(|&(b, r)| Some((b as usize, r as usize, wrong(b as usize, r as usize)?)))
            .min_by_key(|(b, r, _)| (*b, *r)),
        None => (0..batches.len())
            .flat_map(|b| (0..batches[b].num_rows()).map(move |r| (b, r)))
            .find_map(|(b, r)| Some((b, r, wrong(b, r)?))),
    }
}

/// A timestamp's units in a day.
fn per_day(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 86_400,
        TimeUnit::Millisecond => 86_400_000,
        TimeUnit::Microsecond => 86_400_000_000,
        TimeUnit::Nanosecond => 86_400_000_000_000,
    }
}

/// The value of row `r` of a timestamp column, `None` when null.
fn timestamp_value(values: &dyn Array, r: usize) -> Option<i64> {
    fn at<T: ArrowPrimitiveType<Native = i64>>(values: &dyn Array, r: usize) -> Option<i64> {
        let values = values.as_primitive::<T>();
        values.is_valid(r).then(|| values.value(r))
    }
    match values.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => at::<TimestampSecondType>(values, r),
        DataType::Timestamp(TimeUnit::Millisecond, _) => at::<TimestampMillisecondType>(values, r),
        DataType::Timestamp(TimeUnit::Microsecond, _) => at::<TimestampMicrosecondType>(values, r),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => at::<TimestampNanosecondType>(values, r),
        _ => None,
    }
}

/// `batches` with a calls' `date` of timestamps without a zone as dates: [`check_values`]
/// found each at midnight, and the API's `date` is a calendar date.
pub(super) fn dates_as_dates(
    target: Target,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let Some(index) = schema.fields().iter().position(|field| {
        time_column(target, field.name()).is_some_and(|c| c.form_read == TextForm::Date)
            && matches!(plain(field.data_type()), DataType::Timestamp(_, None))
    }) else {
        return Ok((schema, batches));
    };
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[index] = fields[index].clone().with_data_type(DataType::Date32);
    let dated = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .into_iter()
        .map(|batch| {
            let mut columns = batch.columns().to_vec();
            columns[index] = cast(&columns[index], &DataType::Date32)?;
            Ok(RecordBatch::try_new(Arc::clone(&dated), columns)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((dated, batches))
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}
