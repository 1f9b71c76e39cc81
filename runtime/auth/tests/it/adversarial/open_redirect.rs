//! Open-redirect attacks: callback and redirect URLs that look relative (or trusted) but send a
//! browser to another site, on every route that takes one. Social sign-in's URLs are refused
//! before the provider is looked up, so no provider runs here; `tests/it/social_oidc.rs`, which
//! runs one, checks that a refused URL starts no flow.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack};
use crate::common::Response;
use crate::ensure;

/// Each of these leads a browser away from the trusted origins (browsers drop tabs and newlines
/// from URLs, treat `\` as `/`, and some proxies decode `%2F`/`%5C`).
const FOREIGN: &[&str] = &[
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\u{0}/evil.example",
    "//evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5c/evil.example",
    " //evil.example",
    "\t//evil.example",
    "https://evil.example/",
    "https:evil.example",
    "https://evil.example\\@localhost:3000/",
    "http://localhost:3000.evil.example/",
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
];

/// Runs `send` for every foreign URL and lists those that were not refused with `status`/`code`
/// and without a `Location` header. A URL holding a NUL sent in a body may be refused before its
/// origin is read, as text no field may hold (`400 VALIDATION_ERROR`).
async fn refuses_all<F, Fut>(status: u16, code: &str, send: F) -> Outcome
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let mut through = Vec::new();
    for url in FOREIGN {
        let r = send(url).await;
        let refused = (r.status, r.code().as_str()) == (status, code)
            || (url.contains('\0') && (r.status, r.code().as_str()) == (400, "VALIDATION_ERROR"));
        if !refused || r.headers.contains_key("location") {
            through.push(format!("{url:?} -> {} {}", r.status, r.text));
        }
    }
    ensure!(through.is_empty(), "accepted: {through:?}");
    Ok(())
}

fn query(url: &str) -> String {
    stackr_auth::cookie::encode_uri_component(url)
}

async fn sign_in_callback(stack: Arc<Stack>) -> Outcome {
    refuses_all(403, "INVALID_CALLBACK_URL", |url| {
        let mut c = stack.client();
        async move {
            c.post(
                "/api/auth/sign-in/email",
                json!({"email": "nobody@example.com", "password": "password-123", "callbackURL": url}),
            )
            .await
        }
    })
    .await
}

async fn sign_up_callback(stack: Arc<Stack>) -> Outcome {
    let email = "redirected-sign-up@example.com";
    refuses_all(403, "INVALID_CALLBACK_URL", |url| {
        let mut c = stack.client();
        async move {
            c.post(
                "/api/auth/sign-up/email",
                json!({"name": "R", "email": email, "password": "password-123", "callbackURL": url}),
            )
            .await
        }
    })
    .await?;
    let created = stack
        .count(r#"select count(*) from "user" where "email" = $1"#, email)
        .await;
    ensure!(created == 0, "a user was created");
    Ok(())
}

async fn send_verification_callback(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("unverified").await;
    refuses_all(403, "INVALID_CALLBACK_URL", |url| {
        let mut c = stack.moved(&owner);
        let email = user.email.clone();
        async move {
            c.post(
                "/api/auth/send-verification-email",
                json!({"email": email, "callbackURL": url}),
            )
            .await
        }
    })
    .await
}

async fn verify_email_callback(stack: Arc<Stack>) -> Outcome {
    refuses_all(403, "INVALID_CALLBACK_URL", |url| {
        let mut c = stack.client();
        async move {
            c.get(&format!(
                "/api/auth/verify-email?token=x&callbackURL={}",
                query(url)
            ))
            .await
        }
    })
    .await
}

async fn reset_link_callback(stack: Arc<Stack>) -> Outcome {
    refuses_all(403, "INVALID_CALLBACK_URL", |url| {
        let mut c = stack.client();
        async move {
            c.get(&format!(
                "/api/auth/reset-password/x?callbackURL={}",
                query(url)
            ))
            .await
        }
    })
    .await
}

async fn reset_request_redirect(stack: Arc<Stack>) -> Outcome {
    refuses_all(403, "INVALID_REDIRECT_URL", |url| {
        let mut c = stack.client();
        async move {
            c.post(
                "/api/auth/request-password-reset",
                json!({"email": "nobody@example.com", "redirectTo": url}),
            )
            .await
        }
    })
    .await
}

/// The URLs `sign-in/social` and `link-social` send the browser to when the provider sends it
/// back, with the code refusing each.
const SOCIAL_URLS: [(&str, &str); 3] = [
    ("callbackURL", "INVALID_CALLBACK_URL"),
    ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
    ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
];

async fn social_sign_in_urls(stack: Arc<Stack>) -> Outcome {
    for (field, code) in SOCIAL_URLS {
        refuses_all(403, code, |url| {
            let mut c = stack.client();
            async move {
                c.post(
                    "/api/auth/sign-in/social",
                    json!({"provider": "corp", field: url}),
                )
                .await
            }
        })
        .await
        .map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(())
}

async fn link_social_urls(stack: Arc<Stack>) -> Outcome {
    let (owner, _) = stack.user("linker").await;
    for (field, code) in SOCIAL_URLS {
        refuses_all(403, code, |url| {
            let mut c = stack.moved(&owner);
            async move {
                c.post(
                    "/api/auth/link-social",
                    json!({"provider": "corp", field: url}),
                )
                .await
            }
        })
        .await
        .map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "sign-in with a foreign callbackURL disguised as a relative path",
            refusal: "403 INVALID_CALLBACK_URL, no Location",
            run: |s| Box::pin(sign_in_callback(s)),
        },
        Attack {
            attack: "sign-up with a foreign callbackURL (it would end up in the verification link)",
            refusal: "403 INVALID_CALLBACK_URL, no user created",
            run: |s| Box::pin(sign_up_callback(s)),
        },
        Attack {
            attack: "send-verification-email with a foreign callbackURL",
            refusal: "403 INVALID_CALLBACK_URL",
            run: |s| Box::pin(send_verification_callback(s)),
        },
        Attack {
            attack: "verify-email link with a foreign callbackURL",
            refusal: "403 INVALID_CALLBACK_URL, no Location",
            run: |s| Box::pin(verify_email_callback(s)),
        },
        Attack {
            attack: "reset-password link with a foreign callbackURL",
            refusal: "403 INVALID_CALLBACK_URL, no Location",
            run: |s| Box::pin(reset_link_callback(s)),
        },
        Attack {
            attack:
                "sign-in/social with a foreign callbackURL, errorCallbackURL or newUserCallbackURL",
            refusal: "403 INVALID_(ERROR_|NEW_USER_)CALLBACK_URL, no Location",
            run: |s| Box::pin(social_sign_in_urls(s)),
        },
        Attack {
            attack:
                "link-social with a foreign callbackURL, errorCallbackURL or newUserCallbackURL",
            refusal: "403 INVALID_(ERROR_|NEW_USER_)CALLBACK_URL, no Location",
            run: |s| Box::pin(link_social_urls(s)),
        },
        Attack {
            attack: "request-password-reset with a foreign redirectTo",
            refusal: "403 INVALID_REDIRECT_URL",
            run: |s| Box::pin(reset_request_redirect(s)),
        },
    ]
}
