//! The session's limits reach every operation: lowered, each refuses the work it bounds
//! with a `LimitExceeded` naming it; raised, work the defaults refuse goes through.

use stylemark::doodle::{DoodleOptions, DoodleRequest};
use stylemark::image::{DynamicImage, RgbaImage};
use stylemark::job::{Job, JobInputs};
use stylemark::samples::photo;
use stylemark::watermark::invisible::{self as mark, MarkOptions};
use stylemark::watermark::visible::{LogoOptions, Position, TextOptions};
use stylemark::{Error, ErrorKind, Limits, Session};

fn limits(name: &str, value: u64) -> Limits {
    let mut limits = Limits::default();
    limits.set(name, &value.to_string()).unwrap();
    limits
}

/// A session on the CPU with the built-in encoder, with one limit changed.
fn session(name: &str, value: u64) -> Session {
    Session::default().with_limits(limits(name, value))
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
    let text = TextOptions::default();
    refused_by(
        session("max_stamp_pixels", 1000).watermark_text(&image, "© Ada", &text),
        "max_stamp_pixels",
    );

    let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 20, [255, 0, 0, 255].into()));
    let mut tiled = LogoOptions::default();
    tiled.placement.position = Position::Tile;
    refused_by(
        session("max_tiled_marks", 5).watermark_logo(&image, &logo, &tiled),
        "max_tiled_marks",
    );
    let marked = Session::default().watermark_logo(&image, &logo, &tiled);
    assert!(marked.unwrap().marks > 5);
}

#[test]
fn a_large_logo_is_refused_before_it_becomes_a_stamp_of_floats() {
    let image = photo(320, 240, 3);
    // Drawn 64 px wide (a small stamp), but the logo as given is 200 x 200.
    let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(200, 200, [0, 0, 255, 255].into()));
    let options = LogoOptions::default().size(stylemark::watermark::visible::Length::Pixels(64.0));
    refused_by(
        session("max_stamp_pixels", 10_000).watermark_logo(&image, &logo, &options),
        "max_stamp_pixels",
    );
}

#[test]
fn marks_hold_to_the_plane_limit() {
    let image = photo(512, 384, 2);
    let low = session("max_mark_plane_pixels", 10_000);
    refused_by(
        low.mark_embed(&image, b"\x01", "key", &MarkOptions::default()),
        "max_mark_plane_pixels",
    );
    refused_by(low.mark_detect(&image, "key"), "max_mark_plane_pixels");
    // A 128 x 312,500 image (39 KB as a PNG) once built a 2.5 GB plane.
    let tall = DynamicImage::ImageLuma8(stylemark::image::GrayImage::new(128, 312_500));
    refused_by(mark::detect(&tall, "key"), "max_mark_plane_pixels");
}

#[test]
fn a_doodle_holds_to_the_output_limit() {
    let request = DoodleRequest::new(photo(64, 48, 3)).output_size(200, 200);
    let options = DoodleOptions::default();
    refused_by(
        session("max_output_pixels", 100 * 100).doodle(&request, &options, Default::default()),
        "max_output_pixels",
    );
}

#[test]
fn a_doodle_holds_its_images_together_to_the_total() {
    let request = DoodleRequest::new(photo(100, 100, 4)).content(photo(100, 100, 5));
    let options = DoodleOptions::default();
    refused_by(
        session("max_total_pixels", 15_000).doodle(&request, &options, Default::default()),
        "max_total_pixels",
    );
}

/// The memory a doodle is predicted to need is checked before it starts: its images, and
/// for the optimiser its working canvas, which the patch method does not need.
#[test]
fn a_doodle_holds_to_its_predicted_memory() {
    use stylemark::doodle::Method;
    use stylemark::limits::predicted_memory;
    let (style, content) = (photo(96, 72, 4), photo(96, 72, 5));
    let images = [(96, 72), (96, 72)];
    let room = predicted_memory(images, 0) + 1000;
    let engine = session("max_request_memory", room);
    let request = DoodleRequest::new(style).content(content);
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
    let enough = session(
        "max_request_memory",
        predicted_memory(images, 2 * 96 * 72 * 1024),
    );
    assert!(
        enough
            .doodle(&request, &optimise, Default::default())
            .is_ok()
    );
    // An asked output size counts like an image: a tiny painting cannot ask for 40 MP.
    let texture = DoodleRequest::new(photo(96, 72, 4)).output_size(7296, 5472);
    refused_by(
        session("max_request_memory", 256 << 20).doodle(&texture, &patch, Default::default()),
        "max_request_memory",
    );
    // Images alone past it: refused whatever the method.
    let small = DoodleRequest::new(photo(96, 72, 4)).content(photo(96, 72, 5));
    refused_by(
        session("max_request_memory", room - 2000).doodle(&small, &patch, Default::default()),
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
    let job = Job::from_json(&steps(17)).unwrap();
    refused_by(Session::default().run_job(&job, &inputs), "max_job_steps");
    let more_steps = session("max_job_steps", 17).run_job(&job, &inputs);
    assert_eq!(more_steps.unwrap().steps.len(), 17);

    let job = Job::from_json(&steps(1)).unwrap();
    let fewer_pixels = session("max_total_pixels", 256 * 192 - 1);
    refused_by(fewer_pixels.run_job(&job, &inputs), "max_total_pixels");
    inputs.images.insert("unused".into(), photo(64, 48, 5));
    refused_by(
        session("max_job_inputs", 1).run_job(&job, &inputs),
        "max_job_inputs",
    );

    // A step gets the session's limits, not the defaults: a JSON job cannot carry its own.
    let job = Job::from_json(
        r#"{"input": "photo", "steps": [{"op": "watermark_text", "text": "© Ada"}]}"#,
    )
    .unwrap();
    refused_by(
        session("max_stamp_pixels", 1000).run_job(&job, &inputs),
        "max_stamp_pixels",
    );
    assert!(
        Job::from_json(r#"{"steps": [{"op": "mark_detect", "key": "k"}], "limits": {}}"#).is_err()
    );
}
