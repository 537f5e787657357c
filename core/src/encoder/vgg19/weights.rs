//! Reading VGG19 convolution weights from safetensors and PyTorch files.
//!
//! Only the tensors of the layers asked for are read. A safetensors file is memory-mapped,
//! and a PyTorch checkpoint is read one tensor at a time, so the 550 MB of a full VGG19
//! checkpoint (mostly fully-connected layers) are never loaded.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use safetensors::SafeTensors;

use super::super::Layer;
use crate::{Error, Result};

/// Where VGG19 weights come from: a file, or bytes already in memory.
///
/// ```
/// use stylemark::encoder::WeightsSource;
///
/// let from_file = WeightsSource::from("vgg19-caffe.safetensors");
/// let from_bytes = WeightsSource::from(vec![0u8; 16]);
/// assert_eq!(from_file.to_string(), "vgg19-caffe.safetensors");
/// assert_eq!(from_bytes.to_string(), "the weights bytes");
/// ```
#[derive(Clone, PartialEq)]
pub enum WeightsSource {
    /// A `.safetensors` or PyTorch `.pth`/`.pt` file.
    File(PathBuf),
    /// The contents of such a file.
    Bytes(Arc<[u8]>),
}

impl fmt::Debug for WeightsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsSource::File(path) => f.debug_tuple("File").field(path).finish(),
            WeightsSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

impl fmt::Display for WeightsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsSource::File(path) => write!(f, "{}", path.display()),
            WeightsSource::Bytes(_) => f.write_str("the weights bytes"),
        }
    }
}

impl From<PathBuf> for WeightsSource {
    fn from(path: PathBuf) -> Self {
        WeightsSource::File(path)
    }
}

impl From<&Path> for WeightsSource {
    fn from(path: &Path) -> Self {
        WeightsSource::File(path.to_path_buf())
    }
}

impl From<&str> for WeightsSource {
    fn from(path: &str) -> Self {
        WeightsSource::File(PathBuf::from(path))
    }
}

impl From<Vec<u8>> for WeightsSource {
    fn from(bytes: Vec<u8>) -> Self {
        WeightsSource::Bytes(bytes.into())
    }
}

/// One convolution's parameters, as f32 in PyTorch layout: weight `[out, in, 3, 3]`, bias `[out]`.
pub(crate) struct ConvParameters {
    pub weight: Vec<f32>,
    pub weight_shape: [usize; 4],
    pub bias: Vec<f32>,
}

/// The index of each convolution in torchvision's `vgg19().features`.
const TORCHVISION_INDEX: [usize; 16] = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];

/// The safetensors metadata key the converter writes the input convention under.
const CONVENTION_METADATA_KEY: &str = "stylemark.convention";

/// Reads the parameters of every convolution up to `deepest`, plus the convention the file
/// declares (if any).
pub(crate) fn read_vgg19(
    source: &WeightsSource,
    deepest: Layer,
) -> Result<(Vec<ConvParameters>, Option<String>)> {
    let name = source.to_string();
    match source {
        WeightsSource::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::WeightsNotFound { path: path.clone() },
                _ => Error::io("cannot read the weights file", path, e),
            })?;
            let length = file
                .metadata()
                .map_err(|e| Error::io("cannot read the weights file", path, e))?
                .len();
            if length == 0 {
                return Err(unrecognized(&name, "the file is empty"));
            }
            // SAFETY: the map is read-only and lives only during this call. A concurrent
            // truncation of the file by another process could fault; that is the accepted
            // risk of memory-mapping, taken to avoid copying large files.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .map_err(|e| Error::io("cannot map the weights file", path, e))?;
            match detect(&map) {
                Container::Safetensors => read_from_safetensors(&map, &name, deepest),
                Container::Pytorch => read_from_pytorch_file(path, &name, deepest),
                Container::Unknown(detail) => Err(unrecognized(&name, &detail)),
            }
        }
        WeightsSource::Bytes(bytes) => match detect(bytes) {
            Container::Safetensors => read_from_safetensors(bytes, &name, deepest),
            Container::Pytorch => read_from_pytorch_bytes(bytes, &name, deepest),
            Container::Unknown(detail) => Err(unrecognized(&name, &detail)),
        },
    }
}

fn unrecognized(name: &str, detail: &str) -> Error {
    Error::UnrecognizedWeights {
        source_name: name.to_string(),
        detail: detail.to_string(),
    }
}

enum Container {
    Safetensors,
    Pytorch,
    Unknown(String),
}

/// Recognises the container from its first bytes.
fn detect(bytes: &[u8]) -> Container {
    if bytes.is_empty() {
        return Container::Unknown("it is empty".into());
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes[0] == 0x80 || is_tar(bytes) {
        return Container::Pytorch;
    }
    if bytes.len() > 9 {
        let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if bytes[8] == b'{' && header <= bytes.len() as u64 - 8 {
            return Container::Safetensors;
        }
    }
    let start = &bytes[..bytes.len().min(16)];
    let looks_like_text = start
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if looks_like_text && start.trim_ascii_start().starts_with(b"<") {
        return Container::Unknown(
            "it is an HTML or XML page; was the download redirected to a web page?".into(),
        );
    }
    let hex: Vec<String> = start.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Container::Unknown(format!("it starts with bytes {}", hex.join(" ")))
}

fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() > 262 && &bytes[257..262] == b"ustar"
}

/// A uniform view over the tensors of a file.
trait TensorFile {
    fn keys(&self) -> Vec<String>;
    fn shape(&self, key: &str) -> Option<Vec<usize>>;
    fn read_f32(&self, key: &str) -> Result<Vec<f32>>;
}

fn read_from_safetensors(
    bytes: &[u8],
    name: &str,
    deepest: Layer,
) -> Result<(Vec<ConvParameters>, Option<String>)> {
    let corrupt = |e: safetensors::SafeTensorError| Error::CorruptWeights {
        source_name: name.to_string(),
        detail: e.to_string(),
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
    let convention = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONVENTION_METADATA_KEY).cloned());
    let tensors = SafeTensors::deserialize(bytes).map_err(corrupt)?;
    let file = SafetensorsFile {
        tensors,
        name: name.to_string(),
    };
    Ok((read_layers(&file, name, deepest)?, convention))
}

struct SafetensorsFile<'a> {
    tensors: SafeTensors<'a>,
    name: String,
}

impl TensorFile for SafetensorsFile<'_> {
    fn keys(&self) -> Vec<String> {
        self.tensors.names().into_iter().map(String::from).collect()
    }

    fn shape(&self, key: &str) -> Option<Vec<usize>> {
        self.tensors.tensor(key).ok().map(|t| t.shape().to_vec())
    }

    fn read_f32(&self, key: &str) -> Result<Vec<f32>> {
        use safetensors::Dtype;
        let view = self
            .tensors
            .tensor(key)
            .map_err(|e| Error::CorruptWeights {
                source_name: self.name.clone(),
                detail: e.to_string(),
            })?;
        let element = match view.dtype() {
            Dtype::F32 => Element::F32,
            Dtype::F16 => Element::F16,
            Dtype::BF16 => Element::BF16,
            Dtype::F64 => Element::F64,
            other => return Err(wrong_dtype(&self.name, key, &format!("{other:?}"))),
        };
        // safetensors stores little-endian data.
        Ok(element.to_f32(view.data(), true))
    }
}

fn wrong_dtype(name: &str, key: &str, dtype: &str) -> Error {
    Error::WeightsDtype {
        source_name: name.to_string(),
        key: key.to_string(),
        dtype: dtype.to_lowercase(),
    }
}

#[derive(Clone, Copy)]
enum Element {
    F32,
    F16,
    BF16,
    F64,
}

impl Element {
    fn to_f32(self, bytes: &[u8], little_endian: bool) -> Vec<f32> {
        let convert_2 = |c: &[u8]| {
            let raw = [c[0], c[1]];
            if little_endian {
                u16::from_le_bytes(raw)
            } else {
                u16::from_ne_bytes(raw)
            }
        };
        match self {
            Element::F32 => bytes
                .chunks_exact(4)
                .map(|c| {
                    let raw = [c[0], c[1], c[2], c[3]];
                    if little_endian {
                        f32::from_le_bytes(raw)
                    } else {
                        f32::from_ne_bytes(raw)
                    }
                })
                .collect(),
            Element::F16 => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_bits(convert_2(c)).to_f32())
                .collect(),
            Element::BF16 => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_bits(convert_2(c)).to_f32())
                .collect(),
            Element::F64 => bytes
                .chunks_exact(8)
                .map(|c| {
                    let raw: [u8; 8] = c.try_into().expect("8 bytes");
                    let value = if little_endian {
                        f64::from_le_bytes(raw)
                    } else {
                        f64::from_ne_bytes(raw)
                    };
                    value as f32
                })
                .collect(),
        }
    }
}

fn read_from_pytorch_file(
    path: &Path,
    name: &str,
    deepest: Layer,
) -> Result<(Vec<ConvParameters>, Option<String>)> {
    let reader = pytorch_reader::PytorchReader::new(path).map_err(|e| Error::CorruptWeights {
        source_name: name.to_string(),
        detail: e.to_string(),
    })?;
    let file = PytorchFile {
        tensors: reader.into_tensors(),
        name: name.to_string(),
    };
    Ok((read_layers(&file, name, deepest)?, None))
}

/// PyTorch checkpoints keep their tensors in a container the reader opens by path, so bytes
/// are spilled to a private temporary file first (removed on return).
fn read_from_pytorch_bytes(
    bytes: &[u8],
    name: &str,
    deepest: Layer,
) -> Result<(Vec<ConvParameters>, Option<String>)> {
    let spill = TempFile::write(bytes)?;
    read_from_pytorch_file(&spill.path, name, deepest)
}

struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn write(bytes: &[u8]) -> Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "stylemark-weights-{}-{unique}.pth",
            std::process::id()
        ));
        std::fs::write(&path, bytes)
            .map_err(|e| Error::io("cannot write a temporary file", &path, e))?;
        Ok(TempFile { path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct PytorchFile {
    tensors: HashMap<String, pytorch_reader::Tensor>,
    name: String,
}

impl TensorFile for PytorchFile {
    fn keys(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    fn shape(&self, key: &str) -> Option<Vec<usize>> {
        self.tensors.get(key).map(|t| t.shape().to_vec())
    }

    fn read_f32(&self, key: &str) -> Result<Vec<f32>> {
        use pytorch_reader::DType;
        let tensor = self
            .tensors
            .get(key)
            .ok_or_else(|| Error::Internal(format!("{key} vanished")))?;
        let element = match tensor.dtype() {
            DType::F32 => Element::F32,
            DType::F16 => Element::F16,
            DType::BF16 => Element::BF16,
            DType::F64 => Element::F64,
            other => return Err(wrong_dtype(&self.name, key, &format!("{other:?}"))),
        };
        let bytes = tensor.read().map_err(|e| Error::CorruptWeights {
            source_name: self.name.clone(),
            detail: e.to_string(),
        })?;
        // The reader hands out native-endian bytes.
        Ok(element.to_f32(&bytes, false))
    }
}

/// The key layout of a file: an optional prefix (such as `model.`) and either torchvision's
/// `features.N` numbering or `convX_Y` names.
enum KeyLayout {
    Torchvision { prefix: String },
    Named { prefix: String },
}

impl KeyLayout {
    fn detect(keys: &[String]) -> Option<Self> {
        for key in keys {
            if let Some(prefix) = key.strip_suffix("features.0.weight") {
                return Some(KeyLayout::Torchvision {
                    prefix: prefix.to_string(),
                });
            }
            if let Some(prefix) = key.strip_suffix("conv1_1.weight") {
                return Some(KeyLayout::Named {
                    prefix: prefix.to_string(),
                });
            }
        }
        None
    }

    fn key(&self, layer: Layer, parameter: &str) -> String {
        match self {
            KeyLayout::Torchvision { prefix } => {
                format!(
                    "{prefix}features.{}.{parameter}",
                    TORCHVISION_INDEX[layer.vgg19_ordinal()]
                )
            }
            KeyLayout::Named { prefix } => format!("{prefix}{layer}.{parameter}"),
        }
    }
}

fn read_layers(file: &dyn TensorFile, name: &str, deepest: Layer) -> Result<Vec<ConvParameters>> {
    let mut keys = file.keys();
    keys.sort();
    let missing = |layer: Layer, tried: String| Error::MissingLayer {
        source_name: name.to_string(),
        layer: layer.to_string(),
        tried,
        found_count: keys.len(),
        examples: if keys.is_empty() {
            String::new()
        } else {
            format!(
                ", such as {}",
                keys.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
            )
        },
    };
    let first = Layer::ALL[0];
    let layout = KeyLayout::detect(&keys)
        .ok_or_else(|| missing(first, "`features.0.weight` and `conv1_1.weight`".into()))?;

    let mut layers = Vec::new();
    let mut in_channels = 3;
    for layer in Layer::ALL.into_iter().take_while(|l| *l <= deepest) {
        let out_channels = layer.vgg19_channels();
        let weight_key = layout.key(layer, "weight");
        let bias_key = layout.key(layer, "bias");
        let weight_shape = [out_channels, in_channels, 3, 3];
        for (key, expected) in [
            (&weight_key, weight_shape.to_vec()),
            (&bias_key, vec![out_channels]),
        ] {
            let found = file
                .shape(key)
                .ok_or_else(|| missing(layer, format!("`{key}`")))?;
            if found != expected {
                return Err(Error::WeightsShape {
                    source_name: name.to_string(),
                    key: key.clone(),
                    layer: layer.to_string(),
                    expected,
                    found,
                });
            }
        }
        layers.push(ConvParameters {
            weight: file.read_f32(&weight_key)?,
            weight_shape,
            bias: file.read_f32(&bias_key)?,
        });
        in_channels = out_channels;
    }
    Ok(layers)
}
