//! One phase of the coarse-to-fine optimisation: everything fixed for the phase (the style's
//! patches, the content's activations, the target's labels), and the evaluation of the
//! loss and its gradient at a candidate image.

use std::time::{Duration, Instant};

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};
use image::RgbImage;

use super::losses::host as host_losses;
use super::losses::{content_loss, smoothness_loss, style_loss};
use super::matching::{HostMatching, Matcher, TensorMatching};
use crate::doodle::compute_path::ComputePath;
use crate::doodle::layers::RunLayers;
use crate::doodle::observe::{Losses, Stop};
use crate::doodle::options::DoodleOptions;
use crate::encoder::{Encoder, HostEncoder, HostFeatures, HostImage, Layer};
use crate::pixels::{image_tensor, planar_tensor, to_planar};
use crate::{Error, Result};

/// Label fractions of one image at the phase's resolution: planar `[count][h][w]`.
pub(crate) struct LabelPlanes {
    pub count: usize,
    pub planes: Vec<f32>,
}

/// The inputs of a phase, at the phase's resolution.
pub(crate) struct PhaseInputs<'a> {
    pub width: u32,
    pub height: u32,
    pub style: &'a RgbImage,
    pub style_labels: Option<LabelPlanes>,
    pub content: Option<&'a RgbImage>,
    pub target_labels: Option<LabelPlanes>,
}

/// One style layer's search state: the path's matching, fixed for the phase, and the
/// latest matches, reused until the next rematch.
struct StyleLayer<M> {
    matching: M,
    matcher: Matcher,
    matches: Option<Vec<i64>>,
}

impl<M> StyleLayer<M> {
    /// The layer's matches for this evaluation: the latest ones, or, when `rematch` (or
    /// on the first evaluation), fresh ones from `search`, timed into `matching_time`.
    fn matches(
        &mut self,
        rematch: bool,
        matching_time: &mut Duration,
        search: impl FnOnce(&mut Matcher, &M) -> Result<Option<Vec<i64>>>,
    ) -> Result<Option<Vec<i64>>> {
        match self.matches.take() {
            Some(index) if !rematch => Ok(Some(index)),
            _ => {
                let started = Instant::now();
                let index = search(&mut self.matcher, &self.matching)?;
                *matching_time += started.elapsed();
                Ok(index)
            }
        }
    }
}

/// How an evaluation runs (the [`ComputePath`] the engine chose), with everything the path
/// holds fixed for the phase: through burn's automatic differentiation on the run's device,
/// or, on a CPU device with an encoder that has a host twin, on the host with the losses'
/// gradients written out (the same values, several times faster). Each path carries its
/// own matching, so the two cannot be mixed.
enum Evaluator<'e> {
    Tensors {
        encoder: &'e dyn Encoder,
        style: Vec<StyleLayer<TensorMatching>>,
        /// The content's activations at the content layers.
        content: Vec<Tensor<4>>,
    },
    Host {
        encoder: &'e dyn HostEncoder,
        style: Vec<StyleLayer<HostMatching>>,
        content: Vec<HostFeatures>,
    },
}

/// What both paths need from the phase's options, and its running figures.
struct Settings {
    device: Device,
    width: u32,
    height: u32,
    /// Every layer the evaluation needs: the style layers, then the content layers.
    layers: Vec<Layer>,
    style_weight: f32,
    content_weight: f32,
    smoothness: f32,
}

/// The objective of one phase.
pub(crate) struct PhaseProblem<'e> {
    evaluator: Evaluator<'e>,
    settings: Settings,
    rematch_every: usize,
    evaluations: usize,
    /// Time spent finding nearest patches, for the report.
    pub matching_time: Duration,
    /// Evaluations that searched for nearest patches (the others reused the last matches).
    pub matchings: usize,
}

impl<'e> PhaseProblem<'e> {
    /// Prepares a phase on an autodiff `device`, evaluated on `path` (chosen once by the
    /// engine): on the host, the encoder's host twin, the host losses and the host search;
    /// through tensors, the encoder, the losses and the search all as tensors.
    pub fn new(
        encoder: &'e dyn Encoder,
        device: &Device,
        path: ComputePath,
        inputs: PhaseInputs<'_>,
        options: &DoodleOptions,
        run_layers: &RunLayers,
    ) -> Result<Self> {
        let use_content = inputs.content.is_some() && options.content_weight > 0.0;
        let content_layers = if use_content {
            run_layers.content.clone()
        } else {
            Vec::new()
        };
        let style_layers = &run_layers.style;
        let mut layers = style_layers.clone();
        layers.extend(content_layers.iter().copied());
        let labels = Labels {
            style: inputs
                .style_labels
                .as_ref()
                .map(|l| labels_tensor(l, inputs.style.width(), inputs.style.height(), device)),
            target: inputs
                .target_labels
                .as_ref()
                .map(|l| labels_tensor(l, inputs.width, inputs.height, device)),
            size: (inputs.height, inputs.width),
        };
        let semantic_weight = if labels.style.is_some() {
            options.semantic_weight
        } else {
            0.0
        };
        let matcher = || Matcher::new(semantic_weight, options.variety, options.slices);
        let content = inputs.content.filter(|_| use_content);
        let evaluator = match path {
            ComputePath::Host => {
                let host = encoder.host().ok_or_else(|| {
                    Error::Internal(
                        "the host path was chosen for an encoder without a host twin".into(),
                    )
                })?;
                let style = encode_on_host(host, inputs.style, style_layers)?;
                let mut layers = Vec::with_capacity(style.len());
                for (features, layer) in style.iter().zip(style_layers) {
                    check_style_size(*layer, features.height, features.width)?;
                    let (height, width) = labels.layer_size(*layer);
                    let (style_labels, target_labels) = labels.pooled(*layer);
                    layers.push(StyleLayer {
                        matching: HostMatching::new(
                            features,
                            style_labels,
                            target_labels,
                            height,
                            width,
                        )?,
                        matcher: matcher(),
                        matches: None,
                    });
                }
                Evaluator::Host {
                    encoder: host,
                    style: layers,
                    content: match content {
                        Some(content) => encode_on_host(host, content, &content_layers)?,
                        None => Vec::new(),
                    },
                }
            }
            ComputePath::Tensors => {
                let fixed = |image: &RgbImage, layers: &[Layer]| {
                    encoder
                        .encode(image_tensor(image, device), layers)
                        .map(|features| features.into_iter().map(Tensor::detach).collect())
                };
                let style: Vec<Tensor<4>> = fixed(inputs.style, style_layers)?;
                check_layer_count(style.len(), style_layers.len())?;
                let mut layers = Vec::with_capacity(style.len());
                for (features, layer) in style.into_iter().zip(style_layers) {
                    let [_, _, height, width] = features.dims();
                    check_style_size(*layer, height, width)?;
                    let (style_labels, target_labels) = labels.pooled(*layer);
                    layers.push(StyleLayer {
                        matching: TensorMatching::new(features, style_labels, target_labels),
                        matcher: matcher(),
                        matches: None,
                    });
                }
                Evaluator::Tensors {
                    encoder,
                    style: layers,
                    content: match content {
                        Some(content) => fixed(content, &content_layers)?,
                        None => Vec::new(),
                    },
                }
            }
        };
        Ok(PhaseProblem {
            evaluator,
            settings: Settings {
                device: device.clone(),
                width: inputs.width,
                height: inputs.height,
                layers,
                style_weight: options.style_weight,
                content_weight: if use_content {
                    options.content_weight
                } else {
                    0.0
                },
                smoothness: options.smoothness,
            },
            rematch_every: options.rematch_every,
            evaluations: 0,
            matching_time: Duration::ZERO,
            matchings: 0,
        })
    }

    /// The weighted loss terms and the gradient of their sum with respect to the planar
    /// pixels `[3][H][W]`; `None` when `stop` interrupted the nearest-patch search (at a
    /// fine layer one search can take minutes).
    pub fn evaluate(&mut self, pixels: &[f32], stop: &Stop) -> Result<Option<(Losses, Vec<f32>)>> {
        let rematch = self.evaluations.is_multiple_of(self.rematch_every);
        self.evaluations += 1;
        if rematch {
            self.matchings += 1;
        }
        let time = &mut self.matching_time;
        match &mut self.evaluator {
            Evaluator::Host {
                encoder,
                style,
                content,
            } => evaluate_on_host(
                *encoder,
                style,
                content,
                &self.settings,
                pixels,
                (rematch, time, stop),
            ),
            Evaluator::Tensors {
                encoder,
                style,
                content,
            } => evaluate_with_tensors(
                *encoder,
                style,
                content,
                &self.settings,
                pixels,
                (rematch, time, stop),
            ),
        }
    }
}

/// Whether this evaluation searches for new matches, where the search's time is added, and
/// what interrupts the search.
type Rematch<'a> = (bool, &'a mut Duration, &'a Stop);

/// The evaluation with the host twin, the host losses and the host search.
fn evaluate_on_host(
    encoder: &dyn HostEncoder,
    style: &mut [StyleLayer<HostMatching>],
    content: &[HostFeatures],
    settings: &Settings,
    pixels: &[f32],
    (rematch, matching_time, stop): Rematch<'_>,
) -> Result<Option<(Losses, Vec<f32>)>> {
    let (height, width) = (settings.height as usize, settings.width as usize);
    let pass = encoder.forward(
        HostImage {
            pixels,
            height,
            width,
        },
        &settings.layers,
    )?;
    let features = pass.features();
    check_layer_count(features.len(), settings.layers.len())?;
    let mut at_layers = Vec::with_capacity(features.len());
    let mut style_total = 0f64;
    for (layer, activations) in style.iter_mut().zip(features) {
        let found = layer.matches(rematch, matching_time, |matcher, matching| {
            Ok(matcher.nearest_on_host(activations, matching, stop))
        })?;
        let Some(index) = found else {
            return Ok(None);
        };
        let (loss, gradient) = host_losses::style_loss(
            activations,
            layer.matching.targets(),
            &index,
            settings.style_weight,
        );
        layer.matches = Some(index);
        style_total += loss;
        at_layers.push(Some(gradient));
    }
    let mut content_total = 0f64;
    for (activations, target) in features[style.len()..].iter().zip(content) {
        let (loss, gradient) =
            host_losses::content_loss(activations, &target.values, settings.content_weight);
        content_total += loss;
        at_layers.push(Some(gradient));
    }
    at_layers.resize(features.len(), None);
    let mut gradient = pass.backward(at_layers)?;
    let mut smoothness = 0f64;
    if settings.smoothness > 0.0 {
        let (loss, smooth) =
            host_losses::smoothness_loss(pixels, height, width, settings.smoothness);
        gradient.iter_mut().zip(smooth).for_each(|(g, s)| *g += s);
        smoothness = loss;
    }
    let losses = Losses {
        content: content_total as f32,
        style: style_total as f32,
        smoothness: smoothness as f32,
        total: (content_total + style_total + smoothness) as f32,
    };
    Ok(Some((losses, gradient)))
}

/// The evaluation through burn's automatic differentiation.
fn evaluate_with_tensors(
    encoder: &dyn Encoder,
    style: &mut [StyleLayer<TensorMatching>],
    content: &[Tensor<4>],
    settings: &Settings,
    pixels: &[f32],
    (rematch, matching_time, stop): Rematch<'_>,
) -> Result<Option<(Losses, Vec<f32>)>> {
    let device = &settings.device;
    let image = planar_tensor(pixels, settings.width, settings.height, device).require_grad();
    let features = encoder.encode(image.clone(), &settings.layers)?;
    check_layer_count(features.len(), settings.layers.len())?;
    let zero = || Tensor::<1>::zeros([1], device);

    let mut style_total = zero();
    for (layer, activations) in style.iter_mut().zip(&features) {
        let found = layer.matches(rematch, matching_time, |matcher, matching| {
            matcher.nearest(activations.clone().detach(), matching, stop)
        })?;
        let Some(index) = found else {
            return Ok(None);
        };
        let index_tensor =
            Tensor::<1, Int>::from_data(TensorData::new(index.clone(), [index.len()]), device);
        layer.matches = Some(index);
        style_total =
            style_total + style_loss(activations.clone(), layer.matching.targets(), index_tensor);
    }
    let mut content_total = zero();
    for (activations, target) in features[style.len()..].iter().zip(content) {
        content_total = content_total + content_loss(activations.clone(), target);
    }
    let smooth_total = if settings.smoothness > 0.0 {
        smoothness_loss(image.clone())
    } else {
        zero()
    };

    let content = content_total * settings.content_weight;
    let style = style_total * settings.style_weight;
    let smoothness = smooth_total * settings.smoothness;
    let terms = Tensor::cat(
        vec![
            content.clone().detach(),
            style.clone().detach(),
            smoothness.clone().detach(),
        ],
        0,
    );
    let total = content + style + smoothness;
    let gradients = total.backward();
    let gradient = image
        .grad(&gradients)
        .ok_or_else(|| Error::Internal("the image received no gradient".into()))?;
    let gradient: Vec<f32> = crate::tensor::read_values(gradient)?;
    let terms: Vec<f32> = crate::tensor::read_values(terms)?;
    let losses = Losses {
        content: terms[0],
        style: terms[1],
        smoothness: terms[2],
        total: terms.iter().sum(),
    };
    Ok(Some((losses, gradient)))
}

/// The activations of `layers` for a fixed image, through the host twin.
pub(crate) fn encode_on_host(
    host: &dyn HostEncoder,
    image: &RgbImage,
    layers: &[Layer],
) -> Result<Vec<HostFeatures>> {
    let pixels = to_planar(image);
    let pass = host.forward(
        HostImage {
            pixels: &pixels,
            height: image.height() as usize,
            width: image.width() as usize,
        },
        layers,
    )?;
    let features = pass.features();
    check_layer_count(features.len(), layers.len())?;
    Ok(features.to_vec())
}

/// The label planes `[1, K, H, W]` as a tensor on `device`.
fn labels_tensor(labels: &LabelPlanes, width: u32, height: u32, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(
            labels.planes.clone(),
            [1, labels.count, height as usize, width as usize],
        ),
        device,
    )
}

/// The phase's label fractions, `[1, K, H, W]` at the phase's resolution, if it has maps.
struct Labels {
    style: Option<Tensor<4>>,
    target: Option<Tensor<4>>,
    /// The target's `(height, width)`.
    size: (u32, u32),
}

impl Labels {
    /// The style's and the target's label fractions at `layer`'s resolution.
    fn pooled(&self, layer: Layer) -> (Option<Tensor<4>>, Option<Tensor<4>>) {
        let pool = |labels: &Option<Tensor<4>>| labels.clone().map(|l| pool_to(l, layer));
        (pool(&self.style), pool(&self.target))
    }

    /// The size of the target's activations at `layer` (halved with flooring once per
    /// block, as the encoders pool).
    fn layer_size(&self, layer: Layer) -> (usize, usize) {
        let halvings = layer.block() - 1;
        let (height, width) = self.size;
        ((height >> halvings) as usize, (width >> halvings) as usize)
    }
}

/// An encoder gives one activation per layer asked for; a custom one that does not would
/// otherwise put layers' losses on the wrong targets.
fn check_layer_count(given: usize, asked: usize) -> Result<()> {
    if given != asked {
        return Err(Error::Internal(format!(
            "the encoder returned {given} activations for {asked} layers"
        )));
    }
    Ok(())
}

/// A style whose activations at `layer` are `height x width` has 3x3 patches there.
fn check_style_size(layer: Layer, height: usize, width: usize) -> Result<()> {
    if height < 3 || width < 3 {
        return Err(Error::option(
            "style",
            format!(
                "the style image is too small for layer {layer}: it has only {width}x{height} activations there, 3x3 are needed"
            ),
        ));
    }
    Ok(())
}

/// Label fractions averaged down to a layer's resolution (the same flooring as the encoders).
fn pool_to(labels: Tensor<4>, layer: Layer) -> Tensor<4> {
    let stride = layer.stride();
    if stride == 1 {
        return labels;
    }
    avg_pool2d(labels, AvgPoolOptions::new([stride, stride]))
}
