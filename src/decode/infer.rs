//! Schema inference state: which JSON value kinds each column has shown, and what Arrow type
//! that resolves to.
//!
//! A column records the set of kinds it has seen as bits (`seen`), plus child columns for
//! objects and list items. Merging two observations is a bitwise OR (order-free, so pages can
//! merge in any order), and the Arrow type is a pure function of the merged bits. That makes
//! widening (int then float → Float64), late columns and all-null-then-strings fall out of one
//! rule, and it makes warnings a property of the final state rather than of merge order.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// Bits of [`Col::seen`]: one per JSON value kind the classifier distinguishes.
pub(crate) mod bits {
    pub const NULL: u16 = 1;
    pub const BOOL: u16 = 1 << 1;
    /// An integer that fits `i64`.
    pub const INT: u16 = 1 << 2;
    /// An integer outside `i64`: kept exact as text.
    pub const BIGINT: u16 = 1 << 3;
    pub const FLOAT: u16 = 1 << 4;
    /// A string `YYYY-MM-DD`.
    pub const DATE: u16 = 1 << 5;
    /// A string `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]`, spelled as converz writes a time back
    /// (`classify::dated`).
    pub const TS: u16 = 1 << 6;
    pub const STR: u16 = 1 << 7;
    pub const OBJ: u16 = 1 << 8;
    pub const LIST: u16 = 1 << 9;
    /// Beside `INT`: the integer is beyond ±2^53, so a Float64 column cannot hold it exactly.
    pub const WIDE: u16 = 1 << 10;
    /// A number beyond Float64's range (`1e400`), which it would hold as infinity: kept exact
    /// as text. JSON has no infinity, so infinity is never what was sent.
    pub const HUGE: u16 = 1 << 11;
    /// A number Float64 would hold as another (`forced::float_change`, the rule of `schema=`
    /// and of a push: `9007199254740993.0` as ...992, `1e-400` as 0, `2.4703282292062328e-324`
    /// as 5e-324): kept exact as text, as `HUGE` is (outside trial 18: rounded unsaid).
    pub const CHANGED: u16 = 1 << 12;
    pub const NUMBER: u16 = INT | BIGINT | FLOAT | HUGE | CHANGED;
    pub const TEXT: u16 = DATE | TS | STR;
    pub const NESTED: u16 = OBJ | LIST;
}

/// What one column (or one nested field, or the items of a list) has shown so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Col {
    /// A set of [`bits`].
    pub seen: u16,
    /// Fields of the objects seen in this column.
    pub fields: Option<Box<Fields>>,
    /// The items of the lists seen in this column.
    pub item: Option<Box<Col>>,
    /// A number seen that Float64 would not keep (`HUGE` or `CHANGED`), as sent, for the
    /// warning: the shortest, then the first in byte order, so that it does not depend on the
    /// order pages merge in.
    pub changed: Option<Box<str>>,
}

/// Named columns in first-appearance order, with a name index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    pub names: Vec<Box<str>>,
    pub cols: Vec<Col>,
    index: HashMap<Box<str>, usize>,
    /// Per column, the last object (`Classifier::objects`) whose keys named it: a key named
    /// twice in one object is found with one comparison a key.
    pub(crate) named_in: Vec<u64>,
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        // The index is derived from `names`.
        self.names == other.names && self.cols == other.cols
    }
}

/// The resolved type of a column, before overrides and before mapping to Arrow.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Int,
    /// Integers, some beyond `i64`: Utf8 holding the exact digits.
    BigInt,
    Float,
    Date,
    Timestamp,
    Str,
    /// Nested values that do not agree on a shape: Utf8 holding JSON text.
    Json,
    Struct(Vec<(Box<str>, Kind)>),
    List(Box<Kind>),
}

impl Fields {
    /// Position of `name`, inserting an empty column at the end when it is new.
    pub fn position_or_insert(&mut self, name: &str) -> (usize, bool) {
        if let Some(&i) = self.index.get(name) {
            return (i, false);
        }
        let i = self.names.len();
        self.names.push(name.into());
        self.cols.push(Col::default());
        self.index.insert(name.into(), i);
        (i, true)
    }

    /// Position of `name`, if known.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Merges `other` into `self`; new names are appended in `other`'s order.
    pub fn merge(&mut self, other: &Fields) {
        for (name, col) in other.names.iter().zip(&other.cols) {
            let (i, _) = self.position_or_insert(name);
            self.cols[i].merge(col);
        }
    }

    /// The resolved kind of every column, in order.
    pub fn kinds(&self) -> Vec<Kind> {
        self.cols.iter().map(Col::kind).collect()
    }
}

impl Col {
    /// Merges what `other` saw into `self`.
    pub fn merge(&mut self, other: &Col) {
        self.seen |= other.seen;
        if let Some(number) = &other.changed {
            self.note_changed(number);
        }
        if let Some(f) = &other.fields {
            self.fields.get_or_insert_with(Default::default).merge(f);
        }
        if let Some(item) = &other.item {
            self.item.get_or_insert_with(Default::default).merge(item);
        }
    }

    /// Notes a number Float64 would not keep (see [`Col::changed`]).
    #[cold]
    pub fn note_changed(&mut self, number: &str) {
        let first = |a: &str, b: &str| (a.len(), a) < (b.len(), b);
        if self
            .changed
            .as_deref()
            .is_none_or(|seen| first(number, seen))
        {
            self.changed = Some(number.into());
        }
    }

    /// The number noted by [`Col::note_changed`] and what Float64 would make of it, for a
    /// warning: ` (9007199254740993.0 would be held as 9007199254740992)`.
    fn changed_example(&self) -> String {
        let Some(number) = self.changed.as_deref() else {
            return String::new();
        };
        let held = super::forced::float_change(number, false).map(|c| c.held_as());
        format!(" ({number} {})", held.unwrap_or_default())
    }

    /// True if this column, anywhere inside, holds values that disagree on a shape.
    fn is_json(&self) -> bool {
        let nested = self.seen & bits::NESTED;
        let scalar = self.seen & !(bits::NESTED | bits::NULL);
        if nested != 0 && (scalar != 0 || nested == bits::NESTED) {
            return true;
        }
        let fields_json = self
            .fields
            .as_ref()
            .is_some_and(|f| f.cols.iter().any(Col::is_json));
        fields_json || self.item.as_ref().is_some_and(|i| i.is_json())
    }

    /// The type these observations resolve to.
    pub fn kind(&self) -> Kind {
        // A shape conflict anywhere makes the whole top-level value JSON text, so that a
        // rewrite only ever has to quote top-level values.
        if self.is_json() {
            return Kind::Json;
        }
        if self.seen & bits::OBJ != 0 {
            let fields = self.fields.as_deref().cloned().unwrap_or_default();
            let kinds = fields
                .names
                .into_iter()
                .zip(fields.cols.iter().map(Col::kind));
            return Kind::Struct(kinds.collect());
        }
        if self.seen & bits::LIST != 0 {
            let item = self.item.as_deref().map_or(Kind::Null, Col::kind);
            return Kind::List(Box::new(item));
        }
        scalar_kind(self.seen & !(bits::NULL | bits::WIDE))
    }

    /// Why this column's values may not be what was sent (decoded as text, or rounded by
    /// Float64), if so; for warnings. `respelled` says what pages decoded as Float64 before
    /// the column became text did to their numbers.
    pub fn conflict(&self, respelled: Respelled) -> Option<String> {
        if self.is_json() {
            // Outside trial 39 F1: a page of objects only decodes them as one object type, and
            // its objects are printed from it, so a key only other objects had shows as null.
            return Some(
                "mixes nested and other values; kept as JSON text (a page whose values were all \
                 objects or lists prints them from their common type: a key only other objects \
                 on it had is null; \"string\" in schema= keeps every value as sent)"
                    .into(),
            );
        }
        if let Some(why) = self.nested_conflict() {
            return Some(why);
        }
        let s = self.seen & !(bits::NULL | bits::NESTED | bits::WIDE);
        let groups = [bits::BOOL, bits::NUMBER, bits::TEXT]
            .iter()
            .filter(|g| s & **g != 0)
            .count();
        // Dates or timestamps beside other strings: one bad date (`2025-02-30`, a `Z` suffix)
        // turns the whole column to text, which must not pass unsaid; so do dates beside times.
        let dated = s & (bits::DATE | bits::TS);
        let dates_and_text = (dated != 0 && s & bits::STR != 0) || dated == bits::DATE | bits::TS;
        let kept_as_text = bits::BIGINT | bits::HUGE | bits::CHANGED;
        let exact_and_float = s & kept_as_text != 0 && s & bits::FLOAT != 0;
        if groups > 1 || exact_and_float || dates_and_text {
            return Some(format!(
                "mixes {}{}; decoded as strings{}",
                kind_names(s),
                self.changed_example(),
                respelled.note()
            ));
        }
        // Not a disagreement, but a column of numbers that arrives as text must not pass
        // unsaid either.
        if s & bits::BIGINT != 0 {
            // Found by the outside trial: such a column pushed back goes out as text, and
            // nothing said that `uint64` keeps it as numbers.
            return Some(
                "holds integers beyond int64; decoded as strings to keep them exact (pushed back, \
                 they are sent as text): give the column as \"uint64\" in schema= to \
                 keep them as numbers, if none is negative or past 18446744073709551615 (2^64 \
                 - 1, which no integer type holds)"
                    .into(),
            );
        }
        // The rule of `schema=` and of a push (`forced::float_change`): a number Float64 would
        // hold as another is kept as sent, as text, and said so. Text rather than a refusal:
        // nothing was asked of the column, and the caller loses no value; `schema=` with
        // `float64` refuses them, with `string` keeps them without a word.
        if s & bits::HUGE != 0 && s & bits::CHANGED == 0 {
            return Some(format!(
                "holds numbers beyond Float64's range (which it would hold as infinity){}; \
                 decoded as strings to keep them exact",
                self.changed_example()
            ));
        }
        if s & bits::CHANGED != 0 {
            return Some(format!(
                "holds numbers Float64 would not hold as written{}; decoded as strings to keep \
                 them exact",
                self.changed_example()
            ));
        }
        if self.seen & bits::WIDE != 0 && scalar_kind(s) == Kind::Float {
            return Some(
                "mixes floats with integers beyond 2^53, which Float64 rounds; give it as \
                 \"str\" in schema= to keep them exact"
                    .into(),
            );
        }
        None
    }

    /// The first conflict inside an object's fields or a list's items (outside trial: a nested
    /// field mixing numbers and strings became text unsaid).
    fn nested_conflict(&self) -> Option<String> {
        let in_fields = self.fields.as_deref().and_then(|fields| {
            fields
                .names
                .iter()
                .zip(&fields.cols)
                .find_map(|(name, col)| {
                    col.conflict(Respelled::NO)
                        .map(|why| format!("field `{name}` {why}"))
                })
        });
        in_fields.or_else(|| {
            self.item.as_deref().and_then(|item| {
                item.conflict(Respelled::NO)
                    .map(|why| format!("(its list items) {why}"))
            })
        })
    }
}

fn scalar_kind(s: u16) -> Kind {
    use bits::*;
    match s {
        0 => Kind::Null,
        BOOL => Kind::Bool,
        INT => Kind::Int,
        _ if s & !(INT | FLOAT) == 0 => Kind::Float,
        _ if s & !(INT | BIGINT | HUGE | CHANGED) == 0 => Kind::BigInt,
        DATE => Kind::Date,
        // Dates beside times are text, not times: a Timestamp would hold `2025-01-01` as
        // midnight and write it back as `2025-01-01 00:00:00`, which a push then sends, changing
        // the value (outside trial 17 F6). As text, both are kept as sent.
        TS => Kind::Timestamp,
        _ => Kind::Str,
    }
}

fn kind_names(s: u16) -> String {
    let names = [
        (bits::BOOL, "booleans"),
        (bits::INT, "integers"),
        (bits::BIGINT, "integers beyond int64"),
        (bits::FLOAT, "floats"),
        (bits::HUGE, "numbers beyond Float64's range"),
        (bits::CHANGED, "numbers Float64 would not hold as written"),
        (bits::DATE, "dates"),
        (bits::TS, "timestamps"),
        (bits::STR, "strings"),
    ];
    let present: Vec<&str> = names
        .iter()
        .filter(|(b, _)| s & b != 0)
        .map(|(_, n)| *n)
        .collect();
    present.join(", ")
}

impl Kind {
    /// The Arrow type a column of this kind decodes to.
    pub fn data_type(&self) -> DataType {
        match self {
            Kind::Null => DataType::Null,
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::BigInt | Kind::Str | Kind::Json => DataType::Utf8,
            Kind::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(n, k)| Field::new(n.as_ref(), k.data_type(), true))
                    .collect(),
            ),
            Kind::List(item) => DataType::new_list(item.data_type(), true),
        }
    }
}

/// Column state that resolves to `hint`'s types, as if one row had shown a value of each
/// (a `Null` column: only nulls); `None` if the hint is empty or names a type inference never
/// gives a primitive column (the fast path decodes primitive columns only).
pub(crate) fn hint_fields(hint: &[(String, DataType)]) -> Option<Fields> {
    let mut fields = Fields::default();
    for (name, data_type) in hint {
        let seen = match data_type {
            DataType::Null => bits::NULL,
            DataType::Boolean => bits::BOOL,
            DataType::Int64 => bits::INT,
            DataType::Float64 => bits::FLOAT,
            DataType::Date32 => bits::DATE,
            DataType::Timestamp(TimeUnit::Microsecond, None) => bits::TS,
            DataType::Utf8 => bits::STR,
            _ => return None,
        };
        let (i, new) = fields.position_or_insert(name);
        if !new {
            return None; // a name twice: not a row the API sends
        }
        fields.cols[i].seen = seen;
    }
    (!fields.is_empty()).then_some(fields)
}

/// The Arrow schema for `fields`, with user overrides winning over inference.
pub(crate) fn schema_of(fields: &Fields, overrides: &[(String, DataType)]) -> Arc<Schema> {
    let columns: Vec<Field> = fields
        .names
        .iter()
        .zip(&fields.cols)
        .map(|(name, col)| {
            let forced = overrides.iter().find(|(n, _)| **n == **name);
            let data_type = forced.map_or_else(|| col.kind().data_type(), |(_, t)| t.clone());
            Field::new(name.as_ref(), data_type, true)
        })
        .collect();
    Arc::new(Schema::new(columns))
}

/// The Arrow schema a page's batches are handed on with: [`schema_of`] the page's own
/// columns, except that a column of floats holding integers beyond ±2^53 is Utf8 with the
/// numbers as sent. Why: the values of a fetch must depend on the pages' contents only, never
/// on which page finished decoding first, so each page is kept at the types its own values
/// give and cast once to the fetch's types at the end; and a Float64 page would round those
/// integers before the end could know whether the column stays Float64 (then the cast from
/// text rounds them alike, with the column's warning) or ends as text (then they stay exact).
pub(crate) fn held_schema(fields: &Fields, overrides: &[(String, DataType)]) -> Arc<Schema> {
    let schema = schema_of(fields, overrides);
    let literal = |i: usize| {
        let col = &fields.cols[i];
        let forced = overrides.iter().any(|(n, _)| **n == *fields.names[i]);
        !forced && col.seen & bits::WIDE != 0 && col.kind() == Kind::Float
    };
    if !(0..fields.cols.len()).any(literal) {
        return schema;
    }
    let columns: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match literal(i) {
            true => f.as_ref().clone().with_data_type(DataType::Utf8),
            false => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(columns))
}

/// Warnings for every column whose values disagree, in column order.
/// One warning per column of `fields` whose values may not be what was sent (not counting
/// columns the user typed); `respelled` says, for a column, what decoding it as Float64 on
/// some page did to its numbers before it became text.
pub(crate) fn warnings_of(
    fields: &Fields,
    overrides: &[(String, DataType)],
    respelled: impl Fn(&str) -> Respelled,
) -> Vec<String> {
    fields
        .names
        .iter()
        .zip(&fields.cols)
        .filter(|(name, _)| !overrides.iter().any(|(n, _)| **n == ***name))
        .filter_map(|(name, col)| {
            col.conflict(respelled(name))
                .map(|why| format!("column `{name}` {why}"))
        })
        .collect()
}

/// What became of the values of a column that turned to text, on the pages decoded as Float64
/// (in a fetch, the pages whose own values are floats; in a stream, the pages handed out while
/// the column was so): those hold doubles, not the literals the server sent, so they come back
/// as arrow prints them. Pages decoded as integers or already as text keep their literals, so a
/// fetch whose pages all were says nothing (outside trial 14: the note was given whenever floats
/// were seen, though no page held them as such). Pages decoded as dates or timestamps need no
/// note: only spellings that print back as they came are decoded so (`classify::dated`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Respelled {
    pub floats: Floats,
}

/// Numbers on pages decoded as Float64 (outside trial: 123456789012345678 read back as
/// "1.2345678901234568e17").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Floats {
    /// No page decoded the column as Float64 (or the column did not become text).
    #[default]
    No,
    /// Some page did: its numbers are Float64's spelling.
    Float,
    /// Some page did, and held integers beyond 2^53: those were rounded.
    Rounded,
}

impl Respelled {
    /// Nothing respelled.
    pub const NO: Self = Self { floats: Floats::No };

    /// What either did.
    pub fn max(self, other: Self) -> Self {
        Self {
            floats: self.floats.max(other.floats),
        }
    }

    /// The warning's tail (`; …: give the column as "str" …`), empty when nothing was.
    pub fn note(self) -> String {
        let mut parts = Vec::new();
        match self.floats {
            Floats::No => {}
            Floats::Float => parts.push(
                "numbers on pages decoded as Float64 are \
                 written as Float64 prints them (101 as \"101.0\")",
            ),
            Floats::Rounded => parts.push(
                "numbers on pages decoded as Float64 are written as Float64 prints them (101 as \
                 \"101.0\"), and integers beyond 2^53 among them were rounded",
            ),
        }
        if parts.is_empty() {
            return String::new();
        }
        format!(
            "; {}: give the column as \"str\" in schema= to keep every value as sent",
            parts.join("; ")
        )
    }
}
