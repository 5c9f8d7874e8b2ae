//! The schedule arithmetic every guest of a job repeats, done once: the due run before the
//! report time, the slots of the history window and the slot after the last, per job schedule
//! and node time zone. A pure cache: each answer is exactly what [`CalendarEvent`] gives.
//!
//! A 5 000-guest cluster asks the same few questions 10 000 times over (every guest of a daily
//! job has the same slots); answered afresh, calendar search was a tenth of the run's CPU time
//! (docs/performance.md).

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::schedule::CalendarEvent;

/// The events of one schedule in `(from, to]`, as a chain of `next_after` calls from `from`.
#[derive(Debug)]
struct Chain {
    from: DateTime<Utc>,
    /// Every event in `(from, to]`, oldest first: the chain was not cut short by a cap.
    slots: Vec<DateTime<Utc>>,
}

/// Which neighbouring event of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Neighbour {
    /// [`CalendarEvent::previous_before`].
    Previous,
    /// [`CalendarEvent::next_after`].
    Next,
}

/// What is known of one schedule, per zone and bound.
#[derive(Debug, Default)]
struct EventMemo {
    neighbours: HashMap<(Neighbour, Tz, DateTime<Utc>), Option<DateTime<Utc>>>,
    /// Per zone and end: the widest complete chain computed so far.
    chains: HashMap<(Tz, DateTime<Utc>), Chain>,
}

/// Answers of [`CalendarEvent::previous_before`], [`CalendarEvent::next_after`] and
/// [`CalendarEvent::occurrences_between`], kept per schedule (by its text: the same text
/// parses to the same event), zone and bound.
#[derive(Debug, Default)]
pub(crate) struct ScheduleMemo {
    events: RefCell<HashMap<String, EventMemo>>,
}

impl ScheduleMemo {
    fn with<R>(&self, event: &CalendarEvent, answer: impl FnOnce(&mut EventMemo) -> R) -> R {
        let mut events = self.events.borrow_mut();
        if let Some(memo) = events.get_mut(event.raw()) {
            return answer(memo);
        }
        answer(events.entry(event.raw().to_string()).or_default())
    }

    fn neighbour(
        &self,
        event: &CalendarEvent,
        which: Neighbour,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        self.with(event, |memo| {
            *memo
                .neighbours
                .entry((which, tz, at))
                .or_insert_with(|| match which {
                    Neighbour::Previous => event.previous_before(at, tz),
                    Neighbour::Next => event.next_after(at, tz),
                })
        })
    }

    /// [`CalendarEvent::previous_before`].
    pub(crate) fn previous_before(
        &self,
        event: &CalendarEvent,
        before: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        self.neighbour(event, Neighbour::Previous, before, tz)
    }

    /// [`CalendarEvent::next_after`].
    pub(crate) fn next_after(
        &self,
        event: &CalendarEvent,
        after: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        self.neighbour(event, Neighbour::Next, after, tz)
    }

    /// [`CalendarEvent::occurrences_between`]: the events in `(from, to]`, at most `max`, oldest
    /// first. Served from a known chain that starts no later than `from` and was not capped (it
    /// holds every event up to `to`, so the ones after `from` are the answer); computed
    /// otherwise, and kept when complete.
    pub(crate) fn occurrences_between(
        &self,
        event: &CalendarEvent,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        max: usize,
    ) -> Vec<DateTime<Utc>> {
        self.with(event, |memo| {
            if let Some(chain) = memo.chains.get(&(tz, to)) {
                if chain.from <= from {
                    let after = chain.slots.partition_point(|slot| *slot <= from);
                    return chain.slots[after..].iter().take(max).copied().collect();
                }
            }
            let slots = event.occurrences_between(from, to, tz, max);
            if slots.len() < max {
                let chain = Chain {
                    from,
                    slots: slots.clone(),
                };
                memo.chains.insert((tz, to), chain);
            }
            slots
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    /// Every answer equals the event's own, whatever order the questions come in: narrower
    /// windows after wider ones, wider after narrower, a cap that cuts the chain, a DST change,
    /// several schedules through one memo.
    #[test]
    fn answers_are_the_events_own() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let events: Vec<CalendarEvent> = [
            "21:00",
            "mon..fri 02:30",
            "*:0/30",
            "sat 23:00",
            "2026-03-29 02:30",
        ]
        .into_iter()
        .map(|text| CalendarEvent::parse(text).unwrap())
        .collect();
        let memo = ScheduleMemo::default();
        let to = at(31, 12);
        for from in [at(20, 0), at(10, 0), at(25, 21), at(1, 0), at(29, 1), to] {
            for event in &events {
                for max in [500, 3, 1] {
                    assert_eq!(
                        memo.occurrences_between(event, from, to, zone, max),
                        event.occurrences_between(from, to, zone, max),
                        "{} from {from} max {max}",
                        event.raw()
                    );
                }
                assert_eq!(
                    memo.next_after(event, from, zone),
                    event.next_after(from, zone)
                );
                let before = from + Duration::seconds(1);
                assert_eq!(
                    memo.previous_before(event, before, zone),
                    event.previous_before(before, zone)
                );
            }
        }
    }
}
