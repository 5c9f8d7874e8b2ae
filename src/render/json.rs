//! The JSON report: the documented contract (what `--dump-report-data` prints). The `Report`
//! fields are written exactly as the contract defines them; a `drift` key is added after them only
//! when a drift is given, so readers of the contract never see a changed field.

use serde::Serialize;

use crate::coverage::drift::Drift;
use crate::coverage::report::Report;

#[derive(Serialize)]
struct WithDrift<'a> {
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<&'a Drift>,
}

/// Pretty JSON of the report, with `"drift"` appended when given. Ends with a newline.
pub fn render(report: &Report, drift: Option<&Drift>) -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&WithDrift { report, drift })?;
    json.push('\n');
    Ok(json)
}

/// The same bytes as [`render`], serialized straight into `out` (a buffered file being written):
/// a 5 000-guest report is ~46 MB of JSON, which is never held as one string.
pub fn write(
    report: &Report,
    drift: Option<&Drift>,
    out: &mut dyn std::io::Write,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer_pretty(&mut *out, &WithDrift { report, drift })?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
}
