//! Text form of `--dump-inventory` (the JSON form is the serialized inventory).

use std::fmt::Write as _;

use crate::model::{Completeness, GuestConfigFacts, Inventory, Selection, TaskLogEvidence};

fn completeness(c: &Completeness) -> String {
    match c {
        Completeness::Complete => "complete".into(),
        Completeness::Partial { reason } => format!("INCOMPLETE: {reason}"),
        Completeness::Unavailable { reason } => format!("UNAVAILABLE: {reason}"),
    }
}

fn or_dash(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

/// Render the inventory as readable text.
pub fn text(inventory: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "inventory collected at {}",
        inventory.collected_at.to_rfc3339()
    );
    for pve in &inventory.pve {
        let _ = writeln!(
            out,
            "\nPVE cluster {} at {} (version {})",
            pve.name,
            pve.host,
            or_dash(pve.version.as_deref())
        );
        let _ = writeln!(out, "  nodes ({}):", completeness(&pve.nodes.completeness));
        for node in &pve.nodes.items {
            let _ = writeln!(
                out,
                "    {:<16} {:<8} tz {}",
                node.name,
                node.status,
                or_dash(node.timezone.as_deref())
            );
        }
        let _ = writeln!(
            out,
            "  guests: {} ({})",
            pve.guests.items.len(),
            completeness(&pve.guests.completeness)
        );
        for guest in &pve.guests.items {
            let config = match &guest.config {
                GuestConfigFacts::Read {
                    excluded_volumes,
                    included_volumes,
                    ..
                } => {
                    let excluded: Vec<String> = excluded_volumes
                        .iter()
                        .map(|v| format!("{} ({})", v.key, v.reason))
                        .collect();
                    if excluded.is_empty() {
                        format!("{included_volumes} volume(s) backed up")
                    } else {
                        format!(
                            "{included_volumes} volume(s) backed up, excluded: {}",
                            excluded.join(", ")
                        )
                    }
                }
                GuestConfigFacts::Unknown { reason } => format!("config unknown: {reason}"),
            };
            let _ = writeln!(
                out,
                "    {:>6} {:<4} {:<20} node {:<10} pool {:<10}{} {}",
                guest.vmid,
                guest.kind.as_str(),
                or_dash(guest.name.as_deref()),
                guest.node,
                or_dash(guest.pool.as_deref()),
                if guest.template == Some(true) {
                    " template"
                } else {
                    ""
                },
                config
            );
        }
        let _ = writeln!(
            out,
            "  storages ({}):",
            completeness(&pve.storages.completeness)
        );
        for storage in &pve.storages.items {
            let target = match &storage.pbs {
                Some(pbs) => format!(
                    " -> PBS {}:{} datastore {} namespace {} as {}{}",
                    pbs.server,
                    pbs.port,
                    pbs.datastore,
                    pbs.namespace.as_deref().unwrap_or("(root)"),
                    pbs.username.as_deref().unwrap_or("(not specified)"),
                    if pbs.encrypted { ", encrypted" } else { "" }
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "    {:<16} {:<6} {:<8} content {}{}",
                storage.id,
                storage.kind,
                if storage.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
                storage.content.join(","),
                target
            );
        }
        let _ = writeln!(
            out,
            "  backup jobs ({}):",
            completeness(&pve.jobs.completeness)
        );
        for job in &pve.jobs.items {
            let selection = match &job.selection {
                Selection::Vmids { vmids } => format!("vmid {}", join(vmids)),
                Selection::All { exclude } if exclude.is_empty() => "all".to_string(),
                Selection::All { exclude } => format!("all except {}", join(exclude)),
                Selection::Pool { pool } => format!("pool {pool}"),
                Selection::Nothing => "nothing".to_string(),
            };
            let _ = writeln!(
                out,
                "    {:<20} {:<8} schedule {:<16} storage {:<10} {}{}",
                job.id,
                if job.enabled { "enabled" } else { "DISABLED" },
                or_dash(job.schedule.as_deref()),
                or_dash(job.storage.as_deref()),
                selection,
                job.node
                    .as_deref()
                    .map(|n| format!(" (node {n} only)"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "  pools ({}):", completeness(&pve.pools.completeness));
        for pool in &pve.pools.items {
            let members = pool
                .members
                .as_ref()
                .map(|m| join(m))
                .unwrap_or_else(|| "members unknown".into());
            let _ = writeln!(out, "    {:<20} {}", pool.id, members);
        }
        let _ = writeln!(out, "  vzdump task history:");
        for history in &pve.task_history {
            let parsed = history
                .tasks
                .iter()
                .filter(|t| matches!(t.log, TaskLogEvidence::Parsed { .. }))
                .count();
            let _ = writeln!(
                out,
                "    {:<16} {} tasks ({} logs read), since {} reached {} — {}",
                history.node,
                history.tasks.len(),
                parsed,
                history.requested_since.format("%Y-%m-%d %H:%M"),
                history
                    .oldest_seen
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
                completeness(&history.completeness)
            );
        }
        let _ = writeln!(
            out,
            "  backups listed through PVE storage content: {} ({})",
            pve.storage_backups.items.len(),
            completeness(&pve.storage_backups.completeness)
        );
        let _ = writeln!(
            out,
            "  PVE's own not-backed-up list: {} ({})",
            join(&pve.not_backed_up.items),
            completeness(&pve.not_backed_up.completeness)
        );
    }
    for pbs in &inventory.pbs {
        let _ = writeln!(
            out,
            "\nPBS '{}' {} (version {})",
            pbs.name,
            pbs.host,
            or_dash(pbs.version.as_deref())
        );
        let _ = writeln!(
            out,
            "  datastores ({}):",
            completeness(&pbs.datastores.completeness)
        );
        for store in &pbs.datastores.items {
            let finished = store
                .snapshots
                .items
                .iter()
                .filter(|s| !s.in_progress())
                .count();
            let _ = writeln!(
                out,
                "    {:<16} namespaces [{}] snapshots {} finished, {} in progress ({})",
                store.name,
                store
                    .namespaces
                    .items
                    .iter()
                    .map(|n| if n.is_empty() { "(root)" } else { n.as_str() })
                    .collect::<Vec<_>>()
                    .join(", "),
                finished,
                store.snapshots.items.len() - finished,
                completeness(&store.snapshots.completeness)
            );
        }
        for (label, jobs) in [
            ("verify", &pbs.verify_jobs),
            ("prune", &pbs.prune_jobs),
            ("sync", &pbs.sync_jobs),
        ] {
            for job in &jobs.items {
                let _ = writeln!(
                    out,
                    "    {label} job {:<14} store {:<12} last {}",
                    job.id,
                    job.store,
                    or_dash(job.last_run_state.as_deref())
                );
            }
        }
    }
    let _ = writeln!(out, "\nanomalies: {}", inventory.anomalies.len());
    for anomaly in &inventory.anomalies {
        let _ = writeln!(
            out,
            "  [{:?}] {}: {}",
            anomaly.severity, anomaly.component, anomaly.message
        );
    }
    out
}

fn join(vmids: &[u32]) -> String {
    if vmids.is_empty() {
        return "-".into();
    }
    vmids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
