//! Splitting a list answer into its elements while the body arrives.
//!
//! A PBS namespace's snapshot list is tens of MB of JSON. [`ListSplitter`] follows the body's
//! structure (strings and escapes included) and hands each element of the envelope's
//! `data` array on as soon as its last byte has arrived; what is not an element (the envelope:
//! `{"data":[],"total":…}`) is kept, to be checked whole at the end as a buffered answer is.
//! Each element is then decoded from its own bytes with `serde_json`'s fast slice reader, so the
//! body is never held whole and never parsed twice.
//!
//! Anything the splitter does not recognise as `{…"data":[elements]…}` simply stays in the
//! envelope (a `data` that is `null`, an object, a body that is not JSON): the caller decodes that
//! envelope the buffered way, so such an answer reads exactly as before.

/// Where the splitter is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the envelope, outside the `data` array.
    Envelope,
    /// Inside the `data` array, between elements: right after `[` (`]` may follow) or after an
    /// element's `,` (an element must follow).
    Between { after_comma: bool },
    /// Inside an element.
    Element,
}

/// Splits a streamed answer into the elements of its `data` array and the rest (the envelope).
pub(crate) struct ListSplitter {
    place: Place,
    /// Containers open around the current byte (1 = inside the top-level object).
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// At depth 1, the next string is a member's key.
    expect_key: bool,
    reading_key: bool,
    key: Vec<u8>,
    /// The member whose value is being read at depth 1 is `data`.
    in_data_member: bool,
    /// The `data` array was found (and split).
    data_split: bool,
    element: Vec<u8>,
    envelope: Vec<u8>,
}

/// What is left once the body has ended.
pub(crate) struct Split {
    /// The body without the elements of its `data` array (the whole body when there was none).
    pub(crate) envelope: Vec<u8>,
    /// Whether a `data` array was found and its elements handed on.
    pub(crate) data_split: bool,
}

impl ListSplitter {
    /// A splitter at the start of a body.
    pub(crate) fn new() -> ListSplitter {
        ListSplitter {
            place: Place::Envelope,
            depth: 0,
            in_string: false,
            escaped: false,
            expect_key: false,
            reading_key: false,
            key: Vec::new(),
            in_data_member: false,
            data_split: false,
            element: Vec::new(),
            envelope: Vec::new(),
        }
    }

    /// Take the next bytes of the body, handing each element completed in them to `take`. An
    /// error from `take` stops the splitting and is returned.
    pub(crate) fn feed<E>(
        &mut self,
        bytes: &[u8],
        mut take: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            if self.place == Place::Element {
                at = self.element_run(bytes, at, &mut take)?;
                continue;
            }
            at += 1;
            if self.in_string {
                self.string_byte(byte);
                continue;
            }
            match self.place {
                Place::Envelope => self.envelope_byte(byte),
                Place::Between { after_comma } => match byte {
                    b' ' | b'\t' | b'\n' | b'\r' => {}
                    // An element's own comma ends it; any other (`[,`, `1,,`) is not JSON and
                    // is kept, so the envelope fails to parse.
                    b',' => self.leave_array(byte, after_comma),
                    b']' if after_comma => self.leave_array(byte, true), // `[1,]`: not JSON
                    b']' => {
                        self.depth -= 1;
                        self.envelope.push(byte);
                        self.place = Place::Envelope;
                        self.in_data_member = false;
                    }
                    _ => {
                        // The element starts with this byte: read it as part of the element.
                        self.element.clear();
                        self.place = Place::Element;
                        at -= 1;
                    }
                },
                Place::Element => {}
            }
        }
        Ok(())
    }

    /// The body has ended: the envelope, to be decoded whole.
    pub(crate) fn finish(mut self) -> Split {
        if self.place != Place::Envelope {
            // Cut inside the array: keep what is there so the envelope cannot parse.
            self.envelope.extend_from_slice(&self.element);
        }
        Split {
            envelope: self.envelope,
            data_split: self.data_split,
        }
    }

    /// The array is not JSON: everything from here on stays in the envelope, which then fails
    /// to parse with the decoder's own message.
    fn leave_array(&mut self, byte: u8, after_comma: bool) {
        if after_comma {
            self.envelope.push(b','); // the element's comma, so `[1,]` stays `[,]`
        }
        self.envelope.push(byte);
        self.place = Place::Envelope;
        self.in_data_member = false;
    }

    /// A byte of a string in the envelope (an element's strings are read by
    /// [`ListSplitter::element_run`]).
    fn string_byte(&mut self, byte: u8) {
        self.envelope.push(byte);
        if self.escaped {
            self.escaped = false;
            if self.reading_key {
                self.key.push(byte);
            }
        } else if byte == b'\\' {
            self.escaped = true;
            if self.reading_key {
                self.key.push(byte);
            }
        } else if byte == b'"' {
            self.in_string = false;
            self.reading_key = false;
        } else if self.reading_key {
            self.key.push(byte);
        }
    }

    fn envelope_byte(&mut self, byte: u8) {
        match byte {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expect_key {
                    self.reading_key = true;
                    self.expect_key = false;
                    self.key.clear();
                }
                self.envelope.push(byte);
            }
            b'[' if self.depth == 1 && self.in_data_member && !self.data_split => {
                self.envelope.push(byte);
                self.depth = 2;
                self.data_split = true;
                self.place = Place::Between { after_comma: false };
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.envelope.push(byte);
                if self.depth == 1 && byte == b'{' {
                    self.expect_key = true;
                }
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                self.envelope.push(byte);
            }
            b',' => {
                self.envelope.push(byte);
                if self.depth == 1 {
                    self.expect_key = true;
                    self.in_data_member = false;
                }
            }
            b':' => {
                self.envelope.push(byte);
                if self.depth == 1 {
                    self.in_data_member = self.key == b"data";
                }
            }
            _ => self.envelope.push(byte),
        }
    }

    /// Read an element from `bytes[start..]` up to its end or the end of `bytes`, whichever
    /// comes first, and return where reading stopped. Only the bytes that change the element's
    /// structure are looked at one by one; a string's content is skipped to its next quote or
    /// backslash at once. An element that begins and ends in `bytes` is handed on from `bytes`
    /// itself; one that a chunk boundary cuts is gathered in `self.element`.
    fn element_run<E>(
        &mut self,
        bytes: &[u8],
        start: usize,
        take: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut at = start;
        while let Some(&byte) = bytes.get(at) {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    at += 1;
                    continue;
                }
                let rest = bytes.get(at..).unwrap_or_default();
                let Some(offset) = memchr::memchr2(b'"', b'\\', rest) else {
                    break; // the string goes on in the next chunk
                };
                at += offset;
                if rest.get(offset) == Some(&b'\\') {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                }
                at += 1;
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b',' | b']' if self.depth == 2 => {
                    let tail = bytes.get(start..at).unwrap_or_default();
                    let element = if self.element.is_empty() {
                        tail
                    } else {
                        self.element.extend_from_slice(tail);
                        &self.element
                    };
                    take(element)?;
                    self.element.clear();
                    if byte == b',' {
                        self.place = Place::Between { after_comma: true };
                    } else {
                        self.depth = 1;
                        self.envelope.push(byte);
                        self.place = Place::Envelope;
                        self.in_data_member = false;
                    }
                    return Ok(at + 1);
                }
                // A stray closer at the element's own level stays in it: its decoding fails.
                b'}' | b']' if self.depth > 2 => self.depth -= 1,
                _ => {}
            }
            at += 1;
        }
        self.element
            .extend_from_slice(bytes.get(start..).unwrap_or_default());
        Ok(bytes.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// Split `body` fed in pieces of `piece` bytes: the elements and the envelope.
    fn split(body: &str, piece: usize) -> (Vec<String>, String, bool) {
        let mut splitter = ListSplitter::new();
        let mut elements = Vec::new();
        for chunk in body.as_bytes().chunks(piece.max(1)) {
            splitter
                .feed(chunk, |element| {
                    elements.push(String::from_utf8(element.to_vec()).unwrap());
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
        let rest = splitter.finish();
        (
            elements,
            String::from_utf8(rest.envelope).unwrap(),
            rest.data_split,
        )
    }

    #[test]
    fn elements_come_out_whole_however_the_body_is_cut() {
        let body = r#"{"total": 3, "data": [ {"id":"a,]}\"[","n":[1,{"x":2}]} , 7,"s\\",
            null ,[1,[2]] ], "x": {"data": [9]}}"#;
        for piece in [1, 2, 3, 7, 64, body.len()] {
            let (elements, envelope, split) = split(body, piece);
            assert!(split);
            assert_eq!(
                elements,
                [
                    r#"{"id":"a,]}\"[","n":[1,{"x":2}]} "#,
                    "7",
                    r#""s\\""#,
                    "null ",
                    "[1,[2]] "
                ],
                "piece {piece}"
            );
            let envelope: serde_json::Value = serde_json::from_str(&envelope).unwrap();
            assert_eq!(envelope["data"], serde_json::json!([]));
            assert_eq!(envelope["total"], 3);
            assert_eq!(envelope["x"]["data"], serde_json::json!([9]));
        }
    }

    #[test]
    fn elements_match_a_whole_parse_under_uneven_cuts() {
        let items: Vec<serde_json::Value> = (0..200)
            .map(|i| {
                serde_json::json!({
                    "backup-id": format!("{i}"),
                    "comment": format!("q\"uote\\ {i} ]}}, [{{"),
                    "files": [{"filename": "index.json.blob", "crypt-mode": "none"}],
                    "verification": if i % 3 == 0 { serde_json::Value::Null } else { serde_json::json!({"state": "ok"}) },
                })
            })
            .collect();
        let body = serde_json::json!({"data": items, "total": 200}).to_string();
        // Cuts of every width from 1 to 97 bytes, changing from piece to piece.
        let mut splitter = ListSplitter::new();
        let mut elements = Vec::new();
        let (mut at, mut width) = (0, 1);
        while at < body.len() {
            let end = (at + width).min(body.len());
            splitter
                .feed(&body.as_bytes()[at..end], |element| {
                    elements.push(serde_json::from_slice::<serde_json::Value>(element).unwrap());
                    Ok::<(), ()>(())
                })
                .unwrap();
            at = end;
            width = width % 97 + 1;
        }
        assert_eq!(elements, items);
        let envelope: serde_json::Value =
            serde_json::from_slice(&splitter.finish().envelope).unwrap();
        assert_eq!(envelope, serde_json::json!({"data": [], "total": 200}));
    }

    #[test]
    fn what_is_not_a_data_array_stays_in_the_envelope() {
        for body in [
            r#"{"data":null}"#,
            r#"{"data":{"a":[1]}}"#,
            r#"{"errors":{"data":[1]}}"#,
            "<html>data</html>",
            r#"[{"data":[1]}]"#,
        ] {
            let (elements, envelope, split) = split(body, 3);
            assert!(elements.is_empty() && !split, "{body}");
            assert_eq!(envelope, body);
        }
    }

    #[test]
    fn a_broken_array_leaves_an_envelope_that_does_not_parse() {
        for body in [
            r#"{"data":[1,]}"#,
            r#"{"data":[,1]}"#,
            r#"{"data":[1,,2]}"#,
            r#"{"data":[{"a":1}"#,
            r#"{"data":[1,2"#,
        ] {
            let (_, envelope, _) = split(body, 2);
            assert!(
                serde_json::from_str::<serde_json::Value>(&envelope).is_err(),
                "{body} -> {envelope}"
            );
        }
        // Garbage after an element stays in it, so its decoding fails.
        let (elements, _, _) = split(r#"{"data":[{"a":1} x,2]}"#, 4);
        assert_eq!(elements[0], r#"{"a":1} x"#);
        assert!(serde_json::from_str::<serde_json::Value>(&elements[0]).is_err());
    }

    #[test]
    fn an_error_from_the_taker_stops_the_split() {
        let mut splitter = ListSplitter::new();
        let mut seen = 0;
        let result = splitter.feed(br#"{"data":[1,2,3]}"#, |_| {
            seen += 1;
            if seen == 2 {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert_eq!((result, seen), (Err("stop"), 2));
    }
}
