//! Text form of `--dump-coverage`: one line per guest, the reasons, the anomalies and the counts
//! (the JSON form is the report itself). A failed or incomplete collection is said first.

use std::fmt::Write as _;

use super::collection;
use super::view::words::severity_word;
use crate::coverage::report::{BackupEvent, Coverage, Freshness, Report};

fn when(event: Option<&BackupEvent>) -> String {
    event
        .map(|e| e.time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".to_string())
}

/// One line per guest: vmid, name, coverage, freshness, jobs, last success; then the reasons of
/// anything not fine, the anomalies, and the summary. Opens with the collection line when the
/// collection failed or was incomplete.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    if let Some(line) = collection::assess(report).line() {
        let _ = writeln!(
            out,
            "{line}
"
        );
    }
    let jobs_of = |jobs: &[String]| {
        if jobs.is_empty() {
            "-".to_string()
        } else {
            jobs.join(",")
        }
    };
    // Over several clusters a guest is `cluster/vmid`: VMIDs repeat across clusters.
    let several = report.clusters.len() > 1;
    let id_of = |guest: &crate::coverage::report::GuestReport| {
        if several {
            format!("{}/{}", guest.cluster, guest.vmid)
        } else {
            guest.vmid.to_string()
        }
    };
    let id_width = report
        .guests
        .iter()
        .map(|g| id_of(g).chars().count())
        .chain([6])
        .max()
        .unwrap_or(6);
    let name_width = report
        .guests
        .iter()
        .map(|g| g.name.as_deref().unwrap_or("-").chars().count())
        .chain([4])
        .max()
        .unwrap_or(4)
        .min(40);
    let jobs_width = report
        .guests
        .iter()
        .map(|g| jobs_of(&g.jobs).chars().count())
        .chain([4])
        .max()
        .unwrap_or(4)
        .min(80);
    let _ = writeln!(
        out,
        "{:>id_width$}  {:<name_width$}  {:<13}  {:<7}  {:<jobs_width$}  {:<16}  exempt",
        "vmid", "name", "coverage", "fresh", "jobs", "last success"
    );
    for guest in &report.guests {
        let line = format!(
            "{:>id_width$}  {:<name_width$}  {:<13}  {:<7}  {:<jobs_width$}  {:<16}  {}",
            id_of(guest),
            guest.name.as_deref().unwrap_or("-"),
            guest.coverage.as_str(),
            guest.freshness.as_str(),
            jobs_of(&guest.jobs),
            when(guest.last_success.as_ref()),
            guest
                .exempt
                .as_ref()
                .map(|e| e.reason.as_str())
                .unwrap_or("")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let attention: Vec<_> = report
        .guests
        .iter()
        .filter(|g| g.coverage != Coverage::Covered || g.freshness != Freshness::Ok)
        .collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "\nwhy:");
        for guest in attention {
            let _ = writeln!(
                out,
                "  {:>id_width$}  coverage: {}",
                id_of(guest),
                guest.coverage_reason
            );
            let _ = writeln!(
                out,
                "  {:>id_width$}  freshness: {}",
                "", guest.freshness_reason
            );
        }
    }
    if !report.anomalies.is_empty() {
        let _ = writeln!(out, "\nanomalies:");
        for anomaly in &report.anomalies {
            let _ = writeln!(
                out,
                "  {:<8}  {}  {}",
                severity_word(anomaly.severity),
                anomaly.component,
                anomaly.message
            );
            if !anomaly.details.is_empty() {
                let _ = writeln!(out, "  {:<8}  {}", "", anomaly.details);
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} guests: {} covered, {} partial, {} disabled-only, {} not covered, {} indeterminate; {} fresh, {} stale, {} failed, {} never, {} unknown; {} exempt; {} anomalies",
        s.guests, s.covered, s.partial, s.disabled_only, s.not_covered, s.indeterminate, s.fresh, s.stale, s.failed, s.never, s.freshness_unknown, s.exempt, report.anomalies.len()
    );
    out
}
