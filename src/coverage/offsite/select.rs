//! Which backup groups and snapshots a copy job takes, exactly as PBS decides it
//! (copies-and-evolution.md A2): namespace anchor + `max-depth`, `group-filter`
//! (`type:`/`group:`/`regex:`, include/exclude), and per snapshot `verified-only`,
//! `encrypted-only`, `transfer-last` and "only newer than the newest copy".

use regex::Regex;

use crate::model::{Snapshot, VerifyState};

/// What one group-filter item tests.
#[derive(Debug, Clone)]
enum Test {
    /// `type:vm|ct|host`.
    Type(String),
    /// `group:<type>/<id>`.
    Group(String),
    /// `regex:<re>`, unanchored, against `<type>/<id>`.
    Regex(Regex),
}

/// One parsed group-filter item.
#[derive(Debug, Clone)]
pub(crate) struct GroupFilter {
    exclude: bool,
    test: Test,
    /// The item as configured, for reasons.
    text: String,
}

impl GroupFilter {
    /// Parse `[include:|exclude:]<type:…|group:…|regex:…>` as pbs-api-types `GroupFilter` does.
    ///
    /// # Errors
    /// A sentence naming the item PBS would not have accepted.
    pub(crate) fn parse(text: &str) -> Result<GroupFilter, String> {
        let (exclude, rest) = if let Some(rest) = text.strip_prefix("exclude:") {
            (true, rest)
        } else {
            (false, text.strip_prefix("include:").unwrap_or(text))
        };
        let bad = |why: &str| format!("group filter '{text}' {why}");
        let test = match rest.split_once(':') {
            Some(("type", t @ ("vm" | "ct" | "host"))) => Test::Type(t.to_string()),
            Some(("type", _)) => return Err(bad("names no known type (vm, ct, host)")),
            Some(("group", g)) => match g.split_once('/') {
                Some((t @ ("vm" | "ct" | "host"), id)) if !id.is_empty() && !id.contains('/') => {
                    Test::Group(format!("{t}/{id}"))
                }
                _ => return Err(bad("is not a backup group like vm/100")),
            },
            Some(("regex", re)) => {
                Test::Regex(Regex::new(re).map_err(|e| bad(&format!("is not a regex: {e}")))?)
            }
            _ => return Err(bad("does not start with type:, group: or regex:")),
        };
        Ok(GroupFilter {
            exclude,
            test,
            text: text.to_string(),
        })
    }

    fn matches(&self, backup_type: &str, backup_id: &str) -> bool {
        match &self.test {
            Test::Type(t) => t == backup_type,
            Test::Group(g) => *g == format!("{backup_type}/{backup_id}"),
            Test::Regex(re) => re.is_match(&format!("{backup_type}/{backup_id}")),
        }
    }
}

/// Whether a job takes something, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Take {
    /// Taken.
    Yes,
    /// Not taken: the sentence names the rule.
    No(String),
    /// Cannot be told (a filter PBS would not accept, a direction this version does not know).
    Unknown(String),
}

/// Apply a job's group filters to one group, order-independently like `apply_filters`: with no
/// include item every group is included, else it must match one; then any matching exclude
/// item drops it.
pub(crate) fn filter_group(filters: &[String], backup_type: &str, backup_id: &str) -> Take {
    let mut parsed = Vec::with_capacity(filters.len());
    for text in filters {
        match GroupFilter::parse(text) {
            Ok(f) => parsed.push(f),
            Err(why) => return Take::Unknown(why),
        }
    }
    let group = format!("{backup_type}/{backup_id}");
    let includes: Vec<&GroupFilter> = parsed.iter().filter(|f| !f.exclude).collect();
    if !includes.is_empty() && !includes.iter().any(|f| f.matches(backup_type, backup_id)) {
        let names: Vec<&str> = includes.iter().map(|f| f.text.as_str()).collect();
        return Take::No(format!(
            "group {group} matches none of the include filters {}",
            names.join(", ")
        ));
    }
    if let Some(ex) = parsed
        .iter()
        .find(|f| f.exclude && f.matches(backup_type, backup_id))
    {
        return Take::No(format!("group {group} is excluded by filter '{}'", ex.text));
    }
    Take::Yes
}

/// A namespace below a source anchor within `max-depth`: the path relative to the anchor
/// ("" = the anchor itself), or why not.
pub(crate) fn relative_ns(
    anchor: &str,
    max_depth: Option<u64>,
    ns: &str,
) -> Result<String, String> {
    let rel = if anchor.is_empty() {
        ns
    } else if ns == anchor {
        ""
    } else if let Some(rest) = ns.strip_prefix(anchor).and_then(|r| r.strip_prefix('/')) {
        rest
    } else {
        return Err(format!(
            "namespace '{}' is not below the job's source namespace '{}'",
            shown(ns),
            shown(anchor)
        ));
    };
    let depth = if rel.is_empty() {
        0
    } else {
        rel.split('/').count() as u64
    };
    match max_depth {
        Some(max) if depth > max => Err(format!(
            "namespace '{}' is {depth} level(s) below the job's source namespace '{}', beyond its max-depth {max}",
            shown(ns),
            shown(anchor)
        )),
        _ => Ok(rel.to_string()),
    }
}

/// The target namespace: the source path relative to its anchor, re-rooted at the target anchor.
pub(crate) fn map_ns(target_anchor: &str, relative: &str) -> String {
    match (target_anchor.is_empty(), relative.is_empty()) {
        (true, _) => relative.to_string(),
        (false, true) => target_anchor.to_string(),
        (false, false) => format!("{target_anchor}/{relative}"),
    }
}

fn shown(ns: &str) -> &str {
    if ns.is_empty() {
        "(root)"
    } else {
        ns
    }
}

/// The per-snapshot options of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SnapshotRules {
    /// Only snapshots verified ok on the source.
    pub verified_only: bool,
    /// Only snapshots whose archives are all encrypted.
    pub encrypted_only: bool,
    /// Only the newest N of what is left.
    pub transfer_last: Option<u64>,
}

/// The source snapshots a run would consider, oldest first: finished ones, then `verified-only`
/// and `encrypted-only`, then the newest `transfer-last` of those (pull_group/push_group order).
pub(crate) fn eligible<'a>(finished: &[&'a Snapshot], rules: SnapshotRules) -> Vec<&'a Snapshot> {
    let mut kept: Vec<&Snapshot> = finished
        .iter()
        .copied()
        .filter(|s| !s.in_progress())
        .filter(|s| !rules.verified_only || s.verification == Some(VerifyState::Ok))
        .filter(|s| !rules.encrypted_only || s.encrypted == Some(true))
        .collect();
    kept.sort_by_key(|s| s.time);
    if let Some(n) = rules.transfer_last {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let skip = kept.len().saturating_sub(n);
        kept.drain(..skip);
    }
    kept
}
