//! The top of the report: the collection banner, the one-line headline, the count cards, and
//! what the attention section says when it is empty.

use crate::coverage::report::{ClusterReport, ServerVersion, Summary};
use crate::render::collection::{Collection, CollectionState, CHECK_HINT};

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

/// The clusters for the report header: `prod (PVE 9.1.8, 120 guests) · lab (…)`; a report of an
/// older version names none.
pub(crate) fn clusters_line(clusters: &[ClusterReport]) -> String {
    clusters
        .iter()
        .map(|c| {
            let guests = match c.summary.guests {
                1 => "1 guest".to_string(),
                n => format!("{n} guests"),
            };
            format!(
                "{} (PVE {}, {guests})",
                c.name,
                c.version.as_deref().unwrap_or("version unknown")
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The servers for the report header: `PVE 9.1.8 on pve1 · PBS 4.2 on pbs`, in the
/// report's order; a server whose version could not be read says so rather than showing nothing.
pub(crate) fn servers_line(servers: &[ServerVersion]) -> String {
    servers
        .iter()
        .map(|server| {
            format!(
                "{} {} on {}",
                server.kind.label(),
                server.version.as_deref().unwrap_or("(version unknown)"),
                server.host
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
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
pub(crate) fn headline(
    summary: &Summary,
    attention: &[AttentionRow],
    collection: &Collection,
) -> Badge {
    let bad_guests = attention.iter().filter(|row| row.rank <= 2).count();
    if attention.is_empty() && summary.critical_anomalies == 0 && collection.allows_all_clear() {
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
        let mut parts = vec![if collection.guests_read {
            format!(
                "{} of {} guests need attention",
                attention.len(),
                summary.guests
            )
        } else {
            "No guest was read".to_string()
        }];
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
        let class = if bad_guests > 0
            || summary.critical_anomalies > 0
            || collection.state == CollectionState::Failed
        {
            "bad"
        } else {
            "warn"
        };
        Badge::new(format!("{}.", parts.join(" · ")), class, "")
    }
}

/// The collection banner: what failed or is missing and where to look, None when complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionBanner {
    /// `Collection failed` / `Collection was incomplete`.
    pub title: &'static str,
    /// What that means for the verdicts, one sentence.
    pub meaning: &'static str,
    /// The causes (anomaly titles, unavailable sources), at most a few, then `and N more`.
    pub causes: Vec<String>,
    /// Which command tells more.
    pub hint: &'static str,
}

/// The banner for a failed or incomplete collection.
pub(crate) fn collection_banner(collection: &Collection) -> Option<CollectionBanner> {
    Some(CollectionBanner {
        title: collection.title()?,
        meaning: collection.meaning().unwrap_or_default(),
        causes: collection.shown_causes(),
        hint: CHECK_HINT,
    })
}

/// What the attention section says when no guest needs attention: the all-clear only when the
/// collection allows one.
pub(crate) fn nothing_to_attend(collection: &Collection) -> Badge {
    if collection.allows_all_clear() {
        return Badge::new(
            "Nothing needs attention: every guest that is not exempt is covered, fresh and verified.",
            "ok",
            "",
        );
    }
    match (collection.state, collection.guests_read) {
        (CollectionState::Complete, _) => Badge::new(
            "No guest was read: the cluster reported none, so there is nothing to assess.",
            "warn",
            "",
        ),
        (_, false) => Badge::new(
            "No guest could be read, so nothing can be said about the backups: see the anomalies.",
            "bad",
            "",
        ),
        (_, true) => Badge::new(
            "No guest shows a problem in what could be read, but the collection was not complete: \
             see the anomalies before trusting this.",
            "bad",
            "",
        ),
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
