//! Parser for the proxmox-time calendar-event grammar (`parse_calendar_event_incomplete`).
//!
//! It mirrors the nom combinators of proxmox-time step by step, including where they backtrack
//! (every optional part silently falls back when it fails), so it accepts exactly the same texts:
//! e.g. `30:00` is minute 30 second 0 because `30` is too large for an hour, and `*/0` is rejected
//! because only the `*` is consumed. On failure it reports the furthest specific problem it saw
//! (a value out of range, a backwards range, an unknown weekday) rather than nom's terse context.

use crate::schedule::spec::{FieldList, FieldValue, Spec};
use crate::schedule::ScheduleError;

/// The six numeric fields, with proxmox-time's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Field {
    /// `parse_time_comp(max)` rejects `value >= max`.
    fn limit(self) -> u32 {
        match self {
            Field::Year => 2200,
            Field::Month => 13,
            Field::Day => 32,
            Field::Hour => 24,
            Field::Minute | Field::Second => 60,
        }
    }

    /// Where `*/R` starts counting.
    fn star_start(self) -> u32 {
        match self {
            Field::Month | Field::Day => 1,
            Field::Year | Field::Hour | Field::Minute | Field::Second => 0,
        }
    }

    fn describe_limit(self) -> &'static str {
        match self {
            Field::Year => "a year must be 0..2199",
            Field::Month => "a month must be 1..12",
            Field::Day => "a day of month must be 1..31",
            Field::Hour => "an hour must be 0..23",
            Field::Minute => {
                "a minute must be 0..59 (a lone number is the minute; write `HH:MM` for a time of day)"
            }
            Field::Second => "a second must be 0..59",
        }
    }
}

/// A failed attempt: where it stopped and why.
struct Fail {
    /// Byte offset into the event text (after trimming).
    pos: usize,
    reason: String,
}

type PResult<'a, T> = Result<(&'a str, T), Fail>;

/// Parser state: the text being parsed and the specific problems met along the way.
struct Parser<'a> {
    text: &'a str,
    /// Length of the text after removing the `UTC` suffix; every slice handed around is a suffix
    /// of that part, so `body_len - rest.len()` is its offset.
    body_len: usize,
    /// (byte offset, reason) of every specific problem, in the order they were found.
    diagnostics: Vec<(usize, String)>,
}

const KEYWORDS: [&str; 10] = [
    "minutely",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "annually",
    "quarterly",
    "semiannually",
    "semi-annually",
];

const WEEKDAY_NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

/// Parse `text` the way PVE does: trim surrounding whitespace, reject an empty event, then apply
/// the proxmox-time grammar to the rest (which must be consumed completely).
pub(crate) fn parse_event(raw: &str) -> Result<Spec, ScheduleError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ScheduleError::Empty);
    }
    let mut parser = Parser {
        text,
        body_len: text.len(),
        diagnostics: Vec::new(),
    };
    let failure = match parser.event() {
        Ok(("", spec)) => return Ok(spec),
        Ok((rest, _)) => Fail {
            pos: parser.pos(rest),
            reason: trailing_text_reason(rest),
        },
        Err(fail) => fail,
    };
    // A specific problem at or beyond the point where parsing stopped explains the failure better
    // than "unexpected text"; the latest one wins ties (e.g. minute over hour for `61`).
    let best = parser
        .diagnostics
        .iter()
        .filter(|(pos, _)| *pos >= failure.pos)
        .max_by_key(|(pos, _)| *pos);
    let (pos, reason) = match best {
        Some((pos, reason)) => (*pos, reason.clone()),
        None => (failure.pos, failure.reason),
    };
    let pos = pos.min(text.len());
    Err(ScheduleError::Parse {
        event: text.to_string(),
        at: text.get(pos..).unwrap_or_default().to_string(),
        column: text.get(..pos).map_or(pos, |head| head.chars().count()) + 1,
        reason,
    })
}

fn trailing_text_reason(rest: &str) -> String {
    let trimmed = rest.trim_start();
    if trimmed == "UTC" {
        return "`UTC` may appear only once, at the very end".to_string();
    }
    if trimmed.eq_ignore_ascii_case("utc") {
        return "the time-zone suffix must be written in capitals: `UTC`".to_string();
    }
    if rest.starts_with([' ', '\t']) && trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        return format!(
            "unexpected '{rest}' — only one date and one time are allowed; separate hours, minutes \
             and seconds with ':' (e.g. `21:30`)"
        );
    }
    if rest.starts_with(',') {
        return format!("unexpected '{rest}' — a list item after ',' is missing or invalid");
    }
    format!("unexpected '{rest}'")
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl<'a> Parser<'a> {
    /// Byte offset of `rest` (a suffix of the body) from the start of the text.
    fn pos(&self, rest: &str) -> usize {
        self.body_len.saturating_sub(rest.len())
    }

    fn fail(&self, at: &str, reason: impl Into<String>) -> Fail {
        Fail {
            pos: self.pos(at),
            reason: reason.into(),
        }
    }

    fn note(&mut self, at: &str, reason: String) {
        let pos = self.pos(at);
        self.diagnostics.push((pos, reason));
    }

    /// `parse_calendar_event_incomplete`.
    fn event(&mut self) -> PResult<'a, Spec> {
        let mut spec = Spec::default();
        let mut i: &'a str = self.text;
        if let Some(stripped) = i.strip_suffix("UTC") {
            spec.utc = true;
            i = stripped.trim_end_matches(' ');
            self.body_len = i.len();
        }

        let mut has_weekdays = false;
        if i.starts_with(|c: char| c.is_ascii_alphabetic()) {
            if let Some(keyword_spec) = keyword(i, spec.utc) {
                return Ok(("", keyword_spec));
            }
            let (rest, days) = self.weekday_list(i)?;
            spec.weekdays = days;
            has_weekdays = true;
            i = rest.trim_start_matches(is_space);
        }

        let mut has_date = false;
        if let Ok((rest, (year, month, day))) = self.date_spec(i) {
            spec.year = year;
            spec.month = month;
            spec.day = day;
            has_date = true;
            i = rest.trim_start_matches(is_space);
        }

        let mut has_time = false;
        match self.time_spec(i) {
            Ok((rest, (hour, minute, second))) => {
                spec.hour = hour;
                spec.minute = minute;
                spec.second = second;
                has_time = true;
                i = rest;
            }
            Err(_) => {
                spec.hour = vec![FieldValue::Single(0)];
                spec.minute = vec![FieldValue::Single(0)];
                spec.second = vec![FieldValue::Single(0)];
            }
        }

        if !(has_weekdays || has_date || has_time) {
            return Err(self.fail(
                i,
                "expected a keyword (e.g. `daily`), weekdays (e.g. `mon..fri`), a date \
                 (`[YYYY-]MM-DD`) or a time (`HH:MM`, or a lone minute)",
            ));
        }
        Ok((i, spec))
    }

    /// `separated_nonempty_list(",", parse_weekdays_range)`.
    fn weekday_list(&mut self, i: &'a str) -> PResult<'a, u8> {
        let (mut rest, mut days) = self.weekday_range(i)?;
        while let Some(after_comma) = rest.strip_prefix(',') {
            match self.weekday_range(after_comma) {
                Ok((next_rest, more)) => {
                    days |= more;
                    rest = next_rest;
                }
                Err(_) => break,
            }
        }
        Ok((rest, days))
    }

    /// `parse_weekdays_range`: `wd` or `wd..wd`, wrapping around Sunday when start > end.
    fn weekday_range(&mut self, i: &'a str) -> PResult<'a, u8> {
        let (rest, start) = self.weekday(i)?;
        if let Some(after_dots) = rest.strip_prefix("..") {
            if let Ok((rest_after_end, end)) = self.weekday(after_dots) {
                let bits = if start <= end {
                    (start..=end).fold(0u8, |acc, d| acc | (1 << d))
                } else {
                    (start..7).chain(0..=end).fold(0u8, |acc, d| acc | (1 << d))
                };
                return Ok((rest_after_end, bits));
            }
        }
        Ok((rest, 1 << start))
    }

    /// One weekday name (case-insensitive), as day number Monday = 0 … Sunday = 6.
    fn weekday(&mut self, i: &'a str) -> PResult<'a, u32> {
        let len = i
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(i.len());
        if len == 0 {
            return Err(self.fail(i, "expected a weekday name"));
        }
        let (word, rest) = i.split_at(len);
        let lower = word.to_ascii_lowercase();
        if let Some(num) = WEEKDAY_NAMES
            .iter()
            .position(|(short, long)| lower == *short || lower == *long)
        {
            // position() < 7, so the cast cannot truncate.
            return Ok((rest, num as u32));
        }
        let reason = if KEYWORDS.contains(&lower.as_str()) && lower != word {
            format!("'{word}' is not a weekday; keywords are lowercase — write `{lower}`")
        } else {
            format!(
                "'{word}' is not a weekday or keyword (weekdays: mon..sun or monday..sunday; \
                 keywords: minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly)"
            )
        };
        self.note(i, reason.clone());
        Err(self.fail(i, reason))
    }

    /// `parse_date_spec`: `Y-M-D`, else `M-D`.
    fn date_spec(&mut self, i: &'a str) -> PResult<'a, (FieldList, FieldList, FieldList)> {
        if let Ok(found) = self.full_date(i) {
            return Ok(found);
        }
        let (rest, month) = self.field_list(i, Field::Month)?;
        let after_dash = rest
            .strip_prefix('-')
            .ok_or_else(|| self.fail(rest, "expected '-'"))?;
        let (rest, day) = self.field_list(after_dash, Field::Day)?;
        Ok((rest, (Vec::new(), month, day)))
    }

    fn full_date(&mut self, i: &'a str) -> PResult<'a, (FieldList, FieldList, FieldList)> {
        let (rest, year) = self.field_list(i, Field::Year)?;
        let after_dash = rest
            .strip_prefix('-')
            .ok_or_else(|| self.fail(rest, "expected '-'"))?;
        let (rest, month) = self.field_list(after_dash, Field::Month)?;
        let after_dash = rest
            .strip_prefix('-')
            .ok_or_else(|| self.fail(rest, "expected '-'"))?;
        let (rest, day) = self.field_list(after_dash, Field::Day)?;
        Ok((rest, (year, month, day)))
    }

    /// `parse_time_spec`: `[hours ":"] minutes [":" seconds]`; seconds default to 0, hours to any.
    fn time_spec(&mut self, i: &'a str) -> PResult<'a, (FieldList, FieldList, FieldList)> {
        let (i, hour) = match self.field_list(i, Field::Hour) {
            Ok((rest, hour)) => match rest.strip_prefix(':') {
                Some(after_colon) => (after_colon, hour),
                None => (i, Vec::new()),
            },
            Err(_) => (i, Vec::new()),
        };
        let (rest, minute) = self.field_list(i, Field::Minute)?;
        if let Some(after_colon) = rest.strip_prefix(':') {
            if let Ok((rest_after_seconds, second)) = self.field_list(after_colon, Field::Second) {
                return Ok((rest_after_seconds, (hour, minute, second)));
            }
        }
        Ok((rest, (hour, minute, vec![FieldValue::Single(0)])))
    }

    /// `parse_date_time_comp_list`: `*`, `*/R` or a comma list of items.
    fn field_list(&mut self, i: &'a str, field: Field) -> PResult<'a, FieldList> {
        if let Some(rest) = i.strip_prefix('*') {
            if let Some(after_slash) = rest.strip_prefix('/') {
                let (rest_after_step, step) = self.number(after_slash, field)?;
                if step > 0 {
                    return Ok((
                        rest_after_step,
                        vec![FieldValue::Repeated(field.star_start(), step, None)],
                    ));
                }
                self.note(
                    rest,
                    "a step of 0 is not allowed — write `*` for every value or `*/5` for every \
                     5th"
                    .to_string(),
                );
            }
            return Ok((rest, Vec::new()));
        }
        let (mut rest, first) = self.field_item(i, field)?;
        let mut items = vec![first];
        while let Some(after_comma) = rest.strip_prefix(',') {
            match self.field_item(after_comma, field) {
                Ok((next_rest, item)) => {
                    items.push(item);
                    rest = next_rest;
                }
                Err(_) => break,
            }
        }
        Ok((rest, items))
    }

    /// `parse_date_time_comp`: `N`, `N..M`, `N/R` or `N..M/R`.
    fn field_item(&mut self, i: &'a str, field: Field) -> PResult<'a, FieldValue> {
        let (rest, value) = self.number(i, field)?;
        if let Some(after_dots) = rest.strip_prefix("..") {
            if let Ok((rest_after_end, end)) = self.number(after_dots, field) {
                if value > end {
                    let reason = format!(
                        "range {value}..{end} goes backwards (start is bigger than end) — write \
                         `{end}..{value}`"
                    );
                    self.note(i, reason.clone());
                    return Err(self.fail(rest_after_end, reason));
                }
                if let Some(after_slash) = rest_after_end.strip_prefix('/') {
                    let (rest_after_step, step) = self.number(after_slash, field)?;
                    return Ok((
                        rest_after_step,
                        FieldValue::Repeated(value, step, Some(end)),
                    ));
                }
                return Ok((rest_after_end, FieldValue::Range(value, end)));
            }
        }
        if let Some(after_slash) = rest.strip_prefix('/') {
            let (rest_after_step, step) = self.number(after_slash, field)?;
            return Ok((rest_after_step, FieldValue::Repeated(value, step, None)));
        }
        Ok((rest, FieldValue::Single(value)))
    }

    /// `parse_time_comp(max)`: decimal digits, value below the field's limit.
    fn number(&mut self, i: &'a str, field: Field) -> PResult<'a, u32> {
        let len = i.find(|c: char| !c.is_ascii_digit()).unwrap_or(i.len());
        if len == 0 {
            return Err(self.fail(i, "expected a number"));
        }
        let (digits, rest) = i.split_at(len);
        match digits.parse::<u32>() {
            Ok(value) if value < field.limit() => Ok((rest, value)),
            _ => {
                let reason = format!("{digits} is out of range: {}", field.describe_limit());
                self.note(i, reason.clone());
                Err(self.fail(rest, reason))
            }
        }
    }
}

/// The keyword table of proxmox-time (exact, lowercase, whole remaining text).
fn keyword(text: &str, utc: bool) -> Option<Spec> {
    use FieldValue::Single;
    let midnight = |spec: Spec| Spec {
        hour: vec![Single(0)],
        minute: vec![Single(0)],
        second: vec![Single(0)],
        ..spec
    };
    let base = Spec {
        utc,
        ..Spec::default()
    };
    let spec = match text {
        "minutely" => Spec {
            second: vec![Single(0)],
            ..base
        },
        "hourly" => Spec {
            minute: vec![Single(0)],
            second: vec![Single(0)],
            ..base
        },
        "daily" => midnight(base),
        "weekly" => midnight(Spec {
            weekdays: 1,
            ..base
        }),
        "monthly" => midnight(Spec {
            day: vec![Single(1)],
            ..base
        }),
        "yearly" | "annually" => midnight(Spec {
            day: vec![Single(1)],
            month: vec![Single(1)],
            ..base
        }),
        "quarterly" => midnight(Spec {
            day: vec![Single(1)],
            month: vec![Single(1), Single(4), Single(7), Single(10)],
            ..base
        }),
        "semiannually" | "semi-annually" => midnight(Spec {
            day: vec![Single(1)],
            month: vec![Single(1), Single(7)],
            ..base
        }),
        _ => return None,
    };
    Some(spec)
}
