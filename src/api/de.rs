//! Tolerant deserialization helpers for the PVE/PBS wire formats.
//!
//! Owns the "Perl typing" tolerance: PVE reads many values from config files as Perl scalars, so a
//! field the schema calls `integer` or `boolean` may arrive as `1`, `"1"`, `"yes"`, … depending on
//! the version and code path. Every helper here turns such a value into one Rust type or fails
//! with an error that names the offending value. It also owns the two PVE text list formats the
//! other wire modules need: `split_list` lists (`pve-vmid-list`, tag and content lists) and
//! property strings (`k=v,k=v`, disk and mount point definitions).
//!
//! Use the `opt_*` modules as `#[serde(default, with = "crate::api::de::opt_bool")]`: `default`
//! makes an absent field `None`; JSON `null` is `None` too. Each module also has a `serialize`
//! that writes the parsed value back in its plain JSON form, so wire types can derive `Serialize`.
//!
//! Rule shared by all scalar helpers: an empty string (what Perl's `undef` or false stringify to)
//! is treated as "no value" (`None`), never as zero or false.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A JSON value did not have the shape or content a wire field needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireValueError {
    /// A boolean field held a value that is none of the accepted spellings.
    #[error(
        "expected a boolean (true/false, 1/0, \"yes\"/\"no\", \"on\"/\"off\"), got {0}; \
         the server sent a value this tool does not understand"
    )]
    NotABool(String),
    /// A numeric field held something that is not a number or a numeric string.
    #[error("expected a number or a numeric string, got {0}")]
    NotANumber(String),
    /// A numeric value does not fit the field's range (e.g. negative for an unsigned field).
    #[error("number {value} is out of range for {target}")]
    OutOfRange {
        /// The value as received.
        value: String,
        /// The Rust type it had to fit.
        target: &'static str,
    },
    /// A string field held another JSON type (a number, boolean, list or object).
    #[error("expected a string, got {0}")]
    NotAString(String),
    /// A field that must be a string or number held another JSON type.
    #[error("expected a string or a number, got {0}")]
    NotAStringOrNumber(String),
    /// An entry of a VMID list is not a VMID.
    #[error("'{0}' in a VMID list is not a VMID (expected a positive integer such as 100)")]
    BadVmid(String),
    /// A list field held a JSON type that cannot be a list.
    #[error("expected a list (separated string or JSON array), got {0}")]
    NotAList(String),
    /// A property string entry could not be parsed.
    #[error("property string '{input}' is malformed: {detail}")]
    BadPropertyString {
        /// The whole property string.
        input: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A property-string field held a JSON type that is neither a string nor an object.
    #[error("expected a property string (k=v,…) or a JSON object, got {0}")]
    NotAPropertyString(String),
}

/// Short rendering of a JSON value for error messages (long strings are cut).
fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Reads an optional field as a raw JSON value (`null` → `None`).
fn read_optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Option::<Value>::deserialize(deserializer)
}

/// Converts a [`WireValueError`] into the deserializer's error type.
fn to_de_error<E: serde::de::Error>(err: WireValueError) -> E {
    E::custom(err)
}

/// Parses a boolean the way PVE/Perl writes it.
///
/// Accepted: `true`/`false`, numbers `1`/`0`, and the strings `1`/`0`, `true`/`false`,
/// `yes`/`no`, `on`/`off` (case-insensitive, surrounding whitespace ignored). `null` and `""`
/// give `None`. Anything else is an error naming the value.
pub fn bool_from_value(value: &Value) -> Result<Option<bool>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) => {
            let number = n.as_f64().unwrap_or(f64::NAN);
            if number == 1.0 {
                Ok(Some(true))
            } else if number == 0.0 {
                Ok(Some(false))
            } else {
                Err(WireValueError::NotABool(describe(value)))
            }
        }
        Value::String(s) => {
            if s.trim().is_empty() {
                return Ok(None);
            }
            parse_bool_str(s)
                .map(Some)
                .ok_or_else(|| WireValueError::NotABool(describe(value)))
        }
        Value::Array(_) | Value::Object(_) => Err(WireValueError::NotABool(describe(value))),
    }
}

/// Parses a boolean word as PVE's schema accepts it in property strings and config files:
/// `1/0`, `true/false`, `yes/no`, `on/off` (case-insensitive). `None` for anything else.
pub fn parse_bool_str(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses an unsigned integer from a number or numeric string (`null`/`""` → `None`).
///
/// Fractional values (RRD-derived statistics can be averages) are truncated toward zero;
/// negative values, non-finite numbers and non-numeric strings are errors.
pub fn u64_from_value(value: &Value) -> Result<Option<u64>, WireValueError> {
    // The common case, without rendering the number as text to read it back.
    if let Some(exact) = value.as_u64() {
        return Ok(Some(exact));
    }
    let Some(number) = number_text(value)? else {
        return Ok(None);
    };
    if let Ok(parsed) = number.parse::<u64>() {
        return Ok(Some(parsed));
    }
    let float = parse_float(&number, value)?;
    // 2^64 as f64; anything at or above it does not fit.
    if !(0.0..18_446_744_073_709_551_616.0).contains(&float) {
        return Err(WireValueError::OutOfRange {
            value: number,
            target: "u64",
        });
    }
    // The range check above makes the cast exact up to truncation of the fraction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Some(float.trunc() as u64))
}

/// Parses a signed integer from a number or numeric string (`null`/`""` → `None`).
///
/// Fractional values are truncated toward zero; non-finite numbers, values outside `i64` and
/// non-numeric strings are errors.
pub fn i64_from_value(value: &Value) -> Result<Option<i64>, WireValueError> {
    // The common case, without rendering the number as text to read it back.
    if let Some(exact) = value.as_i64() {
        return Ok(Some(exact));
    }
    let Some(number) = number_text(value)? else {
        return Ok(None);
    };
    if let Ok(parsed) = number.parse::<i64>() {
        return Ok(Some(parsed));
    }
    let float = parse_float(&number, value)?;
    // -2^63 is representable, 2^63 is not.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&float) {
        return Err(WireValueError::OutOfRange {
            value: number,
            target: "i64",
        });
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(Some(float.trunc() as i64))
}

/// Parses a floating point number from a number or numeric string (`null`/`""` → `None`).
pub fn f64_from_value(value: &Value) -> Result<Option<f64>, WireValueError> {
    let Some(number) = number_text(value)? else {
        return Ok(None);
    };
    parse_float(&number, value).map(Some)
}

/// Parses an unsigned integer that must fit `u32` (VMIDs).
pub fn u32_from_value(value: &Value) -> Result<Option<u32>, WireValueError> {
    match u64_from_value(value)? {
        None => Ok(None),
        Some(wide) => u32::try_from(wide)
            .map(Some)
            .map_err(|_| WireValueError::OutOfRange {
                value: wide.to_string(),
                target: "u32",
            }),
    }
}

/// Parses an unsigned integer that must fit `u16` (ports).
pub fn u16_from_value(value: &Value) -> Result<Option<u16>, WireValueError> {
    match u64_from_value(value)? {
        None => Ok(None),
        Some(wide) => u16::try_from(wide)
            .map(Some)
            .map_err(|_| WireValueError::OutOfRange {
                value: wide.to_string(),
                target: "u16",
            }),
    }
}

/// The trimmed textual form of a numeric value, `None` for `null`/`""`.
fn number_text(value: &Value) -> Result<Option<String>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(s) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                Ok(None)
            } else {
                Ok(Some(trimmed.to_owned()))
            }
        }
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err(WireValueError::NotANumber(describe(value)))
        }
    }
}

/// Parses number text as a finite `f64`.
fn parse_float(number: &str, original: &Value) -> Result<f64, WireValueError> {
    match number.parse::<f64>() {
        Ok(float) if float.is_finite() => Ok(float),
        _ => Err(WireValueError::NotANumber(describe(original))),
    }
}

/// A string field (`null` → `None`).
///
/// Strict on purpose: PVE sends numbers as strings (hence the tolerant numeric helpers), never a
/// string field as a number, so a number here is a wrong type, not a spelling. An empty string
/// stays `Some("")`: for ids such as a task's `id` it is a real value (a multi-guest vzdump task).
pub fn string_from_value(value: &Value) -> Result<Option<String>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err(WireValueError::NotAString(describe(value)))
        }
    }
}

/// A string, or a number rendered as its JSON text (`1`), for the few fields whose documented
/// value is a Perl scalar that may be either (storage content `encrypted`: a fingerprint or `1`).
/// `null` → `None`.
pub fn string_or_number_from_value(value: &Value) -> Result<Option<String>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err(WireValueError::NotAStringOrNumber(describe(value)))
        }
    }
}

/// How many bad items of one list are quoted with their error (the rest are only counted).
pub const QUOTED_BAD_ITEMS: usize = 3;

/// One item of a list answer that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadItem {
    /// Position in the list (0-based, as the server sent it).
    pub index: usize,
    /// The decode error, naming the top-level field when it can be found.
    pub error: String,
}

impl std::fmt::Display for BadItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "item {}: {}", self.index, self.error)
    }
}

/// A JSON array decoded item by item: one malformed item costs that item only.
///
/// Good items are kept in order; a bad one is counted, and the first [`QUOTED_BAD_ITEMS`] are kept
/// with their index and error so the collector can quote them. Each item passes through its own
/// small `serde_json::Value` only, so a 100k-item list never becomes one JSON tree. Anything but
/// an array is an error for the whole answer, as with `Vec<T>`.
#[derive(Debug, Clone, PartialEq)]
pub struct LenientList<T> {
    /// The items that decoded, in server order.
    pub items: Vec<T>,
    /// The first few items that did not decode.
    pub bad: Vec<BadItem>,
    /// How many items did not decode (may exceed `bad.len()`).
    pub bad_count: usize,
    /// The request the list answers (`/pools`), set by the endpoint layer for messages; empty
    /// when decoded on its own.
    pub endpoint: String,
}

impl<T> Default for LenientList<T> {
    fn default() -> Self {
        LenientList {
            items: Vec::new(),
            bad: Vec::new(),
            bad_count: 0,
            endpoint: String::new(),
        }
    }
}

impl<T> LenientList<T> {
    /// How many items the server sent (good and bad).
    pub fn sent(&self) -> usize {
        self.items.len() + self.bad_count
    }

    /// The bad items quoted for a message: `item 17: …; item 18: …` plus how many more there are.
    pub fn describe_bad(&self) -> String {
        let mut text = self
            .bad
            .iter()
            .map(BadItem::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let more = self.bad_count.saturating_sub(self.bad.len());
        if more > 0 {
            text.push_str(&format!("; and {more} more"));
        }
        text
    }
}

impl<T> LenientList<T> {
    /// Appends the next page of the same list: its bad items are renumbered to their position in
    /// the whole list, and only the first [`QUOTED_BAD_ITEMS`] of the whole are quoted.
    pub fn append(&mut self, next: LenientList<T>) {
        let offset = self.sent();
        self.items.extend(next.items);
        let room = QUOTED_BAD_ITEMS.saturating_sub(self.bad.len());
        self.bad
            .extend(next.bad.into_iter().take(room).map(|bad| BadItem {
                index: bad.index + offset,
                error: bad.error,
            }));
        self.bad_count += next.bad_count;
        if self.endpoint.is_empty() {
            self.endpoint = next.endpoint;
        }
    }
}

impl<T: serde::de::DeserializeOwned> LenientList<T> {
    /// Decodes one item, recording it as bad when it does not fit `T`.
    fn decode_or_note(&mut self, index: usize, value: &Value) -> Option<T> {
        match T::deserialize(value) {
            Ok(item) => Some(item),
            Err(err) => {
                self.bad_count += 1;
                if self.bad.len() < QUOTED_BAD_ITEMS {
                    let mut error = err.to_string();
                    if let Some(field) = failing_field::<T>(value) {
                        error.push_str(&format!(" at field `{field}`"));
                    }
                    self.bad.push(BadItem { index, error });
                }
                None
            }
        }
    }
}

/// The top-level member of `item` whose value made decoding fail, when the item is an object.
///
/// The `Value` deserializer reports no position, so the item is decoded once more from its compact
/// text, whose error carries a column; the member spanning that column is the culprit. A missing
/// field is named by the error itself and has no column inside a member.
fn failing_field<T: serde::de::DeserializeOwned>(item: &Value) -> Option<String> {
    let Value::Object(members) = item else {
        return None;
    };
    let text = item.to_string();
    let err = serde_json::from_str::<T>(&text).err()?;
    let column = err.column();
    // Compact text is `{"k1":v1,"k2":v2}`: member i spans [offset, offset + len).
    let mut offset = 1usize;
    for (key, value) in members {
        let len = Value::String(key.clone()).to_string().len() + 1 + value.to_string().len();
        if column > offset && column <= offset + len + 1 {
            return Some(key.clone());
        }
        offset += len + 1;
    }
    None
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for LenientList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::DeserializeSeed::deserialize(MappedList::new(Some), deserializer)
    }
}

/// Items per block while a list is decoded: the list's length is not known before its end, and a
/// list grown by doubling holds up to twice its size (a 130 000-snapshot answer: ~25 MB spare).
const ITEMS_PER_BLOCK: usize = 4096;

/// Decodes a JSON array like [`LenientList`], handing each good item to `map` as soon as it is
/// decoded and keeping what `map` returns (`None`: dropped): no list of wire items is ever built.
/// The kept items end in a list of exactly their number. Used as a [`serde::de::DeserializeSeed`],
/// so it also decodes an answer as it streams in.
pub(crate) struct MappedList<T, F> {
    map: F,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<T, F: Clone> Clone for MappedList<T, F> {
    fn clone(&self) -> Self {
        MappedList::new(self.map.clone())
    }
}

impl<T, F> MappedList<T, F> {
    /// Keep `map(item)` of every item that decodes.
    pub(crate) fn new(map: F) -> Self {
        MappedList {
            map,
            item: std::marker::PhantomData,
        }
    }
}

impl<'de, T, U, F> serde::de::DeserializeSeed<'de> for MappedList<T, F>
where
    T: serde::de::DeserializeOwned,
    F: FnMut(T) -> Option<U>,
{
    type Value = LenientList<U>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T, U, F> serde::de::Visitor<'de> for MappedList<T, F>
where
    T: serde::de::DeserializeOwned,
    F: FnMut(T) -> Option<U>,
{
    type Value = LenientList<U>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = self.collector();
        // Each element as its own raw text (a syntax error still fails the answer).
        while let Some(raw) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
            items
                .take(raw.get().as_bytes())
                .map_err(serde::de::Error::custom)?;
        }
        Ok(items.finish())
    }
}

impl<T, F> MappedList<T, F> {
    /// The items of a list handed over one element's text at a time (a list answer split while
    /// it streams in, `api::stream`).
    pub(crate) fn collector<U>(self) -> MappedItems<T, U, F> {
        MappedItems {
            map: self.map,
            checked: LenientList::default(),
            blocks: Vec::new(),
            block: Vec::new(),
            elements: 0,
        }
    }
}

/// The list [`MappedList`] builds, fed one element's JSON text at a time.
pub(crate) struct MappedItems<T, U, F> {
    map: F,
    /// Only its bad-item notes are used: good items go to `map`.
    checked: LenientList<T>,
    blocks: Vec<Vec<U>>,
    block: Vec<U>,
    /// Elements taken so far, good or bad.
    elements: usize,
}

impl<T, U, F> MappedItems<T, U, F>
where
    T: serde::de::DeserializeOwned,
    F: FnMut(T) -> Option<U>,
{
    /// Decode the next element's text straight into `T`; only an element that does not fit is
    /// built into a `Value` tree and decoded the former way, so a bad item reads exactly as before
    /// and an item that fits either way is kept (a tree per element was ~6 % of the CPU of a
    /// 70 000-snapshot list). Text that is not JSON fails the whole list.
    pub(crate) fn take(&mut self, text: &[u8]) -> Result<(), serde_json::Error> {
        let index = self.elements;
        self.elements += 1;
        let item = match serde_json::from_slice::<T>(text) {
            Ok(item) => Some(item),
            Err(_) => {
                let value = serde_json::from_slice::<Value>(text)?;
                self.checked.decode_or_note(index, &value)
            }
        };
        if let Some(kept) = item.and_then(&mut self.map) {
            // The first block grows as a short list would; later ones are made whole at once.
            if self.block.capacity() == 0 && !self.blocks.is_empty() {
                self.block.reserve_exact(ITEMS_PER_BLOCK);
            }
            self.block.push(kept);
            if self.block.len() == ITEMS_PER_BLOCK {
                self.blocks.push(std::mem::take(&mut self.block));
            }
        }
        Ok(())
    }

    /// The kept items in a list of exactly their number, with the bad-item notes.
    pub(crate) fn finish(self) -> LenientList<U> {
        let items = if self.blocks.is_empty() {
            let mut short = self.block;
            short.shrink_to_fit();
            short
        } else {
            let mut items =
                Vec::with_capacity(self.blocks.len() * ITEMS_PER_BLOCK + self.block.len());
            for full in self.blocks {
                items.extend(full);
            }
            items.extend(self.block);
            items
        };
        LenientList {
            items,
            bad: self.checked.bad,
            bad_count: self.checked.bad_count,
            endpoint: String::new(),
        }
    }
}

/// Splits a PVE list string the way `PVE::Tools::split_list` does: on `\0` if present, otherwise
/// on runs of `,`, `;` and whitespace. Empty items are dropped.
pub fn split_list(text: &str) -> Vec<String> {
    let items: Vec<&str> = if text.contains('\0') {
        text.split('\0').collect()
    } else {
        text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .collect()
    };
    items
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a string list: a `split_list` string, a JSON array of strings/numbers, or a single
/// number. `null` → `None`; `""` → `Some(vec![])` (present but empty). Array elements are taken
/// as they are (trimmed, empty ones dropped), not split again.
pub fn string_list_from_value(value: &Value) -> Result<Option<Vec<String>>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(split_list(s))),
        Value::Number(n) => Ok(Some(vec![n.to_string()])),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Null => {}
                    Value::String(s) => {
                        let trimmed = s.trim();
                        if !trimmed.is_empty() {
                            out.push(trimmed.to_owned());
                        }
                    }
                    Value::Number(n) => out.push(n.to_string()),
                    Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                        return Err(WireValueError::NotAList(describe(value)))
                    }
                }
            }
            Ok(Some(out))
        }
        Value::Bool(_) | Value::Object(_) => Err(WireValueError::NotAList(describe(value))),
    }
}

/// Parses a `pve-vmid-list`: `"100,101 102;103"`, a JSON array of numbers or numeric strings
/// (strings may themselves be lists), or a single number. `null` → `None`; `""` → `Some(vec![])`.
/// Leading zeros are accepted (`"0100"` → 100, as PVE normalizes with `int()`).
pub fn vmid_list_from_value(value: &Value) -> Result<Option<Vec<u32>>, WireValueError> {
    let tokens: Vec<String> = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => vec![n.to_string()],
        Value::String(s) => split_list(s),
        Value::Array(items) => {
            let mut tokens = Vec::new();
            for item in items {
                match item {
                    Value::Number(n) => tokens.push(n.to_string()),
                    Value::String(s) => tokens.extend(split_list(s)),
                    Value::Null => {}
                    Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                        return Err(WireValueError::BadVmid(describe(item)))
                    }
                }
            }
            tokens
        }
        Value::Bool(_) | Value::Object(_) => return Err(WireValueError::NotAList(describe(value))),
    };
    tokens
        .into_iter()
        .map(|token| {
            token
                .parse::<u32>()
                .map_err(|_| WireValueError::BadVmid(token.clone()))
        })
        .collect::<Result<Vec<u32>, _>>()
        .map(Some)
}

/// A parsed PVE property string such as `local-lvm:vm-100-disk-0,backup=0,size=32G`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyString {
    /// The entry without `key=` (the schema's `default_key`, e.g. the volume of a disk).
    pub default_value: Option<String>,
    /// All `key=value` entries; keys as written (PVE keys are lower case).
    pub entries: BTreeMap<String, String>,
}

impl PropertyString {
    /// Parses `value[,key=value…]` with PVE's rules: entries are separated by `,`, an entry
    /// without `=` is the default-key value (at most one), keys must not repeat. As a tolerance,
    /// a value may be double-quoted (`key="a,b"`, backslash escapes) and may be empty (`key=`).
    pub fn parse(input: &str) -> Result<Self, WireValueError> {
        let malformed = |detail: String| WireValueError::BadPropertyString {
            input: input.to_owned(),
            detail,
        };
        let mut parsed = PropertyString::default();
        for part in split_property_entries(input).map_err(malformed)? {
            let part_trimmed = part.trim();
            if part_trimmed.is_empty() {
                continue;
            }
            match part_trimmed.split_once('=') {
                Some((key, raw_value)) => {
                    let key = key.trim();
                    if key.is_empty() {
                        return Err(malformed(format!("entry '{part_trimmed}' has no key")));
                    }
                    let value = unquote(raw_value.trim());
                    if parsed.entries.insert(key.to_owned(), value).is_some() {
                        return Err(malformed(format!("key '{key}' appears twice")));
                    }
                }
                None => {
                    if let Some(first) = &parsed.default_value {
                        return Err(malformed(format!(
                            "two entries without key: '{first}' and '{part_trimmed}'"
                        )));
                    }
                    parsed.default_value = Some(unquote(part_trimmed));
                }
            }
        }
        Ok(parsed)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }
}

/// Splits at commas that are not inside a double-quoted value.
fn split_property_entries(input: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in input.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            ',' if !in_quotes => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if in_quotes {
        return Err("a double quote is not closed".to_owned());
    }
    parts.push(current);
    Ok(parts)
}

/// Removes surrounding double quotes and backslash escapes; other text is returned as is.
fn unquote(text: &str) -> String {
    let Some(inner) = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a property-string field that PVE returns either as text (`keep-daily=7,keep-last=3`)
/// or as a JSON object (`{"keep-daily": 7}`) into one `key → value` map.
///
/// Object values are rendered as text: strings as is, numbers as their JSON text, booleans as
/// `1`/`0` (PVE's spelling), nested arrays/objects as JSON text; `null` members are skipped.
/// `null` → `None`; `""` → `Some(empty map)`. A text entry without `=` is an error, because
/// none of these fields has a default key.
pub fn property_map_from_value(
    value: &Value,
) -> Result<Option<BTreeMap<String, String>>, WireValueError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => {
            let parsed = PropertyString::parse(text)?;
            if let Some(bare) = parsed.default_value {
                return Err(WireValueError::BadPropertyString {
                    input: text.clone(),
                    detail: format!("entry '{bare}' has no '=' (expected key=value)"),
                });
            }
            Ok(Some(parsed.entries))
        }
        Value::Object(members) => {
            let mut out = BTreeMap::new();
            for (key, member) in members {
                let rendered = match member {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                    Value::Number(n) => n.to_string(),
                    Value::Array(_) | Value::Object(_) => member.to_string(),
                };
                out.insert(key.clone(), rendered);
            }
            Ok(Some(out))
        }
        Value::Number(_) | Value::Bool(_) | Value::Array(_) => {
            Err(WireValueError::NotAPropertyString(describe(value)))
        }
    }
}

/// Like [`property_map_from_value`], for a property string whose schema has a `default_key`
/// (`fleecing`: `enabled`): a bare entry (`1,storage=x`) is that key's value, so a string
/// written the short way decodes to the same map as the object form `{"enabled": 1, …}`.
pub fn fleecing_map_from_value(
    value: &Value,
) -> Result<Option<BTreeMap<String, String>>, WireValueError> {
    let Value::String(text) = value else {
        return property_map_from_value(value);
    };
    let parsed = PropertyString::parse(text)?;
    let mut entries = parsed.entries;
    if let Some(bare) = parsed.default_value {
        if entries.contains_key("enabled") {
            return Err(WireValueError::BadPropertyString {
                input: text.clone(),
                detail: format!("entry '{bare}' repeats the key 'enabled'"),
            });
        }
        entries.insert("enabled".to_owned(), bare);
    }
    Ok(Some(entries))
}

/// Reads any scalar as text (for enums that may arrive as numbers, e.g. `compress: 0`).
///
/// Strings as is, numbers as their JSON text, booleans as `1`/`0`. Arrays, objects and `null`
/// are errors (an enum field that is absent is handled by `Option` before this is called).
pub fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if b { "1" } else { "0" }.to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => Err(serde::de::Error::custom(
            WireValueError::NotAStringOrNumber(describe(&value)),
        )),
    }
}

/// Defines one serde `with` module around a `fn(&Value) -> Result<Option<T>, WireValueError>`.
macro_rules! optional_field_module {
    ($(#[$doc:meta])* $module:ident, $target:ty, $convert:path) => {
        $(#[$doc])*
        pub mod $module {
            use super::*;

            /// Deserializes the field; see the module documentation for accepted forms.
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<$target>, D::Error> {
                match read_optional(deserializer)? {
                    None => Ok(None),
                    Some(value) => $convert(&value).map_err(to_de_error),
                }
            }

            /// Serializes the parsed value in its plain JSON form (`null` when `None`).
            pub fn serialize<S: Serializer>(
                value: &Option<$target>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                value.serialize(serializer)
            }
        }
    };
}

optional_field_module!(
    /// `Option<bool>` from `true/false`, `1/0`, `"1"/"0"`, `"true"/"false"`, `"yes"/"no"`,
    /// `"on"/"off"`; `null`, `""` or absent → `None`; any other value is an error naming it.
    opt_bool,
    bool,
    bool_from_value
);
optional_field_module!(
    /// `Option<u64>` from a number or numeric string; `null`, `""` or absent → `None`.
    opt_u64,
    u64,
    u64_from_value
);
optional_field_module!(
    /// `Option<u32>` (VMIDs) from a number or numeric string; `null`, `""` or absent → `None`.
    opt_u32,
    u32,
    u32_from_value
);
optional_field_module!(
    /// `Option<u16>` (ports) from a number or numeric string; `null`, `""` or absent → `None`.
    opt_u16,
    u16,
    u16_from_value
);
optional_field_module!(
    /// `Option<i64>` (epochs, signed counts) from a number or numeric string; `null`, `""` or
    /// absent → `None`.
    opt_i64,
    i64,
    i64_from_value
);
optional_field_module!(
    /// `Option<i64>` for an epoch where `0` means "none": PBS ≥ 4.0.17 lists a group without
    /// snapshots with `last-backup: 0`, which is no backup at all, never one in 1970. `0` or
    /// negative, `null`, `""` or absent → `None`.
    opt_epoch_nonzero,
    i64,
    epoch_nonzero_from_value
);

/// An epoch that may be `0` for "none" (see [`opt_epoch_nonzero`]).
pub fn epoch_nonzero_from_value(value: &Value) -> Result<Option<i64>, WireValueError> {
    Ok(i64_from_value(value)?.filter(|epoch| *epoch > 0))
}
optional_field_module!(
    /// `Option<f64>` from a number or numeric string; `null`, `""` or absent → `None`.
    opt_f64,
    f64,
    f64_from_value
);
optional_field_module!(
    /// `Option<String>` from a string only (a number is a wrong type); `null` or absent → `None`;
    /// `""` stays `Some("")`.
    opt_string,
    String,
    string_from_value
);
optional_field_module!(
    /// `Option<String>` from a string or a number rendered as text, for the documented Perl
    /// scalars that may be either (`encrypted`: fingerprint or `1`); `null` or absent → `None`.
    opt_string_or_number,
    String,
    string_or_number_from_value
);
optional_field_module!(
    /// `Option<Vec<u32>>` from a `pve-vmid-list` string (`"100,101 102;103"`), a JSON array of
    /// numbers/strings, or a single number; `null` or absent → `None`.
    opt_vmid_list,
    Vec<u32>,
    vmid_list_from_value
);
optional_field_module!(
    /// `Option<Vec<String>>` from a `,`/`;`/whitespace separated string (content lists, tags
    /// `a;b`, node lists) or a JSON array; `null` or absent → `None`.
    opt_string_list,
    Vec<String>,
    string_list_from_value
);
optional_field_module!(
    /// `Option<BTreeMap<String, String>>` from a property string `k=v,k=v` or a JSON object
    /// (`prune-backups`, `fleecing`, `performance`); `null` or absent → `None`.
    opt_property_string,
    BTreeMap<String, String>,
    property_map_from_value
);
optional_field_module!(
    /// `fleecing` of a backup job: an object (`{"enabled": 1, "storage": "x"}`) or a property
    /// string whose bare entry is `enabled` (`1,storage=x`); `null` or absent → `None`.
    opt_fleecing,
    BTreeMap<String, String>,
    fleecing_map_from_value
);

/// A required string field (`id`, `backup-id`, log text); a number or `null` is an error.
pub mod string {
    use super::*;

    /// Deserializes a string; any other JSON type, `null` included, is an error naming it.
    ///
    /// Read with a visitor, not through a [`Value`]: task-log lines (millions of them on a large
    /// cluster's first run) use it, and a `Value` per line cost a second allocation and copy.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(StringVisitor)
    }

    /// Accepts a JSON string; every other type becomes the same error [`string_from_value`]
    /// gives, so a wrong type reads the same whichever way the field was decoded.
    struct StringVisitor;

    impl StringVisitor {
        fn wrong<E: serde::de::Error>(value: Value) -> E {
            match string_from_value(&value) {
                Err(err) => to_de_error(err),
                Ok(_) => E::custom("expected a string, got null"),
            }
        }
    }

    impl<'de> serde::de::Visitor<'de> for StringVisitor {
        type Value = String;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, text: String) -> Result<String, E> {
            Ok(text)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
            Err(E::custom("expected a string, got null"))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
            self.visit_unit()
        }
        fn visit_bool<E: serde::de::Error>(self, flag: bool) -> Result<String, E> {
            Err(Self::wrong(Value::Bool(flag)))
        }
        fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<String, E> {
            Err(Self::wrong(Value::from(number)))
        }
        fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<String, E> {
            Err(Self::wrong(Value::from(number)))
        }
        fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<String, E> {
            Err(Self::wrong(Value::from(number)))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
            let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
            Err(Self::wrong(value))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
            let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            Err(Self::wrong(value))
        }
    }

    /// Serializes as a JSON string.
    pub fn serialize<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }
}

/// Defines a required numeric `with` module on top of the optional converter.
macro_rules! required_field_module {
    ($(#[$doc:meta])* $module:ident, $target:ty, $convert:path) => {
        $(#[$doc])*
        pub mod $module {
            use super::*;

            /// Deserializes the field; `null` or `""` is an error because the field is required.
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$target, D::Error> {
                let value = Value::deserialize(deserializer)?;
                match $convert(&value).map_err(to_de_error)? {
                    Some(parsed) => Ok(parsed),
                    None => Err(serde::de::Error::custom(format!(
                        "expected a number, got {}",
                        describe(&value)
                    ))),
                }
            }

            /// Serializes as a JSON number.
            pub fn serialize<S: Serializer>(
                value: &$target,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                value.serialize(serializer)
            }
        }
    };
}

required_field_module!(
    /// A required `u64` from a number or numeric string.
    req_u64,
    u64,
    u64_from_value
);
required_field_module!(
    /// A required `u32` (VMID) from a number or numeric string.
    req_u32,
    u32,
    u32_from_value
);
required_field_module!(
    /// A required `i64` (epoch) from a number or numeric string.
    req_i64,
    i64,
    i64_from_value
);

/// Defines a string-valued enum coming from the server with a catch-all `Other(String)` variant,
/// so that a value added by a newer server version never breaks parsing.
///
/// Generates `as_str`, `from_wire`, `Display`, `Deserialize` (accepting numbers as text, see
/// [`scalar_text`]) and `Serialize` (the server's spelling).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the tool does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as the server spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Other(text) => text.as_str(),
                }
            }

            /// Maps the server's spelling to a variant; unknown text becomes `Other`.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = crate::api::de::scalar_text(deserializer)?;
                Ok(Self::from_wire(&text))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        #[serde(default, with = "opt_bool")]
        flag: Option<bool>,
        #[serde(default, with = "opt_u64")]
        count: Option<u64>,
        #[serde(default, with = "opt_i64")]
        epoch: Option<i64>,
        #[serde(default, with = "opt_f64")]
        ratio: Option<f64>,
        #[serde(default, with = "opt_u32")]
        vmid: Option<u32>,
        #[serde(default, with = "opt_u16")]
        port: Option<u16>,
        #[serde(default, with = "opt_string")]
        id: Option<String>,
        #[serde(default, with = "opt_string_or_number")]
        encrypted: Option<String>,
        #[serde(default, with = "opt_vmid_list")]
        vmids: Option<Vec<u32>>,
        #[serde(default, with = "opt_string_list")]
        list: Option<Vec<String>>,
        #[serde(default, with = "opt_property_string")]
        props: Option<BTreeMap<String, String>>,
    }

    fn probe(value: Value) -> Result<Probe, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn opt_bool_accepts_every_documented_spelling() {
        let cases = [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!(1.0), Some(true)),
            (json!("1"), Some(true)),
            (json!("0"), Some(false)),
            (json!("true"), Some(true)),
            (json!("false"), Some(false)),
            (json!("TRUE"), Some(true)),
            (json!("yes"), Some(true)),
            (json!("no"), Some(false)),
            (json!("on"), Some(true)),
            (json!("off"), Some(false)),
            (json!(" On "), Some(true)),
            (json!(""), None),
            (json!(null), None),
        ];
        for (input, expected) in cases {
            let parsed = probe(json!({ "flag": input.clone() })).unwrap();
            assert_eq!(parsed.flag, expected, "input {input}");
        }
        assert_eq!(probe(json!({})).unwrap().flag, None);
    }

    #[test]
    fn opt_bool_rejects_unknown_values_naming_them() {
        for bad in [
            json!("maybe"),
            json!(2),
            json!(-1),
            json!([1]),
            json!({"a": 1}),
        ] {
            let err = probe(json!({ "flag": bad.clone() }))
                .unwrap_err()
                .to_string();
            assert!(err.contains("expected a boolean"), "{err}");
            assert!(err.contains(&bad.to_string()), "{err} should name {bad}");
        }
    }

    #[test]
    fn opt_u64_accepts_numbers_and_numeric_strings() {
        let cases = [
            (json!(42), Some(42)),
            (json!("42"), Some(42)),
            (json!(" 42 "), Some(42)),
            (json!(34359738368u64), Some(34_359_738_368)),
            (json!("18446744073709551615"), Some(u64::MAX)),
            (json!(12.9), Some(12)),
            (json!("1e3"), Some(1000)),
            (json!(""), None),
            (json!(null), None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                probe(json!({ "count": input.clone() })).unwrap().count,
                expected,
                "input {input}"
            );
        }
        assert_eq!(probe(json!({})).unwrap().count, None);
    }

    #[test]
    fn opt_u64_rejects_bad_values() {
        let err = probe(json!({"count": -1})).unwrap_err().to_string();
        assert!(err.contains("out of range for u64"), "{err}");
        let err = probe(json!({"count": "abc"})).unwrap_err().to_string();
        assert!(err.contains("\"abc\""), "{err}");
        let err = probe(json!({"count": true})).unwrap_err().to_string();
        assert!(err.contains("expected a number"), "{err}");
        let err = probe(json!({"count": "1e400"})).unwrap_err().to_string();
        assert!(err.contains("expected a number"), "{err}");
    }

    #[test]
    fn opt_i64_accepts_negative_and_string_forms() {
        assert_eq!(
            probe(json!({"epoch": -1})).unwrap().epoch,
            Some(-1),
            "PBS ≤ 2.1 error entries use -1"
        );
        assert_eq!(
            probe(json!({"epoch": "1716560564"})).unwrap().epoch,
            Some(1_716_560_564)
        );
        assert_eq!(probe(json!({"epoch": "-5"})).unwrap().epoch, Some(-5));
        assert_eq!(probe(json!({"epoch": null})).unwrap().epoch, None);
        let err = probe(json!({"epoch": "9223372036854775808"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of range for i64"), "{err}");
        let err = probe(json!({"epoch": "soon"})).unwrap_err().to_string();
        assert!(err.contains("\"soon\""), "{err}");
    }

    #[test]
    fn opt_f64_accepts_numbers_and_strings() {
        assert_eq!(probe(json!({"ratio": 0.01})).unwrap().ratio, Some(0.01));
        assert_eq!(probe(json!({"ratio": "0.25"})).unwrap().ratio, Some(0.25));
        assert_eq!(probe(json!({"ratio": 2})).unwrap().ratio, Some(2.0));
        assert_eq!(probe(json!({"ratio": ""})).unwrap().ratio, None);
        assert!(probe(json!({"ratio": "NaN"})).is_err());
        assert!(probe(json!({"ratio": [0.5]})).is_err());
    }

    #[test]
    fn narrow_integers_check_their_range() {
        assert_eq!(probe(json!({"vmid": "100"})).unwrap().vmid, Some(100));
        let err = probe(json!({"vmid": 4_294_967_296u64}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of range for u32"), "{err}");
        assert_eq!(probe(json!({"port": "8007"})).unwrap().port, Some(8007));
        let err = probe(json!({"port": 70000})).unwrap_err().to_string();
        assert!(err.contains("out of range for u16"), "{err}");
    }

    #[test]
    fn opt_string_accepts_strings_only() {
        assert_eq!(
            probe(json!({"id": "qemu/100"})).unwrap().id.as_deref(),
            Some("qemu/100")
        );
        assert_eq!(probe(json!({"id": ""})).unwrap().id.as_deref(), Some(""));
        assert_eq!(probe(json!({"id": null})).unwrap().id, None);
        assert_eq!(probe(json!({})).unwrap().id, None);
        for bad in [
            json!(100),
            json!(1.5),
            json!(true),
            json!(["a"]),
            json!({"a": 1}),
        ] {
            let err = probe(json!({ "id": bad.clone() })).unwrap_err().to_string();
            assert!(err.contains("expected a string, got"), "{err}");
            assert!(err.contains(&bad.to_string()), "{err} should name {bad}");
        }
    }

    #[test]
    fn a_required_string_is_read_from_text_and_names_any_other_type() {
        #[derive(Debug, Deserialize)]
        struct Line {
            #[serde(with = "string")]
            t: String,
        }
        // From text, as answers are decoded: borrowed, escaped and non-ASCII strings alike.
        let read = |text: &str| serde_json::from_str::<Line>(text).map(|line| line.t);
        assert_eq!(read(r#"{"t": "INFO: plain"}"#).unwrap(), "INFO: plain");
        assert_eq!(read(r#"{"t": "a \"b\"\n\u00e9"}"#).unwrap(), "a \"b\"\né");
        assert_eq!(read(r#"{"t": ""}"#).unwrap(), "");
        assert!(read(r#"{"t": null}"#)
            .unwrap_err()
            .to_string()
            .contains("expected a string, got null"));
        assert!(read("{}").is_err());
        for bad in ["100", "-3", "1.5", "true", r#"["a",1]"#, r#"{"a":1}"#] {
            let err = read(&format!(r#"{{"t": {bad}}}"#)).unwrap_err().to_string();
            let named = serde_json::from_str::<Value>(bad).unwrap().to_string();
            assert!(
                err.contains(&format!("expected a string, got {named}")),
                "{err}"
            );
        }
    }

    #[test]
    fn opt_string_or_number_keeps_the_documented_perl_scalar() {
        let encrypted = |v: Value| probe(json!({ "encrypted": v }));
        assert_eq!(encrypted(json!(1)).unwrap().encrypted.as_deref(), Some("1"));
        assert_eq!(
            encrypted(json!("ab:cd")).unwrap().encrypted.as_deref(),
            Some("ab:cd")
        );
        assert_eq!(encrypted(json!(null)).unwrap().encrypted, None);
        let err = encrypted(json!(true)).unwrap_err().to_string();
        assert!(
            err.contains("expected a string or a number, got true"),
            "{err}"
        );
        assert!(encrypted(json!([1])).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    struct Row {
        #[serde(with = "string")]
        backup_id: String,
        #[serde(with = "req_i64")]
        backup_time: i64,
        #[serde(default, with = "opt_bool")]
        protected: Option<bool>,
    }

    #[test]
    fn lenient_list_keeps_good_items_and_quotes_bad_ones() {
        let body = json!([
            {"backup-id": "100", "backup-time": 1},
            {"backup-id": 101, "backup-time": 2},
            {"backup-id": "102", "backup-time": "3", "protected": "garbled"},
            {"backup-time": 4},
            "not an object",
            {"backup-id": "105", "backup-time": 5, "protected": 1},
        ])
        .to_string();
        let list: LenientList<Row> = serde_json::from_str(&body).unwrap();
        let ids: Vec<&str> = list.items.iter().map(|r| r.backup_id.as_str()).collect();
        assert_eq!(ids, ["100", "105"]);
        assert_eq!(list.items[1].protected, Some(true));
        assert_eq!(list.bad_count, 4);
        assert_eq!(list.sent(), 6);
        assert_eq!(list.bad.len(), QUOTED_BAD_ITEMS);
        assert_eq!(list.bad[0].index, 1);
        assert!(
            list.bad[0].error.contains("expected a string, got 101")
                && list.bad[0].error.ends_with("at field `backup-id`"),
            "{}",
            list.bad[0]
        );
        assert!(
            list.bad[1].error.contains("\"garbled\"")
                && list.bad[1].error.ends_with("at field `protected`"),
            "{}",
            list.bad[1]
        );
        assert_eq!(list.bad[2].index, 3);
        assert!(
            list.bad[2].error.contains("missing field `backup-id`"),
            "{}",
            list.bad[2]
        );
        let text = list.describe_bad();
        assert!(text.starts_with("item 1: "), "{text}");
        assert!(text.ends_with("; and 1 more"), "{text}");
    }

    #[test]
    fn an_item_that_fits_only_as_a_tree_is_kept_as_before() {
        // A repeated member: the direct decoding refuses it ("duplicate field"), the tree keeps
        // the last value, as lists were read before items were decoded from their text.
        let body = r#"[{"backup-id": "1", "backup-id": "2", "backup-time": 1}, {"x": 1}]"#;
        let list: LenientList<Row> = serde_json::from_str(body).unwrap();
        let ids: Vec<&str> = list.items.iter().map(|r| r.backup_id.as_str()).collect();
        assert_eq!(ids, ["2"]);
        assert_eq!((list.bad_count, list.bad[0].index), (1, 1));
    }

    #[test]
    fn pages_of_a_lenient_list_number_bad_items_in_the_whole_list() {
        let page = |rows: Value| serde_json::from_value::<LenientList<Row>>(rows).unwrap();
        let mut list = page(json!([{"backup-id": "1", "backup-time": 1}, {"x": 1}]));
        list.append(page(json!([
            {"y": 1},
            {"backup-id": "4", "backup-time": 4},
            {"z": 1},
            {"w": 1},
        ])));
        assert_eq!(list.items.len(), 2);
        assert_eq!((list.sent(), list.bad_count), (6, 4));
        let indices: Vec<usize> = list.bad.iter().map(|b| b.index).collect();
        assert_eq!(indices, [1, 2, 4]);
        assert!(list.describe_bad().ends_with("; and 1 more"));
    }

    #[test]
    fn a_mapped_list_keeps_what_the_map_returns_sized_exactly() {
        use serde::de::DeserializeSeed;
        // More rows than one block, so the blocks are joined; every third is dropped by the map,
        // one row is malformed and is noted as the plain list notes it.
        let mut rows: Vec<Value> = (0..(ITEMS_PER_BLOCK as i64 + 10))
            .map(|i| json!({"backup-id": i.to_string(), "backup-time": i}))
            .collect();
        rows[7] = json!({"backup-time": 7});
        let body = Value::Array(rows).to_string();
        let seed =
            MappedList::new(|row: Row| (row.backup_time % 3 != 0).then_some(row.backup_time));
        let mut deserializer = serde_json::Deserializer::from_reader(body.as_bytes());
        let list = seed.deserialize(&mut deserializer).unwrap();
        let expected: Vec<i64> = (0..(ITEMS_PER_BLOCK as i64 + 10))
            .filter(|t| t % 3 != 0 && *t != 7)
            .collect();
        assert_eq!(list.items, expected);
        assert_eq!(list.items.capacity(), list.items.len());
        assert_eq!((list.bad_count, list.bad[0].index), (1, 7));
        assert!(
            list.bad[0].error.contains("missing field `backup-id`"),
            "{}",
            list.bad[0]
        );
    }

    #[test]
    fn lenient_list_decodes_from_a_value_too_and_rejects_non_lists() {
        let list: LenientList<Row> =
            serde_json::from_value(json!([{"backup-id": "1", "backup-time": 1}, {"x": 1}]))
                .unwrap();
        assert_eq!((list.items.len(), list.bad_count), (1, 1));
        let list: LenientList<Row> = serde_json::from_str("[]").unwrap();
        assert_eq!(
            (
                list.items.len(),
                list.bad_count,
                list.describe_bad().as_str()
            ),
            (0, 0, "")
        );
        let err = serde_json::from_str::<LenientList<Row>>(r#"{"a": 1}"#).unwrap_err();
        assert!(err.to_string().contains("expected a sequence"), "{err}");
        assert!(serde_json::from_str::<LenientList<Row>>("[{\"backup-id\": ").is_err());
    }

    #[test]
    fn opt_vmid_list_accepts_all_separators_and_shapes() {
        let cases = [
            (json!("100,101 102;103"), vec![100, 101, 102, 103]),
            (json!("100, 101"), vec![100, 101]),
            (json!("100\u{0}101"), vec![100, 101]),
            (json!("0100"), vec![100]),
            (json!(100), vec![100]),
            (json!([100, "101", "102,103"]), vec![100, 101, 102, 103]),
            (json!(""), vec![]),
        ];
        for (input, expected) in cases {
            assert_eq!(
                probe(json!({ "vmids": input.clone() })).unwrap().vmids,
                Some(expected),
                "input {input}"
            );
        }
        assert_eq!(probe(json!({"vmids": null})).unwrap().vmids, None);
        assert_eq!(probe(json!({})).unwrap().vmids, None);
    }

    #[test]
    fn opt_vmid_list_rejects_non_vmids() {
        let err = probe(json!({"vmids": "100,abc"})).unwrap_err().to_string();
        assert!(err.contains("'abc' in a VMID list is not a VMID"), "{err}");
        let err = probe(json!({"vmids": "-5"})).unwrap_err().to_string();
        assert!(err.contains("'-5'"), "{err}");
        assert!(probe(json!({"vmids": [true]})).is_err());
        assert!(probe(json!({"vmids": {"a": 1}})).is_err());
    }

    #[test]
    fn opt_string_list_splits_strings_and_keeps_array_items() {
        let cases = [
            (json!("backup,images"), vec!["backup", "images"]),
            (json!("critical;web"), vec!["critical", "web"]),
            (json!("pve1 pve2"), vec!["pve1", "pve2"]),
            (json!(["a b", " c ", ""]), vec!["a b", "c"]),
            (json!([1, "x"]), vec!["1", "x"]),
            (json!(""), vec![]),
        ];
        for (input, expected) in cases {
            let expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
            assert_eq!(
                probe(json!({ "list": input.clone() })).unwrap().list,
                Some(expected),
                "input {input}"
            );
        }
        assert_eq!(probe(json!({"list": null})).unwrap().list, None);
        assert!(probe(json!({"list": {"a": 1}})).is_err());
        assert!(probe(json!({"list": true})).is_err());
    }

    #[test]
    fn opt_property_string_accepts_text_and_object() {
        let from_text = probe(json!({"props": "keep-daily=7,keep-last=3"}))
            .unwrap()
            .props
            .unwrap();
        let from_object = probe(json!({"props": {"keep-daily": 7, "keep-last": "3"}}))
            .unwrap()
            .props
            .unwrap();
        assert_eq!(from_text, from_object);
        assert_eq!(from_text.get("keep-daily").map(String::as_str), Some("7"));

        let fleecing =
            probe(json!({"props": {"enabled": true, "storage": "local-lvm", "x": null}}))
                .unwrap()
                .props
                .unwrap();
        assert_eq!(fleecing.get("enabled").map(String::as_str), Some("1"));
        assert_eq!(
            fleecing.get("storage").map(String::as_str),
            Some("local-lvm")
        );
        assert!(!fleecing.contains_key("x"));

        assert_eq!(
            probe(json!({"props": ""})).unwrap().props,
            Some(BTreeMap::new())
        );
        assert_eq!(probe(json!({"props": null})).unwrap().props, None);
    }

    #[test]
    fn opt_property_string_rejects_malformed_input() {
        let err = probe(json!({"props": "keep-daily"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 'keep-daily' has no '='"), "{err}");
        let err = probe(json!({"props": "a=1,a=2"})).unwrap_err().to_string();
        assert!(err.contains("key 'a' appears twice"), "{err}");
        let err = probe(json!({"props": "=1"})).unwrap_err().to_string();
        assert!(err.contains("has no key"), "{err}");
        let err = probe(json!({"props": 5})).unwrap_err().to_string();
        assert!(err.contains("expected a property string"), "{err}");
    }

    #[test]
    fn property_string_parses_default_key_and_quotes() {
        let disk = PropertyString::parse("local-lvm:vm-100-disk-0,backup=0,size=32G").unwrap();
        assert_eq!(
            disk.default_value.as_deref(),
            Some("local-lvm:vm-100-disk-0")
        );
        assert_eq!(disk.get("backup"), Some("0"));
        assert_eq!(disk.get("size"), Some("32G"));

        let quoted = PropertyString::parse(r#"a="x,y",b="q\"z",c="#).unwrap();
        assert_eq!(quoted.get("a"), Some("x,y"));
        assert_eq!(quoted.get("b"), Some("q\"z"));
        assert_eq!(quoted.get("c"), Some(""));

        let err = PropertyString::parse("vol1,vol2").unwrap_err().to_string();
        assert!(err.contains("two entries without key"), "{err}");
        let err = PropertyString::parse(r#"a="open"#).unwrap_err().to_string();
        assert!(err.contains("not closed"), "{err}");
        assert_eq!(
            PropertyString::parse("").unwrap(),
            PropertyString::default()
        );
    }

    #[test]
    fn required_helpers_reject_null() {
        #[derive(Debug, Deserialize)]
        struct Required {
            #[serde(with = "string")]
            id: String,
            #[serde(with = "req_u64")]
            n: u64,
            #[serde(with = "req_i64")]
            t: i64,
            #[serde(with = "req_u32")]
            vmid: u32,
        }
        let ok: Required =
            serde_json::from_value(json!({"id": "5", "n": "6", "t": "-7", "vmid": "100"})).unwrap();
        assert_eq!((ok.id.as_str(), ok.n, ok.t, ok.vmid), ("5", 6, -7, 100));
        let err =
            serde_json::from_value::<Required>(json!({"id": null, "n": 1, "t": 1, "vmid": 1}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("got null"), "{err}");
        let err =
            serde_json::from_value::<Required>(json!({"id": "a", "n": "", "t": 1, "vmid": 1}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("expected a number"), "{err}");
    }

    wire_enum! {
        /// Test enum.
        enum Colour {
            /// Red.
            Red => "red",
            /// Zero.
            Zero => "0",
        }
    }

    #[test]
    fn wire_enum_keeps_unknown_values_and_accepts_numbers() {
        let parsed: Vec<Colour> = serde_json::from_value(json!(["red", "blue", 0, "0"])).unwrap();
        assert_eq!(
            parsed,
            vec![
                Colour::Red,
                Colour::Other("blue".to_owned()),
                Colour::Zero,
                Colour::Zero
            ]
        );
        assert_eq!(Colour::Other("blue".to_owned()).to_string(), "blue");
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!(["red", "blue", "0", "0"])
        );
        assert!(serde_json::from_value::<Colour>(json!(null)).is_err());
    }

    #[test]
    fn helpers_round_trip_through_serialize() {
        #[derive(Debug, Deserialize, Serialize, PartialEq)]
        struct Both {
            #[serde(default, with = "opt_bool")]
            flag: Option<bool>,
            #[serde(default, with = "opt_vmid_list")]
            vmids: Option<Vec<u32>>,
        }
        let parsed: Both = serde_json::from_value(json!({"flag": "1", "vmids": "1,2"})).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!({"flag": true, "vmids": [1, 2]})
        );
    }
}
