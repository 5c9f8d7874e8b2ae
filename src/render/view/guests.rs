//! Guest rows: the "needs attention" table (problems ranked worst first, with what to do), the
//! all-guests table and the exemptions table.

use crate::coverage::report::{
    AttemptStatus, BackupEvent, CopyKind, Coverage, Freshness, GuestFlag, GuestReport, PbsJobRun,
    ReplicationReport, Report, RestoreReport,
};

use crate::model::GuestKind;

use super::format::{format_duration, format_size, or_none, Formatter, When, NONE};
use super::words::{
    coverage_class, coverage_word, flag_word, freshness_class, freshness_word, kind_word,
    offsite_class, offsite_word,
};
use super::Badge;

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
    /// Off-site verdict (title: the reason); `—` when no copy job reads the guest's datastore.
    pub offsite: Badge,
    /// The newest copy's place and age: `offsite · copy · 9 h ago`, `tape · pbs1 · 2 d ago`
    /// (empty: none).
    pub offsite_where: String,
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

/// Why the latest snapshot is unverified and what to do, from the verify jobs of its datastore:
/// a verify job that exists but failed needs looking at, not a new one.
fn unverified_advice(guest: &GuestReport, report: &Report, fmt: &Formatter) -> (String, String) {
    let generic = (
        String::new(),
        "Schedule a PBS verify job for this datastore.".to_string(),
    );
    let Some(archive) = &guest.archive else {
        return generic;
    };
    let Some(datastore) = report
        .datastores
        .iter()
        .find(|d| d.server == archive.server && d.datastore == archive.datastore)
    else {
        return generic;
    };
    let place = format!("{} · {}", archive.server, archive.datastore);
    // A job limited to a namespace verifies that namespace and the ones below it.
    let applies = |job: &&PbsJobRun| match job.namespace.as_deref() {
        None | Some("") => true,
        Some(ns) => archive.namespace == ns || archive.namespace.starts_with(&format!("{ns}/")),
    };
    let jobs: Vec<&PbsJobRun> = datastore.verify_job_runs.iter().filter(applies).collect();
    if let Some(job) = jobs.iter().find(|j| j.last_run_failed()) {
        let when = fmt.when(job.last_run_end).text;
        return (
            format!(
                "verify job {} failed at {when}: {}",
                job.id,
                job.last_run_state.as_deref().unwrap_or_default()
            ),
            format!(
                "Look at verify job {} on {place}: read its last task log, fix the cause and run it again.",
                job.id
            ),
        );
    }
    if let Some(job) = jobs.iter().find(|j| !j.disabled) {
        let last = match job.last_run_end {
            Some(end) => format!("last ran at {}", fmt.when(Some(end)).text),
            None => "has not run yet".to_string(),
        };
        return (
            format!(
                "the latest snapshot is not verified yet; verify job {} {last}",
                job.id
            ),
            format!(
                "Wait for the next run of verify job {} on {place} or run it now; if it still skips this snapshot, check its namespace and re-verify settings.",
                job.id
            ),
        );
    }
    if let Some(job) = jobs.first() {
        return (
            format!("verify job {} of {place} is disabled", job.id),
            format!("Enable verify job {} on {place}.", job.id),
        );
    }
    (
        format!("no verify job covers {place}"),
        "Schedule a PBS verify job for this datastore.".to_string(),
    )
}

/// One problem of a guest: its rank (lower is worse), badge, advice, and the reason when the
/// report's own coverage and freshness reasons do not already say it.
fn problems_of(
    guest: &GuestReport,
    report: &Report,
    fmt: &Formatter,
) -> Vec<(u8, Badge, String, String)> {
    let mut problems = Vec::new();
    match guest.coverage {
        Coverage::NotCovered => problems.push((
            0,
            Badge::new("not covered", "bad", ""),
            "Add it to an enabled backup job, or declare a justified exemption.".to_string(),
            String::new(),
        )),
        Coverage::DisabledOnly => problems.push((
            0,
            Badge::new("disabled only", "bad", ""),
            format!(
                "Enable job {} or add the guest to an enabled job.",
                guest.jobs.join(", ")
            ),
            String::new(),
        )),
        Coverage::Partial => problems.push((
            4,
            Badge::new("partial", "warn", ""),
            format!(
                "Volumes not backed up: {}. Confirm they need no backup, or set backup=1.",
                guest.excluded_volumes.join(", ")
            ),
            String::new(),
        )),
        Coverage::Indeterminate => problems.push((
            6,
            Badge::new("indeterminate", "unknown", ""),
            "Evidence was incomplete: see the collection horizon section and grant the missing privilege.".to_string(),
            String::new(),
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
            String::new(),
        )),
        Freshness::Never if selected => problems.push((
            2,
            Badge::new("never backed up", "bad", ""),
            format!(
                "Check that the job runs on node {} and includes this guest; run it once by hand.",
                guest.node
            ),
            String::new(),
        )),
        Freshness::Stale => problems.push((
            3,
            Badge::new("stale", "warn", ""),
            format!(
                "Scheduled runs were missed: check that the job ran on node {} and finished.",
                guest.node
            ),
            String::new(),
        )),
        Freshness::Unknown if guest.coverage != Coverage::Indeterminate && selected => problems
            .push((
                6,
                Badge::new("freshness unknown", "unknown", ""),
                "The task history does not reach far enough: see the collection horizon section."
                    .to_string(),
                String::new(),
            )),
        _ => {}
    }
    // A stale or never verdict already says which run was missed and why.
    if let (Some(newest), false) = (
        guest.missed.first(),
        matches!(guest.freshness, Freshness::Stale | Freshness::Never),
    ) {
        let count = guest.missed_runs.map_or(guest.missed.len(), |n| n as usize);
        problems.push((
            5,
            Badge::new("missed runs", "warn", ""),
            format!(
                "Node {} started no backup for {count} scheduled run{} of its jobs: check that it \
                 was up then and that pvescheduler runs there; repeat-missed=1 on the job catches \
                 up after a downtime.",
                newest.node,
                if count == 1 { "" } else { "s" }
            ),
            format!(
                "missed the run of {}: {}",
                newest.slot.format("%Y-%m-%d %H:%M UTC"),
                newest.reason
            ),
        ));
    }
    for flag in &guest.flags {
        let problem = match flag {
            GuestFlag::VerifyFailed => (
                5,
                Badge::new("verification failed", "bad", ""),
                match guest.archive.as_ref().and_then(|a| a.last_verified_ok) {
                    Some(ok) => format!(
                        "The latest snapshot failed verification: restore from {} (verified ok), check the datastore and take a new backup.",
                        fmt.when(Some(ok)).text
                    ),
                    None => "The latest snapshot failed verification: check the datastore and take a new backup."
                        .to_string(),
                },
                String::new(),
            ),
            GuestFlag::VerifyOutdated => (
                5,
                Badge::new("verification outdated", "warn", ""),
                "The latest snapshot was verified longer ago than the policy allows: schedule a verify job with outdated-after."
                    .to_string(),
                guest
                    .archive
                    .as_ref()
                    .and_then(|a| a.verified_at)
                    .map(|v| format!("last verified {}", fmt.when(Some(v)).text))
                    .unwrap_or_default(),
            ),
            GuestFlag::Unverified => {
                let (why, action) = unverified_advice(guest, report, fmt);
                (5, Badge::new("unverified", "warn", ""), action, why)
            }
            GuestFlag::ArchiveMissing => (
                2,
                Badge::new("archive missing", "bad", ""),
                "The task says it succeeded but no archive was found: check the target storage."
                    .to_string(),
                String::new(),
            ),
            GuestFlag::ExemptionExpired => (
                4,
                Badge::new("exemption expired", "warn", ""),
                "Renew the exemption with a new date, or back the guest up.".to_string(),
                String::new(),
            ),
            GuestFlag::VmidReuse => (
                5,
                Badge::new("VMID reused", "warn", ""),
                "Old backups of this VMID belong to another guest: do not restore them blindly."
                    .to_string(),
                String::new(),
            ),
            GuestFlag::StaleLock => {
                let tool = match guest.kind {
                    GuestKind::Qemu => "qm",
                    GuestKind::Lxc => "pct",
                };
                (
                    1,
                    Badge::new("stale backup lock", "bad", ""),
                    format!(
                        "No backup runs on node {} but the guest is locked (backup): make sure none \
                         is running, then `{tool} unlock {}` there.",
                        guest.node, guest.vmid
                    ),
                    "Every later backup fails with \"locked (backup)\" until the lock is removed."
                        .to_string(),
                )
            }
            GuestFlag::FleecingLeftover => (
                6,
                Badge::new("fleecing leftover", "warn", ""),
                format!(
                    "A backup that crashed or was killed left fleecing image(s) of this VM: make sure \
                     no backup of it runs, then `pvesm free <volid>` (the anomalies name them) on node {}.",
                    guest.node
                ),
                "They take space on the fleecing storage.".to_string(),
            ),
            GuestFlag::FleecingMayRemain => (
                7,
                Badge::new("fleecing leftover?", "warn", ""),
                "The newest backup used fleecing and failed: an admin can look for \
                 `vm-<vmid>-fleece-*` with `pvesm list <storage> --content images`."
                    .to_string(),
                "The token cannot list VM images read-only.".to_string(),
            ),
            // Said elsewhere (template, encryption: the guest row) or unknown to this version.
            GuestFlag::Encrypted
            | GuestFlag::NotEncrypted
            | GuestFlag::Template
            | GuestFlag::Other(_) => continue,
        };
        problems.push(problem);
    }
    problems.sort_by_key(|(rank, _, _, _)| *rank);
    problems
}

/// Guests that need attention, worst first.
pub(crate) fn attention_rows(report: &Report, fmt: &Formatter) -> Vec<AttentionRow> {
    let mut rows: Vec<AttentionRow> = report
        .guests
        .iter()
        .filter(|g| g.exempt.is_none())
        .filter_map(|g| {
            let problems = problems_of(g, report, fmt);
            let rank = problems.first()?.0;
            let mut why = Vec::new();
            if g.coverage != Coverage::Covered && !g.coverage_reason.is_empty() {
                why.push(super::why::summarise(&g.coverage_reason));
            }
            if g.freshness != Freshness::Ok && !g.freshness_reason.is_empty() {
                why.push(g.freshness_reason.clone());
            }
            if let Some(error) = failed_error(g.last_backup.as_ref()) {
                why.push(error.to_string());
            }
            if let Some(r) = &g.replication {
                why.push(replication_note(r));
            }
            let mut actions: Vec<String> = Vec::new();
            let mut badges = Vec::new();
            for (_, badge, action, reason) in problems {
                if !reason.is_empty() && !why.contains(&reason) {
                    why.push(reason);
                }
                if !actions.contains(&action) {
                    actions.push(action);
                }
                badges.push(badge);
            }
            Some(AttentionRow {
                vmid: g.vmid,
                name: or_none(g.name.as_deref()),
                node: fmt.of_cluster(&g.cluster, &g.node),
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

/// Replication shown, never counted: it keeps only the newest state on another node.
fn replication_note(r: &ReplicationReport) -> String {
    let target = r.target.as_deref().unwrap_or("another node");
    let synced = match r.last_sync {
        Some(t) => format!("last sync {}", t.format("%Y-%m-%d %H:%M UTC")),
        None => "never synced".to_string(),
    };
    let failing = match (r.fail_count, &r.error) {
        (0, _) => String::new(),
        (n, Some(error)) => format!(", failing ({n}×): {error}"),
        (n, None) => format!(", failing ({n}×)"),
    };
    format!(
        "replicated to {target} by job {} ({synced}{failing}), not backed up: replication keeps \
         only the newest state, no history",
        r.job
    )
}

/// A restore shown as evidence that someone read the backup, never as a tested restore.
fn restore_note(r: &RestoreReport) -> String {
    let from = r.source_snapshot.as_deref().unwrap_or("an unnamed backup");
    let status = match r.status.as_deref() {
        Some("OK") => String::new(),
        Some(other) => format!(", {other}"),
        None => ", running".to_string(),
    };
    let when = r.time.format("%Y-%m-%d %H:%M UTC");
    if r.kind == "pbs_reader" {
        // A reader session is a restore, a client download or a remote's pull sync alike.
        return format!(
            "last read: {when} of {from} on {} (PBS reader{status}; may be a sync, not a \
             restore)",
            r.source.as_deref().unwrap_or(&r.node)
        );
    }
    format!(
        "last restore/read: {when} from {from} ({}{status}; not a tested restore)",
        r.kind
    )
}

fn failed_error(event: Option<&BackupEvent>) -> Option<&str> {
    let event = event?;
    if event.status == AttemptStatus::Failed {
        event.error.as_deref()
    } else {
        None
    }
}

/// One row of the all-guests table.
pub(crate) fn guest_row(g: &GuestReport, fmt: &Formatter) -> GuestRow {
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
    // Encryption is said once, as a count above the table: a chip on nearly every row drowned
    // the flags that matter, and no policy here requires encryption.
    let mut flags: Vec<String> = g
        .flags
        .iter()
        .filter(|f| !matches!(f, GuestFlag::Encrypted | GuestFlag::NotEncrypted))
        .map(flag_word)
        .collect();
    if let Some(lock) = &g.lock {
        flags.push(format!("locked ({lock})"));
    }
    if g.replication.is_some() {
        flags.push("replicated (not a backup)".into());
    }
    if let Some(r) = &g.last_restore {
        flags.push(restore_note(r));
    }
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
        node: fmt.of_cluster(&g.cluster, &g.node),
        kind: kind_word(g.kind),
        pool: or_none(g.pool.as_deref()),
        coverage: Badge::new(
            coverage_word(g.coverage),
            coverage_class(g.coverage),
            super::why::summarise(&g.coverage_reason),
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
        offsite: match &g.offsite {
            Some(o) => Badge::new(
                offsite_word(o.status),
                offsite_class(o.status),
                o.reason.clone(),
            ),
            None => Badge::new(NONE, "", ""),
        },
        offsite_where: g
            .offsite
            .as_ref()
            .and_then(|o| o.copies.first())
            .map(|c| {
                let place = match (&c.kind, &c.datastore) {
                    (CopyKind::Tape, _) => format!("tape · {}", c.server),
                    (CopyKind::Pbs, Some(ds)) => format!("{} · {ds}", c.server),
                    (CopyKind::Pbs, None) => c.server.clone(),
                };
                format!("{place} · {}", fmt.when(Some(c.time)).relative)
            })
            .unwrap_or_default(),
        flags,
        tags: g.tags.clone(),
        notes_text: notes_parts.join("; "),
        notes_short,
        notes,
    }
}

/// "Client-side encryption: 2 of 11 latest archives encrypted." (empty: none known).
pub(crate) fn encryption_summary(report: &Report) -> String {
    let encrypted = report
        .guests
        .iter()
        .filter(|g| g.flags.contains(&GuestFlag::Encrypted))
        .count();
    let plain = report
        .guests
        .iter()
        .filter(|g| g.flags.contains(&GuestFlag::NotEncrypted))
        .count();
    if encrypted + plain == 0 {
        return String::new();
    }
    format!(
        "Client-side encryption: {encrypted} of {} latest archives encrypted.",
        encrypted + plain
    )
}

/// Justified exemptions, by VMID.
pub(crate) fn exemption_rows(report: &Report, fmt: &Formatter) -> Vec<ExemptionRow> {
    report
        .guests
        .iter()
        .filter_map(|g| {
            let exempt = g.exempt.as_ref()?;
            Some(ExemptionRow {
                vmid: g.vmid,
                name: or_none(g.name.as_deref()),
                node: fmt.of_cluster(&g.cluster, &g.node),
                reason: exempt.reason.clone(),
                until: match exempt.until {
                    Some(until) => fmt.when(Some(until)),
                    None => When {
                        text: "no expiry".into(),
                        relative: String::new(),
                        key: String::new(),
                    },
                },
                declared_in: exempt.declared_in.as_str().to_string(),
                coverage: Badge::new(
                    coverage_word(g.coverage),
                    coverage_class(g.coverage),
                    super::why::summarise(&g.coverage_reason),
                ),
            })
        })
        .collect()
}
