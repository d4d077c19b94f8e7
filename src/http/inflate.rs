//! Response bodies' content coding, undone by us rather than by reqwest: a page body arrives
//! whole as the server sent it, and is inflated in one pass on the blocking pool next to its
//! decode, instead of in small steps on the runtime's I/O threads.
//!
//! Exact by construction: `gzip` and its alias `x-gzip` (RFC 9110 §8.4.1.3, any case) are
//! inflated; a body of several gzip members (RFC 1952 §2.2) is inflated whole; every member's
//! CRC-32 and length are checked; bytes after the last member that are not another member, a
//! stream cut off anywhere, or corrupt data fail the attempt as a transport failure (the next
//! attempt may arrive whole), never a silently shorter body.

use std::io::Read;

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
        _ => Err(format!(
            "the response's Content-Encoding is {:?}: only gzip is understood",
            codings.join(", ")
        )),
    }
}

/// Why a gzip body could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates to more than the limit given.
    TooLarge,
    /// It is not one whole gzip stream: cut off, corrupt, or followed by other bytes.
    Broken(String),
}

/// The smallest buffer grown to when a body's own size hint runs out.
const MIN_GROWTH: usize = 64 * 1024;

/// The most a deflate stream can expand (a 258-byte match in about two bits): a size hint
/// above `compressed × this` is a lie and is not allocated.
const MAX_DEFLATE_RATIO: usize = 1032;

/// Inflates a whole gzip body of one or more members into one buffer of at most `limit`
/// bytes.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    if body.is_empty() {
        return Err(broken("the gzip body is empty"));
    }
    let mut out = Vec::with_capacity(size_hint(body, limit));
    let mut rest = body;
    loop {
        rest = &rest[header_len(rest)?..];
        let start = out.len();
        let used = inflate_member(rest, &mut out, limit)?;
        rest = &rest[used..];
        let Some((trailer, after)) = rest.split_first_chunk::<8>() else {
            return Err(broken("the gzip stream is cut off in its trailer"));
        };
        let member = &out[start..];
        let mut crc = Crc::new();
        crc.update(member);
        let (crc_sent, size_sent) = trailer.split_at(4);
        if crc.sum().to_le_bytes() != crc_sent {
            return Err(broken("the gzip data fails its CRC-32 check"));
        }
        // ISIZE is the length modulo 2^32.
        if (member.len() as u32).to_le_bytes() != size_sent {
            return Err(broken("the gzip data is not the length its trailer states"));
        }
        rest = after;
        // Zero padding after the last member (a block-sized writer's) is ignored, as gzip(1)
        // and Python's gzip do; any other byte must start another member.
        if rest.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        if !rest.starts_with(&[0x1f, 0x8b]) {
            return Err(broken(&format!(
                "{} bytes follow the gzip stream that are not another gzip member",
                rest.len()
            )));
        }
    }
}

/// The first bytes (at most `max`) a gzip body inflates to, whatever follows them: for an
/// error body, whose text is only quoted, and which may have been read only in part.
pub fn gunzip_prefix(body: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let reader = flate2::read::MultiGzDecoder::new(body);
    // An error (cut off, corrupt) keeps what was inflated before it, which is all we want.
    let _ = reader.take(max as u64).read_to_end(&mut out);
    out
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

/// The length of the gzip member header at the start of `data` (RFC 1952 §2.3).
fn header_len(data: &[u8]) -> Result<usize, InflateError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;
    let cut = || broken("the gzip stream is cut off in a member header");
    let Some(fixed) = data.first_chunk::<10>() else {
        return Err(if data.starts_with(&[0x1f, 0x8b][..data.len().min(2)]) {
            cut()
        } else {
            broken("the body is not gzip data")
        });
    };
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(broken("the body is not gzip data"));
    }
    if fixed[2] != 8 {
        return Err(broken("the gzip member uses an unknown compression method"));
    }
    let flags = fixed[3];
    if flags & RESERVED != 0 {
        return Err(broken("the gzip member header sets reserved flags"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let extra = data.get(at..at + 2).ok_or_else(cut)?;
        at += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let text = data.get(at..).ok_or_else(cut)?;
            at += memchr::memchr(0, text).ok_or_else(cut)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        let sent = data.get(at..at + 2).ok_or_else(cut)?;
        let mut crc = Crc::new();
        crc.update(&data[..at]);
        if (crc.sum() as u16).to_le_bytes() != sent {
            return Err(broken("the gzip member header fails its CRC check"));
        }
        at += 2;
    }
    if at > data.len() {
        return Err(cut());
    }
    Ok(at)
}

/// Inflates the raw deflate stream at the start of `input`, appending to `out`; returns the
/// bytes of `input` it took.
fn inflate_member(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize, InflateError> {
    let mut inflater = Decompress::new(false);
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(InflateError::TooLarge);
            }
            // Up to one byte past the limit, so a body over it is seen (saturating: the limit
            // may be usize::MAX).
            let room = limit
                .saturating_add(1)
                .saturating_sub(out.len())
                .min(out.len().max(MIN_GROWTH));
            out.reserve_exact(room);
        }
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        let consumed = before_in as usize;
        let status = inflater
            .decompress_vec(&input[consumed..], out, FlushDecompress::Finish)
            .map_err(|err| broken(&format!("the gzip data is corrupt ({err})")))?;
        if out.len() > limit {
            return Err(InflateError::TooLarge);
        }
        match status {
            Status::StreamEnd => return Ok(inflater.total_in() as usize),
            Status::Ok | Status::BufError => {
                let stalled =
                    inflater.total_in() == before_in && inflater.total_out() == before_out;
                let all_read = inflater.total_in() as usize == input.len();
                if out.len() < out.capacity() && (all_read || stalled) {
                    return Err(broken("the gzip stream is cut off inside its data"));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "inflate_tests.rs"]
mod tests;
