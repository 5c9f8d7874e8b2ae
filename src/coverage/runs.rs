//! Per-guest backup runs from the vzdump task history, and the attribution of each task to the
//! backup job that started it (vzdump logs do not name the job, so it is inferred).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::model::{PveInventory, Selection, TaskLogEvidence, Vmid, VzdumpTask};
use crate::tasklog::{ArchiveTarget, ExcludedVolume, GuestOutcome, GuestRun, JobCommand};

use super::index::Index;
use super::jobs::JobCtx;
use super::report::{AttemptStatus, BackupEvent, EvidenceSource};
use super::selection::Resolved;

/// How one guest's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunStatus {
    /// Succeeded.
    Ok,
    /// Failed, with the error line.
    Failed(String),
    /// Still running, or the log was cut before the end: not a result.
    Unknown,
}

/// One guest's backup within one task.
#[derive(Debug, Clone)]
pub(crate) struct RunRecord<'a> {
    /// The task.
    pub task: &'a VzdumpTask,
    /// Start of this guest's backup (task start when the log does not say).
    pub start: DateTime<Utc>,
    /// End of this guest's backup.
    pub end: Option<DateTime<Utc>>,
    /// Elapsed seconds.
    pub duration_s: Option<u64>,
    /// Result.
    pub status: RunStatus,
    /// `--storage` of the command line (None: not printed or log unavailable). Borrowed: 70 000
    /// runs would otherwise copy the same few names (docs/performance.md).
    pub storage: Option<&'a str>,
    /// The archive target: borrowed from the inventory's log, or owned when the runs were
    /// taken out of it ([`TakenRuns`]).
    pub archive: Option<Cow<'a, ArchiveTarget>>,
    /// Archive size (file storages).
    pub size: Option<u64>,
    /// Volumes the log says were left out (borrowed or owned, as `archive`).
    pub excluded: Cow<'a, [ExcludedVolume]>,
    /// The task's names (UPID, node, attributed job, storage), shared by its runs.
    pub names: Arc<TaskNames>,
}

/// The names a task's runs report: made once per task, shared by its runs' report events.
#[derive(Debug)]
pub(crate) struct TaskNames {
    upid: Arc<str>,
    node: Arc<str>,
    job: Option<Arc<str>>,
    storage: Option<Arc<str>>,
}

impl RunRecord<'_> {
    /// The volumes left out, as the report words them: `key (reason)`.
    pub fn excluded_volumes(&self) -> Vec<String> {
        self.excluded
            .iter()
            .map(|v| format!("{} ({})", v.key, v.reason))
            .collect()
    }

    /// The report form.
    pub fn event(&self) -> Option<BackupEvent> {
        let (status, error) = match &self.status {
            RunStatus::Ok => (AttemptStatus::Ok, None),
            RunStatus::Failed(error) => (AttemptStatus::Failed, Some(error.clone())),
            RunStatus::Unknown => return None,
        };
        Some(BackupEvent {
            time: self.start,
            status,
            duration_s: self.duration_s,
            source: EvidenceSource::TaskLog,
            error,
            job: self.names.job.clone(),
            storage: self.names.storage.clone(),
            archive: self.archive.as_deref().map(archive_name),
            size_bytes: self.size,
            upid: Some(self.names.upid.clone()),
            end: self.end,
            node: Some(self.names.node.clone()),
            excluded_volumes: self.excluded_volumes(),
        })
    }
}

/// `vm/100/2024-05-24T14:22:44Z`, the file name of a file archive, or the raw target.
pub(crate) fn archive_name(target: &ArchiveTarget) -> String {
    match target {
        ArchiveTarget::Pbs {
            backup_type,
            backup_id,
            backup_time,
        } => format!(
            "{backup_type}/{backup_id}/{}",
            backup_time.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        ArchiveTarget::File { path } => path.rsplit('/').next().unwrap_or(path).to_string(),
        ArchiveTarget::Other { target, .. } => target.clone(),
    }
}

fn task_ok(status: Option<&str>) -> Option<bool> {
    status.map(|s| s == "OK" || s.starts_with("WARNINGS"))
}

/// Whether a task's command line is consistent with a job's selection.
fn command_matches(command: &JobCommand, job: &JobCtx<'_>) -> bool {
    if command.storage() != job.job.storage.as_deref() {
        return false;
    }
    match &job.job.selection {
        Selection::All { exclude } => {
            let printed: BTreeSet<Vmid> = command.exclude().into_iter().collect();
            let wanted: BTreeSet<Vmid> = exclude.iter().copied().collect();
            (command.all() || !printed.is_empty()) && command.pool().is_none() && printed == wanted
        }
        Selection::Pool { pool } => command.pool() == Some(pool.as_str()),
        Selection::Vmids { vmids } => {
            let printed: BTreeSet<Vmid> = command.vmids.iter().copied().collect();
            let wanted: BTreeSet<Vmid> = vmids.iter().copied().collect();
            command.pool().is_none() && printed == wanted
        }
        Selection::Nothing => false,
    }
}

/// Without a command line: a single-guest task fits a job that may select that guest.
fn id_matches(task: &VzdumpTask, job: &JobCtx<'_>) -> bool {
    let Ok(vmid) = task.id.parse::<Vmid>() else {
        // Multi-guest (or guestless all-job) task: cannot be told apart; accept.
        return true;
    };
    match &job.resolved {
        Resolved::Vmids(set) | Resolved::Pool(set) => set.contains(&vmid),
        Resolved::All(exclude) => !exclude.contains(&vmid),
        Resolved::PoolUnknown { .. } => true,
        Resolved::Nothing => false,
    }
}

/// The job that started a task, when one fits: the task's node runs the job, the task started
/// within `tolerance` after a scheduled occurrence (node time zone), and the command line (when
/// known) matches the job's storage and selection. Among several, the closest occurrence wins,
/// then enabled over disabled, then the smallest id.
pub(crate) fn attribute<'a>(
    task: &VzdumpTask,
    command: Option<&JobCommand>,
    jobs: &[JobCtx<'a>],
    index: &Index<'_>,
    tolerance: Duration,
) -> Option<&'a str> {
    let (tz, _) = index.node_tz(&task.node);
    let mut best: Option<(DateTime<Utc>, bool, &'a str)> = None;
    for job in jobs {
        if !job.runs_on(&task.node) {
            continue;
        }
        let consistent = match command {
            Some(command) => command_matches(command, job),
            None => id_matches(task, job),
        };
        if !consistent {
            continue;
        }
        let Some(event) = &job.event else { continue };
        let Some(occurrence) = event.previous_before(task.start + Duration::seconds(1), tz) else {
            continue;
        };
        if task.start - occurrence > tolerance {
            continue;
        }
        let candidate = (occurrence, job.job.enabled, job.job.id.as_str());
        let better = match best {
            None => true,
            Some((occ, enabled, id)) => {
                (candidate.0, candidate.1, std::cmp::Reverse(candidate.2))
                    > (occ, enabled, std::cmp::Reverse(id))
            }
        };
        if better {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, id)| id)
}

fn guest_status(run: &GuestRun, task: &VzdumpTask, truncated: bool) -> RunStatus {
    match &run.outcome {
        GuestOutcome::Ok => RunStatus::Ok,
        GuestOutcome::Failed { error } => RunStatus::Failed(error.clone()),
        GuestOutcome::Unknown => match (&task.status, truncated) {
            (None, _) | (_, true) => RunStatus::Unknown,
            (Some(status), false) => RunStatus::Failed(format!(
                "the backup of this guest did not finish (task ended with status '{status}')"
            )),
        },
    }
}

/// Every run of every guest, by VMID, newest first; and per task its attributed job.
pub(crate) struct Runs<'a> {
    /// Runs by VMID, newest first (then by UPID).
    pub by_vmid: BTreeMap<Vmid, Vec<RunRecord<'a>>>,
    /// Attributed job per task UPID.
    pub task_jobs: BTreeMap<&'a str, Option<&'a str>>,
}

/// The guest runs of one cluster's vzdump logs, taken out of the inventory, so that
/// [`collect_runs`] owns them and each is freed once its guest is judged: the parsed runs and
/// the report's events never both exist whole (~80 000 of each on a 5 000-guest cluster with a
/// two-week window; docs/performance.md).
#[derive(Debug, Default)]
pub(crate) struct TakenRuns {
    /// Per node history, per task, in the inventory's order: the log's guest runs (`None`
    /// where the task has no parsed log).
    tasks: Vec<Vec<Option<Vec<GuestRun>>>>,
}

impl TakenRuns {
    /// Take every parsed log's guest runs out of `pve`: its logs keep everything else.
    pub(crate) fn take(pve: &mut PveInventory) -> TakenRuns {
        let tasks = pve
            .task_history
            .iter_mut()
            .map(|history| {
                history
                    .tasks
                    .iter_mut()
                    .map(|task| match &mut task.log {
                        TaskLogEvidence::Parsed { log, .. } => {
                            Some(std::mem::take(&mut log.guests))
                        }
                        TaskLogEvidence::Unavailable { .. } => None,
                    })
                    .collect()
            })
            .collect();
        TakenRuns { tasks }
    }

    /// The runs taken from task `task` of node history `history`, once.
    fn take_task(&mut self, history: usize, task: usize) -> Option<Vec<GuestRun>> {
        self.tasks.get_mut(history)?.get_mut(task)?.take()
    }
}

/// Extract the runs from the task history: from the logs themselves, or, given `taken`, from
/// the runs taken out of them (moved into the records, not copied).
pub(crate) fn collect_runs<'a>(
    index: &Index<'a>,
    jobs: &[JobCtx<'a>],
    tolerance: Duration,
    mut taken: Option<TakenRuns>,
) -> Runs<'a> {
    let mut runs = Runs {
        by_vmid: BTreeMap::new(),
        task_jobs: BTreeMap::new(),
    };
    let Some(pve) = index.scope.pve else {
        return runs;
    };
    // One shared copy of each node, job and storage name over all tasks.
    let mut shared: BTreeMap<&str, Arc<str>> = BTreeMap::new();
    let mut share = |name: &'a str| -> Arc<str> {
        shared
            .entry(name)
            .or_insert_with(|| Arc::from(name))
            .clone()
    };
    for (history_at, history) in pve.task_history.iter().enumerate() {
        for (task_at, task) in history.tasks.iter().enumerate() {
            let single: Option<Vmid> = task.id.parse().ok();
            let (command, parsed) = match &task.log {
                TaskLogEvidence::Parsed { log, truncated } => {
                    (log.command.as_ref(), Some((log, *truncated)))
                }
                TaskLogEvidence::Unavailable { .. } => (None, None),
            };
            let job = attribute(task, command, jobs, index, tolerance);
            runs.task_jobs.insert(task.upid.as_str(), job);
            let storage = command.and_then(|c| c.storage());
            let names = Arc::new(TaskNames {
                upid: Arc::from(task.upid.as_str()),
                node: share(&task.node),
                job: job.map(&mut share),
                storage: storage.map(&mut share),
            });
            let task_duration = task
                .end
                .and_then(|end| u64::try_from((end - task.start).num_seconds()).ok());
            let owned = taken
                .as_mut()
                .and_then(|taken| taken.take_task(history_at, task_at));
            let guest_runs: Vec<Cow<'a, GuestRun>> = match (owned, parsed) {
                (Some(owned), _) => owned.into_iter().map(Cow::Owned).collect(),
                (None, Some((log, _))) => log.guests.iter().map(Cow::Borrowed).collect(),
                (None, None) => Vec::new(),
            };
            match parsed {
                Some((_, truncated)) if !guest_runs.is_empty() => {
                    for run in guest_runs {
                        let start = run.started_at.unwrap_or(task.start);
                        let end = run.finished_at.or(if single == Some(run.vmid) {
                            task.end
                        } else {
                            None
                        });
                        let duration_s = run
                            .duration_s
                            .or_else(|| {
                                let (s, e) = (run.started_at?, run.finished_at?);
                                u64::try_from((e - s).num_seconds()).ok()
                            })
                            .or(if single == Some(run.vmid) {
                                task_duration
                            } else {
                                None
                            });
                        let (vmid, status, size) = (
                            run.vmid,
                            guest_status(&run, task, truncated),
                            run.archive_size_bytes,
                        );
                        let (archive, excluded) = match run {
                            Cow::Borrowed(run) => (
                                run.archive.as_ref().map(Cow::Borrowed),
                                Cow::Borrowed(run.excluded_volumes.as_slice()),
                            ),
                            Cow::Owned(run) => (
                                run.archive.map(Cow::Owned),
                                Cow::Owned(run.excluded_volumes),
                            ),
                        };
                        runs.by_vmid.entry(vmid).or_default().push(RunRecord {
                            task,
                            start,
                            end,
                            duration_s,
                            status,
                            storage,
                            archive,
                            size,
                            excluded,
                            names: names.clone(),
                        });
                    }
                }
                _ => {
                    // No guest block: only a single-guest task tells whose backup it was.
                    let Some(vmid) = single else { continue };
                    let status = match (parsed, task_ok(task.status.as_deref())) {
                        (_, None) => RunStatus::Unknown,
                        (Some((_, true)), _) => RunStatus::Unknown,
                        (None, Some(true)) => RunStatus::Ok,
                        (Some(_), Some(true)) => continue,
                        (parsed, Some(false)) => RunStatus::Failed(
                            parsed
                                .and_then(|(log, _)| log.job_error.clone())
                                .or_else(|| task.status.clone())
                                .unwrap_or_default(),
                        ),
                    };
                    runs.by_vmid.entry(vmid).or_default().push(RunRecord {
                        task,
                        start: task.start,
                        end: task.end,
                        duration_s: task_duration,
                        status,
                        storage,
                        archive: None,
                        size: None,
                        excluded: Cow::Borrowed(&[]),
                        names: names.clone(),
                    });
                }
            }
        }
    }
    for list in runs.by_vmid.values_mut() {
        list.sort_by(|a, b| {
            b.start
                .cmp(&a.start)
                .then_with(|| a.task.upid.cmp(&b.task.upid))
        });
        // Grown by doubling, a guest's list keeps up to half again as much spare room, for
        // every guest until the report is made.
        list.shrink_to_fit();
    }
    runs
}

/// A task's start and end (None: still running).
pub(crate) type TaskSpan = (DateTime<Utc>, Option<DateTime<Utc>>);

/// Per job (in `jobs` order): the (start, end) of the vzdump tasks that fit it, per node, oldest
/// first. A task fits when its node runs the job and its command line (or, without a log, its
/// guest) matches the job; unlike [`attribute`] the time is free, since a late run after a
/// node's boot (`repeat-missed`) or after an overlong previous run still serves its slot.
pub(crate) fn job_task_starts(
    index: &Index<'_>,
    jobs: &[JobCtx<'_>],
) -> Vec<BTreeMap<String, Vec<TaskSpan>>> {
    let mut starts: Vec<BTreeMap<String, Vec<TaskSpan>>> = vec![BTreeMap::new(); jobs.len()];
    let Some(pve) = index.scope.pve else {
        return starts;
    };
    for task in pve.task_history.iter().flat_map(|h| h.tasks.iter()) {
        let command = match &task.log {
            TaskLogEvidence::Parsed { log, .. } => log.command.as_ref(),
            TaskLogEvidence::Unavailable { .. } => None,
        };
        for (job, found) in jobs.iter().zip(starts.iter_mut()) {
            let fits = job.runs_on(&task.node)
                && match command {
                    Some(command) => command_matches(command, job),
                    None => id_matches(task, job),
                };
            if fits {
                found
                    .entry(task.node.clone())
                    .or_default()
                    .push((task.start, task.end));
            }
        }
    }
    for list in starts.iter_mut().flat_map(|m| m.values_mut()) {
        list.sort_unstable();
    }
    starts
}
