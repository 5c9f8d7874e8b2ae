//! Tests for the calendar-event module: the proxmox-time and pve-common test vectors, the
//! reference's worked examples, legacy conversion, previous/next mirror properties, month ends,
//! leap years, DST in Europe/Vienna and America/New_York, descriptions and error messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::{schedule_from_legacy, CalendarEvent, ScheduleError};

const VIENNA: Tz = chrono_tz::Europe::Vienna;
const NEW_YORK: Tz = chrono_tz::America::New_York;

fn at(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap()
}

/// `"2024-03-31 01:00:00"` read as UTC.
fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
        .and_utc()
}

fn event(text: &str) -> CalendarEvent {
    CalendarEvent::parse(text).unwrap_or_else(|e| panic!("'{text}' should parse: {e}"))
}

fn next(text: &str, last: i64, tz: Tz) -> Option<i64> {
    event(text).next_after(at(last), tz).map(|t| t.timestamp())
}

// ---------------------------------------------------------------------------------------------
// proxmox-time test vectors (test.rs, `test_compute_next_event`): " UTC" appended to every event.

const THU0: i64 = 0;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const JUL31_2020: i64 = 1_596_153_600;
const DEC31_2020: i64 = 1_609_372_800;

#[test]
fn proxmox_time_vectors() {
    let vectors: &[(&str, i64, i64)] = &[
        ("0", THU0, THU0 + HOUR),                                // 1
        ("*", THU0, THU0 + 60),                                  // 2
        ("*:0", THU0, THU0 + HOUR),                              // 3
        ("*:*", THU0, THU0 + 60),                                // 4
        ("*:*:*", THU0, THU0 + 1),                               // 5
        ("*:3:5", THU0, THU0 + 3 * 60 + 5),                      // 6
        ("mon *:*", THU0, THU0 + 4 * DAY),                       // 7
        ("mon 2:*", THU0, THU0 + 4 * DAY + 2 * HOUR),            // 8
        ("mon 2:50", THU0, THU0 + 4 * DAY + 2 * HOUR + 50 * 60), // 9
        ("tue", THU0, THU0 + 5 * DAY),                           // 10
        ("wed", THU0, THU0 + 6 * DAY),                           // 11
        ("thu", THU0, THU0 + 7 * DAY),                           // 12
        ("fri", THU0, THU0 + DAY),                               // 13
        ("sat", THU0, THU0 + 2 * DAY),                           // 14
        ("sun", THU0, THU0 + 3 * DAY),                           // 15
        ("4..10/2:0", THU0, THU0 + 4 * HOUR),                    // 16
        ("4..10/2:0", THU0 + 5 * HOUR, THU0 + 6 * HOUR),         // 17
        ("4..10/2:0", THU0 + 11 * HOUR, THU0 + DAY + 4 * HOUR),  // 18
        ("5,10:4,8", THU0, THU0 + 5 * HOUR + 4 * 60),            // 19
        ("10,5:8,4", THU0, THU0 + 5 * HOUR + 4 * 60),            // 20
        ("6,4..10:23,5/5", THU0, THU0 + 4 * HOUR + 5 * 60),      // 21
        ("4..10,6:5/5,23", THU0, THU0 + 4 * HOUR + 5 * 60),      // 22
        ("sat", JUL31_2020, JUL31_2020 + DAY),                   // 23
        ("sun", JUL31_2020, JUL31_2020 + 2 * DAY),               // 24
        ("mon", JUL31_2020, JUL31_2020 + 3 * DAY),               // 25
        ("tue", JUL31_2020, JUL31_2020 + 4 * DAY),               // 26
        ("wed", JUL31_2020, JUL31_2020 + 5 * DAY),               // 27
        ("thu", JUL31_2020, JUL31_2020 + 6 * DAY),               // 28
        ("fri", JUL31_2020, JUL31_2020 + 7 * DAY),               // 29
        ("fri", DEC31_2020, DEC31_2020 + DAY),                   // 30
        ("sat", DEC31_2020, DEC31_2020 + 2 * DAY),               // 31
        ("sun", DEC31_2020, DEC31_2020 + 3 * DAY),               // 32
        ("mon", DEC31_2020, DEC31_2020 + 4 * DAY),               // 33
        ("tue", DEC31_2020, DEC31_2020 + 5 * DAY),               // 34
        ("wed", DEC31_2020, DEC31_2020 + 6 * DAY),               // 35
        ("thu", DEC31_2020, DEC31_2020 + 7 * DAY),               // 36
        ("daily", THU0, THU0 + DAY),                             // 37
        ("daily", THU0 + 1, THU0 + DAY),                         // 38
        ("5/2:0", THU0, THU0 + 5 * HOUR),                        // 39
        ("5/2:0", THU0 + 5 * HOUR, THU0 + 7 * HOUR),             // 40
        ("5/2:0", THU0 + 7 * HOUR, THU0 + 9 * HOUR),             // 41
        ("5/2:0", THU0 + 9 * HOUR, THU0 + 11 * HOUR),            // 42
        ("2020-07-31", 0, JUL31_2020),                           // 46
        ("02-28", 0, (31 + 27) * DAY),                           // 47
        ("02-29", 0, 68_169_600),                                // 48
        ("1965/5-01-01", -1, THU0),                              // 49
        ("2020-7..9-2/2", JUL31_2020, JUL31_2020 + 2 * DAY),     // 50
        ("2020,2021-12-31", JUL31_2020, DEC31_2020),             // 51
        ("minutely", THU0, THU0 + 60),                           // 52
        ("hourly", THU0, THU0 + HOUR),                           // 53
        ("weekly", THU0, THU0 + 4 * DAY),                        // 54
        ("monthly", 0, 31 * DAY),                                // 55
        ("quarterly", 0, (31 + 28 + 31) * DAY),                  // 56
        ("semiannually", 0, 181 * DAY),                          // 57
        ("semi-annually", 0, 181 * DAY),                         // 58
        ("yearly", 0, 365 * DAY),                                // 59
        ("annually", 0, 365 * DAY),                              // 60
    ];
    for &(text, last, expected) in vectors {
        let with_utc = format!("{text} UTC");
        // The zone passed in must not matter: the UTC suffix wins.
        for tz in [Tz::UTC, VIENNA, NEW_YORK] {
            assert_eq!(
                next(&with_utc, last, tz),
                Some(expected),
                "'{with_utc}' after {last} in {tz}"
            );
        }
    }
}

#[test]
fn proxmox_time_chained_vectors() {
    // 43: `*:*` — every minute, each call fed the previous result.
    let every_minute = event("*:* UTC");
    let mut last = at(THU0);
    for i in 1..100 {
        let found = every_minute.next_after(last, Tz::UTC).unwrap();
        assert_eq!(found.timestamp(), THU0 + i * 60);
        last = found;
    }
    // 44: `*:0` — every hour.
    let every_hour = event("*:0 UTC");
    let mut last = at(THU0);
    for i in 1..100 {
        let found = every_hour.next_after(last, Tz::UTC).unwrap();
        assert_eq!(found.timestamp(), THU0 + i * HOUR);
        last = found;
    }
    // 45: `1:0` from THU0+15h, then daily at 01:00.
    let one_am = event("1:0 UTC");
    let mut last = at(THU0 + 15 * HOUR);
    for i in 1..100 {
        let found = one_am.next_after(last, Tz::UTC).unwrap();
        assert_eq!(found.timestamp(), THU0 + i * DAY + HOUR);
        last = found;
    }
}

#[test]
fn proxmox_time_never_vectors() {
    assert_eq!(next("2021-02-29 UTC", 0, Tz::UTC), None);
    assert_eq!(next("02-30 UTC", 0, Tz::UTC), None);
    // Same without the suffix and in a real zone.
    assert_eq!(next("02-30", 0, VIENNA), None);
    assert_eq!(next("2021-02-29 12:00", 0, NEW_YORK), None);
}

#[test]
fn proxmox_time_doc_examples() {
    assert_eq!(next("daily UTC", 0, Tz::UTC), Some(86_400));
    assert_eq!(next("mon..fri *:00 UTC", 0, Tz::UTC), Some(3600));
    assert_eq!(
        next("2020-07-31 12:00 UTC", 0, Tz::UTC),
        Some(1_596_196_800)
    );
    assert!(CalendarEvent::parse("daily").is_ok());
    assert!(CalendarEvent::parse("mon..fri *:00").is_ok());
    assert!(CalendarEvent::parse("not valid!").is_err());
}

#[test]
fn weekday_parse_only_vectors() {
    for text in [
        "mon,wed..fri",
        "fri..mon",
        "mon",
        "MON",
        "monDay",
        "tue",
        "Tuesday",
        "wed",
        "wednesday",
        "thu",
        "thursday",
        "fri",
        "friday",
        "sat",
        "saturday",
        "sun",
        "sunday",
        "mon..fri",
        "mon,tue,fri",
        "mon,tue..wednesday,fri..sat",
        // pve-common parse-only entries
        "0..3",
        "23..23:0..3",
        "sun..sat",
        "wed,mon..tue,fri",
        "mon */15",
        // listed as an error in pve-common, but valid for the Rust grammar (wrap-around)
        "Fri..Mon",
    ] {
        event(text);
    }
}

#[test]
fn weekday_names_are_case_insensitive_and_wrap() {
    // `MON` and `monDay` behave like `mon`.
    for text in ["MON", "monDay", "Monday"] {
        assert_eq!(next(text, 0, Tz::UTC), Some(4 * DAY), "{text}");
    }
    // `sun..sat` wraps to every day.
    assert_eq!(next("sun..sat", 0, Tz::UTC), Some(DAY));
    // `Fri..Mon` = fri, sat, sun, mon.
    let fri_mon = event("Fri..Mon UTC");
    let got: Vec<i64> = fri_mon
        .occurrences_between(at(0), at(14 * DAY), Tz::UTC, 100)
        .iter()
        .map(DateTime::timestamp)
        .collect();
    assert_eq!(
        got,
        vec![
            DAY,
            2 * DAY,
            3 * DAY,
            4 * DAY,
            8 * DAY,
            9 * DAY,
            10 * DAY,
            11 * DAY
        ]
    );
}

#[test]
fn invalid_events() {
    for text in [
        "",
        "   ",
        "61",
        "*/61",
        "0..80",
        " mon 0 0 0",
        " mon 0 0",
        "*/0",
        "5..3",
        "not valid!",
        "Daily",
        "DAILY",
        "mon..fri 25:70",
        "2021-13-01",
        "UTC",
        "mon utc",
        "mon,",
        "mon,xyz",
        "12:00:61",
        "2200-01-01",
        "02-32",
        "1..2..3",
        "mon fri",
        "daily 12:00",
        "@1234",
        "mon~fri",
        "*-*-*~1",
        "10:00.5",
    ] {
        assert!(
            CalendarEvent::parse(text).is_err(),
            "'{text}' should be rejected"
        );
    }
}

#[test]
fn grammar_edge_cases_follow_proxmox_time() {
    // A lone number is the minute; `30:00` is minute 30, second 0 (30 is no hour).
    assert_eq!(next("30 UTC", 0, Tz::UTC), Some(30 * 60));
    assert_eq!(next("30:00 UTC", 0, Tz::UTC), Some(30 * 60));
    assert_eq!(next("30:00 UTC", 30 * 60, Tz::UTC), Some(HOUR + 30 * 60));
    // `mon..fri 22` is every hour at :22 on weekdays, not 22:00.
    assert_eq!(next("mon..fri 22 UTC", 0, Tz::UTC), Some(22 * 60));
    // `*-05` is day 5 of every month (month-day form), `*-*-05` too.
    assert_eq!(next("*-05 UTC", 0, Tz::UTC), Some(4 * DAY));
    assert_eq!(next("*-*-05 UTC", 0, Tz::UTC), Some(4 * DAY));
    // `N/0` is just N.
    assert_eq!(next("5/0 UTC", 0, Tz::UTC), Some(5 * 60));
    assert_eq!(next("5/0 UTC", 5 * 60, Tz::UTC), Some(HOUR + 5 * 60));
    // Surrounding whitespace is trimmed, raw() keeps it; several spaces before UTC are fine.
    let padded = event("  sat 18:15   UTC  ");
    assert_eq!(padded.raw(), "  sat 18:15   UTC  ");
    assert!(padded.is_utc());
    assert_eq!(
        padded.next_after(at(0), VIENNA).unwrap().timestamp(),
        238_500
    );
    // No space needed between parts (nom's space0).
    assert_eq!(next("mon2:50 UTC", 0, Tz::UTC), Some(355_800));
    // Weekday AND day of month: first Saturday of each month at 15:00.
    let first_saturday = event("Sat *-1..7 15:00");
    let got = first_saturday.occurrences_between(
        utc("2024-01-01 00:00:00"),
        utc("2024-04-30 00:00:00"),
        Tz::UTC,
        10,
    );
    assert_eq!(
        got,
        vec![
            utc("2024-01-06 15:00:00"),
            utc("2024-02-03 15:00:00"),
            utc("2024-03-02 15:00:00"),
            utc("2024-04-06 15:00:00"),
        ]
    );
    assert!(!event("daily").is_utc());
    assert!(event("daily UTC").is_utc());
}

// ---------------------------------------------------------------------------------------------
// pve-common test vectors (test/calendar_event_test.pl), TZ=UTC.

#[test]
fn pve_common_vectors() {
    let vectors: &[(&str, &[(i64, i64)])] = &[
        ("*", &[(0, 60), (30, 60), (59, 60), (60, 120)]),
        ("*/10", &[(0, 600), (599, 600), (600, 1200), (3000, 3600)]),
        ("*/12:0", &[(10, 43_200), (46_800, 86_400)]),
        (
            "1/12:0/15",
            &[
                (0, 3600),
                (3600, 4500),
                (4560, 5400),
                (5400, 6300),
                (6300, 46_800),
                (46_801, 47_700),
                (47_700, 48_600),
                (48_600, 49_500),
                (49_500, 90_000),
            ],
        ),
        ("1,4,6", &[(0, 60), (60, 240), (300, 360), (360, 3660)]),
        (
            "Mon",
            &[(0, 345_600), (345_600, 950_400), (950_400, 1_555_200)],
        ),
        (
            "sat..sun",
            &[(0, 172_800), (172_800, 259_200), (259_200, 777_600)],
        ),
        ("22/1:0", &[(0, 79_200), (79_200, 82_800), (82_740, 82_800)]),
        ("*/2:*", &[(0, 60), (3600, 7200), (7200, 7260)]),
        (
            "20..22:*/30",
            &[(0, 72_000), (72_000, 73_800), (81_000, 158_400)],
        ),
        ("0,1,3..5", &[(0, 60), (60, 180), (300, 3600)]),
        ("2,4:0,1,3..5", &[(0, 7200), (7260, 7380), (7500, 14_400)]),
    ];
    for (text, pairs) in vectors {
        for &(last, expected) in *pairs {
            assert_eq!(
                next(text, last, Tz::UTC),
                Some(expected),
                "'{text}' after {last}"
            );
        }
    }
}

#[test]
fn pve_common_time_zone_vectors() {
    // TZ=UTC: from 2018-10-28 00:00 to 2018-10-29 00:00.
    let oct28 = utc("2018-10-28 00:00:00").timestamp();
    let oct29 = utc("2018-10-29 00:00:00").timestamp();
    assert_eq!(next("mon..fri", oct28, Tz::UTC), Some(oct29));
    assert_eq!(next("mon..fri UTC", oct28, Tz::UTC), Some(oct29));
    // TZ=Europe/Vienna, across the CEST→CET change (a 25 h gap).
    assert_eq!(next("mon..fri", 1_540_677_600, VIENNA), Some(1_540_767_600));
    assert_eq!(
        next("mon..fri UTC", 1_540_677_600, VIENNA),
        Some(1_540_771_200)
    );
}

// ---------------------------------------------------------------------------------------------
// Worked examples of the reference (§5, UTC).

#[test]
fn worked_examples() {
    let examples: &[(&str, i64, i64)] = &[
        ("*:0/15 UTC", 0, 900),
        ("*:0/15 UTC", 2700, 3600),
        ("2,22:30 UTC", 0, 9000),
        ("2,22:30 UTC", 9000, 81_000),
        ("2,22:30 UTC", 81_000, 95_400),
        ("sat 18:15 UTC", 0, 238_500),
        ("mon..fri UTC", 86_400, 345_600),
        ("fri..mon UTC", 0, 86_400),
        ("fri..mon UTC", 345_600, 691_200),
    ];
    for &(text, last, expected) in examples {
        assert_eq!(
            next(text, last, Tz::UTC),
            Some(expected),
            "'{text}' after {last}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// proxmox-time quirk: steps that do not divide their field overflow past the wrap value.

#[test]
fn uneven_steps_follow_proxmox_time_overflow() {
    // `*/45`: minute 0 and 45 match, but after :45 the jump goes to minute 90 = next hour :30,
    // then :45 — PVE runs it hourly at :45 once it has run at :45.
    assert_eq!(next("*/45 UTC", 0, Tz::UTC), Some(2700));
    assert_eq!(next("*/45 UTC", 2700, Tz::UTC), Some(HOUR + 2700));
    assert_eq!(next("*/45 UTC", HOUR - 1, Tz::UTC), Some(HOUR));
    // `*/5:00` (hours 0,5,10,15,20): after 20:00 the jump goes to hour 25 = 01:00, then 05:00.
    assert_eq!(next("*/5:00 UTC", 20 * HOUR, Tz::UTC), Some(DAY + 5 * HOUR));
    // The matching rule itself still accepts the skipped values, and previous_before sees them.
    let every_45 = event("*/45 UTC");
    assert!(every_45.matches(at(HOUR), Tz::UTC));
    assert_eq!(
        every_45.previous_before(at(HOUR + 60), Tz::UTC),
        Some(at(HOUR))
    );
}

// ---------------------------------------------------------------------------------------------
// Legacy starttime/dow conversion (§6).

#[test]
fn legacy_conversion() {
    assert_eq!(
        schedule_from_legacy("02:30", Some("mon,tue,wed,thu,fri,sat,sun")).unwrap(),
        "02:30"
    );
    assert_eq!(
        schedule_from_legacy("21:00", Some("sat,sun")).unwrap(),
        "sat,sun 21:00"
    );
    assert_eq!(
        schedule_from_legacy("02:30", Some("mon,tue,wed,thu,fri")).unwrap(),
        "mon,tue,wed,thu,fri 02:30"
    );
    assert_eq!(schedule_from_legacy("02:30", None).unwrap(), "02:30");
    assert_eq!(schedule_from_legacy("02:30", Some("")).unwrap(), "02:30");
    // Copied verbatim: `1:5` stays `1:5` and is a valid event meaning 01:05.
    assert_eq!(schedule_from_legacy("1:5", None).unwrap(), "1:5");
    assert_eq!(next("1:5", 0, Tz::UTC), Some(HOUR + 5 * 60));
    // Every produced schedule parses and fires at the legacy time on the legacy days.
    let weekdays = schedule_from_legacy("02:30", Some("mon,tue,wed,thu,fri")).unwrap();
    assert_eq!(
        next(&weekdays, JUL31_2020, Tz::UTC),
        Some(JUL31_2020 + 2 * HOUR + 30 * 60) // Friday itself
    );
    assert_eq!(
        next(&weekdays, JUL31_2020 + 3 * HOUR, Tz::UTC),
        Some(JUL31_2020 + 3 * DAY + 2 * HOUR + 30 * 60) // then Monday
    );
    let weekend = schedule_from_legacy("21:00", Some("sat,sun")).unwrap();
    assert_eq!(event(&weekend).describe(), "Sat, Sun at 21:00");

    assert!(matches!(
        schedule_from_legacy("2:30:00", None),
        Err(ScheduleError::LegacyStartTime { .. })
    ));
    assert!(matches!(
        schedule_from_legacy("123:00", None),
        Err(ScheduleError::LegacyStartTime { .. })
    ));
    assert!(matches!(
        schedule_from_legacy("", Some("mon")),
        Err(ScheduleError::LegacyStartTime { .. })
    ));
    let err = schedule_from_legacy("02:30", Some("mon,Tue")).unwrap_err();
    assert_eq!(
        err,
        ScheduleError::LegacyDayOfWeek {
            dow: "mon,Tue".to_string(),
            item: "Tue".to_string()
        }
    );
    assert!(err.to_string().contains("mon, tue, wed"));
}

// ---------------------------------------------------------------------------------------------
// previous_before: exact mirror of next_after.

const MIRROR_EVENTS: [&str; 22] = [
    "daily",
    "02:30",
    "1:30",
    "mon..fri 21:30",
    "*/15",
    "*:0/15",
    "*/30",
    "sat,sun 21:00",
    "monthly",
    "quarterly",
    "yearly",
    "2020-07-31",
    "02-29",
    "fri..mon 03:00",
    "Sat *-1..7 15:00",
    "1/12:0/15",
    "20..22:*/30",
    "*:3:5",
    "4..10/2:0",
    "*-*-31 23:59:59",
    "2,3:30 UTC",
    "mon 2:*",
];

fn mirror_instants() -> Vec<DateTime<Utc>> {
    [
        "1970-01-01 00:00:00",
        "1970-01-05 02:10:07",
        "2020-07-31 00:00:00",
        "2020-07-31 00:00:01",
        "2020-12-31 23:59:59",
        "2021-01-01 00:00:00",
        "2024-02-29 12:34:56",
        "2024-03-01 00:00:00",
        "2024-03-10 07:15:00", // New York spring forward (07:00Z)
        "2024-03-31 00:45:00", // Vienna: just before spring forward (01:00Z)
        "2024-03-31 01:00:00",
        "2024-03-31 01:20:00",
        "2024-10-27 00:30:00", // Vienna: first pass of 02:30
        "2024-10-27 01:15:00", // Vienna: second pass
        "2024-10-27 02:00:00",
        "2024-11-03 05:45:00", // New York: first pass of 01:45
        "2024-11-03 06:45:00", // New York: second pass
        "2024-11-03 07:00:00",
        "2025-06-15 21:30:00",
    ]
    .iter()
    .map(|text| utc(text))
    .collect()
}

/// Brute-force check that no instant in `(from, to)` matches, stepping by `step` seconds from
/// the first multiple of `step` (only used for short windows).
fn assert_no_match_between(ev: &CalendarEvent, from: i64, to: i64, step: i64, tz: Tz) {
    let mut t = from.div_euclid(step) * step + step;
    while t < to {
        assert!(
            !ev.matches(at(t), tz),
            "'{}' in {tz}: {} matches but lies between {} and {}",
            ev.raw(),
            at(t),
            at(from),
            at(to)
        );
        t += step;
    }
}

#[test]
fn previous_before_is_the_exact_mirror_of_next_after() {
    let mut checked = 0;
    for text in MIRROR_EVENTS {
        let ev = event(text);
        // Events firing only at whole minutes can be brute-forced per minute.
        let step = if text.contains("*:3:5") || text.contains("23:59:59") {
            1
        } else {
            60
        };
        for tz in [Tz::UTC, VIENNA, NEW_YORK] {
            for t in mirror_instants() {
                let previous = ev.previous_before(t, tz);
                if let Some(p) = previous {
                    assert!(p < t, "'{text}' in {tz}: previous {p} not before {t}");
                    assert!(
                        ev.matches(p, tz),
                        "'{text}' in {tz}: previous {p} is no event"
                    );
                    // p is itself what the forward search finds just before it …
                    assert_eq!(
                        ev.next_after(p - chrono::TimeDelta::seconds(1), tz),
                        Some(p),
                        "'{text}' in {tz}: next_after(previous - 1s)"
                    );
                    // … and the forward search from p does not stop before t.
                    if let Some(after_p) = ev.next_after(p, tz) {
                        assert!(
                            after_p >= t,
                            "'{text}' in {tz}: {after_p} between {p} and {t}"
                        );
                    }
                    // Nothing matches strictly in between (brute force over short gaps).
                    let (from, to) = (p.timestamp(), t.timestamp());
                    if to - from <= 3 * DAY && (step == 60 || to - from <= 2 * HOUR) {
                        assert_no_match_between(&ev, from, to, step, tz);
                    }
                }
                // Forward: the next event from t - 1s is the first match at or after t, and the
                // previous event before it is the latest match before t.
                if let Some(n) = ev.next_after(t - chrono::TimeDelta::seconds(1), tz) {
                    assert!(n >= t);
                    assert!(ev.matches(n, tz), "'{text}' in {tz}: next {n} is no event");
                    let (from, to) = (t.timestamp() - 1, n.timestamp());
                    if to - from <= 3 * DAY && (step == 60 || to - from <= 2 * HOUR) {
                        assert_no_match_between(&ev, from, to, step, tz);
                    }
                    let back = ev.previous_before(n, tz);
                    assert_eq!(back, previous, "'{text}' in {tz}: previous_before(next(t))");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, MIRROR_EVENTS.len() * 3 * mirror_instants().len());
}

#[test]
fn previous_before_table() {
    let cases: &[(&str, &str, Tz, Option<&str>)] = &[
        (
            "daily",
            "2024-05-10 12:00:00",
            Tz::UTC,
            Some("2024-05-10 00:00:00"),
        ),
        (
            "daily",
            "2024-05-10 00:00:00",
            Tz::UTC,
            Some("2024-05-09 00:00:00"),
        ),
        (
            "02:30",
            "2024-05-10 02:30:01",
            Tz::UTC,
            Some("2024-05-10 02:30:00"),
        ),
        (
            "mon..fri 21:30",
            "2024-05-13 10:00:00",
            Tz::UTC,
            Some("2024-05-10 21:30:00"),
        ),
        (
            "*/15",
            "2024-05-10 12:07:00",
            Tz::UTC,
            Some("2024-05-10 12:00:00"),
        ),
        (
            "monthly",
            "2024-03-01 00:00:00",
            Tz::UTC,
            Some("2024-02-01 00:00:00"),
        ),
        (
            "yearly",
            "2024-06-01 00:00:00",
            Tz::UTC,
            Some("2024-01-01 00:00:00"),
        ),
        (
            "quarterly",
            "2024-06-01 00:00:00",
            Tz::UTC,
            Some("2024-04-01 00:00:00"),
        ),
        (
            "2020-07-31",
            "2100-01-01 00:00:00",
            Tz::UTC,
            Some("2020-07-31 00:00:00"),
        ),
        ("2020-07-31", "2020-07-31 00:00:00", Tz::UTC, None),
        (
            "2020,2021-12-31",
            "2099-01-01 00:00:00",
            Tz::UTC,
            Some("2021-12-31 00:00:00"),
        ),
        (
            "02-29",
            "2027-01-01 00:00:00",
            Tz::UTC,
            Some("2024-02-29 00:00:00"),
        ),
        ("02-30", "2027-01-01 00:00:00", Tz::UTC, None),
        (
            "*-*-31",
            "2024-05-01 00:00:00",
            Tz::UTC,
            Some("2024-03-31 00:00:00"),
        ),
        (
            "Sat *-1..7 15:00",
            "2024-03-01 00:00:00",
            Tz::UTC,
            Some("2024-02-03 15:00:00"),
        ),
        // Vienna local time: 21:30 CEST = 19:30Z
        (
            "mon..fri 21:30",
            "2024-05-13 10:00:00",
            VIENNA,
            Some("2024-05-10 19:30:00"),
        ),
        // UTC suffix ignores the zone
        (
            "mon..fri 21:30 UTC",
            "2024-05-13 10:00:00",
            VIENNA,
            Some("2024-05-10 21:30:00"),
        ),
    ];
    for &(text, before, tz, expected) in cases {
        assert_eq!(
            event(text).previous_before(utc(before), tz),
            expected.map(utc),
            "'{text}' before {before} in {tz}"
        );
    }
}

#[test]
fn sub_second_instants() {
    let daily = event("daily UTC");
    let midnight = at(DAY);
    let just_after = midnight + chrono::TimeDelta::milliseconds(500);
    // An event at the same whole second is before a sub-second instant, not after it.
    assert_eq!(daily.previous_before(just_after, Tz::UTC), Some(midnight));
    assert_eq!(daily.next_after(just_after, Tz::UTC), Some(at(2 * DAY)));
    assert_eq!(
        daily.next_after(midnight - chrono::TimeDelta::milliseconds(500), Tz::UTC),
        Some(midnight)
    );
    assert!(!daily.matches(just_after, Tz::UTC));
}

#[test]
fn searches_are_bounded_for_rare_and_impossible_events() {
    let start = std::time::Instant::now();
    // Far-off single dates and impossible dates return quickly in both directions.
    assert_eq!(
        event("2199-12-31 23:59:59 UTC").next_after(utc("2024-01-01 00:00:00"), Tz::UTC),
        Some(utc("2199-12-31 23:59:59"))
    );
    assert_eq!(
        event("2020-07-31").previous_before(utc("2199-01-01 00:00:00"), VIENNA),
        Some(utc("2020-07-30 22:00:00"))
    );
    assert_eq!(
        event("2015-10-21").next_after(utc("2024-01-01 00:00:00"), VIENNA),
        None
    );
    assert_eq!(
        event("2199-01-01").previous_before(utc("2024-01-01 00:00:00"), VIENNA),
        None
    );
    assert_eq!(
        event("02-30").previous_before(utc("2024-01-01 00:00:00"), NEW_YORK),
        None
    );
    assert_eq!(
        event("*-*-31").next_after(utc("2024-04-01 00:00:00"), Tz::UTC),
        Some(utc("2024-05-31 00:00:00"))
    );
    // Feb 29 on a Sunday: 2004 → 2032.
    assert_eq!(
        event("sun *-02-29").next_after(utc("2004-03-01 00:00:00"), Tz::UTC),
        Some(utc("2032-02-29 00:00:00"))
    );
    assert_eq!(
        event("sun *-02-29").previous_before(utc("2032-01-01 00:00:00"), Tz::UTC),
        Some(utc("2004-02-29 00:00:00"))
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// occurrences_between: month ends and leap years.

#[test]
fn occurrences_across_month_end_and_leap_year() {
    let month_end = event("*-*-31 UTC");
    let got = month_end.occurrences_between(
        utc("2024-01-01 00:00:00"),
        utc("2024-12-31 00:00:00"),
        Tz::UTC,
        100,
    );
    assert_eq!(
        got,
        [
            "2024-01-31",
            "2024-03-31",
            "2024-05-31",
            "2024-07-31",
            "2024-08-31",
            "2024-10-31",
            "2024-12-31"
        ]
        .iter()
        .map(|d| utc(&format!("{d} 00:00:00")))
        .collect::<Vec<_>>()
    );

    let monthly = event("monthly");
    assert_eq!(
        monthly.occurrences_between(
            utc("2024-01-31 12:00:00"),
            utc("2024-04-01 00:00:00"),
            Tz::UTC,
            100
        ),
        vec![
            utc("2024-02-01 00:00:00"),
            utc("2024-03-01 00:00:00"),
            utc("2024-04-01 00:00:00")
        ]
    );

    // Day 29 exists in February 2024 but not in February 2023.
    let the_29th = event("*-*-29 12:00");
    assert_eq!(
        the_29th.occurrences_between(
            utc("2024-01-15 00:00:00"),
            utc("2024-04-01 00:00:00"),
            Tz::UTC,
            100
        ),
        vec![
            utc("2024-01-29 12:00:00"),
            utc("2024-02-29 12:00:00"),
            utc("2024-03-29 12:00:00")
        ]
    );
    assert_eq!(
        the_29th.occurrences_between(
            utc("2023-01-15 00:00:00"),
            utc("2023-04-01 00:00:00"),
            Tz::UTC,
            100
        ),
        vec![utc("2023-01-29 12:00:00"), utc("2023-03-29 12:00:00")]
    );

    let leap_day = event("02-29");
    assert_eq!(
        leap_day.next_after(utc("2023-06-01 00:00:00"), Tz::UTC),
        Some(utc("2024-02-29 00:00:00"))
    );
    assert_eq!(
        leap_day.next_after(utc("2024-02-29 00:00:00"), Tz::UTC),
        Some(utc("2028-02-29 00:00:00"))
    );

    // `max` caps the list; `(from, to]` excludes from and includes to.
    let daily = event("daily UTC");
    assert_eq!(
        daily
            .occurrences_between(at(0), at(10 * DAY), Tz::UTC, 3)
            .len(),
        3
    );
    assert_eq!(
        daily.occurrences_between(at(DAY), at(3 * DAY), Tz::UTC, 10),
        vec![at(2 * DAY), at(3 * DAY)]
    );
    assert!(daily
        .occurrences_between(at(3 * DAY), at(DAY), Tz::UTC, 10)
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Daylight saving time.

fn occurrences(text: &str, from: &str, to: &str, tz: Tz) -> Vec<DateTime<Utc>> {
    event(text).occurrences_between(utc(from), utc(to), tz, 100)
}

#[test]
fn dst_spring_forward_vienna() {
    // 2024-03-31: 02:00 CET → 03:00 CEST (01:00Z). 02:30 does not exist that day.
    assert_eq!(
        occurrences(
            "02:30",
            "2024-03-29 00:00:00",
            "2024-04-02 00:00:00",
            VIENNA
        ),
        vec![
            utc("2024-03-29 01:30:00"), // 02:30 CET
            utc("2024-03-30 01:30:00"),
            utc("2024-04-01 00:30:00"), // 02:30 CEST; none on the 31st
        ]
    );
    // `*/30` jumps from 01:30 CET straight to 03:00 CEST.
    assert_eq!(
        occurrences("*/30", "2024-03-31 00:00:00", "2024-03-31 01:30:00", VIENNA),
        vec![
            utc("2024-03-31 00:30:00"), // 01:30 CET
            utc("2024-03-31 01:00:00"), // 03:00 CEST
            utc("2024-03-31 01:30:00"), // 03:30 CEST
        ]
    );
    // Daily at midnight is 23:00Z before and 22:00Z after the change.
    assert_eq!(
        occurrences(
            "daily",
            "2024-03-30 12:00:00",
            "2024-04-01 12:00:00",
            VIENNA
        ),
        vec![utc("2024-03-30 23:00:00"), utc("2024-03-31 22:00:00")]
    );
    // An hour list containing the missing hour and the next one keeps the existing one.
    assert_eq!(
        event("2,3:30").next_after(utc("2024-03-30 23:00:00"), VIENNA),
        Some(utc("2024-03-31 01:30:00")) // 03:30 CEST
    );
    let half_past_two = event("02:30");
    assert!(!half_past_two.matches(utc("2024-03-31 01:30:00"), VIENNA)); // 03:30 CEST
    assert_eq!(
        half_past_two.previous_before(utc("2024-04-01 00:00:00"), VIENNA),
        Some(utc("2024-03-30 01:30:00"))
    );
}

#[test]
fn dst_fall_back_vienna() {
    // 2024-10-27: 03:00 CEST → 02:00 CET (01:00Z). 02:30 occurs twice; the earlier counts.
    assert_eq!(
        occurrences(
            "02:30",
            "2024-10-26 00:00:00",
            "2024-10-29 00:00:00",
            VIENNA
        ),
        vec![
            utc("2024-10-26 00:30:00"), // 02:30 CEST
            utc("2024-10-27 00:30:00"), // 02:30 CEST, first pass
            utc("2024-10-28 01:30:00"), // 02:30 CET
        ]
    );
    assert_eq!(
        occurrences("*/30", "2024-10-26 23:00:00", "2024-10-27 02:30:00", VIENNA),
        vec![
            utc("2024-10-26 23:30:00"), // 01:30 CEST
            utc("2024-10-27 00:00:00"), // 02:00 CEST
            utc("2024-10-27 00:30:00"), // 02:30 CEST
            utc("2024-10-27 02:00:00"), // 03:00 CET (second pass of 02:xx skipped)
            utc("2024-10-27 02:30:00"),
        ]
    );
    let half_hourly = event("*/30");
    // Starting inside the second pass continues after the repeated hour.
    assert_eq!(
        half_hourly.next_after(utc("2024-10-27 01:00:00"), VIENNA),
        Some(utc("2024-10-27 02:00:00"))
    );
    assert_eq!(
        half_hourly.previous_before(utc("2024-10-27 01:15:00"), VIENNA),
        Some(utc("2024-10-27 00:30:00"))
    );
    assert_eq!(
        half_hourly.previous_before(utc("2024-10-27 02:00:00"), VIENNA),
        Some(utc("2024-10-27 00:30:00"))
    );
    assert!(half_hourly.matches(utc("2024-10-27 00:30:00"), VIENNA));
    assert!(!half_hourly.matches(utc("2024-10-27 01:30:00"), VIENNA)); // second 02:30
                                                                       // Daily at midnight is 22:00Z before and 23:00Z after the change.
    assert_eq!(
        occurrences(
            "daily",
            "2024-10-26 12:00:00",
            "2024-10-28 12:00:00",
            VIENNA
        ),
        vec![utc("2024-10-26 22:00:00"), utc("2024-10-27 23:00:00")]
    );
}

#[test]
fn dst_spring_forward_new_york() {
    // 2024-03-10: 02:00 EST → 03:00 EDT (07:00Z).
    assert_eq!(
        occurrences(
            "02:30",
            "2024-03-09 00:00:00",
            "2024-03-12 00:00:00",
            NEW_YORK
        ),
        vec![
            utc("2024-03-09 07:30:00"), // 02:30 EST
            utc("2024-03-11 06:30:00"), // 02:30 EDT; none on the 10th
        ]
    );
    assert_eq!(
        occurrences(
            "*/30",
            "2024-03-10 06:00:00",
            "2024-03-10 07:30:00",
            NEW_YORK
        ),
        vec![
            utc("2024-03-10 06:30:00"), // 01:30 EST
            utc("2024-03-10 07:00:00"), // 03:00 EDT
            utc("2024-03-10 07:30:00"),
        ]
    );
    assert_eq!(
        event("mon..fri 02:30").next_after(utc("2024-03-08 08:00:00"), NEW_YORK),
        Some(utc("2024-03-11 06:30:00"))
    );
}

#[test]
fn dst_fall_back_new_york() {
    // 2024-11-03: 02:00 EDT → 01:00 EST (06:00Z). 01:30 occurs twice; the earlier counts.
    assert_eq!(
        occurrences(
            "01:30",
            "2024-11-02 00:00:00",
            "2024-11-05 00:00:00",
            NEW_YORK
        ),
        vec![
            utc("2024-11-02 05:30:00"), // 01:30 EDT
            utc("2024-11-03 05:30:00"), // 01:30 EDT, first pass
            utc("2024-11-04 06:30:00"), // 01:30 EST
        ]
    );
    assert_eq!(
        occurrences(
            "*/30",
            "2024-11-03 04:00:00",
            "2024-11-03 07:30:00",
            NEW_YORK
        ),
        vec![
            utc("2024-11-03 04:30:00"), // 00:30 EDT
            utc("2024-11-03 05:00:00"), // 01:00 EDT
            utc("2024-11-03 05:30:00"), // 01:30 EDT
            utc("2024-11-03 07:00:00"), // 02:00 EST
            utc("2024-11-03 07:30:00"),
        ]
    );
    assert_eq!(
        event("01:30").previous_before(utc("2024-11-03 06:45:00"), NEW_YORK),
        Some(utc("2024-11-03 05:30:00"))
    );
}

// ---------------------------------------------------------------------------------------------
// describe()

#[test]
fn describe_outputs() {
    let cases: &[(&str, &str)] = &[
        ("02:00", "daily at 02:00"),
        ("daily", "daily at 00:00"),
        ("mon..fri 21:30", "Mon–Fri at 21:30"),
        ("*/15", "every 15 minutes"),
        ("*:0/15", "every 15 minutes"),
        ("sat,sun 21:00", "Sat, Sun at 21:00"),
        ("monthly UTC", "1st of each month at 00:00 (UTC)"),
        ("monthly", "1st of each month at 00:00"),
        ("weekly", "Mon at 00:00"),
        ("yearly", "1st of Jan at 00:00"),
        ("quarterly", "1st of Jan, Apr, Jul, Oct at 00:00"),
        ("semi-annually", "1st of Jan, Jul at 00:00"),
        ("hourly", "every hour at :00"),
        ("minutely", "every minute"),
        ("*", "every minute"),
        ("30", "every hour at :30"),
        ("30:00", "every hour at :30"),
        ("1,4,6", "every hour at :01, :04, :06"),
        ("2,22:30", "daily at 02:30, 22:30"),
        ("fri..mon 03:00", "Fri–Mon at 03:00"),
        ("mon,wed,fri 01:00", "Mon, Wed, Fri at 01:00"),
        ("mon,tue,wed,thu,fri 02:30", "Mon–Fri at 02:30"),
        ("mon..sun 02:30", "daily at 02:30"),
        ("*/6:00", "every 6 hours at :00"),
        ("*/12:0", "daily at 00:00, 12:00"),
        ("4..10/2:0", "daily at 04:00, 06:00, 08:00, 10:00"),
        ("8..17:0/15", "every 15 minutes during hours 08–17"),
        ("mon..fri */15", "every 15 minutes on Mon–Fri"),
        ("mon 2:*", "every minute during hour 02 on Mon"),
        ("2020-07-31 12:00 UTC", "2020-07-31 at 12:00 (UTC)"),
        ("02-29", "29th of Feb at 00:00"),
        ("Sat *-1..7 15:00", "Sat on days 1–7 of each month at 15:00"),
        ("*-*-1,15 03:00", "1st, 15th of each month at 03:00"),
        ("*:*:*", "every second"),
        ("*:3:5", "every hour at :03:05"),
        ("12:00:30", "daily at 12:00:30"),
        ("*/5 UTC", "every 5 minutes (UTC)"),
        ("5/15", "every 15 minutes (at :05, :20, :35, :50)"),
        ("2020,2021-12-31", "2020-12-31, 2021-12-31 at 00:00"),
        ("0-01", "never (a field allows no valid value)"),
        (
            "mon..fri 8..18:00",
            "every hour at :00 during hours 08–18 on Mon–Fri",
        ),
        ("*:*:0/10", "every 10 seconds"),
        ("*:*:5,6", "every minute at second 5, 6"),
        ("*/45", "every hour at :00, :45"),
        ("2020..2025-01-01", "1st of Jan in years 2020–2025 at 00:00"),
        ("*-12-24..26 18:00", "24th, 25th, 26th of Dec at 18:00"),
        (
            "*:*/10:0,30",
            "when hour is any, minute is every 10 from 0, second is 0, 30",
        ),
    ];
    for &(text, expected) in cases {
        assert_eq!(event(text).describe(), expected, "describe('{text}')");
    }
}

// ---------------------------------------------------------------------------------------------
// Error messages name the text, the position and a correct form.

#[test]
fn error_messages_explain_and_suggest() {
    let message = |text: &str| CalendarEvent::parse(text).unwrap_err().to_string();

    assert_eq!(
        CalendarEvent::parse("   ").unwrap_err(),
        ScheduleError::Empty
    );
    assert!(message("").contains("calendar event is empty"));

    let err = CalendarEvent::parse("61").unwrap_err();
    match &err {
        ScheduleError::Parse {
            event,
            at,
            column,
            reason,
        } => {
            assert_eq!(event, "61");
            assert_eq!(at, "61");
            assert_eq!(*column, 1);
            assert!(reason.contains("minute must be 0..59"), "{reason}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("unable to parse calendar event '61' at '61' (column 1)"),
        "{text}"
    );
    assert!(text.contains("`mon..fri 21:00`"), "{text}");

    let text = message("0..80");
    assert!(
        text.contains("at '80' (column 4)") && text.contains("80 is out of range"),
        "{text}"
    );

    let text = message("*/0");
    assert!(text.contains("step of 0"), "{text}");

    let text = message("5..3");
    assert!(
        text.contains("goes backwards") && text.contains("`3..5`"),
        "{text}"
    );

    let text = message("Daily");
    assert!(
        text.contains("keywords are lowercase") && text.contains("`daily`"),
        "{text}"
    );

    let text = message("mon,xyz 02:00");
    assert!(
        text.contains("at 'xyz 02:00' (column 5)") && text.contains("'xyz' is not a weekday"),
        "{text}"
    );

    let text = message(" mon 0 0");
    assert!(
        text.contains("'mon 0 0' at ' 0' (column 6)") && text.contains("separate hours"),
        "{text}"
    );

    let text = message("mon utc");
    assert!(text.contains("`UTC`"), "{text}");

    let text = message("2021-13-01");
    assert!(
        text.contains("13 is out of range: a month must be 1..12"),
        "{text}"
    );

    let text = message("UTC");
    assert!(
        text.contains("'UTC' at 'UTC' (column 1)") && text.contains("expected a keyword"),
        "{text}"
    );

    let text = message("mon 12:00 UTC UTC");
    assert!(text.contains("only once"), "{text}");

    let text = message("12:00:61");
    assert!(text.contains("a second must be 0..59"), "{text}");
}

#[test]
fn from_str_and_display_keep_the_raw_text() {
    let parsed: CalendarEvent = " mon..fri 21:00 ".parse().unwrap();
    assert_eq!(parsed.to_string(), " mon..fri 21:00 ");
    assert_eq!(parsed, event(" mon..fri 21:00 "));
    assert_ne!(parsed, event("mon..fri 21:00"));
}
