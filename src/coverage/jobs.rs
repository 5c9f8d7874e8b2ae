//! Backup jobs as the engine sees them: the parsed schedule, the zone it is evaluated in,
//! previous and next runs, and the job section of the report.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::{Anomaly, BackupJob, Severity};
use crate::schedule::CalendarEvent;

use super::index::Index;
use super::report::{JobNodeRun, JobReport};
use super::selection::{describe_selection, storage_is_pbs, Resolved};

/// A job with its parsed schedule and resolved selection.
#[derive(Debug, Clone)]
pub(crate) struct JobCtx<'a> {
    /// The job.
    pub job: &'a BackupJob,
    /// The parsed schedule (None: absent or malformed).
    pub event: Option<CalendarEvent>,
    /// Why the schedule cannot be used.
    pub schedule_error: Option<String>,
    /// What the selection resolves to.
    pub resolved: Resolved,
}

impl JobCtx<'_> {
    /// The storage the job writes to (vzdump's fallback `local` when unset).
    pub fn storage_or_default(&self) -> &str {
        self.job.storage.as_deref().unwrap_or("local")
    }

    /// Whether the job runs on `node` (no node restriction, or that node).
    pub fn runs_on(&self, node: &str) -> bool {
        self.job.node.as_deref().is_none_or(|n| n == node)
    }
}

/// Parse a job's schedule; a malformed or missing schedule is an anomaly, not a crash.
pub(crate) fn parse_schedule(
    job: &BackupJob,
) -> (Option<CalendarEvent>, Option<String>, Vec<Anomaly>) {
    let component = format!("job/{}", job.id);
    match job.schedule.as_deref() {
        None => (
            None,
            Some("the job has no schedule".to_string()),
            vec![Anomaly::new(
                Severity::Warning,
                component,
                format!("job {} has no schedule, so it never runs by itself", job.id),
                "set a schedule in Datacenter → Backup",
            )],
        ),
        Some(text) => match CalendarEvent::parse(text) {
            Ok(event) => (Some(event), None, Vec::new()),
            Err(err) => (
                None,
                Some(err.to_string()),
                vec![Anomaly::new(
                    Severity::Warning,
                    component,
                    format!(
                        "job {} has a schedule that cannot be parsed: '{text}'",
                        job.id
                    ),
                    format!("{err}; previous/next runs and freshness for its guests are unknown"),
                )],
            ),
        },
    }
}

/// The zone a job's schedule is shown in: its node's, or the one every node shares. Returns the
/// zone, whether it is known, and its name.
pub(crate) fn job_zone(index: &Index<'_>, job: &BackupJob) -> (Tz, bool) {
    if let Some(node) = &job.node {
        return index.node_tz(node);
    }
    let zones: Vec<(Tz, bool)> = index.nodes.keys().map(|n| index.node_tz(n)).collect();
    match zones.first() {
        Some(first) if zones.iter().all(|z| z == first) => *first,
        Some((tz, _)) => (*tz, false),
        None => (Tz::UTC, false),
    }
}

/// Build the job section.
pub(crate) fn job_report(
    index: &Index<'_>,
    ctx: &JobCtx<'_>,
    selected: Option<Vec<u32>>,
    last_runs: BTreeMap<String, JobNodeRun>,
    now: DateTime<Utc>,
) -> JobReport {
    let job = ctx.job;
    let (tz, known) = job_zone(index, job);
    let previous_run = ctx.event.as_ref().and_then(|e| e.previous_before(now, tz));
    let computed_next = ctx.event.as_ref().and_then(|e| e.next_after(now, tz));
    JobReport {
        cluster: index.scope.pve.map(|p| p.name.clone()).unwrap_or_default(),
        id: job.id.clone(),
        enabled: job.enabled,
        schedule: job.schedule.clone(),
        schedule_readable: ctx.event.as_ref().map(CalendarEvent::describe),
        next_run: if job.enabled {
            job.next_run.or(computed_next)
        } else {
            None
        },
        previous_run,
        timezone: tz.name().to_string(),
        timezone_known: known,
        schedule_error: ctx.schedule_error.clone(),
        selection: describe_selection(&job.selection),
        node: job.node.clone(),
        storage: job.storage.clone(),
        storage_is_pbs: storage_is_pbs(index, job.storage.as_deref()),
        mode: job.mode.clone(),
        comment: job.comment.clone(),
        selected_vmids: selected,
        last_runs: last_runs.into_values().collect(),
    }
}
