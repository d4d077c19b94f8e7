//! Response bodies' content coding, undone by us rather than by reqwest: a page body is
//! inflated as it arrives ([`Gunzip`]) on the blocking pool, next to its decode, instead of in
//! small steps on the runtime's I/O threads; other bodies are inflated whole ([`gunzip`]).
//!
//! Exact by construction: `gzip` and its alias `x-gzip` (RFC 9110 §8.4.1.3, any case) are
//! inflated; a body of several gzip members (RFC 1952 §2.2) is inflated whole; every member's
//! CRC-32 and length are checked; bytes after the last member that are not another member, a
//! stream cut off anywhere, or corrupt data fail the attempt as a transport failure (the next
//! attempt may arrive whole), never a silently shorter body.

use std::io::Read;

use bytes::Bytes;
use flate2::{Crc, Decompress, FlushDecompress, Status};
use reqwest::header::{HeaderMap, CONTENT_ENCODING};

/// How a response body is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// As is (no `Content-Encoding`, or `identity`).
    Identity,
    /// `gzip` or `x-gzip`.
    Gzip,
}

/// The coding `headers` declare. Anything but gzip (or several codings stacked) is an error
/// naming what the server sent: we only ever ask for gzip.
pub fn coding(headers: &HeaderMap) -> Result<Coding, String> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| "the response's Content-Encoding is not text".to_owned())?;
        codings.extend(
            text.split(',')
                .map(str::trim)
                .filter(|token| !token.is_empty() && !token.eq_ignore_ascii_case("identity")),
        );
    }
    match codings.as_slice() {
        [] => Ok(Coding::Identity),
        [one] if one.eq_ignore_ascii_case("gzip") || one.eq_ignore_ascii_case("x-gzip") => {
            Ok(Coding::Gzip)
        }
        // Bounded and escaped: the value is the server's, and may be as long as a header can be.
        _ => Err(format!(
            "the response's Content-Encoding is \"{}\": {ONLY_GZIP}",
            super::retry::bounded_printable(&codings.join(", "), CODING_LIMIT)
        )),
    }
}

/// How the message of a body in a coding other than gzip ends (the Python layer's hint keys on
/// it: outside trial 53 sent `br` and `gzip, gzip`, told to check base_url).
pub const ONLY_GZIP: &str = "only gzip is understood";

/// Characters of a response's Content-Encoding quoted in a message.
const CODING_LIMIT: usize = 100;

/// Why a gzip body could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates to more than the limit given.
    TooLarge,
    /// It is not one whole gzip stream: cut off, corrupt, or followed by other bytes.
    Broken(String),
}

/// The most a deflate stream can expand (a 258-byte match in about two bits): a size hint
/// above `compressed × this` is a lie and is not allocated.
const MAX_DEFLATE_RATIO: usize = 1032;

/// Inflates a whole gzip body of one or more members into one buffer of at most `limit`
/// bytes ([`Gunzip`] fed the body at once).
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut stream = Gunzip::with_first_buffer(limit, size_hint(body, limit));
    let mut pieces = Vec::new();
    stream.push(body, &mut pieces)?;
    stream.finish(&mut pieces)?;
    Ok(match <[Bytes; 1]>::try_from(pieces) {
        // The usual case: the stated length was right, the one buffer holds it all.
        Ok([one]) => Vec::from(one),
        Err(pieces) => pieces.concat(),
    })
}

/// The size of the buffers a [`Gunzip`] fills before handing them on: large enough that a
/// page decodes in few steps, small enough that the decoder is never far behind the wire.
const PIECE: usize = 256 * 1024;

/// Where a [`Gunzip`] is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In a member's header (its bytes so far in `pending`).
    Header,
    /// In a member's deflate data.
    Data,
    /// In a member's 8-byte trailer (its bytes so far in `pending`).
    Trailer,
    /// After a member: another one (`1f 8b`) or the end.
    Between,
    /// After the last member: bytes that may only be zero padding.
    Trailing { bytes: usize, nonzero: bool },
}

/// A gzip body inflated as it arrives, piece by piece, with the checks and errors of
/// [`gunzip`] (which is this, fed at once): every member's CRC-32 and length checked, zero
/// padding after the last member ignored, at most `limit` bytes inflated. Inflated bytes come
/// out in [`PIECE`]-sized buffers as each fills, the last one at [`Gunzip::finish`].
pub struct Gunzip {
    phase: Phase,
    inflater: Decompress,
    crc: Crc,
    /// Header or trailer bytes not yet complete, or the first byte after a member.
    pending: Vec<u8>,
    /// The buffer being filled.
    out: Vec<u8>,
    /// Bytes inflated so far, over every member.
    total: usize,
    limit: usize,
    /// True until the first byte arrives.
    empty: bool,
}

impl Gunzip {
    /// A stream that inflates at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self::with_first_buffer(limit, PIECE)
    }

    fn with_first_buffer(limit: usize, capacity: usize) -> Self {
        Self {
            phase: Phase::Header,
            inflater: Decompress::new(false),
            crc: Crc::new(),
            pending: Vec::new(),
            // Never room for more than one byte past the limit, so a body over it is seen
            // before anything after that point (a corrupt byte) is.
            out: Vec::with_capacity(capacity.min(limit.saturating_add(1)).max(1)),
            total: 0,
            limit,
            empty: true,
        }
    }

    /// Takes the next bytes of the body; appends to `pieces` every buffer filled.
    pub fn push(&mut self, mut input: &[u8], pieces: &mut Vec<Bytes>) -> Result<(), InflateError> {
        if !input.is_empty() {
            self.empty = false;
        }
        while !input.is_empty() {
            input = match self.phase {
                Phase::Header => self.header(input)?,
                Phase::Data => self.data(input, pieces)?,
                Phase::Trailer => self.trailer(input)?,
                Phase::Between => self.between(input),
                Phase::Trailing { bytes, nonzero } => {
                    self.phase = Phase::Trailing {
                        bytes: bytes + input.len(),
                        nonzero: nonzero || input.iter().any(|&b| b != 0),
                    };
                    &[]
                }
            };
        }
        Ok(())
    }

    /// The body has ended: fails if it ended anywhere but after a whole member (and padding);
    /// appends the last buffer to `pieces`.
    pub fn finish(mut self, pieces: &mut Vec<Bytes>) -> Result<(), InflateError> {
        if self.empty {
            return Err(broken("the gzip body is empty"));
        }
        if self.phase == Phase::Between && !self.pending.is_empty() {
            self.phase = Phase::Trailing {
                bytes: self.pending.len(),
                nonzero: true,
            };
        }
        match self.phase {
            Phase::Header => Err(match header_len(&self.pending) {
                Err(not_gzip) => not_gzip,
                Ok(_) => broken("the gzip stream is cut off in a member header"),
            }),
            Phase::Data => Err(broken("the gzip stream is cut off inside its data")),
            Phase::Trailer => Err(broken("the gzip stream is cut off in its trailer")),
            Phase::Trailing {
                bytes,
                nonzero: true,
            } => Err(broken(&format!(
                "{bytes} bytes follow the gzip stream that are not another gzip member"
            ))),
            Phase::Between | Phase::Trailing { .. } => {
                if !self.out.is_empty() {
                    pieces.push(Bytes::from(std::mem::take(&mut self.out)));
                }
                Ok(())
            }
        }
    }

    /// Gathers a member header; returns the input after it.
    fn header<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InflateError> {
        let had = self.pending.len();
        self.pending.extend_from_slice(input);
        match header_len(&self.pending)? {
            Some(len) => {
                self.pending.clear();
                self.phase = Phase::Data;
                Ok(&input[len - had..])
            }
            None => Ok(&[]),
        }
    }

    /// Inflates deflate data; returns the input after the member's data, if it ended.
    fn data<'a>(
        &mut self,
        mut input: &'a [u8],
        pieces: &mut Vec<Bytes>,
    ) -> Result<&'a [u8], InflateError> {
        loop {
            if self.out.len() == self.out.capacity() {
                let room = PIECE.min(self.limit.saturating_add(1).saturating_sub(self.total));
                let full = std::mem::replace(&mut self.out, Vec::with_capacity(room.max(1)));
                pieces.push(Bytes::from(full));
            }
            let (before_in, before_out) = (self.inflater.total_in(), self.out.len());
            let status = self
                .inflater
                .decompress_vec(input, &mut self.out, FlushDecompress::None)
                // Not the inflater's own words: after some corruptions zlib-rs reports one
                // error or another depending on where the body was split ("invalid distance
                // too far back" whole, "repeated call with bad state" in pieces; found by the
                // split property test below), and neither helps a reader.
                .map_err(|_| broken("the gzip data is corrupt (not a valid deflate stream)"))?;
            let consumed = (self.inflater.total_in() - before_in) as usize;
            let produced = self.out.len() - before_out;
            self.crc.update(&self.out[before_out..]);
            self.total = self.total.saturating_add(produced);
            if self.total > self.limit {
                return Err(InflateError::TooLarge);
            }
            input = &input[consumed..];
            if status == Status::StreamEnd {
                self.phase = Phase::Trailer;
                return Ok(input);
            }
            // More output may wait only when the buffer filled; else all input was taken.
            if consumed == 0 && produced == 0
                || input.is_empty() && self.out.len() < self.out.capacity()
            {
                return Ok(input);
            }
        }
    }

    /// Gathers and checks a member's trailer; returns the input after it.
    fn trailer<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InflateError> {
        let take = (8 - self.pending.len()).min(input.len());
        self.pending.extend_from_slice(&input[..take]);
        if let Some(trailer) = self.pending.first_chunk::<8>() {
            let (crc_sent, size_sent) = trailer.split_at(4);
            if self.crc.sum().to_le_bytes() != crc_sent {
                return Err(broken("the gzip data fails its CRC-32 check"));
            }
            // ISIZE is the length modulo 2^32.
            if self.crc.amount().to_le_bytes() != size_sent {
                return Err(broken("the gzip data is not the length its trailer states"));
            }
            self.pending.clear();
            self.crc.reset();
            self.inflater.reset(false);
            self.phase = Phase::Between;
        }
        Ok(&input[take..])
    }

    /// After a member: `1f 8b` starts another; anything else is trailing bytes, allowed only
    /// if they are all zero (a block-sized writer's padding, ignored as gzip(1) and Python's
    /// gzip do).
    fn between<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let take = (2 - self.pending.len()).min(input.len());
        self.pending.extend_from_slice(&input[..take]);
        match self.pending.as_slice() {
            [0x1f] => {}
            [0x1f, 0x8b] => self.phase = Phase::Header,
            seen => {
                self.phase = Phase::Trailing {
                    bytes: seen.len(),
                    nonzero: seen.iter().any(|&b| b != 0),
                };
                self.pending.clear();
            }
        }
        &input[take..]
    }
}

/// The first bytes (at most `max`) a gzip body inflates to, whatever follows them: for an
/// error body, whose text is only quoted, and which may have been read only in part. The flag
/// is false when the stream was cut off or corrupt before `max` bytes (so a message can say so).
pub fn gunzip_prefix(body: &[u8], max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let reader = flate2::read::MultiGzDecoder::new(body);
    // An error (cut off, corrupt) keeps what was inflated before it, which is all we want.
    let whole = reader.take(max as u64).read_to_end(&mut out).is_ok();
    (out, whole)
}

#[cold]
fn broken(message: &str) -> InflateError {
    InflateError::Broken(message.to_owned())
}

/// The buffer to start with: the last member's stated length (exact for one member), within
/// what the body could possibly inflate to and the limit.
fn size_hint(body: &[u8], limit: usize) -> usize {
    let stated = body
        .last_chunk::<4>()
        .map_or(0, |size| u32::from_le_bytes(*size) as usize);
    stated
        .min(body.len().saturating_mul(MAX_DEFLATE_RATIO))
        .min(limit.saturating_add(1))
}

/// The length of the gzip member header at the start of `data` (RFC 1952 §2.3); `None` while
/// `data` holds only the start of one.
fn header_len(data: &[u8]) -> Result<Option<usize>, InflateError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;
    if !data.starts_with(&[0x1f, 0x8b][..data.len().min(2)]) {
        return Err(broken("the body is not gzip data"));
    }
    let Some(fixed) = data.first_chunk::<10>() else {
        return Ok(None);
    };
    if fixed[2] != 8 {
        return Err(broken("the gzip member uses an unknown compression method"));
    }
    let flags = fixed[3];
    if flags & RESERVED != 0 {
        return Err(broken("the gzip member header sets reserved flags"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(extra) = data.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let Some(end) = data.get(at..).and_then(|text| memchr::memchr(0, text)) else {
                return Ok(None);
            };
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        let Some(sent) = data.get(at..at + 2) else {
            return Ok(None);
        };
        let mut crc = Crc::new();
        crc.update(&data[..at]);
        if (crc.sum() as u16).to_le_bytes() != sent {
            return Err(broken("the gzip member header fails its CRC check"));
        }
        at += 2;
    }
    Ok((at <= data.len()).then_some(at))
}

#[cfg(test)]
#[path = "inflate_tests.rs"]
mod tests;
