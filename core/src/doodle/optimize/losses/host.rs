//! The three terms of the objective on host memory, each with its gradient written out:
//! what a CPU device runs when the encoder has a host twin, instead of building tensor
//! expressions for automatic differentiation (which cost as much as the encoder there).
//! They compute the same values as the tensor versions in the parent module (tested).
//!
//! Activations are planar `[C][h][w]`, as [`HostFeatures`]. Every function returns the
//! weighted loss and the gradient of the weighted loss. Per-channel sums are added in
//! channel order (not by rayon's reduction, whose order depends on scheduling), so the
//! same inputs give the same bits.

use rayon::prelude::*;

use crate::doodle::optimize::matching::PatchTargets;
use crate::encoder::HostFeatures;

/// `weight * mean((patch(activations) - targets[index])^2)` over every patch and value,
/// with `index` giving each image patch's style patch (row-major patch order).
pub(crate) fn style_loss(
    activations: &HostFeatures,
    targets: &PatchTargets,
    index: &[i64],
    weight: f32,
) -> (f64, Vec<f32>) {
    let (channels, height, width) = (activations.channels, activations.height, activations.width);
    assert_eq!(
        channels, targets.channels,
        "channels of the image and the style differ"
    );
    let columns = width - 2;
    assert_eq!(
        index.len(),
        (height - 2) * columns,
        "one match per image patch"
    );
    let scale = f64::from(weight) / (index.len() * channels * 9) as f64;
    let plane = height * width;
    let mut gradient = vec![0f32; activations.values.len()];
    let loss: f64 = gradient
        .par_chunks_mut(plane)
        .enumerate()
        .map(|(c, gradient)| {
            let values = &activations.values[c * plane..][..plane];
            let targets = &targets.values[c * targets.count * 9..][..targets.count * 9];
            let mut sum = 0f64;
            for (q, &chosen) in index.iter().enumerate() {
                let (y, x) = (q / columns, q % columns);
                let target = &targets[chosen as usize * 9..][..9];
                for dy in 0..3 {
                    let at = (y + dy) * width + x;
                    for dx in 0..3 {
                        let difference = values[at + dx] - target[dy * 3 + dx];
                        sum += f64::from(difference * difference);
                        gradient[at + dx] += (2.0 * scale) as f32 * difference;
                    }
                }
            }
            sum
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    (loss * scale, gradient)
}

/// `weight * mean((activations - target)^2)`.
pub(crate) fn content_loss(
    activations: &HostFeatures,
    target: &[f32],
    weight: f32,
) -> (f64, Vec<f32>) {
    assert_eq!(
        activations.values.len(),
        target.len(),
        "content sizes differ"
    );
    let scale = f64::from(weight) / target.len() as f64;
    let mut sum = 0f64;
    let gradient = activations
        .values
        .iter()
        .zip(target)
        .map(|(a, t)| {
            let difference = a - t;
            sum += f64::from(difference * difference);
            (2.0 * scale) as f32 * difference
        })
        .collect();
    (sum * scale, gradient)
}

/// `weight * mean(((x[i,j] - x[i+1,j])^2 + (x[i,j] - x[i,j+1])^2 + 1e-6)^1.25)` over
/// the three colour planes of planar pixels `[3][height][width]`, as the tensor version.
pub(crate) fn smoothness_loss(
    pixels: &[f32],
    height: usize,
    width: usize,
    weight: f32,
) -> (f64, Vec<f32>) {
    let plane = height * width;
    assert_eq!(pixels.len(), 3 * plane, "three colour planes");
    let mut gradient = vec![0f32; pixels.len()];
    if height < 2 || width < 2 {
        return (0.0, gradient);
    }
    let scale = f64::from(weight) / (3 * (height - 1) * (width - 1)) as f64;
    let loss: f64 = gradient
        .par_chunks_mut(plane)
        .zip(pixels.par_chunks(plane))
        .map(|(gradient, x)| {
            let mut sum = 0f64;
            for i in 0..height - 1 {
                for j in 0..width - 1 {
                    let here = i * width + j;
                    let down = x[here] - x[here + width];
                    let right = x[here] - x[here + 1];
                    let squared = f64::from(down * down + right * right) + 1e-6;
                    sum += squared.powf(1.25);
                    // d/ds s^1.25 = 1.25 s^0.25, and ds/dx = 2 (down, right) per neighbour.
                    let slope = (scale * 1.25 * squared.powf(0.25) * 2.0) as f32;
                    gradient[here] += slope * (down + right);
                    gradient[here + width] -= slope * down;
                    gradient[here + 1] -= slope * right;
                }
            }
            sum
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    (loss * scale, gradient)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Int, Tensor, TensorData};

    use super::*;
    use crate::DeviceKind;
    use crate::rng::SplitMix64;

    fn random(count: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..count).map(|_| rng.uniform() as f32 * scale).collect()
    }

    fn features(values: Vec<f32>, channels: usize, height: usize, width: usize) -> HostFeatures {
        HostFeatures {
            values,
            channels,
            height,
            width,
        }
    }

    /// The tensor version's value and autodiff gradient at `values`.
    fn by_tensors(
        shape: [usize; 4],
        values: &[f32],
        loss: impl Fn(Tensor<4>) -> Tensor<1>,
    ) -> (f64, Vec<f32>) {
        let device = DeviceKind::Cpu.open().unwrap().autodiff();
        let x =
            Tensor::<4>::from_data(TensorData::new(values.to_vec(), shape), &device).require_grad();
        let value = loss(x.clone());
        let gradient = x.grad(&value.clone().backward()).unwrap();
        (
            f64::from(value.into_scalar::<f32>()),
            gradient.try_into_vec_as::<f32>().unwrap(),
        )
    }

    fn assert_close(host: (f64, Vec<f32>), tensors: (f64, Vec<f32>)) {
        assert!(
            (host.0 - tensors.0).abs() <= 1e-4 * tensors.0.abs(),
            "loss {} vs {}",
            host.0,
            tensors.0
        );
        let scale = tensors.1.iter().fold(0f32, |m, g| m.max(g.abs()));
        for (i, (h, t)) in host.1.iter().zip(&tensors.1).enumerate() {
            assert!((h - t).abs() <= 1e-4 * scale, "gradient {i}: {h} vs {t}");
        }
    }

    #[test]
    fn style_loss_matches_the_tensor_version() {
        let device = DeviceKind::Cpu.open().unwrap().autodiff();
        let (channels, height, width) = (3, 6, 7);
        let style_values = random(channels * 5 * 8, 1, 5.0);
        let style = features(style_values.clone(), channels, 5, 8);
        let targets = PatchTargets::new(&style);
        let values = random(channels * height * width, 2, 5.0);
        let index: Vec<i64> = (0..20).map(|q| (q * 7 + 3) % 18).collect();
        let host = style_loss(
            &features(values.clone(), channels, height, width),
            &targets,
            &index,
            25.0,
        );
        let style_tensor =
            Tensor::<4>::from_data(TensorData::new(style_values, [1, channels, 5, 8]), &device);
        let target_rows = crate::doodle::optimize::matching::patches(style_tensor);
        let index_tensor = Tensor::<1, Int>::from_data(TensorData::new(index, [20]), &device);
        let tensors = by_tensors([1, channels, height, width], &values, |x| {
            super::super::style_loss(x, &target_rows, index_tensor.clone()) * 25.0
        });
        assert_close(host, tensors);
    }

    #[test]
    fn content_and_smoothness_match_the_tensor_versions() {
        let device = DeviceKind::Cpu.open().unwrap().autodiff();
        let shape = [1, 4, 5, 6];
        let values = random(120, 3, 10.0);
        let target = random(120, 4, 10.0);
        let target_tensor = Tensor::<4>::from_data(TensorData::new(target.clone(), shape), &device);
        assert_close(
            content_loss(&features(values.clone(), 4, 5, 6), &target, 10.0),
            by_tensors(shape, &values, |x| {
                super::super::content_loss(x, &target_tensor) * 10.0
            }),
        );
        let pixels = random(3 * 7 * 9, 5, 255.0);
        assert_close(
            smoothness_loss(&pixels, 7, 9, 2.0),
            by_tensors([1, 3, 7, 9], &pixels, |x| {
                super::super::smoothness_loss(x) * 2.0
            }),
        );
    }
}
