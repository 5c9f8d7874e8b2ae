//! Drift: what changed between a previous report and the current one, so the morning reader sees
//! "guest 105 lost its backup since yesterday" without comparing two reports by eye.
//!
//! Pure: compares two [`Report`]s as they are, decides nothing new about any guest. Guests are
//! matched by VMID and jobs by id. Every list is sorted (guests by VMID, jobs by id).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::report::{Coverage, Freshness, GuestReport, JobReport, OffsiteStatus, Report};
use crate::model::{GuestKind, Vmid};

/// Everything that changed between two reports. Empty lists mean "no change of that kind".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Drift {
    /// `generated_at` of the previous report (None only for `Drift::default()`).
    pub previous_generated_at: Option<DateTime<Utc>>,
    /// Guests whose coverage got worse (e.g. covered → not_covered), sorted by VMID.
    pub coverage_lost: Vec<CoverageChange>,
    /// Guests whose coverage got better (e.g. not_covered → covered), sorted by VMID.
    pub coverage_gained: Vec<CoverageChange>,
    /// Guests whose coverage moved to or from `indeterminate`: neither better nor worse, but the
    /// evidence changed; sorted by VMID.
    pub coverage_uncertain: Vec<CoverageChange>,
    /// Guests whose freshness got worse (ok → stale → failed → never), sorted by VMID. Changes
    /// to or from `unknown` are not ranked and are not listed here.
    pub freshness_worse: Vec<FreshnessChange>,
    /// Guests whose latest archive verification went from `ok` to `failed`, sorted by VMID.
    pub verification_failed: Vec<GuestRef>,
    /// Guests whose off-site copies were `ok` and are now `stale`, `missing` or `not_selected`,
    /// or no longer read by any copy job (`after` null); sorted by VMID. A move to `unknown`
    /// is not a loss and is not listed.
    #[serde(default)]
    pub offsite_lost: Vec<OffsiteChange>,
    /// Jobs that were enabled and are now disabled, sorted by id.
    pub jobs_disabled: Vec<String>,
    /// Jobs that were disabled and are now enabled, sorted by id.
    pub jobs_enabled: Vec<String>,
    /// Jobs whose schedule, selection, node, storage or mode changed, sorted by id.
    pub jobs_changed: Vec<JobChange>,
    /// Jobs that did not exist before, sorted.
    pub jobs_added: Vec<String>,
    /// Jobs that no longer exist, sorted.
    pub jobs_removed: Vec<String>,
    /// Guests that are new, sorted by VMID.
    pub guests_added: Vec<GuestRef>,
    /// Guests that are gone, sorted by VMID.
    pub guests_removed: Vec<GuestRef>,
}

impl Drift {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.coverage_lost.is_empty()
            && self.coverage_gained.is_empty()
            && self.coverage_uncertain.is_empty()
            && self.freshness_worse.is_empty()
            && self.verification_failed.is_empty()
            && self.offsite_lost.is_empty()
            && self.jobs_disabled.is_empty()
            && self.jobs_enabled.is_empty()
            && self.jobs_changed.is_empty()
            && self.jobs_added.is_empty()
            && self.jobs_removed.is_empty()
            && self.guests_added.is_empty()
            && self.guests_removed.is_empty()
    }
}

/// A guest, named the way the report names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GuestRef {
    /// Its cluster (empty in drift computed before schema 3).
    #[serde(default)]
    pub cluster: String,
    /// VMID.
    pub vmid: Vmid,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: GuestKind,
    /// Name (None when PVE has none).
    pub name: Option<String>,
    /// Node.
    pub node: String,
}

impl GuestRef {
    fn of(guest: &GuestReport) -> GuestRef {
        GuestRef {
            cluster: guest.cluster.clone(),
            vmid: guest.vmid,
            kind: guest.kind,
            name: guest.name.clone(),
            node: guest.node.clone(),
        }
    }
}

/// A guest that lost its off-site copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsiteChange {
    /// The guest.
    pub guest: GuestRef,
    /// Off-site verdict in the previous report (always `ok`).
    pub before: OffsiteStatus,
    /// Off-site verdict now (null: no copy job reads its datastore any more).
    pub after: Option<OffsiteStatus>,
    /// The current off-site reason.
    pub reason: String,
}

/// A coverage verdict that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageChange {
    /// The guest (as it is now).
    pub guest: GuestRef,
    /// Verdict in the previous report.
    pub before: Coverage,
    /// Verdict now.
    pub after: Coverage,
    /// The current report's reason for the new verdict.
    pub reason: String,
}

/// A freshness verdict that got worse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessChange {
    /// The guest (as it is now).
    pub guest: GuestRef,
    /// Verdict in the previous report.
    pub before: Freshness,
    /// Verdict now.
    pub after: Freshness,
    /// The current report's reason for the new verdict.
    pub reason: String,
}

/// A job whose definition changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobChange {
    /// Job id.
    pub id: String,
    /// One entry per changed field, sorted by field name.
    pub fields: Vec<FieldChange>,
}

/// One field of a job, before and after. `None` is "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `mode`, `node`, `schedule`, `selection` or `storage`.
    pub field: String,
    /// Previous value.
    pub before: Option<String>,
    /// Current value.
    pub after: Option<String>,
}

/// How protected a coverage verdict is, best first; None for `indeterminate`, which is not
/// better or worse than anything, only unknown.
fn coverage_rank(coverage: Coverage) -> Option<u8> {
    match coverage {
        Coverage::Covered => Some(0),
        Coverage::Partial => Some(1),
        Coverage::DisabledOnly => Some(2),
        Coverage::NotCovered => Some(3),
        Coverage::Indeterminate => None,
    }
}

/// How fresh a freshness verdict is, best first; None for `unknown`.
fn freshness_rank(freshness: Freshness) -> Option<u8> {
    match freshness {
        Freshness::Ok => Some(0),
        Freshness::Stale => Some(1),
        Freshness::Failed => Some(2),
        Freshness::Never => Some(3),
        Freshness::Unknown => None,
    }
}

fn verification(guest: &GuestReport) -> Option<&str> {
    guest
        .archive
        .as_ref()
        .and_then(|archive| archive.verification.as_deref())
}

/// Compare two reports. `previous` is the older one; order of the inputs' lists does not matter.
pub fn drift(previous: &Report, current: &Report) -> Drift {
    let mut drift = Drift {
        previous_generated_at: Some(previous.generated_at),
        ..Drift::default()
    };

    // A guest is its cluster and VMID. A report from before schema 3 names no cluster: it had
    // one, taken as the current report's only one.
    let only_cluster = match current.clusters.as_slice() {
        [only] => only.name.as_str(),
        _ => "",
    };
    let cluster_of = |g: &GuestReport| -> String {
        if g.cluster.is_empty() {
            only_cluster.to_string()
        } else {
            g.cluster.clone()
        }
    };
    let before: BTreeMap<(String, Vmid), &GuestReport> = previous
        .guests
        .iter()
        .map(|g| ((cluster_of(g), g.vmid), g))
        .collect();
    let after: BTreeMap<(String, Vmid), &GuestReport> = current
        .guests
        .iter()
        .map(|g| ((cluster_of(g), g.vmid), g))
        .collect();

    for (vmid, old) in &before {
        if !after.contains_key(vmid) {
            drift.guests_removed.push(GuestRef::of(old));
        }
    }
    for (vmid, new) in &after {
        let Some(old) = before.get(vmid) else {
            drift.guests_added.push(GuestRef::of(new));
            continue;
        };
        if old.coverage != new.coverage {
            let change = CoverageChange {
                guest: GuestRef::of(new),
                before: old.coverage,
                after: new.coverage,
                reason: new.coverage_reason.clone(),
            };
            match (coverage_rank(old.coverage), coverage_rank(new.coverage)) {
                (Some(was), Some(now)) if now > was => drift.coverage_lost.push(change),
                (Some(_), Some(_)) => drift.coverage_gained.push(change),
                _ => drift.coverage_uncertain.push(change),
            }
        }
        if let (Some(was), Some(now)) =
            (freshness_rank(old.freshness), freshness_rank(new.freshness))
        {
            if now > was {
                drift.freshness_worse.push(FreshnessChange {
                    guest: GuestRef::of(new),
                    before: old.freshness,
                    after: new.freshness,
                    reason: new.freshness_reason.clone(),
                });
            }
        }
        if verification(old) == Some("ok") && verification(new) == Some("failed") {
            drift.verification_failed.push(GuestRef::of(new));
        }
        let was = old.offsite.as_ref().map(|o| o.status);
        let now = new.offsite.as_ref().map(|o| o.status);
        if was == Some(OffsiteStatus::Ok)
            && !matches!(now, Some(OffsiteStatus::Ok | OffsiteStatus::Unknown))
        {
            drift.offsite_lost.push(OffsiteChange {
                guest: GuestRef::of(new),
                before: OffsiteStatus::Ok,
                after: now,
                reason: new
                    .offsite
                    .as_ref()
                    .map(|o| o.reason.clone())
                    .unwrap_or_else(|| "no copy job reads its datastore any more".to_string()),
            });
        }
    }

    // Jobs are named `cluster/id` when the report has several clusters, else by id alone.
    let several = current.clusters.len() > 1;
    let job_key = |j: &JobReport| -> String {
        let cluster = if j.cluster.is_empty() {
            only_cluster
        } else {
            j.cluster.as_str()
        };
        if several {
            format!("{cluster}/{}", j.id)
        } else {
            j.id.clone()
        }
    };
    let old_jobs: BTreeMap<String, &JobReport> =
        previous.jobs.iter().map(|j| (job_key(j), j)).collect();
    let new_jobs: BTreeMap<String, &JobReport> =
        current.jobs.iter().map(|j| (job_key(j), j)).collect();
    for id in old_jobs.keys() {
        if !new_jobs.contains_key(id) {
            drift.jobs_removed.push(id.clone());
        }
    }
    for (id, new) in &new_jobs {
        let Some(old) = old_jobs.get(id) else {
            drift.jobs_added.push(id.clone());
            continue;
        };
        match (old.enabled, new.enabled) {
            (true, false) => drift.jobs_disabled.push(id.clone()),
            (false, true) => drift.jobs_enabled.push(id.clone()),
            _ => {}
        }
        let fields = job_field_changes(old, new);
        if !fields.is_empty() {
            drift.jobs_changed.push(JobChange {
                id: id.clone(),
                fields,
            });
        }
    }
    drift
}

/// The definition fields that matter for coverage, sorted by field name.
fn job_field_changes(old: &JobReport, new: &JobReport) -> Vec<FieldChange> {
    let pairs: [(&str, Option<&str>, Option<&str>); 5] = [
        ("mode", old.mode.as_deref(), new.mode.as_deref()),
        ("node", old.node.as_deref(), new.node.as_deref()),
        ("schedule", old.schedule.as_deref(), new.schedule.as_deref()),
        (
            "selection",
            Some(old.selection.as_str()),
            Some(new.selection.as_str()),
        ),
        ("storage", old.storage.as_deref(), new.storage.as_deref()),
    ];
    pairs
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(field, before, after)| FieldChange {
            field: field.to_string(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::coverage::report::{ArchiveEvidence, EvidenceSource, Summary};
    use chrono::TimeZone;

    fn guest(vmid: Vmid, coverage: Coverage, freshness: Freshness) -> GuestReport {
        GuestReport {
            cluster: String::new(),
            vmid,
            kind: GuestKind::Qemu,
            name: Some(format!("vm{vmid}")),
            node: "pve1".into(),
            template: false,
            pool: None,
            tags: vec![],
            notes: None,
            coverage,
            coverage_reason: format!("coverage of {vmid}"),
            jobs: vec![],
            covering_jobs: vec![],
            excluded_volumes: vec![],
            freshness,
            freshness_reason: format!("freshness of {vmid}"),
            missed_runs: None,
            missed: vec![],
            lock: None,
            replication: None,
            last_restore: None,
            last_backup: None,
            last_success: None,
            archive: None,
            exempt: None,
            flags: vec![],
            runs: vec![],
            offsite: None,
        }
    }

    fn archive(verification: Option<&str>) -> Option<ArchiveEvidence> {
        Some(ArchiveEvidence {
            server: "pbs1".into(),
            datastore: "store".into(),
            namespace: String::new(),
            time: Utc.with_ymd_and_hms(2026, 11, 20, 1, 0, 0).unwrap(),
            size_bytes: None,
            verification: verification.map(str::to_string),
            verified_at: None,
            last_verified_ok: None,
            protected: false,
            encrypted: None,
            snapshot_count: 1,
            source: EvidenceSource::Pbs,
            storage: "pbs".into(),
        })
    }

    fn job(id: &str, enabled: bool, schedule: &str) -> JobReport {
        JobReport {
            cluster: String::new(),
            id: id.into(),
            enabled,
            schedule: Some(schedule.into()),
            schedule_readable: None,
            next_run: None,
            selection: "all".into(),
            node: None,
            storage: Some("pbs".into()),
            storage_is_pbs: Some(true),
            mode: None,
            comment: None,
            selected_vmids: None,
            last_runs: vec![],
            previous_run: None,
            timezone: "UTC".into(),
            timezone_known: true,
            schedule_error: None,
        }
    }

    fn report(day: u32, guests: Vec<GuestReport>, jobs: Vec<JobReport>) -> Report {
        Report {
            clusters: Vec::new(),
            schema_version: 1,
            generated_at: Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0).unwrap(),
            servers: Vec::new(),
            summary: Summary::default(),
            guests,
            jobs,
            datastores: vec![],
            evidence: Default::default(),
            orphans: vec![],
            copy_jobs: Vec::new(),
            anomalies: vec![],
        }
    }

    #[test]
    fn losing_the_offsite_copy_is_drift_but_becoming_unknown_is_not() {
        use crate::coverage::report::Offsite;
        let with = |status: Option<OffsiteStatus>| {
            let mut g = guest(100, Coverage::Covered, Freshness::Ok);
            g.offsite = status.map(|status| Offsite {
                status,
                reason: format!("offsite {}", status.as_str()),
                copies: vec![],
                latest_copy: None,
                required: false,
                missing_snapshots: None,
                missing_since: None,
            });
            report(21, vec![g], vec![])
        };
        let before = with(Some(OffsiteStatus::Ok));
        for (after, lost) in [
            (Some(OffsiteStatus::Ok), false),
            (Some(OffsiteStatus::Unknown), false),
            (Some(OffsiteStatus::Stale), true),
            (Some(OffsiteStatus::Missing), true),
            (Some(OffsiteStatus::NotSelected), true),
            (None, true),
        ] {
            let d = drift(&before, &with(after));
            assert_eq!(d.offsite_lost.len(), usize::from(lost), "{after:?}");
            if lost {
                assert_eq!(d.offsite_lost[0].after, after);
                assert!(!d.is_empty());
            }
        }
        assert!(drift(&with(Some(OffsiteStatus::Missing)), &with(None)).is_empty());
    }

    #[test]
    fn identical_reports_have_no_drift() {
        let r = report(
            20,
            vec![guest(100, Coverage::Covered, Freshness::Ok)],
            vec![job("nightly", true, "02:00")],
        );
        let d = drift(&r, &r);
        assert!(d.is_empty());
        assert_eq!(d.previous_generated_at, Some(r.generated_at));
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let mut verified = guest(104, Coverage::Covered, Freshness::Ok);
        verified.archive = archive(Some("ok"));
        let mut failed_verify = verified.clone();
        failed_verify.archive = archive(Some("failed"));
        let previous = report(
            20,
            vec![
                guest(100, Coverage::Covered, Freshness::Ok),
                guest(101, Coverage::NotCovered, Freshness::Never),
                guest(102, Coverage::Covered, Freshness::Ok),
                guest(103, Coverage::Covered, Freshness::Ok),
                verified,
                guest(199, Coverage::Covered, Freshness::Ok),
            ],
            vec![
                job("a-gone", true, "daily"),
                job("nightly", true, "02:00"),
                job("weekly", false, "sun 03:00"),
            ],
        );
        let current = report(
            21,
            vec![
                guest(100, Coverage::NotCovered, Freshness::Stale),
                guest(101, Coverage::Covered, Freshness::Ok),
                guest(102, Coverage::Indeterminate, Freshness::Unknown),
                guest(103, Coverage::Covered, Freshness::Failed),
                failed_verify,
                guest(200, Coverage::Covered, Freshness::Ok),
            ],
            vec![
                job("nightly", false, "03:00"),
                job("new", true, "daily"),
                job("weekly", true, "sun 03:00"),
            ],
        );
        let d = drift(&previous, &current);
        let vmids = |list: &[CoverageChange]| list.iter().map(|c| c.guest.vmid).collect::<Vec<_>>();
        assert_eq!(vmids(&d.coverage_lost), vec![100]);
        assert_eq!(d.coverage_lost[0].before, Coverage::Covered);
        assert_eq!(d.coverage_lost[0].after, Coverage::NotCovered);
        assert_eq!(d.coverage_lost[0].reason, "coverage of 100");
        assert_eq!(vmids(&d.coverage_gained), vec![101]);
        assert_eq!(vmids(&d.coverage_uncertain), vec![102]);
        let worse: Vec<_> = d
            .freshness_worse
            .iter()
            .map(|c| (c.guest.vmid, c.before, c.after))
            .collect();
        assert_eq!(
            worse,
            vec![
                (100, Freshness::Ok, Freshness::Stale),
                (103, Freshness::Ok, Freshness::Failed)
            ]
        );
        assert_eq!(d.verification_failed.len(), 1);
        assert_eq!(d.verification_failed[0].vmid, 104);
        assert_eq!(d.jobs_disabled, vec!["nightly"]);
        assert_eq!(d.jobs_enabled, vec!["weekly"]);
        assert_eq!(d.jobs_added, vec!["new"]);
        assert_eq!(d.jobs_removed, vec!["a-gone"]);
        assert_eq!(
            d.jobs_changed,
            vec![JobChange {
                id: "nightly".into(),
                fields: vec![FieldChange {
                    field: "schedule".into(),
                    before: Some("02:00".into()),
                    after: Some("03:00".into()),
                }],
            }]
        );
        assert_eq!(
            d.guests_added.iter().map(|g| g.vmid).collect::<Vec<_>>(),
            vec![200]
        );
        assert_eq!(
            d.guests_removed.iter().map(|g| g.vmid).collect::<Vec<_>>(),
            vec![199]
        );
        assert!(!d.is_empty());
    }

    #[test]
    fn drift_round_trips_through_json() {
        let previous = report(
            20,
            vec![guest(100, Coverage::Covered, Freshness::Ok)],
            vec![],
        );
        let current = report(
            21,
            vec![guest(100, Coverage::Partial, Freshness::Ok)],
            vec![],
        );
        let d = drift(&previous, &current);
        let json = serde_json::to_string(&d).unwrap();
        let back: Drift = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert!(json.contains(r#""before":"covered","after":"partial""#));
    }
}
