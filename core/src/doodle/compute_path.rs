//! How a doodle's evaluations run, chosen once when the engine is built.

use crate::DeviceKind;
use crate::encoder::Encoder;

/// Where a doodle's evaluations (the encoder, the losses, their gradients and the
/// nearest-patch search) run, decided once when the [`Engine`](super::Engine) is built.
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::doodle::{ComputePath, Engine};
/// use stylemark::encoder::EncoderSpec;
///
/// let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
/// assert_eq!(engine.compute_path(), ComputePath::Host);
/// let tensors = engine.with_compute_path(ComputePath::Tensors)?;
/// assert_eq!(tensors.compute_path(), ComputePath::Tensors);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputePath {
    /// On host memory with the losses' gradients and the fused patch search: CPU devices
    /// with an encoder that has a host twin (the built-in encoder and VGG19 with their own
    /// kernels, ONNX networks through autodiff). Several times faster there than the
    /// tensor path, with the same values.
    Host,
    /// burn tensors with automatic differentiation and batched matrix products on the
    /// run's device: GPUs, and CPUs for an encoder without a host twin.
    Tensors,
}

impl ComputePath {
    /// The path that suits `device` and `encoder`, and, when a CPU device must take the
    /// slower tensor path, why (for the run's report).
    pub(crate) fn choose(device: DeviceKind, encoder: &dyn Encoder) -> (Self, Option<String>) {
        match device {
            DeviceKind::Wgpu => (ComputePath::Tensors, None),
            DeviceKind::Cpu | DeviceKind::Ndarray if encoder.has_host() => {
                (ComputePath::Host, None)
            }
            DeviceKind::Cpu | DeviceKind::Ndarray => (
                ComputePath::Tensors,
                Some(format!(
                    "the encoder ({}) has no host twin, so this CPU run evaluates through burn's automatic differentiation, several times slower",
                    encoder.describe()
                )),
            ),
        }
    }

    /// The path's name (`host`, `tensors`), as reports give it.
    pub fn name(self) -> &'static str {
        match self {
            ComputePath::Host => "host",
            ComputePath::Tensors => "tensors",
        }
    }
}
