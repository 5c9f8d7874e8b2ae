//! Reading a token's effective privileges (`GET /access/permissions`) the way PVE and PBS compute them.
//!
//! The answer maps ACL paths to `{privilege: propagate}`; PVE writes the flag as `1`/`0`, PBS as
//! `true`/`false`. Only some paths are listed, so a privilege on a path that is not listed is decided by
//! the nearest listed ancestor whose grant propagates.

use std::collections::BTreeMap;

/// Effective privileges per ACL path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionMap {
    paths: BTreeMap<String, BTreeMap<String, bool>>,
}

impl PermissionMap {
    /// Read the `data` member of `GET /access/permissions`; entries that are not objects are ignored.
    pub fn from_json(data: &serde_json::Value) -> PermissionMap {
        let mut paths = BTreeMap::new();
        if let Some(object) = data.as_object() {
            for (path, privs) in object {
                let Some(privs) = privs.as_object() else {
                    continue;
                };
                let privs = privs
                    .iter()
                    .map(|(name, flag)| {
                        let propagate = match flag {
                            serde_json::Value::Bool(b) => *b,
                            serde_json::Value::Number(n) => n.as_u64() != Some(0),
                            serde_json::Value::String(s) => s != "0" && s != "false",
                            _ => false,
                        };
                        (name.clone(), propagate)
                    })
                    .collect();
                paths.insert(path.clone(), privs);
            }
        }
        PermissionMap { paths }
    }

    /// Record the answer of `GET /access/permissions?path=<path>`. The full map leaves out paths
    /// where nothing is granted (e.g. a NoAccess ACL), which would let an ancestor's grant seem to
    /// reach them; the per-path answer is exact, and an empty one is recorded as "nothing here".
    pub fn set_path_answer(&mut self, path: &str, data: &serde_json::Value) {
        let answered = PermissionMap::from_json(data);
        let privs = answered.paths.get(path).cloned().unwrap_or_default();
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
    use serde_json::json;

    #[test]
    fn pve_numeric_flags_and_propagation() {
        let map = PermissionMap::from_json(&json!({
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
    fn pbs_boolean_flags() {
        let map =
            PermissionMap::from_json(&json!({"/datastore/store1": {"Datastore.Audit": true}}));
        assert!(map.has("/datastore/store1/ns1", "Datastore.Audit"));
        assert!(!map.has("/datastore/store2", "Datastore.Audit"));
    }

    #[test]
    fn a_more_specific_path_without_the_privilege_shortens_the_list() {
        let map = PermissionMap::from_json(&json!({
            "/vms": {"VM.Audit": 1},
            "/vms/105": {}
        }));
        assert!(!map.has_everywhere_below("/vms", "VM.Audit"));
        assert!(!map.has("/vms/105", "VM.Audit"));
    }

    #[test]
    fn a_per_path_answer_overrides_what_the_full_map_implies() {
        let mut map = PermissionMap::from_json(&json!({"/": {"Pool.Audit": 1, "VM.Audit": 1}}));
        assert!(map.has_everywhere_below("/pool", "Pool.Audit"));
        map.set_path_answer("/pool", &json!({}));
        assert!(!map.has_everywhere_below("/pool", "Pool.Audit"));
        assert!(!map.has("/pool/prod", "Pool.Audit"));
        map.set_path_answer("/vms", &json!({"/vms": {"VM.Audit": 1}}));
        assert!(map.has_everywhere_below("/vms", "VM.Audit"));
    }

    #[test]
    fn empty_answers_mean_no_privileges() {
        assert!(PermissionMap::from_json(&json!({})).is_empty());
        assert!(PermissionMap::from_json(&json!({"/": {}})).is_empty());
        assert!(PermissionMap::from_json(&json!(null)).is_empty());
    }
}
