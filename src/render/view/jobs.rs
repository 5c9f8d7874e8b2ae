//! The backup jobs table: schedule, selection, target and each node's last run.

use crate::coverage::report::Report;

use super::format::{or_none, Formatter, When, NONE};
use super::Badge;

/// One node's last run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRunView {
    /// Node.
    pub node: String,
    /// Start.
    pub start: When,
    /// Status as PVE says it.
    pub status: Badge,
}

/// A row of the jobs table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// Enabled / disabled.
    pub enabled: Badge,
    /// Schedule as written, or `—`.
    pub schedule: String,
    /// Readable schedule, or `—`.
    pub schedule_readable: String,
    /// Next run.
    pub next_run: When,
    /// Selection, readable.
    pub selection: String,
    /// How many guests it selects (`12`, or `unknown`).
    pub selected: String,
    /// Node restriction, or `all nodes`.
    pub node: String,
    /// Storage (with `PBS` when known to be one), or `local (default)`.
    pub storage: String,
    /// Mode, or `snapshot (default)`.
    pub mode: String,
    /// Comment (empty: none).
    pub comment: String,
    /// Last run per node.
    pub last_runs: Vec<JobRunView>,
    /// Last runs as one line (Markdown).
    pub last_runs_text: String,
}

/// Every job, in the report's order.
pub(crate) fn job_rows(report: &Report, fmt: &Formatter) -> Vec<JobRow> {
    report
        .jobs
        .iter()
        .map(|job| {
            let last_runs: Vec<JobRunView> = job
                .last_runs
                .iter()
                .map(|run| JobRunView {
                    node: run.node.clone(),
                    start: fmt.when(Some(run.start)),
                    status: match run.status.as_deref() {
                        None => Badge::new("running", "info", ""),
                        Some("OK") => Badge::new("OK", "ok", ""),
                        Some(s) if s.starts_with("WARNINGS") => Badge::new(s, "warn", ""),
                        Some(s) => Badge::new(s, "bad", ""),
                    },
                })
                .collect();
            let last_runs_text = if last_runs.is_empty() {
                NONE.to_string()
            } else {
                last_runs
                    .iter()
                    .map(|r| format!("{}: {} {}", r.node, r.start.text, r.status.text))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let storage = match (job.storage.as_deref(), job.storage_is_pbs) {
                (None, _) => "local (default)".to_string(),
                (Some(s), Some(true)) => format!("{s} (PBS)"),
                (Some(s), _) => s.to_string(),
            };
            JobRow {
                id: fmt.of_cluster(&job.cluster, &job.id),
                enabled: if job.enabled {
                    Badge::new("enabled", "ok", "")
                } else {
                    Badge::new("disabled", "bad", "")
                },
                schedule: or_none(job.schedule.as_deref()),
                schedule_readable: or_none(job.schedule_readable.as_deref()),
                next_run: fmt.when(job.next_run),
                selection: job.selection.clone(),
                selected: match &job.selected_vmids {
                    Some(vmids) => vmids.len().to_string(),
                    None => "unknown".to_string(),
                },
                node: job.node.clone().unwrap_or_else(|| "all nodes".to_string()),
                storage,
                mode: job
                    .mode
                    .clone()
                    .unwrap_or_else(|| "snapshot (default)".to_string()),
                comment: job.comment.clone().unwrap_or_default(),
                last_runs,
                last_runs_text,
            }
        })
        .collect()
}
