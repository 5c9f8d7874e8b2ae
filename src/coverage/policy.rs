//! The assessment policy: grace after a scheduled run, fixed age thresholds, exemptions, and the
//! history window the collector used. Read from JSON (every field optional); the defaults are
//! what an unconfigured run uses.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::model::Vmid;

use super::report::ExemptionKind;

/// The notes marker that declares an exemption in a guest's notes (see [`Policy::notes_marker`]).
pub const DEFAULT_NOTES_MARKER: &str = "backup-exempt:";

/// How verdicts are judged. Every field has a default; a JSON file may set any subset.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Hours after a scheduled run before that run counts as due (it should have finished by
    /// then). Default 6: long enough for a nightly job over many guests to finish.
    pub grace_hours: u32,
    /// Fixed maximum age (hours) of the last successful backup, for every guest. When set (here,
    /// by tag or by pool) it replaces the schedule-based freshness rule for that guest.
    pub max_age_hours: Option<u32>,
    /// Maximum age per guest tag; the smallest matching value wins. Beats pool and global.
    pub max_age_hours_by_tag: BTreeMap<String, u32>,
    /// Maximum age per pool id. Beats the global value.
    pub max_age_hours_by_pool: BTreeMap<String, u32>,
    /// Guest tags that declare an exemption (no expiry). Default `["nobackup"]`.
    pub exempt_tags: Vec<String>,
    /// A notes line starting with this text (case-insensitive, after optional whitespace, `#`,
    /// `-` or `*`) declares an exemption: `backup-exempt: <reason> [until YYYY-MM-DD]`.
    pub notes_marker: String,
    /// Exemptions declared in the policy file.
    pub exemptions: Vec<ConfigExemption>,
    /// How many days of task history the collector asked for (used to tell whether the window is
    /// shorter than a schedule's period). None: taken from the node histories' `requested_since`.
    pub history_days: Option<u32>,
    /// Read every guest's config for its notes, as `--notes all` does (default false: only the
    /// guests whose verdict is not healthy, docs/collection.md).
    pub read_all_notes: bool,
    /// Minutes after a scheduled occurrence within which a vzdump task is attributed to the job.
    /// Default 30 (the scheduler starts a due job within about a minute).
    pub attribution_tolerance_minutes: u32,
    /// Every guest needs an off-site copy (a sync job to another datastore/PBS, or tape): a guest
    /// no copy job reads becomes `missing` instead of `null`, and off-site problems of such a
    /// guest are critical instead of warnings. Default false.
    pub require_offsite: bool,
    /// Guests with one of these tags need an off-site copy (as `require_offsite`).
    pub require_offsite_tags: Vec<String>,
    /// Guests in one of these pools need an off-site copy (as `require_offsite`).
    pub require_offsite_pools: Vec<String>,
    /// Flag `verify_outdated` when the latest archive's verification (the start of the task its
    /// verification UPID names) is older than this many days. None: no limit.
    pub max_verify_age_days: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            grace_hours: 6,
            max_age_hours: None,
            max_age_hours_by_tag: BTreeMap::new(),
            max_age_hours_by_pool: BTreeMap::new(),
            exempt_tags: vec!["nobackup".to_string()],
            notes_marker: DEFAULT_NOTES_MARKER.to_string(),
            exemptions: Vec::new(),
            history_days: None,
            read_all_notes: false,
            attribution_tolerance_minutes: 30,
            require_offsite: false,
            require_offsite_tags: Vec::new(),
            require_offsite_pools: Vec::new(),
            max_verify_age_days: None,
        }
    }
}

/// One exemption from the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigExemption {
    /// The guest.
    pub vmid: Vmid,
    /// The guest's cluster (`PVE_NAME` / `PVEnn_NAME`, else its host); None: that VMID in every
    /// cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Why it needs no backup.
    pub reason: String,
    /// Last day (UTC) the exemption holds; None: no expiry.
    #[serde(default)]
    pub until: Option<NaiveDate>,
    /// `not_needed` (the default) or `external`: backed up by other software, named in `system`.
    #[serde(default)]
    pub kind: ExemptionKind,
    /// The software that backs the guest up (`external` only), e.g. `Veeam`.
    #[serde(default)]
    pub system: Option<String>,
}

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid JSON or not the policy shape.
    #[error(
        "invalid policy: {0} — expected a JSON object with optional fields grace_hours, \
         max_age_hours, max_age_hours_by_tag, max_age_hours_by_pool, exempt_tags, notes_marker, \
         exemptions [{{vmid, cluster, reason, until, kind, system}}], history_days, read_all_notes, \
         attribution_tolerance_minutes, require_offsite, require_offsite_tags, \
         require_offsite_pools, max_verify_age_days"
    )]
    Json(#[from] serde_json::Error),
    /// A field has a value that makes no sense.
    #[error("invalid policy: {0}")]
    Invalid(String),
}

impl Policy {
    /// Parse and validate a policy from JSON text.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = serde_json::from_str(text)?;
        policy.validate()?;
        Ok(policy)
    }

    /// Reject values that would make every verdict meaningless.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let zero_age = self.max_age_hours == Some(0)
            || self.max_age_hours_by_tag.values().any(|h| *h == 0)
            || self.max_age_hours_by_pool.values().any(|h| *h == 0);
        if zero_age {
            return Err(PolicyError::Invalid(
                "a maximum age of 0 hours can never be met — use at least 1".to_string(),
            ));
        }
        if let Some(bad) = self.exemptions.iter().find(|e| {
            (e.kind == ExemptionKind::External)
                != e.system.as_deref().is_some_and(|s| !s.trim().is_empty())
        }) {
            return Err(PolicyError::Invalid(format!(
                "the exemption of guest {} needs \"kind\": \"external\" together with the \
                 \"system\" that backs it up (e.g. \"system\": \"Veeam\"), or neither",
                bad.vmid
            )));
        }
        if self.notes_marker.trim().is_empty() {
            return Err(PolicyError::Invalid(
                "notes_marker is empty — use e.g. \"backup-exempt:\"".to_string(),
            ));
        }
        Ok(())
    }

    /// Whether the policy asks for an off-site copy of a guest with these tags in this pool.
    pub fn require_offsite_for(&self, tags: &[String], pool: Option<&str>) -> bool {
        self.require_offsite
            || tags.iter().any(|t| self.require_offsite_tags.contains(t))
            || pool.is_some_and(|p| self.require_offsite_pools.iter().any(|q| q == p))
    }

    /// The fixed maximum age (hours) that applies to a guest, and where it comes from
    /// (`tag 'x'`, `pool 'y'`, `global`). Tag beats pool beats global; among tags the smallest.
    pub fn max_age_for(&self, tags: &[String], pool: Option<&str>) -> Option<(u32, String)> {
        let by_tag = tags
            .iter()
            .filter_map(|tag| {
                self.max_age_hours_by_tag
                    .get(tag)
                    .map(|hours| (*hours, format!("tag '{tag}'")))
            })
            .min();
        if by_tag.is_some() {
            return by_tag;
        }
        if let Some(hours) = pool.and_then(|p| self.max_age_hours_by_pool.get(p)) {
            return Some((*hours, format!("pool '{}'", pool.unwrap_or_default())));
        }
        self.max_age_hours
            .map(|hours| (hours, "global policy".to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_json_gives_defaults() {
        let policy = Policy::from_json("{}").unwrap();
        assert_eq!(policy, Policy::default());
        assert_eq!(policy.grace_hours, 6);
        assert_eq!(policy.exempt_tags, vec!["nobackup"]);
        assert_eq!(policy.notes_marker, "backup-exempt:");
    }

    #[test]
    fn full_policy_parses() {
        let policy = Policy::from_json(
            r#"{"grace_hours": 2, "max_age_hours": 48, "max_age_hours_by_tag": {"db": 12},
                "max_age_hours_by_pool": {"prod": 24}, "exempt_tags": ["scratch"],
                "notes_marker": "no-backup:", "history_days": 14,
                "exemptions": [{"vmid": 105, "reason": "test box", "until": "2026-12-31"},
                               {"vmid": 106, "reason": "forever"}]}"#,
        )
        .unwrap();
        assert_eq!(policy.grace_hours, 2);
        assert_eq!(policy.exemptions.len(), 2);
        assert_eq!(
            policy.exemptions[0].until,
            NaiveDate::from_ymd_opt(2026, 12, 31)
        );
        assert_eq!(policy.exemptions[1].until, None);
        assert_eq!(policy.history_days, Some(14));
    }

    #[test]
    fn bad_policies_are_rejected_with_a_hint() {
        for (text, needle) in [
            (r#"{"grace": 2}"#, "unknown field"),
            (r#"{"max_age_hours": 0}"#, "at least 1"),
            (r#"{"max_age_hours_by_tag": {"db": 0}}"#, "at least 1"),
            (r#"{"notes_marker": "  "}"#, "notes_marker"),
            (
                r#"{"exemptions": [{"vmid": 1, "reason": "x", "until": "31.12.2026"}]}"#,
                "input",
            ),
        ] {
            let err = Policy::from_json(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    type Case = (
        &'static [&'static str],
        Option<&'static str>,
        Option<(u32, &'static str)>,
    );

    #[test]
    fn max_age_precedence_tag_pool_global() {
        let policy = Policy {
            max_age_hours: Some(72),
            max_age_hours_by_tag: [("db".to_string(), 12), ("web".to_string(), 24)].into(),
            max_age_hours_by_pool: [("prod".to_string(), 36)].into(),
            ..Policy::default()
        };
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: &[Case] = &[
            (&["web", "db"], Some("prod"), Some((12, "tag 'db'"))),
            (&["web"], Some("prod"), Some((24, "tag 'web'"))),
            (&["other"], Some("prod"), Some((36, "pool 'prod'"))),
            (&[], Some("dev"), Some((72, "global policy"))),
            (&[], None, Some((72, "global policy"))),
        ];
        for (t, pool, expected) in cases {
            let got = policy.max_age_for(&tags(t), *pool);
            assert_eq!(
                got,
                expected.map(|(h, s)| (h, s.to_string())),
                "{t:?} {pool:?}"
            );
        }
        assert_eq!(Policy::default().max_age_for(&tags(&["db"]), None), None);
    }
}
