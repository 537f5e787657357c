//! Every kind of bad request gets its 4xx status and a JSON error that says what to fix,
//! and the server keeps serving.

use stylemark::io::{OutputFormat, encode};
use stylemark::samples::photo;
use stylemark_e2e::http::{Reply, Server, field, file, multipart, send};

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&photo(width, height, 1), OutputFormat::Png).unwrap()
}

/// Checks the status and the JSON error; returns the error object.
fn expect_error(reply: &Reply, status: u16, kind: &str, mentions: &str) -> serde_json::Value {
    assert_eq!(
        reply.status,
        status,
        "expected {status} {kind}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let error = reply.json()["error"].clone();
    assert_eq!(error["status"], status);
    assert_eq!(error["kind"], kind, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "`{message}` does not mention `{mentions}`"
    );
    assert_eq!(
        error["request_id"].as_str(),
        reply.header("x-request-id"),
        "the error names the request"
    );
    error
}

#[test]
fn routing_and_protocol_errors() {
    let server = Server::start(&[]);
    expect_error(&server.get("/nope"), 404, "not_found", "/nope");
    expect_error(
        &server.get("/v1/watermark"),
        405,
        "method_not_allowed",
        "POST",
    );
    let post_page = send(
        server.port,
        b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    expect_error(&post_page, 405, "method_not_allowed", "GET");
    // A wrong path with a large body still gets its answer (the body is drained, not reset).
    let big_to_nowhere = server.post("/v1/nowhere", &[file("image", vec![7u8; 300_000])]);
    expect_error(&big_to_nowhere, 404, "not_found", "/v1/nowhere");
    // Malformed heads are answered by hyper itself, before any function sees them.
    let garbage = send(server.port, b"HELLO\r\n\r\n");
    assert_eq!(garbage.status, 400);
    let huge_head = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(send(server.port, huge_head.as_bytes()).status, 431);

    // HTTP/1.1 without a Content-Length or chunked framing has an empty body.
    let no_length = send(
        server.port,
        b"POST /v1/watermark HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\n\r\n",
    );
    expect_error(&no_length, 400, "bad_form", "form");
    // A chunked upload (what a streaming client sends) is read like any other.
    let (content_type, body) = multipart(&[file("image", png(200, 150)), field("text", "x")]);
    let mut chunked =
        format!("POST /v1/watermark HTTP/1.1\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for piece in body.chunks(700) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let reply = send(server.port, &chunked);
    reply.expect_status(200);
    assert!(reply.header("content-type").unwrap().starts_with("image/"));
    let json_body = send(
        server.port,
        b"POST /v1/watermark HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    expect_error(
        &json_body,
        415,
        "unsupported_media_type",
        "multipart/form-data",
    );
    let (content_type, body) = multipart(&[field("text", "x")]);
    let truncated = format!(
        "POST /v1/watermark HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len() - 10
    );
    let mut raw = truncated.into_bytes();
    raw.extend_from_slice(&body[..body.len() - 10]);
    expect_error(
        &send(server.port, &raw),
        400,
        "bad_form",
        "closing boundary",
    );

    // Still serving after all that.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn form_and_option_errors_name_the_field() {
    let server = Server::start(&[]);
    let image = png(200, 150);
    let cases: Vec<(&str, Vec<stylemark_e2e::http::Part>, &str)> = vec![
        ("/v1/watermark", vec![file("image", image.clone())], "text"),
        (
            "/v1/watermark",
            vec![
                file("image", image.clone()),
                field("text", "x"),
                file("logo", image.clone()),
            ],
            "text",
        ),
        ("/v1/watermark", vec![field("text", "x")], "image"),
        (
            "/v1/watermark",
            vec![
                file("image", image.clone()),
                field("text", "x"),
                field("opacity", "1.5"),
            ],
            "opacity",
        ),
        (
            "/v1/watermark",
            vec![
                file("image", image.clone()),
                field("text", "x"),
                field("positon", "tile"),
            ],
            "positon",
        ),
        (
            "/v1/watermark",
            vec![
                file("image", image.clone()),
                field("text", "x"),
                file("style", image.clone()),
            ],
            "style",
        ),
        (
            "/v1/mark/embed",
            vec![
                file("image", image.clone()),
                field("key", "k"),
                field("payload", "xyz"),
            ],
            "payload",
        ),
        ("/v1/mark/detect", vec![file("image", image.clone())], "key"),
        ("/v1/doodle", vec![field("iterations", "5")], "style"),
        (
            "/v1/doodle",
            vec![file("style", image.clone()), field("iterations", "lots")],
            "iterations",
        ),
        (
            "/v1/doodle",
            vec![file("style", image.clone()), field("style-layers", "9_9")],
            "style_layers",
        ),
        ("/v1/jobs", vec![file("photo", image.clone())], "job"),
        (
            "/v1/jobs",
            vec![field(
                "job",
                r#"{"steps": [{"op": "watermark_text", "txt": "x"}]}"#,
            )],
            "job.steps[0]",
        ),
        (
            "/v1/jobs",
            vec![field(
                "job",
                r#"{"input": "photo", "steps": [{"op": "mark_detect", "key": "k"}]}"#,
            )],
            "job.input",
        ),
    ];
    for (path, parts, name) in cases {
        let reply = server.post(path, &parts);
        let error = expect_error(&reply, 400, "invalid_options", name);
        assert!(
            error["field"].as_str().is_some_and(|f| f.contains(name)),
            "{path}: field of {error} is not {name}"
        );
    }
}

#[test]
fn heads_framed_ambiguously_are_400() {
    let server = Server::start(&[]);
    // (A bare LF as a line end is read as CR LF, as RFC 9112 allows and hyper does.)
    let heads: [&[u8]; 3] = [
        b"GET /healthz HTTP/1.7\r\nHost: x\r\n\r\n",
        b"POST /v1/watermark HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 9\r\n\r\nabcd",
        b"POST /v1/watermark HTTP/1.1\r\nContent-Length : 4\r\n\r\nabcd",
    ];
    for head in heads {
        let reply = send(server.port, head);
        assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(head));
    }
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn the_mark_key_is_refused_in_the_url_in_any_spelling() {
    let server = Server::start(&[]);
    for query in [
        "key=secret",
        "KEY=secret",
        "Key=secret",
        "%4Bey=secret",
        "%20key=secret",
    ] {
        let reply = server.post(
            &format!("/v1/mark/detect?{query}"),
            &[file("image", png(300, 300))],
        );
        let error = expect_error(&reply, 400, "invalid_options", "URL");
        assert_eq!(error["field"], "key", "{query}");
    }
}

#[test]
fn an_output_format_that_cannot_be_written_is_the_clients_mistake() {
    let server = Server::start(&[]);
    let reply = server.post(
        "/v1/watermark",
        &[
            file("image", png(64, 64)),
            field("text", "x"),
            field("format", "gif"),
        ],
    );
    let error = expect_error(&reply, 400, "invalid_options", "gif");
    assert_eq!(error["field"], "format");
    // Counted as a client error, not a failure an alert would fire on.
    let stats = server.get("/v1/stats").json();
    assert_eq!(stats["functions"]["watermark"]["failures"], 0, "{stats}");
    assert_eq!(
        stats["functions"]["watermark"]["client_errors"], 1,
        "{stats}"
    );
}

#[test]
fn a_form_with_too_many_parts_is_refused_without_parsing_each() {
    let server = Server::start(&[]);
    let empty: Vec<_> = (0..5000).map(|_| field("x", "")).collect();
    let reply = server.post("/v1/watermark", &empty);
    expect_error(&reply, 400, "bad_form", "at most 128");
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn bad_images_are_422_and_oversized_ones_413() {
    let server = Server::start(&[
        ("STYLEMARK_MAX_BODY_BYTES", "200000"),
        ("STYLEMARK_MAX_PIXELS", "100000"),
    ]);
    let garbage = server.post(
        "/v1/watermark",
        &[
            file("image", b"this is not an image".to_vec()),
            field("text", "x"),
        ],
    );
    let error = expect_error(&garbage, 422, "invalid_image", "image");
    assert_eq!(error["field"], "image");
    let mut truncated = png(200, 150);
    truncated.truncate(truncated.len() / 2);
    let reply = server.post(
        "/v1/watermark",
        &[file("image", truncated), field("text", "x")],
    );
    expect_error(&reply, 422, "invalid_image", "image");
    let too_small_for_a_mark = server.post(
        "/v1/mark/embed",
        &[
            file("image", png(64, 48)),
            field("key", "k"),
            field("payload", "01"),
        ],
    );
    expect_error(&too_small_for_a_mark, 422, "invalid_image", "64");

    // 400x300 is 120,000 pixels, over the 100,000 allowed: refused from the header.
    let many_pixels = server.post(
        "/v1/watermark",
        &[file("image", png(400, 300)), field("text", "x")],
    );
    expect_error(&many_pixels, 413, "limit_exceeded", "100000");
    // A file under a name the function does not take is refused by its name before it
    // is decoded: the same too-large image gets a 400 naming the field, not a 413.
    let unexpected = server.post(
        "/v1/watermark",
        &[
            file("image", png(40, 30)),
            file("extra", png(400, 300)),
            field("text", "x"),
        ],
    );
    let error = expect_error(&unexpected, 400, "invalid_options", "extra");
    assert_eq!(error["field"], "extra");
    // A body over the limit is refused from its Content-Length, before it is read.
    let big_body = server.post(
        "/v1/watermark",
        &[file("image", vec![0u8; 300_000]), field("text", "x")],
    );
    expect_error(&big_body, 413, "body_too_large", "STYLEMARK_MAX_BODY_BYTES");

    let stats = server.get("/v1/stats").json();
    assert_eq!(
        stats["functions"]["watermark"]["client_errors"], 5,
        "{stats}"
    );
    assert_eq!(stats["functions"]["watermark"]["failures"], 0);
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn bad_settings_stop_the_start_with_the_variable_named() {
    let path = stylemark_e2e::binary_dir().join("stylemark-faas");
    for (name, value, code) in [
        ("STYLEMARK_CONCURRENCY", "none", 2),
        ("STYLEMARK_DEVICE", "tpu", 2),
        ("STYLEMARK_WEIGHTS", "/no/such/vgg19.safetensors", 1),
    ] {
        let output = std::process::Command::new(&path)
            .env("PORT", "0")
            .env(name, value)
            .output()
            .expect("the server runs");
        assert_eq!(output.status.code(), Some(code), "{name}={value}");
        let line: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
        assert_eq!(line["severity"], "ERROR");
        let error = line["error"].as_str().unwrap();
        assert!(
            error.contains(name) || error.contains(value),
            "{name}={value}: {error}"
        );
    }
}
