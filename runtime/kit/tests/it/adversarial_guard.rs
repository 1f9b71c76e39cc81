//! The kit's guard attacked from outside, as an attacker with a browser, curl and a stolen-looking
//! token would: one running stack (auth with its production rate limits, a flexible service
//! `core`, a role-gated service `staff` allowing `editor`, and a flexible service `misconfigured`
//! presenting the wrong credential), real PostgreSQL and Redis.
//!
//! Each attack states what it tries and the refusal expected, and checks that nothing was created
//! or changed. All attacks run (a success does not stop the others); the test prints
//! `attacks tried: N, refused: M` and fails listing every attack that got through.

use crate::kit_support;

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use kit_support::{credential_of, SignedIn, Stack, StackOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use stackr_kit::Flavor;

const FOREIGN: &str = "https://evil.example";
const STAFF_ROLES: &[&str] = &["editor"];

/// Runs attacks and keeps the score.
#[derive(Default)]
struct Attacks {
    tried: usize,
    got_through: Vec<String>,
}

impl Attacks {
    /// `attack` answers `Ok` when it was refused as expected, `Err(what happened)` otherwise.
    async fn run(&mut self, name: &str, attack: impl Future<Output = Result<(), String>>) {
        self.tried += 1;
        match attack.await {
            Ok(()) => println!("refused: {name}"),
            Err(what) => {
                println!("GOT THROUGH: {name}: {what}");
                self.got_through.push(format!("{name}: {what}"));
            }
        }
    }

    fn finish(self) {
        // Straight to stderr, past the test harness's capture, so the summary is in the log of
        // every run (scripts/test.sh keeps a passing suite's output otherwise hidden).
        let _ = writeln!(
            std::io::stderr(),
            "attacks tried: {}, refused: {}",
            self.tried,
            self.tried - self.got_through.len()
        );
        assert!(
            self.got_through.is_empty(),
            "attacks that got through:\n{}",
            self.got_through.join("\n")
        );
    }
}

/// `Ok` when `got` is `want`, else a description of the answer.
fn expect(want: u16, got: (StatusCode, Value)) -> Result<(), String> {
    if got.0.as_u16() == want {
        Ok(())
    } else {
        Err(format!("expected {want}, got {} {}", got.0, got.1))
    }
}

/// `Ok` when the answer counts as a refusal, else what came back.
fn refused(ok: bool, status: StatusCode, body: impl std::fmt::Display) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("answered {status} {body}"))
    }
}

fn unchanged(what: &str, before: &str, after: &str) -> Result<(), String> {
    if before == after {
        Ok(())
    } else {
        Err(format!("{what} changed: {before} -> {after}"))
    }
}

struct Target {
    stack: Stack,
    staff: String,
    misconfigured: String,
    alice: SignedIn,
    mallory: SignedIn,
    /// Holds `editor`: passes staff's role gate, so only the origin check stands in the way.
    editor: SignedIn,
}

impl Target {
    async fn start() -> Target {
        let mut stack = Stack::start(StackOptions::new(Flavor::Flexible).rate_limits(true)).await;
        let staff = stack
            .add_service(
                "staff",
                StackOptions::new(Flavor::RoleGated).roles(STAFF_ROLES),
            )
            .await;
        let misconfigured = stack
            .add_service(
                "misconfigured",
                StackOptions::new(Flavor::Flexible).service_credential("not-the-credential"),
            )
            .await;
        let alice = stack.sign_up("alice").await;
        let mallory = stack.sign_up("mallory").await;
        let editor = stack.sign_up("ed").await;
        stack.set_role(&editor, "editor");
        Target {
            stack,
            staff,
            misconfigured,
            alice,
            mallory,
            editor,
        }
    }

    async fn core(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.stack.request(method, path, headers).await
    }

    async fn staff(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.stack
            .request_at(&self.staff, method, path, headers)
            .await
    }

    fn device_sessions(&self) -> String {
        self.stack
            .service_sql("SELECT count(*) FROM stackr_device_session")
    }

    fn core_users(&self) -> String {
        self.stack.service_sql("SELECT count(*) FROM stackr_user")
    }

    fn auth_service_accounts(&self) -> String {
        self.stack.auth_sql("SELECT count(*) FROM service_account")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_every_attack() {
    let t = Target::start().await;
    let mut attacks = Attacks::default();
    cookie_attacks(&t, &mut attacks).await;
    header_attacks(&t, &mut attacks).await;
    csrf_attacks(&t, &mut attacks).await;
    role_attacks(&t, &mut attacks).await;
    provisioning_attacks(&t, &mut attacks).await;
    device_session_attacks(&t, &mut attacks).await;
    attacks.finish();
}

/// Forged, tampered, look-alike and duplicate session cookies: each is `401` (or, with a second
/// valid cookie present, never the forged identity), and nothing is provisioned for anyone.
async fn cookie_attacks(t: &Target, attacks: &mut Attacks) {
    let users_before = t.core_users();
    let tampered = t.alice.tampered_cookie();
    let (_, alice_value) = t.alice.cookie.split_once('=').unwrap();
    let unsigned = format!(
        "better-auth.session_token={}",
        alice_value.split(['.', '%']).next().unwrap()
    );
    let forged = "better-auth.session_token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D".to_owned();
    let look_alike = format!("evil-session_token={alice_value}");
    for (name, cookie) in [
        (
            "alice's cookie with one signature character changed",
            tampered.clone(),
        ),
        ("alice's session token without its signature", unsigned),
        ("a made-up token with a well-formed signature", forged),
        (
            "alice's signed value under a look-alike cookie name",
            look_alike,
        ),
    ] {
        for path in ["/me", "/flex/me"] {
            attacks
                .run(&format!("{name} at core {path} → 401"), async {
                    expect(401, t.core(Method::GET, path, &[("cookie", &cookie)]).await)
                })
                .await;
        }
        attacks
            .run(&format!("{name} at staff /me → 401"), async {
                expect(
                    401,
                    t.staff(Method::GET, "/me", &[("cookie", &cookie)]).await,
                )
            })
            .await;
    }
    attacks
        .run("two tampered session cookies in one header → 401", async {
            let both = format!("{tampered}; {}", t.mallory.tampered_cookie());
            expect(401, t.core(Method::GET, "/me", &[("cookie", &both)]).await)
        })
        .await;
    let joined = format!("{tampered}; {}", t.mallory.cookie);
    let beside: [(&str, Vec<(&str, &str)>); 2] = [
        (
            "alice's tampered cookie beside mallory's valid one",
            vec![("cookie", &joined)],
        ),
        (
            "mallory's valid cookie in a second cookie header after alice's tampered one",
            vec![("cookie", &tampered), ("cookie", &t.mallory.cookie)],
        ),
    ];
    for (name, headers) in beside {
        attacks
            .run(&format!("{name} → never alice"), async {
                let (status, body) = t.core(Method::GET, "/me", &headers).await;
                refused(body["id"] != t.alice.user_id.as_str(), status, body)
            })
            .await;
    }
    attacks
        .run("no user was provisioned by any forged cookie", async {
            unchanged("stackr_user rows", &users_before, &t.core_users())
        })
        .await;
}

/// Oversize headers and client-supplied identity headers.
async fn header_attacks(t: &Target, attacks: &mut Attacks) {
    let big = format!("better-auth.session_token={}", "A".repeat(64 * 1024));
    attacks
        .run("a 64 KiB session cookie → 4xx, service stays up", async {
            let (status, body) = t.core(Method::GET, "/me", &[("cookie", &big)]).await;
            if !status.is_client_error() {
                return Err(format!("answered {status} {body}"));
            }
            expect(200, t.core(Method::GET, "/health", &[]).await)
        })
        .await;
    attacks
        .run("a 64 KiB device token → 4xx, service stays up", async {
            let token = format!("sds_{}", "A".repeat(64 * 1024));
            let (status, body) = t
                .core(
                    Method::GET,
                    "/flex/me",
                    &[("x-device-session-token", &token)],
                )
                .await;
            if !status.is_client_error() {
                return Err(format!("answered {status} {body}"));
            }
            expect(200, t.core(Method::GET, "/health", &[]).await)
        })
        .await;
    attacks
        .run(
            "a 1 MiB cookie header → refused (4xx or connection closed), service stays up",
            async {
                let huge = format!("better-auth.session_token={}", "A".repeat(1 << 20));
                let answer = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .unwrap()
                    .get(format!("{}/me", t.stack.service_url))
                    .header("cookie", huge)
                    .send()
                    .await;
                if let Ok(res) = answer {
                    if !res.status().is_client_error() {
                        return Err(format!("answered {}", res.status()));
                    }
                }
                expect(200, t.core(Method::GET, "/health", &[]).await)
            },
        )
        .await;
    let identity_headers = [
        "x-user-id",
        "x-auth-user-id",
        "x-forwarded-user",
        "x-stackr-user",
        "x-remote-user",
    ];
    for header in identity_headers {
        attacks
            .run(
                &format!("`{header}: alice` without a cookie → 401"),
                async {
                    expect(
                        401,
                        t.core(Method::GET, "/flex/me", &[(header, &t.alice.user_id)])
                            .await,
                    )
                },
            )
            .await;
        attacks
            .run(
                &format!("mallory's cookie with `{header}: alice` → mallory, not alice"),
                async {
                    let (status, body) = t
                        .core(
                            Method::GET,
                            "/flex/me",
                            &[("cookie", &t.mallory.cookie), (header, &t.alice.user_id)],
                        )
                        .await;
                    refused(
                        status == 200 && body["userId"] == t.mallory.user_id.as_str(),
                        status,
                        body,
                    )
                },
            )
            .await;
    }
}

/// Cross-site requests riding alice's cookie: the kit's device routes and the services' own
/// state changes refuse them, and no device session, provisioning record or note appears.
async fn csrf_attacks(t: &Target, attacks: &mut Attacks) {
    let devices_before = t.device_sessions();
    let look_alike = format!("{}.evil.example", t.stack.trusted_origin());
    let null_cross_site: &[(&str, &str)] = &[("origin", "null"), ("sec-fetch-site", "cross-site")];
    let variants = [
        (
            "foreign Origin, text/plain body",
            vec![("origin", FOREIGN), ("content-type", "text/plain")],
            "INVALID_ORIGIN",
        ),
        ("no Origin and no Referer", vec![], "MISSING_OR_NULL_ORIGIN"),
        (
            "`Origin: null`",
            vec![("origin", "null")],
            "MISSING_OR_NULL_ORIGIN",
        ),
        (
            "`Origin: null` from a cross-site sandboxed frame",
            null_cross_site.to_vec(),
            "MISSING_OR_NULL_ORIGIN",
        ),
        (
            "foreign Referer, no Origin",
            vec![("referer", "https://evil.example/form.html")],
            "INVALID_ORIGIN",
        ),
        (
            "look-alike Origin (trusted origin as a subdomain prefix)",
            vec![("origin", look_alike.as_str())],
            "INVALID_ORIGIN",
        ),
    ];
    for (name, extra, code) in &variants {
        let mut headers = vec![("cookie", t.alice.cookie.as_str())];
        headers.extend(extra.iter().copied());
        let mut editor_headers = vec![("cookie", t.editor.cookie.as_str())];
        editor_headers.extend(extra.iter().copied());
        let targets = [
            ("core", &t.stack.service_url, "/device-sessions", &headers),
            ("staff", &t.staff, "/notes", &editor_headers),
        ];
        for (service, base, path, headers) in targets {
            attacks
                .run(
                    &format!("CSRF POST {path} at {service}, {name} → 403 {code}"),
                    async {
                        let (status, body) =
                            t.stack.request_at(base, Method::POST, path, headers).await;
                        refused(status == 403 && body["code"] == *code, status, body)
                    },
                )
                .await;
        }
    }
    attacks
        .run(
            "no device session was created by a cross-site request",
            async { unchanged("device sessions", &devices_before, &t.device_sessions()) },
        )
        .await;
}

/// Role escalation at the role-gated service: only `editor` (or `admin`) passes.
async fn role_attacks(t: &Target, attacks: &mut Attacks) {
    let eve = t.stack.sign_up("eve").await;
    attacks
        .run("a user without a role at staff → 403", async {
            expect(
                403,
                t.staff(Method::GET, "/me", &[("cookie", &eve.cookie)])
                    .await,
            )
        })
        .await;
    for header in [
        ("x-user-role", "admin"),
        ("x-role", "editor"),
        ("x-stackr-roles", "admin"),
    ] {
        attacks
            .run(
                &format!(
                    "a user without a role claiming `{}: {}` → 403",
                    header.0, header.1
                ),
                async {
                    expect(
                        403,
                        t.staff(Method::GET, "/me", &[("cookie", &eve.cookie), header])
                            .await,
                    )
                },
            )
            .await;
    }
    for near_miss in [
        "editors",
        "Editor",
        "editor-in-chief",
        "user admin",
        " editorial",
    ] {
        attacks
            .run(
                &format!("role `{near_miss}` is not `editor` → 403"),
                async {
                    t.stack.set_role(&eve, near_miss);
                    expect(
                        403,
                        t.staff(Method::GET, "/me", &[("cookie", &eve.cookie)])
                            .await,
                    )
                },
            )
            .await;
    }
    t.stack.set_role(&eve, "user");
    attacks
        .run(
            "setting one's own role through auth's update-user → refused, still 403",
            async {
                let _ = t
                    .stack
                    .browser
                    .post(
                        "/api/auth/update-user",
                        Some(&eve.cookie),
                        serde_json::json!({"role": "admin"}),
                    )
                    .await;
                let role = t.stack.auth_sql(&format!(
                    "SELECT role FROM \"user\" WHERE id = '{}'",
                    eve.user_id
                ));
                unchanged("eve's role", "user", &role)?;
                expect(
                    403,
                    t.staff(Method::GET, "/me", &[("cookie", &eve.cookie)])
                        .await,
                )
            },
        )
        .await;
}

/// Provisioning and the owner-status endpoint with missing or wrong service credentials.
async fn provisioning_attacks(t: &Target, attacks: &mut Attacks) {
    let accounts_before = t.auth_service_accounts();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let provision = |service: &str, bearer: Option<String>| {
        let mut req = http
            .post(format!("{}/api/auth/provision", t.stack.auth.url))
            .header("cookie", &t.mallory.cookie)
            .header("x-stackr-service", service);
        if let Some(bearer) = bearer {
            req = req.header("authorization", format!("Bearer {bearer}"));
        }
        req
    };
    let staff_credential = credential_of("staff");
    let cases = [
        ("no credential", provision("core", None)),
        (
            "a wrong credential",
            provision("core", Some("guess".into())),
        ),
        (
            "staff's credential claiming to be core",
            provision("core", Some(staff_credential.clone())),
        ),
        (
            "an unknown service name",
            provision("billing", Some(credential_of("billing"))),
        ),
    ];
    for (name, request) in cases {
        attacks
            .run(
                &format!("mallory provisions herself with {name} → 403"),
                async {
                    let status = request.send().await.map_err(|e| e.to_string())?.status();
                    if status == 403 {
                        Ok(())
                    } else {
                        Err(format!("answered {status}"))
                    }
                },
            )
            .await;
    }
    for (name, bearer) in [("no", None), ("a wrong", Some("guess".to_owned()))] {
        attacks
            .run(&format!("asking auth about alice's standing with {name} credential → 403, nothing disclosed"), async {
                let mut req = http
                    .get(format!("{}/api/auth/user-status", t.stack.auth.url))
                    .query(&[("userId", t.alice.user_id.as_str())])
                    .header("x-stackr-service", "core");
                if let Some(bearer) = &bearer {
                    req = req.header("authorization", format!("Bearer {bearer}"));
                }
                let res = req.send().await.map_err(|e| e.to_string())?;
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                refused(status == 403 && !body.contains("credentialEpoch"), status, body)
            })
            .await;
    }
    attacks
        .run(
            "a service presenting the wrong credential → 503, no half record",
            async {
                let (status, body) = t
                    .stack
                    .request_at(
                        &t.misconfigured,
                        Method::GET,
                        "/flex/me",
                        &[("cookie", &t.alice.cookie)],
                    )
                    .await;
                expect(503, (status, body))?;
                unchanged(
                    "misconfigured's stackr_user rows",
                    "0",
                    &t.stack
                        .pg
                        .psql("misconfigured", "SELECT count(*) FROM stackr_user"),
                )
            },
        )
        .await;
    attacks
        .run("no service account was recorded by any of these", async {
            unchanged(
                "service_account rows",
                &accounts_before,
                &t.auth_service_accounts(),
            )
        })
        .await;
    attacks
        .run(
            "20 concurrent first calls of a new user → one record, one call to auth",
            async {
                let bob = t.stack.sign_up("bob").await;
                let calls_before = t.stack.proxy.count("/api/auth/provision");
                let mut calls = tokio::task::JoinSet::new();
                for _ in 0..20 {
                    let (url, cookie) = (
                        format!("{}/flex/me", t.stack.service_url),
                        bob.cookie.clone(),
                    );
                    calls.spawn(async move {
                        let http = reqwest::Client::builder().no_proxy().build().unwrap();
                        let res = http.get(url).header("cookie", cookie).send().await.unwrap();
                        (res.status(), Value::Null)
                    });
                }
                while let Some(answer) = calls.join_next().await {
                    expect(200, answer.unwrap())?;
                }
                unchanged(
                    "provision calls beyond one",
                    &(calls_before + 1).to_string(),
                    &t.stack.proxy.count("/api/auth/provision").to_string(),
                )?;
                unchanged(
                    "bob's stackr_user rows",
                    "1",
                    &t.stack.service_sql(&format!(
                        "SELECT count(*) FROM stackr_user WHERE user_id = '{}'",
                        bob.user_id
                    )),
                )
            },
        )
        .await;
}

/// Device sessions: forged tokens, minting devices from devices, other users' devices, and
/// devices outliving the user session they came from.
async fn device_session_attacks(t: &Target, attacks: &mut Attacks) {
    let carol = t.stack.sign_up("carol").await;
    let token = t.stack.create_device_session(&carol).await;
    let devices_before = t.device_sessions();
    for (name, forged) in [
        (
            "a made-up token",
            "sds_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ),
        ("carol's token with its last character changed", {
            let mut t = token.clone();
            let last = t.pop().unwrap();
            t.push(if last == 'A' { 'B' } else { 'A' });
            t
        }),
        ("an SQL wildcard token", "sds_%' OR '1'='1".to_owned()),
        (
            "carol's token without its prefix",
            token.trim_start_matches("sds_").to_owned(),
        ),
    ] {
        attacks
            .run(&format!("{name} → 401"), async {
                expect(
                    401,
                    t.core(
                        Method::GET,
                        "/flex/me",
                        &[("x-device-session-token", &forged)],
                    )
                    .await,
                )
            })
            .await;
    }
    attacks
        .run(
            "a device mints another device session → 401, none created",
            async {
                expect(
                    401,
                    t.core(
                        Method::POST,
                        "/device-sessions",
                        &[
                            ("x-device-session-token", &token),
                            ("origin", t.stack.trusted_origin()),
                        ],
                    )
                    .await,
                )?;
                unchanged("device sessions", &devices_before, &t.device_sessions())
            },
        )
        .await;
    attacks
        .run(
            "mallory revokes carol's device → 404, it still works",
            async {
                let id = t.stack.service_sql(&format!(
                    "SELECT id FROM stackr_device_session WHERE user_id = '{}'",
                    carol.user_id
                ));
                expect(
                    404,
                    t.core(
                        Method::DELETE,
                        &format!("/device-sessions/{id}"),
                        &[
                            ("cookie", &t.mallory.cookie),
                            ("origin", t.stack.trusted_origin()),
                        ],
                    )
                    .await,
                )?;
                expect(
                    200,
                    (
                        StatusCode::from_u16(t.stack.device_status(&token).await).unwrap(),
                        Value::Null,
                    ),
                )
            },
        )
        .await;
    attacks
        .run(
            "carol's device after she signs out everywhere → 401",
            async {
                t.stack.revoke_sessions(&carol).await;
                wait_refused(t, &token).await
            },
        )
        .await;
    let dave = t.stack.sign_up("dave").await;
    let dave_token = t.stack.create_device_session(&dave).await;
    attacks
        .run("dave's device after an admin bans him → 401", async {
            t.stack.ban(&dave).await;
            wait_refused(t, &dave_token).await
        })
        .await;
    let erin = t.stack.sign_up("erin").await;
    let erin_token = t.stack.create_device_session(&erin).await;
    attacks
        .run("erin's device after she is deleted → 401", async {
            t.stack.delete_user(&erin);
            wait_refused(t, &erin_token).await
        })
        .await;
}

/// The guard's cache is off in this stack: refusal is immediate, the wait absorbs a slow machine.
async fn wait_refused(t: &Target, token: &str) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = t.stack.device_status(token).await;
        if status == 401 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("still {status} after 10 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
