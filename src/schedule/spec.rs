//! The parsed form of a calendar event: one value list per date/time field plus a weekday set,
//! with the membership and "next/previous allowed value" queries the search algorithms need.

/// One item of a field list, mirroring proxmox-time's `DateTimeValue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldValue {
    /// `N`
    Single(u32),
    /// `N..M` (inclusive)
    Range(u32, u32),
    /// `N/R`, `N..M/R` and `*/R` (start, step, optional inclusive end). A step of 0 means just `start`.
    Repeated(u32, u32, Option<u32>),
}

impl FieldValue {
    /// Whether `value` is one of the values this item stands for.
    pub(crate) fn contains(&self, value: u32) -> bool {
        match *self {
            FieldValue::Single(v) => v == value,
            FieldValue::Range(start, end) => value >= start && value <= end,
            FieldValue::Repeated(start, step, end) => {
                if value < start {
                    return false;
                }
                // A step of 0 stands for `start` alone.
                let on_step = (value - start)
                    .checked_rem(step)
                    .map_or(value == start, |rest| rest == 0);
                on_step && end.is_none_or(|end| value <= end)
            }
        }
    }

    /// The smallest value of this item strictly greater than `value`, computed exactly like
    /// proxmox-time's `find_next`: it is not capped at the field's maximum, so a step that does not
    /// divide the field size can return e.g. minute 63, which the caller then normalizes into the
    /// next hour (proxmox-time behaves the same way, see the module docs).
    fn next_after(&self, value: u32) -> Option<u32> {
        match *self {
            FieldValue::Single(v) => (v > value).then_some(v),
            FieldValue::Range(start, end) => {
                if value < start {
                    Some(start)
                } else {
                    let candidate = value.checked_add(1)?;
                    (candidate >= start && candidate <= end).then_some(candidate)
                }
            }
            FieldValue::Repeated(start, step, end) => {
                if value < start {
                    Some(start)
                } else {
                    let steps = (value - start).checked_add(step)?.checked_div(step)?;
                    let candidate = start.checked_add(steps.checked_mul(step)?)?;
                    match end {
                        Some(end) if candidate > end => None,
                        _ => Some(candidate),
                    }
                }
            }
        }
    }

    /// The largest value of this item that is `<= value` and `>= floor` (exact, no overflow quirks).
    fn last_at_or_before(&self, value: u32, floor: u32) -> Option<u32> {
        let candidate = match *self {
            FieldValue::Single(v) => (v <= value).then_some(v),
            FieldValue::Range(start, end) => {
                let top = end.min(value);
                (top >= start).then_some(top)
            }
            FieldValue::Repeated(start, step, end) => {
                let top = end.map_or(value, |end| end.min(value));
                if top < start {
                    None
                } else {
                    let steps = (top - start).checked_div(step).unwrap_or(0);
                    Some(start + steps * step)
                }
            }
        }?;
        (candidate >= floor).then_some(candidate)
    }
}

/// A field constraint: an empty list means "any value".
pub(crate) type FieldList = Vec<FieldValue>;

/// Whether `value` satisfies the field constraint (an empty list accepts everything).
pub(crate) fn list_matches(list: &[FieldValue], value: u32) -> bool {
    list.is_empty() || list.iter().any(|item| item.contains(value))
}

/// proxmox-time's `DateTimeValue::find_next` over a whole list.
pub(crate) fn list_next_after(list: &[FieldValue], value: u32) -> Option<u32> {
    list.iter().filter_map(|item| item.next_after(value)).min()
}

/// The largest allowed value in `floor..=value`, if any.
pub(crate) fn list_last_at_or_before(list: &[FieldValue], value: u32, floor: u32) -> Option<u32> {
    list.iter()
        .filter_map(|item| item.last_at_or_before(value, floor))
        .max()
}

/// Weekday bit for Monday; Tuesday is `1 << 1` … Sunday `1 << 6` (proxmox-time's `WeekDays`).
pub(crate) const ALL_WEEKDAYS: u8 = 0b111_1111;

/// The whole constraint set of one calendar event. All constraints must hold at the same time.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Spec {
    /// Evaluate in UTC instead of the caller's time zone (`UTC` suffix).
    pub(crate) utc: bool,
    /// Allowed weekdays as bits, Monday = bit 0 … Sunday = bit 6; 0 = no weekday constraint.
    pub(crate) weekdays: u8,
    pub(crate) year: FieldList,
    pub(crate) month: FieldList,
    pub(crate) day: FieldList,
    pub(crate) hour: FieldList,
    pub(crate) minute: FieldList,
    pub(crate) second: FieldList,
}

impl Spec {
    /// True when the event does not restrict the weekday (none given, or all seven).
    pub(crate) fn all_weekdays(&self) -> bool {
        self.weekdays == 0 || self.weekdays & ALL_WEEKDAYS == ALL_WEEKDAYS
    }

    /// Whether weekday number `day_num` (Monday = 0 … Sunday = 6) is allowed.
    pub(crate) fn weekday_allowed(&self, day_num: u32) -> bool {
        self.all_weekdays() || (day_num < 7 && self.weekdays & (1 << day_num) != 0)
    }
}
