//! The Prometheus text exposition format, for node_exporter's textfile collector.
//!
//! Every family has `# HELP` and `# TYPE` lines (all are gauges); families are sorted by name and
//! series keep the report's order (guests by VMID, datastores by server and datastore). A value the
//! report does not know is left out, never written as 0.
//!
//! Guest series carry the labels `vmid`, `name` (empty when the guest has none), `node` and `type`
//! (`qemu`/`lxc`). Verdicts are label-valued: `pve_backup_guest_coverage` has exactly one series per
//! guest, whose `coverage` label is the verdict (`covered`, `partial`, `disabled_only`,
//! `not_covered`, `indeterminate`) and whose value is always 1; `pve_backup_guest_freshness`
//! likewise with `freshness` (`ok`, `stale`, `failed`, `never`, `unknown`). When a verdict
//! changes, the old series disappears (Prometheus marks it stale). Zero-valued series for the other
//! verdicts are not written: with thousands of guests they would multiply the series count by
//! five for no information. Alert on `pve_backup_guest_coverage{coverage="not_covered"} == 1`, count
//! with `count by (coverage) (pve_backup_guest_coverage)`.
//!
//! A failed or incomplete collection is visible without reading the anomalies:
//! `pve_backup_report_collection_complete` is 0 and `pve_backup_report_collection_failed` is 1
//! when nothing usable was read (same decision as the HTML and Markdown banners); alert on
//! `pve_backup_report_collection_complete == 0`.

use std::fmt::Write as _;
use std::time::Duration;

use super::collection::{self, CollectionState};
use super::view::words::severity_word;
use crate::coverage::report::{Coverage, Freshness, GuestReport, Report};
use crate::model::Severity;

/// Escape a label value per the exposition format: backslash, double quote and line feed.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<String>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let mut line = String::from(self.name);
        if !labels.is_empty() {
            line.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{key}=\"{}\"", escape_label_value(val));
            }
            line.push('}');
        }
        let _ = write!(line, " {value}");
        self.samples.push(line);
    }
}

fn guest_labels(guest: &GuestReport) -> [(&'static str, String); 4] {
    [
        ("vmid", guest.vmid.to_string()),
        ("name", guest.name.clone().unwrap_or_default()),
        ("node", guest.node.clone()),
        ("type", guest.kind.as_str().to_string()),
    ]
}

fn with<'a>(
    base: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    base.iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().copied())
        .collect()
}

/// Render the metrics. `run_duration` is how long the run took, when the caller measured it.
pub fn render(report: &Report, run_duration: Option<Duration>) -> String {
    let mut coverage = Family::new(
        "pve_backup_guest_coverage",
        "Coverage verdict of the guest, in the coverage label (always 1).",
    );
    let mut freshness = Family::new(
        "pve_backup_guest_freshness",
        "Freshness verdict of the guest, in the freshness label (always 1).",
    );
    let mut exempt = Family::new(
        "pve_backup_guest_exempt",
        "1 when the guest has a justified, unexpired backup exemption.",
    );
    let mut last_success = Family::new(
        "pve_backup_guest_last_success_timestamp_seconds",
        "Start of the guest's latest successful backup, Unix seconds (absent: none seen).",
    );
    let mut last_attempt = Family::new(
        "pve_backup_guest_last_attempt_timestamp_seconds",
        "Start of the guest's latest backup attempt, successful or not, Unix seconds.",
    );
    let mut last_failed = Family::new(
        "pve_backup_guest_last_attempt_failed",
        "1 when the guest's latest backup attempt failed, 0 when it succeeded.",
    );
    let mut success_duration = Family::new(
        "pve_backup_guest_last_success_duration_seconds",
        "Duration of the guest's latest successful backup.",
    );
    let mut success_size = Family::new(
        "pve_backup_guest_last_success_size_bytes",
        "Size of the guest's latest successful backup archive.",
    );
    for guest in &report.guests {
        let base = guest_labels(guest);
        coverage.push(&with(&base, &[("coverage", guest.coverage.as_str())]), 1);
        freshness.push(&with(&base, &[("freshness", guest.freshness.as_str())]), 1);
        let labels = with(&base, &[]);
        exempt.push(&labels, u8::from(guest.exempt.is_some()));
        if let Some(event) = &guest.last_success {
            last_success.push(&labels, event.time.timestamp());
            if let Some(duration) = event.duration_s {
                success_duration.push(&labels, duration);
            }
            if let Some(size) = event.size_bytes {
                success_size.push(&labels, size);
            }
        }
        if let Some(event) = &guest.last_backup {
            last_attempt.push(&labels, event.time.timestamp());
            last_failed.push(
                &labels,
                u8::from(event.status == crate::coverage::report::AttemptStatus::Failed),
            );
        }
    }

    let mut used = Family::new(
        "pve_backup_datastore_used_bytes",
        "Bytes used on the PBS datastore.",
    );
    let mut total = Family::new(
        "pve_backup_datastore_total_bytes",
        "Size of the PBS datastore in bytes.",
    );
    let mut full = Family::new(
        "pve_backup_datastore_estimated_full_timestamp_seconds",
        "When PBS estimates the datastore will be full, Unix seconds.",
    );
    for ds in &report.datastores {
        let labels = [
            ("server", ds.server.as_str()),
            ("datastore", ds.datastore.as_str()),
        ];
        if let Some(value) = ds.used_bytes {
            used.push(&labels, value);
        }
        if let Some(value) = ds.total_bytes {
            total.push(&labels, value);
        }
        if let Some(value) = ds.estimated_full {
            full.push(&labels, value.timestamp());
        }
    }

    let mut job_enabled = Family::new(
        "pve_backup_job_enabled",
        "1 when the backup job is enabled, 0 when disabled.",
    );
    let mut job_next = Family::new(
        "pve_backup_job_next_run_timestamp_seconds",
        "Next scheduled run of the backup job, Unix seconds.",
    );
    for job in &report.jobs {
        let labels = [("job", job.id.as_str())];
        job_enabled.push(&labels, u8::from(job.enabled));
        if let Some(next) = job.next_run {
            job_next.push(&labels, next.timestamp());
        }
    }

    let summary = &report.summary;
    let mut guests = Family::new(
        "pve_backup_report_guests",
        "Guests in the report by coverage verdict.",
    );
    for (verdict, count) in [
        (Coverage::Covered, summary.covered),
        (Coverage::Partial, summary.partial),
        (Coverage::DisabledOnly, summary.disabled_only),
        (Coverage::NotCovered, summary.not_covered),
        (Coverage::Indeterminate, summary.indeterminate),
    ] {
        guests.push(&[("coverage", verdict.as_str())], count);
    }
    let mut by_freshness = Family::new(
        "pve_backup_report_guests_by_freshness",
        "Guests in the report by freshness verdict.",
    );
    for (verdict, count) in [
        (Freshness::Ok, summary.fresh),
        (Freshness::Stale, summary.stale),
        (Freshness::Failed, summary.failed),
        (Freshness::Never, summary.never),
        (Freshness::Unknown, summary.freshness_unknown),
    ] {
        by_freshness.push(&[("freshness", verdict.as_str())], count);
    }
    let mut guests_total = Family::new("pve_backup_report_guests_total", "Guests in the report.");
    guests_total.push(&[], summary.guests);
    let mut guests_exempt = Family::new(
        "pve_backup_report_guests_exempt",
        "Guests with a justified, unexpired exemption.",
    );
    guests_exempt.push(&[], summary.exempt);
    let mut guests_unverified = Family::new(
        "pve_backup_report_guests_unverified",
        "Guests whose latest snapshot is not verified or failed verification.",
    );
    guests_unverified.push(&[], summary.unverified);
    let mut percent = Family::new(
        "pve_backup_report_coverage_percent",
        "Covered and partial guests among guests with known coverage, in percent (absent: none known).",
    );
    if let Some(value) = summary.coverage_percent {
        percent.push(&[], value);
    }
    let mut anomalies = Family::new(
        "pve_backup_report_anomalies",
        "Anomalies met while collecting and assessing, by severity.",
    );
    for severity in [Severity::Critical, Severity::Warning, Severity::Info] {
        let count = report
            .anomalies
            .iter()
            .filter(|a| a.severity == severity)
            .count();
        anomalies.push(&[("severity", severity_word(severity))], count);
    }
    let mut complete = Family::new(
        "pve_backup_report_collection_complete",
        "1 when the collection was complete, 0 when it failed or was incomplete (a critical anomaly, \
         or a required list unavailable): the other series then cannot be trusted to be whole.",
    );
    let collection = collection::assess(report);
    complete.push(&[], u8::from(collection.state == CollectionState::Complete));
    let mut failed = Family::new(
        "pve_backup_report_collection_failed",
        "1 when the collection failed: no guest could be read, or the nodes, guests or backup jobs \
         could not be listed.",
    );
    failed.push(&[], u8::from(collection.state == CollectionState::Failed));
    let mut generated = Family::new(
        "pve_backup_report_generated_timestamp_seconds",
        "When the report was generated (its \"now\"), Unix seconds.",
    );
    generated.push(&[], report.generated_at.timestamp());
    let mut duration = Family::new(
        "pve_backup_report_duration_seconds",
        "How long the run that made the report took.",
    );
    if let Some(elapsed) = run_duration {
        duration.push(&[], format!("{:.3}", elapsed.as_secs_f64()));
    }

    let mut families = vec![
        coverage,
        freshness,
        exempt,
        last_success,
        last_attempt,
        last_failed,
        success_duration,
        success_size,
        used,
        total,
        full,
        job_enabled,
        job_next,
        guests,
        by_freshness,
        guests_total,
        guests_exempt,
        guests_unverified,
        percent,
        anomalies,
        complete,
        failed,
        generated,
        duration,
    ];
    families.sort_by_key(|f| f.name);

    let mut out = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} gauge", family.name);
        for sample in &family.samples {
            out.push_str(sample);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_label_value;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label_value("a\\b \"c\"\nd"), "a\\\\b \\\"c\\\"\\nd");
        assert_eq!(escape_label_value("web-01"), "web-01");
    }
}
