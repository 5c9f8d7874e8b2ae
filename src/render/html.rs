//! The HTML report: one self-contained file (inline CSS and a small inline script for sorting and
//! filtering; no network assets; readable with scripts off). Askama escapes every value, so names,
//! notes, comments and error lines from the cluster can never become markup.

use askama::Template;

use super::view::{self, ReportView};
use crate::coverage::drift::Drift;
use crate::coverage::report::Report;

#[derive(Template)]
#[template(path = "report.html")]
struct HtmlReport<'a> {
    view: &'a ReportView,
}

/// Render the report (and the drift section, when given) as one HTML page.
pub fn render(report: &Report, drift: Option<&Drift>) -> Result<String, askama::Error> {
    let mut page = String::new();
    render_into(report, drift, &mut page)?;
    Ok(page)
}

/// Render the page straight into `out` (a file being written), so the whole page is never held.
pub fn render_into(
    report: &Report,
    drift: Option<&Drift>,
    out: &mut dyn std::fmt::Write,
) -> Result<(), askama::Error> {
    let view = view::build(report, drift);
    HtmlReport { view: &view }.render_into(out)
}
