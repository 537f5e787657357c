//! Where VGG19's time goes on `cpu`: burn's `conv2d` against the same 3x3 convolution
//! written as nine shifted slices and one matrix multiplication (im2col), forward and
//! backward to the input, at the sizes of VGG19's blocks for a 256 px image. Prints the
//! best of three runs per case and checks that both give the same values.
//!
//! ```sh
//! cargo run --release -p stylemark-benches --bin conv-probe
//! cargo run --release -p stylemark-benches --bin conv-probe -- mobilenet
//! ```
//!
//! With `mobilenet`: the depthwise 3x3 and pointwise 1x1 convolutions of a MobileNetV2
//! (an ONNX encoder's steps) at a 256 px input, burn's `conv2d` against the same as nine
//! shifted per-channel products (depthwise) or one matrix product (pointwise).
//!
//! Measured (docs/PERFORMANCE.md): `conv2d` is already the faster of the two, so the gap
//! to PyTorch is in burn's kernels, not in how stylemark calls them.

use std::time::Instant;

use stylemark::DeviceKind;
use stylemark::burn_0_22 as with_burn;
use stylemark::burn_0_22::burn::tensor::module::conv2d;
use stylemark::burn_0_22::burn::tensor::ops::{ConvOptions, PadMode};
use stylemark::burn_0_22::burn::tensor::{Distribution, Tensor};

/// A 3x3 convolution (stride 1, padding 1) as shifted slices and one matmul.
fn im2col_conv(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [out_channels, ..] = weight.dims();
    let padded = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let shifted: Vec<Tensor<4>> = (0..9)
        .map(|k| {
            let (dy, dx) = (k / 3, k % 3);
            padded.clone().slice([0..n, 0..c, dy..dy + h, dx..dx + w])
        })
        .collect();
    // Channel index (dy * 3 + dx) * c + input channel, matching the weight's permutation.
    let columns = Tensor::cat(shifted, 1).reshape([n, 9 * c, h * w]);
    let matrix = weight
        .permute([0, 2, 3, 1])
        .reshape([1, out_channels, 9 * c]);
    (matrix.matmul(columns) + bias.reshape([1, out_channels, 1])).reshape([n, out_channels, h, w])
}

fn direct_conv(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    conv2d(
        x,
        weight,
        Some(bias),
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    )
}

/// The gradient to the input of a 3x3 convolution (stride 1, padding 1), computed as a
/// forward convolution of the output's gradient with the flipped, transposed kernel.
fn input_gradient_by_conv(output_gradient: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
    let flipped = weight.flip([2, 3]).swap_dims(0, 1);
    conv2d(
        output_gradient,
        flipped,
        None,
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    )
}

fn best_of_three(mut run: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

/// The forward pass alone, and the backward pass written as a second forward
/// convolution, without autodiff.
fn forward_and_manual_backward(channels: usize, side: usize) -> Result<(), stylemark::Error> {
    let device = with_burn::device(&DeviceKind::Cpu.open()?).clone();
    let shape = [1, channels, side, side];
    let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let weight = Tensor::<4>::random(
        [channels, channels, 3, 3],
        Distribution::Normal(0.0, 0.05),
        &device,
    );
    let bias = Tensor::<1>::zeros([channels], &device);
    let gflop = 2.0 * (channels * channels * 9 * side * side) as f64 / 1e9;
    let forward = best_of_three(|| {
        let _: f32 = direct_conv(x.clone(), weight.clone(), bias.clone())
            .sum()
            .into_scalar();
    });
    let backward = best_of_three(|| {
        let _: f32 = input_gradient_by_conv(x.clone(), weight.clone())
            .sum()
            .into_scalar();
    });
    println!(
        "{channels}->{channels} channels at {side} px: forward alone {forward:.3} s ({:.0} GFLOP/s), \
         backward as a forward convolution {backward:.3} s ({:.0} GFLOP/s)",
        gflop / forward,
        gflop / backward
    );
    Ok(())
}

/// A depthwise 3x3 convolution (stride 1, padding 1) as nine shifted slices, each
/// multiplied by its per-channel weight.
fn shifted_depthwise(x: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let padded = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    (0..9)
        .map(|k| {
            let (dy, dx) = (k / 3, k % 3);
            let tap = weight.clone().slice([0..c, 0..1, dy..dy + 1, dx..dx + 1]);
            padded.clone().slice([0..n, 0..c, dy..dy + h, dx..dx + w]) * tap.reshape([1, c, 1, 1])
        })
        .reduce(|a, b| a + b)
        .expect("nine taps")
}

/// A 1x1 convolution as one matrix product.
fn pointwise_matmul(x: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [out_channels, ..] = weight.dims();
    weight
        .reshape([1, out_channels, c])
        .matmul(x.reshape([n, c, h * w]))
        .reshape([n, out_channels, h, w])
}

/// Forward and backward to the input of `conv`, best of three, in seconds, and its value.
fn timed(x: &Tensor<4>, conv: impl Fn(Tensor<4>) -> Tensor<4>) -> (f64, Tensor<4>) {
    let best = best_of_three(|| {
        let gradients = conv(x.clone()).sum().backward();
        let _: f32 = x
            .grad(&gradients)
            .expect("x requires a gradient")
            .sum()
            .into_scalar();
    });
    (best, conv(x.clone()))
}

/// MobileNetV2's convolutions for a 256 px input: depthwise 3x3 and the pointwise 1x1
/// projection (to a sixth of the channels).
fn mobilenet() -> Result<(), stylemark::Error> {
    let device = with_burn::autodiff_device(&DeviceKind::Cpu.open()?);
    for (channels, side) in [(96usize, 128usize), (144, 64), (192, 32), (384, 16)] {
        let x = Tensor::<4>::random(
            [1, channels, side, side],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .require_grad();
        let depthwise =
            Tensor::<4>::random([channels, 1, 3, 3], Distribution::Normal(0.0, 0.3), &device);
        let (burn, a) = timed(&x, |x| {
            conv2d(
                x,
                depthwise.clone(),
                None,
                ConvOptions::new([1, 1], [1, 1], [1, 1], channels),
            )
        });
        let (shifted, b) = timed(&x, |x| shifted_depthwise(x, depthwise.clone()));
        let gap: f32 = (a - b).abs().max().into_scalar();
        println!(
            "depthwise 3x3, {channels} channels at {side} px: conv2d {burn:.4} s, shifted {shifted:.4} s \
             (largest difference {gap:e})"
        );
        let pointwise = Tensor::<4>::random(
            [channels / 6, channels, 1, 1],
            Distribution::Normal(0.0, 0.1),
            &device,
        );
        let (burn, a) = timed(&x, |x| {
            conv2d(
                x,
                pointwise.clone(),
                None,
                ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
            )
        });
        let (matmul, b) = timed(&x, |x| pointwise_matmul(x, pointwise.clone()));
        let gap: f32 = (a - b).abs().max().into_scalar();
        println!(
            "pointwise 1x1, {channels} -> {} channels at {side} px: conv2d {burn:.4} s, matmul {matmul:.4} s \
             (largest difference {gap:e})",
            pointwise.dims()[0]
        );
    }
    Ok(())
}

fn main() -> Result<(), stylemark::Error> {
    if std::env::args().nth(1).as_deref() == Some("mobilenet") {
        return mobilenet();
    }
    let device = with_burn::autodiff_device(&DeviceKind::Cpu.open()?);
    type Conv = fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>;
    let ways: [(&str, Conv); 2] = [("conv2d", direct_conv), ("im2col", im2col_conv)];
    for (channels, side) in [(64usize, 256usize), (128, 128), (256, 64), (512, 32)] {
        let shape = [1, channels, side, side];
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let weight = Tensor::<4>::random(
            [channels, channels, 3, 3],
            Distribution::Normal(0.0, 0.05),
            &device,
        );
        let bias = Tensor::<1>::zeros([channels], &device);
        let difference: f32 = (direct_conv(x.clone(), weight.clone(), bias.clone())
            - im2col_conv(x.clone(), weight.clone(), bias.clone()))
        .abs()
        .max()
        .into_scalar();
        // Forward: 2 flops per multiply-add; backward to the input costs as much again.
        let gflop = 2.0 * 2.0 * (channels * channels * 9 * side * side) as f64 / 1e9;
        for (name, conv) in ways {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let started = Instant::now();
                let gradients = conv(x.clone(), weight.clone(), bias.clone())
                    .sum()
                    .backward();
                let input_gradient = x.grad(&gradients).expect("x requires a gradient");
                let _: f32 = input_gradient.sum().into_scalar();
                best = best.min(started.elapsed().as_secs_f64());
            }
            if name == "conv2d" {
                // The manual backward must give autodiff's gradient.
                let gradients = conv(x.clone(), weight.clone(), bias.clone())
                    .sum()
                    .backward();
                let autodiff = x.grad(&gradients).expect("x requires a gradient");
                let ones = Tensor::<4>::ones(shape, &device.clone().without_autodiff());
                let manual = input_gradient_by_conv(ones, weight.clone().inner());
                let gap: f32 = (autodiff - manual).abs().max().into_scalar();
                assert!(
                    gap < 1e-3,
                    "the manual backward differs from autodiff by {gap}"
                );
            }
            println!(
                "{channels}->{channels} channels at {side} px: {name:6} forward+backward {best:.3} s \
                 ({:.0} GFLOP/s; largest difference between the two {difference:e})",
                gflop / best
            );
        }
        forward_and_manual_backward(channels, side)?;
    }
    Ok(())
}
