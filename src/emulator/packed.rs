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
    /// The codes of shared texts of up to 16 bytes, found without hashing a slice.
    short: ShortCodes,
    /// The codes of longer shared texts.
    long: HashMap<Arc<str>, u32, RandomState>,
    nested: Vec<Cell>,
}

/// A short text as three integers: its length + 1 (never 0, which marks an empty slot) and
/// its bytes as two words (see [`ShortCodes::key`]).
type ShortKey = (u32, u64, u64);

/// The codes of a column's shared texts of up to 16 bytes (labels, dates, categories: most
/// texts a client sends): an open-addressing table whose keys are compared as three integers
/// instead of hashed and compared with `memcmp` behind a pointer. It holds every shared short
/// text, so a text it lacks is new to the column.
///
/// Why: the direct-mapped cache of 64 slots it replaced missed on most values of a column of
/// a year of dates (365 distinct), and each miss paid a hash map lookup.
#[derive(Default)]
struct ShortCodes {
    /// (key, code) per slot; a power of two of them, at most half used. Empty until the first
    /// short text.
    slots: Vec<(ShortKey, u32)>,
    used: usize,
}

/// Eight bytes as a word (`bytes` holds exactly eight).
fn word8(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// Four bytes as a word (`bytes` holds exactly four).
fn word4(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    u64::from(u32::from_le_bytes(word))
}

/// Slots of a [`ShortCodes`] table when its first text comes.
const FIRST_SLOTS: usize = 256;

/// Compared by content, never: the table is derived from the texts.
impl PartialEq for ShortCodes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ShortCodes {
    /// A text's key, or `None` for a text over 16 bytes. Two fixed-size loads that may
    /// overlap (with the length, they still tell every text of up to 16 bytes apart) rather
    /// than a copy of a variable length into a padded word, which costs a `memcpy` call.
    fn key(text: &str) -> Option<ShortKey> {
        let bytes = text.as_bytes();
        let len = bytes.len();
        let (first, last) = match len {
            8..=16 => (word8(&bytes[..8]), word8(&bytes[len - 8..])),
            4..=7 => (word4(&bytes[..4]), word4(&bytes[len - 4..])),
            0..=3 => (bytes.iter().fold(0, |w, &b| w << 8 | u64::from(b)), 0),
            _ => return None,
        };
        Some((len as u32 + 1, first, last))
    }

    /// The slot where a probe for `key` starts, in a table of `slots` (a power of two, at
    /// least 2): the product's top bits, the only ones every bit of the key reaches (bits
    /// 32 and up of it had left a year of dates at 3.8 probes a lookup; these, 1.4).
    fn home(key: ShortKey, slots: usize) -> usize {
        let (len, first, last) = key;
        let mixed =
            (first ^ last.rotate_left(29) ^ u64::from(len)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - slots.trailing_zeros())) as usize
    }

    /// `key`'s code, or the slot where it would go.
    fn find(&self, key: ShortKey) -> Result<u32, usize> {
        if self.slots.is_empty() {
            return Err(usize::MAX);
        }
        let mask = self.slots.len() - 1;
        let mut at = Self::home(key, self.slots.len());
        loop {
            let (stored, code) = self.slots[at];
            if stored == key {
                return Ok(code);
            }
            if stored.0 == 0 {
                return Err(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `key` (not in the table) with `code`.
    fn insert(&mut self, key: ShortKey, code: u32) {
        if 2 * (self.used + 1) > self.slots.len() {
            let grown = (2 * self.slots.len()).max(FIRST_SLOTS);
            let old = std::mem::replace(&mut self.slots, vec![((0, 0, 0), 0); grown]);
            for (stored, code) in old.into_iter().filter(|(k, _)| k.0 != 0) {
                self.put(stored, code);
            }
        }
        self.put(key, code);
        self.used += 1;
    }

    fn put(&mut self, key: ShortKey, code: u32) {
        let mask = self.slots.len() - 1;
        let mut at = Self::home(key, self.slots.len());
        while self.slots[at].0 .0 != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = (key, code);
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
        let short = ShortCodes::key(text);
        let known = match short {
            Some(key) => self.short.find(key).ok(),
            None => self.long.get(text).copied(),
        };
        if let Some(code) = known {
            return code;
        }
        let code = u32::try_from(self.texts.len()).expect("fewer than 2^32 texts per column");
        let shared: Arc<str> = Arc::from(text);
        self.texts.push(Arc::clone(&shared));
        if self.short.used + self.long.len() < SHARED_TEXTS {
            match short {
                Some(key) => self.short.insert(key, code),
                None => {
                    self.long.insert(shared, code);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The codes `texts` get, by the rule [`Packed::code`] implements with its tables: codes
    /// count up in order of first appearance, and only the first [`SHARED_TEXTS`] distinct
    /// texts are shared (a later one gets a new code each time it comes).
    fn reference_codes(texts: &[String]) -> Vec<u32> {
        let mut shared: HashMap<&str, u32> = HashMap::new();
        let mut next = 0;
        texts
            .iter()
            .map(|text| {
                if let Some(&code) = shared.get(text.as_str()) {
                    return code;
                }
                let code = next;
                next += 1;
                if shared.len() < SHARED_TEXTS {
                    shared.insert(text, code);
                }
                code
            })
            .collect()
    }

    fn packed_codes(texts: &[String]) -> (Vec<u32>, Packed) {
        let mut packed = Packed::default();
        for text in texts {
            packed.push(Scalar::Text(text));
        }
        let codes = (0..packed.len())
            .map(|i| packed.payload(i) as u32)
            .collect();
        (codes, packed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Texts of 0 to 20 bytes (across the key's 3/4, 7/8 and 16/17-byte forms) from a
        /// small alphabet, so texts that differ in one byte and repeats are common.
        #[test]
        fn texts_get_the_codes_of_the_first_appearance_rule(
            texts in prop::collection::vec("[ab\u{e9}]{0,20}", 0..200),
        ) {
            let (codes, packed) = packed_codes(&texts);
            prop_assert_eq!(&codes, &reference_codes(&texts));
            for (at, text) in texts.iter().enumerate() {
                prop_assert_eq!(packed.as_str(at), Some(text.as_str()));
            }
        }
    }

    #[test]
    fn texts_past_the_shared_ones_get_a_code_each_time() {
        // Short and long texts, distinct past SHARED_TEXTS, then all of them again: the table
        // of short texts grows several times on the way.
        let distinct: Vec<String> = (0..SHARED_TEXTS + 500)
            .map(|i| match i % 3 {
                0 => format!("{i}"),
                1 => format!("2025-{i:06}"),
                _ => format!("a longer text than sixteen bytes {i}"),
            })
            .collect();
        let texts: Vec<String> = distinct.iter().chain(&distinct).cloned().collect();
        let (codes, packed) = packed_codes(&texts);
        assert_eq!(codes, reference_codes(&texts));
        // The shared ones come back with their first code, the later ones with new codes.
        let again = &codes[distinct.len()..];
        assert!(again[..SHARED_TEXTS]
            .iter()
            .enumerate()
            .all(|(i, &code)| code as usize == i));
        assert!(again[SHARED_TEXTS..]
            .iter()
            .all(|&code| code as usize >= distinct.len()));
        assert_eq!(packed.texts.len(), distinct.len() + 500);
    }

    #[test]
    fn short_keys_tell_texts_apart_that_share_their_ends() {
        for (a, b) in [
            ("", "\0"),
            ("a", "\0a"),
            ("abcdXefgh", "abcdYefgh"),
            ("abcdefgh12345678", "abcdefgX12345678"),
            ("abc", "abcd"),
            ("12345", "12x45"),
        ] {
            assert_ne!(ShortCodes::key(a), ShortCodes::key(b), "{a:?} {b:?}");
        }
        assert_eq!(ShortCodes::key(&"x".repeat(17)), None);
    }
}
