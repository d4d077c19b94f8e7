//! Sending a validated [`PushPlan`] chunk by chunk: bounded concurrency, each chunk encoded right
//! before it is sent (so peak memory stays near the input), retried on 429/5xx/connection loss
//! (updates are idempotent: the same values give the same result), and an exact account of what
//! was applied when something still fails.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use tokio::sync::Semaphore;

use super::client::{ApiClient, AttemptError};
use super::progress::Progress;
use crate::encode::{PushPlan, Target};
use crate::error::Error;

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
    /// Not sent, because an earlier chunk failed for good.
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
    /// Indices of chunks that are not known to be applied (failed or not sent).
    pub fn unapplied(&self) -> Vec<usize> {
        self.statuses
            .iter()
            .enumerate()
            .filter(|(_, s)| !matches!(s, ChunkStatus::Applied { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// The first failure, if any.
    pub fn first_error(&self) -> Option<&Error> {
        self.statuses.iter().find_map(|s| match s {
            ChunkStatus::Failed(err) => Some(err),
            _ => None,
        })
    }
}

#[derive(serde::Deserialize)]
struct UpdateAnswer {
    #[serde(default)]
    updated: u64,
    #[serde(default)]
    not_found: Vec<serde_json::Value>,
}

/// Sends every chunk of `plan` to its target endpoint.
pub async fn push_plan(
    client: &ApiClient,
    plan: Arc<PushPlan>,
    target: Target,
    progress: Arc<Progress>,
) -> PushOutcome {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(client.config().max_concurrency));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(plan.chunks().len());
    for index in 0..plan.chunks().len() {
        let (client, plan, progress) = (client.clone(), Arc::clone(&plan), Arc::clone(&progress));
        let (permits, stop) = (Arc::clone(&permits), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.ok()?;
            // A chunk that failed for good (bad key, 401, retries spent) means later chunks would
            // most likely fail the same way; stop so the caller can resume cleanly.
            if stop.load(std::sync::atomic::Ordering::Acquire) {
                return None;
            }
            let status = send_chunk(&client, &plan, index, target, &progress).await;
            if matches!(status.0, ChunkStatus::Failed(_)) {
                stop.store(true, std::sync::atomic::Ordering::Release);
            }
            Some(status)
        }));
    }
    let mut statuses = Vec::with_capacity(tasks.len());
    let mut bytes_sent = 0;
    for task in tasks {
        match task.await {
            Ok(Some((status, bytes))) => {
                bytes_sent += bytes;
                statuses.push(status);
            }
            Ok(None) => statuses.push(ChunkStatus::NotSent),
            Err(join) => statuses.push(ChunkStatus::Failed(Error::Transport {
                endpoint: format!("POST {}", target.path()),
                attempts: 0,
                message: format!("push task failed: {join}"),
            })),
        }
    }
    PushOutcome {
        statuses,
        bytes_sent,
        elapsed: started.elapsed(),
    }
}

async fn send_chunk(
    client: &ApiClient,
    plan: &PushPlan,
    index: usize,
    target: Target,
    progress: &Progress,
) -> (ChunkStatus, u64) {
    let endpoint = format!("POST {} chunk {}", target.path(), index + 1);
    let body = match plan.encode(index) {
        Ok(body) => body,
        Err(err) => return (ChunkStatus::Failed(err), 0),
    };
    let bytes = body.len() as u64;
    let answer = client
        .with_retries(&endpoint, Some(progress), || {
            let body = body.clone();
            let endpoint = &endpoint;
            async move {
                let response = client
                    .send(Method::POST, target.path(), &[], Some(body))
                    .await?;
                let text = response
                    .bytes()
                    .await
                    .map_err(|e| AttemptError::transport(endpoint, &e))?;
                serde_json::from_slice::<UpdateAnswer>(&text)
                    .map_err(|e| AttemptError::decode(endpoint, Error::Json(e)))
            }
        })
        .await;
    match answer {
        Ok(answer) => {
            progress.add_bytes(bytes);
            progress.add_page(plan.chunks()[index].rows as u64);
            let status = ChunkStatus::Applied {
                updated: answer.updated,
                not_found: answer.not_found,
            };
            (status, bytes)
        }
        Err(err) => (ChunkStatus::Failed(err), 0),
    }
}
