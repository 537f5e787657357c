//! Activations in host memory, channels last (`[h][w][C]`), and the 2x2 pooling between
//! encoder blocks, forward and backward.
//!
//! Channels last keeps each pixel's channels contiguous, which is what the convolution
//! transforms vectorise over and what their matrix products read.

use rayon::prelude::*;

/// Pixels per parallel task in the element-wise loops.
const PIXELS_PER_TASK: usize = 4096;

/// An activation `[height][width][channels]` in host memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Activation {
    pub values: Vec<f32>,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Activation {
    /// Zeros of the given size.
    pub fn zeros(height: usize, width: usize, channels: usize) -> Self {
        Activation {
            values: vec![0.0; height * width * channels],
            height,
            width,
            channels,
        }
    }

    /// From planar values `[channels][height][width]` (burn's `[1, C, h, w]` layout).
    pub fn from_planar(planar: &[f32], height: usize, width: usize, channels: usize) -> Self {
        assert_eq!(planar.len(), height * width * channels, "planar size");
        let plane = height * width;
        let mut values = vec![0.0; planar.len()];
        values
            .par_chunks_mut(channels * width)
            .enumerate()
            .for_each(|(y, row)| {
                for x in 0..width {
                    for c in 0..channels {
                        row[x * channels + c] = planar[c * plane + y * width + x];
                    }
                }
            });
        Activation {
            values,
            height,
            width,
            channels,
        }
    }

    /// The values as planar `[channels][height][width]`.
    pub fn to_planar(&self) -> Vec<f32> {
        let plane = self.height * self.width;
        let mut planar = vec![0.0; self.values.len()];
        planar
            .par_chunks_mut(plane)
            .enumerate()
            .for_each(|(c, out)| {
                for (i, value) in out.iter_mut().enumerate() {
                    *value = self.values[i * self.channels + c];
                }
            });
        planar
    }

    /// The channel vector of pixel `(y, x)`.
    pub fn pixel(&self, y: usize, x: usize) -> &[f32] {
        let start = (y * self.width + x) * self.channels;
        &self.values[start..start + self.channels]
    }

    /// Adds `other` (same size) element by element.
    pub fn add(&mut self, other: &Activation) {
        assert_eq!(self.values.len(), other.values.len(), "activation sizes");
        self.values
            .par_chunks_mut(PIXELS_PER_TASK)
            .zip(other.values.par_chunks(PIXELS_PER_TASK))
            .for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(a, b)| *a += b));
    }

    /// Zeroes the values where `output` (a ReLU's output of the same size) is not
    /// positive: the ReLU's backward pass.
    pub fn mask_by_relu(&mut self, output: &Activation) {
        assert_eq!(self.values.len(), output.values.len(), "activation sizes");
        self.values
            .par_chunks_mut(PIXELS_PER_TASK)
            .zip(output.values.par_chunks(PIXELS_PER_TASK))
            .for_each(|(g, y)| {
                g.iter_mut()
                    .zip(y)
                    .for_each(|(g, y)| *g = if *y > 0.0 { *g } else { 0.0 })
            });
    }
}

/// The 2x2, stride-2 pooling between blocks (odd last rows and columns are dropped, as
/// VGG's pooling floors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    Average,
    Max,
}

impl Pool {
    /// Pools `x` to `floor(h/2) x floor(w/2)`.
    pub fn forward(self, x: &Activation) -> Activation {
        let (height, width, channels) = (x.height / 2, x.width / 2, x.channels);
        let mut out = Activation::zeros(height, width, channels);
        if out.values.is_empty() {
            return out;
        }
        out.values
            .par_chunks_mut(width * channels)
            .enumerate()
            .for_each(|(y, row)| {
                for ox in 0..width {
                    let window = window(x, 2 * y, 2 * ox);
                    let cell = &mut row[ox * channels..(ox + 1) * channels];
                    for (c, value) in cell.iter_mut().enumerate() {
                        let [a, b, d, e] = window.map(|p| p[c]);
                        *value = match self {
                            Pool::Average => (a + b + d + e) * 0.25,
                            Pool::Max => a.max(b).max(d).max(e),
                        };
                    }
                }
            });
        out
    }

    /// The gradient to the pooling's input `x` from the gradient at its output. Max
    /// pooling sends each cell's gradient to the first of the window's largest inputs.
    pub fn backward(self, x: &Activation, gradient: &Activation) -> Activation {
        let channels = x.channels;
        let mut out = Activation::zeros(x.height, x.width, channels);
        let row_len = x.width * channels;
        out.values
            .par_chunks_mut(2 * row_len)
            .enumerate()
            .filter(|(pair, _)| *pair < gradient.height)
            .for_each(|(oy, rows)| {
                let (top, bottom) = rows.split_at_mut(row_len);
                for ox in 0..gradient.width {
                    let g = gradient.pixel(oy, ox);
                    let window = window(x, 2 * oy, 2 * ox);
                    for c in 0..channels {
                        let shares = match self {
                            Pool::Average => [g[c] * 0.25; 4],
                            Pool::Max => {
                                let values = window.map(|p| p[c]);
                                let largest = values.iter().copied().fold(f32::MIN, f32::max);
                                let first = values.iter().position(|v| *v == largest).unwrap_or(0);
                                let mut shares = [0.0; 4];
                                shares[first] = g[c];
                                shares
                            }
                        };
                        let (left, right) = (2 * ox * channels + c, (2 * ox + 1) * channels + c);
                        top[left] = shares[0];
                        top[right] = shares[1];
                        bottom[left] = shares[2];
                        bottom[right] = shares[3];
                    }
                }
            });
        out
    }
}

/// The four pixels of the 2x2 window at `(y, x)`: top-left, top-right, bottom-left,
/// bottom-right.
fn window(x: &Activation, y: usize, column: usize) -> [&[f32]; 4] {
    [
        x.pixel(y, column),
        x.pixel(y, column + 1),
        x.pixel(y + 1, column),
        x.pixel(y + 1, column + 1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(height: usize, width: usize, channels: usize) -> Activation {
        let values = (0..height * width * channels)
            .map(|i| ((i * 37) % 23) as f32 - 7.0)
            .collect();
        Activation {
            values,
            height,
            width,
            channels,
        }
    }

    fn x_at(x: &Activation, y: usize, column: usize, c: usize) -> f32 {
        x.pixel(y, column)[c]
    }

    #[test]
    fn planar_round_trip() {
        let x = ramp(3, 5, 4);
        let planar = x.to_planar();
        assert_eq!(planar[2 * 15 + 5 + 3], x.pixel(1, 3)[2]);
        assert_eq!(Activation::from_planar(&planar, 3, 5, 4), x);
    }

    #[test]
    fn pooling_floors_odd_sizes_and_its_backward_is_the_adjoint() {
        let x = ramp(5, 7, 3);
        for pool in [Pool::Average, Pool::Max] {
            let y = pool.forward(&x);
            assert_eq!((y.height, y.width), (2, 3));
            // The window of output (1, 2): rows 2-3, columns 4-5.
            let expected: Vec<f32> = (0..3)
                .map(|c| {
                    let window =
                        [(2, 4), (2, 5), (3, 4), (3, 5)].map(|(y, column)| x_at(&x, y, column, c));
                    match pool {
                        Pool::Average => window.iter().sum::<f32>() / 4.0,
                        Pool::Max => window.iter().copied().fold(f32::MIN, f32::max),
                    }
                })
                .collect();
            assert_eq!(y.pixel(1, 2), expected.as_slice());
            // <pool(x + e v), g> changes by e <v, backward(g)> (exact for average pooling,
            // and for max pooling away from ties).
            let g = ramp(2, 3, 3);
            let back = pool.backward(&x, &g);
            assert_eq!(back.values.len(), x.values.len());
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f32>();
            let mut nudged = x.clone();
            let index = (2 * 7 + 4) * 3 + 1;
            nudged.values[index] += 0.01;
            let change = dot(&pool.forward(&nudged).values, &g.values) - dot(&y.values, &g.values);
            assert!(
                (change - 0.01 * back.values[index]).abs() < 1e-4,
                "{pool:?}: {change}"
            );
            // The dropped last row and column get no gradient.
            assert!(
                back.pixel(4, 0)
                    .iter()
                    .chain(back.pixel(0, 6))
                    .all(|v| *v == 0.0)
            );
        }
    }
}
