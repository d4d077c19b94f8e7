//! One column of a parsed POST body in the attribute store's own layout ([`super::attrs`]): a
//! tag byte per value and, for the values that need one, eight bytes of payload (an integer's
//! or float's bits, a code into the column's texts, an index into its nested values).
//!
//! Why: a body parsed into one 24-byte [`Cell`] per value (each text an `Arc` clone, counted
//! up when parsed and down when applied) cost more to build, walk and free than the parse
//! itself; 100,000 rows × 6 columns were ~14 MB of fresh memory per body. Packed, the same body
//! is ~5 MB and is applied as stores of tags and payloads, with each *distinct* text of a body
//! looked up in the store's dictionary once instead of once per row.
//!
//! Both parsers build columns through [`Packed::push`], so a body packs the same whichever
//! parser read it (the differential test in `tests_post.rs` compares them).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use foldhash::fast::RandomState;
use serde_json::Number;

use super::cell::Cell;

/// A value's state (the tag byte), shared with the store's columns.
pub mod tag {
    /// A row without the attribute (store columns only; a parsed value is never absent).
    pub const ABSENT: u8 = 0;
    pub const NULL: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const TRUE: u8 = 3;
    /// Payload: the `i64`'s bits.
    pub const INT: u8 = 4;
    /// Payload: the `u64` (above `i64::MAX`).
    pub const UINT: u8 = 5;
    /// Payload: the `f64`'s bits.
    pub const FLOAT: u8 = 6;
    /// Payload: a code into the column's texts.
    pub const TEXT: u8 = 7;
    /// Payload: an index into the column's nested values.
    pub const NESTED: u8 = 8;
}

use tag::{FALSE, FLOAT, INT, NESTED, NULL, TEXT, TRUE, UINT};

/// How many distinct texts a column shares (a year of dates, a few labels); a text first seen
/// after that gets a code of its own each time, so a column of unique texts does not grow a
/// large map for nothing.
const SHARED_TEXTS: usize = 4_096;

/// One plain value as a parser read it, before it is packed (texts borrowed from the body).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
}

/// A parsed column: every value's tag, payload, texts and nested values.
#[derive(Default, PartialEq)]
pub struct Packed {
    tags: Vec<u8>,
    /// Empty until a value with a payload is pushed; then one per value.
    payload: Vec<u64>,
    texts: Vec<Arc<str>>,
    /// Each shared text's code.
    codes: HashMap<Arc<str>, u32, RandomState>,
    /// The codes of recently seen short shared texts, looked up without hashing.
    recent: Recent,
    nested: Vec<Cell>,
}

/// Slots of [`Recent`].
const RECENT: usize = 64;

/// A direct-mapped cache of short texts' codes: a text of up to 16 bytes is its length and
/// two 8-byte words, so it is compared as three integers instead of hashed and compared
/// with `memcmp` (most texts a client sends are labels, dates or categories). Only texts the
/// column shares are cached, so a code found here is the one the map would give.
#[derive(Clone)]
struct Recent {
    /// (length + 1, first word, last word, code); length 0 marks an empty slot.
    slots: Box<[(u32, u64, u64, u32); RECENT]>,
}

impl Default for Recent {
    fn default() -> Self {
        Self {
            slots: Box::new([(0, 0, 0, 0); RECENT]),
        }
    }
}

/// Compared by content, never: the cache is derived from the codes.
impl PartialEq for Recent {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Recent {
    /// A short text's key and slot, or `None` for a text over 16 bytes.
    fn key(text: &str) -> Option<((u32, u64, u64), usize)> {
        let bytes = text.as_bytes();
        if bytes.len() > 16 {
            return None;
        }
        // The first and the last (up to) 8 bytes: together every byte of the text.
        let word = |part: &[u8]| {
            let mut padded = [0u8; 8];
            padded[..part.len()].copy_from_slice(part);
            u64::from_le_bytes(padded)
        };
        let split = bytes.len().min(8);
        let (first, last) = (word(&bytes[..split]), word(&bytes[split..]));
        let len = bytes.len() as u32 + 1;
        let mixed =
            (first ^ last.rotate_left(29) ^ u64::from(len)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Some(((len, first, last), (mixed >> 58) as usize % RECENT))
    }

    fn get(&self, key: (u32, u64, u64), slot: usize) -> Option<u32> {
        let (len, first, last, code) = self.slots[slot];
        ((len, first, last) == key).then_some(code)
    }

    fn put(&mut self, key: (u32, u64, u64), slot: usize, code: u32) {
        self.slots[slot] = (key.0, key.1, key.2, code);
    }
}

impl Packed {
    /// An empty column with room for `values` values.
    pub fn with_capacity(values: usize) -> Self {
        Self {
            tags: Vec::with_capacity(values),
            ..Self::default()
        }
    }

    /// The cells of a parsed column, packed.
    pub fn from_cells(cells: Vec<Cell>) -> Self {
        let mut packed = Self::with_capacity(cells.len());
        for cell in cells {
            packed.push_cell(cell);
        }
        packed
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn tags(&self) -> &[u8] {
        &self.tags
    }

    /// Value `index`'s payload (0 for a value without one).
    pub fn payload(&self, index: usize) -> u64 {
        self.payload.get(index).copied().unwrap_or(0)
    }

    /// Whether some value has a payload.
    pub fn has_payload(&self) -> bool {
        !self.payload.is_empty()
    }

    /// The text of code `code`.
    pub fn text(&self, code: u64) -> &Arc<str> {
        &self.texts[code as usize]
    }

    /// Takes nested value `index` out (each is pushed once and applied once).
    pub fn take_nested(&mut self, index: u64) -> Cell {
        std::mem::replace(&mut self.nested[index as usize], Cell::Null)
    }

    /// Appends a plain value.
    pub fn push(&mut self, value: Scalar<'_>) {
        let (tag, payload) = match value {
            Scalar::Null => (NULL, None),
            Scalar::Bool(false) => (FALSE, None),
            Scalar::Bool(true) => (TRUE, None),
            Scalar::Int(i) => (INT, Some(i as u64)),
            Scalar::UInt(u) => (UINT, Some(u)),
            Scalar::Float(f) => (FLOAT, Some(f.to_bits())),
            Scalar::Text(text) => (TEXT, Some(u64::from(self.code(text)))),
        };
        self.put(tag, payload);
    }

    /// Appends a cell (the reference parser's values).
    pub fn push_cell(&mut self, cell: Cell) {
        match cell {
            Cell::Null => self.push(Scalar::Null),
            Cell::Bool(b) => self.push(Scalar::Bool(b)),
            Cell::Number(n) => self.push(scalar_of(&n)),
            Cell::Text(text) => self.push(Scalar::Text(&text)),
            Cell::Nested(value) => {
                self.nested.push(Cell::Nested(value));
                self.put(NESTED, Some((self.nested.len() - 1) as u64));
            }
        }
    }

    fn put(&mut self, tag: u8, payload: Option<u64>) {
        if let Some(payload) = payload {
            if self.payload.is_empty() {
                self.payload.reserve_exact(self.tags.capacity().max(1));
                self.payload.resize(self.tags.len(), 0);
            }
            self.payload.push(payload);
        } else if !self.payload.is_empty() {
            self.payload.push(0);
        }
        self.tags.push(tag);
    }

    /// `text`'s code: a shared one among the column's first distinct texts.
    fn code(&mut self, text: &str) -> u32 {
        let short = Recent::key(text);
        if let Some((key, slot)) = short {
            if let Some(code) = self.recent.get(key, slot) {
                return code;
            }
        }
        let code = match self.codes.get(text) {
            Some(&code) => code,
            None => {
                let code =
                    u32::try_from(self.texts.len()).expect("fewer than 2^32 texts per column");
                let shared: Arc<str> = Arc::from(text);
                self.texts.push(Arc::clone(&shared));
                if self.codes.len() == SHARED_TEXTS {
                    return code;
                }
                self.codes.insert(shared, code);
                code
            }
        };
        if let Some((key, slot)) = short {
            self.recent.put(key, slot, code);
        }
        code
    }

    /// Value `index` as a cell (for error messages and `not_found`).
    pub fn cell(&self, index: usize) -> Cell {
        let payload = self.payload(index);
        match self.tags[index] {
            NULL => Cell::Null,
            FALSE => Cell::Bool(false),
            TRUE => Cell::Bool(true),
            INT => Cell::Number((payload as i64).into()),
            UINT => Cell::Number(payload.into()),
            FLOAT => Number::from_f64(f64::from_bits(payload)).map_or(Cell::Null, Cell::Number),
            TEXT => Cell::Text(Arc::clone(self.text(payload))),
            _ => self.nested[payload as usize].clone(),
        }
    }

    /// Value `index` as an `i64` when it is an integer that fits one.
    pub fn as_i64(&self, index: usize) -> Option<i64> {
        (self.tags[index] == INT).then(|| self.payload(index) as i64)
    }

    /// Value `index` as a string when it is one.
    pub fn as_str(&self, index: usize) -> Option<&str> {
        (self.tags[index] == TEXT).then(|| &**self.text(self.payload(index)))
    }
}

/// A number as the variant serde_json read it (so it writes back the same: `3.0` stays a
/// float, `3` an integer).
fn scalar_of(n: &Number) -> Scalar<'static> {
    if n.is_f64() {
        n.as_f64().map_or(Scalar::Null, Scalar::Float)
    } else if let Some(i) = n.as_i64() {
        Scalar::Int(i)
    } else {
        n.as_u64().map_or(Scalar::Null, Scalar::UInt)
    }
}

/// The values as cells: what a test compares, and what a failure shows.
impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<Cell> = (0..self.len()).map(|i| self.cell(i)).collect();
        f.debug_struct("Packed")
            .field("values", &cells)
            .field("texts", &self.texts)
            .finish()
    }
}
