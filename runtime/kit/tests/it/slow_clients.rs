//! Clients that send slowly or not at all cannot hold a service's API: headers not in within
//! the header time limit, an idle kept-alive connection, and a request body still arriving at
//! its deadline all end the connection or the request, where each held a socket and up to
//! hundreds of kilobytes of buffered headers for as long as the client liked. Nor can a client
//! that takes none of its answer, nor clients leaving large bodies unfinished.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use stackr_kit::server::{BODY_BYTES_ALWAYS_TAKEN, MAX_BUFFERED_BODY_BYTES, MIN_FRAME_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The size of `/large`'s answer: more than the kernel buffers between the two ends of a
/// connection whose client takes nothing.
const LARGE_ANSWER_BYTES: usize = 8 << 20;

/// An API with a route that answers, one with a large answer and one that reads the whole body,
/// until the test ends.
async fn api() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/large", get(|| async { "x".repeat(LARGE_ANSWER_BYTES) }))
        .route(
            "/upload",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route("/frames", post(frames_held));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(stackr_kit::server::serve_on(
        listener,
        app,
        std::future::pending(),
    ));
    address
}

/// Reads the body frame by frame and keeps every frame until the end, as an extractor gathering
/// a body does; answers the bytes of memory the frames kept (their allocations, not only their
/// length).
async fn frames_held(mut body: axum::body::Body) -> String {
    use axum::body::HttpBody;
    let mut frames = Vec::new();
    while let Some(Ok(frame)) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame.into_data() {
            frames.push(data);
        }
    }
    let mut held = 0;
    for data in frames {
        // A frame that is the only one left of its allocation tells how much it keeps alive.
        held += match data.try_into_mut() {
            Ok(unique) => unique.capacity(),
            Err(shared) => shared.len(),
        };
    }
    held.to_string()
}

/// What the server sent on `stream` until it closed it or `within` passed (then `None`).
async fn answer(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut got)).await {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn headers_still_arriving_after_the_time_limit_end_the_connection() {
    let address = api().await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    let filler = "a".repeat(100 * 1024);
    slow.write_all(format!("GET / HTTP/1.1\r\nhost: x\r\nx-pad: {filler}").as_bytes())
        .await
        .unwrap();
    let ended = answer(
        &mut slow,
        stackr_kit::server::HEADER_TIME_LIMIT + Duration::from_secs(5),
    )
    .await;
    assert!(
        ended.as_ref().is_some_and(|a| !a.contains("200 OK")),
        "the half-sent request was still held (or served): {ended:?}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let address = api().await;
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 17];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
    let ended = answer(
        &mut idle,
        stackr_kit::server::HEADER_TIME_LIMIT + Duration::from_secs(5),
    )
    .await;
    assert!(ended.is_some(), "an idle connection was kept open");
}

#[tokio::test]
async fn a_body_still_arriving_at_its_deadline_is_refused() {
    let address = api().await;
    let mut drip = TcpStream::connect(address).await.unwrap();
    drip.write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n")
        .await
        .unwrap();
    let deadline =
        tokio::time::Instant::now() + stackr_kit::server::BODY_TIME_LIMIT + Duration::from_secs(5);
    // A byte every second: each arrives well within any pause limit.
    while tokio::time::Instant::now() < deadline {
        if drip.write_all(b"x").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let ended = answer(&mut drip, Duration::from_secs(2)).await;
    assert!(
        ended.as_ref().is_some_and(|a| !a.contains("200 OK")),
        "the dripping body was still read: {ended:?}"
    );
}

/// A client that asks for an answer and never reads it left the server's write waiting for ever,
/// its connection (one of the server's limited number) and the answer held in memory, and kept
/// the server from finishing a graceful shutdown. The server gives up on it, and the client
/// that finally reads finds the answer cut short.
#[tokio::test]
async fn a_client_that_takes_none_of_its_answer_is_dropped() {
    let address = api().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // A small window, so the kernel cannot take the whole answer on the client's behalf.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(address).await.unwrap();
    stalled
        .write_all(b"GET /large HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(stackr_kit::server::WRITE_STALL_LIMIT + Duration::from_secs(5)).await;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut got)).await;
    assert!(
        matches!(read, Ok(Err(_))) || got.len() < LARGE_ANSWER_BYTES,
        "the whole answer still waited for the client ({} bytes read)",
        got.len()
    );
}

/// A slow client that keeps reading gets its whole answer, however much longer than the limit
/// it takes: the limit runs only while the client takes nothing.
#[tokio::test]
async fn a_slow_client_that_keeps_reading_gets_all_of_its_answer() {
    let address = api().await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /large HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut got = 0;
    // At most 20 KiB every 100 ms: the answer takes about 40 s.
    let mut chunk = vec![0u8; 20 * 1024];
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = tokio::time::timeout(Duration::from_secs(60), slow.read(&mut chunk))
            .await
            .expect("the answer kept coming")
            .unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    assert!(
        started.elapsed() > stackr_kit::server::WRITE_STALL_LIMIT,
        "the answer came too fast to show anything"
    );
    assert!(
        got > LARGE_ANSWER_BYTES,
        "the answer was cut short ({got} bytes)"
    );
}

/// Request bodies being read are held in memory, up to 2 MB each on thousands of connections:
/// enough clients sending large bodies without finishing them could take more memory than the
/// machine has. Past [`MAX_BUFFERED_BODY_BYTES`] held at once (beyond each body's first
/// [`BODY_BYTES_ALWAYS_TAKEN`]), a body is refused; once the large ones are gone, they are taken
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_held_at_once_are_bounded() {
    const BODY: usize = 1_900_000;
    let counted = BODY - BODY_BYTES_ALWAYS_TAKEN;
    let address = api().await;
    let mut holders = Vec::new();
    // Each sends all of its body but one byte, and waits.
    for _ in 0..MAX_BUFFERED_BODY_BYTES / counted + 10 {
        holders.push(unfinished_upload(address, BODY, BODY - 1).await);
    }
    // Time for the server to read what has come.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut taken = 0;
    for mut stream in holders {
        let _ = stream.write_all(b"x").await;
        let answer = answer(&mut stream, Duration::from_secs(30))
            .await
            .unwrap_or_default();
        if answer.starts_with("HTTP/1.1 200") {
            taken += 1;
        }
    }
    assert!(
        taken * counted <= MAX_BUFFERED_BODY_BYTES,
        "{taken} bodies of {BODY} bytes were held at once"
    );
    // Everything held is gone: a large body is taken again.
    let large = upload(address, BODY).await;
    assert!(large.starts_with("HTTP/1.1 200"), "{large}");
}

/// While unfinished large bodies hold all of [`MAX_BUFFERED_BODY_BYTES`], a body of the usual
/// size is still taken: holding the budget denies no ordinary request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_body_is_taken_while_large_ones_hold_the_budget() {
    let address = api().await;
    let mut holders = Vec::new();
    // Unfinished bodies, each holding `step` counted bytes, until one is refused; then smaller
    // steps: the budget ends up with less than the last step left.
    for step in [1_800_000, 64 << 10, 4 << 10, 256] {
        loop {
            let sent = BODY_BYTES_ALWAYS_TAKEN + step;
            let mut stream = unfinished_upload(address, 2_000_000, sent).await;
            if answer(&mut stream, Duration::from_millis(200))
                .await
                .is_some()
            {
                break;
            }
            holders.push(stream);
        }
    }
    let small = upload(address, BODY_BYTES_ALWAYS_TAKEN).await;
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");
    drop(holders);
}

/// A connection that has sent the headers of a `size`-byte upload and `sent` bytes of its body.
async fn unfinished_upload(address: SocketAddr, size: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server whose budget is spent refuses the body, and may answer and close before all of it
    // is written (a broken pipe here): what it answered is read from the stream after.
    let _ = stream.write_all(&vec![b'x'; sent]).await;
    stream
}

/// The server's answer to a whole `size`-byte upload.
async fn upload(address: SocketAddr, size: usize) -> String {
    let mut stream = unfinished_upload(address, size, size).await;
    answer(&mut stream, Duration::from_secs(30))
        .await
        .unwrap_or_default()
}

/// A body arriving a byte at a time is handed over a byte per frame, each a slice of the
/// connection's read buffer: kept until the body is whole, every such frame held a whole buffer
/// (8 KiB) for its one byte, and a few kilobytes sent this way on some connections took hundreds
/// of megabytes while the budget counted kilobytes. The frames hold what they carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_a_byte_at_a_time_holds_its_size() {
    const BODY: usize = 4000;
    const TRICKLED: usize = 300;
    let address = api().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let head = format!(
        "POST /frames HTTP/1.1\r\nhost: x\r\ncontent-length: {BODY}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Apart enough for the server to read each byte on its own.
    for _ in 0..TRICKLED {
        stream.write_all(b"x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stream
        .write_all(&vec![b'x'; BODY - TRICKLED])
        .await
        .unwrap();
    let answer = answer(&mut stream, Duration::from_secs(30))
        .await
        .unwrap_or_default();
    let held: usize = answer
        .rsplit("\r\n")
        .next()
        .and_then(|held| held.parse().ok())
        .unwrap_or_else(|| panic!("no count in the answer: {answer}"));
    assert!(
        held < 2 * BODY,
        "a body of {BODY} bytes, {TRICKLED} of them a byte at a time, held {held} bytes"
    );
}

/// Sent in chunks of one byte, a body is a frame per byte, and each frame costs the one reading
/// the body more than its byte (its place in the list of frames, its allocation): counted by
/// their bytes alone, such bodies held tens of times the budget. Each frame counts for at least
/// [`MIN_FRAME_BYTES`]: a body of more such frames than the budget holds is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_tiny_chunks_is_counted_per_chunk() {
    let chunks = (MAX_BUFFERED_BODY_BYTES + BODY_BYTES_ALWAYS_TAKEN) / MIN_FRAME_BYTES + 1;
    let address = api().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut body = b"1\r\nx\r\n".repeat(chunks);
    body.extend_from_slice(b"0\r\n\r\n");
    // The server may refuse before all of it is sent, and close.
    let _ = stream.write_all(&body).await;
    let answer = answer(&mut stream, Duration::from_secs(60))
        .await
        .unwrap_or_default();
    assert!(
        !answer.starts_with("HTTP/1.1 200"),
        "a body of {chunks} one-byte chunks was taken: {answer}"
    );
}
