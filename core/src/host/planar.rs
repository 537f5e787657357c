//! Planar activations (`[C][h][w]`, burn's `[1, C, h, w]` layout) and the operations the
//! built-in encoder is made of, each with its backward pass: pointwise channel mixing,
//! a per-channel filter bank with edge padding, and average pooling.
//!
//! Planar suits these operations: filters and pools run along contiguous rows of one
//! channel, channel mixing is one matrix product of `[out][in]` weights with `[in][pixels]`,
//! and concatenating channels is appending planes.

use rayon::prelude::*;

use super::matmul::{MatrixRef, multiply};

/// Pixels per parallel task of a channel mixing.
const MIX_PIXELS_PER_TASK: usize = 2048;

/// A planar activation `[channels][height][width]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planes {
    pub values: Vec<f32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Planes {
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Planes {
            values: vec![0.0; channels * height * width],
            channels,
            height,
            width,
        }
    }

    pub fn plane_len(&self) -> usize {
        self.height * self.width
    }

    /// Channel `c`.
    pub fn plane(&self, c: usize) -> &[f32] {
        &self.values[c * self.plane_len()..][..self.plane_len()]
    }

    /// Stacks activations of the same size along the channels.
    pub fn concat(parts: &[&Planes]) -> Planes {
        let (height, width) = (parts[0].height, parts[0].width);
        let mut values = Vec::with_capacity(parts.iter().map(|p| p.values.len()).sum());
        for part in parts {
            assert_eq!(
                (part.height, part.width),
                (height, width),
                "concatenated sizes"
            );
            values.extend_from_slice(&part.values);
        }
        Planes {
            channels: values.len() / (height * width).max(1),
            values,
            height,
            width,
        }
    }

    /// Channels `start..start + count` as their own activation.
    pub fn channels(&self, start: usize, count: usize) -> Planes {
        Planes {
            values: self.values[start * self.plane_len()..][..count * self.plane_len()].to_vec(),
            channels: count,
            height: self.height,
            width: self.width,
        }
    }

    /// Adds `other` (same size) into `self`, or into channels `start..` of `self`.
    pub fn add_at(&mut self, start: usize, other: &Planes) {
        assert_eq!(
            (self.height, self.width),
            (other.height, other.width),
            "added sizes"
        );
        let offset = start * self.plane_len();
        self.values[offset..offset + other.values.len()]
            .iter_mut()
            .zip(&other.values)
            .for_each(|(a, b)| *a += b);
    }

    /// Multiplies every value by `factor`.
    pub fn scale(&mut self, factor: f32) {
        self.values.iter_mut().for_each(|v| *v *= factor);
    }
}

/// `out[o] = sum_i weight[o][i] * x[i]` at every pixel: a 1x1 convolution without bias
/// (`weight` row-major `[outputs][x.channels]`).
pub(crate) fn mix(weight: &[f32], outputs: usize, x: &Planes) -> Planes {
    assert_eq!(weight.len(), outputs * x.channels, "mixing weights");
    mix_by(MatrixRef::rows(weight, outputs, x.channels), x)
}

/// The gradient to [`mix`]'s input: `sum_o weight[o][i] * gradient[o]`.
pub(crate) fn mix_backward(weight: &[f32], inputs: usize, gradient: &Planes) -> Planes {
    assert_eq!(weight.len(), gradient.channels * inputs, "mixing weights");
    mix_by(
        MatrixRef::transposed(weight, gradient.channels, inputs),
        gradient,
    )
}

/// `out = weight * x` at every pixel, for a `[outputs][x.channels]` view.
fn mix_by(weight: MatrixRef<'_>, x: &Planes) -> Planes {
    let outputs = weight.rows;
    let pixels = x.plane_len();
    let mut out = Planes::zeros(outputs, x.height, x.width);
    let tasks = pixels.div_ceil(MIX_PIXELS_PER_TASK);
    // Each task mixes a range of pixels: [outputs x inputs] x [inputs x range].
    let parts: Vec<Vec<f32>> = (0..tasks)
        .into_par_iter()
        .map(|task| {
            let start = task * MIX_PIXELS_PER_TASK;
            let len = MIX_PIXELS_PER_TASK.min(pixels - start);
            let mut part = vec![0f32; outputs * len];
            multiply(
                weight,
                MatrixRef {
                    values: &x.values[start..],
                    rows: x.channels,
                    columns: len,
                    row_stride: pixels,
                    column_stride: 1,
                },
                1.0,
                false,
                &mut part,
            );
            part
        })
        .collect();
    for (task, part) in parts.into_iter().enumerate() {
        let start = task * MIX_PIXELS_PER_TASK;
        let len = part.len() / outputs.max(1);
        for (o, row) in part.chunks_exact(len.max(1)).enumerate().take(outputs) {
            out.values[o * pixels + start..][..len].copy_from_slice(row);
        }
    }
    out
}

/// Average pooling of each channel with windows of `2 * factor` at stride `factor`,
/// shifted back by `factor / 2` and averaging only the pixels inside the image: output
/// `floor(h / factor) x floor(w / factor)`. `factor` 1 is the identity.
pub(crate) fn overlapping_pool(x: &Planes, factor: usize) -> Planes {
    pool(x, Window::overlapping(factor))
}

/// The gradient to [`overlapping_pool`]'s input of `height x width`.
pub(crate) fn overlapping_pool_backward(
    gradient: &Planes,
    factor: usize,
    height: usize,
    width: usize,
) -> Planes {
    pool_backward(gradient, Window::overlapping(factor), height, width)
}

/// 2x2 average pooling at stride 2 (odd last rows and columns dropped).
pub(crate) fn halve(x: &Planes) -> Planes {
    pool(x, Window::HALVE)
}

/// The gradient to [`halve`]'s input of `height x width`.
pub(crate) fn halve_backward(gradient: &Planes, height: usize, width: usize) -> Planes {
    pool_backward(gradient, Window::HALVE, height, width)
}

/// A pooling window along one axis: output `o` averages inputs
/// `[o * stride - offset, o * stride - offset + size)` that exist.
#[derive(Clone, Copy)]
struct Window {
    size: usize,
    stride: usize,
    offset: usize,
}

impl Window {
    const HALVE: Window = Window {
        size: 2,
        stride: 2,
        offset: 0,
    };

    fn overlapping(factor: usize) -> Self {
        if factor == 1 {
            return Window {
                size: 1,
                stride: 1,
                offset: 0,
            };
        }
        Window {
            size: 2 * factor,
            stride: factor,
            offset: factor / 2,
        }
    }

    fn outputs(&self, inputs: usize) -> usize {
        if self.offset == 0 {
            (inputs.saturating_sub(self.size)) / self.stride + usize::from(inputs >= self.size)
        } else {
            inputs / self.stride
        }
    }

    /// The input range of output `o`.
    fn range(&self, o: usize, inputs: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride).saturating_sub(self.offset);
        let end = (o * self.stride + self.size - self.offset).min(inputs);
        start..end
    }
}

/// Separable pooling: along rows, then along columns (the window is a rectangle, and so
/// is its intersection with the image, so the average factors into the two).
fn pool(x: &Planes, window: Window) -> Planes {
    let (oh, ow) = (window.outputs(x.height), window.outputs(x.width));
    let mut out = Planes::zeros(x.channels, oh, ow);
    if out.values.is_empty() {
        return out;
    }
    out.values
        .par_chunks_mut(oh * ow)
        .enumerate()
        .for_each(|(c, plane)| {
            let input = x.plane(c);
            // Along each row: [h][ow].
            let mut rows = vec![0f32; x.height * ow];
            for y in 0..x.height {
                let line = &input[y * x.width..][..x.width];
                for ox in 0..ow {
                    let range = window.range(ox, x.width);
                    let n = range.len() as f32;
                    rows[y * ow + ox] = line[range].iter().sum::<f32>() / n;
                }
            }
            for oy in 0..oh {
                let range = window.range(oy, x.height);
                let n = range.len() as f32;
                let target = &mut plane[oy * ow..][..ow];
                for y in range {
                    target
                        .iter_mut()
                        .zip(&rows[y * ow..][..ow])
                        .for_each(|(t, r)| *t += r);
                }
                target.iter_mut().for_each(|t| *t /= n);
            }
        });
    out
}

fn pool_backward(gradient: &Planes, window: Window, height: usize, width: usize) -> Planes {
    let (oh, ow) = (gradient.height, gradient.width);
    let mut out = Planes::zeros(gradient.channels, height, width);
    out.values
        .par_chunks_mut(height * width)
        .enumerate()
        .for_each(|(c, plane)| {
            let g = gradient.plane(c);
            // Columns first (the transpose of the forward's last step): [h][ow].
            let mut rows = vec![0f32; height * ow];
            for oy in 0..oh {
                let range = window.range(oy, height);
                let n = range.len() as f32;
                for y in range {
                    rows[y * ow..][..ow]
                        .iter_mut()
                        .zip(&g[oy * ow..][..ow])
                        .for_each(|(r, g)| *r += g / n);
                }
            }
            for y in 0..height {
                let line = &mut plane[y * width..][..width];
                for ox in 0..ow {
                    let range = window.range(ox, width);
                    let share = rows[y * ow + ox] / range.len() as f32;
                    line[range].iter_mut().for_each(|v| *v += share);
                }
            }
        });
    out
}

/// Filters every channel of `x` with each of `filters` (square, odd side `size`), edge
/// padding so the output has the input's size: output channel `c * filters.len() + f`.
pub(crate) fn filter_bank(x: &Planes, filters: &[Vec<f32>], size: usize) -> Planes {
    let radius = size / 2;
    let (h, w) = (x.height, x.width);
    let count = filters.len();
    let pw = w + 2 * radius;
    let mut out = Planes::zeros(x.channels * count, h, w);
    // One task per channel and band of rows; each output row is finished (every tap)
    // while it is in the first-level cache.
    let rows_per_task = (16384 / w.max(1)).clamp(1, h.max(1));
    let padded: Vec<Vec<f32>> = (0..x.channels)
        .into_par_iter()
        .map(|c| edge_padded(x.plane(c), h, w, radius))
        .collect();
    out.values
        .par_chunks_mut(h * w)
        .enumerate()
        .for_each(|(o, plane)| {
            let padded = &padded[o / count];
            let filter = &filters[o % count];
            plane
                .par_chunks_mut(rows_per_task * w)
                .enumerate()
                .for_each(|(band, rows)| {
                    for (r, row) in rows.chunks_exact_mut(w).enumerate() {
                        let y = band * rows_per_task + r;
                        for ky in 0..size {
                            let source = &padded[(y + ky) * pw..][..pw];
                            for kx in 0..size {
                                let k = filter[ky * size + kx];
                                if k != 0.0 {
                                    row.iter_mut()
                                        .zip(&source[kx..kx + w])
                                        .for_each(|(t, s)| *t += k * s);
                                }
                            }
                        }
                    }
                });
        });
    out
}

/// The gradient to [`filter_bank`]'s input from the gradient at its output.
pub(crate) fn filter_bank_backward(gradient: &Planes, filters: &[Vec<f32>], size: usize) -> Planes {
    let radius = size / 2;
    let (h, w) = (gradient.height, gradient.width);
    let count = filters.len();
    let channels = gradient.channels / count;
    let pw = w + 2 * radius;
    let ph = h + 2 * radius;
    let rows_per_task = (16384 / pw).clamp(1, ph);
    let mut out = Planes::zeros(channels, h, w);
    out.values
        .par_chunks_mut(h * w)
        .enumerate()
        .for_each(|(c, plane)| {
            // The gradient at the padded input, row by row: padded row py gathers output
            // row y = py - ky through kernel row ky.
            let mut padded = vec![0f32; ph * pw];
            padded
                .par_chunks_mut(rows_per_task * pw)
                .enumerate()
                .for_each(|(band, rows)| {
                    for (r, row) in rows.chunks_exact_mut(pw).enumerate() {
                        let py = band * rows_per_task + r;
                        for (f, filter) in filters.iter().enumerate() {
                            let g = gradient.plane(c * count + f);
                            for ky in 0..size {
                                let Some(y) = py.checked_sub(ky).filter(|y| *y < h) else {
                                    continue;
                                };
                                let source = &g[y * w..][..w];
                                for kx in 0..size {
                                    let k = filter[ky * size + kx];
                                    if k != 0.0 {
                                        row[kx..kx + w]
                                            .iter_mut()
                                            .zip(source)
                                            .for_each(|(t, g)| *t += k * g);
                                    }
                                }
                            }
                        }
                    }
                });
            fold_edge_padding(&padded, h, w, radius, plane);
        });
    out
}

/// A plane with `radius` pixels of edge padding (the nearest pixel repeated).
fn edge_padded(plane: &[f32], h: usize, w: usize, radius: usize) -> Vec<f32> {
    let pw = w + 2 * radius;
    let mut padded = vec![0f32; (h + 2 * radius) * pw];
    for py in 0..h + 2 * radius {
        let y = py.saturating_sub(radius).min(h - 1);
        let row = &plane[y * w..][..w];
        let target = &mut padded[py * pw..][..pw];
        target[..radius].fill(row[0]);
        target[radius..radius + w].copy_from_slice(row);
        target[radius + w..].fill(row[w - 1]);
    }
    padded
}

/// The transpose of [`edge_padded`]: every padded pixel's value added to the pixel it
/// copied.
fn fold_edge_padding(padded: &[f32], h: usize, w: usize, radius: usize, plane: &mut [f32]) {
    let pw = w + 2 * radius;
    for py in 0..h + 2 * radius {
        let y = py.saturating_sub(radius).min(h - 1);
        let source = &padded[py * pw..][..pw];
        let row = &mut plane[y * w..][..w];
        row.iter_mut()
            .zip(&source[radius..radius + w])
            .for_each(|(t, s)| *t += s);
        row[0] += source[..radius].iter().sum::<f32>();
        row[w - 1] += source[radius + w..].iter().sum::<f32>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn random(channels: usize, height: usize, width: usize, seed: u64) -> Planes {
        let mut rng = SplitMix64::new(seed);
        Planes {
            values: (0..channels * height * width)
                .map(|_| rng.uniform() as f32 - 0.5)
                .collect(),
            channels,
            height,
            width,
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    }

    /// `<forward(x), g> == <x, backward(g)>` for a linear operation.
    fn assert_adjoint(
        x: &Planes,
        forward: impl Fn(&Planes) -> Planes,
        backward: impl Fn(&Planes) -> Planes,
    ) {
        let y = forward(x);
        let g = random(y.channels, y.height, y.width, 99);
        let back = backward(&g);
        assert_eq!(
            (back.channels, back.height, back.width),
            (x.channels, x.height, x.width)
        );
        let (lhs, rhs) = (dot(&y.values, &g.values), dot(&x.values, &back.values));
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn pools_match_burns_average_pooling_and_are_adjoint() {
        use burn::tensor::module::avg_pool2d;
        use burn::tensor::ops::AvgPoolOptions;
        use burn::tensor::{Tensor, TensorData};
        let device = crate::DeviceKind::Cpu.open().unwrap().burn().clone();
        let x = random(3, 13, 10, 1);
        let tensor =
            Tensor::<4>::from_data(TensorData::new(x.values.clone(), [1, 3, 13, 10]), &device);
        for factor in [2usize, 4] {
            let options = AvgPoolOptions::new([2 * factor, 2 * factor])
                .with_stride([factor, factor])
                .with_padding([factor / 2, factor / 2])
                .with_count_include_pad(false);
            let expected: Vec<f32> = avg_pool2d(tensor.clone(), options)
                .try_into_vec_as::<f32>()
                .unwrap();
            let got = overlapping_pool(&x, factor);
            assert_eq!(got.values.len(), expected.len(), "factor {factor}");
            for (a, b) in got.values.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "factor {factor}: {a} vs {b}");
            }
            assert_adjoint(
                &x,
                |x| overlapping_pool(x, factor),
                |g| overlapping_pool_backward(g, factor, 13, 10),
            );
        }
        let expected: Vec<f32> = avg_pool2d(tensor, AvgPoolOptions::new([2, 2]))
            .try_into_vec_as::<f32>()
            .unwrap();
        let got = halve(&x);
        assert_eq!((got.height, got.width), (6, 5));
        for (a, b) in got.values.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-5);
        }
        assert_adjoint(&x, halve, |g| halve_backward(g, 13, 10));
        assert_eq!(overlapping_pool(&x, 1), x);
    }

    #[test]
    fn mixing_and_filtering_are_adjoint_to_their_backward_passes() {
        let x = random(5, 9, 2100, 2);
        let weight: Vec<f32> = random(1, 7, 5, 3).values;
        let y = mix(&weight, 7, &x);
        let pixel = 9 * 2100 - 1;
        let expected: f32 = (0..5)
            .map(|i| weight[6 * 5 + i] * x.values[i * 9 * 2100 + pixel])
            .sum();
        assert!((y.values[6 * 9 * 2100 + pixel] - expected).abs() < 1e-5);
        assert_adjoint(&x, |x| mix(&weight, 7, x), |g| mix_backward(&weight, 5, g));
        let filters: Vec<Vec<f32>> = (0..3).map(|f| random(1, 5, 5, 10 + f).values).collect();
        let small = random(2, 6, 4, 4);
        assert_adjoint(
            &small,
            |x| filter_bank(x, &filters, 5),
            |g| filter_bank_backward(g, &filters, 5),
        );
    }
}
