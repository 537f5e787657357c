//! `stylemark watermark`, `stylemark mark embed|detect` and `stylemark run` from the shell.

use stylemark::field::Field;
use stylemark::image::{DynamicImage, Rgba, RgbaImage};
use stylemark::io::{DecodeLimits, load, save};
use stylemark::samples::photo;
use stylemark::watermark::visible::{LogoOptions, TextOptions};
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
    // A text option with a logo is refused by name, not ignored.
    let (status, _, stderr) = run(stylemark()
        .args(["watermark", "--outline", "#000000", "--logo"])
        .arg(&logo)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(!status.status.success());
    assert!(
        stderr.contains("`outline`") && stderr.contains("logo"),
        "{stderr}"
    );
}

#[test]
fn watermark_flags_come_from_the_core_declaration() {
    let (status, help, _) = run(stylemark().args(["watermark", "--help"]));
    assert!(status.status.success());
    // Every text and logo field is a flag, with the core's default in its help.
    let text = TextOptions::fields()
        .iter()
        .map(flag_and_default)
        .collect::<Vec<_>>();
    let logo = LogoOptions::fields()
        .iter()
        .map(flag_and_default)
        .collect::<Vec<_>>();
    for (flag, default) in text.into_iter().chain(logo) {
        assert!(help.contains(&flag), "{flag} missing from:\n{help}");
        if let Some(default) = default {
            assert!(
                help.contains(&default),
                "{flag}'s default {default} missing"
            );
        }
    }
    assert!(help.contains("5% for text, 20% for a logo"), "{help}");
    let (status, help, _) = run(stylemark().args(["mark", "embed", "--help"]));
    assert!(status.status.success());
    assert!(
        help.contains("--strength") && help.contains("--no-verify"),
        "{help}"
    );
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

    // The exit status says whether a mark was found: 0 yes, 1 no.
    let detect = |key: &str, exit_code: i32| {
        let (status, stdout, stderr) = run(stylemark()
            .args(["mark", "detect", "--key", key])
            .arg("--input")
            .arg(&marked));
        assert_eq!(status.status.code(), Some(exit_code), "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).expect("one JSON object")
    };
    let found = detect("k1", 0);
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["payload"], "c0ffee42");
    assert_eq!(found["file"], marked.display().to_string());
    assert!(found["confidence"].as_f64().unwrap() > 0.5);
    let wrong = detect("k2", 1);
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
fn mark_detect_scans_directories_in_parallel_one_line_per_image() {
    let dir = scratch_dir("cli_mark_scan");
    let nested = dir.join("nested");
    std::fs::create_dir_all(&nested).unwrap();
    let marked = stylemark::watermark::invisible::embed(
        &photo(600, 400, 8),
        b"\x42",
        "scan key",
        &stylemark::watermark::invisible::MarkOptions::default(),
    )
    .unwrap()
    .image;
    save(&marked, dir.join("b-marked.png"), None).unwrap();
    save(&photo(600, 400, 9), dir.join("a-plain.jpg"), Some(90)).unwrap();
    save(&marked, nested.join("c-marked.jpg"), Some(85)).unwrap();
    std::fs::write(dir.join("d-broken.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not an image").unwrap();

    let scan = |args: &[&str]| {
        let (status, stdout, stderr) = run(stylemark()
            .args(["mark", "detect", "--key", "scan key", "--jobs", "2"])
            .args(args)
            .arg(&dir));
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        (status.status.code(), lines, stderr)
    };
    let (code, lines, stderr) = scan(&["--recursive"]);
    let names: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{names:?}: text files are skipped");
    for (name, expected) in names.iter().zip([
        "a-plain.jpg",
        "b-marked.png",
        "d-broken.png",
        "c-marked.jpg",
    ]) {
        assert!(
            name.ends_with(expected),
            "{names:?}: sorted, the subdirectory's after"
        );
    }
    let found: Vec<&serde_json::Value> = lines.iter().map(|l| &l["found"]).collect();
    assert_eq!(
        found,
        [
            &false.into(),
            &true.into(),
            &serde_json::Value::Null,
            &true.into()
        ]
    );
    assert_eq!(lines[1]["payload"], "42");
    assert_eq!(lines[2]["kind"], "invalid_image", "{}", lines[2]);
    assert!(stderr.contains("d-broken.png"), "{stderr}");
    assert_eq!(code, Some(0), "a mark was found");

    // Without --recursive the marked JPEG in the subdirectory is not read; the one
    // marked PNG still is.
    let (code, lines, _) = scan(&[]);
    assert_eq!((code, lines.len()), (Some(0), 3));
    // Nothing found: 1; nothing found and an unreadable image: 2.
    let only = |paths: &[&std::path::Path]| {
        let (status, _, stderr) = run(stylemark()
            .args(["mark", "detect", "--key", "scan key"])
            .args(paths));
        (status.status.code(), stderr)
    };
    assert_eq!(only(&[&dir.join("a-plain.jpg")]).0, Some(1));
    assert_eq!(
        only(&[&dir.join("a-plain.jpg"), &dir.join("d-broken.png")]).0,
        Some(2)
    );
    let (code, stderr) = only(&[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("give the images"), "{stderr}");
    // A thread count out of range is a usage error, not a million threads.
    for jobs in ["0", "1000000"] {
        let (status, _, stderr) = run(stylemark()
            .args(["mark", "detect", "--key", "scan key", "--jobs", jobs])
            .arg(&dir));
        assert_eq!(status.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--jobs"), "{stderr}");
    }
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

#[test]
fn limits_are_changed_by_name_and_listed_by_info() {
    let dir = scratch_dir("cli_limits");
    let input = dir.join("photo.png");
    save(&photo(320, 240, 5), &input, None).unwrap();
    let output = dir.join("out.png");
    let watermark = |limits: &[&str]| {
        let mut command = stylemark();
        for limit in limits {
            command.args(["--limit", limit]);
        }
        command
            .args(["watermark", "--text", "© Ada", "--input"])
            .arg(&input)
            .arg("--output")
            .arg(&output);
        run(&mut command)
    };
    let (status, _, stderr) = watermark(&["max_stamp_pixels=1000"]);
    assert!(!status.status.success());
    assert!(stderr.contains("max_stamp_pixels"), "{stderr}");
    let (status, _, stderr) = watermark(&["max_stamp_pixels=100000"]);
    assert!(status.status.success(), "{stderr}");
    let (status, _, stderr) = watermark(&["max_stamp_pixel=10"]);
    assert!(!status.status.success());
    assert!(stderr.contains("is not a limit"), "{stderr}");

    // A job's steps, and the images of `run` together, from their headers.
    let job = dir.join("job.json");
    std::fs::write(
        &job,
        r#"{"input": "photo", "steps": [{"op": "mark_detect", "key": "k"}]}"#,
    )
    .unwrap();
    let (status, _, stderr) = run(stylemark()
        .args(["--limit", "max_total_pixels=1000", "run"])
        .arg(&job)
        .arg("--input")
        .arg(format!("photo={}", input.display())));
    assert!(!status.status.success());
    assert!(stderr.contains("max_total_pixels"), "{stderr}");

    let (status, stdout, _) =
        run(stylemark().args(["info", "--json", "--limit", "max_job_steps=4"]));
    assert!(status.status.success());
    let info: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(info["limits"]["max_job_steps"], 4);
    assert_eq!(info["limits"]["max_tiled_marks"], 100_000);
}

/// A field's CLI flag, and its default as the help shows it (flags have none).
fn flag_and_default<O: 'static>(field: &Field<O>) -> (String, Option<String>) {
    let flag = format!("--{}", field.name().replace('_', "-"));
    (flag, field.default_text().filter(|_| !field.is_flag()))
}
