//! The simulated Proxmox Backup Server API (pbs-api.md): token/ticket authentication with
//! PBS's plain-text errors, namespace-aware privilege checks (Audit = all, Backup = own
//! groups), datastore/namespace/group/snapshot listings in a deterministic shuffled order,
//! GC and job status lists, and the task endpoints with PBS's quirks.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::access::{
    check_token, percent_decode, user_active, valid_token_name, AccessView, Caller, Product,
};
use super::scenario::{Datastore, PbsScenario, RawMap, Snapshot};
use super::server::{parse_query, Reply, Req};
use super::tasks::{PbsTask, PbsUpid};

/// State of one simulated PBS.
pub struct PbsState {
    sc: PbsScenario,
    /// Running tasks first (newest first), then finished ones by end time, newest first.
    tasks: Vec<(PbsTask, PbsUpid)>,
    /// Group owner by `store|ns|type/id`.
    owners: std::collections::HashMap<String, String>,
    secret: String,
}

/// PBS error reply: plain-text body.
pub fn error_reply(code: u16, message: &str) -> Reply {
    Reply {
        status: code,
        body: message.to_string(),
        content_type: "text/plain;charset=utf-8",
        reason: None,
        delay: Duration::ZERO,
    }
}

fn ok(data: Value) -> Reply {
    Reply::json(json!({ "data": data }).to_string())
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn ns_acl_path(store: &str, ns: &str) -> String {
    if ns.is_empty() {
        format!("/datastore/{store}")
    } else {
        format!("/datastore/{store}/{ns}")
    }
}

fn check_params(r: &Req, allowed: &[&str]) -> Result<(), Reply> {
    let bad: Vec<&String> = r
        .query
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let mut msg = String::from("parameter verification errors\n\n");
    for k in bad {
        msg.push_str(&format!(
            "parameter '{k}': schema does not allow additional properties.\n"
        ));
    }
    Err(error_reply(400, &msg))
}

const ANY_NS_PRIVS: &[&str] = &[
    "Datastore.Audit",
    "Datastore.Modify",
    "Datastore.Read",
    "Datastore.Backup",
];

impl PbsState {
    /// Build from the scenario.
    pub fn new(mut sc: PbsScenario) -> PbsState {
        let mut tasks: Vec<(PbsTask, PbsUpid)> = std::mem::take(&mut sc.tasks)
            .into_iter()
            .filter_map(|t| t.parsed().map(|u| (t, u)))
            .collect();
        tasks.sort_by(|(a, ua), (b, ub)| {
            let ka = (
                a.endtime.is_none(),
                a.endtime.unwrap_or(ua.starttime),
                ua.starttime,
            );
            let kb = (
                b.endtime.is_none(),
                b.endtime.unwrap_or(ub.starttime),
                ub.starttime,
            );
            kb.cmp(&ka)
        });
        let secret = format!("{:x}", Sha256::digest(format!("{}{}", sc.name, sc.repoid)));
        let mut owners = std::collections::HashMap::new();
        for ds in &sc.datastores {
            for s in &ds.snapshots {
                let key = format!("{}|{}|{}/{}", ds.store, s.ns, s.backup_type, s.backup_id);
                let explicit = ds
                    .group_owners
                    .get(&format!("{}|{}/{}", s.ns, s.backup_type, s.backup_id));
                if let Some(o) = explicit.or(s.owner.as_ref()) {
                    owners.entry(key).or_insert_with(|| o.clone());
                }
            }
        }
        PbsState {
            sc,
            tasks,
            owners,
            secret,
        }
    }

    /// Scenario name.
    pub fn name(&self) -> &str {
        &self.sc.name
    }

    fn view(&self) -> AccessView<'_> {
        AccessView::new(&self.sc.access, Product::Pbs)
    }

    fn now(&self) -> i64 {
        self.sc
            .settings
            .now
            .unwrap_or_else(|| chrono::Utc::now().timestamp())
    }

    fn sign(&self, payload: &str) -> String {
        let d = Sha256::digest(format!("{}{payload}", self.secret));
        d.iter().take(24).map(|b| format!("{b:02x}")).collect()
    }

    fn auth_fail(&self, err: &str) -> Reply {
        let mut r = error_reply(401, &format!("authentication failed - {err}"));
        r.delay = Duration::from_millis(self.sc.settings.auth_failure_delay_ms);
        r
    }

    fn authenticate(&self, r: &Req) -> Result<Caller, Reply> {
        let ticket = r.header("cookie").and_then(|c| {
            let mut found = None;
            for kv in c.split(';') {
                if let Some((k, v)) = kv.trim().split_once('=') {
                    if k == "__Host-PBSAuthCookie" {
                        return Some(percent_decode(v));
                    }
                    if k == "PBSAuthCookie" {
                        found = Some(percent_decode(v));
                    }
                }
            }
            found
        });
        if let Some(t) = ticket {
            let verified = t.split_once("::").and_then(|(payload, sig)| {
                if self.sign(payload) != sig {
                    return None;
                }
                let mut p = payload.split(':');
                (p.next()? == "PBS").then_some(())?;
                let user = p.next()?.to_string();
                let time = i64::from_str_radix(p.next()?, 16).ok()?;
                let age = self.now() - time;
                (age >= -300 && age < self.sc.settings.ticket_lifetime_secs).then_some(user)
            });
            return match verified {
                Some(user) if user_active(&self.sc.access, &user, self.now()) => {
                    Ok(Caller { authid: user })
                }
                Some(_) => Err(self.auth_fail("user account disabled or expired.")),
                None => Err(self.auth_fail("invalid ticket")),
            };
        }
        let prefix = "PBSAPIToken";
        let value = r.header("authorization").and_then(|v| {
            let rest = v.strip_prefix(prefix)?;
            (rest.starts_with(' ') || rest.starts_with('=')).then(|| rest[1..].to_string())
        });
        let Some(value) = value else {
            return Err(self.auth_fail("no authentication credentials provided."));
        };
        let (tokenid, secret) = match value.split_once(':') {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (value.clone(), None),
        };
        let Some(at) = tokenid.rfind('@') else {
            return Err(self.auth_fail("not a valid user id"));
        };
        if let Some(bang) = tokenid.rfind('!').filter(|b| *b > at) {
            if bang == tokenid.len() - 1 {
                return Err(self.auth_fail("empty token name in userid"));
            }
            if !valid_token_name(&tokenid[bang + 1..]) {
                return Err(self.auth_fail("invalid token name"));
            }
        }
        let user = tokenid.split('!').next().unwrap_or("");
        let token_known = self
            .sc
            .access
            .tokens
            .iter()
            .any(|t| t.tokenid == tokenid && (t.expire == 0 || t.expire > self.now()));
        if !user_active(&self.sc.access, user, self.now()) || !token_known {
            return Err(self.auth_fail("user account or token disabled or expired."));
        }
        let Some(secret) = secret else {
            return Err(self.auth_fail("failed to split API token header"));
        };
        let secret = percent_decode(&secret);
        match check_token(&self.sc.access, &tokenid, &secret, self.now()) {
            Ok(()) => Ok(Caller { authid: tokenid }),
            Err(e) => Err(self.auth_fail(&e)),
        }
    }

    fn login(&self, r: &Req) -> Reply {
        let mut params = parse_query(r.body);
        if r.header("content-type")
            .is_some_and(|c| c.contains("application/json"))
        {
            params = serde_json::from_str::<Map<String, Value>>(r.body)
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or(v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
        }
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let (Some(username), Some(password)) = (get("username"), get("password")) else {
            return error_reply(400, "parameter verification errors\n\nparameter 'username': parameter is missing and it is not optional.\n");
        };
        let userid = if username.contains('@') {
            username
        } else {
            format!(
                "{username}@{}",
                get("realm").unwrap_or_else(|| "pam".into())
            )
        };
        let ok_pw = self
            .sc
            .access
            .users
            .iter()
            .any(|u| u.userid == userid && u.password.as_deref() == Some(password.as_str()));
        if !ok_pw || !user_active(&self.sc.access, &userid, self.now()) {
            let mut rep = error_reply(401, "authentication failed");
            rep.delay = Duration::from_millis(self.sc.settings.auth_failure_delay_ms);
            return rep;
        }
        let payload = format!("PBS:{userid}:{:08X}", self.now());
        let ticket = format!("{payload}::{}", self.sign(&payload));
        ok(json!({
            "username": userid,
            "ticket": ticket,
            "CSRFPreventionToken": format!("{:08X}:{}", self.now(), self.sign(&format!("csrf{userid}"))),
        }))
    }

    /// Answer one request.
    pub fn handle(&self, r: &Req) -> Reply {
        let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
        let full_path = format!("/api2/json{}", r.path);
        if r.is_api && r.method == "POST" && segs == ["access", "ticket"] {
            return self.login(r);
        }
        let caller = match self.authenticate(r) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        if !r.is_api || r.method != "GET" {
            return error_reply(404, &format!("Path '{full_path}' not found."));
        }
        match self.route(r, &segs, &caller) {
            Some(Ok(reply)) | Some(Err(reply)) => reply,
            None => error_reply(404, &format!("Path '{full_path}' not found.")),
        }
    }

    fn store(&self, name: &str) -> Result<&Datastore, Reply> {
        self.sc
            .datastores
            .iter()
            .find(|d| d.store == name)
            .ok_or_else(|| error_reply(400, &format!("no such datastore '{name}'")))
    }

    /// Any of Audit/Modify/Read/Backup on the store or one of its namespaces.
    fn any_priv_below(&self, v: &AccessView, id: &str, ds: &Datastore) -> bool {
        std::iter::once("")
            .chain(ds.namespaces.iter().map(String::as_str))
            .any(|ns| v.has_any(id, &ns_acl_path(&ds.store, ns), ANY_NS_PRIVS))
    }

    fn route(&self, r: &Req, segs: &[&str], c: &Caller) -> Option<Result<Reply, Reply>> {
        let v = self.view();
        let id = c.authid.as_str();
        let res = match segs {
            ["version"] => check_params(r, &[]).map(|()| {
                ok(json!({"version": self.sc.version, "release": self.sc.release, "repoid": self.sc.repoid}))
            }),
            ["access", "permissions"] => {
                check_params(r, &["auth-id", "path"]).and_then(|()| self.permissions(r, &v, c))
            }
            ["admin", "datastore"] => check_params(r, &[]).map(|()| {
                let list = self
                    .sc
                    .datastores
                    .iter()
                    .filter_map(|ds| {
                        let path = ns_acl_path(&ds.store, "");
                        if v.has_any(id, &path, &["Datastore.Audit", "Datastore.Backup"]) {
                            let mut m = json!({"store": ds.store});
                            if let Some(cm) = &ds.comment {
                                m["comment"] = json!(cm);
                            }
                            if let Some(mode) = &ds.maintenance {
                                m["maintenance"] = json!(mode);
                            }
                            if let Some(mount) = &ds.mount_status {
                                m["mount-status"] = json!(mount);
                            }
                            Some(m)
                        } else if self.any_priv_below(&v, id, ds) {
                            Some(json!({"store": ds.store}))
                        } else {
                            None
                        }
                    })
                    .collect();
                ok(Value::Array(list))
            }),
            ["status", "datastore-usage"] => check_params(r, &[]).map(|()| {
                let list = self
                    .sc
                    .datastores
                    .iter()
                    .filter_map(|ds| {
                        let path = ns_acl_path(&ds.store, "");
                        if v.has_any(id, &path, &["Datastore.Audit", "Datastore.Backup"]) {
                            Some(self.usage_entry(ds))
                        } else if self.any_priv_below(&v, id, ds) {
                            Some(json!({"store": ds.store}))
                        } else {
                            None
                        }
                    })
                    .collect();
                ok(Value::Array(list))
            }),
            ["admin", "datastore", store, "status"] => check_params(r, &["verbose"])
                .and_then(|()| self.store_status(r, &v, id, store)),
            ["admin", "datastore", store, "namespace"] => check_params(r, &["parent", "max-depth"])
                .and_then(|()| self.namespaces(r, &v, id, store)),
            ["admin", "datastore", store, "groups"] => check_params(r, &["ns"])
                .and_then(|()| self.groups(id, store, r.param("ns").unwrap_or(""))),
            ["admin", "datastore", store, "snapshots"] => {
                check_params(r, &["ns", "backup-type", "backup-id"]).and_then(|()| {
                    self.snapshots_for(
                        id,
                        store,
                        r.param("ns").unwrap_or(""),
                        r.param("backup-type"),
                        r.param("backup-id"),
                    )
                    .map(|l| ok(Value::Array(l)))
                    .map_err(|(code, msg)| error_reply(code, &msg))
                })
            }
            ["admin", "datastore", store, "gc"] => check_params(r, &[]).and_then(|()| {
                let ds = self.store(store)?;
                if !v.has(id, &ns_acl_path(store, ""), "Datastore.Audit") {
                    return Err(error_reply(403, "permission check failed"));
                }
                Ok(ok(self.gc_entry(ds)))
            }),
            ["admin", "gc"] => check_params(r, &["store"]).map(|()| {
                let filter = r.param("store");
                let list = self
                    .sc
                    .datastores
                    .iter()
                    .filter(|ds| filter.is_none_or(|s| s == ds.store))
                    .filter(|ds| {
                        v.has_any(id, &ns_acl_path(&ds.store, ""), &["Datastore.Audit", "Datastore.Backup"])
                            || self.any_priv_below(&v, id, ds)
                    })
                    .map(|ds| self.gc_entry(ds))
                    .collect();
                ok(Value::Array(list))
            }),
            ["admin" | "config", "sync"] => check_params(r, &["store", "sync-direction"])
                .and_then(|()| self.sync_direction(r.param("sync-direction")))
                .map(|direction| {
                    let with_status = segs[0] == "admin";
                    let list = self
                        .jobs(&v, id, "sync", r.param("store"), with_status)
                        .into_iter()
                        .filter(|j| {
                            let push = j.get("sync-direction").and_then(Value::as_str) == Some("push");
                            match direction {
                                "all" => true,
                                "push" => push,
                                _ => !push,
                            }
                        })
                        .collect();
                    ok(Value::Array(list))
                }),
            ["config", "remote"] => check_params(r, &[]).map(|()| {
                let list = self
                    .sc
                    .remotes
                    .iter()
                    .filter(|m| {
                        let name = m.get("name").and_then(Value::as_str).unwrap_or("");
                        v.has(id, &format!("/remote/{name}"), "Remote.Audit")
                    })
                    .map(|m| {
                        let mut m = m.clone();
                        m.remove("password");
                        Value::Object(m)
                    })
                    .collect();
                ok(Value::Array(list))
            }),
            ["tape", "backup"] => check_params(r, &[]).map(|()| {
                let list = self
                    .sc
                    .tape_jobs
                    .iter()
                    .filter(|m| {
                        let job = m.get("id").and_then(Value::as_str).unwrap_or("");
                        v.has(id, &format!("/tape/job/{job}"), "Tape.Audit")
                    })
                    .map(|m| Value::Object(m.clone()))
                    .collect();
                ok(Value::Array(list))
            }),
            ["tape", "media", "content"] => check_params(
                r,
                &["pool", "label-text", "media", "media-set", "backup-type", "backup-id"],
            )
            .map(|()| {
                let wanted = |key: &str, m: &RawMap| {
                    r.param(key)
                        .is_none_or(|want| m.get(key).and_then(Value::as_str) == Some(want))
                };
                let list = self
                    .sc
                    .tape_content
                    .iter()
                    .filter(|m| {
                        let pool = m.get("pool").and_then(Value::as_str).unwrap_or("");
                        v.has(id, &format!("/tape/pool/{pool}"), "Tape.Audit")
                    })
                    .filter(|m| wanted("pool", m) && wanted("label-text", m))
                    .filter(|m| {
                        let snapshot = m.get("snapshot").and_then(Value::as_str).unwrap_or("");
                        // `[ns/<a>/…]<type>/<id>/<time>`: the group is the two parts before the time.
                        let mut parts = snapshot.rsplit('/').skip(1);
                        let (i, t) = (parts.next(), parts.next());
                        r.param("backup-type").is_none_or(|want| t == Some(want))
                            && r.param("backup-id").is_none_or(|want| i == Some(want))
                    })
                    .map(|m| Value::Object(m.clone()))
                    .collect();
                ok(Value::Array(list))
            }),
            ["admin" | "config", kind @ ("verify" | "prune")] => {
                check_params(r, &["store"]).map(|()| {
                    let with_status = segs[0] == "admin";
                    ok(Value::Array(self.jobs(&v, id, kind, r.param("store"), with_status)))
                })
            }
            ["nodes", node, "tasks"] if self.node_ok(node) => check_params(
                r,
                &[
                    "start", "limit", "store", "running", "errors", "userfilter", "since",
                    "until", "typefilter", "statusfilter",
                ],
            )
            .map(|()| self.task_list(r, &v, c)),
            ["nodes", node, "tasks", upid, what @ ("status" | "log")] if self.node_ok(node) => {
                let allowed: &[&str] = if *what == "log" {
                    &["start", "limit", "download", "test-status"]
                } else {
                    &[]
                };
                check_params(r, allowed).and_then(|()| self.task_detail(r, &v, c, upid, what))
            }
            _ => return None,
        };
        Some(res)
    }

    /// `sync-direction` as the server's version understands it: PBS before 3.3 rejects the
    /// parameter (400); 3.3+ defaults to pull (copies-and-evolution.md A1).
    fn sync_direction<'r>(&self, asked: Option<&'r str>) -> Result<&'r str, Reply> {
        let (major, minor) = self
            .sc
            .version
            .split_once('.')
            .map(|(a, b)| (a.parse::<u32>().unwrap_or(0), b.parse::<u32>().unwrap_or(0)))
            .unwrap_or((0, 0));
        let knows_push = (major, minor) >= (3, 3);
        match asked {
            None if knows_push => Ok("pull"),
            None => Ok("all"),
            Some(_) if !knows_push => Err(error_reply(
                400,
                "parameter verification errors\n\nparameter 'sync-direction': schema does not allow additional properties.\n",
            )),
            Some(d @ ("pull" | "push" | "all")) => Ok(d),
            Some(other) => Err(error_reply(
                400,
                &format!("parameter verification errors\n\nparameter 'sync-direction': value '{other}' is not defined in the enumeration.\n"),
            )),
        }
    }

    fn node_ok(&self, node: &str) -> bool {
        node == "localhost" || node == self.sc.name
    }

    fn usage_entry(&self, ds: &Datastore) -> Value {
        let mut m = json!({"store": ds.store});
        if let Some(e) = &ds.error {
            m["error"] = json!(e);
            return m;
        }
        if let (Some(t), Some(u), Some(a)) = (ds.total, ds.used, ds.avail) {
            m["total"] = json!(t);
            m["used"] = json!(u);
            m["avail"] = json!(a);
            let frac = if t > 0 { u as f64 / t as f64 } else { 0.0 };
            m["history"] = json!(vec![frac; 8]);
            m["history-start"] = json!(self.now() - 30 * 86400);
            m["history-delta"] = json!(86400 * 30 / 8);
        }
        if let Some(d) = ds.estimated_full_date {
            m["estimated-full-date"] = json!(d);
        }
        m["gc-status"] = Value::Object(self.gc_fields(ds));
        m
    }

    fn gc_fields(&self, ds: &Datastore) -> RawMap {
        let mut m = RawMap::new();
        for k in [
            "index-file-count",
            "index-data-bytes",
            "disk-bytes",
            "disk-chunks",
            "removed-bytes",
            "removed-chunks",
            "pending-bytes",
            "pending-chunks",
            "removed-bad",
            "still-bad",
        ] {
            m.insert(k.into(), json!(0));
        }
        for (k, val) in &ds.gc_status {
            m.insert(k.clone(), val.clone());
        }
        m
    }

    fn gc_entry(&self, ds: &Datastore) -> Value {
        let mut m = self.gc_fields(ds);
        m.insert("store".into(), json!(ds.store));
        if let Some(s) = &ds.gc_schedule {
            m.insert("schedule".into(), json!(s));
            if !m.contains_key("next-run") {
                let day = self.now().div_euclid(86400) * 86400 + 86400;
                m.insert("next-run".into(), json!(day));
            }
        }
        Value::Object(m)
    }

    fn store_status(&self, r: &Req, v: &AccessView, id: &str, store: &str) -> Result<Reply, Reply> {
        let ds = self.store(store)?;
        let path = ns_acl_path(store, "");
        let verbose = r
            .param("verbose")
            .is_some_and(|x| matches!(x, "1" | "true" | "yes" | "on"));
        let full = v.has_any(id, &path, &["Datastore.Audit", "Datastore.Backup"]);
        if !full && !self.any_priv_below(v, id, ds) {
            return Err(error_reply(403, "permission check failed"));
        }
        let mut m = if full {
            json!({"total": ds.total.unwrap_or(0), "used": ds.used.unwrap_or(0), "avail": ds.avail.unwrap_or(0)})
        } else {
            json!({"total": 0, "used": 0, "avail": 0})
        };
        if verbose {
            let audit = v.has(id, &path, "Datastore.Audit");
            let mut counts: std::collections::BTreeMap<String, (BTreeSet<String>, u64)> =
                Default::default();
            for s in &ds.snapshots {
                let owner = self.group_owner(ds, s);
                let ns_audit = v.has_any(
                    id,
                    &ns_acl_path(store, &s.ns),
                    &["Datastore.Audit", "Datastore.Read"],
                );
                if !(audit || ns_audit || owns(id, owner.as_deref())) {
                    continue;
                }
                let key = match s.backup_type.as_str() {
                    "vm" | "ct" | "host" => s.backup_type.clone(),
                    _ => "other".into(),
                };
                let e = counts.entry(key).or_default();
                e.0.insert(format!("{}|{}", s.ns, s.backup_id));
                e.1 += 1;
            }
            let mut cm = Map::new();
            for (k, (groups, snaps)) in counts {
                cm.insert(k, json!({"groups": groups.len(), "snapshots": snaps}));
            }
            m["counts"] = Value::Object(cm);
            if full {
                m["gc-status"] = Value::Object(self.gc_fields(ds));
            }
        }
        Ok(ok(m))
    }

    fn namespaces(&self, r: &Req, v: &AccessView, id: &str, store: &str) -> Result<Reply, Reply> {
        let ds = self.store(store)?;
        let parent = r
            .param("parent")
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        let max_depth = r.param("max-depth").and_then(|d| d.parse::<usize>().ok());
        let depth = |ns: &str| {
            if ns.is_empty() {
                0
            } else {
                ns.split('/').count()
            }
        };
        let exists = parent.is_empty() || ds.namespaces.contains(&parent);
        let parent_ok = v.has_any(id, &ns_acl_path(store, &parent), ANY_NS_PRIVS);
        if !exists {
            if !parent_ok {
                return Err(error_reply(403, "permission check failed"));
            }
            return Err(error_reply(
                400,
                &format!("namespace '{parent}' does not exist"),
            ));
        }
        let mut all: Vec<String> = std::iter::once(String::new())
            .chain(ds.namespaces.iter().cloned())
            .collect();
        all.sort();
        let out: Vec<Value> = all
            .into_iter()
            .filter(|ns| {
                parent.is_empty() || *ns == parent || ns.starts_with(&format!("{parent}/"))
            })
            .filter(|ns| max_depth.is_none_or(|d| depth(ns) - depth(&parent) <= d))
            .filter(|ns| v.has_any(id, &ns_acl_path(store, ns), ANY_NS_PRIVS))
            .map(|ns| json!({ "ns": ns }))
            .collect();
        Ok(ok(Value::Array(out)))
    }

    fn group_owner(&self, ds: &Datastore, s: &Snapshot) -> Option<String> {
        self.owners
            .get(&format!(
                "{}|{}|{}/{}",
                ds.store, s.ns, s.backup_type, s.backup_id
            ))
            .cloned()
    }

    /// Check namespace privileges: `Ok(true)` = all groups, `Ok(false)` = own groups only.
    fn ns_access(&self, id: &str, store: &str, ns: &str) -> Result<bool, (u16, String)> {
        let v = self.view();
        let path = ns_acl_path(store, ns);
        if v.has(id, &path, "Datastore.Audit") {
            Ok(true)
        } else if v.has(id, &path, "Datastore.Backup") {
            Ok(false)
        } else {
            Err((
                403,
                format!(
                    "permission check failed - missing Datastore.Audit|Datastore.Backup on {path}"
                ),
            ))
        }
    }

    /// `GET /admin/datastore/{store}/snapshots` as `authid` (also used by the PVE storage
    /// content listing). Errors are (status, plain message).
    pub fn snapshots_for(
        &self,
        authid: &str,
        store: &str,
        ns: &str,
        backup_type: Option<&str>,
        backup_id: Option<&str>,
    ) -> Result<Vec<Value>, (u16, String)> {
        let user = authid.split('!').next().unwrap_or("");
        if !user_active(&self.sc.access, user, self.now())
            || (authid.contains('!') && !self.sc.access.tokens.iter().any(|t| t.tokenid == authid))
        {
            return Err((
                401,
                "authentication failed - user account or token disabled or expired.".into(),
            ));
        }
        let ds = self
            .sc
            .datastores
            .iter()
            .find(|d| d.store == store)
            .ok_or_else(|| (400, format!("no such datastore '{store}'")))?;
        let ns = ns.trim_matches('/');
        let full = self.ns_access(authid, store, ns)?;
        // The permission check comes first; then the lookup fails with a handler error (400).
        if let Some(why) = ds.unavailable() {
            return Err((400, why));
        }
        if !ns.is_empty() && !ds.namespaces.iter().any(|n| n == ns) {
            return Err((400, format!("namespace '{ns}' does not exist")));
        }
        let mut out: Vec<(u64, Value)> = Vec::new();
        for s in &ds.snapshots {
            if s.ns != ns
                || backup_type.is_some_and(|t| t != s.backup_type)
                || backup_id.is_some_and(|i| i != s.backup_id)
            {
                continue;
            }
            let owner = self.group_owner(ds, s);
            if !full && !owns(authid, owner.as_deref()) {
                continue;
            }
            let mut m = json!({
                "backup-type": s.backup_type, "backup-id": s.backup_id,
                "backup-time": s.backup_time,
                "files": serde_json::to_value(&s.files).unwrap_or(Value::Null),
                "protected": s.protected,
            });
            if let Some(o) = owner {
                m["owner"] = json!(o);
            }
            if let Some(size) = s.size {
                m["size"] = json!(size);
                if let Some(c) = &s.comment {
                    m["comment"] = json!(c);
                }
                if let Some(ver) = &s.verification {
                    m["verification"] = json!({"state": ver.state, "upid": ver.upid});
                }
                if let Some(fp) = &s.fingerprint {
                    m["fingerprint"] = json!(fp);
                }
            }
            let key = fnv(&format!(
                "{}/{}/{}",
                s.backup_type, s.backup_id, s.backup_time
            ));
            out.push((key, m));
        }
        out.sort_by_key(|(k, _)| *k);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    fn groups(&self, id: &str, store: &str, ns: &str) -> Result<Reply, Reply> {
        let snaps = self
            .snapshots_for(id, store, ns, None, None)
            .map_err(|(code, msg)| error_reply(code, &msg))?;
        let mut groups: std::collections::BTreeMap<(String, String), Vec<&Value>> =
            Default::default();
        for s in &snaps {
            groups
                .entry((
                    s["backup-type"].as_str().unwrap_or("").into(),
                    s["backup-id"].as_str().unwrap_or("").into(),
                ))
                .or_default()
                .push(s);
        }
        let mut out: Vec<(u64, Value)> = Vec::new();
        for ((t, i), list) in groups {
            let finished: Vec<&&Value> = list.iter().filter(|s| s.get("size").is_some()).collect();
            let last = finished
                .iter()
                .map(|s| **s)
                .max_by_key(|s| s["backup-time"].as_i64())
                .or_else(|| {
                    list.iter()
                        .copied()
                        .max_by_key(|s| s["backup-time"].as_i64())
                });
            let Some(last) = last else { continue };
            let files: Vec<Value> = last["files"]
                .as_array()
                .map(|a| a.iter().map(|f| f["filename"].clone()).collect())
                .unwrap_or_default();
            let mut m = json!({
                "backup-type": t, "backup-id": i, "last-backup": last["backup-time"],
                "backup-count": list.len(), "files": files,
            });
            if let Some(o) = last.get("owner") {
                m["owner"] = o.clone();
            }
            out.push((fnv(&format!("{t}/{i}")), m));
        }
        out.sort_by_key(|(k, _)| *k);
        Ok(ok(Value::Array(out.into_iter().map(|(_, v)| v).collect())))
    }

    fn jobs(
        &self,
        v: &AccessView,
        id: &str,
        kind: &str,
        store: Option<&str>,
        with_status: bool,
    ) -> Vec<Value> {
        let (list, privs): (&Vec<RawMap>, &[&str]) = match kind {
            "verify" => (
                &self.sc.verify_jobs,
                &["Datastore.Audit", "Datastore.Verify"],
            ),
            "prune" => (
                &self.sc.prune_jobs,
                &["Datastore.Audit", "Datastore.Modify"],
            ),
            _ => (&self.sc.sync_jobs, &["Datastore.Audit"]),
        };
        list.iter()
            .filter(|j| store.is_none_or(|s| j.get("store").and_then(Value::as_str) == Some(s)))
            .filter(|j| {
                let st = j.get("store").and_then(Value::as_str).unwrap_or("");
                let ns = j.get("ns").and_then(Value::as_str).unwrap_or("");
                let mut allowed = v.has_any(id, &ns_acl_path(st, ns), privs);
                if kind == "sync" {
                    // copies-and-evolution.md A1 "Read filter".
                    let push = j.get("sync-direction").and_then(Value::as_str) == Some("push");
                    let remote = j.get("remote").and_then(Value::as_str);
                    let remote_store = j.get("remote-store").and_then(Value::as_str).unwrap_or("");
                    allowed &= match (push, remote) {
                        (false, Some(remote)) => {
                            v.has(id, &format!("/remote/{remote}"), "Remote.Audit")
                        }
                        (false, None) => {
                            v.has(id, &ns_acl_path(remote_store, ""), "Datastore.Audit")
                        }
                        (true, Some(remote)) => {
                            let remote_ns =
                                j.get("remote-ns").and_then(Value::as_str).unwrap_or("");
                            let mut path = format!("/remote/{remote}/{remote_store}");
                            if !remote_ns.is_empty() {
                                path.push('/');
                                path.push_str(remote_ns);
                            }
                            v.has(id, &path, "Remote.Audit")
                        }
                        (true, None) => false,
                    };
                }
                allowed
            })
            .map(|j| {
                let mut m = j.clone();
                if !with_status {
                    for k in [
                        "next-run",
                        "last-run-state",
                        "last-run-upid",
                        "last-run-endtime",
                    ] {
                        m.remove(k);
                    }
                }
                Value::Object(m)
            })
            .collect()
    }

    fn task_visible(&self, v: &AccessView, c: &Caller, u: &PbsUpid) -> bool {
        if u.auth_id == c.authid
            || (!c.is_token() && u.auth_id.split('!').next() == Some(c.authid.as_str()))
        {
            return true;
        }
        if v.has(&c.authid, "/system/tasks", "Sys.Audit") {
            return true;
        }
        let wid = u.worker_id.clone().unwrap_or_default();
        let store = wid.split(':').next().unwrap_or("");
        match u.worker_type.as_str() {
            "verificationjob" => v.has(&c.authid, &ns_acl_path(store, ""), "Datastore.Verify"),
            "garbage_collection" | "prune" | "prunejob" => {
                v.has(&c.authid, &ns_acl_path(store, ""), "Datastore.Modify")
            }
            _ => false,
        }
    }

    fn task_list(&self, r: &Req, v: &AccessView, c: &Caller) -> Reply {
        let start = r
            .param("start")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let limit = r
            .param("limit")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(50);
        let truthy = |n: &str| {
            r.param(n)
                .is_some_and(|x| matches!(x, "1" | "true" | "yes" | "on"))
        };
        let running_only = truthy("running");
        let errors = truthy("errors");
        let store = r.param("store");
        let userfilter = r.param("userfilter");
        let typefilter = r.param("typefilter");
        let since = r.param("since").and_then(|s| s.parse::<i64>().ok());
        let until = r.param("until").and_then(|s| s.parse::<i64>().ok());
        let statusfilter: Vec<String> = r
            .query
            .iter()
            .filter(|(k, _)| k == "statusfilter")
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect();
        let mut skipped = 0usize;
        let mut data = Vec::new();
        for (t, u) in &self.tasks {
            if let (Some(since), Some(end)) = (since, t.endtime) {
                if end < since {
                    break;
                }
            }
            if !self.task_visible(v, c, u) {
                continue;
            }
            let status = t.status();
            if running_only && status.is_some() {
                continue;
            }
            if errors && status.as_deref() == Some("OK") {
                continue;
            }
            if !statusfilter.is_empty() {
                let Some(s) = &status else { continue };
                let ty = super::tasks::normalize_status_type(s);
                if !statusfilter.iter().any(|f| f == ty) {
                    continue;
                }
            }
            if userfilter.is_some_and(|f| !u.auth_id.contains(f)) {
                continue;
            }
            if typefilter.is_some_and(|f| !u.worker_type.contains(f)) {
                continue;
            }
            if since.is_some_and(|s| u.starttime < s) || until.is_some_and(|x| u.starttime > x) {
                continue;
            }
            if let Some(store) = store {
                if !task_matches_store(u, store) {
                    continue;
                }
            }
            if skipped < start {
                skipped += 1;
                continue;
            }
            if limit != 0 && data.len() >= limit {
                break;
            }
            let mut m = json!({
                "upid": t.upid, "node": "localhost", "pid": u.pid, "pstart": u.pstart,
                "starttime": u.starttime, "worker_type": u.worker_type,
                "worker_id": u.worker_id, "user": u.auth_id,
            });
            if let Some(end) = t.endtime {
                m["endtime"] = json!(end);
            }
            if let Some(s) = status {
                m["status"] = json!(s);
            }
            data.push(m);
        }
        let full = limit != 0 && data.len() == limit;
        let total = start + data.len() + usize::from(full);
        Reply::json(json!({"data": data, "total": total}).to_string())
    }

    fn task_detail(
        &self,
        r: &Req,
        v: &AccessView,
        c: &Caller,
        upid: &str,
        what: &str,
    ) -> Result<Reply, Reply> {
        let Some(u) = PbsUpid::parse(upid) else {
            return Err(error_reply(
                400,
                &format!("parameter verification errors\n\nparameter 'upid': unable to parse UPID '{upid}'\n"),
            ));
        };
        if !self.task_visible(v, c, &u) {
            return Err(error_reply(403, "permission check failed"));
        }
        let task = self
            .tasks
            .iter()
            .find(|(t, _)| t.upid == upid)
            .map(|(t, _)| t);
        if what == "status" {
            let (user, token) = match u.auth_id.split_once('!') {
                Some((a, b)) => (a.to_string(), Some(b.to_string())),
                None => (u.auth_id.clone(), None),
            };
            let mut m = json!({
                "upid": upid, "node": u.node, "pid": u.pid, "pstart": u.pstart,
                "starttime": u.starttime, "type": u.worker_type, "id": u.worker_id, "user": user,
            });
            if let Some(t) = token {
                m["tokenid"] = json!(t);
            }
            match task.and_then(PbsTask::status) {
                Some(s) => {
                    m["status"] = json!("stopped");
                    m["exitstatus"] = json!(s);
                }
                None if task.is_some() => m["status"] = json!("running"),
                None => {
                    m["status"] = json!("stopped");
                    m["exitstatus"] = json!("unknown");
                }
            }
            return Ok(ok(m));
        }
        let Some(task) = task else {
            return Err(error_reply(400, "No such file or directory (os error 2)"));
        };
        let start = r
            .param("start")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let limit = r
            .param("limit")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(50);
        let take = if limit == 0 { usize::MAX } else { limit };
        // PBS 3.2.4 quirk: lines with n < start are skipped, so `start` is a 1-based line number.
        let data: Vec<Value> = task
            .log
            .iter()
            .enumerate()
            .map(|(i, t)| (i + 1, t))
            .filter(|(n, _)| *n >= start)
            .take(take)
            .map(|(n, t)| json!({"n": n, "t": t}))
            .collect();
        let mut body = json!({"data": data, "total": task.log.len(), "success": 1});
        if r.param("test-status")
            .is_some_and(|x| matches!(x, "1" | "true"))
        {
            body["active"] = json!(task.endtime.is_none());
        }
        Ok(Reply::json(body.to_string()))
    }

    fn permissions(&self, r: &Req, v: &AccessView, c: &Caller) -> Result<Reply, Reply> {
        let target = r.param("auth-id").unwrap_or(&c.authid).to_string();
        let own = target == c.authid
            || (!c.is_token() && target.split('!').next() == Some(c.authid.as_str()));
        if !own && !v.has(&c.authid, "/access", "Sys.Audit") {
            return Err(error_reply(403, "permission check failed"));
        }
        let paths: BTreeSet<String> = match r.param("path") {
            Some(p) => [p.to_string()].into_iter().collect(),
            None => {
                let mut s: BTreeSet<String> = [
                    "/",
                    "/access",
                    "/datastore",
                    "/remote",
                    "/system",
                    "/system/tasks",
                ]
                .iter()
                .map(|p| p.to_string())
                .collect();
                for ds in &self.sc.datastores {
                    s.insert(ns_acl_path(&ds.store, ""));
                }
                s.extend(v.acl_paths());
                s
            }
        };
        let mut out = Map::new();
        for p in paths {
            let privs = v.privs(&target, &p);
            if privs.is_empty() {
                continue;
            }
            out.insert(
                p,
                Value::Object(
                    privs
                        .into_iter()
                        .map(|(k, prop)| (k, json!(prop)))
                        .collect(),
                ),
            );
        }
        Ok(ok(Value::Object(out)))
    }
}

/// `check_backup_owner`: owner == caller, or owner is a token of the calling user.
fn owns(authid: &str, owner: Option<&str>) -> bool {
    let Some(owner) = owner else { return false };
    owner == authid
        || (!authid.contains('!') && owner.contains('!') && owner.split('!').next() == Some(authid))
}

fn task_matches_store(u: &PbsUpid, store: &str) -> bool {
    let wid = u.worker_id.clone().unwrap_or_default();
    let prefix_match = wid == store || wid.starts_with(&format!("{store}:"));
    match u.worker_type.as_str() {
        "backup" | "garbage_collection" | "prune" | "prunejob" => prefix_match,
        t if t.starts_with("verif") => prefix_match,
        "syncjob" => wid.split(':').nth(2) == Some(store),
        _ => false,
    }
}
