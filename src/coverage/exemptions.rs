//! Exemptions: guests that need no backup, declared by a tag, a line in the notes, or the policy
//! file, with a reason and an optional last day. An expired exemption no longer counts.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::model::{Anomaly, Guest, GuestConfigFacts, Severity};

use super::policy::Policy;
use super::report::{DeclaredIn, Exemption, ExemptionKind};

/// The exemptions found for one guest.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExemptionState {
    /// The one that holds (policy file first, then notes, then tag).
    pub active: Option<Exemption>,
    /// Declared but expired.
    pub expired: Vec<Exemption>,
    /// Notes markers that could not be read.
    pub anomalies: Vec<Anomaly>,
}

/// The last instant of day `date` (UTC): an exemption "until 2026-12-31" holds through that day.
pub(crate) fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    date.and_time(time).and_utc()
}

/// Parse a notes line `<marker> <reason> [until YYYY-MM-DD]`. Returns None when the line does
/// not carry the marker, `Some(Err(text))` when the date is not valid.
pub(crate) fn parse_notes_line(
    line: &str,
    marker: &str,
) -> Option<Result<(String, Option<NaiveDate>), String>> {
    let trimmed =
        line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '#' | '-' | '*' | '>'));
    let lower = trimmed.to_lowercase();
    let marker = marker.trim().to_lowercase();
    if !lower.starts_with(&marker) {
        return None;
    }
    let rest = trimmed.get(marker.len()..).unwrap_or_default().trim();
    let lower_rest = rest.to_lowercase();
    let (reason, until) = match lower_rest.rfind("until") {
        Some(at) => {
            let date_text = rest[at + "until".len()..]
                .trim()
                .trim_matches(|c| matches!(c, ')' | ']' | '(' | '['))
                .trim();
            match NaiveDate::parse_from_str(date_text, "%Y-%m-%d") {
                Ok(date) => (
                    rest[..at].trim().trim_end_matches(['(', '[', ',']).trim(),
                    Some(date),
                ),
                Err(_) => return Some(Err(date_text.to_string())),
            }
        }
        None => (rest, None),
    };
    let reason = if reason.is_empty() {
        "declared in the guest notes".to_string()
    } else {
        reason.to_string()
    };
    Some(Ok((reason, until)))
}

/// Find a guest's exemptions and decide which one holds at `now`.
/// A policy entry naming a cluster holds only for that cluster's guest.
pub(crate) fn exemption_for(
    guest: &Guest,
    cluster: Option<&str>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> ExemptionState {
    let mut declared: Vec<Exemption> = Vec::new();
    let mut state = ExemptionState::default();
    let entries = policy.exemptions.iter().filter(|e| {
        e.vmid == guest.vmid && e.cluster.as_deref().is_none_or(|c| Some(c) == cluster)
    });
    for entry in entries {
        let reason = match (entry.kind, entry.system.as_deref()) {
            (ExemptionKind::External, Some(system)) => {
                format!("backed up by {}: {}", system.trim(), entry.reason)
            }
            _ => entry.reason.clone(),
        };
        declared.push(Exemption {
            reason,
            until: entry.until.map(end_of_day),
            declared_in: DeclaredIn::Config,
            kind: entry.kind,
        });
    }
    if let GuestConfigFacts::Read {
        notes: Some(notes), ..
    } = &guest.config
    {
        for line in notes.lines() {
            match parse_notes_line(line, &policy.notes_marker) {
                None => {}
                Some(Ok((reason, until))) => declared.push(Exemption {
                    reason,
                    until: until.map(end_of_day),
                    declared_in: DeclaredIn::Notes,
                    kind: ExemptionKind::NotNeeded,
                }),
                Some(Err(bad)) => state.anomalies.push(Anomaly::new(
                    Severity::Warning,
                    format!("guest/{}", guest.vmid),
                    format!(
                        "guest {} has an exemption line in its notes with an unreadable date '{bad}'",
                        guest.vmid
                    ),
                    format!(
                        "the exemption is ignored; write it as `{} <reason> until YYYY-MM-DD`",
                        policy.notes_marker.trim()
                    ),
                )),
            }
        }
    }
    for tag in &guest.tags {
        if policy
            .exempt_tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(tag))
        {
            declared.push(Exemption {
                reason: format!("tagged '{tag}'"),
                until: None,
                declared_in: DeclaredIn::Tag,
                kind: ExemptionKind::NotNeeded,
            });
        }
    }
    for exemption in declared {
        let holds = exemption.until.is_none_or(|until| now <= until);
        if holds {
            if state.active.is_none() {
                state.active = Some(exemption);
            }
        } else {
            state.expired.push(exemption);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    type Expected = Option<Result<(&'static str, Option<NaiveDate>), &'static str>>;

    #[test]
    fn notes_lines() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let cases: &[(&str, Expected)] = &[
            ("backup-exempt: scratch VM", Some(Ok(("scratch VM", None)))),
            (
                "  # Backup-Exempt: test box until 2026-12-31",
                Some(Ok(("test box", Some(d("2026-12-31"))))),
            ),
            (
                "- backup-exempt: rebuilt from ansible [until 2027-01-15]",
                Some(Ok(("rebuilt from ansible", Some(d("2027-01-15"))))),
            ),
            (
                "backup-exempt:",
                Some(Ok(("declared in the guest notes", None))),
            ),
            ("backup-exempt: x until tomorrow", Some(Err("tomorrow"))),
            ("no marker here", None),
            ("this is not backup-exempt: x", None),
        ];
        for (line, expected) in cases {
            let got = parse_notes_line(line, "backup-exempt:");
            let expected =
                (*expected).map(|r| r.map(|(s, d)| (s.to_string(), d)).map_err(str::to_string));
            assert_eq!(got, expected, "{line}");
        }
    }
}
