//! Whether the collection behind a report was whole, decided once from the report itself so that
//! every output (HTML, Markdown, `--dump-coverage`, metrics) says the same: a failed or incomplete
//! night must be loud, and never look like an all-clear.

use crate::coverage::report::Report;
use crate::coverage::summary::required_unavailable;
use crate::model::Severity;

/// How many causes an output names before it says "and N more".
const MAX_CAUSES: usize = 5;

/// What the user should run to find out what the connection or the token lacks.
pub(crate) const CHECK_HINT: &str =
    "Run pve-backup-report --check-api to see what the connection or the token lacks.";

/// How whole the collection was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollectionState {
    /// Every required source answered and no anomaly is critical.
    Complete,
    /// Guests were read and assessed, but a critical anomaly says some evidence is missing, so
    /// some verdicts may be missing or wrong.
    Incomplete,
    /// No guest could be read while something went wrong, or a required list (nodes, guests,
    /// backup jobs) is unavailable: the report says nothing about the backups.
    Failed,
}

/// The collection state of a report, with its causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collection {
    /// How whole it was.
    pub state: CollectionState,
    /// Why, one sentence each (anomaly titles first, then unavailable sources), deduplicated, in
    /// the report's order (anomalies are worst first). Empty when complete.
    pub causes: Vec<String>,
    /// Whether any guest was read at all.
    pub guests_read: bool,
}

impl Collection {
    /// `Collection failed` / `Collection was incomplete`; None when complete.
    pub fn title(&self) -> Option<&'static str> {
        match self.state {
            CollectionState::Complete => None,
            CollectionState::Incomplete => Some("Collection was incomplete"),
            CollectionState::Failed => Some("Collection failed"),
        }
    }

    /// What the state means for the verdicts, one sentence; None when complete.
    pub fn meaning(&self) -> Option<&'static str> {
        match self.state {
            CollectionState::Complete => None,
            CollectionState::Incomplete => {
                Some("some verdicts below may be missing, undecided or wrong.")
            }
            CollectionState::Failed if self.guests_read => {
                Some("the verdicts below cannot be trusted.")
            }
            CollectionState::Failed => Some("no guest could be read; this is not a backup status."),
        }
    }

    /// At most [`MAX_CAUSES`] causes, then `and N more (see the anomalies)` when there are more.
    pub fn shown_causes(&self) -> Vec<String> {
        let mut shown: Vec<String> = self.causes.iter().take(MAX_CAUSES).cloned().collect();
        if self.causes.len() > MAX_CAUSES {
            shown.push(format!(
                "and {} more (see the anomalies)",
                self.causes.len() - MAX_CAUSES
            ));
        }
        shown
    }

    /// One line for text outputs: `Collection failed: no guest could be read; … Causes: a; b. Run …`.
    pub fn line(&self) -> Option<String> {
        let title = self.title()?;
        let meaning = self.meaning().unwrap_or_default();
        let causes = self.shown_causes();
        let causes = if causes.is_empty() {
            String::new()
        } else {
            format!(" Causes: {}.", causes.join("; "))
        };
        Some(format!("{title}: {meaning}{causes} {CHECK_HINT}"))
    }

    /// Whether an output may say that nothing needs attention: only after a complete collection
    /// that read at least one guest.
    pub fn allows_all_clear(&self) -> bool {
        self.state == CollectionState::Complete && self.guests_read
    }
}

impl Collection {
    /// `collection failed: a; b (+N more)` naming at most `named` causes, for one-line outputs
    /// (the cron line, the monitoring-plugin line); None when the collection was whole.
    pub(crate) fn short_cause(&self, named: usize) -> Option<String> {
        let word = match self.state {
            CollectionState::Complete => return None,
            CollectionState::Incomplete => "incomplete",
            CollectionState::Failed => "failed",
        };
        let mut line = format!(
            "collection {word}: {}",
            self.causes[..self.causes.len().min(named)].join("; ")
        );
        if self.causes.len() > named {
            line.push_str(&format!(" (+{} more)", self.causes.len() - named));
        }
        Some(line)
    }
}

/// The counts in one line: `N guests: a covered, …; b stale, c failed, d never`.
pub(crate) fn headline(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} guests: {} covered, {} partial, {} disabled-only, {} not covered, {} indeterminate; {} stale, {} failed, {} never",
        s.guests, s.covered, s.partial, s.disabled_only, s.not_covered, s.indeterminate, s.stale, s.failed, s.never
    )
}

/// Decide how whole the collection behind `report` was.
pub(crate) fn assess(report: &Report) -> Collection {
    let critical: Vec<&str> = report
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .map(|a| a.message.as_str())
        .collect();
    let required = required_unavailable(&report.evidence);
    let guests_read = report.summary.guests > 0;
    // A required list that is unavailable has its own critical anomaly, whose title is shorter:
    // name the list itself only when no anomaly does.
    let mut causes: Vec<&str> = if critical.is_empty() {
        required.clone()
    } else {
        critical.clone()
    };
    // With no guest, any gap in the evidence may be why: name it rather than say nothing.
    if !guests_read && causes.is_empty() {
        causes.extend(report.evidence.incomplete.iter().map(String::as_str));
    }
    let mut unique: Vec<String> = Vec::new();
    for cause in causes {
        if !unique.iter().any(|c| c == cause) {
            unique.push(cause.to_string());
        }
    }
    let causes = unique;
    // Of several clusters, one that could not be read leaves the others' verdicts whole: the
    // night is incomplete, not failed, unless no cluster could be read.
    let clusters_failed: std::collections::BTreeSet<&str> = required
        .iter()
        .filter_map(|line| line.split_once(": ").map(|(cluster, _)| cluster))
        .filter(|cluster| report.clusters.iter().any(|c| c.name == *cluster))
        .collect();
    let some_cluster_whole =
        report.clusters.len() > 1 && clusters_failed.len() < report.clusters.len();
    let state =
        if (!required.is_empty() && !some_cluster_whole) || (!guests_read && !causes.is_empty()) {
            CollectionState::Failed
        } else if !critical.is_empty() || !required.is_empty() {
            CollectionState::Incomplete
        } else {
            CollectionState::Complete
        };
    Collection {
        state,
        causes,
        guests_read,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::coverage::report::{EvidenceReport, Summary, SCHEMA_VERSION};
    use crate::model::Anomaly;

    fn report(guests: usize, anomalies: Vec<Anomaly>, incomplete: &[&str]) -> Report {
        Report {
            clusters: Vec::new(),
            schema_version: SCHEMA_VERSION,
            generated_at: chrono::DateTime::UNIX_EPOCH,
            servers: Vec::new(),
            summary: Summary {
                guests,
                ..Summary::default()
            },
            guests: Vec::new(),
            jobs: Vec::new(),
            datastores: Vec::new(),
            evidence: EvidenceReport {
                pve_host: None,
                horizons: Vec::new(),
                incomplete: incomplete.iter().map(|s| s.to_string()).collect(),
            },
            orphans: Vec::new(),
            copy_jobs: Vec::new(),
            anomalies,
        }
    }

    fn critical(message: &str) -> Anomaly {
        Anomaly::new(Severity::Critical, "x", message, "")
    }

    #[test]
    fn states() {
        let complete = assess(&report(3, vec![], &["PVE storage content incomplete: x"]));
        assert_eq!(complete.state, CollectionState::Complete);
        assert!(complete.allows_all_clear() && complete.line().is_none());

        // An empty cluster read without trouble is no failure, but no all-clear either.
        let empty = assess(&report(0, vec![], &[]));
        assert_eq!(empty.state, CollectionState::Complete);
        assert!(!empty.allows_all_clear());

        let hidden = assess(&report(0, vec![], &["PBS b datastores incomplete: y"]));
        assert_eq!(hidden.state, CollectionState::Failed);
        assert_eq!(hidden.causes, vec!["PBS b datastores incomplete: y"]);

        let incomplete = assess(&report(3, vec![critical("a"), critical("a")], &[]));
        assert_eq!(incomplete.state, CollectionState::Incomplete);
        assert_eq!(incomplete.causes, vec!["a"]);

        let required = assess(&report(3, vec![], &["PVE backup jobs unavailable: z"]));
        assert_eq!(required.state, CollectionState::Failed);
        assert_eq!(required.causes, vec!["PVE backup jobs unavailable: z"]);
        assert!(required.line().unwrap().starts_with(
            "Collection failed: the verdicts below cannot be trusted. Causes: PVE backup jobs"
        ));

        let many: Vec<Anomaly> = (0..7).map(|i| critical(&format!("c{i}"))).collect();
        let shown = assess(&report(0, many, &[])).shown_causes();
        assert_eq!(shown.len(), 6);
        assert_eq!(shown[5], "and 2 more (see the anomalies)");
    }
}
