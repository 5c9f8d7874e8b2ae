//! The copy-job section: each sync (pull/push) and tape job with what it reads and writes, its
//! last run and how it treats the guests' groups (selected / copied / stale / missing).

use crate::coverage::report::{CopyJobKind, Report};

use super::format::{Formatter, When};
use super::Badge;

/// One copy job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJobRow {
    /// Server the job is configured on.
    pub server: String,
    /// Job id.
    pub id: String,
    /// `pull`, `push`, `tape`.
    pub kind: &'static str,
    /// What it reads.
    pub source: String,
    /// Where it writes.
    pub target: String,
    /// Depth, filters and options.
    pub selection: String,
    /// Schedule or `—`.
    pub schedule: String,
    /// Last run's state (`OK`, error text; `—` never ran).
    pub state: Badge,
    /// Last run's start.
    pub last_run: When,
    /// `3 selected · 2 copied (1 stale) · 1 missing`.
    pub groups: String,
}

/// The rows, in the report's order (server, id).
pub(crate) fn copy_job_rows(report: &Report, fmt: &Formatter) -> Vec<CopyJobRow> {
    report
        .copy_jobs
        .iter()
        .map(|j| {
            let state = match j.last_run_state.as_deref() {
                None => Badge::new("—", "muted", "the job has not finished a run"),
                Some(s) if s.eq_ignore_ascii_case("ok") => Badge::new("OK", "ok", ""),
                Some(s) if s.starts_with("WARNINGS") => Badge::new(s, "warn", ""),
                Some(s) => Badge::new("failed", "bad", s),
            };
            let mut groups = format!(
                "{} selected · {} copied",
                j.groups_selected, j.groups_copied
            );
            if j.groups_stale > 0 {
                groups.push_str(&format!(" ({} stale)", j.groups_stale));
            }
            if j.groups_missing > 0 {
                groups.push_str(&format!(" · {} missing", j.groups_missing));
            }
            if j.groups_unknown > 0 {
                groups.push_str(&format!(" · {} unknown", j.groups_unknown));
            }
            CopyJobRow {
                server: j.server.clone(),
                id: j.id.clone(),
                kind: match j.kind {
                    CopyJobKind::Pull => "pull",
                    CopyJobKind::Push => "push",
                    CopyJobKind::Tape => "tape",
                },
                source: j.source.clone(),
                target: j.target.clone(),
                selection: j.selection.clone(),
                schedule: j.schedule.clone().unwrap_or_else(|| "—".into()),
                state,
                last_run: fmt.when(j.last_run),
                groups,
            }
        })
        .collect()
}
