//! Feature encoders: the convolutional networks style transfer optimises through.
//!
//! Every encoder answers the same question: given an image, the activations of named
//! layers (`conv1_1` ... `conv5_4`, after the ReLU), so the style-transfer engine does not
//! care which network it runs on. Three are provided, chosen with [`EncoderSpec`]:
//!
//! - the built-in encoder: no file needed, deterministic, cheap (a fixed filter bank with
//!   seeded random mixing). The default; lower quality than a trained VGG19.
//! - VGG19: the trained network of the reference algorithm, loaded from a `.safetensors`
//!   or PyTorch file that the caller provides ([`Vgg19Options`], [`WeightsSource`]);
//! - a feed-forward convolutional network from an ONNX file ([`OnnxEncoder`]).
//!
//! This module holds what has no burn types: layer names, the VGG19 options and input
//! conventions. The encoders themselves and the `Encoder` trait, which work on burn's
//! tensors, are in [`burn_0_22`](crate::burn_0_22).
//!
//! ```
//! use stylemark::encoder::{Layer, parse_layers};
//!
//! let layers = parse_layers("3_1,conv4_1")?;
//! assert_eq!(layers, [Layer::new(3, 1)?, Layer::new(4, 1)?]);
//! assert_eq!(layers[1].stride(), 8);
//! # Ok::<(), stylemark::Error>(())
//! ```

pub(crate) mod api;
pub(crate) mod builtin;
mod calibration;
pub(crate) mod host;
pub(crate) mod input;
mod layer;
pub(crate) mod onnx;
mod spec;
pub(crate) mod vgg19;

pub(crate) use api::Encoder;
pub(crate) use builtin::BuiltinEncoder;
pub(crate) use host::{HostEncoder, HostFeatures, HostImage};
pub use input::InputConvention;
pub use layer::{Layer, LayerName, MAX_LAYER_NAME_BYTES, parse_layer_names, parse_layers};
pub use onnx::{InputOrigin, MAX_MODEL_BYTES, OnnxEncoder, OnnxLayer};
pub use spec::EncoderSpec;
pub(crate) use vgg19::Vgg19;
pub use vgg19::{Pooling, Vgg19Options, WeightsSource, vgg19_flops};

use crate::{Error, Result};

/// Checks a layer request against the deepest layer an encoder has; returns the deepest asked.
/// Only VGG19's layers pass: the encoders that call this number theirs as VGG19 does.
fn check_layers(layers: &[Layer], available: Layer, context: &str) -> Result<Layer> {
    if let Some(other) = layers.iter().find(|l| !l.is_vgg19()) {
        return Err(Error::option(
            "layers",
            format!(
                "layer {other} was requested, but this encoder has only VGG19's layers, \
                 conv1_1 to conv5_4"
            ),
        ));
    }
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
