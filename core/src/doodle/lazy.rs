//! An engine opened on first use, for long-lived hosts (a C or Python process, an HTTP
//! function) that may never paint: a process that only watermarks never pays for a
//! neural network.

use std::sync::{Arc, Mutex};

use super::{EncoderSpec, Engine};
use crate::encoder::{InputConvention, OnnxEncoder, Vgg19, Vgg19Options, WeightsSource};
use crate::{DeviceKind, Error, Result};

/// Where the encoder of a [`LazyEngine`] comes from.
#[derive(Debug, Clone)]
pub enum EncoderSource {
    /// The built-in encoder or a weights file.
    Spec(EncoderSpec),
    /// An ONNX model in memory (the bytes of a `.onnx` file).
    OnnxBytes {
        /// The file's bytes.
        bytes: Arc<[u8]>,
        /// Input convention; `None` uses the one the file's metadata declares, else RGB
        /// in 0-1.
        convention: Option<InputConvention>,
    },
    /// VGG19 weights in memory (the bytes of a `.safetensors` or `.pth` file).
    Vgg19Bytes {
        /// The file's bytes.
        bytes: Arc<[u8]>,
        /// Input convention; `None` uses the one recorded in the file, else Caffe.
        convention: Option<InputConvention>,
    },
}

impl EncoderSource {
    /// The source the bindings' settings name: a model in memory when `weights` is given
    /// (an ONNX file, recognised by its first bytes, else VGG19 weights), otherwise
    /// `encoder` (`builtin`, a `.onnx` file's path or a weights file's path);
    /// `convention` applies to VGG19 and ONNX networks either way.
    ///
    /// ```
    /// use stylemark::doodle::{EncoderSource, EncoderSpec};
    /// let builtin = EncoderSource::new("builtin", None, None)?;
    /// assert!(matches!(builtin, EncoderSource::Spec(EncoderSpec::Builtin)));
    /// let in_memory = EncoderSource::new("ignored", Some(&b"weights"[..]), None)?;
    /// assert!(matches!(in_memory, EncoderSource::Vgg19Bytes { .. }));
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn new(
        encoder: &str,
        weights: Option<&[u8]>,
        convention: Option<InputConvention>,
    ) -> Result<Self> {
        if let Some(bytes) = weights {
            if looks_like_onnx(bytes) {
                return Ok(EncoderSource::OnnxBytes {
                    bytes: bytes.into(),
                    convention,
                });
            }
            return Ok(EncoderSource::Vgg19Bytes {
                bytes: bytes.into(),
                convention,
            });
        }
        let spec: EncoderSpec = encoder.parse()?;
        Ok(EncoderSource::Spec(spec.with_convention(convention)))
    }
}

/// A doodle [`Engine`] that is opened the first time [`get`](Self::get) is called, once,
/// even when threads race for it, and then shared. Creating one checks what can be
/// checked cheaply (a weights file exists); an engine that fails to open is tried again
/// on the next call.
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::doodle::{EncoderSource, EncoderSpec, LazyEngine};
///
/// let lazy = LazyEngine::new(DeviceKind::Cpu, EncoderSource::Spec(EncoderSpec::Builtin))?;
/// assert!(!lazy.is_open());
/// let missing = EncoderSource::Spec("no/such/vgg19.safetensors".parse()?);
/// assert!(LazyEngine::new(DeviceKind::Cpu, missing).is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug)]
pub struct LazyEngine {
    device: DeviceKind,
    encoder: EncoderSource,
    opened: Mutex<Option<Arc<Engine>>>,
}

impl LazyEngine {
    /// A lazy engine; fails now if `encoder` names a weights file that does not exist.
    pub fn new(device: DeviceKind, encoder: EncoderSource) -> Result<Self> {
        match &encoder {
            EncoderSource::Spec(EncoderSpec::Vgg19 { weights, .. }) if !weights.exists() => {
                return Err(Error::WeightsNotFound {
                    path: weights.clone(),
                });
            }
            EncoderSource::Spec(EncoderSpec::Onnx { model, .. }) if !model.exists() => {
                return Err(Error::option(
                    "encoder",
                    format!("there is no ONNX model at {}", model.display()),
                ));
            }
            _ => {}
        }
        Ok(LazyEngine {
            device,
            encoder,
            opened: Mutex::new(None),
        })
    }

    /// The device the engine runs (or will run) on.
    pub fn device(&self) -> DeviceKind {
        self.device
    }

    /// Whether the engine has been opened.
    pub fn is_open(&self) -> bool {
        self.slot().is_some()
    }

    /// The engine, opening it on the first call.
    pub fn get(&self) -> Result<Arc<Engine>> {
        let mut slot = self.slot();
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(self.open()?);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Engine>>> {
        // A panic while opening leaves `None` behind, which is safe to use.
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<Engine> {
        match &self.encoder {
            EncoderSource::Spec(spec) => Engine::new(self.device, spec.clone()),
            EncoderSource::OnnxBytes { bytes, convention } => {
                let device = self.device.open()?;
                let onnx = OnnxEncoder::from_bytes_with_input(bytes, *convention, &device)?;
                Ok(Engine::with_encoder(device, Box::new(onnx)))
            }
            EncoderSource::Vgg19Bytes { bytes, convention } => {
                let device = self.device.open()?;
                let options = Vgg19Options {
                    convention: *convention,
                    ..Vgg19Options::default()
                };
                let source = WeightsSource::from(bytes.to_vec());
                let vgg = Vgg19::load(source, options, &device.autodiff())?;
                Ok(Engine::with_encoder(device, Box::new(vgg)))
            }
        }
    }
}

/// An ONNX file is a protobuf `ModelProto` that starts with `ir_version` (field 1, a small
/// varint: bytes `0x08`, 1-30) followed by another field's tag. A safetensors file starts
/// with its header's length as a little-endian `u64` (zero bytes after the first two for
/// any real header) and then `{`; PyTorch files start with a zip or pickle header.
fn looks_like_onnx(bytes: &[u8]) -> bool {
    match bytes {
        [0x08, version, tag, ..] => {
            (1..=30).contains(version) && *tag != 0 && bytes.get(8) != Some(&b'{')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_onnx;

    #[test]
    fn onnx_bytes_are_told_from_weights() {
        // ir_version 8, then the producer name's tag.
        assert!(looks_like_onnx(b"\x08\x08\x12\x07pytorch"));
        // A safetensors file whose header is 264 bytes long also starts with 0x08.
        let mut safetensors = 264u64.to_le_bytes().to_vec();
        safetensors.extend_from_slice(b"{\"conv1_1.weight\":{}}");
        assert!(!looks_like_onnx(&safetensors));
        assert!(!looks_like_onnx(b"PK\x03\x04"));
        assert!(!looks_like_onnx(b""));
    }
}
