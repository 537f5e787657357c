//! Feed-forward convolutional networks from ONNX files, run as burn tensor operations (so
//! the optimisation's automatic differentiation and every device work unchanged).
//!
//! The file is parsed by burn's `onnx-ir` (no code generation) and converted into a list
//! of steps ([`program`]): weights stored as int8 with DequantizeLinear are dequantised at
//! load, batch normalisations become a per-channel scale and shift, and an operator
//! stylemark does not run is an error naming it and its node. Activations stay in floating
//! point: a QuantizeLinear -> DequantizeLinear pair on an activation (QDQ form) is the
//! identity, so the features are smooth for the optimisation's gradients and agree with
//! onnxruntime running the same network with those pairs removed; against the quantised
//! network they differ by its rounding (a step of its int8 grid here and there).
//!
//! Layers keep stylemark's names: every feature map (the output of an activation, a
//! residual sum or a concatenation) at stride `2^(B-1)` is a `convB_I`. VGG19's names go
//! to maps spread from the first to the last at each stride (four, two at strides 1 and
//! 2), so the default layers (`conv3_1`, `conv4_1`, `conv4_2`) are the network's features
//! at strides 4 and 8; the other maps continue the numbering in the graph's order
//! (`conv4_5`...). A run may also name a layer by the file's node or output name
//! ([`LayerName`]). [`OnnxEncoder::layers`] lists them all
//! (`stylemark info --encoder model.onnx`). Outputs are cut to `H >> (B-1)` rows and
//! columns, the size the engine's maps are pooled to, and scaled to the energy every
//! encoder has at that depth on a fixed calibration image, so the default loss weights
//! balance as they do with VGG19.
//!
//! On a CPU the engine takes the host path with it ([`host`]): the network runs through
//! burn's autodiff, the losses and the patch search on host memory.

mod file;
mod host;
mod program;
mod run;

use std::path::Path;

use burn::tensor::{Device, Tensor};
use onnx_ir::OnnxGraphBuilder;

use super::calibration::{calibration_image, target_rms};
use super::input::Normalisation;
use super::{Encoder, InputConvention, Layer, LayerName, check_size};
use crate::{Error, Result};
use file::FileDetails;
use program::{Layout, Op, Program, Slot};

/// The largest ONNX file read (the networks this is for weigh a few megabytes; VGG19 in
/// float is 550 MB).
pub const MAX_MODEL_BYTES: usize = 1 << 30;
/// The blank image the network is probed with at load, `(height, width)`, to find each
/// feature map's stride and channels: multiples of every stride stylemark names (up to 16),
/// and not square, so a map whose axes are swapped is not taken for a layer.
const PROBE: (usize, usize) = (64, 96);
/// The range of a layer's calibrated scale: a layer nearly silent on the calibration image
/// but active on photos must not be blown up past what f32 losses can hold.
const MIN_SCALE: f64 = 1e-4;
const MAX_SCALE: f64 = 1e4;

/// One of the network's feature maps that a stylemark layer name stands for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OnnxLayer {
    /// The stylemark name (`conv3_1`).
    pub layer: Layer,
    /// The node that computes it, as `onnx-ir` names nodes (`clip12`: the operator in lower
    /// case and its ordinal in the file).
    pub node: String,
    /// That node's name in the file (empty when the file gives none).
    pub file_node: String,
    /// The name of that node's output in the file.
    pub file_output: String,
    /// Its ONNX operator (`Clip`, `Add`...).
    pub operator: String,
    /// Its channels.
    pub channels: usize,
    /// Input pixels per activation along each axis.
    pub stride: usize,
    /// The factor its values are multiplied by, so that their root-mean-square on the
    /// calibration image is the same as every encoder's at that depth (see `encode`).
    pub scale: f32,
}

/// A network from an ONNX file, as a style-transfer [`Encoder`].
///
/// ```no_run
/// use stylemark::encoder::OnnxEncoder;
///
/// let device = stylemark::DeviceKind::Cpu.open()?;
/// let encoder = OnnxEncoder::from_file("model.onnx".as_ref(), &device)?;
/// for layer in encoder.layers() {
///     println!("{} = {} ({} channels, stride {})", layer.layer, layer.node, layer.channels, layer.stride);
/// }
/// # Ok::<(), stylemark::Error>(())
/// ```
pub struct OnnxEncoder {
    program: Program,
    /// How the network takes its input, and where that was learnt.
    input: (InputConvention, InputOrigin),
    /// The autodiff device the network runs on.
    device: Device,
    layers: Vec<(OnnxLayer, Slot)>,
    /// Multiply-adds per input pixel up to each step (from the probe), for `flops`.
    cost_per_pixel: Vec<f64>,
    source: String,
}

/// Where an ONNX encoder's input convention comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputOrigin {
    /// The caller gave it (the weights format).
    Given,
    /// The file's metadata declares it (`Image.NominalPixelRange`, `Image.BitmapPixelFormat`).
    FileMetadata,
    /// Neither: RGB in 0-1, what networks exported from TensorFlow and PyTorch mostly take.
    Default,
}

impl InputOrigin {
    /// How it reads in a listing (`given`, `from the file's metadata`, `the default`).
    pub fn describe(self) -> &'static str {
        match self {
            InputOrigin::Given => "given",
            InputOrigin::FileMetadata => "from the file's metadata",
            InputOrigin::Default => "the default; the file declares none",
        }
    }
}

impl std::fmt::Debug for OnnxEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEncoder")
            .field("source", &self.source)
            .field("steps", &self.program.steps.len())
            .finish_non_exhaustive()
    }
}

impl OnnxEncoder {
    /// Loads the network in the ONNX file at `path` onto `device`'s autodiff device, with
    /// the input convention its metadata declares, else RGB in 0-1.
    pub fn from_file(path: &Path, device: &crate::ComputeDevice) -> Result<Self> {
        Self::from_file_with_input(path, None, device)
    }

    /// [`from_file`](Self::from_file) with the input convention given (`None`: the file's,
    /// else RGB in 0-1), for networks that take another range or a mean and deviation.
    pub fn from_file_with_input(
        path: &Path,
        input: Option<InputConvention>,
        device: &crate::ComputeDevice,
    ) -> Result<Self> {
        use std::io::Read;
        let cannot_read = |e: std::io::Error| {
            Error::option(
                "encoder",
                format!("cannot read the ONNX model {}: {e}", path.display()),
            )
        };
        // Read at most one byte past the limit: the size a file reports is not trusted.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(cannot_read)?
            .take(MAX_MODEL_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot_read)?;
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self::load(&bytes, name, input, &device.autodiff())
    }

    /// Loads a network from the bytes of an ONNX file onto `device`'s autodiff device, with
    /// the input convention its metadata declares, else RGB in 0-1.
    pub fn from_bytes(bytes: &[u8], device: &crate::ComputeDevice) -> Result<Self> {
        Self::from_bytes_with_input(bytes, None, device)
    }

    /// [`from_bytes`](Self::from_bytes) with the input convention given (`None`: the
    /// file's, else RGB in 0-1).
    pub fn from_bytes_with_input(
        bytes: &[u8],
        input: Option<InputConvention>,
        device: &crate::ComputeDevice,
    ) -> Result<Self> {
        Self::load(bytes, "weights bytes".into(), input, &device.autodiff())
    }

    /// The input convention the network is fed with, and where it comes from.
    pub fn input_convention(&self) -> (InputConvention, InputOrigin) {
        self.input
    }

    /// Every layer this network offers, in the order of the graph, with the nodes they
    /// stand for.
    pub fn layers(&self) -> impl Iterator<Item = &OnnxLayer> {
        self.layers.iter().map(|(layer, _)| layer)
    }

    /// The values of the nodes named `nodes` (as `onnx-ir` names them; `output` for the
    /// network's last step) for an RGB image, with their dimensions: for checking the
    /// program against other runtimes. The values are the network's own, not scaled.
    #[cfg(feature = "testing")]
    pub fn values_at(
        &self,
        image: &image::RgbImage,
        nodes: &[&str],
    ) -> Result<Vec<(Vec<f32>, [usize; 4])>> {
        let last = self
            .program
            .steps
            .last()
            .map_or(self.program.input, |s| s.output);
        let slots = nodes
            .iter()
            .map(|node| match *node {
                "output" => Ok(last),
                name => self
                    .program
                    .steps
                    .iter()
                    .find(|s| s.node == name)
                    .map(|s| s.output)
                    .ok_or_else(|| Error::option("node", format!("no node `{name}`"))),
            })
            .collect::<Result<Vec<_>>>()?;
        let tensor = crate::pixels::image_tensor(image, &self.device);
        run::run(&self.program, self.network_input(tensor), &slots)?
            .into_iter()
            .map(|value| {
                let dims = value.dims();
                Ok((crate::tensor::read_values(value)?, dims))
            })
            .collect()
    }

    pub(crate) fn load(
        bytes: &[u8],
        source: String,
        input: Option<InputConvention>,
        device: &Device,
    ) -> Result<Self> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        // The parser is not ours: a malformed file must be an error, never a panic.
        let parsed = std::panic::catch_unwind(|| OnnxGraphBuilder::new().parse_bytes(bytes));
        // A file that cannot be read at all is damaged weights (the C API's WEIGHTS status),
        // not a bad option.
        let unreadable = |detail: String| Error::CorruptWeights {
            source_name: source.clone(),
            detail: format!("it is not a readable ONNX model: {detail}"),
        };
        let graph = match parsed {
            Ok(Ok(graph)) => graph,
            Ok(Err(error)) => return Err(unreadable(error.to_string())),
            Err(panic) => {
                return Err(unreadable(format!(
                    "the parser stopped: {}",
                    crate::panic_message(panic.as_ref())
                )));
            }
        };
        let program = program::convert(&graph, device)?;
        // The weights are on the device now; the parsed file is not needed again.
        drop(graph);
        let details = FileDetails::read(bytes);
        let input = match input {
            Some(given) => {
                given.validate()?;
                (given, InputOrigin::Given)
            }
            None => match details.input_convention()? {
                Some(declared) => (declared, InputOrigin::FileMetadata),
                None => (InputConvention::Unit, InputOrigin::Default),
            },
        };
        let normalisation = input.0.normalisation();
        // A network whose shapes do not fit together fails here, as an error (every step
        // runs under the panic guard of `run`).
        let (mut layers, cost_per_pixel) = probe(&program, normalisation, device)?;
        if layers.is_empty() {
            return Err(Error::option(
                "encoder",
                format!("{source} has no feature maps at strides 1 to 16 that stylemark can use"),
            ));
        }
        calibrate(&program, normalisation, &mut layers, device)?;
        name_as_in_file(&details, &mut layers);
        Ok(OnnxEncoder {
            program,
            input,
            device: device.clone(),
            layers,
            cost_per_pixel,
            source,
        })
    }

    /// Where `layer` is computed, its stride and its scale.
    fn slot(&self, layer: Layer) -> Result<(Slot, usize, f32)> {
        self.layers
            .iter()
            .find(|(l, _)| l.layer == layer)
            .map(|(l, slot)| (*slot, l.stride, l.scale))
            .ok_or_else(|| {
                let names: Vec<String> = self.layers().map(|l| l.layer.to_string()).collect();
                Error::option(
                    "layers",
                    format!(
                        "this ONNX network has no layer {layer}; it has {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

impl OnnxEncoder {
    fn network_input(&self, image: Tensor<4>) -> Tensor<4> {
        network_input(&self.program, self.input.0.normalisation(), image)
    }
}

/// The network's input from stylemark's `[1, 3, H, W]` RGB in 0-255: normalised as the
/// network expects, in the layout the file declares.
fn network_input(program: &Program, normalisation: Normalisation, image: Tensor<4>) -> Tensor<4> {
    let x = normalisation.tensor(image);
    match program.layout {
        Layout::Channels => x,
        Layout::Pixels => x.permute([0, 2, 3, 1]),
    }
}

/// Fills in the file's own names of the layers' nodes and outputs (only `onnx-ir`'s
/// names when the file could not be read again).
fn name_as_in_file(details: &FileDetails, layers: &mut [(OnnxLayer, Slot)]) {
    for (layer, _) in layers {
        if let Some(node) = details.nodes.get(&layer.node)
            && node.operator == layer.operator
        {
            layer.file_node = node.name.clone();
            layer.file_output = node.output.clone();
        }
    }
}

/// Sets each layer's scale so that its root-mean-square value on the calibration image is
/// the target of its block, as the built-in encoder's are: the reference's default loss
/// weights are balanced for VGG19's activations (hundreds), a MobileNet's are clipped to
/// 0-6, and without this the optimisation barely moves (measured in docs/ENCODERS.md).
/// A layer that stays silent on the image keeps a scale of 1.
fn calibrate(
    program: &Program,
    normalisation: Normalisation,
    layers: &mut [(OnnxLayer, Slot)],
    device: &Device,
) -> Result<()> {
    let image = network_input(program, normalisation, calibration_image(device));
    let slots: Vec<Slot> = layers.iter().map(|(_, slot)| *slot).collect();
    let values = run::run(program, image, &slots)?;
    for ((layer, _), value) in layers.iter_mut().zip(values) {
        // Read back as a Result (no panic from a device here) and summed in f64.
        let values = crate::tensor::read_values(value)?;
        let energy: f64 = values.iter().map(|v| f64::from(*v).powi(2)).sum();
        let measured = (energy / values.len().max(1) as f64).sqrt();
        if measured.is_finite() && measured > 1e-6 {
            let scale = target_rms(layer.layer.block()) / measured;
            layer.scale = scale.clamp(MIN_SCALE, MAX_SCALE) as f32;
        }
    }
    Ok(())
}

fn too_large(size: u64) -> Error {
    Error::LimitExceeded {
        what: "the size of the ONNX model in bytes",
        amount: size,
        limit: MAX_MODEL_BYTES as u64,
        fix: "use a smaller network",
    }
}

/// The named layers with their slots, and the multiply-adds per input pixel up to each step.
type Probed = (Vec<(OnnxLayer, Slot)>, Vec<f64>);

/// Runs the program on a blank image to find every feature map's channels and stride,
/// names them, and measures the multiply-adds per input pixel up to each step.
fn probe(program: &Program, normalisation: Normalisation, device: &Device) -> Result<Probed> {
    let (probe_height, probe_width) = PROBE;
    let blank = Tensor::<4>::zeros([1, 3, probe_height, probe_width], device);
    let input = network_input(program, normalisation, blank);
    let all: Vec<Slot> = program.steps.iter().map(|s| s.output).collect();
    let values = run::run(program, input, &all)?;
    let mut by_stride: Vec<Vec<(usize, usize)>> = vec![Vec::new(); 5];
    let mut cost = Vec::with_capacity(values.len());
    let mut total = 0f64;
    for (index, (step, value)) in program.steps.iter().zip(&values).enumerate() {
        let [_, channels, height, width] = value.dims();
        if let Op::Conv { weight, .. } = &step.op {
            let [_, per_group, kh, kw] = weight.dims();
            total += (channels * per_group * kh * kw * height * width) as f64;
        }
        cost.push(total / (probe_height * probe_width) as f64);
        let is_feature = matches!(
            step.operator,
            "Relu" | "Clip" | "LeakyRelu" | "Sigmoid" | "Add" | "Concat"
        );
        // Padding may leave a row or column more than `side / stride`.
        let stride_along = |side: usize, size: usize| {
            let stride = (side as f64 / size.max(1) as f64).round() as usize;
            (size > 0 && stride > 0 && size >= side / stride).then_some(stride)
        };
        let strides = (
            stride_along(probe_height, height),
            stride_along(probe_width, width),
        );
        let (Some(stride), Some(across)) = strides else {
            continue;
        };
        if !is_feature || stride != across {
            continue;
        }
        if stride.is_power_of_two() && stride.trailing_zeros() < 5 {
            by_stride[stride.trailing_zeros() as usize].push((index, channels));
        }
    }
    let mut layers = Vec::new();
    for (block, maps) in by_stride.iter().enumerate() {
        // VGG19's names go to maps spread over the stride, the others continue the
        // numbering in the order of the graph.
        let room = if block < 2 { 2 } else { 4 };
        let picked = spread(&(0..maps.len()).collect::<Vec<_>>(), room);
        let others = (0..maps.len()).filter(|i| !picked.contains(i));
        for (i, map) in picked.iter().copied().chain(others).enumerate() {
            let (index, channels) = maps[map];
            let step = &program.steps[index];
            let Some(layer) = u8::try_from(i + 1)
                .ok()
                .and_then(|number| Layer::numbered(block as u8 + 1, number))
            else {
                break; // more than 255 maps at one stride: the rest are not offered
            };
            layers.push((
                index,
                OnnxLayer {
                    layer,
                    node: step.node.clone(),
                    operator: step.operator.to_string(),
                    channels,
                    stride: 1 << block,
                    file_node: String::new(),
                    file_output: String::new(),
                    scale: 1.0,
                },
                step.output,
            ));
        }
    }
    // Listed in the order of the graph, shallowest first.
    layers.sort_by_key(|(index, ..)| *index);
    let layers = layers
        .into_iter()
        .map(|(_, layer, slot)| (layer, slot))
        .collect();
    Ok((layers, cost))
}

/// Up to `room` items of `items`, spread evenly from the first to the last.
fn spread<T: Copy>(items: &[T], room: usize) -> Vec<T> {
    if items.len() <= room {
        return items.to_vec();
    }
    (0..room)
        .map(|i| items[(i * (items.len() - 1) + (room - 1) / 2) / (room - 1)])
        .collect()
}

impl Encoder for OnnxEncoder {
    fn describe(&self) -> String {
        let first = self.layers.first().map(|(l, _)| l.layer.to_string());
        let last = self.layers.last().map(|(l, _)| l.layer.to_string());
        format!(
            "onnx ({}, {} steps, {} layers {}..{}, input {})",
            self.source,
            self.program.steps.len(),
            self.layers.len(),
            first.unwrap_or_default(),
            last.unwrap_or_default(),
            self.input.0
        )
    }

    /// Stylemark's names (`conv4_2`, and the numbering past VGG19's, `conv4_5`), then the
    /// file's node and output names, then `onnx-ir`'s node names (`clip12`).
    fn resolve(&self, name: &LayerName) -> Result<Layer> {
        let text = name.to_string();
        if text.is_empty() {
            return Err(Error::option("layers", "a layer name is empty"));
        }
        let found = self
            .layers()
            .find(|l| l.layer.to_string() == text)
            .or_else(|| {
                self.layers()
                    .find(|l| l.file_node == text || l.file_output == text)
            })
            .or_else(|| self.layers().find(|l| l.node == text));
        found.map(|l| l.layer).ok_or_else(|| {
            Error::option(
                "layers",
                format!(
                    "{} has no layer `{text}`; `stylemark info --encoder` lists its layers with \
                     the file's node and output names ({} in all, {} to {})",
                    self.source,
                    self.layers.len(),
                    self.layers
                        .first()
                        .map_or(String::new(), |(l, _)| l.layer.to_string()),
                    self.layers
                        .last()
                        .map_or(String::new(), |(l, _)| l.layer.to_string()),
                ),
            )
        })
    }

    fn channels(&self, layer: Layer) -> usize {
        self.layers()
            .find(|l| l.layer == layer)
            .map_or(0, |l| l.channels)
    }

    fn encode(&self, image: Tensor<4>, layers: &[Layer]) -> Result<Vec<Tensor<4>>> {
        let deepest = Layer::deepest(layers)
            .ok_or_else(|| Error::Internal("an encoder was asked for no layers".into()))?;
        let [_, _, height, width] = image.dims();
        check_size(height, width, deepest)?;
        let wanted = layers
            .iter()
            .map(|l| self.slot(*l))
            .collect::<Result<Vec<_>>>()?;
        let slots: Vec<Slot> = wanted.iter().map(|(slot, ..)| *slot).collect();
        let outputs = run::run(&self.program, self.network_input(image), &slots)?;
        outputs
            .into_iter()
            .zip(&wanted)
            .map(|(x, (_, stride, scale))| {
                let (h, w) = (height / stride, width / stride);
                let [_, channels, oh, ow] = x.dims();
                if oh < h || ow < w {
                    return Err(Error::option(
                        "encoder",
                        format!(
                            "the ONNX model's feature map is {ow}x{oh} for a {width}x{height} image, \
                             smaller than the {w}x{h} its stride implies"
                        ),
                    ));
                }
                Ok(x.slice([0..1, 0..channels, 0..h, 0..w]) * *scale)
            })
            .collect()
    }

    /// The network through burn's autodiff, with its activations and gradients on the
    /// host, so a CPU run's losses and patch search take the host path (see `host.rs`).
    fn host(&self) -> Option<&dyn super::HostEncoder> {
        Some(self)
    }

    /// Up to the last map of `deepest`'s stride that is a layer: the numbering past
    /// VGG19's is not in the graph's order, so `deepest` may not be the last one a run needs.
    fn flops(&self, height: usize, width: usize, deepest: Layer) -> u64 {
        let last = self
            .layers
            .iter()
            .filter(|(l, _)| l.layer.block() == deepest.block())
            .filter_map(|(_, slot)| self.program.steps.iter().position(|s| s.output == *slot))
            .max();
        let per_pixel = last
            .and_then(|index| self.cost_per_pixel.get(index))
            .copied()
            .unwrap_or(0.0);
        (2.0 * per_pixel * (height * width) as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_the_first_and_the_last() {
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(spread(&items, 4), vec![0, 3, 6, 9]);
        assert_eq!(spread(&items, 2), vec![0, 9]);
        assert_eq!(spread(&items[..3], 4), vec![0, 1, 2]);
    }
}
