//! Privileges: role tables of PVE and PBS, ACL path inheritance (deeper ACLs of the same
//! user/token replace inherited ones, `propagate` decides inheritance), PVE pool-derived
//! privileges, token ∩ user intersection (PVE privsep=1, PBS always) and authentication of
//! token headers and tickets.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::scenario::Access;

/// Which product's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Proxmox VE.
    Pve,
    /// Proxmox Backup Server.
    Pbs,
}

const PVE_ALL: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
];

const PBS_ALL: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.Audit",
    "Datastore.Backup",
    "Datastore.Modify",
    "Datastore.Prune",
    "Datastore.Read",
    "Datastore.Verify",
    "Permissions.Modify",
    "Realm.Allocate",
    "Remote.Audit",
    "Remote.DatastoreBackup",
    "Remote.DatastoreModify",
    "Remote.DatastorePrune",
    "Remote.Modify",
    "Remote.Read",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Modify",
    "Sys.PowerManagement",
    "Tape.Audit",
    "Tape.Modify",
    "Tape.Read",
    "Tape.Write",
];

/// Expand a role name (or a single privilege name) into privileges.
pub fn expand_role(product: Product, role: &str) -> Vec<&'static str> {
    let all = match product {
        Product::Pve => PVE_ALL,
        Product::Pbs => PBS_ALL,
    };
    let list: &[&str] = match (product, role) {
        (Product::Pve, "Administrator") | (Product::Pbs, "Admin") => all,
        (_, "NoAccess") => &[],
        (Product::Pve, "PVEAuditor") => &[
            "VM.Audit",
            "VM.GuestAgent.Audit",
            "Sys.Audit",
            "Datastore.Audit",
            "SDN.Audit",
            "Pool.Audit",
            "Mapping.Audit",
        ],
        (Product::Pve, "PVEDatastoreUser") => &["Datastore.AllocateSpace", "Datastore.Audit"],
        (Product::Pve, "PVEDatastoreAdmin") => &[
            "Datastore.Allocate",
            "Datastore.AllocateTemplate",
            "Datastore.AllocateSpace",
            "Datastore.Audit",
        ],
        (Product::Pve, "PVEVMUser") => &[
            "VM.Audit",
            "VM.Backup",
            "VM.Console",
            "VM.PowerMgmt",
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.GuestAgent.Audit",
            "VM.GuestAgent.Unrestricted",
        ],
        (Product::Pve, "PVEVMAdmin") => &[
            "VM.Allocate",
            "VM.Audit",
            "VM.Backup",
            "VM.Clone",
            "VM.Config.CDROM",
            "VM.Config.CPU",
            "VM.Config.Cloudinit",
            "VM.Config.Disk",
            "VM.Config.HWType",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
            "VM.Console",
            "VM.GuestAgent.Audit",
            "VM.GuestAgent.Unrestricted",
            "VM.Migrate",
            "VM.PowerMgmt",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
        ],
        (Product::Pve, "PVEPoolAdmin") => &["Pool.Allocate", "Pool.Audit"],
        (Product::Pve, "PVEPoolUser") => &["Pool.Audit"],
        (Product::Pve, "PVESysAdmin") => &[
            "Sys.Audit",
            "Sys.Console",
            "Sys.Syslog",
            "Sys.PowerMgmt",
            "Sys.Modify",
        ],
        (Product::Pve, "PVETemplateUser") => &["VM.Audit", "VM.Clone"],
        (Product::Pbs, "Audit") => &["Sys.Audit", "Datastore.Audit"],
        (Product::Pbs, "DatastoreAdmin") => &[
            "Datastore.Audit",
            "Datastore.Modify",
            "Datastore.Read",
            "Datastore.Verify",
            "Datastore.Backup",
            "Datastore.Prune",
        ],
        (Product::Pbs, "DatastoreReader") => {
            &["Datastore.Audit", "Datastore.Verify", "Datastore.Read"]
        }
        (Product::Pbs, "DatastoreBackup") => &["Datastore.Backup"],
        (Product::Pbs, "DatastorePowerUser") => &["Datastore.Prune", "Datastore.Backup"],
        (Product::Pbs, "DatastoreAudit") => &["Datastore.Audit"],
        (Product::Pbs, "RemoteAudit") => &["Remote.Audit"],
        (Product::Pbs, "TapeAudit") => &["Tape.Audit"],
        (Product::Pbs, "RemoteAdmin") => &["Remote.Audit", "Remote.Modify", "Remote.Read"],
        (Product::Pbs, "RemoteSyncOperator") => &["Remote.Audit", "Remote.Read"],
        _ => {
            return all.iter().copied().filter(|p| *p == role).collect();
        }
    };
    list.to_vec()
}

/// Privilege → propagate flag.
pub type PrivMap = BTreeMap<String, bool>;

/// Read-only view that answers privilege questions for one product.
pub struct AccessView<'a> {
    /// Users, tokens, ACLs.
    pub access: &'a Access,
    /// Product rules.
    pub product: Product,
    /// PVE: `/vms/<vmid>` → pool id (pool-derived privileges).
    pub guest_pools: HashMap<u32, String>,
    /// PVE: `/storage/<id>` → pool id.
    pub storage_pools: HashMap<String, String>,
}

fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

impl<'a> AccessView<'a> {
    /// A view without pool information (PBS).
    pub fn new(access: &'a Access, product: Product) -> Self {
        AccessView {
            access,
            product,
            guest_pools: HashMap::new(),
            storage_pools: HashMap::new(),
        }
    }

    fn all(&self) -> &'static [&'static str] {
        match self.product {
            Product::Pve => PVE_ALL,
            Product::Pbs => PBS_ALL,
        }
    }

    /// Privileges granted directly to `ugid` (no intersection) at `path`.
    fn raw_privs(&self, ugid: &str, path: &str) -> PrivMap {
        let path = normalize(path);
        let mut prefixes = vec!["/".to_string()];
        let mut cur = String::new();
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            cur.push('/');
            cur.push_str(comp);
            prefixes.push(cur.clone());
        }
        let mut result = PrivMap::new();
        for prefix in &prefixes {
            let is_final = *prefix == path;
            let mut level: Option<PrivMap> = None;
            for acl in &self.access.acls {
                if acl.ugid != ugid || normalize(&acl.path) != *prefix {
                    continue;
                }
                if !(is_final || acl.propagate) {
                    continue;
                }
                let map = level.get_or_insert_with(PrivMap::new);
                for role in &acl.roles {
                    for p in expand_role(self.product, role) {
                        let e = map.entry(p.to_string()).or_insert(false);
                        *e |= acl.propagate;
                    }
                }
            }
            if let Some(level) = level {
                result = level;
            }
        }
        result
    }

    fn raw_with_pools(&self, ugid: &str, path: &str) -> PrivMap {
        let mut privs = self.raw_privs(ugid, path);
        if self.product == Product::Pve {
            let norm = normalize(path);
            let pool = if let Some(id) = norm.strip_prefix("/vms/") {
                id.parse::<u32>()
                    .ok()
                    .and_then(|v| self.guest_pools.get(&v).cloned())
            } else if let Some(id) = norm.strip_prefix("/storage/") {
                self.storage_pools.get(id).cloned()
            } else {
                None
            };
            if let Some(pool) = pool {
                for (p, prop) in self.raw_privs(ugid, &format!("/pool/{pool}")) {
                    let e = privs.entry(p).or_insert(false);
                    *e |= prop;
                }
            }
        }
        privs
    }

    /// Effective privileges of an auth id at `path`.
    pub fn privs(&self, authid: &str, path: &str) -> PrivMap {
        let user = authid.split('!').next().unwrap_or(authid);
        if user == "root@pam" {
            return self.all().iter().map(|p| (p.to_string(), true)).collect();
        }
        let Some(u) = self.access.users.iter().find(|u| u.userid == user) else {
            return PrivMap::new();
        };
        if !u.enable {
            return PrivMap::new();
        }
        let user_privs = self.raw_with_pools(user, path);
        if !authid.contains('!') {
            return user_privs;
        }
        let Some(token) = self.access.tokens.iter().find(|t| t.tokenid == authid) else {
            return PrivMap::new();
        };
        if self.product == Product::Pve && !token.privsep {
            return user_privs;
        }
        let token_privs = self.raw_with_pools(authid, path);
        token_privs
            .into_iter()
            .filter_map(|(p, prop)| user_privs.get(&p).map(|up| (p, prop && *up)))
            .collect()
    }

    /// Does `authid` hold `privilege` on `path`?
    pub fn has(&self, authid: &str, path: &str, privilege: &str) -> bool {
        self.privs(authid, path).contains_key(privilege)
    }

    /// Does `authid` hold any of `privileges` on `path`?
    pub fn has_any(&self, authid: &str, path: &str, privileges: &[&str]) -> bool {
        let p = self.privs(authid, path);
        privileges.iter().any(|x| p.contains_key(*x))
    }

    /// All ACL paths (normalized) mentioned anywhere.
    pub fn acl_paths(&self) -> BTreeSet<String> {
        self.access
            .acls
            .iter()
            .map(|a| normalize(&a.path))
            .collect()
    }
}

/// Outcome of authenticating a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Full auth id (`user@realm` or `user@realm!token`).
    pub authid: String,
}

impl Caller {
    /// The user part.
    pub fn user(&self) -> &str {
        self.authid.split('!').next().unwrap_or(&self.authid)
    }
    /// Is this an API token?
    pub fn is_token(&self) -> bool {
        self.authid.contains('!')
    }
}

/// Is a user usable right now (enabled, not expired)?
pub fn user_active(access: &Access, userid: &str, now: i64) -> bool {
    if userid == "root@pam" {
        return true;
    }
    access
        .users
        .iter()
        .any(|u| u.userid == userid && u.enable && (u.expire == 0 || u.expire > now))
}

/// Check a token id + secret (user active, token exists, not expired, secret matches).
pub fn check_token(access: &Access, tokenid: &str, secret: &str, now: i64) -> Result<(), String> {
    let user = tokenid.split('!').next().unwrap_or("");
    if !user_active(access, user, now) {
        return Err("user account or token disabled or expired.".into());
    }
    let Some(token) = access.tokens.iter().find(|t| t.tokenid == tokenid) else {
        return Err("user account or token disabled or expired.".into());
    };
    if token.expire != 0 && token.expire <= now {
        return Err("user account or token disabled or expired.".into());
    }
    if token.secret != secret {
        return Err("invalid API token".into());
    }
    Ok(())
}

/// Percent-decode (`%XX`), leaving invalid sequences as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Validate a PBS/PVE token name (`SAFE_ID`: `[A-Za-z0-9_][A-Za-z0-9._\-]*`).
pub fn valid_token_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn access() -> Access {
        let mut a = Access::default();
        a.user("monitor@pve", None)
            .token("monitor@pve!full", "s1", true)
            .token("monitor@pve!empty", "s2", true)
            .token("monitor@pve!nosep", "s3", false)
            .acl("/", "monitor@pve", "PVEAuditor", true)
            .acl("/", "monitor@pve!full", "PVEAuditor", true)
            .acl("/vms/100", "monitor@pve", "NoAccess", false);
        a
    }

    #[test]
    fn inheritance_override_and_intersection() {
        let a = access();
        let v = AccessView::new(&a, Product::Pve);
        assert!(v.has("monitor@pve", "/vms/101", "VM.Audit"));
        assert!(!v.has("monitor@pve", "/vms/100", "VM.Audit"));
        assert!(v.has("monitor@pve!full", "/vms/101", "VM.Audit"));
        assert!(!v.has("monitor@pve!full", "/vms/100", "VM.Audit"));
        assert!(!v.has("monitor@pve!empty", "/", "Sys.Audit"));
        assert!(v.has("monitor@pve!nosep", "/", "Sys.Audit"));
        assert_eq!(v.privs("monitor@pve", "/vms/100").len(), 0);
    }
}
