//! Social sign-in against a real, certified OpenID Connect provider (oidc-provider, run by node
//! from `interop/oidc/`): the whole authorization-code flow as a browser drives it (redirects,
//! the provider's login and consent forms, cookies per host), ending with a session that
//! get-session accepts; account linking and unlinking; and the attacks that must fail.

use crate::common;
use crate::common::node;
use crate::common::oidc_browser;

use common::{Options, TestServer, APP_ORIGIN};
use node::OidcProvider;
use oidc_browser::{
    app, location, provider_config, query_param, with_query, Browser, End, CLIENT_ID,
    CLIENT_SECRET, PROVIDER,
};
use serde_json::json;

struct Stack {
    auth: TestServer,
    op: OidcProvider,
}

async fn stack() -> Stack {
    let op_port = stackr_testkit::free_port();
    let auth = TestServer::start_with(Options {
        oauth_providers: vec![provider_config(op_port)],
        ..Default::default()
    })
    .await;
    let redirect_uri = stackr_auth::oauth::redirect_uri(&auth.state.config.base(), PROVIDER);
    let op = tokio::task::spawn_blocking(move || {
        OidcProvider::start(op_port, CLIENT_ID, CLIENT_SECRET, &[redirect_uri])
    })
    .await
    .unwrap();
    Stack { auth, op }
}

fn count(auth: &TestServer, sql: &str) -> i64 {
    auth.psql(sql).trim().parse().unwrap()
}

fn corp_accounts(auth: &TestServer) -> i64 {
    count(
        auth,
        r#"select count(*) from "account" where "providerId" = 'corp'"#,
    )
}

fn users(auth: &TestServer) -> i64 {
    count(auth, r#"select count(*) from "user""#)
}

fn new_browser(stack: &Stack) -> Browser {
    Browser::new(
        stack.auth.client(),
        stack.auth.state.config.base(),
        &stack.op.issuer(),
    )
}

async fn set_id_token_mode(stack: &Stack, mode: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/test/id-token", stack.op.issuer()))
        .body(mode.to_owned())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn first_sign_in_creates_a_user_the_second_reuses_it() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let to = app(
        browser
            .social(
                "bob",
                json!({"callbackURL": format!("{APP_ORIGIN}/dashboard"), "newUserCallbackURL": format!("{APP_ORIGIN}/welcome")}),
            )
            .await,
    );
    assert_eq!(
        to,
        format!("{APP_ORIGIN}/welcome"),
        "a new user goes to newUserCallbackURL"
    );
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], "bob@example.com");
    assert_eq!(session["user"]["name"], "Bob Provider");
    assert_eq!(session["user"]["emailVerified"], true);
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(corp_accounts(&stack.auth), 1);
    // Tokens are sealed with the auth secret at rest, never stored as the provider sent them.
    let stored = stack.auth.psql(
        r#"select "accessToken" || ' ' || "idToken" from "account" where "providerId" = 'corp'"#,
    );
    for sealed in stored.split_whitespace() {
        assert!(
            sealed.len() > 64 && sealed.chars().all(|c| c.is_ascii_hexdigit()),
            "a token is stored unsealed: {sealed}"
        );
    }

    let mut again = new_browser(&stack);
    let to = app(again
        .social(
            "bob",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"}),
        )
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(again.auth.session().await["user"]["id"], user_id.as_str());
    assert_eq!(
        corp_accounts(&stack.auth),
        1,
        "the second sign-in reuses the account"
    );
    assert_eq!(users(&stack.auth), 1);
}

/// Mallory, whose provider address is victim@example.com, unverified there, signs in: her
/// browser and where it ends.
async fn mallory_signs_in(stack: &Stack) -> (Browser, String) {
    let mut mallory = new_browser(stack);
    let to = app(mallory
        .social(
            "mallory",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    (mallory, to)
}

#[tokio::test]
async fn an_unverified_provider_address_never_takes_over_an_account() {
    let stack = stack().await;
    let mut victim = stack.auth.client();
    assert_eq!(
        victim
            .sign_up("Victim", "victim@example.com", "victim-password-1")
            .await
            .status,
        200
    );
    stack
        .auth
        .psql(r#"update "user" set "emailVerified" = true where "email" = 'victim@example.com'"#);

    let (mut mallory, to) = mallory_signs_in(&stack).await;
    assert!(to.ends_with("/oops?error=account_not_linked"), "{to}");
    assert_eq!(corp_accounts(&stack.auth), 0);
    assert!(mallory.auth.session().await.is_null());
}

/// An address the provider has not verified makes no account: the account would hold the
/// address for whoever typed it in at the provider, and when its owner later claimed it (a
/// password reset through the mailbox, a verification), the identity linked to it would still
/// sign in to it.
#[tokio::test]
async fn an_unverified_provider_address_makes_no_account() {
    let stack = stack().await;
    let (mut mallory, to) = mallory_signs_in(&stack).await;
    assert!(to.ends_with("/oops?error=email_not_verified"), "{to}");
    assert_eq!(users(&stack.auth), 0, "no user holds the address");
    assert_eq!(corp_accounts(&stack.auth), 0);
    assert!(mallory.auth.session().await.is_null());
    // The address's owner signs up with it.
    let mut victim = stack.auth.client();
    let r = victim
        .sign_up("Victim", "victim@example.com", "victim-password-1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// What a provider vouches for is the string it sent. `" carol@example.com"` is no address, and
/// trimmed (as stored addresses are normalised) it would be carol's: an account for carol's
/// address, held by an identity that never proved it, which her password reset would then open
/// to that identity too. Such an address counts as none.
#[tokio::test]
async fn a_provider_address_that_is_not_one_is_not_trimmed_into_another() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social(
            "padded",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert_eq!(to, "/oops?error=email_not_found");
    assert_eq!(users(&stack.auth), 0, "no user holds carol's address");
    assert_eq!(corp_accounts(&stack.auth), 0);
    assert!(browser.auth.session().await.is_null());
}

/// The normalisation of stored addresses turns the Kelvin sign (U+212A) into an ASCII `k`: a
/// provider vouching for `"\u{212A}im@example.com"` vouched for that string, not for kim's
/// address, which it would otherwise make (or link to). Such an address counts as none.
#[tokio::test]
async fn a_provider_address_whose_letter_normalises_into_ascii_is_not_taken_for_another() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social(
            "kelvin",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert_eq!(to, "/oops?error=email_not_found");
    assert_eq!(users(&stack.auth), 0, "no user holds kim's address");
    assert_eq!(corp_accounts(&stack.auth), 0);
    assert!(browser.auth.session().await.is_null());
}

/// A genuine letter outside ASCII, sent decomposed (`e` + U+0301), is an address like any other:
/// it signs in, stored composed.
#[tokio::test]
async fn a_provider_address_with_a_letter_outside_ascii_signs_in() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social(
            "cafe",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert_eq!(to, "/dashboard");
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], "caf\u{e9}@example.com");
    assert_eq!(corp_accounts(&stack.auth), 1);
}

/// Someone can sign up first with another's address (no verification required, the default)
/// and keep the session it gives. A password chosen before the address was proved may be that
/// stranger's: the provider identity of the address's owner is not linked to such an account,
/// even once the owner has proved the address (a verification mail the stranger asked for), so
/// the owner never works inside an account whose password and sessions are the stranger's.
/// Once the owner sets the password through a reset link (which ends every session), it is.
#[tokio::test]
async fn a_verified_provider_address_links_only_to_a_user_whose_password_the_mailbox_chose() {
    let stack = stack().await;
    let mut stranger = stack.auth.client();
    let r = stranger
        .sign_up("Alice", "alice@example.com", "stranger-password-1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user_id = r.json()["user"]["id"].as_str().unwrap().to_owned();

    // Not yet verified locally: no link (BetterAuth's requireLocalEmailVerified).
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social("alice", json!({"callbackURL": "/dashboard"}))
        .await);
    assert!(to.contains("error=account_not_linked"), "{to}");

    // The stranger has a verification mail sent; the address's owner follows its link.
    let r = stack
        .auth
        .client()
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = stack.auth.wait_for_link("alice@example.com", 1).await;
    let path = &link[link.find("/api/auth/").unwrap()..];
    let r = stack.auth.client().get(path).await;
    assert!(r.status < 400, "{} {}", r.status, r.text);
    assert_eq!(
        stack
            .auth
            .psql(r#"select "emailVerified" from "user" where "email" = 'alice@example.com'"#)
            .trim(),
        "t"
    );

    let mut owner = new_browser(&stack);
    let to = app(owner
        .social(
            "alice",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(to.ends_with("/oops?error=account_not_linked"), "{to}");
    assert!(owner.auth.session().await.is_null());
    assert_eq!(corp_accounts(&stack.auth), 0);

    // The owner takes the address back by mail: the stranger's sessions end.
    stack
        .auth
        .reset_password("alice@example.com", 2, "alice-password-1")
        .await;
    assert!(stranger.session().await.is_null());
    let mut owner = new_browser(&stack);
    let to = app(owner
        .social("alice", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(owner.auth.session().await["user"]["id"], user_id.as_str());
    assert_eq!(corp_accounts(&stack.auth), 1);
}

/// The holder of an account whose address is verified moves it to another's address with
/// change-email; the mail to that address says only to click to make it the account's address,
/// and its owner does. The account's password is the holder's, chosen before the address was
/// proved, as after a sign-up with another's address: the owner's provider identity must not be
/// linked to it by the address (the owner would sign in, unaware, to an account whose password
/// and sessions are the holder's), until the owner sets the password through a reset link.
#[tokio::test]
async fn a_provider_address_does_not_link_to_an_account_moved_to_it_by_a_change_email_link() {
    let stack = stack().await;
    let auth = &stack.auth;
    let mut holder = auth.client();
    let r = holder
        .sign_up("Mal", "mal@evil.example", "holder-password-1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let account = r.json()["user"]["id"].as_str().unwrap().to_owned();
    // The holder proves their own mailbox: the address is verified, the password set by mail.
    auth.psql(r#"update "user" set "emailVerified" = true where "email" = 'mal@evil.example'"#);
    auth.reset_password("mal@evil.example", 1, "holder-password-2")
        .await;
    let r = holder
        .sign_in("mal@evil.example", "holder-password-2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    auth.move_address(&mut holder, "mal@evil.example", 2, "alice@example.com")
        .await;
    let moved = holder.session().await;
    assert_eq!(moved["user"]["email"], "alice@example.com", "{moved}");
    assert_eq!(moved["user"]["emailVerified"], true, "{moved}");

    let mut owner = new_browser(&stack);
    let to = app(owner
        .social(
            "alice",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(
        to.ends_with("/oops?error=account_not_linked"),
        "the owner's identity signed in to the holder's account: {to}"
    );
    assert!(owner.auth.session().await.is_null());
    assert_eq!(corp_accounts(auth), 0);

    // The owner sets the password by mail (the holder's sessions end): the identity links.
    auth.reset_password("alice@example.com", 2, "alice-password-1")
        .await;
    assert!(holder.session().await.is_null());
    let mut owner = new_browser(&stack);
    let to = app(owner
        .social("alice", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(owner.auth.session().await["user"]["id"], account.as_str());
    assert_eq!(corp_accounts(auth), 1);
}

/// As above, for an account with no password, made by the holder's own provider identity: the
/// identity moves with the account, and would sign the holder in to it once the owner's identity
/// had been linked to it by the address.
#[tokio::test]
async fn a_provider_address_does_not_link_to_an_account_of_another_identity_moved_to_it() {
    let stack = stack().await;
    let auth = &stack.auth;
    let mut holder = new_browser(&stack);
    let to = app(holder
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    auth.move_address(&mut holder.auth, "bob@example.com", 1, "alice@example.com")
        .await;
    let moved = holder.auth.session().await;
    assert_eq!(moved["user"]["email"], "alice@example.com", "{moved}");
    assert_eq!(moved["user"]["emailVerified"], true, "{moved}");

    let mut owner = new_browser(&stack);
    let to = app(owner
        .social(
            "alice",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(
        to.ends_with("/oops?error=account_not_linked"),
        "the owner's identity signed in to the holder's account: {to}"
    );
    assert_eq!(corp_accounts(auth), 1, "only the holder's identity");
}

/// Once the address's owner claims an account moved to their address (a password set through a
/// reset link at it), the provider identities linked before, which came with the account, go:
/// the holder's identity signed them in to what is now the owner's account. Identities linked
/// after that reset stay through the next one.
#[tokio::test]
async fn the_identities_of_an_account_moved_to_an_address_go_when_its_owner_claims_it() {
    let stack = stack().await;
    let auth = &stack.auth;
    let mut holder = new_browser(&stack);
    let to = app(holder
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    let account = holder.auth.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    auth.move_address(&mut holder.auth, "bob@example.com", 1, "alice@example.com")
        .await;

    auth.reset_password("alice@example.com", 2, "alice-password-1")
        .await;
    assert!(holder.auth.session().await.is_null());
    let mut holder = new_browser(&stack);
    let to = app(holder
        .social(
            "bob",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"}),
        )
        .await);
    let session = holder.auth.session().await;
    assert_ne!(
        session["user"]["id"],
        account.as_str(),
        "the holder's identity still signs in to the owner's account ({to})"
    );
    let identities_of = |user: &str| {
        count(
            auth,
            &format!(
                r#"select count(*) from "account" where "userId" = '{user}' and "providerId" = 'corp'"#
            ),
        )
    };
    assert_eq!(identities_of(&account), 0);

    // The owner's own identity, linked after the claim, stays through a reset as any way in does.
    let mut owner = new_browser(&stack);
    let to = app(owner
        .social("alice", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(owner.auth.session().await["user"]["id"], account.as_str());
    auth.reset_password("alice@example.com", 3, "alice-password-2")
        .await;
    assert_eq!(identities_of(&account), 1);
    let mut owner = new_browser(&stack);
    let to = app(owner
        .social("alice", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(owner.auth.session().await["user"]["id"], account.as_str());
}

/// Passwords stored before auth recorded who chose them count as chosen before the address was
/// proved, unless they were set through a reset link: the upgrade leaves no account a stranger
/// may have signed up for open to linking.
#[tokio::test]
async fn an_upgrade_counts_stored_passwords_as_unproved_unless_set_through_a_reset_link() {
    let mut auth = common::TestServer::start().await;
    let mut client = auth.client();
    client
        .sign_up("Sam", "sam@example.com", "sam-password-1")
        .await;
    client
        .sign_up("Rae", "rae@example.com", "rae-password-1")
        .await;
    auth.reset_password("rae@example.com", 1, "rae-password-2")
        .await;
    // As an older auth left them: nothing recorded; the reset recorded as such.
    auth.psql(r#"update "credential_epoch" set "password_unproved" = false"#);
    auth.psql("delete from stackr_auth_migrations where name = 'password_unproved'");

    auth.restart_with(Options::default()).await;

    let unproved = auth.psql(
        r#"select u."email" || '=' || e."password_unproved" from "credential_epoch" e join "user" u on u."id" = e."user_id" order by 1"#,
    );
    assert_eq!(
        unproved.split_whitespace().collect::<Vec<_>>(),
        ["rae@example.com=false", "sam@example.com=true"]
    );
}

/// Accounts moved to their address before auth recorded moves count as moved and unproved while
/// their password still counts as chosen before the address was proved: the upgrade leaves no
/// moved account's provider identities to outlive its owner's reset.
#[tokio::test]
async fn an_upgrade_counts_moved_accounts_as_unproved_unless_reset_since() {
    let mut auth = common::TestServer::start().await;
    for (name, from, to) in [
        ("Sam", "sam@example.com", Some("sam@new.example")),
        ("Rae", "rae@example.com", Some("rae@new.example")),
        ("Tom", "tom@example.com", None),
    ] {
        let mut client = auth.client();
        client.sign_up(name, from, "some-password-1").await;
        if let Some(to) = to {
            let link = common::change_link(&auth, &mut client, to).await;
            let r = client.get(&link[link.find("/api/").unwrap()..]).await;
            assert!(r.status < 400, "{to}: {} {}", r.status, r.text);
        }
    }
    auth.reset_password("rae@new.example", 2, "rae-password-2")
        .await;
    // As an older auth left them: nothing recorded.
    auth.psql(r#"update "credential_epoch" set "address_moved_unproved" = false"#);
    auth.psql("delete from stackr_auth_migrations where name = 'address_moved_unproved'");

    auth.restart_with(Options::default()).await;

    let moved = auth.psql(
        r#"select u."email" || '=' || e."address_moved_unproved" from "credential_epoch" e join "user" u on u."id" = e."user_id" order by 1"#,
    );
    assert_eq!(
        moved.split_whitespace().collect::<Vec<_>>(),
        [
            "rae@new.example=false",
            "sam@new.example=true",
            "tom@example.com=false"
        ]
    );
}

#[tokio::test]
async fn link_list_and_unlink_accounts() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let r = browser
        .auth
        .sign_up("Alice", "alice@example.com", "alice-password-1")
        .await;
    assert_eq!(r.status, 200);

    let r = browser.auth.get("/api/auth/list-accounts").await;
    let accounts = r.json();
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(accounts[0]["providerId"], "credential");
    let keys: Vec<&String> = accounts[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "accountId",
            "providerId",
            "userId",
            "createdAt",
            "updatedAt",
            "id",
            "scopes"
        ]
    );

    let r = browser
        .post_auth(
            "/api/auth/link-social",
            json!({"provider": PROVIDER, "callbackURL": "/settings"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["redirect"], true);
    let to = app(browser
        .follow(r.json()["url"].as_str().unwrap().to_owned(), "alice", false)
        .await);
    assert_eq!(to, "/settings");

    let accounts = browser.auth.get("/api/auth/list-accounts").await.json();
    let corp = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["providerId"] == PROVIDER)
        .expect("the provider identity is linked");
    assert_eq!(corp["accountId"], "alice");
    assert_eq!(corp["scopes"], json!(["openid", "email", "profile"]));
    let credential_id = accounts[0]["id"].as_str().unwrap().to_owned();
    let corp_id = corp["id"].as_str().unwrap().to_owned();

    // Linking an identity whose address is someone else's is refused.
    let r = browser
        .post_auth("/api/auth/link-social", json!({"provider": PROVIDER, "callbackURL": "/settings", "errorCallbackURL": "/settings"}))
        .await;
    let mut other_op_user = new_browser(&stack);
    other_op_user.auth = std::mem::replace(&mut browser.auth, stack.auth.client());
    let to = app(other_op_user
        .follow(r.json()["url"].as_str().unwrap().to_owned(), "bob", false)
        .await);
    assert!(to.ends_with("/settings?error=email_does_not_match"), "{to}");
    browser.auth = other_op_user.auth;

    let r = browser
        .post_auth(
            "/api/auth/unlink-account",
            json!({"accountId": "no-such-account"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "ACCOUNT_NOT_FOUND".into()));
    let r = browser
        .post_auth(
            "/api/auth/unlink-account",
            json!({"accountId": credential_id}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": true}));
    let r = browser
        .post_auth("/api/auth/unlink-account", json!({"accountId": corp_id}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "FAILED_TO_UNLINK_LAST_ACCOUNT".into())
    );
    assert_eq!(corp_accounts(&stack.auth), 1);

    // Without a session: 401.
    let mut anonymous = stack.auth.client();
    assert_eq!(anonymous.get("/api/auth/list-accounts").await.status, 401);
    let r = anonymous
        .post("/api/auth/link-social", json!({"provider": PROVIDER}))
        .await;
    assert_eq!(r.status, 401);
}

/// `link-social` as a way to take an identity: one linked to another user stays theirs, even to
/// a user now holding the address it vouches for (its owner moved to another address); and an
/// identity whose address the provider does not vouch for is linked to nobody, even to a user
/// whose address it names.
#[tokio::test]
async fn a_link_takes_no_identity_of_another_user_nor_an_unvouched_one() {
    let stack = stack().await;
    app(new_browser(&stack)
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    stack.auth.psql(
        r#"update "user" set "email" = 'bob-moved@example.com' where "email" = 'bob@example.com'"#,
    );
    let owner = stack
        .auth
        .psql(r#"select "userId" from "account" where "providerId" = 'corp'"#)
        .trim()
        .to_owned();
    for (login, address, refusal) in [
        (
            "bob",
            "bob@example.com",
            "account_already_linked_to_different_user",
        ),
        ("mallory", "victim@example.com", "unable_to_link_account"),
    ] {
        let mut browser = new_browser(&stack);
        let r = browser
            .auth
            .sign_up("Taker", address, "taker-password-1")
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = browser
            .post_auth(
                "/api/auth/link-social",
                json!({"provider": PROVIDER, "callbackURL": "/settings", "errorCallbackURL": "/oops"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let to = app(browser
            .follow(r.json()["url"].as_str().unwrap().to_owned(), login, false)
            .await);
        assert_eq!(to, format!("/oops?error={refusal}"), "{login}");
    }
    assert_eq!(corp_accounts(&stack.auth), 1);
    assert_eq!(
        stack
            .auth
            .psql(r#"select "userId" from "account" where "providerId" = 'corp'"#)
            .trim(),
        owner,
        "the identity changed hands"
    );
}

/// A linked provider identity is a way in to the account. A link asked for with a session that
/// is signed out everywhere before the link is written links nothing: the callback waits past
/// its check of that session (on the identity's lock, held here) while the owner's
/// `revoke-sessions` lands.
#[tokio::test]
async fn a_link_whose_session_ends_before_it_is_written_links_nothing() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let r = browser
        .auth
        .sign_up("Alice", "alice@example.com", "alice-password-1")
        .await;
    assert_eq!(r.status, 200);
    let mut owner = stack.auth.client();
    let r = owner.sign_in("alice@example.com", "alice-password-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = browser
        .post_auth(
            "/api/auth/link-social",
            json!({"provider": PROVIDER, "callbackURL": "/settings", "errorCallbackURL": "/settings"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let End::Callback(callback) = browser.follow(url, "alice", true).await else {
        panic!("the flow did not reach the callback");
    };
    let holder = stack.auth.state.db().await.unwrap();
    holder
        .execute(
            "select pg_advisory_lock(hashtextextended($1, 0))",
            &[&format!("oauth-identity:{PROVIDER}:alice")],
        )
        .await
        .unwrap();
    let link = tokio::spawn(async move { browser.open(&callback).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    common::until_waiting_for_locks(&holder, 1, deadline, "the callback never waited").await;
    let r = owner.post("/api/auth/revoke-sessions", json!({})).await;
    assert_eq!(r.status, 200, "revoke-sessions: {}", r.text);
    holder
        .batch_execute("select pg_advisory_unlock_all()")
        .await
        .unwrap();
    let r = link.await.unwrap();
    assert_eq!(corp_accounts(&stack.auth), 0, "linked: {:?}", r.headers);
}

#[tokio::test]
async fn unknown_provider_and_foreign_callback_urls_are_refused() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let r = browser
        .post_auth("/api/auth/sign-in/social", json!({"provider": "nope"}))
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"message": "Provider not found", "code": "PROVIDER_NOT_FOUND"})
        )
    );
    for (field, code) in [
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
    ] {
        for evil in [
            "https://evil.example/x",
            "//evil.example/x",
            "/\\evil.example",
        ] {
            let r = browser
                .post_auth(
                    "/api/auth/sign-in/social",
                    json!({"provider": PROVIDER, field: evil}),
                )
                .await;
            assert_eq!(
                (r.status, r.code()),
                (403, code.to_owned()),
                "{field}={evil}"
            );
        }
    }
    assert_eq!(
        count(&stack.auth, r#"select count(*) from "verification""#),
        0,
        "no flow was started"
    );

    let r = browser
        .post_auth(
            "/api/auth/sign-in/social",
            json!({"provider": PROVIDER, "disableRedirect": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("location").is_none());
    let url = url::Url::parse(r.json()["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["nonce"].len(), 32);
    assert!(r
        .set_cookie("better-auth.state")
        .unwrap()
        .contains("Max-Age=300"));
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused() {
    let stack = stack().await;
    let mut victim = new_browser(&stack);
    let callback = victim.social_until_callback("bob").await;
    // The attacker's browser has no state cookie for this flow (login CSRF / stolen link).
    let mut attacker = new_browser(&stack);
    let r = attacker.open(&callback).await;
    assert_eq!(r.status, 302);
    let to = location(&r);
    assert!(to.ends_with("/api/auth/error?error=state_mismatch"), "{to}");
    assert!(attacker.auth.session().await.is_null());
    assert_eq!(users(&stack.auth), 0);

    // No state at all.
    let r = attacker.auth.get("/api/auth/callback/corp?code=abc").await;
    assert!(location(&r).ends_with("error=state_not_found"));
}

#[tokio::test]
async fn a_replayed_callback_or_code_is_refused() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let callback = browser.social_until_callback("bob").await;
    let r = browser.open(&callback).await;
    assert_eq!(r.headers["location"], "/dashboard");
    assert_eq!(users(&stack.auth), 1);
    let sessions = count(&stack.auth, r#"select count(*) from "session""#);

    // The same callback again: the state is spent.
    let r = browser.open(&callback).await;
    assert!(location(&r).contains("error=state_mismatch"));

    // The old code with a fresh state of the same browser: the provider refuses the code.
    let fresh = browser.social_until_callback("bob").await;
    let replay = with_query(
        &fresh,
        &[
            ("code", &query_param(&callback, "code")),
            ("state", &query_param(&fresh, "state")),
            ("iss", &query_param(&fresh, "iss")),
        ],
    );
    let r = browser.open(&replay).await;
    assert!(
        location(&r).contains("error=invalid_code"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        count(&stack.auth, r#"select count(*) from "session""#),
        sessions,
        "no session from a replayed code"
    );
}

/// A flow lives ten minutes: a callback that comes back later, from the very browser that
/// started it and with the provider's code, signs nobody in.
#[tokio::test]
async fn a_callback_after_the_flow_expired_is_refused() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let callback = browser.social_until_callback("bob").await;
    stack.auth.psql(
        r#"update "verification" set "expiresAt" = now() - interval '1 second'
           where "identifier" like 'auth-state:%'"#,
    );
    let r = browser.open(&callback).await;
    assert!(
        location(&r).ends_with("error=state_mismatch"),
        "{:?}",
        r.headers
    );
    assert!(browser.auth.session().await.is_null());
    assert_eq!(users(&stack.auth), 0);
}

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let stack = stack().await;
    for mode in [
        "wrong-aud",
        "expired",
        "wrong-nonce",
        "tampered",
        "unknown-key",
        "wrong-iss",
        "no-nonce",
        "no-sub",
        "future-iat",
        "future-nbf",
        "several-aud-no-azp",
        "wrong-azp",
        "alg-none",
        "hs256-client-secret",
    ] {
        set_id_token_mode(&stack, mode).await;
        let mut browser = new_browser(&stack);
        let to = app(browser
            .social(
                "bob",
                json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
            )
            .await);
        assert!(
            to.ends_with("/oops?error=unable_to_get_user_info"),
            "{mode}: {to}"
        );
        assert!(browser.auth.session().await.is_null(), "{mode}");
        assert_eq!(users(&stack.auth), 0, "{mode}");
    }
    set_id_token_mode(&stack, "none").await;
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard", "the provider works again");
}

#[tokio::test]
async fn keys_rotated_at_the_provider_are_fetched() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    app(browser
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    let r = reqwest::Client::new()
        .post(format!("{}/test/rotate-keys", stack.op.issuer()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
}

/// The provider saying no, a callback naming another issuer (RFC 9207 mix-up) and one naming
/// none from a provider that announces it always names itself: each ends on the error URL with
/// its code and creates nobody.
#[tokio::test]
async fn a_refusing_or_mixed_up_callback_ends_on_the_error_url() {
    let stack = stack().await;
    type Alter = fn(&str) -> Vec<(&'static str, String)>;
    let cases: [(&str, Alter); 3] = [
        ("access_denied", |cb| {
            vec![
                ("error", "access_denied".into()),
                ("state", query_param(cb, "state")),
            ]
        }),
        // The provider announces `authorization_response_iss_parameter_supported`: a callback
        // without `iss` is not its own (RFC 9207 §2.4).
        ("issuer_missing", |cb| {
            vec![
                ("code", query_param(cb, "code")),
                ("state", query_param(cb, "state")),
            ]
        }),
        ("issuer_mismatch", |cb| {
            vec![
                ("code", query_param(cb, "code")),
                ("state", query_param(cb, "state")),
                ("iss", "https://evil.example".into()),
            ]
        }),
    ];
    for (expected, alter) in cases {
        let mut browser = new_browser(&stack);
        let callback = browser.social_until_callback("bob").await;
        // The provider sends `iss` (RFC 9207): `query_param` fails if it does not.
        assert_eq!(query_param(&callback, "iss"), stack.op.issuer());
        let pairs = alter(&callback);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = browser.open(&with_query(&callback, &pairs)).await;
        assert!(
            location(&r).ends_with(&format!("error={expected}")),
            "{expected}: {:?}",
            r.headers
        );
        assert_eq!(users(&stack.auth), 0, "{expected}");
    }
}

#[tokio::test]
async fn a_banned_user_gets_no_session() {
    let stack = stack().await;
    app(new_browser(&stack)
        .social("bob", json!({"callbackURL": "/dashboard"}))
        .await);
    stack
        .auth
        .psql(r#"update "user" set "banned" = true where "email" = 'bob@example.com'"#);
    let sessions = count(&stack.auth, r#"select count(*) from "session""#);
    let mut browser = new_browser(&stack);
    let to = app(browser
        .social(
            "bob",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(
        to.starts_with("/oops?error=BANNED_USER&error_description="),
        "{to}"
    );
    assert!(browser.auth.session().await.is_null());
    assert_eq!(
        count(&stack.auth, r#"select count(*) from "session""#),
        sessions
    );
}

#[tokio::test]
async fn one_callback_wins_when_the_same_one_arrives_twice_at_once() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let callback = browser.social_until_callback("bob").await;
    let path = &callback[stack.auth.state.config.base().len()..];
    let send = || {
        browser
            .auth
            .raw()
            .get(browser.auth.url(path))
            .header("cookie", browser.auth.cookie_header())
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    let mut locations: Vec<String> = [a.unwrap(), b.unwrap()]
        .iter()
        .map(|r| r.headers()["location"].to_str().unwrap().to_owned())
        .collect();
    locations.sort();
    assert_eq!(locations[0], "/dashboard", "{locations:?}");
    assert!(
        locations[1].ends_with("error=state_mismatch"),
        "{locations:?}"
    );
    assert_eq!(count(&stack.auth, r#"select count(*) from "session""#), 1);
}

#[tokio::test]
async fn a_form_post_callback_is_redirected_to_the_same_callback_path() {
    let stack = stack().await;
    let public = stack.auth.state.config.base();
    let mut browser = new_browser(&stack);
    for (provider, expected) in [
        (
            "corp",
            format!("{public}/api/auth/callback/corp?code=abc&state=xyz"),
        ),
        // An encoded slash in the provider id must not walk out of the callback path.
        (
            "a%2F..%2F..%2F..%2Fx",
            format!("{public}/api/auth/callback/a%2F..%2F..%2F..%2Fx?code=abc&state=xyz"),
        ),
    ] {
        let req = browser
            .auth
            .raw()
            .post(browser.auth.url(&format!("/api/auth/callback/{provider}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("code=abc&state=xyz&unrelated=1");
        let r = browser.auth.send(req).await;
        assert_eq!(r.status, 302);
        assert_eq!(r.headers["location"], expected.as_str());
    }
}

#[tokio::test]
async fn the_default_error_page_shows_the_code_and_escapes_the_rest() {
    let auth = TestServer::start().await;
    let mut browser = auth.client();
    let r = browser
        .get("/api/auth/error?error=state_mismatch&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text.contains("state_mismatch"), "{}", r.text);
    assert!(
        r.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("<script>"), "{}", r.text);
    // Nothing of it runs, is read as another type or shows inside another site's frame.
    let policy = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let r = browser
        .get("/api/auth/error?error=%3Cimg%20src%3Dx%3E")
        .await;
    assert!(
        r.text.contains("UNKNOWN") && !r.text.contains("<img"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_provider_that_is_down_ends_on_the_error_url() {
    let Stack { auth, op } = stack().await;
    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &op.issuer());
    let r = browser
        .post_auth(
            "/api/auth/sign-in/social",
            json!({"provider": PROVIDER, "errorCallbackURL": "/oops"}),
        )
        .await;
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let callback = match browser.follow(url, "bob", true).await {
        oidc_browser::End::Callback(u) => u,
        oidc_browser::End::App(u) => panic!("ended at {u}"),
    };
    drop(op);
    let r = browser.open(&callback).await;
    assert_eq!(location(&r), "/oops?error=invalid_code");
    assert_eq!(users(&auth), 0);
}

/// Every social sign-in and link looks its identity up by provider and subject: found through an
/// index, not by reading the whole account table (every user's sign-in methods) on each callback,
/// which anyone with an account at the provider can send as often as the rate limit lets them.
#[tokio::test]
async fn identities_are_found_through_an_index() {
    let auth = TestServer::start().await;
    // Off, a sequential scan is still taken where no index serves the filter.
    let plan = auth.psql(
        r#"set enable_seqscan = off; explain select "id", "userId" from "account"
           where "providerId" = 'corp' and "accountId" = 'x' order by "createdAt" limit 1"#,
    );
    // An index that does not lead with these columns is read whole, the subject checked as a
    // filter: the subject must be part of the index condition.
    let on_subject: Vec<&str> = plan.lines().filter(|l| l.contains("accountId")).collect();
    assert!(
        !plan.contains("Seq Scan")
            && !on_subject.is_empty()
            && on_subject
                .iter()
                .all(|l| l.trim_start().starts_with("Index Cond:")),
        "{plan}"
    );
}
