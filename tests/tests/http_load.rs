//! The HTTP function under load and at shutdown: no 5xx, every answer valid, 429 beyond
//! the concurrency limit, memory that levels off, and a graceful SIGTERM.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stylemark::image::GenericImageView;
use stylemark::io::{DecodeLimits, OutputFormat, decode, encode};
use stylemark::samples::photo;
use stylemark_e2e::http::{Reply, Server, field, file};

const CONCURRENCY: usize = 8;

fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    encode(&photo(width, height, seed), OutputFormat::Png).unwrap()
}

/// `requests` watermark calls from `CONCURRENCY` client threads; every one must be 200
/// with a valid image of the input's size.
fn watermark_burst(server: &Server, requests: usize, image: &[u8]) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::SeqCst) < requests {
                    let reply = server.post(
                        "/v1/watermark",
                        &[
                            file("image", image.to_vec()),
                            field("text", "© load test"),
                            field("position", "tile"),
                        ],
                    );
                    reply.expect_status(200);
                    let decoded = decode(&reply.body, &DecodeLimits::default()).unwrap();
                    assert_eq!(decoded.dimensions(), (256, 192));
                }
            });
        }
    });
}

fn is_busy(reply: &Reply) -> bool {
    reply.status == 429
        && reply
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1))
        && reply.json()["error"]["kind"] == "busy"
}

#[test]
fn watermark_load_and_doodles_past_the_limit() {
    let concurrency = CONCURRENCY.to_string();
    let server = Server::start(&[("STYLEMARK_CONCURRENCY", concurrency.as_str())]);
    let image = png(256, 192, 1);

    // 200 watermarks at concurrency 8, in two halves: after the first, the allocator and
    // caches have reached their working size; the second must not add much to it.
    watermark_burst(&server, 100, &image);
    let rss_after_first = server.rss_kib();
    watermark_burst(&server, 100, &image);
    let rss_after_second = server.rss_kib();
    let growth = rss_after_second.saturating_sub(rss_after_first);
    eprintln!(
        "server RSS: {rss_after_first} KiB after 100 watermarks, {rss_after_second} KiB after 200"
    );
    assert!(
        growth < 48 * 1024,
        "memory grew by {growth} KiB over the second 100 requests ({rss_after_first} -> {rss_after_second} KiB)"
    );

    // Fill every slot with a doodle that paints for 3 seconds, then knock again.
    let style = png(64, 48, 2);
    std::thread::scope(|scope| {
        let doodles: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                scope.spawn(|| {
                    server.post(
                        "/v1/doodle",
                        &[
                            file("style", style.clone()),
                            field("output-size", "48x36"),
                            field("method", "optimize"),
                            field("iterations", "100000"),
                            field("time-budget", "3"),
                        ],
                    )
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.get("/healthz").json()["busy"] != CONCURRENCY {
            assert!(
                Instant::now() < deadline,
                "the doodles never filled the slots"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for _ in 0..3 {
            let extra = server.post(
                "/v1/doodle",
                &[file("style", style.clone()), field("output-size", "48x36")],
            );
            assert!(is_busy(&extra), "{} {:?}", extra.status, extra.headers);
            let watermark = server.post(
                "/v1/watermark",
                &[file("image", image.clone()), field("text", "x")],
            );
            assert!(is_busy(&watermark), "{}", watermark.status);
        }
        // A client waiting for 100 Continue hears 429 before sending its body.
        let waiting = stylemark_e2e::http::send(
            server.port,
            b"POST /v1/watermark HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
        );
        assert!(
            is_busy(&waiting),
            "{} {:?}",
            waiting.status,
            waiting.headers
        );
        for doodle in doodles {
            let reply = doodle.join().unwrap();
            reply.expect_status(200);
            assert_eq!(
                reply.header("x-stylemark-status"),
                Some("time_budget_exhausted")
            );
            let decoded = decode(&reply.body, &DecodeLimits::default()).unwrap();
            assert_eq!(decoded.dimensions(), (48, 36));
        }
    });
    // Slots free again.
    let after = server.post("/v1/watermark", &[file("image", image), field("text", "x")]);
    assert_eq!(after.status, 200);

    let stats = server.get("/v1/stats").json();
    let (watermark, doodle) = (
        &stats["functions"]["watermark"],
        &stats["functions"]["doodle"],
    );
    assert_eq!(watermark["successes"], 201, "{stats}");
    assert_eq!(watermark["rejected"], 4);
    assert_eq!(doodle["successes"], CONCURRENCY);
    assert_eq!(doodle["rejected"], 3);
    assert_eq!(stats["total"]["failures"], 0);
    let logs = server.logs();
    assert!(
        logs.iter()
            .all(|l| l["status"].as_u64().is_none_or(|s| s < 500)),
        "no 5xx in the logs"
    );
    let rejected_lines = logs.iter().filter(|l| l["outcome"] == "rejected").count();
    assert_eq!(rejected_lines, 7);
}

#[test]
fn sigterm_lets_running_requests_finish_then_exits() {
    let mut server = Server::start(&[("STYLEMARK_GRACE_S", "4")]);
    let style = png(64, 48, 3);
    let port = server.port;
    std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            server.post(
                "/v1/doodle",
                &[
                    file("style", style.clone()),
                    field("output-size", "48x36"),
                    field("method", "optimize"),
                    field("iterations", "100000"),
                ],
            )
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.get("/healthz").json()["busy"] != 1 {
            assert!(Instant::now() < deadline, "the doodle never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        server.signal("TERM");
        let reply = running.join().unwrap();
        // Cancelled shortly before the grace period ends, it still answers with its image.
        reply.expect_status(200);
        assert_eq!(reply.header("x-stylemark-status"), Some("cancelled"));
        assert!(decode(&reply.body, &DecodeLimits::default()).is_ok());
    });
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer listening"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while !server.logs().iter().any(|l| l["event"] == "stopped") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = server.logs();
    let events: Vec<&str> = logs.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events, ["listening", "stopping", "stopped"]);
    let stopped = logs.iter().find(|l| l["event"] == "stopped").unwrap();
    assert_eq!(stopped["unfinished"], 0);
}
