//! Time as the time provider computes it: the clock (a function, so tests fix it),
//! RFC 3339 read and written as Go writes it (whole seconds, "Z" for UTC, else the
//! offset), calendar arithmetic as Go's `AddDate` (overflowing days and months roll
//! into the next month and year: January 31 plus one month is March 2 or 3), and the
//! durations `time_sleep` takes.

use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, TimeDelta, Timelike, Utc};
use forge_provider::{ProviderError, Value};

/// Where "now" comes from.
pub type Clock = fn() -> DateTime<Utc>;

/// The system clock.
pub fn system_clock() -> DateTime<Utc> {
    Utc::now()
}

/// A timestamp in RFC 3339; the error names the attribute.
pub(crate) fn parse_rfc3339(what: &str, s: &str) -> Result<DateTime<FixedOffset>, ProviderError> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        ProviderError::new(format!("{what} {s:?} is not an RFC 3339 timestamp: {e}"))
            .hint("write it as YYYY-MM-DDTHH:MM:SSZ (or with an offset, +02:00)")
    })
}

/// Go's RFC 3339 text of a time: whole seconds, "Z" when the offset is zero.
pub(crate) fn format_rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The current time as the provider takes it (UTC).
pub(crate) fn now(clock: Clock) -> DateTime<FixedOffset> {
    clock().fixed_offset()
}

/// Go's `t.AddDate(years, months, days)`: the fields added, then normalised, in the
/// time's own offset. `None` past the calendar's range.
pub(crate) fn add_date(
    t: &DateTime<FixedOffset>,
    years: i64,
    months: i64,
    days: i64,
) -> Option<DateTime<FixedOffset>> {
    let local = t.naive_local();
    let month0 = i64::from(local.month0()) + months;
    let year = i64::from(local.year()) + years + month0.div_euclid(12);
    let month = month0.rem_euclid(12) as u32 + 1;
    let first = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, 1)?;
    let date = first.checked_add_signed(TimeDelta::try_days(i64::from(local.day()) - 1 + days)?)?;
    let naive = date.and_hms_nano_opt(
        local.hour(),
        local.minute(),
        local.second(),
        local.nanosecond(),
    )?;
    naive.and_local_timezone(*t.offset()).single()
}

/// A fixed span added (Go's `t.Add`).
pub(crate) fn add_seconds(
    t: &DateTime<FixedOffset>,
    seconds: i64,
) -> Option<DateTime<FixedOffset>> {
    t.checked_add_signed(TimeDelta::try_seconds(seconds)?)
}

/// The calendar fields the time resources record, of `t` in its own offset.
pub(crate) fn fields(t: &DateTime<FixedOffset>) -> [(&'static str, Value); 7] {
    let n = |x: i64| Value::Number(x as f64);
    [
        ("year", n(i64::from(t.year()))),
        ("month", n(i64::from(t.month()))),
        ("day", n(i64::from(t.day()))),
        ("hour", n(i64::from(t.hour()))),
        ("minute", n(i64::from(t.minute()))),
        ("second", n(i64::from(t.second()))),
        ("unix", n(t.timestamp())),
    ]
}

/// `time_sleep`'s durations: a number, optionally with a fraction, then ms, s, m or h.
pub(crate) fn parse_duration(what: &str, s: &str) -> Result<Duration, ProviderError> {
    let bad = || {
        ProviderError::new(format!(
            "{what} {s:?} must be a number immediately followed by ms (milliseconds), s (seconds), m (minutes), or h (hours)"
        ))
        .hint("for example \"30s\" for 30 seconds")
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let valid_number = match number.split_once('.') {
        None => !number.is_empty(),
        Some((whole, frac)) => !whole.is_empty() && !frac.is_empty() && !frac.contains('.'),
    };
    if !valid_number {
        return Err(bad());
    }
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339")
    }

    #[test]
    fn add_date_normalises_as_go_does() {
        let jan31 = t("2023-01-31T10:00:00Z");
        assert_eq!(
            format_rfc3339(&add_date(&jan31, 0, 1, 0).expect("date")),
            "2023-03-03T10:00:00Z"
        );
        let leap = t("2024-01-31T10:00:00Z");
        assert_eq!(
            format_rfc3339(&add_date(&leap, 0, 1, 0).expect("date")),
            "2024-03-02T10:00:00Z"
        );
        assert_eq!(
            format_rfc3339(&add_date(&leap, 1, 0, 0).expect("date")),
            "2025-01-31T10:00:00Z"
        );
        let feb29 = t("2024-02-29T00:00:00+02:00");
        assert_eq!(
            format_rfc3339(&add_date(&feb29, 1, 0, 0).expect("date")),
            "2025-03-01T00:00:00+02:00"
        );
        assert_eq!(
            format_rfc3339(&add_date(&jan31, 0, -2, 0).expect("date")),
            "2022-12-01T10:00:00Z"
        );
        assert_eq!(
            format_rfc3339(&add_date(&jan31, 0, 0, 30).expect("date")),
            "2023-03-02T10:00:00Z"
        );
    }

    #[test]
    fn rfc3339_is_written_in_whole_seconds_with_z_for_utc() {
        assert_eq!(
            format_rfc3339(&t("2020-05-06T07:08:09.123Z")),
            "2020-05-06T07:08:09Z"
        );
        assert_eq!(
            format_rfc3339(&t("2020-05-06T07:08:09+00:00")),
            "2020-05-06T07:08:09Z"
        );
        assert_eq!(
            format_rfc3339(&t("2020-05-06T07:08:09-05:30")),
            "2020-05-06T07:08:09-05:30"
        );
        assert!(parse_rfc3339("rfc3339", "2020-05-06").is_err());
    }

    #[test]
    fn durations_take_the_providers_units_only() {
        assert_eq!(
            parse_duration("d", "30s").expect("30s"),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse_duration("d", "1.5m").expect("1.5m"),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("d", "250ms").expect("ms"),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("d", "2h").expect("h"),
            Duration::from_secs(7200)
        );
        for bad in [
            "", "s", "1", "1d", "-1s", "1.s", ".5s", "1.2.3s", "1 s", "1sx",
        ] {
            assert!(parse_duration("d", bad).is_err(), "{bad:?}");
        }
    }
}
