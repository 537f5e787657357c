//! Seeded mutation tests over everything a caller hands the library (docs/SECURITY.md):
//! image files, job JSON and form fields, mutated thousands of ways, must give a value or a
//! typed error: never a panic, never unbounded memory. Each case is reproducible from its
//! seed, printed when it fails.

use std::panic::{AssertUnwindSafe, catch_unwind};

use stylemark::io::{DecodeLimits, OutputFormat, decode, encode};
use stylemark::job::{Job, JobInputs};
use stylemark::samples::photo;

mod support;

// Shared with the HTTP function's tests (tests/tests/http_attacks.rs).
#[path = "../../tests/src/mutate.rs"]
mod mutate;
use mutate::Mutator;

/// Runs `case` and fails, naming the seed, if it panics.
fn no_panic<T>(what: &str, seed: u64, case: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(case)) {
        Ok(value) => value,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}, seed {seed}: panicked: {message}");
        }
    }
}

#[test]
fn mutated_images_decode_or_fail_cleanly_in_bounded_memory() {
    let image = photo(96, 64, 3);
    let formats = [
        OutputFormat::Png,
        OutputFormat::Jpeg { quality: 80 },
        OutputFormat::WebP,
    ];
    let mut originals: Vec<Vec<u8>> = formats
        .iter()
        .map(|f| encode(&image, *f).unwrap())
        .collect();
    // A GIF and a BMP, written by the image crate.
    for format in [
        stylemark::image::ImageFormat::Gif,
        stylemark::image::ImageFormat::Bmp,
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        originals.push(bytes.into_inner());
    }
    // Limits a server would set: a mutated header may claim any size.
    let limits = DecodeLimits {
        max_pixels: 4_000_000,
        max_input_bytes: 1 << 20,
        max_alloc_bytes: 256 << 20,
    };
    let (mut decoded, mut refused) = (0, 0);
    for (index, original) in originals.iter().enumerate() {
        for case in 0..400u64 {
            let seed = (index as u64) << 32 | case;
            let mut mutator = Mutator::new(seed);
            let bytes = mutator.mutate(original);
            match no_panic("decoding a mutated image", seed, || decode(&bytes, &limits)) {
                Ok(image) => {
                    let pixels = u64::from(image.width()) * u64::from(image.height());
                    assert!(pixels <= limits.max_pixels, "seed {seed}: {pixels} pixels");
                    decoded += 1;
                }
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    refused += 1;
                }
            }
        }
    }
    eprintln!("{decoded} mutated images decoded, {refused} refused");
    assert!(
        refused > 0 && decoded > 0,
        "the mutations exercised both outcomes"
    );
    // Each decode is held to 256 MiB; the whole run stays far below a 2 GB function.
    let peak = support::memory_mib("VmHWM");
    assert!(peak < 1536.0, "peak memory {peak} MiB");
}

/// A job that uses every step kind that runs without an engine.
const JOB: &str = r##"{"input": "photo", "steps": [
    {"op": "watermark_text", "text": "© Ada", "options": {"size": "6%", "opacity": 0.5,
        "placement": {"position": "tile", "spacing": 40, "rotation": 30}}},
    {"op": "mark_embed", "payload": "0a0b", "key": "k", "options": {"strength": 1.0}},
    {"op": "mark_detect", "key": "k"}
], "output": {"format": "jpeg", "quality": 80}, "time_budget": 20}"##;

/// Text that breaks careless parsing: extreme and non-finite numbers, odd sizes.
const NASTY_TEXT: [&str; 16] = [
    "1e300",
    "-1e300",
    "1e20",
    "-1",
    "0",
    "NaN",
    "inf",
    "-0",
    "4294967296",
    "18446744073709551616",
    "100000px",
    "1e9%",
    "\"\"",
    "[]",
    "{}",
    "null",
];

#[test]
fn mutated_jobs_parse_and_run_or_fail_cleanly() {
    let mut inputs = JobInputs::default();
    inputs.images.insert("photo".into(), photo(320, 256, 1));
    // The job itself runs: what the mutations break is theirs.
    let session = stylemark::Session::default();
    let outcome = session
        .run_job(&Job::from_json(JOB).unwrap(), &inputs)
        .unwrap();
    assert_eq!(outcome.steps[2].details["payload"], "0a0b");
    let (mut ran, mut refused) = (0, 0);
    let template: serde_json::Value = serde_json::from_str(JOB).unwrap();
    for seed in 0..600u64 {
        let mut mutator = Mutator::new(seed);
        let json = if seed % 4 == 0 {
            // A quarter of the cases: the text itself cut or spliced.
            let mut text = JOB.to_string();
            let at = mutator.below(text.len());
            let at = (0..=at)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            match mutator.below(2) {
                0 => text.truncate(at),
                _ => text.insert_str(at, NASTY_TEXT[mutator.below(NASTY_TEXT.len())]),
            }
            text
        } else {
            // The rest: valid JSON with hostile values where the job has values.
            let mut job = template.clone();
            for _ in 0..1 + mutator.below(3) {
                let leaf = random_leaf(&mut job, &mut mutator);
                *leaf = nasty_value(&mut mutator);
            }
            job.to_string()
        };
        let parsed = no_panic("parsing a mutated job", seed, || Job::from_json(&json));
        let Ok(job) = parsed else {
            refused += 1;
            continue;
        };
        match no_panic("running a mutated job", seed, || {
            session.run_job(&job, &inputs)
        }) {
            Ok(_) => ran += 1,
            Err(error) => {
                assert_ne!(
                    error.kind(),
                    stylemark::ErrorKind::Internal,
                    "seed {seed}: {error}"
                );
                refused += 1;
            }
        }
    }
    eprintln!("{ran} mutated jobs ran, {refused} refused");
    assert!(ran > 0 && refused > 0);
}

/// A value somewhere in `value` (a number, string, bool or null, or an empty container).
fn random_leaf<'a>(
    value: &'a mut serde_json::Value,
    mutator: &mut Mutator,
) -> &'a mut serde_json::Value {
    let len = match value {
        serde_json::Value::Array(items) => items.len(),
        serde_json::Value::Object(map) => map.len(),
        _ => 0,
    };
    if len == 0 || mutator.below(5) == 0 {
        return value;
    }
    let index = mutator.below(len);
    match value {
        serde_json::Value::Array(items) => random_leaf(&mut items[index], mutator),
        serde_json::Value::Object(map) => {
            let key = map.keys().nth(index).cloned().unwrap();
            random_leaf(map.get_mut(&key).unwrap(), mutator)
        }
        _ => unreachable!(),
    }
}

/// A JSON value that breaks careless option handling.
fn nasty_value(mutator: &mut Mutator) -> serde_json::Value {
    use serde_json::json;
    let choices = [
        json!(1e300),
        json!(-1e300),
        json!(-1),
        json!(0),
        json!(4294967296u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.5),
        json!("NaN"),
        json!("1e9%"),
        json!("100000px"),
        json!(""),
        json!("x".repeat(5000)),
        json!(null),
        json!([]),
        json!({}),
        json!([1e300, -1]),
        json!(true),
    ];
    choices[mutator.below(choices.len())].clone()
}

#[test]
fn hostile_form_fields_are_option_errors_not_panics() {
    let image = photo(128, 96, 2);
    let mut inputs = JobInputs::default();
    inputs.images.insert("image".into(), image.clone());
    let fields = [
        ("watermark_text", "size"),
        ("watermark_text", "opacity"),
        ("watermark_text", "margin"),
        ("watermark_text", "offset-x"),
        ("watermark_text", "rotate"),
        ("watermark_text", "spacing"),
        ("watermark_text", "outline-width"),
        ("watermark_text", "color"),
        ("watermark_text", "position"),
        ("mark_embed", "strength"),
        ("mark_embed", "payload"),
        ("doodle", "iterations"),
        ("doodle", "time-budget"),
        ("doodle", "patch-size"),
        ("doodle", "strength"),
        ("doodle", "stroke-scale"),
        ("doodle", "output-size"),
        ("doodle", "max-size"),
        ("doodle", "content-weight"),
        ("doodle", "seed-range"),
        ("doodle", "random-seed"),
        ("doodle", "style-layers"),
    ];
    for (op, field) in fields {
        for value in NASTY_TEXT {
            let mut pairs = vec![(field, value)];
            let files: &[&str] = match op {
                "watermark_text" => {
                    pairs.push(("text", "x"));
                    &["image"]
                }
                "mark_embed" => {
                    if field != "payload" {
                        pairs.push(("payload", "0a"));
                    }
                    pairs.push(("key", "k"));
                    &["image"]
                }
                _ => &["style"],
            };
            let what = format!("{op} {field}={value}");
            let parsed = no_panic(&what, 0, || Job::from_fields(op, pairs.clone(), files));
            let Ok(job) = parsed else { continue };
            if op != "doodle" {
                let result = no_panic(&what, 0, || {
                    stylemark::Session::default().run_job(&job, &inputs)
                });
                if let Err(error) = result {
                    assert_ne!(
                        error.kind(),
                        stylemark::ErrorKind::Internal,
                        "{what}: {error}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_huge_output_size_is_refused_before_painting() {
    let request =
        stylemark::doodle::DoodleRequest::new(photo(32, 24, 1)).output_size(100_000, 100_000);
    let limits = stylemark::Limits::default();
    let error = request.check_limits(&limits).unwrap_err();
    assert_eq!(error.kind(), stylemark::ErrorKind::LimitExceeded, "{error}");
    assert!(error.to_string().contains("output size"), "{error}");
    let session = stylemark::Session::default();
    let options = stylemark::doodle::DoodleOptions::default();
    let refused = session.doodle(&request, &options, Default::default());
    assert_eq!(
        refused.unwrap_err().kind(),
        stylemark::ErrorKind::LimitExceeded
    );
    let fits = stylemark::doodle::DoodleRequest::new(photo(32, 24, 1)).output_size(8000, 5000);
    assert!(
        fits.check_limits(&limits).is_ok(),
        "40 MP is the limit, not below it"
    );
}

/// A panic inside a doodle on a CPU device (here from the caller's own progress
/// callback) comes back as an `Internal` error, not a device failure, and the engine
/// keeps working.
#[test]
fn a_panic_during_a_doodle_is_an_internal_error() {
    use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Observer};
    use stylemark::encoder::EncoderSpec;
    let engine = Engine::new(stylemark::DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    let mut request = DoodleRequest::new(photo(48, 36, 1));
    request.content = Some(photo(64, 48, 2));
    let options = DoodleOptions::default()
        .method(stylemark::doodle::Method::Optimize)
        .iterations(3)
        .phases(1);
    let mut explode = |_: &stylemark::doodle::Progress| -> bool { panic!("a bug") };
    let error = engine
        .doodle(
            &request,
            &options,
            Observer::default().progress(&mut explode),
        )
        .unwrap_err();
    assert_eq!(error.kind(), stylemark::ErrorKind::Internal, "{error}");
    assert!(error.to_string().contains("a bug"), "{error}");
    assert!(
        engine
            .doodle(&request, &options, Observer::default())
            .is_ok()
    );
}
