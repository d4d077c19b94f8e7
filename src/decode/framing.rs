//! Top-level JSON array framing: turns the chunks of a body `[ {..}, {..} ]` into one byte slice
//! per element, without copying the body.
//!
//! arrow-json 59's `Decoder` reads concatenated values but not a top-level array (`with_flatten`
//! came in 60), so the array syntax is peeled off here. An element that lies inside one chunk is
//! handed on in place; only an element cut by a chunk boundary is stitched in a small carry
//! buffer (one row, not the body). The [`Sink`] both measures an element (it is handed the rest
//! of the chunk and says where the element ends, or that it ran out) and consumes it, so the
//! row classifier doubles as the framer on the hot path and the bytes are scanned once.

use memchr::memchr2;

use crate::{Error, Result};

/// How the error of a body that ends inside its array begins (`http::client` tells a body the
/// server framed whole from one cut off on the way by these words).
pub const CUT_OFF: &str = "the JSON array was cut off after";

/// How such an error ends when the body arrived whole as the server framed it (the Python
/// layer's hint keys on it).
pub const SENT_INCOMPLETE: &str = "the server sent an incomplete JSON array";

/// Receives the elements of the array.
pub(crate) trait Sink {
    /// `bytes` starts at an element's first byte (`{` or `[`). Consume one element and return
    /// its length, or `None` if `bytes` ends before the element does.
    fn element(&mut self, bytes: &[u8]) -> Result<Option<usize>>;
}

/// Where the splitter is in the top-level syntax.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Top {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]`.
    First,
    /// After an element: `,` or `]`.
    Next,
    /// After `,`: an element.
    AfterComma,
    /// Inside an element cut by a chunk boundary; its head is in `carry`.
    InElement,
    /// After the closing `]`: only whitespace may follow.
    Done,
}

/// Splits a streamed JSON array body into elements; see the module docs.
#[derive(Debug)]
pub(crate) struct Splitter {
    top: Top,
    carry: Vec<u8>,
    /// The most bytes `carry` held during the last feed: a row completed (and let go) within a
    /// feed was held whole at its end.
    carry_peak: usize,
    scan: ValueScan,
    /// Bytes seen so far, for error positions.
    offset: usize,
}

impl Default for Splitter {
    fn default() -> Self {
        Self {
            top: Top::Start,
            carry: Vec::new(),
            carry_peak: 0,
            scan: ValueScan::default(),
            offset: 0,
        }
    }
}

#[cold]
pub(crate) fn decode_error(message: impl Into<String>) -> Error {
    Error::Decode {
        endpoint: String::new(),
        message: message.into(),
    }
}

impl Splitter {
    /// Feeds one chunk; `sink` receives every element that completes in it.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut impl Sink) -> Result<()> {
        let mut i = 0;
        self.carry_peak = 0;
        if self.top == Top::InElement {
            let Some(end) = self.scan.scan(chunk) else {
                self.carry.extend_from_slice(chunk);
                self.offset += chunk.len();
                return Ok(());
            };
            self.carry.extend_from_slice(&chunk[..end]);
            self.carry_peak = self.carry.len();
            if sink.element(&self.carry)? != Some(self.carry.len()) {
                return Err(decode_error("row framing disagreed with the row parser"));
            }
            self.carry.clear();
            self.top = Top::Next;
            i = end;
        }
        while i < chunk.len() {
            let c = chunk[i];
            if is_ws(c) {
                i += 1;
                continue;
            }
            match (self.top, c) {
                (Top::Start, b'[') => self.top = Top::First,
                (Top::First | Top::Next, b']') => self.top = Top::Done,
                (Top::Next, b',') => self.top = Top::AfterComma,
                (Top::First | Top::AfterComma, b'{' | b'[') => {
                    let rest = &chunk[i..];
                    match sink.element(rest)? {
                        Some(n) => {
                            self.top = Top::Next;
                            i += n;
                            continue;
                        }
                        None => {
                            // The offset counts whole chunks: this one ends inside the element.
                            self.offset += chunk.len();
                            return self.start_carry(rest);
                        }
                    }
                }
                _ => return Err(self.unexpected(chunk, i)),
            }
            i += 1;
        }
        self.offset += chunk.len();
        Ok(())
    }

    /// The bytes of an element cut by a chunk boundary held so far, or, when the last feed
    /// completed one, held at its end (more): a row stitched from two pieces was held whole
    /// for a moment but counted at half its size, so whether a row too large for the limit was
    /// refused depended on how many pieces the socket had cut it into (a CI run found).
    pub fn carried(&self) -> usize {
        self.carry.len().max(self.carry_peak)
    }

    /// Keeps the head of an element that the chunk cut off.
    fn start_carry(&mut self, head: &[u8]) -> Result<()> {
        self.scan = ValueScan::default();
        if self.scan.scan(head).is_some() {
            return Err(decode_error("row framing disagreed with the row parser"));
        }
        self.carry.clear();
        self.carry.extend_from_slice(head);
        self.top = Top::InElement;
        Ok(())
    }

    /// Checks that the body was one complete array.
    pub fn finish(&self) -> Result<()> {
        match self.top {
            Top::Done => Ok(()),
            Top::Start => Err(decode_error("expected a JSON array, got an empty body")),
            // A body that ends inside the array was cut off on the way (a close-delimited
            // response has no length to tell hyper so): a transport failure, worth a retry.
            top => Err(Error::Transport {
                endpoint: String::new(),
                attempts: 1,
                message: format!(
                    "{CUT_OFF} {} bytes, {}",
                    self.offset,
                    match top {
                        Top::InElement => "inside a row",
                        Top::AfterComma => "after a `,`",
                        _ => "before its closing `]`",
                    }
                ),
            }),
        }
    }

    #[cold]
    fn unexpected(&self, chunk: &[u8], i: usize) -> Error {
        let near = super::classify::cut_marked_as(&chunk[i..], 60, shown);
        let what = match self.top {
            Top::Start => "expected a JSON array of rows",
            Top::First | Top::AfterComma => "expected a JSON object (a row)",
            Top::Next => "expected `,` or `]` after a row",
            Top::Done | Top::InElement => "unexpected data after the JSON array",
        };
        let why = match (self.top, self.offset + i) {
            (Top::Start, 0) => not_json_because(chunk),
            _ => "",
        };
        decode_error(format!(
            "{what} at byte {}, found `{near}`{why}",
            self.offset + i
        ))
    }
}

/// Bytes for an error message: the text if it is UTF-8, else their hex (lossy text of binary
/// data is a line of replacement characters that tells the reader nothing).
fn shown(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let hex: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("bytes {}", hex.join(" "))
        }
    }
}

/// Why a body that does not start a JSON array is probably not JSON at all, from its first
/// bytes: the usual server mistakes each get a sentence saying what was sent.
fn not_json_because(body: &[u8]) -> &'static str {
    if body.starts_with(&[0x1f, 0x8b]) {
        ": the body is still gzip data after any Content-Encoding was undone (compressed twice, \
         or compressed without saying so)"
    } else if body.starts_with(&[0xef, 0xbb, 0xbf]) {
        ": the body starts with a UTF-8 byte order mark, which the API does not send"
    } else if body.starts_with(&[0xff, 0xfe]) || body.starts_with(&[0xfe, 0xff]) {
        ": the body is UTF-16 text; the API sends UTF-8"
    } else {
        ""
    }
}

/// Index of the first `"` or `\\` in `b`. Keys and most values are short: their first bytes
/// are tested eight at a time in a `u64` (no call, no vector setup); long strings (summaries)
/// go on to memchr.
#[inline]
pub(crate) fn quote_or_escape(b: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let found = bytes_equal_to(word, b'"') | bytes_equal_to(word, b'\\');
        if found != 0 {
            // Little-endian: the lowest set bit is the first byte in memory.
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
        if i >= SHORT {
            return memchr2(b'"', b'\\', &b[i..]).map(|k| k + i);
        }
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| k + i)
}

/// A mask with the high bit set in the byte of `word` that equals `c` with the lowest address,
/// and possibly in later bytes (a borrow can mark the byte after a match), never earlier ones:
/// its lowest set bit is exact.
#[inline]
fn bytes_equal_to(word: u64, c: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_where_equal = word ^ (ONES * u64::from(c));
    zero_where_equal.wrapping_sub(ONES) & !zero_where_equal & HIGHS
}

pub(crate) fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

/// A resumable scan for the end of one JSON object or array, tracking strings and escapes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ValueScan {
    depth: u32,
    in_string: bool,
    escape: bool,
}

impl ValueScan {
    /// Scans the next bytes of a value whose first byte is `{` or `[` (on the first call).
    /// Returns the offset just past the value's end, if it ends within `bytes`.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        loop {
            if self.in_string {
                if self.escape {
                    if i >= bytes.len() {
                        return None;
                    }
                    self.escape = false;
                    i += 1;
                }
                // Skip whole string bodies with memchr.
                let k = quote_or_escape(bytes.get(i..)?)?;
                i += k;
                self.in_string = bytes[i] != b'"';
                self.escape = self.in_string;
                i += 1;
                continue;
            }
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        self.in_string = true;
                        break;
                    }
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if i >= bytes.len() {
                return None;
            }
            i += 1;
        }
    }
}

/// A [`Sink`] that only frames: each element is measured with [`ValueScan`] and passed to `f`.
pub(crate) struct ScanSink<F>(pub F);

impl<F: FnMut(&[u8]) -> Result<()>> Sink for ScanSink<F> {
    fn element(&mut self, bytes: &[u8]) -> Result<Option<usize>> {
        match ValueScan::default().scan(bytes) {
            Some(n) => (self.0)(&bytes[..n]).map(|()| Some(n)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod quote_tests {
    use super::quote_or_escape;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time search finds what a byte-by-byte one does, at every length and
        /// offset (bytes near `"` and `\\` included, which a borrow could confuse).
        #[test]
        fn finds_the_first_quote_or_backslash(
            b in prop::collection::vec(prop::sample::select(vec![b'"', b'\\', b'!', b'#', b'[', b']', 0, 0xff, b'a']), 0..80),
            fill in 0usize..80,
        ) {
            let mut long = vec![b'x'; fill];
            long.extend_from_slice(&b);
            for bytes in [&b[..], &long[..]] {
                let naive = bytes.iter().position(|&c| c == b'"' || c == b'\\');
                prop_assert_eq!(quote_or_escape(bytes), naive);
            }
        }
    }
}
