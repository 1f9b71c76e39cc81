//! The load generator: a minimal HTTP/1.1 client on raw sockets (one request in flight per
//! connection), so it costs every server the same and measures the server, not a client library.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Stats {
    pub requests: usize,
    pub errors: usize,
    pub secs: f64,
    pub latencies_us: Vec<u64>,
}

impl Stats {
    /// Latency at percentile `p` (0..=1), in ms.
    pub fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Reads one HTTP/1.1 response (content-length or chunked); returns (status, body).
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut tmp = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            if let Some(len) = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            }) {
                while buf.len() < body_start + len {
                    let n = stream.read(&mut tmp).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
                let body = buf[body_start..body_start + len].to_vec();
                buf.drain(..body_start + len);
                return Ok((status, body));
            }
            if head.contains("transfer-encoding: chunked") {
                loop {
                    if let Some(pos) = buf[body_start..].windows(5).position(|w| w == b"0\r\n\r\n")
                    {
                        let end_all = body_start + pos + 5;
                        let body = buf[body_start..end_all].to_vec();
                        buf.drain(..end_all);
                        return Ok((status, body));
                    }
                    let n = stream.read(&mut tmp).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
            }
            buf.drain(..body_start);
            return Ok((status, Vec::new()));
        }
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// `connections` keep-alive connections each sending get-session back to back for `warmup` then
/// `secs`, connection `i` with `cookies[i % len]`; only answers 200 whose body contains `expect`
/// count, after the warm-up.
pub async fn load(
    port: u16,
    cookies: &[String],
    expect: &str,
    connections: usize,
    warmup: Duration,
    secs: u64,
) -> Stats {
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let cookie = &cookies[connection % cookies.len()];
        let request = format!(
            "GET /api/auth/get-session HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {cookie}\r\nUser-Agent: stackr-bench\r\n\r\n"
        );
        let expect = expect.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0usize;
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            stream.set_nodelay(true).ok();
            let mut buf = Vec::with_capacity(16384);
            loop {
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                let ok = match stream.write_all(request.as_bytes()).await {
                    Ok(()) => match read_response(&mut stream, &mut buf).await {
                        Ok((200, body)) => String::from_utf8_lossy(&body).contains(&expect),
                        Ok(_) => false,
                        Err(_) => {
                            stream = TcpStream::connect(("127.0.0.1", port))
                                .await
                                .expect("reconnect");
                            buf.clear();
                            false
                        }
                    },
                    Err(_) => false,
                };
                if t0 >= measure_from {
                    if ok {
                        lat.push(t0.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies_us.extend(l);
        errors += e;
    }
    latencies_us.sort_unstable();
    Stats {
        requests: latencies_us.len(),
        errors,
        secs: secs as f64,
        latencies_us,
    }
}
