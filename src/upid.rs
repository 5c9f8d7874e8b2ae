//! UPIDs ("Unique Process IDs") of Proxmox VE and Proxmox Backup Server worker tasks.
//!
//! Owns parsing and exact re-encoding of both layouts:
//! * PVE: `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:`
//!   (pve-common `PVE::UPID::decode`);
//! * PBS: `UPID:<node>:<pid>:<pstart>:<task_id>:<starttime>:<worker_type>:<worker_id>:<auth_id>:`
//!   with a systemd-style escaped worker id (proxmox-schema `PROXMOX_UPID_REGEX`,
//!   `escape_id`/`unescape_id`).
//!
//! Matching is hand-written (no regex crate) and mirrors the upstream regexes field by field.

use std::fmt::Write as _;

use serde::Serialize;
use thiserror::Error;

/// Why a string is not a valid UPID or escaped PBS worker id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpidError {
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
    /// An escaped PBS worker id contains a broken `\xHH` sequence.
    #[error("escaped PBS worker id '{id}' has a broken escape sequence at byte {position}: every '\\' must be followed by 'x' and two hex digits")]
    BadEscape {
        /// The rejected escaped id.
        id: String,
        /// Byte offset of the offending backslash.
        position: usize,
    },
    /// The unescaped bytes of a PBS worker id are not valid UTF-8.
    #[error("escaped PBS worker id '{id}' does not decode to valid UTF-8")]
    NotUtf8 {
        /// The rejected escaped id.
        id: String,
    },
}

/// A UPID of either product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "product", rename_all = "lowercase")]
pub enum Upid {
    /// A Proxmox VE task id (7 fields).
    Pve(PveUpid),
    /// A Proxmox Backup Server task id (8 fields).
    Pbs(PbsUpid),
}

/// The fields of a PVE UPID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PveUpid {
    /// Node that runs the task.
    pub node: String,
    /// Worker process id.
    pub pid: u32,
    /// Process start time in clock ticks since boot.
    pub pstart: u64,
    /// Task start, Unix epoch seconds (UTC).
    pub starttime: i64,
    /// Task type, e.g. `vzdump`.
    pub task_type: String,
    /// Task object id, e.g. a VMID; may be empty (multi-guest vzdump runs).
    pub id: String,
    /// Auth id that started the task (`user@realm` or `user@realm!token`).
    pub user: String,
}

/// The fields of a PBS UPID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbsUpid {
    /// PBS host name.
    pub node: String,
    /// Worker process id.
    pub pid: u32,
    /// Process start time in clock ticks since boot.
    pub pstart: u64,
    /// Per-process task counter.
    pub task_id: u64,
    /// Task start, Unix epoch seconds (UTC).
    pub starttime: i64,
    /// Worker type, e.g. `backup`, `garbage_collection`.
    pub worker_type: String,
    /// Worker id, already unescaped (`store1:vm/100`); `None` when the UPID field is empty.
    pub worker_id: Option<String>,
    /// Auth id that started the task.
    pub auth_id: String,
}

impl Upid {
    /// Parse a PVE or PBS UPID (the PBS layout is tried first: it needs the extra task-id field).
    ///
    /// # Errors
    /// [`UpidError`] naming the first field that fits neither layout.
    pub fn parse(s: &str) -> Result<Upid, UpidError> {
        let fields = split_fields(s)?;
        match fields.len() {
            8 => PbsUpid::from_fields(s, &fields).map(Upid::Pbs),
            7 => PveUpid::from_fields(s, &fields).map(Upid::Pve),
            found => Err(UpidError::WrongFieldCount {
                upid: s.to_string(),
                found,
                expected: "7 (PVE) or 8 (PBS)",
            }),
        }
    }

    /// The node (host) named in the UPID.
    pub fn node(&self) -> &str {
        match self {
            Upid::Pve(u) => &u.node,
            Upid::Pbs(u) => &u.node,
        }
    }

    /// Task start time, Unix epoch seconds (UTC).
    pub fn starttime(&self) -> i64 {
        match self {
            Upid::Pve(u) => u.starttime,
            Upid::Pbs(u) => u.starttime,
        }
    }
}

impl PveUpid {
    /// Parse a PVE UPID; rejects PBS UPIDs and anything the pve-common decode regex rejects.
    ///
    /// # Errors
    /// [`UpidError`] naming the offending field.
    pub fn parse(s: &str) -> Result<PveUpid, UpidError> {
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
    pub fn encode(&self) -> String {
        format!(
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.task_type, self.id, self.user
        )
    }
}

impl PbsUpid {
    /// Parse a PBS UPID; rejects PVE UPIDs and anything `PROXMOX_UPID_REGEX` rejects.
    ///
    /// # Errors
    /// [`UpidError`] naming the offending field, or a broken escape in the worker id.
    pub fn parse(s: &str) -> Result<PbsUpid, UpidError> {
        let fields = split_fields(s)?;
        if fields.len() != 8 {
            return Err(UpidError::WrongFieldCount {
                upid: s.to_string(),
                found: fields.len(),
                expected: "8 (a PBS UPID)",
            });
        }
        PbsUpid::from_fields(s, &fields)
    }

    fn from_fields(s: &str, f: &[&str]) -> Result<PbsUpid, UpidError> {
        check_node(s, f[0])?;
        let pid = parse_hex(s, "pid", f[1], 8, 8)?;
        let pstart = parse_hex(s, "pstart", f[2], 8, 9)?;
        let task_id = parse_hex(s, "task_id", f[3], 8, 16)?;
        let starttime = parse_hex(s, "starttime", f[4], 8, 8)?;
        check_text(s, "worker_type", f[5], false, false)?;
        check_text(s, "worker_id", f[6], true, false)?;
        check_text(s, "auth_id", f[7], false, false)?;
        let worker_id = if f[6].is_empty() {
            None
        } else {
            Some(unescape_pbs_id(f[6])?)
        };
        Ok(PbsUpid {
            node: f[0].to_string(),
            pid: hex_to_u32(pid),
            pstart,
            task_id,
            starttime: hex_to_i64(starttime),
            worker_type: f[5].to_string(),
            worker_id,
            auth_id: f[7].to_string(),
        })
    }

    /// Encode as `UPID:…:` exactly like proxmox-schema (`%08X` hex fields, escaped worker id).
    pub fn encode(&self) -> String {
        let worker_id = self
            .worker_id
            .as_deref()
            .map(escape_pbs_id)
            .unwrap_or_default();
        format!(
            "UPID:{}:{:08X}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node,
            self.pid,
            self.pstart,
            self.task_id,
            self.starttime,
            self.worker_type,
            worker_id,
            self.auth_id
        )
    }
}

/// Undo PBS worker-id escaping: `\xHH` → that byte, `-` → `/`, everything else literal.
///
/// # Errors
/// [`UpidError::BadEscape`] for a `\` not followed by `x` and two hex digits,
/// [`UpidError::NotUtf8`] if the bytes do not form UTF-8.
pub fn unescape_pbs_id(s: &str) -> Result<String, UpidError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let escape = bytes.get(i + 1..i + 4);
                let byte = match escape {
                    Some([b'x', hi, lo]) => {
                        hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h << 4 | l)
                    }
                    _ => None,
                };
                let Some(byte) = byte else {
                    return Err(UpidError::BadEscape {
                        id: s.to_string(),
                        position: i,
                    });
                };
                out.push(byte);
                i += 4;
            }
            b'-' => {
                out.push(b'/');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| UpidError::NotUtf8 { id: s.to_string() })
}

/// Escape a PBS worker id (systemd-unit style, byte-wise): `/` → `-`; `[A-Za-z0-9_.]` kept
/// (except a leading `.`); every other byte → `\xHH` with lowercase hex.
pub fn escape_pbs_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (position, &byte) in s.as_bytes().iter().enumerate() {
        let keep = byte.is_ascii_alphanumeric() || byte == b'_' || (byte == b'.' && position > 0);
        if byte == b'/' {
            out.push('-');
        } else if keep {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
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

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// At most 8 hex digits were accepted, so the value always fits.
fn hex_to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// At most 8 hex digits were accepted, so the value always fits.
fn hex_to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pve(s: &str) -> PveUpid {
        match Upid::parse(s).unwrap() {
            Upid::Pve(u) => u,
            Upid::Pbs(u) => panic!("parsed as PBS: {u:?}"),
        }
    }

    fn pbs(s: &str) -> PbsUpid {
        match Upid::parse(s).unwrap() {
            Upid::Pbs(u) => u,
            Upid::Pve(u) => panic!("parsed as PVE: {u:?}"),
        }
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
            Upid::parse(
                "UPID:example-node:000934AF:0D015579:68BF3A41:broken type string:100:root@pam:"
            ),
            Err(UpidError::InvalidField { field: "type", .. })
        ));
        assert!(matches!(
            Upid::parse("invalid garbage"),
            Err(UpidError::NotAUpid { .. })
        ));
    }

    #[test]
    fn pve_composed_vzdump_examples() {
        let s = "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:";
        let u = Upid::parse(s).unwrap();
        assert_eq!(u.node(), "pve1");
        assert_eq!(u.starttime(), 1716560564);
        let Upid::Pve(p) = u else {
            panic!("expected PVE")
        };
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
            assert!(Upid::parse(s).is_err(), "{s} must fail");
            assert!(PveUpid::parse(s).is_err(), "{s} must fail");
        }
        // A PBS UPID is not a PVE UPID and vice versa.
        assert!(PveUpid::parse(
            "UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:"
        )
        .is_err());
        assert!(
            PbsUpid::parse("UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:").is_err()
        );
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
    fn pbs_doc_example_garbage_collection() {
        let s = "UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:";
        let u = pbs(s);
        assert_eq!(
            u,
            PbsUpid {
                node: "elsa".into(),
                pid: 20279,
                pstart: 3794025,
                task_id: 0,
                starttime: 1554484099,
                worker_type: "garbage_collection".into(),
                worker_id: None,
                auth_id: "root@pam".into(),
            }
        );
        assert_eq!(u.encode(), s);
        assert_eq!(PbsUpid::parse(s).unwrap(), u);
    }

    #[test]
    fn pbs_backup_task_with_token() {
        let s = r"UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:backup:store1\x3avm-100:pve@pbs!backup:";
        let u = pbs(s);
        assert_eq!(u.node, "pbs1");
        assert_eq!(u.pid, 1234);
        assert_eq!(u.pstart, 43981);
        assert_eq!(u.task_id, 3);
        assert_eq!(u.starttime, 1716560564);
        assert_eq!(u.worker_type, "backup");
        assert_eq!(u.worker_id.as_deref(), Some("store1:vm/100"));
        assert_eq!(u.auth_id, "pve@pbs!backup");
        assert_eq!(u.encode(), s);
        let upid = Upid::Pbs(u);
        assert_eq!(upid.node(), "pbs1");
        assert_eq!(upid.starttime(), 1716560564);
    }

    #[test]
    fn pbs_long_task_id_and_rejects() {
        let s = "UPID:pbs1:000004D2:0000ABCD:123456789ABCDEF0:6650A2B4:logrotate::root@pam:";
        let u = pbs(s);
        assert_eq!(u.task_id, 0x1234_5678_9ABC_DEF0);
        assert_eq!(u.encode(), s);
        // 17-digit task id, whitespace in worker type, broken escape.
        for bad in [
            "UPID:pbs1:000004D2:0000ABCD:0123456789ABCDEF0:6650A2B4:logrotate::root@pam:",
            "UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:log rotate::root@pam:",
            r"UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:backup:store1\x3:root@pam:",
            r"UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:backup:store1\y3a:root@pam:",
        ] {
            assert!(Upid::parse(bad).is_err(), "{bad} must fail");
        }
    }

    #[test]
    fn escaping_examples() {
        let cases = [
            ("store1:vm/100", r"store1\x3avm-100"),
            ("backup-ds:vm/100", r"backup\x2dds\x3avm-100"),
            ("store1:v-1a2b", r"store1\x3av\x2d1a2b"),
            ("-:src:store1::s1", r"\x2d\x3asrc\x3astore1\x3a\x3as1"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape_pbs_id(raw), escaped, "escape {raw}");
            assert_eq!(unescape_pbs_id(escaped).unwrap(), raw, "unescape {escaped}");
        }
    }

    #[test]
    fn escaping_edge_cases() {
        assert_eq!(escape_pbs_id(".hidden.x"), r"\x2ehidden.x");
        assert_eq!(escape_pbs_id("a b"), r"a\x20b");
        assert_eq!(escape_pbs_id("ä"), r"\xc3\xa4");
        assert_eq!(unescape_pbs_id(r"\xc3\xa4").unwrap(), "ä");
        assert_eq!(
            unescape_pbs_id(r"\X3a"),
            Err(UpidError::BadEscape {
                id: r"\X3a".into(),
                position: 0
            })
        );
        assert!(matches!(
            unescape_pbs_id(r"ab\x"),
            Err(UpidError::BadEscape { position: 2, .. })
        ));
        assert!(matches!(
            unescape_pbs_id(r"\xff"),
            Err(UpidError::NotUtf8 { .. })
        ));
        assert_eq!(unescape_pbs_id(r"\x3A").unwrap(), ":");
        assert_eq!(unescape_pbs_id("").unwrap(), "");
    }

    #[test]
    fn pbs_round_trip_for_every_escaping_example() {
        for raw in [
            "store1:vm/100",
            "backup-ds:vm/100",
            "store1:v-1a2b",
            "-:src:store1::s1",
        ] {
            let u = PbsUpid {
                node: "pbs1".into(),
                pid: 1234,
                pstart: 0x1_0000_0000,
                task_id: 7,
                starttime: 1716560564,
                worker_type: "syncjob".into(),
                worker_id: Some(raw.into()),
                auth_id: "root@pam".into(),
            };
            let encoded = u.encode();
            assert_eq!(PbsUpid::parse(&encoded).unwrap(), u, "{encoded}");
            assert_eq!(Upid::parse(&encoded).unwrap(), Upid::Pbs(u));
        }
    }

    #[test]
    fn error_messages_explain_the_problem() {
        let err = Upid::parse("UPID:a:b:").unwrap_err();
        assert_eq!(
            err.to_string(),
            "UPID 'UPID:a:b:' has 2 fields between 'UPID:' and the trailing ':', expected 7 (PVE) or 8 (PBS)"
        );
    }

    #[test]
    fn serializes_with_product_tag() {
        let upid = Upid::parse("UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump::root@pam:").unwrap();
        assert_eq!(
            serde_json::to_value(&upid).unwrap(),
            serde_json::json!({
                "product": "pve",
                "node": "pve1",
                "pid": 2976319,
                "pstart": 169552957,
                "starttime": 1716560564,
                "task_type": "vzdump",
                "id": "",
                "user": "root@pam"
            })
        );
    }
}
