//! Extreme numbers in every field of every endpoint (numeric fields and fields of other types
//! alike): the service must answer each with a 2xx/4xx, never fail or drop the connection.

use std::sync::Arc;

use serde_json::{json, Value};

use super::harness::{Attack, Outcome, Stack};
use crate::common::Client;
use crate::ensure;

const EXTREMES: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e308",
    "-1e308",
    "5e-324",
    "0.5",
    "-1",
    "0",
];

/// POST endpoints and their body fields.
const BODIES: &[(&str, &[&str])] = &[
    (
        "/api/auth/sign-up/email",
        &[
            "name",
            "email",
            "password",
            "image",
            "callbackURL",
            "rememberMe",
        ],
    ),
    (
        "/api/auth/sign-in/email",
        &["email", "password", "rememberMe", "callbackURL"],
    ),
    (
        "/api/auth/admin/ban-user",
        &["userId", "banReason", "banExpiresIn"],
    ),
    ("/api/auth/admin/set-role", &["userId", "role"]),
    ("/api/auth/admin/unban-user", &["userId"]),
    ("/api/auth/update-user", &["name", "image"]),
    (
        "/api/auth/change-password",
        &["newPassword", "currentPassword", "revokeOtherSessions"],
    ),
    ("/api/auth/revoke-session", &["token"]),
    ("/api/auth/two-factor/enable", &["password", "issuer"]),
    ("/api/auth/two-factor/verify-totp", &["code", "trustDevice"]),
    ("/api/auth/request-password-reset", &["email", "redirectTo"]),
    ("/api/auth/reset-password", &["token", "newPassword"]),
    (
        "/api/auth/send-verification-email",
        &["email", "callbackURL"],
    ),
];

/// GET endpoints and their query parameters.
const QUERIES: &[(&str, &[&str])] = &[
    ("/api/auth/admin/list-users", &["limit", "offset"]),
    ("/api/auth/admin/get-user", &["id"]),
    ("/api/auth/get-session", &["disableCookieCache"]),
];

/// A plausible value for a field, so that only the field under attack is wrong.
fn plausible(field: &str, victim: &str) -> Value {
    match field {
        "email" => json!("extreme@example.com"),
        "userId" => json!(victim),
        "banExpiresIn" => json!(60),
        _ => json!("password-extreme-1"),
    }
}

/// A body where `field` holds `extreme` and the other fields plausible values.
fn body(fields: &[&str], field: &str, extreme: &str, victim: &str) -> String {
    let map: serde_json::Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_owned(), plausible(f, victim)))
        .collect();
    // Splice the number in as written: serde_json would round or refuse some of them.
    Value::Object(map).to_string().replacen(
        &format!("\"{field}\":{}", plausible(field, victim)),
        &format!("\"{field}\":{extreme}"),
        1,
    )
}

/// `None` when the answer is a clean 2xx/3xx/4xx, else what went wrong.
async fn failure(req: reqwest::RequestBuilder) -> Option<String> {
    match req.send().await {
        Ok(r) if r.status().is_server_error() => Some(format!("{}", r.status())),
        Ok(_) => None,
        Err(e) => Some(format!("connection failed: {e}")),
    }
}

async fn extreme_numbers_everywhere(stack: Arc<Stack>) -> Outcome {
    let (admin, admin_user) = stack.user("extreme-admin").await;
    stack.make_admin(&admin_user.id).await;
    let (_, victim) = stack.user("extreme-victim").await;
    let mut through = Vec::new();
    for (path, fields) in BODIES {
        for field in *fields {
            for extreme in EXTREMES {
                let browser: Client = stack.moved(&admin);
                let req = browser
                    .raw()
                    .post(browser.url(path))
                    .header("origin", crate::common::APP_ORIGIN)
                    .header("cookie", browser.cookie_header())
                    .header("content-type", "application/json")
                    .body(body(fields, field, extreme, &victim.id));
                if let Some(why) = failure(req).await {
                    through.push(format!("{path} {field}={extreme}: {why}"));
                }
            }
        }
    }
    for (path, params) in QUERIES {
        for param in *params {
            for extreme in EXTREMES {
                let browser = stack.moved(&admin);
                let req = browser
                    .raw()
                    .get(format!("{}?{param}={extreme}", browser.url(path)))
                    .header("cookie", browser.cookie_header());
                if let Some(why) = failure(req).await {
                    through.push(format!("{path}?{param}={extreme}: {why}"));
                }
            }
        }
    }
    ensure!(through.is_empty(), "{through:?}");
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![Attack {
        attack:
            "extreme numbers (i64/u64 bounds, 1e308, fractions) in every field of every endpoint",
        refusal: "a clean 2xx/4xx each time, never a 5xx or a dropped connection",
        run: |s| Box::pin(extreme_numbers_everywhere(s)),
    }]
}
