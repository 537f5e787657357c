//! The caller's limits reach every operation: lowered, each refuses the work it bounds
//! with a `LimitExceeded` naming it; raised, work the defaults refuse goes through.

use stylemark::doodle::{DoodleOptions, DoodleRequest, EncoderSpec, Engine};
use stylemark::image::{DynamicImage, RgbaImage};
use stylemark::job::{Job, JobInputs};
use stylemark::samples::photo;
use stylemark::watermark::invisible::{self as mark, MarkOptions};
use stylemark::watermark::visible::{self as watermark, LogoOptions, Position, TextOptions};
use stylemark::{DeviceKind, Error, ErrorKind, Limits};

fn limits(name: &str, value: u64) -> Limits {
    let mut limits = Limits::default();
    limits.set(name, &value.to_string()).unwrap();
    limits
}

/// Asserts `outcome` is a `LimitExceeded` naming `name`.
fn refused_by<T: std::fmt::Debug>(outcome: Result<T, Error>, name: &str) {
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LimitExceeded, "{error}");
    assert!(
        error.to_string().contains(name),
        "{error} should name {name}"
    );
}

#[test]
fn watermarks_hold_to_the_stamp_and_tiling_limits() {
    let image = photo(320, 240, 1);
    let text = TextOptions::default().limits(limits("max_stamp_pixels", 1000));
    refused_by(watermark::text(&image, "© Ada", &text), "max_stamp_pixels");

    let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 20, [255, 0, 0, 255].into()));
    let mut tiled = LogoOptions::default().limits(limits("max_tiled_marks", 5));
    tiled.placement.position = Position::Tile;
    refused_by(watermark::logo(&image, &logo, &tiled), "max_tiled_marks");
    tiled.limits = Limits::default();
    assert!(watermark::logo(&image, &logo, &tiled).unwrap().marks > 5);
}

#[test]
fn a_large_logo_is_refused_before_it_becomes_a_stamp_of_floats() {
    let image = photo(320, 240, 3);
    // Drawn 64 px wide (a small stamp), but the logo as given is 200 x 200.
    let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(200, 200, [0, 0, 255, 255].into()));
    let options = LogoOptions::default()
        .size(stylemark::watermark::visible::Length::Pixels(64.0))
        .limits(limits("max_stamp_pixels", 10_000));
    refused_by(watermark::logo(&image, &logo, &options), "max_stamp_pixels");
}

#[test]
fn marks_hold_to_the_plane_limit() {
    let image = photo(512, 384, 2);
    let options = MarkOptions::default().limits(limits("max_mark_plane_pixels", 10_000));
    refused_by(
        mark::embed(&image, b"\x01", "key", &options),
        "max_mark_plane_pixels",
    );
    let low = limits("max_mark_plane_pixels", 10_000);
    refused_by(
        mark::detect_within(&image, "key", &low),
        "max_mark_plane_pixels",
    );
    // A 128 x 312,500 image (39 KB as a PNG) once built a 2.5 GB plane.
    let tall = DynamicImage::ImageLuma8(stylemark::image::GrayImage::new(128, 312_500));
    refused_by(mark::detect(&tall, "key"), "max_mark_plane_pixels");
}

#[test]
fn a_doodle_holds_to_the_output_limit() {
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    let request = DoodleRequest::new(photo(64, 48, 3))
        .output_size(200, 200)
        .limits(limits("max_output_pixels", 100 * 100));
    let options = DoodleOptions::default();
    refused_by(
        engine.doodle(&request, &options, Default::default()),
        "max_output_pixels",
    );
}

#[test]
fn a_doodle_holds_its_images_together_to_the_total() {
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    let request = DoodleRequest::new(photo(100, 100, 4))
        .content(photo(100, 100, 5))
        .limits(limits("max_total_pixels", 15_000));
    refused_by(
        engine.doodle(&request, &DoodleOptions::default(), Default::default()),
        "max_total_pixels",
    );
}

/// The memory a doodle is predicted to need is checked before it starts: its images, and
/// for the optimiser its working canvas, which the patch method does not need.
#[test]
fn a_doodle_holds_to_its_predicted_memory() {
    use stylemark::doodle::Method;
    use stylemark::limits::predicted_memory;
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    let (style, content) = (photo(96, 72, 4), photo(96, 72, 5));
    let images = [(96, 72), (96, 72)];
    let room = predicted_memory(images, 0) + 1000;
    let request = DoodleRequest::new(style)
        .content(content)
        .limits(limits("max_request_memory", room));
    let patch = DoodleOptions::default().random_seed(Some(1));
    assert!(engine.doodle(&request, &patch, Default::default()).is_ok());
    let optimise = patch
        .clone()
        .method(Method::Optimize)
        .phases(1)
        .iterations(2);
    refused_by(
        engine.doodle(&request, &optimise, Default::default()),
        "max_request_memory",
    );
    let enough = request.limits(limits(
        "max_request_memory",
        predicted_memory(images, 2 * 96 * 72 * 1024),
    ));
    assert!(
        engine
            .doodle(&enough, &optimise, Default::default())
            .is_ok()
    );
    // An asked output size counts like an image: a tiny painting cannot ask for 40 MP.
    let texture = DoodleRequest::new(photo(96, 72, 4))
        .output_size(7296, 5472)
        .limits(limits("max_request_memory", 256 << 20));
    refused_by(
        engine.doodle(&texture, &patch, Default::default()),
        "max_request_memory",
    );
    // Images alone past it: refused whatever the method.
    let small = DoodleRequest::new(photo(96, 72, 4))
        .content(photo(96, 72, 5))
        .limits(limits("max_request_memory", room - 2000));
    refused_by(
        engine.doodle(&small, &patch, Default::default()),
        "max_request_memory",
    );
}

#[test]
fn jobs_hold_to_their_steps_inputs_and_pixels_and_pass_limits_to_steps() {
    let detect = r#"{"op": "mark_detect", "key": "k"}"#;
    let steps = |n: usize| {
        format!(
            r#"{{"input": "photo", "steps": [{}]}}"#,
            vec![detect; n].join(",")
        )
    };
    let mut inputs = JobInputs::default();
    inputs.images.insert("photo".into(), photo(256, 192, 4));

    // Seventeen steps: over the default, within a raised limit.
    let mut job = Job::from_json(&steps(17)).unwrap();
    refused_by(job.run(&inputs, None), "max_job_steps");
    job.limits = limits("max_job_steps", 17);
    assert_eq!(job.run(&inputs, None).unwrap().steps.len(), 17);

    let mut job = Job::from_json(&steps(1)).unwrap();
    job.limits = limits("max_total_pixels", 256 * 192 - 1);
    refused_by(job.run(&inputs, None), "max_total_pixels");
    job.limits = limits("max_job_inputs", 1);
    inputs.images.insert("unused".into(), photo(64, 48, 5));
    refused_by(job.run(&inputs, None), "max_job_inputs");

    // A step gets the job's limits, not the defaults: a JSON job cannot carry its own.
    let mut job = Job::from_json(
        r#"{"input": "photo", "steps": [{"op": "watermark_text", "text": "© Ada"}]}"#,
    )
    .unwrap();
    job.limits = limits("max_stamp_pixels", 1000);
    refused_by(job.run(&inputs, None), "max_stamp_pixels");
    assert!(
        Job::from_json(r#"{"steps": [{"op": "mark_detect", "key": "k"}], "limits": {}}"#).is_err()
    );
}
