//! The adversarial suite: attacks a running stackr-auth (real PostgreSQL, rate limits on) the way
//! an outside attacker would. Each attack states what it tries and what must happen instead, and
//! checks that nothing was created or changed; the run ends with `attacks tried: N, refused: M`
//! and fails unless every attack was refused.

mod admin_dashboard;
mod credential_stuffing;
mod default_limits;
mod extreme_numbers;
mod forwarded_for;
mod harness;
mod identity;
mod look_alike_emails;
mod open_redirect;
mod oversize;
mod password_reset;
mod sign_in_races;
mod two_factor;
mod verification_link;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_attack_is_refused() {
    let stack = harness::Stack::start().await;
    let attacks = [
        two_factor::attacks(),
        password_reset::attacks(),
        sign_in_races::attacks(),
        open_redirect::attacks(),
        forwarded_for::attacks(),
        credential_stuffing::attacks(),
        extreme_numbers::attacks(),
        oversize::attacks(),
        look_alike_emails::attacks(),
        default_limits::attacks(),
        identity::attacks(),
        verification_link::attacks(),
        admin_dashboard::attacks(),
    ]
    .into_iter()
    .flatten()
    .collect();
    harness::run_all(stack, attacks).await;
}
