//! The three terms of the objective, as differentiable tensor expressions.

use burn::tensor::{Int, Tensor};

/// Mean squared difference between the image's patches `[Q, D]` and the style patches
/// chosen for them (`targets[index]`).
pub(crate) fn style_loss(
    image_patches: Tensor<2>,
    targets: &Tensor<2>,
    index: Tensor<1, Int>,
) -> Tensor<1> {
    let matched = targets.clone().select(0, index);
    (image_patches - matched).powf_scalar(2.0).mean()
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
