//! A page body on the wire: `[piece,piece,...]` streamed in frames. Large pieces (runs of
//! rows in an arena) go out as they are, without a copy; small ones are gathered into frames.
//! The drop fault cuts the stream after a fraction and fails it, which makes hyper drop the
//! connection.

use axum::body::{Body, Bytes};
use axum::http::HeaderValue;
use axum::response::Response;

use super::faults::Fault;

/// Gathered frames are about this large; pieces at least this large are sent as they are.
const FRAME: usize = 256 * 1024;

/// Where a page body stream is.
struct Cursor {
    pieces: std::vec::IntoIter<Bytes>,
    /// Nothing sent yet: the next frame opens with `[`.
    first: bool,
    /// A piece taken but not yet sent (with the comma before it, when it needs one).
    pending: Option<(bool, Bytes)>,
    sent: usize,
    /// Cut the body after this many bytes (drop fault).
    cut: Option<usize>,
    finished: bool,
}

impl Cursor {
    /// The next piece, with whether a comma goes before it; `None` at the end.
    fn next_piece(&mut self) -> Option<(bool, Bytes)> {
        self.pending.take().or_else(|| {
            let piece = self.pieces.next()?;
            let comma = !std::mem::take(&mut self.first);
            Some((comma, piece))
        })
    }

    /// The next frame of the body before any cut: `None` once it is all sent.
    fn uncut_frame(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        let opening = self.first;
        let mut frame = Vec::new();
        if opening {
            frame.push(b'[');
        }
        loop {
            let Some((comma, piece)) = self.next_piece() else {
                frame.push(b']');
                self.finished = true;
                break;
            };
            if piece.len() >= FRAME {
                if frame.is_empty() && !comma {
                    return Some(piece); // no copy
                }
                // Send what is gathered (and the comma) first; the piece goes next, alone.
                if comma {
                    frame.push(b',');
                }
                self.pending = Some((false, piece));
                break;
            }
            if comma {
                frame.push(b',');
            }
            frame.extend_from_slice(&piece);
            if frame.len() >= FRAME {
                break;
            }
        }
        Some(Bytes::from(frame))
    }

    /// The next frame, or the error that drops the connection.
    fn frame(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        let Some(cut) = self.cut else {
            return self.uncut_frame().map(Ok);
        };
        if self.sent >= cut {
            self.cut = None;
            self.finished = true;
            self.pieces = Vec::new().into_iter();
            self.pending = None;
            return Some(Err(std::io::Error::other("connection dropped (fault)")));
        }
        let mut frame = self.uncut_frame()?;
        if self.sent + frame.len() >= cut {
            frame.truncate(cut - self.sent);
            self.finished = false;
        }
        self.sent += frame.len();
        Some(Ok(frame))
    }
}

/// `[piece,piece,...]` as a streamed JSON response; a drop fault cuts it after a fraction and
/// drops the connection (hyper aborts a chunked body whose stream fails).
pub fn pieces_body(pieces: Vec<Bytes>, fault: Fault) -> Response {
    let total: usize = pieces.iter().map(|r| r.len() + 1).sum::<usize>() + 1;
    let cut = match fault {
        Fault::Drop(fraction) => Some(((total as f64) * fraction) as usize),
        _ => None,
    };
    let cursor = Cursor {
        pieces: pieces.into_iter(),
        first: true,
        pending: None,
        sent: 0,
        cut,
        finished: false,
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.frame().map(|item| (item, cursor))
    });
    // Fused: the compression layer may poll once more after the end.
    let mut response = Response::new(Body::from_stream(futures_util::StreamExt::fuse(stream)));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
