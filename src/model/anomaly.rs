//! Anomalies: problems met while collecting or assessing, reported instead of aborting the run.

use serde::{Deserialize, Serialize};

/// How bad an anomaly is. Orders worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something is wrong and a verdict may be wrong or missing because of it.
    Critical,
    /// Worth a look; verdicts may be less certain.
    Warning,
    /// For information (e.g. a disagreement with PVE's own view that explains itself).
    Info,
}

/// One problem, with enough context to act on it. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Anomaly {
    /// How bad it is.
    pub severity: Severity,
    /// Where: `pve`, `pve/tasks/pve1`, `pbs/<name>/<datastore>`, `job/<id>`, `guest/<vmid>`, …
    pub component: String,
    /// What happened, in one sentence.
    pub message: String,
    /// Endpoint, status, server message, and the fix, when known.
    pub details: String,
}

impl Anomaly {
    /// Build an anomaly.
    pub fn new(
        severity: Severity,
        component: impl Into<String>,
        message: impl Into<String>,
        details: impl Into<String>,
    ) -> Self {
        Anomaly {
            severity,
            component: component.into(),
            message: message.into(),
            details: details.into(),
        }
    }

    /// This anomaly as one cluster's, in a run over several: its component starts with the
    /// cluster's name (`prod/job/daily`), so the same job id or VMID in two clusters stays two
    /// problems.
    pub fn of_cluster(mut self, cluster: &str) -> Anomaly {
        self.component = format!("{cluster}/{}", self.component);
        self
    }

    /// Whether this anomaly is about a PBS server (`pbs`, `pbs/<name>/…`), not a cluster.
    pub fn is_about_pbs(&self) -> bool {
        self.component == "pbs" || self.component.starts_with("pbs/")
    }
}
