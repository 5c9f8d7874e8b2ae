//! Node-local timestamps (`Backup started at 2024-05-24 16:22:44`) to UTC.
//!
//! vzdump prints these with `strftime("%F %H:%M:%S", localtime())`, i.e. in the node's time zone
//! without an offset. Around DST changes a local time can be ambiguous (resolved to the earlier
//! instant) or nonexistent (resolved to the first instant after the gap).

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Longest DST gap searched for; real gaps are at most a few hours (24 h covers date-line moves).
const MAX_GAP_MINUTES: i64 = 24 * 60;

/// Parse `YYYY-MM-DD HH:MM:SS` in `tz` and convert it to UTC; `None` if it is not such a time.
pub(crate) fn local_to_utc(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !has_shape(text, "dddd-dd-dd dd:dd:dd") {
        return None;
    }
    let naive = fixed_fields(text)?;
    resolve_local(naive, tz)
}

/// Parse a PBS backup time `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn parse_pbs_backup_time(text: &str) -> Option<DateTime<Utc>> {
    if !has_shape(text, "dddd-dd-ddTdd:dd:ddZ") {
        return None;
    }
    fixed_fields(text).map(|naive| naive.and_utc())
}

/// The date and time of a text already checked to have the shape `dddd-dd-dd?dd:dd:dd…`, read
/// from its digit positions (chrono's `parse_from_str` parses its format string on every call,
/// a few % of a cold run's CPU over ~1 M log lines). Out-of-range fields are `None`, as there.
fn fixed_fields(text: &str) -> Option<NaiveDateTime> {
    let number = |range: std::ops::Range<usize>| -> Option<u32> { text.get(range)?.parse().ok() };
    let year = i32::try_from(number(0..4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
}

/// Whether `text` matches `shape`, where `d` stands for an ASCII digit and anything else for itself
/// (chrono's `%Y` alone would also accept `24-05-24`).
pub(crate) fn has_shape(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(t, s)| match s {
            b'd' => t.is_ascii_digit(),
            other => t == other,
        })
}

fn resolve_local(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Some(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => first_instant_after_gap(naive, tz),
    }
}

/// The instant the gap containing `naive` ends, i.e. the earliest existing local time after it.
fn first_instant_after_gap(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let exists = |t: NaiveDateTime| tz.from_local_datetime(&t).earliest();
    // Find the first existing whole minute, then walk back second by second in case the gap
    // ends off a minute boundary (historic LMT offsets).
    let minute_start = naive.checked_sub_signed(Duration::seconds(i64::from(naive.second())))?;
    let mut candidate = None;
    for minutes in 1..=MAX_GAP_MINUTES {
        let t = minute_start.checked_add_signed(Duration::minutes(minutes))?;
        if exists(t).is_some() {
            candidate = Some(t);
            break;
        }
    }
    let mut first = candidate?;
    for _ in 0..60 {
        let Some(earlier) = first.checked_sub_signed(Duration::seconds(1)) else {
            break;
        };
        if earlier <= naive || exists(earlier).is_none() {
            break;
        }
        first = earlier;
    }
    exists(first).map(|dt| dt.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ordinary_summer_and_winter_times() {
        let tz = chrono_tz::Europe::Vienna;
        assert_eq!(
            local_to_utc("2024-05-24 16:22:44", tz),
            Some(utc("2024-05-24T14:22:44Z"))
        );
        assert_eq!(
            local_to_utc("2024-01-10 02:00:00", tz),
            Some(utc("2024-01-10T01:00:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-05-24 16:22:44", chrono_tz::UTC),
            Some(utc("2024-05-24T16:22:44Z"))
        );
    }

    #[test]
    fn nonexistent_spring_forward_time_maps_to_end_of_gap() {
        // Vienna 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let tz = chrono_tz::Europe::Vienna;
        assert_eq!(
            local_to_utc("2024-03-31 02:30:00", tz),
            Some(utc("2024-03-31T01:00:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-03-31 02:00:00", tz),
            Some(utc("2024-03-31T01:00:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-03-31 02:59:59", tz),
            Some(utc("2024-03-31T01:00:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-03-31 03:00:00", tz),
            Some(utc("2024-03-31T01:00:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-03-31 01:59:59", tz),
            Some(utc("2024-03-31T00:59:59Z"))
        );
    }

    #[test]
    fn ambiguous_fall_back_time_maps_to_earlier_instant() {
        // Vienna 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let tz = chrono_tz::Europe::Vienna;
        assert_eq!(
            local_to_utc("2024-10-27 02:30:00", tz),
            Some(utc("2024-10-27T00:30:00Z"))
        );
        assert_eq!(
            local_to_utc("2024-10-27 03:00:00", tz),
            Some(utc("2024-10-27T02:00:00Z"))
        );
    }

    #[test]
    fn garbage_times_are_none() {
        let tz = chrono_tz::Europe::Vienna;
        for text in [
            "",
            "2024-05-24",
            "2024-13-01 00:00:00",
            "24-05-24 16:22:44",
            "2024-02-30 00:00:00",
            "2024-05-24 24:00:00",
            "2024-05-24 16:60:00",
            "now",
        ] {
            assert_eq!(local_to_utc(text, tz), None, "{text:?}");
        }
        assert_eq!(
            parse_pbs_backup_time("2024-05-24T14:22:44Z"),
            Some(utc("2024-05-24T14:22:44Z"))
        );
        assert_eq!(parse_pbs_backup_time("2024-05-24T14:22:44"), None);
        assert_eq!(parse_pbs_backup_time("2024-05-24T14:22:61Z"), None);
        assert_eq!(
            parse_pbs_backup_time("2024-02-29T23:59:59Z"),
            Some(utc("2024-02-29T23:59:59Z"))
        );
    }
}
