//! The wire type of `GET /access/permissions`, shared by PVE and PBS.
//!
//! Owns how a propagate flag is read: PVE writes `1`/`0`, PBS `true`/`false`, and both go through
//! [`crate::api::de::bool_from_value`], so `"no"`, `"0"`, `0` and `false` mean the same here as in
//! every other wire type.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::api::de::bool_from_value;

/// `GET /access/permissions[?path=<acl path>]`: ACL path → privilege → whether it propagates.
///
/// Any authenticated caller may read its own map. Only paths where something is granted are listed,
/// so a NoAccess ACL below a granted path shows only when that path is asked for with `path=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Permissions {
    /// Privileges per listed ACL path.
    pub paths: BTreeMap<String, BTreeMap<String, bool>>,
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Value>::deserialize(deserializer)?;
        let paths = raw
            .into_iter()
            // A path whose entry is not an object carries no privilege we could name.
            .filter_map(|(path, privs)| match privs {
                Value::Object(privs) => Some((path, privs)),
                _ => None,
            })
            .map(|(path, privs)| {
                let privs = privs
                    .into_iter()
                    // A flag of the wrong type means the answer is garbled, not that nothing
                    // propagates: guessing could call a shortened list complete (issue #9 rule 1).
                    .map(|(name, flag)| match bool_from_value(&flag) {
                        Ok(propagates) => Ok((name, propagates.unwrap_or(false))),
                        Err(err) => Err(serde::de::Error::custom(format!(
                            "privilege '{name}' on '{path}': {err}"
                        ))),
                    })
                    .collect::<Result<_, D::Error>>()?;
                Ok((path, privs))
            })
            .collect::<Result<_, D::Error>>()?;
        Ok(Permissions { paths })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn flag(value: Value) -> bool {
        let decoded: Permissions =
            serde_json::from_value(json!({"/": {"Sys.Audit": value}})).unwrap();
        decoded.paths["/"]["Sys.Audit"]
    }

    #[test]
    fn propagate_flags_read_like_every_other_boolean() {
        assert!(flag(json!(1)));
        assert!(flag(json!("1")));
        assert!(flag(json!(true)));
        assert!(flag(json!("yes")));
        assert!(!flag(json!("no")));
        assert!(!flag(json!(0)));
        assert!(!flag(json!("0")));
        assert!(!flag(json!(false)));
        assert!(!flag(json!("false")));
    }

    #[test]
    fn a_null_flag_keeps_the_privilege_without_propagation() {
        assert!(!flag(json!(null)));
    }

    #[test]
    fn a_flag_of_the_wrong_type_makes_the_answer_malformed() {
        let err = serde_json::from_value::<Permissions>(json!({"/": {"Sys.Audit": "maybe"}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Sys.Audit"), "{err}");
        assert!(serde_json::from_value::<Permissions>(json!({"/": {"Sys.Audit": [1]}})).is_err());
    }

    #[test]
    fn entries_that_are_not_objects_are_skipped() {
        let decoded: Permissions =
            serde_json::from_value(json!({"/": 1, "/vms": {"VM.Audit": 1}})).unwrap();
        assert_eq!(decoded.paths.len(), 1);
        assert!(decoded.paths["/vms"]["VM.Audit"]);
    }

    #[test]
    fn a_map_that_is_not_an_object_is_an_error() {
        assert!(serde_json::from_value::<Permissions>(json!([1, 2])).is_err());
    }
}
