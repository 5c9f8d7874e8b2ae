//! Reading a token's effective privileges (`GET /access/permissions`) the way PVE and PBS compute them,
//! and the one table of what each list or capability needs ([`Need`]).
//!
//! The answer maps ACL paths to `{privilege: propagate}` (decoded by [`api::access::Permissions`]).
//! Only some paths are listed, so a privilege on a path that is not listed is decided by the nearest
//! listed ancestor whose grant propagates.
//!
//! [`api::access::Permissions`]: crate::api::access::Permissions

use std::collections::BTreeMap;

use crate::api::access::Permissions;

/// The paths PVE's full permission map always evaluates (pve-access-control
/// `RPCEnvironment::get_effective_permissions`).
const PVE_TOP_LEVEL_PATHS: [&str; 8] = [
    "/",
    "/access",
    "/access/groups",
    "/nodes",
    "/pool",
    "/sdn",
    "/storage",
    "/vms",
];

/// Effective privileges per ACL path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionMap {
    paths: BTreeMap<String, BTreeMap<String, bool>>,
}

impl PermissionMap {
    /// Build the map from the decoded answer of `GET /access/permissions`.
    pub fn from_wire(answer: Permissions) -> PermissionMap {
        PermissionMap {
            paths: answer.paths,
        }
    }

    /// Build the map from PVE's full answer of `GET /access/permissions` (no `path`). PVE computes
    /// the privileges of its top-level paths (`/`, `/access`, `/access/groups`, `/nodes`, `/pool`,
    /// `/sdn`, `/storage`, `/vms`) for every caller and leaves a path out only when nothing is
    /// granted there (`get_effective_permissions`), so a top-level path missing from the answer is
    /// known to hold nothing: an ancestor's grant does not reach past it. Other paths are listed
    /// only when an ACL names them, and a NoAccess ACL leaves them out, so only
    /// [`PermissionMap::set_path_permissions`] decides those exactly.
    pub fn from_pve_full_map(answer: Permissions) -> PermissionMap {
        let mut map = PermissionMap::from_wire(answer);
        for root in PVE_TOP_LEVEL_PATHS {
            map.paths.entry(root.to_string()).or_default();
        }
        map
    }

    /// Record the answer of `GET /access/permissions?path=<path>`. The full map leaves out paths
    /// where nothing is granted (e.g. a NoAccess ACL), which would let an ancestor's grant seem to
    /// reach them; the per-path answer is exact, and an empty one is recorded as "nothing here".
    pub fn set_path_permissions(&mut self, path: &str, answer: Permissions) {
        let privs = answer.paths.get(path).cloned().unwrap_or_default();
        self.paths.insert(path.to_string(), privs);
    }

    /// No privilege anywhere: what a privilege-separated token without ACLs of its own sees.
    pub fn is_empty(&self) -> bool {
        self.paths.values().all(BTreeMap::is_empty)
    }

    /// Whether `privilege` holds on `path`. A listed path decides for itself; otherwise the nearest
    /// listed ancestor decides, and only a grant that propagates reaches down.
    pub fn has(&self, path: &str, privilege: &str) -> bool {
        if let Some(privs) = self.paths.get(path) {
            return privs.contains_key(privilege);
        }
        self.nearest_ancestor(path)
            .is_some_and(|privs| privs.get(privilege) == Some(&true))
    }

    /// Whether `privilege` holds on `path` and on everything below it, so no list below `path` is
    /// silently shortened.
    pub fn has_everywhere_below(&self, path: &str, privilege: &str) -> bool {
        let reaches_down = match self.paths.get(path) {
            Some(privs) => privs.get(privilege) == Some(&true),
            None => self
                .nearest_ancestor(path)
                .is_some_and(|privs| privs.get(privilege) == Some(&true)),
        };
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        // A more specific listed path without the privilege (e.g. NoAccess) shortens the list.
        let overridden_below = self.paths.iter().any(|(listed, privs)| {
            listed.starts_with(&prefix) && listed != path && !privs.contains_key(privilege)
        });
        reaches_down && !overridden_below
    }

    fn nearest_ancestor(&self, path: &str) -> Option<&BTreeMap<String, bool>> {
        let mut current = path.to_string();
        while let Some(parent) = parent_path(&current) {
            if let Some(privs) = self.paths.get(&parent) {
                return Some(privs);
            }
            current = parent;
        }
        None
    }

    /// Whether `privilege` appears on any path starting with `prefix` (partial visibility).
    pub fn has_anywhere_below(&self, prefix: &str, privilege: &str) -> bool {
        self.paths
            .iter()
            .any(|(path, privs)| path.starts_with(prefix) && privs.contains_key(privilege))
    }
}

/// Which server a requirement is about (the fix command differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Product {
    /// Proxmox VE (`pveum`).
    Pve,
    /// Proxmox Backup Server (`proxmox-backup-manager`).
    Pbs,
}

/// What a missing privilege does to the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenMissing {
    /// The request fails with 403: visible as an error.
    Forbidden,
    /// The request succeeds with a shortened list: invisible unless the privileges are read.
    SilentlyFiltered,
}

/// Something the report reads whose completeness depends on a privilege.
#[allow(dead_code)] // The 403-only needs are read by --check-api once it is rebuilt on this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Need {
    /// PVE guests (`/cluster/resources`).
    Guests,
    /// PVE guest configs (notes, disks excluded from backup).
    GuestConfigs,
    /// PVE backup jobs.
    BackupJobs,
    /// PVE's own not-backed-up list.
    NotBackedUp,
    /// PVE storages.
    Storages,
    /// PVE pools.
    Pools,
    /// A PVE node's vzdump task history.
    TaskHistory,
    /// A PVE node's time zone.
    NodeTime,
    /// PVE storage replication status (shown, never counted as a backup).
    Replication,
    /// Backup volumes on a PVE storage.
    StorageContent,
    /// The PBS datastore list.
    PbsDatastores,
    /// Snapshots of one PBS datastore (or namespace).
    PbsSnapshots,
    /// PBS verify, prune and sync jobs.
    PbsJobs,
    /// The PBS task history.
    PbsTaskHistory,
    /// PBS remotes and the sync jobs that name them (pull and push).
    PbsRemotes,
    /// PBS tape backup jobs and the tape catalog.
    PbsTape,
}

/// A role to grant on a path so a [`Need`] is met read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    /// ACL path to grant on.
    pub path: &'static str,
    /// Role to grant.
    pub role: &'static str,
}

/// What one [`Need`] requires: the privilege, where, and what its absence does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The server.
    pub product: Product,
    /// Short stable name (`guests`, `backup_jobs`, …), as `--check-api` reports capabilities.
    pub name: &'static str,
    /// The request, e.g. `GET /cluster/resources`.
    pub endpoint: &'static str,
    /// The ACL path the privilege is checked on; `{…}` stands for the node, guest or store.
    pub acl_path: &'static str,
    /// The privilege.
    pub privilege: &'static str,
    /// 403 or silent filtering.
    pub when_missing: WhenMissing,
    /// What the absence does, in a sentence.
    pub effect: &'static str,
    /// The read-only grant that meets it; `None` when only a write privilege would (PVE storage
    /// content), so the fix is another source instead.
    pub grant: Option<Grant>,
}

impl Need {
    /// The requirement of this need.
    pub(crate) fn requirement(self) -> Requirement {
        use WhenMissing::{Forbidden, SilentlyFiltered};
        const PVE_AUDITOR: Option<Grant> = Some(Grant {
            path: "/",
            role: "PVEAuditor",
        });
        const PBS_AUDIT: Option<Grant> = Some(Grant {
            path: "/",
            role: "Audit",
        });
        let (product, name, endpoint, acl_path, privilege, when_missing, effect, grant) = match self {
            Need::Guests => (
                Product::Pve,
                "guests",
                "GET /cluster/resources",
                "/vms",
                "VM.Audit",
                SilentlyFiltered,
                "guests without VM.Audit are silently left out of /cluster/resources",
                PVE_AUDITOR,
            ),
            Need::GuestConfigs => (
                Product::Pve,
                "guest_configs",
                "GET /nodes/{node}/{type}/{vmid}/config",
                "/vms/{vmid}",
                "VM.Audit",
                Forbidden,
                "a guest's notes and disk exclusions cannot be read",
                PVE_AUDITOR,
            ),
            Need::BackupJobs => (
                Product::Pve,
                "backup_jobs",
                "GET /cluster/backup",
                "/",
                "Sys.Audit",
                Forbidden,
                "no guest can be called covered or not covered",
                PVE_AUDITOR,
            ),
            Need::NotBackedUp => (
                Product::Pve,
                "not_backed_up",
                "GET /cluster/backup-info/not-backed-up",
                "/vms",
                "VM.Audit",
                SilentlyFiltered,
                "PVE leaves guests without VM.Audit out of its not-backed-up list",
                PVE_AUDITOR,
            ),
            Need::Storages => (
                Product::Pve,
                "storages",
                "GET /storage",
                "/storage",
                "Datastore.Audit",
                SilentlyFiltered,
                "storages without Datastore.Audit are silently left out of /storage",
                PVE_AUDITOR,
            ),
            Need::Pools => (
                Product::Pve,
                "pools",
                "GET /pools",
                "/pool",
                "Pool.Audit",
                SilentlyFiltered,
                "pools without Pool.Audit are silently left out of /pools",
                Some(Grant {
                    path: "/pool",
                    role: "PVEAuditor",
                }),
            ),
            Need::TaskHistory => (
                Product::Pve,
                "task_history",
                "GET /nodes/{node}/tasks",
                "/nodes/{node}",
                "Sys.Audit",
                SilentlyFiltered,
                "PVE silently lists only the token's own tasks; scheduled backups run as root@pam and are invisible",
                Some(Grant {
                    path: "/nodes",
                    role: "PVEAuditor",
                }),
            ),
            Need::Replication => (
                Product::Pve,
                "replication",
                "GET /nodes/{node}/replication",
                "/vms",
                "VM.Audit",
                SilentlyFiltered,
                "replication jobs of guests without VM.Audit are silently left out",
                PVE_AUDITOR,
            ),
            Need::NodeTime => (
                Product::Pve,
                "node_time",
                "GET /nodes/{node}/time",
                "/nodes/{node}",
                "Sys.Audit",
                Forbidden,
                "task-log times are read as UTC instead of the node's time zone",
                Some(Grant {
                    path: "/nodes",
                    role: "PVEAuditor",
                }),
            ),
            Need::StorageContent => (
                Product::Pve,
                "storage_content",
                "GET /nodes/{node}/storage/{storage}/content",
                "/storage/{storage}",
                "Datastore.Allocate",
                SilentlyFiltered,
                "PVE hides backup volumes without Datastore.Allocate on the storage (or AllocateSpace + VM.Backup per guest)",
                None,
            ),
            Need::PbsDatastores => (
                Product::Pbs,
                "datastores",
                "GET /admin/datastore",
                "/datastore",
                "Datastore.Audit",
                SilentlyFiltered,
                "datastores on which the token has no privilege are silently left out of /admin/datastore",
                PBS_AUDIT,
            ),
            Need::PbsSnapshots => (
                Product::Pbs,
                "snapshots",
                "GET /admin/datastore/{store}/snapshots",
                "/datastore/{store}",
                "Datastore.Audit",
                SilentlyFiltered,
                "with Datastore.Backup only, PBS silently lists only the groups the token owns",
                Some(Grant {
                    path: "/datastore",
                    role: "DatastoreAudit",
                }),
            ),
            Need::PbsJobs => (
                Product::Pbs,
                "jobs",
                "GET /admin/verify, /admin/prune, /admin/sync",
                "/datastore",
                "Datastore.Audit",
                SilentlyFiltered,
                "jobs on datastores without Datastore.Audit are silently left out",
                PBS_AUDIT,
            ),
            Need::PbsTaskHistory => (
                Product::Pbs,
                "task_history",
                "GET /nodes/localhost/tasks",
                "/system/tasks",
                "Sys.Audit",
                SilentlyFiltered,
                "only the token's own tasks are listed",
                Some(Grant {
                    path: "/system/tasks",
                    role: "Audit",
                }),
            ),
            Need::PbsRemotes => (
                Product::Pbs,
                "remotes",
                "GET /config/remote, /admin/sync?sync-direction=all",
                "/remote",
                "Remote.Audit",
                SilentlyFiltered,
                "remotes and the sync jobs that name them are silently left out (the Audit role lacks Remote.Audit), so off-site copies cannot be seen",
                Some(Grant {
                    path: "/remote",
                    role: "RemoteAudit",
                }),
            ),
            Need::PbsTape => (
                Product::Pbs,
                "tape",
                "GET /tape/backup, /tape/media/content",
                "/tape",
                "Tape.Audit",
                SilentlyFiltered,
                "tape backup jobs and tape content are silently left out (the Audit role lacks Tape.Audit), so copies on tape cannot be seen",
                Some(Grant {
                    path: "/tape",
                    role: "TapeAudit",
                }),
            ),
        };
        Requirement {
            product,
            name,
            endpoint,
            acl_path,
            privilege,
            when_missing,
            effect,
            grant,
        }
    }
}

impl Need {
    /// Another ACL subtree where the privilege, granted only there, still shows part of the list:
    /// `VM.Audit` on a pool reaches the pool's guests, so they are listed without `/vms`.
    pub(crate) fn also_granted_below(self) -> Option<&'static str> {
        match self {
            Need::Guests => Some("/pool"),
            _ => None,
        }
    }

    /// A weaker privilege that lists only what the caller owns, silently: with `Datastore.Backup`
    /// (and no `Datastore.Audit`) PBS shows only the token's own backup groups.
    pub(crate) fn owner_privilege(self) -> Option<&'static str> {
        match self {
            Need::PbsSnapshots => Some("Datastore.Backup"),
            _ => None,
        }
    }
}

impl Requirement {
    /// The ACL path with its `{…}` placeholder replaced by `value` (a node, guest or store).
    pub(crate) fn acl_path_for(&self, value: &str) -> String {
        match (self.acl_path.find('{'), self.acl_path.find('}')) {
            (Some(open), Some(close)) if open < close => format!(
                "{}{value}{}",
                &self.acl_path[..open],
                &self.acl_path[close + 1..]
            ),
            _ => self.acl_path.to_string(),
        }
    }

    /// The command granting [`Requirement::grant`] to `identity` (a user, or a token `user!name`,
    /// whose user then needs it too), or `None` when there is no read-only grant.
    pub(crate) fn fix(&self, identity: &str) -> Option<String> {
        let Grant { path, role } = self.grant?;
        let user = identity.split('!').next().unwrap_or_default();
        let is_token = identity.contains('!');
        Some(match (self.product, is_token) {
            (Product::Pve, true) => format!(
                "pveum acl modify {path} --roles {role} --tokens '{identity}'  (with privilege separation the user needs it too: pveum acl modify {path} --roles {role} --users '{user}')"
            ),
            (Product::Pve, false) => {
                format!("pveum acl modify {path} --roles {role} --users '{identity}'")
            }
            (Product::Pbs, true) => format!(
                "proxmox-backup-manager acl update {path} {role} --auth-id '{identity}'  (the token's user needs it too: proxmox-backup-manager acl update {path} {role} --auth-id '{user}')"
            ),
            (Product::Pbs, false) => {
                format!("proxmox-backup-manager acl update {path} {role} --auth-id '{identity}'")
            }
        })
    }
}

fn parent_path(path: &str) -> Option<String> {
    if path == "/" || path.is_empty() {
        return None;
    }
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => Some("/".to_string()),
        Some((parent, _)) => Some(parent.to_string()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The map from a raw answer; one that does not decode reads as no privileges.
    fn from_json(data: &Value) -> PermissionMap {
        PermissionMap::from_wire(answer(data))
    }

    fn answer(data: &Value) -> Permissions {
        serde_json::from_value(data.clone()).unwrap_or_default()
    }

    #[test]
    fn pve_numeric_flags_and_propagation() {
        let map = from_json(&json!({
            "/": {"Sys.Audit": 1, "VM.Audit": 1},
            "/vms": {"Sys.Audit": 1, "VM.Audit": 1},
            "/storage/local": {"Datastore.Audit": 0}
        }));
        assert!(map.has("/vms/100", "VM.Audit"));
        assert!(map.has("/nodes/pve1", "Sys.Audit"));
        assert!(map.has("/storage/local", "Datastore.Audit"));
        assert!(!map.has("/storage/local/x", "Datastore.Audit"));
        assert!(map.has_everywhere_below("/vms", "VM.Audit"));
        assert!(!map.has_everywhere_below("/storage", "Datastore.Audit"));
        assert!(map.has_anywhere_below("/storage", "Datastore.Audit"));
        assert!(!map.is_empty());
    }

    #[test]
    fn a_top_level_path_missing_from_the_full_pve_map_holds_nothing() {
        // NoAccess on /vms and /storage: PVE evaluates both and leaves them out of the answer.
        let answer = json!({"/": {"Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1}});
        let full = PermissionMap::from_pve_full_map(self::answer(&answer));
        assert!(!full.has("/vms/100", "VM.Audit"));
        assert!(!full.has_everywhere_below("/storage", "Datastore.Audit"));
        assert!(full.has("/", "Sys.Audit"));
        // A path below a root that no ACL names is not evaluated: the root's grant decides.
        let answer = json!({"/": {"Sys.Audit": 1}, "/nodes": {"Sys.Audit": 1}});
        let full = PermissionMap::from_pve_full_map(self::answer(&answer));
        assert!(full.has("/nodes/pve1", "Sys.Audit"));
        // The same answer read without that knowledge lets the grant on / reach /vms.
        let answer = json!({"/": {"VM.Audit": 1}});
        assert!(from_json(&answer).has("/vms/100", "VM.Audit"));
        assert!(
            !PermissionMap::from_pve_full_map(self::answer(&answer)).has("/vms/100", "VM.Audit")
        );
    }

    #[test]
    fn pbs_boolean_flags() {
        let map = from_json(&json!({"/datastore/store1": {"Datastore.Audit": true}}));
        assert!(map.has("/datastore/store1/ns1", "Datastore.Audit"));
        assert!(!map.has("/datastore/store2", "Datastore.Audit"));
    }

    #[test]
    fn a_more_specific_path_without_the_privilege_shortens_the_list() {
        let map = from_json(&json!({
            "/vms": {"VM.Audit": 1},
            "/vms/105": {}
        }));
        assert!(!map.has_everywhere_below("/vms", "VM.Audit"));
        assert!(!map.has("/vms/105", "VM.Audit"));
    }

    #[test]
    fn a_per_path_answer_overrides_what_the_full_map_implies() {
        let mut map = from_json(&json!({"/": {"Pool.Audit": 1, "VM.Audit": 1}}));
        assert!(map.has_everywhere_below("/pool", "Pool.Audit"));
        map.set_path_permissions("/pool", answer(&json!({})));
        assert!(!map.has_everywhere_below("/pool", "Pool.Audit"));
        assert!(!map.has("/pool/prod", "Pool.Audit"));
        map.set_path_permissions("/vms", answer(&json!({"/vms": {"VM.Audit": 1}})));
        assert!(map.has_everywhere_below("/vms", "VM.Audit"));
    }

    #[test]
    fn a_propagate_flag_of_no_is_false_like_everywhere_else() {
        let map = from_json(&json!({"/": {"VM.Audit": "no"}}));
        assert!(map.has("/", "VM.Audit"));
        assert!(!map.has("/vms", "VM.Audit"));
    }

    #[test]
    fn requirements_name_paths_and_fixes() {
        let tasks = Need::TaskHistory.requirement();
        assert_eq!(tasks.acl_path_for("pve1"), "/nodes/pve1");
        assert_eq!(tasks.when_missing, WhenMissing::SilentlyFiltered);
        assert_eq!(
            Need::BackupJobs.requirement().when_missing,
            WhenMissing::Forbidden
        );
        assert_eq!(
            Need::Guests.requirement().fix("audit@pve").as_deref(),
            Some("pveum acl modify / --roles PVEAuditor --users 'audit@pve'")
        );
        assert!(Need::StorageContent
            .requirement()
            .fix("audit@pve")
            .is_none());
        assert!(Need::PbsTaskHistory
            .requirement()
            .fix("audit@pbs!t")
            .is_some_and(
                |fix| fix.starts_with("proxmox-backup-manager acl update /system/tasks Audit")
            ));
    }

    #[test]
    fn remote_and_tape_needs_name_their_roles() {
        let remotes = Need::PbsRemotes.requirement();
        assert_eq!(remotes.privilege, "Remote.Audit");
        assert_eq!(remotes.when_missing, WhenMissing::SilentlyFiltered);
        assert_eq!(
            remotes.fix("audit@pbs").as_deref(),
            Some("proxmox-backup-manager acl update /remote RemoteAudit --auth-id 'audit@pbs'")
        );
        assert_eq!(
            Need::PbsTape.requirement().fix("audit@pbs").as_deref(),
            Some("proxmox-backup-manager acl update /tape TapeAudit --auth-id 'audit@pbs'")
        );
    }

    #[test]
    fn empty_answers_mean_no_privileges() {
        assert!(from_json(&json!({})).is_empty());
        assert!(from_json(&json!({"/": {}})).is_empty());
        assert!(from_json(&json!(null)).is_empty());
    }
}
