//! The [`Encoder`] trait: what the style-transfer engine asks of a feature network. It
//! carries burn's tensors, so it is public as `stylemark::burn_0_22::Encoder`.

use burn::tensor::Tensor;

use super::{HostEncoder, Layer, LayerName};
use crate::{Error, Result};

/// A convolutional feature encoder with VGG19's layer names.
///
/// Implementations must be deterministic: the same input on the same device gives the
/// same activations.
pub trait Encoder: Send + Sync {
    /// A one-line description for reports and logs (name, options, weights source).
    fn describe(&self) -> String;

    /// The layer a caller's name stands for. By default stylemark's names (VGG19's) stand
    /// for themselves and no other name is known; an encoder read from a model file also
    /// knows the file's names.
    fn resolve(&self, name: &LayerName) -> Result<Layer> {
        match name {
            LayerName::Standard(layer) if layer.is_vgg19() => Ok(*layer),
            LayerName::Standard(layer) => Err(Error::option(
                "layers",
                format!("{} has only VGG19's layers, not {layer}", self.describe()),
            )),
            LayerName::File(name) => Err(Error::option(
                "layers",
                format!(
                    "`{name}` is not a layer of {}: its layers are conv1_1, conv1_2, conv2_1, \
                     conv2_2, conv3_1..conv3_4, conv4_1..conv4_4 and conv5_1..conv5_4 (a model \
                     file's own names apply to an ONNX encoder)",
                    self.describe()
                ),
            )),
        }
    }

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

    /// The same encoder with its activations and gradients on host memory, if it has one;
    /// the style-transfer engine prefers it on CPU devices. `None` by default.
    fn host(&self) -> Option<&dyn HostEncoder> {
        None
    }

    /// Whether [`host`](Self::host) gives a twin, answered without building it (building
    /// the built-in encoder's twin calibrates it, most of a second that a run which never
    /// encodes, patch synthesis without features, should not pay). By default it builds
    /// the twin and looks.
    fn has_host(&self) -> bool {
        self.host().is_some()
    }

    /// Peak bytes of memory per pixel of an optimiser's working canvas (the painting and
    /// the style at their working sizes): features, their gradients and the nearest-patch
    /// search, which [`Limits::check_request_memory`](crate::Limits::check_request_memory)
    /// counts before a run starts. By default 2048, above VGG19's measured 1.8 KB.
    fn working_bytes_per_pixel(&self) -> u64 {
        2048
    }
}
