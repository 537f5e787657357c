//! Which encoder to run, from a name, a file or bytes in memory: the one description every
//! entry point (CLI, Python, C, the HTTP function) turns its settings into.

use std::path::PathBuf;
use std::sync::Arc;

use super::{
    BuiltinEncoder, Encoder, InputConvention, OnnxEncoder, Pooling, Vgg19, Vgg19Options,
    WeightsSource,
};
use crate::{ComputeDevice, Error, Result};

/// Which encoder a [`Session`](crate::Session) or an [`Engine`](crate::doodle::Engine)
/// runs through.
///
/// ```
/// use stylemark::encoder::EncoderSpec;
/// let spec: EncoderSpec = "builtin".parse()?;
/// assert_eq!(spec, EncoderSpec::Builtin);
/// let vgg: EncoderSpec = "weights/vgg19-caffe.safetensors".parse()?;
/// assert!(matches!(vgg, EncoderSpec::Vgg19 { .. }));
/// let onnx: EncoderSpec = "models/mobilenet.onnx".parse()?;
/// assert!(matches!(onnx, EncoderSpec::Onnx { .. }));
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EncoderSpec {
    /// The weight-free built-in encoder: always available, no file.
    #[default]
    Builtin,
    /// A VGG19 from a weights file or its bytes (`.safetensors` or `.pth`).
    Vgg19 {
        /// Where the weights are.
        weights: WeightsSource,
        /// Input convention; `None` uses the one recorded in the file, else Caffe.
        convention: Option<InputConvention>,
        /// Pooling between blocks.
        pooling: Pooling,
    },
    /// A feed-forward convolutional network from an ONNX file or its bytes (see
    /// [`OnnxEncoder`]).
    Onnx {
        /// Where the model is.
        model: WeightsSource,
        /// How the network takes its input; `None` uses what the file's metadata
        /// declares, else RGB in 0-1.
        convention: Option<InputConvention>,
    },
}

impl EncoderSpec {
    /// The ONNX model at `model`, fed as its metadata declares (else RGB in 0-1).
    pub fn onnx(model: impl Into<PathBuf>) -> Self {
        EncoderSpec::Onnx {
            model: WeightsSource::File(model.into()),
            convention: None,
        }
    }

    /// The encoder the bindings' settings name: a model in memory when `weights` is given
    /// (an ONNX file, recognised by its first bytes, else VGG19 weights), otherwise
    /// `encoder` (`builtin`, a `.onnx` file's path or a weights file's path);
    /// `convention` applies to VGG19 and ONNX networks either way.
    ///
    /// ```
    /// use stylemark::encoder::EncoderSpec;
    /// let builtin = EncoderSpec::from_settings("builtin", None, None)?;
    /// assert_eq!(builtin, EncoderSpec::Builtin);
    /// let in_memory = EncoderSpec::from_settings("ignored", Some(&b"weights"[..]), None)?;
    /// assert!(matches!(in_memory, EncoderSpec::Vgg19 { .. }));
    /// assert_eq!(in_memory.describe(), "vgg19 (from bytes)");
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn from_settings(
        encoder: &str,
        weights: Option<&[u8]>,
        convention: Option<InputConvention>,
    ) -> Result<Self> {
        let spec = match weights {
            Some(bytes) if looks_like_onnx(bytes) => EncoderSpec::Onnx {
                model: WeightsSource::Bytes(Arc::from(bytes)),
                convention: None,
            },
            Some(bytes) => EncoderSpec::Vgg19 {
                weights: WeightsSource::Bytes(Arc::from(bytes)),
                convention: None,
                pooling: Pooling::Average,
            },
            None => encoder.parse()?,
        };
        Ok(spec.with_convention(convention))
    }

    /// The same encoder fed with `convention` when it is a network from a file (VGG19 or
    /// ONNX; `None` leaves the file's own); the built-in encoder has none.
    ///
    /// ```
    /// use stylemark::encoder::{EncoderSpec, InputConvention};
    /// let spec: EncoderSpec = "model.onnx".parse()?;
    /// let spec = spec.with_convention(Some(InputConvention::Symmetric));
    /// assert!(matches!(spec, EncoderSpec::Onnx { convention: Some(InputConvention::Symmetric), .. }));
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn with_convention(mut self, convention: Option<InputConvention>) -> Self {
        match &mut self {
            EncoderSpec::Vgg19 {
                convention: slot, ..
            }
            | EncoderSpec::Onnx {
                convention: slot, ..
            } => *slot = convention,
            EncoderSpec::Builtin => {}
        }
        self
    }

    /// A short description for reports and `repr`s: `builtin`, the file's path, or
    /// `vgg19 (from bytes)` / `onnx (from bytes)`.
    pub fn describe(&self) -> String {
        match self {
            EncoderSpec::Builtin => "builtin".into(),
            EncoderSpec::Vgg19 {
                weights: WeightsSource::Bytes(_),
                ..
            } => "vgg19 (from bytes)".into(),
            EncoderSpec::Onnx {
                model: WeightsSource::Bytes(_),
                ..
            } => "onnx (from bytes)".into(),
            EncoderSpec::Vgg19 { weights: file, .. } | EncoderSpec::Onnx { model: file, .. } => {
                file.to_string()
            }
        }
    }

    /// Checks what can be checked without reading the network: that a named file exists.
    ///
    /// ```
    /// use stylemark::encoder::EncoderSpec;
    /// assert!(EncoderSpec::Builtin.check_exists().is_ok());
    /// let missing: EncoderSpec = "no/such/vgg19.safetensors".parse()?;
    /// assert!(missing.check_exists().is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn check_exists(&self) -> Result<()> {
        match self {
            EncoderSpec::Vgg19 {
                weights: WeightsSource::File(path),
                ..
            } if !path.exists() => Err(Error::WeightsNotFound { path: path.clone() }),
            EncoderSpec::Onnx {
                model: WeightsSource::File(path),
                ..
            } if !path.exists() => Err(Error::option(
                "encoder",
                format!("there is no ONNX model at {}", path.display()),
            )),
            _ => Ok(()),
        }
    }

    /// Builds the encoder on `device` (its autodiff device): reads the weights or the
    /// model, or makes the built-in filters.
    pub(crate) fn open(&self, device: &ComputeDevice) -> Result<Box<dyn Encoder>> {
        let autodiff = device.autodiff();
        Ok(match self {
            EncoderSpec::Builtin => Box::new(BuiltinEncoder::new(0, &autodiff)),
            EncoderSpec::Vgg19 {
                weights,
                convention,
                pooling,
            } => {
                let options = Vgg19Options {
                    convention: *convention,
                    pooling: *pooling,
                    ..Vgg19Options::default()
                };
                Box::new(Vgg19::load(weights.clone(), options, &autodiff)?)
            }
            EncoderSpec::Onnx {
                model: WeightsSource::File(path),
                convention,
            } => Box::new(OnnxEncoder::from_file_with_input(
                path,
                *convention,
                device,
            )?),
            EncoderSpec::Onnx {
                model: WeightsSource::Bytes(bytes),
                convention,
            } => Box::new(OnnxEncoder::from_bytes_with_input(
                bytes,
                *convention,
                device,
            )?),
        })
    }
}

impl std::str::FromStr for EncoderSpec {
    type Err = Error;

    /// `builtin`, the path of an ONNX model (`.onnx`), or the path of VGG19 weights.
    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "" => Err(Error::option(
                "encoder",
                "use `builtin` or the path of a VGG19 weights file",
            )),
            "builtin" => Ok(EncoderSpec::Builtin),
            path if path.to_ascii_lowercase().ends_with(".onnx") => Ok(EncoderSpec::onnx(path)),
            path => Ok(EncoderSpec::Vgg19 {
                weights: WeightsSource::File(path.into()),
                convention: None,
                pooling: Pooling::Average,
            }),
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
