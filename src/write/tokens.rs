//! The words other tools write for a missing value in a CSV (`NA` from R, `NaN` and `null`
//! from pandas and Spark). arrow-csv reads them as text, which turned a column of numbers,
//! booleans, dates or times holding one into a text column (`1.5` pushed as the string "1.5",
//! `true` as "true"). A column whose values are of one such type and such words is read as
//! that type, each word a null (a push leaves the value unchanged, as for an empty field); a
//! column with any other text stays text, words and all. A column of words alone is all
//! missing, as a column of empty fields is (it was pushed as the text `NA` on every row,
//! where a column of `NaN` was missing: outside trial 15).
//!
//! arrow-csv itself reads `NaN` and `nan` as a float: a column of integers holding one became
//! Float64 (`7` pushed as `7.0`). So a column arrow-csv makes Float64 is followed as a text
//! column is, and `NaN` is a word as any other: integers and `NaN` are Int64 with nulls.
//!
//! A column the user typed (`--schema n:int64`) takes the same words, under any type but text
//! (which keeps them as written): arrow-csv refused them. An integer type also takes a whole
//! number spelled as a float (`1e2`, `1.0`; a fraction is refused by [`super::exact`]), as
//! arrow-json and the fetch side do, where arrow-csv refused it.
//!
//! [`Words`] follows one text column value by value (in the file's one pass, [`super::scan`]),
//! [`Declared`] one typed column; [`to_typed`] turns the text arrow-csv read for such a column
//! into its type.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};

/// The words read as a missing value (pandas' defaults, less the rarer spellings).
pub(super) const MISSING: [&str; 11] = [
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "null", "NULL", "None", "<NA>", "#N/A",
];

/// Whether `text`, written bare, can only be text: it has white space around it, or it starts
/// with a letter and is no number (an infinity in any case included), boolean, date or time,
/// nor a word for a missing value. A file holding one quotes text only where it must (pandas,
/// polars, Excel), unlike R's `write.csv`, which quotes every text value and writes a missing
/// one as a bare `NA`.
pub(super) fn is_plain_text(text: &str) -> bool {
    // A value with white space around it (` good`, ` 5`, ` NA`, ` `) is text as read, which
    // R's `write.csv` would have quoted (outside trials 74 F2, 75 F1).
    if text.trim() != text {
        return true;
    }
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && !MISSING.contains(&text)
        && Spelled::of(text).is_none()
}

/// Whether `text` spells an infinity as a float parser reads one, in any case and with a
/// sign or none: `inf` (pandas, polars), `Inf` and `-Inf` (R's `write.csv`), `Infinity`. Each is
/// a number, so the column stays one of numbers, and an infinity in it is refused naming its
/// line (outside trial 74 F1: R's `Inf` made a column of numbers text, sent as strings).
pub(super) fn is_infinity(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity")
}

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
        // The other numbers arrow-csv reads as floats (`.5`, `5.`, and `inf`, which
        // [`super::exact`] refuses in a column of numbers, naming its line).
        if arrow_float(text) {
            return Some(Self::Float);
        }
        if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
            return Some(Self::Boolean);
        }
        time(text)
    }

    /// What a column holding both spells; `None` when they are of different families (a
    /// number and a date).
    fn join(self, other: Self) -> Option<Self> {
        (self.family() == other.family()).then(|| self.max(other))
    }

    /// Its family: numbers, booleans, or dates and times (an index into [`FAMILIES`]).
    fn family(self) -> usize {
        match self {
            Self::Integer | Self::Float => 0,
            Self::Boolean => 1,
            Self::Date | Self::Time(_) => 2,
        }
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

/// Whether `text` is a float though JSON spells none so: a point with digits on one side only
/// (`.5`, `-5.`, `5.e3`), which arrow-csv reads as a float, or an infinity in any spelling
/// ([`is_infinity`]; arrow-csv reads only `inf` and `-inf`, the rest as text).
fn arrow_float(text: &str) -> bool {
    if is_infinity(text) {
        return true;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let mantissa = unsigned.split_once(['e', 'E']).map_or(unsigned, |(m, e)| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        match !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) {
            true => m,
            false => "",
        }
    });
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty())
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

/// The families of values a CSV field can spell, as a message names them.
const FAMILIES: [&str; 3] = ["numbers", "booleans", "dates or times"];

/// What one text column's values were, so far.
#[derive(Default)]
pub(super) struct Words {
    missing: bool,
    /// An integer written out past Int64 (`100000000000000000000000`), for which arrow-csv
    /// infers text where the other values are numbers (outside trial 34 F6: `1.5` beside it
    /// was pushed as the text "1.5", silently, where the NDJSON file was refused).
    past_int64: bool,
    /// A number written with a fraction or an exponent (`1.5`, `1e3`).
    float_spelled: bool,
    /// An infinity spelled as arrow-csv reads none (R's `Inf`, `-Inf`; [`is_infinity`]):
    /// arrow-csv infers text for its column, which is one of numbers.
    odd_infinity: bool,
    spelled: Option<Spelled>,
    /// A value that spells none of the families: the column is text.
    other: bool,
    /// The first value of each family, with its line.
    firsts: [Option<(u64, String)>; 3],
}

impl Words {
    /// Notes a value (not empty) on line `line`; whether it is a word for a missing value.
    pub(super) fn note(&mut self, line: u64, text: &str) -> bool {
        if MISSING.contains(&text) {
            self.missing = true;
            return true;
        }
        let Some(now) = Spelled::of(text) else {
            self.other = true;
            return false;
        };
        if now == Spelled::Float && is_infinity(text) {
            self.odd_infinity |= !matches!(text, "inf" | "-inf");
        } else if now == Spelled::Float {
            match text.contains(['.', 'e', 'E']) || !super::exact::is_number(text) {
                true => self.float_spelled = true,
                false => self.past_int64 = true,
            }
        }
        let first = &mut self.firsts[now.family()];
        if first.is_none() {
            *first = Some((line, text.to_owned()));
        }
        self.spelled = match self.spelled {
            Some(before) => now.join(before).or(Some(before)),
            None => Some(now),
        };
        false
    }

    /// Whether the column is integers (and words for a missing value) alone, some past Int64:
    /// text, as written, but of numbers, where `""` is a missing number (Python's
    /// `csv.QUOTE_NONNUMERIC` writes one so), not an empty string (outside trial 35 F8: such a
    /// `""` set the value it should have left unchanged to "").
    pub(super) fn is_integers_past_int64(&self) -> bool {
        self.past_int64 && !self.float_spelled && !self.other && self.mixed().is_none()
    }

    /// Whether the column stays text, whatever its other values.
    pub(super) fn is_text(&self) -> bool {
        self.other
    }

    /// The first value of each of two families (`true` and `1`, `1` and `2026-01-05`), with
    /// their lines and what they are, when the column holds nothing else: every value spells
    /// a typed one, but no one type holds them all.
    pub(super) fn mixed(&self) -> Option<[(&'static str, u64, &str); 2]> {
        if self.other {
            return None;
        }
        let mut seen = FAMILIES
            .iter()
            .zip(&self.firsts)
            .filter_map(|(kind, first)| first.as_ref().map(|(line, v)| (*kind, *line, &**v)));
        let mut two = [seen.next()?, seen.next()?];
        // The one met first, first.
        two.sort_by_key(|&(_, line, _)| line);
        Some(two)
    }

    /// The type the column is read as, when its values are words and values of one type:
    /// that type; when every value is a word, Null (every value is missing, as in a column of
    /// empty fields: a push leaves them unchanged). A column of numbers with an integer past
    /// Int64 and a number written as a float (`1.5`) is a float column too, words or not,
    /// whose float rule then refuses what a float would round, naming its line, as for an
    /// NDJSON file (`--schema col:string` keeps it as written); of integers alone it stays
    /// text, as written, as an NDJSON column of them does. Not the key column (`key`): such a
    /// value there is no call's id, which the key's own check says.
    pub(super) fn data_type(&self, key: bool) -> Option<DataType> {
        let past_int64 = self.past_int64 && self.float_spelled && !key;
        match self.spelled {
            _ if self.other || self.mixed().is_some() => None,
            Some(spelled) if self.missing || past_int64 || self.odd_infinity => {
                Some(spelled.data_type())
            }
            None if self.missing => Some(DataType::Null),
            _ => None,
        }
    }
}

/// `batch` with each word for a missing value in text columns `columns` a null: the columns
/// of times and words the push sends as text, as written ([`super::exact`]), whose words are
/// missing values still.
pub(super) fn words_to_nulls(
    batch: RecordBatch,
    columns: &[usize],
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut all: Vec<ArrayRef> = batch.columns().to_vec();
    for &i in columns {
        let Some(text) = all[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let kept: StringArray = text
            .iter()
            .map(|v| v.filter(|v| !MISSING.contains(v)))
            .collect();
        all[i] = Arc::new(kept);
    }
    RecordBatch::try_new(batch.schema(), all)
}

/// What one column the user typed with a type other than text holds, so far.
pub(super) struct Declared {
    integer: bool,
    as_text: bool,
}

impl Declared {
    /// The follower of a column typed `data_type`; none for a text type, whose words are text.
    pub(super) fn new(data_type: &DataType) -> Option<Self> {
        let text = matches!(
            data_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        (!text).then(|| Self {
            integer: data_type.is_integer(),
            as_text: false,
        })
    }

    /// Notes a value (not empty); whether it is a word for a missing value.
    pub(super) fn note(&mut self, text: &str) -> bool {
        let word = MISSING.contains(&text);
        if word || self.integer && whole_spelled_as_float(text).is_some() {
            self.as_text = true;
        }
        word
    }

    /// Whether the column is read as text and turned into its type after: it holds a word,
    /// or a whole number arrow-csv would refuse.
    pub(super) fn as_text(&self) -> bool {
        self.as_text
    }
}

/// A number written with a point or an exponent (`1e2`, `-2.50e1`, `1.0`) that is whole, as
/// the integer it is (`100`, `-25`, `1`); at most 40 digits (no integer type has more).
fn whole_spelled_as_float(text: &str) -> Option<String> {
    if !super::exact::is_number(text) || !text.contains(['.', 'e', 'E']) {
        return None;
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{int}{frac}");
    // The point falls after `point` of the digits once the exponent moves it.
    let point = i32::try_from(int.len()).ok()?.checked_add(exponent)?;
    let point = usize::try_from(point).unwrap_or(0);
    if digits
        .get(point..)
        .is_some_and(|f| f.bytes().any(|d| d != b'0'))
    {
        return None;
    }
    let whole = digits.get(..point.min(digits.len())).unwrap_or("");
    let zeros = point.saturating_sub(digits.len());
    let whole = format!("{whole}{}", "0".repeat(zeros.min(41)));
    let whole = whole.trim_start_matches('0');
    if whole.len() > 40 {
        return None;
    }
    Some(match (whole.is_empty(), negative) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{whole}"),
        (false, false) => whole.to_owned(),
    })
}

/// `batch`, read with some columns as text, under `schema` (theirs typed): each word a null,
/// each other value of the column's type (which [`Words`] found it spells, or the user gave).
/// `first` is the file's record of the batch's first row (the header is record 0): a value the
/// type does not hold is refused as arrow-csv refuses one, naming its column and record.
pub(super) fn to_typed(
    batch: RecordBatch,
    schema: &SchemaRef,
    first: usize,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, field) in schema.fields().iter().enumerate() {
        if field.data_type() == batch.schema().field(i).data_type() {
            continue;
        }
        let Some(text) = columns[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let integer = field.data_type().is_integer();
        let values: StringArray = text
            .iter()
            .map(|v| {
                let v = v.filter(|v| !v.is_empty() && !MISSING.contains(v))?;
                match integer.then(|| whole_spelled_as_float(v)).flatten() {
                    Some(whole) => Some(std::borrow::Cow::Owned(whole)),
                    None => Some(std::borrow::Cow::Borrowed(v)),
                }
            })
            .collect();
        // Safe: a value the type does not hold becomes a null, found below with its row.
        let typed: ArrayRef = match field.data_type() {
            // Every value a word (arrow-cast casts nothing to Null).
            DataType::Null => Arc::new(arrow_array::NullArray::new(values.len())),
            // arrow-cast also reads `yes`, `1`, `t`...; arrow-csv, for the columns it types,
            // only `true` and `false`.
            DataType::Boolean => Arc::new(
                values
                    .iter()
                    .map(|v| v.and_then(csv_bool))
                    .collect::<arrow_array::BooleanArray>(),
            ),
            data_type => arrow_cast::cast(&values, data_type)?,
        };
        if let Some(row) = (0..values.len()).find(|&r| values.is_valid(r) && typed.is_null(r)) {
            return Err(ArrowError::ParseError(format!(
                "Error while parsing value '{}' as type '{}' for column {i} at line {}",
                text.value(row),
                field.data_type(),
                first + row
            )));
        }
        columns[i] = typed;
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// A boolean as arrow-csv reads one.
fn csv_bool(text: &str) -> Option<bool> {
    match text {
        _ if text.eq_ignore_ascii_case("true") => Some(true),
        _ if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> Option<DataType> {
        let mut words = Words::default();
        for value in values {
            words.note(1, value);
        }
        words.data_type(false)
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
            // No word: arrow-csv's own type stands...
            (&["1", "2"], None),
            // ... but for an integer past Int64, for which it infers text (trial 34 F6).
            (
                &["1.5", "100000000000000000000000"],
                Some(DataType::Float64),
            ),
            (&["12345678901234567891", "2e3"], Some(DataType::Float64)),
            // Integers alone, some past Int64: text, as written.
            (&["12345678901234567891", "7"], None),
            // Only words: every value is missing.
            (&["NA", "null", "NaN"], Some(DataType::Null)),
            // What arrow-csv reads as floats: NaN a word as any other.
            (&["7", "NaN", "nan"], Some(DataType::Int64)),
            (&[".5", "NaN", "-5.", "1.e3"], Some(DataType::Float64)),
            (&["7", "inf", "NA"], Some(DataType::Float64)),
            // Infinities arrow-csv reads as text (R's `Inf`): numbers, words or not.
            (&["0.5", "-Inf"], Some(DataType::Float64)),
            (&["7", "Infinity", "NA"], Some(DataType::Float64)),
            (&["0.5", "inf"], None), // arrow-csv reads this column as floats itself
            (&["0.5", "Infinite"], None),
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
    fn whole_numbers_spelled_as_floats_are_their_integers() {
        for (text, whole) in [
            ("1e2", "100"),
            ("-2.50e1", "-25"),
            ("7.0", "7"),
            ("1E+3", "1000"),
            ("0.0", "0"),
            ("-0e-5", "0"),
            ("1234.5e1", "12345"),
            ("9.223372036854775807e18", "9223372036854775807"),
            ("1e39", "1000000000000000000000000000000000000000"),
        ] {
            assert_eq!(
                whole_spelled_as_float(text).as_deref(),
                Some(whole),
                "{text}"
            );
        }
        // Integers as written, fractions, too many digits, and what is not a number.
        for text in [
            "12",
            "1.5",
            "2.5e-1",
            "1e-400",
            "1e41",
            "1e99999999999",
            "x",
            "1.e2",
        ] {
            assert_eq!(whole_spelled_as_float(text), None, "{text}");
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
