//! [`KeyDeduper`]: drops rows whose key was already seen, keeping the first occurrence.
//!
//! The API pages by offset, so a row inserted while a fetch pages shifts later rows by one and
//! the same key comes back on two pages (the contract's "offset shift").
//!
//! Exactly-once rests on the key, so a row without one (null or absent) is a decode error, not
//! a row let through: a server that sent it twice would have it twice in the result. So is a
//! `call_id` that is not an integer (`"abc"`, `2.5`, `true`), unless the caller forced the
//! column's type with `schema=`.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_cast::cast;
use arrow_schema::DataType;
use arrow_select::filter::filter_record_batch;

use super::infer::bits;
use crate::{Error, Result};

/// The words of every error for rows whose key cannot be trusted (the Python layer's hint
/// keys on them).
pub const UNKEYED: &str = "Every row is kept exactly once by its";

/// Why rows without a usable key are refused.
const NOT_TAKEN: &str = "rows without a usable one cannot be taken";

/// Drops rows whose key column value was seen before, across every batch it is given.
///
/// Integer keys of any width compare as `i64`; other keys compare by their text. A row with a
/// null key, or a batch with rows and no key column, is a [`Error::Decode`] on `endpoint`.
#[derive(Debug)]
pub struct KeyDeduper {
    key: String,
    endpoint: String,
    /// Keys must be integers (`call_id`, whose type the caller did not force).
    integer: bool,
    ints: IntKeys,
    texts: HashSet<Box<str>, Fast>,
    /// The page being filtered, for the errors about its keys.
    page: PageFacts,
}

/// What the listing knows of the page whose batches a [`KeyDeduper`] filters: its number, and
/// the kinds of value its key column showed (`infer::bits`, 0 when unknown). A key column that
/// mixes kinds is decoded as one type (integers beside quoted ones as text, beside floats as
/// floats), after which the odd values cannot be picked out: the error then says so rather than
/// quote a value that was fine (outside trial 39 F2: "the first: \"101\"" for a page whose
/// quoted id was "130", and "such as 2.0" for ids no page held).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageFacts {
    pub number: Option<u64>,
    pub key_seen: u16,
}

impl KeyDeduper {
    /// A deduper on the column named `key` of the pages of `endpoint` (for its errors).
    pub fn new(key: &str, endpoint: &str) -> Self {
        Self {
            key: key.to_owned(),
            endpoint: endpoint.to_owned(),
            integer: false,
            ints: IntKeys::default(),
            texts: HashSet::default(),
            page: PageFacts::default(),
        }
    }

    /// How many keys it has seen.
    pub fn len(&self) -> usize {
        self.ints.len() + self.texts.len()
    }

    /// Whether it has seen no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batches filtered next are `page`'s.
    pub fn at_page(&mut self, page: PageFacts) {
        self.page = page;
    }

    /// This deduper, refusing keys that are not integers.
    pub fn integer(mut self) -> Self {
        self.integer = true;
        self
    }

    /// `batch` without the rows whose key was seen before, and how many were dropped.
    pub fn filter(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, usize)> {
        let Some(column) = batch.column_by_name(&self.key) else {
            if batch.num_rows() == 0 {
                return Ok((batch.clone(), 0));
            }
            let what = format!("{} without a `{}`", rows(batch.num_rows()), self.key);
            return Err(self.bad_key(what, NOT_TAKEN, ""));
        };
        // Logical: a column of only nulls is typed Null, whose `null_count` is 0 (outside
        // trial 20: such keys were called "integers sent as text, in quotes").
        let nulls = column.logical_null_count();
        if nulls > 0 {
            let what = format!("{} with a null or missing `{}`", rows(nulls), self.key);
            return Err(self.bad_key(what, NOT_TAKEN, ""));
        }
        if self.integer && !column.data_type().is_integer() {
            let (kind, first) = odd_keys(column, self.page.key_seen);
            let example = match (&first, kind) {
                (Some(value), KeyKind::Floats) => format!(" (such as {value})"),
                (Some(value), _) => format!(" (the first: {value})"),
                (None, KeyKind::Floats | KeyKind::QuotedIntegers)
                    if self.page.key_seen & bits::INT != 0 =>
                {
                    ", among integers (which ones, the decoded page cannot tell)".to_owned()
                }
                (None, _) => String::new(),
            };
            let negative = first.as_deref().is_some_and(|v| v.starts_with('-'));
            let fix = if kind == KeyKind::WideIntegers && !negative {
                format!(
                    ", or pass schema={{\"{}\": \"uint64\"}} (or \"string\") if its ids \
                     really are that large",
                    self.key
                )
            } else {
                format!(
                    ", or pass schema={{\"{}\": \"string\"}} if its ids really are text",
                    self.key
                )
            };
            return Err(self.bad_key(
                format!(
                    "`{}` values that are {}{example}, not integers as the API documents",
                    self.key,
                    kind.in_words()
                ),
                NOT_TAKEN,
                &fix,
            ));
        }
        let keep: BooleanArray = if column.data_type() == &DataType::UInt64 {
            // Reinterpreted, not cast: a cast would make ids past i64::MAX null, all read as
            // 0, and keep one of them. `as` is one-to-one on u64.
            let ids = column.as_primitive::<UInt64Type>();
            (0..ids.len())
                .map(|i| Some(self.ints.insert(ids.value(i) as i64)))
                .collect()
        } else if column.data_type().is_integer() {
            let ints = cast(column, &DataType::Int64)?;
            let ints = ints.as_primitive::<Int64Type>();
            (0..ints.len())
                .map(|i| Some(self.ints.insert(ints.value(i))))
                .collect()
        } else {
            let texts = cast(column, &DataType::Utf8)?;
            let texts = texts.as_string::<i32>();
            texts
                .iter()
                .map(|t| Some(t.is_some_and(|t| self.texts.insert(t.into()))))
                .collect()
        };
        let dropped = keep.false_count();
        if dropped == 0 {
            return Ok((batch.clone(), 0));
        }
        Ok((filter_record_batch(batch, &keep)?, dropped))
    }

    /// An error if one page's `batches` hold a key twice. A page is one slice of the ordered
    /// listing, so its keys are distinct: rows that move while paging repeat across pages,
    /// never within one. Checked only once a page had repeats (a set of its keys costs a hash
    /// a row).
    pub fn check_page(&self, batches: &[RecordBatch]) -> Result<()> {
        // By text, as the page's keys are one type: an integer's text is canonical.
        let mut seen = HashSet::<String>::new();
        for batch in batches {
            let Some(column) = batch.column_by_name(&self.key) else {
                continue;
            };
            let texts = cast(column, &DataType::Utf8)?;
            for key in texts.as_string::<i32>().iter().flatten() {
                if !seen.insert(key.to_owned()) {
                    return Err(self.bad_key(
                        format!("`{}` {key} more than once", self.key),
                        "a page holding one twice cannot be taken (a page is one slice of the \
                         listing, so its keys are distinct)",
                        "",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The error for rows whose key cannot be trusted.
    #[cold]
    /// `why`: what the rows cannot be, kept once by their key (outside trial 92 F12: a page
    /// repeating a key was told its rows had no usable one).
    fn bad_key(&self, what: String, why: &str, or: &str) -> Error {
        let endpoint = match self.page.number {
            Some(number) => format!("{} page {number}", self.endpoint),
            None => self.endpoint.clone(),
        };
        Error::Decode {
            endpoint,
            message: format!(
                "the page has {what}. {UNKEYED} `{key}`, so {why}: the server broke the API's \
                 contract (report it to Converz){or}",
                key = self.key
            ),
        }
    }
}

/// "1 row", "2 rows".
fn rows(n: usize) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

/// What a non-integer key column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    WideIntegers,
    Booleans,
    Floats,
    Text,
    QuotedIntegers,
    Other,
    /// `objects` or `lists`.
    Nested(&'static str),
    /// Numbers beyond Float64's range or precision (`1e400`), kept as text.
    Huge,
    /// More than one kind besides integers (the page's `infer::bits`): decoded as one type,
    /// the odd values cannot be told apart (outside trial 40 F3: a float beside a quoted id
    /// was called text, and quoted as the first).
    Several(u16),
}

/// The kinds of value (`infer::bits`) a key column can hold besides integers, in words.
const ODD_KINDS: [(u16, &str); 6] = [
    (bits::STR | bits::DATE | bits::TS, "text"),
    (bits::FLOAT, "numbers written as floats"),
    (bits::BOOL, "true/false"),
    (bits::BIGINT, "integers beyond int64"),
    (bits::HUGE | bits::CHANGED, "numbers Float64 cannot hold"),
    (bits::NESTED, "lists or objects"),
];

impl KeyKind {
    fn in_words(self) -> String {
        if let KeyKind::Several(seen) = self {
            let kinds: Vec<&str> = ODD_KINDS
                .iter()
                .filter(|(kind, _)| seen & kind != 0)
                .map(|(_, words)| *words)
                .collect();
            return format!(
                "of several kinds ({}; which ones, the decoded page cannot tell)",
                kinds.join(", ")
            );
        }
        match self {
            KeyKind::Several(_) => unreachable!("handled above"),
            KeyKind::Huge => "numbers Float64 cannot hold",
            KeyKind::WideIntegers => "integers beyond int64",
            KeyKind::QuotedIntegers => "integers sent as text, in quotes",
            KeyKind::Booleans => "true/false",
            KeyKind::Floats => "numbers written as floats",
            KeyKind::Text => "text",
            KeyKind::Other => "values of another kind",
            KeyKind::Nested(kind) => kind,
        }
        .to_owned()
    }
}

/// What a non-integer key column (no nulls, checked before) holds, for its error, and its first
/// value that is no 64-bit integer, as sent, when it can be told (`seen`: the kinds of value the
/// page showed in it, 0 if unknown; see [`PageFacts`]). The column may have fallen back to text
/// for another row's sake, so a text column is described by the value: inference widens a key
/// beyond int64, or mixed with booleans, to text too.
fn odd_keys(column: &ArrayRef, seen: u16) -> (KeyKind, Option<String>) {
    let beside_integers = seen & bits::INT != 0;
    if ODD_KINDS
        .iter()
        .filter(|(kind, _)| seen & kind != 0)
        .count()
        > 1
    {
        return (KeyKind::Several(seen), None);
    }
    if column.data_type().is_floating() {
        // The first value that is not whole, as Float64 prints it. Whole ones hold no trace of
        // how they were written (`2`, `2.0`): on a page of floats only, the first is one; among
        // integers, none can be named.
        let floats = cast(column, &DataType::Float64).ok();
        let values: Vec<f64> = floats
            .as_ref()
            .map(|f| f.as_primitive::<Float64Type>().iter().flatten().collect())
            .unwrap_or_default();
        let odd = values.iter().find(|v| v.fract() != 0.0 || !v.is_finite());
        let first = match odd {
            Some(v) => Some(format!("{v:?}")),
            None if seen != 0 && !beside_integers => values.first().map(|v| format!("{v:?}")),
            None => None,
        };
        return (KeyKind::Floats, first);
    }
    if column.data_type().is_nested() {
        // Objects or lists (outside trial 20b: called "integers sent as text, in quotes").
        let kind = match column.data_type() {
            DataType::Struct(_) => "objects",
            _ => "lists",
        };
        return (KeyKind::Nested(kind), None);
    }
    let texts = cast(column, &DataType::Utf8).ok();
    let texts = texts.as_ref().map(|t| t.as_string::<i32>());
    let odd = texts.and_then(|t| t.iter().flatten().find(|v| v.parse::<i64>().is_err()));
    if odd.is_none() && column.data_type() != &DataType::Boolean {
        // Every value is an integer, sent in quotes (outside trial: the message named an
        // empty "first" value); beside integers sent as numbers, which ones cannot be told.
        let first = texts
            .filter(|_| !beside_integers)
            .and_then(|t| t.iter().flatten().next())
            .map(|v| format!("\"{v}\""));
        return (KeyKind::QuotedIntegers, first);
    }
    let first = odd.map(str::to_owned).unwrap_or_default();
    let digits = first.strip_prefix('-').unwrap_or(&first);
    let kind = match column.data_type() {
        _ if seen & (bits::HUGE | bits::CHANGED) != 0 => KeyKind::Huge,
        DataType::Boolean => KeyKind::Booleans,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                KeyKind::WideIntegers
            } else if first == "true" || first == "false" {
                KeyKind::Booleans
            } else {
                KeyKind::Text
            }
        }
        _ => KeyKind::Other,
    };
    // Text quoted, so that spaces and look-alike numbers show (`" 61"`).
    let first = match kind {
        KeyKind::Text => format!("\"{first}\""),
        _ => first,
    };
    (kind, Some(first))
}

/// The integer keys seen. While they came in ascending order (the usual order of a listing),
/// they are a sorted list: a new key is a comparison with the last one, not a hash-set insert
/// that misses the cache once the set outgrows it. The first key out of order moves them into
/// a hash set.
#[derive(Debug, Default)]
struct IntKeys {
    ascending: Vec<i64>,
    unordered: Option<HashSet<i64, Fast>>,
}

impl IntKeys {
    fn len(&self) -> usize {
        self.unordered
            .as_ref()
            .map_or(self.ascending.len(), HashSet::len)
    }

    /// Records `key`; whether it is new.
    #[inline]
    fn insert(&mut self, key: i64) -> bool {
        if let Some(set) = &mut self.unordered {
            return set.insert(key);
        }
        if self.ascending.last().is_none_or(|&last| last < key) {
            self.ascending.push(key);
            return true;
        }
        if self.ascending.binary_search(&key).is_ok() {
            return false;
        }
        let mut set = HashSet::with_capacity_and_hasher(self.ascending.len() * 2, Fast::default());
        set.extend(std::mem::take(&mut self.ascending));
        set.insert(key);
        self.unordered = Some(set);
        true
    }
}

/// A fast multiplicative hasher: keys are the tenant's own ids, so flooding is not a concern
/// and SipHash's cost is.
type Fast = BuildHasherDefault<FastHasher>;

#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, word: i64) {
        self.write_u64(word as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order (ascending runs, repeats, a first key out of order anywhere), a
        /// key is new exactly when a plain set has not seen it.
        #[test]
        fn int_keys_answer_as_a_set_does(
            runs in prop::collection::vec((-50i64..50, 0usize..30, 1i64..4), 0..8),
        ) {
            let (mut keys, mut model) = (IntKeys::default(), HashSet::new());
            for (start, len, step) in runs {
                for k in (0..len as i64).map(|i| start + i * step) {
                    prop_assert_eq!(keys.insert(k), model.insert(k), "key {}", k);
                }
            }
        }
    }
}
