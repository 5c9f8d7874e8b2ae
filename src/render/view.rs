//! View model for the HTML and Markdown reports: every row of every section, preformatted once from
//! a [`Report`] (and an optional [`Drift`]), so both templates only place strings.
//!
//! Formatting rules live here and nowhere else: dates `YYYY-MM-DD HH:MM UTC` with a relative
//! "3 d ago" measured from `report.generated_at` (never the clock), sizes in binary units
//! (`12.3 GiB`), durations `1h 02m`. Nothing here decides a verdict: it picks words and colours for
//! the verdicts the report carries. Strings from the cluster are kept raw; each template escapes
//! them for its own format.

use chrono::{DateTime, Utc};

use crate::coverage::drift::{CoverageChange, Drift, FreshnessChange, GuestRef};
use crate::coverage::report::{
    AttemptStatus, BackupEvent, Coverage, Freshness, GuestFlag, GuestReport, Report,
};
use crate::model::{GuestKind, Severity};

/// What the page says when a value is unknown or absent.
pub const NONE: &str = "—";

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
    fn new(text: impl Into<String>, class: &'static str, title: impl Into<String>) -> Badge {
        Badge {
            text: text.into(),
            class,
            title: title.into(),
        }
    }
}

/// A point in time, formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// `2026-11-21 06:00 UTC`, or `—`.
    pub text: String,
    /// `3 d ago` / `in 5 h`, relative to the report's time; empty when unknown.
    pub relative: String,
    /// Unix seconds for sorting; empty when unknown (sorts first).
    pub key: String,
}

impl When {
    /// Whether a time is known.
    pub fn is_known(&self) -> bool {
        !self.key.is_empty()
    }
}

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

/// One job as it selects a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUse {
    /// Job id.
    pub id: String,
    /// `all`, `pool` or `vmid`.
    pub how: &'static str,
    /// Whether the job is enabled.
    pub enabled: bool,
    /// `nightly (all)` / `weekly (pool, disabled)`.
    pub text: String,
}

/// A row of the "needs attention" table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionRow {
    /// VMID.
    pub vmid: u32,
    /// Name or `—`.
    pub name: String,
    /// Node.
    pub node: String,
    /// `qemu` / `lxc`.
    pub kind: &'static str,
    /// The problems, worst first.
    pub problems: Vec<Badge>,
    /// The report's reasons, one sentence each.
    pub why: Vec<String>,
    /// What to do about it, one sentence per problem.
    pub actions: Vec<String>,
    /// Last success.
    pub last_success: When,
    /// Sort key: the worst problem's rank.
    pub rank: u8,
}

/// A row of the all-guests table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRow {
    /// VMID.
    pub vmid: u32,
    /// Name or `—`.
    pub name: String,
    /// Node.
    pub node: String,
    /// `qemu` / `lxc`.
    pub kind: &'static str,
    /// Pool or `—`.
    pub pool: String,
    /// Coverage verdict (title: the reason).
    pub coverage: Badge,
    /// Freshness verdict (title: the reason).
    pub freshness: Badge,
    /// Jobs that select it.
    pub jobs: Vec<JobUse>,
    /// Jobs as one line (Markdown).
    pub jobs_text: String,
    /// Last success.
    pub last_success: When,
    /// Last attempt.
    pub last_attempt: When,
    /// Status of the last attempt.
    pub last_attempt_status: Badge,
    /// Error line of a failed last attempt (empty otherwise).
    pub last_error: String,
    /// Duration of the last success, `1h 02m` or `—`.
    pub duration: String,
    /// Seconds, for sorting (empty: unknown).
    pub duration_key: String,
    /// Size of the last success (or latest archive), `12.3 GiB` or `—`.
    pub size: String,
    /// Bytes, for sorting (empty: unknown).
    pub size_key: String,
    /// Where the latest backup is: `pbs1 · store` / storage id / `—`.
    pub target: String,
    /// Verification state of the latest archive.
    pub verification: Badge,
    /// Report flags, plus exemption and excluded volumes, as short words.
    pub flags: Vec<String>,
    /// The guest's PVE tags.
    pub tags: Vec<String>,
    /// Tags, flags and the first line of the notes as one line (Markdown).
    pub notes_text: String,
    /// First line of the guest's notes, shortened (empty: none).
    pub notes_short: String,
    /// The whole notes text (empty: none).
    pub notes: String,
}

/// One node's last run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRunView {
    /// Node.
    pub node: String,
    /// Start.
    pub start: When,
    /// Status as PVE says it.
    pub status: Badge,
}

/// A row of the jobs table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// Enabled / disabled.
    pub enabled: Badge,
    /// Schedule as written, or `—`.
    pub schedule: String,
    /// Readable schedule, or `—`.
    pub schedule_readable: String,
    /// Next run.
    pub next_run: When,
    /// Selection, readable.
    pub selection: String,
    /// How many guests it selects (`12`, or `unknown`).
    pub selected: String,
    /// Node restriction, or `all nodes`.
    pub node: String,
    /// Storage (with `PBS` when known to be one), or `local (default)`.
    pub storage: String,
    /// Mode, or `snapshot (default)`.
    pub mode: String,
    /// Comment (empty: none).
    pub comment: String,
    /// Last run per node.
    pub last_runs: Vec<JobRunView>,
    /// Last runs as one line (Markdown).
    pub last_runs_text: String,
}

/// A row of the datastores table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreRow {
    /// PBS server.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// `1.2 TiB of 4.0 TiB`, or `—`.
    pub usage: String,
    /// `73.2 %`, or `—`.
    pub percent: String,
    /// Bar width in percent (`73.2`), empty when unknown.
    pub bar_width: String,
    /// Bar colour.
    pub bar_class: &'static str,
    /// Estimated full date.
    pub estimated_full: When,
    /// Last GC state (`—` when unknown).
    pub gc_state: Badge,
    /// End of the last GC.
    pub gc_last_run: When,
    /// Verify job lines.
    pub verify_jobs: Vec<String>,
    /// Prune job lines.
    pub prune_jobs: Vec<String>,
    /// Sync job lines.
    pub sync_jobs: Vec<String>,
    /// Finished snapshots seen.
    pub snapshots: usize,
    /// Namespaces, comma separated (`root` for "").
    pub namespaces: String,
}

/// A row of the anomalies table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRow {
    /// Severity.
    pub severity: Badge,
    /// Component.
    pub component: String,
    /// Message.
    pub message: String,
    /// Details.
    pub details: String,
}

/// A row of the collection horizon table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HorizonRow {
    /// Node.
    pub node: String,
    /// Asked-for start.
    pub requested_since: When,
    /// Oldest task seen.
    pub oldest_seen: When,
    /// Complete or not.
    pub complete: Badge,
    /// Vzdump tasks read.
    pub tasks: usize,
}

/// A row of the exemptions table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptionRow {
    /// VMID.
    pub vmid: u32,
    /// Name or `—`.
    pub name: String,
    /// Node.
    pub node: String,
    /// Why it needs no backup.
    pub reason: String,
    /// Until when (`no expiry`).
    pub until: When,
    /// Where declared.
    pub declared_in: String,
    /// The coverage it has anyway.
    pub coverage: Badge,
}

/// A row of the orphans table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanRow {
    /// PBS server.
    pub server: String,
    /// Datastore.
    pub datastore: String,
    /// Namespace (`root` for "").
    pub namespace: String,
    /// `vm/105`.
    pub group: String,
    /// Latest snapshot.
    pub latest: When,
    /// Snapshots.
    pub snapshots: usize,
}

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

/// Everything both report templates show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportView {
    /// The report's time.
    pub generated_at: When,
    /// RFC 3339 form of the report's time.
    pub generated_at_rfc3339: String,
    /// Contract version.
    pub schema_version: u32,
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
    /// Every guest, by VMID.
    pub guests: Vec<GuestRow>,
    /// Every job.
    pub jobs: Vec<JobRow>,
    /// PBS datastores.
    pub datastores: Vec<DatastoreRow>,
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

/// `2026-11-21 06:00 UTC`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `3 d ago`, `5 h ago`, `12 min ago`, `just now`, `in 2 d`: how far `time` is from `now`.
pub fn format_relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - time).num_seconds();
    let magnitude = seconds.unsigned_abs();
    let amount = if magnitude < 60 {
        return "just now".to_string();
    } else if magnitude < 90 * 60 {
        format!("{} min", magnitude / 60)
    } else if magnitude < 48 * 3600 {
        format!("{} h", magnitude / 3600)
    } else {
        format!("{} d", magnitude / 86_400)
    };
    if seconds >= 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// Binary units with one decimal: `512 B`, `1.5 KiB`, `12.3 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `45 s`, `12m 05s`, `1h 02m`.
pub fn format_duration(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60)
    }
}

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

fn coverage_class(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Covered => "ok",
        Coverage::Partial => "warn",
        Coverage::DisabledOnly | Coverage::NotCovered => "bad",
        Coverage::Indeterminate => "unknown",
    }
}

fn freshness_class(freshness: Freshness) -> &'static str {
    match freshness {
        Freshness::Ok => "ok",
        Freshness::Stale => "warn",
        Freshness::Failed | Freshness::Never => "bad",
        Freshness::Unknown => "unknown",
    }
}

fn kind_word(kind: GuestKind) -> &'static str {
    kind.as_str()
}

fn or_none(value: Option<&str>) -> String {
    match value {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => NONE.to_string(),
    }
}

struct Formatter {
    now: DateTime<Utc>,
}

impl Formatter {
    fn when(&self, time: Option<DateTime<Utc>>) -> When {
        match time {
            Some(time) => When {
                text: format_time(time),
                relative: format_relative(time, self.now),
                key: time.timestamp().to_string(),
            },
            None => When {
                text: NONE.to_string(),
                relative: String::new(),
                key: String::new(),
            },
        }
    }
}

/// A count card: `trouble_class` when the count is above zero, `muted` when it is zero.
fn count_card(value: usize, label: &str, trouble_class: &'static str) -> Card {
    Card {
        value: value.to_string(),
        label: label.to_string(),
        class: if value == 0 { "muted" } else { trouble_class },
    }
}

/// Build the view of a report, with the drift section when given.
pub fn build(report: &Report, drift: Option<&Drift>) -> ReportView {
    let fmt = Formatter {
        now: report.generated_at,
    };
    let summary = &report.summary;

    let attention = attention_rows(report, &fmt);
    let bad_guests = attention.iter().filter(|row| row.rank <= 2).count();
    let headline = if attention.is_empty() && summary.critical_anomalies == 0 {
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
    };

    let coverage_cards = vec![
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
    ];
    let freshness_cards = vec![
        count_card(summary.fresh, "fresh", "ok"),
        count_card(summary.stale, "stale", "warn"),
        count_card(summary.failed, "failed", "bad"),
        count_card(summary.never, "never", "bad"),
        count_card(summary.freshness_unknown, "unknown", "unknown"),
    ];
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
    let other_cards = vec![
        coverage_percent,
        count_card(summary.exempt, "exempt", "info"),
        count_card(summary.unverified, "unverified", "warn"),
        count_card(summary.critical_anomalies, "critical anomalies", "bad"),
        count_card(summary.warning_anomalies, "warnings", "warn"),
    ];

    ReportView {
        generated_at: fmt.when(Some(report.generated_at)),
        generated_at_rfc3339: report.generated_at.to_rfc3339(),
        schema_version: report.schema_version,
        headline,
        coverage_cards,
        freshness_cards,
        other_cards,
        attention,
        guests: report.guests.iter().map(|g| guest_row(g, &fmt)).collect(),
        jobs: job_rows(report, &fmt),
        datastores: datastore_rows(report, &fmt),
        anomalies: report
            .anomalies
            .iter()
            .map(|a| AnomalyRow {
                severity: match a.severity {
                    Severity::Critical => Badge::new("critical", "bad", ""),
                    Severity::Warning => Badge::new("warning", "warn", ""),
                    Severity::Info => Badge::new("info", "info", ""),
                },
                component: a.component.clone(),
                message: a.message.clone(),
                details: a.details.clone(),
            })
            .collect(),
        horizons: report
            .evidence
            .horizons
            .iter()
            .map(|h| HorizonRow {
                node: h.node.clone(),
                requested_since: fmt.when(Some(h.requested_since)),
                oldest_seen: fmt.when(h.oldest_seen),
                complete: if h.complete {
                    Badge::new("complete", "ok", "")
                } else {
                    Badge::new("incomplete", "warn", "")
                },
                tasks: h.tasks,
            })
            .collect(),
        incomplete: report.evidence.incomplete.clone(),
        exemptions: report
            .guests
            .iter()
            .filter_map(|g| {
                let exempt = g.exempt.as_ref()?;
                Some(ExemptionRow {
                    vmid: g.vmid,
                    name: or_none(g.name.as_deref()),
                    node: g.node.clone(),
                    reason: exempt.reason.clone(),
                    until: match exempt.until {
                        Some(until) => fmt.when(Some(until)),
                        None => When {
                            text: "no expiry".into(),
                            relative: String::new(),
                            key: String::new(),
                        },
                    },
                    declared_in: exempt.declared_in.clone(),
                    coverage: Badge::new(
                        coverage_word(g.coverage),
                        coverage_class(g.coverage),
                        g.coverage_reason.clone(),
                    ),
                })
            })
            .collect(),
        orphans: report
            .orphans
            .iter()
            .map(|o| OrphanRow {
                server: o.server.clone(),
                datastore: o.datastore.clone(),
                namespace: namespace_word(&o.namespace),
                group: format!("{}/{}", o.backup_type, o.backup_id),
                latest: fmt.when(Some(o.latest)),
                snapshots: o.snapshots,
            })
            .collect(),
        drift: drift.map(|d| drift_view(d, &fmt)),
    }
}

fn namespace_word(namespace: &str) -> String {
    if namespace.is_empty() {
        "root".to_string()
    } else {
        namespace.to_string()
    }
}

/// One problem of a guest: its rank (lower is worse), badge and advice.
fn problems_of(guest: &GuestReport) -> Vec<(u8, Badge, String)> {
    let mut problems = Vec::new();
    match guest.coverage {
        Coverage::NotCovered => problems.push((
            0,
            Badge::new("not covered", "bad", ""),
            "Add it to an enabled backup job, or declare a justified exemption.".to_string(),
        )),
        Coverage::DisabledOnly => problems.push((
            0,
            Badge::new("disabled only", "bad", ""),
            format!(
                "Enable job {} or add the guest to an enabled job.",
                guest.jobs.join(", ")
            ),
        )),
        Coverage::Partial => problems.push((
            4,
            Badge::new("partial", "warn", ""),
            format!(
                "Volumes not backed up: {}. Confirm they need no backup, or set backup=1.",
                guest.excluded_volumes.join(", ")
            ),
        )),
        Coverage::Indeterminate => problems.push((
            6,
            Badge::new("indeterminate", "unknown", ""),
            "Evidence was incomplete: see the collection horizon section and grant the missing privilege.".to_string(),
        )),
        Coverage::Covered => {}
    }
    // Freshness of a guest no job selects adds nothing the coverage problem does not say.
    let selected = matches!(guest.coverage, Coverage::Covered | Coverage::Partial);
    match guest.freshness {
        Freshness::Failed => problems.push((
            1,
            Badge::new("failed", "bad", ""),
            "Read the error line and the task log, fix the cause, and run the job again."
                .to_string(),
        )),
        Freshness::Never if selected => problems.push((
            2,
            Badge::new("never backed up", "bad", ""),
            format!(
                "Check that the job runs on node {} and includes this guest; run it once by hand.",
                guest.node
            ),
        )),
        Freshness::Stale => problems.push((
            3,
            Badge::new("stale", "warn", ""),
            format!(
                "Scheduled runs were missed: check that the job ran on node {} and finished.",
                guest.node
            ),
        )),
        Freshness::Unknown if guest.coverage != Coverage::Indeterminate && selected => problems
            .push((
                6,
                Badge::new("freshness unknown", "unknown", ""),
                "The task history does not reach far enough: see the collection horizon section."
                    .to_string(),
            )),
        _ => {}
    }
    for flag in &guest.flags {
        let problem = match flag {
            GuestFlag::VerifyFailed => (
                5,
                Badge::new("verification failed", "bad", ""),
                "The latest snapshot failed verification: check the datastore and take a new backup."
                    .to_string(),
            ),
            GuestFlag::Unverified => (
                5,
                Badge::new("unverified", "warn", ""),
                "Schedule a PBS verify job for this datastore.".to_string(),
            ),
            GuestFlag::ArchiveMissing => (
                2,
                Badge::new("archive missing", "bad", ""),
                "The task says it succeeded but no archive was found: check the target storage."
                    .to_string(),
            ),
            GuestFlag::ExemptionExpired => (
                4,
                Badge::new("exemption expired", "warn", ""),
                "Renew the exemption with a new date, or back the guest up.".to_string(),
            ),
            GuestFlag::VmidReuse => (
                5,
                Badge::new("VMID reused", "warn", ""),
                "Old backups of this VMID belong to another guest: do not restore them blindly."
                    .to_string(),
            ),
            // Said elsewhere (template, encryption: the guest row) or unknown to this version.
            GuestFlag::Encrypted
            | GuestFlag::NotEncrypted
            | GuestFlag::Template
            | GuestFlag::Other(_) => continue,
        };
        problems.push(problem);
    }
    problems.sort_by_key(|(rank, _, _)| *rank);
    problems
}

fn attention_rows(report: &Report, fmt: &Formatter) -> Vec<AttentionRow> {
    let mut rows: Vec<AttentionRow> = report
        .guests
        .iter()
        .filter(|g| g.exempt.is_none())
        .filter_map(|g| {
            let problems = problems_of(g);
            let rank = problems.first()?.0;
            let mut why = Vec::new();
            if g.coverage != Coverage::Covered && !g.coverage_reason.is_empty() {
                why.push(g.coverage_reason.clone());
            }
            if g.freshness != Freshness::Ok && !g.freshness_reason.is_empty() {
                why.push(g.freshness_reason.clone());
            }
            if let Some(error) = failed_error(g.last_backup.as_ref()) {
                why.push(error.to_string());
            }
            let mut actions: Vec<String> = Vec::new();
            let mut badges = Vec::new();
            for (_, badge, action) in problems {
                if !actions.contains(&action) {
                    actions.push(action);
                }
                badges.push(badge);
            }
            Some(AttentionRow {
                vmid: g.vmid,
                name: or_none(g.name.as_deref()),
                node: g.node.clone(),
                kind: kind_word(g.kind),
                problems: badges,
                why,
                actions,
                last_success: fmt.when(g.last_success.as_ref().map(|e| e.time)),
                rank,
            })
        })
        .collect();
    rows.sort_by_key(|row| (row.rank, row.vmid));
    rows
}

fn failed_error(event: Option<&BackupEvent>) -> Option<&str> {
    let event = event?;
    if event.status == AttemptStatus::Failed {
        event.error.as_deref()
    } else {
        None
    }
}

/// A flag for people: its spelling with spaces (`verify failed`).
fn flag_word(flag: &GuestFlag) -> String {
    flag.as_str().replace('_', " ")
}

fn guest_row(g: &GuestReport, fmt: &Formatter) -> GuestRow {
    let jobs: Vec<JobUse> = g
        .covering_jobs
        .iter()
        .map(|job| {
            let how = job.selected_by.as_str();
            JobUse {
                id: job.id.clone(),
                how,
                enabled: job.enabled,
                text: if job.enabled {
                    format!("{} ({how})", job.id)
                } else {
                    format!("{} ({how}, disabled)", job.id)
                },
            }
        })
        .collect();
    let jobs_text = if jobs.is_empty() {
        NONE.to_string()
    } else {
        jobs.iter()
            .map(|j| j.text.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let success = g.last_success.as_ref();
    let duration_s = success.and_then(|e| e.duration_s);
    let size_bytes = success
        .and_then(|e| e.size_bytes)
        .or_else(|| g.archive.as_ref().and_then(|a| a.size_bytes));
    let target = match (&g.archive, success.and_then(|e| e.storage.as_deref())) {
        (Some(archive), _) if archive.namespace.is_empty() => {
            format!("{} · {}", archive.server, archive.datastore)
        }
        (Some(archive), _) => format!(
            "{} · {} · {}",
            archive.server, archive.datastore, archive.namespace
        ),
        (None, Some(storage)) => storage.to_string(),
        (None, None) => NONE.to_string(),
    };
    let verification = match &g.archive {
        None => Badge::new(NONE, "muted", "no archive seen"),
        Some(archive) => match archive.verification.as_deref() {
            Some("ok") => Badge::new("ok", "ok", ""),
            Some("failed") => Badge::new("failed", "bad", ""),
            Some(other) => Badge::new(other, "warn", ""),
            None => Badge::new("not verified", "warn", ""),
        },
    };
    let last_attempt_status = match g.last_backup.as_ref().map(|e| e.status) {
        Some(AttemptStatus::Ok) => Badge::new("ok", "ok", ""),
        Some(AttemptStatus::Failed) => Badge::new("failed", "bad", ""),
        None => Badge::new(NONE, "muted", ""),
    };
    let mut flags: Vec<String> = g.flags.iter().map(flag_word).collect();
    if g.exempt.is_some() {
        flags.push("exempt".into());
    }
    if g.template {
        flags.retain(|f| f != "template");
        flags.push("template".into());
    }
    if !g.excluded_volumes.is_empty() {
        flags.push(format!("excluded: {}", g.excluded_volumes.join(", ")));
    }
    let notes = g.notes.clone().unwrap_or_default();
    let first_line = notes.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let notes_short = if first_line.chars().count() > 80 {
        format!("{}…", first_line.chars().take(79).collect::<String>())
    } else {
        first_line.to_string()
    };
    let mut notes_parts = Vec::new();
    if !g.tags.is_empty() {
        notes_parts.push(format!("tags: {}", g.tags.join(", ")));
    }
    if !flags.is_empty() {
        notes_parts.push(flags.join(", "));
    }
    if !notes_short.is_empty() {
        notes_parts.push(notes_short.clone());
    }
    GuestRow {
        vmid: g.vmid,
        name: or_none(g.name.as_deref()),
        node: g.node.clone(),
        kind: kind_word(g.kind),
        pool: or_none(g.pool.as_deref()),
        coverage: Badge::new(
            coverage_word(g.coverage),
            coverage_class(g.coverage),
            g.coverage_reason.clone(),
        ),
        freshness: Badge::new(
            freshness_word(g.freshness),
            freshness_class(g.freshness),
            g.freshness_reason.clone(),
        ),
        jobs,
        jobs_text,
        last_success: fmt.when(success.map(|e| e.time)),
        last_attempt: fmt.when(g.last_backup.as_ref().map(|e| e.time)),
        last_attempt_status,
        last_error: failed_error(g.last_backup.as_ref())
            .unwrap_or_default()
            .to_string(),
        duration: duration_s
            .map(format_duration)
            .unwrap_or_else(|| NONE.into()),
        duration_key: duration_s.map(|d| d.to_string()).unwrap_or_default(),
        size: size_bytes.map(format_size).unwrap_or_else(|| NONE.into()),
        size_key: size_bytes.map(|s| s.to_string()).unwrap_or_default(),
        target,
        verification,
        flags,
        tags: g.tags.clone(),
        notes_text: notes_parts.join("; "),
        notes_short,
        notes,
    }
}

fn job_rows(report: &Report, fmt: &Formatter) -> Vec<JobRow> {
    report
        .jobs
        .iter()
        .map(|job| {
            let last_runs: Vec<JobRunView> = job
                .last_runs
                .iter()
                .map(|run| JobRunView {
                    node: run.node.clone(),
                    start: fmt.when(Some(run.start)),
                    status: match run.status.as_deref() {
                        None => Badge::new("running", "info", ""),
                        Some("OK") => Badge::new("OK", "ok", ""),
                        Some(s) if s.starts_with("WARNINGS") => Badge::new(s, "warn", ""),
                        Some(s) => Badge::new(s, "bad", ""),
                    },
                })
                .collect();
            let last_runs_text = if last_runs.is_empty() {
                NONE.to_string()
            } else {
                last_runs
                    .iter()
                    .map(|r| format!("{}: {} {}", r.node, r.start.text, r.status.text))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let storage = match (job.storage.as_deref(), job.storage_is_pbs) {
                (None, _) => "local (default)".to_string(),
                (Some(s), Some(true)) => format!("{s} (PBS)"),
                (Some(s), _) => s.to_string(),
            };
            JobRow {
                id: job.id.clone(),
                enabled: if job.enabled {
                    Badge::new("enabled", "ok", "")
                } else {
                    Badge::new("disabled", "bad", "")
                },
                schedule: or_none(job.schedule.as_deref()),
                schedule_readable: or_none(job.schedule_readable.as_deref()),
                next_run: fmt.when(job.next_run),
                selection: job.selection.clone(),
                selected: match &job.selected_vmids {
                    Some(vmids) => vmids.len().to_string(),
                    None => "unknown".to_string(),
                },
                node: job.node.clone().unwrap_or_else(|| "all nodes".to_string()),
                storage,
                mode: job
                    .mode
                    .clone()
                    .unwrap_or_else(|| "snapshot (default)".to_string()),
                comment: job.comment.clone().unwrap_or_default(),
                last_runs,
                last_runs_text,
            }
        })
        .collect()
}

fn datastore_rows(report: &Report, fmt: &Formatter) -> Vec<DatastoreRow> {
    report
        .datastores
        .iter()
        .map(|ds| {
            let usage = match (ds.used_bytes, ds.total_bytes) {
                (Some(used), Some(total)) => {
                    format!("{} of {}", format_size(used), format_size(total))
                }
                (Some(used), None) => format!("{} used", format_size(used)),
                (None, Some(total)) => format!("? of {}", format_size(total)),
                (None, None) => NONE.to_string(),
            };
            let percent = ds.used_percent;
            DatastoreRow {
                server: ds.server.clone(),
                datastore: ds.datastore.clone(),
                usage,
                percent: percent
                    .map(|p| format!("{p:.1} %"))
                    .unwrap_or_else(|| NONE.into()),
                bar_width: percent
                    .map(|p| format!("{:.1}", p.clamp(0.0, 100.0)))
                    .unwrap_or_default(),
                bar_class: match percent {
                    Some(p) if p >= 90.0 => "bad",
                    Some(p) if p >= 80.0 => "warn",
                    Some(_) => "ok",
                    None => "unknown",
                },
                estimated_full: fmt.when(ds.estimated_full),
                gc_state: match ds.gc_state.as_deref() {
                    None => Badge::new(NONE, "muted", ""),
                    Some("ok" | "OK") => Badge::new("ok", "ok", ""),
                    Some(other) => Badge::new(other, "warn", ""),
                },
                gc_last_run: fmt.when(ds.gc_last_run),
                verify_jobs: ds.verify_jobs.clone(),
                prune_jobs: ds.prune_jobs.clone(),
                sync_jobs: ds.sync_jobs.clone(),
                snapshots: ds.snapshots,
                namespaces: if ds.namespaces.is_empty() {
                    NONE.to_string()
                } else {
                    ds.namespaces
                        .iter()
                        .map(|n| namespace_word(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            }
        })
        .collect()
}

fn guest_subject(guest: &GuestRef) -> String {
    match &guest.name {
        Some(name) => format!("{} {} ({})", guest.vmid, name, guest.node),
        None => format!("{} ({})", guest.vmid, guest.node),
    }
}

fn coverage_lines(changes: &[CoverageChange]) -> Vec<DriftLine> {
    changes
        .iter()
        .map(|c| DriftLine {
            subject: guest_subject(&c.guest),
            change: format!("{} → {}", coverage_word(c.before), coverage_word(c.after)),
            detail: c.reason.clone(),
        })
        .collect()
}

fn freshness_lines(changes: &[FreshnessChange]) -> Vec<DriftLine> {
    changes
        .iter()
        .map(|c| DriftLine {
            subject: guest_subject(&c.guest),
            change: format!("{} → {}", freshness_word(c.before), freshness_word(c.after)),
            detail: c.reason.clone(),
        })
        .collect()
}

fn guest_lines(guests: &[GuestRef], change: &str) -> Vec<DriftLine> {
    guests
        .iter()
        .map(|g| DriftLine {
            subject: guest_subject(g),
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

fn drift_view(drift: &Drift, fmt: &Formatter) -> DriftView {
    let groups = vec![
        DriftGroup {
            title: "Lost coverage",
            class: "bad",
            lines: coverage_lines(&drift.coverage_lost),
        },
        DriftGroup {
            title: "Freshness got worse",
            class: "bad",
            lines: freshness_lines(&drift.freshness_worse),
        },
        DriftGroup {
            title: "Verification went from ok to failed",
            class: "bad",
            lines: guest_lines(&drift.verification_failed, "ok → failed"),
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
            lines: coverage_lines(&drift.coverage_uncertain),
        },
        DriftGroup {
            title: "Gained coverage",
            class: "ok",
            lines: coverage_lines(&drift.coverage_gained),
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
            lines: guest_lines(&drift.guests_added, "new"),
        },
        DriftGroup {
            title: "Guests removed",
            class: "info",
            lines: guest_lines(&drift.guests_removed, "gone"),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sizes_use_binary_units_with_one_decimal() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(13_207_024_435), "12.3 GiB");
        assert_eq!(format_size(4 * 1024u64.pow(4)), "4.0 TiB");
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(45), "45 s");
        assert_eq!(format_duration(725), "12m 05s");
        assert_eq!(format_duration(3720), "1h 02m");
        assert_eq!(format_duration(90_000), "25h 00m");
    }

    #[test]
    fn times_are_utc_and_relative_to_the_report() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 6, 0, 0).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 18, 2, 5, 9).unwrap();
        assert_eq!(format_time(t), "2026-11-18 02:05 UTC");
        assert_eq!(format_relative(t, now), "3 d ago");
        assert_eq!(
            format_relative(now - chrono::Duration::hours(5), now),
            "5 h ago"
        );
        assert_eq!(
            format_relative(now - chrono::Duration::minutes(12), now),
            "12 min ago"
        );
        assert_eq!(format_relative(now, now), "just now");
        assert_eq!(
            format_relative(now + chrono::Duration::hours(20), now),
            "in 20 h"
        );
    }
}
