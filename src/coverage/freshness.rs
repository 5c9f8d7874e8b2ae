//! Freshness: whether a guest's latest due backup exists. Per enabled job that selects the
//! guest, the latest scheduled occurrence older than the grace (node time zone) must be followed
//! by a success on that job's storage; a policy age threshold replaces the schedule rule. An
//! absence only counts when a complete source could have shown the backup.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::schedule::CalendarEvent;

use super::evidence::PlaceEvidence;
use super::report::Freshness;
use super::runs::{RunRecord, RunStatus};

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
}

/// A freshness verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreshnessVerdict {
    /// Verdict.
    pub freshness: Freshness,
    /// One sentence why.
    pub reason: String,
    /// Missed scheduled runs (stale only).
    pub missed_runs: Option<u32>,
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

fn verdict(freshness: Freshness, reason: String, missed_runs: Option<u32>) -> FreshnessVerdict {
    FreshnessVerdict {
        freshness,
        reason,
        missed_runs,
    }
}

impl FreshnessInput<'_> {
    fn matches_storage(run: &RunRecord<'_>, storage: Option<&str>) -> bool {
        match (storage, run.storage.as_deref()) {
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
            None,
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
                    None,
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
                None,
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
                None,
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
                None,
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
                let missed = event.occurrences_between(last, due, self.tz, MISSED_RUNS_CAP);
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
                    Some(u32::try_from(count).unwrap_or(u32::MAX)),
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
                None,
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
                let period = event
                    .previous_before(due, self.tz)
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
                verdict(Freshness::Never, reason, None)
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
                verdict(Freshness::Unknown, reason, None)
            }
        }
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
            let due = event.previous_before(before, self.tz)?;
            return Some((due, due));
        }
        let mut range: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for zone in every_offset() {
            let due = event.previous_before(before, zone)?;
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
                None,
            ),
            Some(s) if self.everything_complete(cutoff) => verdict(
                Freshness::Stale,
                format!(
                    "last success {} is {} h old, more than the maximum age of {hours} h \
                     ({source})",
                    ts(s),
                    (self.now - s).num_hours()
                ),
                None,
            ),
            Some(s) => verdict(
                Freshness::Unknown,
                format!(
                    "last success seen {} is older than the maximum age of {hours} h ({source}), \
                     but a later backup cannot be ruled out: {}",
                    ts(s),
                    self.history_gap()
                ),
                None,
            ),
            None if self.everything_complete(cutoff) => verdict(
                Freshness::Never,
                "no backup of this guest was found in any complete source".to_string(),
                None,
            ),
            None => verdict(
                Freshness::Unknown,
                format!(
                    "no backup seen, but the evidence is incomplete: {}",
                    self.history_gap()
                ),
                None,
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
                None,
            ),
            None => {
                let since = self.history_since.unwrap_or(self.now);
                if self.everything_complete(since) {
                    verdict(
                        Freshness::Never,
                        "no backup of this guest was found, and no enabled job schedules one"
                            .to_string(),
                        None,
                    )
                } else {
                    verdict(
                        Freshness::Unknown,
                        format!(
                            "no backup seen and no enabled job known to schedule one, but the \
                             evidence is incomplete: {}",
                            self.history_gap()
                        ),
                        None,
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
