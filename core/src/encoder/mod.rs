//! Feature encoders: the convolutional networks style transfer optimises through.
//!
//! Every encoder implements [`Encoder`]: given an image, the activations of named layers
//! (`conv1_1` ... `conv5_4`, after the ReLU), so the style-transfer engine does not care
//! which network it runs on. Two are provided:
//!
//! - [`BuiltinEncoder`]: no file needed, deterministic, cheap (a fixed filter bank with
//!   seeded random mixing). The default; lower quality than a trained VGG19.
//! - [`Vgg19`]: the trained network of the reference algorithm, loaded from a
//!   `.safetensors` or PyTorch file that the caller provides.
//!
//! ```
//! use stylemark::{DeviceKind, encoder::{BuiltinEncoder, Encoder, Layer}};
//! use stylemark::burn::tensor::Tensor;
//!
//! let device = DeviceKind::Cpu.open()?;
//! let encoder = BuiltinEncoder::new(0, device.burn());
//! let image = Tensor::<4>::ones([1, 3, 32, 32], device.burn()) * 128.0;
//! let layers: Vec<Layer> = vec!["conv3_1".parse()?, "conv4_1".parse()?];
//! let features = encoder.encode(image, &layers)?;
//! assert_eq!(features[0].dims(), [1, encoder.channels(layers[0]), 8, 8]);
//! assert_eq!(features[1].dims()[2..], [4, 4]);
//! # Ok::<(), stylemark::Error>(())
//! ```

mod builtin;
mod host;
mod layer;
mod vgg19;

use burn::tensor::Tensor;

pub use builtin::BuiltinEncoder;
pub use host::{HostEncoder, HostFeatures, HostImage, HostPass, HostTape};
pub use layer::{Layer, parse_layers};
pub use vgg19::{InputConvention, Pooling, Vgg19, Vgg19Options, WeightsSource, vgg19_flops};

use crate::{Error, Result};

/// A convolutional feature encoder with VGG19's layer names.
///
/// Implementations must be deterministic: the same input on the same device gives the
/// same activations.
pub trait Encoder: Send + Sync {
    /// A one-line description for reports and logs (name, options, weights source).
    fn describe(&self) -> String;

    /// The number of channels of a layer's activations.
    fn channels(&self, layer: Layer) -> usize;

    /// The activations of `layers` (in that order) for `image`.
    ///
    /// `image` is `[N, 3, H, W]`, RGB, values 0-255, on the device the encoder was created
    /// on. Layer `convB_*` comes out at `H / 2^(B-1)` by `W / 2^(B-1)` (rounded down at
    /// each halving). Gradients flow back to `image` when it is tracked by autodiff.
    fn encode(&self, image: Tensor<4>, layers: &[Layer]) -> Result<Vec<Tensor<4>>>;

    /// Floating-point operations of one forward pass up to `deepest` at `height x width`
    /// (a multiply-add counts as two).
    fn flops(&self, height: usize, width: usize, deepest: Layer) -> u64;

    /// The same encoder on host memory with a hand-written backward pass, if it has one;
    /// the style-transfer engine prefers it on CPU devices. `None` by default.
    fn host(&self) -> Option<&dyn HostEncoder> {
        None
    }
}

/// Checks a layer request against the deepest layer an encoder has; returns the deepest asked.
fn check_layers(layers: &[Layer], available: Layer, context: &str) -> Result<Layer> {
    let deepest = Layer::deepest(layers)
        .ok_or_else(|| Error::Internal("an encoder was asked for no layers".into()))?;
    if deepest > available {
        return Err(Error::option(
            "layers",
            format!("layer {deepest} was requested but {context} only up to {available}"),
        ));
    }
    Ok(deepest)
}

/// Checks that an image is large enough to reach `deepest` (at least 1x1 after pooling).
fn check_size(height: usize, width: usize, deepest: Layer) -> Result<()> {
    let stride = deepest.stride();
    if height < stride || width < stride {
        return Err(Error::option(
            "size",
            format!(
                "a {width}x{height} image is too small to reach layer {deepest}, which needs at least \
                 {stride}x{stride} pixels; use a larger image or shallower layers"
            ),
        ));
    }
    Ok(())
}
