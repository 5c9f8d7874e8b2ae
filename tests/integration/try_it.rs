//! The README's "Try it without a cluster" path, end to end at the wall clock: the demo simulator
//! serving data shifted to now, the tool run without `--now`. Guests must come out fresh, as they
//! do on the frozen demo, not "missed 323 scheduled runs". Also pins that the demo's recorded
//! next-run times agree with its own schedules in the node's time zone.

use chrono::{DateTime, Utc};
use pve_backup_report::schedule::CalendarEvent;
use serde_json::Value;

use super::sim;
use super::support::{run_tool, World};

#[tokio::test]
async fn the_try_it_simulator_at_the_wall_clock_gives_fresh_guests() {
    let world = World::start(sim::demo::demo_scenario_live(Utc::now().timestamp())).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit(sim::demo::DEMO_PBS, "PBS"));
    let run = run_tool(&vars, &["--dump-report-data"]).await;
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let guests = report["guests"].as_array().expect("guests");
    let stale = guests.iter().filter(|g| g["freshness"] == "stale").count();
    let fresh = guests.iter().filter(|g| g["freshness"] == "ok").count();
    assert!(stale < guests.len(), "every guest is stale: {}", run.stdout);
    // The same verdicts as the frozen demo: 10 fresh, app02 failed, scratch never backed up.
    assert_eq!((fresh, stale), (10, 0), "{}", run.stdout);
}

#[test]
fn the_demo_next_runs_follow_its_schedules_in_the_node_time_zone() {
    let scenario = sim::demo_scenario();
    let now = DateTime::from_timestamp(sim::demo::DEMO_NOW, 0).expect("valid");
    let vienna: chrono_tz::Tz = "Europe/Vienna".parse().expect("zone");
    let jobs = scenario
        .pve
        .backup_jobs
        .iter()
        .chain(scenario.pbs.iter().flat_map(|p| p.verify_jobs.iter()))
        .chain(scenario.pbs.iter().flat_map(|p| p.prune_jobs.iter()));
    let mut checked = 0;
    for job in jobs {
        let (Some(schedule), Some(next)) = (
            job.get("schedule").and_then(Value::as_str),
            job.get("next-run").and_then(Value::as_i64),
        ) else {
            continue;
        };
        let event = CalendarEvent::parse(schedule).expect("schedule parses");
        let expected = event.next_after(now, vienna).expect("a next run");
        assert_eq!(
            DateTime::from_timestamp(next, 0).expect("valid"),
            expected,
            "job {:?} ({schedule})",
            job.get("id")
        );
        checked += 1;
    }
    assert_eq!(checked, 7, "five PVE jobs, a verify and a prune job");
}

#[test]
fn shifted_schedules_keep_their_days_and_times() {
    use sim::demo::shift_schedule;
    assert_eq!(shift_schedule("21:00", 0), "21:00");
    assert_eq!(shift_schedule("21:00", 7 * 86400), "21:00");
    assert_eq!(shift_schedule("21:00", 3 * 3600 + 60), "00:01");
    assert_eq!(shift_schedule("daily", 90 * 60), "01:30");
    assert_eq!(shift_schedule("sat 02:30", 86400), "sun 02:30");
    assert_eq!(shift_schedule("sun 23:00", 3600), "mon 00:00");
    assert_eq!(
        shift_schedule("mon..fri 12:00", 12 * 3600),
        "tue,wed,thu,fri,sat 00:00"
    );
}
