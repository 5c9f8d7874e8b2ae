//! Progress counters the collectors update as they go, so the command line can show a live status
//! line on a terminal. Counting only: no output happens here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
struct Counters {
    configs_total: AtomicUsize,
    configs_done: AtomicUsize,
    logs_total: AtomicUsize,
    logs_done: AtomicUsize,
    histories_done: AtomicUsize,
    snapshots: AtomicUsize,
}

/// Shared collection progress. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

/// A consistent-enough snapshot of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressSnapshot {
    /// Guest configs to read.
    pub configs_total: usize,
    /// Guest configs read (or failed).
    pub configs_done: usize,
    /// Task logs to read.
    pub logs_total: usize,
    /// Task logs read (or failed).
    pub logs_done: usize,
    /// Node task histories listed.
    pub histories_done: usize,
    /// PBS snapshots listed.
    pub snapshots: usize,
}

impl Progress {
    pub(crate) fn add_configs(&self, n: usize) {
        self.0.configs_total.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn config_done(&self) {
        self.0.configs_done.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_logs(&self, n: usize) {
        self.0.logs_total.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn log_done(&self) {
        self.0.logs_done.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn history_done(&self) {
        self.0.histories_done.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_snapshots(&self, n: usize) {
        self.0.snapshots.fetch_add(n, Ordering::Relaxed);
    }

    /// Read the counters.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let c = &self.0;
        ProgressSnapshot {
            configs_total: c.configs_total.load(Ordering::Relaxed),
            configs_done: c.configs_done.load(Ordering::Relaxed),
            logs_total: c.logs_total.load(Ordering::Relaxed),
            logs_done: c.logs_done.load(Ordering::Relaxed),
            histories_done: c.histories_done.load(Ordering::Relaxed),
            snapshots: c.snapshots.load(Ordering::Relaxed),
        }
    }
}

impl ProgressSnapshot {
    /// One status line, e.g. `guest configs 1200/5000 · task histories 3 · task logs 40/140 · PBS snapshots 70000`.
    pub fn line(&self) -> String {
        format!(
            "collecting: guest configs {}/{} · node task histories {} · task logs {}/{} · PBS snapshots {}",
            self.configs_done, self.configs_total, self.histories_done, self.logs_done, self.logs_total, self.snapshots
        )
    }
}
