//! Names generated from a `name_prefix` (`bucket_prefix`, `key_name_prefix`), spelled as
//! the AWS provider spells them, so that the prefix reads back from the name
//! (`values::name_prefix_from_name`) as the provider's read finds it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The length of the generated suffix: an 18-digit UTC time (seconds and 1/10000 s) and
/// an 8-digit hexadecimal counter.
pub const UNIQUE_SUFFIX_LEN: usize = 26;

static COUNTER: AtomicU32 = AtomicU32::new(1);

/// `prefix` followed by the time and a per-process counter (`terraform-` when no prefix).
pub fn prefixed_unique_name(prefix: Option<&str>) -> String {
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    unique_name_at(prefix, SystemTime::now(), counter)
}

/// The same shape for a given moment and counter: a name made again from the same two
/// (a create retried under its intent) is the same name.
pub fn unique_name_at(prefix: Option<&str>, at: SystemTime, counter: u32) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (y, mo, d) = civil_date(secs / 86_400);
    let of_day = secs % 86_400;
    let ten_thousandths = since_epoch.subsec_micros() / 100;
    format!(
        "{}{y:04}{mo:02}{d:02}{:02}{:02}{:02}{ten_thousandths:04}{counter:08x}",
        prefix.unwrap_or("terraform-"),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Howard Hinnant's days-to-civil algorithm, shifted so the era starts on 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_carry_their_prefix_back() {
        let name = prefixed_unique_name(Some("cb-"));
        assert_eq!(name.len(), 3 + UNIQUE_SUFFIX_LEN);
        assert_eq!(crate::values::name_prefix_from_name(&name, ""), "cb-");
        assert!(prefixed_unique_name(None).starts_with("terraform-20"));
        assert_ne!(prefixed_unique_name(None), prefixed_unique_name(None));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        // 2026-12-06
        assert_eq!(civil_date(20_793), (2026, 12, 6));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
    }
}
