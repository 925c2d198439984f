//! Time functions: `formatdate`, `timeadd`, `timecmp` on RFC 3339 timestamps.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use forge_provider::Value;

use super::{Args, FnError, FnResult};

fn parse_time(s: &str, arg: usize) -> Result<DateTime<FixedOffset>, FnError> {
    DateTime::parse_from_rfc3339(s).map_err(|_| {
        FnError::new(format!("\"{s}\" is not a valid RFC 3339 timestamp"))
            .arg(arg)
            .hint("write it like \"2024-01-02T15:04:05Z\" (timestamp() produces one)")
    })
}

/// RFC 3339 as Terraform writes it: whole seconds (a fraction is dropped), `Z` for UTC.
fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60)
    };
    format!("{base}{zone}")
}

pub(super) fn timeadd(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let t = parse_time(&a.string(0)?, 0)?;
    let d = parse_duration(&a.string(1)?).ok_or_else(|| {
        FnError::new("invalid duration")
            .arg(1)
            .hint("use Go duration syntax such as \"1h30m\", \"-10s\" or \"300ms\"")
    })?;
    let shifted = t
        .checked_add_signed(chrono::Duration::nanoseconds(d))
        .ok_or_else(|| FnError::new("the resulting time is out of range").arg(1))?;
    Ok(Value::String(rfc3339(&shifted)))
}

pub(super) fn timecmp(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let x = parse_time(&a.string(0)?, 0)?;
    let y = parse_time(&a.string(1)?, 1)?;
    Ok(Value::Number(match x.cmp(&y) {
        std::cmp::Ordering::Less => -1.0,
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => 1.0,
    }))
}

/// A Go duration (`1h30m`, `-1.5h`, `300ms`, `2us`) in nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    let total = total.round() as i64;
    Some(if neg { -total } else { total })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub(super) fn formatdate(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let spec = a.string(0)?;
    let t = parse_time(&a.string(1)?, 1)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A quoted literal; '' inside it (or alone) is a literal quote.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i = j + 1;
                continue;
            }
            loop {
                match chars.get(j) {
                    None => {
                        return Err(FnError::new("unterminated literal '...' in the format").arg(0));
                    }
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        out.push(ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let offset = t.offset().local_minus_utc();
        let text = match (c, run) {
            ('Y', 4) => format!("{:04}", t.year()),
            ('Y', 2) => format!("{:02}", t.year().rem_euclid(100)),
            ('M', 4) => MONTHS[t.month0() as usize].to_string(),
            ('M', 3) => MONTHS[t.month0() as usize][..3].to_string(),
            ('M', 2) => format!("{:02}", t.month()),
            ('M', 1) => t.month().to_string(),
            ('D', 2) => format!("{:02}", t.day()),
            ('D', 1) => t.day().to_string(),
            ('E', 4) => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
            ('E', 3) => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
            ('h', 2) => format!("{:02}", t.hour()),
            ('h', 1) => t.hour().to_string(),
            ('H', 2) => format!("{:02}", hour12(t.hour())),
            ('H', 1) => hour12(t.hour()).to_string(),
            ('A', 2) => (if t.hour() < 12 { "AM" } else { "PM" }).to_string(),
            ('a', 2) => (if t.hour() < 12 { "am" } else { "pm" }).to_string(),
            ('m', 2) => format!("{:02}", t.minute()),
            ('m', 1) => t.minute().to_string(),
            ('s', 2) => format!("{:02}", t.second()),
            ('s', 1) => t.second().to_string(),
            ('Z', 5) => zone(offset, true, true),
            ('Z', 4) => zone(offset, false, false),
            ('Z', 3) => {
                if offset == 0 {
                    "UTC".to_string()
                } else {
                    zone(offset, false, false)
                }
            }
            ('Z', 1) => zone(offset, true, true),
            _ => {
                let token: String = std::iter::repeat_n(c, run).collect();
                return Err(FnError::new(format!("invalid date format verb \"{token}\""))
                    .arg(0)
                    .hint("letters are format verbs (YYYY, MM, DD, hh, mm, ss, ...); quote literal text as 'text'"));
            }
        };
        out.push_str(&text);
        i += run;
    }
    Ok(Value::String(out))
}

fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

/// `Z` / `ZZZZZ`: `Z` for UTC or `+hh:mm`; `ZZZZ`: `+hhmm`.
fn zone(offset: i32, colon: bool, z_for_utc: bool) -> String {
    if offset == 0 && z_for_utc {
        return "Z".into();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.abs();
    if colon {
        format!("{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60)
    } else {
        format!("{sign}{:02}{:02}", o / 3600, (o % 3600) / 60)
    }
}
