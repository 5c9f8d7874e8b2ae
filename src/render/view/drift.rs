//! The "changes since the previous report" section: the drift's lists as groups of lines, worst
//! kind of change first.

use crate::coverage::drift::{CoverageChange, Drift, FreshnessChange, GuestRef};

use super::format::{Formatter, When};
use super::words::{coverage_word, freshness_word, offsite_word};

/// One line of the drift section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftLine {
    /// What changed: `105 db01 (pve1)` or a job id.
    pub subject: String,
    /// `covered → not covered`, `schedule: 02:00 → 03:00`, …
    pub change: String,
    /// The current reason, when there is one.
    pub detail: String,
}

/// A group of drift lines of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftGroup {
    /// `Lost coverage`, `Jobs disabled`, …
    pub title: &'static str,
    /// Colour of the group.
    pub class: &'static str,
    /// Lines, in the drift's order.
    pub lines: Vec<DriftLine>,
}

/// The drift section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftView {
    /// When the previous report was made.
    pub previous: When,
    /// Non-empty groups only.
    pub groups: Vec<DriftGroup>,
}

fn guest_subject(guest: &GuestRef, fmt: &Formatter) -> String {
    let node = fmt.of_cluster(&guest.cluster, &guest.node);
    match &guest.name {
        Some(name) => format!("{} {} ({node})", guest.vmid, name),
        None => format!("{} ({node})", guest.vmid),
    }
}

fn coverage_lines(changes: &[CoverageChange], fmt: &Formatter) -> Vec<DriftLine> {
    changes
        .iter()
        .map(|c| DriftLine {
            subject: guest_subject(&c.guest, fmt),
            change: format!("{} → {}", coverage_word(c.before), coverage_word(c.after)),
            detail: c.reason.clone(),
        })
        .collect()
}

fn freshness_lines(changes: &[FreshnessChange], fmt: &Formatter) -> Vec<DriftLine> {
    changes
        .iter()
        .map(|c| DriftLine {
            subject: guest_subject(&c.guest, fmt),
            change: format!("{} → {}", freshness_word(c.before), freshness_word(c.after)),
            detail: c.reason.clone(),
        })
        .collect()
}

fn guest_lines(guests: &[GuestRef], change: &str, fmt: &Formatter) -> Vec<DriftLine> {
    guests
        .iter()
        .map(|g| DriftLine {
            subject: guest_subject(g, fmt),
            change: change.to_string(),
            detail: String::new(),
        })
        .collect()
}

fn job_lines(jobs: &[String], change: &str) -> Vec<DriftLine> {
    jobs.iter()
        .map(|id| DriftLine {
            subject: id.clone(),
            change: change.to_string(),
            detail: String::new(),
        })
        .collect()
}

/// The drift section; groups without lines are left out.
pub(crate) fn drift_view(drift: &Drift, fmt: &Formatter) -> DriftView {
    let groups = vec![
        DriftGroup {
            title: "Lost coverage",
            class: "bad",
            lines: coverage_lines(&drift.coverage_lost, fmt),
        },
        DriftGroup {
            title: "Freshness got worse",
            class: "bad",
            lines: freshness_lines(&drift.freshness_worse, fmt),
        },
        DriftGroup {
            title: "Verification went from ok to failed",
            class: "bad",
            lines: guest_lines(&drift.verification_failed, "ok → failed", fmt),
        },
        DriftGroup {
            title: "Lost the off-site copy",
            class: "bad",
            lines: drift
                .offsite_lost
                .iter()
                .map(|c| DriftLine {
                    subject: guest_subject(&c.guest, fmt),
                    change: format!(
                        "{} → {}",
                        offsite_word(c.before),
                        c.after.map_or("no copy job", offsite_word)
                    ),
                    detail: c.reason.clone(),
                })
                .collect(),
        },
        DriftGroup {
            title: "Jobs disabled",
            class: "bad",
            lines: job_lines(&drift.jobs_disabled, "enabled → disabled"),
        },
        DriftGroup {
            title: "Jobs removed",
            class: "warn",
            lines: job_lines(&drift.jobs_removed, "removed"),
        },
        DriftGroup {
            title: "Jobs changed",
            class: "warn",
            lines: drift
                .jobs_changed
                .iter()
                .map(|job| DriftLine {
                    subject: job.id.clone(),
                    change: job
                        .fields
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: {} → {}",
                                f.field,
                                f.before.as_deref().unwrap_or("(none)"),
                                f.after.as_deref().unwrap_or("(none)")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    detail: String::new(),
                })
                .collect(),
        },
        DriftGroup {
            title: "Coverage now indeterminate or decided again",
            class: "unknown",
            lines: coverage_lines(&drift.coverage_uncertain, fmt),
        },
        DriftGroup {
            title: "Gained coverage",
            class: "ok",
            lines: coverage_lines(&drift.coverage_gained, fmt),
        },
        DriftGroup {
            title: "Jobs enabled",
            class: "ok",
            lines: job_lines(&drift.jobs_enabled, "disabled → enabled"),
        },
        DriftGroup {
            title: "Jobs added",
            class: "info",
            lines: job_lines(&drift.jobs_added, "new"),
        },
        DriftGroup {
            title: "Guests added",
            class: "info",
            lines: guest_lines(&drift.guests_added, "new", fmt),
        },
        DriftGroup {
            title: "Guests removed",
            class: "info",
            lines: guest_lines(&drift.guests_removed, "gone", fmt),
        },
    ]
    .into_iter()
    .filter(|group| !group.lines.is_empty())
    .collect();
    DriftView {
        previous: fmt.when(drift.previous_generated_at),
        groups,
    }
}
