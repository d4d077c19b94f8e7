//! Arrow record batches → validated, chunked JSON bodies for `POST /calls` and `POST /reps`.
//!
//! The API's two body shapes have opposite null rules: in the columnar form a null means "leave
//! unchanged", in the row-wise form a key missing from a row is *cleared*. So values always
//! travel columnar (`{"call_id":[1,2],"score":[0.5,null]}`), and the rows holding a cell the
//! caller asked to clear (`clear=[...]`) travel row-wise too, every row of a row-wise body
//! naming exactly the same keys, each with its value or an explicit null. Nothing can be
//! cleared by accident.
//!
//! * [`validate`] checks everything before the first request (keys, types, duplicates), and
//!   [`faithful`] refuses what JSON would carry wrongly (NaN, ±inf, extension types), and
//!   [`documented`] what the API would keep in another form (the calls' `date` and
//!   `start_time`).
//! * [`values`] writes one JSON value per Arrow type family.
//! * [`chunk`] plans the bodies (≤ 100000 rows) and renders one on demand, so only the chunks in
//!   flight exist as bytes.
//!
//! Measured (`cargo test --release -- --ignored --nocapture encode_throughput`): see the `//!`
//! of `chunk.rs`.

mod chunk;
mod documented;
mod faithful;
mod layouts;
mod nested;
mod pandas_index;
mod validate;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_clear;
#[cfg(test)]
mod tests_faithful;
#[cfg(test)]
mod tests_frames;

use arrow_array::RecordBatch;
use arrow_schema::Schema;

pub(crate) use chunk::frame_row;
pub use chunk::{parse_zone, PushPlan};
pub use pandas_index::without_pandas_index;
pub(crate) use validate::polars_cast;
pub use validate::{check_chunk_rows, inexact_id, missing_keys};
pub(crate) use values::put_float;

use crate::error::{Error, Result};

/// The API's row limit per request.
pub const MAX_CHUNK_ROWS: usize = 100_000;

/// Which resource a push updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `POST /calls`, keyed by the integer `call_id`.
    Calls,
    /// `POST /reps`, keyed by the string `rep_id`.
    Reps,
}

impl Target {
    /// The key column.
    pub fn key(self) -> &'static str {
        match self {
            Target::Calls => "call_id",
            Target::Reps => "rep_id",
        }
    }

    /// The endpoint path.
    pub fn path(self) -> &'static str {
        match self {
            Target::Calls => "/calls",
            Target::Reps => "/reps",
        }
    }

    /// `call_id` → calls, else `rep_id` → reps.
    pub fn infer(schema: &Schema) -> Result<Target> {
        if schema.field_with_name("call_id").is_ok() {
            Ok(Target::Calls)
        } else if schema.field_with_name("rep_id").is_ok() {
            Ok(Target::Reps)
        } else {
            let near = [Target::Calls, Target::Reps]
                .iter()
                .find_map(|t| near_key(schema, t.key()))
                .unwrap_or_default();
            Err(Error::invalid(
                "to",
                format!(
                    "the data has neither a call_id nor a rep_id column{near}; add the key \
                     column or pass to="
                ),
            ))
        }
    }
}

/// What in `schema` looks like the `key` column but is not it, as a clause for an error
/// (outside trial: a header `call_id ` or Excel's `sep=,` line was refused for having no key,
/// without a word of what was there): a name equal to the key but for case, surrounding
/// white space or a byte order mark, or a first column that is Excel's separator line.
pub(crate) fn near_key(schema: &Schema, key: &str) -> Option<String> {
    let fields = schema.fields();
    if let Some(field) = fields.iter().find(|f| {
        let name = f.name().trim_start_matches('\u{feff}').trim();
        name.eq_ignore_ascii_case(key) && f.name() != key
    }) {
        return Some(format!(
            " (a column is named {:?}, which differs from `{key}` only by case, white space \
             or a byte order mark: rename it `{key}`)",
            field.name()
        ));
    }
    let first = fields.first()?.name();
    first.to_ascii_lowercase().starts_with("sep=").then(|| {
        format!(
            " (the first line is {first:?}, Excel's separator line, read as the header: delete \
             that line so the header comes first)"
        )
    })
}

/// What to do with a key that appears more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    /// Refuse the push, naming some of the keys.
    #[default]
    Error,
    /// The last row with the key wins; earlier ones are not sent.
    Last,
}

/// How to encode a push.
#[derive(Clone, Debug)]
pub struct EncoderOptions {
    /// Where the rows go.
    pub target: Target,
    /// Columns whose nulls mean "clear this value".
    pub clear: Vec<String>,
    /// Rows per request, 1..=100000.
    pub chunk_rows: usize,
    /// Duplicate keys policy.
    pub on_duplicate: OnDuplicate,
    /// The tenant's IANA time zone for zone-aware timestamps; `None` is UTC.
    pub timezone: Option<String>,
}

impl EncoderOptions {
    /// Defaults for `target`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            clear: Vec::new(),
            chunk_rows: MAX_CHUNK_ROWS,
            on_duplicate: OnDuplicate::Error,
            timezone: None,
        }
    }
}

/// A key value, for reporting chunk ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    /// A `call_id`.
    Int(i64),
    /// A `rep_id`.
    Str(String),
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyValue::Int(v) => write!(f, "{v}"),
            KeyValue::Str(v) => write!(f, "{v:?}"),
        }
    }
}

/// One request body of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkSpec {
    /// Values (columnar) or clears (row-wise: explicit nulls beside the rows' other values).
    pub kind: ChunkKind,
    /// Rows in the body.
    pub rows: usize,
    /// Key of the first row.
    pub first_key: KeyValue,
    /// Key of the last row.
    pub last_key: KeyValue,
}

/// The shape of a body.
#[derive(Clone, Debug, PartialEq)]
pub enum ChunkKind {
    /// `{"key":[...],"col":[...]}`: nulls leave values unchanged.
    Columnar,
    /// `[{"key":k,"c1":null,"c2":0.5,...}]`: these columns are cleared where null on these
    /// rows and set to their values elsewhere.
    Clear {
        /// The columns named on every row of the body (each null on at least one row).
        columns: Vec<String>,
    },
}

/// Rows of the input in sending order: (batch, row).
pub(crate) type RowRef = (u32, u32);

/// Input batches with their schema.
pub(crate) fn schema_of(batches: &[RecordBatch]) -> Option<arrow_schema::SchemaRef> {
    batches.first().map(RecordBatch::schema)
}
