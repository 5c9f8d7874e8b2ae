//! The Prometheus text exposition format, for node_exporter's textfile collector.
//!
//! Naming follows the exposition conventions: one prefix (`pve_backup_`), then the subject
//! (`guest_`, `datastore_`, `job_`, `report_`); units as suffixes (`_seconds`, `_bytes`,
//! `_timestamp_seconds`, `_ratio` for 0–1 fractions); no gauge ends in `_total` (a counter suffix:
//! every family here is a gauge, re-computed on each run); `pve_backup_report_info` is the info
//! metric. Every family has `# HELP` and `# TYPE`, families are sorted by name, each family's
//! samples are contiguous, and series keep the report's order (guests by VMID, datastores by server
//! and datastore). A value the report does not know is left out, never written as 0.
//!
//! Every series carries `cluster`. Guest and job series carry their own cluster's name
//! (`PVE_NAME`/`PVEnn_NAME`, else the PVE host without its port), and so do the per-cluster guest
//! counts (`pve_backup_report_guests*`, `…_coverage_ratio`) of a report over several clusters;
//! series about the whole report (datastores, anomalies, collection state, info) carry the
//! report's cluster label: its cluster names joined by `,`. With it, reports of several clusters
//! can sit side by side in one textfile directory without duplicate series.
//!
//! Guest series also carry `vmid`, `name` (empty when the guest has none), `node` and `type`
//! (`qemu`/`lxc`). Verdicts are label-valued: `pve_backup_guest_coverage` has exactly one series per
//! guest, whose `coverage` label is the verdict (`covered`, `partial`, `disabled_only`,
//! `not_covered`, `indeterminate`) and whose value is always 1; `pve_backup_guest_freshness`
//! likewise with `freshness` (`ok`, `stale`, `failed`, `never`, `unknown`), and
//! `pve_backup_guest_offsite` with `offsite` (`ok`, `stale`, `missing`, `not_selected`, `unknown`;
//! no series when the guest's `offsite` is null). When a verdict
//! changes, the old series disappears (Prometheus marks it stale). Zero-valued series for the other
//! verdicts are not written: with thousands of guests they would multiply the series count by
//! five for no information. Alert on `pve_backup_guest_coverage{coverage="not_covered"} == 1`, count
//! with `count by (coverage) (pve_backup_guest_coverage)`.
//!
//! A failed or incomplete collection is visible without reading the anomalies:
//! `pve_backup_report_collection_complete` is 0 and `pve_backup_report_collection_failed` is 1
//! when nothing usable was read (same decision as the HTML and Markdown banners); alert on
//! `pve_backup_report_collection_complete == 0`. docs/report.md lists every family.

use std::fmt::Write as _;
use std::time::Duration;

use super::collection::{self, CollectionState};
use super::view::words::severity_word;
use crate::api::server::host_of;
use crate::coverage::report::{Coverage, Freshness, GuestReport, OffsiteStatus, Report};
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

/// The report's `cluster` label: its clusters' names joined by `,`; for a report of an older
/// version, the PVE host without its port (`unknown` when the report does not say).
pub fn cluster_label(report: &Report) -> String {
    if !report.clusters.is_empty() {
        let names: Vec<&str> = report.clusters.iter().map(|c| c.name.as_str()).collect();
        return names.join(",");
    }
    let Some(host) = report.evidence.pve_host.as_deref() else {
        return "unknown".to_string();
    };
    let trimmed = host_of(host);
    if trimmed.is_empty() {
        "unknown".to_string()
    } else {
        trimmed.to_string()
    }
}

fn guest_labels(cluster: &str, guest: &GuestReport) -> [(&'static str, String); 5] {
    [
        ("cluster", cluster.to_string()),
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
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = render_into(report, run_duration, &mut out);
    out
}

/// Render the metrics straight into `out` (a file being written); fails only when `out` does.
pub fn render_into(
    report: &Report,
    run_duration: Option<Duration>,
    out: &mut dyn std::fmt::Write,
) -> std::fmt::Result {
    let cluster_value = cluster_label(report);
    let cluster = cluster_value.as_str();
    let only_cluster = [("cluster", cluster)];

    let mut coverage = Family::new(
        "pve_backup_guest_coverage",
        "Coverage verdict of the guest, in the coverage label (always 1).",
    );
    let mut freshness = Family::new(
        "pve_backup_guest_freshness",
        "Freshness verdict of the guest, in the freshness label (always 1).",
    );
    let mut offsite = Family::new(
        "pve_backup_guest_offsite",
        "Off-site verdict of the guest, in the offsite label (always 1; absent when no copy job reads its datastore).",
    );
    let mut offsite_latest = Family::new(
        "pve_backup_guest_offsite_latest_copy_timestamp_seconds",
        "Backup time of the guest's newest off-site copy (sync or tape), Unix seconds.",
    );
    let mut exempt = Family::new(
        "pve_backup_guest_exempt",
        "1 when the guest has a justified, unexpired backup exemption, else 0.",
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
        "Duration of the guest's latest successful backup, in seconds.",
    );
    let mut success_size = Family::new(
        "pve_backup_guest_last_success_size_bytes",
        "Size of the guest's latest successful backup archive, in bytes.",
    );
    // A guest's or job's own cluster; empty only in a report of an older version.
    let own = |name: &'_ str| -> String {
        if name.is_empty() {
            cluster_value.clone()
        } else {
            name.to_string()
        }
    };
    for guest in &report.guests {
        let base = guest_labels(&own(&guest.cluster), guest);
        coverage.push(&with(&base, &[("coverage", guest.coverage.as_str())]), 1);
        freshness.push(&with(&base, &[("freshness", guest.freshness.as_str())]), 1);
        let labels = with(&base, &[]);
        if let Some(o) = &guest.offsite {
            offsite.push(&with(&base, &[("offsite", o.status.as_str())]), 1);
            if let Some(latest) = o.latest_copy {
                offsite_latest.push(&labels, latest.timestamp());
            }
        }
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
    let mut size = Family::new(
        "pve_backup_datastore_size_bytes",
        "Size of the PBS datastore, in bytes.",
    );
    let mut full = Family::new(
        "pve_backup_datastore_estimated_full_timestamp_seconds",
        "When PBS estimates the datastore will be full, Unix seconds.",
    );
    let mut verify_failed = Family::new(
        "pve_backup_datastore_verify_job_last_run_failed",
        "1 when the verify job's last run failed, 0 when it ended OK or with warnings \
         (absent: never run or state not visible).",
    );
    for ds in &report.datastores {
        let labels = [
            ("cluster", cluster),
            ("server", ds.server.as_str()),
            ("datastore", ds.datastore.as_str()),
        ];
        if let Some(value) = ds.used_bytes {
            used.push(&labels, value);
        }
        if let Some(value) = ds.total_bytes {
            size.push(&labels, value);
        }
        if let Some(value) = ds.estimated_full {
            full.push(&labels, value.timestamp());
        }
        for job in &ds.verify_job_runs {
            if job.last_run_state.is_some() {
                let mut job_labels = labels.to_vec();
                job_labels.push(("job", job.id.as_str()));
                verify_failed.push(&job_labels, u8::from(job.last_run_failed()));
            }
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
        let job_cluster = own(&job.cluster);
        let labels = [("cluster", job_cluster.as_str()), ("job", job.id.as_str())];
        job_enabled.push(&labels, u8::from(job.enabled));
        if let Some(next) = job.next_run {
            job_next.push(&labels, next.timestamp());
        }
    }

    let mut info = Family::new(
        "pve_backup_report_info",
        "The report's cluster label and JSON schema version, in labels (always 1).",
    );
    let schema = report.schema_version.to_string();
    info.push(
        &[("cluster", cluster), ("schema_version", schema.as_str())],
        1,
    );
    let mut by_coverage = Family::new(
        "pve_backup_report_guests_by_coverage",
        "Guests in the report by coverage verdict (exempt guests excluded).",
    );
    let mut by_freshness = Family::new(
        "pve_backup_report_guests_by_freshness",
        "Guests in the report by freshness verdict (exempt guests excluded).",
    );
    let mut by_offsite = Family::new(
        "pve_backup_report_guests_by_offsite",
        "Guests in the report by off-site verdict (exempt guests excluded; none: no copy job reads their datastore).",
    );
    let mut guests = Family::new("pve_backup_report_guests", "Guests in the report.");
    let mut guests_exempt = Family::new(
        "pve_backup_report_guests_exempt",
        "Guests with a justified, unexpired exemption.",
    );
    let mut guests_unverified = Family::new(
        "pve_backup_report_guests_unverified",
        "Guests whose latest snapshot is not verified or failed verification.",
    );
    let mut ratio = Family::new(
        "pve_backup_report_coverage_ratio",
        "Covered and partial guests among guests with known coverage, 0 to 1 (absent: none known).",
    );
    // Several clusters: their counts one by one, each under its own name; else the report's.
    let counts: Vec<(&str, &crate::coverage::report::Summary)> = if report.clusters.len() > 1 {
        report
            .clusters
            .iter()
            .map(|c| (c.name.as_str(), &c.summary))
            .collect()
    } else {
        vec![(cluster, &report.summary)]
    };
    for (cluster, summary) in counts {
        let only_cluster = [("cluster", cluster)];
        for (verdict, count) in [
            (Coverage::Covered, summary.covered),
            (Coverage::Partial, summary.partial),
            (Coverage::DisabledOnly, summary.disabled_only),
            (Coverage::NotCovered, summary.not_covered),
            (Coverage::Indeterminate, summary.indeterminate),
        ] {
            by_coverage.push(
                &[("cluster", cluster), ("coverage", verdict.as_str())],
                count,
            );
        }
        for (verdict, count) in [
            (Freshness::Ok, summary.fresh),
            (Freshness::Stale, summary.stale),
            (Freshness::Failed, summary.failed),
            (Freshness::Never, summary.never),
            (Freshness::Unknown, summary.freshness_unknown),
        ] {
            by_freshness.push(
                &[("cluster", cluster), ("freshness", verdict.as_str())],
                count,
            );
        }
        for status in OffsiteStatus::ALL {
            by_offsite.push(
                &[("cluster", cluster), ("offsite", status.as_str())],
                summary.offsite.of(status),
            );
        }
        by_offsite.push(
            &[("cluster", cluster), ("offsite", "none")],
            summary.offsite.none,
        );
        guests.push(&only_cluster, summary.guests);
        guests_exempt.push(&only_cluster, summary.exempt);
        guests_unverified.push(&only_cluster, summary.unverified);
        if let Some(percent) = summary.coverage_percent {
            // The summary's percentage has one decimal: four decimals here say exactly the same.
            let value = format!("{:.4}", percent / 100.0);
            ratio.push(
                &only_cluster,
                value.trim_end_matches('0').trim_end_matches('.'),
            );
        }
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
        anomalies.push(
            &[("cluster", cluster), ("severity", severity_word(severity))],
            count,
        );
    }
    let mut complete = Family::new(
        "pve_backup_report_collection_complete",
        "1 when the collection was complete, 0 when it failed or was incomplete (a critical anomaly, \
         or a required list unavailable): the other series then cannot be trusted to be whole.",
    );
    let collection = collection::assess(report);
    complete.push(
        &only_cluster,
        u8::from(collection.state == CollectionState::Complete),
    );
    let mut failed = Family::new(
        "pve_backup_report_collection_failed",
        "1 when the collection failed: no guest could be read, or the nodes, guests or backup jobs \
         could not be listed.",
    );
    failed.push(
        &only_cluster,
        u8::from(collection.state == CollectionState::Failed),
    );
    let mut generated = Family::new(
        "pve_backup_report_generated_timestamp_seconds",
        "When the report was generated (its \"now\"), Unix seconds.",
    );
    generated.push(&only_cluster, report.generated_at.timestamp());
    let mut duration = Family::new(
        "pve_backup_report_duration_seconds",
        "How long the run that made the report took, in seconds.",
    );
    if let Some(elapsed) = run_duration {
        duration.push(&only_cluster, format!("{:.3}", elapsed.as_secs_f64()));
    }

    let mut families = vec![
        coverage,
        freshness,
        offsite,
        offsite_latest,
        by_offsite,
        exempt,
        last_success,
        last_attempt,
        last_failed,
        success_duration,
        success_size,
        used,
        size,
        full,
        verify_failed,
        job_enabled,
        job_next,
        info,
        by_coverage,
        by_freshness,
        guests,
        guests_exempt,
        guests_unverified,
        ratio,
        anomalies,
        complete,
        failed,
        generated,
        duration,
    ];
    families.sort_by_key(|f| f.name);

    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        writeln!(out, "# HELP {} {}", family.name, escape_help(family.help))?;
        writeln!(out, "# TYPE {} gauge", family.name)?;
        for sample in &family.samples {
            out.write_str(sample)?;
            out.write_char('\n')?;
        }
    }
    Ok(())
}

/// Escape a HELP text per the exposition format: backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::{cluster_label, escape_help, escape_label_value};
    use crate::coverage::report::{EvidenceReport, Report, Summary, SCHEMA_VERSION};

    fn report_from(pve_host: Option<&str>) -> Report {
        Report {
            clusters: Vec::new(),
            schema_version: SCHEMA_VERSION,
            generated_at: chrono::DateTime::UNIX_EPOCH,
            servers: Vec::new(),
            summary: Summary::default(),
            guests: Vec::new(),
            jobs: Vec::new(),
            datastores: Vec::new(),
            evidence: EvidenceReport {
                pve_host: pve_host.map(str::to_string),
                ..EvidenceReport::default()
            },
            orphans: Vec::new(),
            copy_jobs: Vec::new(),
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn the_cluster_label_is_the_pve_host_without_its_port() {
        for (host, label) in [
            (Some("pve1.example.com:8006"), "pve1.example.com"),
            (Some("pve1.example.com"), "pve1.example.com"),
            (Some("10.0.0.11:8006"), "10.0.0.11"),
            (Some("[fd00::11]:8006"), "fd00::11"),
            (Some("fd00::11"), "fd00::11"),
            (Some(""), "unknown"),
            (None, "unknown"),
        ] {
            assert_eq!(cluster_label(&report_from(host)), label, "{host:?}");
        }
    }

    #[test]
    fn help_texts_escape_backslash_and_newline() {
        assert_eq!(escape_help("a\\b\nc"), "a\\\\b\\nc");
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label_value("a\\b \"c\"\nd"), "a\\\\b \\\"c\\\"\\nd");
        assert_eq!(escape_label_value("web-01"), "web-01");
    }
}
