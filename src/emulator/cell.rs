//! One value a POST set: parsed straight from the body by serde's visitor (no
//! `serde_json::Value` per cell), kept in 24 bytes, and written back as the JSON it came as.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::json_write::push_string;

/// A JSON value as POSTs store it. Nested arrays and objects are rare and stay boxed `Value`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Number(Number),
    /// Shared: a column's repeated values (labels, dates) point at one copy.
    Text(Arc<str>),
    Nested(Box<Value>),
}

impl Cell {
    /// Appends the value as JSON, exactly as `serde_json` writes it.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Cell::Null => out.extend_from_slice(b"null"),
            Cell::Bool(true) => out.extend_from_slice(b"true"),
            Cell::Bool(false) => out.extend_from_slice(b"false"),
            Cell::Number(n) => {
                if let Some(i) = n.as_i64() {
                    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                } else if let Some(u) = n.as_u64() {
                    out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
                } else if let Some(f) = n.as_f64() {
                    out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
                }
            }
            Cell::Text(text) => push_string(out, text),
            Cell::Nested(value) => {
                let _ = serde_json::to_writer(&mut *out, value);
            }
        }
    }

    /// The value as a `serde_json::Value` (for small answers such as `not_found`).
    pub fn to_value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Number(n) => Value::Number(n.clone()),
            Cell::Text(text) => Value::from(&**text),
            Cell::Nested(value) => (**value).clone(),
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
        Ok(Cell::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
        Ok(Cell::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
        Ok(Cell::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell, E> {
        Number::from_f64(v)
            .map(Cell::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
        Ok(Cell::Text(v.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell::Nested(Box::new(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell::Nested(Box::new(value)))
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}
