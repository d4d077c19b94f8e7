//! The tenant's state for the life of the server: rows, their rendered JSON, and the custom
//! attributes POSTs added. Behind one `RwLock`: GETs share it, POSTs and inserts take it briefly.

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::data::{make_activity, make_calls, make_reps, Activity, Call, Rep};
use super::render::{call_json, rep_json};
use super::EmulatorConfig;

/// All data of one emulated tenant.
pub struct Store {
    pub reps: Vec<Rep>,
    /// Each rep's JSON as generated; `rep_row` is the current one.
    pub rep_json: Vec<Bytes>,
    pub calls: Vec<Call>,
    /// Each call's JSON as generated; `call_row` is the current one.
    pub call_json: Vec<Bytes>,
    /// Rows a POST changed since they were rendered.
    call_stale: Vec<bool>,
    rep_stale: Vec<bool>,
    pub activity: Vec<Activity>,
    /// Attribute names POSTs added to calls / reps, in first-seen order.
    pub call_attributes: Vec<Arc<str>>,
    pub rep_attributes: Vec<Arc<str>>,
    pub today: NaiveDate,
    inserts: SmallRng,
}

impl Store {
    /// Generates the tenant of `config`; rendering runs on every core.
    pub fn generate(config: &EmulatorConfig) -> Self {
        let reps = make_reps(config.reps.max(1), config.seed, config.today);
        let calls = make_calls(config.calls, &reps, config.seed, config.today, config.days);
        let activity = make_activity(&reps, config.seed, config.today, config.days);
        let rep_json = reps.iter().map(rep_json).collect();
        let call_json = render_all(&calls, &reps);
        Self {
            rep_stale: vec![false; reps.len()],
            call_stale: vec![false; calls.len()],
            reps,
            rep_json,
            calls,
            call_json,
            activity,
            call_attributes: Vec::new(),
            rep_attributes: Vec::new(),
            today: config.today,
            inserts: SmallRng::seed_from_u64(config.seed ^ 0x1A5E_0004),
        }
    }

    /// Call `index`'s JSON. A POST only marks the rows it changes as stale, so a 100,000-row
    /// update neither re-renders nor frees 100,000 buffers under the write lock (freeing
    /// buffers rendered on other threads was a third of its time); stale rows render on read.
    pub fn call_row(&self, index: usize) -> Bytes {
        if self.call_stale[index] {
            let call = &self.calls[index];
            call_json(call, &self.reps[call.rep as usize])
        } else {
            self.call_json[index].clone()
        }
    }

    /// Rep `index`'s JSON (stale as for calls). Calls keep the dimensions they were made with.
    pub fn rep_row(&self, index: usize) -> Bytes {
        if self.rep_stale[index] {
            rep_json(&self.reps[index])
        } else {
            self.rep_json[index].clone()
        }
    }

    pub fn mark_call_changed(&mut self, index: usize) {
        self.call_stale[index] = true;
    }

    pub fn mark_rep_changed(&mut self, index: usize) {
        self.rep_stale[index] = true;
    }

    /// The insert fault: a few new calls with ids between existing ones in the first tenth of
    /// the order, so every later row moves to a later offset.
    pub fn insert_early_calls(&mut self, count: usize) {
        for _ in 0..count {
            let span = (self.calls.len() / 10).max(1);
            if self.calls.len() < 2 {
                return;
            }
            let at = self.inserts.random_range(0..span.min(self.calls.len() - 1));
            let (before, after) = (self.calls[at].call_id, self.calls[at + 1].call_id);
            if after - before < 2 {
                continue;
            }
            let mut call = self.calls[at].clone();
            call.call_id = before + 1;
            call.extra = Default::default();
            call.duration = self.inserts.random_range(30..600);
            call.hold_time = 0;
            call.silence_time = 0;
            let json = call_json(&call, &self.reps[call.rep as usize]);
            self.calls.insert(at + 1, call);
            self.call_json.insert(at + 1, json);
            self.call_stale.insert(at + 1, false);
        }
    }
}

fn render_all(calls: &[Call], reps: &[Rep]) -> Vec<Bytes> {
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 8);
    let part = calls.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = calls
            .chunks(part)
            .map(|slice| {
                scope.spawn(move || {
                    slice
                        .iter()
                        .map(|c| call_json(c, &reps[c.rep as usize]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}
