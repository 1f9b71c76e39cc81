//! Per-client-IP rate limits with BetterAuth's production rules and algorithm:
//!
//! * `/sign-in/*`, `/sign-up/*`, `/change-password`, `/two-factor/*`: 3 requests per 10 s;
//! * `/request-password-reset`, `/send-verification-email`: 3 per 60 s;
//! * every other path under `/api/auth` (reset, verification links, admin, revocations, unknown
//!   paths…): 100 per 10 s per address and route.
//!
//! `get-session`, `provision` and `user-status` are deliberately **not** limited: base services
//! call them server-to-server from a handful of addresses, and throttling them would log users
//! out across the whole stack (better-auth#6335, #977).
//!
//! Counters live in memory (one auth process is the trust anchor); the key is `ip|rule` (`ip|route`
//! for the default rule, the route being the router's pattern such as `/reset-password/{token}`,
//! and one shared name for paths no route matches). Counting by route rather than by path means
//! a client cannot dodge the limit, or grow the table, by sending each request to a path of its
//! own (a new token in a link, a made-up path). IPv6 clients are limited by /64 (see `bucket`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::pruned_map::PrunedMap;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The counter's name; `None` for the default rule, which counts each route on its own.
    pub name: Option<&'static str>,
    pub window: Duration,
    pub max: u32,
}

/// Paths base services call server-to-server from a handful of addresses on behalf of all their
/// users: never limited (see the module docs). Any other such endpoint belongs here too.
const SERVER_TO_SERVER: &[&str] = &["/get-session", "/provision", "/user-status"];

/// BetterAuth's default: 100 requests per 10 s per address and path (here: route).
const DEFAULT: Rule = Rule {
    name: None,
    window: Duration::from_secs(10),
    max: 100,
};

/// The limit for a path under `/api/auth`, if any.
pub fn rule_for(path: &str) -> Option<Rule> {
    let p = path.strip_prefix("/api/auth")?;
    let short = |name| Rule {
        name: Some(name),
        window: Duration::from_secs(10),
        max: 3,
    };
    let long = |name| Rule {
        name: Some(name),
        window: Duration::from_secs(60),
        max: 3,
    };
    if p.starts_with("/sign-in") {
        Some(short("sign-in"))
    } else if p.starts_with("/sign-up") {
        Some(short("sign-up"))
    } else if p.starts_with("/change-password") {
        Some(short("change-password"))
    } else if p.starts_with("/two-factor/") {
        Some(short("two-factor"))
    } else if p.starts_with("/request-password-reset") {
        Some(long("request-password-reset"))
    } else if p.starts_with("/send-verification-email") {
        Some(long("send-verification-email"))
    } else if p.starts_with("/change-email") {
        // It mails any address not in use: held to the other mail routes' limit, or it relays.
        Some(long("change-email"))
    } else if SERVER_TO_SERVER.contains(&p) {
        None
    } else {
        Some(DEFAULT)
    }
}

/// The route name of requests no route matches: they share one counter per address.
const NO_ROUTE: &str = "(no route)";

/// The counter a request from `ip` to `route` under `rule` goes to.
pub fn counter_key(ip: &str, rule: Rule, route: &str) -> String {
    format!("{ip}|{}", rule.name.unwrap_or(route))
}

struct Bucket {
    count: u32,
    last: Instant,
}

pub struct RateLimiter {
    enabled: bool,
    buckets: Mutex<PrunedMap<Bucket>>,
}

/// From this many tracked keys on, keys idle for longer than every window are dropped.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(enabled: bool) -> Self {
        RateLimiter {
            enabled,
            buckets: Mutex::new(PrunedMap::new(MAX_KEYS)),
        }
    }

    /// BetterAuth's `decideConsume`: reset after a quiet window, else count up to `max`.
    /// `Err(seconds)` says how long to wait.
    pub fn consume(&self, key: &str, rule: Rule, now: Instant) -> Result<(), u64> {
        if !self.enabled {
            return Ok(());
        }
        let key = key.to_owned();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.prune_if_full(|_, b| now.duration_since(b.last) < Duration::from_secs(60));
        let bucket = buckets.entry(key).or_insert(Bucket {
            count: 0,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last);
        if bucket.count == 0 || elapsed >= rule.window {
            bucket.count = 1;
            bucket.last = now;
            Ok(())
        } else if bucket.count >= rule.max {
            let wait = rule.window.saturating_sub(elapsed);
            Err(wait.as_secs_f64().ceil().max(1.0) as u64)
        } else {
            bucket.count += 1;
            bucket.last = now;
            Ok(())
        }
    }
}

/// The key an address is limited under: IPv4 addresses one by one, IPv6 by /64 (one subscriber
/// usually holds a whole /64 and could otherwise rotate through it).
pub fn bucket(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        v4 => v4.to_string(),
    }
}

/// BetterAuth's answer to a request over a limit: `429 {"message":"Too many requests. Please try
/// again later."}` with `X-Retry-After` (seconds).
pub fn too_many_requests(retry_after_secs: u64) -> ApiError {
    ApiError::message_only(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests. Please try again later.",
    )
    .with_header("x-retry-after", retry_after_secs.to_string())
}

/// Middleware: answers [`too_many_requests`] to a request over its limit.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(rule) = rule_for(req.uri().path()) {
        let (parts, body) = req.into_parts();
        let ip = crate::client_ip::resolve(&parts, &state.config.trusted_proxies)
            .map(bucket)
            .unwrap_or_default();
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or(NO_ROUTE, MatchedPath::as_str);
        let key = counter_key(&ip, rule, route);
        if let Err(wait) = state.rate_limiter.consume(&key, rule, Instant::now()) {
            // Debug only: each refusal is the client's own doing, and a line per refused request
            // would let anyone over a limit write to the log as fast as it is refused.
            tracing::debug!(counter = %key, "rate limit hit");
            return too_many_requests(wait).into_response();
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_per_window_then_blocked_then_reset() {
        let rl = RateLimiter::new(true);
        let rule = rule_for("/api/auth/sign-in/email").unwrap();
        let t0 = Instant::now();
        let key = counter_key("1.2.3.4", rule, "/api/auth/sign-in/email");
        for _ in 0..3 {
            assert!(rl.consume(&key, rule, t0).is_ok());
        }
        assert!(rl.consume(&key, rule, t0).is_err());
        // Another client is unaffected.
        let other = counter_key("5.6.7.8", rule, "/api/auth/sign-in/email");
        assert!(rl.consume(&other, rule, t0).is_ok());
        assert!(rl.consume(&key, rule, t0 + Duration::from_secs(11)).is_ok());
    }

    /// An attacker with many addresses fills the table with live keys; the requests that follow
    /// must not each scan it (the table did, under its lock, on every request: 0.5 ms each).
    #[test]
    fn a_table_full_of_live_keys_is_scanned_once_not_per_request() {
        let rl = RateLimiter::new(true);
        let rule = rule_for("/api/auth/sign-in/email").unwrap();
        let t0 = Instant::now();
        for n in 0..MAX_KEYS + 1000 {
            assert!(rl.consume(&format!("10.{n}|sign-in"), rule, t0).is_ok());
        }
        assert_eq!(rl.buckets.lock().unwrap().prunes, 1);
        let key = "10.0|sign-in";
        assert!(rl.consume(key, rule, t0).is_ok());
        assert!(rl.consume(key, rule, t0).is_ok());
        assert!(
            rl.consume(key, rule, t0).is_err(),
            "live keys keep counting"
        );
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a = bucket("2001:db8:1:2::1".parse().unwrap());
        assert_eq!(a, bucket("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_ne!(a, bucket("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(bucket("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }

    #[test]
    fn get_session_is_never_limited() {
        assert_eq!(rule_for("/api/auth/get-session"), None);
        assert_eq!(rule_for("/api/auth/provision"), None);
        assert_eq!(rule_for("/api/auth/user-status"), None);
        assert_eq!(rule_for("/health"), None);
    }

    #[test]
    fn every_route_that_mails_has_the_mail_limit() {
        for path in [
            "/api/auth/request-password-reset",
            "/api/auth/send-verification-email",
            "/api/auth/change-email",
        ] {
            let rule = rule_for(path).unwrap();
            assert_eq!(
                (rule.window, rule.max),
                (Duration::from_secs(60), 3),
                "{path}"
            );
        }
    }

    #[test]
    fn every_other_path_has_the_default_limit_per_route() {
        let rule = rule_for("/api/auth/admin/list-users").unwrap();
        assert_eq!((rule.window, rule.max), (Duration::from_secs(10), 100));
        assert_ne!(
            counter_key("1.2.3.4", rule, "/api/auth/admin/list-users"),
            counter_key("1.2.3.4", rule, "/api/auth/revoke-sessions")
        );
    }
}
