//! Process exit codes, following the monitoring-plugin convention.

/// How a run ended, as cron and monitoring read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// 0: everything fine.
    Ok = 0,
    /// 1: warnings.
    Warning = 1,
    /// 2: a problem that needs attention.
    Critical = 2,
    /// 3: unknown — configuration or usage error, or nothing could be determined.
    Unknown = 3,
}

impl ExitStatus {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}
