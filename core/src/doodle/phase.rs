//! One phase of the coarse-to-fine optimisation: everything fixed for the phase (the style's
//! patches, the content's activations, the target's labels), and the evaluation of the
//! loss and its gradient at a candidate image.

use std::time::{Duration, Instant};

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};
use image::RgbImage;

use super::compute_path::ComputePath;
use super::losses::host as host_losses;
use super::losses::{content_loss, smoothness_loss, style_loss};
use super::matching::{ImageLabels, Matcher, StylePatches};
use super::observe::Losses;
use super::options::DoodleOptions;
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

struct StyleLayer {
    patches: StylePatches,
    /// The target's label patches at this layer (fixed for the phase).
    target_labels: ImageLabels,
    matcher: Matcher,
    /// The latest matches, reused until the next rematch.
    matches: Option<Vec<i64>>,
}

/// How an evaluation runs: through burn's automatic differentiation on the run's device,
/// or, on a CPU device with an encoder that has a host twin, entirely on the host with
/// hand-written gradients (the same values, several times faster).
enum Evaluator<'e> {
    Tensors {
        encoder: &'e dyn Encoder,
        /// The content's activations at the content layers.
        content: Vec<Tensor<4>>,
    },
    Host {
        encoder: &'e dyn HostEncoder,
        content: Vec<HostFeatures>,
    },
}

/// The objective of one phase.
pub(crate) struct PhaseProblem<'e> {
    evaluator: Evaluator<'e>,
    device: Device,
    width: u32,
    height: u32,
    /// Every layer the evaluation needs: the style layers, then the content layers.
    layers: Vec<Layer>,
    style: Vec<StyleLayer>,
    style_weight: f32,
    content_weight: f32,
    smoothness: f32,
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
    ) -> Result<Self> {
        let search = path.search();
        let host = match path {
            ComputePath::Host => Some(encoder.host().ok_or_else(|| {
                Error::Internal(
                    "the host path was chosen for an encoder without a host twin".into(),
                )
            })?),
            ComputePath::Tensors => None,
        };
        let use_content = inputs.content.is_some() && options.content_weight > 0.0;
        let content_layers = if use_content {
            options.content_layers.clone()
        } else {
            Vec::new()
        };
        let mut layers = options.style_layers.clone();
        layers.extend(content_layers.iter().copied());

        let style_labels = inputs
            .style_labels
            .map(|l| labels_tensor(&l, inputs.style.width(), inputs.style.height(), device));
        let target_labels = inputs
            .target_labels
            .map(|l| labels_tensor(&l, inputs.width, inputs.height, device));
        let semantic_weight = if style_labels.is_some() {
            options.semantic_weight
        } else {
            0.0
        };
        let fixed = |image: &RgbImage, layers: &[Layer]| match host {
            Some(host) => encode_on_host(host, image, layers).map(Fixed::Host),
            None => encoder
                .encode(image_tensor(image, device), layers)
                .map(|features| Fixed::Tensors(features.into_iter().map(Tensor::detach).collect())),
        };

        let style_features = fixed(inputs.style, &options.style_layers)?;
        let mut style = Vec::new();
        for (position, layer) in options.style_layers.iter().enumerate() {
            let (h, w) = style_features.size(position);
            if h < 3 || w < 3 {
                return Err(Error::option(
                    "style",
                    format!(
                        "the style image is too small for layer {layer}: it has only {w}x{h} activations there, 3x3 are needed"
                    ),
                ));
            }
            let pooled = |labels: &Tensor<4>| pool_to(labels.clone(), *layer);
            let patches = match &style_features {
                Fixed::Host(features) => {
                    StylePatches::on_host(&features[position], style_labels.as_ref().map(pooled))?
                }
                Fixed::Tensors(features) => StylePatches::new(
                    features[position].clone(),
                    style_labels.as_ref().map(pooled),
                ),
            };
            let (height, width) = layer_size(inputs.height, inputs.width, *layer);
            style.push(StyleLayer {
                patches,
                target_labels: ImageLabels::new(
                    target_labels.as_ref().map(pooled),
                    height,
                    width,
                    search,
                )?,
                matcher: Matcher::new(semantic_weight, options.variety, options.slices),
                matches: None,
            });
        }
        let content = match inputs.content {
            Some(content) if use_content => Some(fixed(content, &content_layers)?),
            _ => None,
        };
        let evaluator = match host {
            Some(host) => Evaluator::Host {
                encoder: host,
                content: match content {
                    Some(Fixed::Host(features)) => features,
                    _ => Vec::new(),
                },
            },
            None => Evaluator::Tensors {
                encoder,
                content: match content {
                    Some(Fixed::Tensors(features)) => features,
                    _ => Vec::new(),
                },
            },
        };
        Ok(PhaseProblem {
            evaluator,
            device: device.clone(),
            width: inputs.width,
            height: inputs.height,
            layers,
            style,
            style_weight: options.style_weight,
            content_weight: if use_content {
                options.content_weight
            } else {
                0.0
            },
            smoothness: options.smoothness,
            rematch_every: options.rematch_every,
            evaluations: 0,
            matching_time: Duration::ZERO,
            matchings: 0,
        })
    }

    /// The weighted loss terms and the gradient of their sum with respect to the planar
    /// pixels `[3][H][W]`.
    pub fn evaluate(&mut self, pixels: &[f32]) -> Result<(Losses, Vec<f32>)> {
        let rematch = self.evaluations.is_multiple_of(self.rematch_every);
        self.evaluations += 1;
        if rematch {
            self.matchings += 1;
        }
        match self.evaluator {
            Evaluator::Host { encoder, .. } => self.evaluate_on_host(encoder, pixels, rematch),
            Evaluator::Tensors { encoder, .. } => {
                self.evaluate_with_tensors(encoder, pixels, rematch)
            }
        }
    }

    /// The evaluation with the host twin and the host losses.
    fn evaluate_on_host(
        &mut self,
        encoder: &dyn HostEncoder,
        pixels: &[f32],
        rematch: bool,
    ) -> Result<(Losses, Vec<f32>)> {
        let (height, width) = (self.height as usize, self.width as usize);
        let pass = encoder.forward(
            HostImage {
                pixels,
                height,
                width,
            },
            &self.layers,
        )?;
        let features = pass.features();
        let mut at_layers = Vec::with_capacity(features.len());
        let mut style_total = 0f64;
        for (style, activations) in self.style.iter_mut().zip(features) {
            let index = match style.matches.take() {
                Some(index) if !rematch => index,
                _ => {
                    let started = Instant::now();
                    let index = style.matcher.nearest_on_host(
                        activations,
                        &style.target_labels,
                        &style.patches,
                    )?;
                    self.matching_time += started.elapsed();
                    index
                }
            };
            let (loss, gradient) = host_losses::style_loss(
                activations,
                style.patches.host_targets()?,
                &index,
                self.style_weight,
            );
            style.matches = Some(index);
            style_total += loss;
            at_layers.push(Some(gradient));
        }
        let mut content_total = 0f64;
        if let Evaluator::Host { content, .. } = &self.evaluator {
            for (activations, target) in features[self.style.len()..].iter().zip(content) {
                let (loss, gradient) =
                    host_losses::content_loss(activations, &target.values, self.content_weight);
                content_total += loss;
                at_layers.push(Some(gradient));
            }
        }
        at_layers.resize(features.len(), None);
        let mut gradient = pass.backward(at_layers)?;
        let mut smoothness = 0f64;
        if self.smoothness > 0.0 {
            let (loss, smooth) =
                host_losses::smoothness_loss(pixels, height, width, self.smoothness);
            gradient.iter_mut().zip(smooth).for_each(|(g, s)| *g += s);
            smoothness = loss;
        }
        let losses = Losses {
            content: content_total as f32,
            style: style_total as f32,
            smoothness: smoothness as f32,
            total: (content_total + style_total + smoothness) as f32,
        };
        Ok((losses, gradient))
    }

    /// The evaluation through burn's automatic differentiation.
    fn evaluate_with_tensors(
        &mut self,
        encoder: &dyn Encoder,
        pixels: &[f32],
        rematch: bool,
    ) -> Result<(Losses, Vec<f32>)> {
        let image = planar_tensor(pixels, self.width, self.height, &self.device).require_grad();
        let features = encoder.encode(image.clone(), &self.layers)?;
        let zero = || Tensor::<1>::zeros([1], &self.device);

        let mut style_total = zero();
        for (style, activations) in self.style.iter_mut().zip(&features) {
            let index = match style.matches.take() {
                Some(index) if !rematch => index,
                _ => {
                    let started = Instant::now();
                    let index = style.matcher.nearest(
                        activations.clone().detach(),
                        &style.target_labels,
                        &style.patches,
                    )?;
                    self.matching_time += started.elapsed();
                    index
                }
            };
            let index_tensor = Tensor::<1, Int>::from_data(
                TensorData::new(index.clone(), [index.len()]),
                &self.device,
            );
            style.matches = Some(index);
            style_total = style_total
                + style_loss(
                    activations.clone(),
                    style.patches.tensor_targets()?,
                    index_tensor,
                );
        }
        let mut content_total = zero();
        if let Evaluator::Tensors { content, .. } = &self.evaluator {
            for (activations, target) in features[self.style.len()..].iter().zip(content) {
                content_total = content_total + content_loss(activations.clone(), target);
            }
        }
        let smooth_total = if self.smoothness > 0.0 {
            smoothness_loss(image.clone())
        } else {
            zero()
        };

        let content = content_total * self.content_weight;
        let style = style_total * self.style_weight;
        let smoothness = smooth_total * self.smoothness;
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
        let gradient: Vec<f32> = read(gradient)?;
        let terms: Vec<f32> = read(terms)?;
        let losses = Losses {
            content: terms[0],
            style: terms[1],
            smoothness: terms[2],
            total: terms.iter().sum(),
        };
        Ok((losses, gradient))
    }
}

/// A fixed image's activations (the style's or the content's), as the evaluator needs them.
enum Fixed {
    Tensors(Vec<Tensor<4>>),
    Host(Vec<HostFeatures>),
}

impl Fixed {
    /// The `(height, width)` of layer `position`'s activations.
    fn size(&self, position: usize) -> (usize, usize) {
        match self {
            Fixed::Tensors(features) => {
                let [_, _, h, w] = features[position].dims();
                (h, w)
            }
            Fixed::Host(features) => (features[position].height, features[position].width),
        }
    }
}

/// The activations of `layers` for a fixed image, through the host twin.
pub(super) fn encode_on_host(
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
    Ok(pass.features().to_vec())
}

/// A tensor's values, as `f32`.
pub(crate) fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    tensor.try_into_vec_as::<f32>().map_err(|e| Error::Compute {
        device: "the run's device".into(),
        detail: format!("{e:?}"),
    })
}

fn labels_tensor(labels: &LabelPlanes, width: u32, height: u32, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(
            labels.planes.clone(),
            [1, labels.count, height as usize, width as usize],
        ),
        device,
    )
}

/// The size of a layer's activations for an image of `height x width` (halved with
/// flooring once per block, as the encoders pool).
fn layer_size(height: u32, width: u32, layer: Layer) -> (usize, usize) {
    let halvings = layer.block() - 1;
    ((height >> halvings) as usize, (width >> halvings) as usize)
}

/// Label fractions averaged down to a layer's resolution (the same flooring as the encoders).
fn pool_to(labels: Tensor<4>, layer: Layer) -> Tensor<4> {
    let stride = layer.stride();
    if stride == 1 {
        return labels;
    }
    avg_pool2d(labels, AvgPoolOptions::new([stride, stride]))
}
