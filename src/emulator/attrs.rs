//! The values POSTs set on one table's rows, stored a column per attribute (in the order the
//! attributes were first set), each a byte of tag per row plus, once a value needs one, eight
//! bytes of payload per row. Text is kept once per distinct value in the column's dictionary and
//! rows hold its code.
//!
//! Why columnar: a per-row list of `(name, value)` pairs cost a heap allocation and ~220 bytes
//! of fresh memory per row on the first push to it (~260 MB with its changed-row slot for a
//! 1M × 5 push), and touching fresh memory (page faults) was most of a first push's cost. Here
//! the bench's five columns take ~37 bytes a row, allocated once per column, and setting a
//! value is a store into two arrays: the first push costs what later ones do.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use super::cell::Cell;
use super::packed::tag::{ABSENT, FALSE, FLOAT, INT, NESTED, NULL, TEXT, TRUE, UINT};
use super::packed::Packed;
use super::update::Nulls;
use crate::json_write::push_string;

/// Dictionary entries a column may hold before the ones no row uses any more are dropped,
/// whatever its length (with more rows: twice the rows).
const MIN_POOL: usize = 4_096;

/// One table's attributes.
#[derive(Default)]
pub struct Attributes {
    columns: Vec<Column>,
    /// Rows of the table.
    rows: usize,
}

/// One attribute: its name and every row's value.
struct Column {
    name: Arc<str>,
    tags: Vec<u8>,
    /// Empty until a value with a payload is set.
    payload: Vec<u64>,
    texts: Vec<Arc<str>>,
    /// Each text's code.
    codes: HashMap<Arc<str>, u32, RandomState>,
    nested: Vec<Cell>,
}

/// A stored value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
    Nested(&'a Cell),
}

impl<'a> Value<'a> {
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_f64(self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Appends the value as JSON, exactly as [`Cell::write`] writes the cell it was set from.
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            Value::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
            Value::Float(f) => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
            }
            Value::Text(text) => push_string(out, text),
            Value::Nested(cell) => cell.write(out),
        }
    }

    /// The value as a cell.
    #[cfg(test)]
    pub fn to_cell(self) -> Cell {
        match self {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Int(i) => Cell::Number(i.into()),
            Value::UInt(u) => Cell::Number(u.into()),
            Value::Float(f) => serde_json::Number::from_f64(f).map_or(Cell::Null, Cell::Number),
            Value::Text(text) => Cell::Text(text.into()),
            Value::Nested(cell) => cell.clone(),
        }
    }
}

/// The attributes of one row.
#[derive(Clone, Copy)]
pub struct Extra<'a> {
    attributes: &'a Attributes,
    row: usize,
}

impl<'a> Extra<'a> {
    /// No attributes (a row of a table no POST touched, or rendered before any).
    pub fn none() -> Extra<'static> {
        static EMPTY: Attributes = Attributes {
            columns: Vec::new(),
            rows: 0,
        };
        Extra {
            attributes: &EMPTY,
            row: 0,
        }
    }

    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        let column = self.attributes.columns.iter().find(|c| &*c.name == name)?;
        column.get(self.row)
    }

    /// The row's attributes, in the order the table's attributes were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Value<'a>)> + 'a {
        let row = self.row;
        self.attributes
            .columns
            .iter()
            .filter_map(move |c| Some((&*c.name, c.get(row)?)))
    }
}

impl Attributes {
    /// No attributes on `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self {
            columns: Vec::new(),
            rows,
        }
    }

    /// Row `row`'s attributes.
    pub fn row(&self, row: usize) -> Extra<'_> {
        Extra {
            attributes: self,
            row,
        }
    }

    /// The column of `name`, added (no row has it yet) when there is none.
    pub fn column(&mut self, name: &str) -> usize {
        if let Some(at) = self.columns.iter().position(|c| &*c.name == name) {
            return at;
        }
        self.columns.push(Column {
            name: Arc::from(name),
            // Zeroed memory is ABSENT; the pages are touched only where rows are set.
            tags: vec![ABSENT; self.rows],
            payload: Vec::new(),
            texts: Vec::new(),
            codes: HashMap::default(),
            nested: Vec::new(),
        });
        self.columns.len() - 1
    }

    /// Column `column`'s name.
    pub fn name(&self, column: usize) -> &Arc<str> {
        &self.columns[column].name
    }

    /// Sets `cell` on row `row` of column `column` (from [`Self::column`]).
    #[cfg(test)]
    pub fn set(&mut self, column: usize, row: usize, cell: Cell) {
        let mut touched = [false];
        let row = u32::try_from(row).expect("a test row");
        self.set_column(
            column,
            &[row],
            Packed::from_cells(vec![cell]),
            Nulls::Clear,
            &mut touched,
        );
    }

    /// Sets a body's column `values` on column `column` (from [`Self::column`]): value `i` on
    /// row `rows[i]` where [`Nulls::sets`] says so; `touched[i]` is set for every value set.
    /// Each distinct text of the body is looked up in the column's dictionary once.
    pub fn set_column(
        &mut self,
        column: usize,
        rows: &[u32],
        mut values: Packed,
        nulls: Nulls,
        touched: &mut [bool],
    ) {
        let column = &mut self.columns[column];
        if values.has_payload() && column.payload.is_empty() {
            column.payload = vec![0; column.tags.len()];
        }
        // The column's code of each body text, found on first use.
        let mut codes: Vec<u32> = Vec::new();
        for (at, &row) in rows.iter().enumerate() {
            let tag = values.tags()[at];
            if !nulls.sets(row, tag) {
                continue;
            }
            let row = row as usize;
            touched[at] = true;
            column.tags[row] = tag;
            let payload = match tag {
                INT | UINT | FLOAT => values.payload(at),
                TEXT => {
                    let local = values.payload(at) as usize;
                    if codes.len() <= local {
                        codes.resize(local + 1, u32::MAX);
                    }
                    if codes[local] == u32::MAX {
                        codes[local] = column.code(Arc::clone(values.text(local as u64)));
                    }
                    u64::from(codes[local])
                }
                NESTED => {
                    column.nested.push(values.take_nested(values.payload(at)));
                    (column.nested.len() - 1) as u64
                }
                _ => continue,
            };
            column.payload[row] = payload;
        }
    }

    /// A new row at `row` (later rows move up by one), without attributes.
    pub fn insert_row(&mut self, row: usize) {
        self.rows += 1;
        for column in &mut self.columns {
            column.tags.insert(row, ABSENT);
            if !column.payload.is_empty() {
                column.payload.insert(row, 0);
            }
        }
    }

    /// Drops the texts and nested values no row holds any more, in columns whose dictionaries
    /// outgrew their rows (values replaced push after push).
    pub fn collect_garbage(&mut self) {
        let limit = MIN_POOL.max(2 * self.rows);
        for column in &mut self.columns {
            if column.texts.len() > limit || column.nested.len() > limit {
                column.compact();
            }
        }
    }
}

impl Column {
    fn get(&self, row: usize) -> Option<Value<'_>> {
        let payload = || self.payload[row];
        Some(match self.tags[row] {
            ABSENT => return None,
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(payload() as i64),
            UINT => Value::UInt(payload()),
            FLOAT => Value::Float(f64::from_bits(payload())),
            TEXT => Value::Text(&self.texts[payload() as usize]),
            _ => Value::Nested(&self.nested[payload() as usize]),
        })
    }

    /// `text`'s code, added to the dictionary when new.
    fn code(&mut self, text: Arc<str>) -> u32 {
        if let Some(&code) = self.codes.get(&text) {
            return code;
        }
        let code = u32::try_from(self.texts.len()).expect("fewer than 2^32 texts per column");
        self.texts.push(Arc::clone(&text));
        self.codes.insert(text, code);
        code
    }

    /// Rebuilds the dictionaries from the rows that use them.
    fn compact(&mut self) {
        let (texts, nested) = (
            std::mem::take(&mut self.texts),
            std::mem::take(&mut self.nested),
        );
        self.codes.clear();
        let mut moved: Vec<Option<u64>> = vec![None; nested.len()];
        for row in 0..self.tags.len() {
            match self.tags[row] {
                TEXT => {
                    let text = Arc::clone(&texts[self.payload[row] as usize]);
                    self.payload[row] = u64::from(self.code(text));
                }
                NESTED => {
                    let old = self.payload[row] as usize;
                    let new = *moved[old].get_or_insert_with(|| {
                        self.nested.push(nested[old].clone());
                        (self.nested.len() - 1) as u64
                    });
                    self.payload[row] = new;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Cell {
        Cell::Text(value.into())
    }

    #[test]
    fn values_read_back_as_set_and_unset_rows_have_none() {
        let mut attributes = Attributes::new(4);
        let label = attributes.column("label");
        let score = attributes.column("score");
        assert_eq!(attributes.column("label"), label);
        attributes.set(label, 0, text("a\"b"));
        attributes.set(label, 2, Cell::Null);
        attributes.set(
            score,
            0,
            Cell::Number(serde_json::Number::from_f64(3.0).unwrap()),
        );
        attributes.set(score, 1, Cell::Number(u64::MAX.into()));
        attributes.set(score, 3, Cell::Number((-5i64).into()));
        let nested = Cell::Nested(Box::new(serde_json::json!([1, "x"])));
        attributes.set(score, 2, nested.clone());
        let row = |r: usize| -> Vec<(String, String)> {
            attributes
                .row(r)
                .iter()
                .map(|(name, value)| {
                    let mut out = Vec::new();
                    value.write(&mut out);
                    (name.to_owned(), String::from_utf8(out).unwrap())
                })
                .collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
        };
        assert_eq!(row(0), pairs(&[("label", r#""a\"b""#), ("score", "3.0")]));
        assert_eq!(row(1), pairs(&[("score", "18446744073709551615")]));
        assert_eq!(row(2), pairs(&[("label", "null"), ("score", r#"[1,"x"]"#)]));
        assert_eq!(row(3), pairs(&[("score", "-5")]));
        assert_eq!(attributes.row(1).get("label"), None);
        assert_eq!(
            attributes.row(2).get("score").map(Value::to_cell),
            Some(nested)
        );
        assert_eq!(
            attributes.row(3).get("score").and_then(Value::as_f64),
            Some(-5.0)
        );
    }

    #[test]
    fn an_inserted_row_has_no_attributes_and_later_rows_keep_theirs() {
        let mut attributes = Attributes::new(3);
        let label = attributes.column("label");
        let flag = attributes.column("flag");
        for row in 0..3 {
            attributes.set(label, row, text(&format!("r{row}")));
        }
        attributes.set(flag, 2, Cell::Bool(true));
        attributes.insert_row(1);
        let label_of = |a: &Attributes, r: usize| {
            a.row(r)
                .get("label")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        assert_eq!(label_of(&attributes, 0).as_deref(), Some("r0"));
        assert_eq!(attributes.row(1).iter().count(), 0);
        assert_eq!(label_of(&attributes, 2).as_deref(), Some("r1"));
        assert_eq!(label_of(&attributes, 3).as_deref(), Some("r2"));
        assert_eq!(attributes.row(3).get("flag"), Some(Value::Bool(true)));
        attributes.set(label, 1, text("new"));
        assert_eq!(label_of(&attributes, 1).as_deref(), Some("new"));
    }

    #[test]
    fn replaced_texts_and_nested_values_are_collected_and_rows_keep_theirs() {
        let mut attributes = Attributes::new(3);
        let column = attributes.column("note");
        attributes.set(column, 0, text("kept"));
        attributes.set(
            column,
            2,
            Cell::Nested(Box::new(serde_json::json!({"k": 1}))),
        );
        for i in 0..3 * MIN_POOL {
            attributes.set(column, 1, text(&format!("value {i}")));
            attributes.set(column, 1, Cell::Nested(Box::new(serde_json::json!([i]))));
            attributes.set(column, 1, text(&format!("value {i}")));
            attributes.collect_garbage();
            let pools = &attributes.columns[column];
            assert!(pools.texts.len() <= MIN_POOL + 1 && pools.nested.len() <= MIN_POOL + 1);
        }
        let last = format!("value {}", 3 * MIN_POOL - 1);
        let note = |r: usize| attributes.row(r).get("note").map(Value::to_cell);
        assert_eq!(note(0), Some(text("kept")));
        assert_eq!(note(1), Some(text(&last)));
        assert_eq!(
            note(2),
            Some(Cell::Nested(Box::new(serde_json::json!({"k": 1}))))
        );
        // The dictionary still finds the texts it kept: setting one again adds nothing.
        let before = attributes.columns[column].texts.len();
        attributes.set(column, 2, text("kept"));
        assert_eq!(attributes.columns[column].texts.len(), before);
    }
}
