//! A response body into a decoded page: bodies are inflated (gzip) and decoded as they arrive,
//! on tokio's blocking pool, within a limit on their size. Used by the pager for each page and
//! by `/report`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::client::AttemptError;
use super::inflate;
use super::progress::Progress;
use crate::decode::{DecodedPage, PageDecoder};

/// Bytes of body allowed per row asked for. Real rows are well under 1 KiB (a call row with
/// its summaries is about 700 bytes); sixteen times more keeps any real page far below its
/// limit while a server that streams without end (an endless string, `[` then whitespace, a
/// gzip bomb) is stopped. Counted after gzip, as the bytes reach the decoder, which may keep
/// every byte of a page until it is decoded (a page on the reference path does).
const BODY_BYTES_PER_ROW: u64 = 16 * 1024;

/// The words every body-limit error starts with (the Python layer's hint keys on them).
pub const PASSED_THE_LIMIT: &str = "the response body passed the";

/// The words of the error for a report row past [`REPORT_ROW_LIMIT`] (the Python layer's hint
/// keys on them).
pub const ROW_PASSED_THE_LIMIT: &str = "a row of the answer passed the limit of one row,";

/// The least and the most bytes one response body may have, whatever the page size.
pub const MIN_BODY_LIMIT: u64 = 64 << 20;
/// See [`MIN_BODY_LIMIT`]; also the limit of a `/report` answer, which has no page size.
pub const MAX_BODY_LIMIT: u64 = 2 << 30;

/// The most bytes (after gzip) a page of `rows` rows may take: [`BODY_BYTES_PER_ROW`] a row,
/// within [`MIN_BODY_LIMIT`] and [`MAX_BODY_LIMIT`].
pub fn page_body_limit(rows: usize) -> u64 {
    (rows as u64)
        .saturating_mul(BODY_BYTES_PER_ROW)
        .clamp(MIN_BODY_LIMIT, MAX_BODY_LIMIT)
}

/// The most bytes one row of a `/report` answer may take. A report row is one group's values
/// and metrics, well under a KiB; its body has no page size to bound it, so without this a
/// body of one endless row (a gzip bomb) was read up to [`MAX_BODY_LIMIT`], held twice while
/// stitched (outside trial 97 R1: 2 GB resident for a 1 MB body).
pub const REPORT_ROW_LIMIT: u64 = 1 << 20;

/// What one response body may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Bytes of body (after gzip), a row being stitched from several pieces counted twice.
    pub body: u64,
    /// Bytes of the row being stitched, where rows are known to be small (a report's).
    pub row: Option<u64>,
}

impl Limit {
    /// A `/report` answer's: [`MAX_BODY_LIMIT`], and [`REPORT_ROW_LIMIT`] a row.
    pub const REPORT: Limit = Limit {
        body: MAX_BODY_LIMIT,
        row: Some(REPORT_ROW_LIMIT),
    };
}

impl From<u64> for Limit {
    /// A page's limit: `body` bytes, and no row limit of its own.
    fn from(body: u64) -> Self {
        Limit { body, row: None }
    }
}

/// Reads a response body and decodes it off the I/O threads ([`read_body`], then
/// [`Decoding::finish`]).
pub(crate) async fn decode_body(
    response: &mut reqwest::Response,
    decoder: PageDecoder,
    place: &str,
    limit: impl Into<Limit>,
    progress: Option<&Progress>,
) -> Result<DecodedPage, AttemptError> {
    read_body(response, decoder, place, limit.into(), progress, None)
        .await?
        .finish(place)
        .await
}

/// A piece of a body on its way to the worker that decodes it.
enum Piece {
    Bytes(Bytes),
    /// The body ended here, whole.
    End,
}

/// A page whose body is in (or whose worker stopped early with an error), decoding.
pub(crate) struct Decoding {
    worker: JoinHandle<Result<DecodedPage, AttemptError>>,
}

impl Decoding {
    /// Waits for the decoded page.
    pub(crate) async fn finish(self, place: &str) -> Result<DecodedPage, AttemptError> {
        match self.worker.await {
            Ok(page) => page,
            Err(join) => Err(AttemptError::refused(
                place,
                format!("the page decoder stopped: {join}"),
            )),
        }
    }
}

/// Reads a response body, inflating (if gzip) and decoding it as it arrives in a worker on
/// tokio's blocking pool ([`decode_pieces`]): the runtime's two I/O workers only move bytes,
/// and a page's decode overlaps its own download, so little is left to do once its last byte
/// is in. Returns when the body is in (the page's permit can go to the next request), with the
/// decode still running.
///
/// More than `limit` bytes as sent fail the page with a decode error, not retried: reading
/// stops, the connection is dropped, and the bytes kept so far are freed (the inflated size is
/// held to the same limit by the worker). A gzip body is inflated whether or not gzip was asked
/// for (a proxy may compress on its own, and gzip bytes read as JSON only make an unreadable
/// error); any other coding is a decode error that names it. A transport failure mid-body ends
/// the worker without finishing the page, and the attempt is retried as a whole.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    decoder: PageDecoder,
    place: &str,
    limit: Limit,
    progress: Option<&Progress>,
    on_received: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<Decoding, AttemptError> {
    let coding = inflate::coding(response.headers())
        .map_err(|message| AttemptError::refused(place, message))?;
    // Unbounded: the socket is never held back by the decode (a whole body was kept before it
    // was decoded anyway, and the worker frees each piece as it takes it).
    let (pieces, inbox) = tokio::sync::mpsc::unbounded_channel();
    let owned_place = place.to_owned();
    // The body's length as the server declared it, when it is also the decoder's (no gzip):
    // what an error about a row too large for the limit can size its advice by.
    let declared = match coding {
        inflate::Coding::Identity => response.content_length(),
        inflate::Coding::Gzip => None,
    };
    let framed = is_framed(response.headers());
    let worker = crate::runtime::call::spawn_blocking(move || {
        let decoded = decode_pieces(inbox, coding, decoder, limit, declared, &owned_place);
        if framed {
            decoded.map_err(|e| AttemptError::sent_incomplete(&owned_place, e))
        } else {
            decoded
        }
    });
    let mut received = 0u64;
    let mut gather = Gather::default();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received = received.saturating_add(chunk.len() as u64);
                if received > limit.body {
                    return Err(body_too_large(place, limit.body));
                }
                if let Some(progress) = progress {
                    progress.add_bytes(chunk.len() as u64);
                }
                if let Some(on_received) = on_received {
                    on_received(received);
                }
                // The worker stopped on an error if a send fails: it is the page's outcome.
                if !gather.take(chunk, |bytes| pieces.send(Piece::Bytes(bytes)).is_ok()) {
                    break;
                }
            }
            Ok(None) => {
                if gather.flush(|bytes| pieces.send(Piece::Bytes(bytes)).is_ok()) {
                    let _ = pieces.send(Piece::End);
                }
                break;
            }
            Err(err) => return Err(AttemptError::transport(place, &err)),
        }
    }
    Ok(Decoding { worker })
}

/// Chunks smaller than this are copied into a buffer of their own before they go on.
const SMALL_CHUNK: usize = 16 * 1024;

/// The bytes of small chunks gathered before they go on as one piece.
const GATHERED: usize = 64 * 1024;

/// Gathers a body's small chunks into pieces of [`GATHERED`] bytes; larger chunks go on as
/// they are, without a copy.
///
/// Why: each chunk the connection yields is a view into its read buffer, and a page's decoder
/// may keep every piece of the body until it is decoded. A server sending its body in chunks
/// of one byte (chunked framing allows it) made each payload byte cost ~30 bytes of memory (the
/// views, the channel's slots and the framing bytes they kept alive), so the body limit, which
/// counts payload bytes, bounded nothing: 116 MB for 3.7 MB of payload (outside trial 52 F1).
/// Copied, a small chunk frees its view at once; real bodies arrive in chunks of many KiB.
#[derive(Default)]
struct Gather {
    small: Vec<u8>,
}

impl Gather {
    /// Takes the next chunk; hands `send` every piece ready to go. False when a send failed.
    fn take(&mut self, chunk: Bytes, mut send: impl FnMut(Bytes) -> bool) -> bool {
        if chunk.len() >= SMALL_CHUNK {
            return self.flush(&mut send) && send(chunk);
        }
        if self.small.capacity() == 0 {
            self.small.reserve_exact(GATHERED + SMALL_CHUNK);
        }
        self.small.extend_from_slice(&chunk);
        self.small.len() < GATHERED || self.flush(send)
    }

    /// Hands on what is gathered, if anything. False when the send failed.
    fn flush(&mut self, mut send: impl FnMut(Bytes) -> bool) -> bool {
        self.small.is_empty() || send(Bytes::from(std::mem::take(&mut self.small)))
    }
}

/// Whether the body's end is the server's word: a length or chunks, which hyper checks, so a
/// body that ends early fails as a transport error before its end is seen. A body delimited
/// by the connection's close has no such word, and a close mid-way looks like its end.
fn is_framed(headers: &reqwest::header::HeaderMap) -> bool {
    headers.contains_key(reqwest::header::CONTENT_LENGTH)
        || headers
            .get_all(reqwest::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
            })
}

/// The worker of [`read_body`]: takes pieces of a body until its end, inflating a gzip body
/// (at most `limit` bytes) and feeding the page's decoder as it goes. Pieces that stop without
/// an end (the reader failed or was cancelled) end it without decoding the rest. A gzip
/// stream that is cut off, corrupt or followed by other bytes fails the attempt as a transport
/// failure, so it is retried.
fn decode_pieces(
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<Piece>,
    coding: inflate::Coding,
    mut decoder: PageDecoder,
    limits: Limit,
    declared: Option<u64>,
    place: &str,
) -> Result<DecodedPage, AttemptError> {
    let limit = usize::try_from(limits.body).unwrap_or(usize::MAX);
    let row_limit = limits
        .row
        .map_or(usize::MAX, |row| usize::try_from(row).unwrap_or(usize::MAX));
    let mut gunzip = (coding == inflate::Coding::Gzip).then(|| inflate::Gunzip::new(limit));
    let mut inflated = Vec::new();
    // The body's bytes fed so far (after gzip), and with them the row being stitched from
    // several pieces, which the splitter holds a copy of: a gzip bomb's one endless string was
    // held twice and peaked at ~1.8 times the limit (outside trial 52 F2). Counted twice on
    // every page alike, whether or not the page keeps its body, so a row's fate does not
    // depend on the page it lands on (outside trial 53 F1).
    let mut fed = 0usize;
    let mut feed = |decoder: &mut PageDecoder, chunk: Bytes| {
        fed = fed.saturating_add(chunk.len());
        decoder
            .feed(chunk)
            .map_err(|e| AttemptError::from_decoder(place, e))?;
        let stitched = decoder.stitched_bytes();
        if stitched > row_limit {
            return Err(row_past_limit(place, row_limit));
        }
        if fed.saturating_add(stitched) > limit {
            return Err(row_too_large(place, limit as u64, fed, stitched, declared));
        }
        Ok(())
    };
    // Time this thread spent waiting for the body, and inflating and decoding it: a fetch whose
    // decode waits on the link has time to lay its text out for polars
    // (`PageDecoder::finish_waited`).
    let (mut waited, mut worked) = (Duration::ZERO, Duration::ZERO);
    let mut clock = Instant::now();
    loop {
        let piece = inbox.blocking_recv();
        let now = Instant::now();
        waited += now - clock;
        clock = now;
        let Some(piece) = piece else {
            return Err(AttemptError::refused(
                place,
                "the body stopped before its end".to_owned(),
            ));
        };
        match (piece, gunzip.as_mut()) {
            (Piece::Bytes(chunk), None) => feed(&mut decoder, chunk)?,
            (Piece::Bytes(chunk), Some(gunzip)) => {
                gunzip
                    .push(&chunk, &mut inflated)
                    .map_err(|e| inflate_failed(e, place, limit))?;
                for piece in inflated.drain(..) {
                    feed(&mut decoder, piece)?;
                }
            }
            (Piece::End, _) => break,
        }
        let now = Instant::now();
        worked += now - clock;
        clock = now;
    }
    if let Some(gunzip) = gunzip {
        gunzip
            .finish(&mut inflated)
            .map_err(|e| inflate_failed(e, place, limit))?;
        for piece in inflated {
            feed(&mut decoder, piece)?;
        }
    }
    decoder
        .finish_waited(waited, worked)
        .map_err(|e| AttemptError::from_decoder(place, e))
}

#[cold]
fn inflate_failed(err: inflate::InflateError, place: &str, limit: usize) -> AttemptError {
    match err {
        inflate::InflateError::TooLarge => body_too_large(place, limit as u64),
        inflate::InflateError::Broken(message) => AttemptError::broken_body(place, message),
    }
}

/// A body and the row being stitched from its pieces past `limit` ([`decode_pieces`]): says
/// the sizes it saw and, when the body's length is known (`declared`), the page size whose
/// limit holds it (a body and one open row within it take at most twice its length). Sized by
/// the bytes seen so far, the advice fell short every time it was followed (outside trial 54).
#[cold]
pub(super) fn row_too_large(
    place: &str,
    limit: u64,
    fed: usize,
    stitched: usize,
    declared: Option<u64>,
) -> AttemptError {
    let way_out = match declared {
        Some(length) => format!(
            "page_size={} or more holds this {} MiB body",
            length.saturating_mul(2).div_ceil(BODY_BYTES_PER_ROW),
            length.div_ceil(1 << 20),
        ),
        None => "a page_size whose limit is twice the row's size holds it (the row's whole \
                 size is not known here)"
            .to_owned(),
    };
    let message = format!(
        "{PASSED_THE_LIMIT} {} MiB limit ({} KiB per row asked for, within {} to {} MiB): {} \
         MiB of body read, with a row of at least {} MiB in it still open, which counts twice \
         (it is held twice while it is stitched from the body's pieces). Far more than real \
         rows take (an endless or runaway body?); if one row really is this large, raise \
         page_size ({way_out}), or leave its column out with columns=",
        limit >> 20,
        BODY_BYTES_PER_ROW >> 10,
        MIN_BODY_LIMIT >> 20,
        MAX_BODY_LIMIT >> 20,
        fed >> 20,
        stitched >> 20,
    );
    AttemptError::refused(place, message)
}

/// A row past the [`Limit::row`] of a body whose rows are known to be small (a report's).
#[cold]
fn row_past_limit(place: &str, limit: usize) -> AttemptError {
    let message = format!(
        "{ROW_PASSED_THE_LIMIT} {} MiB: a report's rows are its groups' values and metrics, far \
         smaller, so reading stopped (an endless or runaway body?)",
        limit >> 20
    );
    AttemptError::refused(place, message)
}

#[cold]
pub(super) fn body_too_large(place: &str, limit: u64) -> AttemptError {
    // Which page size helps depends on where the limit stands (outside trial 30 F11: a single
    // 70 MB row, under the floor's 64 MiB at page_size=1000, was told to lower page_size,
    // which never helps it).
    let way_out = match limit {
        MIN_BODY_LIMIT => format!(
            "every page may take {} MiB however few rows it asks for: if rows are this large, \
             lower page_size so a page's rows fit; if one row is, raise page_size (the limit \
             grows past {} rows)",
            MIN_BODY_LIMIT >> 20,
            MIN_BODY_LIMIT / BODY_BYTES_PER_ROW
        ),
        MAX_BODY_LIMIT => "if the rows really are this large, lower page_size".to_owned(),
        _ => "if the rows really average this much, a page size cannot help (the limit \
              follows it): leave their largest column out with columns=, or raise page_size \
              if only a short page holds them"
            .to_owned(),
    };
    let message = format!(
        "{PASSED_THE_LIMIT} {} MiB limit ({} KiB per row asked for, within {} to {} MiB): far \
         more than real rows take, so reading stopped (an endless or runaway body?); {way_out}",
        limit >> 20,
        BODY_BYTES_PER_ROW >> 10,
        MIN_BODY_LIMIT >> 20,
        MAX_BODY_LIMIT >> 20,
    );
    AttemptError::refused(place, message)
}

#[cfg(test)]
mod gather_tests {
    use super::*;

    fn gathered(chunks: &[Bytes]) -> Vec<Bytes> {
        let mut gather = Gather::default();
        let mut out = Vec::new();
        for chunk in chunks {
            assert!(gather.take(chunk.clone(), |b| {
                out.push(b);
                true
            }));
        }
        assert!(gather.flush(|b| {
            out.push(b);
            true
        }));
        out
    }

    #[test]
    fn one_byte_chunks_go_on_as_few_pieces_with_every_byte_in_order() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Bytes> = body.iter().map(|&b| Bytes::from(vec![b])).collect();
        let pieces = gathered(&chunks);
        assert!(
            pieces.len() <= body.len() / GATHERED + 1,
            "{} pieces",
            pieces.len()
        );
        assert_eq!(pieces.concat(), body);
    }

    #[test]
    fn large_chunks_go_on_uncopied_between_gathered_small_ones() {
        let large = Bytes::from(vec![7u8; SMALL_CHUNK]);
        let chunks = [
            Bytes::from_static(b"ab"),
            large.clone(),
            Bytes::from_static(b"c"),
            Bytes::from_static(b"d"),
        ];
        let pieces = gathered(&chunks);
        assert_eq!(pieces.len(), 3);
        assert_eq!(&pieces[0][..], b"ab");
        assert_eq!(
            pieces[1].as_ptr(),
            large.as_ptr(),
            "the large chunk was copied"
        );
        assert_eq!(&pieces[2][..], b"cd");
    }

    #[test]
    fn a_failed_send_stops_the_gathering() {
        let mut gather = Gather::default();
        let big = Bytes::from(vec![0u8; GATHERED]);
        assert!(!gather.take(big, |_| false));
        assert!(gather.take(Bytes::from_static(b"x"), |_| false));
        assert!(!gather.flush(|_| false));
    }
}
