//! Proxmox calendar events (the `schedule` of PVE backup jobs and of PBS GC/prune/verify/sync
//! jobs): parsing, next/previous occurrence, readable descriptions, and conversion of pre-7.1
//! `starttime`/`dow` backup jobs.
//!
//! Behaviour follows the Rust `proxmox-time` crate that both PVE (≥ libpve-common-perl 7.1-2)
//! and PBS use:
//!
//! * Grammar: keywords (`daily`, `weekly`, …), weekday lists and ranges with wrap-around
//!   (`fri..mon`), `[Y-]M-D` dates, `[H:]M[:S]` times where **a lone number is the minute**,
//!   `*`, `*/R`, `N/R`, `N..M`, `N..M/R`, mixed lists, a `UTC` suffix. All given constraints must
//!   hold together (weekday AND day of month). Like PVE's wrapper the text is trimmed first and an
//!   empty event is an error. The accepted language is proxmox-time's exactly, quirks included:
//!   `30:00` is minute 30 second 0 (30 is no valid hour, so the parser backtracks).
//! * [`CalendarEvent::next_after`] is a field-by-field port of `compute_next_event` (same jumps,
//!   same 1000-round give-up, so impossible dates like `02-30` give `None`). That includes one
//!   proxmox-time quirk: when a step does not divide its field (`*/7`, `*/45` minutes, `*/5`
//!   hours), the jump to the next step value can overflow into the next hour/day and skip the
//!   value at the wrap (`*/45` after 00:45 gives 01:45, not 01:00), exactly as PVE schedules it.
//! * [`CalendarEvent::previous_before`] is the exact latest instant before the given one whose
//!   local time matches every constraint (see [`CalendarEvent::matches`]); it is the mirror of
//!   `next_after` in the sense that `next_after(previous_before(t)) >= t` and no matching instant
//!   lies in between.
//!
//! Time zones: events are evaluated on wall-clock time in the given zone (or UTC with the `UTC`
//! suffix), like PVE on each node. Daylight-saving changes, as chosen here:
//! * Spring forward: wall times in the gap do not exist and never match. During the search an
//!   intermediate wall time that lands in the gap is normalized like glibc's `mktime` — read with
//!   the offset before the change, i.e. moved forward by the gap length (02:00 → 03:00, the first
//!   instant after the gap). So `daily 02:30` in Europe/Vienna has no run on the spring-forward
//!   day (next run is the following day at 02:30), and `*/30` continues at 03:00.
//! * Fall back: a repeated wall time stands for its earlier instant only; the second pass of the
//!   repeated hour produces no events (`02:30` runs once, `*/30` goes 02:00, 02:30 (first pass),
//!   then 03:00).

mod describe;
mod legacy;
mod parse;
mod search;
mod spec;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub(crate) use legacy::schedule_from_legacy;

/// Why a calendar event (or a legacy start time / day list) could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The event text is empty or only whitespace.
    #[error(
        "calendar event is empty — write e.g. `daily`, `mon..fri 21:00`, `sat 02:30` or `*:0/15`"
    )]
    Empty,
    /// The text does not follow the calendar-event grammar.
    #[error(
        "unable to parse calendar event '{event}' at {} (column {column}): {reason} — write e.g. \
         `mon..fri 21:00`, `sat 02:30`, `daily` or `*:0/15`",
        quote_position(.at)
    )]
    Parse {
        /// The (trimmed) event text.
        event: String,
        /// The part of the text from the offending position on.
        at: String,
        /// 1-based character column of the offending position in `event`.
        column: usize,
        /// What is wrong there.
        reason: String,
    },
    /// A legacy `starttime` that is not `H:M` / `HH:MM`.
    #[error("invalid legacy backup start time '{starttime}': expected HH:MM, e.g. `02:30`")]
    LegacyStartTime {
        /// The rejected start time.
        starttime: String,
    },
    /// A legacy `dow` list with an item that is not a lowercase three-letter weekday.
    #[error(
        "invalid legacy backup day of week '{item}' in '{dow}': expected a comma-separated list \
         of mon, tue, wed, thu, fri, sat, sun"
    )]
    LegacyDayOfWeek {
        /// The whole rejected list.
        dow: String,
        /// The first invalid item.
        item: String,
    },
}

fn quote_position(at: &str) -> String {
    if at.is_empty() {
        "the end".to_string()
    } else {
        format!("'{at}'")
    }
}

/// A parsed Proxmox calendar event (proxmox-time grammar), keeping the raw text.
///
/// There is no canonical text form (PVE and PBS store the schedule as entered), so compare
/// events by behaviour, not by [`CalendarEvent::raw`].
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarEvent {
    raw: String,
    spec: spec::Spec,
}

impl CalendarEvent {
    /// Parse `text` like PVE: surrounding whitespace is trimmed, an empty event is an error, and
    /// the rest must follow the proxmox-time grammar completely.
    pub fn parse(text: &str) -> Result<CalendarEvent, ScheduleError> {
        Ok(CalendarEvent {
            raw: text.to_string(),
            spec: parse::parse_event(text)?,
        })
    }

    /// The text exactly as given to [`CalendarEvent::parse`] (before trimming): the same text
    /// is the same event (reports read schedules through `describe`).
    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether the event carries the `UTC` suffix (evaluated in UTC whatever zone is passed).
    #[cfg(test)] // a test oracle: reports read schedules through `describe`
    pub(crate) fn is_utc(&self) -> bool {
        self.spec.utc
    }

    fn zone(&self, tz: Tz) -> Tz {
        if self.spec.utc {
            Tz::UTC
        } else {
            tz
        }
    }

    /// First event strictly after `after`, evaluated in `tz` (ignored when the event has the UTC
    /// suffix). `None` when there is none: a date that never exists (`02-30`), only past years,
    /// or nothing found within proxmox-time's 1000 search rounds.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Whole seconds: an event at the current second is not "after" a sub-second instant.
        let next = search::next_event(&self.spec, after.timestamp(), self.zone(tz))?;
        DateTime::from_timestamp(next, 0)
    }

    /// Latest event strictly before `before` (the mirror of [`CalendarEvent::next_after`]).
    /// Exact and cheap: it jumps field by field backwards (a yearly event or `2020-07-31` takes a
    /// handful of steps), giving up after 1000 rounds like the forward search.
    pub(crate) fn previous_before(&self, before: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let mut bound = before.timestamp();
        if before.timestamp_subsec_nanos() > 0 {
            // An event at the current whole second lies before a sub-second instant.
            bound = bound.checked_add(1)?;
        }
        let previous = search::previous_event(&self.spec, bound, self.zone(tz))?;
        DateTime::from_timestamp(previous, 0)
    }

    /// All events in `(from, to]`, at most `max` of them, oldest first — the chain of
    /// [`CalendarEvent::next_after`] calls a PVE/PBS scheduler would follow from `from`.
    pub(crate) fn occurrences_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        max: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut found = Vec::new();
        let mut cursor = from;
        while found.len() < max {
            match self.next_after(cursor, tz) {
                Some(next) if next <= to => {
                    found.push(next);
                    cursor = next;
                }
                _ => break,
            }
        }
        found
    }

    /// Whether `instant` (whole seconds) is an event: its wall-clock time in `tz` (or UTC) matches
    /// every constraint and, for a wall time that occurs twice at a fall-back change, it is the
    /// earlier of the two instants.
    #[cfg(test)]
    pub(crate) fn matches(&self, instant: DateTime<Utc>, tz: Tz) -> bool {
        instant.timestamp_subsec_nanos() == 0
            && search::matches(&self.spec, instant.timestamp(), self.zone(tz))
    }

    /// A short readable English form, e.g. "daily at 02:00", "Mon–Fri at 21:30",
    /// "every 15 minutes", "Sat, Sun at 21:00", "1st of each month at 00:00 (UTC)"; shapes
    /// without a natural phrase fall back to a field-by-field wording.
    pub(crate) fn describe(&self) -> String {
        describe::describe(&self.spec)
    }
}

impl std::str::FromStr for CalendarEvent {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CalendarEvent::parse(text)
    }
}

impl std::fmt::Display for CalendarEvent {
    /// Shows the raw text (there is no canonical form).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}
