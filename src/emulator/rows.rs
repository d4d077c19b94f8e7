//! Rendered rows: every row's JSON rendered once and kept in a few large arenas, each row
//! followed by a comma, so a run of consecutive rows is one slice of an arena (the commas
//! between them included) and a page is a handful of zero-copy slices. A row a POST changed
//! renders again on its first read and is kept until the next change.

use std::sync::OnceLock;

use bytes::Bytes;

/// Where a row's JSON is: `chunks[chunk][start..start + len]`, followed by a comma.
#[derive(Debug, Clone, Copy)]
struct Span {
    chunk: u32,
    len: u32,
    start: usize,
}

/// The rendered rows of one table.
#[derive(Default)]
pub struct Rows {
    chunks: Vec<Bytes>,
    spans: Vec<Span>,
    /// `Some` for a row changed since it was rendered into its arena: its current JSON,
    /// rendered on first read.
    fresh: Vec<Option<Box<OnceLock<Bytes>>>>,
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
    rows.fresh.resize_with(rows.spans.len(), || None);
    rows
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

    /// Row `index`'s current JSON; `render` renders it when a POST changed it.
    #[cfg(test)]
    pub fn get(&self, index: usize, render: impl FnOnce() -> Bytes) -> Bytes {
        match &self.fresh[index] {
            Some(cell) => cell.get_or_init(render).clone(),
            None => self.arena_row(self.spans[index]),
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
            if let Some(cell) = &self.fresh[index] {
                close(&mut run, &mut pieces);
                pieces.push(cell.get_or_init(|| render(index)).clone());
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
        match &mut self.fresh[index] {
            // Changed before: forget its rendering but keep its slot, so pushing the same rows
            // again allocates nothing per row.
            Some(fresh) => drop(fresh.take()),
            slot => *slot = Some(Box::default()),
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
        self.fresh.insert(index, None);
    }
}
