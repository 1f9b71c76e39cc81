//! Look-alike email addresses: the same address in another Unicode normal form, case or with
//! surrounding spaces must reach the same account, never create a second one.

use std::sync::Arc;

use super::harness::{Attack, Outcome, Stack};
use crate::ensure;

const NFC: &str = "jos\u{e9}@example.com";
const NFD: &str = "jose\u{301}@example.com";

/// Users whose address is, once normalised, `NFC` under `domain`.
async fn accounts(stack: &Stack, domain: &str) -> i64 {
    stack
        .count(
            r#"select count(*) from "user" where lower(normalize("email", NFC)) = $1"#,
            &NFC.replace("example.com", domain),
        )
        .await
}

async fn second_account_by_look_alike(stack: Arc<Stack>) -> Outcome {
    let domain = format!("look-{}.example", stack.new_address()).replace('.', "-") + ".com";
    let nfc = NFC.replace("example.com", &domain);
    let r = stack
        .client()
        .sign_up("José", &nfc, "password-jose-1")
        .await;
    assert_eq!(r.status, 200, "sign-up: {}", r.text);
    let owner_id = r.json()["user"]["id"].clone();
    let mut through = Vec::new();
    for look_alike in [
        NFD.replace("example.com", &domain),
        format!("  {}  ", nfc.to_uppercase()),
        NFD.replace("example.com", &domain).to_uppercase(),
    ] {
        let r = stack
            .client()
            .sign_up("Mallory", &look_alike, "password-mallory-1")
            .await;
        if r.status != 422 || r.code() != "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" {
            through.push(format!("sign-up {look_alike:?}: {} {}", r.status, r.text));
        }
        let r = stack.client().sign_in(&look_alike, "password-jose-1").await;
        if r.status != 200 || r.json()["user"]["id"] != owner_id {
            through.push(format!("sign-in {look_alike:?}: {} {}", r.status, r.text));
        }
    }
    ensure!(through.is_empty(), "{through:?}");
    let n = accounts(&stack, &domain).await;
    ensure!(n == 1, "{n} accounts for one address");
    Ok(())
}

async fn look_alike_of_legacy_row(stack: Arc<Stack>) -> Outcome {
    // A row stored in NFD before addresses were normalised stays as it is (nothing is migrated
    // silently), but no second account may be created next to it.
    let domain = format!("legacy-{}.example", stack.new_address()).replace('.', "-") + ".com";
    let client = stack.server.state.db().await.unwrap();
    client
        .execute(
            r#"insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
               values ($1, 'Legacy', $2, false, now(), now())"#,
            &[
                &format!("legacy-{domain}"),
                &NFD.replace("example.com", &domain),
            ],
        )
        .await
        .unwrap();
    let r = stack
        .client()
        .sign_up(
            "Mallory",
            &NFC.replace("example.com", &domain),
            "password-mallory-1",
        )
        .await;
    ensure!(
        r.status == 422 && r.code() == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        "sign-up next to a legacy NFD row answered {} {}",
        r.status,
        r.text
    );
    let n = accounts(&stack, &domain).await;
    ensure!(n == 1, "{n} accounts for one address");
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "sign-up with the NFD, upper-case or space-padded form of an existing address",
            refusal: "422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL; sign-in with any form reaches the one account",
            run: |s| Box::pin(second_account_by_look_alike(s)),
        },
        Attack {
            attack: "sign-up with the NFC form of an address stored in NFD before normalisation",
            refusal: "422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL, the legacy row untouched",
            run: |s| Box::pin(look_alike_of_legacy_row(s)),
        },
    ]
}
