//! VGG19, the network the reference algorithm was designed around, from a weights file.

mod host;
mod weights;

use std::sync::OnceLock;

use std::fmt;
use std::str::FromStr;

use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

pub use weights::WeightsSource;

use super::{Encoder, InputConvention, Layer, check_layers, check_size};
use crate::{Error, Result};

/// The 2x2 pooling between VGG19's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average pooling, as the reference style-transfer algorithms use: smoother
    /// gradients and fewer artefacts. The default.
    #[default]
    Average,
    /// Max pooling, as the network was trained.
    Max,
}

impl FromStr for Pooling {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "average" | "avg" | "mean" => Ok(Pooling::Average),
            "max" => Ok(Pooling::Max),
            _ => Err(Error::option(
                "pooling",
                format!("`{name}` is not a pooling; use average or max"),
            )),
        }
    }
}

/// Options for loading a [`Vgg19`].
///
/// ```
/// use stylemark::encoder::{Vgg19Options, InputConvention, Layer};
///
/// let options = Vgg19Options {
///     convention: Some(InputConvention::Torchvision),
///     deepest_layer: "conv4_2".parse::<Layer>()?,
///     ..Vgg19Options::default()
/// };
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vgg19Options {
    /// The input convention. `None` takes the one recorded in the file by
    /// `scripts/convert-vgg19`, or [`InputConvention::Caffe`] when the file records none.
    pub convention: Option<InputConvention>,
    /// Pooling between blocks.
    pub pooling: Pooling,
    /// The deepest layer to load; deeper layers are neither read nor kept in memory.
    /// Default `conv5_1`, which covers every layer the style-transfer defaults and most
    /// variations use.
    pub deepest_layer: Layer,
}

impl Default for Vgg19Options {
    fn default() -> Self {
        Vgg19Options {
            convention: None,
            pooling: Pooling::Average,
            deepest_layer: Layer::ALL[12],
        }
    }
}

struct Convolution {
    weight: Tensor<4>,
    bias: Tensor<1>,
}

/// A VGG19 feature encoder with weights from a file.
///
/// ```no_run
/// use stylemark::DeviceKind;
/// use stylemark::burn_0_22::{self as with_burn, Encoder, Vgg19};
/// use stylemark::encoder::Vgg19Options;
///
/// let device = DeviceKind::Cpu.open()?;
/// let vgg = Vgg19::load("vgg19-caffe.safetensors", Vgg19Options::default(), with_burn::device(&device))?;
/// println!("{}", vgg.describe());
/// # Ok::<(), stylemark::Error>(())
/// ```
pub struct Vgg19 {
    convolutions: Vec<Convolution>,
    convention: InputConvention,
    pooling: Pooling,
    source: String,
    /// The host twin, built from the weights the first time it is asked for (`None` if
    /// the weights could not be read back).
    host: OnceLock<Option<host::HostVgg19>>,
}

impl fmt::Debug for Vgg19 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Vgg19 {
    /// Loads the convolutions up to `options.deepest_layer` onto `device`.
    ///
    /// Fails with [`Error::WeightsNotFound`] (which explains where to get the file) when
    /// the path does not exist, and with a specific error for unreadable files, missing
    /// layers, wrong shapes and non-float tensors.
    pub fn load(
        source: impl Into<WeightsSource>,
        options: Vgg19Options,
        device: &Device,
    ) -> Result<Self> {
        let source = source.into();
        let (parameters, recorded) = weights::read_vgg19(&source, options.deepest_layer)?;
        let convention = match (options.convention, recorded) {
            (Some(chosen), _) => {
                chosen.validate()?;
                chosen
            }
            (None, Some(recorded)) => recorded.parse()?,
            (None, None) => InputConvention::default(),
        };
        Ok(Self::from_parameters(
            parameters,
            convention,
            options.pooling,
            source.to_string(),
            device,
        ))
    }

    /// A VGG19 with He-initialised random weights (seeded), for benchmarks and tests. Its
    /// convention is used as given (`InputConvention::validate` checks one built in code).
    ///
    /// Random weights give the right spatial layout but blurred, washed-out paintings;
    /// use a trained file or the built-in encoder for real work.
    ///
    /// ```
    /// use stylemark::DeviceKind;
    /// use stylemark::burn_0_22::{self as with_burn, Encoder, Vgg19};
    /// use stylemark::encoder::Vgg19Options;
    /// let device = DeviceKind::Cpu.open()?;
    /// let vgg = Vgg19::random(1, Vgg19Options::default(), with_burn::device(&device));
    /// assert!(vgg.describe().contains("random"));
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn random(seed: u64, options: Vgg19Options, device: &Device) -> Self {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let mut in_channels = 3;
        let parameters = Layer::ALL
            .into_iter()
            .take_while(|l| *l <= options.deepest_layer)
            .map(|layer| {
                let out_channels = layer.vgg19_channels();
                let std = (2.0 / (in_channels * 9) as f64).sqrt();
                let weight_shape = [out_channels, in_channels, 3, 3];
                let weight = (0..weight_shape.iter().product::<usize>())
                    .map(|_| (rng.normal() * std) as f32)
                    .collect();
                in_channels = out_channels;
                weights::ConvParameters {
                    weight,
                    weight_shape,
                    bias: vec![0.0; out_channels],
                }
            })
            .collect();
        let convention = options.convention.unwrap_or_default();
        Self::from_parameters(
            parameters,
            convention,
            options.pooling,
            format!("random weights, seed {seed}"),
            device,
        )
    }

    fn from_parameters(
        parameters: Vec<weights::ConvParameters>,
        convention: InputConvention,
        pooling: Pooling,
        source: String,
        device: &Device,
    ) -> Self {
        let convolutions = parameters
            .into_iter()
            .map(|p| Convolution {
                weight: Tensor::from_data(TensorData::new(p.weight, p.weight_shape), device),
                bias: Tensor::from_data(TensorData::new(p.bias, [p.weight_shape[0]]), device),
            })
            .collect();
        Vgg19 {
            convolutions,
            convention,
            pooling,
            source,
            host: OnceLock::new(),
        }
    }

    /// The host twin from the device's weights.
    fn build_host(&self) -> Option<host::HostVgg19> {
        let layers = self
            .convolutions
            .iter()
            .map(|c| {
                let [outputs, inputs, _, _] = c.weight.dims();
                let weight = c.weight.clone().try_into_vec_as::<f32>().ok()?;
                let bias = c.bias.clone().try_into_vec_as::<f32>().ok()?;
                Some(host::HostLayer::new(weight, bias, outputs, inputs))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(host::HostVgg19 {
            layers,
            convention: self.convention,
            pooling: self.pooling,
        })
    }

    /// The input convention in use.
    pub fn convention(&self) -> InputConvention {
        self.convention
    }

    /// The deepest layer loaded.
    pub fn deepest_layer(&self) -> Layer {
        Layer::ALL[self.convolutions.len() - 1]
    }

    fn pool(&self, x: Tensor<4>) -> Tensor<4> {
        match self.pooling {
            Pooling::Average => avg_pool2d(x, AvgPoolOptions::new([2, 2]).with_stride([2, 2])),
            Pooling::Max => max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2])),
        }
    }
}

impl Encoder for Vgg19 {
    /// VGG19's names up to the deepest layer loaded (`Vgg19Options::deepest_layer`).
    fn resolve(&self, name: &crate::encoder::LayerName) -> Result<Layer> {
        let layer = match name.standard() {
            Some(layer) if layer.is_vgg19() => layer,
            _ => return Err(crate::encoder::layer::invalid(&name.to_string())),
        };
        if layer > self.deepest_layer() {
            return Err(Error::option(
                "layers",
                format!(
                    "{layer} is deeper than the {} this VGG19 was loaded up to; load more layers \
                     (Vgg19Options::deepest_layer) or use shallower ones",
                    self.deepest_layer()
                ),
            ));
        }
        Ok(layer)
    }

    fn describe(&self) -> String {
        format!(
            "vgg19 ({} input, {} pooling, up to {}, from {})",
            self.convention,
            match self.pooling {
                Pooling::Average => "average",
                Pooling::Max => "max",
            },
            self.deepest_layer(),
            self.source
        )
    }

    fn channels(&self, layer: Layer) -> usize {
        layer.vgg19_channels()
    }

    fn encode(&self, image: Tensor<4>, layers: &[Layer]) -> Result<Vec<Tensor<4>>> {
        let deepest = check_layers(layers, self.deepest_layer(), "this VGG19 was loaded")?;
        let [_, _, height, width] = image.dims();
        check_size(height, width, deepest)?;
        let mut x = self.convention.normalisation().tensor(image);
        let mut outputs: Vec<Option<Tensor<4>>> = vec![None; layers.len()];
        for (layer, convolution) in Layer::ALL.iter().zip(&self.convolutions) {
            if *layer > deepest {
                break;
            }
            if layer.index() == 1 && layer.block() > 1 {
                x = self.pool(x);
            }
            let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
            x = relu(conv2d(
                x,
                convolution.weight.clone(),
                Some(convolution.bias.clone()),
                options,
            ));
            for (slot, wanted) in outputs.iter_mut().zip(layers) {
                if wanted == layer {
                    *slot = Some(x.clone());
                }
            }
        }
        outputs
            .into_iter()
            .map(|o| o.ok_or_else(|| Error::Internal("a requested layer was not computed".into())))
            .collect()
    }

    fn flops(&self, height: usize, width: usize, deepest: Layer) -> u64 {
        vgg19_flops(height, width, deepest)
    }

    /// Winograd convolutions (a quarter of the multiplications) and a hand-written
    /// backward pass on host memory; see [`HostEncoder`](super::HostEncoder).
    fn host(&self) -> Option<&dyn super::HostEncoder> {
        self.host
            .get_or_init(|| self.build_host())
            .as_ref()
            .map(|h| h as &dyn super::HostEncoder)
    }
}

/// Multiply-add operations (counted as 2 FLOPs) of VGG19's convolutions up to `deepest`.
///
/// ```
/// use stylemark::encoder::{vgg19_flops, Layer};
/// // The figure quoted for the reference: about 15.4 GFLOP to conv4_2 at 192x144.
/// let gflop = vgg19_flops(144, 192, "conv4_2".parse::<Layer>()?) as f64 / 1e9;
/// assert!((gflop - 15.4).abs() < 0.5, "{gflop}");
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn vgg19_flops(height: usize, width: usize, deepest: Layer) -> u64 {
    let mut total = 0u64;
    let mut in_channels = 3u64;
    let (mut h, mut w) = (height as u64, width as u64);
    for layer in Layer::ALL.into_iter().take_while(|l| *l <= deepest) {
        if layer.index() == 1 && layer.block() > 1 {
            h /= 2;
            w /= 2;
        }
        let out_channels = layer.vgg19_channels() as u64;
        total += 2 * h * w * out_channels * in_channels * 9;
        in_channels = out_channels;
    }
    total
}
