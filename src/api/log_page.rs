//! Task-log pages (`GET /nodes/{node}/tasks/{upid}/log`): the lines' text, decoded by a
//! scanner for the one shape every log page has, with serde as the judge of everything else.
//!
//! A first night on a large cluster reads millions of log lines. Through serde each line was a
//! map visit, a `String` and a `Vec` slot, a seventh of the run's CPU time (docs/performance.md).
//! The body is checked as UTF-8 once, and the scanner reads `{"data":[{"n":1,"t":"…"},…],
//! "total":N}` (keys in any order, any JSON whitespace) into where each line lies in it; a
//! string with an escape is read by serde_json itself, and anything else it does not recognise (a number written as a string, an unknown
//! member, a syntax error) sends the whole page through the serde decoding, so every page
//! decodes to exactly what serde gives, and fails exactly as it would.

use std::ops::Range;

use super::client::{decode_envelope, Answer};
use super::error::ApiErrorKind;
use super::paging::Page;
use super::pve_types::TaskLogLine;

/// The lines of one page, in order: most of them read in place from the answer's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskLogPage {
    /// The answer's body (empty when serde decoded the page).
    body: String,
    lines: Vec<Text>,
}

/// Where a string's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    /// In the body, as it was sent (no escapes).
    InBody(Range<usize>),
    /// Decoded from escapes by serde_json, or by the serde decoding of a whole page.
    Decoded(String),
}

impl Text {
    /// The text, `body` being the body it was found in.
    fn read<'a>(&'a self, body: &'a str) -> &'a str {
        match self {
            Text::InBody(range) => body.get(range.clone()).unwrap_or_default(),
            Text::Decoded(text) => text,
        }
    }
}

impl TaskLogPage {
    /// Each line's text, in order.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|line| line.read(&self.body))
    }

    fn from_lines(lines: Vec<TaskLogLine>) -> TaskLogPage {
        TaskLogPage {
            body: String::new(),
            lines: lines
                .into_iter()
                .map(|line| Text::Decoded(line.t))
                .collect(),
        }
    }
}

impl Page for TaskLogPage {
    fn sent(&self) -> usize {
        self.lines.len()
    }
}

/// Decode a 2xx body of a task-log request: exactly what serde would give for it.
pub(crate) fn decode(body: Vec<u8>) -> Result<Answer<TaskLogPage>, ApiErrorKind> {
    let body = match String::from_utf8(body) {
        Ok(text) => match scan(&text) {
            Some((lines, total)) => {
                return Ok(Answer {
                    data: TaskLogPage { body: text, lines },
                    total,
                })
            }
            None => text.into_bytes(),
        },
        Err(not_utf8) => not_utf8.into_bytes(),
    };
    decode_envelope::<Vec<TaskLogLine>>(&body).map(from_wire)
}

/// A page decoded by serde (a replayed answer, or a body the scanner left to serde).
pub(crate) fn from_wire(answer: Answer<Vec<TaskLogLine>>) -> Answer<TaskLogPage> {
    Answer {
        data: TaskLogPage::from_lines(answer.data),
        total: answer.total,
    }
}

/// The lines and `total`, if the body has the usual shape; None leaves it to serde.
fn scan(body: &str) -> Option<(Vec<Text>, Option<u64>)> {
    let mut scanner = Scanner { body, at: 0 };
    let (mut data, mut total) = (None, None);
    scanner.object(|scanner, key| match key {
        "data" if data.is_none() => {
            data = Some(scanner.lines()?);
            Some(())
        }
        "total" if total.is_none() => {
            total = Some(scanner.number()?);
            Some(())
        }
        _ => None,
    })?;
    scanner.skip_whitespace();
    if scanner.at != body.len() {
        return None;
    }
    Some((data?, total))
}

struct Scanner<'a> {
    body: &'a str,
    at: usize,
}

impl Scanner<'_> {
    fn bytes(&self) -> &[u8] {
        self.body.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while matches!(
            self.bytes().get(self.at),
            Some(b' ' | b'\n' | b'\r' | b'\t')
        ) {
            self.at += 1;
        }
    }

    /// Past whitespace and `byte`, or None.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.eat_if(byte)?.then_some(())
    }

    /// Whether `byte` comes next (taken when it does); None at the end of the body.
    fn eat_if(&mut self, byte: u8) -> Option<bool> {
        self.skip_whitespace();
        let next = *self.bytes().get(self.at)?;
        if next == byte {
            self.at += 1;
        }
        Some(next == byte)
    }

    /// A JSON string. Escaped or holding a control character (which JSON forbids): serde_json
    /// reads the quoted text itself, so it decodes and fails exactly as serde would. (The body
    /// is valid UTF-8, and a quote or backslash byte is never part of a longer character, so
    /// the text between the quotes is too.)
    fn string(&mut self) -> Option<Text> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        let end = loop {
            let rest = self.bytes().get(self.at..)?;
            let found = self.at + memchr::memchr2(b'"', b'\\', rest)?;
            if self.bytes()[found] == b'"' {
                self.at = found + 1;
                break found;
            }
            escaped = true;
            self.at = found + 2;
        };
        let raw = self.bytes().get(start..end)?;
        let control = raw.iter().fold(false, |seen, byte| seen | (*byte < 0x20));
        if escaped || control {
            let quoted = self.bytes().get(start - 1..=end)?;
            serde_json::from_slice::<String>(quoted)
                .ok()
                .map(Text::Decoded)
        } else {
            Some(Text::InBody(start..end))
        }
    }

    /// A JSON number that is a whole, non-negative `u64` written plainly (`0`, `17`).
    fn number(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let rest = self.bytes().get(self.at..)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let text = rest.get(..digits)?;
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        if matches!(rest.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = text.iter().try_fold(0u64, |value, digit| {
            value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })?;
        self.at += digits;
        Some(value)
    }

    /// An object: each member's key handed to `member` with the scanner at its value, which
    /// `member` reads (None: a member the scanner does not take).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat_if(b'}')? {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            let body = self.body;
            member(self, key.read(body))?;
            if self.eat_if(b'}')? {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// `[{"n":…,"t":"…"},…]`.
    fn lines(&mut self) -> Option<Vec<Text>> {
        self.eat(b'[')?;
        // A line takes some 60 bytes of JSON; a guess that rarely reallocates or wastes much.
        let mut lines = Vec::with_capacity((self.body.len() - self.at) / 48);
        if self.eat_if(b']')? {
            return Some(lines);
        }
        loop {
            let (mut number, mut text) = (None, None);
            self.object(|scanner, key| match key {
                "n" if number.is_none() => {
                    number = Some(scanner.number()?);
                    Some(())
                }
                "t" if text.is_none() => {
                    text = Some(scanner.string()?);
                    Some(())
                }
                _ => None,
            })?;
            number?;
            lines.push(text?);
            if self.eat_if(b']')? {
                return Some(lines);
            }
            self.eat(b',')?;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// serde's decoding of `body`, as a page.
    fn by_serde(body: &[u8]) -> Result<Answer<TaskLogPage>, ApiErrorKind> {
        decode_envelope::<Vec<TaskLogLine>>(body).map(from_wire)
    }

    /// Whether the scanner reads `body` itself (rather than leaving it to serde).
    fn scanned(body: &[u8]) -> bool {
        std::str::from_utf8(body).ok().and_then(scan).is_some()
    }

    fn lines(body: &[u8]) -> Vec<String> {
        let page = decode(body.to_vec()).unwrap().data;
        page.lines().map(str::to_string).collect()
    }

    /// `body` decodes to the same lines and total as through serde, or fails the same way.
    fn same(body: &[u8]) {
        let ours = decode(body.to_vec());
        let theirs = by_serde(body);
        let text = |page: &TaskLogPage| page.lines().map(str::to_string).collect::<Vec<_>>();
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(
                (text(&a.data), a.total),
                (text(&b.data), b.total),
                "{}",
                String::from_utf8_lossy(body)
            ),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!(
                "{}: {:?} vs {:?}",
                String::from_utf8_lossy(body),
                ours.map(|a| text(&a.data)),
                theirs.map(|a| text(&a.data))
            ),
        }
    }

    #[test]
    fn the_usual_page_is_read_by_the_scanner() {
        let body = br#"{"data":[{"n":1,"t":"INFO: starting new backup job: vzdump 100"},{"n":2,"t":"TASK OK"}],"total":2}"#;
        assert!(scanned(body));
        assert_eq!(
            lines(body),
            ["INFO: starting new backup job: vzdump 100", "TASK OK"]
        );
        assert_eq!(decode(body.to_vec()).unwrap().total, Some(2));
        same(body);
        // Keys in either order, whitespace anywhere, an escaped line: still the scanner's.
        let body = " { \"total\" : 1 ,\n \"data\" : [ { \"t\" : \"a \\\"b\\\" \\u00e9\\n ü\" , \"n\" : 1 } ] } ";
        assert!(scanned(body.as_bytes()));
        assert_eq!(lines(body.as_bytes()), ["a \"b\" é\n ü"]);
        same(body.as_bytes());
    }

    #[test]
    fn anything_unusual_is_serdes_to_judge() {
        let bodies: [&[u8]; 22] = [
            br#"{"data":[{"n":"2","t":"x"}],"total":"1"}"#,
            br#"{"data":[{"n":1,"t":"x","extra":0}]}"#,
            br#"{"data":[{"n":1}]}"#,
            br#"{"data":[{"t":"x"}]}"#,
            br#"{"data":[{}]}"#,
            br#"{"data":[]}"#,
            br#"{"data":null}"#,
            br#"{"total":3}"#,
            br#"{}"#,
            br#"{"data":[{"n":1,"t":"x"}],"total":2,"success":1}"#,
            br#"{"data":[{"n":1,"n":2,"t":"x"}]}"#,
            br#"{"data":[{"n":1,"t":"x"}]"#,
            br#"{"data":[{"n":1,"t":"x"}]} trailing"#,
            br#"{"data":[{"n":1,"t":"x"},]}"#,
            br#"{"data":[{"n":01,"t":"x"}]}"#,
            br#"{"data":[{"n":1.5,"t":"x"}]}"#,
            br#"{"data":[{"n":-1,"t":"x"}]}"#,
            br#"{"data":[{"n":99999999999999999999999,"t":"x"}]}"#,
            b"{\"data\":[{\"n\":1,\"t\":\"tab\there\"}]}",
            b"{\"data\":[{\"n\":1,\"t\":\"bad \xff utf8\"}]}",
            br#"{"data":[{"n":1,"t":"bad \q escape"}]}"#,
            br#"{"data":[{"n":1,"t":"x"}],"data":[]}"#,
        ];
        for body in bodies {
            same(body);
        }
        for cut in 0..48 {
            same(&br#"{"data":[{"n":1,"t":"a\"b"},{"n":2,"t":"c"}],"total":2}"#[..cut]);
        }
    }

    /// Random pages of awkward text, written by serde_json in its compact and pretty forms:
    /// the scanner reads each itself, to serde's lines every time.
    #[test]
    fn random_pages_decode_as_serde_decodes_them() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces = [
            "INFO: ",
            "\"",
            "\\",
            "/",
            "é",
            "日本",
            "\u{1F600}",
            "\n",
            "\t",
            "\u{1}",
            "\u{7f}",
            " ",
            "vzdump",
            "'scsi0'",
            "{}",
            "[",
            "]",
            ",",
            ":",
        ];
        for round in 0..400 {
            let lines: Vec<serde_json::Value> = (0..next() % 8)
                .map(|n| {
                    let text: String = (0..next() % 6)
                        .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                        .collect();
                    serde_json::json!({"n": n + 1, "t": text})
                })
                .collect();
            let count = lines.len();
            let envelope = serde_json::json!({"data": lines, "total": count});
            let body = if round % 2 == 0 {
                serde_json::to_vec(&envelope).unwrap()
            } else {
                serde_json::to_vec_pretty(&envelope).unwrap()
            };
            same(&body);
            assert!(scanned(&body), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn lines_in_place_and_decoded_keep_their_order() {
        // The last line is escaped (`\u0063` is `c`): decoded apart from the lines in place.
        let page =
            decode(br#"{"data":[{"n":1,"t":"a"},{"n":2,"t":""},{"n":3,"t":"\u0063"}]}"#.to_vec())
                .unwrap()
                .data;
        assert_eq!(page.sent(), 3);
        assert_eq!(page.lines().collect::<Vec<_>>(), ["a", "", "c"]);
    }
}
