//! PBS datastores (usage, GC, verify/prune/sync jobs) and orphaned snapshot groups.

use crate::coverage::report::Report;

use super::format::{format_size, namespace_word, Formatter, When, NONE};
use super::Badge;

/// A row of the datastores table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreRow {
    /// PBS server.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// `1.2 TiB of 4.0 TiB`, or `—`.
    pub usage: String,
    /// `73.2 %`, or `—`.
    pub percent: String,
    /// Bar width in percent (`73.2`), empty when unknown.
    pub bar_width: String,
    /// Bar colour.
    pub bar_class: &'static str,
    /// Estimated full date.
    pub estimated_full: When,
    /// Last GC state (`—` when unknown).
    pub gc_state: Badge,
    /// End of the last GC.
    pub gc_last_run: When,
    /// Verify job lines.
    pub verify_jobs: Vec<String>,
    /// Prune job lines.
    pub prune_jobs: Vec<String>,
    /// Sync job lines.
    pub sync_jobs: Vec<String>,
    /// Finished snapshots seen.
    pub snapshots: usize,
    /// Namespaces, comma separated (`root` for "").
    pub namespaces: String,
}

/// A row of the orphans table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanRow {
    /// PBS server.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// Namespace (`root` for "").
    pub namespace: String,
    /// `vm/105`.
    pub group: String,
    /// Latest snapshot.
    pub latest: When,
    /// Snapshots.
    pub snapshots: usize,
}

/// PBS datastores, in the report's order.
pub(crate) fn datastore_rows(report: &Report, fmt: &Formatter) -> Vec<DatastoreRow> {
    report
        .datastores
        .iter()
        .map(|ds| {
            let usage = match (ds.used_bytes, ds.total_bytes) {
                (Some(used), Some(total)) => {
                    format!("{} of {}", format_size(used), format_size(total))
                }
                (Some(used), None) => format!("{} used", format_size(used)),
                (None, Some(total)) => format!("? of {}", format_size(total)),
                (None, None) => NONE.to_string(),
            };
            let percent = ds.used_percent;
            DatastoreRow {
                server: ds.server.clone(),
                datastore: ds.datastore.clone(),
                usage,
                percent: percent
                    .map(|p| format!("{p:.1} %"))
                    .unwrap_or_else(|| NONE.into()),
                bar_width: percent
                    .map(|p| format!("{:.1}", p.clamp(0.0, 100.0)))
                    .unwrap_or_default(),
                bar_class: match percent {
                    Some(p) if p >= 90.0 => "bad",
                    Some(p) if p >= 80.0 => "warn",
                    Some(_) => "ok",
                    None => "unknown",
                },
                estimated_full: fmt.when(ds.estimated_full),
                gc_state: match ds.gc_state.as_deref() {
                    None => Badge::new(NONE, "muted", ""),
                    Some("ok" | "OK") => Badge::new("ok", "ok", ""),
                    Some(other) => Badge::new(other, "warn", ""),
                },
                gc_last_run: fmt.when(ds.gc_last_run),
                verify_jobs: ds.verify_jobs.clone(),
                prune_jobs: ds.prune_jobs.clone(),
                sync_jobs: ds.sync_jobs.clone(),
                snapshots: ds.snapshots,
                namespaces: if ds.namespaces.is_empty() {
                    NONE.to_string()
                } else {
                    ds.namespaces
                        .iter()
                        .map(|n| namespace_word(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            }
        })
        .collect()
}

/// PBS groups of guests that no longer exist, in the report's order.
pub(crate) fn orphan_rows(report: &Report, fmt: &Formatter) -> Vec<OrphanRow> {
    report
        .orphans
        .iter()
        .map(|o| OrphanRow {
            server: o.server.clone(),
            datastore: o.datastore.clone(),
            namespace: namespace_word(&o.namespace),
            group: format!("{}/{}", o.backup_type, o.backup_id),
            latest: fmt.when(Some(o.latest)),
            snapshots: o.snapshots,
        })
        .collect()
}
