//! The Markdown report: the same sections as the HTML report, as tables for a wiki or an email.
//!
//! Markdown has no automatic escaping, so every string that may come from the cluster goes through
//! the explicit [`escape_cell`] filter (`|cell` in the template).

use askama::Template;

use super::view::{self, ReportView};
use crate::coverage::drift::Drift;
use crate::coverage::report::Report;

/// Make any text safe inside a Markdown table cell: `<`, `>` and `&` become HTML entities (so no
/// renderer can see a tag, whatever its dialect), the characters that would start Markdown markup
/// or end the cell (`\ | * _ ` [ ] ~ #`) are backslash-escaped, line breaks become `<br>` (the one
/// piece of HTML we emit ourselves), and other control characters are dropped.
pub fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

mod filters {
    use askama::{Result, Values};

    /// `{{ text|cell }}`: see [`super::escape_cell`].
    #[askama::filter_fn]
    pub fn cell<T: std::fmt::Display>(text: T, _: &dyn Values) -> Result<String> {
        Ok(super::escape_cell(&text.to_string()))
    }
}

#[derive(Template)]
#[template(path = "report.md")]
struct MarkdownReport<'a> {
    view: &'a ReportView,
}

/// Render the report (and the drift section, when given) as Markdown.
pub fn render(report: &Report, drift: Option<&Drift>) -> Result<String, askama::Error> {
    let mut text = String::new();
    render_into(report, drift, &mut text)?;
    Ok(text)
}

/// Render the Markdown straight into `out` (a file being written), so it is never held whole.
pub fn render_into(
    report: &Report,
    drift: Option<&Drift>,
    out: &mut dyn std::fmt::Write,
) -> Result<(), askama::Error> {
    let view = view::build(report, drift);
    MarkdownReport { view: &view }.render_into(out)
}

#[cfg(test)]
mod tests {
    use super::escape_cell;

    #[test]
    fn cells_cannot_break_the_table_or_inject_markup() {
        assert_eq!(escape_cell("a|b"), r"a\|b");
        assert_eq!(
            escape_cell("line1\nline2\r\nline3"),
            "line1<br>line2<br>line3"
        );
        assert_eq!(
            escape_cell("<script>alert('x')</script>"),
            "&lt;script&gt;alert('x')&lt;/script&gt;"
        );
        assert_eq!(
            escape_cell("**bold** [link](x)"),
            r"\*\*bold\*\* \[link\](x)"
        );
        assert_eq!(escape_cell(r"C:\path"), r"C:\\path");
        assert_eq!(escape_cell("web-01.example"), "web-01.example");
        assert_eq!(escape_cell("a\u{7}b"), "ab");
    }
}
