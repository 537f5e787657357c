//! The ONNX encoder's host twin: the network itself still runs as burn tensors through
//! automatic differentiation, but its activations come back to host memory, so that on a
//! CPU the engine's losses, their gradients and the fused nearest-patch search run on the
//! host path (`ComputePath::Host`), as they do for the built-in encoders.
//!
//! Measured (docs/ENCODERS.md, dev build): on MobileNetV2 painting a 256x366 photo, the
//! tensor path spent 81 of 95 s in its batched patch search and 14 s in the network; the
//! tensor path's search was the slow part, not burn's convolutions, so the network keeps
//! them.

use burn::tensor::{Tensor, TensorData};

use super::OnnxEncoder;
use crate::encoder::host::{HostPass, HostTape};
use crate::encoder::{Encoder, HostEncoder, HostFeatures, HostImage, Layer};
use crate::{Error, Result};

impl HostEncoder for OnnxEncoder {
    fn forward<'a>(&'a self, image: HostImage<'_>, layers: &[Layer]) -> Result<HostPass<'a>> {
        image.check()?;
        let data = TensorData::new(image.pixels.to_vec(), [1, 3, image.height, image.width]);
        let pixels = Tensor::<4>::from_data(data, &self.device).require_grad();
        let features = self.encode(pixels.clone(), layers)?;
        let on_host = features
            .iter()
            .map(|value| {
                let [_, channels, height, width] = value.dims();
                Ok(HostFeatures {
                    values: crate::tensor::read_values(value.clone())?,
                    channels,
                    height,
                    width,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HostPass::new(on_host, Box::new(Tape { pixels, features })))
    }
}

/// The forward pass's graph: the image it started from and the activations it gave.
struct Tape {
    pixels: Tensor<4>,
    features: Vec<Tensor<4>>,
}

impl HostTape for Tape {
    /// The gradient of `sum(activations * gradients)` at the pixels: by the chain rule,
    /// the image gradient of any loss whose gradients at the layers are `gradients`.
    fn backward(self: Box<Self>, gradients: Vec<Option<Vec<f32>>>) -> Result<Vec<f32>> {
        let Tape { pixels, features } = *self;
        let [_, _, height, width] = pixels.dims();
        let mut total: Option<Tensor<1>> = None;
        for (value, gradient) in features.into_iter().zip(gradients) {
            let Some(gradient) = gradient else { continue };
            let weights =
                Tensor::<4>::from_data(TensorData::new(gradient, value.dims()), &value.device());
            let term = (value * weights).sum();
            total = Some(match total {
                Some(sum) => sum + term,
                None => term,
            });
        }
        let Some(total) = total else {
            return Ok(vec![0.0; 3 * height * width]);
        };
        // The forward steps ran under run()'s guard; their backward passes are burn's.
        let gradient = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pixels.grad(&total.backward())
        }))
        .map_err(|panic| {
            Error::Internal(format!(
                "the ONNX network's backward pass stopped: {}",
                crate::panic_message(panic.as_ref())
            ))
        })?;
        // No gradient reaches the pixels when the layers do not depend on them.
        match gradient {
            Some(gradient) => crate::tensor::read_values(gradient),
            None => Ok(vec![0.0; 3 * height * width]),
        }
    }
}
