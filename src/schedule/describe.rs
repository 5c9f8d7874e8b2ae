//! Short English wording of a parsed calendar event for reports ("daily at 02:00",
//! "Mon–Fri at 21:30", "every 15 minutes", "1st of each month at 00:00 (UTC)").
//!
//! The wording is derived from the parsed constraints, never from the text, so quirks of the
//! grammar show up honestly (`30:00` reads "every hour at :30"). Shapes without a natural phrase
//! fall back to a field-by-field wording that still states every constraint.

use crate::schedule::spec::{list_matches, FieldValue, Spec, ALL_WEEKDAYS};

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Times listed one by one up to this many; beyond it a repeating phrase is used.
const MAX_LISTED_TIMES: usize = 8;

/// How the time of day reads: a few fixed times, or a repeating phrase.
enum TimePhrase {
    /// e.g. "02:30, 22:30" — composes as "daily at …" / "Mon at …".
    At(String),
    /// e.g. "every 15 minutes" — composes as "… on Mon–Fri".
    Every(String),
}

/// The English description of `spec` (see the module docs).
pub(crate) fn describe(spec: &Spec) -> String {
    let hours = expand(&spec.hour, 0, 23);
    let minutes = expand(&spec.minute, 0, 59);
    let seconds = expand(&spec.second, 0, 59);
    let months = expand(&spec.month, 1, 12);
    let days = expand(&spec.day, 1, 31);
    let years = expand(&spec.year, 0, 2199);
    let empty = |set: &Option<Vec<u32>>| set.as_ref().is_some_and(Vec::is_empty);
    if [&hours, &minutes, &seconds, &months, &days, &years]
        .into_iter()
        .any(empty)
    {
        return with_utc(
            "never (a field allows no valid value)".to_string(),
            spec.utc,
        );
    }

    let time = time_phrase(spec, hours, minutes, seconds);
    let weekdays = weekdays_phrase(spec.weekdays);
    let date = date_phrase(spec, years, months, days);
    let text = match time {
        TimePhrase::At(times) => match (weekdays, date) {
            (None, None) => format!("daily at {times}"),
            (Some(w), None) => format!("{w} at {times}"),
            (None, Some(d)) => format!("{d} at {times}"),
            (Some(w), Some(d)) => format!("{w} on {d} at {times}"),
        },
        TimePhrase::Every(every) => match (weekdays, date) {
            (None, None) => every,
            (Some(w), None) => format!("{every} on {w}"),
            (None, Some(d)) => format!("{every} on {d}"),
            (Some(w), Some(d)) => format!("{every} on {w}, {d}"),
        },
    };
    with_utc(text, spec.utc)
}

fn with_utc(text: String, utc: bool) -> String {
    if utc {
        format!("{text} (UTC)")
    } else {
        text
    }
}

/// The concrete values a field allows within `lo..=hi`; `None` when it allows all of them.
fn expand(list: &[FieldValue], lo: u32, hi: u32) -> Option<Vec<u32>> {
    if list.is_empty() {
        return None;
    }
    let values: Vec<u32> = (lo..=hi).filter(|&v| list_matches(list, v)).collect();
    (values.len() < (lo..=hi).count()).then_some(values)
}

/// `(offset, step)` when `values` is exactly offset, offset+step, … through the whole cycle and
/// the step divides the cycle (so the rhythm continues evenly across the wrap).
fn even_step(values: &[u32], cycle: u32) -> Option<(u32, u32)> {
    let (&first, &second) = (values.first()?, values.get(1)?);
    let step = second - first;
    let evenly_spaced = values.windows(2).all(|pair| pair[1] - pair[0] == step);
    let last = *values.last()?;
    (evenly_spaced && cycle.is_multiple_of(step) && first < step && last + step >= cycle)
        .then_some((first, step))
}

/// Consecutive runs of sorted values.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == v => *end = v,
            _ => out.push((v, v)),
        }
    }
    out
}

fn join_runs(values: &[u32], fmt: impl Fn(u32) -> String) -> String {
    runs(values)
        .into_iter()
        .map(|(start, end)| match end - start {
            0 => fmt(start),
            1 => format!("{}, {}", fmt(start), fmt(end)),
            _ => format!("{}–{}", fmt(start), fmt(end)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Field-by-field wording of one list, e.g. "4–10 every 2", "every 15 from 5".
fn field_text(list: &[FieldValue]) -> String {
    if list.is_empty() {
        return "any".to_string();
    }
    list.iter()
        .map(|item| match *item {
            FieldValue::Single(v) | FieldValue::Repeated(v, 0, _) => v.to_string(),
            FieldValue::Range(a, b) => format!("{a}–{b}"),
            FieldValue::Repeated(start, step, None) => format!("every {step} from {start}"),
            FieldValue::Repeated(start, step, Some(end)) => {
                format!("{start}–{end} every {step}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hours_phrase(hours: &[u32]) -> String {
    let label = if hours.len() == 1 { "hour" } else { "hours" };
    format!("{label} {}", join_runs(hours, |h| format!("{h:02}")))
}

fn minute_marks(minutes: &[u32]) -> String {
    minutes
        .iter()
        .map(|m| format!(":{m:02}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn time_list(hours: &[u32], minutes: &[u32], seconds: Option<&[u32]>) -> String {
    let mut times = Vec::new();
    for h in hours {
        for m in minutes {
            match seconds {
                None => times.push(format!("{h:02}:{m:02}")),
                Some(seconds) => {
                    times.extend(seconds.iter().map(|s| format!("{h:02}:{m:02}:{s:02}")))
                }
            }
        }
    }
    times.join(", ")
}

/// "every 15 minutes", "every hour at :30", … for a minute set with any hour.
fn minutes_phrase(minutes: &[u32]) -> String {
    match even_step(minutes, 60) {
        Some((_, 1)) => "every minute".to_string(),
        Some((0, step)) => format!("every {step} minutes"),
        Some((_, step)) if minutes.len() <= MAX_LISTED_TIMES => {
            format!("every {step} minutes (at {})", minute_marks(minutes))
        }
        _ if minutes.len() <= 12 => format!("every hour at {}", minute_marks(minutes)),
        _ => format!(
            "every hour at minutes {}",
            join_runs(minutes, |m| m.to_string())
        ),
    }
}

fn time_phrase(
    spec: &Spec,
    hours: Option<Vec<u32>>,
    minutes: Option<Vec<u32>>,
    seconds: Option<Vec<u32>>,
) -> TimePhrase {
    let on_the_minute = seconds.as_deref() == Some(&[0]);
    if on_the_minute {
        return match (hours, minutes) {
            (None, None) => TimePhrase::Every("every minute".to_string()),
            (None, Some(minutes)) => TimePhrase::Every(minutes_phrase(&minutes)),
            (Some(hours), None) => {
                TimePhrase::Every(format!("every minute during {}", hours_phrase(&hours)))
            }
            (Some(hours), Some(minutes)) => {
                match (even_step(&hours, 24), minutes.as_slice()) {
                    (Some((0, step)), [minute]) if hours.len() > 2 => {
                        return TimePhrase::Every(format!("every {step} hours at :{minute:02}"));
                    }
                    _ => {}
                }
                if hours.len() * minutes.len() <= MAX_LISTED_TIMES {
                    TimePhrase::At(time_list(&hours, &minutes, None))
                } else if let Some((0, step)) = even_step(&minutes, 60) {
                    TimePhrase::Every(format!(
                        "every {step} minutes during {}",
                        hours_phrase(&hours)
                    ))
                } else {
                    TimePhrase::Every(format!(
                        "every hour at {} during {}",
                        minute_marks(&minutes),
                        hours_phrase(&hours)
                    ))
                }
            }
        };
    }
    match (hours, minutes, seconds) {
        (None, None, None) => TimePhrase::Every("every second".to_string()),
        (None, None, Some(s)) => TimePhrase::Every(match even_step(&s, 60) {
            Some((0, step)) => format!("every {step} seconds"),
            _ => format!(
                "every minute at second {}",
                join_runs(&s, |v| v.to_string())
            ),
        }),
        (Some(h), Some(m), Some(s)) if h.len() * m.len() * s.len() <= MAX_LISTED_TIMES => {
            TimePhrase::At(time_list(&h, &m, Some(&s)))
        }
        (None, Some(m), Some(s)) if m.len() * s.len() <= MAX_LISTED_TIMES => {
            let marks: Vec<String> = m
                .iter()
                .flat_map(|m| s.iter().map(move |s| format!(":{m:02}:{s:02}")))
                .collect();
            TimePhrase::Every(format!("every hour at {}", marks.join(", ")))
        }
        _ => TimePhrase::Every(format!(
            "when hour is {}, minute is {}, second is {}",
            field_text(&spec.hour),
            field_text(&spec.minute),
            field_text(&spec.second)
        )),
    }
}

/// "Mon–Fri", "Sat, Sun", "Fri–Mon" (wrap-around), `None` for every day.
fn weekdays_phrase(bits: u8) -> Option<String> {
    let bits = bits & ALL_WEEKDAYS;
    if bits == 0 || bits == ALL_WEEKDAYS {
        return None;
    }
    let has = |d: u32| bits & (1 << (d % 7)) != 0;
    // Begin at a day whose predecessor is not included, so a run across Sunday stays whole.
    let start = (0..7).find(|&d| has(d) && !has(d + 6))?;
    let mut parts = Vec::new();
    let mut offset = 0;
    while offset < 7 {
        let first = start + offset;
        if !has(first) {
            offset += 1;
            continue;
        }
        let mut len = 1;
        while offset + len < 7 && has(first + len) {
            len += 1;
        }
        let name = |d: u32| DAY_NAMES.get((d % 7) as usize).copied().unwrap_or("?");
        match len {
            1 => parts.push(name(first).to_string()),
            2 => parts.push(format!("{}, {}", name(first), name(first + 1))),
            _ => parts.push(format!("{}–{}", name(first), name(first + len - 1))),
        }
        offset += len;
    }
    Some(parts.join(", "))
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn month_names(months: &[u32]) -> String {
    let name = |m: u32| {
        MONTH_NAMES
            .get(m.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("?")
            .to_string()
    };
    if months.len() > 3 && runs(months).len() == 1 {
        return join_runs(months, name);
    }
    months
        .iter()
        .map(|&m| name(m))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "1st of each month", "1st of Jan, Apr, Jul, Oct", "days 1–7 of each month", "2020-07-31".
fn date_phrase(
    spec: &Spec,
    years: Option<Vec<u32>>,
    months: Option<Vec<u32>>,
    days: Option<Vec<u32>>,
) -> Option<String> {
    if let (Some(ys), Some(ms), Some(ds)) = (&years, &months, &days) {
        if ys.len() * ms.len() * ds.len() <= 4 {
            let mut dates = Vec::new();
            for y in ys {
                for m in ms {
                    dates.extend(ds.iter().map(|d| format!("{y:04}-{m:02}-{d:02}")));
                }
            }
            return Some(dates.join(", "));
        }
    }
    let day_part = days.as_ref().map(|ds| {
        if ds.len() <= 4 {
            ds.iter()
                .map(|&d| ordinal(d))
                .collect::<Vec<_>>()
                .join(", ")
        } else if runs(ds).len() <= 4 {
            format!("days {}", join_runs(ds, |d| d.to_string()))
        } else {
            format!("days {}", field_text(&spec.day))
        }
    });
    let month_day = match (day_part, &months) {
        (None, None) => None,
        (Some(d), None) => Some(format!("{d} of each month")),
        (None, Some(ms)) => Some(format!("every day in {}", month_names(ms))),
        (Some(d), Some(ms)) => Some(format!("{d} of {}", month_names(ms))),
    };
    let Some(ys) = years else {
        return month_day;
    };
    let year_text = if runs(&ys).len() <= 4 {
        join_runs(&ys, |y| y.to_string())
    } else {
        field_text(&spec.year)
    };
    let label = if ys.len() == 1 { "year" } else { "years" };
    Some(match month_day {
        Some(md) => format!("{md} in {label} {year_text}"),
        None => format!("every day in {label} {year_text}"),
    })
}
