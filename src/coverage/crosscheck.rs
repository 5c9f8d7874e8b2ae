//! Cross-check with PVE's own `not-backed-up` list. PVE counts disabled jobs as coverage and
//! ignores disk exclusions; every disagreement becomes an info anomaly that explains itself.

use std::collections::BTreeSet;

use crate::model::{Anomaly, Completeness, Severity, Vmid};

use super::report::{Coverage, GuestReport};

/// Compare our coverage verdicts with PVE's list.
pub(crate) fn cross_check(
    guests: &[GuestReport],
    pve_list: &[Vmid],
    completeness: &Completeness,
    guests_complete: bool,
) -> Vec<Anomaly> {
    if matches!(completeness, Completeness::Unavailable { .. }) {
        return Vec::new();
    }
    let listed: BTreeSet<Vmid> = pve_list.iter().copied().collect();
    let complete = completeness.is_complete();
    let mut out = Vec::new();
    let info = |vmid: Vmid, message: String, details: &str| {
        Anomaly::new(
            Severity::Info,
            format!("guest/{vmid}"),
            message,
            details.to_string(),
        )
    };
    for guest in guests {
        let in_list = listed.contains(&guest.vmid);
        let vmid = guest.vmid;
        match (guest.coverage, in_list) {
            (Coverage::Covered | Coverage::Partial, true) => out.push(info(
                vmid,
                format!(
                    "PVE lists guest {vmid} as not backed up, but {}",
                    guest.coverage_reason
                ),
                "the guest may have moved nodes or joined a pool after PVE built its list; \
                 reload the report",
            )),
            (Coverage::DisabledOnly, false) if complete => out.push(info(
                vmid,
                format!(
                    "PVE counts guest {vmid} as backed up, but it is covered only by a disabled \
                     job ({})",
                    guest.jobs.join(", ")
                ),
                "PVE's not-backed-up list counts disabled jobs as coverage; enable the job or \
                 add the guest to an enabled one",
            )),
            (Coverage::NotCovered, false) if complete => out.push(info(
                vmid,
                format!(
                    "PVE counts guest {vmid} as backed up, but no job selects it here: {}",
                    guest.coverage_reason
                ),
                "a job may be hidden from the report's token, or PVE resolved a selection \
                 differently; compare Datacenter → Backup → Guests without backup job",
            )),
            (Coverage::Indeterminate, false) if complete => out.push(info(
                vmid,
                format!(
                    "PVE counts guest {vmid} as selected by some backup job, which the report \
                     could not confirm: {}",
                    guest.coverage_reason
                ),
                "PVE's list suggests a job selects it (possibly a disabled one)",
            )),
            _ => {}
        }
    }
    if guests_complete {
        let known: BTreeSet<Vmid> = guests.iter().map(|g| g.vmid).collect();
        for vmid in listed.difference(&known) {
            out.push(info(
                *vmid,
                format!(
                    "PVE lists guest {vmid} as not backed up, but the guest list does not have it"
                ),
                "it was probably created or deleted between the two requests",
            ));
        }
    }
    out
}
