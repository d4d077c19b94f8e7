//! CPU-bound work shared out over the machine's cores on scoped threads: steps that run on
//! the caller's thread with nothing else to overlap them (a push's checks before its first
//! request, a frame's conversion into another form).

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `work(i)` for every `i` in `0..jobs`, each once, on up to as many threads as cores (the
/// caller's thread is one of them); the results in job order. Jobs are taken one at a time as
/// threads free up, so one slow job does not leave a thread idle behind a fixed split. A
/// panic in a job is resumed on the caller's thread.
pub fn map_on_cores<R: Send>(jobs: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(jobs);
    if threads <= 1 {
        return (0..jobs).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            if job >= jobs {
                return done;
            }
            done.push((job, work(job)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(take)).collect();
        let mut done = take();
        for helper in helpers {
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|(job, _)| *job);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::map_on_cores;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_job_runs_once_and_results_come_in_job_order() {
        for jobs in [0, 1, 2, 3, 17, 1_000] {
            let runs = AtomicUsize::new(0);
            let results = map_on_cores(jobs, |job| {
                runs.fetch_add(1, Ordering::Relaxed);
                job * 3
            });
            assert_eq!(runs.load(Ordering::Relaxed), jobs);
            assert_eq!(results, (0..jobs).map(|j| j * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_panic_in_a_job_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| map_on_cores(8, |job| assert_ne!(job, 5)));
        assert!(caught.is_err());
    }
}
