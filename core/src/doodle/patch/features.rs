//! The feature-guided term: encoder activations of the style and of the content, reduced
//! to a few channels, so that patch matching also compares what the encoder sees (texture,
//! and with a trained VGG19, parts of objects) and not only luminance and edges.
//!
//! Per pyramid level, both images are encoded once at that level's size. The style's
//! activations give a principal-component basis (the directions in which the style varies
//! most); both images are projected onto it, the content's components are matched to the
//! style's mean and spread, everything is scaled to a fixed spread and resampled to one
//! vector per pixel.
//!
//! Off by default (`feature_weight` 0): with the built-in encoder, whose features are
//! texture and colour, the term sends smooth photo areas to smooth parts of the painting,
//! so it trades strokes for correspondence (measured in docs/PERFORMANCE.md). It helps a
//! photo painted without maps find the painting's matching parts, and it is the way to
//! bring a trained VGG19's notion of objects into patch synthesis.

/// Channels kept after the projection.
pub(super) const COMPONENTS: usize = 6;

/// Total variance of the projected style features: about a luminance channel's, so that
/// `feature_weight` weighs the features about as `content_weight` weighs the luminance.
const SPREAD: f32 = 0.05;

/// Power-iteration steps per component (the covariance is small: one layer's channels).
const POWER_STEPS: usize = 60;

/// One layer's activations for one image: planar `[channels][height][width]`.
pub(crate) struct FeatureMap {
    pub channels: usize,
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// Encodes an image (at the size it is given) to one layer's activations.
pub(crate) type Encode<'a> = dyn Fn(&image::RgbImage) -> crate::Result<FeatureMap> + Sync + 'a;

/// Feature vectors per pixel for the style (`style_size`) and the content
/// (`content_size`), projected on the style's main components.
pub(super) fn pixel_features(
    style: &FeatureMap,
    content: &FeatureMap,
    style_size: (usize, usize),
    content_size: (usize, usize),
) -> (Vec<[f32; COMPONENTS]>, Vec<[f32; COMPONENTS]>) {
    let mean = channel_means(style);
    let basis = principal_components(style, &mean);
    let style_projected = project(style, &mean, &basis);
    let mut content_projected = project(content, &mean, &basis);
    match_statistics(&mut content_projected, &style_projected);
    let variance: f32 = {
        let n = (style.width * style.height).max(1) as f32;
        style_projected
            .iter()
            .map(|v| v.iter().map(|x| x * x).sum::<f32>())
            .sum::<f32>()
            / n
    };
    let scale = if variance > 1e-12 {
        (SPREAD / variance).sqrt()
    } else {
        0.0
    };
    (
        resample(&style_projected, style, style_size, scale),
        resample(&content_projected, content, content_size, scale),
    )
}

/// Shifts and scales each component of `content` to the mean and spread of the style's,
/// as the luminance guide does: a photo unlike the painting overall (greyer, darker) still
/// spreads over the painting's range instead of landing on whichever part is closest.
fn match_statistics(content: &mut [[f32; COMPONENTS]], style: &[[f32; COMPONENTS]]) {
    let stats = |values: &[[f32; COMPONENTS]], k: usize| {
        crate::pixels::mean_and_deviation(values.iter().map(|v| v[k]))
    };
    for k in 0..COMPONENTS {
        let ((ms, ss), (mc, sc)) = (stats(style, k), stats(content, k));
        let gain = if sc > 1e-9 { ss / sc } else { 0.0 };
        for v in content.iter_mut() {
            v[k] = ((f64::from(v[k]) - mc) * gain + ms) as f32;
        }
    }
}

fn channel_means(map: &FeatureMap) -> Vec<f32> {
    let n = map.width * map.height;
    map.values
        .chunks_exact(n.max(1))
        .map(|plane| (plane.iter().map(|&v| f64::from(v)).sum::<f64>() / n.max(1) as f64) as f32)
        .collect()
}

/// The style's covariance's leading eigenvectors, by power iteration with deflation from a
/// fixed start, so the basis is deterministic.
fn principal_components(map: &FeatureMap, mean: &[f32]) -> Vec<Vec<f32>> {
    let (c, n) = (map.channels, map.width * map.height);
    let centred: Vec<f64> = map
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| f64::from(v - mean[i / n.max(1)]))
        .collect();
    let mut covariance = vec![0f64; c * c];
    for a in 0..c {
        let pa = &centred[a * n..(a + 1) * n];
        for b in a..c {
            let pb = &centred[b * n..(b + 1) * n];
            let dot = pa.iter().zip(pb).map(|(x, y)| x * y).sum::<f64>() / n.max(1) as f64;
            covariance[a * c + b] = dot;
            covariance[b * c + a] = dot;
        }
    }
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for k in 0..COMPONENTS.min(c) {
        let mut vector: Vec<f64> = (0..c).map(|i| 1.0 + ((i * 7 + k * 3) % 5) as f64).collect();
        for _ in 0..POWER_STEPS {
            let mut next: Vec<f64> = (0..c)
                .map(|row| {
                    (0..c)
                        .map(|col| covariance[row * c + col] * vector[col])
                        .sum()
                })
                .collect();
            for found in &basis {
                let along: f64 = next.iter().zip(found).map(|(x, y)| x * y).sum();
                for (x, y) in next.iter_mut().zip(found) {
                    *x -= along * y;
                }
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            vector = next.into_iter().map(|x| x / norm).collect();
        }
        basis.push(vector);
    }
    basis
        .into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect()
}

/// Each feature pixel's centred activations projected on the basis.
fn project(map: &FeatureMap, mean: &[f32], basis: &[Vec<f32>]) -> Vec<[f32; COMPONENTS]> {
    let n = map.width * map.height;
    (0..n)
        .map(|i| {
            let mut out = [0f32; COMPONENTS];
            for (k, direction) in basis.iter().enumerate() {
                out[k] = direction
                    .iter()
                    .enumerate()
                    .map(|(ch, w)| w * (map.values[ch * n + i] - mean[ch]))
                    .sum();
            }
            out
        })
        .collect()
}

/// Bilinear resampling of the projected feature grid to `(w, h)` pixels, scaled.
fn resample(
    grid: &[[f32; COMPONENTS]],
    map: &FeatureMap,
    (w, h): (usize, usize),
    scale: f32,
) -> Vec<[f32; COMPONENTS]> {
    let (gw, gh) = (map.width, map.height);
    let at = |x: usize, y: usize| grid[y.min(gh - 1) * gw + x.min(gw - 1)];
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let fx = ((x as f32 + 0.5) * gw as f32 / w as f32 - 0.5).max(0.0);
            let fy = ((y as f32 + 0.5) * gh as f32 / h as f32 - 0.5).max(0.0);
            let (x0, y0) = (fx as usize, fy as usize);
            let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
            let mut out = [0f32; COMPONENTS];
            for (k, value) in out.iter_mut().enumerate() {
                let top = at(x0, y0)[k] * (1.0 - tx) + at(x0 + 1, y0)[k] * tx;
                let bottom = at(x0, y0 + 1)[k] * (1.0 - tx) + at(x0 + 1, y0 + 1)[k] * tx;
                *value = scale * (top * (1.0 - ty) + bottom * ty);
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(
        channels: usize,
        width: usize,
        height: usize,
        f: impl Fn(usize, usize, usize) -> f32,
    ) -> FeatureMap {
        let mut values = Vec::new();
        for c in 0..channels {
            for y in 0..height {
                for x in 0..width {
                    values.push(f(c, x, y));
                }
            }
        }
        FeatureMap {
            channels,
            width,
            height,
            values,
        }
    }

    #[test]
    fn the_first_component_follows_the_main_variation_and_has_the_fixed_spread() {
        // Channel 0 varies strongly with x, channel 1 weakly with y, channel 2 is constant.
        let style = map(3, 16, 16, |c, x, y| match c {
            0 => 10.0 * x as f32,
            1 => 0.1 * y as f32,
            _ => 5.0,
        });
        let (pixels, _) = pixel_features(&style, &style, (16, 16), (16, 16));
        let first: Vec<f32> = pixels.iter().map(|p| p[0]).collect();
        // Monotonic in x (either sign), constant in y.
        let row: Vec<f32> = first[..16].to_vec();
        let rising = row.windows(2).all(|w| w[1] > w[0]);
        let falling = row.windows(2).all(|w| w[1] < w[0]);
        assert!(rising || falling, "{row:?}");
        assert!((first[16 * 5 + 3] - first[3]).abs() < 1e-3);
        let variance: f32 = pixels
            .iter()
            .map(|p| p.iter().map(|v| v * v).sum::<f32>())
            .sum::<f32>()
            / 256.0;
        assert!((variance - SPREAD).abs() < SPREAD * 0.05, "{variance}");
    }

    #[test]
    fn content_like_the_style_lands_on_the_same_features() {
        let style = map(4, 8, 8, |c, x, y| ((c + 1) * x + y) as f32);
        // Resampled to twice the size, the features of each 2x2 block average to the
        // style's at the block's position (they vary linearly, away from the border).
        let (s, c) = pixel_features(&style, &style, (8, 8), (16, 16));
        for (y, x) in [(1usize, 1usize), (3, 6), (6, 2)] {
            let a = s[y * 8 + x];
            let mut b = [0f32; COMPONENTS];
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let v = c[(2 * y + dy) * 16 + 2 * x + dx];
                for k in 0..COMPONENTS {
                    b[k] += v[k] / 4.0;
                }
            }
            let d: f32 = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum();
            assert!(d < 0.1 * SPREAD.sqrt(), "{a:?} vs {b:?}");
        }
    }
}
