//! The CLI in pipes (`-` for standard input and output) and with `--json`, as scripts use it.

use stylemark::image::DynamicImage;
use stylemark::io::{DecodeLimits, OutputFormat, decode, encode, save};
use stylemark::samples::photo;
use stylemark_e2e::{mean_difference, run, run_with_stdin, scratch_dir, stylemark};

fn png(image: &DynamicImage) -> Vec<u8> {
    encode(image, OutputFormat::Png).unwrap()
}

fn image_of(bytes: &[u8]) -> DynamicImage {
    decode(bytes, &DecodeLimits::default()).expect("an image on standard output")
}

#[test]
fn watermark_mark_and_detect_chain_through_pipes() {
    let input = photo(640, 480, 21);
    // A text watermark from standard input to standard output, as JPEG.
    let (watermarked, stderr) = run_with_stdin(
        stylemark().args([
            "watermark",
            "--text",
            "© Ada",
            "-",
            "-",
            "--format",
            "jpeg",
            "--quality",
            "85",
        ]),
        &png(&input),
    );
    assert!(watermarked.status.success(), "{stderr}");
    assert_eq!(
        &watermarked.stdout[..3],
        &[0xFF, 0xD8, 0xFF],
        "a JPEG on stdout"
    );
    let drawn = image_of(&watermarked.stdout);
    assert_eq!((drawn.width(), drawn.height()), (640, 480));
    assert!(stderr.contains("standard output"), "{stderr}");

    // The same bytes through `mark embed - -` (PNG by default), then `mark detect -`.
    let (marked, stderr) = run_with_stdin(
        stylemark().args([
            "mark",
            "embed",
            "--payload",
            "c0ffee",
            "--key",
            "k",
            "-",
            "-",
        ]),
        &watermarked.stdout,
    );
    assert!(marked.status.success(), "{stderr}");
    assert_eq!(&marked.stdout[1..4], b"PNG");
    let (detected, stderr) = run_with_stdin(
        stylemark().args(["mark", "detect", "--key", "k", "-"]),
        &marked.stdout,
    );
    assert!(detected.status.success(), "{stderr}");
    let line: serde_json::Value = serde_json::from_slice(&detected.stdout).unwrap();
    assert_eq!(line["found"], true);
    assert_eq!(line["payload"], "c0ffee");
    assert_eq!(line["file"], "-");
}

#[test]
fn a_failure_writes_nothing_to_standard_output() {
    let (output, stderr) = run_with_stdin(
        stylemark().args(["watermark", "--text", "", "-", "-"]),
        &png(&photo(320, 240, 22)),
    );
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "no half image: {} bytes",
        output.stdout.len()
    );
    assert!(stderr.contains("text"), "{stderr}");

    let (output, stderr) = run_with_stdin(
        stylemark().args(["watermark", "--text", "x", "-", "-"]),
        b"not an image",
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("not an image stylemark can read"),
        "{stderr}"
    );
}

#[test]
fn standard_input_is_read_once_and_json_never_shares_stdout_with_an_image() {
    let dir = scratch_dir("cli_pipes_streams");
    let (output, stderr) = run_with_stdin(
        stylemark().args([
            "doodle",
            "--style",
            "-",
            "--content",
            "-",
            "--output",
            "x.png",
        ]),
        b"",
    );
    assert!(!output.status.success());
    assert!(stderr.contains("only one input can be `-`"), "{stderr}");

    let input = dir.join("in.png");
    save(&photo(320, 240, 23), &input, None).unwrap();
    let (output, stdout, _) = run(stylemark()
        .args(["--json", "watermark", "--text", "x"])
        .arg(&input)
        .arg("-"));
    assert!(!output.status.success());
    let error: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "invalid_options");
    assert!(error["error"]["message"].as_str().unwrap().contains("json"));
}

#[test]
fn json_reports_what_each_command_did() {
    let dir = scratch_dir("cli_pipes_json");
    let input = dir.join("in.png");
    save(&photo(512, 384, 24), &input, None).unwrap();

    let output = dir.join("marked.png");
    let (status, stdout, stderr) = run(stylemark()
        .args([
            "watermark",
            "--json",
            "--text",
            "© Ada",
            "--position",
            "tile",
        ])
        .arg(&input)
        .arg(&output));
    assert!(status.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["output"], output.display().to_string());
    assert_eq!(
        (report["width"].as_u64(), report["height"].as_u64()),
        (Some(512), Some(384))
    );
    assert!(report["marks"].as_u64().unwrap() > 1, "{report}");
    assert_eq!(report["status"]["status"], "applied");

    let embedded = dir.join("embedded.png");
    let (status, stdout, stderr) = run(stylemark()
        .args([
            "--json",
            "mark",
            "embed",
            "--payload",
            "2a",
            "--key",
            "k",
            "--input",
        ])
        .arg(&output)
        .arg("--output")
        .arg(&embedded));
    assert!(status.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(report["psnr_db"].as_f64().unwrap() > 38.0, "{report}");

    let painted = dir.join("painted.png");
    let (status, stdout, stderr) = run(stylemark()
        .args([
            "--json",
            "doodle",
            "--quiet",
            "--random-seed",
            "3",
            "--style",
        ])
        .arg(&embedded)
        .arg("--content")
        .arg(&input)
        .arg("--output")
        .arg(&painted));
    assert!(status.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["status"], "completed");
    assert_eq!(report["report"]["method"], "patch");
    assert_eq!(report["report"]["random_seed"], 3);
    assert_eq!(report["report"]["width"], 512);
    assert!(report["report"]["seconds"].as_f64().unwrap() > 0.0);
    assert!(report["report"]["warnings"].is_array());
}

#[test]
fn a_job_reads_an_input_from_standard_input_and_writes_standard_output() {
    let dir = scratch_dir("cli_pipes_job");
    let job = dir.join("job.json");
    std::fs::write(
        &job,
        r#"{"input": "photo", "steps": [{"op": "watermark_text", "text": "x"}],
            "output": {"format": "webp"}}"#,
    )
    .unwrap();
    let input = photo(320, 240, 25);
    let (output, stderr) = run_with_stdin(
        stylemark()
            .arg("run")
            .arg(&job)
            .args(["--input", "photo=-", "--output", "-"]),
        &png(&input),
    );
    assert!(output.status.success(), "{stderr}");
    assert_eq!(&output.stdout[8..12], b"WEBP", "the job's own format");
    let result = image_of(&output.stdout).to_rgb8();
    assert!(
        mean_difference(&result, &input.to_rgb8()) > 0.01,
        "the text was drawn"
    );

    // With --json the step reports come as one object; an error too.
    let written = dir.join("out.webp");
    let json_run = || {
        run(stylemark()
            .arg("--json")
            .arg("run")
            .arg(&job)
            .arg("--input")
            .arg(format!("photo={}", dir.join("in.png").display()))
            .arg("--output")
            .arg(&written))
    };
    // in.png does not exist yet: a JSON error naming the file.
    let (status, stdout, stderr) = json_run();
    assert!(!status.status.success(), "{stderr}");
    let error: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in.png")
    );
    save(&input, dir.join("in.png"), None).unwrap();
    let (status, stdout, stderr) = json_run();
    assert!(status.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["output"], written.display().to_string());
    assert_eq!(report["steps"][0]["op"], "watermark_text");
}

#[test]
fn paths_mix_flags_and_plain_arguments_and_bad_requests_fail_before_any_work() {
    let dir = scratch_dir("cli_pipes_paths");
    let input = dir.join("in.png");
    save(&photo(320, 240, 26), &input, None).unwrap();
    // A flag for one path, a plain argument for the other, either way round.
    for (first, second) in [("--input", "out1.png"), ("--output", "out2.png")] {
        let mut command = stylemark();
        command.current_dir(&dir).args(["watermark", "--text", "x"]);
        if first == "--input" {
            command.arg("--input").arg(&input).arg(second);
        } else {
            command.arg(&input).arg("--output").arg(second);
        }
        let (status, _, stderr) = run(&mut command);
        assert!(status.status.success(), "{first}: {stderr}");
        assert!(dir.join(second).exists());
    }
    // --format is for standard output; a file's extension decides.
    let (status, _, stderr) = run(stylemark()
        .args(["watermark", "--text", "x", "--format", "jpeg"])
        .arg(&input)
        .arg(dir.join("out3.png")));
    assert!(!status.status.success());
    assert!(stderr.contains("`format`"), "{stderr}");
    assert!(!dir.join("out3.png").exists());
    // A job from standard input is held to the input limit, not read whole.
    let (output, stderr) = run_with_stdin(
        stylemark().args(["--limit", "max_input_bytes=1000", "run", "-"]),
        &vec![b' '; 200_000],
    );
    assert!(!output.status.success());
    assert!(stderr.contains("max_input_bytes"), "{stderr}");
}
