//! Which guests a backup job selects, exactly as vzdump resolves it (pool, else vmid list, else
//! all minus exclude; then the node restriction), and the per-guest coverage verdict that
//! follows from every job's answer.

use std::collections::BTreeSet;

use crate::model::{
    Anomaly, BackupJob, Completeness, Guest, GuestConfigFacts, Pool, Selection, Severity, Vmid,
};

use super::index::Index;
use super::report::{Coverage, CoveringJob, SelectedBy};

/// What a job's selection resolves to, independent of any one guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// `vmid` list (may name guests that do not exist).
    Vmids(BTreeSet<Vmid>),
    /// `all`, minus these.
    All(BTreeSet<Vmid>),
    /// Pool with known direct members.
    Pool(BTreeSet<Vmid>),
    /// Pool whose members are unknown: guests whose own `pool` field names it are members, guests
    /// with another pool are not, guests without a pool field may be.
    PoolUnknown {
        /// The pool id.
        pool: String,
        /// Why the members are unknown, and the fix.
        reason: String,
    },
    /// Selects nothing (unknown pool, or a job without any selection).
    Nothing,
}

/// How one job relates to one guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Selected, and how.
    Selected(SelectedBy),
    /// An all-job lists the guest in `exclude`.
    Excluded,
    /// Would be selected, but the job only runs on another node.
    OtherNode {
        /// How it would be selected.
        by: SelectedBy,
        /// The job's node.
        job_node: String,
    },
    /// The job's pool members are unknown and the guest may be one (reason says why).
    Maybe(String),
    /// Not selected.
    No,
}

/// Resolve a job's selection against the pool list. Precedence is vzdump's: pool, vmid, all.
/// Returns the resolution and anomalies (unknown pool, nonexistent VMIDs, no selection).
pub(crate) fn resolve(
    job: &BackupJob,
    pools: &[Pool],
    pools_completeness: &Completeness,
    index: &Index<'_>,
) -> (Resolved, Vec<Anomaly>) {
    let component = format!("job/{}", job.id);
    let mut anomalies = Vec::new();
    let resolved = match &job.selection {
        Selection::Pool { pool } => match pools.iter().find(|p| &p.id == pool) {
            Some(found) => match &found.members {
                Some(members) => Resolved::Pool(members.iter().copied().collect()),
                None => Resolved::PoolUnknown {
                    pool: pool.clone(),
                    reason: format!(
                        "the members of pool '{pool}' could not be read; grant Pool.Audit on \
                         /pool/{pool} to the report's token"
                    ),
                },
            },
            None if pools_completeness.is_complete() => {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    component.clone(),
                    format!("job {} selects pool '{pool}', which does not exist", job.id),
                    "the job backs up nothing; fix the job's pool in Datacenter → Backup",
                ));
                Resolved::Nothing
            }
            None => Resolved::PoolUnknown {
                pool: pool.clone(),
                reason: format!(
                    "pool '{pool}' is not in the pool list, which is incomplete ({}); grant \
                     Pool.Audit on /pool/{pool}",
                    pools_completeness.reason().unwrap_or("unknown reason")
                ),
            },
        },
        Selection::Vmids { vmids } => {
            let set: BTreeSet<Vmid> = vmids.iter().copied().collect();
            let missing: Vec<String> = set
                .iter()
                .filter(|v| !index.guests.contains_key(v))
                .map(|v| v.to_string())
                .collect();
            if !missing.is_empty() && index.guests_complete {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    component.clone(),
                    format!(
                        "job {} names VMID {} that does not exist",
                        job.id,
                        missing.join(", ")
                    ),
                    "every run will fail for it with `unable to find VM`; remove it from the \
                     job or restore the guest",
                ));
            }
            Resolved::Vmids(set)
        }
        Selection::All { exclude } => Resolved::All(exclude.iter().copied().collect()),
        Selection::Nothing => {
            anomalies.push(Anomaly::new(
                Severity::Warning,
                component.clone(),
                format!("job {} selects no guests (no vmid, all or pool)", job.id),
                "PVE refuses to run such a job; edit it in Datacenter → Backup",
            ));
            Resolved::Nothing
        }
    };
    (resolved, anomalies)
}

/// How a resolved job relates to a guest, node restriction applied.
pub(crate) fn membership(job: &BackupJob, resolved: &Resolved, guest: &Guest) -> Membership {
    let by = match resolved {
        Resolved::Vmids(set) if set.contains(&guest.vmid) => SelectedBy::Vmid,
        Resolved::All(exclude) if exclude.contains(&guest.vmid) => return Membership::Excluded,
        Resolved::All(_) => SelectedBy::All,
        Resolved::Pool(members) if members.contains(&guest.vmid) => SelectedBy::Pool,
        Resolved::PoolUnknown { pool, reason } => match guest.pool.as_deref() {
            Some(own) if own == pool => SelectedBy::Pool,
            Some(_) => return Membership::No,
            None => {
                if let Some(node) = job.node.as_deref().filter(|n| *n != guest.node) {
                    // Even a member would be skipped on this node.
                    return Membership::OtherNode {
                        by: SelectedBy::Pool,
                        job_node: node.to_string(),
                    };
                }
                return Membership::Maybe(reason.clone());
            }
        },
        _ => return Membership::No,
    };
    match job.node.as_deref() {
        Some(node) if node != guest.node => Membership::OtherNode {
            by,
            job_node: node.to_string(),
        },
        _ => Membership::Selected(by),
    }
}

/// A job's answer for one guest, with the facts the verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobAnswer<'a> {
    /// Job id.
    pub id: &'a str,
    /// Enabled.
    pub enabled: bool,
    /// Membership.
    pub membership: Membership,
    /// Target storage.
    pub storage: Option<&'a str>,
    /// Whether the storage is PBS (None: unknown storage).
    pub storage_is_pbs: Option<bool>,
    /// A short description of the selection (for reasons).
    pub selection: &'a str,
}

/// Whether a job's storage is PBS: None when the storage is not in the (incomplete) list.
pub(crate) fn storage_is_pbs(index: &Index<'_>, storage: Option<&str>) -> Option<bool> {
    let id = storage.unwrap_or("local");
    index
        .storages
        .get(id)
        .map(|s| s.pbs.is_some() || s.kind == "pbs")
}

/// The coverage verdict of one guest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CoverageVerdict {
    /// Verdict.
    pub coverage: Coverage,
    /// One sentence why.
    pub reason: String,
    /// Jobs that select the guest (enabled or not; definite selections only), sorted by id.
    pub covering: Vec<CoveringJob>,
    /// Volumes excluded from backup (the reason for partial).
    pub excluded_volumes: Vec<String>,
}

/// Decide coverage from every job's answer.
///
/// `jobs_completeness`: the job list's completeness. `run_excluded`: excluded volumes seen in the
/// latest task log of the guest (used when the config could not be read).
pub(crate) fn decide(
    guest: &Guest,
    answers: &[JobAnswer<'_>],
    jobs_completeness: &Completeness,
    run_excluded: &[String],
) -> CoverageVerdict {
    let mut covering: Vec<CoveringJob> = answers
        .iter()
        .filter_map(|a| match a.membership {
            Membership::Selected(by) => Some(CoveringJob {
                id: a.id.to_string(),
                enabled: a.enabled,
                selected_by: by,
                storage: a.storage.map(str::to_string),
                storage_is_pbs: a.storage_is_pbs,
            }),
            _ => None,
        })
        .collect();
    covering.sort_by(|a, b| a.id.cmp(&b.id));
    let enabled: Vec<&CoveringJob> = covering.iter().filter(|c| c.enabled).collect();
    let disabled: Vec<&CoveringJob> = covering.iter().filter(|c| !c.enabled).collect();
    let names = |jobs: &[&CoveringJob]| {
        jobs.iter()
            .map(|c| format!("'{}' ({})", c.id, by_text(c.selected_by)))
            .collect::<Vec<_>>()
            .join(", ")
    };

    if !enabled.is_empty() {
        let (excluded, source) = match &guest.config {
            GuestConfigFacts::Read {
                excluded_volumes, ..
            } => (
                excluded_volumes
                    .iter()
                    .map(|v| format!("{} ({})", v.key, v.reason))
                    .collect::<Vec<_>>(),
                "config",
            ),
            GuestConfigFacts::Unknown { .. } => (run_excluded.to_vec(), "latest task log"),
        };
        let jobs_text = format!("selected by enabled job {}", names(&enabled));
        if !excluded.is_empty() {
            let reason = format!(
                "{jobs_text}, but {} excluded from backup ({source}): {}",
                if excluded.len() == 1 {
                    "1 volume is"
                } else {
                    "volumes are"
                },
                excluded.join(", ")
            );
            return CoverageVerdict {
                coverage: Coverage::Partial,
                reason,
                covering,
                excluded_volumes: excluded,
            };
        }
        // Without the config an exclusion cannot be ruled out (a bind mount never shows in a
        // task log), so `covered` would be a guess: indeterminate, naming what is missing.
        let (coverage, reason) = match &guest.config {
            GuestConfigFacts::Unknown { reason } => (
                Coverage::Indeterminate,
                format!(
                    "{jobs_text}, but whether volumes are excluded is unknown (config not readable: {reason})"
                ),
            ),
            GuestConfigFacts::Read { .. } => (Coverage::Covered, jobs_text),
        };
        return CoverageVerdict {
            coverage,
            reason,
            covering,
            excluded_volumes: Vec::new(),
        };
    }

    if let Some(reason) = jobs_completeness.reason() {
        // A partial list lost malformed jobs (its reason says which); privileges only explain
        // a list that could not be read at all.
        let fix = match jobs_completeness {
            Completeness::Partial { .. } => "",
            _ => "; grant Sys.Audit on / to see every job",
        };
        return CoverageVerdict {
            coverage: Coverage::Indeterminate,
            reason: format!(
                "no visible enabled job selects it, but the job list is incomplete ({reason}){fix}"
            ),
            covering,
            excluded_volumes: Vec::new(),
        };
    }

    let maybe: Vec<String> = answers
        .iter()
        .filter(|a| a.enabled)
        .filter_map(|a| match &a.membership {
            Membership::Maybe(reason) => Some(format!("job '{}': {reason}", a.id)),
            _ => None,
        })
        .collect();
    if !maybe.is_empty() {
        return CoverageVerdict {
            coverage: Coverage::Indeterminate,
            reason: format!("it may be selected by a pool job: {}", maybe.join("; ")),
            covering,
            excluded_volumes: Vec::new(),
        };
    }

    if !disabled.is_empty() {
        return CoverageVerdict {
            coverage: Coverage::DisabledOnly,
            reason: format!("selected only by disabled job {}", names(&disabled)),
            covering,
            excluded_volumes: Vec::new(),
        };
    }

    let mut why: Vec<String> = Vec::new();
    for answer in answers {
        let state = if answer.enabled { "" } else { "disabled " };
        match &answer.membership {
            Membership::Excluded => why.push(format!(
                "excluded from {state}job '{}' ({})",
                answer.id, answer.selection
            )),
            Membership::OtherNode { by, job_node } => why.push(format!(
                "{state}job '{}' selects it ({}) but runs only on node {job_node}, and the guest \
                 is on {}",
                answer.id,
                by_text(*by),
                guest.node
            )),
            Membership::Maybe(reason) => why.push(format!(
                "{state}job '{}' may select it: {reason}",
                answer.id
            )),
            _ => {}
        }
    }
    let reason = if why.is_empty() {
        "in no backup job".to_string()
    } else {
        why.join("; ")
    };
    CoverageVerdict {
        coverage: Coverage::NotCovered,
        reason,
        covering,
        excluded_volumes: Vec::new(),
    }
}

fn by_text(by: SelectedBy) -> &'static str {
    match by {
        SelectedBy::Vmid => "by VMID",
        SelectedBy::All => "all guests",
        SelectedBy::Pool => "by pool",
    }
}

/// A readable form of a job's selection: "all", "all except 105, 106", "pool prod",
/// "VMIDs 100, 101".
pub(crate) fn describe_selection(selection: &Selection) -> String {
    let list = |v: &[Vmid]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match selection {
        Selection::Vmids { vmids } => format!("VMIDs {}", list(vmids)),
        Selection::All { exclude } if exclude.is_empty() => "all".to_string(),
        Selection::All { exclude } => format!("all except {}", list(exclude)),
        Selection::Pool { pool } => format!("pool {pool}"),
        Selection::Nothing => "nothing (no vmid, all or pool)".to_string(),
    }
}
