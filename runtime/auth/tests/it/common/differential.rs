//! Comparing a run against the real BetterAuth with the same run against stackr-auth: what
//! each step recorded (status and body or body shape, cookie shapes), step by step.

use serde_json::{json, Value};

use super::node;
use crate::common::{Client, Options, Response, TestServer, APP_ORIGIN, SECRET};

/// What we compare for one request: status, and either the full body (errors, small answers) or
/// its shape (key lists) when values are necessarily different (ids, tokens, dates).
pub fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.iter()
                .map(|(k, v)| match v {
                    Value::Object(_) => json!({ k.clone(): shape(v) }),
                    _ => Value::String(k.clone()),
                })
                .collect(),
        ),
        Value::Array(a) => json!({"array_len": a.len(), "first": a.first().map(shape)}),
        other => json!(format!(
            "<{}>",
            if other.is_null() { "null" } else { "value" }
        )),
    }
}

/// `http://localhost:<port>` → `<baseURL>` (the two servers listen on different ports).
pub fn normalize_base(location: &str) -> String {
    match location.strip_prefix("http://localhost:") {
        Some(rest) => format!(
            "<baseURL>{}",
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
        ),
        None => location.to_owned(),
    }
}

pub struct Run {
    pub client: Client,
    pub results: Vec<(String, Value)>,
}

impl Run {
    pub fn record(&mut self, name: &str, r: &Response, full: bool) {
        let body = if r.text.is_empty() {
            json!("<empty>")
        } else {
            match serde_json::from_str::<Value>(&r.text) {
                Ok(v) if full => v,
                Ok(v) => shape(&v),
                Err(_) => json!("<not json>"),
            }
        };
        self.results
            .push((name.to_owned(), json!({"status": r.status, "body": body})));
    }

    pub fn record_code(&mut self, name: &str, r: &Response) {
        let code = serde_json::from_str::<Value>(&r.text)
            .ok()
            .and_then(|v| v.get("code").cloned());
        self.results
            .push((name.to_owned(), json!({"status": r.status, "code": code})));
    }
}

/// `name=value; attrs` → `name=<v>; attrs` (values differ by nature; names and attributes must not).
pub fn cookie_shapes(r: &Response) -> Value {
    cookie_list_shapes(&r.set_cookies())
}

/// Cookies compared without stackr's own known-device cookie, which BetterAuth has no counterpart
/// of (see `stackr_auth::known_device`); its clients ignore it.
pub fn cookie_list_shapes(cookies: &[String]) -> Value {
    json!(cookies
        .iter()
        .filter(|c| !is_known_device_cookie(c))
        .map(|c| {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            format!(
                "{name}={};{attrs}",
                if value.is_empty() { "" } else { "<v>" }
            )
        })
        .collect::<Vec<_>>())
}

/// Whether `set_cookie` sets stackr's known-device cookie.
pub fn is_known_device_cookie(set_cookie: &str) -> bool {
    let name = set_cookie.split('=').next().unwrap_or_default();
    [false, true]
        .into_iter()
        .any(|secure| stackr_auth::cookie::CookieNames::new(secure).known_device == name)
}

/// Compares the two runs step by step; `deliberate` lists steps that must differ (and why).
pub fn compare(theirs: &[(String, Value)], mine: &[(String, Value)], deliberate: &[(&str, &str)]) {
    let mut differences = vec![];
    for ((name, a), (_, b)) in theirs.iter().zip(mine.iter()) {
        if let Some((_, why)) = deliberate.iter().find(|(n, _)| n == name) {
            assert_ne!(
                a, b,
                "{name}: listed as a deliberate difference ({why}) but now identical; remove it"
            );
            continue;
        }
        if a != b {
            differences.push(format!("{name}\n  BetterAuth:  {a}\n  stackr-auth: {b}"));
        }
    }
    assert_eq!(theirs.len(), mine.len());
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// The real BetterAuth and stackr-auth, each on its own database (`ba`, `ours`) of one PostgreSQL.
pub struct Pair {
    pub ba: node::BetterAuthServer,
    pub ours: TestServer,
}

impl Pair {
    pub async fn start() -> Self {
        Self::start_with(Options::default(), &[]).await
    }

    /// With stackr-auth's options and BetterAuth's extra environment (see `interop/ba-server.mjs`).
    pub async fn start_with(opts: Options, ba_env: &[(&str, String)]) -> Self {
        let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
            .await
            .unwrap();
        let ba_db = pg.create_database("ba");
        let our_db = pg.create_database("ours");
        let ba_env: Vec<(String, String)> = ba_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let ba = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, String)> = ba_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            node::BetterAuthServer::start_with(
                stackr_testkit::free_port(),
                &ba_db,
                SECRET,
                APP_ORIGIN,
                &env,
            )
        })
        .await
        .unwrap();
        let ours = TestServer::start_on(pg, our_db, opts).await;
        Pair { ba, ours }
    }

    /// Makes a user an admin with SQL on the database `db` (`ba` or `ours`).
    pub fn promoter(&self, db: &'static str) -> impl Fn(&str) + '_ {
        move |email: &str| {
            self.ours.pg.psql(
                db,
                &format!(r#"update "user" set "role" = 'admin' where "email" = '{email}'"#),
            );
        }
    }
}
