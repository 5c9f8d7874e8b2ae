//! The simulator itself, over real HTTPS: it must answer like the reference says, or a green test
//! against it would prove nothing about a real server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sim::demo::{
    DEMO_NOW, PBS_AUDIT_SECRET, PBS_BACKUP_SECRET, PBS_NOTHING_SECRET, PVE_AUDITOR_PASSWORD,
    PVE_EMPTY_SECRET, PVE_FULL_SECRET, PVE_OPS_SECRET,
};
use super::sim::{demo_scenario, generator, start, Endpoint, Fault, SimHandle};
use serde_json::Value;

fn client(ep: &Endpoint) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ep.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn full() -> String {
    format!("PVEAPIToken=monitor@pve!full={PVE_FULL_SECRET}")
}
fn empty() -> String {
    format!("PVEAPIToken=monitor@pve!empty={PVE_EMPTY_SECRET}")
}
fn ops() -> String {
    format!("PVEAPIToken=backup@pve!ops={PVE_OPS_SECRET}")
}
fn pbs_audit() -> String {
    format!("PBSAPIToken=monitor@pbs!audit:{PBS_AUDIT_SECRET}")
}

struct Answer {
    status: u16,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
    fn data(&self) -> Value {
        self.json()["data"].clone()
    }
}

async fn get(ep: &Endpoint, path: &str, auth: &str) -> Answer {
    let resp = client(ep)
        .get(format!("{}/api2/json{path}", ep.url))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        text: resp.text().await.unwrap(),
    }
}

async fn demo() -> SimHandle {
    start(demo_scenario()).await.unwrap()
}

#[tokio::test]
async fn pve_token_auth_both_formats_and_failures() {
    let sim = demo().await;
    let pve = sim.pve();
    let a = get(pve, "/version", &full()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.data()["version"], "9.2.11");
    let space = format!("PVEAPIToken monitor@pve!full={PVE_FULL_SECRET}");
    assert_eq!(get(pve, "/version", &space).await.status, 200);
    let wrong = get(pve, "/version", "PVEAPIToken=monitor@pve!full=nope").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["message"], "Authentication failed!\n");
    assert_eq!(wrong.json()["data"], Value::Null);
    let none = get(pve, "/version", "").await;
    assert_eq!(none.status, 401);
    let unknown = format!("PVEAPIToken=monitor@pve!other={PVE_FULL_SECRET}");
    assert_eq!(get(pve, "/version", &unknown).await.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn pbs_token_with_equals_is_refused_with_pbs_text() {
    let sim = demo().await;
    let pbs = sim.pbs("pbs1").unwrap();
    let ok = get(pbs, "/version", &pbs_audit()).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.data()["version"], "3.2");
    let eq = get(
        pbs,
        "/version",
        &format!("PBSAPIToken=monitor@pbs!audit={PBS_AUDIT_SECRET}"),
    )
    .await;
    assert_eq!(eq.status, 401);
    assert_eq!(eq.text, "authentication failed - invalid token name");
    let pve_style = get(pbs, "/version", &full()).await;
    assert_eq!(pve_style.status, 401);
    assert_eq!(
        pve_style.text,
        "authentication failed - no authentication credentials provided."
    );
    let bad_secret = get(pbs, "/version", "PBSAPIToken=monitor@pbs!audit:x").await;
    assert_eq!(bad_secret.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn ticket_login_and_expiry() {
    let sim = demo().await;
    let pve = sim.pve();
    let resp = client(pve)
        .post(format!("{}/api2/json/access/ticket", pve.url))
        .form(&[
            ("username", "auditor@pve"),
            ("password", PVE_AUDITOR_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["username"], "auditor@pve");
    assert_eq!(body["data"]["clustername"], "democluster");
    let ticket = body["data"]["ticket"].as_str().unwrap().to_string();
    let resp = client(pve)
        .get(format!("{}/api2/json/cluster/backup", pve.url))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bad = client(pve)
        .post(format!("{}/api2/json/access/ticket", pve.url))
        .form(&[("username", "auditor@pve"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    sim.shutdown().await;

    // Lifetime 0: every ticket is already expired.
    let mut sc = demo_scenario();
    sc.pve.settings.ticket_lifetime_secs = 0;
    let sim = start(sc).await.unwrap();
    let pve = sim.pve();
    let body: Value = client(pve)
        .post(format!("{}/api2/json/access/ticket", pve.url))
        .form(&[
            ("username", "auditor"),
            ("password", PVE_AUDITOR_PASSWORD),
            ("realm", "pve"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = body["data"]["ticket"].as_str().unwrap().to_string();
    let resp = client(pve)
        .get(format!("{}/api2/json/version", pve.url))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn permission_errors_and_silent_filtering() {
    let sim = demo().await;
    let pve = sim.pve();
    let denied = get(pve, "/cluster/backup", &empty()).await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.json()["message"],
        "Permission check failed (/, Sys.Audit)\n"
    );
    let time = get(pve, "/nodes/pve1/time", &empty()).await;
    assert_eq!(time.status, 403);
    assert_eq!(
        time.json()["message"],
        "Permission check failed (/nodes/pve1, Sys.Audit)\n"
    );

    // /cluster/resources: the empty token sees no guests/storages/pools, only nodes without stats.
    let res = get(pve, "/cluster/resources", &empty()).await.data();
    let arr = res.as_array().unwrap();
    assert!(arr.iter().all(|i| i["type"] == "node"));
    assert_eq!(arr.len(), 3);
    assert!(arr[0].get("maxmem").is_none());
    let res = get(pve, "/cluster/resources?type=vm", &full()).await.data();
    assert_eq!(res.as_array().unwrap().len(), 12);
    let web = res
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 100)
        .unwrap();
    assert_eq!(web["pool"], "prod");
    assert_eq!(web["tags"], "critical;web");
    let bad_type = get(pve, "/cluster/resources?type=pool", &full()).await;
    assert_eq!(bad_type.status, 400);
    assert!(bad_type.json()["errors"]["type"]
        .as_str()
        .unwrap()
        .contains("enumeration"));

    // Tasks: the empty token has no Sys.Audit on /nodes/pve1 → only own tasks (none).
    let t = get(pve, "/nodes/pve1/tasks", &empty()).await.json();
    assert_eq!(t["data"], serde_json::json!([]));
    assert!(t.get("total").is_none());
    // backup@pve!ops sees its own manual task on pve2 … and with PVEAuditor all of them.
    let own = get(pve, "/nodes/pve2/tasks?vmid=202", &ops()).await.data();
    assert_eq!(own[0]["user"], "backup@pve");
    assert_eq!(own[0]["tokenid"], "ops");

    // Storage content: PVEAuditor lists nothing (silent); the ops token sees backups.
    let c = get(pve, "/nodes/pve1/storage/pbs1/content", &full()).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.data(), serde_json::json!([]));
    let denied = get(pve, "/nodes/pve1/storage/pbs1/content", &empty()).await;
    assert_eq!(denied.status, 403);
    let c = get(pve, "/nodes/pve1/storage/pbs1/content?vmid=100", &ops())
        .await
        .data();
    let items = c.as_array().unwrap();
    // vm/100 has 5 nightly snapshots, ct/100 one old snapshot (same VMID, other type).
    assert_eq!(items.iter().filter(|i| i["format"] == "pbs-vm").count(), 5);
    assert_eq!(items.iter().filter(|i| i["format"] == "pbs-ct").count(), 1);
    assert!(items.iter().any(|i| i["protected"] == 1));
    let inprog = get(pve, "/nodes/pve3/storage/pbs1/content?vmid=301", &ops())
        .await
        .data();
    assert!(inprog
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["size"] == 1 && i.get("verification").is_none()));
    let nfs = get(pve, "/nodes/pve3/storage/nfs-backup/content", &ops())
        .await
        .data();
    // 3 nights of the node-3 job (3 guests) and 2 Saturdays of the pool job (3 guests).
    assert_eq!(nfs.as_array().unwrap().len(), 15);
    sim.shutdown().await;
}

#[tokio::test]
async fn task_list_paging_and_filters() {
    let sim = demo().await;
    let pve = sim.pve();
    let all = get(pve, "/nodes/pve1/tasks?typefilter=vzdump&limit=2", &full())
        .await
        .json();
    // 5 nightly runs and 2 Saturdays of the pool job on pve1.
    assert_eq!(all["total"], 7);
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(data[0]["starttime"].as_i64() > data[1]["starttime"].as_i64());
    assert_eq!(data[0]["id"], "");
    assert_eq!(data[0]["status"], "OK");
    let page = get(pve, "/nodes/pve1/tasks?typefilter=vzdump&start=4", &full())
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["total"], 7);
    let none = get(pve, "/nodes/pve1/tasks?typefilter=vzdump&limit=0", &full())
        .await
        .json();
    assert_eq!(none["data"], serde_json::json!([]));
    assert_eq!(none["total"], 7);
    // since/until inclusive on starttime: the last night only.
    let last = data[0]["starttime"].as_i64().unwrap();
    let one = get(
        pve,
        &format!("/nodes/pve1/tasks?typefilter=vzdump&since={last}&until={last}"),
        &full(),
    )
    .await
    .json();
    assert_eq!(one["total"], 1);
    // vmid does not find multi-guest runs.
    let v = get(pve, "/nodes/pve1/tasks?vmid=100", &full()).await.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"][0]["type"], "qmstart");
    // typefilter is exact.
    let vz = get(pve, "/nodes/pve1/tasks?typefilter=vzdum", &full())
        .await
        .json();
    assert_eq!(vz["data"], serde_json::json!([]));
    // errors=1 on pve2: the failed last night (job errors) + 4 nights with warnings (win01 EFI).
    let e = get(pve, "/nodes/pve2/tasks?errors=1&typefilter=vzdump", &full())
        .await
        .json();
    assert_eq!(e["total"], 5);
    assert_eq!(e["data"][0]["status"], "job errors");
    let e = get(pve, "/nodes/pve2/tasks?statusfilter=error", &full())
        .await
        .json();
    assert_eq!(e["total"], 1);
    // active tasks
    let act = get(pve, "/nodes/pve3/tasks?source=active", &full())
        .await
        .json();
    assert_eq!(act["data"][0]["status"], "RUNNING");
    // unknown parameter
    let bad = get(pve, "/nodes/pve1/tasks?foo=1", &full()).await;
    assert_eq!(bad.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn task_log_paging_and_status() {
    let sim = demo().await;
    let pve = sim.pve();
    let list = get(pve, "/nodes/pve2/tasks?statusfilter=error&limit=1", &full())
        .await
        .data();
    let upid = list[0]["upid"].as_str().unwrap().to_string();
    let enc = upid.replace(':', "%3A").replace('@', "%40");
    let log = get(
        pve,
        &format!("/nodes/pve2/tasks/{enc}/log?start=0&limit=3"),
        &full(),
    )
    .await
    .json();
    let total = log["total"].as_u64().unwrap();
    assert!(total > 20);
    assert_eq!(log["data"][0]["n"], 1);
    assert!(log["data"][0]["t"]
        .as_str()
        .unwrap()
        .starts_with("INFO: starting new backup job: vzdump --all 1"));
    assert_eq!(log["data"].as_array().unwrap().len(), 3);
    let tail = get(
        pve,
        &format!("/nodes/pve2/tasks/{enc}/log?start={}&limit=0", total - 1),
        &full(),
    )
    .await
    .json();
    assert_eq!(tail["data"][0]["t"], "TASK ERROR: job errors");
    assert_eq!(tail["data"][0]["n"], total);
    let all = get(
        pve,
        &format!("/nodes/pve2/tasks/{enc}/log?limit=0"),
        &full(),
    )
    .await
    .json();
    assert_eq!(all["data"].as_array().unwrap().len() as u64, total);
    let st = get(pve, &format!("/nodes/pve2/tasks/{enc}/status"), &full())
        .await
        .data();
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["exitstatus"], "job errors");
    let bad = get(pve, "/nodes/pve2/tasks/garbage/status", &full()).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"]["upid"], "unable to parse worker upid");
    let forbidden = get(pve, &format!("/nodes/pve2/tasks/{enc}/log"), &empty()).await;
    assert_eq!(forbidden.status, 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn backup_jobs_included_volumes_not_backed_up_and_perl_strings() {
    let sim = demo().await;
    let pve = sim.pve();
    let jobs = get(pve, "/cluster/backup", &full()).await.data();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    assert_eq!(jobs[0]["enabled"], 1);
    // 21:00 in the node's zone (Vienna, UTC+1 in January) = 20:00 UTC.
    assert_eq!(jobs[0]["next-run"], DEMO_NOW + 12 * 3600);
    let one = get(pve, "/cluster/backup/backup-vmlist", &full())
        .await
        .data();
    assert!(one.get("next-run").is_none());
    let missing = get(pve, "/cluster/backup/nope", &full()).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["errors"]["id"], "No such job 'nope'");
    let inc = get(
        pve,
        "/cluster/backup/backup-vmlist/included_volumes",
        &full(),
    )
    .await
    .data();
    let ch = inc["children"].as_array().unwrap();
    assert_eq!(ch.len(), 3);
    assert_eq!(
        ch[2],
        serde_json::json!({"id": 999, "type": "unknown", "leaf": 1})
    );
    let ct = &ch[1];
    assert_eq!(ct["children"][1]["reason"], "enabled");
    assert_eq!(ct["children"][2]["reason"], "not a volume");
    let inc = get(
        pve,
        "/cluster/backup/backup-all-nightly/included_volumes",
        &full(),
    )
    .await
    .data();
    let vm100 = &inc["children"][0];
    assert_eq!(vm100["children"][0]["reason"], "backup=yes");
    assert_eq!(vm100["children"][1]["included"], 0);
    assert_eq!(
        vm100["children"].as_array().unwrap().len(),
        2,
        "cdrom not listed"
    );
    let nb = get(pve, "/cluster/backup-info/not-backed-up", &full())
        .await
        .data();
    assert_eq!(
        nb,
        serde_json::json!([{"vmid": 303, "type": "qemu", "name": "scratch"}])
    );
    sim.shutdown().await;

    let mut sc = demo_scenario();
    sc.pve.settings.perl_strings = true;
    let sim = start(sc).await.unwrap();
    let jobs = get(sim.pve(), "/cluster/backup", &full()).await.data();
    assert_eq!(jobs[0]["enabled"], "1");
    assert_eq!(jobs[0]["all"], "1");
    assert!(jobs[0]["next-run"].is_i64());
    let storages = get(sim.pve(), "/storage?type=pbs", &full()).await.data();
    assert!(storages[0]["port"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn pools_storage_and_permissions() {
    let sim = demo().await;
    let pve = sim.pve();
    let pools = get(pve, "/pools", &full()).await.data();
    assert_eq!(pools.as_array().unwrap().len(), 2);
    assert_eq!(
        get(pve, "/pools", &empty()).await.data(),
        serde_json::json!([])
    );
    let prod = get(pve, "/pools?poolid=prod", &empty()).await.data();
    let members = prod[0]["members"].as_array().unwrap();
    assert_eq!(members.iter().filter(|m| m["type"] != "storage").count(), 3);
    assert_eq!(get(pve, "/pools/prod", &empty()).await.status, 403);
    let st = get(pve, "/storage", &full()).await.data();
    let pbs = st
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "pbs")
        .unwrap()
        .clone();
    assert_eq!(pbs["server"], "127.0.0.1");
    assert_eq!(
        pbs["port"].as_u64().unwrap().to_string(),
        sim.pbs("pbs1")
            .unwrap()
            .host_port
            .rsplit(':')
            .next()
            .unwrap()
    );
    assert_eq!(get(pve, "/storage/pbs1", &full()).await.status, 403);
    let perms = get(pve, "/access/permissions", &full()).await.data();
    assert_eq!(perms["/"]["Sys.Audit"], 1);
    let perms = get(pve, "/access/permissions", &empty()).await.data();
    assert_eq!(perms, serde_json::json!({}));
    let cfg = get(pve, "/nodes/pve1/qemu/100/config", &full())
        .await
        .data();
    assert_eq!(cfg["name"], "web01");
    let wrong = get(pve, "/nodes/pve2/qemu/100/config", &full()).await;
    assert_eq!(wrong.status, 500);
    assert_eq!(
        wrong.json()["message"],
        "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn non_get_is_501_and_recorded() {
    let sim = demo().await;
    let pve = sim.pve();
    let resp = client(pve)
        .delete(format!("{}/api2/json/nodes/pve1/qemu/100", pve.url))
        .header("Authorization", full())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Method 'DELETE /nodes/pve1/qemu/100' not implemented\n"
    );
    let unknown = get(pve, "/nodes/pve1/foo", &full()).await;
    assert_eq!(unknown.status, 501);
    let reqs = sim.requests();
    assert!(reqs
        .iter()
        .any(|r| r.method == "DELETE" && r.path == "/nodes/pve1/qemu/100"));
    sim.clear_requests();
    get(
        pve,
        "/nodes/pve1/tasks?typefilter=vzdump&userfilter=root%40pam",
        &full(),
    )
    .await;
    let reqs = sim.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].query,
        vec![
            ("typefilter".to_string(), "vzdump".to_string()),
            ("userfilter".to_string(), "root@pam".to_string())
        ]
    );
    assert!(reqs[0].headers.iter().any(|(k, _)| k == "authorization"));
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_of_every_kind() {
    let sim = demo().await;
    let pve = sim.pve();
    sim.set_fault(
        "pve",
        "/cluster/resources",
        Fault::Status {
            code: 500,
            message: "boom".into(),
        },
    );
    let a = get(pve, "/cluster/resources", &full()).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.json()["message"], "boom\n");
    sim.clear_faults();
    sim.set_fault("pve", "/version", Fault::InvalidJson);
    let a = get(pve, "/version", &full()).await;
    assert_eq!(a.status, 200);
    assert!(serde_json::from_str::<Value>(&a.text).is_err());
    sim.clear_faults();
    sim.set_fault("pve", "/version", Fault::MissingData);
    let a = get(pve, "/version", &full()).await;
    assert!(a.json().get("data").is_none());
    sim.clear_faults();
    sim.set_fault("pve", "/version", Fault::Delay(Duration::from_millis(300)));
    let t = Instant::now();
    assert_eq!(get(pve, "/version", &full()).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.clear_faults();
    sim.set_fault("pve", "/version", Fault::Reset);
    let r = client(pve)
        .get(format!("{}/api2/json/version", pve.url))
        .header("Authorization", full())
        .send()
        .await;
    assert!(r.is_err());
    sim.clear_faults();
    let pbs = sim.pbs("pbs1").unwrap();
    sim.set_fault(
        "pbs1",
        "/admin",
        Fault::Status {
            code: 503,
            message: "down".into(),
        },
    );
    let a = get(pbs, "/admin/datastore", &pbs_audit()).await;
    assert_eq!((a.status, a.text.as_str()), (503, "down"));
    sim.clear_faults();
    sim.set_latency("pbs1", Duration::from_millis(200));
    let t = Instant::now();
    get(pbs, "/version", &pbs_audit()).await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    sim.shutdown().await;
}

#[tokio::test]
async fn pbs_namespaces_ownership_and_tasks() {
    let sim = demo().await;
    let pbs = sim.pbs("pbs1").unwrap();
    let ns = get(pbs, "/admin/datastore/store1/namespace", &pbs_audit())
        .await
        .data();
    assert_eq!(
        ns,
        serde_json::json!([{"ns": ""}, {"ns": "lab"}, {"ns": "pve"}])
    );
    let root = get(pbs, "/admin/datastore/store1/snapshots", &pbs_audit())
        .await
        .data();
    assert_eq!(
        root.as_array().unwrap().len(),
        1,
        "only the host backup in the root namespace"
    );
    assert_eq!(root[0]["backup-type"], "host");
    let lab = get(
        pbs,
        "/admin/datastore/store1/snapshots?ns=lab",
        &pbs_audit(),
    )
    .await
    .data();
    assert_eq!(lab.as_array().unwrap().len(), 1);
    let pve_ns = get(
        pbs,
        "/admin/datastore/store1/snapshots?ns=pve",
        &pbs_audit(),
    )
    .await
    .data();
    let list = pve_ns.as_array().unwrap();
    let times: Vec<i64> = list
        .iter()
        .map(|s| s["backup-time"].as_i64().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_ne!(times, sorted, "unordered like directory iteration");
    assert!(list.iter().any(|s| s["verification"]["state"] == "failed"));
    assert!(list.iter().any(|s| s["backup-id"] == "150"));
    assert!(list
        .iter()
        .any(|s| s["backup-id"] == "301" && s.get("size").is_none() && s.get("comment").is_none()));
    // Backup privilege: own groups only (lab/vm/100 is owned by lab@pbs).
    let backup = format!("PBSAPIToken=pve@pbs!backup:{PBS_BACKUP_SECRET}");
    let own = get(pbs, "/admin/datastore/store1/snapshots?ns=lab", &backup).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.data(), serde_json::json!([]));
    let own = get(pbs, "/admin/datastore/store1/groups?ns=pve", &backup)
        .await
        .data();
    assert!(own.as_array().unwrap().len() >= 10);
    let nothing = format!("PBSAPIToken=monitor@pbs!nothing:{PBS_NOTHING_SECRET}");
    let denied = get(pbs, "/admin/datastore/store1/snapshots?ns=pve", &nothing).await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.text,
        "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/store1/pve"
    );
    assert_eq!(
        get(pbs, "/admin/datastore", &nothing).await.data(),
        serde_json::json!([])
    );
    let usage = get(pbs, "/status/datastore-usage", &pbs_audit())
        .await
        .data();
    assert!(usage[0]["total"].as_u64().unwrap() > 0);
    let tasks = get(pbs, "/nodes/localhost/tasks?typefilter=verif", &pbs_audit())
        .await
        .json();
    assert_eq!(tasks["data"][0]["worker_type"], "verificationjob");
    assert_eq!(tasks["data"][0]["worker_id"], "store1:v-daily");
    assert_eq!(tasks["total"], 1);
    let upid = tasks["data"][0]["upid"]
        .as_str()
        .unwrap()
        .replace('\\', "%5C");
    let log = get(
        pbs,
        &format!("/nodes/localhost/tasks/{upid}/log?start=2"),
        &pbs_audit(),
    )
    .await
    .json();
    assert_eq!(log["data"][0]["n"], 2, "PBS start is a 1-based line number");
    assert!(log["data"][0]["t"]
        .as_str()
        .unwrap()
        .ends_with("TASK ERROR: verification failed - please check the log for details"));
    let gc = get(pbs, "/admin/datastore/store1/gc", &pbs_audit())
        .await
        .data();
    assert_eq!(gc["last-run-state"], "OK");
    let verify = get(pbs, "/admin/verify", &pbs_audit()).await.data();
    assert_eq!(verify[0]["id"], "v-daily");
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_default_refused_ca_and_pin_accepted() {
    let sim = demo().await;
    let pve = sim.pve().clone();
    let plain = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(plain
        .get(format!("{}/api2/json/version", pve.url))
        .send()
        .await
        .is_err());
    assert_eq!(get(&pve, "/version", &full()).await.status, 200);
    assert_eq!(pve.fingerprint.len(), 95);

    #[derive(Debug)]
    struct Pin(String);
    impl rustls::client::danger::ServerCertVerifier for Pin {
        fn verify_server_cert(
            &self,
            end_entity: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            use sha2::Digest;
            let fp: Vec<String> = sha2::Sha256::digest(end_entity.as_ref())
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect();
            if fp.join(":") == self.0 {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General("fingerprint mismatch".into()))
            }
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(Pin(pve.fingerprint.clone())))
    .with_no_client_auth();
    let pinned = reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .build()
        .unwrap();
    let r = pinned
        .get(format!("{}/api2/json/version", pve.url))
        .header("Authorization", full())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn generator_builds_fast_and_serves() {
    let t = Instant::now();
    let sc = generator::large_cluster(10, 5000, 7);
    let sc2 = generator::large_cluster(10, 5000, 7);
    assert_eq!(sc.pve.guests.len(), 5000);
    assert_eq!(
        serde_json::to_string(&sc.pve.guests).unwrap(),
        serde_json::to_string(&sc2.pve.guests).unwrap()
    );
    assert_eq!(sc.pve.tasks.len(), 140);
    let sim = start(sc).await.unwrap();
    let built = t.elapsed();
    let pve = sim.pve();
    let t = Instant::now();
    let res = get(pve, "/cluster/resources?type=vm", &full()).await.data();
    assert_eq!(res.as_array().unwrap().len(), 5000);
    let tasks = get(pve, "/nodes/node01/tasks?typefilter=vzdump", &full())
        .await
        .json();
    assert_eq!(tasks["total"], 14);
    let nb = get(pve, "/cluster/backup-info/not-backed-up", &full()).await;
    assert_eq!(nb.status, 200);
    let snaps = get(
        sim.pbs("pbs1").unwrap(),
        "/admin/datastore/store1/snapshots?backup-id=1000",
        &pbs_audit(),
    )
    .await;
    assert_eq!(snaps.status, 200);
    eprintln!(
        "large cluster: build+start {built:?}, 4 requests {:?}",
        t.elapsed()
    );
    sim.shutdown().await;
}

#[test]
fn scenario_round_trips_through_json() {
    let sc = demo_scenario();
    let text = sc.to_json();
    let back: super::sim::Scenario = serde_json::from_str(&text).unwrap();
    assert_eq!(back.to_json(), text);
}
