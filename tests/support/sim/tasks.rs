//! Tasks of PVE and PBS: UPID encoding/decoding (upid.md), task status derived from the log's
//! last line, and constructors that build a task from its fields.

use serde::{Deserialize, Serialize};

/// A PVE task as stored in the scenario. Node, type, id, user and start time come from the UPID.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PveTask {
    /// The UPID (`UPID:node:pid:pstart:starttime:type:id:user:`).
    pub upid: String,
    /// End time; `None` = still running (listed with `source=active`).
    #[serde(default)]
    pub endtime: Option<i64>,
    /// Log lines (without newline).
    #[serde(default)]
    pub log: Vec<String>,
    /// Status override for the task index; `None` = derived from the log's last line.
    #[serde(default)]
    pub status: Option<String>,
}

impl PveTask {
    /// Build a task from its fields; pid/pstart are derived deterministically.
    pub fn new(
        node: &str,
        task_type: &str,
        id: &str,
        user: &str,
        starttime: i64,
        duration: Option<i64>,
        log: Vec<String>,
    ) -> PveTask {
        let seed = hash_seed(node, starttime, task_type, id);
        let pid = (seed % 0x3F_FFFF) as u32 + 1000;
        let pstart = (seed >> 24) as u32 % 0x0FFF_FFFF + 0x100;
        let upid = pve_upid(node, pid, pstart as u64, starttime, task_type, id, user);
        PveTask {
            upid,
            endtime: duration.map(|d| starttime + d),
            log,
            status: None,
        }
    }

    /// A vzdump task: `id` = the VMID for single-guest runs, empty for multi-guest runs.
    pub fn vzdump(
        node: &str,
        starttime: i64,
        duration: Option<i64>,
        vmid: Option<u32>,
        user: &str,
        log: Vec<String>,
    ) -> PveTask {
        let id = vmid.map(|v| v.to_string()).unwrap_or_default();
        PveTask::new(node, "vzdump", &id, user, starttime, duration, log)
    }

    /// Parsed UPID (scenario bug if unparsable).
    pub fn parsed(&self) -> Option<PveUpid> {
        PveUpid::parse(&self.upid)
    }

    /// Status as the task index shows it (`OK`, `WARNINGS: n`, error text, `unexpected status`);
    /// `None` while running.
    pub fn index_status(&self) -> Option<String> {
        self.endtime?;
        Some(
            self.status
                .clone()
                .unwrap_or_else(|| pve_status_from_log(&self.log)),
        )
    }
}

/// Deterministic 64-bit seed from task fields (FNV-1a).
fn hash_seed(node: &str, starttime: i64, t: &str, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node
        .bytes()
        .chain(starttime.to_le_bytes())
        .chain(t.bytes())
        .chain(id.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Encode a PVE UPID.
pub fn pve_upid(
    node: &str,
    pid: u32,
    pstart: u64,
    starttime: i64,
    task_type: &str,
    id: &str,
    user: &str,
) -> String {
    format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{task_type}:{id}:{user}:")
}

/// A decoded PVE UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PveUpid {
    /// Node.
    pub node: String,
    /// Pid.
    pub pid: u64,
    /// Process start.
    pub pstart: u64,
    /// Start epoch.
    pub starttime: i64,
    /// Task type.
    pub task_type: String,
    /// Object id (may be empty).
    pub id: String,
    /// Full auth id.
    pub user: String,
}

fn is_hex(s: &str, min: usize, max: usize) -> bool {
    s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_node(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn no_colon_space_slash(s: &str, allow_slash: bool) -> bool {
    !s.contains(':') && !s.contains(char::is_whitespace) && (allow_slash || !s.contains('/'))
}

impl PveUpid {
    /// Decode per `PVE::UPID::decode`.
    pub fn parse(upid: &str) -> Option<PveUpid> {
        let rest = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 7 {
            return None;
        }
        let ok = valid_node(parts[0])
            && is_hex(parts[1], 8, 8)
            && is_hex(parts[2], 8, 9)
            && is_hex(parts[3], 8, 8)
            && !parts[4].is_empty()
            && no_colon_space_slash(parts[4], false)
            && no_colon_space_slash(parts[5], false)
            && !parts[6].is_empty()
            && no_colon_space_slash(parts[6], false);
        if !ok {
            return None;
        }
        Some(PveUpid {
            node: parts[0].into(),
            pid: u64::from_str_radix(parts[1], 16).ok()?,
            pstart: u64::from_str_radix(parts[2], 16).ok()?,
            starttime: i64::from_str_radix(parts[3], 16).ok()?,
            task_type: parts[4].into(),
            id: parts[5].into(),
            user: parts[6].into(),
        })
    }
}

/// Status from a PVE log's last line (`PVE::UPID::read_status`).
pub fn pve_status_from_log(log: &[String]) -> String {
    match log.last().map(String::as_str) {
        Some("TASK OK") => "OK".into(),
        Some(l) if l.starts_with("TASK ERROR: ") => l["TASK ERROR: ".len()..].into(),
        Some(l) if l.starts_with("TASK WARNINGS: ") => {
            format!("WARNINGS: {}", &l["TASK WARNINGS: ".len()..])
        }
        _ => "unexpected status".into(),
    }
}

/// `PVE::UPID::normalize_status_type`.
pub fn normalize_status_type(status: &str) -> &'static str {
    if status.is_empty() || status == "unexpected status" || status == "unknown" {
        "unknown"
    } else if status == "OK" {
        "ok"
    } else if status.starts_with("WARNINGS: ") {
        "warning"
    } else {
        "error"
    }
}

/// A PBS task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PbsTask {
    /// The PBS UPID.
    pub upid: String,
    /// End time; `None` = running.
    #[serde(default)]
    pub endtime: Option<i64>,
    /// Log lines, each with its `<RFC3339 local time>: ` prefix.
    #[serde(default)]
    pub log: Vec<String>,
}

impl PbsTask {
    /// Build a PBS task; messages get timestamp prefixes (start time for all but the final
    /// `TASK …` line, which gets the end time).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: &str,
        worker_type: &str,
        worker_id: Option<&str>,
        auth_id: &str,
        starttime: i64,
        duration: Option<i64>,
        messages: &[&str],
        utc_offset_secs: i64,
    ) -> PbsTask {
        let seed = hash_seed(node, starttime, worker_type, worker_id.unwrap_or(""));
        let pid = (seed % 0xFFFF) as u32 + 100;
        let pstart = (seed >> 20) as u32 % 0xFFFFF;
        let task_id = (seed >> 40) as u32 % 0xFFFF;
        let upid = pbs_upid(
            node,
            pid,
            u64::from(pstart),
            u64::from(task_id),
            starttime,
            worker_type,
            worker_id,
            auth_id,
        );
        let endtime = duration.map(|d| starttime + d);
        let log = messages
            .iter()
            .map(|m| {
                let t = if m.starts_with("TASK ") {
                    endtime.unwrap_or(starttime)
                } else {
                    starttime
                };
                format!("{}: {m}", rfc3339_local(t, utc_offset_secs))
            })
            .collect();
        PbsTask { upid, endtime, log }
    }

    /// Parsed UPID.
    pub fn parsed(&self) -> Option<PbsUpid> {
        PbsUpid::parse(&self.upid)
    }

    /// Status (`OK`, `WARNINGS: n`, error, `unknown`); `None` while running.
    pub fn status(&self) -> Option<String> {
        self.endtime?;
        let last = self.log.last().map(String::as_str).unwrap_or("");
        let msg = match last.find(": ") {
            Some(pos) if last[..pos].contains('T') => &last[pos + 2..],
            _ => last,
        };
        Some(if msg == "TASK OK" {
            "OK".into()
        } else if let Some(n) = msg.strip_prefix("TASK WARNINGS: ") {
            format!("WARNINGS: {n}")
        } else if let Some(e) = msg.strip_prefix("TASK ERROR: ") {
            e.into()
        } else {
            "unknown".into()
        })
    }
}

/// RFC 3339 time with a fixed offset, e.g. `2024-05-24T16:22:44+02:00`.
pub fn rfc3339_local(epoch: i64, offset_secs: i64) -> String {
    let Some(offset) = chrono::FixedOffset::east_opt(offset_secs as i32) else {
        return epoch.to_string();
    };
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| {
            t.with_timezone(&offset)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// Encode a PBS UPID (worker id escaped).
#[allow(clippy::too_many_arguments)]
pub fn pbs_upid(
    node: &str,
    pid: u32,
    pstart: u64,
    task_id: u64,
    starttime: i64,
    worker_type: &str,
    worker_id: Option<&str>,
    auth_id: &str,
) -> String {
    let wid = worker_id.map(escape_id).unwrap_or_default();
    format!("UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{worker_type}:{wid}:{auth_id}:")
}

/// systemd-style escaping of PBS worker ids (upid.md §2).
pub fn escape_id(id: &str) -> String {
    let mut out = String::new();
    for (i, b) in id.bytes().enumerate() {
        if b == b'/' {
            out.push('-');
        } else if (b.is_ascii_alphanumeric() || b == b'_' || b == b'.') && !(i == 0 && b == b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Inverse of [`escape_id`].
pub fn unescape_id(id: &str) -> String {
    let bytes = id.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes.get(i + 1) == Some(&b'x') {
            if let Ok(b) = u8::from_str_radix(&id[i + 2..i + 4], 16) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(if bytes[i] == b'-' { b'/' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A decoded PBS UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbsUpid {
    /// Node.
    pub node: String,
    /// Pid.
    pub pid: u64,
    /// Process start.
    pub pstart: u64,
    /// Task counter.
    pub task_id: u64,
    /// Start epoch.
    pub starttime: i64,
    /// Worker type.
    pub worker_type: String,
    /// Unescaped worker id (`None` if empty).
    pub worker_id: Option<String>,
    /// Auth id.
    pub auth_id: String,
}

impl PbsUpid {
    /// Decode per `PROXMOX_UPID_REGEX`.
    pub fn parse(upid: &str) -> Option<PbsUpid> {
        let rest = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 8 {
            return None;
        }
        let ok = valid_node(parts[0])
            && is_hex(parts[1], 8, 8)
            && is_hex(parts[2], 8, 9)
            && is_hex(parts[3], 8, 16)
            && is_hex(parts[4], 8, 8)
            && !parts[5].is_empty()
            && no_colon_space_slash(parts[5], true)
            && no_colon_space_slash(parts[6], true)
            && !parts[7].is_empty()
            && no_colon_space_slash(parts[7], true);
        if !ok {
            return None;
        }
        Some(PbsUpid {
            node: parts[0].into(),
            pid: u64::from_str_radix(parts[1], 16).ok()?,
            pstart: u64::from_str_radix(parts[2], 16).ok()?,
            task_id: u64::from_str_radix(parts[3], 16).ok()?,
            starttime: i64::from_str_radix(parts[4], 16).ok()?,
            worker_type: parts[5].into(),
            worker_id: if parts[6].is_empty() {
                None
            } else {
                Some(unescape_id(parts[6]))
            },
            auth_id: parts[7].into(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pve_upid_vectors() {
        let u = PveUpid::parse("UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:")
            .unwrap();
        assert_eq!(u.pid, 49990);
        assert_eq!(u.pstart, 375000292);
        assert_eq!(u.starttime, 1758930844);
        assert_eq!(u.id, "");
        assert!(PveUpid::parse(
            "UPID:example-node:000934AF:0D015579:68BF3A41:broken type string:100:root@pam:"
        )
        .is_none());
        assert_eq!(
            pve_upid("pve1", 0x002D6A3F, 0x0A1B2C3D, 1716560564, "vzdump", "100", "root@pam"),
            "UPID:pve1:002D6A3F:0A1B2C3D:6650A2B4:vzdump:100:root@pam:"
        );
    }

    #[test]
    fn pbs_escape_vectors() {
        assert_eq!(escape_id("store1:vm/100"), "store1\\x3avm-100");
        assert_eq!(escape_id("backup-ds:vm/100"), "backup\\x2dds\\x3avm-100");
        assert_eq!(
            escape_id("-:src:store1::s1"),
            "\\x2d\\x3asrc\\x3astore1\\x3a\\x3as1"
        );
        assert_eq!(unescape_id("backup\\x2dds\\x3avm-100"), "backup-ds:vm/100");
        let u = PbsUpid::parse(
            "UPID:pbs1:000004D2:0000ABCD:00000003:6650A2B4:backup:store1\\x3avm-100:pve@pbs!backup:",
        )
        .unwrap();
        assert_eq!(u.worker_id.as_deref(), Some("store1:vm/100"));
        assert_eq!(u.task_id, 3);
    }
}
