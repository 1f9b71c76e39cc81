//! The cache against a stand-in for auth's `user-status` whose answers come late on purpose.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::OwnerStatuses;
use crate::auth::AuthClient;
use crate::config::Credential;
use crate::guard::GuardRejection;

const BANNED: bool = true;
const STANDING: bool = false;

/// Auth's answers by arrival: the n-th question is answered with `answers[n]` (how long auth
/// takes, whether the owner is banned); questions past the list get the last one.
#[derive(Clone)]
struct FakeAuth {
    answers: Arc<Vec<(Duration, bool)>>,
    asked: Arc<AtomicUsize>,
}

impl FakeAuth {
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

async fn user_status(
    State(fake): State<FakeAuth>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let n = fake.asked.fetch_add(1, Ordering::SeqCst);
    let (delay, banned) = fake.answers[n.min(fake.answers.len() - 1)];
    tokio::time::sleep(delay).await;
    Json(json!({ "userId": query["userId"], "banned": banned, "credentialEpoch": 0 }))
}

/// A stand-in auth answering as `answers` says, and an owner cache asking it with `ttl`.
async fn owners_asking(
    answers: Vec<(Duration, bool)>,
    ttl: Duration,
) -> (FakeAuth, Arc<OwnerStatuses>) {
    let fake = FakeAuth {
        answers: Arc::new(answers),
        asked: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/api/auth/user-status", get(user_status))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let auth = AuthClient::new(&url, "core", Some(Credential::new("credential")));
    (fake, Arc::new(OwnerStatuses::new(auth, ttl)))
}

/// The TTL runs from the question: a ban auth records just after a slow answer was asked for
/// stops the device within the TTL of that question, however long the answer took.
#[tokio::test]
async fn an_owner_status_lives_the_ttl_from_when_auth_was_asked() {
    let ttl = Duration::from_millis(1_000);
    let slow = Duration::from_millis(700);
    let (fake, owners) = owners_asking(vec![(slow, STANDING), (Duration::ZERO, BANNED)], ttl).await;
    assert_eq!(owners.admit("alice", 0).await, Ok(()));
    // 1.1 s after the question, 0.4 s after the answer.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        owners.admit("alice", 0).await,
        Err(GuardRejection::Unauthenticated),
        "a status asked for {:?} ago still answered, with a TTL of {ttl:?}",
        slow + Duration::from_millis(400)
    );
    assert_eq!(fake.asked(), 2);
}

/// Two questions in flight (a device's request, then a new device session's, which asks on its
/// own): the answer to the later one (a ban) is kept, and the slower answer to the earlier
/// question, arriving after it, does not bring the owner back.
#[tokio::test]
async fn an_earlier_question_answered_late_does_not_replace_a_later_one() {
    let answers = vec![
        (Duration::from_millis(500), STANDING),
        (Duration::ZERO, BANNED),
    ];
    let (fake, owners) = owners_asking(answers, Duration::from_secs(60)).await;
    let earlier = tokio::spawn({
        let owners = owners.clone();
        async move { owners.admit("alice", 0).await }
    });
    while fake.asked() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        owners.current_epoch("alice").await,
        Err(GuardRejection::Unauthenticated)
    );
    assert_eq!(earlier.await.unwrap(), Ok(()), "its own answer");
    assert_eq!(
        owners.admit("alice", 0).await,
        Err(GuardRejection::Unauthenticated),
        "the ban, answered to the later question, is what stays cached"
    );
    assert_eq!(
        fake.asked(),
        2,
        "the last admit was answered from the cache"
    );
}

/// Requests that come while a question is in flight take its answer; one that comes more than
/// the TTL after that question was asked (auth slower than the TTL) asks again.
#[tokio::test]
async fn requests_share_the_question_in_flight_within_its_ttl() {
    let slow = Duration::from_millis(600);
    let ttl = Duration::from_millis(400);
    let (fake, owners) = owners_asking(vec![(slow, STANDING), (slow, BANNED)], ttl).await;
    let admit = |after: Duration| {
        let owners = owners.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            owners.admit("alice", 0).await
        })
    };
    let first = admit(Duration::ZERO);
    let within = admit(Duration::from_millis(100));
    let past_ttl = admit(Duration::from_millis(500));
    assert_eq!(first.await.unwrap(), Ok(()));
    assert_eq!(
        within.await.unwrap(),
        Ok(()),
        "the question in flight's answer"
    );
    assert_eq!(
        past_ttl.await.unwrap(),
        Err(GuardRejection::Unauthenticated),
        "came {:?} after the question was asked, with a TTL of {ttl:?}: asked again",
        Duration::from_millis(500)
    );
    assert_eq!(fake.asked(), 2);
}

/// Every request's hold on a flight goes with it: once a burst is answered, no flight is left in
/// the map (one left per owner was left for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answered_bursts_leave_no_flight_behind() {
    let (_fake, owners) =
        owners_asking(vec![(Duration::ZERO, STANDING)], Duration::from_nanos(1)).await;
    for _ in 0..500 {
        let burst: Vec<_> = (0..4)
            .map(|_| {
                let owners = owners.clone();
                tokio::spawn(async move { owners.admit("alice", 0).await })
            })
            .collect();
        for request in burst {
            assert_eq!(request.await.unwrap(), Ok(()));
        }
        let left = owners.flights.lock().unwrap().len();
        assert_eq!(left, 0, "flights left after a burst");
    }
}
