//! Formatting rules of the view: times (UTC, relative to the report's own time), sizes,
//! durations, and the placeholder for an unknown value.

use chrono::{DateTime, Utc};

/// What the page says when a value is unknown or absent.
pub const NONE: &str = "—";

/// A point in time, formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// `2026-11-21 06:00 UTC`, or `—`.
    pub text: String,
    /// `3 d ago` / `in 5 h`, relative to the report's time; empty when unknown.
    pub relative: String,
    /// Unix seconds for sorting; empty when unknown (sorts first).
    pub key: String,
}

impl When {
    /// Whether a time is known.
    pub fn is_known(&self) -> bool {
        !self.key.is_empty()
    }
}

/// `2026-11-21 06:00 UTC`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `3 d ago`, `5 h ago`, `12 min ago`, `just now`, `in 2 d`: how far `time` is from `now`.
pub fn format_relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - time).num_seconds();
    let magnitude = seconds.unsigned_abs();
    let amount = if magnitude < 60 {
        return "just now".to_string();
    } else if magnitude < 90 * 60 {
        format!("{} min", magnitude / 60)
    } else if magnitude < 48 * 3600 {
        format!("{} h", magnitude / 3600)
    } else {
        format!("{} d", magnitude / 86_400)
    };
    if seconds >= 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// Binary units with one decimal: `512 B`, `1.5 KiB`, `12.3 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `45 s`, `12m 05s`, `1h 02m`.
pub fn format_duration(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60)
    }
}

pub(crate) fn or_none(value: Option<&str>) -> String {
    match value {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => NONE.to_string(),
    }
}

/// Formats times relative to the report's time, never the clock.
pub(crate) struct Formatter {
    /// The report's time.
    pub(crate) now: DateTime<Utc>,
    /// Whether the report covers several clusters: nodes and jobs then say whose they are.
    pub(crate) several_clusters: bool,
}

impl Formatter {
    /// A node, or a job id, as the page names it: `prod · pve1` in a report over several
    /// clusters (node and job names repeat across clusters), else as is.
    pub(crate) fn of_cluster(&self, cluster: &str, name: &str) -> String {
        if self.several_clusters && !cluster.is_empty() {
            format!("{cluster} · {name}")
        } else {
            name.to_string()
        }
    }

    pub(crate) fn when(&self, time: Option<DateTime<Utc>>) -> When {
        match time {
            Some(time) => When {
                text: format_time(time),
                relative: format_relative(time, self.now),
                key: time.timestamp().to_string(),
            },
            None => When {
                text: NONE.to_string(),
                relative: String::new(),
                key: String::new(),
            },
        }
    }
}

/// A namespace for people: `root` for the root namespace.
pub(crate) fn namespace_word(namespace: &str) -> String {
    if namespace.is_empty() {
        "root".to_string()
    } else {
        namespace.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sizes_use_binary_units_with_one_decimal() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(13_207_024_435), "12.3 GiB");
        assert_eq!(format_size(4 * 1024u64.pow(4)), "4.0 TiB");
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(45), "45 s");
        assert_eq!(format_duration(725), "12m 05s");
        assert_eq!(format_duration(3720), "1h 02m");
        assert_eq!(format_duration(90_000), "25h 00m");
    }

    #[test]
    fn times_are_utc_and_relative_to_the_report() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 6, 0, 0).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 18, 2, 5, 9).unwrap();
        assert_eq!(format_time(t), "2026-11-18 02:05 UTC");
        assert_eq!(format_relative(t, now), "3 d ago");
        assert_eq!(
            format_relative(now - chrono::Duration::hours(5), now),
            "5 h ago"
        );
        assert_eq!(
            format_relative(now - chrono::Duration::minutes(12), now),
            "12 min ago"
        );
        assert_eq!(format_relative(now, now), "just now");
        assert_eq!(
            format_relative(now + chrono::Duration::hours(20), now),
            "in 20 h"
        );
    }
}
