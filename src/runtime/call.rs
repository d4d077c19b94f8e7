//! Which Python call a task serves, carried into the tasks it spawns, so that the records
//! converz's threads log for one call are emitted on that call's thread (`python::log_bridge`).
//!
//! A call's operation runs on its calling thread ([`in_call`]), but its pages and push chunks
//! run as tasks on the runtime's threads and decode on the blocking pool: each is started
//! through [`spawn`], [`spawn_blocking`] or [`carry_call`], which hand it the spawning task's
//! call. With calls running in two threads, each thread then emits only its own call's
//! records (and those of calls that have ended); before, either emitted both, so a logging
//! handler's `KeyboardInterrupt` on one call's record could stop the other (outside trial 38
//! F1).

use std::future::Future;

use tokio::task::JoinHandle;

tokio::task_local! {
    static CALL: u64;
}

/// The call the running task serves, if it serves one.
pub fn current_call() -> Option<u64> {
    CALL.try_with(|call| *call).ok()
}

/// `future`, serving `call`.
pub async fn in_call<F: Future>(call: u64, future: F) -> F::Output {
    CALL.scope(call, future).await
}

/// `future`, serving the call the task that makes it serves (if any).
pub fn carry_call<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let call = current_call();
    async move {
        match call {
            Some(call) => CALL.scope(call, future).await,
            None => future.await,
        }
    }
}

/// `tokio::spawn`, the task serving the spawning task's call.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(carry_call(future))
}

/// `tokio::task::spawn_blocking`, the work serving the spawning task's call.
pub fn spawn_blocking<F, R>(work: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let call = current_call();
    tokio::task::spawn_blocking(move || match call {
        Some(call) => CALL.sync_scope(call, work),
        None => work(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_tasks_and_blocking_work_serve_the_spawning_call() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen = runtime.block_on(in_call(7, async {
            let task = spawn(async {
                let inner = spawn_blocking(current_call).await.unwrap();
                (current_call(), inner)
            });
            let nested = task.await.unwrap();
            let carried = tokio::spawn(carry_call(async { current_call() }));
            (current_call(), nested, carried.await.unwrap())
        }));
        assert_eq!(seen, (Some(7), (Some(7), Some(7)), Some(7)));
        // Outside any call, nothing is carried.
        let outside = runtime.block_on(async { spawn(async { current_call() }).await.unwrap() });
        assert_eq!(outside, None);
    }
}
