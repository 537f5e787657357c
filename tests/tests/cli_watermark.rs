//! `stylemark watermark`, `stylemark mark embed|detect` and `stylemark run` from the shell.

use stylemark::image::{DynamicImage, Rgba, RgbaImage};
use stylemark::io::{DecodeLimits, load, save};
use stylemark::samples::photo;
use stylemark_e2e::{run, scratch_dir, stylemark};

#[test]
fn text_watermark_writes_the_format_the_extension_asks_for() {
    let dir = scratch_dir("cli_text_watermark");
    let input = dir.join("in.png");
    save(&photo(320, 240, 1), &input, None).unwrap();
    let output = dir.join("out.jpg");
    let (status, _, stderr) = run(stylemark()
        .args([
            "watermark",
            "--text",
            "© Ada",
            "--position",
            "tile",
            "--rotate",
            "-30",
            "--opacity",
            "0.5",
            "--quality",
            "80",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(status.status.success(), "{stderr}");
    assert!(stderr.contains("mark(s)"), "{stderr}");
    let bytes = std::fs::read(&output).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    let written = load(&output, &DecodeLimits::default()).unwrap();
    assert_eq!((written.width(), written.height()), (320, 240));
}

#[test]
fn logo_watermark_and_bad_options() {
    let dir = scratch_dir("cli_logo_watermark");
    let input = dir.join("in.png");
    save(&photo(200, 150, 2), &input, None).unwrap();
    let logo = dir.join("logo.png");
    save(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(30, 20, Rgba([255, 0, 0, 255]))),
        &logo,
        None,
    )
    .unwrap();
    let output = dir.join("out.png");
    let (status, _, stderr) = run(stylemark()
        .args([
            "watermark",
            "--position",
            "north-west",
            "--opacity",
            "1",
            "--margin",
            "0",
        ])
        .arg("--logo")
        .arg(&logo)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(status.status.success(), "{stderr}");
    let written = load(&output, &DecodeLimits::default()).unwrap().to_rgb8();
    assert_eq!(written.get_pixel(3, 3).0, [255, 0, 0]);

    let (status, _, stderr) = run(stylemark()
        .args(["watermark", "--text", "x", "--color", "#zz0000"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(!status.status.success());
    assert!(stderr.contains("#RRGGBB"), "{stderr}");
    let (status, _, stderr) = run(stylemark()
        .args(["watermark", "--text", "x", "--font", "/missing.ttf"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(!status.status.success());
    assert!(stderr.contains("/missing.ttf"), "{stderr}");
}

#[test]
fn mark_embed_then_detect_prints_json() {
    let dir = scratch_dir("cli_mark");
    let input = dir.join("in.png");
    save(&photo(683, 512, 3), &input, None).unwrap();
    let marked = dir.join("marked.jpg");
    let (status, _, stderr) = run(stylemark()
        .args([
            "mark",
            "embed",
            "--payload",
            "c0ffee42",
            "--key",
            "k1",
            "--quality",
            "75",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&marked));
    assert!(status.status.success(), "{stderr}");
    assert!(stderr.contains("PSNR"), "{stderr}");

    let detect = |key: &str| {
        let (status, stdout, stderr) = run(stylemark()
            .args(["mark", "detect", "--key", key])
            .arg("--input")
            .arg(&marked));
        assert!(status.status.success(), "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).expect("one JSON object")
    };
    let found = detect("k1");
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["payload"], "c0ffee42");
    assert!(found["confidence"].as_f64().unwrap() > 0.5);
    let wrong = detect("k2");
    assert_eq!(wrong["found"], false, "{wrong}");
    assert!(wrong["payload"].is_null());

    let (status, _, stderr) = run(stylemark()
        .args([
            "mark",
            "embed",
            "--payload",
            "00112233445566778899",
            "--key",
            "k",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&marked));
    assert!(!status.status.success());
    assert!(stderr.contains("1 to 8 bytes"), "{stderr}");
}

#[test]
fn run_executes_a_job_file_and_names_bad_fields() {
    let dir = scratch_dir("cli_run");
    let input = dir.join("photo.png");
    save(&photo(640, 480, 4), &input, None).unwrap();
    let job = dir.join("job.json");
    std::fs::write(
        &job,
        r#"{"input": "photo",
            "steps": [
              {"op": "watermark_text", "text": "stylemark", "options": {"placement": {"position": "north"}}},
              {"op": "mark_embed", "payload": "0102", "key": "job key"},
              {"op": "mark_detect", "key": "job key"}],
            "output": {"format": "png"}}"#,
    )
    .unwrap();
    let output = dir.join("out.png");
    let (status, stdout, stderr) = run(stylemark()
        .arg("run")
        .arg(&job)
        .arg("--input")
        .arg(format!("photo={}", input.display()))
        .arg("--output")
        .arg(&output));
    assert!(status.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    assert_eq!(report[0]["op"], "watermark_text");
    assert_eq!(report[2]["details"]["found"], true, "{report}");
    assert_eq!(report[2]["details"]["payload"], "0102");
    assert!(output.exists());

    std::fs::write(
        &job,
        r#"{"input": "photo", "steps": [{"op": "mark_embed", "payload": "xyz", "key": "k"}]}"#,
    )
    .unwrap();
    let (status, _, stderr) = run(stylemark()
        .arg("run")
        .arg(&job)
        .arg("--input")
        .arg(format!("photo={}", input.display())));
    assert!(!status.status.success());
    assert!(stderr.contains("job.steps[0].payload"), "{stderr}");

    std::fs::write(
        &job,
        r#"{"input": "nope", "steps": [{"op": "mark_detect", "key": "k"}]}"#,
    )
    .unwrap();
    let (status, _, stderr) = run(stylemark().arg("run").arg(&job));
    assert!(!status.status.success());
    assert!(stderr.contains("no image named `nope`"), "{stderr}");
}
