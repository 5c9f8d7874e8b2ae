//! The monitoring-plugin line (Nagios, Icinga, Checkmk local checks, Zabbix with a wrapper):
//! exactly one line, `STATUS - summary | perfdata`, where STATUS is the word for the run's exit
//! status and the perfdata follows the plugin guidelines, `'label'=value;warn;crit;min;max`.
//!
//! The status is decided elsewhere (`exit`, after `--fail-on` / `--exit-zero`) and passed in, so
//! the word always matches the exit code the monitoring system reads. Counts the report does not
//! know are left out of the perfdata rather than written as 0.

use crate::coverage::report::Report;
use crate::exit::ExitStatus;

/// The plugin status word for an exit status.
pub fn status_word(status: ExitStatus) -> &'static str {
    match status {
        ExitStatus::Ok => "OK",
        ExitStatus::Warning => "WARNING",
        ExitStatus::Critical => "CRITICAL",
        ExitStatus::Unknown => "UNKNOWN",
    }
}

/// How many critical anomaly messages the summary names before "(+N more)".
const NAMED_ANOMALIES: usize = 1;

/// The plugin line for a report that ended with `status` (no trailing newline).
pub fn line(report: &Report, status: ExitStatus) -> String {
    let s = &report.summary;
    let mut summary = super::collection::headline(report);
    // Counts alone would read as an empty, healthy cluster when collection failed: lead with the
    // cause.
    if let Some(cause) = super::collection::assess(report).short_cause(NAMED_ANOMALIES) {
        summary = format!("{cause}; {summary}");
    }
    let guests = s.guests;
    let mut perf = vec![
        perfdata("guests", guests, "", "", None),
        perfdata("covered", s.covered, "", "", Some(guests)),
        perfdata("partial", s.partial, "0", "", Some(guests)),
        perfdata("disabled_only", s.disabled_only, "0", "", Some(guests)),
        perfdata("not_covered", s.not_covered, "", "0", Some(guests)),
        perfdata("indeterminate", s.indeterminate, "", "", Some(guests)),
        perfdata("stale", s.stale, "0", "", Some(guests)),
        perfdata("failed", s.failed, "", "0", Some(guests)),
        perfdata("never", s.never, "", "0", Some(guests)),
        perfdata("unverified", s.unverified, "0", "", Some(guests)),
        perfdata("exempt", s.exempt, "", "", Some(guests)),
        perfdata("anomalies_critical", s.critical_anomalies, "", "0", None),
        perfdata("anomalies_warning", s.warning_anomalies, "0", "", None),
    ];
    if let Some(percent) = s.coverage_percent {
        perf.insert(1, format!("'coverage'={percent:.1}%;;;0;100"));
    }
    format!(
        "{} - {} | {}",
        status_word(status),
        clean(&summary),
        perf.join(" ")
    )
}

/// The line for a run that ended before it could judge anything (configuration error, no input):
/// UNKNOWN, the message, and no perfdata (there are no counts to give).
pub fn error_line(message: &str) -> String {
    format!("{} - {}", status_word(ExitStatus::Unknown), clean(message))
}

/// `'label'=value;warn;crit;min;max` with min 0 and, where it makes sense, max = the guest count.
fn perfdata(label: &str, value: usize, warn: &str, crit: &str, max: Option<usize>) -> String {
    let max = max.map(|m| m.to_string()).unwrap_or_default();
    format!("'{label}'={value};{warn};{crit};0;{max}")
}

/// One line without the perfdata separator: a `|` in an anomaly message would cut the summary
/// short and be parsed as perfdata, a line break would end the plugin output.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(critical: &[&str]) -> Report {
        let inventory = crate::model::Inventory {
            collected_at: chrono::DateTime::UNIX_EPOCH,
            pve: Vec::new(),
            pbs: Vec::new(),
            anomalies: Vec::new(),
        };
        let mut report = crate::coverage::assess(
            &inventory,
            &crate::coverage::Policy::default(),
            chrono::DateTime::UNIX_EPOCH,
        );
        report.anomalies = critical
            .iter()
            .map(|m| crate::model::Anomaly::new(crate::model::Severity::Critical, "pve", *m, "d"))
            .collect();
        report.summary.critical_anomalies = critical.len();
        report
    }

    #[test]
    fn one_line_with_status_summary_and_perfdata() {
        let line = line(&report(&[]), ExitStatus::Ok);
        assert!(line.starts_with("OK - 0 guests: 0 covered"), "{line}");
        let (_, perf) = line.split_once(" | ").unwrap();
        for item in perf.split(' ') {
            let (label, rest) = item.split_once('=').unwrap();
            assert!(label.starts_with('\'') && label.ends_with('\''), "{item}");
            assert_eq!(rest.split(';').count(), 5, "{item}");
        }
        assert!(perf.contains("'not_covered'=0;;0;0;0"), "{perf}");
    }

    #[test]
    fn a_failed_collection_leads_and_cannot_break_the_line() {
        let line = line(
            &report(&["PVE unreachable | timeout\nretry", "second"]),
            ExitStatus::Unknown,
        );
        assert!(
            line.starts_with(
                "UNKNOWN - collection failed: PVE unreachable / timeout retry (+1 more); 0 guests"
            ),
            "{line}"
        );
        assert_eq!(line.matches(" | ").count(), 1, "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(error_line("bad\nconfig | x"), "UNKNOWN - bad config / x");
    }
}
