//! Finding event instants: the forward search (a field-by-field port of proxmox-time's
//! `compute_next_event`), its exact mirror for the latest event before an instant, the plain
//! "does this instant match" predicate, and the time-zone helpers they share (wall-clock
//! conversion, spring-forward gaps, fall-back folds).
//!
//! Both searches work on local wall-clock time and only turn a matching wall time into an instant
//! at the end. The instant of a wall time is its unique instant, or the earlier one when the wall
//! time occurs twice (fall-back). Wall times inside a spring-forward gap never match.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta};
use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;

use crate::schedule::spec::{list_last_at_or_before, list_matches, list_next_after, Spec};

/// proxmox-time gives up after this many loop rounds (`count > 1000` → no event).
const MAX_ROUNDS: u32 = 1000;

/// Half-width of the window searched for the offset change around a gap or fold. Offsets lie in
/// -12h..+14h and a gap can be a whole day (Pacific/Apia 2011), so 48h covers every case.
const TRANSITION_WINDOW_SECS: i64 = 48 * 3600;

/// How a local wall-clock time maps to instants.
enum Local {
    Unique(i64),
    /// Occurs twice (fall-back); the earlier of the two instants.
    Twice(i64),
    /// Skipped by a spring-forward change.
    Gap,
}

fn resolve(zone: Tz, wall: NaiveDateTime) -> Local {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(dt) => Local::Unique(dt.timestamp()),
        LocalResult::Ambiguous(a, b) => Local::Twice(a.timestamp().min(b.timestamp())),
        LocalResult::None => Local::Gap,
    }
}

/// Local wall-clock time of `instant` (epoch seconds) in `zone`.
fn wall_of(zone: Tz, instant: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp(instant, 0)?;
    Some(utc.with_timezone(&zone).naive_local())
}

fn offset_at(zone: Tz, instant: i64) -> Option<i64> {
    let utc = DateTime::from_timestamp(instant, 0)?;
    let offset = zone.offset_from_utc_datetime(&utc.naive_utc()).fix();
    Some(i64::from(offset.local_minus_utc()))
}

/// First instant in `(lo, hi]` whose UTC offset differs from the one at `lo` (binary search;
/// assumes a single change inside the window, which holds for all real zones).
fn first_offset_change(zone: Tz, lo: i64, hi: i64) -> Option<i64> {
    let before = offset_at(zone, lo)?;
    if offset_at(zone, hi)? == before {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(zone, mid)? == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// The instant at which the gap containing the (non-existent) `wall` time begins.
fn gap_transition(zone: Tz, wall: NaiveDateTime) -> Option<i64> {
    let base = wall.and_utc().timestamp();
    first_offset_change(
        zone,
        base - TRANSITION_WINDOW_SECS,
        base + TRANSITION_WINDOW_SECS,
    )
}

/// mktime-like normalization of a wall time inside a spring-forward gap: read it with the offset
/// in force before the gap, which lands after the gap shifted by the gap length (02:30 in a
/// 02:00→03:00 gap becomes 03:30; 02:00 becomes 03:00, the first instant after the gap).
fn after_gap(zone: Tz, wall: NaiveDateTime) -> Option<NaiveDateTime> {
    let transition = gap_transition(zone, wall)?;
    let offset_before = offset_at(zone, transition - 1)?;
    let instant = (wall.and_utc().timestamp() - offset_before).max(transition);
    let shifted = wall_of(zone, instant)?;
    (shifted > wall).then_some(shifted)
}

/// The last existing wall time before the gap containing `wall`.
fn before_gap(zone: Tz, wall: NaiveDateTime) -> Option<NaiveDateTime> {
    let transition = gap_transition(zone, wall)?;
    let previous = wall_of(zone, transition - 1)?;
    (previous < wall).then_some(previous)
}

/// For a fold whose first and second pass contain `first_pass` and `second_pass` (same wall time):
/// the first wall time after the repeated stretch (e.g. 03:00 for a 03:00→02:00 change).
fn fold_end(zone: Tz, first_pass: i64, second_pass: i64) -> Option<NaiveDateTime> {
    let transition = first_offset_change(zone, first_pass, second_pass)?;
    let offset_before = offset_at(zone, transition - 1)?;
    Some(DateTime::from_timestamp(transition + offset_before, 0)?.naive_utc())
}

/// The instant an (existing) wall time stands for: its only instant, or the earlier of two.
fn instant_of(zone: Tz, wall: NaiveDateTime) -> Option<i64> {
    match resolve(zone, wall) {
        Local::Unique(instant) | Local::Twice(instant) => Some(instant),
        Local::Gap => None,
    }
}

/// Whether `instant` is an event of `spec` in `zone`: its wall time matches every field and it is
/// the instant that wall time stands for (the second pass of a fall-back hour never matches).
#[cfg(test)] // the tests check every next/previous result against it
pub(crate) fn matches(spec: &Spec, instant: i64, zone: Tz) -> bool {
    let Some(wall) = wall_of(zone, instant) else {
        return false;
    };
    if instant_of(zone, wall) != Some(instant) {
        return false;
    }
    wall_matches(spec, wall)
}

#[cfg(test)]
fn wall_matches(spec: &Spec, wall: NaiveDateTime) -> bool {
    let year_ok = spec.year.is_empty()
        || u32::try_from(wall.year()).is_ok_and(|year| list_matches(&spec.year, year));
    year_ok
        && list_matches(&spec.month, wall.month())
        && list_matches(&spec.day, wall.day())
        && spec.weekday_allowed(wall.weekday().num_days_from_monday())
        && list_matches(&spec.hour, wall.hour())
        && list_matches(&spec.minute, wall.minute())
        && list_matches(&spec.second, wall.second())
}

/// Broken-down local time that may be pushed out of range and is then normalized, like the
/// `struct tm` behind proxmox-time's `TmEditor` (fields carry over: minute 63 → next hour :03).
struct Cursor {
    zone: Tz,
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Monday = 0 … Sunday = 6, valid after normalization.
    day_num: u32,
}

impl Cursor {
    fn new(zone: Tz, wall: NaiveDateTime) -> Self {
        Cursor {
            zone,
            year: i64::from(wall.year()),
            month: i64::from(wall.month()),
            day: i64::from(wall.day()),
            hour: i64::from(wall.hour()),
            minute: i64::from(wall.minute()),
            second: i64::from(wall.second()),
            day_num: wall.weekday().num_days_from_monday(),
        }
    }

    fn wall(&self) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(
            i32::try_from(self.year).ok()?,
            u32::try_from(self.month).ok()?,
            u32::try_from(self.day).ok()?,
        )?
        .and_hms_opt(
            u32::try_from(self.hour).ok()?,
            u32::try_from(self.minute).ok()?,
            u32::try_from(self.second).ok()?,
        )
    }

    /// Carry overflowing fields (like `timegm`), then move a wall time that falls into a
    /// spring-forward gap past it (like `mktime`).
    fn normalize(&mut self) -> Option<()> {
        let months = self.year.checked_mul(12)?.checked_add(self.month - 1)?;
        let first_of_month = NaiveDate::from_ymd_opt(
            i32::try_from(months.div_euclid(12)).ok()?,
            u32::try_from(months.rem_euclid(12) + 1).ok()?,
            1,
        )?;
        let offset_secs = (self.day - 1)
            .checked_mul(86_400)?
            .checked_add(self.hour.checked_mul(3600)?)?
            .checked_add(self.minute.checked_mul(60)?)?
            .checked_add(self.second)?;
        let mut wall = first_of_month
            .and_hms_opt(0, 0, 0)?
            .checked_add_signed(TimeDelta::try_seconds(offset_secs)?)?;
        if let Local::Gap = resolve(self.zone, wall) {
            wall = after_gap(self.zone, wall)?;
        }
        *self = Cursor::new(self.zone, wall);
        Some(())
    }

    fn add_years(&mut self, years: i64) -> Option<()> {
        if years == 0 {
            return Some(());
        }
        (self.month, self.day, self.hour, self.minute, self.second) = (1, 1, 0, 0, 0);
        self.year = self.year.checked_add(years)?;
        self.normalize()
    }

    fn add_months(&mut self, months: i64) -> Option<()> {
        if months == 0 {
            return Some(());
        }
        (self.day, self.hour, self.minute, self.second) = (1, 0, 0, 0);
        self.month = self.month.checked_add(months)?;
        self.normalize()
    }

    fn add_days(&mut self, days: i64) -> Option<()> {
        if days == 0 {
            return Some(());
        }
        (self.hour, self.minute, self.second) = (0, 0, 0);
        self.day = self.day.checked_add(days)?;
        self.normalize()
    }

    fn set_time(&mut self, hour: i64, minute: i64, second: i64) -> Option<()> {
        (self.hour, self.minute, self.second) = (hour, minute, second);
        self.normalize()
    }

    fn set_min_sec(&mut self, minute: i64, second: i64) -> Option<()> {
        (self.minute, self.second) = (minute, second);
        self.normalize()
    }

    fn set_sec(&mut self, second: i64) -> Option<()> {
        self.second = second;
        self.normalize()
    }
}

/// Field value as proxmox-time reads it from `struct tm` (negative years are an error there).
fn field(value: i64) -> Option<u32> {
    u32::try_from(value).ok()
}

/// Where the forward search starts for the first candidate instant `start`: its wall time, or, when
/// `start` lies in the second pass of a fall-back hour (whose wall times stand for the earlier
/// pass), the first wall time after the repeated stretch.
fn forward_start(zone: Tz, start: i64) -> Option<NaiveDateTime> {
    let wall = wall_of(zone, start)?;
    match resolve(zone, wall) {
        Local::Twice(first) if start > first => fold_end(zone, first, start),
        _ => Some(wall),
    }
}

/// Where the backward search starts for the last candidate instant `end` (mirror of
/// [`forward_start`]): inside a second pass, every wall time of the fold is already behind us.
fn backward_start(zone: Tz, end: i64) -> Option<NaiveDateTime> {
    let wall = wall_of(zone, end)?;
    match resolve(zone, wall) {
        Local::Twice(first) if end > first => {
            fold_end(zone, first, end)?.checked_sub_signed(TimeDelta::seconds(1))
        }
        _ => Some(wall),
    }
}

/// First event strictly after `after` (epoch seconds): proxmox-time's `compute_next_event`, field
/// by field on wall-clock time, giving up after the same number of rounds.
pub(crate) fn next_event(spec: &Spec, after: i64, zone: Tz) -> Option<i64> {
    let mut t = Cursor::new(zone, forward_start(zone, after.checked_add(1)?)?);
    let mut rounds = 0;
    loop {
        if rounds > MAX_ROUNDS {
            return None;
        }
        rounds += 1;

        if !spec.year.is_empty() {
            let year = field(t.year)?;
            if !list_matches(&spec.year, year) {
                // No later year in the list: the event lies in the past only.
                let next = list_next_after(&spec.year, year)?;
                t.add_years(i64::from(next - year))?;
                continue;
            }
        }

        if !spec.month.is_empty() {
            let month = field(t.month)?;
            if !list_matches(&spec.month, month) {
                match list_next_after(&spec.month, month) {
                    Some(next) => t.add_months(i64::from(next - month))?,
                    None => t.add_years(1)?,
                }
                continue;
            }
        }

        if !spec.day.is_empty() {
            let day = field(t.day)?;
            if !list_matches(&spec.day, day) {
                match list_next_after(&spec.day, day) {
                    Some(next) => t.add_days(i64::from(next - day))?,
                    None => t.add_months(1)?,
                }
                continue;
            }
        }

        if !spec.weekday_allowed(t.day_num) {
            let today = t.day_num;
            match ((today + 1)..7).find(|&d| spec.weekday_allowed(d)) {
                Some(next) => t.add_days(i64::from(next - today))?,
                None => t.add_days(i64::from(7 - today))?,
            }
            continue;
        }

        if !spec.hour.is_empty() {
            let hour = field(t.hour)?;
            if !list_matches(&spec.hour, hour) {
                match list_next_after(&spec.hour, hour) {
                    Some(next) => t.set_time(i64::from(next), 0, 0)?,
                    None => t.add_days(1)?,
                }
                continue;
            }
        }

        if !spec.minute.is_empty() {
            let minute = field(t.minute)?;
            if !list_matches(&spec.minute, minute) {
                match list_next_after(&spec.minute, minute) {
                    Some(next) => t.set_min_sec(i64::from(next), 0)?,
                    None => t.set_time(t.hour + 1, 0, 0)?,
                }
                continue;
            }
        }

        if !spec.second.is_empty() {
            let second = field(t.second)?;
            if !list_matches(&spec.second, second) {
                match list_next_after(&spec.second, second) {
                    Some(next) => t.set_sec(i64::from(next))?,
                    None => t.set_min_sec(t.minute + 1, 0)?,
                }
                continue;
            }
        }

        return instant_of(zone, t.wall()?).filter(|&instant| instant > after);
    }
}

fn end_of_day(date: NaiveDate) -> Option<NaiveDateTime> {
    date.and_hms_opt(23, 59, 59)
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    first_of_next.pred_opt()
}

/// Latest event strictly before `before` (epoch seconds). The exact mirror of the matching rule:
/// every step moves to the latest wall time that can still match, so nothing is skipped, and the
/// cost is a few rounds per field (a yearly event needs a handful, not one per minute).
pub(crate) fn previous_event(spec: &Spec, before: i64, zone: Tz) -> Option<i64> {
    let mut cur = backward_start(zone, before.checked_sub(1)?)?;
    for _ in 0..=MAX_ROUNDS {
        if let Local::Gap = resolve(zone, cur) {
            cur = before_gap(zone, cur)?;
            continue;
        }
        let date = cur.date();
        let (year, month, day) = (date.year(), date.month(), date.day());
        let (hour, minute, second) = (cur.hour(), cur.minute(), cur.second());

        if !spec.year.is_empty() {
            let year = u32::try_from(year).ok()?;
            if !list_matches(&spec.year, year) {
                // No earlier year in the list: the event lies in the future only.
                let previous = list_last_at_or_before(&spec.year, year.checked_sub(1)?, 0)?;
                cur = end_of_day(NaiveDate::from_ymd_opt(
                    i32::try_from(previous).ok()?,
                    12,
                    31,
                )?)?;
                continue;
            }
        }

        if !list_matches(&spec.month, month) {
            cur = match list_last_at_or_before(&spec.month, month - 1, 1) {
                Some(previous) => end_of_day(last_day_of_month(year, previous)?)?,
                None => end_of_day(NaiveDate::from_ymd_opt(year.checked_sub(1)?, 12, 31)?)?,
            };
            continue;
        }

        if !list_matches(&spec.day, day) {
            cur = match list_last_at_or_before(&spec.day, day - 1, 1) {
                Some(previous) => end_of_day(date.with_day(previous)?)?,
                None => end_of_day(date.with_day(1)?.pred_opt()?)?,
            };
            continue;
        }

        let today = date.weekday().num_days_from_monday();
        if !spec.weekday_allowed(today) {
            let days_back = (0..today)
                .rev()
                .find(|&d| spec.weekday_allowed(d))
                .map_or(today + 1, |d| today - d);
            cur = end_of_day(date.checked_sub_days(Days::new(u64::from(days_back)))?)?;
            continue;
        }

        if !list_matches(&spec.hour, hour) {
            cur = match hour
                .checked_sub(1)
                .and_then(|h| list_last_at_or_before(&spec.hour, h, 0))
            {
                Some(previous) => date.and_hms_opt(previous, 59, 59)?,
                None => end_of_day(date.pred_opt()?)?,
            };
            continue;
        }

        if !list_matches(&spec.minute, minute) {
            cur = match minute
                .checked_sub(1)
                .and_then(|m| list_last_at_or_before(&spec.minute, m, 0))
            {
                Some(previous) => date.and_hms_opt(hour, previous, 59)?,
                None => date
                    .and_hms_opt(hour, 0, 0)?
                    .checked_sub_signed(TimeDelta::seconds(1))?,
            };
            continue;
        }

        if !list_matches(&spec.second, second) {
            cur = match second
                .checked_sub(1)
                .and_then(|s| list_last_at_or_before(&spec.second, s, 0))
            {
                Some(previous) => date.and_hms_opt(hour, minute, previous)?,
                None => date
                    .and_hms_opt(hour, minute, 0)?
                    .checked_sub_signed(TimeDelta::seconds(1))?,
            };
            continue;
        }

        return instant_of(zone, cur).filter(|&instant| instant < before);
    }
    None
}
