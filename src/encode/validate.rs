//! Everything checked before the first request: options, the key column (present, right type,
//! no nulls, no duplicates unless `on_duplicate=Last`). (Values JSON would carry wrongly are
//! `faithful`'s.) A failed check names
//! the column and a few rows and says what to do; nothing has been sent.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::{EncoderOptions, KeyValue, OnDuplicate, RowRef, Target, MAX_CHUNK_ROWS};
use crate::blank::is_blank;
use crate::error::{Error, Result};
use crate::printable::plural;
use crate::type_tree::{children, Step};

/// A cast that fails on a value the target type cannot hold instead of making it null.
const EXACT: arrow_cast::CastOptions<'static> = arrow_cast::CastOptions {
    safe: false,
    format_options: arrow_cast::display::FormatOptions::new(),
};

/// How many offending rows or keys an error names.
const EXAMPLES: usize = 5;

/// Checks the options against the schema (and, for a key of the wrong type, its nulls).
pub fn check_options(
    options: &EncoderOptions,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<usize> {
    check_chunk_rows(options.chunk_rows as i128)?;
    let key = options.target.key();
    let key_index = schema.index_of(key).map_err(|_| {
        Error::encode(
            key,
            format!(
                "the key column `{key}` is missing{}; pushing to {} needs it",
                super::near_key(schema, key).unwrap_or_default(),
                options.target.path()
            ),
        )
    })?;
    check_key_type(options.target, schema.field(key_index).data_type())
        .map_err(|wrong_type| told_by_values(wrong_type, options.target, batches, key_index))?;
    let mut names = std::collections::HashSet::with_capacity(schema.fields().len());
    for (index, field) in schema.fields().iter().enumerate() {
        check_column_name(field.name())?;
        if !names.insert(field.name().as_str()) {
            return Err(Error::encode(
                field.name(),
                format!(
                    "the column name {:?} appears twice; the API would keep one of the two \
                     values and drop the other, so rename or drop one",
                    field.name()
                ),
            ));
        }
        let depth = json_depth(field.data_type());
        if depth >= crate::decode::MAX_DEPTH {
            return Err(Error::encode(
                field.name(),
                format!(
                    "nests lists or objects {depth} levels deep, and a fetch reads values at \
                     most {} levels deep (a guard against bodies built to exhaust the stack, \
                     and pyarrow's limit), so it could not be read back: flatten the column, \
                     or send each value as JSON text (polars: \
                     `.map_elements(json.dumps, return_dtype=pl.String)`)",
                    crate::decode::MAX_DEPTH - 1
                ),
            ));
        }
        check_time_column(options.target, batches, index, field)?;
        if let Some((path, twice)) = nested_name_twice(field.name(), field.data_type()) {
            return Err(Error::encode(
                field.name(),
                format!(
                    "the field name {twice:?} appears twice in {path}; the API would keep one of \
                     the two values and drop the other, so rename or drop one"
                ),
            ));
        }
    }
    for name in &options.clear {
        if name == key {
            return Err(Error::invalid(
                "clear",
                format!("`{key}` is the key column; it cannot be cleared"),
            ));
        }
        if schema.field_with_name(name).is_err() {
            return Err(Error::invalid(
                "clear",
                // Spelled as Python spells it: a newline broke the message (trial 80).
                format!(
                    "`{}` is not a column of the data",
                    crate::printable::spelled(name)
                ),
            ));
        }
    }
    Ok(key_index)
}

/// Refuses a type that cannot hold the form of the calls' documented `date` or `start_time`
/// (`documented`): a timestamp in `date` was kept as text that every typed read of those days
/// then refused or read as strings (outside trial 88 B4: `pd.to_datetime(...)`, pandas' usual
/// way to hold dates, was pushed as `"2024-10-02 00:00:00"`), and a date in `start_time` as a
/// time of no hour (89 C3).
fn check_time_column(
    target: Target,
    batches: &[RecordBatch],
    index: usize,
    field: &Field,
) -> Result<()> {
    let Some(column) = super::documented::time_column(target, field.name()) else {
        return Ok(());
    };
    let all_null = batches.iter().all(|batch| {
        let values = batch.column(index);
        values.logical_null_count() == values.len()
    });
    super::documented::check_type(column, field.data_type(), all_null)
}

/// Refuses a chunk size outside 1 to [`MAX_CHUNK_ROWS`] (the API's limit per request); any
/// integer, so a negative one from Python is told as given.
pub fn check_chunk_rows(chunk_rows: i128) -> Result<()> {
    if !(1..=MAX_CHUNK_ROWS as i128).contains(&chunk_rows) {
        return Err(Error::out_of_range(
            "chunk_rows",
            1,
            format!("{MAX_CHUNK_ROWS} (the API's limit per request)"),
            chunk_rows,
        ));
    }
    Ok(())
}

/// The first struct, at any depth of `data_type` (the type of column `path`), that names one
/// field twice: where it is (`s.inner`, `s[]` for a list's items) and the name. JSON objects
/// keep one value per key, so the other would be lost unsaid (outside trial 28: a struct with
/// two fields `a` was pushed, and the first `a` dropped).
fn nested_name_twice(path: &str, data_type: &DataType) -> Option<(String, String)> {
    if let DataType::Struct(fields) = data_type {
        let mut names = std::collections::HashSet::with_capacity(fields.len());
        for field in fields {
            if !names.insert(field.name().as_str()) {
                return Some((format!("`{path}`"), field.name().clone()));
            }
        }
    }
    children(data_type).into_iter().find_map(|child| {
        let path = match child.step {
            Step::Field(name) => format!("{path}.{name}"),
            Step::Item => format!("{path}[]"),
            Step::Same => path.to_owned(),
        };
        nested_name_twice(&path, child.data_type)
    })
}

/// How many JSON arrays or objects a value of `data_type` nests, at most (a dictionary's
/// values sit where its keys do: no level of their own).
fn json_depth(data_type: &DataType) -> usize {
    children(data_type)
        .into_iter()
        .map(|child| json_depth(child.data_type) + usize::from(child.step != Step::Same))
        .max()
        .unwrap_or(usize::from(matches!(data_type, DataType::Struct(_))))
}

/// Refuses a column name the API would store but `columns=` could never select again: an empty
/// name, one with a comma (`columns` is a comma-separated list), or one that starts or ends
/// with white space (each name of `columns` is trimmed, so ` x` would select `x`), or one that
/// shows nothing (`columns=` refuses such a value as blank: outside trial 78 F1).
fn check_column_name(name: &str) -> Result<()> {
    let (why, because) = if name.is_empty() {
        ("an empty column name", "")
    } else if is_blank(name) {
        // Its own reason, not the comma's (outside trial 79 F2).
        (
            "a column name of only white space, control or invisible characters",
            " (it refuses such a name as blank)",
        )
    } else if name.contains(',') {
        (
            "a comma in a column name",
            " (it is a comma-separated list)",
        )
    } else if name.trim() != name {
        (
            "white space at the start or end of a column name",
            " (it trims each name)",
        )
    } else {
        return Ok(());
    };
    Err(Error::encode(
        name,
        format!(
            "{why} ({}) would become an attribute that `columns=` cannot select{because}; \
             rename the column before pushing",
            crate::printable::quoted(name)
        ),
    ))
}

/// A key of the wrong type is told by its values where they matter more than its type, so
/// the fix it spells cannot change a key (outside trials 68 F3, 69 F1–F3):
/// - a float `call_id` holding a fraction, a non-finite value or one a float cannot hold
///   exactly (beyond ±2^53) names that value: a cast would make it another call's id;
/// - a key holding nulls is told as null keys, with the drop before the cast (pandas reads an
///   integer column with blanks as float64 with NaN, and `astype("int64")` fails on NaN);
/// - float `rep_id`s are told to be read again as text: a cast makes `101.0` of `101`.
fn told_by_values(wrong_type: Error, target: Target, batches: &[RecordBatch], key: usize) -> Error {
    let data_type = match batches.first() {
        // A Null-typed key has no type to cast: its own error says it holds only nulls.
        Some(batch) if batch.column(key).data_type() != &DataType::Null => {
            batch.column(key).data_type().clone()
        }
        _ => return wrong_type,
    };
    let name = target.key();
    let values = values_of(&data_type);
    if target == Target::Calls {
        if let Some((row, value)) = inexact_id(batches, key) {
            let why = match is_decimal(values) {
                true => "an id is a whole number within int64".to_owned(),
                false => format!(
                    "a float column cannot hold every id exactly (pandas reads an integer \
                     column with blanks as float64); read the column as integers, \
                     pd.read_csv(path, dtype={{\"{name}\": \"Int64\"}}) in pandas"
                ),
            };
            return Error::encode(
                name,
                format!(
                    "has {value} (row {row}), which is no call_id, and a cast would make it \
                     another call's: {why}; fix or drop that row"
                ),
            );
        }
    }
    // Integers too (outside trial 70 F1: polars reads `007` as 7, and a cast sent "7").
    let numeric_reps = target == Target::Reps && values.is_numeric();
    let fix = if numeric_reps {
        format!(
            "rep ids read as numbers have lost their text (`007` became 7, and a cast makes \
             \"7\" or \"7.0\" of it): read the column as text, pd.read_csv(path, \
             dtype={{\"{name}\": str}}) in pandas, pl.read_csv(path, \
             schema_overrides={{\"{name}\": pl.String}}) in polars"
        )
    } else {
        let (pandas, polars) = match target {
            Target::Calls => ("\"int64\"", "pl.Int64"),
            Target::Reps => ("str", "pl.String"),
        };
        let dropped = format!("df.drop_nulls(\"{name}\")");
        let to = |to: &str| format!("{{\"{name}\": {to}}}");
        format!(
            "drop the rows without a key, then cast the column: \
             df.dropna(subset=[\"{name}\"]).astype({{\"{name}\": {pandas}}}) in pandas \
             (df.reset_index() first when it is the index), {} in polars",
            polars_cast(&data_type, &dropped, polars, to)
        )
    };
    match null_keys(batches, key) {
        Some((total, rows)) => Error::encode(
            name,
            format!(
                "has {}, and type {data_type}: {fix}",
                counted_rows(total, "null key", &rows)
            ),
        ),
        None if numeric_reps => Error::encode(
            name,
            format!("has type {data_type}, but must be text: {fix}"),
        ),
        None => wrong_type,
    }
}

/// For a float or decimal `call_id` (a categorical of them too), its first value no cast
/// turns into the id it was read from, with its row (see [`first_inexact_id`]).
pub fn inexact_id(batches: &[RecordBatch], key: usize) -> Option<(usize, String)> {
    let values = values_of(batches.first()?.column(key).data_type());
    (values.is_floating() || is_decimal(values))
        .then(|| first_inexact_id(batches, key, values))
        .flatten()
}

/// The type of a key's values: a dictionary's (a categorical's) value type, else its own.
fn values_of(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, values) => values,
        other => other,
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        values_of(data_type),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_decimal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
    )
}

/// polars' cast of `frame` to the type `to` (spelled by `cast_to`: `pl.Int64` as itself or
/// as `{"call_id": pl.Int64}`): a categorical goes through text first, where a direct cast to
/// a number fails and polars' own hint (`.cat.physical()`) gives its codes, not its values
/// (outside trial 70 F7).
pub(crate) fn polars_cast(
    data_type: &DataType,
    frame: &str,
    to: &str,
    cast_to: impl Fn(&str) -> String,
) -> String {
    match data_type {
        // Only a dictionary of text is a categorical in polars; one of numbers is read as its
        // values' type, which a cast through text would make "5001.0" (outside trial 77 F2).
        DataType::Dictionary(..) if is_text(data_type) => {
            format!(
                "{frame}.cast({}).cast({})",
                cast_to("pl.String"),
                cast_to(to)
            )
        }
        _ => format!("{frame}.cast({})", cast_to(to)),
    }
}

/// The first non-null value of a float or decimal key (`values`: its value type) that no cast
/// turns into the id it was read from, with its row: a fraction, NaN, an infinity, or a number
/// the type cannot hold every whole number up to (2^53 for 64-bit floats and decimals, 2^24
/// for 32-bit floats, 2^11 for 16-bit ones: outside trial 70 F4).
fn first_inexact_id(
    batches: &[RecordBatch],
    key: usize,
    values: &DataType,
) -> Option<(usize, String)> {
    let mut before = 0;
    for batch in batches {
        let column = batch.column(key);
        let found = match decimal_scale(values) {
            Some(scale) => first_inexact_decimal(column, scale)?,
            None => first_inexact_float(column, values)?,
        };
        if let Some(row) = found {
            // As the frame holds it (a decimal's digits, not a float's rounding of them).
            let text = arrow_cast::cast(column, &DataType::Utf8).ok()?;
            return Some((before + row, text.as_string::<i32>().value(row).to_owned()));
        }
        before += column.len();
    }
    None
}

/// A decimal type's scale, when it is one a 128-bit decimal holds (0 to 38).
fn decimal_scale(values: &DataType) -> Option<u32> {
    match values {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => u32::try_from(*s).ok().filter(|&s| s <= 38),
        _ => None,
    }
}

/// The first row of a decimal column whose value is not a whole number within int64, judged
/// on its digits (outside trial 71 F1, F2: judged as a float, an exact id past 2^53 was named
/// as one it is not, and a fraction past a float's precision was not named at all).
fn first_inexact_decimal(column: &ArrayRef, scale: u32) -> Option<Option<usize>> {
    let wide = DataType::Decimal128(38, i8::try_from(scale).ok()?);
    let Ok(decimals) = arrow_cast::cast(column, &wide) else {
        return Some(Some(0)); // digits beyond a 128-bit decimal: no id
    };
    let decimals = decimals.as_primitive::<arrow_array::types::Decimal128Type>();
    let unit = 10_i128.pow(scale);
    Some((0..decimals.len()).find(|&row| {
        let v = decimals.value(row);
        decimals.is_valid(row) && (v % unit != 0 || i64::try_from(v / unit).is_err())
    }))
}

/// The first row of a float column (`values`: its type) holding a fraction, NaN, an infinity,
/// or a number the type cannot hold every whole number up to (2^53 for 64-bit floats, 2^24
/// for 32-bit ones, 2^11 for 16-bit ones: outside trial 70 F4).
fn first_inexact_float(column: &ArrayRef, values: &DataType) -> Option<Option<usize>> {
    let exact = match values {
        DataType::Float16 => 2_048.0,
        DataType::Float32 => 16_777_216.0,
        _ => 9_007_199_254_740_992.0,
    };
    let column = arrow_cast::cast(column, &DataType::Float64).ok()?;
    let floats = column.as_primitive::<arrow_array::types::Float64Type>();
    Some((0..floats.len()).find(|&row| {
        let v = floats.value(row);
        floats.is_valid(row) && !(v.fract() == 0.0 && v.abs() < exact)
    }))
}

/// How many rows' key is null (a dictionary's null values too), and the first few of them;
/// `None` when none is.
fn null_keys(batches: &[RecordBatch], key: usize) -> Option<(usize, Vec<usize>)> {
    missing_keys(batches, key, false)
}

/// [`null_keys`], and with `blank` the text keys that are empty or white space too: no rep's
/// id (outside trial 70 F8: a CSV's `""` was pushed as the key "").
pub fn missing_keys(
    batches: &[RecordBatch],
    key: usize,
    blank: bool,
) -> Option<(usize, Vec<usize>)> {
    let mut total = 0;
    let mut rows = Vec::new();
    let mut first_row = 0;
    for batch in batches {
        let column = batch.column(key);
        let nulls = column.logical_nulls();
        let text = blank
            .then(|| arrow_cast::cast(column, &DataType::Utf8).ok())
            .flatten();
        let text = text.as_ref().map(|t| t.as_string::<i32>());
        let missing = |row: usize| {
            nulls.as_ref().is_some_and(|n| n.is_null(row))
                || text.is_some_and(|t| t.is_valid(row) && is_blank(t.value(row)))
        };
        let found: Vec<usize> = (0..column.len()).filter(|&row| missing(row)).collect();
        total += found.len();
        let room = EXAMPLES.saturating_sub(rows.len());
        rows.extend(found.into_iter().take(room).map(|row| first_row + row));
        first_row += column.len();
    }
    (total > 0).then_some((total, rows))
}

/// What to do with `total` null keys, in the number they take (outside trial 81 F1: "drop or
/// fill them" of one).
fn drop_or_fill(total: usize) -> &'static str {
    match total {
        1 => "drop or fill it",
        _ => "drop or fill them",
    }
}

/// `"1 null key (row 1)"`, `"2 null keys (rows [1, 3])"`, `"7 null keys (rows [0, 1, 2, 3, 4]
/// and 2 more)"`: `total` rows of `what`, `rows` the first of them (outside trial 76 F6: "1
/// null keys", and five rows shown of thousands with no word that more were left out).
fn counted_rows(total: usize, what: &str, rows: &[usize]) -> String {
    let more = total.saturating_sub(rows.len());
    let rows = match (rows, more) {
        ([row], 0) => format!("row {row}"),
        (rows, 0) => format!("rows {rows:?}"),
        (rows, more) => format!("rows {rows:?} and {more} more"),
    };
    format!("{total} {what}{} ({rows})", plural(total))
}

fn check_key_type(target: Target, data_type: &DataType) -> Result<()> {
    let ok = match target {
        Target::Calls => data_type.is_integer(),
        Target::Reps => match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, values) => matches!(
                **values,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ),
            _ => false,
        },
    };
    if ok {
        return Ok(());
    }
    if data_type == &DataType::Null {
        // No type of its own, only nulls: the values are what is wrong, as a null key is (a
        // frame without rows takes a Null key as the target's key type, `PushPlan::of_frame`).
        let key = target.key();
        return Err(Error::encode(
            key,
            format!(
                "holds only nulls (Arrow type Null), and every row needs its `{key}`: fill in \
                 the keys, or drop the rows without one"
            ),
        ));
    }
    let text = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    if target == Target::Calls && text {
        // A file's key column is text when a value is not an integer of int64 (`abc`, a
        // 20-digit number): no cast helps, the value is no call's (outside trial 15: told
        // `--schema call_id:int64`, which then failed on that value). A frame's may be ids
        // held as text, which a cast fixes.
        return Err(Error::encode(
            "call_id",
            format!(
                "has type {data_type}, but must be an integer type: a frame's ids held as text \
                 are cast with pl.col(\"call_id\").cast(pl.Int64) in polars, \
                 df[\"call_id\"].astype(\"int64\") in pandas; a CSV or NDJSON file's column \
                 is text because some value is not a whole number within int64 (text, or one \
                 beyond 9223372036854775807), which no call_id is: fix or drop that row \
                 (--schema call_id:int64 names the first such value and its line)"
            ),
        ));
    }
    if target == Target::Calls && !(values_of(data_type).is_numeric() || is_text(data_type)) {
        // Times, flags, bytes: a cast would make ids of them (a timestamp's microseconds,
        // outside trial 70 F10), so none is suggested.
        return Err(Error::encode(
            "call_id",
            format!(
                "has type {data_type}, which holds no call ids: the key column must hold each \
                 call's integer id"
            ),
        ));
    }
    // In the words of both frame libraries (outside trial: a pandas user with a categorical
    // `call_id` was told only polars').
    // The categorical remark only where the column is one (outside trial 46: a Null- or
    // Float64-typed key was told a categorical is not an integer type).
    let categorical = if matches!(data_type, DataType::Dictionary(..)) {
        " (a categorical of ids is not one)"
    } else {
        ""
    };
    let (key, want) = match target {
        Target::Calls => (
            "call_id",
            format!(
                "an integer type{categorical}; cast it: df[\"call_id\"].astype(\"int64\") in \
                 pandas, {} in polars, --schema call_id:int64 for a CSV or NDJSON file",
                polars_cast(data_type, "pl.col(\"call_id\")", "pl.Int64", str::to_owned)
            ),
        ),
        Target::Reps => (
            "rep_id",
            "a string type; cast it: df[\"rep_id\"].astype(str) in pandas, \
             pl.col(\"rep_id\").cast(pl.String) in polars"
                .to_owned(),
        ),
    };
    Err(Error::encode(
        key,
        format!("has type {data_type}, but must be {want}"),
    ))
}

/// Every input row's key, in input order, as a plain vector of its type (a `KeyValue` per row
/// took 32 bytes where an `i64` takes 8).
pub enum Keys {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl Keys {
    pub fn len(&self) -> usize {
        match self {
            Keys::Int(keys) => keys.len(),
            Keys::Str(keys) => keys.len(),
        }
    }

    pub fn get(&self, index: usize) -> KeyValue {
        match self {
            Keys::Int(keys) => KeyValue::Int(keys[index]),
            Keys::Str(keys) => KeyValue::Str(keys[index].clone()),
        }
    }

    /// Which rows to keep (each key's last) and the rows whose keys repeat later, or `None`
    /// when every key is unique.
    fn duplicates(&self) -> Option<(Vec<bool>, Vec<usize>)> {
        match self {
            Keys::Int(keys) => duplicates_of(keys),
            Keys::Str(keys) => duplicates_of(keys),
        }
    }
}

/// See [`Keys::duplicates`]. Keys read from the API ascend, so one pass usually proves there
/// are none; otherwise a stable sort of the row numbers by key groups each key's rows in input
/// order (a SipHash set of a million keys took most of the encode time).
fn duplicates_of<T: Ord>(keys: &[T]) -> Option<(Vec<bool>, Vec<usize>)> {
    if keys.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let mut order: Vec<u32> = (0..to_u32(keys.len())).collect();
    order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
    let mut keep = vec![true; keys.len()];
    let mut repeated = Vec::new();
    for pair in order.windows(2) {
        let (earlier, later) = (pair[0] as usize, pair[1] as usize);
        if keys[earlier] == keys[later] {
            keep[earlier] = false;
            repeated.push(earlier);
        }
    }
    (!repeated.is_empty()).then_some((keep, repeated))
}

/// The error for a key column (`column`, its first row being input row `first_row`) with a
/// value the int64 keys cannot hold, naming the first such value and its row (found by the
/// outside trial: the message named neither, and said "64-bit" of a uint64 id that is one).
fn not_int64(key: &str, column: &ArrayRef, first_row: usize) -> Error {
    let first = arrow_cast::cast(column, &DataType::Int64)
        .ok()
        .and_then(|ints| (0..column.len()).find(|&row| column.is_valid(row) && ints.is_null(row)));
    let text = first.and_then(|row| {
        let text = arrow_cast::cast(column, &DataType::Utf8).ok()?;
        Some((row, text.as_string::<i32>().value(row).to_owned()))
    });
    let reason = match text {
        Some((row, value)) => format!(
            "has {value} (row {}), which is no integer from {} to {}: the range of the keys \
             this client pushes",
            first_row + row,
            i64::MIN,
            i64::MAX
        ),
        None => "has values that are no 64-bit signed integers".to_owned(),
    };
    Error::encode(key, reason)
}

/// The key of every input row, in input order; refuses nulls.
pub fn key_values(batches: &[RecordBatch], key_index: usize, target: Target) -> Result<Keys> {
    let key = target.key();
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut keys = match target {
        Target::Calls => Keys::Int(Vec::with_capacity(rows)),
        Target::Reps => Keys::Str(Vec::with_capacity(rows)),
    };
    // A rep id's nulls and its empty values are told together: fixing the nulls showed the
    // blanks only in the next try (outside trial 76 F6).
    let nulls = null_keys(batches, key_index);
    if let (Some((total, rows)), Target::Calls) = (&nulls, target) {
        return Err(Error::encode(
            key,
            format!(
                "has {}; {}",
                counted_rows(*total, "null key", rows),
                drop_or_fill(*total)
            ),
        ));
    }
    let (mut blank_total, mut blank_rows) = (0, Vec::new());
    let mut row_number = 0;
    for batch in batches {
        let column = batch.column(key_index);
        let typed = match target {
            // Not the default (safe) cast: it turns a value that does not fit into a null,
            // which would be reported as a null key the frame does not have.
            Target::Calls => arrow_cast::cast_with_options(column, &DataType::Int64, &EXACT)
                .map_err(|_| not_int64(key, column, row_number))?,
            Target::Reps => arrow_cast::cast(column, &DataType::Utf8)?,
        };
        match &mut keys {
            Keys::Int(keys) => keys.extend(typed.as_primitive::<Int64Type>().values().iter()),
            Keys::Str(keys) => {
                let typed = typed.as_string::<i32>();
                for row in 0..typed.len() {
                    let value = typed.value(row);
                    // What is missing besides the nulls: empty text or text that shows nothing,
                    // found in the text just built rather than by a second cast.
                    if typed.is_valid(row) && is_blank(value) {
                        blank_total += 1;
                        if blank_rows.len() < EXAMPLES {
                            blank_rows.push(row_number + row);
                        }
                    }
                    keys.push(value.to_owned());
                }
            }
        }
        row_number += typed.len();
    }
    let blanks = (blank_total > 0).then(|| counted_rows(blank_total, "empty key", &blank_rows));
    let null_total = nulls.as_ref().map_or(0, |(total, _)| *total);
    let nulls = nulls.map(|(total, rows)| counted_rows(total, "null key", &rows));
    let (said, one) = match (nulls, blanks) {
        (None, None) => return Ok(keys),
        (Some(nulls), None) => {
            return Err(Error::encode(
                key,
                format!("has {nulls}; {}", drop_or_fill(null_total)),
            ))
        }
        (None, Some(blanks)) => (blanks, blank_total == 1),
        (Some(nulls), Some(blanks)) => (format!("{nulls} and {blanks}"), false),
    };
    Err(Error::encode(
        key,
        format!(
            "has {said}, and an empty {key} (no characters, or only white space, control or \
             invisible ones) names no rep: {}",
            match one {
                true => "fill it in or drop that row",
                false => "fill them in or drop those rows",
            }
        ),
    ))
}

/// The rows to send, in order: `None` for all of them (no key repeats), or with `Last` only
/// each key's last row.
pub fn select_rows(
    batches: &[RecordBatch],
    keys: &Keys,
    on_duplicate: OnDuplicate,
    key: &str,
) -> Result<Option<Vec<RowRef>>> {
    let (keep_row, repeated) = keys.duplicates().unwrap_or_default();
    let duplicate_count = repeated.len();
    if duplicate_count > 0 && on_duplicate == OnDuplicate::Error {
        let mut shown: Vec<String> = Vec::new();
        for value in repeated.iter().map(|&row| keys.get(row).to_string()) {
            if shown.len() == EXAMPLES {
                break;
            }
            if !shown.contains(&value) {
                shown.push(value);
            }
        }
        return Err(Error::encode(
            key,
            format!(
                "has {duplicate_count} duplicate key{} (e.g. {}); deduplicate, or pass on_duplicate=\"last\" to keep each key's last row",
                plural(duplicate_count),
                shown.join(", ")
            ),
        ));
    }
    if duplicate_count == 0 {
        return Ok(None);
    }
    let mut rows = Vec::with_capacity(keep_row.len() - duplicate_count);
    let mut index = 0usize;
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.num_rows() {
            if keep_row[index] {
                rows.push((to_u32(b), to_u32(r)));
            }
            index += 1;
        }
    }
    Ok(Some(rows))
}

fn to_u32(v: usize) -> u32 {
    u32::try_from(v).expect("more than 4 billion rows or batches in one push")
}
