//! The three terms of the objective, as differentiable tensor expressions; [`host`] has
//! the same terms with hand-written gradients, for CPU devices.

pub(crate) mod host;

use burn::tensor::{Int, Tensor};

/// Mean squared difference between the 3x3 patches of `activations` (`[1, C, h, w]`)
/// and the style patches chosen for them (`targets[index]`, rows in the order of
/// [`patches`](super::matching::patches)).
///
/// Computed as nine shifted views of the activations against the matching parts of the
/// chosen patches rather than by extracting the image's patches: the same sum, but its
/// gradient is nine slices instead of a scatter through a patch index, which cost more
/// than the encoder's backward pass at 512 px.
pub(crate) fn style_loss(
    activations: Tensor<4>,
    targets: &Tensor<2>,
    index: Tensor<1, Int>,
) -> Tensor<1> {
    let [n, channels, height, width] = activations.dims();
    let (rows, columns) = (height - 2, width - 2);
    // The chosen patches as [dy, dx, C, rows, columns]: offset (dy, dx) of every patch.
    let matched = targets
        .clone()
        .select(0, index)
        .reshape([rows, columns, channels, 3, 3])
        .permute([3, 4, 2, 0, 1]);
    let mut total = Tensor::<1>::zeros([1], &activations.device());
    for dy in 0..3 {
        for dx in 0..3 {
            let shifted = activations
                .clone()
                .slice([0..n, 0..channels, dy..dy + rows, dx..dx + columns])
                .reshape([channels, rows, columns]);
            let target = matched
                .clone()
                .slice([dy..dy + 1, dx..dx + 1, 0..channels, 0..rows, 0..columns])
                .reshape([channels, rows, columns]);
            total = total + (shifted - target).powf_scalar(2.0).sum();
        }
    }
    total / (rows * columns * channels * 9) as f32
}

/// Mean squared difference of two activations.
pub(crate) fn content_loss(features: Tensor<4>, target: &Tensor<4>) -> Tensor<1> {
    (features - target.clone()).powf_scalar(2.0).mean()
}

/// Total variation with exponent 1.25, as the reference:
/// `mean(((x[i,j] - x[i+1,j])^2 + (x[i,j] - x[i,j+1])^2)^1.25)`, in pixel units.
pub(crate) fn smoothness_loss(image: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = image.dims();
    let here = image.clone().slice([0..n, 0..c, 0..h - 1, 0..w - 1]);
    let below = image.clone().slice([0..n, 0..c, 1..h, 0..w - 1]);
    let right = image.slice([0..n, 0..c, 0..h - 1, 1..w]);
    let squared = (here.clone() - below).powf_scalar(2.0) + (here - right).powf_scalar(2.0);
    // The tiny offset keeps the power's derivative finite where the image is flat.
    (squared + 1e-6).powf_scalar(1.25).mean()
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::DeviceKind;
    use crate::rng::SplitMix64;

    fn device() -> Device {
        DeviceKind::Cpu.open().unwrap().autodiff()
    }

    fn random(shape: [usize; 4], seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..shape.iter().product())
            .map(|_| rng.uniform() as f32 * scale)
            .collect()
    }

    /// Compares the autodiff gradient of `loss` at `values` with central differences on
    /// a sample of coordinates.
    fn check_gradient(
        shape: [usize; 4],
        values: Vec<f32>,
        step: f32,
        loss: impl Fn(Tensor<4>) -> Tensor<1>,
    ) {
        let device = device();
        let tensor = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, shape), &device);
        let x = tensor(values.clone()).require_grad();
        let gradient: Vec<f32> = x
            .grad(&loss(x.clone()).backward())
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        let at = |v: Vec<f32>| f64::from(loss(tensor(v)).into_scalar::<f32>());
        let scale = gradient.iter().fold(0f32, |m, g| m.max(g.abs())) as f64;
        for i in (0..values.len()).step_by(values.len() / 12 + 1) {
            let mut plus = values.clone();
            let mut minus = values.clone();
            plus[i] += step;
            minus[i] -= step;
            let numeric = (at(plus) - at(minus)) / (2.0 * f64::from(step));
            let difference = (numeric - f64::from(gradient[i])).abs();
            assert!(
                difference <= 2e-2 * scale + 1e-6,
                "coordinate {i}: autodiff {} vs numeric {numeric}",
                gradient[i]
            );
        }
    }

    #[test]
    fn smoothness_gradient_matches_finite_differences() {
        let shape = [1, 3, 6, 7];
        check_gradient(shape, random(shape, 1, 255.0), 0.05, smoothness_loss);
    }

    #[test]
    fn content_gradient_matches_finite_differences() {
        let shape = [1, 4, 5, 5];
        let target =
            Tensor::<4>::from_data(TensorData::new(random(shape, 2, 10.0), shape), &device());
        check_gradient(shape, random(shape, 3, 10.0), 0.01, |x| {
            content_loss(x, &target)
        });
    }

    #[test]
    fn style_gradient_matches_finite_differences() {
        // Patches of a [1, 2, 5, 5] activation against fixed chosen targets.
        let shape = [1, 2, 5, 5];
        let device = device();
        let targets = Tensor::<2>::from_data(
            TensorData::new(random([1, 1, 4, 18], 4, 5.0), [4, 18]),
            &device,
        );
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(vec![0i64, 3, 1, 1, 2, 0, 3, 2, 1], [9]),
            &device,
        );
        check_gradient(shape, random(shape, 5, 5.0), 0.01, |x| {
            style_loss(x, &targets, index.clone())
        });
    }

    #[test]
    fn style_loss_is_the_mean_squared_difference_of_the_patches() {
        let shape = [1, 3, 6, 7];
        let device = device();
        let x = Tensor::<4>::from_data(TensorData::new(random(shape, 7, 5.0), shape), &device);
        let targets = Tensor::<2>::from_data(
            TensorData::new(random([1, 1, 5, 27], 8, 5.0), [5, 27]),
            &device,
        );
        let index: Vec<i64> = (0..20).map(|i| (i * 7 + 3) % 5).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(index, [20]), &device);
        let by_patches = (super::super::matching::patches(x.clone())
            - targets.clone().select(0, index.clone()))
        .powf_scalar(2.0)
        .mean()
        .into_scalar::<f32>();
        let by_shifts = style_loss(x, &targets, index).into_scalar::<f32>();
        assert!(
            (by_patches - by_shifts).abs() <= 1e-5 * by_patches,
            "{by_patches} vs {by_shifts}"
        );
    }

    #[test]
    fn smoothness_is_zero_for_a_flat_image_and_grows_with_noise() {
        let device = device();
        let flat = Tensor::<4>::ones([1, 3, 8, 8], &device) * 100.0;
        let noisy = Tensor::<4>::from_data(
            TensorData::new(random([1, 3, 8, 8], 6, 255.0), [1, 3, 8, 8]),
            &device,
        );
        assert!(smoothness_loss(flat).into_scalar::<f32>() < 1e-4);
        assert!(smoothness_loss(noisy).into_scalar::<f32>() > 1000.0);
    }
}
