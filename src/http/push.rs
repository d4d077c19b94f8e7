//! Sending a validated [`PushPlan`] chunk by chunk: bounded concurrency, each chunk encoded right
//! before it is sent (so peak memory stays near the input), retried on 429/5xx/connection loss
//! (updates are idempotent: the same values give the same result), and an exact account of what
//! was applied when something still fails. A chunk counts as applied only when the API answers
//! with the documented success body (`answer` reads and checks it, bounded).
//!
//! The chunk tasks live in a [`JoinSet`] owned by the push future: when the caller drops that
//! future (Ctrl-C, an exception in a progress callback) every task is aborted, so nothing keeps
//! posting in the background. Each task writes its chunk's fate into a [`PushLedger`] the caller
//! holds, which therefore still says exactly what was applied after an interrupted push.

mod answer;
pub use answer::NOT_KNOWN_APPLIED;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::client::{ApiClient, AttemptError};
use super::progress::Progress;
use super::retry::Failure;
use crate::encode::{ChunkKind, PushPlan, Target};
use crate::error::Error;
use answer::{answer_limit, read_answer, Sent};

/// What happened to one chunk.
#[derive(Debug)]
pub enum ChunkStatus {
    /// The API accepted it.
    Applied {
        /// The API's `updated` count.
        updated: u64,
        /// Keys the API did not know (not created).
        not_found: Vec<serde_json::Value>,
    },
    /// It failed after every retry; its rows may not be applied.
    Failed(Error),
    /// Its request was sent, but the push stopped (Ctrl-C) before the answer came: it may or
    /// may not be applied. Every chunk is in this state while its request is in flight.
    Interrupted,
    /// Not sent: an earlier chunk failed for good, the push was interrupted first (or while
    /// every attempt so far failed to connect), or (dry run) nothing is sent.
    NotSent,
}

/// The outcome of a push, one status per chunk of the plan, in plan order.
#[derive(Debug)]
pub struct PushOutcome {
    /// Per chunk, same order as [`PushPlan::chunks`].
    pub statuses: Vec<ChunkStatus>,
    /// Bytes of request bodies sent (successful attempts).
    pub bytes_sent: u64,
    /// Wall time of the whole push.
    pub elapsed: std::time::Duration,
}

impl PushOutcome {
    /// Indices of chunks that are not known to be applied (failed, interrupted or not sent).
    pub fn unapplied(&self) -> Vec<usize> {
        self.statuses
            .iter()
            .enumerate()
            .filter(|(_, s)| !matches!(s, ChunkStatus::Applied { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// The first failure, if any, with its chunk index.
    pub fn first_error(&self) -> Option<(usize, &Error)> {
        self.statuses
            .iter()
            .enumerate()
            .find_map(|(index, s)| match s {
                ChunkStatus::Failed(err) => Some((index, err)),
                _ => None,
            })
    }
}

/// The fate of every chunk of a push as it happens, readable after the push future ended or
/// was dropped half-way.
#[derive(Debug)]
pub struct PushLedger {
    statuses: Mutex<Vec<ChunkStatus>>,
    bytes_sent: AtomicU64,
    started: Instant,
}

impl PushLedger {
    /// A ledger of `chunks` chunks, none sent yet; the push's clock starts now.
    pub fn new(chunks: usize) -> Self {
        Self {
            statuses: Mutex::new((0..chunks).map(|_| ChunkStatus::NotSent).collect()),
            bytes_sent: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn set(&self, index: usize, status: ChunkStatus) {
        // After `outcome` took the statuses, a task still finishing its last poll (its abort
        // lands at its next await) records into nothing.
        if let Some(slot) = self.statuses.lock().get_mut(index) {
            *slot = status;
        }
    }

    /// Whether every chunk in `chunks` was applied.
    fn all_applied(&self, chunks: std::ops::Range<usize>) -> bool {
        let statuses = self.statuses.lock();
        chunks
            .into_iter()
            .all(|index| matches!(statuses.get(index), Some(ChunkStatus::Applied { .. })))
    }

    /// Takes the statuses recorded so far (a chunk still in flight stays
    /// [`ChunkStatus::Interrupted`]). Call once, after the push ended or was dropped.
    pub fn outcome(&self) -> PushOutcome {
        PushOutcome {
            statuses: std::mem::take(&mut *self.statuses.lock()),
            bytes_sent: self.bytes_sent.load(Ordering::Acquire),
            elapsed: self.started.elapsed(),
        }
    }
}

/// Set per kind of chunk when one of that kind failed for good: the chunks of its kind after
/// it are not sent (they would most likely fail the same way), while the clears of the rows
/// whose values were applied still go (see [`push_plan`]).
#[derive(Default)]
struct Stops {
    values: AtomicBool,
    clears: AtomicBool,
}

impl Stops {
    fn of(&self, kind: &ChunkKind) -> &AtomicBool {
        match kind {
            ChunkKind::Columnar => &self.values,
            ChunkKind::Clear { .. } => &self.clears,
        }
    }
}

/// What each chunk task needs.
#[derive(Clone)]
struct Shared {
    client: ApiClient,
    plan: Arc<PushPlan>,
    target: Target,
    progress: Arc<Progress>,
    ledger: Arc<PushLedger>,
    /// Bodies that may exist as bytes at once (see [`ENCODED_BODIES`]).
    encoded: Arc<Semaphore>,
    /// Buffers freed by sent bodies, to write the next bodies into.
    buffers: Buffers,
}

/// Body buffers given back once their bytes were sent, at most one per [`ENCODED_BODIES`]
/// permit: writing body after body into the same few buffers touches their memory once, where
/// a new ~6 MB buffer per body was mapped and faulted in afresh (~1,500 page faults a body).
/// They are freed with the push.
type Buffers = Arc<Mutex<Vec<Vec<u8>>>>;

/// Chunk bodies that may exist as bytes at once, whatever the concurrency: a body is written
/// to the socket in a moment and then freed while its answer is awaited, so more chunks in
/// flight need no more bodies; each 100,000-row body of a 6-column frame is ~6 MB.
const ENCODED_BODIES: usize = 2;

/// Sends every chunk of `plan` to its target endpoint, recording each chunk's fate in `ledger`.
/// Dropping the returned future aborts every chunk task.
pub async fn push_plan(
    client: &ApiClient,
    plan: Arc<PushPlan>,
    target: Target,
    progress: Arc<Progress>,
    ledger: Arc<PushLedger>,
) {
    let permits = Arc::new(Semaphore::new(client.config().max_concurrency));
    let stops = Arc::new(Stops::default());
    let shared = Shared {
        client: client.clone(),
        plan,
        target,
        progress,
        ledger: Arc::clone(&ledger),
        encoded: Arc::new(Semaphore::new(ENCODED_BODIES)),
        buffers: Arc::default(),
    };
    // Dropped with the push's future: every chunk task is aborted at its next await.
    let mut tasks = JoinSet::new();
    let mut task_chunk = HashMap::new();
    let first_clear = (shared.plan.chunks().iter())
        .position(|chunk| matches!(chunk.kind, ChunkKind::Clear { .. }));
    let mut index = 0;
    while index < shared.plan.chunks().len() {
        if Some(index) == first_clear {
            // Clears go after the values, once every value chunk is answered: a row is never
            // cleared while its new values are not applied (outside trial 66 F4: the clear
            // chunk was sent beside the values, and applied when they were refused). A value
            // chunk that failed stops the value chunks after it, not the clears of the rows
            // applied before it: without them every row that clears would stay to push, and
            // a resume under a failure in each push would never get smaller.
            join_all(&mut tasks, &task_chunk, &ledger, target).await;
        }
        if !ledger.all_applied(shared.plan.values_of(index)) {
            index += 1; // its rows' values are not applied: not sent, left to push
            continue;
        }
        // Chunks start in key order: the permit is taken here rather than inside each task,
        // where the runtime's threads would start whichever task they polled first (with one
        // chunk at a time, a failure must leave exactly the chunks after it unsent).
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let kind = &shared.plan.chunks()[index].kind;
        if stops.of(kind).load(Ordering::Acquire) {
            match first_clear {
                Some(clears) if index < clears => index = clears,
                _ => break,
            }
            continue;
        }
        let (shared, stops) = (shared.clone(), Arc::clone(&stops));
        let handle = tasks.spawn(crate::runtime::call::carry_call(async move {
            let _permit = permit;
            if !send_chunk(&shared, index).await {
                let kind = &shared.plan.chunks()[index].kind;
                stops.of(kind).store(true, Ordering::Release);
            }
        }));
        task_chunk.insert(handle.id(), index);
        index += 1;
    }
    join_all(&mut tasks, &task_chunk, &ledger, target).await;
}

/// Waits for every chunk task in `tasks`; a task that panicked (a bug) leaves its chunk
/// failed, as not known to be applied.
async fn join_all(
    tasks: &mut JoinSet<()>,
    task_chunk: &HashMap<tokio::task::Id, usize>,
    ledger: &PushLedger,
    target: Target,
) {
    while let Some(joined) = tasks.join_next().await {
        if let Err(join) = joined {
            if let Some(&index) = task_chunk.get(&join.id()) {
                ledger.set(
                    index,
                    ChunkStatus::Failed(Error::Transport {
                        endpoint: endpoint(target),
                        attempts: 0,
                        message: format!("push task failed: {join}"),
                    }),
                );
            }
        }
    }
}

/// `"POST /calls"`: the endpoint every error of a chunk names (the chunk is its index).
fn endpoint(target: Target) -> String {
    format!("POST {}", target.path())
}

/// Sends chunk `index` and records its fate; false when it failed for good.
///
/// Each attempt encodes the body again (the same bytes) rather than keeping it for a retry,
/// and hands it to the request as a body that is not kept for a redirect either, so a body's
/// buffer is given back (for the next body) as soon as it is written to the socket, while its
/// answer is still awaited.
async fn send_chunk(shared: &Shared, index: usize) -> bool {
    let Shared {
        client,
        plan,
        target,
        progress,
        ledger,
        encoded,
        buffers,
    } = shared;
    let endpoint = endpoint(*target);
    let rows = plan.chunks()[index].rows;
    // Whether any attempt's request may have reached the server: from then on a stop leaves
    // the chunk "interrupted" (it may be applied), not "not sent".
    let reached = AtomicBool::new(false);
    let answer = client
        .with_retries(&endpoint, Some(progress), || {
            let (endpoint, reached) = (&endpoint, &reached);
            async move {
                let body = encode_body(plan, index, encoded, buffers).await?;
                let bytes = body.len();
                ledger.set(index, ChunkStatus::Interrupted);
                let response = client
                    .send(Method::POST, target.path(), &[], Some(body.into_request()))
                    .await;
                match &response {
                    // No connection, so no request (outside trial 75 F9: a push to a server
                    // that refused every connection, stopped, said its chunks were in flight).
                    Err(failed) if failed.never_sent() && !reached.load(Ordering::Acquire) => {
                        ledger.set(index, ChunkStatus::NotSent);
                    }
                    _ => reached.store(true, Ordering::Release),
                }
                let response = response?;
                let sent = Sent {
                    plan,
                    index,
                    target: *target,
                };
                let answer = read_answer(endpoint, response, &sent, answer_limit(bytes)).await?;
                Ok((answer, bytes as u64))
            }
        })
        .await;
    match answer {
        Ok((answer, bytes)) => {
            progress.add_bytes(bytes);
            progress.add_page(rows as u64);
            ledger.bytes_sent.fetch_add(bytes, Ordering::AcqRel);
            let status = ChunkStatus::Applied {
                updated: answer.updated,
                not_found: answer.not_found,
            };
            ledger.set(index, status);
            true
        }
        Err(err) => {
            ledger.set(index, ChunkStatus::Failed(err));
            false
        }
    }
}

/// Chunk `index`'s body, encoded once one of the `encoded` permits is free, into a buffer
/// from `buffers` when one is there; the permit is held by the body's bytes and returned,
/// with the buffer, when they are freed.
async fn encode_body(
    plan: &PushPlan,
    index: usize,
    encoded: &Arc<Semaphore>,
    buffers: &Buffers,
) -> Result<OnceBody, AttemptError> {
    let permit = Arc::clone(encoded)
        .acquire_owned()
        .await
        .expect("the encoded-bodies semaphore is never closed");
    let mut held = Held {
        bytes: buffers.lock().pop().unwrap_or_default(),
        buffers: Arc::clone(buffers),
        _permit: permit,
    };
    plan.encode_into(index, &mut held.bytes)
        .map_err(|error| AttemptError {
            failure: Failure::Permanent,
            error,
        })?;
    Ok(OnceBody(Some(Bytes::from_owner(held))))
}

/// A body's bytes, the pool its buffer goes back to, and the permit they hold.
struct Held {
    bytes: Vec<u8>,
    buffers: Buffers,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Held {
    /// Gives the buffer back before the permit (dropped after this) lets the next body be
    /// encoded, so that body finds it.
    fn drop(&mut self) {
        self.buffers.lock().push(std::mem::take(&mut self.bytes));
    }
}

/// A request body sent once: its length is declared (the request carries Content-Length) and
/// it is not kept to send again, so its bytes are freed once written.
struct OnceBody(Option<Bytes>);

impl OnceBody {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, Bytes::len)
    }

    fn into_request(self) -> reqwest::Body {
        reqwest::Body::wrap(self)
    }
}

impl http_body::Body for OnceBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|bytes| Ok(http_body::Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len() as u64)
    }
}
