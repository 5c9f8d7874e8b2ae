//! Freshness: whether a guest's latest due backup exists. Per enabled job that selects the
//! guest, the latest scheduled occurrence older than the grace (node time zone) must be followed
//! by a success on that job's storage; a policy age threshold replaces the schedule rule. An
//! absence only counts when a complete source could have shown the backup.
//!
//! Missed runs are counted per slot and node: each node's scheduler runs a job only for its own
//! guests, and PVE records no missed run anywhere, so a slot counts as missed when the node the
//! guest was on started no vzdump task for the job then (nor later, with `repeat-missed`), and the
//! node's task history is complete for that time. A slot the history cannot show stays unknown.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::schedule::CalendarEvent;

use super::evidence::PlaceEvidence;
use super::report::{Freshness, MissedRun, MISSED_LIST_MAX};
use super::runs::TaskSpan;
use super::runs::{RunRecord, RunStatus};
use super::schedule_memo::ScheduleMemo;

/// At most this many missed runs are counted (a minutely schedule would otherwise take long).
pub(crate) const MISSED_RUNS_CAP: usize = 500;

/// A job as freshness needs it.
#[derive(Debug, Clone)]
pub(crate) struct ScheduledJob<'a> {
    /// Job id.
    pub id: &'a str,
    /// Its storage (vzdump's fallback `local` when unset).
    pub storage: &'a str,
    /// The parsed schedule, or why there is none.
    pub event: Result<&'a CalendarEvent, &'a str>,
    /// Whether a slot missed while the node was down is run at the next chance (`repeat-missed`).
    pub repeat_missed: bool,
    /// The vzdump tasks that fit this job, per node, oldest first.
    pub tasks: &'a BTreeMap<String, Vec<TaskSpan>>,
}

/// What is known about one node for judging a slot there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeFacts {
    /// Whether its vzdump task history is complete (all pages, every user's tasks).
    pub history_complete: bool,
    /// The start of that history window.
    pub history_since: Option<DateTime<Utc>>,
    /// Whether it is online now (None: PVE says `unknown`).
    pub online: Option<bool>,
    /// When it last booted (None: not known).
    pub up_since: Option<DateTime<Utc>>,
}

/// Everything freshness needs for one guest.
#[derive(Debug, Clone)]
pub(crate) struct FreshnessInput<'a> {
    /// Enabled jobs that select the guest and run on its node.
    pub jobs: Vec<ScheduledJob<'a>>,
    /// Its runs, newest first.
    pub runs: &'a [RunRecord<'a>],
    /// Archive evidence per storage.
    pub places: &'a BTreeMap<String, PlaceEvidence>,
    /// Whether the guest's node task history is complete.
    pub history_complete: bool,
    /// The start of that history window.
    pub history_since: Option<DateTime<Utc>>,
    /// Why the history is incomplete (for reasons).
    pub history_reason: Option<String>,
    /// Node time zone.
    pub tz: Tz,
    /// Schedule answers shared by every guest of the cluster.
    pub memo: &'a ScheduleMemo,
    /// Whether the zone is known (else UTC was assumed).
    pub tz_known: bool,
    /// A fixed maximum age from the policy: (hours, where from).
    pub max_age: Option<(u32, String)>,
    /// Grace after a scheduled run.
    pub grace: Duration,
    /// The collector's history window in days, when the policy says.
    pub history_days: Option<u32>,
    /// Report time.
    pub now: DateTime<Utc>,
    /// The guest's current node.
    pub node: &'a str,
    /// Where the guest's own runs place it: (start, node), oldest first.
    pub placements: Vec<(DateTime<Utc>, &'a str)>,
    /// Facts per node, by name (a node missing here is no longer in the cluster).
    pub nodes: &'a BTreeMap<&'a str, NodeFacts>,
    /// How long after its slot a scheduled task may start.
    pub tolerance: Duration,
    /// When the guest was created (VM config `meta` ctime), when known.
    pub created: Option<DateTime<Utc>>,
}

/// A freshness verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreshnessVerdict {
    /// Verdict.
    pub freshness: Freshness,
    /// One sentence why.
    pub reason: String,
    /// Scheduled runs with no vzdump task on the guest's node (None: no schedule applies, or the
    /// history cannot tell for some slot).
    pub missed_runs: Option<u32>,
    /// The missed runs that are proven, newest first, at most [`MISSED_LIST_MAX`].
    pub missed: Vec<MissedRun>,
}

/// The slots of one job, judged.
#[derive(Debug, Default)]
struct SlotCount {
    /// Proven missed, newest first.
    missed: Vec<MissedRun>,
    /// Slots the history cannot judge.
    undecided: usize,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn rank(f: Freshness) -> u8 {
    match f {
        Freshness::Failed => 0,
        Freshness::Stale => 1,
        Freshness::Never => 2,
        Freshness::Unknown => 3,
        Freshness::Ok => 4,
    }
}

fn verdict(freshness: Freshness, reason: String) -> FreshnessVerdict {
    FreshnessVerdict {
        freshness,
        reason,
        missed_runs: None,
        missed: Vec::new(),
    }
}

fn in_window(t: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    from <= t && t < to
}

impl FreshnessInput<'_> {
    fn matches_storage(run: &RunRecord<'_>, storage: Option<&str>) -> bool {
        match (storage, run.storage) {
            (None, _) | (_, None) => true,
            (Some(wanted), Some(got)) => wanted == got,
        }
    }

    /// Latest success time (runs and archives) on `storage` (None: anywhere).
    fn latest_success(&self, storage: Option<&str>) -> Option<DateTime<Utc>> {
        let from_runs = self
            .runs
            .iter()
            .filter(|r| r.status == RunStatus::Ok && Self::matches_storage(r, storage))
            .map(|r| r.start)
            .max();
        let from_archives = self
            .places
            .iter()
            .filter(|(id, _)| storage.is_none_or(|s| s == id.as_str()))
            .filter_map(|(_, p)| p.latest.as_ref().map(|a| a.time))
            .max();
        from_runs.max(from_archives)
    }

    /// Latest failed run on `storage` (None: anywhere).
    fn latest_failure(&self, storage: Option<&str>) -> Option<(&RunRecord<'_>, &str)> {
        self.runs.iter().find_map(|r| match &r.status {
            RunStatus::Failed(error) if Self::matches_storage(r, storage) => {
                Some((r, error.as_str()))
            }
            _ => None,
        })
    }

    fn failed_after(
        &self,
        storage: Option<&str>,
        success: Option<DateTime<Utc>>,
    ) -> Option<FreshnessVerdict> {
        let (run, error) = self.latest_failure(storage)?;
        if success.is_some_and(|s| s >= run.start) {
            return None;
        }
        let since = match success {
            Some(s) => format!("last success {}", ts(s)),
            None => "no success seen".to_string(),
        };
        Some(verdict(
            Freshness::Failed,
            format!(
                "the latest attempt at {} failed: {error} ({since})",
                ts(run.start)
            ),
        ))
    }

    /// Whether the task history can show an absence since `since`.
    fn history_covers(&self, since: DateTime<Utc>) -> bool {
        self.history_complete && self.history_since.is_some_and(|h| h <= since)
    }

    fn history_gap(&self) -> String {
        match (&self.history_reason, self.history_since) {
            (Some(reason), _) => format!("the node's task history is incomplete ({reason})"),
            (None, Some(since)) => format!("the task history only reaches back to {}", ts(since)),
            (None, None) => "the node's task history is unknown".to_string(),
        }
    }

    fn window_days(&self) -> Option<f64> {
        self.history_days.map(f64::from).or_else(|| {
            self.history_since
                .map(|s| (self.now - s).num_seconds() as f64 / 86_400.0)
        })
    }

    fn assess_job(&self, job: &ScheduledJob<'_>) -> FreshnessVerdict {
        let event = match job.event {
            Ok(event) => event,
            Err(why) => {
                return verdict(
                    Freshness::Unknown,
                    format!("job '{}' has no usable schedule: {why}", job.id),
                )
            }
        };
        let zone_note = if self.tz_known {
            String::new()
        } else {
            " (node time zone unknown: judged over every UTC offset)".to_string()
        };
        // With the zone unknown the due time is only known to lie in [earliest, latest]: only a
        // success after the latest is surely in time, only one before the earliest surely late.
        let Some((due, latest_due)) = self.due_range(event) else {
            return verdict(
                Freshness::Unknown,
                format!("job '{}': no scheduled run is due yet{zone_note}", job.id),
            );
        };
        let storage = Some(job.storage);
        let success = self.latest_success(storage);
        if let Some(failed) = self.failed_after(storage, success) {
            return failed;
        }
        if let Some(s) = success.filter(|s| *s >= latest_due) {
            return verdict(
                Freshness::Ok,
                format!(
                    "backed up at {} after the run due at {}{zone_note}",
                    ts(s),
                    ts(latest_due)
                ),
            );
        }
        if let Some(s) = success.filter(|s| *s >= due) {
            return verdict(
                Freshness::Unknown,
                format!(
                    "backed up at {}, which is in time for job '{}' only if the node's time \
                     zone puts the due run before it (due between {} and {}); the node time \
                     zone is unknown",
                    ts(s),
                    job.id,
                    ts(due),
                    ts(latest_due)
                ),
            );
        }
        let place = self.places.get(job.storage);
        let archives_complete = place.is_some_and(|p| p.complete);
        // Absence needs a complete source; and a stale or never verdict also needs the task
        // history, since only it could show a failed attempt (which would make it `failed`).
        let conclusive = (archives_complete || self.history_covers(due)) && self.history_complete;
        let why_not = || {
            let mut parts = vec![self.history_gap()];
            if let Some(reason) = place.and_then(|p| p.incomplete_reason.clone()) {
                parts.push(reason);
            }
            parts.join("; ")
        };
        match success {
            Some(last) if conclusive => {
                let missed =
                    self.memo
                        .occurrences_between(event, last, due, self.tz, MISSED_RUNS_CAP);
                let count = missed.len();
                let first = missed.first().copied().unwrap_or(due);
                let at_least = if count >= MISSED_RUNS_CAP {
                    "at least "
                } else {
                    ""
                };
                verdict(
                    Freshness::Stale,
                    format!(
                        "missed {at_least}{count} scheduled run{} of job '{}' since {} (last \
                         success {}){zone_note}",
                        if count == 1 { "" } else { "s" },
                        job.id,
                        ts(first),
                        ts(last)
                    ),
                )
            }
            Some(last) => verdict(
                Freshness::Unknown,
                format!(
                    "last success {} is older than the run due at {}, but a later backup \
                     or a failed attempt cannot be ruled out: {}",
                    ts(last),
                    ts(due),
                    why_not()
                ),
            ),
            None if conclusive => {
                let mut reason = format!(
                    "no backup of this guest by job '{}' (storage '{}') was found",
                    job.id, job.storage
                );
                if let Some(since) = self.history_since {
                    reason.push_str(&format!(" in the history window since {}", ts(since)));
                }
                if archives_complete {
                    reason.push_str(" nor on the storage");
                }
                let period = self
                    .memo
                    .previous_before(event, due, self.tz)
                    .map(|before| (due - before).num_seconds() as f64 / 86_400.0);
                if let (Some(window), Some(period)) = (self.window_days(), period) {
                    if window < period {
                        reason.push_str(&format!(
                            "; the history window ({window:.0} days) is shorter than the \
                             schedule's period ({period:.0} days)"
                        ));
                    } else {
                        reason.push_str(&format!(
                            "; the window ({window:.0} days) spans at least one period \
                             ({period:.1} days)"
                        ));
                    }
                }
                verdict(Freshness::Never, reason)
            }
            None => {
                let mut reason = format!(
                    "no backup by job '{}' seen, but the evidence is incomplete: {}",
                    job.id,
                    why_not()
                );
                if self.history_complete && self.history_since.is_some_and(|h| h > due) {
                    reason.push_str(" (the history window is shorter than the schedule's period)");
                }
                verdict(Freshness::Unknown, reason)
            }
        }
    }

    /// The nodes the guest may have been on at `slot`, as its runs show: the node of the last run
    /// before it, and of the first run after it (or the current node) when they differ.
    fn nodes_at(&self, slot: DateTime<Utc>) -> Vec<&str> {
        let split = self.placements.partition_point(|(t, _)| *t <= slot);
        let before = split.checked_sub(1).and_then(|i| self.placements.get(i));
        let after = self.placements.get(split);
        let mut nodes = match (before, after) {
            (Some((_, b)), Some((_, a))) => vec![*b, *a],
            (Some((_, b)), None) => vec![*b, self.node],
            (None, Some((_, a))) => vec![*a],
            (None, None) => vec![self.node],
        };
        nodes.dedup();
        nodes
    }

    /// Whether the job's storage holds an archive of the guest from `[from, to)`: a backup made
    /// then, even if its task is not in the history.
    fn archived_in(&self, job: &ScheduledJob<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.places
            .get(job.storage)
            .and_then(|p| p.latest.as_ref())
            .is_some_and(|a| in_window(a.time, from, to))
    }

    /// Whether `node` ran `job` for `slot`: a task started at the slot (within the tolerance);
    /// or one was still running then and the next started before the following slot (the
    /// scheduler starts the due run when the previous one ends); or, with `repeat-missed`, any
    /// task started later (the catch-up after the node's scheduler came back).
    fn node_ran(
        &self,
        job: &ScheduledJob<'_>,
        node: &str,
        slot: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> bool {
        let spans = job.tasks.get(node).map(Vec::as_slice).unwrap_or(&[]);
        let on_time = spans.iter().any(|(start, _)| {
            in_window(*start, slot, slot + self.tolerance + Duration::seconds(1))
        });
        let busy = spans
            .iter()
            .any(|(start, end)| *start < slot && end.is_none_or(|e| e > slot));
        let after_busy = busy && spans.iter().any(|(start, _)| in_window(*start, slot, next));
        let caught_up = job.repeat_missed && spans.iter().any(|(start, _)| *start >= slot);
        on_time || after_busy || caught_up
    }

    /// Whether the node was up at `slot`, as far as `/nodes` tells.
    fn node_state(&self, node: &str, slot: DateTime<Utc>, next: DateTime<Utc>) -> String {
        let Some(facts) = self.nodes.get(node) else {
            return format!("{node} is no longer in the cluster");
        };
        match (facts.up_since, facts.online) {
            (Some(boot), _) if boot <= slot => format!(
                "{node} has been up since {}, so it was up then and its scheduler did not start \
                 the job (check `systemctl status pvescheduler` on {node} and whether the job \
                 was enabled then)",
                ts(boot)
            ),
            (Some(boot), _) if boot < next => format!(
                "{node} booted at {}, after the slot: it was probably down or rebooting then",
                ts(boot)
            ),
            (Some(boot), _) => format!(
                "{node} has been up since {} only, so whether it was up then is unknown",
                ts(boot)
            ),
            (None, Some(false)) => format!("{node} is offline now"),
            (None, _) => format!(
                "whether {node} was up then is unknown (its uptime needs Sys.Audit on \
                 /nodes/{node})"
            ),
        }
    }

    /// Judge every slot of `job` in the history window: a slot is run when a task that fits the
    /// job started on the guest's node before the next slot (any time later with
    /// `repeat-missed`), or the guest shows a backup then. None when the slots cannot be placed.
    fn missed_slots(&self, job: &ScheduledJob<'_>) -> Option<SlotCount> {
        let event = job.event.ok()?;
        // With the zone unknown the slots' instants are unknown.
        if !self.tz_known {
            return None;
        }
        let since = self.history_since?;
        // Before the job's first task anywhere the job may not have existed (or had another
        // schedule), before the guest's creation (or, not knowing it, its first trace) the guest
        // may not have: such slots are not judged.
        let job_first = job
            .tasks
            .values()
            .filter_map(|spans| spans.first().map(|(start, _)| *start))
            .min();
        let guest_first = self
            .placements
            .first()
            .map(|(t, _)| *t)
            .into_iter()
            .chain(
                self.places
                    .values()
                    .filter_map(|p| p.latest.as_ref().map(|a| a.time)),
            )
            .min();
        // The creation time beats the first trace: it is earlier for a guest never backed up
        // before, and later for traces a destroyed guest of the same VMID left. A slot at the
        // very second of creation was not the guest's to miss.
        let exists_from = self
            .created
            .map(|c| c + Duration::seconds(1))
            .or(guest_first);
        let start = [Some(since), job_first, exists_from]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(since);
        let before = self.now - self.grace;
        let slots = self.memo.occurrences_between(
            event,
            start - Duration::seconds(1),
            before,
            self.tz,
            MISSED_RUNS_CAP,
        );
        let mut count = SlotCount::default();
        for (i, slot) in slots.iter().copied().enumerate().rev() {
            let next = slots
                .get(i + 1)
                .copied()
                .or_else(|| self.memo.next_after(event, slot, self.tz))
                .map_or(self.now, |n| n.min(self.now));
            if self.archived_in(job, slot, next) {
                continue;
            }
            let nodes = self.nodes_at(slot);
            let ran = nodes
                .iter()
                .any(|node| self.node_ran(job, node, slot, next));
            if ran {
                continue;
            }
            // No trace and no creation time: nothing shows the guest existed at this slot, so a
            // slot its node skipped is not a proven miss of this guest (unknown, not zero).
            if exists_from.is_none() {
                count.undecided += 1;
                continue;
            }
            let known = nodes.iter().all(|node| {
                self.nodes.get(node).is_some_and(|f| {
                    f.history_complete && f.history_since.is_some_and(|h| h <= slot)
                })
            });
            if !known {
                count.undecided += 1;
                continue;
            }
            let states: Vec<String> = nodes
                .iter()
                .map(|node| self.node_state(node, slot, next))
                .collect();
            let catch_up = if job.repeat_missed {
                "repeat-missed is on, yet no later run caught it up"
            } else {
                "repeat-missed is off, so the run was skipped, not caught up later"
            };
            count.missed.push(MissedRun {
                slot,
                node: nodes.join(", "),
                reason: format!(
                    "no vzdump task of job '{}' on {} at that slot; {}; {catch_up}",
                    job.id,
                    nodes.join(" or "),
                    states.join("; ")
                ),
            });
        }
        Some(count)
    }

    /// Whether an absence since `since` is proven, and no failed attempt can hide in the
    /// history (one would turn the negative verdict into `failed`).
    fn everything_complete(&self, since: DateTime<Utc>) -> bool {
        self.history_complete
            && (self.history_covers(since)
                || (!self.places.is_empty() && self.places.values().all(|p| p.complete)))
    }

    /// The latest due run before `now - grace`: (earliest, latest) over the possible zones. With
    /// the node's zone known both are the same; unknown, every whole-hour UTC offset is tried.
    fn due_range(&self, event: &CalendarEvent) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let before = self.now - self.grace;
        if self.tz_known {
            let due = self.memo.previous_before(event, before, self.tz)?;
            return Some((due, due));
        }
        let mut range: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for zone in every_offset() {
            let due = self.memo.previous_before(event, before, zone)?;
            range = Some(match range {
                None => (due, due),
                Some((lo, hi)) => (lo.min(due), hi.max(due)),
            });
        }
        range
    }

    fn assess_max_age(&self, hours: u32, source: &str) -> FreshnessVerdict {
        let success = self.latest_success(None);
        if let Some(failed) = self.failed_after(None, success) {
            return failed;
        }
        let limit = Duration::hours(i64::from(hours));
        let cutoff = self.now - limit;
        match success {
            Some(s) if s >= cutoff => verdict(
                Freshness::Ok,
                format!(
                    "last success {} is within the maximum age of {hours} h ({source})",
                    ts(s)
                ),
            ),
            Some(s) if self.everything_complete(cutoff) => verdict(
                Freshness::Stale,
                format!(
                    "last success {} is {} h old, more than the maximum age of {hours} h \
                     ({source})",
                    ts(s),
                    (self.now - s).num_hours()
                ),
            ),
            Some(s) => verdict(
                Freshness::Unknown,
                format!(
                    "last success seen {} is older than the maximum age of {hours} h ({source}), \
                     but a later backup cannot be ruled out: {}",
                    ts(s),
                    self.history_gap()
                ),
            ),
            None if self.everything_complete(cutoff) => verdict(
                Freshness::Never,
                "no backup of this guest was found in any complete source".to_string(),
            ),
            None => verdict(
                Freshness::Unknown,
                format!(
                    "no backup seen, but the evidence is incomplete: {}",
                    self.history_gap()
                ),
            ),
        }
    }

    fn assess_unscheduled(&self) -> FreshnessVerdict {
        let success = self.latest_success(None);
        if let Some(failed) = self.failed_after(None, success) {
            return failed;
        }
        match success {
            Some(s) => verdict(
                Freshness::Unknown,
                format!(
                    "last backup at {}, but no enabled job schedules this guest, so no run is \
                     due (set max_age_hours in the policy to judge its age)",
                    ts(s)
                ),
            ),
            None => {
                let since = self.history_since.unwrap_or(self.now);
                if self.everything_complete(since) {
                    verdict(
                        Freshness::Never,
                        "no backup of this guest was found, and no enabled job schedules one"
                            .to_string(),
                    )
                } else {
                    verdict(
                        Freshness::Unknown,
                        format!(
                            "no backup seen and no enabled job known to schedule one, but the \
                             evidence is incomplete: {}",
                            self.history_gap()
                        ),
                    )
                }
            }
        }
    }
}

/// Every whole-hour UTC offset a node can be in (UTC−12 … UTC+14), as fixed zones.
fn every_offset() -> impl Iterator<Item = Tz> {
    // `Etc/GMT+N` is N hours *behind* UTC (POSIX sign).
    (-14i32..=12).filter_map(|n| {
        let name = match n.cmp(&0) {
            std::cmp::Ordering::Equal => "Etc/GMT".to_string(),
            std::cmp::Ordering::Greater => format!("Etc/GMT+{n}"),
            std::cmp::Ordering::Less => format!("Etc/GMT{n}"),
        };
        name.parse::<Tz>().ok()
    })
}

/// Decide freshness for one guest.
pub(crate) fn assess_freshness(input: &FreshnessInput<'_>) -> FreshnessVerdict {
    let mut v = freshness_only(input);
    let (missed_runs, missed) = missed_runs(input);
    if let (Freshness::Stale | Freshness::Never, Some(newest)) = (v.freshness, missed.first()) {
        v.reason.push_str(&format!(
            "; missed the run of {}: {}",
            ts(newest.slot),
            newest.reason
        ));
    }
    v.missed_runs = missed_runs;
    v.missed = missed;
    v
}

/// Missed runs over every job that schedules the guest: the count (None when no schedule
/// applies or some slot cannot be judged) and the proven ones, newest first.
fn missed_runs(input: &FreshnessInput<'_>) -> (Option<u32>, Vec<MissedRun>) {
    if input.jobs.is_empty() {
        return (None, Vec::new());
    }
    let mut all = Vec::new();
    let mut decided = true;
    for job in &input.jobs {
        match input.missed_slots(job) {
            Some(count) => {
                decided &= count.undecided == 0;
                all.extend(count.missed);
            }
            None => decided = false,
        }
    }
    all.sort_by(|a, b| b.cmp(a));
    let count = u32::try_from(all.len()).unwrap_or(u32::MAX);
    all.truncate(MISSED_LIST_MAX);
    (decided.then_some(count), all)
}

fn freshness_only(input: &FreshnessInput<'_>) -> FreshnessVerdict {
    if let Some((hours, source)) = &input.max_age {
        return input.assess_max_age(*hours, source);
    }
    if input.jobs.is_empty() {
        return input.assess_unscheduled();
    }
    let mut worst: Option<(FreshnessVerdict, &str)> = None;
    for job in &input.jobs {
        let v = input.assess_job(job);
        let replace = match &worst {
            None => true,
            Some((w, _)) => rank(v.freshness) < rank(w.freshness),
        };
        if replace {
            worst = Some((v, job.id));
        }
    }
    match worst {
        Some((mut v, id)) => {
            if input.jobs.len() > 1 && !v.reason.contains(&format!("'{id}'")) {
                v.reason = format!("job '{id}': {}", v.reason);
            }
            v
        }
        None => input.assess_unscheduled(),
    }
}
