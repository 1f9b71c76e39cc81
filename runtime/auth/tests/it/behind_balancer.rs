//! Auth served on a Unix socket only the host's load balancer may open (a replica in a fleet):
//! the balancer's `X-Forwarded-For` names the client, with no trusted proxy configured, while a
//! loopback port, which every local user can reach, is believed no more than any other peer.

use crate::common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a JSON `POST` over the Unix socket at `path`; the status line and the rest.
async fn post_over_socket(path: &std::path::Path, route: &str, xff: &str, body: &str) -> String {
    let mut stream = tokio::net::UnixStream::connect(path).await.unwrap();
    let request = format!(
        "POST {route} HTTP/1.1\r\nHost: auth.example.com\r\nContent-Type: application/json\r\n\
         X-Forwarded-For: {xff}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn the_balancers_socket_names_the_client_and_loopback_does_not() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(stackr_auth::server::serve_behind_balancer(
        listener,
        server.state.clone(),
    ));

    let answer = post_over_socket(
        &path,
        "/api/auth/sign-up/email",
        "6.6.6.6, 203.0.113.7",
        r#"{"name":"Ada","email":"ada@example.com","password":"password-123"}"#,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        server.psql(r#"select "ipAddress" from "session""#),
        "203.0.113.7",
        "the client as the balancer appended it"
    );

    // Past the balancer, on a loopback port: the header is anyone's.
    let r = server
        .client()
        .raw()
        .post(server.client().url("/api/auth/sign-in/email"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&serde_json::json!({"email": "ada@example.com", "password": "password-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        server.psql(r#"select "ipAddress" from "session" order by "createdAt" desc limit 1"#),
        "127.0.0.1"
    );
}
