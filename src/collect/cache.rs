//! The cache of finished vzdump task logs' parsed results, so a nightly run asks PVE only for the
//! logs of tasks that ended since the last run.
//!
//! A finished task's log never changes, so its parsed [`VzdumpLog`] can be kept. Layout: one JSON
//! file per server and node, `<root>/<sha256(host:port), 16 hex>/<node>.json`, holding the parser
//! version, the server, the node, the node's time zone (log times are converted with it) and one
//! entry per task UPID. One file per node because one collector task reads one node's history:
//! it loads the file once, and writes it once at the end, with no lock shared between nodes.
//!
//! Rules that keep the cache invisible in the report:
//! - only a task that ended (end time and status in the task list) and whose log was read whole
//!   (no failed page, not cut at the line limit, the final `TASK …` line present) is stored;
//! - a hit needs the same UPID and the same final status as the list says now;
//! - another parser version, file format or node time zone means starting over, silently;
//! - a file that does not parse, or belongs to another server or node, is ignored with a warning
//!   anomaly (component `cache`) and rebuilt: never trusted, never fatal;
//! - entries of tasks older than the history window are dropped when the file is written;
//! - a file is replaced atomically (temporary file, fsync, rename), so concurrent runs never leave
//!   a torn file: the last writer wins, and both files were valid.
//!
//! Only parsed results are stored: no raw log lines, no credentials.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Anomaly, Severity, TaskLogEvidence};
use crate::tasklog::{VzdumpLog, PARSER_VERSION};

/// Version of the cache file's own layout (not of the parser's output: see [`PARSER_VERSION`]).
const CACHE_FORMAT: u32 = 1;

/// The component name of the cache's anomalies.
const COMPONENT: &str = "cache";

/// The cache of one server: where its node files live.
#[derive(Debug, Clone)]
pub(crate) struct TaskLogCache {
    dir: PathBuf,
    server: String,
}

impl TaskLogCache {
    /// The cache of the server at `server` (`host:port`) below `root`.
    pub(crate) fn new(root: &Path, server: &str) -> TaskLogCache {
        let digest = Sha256::digest(server.as_bytes());
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        TaskLogCache {
            dir: root.join(hash),
            server: server.to_string(),
        }
    }

    /// The cached results of `node`, whose logs are read in time zone `time_zone`. A file that
    /// cannot be trusted gives an empty cache (rebuilt when saved) and a warning anomaly.
    pub(crate) fn open(&self, node: &str, time_zone: &str) -> (NodeLogCache, Option<Anomaly>) {
        let path = self.dir.join(node_file_name(node));
        let fresh = CacheFile {
            format: CACHE_FORMAT,
            parser_version: PARSER_VERSION,
            server: self.server.clone(),
            node: node.to_string(),
            time_zone: time_zone.to_string(),
            tasks: BTreeMap::new(),
        };
        let (file, warning) = match load(&path, &fresh) {
            Ok(Some(file)) => (file, None),
            Ok(None) => (fresh, None),
            Err(problem) => {
                let warning = Anomaly::new(
                    Severity::Warning,
                    COMPONENT,
                    format!("the task-log cache of node {node} was ignored ({problem})"),
                    format!(
                        "{} is {problem}; it is rebuilt from the task logs (read again this once). \
                         Fix: nothing if it does not recur; otherwise check what else writes to the \
                         cache directory (--cache-dir), or run with --no-cache",
                        path.display()
                    ),
                );
                (fresh, Some(warning))
            }
        };
        // A rebuilt file differs from the one on disk even before anything new is added.
        let changed = warning.is_some();
        (
            NodeLogCache {
                path,
                file,
                changed,
            },
            warning,
        )
    }
}

/// A file name for `node` that cannot leave the directory: the node name itself when it is a
/// plain host name (what PVE allows), else a hash of it.
fn node_file_name(node: &str) -> String {
    let plain = !node.is_empty()
        && !node.starts_with('.')
        && node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if plain {
        format!("{node}.json")
    } else {
        let digest = Sha256::digest(node.as_bytes());
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("node-{hash}.json")
    }
}

/// Why a cache file was not used.
#[derive(Debug, thiserror::Error)]
enum Untrusted {
    #[error("unreadable: {0}")]
    Read(#[source] io::Error),
    #[error("corrupt or truncated: {0}")]
    Corrupt(#[source] serde_json::Error),
    #[error("not this tool's cache of server {server}, node {node}")]
    Foreign { server: String, node: String },
}

/// The first fields of a cache file, read before the rest so that a file of another layout or
/// parser version is dropped without being judged corrupt.
#[derive(Deserialize)]
struct Header {
    format: u32,
    parser_version: u32,
}

/// One node's cache file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    parser_version: u32,
    server: String,
    node: String,
    time_zone: String,
    /// By UPID.
    tasks: BTreeMap<String, CachedTask>,
}

/// One finished task's parsed log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedTask {
    /// Start, epoch seconds: what pruning to the history window looks at.
    start: i64,
    /// The final status the task list gave; a hit needs the same.
    status: String,
    log: VzdumpLog,
}

/// The usable file at `path`, `None` when there is none (missing, or written by another parser,
/// layout or time zone: a normal change, re-read without a word).
fn load(path: &Path, expected: &CacheFile) -> Result<Option<CacheFile>, Untrusted> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Untrusted::Read(err)),
    };
    let header: Header = serde_json::from_slice(&bytes).map_err(Untrusted::Corrupt)?;
    if header.format != CACHE_FORMAT || header.parser_version != PARSER_VERSION {
        tracing::debug!(
            "task-log cache {} is of format {} / parser {}: read the logs again",
            path.display(),
            header.format,
            header.parser_version
        );
        return Ok(None);
    }
    let file: CacheFile = serde_json::from_slice(&bytes).map_err(Untrusted::Corrupt)?;
    if file.server != expected.server || file.node != expected.node {
        return Err(Untrusted::Foreign {
            server: file.server,
            node: file.node,
        });
    }
    if file.time_zone != expected.time_zone {
        tracing::debug!(
            "node {}'s time zone changed from {} to {}: read its logs again",
            file.node,
            file.time_zone,
            expected.time_zone
        );
        return Ok(None);
    }
    Ok(Some(file))
}

/// One node's cached results for the length of a run.
#[derive(Debug)]
pub(crate) struct NodeLogCache {
    path: PathBuf,
    file: CacheFile,
    changed: bool,
}

impl NodeLogCache {
    /// The parsed log of task `upid` when cached with the same final `status`.
    pub(crate) fn get(&self, upid: &str, status: Option<&str>) -> Option<TaskLogEvidence> {
        let task = self.file.tasks.get(upid)?;
        (Some(task.status.as_str()) == status).then(|| TaskLogEvidence::Parsed {
            log: task.log.clone(),
            truncated: false,
        })
    }

    /// Remember what was read for task `upid` when it can never change: the task ended
    /// (`end` and `status` known) and its log was read whole.
    pub(crate) fn offer(
        &mut self,
        upid: &str,
        start: Option<i64>,
        end: Option<i64>,
        status: Option<&str>,
        evidence: &TaskLogEvidence,
    ) {
        let (Some(start), Some(_), Some(status)) = (start, end, status) else {
            return; // still running, or not known to have ended
        };
        let TaskLogEvidence::Parsed {
            log,
            truncated: false,
        } = evidence
        else {
            return; // unreadable or cut at the line limit: read again next time
        };
        if log.task_end.is_none() {
            return; // no final TASK line: the log may not be complete
        }
        if self.file.tasks.contains_key(upid) {
            return;
        }
        self.file.tasks.insert(
            upid.to_string(),
            CachedTask {
                start,
                status: status.to_string(),
                log: log.clone(),
            },
        );
        self.changed = true;
    }

    /// Drop tasks that started before `since`, then write the file if anything changed. A
    /// failure is a warning anomaly: the report does not depend on the cache.
    pub(crate) fn save(mut self, since: DateTime<Utc>) -> Option<Anomaly> {
        let before = self.file.tasks.len();
        let horizon = since.timestamp();
        self.file.tasks.retain(|_, task| task.start >= horizon);
        if !self.changed && self.file.tasks.len() == before {
            return None;
        }
        let result = write_atomic(&self.path, |out| {
            serde_json::to_writer(out, &self.file).map_err(io::Error::other)
        });
        result.err().map(|err| {
            Anomaly::new(
                Severity::Warning,
                COMPONENT,
                format!(
                    "the task-log cache of node {} could not be written",
                    self.file.node
                ),
                format!(
                    "{}: {err}. The next run reads these task logs again. Fix: give --cache-dir \
                     (PVE_CACHE_DIR) a writable directory, or run with --no-cache",
                    self.path.display()
                ),
            )
        })
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `path` through a temporary file in the same directory (`write` fills it through a
/// buffer, so the contents are never held whole), synced, then renamed: a reader sees the old
/// file or the new one, never a part. The directory is created private, since logs name guests
/// and storage paths.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no directory"))?;
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut out = io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    } else if let Ok(dir) = File::open(dir) {
        // Makes the rename durable where a directory can be opened; a failure loses nothing.
        let _ = dir.sync_all();
    }
    result
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::io::Write as _;

    use super::*;
    use crate::tasklog::{parse_vzdump_log, TaskEnd};

    const UPID: &str = "UPID:pve1:0000ABCD:00112233:6560A000:vzdump::root@pam:";
    const NOW: i64 = 1_700_000_000;

    fn log() -> VzdumpLog {
        let lines = [
            "INFO: starting new backup job: vzdump 100 --mode snapshot --storage pbs1",
            "INFO: Starting Backup of VM 100 (qemu)",
            "INFO: Backup started at 2023-11-14 22:00:01",
            "INFO: VM Name: web",
            "INFO: creating Proxmox Backup Server archive 'vm/100/2023-11-14T21:00:01Z'",
            "INFO: Finished Backup of VM 100 (00:00:09)",
            "INFO: Backup finished at 2023-11-14 22:00:10",
            "INFO: Backup job finished successfully",
            "TASK OK",
        ];
        let log = parse_vzdump_log(lines, chrono_tz::Europe::Berlin);
        assert_eq!(log.task_end, Some(TaskEnd::Ok));
        assert!(log.guests[0].started_at.is_some());
        log
    }

    fn parsed(log: VzdumpLog) -> TaskLogEvidence {
        TaskLogEvidence::Parsed {
            log,
            truncated: false,
        }
    }

    fn since() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW - 14 * 86_400, 0).unwrap()
    }

    fn cache(dir: &Path) -> TaskLogCache {
        TaskLogCache::new(dir, "pve.example.com:8006")
    }

    fn store_one(dir: &Path) -> PathBuf {
        let (mut node, warning) = cache(dir).open("pve1", "Europe/Berlin");
        assert!(warning.is_none());
        node.offer(UPID, Some(NOW - 10), Some(NOW), Some("OK"), &parsed(log()));
        let path = node.path.clone();
        assert!(node.save(since()).is_none());
        path
    }

    #[test]
    fn a_finished_task_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        store_one(dir.path());
        let (node, warning) = cache(dir.path()).open("pve1", "Europe/Berlin");
        assert!(warning.is_none());
        assert_eq!(node.get(UPID, Some("OK")), Some(parsed(log())));
        // Another final status than cached: read again.
        assert_eq!(node.get(UPID, Some("job errors")), None);
        assert_eq!(node.get(UPID, None), None);
        assert_eq!(node.get("UPID:other", Some("OK")), None);
        // The serialized form the report shows is the same after the round trip.
        let again = serde_json::to_string(&node.get(UPID, Some("OK")).unwrap()).unwrap();
        assert_eq!(again, serde_json::to_string(&parsed(log())).unwrap());
    }

    #[test]
    fn another_server_or_node_has_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        store_one(dir.path());
        let other = TaskLogCache::new(dir.path(), "pve2.example.com:8006");
        assert_eq!(
            other.open("pve1", "Europe/Berlin").0.get(UPID, Some("OK")),
            None
        );
        assert_eq!(
            cache(dir.path())
                .open("pve2", "Europe/Berlin")
                .0
                .get(UPID, Some("OK")),
            None
        );
    }

    #[test]
    fn another_parser_version_or_time_zone_reads_again_without_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_one(dir.path());
        let text = fs::read_to_string(&path).unwrap();
        let older = text.replacen(
            &format!("\"parser_version\":{PARSER_VERSION}"),
            &format!("\"parser_version\":{}", PARSER_VERSION + 1),
            1,
        );
        assert_ne!(older, text);
        fs::write(&path, older).unwrap();
        let (node, warning) = cache(dir.path()).open("pve1", "Europe/Berlin");
        assert!(warning.is_none());
        assert_eq!(node.get(UPID, Some("OK")), None);

        store_one(dir.path());
        let (node, warning) = cache(dir.path()).open("pve1", "UTC");
        assert!(warning.is_none());
        assert_eq!(node.get(UPID, Some("OK")), None);
    }

    #[test]
    fn a_corrupt_truncated_or_foreign_file_warns_and_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_one(dir.path());
        let good = fs::read_to_string(&path).unwrap();
        let foreign = good.replace("\"node\":\"pve1\"", "\"node\":\"pve9\"");
        assert_ne!(foreign, good);
        for bad in [
            "garbage".to_string(),
            good[..good.len() / 2].to_string(),
            String::new(),
            "{\"format\":1}".to_string(),
            format!("{{\"format\":1,\"parser_version\":{PARSER_VERSION},\"tasks\":7}}"),
            foreign,
        ] {
            fs::write(&path, &bad).unwrap();
            let (mut node, warning) = cache(dir.path()).open("pve1", "Europe/Berlin");
            let warning = warning.unwrap_or_else(|| panic!("no warning for {bad:?}"));
            assert_eq!(warning.severity, Severity::Warning);
            assert_eq!(warning.component, "cache");
            assert_eq!(node.get(UPID, Some("OK")), None, "{bad:?}");
            // Rebuilt on save even when nothing new was read.
            node.offer(UPID, Some(NOW - 10), Some(NOW), Some("OK"), &parsed(log()));
            assert!(node.save(since()).is_none());
            assert_eq!(fs::read_to_string(&path).unwrap(), good);
        }
    }

    #[test]
    fn unfinished_incomplete_or_unreadable_logs_are_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (mut node, _) = cache(dir.path()).open("pve1", "Europe/Berlin");
        let mut unfinished_log = log();
        unfinished_log.task_end = None;
        let cases = [
            ("a", None, None, parsed(log())),
            ("b", Some(NOW), None, parsed(log())),
            ("c", None, Some("OK"), parsed(log())),
            (
                "d",
                Some(NOW),
                Some("OK"),
                TaskLogEvidence::Parsed {
                    log: log(),
                    truncated: true,
                },
            ),
            (
                "e",
                Some(NOW),
                Some("OK"),
                TaskLogEvidence::Unavailable {
                    reason: "log not readable".into(),
                },
            ),
            ("f", Some(NOW), Some("OK"), parsed(unfinished_log)),
        ];
        for (upid, end, status, evidence) in &cases {
            node.offer(upid, Some(NOW - 10), *end, *status, evidence);
        }
        assert!(node.file.tasks.is_empty());
        assert!(!node.changed);
        let path = node.path.clone();
        assert!(node.save(since()).is_none());
        assert!(!path.exists(), "nothing to write");
    }

    #[test]
    fn tasks_older_than_the_window_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let (mut node, _) = cache(dir.path()).open("pve1", "Europe/Berlin");
        let old_start = since().timestamp() - 1;
        node.offer(
            "old",
            Some(old_start),
            Some(NOW),
            Some("OK"),
            &parsed(log()),
        );
        node.offer("new", Some(NOW - 10), Some(NOW), Some("OK"), &parsed(log()));
        node.offer(
            "edge",
            Some(since().timestamp()),
            Some(NOW),
            Some("OK"),
            &parsed(log()),
        );
        assert!(node.save(since()).is_none());
        let (node, _) = cache(dir.path()).open("pve1", "Europe/Berlin");
        let kept: Vec<&str> = node.file.tasks.keys().map(String::as_str).collect();
        assert_eq!(kept, ["edge", "new"]);
        // A later window drops more, and that alone rewrites the file.
        let later = since() + chrono::Duration::seconds(1);
        assert!(node.save(later).is_none());
        let (node, _) = cache(dir.path()).open("pve1", "Europe/Berlin");
        assert_eq!(node.file.tasks.keys().collect::<Vec<_>>(), ["new"]);
    }

    #[test]
    fn writes_are_atomic_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_one(dir.path());
        let before = fs::read(&path).unwrap();
        // A failed write (the target is a directory) leaves the old file's neighbours untouched
        // and no temporary file behind.
        let blocked = path.with_file_name("pve2.json");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"keep").unwrap();
        let (mut node, _) = cache(dir.path()).open("pve2", "UTC");
        node.offer(UPID, Some(NOW - 10), Some(NOW), Some("OK"), &parsed(log()));
        let warning = node.save(since()).expect("a write failure is reported");
        assert_eq!(warning.component, "cache");
        assert_eq!(warning.severity, Severity::Warning);
        let names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
        assert_eq!(fs::read(&path).unwrap(), before);
        // Many writers of the same file at once: the result is one of them, whole.
        let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 1 << 20]).collect();
        std::thread::scope(|scope| {
            for bytes in &contents {
                let path = &path;
                scope.spawn(move || write_atomic(path, |out| out.write_all(bytes)).unwrap());
            }
        });
        let result = fs::read(&path).unwrap();
        assert!(contents.contains(&result));
        let names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn node_names_cannot_leave_the_directory() {
        assert_eq!(node_file_name("pve-1"), "pve-1.json");
        for name in ["../x", "a/b", "..", "", ".hidden"] {
            let file = node_file_name(name);
            assert!(
                file.starts_with("node-") && !file.contains('/'),
                "{name}: {file}"
            );
        }
    }
}
