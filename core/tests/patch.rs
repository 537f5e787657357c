//! Patch synthesis (`method = patch`) and the hybrid method: regions take their own
//! label's colours and brush strokes without blur, a content image keeps its structure,
//! and runs are repeatable, bounded in time and cancellable.

use std::sync::OnceLock;
use std::time::Duration;

use stylemark::DeviceKind;
use stylemark::doodle::quality::score_regions;
use stylemark::doodle::{
    DoodleOptions, DoodleRequest, Engine, Method, Observer, Progress, RunStatus,
};
use stylemark::encoder::EncoderSpec;
use stylemark::image::{DynamicImage, GrayImage, RgbImage, imageops};
use stylemark::samples::demo_scene;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap())
}

/// The painting of a run that must succeed.
fn painted(request: &DoodleRequest, options: &DoodleOptions) -> RgbImage {
    engine()
        .doodle(request, options, Observer::default())
        .unwrap()
        .image
}

fn rgb(image: &RgbImage) -> DynamicImage {
    DynamicImage::ImageRgb8(image.clone())
}

fn patch(seed: u64) -> DoodleOptions {
    DoodleOptions::default()
        .method(Method::Patch)
        .random_seed(Some(seed))
}

#[test]
fn a_patch_doodle_takes_each_regions_colours_and_strokes_without_blur() {
    let scene = demo_scene(192, 144, 2);
    let outcome = engine()
        .doodle(&scene.doodle_request(), &patch(1), Observer::default())
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(outcome.report.method, Method::Patch);
    assert_eq!(outcome.image.dimensions(), (192, 144));
    let scores = score_regions(
        &rgb(&scene.style),
        &rgb(&scene.style_map),
        &rgb(&outcome.image),
        &rgb(&scene.doodle),
    );
    let (low, high) = scores.detail_range();
    // The targets of the patch-synthesis issue (set for 512 px), met here at 192 px.
    assert!(scores.label_accuracy >= 0.93, "{scores:?}");
    assert!(scores.colour_distance <= 5.0, "{scores:?}");
    assert!(
        low >= 0.8 && high <= 1.3,
        "detail ratios {low}..{high}: {scores:?}"
    );
    // Every level is reported, coarse to fine, ending at the output size.
    let levels = &outcome.report.phases;
    assert!(levels.len() >= 2, "{levels:?}");
    assert_eq!(
        (levels.last().unwrap().width, levels.last().unwrap().height),
        (192, 144)
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
    let request = demo_scene(96, 72, 3).doodle_request();
    let paint = |seed| painted(&request, &patch(seed));
    let first = paint(4);
    assert_eq!(first, paint(4));
    assert_ne!(first, paint(5));
}

/// A content image with large structure (a bright disc on a dark ground) and a style with
/// both bright and dark texture.
fn disc_content(size: u32) -> RgbImage {
    let c = size as f32 / 2.0;
    RgbImage::from_fn(size, size, |x, y| {
        let d = ((x as f32 - c).powi(2) + (y as f32 - c * 0.8).powi(2)).sqrt();
        if d < size as f32 * 0.28 {
            [235, 225, 200]
        } else {
            [25, 30, 45]
        }
        .into()
    })
}

/// Pearson correlation of two images' luminance after a strong blur (structure, not
/// texture).
fn structure_correlation(a: &RgbImage, b: &RgbImage) -> f64 {
    let blur = |i: &RgbImage| -> Vec<f64> {
        let grey: GrayImage = DynamicImage::ImageRgb8(i.clone()).to_luma8();
        imageops::blur(&grey, 4.0)
            .pixels()
            .map(|p| f64::from(p[0]))
            .collect()
    };
    let (x, y) = (blur(a), blur(b));
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn a_content_guided_painting_keeps_the_contents_structure() {
    let style = demo_scene(128, 96, 7).style;
    let content = disc_content(96);
    let request = DoodleRequest::new(rgb(&style)).content(rgb(&content));
    let guided = painted(&request, &patch(2));
    let unguided_options = patch(2).content_weight(0.0).feature_weight(0.0);
    let unguided = painted(&request, &unguided_options);
    let with = structure_correlation(&guided, &content);
    let without = structure_correlation(&unguided, &content);
    // 0.8 is far above what the same synthesis reaches with the guidance switched off
    // (checked below): the disc is there because the content put it there.
    assert!(with > 0.8, "guided: {with}");
    assert!(without < 0.5, "unguided: {without}");
}

/// Stripes 2 px on, 2 px off, vertical or horizontal, between two colours.
fn stripes(x: u32, y: u32, vertical: bool, dark: [u8; 3], light: [u8; 3]) -> image::Rgb<u8> {
    let along = if vertical { x } else { y };
    if along % 4 < 2 { dark } else { light }.into()
}

#[test]
fn encoder_features_send_each_texture_where_the_content_has_it() {
    // Style: red vertical stripes on the left, blue horizontal stripes on the right, of
    // about the same mean luminance. Content: grey, vertical stripes in a disc, horizontal
    // ones around it. With the luminance guide off, only the encoder's oriented filters
    // can say where each texture belongs.
    let style = RgbImage::from_fn(128, 96, |x, y| {
        if x < 64 {
            stripes(x, y, true, [120, 20, 20], [250, 120, 120])
        } else {
            stripes(x, y, false, [20, 40, 160], [120, 150, 255])
        }
    });
    let inside =
        |x: u32, y: u32| (x as f32 - 48.0).powi(2) + (y as f32 - 48.0).powi(2) < 26.0f32.powi(2);
    let content = RgbImage::from_fn(96, 96, |x, y| {
        stripes(x, y, inside(x, y), [60, 60, 60], [190, 190, 190])
    });
    let request = DoodleRequest::new(rgb(&style)).content(rgb(&content));
    let agreement = |feature_weight: f32| {
        let options = patch(3).feature_weight(feature_weight).content_weight(0.0);
        let image = painted(&request, &options);
        let agree = image
            .enumerate_pixels()
            .filter(|(x, y, p)| (p[0] > p[2]) == inside(*x, *y))
            .count();
        agree as f64 / (96.0 * 96.0)
    };
    let (with, without) = (agreement(100.0), agreement(0.0));
    // Without guidance the textures land by chance (half to 0.71 of the pixels agree,
    // depending on how evenly the painting's parts are spread); with it, nearly all do.
    assert!(with > 0.9, "with features: {with}");
    assert!(
        without < 0.75 && with > without + 0.2,
        "without features: {without}"
    );
}

#[test]
fn hybrid_refines_the_patch_result_with_the_optimiser() {
    let style = demo_scene(96, 72, 7).style;
    let content = disc_content(64);
    let request = DoodleRequest::new(rgb(&style)).content(rgb(&content));
    let options = DoodleOptions::default()
        .method(Method::Hybrid)
        .iterations(5)
        .random_seed(Some(3));
    let outcome = engine()
        .doodle(&request, &options, Observer::default())
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let phases = &outcome.report.phases;
    let last = phases.last().unwrap();
    // The patch levels, then one optimisation phase at full size with its evaluations.
    assert!(phases.len() >= 2, "{phases:?}");
    assert_eq!((last.width, last.height), (64, 64));
    assert_eq!(last.evaluations, 5);
    assert!(structure_correlation(&outcome.image, &content) > 0.8);
}

#[test]
fn a_time_budget_returns_a_whole_image_early() {
    let request = demo_scene(256, 192, 1).doodle_request();
    let options = patch(1).time_budget(Some(Duration::from_millis(1)));
    let outcome = engine()
        .doodle(&request, &options, Observer::default())
        .unwrap();
    assert_eq!(outcome.status, RunStatus::TimeBudgetExhausted);
    assert_eq!(outcome.image.dimensions(), (256, 192));
}

#[test]
fn progress_reports_rounds_and_can_cancel() {
    let request = demo_scene(128, 96, 1).doodle_request();
    let mut seen: Vec<(usize, usize)> = Vec::new();
    let mut on_progress = |p: &Progress| {
        seen.push((p.phase, p.evaluation));
        seen.len() < 3
    };
    let outcome = engine()
        .doodle(
            &request,
            &patch(1),
            Observer::default().progress(&mut on_progress),
        )
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_eq!(outcome.image.dimensions(), (128, 96));
    assert_eq!(seen, vec![(1, 1), (1, 2), (1, 3)]);
}

#[test]
fn patch_options_are_checked() {
    for size in [2, 4, 17] {
        let options = patch(1).patch_size(size);
        let err = options.validate().unwrap_err();
        assert!(err.to_string().contains("patch_size"), "{err}");
    }
    let tiny = DoodleRequest::new(rgb(&RgbImage::new(8, 8))).output_size(32, 32);
    let err = engine()
        .doodle(&tiny, &patch(1), Observer::default())
        .unwrap_err();
    assert!(err.to_string().contains("patch synthesis"), "{err}");
}

#[test]
fn options_the_method_does_not_use_are_named_in_the_warnings() {
    let request = demo_scene(64, 48, 1).doodle_request();
    let warnings = |options: DoodleOptions| {
        engine()
            .doodle(&request, &options, Observer::default())
            .unwrap()
            .report
            .warnings
    };
    let default = DoodleOptions::default().random_seed(Some(1));
    assert_eq!(default.method, Method::Patch, "patch is the default");
    assert!(warnings(default.clone()).is_empty());
    let optimiser_flags = warnings(default.clone().iterations(7).smoothness(2.0));
    assert_eq!(
        optimiser_flags,
        [
            "iterations, smoothness have no effect with method patch; they apply to method optimize or hybrid"
        ]
    );
    let patch_flags = warnings(
        default
            .method(Method::Optimize)
            .phases(1)
            .iterations(1)
            .patch_size(7),
    );
    assert_eq!(
        patch_flags,
        ["patch_size has no effect with method optimize; it applies to method patch or hybrid"]
    );
}
