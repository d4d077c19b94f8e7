//! Parsing a POST body in one pass, straight into typed columns: serde visitors walk the JSON
//! and each cell becomes a [`Cell`] as it is read, checked against its column's type, and each
//! column is packed ([`Packed`]) once read. No `serde_json::Value` tree is built. This is the
//! reference parser: the fast path ([`super::post_fast`]) takes the usual bodies.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::cell::Cell;
use super::packed::Packed;
use super::query::ApiError;
use super::update::{column_type, too_many_rows, ColumnType, Target, MAX_ROWS};

/// Visitor methods refusing every scalar with the visitor's own `refuse()` error.
macro_rules! refuse_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.refuse())
        }
    };
}

/// The most columns one body may name: a row-wise body pads every column for every row, so
/// this bounds its memory (1,000 × 100,000 cells).
pub const MAX_COLUMNS: usize = 1_000;

/// A body as columns: the keys, then each column's values in key order.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    pub keys: Option<Packed>,
    pub columns: Vec<(String, Packed)>,
    /// The body was an array of rows: what its nulls mean follows ([`super::update::Nulls`]).
    pub row_wise: bool,
}

/// Parse state shared by the visitors: which table, and the API error a visitor stopped for
/// (serde's own errors carry only text).
struct Context {
    target: Target,
    failure: RefCell<Option<ApiError>>,
}

impl Context {
    fn fail<E: de::Error>(&self, error: ApiError) -> E {
        let message = error.message.clone();
        *self.failure.borrow_mut() = Some(error);
        E::custom(message)
    }

    /// `cell` as column `kind` stores it, or the error.
    fn admit<E: de::Error>(&self, name: &str, kind: ColumnType, cell: Cell) -> Result<Cell, E> {
        kind.admit(cell).map_err(|cell| {
            self.fail(ApiError::body(format!(
                "column `{name}` takes {} or null, got {cell}",
                kind.name()
            )))
        })
    }
}

/// Parses either body shape of `target`.
pub fn parse(body: &[u8], target: Target) -> Result<Parsed, ApiError> {
    // The usual body (columnar, plain values) takes the fast path; this one decides the rest.
    match super::post_fast::parse(body, target) {
        Some(parsed) => Ok(parsed),
        None => parse_reference(body, target),
    }
}

/// Parses either body shape of `target` with serde's visitors: every body the fast path
/// leaves, and the reference it is tested against.
pub fn parse_reference(body: &[u8], target: Target) -> Result<Parsed, ApiError> {
    let context = Context {
        target,
        failure: RefCell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = deserializer
        .deserialize_any(BodyVisitor(&context))
        .and_then(|parsed| deserializer.end().map(|()| parsed));
    parsed.map_err(|e| {
        context
            .failure
            .take()
            .unwrap_or_else(|| ApiError::body(format!("malformed JSON: {e}")))
    })
}

struct BodyVisitor<'a>(&'a Context);

impl<'de> Visitor<'de> for BodyVisitor<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (columnar) or array (row-wise)")
    }

    refuse_scalars!();

    /// Columnar: `{"call_id":[..],"campaign":[..]}`.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let context = self.0;
        let key = context.target.key();
        let mut parsed = Parsed {
            keys: None,
            columns: Vec::new(),
            row_wise: false,
        };
        while let Some(name) = map.next_key::<String>()? {
            // The key column is checked after the parse, so a missing key outranks its type.
            let kind = if name == key {
                ColumnType::Any
            } else {
                column_type(context.target, &name)
            };
            let values = Packed::from_cells(map.next_value_seed(ColumnSeed {
                context,
                name: &name,
                kind,
            })?);
            if name == key {
                parsed.keys = Some(values);
            } else if let Some(slot) = parsed.columns.iter_mut().find(|(n, _)| *n == name) {
                slot.1 = values; // a repeated name: the last one wins, as in a JSON object
            } else if parsed.columns.len() == MAX_COLUMNS {
                return Err(context.fail(too_many_columns()));
            } else {
                parsed.columns.push((name, values));
            }
        }
        Ok(parsed)
    }

    /// Row-wise: `[{"call_id":1,"campaign":"A"}, ...]`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        let mut rows = RowWise {
            context: self.0,
            keys: Vec::new(),
            columns: Vec::new(),
            index: HashMap::new(),
        };
        while seq.next_element_seed(&mut rows)?.is_some() {
            if rows.keys.len() > MAX_ROWS {
                return Err(self.0.fail(too_many_rows(rows.keys.len())));
            }
        }
        Ok(Parsed {
            keys: Some(Packed::from_cells(rows.keys)),
            columns: (rows.columns.into_iter())
                .map(|(name, cells)| (name, Packed::from_cells(cells)))
                .collect(),
            row_wise: true,
        })
    }
}

impl BodyVisitor<'_> {
    fn refuse<E: de::Error>(&self) -> E {
        self.0.fail(ApiError::body(
            "the body must be a JSON object (columnar) or array (row-wise)",
        ))
    }
}

fn too_many_columns() -> ApiError {
    ApiError::body(format!("more than {MAX_COLUMNS} columns in one request"))
}

/// One column of a columnar body: an array of cells of the column's type.
struct ColumnSeed<'a> {
    context: &'a Context,
    name: &'a str,
    kind: ColumnType,
}

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_> {
    type Value = Vec<Cell>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Cell>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_> {
    type Value = Vec<Cell>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    refuse_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Cell>, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_ROWS));
        while let Some(cell) = seq.next_element::<Cell>()? {
            if values.len() == MAX_ROWS {
                return Err(self.context.fail(too_many_rows(MAX_ROWS + 1)));
            }
            values.push(self.context.admit(self.name, self.kind, cell)?);
        }
        Ok(values)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<Cell>, A::Error> {
        Err(self.refuse())
    }
}

impl ColumnSeed<'_> {
    fn refuse<E: de::Error>(&self) -> E {
        self.context.fail(ApiError::body(format!(
            "column `{}` is not an array (a columnar body maps every column to an array)",
            self.name
        )))
    }
}

/// The rows of a row-wise body so far, as columns.
struct RowWise<'a> {
    context: &'a Context,
    keys: Vec<Cell>,
    columns: Vec<(String, Vec<Cell>)>,
    index: HashMap<String, usize>,
}

impl<'de> DeserializeSeed<'de> for &mut RowWise<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut RowWise<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    refuse_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.refuse())
    }

    /// One row: its cells go to their columns; columns it lacks get a null (which clears).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let row = self.keys.len();
        let key = self.context.target.key();
        while let Some(name) = map.next_key::<String>()? {
            let cell = map.next_value::<Cell>()?;
            let values = if name == key {
                &mut self.keys
            } else {
                let column = match self.index.get(&name) {
                    Some(&column) => column,
                    None => self.add_column(name.clone(), row)?,
                };
                let kind = column_type(self.context.target, &name);
                let cell = self.context.admit(&name, kind, cell)?;
                let values = &mut self.columns[column].1;
                set(values, row, cell);
                continue;
            };
            set(values, row, cell);
        }
        if self.keys.len() == row {
            self.keys.push(Cell::Null);
        }
        for (_, values) in &mut self.columns {
            if values.len() == row {
                values.push(Cell::Null);
            }
        }
        Ok(())
    }
}

/// Sets the cell of `row`: the last one when a row names a column twice.
fn set(values: &mut Vec<Cell>, row: usize, cell: Cell) {
    if values.len() > row {
        values[row] = cell;
    } else {
        values.push(cell);
    }
}

impl RowWise<'_> {
    /// A column first seen at `row`: the rows before lacked it, so they get nulls.
    fn add_column<E: de::Error>(&mut self, name: String, row: usize) -> Result<usize, E> {
        if self.columns.len() == MAX_COLUMNS {
            return Err(self.context.fail(too_many_columns()));
        }
        self.index.insert(name.clone(), self.columns.len());
        self.columns.push((name, vec![Cell::Null; row]));
        Ok(self.columns.len() - 1)
    }

    fn refuse<E: de::Error>(&self) -> E {
        self.context
            .fail(ApiError::body("a row-wise body is an array of objects"))
    }
}
