//! Headline counts, the datastore section and the evidence horizon of the report.

use crate::model::{Anomaly, Completeness, Inventory, PbsJob, Severity};

use super::report::{
    Coverage, DatastoreReport, EvidenceReport, Freshness, GuestFlag, GuestReport, NodeHorizon,
    PbsJobRun, Summary,
};

/// Count verdicts. Exempt guests are counted under `exempt` only, so the verdict counts plus
/// `exempt` equal `guests`; `coverage_percent` is covered+partial over non-exempt guests whose
/// coverage is known (not indeterminate).
pub(crate) fn summarize(guests: &[GuestReport], anomalies: &[Anomaly]) -> Summary {
    let mut s = Summary {
        guests: guests.len(),
        ..Summary::default()
    };
    for guest in guests {
        if guest.exempt.is_some() {
            s.exempt += 1;
            continue;
        }
        match guest.coverage {
            Coverage::Covered => s.covered += 1,
            Coverage::Partial => s.partial += 1,
            Coverage::DisabledOnly => s.disabled_only += 1,
            Coverage::NotCovered => s.not_covered += 1,
            Coverage::Indeterminate => s.indeterminate += 1,
        }
        match guest.freshness {
            Freshness::Ok => s.fresh += 1,
            Freshness::Stale => s.stale += 1,
            Freshness::Failed => s.failed += 1,
            Freshness::Never => s.never += 1,
            Freshness::Unknown => s.freshness_unknown += 1,
        }
        if guest.flags.iter().any(GuestFlag::is_unverified) {
            s.unverified += 1;
        }
    }
    let known = s.covered + s.partial + s.disabled_only + s.not_covered;
    if known > 0 {
        let percent = (s.covered + s.partial) as f64 * 100.0 / known as f64;
        s.coverage_percent = Some((percent * 10.0).round() / 10.0);
    }
    s.critical_anomalies = anomalies
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .count();
    s.warning_anomalies = anomalies
        .iter()
        .filter(|a| a.severity == Severity::Warning)
        .count();
    s
}

fn job_lines(jobs: &[PbsJob], store: &str) -> Vec<String> {
    let mut lines: Vec<String> = jobs
        .iter()
        .filter(|j| j.store == store)
        .map(|j| {
            let state = j.last_run_state.as_deref().unwrap_or("never run");
            let disabled = if j.disabled { " (disabled)" } else { "" };
            format!("{}: {state}{disabled}", j.id)
        })
        .collect();
    lines.sort();
    lines
}

fn job_runs(jobs: &[PbsJob], store: &str) -> Vec<PbsJobRun> {
    let mut runs: Vec<PbsJobRun> = jobs
        .iter()
        .filter(|j| j.store == store)
        .map(|j| PbsJobRun {
            id: j.id.clone(),
            namespace: j.namespace.clone(),
            disabled: j.disabled,
            last_run_state: j.last_run_state.clone(),
            last_run_end: j.last_run_end,
        })
        .collect();
    runs.sort_by(|a, b| a.id.cmp(&b.id));
    runs
}

/// One entry per PBS datastore, sorted by (server, datastore).
pub(crate) fn datastores(inventory: &Inventory) -> Vec<DatastoreReport> {
    let mut out = Vec::new();
    for pbs in &inventory.pbs {
        for ds in &pbs.datastores.items {
            let usage = ds.usage.as_ref();
            let used_percent = usage.and_then(|u| match (u.used, u.total) {
                (Some(used), Some(total)) if total > 0 => {
                    Some((used as f64 * 1000.0 / total as f64).round() / 10.0)
                }
                _ => None,
            });
            let mut namespaces = ds.namespaces.items.clone();
            namespaces.sort();
            out.push(DatastoreReport {
                server: pbs.name.clone(),
                datastore: ds.name.clone(),
                total_bytes: usage.and_then(|u| u.total),
                used_bytes: usage.and_then(|u| u.used),
                used_percent,
                estimated_full: usage.and_then(|u| u.estimated_full),
                gc_state: ds.gc.as_ref().and_then(|g| g.last_run_state.clone()),
                gc_last_run: ds.gc.as_ref().and_then(|g| g.last_run_end),
                verify_jobs: job_lines(&pbs.verify_jobs.items, &ds.name),
                verify_job_runs: job_runs(&pbs.verify_jobs.items, &ds.name),
                prune_jobs: job_lines(&pbs.prune_jobs.items, &ds.name),
                sync_jobs: job_lines(&pbs.sync_jobs.items, &ds.name),
                snapshots: ds
                    .snapshots
                    .items
                    .iter()
                    .filter(|s| !s.in_progress())
                    .count(),
                namespaces,
            });
        }
    }
    out.sort_by(|a, b| (&a.server, &a.datastore).cmp(&(&b.server, &b.datastore)));
    out
}

/// The sources without which no verdict stands: the node list (task history is read per node),
/// the guest list and the backup jobs. Their "unavailable" sentence in `evidence.incomplete` means
/// the collection failed.
const REQUIRED_SOURCES: [&str; 3] = ["PVE nodes", "PVE guests", "PVE backup jobs"];

/// The sentences of `evidence.incomplete` saying that a required source could not be read at all.
pub(crate) fn required_unavailable(evidence: &EvidenceReport) -> Vec<&str> {
    evidence
        .incomplete
        .iter()
        .filter(|line| {
            REQUIRED_SOURCES
                .iter()
                .any(|source| line.starts_with(&format!("{source} unavailable:")))
        })
        .map(String::as_str)
        .collect()
}

/// Task-history horizons per node and one sentence per incomplete source.
pub(crate) fn evidence(inventory: &Inventory) -> EvidenceReport {
    let mut report = EvidenceReport {
        pve_host: inventory
            .pve
            .as_ref()
            .map(|pve| crate::api::server::host_of(&pve.host).to_string()),
        ..EvidenceReport::default()
    };
    let mut note = |what: &str, c: &Completeness| {
        if let Some(reason) = c.reason() {
            let state = match c {
                Completeness::Unavailable { .. } => "unavailable",
                _ => "incomplete",
            };
            report.incomplete.push(format!("{what} {state}: {reason}"));
        }
    };
    if let Some(pve) = &inventory.pve {
        let [nodes, guests, jobs] = REQUIRED_SOURCES;
        note(nodes, &pve.nodes.completeness);
        note(guests, &pve.guests.completeness);
        note("PVE storages", &pve.storages.completeness);
        note(jobs, &pve.jobs.completeness);
        note("PVE pools", &pve.pools.completeness);
        note("PVE storage content", &pve.storage_backups.completeness);
        note("PVE not-backed-up list", &pve.not_backed_up.completeness);
        for h in &pve.task_history {
            note(&format!("task history of node {}", h.node), &h.completeness);
        }
    }
    for pbs in &inventory.pbs {
        note(
            &format!("PBS {} datastores", pbs.name),
            &pbs.datastores.completeness,
        );
        note(
            &format!("PBS {} verify jobs", pbs.name),
            &pbs.verify_jobs.completeness,
        );
        note(
            &format!("PBS {} prune jobs", pbs.name),
            &pbs.prune_jobs.completeness,
        );
        note(
            &format!("PBS {} sync jobs", pbs.name),
            &pbs.sync_jobs.completeness,
        );
        for ds in &pbs.datastores.items {
            note(
                &format!("PBS {} datastore {} snapshots", pbs.name, ds.name),
                &ds.snapshots.completeness,
            );
            note(
                &format!("PBS {} datastore {} namespaces", pbs.name, ds.name),
                &ds.namespaces.completeness,
            );
        }
    }
    if let Some(pve) = &inventory.pve {
        for h in &pve.task_history {
            if h.capped {
                report.incomplete.push(format!(
                    "task history of node {} incomplete: the task cap stopped paging before {} \
                     (raise PVE_TASK_HISTORY_LIMIT)",
                    h.node,
                    h.requested_since
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
            report.horizons.push(NodeHorizon {
                node: h.node.clone(),
                requested_since: h.requested_since,
                oldest_seen: h.oldest_seen,
                complete: h.completeness.is_complete() && !h.capped,
                tasks: h.tasks.len(),
            });
        }
    }
    report.horizons.sort_by(|a, b| a.node.cmp(&b.node));
    report.incomplete.sort();
    report.incomplete.dedup();
    report
}
