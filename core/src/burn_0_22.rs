//! The part of stylemark's API that carries [burn](https://burn.dev) 0.22's types, for
//! callers who bring their own encoder or work with tensors: the [`Encoder`] trait and its
//! host twin, the encoders as burn modules, a device's burn handle, and an engine around
//! an encoder of the caller's. Everything else in stylemark has no burn type, so its
//! version does not follow burn's; when stylemark moves to another burn, this module is
//! replaced by one named for it (a breaking change of these items only).
//!
//! ```
//! use stylemark::DeviceKind;
//! use stylemark::burn_0_22::burn::tensor::Tensor;
//! use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder};
//! use stylemark::encoder::Layer;
//!
//! let device = DeviceKind::Cpu.open()?;
//! let encoder = BuiltinEncoder::new(0, with_burn::device(&device));
//! let image = Tensor::<4>::ones([1, 3, 32, 32], with_burn::device(&device)) * 128.0;
//! let layers: Vec<Layer> = vec!["conv3_1".parse()?, "conv4_1".parse()?];
//! let features = encoder.encode(image, &layers)?;
//! assert_eq!(features[0].dims(), [1, encoder.channels(layers[0]), 8, 8]);
//! assert_eq!(features[1].dims()[2..], [4, 4]);
//! # Ok::<(), stylemark::Error>(())
//! ```

pub use burn;

pub use crate::encoder::api::Encoder;
pub use crate::encoder::builtin::BuiltinEncoder;
pub use crate::encoder::host::{HostEncoder, HostFeatures, HostImage, HostPass, HostTape};
pub use crate::encoder::vgg19::Vgg19;

use crate::ComputeDevice;
use crate::doodle::Engine;

/// The burn device behind `device`, for computations without gradients.
pub fn device(device: &ComputeDevice) -> &burn::tensor::Device {
    device.burn()
}

/// The burn device behind `device` with automatic differentiation, which encoders given
/// to [`engine_with_encoder`] are built on.
pub fn autodiff_device(device: &ComputeDevice) -> burn::tensor::Device {
    device.autodiff()
}

/// An engine around an encoder built by the caller on [`autodiff_device`].
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder};
///
/// let device = DeviceKind::Cpu.open()?;
/// let encoder = BuiltinEncoder::new(5, &with_burn::autodiff_device(&device));
/// let engine = with_burn::engine_with_encoder(device, Box::new(encoder));
/// assert!(engine.encoder_description().starts_with("builtin"));
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn engine_with_encoder(device: ComputeDevice, encoder: Box<dyn Encoder>) -> Engine {
    Engine::with_encoder(device, encoder)
}

/// The encoder `engine` runs through.
pub fn engine_encoder(engine: &Engine) -> &dyn Encoder {
    engine.encoder()
}
