//! The built-in encoder: works out of the box, with no weights file.
//!
//! A trained VGG19 is the best-known feature space for style transfer, but it is an 80 MB
//! download that stylemark must not require. This encoder is built from what measurably
//! makes a weight-free encoder paint well (see `docs/ENCODERS.md`):
//!
//! 1. the image goes to an orthonormal opponent colour space (luminance, red-green,
//!    yellow-blue) and into an average pyramid (one level per VGG block, so layer
//!    `convB_*` sits at stride 2^(B-1) as in VGG19);
//! 2. each level is filtered on each colour channel by a fixed bank: even and odd Gabor
//!    filters (wavelength 4 px, sigma 2, four orientations), a difference of Gaussians
//!    and a 3x3 Laplacian (which makes pixel-level speckle visible), rectified in both signs;
//! 3. a layer pools the responses of the finer levels to its stride with overlapping
//!    windows (window 2k, stride k, which avoids a visible k-pixel grid), mixes them with a
//!    seeded random 1x1 convolution and a ReLU, and appends the mean colour at its stride;
//!    deeper layers of a block mix the previous one again;
//! 4. each layer is scaled to a fixed energy comparable to VGG19's at that depth, a
//!    quarter of it in the colour channels, so the default loss weights keep their balance.
//!
//! It costs about 1/30 of VGG19's operations. It paints colours and local texture well
//! but understands no objects: expect lower quality than a trained VGG19.

mod host;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, PadMode};
use burn::tensor::{Device, Tensor, TensorData};

use super::calibration::{calibration_image, rms, target_rms};
use super::{Encoder, Layer, check_layers, check_size};
use crate::Result;
use crate::rng::SplitMix64;

/// Filters per colour channel: 4 even + 4 odd Gabor, a difference of Gaussians and a
/// 3x3 Laplacian.
const FILTERS_PER_CHANNEL: usize = 10;
/// Rectified responses per pyramid level: 3 colours x 10 filters x 2 signs.
const RESPONSES: usize = 3 * FILTERS_PER_CHANNEL * 2;
const KERNEL_RADIUS: usize = 4;
const KERNEL_SIZE: usize = 2 * KERNEL_RADIUS + 1;
const GABOR_WAVELENGTH: f64 = 4.0;
const GABOR_SIGMA: f64 = 2.0;
/// Share of a layer's energy carried by its three colour channels.
const COLOUR_ENERGY_SHARE: f64 = 0.25;

/// Mixed (non-colour) channels of each block's layers.
fn mixed_channels(block: u8) -> usize {
    match block {
        1 => 64,
        2 | 3 => 128,
        _ => 256,
    }
}

/// One layer's random 1x1 mixing.
struct Mixer {
    weight: Tensor<4>,
}

/// One layer's calibrated scales: of its mixed channels and of its colour block.
#[derive(Debug, Clone, Copy)]
struct Scale {
    mixed: f32,
    colour: f32,
}

impl Scale {
    const UNIT: Scale = Scale {
        mixed: 1.0,
        colour: 1.0,
    };
}

/// The weight-free default encoder; docs/ENCODERS.md describes its design.
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder};
///
/// let device = DeviceKind::Cpu.open()?;
/// let encoder = BuiltinEncoder::new(0, with_burn::device(&device));
/// assert!(encoder.describe().starts_with("builtin"));
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Clone)]
pub struct BuiltinEncoder {
    inner: Arc<Inner>,
}

struct Inner {
    seed: u64,
    device: Device,
    opponent: Tensor<4>,
    filter_bank: Tensor<4>,
    mixers: HashMap<Layer, Mixer>,
    /// Calibrated the first time the encoder runs: patch synthesis, the default method,
    /// never does, and calibration costs most of a second on two cores.
    scales: OnceLock<HashMap<Layer, Scale>>,
    /// The host twin, built the first time it is asked for (`None` if the weights could
    /// not be read back from the device).
    host: OnceLock<Option<host::HostBuiltin>>,
}

impl std::fmt::Debug for BuiltinEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl BuiltinEncoder {
    /// Builds the encoder on `device`. The seed picks the random mixing; the same seed
    /// always gives the same encoder. The layer scales are calibrated on a fixed
    /// synthetic image the first time the encoder runs (under a second).
    pub fn new(seed: u64, device: &Device) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x5EED_B17E_E4C0_DE00);
        let mut mixers = HashMap::new();
        for layer in Layer::ALL {
            let inputs = mixer_inputs(layer);
            let outputs = mixed_channels(layer.block());
            mixers.insert(
                layer,
                Mixer {
                    weight: random_mixing(&mut rng, outputs, inputs, device),
                },
            );
        }
        let inner = Inner {
            seed,
            device: device.clone(),
            opponent: opponent_transform(device),
            filter_bank: filter_bank(device),
            mixers,
            scales: OnceLock::new(),
            host: OnceLock::new(),
        };
        BuiltinEncoder {
            inner: Arc::new(inner),
        }
    }

    /// The root-mean-square activation `layer` is calibrated to on natural-looking images.
    /// Deeper blocks get less, as VGG19's do, so the reference algorithm's default weights
    /// balance the same way with this encoder.
    ///
    /// ```
    /// use stylemark::burn_0_22::BuiltinEncoder;
    /// use stylemark::encoder::Layer;
    /// let shallow = BuiltinEncoder::calibrated_rms("conv1_1".parse::<Layer>().unwrap());
    /// let deep = BuiltinEncoder::calibrated_rms("conv4_1".parse::<Layer>().unwrap());
    /// assert!(shallow > deep);
    /// ```
    pub fn calibrated_rms(layer: Layer) -> f64 {
        target_rms(layer.block())
    }

    /// The seed this encoder was built with.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }
}

/// Input channels of a layer's mixing convolution.
fn mixer_inputs(layer: Layer) -> usize {
    match (layer.block(), layer.index()) {
        (1, 1) => RESPONSES + 3,
        (2, 1) => 2 * RESPONSES + 3,
        (3, 1) => 3 * RESPONSES + 3,
        (4, 1) => mixed_channels(3) + RESPONSES + 3,
        (5, 1) => mixed_channels(4) + RESPONSES + 3,
        (block, _) => mixed_channels(block),
    }
}

/// He-initialised 1x1 convolution weights: the ReLU output keeps the input's scale.
fn random_mixing(
    rng: &mut SplitMix64,
    outputs: usize,
    inputs: usize,
    device: &Device,
) -> Tensor<4> {
    let std = (2.0 / inputs as f64).sqrt();
    let values: Vec<f32> = (0..outputs * inputs)
        .map(|_| (rng.normal() * std) as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [outputs, inputs, 1, 1]), device)
}

/// RGB 0-255 to orthonormal opponent channels in [0, 1] units, as a 1x1 convolution.
fn opponent_transform(device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(opponent_weights(), [3, 3, 1, 1]), device)
}

/// The opponent transform's `[3][3]` weights, row-major (output by RGB input).
fn opponent_weights() -> Vec<f32> {
    let s3 = 3f32.sqrt();
    let s2 = 2f32.sqrt();
    let s6 = 6f32.sqrt();
    let rows = [
        [1.0 / s3, 1.0 / s3, 1.0 / s3],
        [1.0 / s2, -1.0 / s2, 0.0],
        [1.0 / s6, 1.0 / s6, -2.0 / s6],
    ];
    rows.iter().flatten().map(|v| v / 255.0).collect()
}

/// The fixed filters, applied to each colour channel separately (a grouped convolution).
fn filter_bank(device: &Device) -> Tensor<4> {
    let filters = bank_filters();
    let mut values = Vec::with_capacity(3 * filters.len() * KERNEL_SIZE * KERNEL_SIZE);
    for _channel in 0..3 {
        for filter in &filters {
            values.extend(filter.iter().map(|v| *v as f32));
        }
    }
    Tensor::from_data(
        TensorData::new(
            values,
            [3 * FILTERS_PER_CHANNEL, 1, KERNEL_SIZE, KERNEL_SIZE],
        ),
        device,
    )
}

/// Even and odd Gabor filters at four orientations and a difference of Gaussians, each
/// with zero mean and unit L2 norm.
fn bank_filters() -> Vec<Vec<f64>> {
    let r = KERNEL_RADIUS as isize;
    let coordinates: Vec<(f64, f64)> = (-r..=r)
        .flat_map(|y| (-r..=r).map(move |x| (x as f64, y as f64)))
        .collect();
    let gaussian = |x: f64, y: f64, sigma: f64| {
        (-(x * x + y * y) / (2.0 * sigma * sigma)).exp()
            / (2.0 * std::f64::consts::PI * sigma * sigma)
    };
    let mut filters: Vec<Vec<f64>> = Vec::new();
    for orientation in 0..4 {
        let theta = orientation as f64 * std::f64::consts::FRAC_PI_4;
        for phase in [0.0, std::f64::consts::FRAC_PI_2] {
            filters.push(
                coordinates
                    .iter()
                    .map(|&(x, y)| {
                        let along = x * theta.cos() + y * theta.sin();
                        gaussian(x, y, GABOR_SIGMA)
                            * (std::f64::consts::TAU * along / GABOR_WAVELENGTH + phase).cos()
                    })
                    .collect(),
            );
        }
    }
    filters.push(
        coordinates
            .iter()
            .map(|&(x, y)| gaussian(x, y, 1.0) - gaussian(x, y, 2.0))
            .collect(),
    );
    // The Gabor filters and the DoG barely respond above about 0.4 cycles per pixel, so
    // without this filter pixel-level speckle would cost nothing in feature space.
    filters.push(
        coordinates
            .iter()
            .map(|&(x, y)| match (x.abs() as u8, y.abs() as u8) {
                (0, 0) => -4.0,
                (1, 0) | (0, 1) => 1.0,
                _ => 0.0,
            })
            .collect(),
    );
    filters.iter_mut().for_each(|f| zero_mean_unit_norm(f));
    filters
}

fn zero_mean_unit_norm(filter: &mut [f64]) {
    let mean = filter.iter().sum::<f64>() / filter.len() as f64;
    filter.iter_mut().for_each(|v| *v -= mean);
    let norm = filter.iter().map(|v| v * v).sum::<f64>().sqrt();
    filter.iter_mut().for_each(|v| *v /= norm);
}

/// Average pooling to `factor` times the input stride, with windows twice as wide as the
/// step so neighbouring outputs overlap. Keeps VGG's `floor(size / factor)` output size.
fn overlapping_pool(x: Tensor<4>, factor: usize) -> Tensor<4> {
    let options = AvgPoolOptions::new([2 * factor, 2 * factor])
        .with_stride([factor, factor])
        .with_padding([factor / 2, factor / 2])
        .with_count_include_pad(false);
    avg_pool2d(x, options)
}

fn halve(x: Tensor<4>) -> Tensor<4> {
    avg_pool2d(x, AvgPoolOptions::new([2, 2]))
}

/// The intermediate results of one forward pass, computed on demand and shared by the
/// layers that need them.
struct Pass<'a> {
    encoder: &'a Inner,
    scales: &'a HashMap<Layer, Scale>,
    colour: Vec<Tensor<4>>,
    responses: Vec<Option<Tensor<4>>>,
    mixed: HashMap<Layer, Tensor<4>>,
}

impl<'a> Pass<'a> {
    fn new(
        encoder: &'a Inner,
        scales: &'a HashMap<Layer, Scale>,
        image: Tensor<4>,
        deepest_block: u8,
    ) -> Self {
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let mut colour = vec![conv2d(image, encoder.opponent.clone(), None, options)];
        for _ in 1..deepest_block {
            let next = halve(colour.last().expect("level 0 exists").clone());
            colour.push(next);
        }
        let levels = colour.len();
        Pass {
            encoder,
            scales,
            colour,
            responses: vec![None; levels],
            mixed: HashMap::new(),
        }
    }

    /// Rectified filter-bank responses of pyramid level `level` (stride 2^level).
    fn responses(&mut self, level: usize) -> Tensor<4> {
        if let Some(r) = &self.responses[level] {
            return r.clone();
        }
        let r = KERNEL_RADIUS;
        // Edge padding: zero padding would read as a black frame and excite every filter
        // along the border.
        let padded = self.colour[level]
            .clone()
            .pad([(r, r), (r, r)], PadMode::Edge);
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 3);
        let filtered = conv2d(padded, self.encoder.filter_bank.clone(), None, options);
        let rectified = Tensor::cat(vec![relu(filtered.clone()), relu(-filtered)], 1);
        self.responses[level] = Some(rectified.clone());
        rectified
    }

    /// The layer's mixed channels, before the colour block is appended.
    fn mixed(&mut self, layer: Layer) -> Tensor<4> {
        if let Some(m) = self.mixed.get(&layer) {
            return m.clone();
        }
        let block = layer.block() as usize;
        let level = block - 1;
        let inputs = if let Some(previous) = layer.previous_in_block() {
            vec![self.mixed(previous)]
        } else {
            let mut inputs = Vec::new();
            match block {
                1..=3 => {
                    for finer in 0..level {
                        let factor = 1 << (level - finer);
                        inputs.push(overlapping_pool(self.responses(finer), factor));
                    }
                }
                _ => {
                    let previous_block =
                        Layer::new(block as u8 - 1, 1).expect("blocks 3 and 4 exist");
                    inputs.push(overlapping_pool(self.mixed(previous_block), 2));
                }
            }
            inputs.push(self.responses(level));
            inputs.push(self.colour[level].clone());
            inputs
        };
        let mixer = &self.encoder.mixers[&layer];
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let mixed = relu(conv2d(
            Tensor::cat(inputs, 1),
            mixer.weight.clone(),
            None,
            options,
        )) * self.scales[&layer].mixed;
        self.mixed.insert(layer, mixed.clone());
        mixed
    }

    fn output(&mut self, layer: Layer) -> Tensor<4> {
        let mixed = self.mixed(layer);
        let colour = self.colour[layer.block() as usize - 1].clone() * self.scales[&layer].colour;
        Tensor::cat(vec![mixed, colour], 1)
    }
}

impl Inner {
    /// The host twin, from the same weights and calibrated scales.
    fn build_host(&self) -> Option<host::HostBuiltin> {
        let mut mixers = std::collections::BTreeMap::new();
        let scales = self.scales();
        for (layer, mixer) in &self.mixers {
            let weight = mixer.weight.clone().try_into_vec_as::<f32>().ok()?;
            mixers.insert(
                *layer,
                host::HostMixer {
                    weight,
                    scale: scales[layer].mixed,
                    colour_scale: scales[layer].colour,
                },
            );
        }
        Some(host::HostBuiltin {
            opponent: opponent_weights(),
            filters: bank_filters()
                .into_iter()
                .map(|f| f.into_iter().map(|v| v as f32).collect())
                .collect(),
            mixers,
        })
    }

    fn run(&self, image: Tensor<4>, layers: &[Layer], deepest: Layer) -> Vec<Tensor<4>> {
        let mut pass = Pass::new(self, self.scales(), image, deepest.block());
        layers.iter().map(|layer| pass.output(*layer)).collect()
    }

    /// Sets each layer's scales so its output has the target energy on a fixed synthetic
    /// image with natural-image statistics, shallow layers first (deeper ones depend on them).
    fn calibrate(&self) -> HashMap<Layer, Scale> {
        let image = calibration_image(&self.device);
        let mut scales: HashMap<Layer, Scale> =
            Layer::ALL.into_iter().map(|l| (l, Scale::UNIT)).collect();
        for layer in Layer::ALL {
            let (mixed, colour) = {
                let mut pass = Pass::new(self, &scales, image.clone(), layer.block());
                (
                    pass.mixed(layer),
                    pass.colour[layer.block() as usize - 1].clone(),
                )
            };
            let channels = mixed_channels(layer.block()) as f64;
            let total_energy = (channels + 3.0) * target_rms(layer.block()).powi(2);
            let scale = Scale {
                mixed: ((1.0 - COLOUR_ENERGY_SHARE) * total_energy / channels).sqrt() as f32
                    / rms(mixed).max(1e-6) as f32,
                colour: (COLOUR_ENERGY_SHARE * total_energy / 3.0).sqrt() as f32
                    / rms(colour).max(1e-6) as f32,
            };
            scales.insert(layer, scale);
        }
        scales
    }

    /// The calibrated scales, computed on first use.
    fn scales(&self) -> &HashMap<Layer, Scale> {
        self.scales.get_or_init(|| self.calibrate())
    }
}

impl Encoder for BuiltinEncoder {
    fn describe(&self) -> String {
        format!(
            "builtin (fixed Gabor pyramid + random mixing, seed {})",
            self.inner.seed
        )
    }

    fn channels(&self, layer: Layer) -> usize {
        mixed_channels(layer.block()) + 3
    }

    fn encode(&self, image: Tensor<4>, layers: &[Layer]) -> Result<Vec<Tensor<4>>> {
        let deepest = check_layers(layers, Layer::ALL[15], "the built-in encoder has layers")?;
        let [_, _, height, width] = image.dims();
        check_size(height, width, deepest)?;
        Ok(self.inner.run(image, layers, deepest))
    }

    /// The same steps on host memory with a hand-written backward pass; see
    /// [`HostEncoder`](super::HostEncoder).
    fn host(&self) -> Option<&dyn super::HostEncoder> {
        self.inner
            .host
            .get_or_init(|| self.inner.build_host())
            .as_ref()
            .map(|h| h as &dyn super::HostEncoder)
    }

    /// The twin is built from the device's weights, which a CPU device always gives back.
    fn has_host(&self) -> bool {
        self.inner.host.get().is_none_or(Option::is_some)
    }

    /// Measured 0.95 KB at 512x384 (docs/PERFORMANCE.md, "Memory per request").
    fn working_bytes_per_pixel(&self) -> u64 {
        1024
    }

    fn flops(&self, height: usize, width: usize, deepest: Layer) -> u64 {
        let (h, w) = (height as u64, width as u64);
        let mut total = 2 * 9 * h * w; // opponent transform
        for block in 1..=deepest.block() {
            let scale = 1u64 << (2 * (block - 1));
            let pixels = h * w / scale;
            // Grouped filter bank: 27 outputs, one input channel each.
            total += 2 * pixels * (3 * FILTERS_PER_CHANNEL * KERNEL_SIZE * KERNEL_SIZE) as u64;
        }
        for layer in Layer::ALL.into_iter().take_while(|l| *l <= deepest) {
            let pixels = h * w / (1u64 << (2 * (layer.block() - 1)));
            total += 2 * pixels * (mixer_inputs(layer) * mixed_channels(layer.block())) as u64;
        }
        total
    }
}
