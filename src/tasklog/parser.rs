//! The state machine that turns classified lines into a [`VzdumpLog`].
//!
//! Context rules:
//! * a guest block runs from `Starting Backup of VM N` (or an end line without a start) until
//!   the next guest block or a job-level summary/TASK line, so lines printed after a guest's end
//!   line (`Backup finished at`, `Failed at`, the PBS log-upload warning) still belong to it;
//! * `ERROR:` lines directly after a failure line are continuation lines of that error;
//! * unprefixed lines directly after a `WARN:` line continue that warning (multi-line
//!   `log_warn` messages such as the PVE 9 EFI certificate hint).

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::line::{classify, Line};
use super::time::local_to_utc;
use super::{GuestOutcome, GuestRun, JobOutcome, TaskEnd, VzdumpLog};

/// Parse a vzdump task log. `lines` are the log lines' text (the `t` of the API's `{n,t}` items)
/// in order.
///
/// `tz` is the node's time zone, used to turn `Backup started at YYYY-MM-DD HH:MM:SS` etc. (node
/// local time) into UTC (ambiguous local time → earlier instant; nonexistent → the instant just
/// after the gap). Never fails: unrecognised lines are counted in
/// [`VzdumpLog::unknown_lines`]; blank lines are ignored without being counted.
#[cfg(test)] // the collector feeds pages to a `Parser`; the tests parse whole logs
pub fn parse_vzdump_log<'a>(lines: impl IntoIterator<Item = &'a str>, tz: Tz) -> VzdumpLog {
    let mut parser = Parser::new(tz);
    for line in lines {
        parser.feed(line);
    }
    parser.finish()
}

/// Where the previous line left text that the next line may continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continuation {
    None,
    /// Failure text of `guests[i]`.
    GuestError(usize),
    /// The `Backup job failed` error; `owns_job_error` if that line also set `job_error`.
    JobError {
        owns_job_error: bool,
    },
    /// Last warning of `guests[i]`.
    GuestWarning(usize),
    /// Last job-level warning.
    JobWarning,
}

/// A vzdump log parser fed line by line ([`Parser::feed`]), for a log that arrives in pages:
/// the tests' `parse_vzdump_log` is this over a whole log. Feeding in pages gives the same result as
/// feeding the whole log at once.
pub struct Parser {
    tz: Tz,
    log: VzdumpLog,
    /// Index into `log.guests` of the block lines currently belong to.
    current: Option<usize>,
    continuation: Continuation,
    /// Per guest (same index as `log.guests`): bytes per PBS client archive.
    pxar_uploads: Vec<BTreeMap<String, Option<u64>>>,
}

impl Parser {
    /// A parser for a log of a node in time zone `tz`.
    pub fn new(tz: Tz) -> Parser {
        Parser {
            tz,
            log: VzdumpLog::default(),
            current: None,
            continuation: Continuation::None,
            pxar_uploads: Vec::new(),
        }
    }

    /// Reads the next line (the `t` text of one log item).
    pub fn feed(&mut self, raw: &str) {
        let line = classify(raw);
        // Blank lines (e.g. paragraph breaks inside a multi-line warning) neither count nor end
        // a continuation.
        if line == Line::Blank {
            return;
        }
        if self.continue_previous(&line) {
            return;
        }
        self.continuation = Continuation::None;
        self.handle(line);
    }

    /// Append `line` to the text the previous line started, if it is a continuation of it.
    fn continue_previous(&mut self, line: &Line<'_>) -> bool {
        let text = match (self.continuation, line) {
            (
                Continuation::GuestError(_) | Continuation::JobError { .. },
                Line::OtherError(text),
            )
            | (Continuation::GuestWarning(_) | Continuation::JobWarning, Line::Unprefixed(text)) => {
                *text
            }
            _ => return false,
        };
        match self.continuation {
            Continuation::GuestError(i) => {
                if let Some(GuestOutcome::Failed { error }) =
                    self.log.guests.get_mut(i).map(|g| &mut g.outcome)
                {
                    append_continuation(error, text);
                }
            }
            Continuation::JobError { owns_job_error } => {
                if let Some(JobOutcome::Failed { error }) = self.log.job_outcome.as_mut() {
                    append_continuation(error, text);
                }
                if owns_job_error {
                    if let Some(error) = self.log.job_error.as_mut() {
                        append_continuation(error, text);
                    }
                }
            }
            Continuation::GuestWarning(i) => {
                if let Some(warning) = self
                    .log
                    .guests
                    .get_mut(i)
                    .and_then(|g| g.warnings.last_mut())
                {
                    append_continuation(warning, text);
                }
            }
            Continuation::JobWarning => {
                if let Some(warning) = self.log.warnings.last_mut() {
                    append_continuation(warning, text);
                }
            }
            Continuation::None => {}
        }
        true
    }

    fn handle(&mut self, line: Line<'_>) {
        match line {
            Line::Blank => {}
            Line::TaskOk => self.task_end(TaskEnd::Ok),
            Line::TaskWarnings(n) => self.task_end(TaskEnd::Warnings(n)),
            Line::TaskError(msg) => {
                if msg != "job errors" && self.log.job_error.is_none() {
                    self.log.job_error = Some(msg.to_string());
                }
                self.task_end(TaskEnd::Error(msg.to_string()));
            }
            Line::JobStart(command) => {
                if self.log.command.is_none() {
                    self.log.command = Some(command);
                }
            }
            Line::SkipExternal(vmids) => self.log.skipped_external.extend(vmids),
            Line::GuestStart { vmid, kind } => {
                // An unfinished previous guest simply stays `Unknown`.
                self.open_guest(GuestRun::new(vmid, kind));
            }
            Line::StartedAt(text) => {
                let at = local_to_utc(text, self.tz);
                if let Some(guest) = self.current_guest() {
                    if guest.started_at.is_none() {
                        guest.started_at = at;
                    }
                }
            }
            Line::EndedAt(text) => {
                let at = local_to_utc(text, self.tz);
                if let Some(guest) = self.current_guest() {
                    if guest.finished_at.is_none() {
                        guest.finished_at = at;
                    }
                }
            }
            Line::GuestFinished { vmid, duration_s } => {
                let index = self.guest_for_end_line(vmid);
                if let Some(guest) = self.log.guests.get_mut(index) {
                    if guest.outcome == GuestOutcome::Unknown {
                        guest.outcome = GuestOutcome::Ok;
                        guest.duration_s = duration_s;
                    }
                }
            }
            Line::GuestFailed { vmid, error } => {
                let index = self.guest_for_end_line(vmid);
                if let Some(guest) = self.log.guests.get_mut(index) {
                    // A failure line is stronger evidence than an earlier success line.
                    if !matches!(guest.outcome, GuestOutcome::Failed { .. }) {
                        guest.outcome = GuestOutcome::Failed {
                            error: error.to_string(),
                        };
                        self.continuation = Continuation::GuestError(index);
                    }
                }
            }
            Line::JobFinished { with_errors } => {
                self.current = None;
                self.log.job_outcome = Some(if with_errors {
                    JobOutcome::WithErrors
                } else {
                    JobOutcome::Success
                });
            }
            Line::JobFailed(error) => {
                self.current = None;
                self.log.job_outcome = Some(JobOutcome::Failed {
                    error: error.to_string(),
                });
                let owns_job_error = self.log.job_error.is_none();
                if owns_job_error {
                    self.log.job_error = Some(error.to_string());
                }
                self.continuation = Continuation::JobError { owns_job_error };
            }
            Line::LockFailed(message) => {
                self.current = None;
                if self.log.job_error.is_none() {
                    self.log.job_error = Some(message.to_string());
                }
            }
            Line::Mode(mode) => {
                if let Some(guest) = self.current_guest() {
                    guest.mode = Some(mode.into());
                }
            }
            Line::Name(name) => {
                if let Some(guest) = self.current_guest() {
                    guest.name = Some(name.into());
                }
            }
            Line::Archive(target) => {
                if let Some(guest) = self.current_guest() {
                    guest.archive = Some(target);
                }
            }
            Line::ArchiveSize(bytes) => {
                if let Some(guest) = self.current_guest() {
                    guest.archive_size_bytes = bytes;
                }
            }
            Line::Transferred(bytes) | Line::TarTotal(bytes) => {
                if let Some(guest) = self.current_guest() {
                    if bytes.is_some() {
                        guest.transferred_bytes = bytes;
                    }
                }
            }
            Line::PxarUploaded { archive, bytes } => {
                if let Some(uploads) = self.current.and_then(|i| self.pxar_uploads.get_mut(i)) {
                    uploads.insert(archive.to_string(), bytes);
                }
            }
            Line::FleecingRemoved(volid) => {
                if let Some(guest) = self.current_guest() {
                    guest.fleecing_removed.push(volid.to_string());
                }
            }
            Line::Excluded(volume) => {
                if let Some(guest) = self.current_guest() {
                    guest.excluded_volumes.push(volume);
                }
            }
            Line::Warn(text) => match self.current {
                Some(i) => {
                    if let Some(guest) = self.log.guests.get_mut(i) {
                        guest.warnings.push(text.to_string());
                        self.continuation = Continuation::GuestWarning(i);
                    }
                }
                None => {
                    self.log.warnings.push(text.to_string());
                    self.continuation = Continuation::JobWarning;
                }
            },
            Line::OtherError(_) => {
                // Inside a guest block these are error details (e.g. before `aborting backup
                // job`); the guest's failure line carries the error that matters.
                if self.current.is_none() {
                    self.log.unknown_lines += 1;
                }
            }
            Line::Info => {}
            Line::Unprefixed(_) | Line::Unknown => self.log.unknown_lines += 1,
        }
    }

    fn task_end(&mut self, end: TaskEnd) {
        self.current = None;
        self.log.task_end = Some(end);
    }

    fn current_guest(&mut self) -> Option<&mut GuestRun> {
        self.current.and_then(|i| self.log.guests.get_mut(i))
    }

    fn open_guest(&mut self, guest: GuestRun) -> usize {
        self.log.guests.push(guest);
        self.pxar_uploads.push(BTreeMap::new());
        let index = self.log.guests.len() - 1;
        self.current = Some(index);
        index
    }

    /// The guest an end line for `vmid` belongs to: the current block if it is that guest,
    /// otherwise a new run (e.g. a deleted VMID fails without a `Starting Backup` line).
    fn guest_for_end_line(&mut self, vmid: u32) -> usize {
        match self.current {
            Some(i) if self.log.guests.get(i).is_some_and(|g| g.vmid == vmid) => i,
            _ => self.open_guest(GuestRun::new(vmid, None)),
        }
    }

    /// Everything learned from the lines fed.
    pub fn finish(mut self) -> VzdumpLog {
        for (guest, uploads) in self.log.guests.iter_mut().zip(&self.pxar_uploads) {
            if guest.transferred_bytes.is_none() && !uploads.is_empty() {
                // A sum over archives is only meaningful if every archive's size parsed.
                guest.transferred_bytes = uploads
                    .values()
                    .try_fold(0u64, |sum, bytes| bytes.and_then(|b| sum.checked_add(b)));
            }
        }
        // A parsed log is kept for the whole run (70 000 runs on a large cluster): no spare room.
        self.log.guests.shrink_to_fit();
        self.log
    }
}

/// Join a continuation line to the text it continues with a single space.
fn append_continuation(target: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !target.is_empty() {
        target.push(' ');
    }
    target.push_str(text);
}
