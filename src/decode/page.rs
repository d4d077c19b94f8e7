//! Decoding one page: its body chunks go through the framer into arrow-json's decoder as they
//! arrive. The chunks are also kept (refcounted `Bytes`, no copy) until the page is finished,
//! so a page that contradicts the schema so far (a new column, a float in an int column, text in
//! a date column) can be re-inferred and decoded again without another request.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::reader::{Decoder, ReaderBuilder};
use arrow_schema::SchemaRef;
use bytes::Bytes;

use super::framing::Framer;
use super::{infer, DecodedPage, Shared};
use crate::error::{Error, Result};

/// How many times a page is re-decoded after widening before giving up.
const MAX_ATTEMPTS: usize = 4;
/// Rows a page without a schema waits for before inferring one from them and streaming on.
const SAMPLE_ROWS: usize = 2_000;

/// Decodes one page body; see [`super::FetchDecoder::page`].
pub struct PageDecoder {
    shared: Arc<Shared>,
    chunks: Vec<Bytes>,
    framer: Framer,
    streaming: Option<Streaming>,
    /// The data contradicted the streaming schema: decode again at `finish`.
    mismatch: bool,
}

/// The decoder of the streaming pass, while it still agrees with the data.
struct Streaming {
    decoder: Decoder,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Streaming {
    fn new(shared: &Shared, schema: SchemaRef) -> Result<Self> {
        let decoder = ReaderBuilder::new(Arc::clone(&schema))
            .with_batch_size(shared.options.batch_size)
            .with_coerce_primitive(true)
            .with_strict_mode(true)
            .build_decoder()?;
        Ok(Self {
            decoder,
            schema,
            batches: Vec::new(),
        })
    }

    /// Decodes element bytes, flushing whenever the decoder's batch is full.
    fn push(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let read = self.decoder.decode(bytes)?;
            bytes = &bytes[read..];
            if !bytes.is_empty() {
                if let Some(batch) = self.decoder.flush()? {
                    self.batches.push(batch);
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        if let Some(batch) = self.decoder.flush()? {
            self.batches.push(batch);
        }
        Ok((self.schema, self.batches))
    }
}

/// True if a column the page had fractional numbers in was decoded as integers (arrow-json
/// would have truncated them).
fn truncates_floats(schema: &SchemaRef, float_keys: &[String]) -> bool {
    float_keys.iter().any(|key| {
        schema
            .field_with_name(key)
            .is_ok_and(|f| f.data_type().is_integer())
    })
}

impl PageDecoder {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        let streaming = shared
            .schema()
            .and_then(|schema| Streaming::new(&shared, schema).ok());
        Self {
            shared,
            chunks: Vec::new(),
            framer: Framer::new(),
            streaming,
            mismatch: false,
        }
    }

    /// Feeds the next body chunk, at any boundary.
    pub fn feed(&mut self, chunk: Bytes) -> Result<()> {
        let streaming = &mut self.streaming;
        let mut failed = false;
        self.framer.split(&chunk, |element| {
            if let Some(decoder) = streaming.as_mut() {
                // A mismatch is not an error yet: the page is decoded again at `finish`.
                if decoder.push(element).is_err() {
                    failed = true;
                    *streaming = None;
                }
            }
            Ok(())
        })?;
        self.mismatch |= failed;
        self.chunks.push(chunk);
        if self.streaming.is_none() && !self.mismatch {
            self.start_streaming()?;
        }
        Ok(())
    }

    /// Without a schema yet: once another page has one, or enough rows are here to infer one,
    /// decode what has arrived and stream the rest.
    fn start_streaming(&mut self) -> Result<()> {
        let schema = match self.shared.schema() {
            Some(schema) => schema,
            None if self.framer.elements() >= SAMPLE_ROWS => {
                let sample = self.sample();
                let page_schema = infer::infer(&sample, self.shared.options.parse_dates)?;
                self.shared.widen_with(&page_schema)
            }
            None => return Ok(()),
        };
        let mut streaming = Streaming::new(&self.shared, schema)?;
        let mut framer = Framer::new();
        let caught_up = self
            .chunks
            .iter()
            .try_for_each(|chunk| framer.split(chunk, |element| streaming.push(element)));
        match caught_up {
            Ok(()) => self.streaming = Some(streaming),
            Err(_) => self.mismatch = true,
        }
        Ok(())
    }

    /// The rows that have arrived whole, parsed, for inference.
    fn sample(&self) -> Vec<serde_json::Value> {
        let mut bytes = Vec::new();
        let mut framer = Framer::new();
        for chunk in &self.chunks {
            // Element runs concatenate into `{..}{..}`, which serde reads as a stream.
            let _ = framer.split(chunk, |element| {
                bytes.extend_from_slice(element);
                Ok(())
            });
        }
        serde_json::Deserializer::from_slice(&bytes)
            .into_iter::<serde_json::Value>()
            .map_while(std::result::Result::ok)
            .collect()
    }

    /// Completes the page: its rows as record batches.
    pub fn finish(mut self) -> Result<DecodedPage> {
        if !self.framer.is_done() {
            return Err(Error::Decode {
                endpoint: String::new(),
                message: "the body ended before the JSON array was closed".into(),
            });
        }
        if let Some(streaming) = self.streaming.take() {
            if let Ok((schema, batches)) = streaming.finish() {
                if !truncates_floats(&schema, self.framer.float_keys()) {
                    return Ok(DecodedPage::new(batches));
                }
            }
        }
        self.decode_again()
    }

    /// Infers this page's schema, widens the shared one, and decodes the kept chunks with it.
    #[cold]
    fn decode_again(&self) -> Result<DecodedPage> {
        let body = self.chunks.concat();
        let rows = infer::parse_rows(&body)?;
        if rows.is_empty() {
            return Ok(DecodedPage::new(Vec::new()));
        }
        let page_schema = infer::infer(&rows, self.shared.options.parse_dates)?;
        drop(rows);
        let mut last_error = None;
        for _ in 0..MAX_ATTEMPTS {
            let schema = self.shared.widen_with(&page_schema);
            let mut streaming = Streaming::new(&self.shared, Arc::clone(&schema))?;
            let mut framer = Framer::new();
            let result = framer.split(&body, |element| streaming.push(element));
            match result.and_then(|()| streaming.finish()) {
                Ok((_, batches)) => return Ok(DecodedPage::new(batches)),
                Err(err) => last_error = Some(err),
            }
        }
        Err(Error::Decode {
            endpoint: String::new(),
            message: format!(
                "rows do not fit any inferred schema ({}); pass schema={{...}} to force types",
                last_error.map_or_else(String::new, |e| e.to_string())
            ),
        })
    }
}
