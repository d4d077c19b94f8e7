//! The words other tools write for a missing value in a CSV (`NA` from R, `NaN` and `null`
//! from pandas and Spark). arrow-csv reads them as text, which turned a column of numbers,
//! booleans, dates or times holding one into a text column (`1.5` pushed as the string "1.5",
//! `true` as "true"). A column whose values are of one such type and such words is read as
//! that type, each word a null (a push leaves the value unchanged, as for an empty field); a
//! column with any other text stays text, words and all.
//!
//! [`Words`] follows one text column value by value (in the file's one pass, [`super::scan`]);
//! [`to_typed`] turns the text arrow-csv read for such a column into its type.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};

/// The words read as a missing value (pandas' defaults, less the rarer spellings).
pub(super) const MISSING: [&str; 11] = [
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "null", "NULL", "None", "<NA>", "#N/A",
];

/// What one value of a text column spells, ordered within a family by what holds the others
/// (a float holds an integer, a time a date, nanoseconds seconds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Spelled {
    /// An integer that fits an Int64.
    Integer,
    /// Any other number.
    Float,
    Boolean,
    Date,
    /// A time, with the unit its fraction of a second needs (as arrow-csv infers one).
    Time(TimeUnit),
}

impl Spelled {
    /// The value `text` spells, if it is a number, a boolean, a date or a time.
    fn of(text: &str) -> Option<Self> {
        if super::exact::is_number(text) {
            let float = text.contains(['.', 'e', 'E']) || text.parse::<i64>().is_err();
            return Some(if float { Self::Float } else { Self::Integer });
        }
        if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
            return Some(Self::Boolean);
        }
        time(text)
    }

    /// What a column holding both spells; `None` when they are of different families (a
    /// number and a date: the column is text).
    fn join(self, other: Self) -> Option<Self> {
        let family = |s: Self| match s {
            Self::Integer | Self::Float => 0,
            Self::Boolean => 1,
            Self::Date | Self::Time(_) => 2,
        };
        (family(self) == family(other)).then(|| self.max(other))
    }

    fn data_type(self) -> DataType {
        match self {
            Self::Integer => DataType::Int64,
            Self::Float => DataType::Float64,
            Self::Boolean => DataType::Boolean,
            Self::Date => DataType::Date32,
            Self::Time(unit) => DataType::Timestamp(unit, None),
        }
    }
}

/// A date (`2026-01-05`) or a time (`2026-01-05T10:00:00`, `2026-01-05 10:00:00.25+02:00`),
/// spelled as arrow-csv infers one (its unit from the digits of the fraction of a second), and
/// only when arrow-cast reads it (a real date, a known offset), so the cast after the read
/// cannot fail.
fn time(text: &str) -> Option<Spelled> {
    let bytes = text.as_bytes();
    let digits = |at: &[usize]| {
        at.iter()
            .all(|&i| bytes.get(i).is_some_and(u8::is_ascii_digit))
    };
    let date = bytes.len() >= 10
        && digits(&[0, 1, 2, 3, 5, 6, 8, 9])
        && bytes[4] == b'-'
        && bytes[7] == b'-';
    if !date {
        return None;
    }
    let spelled = if bytes.len() == 10 {
        Spelled::Date
    } else {
        let clock = matches!(bytes[10], b'T' | b' ')
            && digits(&[11, 12, 14, 15, 17, 18])
            && bytes[13] == b':'
            && bytes[16] == b':';
        if !clock {
            return None;
        }
        let rest = &bytes[19..];
        let fraction = match rest.strip_prefix(b".") {
            Some(fraction) => fraction.iter().take_while(|b| b.is_ascii_digit()).count(),
            None if rest.first().is_some_and(u8::is_ascii_digit) => return None,
            None => 0,
        };
        Spelled::Time(match fraction {
            0 if rest.starts_with(b".") => return None,
            0 => TimeUnit::Second,
            1..=3 => TimeUnit::Millisecond,
            4..=6 => TimeUnit::Microsecond,
            7..=9 => TimeUnit::Nanosecond,
            _ => return None,
        })
    };
    arrow_cast::parse::string_to_datetime(&chrono::Utc, text)
        .is_ok()
        .then_some(spelled)
}

/// What one text column's values were, so far.
#[derive(Default)]
pub(super) struct Words {
    missing: bool,
    spelled: Option<Spelled>,
    other: bool,
}

impl Words {
    /// Notes a value (not empty); whether it is a word for a missing value.
    pub(super) fn note(&mut self, text: &str) -> bool {
        if MISSING.contains(&text) {
            self.missing = true;
            return true;
        }
        let spelled = match (Spelled::of(text), self.spelled) {
            (Some(now), Some(before)) => now.join(before),
            (now, _) => now,
        };
        match spelled {
            Some(spelled) => self.spelled = Some(spelled),
            None => self.other = true,
        }
        false
    }

    /// Whether the column stays text, whatever its other values.
    pub(super) fn is_text(&self) -> bool {
        self.other
    }

    /// The type the column is read as, when its values are words and values of one type.
    pub(super) fn data_type(&self) -> Option<DataType> {
        match self.spelled {
            Some(spelled) if self.missing && !self.other => Some(spelled.data_type()),
            _ => None,
        }
    }
}

/// `batch`, read with the columns of words as text, under `schema` (theirs typed): each word
/// a null, each other value cast to the column's type (which [`Words`] found it spells).
pub(super) fn to_typed(
    batch: RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, field) in schema.fields().iter().enumerate() {
        if field.data_type() == batch.schema().field(i).data_type() {
            continue;
        }
        let Some(text) = columns[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let values: StringArray = text
            .iter()
            .map(|v| v.filter(|v| !v.is_empty() && !MISSING.contains(v)))
            .collect();
        let options = arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        };
        columns[i] = arrow_cast::cast_with_options(&values, field.data_type(), &options)?;
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// `batch` with every NaN of its Float64 columns made null. A CSV spells a missing number
/// `NaN` as often as `NA` (pandas writes it), and arrow-csv reads `NaN` into a Float64 column
/// as the float NaN, which a push refuses; it is one of the [`MISSING`] words, so it means
/// "leave unchanged" as they do (outside trial: `1.5,NaN` was refused with a DataFrame hint).
pub(super) fn nan_as_null(batch: RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_buffer::NullBuffer;

    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut changed = false;
    for column in &mut columns {
        let Some(floats) = column.as_primitive_opt::<Float64Type>() else {
            continue;
        };
        if !floats.values().iter().any(|v| v.is_nan()) {
            continue;
        }
        let numbers: NullBuffer = floats.values().iter().map(|v| !v.is_nan()).collect();
        let nulls = NullBuffer::union(floats.nulls(), Some(&numbers));
        *column = Arc::new(arrow_array::Float64Array::new(
            floats.values().clone(),
            nulls,
        ));
        changed = true;
    }
    if !changed {
        return Ok(batch);
    }
    RecordBatch::try_new(batch.schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> Option<DataType> {
        let mut words = Words::default();
        for value in values {
            words.note(value);
        }
        words.data_type()
    }

    #[test]
    fn a_column_of_one_type_and_words_is_of_that_type() {
        let ms = DataType::Timestamp(TimeUnit::Millisecond, None);
        let cases = [
            (&["1", "NA", "-7"][..], Some(DataType::Int64)),
            (&["1", "null", "2.5"], Some(DataType::Float64)),
            (&["12345678901234567891", "NA"], Some(DataType::Float64)),
            (&["true", "FALSE", "NA", "False"], Some(DataType::Boolean)),
            (&["2026-01-05", "N/A"], Some(DataType::Date32)),
            (&["2026-01-05", "2026-01-05 10:00:00.25", "NA"], Some(ms)),
            (
                &["2026-01-05T10:00:00Z", "None"],
                Some(DataType::Timestamp(TimeUnit::Second, None)),
            ),
            (
                &["2026-01-05T10:00:00.1234567+02:00", "NaN"],
                Some(DataType::Timestamp(TimeUnit::Nanosecond, None)),
            ),
            // No word: arrow-csv's own type stands.
            (&["1", "2"], None),
            // Only words.
            (&["NA", "null"], None),
            // Other text, or two families.
            (&["1", "NA", "x"], None),
            (&["true", "NA", "1"], None),
            (&["true", "NA", "yes"], None),
            (&["2026-01-05", "NA", "1"], None),
        ];
        for (values, expected) in cases {
            assert_eq!(column(values), expected, "{values:?}");
        }
    }

    #[test]
    fn only_dates_and_times_arrow_reads_are_spelled_so() {
        for text in [
            "2026-02-30",
            "2026-01-05 10:00",
            "2026-01-05t10:00:00",
            "2026-01-05T25:00:00",
            "2026-01-05T10:00:00.",
            "2026-01-05T10:00:00.1234567890",
            "2026-01-05T10:00:001",
            "2026-01-05T10:00:00 +99:00",
            "2026-01-05T10:00:00junk",
            " 2026-01-05",
            "2026/01/05",
        ] {
            assert!(time(text).is_none(), "{text}");
        }
        for text in [
            "2026-01-05",
            "2026-01-05 10:00:00",
            "2026-01-05T10:00:00.5Z",
            "2026-01-05T10:00:00-0530",
        ] {
            assert!(time(text).is_some(), "{text}");
        }
    }
}
