//! The JSON report: the documented contract (what `--dump-report-data` prints). The `Report`
//! fields are written exactly as the contract defines them; a `drift` key is added after them only
//! when a drift is given, so readers of the contract never see a changed field.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

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
    let mut bytes = Vec::new();
    write(report, drift, &mut bytes)?;
    String::from_utf8(bytes).map_err(|err| serde_json::Error::io(io::Error::other(err)))
}

/// The same bytes as [`render`], serialized straight into `out` (a buffered file being written):
/// a 5 000-guest report is ~46 MB of JSON, which is never held as one string.
pub fn write(
    report: &Report,
    drift: Option<&Drift>,
    out: &mut dyn Write,
) -> Result<(), serde_json::Error> {
    // serde_json writes a report in millions of pieces of a few bytes; each through `dyn Write`
    // is a call that cannot be inlined, so they are gathered here first (docs/performance.md).
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, out);
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffered, Indented::default());
    WithDrift { report, drift }.serialize(&mut serializer)?;
    buffered.write_all(b"\n").map_err(serde_json::Error::io)?;
    buffered.flush().map_err(serde_json::Error::io)
}

/// A line break, then enough indentation for [`Indented`]'s usual depths in one slice.
const BREAK_AND_INDENT: &[u8] = b",\n                                                                                                                                ";

/// serde_json's `PrettyFormatter` with its two-space indent, byte for byte, but writing a line
/// break and its indentation as one slice instead of one write per level.
#[derive(Default)]
struct Indented {
    depth: usize,
    has_value: bool,
}

impl Indented {
    /// `,\n` (or `\n` when `first`) and the indentation of the current depth.
    fn line_break<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        let from = usize::from(first);
        let to = 2 + 2 * self.depth;
        match BREAK_AND_INDENT.get(from..to) {
            Some(slice) => writer.write_all(slice),
            None => {
                writer.write_all(&BREAK_AND_INDENT[from..2])?;
                (0..self.depth).try_for_each(|_| writer.write_all(b"  "))
            }
        }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            self.line_break(writer, true)?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line_break(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line_break(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Whatever the nesting, the bytes are serde_json's own pretty printing: the report's JSON
    /// is a contract, and its goldens were written by `to_string_pretty`.
    #[test]
    fn indented_is_byte_for_byte_pretty() {
        let mut deep = serde_json::json!({"leaf": [1, {}, [], "x"]});
        for level in 0..80 {
            deep =
                serde_json::json!({ "level": level, "empty": {}, "list": [deep, null], "n": [] });
        }
        for value in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"a": [1, 2, {"b": {"c": []}}], "d": "e\n\"f\""}),
            deep,
        ] {
            let mut ours = Vec::new();
            value
                .serialize(&mut serde_json::Serializer::with_formatter(
                    &mut ours,
                    Indented::default(),
                ))
                .unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string_pretty(&value).unwrap()
            );
        }
    }
}
