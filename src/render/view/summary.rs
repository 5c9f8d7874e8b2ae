//! The top of the report: the one-line headline and the count cards.

use crate::coverage::report::Summary;

use super::format::NONE;
use super::{AttentionRow, Badge};

/// A headline number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The number (or `—`).
    pub value: String,
    /// What it counts.
    pub label: String,
    /// Colour: `ok`, `warn`, `bad`, `unknown`, `muted`.
    pub class: &'static str,
}

/// A count card: `trouble_class` when the count is above zero, `muted` when it is zero.
pub(crate) fn count_card(value: usize, label: &str, trouble_class: &'static str) -> Card {
    Card {
        value: value.to_string(),
        label: label.to_string(),
        class: if value == 0 { "muted" } else { trouble_class },
    }
}

/// The one-line answer: is anything wrong?
pub(crate) fn headline(summary: &Summary, attention: &[AttentionRow]) -> Badge {
    let bad_guests = attention.iter().filter(|row| row.rank <= 2).count();
    if attention.is_empty() && summary.critical_anomalies == 0 {
        let exempt = if summary.exempt > 0 {
            format!(" ({} exempt)", summary.exempt)
        } else {
            String::new()
        };
        Badge::new(
            format!(
                "All {} guests are backed up and fresh{exempt}.",
                summary.guests
            ),
            "ok",
            "",
        )
    } else {
        let mut parts = vec![format!(
            "{} of {} guests need attention",
            attention.len(),
            summary.guests
        )];
        if summary.critical_anomalies > 0 {
            parts.push(format!(
                "{} critical anomal{}",
                summary.critical_anomalies,
                if summary.critical_anomalies == 1 {
                    "y"
                } else {
                    "ies"
                }
            ));
        }
        let class = if bad_guests > 0 || summary.critical_anomalies > 0 {
            "bad"
        } else {
            "warn"
        };
        Badge::new(format!("{}.", parts.join(" · ")), class, "")
    }
}

/// Guests and coverage counts.
pub(crate) fn coverage_cards(summary: &Summary) -> Vec<Card> {
    vec![
        Card {
            value: summary.guests.to_string(),
            label: "guests".into(),
            class: "muted",
        },
        count_card(summary.covered, "covered", "ok"),
        count_card(summary.partial, "partial", "warn"),
        count_card(summary.disabled_only, "disabled only", "bad"),
        count_card(summary.not_covered, "not covered", "bad"),
        count_card(summary.indeterminate, "indeterminate", "unknown"),
    ]
}

/// Freshness counts.
pub(crate) fn freshness_cards(summary: &Summary) -> Vec<Card> {
    vec![
        count_card(summary.fresh, "fresh", "ok"),
        count_card(summary.stale, "stale", "warn"),
        count_card(summary.failed, "failed", "bad"),
        count_card(summary.never, "never", "bad"),
        count_card(summary.freshness_unknown, "unknown", "unknown"),
    ]
}

/// Coverage %, exemptions, verification, anomalies.
pub(crate) fn other_cards(summary: &Summary) -> Vec<Card> {
    let coverage_percent = Card {
        value: summary
            .coverage_percent
            .map(|p| format!("{p:.1} %"))
            .unwrap_or_else(|| NONE.to_string()),
        label: "coverage".into(),
        class: match summary.coverage_percent {
            None => "unknown",
            Some(p) if p >= 100.0 => "ok",
            Some(_) => "bad",
        },
    };
    vec![
        coverage_percent,
        count_card(summary.exempt, "exempt", "info"),
        count_card(summary.unverified, "unverified", "warn"),
        count_card(summary.critical_anomalies, "critical anomalies", "bad"),
        count_card(summary.warning_anomalies, "warnings", "warn"),
    ]
}
