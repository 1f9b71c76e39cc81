//! What JavaScript makes of a JSON value where Node's BullMQ uses it: the conversions Node applies
//! without a word (`attemptsMade + 1 < "2"` compares numbers, `if (opts.lifo)` takes any value),
//! written out so that our worker reads each value as Node does.

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

/// How a fractional number becomes the whole number Node behaves like.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rounding {
    Up,
    Down,
}

/// The number JavaScript reads in `value`: a number, or a string that holds one in decimal
/// (`Number(" 2 ")` is 2). None for anything else, and for the strings JavaScript reads
/// otherwise than Rust or as no usable number (`""`, `"0x10"`, `"Infinity"`): such an option
/// fails with its name rather than being guessed at.
pub(super) fn number(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    number.is_finite().then_some(number)
}

/// `value` as the whole number Node behaves like: rounded as `rounding` says, a negative number
/// as 0 (for every count and duration, Node acts on a negative one as on none), at most `max`.
pub(super) fn whole_number(value: &Value, rounding: Rounding, max: u64) -> Option<u64> {
    if let Some(exact) = value.as_u64() {
        return Some(exact.min(max));
    }
    let number = number(value)?;
    let rounded = match rounding {
        Rounding::Up => number.ceil(),
        Rounding::Down => number.trunc(),
    };
    // `as` saturates: 1e21 becomes u64::MAX, then `max`.
    Some((rounded.max(0.0) as u64).min(max))
}

/// JavaScript's `Math.round`: halves round up, towards positive infinity (-0.5 is -0).
pub(super) fn round(number: f64) -> f64 {
    (number + 0.5).floor()
}

/// JavaScript's truthiness of `value`: what `if (value)` decides.
pub(super) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The string JavaScript makes of `value` where it builds a key from it (a job id, a
/// deduplication id): a number's decimal text, `true` or `false`. None for an array or object.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A date as epoch milliseconds, where Node reads it with `new Date(value).getTime()`: a number
/// of milliseconds, an RFC 3339 date and time, or a `YYYY-MM-DD` date (midnight UTC, as
/// JavaScript reads it). A string of a number is read as milliseconds too, which `Date` would
/// not do. Other text JavaScript reads in ways that depend on the machine's time zone or
/// engine: None.
pub(super) fn date_millis(value: &Value, max: u64) -> Option<u64> {
    if let Some(millis) = whole_number(value, Rounding::Down, max) {
        return Some(millis);
    }
    let text = value.as_str()?.trim();
    let millis = match DateTime::parse_from_rfc3339(text) {
        Ok(moment) => moment.timestamp_millis(),
        Err(_) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_millis(),
    };
    Some(u64::try_from(millis).unwrap_or(0).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_read_from_numbers_and_decimal_strings_only() {
        assert_eq!(number(&json!(2.5)), Some(2.5));
        assert_eq!(number(&json!(" 2 ")), Some(2.0));
        assert_eq!(number(&json!("1e3")), Some(1000.0));
        for not_a_number in [
            json!(""),
            json!("0x10"),
            json!("Infinity"),
            json!("NaN"),
            json!(true),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(number(&not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn whole_numbers_round_as_asked_and_stay_within_the_field() {
        assert_eq!(whole_number(&json!(2.5), Rounding::Up, 10), Some(3));
        assert_eq!(whole_number(&json!(2.5), Rounding::Down, 10), Some(2));
        assert_eq!(whole_number(&json!("7"), Rounding::Up, 10), Some(7));
        assert_eq!(whole_number(&json!(-5), Rounding::Up, 10), Some(0));
        assert_eq!(
            whole_number(&json!(9_007_199_254_740_991_u64), Rounding::Up, 10),
            Some(10)
        );
        assert_eq!(
            whole_number(&json!(1e21), Rounding::Down, u64::MAX),
            Some(u64::MAX)
        );
        assert_eq!(whole_number(&json!("soon"), Rounding::Up, 10), None);
    }

    #[test]
    fn truthiness_and_text_are_javascripts() {
        for truthy_value in [json!(1), json!("yes"), json!("false"), json!({}), json!([])] {
            assert!(truthy(&truthy_value), "{truthy_value}");
        }
        for falsy in [json!(0), json!(""), json!(null), json!(false), json!(-0.0)] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        assert_eq!(text(&json!(123)).as_deref(), Some("123"));
        assert_eq!(text(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(text(&json!({"id": 1})), None);
    }

    #[test]
    fn dates_are_milliseconds_rfc_3339_or_a_utc_day() {
        let max = i64::MAX as u64;
        assert_eq!(
            date_millis(&json!(1_700_000_000_000_u64), max),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            date_millis(&json!("2099-01-01"), max),
            Some(4_070_908_800_000)
        );
        assert_eq!(
            date_millis(&json!("2099-01-01T01:00:00+01:00"), max),
            Some(4_070_908_800_000)
        );
        assert_eq!(date_millis(&json!("someday"), max), None);
        assert_eq!(date_millis(&json!("01/02/2099"), max), None);
    }
}
