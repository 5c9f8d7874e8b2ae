//! Conversion of pre-7.1 PVE backup jobs (`starttime` + `dow` from `/etc/pve/vzdump.cron`) into
//! the calendar-event string PVE ≥ 7.1 derives from them (`$convert_to_schedule` in pve-manager).

use crate::schedule::ScheduleError;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Convert a legacy `starttime` (`H:M`, one or two digits each) and optional `dow` list into the
/// schedule string PVE ≥ 7.1 uses:
/// * no `dow` (or an empty one) → `<starttime>`
/// * `dow` naming all seven days → `<starttime>`
/// * otherwise → `<dow items joined with ",">` + `" "` + `<starttime>`
///
/// `starttime` is copied verbatim (`1:5` stays `1:5`, which is a valid event meaning 01:05).
/// `dow` items may be separated by `,`, `;`, NUL or whitespace (PVE list formats) and must each
/// be one of `mon tue wed thu fri sat sun` (lowercase, as PVE's `pve-day-of-week` format).
pub(crate) fn schedule_from_legacy(
    starttime: &str,
    dow: Option<&str>,
) -> Result<String, ScheduleError> {
    if !is_legacy_start_time(starttime) {
        return Err(ScheduleError::LegacyStartTime {
            starttime: starttime.to_string(),
        });
    }
    let Some(dow) = dow else {
        return Ok(starttime.to_string());
    };
    let days: Vec<&str> = dow
        .split(|c: char| c == ',' || c == ';' || c == '\0' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .collect();
    if let Some(bad) = days.iter().find(|day| !WEEKDAYS.contains(day)) {
        return Err(ScheduleError::LegacyDayOfWeek {
            dow: dow.to_string(),
            item: (*bad).to_string(),
        });
    }
    if days.is_empty() || WEEKDAYS.iter().all(|day| days.contains(day)) {
        return Ok(starttime.to_string());
    }
    Ok(format!("{} {starttime}", days.join(",")))
}

/// `\d{1,2}:\d{1,2}` — the only shape PVE accepted for `starttime`.
fn is_legacy_start_time(text: &str) -> bool {
    let short_number =
        |part: &str| (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    text.split_once(':')
        .is_some_and(|(hour, minute)| short_number(hour) && short_number(minute))
}
