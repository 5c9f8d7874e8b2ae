//! Report files on disk and what the run says about them: rendering every requested format,
//! `pve-backup-report-YYYY-MM-DD.{html,md,json,prom}` (date of the report's `generated_at`, UTC)
//! plus a stable `pve-backup-report-latest.<ext>` of each, rotation of older dated files
//! (`--keep N`), finding the previous JSON report for drift, and the summary a terminal or cron
//! gets.
//!
//! Every write is atomic: the bytes go to a temporary file in the same directory, are flushed to
//! disk (fsync), and only then renamed over the final name, so a reader (a web server, the
//! textfile collector, tomorrow's drift) sees either the old complete file or the new complete
//! file, never half of one, even when the process is killed mid-write. Each format is rendered
//! straight into its buffered temporary file, one format at a time, so no format's text is ever
//! held in memory whole (a 5 000-guest JSON is ~46 MB). The files of one night appear together:
//! every format is rendered first, then every dated file is renamed in, and only then are all
//! `latest` names (hard links to the dated files where the file system has them) switched, one
//! rename each, so the `latest` set mixes two nights at most for the length of that last loop. A killed run's temporary files are removed by the next run. Rotation and clean-up
//! only ever delete files whose names match our patterns exactly.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

pub use crate::config::Format;
use crate::config::ReportOptions;
use crate::coverage::drift::{drift, Drift};
use crate::coverage::report::{Report, OLDEST_READABLE_SCHEMA_VERSION, SCHEMA_VERSION};
use crate::exit::{self, ExitStatus};
use crate::render;

/// Common prefix of every report file name.
pub const FILE_PREFIX: &str = "pve-backup-report-";

/// What can go wrong rendering, writing or reading report files. Each names the format or path.
#[derive(Debug, Error)]
pub enum OutputError {
    /// A format could not be rendered (a template or serialization bug, not a user error).
    #[error("cannot render the {format} report: {detail}")]
    Render {
        /// The file extension of the format.
        format: &'static str,
        /// What failed.
        detail: String,
    },
    /// The output directory is missing and could not be created.
    #[error("cannot create the report directory {path}: {source}; create it or choose another with --output (PVE_REPORT_OUTPUT)")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing a report file failed; the previous file of that name is unchanged.
    #[error("cannot write {path}: {source}; the previous file of that name is unchanged (check free space and permissions)")]
    Write {
        /// The final file name that was being written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Listing the directory failed.
    #[error("cannot list the report directory {path}: {source}")]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Removing an old report during rotation failed.
    #[error(
        "cannot remove the old report {path}: {source}; remove it by hand or check permissions"
    )]
    Remove {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading a previous report failed.
    #[error("cannot read the previous report {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A previous report is not a report of this schema.
    #[error("{path} is not a readable report (schema version {expected} expected): {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The schema version this build reads.
        expected: u32,
        /// What was wrong.
        message: String,
    },
}

/// The dated file name of one format: `pve-backup-report-2026-11-21.html`.
pub fn dated_file_name(date: NaiveDate, format: Format) -> String {
    format!(
        "{FILE_PREFIX}{}.{}",
        date.format("%Y-%m-%d"),
        format.extension()
    )
}

/// The stable file name of one format: `pve-backup-report-latest.html`.
pub fn latest_file_name(format: Format) -> String {
    format!("{FILE_PREFIX}latest.{}", format.extension())
}

/// The report date and format of one of our dated file names; None for any other name.
pub fn parse_dated_file_name(name: &str) -> Option<(NaiveDate, Format)> {
    let rest = name.strip_prefix(FILE_PREFIX)?;
    let (date, extension) = rest.split_once('.')?;
    if date.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some((date, Format::from_extension(extension)?))
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fresh hidden temporary name beside `path`: `.<name>.tmp-<pid>-<n>`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    Ok(parent_dir(path).join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Make renames in `dir` durable; not every platform can open a directory, so a failure here
/// does not undo a write that already happened.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Why streaming one format into its file stopped.
#[derive(Debug)]
pub enum StreamError {
    /// The renderer failed (a template or serialization bug), with what it said.
    Render(String),
    /// The bytes could not be written.
    Io(io::Error),
}

impl From<io::Error> for StreamError {
    fn from(source: io::Error) -> Self {
        StreamError::Io(source)
    }
}

/// A `fmt::Write` over an `io::Write` that keeps the I/O error, so a failed write is told apart
/// from a failed render (`fmt::Error` carries no cause).
struct FmtToIo<'a> {
    out: &'a mut dyn Write,
    error: Option<io::Error>,
}

impl std::fmt::Write for FmtToIo<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.out.write_all(text.as_bytes()).map_err(|err| {
            self.error = Some(err);
            std::fmt::Error
        })
    }
}

/// Run a renderer that writes into a `fmt::Write` against `out`, keeping an I/O failure as such.
fn through_fmt<E: std::fmt::Display>(
    out: &mut dyn Write,
    render: impl FnOnce(&mut dyn std::fmt::Write) -> Result<(), E>,
) -> Result<(), StreamError> {
    let mut adapter = FmtToIo { out, error: None };
    let result = render(&mut adapter);
    match (result, adapter.error) {
        (_, Some(err)) => Err(StreamError::Io(err)),
        (Err(err), None) => Err(StreamError::Render(err.to_string())),
        (Ok(()), None) => Ok(()),
    }
}

/// Render one format straight into `out`, piece by piece: no format's full text is held.
pub fn stream_format(
    format: Format,
    report: &Report,
    drift: Option<&Drift>,
    elapsed: Duration,
    out: &mut dyn Write,
) -> Result<(), StreamError> {
    match format {
        Format::Html => through_fmt(out, |w| render::html::render_into(report, drift, w)),
        Format::Markdown => through_fmt(out, |w| render::markdown::render_into(report, drift, w)),
        Format::Json => render::json::write(report, drift, out).map_err(|err| {
            if err.is_io() {
                StreamError::Io(io::Error::from(err))
            } else {
                StreamError::Render(err.to_string())
            }
        }),
        Format::Prometheus => through_fmt(out, |w| {
            render::prometheus::render_into(report, Some(elapsed), w)
        }),
    }
}

/// The error for a format that failed while streaming into the file `path`.
fn stream_failure(format: Format, path: &Path, err: StreamError) -> OutputError {
    match err {
        StreamError::Render(detail) => OutputError::Render {
            format: format.extension(),
            detail,
        },
        StreamError::Io(source) => OutputError::Write {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Stream one format into a new temporary file beside `path`, buffered, and make it durable;
/// the temporary path is returned for the caller to rename. On failure nothing is left.
fn stream_to_temp(
    path: &Path,
    format: Format,
    fill: &mut dyn FnMut(Format, &mut dyn Write) -> Result<(), StreamError>,
) -> Result<PathBuf, OutputError> {
    let temp = temp_path(path).map_err(|source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut out = io::BufWriter::with_capacity(256 * 1024, file);
        fill(format, &mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(stream_failure(format, path, err))
        }
    }
}

/// Write one file atomically: `fill` streams `format` into a temporary file in the same
/// directory, which is flushed to disk and only then renamed over `path`. When `fill` fails (or
/// the process dies during it) `path` is untouched and the temporary file is removed (or, after a
/// crash, left under a hidden `.…tmp…` name that nothing reads and the next run removes).
fn write_atomic(
    path: &Path,
    format: Format,
    fill: &mut dyn FnMut(Format, &mut dyn Write) -> Result<(), StreamError>,
) -> Result<(), OutputError> {
    let temp = stream_to_temp(path, format, fill)?;
    rename_all(&[(temp, path.to_path_buf())])?;
    sync_dir(&parent_dir(path));
    Ok(())
}

/// Remove temporary files of this run that will not be renamed.
fn discard(temps: &[(PathBuf, PathBuf)]) {
    for (temp, _) in temps {
        let _ = fs::remove_file(temp);
    }
}

/// Rename each temporary file over its final name, in order; on the first failure the rest are
/// discarded and the error names the final path. Returns the final paths renamed.
fn rename_all(prepared: &[(PathBuf, PathBuf)]) -> Result<Vec<PathBuf>, OutputError> {
    let mut renamed = Vec::new();
    for (index, (temp, path)) in prepared.iter().enumerate() {
        if let Err(source) = fs::rename(temp, path) {
            discard(&prepared[index..]);
            return Err(OutputError::Write {
                path: path.clone(),
                source,
            });
        }
        renamed.push(path.clone());
    }
    Ok(renamed)
}

/// Write each format as its dated file, then switch every `latest` name to it, then, when `keep`
/// is given, delete dated reports older than the `keep` newest dates (the current one counts).
/// Temporary files a killed run left behind are removed first.
///
/// `fill` renders one format into the writer it is given, which is a buffered temporary file:
/// the formats are rendered one at a time straight to disk, and no format's text is held in
/// memory. Every format is rendered before any final name changes, so a render (or write)
/// failure leaves every dated and `latest` file as it was and no temporary file behind.
/// Returns the paths written (dated, latest per format, in the given order).
pub fn write_reports(
    dir: &Path,
    generated_at: DateTime<Utc>,
    formats: &[Format],
    mut fill: impl FnMut(Format, &mut dyn Write) -> Result<(), StreamError>,
    keep: Option<usize>,
) -> Result<Vec<PathBuf>, OutputError> {
    fs::create_dir_all(dir).map_err(|source| OutputError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    remove_stale_temp_files(dir, SystemTime::now());
    let date = generated_at.date_naive();
    let mut rendered = Vec::new();
    for format in formats {
        let path = dir.join(dated_file_name(date, *format));
        match stream_to_temp(&path, *format, &mut fill) {
            Ok(temp) => rendered.push((temp, path)),
            Err(err) => {
                discard(&rendered);
                return Err(err);
            }
        }
    }
    let dated = rename_all(&rendered)?;
    sync_dir(dir);
    // Every `latest` is prepared before any is switched, so only the renames remain to be done
    // when the first `latest` changes.
    let mut prepared = Vec::new();
    for (format, dated_path) in formats.iter().zip(&dated) {
        let latest = dir.join(latest_file_name(*format));
        match prepare_latest(dated_path, &latest) {
            Ok(temp) => prepared.push((temp, latest)),
            Err(err) => {
                discard(&prepared);
                return Err(err);
            }
        }
    }
    let switched = rename_all(&prepared);
    sync_dir(dir);
    let switched = switched?;
    let mut written = Vec::new();
    for (dated_path, latest) in dated.into_iter().zip(switched) {
        written.push(dated_path);
        written.push(latest);
    }
    if let Some(keep) = keep {
        rotate(dir, keep)?;
    }
    Ok(written)
}

/// A new `latest` under a temporary name, ready to be renamed over `latest`: a hard link to the
/// dated file (no second copy of the bytes), or a durable copy of it where links are not possible.
fn prepare_latest(dated: &Path, latest: &Path) -> Result<PathBuf, OutputError> {
    let temp = temp_path(latest).map_err(|source| OutputError::Write {
        path: latest.to_path_buf(),
        source,
    })?;
    if fs::hard_link(dated, &temp).is_ok() {
        return Ok(temp);
    }
    // Some file systems (FAT, some network shares) have no hard links: copy the dated file,
    // streamed from disk rather than from a rendered text held in memory.
    let copied = (|| {
        let mut source = File::open(dated)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        io::copy(&mut source, &mut file)?;
        file.sync_all()
    })();
    match copied {
        Ok(()) => Ok(temp),
        Err(source) => {
            let _ = fs::remove_file(&temp);
            Err(OutputError::Write {
                path: latest.to_path_buf(),
                source,
            })
        }
    }
}

/// How long a temporary file of ours must have been left untouched before the next run removes
/// it. A live writer fills and renames its file within seconds, so an hour-old one belongs to a
/// run that was killed.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// Whether `name` is one of our temporary names: `.pve-backup-report-….tmp-<pid>-<n>`.
fn is_our_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    if !rest.starts_with(FILE_PREFIX) {
        return false;
    }
    let Some((_, suffix)) = rest.rsplit_once(".tmp-") else {
        return false;
    };
    let mut parts = suffix.split('-');
    let numeric = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

/// Remove temporary files of ours that a killed run left behind: only regular files named like
/// ours, last modified at least [`STALE_TEMP_AGE`] before `now`. Best effort: a file that cannot
/// be removed is only logged, as it harms no reader. Returns the removed paths, sorted.
pub fn remove_stale_temp_files(dir: &Path, now: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_our_temp_name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let stale = meta.is_file()
            && meta
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age >= STALE_TEMP_AGE);
        if !stale {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(err) => tracing::warn!(
                "cannot remove the stale temporary file {}: {err}",
                path.display()
            ),
        }
    }
    removed.sort();
    removed
}

fn dated_files(dir: &Path) -> Result<Vec<(NaiveDate, Format, PathBuf)>, OutputError> {
    let entries = fs::read_dir(dir).map_err(|source| OutputError::ListDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| OutputError::ListDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((date, format)) = parse_dated_file_name(name) else {
            continue;
        };
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            files.push((date, format, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Keep the dated reports of the `keep` newest dates, delete the older ones (only files named
/// exactly like ours; `latest` copies are never deleted). `keep` 0 is treated as 1: the report
/// just written is never deleted. Returns the removed paths, sorted.
pub fn rotate(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, OutputError> {
    let files = dated_files(dir)?;
    let mut dates: Vec<NaiveDate> = files.iter().map(|(date, _, _)| *date).collect();
    dates.dedup();
    let keep = keep.max(1);
    let Some(oldest_kept) = dates.iter().rev().nth(keep - 1).copied() else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for (date, _, path) in files {
        if date < oldest_kept {
            fs::remove_file(&path).map_err(|source| OutputError::Remove {
                path: path.clone(),
                source,
            })?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// The newest dated JSON report strictly older than `current_date`, for automatic drift.
pub fn find_previous_json(dir: &Path, current_date: NaiveDate) -> Option<PathBuf> {
    dated_files(dir)
        .ok()?
        .into_iter()
        .filter(|(date, format, _)| *format == Format::Json && *date < current_date)
        .map(|(_, _, path)| path)
        .next_back()
}

/// Read a previous JSON report (any extra keys such as `drift` are ignored).
pub fn read_report_json(path: &Path) -> Result<Report, OutputError> {
    let text = fs::read_to_string(path).map_err(|source| OutputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |message: String| OutputError::Parse {
        path: path.to_path_buf(),
        expected: SCHEMA_VERSION,
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| parse_error(err.to_string()))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(version)
            if (u64::from(OLDEST_READABLE_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION))
                .contains(&version) => {}
        Some(version) => return Err(parse_error(format!("it has schema version {version}"))),
        None => return Err(parse_error("it has no schema_version".to_string())),
    }
    serde_json::from_value(value).map_err(|err| parse_error(err.to_string()))
}

/// The previous report for the drift section: `--previous`, else the newest earlier JSON report in
/// the output directory. An unreadable one is reported and skipped: drift is a nicety.
pub fn previous_report(options: &ReportOptions, report: &Report) -> Option<Report> {
    let path = match &options.previous {
        Some(path) => path.clone(),
        None => find_previous_json(&options.output_dir, report.generated_at.date_naive())?,
    };
    match read_report_json(&path) {
        Ok(previous) => Some(previous),
        Err(err) => {
            tracing::warn!("no comparison with the previous report: {err}");
            None
        }
    }
}

/// The drift against the previous report, when there is one.
pub fn drift_since_previous(options: &ReportOptions, report: &Report) -> Option<Drift> {
    previous_report(options, report).map(|previous| drift(&previous, report))
}

/// Render one format as a string (`--output -`, where one format goes to stdout).
pub fn render_format(
    format: Format,
    report: &Report,
    drift: Option<&Drift>,
    elapsed: Duration,
) -> Result<String, OutputError> {
    let failed = |detail: String| OutputError::Render {
        format: format.extension(),
        detail,
    };
    let mut bytes = Vec::new();
    stream_format(format, report, drift, elapsed, &mut bytes).map_err(|err| match err {
        StreamError::Render(detail) => failed(detail),
        StreamError::Io(err) => failed(err.to_string()),
    })?;
    String::from_utf8(bytes).map_err(|err| failed(err.to_string()))
}

/// Write the Prometheus text to exactly `path`, atomically (`--prom-file`): node_exporter's
/// textfile collector reads every `*.prom` in its folder, so no dated copy and no `latest` name
/// may appear beside it, and it must never see half a file. The temporary name starts with a dot
/// and does not end in `.prom`, so the collector ignores it even mid-write.
pub fn write_prom_file(path: &Path, report: &Report, elapsed: Duration) -> Result<(), OutputError> {
    write_atomic(path, Format::Prometheus, &mut |format, out| {
        stream_format(format, report, None, elapsed, out)
    })
}

/// Render every requested format (against the previous report for drift) straight into its file,
/// one at a time, and switch the files in; nothing is written when any format fails to render.
/// Returns the paths written.
pub fn write_report_files(
    options: &ReportOptions,
    report: &Report,
    elapsed: Duration,
) -> Result<Vec<PathBuf>, OutputError> {
    let drift = drift_since_previous(options, report);
    write_reports(
        &options.output_dir,
        report.generated_at,
        &options.formats,
        |format, out| stream_format(format, report, drift.as_ref(), elapsed, out),
        options.keep,
    )
}

/// What a report run tells its reader: lines for a terminal's stdout, or at most one line for
/// cron's stderr (mailed), and only when something needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Announcement {
    /// Lines for stdout (a person at a terminal).
    pub stdout: Vec<String>,
    /// The line for stderr (cron), if any.
    pub stderr: Option<String>,
}

/// How many critical anomaly titles the cron line names before "(+N more)".
const CRON_TITLES: usize = 2;

/// What to say after writing `written`: at a terminal the headline and every path; under cron
/// (not a terminal) one line when the report calls for attention, leading with the cause when the
/// collection failed or was incomplete, since the counts alone would read as an empty cluster.
pub fn announce(report: &Report, written: &[PathBuf], terminal: bool) -> Announcement {
    let headline = render::collection::headline(report);
    if terminal {
        let mut stdout = vec![headline];
        stdout.extend(written.iter().map(|p| format!("wrote {}", p.display())));
        return Announcement {
            stdout,
            stderr: None,
        };
    }
    if exit::report_status(report) == ExitStatus::Ok {
        return Announcement::default();
    }
    let cause = render::collection::assess(report)
        .short_cause(CRON_TITLES)
        .map(|cause| format!("{cause}; run --check-api. "))
        .unwrap_or_default();
    let path = written
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Announcement {
        stdout: Vec::new(),
        stderr: Some(format!("pve-backup-report: {cause}{headline}; see {path}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Write fixed texts as the night's formats.
    fn write_texts(
        dir: &Path,
        generated_at: DateTime<Utc>,
        texts: &[(Format, &str)],
        keep: Option<usize>,
    ) -> Result<Vec<PathBuf>, OutputError> {
        let formats: Vec<Format> = texts.iter().map(|(f, _)| *f).collect();
        write_reports(
            dir,
            generated_at,
            &formats,
            |format, out| {
                let (_, text) = texts.iter().find(|(f, _)| *f == format).unwrap();
                Ok(out.write_all(text.as_bytes())?)
            },
            keep,
        )
    }

    /// Write `bytes` to `path` atomically.
    fn put(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
        write_atomic(path, Format::Json, &mut |_, out| Ok(out.write_all(bytes)?))
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 23, 30, 0).unwrap()
    }

    #[test]
    fn file_names_round_trip_and_reject_strangers() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(
            dated_file_name(date, Format::Html),
            "pve-backup-report-2026-11-21.html"
        );
        assert_eq!(
            latest_file_name(Format::Prometheus),
            "pve-backup-report-latest.prom"
        );
        assert_eq!(
            parse_dated_file_name("pve-backup-report-2026-11-21.md"),
            Some((date, Format::Markdown))
        );
        for stranger in [
            "pve-backup-report-latest.html",
            "pve-backup-report-2026-11-21.html.bak",
            "pve-backup-report-2026-11-21.txt",
            "pve-backup-report-2026-1-21.html",
            "my-pve-backup-report-2026-11-21.html",
            ".pve-backup-report-2026-11-21.html.tmp-1-0",
            "notes.md",
        ] {
            assert_eq!(parse_dated_file_name(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn writes_dated_and_latest_files_with_utc_date() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reports");
        // 23:30 UTC on the 21st: the date is the UTC date, whatever the local zone.
        let written = write_texts(
            &out,
            at(21),
            &[(Format::Html, "<html>1</html>"), (Format::Json, "{}")],
            None,
        )
        .unwrap();
        assert_eq!(written.len(), 4);
        assert_eq!(
            names(&out),
            vec![
                "pve-backup-report-2026-11-21.html",
                "pve-backup-report-2026-11-21.json",
                "pve-backup-report-latest.html",
                "pve-backup-report-latest.json",
            ]
        );
        assert_eq!(
            fs::read_to_string(out.join("pve-backup-report-latest.html")).unwrap(),
            "<html>1</html>"
        );
    }

    #[test]
    fn rotation_keeps_the_newest_dates_and_only_touches_our_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        fs::write(out.join("notes.md"), "mine").unwrap();
        fs::write(out.join("pve-backup-report-2020-01-01.html.bak"), "mine").unwrap();
        fs::create_dir(out.join("pve-backup-report-2020-01-02.html")).unwrap();
        for day in [18, 19, 20, 21] {
            write_texts(
                out,
                at(day),
                &[(Format::Html, "h"), (Format::Markdown, "m")],
                Some(2),
            )
            .unwrap();
        }
        assert_eq!(
            names(out),
            vec![
                "notes.md",
                "pve-backup-report-2020-01-01.html.bak",
                "pve-backup-report-2020-01-02.html",
                "pve-backup-report-2026-11-20.html",
                "pve-backup-report-2026-11-20.md",
                "pve-backup-report-2026-11-21.html",
                "pve-backup-report-2026-11-21.md",
                "pve-backup-report-latest.html",
                "pve-backup-report-latest.md",
            ]
        );
        // keep 0 never deletes the report just written.
        let removed = rotate(out, 0).unwrap();
        assert_eq!(
            removed,
            vec![
                out.join("pve-backup-report-2026-11-20.html"),
                out.join("pve-backup-report-2026-11-20.md")
            ]
        );
        assert!(out.join("pve-backup-report-2026-11-21.html").exists());
    }

    #[test]
    fn finds_the_newest_older_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        for name in [
            "pve-backup-report-2026-11-18.json",
            "pve-backup-report-2026-11-19.json",
            "pve-backup-report-2026-11-20.html",
            "pve-backup-report-2026-11-21.json",
            "pve-backup-report-latest.json",
        ] {
            fs::write(out.join(name), "{}").unwrap();
        }
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(
            find_previous_json(out, today),
            Some(out.join("pve-backup-report-2026-11-19.json"))
        );
        let first = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        assert_eq!(find_previous_json(out, first), None);
        assert_eq!(find_previous_json(&out.join("missing"), today), None);
    }

    #[test]
    fn a_crash_mid_write_leaves_the_previous_report_intact() {
        let dir = tempfile::tempdir().unwrap();
        let latest = dir.path().join(latest_file_name(Format::Html));
        put(&latest, b"<html>yesterday, complete</html>").unwrap();

        // The writer dies half-way: some bytes are out, then an error (as a full disk or a kill
        // between two writes would leave it).
        let err = write_atomic(&latest, Format::Html, &mut |_, out| {
            out.write_all(b"<html>today, half")?;
            Err(io::Error::other("simulated crash half-way").into())
        })
        .unwrap_err();

        assert!(err.to_string().contains("pve-backup-report-latest.html"));
        assert!(err.to_string().contains("simulated crash half-way"));
        assert_eq!(
            fs::read_to_string(&latest).unwrap(),
            "<html>yesterday, complete</html>"
        );
        // No partial file under the final name or any other name.
        assert_eq!(names(dir.path()), vec!["pve-backup-report-latest.html"]);
    }

    #[test]
    fn a_killed_process_leaves_only_a_hidden_temp_file() {
        // A kill cannot run cleanup: model it by leaving the temp file behind, then check that
        // the final name still has the old contents and that our readers ignore the temp file.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let json = out.join("pve-backup-report-2026-11-20.json");
        put(&json, b"{\"old\":true}").unwrap();
        fs::write(
            out.join(".pve-backup-report-2026-11-21.json.tmp-999-0"),
            "{\"half",
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&json).unwrap(), "{\"old\":true}");
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(find_previous_json(out, today), Some(json));
        assert!(rotate(out, 1).unwrap().is_empty());
    }

    /// Leave a file as a killed run would, last touched `age` ago.
    fn leave(path: &Path, age: Duration) {
        fs::write(path, "half").unwrap();
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn the_next_run_removes_stale_temp_files_of_ours_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let old = STALE_TEMP_AGE + Duration::from_secs(60);
        let stale = [
            ".pve-backup-report-2026-11-21.json.tmp-999-0",
            ".pve-backup-report-latest.html.tmp-12-7",
        ];
        for name in stale {
            leave(&out.join(name), old);
        }
        // Foreign names, a fresh temp file (a writer may still be busy) and a directory of our
        // pattern are never touched.
        let kept = [
            ".pve-backup-report-2026-11-22.html.tmp-1000-0",
            ".other-tool.tmp-999-0",
            ".pve-backup-report-2026-11-21.json.tmp-999-0.keep",
            "pve-backup-report-2026-11-21.json.tmp-999-0",
            ".pve-backup-report-notes.tmp-x-1",
            "notes.md",
        ];
        leave(&out.join(kept[0]), Duration::from_secs(5));
        for name in &kept[1..] {
            leave(&out.join(name), old);
        }
        fs::create_dir(out.join(".pve-backup-report-dir.tmp-1-1")).unwrap();
        write_texts(out, at(22), &[(Format::Html, "h")], None).unwrap();
        let mut expected: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        expected.extend([
            ".pve-backup-report-dir.tmp-1-1".to_string(),
            "pve-backup-report-2026-11-22.html".to_string(),
            "pve-backup-report-latest.html".to_string(),
        ]);
        expected.sort();
        assert_eq!(names(out), expected);
    }

    #[test]
    fn a_failed_night_leaves_the_previous_latest_set_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let formats = [Format::Html, Format::Json, Format::Prometheus];
        let night = |text: &'static str| -> Vec<(Format, &'static str)> {
            formats.iter().map(|f| (*f, text)).collect()
        };
        write_texts(out, at(21), &night("night 21"), None).unwrap();
        // The 22nd's JSON cannot be written (a directory holds its name): the HTML was already
        // written, but no `latest` may move to the 22nd while another stays on the 21st.
        fs::create_dir(out.join("pve-backup-report-2026-11-22.json")).unwrap();
        assert!(write_texts(out, at(22), &night("night 22"), None).is_err());
        for format in formats {
            let latest = fs::read_to_string(out.join(latest_file_name(format))).unwrap();
            assert_eq!(latest, "night 21", "{format:?}");
        }
        assert!(
            !names(out).iter().any(|n| n.contains(".tmp-")),
            "{:?}",
            names(out)
        );
        // The next good night switches the whole set.
        fs::remove_dir(out.join("pve-backup-report-2026-11-22.json")).unwrap();
        write_texts(out, at(22), &night("night 22"), None).unwrap();
        for format in formats {
            let latest = fs::read_to_string(out.join(latest_file_name(format))).unwrap();
            assert_eq!(latest, "night 22", "{format:?}");
        }
        // Rotation of the dated files leaves every `latest` readable.
        rotate(out, 1).unwrap();
        let latest = fs::read_to_string(out.join(latest_file_name(Format::Json))).unwrap();
        assert_eq!(latest, "night 22");
    }

    #[test]
    fn a_render_error_leaves_no_partial_file_and_no_latest_switch() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let formats = [Format::Html, Format::Markdown, Format::Json];
        write_texts(out, at(21), &formats.map(|f| (f, "night 21")), None).unwrap();
        let before = names(out);
        // The 22nd: HTML renders fine, Markdown fails after writing half of itself (a template
        // bug), JSON is never reached.
        let mut asked = Vec::new();
        let err = write_reports(
            out,
            at(22),
            &formats,
            |format, writer| {
                asked.push(format);
                writer.write_all(b"night 22, ")?;
                match format {
                    Format::Markdown => Err(StreamError::Render("template bug".into())),
                    _ => Ok(writer.write_all(b"complete")?),
                }
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "cannot render the md report: template bug");
        assert_eq!(asked, vec![Format::Html, Format::Markdown]);
        // Not even the HTML that rendered appears: no dated file of the 22nd, no temp file, and
        // every `latest` still the 21st's.
        assert_eq!(names(out), before);
        for format in formats {
            let latest = fs::read_to_string(out.join(latest_file_name(format))).unwrap();
            assert_eq!(latest, "night 21", "{format:?}");
        }
    }

    #[test]
    fn a_stream_write_failure_names_the_file_and_keeps_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write_texts(out, at(21), &[(Format::Json, "{}")], None).unwrap();
        let err = write_reports(
            out,
            at(22),
            &[Format::Json],
            |_, _| Err(io::Error::other("disk full").into()),
            None,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("pve-backup-report-2026-11-22.json"),
            "{message}"
        );
        assert!(message.contains("disk full"), "{message}");
        assert_eq!(
            fs::read_to_string(out.join(latest_file_name(Format::Json))).unwrap(),
            "{}"
        );
        assert!(!out.join("pve-backup-report-2026-11-22.json").exists());
    }

    #[cfg(unix)]
    #[test]
    fn latest_is_a_hard_link_to_the_dated_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write_texts(out, at(21), &[(Format::Html, "h")], None).unwrap();
        let dated = fs::metadata(out.join("pve-backup-report-2026-11-21.html")).unwrap();
        let latest = fs::metadata(out.join(latest_file_name(Format::Html))).unwrap();
        assert_eq!(dated.ino(), latest.ino());
        assert_eq!(latest.nlink(), 2);
    }

    #[test]
    fn streamed_formats_are_the_rendered_bytes() {
        let report = report_with(0, &[]);
        let elapsed = Duration::from_millis(1500);
        for format in [
            Format::Html,
            Format::Markdown,
            Format::Json,
            Format::Prometheus,
        ] {
            let mut streamed = Vec::new();
            stream_format(format, &report, None, elapsed, &mut streamed).unwrap();
            let expected = match format {
                Format::Html => render::html::render(&report, None).unwrap(),
                Format::Markdown => render::markdown::render(&report, None).unwrap(),
                Format::Json => render::json::render(&report, None).unwrap(),
                Format::Prometheus => render::prometheus::render(&report, Some(elapsed)),
            };
            assert_eq!(String::from_utf8(streamed).unwrap(), expected, "{format:?}");
        }
    }

    fn report_with(guests: usize, critical: &[&str]) -> Report {
        let inventory = crate::model::Inventory {
            collected_at: at(21),
            pve: Vec::new(),
            pbs: Vec::new(),
            anomalies: Vec::new(),
        };
        let mut report =
            crate::coverage::assess(&inventory, &crate::coverage::Policy::default(), at(21));
        report.summary.guests = guests;
        report.anomalies = critical
            .iter()
            .map(|message| {
                crate::model::Anomaly::new(
                    crate::model::Severity::Critical,
                    "pve",
                    *message,
                    "details",
                )
            })
            .collect();
        report
    }

    #[test]
    fn the_cron_line_leads_with_a_failed_or_incomplete_collection() {
        let written = vec![PathBuf::from("/r/pve-backup-report-2026-11-21.html")];
        let failed = announce(&report_with(0, &["a", "b", "c"]), &written, false);
        let line = failed.stderr.unwrap();
        assert!(
            line.starts_with(
                "pve-backup-report: collection failed: a; b (+1 more); run --check-api. 0 guests:"
            ),
            "{line}"
        );
        assert!(
            line.ends_with("; see /r/pve-backup-report-2026-11-21.html"),
            "{line}"
        );
        let incomplete = announce(&report_with(3, &["a"]), &written, false);
        assert!(incomplete.stderr.unwrap().starts_with(
            "pve-backup-report: collection incomplete: a; run --check-api. 3 guests:"
        ),);
        let at_terminal = announce(&report_with(0, &["a"]), &written, true);
        assert_eq!(at_terminal.stderr, None);
        assert_eq!(at_terminal.stdout.len(), 2);
    }

    #[test]
    fn write_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("no-such-dir").join("report.html");
        let err = put(&target, b"x").unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }

    #[test]
    fn reading_a_report_checks_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.json");
        fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        let err = read_report_json(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
        assert!(err.to_string().contains("old.json"), "{err}");
        let err = read_report_json(&dir.path().join("missing.json")).unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
    }

    /// The night after an upgrade compares with the last version-1 report (the demo's, as 0.1
    /// wrote it), which has none of the fields version 2 added.
    #[test]
    fn a_version_1_report_is_still_read_for_drift() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.json");
        fs::write(&path, include_str!("../tests/fixtures/report-v1-demo.json")).unwrap();
        match read_report_json(&path) {
            Ok(report) => {
                assert_eq!(report.schema_version, 1);
                assert_eq!(report.guests.len(), 12);
                assert!(report.guests.iter().all(|g| g.offsite.is_none()));
            }
            Err(err) => panic!("a v1 report must stay readable: {err}"),
        }
    }
}
