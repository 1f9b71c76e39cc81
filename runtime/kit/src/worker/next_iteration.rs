//! A job scheduler's next iteration, added when the current one is fetched, as Node's worker
//! adds it: from the current iteration's options as Node's `Job` reads them (the template's,
//! once `scheduler_template.rs` has put back what bullmq-official left out), a cron pattern
//! and its zone read as Node reads them (without `tz`, in the machine's time zone), none past
//! `endDate` or `limit`.
//!
//! bullmq-official adds one too, after the handler, from its own reading of the options. Its
//! script adds nothing once the scheduler has moved on to a later iteration, which the one
//! added here is. Where Node's worker adds none (the scheduler has ended) and bullmq-official
//! would still add one (a cron iteration past `endDate`, or options it could not read, which
//! it takes for defaults without a `limit`), the scheduler is removed here instead, as
//! `removeJobScheduler` removes it: Node's worker leaves an ended scheduler listed.

use std::sync::LazyLock;

use chrono::{FixedOffset, Local, TimeZone};
use croner::parser::{CronParser, Seconds};
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

/// Adds the next iteration: only while the current one is the scheduler's latest.
static ADD: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("next_iteration.lua")));

/// Removes an ended scheduler (its set entry and hash): only while the current iteration is its
/// latest, so neither a scheduler upserted again since nor one already removed is touched.
static END: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"local latest = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not latest or ARGV[2] ~= "repeat:" .. ARGV[1] .. ":" .. tonumber(latest) then
  return 0
end
redis.call("ZREM", KEYS[1], ARGV[1])
return redis.call("DEL", KEYS[1] .. ":" .. ARGV[1])"#,
    )
});

/// A fetched iteration of a job scheduler.
pub(crate) struct Fetched<'a> {
    /// The queue's key prefix (`bull:<queue>:`).
    pub key_prefix: &'a str,
    pub scheduler: &'a str,
    pub job_id: &'a str,
    /// Its options as Node's worker reads them.
    pub options: &'a Map<String, Value>,
    /// Its repeat options as bullmq-official read them, if it could.
    pub parsed: Option<&'a bullmq::options::RepeatJobOptions>,
}

/// What became of the scheduler.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// The next iteration, by its job id.
    Added(String),
    /// None: the scheduler has moved on (or its next iteration was there already).
    NotAdded,
    /// Ended: no next iteration; `removed` when bullmq-official would have added one.
    Ended { removed: bool },
    /// Repeat options not read here as Node reads them (not numbers, both or neither of
    /// `every` and `pattern`): left to bullmq-official.
    Unknown,
}

pub(crate) async fn add(
    conn: &mut ConnectionManager,
    fetched: &Fetched<'_>,
    now: u64,
) -> redis::RedisResult<Outcome> {
    let key = |name: &str| format!("{}{name}", fetched.key_prefix);
    match plan(fetched.options, fetched.scheduler, now, &Local) {
        Plan::Unknown => Ok(Outcome::Unknown),
        Plan::Ended => {
            if !bullmq_official_adds(fetched.parsed, now) {
                return Ok(Outcome::Ended { removed: false });
            }
            let removed: u32 = END
                .key(key("repeat"))
                .arg(fetched.scheduler)
                .arg(fetched.job_id)
                .invoke_async(conn)
                .await?;
            Ok(Outcome::Ended {
                removed: removed > 0,
            })
        }
        Plan::Add { cron_time, options } => {
            let mut call = ADD.prepare_invoke();
            for name in [
                "repeat",
                "delayed",
                "wait",
                "meta",
                "prioritized",
                "marker",
                "id",
                "events",
                "pc",
                "active",
            ] {
                call.key(key(name));
            }
            let cron_time = cron_time.map(|t| t.to_string()).unwrap_or_default();
            let added: Option<String> = call
                .arg(fetched.scheduler)
                .arg(fetched.job_id)
                .arg(now)
                .arg(cron_time)
                .arg(options)
                .invoke_async(conn)
                .await?;
            Ok(added.map_or(Outcome::NotAdded, Outcome::Added))
        }
    }
}

/// Whether bullmq-official, after the handler, adds an iteration for a scheduler that Node's
/// worker ends: it ends one itself only at its `limit` or past its `endDate`, as it read them.
fn bullmq_official_adds(parsed: Option<&bullmq::options::RepeatJobOptions>, now: u64) -> bool {
    let Some(repeat) = parsed else {
        return true;
    };
    // Saturating: the count is the job's, any u64 its producer stored, and this runs before the
    // options check lowers one bullmq-official would overflow on (`needs_check`); an overflow
    // here would panic outside the handler's catch and leave the job active.
    let iteration = repeat.count.map_or(1, |count| count.saturating_add(1));
    let at_limit = repeat.limit.is_some_and(|limit| iteration > limit);
    let past_end = repeat.end_date.is_some_and(|end| now > end);
    !(at_limit || past_end)
}

#[derive(Debug, PartialEq)]
enum Plan {
    Add {
        cron_time: Option<u64>,
        /// The next iteration's options (JSON), but for its `jobId` and `delay`.
        options: String,
    },
    Ended,
    Unknown,
}

/// What Node's worker does with a scheduler's iteration it fetches at `now`, with `options`
/// (stored JSON names): whether it adds a next one, when (for a cron scheduler; an `every`
/// one's time is counted in the script, from the scheduler's), and with which options.
fn plan<Z: TimeZone>(options: &Map<String, Value>, scheduler: &str, now: u64, local: &Z) -> Plan {
    let Some(repeat) = options.get("repeat").and_then(Value::as_object) else {
        return Plan::Unknown;
    };
    // Numbers as Node's worker uses them: absent, or JSON numbers (anything else: `Unknown`).
    let number = |map: &Map<String, Value>, name: &str| -> Result<Option<f64>, ()> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or(()),
        }
    };
    let truthy = |n: Option<f64>| n.filter(|n| *n != 0.0 && !n.is_nan());
    let (Ok(count), Ok(limit), Ok(end), Ok(start), Ok(offset), Ok(every), Ok(previous)) = (
        number(repeat, "count"),
        // Node compares the count with any `limit` there is: `null` counts as 0.
        match repeat.get("limit") {
            Some(Value::Null) => Ok(Some(0.0)),
            _ => number(repeat, "limit"),
        },
        number(repeat, "endDate"),
        number(repeat, "startDate"),
        number(repeat, "offset"),
        number(repeat, "every"),
        number(options, "prevMillis"),
    ) else {
        return Plan::Unknown;
    };
    let pattern = repeat.get("pattern").and_then(Value::as_str);
    let tz = match repeat.get("tz") {
        None | Some(Value::Null) => None,
        Some(Value::String(tz)) => Some(tz.as_str()),
        Some(_) => return Plan::Unknown,
    };
    if pattern.is_some() == truthy(every).is_some() {
        return Plan::Unknown;
    }

    let iteration = truthy(count).map_or(1.0, |count| count + 1.0);
    if limit.is_some_and(|limit| iteration > limit) {
        return Plan::Ended;
    }
    let (end, start) = (truthy(end), truthy(start));
    let now_f = now as f64;
    if end.is_some_and(|end| now_f > end) {
        return Plan::Ended;
    }
    let reference = truthy(previous).map_or(now_f, |previous| previous.max(now_f));
    let cron_time = match pattern {
        None => None,
        Some(pattern) => {
            let after = start.map_or(reference, |start| start.max(reference));
            match next_cron_time(pattern, after as i64, tz, local) {
                Ok(Some(next)) if end.is_none_or(|end| next as f64 <= end) => {
                    Some(next.max(reference as u64))
                }
                Ok(_) => return Plan::Ended,
                Err(()) => return Plan::Unknown,
            }
        }
    };

    let mut next = options.clone();
    let mut next_repeat = repeat.clone();
    next_repeat.remove("immediately");
    match (truthy(every), truthy(offset)) {
        (Some(_), Some(_)) => {}
        _ => {
            next_repeat.remove("offset");
        }
    }
    next_repeat.insert("count".into(), Value::from(iteration));
    for (name, date) in [("startDate", start), ("endDate", end)] {
        if date.is_none() {
            next_repeat.remove(name);
        }
    }
    next.insert("repeat".into(), Value::Object(next_repeat));
    next.insert("timestamp".into(), Value::from(now));
    match cron_time {
        Some(time) => next.insert("prevMillis".into(), Value::from(time)),
        None => next.remove("prevMillis"),
    };
    next.insert("repeatJobKey".into(), Value::from(scheduler));
    next.remove("jobId");
    next.remove("delay");
    as_nodes_job_reads(&mut next);
    let mut next = Value::Object(next);
    drop_nulls(&mut next);
    Plan::Add {
        cron_time,
        options: next.to_string(),
    }
}

/// What Node's `Job` makes of the options it reads, which its worker copies into the next
/// iteration: `attempts` 0 when there is none, a number `backoff` as a fixed one, a `backoff`
/// JavaScript takes for false left out.
fn as_nodes_job_reads(options: &mut Map<String, Value>) {
    options.entry("attempts").or_insert(Value::from(0));
    match options.get("backoff") {
        Some(Value::Number(delay)) => {
            let fixed = serde_json::json!({"type": "fixed", "delay": delay});
            options.insert("backoff".into(), fixed);
        }
        Some(Value::Object(_)) | None => {}
        Some(Value::String(text)) if !text.is_empty() => {}
        Some(_) => {
            options.remove("backoff");
        }
    }
}

/// Node passes the options to its script as MessagePack, where a `null` member is left out.
fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, member| !member.is_null());
        map.values_mut().for_each(drop_nulls);
    }
}

/// The first time of `pattern` (seconds optional) strictly after `after` (ms), in the zone `tz`
/// names, or in `local` when there is none: `Ok(None)` when there is no such time, `Err` when
/// the pattern or the zone cannot be read. Node reads a step from a start (`0/2`: every 2 from
/// 0), as croner does when its ranges are "sloppy".
fn next_cron_time<Z: TimeZone>(
    pattern: &str,
    after: i64,
    tz: Option<&str>,
    local: &Z,
) -> Result<Option<u64>, ()> {
    let cron = CronParser::builder()
        .seconds(Seconds::Optional)
        .sloppy_ranges(true)
        .build()
        .parse(pattern)
        .map_err(drop)?;
    fn next<Z: TimeZone>(cron: &croner::Cron, zone: &Z, after: i64) -> Result<Option<i64>, ()> {
        let after = zone.timestamp_millis_opt(after).single().ok_or(())?;
        Ok(cron
            .find_next_occurrence(&after, false)
            .ok()
            .map(|t| t.timestamp_millis()))
    }
    let next = match tz.map(zone) {
        None => next(&cron, local, after)?,
        Some(Some(Zone::Local)) => next(&cron, local, after)?,
        Some(Some(Zone::Named(zone))) => next(&cron, &zone, after)?,
        Some(Some(Zone::Fixed(zone))) => next(&cron, &zone, after)?,
        Some(None) => return Err(()),
    };
    Ok(next.and_then(|t| u64::try_from(t).ok()))
}

enum Zone {
    Local,
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

/// The zone `name` stands for, read as Node's cron parser (through Luxon) reads it: "local",
/// "system" and "default", "utc" and "gmt", "utc" with an offset (`UTC+5`, `UTC-03:30`), or a zone of the
/// IANA database, in any case.
fn zone(name: &str) -> Option<Zone> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "local" | "system" | "default" => return Some(Zone::Local),
        "utc" | "gmt" => return FixedOffset::east_opt(0).map(Zone::Fixed),
        _ => {}
    }
    if let Some(offset) = lower.strip_prefix("utc") {
        return utc_offset(offset).map(Zone::Fixed);
    }
    name.parse()
        .ok()
        .or_else(|| {
            chrono_tz::TZ_VARIANTS
                .into_iter()
                .find(|zone| zone.name().eq_ignore_ascii_case(name))
        })
        .map(Zone::Named)
}

/// `+5`, `-03:30`: a sign, one or two digits of hours, optionally `:` and two of minutes.
fn utc_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "00"));
    let digits = |part: &str, lengths: &[usize]| {
        (lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i32>().ok())
            .flatten()
    };
    let seconds = digits(hours, &[1, 2])? * 3600 + digits(minutes, &[2])? * 60;
    FixedOffset::east_opt(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};
    use serde_json::json;

    const NOW: u64 = 1_700_000_000_500; // 2023-11-14T22:13:20.500Z

    fn options(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn planned(value: Value, local: &impl TimeZone) -> Plan {
        plan(&options(value), "s", NOW, local)
    }

    fn added(plan: Plan) -> (Option<u64>, Value) {
        match plan {
            Plan::Add { cron_time, options } => {
                (cron_time, serde_json::from_str(&options).unwrap())
            }
            other => panic!("no iteration added: {other:?}"),
        }
    }

    #[test]
    fn the_next_options_are_the_current_ones_moved_on_by_one_iteration() {
        let (time, next) = added(planned(
            json!({"attempts": "2", "kl": 3, "jobId": "repeat:s:1", "delay": 7, "timestamp": 1,
                   "repeat": {"every": 1000, "count": 2, "limit": 5, "immediately": true,
                              "offset": 0, "startDate": null}}),
            &Utc,
        ));
        assert_eq!(
            time, None,
            "an `every` scheduler's time is counted in the script"
        );
        assert_eq!(
            next,
            json!({"attempts": "2", "kl": 3, "timestamp": NOW, "repeatJobKey": "s",
                   "repeat": {"every": 1000, "count": 3.0, "limit": 5}})
        );
        let (_, next) = added(planned(
            json!({"repeat": {"every": 1000, "offset": 250}}),
            &Utc,
        ));
        assert_eq!(next["repeat"]["offset"], 250);
        assert_eq!(next["repeat"]["count"], 1.0, "a first count");
    }

    #[test]
    fn a_cron_time_follows_the_latest_of_now_the_previous_time_and_the_start() {
        let cron = |extra: Value| {
            let mut value = json!({"repeat": {"pattern": "*/10 * * * * *"}});
            if let (Value::Object(map), Value::Object(extra)) = (&mut value, extra) {
                map.extend(extra);
            }
            added(planned(value, &Utc))
        };
        let (time, next) = cron(json!({}));
        assert_eq!(time, Some(1_700_000_010_000));
        assert_eq!(next["prevMillis"], 1_700_000_010_000_u64);
        let (time, _) = cron(json!({"prevMillis": 1_700_000_010_000_u64}));
        assert_eq!(
            time,
            Some(1_700_000_020_000),
            "strictly after the previous time"
        );
        let (time, next) = added(planned(
            json!({"repeat": {"pattern": "*/10 * * * * *", "startDate": 1_700_000_100_000_u64}}),
            &Utc,
        ));
        assert_eq!(time, Some(1_700_000_110_000));
        assert_eq!(next["repeat"]["startDate"], 1_700_000_100_000_u64);
    }

    #[test]
    fn a_pattern_without_tz_is_read_in_the_local_zone_and_with_one_in_it() {
        let daily = json!({"repeat": {"pattern": "0 0 5 * * *"}});
        let (utc, _) = added(planned(daily.clone(), &Utc));
        assert_eq!(utc, Some(1_700_024_400_000), "05:00 UTC on 15 November");
        let india = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let (local, _) = added(planned(daily, &india));
        assert_eq!(
            local,
            Some(1_700_004_600_000),
            "05:00 at +05:30 on 15 November"
        );
        let (zoned, _) = added(planned(
            json!({"repeat": {"pattern": "0 0 5 * * *", "tz": "Asia/Kolkata"}}),
            &Utc,
        ));
        assert_eq!(zoned, local);
    }

    #[test]
    fn zones_and_steps_are_read_as_node_reads_them() {
        let at = |pattern: &str, tz: &str| {
            added(planned(
                json!({"repeat": {"pattern": pattern, "tz": tz}}),
                &Utc,
            ))
            .0
        };
        let utc = at("0 0 5 * * *", "UTC");
        for spelling in ["utc", "Gmt", "UTC+0", "Etc/UTC"] {
            assert_eq!(at("0 0 5 * * *", spelling), utc, "{spelling}");
        }
        let kolkata = at("0 0 5 * * *", "Asia/Kolkata");
        for spelling in ["asia/kolkata", "UTC+5:30", "utc+05:30"] {
            assert_eq!(at("0 0 5 * * *", spelling), kolkata, "{spelling}");
        }
        assert_eq!(
            at("0 0 5 * * *", "UTC-3"),
            Some(1_700_035_200_000),
            "05:00 at -03:00"
        );
        for unknown in ["UTC+", "UTC+123", "UTC+5:3", "utc5", "Mars/Olympus"] {
            assert_eq!(
                planned(
                    json!({"repeat": {"pattern": "* * * * * *", "tz": unknown}}),
                    &Utc
                ),
                Plan::Unknown,
                "{unknown}"
            );
        }
        // Every 20 s from second 10: 10, 30, 50.
        assert_eq!(at("10/20 * * * * *", "UTC"), Some(1_700_000_010_000));
        assert_eq!(at("*/20 * * * * *", "UTC"), Some(1_700_000_020_000));
    }

    #[test]
    fn the_options_are_copied_as_nodes_job_reads_them() {
        let next = |template: Value| {
            let mut options = json!({"repeat": {"every": 1000}});
            if let (Value::Object(map), Value::Object(template)) = (&mut options, template) {
                map.extend(template);
            }
            added(planned(options, &Utc)).1
        };
        assert_eq!(next(json!({}))["attempts"], 0);
        assert_eq!(next(json!({"attempts": 3}))["attempts"], 3);
        assert_eq!(
            next(json!({"backoff": 1000}))["backoff"],
            json!({"type": "fixed", "delay": 1000})
        );
        assert_eq!(
            next(json!({"backoff": 0}))["backoff"],
            json!({"type": "fixed", "delay": 0})
        );
        let custom = json!({"type": "custom", "delay": 5});
        assert_eq!(next(json!({"backoff": custom.clone()}))["backoff"], custom);
        assert_eq!(
            next(json!({"backoff": "exponential"}))["backoff"],
            "exponential"
        );
        for falsy in [json!(false), json!(""), json!(null)] {
            assert!(next(json!({"backoff": falsy})).get("backoff").is_none());
        }
    }

    #[test]
    fn it_ends_at_the_limit_and_at_the_end_date() {
        let every = |repeat: Value| planned(json!({"repeat": repeat}), &Utc);
        assert_eq!(
            every(json!({"every": 10, "count": 3, "limit": 3})),
            Plan::Ended
        );
        assert_eq!(every(json!({"every": 10, "limit": null})), Plan::Ended);
        assert!(matches!(
            every(json!({"every": 10, "count": 2, "limit": 3})),
            Plan::Add { .. }
        ));
        assert_eq!(every(json!({"every": 10, "endDate": NOW - 1})), Plan::Ended);
        // A cron scheduler also ends when its next time is past its end.
        let cron = |end: u64| {
            planned(
                json!({"repeat": {"pattern": "*/10 * * * * *", "endDate": end}}),
                &Utc,
            )
        };
        assert_eq!(cron(1_700_000_009_999), Plan::Ended);
        assert!(matches!(cron(1_700_000_010_000), Plan::Add { .. }));
    }

    #[test]
    fn what_is_not_read_as_node_reads_it_is_left_to_bullmq_official() {
        for options in [
            json!({}),
            json!({"repeat": {"every": "1000"}}),
            json!({"repeat": {"every": 1000, "limit": "3"}}),
            json!({"repeat": {"every": 1000, "pattern": "* * * * * *"}}),
            json!({"repeat": {"count": 1}}),
            json!({"repeat": {"pattern": "not a pattern"}}),
            json!({"repeat": {"pattern": "* * * * * *", "tz": "Nowhere/Else"}}),
            json!({"repeat": {"pattern": "* * * * * *", "tz": 5}}),
        ] {
            assert_eq!(planned(options.clone(), &Utc), Plan::Unknown, "{options}");
        }
    }

    #[test]
    fn bullmq_official_adds_one_unless_its_own_reading_ends_the_scheduler() {
        let repeat = |count, limit, end_date| bullmq::options::RepeatJobOptions {
            count,
            limit,
            end_date,
            ..Default::default()
        };
        assert!(bullmq_official_adds(None, NOW), "options it could not read");
        assert!(bullmq_official_adds(
            Some(&repeat(Some(2), Some(3), None)),
            NOW
        ));
        assert!(!bullmq_official_adds(
            Some(&repeat(Some(3), Some(3), None)),
            NOW
        ));
        assert!(bullmq_official_adds(
            Some(&repeat(None, None, Some(NOW))),
            NOW
        ));
        assert!(!bullmq_official_adds(
            Some(&repeat(None, None, Some(NOW - 1))),
            NOW
        ));
        assert!(!bullmq_official_adds(
            Some(&repeat(Some(u64::MAX), Some(5), None)),
            NOW
        ));
    }
}
