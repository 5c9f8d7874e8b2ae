//! Collection: read everything a verdict needs from PVE and every PBS, and turn it into the
//! normalized [`Inventory`].
//!
//! Independent requests run concurrently; the shared limiter inside each client keeps the number in
//! flight modest. Every failed or incomplete source becomes an [`Anomaly`] plus a
//! [`Completeness`] on the list it shortened, and the run goes on. Results are sorted by stable keys,
//! so the inventory never depends on timing.

mod pbs;
mod progress;
mod pve;
mod sources;

use chrono::{DateTime, Utc};

use crate::api::source::Source;
use crate::api::ApiError;
use crate::model::{Anomaly, Inventory, Severity};

pub use crate::config::CollectOptions;
pub use pbs::collect_pbs;
pub use progress::{Progress, ProgressSnapshot};
pub use pve::collect_pve;
pub use sources::{gather, SourceError};

/// The servers to read.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The PVE cluster.
    pub pve: Option<Source>,
    /// PBS servers.
    pub pbs: Vec<Source>,
}

/// Collect from every configured server. Never fails: problems become anomalies.
pub async fn collect(
    sources: &Sources,
    now: DateTime<Utc>,
    options: &CollectOptions,
    progress: &Progress,
) -> Inventory {
    let pbs_hosts: Vec<String> = sources.pbs.iter().map(|s| s.server().host).collect();
    let pve_future = async {
        match &sources.pve {
            Some(source) => Some(collect_pve(source, now, options, &pbs_hosts, progress).await),
            None => None,
        }
    };
    let pbs_future = async {
        let mut results = Vec::new();
        let mut set = tokio::task::JoinSet::new();
        for (index, source) in sources.pbs.iter().enumerate() {
            let source = source.clone();
            let progress = progress.clone();
            set.spawn(async move { (index, collect_pbs(&source, &progress).await) });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(item) => results.push(item),
                Err(err) => tracing::error!("a PBS collector task ended abnormally: {err}"),
            }
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
    };
    let (pve, pbs) = tokio::join!(pve_future, pbs_future);
    let mut anomalies = Vec::new();
    let pve = pve.map(|(inventory, mut found)| {
        anomalies.append(&mut found);
        inventory
    });
    let mut pbs_inventories = Vec::new();
    for (inventory, mut found) in pbs {
        anomalies.append(&mut found);
        pbs_inventories.push(inventory);
    }
    pbs_inventories.sort_by(|a, b| a.name.cmp(&b.name));
    let mut inventory = Inventory {
        collected_at: now,
        pve,
        pbs: pbs_inventories,
        anomalies,
    };
    inventory.normalize();
    inventory
}

/// An anomaly for a failed request: what could not be read, the error, and the fix.
pub fn request_anomaly(severity: Severity, component: &str, what: &str, err: &ApiError) -> Anomaly {
    let mut details = err.to_string();
    if let Some(hint) = err.hint() {
        details.push_str(". Fix: ");
        details.push_str(&hint);
    }
    Anomaly::new(
        severity,
        component,
        format!("{what} could not be read ({})", err.short()),
        details,
    )
}

/// Epoch seconds to UTC, None when out of range.
pub fn epoch(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}
