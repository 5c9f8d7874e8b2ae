//! `demo_scenario()`: a small realistic cluster with every interesting case (pools incl. a
//! nested one, all/pool/vmid/disabled/node-restricted jobs, a deleted VMID, a failed guest, a
//! `backup=0` disk, PBS namespaces, VM 100 and CT 100, unverified/failed/in-progress/orphan
//! snapshots) and fixed credentials exported as constants.

use serde_json::json;

use super::scenario::{
    guest, job, raw, Datastore, FileVolume, Kind, Node, PbsScenario, Pool, Scenario, Snapshot,
};
use super::tasks::PbsTask;
use super::vzdump::{LogGuest, Outcome, Run, Target};

/// Fixed "now" of the demo (2026-01-15T08:00:00Z); PVE answers relative to it.
pub const DEMO_NOW: i64 = 1_768_464_000;
/// Secret of `monitor@pve!full` (PVEAuditor on `/`, privsep=1, user also PVEAuditor).
pub const PVE_FULL_SECRET: &str = "5f1c2a9e-7b3d-4c8e-9a01-2d3e4f5a6b7c";
/// Secret of `monitor@pve!empty` (privsep=1, no token ACLs: sees nothing).
pub const PVE_EMPTY_SECRET: &str = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
/// Secret of `monitor@pve!nosep` (privsep=0: the user's PVEAuditor rights).
pub const PVE_NOSEP_SECRET: &str = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f";
/// Secret of `backup@pve!ops` (PVEDatastoreAdmin on `/storage`, PVEVMUser on `/vms`: sees backups).
pub const PVE_OPS_SECRET: &str = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2910";
/// Password of `auditor@pve` (PVEAuditor on `/`) for ticket login.
pub const PVE_AUDITOR_PASSWORD: &str = "auditor-demo-password";
/// Secret of the PBS token `monitor@pbs!audit` (role Audit on `/`).
pub const PBS_AUDIT_SECRET: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
/// Secret of the PBS token `pve@pbs!backup` (DatastoreBackup on `/datastore/store1`; owner of
/// the PVE backups; used by PVE's `pbs1` storage).
pub const PBS_BACKUP_SECRET: &str = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
/// Secret of the PBS token `monitor@pbs!nothing` (no ACLs).
pub const PBS_NOTHING_SECRET: &str = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f";
/// Password of `monitor@pbs` for PBS ticket login.
pub const PBS_MONITOR_PASSWORD: &str = "pbs-monitor-password";
/// Name of the demo PBS.
pub const DEMO_PBS: &str = "pbs1";

/// UTC offset of Europe/Vienna in January.
const VIENNA: i64 = 3600;

/// The demo cluster, frozen at [`DEMO_NOW`] (what the tests and the built-in demo recording see).
pub fn demo_scenario() -> Scenario {
    demo_scenario_at(DEMO_NOW)
}

/// The demo with fleecing (issue #13): the nightly job fleeces to `local-lvm`, its logs print
/// `--fleecing` (so VM 201's failed run last night used it), and a killed run left
/// `local-lvm:vm-200-fleece-0` on pve2 next to VM 200's ordinary disk.
pub fn fleecing_scenario() -> Scenario {
    let mut sc = demo_scenario();
    for job in sc
        .pve
        .backup_jobs
        .iter_mut()
        .filter(|j| j.get("id") == Some(&json!("backup-all-nightly")))
    {
        job.insert(
            "fleecing".into(),
            json!({"enabled": 1, "storage": "local-lvm"}),
        );
    }
    for task in &mut sc.pve.tasks {
        for line in &mut task.log {
            if line.starts_with("INFO: starting new backup job: vzdump --all 1") {
                line.push_str(" --fleecing 'enabled=1,storage=local-lvm'");
            }
        }
    }
    sc.pve.image_volumes = vec![
        FileVolume::image("local-lvm", "pve2", 200, "disk-0", 34_359_738_368),
        FileVolume::image("local-lvm", "pve2", 200, "fleece-0", 34_359_738_368),
    ];
    sc
}

/// The demo cluster as it would look at `wall_clock` (Unix seconds): every time shifted by the
/// same amount (whole minutes), the job schedules too, so each backup still ran at its job's
/// scheduled time and guests come out fresh, not "missed 300 runs". Nodes answer with the real
/// clock. For trying the tool out; tests use [`demo_scenario`].
pub fn demo_scenario_live(wall_clock: i64) -> Scenario {
    let now = DEMO_NOW + (wall_clock - DEMO_NOW).div_euclid(60) * 60;
    let mut sc = demo_scenario_at(now);
    sc.pve.settings.now = None;
    for pbs in &mut sc.pbs {
        pbs.settings.now = None;
    }
    sc
}

/// Move a simple calendar event (`HH:MM`, `<days> HH:MM`, `daily`) by `shift` seconds, in the
/// demo's fixed local offset. With a shift of whole weeks the text is returned unchanged.
pub fn shift_schedule(schedule: &str, shift: i64) -> String {
    const WEEK_MIN: i64 = 7 * 1440;
    let shift_min = shift.div_euclid(60).rem_euclid(WEEK_MIN);
    if shift_min == 0 {
        return schedule.to_string();
    }
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let (days_part, time) = match schedule.trim() {
        "daily" => (None, "00:00"),
        text => match text.rsplit_once(' ') {
            Some((days, time)) => (Some(days), time),
            None => (None, text),
        },
    };
    let Some((h, m)) = time
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
    else {
        return schedule.to_string();
    };
    let index = |d: &str| DAYS.iter().position(|x| *x == d);
    let days: Vec<usize> = match days_part {
        None => (0..7).collect(),
        Some(spec) => {
            let mut out = Vec::new();
            for part in spec.split(',') {
                match part.split_once("..") {
                    Some((a, b)) => {
                        let (Some(a), Some(b)) = (index(a), index(b)) else {
                            return schedule.to_string();
                        };
                        out.extend(a..=b);
                    }
                    None => match index(part) {
                        Some(d) => out.push(d),
                        None => return schedule.to_string(),
                    },
                }
            }
            out
        }
    };
    let mut shifted: Vec<(usize, i64)> = days
        .iter()
        .map(|&d| {
            let minute = (d as i64 * 1440 + h * 60 + m + shift_min).rem_euclid(WEEK_MIN);
            ((minute / 1440) as usize, minute % 1440)
        })
        .collect();
    shifted.sort();
    let minute = shifted.first().map(|(_, t)| *t).unwrap_or(0);
    let hhmm = format!("{:02}:{:02}", minute / 60, minute % 60);
    if shifted.len() == 7 {
        hhmm
    } else {
        let names: Vec<&str> = shifted.iter().map(|(d, _)| DAYS[*d]).collect();
        format!("{} {hhmm}", names.join(","))
    }
}

/// The demo cluster at `now`; `now - DEMO_NOW` also shifts the schedules.
fn demo_scenario_at(now: i64) -> Scenario {
    let shift = now - DEMO_NOW;
    let sched = |text: &str| json!(shift_schedule(text, shift));
    let mut sc = Scenario::builder();
    sc.pve.cluster_name = Some("democluster".into());
    sc.pve.settings.now = Some(now);
    for (i, n) in ["pve1", "pve2", "pve3"].iter().enumerate() {
        let mut node = Node::new(n, "Europe/Vienna");
        node.ip = Some(format!("10.0.0.{}", 11 + i));
        sc.pve.nodes.push(node);
    }

    let guests = vec![
        guest(100, "pve1", Kind::Qemu)
            .name("web01")
            .pool("prod")
            .tags("critical;web")
            .cfg("scsi1", json!("local-lvm:vm-100-disk-1,backup=0,size=200G"))
            .cfg("ide2", json!("local:iso/debian-12.iso,media=cdrom"))
            .cfg("description", json!("Public web server\nOwner: web team")),
        guest(101, "pve1", Kind::Lxc)
            .name("dns01")
            .pool("prod")
            .cfg("mp0", json!("local-lvm:vm-101-disk-1,mp=/data,size=16G")),
        guest(102, "pve1", Kind::Qemu).name("db01").pool("prod/db"),
        guest(103, "pve1", Kind::Lxc)
            .name("cache01")
            .status("stopped"),
        guest(200, "pve2", Kind::Qemu).name("app01").pool("prod"),
        guest(201, "pve2", Kind::Qemu).name("app02"),
        guest(202, "pve2", Kind::Lxc)
            .name("mon01")
            .cfg(
                "mp0",
                json!("local-lvm:vm-202-disk-1,mp=/var/lib/prometheus,backup=1,size=50G"),
            )
            .cfg("mp1", json!("/srv/shared,mp=/shared")),
        guest(203, "pve2", Kind::Qemu)
            .name("win01")
            .status("stopped")
            .cfg("bios", json!("ovmf"))
            .cfg(
                "efidisk0",
                json!("local-lvm:vm-203-disk-1,efitype=4m,size=4M"),
            ),
        guest(300, "pve3", Kind::Qemu)
            .name("tmpl-debian")
            .template(),
        guest(301, "pve3", Kind::Lxc).name("build01").lock("backup"),
        guest(302, "pve3", Kind::Qemu).name("test01"),
        guest(303, "pve3", Kind::Qemu)
            .name("scratch")
            .status("stopped"),
    ];
    sc.pve.guests = guests;
    sc.pve.pools = vec![
        Pool {
            poolid: "prod".into(),
            comment: Some("Production".into()),
            storages: vec!["pbs1".into()],
        },
        Pool {
            poolid: "prod/db".into(),
            comment: Some("Databases".into()),
            storages: Vec::new(),
        },
    ];
    sc.pve.storages = vec![
        raw(&[
            ("storage", json!("local")),
            ("type", json!("dir")),
            ("path", json!("/var/lib/vz")),
            ("content", json!("iso,vztmpl,backup")),
        ]),
        raw(&[
            ("storage", json!("local-lvm")),
            ("type", json!("lvmthin")),
            ("vgname", json!("pve")),
            ("thinpool", json!("data")),
            ("content", json!("images,rootdir")),
        ]),
        raw(&[
            ("storage", json!("pbs1")),
            ("type", json!("pbs")),
            ("server", json!(DEMO_PBS)),
            ("datastore", json!("store1")),
            ("namespace", json!("pve")),
            ("username", json!("pve@pbs!backup")),
            ("content", json!("backup")),
            ("prune-backups", json!("keep-daily=7,keep-last=3")),
        ]),
        raw(&[
            ("storage", json!("nfs-backup")),
            ("type", json!("nfs")),
            ("server", json!("10.0.0.20")),
            ("export", json!("/backup")),
            ("path", json!("/mnt/pve/nfs-backup")),
            ("content", json!("backup")),
            ("prune-backups", json!("keep-last=4")),
        ]),
    ];
    // Storage replication (not a backup): web01 to pve2 every 15 minutes; the unprotected
    // scratch VM 303 to pve1, failing since its target lost its ZFS pool.
    sc.pve.replication = vec![
        raw(&[
            ("id", json!("100-0")),
            ("type", json!("local")),
            ("guest", json!(100)),
            ("jobnum", json!(0)),
            ("target", json!("pve2")),
            ("schedule", json!("*/15")),
            ("vmtype", json!("qemu")),
            ("last_sync", json!(now - 600)),
            ("last_try", json!(now - 600)),
            ("fail_count", json!(0)),
            ("duration", json!(4.2)),
            ("next_sync", json!(now + 300)),
        ]),
        raw(&[
            ("id", json!("303-0")),
            ("type", json!("local")),
            ("guest", json!(303)),
            ("jobnum", json!(0)),
            ("target", json!("pve1")),
            ("schedule", json!("*/30")),
            ("vmtype", json!("qemu")),
            ("last_sync", json!(now - 2 * 86400)),
            ("last_try", json!(now - 1200)),
            ("fail_count", json!(3)),
            (
                "error",
                json!("zfs error: cannot open 'rpool/data': dataset does not exist"),
            ),
            ("duration", json!(0.8)),
            ("next_sync", json!(now + 600)),
        ]),
    ];
    sc.pve.backup_jobs = vec![
        job(
            "backup-all-nightly",
            &[
                ("all", json!(1)),
                ("exclude", json!("303")),
                ("storage", json!("pbs1")),
                ("schedule", sched("21:00")),
                // Next run as PVE computes it in the node's zone (Vienna, UTC+1 in January): today 21:00 = 20:00 UTC.
                ("next-run", json!(now + 12 * 3600)),
                ("mode", json!("snapshot")),
                ("enabled", json!(1)),
                ("notes-template", json!("{{guestname}}")),
                (
                    "prune-backups",
                    json!({"keep-daily": "7", "keep-last": "3"}),
                ),
                ("comment", json!("everything except scratch")),
            ],
        ),
        job(
            "backup-prod-pool",
            &[
                ("pool", json!("prod")),
                ("storage", json!("nfs-backup")),
                ("schedule", sched("sat 02:30")),
                // Thursday 08:00 UTC now: Saturday 02:30 Vienna = 01:30 UTC.
                ("next-run", json!(now + 41 * 3600 + 1800)),
                ("mode", json!("snapshot")),
                ("enabled", json!(1)),
            ],
        ),
        job(
            "backup-vmlist",
            &[
                ("vmid", json!("100,202,999")),
                ("storage", json!("pbs1")),
                ("schedule", sched("mon..fri 12:00")),
                // Today (Thursday) 12:00 Vienna = 11:00 UTC.
                ("next-run", json!(now + 3 * 3600)),
                ("mode", json!("snapshot")),
                ("enabled", json!(1)),
            ],
        ),
        job(
            "backup-disabled",
            &[
                ("vmid", json!("302")),
                ("storage", json!("pbs1")),
                ("schedule", sched("sun 04:00")),
                // Sunday 04:00 Vienna = 03:00 UTC (PVE lists it for disabled jobs too).
                ("next-run", json!(now + 67 * 3600)),
                ("enabled", json!(0)),
            ],
        ),
        job(
            "backup-node3",
            &[
                ("all", json!(1)),
                ("exclude", json!("303")),
                ("node", json!("pve3")),
                ("storage", json!("nfs-backup")),
                ("schedule", sched("03:15")),
                // Tomorrow 03:15 Vienna = 02:15 UTC.
                ("next-run", json!(now + 18 * 3600 + 15 * 60)),
                ("mode", json!("stop")),
                ("enabled", json!(1)),
                ("repeat-missed", json!(1)),
            ],
        ),
    ];

    // Access control.
    let a = &mut sc.pve.access;
    a.user("monitor@pve", None)
        .user("auditor@pve", Some(PVE_AUDITOR_PASSWORD))
        .user("backup@pve", None)
        .token("monitor@pve!full", PVE_FULL_SECRET, true)
        .token("monitor@pve!empty", PVE_EMPTY_SECRET, true)
        .token("monitor@pve!nosep", PVE_NOSEP_SECRET, false)
        .token("backup@pve!ops", PVE_OPS_SECRET, false)
        .acl("/", "monitor@pve", "PVEAuditor", true)
        .acl("/", "monitor@pve!full", "PVEAuditor", true)
        .acl("/", "auditor@pve", "PVEAuditor", true)
        .acl("/", "backup@pve", "PVEAuditor", true)
        .acl("/storage", "backup@pve", "PVEDatastoreAdmin", true)
        .acl("/vms", "backup@pve", "PVEVMUser", true);

    // PBS.
    let mut pbs = PbsScenario::new(DEMO_PBS);
    pbs.settings.utc_offset_secs = VIENNA;
    pbs.settings.now = Some(now);
    pbs.access
        .user("monitor@pbs", Some(PBS_MONITOR_PASSWORD))
        .user("pve@pbs", None)
        .user("lab@pbs", None)
        .token("monitor@pbs!audit", PBS_AUDIT_SECRET, true)
        .token("monitor@pbs!nothing", PBS_NOTHING_SECRET, true)
        .token("pve@pbs!backup", PBS_BACKUP_SECRET, true)
        .acl("/", "monitor@pbs", "Audit", true)
        .acl("/", "monitor@pbs!audit", "Audit", true)
        // Off-site copies need Remote.Audit and Tape.Audit, which the Audit role lacks.
        .acl("/remote", "monitor@pbs", "RemoteAudit", true)
        .acl("/remote", "monitor@pbs!audit", "RemoteAudit", true)
        .acl("/tape", "monitor@pbs", "TapeAudit", true)
        .acl("/tape", "monitor@pbs!audit", "TapeAudit", true)
        .acl("/datastore/store1", "pve@pbs", "DatastoreBackup", true)
        .acl(
            "/datastore/store1",
            "pve@pbs!backup",
            "DatastoreBackup",
            true,
        );
    let mut ds = Datastore::new("store1");
    ds.comment = Some("main backup store".into());
    ds.namespaces = vec!["pve".into(), "lab".into()];
    ds.estimated_full_date = Some(now + 200 * 86400);
    let gc_upid = PbsTask::new(
        DEMO_PBS,
        "garbage_collection",
        Some("store1"),
        "root@pam",
        now - 7 * 3600,
        Some(1800),
        &["starting garbage collection on store store1", "TASK OK"],
        VIENNA,
    );
    ds.gc_status = raw(&[
        ("upid", json!(gc_upid.upid)),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(now - 7 * 3600 + 1800)),
        ("duration", json!(1800)),
        ("index-file-count", json!(120)),
        ("index-data-bytes", json!(3_221_225_472_000u64)),
        ("disk-bytes", json!(429_496_729_600u64)),
        ("disk-chunks", json!(102_400)),
    ]);
    let verify_task = PbsTask::new(
        DEMO_PBS,
        "verificationjob",
        Some("store1:v-daily"),
        "root@pam",
        now - 5 * 3600,
        Some(900),
        &[
            "Starting datastore verify job 'store1:v-daily'",
            "TASK ERROR: verification failed - please check the log for details",
        ],
        VIENNA,
    );
    let verify_upid = verify_task.upid.clone();
    pbs.tasks.push(gc_upid);
    pbs.tasks.push(verify_task);

    // Nightly history: job backup-all-nightly, 5 nights, 20:00 UTC (21:00 Vienna).
    let day_start = now - 8 * 3600;
    let nights: Vec<i64> = (1..=5)
        .rev()
        .map(|d| day_start - d * 86400 + 20 * 3600)
        .collect();
    let job_args = "--all 1 --exclude 303 --storage pbs1 --mode snapshot --quiet 1 --notes-template '{{guestname}}' --prune-backups 'keep-daily=7,keep-last=3'";
    let all_guests = sc.pve.guests.clone();
    let last_night = *nights.last().unwrap_or(&now);
    for &night in &nights {
        for node in ["pve1", "pve2", "pve3"] {
            let local: Vec<LogGuest> = all_guests
                .iter()
                .filter(|g| g.node == node && g.vmid != 303)
                .map(|g| {
                    let outcome = if g.vmid == 201 && night == last_night {
                        Outcome::Failed("VM 201 qmp command 'backup' failed - got timeout".into())
                    } else if g.vmid == 203 {
                        Outcome::Warn("efidisk0: EFI disk without 'ms-cert=2023k' option, suggesting to update the EFI certificates".into())
                    } else {
                        Outcome::Ok
                    };
                    LogGuest::from_guest(g, outcome)
                })
                .collect();
            let external: Vec<u32> = all_guests
                .iter()
                .filter(|g| g.node != node && g.vmid != 303)
                .map(|g| g.vmid)
                .collect();
            let run = Run {
                node: node.into(),
                utc_offset_secs: VIENNA,
                start: night,
                job_args: job_args.into(),
                skip_external: external,
                guests: local,
                target: Target::Pbs {
                    storage: "pbs1".into(),
                    repo: "pve@pbs!backup@127.0.0.1:8007:store1".into(),
                    ns: "pve".into(),
                },
                seconds_per_guest: 95,
                compact: false,
            };
            let (task, rendered) = run.task("root@pam");
            sc.pve.tasks.push(task);
            for (vmid, kind, time) in rendered.backups {
                let name = all_guests
                    .iter()
                    .find(|g| g.vmid == vmid)
                    .and_then(|g| g.display_name())
                    .unwrap_or("")
                    .to_string();
                let mut snap =
                    Snapshot::guest("pve", kind, vmid, time, 34_359_739_500, "pve@pbs!backup");
                snap.comment = Some(name);
                if night != last_night || vmid != 200 {
                    snap = snap.verified("ok", &verify_upid);
                }
                if vmid == 202 && night == nights[0] {
                    snap = snap.verified("failed", &verify_upid);
                }
                if vmid == 100 && night == nights[0] {
                    snap.protected = true;
                }
                ds.snapshots.push(snap);
            }
        }
    }
    // In-progress snapshot of CT 301 (backup running right now).
    ds.snapshots
        .push(Snapshot::guest("pve", Kind::Lxc, 301, now - 600, 1, "pve@pbs!backup").in_progress());
    // Orphan: VM 150 was deleted, its snapshots remain.
    ds.snapshots.push(
        Snapshot::guest(
            "pve",
            Kind::Qemu,
            150,
            nights[0] - 30 * 86400,
            21_474_837_504,
            "pve@pbs!backup",
        )
        .verified("ok", &verify_upid),
    );
    // CT 100 existed before VM 100 reused the id: old ct/100 group next to vm/100.
    ds.snapshots.push(Snapshot::guest(
        "pve",
        Kind::Lxc,
        100,
        nights[0] - 60 * 86400,
        4_294_968_320,
        "pve@pbs!backup",
    ));
    // Another cluster's VM 100 in namespace "lab".
    ds.snapshots.push(Snapshot::guest(
        "lab",
        Kind::Qemu,
        100,
        last_night + 3600,
        10_737_419_264,
        "lab@pbs",
    ));
    // A host backup in the root namespace.
    let mut host = Snapshot::guest("", Kind::Qemu, 0, last_night, 1_073_741_824, "root@pam");
    host.backup_type = "host".into();
    host.backup_id = "pbs1".into();
    host.files = vec![super::scenario::SnapshotFile {
        filename: "root.pxar.didx".into(),
        crypt_mode: Some("none".into()),
        size: Some(1_073_741_824),
    }];
    ds.snapshots.push(host);
    pbs.datastores.push(ds);
    pbs.verify_jobs.push(raw(&[
        ("id", json!("v-daily")),
        ("store", json!("store1")),
        ("ns", json!("pve")),
        ("ignore-verified", json!(true)),
        ("outdated-after", json!(30)),
        ("schedule", sched("daily")),
        // daily = 00:00 in the PBS zone (Vienna): 23:00 UTC today.
        ("next-run", json!(now + 15 * 3600)),
        (
            "last-run-state",
            json!("verification failed - please check the log for details"),
        ),
        ("last-run-upid", json!(verify_upid)),
        ("last-run-endtime", json!(now - 5 * 3600 + 900)),
    ]));
    pbs.prune_jobs.push(raw(&[
        ("id", json!("p-store1")),
        ("store", json!("store1")),
        ("schedule", sched("daily")),
        ("keep-daily", json!(7)),
        ("keep-last", json!(3)),
        // daily = 00:00 in the PBS zone (Vienna): 23:00 UTC today.
        ("next-run", json!(now + 15 * 3600)),
        ("last-run-state", json!("OK")),
        ("last-run-endtime", json!(now - 6 * 3600)),
    ]));
    sc.pbs.push(pbs);

    // File backups from backup-node3 (03:15 Vienna = 02:15 UTC) on nfs-backup, last 3 nights.
    let node3_guests: Vec<_> = all_guests
        .iter()
        .filter(|g| g.node == "pve3" && g.vmid != 303)
        .cloned()
        .collect();
    for d in 0..3 {
        let start = now - 8 * 3600 + 2 * 3600 + 15 * 60 - d * 86400;
        let run = Run {
            node: "pve3".into(),
            utc_offset_secs: VIENNA,
            start,
            job_args:
                "--all 1 --exclude 303 --node pve3 --storage nfs-backup --mode stop --quiet 1"
                    .into(),
            skip_external: all_guests
                .iter()
                .filter(|g| g.node != "pve3")
                .map(|g| g.vmid)
                .collect(),
            guests: node3_guests
                .iter()
                .map(|g| LogGuest::from_guest(g, Outcome::Ok))
                .collect(),
            target: Target::Dir {
                storage: "nfs-backup".into(),
                dumpdir: "/mnt/pve/nfs-backup/dump".into(),
            },
            seconds_per_guest: 120,
            compact: false,
        };
        let (task, rendered) = run.task("root@pam");
        sc.pve.tasks.push(task);
        for (vmid, kind, time) in rendered.backups {
            sc.pve.backup_volumes.push(FileVolume::vzdump(
                "nfs-backup",
                kind,
                vmid,
                time,
                1_288_490_188,
            ));
        }
    }
    // Weekly pool job backup-prod-pool (sat 02:30 Vienna = 01:30 UTC): the last two Saturdays.
    let pool_members: Vec<_> = all_guests
        .iter()
        .filter(|g| [100, 101, 200].contains(&g.vmid))
        .cloned()
        .collect();
    for week in 0..2 {
        let start = now - 5 * 86400 - 6 * 3600 - 1800 - week * 7 * 86400;
        for node in ["pve1", "pve2"] {
            let run = Run {
                node: node.into(),
                utc_offset_secs: VIENNA,
                start,
                job_args: "--pool prod --storage nfs-backup --mode snapshot --quiet 1".into(),
                skip_external: pool_members
                    .iter()
                    .filter(|g| g.node != node)
                    .map(|g| g.vmid)
                    .collect(),
                guests: pool_members
                    .iter()
                    .filter(|g| g.node == node)
                    .map(|g| LogGuest::from_guest(g, Outcome::Ok))
                    .collect(),
                target: Target::Dir {
                    storage: "nfs-backup".into(),
                    dumpdir: "/mnt/pve/nfs-backup/dump".into(),
                },
                seconds_per_guest: 300,
                compact: false,
            };
            let (task, rendered) = run.task("root@pam");
            sc.pve.tasks.push(task);
            for (vmid, kind, time) in rendered.backups {
                sc.pve.backup_volumes.push(FileVolume::vzdump(
                    "nfs-backup",
                    kind,
                    vmid,
                    time,
                    2_576_980_377,
                ));
            }
        }
    }
    // A manual single-guest run by a token (task id = VMID, user split into user + tokenid).
    sc.pve.tasks.push(super::tasks::PveTask::vzdump(
        "pve2",
        now - 3 * 3600,
        Some(140),
        Some(202),
        "backup@pve!ops",
        vec![
            "INFO: starting new backup job: vzdump 202 --storage pbs1 --mode snapshot --remove 0"
                .into(),
            "INFO: Starting Backup of VM 202 (lxc)".into(),
            "INFO: Finished Backup of VM 202 (00:02:18)".into(),
            "INFO: Backup job finished successfully".into(),
            "TASK OK".into(),
        ],
    ));
    // A non-vzdump task and a running task.
    sc.pve.tasks.push(super::tasks::PveTask::new(
        "pve1",
        "qmstart",
        "100",
        "root@pam",
        now - 2 * 86400,
        Some(3),
        vec!["TASK OK".into()],
    ));
    sc.pve.tasks.push(super::tasks::PveTask::vzdump(
        "pve3",
        now - 600,
        None,
        Some(301),
        "root@pam",
        vec![
            "INFO: starting new backup job: vzdump 301 --storage pbs1 --mode snapshot".into(),
            "INFO: Starting Backup of VM 301 (lxc)".into(),
        ],
    ));
    sc
}
