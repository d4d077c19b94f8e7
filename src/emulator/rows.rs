//! Rendered rows: every row's JSON rendered once and kept in a few large arenas, each row
//! followed by a comma, so a run of consecutive rows is one slice of an arena (the commas
//! between them included) and a page is a handful of zero-copy slices. A row a POST changed
//! renders again on its first read and is kept until the next change.
//!
//! A POST only flips a row's changed flag: the slots that keep changed rows' JSON are made in
//! blocks on first read, so a push into a fresh store allocates nothing per row.

use std::sync::OnceLock;

use bytes::Bytes;

/// Where a row's JSON is: `chunks[chunk][start..start + len]`, followed by a comma.
#[derive(Debug, Clone, Copy)]
struct Span {
    chunk: u32,
    len: u32,
    start: usize,
}

/// Rows per block of changed rows' kept JSON.
const BLOCK: usize = 4_096;

/// The kept JSON of a block of rows, each rendered on first read.
type Block = Box<[OnceLock<Bytes>]>;

/// The rendered rows of one table.
#[derive(Default)]
pub struct Rows {
    chunks: Vec<Bytes>,
    spans: Vec<Span>,
    /// Rows changed since they were rendered into their arena.
    changed: Vec<bool>,
    /// Per block of [`BLOCK`] rows, made on the first read of a changed row in it: each
    /// changed row's current JSON.
    fresh: Vec<OnceLock<Block>>,
}

/// One thread's rendered rows: the bytes, and each row's start and length.
type Arena = (Vec<u8>, Vec<(usize, u32)>);

/// Renders rows `0..count` on every core (up to 8 arenas).
pub fn render_all(count: usize, render: impl Fn(usize, &mut Vec<u8>) + Sync) -> Rows {
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 8);
    let part = count.div_ceil(threads).max(1);
    let render = &render;
    let arenas: Vec<Arena> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(part)
            .map(|first| {
                scope.spawn(move || {
                    let last = (first + part).min(count);
                    let mut arena = Vec::with_capacity((last - first) * 800);
                    let mut spans = Vec::with_capacity(last - first);
                    for index in first..last {
                        let start = arena.len();
                        render(index, &mut arena);
                        spans.push((start, (arena.len() - start) as u32));
                        arena.push(b',');
                    }
                    // Give back the estimate's slack: the arena lives as long as the server.
                    arena.shrink_to_fit();
                    (arena, spans)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut rows = Rows::default();
    for (chunk, (arena, spans)) in arenas.into_iter().enumerate() {
        rows.chunks.push(Bytes::from(arena));
        rows.spans
            .extend(spans.into_iter().map(|(start, len)| Span {
                chunk: chunk as u32,
                len,
                start,
            }));
    }
    rows.changed = vec![false; rows.spans.len()];
    rows.fresh = blocks(rows.spans.len());
    rows
}

/// No kept JSON for `rows` rows.
fn blocks(rows: usize) -> Vec<OnceLock<Block>> {
    (0..rows.div_ceil(BLOCK)).map(|_| OnceLock::new()).collect()
}

impl Rows {
    /// Rows rendered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    #[cfg(test)]
    fn arena_row(&self, span: Span) -> Bytes {
        self.chunks[span.chunk as usize].slice(span.start..span.start + span.len as usize)
    }

    /// Changed row `index`'s kept JSON, rendered by `render` on first read.
    fn kept(&self, index: usize, render: impl FnOnce() -> Bytes) -> Bytes {
        let block =
            self.fresh[index / BLOCK].get_or_init(|| (0..BLOCK).map(|_| OnceLock::new()).collect());
        block[index % BLOCK].get_or_init(render).clone()
    }

    /// Row `index`'s current JSON; `render` renders it when a POST changed it.
    #[cfg(test)]
    pub fn get(&self, index: usize, render: impl FnOnce() -> Bytes) -> Bytes {
        if self.changed[index] {
            self.kept(index, render)
        } else {
            self.arena_row(self.spans[index])
        }
    }

    /// The rows `indices` as pieces to join with commas: runs of consecutive unchanged rows
    /// merge into one slice of their arena.
    pub fn pieces(
        &self,
        indices: impl Iterator<Item = usize>,
        render: impl Fn(usize) -> Bytes,
    ) -> Vec<Bytes> {
        let mut pieces = Vec::new();
        // The open run: its arena and byte range.
        let mut run: Option<(u32, usize, usize)> = None;
        let close = |run: &mut Option<(u32, usize, usize)>, pieces: &mut Vec<Bytes>| {
            if let Some((chunk, start, end)) = run.take() {
                pieces.push(self.chunks[chunk as usize].slice(start..end));
            }
        };
        for index in indices {
            if self.changed[index] {
                close(&mut run, &mut pieces);
                pieces.push(self.kept(index, || render(index)));
                continue;
            }
            let span = self.spans[index];
            let end = span.start + span.len as usize;
            match &mut run {
                // The next row starts just after this one's comma.
                Some((chunk, _, run_end)) if *chunk == span.chunk && *run_end + 1 == span.start => {
                    *run_end = end;
                }
                _ => {
                    close(&mut run, &mut pieces);
                    run = Some((span.chunk, span.start, end));
                }
            }
        }
        close(&mut run, &mut pieces);
        pieces
    }

    /// Row `index` changed: it renders again on its next read.
    pub fn mark_changed(&mut self, index: usize) {
        self.changed[index] = true;
        if let Some(block) = self.fresh[index / BLOCK].get_mut() {
            drop(block[index % BLOCK].take());
        }
    }

    /// A new row at `index` (later rows move up by one).
    pub fn insert(&mut self, index: usize, json: Bytes) {
        let len = json.len() as u32;
        self.chunks.push(json);
        self.spans.insert(
            index,
            Span {
                chunk: (self.chunks.len() - 1) as u32,
                len,
                start: 0,
            },
        );
        self.changed.insert(index, false);
        // Later rows moved: their kept JSON is in the wrong slots. Changed rows render again.
        self.fresh = blocks(self.spans.len());
    }
}
