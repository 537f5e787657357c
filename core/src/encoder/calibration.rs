//! What makes every encoder's activations comparable: a fixed synthetic image with natural
//! image statistics and the activation energy each block is scaled to on it.
//!
//! The reference algorithm's default loss weights (content 10, style 25, smoothness 1) are
//! balanced for VGG19's activations. An encoder whose activations have another scale (the
//! built-in filter bank, a MobileNet clipped to 0-6) is scaled, layer by layer, so that its
//! root-mean-square activation on [`calibration_image`] is [`target_rms`] of its block:
//! then the same weights balance the same way on every encoder.

use burn::tensor::{Device, Tensor, TensorData};

use crate::rng::SplitMix64;

/// Target RMS per channel of each block's output, chosen so that the reference algorithm's
/// default weights (content 10, style 25, smoothness 1) balance as they do with VGG19.
pub(crate) fn target_rms(block: u8) -> f64 {
    match block {
        1 => 960.0,
        2 => 800.0,
        3 => 640.0,
        4 => 480.0,
        _ => 320.0,
    }
}

/// A deterministic 128x128 image with a natural-image-like spectrum (octaves of smooth
/// noise with 1/f amplitude) and correlated colour channels.
pub(crate) fn calibration_image(device: &Device) -> Tensor<4> {
    const SIZE: usize = 128;
    let mut rng = SplitMix64::new(0xCA11_B8A7_E000_0001);
    let mut luminance = vec![0f64; SIZE * SIZE];
    let mut chroma = [vec![0f64; SIZE * SIZE], vec![0f64; SIZE * SIZE]];
    let mut cell = 64;
    while cell >= 1 {
        let amplitude = cell as f64 / 64.0;
        for plane in std::iter::once(&mut luminance).chain(chroma.iter_mut()) {
            add_value_noise(plane, SIZE, cell, amplitude, &mut rng);
        }
        cell /= 2;
    }
    let mut values = vec![0f32; 3 * SIZE * SIZE];
    for i in 0..SIZE * SIZE {
        let (l, a, b) = (luminance[i], chroma[0][i] * 0.5, chroma[1][i] * 0.5);
        let rgb = [l + a + b, l - a + b, l - 2.0 * b];
        for (c, v) in rgb.iter().enumerate() {
            values[c * SIZE * SIZE + i] = (128.0 + 60.0 * v).clamp(0.0, 255.0) as f32;
        }
    }
    Tensor::from_data(TensorData::new(values, [1, 3, SIZE, SIZE]), device)
}

/// Adds bilinearly interpolated random values on a grid of `cell` pixels.
fn add_value_noise(
    plane: &mut [f64],
    size: usize,
    cell: usize,
    amplitude: f64,
    rng: &mut SplitMix64,
) {
    let grid = size / cell + 2;
    let knots: Vec<f64> = (0..grid * grid).map(|_| rng.normal()).collect();
    for y in 0..size {
        for x in 0..size {
            let (gx, gy) = (x as f64 / cell as f64, y as f64 / cell as f64);
            let (x0, y0) = (gx.floor() as usize, gy.floor() as usize);
            let (fx, fy) = (gx - x0 as f64, gy - y0 as f64);
            let at = |i: usize, j: usize| knots[j * grid + i];
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            plane[y * size + x] += amplitude * (top * (1.0 - fy) + bottom * fy);
        }
    }
}

/// The root-mean-square value of a tensor.
pub(crate) fn rms(x: Tensor<4>) -> f64 {
    f64::from(x.powf_scalar(2.0).mean().into_scalar::<f32>()).sqrt()
}
