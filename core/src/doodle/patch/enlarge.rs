//! A photo painted at a working size, enlarged to the output size guided by the photo.
//!
//! The painting's strokes and colours are the work's, resampled (at the working size
//! they are the painting's own pixels; enlarged, they keep their share of the picture).
//! The photo's shapes come at the output's own resolution: the tone (the photo's
//! luminance as the painting would have it, computed per output pixel from the work's
//! tone mapping) is blurred by [`DETAIL_BLUR`], and the part of it finer than the work
//! could hold is added to the enlarged painting, so outlines are sharper than an
//! enlargement alone (guided upsampling with detail transfer).
//!
//! The output is made in bands of rows, each with the few extra rows its blur reaches,
//! so memory stays a few bands whatever the size, bands run in parallel, and a band's
//! rows come out as a whole-image pass would make them: no seams.

use image::RgbImage;
use rayon::prelude::*;

use super::finish::Finished;
use super::tone::ToneMapping;
use crate::lab::{lightness, to_srgb};
use crate::pixels::{gaussian_blur, gaussian_blur_reach};

/// Standard deviation, in working pixels, of the blur under which the photo's tone is
/// taken at the output size: half the finish's split between strokes and shapes, so the
/// photo adds outlines finer than the work holds without adding its own texture.
/// Measured on 2048 px photos (docs/DOODLE.md): 1.5 output pixels (the photo's every
/// edge) raised the detail score to 2.0, past the painting's; 2 working pixels softened
/// outlines for no gain in the scores; 1.5 keeps detail 0.85-1.3.
const DETAIL_BLUR: f32 = 1.5;

/// Output rows per band.
pub(super) const BAND_ROWS: usize = 64;

/// What the enlargement needs, all but the photo at the working size.
pub(super) struct Enlargement<'a> {
    /// The finished painting, with the coarse tone, shares and range it was finished with.
    pub finished: &'a Finished,
    /// How the tone was mapped from the photo's luminance (none: the photo's own).
    pub mapping: Option<&'a ToneMapping>,
    /// The photo at the output size.
    pub photo: &'a RgbImage,
}

/// The painting at the photo's size, made `band_rows` rows at a time.
pub(super) fn enlarge(inputs: &Enlargement<'_>, band_rows: usize) -> RgbImage {
    let (width, height) = (
        inputs.photo.width() as usize,
        inputs.photo.height() as usize,
    );
    let band_rows = band_rows.max(1);
    let Finished {
        painting,
        coarse_tone,
        shares,
        range,
    } = inputs.finished;
    let columns = axis(painting.width, width);
    let rows = axis(painting.height, height);
    let enlargement = width as f32 / painting.width.max(1) as f32;
    let sigma = DETAIL_BLUR * enlargement.max(1.0);
    let reach = gaussian_blur_reach(sigma);
    let mut output = RgbImage::new(width as u32, height as u32);
    output
        .par_chunks_mut(band_rows * width * 3)
        .enumerate()
        .for_each(|(band, out)| {
            let y0 = band * band_rows;
            let y1 = (y0 + band_rows).min(height);
            let (top, bottom) = (y0.saturating_sub(reach), (y1 + reach).min(height));
            let mut tone = photo_tone(inputs, &columns, &rows[top..bottom], top);
            gaussian_blur(&mut tone, width, sigma);
            let sampler = Sampler {
                width: painting.width,
                columns: &columns,
            };
            for y in y0..y1 {
                let row = rows[y];
                let fine_tone = &tone[(y - top) * width..][..width];
                let out_row = &mut out[(y - y0) * width * 3..][..width * 3];
                for (x, pixel) in out_row.chunks_exact_mut(3).enumerate() {
                    let at = |plane: &[f32]| sampler.sample(plane, row, x);
                    let detail = fine_tone[x] - at(coarse_tone);
                    let mut l = at(&painting.l) + at(shares) * detail;
                    if let Some(range) = range {
                        l = range.keep(l);
                    }
                    let lab = [l, at(&painting.a), at(&painting.b)];
                    pixel.copy_from_slice(&to_srgb(lab));
                }
            }
        });
    output
}

/// The photo's tone at the output size for the given rows (from `top`): its luminance,
/// mapped as the work's was.
fn photo_tone(inputs: &Enlargement<'_>, columns: &[Tap], rows: &[Tap], top: usize) -> Vec<f32> {
    let width = columns.len();
    let mut tone = Vec::with_capacity(rows.len() * width);
    let sampler = Sampler {
        width: inputs.finished.painting.width,
        columns,
    };
    for (offset, &row) in rows.iter().enumerate() {
        let y = (top + offset) as u32;
        for x in 0..width {
            let value = lightness(inputs.photo.get_pixel(x as u32, y).0);
            tone.push(match inputs.mapping {
                Some(mapping) => mapping.tone_at(
                    value,
                    sampler.sample(&mapping.base, row, x),
                    sampler.sample(&mapping.mapped_base, row, x),
                ),
                None => value,
            });
        }
    }
    tone
}

/// Where one output coordinate falls between two source coordinates: the lower, the
/// upper, and the upper's weight (bilinear, pixel centres aligned).
#[derive(Debug, Clone, Copy)]
struct Tap {
    lower: usize,
    upper: usize,
    weight: f32,
}

/// The taps for enlarging `source` samples to `target`.
fn axis(source: usize, target: usize) -> Vec<Tap> {
    let last = source.saturating_sub(1);
    (0..target)
        .map(|i| {
            let position =
                ((i as f32 + 0.5) * source as f32 / target as f32 - 0.5).clamp(0.0, last as f32);
            let lower = (position.floor() as usize).min(last);
            Tap {
                lower,
                upper: (lower + 1).min(last),
                weight: position - lower as f32,
            }
        })
        .collect()
}

/// Bilinear samples of working-size planes at output positions.
struct Sampler<'a> {
    width: usize,
    columns: &'a [Tap],
}

impl Sampler<'_> {
    fn sample(&self, plane: &[f32], row: Tap, x: usize) -> f32 {
        let column = self.columns[x];
        let at = |y: usize, x: usize| plane[y * self.width + x];
        let mix = |y: usize| {
            at(y, column.lower) + column.weight * (at(y, column.upper) - at(y, column.lower))
        };
        let (top, bottom) = (mix(row.lower), mix(row.upper));
        top + row.weight * (bottom - top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabPlanes;

    /// `painting` finished with a photo share of 0.8 of `coarse_tone`, in no range.
    fn finished(painting: LabPlanes, coarse_tone: Vec<f32>) -> Finished {
        let shares = vec![0.8; coarse_tone.len()];
        Finished {
            painting,
            coarse_tone,
            shares,
            range: None,
        }
    }

    /// `photo` enlarged from `finished` with the photo's own tone.
    fn enlarged_from(finished: &Finished, photo: &RgbImage, band_rows: usize) -> RgbImage {
        let inputs = Enlargement {
            finished,
            mapping: None,
            photo,
        };
        enlarge(&inputs, band_rows)
    }

    /// A working-size painting of vertical stripes and an output-size photo of a disc.
    fn scene(work: (usize, usize), output: (u32, u32)) -> (LabPlanes, Vec<f32>, RgbImage) {
        let (w, h) = work;
        let l: Vec<f32> = (0..w * h)
            .map(|i| 40.0 + 20.0 * ((i % w) / 3 % 2) as f32)
            .collect();
        let painted = LabPlanes {
            width: w,
            height: h,
            a: vec![10.0; w * h],
            b: vec![10.0; w * h],
            l: l.clone(),
        };
        let coarse = vec![50.0; w * h];
        let (ow, oh) = output;
        let photo = RgbImage::from_fn(ow, oh, |x, y| {
            let (dx, dy) = (x as f32 - ow as f32 / 2.0, y as f32 - oh as f32 / 3.0);
            let v = if dx * dx + dy * dy < (oh as f32 / 4.0).powi(2) {
                220
            } else {
                40
            };
            image::Rgb([v, v, v])
        });
        (painted, coarse, photo)
    }

    fn enlarged(band_rows: usize) -> RgbImage {
        let (painted, coarse, photo) = scene((40, 30), (203, 151));
        enlarged_from(&finished(painted, coarse), &photo, band_rows)
    }

    #[test]
    fn bands_of_any_height_give_the_whole_image_pass_exactly() {
        let whole = enlarged(10_000);
        for band_rows in [1, 7, 64] {
            let banded = enlarged(band_rows);
            let largest = whole
                .as_raw()
                .iter()
                .zip(banded.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max();
            assert!(
                largest <= Some(1),
                "bands of {band_rows}: differs by {largest:?}"
            );
        }
    }

    #[test]
    fn the_output_has_the_photos_outline_sharp_and_the_paintings_colour() {
        let image = enlarged(BAND_ROWS);
        assert_eq!(image.dimensions(), (203, 151));
        // The work knows nothing of the disc: its outline comes from the photo, at the
        // output's resolution (a few working pixels wide).
        let y = 151 / 3;
        let luma = |x: u32| lightness(image.get_pixel(x, y).0);
        let edge = 203 / 2 + 151 / 4;
        assert!(
            luma(edge - 12) - luma(edge + 12) > 25.0,
            "{} vs {}",
            luma(edge - 12),
            luma(edge + 12)
        );
        // The colour is the painting's (a* and b* 10: warm), not the grey photo's.
        let [r, _, b] = image.get_pixel(10, 10).0;
        assert!(r > b, "{:?}", image.get_pixel(10, 10));
    }

    #[test]
    fn seams_between_bands_are_no_stronger_than_any_other_row_step() {
        let photo = crate::samples::photo(320, 400, 4).to_rgb8();
        let work = image::imageops::resize(
            &crate::samples::photo(80, 100, 9).to_rgb8(),
            80,
            100,
            image::imageops::FilterType::Triangle,
        );
        let painted = LabPlanes::from_image(&work);
        let coarse = super::super::finish::coarse_band(&painted.l, painted.width);
        let band_rows = 32;
        let image = enlarged_from(&finished(painted, coarse), &photo, band_rows);
        // The mean step between each row and the next, at band boundaries and elsewhere.
        let step = |y: u32| -> f64 {
            (0..image.width())
                .map(|x| {
                    let (a, b) = (image.get_pixel(x, y).0, image.get_pixel(x, y + 1).0);
                    (0..3).map(|k| f64::from(a[k].abs_diff(b[k]))).sum::<f64>()
                })
                .sum::<f64>()
                / f64::from(image.width())
        };
        let (mut seams, mut interior) = (Vec::new(), Vec::new());
        for y in 0..image.height() - 1 {
            if (y as usize + 1).is_multiple_of(band_rows) {
                seams.push(step(y));
            } else {
                interior.push(step(y));
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let spread = {
            let m = mean(&interior);
            (interior.iter().map(|s| (s - m).powi(2)).sum::<f64>() / interior.len() as f64).sqrt()
        };
        assert!(
            (mean(&seams) - mean(&interior)).abs() < 0.5 * spread + 0.1,
            "seams {:.2}, interior {:.2} +- {spread:.2}",
            mean(&seams),
            mean(&interior)
        );
    }

    #[test]
    fn axes_align_pixel_centres_and_stay_inside() {
        let taps = axis(4, 8);
        assert_eq!((taps[0].lower, taps[0].upper, taps[0].weight), (0, 1, 0.0));
        assert_eq!((taps[7].lower, taps[7].upper), (3, 3));
        assert!((taps[2].weight - 0.75).abs() < 1e-6);
        assert!(axis(1, 5).iter().all(|t| t.lower == 0 && t.upper == 0));
    }
}
