//! Pipeline jobs: parsing, errors naming fields, and a chain that includes a doodle.

mod support;

use stylemark::Session;
use stylemark::doodle::CancelToken;
use stylemark::image::{DynamicImage, GenericImageView};
use stylemark::job::{Job, JobInputs, MarkDetectStep, Step};
use stylemark::samples::demo_scene;
use support::mean_difference;

#[test]
fn a_doodle_then_a_watermark_then_a_mark() {
    let scene = demo_scene(64, 48, 3);
    let mut inputs = JobInputs::default();
    inputs
        .images
        .insert("style".into(), DynamicImage::ImageRgb8(scene.style.clone()));
    inputs.images.insert(
        "style_map".into(),
        DynamicImage::ImageRgb8(scene.style_map.clone()),
    );
    inputs.images.insert(
        "doodle".into(),
        DynamicImage::ImageRgb8(scene.doodle.clone()),
    );
    let job = Job::from_json(
        r#"{"steps": [
            {"op": "doodle", "style": "style", "style_map": "style_map", "content_map": "doodle",
             "options": {"method": "optimize", "phases": 1, "iterations": 2, "random_seed": 7}},
            {"op": "watermark_text", "text": "x", "options": {"size": 12, "opacity": 1.0, "shadow": null}}
        ], "output": {"format": "webp"}}"#,
    )
    .unwrap();
    assert!(job.needs_engine());
    let session = Session::default();
    assert!(!session.is_open());
    let outcome = session.run_job(&job, &inputs).unwrap();
    assert!(session.is_open(), "the doodle opened the engine");
    let image = outcome.image.as_ref().unwrap();
    assert_eq!(image.dimensions(), (64, 48));
    assert_eq!(
        outcome.steps[0].details["status"],
        "completed",
        "{}",
        outcome.report_json()
    );
    assert_eq!(outcome.steps[1].details["status"]["status"], "applied");
    assert_eq!(&outcome.encoded().unwrap()[8..12], b"WEBP");
}

/// The job's `time_budget` covers every step: six doodles that would each paint for a
/// minute share two seconds and all answer, and a step that would start after the
/// deadline is an error naming it.
#[test]
fn the_job_time_budget_covers_every_step() {
    let scene = demo_scene(48, 36, 5);
    let mut inputs = JobInputs::default();
    inputs
        .images
        .insert("style".into(), DynamicImage::ImageRgb8(scene.style.clone()));
    let doodle = r#"{"op": "doodle", "style": "style", "output_size": [48, 36],
        "options": {"method": "optimize", "phases": 1, "iterations": 1000000, "time_budget": 60}}"#;
    let steps = [doodle; 6].join(", ");
    let job = Job::from_json(&format!(r#"{{"time_budget": 2.0, "steps": [{steps}]}}"#)).unwrap();
    assert_eq!(job.time_budget, Some(std::time::Duration::from_secs(2)));
    let session = Session::default();
    let outcome = session.run_job(&job, &inputs).unwrap();
    assert_eq!(outcome.steps.len(), 6);
    let spent: f64 = outcome.steps.iter().map(|s| s.seconds).sum();
    for step in &outcome.steps {
        assert_eq!(step.details["status"], "time_budget_exhausted");
        // A sixth of the job's two seconds each, not their own 60 s.
        assert!(step.seconds < 30.0, "{}", step.details);
    }
    assert!(spent < 60.0, "{spent}");

    // A deadline already passed: the first step does not start.
    let past = std::time::Instant::now() - std::time::Duration::from_millis(1);
    let error = session
        .run_job_until(&job, &inputs, &CancelToken::new(), Some(past))
        .unwrap_err();
    assert_eq!(error.kind(), stylemark::ErrorKind::LimitExceeded, "{error}");
    assert!(
        error.to_string().contains("job.steps[0] (doodle)"),
        "{error}"
    );
}

#[test]
fn malformed_jobs_name_the_bad_field() {
    let many_steps = format!(
        r#"{{"steps": [{}]}}"#,
        vec![
            r#"{"op": "mark_detect", "key": "k"}"#;
            stylemark::Limits::default().max_job_steps as usize + 1
        ]
        .join(",")
    );
    let cases = [
        (r#"{"steps": []}"#, "job.steps"),
        (r#"{"step": []}"#, "step"),
        (r#"{"steps": [{"op": "paint"}]}"#, "paint"),
        (r#"{"steps": [{"op": "mark_detect"}]}"#, "key"),
        (
            r#"{"steps": [{"op": "watermark_text", "text": "x", "options": {"opacity": 3}}]}"#,
            "job.steps[0].opacity",
        ),
        (
            r#"{"steps": [{"op": "watermark_text", "text": "x", "options": {"color": "blue"}}]}"#,
            "#RRGGBB",
        ),
        (
            r#"{"steps": [{"op": "doodle", "style": "s", "options": {"phases": 0}}]}"#,
            "job.steps[0].phases",
        ),
        (
            r#"{"steps": [{"op": "mark_embed", "payload": "00", "key": "k"}], "output": {"format": "gif"}}"#,
            "output",
        ),
        ("not json", "job"),
        // Too large for a `Duration`: an option error, not a panic.
        (
            r#"{"steps": [{"op": "doodle", "style": "s", "options": {"time_budget": 1e300}}]}"#,
            "time_budget",
        ),
        (
            r#"{"time_budget": -1, "steps": [{"op": "mark_detect", "key": "k"}]}"#,
            "time_budget",
        ),
    ];
    for (json, expected) in cases {
        let err = Job::from_json(json).unwrap_err().to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
    // More steps than a job may have: parsed (the session holds the limits), refused when
    // checked or run, before any step.
    let job = Job::from_json(&many_steps).unwrap();
    let session = Session::default();
    let err = session.check_job(&job, 0).unwrap_err().to_string();
    assert!(err.contains("number of job steps"), "{err}");
    let err = session.run_job(&job, &JobInputs::default()).unwrap_err();
    assert_eq!(err.kind(), stylemark::ErrorKind::LimitExceeded, "{err}");
}

#[test]
fn jobs_round_trip_through_json() {
    let job =
        Job::from_json(r#"{"input": "a", "steps": [{"op": "mark_detect", "key": "k"}]}"#).unwrap();
    assert_eq!(
        job.steps,
        vec![Step::MarkDetect(MarkDetectStep { key: "k".into() })]
    );
    let again = Job::from_json(&serde_json::to_string(&job).unwrap()).unwrap();
    assert_eq!(job, again);
    let outcome = Session::default().run_job(&job, &JobInputs::default());
    assert!(
        outcome
            .unwrap_err()
            .to_string()
            .contains("no image named `a`")
    );
}

#[test]
fn a_painted_photo_job_takes_the_photo_options() {
    let scene = demo_scene(96, 72, 3);
    let photo = stylemark::samples::photo(80, 60, 2);
    let mut inputs = JobInputs::default();
    inputs
        .images
        .insert("style".into(), DynamicImage::ImageRgb8(scene.style));
    inputs.images.insert("photo".into(), photo.clone());
    let job = Job::from_json(
        r#"{"steps": [{"op": "doodle", "style": "style", "content": "photo",
            "options": {"strength": 0, "preserve_colors": true, "random_seed": 1}}]}"#,
    )
    .unwrap();
    let outcome = Session::default().run_job(&job, &inputs).unwrap();
    let difference = mean_difference(&outcome.image.unwrap().to_rgb8(), &photo.to_rgb8());
    assert!(
        difference < 1.5,
        "strength 0 gives the photo back: {difference}"
    );
    let refused = Job::from_json(
        r#"{"steps": [{"op": "doodle", "style": "style", "options": {"strength": 2}}]}"#,
    )
    .unwrap_err();
    assert!(refused.to_string().contains("strength"), "{refused}");
}

#[test]
fn a_layer_the_encoder_lacks_is_refused_before_the_first_step() {
    let scene = demo_scene(48, 36, 5);
    let mut inputs = JobInputs::default();
    inputs
        .images
        .insert("style".into(), DynamicImage::ImageRgb8(scene.style.clone()));
    let job = Job::from_json(
        r#"{"steps": [
            {"op": "doodle", "style": "style", "output_size": [48, 36]},
            {"op": "doodle", "style": "style", "options": {"style_layers": "conv3_1,clip12"}}]}"#,
    )
    .unwrap();
    // With a deadline already passed the first step would fail for time; the second step's
    // layer is reported instead, so it was checked before anything ran.
    let past = std::time::Instant::now() - std::time::Duration::from_millis(1);
    let error = Session::default()
        .run_job_until(&job, &inputs, &CancelToken::new(), Some(past))
        .unwrap_err();
    assert_eq!(
        error.kind(),
        stylemark::ErrorKind::InvalidOptions,
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("job.steps[1]") && message.contains("`clip12`"),
        "{message}"
    );
}
