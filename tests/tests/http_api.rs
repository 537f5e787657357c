//! The HTTP function over loopback: every endpoint with real images, checked against the
//! core run in-process on the same inputs.

use stylemark::image::{DynamicImage, GenericImageView};
use stylemark::io::{DecodeLimits, OutputFormat, decode, encode};
use stylemark::job::{Job, JobInputs};
use stylemark::samples::{demo_scene, photo};
use stylemark_e2e::http::{Server, field, file};
use stylemark_e2e::mean_difference;

fn png(image: &DynamicImage) -> Vec<u8> {
    encode(image, OutputFormat::Png).unwrap()
}

fn image_of(body: &[u8]) -> DynamicImage {
    decode(body, &DecodeLimits::default()).expect("the response is an image")
}

fn core_run(job: &str, images: &[(&str, &DynamicImage)]) -> Vec<u8> {
    let mut inputs = JobInputs::default();
    for (name, image) in images {
        inputs.images.insert(name.to_string(), (*image).clone());
    }
    stylemark::Session::default()
        .run_job(&Job::from_json(job).unwrap(), &inputs)
        .unwrap()
        .encoded()
        .unwrap()
}

#[test]
fn watermark_answers_the_same_image_as_the_core() {
    let server = Server::start(&[]);
    let input = photo(320, 240, 3);
    let reply = server.post_with(
        "/v1/watermark",
        &[
            file("image", png(&input)),
            field("text", "© Ada"),
            field("position", "tile"),
            field("rotate", "-30"),
            field("opacity", "0.5"),
        ],
        &[("X-Request-Id", "test-watermark-1")],
    );
    reply.expect_status(200);
    assert_eq!(reply.header("content-type"), Some("image/png"));
    assert_eq!(reply.header("x-request-id"), Some("test-watermark-1"));
    assert_eq!(reply.header("x-stylemark-status"), Some("completed"));
    let marks: usize = reply.header("x-stylemark-marks").unwrap().parse().unwrap();
    assert!(marks > 1, "tiled: {marks}");
    let expected = core_run(
        r#"{"input": "image", "steps": [{"op": "watermark_text", "text": "© Ada",
            "options": {"opacity": 0.5, "placement": {"position": "tile", "rotation": -30}}}]}"#,
        &[("image", &input)],
    );
    assert_eq!(reply.body, expected, "HTTP and core give the same bytes");
    assert_ne!(image_of(&reply.body), input);

    let log = server.log_of("test-watermark-1");
    assert_eq!(log["function"], "watermark");
    assert_eq!(log["status"], 200);
    assert_eq!(log["outcome"], "success");
    assert!(log["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(log["cpu_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(log["severity"], "INFO");
}

#[test]
fn jpeg_output_logo_and_query_fields() {
    let server = Server::start(&[]);
    let input = photo(300, 200, 5);
    let jpeg = server.post(
        "/v1/watermark?format=jpeg&quality=70",
        &[file("image", png(&input)), field("text", "hello")],
    );
    assert_eq!(jpeg.status, 200);
    assert_eq!(jpeg.header("content-type"), Some("image/jpeg"));
    assert_eq!(&jpeg.body[..2], &[0xFF, 0xD8]);
    assert_eq!(image_of(&jpeg.body).dimensions(), (300, 200));

    let logo = photo(60, 40, 9);
    let reply = server.post(
        "/v1/watermark",
        &[
            file("image", png(&input)),
            file("logo", png(&logo)),
            field("size", "200"),
            field("position", "north-west"),
        ],
    );
    assert_eq!(reply.status, 200);
    // Not enlarged past its own width without `upscale`, and the answer says so.
    assert!(
        reply.header("x-stylemark-note").is_some(),
        "{:?}",
        reply.headers
    );
    let marked = image_of(&reply.body).to_rgb8();
    let original = input.to_rgb8();
    let changed = |x: u32, y: u32| marked.get_pixel(x, y) != original.get_pixel(x, y);
    assert!(changed(20, 20), "the logo is at the top left");
    assert!(!changed(290, 190), "and nowhere near the bottom right");
}

#[test]
fn invisible_mark_round_trip_over_http() {
    let server = Server::start(&[]);
    let input = photo(512, 384, 2);
    let embedded = server.post(
        "/v1/mark/embed",
        &[
            file("image", png(&input)),
            field("payload", "c0ffee"),
            field("key", "secret"),
        ],
    );
    embedded.expect_status(200);
    let psnr: f64 = embedded
        .header("x-stylemark-psnr-db")
        .unwrap()
        .parse()
        .unwrap();
    assert!(psnr >= 40.0, "{psnr}");

    let detect = |image: Vec<u8>, key: &str| {
        let reply = server.post(
            "/v1/mark/detect",
            &[file("image", image), field("key", key)],
        );
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.json()
    };
    let found = detect(embedded.body.clone(), "secret");
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["payload"], "c0ffee");
    let wrong_key = detect(embedded.body, "other");
    assert_eq!(wrong_key["found"], false, "{wrong_key}");
    let unmarked = detect(png(&input), "secret");
    assert_eq!(unmarked["found"], false);
}

#[test]
fn doodle_paints_the_map_and_repeats_with_a_seed() {
    let server = Server::start(&[]);
    let scene = demo_scene(64, 48, 1);
    let as_png = |i: &stylemark::image::RgbImage| png(&DynamicImage::ImageRgb8(i.clone()));
    let paint = || {
        server.post(
            "/v1/doodle",
            &[
                file("style", as_png(&scene.style)),
                file("style_map", as_png(&scene.style_map)),
                file("content_map", as_png(&scene.doodle)),
                field("phases", "1"),
                field("method", "optimize"),
                field("iterations", "6"),
                field("random-seed", "7"),
            ],
        )
    };
    let first = paint();
    first.expect_status(200);
    assert_eq!(first.header("x-stylemark-status"), Some("completed"));
    assert_eq!(first.header("x-stylemark-mode"), Some("doodle"));
    assert_eq!(first.header("x-stylemark-method"), Some("optimize"));
    assert_eq!(first.header("x-stylemark-size"), Some("64x48"));
    assert_eq!(first.header("x-stylemark-evaluations"), Some("6"));
    assert_eq!(first.header("x-stylemark-random-seed"), Some("7"));
    let painted = image_of(&first.body);
    assert_eq!(painted.dimensions(), (64, 48));
    assert_eq!(
        first.body,
        paint().body,
        "the same seed gives the same bytes"
    );

    // The built-in demo painting as the style of an uploaded photo, by the default method.
    let reply = server.post(
        "/v1/doodle",
        &[
            file("content", png(&photo(64, 48, 4))),
            field("style", "demo"),
            field("iterations", "3"),
            field("format", "jpeg"),
        ],
    );
    reply.expect_status(200);
    assert_eq!(reply.header("x-stylemark-mode"), Some("transfer"));
    assert_eq!(reply.header("x-stylemark-method"), Some("patch"));
    assert_eq!(
        reply.header("x-stylemark-warnings"),
        Some("iterations has no effect with method patch; it applies to method optimize or hybrid")
    );
    assert_eq!(image_of(&reply.body).dimensions(), (64, 48));
}

#[test]
fn the_photo_options_are_form_fields() {
    let server = Server::start(&[]);
    let input = photo(96, 72, 4);
    let paint = |strength: &str| {
        server.post(
            "/v1/doodle",
            &[
                file("content", png(&input)),
                field("style", "demo"),
                field("strength", strength),
                field("preserve-colors", "true"),
                field("random-seed", "2"),
            ],
        )
    };
    let reply = paint("0");
    reply.expect_status(200);
    assert_eq!(reply.header("x-stylemark-warnings"), None);
    // Strength 0 gives the photo back (up to the colour conversions).
    let difference = mean_difference(&image_of(&reply.body).to_rgb8(), &input.to_rgb8());
    assert!(difference < 1.5, "{difference}");
    let refused = paint("2");
    assert_eq!(refused.status, 400);
    let error = refused.json()["error"].clone();
    assert_eq!(error["kind"], "invalid_options", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("strength"),
        "{error}"
    );
}

#[test]
fn the_server_time_budget_returns_the_best_image_and_counts_a_timeout() {
    let server = Server::start(&[("STYLEMARK_TIMEOUT_S", "1.5")]);
    let style = photo(96, 72, 1);
    let reply = server.post(
        "/v1/doodle",
        &[
            file("style", png(&style)),
            field("output-size", "96x72"),
            field("method", "optimize"),
            field("iterations", "100000"),
        ],
    );
    reply.expect_status(200);
    assert_eq!(
        reply.header("x-stylemark-status"),
        Some("time_budget_exhausted")
    );
    assert_eq!(image_of(&reply.body).dimensions(), (96, 72));
    let id = reply.header("x-request-id").unwrap();
    let log = server.log_of(id);
    assert_eq!(log["outcome"], "timeout");
    assert_eq!(log["severity"], "WARNING");
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["functions"]["doodle"]["timeouts"], 1, "{stats}");
    assert_eq!(stats["functions"]["doodle"]["successes"], 1);
}

#[test]
fn jobs_run_the_core_job_format() {
    let server = Server::start(&[]);
    let input = photo(384, 288, 6);
    let job = r#"{"input": "photo", "steps": [
        {"op": "watermark_text", "text": "© Ada", "options": {"size": "6%"}},
        {"op": "mark_embed", "payload": "0a0b", "key": "k"},
        {"op": "mark_detect", "key": "k"}
    ]}"#;
    let reply = server.post("/v1/jobs", &[field("job", job), file("photo", png(&input))]);
    reply.expect_status(200);
    assert_eq!(reply.body, core_run(job, &[("photo", &input)]));
    assert_eq!(reply.header("x-stylemark-steps"), Some("3"));

    let as_json = server.post_with(
        "/v1/jobs",
        &[field("job", job), file("photo", png(&input))],
        &[("Accept", "application/json")],
    );
    let body = as_json.json();
    assert_eq!(body["mime_type"], "image/png");
    assert_eq!(body["steps"][2]["details"]["payload"], "0a0b");
    assert!(body["image_base64"].as_str().unwrap().len() > 1000);

    let detect_only = server.post(
        "/v1/jobs",
        &[
            field(
                "job",
                r#"{"input": "photo", "steps": [{"op": "mark_detect", "key": "k"}]}"#,
            ),
            file("photo", png(&input)),
        ],
    );
    assert_eq!(detect_only.status, 200);
    assert_eq!(detect_only.json()["steps"][0]["details"]["found"], false);

    // Two steps of a kind still give each header once.
    let twice = r#"{"input": "photo", "steps": [
        {"op": "watermark_text", "text": "one"},
        {"op": "watermark_text", "text": "two", "options": {"placement": {"position": "north-west"}}}
    ]}"#;
    let reply = server.post(
        "/v1/jobs",
        &[field("job", twice), file("photo", png(&input))],
    );
    reply.expect_status(200);
    for name in [
        "x-stylemark-marks",
        "x-stylemark-status",
        "x-stylemark-steps",
    ] {
        let count = reply
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count();
        assert_eq!(count, 1, "{name}: {:?}", reply.headers);
    }
}

#[test]
fn page_health_stats_and_cors() {
    let server = Server::start(&[
        ("STYLEMARK_CONCURRENCY", "3"),
        ("STYLEMARK_ALLOW_ORIGIN", "https://app.example"),
    ]);
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<script src=\"app.js\">"), "{html}");
    let script = server.get("/app.js");
    assert_eq!(script.status, 200);
    assert!(
        String::from_utf8(script.body)
            .unwrap()
            .contains("/v1/watermark")
    );
    assert_eq!(server.get("/style.css").status, 200);

    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["busy"], 0);
    // Health says whether to send traffic, not how the function is set up.
    for private in ["settings", "encoder", "device"] {
        assert!(health.get(private).is_none(), "{health}");
    }

    let preflight = stylemark_e2e::http::send(
        server.port,
        b"OPTIONS /v1/watermark HTTP/1.1\r\nHost: t\r\nOrigin: https://example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(preflight.header("vary"), Some("Origin"));
    assert!(
        preflight
            .header("access-control-expose-headers")
            .unwrap()
            .contains("X-Stylemark-Status")
    );

    let input = png(&photo(200, 150, 1));
    for _ in 0..3 {
        let reply = server.post(
            "/v1/watermark",
            &[file("image", input.clone()), field("text", "x")],
        );
        assert_eq!(reply.status, 200);
    }
    let bad = server.post(
        "/v1/watermark",
        &[
            file("image", input),
            field("text", "x"),
            field("opacity", "9"),
        ],
    );
    assert_eq!(bad.status, 400);
    let stats = server.get("/v1/stats").json();
    let watermark = &stats["functions"]["watermark"];
    assert_eq!(watermark["invocations"], 4, "{stats}");
    assert_eq!(watermark["successes"], 3);
    assert_eq!(watermark["client_errors"], 1);
    assert_eq!(watermark["success_rate"], 0.75);
    assert!(watermark["latency_p50_seconds"].as_f64().unwrap() > 0.0);
    assert!(
        watermark["latency_p95_seconds"].as_f64().unwrap()
            >= watermark["latency_p50_seconds"].as_f64().unwrap()
    );
    assert!(watermark["cpu_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["total"]["invocations"], 4);

    // Without STYLEMARK_ALLOW_ORIGIN there are no CORS headers: the page is same-origin.
    let default = Server::start(&[]);
    let preflight = stylemark_e2e::http::send(
        default.port,
        b"OPTIONS /v1/watermark HTTP/1.1\r\nHost: t\r\nOrigin: https://example.com\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}

#[test]
fn photos_come_back_at_their_own_size_and_other_doodles_at_the_doodle_cap() {
    let server = Server::start(&[
        ("STYLEMARK_DOODLE_MAX_SIZE", "64"),
        ("STYLEMARK_PHOTO_MAX_SIZE", "160"),
    ]);
    let paint = |fields: Vec<stylemark_e2e::http::Part>| {
        let reply = server.post("/v1/doodle", &fields);
        reply.expect_status(200);
        image_of(&reply.body).dimensions()
    };
    // A photo painted by patches: its own size, up to the photo cap.
    let small = photo(150, 100, 3);
    assert_eq!(
        paint(vec![file("content", png(&small)), field("style", "demo")]),
        (150, 100)
    );
    let large = photo(200, 150, 3);
    assert_eq!(
        paint(vec![file("content", png(&large)), field("style", "demo")]),
        (160, 120)
    );
    // A texture (no photo) paints every pixel: the doodle cap.
    assert_eq!(
        paint(vec![
            field("style", "demo"),
            field("output-size", "200x150")
        ]),
        (64, 48)
    );
}

#[test]
fn a_client_that_expects_100_continue_is_told_to_send_its_body() {
    use std::io::{Read, Write};
    let server = Server::start(&[]);
    let marked = stylemark::watermark::invisible::embed(
        &photo(512, 384, 4),
        b"\x07",
        "continue",
        &stylemark::watermark::invisible::MarkOptions::default(),
    )
    .unwrap()
    .image;
    let (content_type, body) =
        stylemark_e2e::http::multipart(&[file("image", png(&marked)), field("key", "continue")]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /v1/mark/detect HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The interim answer comes before any of the body is sent (curl otherwise waits).
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(&body).unwrap();
    let reply = stylemark_e2e::http::read_reply(&mut stream);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["payload"], "07");
}
