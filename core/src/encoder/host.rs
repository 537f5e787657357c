//! Encoders that also run on host memory: their activations in, their gradients out.
//!
//! On a CPU device, generic tensor convolutions and automatic differentiation leave much
//! of the machine unused. An encoder that implements [`HostEncoder`] is run by the
//! style-transfer engine on CPU devices with the losses and the patch search on the host:
//! VGG19 and the built-in encoder through their own kernels with hand-written backward
//! passes, an ONNX network through burn's autodiff with its values handed over. The
//! forward pass keeps what the backward pass needs, and the backward pass turns the
//! losses' gradients at the encoder's layers into the gradient at the image. The results
//! agree with [`Encoder::encode`](super::Encoder::encode) up to rounding.
//!
//! ```
//! use stylemark::DeviceKind;
//! use stylemark::burn_0_22::{self as with_burn, Encoder, HostImage, Vgg19};
//! use stylemark::encoder::{Layer, Vgg19Options};
//!
//! let device = DeviceKind::Cpu.open()?;
//! let vgg = Vgg19::random(1, Vgg19Options::default(), with_burn::device(&device));
//! let host = vgg.host().expect("VGG19 runs on the host");
//! let pixels = vec![128.0; 3 * 16 * 16];
//! let layers: Vec<Layer> = vec!["conv2_1".parse()?];
//! let pass = host.forward(HostImage { pixels: &pixels, height: 16, width: 16 }, &layers)?;
//! assert_eq!(pass.features()[0].channels, 128);
//! let gradient = pass.features()[0].values.iter().map(|_| 1.0).collect();
//! let image_gradient = pass.backward(vec![Some(gradient)])?;
//! assert_eq!(image_gradient.len(), pixels.len());
//! # Ok::<(), stylemark::Error>(())
//! ```

use super::Layer;
use crate::Result;

/// An image in host memory: planar RGB `[3][height][width]`, values 0-255.
#[derive(Debug, Clone, Copy)]
pub struct HostImage<'a> {
    /// The pixel values, channel by channel.
    pub pixels: &'a [f32],
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl HostImage<'_> {
    /// Fails unless there are three planes of `height x width` values.
    pub(crate) fn check(&self) -> Result<()> {
        if self.pixels.len() == 3 * self.height * self.width {
            return Ok(());
        }
        Err(crate::Error::option(
            "pixels",
            format!(
                "{} values cannot be a {}x{} RGB image, which has {}",
                self.pixels.len(),
                self.width,
                self.height,
                3 * self.height * self.width
            ),
        ))
    }
}

/// One layer's activations in host memory, planar `[channels][height][width]` (the
/// layout of a `[1, C, h, w]` tensor).
#[derive(Debug, Clone, PartialEq)]
pub struct HostFeatures {
    /// The values, channel by channel.
    pub values: Vec<f32>,
    /// Channels.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// What a forward pass kept for its backward pass.
pub trait HostTape {
    /// The gradient at the image's pixels (planar RGB, as [`HostImage`]) from the
    /// gradients at the requested layers (planar, as [`HostFeatures`]; `None` for a layer
    /// whose gradient is zero).
    fn backward(self: Box<Self>, gradients: Vec<Option<Vec<f32>>>) -> Result<Vec<f32>>;
}

/// One forward pass of a [`HostEncoder`]: the activations, and the way back. It borrows
/// the encoder (whose weights the backward pass needs).
pub struct HostPass<'a> {
    features: Vec<HostFeatures>,
    tape: Box<dyn HostTape + 'a>,
}

impl std::fmt::Debug for HostPass<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPass")
            .field("layers", &self.features.len())
            .finish()
    }
}

impl<'a> HostPass<'a> {
    /// A pass from its activations (one per requested layer, in the request's order) and
    /// its tape.
    pub fn new(features: Vec<HostFeatures>, tape: Box<dyn HostTape + 'a>) -> Self {
        HostPass { features, tape }
    }

    /// The activations of the requested layers, in the request's order.
    pub fn features(&self) -> &[HostFeatures] {
        &self.features
    }

    /// The gradient at the image from one gradient per requested layer (`None` for zero).
    ///
    /// Fails if the number of gradients or a gradient's size does not match the layers.
    pub fn backward(self, gradients: Vec<Option<Vec<f32>>>) -> Result<Vec<f32>> {
        if gradients.len() != self.features.len() {
            return Err(crate::Error::Internal(format!(
                "{} gradients for {} layers",
                gradients.len(),
                self.features.len()
            )));
        }
        for (gradient, features) in gradients.iter().zip(&self.features) {
            if let Some(gradient) = gradient
                && gradient.len() != features.values.len()
            {
                return Err(crate::Error::Internal(format!(
                    "a gradient of {} values for a layer of {}",
                    gradient.len(),
                    features.values.len()
                )));
            }
        }
        self.tape.backward(gradients)
    }
}

/// An encoder whose activations and gradients live on host memory, with a backward pass of
/// its own (docs/ENCODERS.md has why and how).
pub trait HostEncoder: Send + Sync {
    /// Runs the encoder on `image`, keeping what [`HostPass::backward`] needs.
    ///
    /// Fails as [`Encoder::encode`](super::Encoder::encode) does: for layers the encoder
    /// lacks, or an image too small to reach them.
    fn forward<'a>(&'a self, image: HostImage<'_>, layers: &[Layer]) -> Result<HostPass<'a>>;
}
