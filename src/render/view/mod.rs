//! View model for the HTML and Markdown reports: every row of every section, preformatted once from
//! a [`Report`] (and an optional [`Drift`]), so both templates only place strings.
//!
//! Formatting rules live in [`format`] and nowhere else: dates `YYYY-MM-DD HH:MM UTC` with a
//! relative "3 d ago" measured from `report.generated_at` (never the clock), sizes in binary units
//! (`12.3 GiB`), durations `1h 02m`; words and colours for verdicts live in [`words`]. Nothing here
//! decides a verdict: it picks words and colours for the verdicts the report carries. Strings from
//! the cluster are kept raw; each template escapes them for its own format.
//!
//! One submodule per concern: `summary` (headline and cards), `guests` (attention, all guests,
//! exemptions), `jobs`, `datastores` (with orphans), `evidence` (anomalies, horizon), `drift`,
//! `why` (long coverage reasons summarised for the page).

mod datastores;
mod drift;
mod evidence;
pub mod format;
mod guests;
mod jobs;
mod offsite;
mod summary;
mod why;
pub mod words;

use crate::coverage::drift::Drift;
use crate::coverage::report::Report;
use crate::render::collection;

pub use datastores::{DatastoreRow, OrphanRow};
pub use drift::DriftView;
pub use evidence::{AnomalyRow, HorizonRow};
pub use format::When;
pub use guests::{AttentionRow, ExemptionRow, GuestRow};
pub use jobs::JobRow;
pub use offsite::CopyJobRow;
pub use summary::{Card, CollectionBanner};

use format::Formatter;

/// A coloured word. `class` is one of `ok`, `warn`, `bad`, `unknown`, `muted`, `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// The word shown.
    pub text: String,
    /// CSS class (also the colour meaning).
    pub class: &'static str,
    /// Longer explanation (tooltip in HTML), may be empty.
    pub title: String,
}

impl Badge {
    pub(crate) fn new(
        text: impl Into<String>,
        class: &'static str,
        title: impl Into<String>,
    ) -> Badge {
        Badge {
            text: text.into(),
            class,
            title: title.into(),
        }
    }
}

/// Everything both report templates show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportView {
    /// The report's time.
    pub generated_at: When,
    /// RFC 3339 form of the report's time, to the second (for `<time datetime>`).
    pub generated_at_rfc3339: String,
    /// The report's time for people, to the second: `2026-01-15 08:00:00 UTC`.
    pub generated_at_seconds: String,
    /// How many latest archives are client-side encrypted, said once for all guests (empty when
    /// no archive's encryption is known).
    pub encryption: String,
    /// Contract version.
    pub schema_version: u32,
    /// The clusters read, with each one's guest count, on one line (empty when none).
    pub clusters: String,
    /// `Cluster` or `Clusters`, for that line.
    pub clusters_word: &'static str,
    /// The servers read with their versions, on one line (empty when none is known).
    pub servers: String,
    /// Said first, in the critical style, when the collection failed or was incomplete.
    pub collection: Option<CollectionBanner>,
    /// The one-line answer: is anything wrong?
    pub headline: Badge,
    /// Guests and coverage counts.
    pub coverage_cards: Vec<Card>,
    /// Freshness counts.
    pub freshness_cards: Vec<Card>,
    /// Coverage %, exemptions, verification, anomalies.
    pub other_cards: Vec<Card>,
    /// Guests that need attention, worst first.
    pub attention: Vec<AttentionRow>,
    /// What the attention section says when no guest is in it: the all-clear only after a
    /// complete collection that read guests.
    pub nothing_to_attend: Badge,
    /// Every guest, by VMID.
    pub guests: Vec<GuestRow>,
    /// Every job.
    pub jobs: Vec<JobRow>,
    /// PBS datastores.
    pub datastores: Vec<DatastoreRow>,
    /// Copy jobs (sync pull/push, tape), sorted by (server, id).
    pub copy_jobs: Vec<CopyJobRow>,
    /// Anomalies, worst first.
    pub anomalies: Vec<AnomalyRow>,
    /// Task-history horizon per node.
    pub horizons: Vec<HorizonRow>,
    /// Incomplete evidence, one sentence each.
    pub incomplete: Vec<String>,
    /// Justified exemptions.
    pub exemptions: Vec<ExemptionRow>,
    /// PBS groups of guests that no longer exist.
    pub orphans: Vec<OrphanRow>,
    /// Changes since the previous report, when one was given.
    pub drift: Option<DriftView>,
}

/// Build the view of a report, with the drift section when given.
pub fn build(report: &Report, drift: Option<&Drift>) -> ReportView {
    let fmt = Formatter {
        now: report.generated_at,
        several_clusters: report.clusters.len() > 1,
    };
    let collection = collection::assess(report);
    let attention = guests::attention_rows(report, &fmt);
    let headline = summary::headline(&report.summary, &attention, &collection);
    ReportView {
        generated_at: fmt.when(Some(report.generated_at)),
        generated_at_rfc3339: report
            .generated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        generated_at_seconds: report
            .generated_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        encryption: guests::encryption_summary(report),
        schema_version: report.schema_version,
        clusters: summary::clusters_line(&report.clusters),
        clusters_word: if report.clusters.len() > 1 {
            "Clusters"
        } else {
            "Cluster"
        },
        servers: summary::servers_line(&report.servers),
        collection: summary::collection_banner(&collection),
        headline,
        coverage_cards: summary::coverage_cards(&report.summary),
        freshness_cards: summary::freshness_cards(&report.summary),
        other_cards: summary::other_cards(&report.summary),
        nothing_to_attend: summary::nothing_to_attend(&collection),
        attention,
        guests: report
            .guests
            .iter()
            .map(|g| guests::guest_row(g, &fmt))
            .collect(),
        jobs: jobs::job_rows(report, &fmt),
        datastores: datastores::datastore_rows(report, &fmt),
        copy_jobs: offsite::copy_job_rows(report, &fmt),
        anomalies: evidence::anomaly_rows(report),
        horizons: evidence::horizon_rows(report, &fmt),
        incomplete: report.evidence.incomplete.clone(),
        exemptions: guests::exemption_rows(report, &fmt),
        orphans: datastores::orphan_rows(report, &fmt),
        drift: drift.map(|d| drift::drift_view(d, &fmt)),
    }
}
