//! The calls' two documented time columns, held to the API's forms before the first request.
//!
//! The API lists a call by its `start_time` and writes `date` and `start_time` back as
//! `"YYYY-MM-DD"` and `"YYYY-MM-DD HH:MM:SS"`. A push took any text for them, after which the
//! same column read back as dates on some days and as text on others, and reads by day missed
//! or refused the call (outside trial 89 C3, C4: a date or `2024-10-02T09:00:00` pushed into
//! `start_time`, `"10/02/2024"` into `date`). Types are checked with the other column rules
//! (`validate`); text is checked here, value by value, by the decoder's own rule for what a
//! date or a time is, so a value pushed is read back as the type it was sent as.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_cast::cast;
use arrow_schema::DataType;

use super::{RowRef, Target};
use crate::decode::{text_form, TextForm};
use crate::error::{Error, Result};

/// A documented time column of the calls, and what its values must be.
#[derive(Clone, Copy)]
pub(super) struct TimeColumn {
    pub name: &'static str,
    /// What the decoder reads a value in the API's form as.
    form_read: TextForm,
    /// The form, as the API documents it.
    form: &'static str,
    /// How to make a frame's column of another type fit it.
    conversion: &'static str,
}

const DATE: TimeColumn = TimeColumn {
    name: "date",
    form_read: TextForm::Date,
    form: "a calendar date, YYYY-MM-DD",
    conversion: "pandas: df[\"date\"] = df[\"date\"].dt.date; polars: pl.col(\"date\").dt.date(); \
                 pyarrow: pc.cast(column, pa.date32())",
};

const START_TIME: TimeColumn = TimeColumn {
    name: "start_time",
    form_read: TextForm::Time,
    form: "a time of day with its date, YYYY-MM-DD HH:MM:SS",
    conversion: "pandas: pd.to_datetime(df[\"start_time\"]); polars: \
                 pl.col(\"start_time\").cast(pl.Datetime); pyarrow: pc.cast(column, \
                 pa.timestamp(\"us\"))",
};

/// The documented time column `name` of `target`, if it is one.
pub(super) fn time_column(target: Target, name: &str) -> Option<TimeColumn> {
    match (target, name) {
        (Target::Calls, "date") => Some(DATE),
        (Target::Calls, "start_time") => Some(START_TIME),
        _ => None,
    }
}

/// Refuses a type that cannot hold `column`'s form: only text, nulls and the one Arrow type
/// the API's form is (a date for `date`, a timestamp for `start_time`) are sent as it.
pub(super) fn check_type(column: TimeColumn, data_type: &DataType) -> Result<()> {
    let fits = match data_type {
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => {
            matches!(
                values.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        DataType::Date32 | DataType::Date64 => column.form_read == TextForm::Date,
        DataType::Timestamp(..) => column.form_read == TextForm::Time,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    Err(Error::encode(
        column.name,
        format!(
            "holds {data_type} values, and the API's `{}` is {}: convert it first ({})",
            column.name, column.form, column.conversion
        ),
    ))
}

/// Refuses the first text value of a documented time column that is not in the API's form,
/// naming its row in the frame; nulls (leave unchanged) pass. `sent`: the rows
/// `on_duplicate="last"` keeps, when it drops any (what a dropped row holds refuses nothing).
pub(super) fn check_text(
    target: Target,
    batches: &[RecordBatch],
    sent: Option<&[RowRef]>,
) -> Result<()> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Ok(());
    };
    for (index, field) in schema.fields().iter().enumerate() {
        let Some(column) = time_column(target, field.name()) else {
            continue;
        };
        if !is_text(field.data_type()) {
            continue;
        }
        let texts = batches
            .iter()
            .map(|batch| {
                let text = cast(batch.column(index), &DataType::Utf8).map_err(|e| {
                    Error::encode(column.name, format!("could not be read as text: {e}"))
                })?;
                Ok(text.as_string::<i32>().clone())
            })
            .collect::<Result<Vec<StringArray>>>()?;
        // The value of row `r` of batch `b` when it is sent and not in the API's form.
        let wrong = |b: usize, r: usize| {
            let text = &texts[b];
            (text.is_valid(r) && text_form(text.value(r).as_bytes()) != column.form_read)
                .then(|| text.value(r).to_owned())
        };
        let first_bad = match sent {
            Some(rows) => rows
                .iter()
                .filter_map(|&(b, r)| {
                    Some(((b as usize, r as usize), wrong(b as usize, r as usize)?))
                })
                .min_by_key(|(at, _)| *at),
            None => (0..texts.len())
                .flat_map(|b| (0..texts[b].len()).map(move |r| (b, r)))
                .find_map(|(b, r)| Some(((b, r), wrong(b, r)?))),
        };
        if let Some(((b, r), value)) = first_bad {
            let row = batches[..b]
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>()
                + r;
            return Err(Error::encode(column.name, refusal(column, &value, row)));
        }
    }
    Ok(())
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// Why `value` (row `row`) is refused, and how to send it.
fn refusal(column: TimeColumn, value: &str, row: usize) -> String {
    const SHOWN: usize = 40;
    let shown: String = value.chars().take(SHOWN).collect();
    let more = if value.chars().count() > SHOWN {
        "…"
    } else {
        ""
    };
    let how = if column.form_read == TextForm::Time && text_form(value.as_bytes()) == TextForm::Date
    {
        "it is a date without a time of day; the API lists a call by when it started, so send \
         the time too"
            .to_owned()
    } else if column.form_read == TextForm::Time && value.len() > 10 && value.as_bytes()[10] == b'T'
    {
        "write a space, not `T`, between the date and the time".to_owned()
    } else if value.is_empty() {
        "send a null to leave the value unchanged".to_owned()
    } else {
        format!("convert the column first ({})", column.conversion)
    };
    format!(
        "holds {}{more} (row {row}), and the API's `{}` is {}, as it writes it back: a read \
         would take this value as text where the others are {}; {how}",
        crate::printable::quoted(&shown),
        column.name,
        column.form,
        if column.form_read == TextForm::Date {
            "dates"
        } else {
            "times"
        },
    )
}
