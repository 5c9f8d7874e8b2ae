//! Output: everything the user reads is formatted here, from values the earlier stages decided.
//! Renderers never compute a verdict; they format what the [`Report`](crate::coverage::report::Report)
//! says. `view` preformats the rows both the HTML and the Markdown templates show.

pub(crate) mod check;
pub(crate) mod collection;
pub mod coverage_text;
pub mod html;
pub(crate) mod inventory;
pub mod json;
pub mod markdown;
pub mod nagios;
pub mod prometheus;
pub(crate) mod view;
