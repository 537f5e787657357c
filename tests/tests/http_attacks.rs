//! The HTTP function against hostile clients (docs/SECURITY.md): slow senders do not hold
//! slots, connection and upload floods are refused while others are served, heads must
//! arrive in time, a job's steps share one deadline, and the protocol is hyper's (HTTP/1.1
//! keep-alive, h2c).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use stylemark::io::{OutputFormat, encode};
use stylemark::samples::photo;
use stylemark_e2e::http::{Part, Server, field, file, multipart, read_reply};
use stylemark_e2e::mutate::Mutator;

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&photo(width, height, 1), OutputFormat::Png).unwrap()
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
}

/// A client that announces a form of `length` bytes and sends the start of a file part;
/// the caller sends (or trickles) the rest.
fn start_trickling(server: &Server, length: usize) -> TcpStream {
    let mut stream = connect(server);
    let head = format!(
        "POST /v1/watermark HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Sends a multipart POST of `parts` to `path` on `stream` (with `X-Request-Id: id` when
/// given), without reading the answer.
fn send_form(stream: &mut TcpStream, path: &str, id: Option<&str>, parts: &[Part]) {
    let (content_type, body) = multipart(parts);
    let id = id.map_or(String::new(), |id| format!("X-Request-Id: {id}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\n{id}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
}

/// Whether the server has started answering on `stream` (without waiting).
fn answered(stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let ready = stream.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    ready
}

#[test]
fn slow_senders_hold_no_slot_and_are_cut_off_at_the_request_deadline() {
    let server = Server::start(&[
        ("STYLEMARK_CONCURRENCY", "2"),
        ("STYLEMARK_READ_TIMEOUT_S", "3"),
    ]);
    let mut slow: Vec<TcpStream> = (0..4).map(|_| start_trickling(&server, 10_000)).collect();
    // While four clients trickle, the two slots serve everyone else.
    let image = png(96, 64);
    for _ in 0..3 {
        for stream in &mut slow {
            let _ = stream.write_all(b"x");
        }
        let reply = server.post(
            "/v1/watermark",
            &[file("image", image.clone()), field("text", "x")],
        );
        reply.expect_status(200);
        std::thread::sleep(Duration::from_millis(300));
    }
    // However steadily they send, the whole request had 3 s: each gets a 408.
    let deadline = Instant::now() + Duration::from_secs(30);
    for stream in &mut slow {
        while Instant::now() < deadline && !answered(stream) && stream.write_all(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(200));
        }
        let reply = read_reply(stream);
        assert_eq!(reply.status, 408);
        assert_eq!(reply.json()["error"]["kind"], "body_incomplete");
    }
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["functions"]["watermark"]["successes"], 3, "{stats}");
}

#[test]
fn a_head_that_trickles_is_closed_and_others_are_served() {
    let server = Server::start(&[("STYLEMARK_READ_TIMEOUT_S", "3")]);
    let mut slow = connect(&server);
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    // One header byte every 200 ms never completes the head within its 1 s.
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(30) {
        if slow.write_all(b"X").is_err() {
            closed = true;
            break;
        }
        let mut byte = [0u8; 64];
        slow.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match slow.read(&mut byte) {
            Ok(_) => {
                closed = true; // an answer (408) or the end of the stream
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
        assert_eq!(server.get("/healthz").status, 200);
    }
    assert!(closed, "the server kept a head trickling for 30 s");
}

#[test]
fn a_connection_flood_is_refused_and_the_server_recovers() {
    let server = Server::start(&[("STYLEMARK_MAX_CONNECTIONS", "4")]);
    // Four connections each in a request (their heads are in, their bodies trickle).
    let idle: Vec<TcpStream> = (0..4).map(|_| start_trickling(&server, 10_000)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let refused = server.get("/healthz");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["error"]["kind"], "busy");
    assert_eq!(refused.header("retry-after"), Some("1"));
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/healthz").status != 200 {
        assert!(Instant::now() < deadline, "never served again");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The log arrives through the server's stderr, read by another thread: give it time.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server
        .logs()
        .iter()
        .any(|l| l["event"] == "connection_refused")
    {
        assert!(Instant::now() < deadline, "refusals are logged");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the server has closed `stream` (end of stream or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 4096];
    let until = Instant::now() + within;
    while Instant::now() < until {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn silent_connections_that_keep_reconnecting_cannot_keep_real_clients_out() {
    let server = Server::start(&[("STYLEMARK_MAX_CONNECTIONS", "8")]);
    // Slowloris: every slot taken by a connection that sends half a head or that, having
    // had one cheap answer, idles kept alive; each one the server closes comes straight
    // back.
    let half_head = |server: &Server| {
        let mut stream = connect(server);
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nX-Wait: ")
            .unwrap();
        stream
    };
    let kept_alive = |server: &Server| {
        let mut stream = connect(server);
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        assert_eq!(read_reply(&mut stream).status, 200);
        stream
    };
    let mut silent: Vec<TcpStream> = (0..8)
        .map(|i| {
            if i % 2 == 0 {
                half_head(&server)
            } else {
                kept_alive(&server)
            }
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for round in 0..20 {
        let reply = server.get("/healthz");
        assert_eq!(reply.status, 200, "round {round}: {:?}", reply.json());
        for stream in &mut silent {
            if closed_within(stream, Duration::from_millis(1)) {
                *stream = half_head(&server);
            }
        }
    }
    // The oldest silent connection made room for each real one; the newest were kept.
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["total"]["client_errors"], 0, "{stats}");
}

#[test]
fn http2_control_frame_floods_are_cut_off() {
    let server = Server::start(&[]);
    let mut flood = connect(&server);
    flood
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    // WINDOW_UPDATE frames on the connection, nothing else, as fast as the socket takes.
    let window_update = [0u8, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let batch = window_update.repeat(10_000);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut reader = flood.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drain = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 65536];
            reader
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match reader.read(&mut buffer) {
                    Ok(0) => return true,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return true,
                }
            }
            false
        })
    };
    while started.elapsed() < Duration::from_secs(20) && flood.write_all(&batch).is_ok() {
        sent += 10_000;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "the flood ran {elapsed:?} ({sent} frames)"
    );
    assert!(sent < 2_000_000, "{sent} frames taken before the cut");
    let _ = drain.join();
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn uploads_in_flight_share_one_memory_budget() {
    let server = Server::start(&[
        ("STYLEMARK_MAX_UPLOAD_BYTES", "200000"),
        ("STYLEMARK_MAX_BODY_BYTES", "200000"),
    ]);
    // One client has sent 150 KB of a 190 KB body and stalls.
    let mut holder = start_trickling(&server, 190_000);
    holder.write_all(&vec![b'a'; 150_000]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another's 100 KB upload would pass the budget: 503, retry later.
    let image = vec![7u8; 100_000];
    let refused = server.post("/v1/watermark", &[file("image", image), field("text", "x")]);
    assert_eq!(
        refused.status,
        503,
        "{:?}",
        String::from_utf8_lossy(&refused.body)
    );
    assert_eq!(refused.json()["error"]["kind"], "busy");
    assert!(refused.header("retry-after").is_some());
    // Once the holder goes, the budget is free again.
    drop(holder);
    std::thread::sleep(Duration::from_millis(300));
    let reply = server.post(
        "/v1/watermark",
        &[file("image", png(200, 150)), field("text", "x")],
    );
    reply.expect_status(200);
}

#[test]
fn a_job_shares_the_request_deadline_across_its_steps() {
    let server = Server::start(&[("STYLEMARK_TIMEOUT_S", "3")]);
    let doodle = r#"{"op": "doodle", "style": "style", "output_size": [48, 36],
        "options": {"method": "optimize", "phases": 1, "iterations": 1000000}}"#;
    let job = format!(r#"{{"steps": [{}]}}"#, [doodle; 6].join(", "));
    let reply = server.post("/v1/jobs", &[field("job", job), file("style", png(48, 36))]);
    reply.expect_status(200);
    assert_eq!(
        reply.header("x-stylemark-status"),
        Some("time_budget_exhausted")
    );
    // Six doodles that would each paint a million iterations answered within the
    // request's 3 s: the server's own figure, not this client's clock.
    let seconds: f64 = reply
        .header("x-stylemark-seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds < 3.0, "the last doodle took {seconds} s");
    let log = server.log_of(reply.header("x-request-id").unwrap());
    assert_eq!(log["outcome"], "timeout", "{log}");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = Server::start(&[]);
    let mut stream = connect(&server);
    let form = [file("image", png(200, 150)), field("text", "x")];
    for _ in 0..3 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        assert_eq!(read_reply(&mut stream).status, 200);
        send_form(&mut stream, "/v1/watermark", None, &form);
        read_reply(&mut stream).expect_status(200);
    }
}

#[test]
fn h2c_with_prior_knowledge_is_spoken() {
    let server = Server::start(&[]);
    let output = std::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--http2-prior-knowledge",
            "--include",
        ])
        .arg(format!("http://127.0.0.1:{}/healthz", server.port))
        .output()
        .expect("curl runs (scripts/test-all installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/2 200"), "{text}");
    assert!(text.contains("\"status\":\"ok\""), "{text}");
}

/// The status of whatever answer `raw` gets (None when the connection closes unanswered).
fn answer_to(port: u16, raw: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(raw);
    // No more is coming: a body shorter than announced ends here, not at a deadline.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let line = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
    line.split(' ').nth(1).and_then(|s| s.parse().ok())
}

/// Mutated requests (heads and multipart bodies, seeded, replayable): every answer is a
/// 4xx or a 200, nothing is logged as a failure, and the server keeps serving.
#[test]
fn mutated_requests_get_client_errors_never_failures() {
    let server = Server::start(&[("STYLEMARK_READ_TIMEOUT_S", "5")]);
    let (content_type, body) = multipart(&[
        file("image", png(200, 150)),
        field("text", "© x"),
        field("position", "tile"),
    ]);
    let mut valid = format!(
        "POST /v1/watermark?opacity=0.5 HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let head_len = valid.len();
    valid.extend_from_slice(&body);
    assert_eq!(answer_to(server.port, &valid), Some(200));
    let mut statuses = std::collections::BTreeMap::new();
    for seed in 0..150u64 {
        let mut mutator = Mutator::new(seed);
        // Mostly the head and the parts' headers, where the parsing is.
        let raw = if seed % 3 == 0 {
            let mut raw = mutator.mutate(&valid[..head_len]);
            raw.extend_from_slice(&body);
            raw
        } else {
            let mut raw = valid[..head_len].to_vec();
            raw.extend_from_slice(&mutator.mutate(&body));
            raw
        };
        let status = answer_to(server.port, &raw);
        if let Some(status) = status {
            assert!(status < 500, "seed {seed}: {status}");
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    eprintln!("answers to mutated requests: {statuses:?}");
    assert_eq!(server.get("/healthz").status, 200);
    let failures: Vec<_> = server
        .logs()
        .into_iter()
        .filter(|l| l["severity"] == "ERROR")
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}

/// A connection that opens HTTP/2 and then sends no request (its pings would otherwise
/// keep it open forever) is closed once the head timeout passes.
#[test]
fn a_connection_without_a_request_is_closed() {
    let server = Server::start(&[("STYLEMARK_READ_TIMEOUT_S", "3")]);
    let mut idle = connect(&server);
    idle.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The server's settings and, after the timeout, its GOAWAY; then the end.
    let mut seen = Vec::new();
    let ended = loop {
        let mut chunk = [0u8; 1024];
        match idle.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false, // 30 s passed
        }
    };
    assert!(ended, "still open after 30 s ({} bytes seen)", seen.len());
    assert!(!seen.is_empty(), "HTTP/2 was spoken before closing");
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn a_job_decodes_only_the_files_it_names_and_all_of_them_within_one_budget() {
    let server = Server::start(&[("STYLEMARK_MAX_PIXELS", "100000")]);
    let job = r#"{"input": "photo", "steps": [{"op": "watermark_text", "text": "x"}]}"#;
    let reply = server.post(
        "/v1/jobs",
        &[
            field("job", job),
            file("photo", png(300, 200)),
            file("extra", png(300, 200)),
        ],
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["field"], "extra");

    // Five images of 90,000 pixels, each within STYLEMARK_MAX_PIXELS, together over
    // four times it.
    let job = r#"{"steps": [
        {"op": "doodle", "style": "a", "style_map": "b", "content": "c", "content_map": "d"},
        {"op": "watermark_logo", "logo": "e"}
    ]}"#;
    let mut parts = vec![field("job", job)];
    for name in ["a", "b", "c", "d", "e"] {
        parts.push(file(name, png(300, 300)));
    }
    expect_limit_exceeded(&server.post("/v1/jobs", &parts), "together");
}

/// Asserts `reply` is a 413 `limit_exceeded` whose message mentions `words`.
fn expect_limit_exceeded(reply: &stylemark_e2e::http::Reply, words: &str) {
    assert_eq!(
        reply.status,
        413,
        "{:?}",
        String::from_utf8_lossy(&reply.body)
    );
    let error = &reply.json()["error"];
    assert_eq!(error["kind"], "limit_exceeded");
    assert!(
        error["message"].as_str().unwrap().contains(words),
        "{error}"
    );
}

/// The memory a request's images are predicted to need is held to the per-request budget,
/// from their headers, before any is decoded.
#[test]
fn a_request_predicted_to_need_more_memory_than_its_share_is_refused() {
    use stylemark::limits::predicted_memory;
    let budget = predicted_memory([(300, 300)], 0);
    let server = Server::start(&[("STYLEMARK_MAX_REQUEST_MEMORY", &budget.to_string())]);
    let image = png(300, 300);
    let reply = server.post(
        "/v1/doodle",
        &[file("style", image.clone()), file("content", image.clone())],
    );
    expect_limit_exceeded(&reply, "max_request_memory");
    // One image of that size is within it: served.
    let reply = server.post("/v1/watermark", &[file("image", image), field("text", "x")]);
    reply.expect_status(200);
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["total"]["failures"], 0, "{stats}");
}

/// A request whose single evaluation would take minutes (the nearest-patch search at
/// `conv1_1`, a stride-1 layer) used to hold its slot for minutes past the deadline and
/// stall the other slot. Now the search stops at the deadline: the answer (the best image
/// so far) comes within the request's time, and the other slot keeps serving.
#[test]
fn a_fine_layer_evaluation_stops_at_the_deadline_and_blocks_no_one() {
    let server = Server::start(&[("STYLEMARK_CONCURRENCY", "2"), ("STYLEMARK_TIMEOUT_S", "4")]);
    let painting = png(256, 256);
    let parts = [
        file("style", painting.clone()),
        file("content", painting),
        field("method", "optimize"),
        field("phases", "1"),
        field("style-layers", "conv1_1"),
    ];
    let started = Instant::now();
    let port = server.port;
    let heavy = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        send_form(&mut stream, "/v1/doodle", None, &parts);
        read_reply(&mut stream)
    });
    std::thread::sleep(Duration::from_millis(500));
    // The other slot answers a small watermark meanwhile.
    let beside = Instant::now();
    let small = server.post(
        "/v1/watermark",
        &[file("image", png(96, 64)), field("text", "x")],
    );
    small.expect_status(200);
    assert!(
        beside.elapsed() < Duration::from_secs(10),
        "the watermark beside it took {:?}",
        beside.elapsed()
    );
    let reply = heavy.join().unwrap();
    let took = started.elapsed();
    reply.expect_status(200);
    assert_eq!(
        reply.header("x-stylemark-status"),
        Some("time_budget_exhausted")
    );
    assert!(
        took < Duration::from_secs(9),
        "a 4 s deadline answered after {took:?}"
    );
}

/// A client that goes away mid-work frees its slot within seconds, and the request is
/// logged and counted as abandoned.
#[test]
fn a_dropped_request_stops_its_work_and_is_counted() {
    let server = Server::start(&[
        ("STYLEMARK_CONCURRENCY", "1"),
        ("STYLEMARK_TIMEOUT_S", "120"),
    ]);
    let painting = png(256, 256);
    let form = [
        file("style", painting.clone()),
        file("content", painting),
        field("method", "optimize"),
        field("phases", "1"),
        field("style-layers", "conv1_1"),
    ];
    let mut stream = connect(&server);
    send_form(&mut stream, "/v1/doodle", Some("gone-away"), &form);
    std::thread::sleep(Duration::from_secs(2));
    drop(stream);
    // The one slot is free again well before the work would have ended.
    let started = Instant::now();
    let freed = loop {
        let reply = server.post(
            "/v1/watermark",
            &[file("image", png(96, 64)), field("text", "x")],
        );
        if reply.status == 200 {
            break started.elapsed();
        }
        assert_eq!(reply.status, 429, "busy, or answered");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the slot stayed taken"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(freed < Duration::from_secs(15), "{freed:?}");
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["functions"]["doodle"]["abandoned"], 1, "{stats}");
    let line = server.log_of("gone-away");
    assert_eq!(line["outcome"], "abandoned", "{line}");
    assert_eq!(line["status"], 499, "{line}");
}

/// Clients that upload a small image, ask for a large answer and never read it cannot
/// make the server hold more answers than its budget: past it, finished answers are
/// dropped and answered 503, and the room comes back when the parked client goes.
#[test]
fn answers_clients_do_not_read_are_held_to_the_answer_budget() {
    let server = Server::start(&[
        ("STYLEMARK_CONCURRENCY", "2"),
        ("STYLEMARK_MAX_ANSWER_BYTES", "32000000"),
    ]);
    // Noise does not compress: its PNG answer is about 27 MB, its JPEG upload far less.
    let mut rng = stylemark::rng::SplitMix64::new(7);
    let noise = stylemark::image::RgbImage::from_fn(3000, 3000, |_, _| {
        stylemark::image::Rgb([0u8; 3].map(|_| rng.below(256) as u8))
    });
    let upload = encode(
        &stylemark::image::DynamicImage::ImageRgb8(noise),
        OutputFormat::Jpeg { quality: 92 },
    )
    .unwrap();
    let request = |id: &str| -> TcpStream {
        let form = [
            file("image", upload.clone()),
            field("text", "x"),
            field("format", "png"),
        ];
        let mut stream = connect(&server);
        send_form(&mut stream, "/v1/watermark", Some(id), &form);
        stream
    };
    // The first client's answer is made and waits for it: it never reads.
    let parked = request("parked");
    let line = server.log_of("parked");
    assert_eq!(line["status"], 200, "{line}");
    // A second such answer does not fit beside it.
    let mut second = request("second");
    let reply = read_reply(&mut second);
    assert_eq!(
        reply.status,
        503,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(String::from_utf8_lossy(&reply.body).contains("STYLEMARK_MAX_ANSWER_BYTES"));
    assert_eq!(server.get("/healthz").status, 200);
    // The parked client goes; its room comes back.
    drop(parked);
    let started = Instant::now();
    loop {
        let mut third = request("third");
        let reply = read_reply(&mut third);
        if reply.status == 200 {
            assert!(reply.body.len() > 20_000_000, "{}", reply.body.len());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the room never came back: {}",
            reply.status
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
