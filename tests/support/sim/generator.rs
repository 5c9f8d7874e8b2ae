//! Deterministic large scenarios for scale tests: many nodes and guests, a handful of jobs,
//! 14 nights of multi-guest vzdump history per node with (compact) logs, and PBS snapshots
//! for every successful guest backup.

use serde_json::json;

use super::demo::{
    DEMO_NOW, PBS_AUDIT_SECRET, PBS_BACKUP_SECRET, PVE_EMPTY_SECRET, PVE_FULL_SECRET,
};
use super::scenario::{
    guest, job, raw, Datastore, Kind, Node, PbsScenario, Pool, Scenario, Snapshot,
};
use super::vzdump::{LogGuest, Outcome, Rendered, Run, Target};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Number of nights of history.
pub const NIGHTS: i64 = 14;

/// A large cluster: `nodes` nodes (`node01`…), `guests` guests (VMIDs from 1000), jobs
/// `all-nightly` (all, exclude), `pool-a`/`pool-b` (pools), `vmlist` (incl. deleted VMID
/// 999999), `disabled`; 14 nights of history; PBS `pbs1`/`store1` (root namespace).
/// Credentials are the demo constants. "Now" is `DEMO_NOW`.
pub fn large_cluster(nodes: usize, guests: usize, seed: u64) -> Scenario {
    large_cluster_with(
        History {
            nights: NIGHTS,
            snapshots_kept: None,
            jobs: JOBS,
        },
        nodes,
        guests,
        seed,
    )
}

/// Number of backup jobs of [`large_cluster`].
pub const JOBS: usize = 5;

/// How much history [`large_cluster_with`] generates.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// Nights of vzdump tasks per node (the report reads its `--history-days` window of them).
    pub nights: i64,
    /// PBS snapshots kept per guest, newest first, as a prune `keep-last` would (None: every night's).
    pub snapshots_kept: Option<usize>,
    /// Backup jobs in all ([`JOBS`] or more). Beyond the five of [`large_cluster`]: one weekly
    /// job per node (`weekly-node01`, node-restricted, all its guests, Saturdays 23:00), then
    /// weekly VMID-list jobs (`app-01`…, ten guests each, 12:00 on one weekday each), each run
    /// in the history with its own tasks, logs and snapshots.
    pub jobs: usize,
}

/// [`large_cluster`] with `history.nights` nights of tasks and `history.snapshots_kept`
/// snapshots per guest (the cluster: 60 nights, ~27 snapshots per group).
pub fn large_cluster_with(history: History, nodes: usize, guests: usize, seed: u64) -> Scenario {
    let mut rng = Rng(seed);
    let mut sc = Scenario::builder();
    sc.pve.cluster_name = Some("bigcluster".into());
    sc.pve.settings.now = Some(DEMO_NOW);
    let node_names: Vec<String> = (1..=nodes.max(1)).map(|i| format!("node{i:02}")).collect();
    for n in &node_names {
        sc.pve.nodes.push(Node::new(n, "Europe/Vienna"));
    }
    let pools = ["pool-a", "pool-b", "pool-c"];
    for p in pools {
        sc.pve.pools.push(Pool {
            poolid: p.into(),
            comment: Some(format!("generated {p}")),
            storages: Vec::new(),
        });
    }
    for i in 0..guests {
        let vmid = 1000 + i as u32;
        let node = &node_names[rng.below(node_names.len() as u64) as usize];
        let kind = if rng.below(10) < 7 {
            Kind::Qemu
        } else {
            Kind::Lxc
        };
        let mut g = guest(vmid, node, kind).name(&format!("{}-{vmid}", kind.pbs_type()));
        let r = rng.below(100);
        if r < 30 {
            g = g.pool(pools[(r % 3) as usize]);
        }
        if rng.below(100) == 0 {
            g = g.template();
        } else if rng.below(10) == 0 {
            g = g.status("stopped");
        }
        if kind == Kind::Qemu && rng.below(20) == 0 {
            g = g.cfg(
                "scsi1",
                json!(format!("local-lvm:vm-{vmid}-disk-1,backup=0,size=100G")),
            );
        }
        sc.pve.guests.push(g);
    }
    let excluded: Vec<u32> = sc
        .pve
        .guests
        .iter()
        .filter(|g| g.vmid % 97 == 0)
        .map(|g| g.vmid)
        .collect();
    let exclude_str = excluded
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let vmlist: Vec<String> = sc
        .pve
        .guests
        .iter()
        .filter(|g| g.vmid % 250 == 3)
        .map(|g| g.vmid.to_string())
        .chain(std::iter::once("999999".to_string()))
        .collect();
    sc.pve.backup_jobs = vec![
        job(
            "all-nightly",
            &[
                ("all", json!(1)),
                ("exclude", json!(exclude_str)),
                ("storage", json!("pbs1")),
                ("schedule", json!("21:00")),
                ("enabled", json!(1)),
                ("mode", json!("snapshot")),
            ],
        ),
        job(
            "pool-a",
            &[
                ("pool", json!("pool-a")),
                ("storage", json!("pbs1")),
                ("schedule", json!("sat 03:00")),
                ("enabled", json!(1)),
            ],
        ),
        job(
            "pool-b",
            &[
                ("pool", json!("pool-b")),
                ("storage", json!("pbs1")),
                ("schedule", json!("sun 03:00")),
                ("enabled", json!(1)),
            ],
        ),
        job(
            "vmlist",
            &[
                ("vmid", json!(vmlist.join(","))),
                ("storage", json!("pbs1")),
                ("schedule", json!("12:00")),
                ("enabled", json!(1)),
            ],
        ),
        job(
            "disabled",
            &[
                ("pool", json!("pool-c")),
                ("storage", json!("pbs1")),
                ("schedule", json!("22:00")),
                ("enabled", json!(0)),
            ],
        ),
    ];
    let extra_jobs = history.jobs.saturating_sub(JOBS);
    let node_jobs = extra_jobs.min(node_names.len());
    let weekly_nodes: Vec<String> = node_names.iter().take(node_jobs).cloned().collect();
    for node in &weekly_nodes {
        sc.pve.backup_jobs.push(job(
            &format!("weekly-{node}"),
            &[
                ("all", json!(1)),
                ("node", json!(node)),
                ("storage", json!("pbs1")),
                ("schedule", json!("sat 23:00")),
                ("enabled", json!(1)),
                ("mode", json!("stop")),
            ],
        ));
    }
    const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let app_jobs: Vec<(String, usize, Vec<u32>)> = (0..extra_jobs - node_jobs)
        .map(|k| {
            let mut vmids: Vec<u32> = (0..10)
                .map(|j| 1000 + ((k * 331 + j * 37) % guests.max(1)) as u32)
                .collect();
            vmids.sort_unstable();
            vmids.dedup();
            (format!("app-{:02}", k + 1), k % 7, vmids)
        })
        .collect();
    for (id, weekday, vmids) in &app_jobs {
        let list: Vec<String> = vmids.iter().map(u32::to_string).collect();
        sc.pve.backup_jobs.push(job(
            id,
            &[
                ("vmid", json!(list.join(","))),
                ("storage", json!("pbs1")),
                ("schedule", json!(format!("{} 12:00", WEEKDAYS[*weekday]))),
                ("enabled", json!(1)),
            ],
        ));
    }
    sc.pve.storages = vec![
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
            ("server", json!("pbs1")),
            ("datastore", json!("store1")),
            ("username", json!("pve@pbs!backup")),
            ("content", json!("backup")),
        ]),
    ];
    sc.pve
        .access
        .user("monitor@pve", None)
        .token("monitor@pve!full", PVE_FULL_SECRET, true)
        .token("monitor@pve!empty", PVE_EMPTY_SECRET, true)
        .acl("/", "monitor@pve", "PVEAuditor", true)
        .acl("/", "monitor@pve!full", "PVEAuditor", true);

    let mut pbs = PbsScenario::new("pbs1");
    pbs.settings.now = Some(DEMO_NOW);
    pbs.access
        .user("monitor@pbs", None)
        .user("pve@pbs", None)
        .token("monitor@pbs!audit", PBS_AUDIT_SECRET, true)
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
    ds.group_owners = Default::default();

    let day_start = DEMO_NOW - 8 * 3600;
    let args = format!("--all 1 --exclude {exclude_str} --storage pbs1 --mode snapshot --quiet 1");
    for d in (1..=history.nights).rev() {
        let night = day_start - d * 86400 + 20 * 3600;
        for node in &node_names {
            let local = local_guests(&sc, node, |vmid| !excluded.contains(&vmid), &mut rng);
            let run = pbs_run(node, night, args.clone(), Vec::new(), local);
            let (task, rendered) = run.task("root@pam");
            sc.pve.tasks.push(task);
            add_snapshots(&mut ds, &rendered, &history, d);
        }
        // The extra jobs' runs of this day (node time is UTC+1 in January).
        let weekday = |utc: i64| {
            chrono::DateTime::from_timestamp(utc + 3600, 0).map_or(0, |t| {
                chrono::Datelike::weekday(&t).num_days_from_monday() as usize
            })
        };
        let saturday_night = night + 2 * 3600; // 23:00
        if weekday(saturday_night) == 5 {
            for node in &weekly_nodes {
                let local = local_guests(&sc, node, |_| true, &mut rng);
                let args = "--all 1 --storage pbs1 --mode stop --quiet 1".to_string();
                let run = pbs_run(node, saturday_night, args, Vec::new(), local);
                let (task, rendered) = run.task("root@pam");
                sc.pve.tasks.push(task);
                add_snapshots(&mut ds, &rendered, &history, d);
            }
        }
        let noon = night - 9 * 3600; // 12:00 the same day
        for (_, job_weekday, vmids) in &app_jobs {
            if weekday(noon) != *job_weekday {
                continue;
            }
            let list: Vec<String> = vmids.iter().map(u32::to_string).collect();
            for node in &node_names {
                let local = local_guests(&sc, node, |vmid| vmids.contains(&vmid), &mut rng);
                if local.is_empty() {
                    continue; // vzdump starts no task where none of the list lives
                }
                let external: Vec<u32> = vmids
                    .iter()
                    .copied()
                    .filter(|vmid| !local.iter().any(|g| g.vmid == *vmid))
                    .collect();
                let args = format!("{} --storage pbs1 --quiet 1", list.join(" "));
                let run = pbs_run(node, noon, args, external, local);
                let (task, rendered) = run.task("root@pam");
                sc.pve.tasks.push(task);
                add_snapshots(&mut ds, &rendered, &history, d);
            }
        }
    }
    pbs.datastores.push(ds);
    sc.pbs.push(pbs);
    sc
}

/// A vzdump run of the large cluster on `node` (UTC+1), 7 s a guest, writing to [`pbs_target`].
fn pbs_run(
    node: &str,
    start: i64,
    job_args: String,
    skip_external: Vec<u32>,
    guests: Vec<LogGuest>,
) -> Run {
    Run {
        node: node.to_string(),
        utc_offset_secs: 3600,
        start,
        job_args,
        skip_external,
        guests,
        target: pbs_target(),
        seconds_per_guest: 7,
        compact: true,
    }
}

/// Where every generated run writes: PBS storage `pbs1`, datastore `store1`, root namespace.
fn pbs_target() -> Target {
    Target::Pbs {
        storage: "pbs1".into(),
        repo: "pve@pbs!backup@127.0.0.1:8007:store1".into(),
        ns: String::new(),
    }
}

/// The guests of `node` that `selected` picks, each backed up successfully but one in 200.
fn local_guests(
    sc: &Scenario,
    node: &str,
    selected: impl Fn(u32) -> bool,
    rng: &mut Rng,
) -> Vec<LogGuest> {
    sc.pve
        .guests
        .iter()
        .filter(|g| g.node == node && selected(g.vmid))
        .map(|g| {
            let outcome = if rng.below(200) == 0 {
                Outcome::Failed("job timeout".into())
            } else {
                Outcome::Ok
            };
            LogGuest::from_guest(g, outcome)
        })
        .collect()
}

/// A PBS snapshot for each guest `rendered` backed up, unless night `d` is older than what
/// `history` keeps.
fn add_snapshots(ds: &mut Datastore, rendered: &Rendered, history: &History, d: i64) {
    let pruned = history
        .snapshots_kept
        .is_some_and(|kept| d > i64::try_from(kept).unwrap_or(i64::MAX));
    if pruned {
        return;
    }
    for &(vmid, kind, time) in &rendered.backups {
        ds.snapshots.push(Snapshot::guest(
            "",
            kind,
            vmid,
            time,
            8_589_935_616,
            "pve@pbs!backup",
        ));
    }
}
