//! Hostile clients: slowloris, connection floods and adversarial multipart bodies.

#[path = "common/child.rs"]
mod child;
mod common;

use std::time::{Duration, Instant};

use common::*;
use hooktail::http::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends headers one byte at a time until the server hangs up; returns how long it took.
async fn slowloris(addr: std::net::SocketAddr) -> Option<Duration> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).await.ok()?;
    let head = b"POST /api/v3/command/webhook.receive HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec();
    let endless = head.into_iter().chain(std::iter::repeat(b'a'));
    for b in endless {
        if s.write_all(&[b]).await.is_err() {
            return Some(start.elapsed());
        }
        // A closed connection shows as a read of 0 bytes or an error.
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {} // a 408 answer; the close follows
            Err(_) => {}
        }
        if start.elapsed() > Duration::from_secs(15) {
            return None;
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_while_others_are_served() {
    // Long enough that a slow CI disk cannot make a normal request look like it waited for it.
    let header_timeout = Duration::from_secs(3);
    let limits = Limits {
        header_read_timeout: header_timeout,
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let t = uuid_of(&s.put("webhook.busy").await);
    let slow: Vec<_> = (0..50).map(|_| tokio::spawn(slowloris(s.addr))).collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Normal clients keep getting answers while the slow ones drip.
    let mut worst = Duration::ZERO;
    for i in 0..40 {
        let start = Instant::now();
        let r = send(
            s.addr,
            &post(
                RECEIVE,
                &format!("token: {t}\r\n"),
                format!("{{\"i\":{i}}}").as_bytes(),
            ),
        )
        .await;
        assert_eq!(r.status, 200);
        worst = worst.max(start.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("slowest of 40 normal requests beside 50 slowloris clients: {worst:?}");
    // Below the header timeout: nobody waited behind the slow clients.
    assert!(worst < header_timeout, "a normal request took {worst:?}");
    for h in slow {
        let took = h
            .await
            .unwrap()
            .expect("a slowloris client was never cut off");
        assert!(took < header_timeout * 3, "cut off only after {took:?}");
    }
    assert_eq!(s.events("limit=100").await.len(), 40);
    s.stop().await;
}

/// One request on a kept-alive connection; it must be answered 200 in time.
async fn roundtrip(client: &mut TcpStream, token: &str, i: usize) {
    let body = format!("{{\"i\":{i}}}");
    let req = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\ntoken: {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    client.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
        .await
        .expect("the established client was starved")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_neither_kills_the_server_nor_starves_established_clients() {
    let limits = Limits {
        max_connections: 8,
        header_read_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let t = uuid_of(&s.put("webhook.flood").await);
    // An established keep-alive client.
    let mut client = TcpStream::connect(s.addr).await.unwrap();
    roundtrip(&mut client, &t, 0).await;
    // Ten times the cap in idle connections.
    let mut flood = Vec::new();
    for _ in 0..80 {
        flood.push(TcpStream::connect(s.addr).await.unwrap());
    }
    for i in 1..=20 {
        roundtrip(&mut client, &t, i).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Idle flooders are cut off by the header timeout, so newcomers get in again.
    let start = Instant::now();
    let r = send(s.addr, &get("/healthz")).await;
    assert_eq!(r.status, 200);
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(flood);
    let r = send(s.addr, &get("/healthz")).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.events("limit=100").await.len(), 21);
    s.stop().await;
}

/// Process CPU time (all threads), from /proc/self/task/*/schedstat, in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// An unterminated part header of `size` bytes, written 64 bytes at a time.
async fn unterminated_header(s: &TestServer, token: &str, size: usize) -> (u16, Duration, u64) {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"".to_vec();
    body.resize(size, b'a');
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let cpu = cpu_ns();
    let start = Instant::now();
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64) {
        if stream.write_all(chunk).await.is_err() {
            break; // refused early: the server stopped reading
        }
    }
    let r = read_response(&mut stream).await;
    (r.status, start.elapsed(), cpu_ns() - cpu)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_multipart_is_refused_in_linear_time() {
    let s = TestServer::start_with(|o| o.max_payload = 16 << 20, Limits::default()).await;
    let t = uuid_of(
        &s.cmd(
            "webhook.put",
            &format!("eventKey=webhook.mp&maxPayloadLength={}", 9 << 20),
        )
        .await
        .json(),
    );
    let mut cpu = Vec::new();
    for mib in [1usize, 4, 8] {
        let (status, took, ns) = unterminated_header(&s, &t, mib << 20).await;
        assert_eq!(status, 400, "{mib} MiB");
        assert!(took < Duration::from_secs(30), "{mib} MiB took {took:?}");
        eprintln!(
            "unterminated part header, {mib} MiB in 64-byte writes: {took:?} wall, {:.1} ms CPU",
            ns as f64 / 1e6
        );
        cpu.push(ns as f64);
    }
    // Linear: 8x the bytes costs about 8x the CPU (quadratic scanning would cost 64x).
    let ratio = cpu[2] / cpu[0];
    assert!(ratio < 20.0, "8 MiB cost {ratio:.1}x the CPU of 1 MiB");
    let rejected = s.wait_for_events("status=rejected", 3).await;
    assert_eq!(rejected.len(), 3);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("part header")
    );
    s.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(400),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let t = uuid_of(&s.put("webhook.idle").await);
    let mut client = TcpStream::connect(s.addr).await.unwrap();
    roundtrip(&mut client, &t, 0).await;
    // Then silence: the server hangs up rather than hold the slot.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
        .await
        .expect("the idle connection was kept open")
        .unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf[..n]));
    s.stop().await;
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_lives_on() {
    let s = TestServer::start().await;
    let huge = "a".repeat(200 * 1024);
    let req =
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {huge}\r\nConnection: close\r\n\r\n");
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // The server may hang up before it has read everything; either way it must not serve it.
    let _ = stream.write_all(req.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let head = String::from_utf8_lossy(&buf);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 431"),
        "{head}"
    );
    assert_eq!(send(s.addr, &get("/healthz")).await.status, 200);
    s.stop().await;
}

/// POSTs `body` to webhook.receive without a token, over one h2c (prior knowledge) connection,
/// `streams` at a time; returns the statuses (0 for a refused stream).
async fn h2c_flood(addr: std::net::SocketAddr, body: bytes::Bytes, streams: usize) -> Vec<u16> {
    use http_body_util::Full;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let calls: Vec<_> = (0..streams)
        .map(|_| {
            let mut sender = sender.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let req = hyper::Request::post(format!("http://x{RECEIVE}"))
                    .header("content-type", "multipart/form-data; boundary=XyZ")
                    .body(Full::new(body))
                    .unwrap();
                match sender.send_request(req).await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    statuses
}

/// POSTs `size` bytes chunked (no Content-Length) without a token on one HTTP/1.1
/// connection; returns the status, or 0 when the server hung up first.
async fn h1_chunked_post(addr: std::net::SocketAddr, size: usize) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    let chunk = [b'a'; 64 * 1024];
    let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
    for _ in 0..size / chunk.len() {
        if s.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf)
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The bodies of calls without a token are buffered (the token may be in a form body), so
/// without a global budget, 200 HTTP/2 streams or 64 connections of 4 MiB each took the
/// server to hundreds of MiB. With a 16 MiB budget its peak RSS stays under the budget plus a
/// fixed overhead (generous: the runtime, hyper's buffers, allocator slack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_memory_stays_within_the_budget_over_http2_and_http1() {
    const BUDGET_MIB: u64 = 16;
    const OVERHEAD_MIB: u64 = 96;
    let dir = tempfile::tempdir().unwrap();
    let server = child::Serve::start_with(
        &dir.path().join("data"),
        child::free_addr(),
        &["--max-body-memory", &(BUDGET_MIB << 20).to_string()],
    );
    let addr = server.addr;
    assert_eq!(send(addr, &get("/healthz")).await.status, 200);
    let before = server.memory_kib("VmRSS");
    let body = bytes::Bytes::from(vec![b'a'; 4 << 20]);
    let h2 = tokio::spawn(h2c_flood(addr, body, 200));
    let h1: Vec<_> = (0..64)
        .map(|_| tokio::spawn(h1_chunked_post(addr, 4 << 20)))
        .collect();
    let mut statuses = h2.await.unwrap();
    for c in h1 {
        statuses.push(c.await.unwrap());
    }
    let peak = server.memory_kib("VmHWM");
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    eprintln!(
        "RSS {before} KiB before, peak {peak} KiB; answers: {} x 503, {} x 401, {} x 400, {} cut",
        count(503),
        count(401),
        count(400),
        count(0)
    );
    assert!(
        peak < before + ((BUDGET_MIB + OVERHEAD_MIB) << 10),
        "peak RSS {peak} KiB, from {before} KiB, with a {BUDGET_MIB} MiB budget"
    );
    assert!(count(503) > 0, "the budget never refused a call");
    // Refusals carry Retry-After, and the server lives on.
    let r = send(addr, &get("/healthz")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_like_an_http1_one() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // The preface and an empty SETTINGS frame, then nothing.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {} // SETTINGS, its ACK, GOAWAY
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle HTTP/2 connection was kept open");
    s.stop().await;
}

#[tokio::test]
async fn a_streaming_response_is_not_cut_by_the_idle_timeout() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let t = uuid_of(&s.put("webhook.live").await);
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /api/v3/command/event.listen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.key
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("text/event-stream"));
    // Quiet for several idle timeouts: the stream is a request in flight, not idleness.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = send(s.addr, &post(RECEIVE, &format!("token: {t}\r\n"), b"{}")).await;
    assert_eq!(r.status, 200);
    let mut text = String::new();
    while !text.contains("event: webhook.live") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("no event on the stream")
            .unwrap();
        assert!(n > 0, "the stream was closed");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    s.stop().await;
}

/// A listener that never reads used to pin every event the bus held (up to 4096 whole
/// events). Now it holds a bounded number of bytes, is told it lagged, and catches up from
/// the store once it reads again: every event arrives, in order, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_listener_pins_bounded_memory_then_catches_up_from_the_store() {
    const EVENTS: usize = 600;
    const BODY: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let server = child::Serve::start(&dir.path().join("data"), child::free_addr());
    let addr = server.addr;
    let key = server.key();
    let put = format!(
        "GET /api/v3/command/webhook.put?eventKey=webhook.stall&maxPayloadLength=300000 HTTP/1.1\r\n\
         Host: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    let token = uuid_of(&send(addr, put.as_bytes()).await.json());
    // A listener with a tiny receive window that then stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut listener = socket.connect(addr).await.unwrap();
    let req = format!(
        "GET /api/v3/command/event.listen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
    );
    listener.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let n = listener.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("text/event-stream"));
    let before = server.memory_kib("VmRSS");
    let body = vec![b'x'; BODY];
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..EVENTS {
        let r = send(addr, &post(RECEIVE, &format!("token: {token}\r\n"), &body)).await;
        assert_eq!(r.status, 200);
        ids.push(r.json()["correlationId"].as_str().unwrap().to_string());
    }
    let after = server.memory_kib("VmRSS");
    eprintln!(
        "RSS {before} KiB before {EVENTS} events of {BODY} bytes with a stalled listener, \
         {after} KiB after"
    );
    // The events' JSON alone is over 150 MiB.
    assert!(
        after < before + (64 << 10),
        "a stalled listener pinned {} KiB",
        after - before
    );
    // It reads again: a lag notice, then every event in order, none twice.
    let mut stream: Vec<u8> = Vec::new();
    let mut scanned = 0;
    let mut seen: Vec<String> = Vec::new();
    while seen.iter().filter(|s| *s != "lagged").count() < EVENTS {
        let n = tokio::time::timeout(Duration::from_secs(30), listener.read(&mut buf))
            .await
            .expect("the listener stopped getting events")
            .unwrap();
        assert!(n > 0, "the stream ended");
        stream.extend_from_slice(&buf[..n]);
        // Blocks end with a blank line; only their first lines matter here.
        while let Some(end) = memchr::memmem::find(&stream[scanned..], b"\n\n") {
            let block = &stream[..scanned + end];
            let head = String::from_utf8_lossy(&block[..block.len().min(200)]);
            if let Some(id) = head.lines().find_map(|l| l.strip_prefix("id: ")) {
                seen.push(id.to_string());
            } else if head.contains(": lagged") {
                seen.push("lagged".into());
            }
            stream.drain(..scanned + end + 2);
            scanned = 0;
        }
        scanned = stream.len().saturating_sub(1);
    }
    let lag = seen
        .iter()
        .position(|s| s == "lagged")
        .expect("no lag notice");
    seen.remove(lag);
    assert_eq!(seen, ids, "events missing, repeated or out of order");
}

/// A listener whose client stopped reading never ends its response by itself (hyper waits to
/// write it), so it must not hold a shutdown for its whole 10 s grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_does_not_wait_for_a_stalled_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = child::Serve::start(&dir.path().join("data"), child::free_addr());
    let (addr, key) = (server.addr, server.key());
    let put = format!(
        "GET /api/v3/command/webhook.put?eventKey=webhook.stop&maxPayloadLength=400000 HTTP/1.1\r\n\
         Host: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    let token = uuid_of(&send(addr, put.as_bytes()).await.json());
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut listener = socket.connect(addr).await.unwrap();
    let req = format!(
        "GET /api/v3/command/event.listen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
    );
    listener.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = listener.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("text/event-stream"));
    // More than the socket buffers hold: the server's writes to the listener block.
    let body = vec![b'x'; 300_000];
    for _ in 0..40 {
        let r = send(addr, &post(RECEIVE, &format!("token: {token}\r\n"), &body)).await;
        assert_eq!(r.status, 200);
    }
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The shutdown grace is 10 s; a stalled stream must not sit it out.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    drop(listener);
}

/// Answers that carry bodies are sent a few at a time: clients that ask for pages of large
/// bodies and do not read them hold at most a few answers in memory (32 of them took the
/// server to 618 MB). The next such answer waits for one of them to go; other commands do
/// not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_readers_of_bodies_hold_few_answers() {
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.big").await);
    // About 11 MB of JSON per page with bodies: more than the sockets buffer.
    for i in 0..20u8 {
        let body = vec![b'a' + i % 26; 500_000];
        let req = post(RECEIVE, &format!("token: {token}\r\n"), &body);
        assert_eq!(send(s.addr, &req).await.status, 200);
    }
    let page = format!(
        "GET /api/v3/command/event.list?withBody=true&limit=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.key
    );
    // Clients that ask and never read, with small buffers: the answers stay on the server.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut c = socket.connect(s.addr).await.unwrap();
        c.write_all(page.as_bytes()).await.unwrap();
        // Its answer has begun: it holds its permit, and its body waits in the buffers.
        let mut status = [0u8; 12];
        c.read_exact(&mut status).await.unwrap();
        assert_eq!(&status, b"HTTP/1.1 200");
        stalled.push(c);
    }
    // Another command answers meanwhile.
    let r = s.cmd("webhook.get", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A fifth page waits while the four are held...
    let mut fifth = TcpStream::connect(s.addr).await.unwrap();
    fifth.write_all(page.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    let early =
        tokio::time::timeout(Duration::from_millis(500), fifth.read_exact(&mut first)).await;
    assert!(
        early.is_err(),
        "a fifth page was answered while four were held"
    );
    // ...and is answered once one of them goes.
    drop(stalled.pop());
    tokio::time::timeout(Duration::from_secs(30), fifth.read_exact(&mut first))
        .await
        .expect("the fifth page was never answered")
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    drop(stalled);
    s.stop().await;
}
