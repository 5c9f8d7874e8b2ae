//! The simulated Proxmox VE API (pve-api.md): routing, authentication (token header, ticket
//! cookie), privilege checks with silent filtering, and every GET endpoint a backup-coverage
//! report reads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::access::{check_token, percent_decode, user_active, AccessView, Caller, Product};
use super::pbs::PbsState;
use super::scenario::{truthy, Guest, Kind, PveScenario, RawMap};
use super::server::{parse_query, Endpoint, Reply, Req};
use super::tasks::{normalize_status_type, PveUpid};

struct TaskEntry {
    upid: String,
    u: PveUpid,
    endtime: Option<i64>,
    status: Option<String>,
    log: Arc<Vec<String>>,
}

/// State of the simulated PVE cluster.
pub struct PveState {
    sc: PveScenario,
    guest_idx: BTreeMap<u32, usize>,
    /// Per node: finished tasks newest first (archive order).
    archived: HashMap<String, Vec<TaskEntry>>,
    /// Per node: running tasks newest first.
    active: HashMap<String, Vec<TaskEntry>>,
    storage_pbs: HashMap<String, Arc<PbsState>>,
    guest_pools: HashMap<u32, String>,
    storage_pools: HashMap<String, String>,
    secret: String,
}

/// PVE error reply: `{"data":null,"message":"<text>\n"}` (+ `errors`), message also as reason.
pub fn error_reply(code: u16, message: &str, errors: Option<Value>) -> Reply {
    let mut body = json!({"data": null, "message": format!("{}\n", message.trim_end())});
    if let Some(e) = errors {
        body["errors"] = e;
    }
    Reply {
        status: code,
        body: body.to_string(),
        content_type: "application/json;charset=UTF-8",
        reason: Some(message.to_string()),
        delay: Duration::ZERO,
    }
}

fn param_error(errors: Value) -> Reply {
    error_reply(400, "Parameter verification failed.", Some(errors))
}

fn perm_denied(path: &str, privs: &str) -> Reply {
    error_reply(
        403,
        &format!("Permission check failed ({path}, {privs})"),
        None,
    )
}

fn ok(data: Value) -> Reply {
    Reply::json(json!({ "data": data }).to_string())
}

fn ok_total(data: Value, total: usize) -> Reply {
    if total == 0 {
        ok(data)
    } else {
        Reply::json(json!({ "data": data, "total": total }).to_string())
    }
}

/// Parameter types for validation.
#[derive(Clone, Copy)]
enum P {
    Int,
    Bool,
    Str,
    Enum(&'static [&'static str]),
}

fn check_params(r: &Req, allowed: &[(&str, P)]) -> Result<(), Reply> {
    let mut errors = Map::new();
    for (k, v) in r.query {
        match allowed.iter().find(|(n, _)| n == k) {
            None => {
                errors.insert(
                    k.clone(),
                    json!("property is not defined in schema and the schema does not allow additional properties"),
                );
            }
            Some((_, P::Int)) => {
                if v.parse::<i64>().is_err() {
                    errors.insert(
                        k.clone(),
                        json!(format!("type check ('integer') failed - got '{v}'")),
                    );
                }
            }
            Some((_, P::Bool)) => {
                if !matches!(
                    v.to_ascii_lowercase().as_str(),
                    "0" | "1" | "true" | "false" | "yes" | "no" | "on" | "off"
                ) {
                    errors.insert(
                        k.clone(),
                        json!(format!("type check ('boolean') failed - got '{v}'")),
                    );
                }
            }
            Some((_, P::Enum(values))) => {
                if !values.contains(&v.as_str()) {
                    errors.insert(
                        k.clone(),
                        json!(format!(
                            "value '{v}' does not have a value in the enumeration '{}'",
                            values.join(", ")
                        )),
                    );
                }
            }
            Some((_, P::Str)) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(param_error(Value::Object(errors)))
    }
}

fn int_param(r: &Req, name: &str) -> Option<i64> {
    r.param(name).and_then(|v| v.parse().ok())
}

fn bool_param(r: &Req, name: &str) -> bool {
    r.param(name)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// Turn top-level numbers/booleans into strings like older Perl serializations.
fn perlify(map: &mut RawMap, skip: &[&str]) {
    for (k, v) in map.iter_mut() {
        if skip.contains(&k.as_str()) {
            continue;
        }
        match v {
            Value::Bool(b) => *v = json!(if *b { "1" } else { "0" }),
            Value::Number(n) => *v = json!(n.to_string()),
            _ => {}
        }
    }
}

fn now_epoch(fixed: Option<i64>) -> i64 {
    fixed.unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// `(?:^|\s)<prefix>(?:=| )([^;]*)` of pve-http-server `extract_auth_value`.
pub fn extract_auth_value(auth: &str, prefix: &str) -> Option<String> {
    let mut search = 0;
    while let Some(pos) = auth[search..].find(prefix) {
        let abs = search + pos;
        let before_ok = abs == 0 || auth[..abs].ends_with(char::is_whitespace);
        let after = &auth[abs + prefix.len()..];
        if before_ok && (after.starts_with('=') || after.starts_with(' ')) {
            return Some(after[1..].split(';').next().unwrap_or("").to_string());
        }
        search = abs + prefix.len();
    }
    None
}

/// Split a property string `volid,k=v,…` into the volume and options.
fn split_prop(value: &str) -> (String, BTreeMap<String, String>) {
    let mut parts = value.split(',');
    let first = parts.next().unwrap_or("").to_string();
    let mut opts = BTreeMap::new();
    let mut volume = first.clone();
    if let Some((k, v)) = first.split_once('=') {
        if k == "volume" || k == "file" {
            volume = v.to_string();
        }
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            opts.insert(k.to_string(), v.to_string());
        }
    }
    (volume, opts)
}

fn opt_truthy(v: &str) -> bool {
    matches!(v, "1" | "yes" | "on" | "true")
}

impl PveState {
    /// Build indexes from the scenario; PBS storages pointing at a simulated PBS name are
    /// rewritten to that server's address and fingerprint.
    pub fn new(mut sc: PveScenario, pbs: &[(Endpoint, Arc<PbsState>)]) -> PveState {
        let mut storage_pbs = HashMap::new();
        for st in &mut sc.storages {
            if st.get("type").and_then(Value::as_str) != Some("pbs") {
                continue;
            }
            let server = st
                .get("server")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some((ep, state)) = pbs.iter().find(|(_, s)| s.name() == server) {
                let (host, port) = ep
                    .host_port
                    .rsplit_once(':')
                    .unwrap_or(("127.0.0.1", "8007"));
                st.insert("server".into(), json!(host));
                st.insert("port".into(), json!(port.parse::<u16>().unwrap_or(8007)));
                st.insert(
                    "fingerprint".into(),
                    json!(ep.fingerprint.to_ascii_lowercase()),
                );
                if let Some(id) = st.get("storage").and_then(Value::as_str) {
                    storage_pbs.insert(id.to_string(), state.clone());
                }
            }
        }
        let guest_idx = sc
            .guests
            .iter()
            .enumerate()
            .map(|(i, g)| (g.vmid, i))
            .collect();
        let guest_pools = sc
            .guests
            .iter()
            .filter_map(|g| g.pool.clone().map(|p| (g.vmid, p)))
            .collect();
        let mut storage_pools = HashMap::new();
        for p in &sc.pools {
            for s in &p.storages {
                storage_pools.insert(s.clone(), p.poolid.clone());
            }
        }
        let mut archived: HashMap<String, Vec<TaskEntry>> = HashMap::new();
        let mut active: HashMap<String, Vec<TaskEntry>> = HashMap::new();
        for t in std::mem::take(&mut sc.tasks) {
            let Some(u) = t.parsed() else { continue };
            let status = t.index_status();
            let entry = TaskEntry {
                upid: t.upid,
                endtime: t.endtime,
                status,
                log: Arc::new(t.log),
                u,
            };
            let map = if entry.endtime.is_some() {
                &mut archived
            } else {
                &mut active
            };
            map.entry(entry.u.node.clone()).or_default().push(entry);
        }
        for list in archived.values_mut() {
            list.sort_by(|a, b| {
                (b.endtime, b.u.starttime, &b.upid).cmp(&(a.endtime, a.u.starttime, &a.upid))
            });
        }
        for list in active.values_mut() {
            list.sort_by(|a, b| (b.u.starttime, &b.upid).cmp(&(a.u.starttime, &a.upid)));
        }
        let secret = format!(
            "{:x}",
            Sha256::digest(format!("{}{}", sc.repoid, sc.version))
        );
        PveState {
            sc,
            guest_idx,
            archived,
            active,
            storage_pbs,
            guest_pools,
            storage_pools,
            secret,
        }
    }

    fn view(&self) -> AccessView<'_> {
        AccessView {
            access: &self.sc.access,
            product: Product::Pve,
            guest_pools: self.guest_pools.clone(),
            storage_pools: self.storage_pools.clone(),
        }
    }

    fn now(&self) -> i64 {
        now_epoch(self.sc.settings.now)
    }

    fn guest(&self, vmid: u32) -> Option<&Guest> {
        self.guest_idx.get(&vmid).map(|i| &self.sc.guests[*i])
    }

    fn auth_fail(&self, msg: &str) -> Reply {
        let mut r = error_reply(401, msg, None);
        r.delay = Duration::from_millis(self.sc.settings.auth_failure_delay_ms);
        r
    }

    fn sign(&self, payload: &str) -> String {
        let d = Sha256::digest(format!("{}{payload}", self.secret));
        d.iter().take(24).map(|b| format!("{b:02x}")).collect()
    }

    fn make_ticket(&self, userid: &str) -> String {
        let payload = format!("PVE:{userid}:{:08X}", self.now());
        format!("{payload}::{}", self.sign(&payload))
    }

    fn verify_ticket(&self, ticket: &str) -> Option<String> {
        let (payload, sig) = ticket.split_once("::")?;
        if self.sign(payload) != sig {
            return None;
        }
        let mut parts = payload.split(':');
        if parts.next()? != "PVE" {
            return None;
        }
        let user = parts.next()?.to_string();
        let time = i64::from_str_radix(parts.next()?, 16).ok()?;
        let age = self.now() - time;
        if age < -300 || age >= self.sc.settings.ticket_lifetime_secs {
            return None;
        }
        user_active(&self.sc.access, &user, self.now()).then_some(user)
    }

    fn authenticate(&self, r: &Req) -> Result<Caller, Reply> {
        let cookie = r.header("cookie").and_then(|c| {
            c.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == "PVEAuthCookie").then(|| percent_decode(v))
            })
        });
        if let Some(ticket) = cookie {
            return match self.verify_ticket(&ticket) {
                Some(user) => Ok(Caller { authid: user }),
                None => Err(self.auth_fail("authentication failure")),
            };
        }
        let Some(auth) = r.header("authorization") else {
            return Err(self.auth_fail("No ticket"));
        };
        let Some(value) = extract_auth_value(auth, "PVEAPIToken") else {
            return Err(self.auth_fail("No ticket"));
        };
        let value = percent_decode(value.split(';').next().unwrap_or("").trim());
        let Some((tokenid, secret)) = value.rsplit_once('=') else {
            return Err(self.auth_fail("Authentication failed!"));
        };
        let valid_id = tokenid
            .split_once('!')
            .is_some_and(|(u, n)| u.contains('@') && !n.is_empty());
        if !valid_id {
            return Err(self.auth_fail("Authentication failed!"));
        }
        match check_token(&self.sc.access, tokenid, secret, self.now()) {
            Ok(()) => Ok(Caller {
                authid: tokenid.to_string(),
            }),
            Err(_) => Err(self.auth_fail("Authentication failed!")),
        }
    }

    fn login(&self, r: &Req) -> Reply {
        let is_json = r
            .header("content-type")
            .is_some_and(|c| c.contains("application/json"));
        let params: Vec<(String, String)> = if is_json {
            serde_json::from_str::<Map<String, Value>>(r.body)
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or(v.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            let mut p = parse_query(r.body);
            p.extend(r.query.iter().cloned());
            p
        };
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let (Some(username), Some(password)) = (get("username"), get("password")) else {
            let mut e = Map::new();
            for n in ["username", "password"] {
                if get(n).is_none() {
                    e.insert(
                        n.into(),
                        json!("property is missing and it is not optional"),
                    );
                }
            }
            return param_error(Value::Object(e));
        };
        let userid = if username.contains('@') {
            username.clone()
        } else {
            format!(
                "{username}@{}",
                get("realm").unwrap_or_else(|| "pam".into())
            )
        };
        let now = self.now();
        let password_ok = self
            .sc
            .access
            .users
            .iter()
            .any(|u| u.userid == userid && u.password.as_deref() == Some(password.as_str()))
            || self.verify_ticket(&password).as_deref() == Some(userid.as_str());
        if !password_ok || !user_active(&self.sc.access, &userid, now) {
            return self.auth_fail("authentication failure");
        }
        let mut data = json!({
            "username": userid,
            "ticket": self.make_ticket(&userid),
            "CSRFPreventionToken": format!("{:08X}:{}", now, self.sign(&format!("csrf{userid}"))),
            "cap": {"vms": {}, "storage": {}, "access": {}, "nodes": {}, "dc": {}, "sdn": {}, "mapping": {}},
        });
        if let Some(c) = &self.sc.cluster_name {
            data["clustername"] = json!(c);
        }
        ok(data)
    }

    /// Answer one request.
    pub fn handle(&self, r: &Req) -> Reply {
        let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
        let not_impl = || {
            error_reply(
                501,
                &format!("Method '{} {}' not implemented", r.method, r.path),
                None,
            )
        };
        if !r.is_api {
            return not_impl();
        }
        if r.method == "POST" && segs == ["access", "ticket"] {
            return self.login(r);
        }
        if r.method != "GET" || !self.known_route(&segs) {
            return not_impl();
        }
        let caller = match self.authenticate(r) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        match self.route(r, &segs, &caller) {
            Ok(reply) | Err(reply) => reply,
        }
    }

    fn known_route(&self, segs: &[&str]) -> bool {
        matches!(
            segs,
            ["version"]
                | ["nodes"]
                | ["nodes", _]
                | ["nodes", _, "time"]
                | ["nodes", _, "replication"]
                | ["nodes", _, "status"]
                | ["nodes", _, "tasks"]
                | ["nodes", _, "tasks", _]
                | ["nodes", _, "tasks", _, "status"]
                | ["nodes", _, "tasks", _, "log"]
                | ["nodes", _, "qemu" | "lxc"]
                | ["nodes", _, "qemu" | "lxc", _, "config"]
                | ["nodes", _, "storage", _, "content"]
                | ["cluster", "status"]
                | ["cluster", "resources"]
                | ["cluster", "tasks"]
                | ["cluster", "backup"]
                | ["cluster", "backup", _]
                | ["cluster", "backup", _, "included_volumes"]
                | ["cluster", "backup-info", "not-backed-up"]
                | ["storage"]
                | ["storage", _]
                | ["pools"]
                | ["pools", _]
                | ["access", "permissions"]
        )
    }

    fn check_node(&self, node: &str) -> Result<(), Reply> {
        match self.sc.nodes.iter().find(|n| n.name == node) {
            None => Err(error_reply(
                500,
                &format!("hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"),
                None,
            )),
            Some(n) if !n.online => Err(error_reply(595, "No route to host", None)),
            Some(_) => Ok(()),
        }
    }

    fn route(&self, r: &Req, segs: &[&str], c: &Caller) -> Result<Reply, Reply> {
        let v = self.view();
        let id = c.authid.as_str();
        match segs {
            ["version"] => {
                check_params(r, &[])?;
                Ok(ok(json!({
                    "version": self.sc.version,
                    "release": self.sc.release,
                    "repoid": self.sc.repoid,
                })))
            }
            ["nodes"] => {
                check_params(r, &[])?;
                Ok(ok(Value::Array(
                    self.sc
                        .nodes
                        .iter()
                        .map(|n| self.node_item(&v, id, &n.name))
                        .collect(),
                )))
            }
            ["nodes", node] => {
                check_params(r, &[])?;
                self.check_node(node)?;
                let names = [
                    "qemu",
                    "lxc",
                    "replication",
                    "storage",
                    "tasks",
                    "status",
                    "time",
                    "version",
                    "vzdump",
                ];
                Ok(ok(Value::Array(
                    names.iter().map(|n| json!({"name": n})).collect(),
                )))
            }
            ["nodes", node, "replication"] => {
                // Proxied to the node; each job is listed there while its guest lives there, and
                // only with VM.Audit on the guest (pve-manager API2/Replication.pm).
                check_params(r, &[("guest", P::Int)])?;
                self.check_node(node)?;
                let wanted = r.param("guest").and_then(|g| g.parse::<u64>().ok());
                let list: Vec<Value> = self
                    .sc
                    .replication
                    .iter()
                    .filter(|job| {
                        let Some(vmid) = job.get("guest").and_then(Value::as_u64) else {
                            return false;
                        };
                        let here = u32::try_from(vmid)
                            .ok()
                            .and_then(|v| self.guest_idx.get(&v))
                            .is_some_and(|&i| self.sc.guests[i].node == *node);
                        here && wanted.is_none_or(|w| w == vmid)
                            && v.has(id, &format!("/vms/{vmid}"), "VM.Audit")
                    })
                    .map(|job| Value::Object(job.clone()))
                    .collect();
                Ok(ok(Value::Array(list)))
            }
            ["nodes", node, "time"] => {
                check_params(r, &[])?;
                if !v.has(id, &format!("/nodes/{node}"), "Sys.Audit") {
                    return Err(perm_denied(&format!("/nodes/{node}"), "Sys.Audit"));
                }
                self.check_node(node)?;
                let n = self.sc.nodes.iter().find(|n| n.name == *node);
                let now = self.now();
                let (tz, off) = n
                    .map(|n| (n.timezone.clone(), n.utc_offset_secs))
                    .unwrap_or_default();
                Ok(ok(
                    json!({"timezone": tz, "time": now, "localtime": now + off}),
                ))
            }
            ["nodes", node, "status"] => {
                check_params(r, &[])?;
                if !v.has(id, &format!("/nodes/{node}"), "Sys.Audit") {
                    return Err(perm_denied(&format!("/nodes/{node}"), "Sys.Audit"));
                }
                self.check_node(node)?;
                Ok(ok(json!({
                    "pveversion": format!("pve-manager/{}/{}", self.sc.version, self.sc.repoid),
                    "kversion": "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4",
                    "uptime": 864000,
                    "cpu": 0.03,
                    "cpuinfo": {"cpus": 8, "sockets": 1, "cores": 8, "model": "Simulated CPU"},
                    "memory": {"total": 68719476736u64, "used": 17179869184u64, "free": 51539607552u64},
                    "loadavg": ["0.10", "0.12", "0.09"],
                })))
            }
            ["nodes", node, kind @ ("qemu" | "lxc")] => {
                check_params(r, &[("full", P::Bool)])?;
                self.check_node(node)?;
                let list = self
                    .sc
                    .guests
                    .iter()
                    .filter(|g| g.node == *node && g.kind.as_str() == *kind)
                    .filter(|g| v.has(id, &format!("/vms/{}", g.vmid), "VM.Audit"))
                    .map(|g| {
                        let mut m = json!({"vmid": g.vmid, "status": g.status});
                        if let Some(n) = g.display_name() {
                            m["name"] = json!(n);
                        }
                        if g.is_template() {
                            m["template"] = json!(1);
                        }
                        if let Some(t) = g.config.get("tags") {
                            m["tags"] = t.clone();
                        }
                        if let Some(l) = g.config.get("lock") {
                            m["lock"] = l.clone();
                        }
                        m
                    })
                    .collect();
                Ok(ok(Value::Array(list)))
            }
            ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "config"] => {
                check_params(r, &[("current", P::Bool), ("snapshot", P::Str)])?;
                self.guest_config(&v, id, node, kind, vmid)
            }
            ["nodes", node, "tasks"] => self.node_tasks(r, &v, c, node),
            ["nodes", node, "tasks", upid] => {
                check_params(r, &[])?;
                self.check_node(node)?;
                self.find_task_checked(&v, c, node, upid)?;
                Ok(ok(json!([{"name": "log"}, {"name": "status"}])))
            }
            ["nodes", node, "tasks", upid, "status"] => {
                check_params(r, &[])?;
                self.task_status(&v, c, node, upid)
            }
            ["nodes", node, "tasks", upid, "log"] => {
                check_params(
                    r,
                    &[("start", P::Int), ("limit", P::Int), ("download", P::Bool)],
                )?;
                self.task_log(r, &v, c, node, upid)
            }
            ["nodes", node, "storage", storage, "content"] => {
                check_params(r, &[("content", P::Str), ("vmid", P::Int)])?;
                self.storage_content(r, &v, id, node, storage)
            }
            ["cluster", "status"] => {
                check_params(r, &[])?;
                if !v.has(id, "/", "Sys.Audit") {
                    return Err(perm_denied("/", "Sys.Audit"));
                }
                let mut out = Vec::new();
                if let Some(name) = &self.sc.cluster_name {
                    out.push(json!({
                        "id": "cluster", "type": "cluster", "name": name,
                        "nodes": self.sc.nodes.len(), "quorate": 1, "version": 5,
                    }));
                }
                for (i, n) in self.sc.nodes.iter().enumerate() {
                    out.push(json!({
                        "id": format!("node/{}", n.name), "type": "node", "name": n.name,
                        "nodeid": i + 1, "online": u8::from(n.online), "local": u8::from(i == 0),
                        "ip": n.ip.clone().unwrap_or_else(|| format!("10.0.0.{}", i + 11)),
                        "level": "",
                    }));
                }
                Ok(ok(Value::Array(out)))
            }
            ["cluster", "resources"] => {
                check_params(r, &[("type", P::Enum(&["vm", "storage", "node", "sdn"]))])?;
                Ok(ok(Value::Array(self.resources(&v, id, r.param("type")))))
            }
            ["cluster", "tasks"] => {
                check_params(r, &[])?;
                Ok(ok(Value::Array(self.cluster_tasks(&v, c))))
            }
            ["cluster", "backup"] => {
                check_params(r, &[])?;
                if !v.has(id, "/", "Sys.Audit") {
                    return Err(perm_denied("/", "Sys.Audit"));
                }
                let mut out = Vec::new();
                for j in &self.sc.legacy_jobs {
                    out.push(Value::Object(self.job_out(j, false)));
                }
                for j in &self.sc.backup_jobs {
                    out.push(Value::Object(self.job_out(j, true)));
                }
                Ok(ok(Value::Array(out)))
            }
            ["cluster", "backup", jobid] => {
                check_params(r, &[])?;
                if !v.has(id, "/", "Sys.Audit") {
                    return Err(perm_denied("/", "Sys.Audit"));
                }
                let job = self.find_job(jobid)?;
                let mut m = self.job_out(job, false);
                m.remove("next-run");
                Ok(ok(Value::Object(m)))
            }
            ["cluster", "backup", jobid, "included_volumes"] => {
                check_params(r, &[])?;
                if !v.has(id, "/", "Sys.Audit") {
                    return Err(perm_denied("/", "Sys.Audit"));
                }
                let job = self.find_job(jobid)?;
                Ok(ok(self.included_volumes(&v, id, job)))
            }
            ["cluster", "backup-info", "not-backed-up"] => {
                check_params(r, &[])?;
                if !v.has(id, "/", "Sys.Audit") {
                    return Err(perm_denied("/", "Sys.Audit"));
                }
                let mut covered = BTreeSet::new();
                for j in self.sc.legacy_jobs.iter().chain(&self.sc.backup_jobs) {
                    for (vmid, _) in self.included_guests(j) {
                        covered.insert(vmid);
                    }
                }
                let mut out = Vec::new();
                for (vmid, i) in &self.guest_idx {
                    let g = &self.sc.guests[*i];
                    if covered.contains(vmid) || !v.has(id, &format!("/vms/{vmid}"), "VM.Audit") {
                        continue;
                    }
                    let mut m = json!({"vmid": vmid, "type": g.kind.as_str()});
                    if let Some(n) = g.display_name() {
                        m["name"] = json!(n);
                    }
                    out.push(m);
                }
                Ok(ok(Value::Array(out)))
            }
            ["storage"] => {
                check_params(
                    r,
                    &[(
                        "type",
                        P::Enum(&[
                            "btrfs",
                            "cephfs",
                            "cifs",
                            "dir",
                            "esxi",
                            "iscsi",
                            "iscsidirect",
                            "lvm",
                            "lvmthin",
                            "nfs",
                            "pbs",
                            "rbd",
                            "zfs",
                            "zfspool",
                        ]),
                    )],
                )?;
                let t = r.param("type");
                let out = self
                    .sc
                    .storages
                    .iter()
                    .filter(|s| t.is_none() || s.get("type").and_then(Value::as_str) == t)
                    .filter(|s| {
                        let sid = s.get("storage").and_then(Value::as_str).unwrap_or("");
                        v.has_any(
                            id,
                            &format!("/storage/{sid}"),
                            &["Datastore.Audit", "Datastore.AllocateSpace"],
                        )
                    })
                    .map(|s| Value::Object(self.storage_out(s)))
                    .collect();
                Ok(ok(Value::Array(out)))
            }
            ["storage", sid] => {
                check_params(r, &[])?;
                if !v.has(id, &format!("/storage/{sid}"), "Datastore.Allocate") {
                    return Err(perm_denied(
                        &format!("/storage/{sid}"),
                        "Datastore.Allocate",
                    ));
                }
                match self.storage_cfg(sid) {
                    Some(s) => Ok(ok(Value::Object(self.storage_out(s)))),
                    None => Err(error_reply(
                        500,
                        &format!("storage '{sid}' does not exist"),
                        None,
                    )),
                }
            }
            ["pools"] => {
                check_params(
                    r,
                    &[
                        ("poolid", P::Str),
                        ("type", P::Enum(&["qemu", "lxc", "storage"])),
                    ],
                )?;
                if let Some(pid) = r.param("poolid") {
                    let Some(pool) = self.sc.pools.iter().find(|p| p.poolid == pid) else {
                        return Err(error_reply(
                            500,
                            &format!("pool '{pid}' does not exist"),
                            None,
                        ));
                    };
                    // The Pool.Audit check result is ignored by the real code (pve-api.md §3.9).
                    let mut m = json!({"poolid": pool.poolid, "members": self.pool_members(&pool.poolid, r.param("type"))});
                    if let Some(cm) = &pool.comment {
                        m["comment"] = json!(cm);
                    }
                    return Ok(ok(json!([m])));
                }
                let out = self
                    .sc
                    .pools
                    .iter()
                    .filter(|p| v.has(id, &format!("/pool/{}", p.poolid), "Pool.Audit"))
                    .map(|p| {
                        let mut m = json!({"poolid": p.poolid});
                        if let Some(cm) = &p.comment {
                            m["comment"] = json!(cm);
                        }
                        m
                    })
                    .collect();
                Ok(ok(Value::Array(out)))
            }
            ["pools", pid] => {
                check_params(r, &[("type", P::Enum(&["qemu", "lxc", "storage"]))])?;
                if !v.has(id, &format!("/pool/{pid}"), "Pool.Audit") {
                    return Err(perm_denied(&format!("/pool/{pid}"), "Pool.Audit"));
                }
                let Some(pool) = self.sc.pools.iter().find(|p| p.poolid == *pid) else {
                    return Err(error_reply(
                        500,
                        &format!("pool '{pid}' does not exist"),
                        None,
                    ));
                };
                let mut m = json!({"members": self.pool_members(pid, r.param("type"))});
                if let Some(cm) = &pool.comment {
                    m["comment"] = json!(cm);
                }
                Ok(ok(m))
            }
            ["access", "permissions"] => {
                check_params(r, &[("path", P::Str), ("userid", P::Str)])?;
                self.permissions(r, &v, c)
            }
            _ => Err(error_reply(
                501,
                &format!("Method '{} {}' not implemented", r.method, r.path),
                None,
            )),
        }
    }

    fn node_item(&self, v: &AccessView, id: &str, name: &str) -> Value {
        let n = self.sc.nodes.iter().find(|n| n.name == name);
        let online = n.is_some_and(|n| n.online);
        let mut m = json!({
            "node": name, "id": format!("node/{name}"), "type": "node",
            "status": if online { "online" } else { "offline" }, "level": "",
        });
        if online && v.has(id, &format!("/nodes/{name}"), "Sys.Audit") {
            m["cpu"] = json!(0.03);
            m["maxcpu"] = json!(8);
            m["mem"] = json!(17179869184u64);
            m["maxmem"] = json!(68719476736u64);
            m["disk"] = json!(10737418240u64);
            m["maxdisk"] = json!(107374182400u64);
            m["uptime"] = json!(n.and_then(|n| n.uptime_secs).unwrap_or(864_000));
        }
        m
    }

    fn storage_cfg(&self, sid: &str) -> Option<&RawMap> {
        self.sc
            .storages
            .iter()
            .find(|s| s.get("storage").and_then(Value::as_str) == Some(sid))
    }

    fn storage_out(&self, s: &RawMap) -> RawMap {
        let mut m = s.clone();
        let d = Sha256::digest(serde_json::to_string(&self.sc.storages).unwrap_or_default());
        m.insert(
            "digest".into(),
            json!(d
                .iter()
                .take(20)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()),
        );
        if self.sc.settings.perl_strings {
            perlify(&mut m, &[]);
        }
        m
    }

    fn storage_nodes(&self, s: &RawMap) -> Vec<String> {
        if s.get("disable").is_some_and(truthy) {
            return Vec::new();
        }
        match s.get("nodes").and_then(Value::as_str) {
            Some(list) => list.split(',').map(|n| n.trim().to_string()).collect(),
            None => self.sc.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }

    fn guest_stats(&self, g: &Guest, m: &mut Value) {
        if !g.has_rrd {
            return;
        }
        let running = g.status == "running";
        if let Some(n) = g.display_name() {
            m["name"] = json!(n);
        }
        m["template"] = json!(u8::from(g.is_template()));
        m["maxcpu"] = json!(2);
        m["cpu"] = json!(if running { 0.01 } else { 0.0 });
        m["maxmem"] = json!(4294967296u64);
        m["mem"] = json!(if running { 1073741824u64 } else { 0 });
        m["maxdisk"] = json!(34359738368u64);
        m["disk"] = json!(0);
        m["uptime"] = json!(if running { 86400 } else { 0 });
        m["netin"] = json!(0);
        m["netout"] = json!(0);
        m["diskread"] = json!(0);
        m["diskwrite"] = json!(0);
    }

    fn resources(&self, v: &AccessView, id: &str, t: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        if t.is_none() {
            for p in &self.sc.pools {
                if v.has(id, &format!("/pool/{}", p.poolid), "Pool.Audit") {
                    out.push(json!({"id": format!("/pool/{}", p.poolid), "type": "pool", "pool": p.poolid}));
                }
            }
        }
        if t.is_none() || t == Some("vm") {
            for i in self.guest_idx.values() {
                let g = &self.sc.guests[*i];
                if !v.has(id, &format!("/vms/{}", g.vmid), "VM.Audit") {
                    continue;
                }
                let mut m = json!({
                    "id": format!("{}/{}", g.kind.as_str(), g.vmid), "type": g.kind.as_str(),
                    "vmid": g.vmid, "node": g.node,
                    "status": if g.has_rrd { g.status.as_str() } else { "unknown" },
                });
                self.guest_stats(g, &mut m);
                if let Some(pool) = &g.pool {
                    if v.has(id, &format!("/pool/{pool}"), "Pool.Audit") {
                        m["pool"] = json!(pool);
                    }
                }
                for key in ["tags", "lock"] {
                    if let Some(val) = g.config.get(key) {
                        m[key] = val.clone();
                    }
                }
                if let Some(h) = &g.hastate {
                    m["hastate"] = json!(h);
                }
                out.push(m);
            }
        }
        if t.is_none() || t == Some("node") {
            for n in &self.sc.nodes {
                let mut m = self.node_item(v, id, &n.name);
                m["cgroup-mode"] = json!(2);
                out.push(m);
            }
        }
        if t.is_none() || t == Some("storage") {
            for s in &self.sc.storages {
                let sid = s.get("storage").and_then(Value::as_str).unwrap_or("");
                if !v.has(id, &format!("/storage/{sid}"), "Datastore.Audit") {
                    continue;
                }
                for node in self.storage_nodes(s) {
                    out.push(self.storage_resource(s, &node));
                }
            }
        }
        out
    }

    fn storage_resource(&self, s: &RawMap, node: &str) -> Value {
        let sid = s.get("storage").and_then(Value::as_str).unwrap_or("");
        let shared = s.get("shared").is_some_and(truthy)
            || matches!(
                s.get("type").and_then(Value::as_str),
                Some("pbs" | "nfs" | "cifs" | "cephfs" | "rbd")
            );
        json!({
            "id": format!("storage/{node}/{sid}"), "storage": sid, "node": node,
            "type": "storage", "plugintype": s.get("type").cloned().unwrap_or(Value::Null),
            "status": "available", "shared": u8::from(shared),
            "content": s.get("content").cloned().unwrap_or(json!("")),
            "disk": 429496729600u64, "maxdisk": 1099511627776u64,
        })
    }

    fn pool_members(&self, pool: &str, t: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        for i in self.guest_idx.values() {
            let g = &self.sc.guests[*i];
            if g.pool.as_deref() != Some(pool) {
                continue;
            }
            if t.is_some() && t != Some(g.kind.as_str()) {
                continue;
            }
            let mut m = json!({
                "id": format!("{}/{}", g.kind.as_str(), g.vmid), "vmid": g.vmid,
                "node": g.node, "type": g.kind.as_str(),
                "status": if g.has_rrd { g.status.as_str() } else { "unknown" },
            });
            self.guest_stats(g, &mut m);
            out.push(m);
        }
        if t.is_none() || t == Some("storage") {
            if let Some(p) = self.sc.pools.iter().find(|p| p.poolid == pool) {
                for sid in &p.storages {
                    if let Some(s) = self.storage_cfg(sid) {
                        if let Some(node) = self.storage_nodes(s).first() {
                            out.push(self.storage_resource(s, node));
                        }
                    }
                }
            }
        }
        out
    }

    fn guest_config(
        &self,
        v: &AccessView,
        id: &str,
        node: &str,
        kind: &str,
        vmid: &str,
    ) -> Result<Reply, Reply> {
        let Ok(vmid) = vmid.parse::<u32>() else {
            return Err(param_error(
                json!({"vmid": format!("type check ('integer') failed - got '{vmid}'")}),
            ));
        };
        if !v.has(id, &format!("/vms/{vmid}"), "VM.Audit") {
            return Err(perm_denied(&format!("/vms/{vmid}"), "VM.Audit"));
        }
        self.check_node(node)?;
        let dir = if kind == "qemu" { "qemu-server" } else { "lxc" };
        let g = self
            .guest(vmid)
            .filter(|g| g.node == node && g.kind.as_str() == kind);
        let Some(g) = g else {
            return Err(error_reply(
                500,
                &format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist"),
                None,
            ));
        };
        let mut m = g.config.clone();
        let d = Sha256::digest(serde_json::to_string(&g.config).unwrap_or_default());
        m.insert(
            "digest".into(),
            json!(d
                .iter()
                .take(20)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()),
        );
        if self.sc.settings.perl_strings {
            perlify(&mut m, &[]);
        }
        Ok(ok(Value::Object(m)))
    }

    fn find_job(&self, jobid: &str) -> Result<&RawMap, Reply> {
        self.sc
            .legacy_jobs
            .iter()
            .chain(&self.sc.backup_jobs)
            .find(|j| j.get("id").and_then(Value::as_str) == Some(jobid))
            .ok_or_else(|| param_error(json!({"id": format!("No such job '{jobid}'")})))
    }

    fn job_out(&self, job: &RawMap, with_next_run: bool) -> RawMap {
        let mut m = job.clone();
        if with_next_run && !m.contains_key("next-run") {
            if let Some(next) = m
                .get("schedule")
                .and_then(Value::as_str)
                .and_then(|s| next_run_simple(s, self.now()))
            {
                m.insert("next-run".into(), json!(next));
            }
        }
        if !with_next_run {
            m.remove("next-run");
        }
        if self.sc.settings.perl_strings {
            perlify(&mut m, &["next-run"]);
        }
        m
    }

    /// `get_included_guests`: (vmid, guest if it exists), sorted by vmid.
    fn included_guests(&self, job: &RawMap) -> Vec<(u32, Option<&Guest>)> {
        let get_str = |k: &str| -> Option<String> {
            job.get(k).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        let parse_list = |s: &str| -> Vec<u32> {
            s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter_map(|x| x.trim().parse::<u32>().ok())
                .filter(|x| *x != 0)
                .collect()
        };
        let mut ids: BTreeSet<u32> = BTreeSet::new();
        if let Some(pool) = get_str("pool") {
            for g in &self.sc.guests {
                if g.pool.as_deref() == Some(pool.as_str()) {
                    ids.insert(g.vmid);
                }
            }
        } else if let Some(list) = get_str("vmid") {
            ids.extend(parse_list(&list));
        } else if job.get("all").is_some_and(truthy) || job.contains_key("exclude") {
            let exclude: BTreeSet<u32> = get_str("exclude")
                .map(|e| parse_list(&e).into_iter().collect())
                .unwrap_or_default();
            ids.extend(
                self.guest_idx
                    .keys()
                    .filter(|v| !exclude.contains(v))
                    .copied(),
            );
        }
        let node = get_str("node");
        ids.into_iter()
            .map(|vmid| (vmid, self.guest(vmid)))
            .filter(|(_, g)| match (g, &node) {
                (Some(g), Some(n)) => g.node == *n,
                _ => true,
            })
            .collect()
    }

    fn included_volumes(&self, v: &AccessView, id: &str, job: &RawMap) -> Value {
        let mut children = Vec::new();
        for (vmid, g) in self.included_guests(job) {
            if !v.has(id, &format!("/vms/{vmid}"), "VM.Audit") {
                continue;
            }
            let Some(g) = g else {
                children.push(json!({"id": vmid, "type": "unknown", "leaf": 1}));
                continue;
            };
            let vols = guest_volumes(g);
            let leaf = u8::from(vols.is_empty());
            children.push(json!({
                "id": vmid, "type": g.kind.as_str(), "name": g.display_name().unwrap_or(""),
                "children": vols, "leaf": leaf,
            }));
        }
        json!({ "children": children })
    }

    fn caller_sees_task(&self, c: &Caller, task_user: &str) -> bool {
        if c.is_token() {
            task_user == c.authid
        } else {
            task_user == c.authid || task_user.split('!').next() == Some(c.authid.as_str())
        }
    }

    fn task_item(e: &TaskEntry, running_status: bool) -> Value {
        let (user, token) = match e.u.user.split_once('!') {
            Some((u, t)) => (u.to_string(), Some(t.to_string())),
            None => (e.u.user.clone(), None),
        };
        let mut m = json!({
            "upid": e.upid, "node": e.u.node, "pid": e.u.pid, "pstart": e.u.pstart,
            "starttime": e.u.starttime, "type": e.u.task_type, "id": e.u.id, "user": user,
        });
        if let Some(t) = token {
            m["tokenid"] = json!(t);
        }
        if let Some(end) = e.endtime {
            m["endtime"] = json!(end);
        }
        match &e.status {
            Some(s) => m["status"] = json!(s),
            None if running_status => m["status"] = json!("RUNNING"),
            None => {}
        }
        m
    }

    fn node_tasks(&self, r: &Req, v: &AccessView, c: &Caller, node: &str) -> Result<Reply, Reply> {
        check_params(
            r,
            &[
                ("start", P::Int),
                ("limit", P::Int),
                ("userfilter", P::Str),
                ("typefilter", P::Str),
                ("vmid", P::Int),
                ("errors", P::Bool),
                ("statusfilter", P::Str),
                ("since", P::Int),
                ("until", P::Int),
                ("source", P::Enum(&["archive", "active", "all"])),
            ],
        )?;
        self.check_node(node)?;
        let start = int_param(r, "start").unwrap_or(0).max(0) as usize;
        let limit = int_param(r, "limit").unwrap_or(50).max(0) as usize;
        let typefilter = r.param("typefilter");
        let userfilter = r.param("userfilter").map(str::to_ascii_lowercase);
        let vmid = r.param("vmid");
        let errors = bool_param(r, "errors");
        let statusfilter: Option<BTreeSet<String>> = if errors {
            Some(
                ["warning", "error", "unknown"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            )
        } else {
            r.param("statusfilter").map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
        };
        let since = int_param(r, "since");
        let until = int_param(r, "until");
        let source = r.param("source").unwrap_or("archive");
        let audit = v.has(&c.authid, &format!("/nodes/{node}"), "Sys.Audit");

        let empty = Vec::new();
        let mut candidates: Vec<(&TaskEntry, bool)> = Vec::new();
        if source == "active" || source == "all" {
            candidates.extend(
                self.active
                    .get(node)
                    .unwrap_or(&empty)
                    .iter()
                    .map(|e| (e, true)),
            );
        }
        if source == "archive" || source == "all" {
            let list = self.archived.get(node).unwrap_or(&empty);
            let cap = self.sc.settings.task_history_limit.unwrap_or(usize::MAX);
            candidates.extend(list.iter().take(cap).map(|e| (e, false)));
        }
        let mut total = 0usize;
        let mut data = Vec::new();
        for (e, running) in candidates {
            if !audit && !self.caller_sees_task(c, &e.u.user) {
                continue;
            }
            if typefilter.is_some_and(|t| t != e.u.task_type) {
                continue;
            }
            if let Some(uf) = &userfilter {
                if !e.u.user.to_ascii_lowercase().contains(uf.as_str()) {
                    continue;
                }
            }
            if vmid.is_some_and(|vm| vm != e.u.id) {
                continue;
            }
            if let Some(sf) = &statusfilter {
                let ty = normalize_status_type(e.status.as_deref().unwrap_or(""));
                if !sf.contains(ty) {
                    continue;
                }
            }
            if since.is_some_and(|s| e.u.starttime < s) || until.is_some_and(|u| e.u.starttime > u)
            {
                continue;
            }
            if total >= start && data.len() < limit {
                data.push(Self::task_item(e, running));
            }
            total += 1;
        }
        Ok(ok_total(Value::Array(data), total))
    }

    fn find_task(&self, node: &str, upid: &str) -> Option<(&TaskEntry, bool)> {
        if let Some(e) = self
            .active
            .get(node)
            .and_then(|l| l.iter().find(|e| e.upid == upid))
        {
            return Some((e, true));
        }
        self.archived
            .get(node)
            .and_then(|l| l.iter().find(|e| e.upid == upid))
            .map(|e| (e, false))
    }

    /// Parse the UPID, check access; `Ok(None)` when the task is unknown on that node.
    fn find_task_checked(
        &self,
        v: &AccessView,
        c: &Caller,
        node: &str,
        upid: &str,
    ) -> Result<Option<(&TaskEntry, bool)>, Reply> {
        let Some(u) = PveUpid::parse(upid) else {
            return Err(param_error(json!({"upid": "unable to parse worker upid"})));
        };
        if !self.caller_sees_task(c, &u.user)
            && !v.has(&c.authid, &format!("/nodes/{node}"), "Sys.Audit")
        {
            return Err(perm_denied(&format!("/nodes/{node}"), "Sys.Audit"));
        }
        Ok(self.find_task(node, upid))
    }

    fn task_status(
        &self,
        v: &AccessView,
        c: &Caller,
        node: &str,
        upid: &str,
    ) -> Result<Reply, Reply> {
        self.check_node(node)?;
        let Some((e, running)) = self.find_task_checked(v, c, node, upid)? else {
            return Err(param_error(json!({"upid": "no such task"})));
        };
        let mut m = Self::task_item(e, false);
        if let Some(o) = m.as_object_mut() {
            o.remove("endtime");
            o.remove("status");
        }
        if running {
            m["status"] = json!("running");
        } else {
            m["status"] = json!("stopped");
            m["exitstatus"] = json!(e
                .status
                .clone()
                .unwrap_or_else(|| "unexpected status".into()));
        }
        Ok(ok(m))
    }

    fn task_log(
        &self,
        r: &Req,
        v: &AccessView,
        c: &Caller,
        node: &str,
        upid: &str,
    ) -> Result<Reply, Reply> {
        self.check_node(node)?;
        let found = self.find_task_checked(v, c, node, upid)?;
        let Some((e, _)) = found else {
            return Ok(ok_total(
                json!([{"n": 1, "t": "unable to open file - No such file or directory"}]),
                1,
            ));
        };
        if e.log.is_empty() {
            return Ok(ok_total(json!([{"n": 1, "t": "no content"}]), 1));
        }
        let start = int_param(r, "start").unwrap_or(0).max(0) as usize;
        let limit = int_param(r, "limit").unwrap_or(50).max(0) as usize;
        let take = if limit == 0 { usize::MAX } else { limit };
        let data: Vec<Value> = e
            .log
            .iter()
            .enumerate()
            .skip(start)
            .take(take)
            .map(|(i, t)| json!({"n": i + 1, "t": t}))
            .collect();
        Ok(ok_total(Value::Array(data), e.log.len()))
    }

    fn cluster_tasks(&self, v: &AccessView, c: &Caller) -> Vec<Value> {
        let audit = v.has(&c.authid, "/", "Sys.Audit");
        let mut out = Vec::new();
        for n in &self.sc.nodes {
            let empty = Vec::new();
            let running = self.active.get(&n.name).unwrap_or(&empty);
            let finished = self.archived.get(&n.name).unwrap_or(&empty);
            let keep = 25usize.saturating_sub(running.len());
            let mut items: Vec<Value> = Vec::new();
            for e in running {
                let mut m = Self::task_item(e, false);
                m["pid"] = json!(e.u.pid);
                m["saved"] = json!("0");
                items.push(m);
            }
            for e in finished.iter().take(keep) {
                let mut m = Self::task_item(e, false);
                if let Some(o) = m.as_object_mut() {
                    o.remove("pid");
                }
                m["saved"] = json!("1");
                items.push(m);
            }
            for mut m in items {
                if let Some(o) = m.as_object_mut() {
                    o.remove("pstart");
                }
                let user = m["user"].as_str().unwrap_or("");
                if audit || user == c.authid {
                    out.push(m);
                }
            }
        }
        out
    }

    fn storage_content(
        &self,
        r: &Req,
        v: &AccessView,
        id: &str,
        node: &str,
        sid: &str,
    ) -> Result<Reply, Reply> {
        let path = format!("/storage/{sid}");
        if !v.has_any(id, &path, &["Datastore.Audit", "Datastore.AllocateSpace"]) {
            return Err(perm_denied(
                &path,
                "Datastore.Audit|Datastore.AllocateSpace",
            ));
        }
        self.check_node(node)?;
        let Some(cfg) = self.storage_cfg(sid) else {
            return Err(error_reply(
                500,
                &format!("storage '{sid}' does not exist"),
                None,
            ));
        };
        if !self.storage_nodes(cfg).iter().any(|n| n == node) {
            return Err(error_reply(
                500,
                &format!("storage '{sid}' is not available on node '{node}'"),
                None,
            ));
        }
        let vmid_filter = int_param(r, "vmid");
        let allocate = v.has(id, &path, "Datastore.Allocate");
        let content = r.param("content");
        if content == Some("images") {
            // check_volume_access: a guest image is listed only with Datastore.Allocate on the
            // storage; without it the answer is an empty list, not an error.
            let mut out: Vec<Value> = Vec::new();
            if allocate {
                let mut vols: Vec<&RawMap> = self
                    .sc
                    .image_volumes
                    .iter()
                    .filter(|fv| fv.storage == sid && fv.node.as_deref().is_none_or(|n| n == node))
                    .map(|fv| &fv.item)
                    .filter(|item| {
                        let vmid = item.get("vmid").and_then(Value::as_i64).unwrap_or(0);
                        vmid_filter.is_none_or(|f| f == vmid)
                    })
                    .collect();
                vols.sort_by(|a, b| {
                    a.get("volid")
                        .and_then(Value::as_str)
                        .cmp(&b.get("volid").and_then(Value::as_str))
                });
                out = vols.into_iter().map(|i| Value::Object(i.clone())).collect();
            }
            return Ok(ok(Value::Array(out)));
        }
        if content.is_some_and(|c| c != "backup") {
            return Ok(ok(json!([])));
        }
        let space = v.has(id, &path, "Datastore.AllocateSpace");
        let visible =
            |vmid: i64| allocate || (space && v.has(id, &format!("/vms/{vmid}"), "VM.Backup"));
        let mut out = Vec::new();
        if cfg.get("type").and_then(Value::as_str) == Some("pbs") {
            let Some(pbs) = self.storage_pbs.get(sid) else {
                let server = cfg.get("server").and_then(Value::as_str).unwrap_or("");
                return Err(error_reply(
                    500,
                    &format!("error listing snapshots - 500 Can't connect to {server}:8007 (Connection refused)"),
                    None,
                ));
            };
            let store = cfg.get("datastore").and_then(Value::as_str).unwrap_or("");
            let ns = cfg.get("namespace").and_then(Value::as_str).unwrap_or("");
            let username = cfg
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or("root@pam");
            let backup_id = vmid_filter.map(|v| v.to_string());
            let snaps = pbs
                .snapshots_for(username, store, ns, None, backup_id.as_deref())
                .map_err(|(_, msg)| {
                    error_reply(500, &format!("error listing snapshots - {msg}"), None)
                })?;
            for s in snaps {
                let btype = s["backup-type"].as_str().unwrap_or("");
                let (format, subtype) = match btype {
                    "vm" => ("pbs-vm", "qemu"),
                    "ct" => ("pbs-ct", "lxc"),
                    _ => continue,
                };
                let Ok(vmid) = s["backup-id"].as_str().unwrap_or("").parse::<i64>() else {
                    continue;
                };
                if !visible(vmid) {
                    continue;
                }
                let time = s["backup-time"].as_i64().unwrap_or(0);
                let stamp = chrono::DateTime::from_timestamp(time, 0)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default();
                let mut m = json!({
                    "volid": format!("{sid}:backup/{btype}/{vmid}/{stamp}"),
                    "content": "backup", "format": format, "subtype": subtype,
                    "vmid": vmid, "ctime": time,
                    "size": s.get("size").and_then(Value::as_u64).unwrap_or(1),
                });
                if let Some(c) = s.get("comment") {
                    m["notes"] = c.clone();
                }
                if s.get("protected").and_then(Value::as_bool) == Some(true) {
                    m["protected"] = json!(1);
                }
                if let Some(ver) = s.get("verification") {
                    m["verification"] = ver.clone();
                }
                if let Some(fp) = s.get("fingerprint") {
                    m["encrypted"] = fp.clone();
                } else if let Some(files) = s.get("files").and_then(Value::as_array) {
                    let archives: Vec<&Value> = files
                        .iter()
                        .filter(|f| {
                            !matches!(
                                f["filename"].as_str(),
                                Some("index.json.blob" | "client.log.blob")
                            )
                        })
                        .collect();
                    if !archives.is_empty()
                        && archives.iter().all(|f| f["crypt-mode"] == json!("encrypt"))
                    {
                        m["encrypted"] = json!("1");
                    }
                }
                out.push(m);
            }
        } else {
            let mut vols: Vec<&RawMap> = self
                .sc
                .backup_volumes
                .iter()
                .filter(|fv| fv.storage == sid && fv.node.as_deref().is_none_or(|n| n == node))
                .map(|fv| &fv.item)
                .collect();
            vols.sort_by(|a, b| {
                a.get("volid")
                    .and_then(Value::as_str)
                    .cmp(&b.get("volid").and_then(Value::as_str))
            });
            for item in vols {
                let vmid = item.get("vmid").and_then(Value::as_i64).unwrap_or(0);
                if vmid_filter.is_some_and(|f| f != vmid) || !visible(vmid) {
                    continue;
                }
                out.push(Value::Object(item.clone()));
            }
        }
        Ok(ok(Value::Array(out)))
    }

    fn permissions(&self, r: &Req, v: &AccessView, c: &Caller) -> Result<Reply, Reply> {
        let target = r.param("userid").unwrap_or(&c.authid).to_string();
        let own = target == c.authid
            || (!c.is_token() && target.split('!').next() == Some(c.authid.as_str()));
        if !own && !v.has(&c.authid, "/access", "Sys.Audit") {
            return Err(perm_denied("/access", "Sys.Audit"));
        }
        let paths: BTreeSet<String> = match r.param("path") {
            Some(p) => [p.to_string()].into_iter().collect(),
            None => {
                let mut s: BTreeSet<String> = [
                    "/",
                    "/access",
                    "/access/groups",
                    "/nodes",
                    "/pool",
                    "/sdn",
                    "/storage",
                    "/vms",
                ]
                .iter()
                .map(|p| p.to_string())
                .collect();
                s.extend(v.acl_paths());
                for vmid in self.guest_pools.keys() {
                    s.insert(format!("/vms/{vmid}"));
                }
                for sid in self.storage_pools.keys() {
                    s.insert(format!("/storage/{sid}"));
                }
                s
            }
        };
        let mut out = Map::new();
        for p in paths {
            let privs = v.privs(&target, &p);
            if privs.is_empty() {
                continue;
            }
            let m: Map<String, Value> = privs
                .into_iter()
                .map(|(k, prop)| (k, json!(u8::from(prop))))
                .collect();
            out.insert(p, Value::Object(m));
        }
        Ok(ok(Value::Object(out)))
    }
}

/// Volume tree children of one guest (`included_volumes`, pve-api.md §3.7).
fn guest_volumes(g: &Guest) -> Vec<Value> {
    let mut out = Vec::new();
    let vmid = g.vmid;
    let cfg_str = |k: &str| g.config.get(k).and_then(Value::as_str).map(str::to_string);
    match g.kind {
        Kind::Qemu => {
            let keys = super::vzdump::vm_disk_keys(&g.config);
            let ovmf = cfg_str("bios").as_deref() == Some("ovmf");
            for key in keys {
                let Some(val) = cfg_str(&key) else { continue };
                let (volume, opts) = split_prop(&val);
                if opts.get("media").map(String::as_str) == Some("cdrom") {
                    continue;
                }
                let (included, reason) = if key == "efidisk0" && !ovmf {
                    (false, "efidisk but no OVMF BIOS".to_string())
                } else {
                    match opts.get("backup") {
                        None => (true, "backup=yes".to_string()),
                        Some(b) => (opt_truthy(b), "backup=no".to_string()),
                    }
                };
                out.push(json!({
                    "id": format!("{vmid}:{key}"), "name": volume,
                    "included": u8::from(included), "reason": reason, "leaf": 1,
                }));
            }
        }
        Kind::Lxc => {
            if let Some(val) = cfg_str("rootfs") {
                let (volume, _) = split_prop(&val);
                out.push(json!({
                    "id": format!("{vmid}:rootfs"), "name": volume,
                    "included": 1, "reason": "rootfs", "leaf": 1,
                }));
            }
            for key in super::vzdump::mp_keys(&g.config) {
                let Some(val) = cfg_str(&key) else { continue };
                let (volume, opts) = split_prop(&val);
                let (included, reason) = if volume.starts_with('/') {
                    (false, "not a volume")
                } else if opts.get("backup").is_some_and(|b| opt_truthy(b)) {
                    (true, "enabled")
                } else {
                    (false, "disabled")
                };
                out.push(json!({
                    "id": format!("{vmid}:{key}"), "name": volume,
                    "included": u8::from(included), "reason": reason, "leaf": 1,
                }));
            }
        }
    }
    out
}

/// Simplified `next-run`: the next occurrence of the schedule's `HH:MM` in UTC (weekday parts
/// ignored); `daily` = 00:00. `None` for anything else.
pub fn next_run_simple(schedule: &str, now: i64) -> Option<i64> {
    let (h, m) = if schedule.trim() == "daily" {
        (0, 0)
    } else {
        let tok = schedule.split_whitespace().find(|t| t.contains(':'))?;
        let (h, m) = tok.split_once(':')?;
        (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    let day = now.div_euclid(86400) * 86400;
    let candidate = day + h * 3600 + m * 60;
    Some(if candidate > now {
        candidate
    } else {
        candidate + 86400
    })
}
