//! What the photo options ([`strength`](super::DoodleOptions::strength) and
//! [`preserve_colors`](super::DoodleOptions::preserve_colors)) do to a painted photo,
//! whichever method painted it.

use image::RgbImage;

use crate::lab::LabPlanes;
use crate::pixels::gaussian_blurred;

/// Standard deviation (pixels) of the split between strokes (finer) and shapes (coarser).
/// Patch synthesis copies strokes from the painting pixel for pixel, so this is in the
/// painting's pixels too.
pub(crate) const STROKE_SCALE: f32 = 3.0;

/// Applies `strength` (below 1: towards the photo) and `preserve_colors` (the photo's
/// colours under the painting's luminance) to `painted`, a painting of `photo` at its
/// size whose strokes are `magnification` times the painting's. Returns `painted`
/// untouched at strength 1 without colour preservation.
pub(crate) fn apply(
    painted: RgbImage,
    photo: &RgbImage,
    strength: f32,
    preserve_colors: bool,
    magnification: f32,
) -> RgbImage {
    if strength >= 1.0 && !preserve_colors {
        return painted;
    }
    let photo = LabPlanes::from_image(photo);
    let mut result = LabPlanes::from_image(&painted);
    if preserve_colors {
        result.a.clone_from(&photo.a);
        result.b.clone_from(&photo.b);
    }
    if strength < 1.0 {
        blend_towards_photo(&mut result, &photo, strength, STROKE_SCALE * magnification);
    }
    result.to_image()
}

/// Tone and colour move towards the photo's in proportion to `1 - strength`, while the
/// strokes fade more slowly (by the square root), so a half-strength result has the
/// photo's colours half-way to the painting's and is still visibly painted: not a
/// cross-fade, which would halve the strokes and double the photo's edges.
fn blend_towards_photo(result: &mut LabPlanes, photo: &LabPlanes, strength: f32, sigma: f32) {
    let coarse = |values: &[f32]| gaussian_blurred(values, result.width, sigma);
    let (painted_coarse, photo_coarse) = (coarse(&result.l), coarse(&photo.l));
    let stroke_share = strength.sqrt();
    for i in 0..result.l.len() {
        let shapes = photo_coarse[i] + strength * (painted_coarse[i] - photo_coarse[i]);
        let painted_strokes = result.l[i] - painted_coarse[i];
        let photo_detail = photo.l[i] - photo_coarse[i];
        result.l[i] = shapes + stroke_share * painted_strokes + (1.0 - stroke_share) * photo_detail;
        result.a[i] = photo.a[i] + strength * (result.a[i] - photo.a[i]);
        result.b[i] = photo.b[i] + strength * (result.b[i] - photo.b[i]);
    }
}
