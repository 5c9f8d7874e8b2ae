//! Headline counts, the datastore section and the evidence horizon of the report.

use crate::model::{Anomaly, Completeness, Inventory, PbsJob, Severity};

use super::report::{
    Coverage, DatastoreReport, EvidenceReport, Freshness, GuestFlag, GuestReport, NodeHorizon,
    OffsiteStatus, PbsJobRun, ServerKind, ServerVersion, Summary,
};

/// The newest PVE release (major, minor) whose API shapes this version decodes; a newer server
/// gets an info anomaly. The reference facts were read at pve-manager 9.2.11.
pub const NEWEST_KNOWN_PVE: (u32, u32) = (9, 2);

/// The newest PBS release (major, minor) whose API shapes this version decodes.
pub const NEWEST_KNOWN_PBS: (u32, u32) = (4, 2);

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
        match guest.offsite.as_ref().map(|o| o.status) {
            Some(OffsiteStatus::Ok) => s.offsite.ok += 1,
            Some(OffsiteStatus::Stale) => s.offsite.stale += 1,
            Some(OffsiteStatus::Missing) => s.offsite.missing += 1,
            Some(OffsiteStatus::NotSelected) => s.offsite.not_selected += 1,
            Some(OffsiteStatus::Unknown) => s.offsite.unknown += 1,
            None => s.offsite.none += 1,
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
            // With several clusters a line starts with its cluster's name: `prod: PVE nodes …`.
            let unprefixed = line.split_once(": ").map_or("", |(_, rest)| rest);
            REQUIRED_SOURCES.iter().any(|source| {
                let unavailable = format!("{source} unavailable:");
                line.starts_with(&unavailable) || unprefixed.starts_with(&unavailable)
            })
        })
        .map(String::as_str)
        .collect()
}

/// Every server read with its version, sorted by (kind, host), and an info anomaly for each one
/// newer than the newest release this version knows: its answers may have shapes this version
/// misreads, and the operator should know before trusting the verdicts blindly.
pub(crate) fn servers(inventory: &Inventory) -> (Vec<ServerVersion>, Vec<Anomaly>) {
    let mut servers: Vec<ServerVersion> = inventory
        .pve
        .iter()
        .map(|pve| ServerVersion {
            kind: ServerKind::Pve,
            host: crate::api::server::host_of(&pve.host).to_string(),
            version: pve.version.clone(),
        })
        .chain(inventory.pbs.iter().map(|pbs| ServerVersion {
            kind: ServerKind::Pbs,
            host: crate::api::server::host_of(&pbs.host).to_string(),
            version: pbs.version.clone(),
        }))
        .collect();
    servers.sort();
    servers.dedup();
    let anomalies = servers
        .iter()
        .filter_map(|server| {
            let version = server.version.as_deref()?;
            let seen = major_minor(version)?;
            let newest = match server.kind {
                ServerKind::Pve => NEWEST_KNOWN_PVE,
                ServerKind::Pbs => NEWEST_KNOWN_PBS,
            };
            (seen > newest).then(|| {
                let kind = server.kind.label();
                Anomaly::new(
                    Severity::Info,
                    kind.to_lowercase(),
                    format!(
                        "{kind} {version} on {} is newer than the newest {kind} this version knows \
                         ({}.{})",
                        server.host, newest.0, newest.1
                    ),
                    "answers whose shape changed in a newer release may be misread; check for an \
                     update of pve-backup-report",
                )
            })
        })
        .collect();
    (servers, anomalies)
}

/// `(major, minor)` of a version string (`9.1.8`, `4.2`, `9.1-8`); None when it has no
/// numeric major and minor: an unreadable version is no evidence of a newer server.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-', '~', '+']);
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    Some((major, minor))
}

/// Task-history horizons per node and one sentence per incomplete source.
pub(crate) fn evidence(inventory: &Inventory) -> EvidenceReport {
    let mut report = EvidenceReport {
        pve_host: inventory
            .pve
            .first()
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
    let several = inventory.pve.len() > 1;
    // With several clusters, each sentence says whose source it is.
    let of = |pve: &crate::model::PveInventory, what: &str| {
        if several {
            format!("{}: {what}", pve.name)
        } else {
            what.to_string()
        }
    };
    for pve in &inventory.pve {
        let [nodes, guests, jobs] = REQUIRED_SOURCES;
        note(&of(pve, nodes), &pve.nodes.completeness);
        note(&of(pve, guests), &pve.guests.completeness);
        note(&of(pve, "PVE storages"), &pve.storages.completeness);
        note(&of(pve, jobs), &pve.jobs.completeness);
        note(&of(pve, "PVE pools"), &pve.pools.completeness);
        note(
            &of(pve, "PVE storage content"),
            &pve.storage_backups.completeness,
        );
        note(
            &of(pve, "PVE not-backed-up list"),
            &pve.not_backed_up.completeness,
        );
        for h in &pve.task_history {
            note(
                &of(pve, &format!("task history of node {}", h.node)),
                &h.completeness,
            );
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
    for pve in &inventory.pve {
        for h in &pve.task_history {
            if h.capped {
                report.incomplete.push(of(
                    pve,
                    &format!(
                        "task history of node {} incomplete: the task cap stopped paging before \
                         {} (raise PVE_TASK_HISTORY_LIMIT)",
                        h.node,
                        h.requested_since
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                ));
            }
            report.horizons.push(NodeHorizon {
                cluster: pve.name.clone(),
                node: h.node.clone(),
                requested_since: h.requested_since,
                oldest_seen: h.oldest_seen,
                complete: h.completeness.is_complete() && !h.capped,
                tasks: h.tasks.len(),
            });
        }
    }
    report
        .horizons
        .sort_by(|a, b| (&a.cluster, &a.node).cmp(&(&b.cluster, &b.node)));
    report.incomplete.sort();
    report.incomplete.dedup();
    report
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{Observed, PbsInventory};

    fn pbs(host: &str, version: Option<&str>) -> PbsInventory {
        PbsInventory {
            name: host.to_string(),
            host: format!("{host}:8007"),
            fingerprint: None,
            version: version.map(str::to_string),
            datastores: Observed::complete(Vec::new()),
            verify_jobs: Observed::complete(Vec::new()),
            prune_jobs: Observed::complete(Vec::new()),
            sync_jobs: Observed::complete(Vec::new()),
            copies: crate::model::CopyInventory::none(),
            reads: Observed::complete(Vec::new()),
        }
    }

    #[test]
    fn major_minor_reads_release_and_package_versions() {
        assert_eq!(major_minor("9.1.8"), Some((9, 1)));
        assert_eq!(major_minor("4.2"), Some((4, 2)));
        assert_eq!(major_minor("9.1-8"), Some((9, 1)));
        assert_eq!(major_minor("9"), None);
        assert_eq!(major_minor("pve-manager/9.1"), None);
    }

    #[test]
    fn only_a_server_newer_than_the_newest_known_gets_an_info_anomaly() {
        let inventory = Inventory {
            collected_at: Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap(),
            pve: Vec::new(),
            pbs: vec![
                pbs("b-new", Some("4.3.1")),
                pbs("a-known", Some("4.2.3")),
                pbs("c-unknown", None),
                pbs("d-old", Some("2.4")),
            ],
            anomalies: Vec::new(),
        };
        let (servers, anomalies) = servers(&inventory);
        let hosts: Vec<&str> = servers.iter().map(|s| s.host.as_str()).collect();
        assert_eq!(hosts, ["a-known", "b-new", "c-unknown", "d-old"]);
        assert_eq!(servers[2].version, None);
        assert_eq!(anomalies.len(), 1, "{anomalies:?}");
        assert_eq!(anomalies[0].severity, Severity::Info);
        assert!(anomalies[0].message.contains("PBS 4.3.1 on b-new"));
        assert!(anomalies[0].message.contains("(4.2)"));
        assert!(anomalies[0].details.contains("check for an update"));
    }
}
