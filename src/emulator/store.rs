//! The tenant's state for the life of the server: rows, their rendered JSON ([`Rows`]), and the
//! custom attributes POSTs added. Behind one `RwLock`: GETs share it, POSTs and inserts take it briefly.

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::attrs::{Attributes, Extra};
use super::data::{make_activity, make_calls, make_reps, Activity, Call, Rep};
use super::render::{call_json, rep_json, write_call, write_rep};
use super::rows::{render_all, Rows};
use super::EmulatorConfig;

/// All data of one emulated tenant.
pub struct Store {
    pub reps: Vec<Rep>,
    /// Each rep's JSON.
    pub rep_rows: Rows,
    pub calls: Vec<Call>,
    /// Each call's JSON.
    pub call_rows: Rows,
    pub activity: Vec<Activity>,
    /// The values POSTs set on calls / reps, overriding or adding columns.
    pub call_extra: Attributes,
    pub rep_extra: Attributes,
    /// Attribute names POSTs added to calls / reps, in first-seen order.
    pub call_attributes: Vec<Arc<str>>,
    pub rep_attributes: Vec<Arc<str>>,
    pub today: NaiveDate,
    /// Bumped (under the write lock) by every change to rows: kept gzip page bodies
    /// ([`super::gzip_cache`]) of an older generation are stale.
    pub generation: u64,
    inserts: SmallRng,
}

impl Store {
    /// Generates the tenant of `config`; rendering runs on every core.
    pub fn generate(config: &EmulatorConfig) -> Self {
        let reps = make_reps(config.reps.max(1), config.seed, config.today);
        let calls = make_calls(config.calls, &reps, config.seed, config.today, config.days);
        let activity = make_activity(&reps, config.seed, config.today, config.days);
        let rep_rows = render_all(reps.len(), |i, out| write_rep(out, &reps[i], Extra::none()));
        let call_rows = render_all(calls.len(), |i, out| {
            write_call(out, &calls[i], &reps[calls[i].rep as usize], Extra::none());
        });
        Self {
            call_extra: Attributes::new(calls.len()),
            rep_extra: Attributes::new(reps.len()),
            reps,
            rep_rows,
            calls,
            call_rows,
            activity,
            call_attributes: Vec::new(),
            rep_attributes: Vec::new(),
            today: config.today,
            generation: 0,
            inserts: SmallRng::seed_from_u64(config.seed ^ 0x1A5E_0004),
        }
    }

    fn render_call(&self, index: usize) -> Bytes {
        let call = &self.calls[index];
        call_json(
            call,
            &self.reps[call.rep as usize],
            self.call_extra.row(index),
        )
    }

    /// Call `index`'s JSON. A POST only marks the rows it changes, so a 100,000-row update
    /// neither re-renders nor frees 100,000 buffers under the write lock; a changed row
    /// renders on its first read and is kept.
    #[cfg(test)]
    pub fn call_row(&self, index: usize) -> Bytes {
        self.call_rows.get(index, || self.render_call(index))
    }

    /// The calls `indices` as pieces of a page (see [`Rows::pieces`]).
    pub fn call_pieces(&self, indices: impl Iterator<Item = usize>) -> Vec<Bytes> {
        self.call_rows.pieces(indices, |i| self.render_call(i))
    }

    /// Rep `index`'s JSON (changed rows as for calls). Calls keep the dimensions they were
    /// made with.
    #[cfg(test)]
    pub fn rep_row(&self, index: usize) -> Bytes {
        self.rep_rows.get(index, || {
            rep_json(&self.reps[index], self.rep_extra.row(index))
        })
    }

    /// The reps `indices` as pieces of a page.
    pub fn rep_pieces(&self, indices: impl Iterator<Item = usize>) -> Vec<Bytes> {
        self.rep_rows
            .pieces(indices, |i| rep_json(&self.reps[i], self.rep_extra.row(i)))
    }

    pub fn mark_call_changed(&mut self, index: usize) {
        self.call_rows.mark_changed(index);
    }

    pub fn mark_rep_changed(&mut self, index: usize) {
        self.rep_rows.mark_changed(index);
    }

    /// The insert fault: a few new calls with ids between existing ones in the first tenth of
    /// the order, so every later row moves to a later offset.
    pub fn insert_early_calls(&mut self, count: usize) {
        self.generation += 1;
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
            call.duration = self.inserts.random_range(30..600);
            call.hold_time = 0;
            call.silence_time = 0;
            let json = call_json(&call, &self.reps[call.rep as usize], Extra::none());
            self.calls.insert(at + 1, call);
            self.call_rows.insert(at + 1, json);
            self.call_extra.insert_row(at + 1);
        }
    }
}
