//! Words and colours for people: how the view spells each verdict, flag and severity, and which
//! colour class goes with it. The contract spellings are the types' own `as_str()`.

use crate::coverage::report::{Coverage, Freshness, GuestFlag, OffsiteStatus};
use crate::model::{GuestKind, Severity};

use super::Badge;

/// Spelling of a coverage verdict for people.
pub fn coverage_word(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Covered => "covered",
        Coverage::Partial => "partial",
        Coverage::DisabledOnly => "disabled only",
        Coverage::NotCovered => "not covered",
        Coverage::Indeterminate => "indeterminate",
    }
}

/// Spelling of a freshness verdict for people.
pub fn freshness_word(freshness: Freshness) -> &'static str {
    match freshness {
        Freshness::Ok => "fresh",
        Freshness::Stale => "stale",
        Freshness::Failed => "failed",
        Freshness::Never => "never",
        Freshness::Unknown => "unknown",
    }
}

/// Colour of a coverage verdict.
pub(crate) fn coverage_class(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Covered => "ok",
        Coverage::Partial => "warn",
        Coverage::DisabledOnly | Coverage::NotCovered => "bad",
        Coverage::Indeterminate => "unknown",
    }
}

/// Colour of a freshness verdict.
pub(crate) fn freshness_class(freshness: Freshness) -> &'static str {
    match freshness {
        Freshness::Ok => "ok",
        Freshness::Stale => "warn",
        Freshness::Failed | Freshness::Never => "bad",
        Freshness::Unknown => "unknown",
    }
}

/// `qemu` / `lxc`.
pub(crate) fn kind_word(kind: GuestKind) -> &'static str {
    kind.as_str()
}

/// A flag for people: its spelling with spaces (`verify failed`).
pub(crate) fn flag_word(flag: &GuestFlag) -> String {
    flag.as_str().replace('_', " ")
}

/// A severity for people (its contract spelling).
pub(crate) fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// A severity as a coloured word.
pub(crate) fn severity_badge(severity: Severity) -> Badge {
    let class = match severity {
        Severity::Critical => "bad",
        Severity::Warning => "warn",
        Severity::Info => "info",
    };
    Badge::new(severity_word(severity), class, "")
}

/// An off-site verdict for people (`not selected`).
pub(crate) fn offsite_word(status: OffsiteStatus) -> &'static str {
    match status {
        OffsiteStatus::Ok => "ok",
        OffsiteStatus::Stale => "stale",
        OffsiteStatus::Missing => "missing",
        OffsiteStatus::NotSelected => "not selected",
        OffsiteStatus::Unknown => "unknown",
    }
}

/// Colour of an off-site verdict.
pub(crate) fn offsite_class(status: OffsiteStatus) -> &'static str {
    match status {
        OffsiteStatus::Ok => "ok",
        OffsiteStatus::Stale | OffsiteStatus::NotSelected => "warn",
        OffsiteStatus::Missing => "bad",
        OffsiteStatus::Unknown => "unknown",
    }
}
