//! Off-site copies per guest (3-2-1): would the guest's backups survive the loss of the PBS
//! that holds them? Every visible copy job (pull and push sync jobs on any configured PBS, tape
//! backup jobs) becomes a [`Route`] from a source (server, datastore, namespace subtree) to a
//! target; per guest the routes that touch its datastore decide one [`OffsiteStatus`]. Rules:
//! docs/coverage-model.md "Off-site copies"; PBS facts: copies-and-evolution.md A1–A5.
//!
//! Unknown is not zero: a target that cannot be read, a remote that cannot be resolved or a
//! filter PBS would not accept make the verdict `unknown`, never `missing`.

mod select;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Anomaly, Inventory, PbsInventory, Severity, Snapshot, SyncDirection};

use super::index::Index;
use super::Scope;
pub(crate) use select::{eligible, filter_group, map_ns, relative_ns, SnapshotRules, Take};

/// Off-site verdict of one guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsiteStatus {
    /// A copy job selects the guest's group and the copies are as new as its last run allows.
    Ok,
    /// Copies exist, but local snapshots the job should have transferred by its last run are
    /// missing there.
    Stale,
    /// A job selects the group but no copy exists.
    Missing,
    /// Copy jobs read the guest's datastore, but none selects its group.
    NotSelected,
    /// Cannot be told: a target or list could not be read, or a job's target is not configured.
    Unknown,
}

impl OffsiteStatus {
    /// Every verdict, in declaration order (counts and metrics list them in it).
    pub const ALL: [OffsiteStatus; 5] = [
        OffsiteStatus::Ok,
        OffsiteStatus::Stale,
        OffsiteStatus::Missing,
        OffsiteStatus::NotSelected,
        OffsiteStatus::Unknown,
    ];

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsiteStatus::Ok => "ok",
            OffsiteStatus::Stale => "stale",
            OffsiteStatus::Missing => "missing",
            OffsiteStatus::NotSelected => "not_selected",
            OffsiteStatus::Unknown => "unknown",
        }
    }

    /// Which of two outcomes of different jobs stands for the guest: a copy that exists wins;
    /// then what cannot be told (a job not seen may hold the copy), then the partial failures.
    fn rank(self) -> u8 {
        match self {
            OffsiteStatus::Ok => 0,
            OffsiteStatus::Unknown => 1,
            OffsiteStatus::Stale => 2,
            OffsiteStatus::Missing => 3,
            OffsiteStatus::NotSelected => 4,
        }
    }
}

/// Where a copy lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    /// A datastore of a(nother) PBS, or another datastore of the same PBS.
    Pbs,
    /// A tape media set.
    Tape,
}

/// One copy of the guest's newest copied snapshot in one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OffsiteCopy {
    /// `pbs` or `tape`.
    pub kind: CopyKind,
    /// The server holding the copy (for tape: the server with the tape library).
    pub server: String,
    /// Datastore (None for tape).
    pub datastore: Option<String>,
    /// Namespace, "" = root (None for tape).
    pub namespace: Option<String>,
    /// Backup time of the copied snapshot (sync keeps the source's time).
    pub time: DateTime<Utc>,
    /// The copy job id.
    pub via: String,
    /// Media set (tape only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_set: Option<String>,
}

/// The off-site answer for one guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offsite {
    /// The verdict.
    pub status: OffsiteStatus,
    /// Why, one sentence.
    pub reason: String,
    /// The newest copy in each place, newest first.
    pub copies: Vec<OffsiteCopy>,
    /// The newest copy's time.
    pub latest_copy: Option<DateTime<Utc>>,
    /// The policy asks for an off-site copy of this guest (its problems are then critical).
    #[serde(default)]
    pub required: bool,
    /// `stale`: local snapshots the last run should have copied and did not.
    #[serde(default)]
    pub missing_snapshots: Option<u32>,
    /// `stale`: the oldest of those.
    #[serde(default)]
    pub missing_since: Option<DateTime<Utc>>,
}

/// Where a route's copies land.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A datastore of a configured PBS (index into `inventory.pbs`).
    Pbs {
        server: usize,
        store: String,
        anchor: String,
    },
    /// A PBS that is not configured here: its copies cannot be read.
    Unconfigured { remote: String, host: String },
    /// The tape library of the source server.
    Tape { server: usize },
}

/// Which server a route reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A configured PBS.
    Server(usize),
    /// A pull job's remote that could not be resolved: any server with that datastore may be it.
    Unresolved(String),
}

/// One copy job seen as source → target.
#[derive(Debug, Clone)]
pub(crate) struct Route<'a> {
    via: &'a str,
    kind: CopyJobKind,
    schedule: Option<&'a str>,
    pool: Option<&'a str>,
    /// Server the job is configured on.
    on: usize,
    source: Source,
    source_store: &'a str,
    source_anchor: &'a str,
    max_depth: Option<u64>,
    filters: &'a [String],
    rules: SnapshotRules,
    target: Target,
    last_run_start: Option<DateTime<Utc>>,
    last_run_state: Option<&'a str>,
    /// Why the job's selection cannot be told at all.
    problem: Option<String>,
    /// The remote the job names and how it was recognised as a configured server.
    remote_match: Option<(&'a str, MatchedBy)>,
}

/// The routes of every configured PBS, plus anomalies about remotes that match no configured
/// server or cannot be resolved.
pub(crate) fn routes(inventory: &Inventory) -> (Vec<Route<'_>>, Vec<Anomaly>) {
    let mut out = Vec::new();
    let mut anomalies = Vec::new();
    for (on, pbs) in inventory.pbs.iter().enumerate() {
        let component = format!("pbs/{}", pbs.name);
        for job in &pbs.copies.sync_jobs.items {
            let remote_store = job.remote_store.as_deref().unwrap_or(job.store.as_str());
            let rules = SnapshotRules {
                verified_only: job.verified_only,
                encrypted_only: job.encrypted_only,
                transfer_last: job.transfer_last,
            };
            let problem = job.unknown_direction.as_ref().map(|d| {
                format!(
                    "sync job {} has direction '{d}', which this version does not know",
                    job.id
                )
            });
            let remote_server = job
                .remote
                .as_deref()
                .map(|r| resolve_remote(inventory, pbs, r));
            let (source, source_store, source_anchor, target) = match job.direction {
                SyncDirection::Pull => {
                    let source = match &remote_server {
                        None => Source::Server(on),
                        Some(Resolved::Server(s, _)) => Source::Server(*s),
                        Some(Resolved::Unconfigured { .. }) => continue,
                        Some(Resolved::Unknown(remote)) => Source::Unresolved(remote.clone()),
                    };
                    let target = Target::Pbs {
                        server: on,
                        store: job.store.clone(),
                        anchor: job.ns.clone(),
                    };
                    (source, remote_store, job.remote_ns.as_str(), target)
                }
                SyncDirection::Push => {
                    let target = match &remote_server {
                        Some(Resolved::Server(t, _)) => Target::Pbs {
                            server: *t,
                            store: remote_store.to_string(),
                            anchor: job.remote_ns.clone(),
                        },
                        Some(Resolved::Unconfigured { remote, host }) => Target::Unconfigured {
                            remote: remote.clone(),
                            host: host.clone(),
                        },
                        Some(Resolved::Unknown(remote)) => Target::Unconfigured {
                            remote: remote.clone(),
                            host: "an unreadable remote entry".to_string(),
                        },
                        // A push job without a remote does not exist (PBS hides it anyway).
                        None => continue,
                    };
                    (
                        Source::Server(on),
                        job.store.as_str(),
                        job.ns.as_str(),
                        target,
                    )
                }
            };
            if let Some(Resolved::Unconfigured { remote, host }) = &remote_server {
                anomalies.push(Anomaly::new(
                    Severity::Info,
                    &component,
                    format!("remote '{remote}' ({host}) of sync job {} matches no configured PBS", job.id),
                    "configure that PBS here (PBS_URL/PBSnn_URL) so the copies it holds or sends can be read; \
                     a remote is matched by host and port or by the certificate fingerprint it pins",
                ));
            }
            if let Some(Resolved::Unknown(remote)) = &remote_server {
                anomalies.push(Anomaly::new(
                    Severity::Warning,
                    &component,
                    format!(
                        "remote '{remote}' of sync job {} is not in the remote list",
                        job.id
                    ),
                    "the list of remotes could not be read in full; grant Remote.Audit on /remote",
                ));
            }
            out.push(Route {
                via: job.id.as_str(),
                kind: match job.direction {
                    SyncDirection::Pull => CopyJobKind::Pull,
                    SyncDirection::Push => CopyJobKind::Push,
                },
                schedule: job.schedule.as_deref(),
                pool: None,
                on,
                source,
                source_store,
                source_anchor,
                max_depth: job.max_depth,
                filters: &job.group_filter,
                rules,
                target,
                last_run_start: job.last_run_start.or(job.last_run_end),
                last_run_state: job.last_run_state.as_deref(),
                problem,
                remote_match: match (&remote_server, job.remote.as_deref()) {
                    (Some(Resolved::Server(_, how)), Some(name)) => Some((name, *how)),
                    _ => None,
                },
            });
        }
        for job in &pbs.copies.tape_jobs.items {
            out.push(Route {
                via: job.id.as_str(),
                kind: CopyJobKind::Tape,
                schedule: job.schedule.as_deref(),
                pool: job.pool.as_deref(),
                on,
                source: Source::Server(on),
                source_store: job.store.as_str(),
                source_anchor: job.ns.as_str(),
                max_depth: job.max_depth,
                filters: &job.group_filter,
                rules: SnapshotRules {
                    transfer_last: job.latest_only.then_some(1),
                    ..SnapshotRules::default()
                },
                target: Target::Tape { server: on },
                last_run_start: job.last_run_start.or(job.last_run_end),
                last_run_state: job.last_run_state.as_deref(),
                problem: None,
                remote_match: None,
            });
        }
    }
    anomalies.sort();
    anomalies.dedup();
    (out, anomalies)
}

enum Resolved {
    Server(usize, MatchedBy),
    Unconfigured { remote: String, host: String },
    Unknown(String),
}

/// How a remote was recognised as a configured server; the copy job's text says it, so an
/// admin can see why two differently named addresses were taken for one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MatchedBy {
    /// Same host and port, and the same pinned certificate.
    HostPortAndFingerprint,
    /// Same host and port.
    HostPort,
    /// Same pinned certificate under another address (a DNS alias, an IP).
    Fingerprint,
}

impl MatchedBy {
    fn text(self) -> &'static str {
        match self {
            MatchedBy::HostPortAndFingerprint => "matched by host:port and certificate fingerprint",
            MatchedBy::HostPort => "matched by host:port",
            MatchedBy::Fingerprint => "matched by certificate fingerprint",
        }
    }
}

/// A remote of `pbs` mapped to a configured server by host and port (8007 when unset) or by the
/// certificate fingerprint the remote pins, which is the same server however it is addressed.
/// Address and certificate both matching beats either alone; a tie goes to the first configured.
fn resolve_remote(inventory: &Inventory, pbs: &PbsInventory, remote: &str) -> Resolved {
    let Some(entry) = pbs.copies.remotes.items.iter().find(|r| r.name == remote) else {
        return Resolved::Unknown(remote.to_string());
    };
    let wanted_host = entry.host.as_deref().map(|h| host_port(h, entry.port));
    let wanted_fp = entry.fingerprint.as_deref().and_then(normalize_fingerprint);
    if wanted_host.is_none() && wanted_fp.is_none() {
        return Resolved::Unknown(remote.to_string());
    }
    let best = inventory
        .pbs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let by_host = wanted_host.as_deref() == Some(normalize(&p.host).as_str());
            let by_fp = wanted_fp.is_some()
                && p.fingerprint.as_deref().and_then(normalize_fingerprint) == wanted_fp;
            let how = match (by_host, by_fp) {
                (true, true) => MatchedBy::HostPortAndFingerprint,
                (true, false) => MatchedBy::HostPort,
                (false, true) => MatchedBy::Fingerprint,
                (false, false) => return None,
            };
            Some((how, i))
        })
        .min();
    match best {
        Some((how, server)) => Resolved::Server(server, how),
        None => Resolved::Unconfigured {
            remote: remote.to_string(),
            host: match &entry.host {
                Some(host) => format!("{host}:{}", entry.port),
                None => "no host".to_string(),
            },
        },
    }
}

/// A SHA-256 fingerprint as comparable text: hex digits only, lowercase (PBS shows `aa:bb:…`,
/// the configuration takes `AA:BB:…` or plain hex). `None` when nothing hex-like is left.
fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn host_port(host: &str, port: u16) -> String {
    format!(
        "{}:{port}",
        host.trim_matches(|c| c == '[' || c == ']')
            .to_ascii_lowercase()
    )
}

fn normalize(host_and_port: &str) -> String {
    match host_and_port.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            host_port(host, port.parse::<u16>().unwrap_or(8007))
        }
        _ => host_port(host_and_port, 8007),
    }
}

/// How one copy job treats the guests' groups it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GroupTally {
    selected: usize,
    copied: usize,
    missing: usize,
    stale: usize,
    unknown: usize,
}

impl GroupTally {
    fn count(&mut self, status: OffsiteStatus) {
        match status {
            OffsiteStatus::NotSelected => return,
            OffsiteStatus::Ok => self.copied += 1,
            OffsiteStatus::Stale => {
                self.copied += 1;
                self.stale += 1;
            }
            OffsiteStatus::Missing => self.missing += 1,
            OffsiteStatus::Unknown => self.unknown += 1,
        }
        self.selected += 1;
    }
}

/// One copy job in the report: what it reads, where it writes, its last run, and how it
/// treats the guests' groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyJobReport {
    /// The server the job is configured on.
    pub server: String,
    /// Job id.
    pub id: String,
    /// `pull`, `push` or `tape`.
    pub kind: CopyJobKind,
    /// What it reads: `pbs1/store1 namespace 'pve'`.
    pub source: String,
    /// Where it writes: `offsite/copy namespace 'main'`, `tape pool weekly`, or the remote.
    pub target: String,
    /// Depth, group filters and snapshot options, one line (`all groups` when none).
    pub selection: String,
    /// Schedule (None: manual only).
    pub schedule: Option<String>,
    /// State of the last run.
    pub last_run_state: Option<String>,
    /// Start of the last run.
    pub last_run: Option<DateTime<Utc>>,
    /// Guests' groups the job selects.
    pub groups_selected: usize,
    /// Of those, with a copy (ok or stale).
    pub groups_copied: usize,
    /// Of those, with a copy older than the job's last run should have made.
    pub groups_stale: usize,
    /// Of those, without any copy.
    pub groups_missing: usize,
    /// Of those, whose copies could not be read.
    pub groups_unknown: usize,
}

/// Kind of copy job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyJobKind {
    /// A pull sync job (configured on the target).
    Pull,
    /// A push sync job (configured on the source).
    Push,
    /// A tape backup job.
    Tape,
}

/// The copy-job section: every route with its tally, sorted by (server, id).
pub(crate) fn copy_job_reports(
    inventory: &Inventory,
    routes: &[Route<'_>],
    tally: &[GroupTally],
) -> Vec<CopyJobReport> {
    let name = |i: usize| {
        inventory
            .pbs
            .get(i)
            .map_or("?", |p| p.name.as_str())
            .to_string()
    };
    let mut out: Vec<CopyJobReport> = routes
        .iter()
        .zip(tally)
        .map(|(route, t)| {
            let source_server = match &route.source {
                Source::Server(s) => name(*s),
                Source::Unresolved(remote) => format!("remote '{remote}'"),
            };
            // The remote's name and how it was matched go with the side the remote stands for.
            let via_remote = |side: CopyJobKind| match route.remote_match {
                Some((remote, how)) if route.kind == side => {
                    format!(" (remote '{remote}', {})", how.text())
                }
                _ => String::new(),
            };
            let source = format!(
                "{source_server}/{}{}{}",
                route.source_store,
                ns_suffix(route.source_anchor),
                via_remote(CopyJobKind::Pull)
            );
            let target = match &route.target {
                Target::Pbs {
                    server,
                    store,
                    anchor,
                } => format!(
                    "{}/{store}{}{}",
                    name(*server),
                    ns_suffix(anchor),
                    via_remote(CopyJobKind::Push)
                ),
                Target::Unconfigured { remote, host } => {
                    format!("remote '{remote}' ({host}, not configured here)")
                }
                Target::Tape { server } => format!(
                    "tape on {}{}",
                    name(*server),
                    route
                        .pool
                        .map(|p| format!(", pool {p}"))
                        .unwrap_or_default()
                ),
            };
            let mut parts: Vec<String> = Vec::new();
            match route.max_depth {
                Some(0) => parts.push("anchor namespace only".into()),
                Some(d) => parts.push(format!("max-depth {d}")),
                None => {}
            }
            if route.filters.is_empty() {
                parts.push("all groups".into());
            } else {
                parts.push(route.filters.join(", "));
            }
            if let Some(n) = route.rules.transfer_last {
                parts.push(if route.kind == CopyJobKind::Tape {
                    "latest only".into()
                } else {
                    format!("transfer-last {n}")
                });
            }
            if route.rules.verified_only {
                parts.push("verified only".into());
            }
            if route.rules.encrypted_only {
                parts.push("encrypted only".into());
            }
            CopyJobReport {
                server: name(route.on),
                id: route.via.to_string(),
                kind: route.kind,
                source,
                target,
                selection: parts.join("; "),
                schedule: route.schedule.map(str::to_string),
                last_run_state: route.last_run_state.map(str::to_string),
                last_run: route.last_run_start,
                groups_selected: t.selected,
                groups_copied: t.copied,
                groups_stale: t.stale,
                groups_missing: t.missing,
                groups_unknown: t.unknown,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.server, &a.id).cmp(&(&b.server, &b.id)));
    out
}

/// One place a guest's backups are kept: (server, datastore, namespace).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    /// Index into `inventory.pbs`.
    pub server: usize,
    /// Datastore.
    pub store: String,
    /// Namespace ("" = root).
    pub namespace: String,
}

/// What one route says about one guest group.
struct Outcome {
    status: OffsiteStatus,
    reason: String,
    copies: Vec<OffsiteCopy>,
    missing: Option<(u32, DateTime<Utc>)>,
}

/// The off-site verdict of a guest whose backups are in `places`, of type `backup_type` and id
/// `backup_id`; `required`: the policy asks for copies (turns `null` into `missing`).
pub(crate) fn assess_guest(
    index: &Index<'_>,
    routes: &[Route<'_>],
    places: &[Place],
    backup_type: &str,
    backup_id: &str,
    required: bool,
    tally: &mut [GroupTally],
) -> Option<Offsite> {
    let inventory = &index.scope;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for place in places {
        let key = (
            place.server,
            place.store.as_str(),
            place.namespace.as_str(),
            backup_type,
            backup_id,
        );
        let finished: Vec<&Snapshot> = index
            .groups
            .get(&key)
            .map(|g| g.finished.clone())
            .unwrap_or_default();
        for (i, route) in routes.iter().enumerate() {
            if !touches(inventory, route, place) {
                continue;
            }
            let outcome = route_outcome(index, route, place, &finished, backup_type, backup_id);
            if let Some(t) = tally.get_mut(i) {
                t.count(outcome.status);
            }
            outcomes.push(outcome);
        }
    }
    let hidden = hidden_jobs(inventory, places);
    if outcomes.is_empty() {
        if !required {
            return None;
        }
        let places_text = describe_places(inventory, places);
        return Some(match hidden {
            Some(why) => unknown(required, format!(
                "the policy asks for an off-site copy; no visible copy job reads {places_text}, but {why}"
            )),
            None if places.is_empty() => unknown(
                required,
                "the policy asks for an off-site copy, but no PBS datastore holding this guest's backups is known"
                    .to_string(),
            ),
            None => Offsite {
                status: OffsiteStatus::Missing,
                reason: format!(
                    "the policy asks for an off-site copy, but no copy job reads {places_text}"
                ),
                copies: Vec::new(),
                latest_copy: None,
                required,
                missing_snapshots: None,
                missing_since: None,
            },
        });
    }
    let best = outcomes
        .iter()
        .map(|o| o.status)
        .min_by_key(|s| s.rank())
        .unwrap_or(OffsiteStatus::Unknown);
    let mut reasons: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == best)
        .map(|o| o.reason.clone())
        .collect();
    reasons.sort();
    reasons.dedup();
    let mut reason = reasons.join("; ");
    let mut status = best;
    if status == OffsiteStatus::NotSelected {
        if let Some(why) = &hidden {
            if required {
                status = OffsiteStatus::Unknown;
            }
            reason.push_str(&format!("; {why}"));
        }
    }
    let mut copies: Vec<OffsiteCopy> = outcomes.iter().flat_map(|o| o.copies.clone()).collect();
    copies.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.cmp(b)));
    copies.dedup();
    let missing = outcomes
        .iter()
        .filter(|o| o.status == status)
        .filter_map(|o| o.missing)
        .min_by_key(|(n, _)| *n);
    Some(Offsite {
        status,
        reason,
        latest_copy: copies.first().map(|c| c.time),
        copies,
        required,
        missing_snapshots: missing.map(|(n, _)| n),
        missing_since: missing.map(|(_, t)| t),
    })
}

fn unknown(required: bool, reason: String) -> Offsite {
    Offsite {
        status: OffsiteStatus::Unknown,
        reason,
        copies: Vec::new(),
        latest_copy: None,
        required,
        missing_snapshots: None,
        missing_since: None,
    }
}

/// Why copy jobs reading `places` may be hidden, when some list could not be read in full.
fn hidden_jobs(inventory: &Scope<'_>, places: &[Place]) -> Option<String> {
    // Lists of one server that are incomplete for the same reason are named together.
    let mut why: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for pbs in inventory.pbs {
        for (what, reason) in [
            ("sync jobs", pbs.copies.sync_jobs.completeness.reason()),
            ("remotes", pbs.copies.remotes.completeness.reason()),
        ] {
            if let Some(reason) = reason {
                why.entry((pbs.name.clone(), reason.to_string()))
                    .or_default()
                    .push(what);
            }
        }
    }
    for place in places {
        if let Some(pbs) = inventory.pbs.get(place.server) {
            if let Some(reason) = pbs.copies.tape_jobs.completeness.reason() {
                let whats = why
                    .entry((pbs.name.clone(), reason.to_string()))
                    .or_default();
                if !whats.contains(&"tape jobs") {
                    whats.push("tape jobs");
                }
            }
        }
    }
    if why.is_empty() {
        return None;
    }
    let parts: Vec<String> = why
        .into_iter()
        .map(|((server, reason), whats)| {
            format!(
                "the {} of {server} may be incomplete ({reason})",
                whats.join(" and ")
            )
        })
        .collect();
    Some(parts.join("; "))
}

fn describe_places(inventory: &Scope<'_>, places: &[Place]) -> String {
    let names: Vec<String> = places
        .iter()
        .map(|p| {
            let server = inventory.pbs.get(p.server).map_or("?", |s| s.name.as_str());
            format!("{server}/{}", p.store)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if names.is_empty() {
        "the guest's datastore".to_string()
    } else {
        format!("datastore {}", names.join(", "))
    }
}

fn touches(inventory: &Scope<'_>, route: &Route<'_>, place: &Place) -> bool {
    if route.source_store != place.store.as_str() {
        return false;
    }
    match &route.source {
        Source::Server(s) => *s == place.server,
        // An unresolved remote could be any configured server holding that datastore, except
        // the job's own server (it would be a local sync).
        Source::Unresolved(_) => place.server != route.on && place.server < inventory.pbs.len(),
    }
}

fn route_outcome(
    index: &Index<'_>,
    route: &Route<'_>,
    place: &Place,
    finished: &[&Snapshot],
    backup_type: &str,
    backup_id: &str,
) -> Outcome {
    let inventory = &index.scope;
    let job_on = inventory.pbs.get(route.on).map_or("?", |p| p.name.as_str());
    let job = format!("copy job {} on {job_on}", route.via);
    let plain = |status: OffsiteStatus, reason: String| Outcome {
        status,
        reason,
        copies: Vec::new(),
        missing: None,
    };
    if let Some(problem) = &route.problem {
        return plain(OffsiteStatus::Unknown, problem.clone());
    }
    let relative = match relative_ns(route.source_anchor, route.max_depth, &place.namespace) {
        Ok(rel) => rel,
        Err(why) => return plain(OffsiteStatus::NotSelected, format!("{job}: {why}")),
    };
    match filter_group(route.filters, backup_type, backup_id) {
        Take::Yes => {}
        Take::No(why) => return plain(OffsiteStatus::NotSelected, format!("{job}: {why}")),
        Take::Unknown(why) => return plain(OffsiteStatus::Unknown, format!("{job}: {why}")),
    }
    if let Source::Unresolved(remote) = &route.source {
        return plain(
            OffsiteStatus::Unknown,
            format!("{job} pulls from remote '{remote}', which could not be resolved to a configured PBS"),
        );
    }

    // The copies this route made of the group, and whether their listing is complete.
    let (copy_times, complete, where_text): (Vec<OffsiteCopy>, Result<(), String>, String) =
        match &route.target {
            Target::Unconfigured { remote, host } => {
                return plain(
                    OffsiteStatus::Unknown,
                    format!("{job} copies to remote '{remote}' ({host}), which is not configured here, so its copies cannot be read"),
                );
            }
            Target::Pbs {
                server,
                store,
                anchor,
            } => {
                let target_ns = map_ns(anchor, &relative);
                let Some(pbs) = inventory.pbs.get(*server) else {
                    return plain(
                        OffsiteStatus::Unknown,
                        format!("{job}: target server unknown"),
                    );
                };
                let where_text = format!("{}/{store}{}", pbs.name, ns_suffix(&target_ns));
                let Some(ds) = pbs.datastores.items.iter().find(|d| d.name == *store) else {
                    let why = if pbs.datastores.completeness.is_complete() {
                        format!(
                            "{job} copies to datastore {where_text}, which {} does not list",
                            pbs.name
                        )
                    } else {
                        format!("{job} copies to {where_text}, which could not be read")
                    };
                    return plain(OffsiteStatus::Unknown, why);
                };
                let key = (
                    *server,
                    ds.name.as_str(),
                    target_ns.as_str(),
                    backup_type,
                    backup_id,
                );
                let copies = index
                    .groups
                    .get(&key)
                    .map(|g| {
                        g.finished
                            .iter()
                            .map(|s| OffsiteCopy {
                                kind: CopyKind::Pbs,
                                server: pbs.name.clone(),
                                datastore: Some(ds.name.clone()),
                                namespace: Some(target_ns.clone()),
                                time: s.time,
                                via: route.via.to_string(),
                                media_set: None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let complete = match ds.snapshots.completeness.reason() {
                    None => Ok(()),
                    Some(reason) => Err(reason.to_string()),
                };
                (copies, complete, where_text)
            }
            Target::Tape { server } => {
                let Some(pbs) = inventory.pbs.get(*server) else {
                    return plain(
                        OffsiteStatus::Unknown,
                        format!("{job}: tape server unknown"),
                    );
                };
                let copies = pbs
                    .copies
                    .tape_content
                    .items
                    .iter()
                    .filter(|c| {
                        c.store == place.store
                            && c.namespace == place.namespace
                            && c.backup_type.as_str() == backup_type
                            && c.backup_id == backup_id
                    })
                    .map(|c| OffsiteCopy {
                        kind: CopyKind::Tape,
                        server: pbs.name.clone(),
                        datastore: None,
                        namespace: None,
                        time: c.time,
                        via: route.via.to_string(),
                        media_set: c.media_set.clone(),
                    })
                    .collect();
                let complete = match pbs.copies.tape_content.completeness.reason() {
                    None => Ok(()),
                    Some(reason) => Err(reason.to_string()),
                };
                (copies, complete, format!("tape on {}", pbs.name))
            }
        };

    let newest_copy = copy_times.iter().map(|c| c.time).max();
    // The newest copy per place is what the report shows; older ones add nothing.
    let shown: Vec<OffsiteCopy> = copy_times
        .into_iter()
        .filter(|c| Some(c.time) == newest_copy)
        .take(1)
        .collect();
    let run_note = match route.last_run_state {
        Some(state) if !state.eq_ignore_ascii_case("ok") && !state.starts_with("WARNINGS") => {
            format!(" (its last run ended with: {state})")
        }
        _ => String::new(),
    };
    let due: Vec<&Snapshot> = eligible(finished, route.rules)
        .into_iter()
        .filter(|s| route.last_run_start.is_some_and(|start| s.time < start))
        .filter(|s| newest_copy.is_none_or(|newest| s.time > newest))
        .collect();
    match (newest_copy, &complete) {
        (None, Err(reason)) => Outcome {
            status: OffsiteStatus::Unknown,
            reason: format!("{job} selects the group, but {where_text} could not be read in full: {reason}"),
            copies: Vec::new(),
            missing: None,
        },
        (None, Ok(())) => Outcome {
            status: OffsiteStatus::Missing,
            reason: if route.last_run_start.is_none() {
                format!("{job} selects the group but has never run; no copy in {where_text}")
            } else {
                format!("{job} selects the group, but {where_text} holds no copy{run_note}")
            },
            copies: Vec::new(),
            missing: due.first().map(|s| (count(due.len()), s.time)),
        },
        (Some(newest), _) if !due.is_empty() => Outcome {
            status: OffsiteStatus::Stale,
            reason: format!(
                "{job}: {} local snapshot(s) since {} that its last run should have copied are not in {where_text}; newest copy {}{run_note}",
                due.len(),
                rfc3339(due[0].time),
                rfc3339(newest)
            ),
            copies: shown,
            missing: Some((count(due.len()), due[0].time)),
        },
        (Some(newest), _) => Outcome {
            status: OffsiteStatus::Ok,
            reason: format!("copied by {job} to {where_text}, newest copy {}", rfc3339(newest)),
            copies: shown,
            missing: None,
        },
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn ns_suffix(ns: &str) -> String {
    if ns.is_empty() {
        String::new()
    } else {
        format!(" namespace '{ns}'")
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests;
