//! Splits a streamed top-level JSON array `[row, row, ...]` into the bytes of its elements.
//!
//! arrow-json 59's decoder reads concatenated JSON values but not a top-level array (60 added
//! that). This scanner runs in the same streaming pass over each body chunk as it arrives and
//! hands out only element bytes: the outer brackets and the top-level commas are skipped. It
//! tracks string and escape state across chunk boundaries, and jumps through string bodies with
//! `memchr`, since most of a Converz row is text.

use memchr::{memchr2, memchr3};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[` (whitespace allowed).
    Start,
    /// Inside the array, outside strings.
    Array,
    /// Inside a string; `escaped` after a backslash.
    Str { escaped: bool },
    /// After the closing `]` (whitespace allowed).
    Done,
}

/// Longest string remembered as a possible object key.
const KEY_LIMIT: usize = 64;

/// The streaming framer of one page body.
#[derive(Debug)]
pub struct Framer {
    state: State,
    /// Nesting depth inside the top-level array: 0 between elements.
    depth: u32,
    /// The last short string seen at row level: the key of the value after it.
    key: Vec<u8>,
    /// Whether the string being scanned is still short enough to be a key.
    collecting: bool,
    /// Row-level keys that carried a non-integer number (`1.5`, `1e3`) on this page.
    float_keys: Vec<String>,
    /// Elements completed so far.
    elements: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    /// A framer expecting the start of an array.
    pub fn new() -> Self {
        Self {
            state: State::Start,
            depth: 0,
            key: Vec::new(),
            collecting: false,
            float_keys: Vec::new(),
            elements: 0,
        }
    }

    /// Elements (rows) completed so far.
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// True once the closing `]` was seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Row-level keys whose values included a fractional or exponent number.
    ///
    /// arrow-json truncates `1.5` to `1` in an integer column; the page decoder checks these
    /// keys against its integer columns so that can never happen silently.
    pub fn float_keys(&self) -> &[String] {
        &self.float_keys
    }

    /// Feeds one chunk; calls `emit` with each element's bytes (possibly in several runs), in
    /// order.
    pub fn split<'a>(
        &mut self,
        chunk: &'a [u8],
        mut emit: impl FnMut(&'a [u8]) -> Result<()>,
    ) -> Result<()> {
        let mut pos = 0;
        // Start of the element bytes not yet emitted, when inside an element.
        let mut run: Option<usize> =
            (self.depth > 0 || matches!(self.state, State::Str { .. })).then_some(0);
        while pos < chunk.len() {
            match self.state {
                State::Str { escaped: true } => {
                    self.collect(&chunk[pos..=pos]);
                    self.state = State::Str { escaped: false };
                    pos += 1;
                }
                State::Str { escaped: false } => match memchr2(b'"', b'\\', &chunk[pos..]) {
                    None => {
                        self.collect(&chunk[pos..]);
                        pos = chunk.len();
                    }
                    Some(offset) => {
                        self.collect(&chunk[pos..pos + offset]);
                        pos += offset;
                        if chunk[pos] == b'"' {
                            self.state = State::Array;
                            if !self.collecting {
                                self.key.clear();
                            }
                        } else {
                            self.collect(b"\\");
                            self.state = State::Str { escaped: true };
                        }
                        pos += 1;
                    }
                },
                State::Array => {
                    match chunk[pos] {
                        b'"' => {
                            run.get_or_insert(pos);
                            self.state = State::Str { escaped: false };
                            self.collecting = self.depth == 1;
                            self.key.clear();
                        }
                        b'{' | b'[' => {
                            run.get_or_insert(pos);
                            self.depth += 1;
                        }
                        b'}' | b']' if self.depth > 0 => {
                            self.depth -= 1;
                            if self.depth == 0 {
                                self.elements += 1;
                                if let Some(start) = run.take() {
                                    emit(&chunk[start..=pos])?;
                                }
                            }
                        }
                        b']' => {
                            if let Some(start) = run.take() {
                                emit(&chunk[start..pos])?;
                            }
                            self.state = State::Done;
                        }
                        b',' if self.depth == 0 => {
                            if let Some(start) = run.take() {
                                emit(&chunk[start..pos])?;
                            }
                        }
                        b' ' | b'\n' | b'\r' | b'\t' => {}
                        _ => {
                            run.get_or_insert(pos);
                        }
                    }
                    pos += 1;
                    if self.depth > 0 && self.state == State::Array {
                        pos = self.skip_plain(chunk, pos);
                    }
                }
                State::Start => {
                    match chunk[pos] {
                        b'[' => self.state = State::Array,
                        b' ' | b'\n' | b'\r' | b'\t' => {}
                        other => return Err(not_an_array(other)),
                    }
                    pos += 1;
                }
                State::Done => {
                    if !chunk[pos].is_ascii_whitespace() {
                        return Err(Error::Decode {
                            endpoint: String::new(),
                            message: "unexpected bytes after the end of the JSON array".into(),
                        });
                    }
                    pos += 1;
                }
            }
        }
        if let Some(start) = run {
            if start < chunk.len() {
                emit(&chunk[start..])?;
            }
        }
        Ok(())
    }

    /// Appends string bytes to the key candidate while it is short enough to be a key.
    fn collect(&mut self, bytes: &[u8]) {
        if self.collecting {
            if self.key.len() + bytes.len() <= KEY_LIMIT {
                self.key.extend_from_slice(bytes);
            } else {
                self.collecting = false;
                self.key.clear();
            }
        }
    }

    /// Jumps over bytes that cannot change state (`:`, `,`, numbers, literals) and returns the
    /// next position to look at; notes row-level numbers that are not integers.
    fn skip_plain(&mut self, chunk: &[u8], pos: usize) -> usize {
        let rest = &chunk[pos..];
        let plain = match memchr3(b'"', b'{', b'}', rest) {
            Some(offset) => memchr2(b'[', b']', &rest[..offset]).unwrap_or(offset),
            None => memchr2(b'[', b']', rest).unwrap_or(rest.len()),
        };
        if self.depth == 1 && !self.key.is_empty() {
            let skipped = &rest[..plain];
            let fractional = skipped
                .windows(2)
                .any(|w| w[0].is_ascii_digit() && matches!(w[1], b'.' | b'e' | b'E'));
            if fractional {
                let key = String::from_utf8_lossy(&self.key).into_owned();
                if !self.float_keys.contains(&key) {
                    self.float_keys.push(key);
                }
            }
        }
        pos + plain
    }
}

#[cold]
fn not_an_array(first: u8) -> Error {
    let shown = if first.is_ascii_graphic() {
        format!("{:?}", first as char)
    } else {
        format!("byte 0x{first:02x}")
    };
    Error::Decode {
        endpoint: String::new(),
        message: format!(
            "expected a JSON array of rows, found {shown} (an HTML page or an error body?)"
        ),
    }
}
