//! What the run could and could not read: the anomalies table and the task-history horizon.

use crate::coverage::report::Report;

use super::format::{Formatter, When};
use super::words::severity_badge;
use super::Badge;

/// A row of the anomalies table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRow {
    /// Severity.
    pub severity: Badge,
    /// Component.
    pub component: String,
    /// Message.
    pub message: String,
    /// Details.
    pub details: String,
}

/// A row of the collection horizon table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HorizonRow {
    /// Node.
    pub node: String,
    /// Asked-for start.
    pub requested_since: When,
    /// Oldest task seen.
    pub oldest_seen: When,
    /// Complete or not.
    pub complete: Badge,
    /// Vzdump tasks read.
    pub tasks: usize,
}

/// Anomalies, in the report's order (worst first).
pub(crate) fn anomaly_rows(report: &Report) -> Vec<AnomalyRow> {
    report
        .anomalies
        .iter()
        .map(|a| AnomalyRow {
            severity: severity_badge(a.severity),
            component: a.component.clone(),
            message: a.message.clone(),
            details: a.details.clone(),
        })
        .collect()
}

/// Task-history horizon per node.
pub(crate) fn horizon_rows(report: &Report, fmt: &Formatter) -> Vec<HorizonRow> {
    report
        .evidence
        .horizons
        .iter()
        .map(|h| HorizonRow {
            node: fmt.of_cluster(&h.cluster, &h.node),
            requested_since: fmt.when(Some(h.requested_since)),
            oldest_seen: fmt.when(h.oldest_seen),
            complete: if h.complete {
                Badge::new("complete", "ok", "")
            } else {
                Badge::new("incomplete", "warn", "")
            },
            tasks: h.tasks,
        })
        .collect()
}
