//! UPIDs ("Unique Process IDs") of Proxmox VE worker tasks.
//!
//! Layout: `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:`
//! (pve-common `PVE::UPID::decode`). A vzdump task's list entry may omit its start or node; the
//! UPID, which every task has, carries both. Matching is hand-written (no regex crate) and mirrors
//! the upstream regex field by field.
//!
//! Of a PBS UPID (8 fields, escaped worker ids) only the start time is read ([`pbs_start`]): the
//! start of a copy job's last run, and of the verification task a snapshot names.

use thiserror::Error;

/// Why a string is not a valid UPID or escaped PBS worker id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum UpidError {
    /// The string does not start with `UPID:` or does not end with `:`.
    #[error("'{upid}' is not a UPID: it must start with 'UPID:' and end with ':' (copy the whole task id, e.g. 'UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:')")]
    NotAUpid {
        /// The rejected input.
        upid: String,
    },
    /// The number of `:`-separated fields fits neither layout.
    #[error("UPID '{upid}' has {found} fields between 'UPID:' and the trailing ':', expected {expected}")]
    WrongFieldCount {
        /// The rejected input.
        upid: String,
        /// Fields found.
        found: usize,
        /// Fields the layout needs (a description such as `7` or `7 or 8`).
        expected: &'static str,
    },
    /// One field violates its format.
    #[error("UPID '{upid}': field '{field}' has invalid value '{value}', expected {expected}")]
    InvalidField {
        /// The rejected input.
        upid: String,
        /// Name of the offending field (`node`, `pid`, …).
        field: &'static str,
        /// The field's text.
        value: String,
        /// What the field must look like.
        expected: &'static str,
    },
}

/// The fields of a PVE UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PveUpid {
    /// Node that runs the task.
    pub(crate) node: String,
    /// Worker process id.
    pub(crate) pid: u32,
    /// Process start time in clock ticks since boot.
    pub(crate) pstart: u64,
    /// Task start, Unix epoch seconds (UTC).
    pub(crate) starttime: i64,
    /// Task type, e.g. `vzdump`.
    pub(crate) task_type: String,
    /// Task object id, e.g. a VMID; may be empty (multi-guest vzdump runs).
    pub(crate) id: String,
    /// Auth id that started the task (`user@realm` or `user@realm!token`).
    pub(crate) user: String,
}

impl PveUpid {
    /// Parse a PVE UPID; rejects PBS UPIDs and anything the pve-common decode regex rejects.
    ///
    /// # Errors
    /// [`UpidError`] naming the offending field.
    pub(crate) fn parse(s: &str) -> Result<PveUpid, UpidError> {
        let fields = split_fields(s)?;
        if fields.len() != 7 {
            return Err(UpidError::WrongFieldCount {
                upid: s.to_string(),
                found: fields.len(),
                expected: "7 (a PVE UPID)",
            });
        }
        PveUpid::from_fields(s, &fields)
    }

    fn from_fields(s: &str, f: &[&str]) -> Result<PveUpid, UpidError> {
        check_node(s, f[0])?;
        let pid = parse_hex(s, "pid", f[1], 8, 8)?;
        let pstart = parse_hex(s, "pstart", f[2], 8, 9)?;
        let starttime = parse_hex(s, "starttime", f[3], 8, 8)?;
        check_text(s, "type", f[4], false, true)?;
        check_text(s, "id", f[5], true, true)?;
        check_text(s, "user", f[6], false, true)?;
        Ok(PveUpid {
            node: f[0].to_string(),
            pid: hex_to_u32(pid),
            pstart,
            starttime: hex_to_i64(starttime),
            task_type: f[4].to_string(),
            id: f[5].to_string(),
            user: f[6].to_string(),
        })
    }

    /// Encode as `UPID:…:` exactly like pve-common (`%08X` hex fields, trailing `:`).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> String {
        format!(
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.task_type, self.id, self.user
        )
    }
}

/// Split `UPID:<f1>:…:<fn>:` into its fields (without the `UPID` marker and trailing empty part).
fn split_fields(s: &str) -> Result<Vec<&str>, UpidError> {
    let inner = s
        .strip_prefix("UPID:")
        .and_then(|rest| rest.strip_suffix(':'))
        .ok_or_else(|| UpidError::NotAUpid {
            upid: s.to_string(),
        })?;
    Ok(inner.split(':').collect())
}

/// Node names: `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`.
fn check_node(upid: &str, node: &str) -> Result<(), UpidError> {
    let bytes = node.as_bytes();
    let ends_ok = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric(),
        _ => false,
    };
    if ends_ok
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        Ok(())
    } else {
        Err(UpidError::InvalidField {
            upid: upid.to_string(),
            field: "node",
            value: node.to_string(),
            expected: "letters, digits and inner '-' (a host name)",
        })
    }
}

/// Hex fields: `[0-9A-Fa-f]{min,max}`; decoded case-insensitively.
fn parse_hex(
    upid: &str,
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<u64, UpidError> {
    let invalid = |expected| UpidError::InvalidField {
        upid: upid.to_string(),
        field,
        value: value.to_string(),
        expected,
    };
    let well_formed =
        (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(invalid(match (min, max) {
            (8, 8) => "exactly 8 hex digits",
            (8, 9) => "8 or 9 hex digits",
            _ => "8 to 16 hex digits",
        }));
    }
    u64::from_str_radix(value, 16).map_err(|_| invalid("a hex number"))
}

/// Free-text fields: no `:`, no whitespace, and for PVE also no `/`; optionally non-empty.
fn check_text(
    upid: &str,
    field: &'static str,
    value: &str,
    may_be_empty: bool,
    forbid_slash: bool,
) -> Result<(), UpidError> {
    let bad_char = value
        .chars()
        .any(|c| c == ':' || c.is_whitespace() || (forbid_slash && c == '/'));
    if bad_char || (!may_be_empty && value.is_empty()) {
        return Err(UpidError::InvalidField {
            upid: upid.to_string(),
            field,
            value: value.to_string(),
            expected: match (may_be_empty, forbid_slash) {
                (false, true) => "non-empty text without ':', '/' or whitespace",
                (true, true) => "text without ':', '/' or whitespace",
                (false, false) => "non-empty text without ':' or whitespace",
                (true, false) => "text without ':' or whitespace",
            },
        });
    }
    Ok(())
}

/// At most 8 hex digits were accepted, so the value always fits.
fn hex_to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// At most 8 hex digits were accepted, so the value always fits.
/// The start time (epoch seconds) of a PBS UPID
/// `UPID:<node>:<pid>:<pstart>:<task_id>:<starttime>:<type>:<id>:<auth>:`; `None` for anything
/// else (a PVE UPID has one field less and is refused).
pub(crate) fn pbs_start(upid: &str) -> Option<i64> {
    let body = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
    let f: Vec<&str> = body.split(':').collect();
    if f.len() != 8 || f[0].is_empty() {
        return None;
    }
    parse_hex(upid, "pid", f[1], 8, 8).ok()?;
    parse_hex(upid, "pstart", f[2], 8, 9).ok()?;
    parse_hex(upid, "task_id", f[3], 8, 16).ok()?;
    parse_hex(upid, "starttime", f[4], 8, 8)
        .ok()
        .map(hex_to_i64)
}

fn hex_to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pve(s: &str) -> PveUpid {
        PveUpid::parse(s).unwrap()
    }

    #[test]
    fn pve_official_vector_aptupdate_empty_id() {
        let s = "UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:";
        let u = pve(s);
        assert_eq!(
            u,
            PveUpid {
                node: "example-node".into(),
                pid: 49990,
                pstart: 375000292,
                starttime: 1758930844,
                task_type: "aptupdate".into(),
                id: String::new(),
                user: "root@pam".into(),
            }
        );
        assert_eq!(u.encode(), s);
        assert_eq!(PveUpid::parse(s).unwrap(), u);
    }

    #[test]
    fn pve_official_vector_hastart() {
        let s = "UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam:";
        let u = pve(s);
        assert_eq!(u.node, "example-node");
        assert_eq!(u.pid, 603311);
        assert_eq!(u.pstart, 218191225);
        assert_eq!(u.starttime, 1757362753);
        assert_eq!(u.task_type, "hastart");
        assert_eq!(u.id, "100");
        assert_eq!(u.user, "root@pam");
        assert_eq!(u.encode(), s);
    }

    #[test]
    fn pve_official_vector_token_user() {
        let s = "UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token:";
        let u = pve(s);
        assert_eq!(u.pid, 603311);
        assert_eq!(u.pstart, 218191225);
        assert_eq!(u.starttime, 1757362753);
        assert_eq!(u.task_type, "vzdump");
        assert_eq!(u.id, "100");
        assert_eq!(
            u.user,
            "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token"
        );
        assert_eq!(u.encode(), s);
    }

    #[test]
    fn pve_official_vector_nine_digit_pstart() {
        let s = "UPID:example-node:000934AF:FFFFFFFFF:68BF3A41:fake-but-valid-type:100:root@pam:";
        let u = pve(s);
        assert_eq!(u.pstart, 68719476735);
        assert_eq!(u.starttime, 1757362753);
        assert_eq!(u.task_type, "fake-but-valid-type");
        assert_eq!(u.encode(), s);
    }

    #[test]
    fn pve_must_fail_cases() {
        assert!(matches!(
            PveUpid::parse(
                "UPID:example-node:000934AF:0D015579:68BF3A41:broken type string:100:root@pam:"
            ),
            Err(UpidError::InvalidField { field: "type", .. })
        ));
        assert!(matches!(
            PveUpid::parse("invalid garbage"),
            Err(UpidError::NotAUpid { .. })
        ));
    }

    #[test]
    fn pbs_start_reads_the_fifth_field_and_refuses_pve_layouts() {
        assert_eq!(
            pbs_start("UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:backup:store1\\x3avm-100:pve@pbs!backup:"),
            Some(0x6650_A2B4)
        );
        assert_eq!(
            pbs_start("UPID:pbs1:0000036B:00000B2A:0000001F:6650B0C0:verificationjob:store1\\x3av\\x2d1a2b:root@pam:"),
            Some(0x6650_B0C0)
        );
        assert_eq!(
            pbs_start("UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:"),
            None
        );
        assert_eq!(pbs_start("UPID:pbs1:x"), None);
        assert_eq!(
            pbs_start("UPID:pbs1:000004D2:0000ABCD:00000003:ZZZZZZZZ:backup::root@pam:"),
            None
        );
    }

    #[test]
    fn pve_composed_vzdump_examples() {
        let s = "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:";
        let p = pve(s);
        assert_eq!(p.node, "pve1");
        assert_eq!(p.starttime, 1716560564);
        assert_eq!(p.pid, 2976319);
        assert_eq!(p.pstart, 169552957);
        assert_eq!(p.encode(), s);

        let multi = "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump::root@pam:";
        let p = pve(multi);
        assert_eq!(p.id, "");
        assert_eq!(p.encode(), multi);
    }

    #[test]
    fn pve_rejects_bad_fields() {
        let bad = [
            // pid with 7 digits
            "UPID:pve1:02D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:",
            // pstart with 10 digits
            "UPID:pve1:002D6A3F:0A1B2C3D00:6650A2B4:vzdump:100:root@pam:",
            // node ending in '-'
            "UPID:pve1-:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:",
            // slash in id
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:1/0:root@pam:",
            // empty user
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100::",
            // non-hex starttime
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2BZ:vzdump:100:root@pam:",
            // missing trailing colon
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam",
            "",
            "UPID::",
        ];
        for s in bad {
            assert!(PveUpid::parse(s).is_err(), "{s} must fail");
        }
        // A PBS UPID is not a PVE UPID.
        assert!(PveUpid::parse(
            "UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:"
        )
        .is_err());
    }

    #[test]
    fn pve_lowercase_hex_is_accepted() {
        let u = pve("UPID:pve1:002d6a3f:0a1b2c3d:6650a2b4:vzdump:100:root@pam:");
        assert_eq!(u.pid, 2976319);
        assert_eq!(
            u.encode(),
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:"
        );
    }

    #[test]
    fn error_messages_explain_the_problem() {
        let err = PveUpid::parse("UPID:a:b:").unwrap_err();
        assert_eq!(
            err.to_string(),
            "UPID 'UPID:a:b:' has 2 fields between 'UPID:' and the trailing ':', expected 7 (a PVE UPID)"
        );
    }
}
