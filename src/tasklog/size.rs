//! Human-readable sizes as printed by vzdump, qemu-server and proxmox-backup-client.
//!
//! All units are 1024-based: vzdump's `archive file size: 1.23GB` (`KB`/`MB`/`GB`/`TB`, no space),
//! the old `transferred <n> MB` line, and the binary `B`/`KiB`/…/`PiB` units with decimals.
//! Decimal arithmetic is done in integers so `1.20 GiB` is exact to the byte after rounding.

/// Parse `<number>[ ]<unit>` into bytes; `None` for anything that is not clearly a size.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let multiplier = unit_multiplier(unit)?;
    scale_decimal(number, multiplier)
}

fn unit_multiplier(unit: &str) -> Option<u128> {
    let exponent = match unit {
        "B" | "" => 0,
        "K" | "KB" | "KiB" => 1,
        "M" | "MB" | "MiB" => 2,
        "G" | "GB" | "GiB" => 3,
        "T" | "TB" | "TiB" => 4,
        "P" | "PB" | "PiB" => 5,
        _ => return None,
    };
    Some(1024u128.pow(exponent))
}

/// `number` × `multiplier`, rounded half up to whole bytes; `number` is `digits[.digits]`.
fn scale_decimal(number: &str, multiplier: u128) -> Option<u64> {
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
        || (number.contains('.') && frac_part.is_empty())
        || int_part.len() > 20
        || frac_part.len() > 12
    {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(frac_part.len()).ok()?);
    let int_value: u128 = int_part.parse().ok()?;
    let frac_value: u128 = if frac_part.is_empty() {
        0
    } else {
        frac_part.parse().ok()?
    };
    let mantissa = int_value.checked_mul(scale)?.checked_add(frac_value)?;
    let scaled = mantissa.checked_mul(multiplier)?;
    let bytes = scaled.checked_add(scale / 2)? / scale;
    u64::try_from(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn vzdump_archive_sizes_without_space() {
        assert_eq!(parse_size("512KB"), Some(512 * 1024));
        assert_eq!(parse_size("700MB"), Some(700 * 1024 * 1024));
        assert_eq!(parse_size("1.23GB"), Some(1_320_702_444));
        assert_eq!(parse_size("2.50TB"), Some(2_748_779_069_440));
    }

    #[test]
    fn binary_units_with_decimals_and_space() {
        assert_eq!(parse_size("1.20 GiB"), Some(1_288_490_189));
        assert_eq!(parse_size("288.0 MiB"), Some(301_989_888));
        assert_eq!(parse_size("0 B"), Some(0));
        assert_eq!(parse_size("18.95 GiB"), Some(20_347_407_565));
        assert_eq!(parse_size("1.5 PiB"), Some(1_688_849_860_263_936));
        assert_eq!(parse_size("100 KiB"), Some(102_400));
        assert_eq!(parse_size("1234 MB"), Some(1234 * 1024 * 1024));
        assert_eq!(parse_size("4096"), Some(4096));
    }

    #[test]
    fn garbage_is_none() {
        for garbage in [
            "",
            "GB",
            "1.2.3GB",
            "1.GB",
            ".5GB",
            "-1GB",
            "12 XB",
            "1,5 GiB",
            "12  GiB",
            "abc",
            "1e9 B",
            "99999999999999999999 PiB",
        ] {
            assert_eq!(parse_size(garbage), None, "{garbage:?}");
        }
    }
}
