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
use super::vzdump::{LogGuest, Outcome, Run, Target};

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
        },
        nodes,
        guests,
        seed,
    )
}

/// How much history [`large_cluster_with`] generates.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// Nights of vzdump tasks per node (the report reads its `--history-days` window of them).
    pub nights: i64,
    /// PBS snapshots kept per guest, newest first, as a prune `keep-last` would (None: every night's).
    pub snapshots_kept: Option<usize>,
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
            let local: Vec<LogGuest> = sc
                .pve
                .guests
                .iter()
                .filter(|g| g.node == *node && !excluded.contains(&g.vmid))
                .map(|g| {
                    let outcome = if rng.below(200) == 0 {
                        Outcome::Failed("job timeout".into())
                    } else {
                        Outcome::Ok
                    };
                    LogGuest::from_guest(g, outcome)
                })
                .collect();
            let run = Run {
                node: node.clone(),
                utc_offset_secs: 3600,
                start: night,
                job_args: args.clone(),
                skip_external: Vec::new(),
                guests: local,
                target: Target::Pbs {
                    storage: "pbs1".into(),
                    repo: "pve@pbs!backup@127.0.0.1:8007:store1".into(),
                    ns: String::new(),
                },
                seconds_per_guest: 7,
                compact: true,
            };
            let (task, rendered) = run.task("root@pam");
            sc.pve.tasks.push(task);
            let pruned = history
                .snapshots_kept
                .is_some_and(|kept| d > i64::try_from(kept).unwrap_or(i64::MAX));
            for (vmid, kind, time) in rendered.backups {
                if pruned {
                    continue;
                }
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
    }
    pbs.datastores.push(ds);
    sc.pbs.push(pbs);
    sc
}
