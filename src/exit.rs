//! Process exit codes, following the monitoring-plugin convention.

/// How a run ended, as cron and monitoring read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// 0: everything fine.
    Ok = 0,
    /// 1: warnings.
    Warning = 1,
    /// 2: a problem that needs attention.
    Critical = 2,
    /// 3: unknown — configuration or usage error, or nothing could be determined.
    Unknown = 3,
}

impl ExitStatus {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

use crate::coverage::report::{Coverage, Freshness, GuestFlag, GuestReport, OffsiteStatus, Report};
use crate::model::{Inventory, Severity};

/// The level collection calls for: unknown when it met a critical problem (the evidence is
/// incomplete, so no verdict can be trusted to be whole), warning for warnings.
pub fn collection_status(inventory: &Inventory) -> ExitStatus {
    match inventory.anomalies.iter().map(|a| a.severity).min() {
        Some(Severity::Critical) => ExitStatus::Unknown,
        Some(Severity::Warning) => ExitStatus::Warning,
        _ => ExitStatus::Ok,
    }
}

/// The level a report calls for: unknown when a verdict is indeterminate or unknown, critical for a
/// guest not covered, failed or never backed up (or a critical anomaly), warning for stale,
/// partial, disabled-only or unverified guests, off-site copies that are not ok (or a warning
/// anomaly); off-site problems of a guest the policy requires copies of are critical. Exempt
/// guests count for nothing. The highest level wins.
pub fn report_status(report: &Report) -> ExitStatus {
    let mut level = ExitStatus::Ok;
    for guest in report.guests.iter().filter(|g| g.exempt.is_none()) {
        let coverage = match guest.coverage {
            Coverage::Covered => ExitStatus::Ok,
            Coverage::Partial | Coverage::DisabledOnly => ExitStatus::Warning,
            Coverage::NotCovered => ExitStatus::Critical,
            Coverage::Indeterminate => ExitStatus::Unknown,
        };
        // Freshness only means something for a guest a job is supposed to back up.
        let freshness = match (guest.coverage, guest.freshness) {
            (Coverage::NotCovered, _) => ExitStatus::Ok,
            (_, Freshness::Ok) => ExitStatus::Ok,
            (_, Freshness::Stale) => ExitStatus::Warning,
            (_, Freshness::Failed | Freshness::Never) => ExitStatus::Critical,
            (_, Freshness::Unknown) => ExitStatus::Unknown,
        };
        let unverified = guest.flags.iter().any(GuestFlag::is_unverified);
        level = level.max(coverage).max(freshness).max(offsite_level(guest));
        if unverified || guest.flags.contains(&GuestFlag::VerifyOutdated) {
            level = level.max(ExitStatus::Warning);
        }
    }
    for anomaly in &report.anomalies {
        level = level.max(match anomaly.severity {
            Severity::Critical => ExitStatus::Critical,
            Severity::Warning => ExitStatus::Warning,
            Severity::Info => ExitStatus::Ok,
        });
    }
    level
}

/// Off-site problems are warnings; a guest whose copies the policy requires makes them critical
/// (and an unknown off-site state unknown).
fn offsite_level(guest: &GuestReport) -> ExitStatus {
    let Some(offsite) = &guest.offsite else {
        return ExitStatus::Ok;
    };
    match (offsite.status, offsite.required) {
        (OffsiteStatus::Ok, _) => ExitStatus::Ok,
        (_, false) => ExitStatus::Warning,
        (OffsiteStatus::Unknown, true) => ExitStatus::Unknown,
        (_, true) => ExitStatus::Critical,
    }
}

/// Apply `--fail-on` and `--exit-zero`: levels below the threshold end the run with 0.
pub fn with_threshold(status: ExitStatus, fail_on: ExitStatus, exit_zero: bool) -> ExitStatus {
    if exit_zero || status < fail_on {
        ExitStatus::Ok
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_collection_problem_makes_the_run_unknown() {
        let mut inventory = Inventory {
            collected_at: chrono::DateTime::UNIX_EPOCH,
            pve: Vec::new(),
            pbs: Vec::new(),
            anomalies: Vec::new(),
        };
        assert_eq!(collection_status(&inventory), ExitStatus::Ok);
        inventory
            .anomalies
            .push(crate::model::Anomaly::new(Severity::Warning, "x", "y", "z"));
        assert_eq!(collection_status(&inventory), ExitStatus::Warning);
        inventory.anomalies.push(crate::model::Anomaly::new(
            Severity::Critical,
            "x",
            "y",
            "z",
        ));
        assert_eq!(collection_status(&inventory), ExitStatus::Unknown);
    }

    #[test]
    fn thresholds() {
        assert_eq!(
            with_threshold(ExitStatus::Warning, ExitStatus::Warning, false),
            ExitStatus::Warning
        );
        assert_eq!(
            with_threshold(ExitStatus::Warning, ExitStatus::Critical, false),
            ExitStatus::Ok
        );
        assert_eq!(
            with_threshold(ExitStatus::Unknown, ExitStatus::Critical, false),
            ExitStatus::Unknown
        );
        assert_eq!(
            with_threshold(ExitStatus::Critical, ExitStatus::Unknown, false),
            ExitStatus::Ok
        );
        assert_eq!(
            with_threshold(ExitStatus::Critical, ExitStatus::Warning, true),
            ExitStatus::Ok
        );
        assert_eq!(ExitStatus::Unknown.code(), 3);
    }
}
